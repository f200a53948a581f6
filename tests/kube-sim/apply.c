/* apply.c — JSON merge patch (RFC 7396) and server-side apply.
 *
 * Server-side apply is what streamplane writes with, so this is the part
 * whose fidelity matters most. Ownership is tracked per manager in
 * metadata.managedFields as FieldsV1 trees ({"f:spec":{"f:replicas":{}}}),
 * at the granularity of map keys: every leaf (a scalar, a list, an empty
 * map) is one field. Lists are atomic: a manager owns a whole list, where
 * the real server merges associative lists (containers by name…) item by
 * item; so an apply that touches a list another manager owns is answered
 * 501 (test that on the bed) rather than with a conflict the real server
 * would not raise. What this gives, as the real server does:
 *   - re-applying the same configuration changes nothing (same
 *     resourceVersion);
 *   - a field a manager stops sending is removed unless another manager
 *     owns it too;
 *   - a manager changing a field another owns with a different value is a
 *     409 Conflict, unless force=true, which moves the ownership;
 *   - Update operations (POST, PUT, merge patch) take the fields they
 *     change, under operation "Update".
 * status is not tracked (writes to the main resource never change it). */
#define _GNU_SOURCE
#include "ksim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *merge_patch(json_t *target, json_t *patch)
{
    if (!json_is_object(patch)) return json_deep_copy(patch);
    json_t *out = json_is_object(target) ? json_deep_copy(target) : json_object();
    const char *k;
    json_t *v;
    json_object_foreach(patch, k, v) {
        if (json_is_null(v)) json_object_del(out, k);
        else json_object_set_new(out, k, merge_patch(json_object_get(out, k), v));
    }
    return out;
}

/* ---- the part of an object that managers own ------------------------- */

static json_t *owned_part(json_t *obj)
{
    static const char *const meta_keys[] = {"labels", "annotations", "finalizers", "ownerReferences"};
    json_t *out = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) {
        if (!strcmp(k, "kind") || !strcmp(k, "apiVersion") || !strcmp(k, "status") || !strcmp(k, "metadata"))
            continue;
        json_object_set(out, k, v);
    }
    json_t *m = json_object_get(obj, "metadata"), *om = json_object();
    for (size_t i = 0; i < sizeof meta_keys / sizeof meta_keys[0]; i++)
        if (json_object_get(m, meta_keys[i])) json_object_set(om, meta_keys[i], json_object_get(m, meta_keys[i]));
    if (json_object_size(om)) json_object_set_new(out, "metadata", om);
    else json_decref(om);
    return out;
}

/* ---- FieldsV1 trees --------------------------------------------------- */

static void fs_build(json_t *v, json_t *fs)
{
    const char *k;
    json_t *c;
    json_object_foreach(v, k, c) {
        json_t *child = json_object();
        if (json_is_object(c)) fs_build(c, child);
        char fk[512];
        snprintf(fk, sizeof fk, "f:%s", k);
        json_object_set_new(fs, fk, child);
    }
}

static json_t *fieldset_of(json_t *obj)
{
    json_t *part = owned_part(obj), *fs = json_object();
    fs_build(part, fs);
    json_decref(part);
    return fs;
}

/* Appends every leaf path (array of keys) of fs to out. */
static void fs_leaves(json_t *fs, json_t *prefix, json_t *out)
{
    const char *k;
    json_t *c;
    json_object_foreach(fs, k, c) {
        if (strncmp(k, "f:", 2) != 0) continue;
        json_t *p = json_copy(prefix);
        json_array_append_new(p, json_string(k + 2));
        if (json_object_size(c) == 0) json_array_append_new(out, p);
        else {
            fs_leaves(c, p, out);
            json_decref(p);
        }
    }
}

static json_t *leaves_of(json_t *fs)
{
    json_t *out = json_array(), *root = json_array();
    fs_leaves(fs, root, out);
    json_decref(root);
    return out;
}

static const char *fkey(json_t *path, size_t i, char *buf, size_t cap)
{
    snprintf(buf, cap, "f:%s", json_string_value(json_array_get(path, i)));
    return buf;
}

/* True when fs owns path or something below it. (Lists are leaves, so
 * nothing is ever below a list.) */
static bool fs_owns(json_t *fs, json_t *path)
{
    json_t *node = fs;
    char k[512];
    for (size_t i = 0; i < json_array_size(path); i++) {
        node = json_object_get(node, fkey(path, i, k, sizeof k));
        if (!node) return false;
    }
    return true;
}

/* Removes path (or the atomic leaf above it) and prunes emptied parents.
 * Returns true when node became empty. */
static bool fs_remove_at(json_t *node, json_t *path, size_t i)
{
    char k[512];
    fkey(path, i, k, sizeof k);
    json_t *child = json_object_get(node, k);
    if (!child) return false;
    if (i + 1 == json_array_size(path) || json_object_size(child) == 0) json_object_del(node, k);
    else if (fs_remove_at(child, path, i + 1)) json_object_del(node, k);
    return json_object_size(node) == 0;
}

static void fs_remove(json_t *fs, json_t *path)
{
    if (json_array_size(path)) fs_remove_at(fs, path, 0);
}

