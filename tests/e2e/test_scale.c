/* Day-2 partition work (issue 13) through the real binary, on kube-sim
 * (the Kubernetes API test double) whose clusters kafka-sim (the Kafka
 * test double) backs: the balance report and the rebalance dry run read
 * Kafka live through librdkafka, racks come from the zones of the brokers'
 * nodes, and a scale-in that leaves fewer brokers than a topic's
 * replication factor answers 422. */
#define _GNU_SOURCE
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "harness.h"
#include "../../common/util.h"
#include "../../core/cluster.h"
#include "../../workers/reassign.h"

static spsrv S;
static ksim K;
static char KEY[128], PLANE[64];
/* small batches: a scale-out of the test topics takes several */
static const char *const FLAGS[] = {"--workers", "2", "--rate-limit", "0", "--health-seconds", "1",
                                    "--kafka-timeout-ms", "1500", "--reassign-batch-moves", "10", NULL};

static void up(void)
{
    memset(&S, 0, sizeof S);
    memset(&K, 0, sizeof K);
    ksim_start(&K);
    srv_start(&S, NULL, FLAGS);
    char body[600], tid[64];
    ksim_plane_body(&K, "scale-plane", body, sizeof body);
    spresp r = jreq(&S, "POST", "/v1/data-planes", ADMIN, body);
    ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
    snprintf(PLANE, sizeof PLANE, "%s", jstr(&r, "id"));
    resp_free(&r);
    make_tenant(&S, "scale", "{\"max_clusters\":10,\"max_brokers\":40,\"max_storage_gib\":100000}", tid, KEY);
}

static void down(void)
{
    srv_cleanup(&S);
    ksim_cleanup(&K);
}

static int sim(const char *method, const char *path, const char *json) { return ksim_call(&K, method, path, json); }

static json_t *get_ok(const char *path)
{
    spresp r = jreq(&S, "GET", path, KEY, NULL);
    ck_assert_msg(r.status == 200, "GET %s: %ld %s", path, r.status, r.body);
    json_t *j = json_incref(r.json);
    resp_free(&r);
    return j;
}

/* avail NULL: the default (multi_zone from 3 brokers) */
static void create_in(const char *name, int brokers, const char *avail, char id[64])
{
    char body[400];
    snprintf(body, sizeof body, "{\"name\":\"%s\",\"kafka_version\":\"3.9.1\",\"brokers\":%d,\"storage_gib\":10,"
             "\"external_access\":{\"type\":\"loadbalancer\"}%s%s%s}", name, brokers, avail ? ",\"availability\":\"" : "",
             avail ? avail : "", avail ? "\"" : "");
    spresp r = jreq(&S, "POST", "/v1/clusters", KEY, body);
    ck_assert_msg(r.status == 202, "%ld %s", r.status, r.body);
    snprintf(id, 64, "%s", jstr(&r, "id"));
    resp_free(&r);
}

static void create(const char *name, int brokers, char id[64]) { create_in(name, brokers, NULL, id); }

static void wait_running(const char *id, int seconds)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/clusters/%s", id);
    int64_t until = sp_mono_ms() + seconds * 1000;
    const char *ph = NULL;
    while (sp_mono_ms() < until) {
        json_t *c = get_ok(path);
        ph = jpath(c, "status.phase");
        bool ok = ph && strcmp(ph, "RUNNING") == 0;
        json_decref(c);
        if (ok) return;
        usleep(100000);
    }
    ck_abort_msg("cluster %s never became RUNNING", id);
}

static void topic(const char *id, const char *name, int partitions, int rf)
{
    char path[160], body[160];
    snprintf(path, sizeof path, "/_sim/kafka/sp-%s/topics", id);
    snprintf(body, sizeof body, "{\"name\":\"%s\",\"partitions\":%d,\"replication\":%d}", name, partitions, rf);
    ck_assert_int_eq(sim("POST", path, body), 200);
}

static long jint(json_t *o, const char *k) { return (long)json_integer_value(json_object_get(o, k)); }

/* Sums a field over the report's brokers. */
static long sum_brokers(json_t *rep, const char *field)
{
    long n = 0;
    size_t i;
    json_t *b;
    json_array_foreach(json_object_get(rep, "brokers"), i, b) n += jint(b, field);
    return n;
}

