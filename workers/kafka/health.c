/* health.c — see health.h.
 *
 * The pool is a doubly linked list under one mutex, most recently used
 * first. An entry is reference counted: the cache holds one reference while
 * the entry is listed, and every kafka_health_read in flight holds one. An
 * entry evicted or dropped while another thread still uses it is unlisted at
 * once and destroyed by whoever lets go of it last, outside the mutex:
 * rd_kafka_destroy joins the handle's threads and must not stall other
 * callers. Handles are created outside the mutex too; when two callers race
 * to create the same bootstrap's handle, the loser destroys its own. */
#define _GNU_SOURCE
#include "health.h"

#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct kafka_entry {
    struct kafka_entry *prev, *next;
    char *bootstrap;
    rd_kafka_t *rk;
    int refs;          /* 1 for the cache while listed, +1 per caller using it */
    int listed;
    int64_t used_ms;   /* last acquired (monotonic) */
} kafka_entry;

struct kafka_pool {
    pthread_mutex_t mu;
    kafka_entry *head, *tail;   /* head: most recently used */
    int size, max;
    int64_t idle_ms;            /* a full cache evicts only handles idle this long */
    long created;
    long reads, failures;       /* atomic: every kafka_health_read, and those that failed */
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* librdkafka logs from its own threads; a health probe has nothing to say
 * on stderr, failures come back through kafka_health_read's err. */
static void discard_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk; (void)level; (void)fac; (void)buf;
}

/* ---- the pool ---- */

kafka_pool *kafka_pool_new(int max_handles)
{
    kafka_pool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    pthread_mutex_init(&p->mu, NULL);
    p->max = max_handles > 0 ? max_handles : 1;
    p->idle_ms = KAFKA_POOL_IDLE_MS;
    return p;
}

void kafka_pool_set_idle_ms(kafka_pool *p, int64_t idle_ms)
{
    pthread_mutex_lock(&p->mu);
    p->idle_ms = idle_ms > 0 ? idle_ms : 0;
    pthread_mutex_unlock(&p->mu);
}

static void entry_destroy(kafka_entry *e)
{
    if (!e) return;
    if (e->rk) rd_kafka_destroy(e->rk);   /* waits for the handle's threads */
    free(e->bootstrap);
    free(e);
}

/* Caller holds p->mu. */
static void unlink_entry(kafka_pool *p, kafka_entry *e)
{
    if (e->prev) e->prev->next = e->next; else p->head = e->next;
    if (e->next) e->next->prev = e->prev; else p->tail = e->prev;
    e->prev = e->next = NULL;
    e->listed = 0;
    p->size--;
}

/* Caller holds p->mu. */
static void push_front(kafka_pool *p, kafka_entry *e)
{
    e->prev = NULL;
    e->next = p->head;
    if (p->head) p->head->prev = e; else p->tail = e;
    p->head = e;
    e->listed = 1;
    p->size++;
}

/* Unlists e and gives up the cache's reference; returns e if nobody else
 * holds it (the caller destroys it after unlocking), else NULL. Caller holds p->mu. */
static kafka_entry *unlist(kafka_pool *p, kafka_entry *e)
{
    unlink_entry(p, e);
    return --e->refs == 0 ? e : NULL;
}

void kafka_pool_free(kafka_pool *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    kafka_entry *e = p->head, *dead = NULL;
    while (e) {
        kafka_entry *next = e->next;
        if (unlist(p, e)) { e->next = dead; dead = e; }
        e = next;
    }
    pthread_mutex_unlock(&p->mu);
    while (dead) {
        kafka_entry *next = dead->next;
        entry_destroy(dead);
        dead = next;
    }
    pthread_mutex_destroy(&p->mu);
    free(p);
}

int kafka_pool_size(kafka_pool *p)
{
    kafka_pool_counts k;
    kafka_pool_stats(p, &k);
    return k.clients;
}

long kafka_pool_handles_created(kafka_pool *p)
{
    kafka_pool_counts k;
    kafka_pool_stats(p, &k);
    return k.created;
}

static int conf_set(rd_kafka_conf_t *c, const char *k, const char *v, char *err, size_t errlen)
{
    return rd_kafka_conf_set(c, k, v, err, errlen) == RD_KAFKA_CONF_OK ? 0 : -1;
}

/* A producer handle (no consumer group, nothing produced): it only serves
 * metadata requests. Socket and connect timeouts are bounded so a dead
 * broker is noticed within a health period, reconnects back off briefly so a
 * recovered one is used again soon. */
