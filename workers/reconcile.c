/* reconcile.c — drives a cluster toward its desired state.
 *
 * Level-triggered and idempotent: read the row, do the next step, record
 * the outcome in one transaction. With no data plane the target is the
 * built-in manifests target: the rendered objects are written as YAML
 * files under DATA_DIR/manifests/<cluster-id>/ (for kubectl apply -f, Argo
 * CD or Flux), and the operations that asked for them succeed. Files are
 * written before the transaction, into a fresh directory swapped in by
 * rename, so a crash at any point leaves either the old set or the new one
 * and the next run writes the same bytes again.
 *
 * On a Kubernetes data plane the same objects are applied with server-side
 * apply (idempotent: a crash before the commit only re-applies the same
 * objects), then the reconciler waits until both StatefulSets report every
 * replica ready at the current generation, finds the brokers' external
 * addresses when the cluster has external access, and waits until Kafka
 * metadata (librdkafka, through the route cluster_health.h picks) lists
 * every broker. Only then does the operation succeed and the cluster turn
 * RUNNING. A data plane whose Kafka clusters streamplane cannot reach
 * (kafka_access: external, and a cluster without an external listener)
 * goes by its pods alone, with KafkaReady=Unknown saying why.
 *
 * A settled cluster (RUNNING or DEGRADED, no operation) is checked
 * periodically: the worker reads metadata, turns the phase DEGRADED (a
 * broker missing, a partition without a leader, Kafka unreachable) or back
 * to RUNNING, and asks to be called again after the interval, jittered.
 * Checks are bounded by health_slots so that a slow Kafka cannot occupy
 * every worker. status.health is written when the reading changes (or is
 * five minutes old), not on every check, so a settled cluster's
 * resource_version does not move every interval.
 *
 * Deletion removes the namespace and the cluster-scoped RBAC objects, waits
 * until the namespace is gone, and only then removes the row. */
#define _GNU_SOURCE
#include "reconcile.h"
#include "turn.h"
#include "plans.h"
#include "pods.h"
#include "../common/yamlout.h"
#include "kube/client.h"
#include "kube/probe.h"
#include "../common/util.h"
#include "../common/conditions.h"
#include "cluster_health.h"
#include "../core/cluster.h"
#include "../core/ops.h"
#include "../core/phase.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int rm_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return errno == ENOENT ? 0 : -1;
    struct dirent *e;
    char p[2048];
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    closedir(d);
    return rmdir(dir) == 0 || errno == ENOENT ? 0 : -1;
}

/* Writes objects as one YAML file each into dir, replacing what was there. */
static int write_manifests(const char *root, const char *id, const json_t *objs, char *err, size_t errlen)
{
    char dir[1400], tmp[1500], old[1500];
    snprintf(dir, sizeof dir, "%s/%s", root, id);
    snprintf(tmp, sizeof tmp, "%s/.%s.new", root, id);
    snprintf(old, sizeof old, "%s/.%s.old", root, id);
    mkdir(root, 0755);
    rm_tree(tmp);
    rm_tree(old);
    if (mkdir(tmp, 0755) != 0) { snprintf(err, errlen, "cannot create %.400s: %s", tmp, strerror(errno)); return -1; }
    size_t i;
    json_t *o;
    json_array_foreach(objs, i, o) {
        char name[256], path[1800];
        render_filename(o, (int)i, name, sizeof name);
        char *dot = strrchr(name, '.');
        if (dot && strcmp(dot, ".json") == 0) strcpy(dot, ".yaml");
        snprintf(path, sizeof path, "%s/%s", tmp, name);
        char *y = yaml_dump(o);
        int rc = y ? sp_write_file_atomic(path, y, strlen(y), 0644) : -1;
        free(y);
        if (rc != 0) { snprintf(err, errlen, "cannot write %.400s", path); return -1; }
    }
    /* swap: dir -> old, tmp -> dir, drop old */
    if (rename(dir, old) != 0 && errno != ENOENT) { snprintf(err, errlen, "cannot move %.400s aside", dir); return -1; }
    if (rename(tmp, dir) != 0) { snprintf(err, errlen, "cannot move %.400s into place", tmp); return -1; }
    rm_tree(old);
    int fd = open(root, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) { fsync(fd); close(fd); }
    return 0;
}

static void set_ready(json_t *status, const char *st, const char *reason, const char *msg)
{
    condition_set(status, "Ready", st, reason, msg);
}

/* In one transaction: shows what the work is waiting for on the cluster's
 * oldest active operation (RUNNING from now on; step NULL leaves it alone),
 * sets the given condition on the cluster, and merges fields (consumed; a
 * null value deletes the key) into its status when the cluster is still
 * at generation gen (0: whatever it is). */
/* Two statuses differ in more than when the last health reading was
 * taken (a reading that changed only its checked_at is not news). */
static bool status_differs(const json_t *a, const json_t *b)
{
    json_t *x = json_deep_copy(a), *y = json_deep_copy(b);
    json_object_del(json_object_get(x, "health"), "checked_at");
    json_object_del(json_object_get(y, "health"), "checked_at");
    bool differs = !json_equal(x, y);
    json_decref(x);
    json_decref(y);
    return differs;
}