START_TEST(balance_and_rebalance_dry_run_read_kafka_live)
{
    char id[64], path[160];
    create("ledger", 4, id);
    wait_running(id, 30);
    /* orders: 8 partitions of RF 4 (even); t1..t3: one RF-1 partition each,
     * all on broker 0 (kafka-sim starts partition p at broker p) */
    topic(id, "orders", 8, 4);
    topic(id, "t1", 1, 1);
    topic(id, "t2", 1, 1);
    topic(id, "t3", 1, 1);

    snprintf(path, sizeof path, "/v1/clusters/%s/balance", id);
    json_t *b = get_ok(path);
    ck_assert_int_eq(json_array_size(json_object_get(b, "brokers")), 4);
    ck_assert_int_eq(jint(b, "target_brokers"), 4);
    ck_assert_int_eq(sum_brokers(b, "replicas"), jint(b, "replicas"));
    ck_assert_int_ge(jint(b, "replicas"), 35);
    ck_assert_int_eq(jint(b, "replica_skew"), 3);            /* 11 on broker 0, 8 on the others */
    ck_assert(json_is_false(json_object_get(b, "balanced")));
    /* racks: the zones of the nodes the broker pods run on (multi_zone) */
    ck_assert_int_ge(json_array_size(json_object_get(b, "racks")), 2);
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(b, "brokers"), i, e) {
        ck_assert_msg(json_is_string(json_object_get(e, "rack")), "broker %zu has no rack", i);
        ck_assert(json_is_integer(json_object_get(e, "leaders")));
        ck_assert(json_is_integer(json_object_get(e, "preferred_leaders")));
    }
    ck_assert_int_eq(sum_brokers(b, "leaders"), jint(b, "partitions") - jint(b, "offline_partitions"));
    long before_replicas = jint(b, "replicas");
    json_decref(b);

    /* the dry run: the plan and the balance it leads to; nothing moves */
    snprintf(path, sizeof path, "/v1/clusters/%s/rebalance", id);
    spresp r = jreq(&S, "POST", path, KEY, "{\"dry_run\":true}");
    ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
    json_t *plan = json_object_get(r.json, "plan");
    ck_assert(json_is_true(json_object_get(r.json, "dry_run")));
    ck_assert_int_eq(jint(plan, "replica_moves"), 2);           /* the least that evens 35 replicas: 9,9,9,8 */
    ck_assert_int_eq(jint(json_object_get(r.json, "before"), "replica_skew"), 3);
    ck_assert_int_le(jint(json_object_get(r.json, "after"), "replica_skew"), 1);
    ck_assert_int_le(jint(json_object_get(r.json, "after"), "preferred_leader_skew"), 1);
    ck_assert(json_is_true(json_object_get(json_object_get(r.json, "after"), "balanced")));
    ck_assert_int_eq(jint(json_object_get(plan, "reassignment"), "version"), 1);
    ck_assert_int_eq((long)json_array_size(json_object_get(json_object_get(plan, "reassignment"), "partitions")),
                     jint(plan, "partitions"));
    resp_free(&r);
    snprintf(path, sizeof path, "/v1/clusters/%s/balance", id);
    b = get_ok(path);
    ck_assert_int_eq(jint(b, "replica_skew"), 3);             /* a dry run changes nothing */
    ck_assert_int_eq(jint(b, "replicas"), before_replicas);
    json_decref(b);

    /* bad input loses nothing */
    snprintf(path, sizeof path, "/v1/clusters/%s/rebalance", id);
    r = jreq(&S, "POST", path, KEY, "{\"dry_run\":\"yes\",\"extra\":1}");
    assert_problem(&r, 422);
    resp_free(&r);
    r = jreq(&S, "POST", "/v1/clusters/kc-aaaaaaaaaaaaaaaa/rebalance", KEY, "{\"dry_run\":true}");
    assert_problem(&r, 404);
    resp_free(&r);

    /* scale-in below a topic's replication factor: 422, nothing written */
    snprintf(path, sizeof path, "/v1/clusters/%s", id);
    r = jreq(&S, "PATCH", path, KEY, "{\"brokers\":3}");
    assert_problem(&r, 422);
    ck_assert_msg(strstr(r.body, "orders") && strstr(r.body, "replication factor 4"), "%s", r.body);
    resp_free(&r);
    json_t *c = get_ok(path);
    ck_assert_int_eq(jint(c, "brokers"), 4);
    ck_assert_int_eq(jint(c, "generation"), 1);
    json_decref(c);
}
END_TEST

