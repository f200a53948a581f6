/* topics.c — see topics.h. */
#define _GNU_SOURCE
#include "topics.h"
#include "cluster_health.h"
#include "kafka/admin.h"
#include "../store/topics.h"
#include "../core/phase.h"

#include <librdkafka/rdkafka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Rows a turn reads at a time (each ~1 KiB with its JSON); a cluster's
 * topics are bounded by its tenant's max_topics quota. */
#define TOPICS_PAGE 200

/* What one topic's step found; written into its row. */
typedef struct outcome {
    topic_phase phase;
    const char *reason;        /* static */
    char message[512];
    bool in_kafka;
    int kpartitions, krf;      /* as Kafka has them; 0: not known */
    json_t *managed_keys;      /* owned or NULL: the config keys streamplane set */
    bool remove;               /* the row goes (a deletion finished) */
    bool transient;            /* try again soon */
    bool observed;             /* the row's generation is done (READY or FAILED) */
} outcome;

static const kadm_topic *find(const kadm_topic *ts, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(ts[i].name, name) == 0) return &ts[i];
    return NULL;
}

static void refused_or_wait(outcome *o, kadm_err e, const char *err, const char *reason)
{
    snprintf(o->message, sizeof o->message, "%s", err);
    if (kadm_transient(e) || e == KADM_EXISTS || e == KADM_NOT_FOUND) {
        o->phase = TOPIC_PENDING;
        o->reason = "KafkaNotReady";
        o->transient = true;
    } else {
        o->phase = TOPIC_FAILED;
        o->reason = reason;
        o->observed = true;
    }
}

static json_t *config_keys(const json_t *cfg)
{
    json_t *a = json_array();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)cfg, k, v) json_array_append_new(a, json_string(k));
    return a;
}

/* The topic's dynamic configs made to match the declared ones
 * (read-merge-write, AlterConfigs replaces the whole set). */
static kadm_err sync_config(rd_kafka_t *rk, const store_topic *t, int timeout, outcome *o, char *err, size_t errlen)
{
    const json_t *want = json_object_get(t->spec, "config");
    json_t *cur = NULL;
    kadm_err e = kadm_topic_configs(rk, t->name, timeout, &cur, err, errlen);
    if (e != KADM_OK) return e;
    json_t *set = kadm_topic_config_merge(cur, json_object_get(t->status, "managed_config_keys"), want);
    if (!json_equal(set, cur)) e = kadm_alter_topic_configs(rk, t->name, set, timeout, err, errlen);
    if (e == KADM_OK) o->managed_keys = config_keys(want);
    json_decref(set);
    json_decref(cur);
    return e;
}

/* A declared topic: create it, or grow it and write its config. */
static void step_live(rd_kafka_t *rk, const store_topic *t, const kadm_topic *k, int timeout, outcome *o)
{
    char err[400] = "";
    const json_t *cfg = json_object_get(t->spec, "config");
    int want = (int)t->partitions, rf = (int)t->replication_factor;
    /* Not made by streamplane yet: create it, even when metadata lists the
     * name. A broker's metadata may still list a topic deleted a moment ago
     * (a name deleted and declared again); only Kafka's "exists already"
     * means there is one to adopt (made outside the API). */
    kadm_err e = KADM_EXISTS;
    if (!k || !json_is_true(json_object_get(t->status, "in_kafka"))) {
        e = kadm_create_topic(rk, t->name, want, rf, cfg, timeout, err, sizeof err);
        if (e != KADM_OK && !(e == KADM_EXISTS && k)) { refused_or_wait(o, e, err, "KafkaRefused"); return; }
    }
    if (e == KADM_OK) {
        o->in_kafka = true;
        o->kpartitions = want;
        o->krf = rf;
        o->managed_keys = config_keys(cfg);
    } else {
        o->in_kafka = true;
        o->kpartitions = k->partitions;
        o->krf = k->replication_factor;
        if (k->partitions > want) {
            o->phase = TOPIC_FAILED;
            o->reason = "PartitionsAhead";
            o->observed = true;
            snprintf(o->message, sizeof o->message, "Kafka has %d partitions, more than the %d declared; "
                     "partitions cannot be removed: declare at least %d", k->partitions, want, k->partitions);
            return;
        }
        if (k->replication_factor != rf) {
            o->phase = TOPIC_FAILED;
            o->reason = "ReplicationFactorDiffers";
            o->observed = true;
            snprintf(o->message, sizeof o->message, "Kafka has replication factor %d, not the %d declared; "
                     "streamplane does not reassign a topic's replicas", k->replication_factor, rf);
            return;
        }
        if (k->partitions < want && (e = kadm_create_partitions(rk, t->name, want, timeout, err, sizeof err)) != KADM_OK) {
            refused_or_wait(o, e, err, "KafkaRefused");
            return;
        }
        o->kpartitions = want;
        if ((e = sync_config(rk, t, timeout, o, err, sizeof err)) != KADM_OK) {
            refused_or_wait(o, e, err, "ConfigRefused");
            return;
        }
    }
    o->phase = TOPIC_READY;
    o->reason = "Ready";
    o->observed = true;
    snprintf(o->message, sizeof o->message, "Kafka has the topic with %d partitions, replication factor %d "
             "and the declared config", want, rf);
}