static int record_progress(store_t *st, const char *cluster_id, const char *step, const char *msg, int percent,
                           const char *cond, const char *cond_status, const char *cond_reason,
                           json_t *fields, int64_t gen)
{
    if (store_begin(st) != ST_OK) { json_decref(fields); return -1; }
    bool wrote = false;
    int rc = step ? ops_step(st, cluster_id, step, msg, percent, &wrote) : ST_OK;
    if (rc == ST_OK && (cond || fields)) {
        store_res r;
        if ((rc = store_res_get(st, K_CLUSTER, cluster_id, NULL, &r)) == ST_OK) {
            json_t *before = json_deep_copy(r.status);
            if (cond) condition_set(r.status, cond, cond_status, cond_reason, msg);
            const char *k;
            json_t *v;
            if (fields && (!gen || r.generation == gen))
                json_object_foreach(fields, k, v) {
                    if (json_is_null(v)) json_object_del(r.status, k);
                    else json_object_set(r.status, k, v);
                }
            /* only a change moves resource_version: a client's If-Match
             * holds while an operation waits, and a poll costs no fsync */
            if (status_differs(before, r.status)) {
                rc = store_res_update(st, K_CLUSTER, &r, 0);
                wrote = rc == ST_OK;
            }
            json_decref(before);
            store_res_clear(&r);
        }
    }
    json_decref(fields);
    if (rc != ST_OK || !wrote) { store_rollback(st); return rc == ST_OK ? 0 : -1; }
    return store_commit(st) == ST_OK ? 0 : -1;
}

int note_progress(store_t *st, const char *cluster_id, const char *step, const char *msg, int percent,
                  const char *cond, const char *cond_status, const char *cond_reason)
{
    return record_progress(st, cluster_id, step, msg, percent, cond, cond_status, cond_reason, NULL, 0);
}

static int reconcile_manifests(reconciler *rc_, store_res *r)
{
    char started[SP_TS_MAX], err[512], dir[1400];
    sp_now_rfc3339(started);
    snprintf(dir, sizeof dir, "%s/%s", rc_->manifests_dir, r->id);
    store_t *st = rc_->store;

    if (phase_of(r) == PHASE_DELETING) {
        if (rm_tree(dir) != 0) return -1;
        if (store_begin(st) != ST_OK) return -1;
        int rc = ops_finish(st, r->id, 0, "remove manifests", "the cluster's manifest files were removed", started);
        if (rc == ST_OK) rc = store_res_delete(st, K_CLUSTER, r->id);
        if (rc == ST_OK || rc == ST_NOTFOUND) return store_commit(st) == ST_OK ? 0 : -1;
        store_rollback(st);
        return -1;
    }
    int64_t observed = json_integer_value(json_object_get(r->status, "observed_generation"));
    char cur[SP_ID_MAX];
    if (store_op_current(st, r->id, cur) != ST_OK) return -1;
    if (observed == r->generation && !cur[0]) return 0;        /* nothing to do */

    cluster_spec spec;
    cluster_spec_from_row(r, &spec);
    json_t *objs = render_cluster(&spec, NULL, &rc_->render, err, sizeof err);
    if (!objs) return -1;
    int w = write_manifests(rc_->manifests_dir, r->id, objs, err, sizeof err);
    size_t nobj = json_array_size(objs);
    json_decref(objs);
    if (w != 0) return -1;

    if (store_begin(st) != ST_OK) return -1;
    store_res now;
    int rc = store_res_get(st, K_CLUSTER, r->id, NULL, &now);
    if (rc != ST_OK) { store_rollback(st); return rc == ST_NOTFOUND ? 0 : -1; }
    if (now.generation != r->generation || phase_of(&now) != phase_of(r)) {
        /* changed while we wrote: the next run writes the newer spec */
        store_rollback(st);
        store_res_clear(&now);
        return 1;
    }
    char msg[1600];
    snprintf(msg, sizeof msg, "%zu objects written to %s; apply them with kubectl apply -f", nobj, dir);
    rc = ops_finish(st, r->id, now.generation, "write manifests", msg, started);
    if (rc == ST_OK) {
        phase_converged(&now, true);
        json_object_set_new(now.status, "observed_generation", json_integer(now.generation));
        json_object_set_new(now.status, "current_operation_id", json_null());
        json_object_set_new(now.status, "target", json_string("manifests"));
        json_object_set_new(now.status, "manifests_path", json_string(dir));
        /* what the manifests run: the release they name */
        json_t *tv = json_object_get(now.status, "target_kafka_version");
        if (tv) json_object_set(now.status, "kafka_version", tv);
        set_ready(now.status, "True", "ManifestsWritten", msg);
        rc = store_res_update(st, K_CLUSTER, &now, 0);
    }
    store_res_clear(&now);
    if (rc != ST_OK) { store_rollback(st); return -1; }
    return store_commit(st) == ST_OK ? 0 : -1;
}

/* Each worker thread keeps a client per data plane (its curl handle keeps
 * connections open), rebuilt when the data plane's row changes. Cost: 8
 * clients per worker thread (a curl handle and its connections each); a
 * ninth data plane replaces the first slot. */
#define CLIENT_CACHE 8
typedef struct client_cache {
    struct { char plane[SP_ID_MAX]; int64_t rv; kube_client *c; json_t *spec; } e[CLIENT_CACHE];
    int n;
} client_cache;

static void cache_free(void *p)
{
    client_cache *cc = p;
    for (int i = 0; i < cc->n; i++) { kube_client_free(cc->e[i].c); json_decref(cc->e[i].spec); }
    free(cc);
}

void reconciler_init(reconciler *rc)
{
    breakers_init(&rc->breakers, 3);
    pthread_key_create(&rc->clients, cache_free);
}

void reconciler_fini(reconciler *rc)
{
    client_cache *cc = pthread_getspecific(rc->clients);
    if (cc) { cache_free(cc); pthread_setspecific(rc->clients, NULL); }
    pthread_key_delete(rc->clients);
    breakers_destroy(&rc->breakers);
    sp_wipe(rc->master_key, sizeof rc->master_key);
}

/* A client for the cluster's data plane, from its sealed credentials;
 * owned by the thread's cache. *plane_spec is a new reference. */