static rd_kafka_t *handle_new(const char *bootstrap, char *err, size_t errlen)
{
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    if (conf_set(c, "bootstrap.servers", bootstrap, err, errlen) ||
        conf_set(c, "client.id", "streamplane-health", err, errlen) ||
        conf_set(c, "socket.timeout.ms", "10000", err, errlen) ||
        conf_set(c, "socket.connection.setup.timeout.ms", "5000", err, errlen) ||
        conf_set(c, "reconnect.backoff.ms", "100", err, errlen) ||
        conf_set(c, "reconnect.backoff.max.ms", "2000", err, errlen) ||
        conf_set(c, "log_level", "0", err, errlen) ||
        conf_set(c, "log.connection.close", "false", err, errlen)) {
        rd_kafka_conf_destroy(c);
        return NULL;
    }
    rd_kafka_conf_set_log_cb(c, discard_log);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, errlen);
    if (!rk) rd_kafka_conf_destroy(c);   /* on success the handle owns c */
    return rk;
}

/* Returns bootstrap's entry with a reference for the caller, creating and
 * caching it if needed (and evicting the least recently used beyond max). */
static kafka_entry *acquire(kafka_pool *p, const char *bootstrap, char *err, size_t errlen)
{
    pthread_mutex_lock(&p->mu);
    int64_t now = mono_ms();
    for (kafka_entry *e = p->head; e; e = e->next)
        if (strcmp(e->bootstrap, bootstrap) == 0) {
            unlink_entry(p, e);
            push_front(p, e);
            e->refs++;
            e->used_ms = now;
            pthread_mutex_unlock(&p->mu);
            return e;
        }
    pthread_mutex_unlock(&p->mu);

    kafka_entry *fresh = calloc(1, sizeof *fresh);
    if (!fresh || !(fresh->bootstrap = strdup(bootstrap))) {
        free(fresh);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (!(fresh->rk = handle_new(bootstrap, err, errlen))) {
        entry_destroy(fresh);
        return NULL;
    }

    kafka_entry *use = NULL, *loser = NULL, *dead = NULL;
    pthread_mutex_lock(&p->mu);
    for (kafka_entry *e = p->head; e; e = e->next)
        if (strcmp(e->bootstrap, bootstrap) == 0) { use = e; break; }
    if (use) {                       /* another caller created it meanwhile */
        unlink_entry(p, use);
        push_front(p, use);
        use->refs++;
        use->used_ms = now;
        loser = fresh;
    } else {
        use = fresh;
        use->used_ms = now;
        p->created++;
        /* full: evict the least recently used only when it has been idle
         * idle_ms. Periodic checks of more clusters than the cache holds
         * visit them in a cycle, and plain LRU would then miss every time;
         * this way the cached ones stay and only the rest pay for a handle,
         * used once (not cached) and destroyed on release. */
        while (p->size >= p->max && p->tail && now - p->tail->used_ms >= p->idle_ms) {
            kafka_entry *old = unlist(p, p->tail);
            if (old) { old->next = dead; dead = old; }
        }
        if (p->size < p->max) {
            use->refs = 2;           /* the cache and the caller */
            push_front(p, use);
        } else {
            use->refs = 1;           /* the caller alone */
        }
    }
    pthread_mutex_unlock(&p->mu);

    entry_destroy(loser);
    while (dead) {
        kafka_entry *next = dead->next;
        entry_destroy(dead);
        dead = next;
    }
    return use;
}

/* Gives back the caller's reference; drop also unlists the entry so the
 * next call for this bootstrap makes a fresh handle. */
static void release(kafka_pool *p, kafka_entry *e, int drop)
{
    pthread_mutex_lock(&p->mu);
    if (drop && e->listed) {
        unlink_entry(p, e);
        e->refs--;               /* the cache's reference */
    }
    int last = --e->refs == 0;
    pthread_mutex_unlock(&p->mu);
    if (last) entry_destroy(e);
}

/* ---- counting ---- */

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static void health_reset(kafka_health *out)
{
    int expected = out->brokers_expected;
    memset(out, 0, sizeof *out);
    out->brokers_expected = expected;
    out->controller_id = -1;
}

void kafka_health_from_metadata(const struct rd_kafka_metadata *md, int controller_id,
                                kafka_health *out)
{
    health_reset(out);
    out->brokers_listed = md->broker_cnt;
    for (int i = 0; i < md->broker_cnt && out->nbroker_ids < KAFKA_HEALTH_MAX_BROKER_IDS; i++)
        out->broker_ids[out->nbroker_ids++] = md->brokers[i].id;
    qsort(out->broker_ids, (size_t)out->nbroker_ids, sizeof out->broker_ids[0], cmp_int);
    out->controller_id = controller_id >= 0 ? controller_id : -1;

    out->topics = md->topic_cnt;
    for (int t = 0; t < md->topic_cnt; t++) {
        const rd_kafka_metadata_topic_t *tp = &md->topics[t];
        for (int i = 0; i < tp->partition_cnt; i++) {
            const rd_kafka_metadata_partition_t *pa = &tp->partitions[i];
            out->partitions++;
            if (pa->leader < 0)
                out->offline_partitions++;
            else if (pa->isr_cnt < pa->replica_cnt)
                out->under_replicated++;
        }
    }

    char brokers[32];
    if (out->brokers_expected > 0)
        snprintf(brokers, sizeof brokers, "%d/%d", out->brokers_listed, out->brokers_expected);
    else
        snprintf(brokers, sizeof brokers, "%d", out->brokers_listed);
    snprintf(out->detail, sizeof out->detail, "%s broker%s, %d offline, %d under-replicated partition%s",
             brokers, out->brokers_expected == 1 || (out->brokers_expected <= 0 && out->brokers_listed == 1) ? "" : "s",
             out->offline_partitions, out->under_replicated, out->under_replicated == 1 ? "" : "s");
}

/* ---- the read ---- */

#define MIN_RETRY_MS 100

/* Errors that say the handle could not talk to the cluster: drop it, so the
 * next call bootstraps again (re-resolving names, fresh connections).
 * Errors a broker answered with keep the handle. */
static int is_transport_error(rd_kafka_resp_err_t e)
{
    switch (e) {
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__RESOLVE:
    case RD_KAFKA_RESP_ERR__SSL:
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
    case RD_KAFKA_RESP_ERR__FATAL:
        return 1;
    default:
        return 0;
    }
}

static int health_read(kafka_pool *p, const char *bootstrap, int timeout_ms,
                       kafka_health *out, char *err, size_t errlen);

int kafka_health_read(kafka_pool *p, const char *bootstrap, int timeout_ms,
                      kafka_health *out, char *err, size_t errlen)
{
    int rc = health_read(p, bootstrap, timeout_ms, out, err, errlen);
    __atomic_add_fetch(&p->reads, 1, __ATOMIC_RELAXED);
    if (rc != 0) __atomic_add_fetch(&p->failures, 1, __ATOMIC_RELAXED);
    return rc;
}

void kafka_pool_stats(kafka_pool *p, kafka_pool_counts *out)
{
    pthread_mutex_lock(&p->mu);
    out->clients = p->size;
    out->created = p->created;
    pthread_mutex_unlock(&p->mu);
    out->reads = __atomic_load_n(&p->reads, __ATOMIC_RELAXED);
    out->failures = __atomic_load_n(&p->failures, __ATOMIC_RELAXED);
}

static int health_read(kafka_pool *p, const char *bootstrap, int timeout_ms,
                       kafka_health *out, char *err, size_t errlen)
{
    int64_t deadline = mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    health_reset(out);
    if (errlen) err[0] = '\0';
    if (!bootstrap || !*bootstrap) {
        snprintf(err, errlen, "no bootstrap servers");
        return -1;
    }

    kafka_entry *e = acquire(p, bootstrap, err, errlen);
    if (!e) return -1;
    rd_kafka_poll(e->rk, 0);   /* serve anything queued; nothing should be */

    /* A metadata request goes to one broker and waits there until its
     * timeout if that broker's connection dies (librdkafka binds a request
     * to a broker). So the first try gets half the time, and a transport
     * failure is tried once more, by then through a broker still up. */
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t rc = RD_KAFKA_RESP_ERR__TIMED_OUT;
    for (int attempt = 0; attempt < 2; attempt++) {
        int64_t left = deadline - mono_ms();
        if (attempt > 0 && left < MIN_RETRY_MS) break;
        if (attempt == 0 && left >= 2 * MIN_RETRY_MS) left /= 2;
        rc = rd_kafka_metadata(e->rk, 1, NULL, &md, left > 0 ? (int)left : 1);
        if (rc == RD_KAFKA_RESP_ERR_NO_ERROR || !is_transport_error(rc)) break;
    }
    if (rc != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(err, errlen, "%s", rd_kafka_err2str(rc));
        release(p, e, is_transport_error(rc));
        return -1;
    }
    kafka_health_from_metadata(md, rd_kafka_controllerid(e->rk, 0), out);
    rd_kafka_metadata_destroy(md);
    release(p, e, 0);
    return 0;
}

/* ---- leases for other readers (admin.c) ---- */

rd_kafka_t *kafka_pool_lease(kafka_pool *p, const char *bootstrap, kafka_lease **lease, char *err, size_t errlen)
{
    *lease = NULL;
    if (!bootstrap || !*bootstrap) {
        snprintf(err, errlen, "no bootstrap servers");
        return NULL;
    }
    kafka_entry *e = acquire(p, bootstrap, err, errlen);
    if (!e) return NULL;
    *lease = (kafka_lease *)e;
    return e->rk;
}

void kafka_pool_unlease(kafka_pool *p, kafka_lease *lease, int transport_failed)
{
    if (lease) release(p, (kafka_entry *)lease, transport_failed);
}
