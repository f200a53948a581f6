/* May a broker restart now (workers/kafka/availability.h): DESIGN.md §5's
 * rule on hand-made partitions, then on a 1,000-topic cluster with one
 * broker down, as in issue 13's "a broker whose restart would break min ISR
 * waits (stop another broker)". */
#include <check.h>
#include <stdio.h>
#include <string.h>
#include "../../workers/kafka/availability.h"

#define P(t, n, R, I, min) { .topic = t, .partition = n, .replicas = R, \
    .nreplicas = (int)(sizeof R / sizeof *R), .isr = I, .nisr = (int)(sizeof I / sizeof *I), .min_isr = min }

static const int32_t r123[] = { 1, 2, 3 }, r12[] = { 1, 2 }, r1[] = { 1 };
static const int32_t i123[] = { 1, 2, 3 }, i12[] = { 1, 2 }, i1[] = { 1 }, i2[] = { 2 };

static avail_verdict check_one(int32_t broker, avail_partition p)
{
    avail_verdict v;
    ck_assert_int_eq(avail_check_restart(broker, &p, 1, &v), AVAIL_OK);
    return v;
}

START_TEST(full_isr_lets_any_broker_go)
{
    avail_partition p = P("orders", 0, r123, i123, 2);
    for (int32_t b = 1; b <= 3; b++) {
        avail_verdict v = check_one(b, p);
        ck_assert(v.may_restart);
        ck_assert_int_eq(v.hosted, 1);
        ck_assert_int_eq(v.blocking, 0);
    }
    avail_verdict v = check_one(9, p);   /* holds nothing */
    ck_assert(v.may_restart);
    ck_assert_int_eq(v.hosted, 0);
}
END_TEST

START_TEST(isr_at_min_blocks_its_members_only)
{
    avail_partition p = P("orders", 4, r123, i12, 2);   /* broker 3 out of sync */
    avail_verdict v = check_one(1, p);
    ck_assert(!v.may_restart);
    ck_assert_int_eq(v.blocking, 1);
    ck_assert_int_eq(v.nlisted, 1);
    ck_assert_int_eq(v.listed[0].reason, AVAIL_AT_MIN_ISR);
    ck_assert_uint_eq(v.listed[0].index, 0);
    ck_assert_str_eq(v.detail, "broker 1 may not restart yet: 1 partition would go below min.insync.replicas:"
                               " orders/4 (ISR 2 = min 2, broker 1 in ISR)");
    ck_assert(!check_one(2, p).may_restart);
    ck_assert(check_one(3, p).may_restart);   /* the lagging replica may go */
}
END_TEST

START_TEST(isr_under_min_blocks_every_replica)
{
    avail_partition p = P("pay", 1, r123, i2, 2);
    for (int32_t b = 1; b <= 3; b++) {
        avail_verdict v = check_one(b, p);
        ck_assert(!v.may_restart);
        ck_assert_int_eq(v.listed[0].reason, AVAIL_UNDER_MIN_ISR);
        ck_assert_str_eq(avail_reason_name(v.listed[0].reason), "UnderMinIsr");
        ck_assert_ptr_nonnull(strstr(v.detail, "pay/1 (ISR 1 < min 2 already"));
    }
    ck_assert(check_one(4, p).may_restart);
    /* no ISR at all (offline partition): its replicas wait too */
    avail_partition off = { .topic = "pay", .partition = 2, .replicas = r123, .nreplicas = 3, .isr = NULL,
                            .nisr = 0, .min_isr = 1 };
    ck_assert(!check_one(2, off).may_restart);
}
END_TEST

START_TEST(min_isr_one_sole_leader_blocks)
{
    /* min ISR 1, the ISR is only broker 1: restarting it takes the partition offline */
    avail_partition p = P("logs", 0, r123, i1, 1);
    ck_assert(!check_one(1, p).may_restart);
    ck_assert(check_one(2, p).may_restart);
}
END_TEST

START_TEST(rf_at_or_below_min_isr_never_blocks)
{
    avail_partition rf2 = P("tiny", 0, r12, i12, 2), rf1 = P("solo", 0, r1, i1, 1), rf2min3 = P("odd", 0, r12, i1, 3);
    avail_partition all[] = { rf2, rf1, rf2min3 };
    avail_verdict v;
    ck_assert_int_eq(avail_check_restart(1, all, 3, &v), AVAIL_OK);
    ck_assert(v.may_restart);
    ck_assert_int_eq(v.hosted, 3);
    ck_assert_int_eq(v.not_guarded, 3);
    ck_assert_ptr_nonnull(strstr(v.detail, "3 with replication factor <= min.insync.replicas cannot, and do not block"));
}
END_TEST

