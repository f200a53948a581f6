/* model.c — the simulated cluster's state and how it behaves over time.
 *
 * Why it is separate from the sockets: everything a Kafka controller decides
 * (ISR membership, leader election, topic placement, config resolution,
 * reassignment progress, the KRaft quorum) is plain data manipulation that
 * the request handlers and the public API share. Time enters only through
 * kfs_model_tick(now), which the loop thread calls when the deadline from
 * kfs_model_deadline() passes and every API call runs first, so the model is
 * always current when observed and no extra thread is needed.
 * All functions expect the runtime mutex held, except the public kfs_* ones
 * at the bottom, which take it. */
#define _GNU_SOURCE
#include "kfs_internal.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

long long kfs_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- small containers ---- */

bool kfs_ids_has(const kfs_ids *s, int id)
{
    for (int i = 0; i < s->n; i++)
        if (s->v[i] == id) return true;
    return false;
}

int kfs_ids_add(kfs_ids *s, int id)
{
    if (kfs_ids_has(s, id)) return 0;
    int *nv = realloc(s->v, (size_t)(s->n + 1) * sizeof *nv);
    if (!nv) return -1;
    s->v = nv;
    s->v[s->n++] = id;
    return 0;
}

void kfs_ids_del(kfs_ids *s, int id)
{
    for (int i = 0; i < s->n; i++)
        if (s->v[i] == id) {
            memmove(s->v + i, s->v + i + 1, (size_t)(s->n - i - 1) * sizeof *s->v);
            s->n--;
            return;
        }
}

void kfs_ids_free(kfs_ids *s)
{
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

int kfs_ids_copy(kfs_ids *dst, const int *v, int n)
{
    int *nv = NULL;
    if (n > 0) {
        nv = malloc((size_t)n * sizeof *nv);
        if (!nv) return -1;
        memcpy(nv, v, (size_t)n * sizeof *nv);
    }
    free(dst->v);
    dst->v = nv;
    dst->n = n > 0 ? n : 0;
    return 0;
}

const char *kfs_kvs_get(const kfs_kvs *s, const char *name)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->v[i].name, name) == 0) return s->v[i].value;
    return NULL;
}

/* value NULL removes the entry. */
int kfs_kvs_set(kfs_kvs *s, const char *name, const char *value)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->v[i].name, name) == 0) {
            if (!value) {
                free(s->v[i].name);
                free(s->v[i].value);
                s->v[i] = s->v[--s->n];
                return 0;
            }
            char *nv = strdup(value);
            if (!nv) return -1;
            free(s->v[i].value);
            s->v[i].value = nv;
            return 0;
        }
    if (!value) return 0;
    kfs_kv *na = realloc(s->v, (size_t)(s->n + 1) * sizeof *na);
    if (!na) return -1;
    s->v = na;
    char *n = strdup(name), *v = strdup(value);
    if (!n || !v) {
        free(n);
        free(v);
        return -1;
    }
    s->v[s->n].name = n;
    s->v[s->n].value = v;
    s->n++;
    return 0;
}

void kfs_kvs_free(kfs_kvs *s)
{
    for (int i = 0; i < s->n; i++) {
        free(s->v[i].name);
        free(s->v[i].value);
    }
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

/* ---- lookups ---- */

kfs_broker *kfs_find_broker(kfs_cluster *c, int id)
{
    for (int i = 0; i < c->nbrokers; i++)
        if (c->brokers[i]->id == id) return c->brokers[i];
    return NULL;
}

kfs_topic *kfs_find_topic(kfs_cluster *c, const char *name)
{
    if (!name) return NULL;
    for (int i = 0; i < c->ntopics; i++)
        if (strcmp(c->topics[i]->name, name) == 0) return c->topics[i];
    return NULL;
}

kfs_group *kfs_find_group(kfs_cluster *c, const char *id)
{
    if (!id) return NULL;
    for (int i = 0; i < c->ngroups; i++)
        if (strcmp(c->groups[i]->id, id) == 0) return c->groups[i];
    return NULL;
}

int kfs_controller_id(kfs_cluster *c)
{
    for (int i = 0; i < c->nbrokers; i++) /* sorted by id */
        if (c->brokers[i]->up) return c->brokers[i]->id;
    return -1;
}

kfs_listener *kfs_broker_listener(kfs_broker *b, const char *name)
{
    for (int i = 0; i < b->nls; i++)
        if (strcmp(b->ls[i].name, name) == 0) return &b->ls[i];
    return NULL;
}

static bool broker_up(kfs_cluster *c, int id)
{
    kfs_broker *b = kfs_find_broker(c, id);
    return b && b->up;
}

/* ---- leadership and ISR ---- */

static void changed(kfs_cluster *c)
{
    c->metadata_offset++;
}

static void set_leader(kfs_cluster *c, kfs_partition *p, int leader)
{
    if (p->leader == leader) return;
    p->leader = leader;
    p->epoch++;
    changed(c);
}

/* Adds id to the ISR keeping replica order. */
static void isr_add(kfs_cluster *c, kfs_partition *p, int id)
{
    if (kfs_ids_has(&p->isr, id)) return;
    if (kfs_ids_add(&p->isr, id) != 0) return;
    int k = 0;
    for (int i = 0; i < p->replicas.n; i++)
        if (kfs_ids_has(&p->isr, p->replicas.v[i])) {
            /* move replicas.v[i] to position k */
            for (int j = k; j < p->isr.n; j++)
                if (p->isr.v[j] == p->replicas.v[i]) {
                    int t = p->isr.v[j];
                    memmove(p->isr.v + k + 1, p->isr.v + k, (size_t)(j - k) * sizeof(int));
                    p->isr.v[k] = t;
                    break;
                }
            k++;
        }
    changed(c);
}

static int first_insync_up(kfs_cluster *c, kfs_partition *p, const kfs_ids *order)
{
    for (int i = 0; i < order->n; i++)
        if (kfs_ids_has(&p->isr, order->v[i]) && broker_up(c, order->v[i])) return order->v[i];
    return -1;
}

static bool still_catching_up(kfs_partition *p, int id)
{
    return p->target.n > 0 && kfs_ids_has(&p->adding, id);
}

void kfs_model_broker_down(kfs_cluster *c, kfs_broker *b)
{
    b->up = false;
    b->rejoin_at = 0;
    for (int i = 0; i < c->ntopics; i++)
        for (int j = 0; j < c->topics[i]->nparts; j++) {
            kfs_partition *p = &c->topics[i]->parts[j];
            /* as the KRaft controller does: the last in-sync replica stays
             * in the ISR (the partition goes offline with it), so only it
             * can lead again without an unclean election */
            if (kfs_ids_has(&p->isr, b->id) && p->isr.n > 1) {
                kfs_ids_del(&p->isr, b->id);
                changed(c);
            }
            if (p->leader == b->id) set_leader(c, p, first_insync_up(c, p, &p->replicas));
        }
    changed(c);
}

static void broker_rejoin(kfs_cluster *c, kfs_broker *b)
{
    b->rejoin_at = 0;
    for (int i = 0; i < c->ntopics; i++)
        for (int j = 0; j < c->topics[i]->nparts; j++) {
            kfs_partition *p = &c->topics[i]->parts[j];
            if (!kfs_ids_has(&p->replicas, b->id) || still_catching_up(p, b->id)) continue;
            /* with no leader there is nothing to catch up from: kfs_model_tick
             * lets it in once the partition has a leader again */
            if (p->leader == -1 && !kfs_ids_has(&p->isr, b->id)) continue;
            isr_add(c, p, b->id);
            if (p->replicas.v[0] == b->id || p->leader == -1) set_leader(c, p, b->id);
        }
}

void kfs_model_broker_up(kfs_cluster *c, kfs_broker *b, long long now)
{
    b->up = true;
    changed(c);
    /* Leaderless partitions whose ISR holds this replica take it as leader
     * at once (no unclean election: a replica outside the ISR never leads). */
    for (int i = 0; i < c->ntopics; i++)
        for (int j = 0; j < c->topics[i]->nparts; j++) {
            kfs_partition *p = &c->topics[i]->parts[j];
            if (p->leader == -1 && kfs_ids_has(&p->isr, b->id) && !still_catching_up(p, b->id))
                set_leader(c, p, b->id);
        }
    if (c->opts.rejoin_delay_ms <= 0) broker_rejoin(c, b);
    else b->rejoin_at = now + c->opts.rejoin_delay_ms;
}

/* ---- reassignment ---- */

static long long config_ll(const char *v)
{
    if (!v) return -1;
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno || *end || end == v) return -1;
    return x;
}

