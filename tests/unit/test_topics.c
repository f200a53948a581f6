/* Declared topics (issue 14): the store's rows on a real SQLite file (a
 * name freed by a deletion, the '.'/'_' collision, usage, the cluster's
 * highest replication factor, rows going with their cluster), the
 * read-merge-write of a topic's config that AlterConfigs needs, and the
 * phase names. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../store/store.h"
#include "../../store/topics.h"
#include "../../core/topic.h"
#include "../../workers/kafka/admin.h"

static char dir[64], path[128];
static store_t *st;

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/sp-topics-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/t.db", dir);
    char err[256];
    st = store_open(path, false, err, sizeof err);
    ck_assert_msg(st != NULL, "open: %s", err);
    store_res t = {0};
    snprintf(t.id, sizeof t.id, "tn-aaaaaaaaaaaaaaaa");
    snprintf(t.tenant_id, sizeof t.tenant_id, "%s", t.id);
    snprintf(t.name, sizeof t.name, "acme");
    t.spec = json_object();
    t.status = json_object();
    snprintf(t.created_at, sizeof t.created_at, "2026-01-01T00:00:00.000Z");
    ck_assert_int_eq(store_res_insert(st, K_TENANT, &t), ST_OK);
    store_res_clear(&t);
    store_res k = {0};
    snprintf(k.id, sizeof k.id, "kc-aaaaaaaaaaaaaaaa");
    snprintf(k.tenant_id, sizeof k.tenant_id, "tn-aaaaaaaaaaaaaaaa");
    snprintf(k.name, sizeof k.name, "orders");
    snprintf(k.phase, sizeof k.phase, "RUNNING");
    snprintf(k.created_at, sizeof k.created_at, "2026-01-01T00:00:00.000Z");
    k.spec = json_object();
    k.status = json_object();
    k.brokers = 3;
    k.storage_gib = 10;
    ck_assert_int_eq(store_res_insert(st, K_CLUSTER, &k), ST_OK);
    store_res_clear(&k);
}

static void teardown(void)
{
    store_close(st);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static int add(const char *name, int partitions, int rf, topic_phase p, int64_t *seq)
{
    store_topic t = {0};
    snprintf(t.cluster_id, sizeof t.cluster_id, "kc-aaaaaaaaaaaaaaaa");
    snprintf(t.tenant_id, sizeof t.tenant_id, "tn-aaaaaaaaaaaaaaaa");
    snprintf(t.name, sizeof t.name, "%s", name);
    snprintf(t.phase, sizeof t.phase, "%s", topic_phase_name(p));
    snprintf(t.created_at, sizeof t.created_at, "2026-01-01T00:00:00.000Z");
    t.spec = json_pack("{s:s, s:i}", "name", name, "partitions", partitions);
    t.status = json_object();
    t.partitions = partitions;
    t.replication_factor = rf;
    t.generation = 1;
    int rc = store_topic_insert(st, &t);
    if (seq) *seq = t.seq;
    store_topic_clear(&t);
    return rc;
}

START_TEST(a_deleted_name_is_free_and_live_rows_win)
{
    int64_t first, second;
    ck_assert_int_eq(add("orders", 3, 3, TOPIC_READY, &first), ST_OK);
    ck_assert_int_eq(add("orders", 6, 3, TOPIC_PENDING, NULL), ST_CONFLICT);
    /* the first goes DELETING: the name is free */
    store_topic t;
    ck_assert_int_eq(store_topic_get_seq(st, first, &t), ST_OK);
    snprintf(t.phase, sizeof t.phase, "%s", topic_phase_name(TOPIC_DELETING));
    ck_assert_int_eq(store_topic_update(st, &t, 1), ST_OK);
    ck_assert_int_eq(t.resource_version, 2);
    ck_assert_int_eq(store_topic_update(st, &t, 1), ST_STALE);     /* version 1 is gone */
    store_topic_clear(&t);
    ck_assert_int_eq(add("orders", 6, 3, TOPIC_PENDING, &second), ST_OK);
    /* by name: the live row, not the one being deleted */
    ck_assert_int_eq(store_topic_get(st, "kc-aaaaaaaaaaaaaaaa", "orders", &t), ST_OK);
    ck_assert_int_eq(t.seq, second);
    ck_assert_int_eq(t.partitions, 6);
    store_topic_clear(&t);
    /* usage counts live rows only; the highest RF too */
    int64_t n, p, rf;
    ck_assert_int_eq(add("audit", 2, 2, TOPIC_READY, NULL), ST_OK);
    ck_assert_int_eq(store_topic_usage(st, "tn-aaaaaaaaaaaaaaaa", &n, &p), ST_OK);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(p, 8);
    ck_assert_int_eq(store_topic_max_rf(st, "kc-aaaaaaaaaaaaaaaa", &rf), ST_OK);
    ck_assert_int_eq(rf, 3);
    /* the list has all three rows, in order */
    store_topic *list;
    int cnt;
    ck_assert_int_eq(store_topic_list(st, "kc-aaaaaaaaaaaaaaaa", 0, 10, &list, &cnt), ST_OK);
    ck_assert_int_eq(cnt, 3);
    ck_assert_int_eq(list[0].seq, first);
    ck_assert_str_eq(list[0].phase, "DELETING");
    store_topic_free_list(list, cnt);
    ck_assert_int_eq(store_topic_delete(st, first), ST_OK);
    ck_assert_int_eq(store_topic_delete(st, first), ST_NOTFOUND);
}
END_TEST

