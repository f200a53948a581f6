/* Declared topics and consumer groups over real HTTP (issue 14): what is
 * checked before anything reaches Kafka (422), quotas (403), idempotency,
 * concurrency, tenant isolation, and what the worker reports when it cannot
 * reach Kafka. The clusters here are on the manifests target, which
 * streamplane never reaches, so no Kafka is involved (the real one is in
 * tests/kafka-bed/). */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "harness.h"
#include "../../common/util.h"

static spsrv S;
static char TID[64], KEY[128], C[64], TOPICS[160];

static const char *const FLAGS[] = {"--workers", "2", "--rate-limit", "0", NULL};

static void up(void)
{
    memset(&S, 0, sizeof S);
    srv_start(&S, NULL, FLAGS);
    make_tenant(&S, "topics", "{\"max_topics\":4,\"max_partitions\":40}", TID, KEY);
    spresp r = jreq(&S, "POST", "/v1/clusters", KEY,
                    "{\"name\":\"orders\",\"kafka_version\":\"3.9\",\"brokers\":3,\"storage_gib\":10}");
    ck_assert_msg(r.status == 202, "%ld %s", r.status, r.body);
    snprintf(C, sizeof C, "%s", jstr(&r, "id"));
    snprintf(TOPICS, sizeof TOPICS, "/v1/clusters/%s/topics", C);
    resp_free(&r);
}

static void down(void) { srv_cleanup(&S); }

/* Waits until GET path answers want (or the topic's status.reason is
 * reason, when given); fails after seconds. */
static json_t *wait_topic(const char *path, long want, const char *reason, int seconds)
{
    int64_t until = sp_mono_ms() + seconds * 1000;
    spresp r = {0};
    while (sp_mono_ms() < until) {
        resp_free(&r);
        r = jreq(&S, "GET", path, KEY, NULL);
        if (r.status == want && (!reason || (r.json && jpath(r.json, "status.reason") &&
                                             !strcmp(jpath(r.json, "status.reason"), reason)))) {
            json_t *j = json_incref(r.json);
            resp_free(&r);
            return j;
        }
        usleep(50000);
    }
    ck_abort_msg("GET %s never answered %ld/%s: %ld %s", path, want, reason ? reason : "*", r.status, r.body);
    return NULL;
}