START_TEST(balance_needs_a_kafka_streamplane_reaches)
{
    /* a cluster on the manifests target (no data plane of its own) */
    char body[300], path[160];
    snprintf(body, sizeof body, "{\"name\":\"nowhere\",\"kafka_version\":\"3.9.1\",\"brokers\":3,\"storage_gib\":10,"
             "\"data_plane_id\":\"%s\"}", PLANE);
    spresp r = jreq(&S, "POST", "/v1/clusters", KEY, body);
    ck_assert_msg(r.status == 202, "%ld %s", r.status, r.body);
    char id[64];
    snprintf(id, sizeof id, "%s", jstr(&r, "id"));
    resp_free(&r);
    /* external data plane, no external access: no route to Kafka */
    snprintf(path, sizeof path, "/v1/clusters/%s/balance", id);
    r = jreq(&S, "GET", path, KEY, NULL);
    assert_problem(&r, 409);
    ck_assert_msg(strstr(r.body, "external"), "%s", r.body);
    resp_free(&r);
    snprintf(path, sizeof path, "/v1/clusters/%s/balance?timeout_ms=7", id);
    r = jreq(&S, "GET", path, KEY, NULL);
    assert_problem(&r, 400);
    resp_free(&r);
}
END_TEST

/* The operation a 202 named (Operation-Location), polled until it leaves
 * PENDING/RUNNING or seconds pass; returns it (caller decrefs). */
static json_t *wait_op(const char *op_location, int seconds)
{
    int64_t until = sp_mono_ms() + seconds * 1000;
    json_t *o = NULL;
    for (;;) {
        json_decref(o);
        o = get_ok(op_location);
        const char *st = jpath(o, "state");
        if (st && strcmp(st, "PENDING") && strcmp(st, "RUNNING")) return o;
        if (sp_mono_ms() > until) break;
        usleep(150000);
    }
    char *d = json_dumps(o, JSON_COMPACT);
    ck_abort_msg("operation %s still active after %d s: %s", op_location, seconds, d);
    free(d);
    return o;
}

/* PATCHes the cluster; returns the Operation-Location (static buffer). */
static const char *patch(const char *id, const char *body)
{
    static char loc[256];
    char path[160];
    snprintf(path, sizeof path, "/v1/clusters/%s", id);
    spresp r = jreq(&S, "PATCH", path, KEY, body);
    ck_assert_msg(r.status == 202, "PATCH %s: %ld %s", body, r.status, r.body);
    snprintf(loc, sizeof loc, "%s", r.op_location);
    resp_free(&r);
    return loc;
}

/* The operation's step called name (borrowed from o), or NULL. */
static json_t *op_step(json_t *o, const char *name)
{
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(o, "steps"), i, s)
        if (!strcmp(json_string_value(json_object_get(s, "name")), name)) return s;
    return NULL;
}

static void assert_succeeded(json_t *o)
{
    char *d = json_dumps(o, JSON_COMPACT);
    ck_assert_msg(!strcmp(jpath(o, "state"), "SUCCEEDED"), "%s", d);
    free(d);
}

/* kube-sim's Kafka model of a namespace (kafka-sim's JSON). */
static json_t *model(const char *id)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "curl -sf %s/_sim/kafka/sp-%s", K.url, id);
    FILE *f = popen(cmd, "r");
    ck_assert_ptr_nonnull(f);
    json_error_t je;
    json_t *m = json_loadf(f, 0, &je);
    pclose(f);
    ck_assert_msg(m != NULL, "no model: %s", je.text);
    return m;
}

/* Replicas and preferred leaders per broker in the model; returns the
 * replica skew over brokers 0..n-1 and fills *lskew. */
