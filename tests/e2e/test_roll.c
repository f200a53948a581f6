/* The rolling restart engine end to end (issue 13) on kube-sim, the
 * Kubernetes API test double, with kafka-sim behind its pods (a Ready pod
 * runs its broker; a deleted one leaves every ISR and rejoins after the
 * catch-up delay). The real bed runs the same roll on real Kafka
 * (tests/kafka-bed); these tests cover what needs a fault on demand: a
 * broker whose process stops while its pod stays Ready (min ISR blocks), an
 * image that cannot be pulled, streamplane killed mid-roll, a cancel.
 *
 * Every pod deletion streamplane sends is in kube-sim's request log: the
 * tests count them ("each pod exactly once, in this order"). */
#define _GNU_SOURCE
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "harness.h"
#include "../../common/util.h"

static spsrv S;
static ksim K;
static char KEY[128];
static const char *const FLAGS[] = {"--workers", "2", "--rate-limit", "0", "--health-seconds", "1",
                                    "--kafka-timeout-ms", "1500", NULL};

static void up(void)
{
    memset(&S, 0, sizeof S);
    memset(&K, 0, sizeof K);
    ksim_start(&K);
    srv_start(&S, NULL, FLAGS);
    char body[600], tid[64];
    ksim_plane_body(&K, "roll-plane", body, sizeof body);
    spresp r = jreq(&S, "POST", "/v1/data-planes", ADMIN, body);
    ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
    resp_free(&r);
    make_tenant(&S, "roll", "{\"max_clusters\":10,\"max_brokers\":30,\"max_storage_gib\":100000}", tid, KEY);
}

static void down(void)
{
    srv_cleanup(&S);
    ksim_cleanup(&K);
}

static int sim(const char *method, const char *path, const char *json) { return ksim_call(&K, method, path, json); }

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

/* A cluster of 3 controllers and 3 brokers (multi_zone) whose Kafka
 * streamplane reaches through NodePorts; RUNNING when it returns. */
static void create_running(const char *name, char id[64], char ns[96])
{
    char body[400];
    snprintf(body, sizeof body, "{\"name\":\"%s\",\"kafka_version\":\"3.9.1\",\"brokers\":3,\"storage_gib\":10,"
             "\"availability\":\"multi_zone\",\"external_access\":{\"type\":\"nodeport\"}}", name);
    spresp r = jreq(&S, "POST", "/v1/clusters", KEY, body);
    ck_assert_msg(r.status == 202, "%ld %s", r.status, r.body);
    snprintf(id, 64, "%s", jstr(&r, "id"));
    resp_free(&r);
    snprintf(ns, 96, "sp-%s", id);
    int64_t until = sp_mono_ms() + 60000;
    for (;;) {
        json_t *c = cluster(id);
        const char *ph = jpath(c, "status.phase");
        bool ok = ph && !strcmp(ph, "RUNNING");
        json_decref(c);
        if (ok) break;
        ck_assert_msg(sp_mono_ms() < until, "cluster %s never became RUNNING", id);
        usleep(100000);
    }
}

/* The operation, once its state is want (or any end state when want is
 * NULL), within seconds. */
static json_t *wait_op(const char *op_location, const char *want, int seconds)
{
    int64_t until = sp_mono_ms() + seconds * 1000;
    json_t *o = NULL;
    while (sp_mono_ms() < until) {
        json_decref(o);
        o = get_json(op_location);
        const char *st = jpath(o, "state");
        if (st && (want ? !strcmp(st, want) : strcmp(st, "PENDING") && strcmp(st, "RUNNING"))) return o;
        usleep(100000);
    }
    char *d = json_dumps(o, JSON_COMPACT);
    ck_abort_msg("operation %s never reached %s: %s", op_location, want ? want : "an end", d);
    free(d);
    return NULL;
}

/* The running step of an operation whose name is step and whose message
 * contains text, within seconds; returns the operation. */