START_TEST(a_topic_round_trips_and_reports_why_it_waits)
{
    spresp r = jreq(&S, "POST", TOPICS, KEY, "{\"name\":\"payments.v1\",\"partitions\":6,"
                                             "\"config\":{\"retention.ms\":\"3600000\",\"cleanup.policy\":\"delete,compact\"}}");
    ck_assert_msg(r.status == 202, "%ld %s", r.status, r.body);
    char path[320];
    snprintf(path, sizeof path, "%s/payments.v1", TOPICS);
    ck_assert_str_eq(r.location, path);
    ck_assert_str_eq(r.etag, "\"1\"");
    /* what was sent comes back as sent; defaults only in status */
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "partitions")), 6);
    ck_assert_ptr_null(json_object_get(r.json, "replication_factor"));
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(r.json, "config"), "retention.ms")), "3600000");
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(r.json, "status"), "replication_factor")), 3);
    ck_assert_str_eq(jpath(r.json, "status.phase"), "PENDING");
    ck_assert_str_eq(jstr(&r, "cluster_id"), C);
    resp_free(&r);
    /* the manifests target is never reachable: the worker says so, the topic stays PENDING */
    json_t *t = wait_topic(path, 200, "NoRoute", 20);
    ck_assert_str_eq(jpath(t, "status.phase"), "PENDING");
    ck_assert(strstr(jpath(t, "status.message"), "manifests target") != NULL);
    json_decref(t);
    /* the list has it; unmanaged topics cannot be read here, and it says why */
    r = jreq(&S, "GET", TOPICS, KEY, NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_uint_eq(json_array_size(json_object_get(r.json, "items")), 1);
    ck_assert_str_eq(jstr(&r, "unmanaged_source"), "unavailable");
    ck_assert(strstr(jstr(&r, "unmanaged_error"), "manifests target") != NULL);
    resp_free(&r);
    /* grow: 202, a new generation; the same PATCH again changes nothing: 200 */
    r = jreq(&S, "PATCH", path, KEY, "{\"partitions\":8}");
    ck_assert_msg(r.status == 202, "%ld %s", r.status, r.body);
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "generation")), 2);
    resp_free(&r);
    r = jreq(&S, "PATCH", path, KEY, "{\"partitions\":8}");
    ck_assert_int_eq(r.status, 200);
    resp_free(&r);
    /* a stale If-Match: 412 and nothing changes */
    const char *const stale[] = {"Content-Type: application/merge-patch+json", "If-Match: \"1\"", NULL};
    r = req(&S, "PATCH", path, KEY, "{\"partitions\":9}", 0, stale);
    assert_problem(&r, 412);
    resp_free(&r);
    /* a config key removed with null */
    r = jreq(&S, "PATCH", path, KEY, "{\"config\":{\"cleanup.policy\":null}}");
    ck_assert_int_eq(r.status, 202);
    ck_assert_ptr_null(json_object_get(json_object_get(r.json, "config"), "cleanup.policy"));
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "partitions")), 8);
    resp_free(&r);
    /* delete: 202 DELETING, again 202; never made in Kafka, so the row goes and GET answers 404 */
    r = jreq(&S, "DELETE", path, KEY, NULL);
    ck_assert_int_eq(r.status, 202);
    resp_free(&r);
    json_decref(wait_topic(path, 404, NULL, 20));
    r = jreq(&S, "DELETE", path, KEY, NULL);
    assert_problem(&r, 404);
    resp_free(&r);
}
END_TEST

