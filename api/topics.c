/* topics.c — declared Kafka topics of a cluster (issue 14).
 *
 * The tenant declares a topic (name, partitions, replication_factor,
 * config); the row is stored as sent and the topic worker (workers/
 * topics.c) makes Kafka match: it creates the topic, adds partitions,
 * writes the config and deletes the topic. Everything is checked here
 * before anything reaches Kafka: a name Kafka would refuse, a replication
 * factor above the cluster's brokers, an unknown or forbidden config key,
 * fewer partitions than before (Kafka cannot remove partitions), and the
 * tenant's topic and partition quotas. A topic may be declared while its
 * cluster is still provisioning (a Terraform apply creates both at once):
 * it waits as PENDING and is applied when the cluster is ready.
 *
 * Every accepted write answers 202 with the topic; the worker reports in
 * status (phase PENDING, READY, FAILED with reason and message, DELETING).
 * Topics Kafka has that were not declared here are listed apart as
 * unmanaged and never touched. */
#define _GNU_SOURCE
#include "api.h"
#include "props.h"
#include "../store/topics.h"
#include "../core/phase.h"
#include "../core/topic.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TOPIC_PARTITIONS 10000   /* per topic; the tenant's quota bounds the sum */
#define DEFAULT_RF 3                 /* or the brokers, when fewer */

/* ---- topic configuration allow-list (Kafka's topic-level names) --------- */

static const char *const COMPRESSION[] = {"uncompressed", "zstd", "lz4", "snappy", "gzip", "producer", NULL};
static const char *const CLEANUP[] = {"delete", "compact", NULL};
static const char *const TS_TYPE[] = {"CreateTime", "LogAppendTime", NULL};

static const cfgrule TOPIC_RULES[] = {
    {"cleanup.policy", CT_LIST, 0, 0, CLEANUP},
    {"compression.type", CT_ENUM, 0, 0, COMPRESSION},
    {"delete.retention.ms", CT_INT, 0, PROPS_I64MAX, NULL},
    {"file.delete.delay.ms", CT_INT, 0, PROPS_I64MAX, NULL},
    {"max.compaction.lag.ms", CT_INT, 1, PROPS_I64MAX, NULL},
    {"max.message.bytes", CT_INT, 0, 104857600, NULL},
    {"message.timestamp.type", CT_ENUM, 0, 0, TS_TYPE},
    {"min.compaction.lag.ms", CT_INT, 0, PROPS_I64MAX, NULL},
    {"min.insync.replicas", CT_INT, 1, 100, NULL},
    {"retention.bytes", CT_INT, -1, PROPS_I64MAX, NULL},
    {"retention.ms", CT_INT, -1, PROPS_I64MAX, NULL},
    {"segment.bytes", CT_INT, 1048576, 2147483647, NULL},
    {"segment.ms", CT_INT, 1, PROPS_I64MAX, NULL},
    {"unclean.leader.election.enable", CT_BOOL, 0, 0, NULL},
};
#define NTOPIC_RULES ((int)(sizeof TOPIC_RULES / sizeof TOPIC_RULES[0]))

/* Topic keys streamplane owns: replication throttles belong to its
 * reassignments, tiered storage is not offered, the message format is
 * Kafka's. */
static const char *const TOPIC_FORBIDDEN[] = {
    "leader.replication.throttled.replicas", "follower.replication.throttled.replicas", "remote.storage.",
    "local.retention.", "message.format.version", "confluent.", NULL};

static void validate_topic_config(verrs *v, const json_t *cfg, long long rf)
{
    if (!json_is_object(cfg)) { verr(v, "config", "must be an object of string values"); return; }
    if (json_object_size(cfg) > 64) { verr(v, "config", "may hold at most 64 keys"); return; }
    const char *k;
    json_t *val;
    long long minisr = -1;
    json_object_foreach((json_t *)cfg, k, val) {
        char f[300];
        snprintf(f, sizeof f, "config.%.200s", k);
        if (props_prefixed(k, TOPIC_FORBIDDEN)) { verr(v, f, "is managed by streamplane and cannot be set"); continue; }
        const cfgrule *r = props_rule(TOPIC_RULES, NTOPIC_RULES, k);
        if (!r) { verr(v, f, "is not a supported topic setting"); continue; }
        props_check(v, f, r, val, strcmp(k, "min.insync.replicas") == 0 ? &minisr : NULL);
    }
    if (rf > 0 && minisr > rf)
        verr(v, "config.min.insync.replicas", "cannot exceed the topic's replication factor (%lld)", rf);
}