static kube_client *plane_client(reconciler *rc_, const char *plane_id, json_t **plane_spec, char *err, size_t errlen)
{
    *plane_spec = NULL;
    store_res dp;
    if (store_res_get(rc_->store, K_DATA_PLANE, plane_id, NULL, &dp) != ST_OK) {
        snprintf(err, errlen, "data plane %s cannot be read", plane_id);
        return NULL;
    }
    client_cache *cc = pthread_getspecific(rc_->clients);
    if (!cc && (cc = calloc(1, sizeof *cc))) pthread_setspecific(rc_->clients, cc);
    int slot = -1;
    for (int i = 0; cc && i < cc->n && slot < 0; i++)
        if (strcmp(cc->e[i].plane, plane_id) == 0) slot = i;
    if (cc && slot >= 0 && cc->e[slot].rv == dp.resource_version) {
        *plane_spec = json_incref(cc->e[slot].spec);
        store_res_clear(&dp);
        return cc->e[slot].c;
    }
    unsigned char *pt = NULL;
    size_t n = 0;
    json_t *sec = dp.secret && sp_open(rc_->master_key, dp.secret, dp.secret_len, dp.id, &pt, &n) == 0
                      ? json_loadb((char *)pt, n, 0, NULL) : NULL;
    if (pt) { sp_wipe(pt, n); free(pt); }
    kube_client *c = NULL;
    if (!sec) snprintf(err, errlen, "the data plane's credentials cannot be opened with this master key");
    else {
        json_t *k = json_deep_copy(json_object_get(dp.spec, "kubernetes"));
        json_object_update(k, sec);
        kube_cfg cfg;
        bool allow = json_is_true(json_object_get(dp.spec, "allow_insecure_transport"));
        if (kube_cfg_from_plane(k, allow, &cfg, err, errlen) == 0) {
            c = kube_client_new(&cfg, 10000);
            kube_cfg_free(&cfg);
        }
        json_decref(k);
        json_decref(sec);
    }
    if (c && cc) {
        if (slot < 0) {
            if (cc->n < CLIENT_CACHE) slot = cc->n++;
            else slot = 0;                       /* full: reuse the first */
        }
        if (cc->e[slot].c) { kube_client_free(cc->e[slot].c); json_decref(cc->e[slot].spec); }
        snprintf(cc->e[slot].plane, sizeof cc->e[slot].plane, "%s", plane_id);
        cc->e[slot].rv = dp.resource_version;
        cc->e[slot].c = c;
        cc->e[slot].spec = json_incref(dp.spec);
    } else if (c) {                              /* no cache memory: give up the call */
        kube_client_free(c);
        c = NULL;
        snprintf(err, errlen, "out of memory");
    }
    if (c) *plane_spec = json_incref(dp.spec);
    store_res_clear(&dp);
    return c;
}

/* Ready replicas of a StatefulSet at its current generation, or -1 with
 * *rc saying why. */
static int sts_ready(kube_client *c, const char *ns, const char *name, int *want, kube_rc *rc, kube_err *e)
{
    json_t *o = NULL;
    *rc = kube_get(c, "apps/v1", "StatefulSet", ns, name, &o, e);
    if (*rc != KUBE_OK) return -1;
    json_t *spec = json_object_get(o, "spec"), *st = json_object_get(o, "status");
    json_t *md = json_object_get(o, "metadata");
    *want = (int)json_integer_value(json_object_get(spec, "replicas"));
    int ready = (int)json_integer_value(json_object_get(st, "readyReplicas"));
    int updated = (int)json_integer_value(json_object_get(st, "updatedReplicas"));
    bool current = json_integer_value(json_object_get(st, "observedGeneration")) >=
                   json_integer_value(json_object_get(md, "generation"));
    json_decref(o);
    /* OnDelete: pods of an older revision still count as ready, but a
     * template change is not done until a worker rolls them (later issue) */
    (void)updated;
    return current ? ready : 0;
}

/* The first address of a node: ExternalIP, else InternalIP ("" if none). */
static void node_address(kube_client *c, const char *node, char *out, size_t cap, kube_rc *krc, kube_err *e)
{
    out[0] = 0;
    json_t *n = NULL;
    *krc = kube_get(c, "v1", "Node", NULL, node, &n, e);
    if (*krc != KUBE_OK) { json_decref(n); return; }
    json_t *addrs = json_object_get(json_object_get(n, "status"), "addresses");
    static const char *const pref[] = {"ExternalIP", "InternalIP"};
    for (int p = 0; p < 2 && !out[0]; p++) {
        size_t i;
        json_t *a;
        json_array_foreach(addrs, i, a) {
            const char *t = json_string_value(json_object_get(a, "type"));
            const char *v = json_string_value(json_object_get(a, "address"));
            if (t && v && strcmp(t, pref[p]) == 0) { snprintf(out, cap, "%s", v); break; }
        }
    }
    json_decref(n);
}

/* The external addresses of brokers 0..n-1 as a bootstrap list, from their
 * per-broker Services (what launch.sh advertises): a LoadBalancer's ingress
 * IP or hostname with the Service port, or the node port on the address of
 * the node the broker's pod runs on. Returns how many brokers have one, or
 * -1 when Kubernetes could not be read (*krc, *e). */