START_TEST(dot_and_underscore_collide)
{
    char other[SP_TOPIC_NAME_MAX];
    ck_assert_int_eq(add("a.b_c", 1, 1, TOPIC_READY, NULL), ST_OK);
    ck_assert_int_eq(store_topic_collision(st, "kc-aaaaaaaaaaaaaaaa", "a_b.c", other), ST_OK);
    ck_assert_str_eq(other, "a.b_c");
    ck_assert_int_eq(store_topic_collision(st, "kc-aaaaaaaaaaaaaaaa", "a.b_c", other), ST_NOTFOUND);  /* itself */
    ck_assert_int_eq(store_topic_collision(st, "kc-aaaaaaaaaaaaaaaa", "a-b-c", other), ST_NOTFOUND);
    ck_assert_int_eq(store_topic_collision(st, "kc-bbbbbbbbbbbbbbbb", "a_b_c", other), ST_NOTFOUND);  /* another cluster */
}
END_TEST

START_TEST(a_cluster_row_takes_its_topics)
{
    ck_assert_int_eq(add("orders", 3, 3, TOPIC_READY, NULL), ST_OK);
    ck_assert_int_eq(add("audit", 1, 1, TOPIC_DELETING, NULL), ST_OK);
    ck_assert_int_eq(store_res_delete(st, K_CLUSTER, "kc-aaaaaaaaaaaaaaaa"), ST_OK);
    store_topic *list;
    int n;
    ck_assert_int_eq(store_topic_list(st, "kc-aaaaaaaaaaaaaaaa", 0, 10, &list, &n), ST_OK);
    ck_assert_int_eq(n, 0);
    store_topic_free_list(list, n);
    int64_t t, p;
    ck_assert_int_eq(store_topic_usage(st, "tn-aaaaaaaaaaaaaaaa", &t, &p), ST_OK);
    ck_assert_int_eq(t + p, 0);
}
END_TEST

/* AlterConfigs replaces a topic's whole set of dynamic configs: what is
 * written keeps keys set outside streamplane, drops the ones streamplane
 * set and the tenant removed, and sets the declared ones. */
START_TEST(config_read_merge_write)
{
    json_t *cur = json_pack("{s:s, s:s, s:s}", "retention.ms", "1000", "cleanup.policy", "compact",
                            "segment.ms", "600000");   /* segment.ms was set by someone else */
    json_t *before = json_pack("[s, s]", "retention.ms", "cleanup.policy");
    json_t *want = json_pack("{s:s, s:s}", "retention.ms", "2000", "max.message.bytes", "65536");
    json_t *set = kadm_topic_config_merge(cur, before, want);
    json_t *expect = json_pack("{s:s, s:s, s:s}", "retention.ms", "2000", "segment.ms", "600000",
                               "max.message.bytes", "65536");
    ck_assert_msg(json_equal(set, expect), "%s", json_dumps(set, JSON_COMPACT));
    json_decref(set);
    /* nothing managed before, nothing declared: the set is what Kafka has */
    set = kadm_topic_config_merge(cur, NULL, NULL);
    ck_assert(json_equal(set, cur));
    json_decref(set);
    /* nothing in Kafka yet */
    set = kadm_topic_config_merge(NULL, before, want);
    ck_assert(json_equal(set, want));
    json_decref(set);
    json_decref(expect);
    json_decref(cur);
    json_decref(before);
    json_decref(want);
}
END_TEST

START_TEST(phases_and_errors_have_names)
{
    for (int p = 0; p < TOPIC__COUNT; p++) ck_assert_int_eq(topic_phase_parse(topic_phase_name((topic_phase)p)), p);
    ck_assert_int_eq(topic_phase_parse("RUNNING"), TOPIC__COUNT);
    ck_assert_int_eq(topic_phase_parse(NULL), TOPIC__COUNT);
    ck_assert(kadm_transient(KADM_UNREACHABLE));
    ck_assert(kadm_transient(KADM_RETRY));
    ck_assert(!kadm_transient(KADM_REFUSED));
    ck_assert(!kadm_transient(KADM_EXISTS));
    for (int e = KADM_OK; e <= KADM_NOMEM; e++) ck_assert(strlen(kadm_strerror((kadm_err)e)) > 0);
}
END_TEST

Suite *suite_topics(void)
{
    Suite *s = suite_create("topics");
    TCase *t = tcase_create("store");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, a_deleted_name_is_free_and_live_rows_win);
    tcase_add_test(t, dot_and_underscore_collide);
    tcase_add_test(t, a_cluster_row_takes_its_topics);
    suite_add_tcase(s, t);
    TCase *k = tcase_create("kafka");
    tcase_add_test(k, config_read_merge_write);
    tcase_add_test(k, phases_and_errors_have_names);
    suite_add_tcase(s, k);
    return s;
}
