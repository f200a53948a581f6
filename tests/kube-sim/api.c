/* api.c — the Kubernetes verbs: get, list, create, update, merge patch,
 * server-side apply, delete, and the status and log subresources.
 *
 * It parses the path the way the API server does (core group under /api,
 * named groups under /apis, namespaced and cluster-scoped forms), checks
 * what the server checks (name and namespace agree with the URL, the
 * namespace exists and is not terminating, resourceVersion
 * preconditions), and answers with the same codes and Status reasons.
 * Anything it does not implement answers 501, so a test can never pass on
 * a success kube-sim made up. The whole request runs under the store lock. */
#define _GNU_SOURCE
#include "ksim.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct kpath {
    const kres *r;
    char ns[254], name[254], sub[32];
    bool item;
} kpath;

/* ---- paths ------------------------------------------------------------ */

static size_t split(const char *path, char seg[8][254])
{
    size_t n = 0;
    const char *p = path;
    while (*p && n < 8) {
        while (*p == '/') p++;
        if (!*p) break;
        const char *e = strchr(p, '/');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l >= 254) l = 253;
        memcpy(seg[n], p, l);
        seg[n][l] = 0;
        n++;
        p += l;
    }
    return *p ? 9 : n;
}

/* 0 when parsed; otherwise an error answer in *err. */
static int parse_path(const char *path, kpath *kp, kresult *err)
{
    char seg[8][254];
    size_t n = split(path, seg), base;
    const char *group = "", *version;
    memset(kp, 0, sizeof *kp);
    if (n >= 2 && !strcmp(seg[0], "api")) version = seg[1], base = 2;
    else if (n >= 3 && !strcmp(seg[0], "apis")) group = seg[1], version = seg[2], base = 3;
    else {
        *err = kr_not_implemented("discovery or the path %s", path);
        return -1;
    }
    if (n > 8 || n == base) {
        *err = kr_not_implemented("discovery or the path %s", path);
        return -1;
    }
    const char *rest[8] = {0};
    size_t rn = n - base;
    for (size_t i = 0; i < rn; i++) rest[i] = seg[base + i];
    const char *plural, *name = NULL, *sub = NULL;
    bool ns_form = rn >= 3 && !strcmp(rest[0], "namespaces") &&
                   !(rn == 3 && (!strcmp(rest[2], "status") || !strcmp(rest[2], "finalize")));
    if (ns_form) {
        if (rn > 5) goto not_found;
        snprintf(kp->ns, sizeof kp->ns, "%s", rest[1]);
        plural = rest[2];
        if (rn > 3) name = rest[3];
        if (rn > 4) sub = rest[4];
    } else {
        if (rn > 3) goto not_found;
        plural = rest[0];
        if (rn > 1) name = rest[1];
        if (rn > 2) sub = rest[2];
    }
    kp->r = kres_find(group, version, plural);
    if (!kp->r) {
        *err = kr_not_implemented("the resource %s%s%s/%s", group, *group ? "/" : "", version, plural);
        return -1;
    }
    if ((ns_form && !kp->r->namespaced) || (!ns_form && kp->r->namespaced && name)) goto not_found;
    if (name) snprintf(kp->name, sizeof kp->name, "%s", name), kp->item = true;
    if (sub) snprintf(kp->sub, sizeof kp->sub, "%s", sub);
    return 0;
not_found:
    *err = kr_status(404, "NotFound", NULL, NULL, NULL, "the server could not find the requested resource");
    return -1;
}

/* ---- shared checks ------------------------------------------------------ */

static kresult not_found(const kres *r, const char *name)
{
    char q[128];
    return kr_status(404, "NotFound", name, r->group, r->plural, "%s \"%s\" not found",
                     kres_qualified(r, q, sizeof q), name);
}

static kresult conflict(const kres *r, const char *name)
{
    char q[128];
    return kr_status(409, "Conflict", name, r->group, r->plural,
                     "Operation cannot be fulfilled on %s \"%s\": the object has been modified; please apply your "
                     "changes to the latest version and try again",
                     kres_qualified(r, q, sizeof q), name);
}

static bool valid_name(const char *s, bool label)
{
    size_t n = strlen(s);
    if (!n || n > (label ? 63u : 253u)) return false;
    if (!isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1])) return false;
    for (const char *p = s; *p; p++)
        if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '-' || (*p == '.' && !label)))
            return false;
    return true;
}