static int external_bootstrap(kube_client *c, const char *ns, int n, char *out, size_t cap, kube_rc *krc, kube_err *e)
{
    json_t *svcs = NULL;
    out[0] = 0;
    *krc = kube_list(c, "v1", "Service", ns, "streamplane.dev/broker", &svcs, e);
    if (*krc != KUBE_OK) { json_decref(svcs); return -1; }
    int found = 0;
    size_t len = 0;
    for (int b = 0; b < n; b++) {
        char want[96], addr[300] = "";
        snprintf(want, sizeof want, RENDER_BROKER_STS "-%d-external", b);
        size_t i;
        json_t *svc, *hit = NULL;
        json_array_foreach(svcs, i, svc) {
            const char *nm = json_string_value(json_object_get(json_object_get(svc, "metadata"), "name"));
            if (nm && strcmp(nm, want) == 0) { hit = svc; break; }
        }
        if (!hit) continue;
        json_t *spec = json_object_get(hit, "spec");
        json_t *p0 = json_array_get(json_object_get(spec, "ports"), 0);
        const char *type = json_string_value(json_object_get(spec, "type"));
        if (type && strcmp(type, "LoadBalancer") == 0) {
            json_t *ing = json_array_get(json_object_get(json_object_get(json_object_get(hit, "status"),
                                                                           "loadBalancer"), "ingress"), 0);
            const char *host = json_string_value(json_object_get(ing, "ip"));
            if (!host || !*host) host = json_string_value(json_object_get(ing, "hostname"));
            if (host && *host)
                snprintf(addr, sizeof addr, "%s:%lld", host, (long long)json_integer_value(json_object_get(p0, "port")));
        } else if (type && strcmp(type, "NodePort") == 0) {
            long long np = json_integer_value(json_object_get(p0, "nodePort"));
            json_t *pod = NULL;
            char pname[64], host[256] = "";
            snprintf(pname, sizeof pname, RENDER_BROKER_STS "-%d", b);
            *krc = kube_get(c, "v1", "Pod", ns, pname, &pod, e);
            const char *node = json_string_value(json_object_get(json_object_get(pod, "spec"), "nodeName"));
            if (*krc == KUBE_OK && node) node_address(c, node, host, sizeof host, krc, e);
            json_decref(pod);
            if (*krc != KUBE_OK && *krc != KUBE_NOT_FOUND) { json_decref(svcs); return -1; }
            *krc = KUBE_OK;
            if (np > 0 && host[0]) snprintf(addr, sizeof addr, "%s:%lld", host, np);
        }
        if (!addr[0] || len + strlen(addr) + 2 >= cap) continue;
        len += (size_t)snprintf(out + len, cap - len, "%s%s", len ? "," : "", addr);
        found++;
    }
    json_decref(svcs);
    return found;
}

static int jittered(int ms);

/* After a failed call: the condition says whether the data plane is
 * unreachable (transient: retried with backoff, counted against its
 * circuit) or answered with a refusal (permanent: the same call would fail
 * again, so it is tried again only after the longest backoff). */
int call_failed(kturn *t, const char *step, int percent)
{
    bool tr = kube_transient(t->krc);
    note_progress(t->st, t->r->id, step, t->err, percent, "DataPlaneReachable", tr ? "False" : "True",
                  tr ? "Unreachable" : kube_rc_name(t->krc));
    return tr ? -1 : 30000;
}

static bool gone_or_ok(kube_rc rc) { return rc == KUBE_OK || rc == KUBE_NOT_FOUND; }

/* How long the cluster's current operation has been in this step (ms), from
 * the step's started_at (stored, so it survives a restart); 0 when the
 * current step is another one. */
static int64_t step_age_ms(store_t *st, const char *cluster_id, const char *step)
{
    char cur[SP_ID_MAX], now[SP_TS_MAX];
    store_op o;
    int64_t age = 0;
    if (store_op_current(st, cluster_id, cur) != ST_OK || !cur[0] || store_op_get(st, cur, NULL, &o) != ST_OK)
        return 0;
    json_t *last = json_array_get(o.steps, json_array_size(o.steps) - 1);
    const char *name = json_string_value(json_object_get(last, "name"));
    int64_t t0 = sp_parse_rfc3339(json_string_value(json_object_get(last, "started_at")));
    sp_now_rfc3339(now);
    if (name && strcmp(name, step) == 0 && t0 > 0) age = (sp_parse_rfc3339(now) - t0) * 1000;
    store_op_clear(&o);
    return age;
}

/* A wait that outlived rc->stall_ms: the cluster gets Stalled=True with
 * reason and the step says why; the worker keeps looking at a slower pace
 * (the returned delay). Below the limit: 0, nothing noted. The message
 * holds no clock, so a poll that finds nothing new writes nothing. */
static int note_stall(kturn *t, const char *step, const char *reason, int percent)
{
    int limit = t->rc->stall_ms;
    if (limit <= 0 || step_age_ms(t->st, t->r->id, step) < limit) return 0;
    char msg[700];
    snprintf(msg, sizeof msg, "stalled (over %d s): %s", limit / 1000, t->err);
    note_progress(t->st, t->r->id, step, msg, percent, "Stalled", "True", reason);
    return limit / 4 > 5000 ? limit / 4 : 5000;
}

/* A wait that was stalled is over. */
static void stall_over(kturn *t)
{
    const char *st = json_string_value(json_object_get(condition_get(t->r->status, "Stalled"), "status"));
    if (st && strcmp(st, "True") == 0)
        note_progress(t->st, t->r->id, NULL, "the wait is over", 0, "Stalled", "False", "Progressed");
}

/* What a Terminating namespace's own conditions say keeps it (": ..."), or "". */
static void namespace_why(const json_t *ns_obj, char *why, size_t cap)
{
    size_t i, n = 0;
    json_t *cnd;
    why[0] = 0;
    json_array_foreach(json_object_get(json_object_get(ns_obj, "status"), "conditions"), i, cnd) {
        const char *st = json_string_value(json_object_get(cnd, "status"));
        const char *m = json_string_value(json_object_get(cnd, "message"));
        if (st && strcmp(st, "True") == 0 && m && n < cap)
            n += (size_t)snprintf(why + n, cap - n, "%s%s", n ? "; " : ": ", m);
    }
}

/* DELETING: remove the namespace and the cluster-scoped RBAC objects, wait
 * until the namespace is gone, then remove the row. */