static json_t *wait_step(const char *op_location, const char *step, const char *text, int seconds)
{
    int64_t until = sp_mono_ms() + seconds * 1000;
    json_t *o = NULL;
    while (sp_mono_ms() < until) {
        json_decref(o);
        o = get_json(op_location);
        json_t *steps = json_object_get(o, "steps");
        json_t *last = json_array_get(steps, json_array_size(steps) - 1);
        const char *n = json_string_value(json_object_get(last, "name"));
        const char *m = json_string_value(json_object_get(last, "message"));
        if (n && !strcmp(n, step) && m && (!text || strstr(m, text))) return o;
        usleep(100000);
    }
    char *d = json_dumps(o, JSON_COMPACT);
    ck_abort_msg("operation %s never showed step '%s' saying '%s': %s", op_location, step, text ? text : "", d);
    free(d);
    return NULL;
}

/* The pods deleted successfully, in the order kube-sim answered them
 * (names, space separated, into out); returns how many. */
static int deleted_pods(const char *ns, char *out, size_t cap)
{
    char logp[128], line[4096], needle[160];
    snprintf(logp, sizeof logp, "%s/kube-sim.log", K.dir);
    snprintf(needle, sizeof needle, "DELETE /api/v1/namespaces/%s/pods/", ns);
    FILE *f = fopen(logp, "r");
    int n = 0;
    size_t len = 0;
    out[0] = 0;
    while (f && fgets(line, sizeof line, f)) {
        char *at = strstr(line, needle);
        if (!at || !strstr(at, "-> 200")) continue;
        at += strlen(needle);
        size_t w = strcspn(at, " ?");
        if (len + w + 2 < cap) len += (size_t)snprintf(out + len, cap - len, "%s%.*s", n ? " " : "", (int)w, at);
        n++;
    }
    if (f) fclose(f);
    return n;
}

/* Does a Job of the namespace whose name starts with prefix run a command
 * line containing text? (GET /_sim/objects: every object kube-sim holds) */
static bool job_command_has(const char *ns, const char *prefix, const char *text)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "curl -s %s/_sim/objects", K.url);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    json_error_t e;
    json_t *all = json_loadf(p, 0, &e);
    pclose(p);
    bool found = false;
    size_t i;
    json_t *o;
    json_array_foreach(json_object_get(all, "items"), i, o) {
        const char *kind = json_string_value(json_object_get(o, "kind"));
        const char *name = jpath(o, "metadata.name"), *ons = jpath(o, "metadata.namespace");
        if (!kind || strcmp(kind, "Job") || !name || strncmp(name, prefix, strlen(prefix)) || !ons || strcmp(ons, ns))
            continue;
        json_t *c0 = json_array_get(json_object_get(json_object_get(json_object_get(json_object_get(o, "spec"),
                                                                                    "template"), "spec"), "containers"), 0);
        char line[1000] = "";
        size_t j;
        json_t *a;
        json_array_foreach(json_object_get(c0, "command"), j, a)
            snprintf(line + strlen(line), sizeof line - strlen(line), "%s%s", j ? " " : "", json_string_value(a));
        if (strstr(line, text)) found = true;
    }
    json_decref(all);
    return found;
}

/* Every step ended (but a RUNNING last one when running), no name twice. */
static void assert_steps_sane(json_t *op, bool running)
{
    json_t *steps = json_object_get(op, "steps");
    size_t i, j, n = json_array_size(steps);
    for (i = 0; i < n; i++) {
        json_t *s = json_array_get(steps, i);
        const char *st = json_string_value(json_object_get(s, "state"));
        const char *name = json_string_value(json_object_get(s, "name"));
        ck_assert_ptr_nonnull(name);
        bool last_running = running && i == n - 1;
        if (last_running) ck_assert_str_eq(st, "RUNNING");
        else {
            ck_assert_msg(!strcmp(st, "SUCCEEDED") || !strcmp(st, "SKIPPED") || !strcmp(st, "FAILED"),
                          "step %s is %s", name, st);
            ck_assert_msg(json_is_string(json_object_get(s, "finished_at")), "step %s has no finished_at", name);
        }
        for (j = 0; j < i; j++)
            ck_assert_msg(strcmp(name, json_string_value(json_object_get(json_array_get(steps, j), "name"))),
                          "step name %s repeats", name);
    }
}