START_TEST(bad_topics_answer_422_before_kafka)
{
    static const struct { const char *body, *field; } cases[] = {
        {"{\"name\":\"a\",\"partitions\":1,\"replication_factor\":4}", "replication_factor"},
        {"{\"name\":\"a\",\"partitions\":0}", "partitions"},
        {"{\"name\":\"a\",\"partitions\":10001}", "partitions"},
        {"{\"name\":\"a\"}", "partitions"},
        {"{\"partitions\":1}", "name"},
        {"{\"name\":\"a b\",\"partitions\":1}", "name"},
        {"{\"name\":\"..\",\"partitions\":1}", "name"},
        {"{\"name\":\"__consumer_offsets\",\"partitions\":1}", "name"},
        {"{\"name\":\"a\",\"partitions\":1,\"config\":{\"no.such.setting\":\"1\"}}", "config.no.such.setting"},
        {"{\"name\":\"a\",\"partitions\":1,\"config\":{\"remote.storage.enable\":\"true\"}}", "config.remote.storage.enable"},
        {"{\"name\":\"a\",\"partitions\":1,\"config\":{\"retention.ms\":\"soon\"}}", "config.retention.ms"},
        {"{\"name\":\"a\",\"partitions\":1,\"config\":{\"retention.ms\":3600000}}", "config.retention.ms"},
        {"{\"name\":\"a\",\"partitions\":1,\"config\":{\"cleanup.policy\":\"delete,delete\"}}", "config.cleanup.policy"},
        {"{\"name\":\"a\",\"partitions\":1,\"replication_factor\":2,\"config\":{\"min.insync.replicas\":\"3\"}}",
         "config.min.insync.replicas"},
        {"{\"name\":\"a\",\"partitions\":1,\"colour\":\"blue\"}", "colour"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        spresp r = jreq(&S, "POST", TOPICS, KEY, cases[i].body);
        ck_assert_msg(r.status == 422, "%s: %ld %s", cases[i].body, r.status, r.body);
        json_t *errs = json_object_get(r.json, "errors");
        bool found = false;
        for (size_t k = 0; k < json_array_size(errs); k++)
            found |= !strcmp(json_string_value(json_object_get(json_array_get(errs, k), "field")), cases[i].field);
        ck_assert_msg(found, "%s: no error on %s: %s", cases[i].body, cases[i].field, r.body);
        resp_free(&r);
    }
    /* nothing was stored */
    spresp r = jreq(&S, "GET", TOPICS, KEY, NULL);
    ck_assert_uint_eq(json_array_size(json_object_get(r.json, "items")), 0);
    resp_free(&r);
    /* '.' and '_' collide in Kafka's metric names; the same name twice is 409 */
    r = jreq(&S, "POST", TOPICS, KEY, "{\"name\":\"a.b\",\"partitions\":2,\"replication_factor\":3}");
    ck_assert_int_eq(r.status, 202);
    resp_free(&r);
    r = jreq(&S, "POST", TOPICS, KEY, "{\"name\":\"a_b\",\"partitions\":1}");
    assert_problem(&r, 422);
    ck_assert(strstr(jstr(&r, "detail"), "a.b") != NULL);
    resp_free(&r);
    r = jreq(&S, "POST", TOPICS, KEY, "{\"name\":\"a.b\",\"partitions\":1}");
    assert_problem(&r, 409);
    resp_free(&r);
    /* never fewer partitions, never another replication factor, never another name */
    char path[320];
    snprintf(path, sizeof path, "%s/a.b", TOPICS);
    static const char *const patches[] = {"{\"partitions\":1}", "{\"replication_factor\":2}", "{\"name\":\"c\"}"};
    for (int i = 0; i < 3; i++) {
        r = jreq(&S, "PATCH", path, KEY, patches[i]);
        ck_assert_msg(r.status == 422, "%s: %ld %s", patches[i], r.status, r.body);
        resp_free(&r);
    }
    /* the cluster cannot shrink below the topic's replication factor */
    char cpath[128];
    snprintf(cpath, sizeof cpath, "/v1/clusters/%s", C);
    r = jreq(&S, "PATCH", cpath, KEY, "{\"brokers\":2}");
    assert_problem(&r, 422);
    ck_assert_msg(strstr(r.body, "a declared topic of this cluster has replication factor 3") != NULL, "%s", r.body);
    resp_free(&r);
}
END_TEST

START_TEST(topic_quotas_answer_403)
{
    spresp r = jreq(&S, "POST", TOPICS, KEY, "{\"name\":\"big\",\"partitions\":41}");
    assert_problem(&r, 403);
    ck_assert(strstr(jstr(&r, "detail"), "max_partitions") != NULL);
    resp_free(&r);
    const char *names[] = {"t1", "t2", "t3", "t4"};
    for (int i = 0; i < 4; i++) {
        char body[128];
        snprintf(body, sizeof body, "{\"name\":\"%s\",\"partitions\":10}", names[i]);
        r = jreq(&S, "POST", TOPICS, KEY, body);
        ck_assert_msg(r.status == 202, "%ld %s", r.status, r.body);
        resp_free(&r);
    }
    r = jreq(&S, "POST", TOPICS, KEY, "{\"name\":\"t5\",\"partitions\":1}");
    assert_problem(&r, 403);
    ck_assert(strstr(jstr(&r, "detail"), "max_topics") != NULL);
    resp_free(&r);
    char path[320];
    snprintf(path, sizeof path, "%s/t1", TOPICS);
    r = jreq(&S, "PATCH", path, KEY, "{\"partitions\":11}");   /* 41 partitions in all */
    assert_problem(&r, 403);
    resp_free(&r);
    r = jreq(&S, "GET", "/v1/usage", KEY, NULL);
    ck_assert_int_eq(r.status, 200);
    json_t *u = json_array_get(json_object_get(r.json, "items"), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(u, "used"), "topics")), 4);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(u, "used"), "partitions")), 40);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(u, "quotas"), "max_topics")), 4);
    resp_free(&r);
    /* a topic being deleted no longer counts, and gives up its name at once */
    r = jreq(&S, "DELETE", path, KEY, NULL);
    ck_assert_int_eq(r.status, 202);
    resp_free(&r);
    r = jreq(&S, "POST", TOPICS, KEY, "{\"name\":\"t1\",\"partitions\":10}");
    ck_assert_msg(r.status == 202, "%ld %s", r.status, r.body);
    resp_free(&r);
}
END_TEST

