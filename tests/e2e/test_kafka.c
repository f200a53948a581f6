/* Kafka through streamplane's real librdkafka path: kube-sim backs every
 * simulated cluster with a kafka-sim cluster (tests/kafka-sim) whose
 * brokers follow their pods and listen where the brokers' external
 * Services publish them. RUNNING waits for Kafka metadata to list every
 * broker; the periodic health check turns a cluster DEGRADED (a broker
 * down, a partition without a leader, Kafka unreachable) and back; GET
 * /v1/clusters/{id}/health reads live or answers the last reading, stale. */
#define _GNU_SOURCE
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "harness.h"
#include "../../common/util.h"
#include "../../common/conditions.h"

static spsrv S;
static ksim K;
static char KEY[128], PLANE[64];
/* one HTTP thread: a live reading must not hold up other requests on it */
static const char *const FLAGS[] = {"--workers", "2", "--rate-limit", "0", "--health-seconds", "1",
                                    "--kafka-timeout-ms", "1500", "--http-threads", "1", NULL};

static void up(void)
{
    memset(&S, 0, sizeof S);
    memset(&K, 0, sizeof K);
    ksim_start(&K);
    srv_start(&S, NULL, FLAGS);
    char body[600], tid[64];
    ksim_plane_body(&K, "kafka-plane", body, sizeof body);
    spresp r = jreq(&S, "POST", "/v1/data-planes", ADMIN, body);
    ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
    snprintf(PLANE, sizeof PLANE, "%s", jstr(&r, "id"));
    resp_free(&r);
    make_tenant(&S, "kafka", "{\"max_clusters\":10,\"max_brokers\":30,\"max_storage_gib\":100000}", tid, KEY);
}

static void down(void)
{
    srv_cleanup(&S);
    ksim_cleanup(&K);
}

/* A kube-sim control call (/_sim/...); returns the HTTP status. */
static int sim(const char *method, const char *path, const char *json) { return ksim_call(&K, method, path, json); }

static void create(const char *name, int brokers, const char *ext, char id[64])
{
    char body[400];
    snprintf(body, sizeof body, "{\"name\":\"%s\",\"kafka_version\":\"3.9.1\",\"brokers\":%d,\"storage_gib\":10,"
             "\"external_access\":{\"type\":\"%s\"}}", name, brokers, ext);
    spresp r = jreq(&S, "POST", "/v1/clusters", KEY, body);
    ck_assert_msg(r.status == 202, "%ld %s", r.status, r.body);
    snprintf(id, 64, "%s", jstr(&r, "id"));
    resp_free(&r);
}

static json_t *get_json(const char *path)
{
    spresp r = jreq(&S, "GET", path, KEY, NULL);
    ck_assert_msg(r.status == 200, "GET %s: %ld %s", path, r.status, r.body);
    json_t *j = json_incref(r.json);
    resp_free(&r);
    return j;
}

static json_t *cluster(const char *id)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/clusters/%s", id);
    return get_json(path);
}

/* A condition of a cluster as GET answers it. */
static const json_t *condition(json_t *c, const char *type)
{
    return condition_get(json_object_get(c, "status"), type);
}

/* Waits until the cluster's phase is want and its KafkaReady reason is
 * reason (NULL: any); returns the cluster (caller decrefs) or fails. */
static json_t *wait_for(const char *id, const char *want, const char *reason, int seconds)
{
    int64_t until = sp_mono_ms() + seconds * 1000;
    json_t *c = NULL;
    while (sp_mono_ms() < until) {
        json_decref(c);
        c = cluster(id);
        const char *ph = jpath(c, "status.phase");
        const json_t *kr = condition(c, "KafkaReady");
        const char *rs = kr ? json_string_value(json_object_get(kr, "reason")) : NULL;
        if (ph && !strcmp(ph, want) && (!reason || (rs && !strcmp(rs, reason)))) return c;
        usleep(100000);
    }
    char *dump = json_dumps(c, JSON_COMPACT);
    ck_abort_msg("cluster %s never reached %s/%s: %s", id, want, reason ? reason : "*", dump);
    free(dump);
    return NULL;
}

static json_t *health(const char *id, const char *query)
{
    char path[160];
    snprintf(path, sizeof path, "/v1/clusters/%s/health%s", id, query ? query : "");
    return get_json(path);
}