static int step_delete(kturn *t)
{
    char role[160];
    snprintf(role, sizeof role, "streamplane-%s-node-reader", t->r->id);
    t->called = true;
    kube_rc r1 = kube_delete(t->c, "v1", "Namespace", NULL, t->ns, "Background", &t->e);
    kube_rc r2 = kube_delete(t->c, "rbac.authorization.k8s.io/v1", "ClusterRoleBinding", NULL, role, NULL, &t->e);
    kube_rc r3 = kube_delete(t->c, "rbac.authorization.k8s.io/v1", "ClusterRole", NULL, role, NULL, &t->e);
    t->krc = !gone_or_ok(r1) ? r1 : !gone_or_ok(r2) ? r2 : !gone_or_ok(r3) ? r3 : KUBE_OK;
    if (t->krc != KUBE_OK) {
        snprintf(t->err, sizeof t->err, "%s", t->e.message);
        return call_failed(t, "delete namespace", 0);
    }
    json_t *o = NULL;
    kube_rc g = kube_get(t->c, "v1", "Namespace", NULL, t->ns, &o, &t->e);
    char why[400];
    namespace_why(o, why, sizeof why);
    json_decref(o);
    if (g == KUBE_OK) {
        snprintf(t->err, sizeof t->err, "namespace %s is still Terminating%s", t->ns, why);
        int stalled = note_stall(t, "delete namespace", "NamespaceTerminating", 50);
        if (stalled) return stalled;
        note_progress(t->st, t->r->id, "delete namespace", t->err, 50, "DataPlaneReachable", "True", "Reachable");
        return 500;
    }
    if (g != KUBE_NOT_FOUND) {
        t->krc = g;
        snprintf(t->err, sizeof t->err, "%s", t->e.message);
        return call_failed(t, "delete namespace", 0);
    }
    if (store_begin(t->st) != ST_OK) return -1;
    int rc = ops_finish(t->st, t->r->id, 0, "delete namespace", "the namespace and its objects are gone", t->started);
    if (rc == ST_OK) rc = store_res_delete(t->st, K_CLUSTER, t->r->id);
    if (rc == ST_OK || rc == ST_NOTFOUND) return store_commit(t->st) == ST_OK ? 0 : -1;
    store_rollback(t->st);
    return -1;
}

/* Nothing to do when the generation was observed and no operation waits. */
static int step_needed(kturn *t)
{
    int64_t observed = json_integer_value(json_object_get(t->r->status, "observed_generation"));
    char cur[SP_ID_MAX];
    if (store_op_current(t->st, t->r->id, cur) != ST_OK) return -1;
    return observed == t->r->generation && !cur[0] ? 0 : NEXT;
}

/* Server-side apply of every rendered object, once per generation: while
 * waiting for pods, the turn only looks. */
int step_apply(kturn *t)
{
    if (json_integer_value(json_object_get(t->r->status, "applied_generation")) == t->r->generation) return NEXT;
    cluster_spec spec;
    cluster_spec_from_row(t->r, &spec);
    json_t *objs = render_cluster(&spec, t->plane, &t->rc->render, t->err, sizeof t->err);
    if (!objs) {   /* the spec cannot be rendered: nothing to call, and retrying will not help */
        note_progress(t->st, t->r->id, "render objects", t->err, 0, NULL, NULL, NULL);
        return 30000;
    }
    t->called = true;
    size_t i;
    json_t *obj;
    json_array_foreach(objs, i, obj) {
        t->krc = kube_apply(t->c, obj, NULL, &t->e);
        if (t->krc != KUBE_OK) {
            snprintf(t->err, sizeof t->err, "applying %s %s: %s", json_string_value(json_object_get(obj, "kind")),
                     json_string_value(json_object_get(json_object_get(obj, "metadata"), "name")), t->e.message);
            break;
        }
    }
    json_decref(objs);
    return t->krc == KUBE_OK ? NEXT : call_failed(t, "apply objects", 10);
}

/* Both StatefulSets report every replica ready at their generation. */
/* A pod that cannot start (pods.h) fails the current operation, naming
 * it, instead of a wait that never ends; the cluster is then looked at
 * slowly. 0 when no pod is failing (or the pods cannot be listed). */
static int fail_on_hopeless_pod(kturn *t)
{
    json_t *items = NULL;
    char sel[160], code[64], msg[600];
    snprintf(sel, sizeof sel, "streamplane.dev/cluster=%s,app.kubernetes.io/name=kafka", t->r->id);
    if (kube_list(t->c, "v1", "Pod", t->ns, sel, &items, &t->e) != KUBE_OK) return 0;
    bool failing = false;
    size_t i;
    json_t *pod;
    json_array_foreach(items, i, pod)
        if ((failing = pod_failing(pod, code, sizeof code, msg, sizeof msg))) break;
    json_decref(items);
    if (!failing) return 0;
    plans_fail_current(t, code, msg);
    return 5000;
}