START_TEST(topic_create_is_idempotent)
{
    const char *const h[] = {"Content-Type: application/json", "Idempotency-Key: topic-1", NULL};
    const char *body = "{\"name\":\"events\",\"partitions\":3}";
    spresp a = req(&S, "POST", TOPICS, KEY, body, 0, h);
    ck_assert_int_eq(a.status, 202);
    spresp b = req(&S, "POST", TOPICS, KEY, body, 0, h);
    ck_assert_int_eq(b.status, 202);                       /* not 409 name-taken */
    ck_assert_str_eq(a.location, b.location);
    resp_free(&b);
    b = req(&S, "POST", TOPICS, KEY, "{\"name\":\"other\",\"partitions\":3}", 0, h);
    assert_problem(&b, 422);
    resp_free(&b);
    resp_free(&a);
}
END_TEST

START_TEST(topics_and_groups_are_tenant_isolated)
{
    spresp r = jreq(&S, "POST", TOPICS, KEY, "{\"name\":\"mine\",\"partitions\":1}");
    ck_assert_int_eq(r.status, 202);
    resp_free(&r);
    char tb[64], kb[128], path[320];
    make_tenant(&S, "other", NULL, tb, kb);
    snprintf(path, sizeof path, "%s/mine", TOPICS);
    const char *const methods[] = {"GET", "PATCH", "DELETE"};
    for (int i = 0; i < 3; i++) {
        r = jreq(&S, methods[i], path, kb, i == 1 ? "{\"partitions\":2}" : NULL);
        assert_problem(&r, 404);
        ck_assert(strstr(jstr(&r, "detail"), "cluster") != NULL);
        resp_free(&r);
    }
    r = jreq(&S, "GET", TOPICS, kb, NULL);
    assert_problem(&r, 404);
    resp_free(&r);
    r = jreq(&S, "POST", TOPICS, kb, "{\"name\":\"theirs\",\"partitions\":1}");
    assert_problem(&r, 404);
    resp_free(&r);
    snprintf(path, sizeof path, "/v1/clusters/%s/consumer-groups", C);
    r = jreq(&S, "GET", path, kb, NULL);
    assert_problem(&r, 404);
    resp_free(&r);
    /* the owner still has exactly its topic */
    r = jreq(&S, "GET", TOPICS, KEY, NULL);
    ck_assert_uint_eq(json_array_size(json_object_get(r.json, "items")), 1);
    resp_free(&r);
    /* the operator sees it too */
    r = jreq(&S, "GET", TOPICS, ADMIN, NULL);
    ck_assert_uint_eq(json_array_size(json_object_get(r.json, "items")), 1);
    resp_free(&r);
}
END_TEST

START_TEST(consumer_groups_say_when_kafka_cannot_be_read)
{
    char path[320];
    snprintf(path, sizeof path, "/v1/clusters/%s/consumer-groups", C);
    spresp r = jreq(&S, "GET", path, KEY, NULL);
    assert_problem(&r, 409);                       /* the manifests target: no route to Kafka */
    ck_assert(strstr(jstr(&r, "detail"), "manifests target") != NULL);
    resp_free(&r);
    snprintf(path, sizeof path, "/v1/clusters/%s/consumer-groups/billing", C);
    r = jreq(&S, "GET", path, KEY, NULL);
    assert_problem(&r, 409);
    resp_free(&r);
    snprintf(path, sizeof path, "/v1/clusters/%s/consumer-groups?timeout_ms=99999", C);
    r = jreq(&S, "GET", path, KEY, NULL);
    assert_problem(&r, 400);
    resp_free(&r);
}
END_TEST