static long long broker_rate(kfs_cluster *c, int id, const char *name)
{
    kfs_broker *b = kfs_find_broker(c, id);
    const char *v = b ? kfs_kvs_get(&b->configs, name) : NULL;
    if (!v) v = kfs_kvs_get(&c->default_broker_configs, name);
    return config_ll(v);
}

/* Bytes per second for a partition's catch-up; 0 = instant. */
static double reassign_rate(kfs_cluster *c, kfs_partition *p)
{
    long long best = -1;
    long long r = p->leader >= 0 ? broker_rate(c, p->leader, "leader.replication.throttled.rate") : -1;
    if (r > 0) best = r;
    for (int i = 0; i < p->adding.n; i++) {
        r = broker_rate(c, p->adding.v[i], "follower.replication.throttled.rate");
        if (r > 0 && (best < 0 || r < best)) best = r;
    }
    if (best > 0 && best < 9223372036854775807LL) return (double)best;
    return c->opts.reassign_bytes_per_sec > 0 ? (double)c->opts.reassign_bytes_per_sec : 0;
}

static bool adding_all_up(kfs_cluster *c, kfs_partition *p)
{
    for (int i = 0; i < p->adding.n; i++)
        if (!broker_up(c, p->adding.v[i])) return false;
    return true;
}

static void reassign_complete(kfs_cluster *c, kfs_partition *p)
{
    for (int i = 0; i < p->adding.n; i++) isr_add(c, p, p->adding.v[i]);
    for (int i = 0; i < p->removing.n; i++) kfs_ids_del(&p->isr, p->removing.v[i]);
    kfs_ids_copy(&p->replicas, p->target.v, p->target.n);
    /* keep the ISR in the new replica order */
    kfs_ids old = p->isr;
    p->isr = (kfs_ids){0};
    for (int i = 0; i < p->replicas.n; i++)
        if (kfs_ids_has(&old, p->replicas.v[i])) kfs_ids_add(&p->isr, p->replicas.v[i]);
    kfs_ids_free(&old);
    if (p->leader != -1 && !kfs_ids_has(&p->replicas, p->leader))
        set_leader(c, p, first_insync_up(c, p, &p->replicas));
    kfs_ids_free(&p->target);
    kfs_ids_free(&p->adding);
    kfs_ids_free(&p->removing);
    changed(c);
}

static void reassign_tick(kfs_cluster *c, kfs_partition *p, long long now)
{
    long long dt = now - p->last_tick;
    p->last_tick = now;
    if (p->leader < 0) return; /* nothing to copy from */
    double rate = reassign_rate(c, p);
    if (rate <= 0) p->done = p->bytes;
    else if (dt > 0) p->done += rate * (double)dt / 1000.0;
    if (p->done >= p->bytes && adding_all_up(c, p)) reassign_complete(c, p);
}

int kfs_model_reassign(kfs_cluster *c, kfs_topic *t, kfs_partition *p, const int *replicas, int n,
                       double bytes)
{
    (void)t;
    if (n <= 0) return -1;
    for (int i = 0; i < n; i++) {
        if (!kfs_find_broker(c, replicas[i])) return -1;
        for (int j = 0; j < i; j++)
            if (replicas[j] == replicas[i]) return -1;
    }
    /* A new reassignment replaces one in progress: start from the original set. */
    kfs_ids orig = {0};
    for (int i = 0; i < p->replicas.n; i++)
        if (!still_catching_up(p, p->replicas.v[i])) kfs_ids_add(&orig, p->replicas.v[i]);
    kfs_ids_free(&p->target);
    kfs_ids_free(&p->adding);
    kfs_ids_free(&p->removing);
    kfs_ids_copy(&p->target, replicas, n);
    for (int i = 0; i < n; i++)
        if (!kfs_ids_has(&orig, replicas[i])) kfs_ids_add(&p->adding, replicas[i]);
    for (int i = 0; i < orig.n; i++)
        if (!kfs_ids_has(&p->target, orig.v[i])) kfs_ids_add(&p->removing, orig.v[i]);
    /* replicas during the move: target, then the ones being removed */
    kfs_ids_copy(&p->replicas, replicas, n);
    for (int i = 0; i < p->removing.n; i++) kfs_ids_add(&p->replicas, p->removing.v[i]);
    for (int i = 0; i < p->adding.n; i++) kfs_ids_del(&p->isr, p->adding.v[i]);
    kfs_ids_free(&orig);
    p->bytes = bytes > 0 ? bytes : 0;
    p->done = 0;
    p->last_tick = kfs_now_ms();
    changed(c);
    if (p->adding.n == 0 || p->bytes == 0) reassign_tick(c, p, p->last_tick);
    return 0;
}

/* ---- timers ---- */

void kfs_model_tick(kfs_cluster *c, long long now)
{
    for (int i = 0; i < c->nbrokers; i++) {
        kfs_broker *b = c->brokers[i];
        if (b->up && b->rejoin_at && now >= b->rejoin_at) broker_rejoin(c, b);
    }
    for (int i = 0; i < c->ntopics; i++)
        for (int j = 0; j < c->topics[i]->nparts; j++) {
            kfs_partition *p = &c->topics[i]->parts[j];
            if (p->target.n > 0) reassign_tick(c, p, now);
            /* replicas whose broker came back while the partition had no
             * leader catch up once it has one */
            for (int r = 0; p->leader >= 0 && r < p->replicas.n; r++) {
                int id = p->replicas.v[r];
                kfs_broker *b = NULL;
                for (int k = 0; k < c->nbrokers && !b; k++)
                    if (c->brokers[k]->id == id) b = c->brokers[k];
                if (!b || !b->up || b->rejoin_at || kfs_ids_has(&p->isr, id) || still_catching_up(p, id)) continue;
                isr_add(c, p, id);
                if (r == 0) set_leader(c, p, id);
            }
        }
}