/* A topic being deleted: gone from Kafka, then the row goes. */
static void step_delete(rd_kafka_t *rk, const store_topic *t, const kadm_topic *k, int timeout, outcome *o)
{
    char err[400] = "";
    o->phase = TOPIC_DELETING;
    o->reason = "Deleting";
    kadm_err e = k ? kadm_delete_topic(rk, t->name, timeout, err, sizeof err) : KADM_NOT_FOUND;
    if (e == KADM_OK || e == KADM_NOT_FOUND) { o->remove = true; return; }
    snprintf(o->message, sizeof o->message, "%s", err);
    o->reason = kadm_transient(e) ? "Deleting" : "DeleteRefused";
    o->transient = true;
}

/* Writes o into row seq when it still is at generation gen; nothing when
 * nothing changed. */
static int record(store_t *st, int64_t seq, int64_t gen, outcome *o)
{
    if (store_begin(st) != ST_OK) return -1;
    store_topic t;
    int rc = store_topic_get_seq(st, seq, &t);
    if (rc == ST_NOTFOUND) { store_rollback(st); return 0; }
    if (rc != ST_OK) { store_rollback(st); return -1; }
    bool wrote = false;
    if (t.generation == gen) {
        if (o->remove) {
            rc = store_topic_delete(st, seq);
            wrote = true;
        } else {
            json_t *before = json_deep_copy(t.status);
            char phase_before[16];
            snprintf(phase_before, sizeof phase_before, "%s", t.phase);
            snprintf(t.phase, sizeof t.phase, "%s", topic_phase_name(o->phase));
            json_object_set_new(t.status, "reason", json_string(o->reason));
            json_object_set_new(t.status, "message", json_string(o->message));
            json_object_set_new(t.status, "in_kafka", json_boolean(o->in_kafka));
            if (o->kpartitions > 0)
                json_object_set_new(t.status, "kafka", json_pack("{s:i, s:i}", "partitions", o->kpartitions,
                                                                 "replication_factor", o->krf));
            if (o->managed_keys) json_object_set(t.status, "managed_config_keys", o->managed_keys);
            if (o->observed) json_object_set_new(t.status, "observed_generation", json_integer(gen));
            if (!json_equal(before, t.status) || strcmp(phase_before, t.phase) != 0) {
                rc = store_topic_update(st, &t, 0);
                wrote = true;
            }
            json_decref(before);
        }
    }
    store_topic_clear(&t);
    if (rc != ST_OK || !wrote) { store_rollback(st); return rc == ST_OK ? 0 : -1; }
    return store_commit(st) == ST_OK ? 0 : -1;
}

/* Kafka cannot be asked (cluster not ready, no route, no client): topics
 * wait with the reason; deletions of topics never made in Kafka finish. */
