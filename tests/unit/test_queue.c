/* The keyed work queue: merging, exclusivity, re-queue after done. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include "../../workers/queue.h"
#include "../../workers/pool.h"
#include "../../workers/breaker.h"
#include "../../common/util.h"
#include "fake_clock.h"
#include <unistd.h>

START_TEST(merges_duplicate_wakeups)
{
    work_queue *q = queue_new();
    ck_assert(queue_wake(q, "cluster/a"));
    ck_assert(!queue_wake(q, "cluster/a"));
    ck_assert(queue_wake(q, "cluster/b"));
    ck_assert_uint_eq(queue_depth(q), 2);
    char k[64];
    ck_assert(queue_take(q, k, sizeof k, 0));
    ck_assert_str_eq(k, "cluster/a");
    ck_assert(queue_take(q, k, sizeof k, 0));
    ck_assert_str_eq(k, "cluster/b");
    ck_assert(!queue_take(q, k, sizeof k, 0));
    queue_done(q, "cluster/a");
    queue_done(q, "cluster/b");
    ck_assert_uint_eq(queue_depth(q), 0);
    queue_free(q);
}
END_TEST

START_TEST(never_two_workers_on_one_key)
{
    work_queue *q = queue_new();
    char k[64];
    queue_wake(q, "cluster/a");
    ck_assert(queue_take(q, k, sizeof k, 0));
    ck_assert(queue_wake(q, "cluster/a"));      /* woken while in progress */
    ck_assert(!queue_take(q, k, sizeof k, 10)); /* ...but not handed out */
    queue_done(q, "cluster/a");                 /* now it is */
    ck_assert_uint_eq(queue_depth(q), 1);
    ck_assert(queue_take(q, k, sizeof k, 0));
    ck_assert_str_eq(k, "cluster/a");
    queue_done(q, "cluster/a");
    ck_assert_uint_eq(queue_depth(q), 0);
    queue_free(q);
}
END_TEST

static void *waker(void *arg)
{
    queue_wake(arg, "late");
    return NULL;
}

START_TEST(take_waits_and_shutdown_releases)
{
    work_queue *q = queue_new();
    pthread_t t;
    pthread_create(&t, NULL, waker, q);
    char k[64];
    ck_assert(queue_take(q, k, sizeof k, 2000));
    ck_assert_str_eq(k, "late");
    pthread_join(t, NULL);
    queue_shutdown(q);
    ck_assert(!queue_take(q, k, sizeof k, -1));
    queue_free(q);
}
END_TEST

START_TEST(many_keys_stay_unique_and_ordered)
{
    work_queue *q = queue_new();
    char k[64];
    for (int round = 0; round < 2; round++)          /* the second round merges */
        for (int i = 0; i < 5000; i++) {
            snprintf(k, sizeof k, "cluster/%d", i);
            ck_assert(queue_wake(q, k) == (round == 0));
        }
    ck_assert_uint_eq(queue_depth(q), 5000);
    for (int i = 0; i < 5000; i++) {
        char want[64];
        snprintf(want, sizeof want, "cluster/%d", i);
        ck_assert(queue_take(q, k, sizeof k, 0));
        ck_assert_str_eq(k, want);                   /* oldest first */
        queue_done(q, k);
    }
    ck_assert_uint_eq(queue_depth(q), 0);
    ck_assert(queue_wake(q, "cluster/1"));            /* forgotten once done: new again */
    queue_free(q);
}
END_TEST

typedef struct counter { int calls; int fail_first; int64_t first_ms, last_ms; pthread_mutex_t mu; } counter;

static int flaky(void *ctx, const char *key)
{
    counter *c = ctx;
    (void)key;
    pthread_mutex_lock(&c->mu);
    int n = ++c->calls;
    if (n == 1) c->first_ms = sp_mono_ms();
    c->last_ms = sp_mono_ms();
    pthread_mutex_unlock(&c->mu);
    return n <= c->fail_first ? -1 : 0;
}

START_TEST(pool_retries_with_backoff_then_forgets)
{
    work_queue *q = queue_new();
    counter c = {.fail_first = 2};
    pthread_mutex_init(&c.mu, NULL);
    worker_pool *p = pool_start(2, q, flaky, &c);
    queue_wake(q, "cluster/a");
    for (int i = 0; i < 200 && c.calls < 3; i++) usleep(20000);
    usleep(300000);
    pool_stop(p);
    ck_assert_int_eq(c.calls, 3);                      /* two failures, one success, then quiet */
    ck_assert_int_ge(c.last_ms - c.first_ms, 200 + 400 - 50);   /* backoff 200 ms, then 400 ms */
    queue_free(q);
}
END_TEST

