/* clusters.c — Kafka clusters: validation, quotas, and the operation each
 * accepted change creates.
 *
 * The client's object is stored as sent (spec) and returned as sent; what
 * the server decides (the resolved Kafka release, the availability picked
 * when none was given, placement, phase) lives in status. Every accepted
 * create, change or delete answers 202 with the cluster and an operation
 * (Operation-Location). Changes that arrive while earlier operations are
 * pending queue behind them in order; a change to a cluster being deleted
 * answers 409. */
#define _GNU_SOURCE
#include "api.h"
#include "props.h"
#include "../store/store.h"
#include "../common/conditions.h"
#include "../common/yamlout.h"
#include "../core/cluster.h"
#include "../core/ops.h"
#include "../core/phase.h"
#include "../core/placement.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#define MAX_BROKERS 100
#define MIN_STORAGE 10
#define MAX_STORAGE 65536

/* ---- broker configuration allow-list ----------------------------------- */

static const char *const COMPRESSION[] = {"uncompressed", "zstd", "lz4", "snappy", "gzip", "producer", NULL};
static const char *const CLEANUP[] = {"delete", "compact", NULL};
static const char *const TS_TYPE[] = {"CreateTime", "LogAppendTime", NULL};

#define I64MAX PROPS_I64MAX
static const cfgrule CONFIG_RULES[] = {
    {"auto.create.topics.enable", CT_BOOL, 0, 0, NULL},
    {"compression.type", CT_ENUM, 0, 0, COMPRESSION},
    {"default.replication.factor", CT_INT, 1, MAX_BROKERS, NULL},
    {"delete.topic.enable", CT_BOOL, 0, 0, NULL},
    {"group.initial.rebalance.delay.ms", CT_INT, 0, 600000, NULL},
    {"log.cleaner.delete.retention.ms", CT_INT, 0, I64MAX, NULL},
    {"log.cleanup.policy", CT_LIST, 0, 0, CLEANUP},
    {"log.message.timestamp.type", CT_ENUM, 0, 0, TS_TYPE},
    {"log.retention.bytes", CT_INT, -1, I64MAX, NULL},
    {"log.retention.hours", CT_INT, -1, 2147483647, NULL},
    {"log.retention.minutes", CT_INT, -1, 2147483647, NULL},
    {"log.retention.ms", CT_INT, -1, I64MAX, NULL},
    {"log.roll.hours", CT_INT, 1, 2147483647, NULL},
    {"log.segment.bytes", CT_INT, 1048576, 2147483647, NULL},
    {"message.max.bytes", CT_INT, 0, 104857600, NULL},
    {"min.insync.replicas", CT_INT, 1, MAX_BROKERS, NULL},
    {"num.partitions", CT_INT, 1, 10000, NULL},
    {"offsets.retention.minutes", CT_INT, 1, 2147483647, NULL},
    {"replica.fetch.max.bytes", CT_INT, 1024, 104857600, NULL},
    {"transaction.max.timeout.ms", CT_INT, 1, 2147483647, NULL},
    {"unclean.leader.election.enable", CT_BOOL, 0, 0, NULL},
};
#define NRULES ((int)(sizeof CONFIG_RULES / sizeof CONFIG_RULES[0]))

/* Keys streamplane itself owns: letting a tenant set them would break the
 * cluster (identity, listeners, storage, security, quorum). */
static const char *const FORBIDDEN_PREFIX[] = {
    "node.id", "broker.id", "process.roles", "listeners", "advertised.", "listener.",
    "inter.broker.", "controller.", "log.dirs", "log.dir", "metadata.log.", "broker.rack",
    "ssl.", "sasl.", "security.", "authorizer.", "super.users", "zookeeper.", "cluster.id",
    "offsets.topic.replication.factor", "transaction.state.log.", "principal.builder.",
    "confluent.", "remote.log.", "num.network.threads", "num.io.threads", "socket.", NULL};

