/* controller.c — the controllers and the kubelet, simulated, so objects
 * streamplane writes come to life the way they would on a cluster:
 *   - StatefulSets create pods <name>-<i> and PVCs <claim>-<name>-<i>,
 *     scale down from the highest ordinal (PVCs stay), roll pods with
 *     RollingUpdate, and leave them alone with OnDelete until deleted;
 *     status is recomputed every tick;
 *   - pods turn Running and Ready after --pod-ready-ms, and deleted pods
 *     go away after --pod-terminate-ms;
 *   - Jobs run one pod that succeeds (or fails when annotated
 *     kube-sim/fail: "true");
 *   - PVCs grow: a raised request shows a Resizing condition, then the new
 *     capacity;
 *   - LoadBalancer Services get an ingress IP;
 *   - terminating namespaces lose their contents, then disappear;
 *   - objects whose owners are gone are collected.
 * controller_tick() runs every 50 ms under the store lock. */
#define _GNU_SOURCE
#include "ksim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *side(kobj *o)
{
    if (!o->side) o->side = json_object();
    return o->side;
}

static bool is_deleting(kobj *o) { return jget(o->obj, "metadata.deletionTimestamp") != NULL; }
static bool pod_ready(kobj *p);

/* Replaces o with a copy that body modified; a no-op keeps the resourceVersion. */
#define EDIT(s, o, var, body)                                                                                       \
    do {                                                                                                            \
        json_t *var = json_deep_copy((o)->obj);                                                                     \
        body;                                                                                                       \
        store_replace((s), (o), var);                                                                               \
    } while (0)

/* ---- seed ---------------------------------------------------------------- */

static void seed_one(kstore *s, const kres *r, const char *name, json_t *obj)
{
    char av[64];
    json_object_set_new(obj, "kind", json_string(r->kind));
    json_object_set_new(obj, "apiVersion", json_string(kres_api_version(r, av, sizeof av)));
    store_insert(s, r, "", name, obj);
}

void controller_seed(ksim *k)
{
    static const char *const zones[] = {"a", "b", "c"};
    for (int i = 0; i < 3; i++) {
        char name[32];
        snprintf(name, sizeof name, "node-%s", zones[i]);
        char ip[32];
        snprintf(ip, sizeof ip, "127.%u.%u.%d", k->net[0], k->net[1], 252 + i);
        seed_one(&k->store, &KRES_NODES, name,
                 json_pack("{s:{s:{s:s, s:s, s:s}}, s:{s:[{s:s, s:s}], s:[{s:s, s:s}, {s:s, s:s}], s:{s:s, s:s}}}",
                           "metadata", "labels", "kubernetes.io/hostname", name, "topology.kubernetes.io/zone",
                           zones[i], "topology.kubernetes.io/region", "sim", "status", "conditions", "type", "Ready",
                           "status", "True", "addresses", "type", "InternalIP", "address", ip, "type", "Hostname",
                           "address", name, "allocatable", "cpu", "16", "memory", "64Gi"));
    }
    seed_one(&k->store, &KRES_STORAGECLASSES, "standard",
             json_pack("{s:{s:{s:s}}, s:s, s:b, s:s, s:s}", "metadata", "annotations",
                       "storageclass.kubernetes.io/is-default-class", "true", "provisioner", "kube-sim.local/disk",
                       "allowVolumeExpansion", 1, "reclaimPolicy", "Delete", "volumeBindingMode", "Immediate"));
    seed_one(&k->store, &KRES_STORAGECLASSES, "fixed",
             json_pack("{s:s, s:b, s:s, s:s}", "provisioner", "kube-sim.local/disk", "allowVolumeExpansion", 0,
                       "reclaimPolicy", "Delete", "volumeBindingMode", "Immediate"));
    static const char *const nss[] = {"default", "kube-system", "kube-public"};
    for (size_t i = 0; i < 3; i++) {
        json_t *ns = json_pack("{s:{s:s}}", "metadata", "name", nss[i]);
        kind_admit(k, &KRES_NAMESPACES, NULL, ns);
        seed_one(&k->store, &KRES_NAMESPACES, nss[i], ns);
    }
}

/* ---- namespaces and garbage collection ----------------------------------- */

