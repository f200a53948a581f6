/* queue.c — a FIFO of unique keys with an in-progress set, under one mutex.
 * Sizes here are small (one entry per resource with pending work), so
 * linear scans over a linked list are simpler than a hash and fast enough. */
#define _GNU_SOURCE
#include "queue.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct item {
    char *key;
    bool busy;       /* handed to a worker */
    bool queued;     /* waiting in the FIFO (or re-wake pending while busy) */
    struct item *next;
} item;

struct work_queue {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    item *head;      /* all known keys, in wake order */
    size_t depth;    /* items with queued && !busy */
    bool stop;
};

work_queue *queue_new(void)
{
    work_queue *q = calloc(1, sizeof *q);
    if (!q) return NULL;
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv, NULL);
    return q;
}

void queue_free(work_queue *q)
{
    if (!q) return;
    item *it = q->head;
    while (it) { item *n = it->next; free(it->key); free(it); it = n; }
    pthread_cond_destroy(&q->cv);
    pthread_mutex_destroy(&q->mu);
    free(q);
}

static item *find(work_queue *q, const char *key, item ***prevp)
{
    item **pp = &q->head;
    for (; *pp; pp = &(*pp)->next)
        if (strcmp((*pp)->key, key) == 0) { if (prevp) *prevp = pp; return *pp; }
    if (prevp) *prevp = pp;
    return NULL;
}

bool queue_wake(work_queue *q, const char *key)
{
    bool added = false;
    pthread_mutex_lock(&q->mu);
    item **tail;
    item *it = find(q, key, &tail);
    if (!it) {
        it = calloc(1, sizeof *it);
        if (it && (it->key = strdup(key))) {
            it->queued = true;
            *tail = it;
            q->depth++;
            added = true;
        } else free(it);
    } else if (!it->queued) {
        it->queued = true;
        if (!it->busy) q->depth++;
        added = true;
    }
    if (added) pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
    return added;
}

bool queue_take(work_queue *q, char *key, size_t cap, int timeout_ms)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    if (timeout_ms > 0) {
        dl.tv_sec += timeout_ms / 1000;
        dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (dl.tv_nsec >= 1000000000L) { dl.tv_sec++; dl.tv_nsec -= 1000000000L; }
    }
    pthread_mutex_lock(&q->mu);
    for (;;) {
        if (q->stop) break;
        for (item *it = q->head; it; it = it->next)
            if (it->queued && !it->busy) {
                it->queued = false;
                it->busy = true;
                q->depth--;
                size_t n = strlen(it->key);
                if (n >= cap) n = cap - 1;
                memcpy(key, it->key, n);
                key[n] = 0;
                pthread_mutex_unlock(&q->mu);
                return true;
            }
        if (timeout_ms == 0) break;
        int rc = timeout_ms < 0 ? pthread_cond_wait(&q->cv, &q->mu)
                                : pthread_cond_timedwait(&q->cv, &q->mu, &dl);
        if (rc == ETIMEDOUT) break;
    }
    pthread_mutex_unlock(&q->mu);
    return false;
}

void queue_done(work_queue *q, const char *key)
{
    pthread_mutex_lock(&q->mu);
    item **pp;
    item *it = find(q, key, &pp);
    if (it) {
        it->busy = false;
        if (it->queued) { q->depth++; pthread_cond_signal(&q->cv); }
        else { *pp = it->next; free(it->key); free(it); }
    }
    pthread_mutex_unlock(&q->mu);
}

size_t queue_depth(work_queue *q)
{
    pthread_mutex_lock(&q->mu);
    size_t d = q->depth;
    pthread_mutex_unlock(&q->mu);
    return d;
}

void queue_shutdown(work_queue *q)
{
    pthread_mutex_lock(&q->mu);
    q->stop = true;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
}