long long kfs_model_deadline(kfs_cluster *c, long long now)
{
    long long d = -1;
#define TAKE(x) do { long long x_ = (x); if (d < 0 || x_ < d) d = x_; } while (0)
    for (int i = 0; i < c->nbrokers; i++)
        if (c->brokers[i]->up && c->brokers[i]->rejoin_at) TAKE(c->brokers[i]->rejoin_at);
    for (int i = 0; i < c->ntopics; i++)
        for (int j = 0; j < c->topics[i]->nparts; j++) {
            kfs_partition *p = &c->topics[i]->parts[j];
            if (p->target.n == 0) continue;
            double rate = reassign_rate(c, p);
            long long step = 100; /* re-check at least this often (throttle changes, brokers up) */
            if (rate > 0 && p->leader >= 0) {
                double ms = (p->bytes - p->done) / rate * 1000.0 + 1;
                if (ms < (double)step) step = ms < 1 ? 1 : (long long)ms;
            }
            TAKE(now + step);
        }
#undef TAKE
    return d;
}

/* ---- configs ---- */

static const kfs_config_def topic_defs[] = {
    {"cleanup.policy", "delete", 7, true, false, "log.cleanup.policy"},
    {"compression.type", "producer", 2, true, false, "compression.type"},
    {"delete.retention.ms", "86400000", 5, true, false, "log.cleaner.delete.retention.ms"},
    {"file.delete.delay.ms", "60000", 5, true, false, "log.segment.delete.delay.ms"},
    {"flush.messages", "9223372036854775807", 5, true, false, "log.flush.interval.messages"},
    {"flush.ms", "9223372036854775807", 5, true, false, "log.flush.interval.ms"},
    {"follower.replication.throttled.replicas", "", 7, true, false, NULL},
    {"index.interval.bytes", "4096", 3, true, false, "log.index.interval.bytes"},
    {"leader.replication.throttled.replicas", "", 7, true, false, NULL},
    {"max.compaction.lag.ms", "9223372036854775807", 5, true, false, "log.cleaner.max.compaction.lag.ms"},
    {"max.message.bytes", "1048588", 3, true, false, "message.max.bytes"},
    {"message.downconversion.enable", "true", 1, true, false, "log.message.downconversion.enable"},
    {"message.format.version", "3.0-IV1", 2, true, false, "log.message.format.version"},
    {"message.timestamp.difference.max.ms", "9223372036854775807", 5, true, false,
     "log.message.timestamp.difference.max.ms"},
    {"message.timestamp.type", "CreateTime", 2, true, false, "log.message.timestamp.type"},
    {"min.cleanable.dirty.ratio", "0.5", 6, true, false, "log.cleaner.min.cleanable.ratio"},
    {"min.compaction.lag.ms", "0", 5, true, false, "log.cleaner.min.compaction.lag.ms"},
    {"min.insync.replicas", "1", 3, true, false, "min.insync.replicas"},
    {"preallocate", "false", 1, true, false, "log.preallocate"},
    {"retention.bytes", "-1", 5, true, false, "log.retention.bytes"},
    {"retention.ms", "604800000", 5, true, false, "log.retention.ms"},
    {"segment.bytes", "1073741824", 3, true, false, "log.segment.bytes"},
    {"segment.index.bytes", "10485760", 3, true, false, "log.index.size.max.bytes"},
    {"segment.jitter.ms", "0", 5, true, false, "log.roll.jitter.ms"},
    {"segment.ms", "604800000", 5, true, false, "log.roll.ms"},
    {"unclean.leader.election.enable", "false", 1, true, false, "unclean.leader.election.enable"},
};

static const kfs_config_def broker_defs[] = {
    {"auto.create.topics.enable", "false", 1, false, true, NULL},
    {"broker.id", "-1", 3, false, true, NULL},
    {"broker.rack", NULL, 2, false, true, NULL},
    {"compression.type", "producer", 2, true, false, NULL},
    {"default.replication.factor", "1", 3, false, true, NULL},
    {"follower.replication.throttled.rate", "9223372036854775807", 5, true, false, NULL},
    {"leader.replication.throttled.rate", "9223372036854775807", 5, true, false, NULL},
    {"log.cleanup.policy", "delete", 7, true, false, NULL},
    {"log.retention.bytes", "-1", 5, true, false, NULL},
    {"log.retention.hours", "168", 3, false, true, NULL},
    {"log.retention.ms", NULL, 5, true, false, NULL},
    {"log.segment.bytes", "1073741824", 3, true, false, NULL},
    {"message.max.bytes", "1048588", 3, true, false, NULL},
    {"min.insync.replicas", "1", 3, true, false, NULL},
    {"num.partitions", "1", 3, false, true, NULL},
    {"replica.lag.time.max.ms", "30000", 5, false, true, NULL},
    {"unclean.leader.election.enable", "false", 1, true, false, NULL},
};

const kfs_config_def *kfs_topic_config_defs(int *n)
{
    *n = (int)(sizeof topic_defs / sizeof topic_defs[0]);
    return topic_defs;
}

const kfs_config_def *kfs_broker_config_defs(int *n)
{
    *n = (int)(sizeof broker_defs / sizeof broker_defs[0]);
    return broker_defs;
}

static const kfs_config_def *broker_def(const char *name)
{
    for (size_t i = 0; i < sizeof broker_defs / sizeof broker_defs[0]; i++)
        if (strcmp(broker_defs[i].name, name) == 0) return &broker_defs[i];
    return NULL;
}

const char *kfs_broker_config(kfs_cluster *c, kfs_broker *b, const kfs_config_def *d, int8_t *source,
                              char *buf, size_t bufsz)
{
    const char *v;
    if (b && (v = kfs_kvs_get(&b->configs, d->name))) {
        *source = 2; /* DYNAMIC_BROKER_CONFIG */
        return v;
    }
    if ((v = kfs_kvs_get(&c->default_broker_configs, d->name))) {
        *source = 3; /* DYNAMIC_DEFAULT_BROKER_CONFIG */
        return v;
    }
    *source = 4; /* STATIC_BROKER_CONFIG (server.properties) */
    if (strcmp(d->name, "broker.id") == 0 && b) {
        snprintf(buf, bufsz, "%d", b->id);
        return buf;
    }
    if (strcmp(d->name, "broker.rack") == 0 && b && b->rack) return b->rack;
    if (strcmp(d->name, "num.partitions") == 0 && c->opts.default_partitions != 1) {
        snprintf(buf, bufsz, "%d", c->opts.default_partitions);
        return buf;
    }
    if (strcmp(d->name, "default.replication.factor") == 0) {
        int r = c->opts.default_replication > 0 ? c->opts.default_replication
                                                : (c->nbrokers < 3 ? c->nbrokers : 3);
        if (r != 1) {
            snprintf(buf, bufsz, "%d", r);
            return buf;
        }
    }
    if (strcmp(d->name, "min.insync.replicas") == 0 && c->opts.min_insync_replicas != 1) {
        snprintf(buf, bufsz, "%d", c->opts.min_insync_replicas);
        return buf;
    }
    *source = 5; /* DEFAULT_CONFIG */
    return d->dflt;
}