static void namespaces_tick(ksim *k, long long now)
{
    kobj **nss;
    size_t n = store_select(&k->store, &KRES_NAMESPACES, NULL, &nss);
    for (size_t i = 0; i < n; i++) {
        kobj *ns = nss[i];
        if (!is_deleting(ns)) continue;
        if (!ns->timer_ms) ns->timer_ms = now + k->ns_delete_ms;
        /* as the namespace controller: contents go, but an object with
         * finalizers only gets its deletionTimestamp and stays (and so does
         * the namespace, saying why) until they are removed */
        kobj **in;
        size_t m = store_select(&k->store, NULL, ns->name, &in), held = 0;
        char fin[256] = "";          /* a copy: store_replace below frees the object it came from */
        for (size_t j = 0; j < m; j++) {
            kobj *o = in[j];
            if (!o->res->namespaced) continue;
            json_t *f = jget(o->obj, "metadata.finalizers");
            if (!json_array_size(f)) { store_remove(&k->store, o); continue; }
            held++;
            const char *first = json_string_value(json_array_get(f, 0));
            if (!fin[0] && first) snprintf(fin, sizeof fin, "%s", first);
            if (!jget(o->obj, "metadata.deletionTimestamp")) {
                char ts[32];
                rfc3339_now(ts);
                json_t *cand = json_deep_copy(o->obj);
                json_object_set_new(jmeta(cand), "deletionTimestamp", json_string(ts));
                store_replace(&k->store, o, cand);
            }
        }
        free(in);
        if (held) {
            char msg[400];
            snprintf(msg, sizeof msg, "Some content in the namespace has finalizers remaining: %s in %zu resource instances",
                     fin, held);
            const char *old = json_string_value(
                json_object_get(json_array_get(jget(ns->obj, "status.conditions"), 0), "message"));
            if (!old || strcmp(old, msg)) {
                json_t *cand = json_deep_copy(ns->obj);
                json_object_set_new(jobj_at(cand, "status"), "conditions",
                                    json_pack("[{s:s, s:s, s:s, s:s}]", "type", "NamespaceFinalizersRemaining",
                                              "status", "True", "reason", "SomeFinalizersRemain", "message", msg));
                store_replace(&k->store, ns, cand);
            }
        } else if (now >= ns->timer_ms)
            store_remove(&k->store, ns);
    }
    free(nss);
}

static bool owners_gone(kstore *s, kobj *o)
{
    json_t *refs = jget(o->obj, "metadata.ownerReferences");
    size_t i;
    json_t *r;
    if (!json_array_size(refs)) return false;
    json_array_foreach(refs, i, r) if (store_find_uid(s, jstr_at(r, "uid"))) return false;
    return true;
}

static void gc_tick(ksim *k)
{
    for (size_t i = 0; i < k->store.n;) {
        kobj *o = k->store.v[i];
        if (owners_gone(&k->store, o)) store_remove(&k->store, o);
        else i++;
    }
}

/* ---- pods ------------------------------------------------------------------ */

bool pod_is_ready(kobj *p) { return pod_ready(p); }

static bool pod_ready(kobj *p)
{
    json_t *conds = jget(p->obj, "status.conditions"), *c;
    size_t i;
    if (is_deleting(p)) return false;
    json_array_foreach(conds, i, c) {
        if (!strcmp(jstr_at(c, "type") ?: "", "Ready")) return !strcmp(jstr_at(c, "status") ?: "", "True");
    }
    return false;
}

static void make_running(kstore *s, kobj *p)
{
    char ts[32];
    rfc3339_now(ts);
    unsigned h = (unsigned)fnv1a(p->name);
    char ip[32];
    snprintf(ip, sizeof ip, "10.244.%u.%u", (h >> 8) % 250, h % 250 + 2);
    EDIT(s, p, obj, {
        json_t *st = jobj_at(obj, "status");
        json_object_set_new(st, "phase", json_string("Running"));
        json_object_set_new(st, "podIP", json_string(ip));
        kobj *node = store_find(s, &KRES_NODES, "", jstr_at(obj, "spec.nodeName") ?: "");
        const char *host = node ? jstr_at(json_array_get(jget(node->obj, "status.addresses"), 0), "address") : NULL;
        json_object_set_new(st, "hostIP", json_string(host ?: "192.168.0.10"));
        json_object_set_new(st, "startTime", json_string(ts));
        json_object_set_new(st, "conditions",
                            json_pack("[{s:s,s:s},{s:s,s:s},{s:s,s:s},{s:s,s:s}]", "type", "Initialized", "status",
                                      "True", "type", "Ready", "status", "True", "type", "ContainersReady", "status",
                                      "True", "type", "PodScheduled", "status", "True"));
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(st, "containerStatuses"), i, c) {
            json_object_set_new(c, "ready", json_true());
            json_object_set_new(c, "started", json_true());
            json_object_set_new(c, "state", json_pack("{s:{s:s}}", "running", "startedAt", ts));
        }
    });
}