/* A name Kafka accepts (Topic.validate): 1-249 of [A-Za-z0-9._-], not "."
 * or "..". Names starting "__" are Kafka's own (its internal topics). */
static bool v_topic_name(verrs *v, const json_t *j)
{
    if (!json_is_string(j)) { verr(v, "name", "must be a string"); return false; }
    const char *s = json_string_value(j);
    size_t n = json_string_length(j);
    bool ok = n >= 1 && n <= 249 && strlen(s) == n;
    for (size_t i = 0; ok && i < n; i++)
        ok = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
             s[i] == '.' || s[i] == '_' || s[i] == '-';
    if (!ok) { verr(v, "name", "must be 1-249 letters, digits, '.', '_' or '-' (Kafka's rule)"); return false; }
    if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0) { verr(v, "name", "cannot be '.' or '..'"); return false; }
    if (strncmp(s, "__", 2) == 0) { verr(v, "name", "names starting with '__' are Kafka's internal topics"); return false; }
    return true;
}

/* What a valid spec comes to. */
typedef struct teff { long long partitions, rf; } teff;

/* Validates a full spec against the cluster (brokers: its desired count). */
static void validate(const json_t *spec, long long brokers, verrs *v, teff *e)
{
    static const char *const fields[] = {"name", "partitions", "replication_factor", "config", NULL};
    memset(e, 0, sizeof *e);
    v_known_keys(v, "", spec, fields);
    json_t *x = json_object_get(spec, "name");
    if (!x) verr(v, "name", "is required");
    else v_topic_name(v, x);
    x = json_object_get(spec, "partitions");
    if (!x) verr(v, "partitions", "is required");
    else v_int_range(v, "partitions", x, 1, MAX_TOPIC_PARTITIONS, &e->partitions);
    x = json_object_get(spec, "replication_factor");
    if (!x) e->rf = brokers < DEFAULT_RF ? brokers : DEFAULT_RF;
    else if (v_int_range(v, "replication_factor", x, 1, 100, &e->rf) && e->rf > brokers)
        verr(v, "replication_factor", "cannot exceed the cluster's brokers (%lld)", brokers);
    if ((x = json_object_get(spec, "config"))) validate_topic_config(v, x, e->rf);
}

/* Quota check for a tenant adding dt topics and dp partitions. */
static bool check_quota(api_req *rq, api_resp *w, const char *tenant_id, long long dt, long long dp)
{
    store_res t;
    int rc = store_res_get(rq->env->store, K_TENANT, tenant_id, NULL, &t);
    if (rc != ST_OK) { api_store_error(w, rc, "reading the tenant's quota"); return false; }
    int64_t topics = 0, parts = 0;
    rc = store_topic_usage(rq->env->store, tenant_id, &topics, &parts);
    long long qt = tenant_quota(t.spec, "max_topics"), qp = tenant_quota(t.spec, "max_partitions");
    store_res_clear(&t);
    if (rc != ST_OK) { api_store_error(w, rc, "reading usage"); return false; }
    if (dt > 0 && topics + dt > qt) {
        api_problem(w, 403, "quota-exceeded", "tenant quota max_topics is %lld and %lld are in use", qt,
                    (long long)topics);
        return false;
    }
    if (dp > 0 && parts + dp > qp) {
        api_problem(w, 403, "quota-exceeded", "tenant quota max_partitions is %lld; %lld in use, %lld more asked",
                    qp, (long long)parts, dp);
        return false;
    }
    return true;
}