static int model_skew(json_t *m, int n, int counts[16], int *lskew)
{
    int lead[16] = {0};
    memset(counts, 0, sizeof(int) * 16);
    size_t i, j, k;
    json_t *t, *p, *r;
    json_array_foreach(json_object_get(m, "topics"), i, t) {
        if (strncmp(json_string_value(json_object_get(t, "name")), "__", 2) == 0) continue;
        json_array_foreach(json_object_get(t, "partitions"), j, p) {
            json_array_foreach(json_object_get(p, "replicas"), k, r) {
                int id = (int)json_integer_value(r);
                if (id >= 0 && id < 16) counts[id]++;
                if (k == 0 && id >= 0 && id < 16) lead[id]++;
            }
        }
    }
    int lo = counts[0], hi = counts[0], llo = lead[0], lhi = lead[0];
    for (int b = 1; b < n; b++) {
        if (counts[b] < lo) lo = counts[b];
        if (counts[b] > hi) hi = counts[b];
        if (lead[b] < llo) llo = lead[b];
        if (lead[b] > lhi) lhi = lead[b];
    }
    *lskew = lhi - llo;
    return hi - lo;
}

/* Scale 3 -> 6 -> 3 and a rebalance, as a client asks for them: each is an
 * operation whose steps say what moved, and each ends balanced. */
START_TEST(scale_out_in_and_rebalance_are_operations)
{
    char id[64], path[200], ns[96];
    create_in("fleet", 3, "single_zone", id);
    wait_running(id, 30);
    snprintf(ns, sizeof ns, "sp-%s", id);
    topic(id, "orders", 12, 3);

    json_t *o = wait_op(patch(id, "{\"brokers\":6}"), 90);
    assert_succeeded(o);
    ck_assert_str_eq(jpath(o, "type"), "SCALE_OUT");
    json_t *st = op_step(o, "move partitions onto the new brokers");
    ck_assert_msg(st && !strcmp(jpath(st, "state"), "SUCCEEDED"), "no reassignment step");
    ck_assert_msg(strstr(jpath(st, "message"), "partitions moved"), "%s", jpath(st, "message"));
    ck_assert_msg(strstr(jpath(st, "message"), "in 2 batches"), "18 moves in batches of 10: %s", jpath(st, "message"));
    int counts[16], lskew;
    json_t *m = model(id), *b0;
    int skew = model_skew(m, 6, counts, &lskew);
    ck_assert_msg(skew <= 1 && lskew <= 1, "3 -> 6: replica skew %d, leader skew %d", skew, lskew);
    ck_assert_int_eq(counts[0] + counts[1] + counts[2] + counts[3] + counts[4] + counts[5], 36);
    size_t i;
    json_array_foreach(json_object_get(m, "brokers"), i, b0) {       /* every throttle removed */
        json_t *cf = json_object_get(b0, "configs");
        ck_assert_msg(!json_object_get(cf, "leader.replication.throttled.rate") &&
                      !json_object_get(cf, "follower.replication.throttled.rate"), "broker %zu keeps a throttle", i);
    }
    json_decref(m);
    kube_cfg cfg;
    char err[200];
    ck_assert_int_eq(kube_cfg_explicit(K.url, KSIM_TOKEN, NULL, false, &cfg, err, sizeof err), 0);
    kube_client *kc = kube_client_new(&cfg, 5000);
    kube_cfg_free(&cfg);
    json_t *jobs = NULL;
    kube_err ke;
    ck_assert_int_eq(kube_list(kc, "batch/v1", "Job", ns, "app.kubernetes.io/managed-by=streamplane", &jobs, &ke), KUBE_OK);
    ck_assert_msg(json_array_size(jobs) == 0, "%zu Jobs left", json_array_size(jobs));   /* each batch's went */
    json_decref(jobs);
    snprintf(path, sizeof path, "/v1/clusters/%s/balance", id);
    json_t *b = get_ok(path);
    ck_assert(json_is_true(json_object_get(b, "balanced")));
    ck_assert_int_eq(json_array_size(json_object_get(b, "brokers")), 6);
    json_decref(b);

    /* 6 -> 3, deleting the leaving brokers' volumes: brokers 3-5 empty
     * before the StatefulSet went down */
    json_decref(o);
    json_decref(wait_op(patch(id, "{\"delete_volumes_on_scale_in\":true}"), 60));
    o = wait_op(patch(id, "{\"brokers\":3}"), 90);
    assert_succeeded(o);
    ck_assert_str_eq(jpath(o, "type"), "SCALE_IN");
    json_t *drain = op_step(o, "move partitions off brokers 3-5"), *apply = op_step(o, "apply objects");
    ck_assert_msg(drain && apply, "steps missing");
    ck_assert_msg(strcmp(jpath(drain, "finished_at"), jpath(apply, "started_at")) <= 0,
                  "the StatefulSet went down (%s) before the drain ended (%s)", jpath(apply, "started_at"),
                  jpath(drain, "finished_at"));
    json_decref(o);
    m = model(id);
    skew = model_skew(m, 3, counts, &lskew);
    ck_assert_int_eq(counts[3] + counts[4] + counts[5], 0);
    ck_assert_int_eq(counts[0] + counts[1] + counts[2], 36);
    json_decref(m);
    json_t *pvcs = NULL;
    ck_assert_int_eq(kube_list(kc, "v1", "PersistentVolumeClaim", ns, "app.kubernetes.io/component=broker", &pvcs, &ke),
                     KUBE_OK);
    ck_assert_msg(json_array_size(pvcs) == 3, "%zu broker claims left", json_array_size(pvcs));
    json_decref(pvcs);

    /* a rebalance on request: three one-partition topics all on broker 0 */
    topic(id, "t1", 1, 1);
    topic(id, "t2", 1, 1);
    topic(id, "t3", 1, 1);
    snprintf(path, sizeof path, "/v1/clusters/%s/rebalance", id);
    spresp r = jreq(&S, "POST", path, KEY, "{}");
    ck_assert_msg(r.status == 202, "%ld %s", r.status, r.body);
    o = wait_op(r.op_location, 60);
    resp_free(&r);
    assert_succeeded(o);
    ck_assert_str_eq(jpath(o, "type"), "REBALANCE");
    json_decref(o);
    snprintf(path, sizeof path, "/v1/clusters/%s/balance", id);
    b = get_ok(path);
    ck_assert_msg(json_is_true(json_object_get(b, "balanced")), "replica skew %ld", jint(b, "replica_skew"));
    json_decref(b);
    kube_client_free(kc);
}
END_TEST

