/* kinds.c — what the real API server's per-kind strategies and admission
 * do on a write: defaults (service cluster IPs and node ports, StatefulSet
 * update strategy, Secret stringData), and the validation rules
 * streamplane can trip over (StatefulSet fields that cannot change, a PVC
 * that can grow but never shrink, a selector that must match the
 * template). Called on the complete object about to be stored. */
#define _GNU_SOURCE
#include "ksim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const kresult ok = {0};

static void set_default(json_t *obj, const char *key, json_t *v)
{
    if (!json_object_get(obj, key)) json_object_set(obj, key, v);
    json_decref(v);
}

/* ---- Namespace --------------------------------------------------------- */

static kresult admit_namespace(json_t *old, json_t *obj)
{
    const char *name = jstr_at(obj, "metadata.name");
    json_object_set_new(jobj_at(obj, "metadata.labels"), "kubernetes.io/metadata.name", json_string(name));
    if (!old) {
        set_default(jobj_at(obj, "spec"), "finalizers", json_pack("[s]", "kubernetes"));
        json_object_set_new(obj, "status", json_pack("{s:s}", "phase", "Active"));
    }
    return ok;
}

/* ---- Secret ------------------------------------------------------------- */

static bool base64_valid(const char *s)
{
    size_t n = strlen(s), pad = 0;
    if (n % 4) return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '=') { pad++; continue; }
        if (pad || !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
                     c == '/'))
            return false;
    }
    return pad <= 2;
}

static char *base64(const char *s)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = strlen(s), o = 0;
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned char)s[i] << 16;
        if (i + 1 < n) v |= (unsigned char)s[i + 1] << 8;
        if (i + 2 < n) v |= (unsigned char)s[i + 2];
        out[o++] = t[(v >> 18) & 63];
        out[o++] = t[(v >> 12) & 63];
        out[o++] = i + 1 < n ? t[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? t[v & 63] : '=';
    }
    out[o] = 0;
    return out;
}

static kresult admit_secret(json_t *obj)
{
    const char *name = jstr_at(obj, "metadata.name"), *k;
    json_t *sd = json_object_get(obj, "stringData"), *v;
    json_object_foreach(sd, k, v) {
        if (!json_is_string(v)) continue;
        char *b = base64(json_string_value(v));
        json_object_set_new(jobj_at(obj, "data"), k, json_string(b));
        free(b);
    }
    json_object_del(obj, "stringData");
    json_object_foreach(json_object_get(obj, "data"), k, v) {
        if (!json_is_string(v) || !base64_valid(json_string_value(v)))
            return kr_invalid("Secret", name, "data", "FieldValueInvalid",
                              "data[%s]: Invalid value: illegal base64 data", k);
    }
    if (!json_object_get(obj, "type")) json_object_set_new(obj, "type", json_string("Opaque"));
    return ok;
}

/* ---- Service ------------------------------------------------------------ */

static json_t *old_port(json_t *old, json_t *port)
{
    size_t i;
    json_t *p;
    json_array_foreach(jget(old, "spec.ports"), i, p) {
        if (json_integer_value(json_object_get(p, "port")) == json_integer_value(json_object_get(port, "port")))
            return p;
    }
    return NULL;
}

static kresult admit_service(ksim *k, json_t *old, json_t *obj)
{
    json_t *spec = jobj_at(obj, "spec");
    const char *name = jstr_at(obj, "metadata.name");
    set_default(spec, "type", json_string("ClusterIP"));
    set_default(spec, "sessionAffinity", json_string("None"));
    const char *type = json_string_value(json_object_get(spec, "type"));
    const char *old_ip = jstr_at(old, "spec.clusterIP"), *ip = json_string_value(json_object_get(spec, "clusterIP"));
    if (old_ip && ip && strcmp(old_ip, ip) != 0)
        return kr_invalid("Service", name, "spec.clusterIP", "FieldValueInvalid",
                          "spec.clusterIP: Invalid value: \"%s\": field is immutable", ip);
    if (old_ip && !ip) json_object_set_new(spec, "clusterIP", json_string(old_ip));
    else if (!ip) {
        char buf[32];
        unsigned n = ++k->cluster_ip_next;
        snprintf(buf, sizeof buf, "10.96.%u.%u", (n / 250) % 250, n % 250 + 1);
        json_object_set_new(spec, "clusterIP", json_string(buf));
    }
    json_object_set_new(spec, "clusterIPs", json_pack("[O]", json_object_get(spec, "clusterIP")));
    bool node_ports = !strcmp(type, "NodePort") || !strcmp(type, "LoadBalancer");
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(spec, "ports"), i, p) {
        set_default(p, "protocol", json_string("TCP"));
        set_default(p, "targetPort", json_incref(json_object_get(p, "port")));
        if (!node_ports) {
            json_object_del(p, "nodePort");
            continue;
        }
        json_int_t np = json_integer_value(json_object_get(p, "nodePort"));
        if (json_object_get(p, "nodePort") && (np < 30000 || np > 32767))
            return kr_invalid("Service", name, "spec.ports[].nodePort", "FieldValueInvalid",
                              "spec.ports[%zu].nodePort: Invalid value: %lld: provided port is not in the valid "
                              "range. The range of valid ports is 30000-32767",
                              i, (long long)np);
        json_t *op = old_port(old, p);
        if (np) continue;
        if (op && json_object_get(op, "nodePort")) json_object_set(p, "nodePort", json_object_get(op, "nodePort"));
        else json_object_set_new(p, "nodePort", json_integer(30000 + (k->nodeport_next++ % 2768)));
    }
    if (!old) json_object_set_new(obj, "status", json_pack("{s:{}}", "loadBalancer"));
    return ok;
}