static kresult check_name(const kres *r, const char *name)
{
    bool label = r == &KRES_NAMESPACES || r == &KRES_SERVICES;
    if (valid_name(name, label)) return (kresult){0};
    return kr_invalid(r->kind, name, "metadata.name", "FieldValueInvalid",
                      "metadata.name: Invalid value: \"%s\": a lowercase RFC 1123 %s must consist of lower case "
                      "alphanumeric characters, '-'%s, and must start and end with an alphanumeric character",
                      name, label ? "label" : "subdomain", label ? "" : " or '.'");
}

static kresult parse_body(const kreq *rq, json_t **out)
{
    json_error_t e;
    *out = rq->body_len ? json_loadb(rq->body, rq->body_len, 0, &e) : NULL;
    if (!*out)
        return kr_status(400, "BadRequest", NULL, NULL, NULL, "couldn't get version/kind; json parse error: %s",
                         rq->body_len ? e.text : "empty body");
    if (!json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return kr_status(400, "BadRequest", NULL, NULL, NULL, "the request body must be a JSON object");
    }
    return (kresult){0};
}

/* Kind, apiVersion, name and namespace of a body against the URL; fills
 * in what is missing. require_kind for apply. */
static kresult check_identity(const kpath *kp, json_t *body, const char *url_name, bool require_kind)
{
    char av[64];
    kres_api_version(kp->r, av, sizeof av);
    const char *kind = jstr_at(body, "kind"), *bav = jstr_at(body, "apiVersion");
    if (require_kind && (!kind || !bav))
        return kr_status(400, "BadRequest", NULL, NULL, NULL, "Object 'Kind' is missing in the applied object");
    if ((kind && strcmp(kind, kp->r->kind)) || (bav && strcmp(bav, av)))
        return kr_status(400, "BadRequest", NULL, NULL, NULL,
                         "the API version in the data (%s) does not match the expected API version (%s) or the "
                         "kind (%s) is not %s",
                         bav ? bav : "", av, kind ? kind : "", kp->r->kind);
    json_object_set_new(body, "kind", json_string(kp->r->kind));
    json_object_set_new(body, "apiVersion", json_string(av));
    json_t *m = jmeta(body);
    if (!m) return kr_status(400, "BadRequest", NULL, NULL, NULL, "metadata must be an object");
    const char *bname = jstr_at(body, "metadata.name");
    if (url_name && bname && strcmp(bname, url_name))
        return kr_status(400, "BadRequest", NULL, NULL, NULL,
                         "the name of the object (%s) does not match the name on the URL (%s)", bname, url_name);
    if (url_name && !bname) json_object_set_new(m, "name", json_string(url_name));
    const char *bns = jstr_at(body, "metadata.namespace");
    if (kp->r->namespaced && bns && strcmp(bns, kp->ns))
        return kr_status(400, "BadRequest", NULL, NULL, NULL,
                         "the namespace of the provided object does not match the namespace sent on the request");
    if (kp->r->namespaced) json_object_set_new(m, "namespace", json_string(kp->ns));
    else json_object_del(m, "namespace");
    json_t *labels = json_object_get(m, "labels");
    const char *k;
    json_t *v;
    json_object_foreach(labels, k, v) {
        if (!json_is_string(v))
            return kr_status(400, "BadRequest", NULL, NULL, NULL, "metadata.labels.%s: must be a string", k);
    }
    return (kresult){0};
}

/* Creating in a namespace needs it to exist and not be terminating. */
static kresult check_namespace(ksim *k, const kpath *kp, const char *name)
{
    if (!kp->r->namespaced) return (kresult){0};
    kobj *ns = store_find(&k->store, &KRES_NAMESPACES, "", kp->ns);
    if (!ns) return kr_status(404, "NotFound", kp->ns, "", "namespaces", "namespaces \"%s\" not found", kp->ns);
    if (jget(ns->obj, "metadata.deletionTimestamp")) {
        char q[128];
        return kr_status(403, "Forbidden", name, kp->r->group, kp->r->plural,
                         "%s \"%s\" is forbidden: unable to create new content in namespace %s because it is being "
                         "terminated",
                         kres_qualified(kp->r, q, sizeof q), name, kp->ns);
    }
    return (kresult){0};
}