START_TEST(a_deleted_cluster_takes_its_topics)
{
    spresp r = jreq(&S, "POST", TOPICS, KEY, "{\"name\":\"gone\",\"partitions\":5}");
    ck_assert_int_eq(r.status, 202);
    resp_free(&r);
    char cpath[128];
    snprintf(cpath, sizeof cpath, "/v1/clusters/%s", C);
    r = jreq(&S, "DELETE", cpath, KEY, NULL);
    ck_assert_int_eq(r.status, 202);
    resp_free(&r);
    /* a topic cannot be declared on a cluster being deleted */
    r = jreq(&S, "POST", TOPICS, KEY, "{\"name\":\"late\",\"partitions\":1}");
    ck_assert_msg(r.status == 409 || r.status == 404, "%ld %s", r.status, r.body);
    resp_free(&r);
    json_decref(wait_topic(cpath, 404, NULL, 20));
    r = jreq(&S, "GET", "/v1/usage", KEY, NULL);
    json_t *u = json_array_get(json_object_get(r.json, "items"), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(u, "used"), "topics")), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(u, "used"), "partitions")), 0);
    resp_free(&r);
}
END_TEST

/* ---- on kube-sim and kafka-sim (test doubles): Kafka that stops answering --
 * kube-sim backs the cluster with a kafka-sim cluster (tests/kafka-sim) whose
 * brokers the test stops and starts at chosen instants; the real-Kafka
 * checks of the same paths are in tests/kafka-bed/00-topics.sh. */
static ksim K;

static void up_sim(void)
{
    memset(&S, 0, sizeof S);
    memset(&K, 0, sizeof K);
    ksim_start(&K);
    static const char *const flags[] = {"--workers", "2", "--rate-limit", "0", "--health-seconds", "1",
                                        "--kafka-timeout-ms", "1500", NULL};
    srv_start(&S, NULL, flags);
    char body[600];
    ksim_plane_body(&K, "topics-plane", body, sizeof body);
    spresp r = jreq(&S, "POST", "/v1/data-planes", ADMIN, body);
    ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
    resp_free(&r);
    make_tenant(&S, "topics", NULL, TID, KEY);
    r = jreq(&S, "POST", "/v1/clusters", KEY, "{\"name\":\"orders\",\"kafka_version\":\"3.9.1\",\"brokers\":3,"
                                             "\"storage_gib\":10,\"external_access\":{\"type\":\"loadbalancer\"}}");
    ck_assert_msg(r.status == 202, "%ld %s", r.status, r.body);
    snprintf(C, sizeof C, "%s", jstr(&r, "id"));
    snprintf(TOPICS, sizeof TOPICS, "/v1/clusters/%s/topics", C);
    resp_free(&r);
}

static void down_sim(void)
{
    srv_cleanup(&S);
    ksim_cleanup(&K);
}

/* Waits until the topic's status has phase and reason (and partitions in
 * Kafka, when > 0). */
static void wait_status(const char *path, const char *phase, const char *reason, int kpartitions, int seconds)
{
    int64_t until = sp_mono_ms() + seconds * 1000;
    char *last = NULL;
    while (sp_mono_ms() < until) {
        spresp r = jreq(&S, "GET", path, KEY, NULL);
        const char *p = r.json ? jpath(r.json, "status.phase") : NULL, *rs = r.json ? jpath(r.json, "status.reason") : NULL;
        json_t *k = r.json ? json_object_get(json_object_get(r.json, "status"), "kafka") : NULL;
        bool ok = p && rs && !strcmp(p, phase) && !strcmp(rs, reason) &&
                  (kpartitions <= 0 || json_integer_value(json_object_get(k, "partitions")) == kpartitions);
        free(last);
        last = strdup(r.body ? r.body : "");
        resp_free(&r);
        if (ok) { free(last); return; }
        usleep(100000);
    }
    ck_abort_msg("%s never reached %s/%s: %s", path, phase, reason, last);
}

