/* Operations that are plans (core/plan, core/ops, workers/plans.c's
 * plan_for): which steps each operation type gets, the plan as data, and
 * the operation moving along its plan on a real SQLite file with a fake
 * clock — what a client sees of the steps, and what survives a crash (the
 * store closed and opened again between any two transactions). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../../store/store.h"
#include "../../core/ops.h"
#include "../../core/plan.h"
#include "../../workers/plans.h"
#include "fake_clock.h"

/* ---- plan_for: the steps of each operation type ---- */

static const char *name_at(const json_t *plan, int i)
{
    const char *n;
    plan_step(plan, i, NULL, &n, NULL);
    return n;
}

static pstep_kind kind_at(const json_t *plan, int i)
{
    pstep_kind k;
    plan_step(plan, i, &k, NULL, NULL);
    return k;
}

static void assert_unique(const json_t *plan)
{
    for (int i = 0; i < plan_len(plan); i++)
        for (int j = 0; j < i; j++) ck_assert_str_ne(name_at(plan, i), name_at(plan, j));
}

START_TEST(a_restart_rolls_every_pod_once)
{
    plan_in in = {.controllers = 3, .brokers = 4, .from_release = "3.9.1", .to_release = "3.9.1"};
    json_t *ch = json_object();
    json_t *p = plan_for(OP_ROLLING_RESTART, ch, &in);
    ck_assert_ptr_nonnull(p);
    /* apply, find the leader, 3 controllers, 4 brokers, converge */
    ck_assert_int_eq(plan_len(p), 1 + 1 + 3 + 4 + 1);
    ck_assert_int_eq(kind_at(p, 0), PSTEP_APPLY);
    ck_assert_int_eq(kind_at(p, 1), PSTEP_FIND_LEADER);
    ck_assert_str_eq(name_at(p, 2), "restart kafka-controller-0");
    ck_assert_str_eq(name_at(p, 5), "restart kafka-broker-0");
    ck_assert_str_eq(name_at(p, 8), "restart kafka-broker-3");
    ck_assert_int_eq(kind_at(p, 9), PSTEP_CONVERGE);
    ck_assert_ptr_nonnull(strstr(plan_path(p), "rolling restart on request"));
    const json_t *args;
    plan_step(p, 3, NULL, NULL, &args);
    ck_assert_int_eq(json_integer_value(json_object_get(args, "node")), 1001);
    ck_assert(json_is_false(json_object_get(args, "upgrade")));
    assert_unique(p);
    json_decref(p);
    /* a single controller: nothing to find */
    in.controllers = 1;
    p = plan_for(OP_ROLLING_RESTART, ch, &in);
    ck_assert_int_eq(kind_at(p, 1), PSTEP_RESTART_POD);
    json_decref(p);
    json_decref(ch);
}
END_TEST

START_TEST(an_upgrade_raises_the_metadata_version_last)
{
    plan_in in = {.controllers = 3, .brokers = 3, .from_release = "3.9.1", .to_release = "4.1.0"};
    json_t *ch = json_pack("{s:{s:s, s:s}}", "kafka_version", "from", "3.9.1", "to", "4.1.0");
    json_t *p = plan_for(OP_ROLLING_RESTART, ch, &in);
    int n = plan_len(p);
    ck_assert_int_eq(kind_at(p, n - 2), PSTEP_METADATA_VERSION);
    ck_assert_str_eq(name_at(p, n - 2), "raise the metadata version to 4.1");
    const json_t *args;
    plan_step(p, n - 2, NULL, NULL, &args);
    ck_assert_str_eq(json_string_value(json_object_get(args, "version")), "4.1");
    plan_step(p, 2, NULL, NULL, &args);
    ck_assert(json_is_true(json_object_get(args, "upgrade")));    /* pods already on the image are skipped */
    ck_assert_ptr_nonnull(strstr(plan_path(p), "upgrade 3.9.1 -> 4.1.0"));
    json_decref(p);
    /* a patch release keeps the metadata version */
    in.to_release = "3.9.1";
    in.from_release = "3.9.0";
    p = plan_for(OP_ROLLING_RESTART, ch, &in);
    for (int i = 0; i < plan_len(p); i++) ck_assert_int_ne(kind_at(p, i), PSTEP_METADATA_VERSION);
    json_decref(p);
    json_decref(ch);
}
END_TEST