int step_wait_pods(kturn *t, pod_counts *p)
{
    t->called = true;
    /* a StatefulSet just applied always exists; -1 here is a transport failure */
    p->cready = sts_ready(t->c, t->ns, RENDER_CONTROLLER_STS, &p->cwant, &t->krc, &t->e);
    p->bready = p->cready >= 0 ? sts_ready(t->c, t->ns, RENDER_BROKER_STS, &p->bwant, &t->krc, &t->e) : -1;
    if (t->krc == KUBE_NOT_FOUND) {
        /* applied objects are gone (a restored or replaced API server): apply again */
        t->krc = KUBE_OK;
        record_progress(t->st, t->r->id, NULL, NULL, 0, NULL, NULL, NULL, json_pack("{s:n}", "applied_generation"), 0);
        return 1;
    }
    if (t->krc != KUBE_OK) {
        snprintf(t->err, sizeof t->err, "reading the StatefulSets: %s", t->e.message);
        return call_failed(t, "wait for pods", 10);
    }
    if (p->cready >= p->cwant && p->bready >= p->bwant) return NEXT;
    int failing = fail_on_hopeless_pod(t);
    if (failing) return failing;
    snprintf(t->err, sizeof t->err, "objects applied; waiting for pods: controllers %d/%d, brokers %d/%d ready",
             p->cready, p->cwant, p->bready, p->bwant);
    int want = p->cwant + p->bwant > 0 ? p->cwant + p->bwant : 1;
    int pct = 20 + 70 * (p->cready + p->bready) / want;
    /* one transaction: the step, the condition, the ready count, and what
     * was applied (so the next look does not apply again) */
    record_progress(t->st, t->r->id, "wait for pods", t->err, pct, "DataPlaneReachable", "True", "Reachable",
                    json_pack("{s:i, s:I}", "brokers_ready", p->bready, "applied_generation",
                              (json_int_t)t->r->generation),
                    t->r->generation);
    return 300;
}

/* With external access: every broker's external address. */
static int step_external(kturn *t, const pod_counts *p, char *ext, size_t cap)
{
    ext[0] = 0;
    const char *etype = json_string_value(json_object_get(json_object_get(t->r->spec, "external_access"), "type"));
    if (cluster_external_parse(etype) == EXT_NONE) return NEXT;
    int have = external_bootstrap(t->c, t->ns, p->bwant, ext, cap, &t->krc, &t->e);
    if (have < 0) {
        snprintf(t->err, sizeof t->err, "reading the brokers' external Services: %s", t->e.message);
        return call_failed(t, "wait for external addresses", 90);
    }
    if (have >= p->bwant) {
        stall_over(t);
        return NEXT;
    }
    snprintf(t->err, sizeof t->err, "pods ready; waiting for external addresses: %d/%d brokers have one%s", have,
             p->bwant, cluster_external_parse(etype) == EXT_LOADBALANCER
                           ? " (the data plane gives their LoadBalancer Services no ingress address)" : "");
    int stalled = note_stall(t, "wait for external addresses", "ExternalAddressPending", 90);
    if (stalled) return stalled;
    note_progress(t->st, t->r->id, "wait for external addresses", t->err, 90, "DataPlaneReachable", "True",
                  "Reachable");
    return 500;
}

/* What Kafka said (or why it was not asked). */
typedef struct kreading {
    json_t *addrs;              /* bootstrap_servers, external_bootstrap_servers */
    json_t *reading;            /* NULL: Kafka not read */
    bool routed;                /* a route and a client: Kafka was asked */
    health_verdict hv;
} kreading;

/* Kafka metadata lists every broker (when streamplane can reach Kafka). */
static int step_kafka(kturn *t, const pod_counts *p, const char *ext, kreading *k)
{
    char boot[256];
    snprintf(boot, sizeof boot, "%s.%s.svc.cluster.local:9092", RENDER_BOOTSTRAP_SVC, t->ns);
    k->addrs = json_pack("{s:s, s:s?}", "bootstrap_servers", boot, "external_bootstrap_servers", ext[0] ? ext : NULL);
    const char *why = NULL;
    const char *route = health_route(k->addrs, t->plane, &why);
    k->routed = route && t->rc->kafka;
    if (k->routed) {
        k->reading = health_check(t->rc->kafka, route, p->bwant, t->rc->kafka_timeout_ms, &k->hv);
        if (k->hv.all_brokers) return NEXT;
        snprintf(t->err, sizeof t->err, "pods ready; waiting for Kafka metadata to list every broker: %s",
                 k->hv.message);
        json_t *f = json_deep_copy(k->addrs);
        json_object_set(f, "health", k->reading);
        record_progress(t->st, t->r->id, "wait for Kafka", t->err, 95, "KafkaReady", "False", k->hv.reason, f,
                        t->r->generation);
        return 1000;
    }
    snprintf(k->hv.reason, sizeof k->hv.reason, "%s", route ? "NotChecked" : "NoRoute");
    snprintf(k->hv.message, sizeof k->hv.message, "%s", route ? "this server was started without a Kafka client" : why);
    return NEXT;
}

/* Everything is there: the operations up to this generation succeed and
 * the cluster turns RUNNING (or DEGRADED), in one transaction. */
static void converged_status(store_res *now, const pod_counts *p, const char *ext, const kreading *k, const char *msg)
{
    bool healthy = !k->reading || k->hv.healthy;
    phase_converged(now, healthy);
    json_object_set_new(now->status, "observed_generation", json_integer(now->generation));
    json_object_set_new(now->status, "current_operation_id", json_null());
    json_object_set_new(now->status, "brokers_ready", json_integer(p->bready));
    json_object_set_new(now->status, "applied_generation", json_integer(now->generation));
    json_object_update(now->status, k->addrs);
    if (!ext[0]) json_object_del(now->status, "external_bootstrap_servers");
    if (k->reading) json_object_set(now->status, "health", k->reading);
    if (healthy) set_ready(now->status, "True", k->reading ? "KafkaReady" : "PodsReady", msg);
    else set_ready(now->status, "False", k->hv.reason, k->hv.message);
    condition_set(now->status, "DataPlaneReachable", "True", "Reachable", "the data plane's API server answers");
    condition_set(now->status, "KafkaReady", k->reading ? (k->hv.healthy ? "True" : "False") : "Unknown",
                  k->hv.reason, k->hv.message);
    if (condition_get(now->status, "OperationFailed"))
        condition_set(now->status, "OperationFailed", "False", "Converged", "the cluster reached its spec");
    if (condition_get(now->status, "Stalled"))
        condition_set(now->status, "Stalled", "False", "Progressed", "the operation went past its wait");
}