const char *kfs_topic_config(kfs_cluster *c, kfs_topic *t, const kfs_config_def *d, int8_t *source,
                             char *buf, size_t bufsz)
{
    const char *v;
    if (t && (v = kfs_kvs_get(&t->configs, d->name))) {
        *source = 1; /* DYNAMIC_TOPIC_CONFIG */
        return v;
    }
    const kfs_config_def *bd = d->synonym ? broker_def(d->synonym) : NULL;
    if (bd) {
        int8_t s;
        v = kfs_broker_config(c, NULL, bd, &s, buf, bufsz);
        if (s != 5 && v) {
            *source = s;
            return v;
        }
    }
    *source = 5;
    return d->dflt;
}

/* ---- topics ---- */

static bool valid_topic_name(const char *n)
{
    size_t len = strlen(n);
    if (len == 0 || len > 249 || strcmp(n, ".") == 0 || strcmp(n, "..") == 0) return false;
    for (size_t i = 0; i < len; i++) {
        char ch = n[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
              ch == '_' || ch == '-'))
            return false;
    }
    return true;
}

static bool valid_config_value(const kfs_config_def *d, const char *v)
{
    if (!v) return true;
    if (d->type == 3 || d->type == 5) return config_ll(v) != -1 || strcmp(v, "-1") == 0;
    if (d->type == 1) return strcmp(v, "true") == 0 || strcmp(v, "false") == 0;
    if (strcmp(d->name, "cleanup.policy") == 0)
        return strcmp(v, "delete") == 0 || strcmp(v, "compact") == 0 || strcmp(v, "compact,delete") == 0 ||
               strcmp(v, "delete,compact") == 0;
    return true;
}

static const kfs_config_def *topic_def(const char *name)
{
    for (size_t i = 0; i < sizeof topic_defs / sizeof topic_defs[0]; i++)
        if (strcmp(topic_defs[i].name, name) == 0) return &topic_defs[i];
    return NULL;
}

/* Checks a set of topic configs; 0 or 40 INVALID_CONFIG with *msg. */
int kfs_check_topic_configs(const kfs_kvs *configs, const char **msg)
{
    static char m[256];
    for (int i = 0; configs && i < configs->n; i++) {
        const kfs_config_def *d = topic_def(configs->v[i].name);
        if (!d) {
            snprintf(m, sizeof m, "Unknown topic config name: %s", configs->v[i].name);
            *msg = m;
            return 40;
        }
        if (!valid_config_value(d, configs->v[i].value)) {
            snprintf(m, sizeof m, "Invalid value %s for configuration %s", configs->v[i].value,
                     configs->v[i].name);
            *msg = m;
            return 40;
        }
    }
    return 0;
}

int kfs_check_broker_configs(const kfs_kvs *configs, const char **msg)
{
    static char m[256];
    for (int i = 0; configs && i < configs->n; i++) {
        const kfs_config_def *d = broker_def(configs->v[i].name);
        if (!d || !d->dynamic) {
            snprintf(m, sizeof m, "%s %s", d ? "Cannot update these configs dynamically:" : "Unknown broker config:",
                     configs->v[i].name);
            *msg = m;
            return 40;
        }
        if (!valid_config_value(d, configs->v[i].value)) {
            snprintf(m, sizeof m, "Invalid value %s for configuration %s", configs->v[i].value,
                     configs->v[i].name);
            *msg = m;
            return 40;
        }
    }
    return 0;
}

static int partition_init(kfs_cluster *c, kfs_partition *p, int id, const int *reps, int n)
{
    memset(p, 0, sizeof *p);
    p->id = id;
    p->leader = -1;
    p->size_bytes = -1;
    if (kfs_ids_copy(&p->replicas, reps, n) != 0) return -1;
    for (int i = 0; i < n; i++)
        if (broker_up(c, reps[i]) && kfs_ids_add(&p->isr, reps[i]) != 0) return -1;
    p->leader = p->isr.n ? p->isr.v[0] : -1;
    return 0;
}

static void partition_free(kfs_partition *p)
{
    kfs_ids_free(&p->replicas);
    kfs_ids_free(&p->isr);
    kfs_ids_free(&p->target);
    kfs_ids_free(&p->adding);
    kfs_ids_free(&p->removing);
}

static void topic_free(kfs_topic *t)
{
    if (!t) return;
    for (int i = 0; i < t->nparts; i++) partition_free(&t->parts[i]);
    free(t->parts);
    kfs_kvs_free(&t->configs);
    free(t->name);
    free(t);
}

/* Candidate brokers (sorted ids) for placement. */
static int candidates(kfs_cluster *c, bool only_up, int *out)
{
    int n = 0;
    for (int i = 0; i < c->nbrokers; i++)
        if (!only_up || c->brokers[i]->up) out[n++] = c->brokers[i]->id;
    return n;
}

static int check_assignment(kfs_cluster *c, const kfs_ids *a, int n, const char **msg)
{
    static char m[400];
    for (int i = 0; i < n; i++) {
        if (a[i].n == 0 || a[i].n != a[0].n) {
            *msg = "All partitions should have the same number of replicas";
            return 39;
        }
        for (int j = 0; j < a[i].n; j++) {
            if (!kfs_find_broker(c, a[i].v[j])) {
                snprintf(m, sizeof m, "Unknown broker %d in replica assignment", a[i].v[j]);
                *msg = m;
                return 39;
            }
            for (int k = 0; k < j; k++)
                if (a[i].v[k] == a[i].v[j]) {
                    *msg = "Duplicate replica assignment";
                    return 39;
                }
        }
    }
    return 0;
}