/* A counter from /metrics. */
static long metric(const char *name)
{
    spresp m = req(&S, "GET", "/metrics", NULL, NULL, 0, NULL);
    ck_assert_int_eq(m.status, 200);
    char needle[128];
    snprintf(needle, sizeof needle, "\n%s ", name);
    const char *at = strstr(m.body, needle);
    ck_assert_msg(at != NULL, "%s not in /metrics", name);
    long v = atol(at + strlen(needle));
    resp_free(&m);
    return v;
}

typedef struct slow_read {
    const char *id;
    pthread_t t;
    int64_t done_ms;
    long status;
    bool stale;
    char live_error[300];
} slow_read;

static void *slow_health(void *arg)
{
    slow_read *sr = arg;
    char path[160];
    snprintf(path, sizeof path, "/v1/clusters/%s/health?timeout_ms=3000", sr->id);
    spresp r = jreq(&S, "GET", path, KEY, NULL);
    sr->done_ms = sp_mono_ms();
    sr->status = r.status;
    sr->stale = r.json && json_is_true(json_object_get(r.json, "stale"));
    const char *le = r.json ? json_string_value(json_object_get(r.json, "live_error")) : NULL;
    snprintf(sr->live_error, sizeof sr->live_error, "%s", le ? le : "");
    resp_free(&r);
    return NULL;
}