/* Does a container of the pod use an image POST /_sim/images made
 * unpullable? */
static bool image_unpullable(ksim *k, kobj *p)
{
    if (!k->unpullable) return false;
    size_t i;
    json_t *c;
    json_array_foreach(jget(p->obj, "spec.containers"), i, c)
        if (strstr(jstr_at(c, "image") ?: "", k->unpullable)) return true;
    return false;
}

/* The kubelet's view of an image it cannot pull: Pending, not ready, the
 * container waiting in ImagePullBackOff. */
static void pull_failed(kstore *s, kobj *p)
{
    EDIT(s, p, obj, {
        json_t *st = jobj_at(obj, "status");
        json_object_set_new(st, "phase", json_string("Pending"));
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(st, "containerStatuses"), i, c) {
            json_object_set_new(c, "ready", json_false());
            json_object_set_new(c, "started", json_false());
            json_object_set_new(c, "state", json_pack("{s:{s:s, s:s}}", "waiting", "reason", "ImagePullBackOff",
                                                      "message", "Back-off pulling image: kube-sim was told it is unpullable"));
        }
    });
}

static void pods_tick(ksim *k, long long now)
{
    kobj **pods;
    size_t n = store_select(&k->store, &KRES_PODS, NULL, &pods);
    for (size_t i = 0; i < n; i++) {
        kobj *p = pods[i];
        if (is_deleting(p)) {
            if (!p->timer_ms) p->timer_ms = now + k->pod_terminate_ms;
            else if (now >= p->timer_ms) store_remove(&k->store, p);
            continue;
        }
        if (json_is_true(json_object_get(side(p), "started"))) continue;
        if (!p->timer_ms) p->timer_ms = now + k->pod_ready_ms;
        else if (now >= p->timer_ms && image_unpullable(k, p)) {
            if (!json_is_true(json_object_get(side(p), "pull_failed"))) pull_failed(&k->store, p);
            json_object_set_new(side(p), "pull_failed", json_true());
        } else if (now >= p->timer_ms) {
            make_running(&k->store, p);
            json_object_set_new(side(p), "started", json_true());
            json_object_set_new(side(p), "started_ms", json_integer(now));
            p->timer_ms = 0;
        }
    }
    free(pods);
}

/* ---- StatefulSets -------------------------------------------------------- */

typedef struct stsview {
    kobj *sts;
    const char *name, *ns, *update_rev, *current_rev;
    long replicas, partition;
    bool parallel, on_delete;
} stsview;

static json_t *owner_ref(kobj *owner)
{
    return json_pack("[{s:O, s:O, s:s, s:O, s:b, s:b}]", "apiVersion", json_object_get(owner->obj, "apiVersion"),
                     "kind", json_object_get(owner->obj, "kind"), "name", owner->name, "uid",
                     jget(owner->obj, "metadata.uid"), "controller", 1, "blockOwnerDeletion", 1);
}

static void ensure_pvcs(ksim *k, stsview *v, long ord)
{
    size_t i;
    json_t *t;
    json_array_foreach(jget(v->sts->obj, "spec.volumeClaimTemplates"), i, t) {
        char name[512];
        snprintf(name, sizeof name, "%s-%s-%ld", jstr_at(t, "metadata.name") ?: "data", v->name, ord);
        if (store_find(&k->store, &KRES_PVCS, v->ns, name)) continue;
        json_t *pvc = json_pack("{s:s, s:s, s:{s:s, s:s}, s:o?}", "apiVersion", "v1", "kind",
                                "PersistentVolumeClaim", "metadata", "name", name, "namespace", v->ns, "spec",
                                json_deep_copy(json_object_get(t, "spec")));
        json_t *labels = jobj_at(pvc, "metadata.labels");
        json_object_update(labels, jget(v->sts->obj, "spec.selector.matchLabels"));
        json_object_update(labels, jget(t, "metadata.labels"));
        kresult r = kind_admit(k, &KRES_PVCS, NULL, pvc);
        if (r.code) {
            fprintf(stderr, "kube-sim: statefulset %s/%s: claim %s rejected: %s\n", v->ns, v->name, name,
                    jstr_at(r.body, "message"));
            kr_free(&r);
            json_decref(pvc);
            continue;
        }
        store_insert(&k->store, &KRES_PVCS, v->ns, name, pvc);
    }
}