static void validate_config(verrs *v, const json_t *cfg, long long brokers)
{
    if (!json_is_object(cfg)) { verr(v, "config", "must be an object of string values"); return; }
    if (json_object_size(cfg) > 64) { verr(v, "config", "may hold at most 64 keys"); return; }
    const char *k;
    json_t *val;
    long long minisr = -1, rf = -1;
    json_object_foreach((json_t *)cfg, k, val) {
        char f[300];
        snprintf(f, sizeof f, "config.%.200s", k);
        if (props_prefixed(k, FORBIDDEN_PREFIX)) { verr(v, f, "is managed by streamplane and cannot be set"); continue; }
        const cfgrule *r = props_rule(CONFIG_RULES, NRULES, k);
        if (!r) { verr(v, f, "is not a supported broker setting"); continue; }
        props_check(v, f, r, val, strcmp(k, "min.insync.replicas") == 0          ? &minisr
                                  : strcmp(k, "default.replication.factor") == 0 ? &rf
                                                                                 : NULL);
    }
    if (brokers > 0) {
        if (minisr > brokers) verr(v, "config.min.insync.replicas", "cannot exceed brokers (%lld)", brokers);
        if (rf > brokers) verr(v, "config.default.replication.factor", "cannot exceed brokers (%lld)", brokers);
    }
    if (minisr > 0 && rf > 0 && minisr > rf)
        verr(v, "config.min.insync.replicas", "cannot exceed default.replication.factor (%lld)", rf);
}

/* ---- the spec ----------------------------------------------------------- */

static const char *const AVAIL[] = {"single_zone", "multi_zone", NULL};
static const char *const EXTERNAL[] = {"none", "nodeport", "loadbalancer", NULL};

typedef struct eff {
    const char *version;       /* resolved */
    const char *availability;  /* effective */
    long long brokers, storage;
} eff;

/* Validates a full spec (old_spec: the stored one, NULL at creation);
 * fills e when valid. */
static void validate(api_req *rq, const json_t *spec, const json_t *old_spec, verrs *v, eff *e)
{
    static const char *const fields[] = {"name", "tenant_id", "kafka_version", "brokers", "storage_gib",
                                         "availability", "data_plane_id", "config", "external_access",
                                         "autoscaling", "tiered_storage", "delete_volumes_on_scale_in", NULL};
    memset(e, 0, sizeof *e);
    v_known_keys(v, "", spec, fields);
    json_t *x = json_object_get(spec, "name");
    if (!x) verr(v, "name", "is required");
    else v_dns_label(v, "name", x, 40, NULL, 0);
    x = json_object_get(spec, "kafka_version");
    if (!x) verr(v, "kafka_version", "is required, e.g. \"3.9.1\"");
    else if (!json_is_string(x)) verr(v, "kafka_version", "must be a string, e.g. \"3.9.1\"");
    else if (!(e->version = cluster_resolve_version(json_string_value(x))))
        verr(v, "kafka_version", "is not supported; use one of %s", cluster_versions_text());
    x = json_object_get(spec, "brokers");
    if (!x) verr(v, "brokers", "is required");
    else v_int_range(v, "brokers", x, 1, MAX_BROKERS, &e->brokers);
    x = json_object_get(spec, "storage_gib");
    if (!x) verr(v, "storage_gib", "is required (GiB per broker)");
    else v_int_range(v, "storage_gib", x, MIN_STORAGE, MAX_STORAGE, &e->storage);
    x = json_object_get(spec, "availability");
    if (x) {
        if (v_enum(v, "availability", x, AVAIL, &e->availability) &&
            strcmp(e->availability, "multi_zone") == 0 && e->brokers > 0 && e->brokers < 3)
            verr(v, "availability", "multi_zone needs at least 3 brokers");
    } else
        e->availability = e->brokers >= 3 ? "multi_zone" : "single_zone";
    x = json_object_get(spec, "data_plane_id");
    if (x) {
        store_res dp;
        if (!json_is_string(x) || !sp_id_valid(json_string_value(x), "dp"))
            verr(v, "data_plane_id", "must be a data plane id (dp-…)");
        else if (store_res_get(rq->env->store, K_DATA_PLANE, json_string_value(x), NULL, &dp) != ST_OK)
            verr(v, "data_plane_id", "no such data plane");
        else store_res_clear(&dp);
    }
    if ((x = json_object_get(spec, "config"))) validate_config(v, x, e->brokers);
    if ((x = json_object_get(spec, "delete_volumes_on_scale_in"))) v_bool(v, "delete_volumes_on_scale_in", x, NULL);
    if ((x = json_object_get(spec, "external_access"))) {
        static const char *const ef[] = {"type", NULL};
        if (!json_is_object(x)) verr(v, "external_access", "must be an object");
        else {
            v_known_keys(v, "external_access", x, ef);
            json_t *t = json_object_get(x, "type");
            if (!t) verr(v, "external_access.type", "is required");
            else v_enum(v, "external_access.type", t, EXTERNAL, NULL);
        }
    }
    /* accepted once, acted on by nothing: until they are real, a client
     * must not believe it got them (a row that already has one keeps it
     * as it is, so its other fields can still change) */
    static const char *const unsupported[] = {"autoscaling", "tiered_storage", NULL};
    for (int i = 0; unsupported[i]; i++)
        if ((x = json_object_get(spec, unsupported[i])) && !json_is_null(x) &&
            !json_same(x, json_object_get(old_spec, unsupported[i])))
            verr(v, unsupported[i], "is not supported yet; leave it out");
}

