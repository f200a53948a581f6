/* The plans of scale-out, scale-in, storage growth and rebalance
 * (workers/scale.c's scale_plan_for through plans.c's plan_for): which
 * steps, in which order. Pure: no cluster. The order is the safety
 * argument of a scale-in: every replica leaves the brokers that go (and
 * metadata shows them empty) before the StatefulSet is lowered. */
#include <check.h>
#include <string.h>
#include "../../workers/plans.h"

static int index_of(const json_t *p, pstep_kind want, int from)
{
    for (int i = from; i < plan_len(p); i++) {
        pstep_kind k;
        plan_step(p, i, &k, NULL, NULL);
        if (k == want) return i;
    }
    return -1;
}

static const plan_in IN = {.controllers = 3, .brokers = 6, .from_release = "3.9.1", .to_release = "3.9.1"};

START_TEST(scale_out_grows_then_spreads)
{
    json_t *ch = json_pack("{s:{s:i, s:i}}", "brokers", "from", 3, "to", 6);
    json_t *p = plan_for(OP_SCALE_OUT, ch, &IN);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(plan_len(p), 4);
    ck_assert_int_eq(index_of(p, PSTEP_APPLY, 0), 0);
    ck_assert_int_eq(index_of(p, PSTEP_GROW_CLAIMS, 0), 1);       /* new brokers' claims start at the template */
    ck_assert_int_eq(index_of(p, PSTEP_REASSIGN, 0), 2);
    ck_assert_int_eq(index_of(p, PSTEP_CONVERGE, 0), 3);
    const json_t *args;
    plan_step(p, 2, NULL, NULL, &args);
    ck_assert_int_eq(json_integer_value(json_object_get(args, "brokers")), 6);
    ck_assert(!json_is_true(json_object_get(args, "drain")));
    ck_assert_ptr_nonnull(strstr(plan_path(p), "scale out 3 -> 6"));
    json_decref(p);
    json_decref(ch);
}
END_TEST

START_TEST(scale_in_drains_before_the_statefulset_goes_down)
{
    json_t *ch = json_pack("{s:{s:i, s:i}}", "brokers", "from", 6, "to", 3);
    json_t *p = plan_for(OP_SCALE_IN, ch, &IN);
    ck_assert_ptr_nonnull(p);
    int drain = index_of(p, PSTEP_REASSIGN, 0), apply = index_of(p, PSTEP_APPLY, 0),
        release = index_of(p, PSTEP_RELEASE_BROKERS, 0);
    ck_assert_int_eq(drain, 0);
    ck_assert_int_gt(apply, drain);
    ck_assert_int_gt(release, apply);
    ck_assert_int_eq(index_of(p, PSTEP_CONVERGE, 0), plan_len(p) - 1);
    const json_t *args;
    const char *name;
    plan_step(p, drain, NULL, &name, &args);
    ck_assert(json_is_true(json_object_get(args, "drain")));
    ck_assert_int_eq(json_integer_value(json_object_get(args, "brokers")), 3);
    ck_assert_str_eq(name, "move partitions off brokers 3-5");
    plan_step(p, release, NULL, NULL, &args);
    ck_assert_int_eq(json_integer_value(json_object_get(args, "from")), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(args, "to")), 6);
    json_decref(p);
    json_decref(ch);
    /* within an UPDATE that also rolls (a read-only config): the drain still comes first */
    ch = json_pack("{s:{s:i, s:i}, s:{s:{}, s:{s:s}}}", "brokers", "from", 6, "to", 3, "config", "from", "to",
                   "log.retention.hours", "24");
    p = plan_for(OP_UPDATE, ch, &IN);
    ck_assert_int_eq(index_of(p, PSTEP_REASSIGN, 0), 0);
    ck_assert_int_gt(index_of(p, PSTEP_RESTART_POD, 0), index_of(p, PSTEP_APPLY, 0));
    ck_assert_int_eq(index_of(p, PSTEP_CONVERGE, 0), plan_len(p) - 1);
    ck_assert_int_lt(index_of(p, PSTEP_CONVERGE, index_of(p, PSTEP_CONVERGE, 0) + 1), 0);   /* one end */
    json_decref(p);
    json_decref(ch);
}
END_TEST

START_TEST(storage_and_rebalance)
{
    json_t *ch = json_pack("{s:{s:i, s:i}}", "storage_gib", "from", 10, "to", 20);
    json_t *p = plan_for(OP_STORAGE_RESIZE, ch, &IN);
    ck_assert_int_eq(plan_len(p), 3);
    ck_assert_int_eq(index_of(p, PSTEP_GROW_CLAIMS, 0), 1);
    ck_assert_int_lt(index_of(p, PSTEP_REASSIGN, 0), 0);
    json_decref(p);
    json_decref(ch);
    ch = json_pack("{s:{s:n, s:{s:i}}}", "rebalance", "from", "to", "max_moves_per_batch", 7);
    p = plan_for(OP_REBALANCE, ch, &IN);
    ck_assert_int_eq(plan_len(p), 2);
    const json_t *args;
    plan_step(p, 0, NULL, NULL, &args);
    ck_assert_int_eq(index_of(p, PSTEP_REASSIGN, 0), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(args, "max_moves_per_batch")), 7);
    json_decref(p);
    json_decref(ch);
    /* nothing about brokers or storage: no plan from here */
    ch = json_pack("{s:{s:b, s:b}}", "delete_volumes_on_scale_in", "from", 0, "to", 1);
    ck_assert_ptr_null(plan_for(OP_UPDATE, ch, &IN));
    json_decref(ch);
}
END_TEST

Suite *suite_scale_plan(void)
{
    Suite *s = suite_create("scale plan");
    TCase *t = tcase_create("plan_for");
    tcase_add_test(t, scale_out_grows_then_spreads);
    tcase_add_test(t, scale_in_drains_before_the_statefulset_goes_down);
    tcase_add_test(t, storage_and_rebalance);
    suite_add_tcase(s, t);
    return s;
}