START_TEST(running_waits_for_every_broker_then_health_follows_kafka)
{
    char id[64], ns[96], path[256];
    create("orders", 3, "loadbalancer", id);
    snprintf(ns, sizeof ns, "sp-%s", id);
    /* broker 2's process will not start, though its pod turns Ready */
    snprintf(path, sizeof path, "/_sim/kafka/%s/brokers/2/stop", ns);
    int64_t until = sp_mono_ms() + 20000;
    while (sim("POST", path, NULL) != 200 && sp_mono_ms() < until) usleep(20000);
    ck_assert_int_eq(sim("POST", path, NULL), 200);

    /* pods ready, Kafka short of a broker: still provisioning, and the operation says why */
    json_t *c = wait_for(id, "PROVISIONING", "BrokersOffline", 20);
    const json_t *kr = condition(c, "KafkaReady");
    ck_assert_str_eq(json_string_value(json_object_get(kr, "status")), "False");
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(kr, "message")), "broker 2"));
    char opq[160];
    snprintf(opq, sizeof opq, "/v1/operations?cluster_id=%s", id);
    json_t *ops = get_json(opq);
    json_t *op = json_array_get(json_object_get(ops, "items"), 0);
    json_t *steps = json_object_get(op, "steps");
    json_t *last = json_array_get(steps, json_array_size(steps) - 1);
    ck_assert_str_eq(json_string_value(json_object_get(op, "state")), "RUNNING");
    ck_assert_str_eq(json_string_value(json_object_get(last, "name")), "wait for Kafka");
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(last, "message")), "2 of 3 brokers online"));
    json_decref(ops);
    json_decref(c);
    usleep(1500000);
    c = cluster(id);
    ck_assert_str_eq(jpath(c, "status.phase"), "PROVISIONING");     /* it waits, it does not give up */
    json_decref(c);

    /* the broker starts: RUNNING, with the addresses the Services publish */
    snprintf(path, sizeof path, "/_sim/kafka/%s/brokers/2/start", ns);
    ck_assert_int_eq(sim("POST", path, NULL), 200);
    c = wait_for(id, "RUNNING", "Healthy", 20);
    const char *ext = jpath(c, "status.external_bootstrap_servers");
    ck_assert_ptr_nonnull(ext);
    ck_assert_int_eq(strncmp(ext, "127.", 4), 0);
    int commas = 0;
    for (const char *p = ext; *p; p++) commas += *p == ',';
    ck_assert_int_eq(commas, 2);
    ck_assert_ptr_nonnull(strstr(ext, ":9094"));
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(json_object_get(c, "status"), "health"),
                                                        "brokers_online")), 3);
    ck_assert_str_eq(json_string_value(json_object_get(condition(c, "Ready"), "status")), "True");
    json_decref(c);
    ops = get_json(opq);
    ck_assert_str_eq(jpath(json_array_get(json_object_get(ops, "items"), 0), "state"), "SUCCEEDED");
    json_decref(ops);

    json_t *h = health(id, NULL);
    ck_assert_str_eq(jpath(h, "source"), "live");
    ck_assert(json_is_false(json_object_get(h, "stale")));
    ck_assert(json_is_true(json_object_get(h, "healthy")));
    ck_assert_int_eq(json_integer_value(json_object_get(h, "brokers_online")), 3);
    ck_assert_int_eq(json_array_size(json_object_get(h, "missing_broker_ids")), 0);
    ck_assert(json_is_integer(json_object_get(h, "controller_id")));
    json_decref(h);

    /* a broker goes down: DEGRADED with the reason, then back */
    snprintf(path, sizeof path, "/_sim/kafka/%s/brokers/1/stop", ns);
    ck_assert_int_eq(sim("POST", path, NULL), 200);
    c = wait_for(id, "DEGRADED", "BrokersOffline", 15);
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(condition(c, "KafkaReady"), "message")), "broker 1"));
    ck_assert_str_eq(json_string_value(json_object_get(condition(c, "Ready"), "status")), "False");
    json_decref(c);
    h = health(id, NULL);
    ck_assert_str_eq(jpath(h, "source"), "live");
    ck_assert_int_eq(json_integer_value(json_object_get(h, "brokers_online")), 2);
    ck_assert_int_eq(json_integer_value(json_array_get(json_object_get(h, "missing_broker_ids"), 0)), 1);
    ck_assert_str_eq(jpath(h, "reason"), "BrokersOffline");
    json_decref(h);
    snprintf(path, sizeof path, "/_sim/kafka/%s/brokers/1/start", ns);
    ck_assert_int_eq(sim("POST", path, NULL), 200);
    json_decref(wait_for(id, "RUNNING", "Healthy", 15));

    /* a partition without a leader: DEGRADED (OfflinePartitions), then back */
    snprintf(path, sizeof path, "/_sim/kafka/%s/topics", ns);
    ck_assert_int_eq(sim("POST", path, "{\"name\":\"payments\",\"partitions\":3,\"replication\":3}"), 200);
    snprintf(path, sizeof path, "/_sim/kafka/%s/partitions/payments/0/leader", ns);
    ck_assert_int_eq(sim("POST", path, "{\"leader\":-1}"), 200);
    c = wait_for(id, "DEGRADED", "OfflinePartitions", 15);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(json_object_get(c, "status"), "health"),
                                                        "offline_partitions")), 1);
    json_decref(c);
    ck_assert_int_eq(sim("POST", path, "{\"leader\":0}"), 200);
    c = wait_for(id, "RUNNING", "Healthy", 15);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(json_object_get(c, "status"), "health"),
                                                        "partitions")), 3);
    json_decref(c);

    /* every broker down: no live reading; the last one comes back marked stale */
    for (int b = 0; b < 3; b++) {
        snprintf(path, sizeof path, "/_sim/kafka/%s/brokers/%d/stop", ns, b);
        ck_assert_int_eq(sim("POST", path, NULL), 200);
    }
    int64_t t0 = sp_mono_ms();
    h = health(id, "?timeout_ms=500");
    int64_t took = sp_mono_ms() - t0;
    fprintf(stderr, "[health] every broker down: the endpoint answered in %lld ms (timeout 500)\n", (long long)took);
    ck_assert_str_eq(jpath(h, "source"), "last_check");
    ck_assert(json_is_true(json_object_get(h, "stale")));
    ck_assert_ptr_nonnull(jpath(h, "live_error"));
    ck_assert_ptr_nonnull(jpath(h, "checked_at"));
    json_decref(h);
    /* a live reading that waits on Kafka runs off the HTTP thread: GETs on
     * the server's single HTTP thread are answered while it waits */
    slow_read sr = {.id = id};
    ck_assert_int_eq(pthread_create(&sr.t, NULL, slow_health, &sr), 0);
    usleep(200000);
    int64_t gets_done = 0;
    for (int i = 0; i < 10; i++) {
        json_decref(cluster(id));
        gets_done = sp_mono_ms();
    }
    pthread_join(sr.t, NULL);
    fprintf(stderr, "[health] 10 GETs done %lld ms before a 3000 ms live reading answered\n",
            (long long)(sr.done_ms - gets_done));
    ck_assert_int_lt(gets_done, sr.done_ms);
    ck_assert_int_eq(sr.status, 200);
    ck_assert(sr.stale);
    ck_assert_ptr_null(strstr(sr.live_error, "in progress"));

    /* live readings at once are capped (one, with one HTTP thread): the
     * others answer the last reading right away and say so */
    slow_read many[3] = {{.id = id}, {.id = id}, {.id = id}};
    for (int i = 0; i < 3; i++) ck_assert_int_eq(pthread_create(&many[i].t, NULL, slow_health, &many[i]), 0);
    int capped = 0;
    for (int i = 0; i < 3; i++) {
        pthread_join(many[i].t, NULL);
        ck_assert_int_eq(many[i].status, 200);
        ck_assert(many[i].stale);
        capped += strstr(many[i].live_error, "in progress") != NULL;
    }
    fprintf(stderr, "[health] 3 live readings at once: %d answered at once from the last reading\n", capped);
    ck_assert_int_ge(capped, 1);
    json_decref(wait_for(id, "DEGRADED", "KafkaUnreachable", 15));
    for (int b = 0; b < 3; b++) {
        snprintf(path, sizeof path, "/_sim/kafka/%s/brokers/%d/start", ns, b);
        ck_assert_int_eq(sim("POST", path, NULL), 200);
    }
    json_decref(wait_for(id, "RUNNING", "Healthy", 20));

    /* scale out: UPDATING until the fourth broker has an address and Kafka lists it */
    char cpath[128];
    snprintf(cpath, sizeof cpath, "/v1/clusters/%s", id);
    spresp r = jreq(&S, "PATCH", cpath, KEY, "{\"brokers\":4}");
    ck_assert_msg(r.status == 202, "%ld %s", r.status, r.body);
    ck_assert_str_eq(jpath(r.json, "status.phase"), "UPDATING");
    resp_free(&r);
    int64_t deadline = sp_mono_ms() + 20000;
    for (;;) {
        c = wait_for(id, "RUNNING", "Healthy", 20);
        if (json_integer_value(json_object_get(json_object_get(json_object_get(c, "status"), "health"),
                                               "brokers_online")) == 4 || sp_mono_ms() > deadline)
            break;
        json_decref(c);
        usleep(100000);
    }
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(json_object_get(c, "status"), "health"),
                                                        "brokers_online")), 4);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(c, "status"), "observed_generation")),
                     json_integer_value(json_object_get(c, "generation")));
    commas = 0;
    for (const char *p = jpath(c, "status.external_bootstrap_servers"); p && *p; p++) commas += *p == ',';
    ck_assert_int_eq(commas, 3);
    json_decref(c);

    /* the librdkafka clients are reused: checks of a healthy cluster make none */
    long reads0 = metric("streamplane_kafka_metadata_reads_total");
    long created0 = metric("streamplane_kafka_clients_created_total");
    usleep(3500000);                                          /* checks every second */
    long reads = metric("streamplane_kafka_metadata_reads_total") - reads0;
    long created = metric("streamplane_kafka_clients_created_total") - created0;
    fprintf(stderr, "[health] %ld metadata reads, %ld librdkafka clients created meanwhile\n", reads, created);
    ck_assert_int_ge(reads, 2);
    ck_assert_int_eq(created, 0);
}
END_TEST

