/* queue.c — unique keys in a hash table, and a FIFO of the ready ones.
 *
 * Every known key has one item: in the hash (by key) and, while it waits
 * for a worker, in the ready list. A key taken by a worker is "busy" and out
 * of the ready list; a wake meanwhile sets "again", and queue_done() puts it
 * back. Wake, take and done are O(1) under one mutex. */
#define _GNU_SOURCE
#include "queue.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* One per key ever woken and not yet done (a cluster: one): ~64 bytes and
 * its key. Items of finished keys are freed, so the table holds at most
 * the keys with work pending or running. */
typedef struct item {
    char *key;
    uint32_t hash;
    bool busy;               /* handed to a worker */
    bool again;              /* woken while busy */
    struct item *hnext;      /* hash chain */
    struct item *prev, *next;/* ready list, when queued */
    bool queued;
} item;

/* 256 buckets, fixed: wake, take and done are O(1) while the keys in the
 * queue are a few hundred, and chains grow linearly past that (1,000
 * clusters: ~4 per chain). Memory: the buckets plus one item per key. */
struct work_queue {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    item **buckets;
    size_t nbuckets, nitems;
    item *head, *tail;       /* ready list, oldest first */
    size_t depth;
    bool stop;
};

static uint32_t hash_of(const char *s)
{
    uint32_t h = 2166136261u;
    while (*s) h = (h ^ (unsigned char)*s++) * 16777619u;
    return h;
}

work_queue *queue_new(void)
{
    work_queue *q = calloc(1, sizeof *q);
    if (!q) return NULL;
    q->nbuckets = 256;
    q->buckets = calloc(q->nbuckets, sizeof *q->buckets);
    if (!q->buckets) { free(q); return NULL; }
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv, NULL);
    return q;
}

void queue_free(work_queue *q)
{
    if (!q) return;
    for (size_t b = 0; b < q->nbuckets; b++)
        for (item *it = q->buckets[b], *n; it; it = n) { n = it->hnext; free(it->key); free(it); }
    free(q->buckets);
    pthread_cond_destroy(&q->cv);
    pthread_mutex_destroy(&q->mu);
    free(q);
}

static item *find(work_queue *q, const char *key, uint32_t h)
{
    for (item *it = q->buckets[h % q->nbuckets]; it; it = it->hnext)
        if (it->hash == h && strcmp(it->key, key) == 0) return it;
    return NULL;
}

static void grow(work_queue *q)
{
    size_t n = q->nbuckets * 2;
    item **nb = calloc(n, sizeof *nb);
    if (!nb) return;           /* keep the old table: slower, still correct */
    for (size_t b = 0; b < q->nbuckets; b++)
        for (item *it = q->buckets[b], *next; it; it = next) {
            next = it->hnext;
            it->hnext = nb[it->hash % n];
            nb[it->hash % n] = it;
        }
    free(q->buckets);
    q->buckets = nb;
    q->nbuckets = n;
}

static void remove_item(work_queue *q, item *it)
{
    item **pp = &q->buckets[it->hash % q->nbuckets];
    while (*pp != it) pp = &(*pp)->hnext;
    *pp = it->hnext;
    q->nitems--;
    free(it->key);
    free(it);
}

static void push_ready(work_queue *q, item *it)
{
    it->queued = true;
    it->next = NULL;
    it->prev = q->tail;
    if (q->tail) q->tail->next = it; else q->head = it;
    q->tail = it;
    q->depth++;
    pthread_cond_signal(&q->cv);
}

static item *pop_ready(work_queue *q)
{
    item *it = q->head;
    if (!it) return NULL;
    q->head = it->next;
    if (q->head) q->head->prev = NULL; else q->tail = NULL;
    it->queued = false;
    q->depth--;
    return it;
}

bool queue_wake(work_queue *q, const char *key)
{
    bool added = false;
    uint32_t h = hash_of(key);
    pthread_mutex_lock(&q->mu);
    item *it = find(q, key, h);
    if (!it) {
        it = calloc(1, sizeof *it);
        if (it && (it->key = strdup(key))) {
            it->hash = h;
            it->hnext = q->buckets[h % q->nbuckets];
            q->buckets[h % q->nbuckets] = it;
            if (++q->nitems > q->nbuckets) grow(q);
            push_ready(q, it);
            added = true;
        } else free(it);
    } else if (it->busy && !it->again) {
        it->again = true;
        added = true;
    }
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
        item *it = pop_ready(q);
        if (it) {
            it->busy = true;
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
    item *it = find(q, key, hash_of(key));
    if (it && it->busy) {
        it->busy = false;
        if (it->again) { it->again = false; push_ready(q, it); }
        else remove_item(q, it);
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