static json_t *topic_json(const store_topic *t)
{
    json_t *o = json_deep_copy(t->spec);
    json_object_set_new(o, "cluster_id", json_string(t->cluster_id));
    json_t *st = json_deep_copy(t->status);
    json_object_set_new(st, "phase", json_string(t->phase));
    json_object_set_new(st, "replication_factor", json_integer(t->replication_factor));
    json_object_set_new(o, "status", st);
    json_object_set_new(o, "generation", json_integer(t->generation));
    char rv[24];
    snprintf(rv, sizeof rv, "%lld", (long long)t->resource_version);
    json_object_set_new(o, "resource_version", json_string(rv));
    json_object_set_new(o, "created_at", json_string(t->created_at));
    json_object_set_new(o, "updated_at", json_string(t->updated_at));
    return o;
}

static void answer(api_resp *w, int code, const store_topic *t)
{
    api_set_etag(w, t->resource_version);
    if (code == 202)
        snprintf(w->location, sizeof w->location, "/v1/clusters/%s/topics/%s", t->cluster_id, t->name);
    api_json(w, code, topic_json(t));
}

/* The cluster of the path, within the caller's scope. */
static bool load_cluster(api_req *rq, api_resp *w, store_res *c)
{
    int rc = store_res_get(rq->env->store, K_CLUSTER, rq->params[0], api_scope(rq), c);
    if (rc == ST_NOTFOUND) { api_not_found(w, "cluster", rq->params[0]); return false; }
    if (rc != ST_OK) { api_store_error(w, rc, "reading the cluster"); return false; }
    return true;
}

static bool not_deleting(api_resp *w, store_res *c)
{
    if (phase_of(c) != PHASE_DELETING) return true;
    api_problem(w, 409, "cluster-deleting", "cluster %s is being deleted", c->id);
    return false;
}

/* PENDING, with why it waits. */
static void set_pending(store_topic *t, const store_res *c)
{
    snprintf(t->phase, sizeof t->phase, "%s", topic_phase_name(TOPIC_PENDING));
    bool waiting = phase_of(c) == PHASE_PROVISIONING;
    json_object_set_new(t->status, "reason", json_string(waiting ? "WaitingForCluster" : "Pending"));
    json_object_set_new(t->status, "message",
                        json_string(waiting ? "the cluster is being provisioned; the topic is applied when it is ready"
                                            : "waiting for a worker to apply the topic to Kafka"));
}

void api_topic_create(api_req *rq, api_resp *w)
{
    if (!api_require_body(rq, w)) return;
    store_res c;
    if (!load_cluster(rq, w, &c)) return;
    if (!not_deleting(w, &c)) { store_res_clear(&c); return; }
    json_t *spec = json_deep_copy(rq->body);
    static const char *const server_owned[] = {"cluster_id", NULL};
    api_strip_server_fields(spec, server_owned);
    verrs v = {0};
    teff e;
    validate(spec, c.brokers, &v, &e);
    char other[SP_TOPIC_NAME_MAX];
    const char *name = json_string_value(json_object_get(spec, "name"));
    if (!verr_any(&v) && store_topic_collision(rq->env->store, c.id, name, other) == ST_OK)
        verr(&v, "name", "collides with topic '%s': Kafka treats '.' and '_' alike in metric names", other);
    if (verr_any(&v)) { json_decref(spec); store_res_clear(&c); api_fail_fields(w, &v, NULL); return; }
    if (!check_quota(rq, w, c.tenant_id, 1, e.partitions)) { json_decref(spec); store_res_clear(&c); return; }

    store_topic t = {0};
    snprintf(t.cluster_id, sizeof t.cluster_id, "%s", c.id);
    snprintf(t.tenant_id, sizeof t.tenant_id, "%s", c.tenant_id);
    snprintf(t.name, sizeof t.name, "%s", name);
    t.spec = spec;
    t.partitions = e.partitions;
    t.replication_factor = e.rf;
    t.generation = 1;
    t.status = json_pack("{s:i, s:b}", "observed_generation", 0, "in_kafka", 0);
    set_pending(&t, &c);
    sp_now_rfc3339(t.created_at);
    int rc = store_topic_insert(rq->env->store, &t);
    if (rc == ST_CONFLICT)
        api_problem(w, 409, "name-taken", "cluster %s already has a topic named '%s'", c.id, t.name);
    else if (rc != ST_OK) api_store_error(w, rc, "creating the topic");
    else {
        api_wake(rq, "topics", c.id);
        answer(w, 202, &t);
    }
    store_topic_clear(&t);
    store_res_clear(&c);
}