/* Issue 9, defect 1: while an operation waits (here for a broker that will
 * not start), every poll used to rewrite the cluster row, so its
 * resource_version moved and a client's If-Match answered 412 during any
 * operation. A poll that finds nothing new now writes nothing. */
START_TEST(if_match_holds_while_an_operation_waits)
{
    char id[64], ns[96], path[256], cpath[128];
    create("waits", 3, "loadbalancer", id);
    snprintf(ns, sizeof ns, "sp-%s", id);
    snprintf(cpath, sizeof cpath, "/v1/clusters/%s", id);
    snprintf(path, sizeof path, "/_sim/kafka/%s/brokers/2/stop", ns);
    int64_t until = sp_mono_ms() + 20000;
    while (sim("POST", path, NULL) != 200 && sp_mono_ms() < until) usleep(20000);
    ck_assert_int_eq(sim("POST", path, NULL), 200);
    json_decref(wait_for(id, "PROVISIONING", "BrokersOffline", 20));

    /* the client reads the cluster, then the worker polls Kafka three more times */
    spresp g = jreq(&S, "GET", cpath, KEY, NULL);
    ck_assert_int_eq(g.status, 200);
    char etag[64], rv[32];
    snprintf(etag, sizeof etag, "%s", g.etag);
    snprintf(rv, sizeof rv, "%s", jstr(&g, "resource_version"));
    ck_assert(etag[0] && rv[0]);
    resp_free(&g);
    long reads = metric("streamplane_kafka_metadata_reads_total");
    until = sp_mono_ms() + 20000;
    while (metric("streamplane_kafka_metadata_reads_total") < reads + 3 && sp_mono_ms() < until) usleep(50000);
    long polls = metric("streamplane_kafka_metadata_reads_total") - reads;
    ck_assert_int_ge(polls, 3);

    /* still waiting, and the row did not move */
    json_t *c = cluster(id);
    ck_assert_str_eq(jpath(c, "status.phase"), "PROVISIONING");
    ck_assert_str_eq(jpath(c, "resource_version"), rv);
    json_decref(c);

    /* so the client's conditional change goes through */
    char hdr[100];
    snprintf(hdr, sizeof hdr, "If-Match: %s", etag);
    const char *const hs[] = {"Content-Type: application/merge-patch+json", hdr, NULL};
    const char *patch = "{\"config\":{\"num.partitions\":\"6\"}}";
    spresp p = req(&S, "PATCH", cpath, KEY, patch, 0, hs);
    ck_assert_msg(p.status == 202, "PATCH with %s while the operation waits: %ld %s", hdr, p.status, p.body);
    printf("[if-match] %ld Kafka polls while the CREATE operation waited for broker 2; resource_version stayed "
           "%s; PATCH with If-Match: %s answered %ld\n", polls, rv, etag, p.status);
    resp_free(&p);
}
END_TEST