static void create_pod(ksim *k, stsview *v, long ord, const char *rev)
{
    json_t *tmpl = json_object_get(json_object_get(side(v->sts), "revisions"), rev);
    char name[512], idx[24], hash[600];
    snprintf(name, sizeof name, "%s-%ld", v->name, ord);
    snprintf(idx, sizeof idx, "%ld", ord);
    snprintf(hash, sizeof hash, "%s", rev);
    ensure_pvcs(k, v, ord);
    json_t *pod = json_pack("{s:s, s:s, s:{s:s, s:s, s:o}, s:o?}", "apiVersion", "v1", "kind", "Pod", "metadata",
                            "name", name, "namespace", v->ns, "ownerReferences", owner_ref(v->sts), "spec",
                            json_deep_copy(json_object_get(tmpl, "spec")));
    json_t *labels = jobj_at(pod, "metadata.labels"), *spec = jobj_at(pod, "spec");
    json_object_update(labels, jget(tmpl, "metadata.labels"));
    json_object_set_new(labels, "statefulset.kubernetes.io/pod-name", json_string(name));
    json_object_set_new(labels, "controller-revision-hash", json_string(hash));
    json_object_set_new(labels, "apps.kubernetes.io/pod-index", json_string(idx));
    if (jget(tmpl, "metadata.annotations"))
        json_object_set(jmeta(pod), "annotations", jget(tmpl, "metadata.annotations"));
    json_object_set_new(spec, "hostname", json_string(name));
    if (jstr_at(v->sts->obj, "spec.serviceName"))
        json_object_set(spec, "subdomain", jget(v->sts->obj, "spec.serviceName"));
    size_t i;
    json_t *t;
    json_array_foreach(jget(v->sts->obj, "spec.volumeClaimTemplates"), i, t) {
        char claim[512];
        snprintf(claim, sizeof claim, "%s-%s-%ld", jstr_at(t, "metadata.name") ?: "data", v->name, ord);
        if (!json_is_array(json_object_get(spec, "volumes"))) json_object_set_new(spec, "volumes", json_array());
        json_array_append_new(json_object_get(spec, "volumes"),
                              json_pack("{s:O, s:{s:s}}", "name", jget(t, "metadata.name"), "persistentVolumeClaim",
                                        "claimName", claim));
    }
    kresult r = kind_admit(k, &KRES_PODS, NULL, pod);
    if (r.code) {
        fprintf(stderr, "kube-sim: statefulset %s/%s: pod %s rejected: %s\n", v->ns, v->name, name,
                jstr_at(r.body, "message"));
        kr_free(&r);
        json_decref(pod);
        return;
    }
    store_insert(&k->store, &KRES_PODS, v->ns, name, pod);
}

static kobj *sts_pod(ksim *k, stsview *v, long ord)
{
    char name[512];
    snprintf(name, sizeof name, "%s-%ld", v->name, ord);
    kobj *p = store_find(&k->store, &KRES_PODS, v->ns, name);
    const char *owner = jstr_at(json_array_get(jget(p ? p->obj : NULL, "metadata.ownerReferences"), 0), "uid");
    return p && owner && !strcmp(owner, jstr_at(v->sts->obj, "metadata.uid")) ? p : NULL;
}

static const char *pod_rev(kobj *p) { return jstr_at(p->obj, "metadata.labels.controller-revision-hash") ?: ""; }

static void pod_delete(kstore *s, kobj *p)
{
    char ts[32];
    rfc3339_now(ts);
    EDIT(s, p, obj, json_object_set_new(jmeta(obj), "deletionTimestamp", json_string(ts)));
    p->timer_ms = 0;
}