static void fs_add(json_t *fs, json_t *path)
{
    json_t *node = fs;
    char k[512];
    for (size_t i = 0; i < json_array_size(path); i++) {
        json_t *c = json_object_get(node, fkey(path, i, k, sizeof k));
        if (!c) {
            c = json_object();
            json_object_set_new(node, k, c);
        }
        node = c;
    }
}

/* ---- values at paths -------------------------------------------------- */

static json_t *path_get(json_t *obj, json_t *path)
{
    json_t *cur = obj;
    for (size_t i = 0; cur && i < json_array_size(path); i++)
        cur = json_object_get(cur, json_string_value(json_array_get(path, i)));
    return cur;
}

static json_t *path_prefix(json_t *path, size_t n)
{
    json_t *sub = json_array();
    for (size_t i = 0; i < n; i++) json_array_append(sub, json_array_get(path, i));
    return sub;
}

static bool owned_by_any(json_t *entries, json_t *path);

/* Deletes path from obj; maps the removal leaves empty go too, unless a
 * manager owns them. */
static void path_del(json_t *obj, json_t *path, json_t *entries)
{
    size_t n = json_array_size(path);
    for (size_t depth = n; depth > 0; depth--) {
        json_t *sub = path_prefix(path, depth), *up = path_prefix(path, depth - 1);
        json_t *v = path_get(obj, sub), *parent = path_get(obj, up);
        bool last = depth == n;
        bool drop = last || (json_is_object(v) && json_object_size(v) == 0 && !owned_by_any(entries, sub));
        if (drop && json_is_object(parent)) json_object_del(parent, json_string_value(json_array_get(path, depth - 1)));
        json_decref(sub);
        json_decref(up);
        if (!drop) break;
    }
}

/* Applied values win; maps merge key by key; null removes. */
static void deep_merge(json_t *dst, json_t *src)
{
    const char *k;
    json_t *v;
    json_object_foreach(src, k, v) {
        json_t *d = json_object_get(dst, k);
        if (json_is_null(v)) json_object_del(dst, k);
        else if (json_is_object(v) && json_is_object(d)) deep_merge(d, v);
        else json_object_set_new(dst, k, json_deep_copy(v));
    }
}

/* ---- managedFields entries ------------------------------------------- */

static json_t *entries_of(json_t *obj)
{
    json_t *mf = jget(obj, "metadata.managedFields");
    return json_is_array(mf) ? json_deep_copy(mf) : json_array();
}

static json_t *entry_find(json_t *entries, const char *manager, const char *op)
{
    size_t i;
    json_t *e;
    json_array_foreach(entries, i, e) {
        if (strcmp(json_string_value(json_object_get(e, "manager")) ?: "", manager) == 0 &&
            strcmp(json_string_value(json_object_get(e, "operation")) ?: "", op) == 0)
            return e;
    }
    return NULL;
}

/* Sets manager/op's fields to fs (taken); the time moves only on change. */
static void entry_set(json_t *entries, const char *manager, const char *op, const char *api_version,
                      json_t *fs, const char *now)
{
    json_t *e = entry_find(entries, manager, op);
    if (e && json_equal(json_object_get(e, "fieldsV1"), fs)) {
        json_decref(fs);
        return;
    }
    if (!e) {
        e = json_pack("{s:s, s:s}", "manager", manager, "operation", op);
        json_array_append_new(entries, e);
    }
    json_object_set_new(e, "apiVersion", json_string(api_version));
    json_object_set_new(e, "time", json_string(now));
    json_object_set_new(e, "fieldsType", json_string("FieldsV1"));
    json_object_set_new(e, "fieldsV1", fs);
}

static void entries_store(json_t *obj, json_t *entries)
{
    for (size_t i = json_array_size(entries); i-- > 0;)
        if (json_object_size(json_object_get(json_array_get(entries, i), "fieldsV1")) == 0)
            json_array_remove(entries, i);
    if (json_array_size(entries)) json_object_set_new(jmeta(obj), "managedFields", entries);
    else {
        json_object_del(jmeta(obj), "managedFields");
        json_decref(entries);
    }
}

static bool is_self(json_t *e, const char *manager, const char *op)
{
    return strcmp(json_string_value(json_object_get(e, "manager")) ?: "", manager) == 0 &&
           strcmp(json_string_value(json_object_get(e, "operation")) ?: "", op) == 0;
}

/* ".spec.replicas", as conflicts name fields */
static char *path_text(json_t *path)
{
    size_t cap = 1, i;
    json_t *k;
    json_array_foreach(path, i, k) cap += strlen(json_string_value(k)) + 1;
    char *s = calloc(1, cap);
    json_array_foreach(path, i, k) {
        strcat(s, ".");
        strcat(s, json_string_value(k));
    }
    return s;
}

/* Conflicting fields: owned by another manager with another value. With
 * force the ownership moves instead. */