START_TEST(no_route_node_ports_and_bad_input)
{
    /* external data plane, no external listener: RUNNING on pods, KafkaReady Unknown */
    char a[64], b[64];
    create("internal", 1, "none", a);
    create("nodeports", 3, "nodeport", b);
    json_t *c = wait_for(a, "RUNNING", "NoRoute", 20);
    ck_assert_str_eq(json_string_value(json_object_get(condition(c, "KafkaReady"), "status")), "Unknown");
    ck_assert_ptr_null(json_object_get(json_object_get(c, "status"), "external_bootstrap_servers"));
    json_decref(c);
    json_t *h = health(a, NULL);
    ck_assert_str_eq(jpath(h, "source"), "none");
    ck_assert(json_is_true(json_object_get(h, "stale")));
    ck_assert_ptr_nonnull(strstr(jpath(h, "live_error"), "external"));
    json_decref(h);

    /* node ports: the node's address and the node port, as launch.sh advertises them */
    c = wait_for(b, "RUNNING", "Healthy", 20);
    const char *ext = jpath(c, "status.external_bootstrap_servers");
    ck_assert_ptr_nonnull(ext);
    ck_assert_ptr_nonnull(strstr(ext, ":3"));                         /* 30000-32767 */
    ck_assert_ptr_null(strstr(ext, ":9094"));
    /* checks every second, but an unchanged reading is not rewritten: the
     * resource_version a client holds for If-Match stays good */
    char rv[32];
    snprintf(rv, sizeof rv, "%s", jpath(c, "resource_version"));
    json_decref(c);
    long r0 = metric("streamplane_kafka_metadata_reads_total");
    usleep(3500000);
    c = cluster(b);
    ck_assert_str_eq(jpath(c, "resource_version"), rv);
    ck_assert_str_eq(jpath(c, "status.phase"), "RUNNING");
    json_decref(c);
    ck_assert_int_ge(metric("streamplane_kafka_metadata_reads_total") - r0, 2);  /* it did check meanwhile */

    char path[160];
    snprintf(path, sizeof path, "/v1/clusters/%s/health?timeout_ms=5", b);
    spresp r = jreq(&S, "GET", path, KEY, NULL);
    assert_problem(&r, 400);
    resp_free(&r);
    snprintf(path, sizeof path, "/v1/clusters/%s/health?timeout_ms=abc", b);
    r = jreq(&S, "GET", path, KEY, NULL);
    assert_problem(&r, 400);
    resp_free(&r);
    r = jreq(&S, "GET", "/v1/clusters/kc-doesnotexist00000/health", KEY, NULL);
    assert_problem(&r, 404);
    resp_free(&r);
    /* another tenant does not see it */
    char tid[64], other[128];
    make_tenant(&S, "other", NULL, tid, other);
    snprintf(path, sizeof path, "/v1/clusters/%s/health", b);
    r = jreq(&S, "GET", path, other, NULL);
    assert_problem(&r, 404);
    resp_free(&r);
}
END_TEST

Suite *suite_kafka(void)
{
    Suite *s = suite_create("kafka");
    TCase *t = tcase_create("health");
    tcase_add_checked_fixture(t, up, down);
    tcase_set_timeout(t, 120);
    tcase_add_test(t, running_waits_for_every_broker_then_health_follows_kafka);
    tcase_add_test(t, no_route_node_ports_and_bad_input);
    tcase_add_test(t, if_match_holds_while_an_operation_waits);
    suite_add_tcase(s, t);
    return s;
}
