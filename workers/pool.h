/* pool.h — the worker threads: each takes a key from the work queue, runs
 * the reconciler for it, and either forgets it (done), or has it woken
 * again after a delay (retry with capped exponential backoff and jitter, or
 * a requeue the reconciler asks for). */
#ifndef SP_POOL_H
#define SP_POOL_H

#include <stdint.h>
#include "queue.h"
#include "../common/util.h"

/* A reconciler returns 0 when the key needs nothing more, > 0 to be called
 * again after that many milliseconds, < 0 on failure (retried with backoff). */
typedef int (*reconcile_fn)(void *ctx, const char *key);

typedef struct worker_pool worker_pool;

/* NULL when a thread cannot be started (none is left running). */
worker_pool *pool_start(int workers, work_queue *q, reconcile_fn fn, void *ctx);
/* The clock delayed wakes and resyncs are timed by (tests drive it; NULL:
 * the real monotonic clock). */
void pool_set_clock(worker_pool *p, const sp_clock *c);
/* The delay before retry after `failures` failures in a row (<= 0 counts
 * as 1): 200 ms doubling to 30 s, plus jitter/1024 of it (0..25%). */
int64_t pool_backoff_ms(int failures, unsigned char jitter);
/* Every period_ms, calls fn(arg) from the timer thread to wake every key
 * (a resync that catches what no event announced). 0 turns it off. */
void pool_set_resync(worker_pool *p, int64_t period_ms, void (*fn)(void *arg), void *arg);

/* Keys waiting for a delayed wake (at most one entry per key). */
int pool_delayed(worker_pool *p);

/* Stops taking keys, lets running reconciles finish, joins the threads. */
void pool_stop(worker_pool *p);

#endif