/* A scale-in accepted while Kafka could not be read (the API cannot check
 * the replication factors then) whose drain finds a topic it cannot fit:
 * the operation fails, the spec goes back, no broker goes. */
START_TEST(scale_in_that_cannot_drain_changes_nothing)
{
    char id[64], path[200];
    create_in("narrow", 4, "single_zone", id);
    wait_running(id, 30);
    topic(id, "wide", 4, 4);
    for (int b = 0; b < 4; b++) {
        snprintf(path, sizeof path, "/_sim/kafka/sp-%s/brokers/%d/stop", id, b);
        ck_assert_int_eq(sim("POST", path, NULL), 200);
    }
    const char *loc = patch(id, "{\"brokers\":3}");      /* accepted: the check could not read Kafka */
    char op[256];
    snprintf(op, sizeof op, "%s", loc);
    for (int b = 0; b < 4; b++) {
        snprintf(path, sizeof path, "/_sim/kafka/sp-%s/brokers/%d/start", id, b);
        ck_assert_int_eq(sim("POST", path, NULL), 200);
    }
    json_t *o = wait_op(op, 60);
    ck_assert_str_eq(jpath(o, "state"), "FAILED");
    ck_assert_msg(strstr(jpath(o, "error.message"), "wide"), "%s", jpath(o, "error.message"));
    json_decref(o);
    snprintf(path, sizeof path, "/v1/clusters/%s", id);
    json_t *c = get_ok(path);
    ck_assert_int_eq(jint(c, "brokers"), 4);                 /* the spec went back */
    json_decref(c);
    wait_running(id, 30);
    json_t *m = model(id);
    int up = 0;
    size_t i;
    json_t *b;
    json_array_foreach(json_object_get(m, "brokers"), i, b) up += json_is_true(json_object_get(b, "up"));
    ck_assert_int_eq(up, 4);                                 /* no broker went */
    json_decref(m);
}
END_TEST

/* Storage growth on kube-sim: every claim patched, the StatefulSet's
 * template as created. (The bed checks the real API server's rules.) */