static bool load_topic(api_req *rq, api_resp *w, const store_res *c, store_topic *t)
{
    int rc = store_topic_get(rq->env->store, c->id, rq->params[1], t);
    if (rc == ST_NOTFOUND) {
        api_problem(w, 404, "not-found", "cluster %s has no topic '%.200s'", c->id, rq->params[1]);
        return false;
    }
    if (rc != ST_OK) { api_store_error(w, rc, "reading the topic"); return false; }
    return true;
}

void api_topic_get(api_req *rq, api_resp *w)
{
    store_res c;
    if (!load_cluster(rq, w, &c)) return;
    store_topic t;
    if (load_topic(rq, w, &c, &t)) {
        answer(w, 200, &t);
        store_topic_clear(&t);
    }
    store_res_clear(&c);
}

/* The topics Kafka has that were not declared here, read live (first page
 * of the list only): into out as unmanaged, unmanaged_source and
 * unmanaged_error. */
static void add_unmanaged(api_req *rq, const store_res *c, long timeout, json_t *out)
{
    store_res dp = {0};
    bool have_dp = c->data_plane_id[0] &&
                   store_res_get(rq->env->store, K_DATA_PLANE, c->data_plane_id, NULL, &dp) == ST_OK;
    char err[400] = "this server was started without a Kafka client";
    kread_rc krc = KREAD_UNREACHABLE;
    json_t *live = NULL;
    if (!rq->env->kafka_read) {
        /* err says why */
    } else if (!sp_slot_take(rq->env->live_reads_busy, rq->env->live_reads_max)) {
        snprintf(err, sizeof err, "other live Kafka readings are in progress on this server; try again");
    } else {
        live = rq->env->kafka_read(rq->env->kafka_read_ctx, KREAD_TOPICS, c->id, c->status, have_dp ? dp.spec : NULL,
                                   NULL, (int)timeout, &krc, err, sizeof err);
        sp_slot_give(rq->env->live_reads_busy);
    }
    if (have_dp) store_res_clear(&dp);
    json_t *un = json_array();
    size_t i;
    json_t *k;
    json_array_foreach(live, i, k) {
        store_topic t;
        const char *name = json_string_value(json_object_get(k, "name"));
        int rc = name ? store_topic_get(rq->env->store, c->id, name, &t) : ST_NOTFOUND;
        if (rc == ST_OK) store_topic_clear(&t);
        else json_array_append(un, k);
    }
    json_object_set_new(out, "unmanaged", un);
    json_object_set_new(out, "unmanaged_source", json_string(live ? "live" : "unavailable"));
    json_object_set_new(out, "unmanaged_error", live ? json_null() : json_string(err));
    json_decref(live);
}

void api_topic_list(api_req *rq, api_resp *w)
{
    long timeout;
    if (!api_live_timeout(rq, w, &timeout)) return;
    store_res c;
    if (!load_cluster(rq, w, &c)) return;
    char filters[80];
    snprintf(filters, sizeof filters, "topics:%s", c.id);
    page p;
    if (!api_page_begin(rq, w, filters, &p)) { store_res_clear(&c); return; }
    store_topic *list;
    int n;
    int rc = store_topic_list(rq->env->store, c.id, p.after, p.size + 1, &list, &n);
    if (rc != ST_OK) { store_res_clear(&c); api_store_error(w, rc, "listing topics"); return; }
    json_t *items = json_array();
    for (int i = 0; i < n && i < p.size; i++) json_array_append_new(items, topic_json(&list[i]));
    json_t *out = json_pack("{s:o}", "items", items);
    API_PAGE_END(p, out, n, list);
    store_topic_free_list(list, n);
    if (p.after == 0) add_unmanaged(rq, &c, timeout, out);
    store_res_clear(&c);
    api_json(w, 200, out);
}