static const char *step_name(json_t *op, size_t i)
{
    return json_string_value(json_object_get(json_array_get(json_object_get(op, "steps"), i), "name"));
}

static void op_location_of(spresp *r, char *out, size_t cap)
{
    ck_assert_msg(r->op_location[0], "no Operation-Location: %s", r->body);
    snprintf(out, cap, "%s", r->op_location);
}

/* A roll blocked by min ISR waits and says which partitions block; it goes
 * on when the ISR recovers; streamplane killed mid-roll resumes it; every
 * pod restarts exactly once, controllers first (the active one last). */
START_TEST(restart_waits_for_min_isr_and_survives_a_crash)
{
    char id[64], ns[96], path[256], opl[256], dels[2048];
    create_running("roll", id, ns);
    snprintf(path, sizeof path, "/_sim/kafka/%s/topics", ns);
    ck_assert_int_eq(sim("POST", path, "{\"name\":\"orders\",\"partitions\":4,\"replication\":3,"
                                       "\"configs\":{\"min.insync.replicas\":\"2\"}}"), 200);
    /* broker 2's process stops while its pod stays Ready: ISR {0,1} = min 2 */
    snprintf(path, sizeof path, "/_sim/kafka/%s/brokers/2/stop", ns);
    ck_assert_int_eq(sim("POST", path, NULL), 200);

    char rpath[160];
    snprintf(rpath, sizeof rpath, "/v1/clusters/%s/restart", id);
    spresp r = jreq(&S, "POST", rpath, KEY, NULL);
    ck_assert_msg(r.status == 202, "%ld %s", r.status, r.body);
    op_location_of(&r, opl, sizeof opl);
    ck_assert_str_eq(jpath(r.json, "status.phase"), "UPDATING");
    resp_free(&r);
    r = jreq(&S, "POST", rpath, KEY, "{\"force\":true}");          /* no parameters */
    assert_problem(&r, 422);
    resp_free(&r);

    json_t *op = wait_step(opl, "restart kafka-broker-0", "min.insync.replicas", 60);
    const char *msg = jpath(json_array_get(json_object_get(op, "steps"), json_array_size(json_object_get(op, "steps")) - 1),
                            "message");
    fprintf(stderr, "[roll] blocked: %s\n", msg);
    ck_assert_ptr_nonnull(strstr(msg, "orders/"));
    ck_assert_ptr_nonnull(strstr(jpath(op, "path"), "rolling restart on request"));
    assert_steps_sane(op, true);
    json_decref(op);
    ck_assert_int_eq(deleted_pods(ns, dels, sizeof dels), 3);     /* the controllers, not broker 0 */
    ck_assert_ptr_null(strstr(dels, "kafka-broker"));

    /* the ISR recovers: broker 0 goes; streamplane is killed right after its delete */
    snprintf(path, sizeof path, "/_sim/kafka/%s/brokers/2/start", ns);
    ck_assert_int_eq(sim("POST", path, NULL), 200);
    int64_t until = sp_mono_ms() + 60000;
    while (deleted_pods(ns, dels, sizeof dels) < 4 && sp_mono_ms() < until) usleep(20000);
    ck_assert_int_eq(srv_stop(&S, SIGKILL), -SIGKILL);
    srv_start(&S, S.dir, FLAGS);
    op = wait_op(opl, "SUCCEEDED", 90);
    assert_steps_sane(op, false);

    /* each pod exactly once, in the plan's order: controllers, the active one last, then brokers */
    ck_assert_int_eq(deleted_pods(ns, dels, sizeof dels), 6);
    fprintf(stderr, "[roll] deletions in order: %s\n", dels);
    char want[512] = "";
    size_t n = json_array_size(json_object_get(op, "steps"));
    ck_assert_str_eq(step_name(op, 0), "apply objects");
    ck_assert_str_eq(step_name(op, 1), "find the active controller");
    ck_assert_str_eq(step_name(op, n - 1), "wait for Kafka");
    for (size_t i = 2; i + 1 < n; i++) {
        const char *s = step_name(op, i);
        ck_assert_int_eq(strncmp(s, "restart ", 8), 0);
        snprintf(want + strlen(want), sizeof want - strlen(want), "%s%s", want[0] ? " " : "", s + 8);
    }
    ck_assert_str_eq(dels, want);
    ck_assert_int_eq(strncmp(want, "kafka-controller-", 17), 0);
    ck_assert_ptr_nonnull(strstr(want, " kafka-broker-0 kafka-broker-1 kafka-broker-2"));
    /* the active controller (what the quorum said) restarted last of the controllers */
    const char *found = jpath(json_array_get(json_object_get(op, "steps"), 1), "message");
    fprintf(stderr, "[roll] %s\n", found);
    int leader = -1;
    const char *at = strstr(found, "node ");
    if (at) leader = atoi(at + 5);
    ck_assert_int_ge(leader, 1000);
    char last_ctrl[64];
    snprintf(last_ctrl, sizeof last_ctrl, "restart kafka-controller-%d", leader - 1000);
    ck_assert_str_eq(step_name(op, 4), last_ctrl);
    ck_assert_int_eq(json_integer_value(json_object_get(op, "progress_percent")), 100);
    json_decref(op);
    json_t *c = cluster(id);
    ck_assert_str_eq(jpath(c, "status.phase"), "RUNNING");
    ck_assert_str_eq(jpath(c, "status.kafka_version"), "3.9.1");
    json_decref(c);
}
END_TEST