START_TEST(configs_go_live_or_roll)
{
    plan_in in = {.controllers = 3, .brokers = 3, .from_release = "3.9.1", .to_release = "3.9.1"};
    json_t *ch = json_pack("{s:{s:{s:s, s:s}, s:{s:s, s:s}}}", "config", "from", "log.retention.ms", "1",
                           "log.cleanup.policy", "delete", "to", "log.retention.ms", "2", "compression.type", "zstd");
    json_t *p = plan_for(OP_UPDATE, ch, &in);
    ck_assert_int_eq(plan_len(p), 3);                    /* apply, alter, converge: no restart */
    ck_assert_int_eq(kind_at(p, 1), PSTEP_ALTER_CONFIGS);
    const json_t *args;
    plan_step(p, 1, NULL, NULL, &args);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(args, "set"), "log.retention.ms")), "2");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(args, "set"), "compression.type")), "zstd");
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(args, "unset"), 0)), "log.cleanup.policy");
    ck_assert_ptr_nonnull(strstr(plan_path(p), "no pod restarts"));
    json_decref(p);
    json_decref(ch);
    /* a read-only one rolls, and the path names it */
    ch = json_pack("{s:{s:{}, s:{s:s}}}", "config", "from", "to", "log.retention.hours", "24");
    p = plan_for(OP_UPDATE, ch, &in);
    ck_assert_int_eq(plan_len(p), 1 + 1 + 6 + 1);
    ck_assert_ptr_nonnull(strstr(plan_path(p), "log.retention.hours cannot change on a running broker"));
    json_decref(p);
    json_decref(ch);
    ck_assert(plan_config_dynamic("min.insync.replicas"));
    ck_assert(!plan_config_dynamic("log.retention.hours"));
    ck_assert(!plan_config_dynamic("num.partitions"));
    /* types and changes without a plan keep the plain apply-and-wait */
    ch = json_pack("{s:{s:i, s:i}}", "brokers", "from", 3, "to", 6);
    ck_assert_ptr_null(plan_for(OP_SCALE_OUT, ch, &in));
    ck_assert_ptr_null(plan_for(OP_UPDATE, ch, &in));
    ck_assert_ptr_null(plan_for(OP_CREATE, ch, &in));
    json_decref(ch);
}
END_TEST

START_TEST(plan_as_data)
{
    json_t *p = plan_new("why");
    ck_assert_int_eq(plan_add(p, PSTEP_APPLY, "a", NULL), 0);
    ck_assert_int_eq(plan_add(p, PSTEP_RESTART_POD, "b", json_pack("{s:i}", "node", 1)), 0);
    ck_assert_int_eq(plan_add(p, PSTEP_RESTART_POD, "c", json_pack("{s:i}", "node", 2)), 0);
    ck_assert_int_eq(plan_add(p, PSTEP_RESTART_POD, "b", NULL), -1);        /* no name twice */
    ck_assert_int_eq(plan_add(p, PSTEP_CONVERGE, "d", NULL), 0);
    ck_assert_int_eq(plan_move(p, 0, 3), -1);                               /* the running step stays */
    ck_assert_int_eq(plan_move(p, 1, 2), 0);
    ck_assert_str_eq(name_at(p, 1), "c");
    ck_assert_str_eq(name_at(p, 2), "b");
    ck_assert_int_eq(plan_insert_next(p, PSTEP_RESTART_POD, "a2", NULL), 0);
    ck_assert_str_eq(name_at(p, 1), "a2");
    ck_assert(!plan_rolled_any(p));
    json_object_set_new(plan_scratch(p), "x", json_true());
    plan_advance(p);
    ck_assert_int_eq(plan_cursor(p), 1);
    ck_assert_int_eq(json_object_size(plan_scratch(p)), 0);                  /* scratch is per step */
    json_object_set_new(plan_scratch(p), "deleted_uid", json_string("u"));
    ck_assert(plan_rolled_any(p));
    /* the wait while blocked: 1 s doubling, capped at 30 s */
    ck_assert_int_eq(plan_backoff_ms(0), 1000);
    ck_assert_int_eq(plan_backoff_ms(1), 2000);
    ck_assert_int_eq(plan_backoff_ms(4), 16000);
    ck_assert_int_eq(plan_backoff_ms(5), 30000);
    ck_assert_int_eq(plan_backoff_ms(100), 30000);
    ck_assert_int_eq(plan_kind_parse("RESTART_POD"), PSTEP_RESTART_POD);
    ck_assert_int_eq(plan_kind_parse("NOPE"), PSTEP__COUNT);
    json_decref(p);
}
END_TEST