int kfs_model_create_topic(kfs_cluster *c, const char *name, int nparts, int repl, const kfs_ids *assignment,
                           bool only_up, bool validate_only, const kfs_kvs *configs, const char **msg)
{
    static char m[400];
    *msg = NULL;
    if (!name || !valid_topic_name(name)) {
        *msg = "Topic name is illegal";
        return 17; /* INVALID_TOPIC_EXCEPTION */
    }
    if (kfs_find_topic(c, name)) {
        snprintf(m, sizeof m, "Topic '%s' already exists.", name);
        *msg = m;
        return 36;
    }
    int rc = kfs_check_topic_configs(configs, msg);
    if (rc) return rc;
    int *cand = calloc((size_t)c->nbrokers + 1, sizeof *cand);
    if (!cand) return 42;
    int ncand = candidates(c, only_up, cand);
    if (assignment) {
        if ((rc = check_assignment(c, assignment, nparts, msg))) {
            free(cand);
            return rc;
        }
        repl = nparts > 0 ? assignment[0].n : 0;
    } else {
        if (nparts == -1) nparts = c->opts.default_partitions;
        if (repl == -1) repl = c->opts.default_replication > 0 ? c->opts.default_replication
                                                               : (c->nbrokers < 3 ? c->nbrokers : 3);
        if (nparts <= 0) {
            free(cand);
            *msg = "Number of partitions must be larger than 0.";
            return 37;
        }
        if (repl <= 0) {
            free(cand);
            *msg = "Replication factor must be larger than 0.";
            return 38;
        }
        if (repl > ncand) {
            free(cand);
            snprintf(m, sizeof m, "Replication factor: %d larger than available brokers: %d.", repl, ncand);
            *msg = m;
            return 38;
        }
    }
    if (validate_only) {
        free(cand);
        return 0;
    }
    kfs_topic *t = calloc(1, sizeof *t);
    kfs_topic **nt = realloc(c->topics, (size_t)(c->ntopics + 1) * sizeof *nt);
    if (nt) c->topics = nt;
    if (!t || !nt || !(t->name = strdup(name)) || !(t->parts = calloc((size_t)nparts, sizeof *t->parts))) {
        topic_free(t);
        free(cand);
        return 42;
    }
    int *reps = calloc((size_t)repl + 1, sizeof *reps);
    for (int p = 0; reps && p < nparts; p++) {
        if (assignment) memcpy(reps, assignment[p].v, (size_t)repl * sizeof *reps);
        else
            for (int j = 0; j < repl; j++) reps[j] = cand[(p + j) % ncand];
        partition_init(c, &t->parts[p], p, reps, repl);
        t->nparts++;
    }
    free(reps);
    free(cand);
    for (int i = 0; configs && i < configs->n; i++)
        if (configs->v[i].value) kfs_kvs_set(&t->configs, configs->v[i].name, configs->v[i].value);
    c->topics[c->ntopics++] = t;
    changed(c);
    return 0;
}

int kfs_model_delete_topic(kfs_cluster *c, const char *name)
{
    for (int i = 0; i < c->ntopics; i++)
        if (strcmp(c->topics[i]->name, name) == 0) {
            topic_free(c->topics[i]);
            memmove(c->topics + i, c->topics + i + 1, (size_t)(c->ntopics - i - 1) * sizeof *c->topics);
            c->ntopics--;
            changed(c);
            return 0;
        }
    return 3;
}

int kfs_model_add_partitions(kfs_cluster *c, kfs_topic *t, int count, const kfs_ids *assignment,
                             bool validate_only, const char **msg)
{
    static char m[400];
    *msg = NULL;
    if (count <= t->nparts) {
        snprintf(m, sizeof m, "Topic currently has %d partitions, which is higher than the requested %d.",
                 t->nparts, count);
        *msg = m;
        return 37;
    }
    int add = count - t->nparts;
    int repl = t->nparts ? t->parts[0].replicas.n : 1;
    int rc;
    if (assignment && (rc = check_assignment(c, assignment, add, msg))) return rc;
    int *cand = calloc((size_t)c->nbrokers + 1, sizeof *cand);
    if (!cand) return 42;
    int ncand = candidates(c, true, cand);
    if (!assignment && repl > ncand) {
        free(cand);
        snprintf(m, sizeof m, "Replication factor: %d larger than available brokers: %d.", repl, ncand);
        *msg = m;
        return 38;
    }
    if (validate_only) {
        free(cand);
        return 0;
    }
    kfs_partition *np = realloc(t->parts, (size_t)count * sizeof *np);
    if (!np) {
        free(cand);
        return 42;
    }
    t->parts = np;
    int width = assignment ? assignment[0].n : repl;
    int *reps = calloc((size_t)width + 1, sizeof *reps);
    for (int k = 0; reps && k < add; k++) {
        int p = t->nparts;
        if (assignment) memcpy(reps, assignment[k].v, (size_t)width * sizeof *reps);
        else
            for (int j = 0; j < width; j++) reps[j] = cand[(p + j) % ncand];
        partition_init(c, &t->parts[p], p, reps, width);
        t->nparts++;
    }
    free(reps);
    free(cand);
    changed(c);
    return 0;
}

void kfs_model_free(kfs_cluster *c)
{
    for (int i = 0; i < c->nbrokers; i++) {
        kfs_broker *b = c->brokers[i];
        for (int j = 0; j < b->nls; j++) {
            free(b->ls[j].name);
            free(b->ls[j].host);
        }
        free(b->ls);
        free(b->rack);
        kfs_kvs_free(&b->configs);
        free(b);
    }
    free(c->brokers);
    for (int i = 0; i < c->ntopics; i++) topic_free(c->topics[i]);
    free(c->topics);
    for (int i = 0; i < c->ngroups; i++) {
        for (int j = 0; j < c->groups[i]->noffs; j++) free(c->groups[i]->offs[j].topic);
        free(c->groups[i]->offs);
        free(c->groups[i]->id);
        free(c->groups[i]);
    }
    free(c->groups);
    for (int i = 0; i < c->nacls; i++) {
        free(c->acls[i].name);
        free(c->acls[i].principal);
        free(c->acls[i].host);
    }
    free(c->acls);
    kfs_kvs_free(&c->default_broker_configs);
    free(c->ctrls);
    free(c->cluster_id);
}

/* ---- public model API (takes the lock) ---- */


static kfs_partition *find_partition(kfs_cluster *c, const char *topic, int partition, kfs_topic **tp)
{
    kfs_topic *t = kfs_find_topic(c, topic);
    if (tp) *tp = t;
    if (!t || partition < 0 || partition >= t->nparts) return NULL;
    return &t->parts[partition];
}

int kfs_topic_create(kfs_cluster *c, const char *topic, int partitions, int replication)
{
    const char *msg;
    kfs_api_lock(c);
    int rc = kfs_model_create_topic(c, topic, partitions > 0 ? partitions : -1, replication > 0 ? replication : -1,
                                    NULL, false, false, NULL, &msg);
    kfs_api_unlock(c);
    return rc ? -1 : 0;
}

int kfs_topic_create_configs(kfs_cluster *c, const char *topic, int partitions, int replication,
                             const char *const *kv)
{
    const char *msg;
    kfs_kvs cfg = {0};
    for (int i = 0; kv && kv[i] && kv[i + 1]; i += 2) kfs_kvs_set(&cfg, kv[i], kv[i + 1]);
    kfs_api_lock(c);
    int rc = kfs_model_create_topic(c, topic, partitions > 0 ? partitions : -1, replication > 0 ? replication : -1,
                                    NULL, false, false, &cfg, &msg);
    kfs_api_unlock(c);
    kfs_kvs_free(&cfg);
    return rc ? -1 : 0;
}

