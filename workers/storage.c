/* storage.c — see storage.h. */
#define _GNU_SOURCE
#include "storage.h"
#include "kube/render.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

long long storage_quantity_bytes(const char *q)
{
    static const struct { const char *sfx; double mul; } U[] = {
        {"Ki", 1024.0}, {"Mi", 1048576.0}, {"Gi", 1073741824.0}, {"Ti", 1099511627776.0},
        {"Pi", 1125899906842624.0}, {"k", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12}, {"P", 1e15}, {"", 1.0}};
    if (!q || !*q) return -1;
    char *end;
    double v = strtod(q, &end);
    if (end == q || v < 0) return -1;
    for (size_t i = 0; i < sizeof U / sizeof U[0]; i++)
        if (strcmp(end, U[i].sfx) == 0) return (long long)llround(v * U[i].mul);
    return -1;
}

#define GIB (1024LL * 1024 * 1024)

static const char *jstr2(const json_t *o, const char *a, const char *b)
{
    return json_string_value(json_object_get(json_object_get(o, a), b));
}

static long long claim_bytes(const json_t *pvc, bool status)
{
    const json_t *x = json_object_get(pvc, status ? "status" : "spec");
    const json_t *m = status ? json_object_get(x, "capacity") : json_object_get(json_object_get(x, "resources"), "requests");
    return storage_quantity_bytes(json_string_value(json_object_get(m, "storage")));
}

static bool has_condition(const json_t *pvc, const char *type)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(json_object_get(pvc, "status"), "conditions"), i, c) {
        const char *t = json_string_value(json_object_get(c, "type"));
        const char *s = json_string_value(json_object_get(c, "status"));
        if (t && strcmp(t, type) == 0 && (!s || strcmp(s, "True") == 0)) return true;
    }
    return false;
}

/* The claims of brokers 0..n-1, by ordinal (borrowed from *list). */
static kube_rc read_claims(storage_ctx *x, json_t **list, json_t **by_ord)
{
    x->called = true;
    kube_rc rc = kube_list(x->c, "v1", "PersistentVolumeClaim", x->ns, "app.kubernetes.io/component=broker", list, &x->e);
    if (rc != KUBE_OK) return rc;
    size_t i;
    json_t *pvc;
    json_array_foreach(*list, i, pvc) {
        const char *name = jstr2(pvc, "metadata", "name");
        int ord = -1;
        if (name && sscanf(name, "data-" RENDER_BROKER_STS "-%d", &ord) == 1 && ord >= 0 && ord < x->brokers)
            by_ord[ord] = pvc;
    }
    return KUBE_OK;
}

/* Every class of a claim that must grow allows expansion; else FAILED. */
static storage_result check_classes(storage_ctx *x, json_t **by_ord, long long want)
{
    char seen[8][128];
    int nseen = 0;
    for (int i = 0; i < x->brokers; i++) {
        if (!by_ord[i] || claim_bytes(by_ord[i], false) >= want) continue;
        const char *sc = jstr2(by_ord[i], "spec", "storageClassName");
        if (!sc || !*sc) {
            snprintf(x->msg, sizeof x->msg, "claim %s names no StorageClass, so it cannot be expanded; no claim "
                     "was changed", jstr2(by_ord[i], "metadata", "name"));
            return SG_FAILED;
        }
        bool known = false;
        for (int k = 0; k < nseen && !known; k++) known = strcmp(seen[k], sc) == 0;
        if (known) continue;
        json_t *cls = NULL;
        kube_rc rc = kube_get(x->c, "storage.k8s.io/v1", "StorageClass", NULL, sc, &cls, &x->e);
        bool ok = rc == KUBE_OK && json_is_true(json_object_get(cls, "allowVolumeExpansion"));
        json_decref(cls);
        if (rc != KUBE_OK && rc != KUBE_NOT_FOUND) { x->krc = rc; return SG_KUBE; }
        if (!ok) {
            snprintf(x->msg, sizeof x->msg, "StorageClass %s %s, so the brokers' volumes cannot grow; no claim was "
                     "changed", sc, rc == KUBE_NOT_FOUND ? "does not exist" : "does not allow volume expansion "
                                                                             "(allowVolumeExpansion is not true)");
            return SG_FAILED;
        }
        if (nseen < 8) snprintf(seen[nseen++], sizeof seen[0], "%s", sc);
    }
    return SG_DONE;
}

static storage_result patch_claims(storage_ctx *x, json_t **by_ord, long long want)
{
    char size[32];
    snprintf(size, sizeof size, "%lldGi", x->gib);
    json_t *patch = json_pack("{s:{s:{s:{s:s}}}}", "spec", "resources", "requests", "storage", size);
    storage_result r = SG_DONE;
    for (int i = 0; i < x->brokers && r == SG_DONE; i++) {
        if (!by_ord[i] || claim_bytes(by_ord[i], false) >= want) continue;
        const char *name = jstr2(by_ord[i], "metadata", "name");
        kube_rc rc = kube_merge_patch(x->c, "v1", "PersistentVolumeClaim", x->ns, name, patch, NULL, &x->e);
        if (rc == KUBE_OK) { x->patched++; continue; }
        x->krc = rc;
        snprintf(x->msg, sizeof x->msg, "the API server refused to grow claim %s to %s: %s", name, size, x->e.message);
        r = kube_transient(rc) ? SG_KUBE : SG_FAILED;
    }
    json_decref(patch);
    return r;
}

storage_result storage_grow_step(storage_ctx *x)
{
    x->msg[0] = 0;
    x->wait_ms = 0;
    x->patched = x->restart_pending = 0;
    x->krc = KUBE_OK;
    if (x->brokers < 1 || x->brokers > 1024 || x->gib < 1) {
        snprintf(x->msg, sizeof x->msg, "bad storage request");
        return SG_FAILED;
    }
    json_t *list = NULL, *by_ord[1024] = {0};
    long long want = x->gib * GIB;
    kube_rc rc = read_claims(x, &list, by_ord);
    storage_result r = SG_DONE;
    if (rc != KUBE_OK) { x->krc = rc; snprintf(x->msg, sizeof x->msg, "reading the claims: %s", x->e.message); r = SG_KUBE; }
    if (r == SG_DONE) r = check_classes(x, by_ord, want);
    if (r == SG_DONE) r = patch_claims(x, by_ord, want);
    if (r == SG_DONE && x->patched) {
        r = SG_WAIT;
        x->wait_ms = 500;
        snprintf(x->msg, sizeof x->msg, "%d claim%s patched to %lldGi; waiting for the volumes to grow", x->patched,
                 x->patched == 1 ? "" : "s", x->gib);
    } else if (r == SG_DONE) {
        int grown = 0, missing = 0;
        for (int i = 0; i < x->brokers; i++) {
            if (!by_ord[i]) { missing++; continue; }
            if (claim_bytes(by_ord[i], true) >= want) grown++;
            else if (has_condition(by_ord[i], "FileSystemResizePending")) x->restart_pending++;
        }
        x->percent = grown * 100 / x->brokers;
        if (grown == x->brokers) {
            snprintf(x->msg, sizeof x->msg, "every broker's claim has %lldGi", x->gib);
        } else {
            r = SG_WAIT;
            x->wait_ms = 1000;
            snprintf(x->msg, sizeof x->msg, "%d of %d claims have %lldGi%s%s", grown, x->brokers, x->gib,
                     missing ? "; some brokers have no claim yet" : "",
                     x->restart_pending ? "; the file system of some waits for its pod to restart "
                                          "(FileSystemResizePending)" : "");
        }
    }
    json_decref(list);
    return r;
}