static void manager_from(const kreq *rq, char *buf, size_t cap)
{
    if (rq->field_manager && *rq->field_manager) snprintf(buf, cap, "%s", rq->field_manager);
    else if (rq->user_agent && *rq->user_agent) {
        size_t n = strcspn(rq->user_agent, "/ ");
        snprintf(buf, cap, "%.*s", (int)n, rq->user_agent);
    } else snprintf(buf, cap, "unknown");
}

static kresult answer_obj(int code, kobj *o)
{
    return kr_json(code, json_deep_copy(o->obj));
}

/* Admission, managed fields and the store write shared by create, update
 * and patch. obj is taken. op is "Update" or NULL (apply already did it). */
static kresult commit(ksim *k, const kpath *kp, const kreq *rq, kobj *o, json_t *obj, const char *op)
{
    char ts[32], manager[128], av[64];
    rfc3339_now(ts);
    if (kp->r->has_status && strcmp(kp->sub, "status") != 0) {
        if (o && json_object_get(o->obj, "status")) json_object_set(obj, "status", json_object_get(o->obj, "status"));
        else json_object_del(obj, "status");
    }
    if (o) {
        json_t *dt = jget(o->obj, "metadata.deletionTimestamp");
        if (dt) json_object_set(jmeta(obj), "deletionTimestamp", dt);
        else json_object_del(jmeta(obj), "deletionTimestamp");
    }
    if (op) {
        /* ownership is of what the client sent, before defaults */
        manager_from(rq, manager, sizeof manager);
        json_object_del(jmeta(obj), "managedFields");
        if (o && jget(o->obj, "metadata.managedFields"))
            json_object_set(jmeta(obj), "managedFields", jget(o->obj, "metadata.managedFields"));
        ssa_record_update(o ? o->obj : NULL, obj, manager, kres_api_version(kp->r, av, sizeof av), ts);
    }
    kresult ar = kind_admit(k, kp->r, o ? o->obj : NULL, obj);
    if (ar.code) {
        json_decref(obj);
        return ar;
    }
    if (!o) {
        kobj *n = store_insert(&k->store, kp->r, kp->ns, jstr_at(obj, "metadata.name"), obj);
        return answer_obj(201, n);
    }
    store_replace(&k->store, o, obj);
    /* the last finalizer gone from an object being deleted: it goes */
    if (jget(o->obj, "metadata.deletionTimestamp") && !json_array_size(jget(o->obj, "metadata.finalizers")) &&
        kp->r != &KRES_NAMESPACES && kp->r != &KRES_PODS) {
        kresult r = answer_obj(200, o);
        store_remove(&k->store, o);
        return r;
    }
    return answer_obj(200, o);
}

/* ---- verbs ---------------------------------------------------------------- */

static kresult do_get(ksim *k, const kpath *kp)
{
    kobj *o = store_find(&k->store, kp->r, kp->ns, kp->name);
    return o ? answer_obj(200, o) : not_found(kp->r, kp->name);
}