/* ---- PersistentVolumeClaim --------------------------------------------- */

static kresult admit_pvc(kstore *s, json_t *old, json_t *obj)
{
    const char *name = jstr_at(obj, "metadata.name");
    const char *req = jstr_at(obj, "spec.resources.requests.storage");
    double want = quantity_parse(req);
    if (want <= 0)
        return kr_invalid("PersistentVolumeClaim", name, "spec.resources[storage]", "FieldValueRequired",
                          "spec.resources[storage]: Required value");
    json_t *spec = jobj_at(obj, "spec");
    set_default(spec, "storageClassName", json_string("standard"));
    set_default(spec, "volumeMode", json_string("Filesystem"));
    if (!old) {
        char vol[80];
        snprintf(vol, sizeof vol, "pvc-%016llx", (unsigned long long)fnv1a(name) ^ (unsigned long long)now_ms());
        set_default(spec, "volumeName", json_string(vol));
        json_t *modes = json_object_get(spec, "accessModes");
        json_t *st = json_pack("{s:s, s:{s:s}}", "phase", "Bound", "capacity", "storage", req);
        json_object_set_new(st, "accessModes", modes ? json_deep_copy(modes) : json_array());
        json_object_set_new(obj, "status", st);
        return ok;
    }
    /* as Kubernetes 1.34+ (RecoverVolumeExpansionFailure, GA): a request may
     * come down again, but never below what the volume already has */
    const char *was = jstr_at(old, "status.capacity.storage");
    if (!was) was = jstr_at(old, "spec.resources.requests.storage");
    double before = quantity_parse(was);
    if (want < before)
        return kr_invalid("PersistentVolumeClaim", name, "spec.resources.requests.storage", "FieldValueForbidden",
                          "spec.resources.requests.storage: Forbidden: field can not be less than status.capacity");
    json_t *a = json_deep_copy(jget(old, "spec")), *b = json_deep_copy(spec);
    json_object_del(json_object_get(a, "resources"), "requests");
    json_object_del(json_object_get(b, "resources"), "requests");
    bool same = json_equal(a, b);
    json_decref(a);
    json_decref(b);
    if (!same)
        return kr_invalid("PersistentVolumeClaim", name, "spec", "FieldValueForbidden",
                          "spec: Forbidden: spec is immutable after creation except resources.requests and "
                          "volumeAttributesClassName for bound claims");
    if (want > before) {
        kobj *sc = store_find(s, &KRES_STORAGECLASSES, "", jstr_at(obj, "spec.storageClassName"));
        if (!sc || !json_is_true(json_object_get(sc->obj, "allowVolumeExpansion")))
            return kr_status(403, "Forbidden", name, "", "persistentvolumeclaims",
                             "persistentvolumeclaims \"%s\" is forbidden: only dynamically provisioned pvc can be "
                             "resized and the storageclass that provisions the pvc must support resize",
                             name);
    }
    return ok;
}

/* ---- StatefulSet --------------------------------------------------------- */

static bool selector_matches(json_t *selector, json_t *labels)
{
    const char *k;
    json_t *v;
    if (!json_object_size(json_object_get(selector, "matchLabels")) && !json_object_get(selector, "matchExpressions"))
        return false;
    json_object_foreach(json_object_get(selector, "matchLabels"), k, v) {
        if (!json_equal(json_object_get(labels, k), v)) return false;
    }
    return true;
}