/* Quota check for a tenant adding (dc clusters, db brokers, ds GiB). */
static bool check_quota(api_req *rq, api_resp *w, const char *tenant_id,
                        long long dc, long long db, long long ds)
{
    store_res t;
    int rc = store_res_get(rq->env->store, K_TENANT, tenant_id, NULL, &t);
    if (rc != ST_OK) { api_store_error(w, rc, "reading the tenant's quota"); return false; }
    int64_t c = 0, b = 0, s = 0;
    rc = store_tenant_usage(rq->env->store, tenant_id, &c, &b, &s);
    long long qc = tenant_quota(t.spec, "max_clusters"), qb = tenant_quota(t.spec, "max_brokers"),
              qs = tenant_quota(t.spec, "max_storage_gib");
    store_res_clear(&t);
    if (rc != ST_OK) { api_store_error(w, rc, "reading usage"); return false; }
    if (dc > 0 && c + dc > qc) {
        api_problem(w, 403, "quota-exceeded", "tenant quota max_clusters is %lld and %lld are in use", qc, (long long)c);
        return false;
    }
    if (db > 0 && b + db > qb) {
        api_problem(w, 403, "quota-exceeded", "tenant quota max_brokers is %lld; %lld in use, %lld more asked",
                    qb, (long long)b, db);
        return false;
    }
    if (ds > 0 && s + ds > qs) {
        api_problem(w, 403, "quota-exceeded", "tenant quota max_storage_gib is %lld; %lld in use, %lld more asked",
                    qs, (long long)s, ds);
        return false;
    }
    return true;
}

/* The answer for one cluster. It is built from the row's own spec and
 * status (no copies): callers answer last and then clear the row. */
static json_t *cluster_json(store_res *r)
{
    json_t *o = cluster_view(r, true);
    api_res_meta(o, r);
    return o;
}

/* op: the operation this request created (Operation-Location), or NULL. */
static void answer(api_resp *w, int code, store_res *r, const char *op)
{
    api_set_etag(w, r->resource_version);
    if (code == 202) snprintf(w->location, sizeof w->location, "/v1/clusters/%s", r->id);
    if (op && *op) snprintf(w->op_location, sizeof w->op_location, "/v1/operations/%s", op);
    api_json(w, code, cluster_json(r));
}

/* Records an operation for the cluster (core/ops.h) and wakes its worker
 * after the commit. */
static int add_operation(api_req *rq, store_res *r, op_type type, json_t *changes, json_t *before,
                         char op_id[SP_ID_MAX])
{
    int rc = ops_create(rq->env->store, r, type, changes, before, op_id);
    api_wake(rq, "cluster", r->id);
    return rc;
}

/* status.target_kafka_version is the release the spec resolves to (what
 * pods roll onto); status.kafka_version is what runs, moved by the workers
 * once every pod runs it — at creation the two are the same. */
static json_t *effective_status(const eff *e, json_t *status)
{
    json_object_set_new(status, "target_kafka_version", json_string(e->version));
    json_object_set_new(status, "availability", json_string(e->availability));
    return status;
}

/* Placement (core/placement.h); false after answering 409 or a store error. */
static bool place(api_req *rq, api_resp *w, const char *asked, const eff *e, char placed[SP_ID_MAX])
{
    long long room = 0;
    bool multi = strcmp(e->availability, "multi_zone") == 0;
    int rc = placement_choose(rq->env->store, asked, multi, e->brokers, placed, &room);
    if (rc == CORE_OK) return true;
    if (rc == CORE_TOO_FEW_ZONES)
        api_problem(w, 409, "no-capacity", "data plane %s lists fewer than 3 zones; a multi_zone cluster "
                    "needs 3", asked);
    else if (rc == CORE_NO_CAPACITY && asked)
        api_problem(w, 409, "no-capacity", "data plane %s has room for %lld more broker(s), not %lld",
                    asked, room, e->brokers);
    else if (rc == CORE_NO_CAPACITY)
        api_problem(w, 409, "no-capacity", "no data plane has room for %lld broker(s) (%s); "
                    "register another data plane or raise a capacity", e->brokers, e->availability);
    else api_store_error(w, rc, asked ? "reading the data plane" : "reading data planes");
    return false;
}