static kresult do_list(ksim *k, const kpath *kp, const kreq *rq)
{
    char *perr = NULL, av[64], kind[96];
    ksel *sel = sel_parse(rq->label_selector, &perr);
    if (!sel) {
        kresult r = kr_status(400, "BadRequest", NULL, NULL, NULL, "%s", perr ? perr : "invalid labelSelector");
        free(perr);
        return r;
    }
    if (rq->field_selector && !fieldsel_valid(rq->field_selector)) {
        sel_free(sel);
        return kr_status(400, "BadRequest", NULL, NULL, NULL, "invalid field selector: %s", rq->field_selector);
    }
    long limit = rq->limit ? strtol(rq->limit, NULL, 10) : 0;
    const char *after_ns = NULL, *after_name = NULL;
    if (rq->cont && *rq->cont && !store_token_get(&k->store, rq->cont, &after_ns, &after_name)) {
        sel_free(sel);
        return kr_status(410, "Expired", NULL, NULL, NULL,
                         "The provided continue parameter is too old to display a consistent list result. You can "
                         "start a new list without the continue parameter, or use the continue token in this "
                         "response to retrieve the remainder of the results. Continuing with the provided token "
                         "results in an inconsistent list - objects that were created, modified, or deleted between "
                         "the time the first chunk was returned and now may show up in the list.");
    }
    kobj **v;
    size_t n = store_select(&k->store, kp->r, kp->r->namespaced && kp->ns[0] ? kp->ns : NULL, &v);
    json_t *items = json_array();
    kobj *last = NULL;
    long remaining = 0;
    for (size_t i = 0; i < n; i++) {
        kobj *o = v[i];
        if (after_name) {
            int c = strcmp(o->ns, after_ns);
            if (c < 0 || (c == 0 && strcmp(o->name, after_name) <= 0)) continue;
        }
        if (!sel_match(sel, jget(o->obj, "metadata.labels"))) continue;
        if (rq->field_selector && !fieldsel_match(rq->field_selector, o->obj)) continue;
        if (limit > 0 && (long)json_array_size(items) >= limit) {
            remaining++;
            continue;
        }
        json_t *it = json_deep_copy(o->obj);
        json_object_del(it, "kind");
        json_object_del(it, "apiVersion");
        json_array_append_new(items, it);
        last = o;
    }
    free(v);
    char rv[32];
    snprintf(rv, sizeof rv, "%llu", k->store.rv);
    snprintf(kind, sizeof kind, "%sList", kp->r->kind);
    json_t *list = json_pack("{s:s, s:s, s:{s:s}, s:o}", "kind", kind, "apiVersion",
                             kres_api_version(kp->r, av, sizeof av), "metadata", "resourceVersion", rv, "items", items);
    if (remaining && last) {
        json_t *m = json_object_get(list, "metadata");
        json_object_set_new(m, "continue", json_string(store_token_new(&k->store, last->ns, last->name)));
        if (!rq->label_selector && !rq->field_selector)
            json_object_set_new(m, "remainingItemCount", json_integer(remaining));
    }
    sel_free(sel);
    return kr_json(200, list);
}

static kresult do_create(ksim *k, const kpath *kp, const kreq *rq)
{
    json_t *body;
    kresult r = parse_body(rq, &body);
    if (r.code) return r;
    if ((r = check_identity(kp, body, NULL, false)).code) goto fail;
    const char *name = jstr_at(body, "metadata.name"), *gen = jstr_at(body, "metadata.generateName");
    char genbuf[300];
    if (!name && gen) {
        snprintf(genbuf, sizeof genbuf, "%s%05llx", gen, (unsigned long long)(fnv1a(gen) ^ k->store.uid_seq) & 0xfffff);
        json_object_set_new(jmeta(body), "name", json_string(genbuf));
        name = jstr_at(body, "metadata.name");
    }
    if (!name) {
        r = kr_invalid(kp->r->kind, "", "metadata.name", "FieldValueRequired",
                       "metadata.name: Required value: name or generateName is required");
        goto fail;
    }
    if ((r = check_name(kp->r, name)).code || (r = check_namespace(k, kp, name)).code) goto fail;
    if (store_find(&k->store, kp->r, kp->ns, name)) {
        char q[128];
        r = kr_status(409, "AlreadyExists", name, kp->r->group, kp->r->plural, "%s \"%s\" already exists",
                      kres_qualified(kp->r, q, sizeof q), name);
        goto fail;
    }
    static const char *const server_owned[] = {"uid", "resourceVersion", "creationTimestamp", "generation",
                                               "deletionTimestamp", "managedFields"};
    for (size_t i = 0; i < sizeof server_owned / sizeof server_owned[0]; i++)
        json_object_del(jmeta(body), server_owned[i]);
    return commit(k, kp, rq, NULL, body, "Update");
fail:
    json_decref(body);
    return r;
}

/* The candidate of a PUT or merge patch, checked against o. */
static kresult write_candidate(ksim *k, const kpath *kp, const kreq *rq, kobj *o, json_t *cand)
{
    kresult r = check_identity(kp, cand, kp->name, false);
    if (r.code) {
        json_decref(cand);
        return r;
    }
    const char *rv = jstr_at(cand, "metadata.resourceVersion");
    if (rv && *rv && strcmp(rv, jstr_at(o->obj, "metadata.resourceVersion"))) {
        json_decref(cand);
        return conflict(kp->r, kp->name);
    }
    return commit(k, kp, rq, o, cand, "Update");
}