/* What runs: {"kafka_version": lowest release any Kafka pod runs,
 * "kafka_versions": {release: pods}} from the pods' images (the tag of the
 * kafka container's image), or NULL when the pods cannot be listed. */
static json_t *running_versions(kturn *t, int *ready)
{
    *ready = 0;
    json_t *items = NULL;
    char sel[160];
    snprintf(sel, sizeof sel, "streamplane.dev/cluster=%s,app.kubernetes.io/name=kafka", t->r->id);
    t->krc = kube_list(t->c, "v1", "Pod", t->ns, sel, &items, &t->e);
    if (t->krc != KUBE_OK) return NULL;
    json_t *counts = json_object();
    const char *lowest = NULL;
    size_t i;
    json_t *pod;
    json_array_foreach(items, i, pod) {
        if (pod_ready(pod)) (*ready)++;
        const char *rel = pod_kafka_release(pod);
        if (!rel) continue;
        json_object_set_new(counts, rel, json_integer(json_integer_value(json_object_get(counts, rel)) + 1));
    }
    const char *k;
    json_t *v;
    json_object_foreach(counts, k, v)
        if (!lowest || cluster_version_cmp(k, lowest) < 0) lowest = k;
    json_t *out = json_object();
    if (lowest) json_object_set_new(out, "kafka_version", json_string(lowest));
    json_object_set_new(out, "kafka_versions", counts);
    json_decref(items);
    return out;
}

static int converge_tx(kturn *t, const pod_counts *p, const char *ext, const kreading *k, json_t *versions);

static int step_converge(kturn *t, const pod_counts *p, const char *ext, const kreading *k)
{
    int ready;
    json_t *versions = running_versions(t, &ready);
    if (!versions) {
        snprintf(t->err, sizeof t->err, "reading the pods' images: %s", t->e.message);
        return call_failed(t, "wait for pods", 95);
    }
    if (ready < p->cwant + p->bwant) {
        /* a StatefulSet's ready count lags a pod just deleted: the pods say */
        json_decref(versions);
        snprintf(t->err, sizeof t->err, "waiting for pods: %d of %d ready", ready, p->cwant + p->bwant);
        note_progress(t->st, t->r->id, "wait for pods", t->err, 90, NULL, NULL, NULL);
        return 300;
    }
    int out = converge_tx(t, p, ext, k, versions);
    json_decref(versions);
    return out;
}

static int converge_tx(kturn *t, const pod_counts *p, const char *ext, const kreading *k, json_t *versions)
{
    if (store_begin(t->st) != ST_OK) return -1;
    store_res now;
    int rc = store_res_get(t->st, K_CLUSTER, t->r->id, NULL, &now);
    if (rc != ST_OK) { store_rollback(t->st); return rc == ST_NOTFOUND ? 0 : -1; }
    if (now.generation != t->r->generation || phase_of(&now) != phase_of(t->r)) {
        store_rollback(t->st);          /* changed meanwhile: the next turn works on the new spec */
        store_res_clear(&now);
        return 1;
    }
    snprintf(t->err, sizeof t->err, "objects applied; controllers %d/%d and brokers %d/%d ready; %s",
             p->cready, p->cwant, p->bready, p->bwant,
             k->reading ? "Kafka metadata lists every broker" : "Kafka not checked (see the KafkaReady condition)");
    int64_t gen = t->finish_gen > 0 && t->finish_gen < now.generation ? t->finish_gen : now.generation;
    rc = ops_finish(t->st, t->r->id, gen, k->reading ? "wait for Kafka" : "wait for pods", t->err, t->started);
    if (rc == ST_OK) {
        json_t *applied = json_incref(json_object_get(now.status, "applied_generation"));
        converged_status(&now, p, ext, k, t->err);
        json_object_update(now.status, versions);
        if (gen < now.generation) {
            /* a plan's operation finished; a newer change waits behind it */
            char cur[SP_ID_MAX] = "";
            rc = store_op_current(t->st, now.id, cur);
            json_object_set_new(now.status, "observed_generation", json_integer(gen));
            json_object_set(now.status, "applied_generation", applied ? applied : json_null());
            json_object_set_new(now.status, "current_operation_id", cur[0] ? json_string(cur) : json_null());
            if (cur[0]) phase_changed(&now);
        }
        json_decref(applied);
        rc = store_res_update(t->st, K_CLUSTER, &now, 0);
    }
    store_res_clear(&now);
    if (rc != ST_OK) { store_rollback(t->st); return -1; }
    if (store_commit(t->st) != ST_OK) return -1;
    return k->routed && t->rc->health_interval_ms > 0 ? jittered(t->rc->health_interval_ms) : 0;
}

int step_finish(kturn *t)
{
    pod_counts p = {0};
    int out;
    if ((out = step_wait_pods(t, &p)) != NEXT) return out;
    char ext[2048];
    if ((out = step_external(t, &p, ext, sizeof ext)) != NEXT) return out;
    kreading k = {0};
    if ((out = step_kafka(t, &p, ext, &k)) == NEXT) out = step_converge(t, &p, ext, &k);
    json_decref(k.addrs);
    json_decref(k.reading);
    return out;
}

/* The steps in order; each either hands on (NEXT) or ends the turn. An
 * operation that is a plan (plans.h) runs its own steps instead. */
static int kube_turn(kturn *t)
{
    if (phase_of(t->r) == PHASE_DELETING) return step_delete(t);
    int out;
    if ((out = step_needed(t)) != NEXT) return out;
    if ((out = plans_turn(t)) != NEXT) return out;
    if ((out = step_apply(t)) != NEXT) return out;
    return step_finish(t);
}