/* Scale-out must fit on the data plane the cluster is on (core/placement.h);
 * false after answering 409 or a store error. */
static bool fits_on_plane(api_req *rq, api_resp *w, const store_res *r, long long more)
{
    long long room = 0;
    int rc = placement_scale_out(rq->env->store, r->data_plane_id, more, &room);
    if (rc == CORE_OK) return true;
    if (rc == CORE_NO_CAPACITY)
        api_problem(w, 409, "no-capacity", "data plane %s has room for %lld more broker(s), not %lld",
                    r->data_plane_id, room, more);
    else api_store_error(w, rc, "reading the data plane");
    return false;
}

void api_cluster_create(api_req *rq, api_resp *w)
{
    if (!api_require_body(rq, w)) return;
    json_t *spec = json_deep_copy(rq->body);
    api_strip_server_fields(spec, NULL);
    /* tenant_id: the caller's own tenant; the operator must name one */
    const char *tenant = api_scope(rq);
    json_t *tj = json_object_get(spec, "tenant_id");
    verrs v = {0};
    if (!tenant) {
        if (!json_is_string(tj) || !sp_id_valid(json_string_value(tj), "tn"))
            verr(&v, "tenant_id", "is required when the operator creates a cluster");
        else tenant = json_string_value(tj);
    } else if (tj && !(json_is_string(tj) && strcmp(json_string_value(tj), tenant) == 0))
        verr(&v, "tenant_id", "must be your own tenant (or left out)");
    eff e;
    validate(rq, spec, NULL, &v, &e);
    if (verr_any(&v)) { json_decref(spec); api_fail_fields(w, &v, NULL); return; }
    char tenant_id[SP_ID_MAX];
    snprintf(tenant_id, sizeof tenant_id, "%s", tenant);
    store_res t;
    int rc = store_res_get(rq->env->store, K_TENANT, tenant_id, NULL, &t);
    if (rc != ST_OK) {
        json_decref(spec);
        if (rc == ST_NOTFOUND) { verr(&v, "tenant_id", "no such tenant"); api_fail_fields(w, &v, NULL); }
        else api_store_error(w, rc, "reading the tenant");
        return;
    }
    store_res_clear(&t);
    if (!check_quota(rq, w, tenant_id, 1, e.brokers, e.brokers * e.storage)) { json_decref(spec); return; }

    char placed[SP_ID_MAX];
    if (!place(rq, w, json_string_value(json_object_get(spec, "data_plane_id")), &e, placed)) {
        json_decref(spec);
        return;
    }
    store_res r = {0};
    sp_id_new("kc", r.id);
    snprintf(r.tenant_id, sizeof r.tenant_id, "%s", tenant_id);
    snprintf(r.name, sizeof r.name, "%s", json_string_value(json_object_get(spec, "name")));
    const char *dp = placed[0] ? placed : NULL;
    snprintf(r.data_plane_id, sizeof r.data_plane_id, "%s", placed);
    json_object_del(spec, "tenant_id");
    r.spec = spec;
    r.brokers = e.brokers;
    r.storage_gib = e.storage;
    phase_created(&r);
    r.generation = 1;
    r.status = effective_status(&e, json_object());
    json_object_set_new(r.status, "kafka_version", json_string(e.version));
    json_object_set_new(r.status, "observed_generation", json_integer(0));
    json_object_set_new(r.status, "brokers_ready", json_integer(0));
    /* the brokers' volume template keeps this size for the cluster's life
     * (immutable in a StatefulSet); growth patches each claim */
    json_object_set_new(r.status, "volume_template_gib", json_integer(e.storage));
    json_object_set_new(r.status, "bootstrap_servers", json_null());
    json_object_set_new(r.status, "data_plane_id", dp ? json_string(dp) : json_null());
    json_object_set_new(r.status, "target", json_string(dp ? "data_plane" : "manifests"));
    condition_set(r.status, "Ready", "False", "Provisioning", "waiting for a worker to provision the cluster");
    sp_now_rfc3339(r.created_at);
    /* the operation first, so the cluster row is written once, complete */
    char op[SP_ID_MAX] = "";
    json_t *none = json_object();
    rc = add_operation(rq, &r, OP_CREATE, none, NULL, op);
    json_decref(none);
    if (rc == ST_OK) rc = store_res_insert(rq->env->store, K_CLUSTER, &r);
    if (rc == ST_CONFLICT)
        api_problem(w, 409, "name-taken", "this tenant already has a cluster named '%s'", r.name);
    else if (rc != ST_OK) api_store_error(w, rc, "creating the cluster");
    else answer(w, 202, &r, op);
    store_res_clear(&r);
}