static kresult do_update(ksim *k, const kpath *kp, const kreq *rq)
{
    json_t *body;
    kresult r = parse_body(rq, &body);
    if (r.code) return r;
    kobj *o = store_find(&k->store, kp->r, kp->ns, kp->name);
    if (!o) {
        json_decref(body);
        return not_found(kp->r, kp->name);
    }
    if (!strcmp(kp->sub, "status")) {
        json_t *cand = json_deep_copy(o->obj);
        json_object_set(cand, "status", json_object_get(body, "status") ?: json_object());
        const char *rv = jstr_at(body, "metadata.resourceVersion");
        if (rv) json_object_set_new(jmeta(cand), "resourceVersion", json_string(rv));
        json_decref(body);
        return write_candidate(k, kp, rq, o, cand);
    }
    return write_candidate(k, kp, rq, o, body);
}

static kresult do_merge_patch(ksim *k, const kpath *kp, const kreq *rq)
{
    json_t *patch;
    kresult r = parse_body(rq, &patch);
    if (r.code) return r;
    kobj *o = store_find(&k->store, kp->r, kp->ns, kp->name);
    if (!o) {
        json_decref(patch);
        return not_found(kp->r, kp->name);
    }
    json_t *cand;
    if (!strcmp(kp->sub, "status")) {
        cand = json_deep_copy(o->obj);
        json_object_set_new(cand, "status", merge_patch(json_object_get(o->obj, "status"),
                                                        json_object_get(patch, "status") ?: json_object()));
        const char *rv = jstr_at(patch, "metadata.resourceVersion");
        if (rv) json_object_set_new(jmeta(cand), "resourceVersion", json_string(rv));
    } else {
        cand = merge_patch(o->obj, patch);
        /* without a resourceVersion in the patch there is no precondition */
        if (!jget(patch, "metadata.resourceVersion")) json_object_del(jmeta(cand), "resourceVersion");
    }
    json_decref(patch);
    return write_candidate(k, kp, rq, o, cand);
}

static kresult apply_conflict(const kpath *kp, json_t *conflicts)
{
    char q[128];
    size_t n = json_array_size(conflicts), i;
    json_t *c;
    char *msg = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&msg, &len);
    fprintf(f, "Apply failed with %zu conflict%s:", n, n == 1 ? "" : "s");
    json_array_foreach(conflicts, i, c) fprintf(f, " %s: %s%s", jstr_at(c, "message"), jstr_at(c, "field"),
                                                i + 1 < n ? "," : "");
    fclose(f);
    kresult r = kr_status(409, "Conflict", kp->name, kp->r->group, kres_qualified(kp->r, q, sizeof q), "%s", msg);
    json_object_set(json_object_get(r.body, "details"), "causes", conflicts);
    free(msg);
    json_decref(conflicts);
    return r;
}

static kresult do_apply(ksim *k, const kpath *kp, const kreq *rq)
{
    if (!rq->field_manager || !*rq->field_manager)
        return kr_invalid("PatchOptions", "", "fieldManager", "FieldValueRequired",
                          "fieldManager: Required value: is required for apply patch");
    if (kp->sub[0]) return kr_not_implemented("server-side apply to the %s subresource", kp->sub);
    json_t *cfg;
    kresult r = parse_body(rq, &cfg);
    if (r.code) return r;
    if ((r = check_identity(kp, cfg, kp->name, true)).code) goto fail;
    kobj *o = store_find(&k->store, kp->r, kp->ns, kp->name);
    if (!o && ((r = check_name(kp->r, kp->name)).code || (r = check_namespace(k, kp, kp->name)).code)) goto fail;
    const char *rv = jstr_at(cfg, "metadata.resourceVersion");
    if (rv && (!o || strcmp(rv, jstr_at(o->obj, "metadata.resourceVersion")))) {
        r = o ? conflict(kp->r, kp->name) : not_found(kp->r, kp->name);
        goto fail;
    }
    char ts[32];
    rfc3339_now(ts);
    json_t *out, *conflicts;
    bool force = rq->force && !strcmp(rq->force, "true");
    int arc = ssa_apply(o ? o->obj : NULL, cfg, rq->field_manager, force, ts, &out, &conflicts);
    if (arc == 501) {
        json_decref(cfg);
        json_decref(conflicts);
        return kr_status(501, "NotImplemented", kp->name, NULL, NULL,
                         "kube-sim treats lists as atomic, where the real API server merges associative lists "
                         "item by item: two managers sharing a list are tested on the bed (scripts/bed)");
    }
    if (arc) {
        json_decref(cfg);
        return apply_conflict(kp, conflicts);
    }
    json_t *m = jmeta(out);
    json_object_set_new(m, "name", json_string(kp->name));
    if (kp->r->namespaced) json_object_set_new(m, "namespace", json_string(kp->ns));
    json_decref(cfg);
    return commit(k, kp, rq, o, out, NULL);
fail:
    json_decref(cfg);
    return r;
}