/* A dynamic config goes in live (no pod restarts, the brokers report it);
 * a static one rolls; an upgrade rolls every pod onto the new image and
 * only then raises the metadata version; a downgrade is refused. */
START_TEST(configs_and_upgrade_take_the_right_path)
{
    char id[64], ns[96], opl[256], dels[2048], cpath[128];
    create_running("cfg", id, ns);
    snprintf(cpath, sizeof cpath, "/v1/clusters/%s", id);

    spresp r = jreq(&S, "PATCH", cpath, KEY, "{\"config\":{\"log.retention.ms\":\"3600000\"}}");
    ck_assert_msg(r.status == 202, "%ld %s", r.status, r.body);
    op_location_of(&r, opl, sizeof opl);
    resp_free(&r);
    json_t *op = wait_op(opl, NULL, 60);
    ck_assert_str_eq(jpath(op, "state"), "SUCCEEDED");
    fprintf(stderr, "[config] %s\n", jpath(op, "path"));
    ck_assert_ptr_nonnull(strstr(jpath(op, "path"), "applied live"));
    ck_assert_ptr_nonnull(strstr(jpath(op, "path"), "no pod restarts"));
    assert_steps_sane(op, false);
    ck_assert_str_eq(step_name(op, 1), "apply dynamic configs");
    const char *m = jpath(json_array_get(json_object_get(op, "steps"), 1), "message");
    ck_assert_ptr_nonnull(strstr(m, "brokers report the new value"));
    json_decref(op);
    ck_assert_int_eq(deleted_pods(ns, dels, sizeof dels), 0);

    /* a config Kafka reads at start only: a roll, and the path says why */
    r = jreq(&S, "PATCH", cpath, KEY, "{\"config\":{\"log.retention.ms\":\"3600000\",\"log.retention.hours\":\"24\"}}");
    ck_assert_msg(r.status == 202, "%ld %s", r.status, r.body);
    op_location_of(&r, opl, sizeof opl);
    resp_free(&r);
    op = wait_op(opl, NULL, 90);
    ck_assert_str_eq(jpath(op, "state"), "SUCCEEDED");
    fprintf(stderr, "[config] %s\n", jpath(op, "path"));
    ck_assert_ptr_nonnull(strstr(jpath(op, "path"), "log.retention.hours cannot change on a running broker"));
    assert_steps_sane(op, false);
    json_decref(op);
    ck_assert_int_eq(deleted_pods(ns, dels, sizeof dels), 6);

    /* upgrade 3.9.1 -> 4.1.0 */
    r = jreq(&S, "PATCH", cpath, KEY, "{\"kafka_version\":\"4.1.0\"}");
    ck_assert_msg(r.status == 202, "%ld %s", r.status, r.body);
    ck_assert_str_eq(jpath(r.json, "status.kafka_version"), "3.9.1");        /* what runs, not what was asked */
    ck_assert_str_eq(jpath(r.json, "status.target_kafka_version"), "4.1.0");
    op_location_of(&r, opl, sizeof opl);
    resp_free(&r);
    op = wait_op(opl, NULL, 90);
    ck_assert_msg(!strcmp(jpath(op, "state"), "SUCCEEDED"), "%s", jpath(op, "error.message"));
    assert_steps_sane(op, false);
    size_t n = json_array_size(json_object_get(op, "steps"));
    ck_assert_str_eq(step_name(op, n - 2), "raise the metadata version to 4.1");
    ck_assert_ptr_nonnull(strstr(jpath(op, "path"), "upgrade 3.9.1 -> 4.1.0"));
    json_decref(op);
    ck_assert_int_eq(deleted_pods(ns, dels, sizeof dels), 12);
    json_t *c = cluster(id);
    ck_assert_str_eq(jpath(c, "status.kafka_version"), "4.1.0");
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(json_object_get(c, "status"), "kafka_versions"),
                                                        "4.1.0")), 6);
    json_decref(c);
    /* the features Job ran with 4.x's flag (kube-sim keeps finished Jobs) */
    ck_assert_msg(job_command_has(ns, "sp-features-", "--release-version 4.1"), "no kafka-features Job for 4.1");
    r = jreq(&S, "PATCH", cpath, KEY, "{\"kafka_version\":\"3.9.1\"}");
    assert_problem(&r, 422);
    ck_assert_ptr_nonnull(strstr(r.body, "cannot go down"));
    resp_free(&r);
}
END_TEST