/* Highest ordinal among this set's pods, or -1. Pods only exist below the
 * most replicas the set ever asked for (remembered in its side state), so
 * probing those names through the index is enough: no scan of every pod. */
static long highest_pod(ksim *k, stsview *v)
{
    kobj *sts = store_find(&k->store, &KRES_STATEFULSETS, v->ns, v->name);
    long most = v->replicas;
    if (sts) {
        long seen = (long)json_integer_value(json_object_get(side(sts), "most_replicas"));
        if (seen > most) most = seen;
        json_object_set_new(side(sts), "most_replicas", json_integer(most));
    }
    for (long ord = most; ord >= 0; ord--)
        if (sts_pod(k, v, ord)) return ord;
    return -1;
}

static void sts_scale(ksim *k, stsview *v)
{
    /* scale down: the highest ordinals go (one at a time unless Parallel) */
    for (long ord = highest_pod(k, v); ord >= v->replicas; ord--) {
        kobj *p = sts_pod(k, v, ord);
        if (!p) continue;
        if (!is_deleting(p)) pod_delete(&k->store, p);
        if (!v->parallel) return;
    }
    /* scale up / recreate: in order, each waiting for the previous to be
     * Ready unless Parallel */
    for (long ord = 0; ord < v->replicas; ord++) {
        kobj *p = sts_pod(k, v, ord);
        if (p) {
            if (!v->parallel && !pod_ready(p)) return;
            continue;
        }
        bool old_rev = !v->on_delete && ord < v->partition;
        create_pod(k, v, ord, old_rev ? v->current_rev : v->update_rev);
        if (!v->parallel) return;
    }
}

static void sts_roll(ksim *k, stsview *v)
{
    if (v->on_delete) return;
    for (long ord = 0; ord < v->replicas; ord++) {
        kobj *p = sts_pod(k, v, ord);
        if (!p || !pod_ready(p)) return;   /* wait for every pod */
    }
    for (long ord = v->replicas - 1; ord >= v->partition; ord--) {
        kobj *p = sts_pod(k, v, ord);
        if (strcmp(pod_rev(p), v->update_rev)) {
            pod_delete(&k->store, p);
            return;
        }
    }
}

static void sts_status(ksim *k, stsview *v)
{
    long replicas = 0, ready = 0, current = 0, updated = 0;
    long hi = highest_pod(k, v);
    for (long ord = 0; ord <= hi; ord++) {
        kobj *p = sts_pod(k, v, ord);
        if (!p || is_deleting(p)) continue;
        replicas++;
        ready += pod_ready(p);
        current += !strcmp(pod_rev(p), v->current_rev);
        updated += !strcmp(pod_rev(p), v->update_rev);
    }
    const char *cur = v->current_rev;
    /* as the real controller: only RollingUpdate ever completes an update */
    if (!v->on_delete && updated == replicas && ready == replicas && replicas == v->replicas) {
        cur = v->update_rev;
        current = updated;
    }
    char cur_buf[300];
    snprintf(cur_buf, sizeof cur_buf, "%s", cur);
    json_t *st = json_pack("{s:I, s:i, s:i, s:i, s:i, s:i, s:i, s:s, s:s}", "observedGeneration",
                           json_integer_value(jget(v->sts->obj, "metadata.generation")), "replicas", (int)replicas,
                           "readyReplicas", (int)ready, "availableReplicas", (int)ready, "currentReplicas",
                           (int)current, "updatedReplicas", (int)updated, "collisionCount", 0, "currentRevision",
                           cur_buf, "updateRevision", v->update_rev);
    /* most ticks change nothing: compare before copying the whole object */
    if (json_equal(st, jget(v->sts->obj, "status"))) json_decref(st);
    else EDIT(&k->store, v->sts, obj, json_object_set_new(obj, "status", st));
}