int kfs_partition_set_leader(kfs_cluster *c, const char *topic, int partition, int leader)
{
    kfs_api_lock(c);
    kfs_partition *p = find_partition(c, topic, partition, NULL);
    int rc = -1;
    if (p && leader == -1) {
        set_leader(c, p, -1);
        rc = 0;
    } else if (p && kfs_ids_has(&p->replicas, leader) && broker_up(c, leader)) {
        isr_add(c, p, leader);
        set_leader(c, p, leader);
        rc = 0;
    }
    kfs_api_unlock(c);
    return rc;
}

int kfs_partition_reassign(kfs_cluster *c, const char *topic, int partition, const int *replicas, int n,
                           long bytes)
{
    kfs_api_lock(c);
    kfs_topic *t;
    kfs_partition *p = find_partition(c, topic, partition, &t);
    int rc = p ? kfs_model_reassign(c, t, p, replicas, n, (double)bytes) : -1;
    kfs_api_unlock(c);
    return rc;
}

bool kfs_reassign_active(kfs_cluster *c)
{
    bool active = false;
    kfs_api_lock(c);
    for (int i = 0; i < c->ntopics && !active; i++)
        for (int j = 0; j < c->topics[i]->nparts; j++)
            if (c->topics[i]->parts[j].target.n > 0) active = true;
    kfs_api_unlock(c);
    return active;
}

int kfs_group_commit(kfs_cluster *c, const char *group, const char *topic, int partition, long offset)
{
    if (!group || !topic || partition < 0) return -1;
    int rc = -1;
    kfs_api_lock(c);
    kfs_group *g = kfs_find_group(c, group);
    if (!g) {
        kfs_group **ng = realloc(c->groups, (size_t)(c->ngroups + 1) * sizeof *ng);
        if (!ng) goto out;
        c->groups = ng;
        g = calloc(1, sizeof *g);
        if (!g || !(g->id = strdup(group))) {
            free(g);
            goto out;
        }
        c->groups[c->ngroups++] = g;
    }
    for (int i = 0; i < g->noffs; i++)
        if (g->offs[i].partition == partition && strcmp(g->offs[i].topic, topic) == 0) {
            g->offs[i].offset = offset;
            rc = 0;
            goto out;
        }
    kfs_offset *no = realloc(g->offs, (size_t)(g->noffs + 1) * sizeof *no);
    if (!no) goto out;
    g->offs = no;
    if (!(no[g->noffs].topic = strdup(topic))) goto out;
    no[g->noffs].partition = partition;
    no[g->noffs].offset = offset;
    g->noffs++;
    rc = 0;
out:
    changed(c);
    kfs_api_unlock(c);
    return rc;
}

int kfs_partition_set_end_offset(kfs_cluster *c, const char *topic, int partition, long offset)
{
    kfs_api_lock(c);
    kfs_partition *p = find_partition(c, topic, partition, NULL);
    if (p && offset >= 0) p->end_offset = offset;
    kfs_api_unlock(c);
    return p && offset >= 0 ? 0 : -1;
}

int kfs_partition_set_size(kfs_cluster *c, const char *topic, int partition, long bytes)
{
    kfs_api_lock(c);
    kfs_partition *p = find_partition(c, topic, partition, NULL);
    if (p) p->size_bytes = bytes < 0 ? -1 : bytes;
    kfs_api_unlock(c);
    return p ? 0 : -1;
}

/* ---- kafka-reassign-partitions.sh ---- */

typedef struct plan_entry {
    const char *topic;
    int partition;
    int replicas[64];
    int n;
} plan_entry;

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    char *s = NULL;
    if (vasprintf(&s, f, ap) < 0) s = NULL;
    va_end(ap);
    return s;
}

/* Parses a plan; returns entries (json owns the strings) or NULL with *err. */
static plan_entry *parse_plan(json_t *root, int *n, char **err)
{
    json_t *parts = json_is_object(root) ? json_object_get(root, "partitions") : NULL;
    if (!json_is_array(parts)) {
        *err = fmt("Error: the reassignment JSON must have a \"partitions\" array\n");
        return NULL;
    }
    size_t cnt = json_array_size(parts);
    plan_entry *e = calloc(cnt + 1, sizeof *e);
    if (!e) return NULL;
    for (size_t i = 0; i < cnt; i++) {
        json_t *it = json_array_get(parts, i);
        json_t *t = json_object_get(it, "topic"), *p = json_object_get(it, "partition"),
               *r = json_object_get(it, "replicas");
        if (!json_is_string(t) || !json_is_integer(p) || !json_is_array(r) || json_array_size(r) == 0 ||
            json_array_size(r) > 64) {
            *err = fmt("Error: partition entry %zu needs \"topic\", \"partition\" and \"replicas\"\n", i);
            free(e);
            return NULL;
        }
        e[i].topic = json_string_value(t);
        e[i].partition = (int)json_integer_value(p);
        for (size_t j = 0; j < json_array_size(r); j++) {
            json_t *id = json_array_get(r, j);
            if (!json_is_integer(id)) {
                *err = fmt("Error: replicas of %s-%d must be broker ids\n", e[i].topic, e[i].partition);
                free(e);
                return NULL;
            }
            e[i].replicas[e[i].n++] = (int)json_integer_value(id);
        }
    }
    *n = (int)cnt;
    return e;
}

/* Appends to a malloc'd string. */
static void cat(char **s, const char *add)
{
    if (!add) return;
    size_t a = *s ? strlen(*s) : 0, b = strlen(add);
    char *n = realloc(*s, a + b + 1);
    if (!n) return;
    memcpy(n + a, add, b + 1);
    *s = n;
}

static void catf(char **s, const char *f, ...) __attribute__((format(printf, 2, 3)));
static void catf(char **s, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    char *x = NULL;
    if (vasprintf(&x, f, ap) < 0) x = NULL;
    va_end(ap);
    cat(s, x);
    free(x);
}

static void cat_ids(char **s, const int *v, int n)
{
    cat(s, "[");
    for (int i = 0; i < n; i++) catf(s, "%s%d", i ? "," : "", v[i]);
    cat(s, "]");
}

/* The plan file's text parsed; NULL with the tool's error text in *out_log. */
static plan_entry *load_plan(const char *plan_json, json_t **root, int *n, char **out_log)
{
    json_error_t jerr;
    char *err = NULL;
    *root = json_loads(plan_json ? plan_json : "", 0, &jerr);
    if (!*root) {
        *out_log = fmt("Error: invalid reassignment JSON: %s\n", jerr.text);
        return NULL;
    }
    plan_entry *e = parse_plan(*root, n, &err);
    if (!e) {
        json_decref(*root);
        *out_log = err;
    }
    return e;
}