START_TEST(storage_growth_patches_every_claim)
{
    char id[64], ns[96];
    create_in("roomy", 3, "single_zone", id);
    wait_running(id, 30);
    snprintf(ns, sizeof ns, "sp-%s", id);
    json_t *o = wait_op(patch(id, "{\"storage_gib\":20}"), 60);
    assert_succeeded(o);
    json_decref(o);
    kube_cfg cfg;
    char err[200];
    ck_assert_int_eq(kube_cfg_explicit(K.url, KSIM_TOKEN, NULL, false, &cfg, err, sizeof err), 0);
    kube_client *kc = kube_client_new(&cfg, 5000);
    kube_cfg_free(&cfg);
    json_t *pvcs = NULL, *sts = NULL;
    kube_err ke;
    ck_assert_int_eq(kube_list(kc, "v1", "PersistentVolumeClaim", ns, "app.kubernetes.io/component=broker", &pvcs, &ke),
                     KUBE_OK);
    ck_assert_int_eq(json_array_size(pvcs), 3);
    size_t i;
    json_t *p;
    json_array_foreach(pvcs, i, p) {
        ck_assert_str_eq(jpath(p, "spec.resources.requests.storage"), "20Gi");
        ck_assert_str_eq(jpath(p, "status.capacity.storage"), "20Gi");
    }
    json_decref(pvcs);
    ck_assert_int_eq(kube_get(kc, "apps/v1", "StatefulSet", ns, "kafka-broker", &sts, &ke), KUBE_OK);
    json_t *vct = json_array_get(json_object_get(json_object_get(sts, "spec"), "volumeClaimTemplates"), 0);
    ck_assert_str_eq(jpath(vct, "spec.resources.requests.storage"), "10Gi");
    json_decref(sts);
    kube_client_free(kc);
}
END_TEST

/* streamplane killed in the middle of a reassignment: the restarted server
 * picks the operation up where it stopped and ends balanced. */
START_TEST(killed_mid_reassignment_resumes)
{
    char id[64];
    create_in("sturdy", 3, "single_zone", id);
    wait_running(id, 30);
    topic(id, "orders", 24, 3);
    const char *loc = patch(id, "{\"brokers\":6}");
    char op[256];
    snprintf(op, sizeof op, "%s", loc);
    int64_t until = sp_mono_ms() + 60000;
    for (;;) {                                     /* a batch under way */
        json_t *o = get_ok(op);
        const char *msg = NULL;
        json_t *st = op_step(o, "move partitions onto the new brokers");
        if (st) msg = jpath(st, "message");
        bool mid = msg && strstr(msg, "batch 2");
        json_decref(o);
        if (mid) break;
        ck_assert_msg(sp_mono_ms() < until, "the reassignment never reached its second batch");
        usleep(50000);
    }
    ck_assert_int_eq(srv_stop(&S, SIGKILL), -SIGKILL);
    srv_start(&S, S.dir, FLAGS);
    json_t *o = wait_op(op, 90);
    assert_succeeded(o);
    json_decref(o);
    int counts[16], lskew;
    json_t *m = model(id);
    int skew = model_skew(m, 6, counts, &lskew);
    ck_assert_msg(skew <= 1 && lskew <= 1, "after the restart: replica skew %d, leader skew %d", skew, lskew);
    json_decref(m);
}
END_TEST

Suite *suite_scale(void)
{
    Suite *s = suite_create("scale");
    TCase *t = tcase_create("balance");
    tcase_set_timeout(t, 120);
    tcase_add_checked_fixture(t, up, down);
    tcase_add_test(t, balance_and_rebalance_dry_run_read_kafka_live);
    tcase_add_test(t, balance_needs_a_kafka_streamplane_reaches);
    suite_add_tcase(s, t);
    t = tcase_create("operations");
    tcase_set_timeout(t, 240);
    tcase_add_checked_fixture(t, up, down);
    tcase_add_test(t, scale_out_in_and_rebalance_are_operations);
    tcase_add_test(t, scale_in_that_cannot_drain_changes_nothing);
    tcase_add_test(t, storage_growth_patches_every_claim);
    tcase_add_test(t, killed_mid_reassignment_resumes);
    suite_add_tcase(s, t);
    return s;
}