/* ---- the operation along its plan, on a real store ---- */

static char dir[64], path[128];

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/sp-plan-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/t.db", dir);
}

static void teardown(void)
{
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static store_t *open_store(void)
{
    char err[256];
    store_t *st = store_open(path, true, err, sizeof err);
    ck_assert_msg(st != NULL, "open: %s", err);
    return st;
}

/* A tenant, a RUNNING cluster and one RUNNING ROLLING_RESTART operation. */
static void seed(store_t *st, char op_id[SP_ID_MAX])
{
    store_res t = {0};
    snprintf(t.id, sizeof t.id, "tn-aaaaaaaaaaaaaaaa");
    snprintf(t.tenant_id, sizeof t.tenant_id, "%s", t.id);
    snprintf(t.name, sizeof t.name, "acme");
    t.spec = json_object();
    t.status = json_object();
    t.generation = 1;
    snprintf(t.created_at, sizeof t.created_at, "2026-01-01T00:00:00.000Z");
    ck_assert_int_eq(store_res_insert(st, K_TENANT, &t), ST_OK);
    store_res k = {0};
    snprintf(k.id, sizeof k.id, "kc-aaaaaaaaaaaaaaaa");
    snprintf(k.tenant_id, sizeof k.tenant_id, "%s", t.id);
    snprintf(k.name, sizeof k.name, "orders");
    snprintf(k.phase, sizeof k.phase, "UPDATING");
    snprintf(k.created_at, sizeof k.created_at, "2026-01-01T00:00:00.000Z");
    k.spec = json_pack("{s:s}", "kafka_version", "3.9.1");
    k.status = json_pack("{s:s, s:s}", "kafka_version", "3.9.1", "target_kafka_version", "4.1.0");
    k.brokers = 3;
    k.storage_gib = 10;
    k.generation = 2;
    ck_assert_int_eq(store_res_insert(st, K_CLUSTER, &k), ST_OK);
    json_t *ch = json_pack("{s:{s:s, s:s}}", "kafka_version", "from", "3.9.1", "to", "4.1.0");
    ck_assert_int_eq(store_begin(st), ST_OK);
    ck_assert_int_eq(ops_create(st, &k, OP_ROLLING_RESTART, ch, k.spec, op_id), ST_OK);
    ck_assert_int_eq(store_commit(st), ST_OK);
    json_decref(ch);
    store_res_clear(&t);
    store_res_clear(&k);
}

static json_t *steps_of(store_t *st, const char *op_id, store_op *o)
{
    ck_assert_int_eq(store_op_get(st, op_id, NULL, o), ST_OK);
    return o->steps;
}

static const char *sfield(json_t *steps, size_t i, const char *k)
{
    return json_string_value(json_object_get(json_array_get(steps, i), k));
}

START_TEST(an_operation_moves_along_its_plan_and_resumes_after_a_crash)
{
    fake_clock fc;
    fake_clock_init(&fc, 1800000000000LL);          /* 2027-01-15T08:00:00Z */
    store_t *st = open_store();
    char op_id[SP_ID_MAX];
    seed(st, op_id);
    plan_in in = {.controllers = 1, .brokers = 3, .from_release = "3.9.1", .to_release = "4.1.0"};
    store_op o;
    ck_assert_int_eq(store_op_get(st, op_id, NULL, &o), ST_OK);
    json_t *plan = plan_for(OP_ROLLING_RESTART, o.changes, &in);
    ck_assert_int_eq(store_begin(st), ST_OK);
    ck_assert_int_eq(ops_plan_set(st, &o, plan), ST_OK);
    bool wrote;
    ck_assert_int_eq(ops_plan_note(st, &o, "applying", false, &fc.clock, &wrote), ST_OK);
    ck_assert(wrote);
    ck_assert_int_eq(store_commit(st), ST_OK);
    /* the same note again writes nothing */
    ck_assert_int_eq(store_begin(st), ST_OK);
    ck_assert_int_eq(ops_plan_note(st, &o, "applying", false, &fc.clock, &wrote), ST_OK);
    ck_assert(!wrote);
    store_rollback(st);
    fake_clock_advance(&fc, 1500);
    ck_assert_int_eq(store_begin(st), ST_OK);
    ck_assert_int_eq(ops_plan_end_step(st, &o, STEP_SUCCEEDED, "applied", &fc.clock), ST_OK);
    ck_assert_int_eq(store_commit(st), ST_OK);
    /* the first restart starts, saves the pod it deletes, and the process dies */
    fake_clock_advance(&fc, 500);
    json_object_set_new(plan_scratch(o.plan), "deleted_uid", json_string("uid-1"));
    ck_assert_int_eq(store_begin(st), ST_OK);
    ck_assert_int_eq(ops_plan_note(st, &o, "deleting pod kafka-controller-0 (uid uid-1)", true, &fc.clock, &wrote),
                     ST_OK);
    ck_assert_int_eq(store_commit(st), ST_OK);
    /* ...and a change not committed is lost, as a crash loses it */
    json_object_set_new(plan_scratch(o.plan), "deleted_uid", json_string("uid-2"));
    ck_assert_int_eq(store_begin(st), ST_OK);
    ck_assert_int_eq(ops_plan_note(st, &o, "deleting something else", true, &fc.clock, &wrote), ST_OK);
    store_rollback(st);
    store_op_clear(&o);
    store_close(st);

    st = open_store();
    json_t *steps = steps_of(st, op_id, &o);
    ck_assert_int_eq(plan_cursor(o.plan), 1);                                 /* where it stopped */
    ck_assert_str_eq(json_string_value(json_object_get(plan_scratch(o.plan), "deleted_uid")), "uid-1");
    const char *name;
    plan_current(o.plan, NULL, &name, NULL);
    ck_assert_str_eq(name, "restart kafka-controller-0");
    ck_assert_int_eq(json_array_size(steps), 2);
    ck_assert_str_eq(sfield(steps, 0, "state"), "SUCCEEDED");
    ck_assert_str_eq(sfield(steps, 0, "started_at"), "2027-01-15T08:00:00.000Z");
    ck_assert_str_eq(sfield(steps, 0, "finished_at"), "2027-01-15T08:00:01.500Z");
    ck_assert_str_eq(sfield(steps, 1, "state"), "RUNNING");
    ck_assert_str_eq(sfield(steps, 1, "started_at"), "2027-01-15T08:00:02.000Z");
    ck_assert(json_is_null(json_object_get(json_array_get(steps, 1), "finished_at")));
    ck_assert_str_eq(o.state, "RUNNING");
    ck_assert_int_gt(o.progress_percent, 5);

    /* the reconciler's own waits go into the running step, not new ones */
    ck_assert_int_eq(store_begin(st), ST_OK);
    ck_assert_int_eq(ops_step(st, o.cluster_id, "wait for pods", "waiting for pods: 5 of 6 ready", 50, &wrote), ST_OK);
    ck_assert_int_eq(store_commit(st), ST_OK);
    store_op_clear(&o);
    steps = steps_of(st, op_id, &o);
    ck_assert_int_eq(json_array_size(steps), 2);
    ck_assert_str_eq(sfield(steps, 1, "message"), "waiting for pods: 5 of 6 ready");

    /* a pod that cannot start: FAILED, the step FAILED and ended, the cluster says so */
    fake_clock_advance(&fc, 4000);
    ck_assert_int_eq(store_begin(st), ST_OK);
    ck_assert_int_eq(ops_fail(st, &o, "ImagePullBackOff", "pod kafka-controller-0: ImagePullBackOff", &fc.clock), ST_OK);
    ck_assert_int_eq(store_commit(st), ST_OK);
    store_op_clear(&o);
    steps = steps_of(st, op_id, &o);
    ck_assert_str_eq(o.state, "FAILED");
    ck_assert_str_eq(json_string_value(json_object_get(o.error, "code")), "ImagePullBackOff");
    ck_assert_str_eq(sfield(steps, 1, "state"), "FAILED");
    ck_assert_str_eq(sfield(steps, 1, "finished_at"), "2027-01-15T08:00:06.000Z");
    store_op_clear(&o);
    store_res r;
    ck_assert_int_eq(store_res_get(st, K_CLUSTER, "kc-aaaaaaaaaaaaaaaa", NULL, &r), ST_OK);
    ck_assert(json_is_null(json_object_get(r.status, "current_operation_id")));
    ck_assert_str_eq(r.phase, "RUNNING");
    json_t *cnd = json_array_get(json_object_get(r.status, "conditions"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(cnd, "type")), "OperationFailed");
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(cnd, "message")), "kafka-controller-0"));
    store_res_clear(&r);
    store_close(st);
}
END_TEST