static void statefulset_tick(ksim *k, kobj *sts)
{
    char rev[300], hash[16];
    /* the template's hash, remembered per resourceVersion: dumping every
     * template on every tick dominates at a thousand StatefulSets */
    const char *srv = jstr_at(sts->obj, "metadata.resourceVersion") ?: "";
    const char *hrv = json_string_value(json_object_get(side(sts), "hash_rv"));
    const char *hv = json_string_value(json_object_get(side(sts), "hash"));
    if (hrv && hv && !strcmp(hrv, srv)) snprintf(hash, sizeof hash, "%s", hv);
    else {
        json_hash(jget(sts->obj, "spec.template"), hash);
        json_object_set_new(side(sts), "hash_rv", json_string(srv));
        json_object_set_new(side(sts), "hash", json_string(hash));
    }
    snprintf(rev, sizeof rev, "%s-%s", sts->name, hash);
    json_t *revs = json_object_get(side(sts), "revisions");
    if (!revs) json_object_set_new(side(sts), "revisions", revs = json_object());
    if (!json_object_get(revs, rev)) json_object_set(revs, rev, jget(sts->obj, "spec.template"));
    char cur[300];
    snprintf(cur, sizeof cur, "%s", jstr_at(sts->obj, "status.currentRevision") ?: rev);
    if (!json_object_get(revs, cur)) snprintf(cur, sizeof cur, "%s", rev);
    stsview v = {
        .sts = sts, .name = sts->name, .ns = sts->ns, .update_rev = rev, .current_rev = cur,
        .replicas = (long)json_integer_value(jget(sts->obj, "spec.replicas")),
        .partition = (long)json_integer_value(jget(sts->obj, "spec.updateStrategy.rollingUpdate.partition")),
        .parallel = !strcmp(jstr_at(sts->obj, "spec.podManagementPolicy") ?: "", "Parallel"),
        .on_delete = !strcmp(jstr_at(sts->obj, "spec.updateStrategy.type") ?: "", "OnDelete"),
    };
    sts_scale(k, &v);
    sts_roll(k, &v);
    sts_status(k, &v);
}

static void statefulsets_tick(ksim *k)
{
    kobj **v;
    size_t n = store_select(&k->store, &KRES_STATEFULSETS, NULL, &v);
    for (size_t i = 0; i < n; i++)
        if (!is_deleting(v[i])) statefulset_tick(k, v[i]);
    free(v);
}

/* ---- Jobs ------------------------------------------------------------------ */

static kobj *job_pod(ksim *k, kobj *job)
{
    kobj **pods;
    kobj *found = NULL;
    size_t n = store_select(&k->store, &KRES_PODS, job->ns, &pods);
    const char *uid = jstr_at(job->obj, "metadata.uid");
    for (size_t i = 0; i < n && !found; i++) {
        const char *owner = jstr_at(json_array_get(jget(pods[i]->obj, "metadata.ownerReferences"), 0), "uid");
        if (owner && !strcmp(owner, uid)) found = pods[i];
    }
    free(pods);
    return found;
}

static void job_start(ksim *k, kobj *job)
{
    char name[300];
    snprintf(name, sizeof name, "%s-%05llx", job->name, (unsigned long long)fnv1a(jstr_at(job->obj, "metadata.uid")) & 0xfffff);
    json_t *tmpl = jget(job->obj, "spec.template");
    json_t *pod = json_pack("{s:s, s:s, s:{s:s, s:s, s:o}, s:o?}", "apiVersion", "v1", "kind", "Pod", "metadata",
                            "name", name, "namespace", job->ns, "ownerReferences", owner_ref(job), "spec",
                            json_deep_copy(json_object_get(tmpl, "spec")));
    json_object_update(jobj_at(pod, "metadata.labels"), jget(tmpl, "metadata.labels"));
    kresult r = kind_admit(k, &KRES_PODS, NULL, pod);
    if (r.code) {
        kr_free(&r);
        json_decref(pod);
        return;
    }
    store_insert(&k->store, &KRES_PODS, job->ns, name, pod);
    char ts[32];
    rfc3339_now(ts);
    EDIT(&k->store, job, obj, json_object_set_new(obj, "status", json_pack("{s:i, s:s}", "active", 1, "startTime", ts)));
}