static kresult admit_statefulset(json_t *old, json_t *obj)
{
    const char *name = jstr_at(obj, "metadata.name");
    json_t *spec = jobj_at(obj, "spec");
    set_default(spec, "replicas", json_integer(1));
    set_default(spec, "podManagementPolicy", json_string("OrderedReady"));
    set_default(spec, "revisionHistoryLimit", json_integer(10));
    set_default(spec, "updateStrategy", json_pack("{s:s, s:{s:i}}", "type", "RollingUpdate", "rollingUpdate",
                                                  "partition", 0));
    if (!selector_matches(json_object_get(spec, "selector"), jget(spec, "template.metadata.labels")))
        return kr_invalid("StatefulSet", name, "spec.template.metadata.labels", "FieldValueInvalid",
                          "spec.template.metadata.labels: Invalid value: `selector` does not match template "
                          "`labels`");
    if (json_integer_value(json_object_get(spec, "replicas")) < 0)
        return kr_invalid("StatefulSet", name, "spec.replicas", "FieldValueInvalid",
                          "spec.replicas: Invalid value: must be greater than or equal to 0");
    if (!old) return ok;
    static const char *const mutable_[] = {"replicas", "template", "updateStrategy", "minReadySeconds",
                                           "persistentVolumeClaimRetentionPolicy", "ordinals"};
    json_t *a = json_deep_copy(json_object_get(old, "spec")), *b = json_deep_copy(spec);
    for (size_t i = 0; i < sizeof mutable_ / sizeof mutable_[0]; i++) {
        json_object_del(a, mutable_[i]);
        json_object_del(b, mutable_[i]);
    }
    bool same = json_equal(a, b);
    json_decref(a);
    json_decref(b);
    if (!same)
        return kr_invalid("StatefulSet", name, "spec", "FieldValueForbidden",
                          "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', "
                          "'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and "
                          "'minReadySeconds' are forbidden");
    return ok;
}

/* ---- Job ------------------------------------------------------------------ */

static kresult admit_job(json_t *old, json_t *obj)
{
    const char *name = jstr_at(obj, "metadata.name");
    json_t *spec = jobj_at(obj, "spec");
    set_default(spec, "backoffLimit", json_integer(6));
    set_default(spec, "completions", json_integer(1));
    set_default(spec, "parallelism", json_integer(1));
    json_t *labels = jobj_at(spec, "template.metadata.labels");
    json_object_set_new(labels, "job-name", json_string(name));
    json_object_set_new(labels, "batch.kubernetes.io/job-name", json_string(name));
    const char *rp = jstr_at(spec, "template.spec.restartPolicy");
    if (!rp || (strcmp(rp, "Never") && strcmp(rp, "OnFailure")))
        return kr_invalid("Job", name, "spec.template.spec.restartPolicy", "FieldValueNotSupported",
                          "spec.template.spec.restartPolicy: Required value: valid values: \"OnFailure\", "
                          "\"Never\"");
    if (old && !json_equal(jget(old, "spec.template"), json_object_get(spec, "template")))
        return kr_invalid("Job", name, "spec.template", "FieldValueInvalid",
                          "spec.template: Invalid value: field is immutable");
    return ok;
}

/* ---- Pod ------------------------------------------------------------------ */

static kresult admit_pod(kstore *s, json_t *old, json_t *obj)
{
    json_t *spec = jobj_at(obj, "spec");
    if (!json_array_size(json_object_get(spec, "containers")))
        return kr_invalid("Pod", jstr_at(obj, "metadata.name"), "spec.containers", "FieldValueRequired",
                          "spec.containers: Required value");
    set_default(spec, "restartPolicy", json_string("Always"));
    if (old) return ok;
    if (!json_object_get(spec, "nodeName")) {
        kobj **nodes;
        size_t n = store_select(s, &KRES_NODES, NULL, &nodes);
        if (n) json_object_set_new(spec, "nodeName", json_string(nodes[fnv1a(jstr_at(obj, "metadata.name")) % n]->name));
        free(nodes);
    }
    json_t *cs = json_array();
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(spec, "containers"), i, c) {
        json_array_append_new(cs, json_pack("{s:O?, s:O?, s:b, s:b, s:i, s:{s:{s:s}}}", "name",
                                            json_object_get(c, "name"), "image", json_object_get(c, "image"),
                                            "ready", 0, "started", 0, "restartCount", 0, "state", "waiting",
                                            "reason", "ContainerCreating"));
    }
    json_object_set_new(obj, "status",
                        json_pack("{s:s, s:[{s:s, s:s}, {s:s, s:s}], s:o}", "phase", "Pending", "conditions", "type",
                                  "PodScheduled", "status", "True", "type", "Ready", "status", "False",
                                  "containerStatuses", cs));
    return ok;
}

kresult kind_admit(ksim *k, const kres *r, json_t *old, json_t *obj)
{
    if (r == &KRES_NAMESPACES) return admit_namespace(old, obj);
    if (r == &KRES_SERVICES) return admit_service(k, old, obj);
    if (r == &KRES_PVCS) return admit_pvc(&k->store, old, obj);
    if (r == &KRES_STATEFULSETS) return admit_statefulset(old, obj);
    if (r == &KRES_JOBS) return admit_job(old, obj);
    if (r == &KRES_PODS) return admit_pod(&k->store, old, obj);
    if (!strcmp(r->kind, "Secret")) return admit_secret(obj);
    return ok;
}