/* A cancelled upgrade that rolled a pod keeps its release as the target;
 * one that rolled none goes back; the running step ends SKIPPED. */
START_TEST(cancel_keeps_a_rolled_release)
{
    store_t *st = open_store();
    char op_id[SP_ID_MAX];
    seed(st, op_id);
    plan_in in = {.controllers = 1, .brokers = 3, .from_release = "3.9.1", .to_release = "4.1.0"};
    store_op o;
    ck_assert_int_eq(store_op_get(st, op_id, NULL, &o), ST_OK);
    ck_assert_int_eq(store_begin(st), ST_OK);
    ck_assert_int_eq(ops_plan_set(st, &o, plan_for(OP_ROLLING_RESTART, o.changes, &in)), ST_OK);
    ck_assert_int_eq(ops_plan_end_step(st, &o, STEP_SUCCEEDED, "applied", NULL), ST_OK);
    json_object_set_new(plan_scratch(o.plan), "deleted_uid", json_string("uid-1"));
    bool wrote;
    ck_assert_int_eq(ops_plan_note(st, &o, "deleting", true, NULL, &wrote), ST_OK);
    ck_assert_int_eq(ops_cancel(st, &o), ST_OK);
    ck_assert_int_eq(store_commit(st), ST_OK);
    ck_assert_str_eq(o.state, "CANCELLED");
    json_t *last = json_array_get(o.steps, json_array_size(o.steps) - 1);
    ck_assert_str_eq(json_string_value(json_object_get(last, "state")), "SKIPPED");
    ck_assert(json_is_string(json_object_get(last, "finished_at")));
    store_op_clear(&o);
    store_res r;
    ck_assert_int_eq(store_res_get(st, K_CLUSTER, "kc-aaaaaaaaaaaaaaaa", NULL, &r), ST_OK);
    ck_assert_str_eq(json_string_value(json_object_get(r.status, "target_kafka_version")), "4.1.0");
    ck_assert_int_eq(r.generation, 3);
    store_res_clear(&r);
    store_close(st);
}
END_TEST