void api_cluster_list(api_req *rq, api_resp *w)
{
    const char *scope = api_list_scope(rq);
    char filters[80];
    snprintf(filters, sizeof filters, "clusters:%s", scope ? scope : "");
    page p;
    if (!api_page_begin(rq, w, filters, &p)) return;
    store_res *list;
    int n;
    int rc = store_res_list(rq->env->store, K_CLUSTER, scope, p.after, p.size + 1, &list, &n);
    if (rc != ST_OK) { api_store_error(w, rc, "listing clusters"); return; }
    json_t *items = json_array();
    for (int i = 0; i < n && i < p.size; i++) json_array_append_new(items, cluster_json(&list[i]));
    json_t *out = json_pack("{s:o}", "items", items);
    API_PAGE_END(p, out, n, list);
    store_res_free_list(list, n);
    api_json(w, 200, out);
}

static bool load(api_req *rq, api_resp *w, store_res *r)
{
    int rc = store_res_get(rq->env->store, K_CLUSTER, rq->params[0], api_scope(rq), r);
    if (rc == ST_NOTFOUND) { api_not_found(w, "cluster", rq->params[0]); return false; }
    if (rc != ST_OK) { api_store_error(w, rc, "reading the cluster"); return false; }
    return true;
}

void api_cluster_get(api_req *rq, api_resp *w)
{
    store_res r;
    if (!load(rq, w, &r)) return;
    answer(w, 200, &r, NULL);
    store_res_clear(&r);
}

static void change(json_t *ch, const char *field, json_t *from, json_t *to)
{
    if (json_same(from, to)) return;
    json_object_set_new(ch, field, json_pack("{s:O?, s:O?}", "from", from, "to", to));
}