static json_t *take_ownership(json_t *entries, json_t *base, json_t *cfg, json_t *new_leaves,
                              const char *manager, bool force)
{
    json_t *conflicts = json_array();
    size_t i, j;
    json_t *p, *e;
    json_array_foreach(new_leaves, i, p) {
        json_t *want = path_get(cfg, p), *have = path_get(base, p);
        if (json_equal(have, want)) continue;
        /* an empty map sent asks only that the map exist */
        if (json_is_object(want) && !json_object_size(want) && json_is_object(have)) continue;
        json_array_foreach(entries, j, e) {
            if (is_self(e, manager, "Apply") || !fs_owns(json_object_get(e, "fieldsV1"), p)) continue;
            if (json_is_array(want) || json_is_array(have)) {
                /* the real server would merge an associative list item by
                 * item here (the bed showed it); kube-sim cannot: it says so */
                json_array_clear(conflicts);
                json_array_append_new(conflicts, json_pack("{s:s}", "reason", "KubeSimAtomicList"));
                return conflicts;
            }
            if (force) fs_remove(json_object_get(e, "fieldsV1"), p);
            else {
                char *f = path_text(p);
                json_array_append_new(conflicts, json_pack("{s:s, s:s++, s:s}", "reason", "FieldManagerConflict",
                                                           "message", "conflict with \"",
                                                           json_string_value(json_object_get(e, "manager")),
                                                           "\"", "field", f));
                free(f);
            }
        }
    }
    return conflicts;
}

static bool owned_by_any(json_t *entries, json_t *path)
{
    size_t i;
    json_t *e;
    json_array_foreach(entries, i, e) if (fs_owns(json_object_get(e, "fieldsV1"), path)) return true;
    return false;
}

int ssa_apply(json_t *live, json_t *cfg, const char *manager, bool force, const char *now, json_t **out,
              json_t **conflicts)
{
    json_t *base = live ? json_deep_copy(live) : json_object();
    json_t *entries = entries_of(base);
    json_t *part = owned_part(cfg);
    json_t *newset = json_object();
    fs_build(part, newset);
    json_t *new_leaves = leaves_of(newset);
    json_t *bpart = owned_part(base);
    *conflicts = take_ownership(entries, bpart, part, new_leaves, manager, force);
    json_decref(bpart);
    if (json_array_size(*conflicts)) {
        const char *why = json_string_value(json_object_get(json_array_get(*conflicts, 0), "reason"));
        bool atomic = why && !strcmp(why, "KubeSimAtomicList");
        json_decref(base), json_decref(entries), json_decref(part), json_decref(newset), json_decref(new_leaves);
        return atomic ? 501 : 409;
    }
    json_decref(*conflicts);
    *conflicts = NULL;
    /* fields this manager stopped sending */
    json_t *self = entry_find(entries, manager, "Apply");
    json_t *old_leaves = leaves_of(self ? json_object_get(self, "fieldsV1") : NULL);
    entry_set(entries, manager, "Apply", json_string_value(json_object_get(cfg, "apiVersion")) ?: "v1",
              json_deep_copy(newset), now);
    size_t i;
    json_t *p;
    json_array_foreach(old_leaves, i, p) if (!owned_by_any(entries, p)) path_del(base, p, entries);
    /* merge what was sent */
    json_t *m = json_object_get(part, "metadata");
    if (m) {
        deep_merge(jmeta(base), m);
        json_object_del(part, "metadata");
    }
    deep_merge(base, part);
    json_object_set(base, "apiVersion", json_object_get(cfg, "apiVersion"));
    json_object_set(base, "kind", json_object_get(cfg, "kind"));
    entries_store(base, entries);
    json_decref(part), json_decref(newset), json_decref(new_leaves), json_decref(old_leaves);
    *out = base;
    return 0;
}

void ssa_record_update(json_t *old, json_t *obj, const char *manager, const char *api_version, const char *now)
{
    json_t *entries = entries_of(old ? old : obj);
    json_t *opart = old ? owned_part(old) : json_object(), *npart = owned_part(obj);
    json_t *ofs = fieldset_of(opart), *nfs = fieldset_of(npart);
    json_t *oleaves = leaves_of(ofs), *nleaves = leaves_of(nfs);
    size_t i, j;
    json_t *p, *e;
    /* fields that went away belong to nobody any more */
    json_array_foreach(oleaves, i, p) if (!path_get(npart, p)) json_array_foreach(entries, j, e)
        fs_remove(json_object_get(e, "fieldsV1"), p);
    json_t *self = entry_find(entries, manager, "Update");
    json_t *mine = self ? json_deep_copy(json_object_get(self, "fieldsV1")) : json_object();
    json_array_foreach(nleaves, i, p) {
        if (old && json_equal(path_get(opart, p), path_get(npart, p))) continue;
        json_array_foreach(entries, j, e) if (!is_self(e, manager, "Update"))
            fs_remove(json_object_get(e, "fieldsV1"), p);
        fs_add(mine, p);
    }
    if (json_object_size(mine)) entry_set(entries, manager, "Update", api_version, mine, now);
    else json_decref(mine);
    entries_store(obj, entries);
    json_decref(opart), json_decref(npart), json_decref(ofs), json_decref(nfs);
    json_decref(oleaves), json_decref(nleaves);
}