void api_topic_patch(api_req *rq, api_resp *w)
{
    if (!api_require_body(rq, w)) return;
    store_res c;
    if (!load_cluster(rq, w, &c)) return;
    store_topic t;
    if (!not_deleting(w, &c) || !load_topic(rq, w, &c, &t)) { store_res_clear(&c); return; }
    int64_t expect;
    json_t *spec = NULL;
    verrs v = {0};
    teff e;
    if (topic_phase_parse(t.phase) == TOPIC_DELETING) {
        api_problem(w, 409, "topic-deleting", "topic '%s' is being deleted", t.name);
        goto out;
    }
    if (!api_expected_version(rq, w, t.resource_version, &expect)) goto out;
    json_t *patch = json_deep_copy(rq->body);
    static const char *const server_owned[] = {"cluster_id", NULL};
    api_strip_server_fields(patch, server_owned);
    spec = json_merge_patch(t.spec, patch);
    json_decref(patch);
    validate(spec, c.brokers, &v, &e);
    if (!verr_any(&v)) {
        if (strcmp(json_string_value(json_object_get(spec, "name")), t.name) != 0)
            verr(&v, "name", "cannot change; declare a new topic instead");
        if (e.partitions < t.partitions)
            verr(&v, "partitions", "cannot go down from %lld to %lld: Kafka cannot remove partitions",
                 (long long)t.partitions, e.partitions);
        if (e.rf != t.replication_factor)
            verr(&v, "replication_factor", "cannot change from %lld after creation", (long long)t.replication_factor);
    }
    if (verr_any(&v)) { api_fail_fields(w, &v, NULL); goto out; }
    if (json_equal(spec, t.spec)) { answer(w, 200, &t); goto out; }
    if (!check_quota(rq, w, c.tenant_id, 0, e.partitions - t.partitions)) goto out;
    json_decref(t.spec);
    t.spec = spec;
    spec = NULL;
    t.partitions = e.partitions;
    t.generation++;
    set_pending(&t, &c);
    int rc = store_topic_update(rq->env->store, &t, expect);
    if (rc == ST_STALE) api_problem(w, 412, "precondition-failed", "the topic changed meanwhile; read it again");
    else if (rc != ST_OK) api_store_error(w, rc, "updating the topic");
    else {
        api_wake(rq, "topics", c.id);
        answer(w, 202, &t);
    }
out:
    json_decref(spec);
    store_topic_clear(&t);
    store_res_clear(&c);
}

void api_topic_delete(api_req *rq, api_resp *w)
{
    store_res c;
    if (!load_cluster(rq, w, &c)) return;
    store_topic t;
    if (!load_topic(rq, w, &c, &t)) { store_res_clear(&c); return; }
    int64_t expect;
    if (!api_expected_version(rq, w, t.resource_version, &expect)) goto out;
    if (topic_phase_parse(t.phase) == TOPIC_DELETING) {   /* repeated DELETE: same answer, nothing new */
        answer(w, 202, &t);
        goto out;
    }
    snprintf(t.phase, sizeof t.phase, "%s", topic_phase_name(TOPIC_DELETING));
    t.generation++;
    json_object_set_new(t.status, "reason", json_string("Deleting"));
    json_object_set_new(t.status, "message", json_string("the topic is being deleted from Kafka"));
    int rc = store_topic_update(rq->env->store, &t, expect);
    if (rc == ST_STALE) api_problem(w, 412, "precondition-failed", "the topic changed meanwhile; read it again");
    else if (rc != ST_OK) api_store_error(w, rc, "deleting the topic");
    else {
        api_wake(rq, "topics", c.id);
        answer(w, 202, &t);
    }
out:
    store_topic_clear(&t);
    store_res_clear(&c);
}

long long topic_max_rf(api_req *rq, api_resp *w, const char *cluster_id)
{
    int64_t rf = 0;
    int rc = store_topic_max_rf(rq->env->store, cluster_id, &rf);
    if (rc != ST_OK) { api_store_error(w, rc, "reading the cluster's topics"); return -1; }
    return rf;
}