/* Cancel half way through an upgrade: no pod goes down, no further pod
 * restarts, the cluster settles; then an upgrade to an image that cannot
 * be pulled stops FAILED naming the pod. */
START_TEST(cancel_half_way_and_a_broken_image)
{
    char id[64], ns[96], opl[256], dels[2048], cpath[128];
    create_running("cxl", id, ns);
    snprintf(cpath, sizeof cpath, "/v1/clusters/%s", id);
    spresp r = jreq(&S, "PATCH", cpath, KEY, "{\"kafka_version\":\"4.0.0\"}");
    ck_assert_msg(r.status == 202, "%ld %s", r.status, r.body);
    op_location_of(&r, opl, sizeof opl);
    resp_free(&r);
    int64_t until0 = sp_mono_ms() + 60000;
    while (deleted_pods(ns, dels, sizeof dels) < 2 && sp_mono_ms() < until0) usleep(20000);
    char cancel[300];
    snprintf(cancel, sizeof cancel, "%s/cancel", opl);
    r = jreq(&S, "POST", cancel, KEY, NULL);
    ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
    ck_assert_str_eq(jpath(r.json, "state"), "CANCELLED");
    ck_assert_ptr_nonnull(strstr(jpath(r.json, "error.message"), "stay on it"));
    assert_steps_sane(r.json, false);
    resp_free(&r);
    int at_cancel = deleted_pods(ns, dels, sizeof dels);
    /* the cluster settles with what runs; the pod in flight finishes, no other starts */
    int64_t until = sp_mono_ms() + 60000;
    json_t *c = NULL;
    for (;;) {
        json_decref(c);
        c = cluster(id);
        const char *ph = jpath(c, "status.phase");
        json_t *st = json_object_get(c, "status");
        if (ph && !strcmp(ph, "RUNNING") && json_is_null(json_object_get(st, "current_operation_id")) &&
            json_integer_value(json_object_get(st, "observed_generation")) ==
                json_integer_value(json_object_get(c, "generation")))
            break;
        ck_assert_msg(sp_mono_ms() < until, "the cluster did not settle after the cancel");
        usleep(100000);
    }
    int after = deleted_pods(ns, dels, sizeof dels);
    fprintf(stderr, "[cancel] %d pods deleted at the cancel, %d after: %s\n", at_cancel, after, dels);
    ck_assert_int_le(after, at_cancel + 1);
    ck_assert_int_ge(after, 2);
    ck_assert_ptr_null(strstr(dels, "kafka-broker"));
    ck_assert_str_eq(jpath(c, "kafka_version"), "3.9.1");                  /* the spec is restored */
    ck_assert_str_eq(jpath(c, "status.target_kafka_version"), "4.0.0");    /* pods roll on nothing lower */
    ck_assert_str_eq(jpath(c, "status.kafka_version"), "3.9.1");           /* the lowest release running */
    json_t *vers = json_object_get(json_object_get(c, "status"), "kafka_versions");

    ck_assert_int_eq(json_integer_value(json_object_get(vers, "4.0.0")), after);
    json_decref(c);

    /* 4.1.0's image cannot be pulled: the upgrade fails on the first pod, naming it */
    ck_assert_int_eq(sim("POST", "/_sim/images", "{\"unpullable\":\"kafka:4.1.0\"}"), 200);
    r = jreq(&S, "PATCH", cpath, KEY, "{\"kafka_version\":\"4.1.0\"}");
    ck_assert_msg(r.status == 202, "%ld %s", r.status, r.body);
    op_location_of(&r, opl, sizeof opl);
    resp_free(&r);
    json_t *op = wait_op(opl, "FAILED", 60);
    fprintf(stderr, "[broken image] %s\n", jpath(op, "error.message"));
    ck_assert_str_eq(jpath(op, "error.code"), "ImagePullBackOff");
    ck_assert_ptr_nonnull(strstr(jpath(op, "error.message"), "pod kafka-controller-"));
    assert_steps_sane(op, false);
    json_decref(op);
    ck_assert_int_eq(deleted_pods(ns, dels, sizeof dels), after + 1);
    /* the cluster says so too */
    c = cluster(id);
    size_t i;
    json_t *cnd;
    const char *failed = NULL;
    json_array_foreach(json_object_get(json_object_get(c, "status"), "conditions"), i, cnd)
        if (!strcmp(json_string_value(json_object_get(cnd, "type")), "OperationFailed") &&
            !strcmp(json_string_value(json_object_get(cnd, "status")), "True"))
            failed = json_string_value(json_object_get(cnd, "message"));
    ck_assert_ptr_nonnull(failed);
    ck_assert_ptr_nonnull(strstr(failed, "ImagePullBackOff"));
    json_decref(c);
}
END_TEST

Suite *suite_roll(void)
{
    Suite *s = suite_create("roll");
    TCase *t = tcase_create("roll");
    tcase_add_checked_fixture(t, up, down);
    tcase_set_timeout(t, 300);
    tcase_add_test(t, restart_waits_for_min_isr_and_survives_a_crash);
    tcase_add_test(t, configs_and_upgrade_take_the_right_path);
    tcase_add_test(t, cancel_half_way_and_a_broken_image);
    suite_add_tcase(s, t);
    return s;
}