/* Shared by PUT (replace) and PATCH (merge): spec is the complete new spec. */
static void apply_update(api_req *rq, api_resp *w, store_res *r, json_t *spec, int64_t expect)
{
    verrs v = {0};
    json_object_del(spec, "tenant_id");
    eff e;
    validate(rq, spec, r->spec, &v, &e);
    if (verr_any(&v)) { json_decref(spec); api_fail_fields(w, &v, NULL); return; }
    const char *nn = json_string_value(json_object_get(spec, "name"));
    if (strcmp(nn, r->name) != 0) verr(&v, "name", "cannot change; create a new cluster instead");
    if (!json_same(json_object_get(spec, "data_plane_id"), json_object_get(r->spec, "data_plane_id")))
        verr(&v, "data_plane_id", "cannot change; moving a cluster between data planes is not supported");
    /* never below what any pod runs or rolls onto (a cancelled upgrade
     * keeps its release as the target: cluster.c) */
    const char *old_version = json_string_value(json_object_get(r->status, "kafka_version"));
    const char *running = old_version;
    const char *target = json_string_value(json_object_get(r->status, "target_kafka_version"));
    if (target && (!old_version || cluster_version_cmp(target, old_version) > 0)) old_version = target;
    if (old_version && cluster_version_cmp(e.version, old_version) < 0)
        verr(&v, "kafka_version", "cannot go down from %s to %s (a downgrade is not supported)", old_version, e.version);
    /* a default picked at creation stays: scaling 2 -> 3 brokers does not turn a
     * single_zone cluster multi_zone behind the client's back */
    const char *old_avail = json_string_value(json_object_get(r->status, "availability"));
    if (old_avail && !json_object_get(spec, "availability"))
        e.availability = strcmp(old_avail, "multi_zone") == 0 ? "multi_zone" : "single_zone";
    if (old_avail && strcmp(old_avail, e.availability) != 0)
        verr(&v, "availability", "cannot change from %s after creation", old_avail);
    else if (strcmp(e.availability, "multi_zone") == 0 && e.brokers < 3)
        verr(&v, "brokers", "a multi_zone cluster needs at least 3 brokers");
    if (e.storage < r->storage_gib)
        verr(&v, "storage_gib", "cannot shrink from %lld to %lld GiB (volumes only grow)",
             (long long)r->storage_gib, e.storage);
    if (e.brokers < r->brokers) {     /* a declared topic needs as many brokers as its replicas */
        long long rf = topic_max_rf(rq, w, r->id);
        if (rf < 0) { json_decref(spec); json_decref(v.list); return; }
        if (e.brokers < rf)
            verr(&v, "brokers", "cannot go below %lld: a declared topic of this cluster has replication factor %lld",
                 rf, rf);
    }
    if (verr_any(&v)) { json_decref(spec); api_fail_fields(w, &v, NULL); return; }
    if (json_equal(spec, r->spec)) {   /* nothing to do: PUT of the same object */
        json_decref(spec);
        answer(w, 200, r, NULL);
        return;
    }
    if (!check_quota(rq, w, r->tenant_id, 0, e.brokers - r->brokers,
                     e.brokers * e.storage - r->brokers * r->storage_gib)) { json_decref(spec); return; }
    if (!fits_on_plane(rq, w, r, e.brokers - r->brokers)) { json_decref(spec); return; }

    /* what changed decides the operation */
    json_t *ch = json_object();
    json_t *bf = json_integer(r->brokers), *bt = json_integer(e.brokers);
    json_t *sf = json_integer(r->storage_gib), *stt = json_integer(e.storage);
    /* from what runs: an upgrade left half done by a cancel rolls the rest */
    json_t *vf = json_string(running ? running : ""), *vt = json_string(e.version);
    change(ch, "brokers", bf, bt);
    change(ch, "storage_gib", sf, stt);
    change(ch, "kafka_version", vf, vt);
    json_decref(bf); json_decref(bt); json_decref(sf); json_decref(stt); json_decref(vf); json_decref(vt);
    static const char *const others[] = {"config", "external_access", "autoscaling", "tiered_storage",
                                         "delete_volumes_on_scale_in", NULL};
    for (int i = 0; others[i]; i++)
        change(ch, others[i], json_object_get(r->spec, others[i]), json_object_get(spec, others[i]));
    op_type type = OP_UPDATE;
    if (json_object_size(ch) == 1) {
        if (json_object_get(ch, "brokers")) type = e.brokers > r->brokers ? OP_SCALE_OUT : OP_SCALE_IN;
        else if (json_object_get(ch, "storage_gib")) type = OP_STORAGE_RESIZE;
        else if (json_object_get(ch, "kafka_version")) type = OP_ROLLING_RESTART;
    }
    if (!json_object_get(r->status, "volume_template_gib"))   /* rows from before it was recorded */
        json_object_set_new(r->status, "volume_template_gib", json_integer(r->storage_gib));
    json_t *before = r->spec;
    r->spec = spec;
    r->brokers = e.brokers;
    r->storage_gib = e.storage;
    r->generation++;
    effective_status(&e, r->status);
    phase_changed(r);
    char op[SP_ID_MAX] = "";
    int rc = add_operation(rq, r, type, ch, before, op);
    json_decref(ch);
    json_decref(before);
    if (rc == ST_OK) rc = store_res_update(rq->env->store, K_CLUSTER, r, expect);
    if (rc == ST_STALE) api_problem(w, 412, "precondition-failed", "the cluster changed meanwhile; read it again");
    else if (rc != ST_OK) api_store_error(w, rc, "updating the cluster");
    else answer(w, 202, r, op);
}

void api_cluster_put(api_req *rq, api_resp *w)
{
    if (!api_require_body(rq, w)) return;
    store_res r;
    if (!load(rq, w, &r)) return;
    if (phase_of(&r) == PHASE_DELETING) {    /* before any precondition: nothing else can succeed */
        api_problem(w, 409, "cluster-deleting", "cluster %s is being deleted", r.id);
        store_res_clear(&r);
        return;
    }
    int64_t expect;
    if (api_expected_version(rq, w, r.resource_version, &expect)) {
        json_t *spec = json_deep_copy(rq->body);
        api_strip_server_fields(spec, NULL);
        apply_update(rq, w, &r, spec, expect);
    }
    store_res_clear(&r);
}

void api_cluster_patch(api_req *rq, api_resp *w)
{
    if (!api_require_body(rq, w)) return;
    store_res r;
    if (!load(rq, w, &r)) return;
    if (phase_of(&r) == PHASE_DELETING) {    /* before any precondition: nothing else can succeed */
        api_problem(w, 409, "cluster-deleting", "cluster %s is being deleted", r.id);
        store_res_clear(&r);
        return;
    }
    int64_t expect;
    if (api_expected_version(rq, w, r.resource_version, &expect)) {
        json_t *patch = json_deep_copy(rq->body);
        api_strip_server_fields(patch, NULL);
        json_t *spec = json_merge_patch(r.spec, patch);
        json_decref(patch);
        apply_update(rq, w, &r, spec, expect);
    }
    store_res_clear(&r);
}