static void job_finish(ksim *k, kobj *job, kobj *pod)
{
    bool fail = !strcmp(jstr_at(job->obj, "metadata.annotations.kube-sim/fail") ?: "", "true");
    kafka_job_effect(k, pod, &fail);
    char ts[32];
    rfc3339_now(ts);
    EDIT(&k->store, pod, obj, {
        json_t *st = jobj_at(obj, "status");
        json_object_set_new(st, "phase", json_string(fail ? "Failed" : "Succeeded"));
        json_object_set_new(st, "conditions", json_pack("[{s:s, s:s}]", "type", "Ready", "status", "False"));
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(st, "containerStatuses"), i, c) {
            json_object_set_new(c, "ready", json_false());
            json_object_set_new(c, "state", json_pack("{s:{s:i, s:s, s:s}}", "terminated", "exitCode", fail ? 1 : 0,
                                                      "reason", fail ? "Error" : "Completed", "finishedAt", ts));
        }
    });
    const char *cond = fail ? "Failed" : "Complete";
    EDIT(&k->store, job, obj, {
        json_t *st = jobj_at(obj, "status");
        json_object_del(st, "active");
        json_object_set_new(st, fail ? "failed" : "succeeded", json_integer(1));
        if (!fail) json_object_set_new(st, "completionTime", json_string(ts));
        json_object_set_new(st, "conditions", json_pack("[{s:s, s:s, s:s}]", "type", cond, "status", "True",
                                                        "lastTransitionTime", ts));
    });
    json_object_set_new(side(job), "done", json_true());
}

static void jobs_tick(ksim *k, long long now)
{
    kobj **v;
    size_t n = store_select(&k->store, &KRES_JOBS, NULL, &v);
    for (size_t i = 0; i < n; i++) {
        kobj *job = v[i];
        if (is_deleting(job) || json_is_true(json_object_get(side(job), "done"))) continue;
        kobj *pod = job_pod(k, job);
        if (!pod) {
            job_start(k, job);
            continue;
        }
        json_t *started = json_object_get(side(pod), "started_ms");
        if (started && now >= json_integer_value(started) + k->pod_ready_ms) job_finish(k, job, pod);
    }
    free(v);
}

/* ---- PVCs and Services ------------------------------------------------------ */

static void pvcs_tick(ksim *k, long long now)
{
    kobj **v;
    size_t n = store_select(&k->store, &KRES_PVCS, NULL, &v);
    for (size_t i = 0; i < n; i++) {
        kobj *p = v[i];
        const char *want = jstr_at(p->obj, "spec.resources.requests.storage");
        if (quantity_parse(want) <= quantity_parse(jstr_at(p->obj, "status.capacity.storage"))) continue;
        if (!p->timer_ms) {
            char ts[32];
            rfc3339_now(ts);
            p->timer_ms = now + k->resize_ms;
            EDIT(&k->store, p, obj, json_object_set_new(jobj_at(obj, "status"), "conditions",
                                                        json_pack("[{s:s, s:s, s:s}]", "type", "Resizing", "status",
                                                                  "True", "lastTransitionTime", ts)));
        } else if (now >= p->timer_ms) {
            p->timer_ms = 0;
            EDIT(&k->store, p, obj, {
                json_t *st = jobj_at(obj, "status");
                json_object_del(st, "conditions");
                json_object_set_new(jobj_at(st, "capacity"), "storage", json_string(want));
            });
        }
    }
    free(v);
}

static void services_tick(ksim *k)
{
    kobj **v;
    size_t n = store_select(&k->store, &KRES_SERVICES, NULL, &v);
    for (size_t i = 0; i < n; i++) {
        kobj *s = v[i];
        bool lb = !strcmp(jstr_at(s->obj, "spec.type") ?: "", "LoadBalancer");
        bool has = json_array_size(jget(s->obj, "status.loadBalancer.ingress")) > 0;
        if (lb == has) continue;
        char ip[32];
        snprintf(ip, sizeof ip, "127.%u.%u.%u", k->net[0], k->net[1], 2 + (k->lb_next++ % 250));
        EDIT(&k->store, s, obj, {
            json_t *st = jobj_at(obj, "status");
            if (lb) json_object_set_new(st, "loadBalancer",
                                        json_pack("{s:[{s:s, s:s}]}", "ingress", "ip", ip, "ipMode", "VIP"));
            else json_object_set_new(st, "loadBalancer", json_object());
        });
    }
    free(v);
}

void controller_tick(ksim *k)
{
    long long now = now_ms();
    store_lock(&k->store);
    namespaces_tick(k, now);
    gc_tick(k);
    statefulsets_tick(k);
    jobs_tick(k, now);
    pods_tick(k, now);
    pvcs_tick(k, now);
    services_tick(k);
    kafka_tick(k);
    store_unlock(&k->store);
}