START_TEST(rejects_bad_metadata)
{
    avail_verdict v;
    avail_partition noreps = { .topic = "t", .replicas = r1, .nreplicas = 0, .isr = i1, .nisr = 0, .min_isr = 1 };
    avail_partition bigisr = { .topic = "t", .replicas = r1, .nreplicas = 1, .isr = i12, .nisr = 2, .min_isr = 1 };
    avail_partition min0 = { .topic = "t", .replicas = r1, .nreplicas = 1, .isr = i1, .nisr = 1, .min_isr = 0 };
    avail_partition ok = P("t", 0, r123, i123, 2);
    ck_assert_int_eq(avail_check_restart(1, &noreps, 1, &v), AVAIL_ERR_INVALID);
    ck_assert_int_eq(avail_check_restart(1, &bigisr, 1, &v), AVAIL_ERR_INVALID);
    ck_assert_int_eq(avail_check_restart(1, &min0, 1, &v), AVAIL_ERR_INVALID);
    ck_assert_int_eq(avail_check_restart(-1, &ok, 1, &v), AVAIL_ERR_INVALID);
    ck_assert_int_eq(avail_check_restart(1, NULL, 1, &v), AVAIL_ERR_INVALID);
    ck_assert_int_eq(avail_check_restart(1, NULL, 0, &v), AVAIL_OK);   /* no partitions: may go */
    ck_assert(v.may_restart);
    ck_assert(!avail_err_transient(AVAIL_ERR_INVALID));
    ck_assert_str_eq(avail_strerror(AVAIL_OK), "ok");
    ck_assert_ptr_nonnull(strstr(avail_strerror(AVAIL_ERR_INVALID), "min.insync.replicas"));
}
END_TEST

/* 1,000 topics x 12 partitions, RF 3 over 6 brokers, min ISR 2; broker 4
 * is stopped, so every partition it holds has ISR 2. */
START_TEST(one_broker_down_blocks_its_peers)
{
    enum { N = 12000 };
    static int32_t reps[N][3], isrs[N][3];
    static avail_partition parts[N];
    static char names[1000][16];
    for (int t = 0; t < 1000; t++) snprintf(names[t], sizeof names[t], "t%d", t);
    int with4 = 0, with0and4 = 0;
    for (int i = 0; i < N; i++) {
        int n = 0;
        for (int k = 0; k < 3; k++) {
            reps[i][k] = (i + k * (1 + i % 2)) % 6;
            if (reps[i][k] != 4) isrs[i][n++] = reps[i][k];
        }
        bool has0 = reps[i][0] == 0 || reps[i][1] == 0 || reps[i][2] == 0;
        with4 += n == 2; with0and4 += n == 2 && has0;
        parts[i] = (avail_partition){ .topic = names[i / 12], .partition = i % 12, .replicas = reps[i],
                                      .nreplicas = 3, .isr = isrs[i], .nisr = n, .min_isr = 2 };
    }
    ck_assert_int_gt(with0and4, AVAIL_MAX_LISTED);
    avail_verdict v;
    ck_assert_int_eq(avail_check_restart(4, parts, N, &v), AVAIL_OK);   /* the stopped one may restart */
    ck_assert(v.may_restart);
    ck_assert_int_eq(v.hosted, with4);
    ck_assert_int_eq(avail_check_restart(0, parts, N, &v), AVAIL_OK);   /* a peer waits */
    ck_assert(!v.may_restart);
    ck_assert_int_eq(v.blocking, with0and4);
    ck_assert_int_eq(v.nlisted, AVAIL_MAX_LISTED);
    for (int i = 0; i < v.nlisted; i++) {
        const avail_partition *p = &parts[v.listed[i].index];
        ck_assert_int_eq(p->nisr, 2);
        ck_assert(p->replicas[0] == 4 || p->replicas[1] == 4 || p->replicas[2] == 4);
    }
    ck_assert_msg(strstr(v.detail, " more") && strstr(v.detail, "(ISR 2 = min 2, broker 0 in ISR)"), "%s", v.detail);
    ck_assert_int_lt(strlen(v.detail), sizeof v.detail);
    /* broker 4 back in sync: broker 0 may go */
    for (int i = 0; i < N; i++) { parts[i].isr = reps[i]; parts[i].nisr = 3; }
    ck_assert_int_eq(avail_check_restart(0, parts, N, &v), AVAIL_OK);
    ck_assert(v.may_restart);
}
END_TEST

Suite *suite_availability(void)
{
    Suite *s = suite_create("availability");
    TCase *tc = tcase_create("restart");
    tcase_add_test(tc, full_isr_lets_any_broker_go);
    tcase_add_test(tc, isr_at_min_blocks_its_members_only);
    tcase_add_test(tc, isr_under_min_blocks_every_replica);
    tcase_add_test(tc, min_isr_one_sole_leader_blocks);
    tcase_add_test(tc, rf_at_or_below_min_isr_never_blocks);
    tcase_add_test(tc, rejects_bad_metadata);
    tcase_add_test(tc, one_broker_down_blocks_its_peers);
    suite_add_tcase(s, tc);
    return s;
}