void api_cluster_delete(api_req *rq, api_resp *w)
{
    store_res r;
    if (!load(rq, w, &r)) return;
    int64_t expect;
    if (!api_expected_version(rq, w, r.resource_version, &expect)) { store_res_clear(&r); return; }
    if (phase_of(&r) == PHASE_DELETING) {    /* repeated DELETE: same answer, nothing new */
        answer(w, 202, &r, json_string_value(json_object_get(r.status, "current_operation_id")));
        store_res_clear(&r);
        return;
    }
    int rc = ops_supersede_all(rq->env->store, r.id, "superseded by a delete of the cluster");
    phase_deleting(&r);
    condition_set(r.status, "Ready", "False", "Deleting", "the cluster is being deleted");
    char op[SP_ID_MAX] = "";
    json_t *none = json_object();
    if (rc == ST_OK) rc = add_operation(rq, &r, OP_DELETE, none, NULL, op);
    json_decref(none);
    if (rc == ST_OK) rc = store_res_update(rq->env->store, K_CLUSTER, &r, expect);
    if (rc == ST_STALE) api_problem(w, 412, "precondition-failed", "the cluster changed meanwhile; read it again");
    else if (rc != ST_OK) api_store_error(w, rc, "deleting the cluster");
    else answer(w, 202, &r, op);
    store_res_clear(&r);
}

/* POST /v1/clusters/{id}/restart: a plain roll (every pod once, the
 * rolling restart engine's order and checks), as an operation
 * ROLLING_RESTART. The spec does not change; a cancel stops the roll
 * between pods. */
void api_cluster_restart(api_req *rq, api_resp *w)
{
    if (rq->body && (!json_is_object(rq->body) || json_object_size(rq->body) > 0)) {
        api_problem(w, 422, "invalid-body", "a restart takes no parameters: send no body, or {}");
        return;
    }
    store_res r;
    if (!load(rq, w, &r)) return;
    int64_t expect;
    if (!api_expected_version(rq, w, r.resource_version, &expect)) { store_res_clear(&r); return; }
    cluster_phase ph = phase_of(&r);
    if (ph == PHASE_DELETING || ph == PHASE_PROVISIONING || !r.data_plane_id[0]) {
        api_problem(w, 409, ph == PHASE_DELETING ? "cluster-deleting" : "nothing-to-restart",
                    ph == PHASE_DELETING       ? "cluster %s is being deleted"
                    : ph == PHASE_PROVISIONING ? "cluster %s is still being created: no pod runs yet"
                                               : "cluster %s is on the manifests target: streamplane runs no pod of it",
                    r.id);
        store_res_clear(&r);
        return;
    }
    char op[SP_ID_MAX] = "";
    json_t *none = json_object();
    int rc = add_operation(rq, &r, OP_ROLLING_RESTART, none, r.spec, op);
    json_decref(none);
    phase_changed(&r);
    if (rc == ST_OK) rc = store_res_update(rq->env->store, K_CLUSTER, &r, expect);
    if (rc == ST_STALE) api_problem(w, 412, "precondition-failed", "the cluster changed meanwhile; read it again");
    else if (rc != ST_OK) api_store_error(w, rc, "restarting the cluster");
    else answer(w, 202, &r, op);
    store_res_clear(&r);
}

/* Used by operations.c before a cancel: undoing a scale-in grows the
 * cluster again, so quotas are checked as for any growth. */
bool cluster_revert_fits(api_req *rq, api_resp *w, const char *cluster_id, const json_t *spec_before)
{
    store_res r;
    int rc = store_res_get(rq->env->store, K_CLUSTER, cluster_id, NULL, &r);
    if (rc != ST_OK) { api_store_error(w, rc, "reading the cluster"); return false; }
    long long b = json_integer_value(json_object_get(spec_before, "brokers"));
    long long g = json_integer_value(json_object_get(spec_before, "storage_gib"));
    bool ok = check_quota(rq, w, r.tenant_id, 0, b - r.brokers, b * g - r.brokers * r.storage_gib);
    store_res_clear(&r);
    return ok;
}

/* The Kubernetes objects of a cluster as the renderer makes them from its
 * current spec: JSON {"items": [...]}, or YAML documents when the client
 * asks for application/yaml (ready for kubectl apply -f -). */