static kresult do_patch(ksim *k, const kpath *kp, const kreq *rq)
{
    const char *ct = rq->content_type ? rq->content_type : "";
    size_t n = strcspn(ct, ";");
    if (!strncmp(ct, "application/merge-patch+json", n) && n == 28) return do_merge_patch(k, kp, rq);
    if (!strncmp(ct, "application/apply-patch+yaml", n) && n == 28) return do_apply(k, kp, rq);
    if (!strncmp(ct, "application/strategic-merge-patch+json", n) || !strncmp(ct, "application/json-patch+json", n))
        return kr_not_implemented("PATCH with Content-Type %.*s (use merge-patch or apply)", (int)n, ct);
    return kr_status(415, "UnsupportedMediaType", NULL, NULL, NULL,
                     "the body of the request was in an unknown format - accepted media types include: "
                     "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml");
}

/* Dependents of o lose their owner reference (propagationPolicy Orphan). */
static void orphan_dependents(ksim *k, kobj *o)
{
    const char *uid = jstr_at(o->obj, "metadata.uid");
    for (size_t i = 0; i < k->store.n; i++) {
        kobj *d = k->store.v[i];
        json_t *refs = jget(d->obj, "metadata.ownerReferences");
        if (!json_array_size(refs)) continue;
        json_t *copy = json_deep_copy(d->obj), *nrefs = jget(copy, "metadata.ownerReferences");
        for (size_t j = json_array_size(nrefs); j-- > 0;)
            if (!strcmp(jstr_at(json_array_get(nrefs, j), "uid") ?: "", uid)) json_array_remove(nrefs, j);
        if (!json_array_size(nrefs)) json_object_del(jmeta(copy), "ownerReferences");
        store_replace(&k->store, d, copy);
    }
}

static kresult do_delete(ksim *k, const kpath *kp, const kreq *rq)
{
    kobj *o = store_find(&k->store, kp->r, kp->ns, kp->name);
    if (!o) return not_found(kp->r, kp->name);
    json_t *opts = rq->body_len ? json_loadb(rq->body, rq->body_len, 0, NULL) : NULL;
    const char *prv = jstr_at(opts, "preconditions.resourceVersion"), *puid = jstr_at(opts, "preconditions.uid");
    char policy_buf[32] = "";   /* a copy: opts is released below */
    const char *pol = jstr_at(opts, "propagationPolicy") ?: rq->propagation;
    if (pol) snprintf(policy_buf, sizeof policy_buf, "%s", pol);
    const char *policy = pol ? policy_buf : NULL;
    json_t *grace = json_object_get(opts, "gracePeriodSeconds");
    bool stale = (prv && strcmp(prv, jstr_at(o->obj, "metadata.resourceVersion"))) ||
                 (puid && strcmp(puid, jstr_at(o->obj, "metadata.uid")));
    bool immediate = json_is_integer(grace) && json_integer_value(grace) == 0;
    json_decref(opts);
    if (stale) return conflict(kp->r, kp->name);
    if (kp->r == &KRES_NAMESPACES &&
        (!strcmp(kp->name, "default") || !strcmp(kp->name, "kube-system") || !strcmp(kp->name, "kube-public")))
        return kr_status(403, "Forbidden", kp->name, "", "namespaces",
                         "namespaces \"%s\" is forbidden: this namespace may not be deleted", kp->name);
    if (policy && !strcmp(policy, "Orphan")) orphan_dependents(k, o);
    bool graceful = kp->r == &KRES_NAMESPACES || (kp->r == &KRES_PODS && !immediate) ||
                    json_array_size(jget(o->obj, "metadata.finalizers"));
    if (graceful) {
        if (jget(o->obj, "metadata.deletionTimestamp")) return answer_obj(200, o);
        char ts[32];
        rfc3339_now(ts);
        json_t *cand = json_deep_copy(o->obj);
        json_object_set_new(jmeta(cand), "deletionTimestamp", json_string(ts));
        if (kp->r == &KRES_NAMESPACES) json_object_set_new(jobj_at(cand, "status"), "phase", json_string("Terminating"));
        if (kp->r == &KRES_PODS) json_object_set_new(jmeta(cand), "deletionGracePeriodSeconds", json_integer(30));
        store_replace(&k->store, o, cand);
        o->timer_ms = 0;  /* the controller times the rest */
        return answer_obj(200, o);
    }
    kresult r = answer_obj(200, o);
    store_remove(&k->store, o);
    return r;
}