START_TEST(topics_wait_for_kafka_that_does_not_answer_and_recover)
{
    /* declared while the cluster provisions */
    spresp r = jreq(&S, "POST", TOPICS, KEY, "{\"name\":\"events\",\"partitions\":3}");
    ck_assert_int_eq(r.status, 202);
    resp_free(&r);
    char path[320], ns[96], sim[160];
    snprintf(path, sizeof path, "%s/events", TOPICS);
    wait_status(path, "READY", "Ready", 3, 60);
    /* every broker process stops (their pods stay Ready): a change waits, and says why */
    snprintf(ns, sizeof ns, "sp-%s", C);
    for (int b = 0; b < 3; b++) {
        snprintf(sim, sizeof sim, "/_sim/kafka/%s/brokers/%d/stop", ns, b);
        ck_assert_int_eq(ksim_call(&K, "POST", sim, NULL), 200);
    }
    r = jreq(&S, "PATCH", path, KEY, "{\"partitions\":5}");
    ck_assert_int_eq(r.status, 202);
    resp_free(&r);
    wait_status(path, "PENDING", "KafkaUnreachable", 0, 30);
    /* a live read of the groups gives up within its timeout: 503 with Retry-After */
    char gpath[200];
    snprintf(gpath, sizeof gpath, "/v1/clusters/%s/consumer-groups?timeout_ms=300", C);
    int64_t t0 = sp_mono_ms();
    r = jreq(&S, "GET", gpath, KEY, NULL);
    int64_t took = sp_mono_ms() - t0;
    assert_problem(&r, 503);
    ck_assert_str_eq(r.retry_after, "2");
    ck_assert_msg(took < 5000, "the read took %lld ms", (long long)took);
    resp_free(&r);
    /* the brokers come back: the topic grows, READY at generation 2 */
    for (int b = 0; b < 3; b++) {
        snprintf(sim, sizeof sim, "/_sim/kafka/%s/brokers/%d/start", ns, b);
        ck_assert_int_eq(ksim_call(&K, "POST", sim, NULL), 200);
    }
    wait_status(path, "READY", "Ready", 5, 60);
    r = jreq(&S, "GET", path, KEY, NULL);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(r.json, "status"), "observed_generation")), 2);
    resp_free(&r);
    /* deleted and declared again at once (a Terraform replacement): a new
     * topic of 2 partitions, not the old one of 5 adopted */
    r = jreq(&S, "DELETE", path, KEY, NULL);
    ck_assert_int_eq(r.status, 202);
    resp_free(&r);
    r = jreq(&S, "POST", TOPICS, KEY, "{\"name\":\"events\",\"partitions\":2}");
    ck_assert_msg(r.status == 202, "%ld %s", r.status, r.body);
    resp_free(&r);
    wait_status(path, "READY", "Ready", 2, 60);
}
END_TEST

Suite *suite_topics(void)
{
    Suite *s = suite_create("topics");
    TCase *t = tcase_create("declared");
    tcase_set_timeout(t, 60);
    tcase_add_checked_fixture(t, up, down);
    tcase_add_test(t, a_topic_round_trips_and_reports_why_it_waits);
    tcase_add_test(t, bad_topics_answer_422_before_kafka);
    tcase_add_test(t, topic_quotas_answer_403);
    tcase_add_test(t, topic_create_is_idempotent);
    tcase_add_test(t, topics_and_groups_are_tenant_isolated);
    tcase_add_test(t, consumer_groups_say_when_kafka_cannot_be_read);
    tcase_add_test(t, a_deleted_cluster_takes_its_topics);
    suite_add_tcase(s, t);
    TCase *k = tcase_create("kafka-sim");
    tcase_set_timeout(k, 180);
    tcase_add_checked_fixture(k, up_sim, down_sim);
    tcase_add_test(k, topics_wait_for_kafka_that_does_not_answer_and_recover);
    suite_add_tcase(s, k);
    return s;
}