static int note_waiting(store_t *st, store_topic *rows, int n, const char *reason, const char *why)
{
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        outcome o = {.phase = topic_phase_parse(rows[i].phase), .reason = reason};
        o.in_kafka = json_is_true(json_object_get(rows[i].status, "in_kafka"));
        if (o.phase == TOPIC_DELETING) {
            if (!o.in_kafka) o.remove = true;
            else { o.reason = "Deleting"; snprintf(o.message, sizeof o.message, "%s", why); }
        } else if (o.phase == TOPIC_PENDING) {
            snprintf(o.message, sizeof o.message, "%s", why);
        } else continue;   /* READY and FAILED keep what Kafka last said */
        rc = record(st, rows[i].seq, rows[i].generation, &o);
    }
    return rc;
}

/* DELETING rows first: a name deleted and declared again is freed first. */
static int delete_first(const void *a, const void *b)
{
    const store_topic *x = a, *y = b;
    int dx = topic_phase_parse(x->phase) == TOPIC_DELETING, dy = topic_phase_parse(y->phase) == TOPIC_DELETING;
    if (dx != dy) return dy - dx;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

/* One row: the step its phase needs. false when it needs none: done at
 * its generation (FAILED waits for a change) and, when READY, Kafka still
 * has it with its partitions (a topic deleted outside is created again). */
static bool step_row(rd_kafka_t *rk, const store_topic *t, const kadm_topic *ks, int nk, int timeout, outcome *o)
{
    const kadm_topic *k = find(ks, nk, t->name);
    topic_phase p = topic_phase_parse(t->phase);
    bool done = json_integer_value(json_object_get(t->status, "observed_generation")) == t->generation;
    if (p == TOPIC_DELETING) { step_delete(rk, t, k, timeout, o); return true; }
    if (done && p == TOPIC_FAILED) return false;
    if (done && p == TOPIC_READY && k && k->partitions == t->partitions) return false;
    step_live(rk, t, k, timeout, o);
    return true;
}

/* Kafka can be asked: every row's step, then its outcome. */
static int apply_rows(reconciler *rc_, rd_kafka_t *rk, store_topic *rows, int n, bool *pending, bool *transport)
{
    char err[400];
    kadm_topic *ks = NULL;
    int nk = 0;
    int timeout = rc_->kafka_timeout_ms > 0 ? rc_->kafka_timeout_ms : 5000;
    kadm_err e = kadm_list_topics(rk, timeout, &ks, &nk, err, sizeof err);
    if (e != KADM_OK) {
        *transport = e == KADM_UNREACHABLE;
        char why[480];
        snprintf(why, sizeof why, "Kafka cannot be read: %s", err);
        note_waiting(rc_->store, rows, n, "KafkaUnreachable", why);
        return -1;
    }
    qsort(rows, (size_t)n, sizeof *rows, delete_first);
    int out = 0;
    for (int i = 0; i < n && out == 0; i++) {
        outcome o = {0};
        if (!step_row(rk, &rows[i], ks, nk, timeout, &o)) continue;
        if (o.transient) *pending = true;
        if (o.remove) {   /* deleted just now: a live row of that name must create, not adopt, it */
            kadm_topic *k = (kadm_topic *)find(ks, nk, rows[i].name);
            if (k) k->name[0] = '\0';
        }
        out = record(rc_->store, rows[i].seq, rows[i].generation, &o);
        json_decref(o.managed_keys);
    }
    free(ks);
    return out;
}

/* Whether the cluster has converged at least once (its brokers exist). */
static bool cluster_ready(const store_res *c)
{
    cluster_phase p = phase_of(c);
    return p == PHASE_RUNNING || p == PHASE_DEGRADED ||
           (p == PHASE_UPDATING && json_integer_value(json_object_get(c->status, "observed_generation")) > 0);
}

static int turn(reconciler *rc_, store_res *c, const json_t *plane, store_topic *rows, int n, bool *pending)
{
    if (!cluster_ready(c)) {
        *pending = true;
        return note_waiting(rc_->store, rows, n, "WaitingForCluster",
                            "the cluster is being provisioned; the topic is applied when it is ready");
    }
    const char *why = "this server was started without a Kafka client";
    const char *route = rc_->kafka ? health_route(c->status, plane, &why) : NULL;
    if (!route) return note_waiting(rc_->store, rows, n, "NoRoute", why);
    char err[300];
    kafka_lease *lease = NULL;
    rd_kafka_t *rk = kafka_pool_lease(rc_->kafka, route, &lease, err, sizeof err);
    if (!rk) return -1;
    bool transport = false;
    int out = apply_rows(rc_, rk, rows, n, pending, &transport);
    kafka_pool_unlease(rc_->kafka, lease, transport);
    return out;
}

int topics_reconcile(void *ctx, const char *key)
{
    reconciler *rc_ = ctx;
    if (strncmp(key, "topics/", 7) != 0) return 0;
    store_res c;
    int rc = store_res_get(rc_->store, K_CLUSTER, key + 7, NULL, &c);
    if (rc == ST_NOTFOUND) return 0;
    if (rc != ST_OK) return -1;
    store_res dp = {0};
    bool have_dp = c.data_plane_id[0] && store_res_get(rc_->store, K_DATA_PLANE, c.data_plane_id, NULL, &dp) == ST_OK;
    int out = 0;
    bool pending = false;
    int64_t after = 0;
    while (out == 0 && phase_of(&c) != PHASE_DELETING) {
        store_topic *rows;
        int n;
        if (store_topic_list(rc_->store, c.id, after, TOPICS_PAGE, &rows, &n) != ST_OK) { out = -1; break; }
        if (n > 0) after = rows[n - 1].seq;
        if (n > 0) out = turn(rc_, &c, have_dp ? dp.spec : NULL, rows, n, &pending);
        store_topic_free_list(rows, n);
        if (n < TOPICS_PAGE) break;
    }
    bool waiting = !cluster_ready(&c) && phase_of(&c) != PHASE_DELETING;
    if (have_dp) store_res_clear(&dp);
    store_res_clear(&c);
    if (out != 0) return -1;
    return pending ? (waiting ? TOPICS_WAIT_MS : TOPICS_RETRY_MS) : 0;
}

/* ---- live reads for the API ---- */

static kread_rc kread_of(kadm_err e)
{
    switch (e) {
    case KADM_OK: return KREAD_OK;
    case KADM_NOT_FOUND: return KREAD_NOT_FOUND;
    case KADM_REFUSED: return KREAD_REFUSED;
    default: return KREAD_UNREACHABLE;
    }
}

static json_t *topics_json(rd_kafka_t *rk, int timeout_ms, kadm_err *e, char *err, size_t errlen)
{
    kadm_topic *ks = NULL;
    int n = 0;
    if ((*e = kadm_list_topics(rk, timeout_ms, &ks, &n, err, errlen)) != KADM_OK) return NULL;
    json_t *a = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(a, json_pack("{s:s, s:i, s:i, s:b}", "name", ks[i].name, "partitions",
                                           ks[i].partitions, "replication_factor", ks[i].replication_factor,
                                           "internal", ks[i].internal));
    free(ks);
    return a;
}

json_t *topics_read_live(void *pool, kread_kind what, const char *cluster_id, const json_t *status,
                         const json_t *plane_spec, const char *group, int timeout_ms, kread_rc *rc, char *err,
                         size_t errlen)
{
    (void)cluster_id;   /* the cluster's own client credentials, once its listeners speak TLS */
    const char *why = NULL;
    const char *route = health_route(status, plane_spec, &why);
    if (!route) { *rc = KREAD_NO_ROUTE; snprintf(err, errlen, "%s", why); return NULL; }
    kafka_lease *lease = NULL;
    rd_kafka_t *rk = kafka_pool_lease(pool, route, &lease, err, errlen);
    if (!rk) { *rc = KREAD_UNREACHABLE; return NULL; }
    kadm_err e = KADM_OK;
    json_t *out = what == KREAD_TOPICS ? topics_json(rk, timeout_ms, &e, err, errlen)
                  : what == KREAD_GROUPS ? kadm_groups_list(rk, timeout_ms, &e, err, errlen)
                                         : kadm_group_describe(rk, group, timeout_ms, &e, err, errlen);
    kafka_pool_unlease(pool, lease, e == KADM_UNREACHABLE);
    *rc = kread_of(e);
    if (e != KADM_OK) { json_decref(out); return NULL; }
    return out;
}