static kresult do_log(ksim *k, const kpath *kp, const kreq *rq)
{
    kobj *o = store_find(&k->store, kp->r, kp->ns, kp->name);
    if (!o) return not_found(kp->r, kp->name);
    json_t *cs = jget(o->obj, "spec.containers");
    if (json_array_size(cs) > 1 && !rq->container)
        return kr_status(400, "BadRequest", NULL, NULL, NULL,
                         "a container name must be specified for pod %s", kp->name);
    if (strcmp(jstr_at(o->obj, "status.phase") ?: "", "Pending") == 0)
        return kr_status(400, "BadRequest", NULL, NULL, NULL,
                         "container in pod \"%s\" is waiting to start: ContainerCreating", kp->name);
    const char *text = json_string_value(json_object_get(o->side, "log")) ?: "";
    long tail = rq->tail_lines ? strtol(rq->tail_lines, NULL, 10) : -1;
    const char *start = text + strlen(text);
    if (tail >= 0) {
        long lines = 0;
        if (start > text && start[-1] == '\n') start--;
        while (start > text && lines < tail) {
            start--;
            if (*start == '\n' && ++lines == tail) { start++; break; }
        }
    } else start = text;
    return (kresult){.code = 200, .text = strdup(start)};
}

static kresult dispatch(ksim *k, const kpath *kp, const kreq *rq)
{
    const char *m = rq->method;
    if (rq->dry_run && *rq->dry_run) return kr_not_implemented("dryRun");
    if (kp->sub[0]) {
        if (!strcmp(kp->sub, "log") && kp->r == &KRES_PODS && !strcmp(m, "GET")) return do_log(k, kp, rq);
        if (strcmp(kp->sub, "status") || !kp->r->has_status)
            return kr_not_implemented("the subresource %s/%s", kp->r->plural, kp->sub);
        if (!strcmp(m, "GET")) return do_get(k, kp);
        if (!strcmp(m, "PUT")) return do_update(k, kp, rq);
        if (!strcmp(m, "PATCH")) return do_patch(k, kp, rq);
        return kr_status(405, "MethodNotAllowed", NULL, NULL, NULL, "%s is not supported on status", m);
    }
    if (!kp->item) {
        bool watch = rq->watch && (!strcmp(rq->watch, "1") || !strcmp(rq->watch, "true"));
        if (!strcmp(m, "GET")) return watch ? kr_not_implemented("watch") : do_list(k, kp, rq);
        if (!strcmp(m, "POST") && (kp->ns[0] || !kp->r->namespaced)) return do_create(k, kp, rq);
        if (!strcmp(m, "DELETE")) return kr_not_implemented("deletecollection");
    } else {
        if (!strcmp(m, "GET")) return do_get(k, kp);
        if (!strcmp(m, "PUT")) return do_update(k, kp, rq);
        if (!strcmp(m, "PATCH")) return do_patch(k, kp, rq);
        if (!strcmp(m, "DELETE")) return do_delete(k, kp, rq);
    }
    return kr_status(405, "MethodNotAllowed", NULL, NULL, NULL, "the server does not allow this method on the "
                     "requested resource");
}

kresult api_handle(ksim *k, const kreq *rq)
{
    kpath kp;
    kresult err;
    if (parse_path(rq->path, &kp, &err)) return err;
    store_lock(&k->store);
    kresult r = dispatch(k, &kp, rq);
    store_unlock(&k->store);
    return r;
}