int kfs_reassign_execute(kfs_cluster *c, const char *plan_json, long throttle, char **out_log)
{
    char *log = NULL, *err = NULL;
    json_t *root;
    int n = 0;
    plan_entry *e = load_plan(plan_json, &root, &n, out_log);
    if (!e) return -1;
    kfs_api_lock(c);
    int rc = -1;
    for (int i = 0; i < c->ntopics; i++)
        for (int j = 0; j < c->topics[i]->nparts; j++)
            if (c->topics[i]->parts[j].target.n > 0) {
                err = fmt("Cannot execute because there is an existing partition assignment.  Use --additional to "
                          "override this and create a new partition assignment in addition to the existing one. "
                          "The --additional flag can also be used to change the throttle by resubmitting the current "
                          "reassignment.\n");
                goto out;
            }
    for (int i = 0; i < n; i++) {
        if (!find_partition(c, e[i].topic, e[i].partition, NULL)) {
            err = fmt("Error: org.apache.kafka.common.errors.UnknownTopicOrPartitionException: Unable to find "
                      "partition: %s-%d\n", e[i].topic, e[i].partition);
            goto out;
        }
        for (int j = 0; j < e[i].n; j++) {
            if (!kfs_find_broker(c, e[i].replicas[j])) {
                err = fmt("Error: The proposed assignment contains non-existent brokerIDs: %d\n", e[i].replicas[j]);
                goto out;
            }
            for (int k = 0; k < j; k++)
                if (e[i].replicas[k] == e[i].replicas[j]) {
                    err = fmt("Error: Duplicate brokers not allowed in replica assignment: %d for partition %s-%d\n",
                              e[i].replicas[j], e[i].topic, e[i].partition);
                    goto out;
                }
        }
    }
    cat(&log, "Current partition replica assignment\n\n{\"version\":1,\"partitions\":[");
    for (int i = 0; i < n; i++) {
        kfs_partition *p = find_partition(c, e[i].topic, e[i].partition, NULL);
        catf(&log, "%s{\"topic\":\"%s\",\"partition\":%d,\"replicas\":", i ? "," : "", e[i].topic, e[i].partition);
        cat_ids(&log, p->replicas.v, p->replicas.n);
        cat(&log, ",\"log_dirs\":[");
        for (int j = 0; j < p->replicas.n; j++) cat(&log, j ? ",\"any\"" : "\"any\"");
        cat(&log, "]}");
    }
    cat(&log, "]}\n\nSave this to use as the --reassignment-json-file option during rollback\n");
    if (throttle >= 0) {
        char v[32];
        snprintf(v, sizeof v, "%ld", throttle);
        for (int i = 0; i < n; i++) {
            kfs_partition *p = find_partition(c, e[i].topic, e[i].partition, NULL);
            for (int k = 0; k < 2; k++) {
                const int *ids = k ? e[i].replicas : p->replicas.v;
                int cnt = k ? e[i].n : p->replicas.n;
                for (int j = 0; j < cnt; j++) {
                    kfs_broker *b = kfs_find_broker(c, ids[j]);
                    if (!b) continue;
                    kfs_kvs_set(&b->configs, "leader.replication.throttled.rate", v);
                    kfs_kvs_set(&b->configs, "follower.replication.throttled.rate", v);
                }
            }
        }
        cat(&log, "Warning: You must run --verify periodically, until the reassignment completes, to ensure the "
                  "throttle is removed.\n");
        catf(&log, "The inter-broker throttle limit was set to %ld B/s\n", throttle);
    }
    cat(&log, "Successfully started partition reassignments for ");
    for (int i = 0; i < n; i++) {
        kfs_topic *t;
        kfs_partition *p = find_partition(c, e[i].topic, e[i].partition, &t);
        double bytes = p->size_bytes >= 0 ? (double)p->size_bytes : (double)p->end_offset * 1024.0;
        kfs_model_reassign(c, t, p, e[i].replicas, e[i].n, bytes);
        catf(&log, "%s%s-%d", i ? "," : "", e[i].topic, e[i].partition);
    }
    cat(&log, "\n");
    rc = 0;
out:
    kfs_api_unlock(c);
    free(e);
    json_decref(root);
    if (rc) {
        free(log);
        *out_log = err;
    } else {
        *out_log = log;
    }
    return rc;
}

int kfs_reassign_verify(kfs_cluster *c, const char *plan_json, bool *complete, char **out_log)
{
    char *log = NULL;
    json_t *root;
    int n = 0;
    *complete = false;
    plan_entry *e = load_plan(plan_json, &root, &n, out_log);
    if (!e) return -1;
    kfs_api_lock(c);
    bool all = true;
    cat(&log, "Status of partition reassignment:\n");
    for (int i = 0; i < n; i++) {
        kfs_partition *p = find_partition(c, e[i].topic, e[i].partition, NULL);
        if (!p) {
            catf(&log, "Reassignment of partition %s-%d failed: the partition does not exist.\n", e[i].topic,
                 e[i].partition);
            all = false;
        } else if (p->target.n > 0) {
            catf(&log, "Reassignment of partition %s-%d is still in progress.\n", e[i].topic, e[i].partition);
            all = false;
        } else if (p->replicas.n == e[i].n && memcmp(p->replicas.v, e[i].replicas, (size_t)e[i].n * sizeof(int)) == 0) {
            catf(&log, "Reassignment of partition %s-%d is completed.\n", e[i].topic, e[i].partition);
        } else {
            catf(&log, "There is no active reassignment of partition %s-%d, but replica set is ", e[i].topic,
                 e[i].partition);
            cat_ids(&log, p->replicas.v, p->replicas.n);
            cat(&log, " rather than ");
            cat_ids(&log, e[i].replicas, e[i].n);
            cat(&log, ".\n");
            all = false;
        }
    }
    if (all) {
        /* Like the tool: once everything is done, clear the throttles it set. */
        char *ids = NULL;
        for (int i = 0; i < c->nbrokers; i++) {
            kfs_broker *b = c->brokers[i];
            if (kfs_kvs_get(&b->configs, "leader.replication.throttled.rate") ||
                kfs_kvs_get(&b->configs, "follower.replication.throttled.rate")) {
                kfs_kvs_set(&b->configs, "leader.replication.throttled.rate", NULL);
                kfs_kvs_set(&b->configs, "follower.replication.throttled.rate", NULL);
                catf(&ids, "%s%d", ids ? "," : "", b->id);
            }
        }
        if (ids) catf(&log, "\nClearing broker-level throttles on brokers %s\n", ids);
        free(ids);
    }
    kfs_api_unlock(c);
    *complete = all;
    free(e);
    json_decref(root);
    *out_log = log;
    return 0;
}

/* ---- KRaft quorum ---- */

static void quorum_update(kfs_cluster *c)
{
    int up = 0, lowest = -1;
    for (int i = 0; i < c->nctrls; i++)
        if (c->ctrls[i].up) {
            up++;
            if (lowest < 0 || c->ctrls[i].id < lowest) lowest = c->ctrls[i].id;
        }
    int leader = (c->nctrls > 0 && up * 2 > c->nctrls) ? lowest : -1;
    if (leader != c->quorum_leader) {
        c->quorum_leader = leader;
        if (leader >= 0) c->quorum_epoch++;
    }
    changed(c);
}