static int requeue_once(void *ctx, const char *key)
{
    counter *c = ctx;
    (void)key;
    pthread_mutex_lock(&c->mu);
    int n = ++c->calls;
    pthread_mutex_unlock(&c->mu);
    return n == 1 ? 300 : 0;                           /* "call me again in 300 ms" */
}

static int calls_of_requeue(counter *c)
{
    pthread_mutex_lock(&c->mu);
    int n = c->calls;
    pthread_mutex_unlock(&c->mu);
    return n;
}

/* Issue 9, defect 9: the backoff shifted by failures - 1, undefined for a
 * count of 0 (a failure whose count could not be kept); UBSan checks. */
START_TEST(backoff_is_defined_for_every_count)
{
    ck_assert_int_eq(pool_backoff_ms(0, 0), 200);
    ck_assert_int_eq(pool_backoff_ms(-3, 0), 200);
    ck_assert_int_eq(pool_backoff_ms(1, 0), 200);
    ck_assert_int_eq(pool_backoff_ms(2, 0), 400);
    ck_assert_int_eq(pool_backoff_ms(8, 0), 25600);
    ck_assert_int_eq(pool_backoff_ms(9, 0), 25600);
    ck_assert_int_eq(pool_backoff_ms(1000, 0), 25600);
    ck_assert_int_eq(pool_backoff_ms(1, 255), 200 + 200 * 255 / 1024);   /* jitter: under 25% */
}
END_TEST

START_TEST(pool_requeues_when_asked)
{
    fake_clock fc;
    fake_clock_init(&fc, 0);
    work_queue *q = queue_new();
    counter c = {0};
    pthread_mutex_init(&c.mu, NULL);
    worker_pool *p = pool_start(1, q, requeue_once, &c);
    pool_set_clock(p, &fc.clock);
    queue_wake(q, "cluster/b");
    for (int i = 0; i < 500 && pool_delayed(p) == 0; i++) usleep(10000);
    ck_assert_int_eq(calls_of_requeue(&c), 1);
    ck_assert_int_eq(pool_delayed(p), 1);             /* "again in 300 ms", on the pool's clock */
    fake_clock_advance(&fc, 299);
    usleep(120000);                                    /* two timer ticks: not due yet */
    ck_assert_int_eq(calls_of_requeue(&c), 1);
    fake_clock_advance(&fc, 1);
    for (int i = 0; i < 500 && calls_of_requeue(&c) < 2; i++) usleep(10000);
    ck_assert_int_eq(calls_of_requeue(&c), 2);
    pool_stop(p);
    queue_free(q);
}
END_TEST

START_TEST(breaker_opens_half_opens_closes)
{
    fake_clock fc;
    fake_clock_init(&fc, 0);
    breakers b;
    breakers_init(&b, 3);
    breakers_set_clock(&b, &fc.clock);
    int64_t wait;
    ck_assert(breaker_allow(&b, "dp-1", &wait));
    breaker_failure(&b, "dp-1");
    breaker_failure(&b, "dp-1");
    ck_assert(breaker_allow(&b, "dp-1", &wait));       /* two failures: still closed */
    breaker_failure(&b, "dp-1");
    ck_assert(!breaker_allow(&b, "dp-1", &wait));      /* three: open */
    ck_assert_int_eq(wait, 1000);
    int64_t w2;
    ck_assert(breaker_allow(&b, "dp-2", &w2));         /* other data planes are not affected */
    fake_clock_advance(&fc, 999);
    ck_assert(!breaker_allow(&b, "dp-1", &wait));      /* not yet */
    ck_assert_int_eq(wait, 1);
    fake_clock_advance(&fc, 1);
    ck_assert(breaker_allow(&b, "dp-1", &wait));       /* half-open: one call */
    ck_assert(!breaker_allow(&b, "dp-1", &wait));      /* ...and only one */
    breaker_failure(&b, "dp-1");                       /* it failed: open again, twice as long */
    ck_assert(!breaker_allow(&b, "dp-1", &wait));
    ck_assert_int_eq(wait, 2000);
    breaker_success(&b, "dp-1");
    ck_assert(breaker_allow(&b, "dp-1", &wait));
    ck_assert(!breaker_is_open(&b, "dp-1"));
    breakers_destroy(&b);
}
END_TEST

