/* queue.h — the keyed work queue between the API and the workers.
 *
 * Keys are strings such as "cluster/kc-…". A key is queued at most once
 * (duplicate wakeups merge), and a key being worked on is never handed to a
 * second worker: a wake that arrives meanwhile is remembered and the key is
 * queued again when the first worker calls queue_done(). */
#ifndef SP_QUEUE_H
#define SP_QUEUE_H

#include <stdbool.h>
#include <stddef.h>

typedef struct work_queue work_queue;

work_queue *queue_new(void);
void queue_free(work_queue *q);
/* Adds key unless already queued; returns true if this call queued it. */
bool queue_wake(work_queue *q, const char *key);
/* Takes the oldest queued key not in progress, waiting up to timeout_ms
 * (-1 forever). Returns false on timeout or after queue_shutdown(). */
bool queue_take(work_queue *q, char *key, size_t cap, int timeout_ms);
/* Marks key finished; re-queues it if woken while in progress. */
void queue_done(work_queue *q, const char *key);
size_t queue_depth(work_queue *q);
void queue_shutdown(work_queue *q);

#endif