int kfs_controller_add(kfs_cluster *c, int node_id)
{
    int rc = -1;
    kfs_api_lock(c);
    bool exists = false;
    for (int i = 0; i < c->nctrls; i++)
        if (c->ctrls[i].id == node_id) exists = true;
    kfs_controller *nc = exists ? NULL : realloc(c->ctrls, (size_t)(c->nctrls + 1) * sizeof *nc);
    if (nc) {
        c->ctrls = nc;
        nc[c->nctrls++] = (kfs_controller){.id = node_id, .up = true};
        quorum_update(c);
        rc = 0;
    }
    kfs_api_unlock(c);
    return rc;
}

int kfs_controller_set_up(kfs_cluster *c, int node_id, bool up)
{
    int rc = -1;
    kfs_api_lock(c);
    for (int i = 0; i < c->nctrls; i++)
        if (c->ctrls[i].id == node_id) {
            if (c->ctrls[i].up && !up) {
                c->ctrls[i].down_offset = c->metadata_offset;
                c->ctrls[i].down_since = kfs_now_ms();
            }
            c->ctrls[i].up = up;
            quorum_update(c);
            rc = 0;
        }
    kfs_api_unlock(c);
    return rc;
}

char *kfs_quorum_status(kfs_cluster *c)
{
    char *s = NULL;
    kfs_api_lock(c);
    long long now = kfs_now_ms(), lag = 0, lag_ms = 0;
    for (int i = 0; i < c->nctrls; i++)
        if (!c->ctrls[i].up && c->quorum_leader >= 0) {
            if (c->metadata_offset - c->ctrls[i].down_offset > lag) lag = c->metadata_offset - c->ctrls[i].down_offset;
            if (now - c->ctrls[i].down_since > lag_ms) lag_ms = now - c->ctrls[i].down_since;
        }
    catf(&s, "ClusterId:              %s\n", c->cluster_id);
    catf(&s, "LeaderId:               %d\n", c->quorum_leader);
    catf(&s, "LeaderEpoch:            %d\n", c->quorum_epoch);
    catf(&s, "HighWatermark:          %lld\n", c->quorum_leader >= 0 ? c->metadata_offset : -1);
    catf(&s, "MaxFollowerLag:         %lld\n", lag);
    catf(&s, "MaxFollowerLagTimeMs:   %lld\n", lag_ms);
    cat(&s, "CurrentVoters:          [");
    for (int i = 0; i < c->nctrls; i++) catf(&s, "%s%d", i ? "," : "", c->ctrls[i].id);
    cat(&s, "]\nCurrentObservers:       [");
    bool first = true;
    for (int i = 0; i < c->nbrokers; i++)
        if (c->brokers[i]->up) {
            catf(&s, "%s%d", first ? "" : ",", c->brokers[i]->id);
            first = false;
        }
    cat(&s, "]\n");
    kfs_api_unlock(c);
    return s;
}

/* ---- JSON view ---- */

static json_t *ids_json(const kfs_ids *s)
{
    json_t *a = json_array();
    for (int i = 0; i < s->n; i++) json_array_append_new(a, json_integer(s->v[i]));
    return a;
}

static json_t *kvs_json(const kfs_kvs *s)
{
    json_t *o = json_object();
    for (int i = 0; i < s->n; i++) json_object_set_new(o, s->v[i].name, json_string(s->v[i].value));
    return o;
}

char *kfs_model_json(kfs_cluster *c)
{
    kfs_api_lock(c);
    json_t *root = json_object();
    json_object_set_new(root, "cluster_id", json_string(c->cluster_id));
    json_object_set_new(root, "controller_id", json_integer(kfs_controller_id(c)));
    json_t *bs = json_array();
    for (int i = 0; i < c->nbrokers; i++) {
        kfs_broker *b = c->brokers[i];
        json_t *ls = json_array();
        for (int j = 0; j < b->nls; j++)
            json_array_append_new(ls, json_pack("{s:s,s:s,s:i}", "name", b->ls[j].name, "host", b->ls[j].host,
                                                "port", b->ls[j].bound_port ? b->ls[j].bound_port : b->ls[j].port));
        json_array_append_new(bs, json_pack("{s:i,s:o,s:b,s:o,s:o}", "id", b->id, "rack",
                                            b->rack ? json_string(b->rack) : json_null(), "up", b->up, "listeners",
                                            ls, "configs", kvs_json(&b->configs)));
    }
    json_object_set_new(root, "brokers", bs);
    json_object_set_new(root, "broker_default_configs", kvs_json(&c->default_broker_configs));
    json_t *ts = json_array();
    for (int i = 0; i < c->ntopics; i++) {
        kfs_topic *t = c->topics[i];
        json_t *ps = json_array();
        for (int j = 0; j < t->nparts; j++) {
            kfs_partition *p = &t->parts[j];
            json_t *po = json_pack("{s:i,s:i,s:i,s:o,s:o,s:o,s:o,s:I}", "partition", p->id, "leader", p->leader,
                                   "leader_epoch", p->epoch, "replicas", ids_json(&p->replicas), "isr",
                                   ids_json(&p->isr), "adding_replicas", ids_json(&p->adding), "removing_replicas",
                                   ids_json(&p->removing), "end_offset", (json_int_t)p->end_offset);
            if (p->target.n > 0) {
                json_object_set_new(po, "reassign_bytes", json_real(p->bytes));
                json_object_set_new(po, "reassign_done_bytes", json_real(p->done < p->bytes ? p->done : p->bytes));
            }
            json_array_append_new(ps, po);
        }
        json_array_append_new(ts, json_pack("{s:s,s:o,s:o}", "name", t->name, "configs", kvs_json(&t->configs),
                                            "partitions", ps));
    }
    json_object_set_new(root, "topics", ts);
    json_t *as = json_array();
    for (int i = 0; i < c->nacls; i++) {
        kfs_acl *a = &c->acls[i];
        json_array_append_new(as, json_pack("{s:i,s:s,s:i,s:s,s:s,s:i,s:i}", "resource_type", a->rtype,
                                            "resource_name", a->name, "pattern_type", a->pattern, "principal",
                                            a->principal, "host", a->host, "operation", a->op, "permission_type",
                                            a->perm));
    }
    json_object_set_new(root, "acls", as);
    json_t *gs = json_array();
    for (int i = 0; i < c->ngroups; i++) {
        kfs_group *g = c->groups[i];
        json_t *os = json_array();
        for (int j = 0; j < g->noffs; j++)
            json_array_append_new(os, json_pack("{s:s,s:i,s:I}", "topic", g->offs[j].topic, "partition",
                                                g->offs[j].partition, "offset", (json_int_t)g->offs[j].offset));
        json_array_append_new(gs, json_pack("{s:s,s:o}", "id", g->id, "offsets", os));
    }
    json_object_set_new(root, "groups", gs);
    json_t *cs = json_array();
    for (int i = 0; i < c->nctrls; i++)
        json_array_append_new(cs, json_pack("{s:i,s:b}", "id", c->ctrls[i].id, "up", c->ctrls[i].up));
    json_object_set_new(root, "controllers", cs);
    json_object_set_new(root, "quorum_leader", json_integer(c->quorum_leader));
    kfs_api_unlock(c);
    char *s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    return s;
}
