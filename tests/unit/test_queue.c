/* The keyed work queue: merging, exclusivity, re-queue after done. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include "../../workers/queue.h"

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

Suite *suite_queue(void)
{
    Suite *s = suite_create("queue");
    TCase *t = tcase_create("keys");
    tcase_add_test(t, merges_duplicate_wakeups);
    tcase_add_test(t, never_two_workers_on_one_key);
    tcase_add_test(t, take_waits_and_shutdown_releases);
    tcase_add_test(t, many_keys_stay_unique_and_ordered);
    suite_add_tcase(s, t);
    return s;
}