void api_cluster_manifests(api_req *rq, api_resp *w)
{
    store_res r;
    if (!load(rq, w, &r)) return;
    store_res dp = {0};
    bool have_dp = r.data_plane_id[0] &&
                   store_res_get(rq->env->store, K_DATA_PLANE, r.data_plane_id, NULL, &dp) == ST_OK;
    cluster_spec spec;
    cluster_spec_from_row(&r, &spec);
    char err[256] = "this server has no renderer";
    json_t *objs = rq->env->render ? rq->env->render(rq->env->render_ctx, &spec, have_dp ? dp.spec : NULL, err, sizeof err)
                                   : NULL;
    if (have_dp) store_res_clear(&dp);
    int64_t rv = r.resource_version;
    store_res_clear(&r);
    if (!objs) { api_problem(w, 500, "render-failed", "the cluster's objects could not be rendered: %s", err); return; }
    api_set_etag(w, rv);
    bool yaml = rq->accept && (strstr(rq->accept, "application/yaml") || strstr(rq->accept, "application/x-yaml") ||
                               strstr(rq->accept, "text/yaml"));
    if (yaml) {
        w->status = 200;
        w->raw = yaml_dump_docs(objs);
        w->raw_len = w->raw ? strlen(w->raw) : 0;
        w->content_type = "application/yaml";
        json_decref(objs);
        if (!w->raw) api_problem(w, 500, "out-of-memory", "cannot render YAML");
        return;
    }
    api_json(w, 200, json_pack("{s:o}", "items", objs));
}

/* A live reading of the cluster's Kafka health within timeout_ms (default
 * 2000), or, when Kafka cannot be read, the last stored reading marked
 * stale with the reason. Reads only: nothing is written. */
void api_cluster_health(api_req *rq, api_resp *w)
{
    long timeout = 2000;
    const char *t = api_query(rq, "timeout_ms");
    if (t) {
        char *end;
        timeout = strtol(t, &end, 10);
        if (!*t || *end || timeout < 100 || timeout > 5000) {
            api_problem(w, 400, "bad-timeout", "timeout_ms must be an integer from 100 to 5000");
            return;
        }
    }
    store_res r;
    if (!load(rq, w, &r)) return;
    store_res dp = {0};
    bool have_dp = r.data_plane_id[0] &&
                   store_res_get(rq->env->store, K_DATA_PLANE, r.data_plane_id, NULL, &dp) == ST_OK;
    const char *why = NULL;
    health_verdict hv = {0};
    json_t *live = NULL;
    if (!rq->env->health_read) {
        why = "this server was started without a Kafka client";
    } else if (!sp_slot_take(rq->env->live_reads_busy, rq->env->live_reads_max)) {
        why = "other live Kafka readings are in progress on this server; this is the last stored reading";
    } else {
        live = rq->env->health_read(rq->env->health_ctx, r.status, have_dp ? dp.spec : NULL, (int)r.brokers,
                                    (int)timeout, &hv, &why);
        sp_slot_give(rq->env->live_reads_busy);
    }
    json_t *body;
    if (live && hv.reachable) {
        body = live;
        json_object_set_new(body, "source", json_string("live"));
        json_object_set_new(body, "stale", json_false());
        json_object_set_new(body, "healthy", json_boolean(hv.healthy));
        json_object_set_new(body, "reason", json_string(hv.reason));
        json_object_set_new(body, "message", json_string(hv.message));
        json_object_set_new(body, "live_error", json_null());
    } else {
        const json_t *last = json_object_get(r.status, "health");
        body = last ? json_deep_copy(last) : json_object();
        const json_t *kc = condition_get(r.status, "KafkaReady");
        json_object_set_new(body, "source", json_string(last ? "last_check" : "none"));
        json_object_set_new(body, "stale", json_true());
        if (last) {
            const char *cs = json_string_value(json_object_get(kc, "status"));
            json_object_set_new(body, "healthy", json_boolean(cs && strcmp(cs, "True") == 0));
            json_object_set(body, "reason", json_object_get(kc, "reason"));
            json_object_set(body, "message", json_object_get(kc, "message"));
        }
        json_object_set_new(body, "live_error", json_string(live ? hv.message : why));
        json_decref(live);
    }
    json_object_set_new(body, "cluster_id", json_string(r.id));
    json_object_set_new(body, "phase", json_string(r.phase));
    if (have_dp) store_res_clear(&dp);
    store_res_clear(&r);
    api_json(w, 200, body);
}