/* Issue 9, defect 6: a turn that made no call to the data plane (its
 * client could not be built, or there was nothing to ask) left a half-open
 * circuit waiting forever for an answer, or closed an open one though
 * nothing had been learnt. */
START_TEST(breaker_turn_without_a_call_neither_sticks_nor_closes)
{
    fake_clock fc;
    fake_clock_init(&fc, 0);
    breakers b;
    breakers_init(&b, 3);
    breakers_set_clock(&b, &fc.clock);
    int64_t wait;
    for (int i = 0; i < 3; i++) {
        ck_assert(breaker_allow(&b, "dp-1", &wait));
        breaker_done(&b, "dp-1", BREAKER_CALL_FAILED);
    }
    ck_assert(!breaker_allow(&b, "dp-1", &wait));
    fake_clock_advance(&fc, wait);
    ck_assert(breaker_allow(&b, "dp-1", &wait));       /* half-open: this turn may call */
    breaker_done(&b, "dp-1", BREAKER_NO_CALL);         /* ...but failed before calling */
    ck_assert(breaker_is_open(&b, "dp-1"));             /* nothing learnt: not closed */
    ck_assert(breaker_allow(&b, "dp-1", &wait));       /* and not stuck: the next turn may probe */
    breaker_done(&b, "dp-1", BREAKER_NO_CALL);         /* nothing to ask */
    ck_assert(breaker_is_open(&b, "dp-1"));
    ck_assert(breaker_allow(&b, "dp-1", &wait));
    breaker_done(&b, "dp-1", BREAKER_CALL_OK);         /* an answer closes it */
    ck_assert(!breaker_is_open(&b, "dp-1"));
    breakers_destroy(&b);
}
END_TEST

static int periodic(void *ctx, const char *key)
{
    counter *c = ctx;
    (void)key;
    pthread_mutex_lock(&c->mu);
    c->calls++;
    pthread_mutex_unlock(&c->mu);
    return 200;                                        /* a periodic check: "again in 200 ms" */
}

static int calls_of(counter *c)
{
    pthread_mutex_lock(&c->mu);
    int n = c->calls;
    pthread_mutex_unlock(&c->mu);
    return n;
}

/* A periodic key woken again in between (a resync, a change) keeps one
 * delayed wake: the runs do not multiply into parallel chains. */
START_TEST(pool_keeps_one_delayed_wake_per_key)
{
    work_queue *q = queue_new();
    counter c = {0};
    pthread_mutex_init(&c.mu, NULL);
    worker_pool *p = pool_start(2, q, periodic, &c);
    for (int i = 0; i < 5; i++) {                      /* five extra wakes, each run to completion */
        int before = calls_of(&c);
        queue_wake(q, "cluster/a");
        for (int j = 0; j < 100 && calls_of(&c) == before; j++) usleep(5000);
        ck_assert_int_gt(calls_of(&c), before);
        usleep(30000);
    }
    /* never more than one delayed wake for the key (with a chain per wake
     * there would be six); and one chain: about 5 runs a second, not 30 */
    for (int i = 0; i < 40; i++) {
        ck_assert_int_le(pool_delayed(p), 1);
        usleep(10000);
    }
    int start = calls_of(&c);
    usleep(1000000);
    int runs = calls_of(&c) - start;
    pool_stop(p);
    ck_assert_int_le(runs, 8);
    ck_assert_int_ge(runs, 2);
    queue_free(q);
}
END_TEST

Suite *suite_queue(void)
{
    Suite *s = suite_create("queue");
    TCase *t = tcase_create("keys");
    tcase_add_test(t, merges_duplicate_wakeups);
    tcase_add_test(t, never_two_workers_on_one_key);
    tcase_add_test(t, take_waits_and_shutdown_releases);
    tcase_add_test(t, many_keys_stay_unique_and_ordered);
    tcase_add_test(t, pool_retries_with_backoff_then_forgets);
    tcase_add_test(t, pool_requeues_when_asked);
    tcase_add_test(t, pool_keeps_one_delayed_wake_per_key);
    tcase_add_test(t, breaker_opens_half_opens_closes);
    tcase_add_test(t, breaker_turn_without_a_call_neither_sticks_nor_closes);
    tcase_add_test(t, backoff_is_defined_for_every_count);
    suite_add_tcase(s, t);
    return s;
}