static int reconcile_kube(reconciler *rc_, store_res *r)
{
    kturn t = {.rc = rc_, .st = rc_->store, .r = r, .krc = KUBE_OK};
    sp_now_rfc3339(t.started);
    int64_t wait_ms;
    if (!breaker_allow(&rc_->breakers, r->data_plane_id, &wait_ms)) {
        /* the data plane failed repeatedly: its clusters wait, the workers go on */
        snprintf(t.err, sizeof t.err, "data plane %s is not answering; the next try is in %lld ms",
                 r->data_plane_id, (long long)wait_ms);
        note_progress(t.st, r->id, "reach the data plane", t.err, 0, "DataPlaneReachable", "False", "CircuitOpen");
        return (int)(wait_ms > 0 ? wait_ms : 500);
    }
    t.c = plane_client(rc_, r->data_plane_id, &t.plane, t.err, sizeof t.err);
    int out;
    if (!t.c) {
        note_progress(t.st, r->id, "connect to the data plane", t.err, 0, "DataPlaneReachable", "False",
                      "BadCredentials");
        out = -1;
    } else {
        render_namespace(r->id, t.ns, sizeof t.ns);
        out = kube_turn(&t);
    }
    json_decref(t.plane);
    /* the circuit: transport failures count against the data plane; a
     * turn that called nothing neither closes nor holds it */
    breaker_done(&rc_->breakers, r->data_plane_id,
                 !t.called ? BREAKER_NO_CALL : kube_transient(t.krc) ? BREAKER_CALL_FAILED : BREAKER_CALL_OK);
    return out;
}

/* Two readings differ in more than when they were taken. */
static bool reading_changed(const json_t *old, const json_t *cur)
{
    if (!old) return true;
    json_t *a = json_deep_copy(old), *b = json_deep_copy(cur);
    json_object_del(a, "checked_at");
    json_object_del(b, "checked_at");
    bool same = json_equal(a, b);
    json_decref(a);
    json_decref(b);
    return !same;
}

static int jittered(int ms)
{
    unsigned short j = 0;
    sp_random(&j, sizeof j);
    return (int)(ms * (0.9 + 0.2 * (j / 65535.0)));
}

#define HEALTH_REWRITE_S (5 * 60)

/* A settled cluster on a data plane: one health check, the phase and the
 * KafkaReady condition to match, and the next check after the interval. */
static int health_tick(reconciler *rc_, store_res *r)
{
    store_res dp;
    int out = 0;
    if (store_res_get(rc_->store, K_DATA_PLANE, r->data_plane_id, NULL, &dp) != ST_OK) return -1;
    const char *why;
    const char *route = health_route(r->status, dp.spec, &why);
    if (!route) {                                /* no route: nothing to check, ever (until a change) */
        store_res_clear(&dp);
        return 0;
    }
    if (!sp_slot_take(&rc_->health_busy, rc_->health_slots)) {
        store_res_clear(&dp);
        return 200 + jittered(300);              /* every slot busy: come back shortly */
    }
    health_verdict hv;
    json_t *reading = health_check(rc_->kafka, route, (int)r->brokers, rc_->kafka_timeout_ms, &hv);
    sp_slot_give(&rc_->health_busy);
    store_res_clear(&dp);

    store_t *st = rc_->store;
    if (store_begin(st) != ST_OK) { json_decref(reading); return -1; }
    store_res now;
    char cur[SP_ID_MAX];
    int rc = store_res_get(st, K_CLUSTER, r->id, NULL, &now);
    if (rc != ST_OK) { store_rollback(st); json_decref(reading); return rc == ST_NOTFOUND ? 0 : -1; }
    cluster_phase phase = hv.healthy ? PHASE_RUNNING : PHASE_DEGRADED;
    json_t *old = json_object_get(now.status, "health");
    bool settled = now.generation == r->generation && phase_of(&now) == phase_of(r) &&
                   store_op_current(st, r->id, cur) == ST_OK && !cur[0];
    bool write = settled && (phase_of(&now) != phase || reading_changed(old, reading) ||
                             sp_parse_rfc3339(json_string_value(json_object_get(reading, "checked_at"))) -
                                     sp_parse_rfc3339(json_string_value(json_object_get(old, "checked_at"))) >=
                                 HEALTH_REWRITE_S);
    if (write) {
        phase_health(&now, hv.healthy);
        json_object_set(now.status, "health", reading);
        condition_set(now.status, "KafkaReady", hv.healthy ? "True" : "False", hv.reason, hv.message);
        if (hv.healthy) set_ready(now.status, "True", "KafkaReady", hv.message);
        else set_ready(now.status, "False", hv.reason, hv.message);
        rc = store_res_update(st, K_CLUSTER, &now, 0);
    }
    store_res_clear(&now);
    json_decref(reading);
    if (!write || rc != ST_OK) store_rollback(st);
    else if (store_commit(st) != ST_OK) return -1;
    if (rc != ST_OK) return -1;
    out = settled ? jittered(rc_->health_interval_ms) : 1;
    return out > 0 ? out : 1;
}

int cluster_reconcile(void *ctx, const char *key)
{
    reconciler *rc_ = ctx;
    if (strncmp(key, "cluster/", 8) != 0) return 0;
    store_res r;
    int rc = store_res_get(rc_->store, K_CLUSTER, key + 8, NULL, &r);
    if (rc == ST_NOTFOUND) return 0;
    if (rc != ST_OK) return -1;
    int out = 0;
    char cur[SP_ID_MAX] = "";
    if (r.data_plane_id[0] && rc_->kafka && rc_->health_interval_ms > 0 && phase_settled(&r) &&
        store_op_current(rc_->store, r.id, cur) == ST_OK && !cur[0])
        out = health_tick(rc_, &r);
    else
        out = r.data_plane_id[0] ? reconcile_kube(rc_, &r) : reconcile_manifests(rc_, &r);
    store_res_clear(&r);
    return out;
}
