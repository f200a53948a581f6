/* pool.c — worker threads and a timer thread for delayed wakeups.
 *
 * Delayed keys sit in a small list the timer thread scans every 50 ms, at
 * most one entry per key (the earliest due); a key that fails again backs off from 200 ms doubling to 30 s (with up to
 * 25% jitter), and its failure count is forgotten once it succeeds. */
#define _GNU_SOURCE
#include "pool.h"
#include "../common/util.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One per key waiting (later) or failing lately (fails): a key string and
 * a few integers; bounded by the keys there are (one cluster, one entry). */
typedef struct delayed {
    char *key;
    int64_t due_ms;
    int failures;
    struct delayed *next;
} delayed;

struct worker_pool {
    work_queue *q;
    reconcile_fn fn;
    void *ctx;
    int n;
    pthread_t *threads;
    pthread_t timer;
    pthread_mutex_t mu;
    delayed *later;          /* keys waiting for their time */
    delayed *fails;          /* failure counts of keys that failed lately */
    bool stop;               /* atomic */
    sp_clock clock;          /* delayed wakes and resyncs (tests drive it) */
    int64_t resync_ms, next_resync;
    void (*resync)(void *arg);
    void *resync_arg;
};

void pool_set_resync(worker_pool *p, int64_t period_ms, void (*fn)(void *arg), void *arg)
{
    pthread_mutex_lock(&p->mu);
    p->resync_ms = period_ms;
    p->resync = fn;
    p->resync_arg = arg;
    p->next_resync = sp_clock_mono_ms(&p->clock) + period_ms;
    pthread_mutex_unlock(&p->mu);
}

static int failures_bump(worker_pool *p, const char *key, bool failed)
{
    pthread_mutex_lock(&p->mu);
    delayed **pp = &p->fails;
    while (*pp && strcmp((*pp)->key, key) != 0) pp = &(*pp)->next;
    int n = 0;
    if (failed) {
        if (!*pp) {
            delayed *d = calloc(1, sizeof *d);
            if (d && (d->key = strdup(key))) { d->next = p->fails; p->fails = d; pp = &p->fails; }
            else free(d);
        }
        if (*pp) n = ++(*pp)->failures;
    } else if (*pp) {
        delayed *d = *pp;
        *pp = d->next;
        free(d->key);
        free(d);
    }
    pthread_mutex_unlock(&p->mu);
    return n;
}

static void wake_later(worker_pool *p, const char *key, int64_t ms)
{
    delayed *d = calloc(1, sizeof *d);
    if (!d || !(d->key = strdup(key))) { free(d); return; }
    pthread_mutex_lock(&p->mu);
    d->due_ms = sp_clock_mono_ms(&p->clock) + ms;
    /* one delayed wake per key, the earliest: a key woken meanwhile (a
     * change, a resync) and requeued again must not start a second chain of
     * periodic runs (health checks would double with every resync) */
    for (delayed *e = p->later; e; e = e->next)
        if (strcmp(e->key, key) == 0) {
            if (d->due_ms < e->due_ms) e->due_ms = d->due_ms;
            pthread_mutex_unlock(&p->mu);
            free(d->key);
            free(d);
            return;
        }
    d->next = p->later;
    p->later = d;
    pthread_mutex_unlock(&p->mu);
}

int pool_delayed(worker_pool *p)
{
    pthread_mutex_lock(&p->mu);
    int n = 0;
    for (delayed *d = p->later; d; d = d->next) n++;
    pthread_mutex_unlock(&p->mu);
    return n;
}

static void *timer_main(void *arg)
{
    worker_pool *p = arg;
    while (!__atomic_load_n(&p->stop, __ATOMIC_SEQ_CST)) {
        usleep(50000);
        pthread_mutex_lock(&p->mu);
        int64_t now = sp_clock_mono_ms(&p->clock);
        for (delayed **pp = &p->later; *pp;) {
            delayed *d = *pp;
            if (d->due_ms <= now) {
                *pp = d->next;
                queue_wake(p->q, d->key);
                free(d->key);
                free(d);
            } else pp = &d->next;
        }
        bool resync = p->resync && p->resync_ms > 0 && now >= p->next_resync;
        if (resync) p->next_resync = now + p->resync_ms;
        pthread_mutex_unlock(&p->mu);
        if (resync) p->resync(p->resync_arg);
    }
    return NULL;
}

int64_t pool_backoff_ms(int failures, unsigned char jitter)
{
    int f = failures < 1 ? 1 : failures > 8 ? 8 : failures;
    int64_t ms = 200LL << (f - 1);
    if (ms > 30000) ms = 30000;
    return ms + ms * jitter / 1024;
}

void pool_set_clock(worker_pool *p, const sp_clock *c)
{
    pthread_mutex_lock(&p->mu);
    if (c) p->clock = *c;
    else memset(&p->clock, 0, sizeof p->clock);
    pthread_mutex_unlock(&p->mu);
}

static void *worker_main(void *arg)
{
    worker_pool *p = arg;
    char key[256];
    while (!__atomic_load_n(&p->stop, __ATOMIC_SEQ_CST)) {
        if (!queue_take(p->q, key, sizeof key, 200)) continue;
        int r = p->fn(p->ctx, key);
        queue_done(p->q, key);
        if (r == 0) failures_bump(p, key, false);
        else if (r > 0) wake_later(p, key, r);
        else {
            int f = failures_bump(p, key, true);   /* 0 when its count could not be kept */
            unsigned char j;
            sp_random(&j, 1);
            wake_later(p, key, pool_backoff_ms(f, j));
        }
    }
    return NULL;
}

worker_pool *pool_start(int workers, work_queue *q, reconcile_fn fn, void *ctx)
{
    worker_pool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->q = q; p->fn = fn; p->ctx = ctx;
    pthread_mutex_init(&p->mu, NULL);
    p->threads = calloc((size_t)workers, sizeof *p->threads);
    bool ok = p->threads != NULL;
    for (int i = 0; ok && i < workers; i++)
        if ((ok = pthread_create(&p->threads[i], NULL, worker_main, p) == 0)) p->n++;
    bool timer = ok && pthread_create(&p->timer, NULL, timer_main, p) == 0;
    if (!timer) {                  /* stop what started: no half pool */
        __atomic_store_n(&p->stop, true, __ATOMIC_SEQ_CST);
        for (int i = 0; i < p->n; i++) pthread_join(p->threads[i], NULL);
        pthread_mutex_destroy(&p->mu);
        free(p->threads);
        free(p);
        return NULL;
    }
    return p;
}

static void free_list(delayed *d)
{
    while (d) { delayed *n = d->next; free(d->key); free(d); d = n; }
}

void pool_stop(worker_pool *p)
{
    if (!p) return;
    __atomic_store_n(&p->stop, true, __ATOMIC_SEQ_CST);
    for (int i = 0; i < p->n; i++) pthread_join(p->threads[i], NULL);
    pthread_join(p->timer, NULL);
    free_list(p->later);
    free_list(p->fails);
    pthread_mutex_destroy(&p->mu);
    free(p->threads);
    free(p);
}