/* Operations without a plan: a new step ends the last, a name is never
 * repeated, and the last step ends with the operation. */
START_TEST(plain_steps_end_and_never_repeat)
{
    store_t *st = open_store();
    char op_id[SP_ID_MAX];
    seed(st, op_id);
    const char *cid = "kc-aaaaaaaaaaaaaaaa";
    bool wrote;
    const char *seq[][2] = {{"wait for pods", "0 of 6"}, {"wait for Kafka", "2 of 3"}, {"wait for pods", "5 of 6"},
                            {"wait for Kafka", "3 of 3"}};
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(store_begin(st), ST_OK);
        ck_assert_int_eq(ops_step(st, cid, seq[i][0], seq[i][1], 10 * i, &wrote), ST_OK);
        ck_assert_int_eq(store_commit(st), ST_OK);
    }
    ck_assert_int_eq(store_begin(st), ST_OK);
    ck_assert_int_eq(ops_finish(st, cid, 0, "wait for Kafka", "done", "2026-01-01T00:00:00.000Z"), ST_OK);
    ck_assert_int_eq(store_commit(st), ST_OK);
    store_op o;
    json_t *steps = steps_of(st, op_id, &o);
    ck_assert_int_eq(json_array_size(steps), 2);
    ck_assert_str_eq(sfield(steps, 0, "name"), "wait for pods");
    ck_assert_str_eq(sfield(steps, 0, "state"), "SUCCEEDED");
    ck_assert(json_is_string(json_object_get(json_array_get(steps, 0), "finished_at")));
    ck_assert_str_eq(sfield(steps, 1, "name"), "wait for Kafka");
    ck_assert_str_eq(sfield(steps, 1, "state"), "SUCCEEDED");
    ck_assert_str_eq(sfield(steps, 1, "message"), "done");
    ck_assert_str_eq(o.state, "SUCCEEDED");
    store_op_clear(&o);
    store_close(st);
}
END_TEST

Suite *suite_plan(void)
{
    Suite *s = suite_create("plan");
    TCase *t = tcase_create("plan_for");
    tcase_add_test(t, a_restart_rolls_every_pod_once);
    tcase_add_test(t, an_upgrade_raises_the_metadata_version_last);
    tcase_add_test(t, configs_go_live_or_roll);
    tcase_add_test(t, plan_as_data);
    suite_add_tcase(s, t);
    t = tcase_create("ops");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, an_operation_moves_along_its_plan_and_resumes_after_a_crash);
    tcase_add_test(t, cancel_keeps_a_rolled_release);
    tcase_add_test(t, plain_steps_end_and_never_repeat);
    suite_add_tcase(s, t);
    return s;
}
