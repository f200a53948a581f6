/* store.c — the objects kube-sim holds, in memory, under one mutex.
 *
 * The store owns the identity fields the API server owns: uid,
 * resourceVersion (one global counter, as etcd's revision), creation time
 * and generation. Callers lock it around whole requests, so each request
 * sees and makes one consistent change. Lists come out sorted by
 * namespace/name, which is what continue tokens point into. */
#define _GNU_SOURCE
#include "ksim.h"

#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

void store_init(kstore *s)
{
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
}

static void obj_free(kobj *o)
{
    json_decref(o->obj);
    json_decref(o->side);
    free(o->ns);
    free(o->name);
    free(o);
}

void store_free(kstore *s)
{
    for (size_t i = 0; i < s->n; i++) obj_free(s->v[i]);
    free(s->v);
    free(s->index);
    for (size_t i = 0; i < sizeof s->tokens / sizeof s->tokens[0]; i++) {
        free(s->tokens[i].ns);
        free(s->tokens[i].name);
    }
    pthread_mutex_destroy(&s->mu);
}

void store_lock(kstore *s) { pthread_mutex_lock(&s->mu); }
void store_unlock(kstore *s) { pthread_mutex_unlock(&s->mu); }

static size_t uid_hash(const char *uid)
{
    size_t h = 2166136261u;
    for (const char *p = uid; *p; p++) h = (h ^ (unsigned char)*p) * 16777619u;
    return h;
}

static size_t key_hash(const kres *r, const char *ns, const char *name)
{
    size_t h = (size_t)(uintptr_t)r * 2654435761u;
    for (const char *p = ns ? ns : ""; *p; p++) h = (h ^ (unsigned char)*p) * 16777619u;
    h = (h ^ '/') * 16777619u;
    for (const char *p = name; *p; p++) h = (h ^ (unsigned char)*p) * 16777619u;
    return h;
}

static void index_add(kstore *s, kobj *o)
{
    if (s->n + 1 > s->nindex) {                 /* grow and rehash */
        size_t n = s->nindex ? s->nindex * 2 : 1024;
        kobj **nb = calloc(n, sizeof *nb);
        if (!nb) abort();
        for (size_t b = 0; b < s->nindex; b++)
            for (kobj *x = s->index[b], *next; x; x = next) {
                next = x->hnext;
                size_t h = key_hash(x->res, x->ns, x->name) % n;
                x->hnext = nb[h];
                nb[h] = x;
            }
        kobj **ub = calloc(n, sizeof *ub);
        if (!ub) abort();
        for (size_t b = 0; b < s->nindex; b++)
            for (kobj *x = s->uindex[b], *next; x; x = next) {
                next = x->unext;
                size_t h = uid_hash(x->uid) % n;
                x->unext = ub[h];
                ub[h] = x;
            }
        free(s->index);
        free(s->uindex);
        s->index = nb;
        s->uindex = ub;
        s->nindex = n;
    }
    size_t h = key_hash(o->res, o->ns, o->name) % s->nindex;
    o->hnext = s->index[h];
    s->index[h] = o;
    h = uid_hash(o->uid) % s->nindex;
    o->unext = s->uindex[h];
    s->uindex[h] = o;
}

static void index_remove(kstore *s, kobj *o)
{
    if (!s->nindex) return;
    kobj **pp = &s->index[key_hash(o->res, o->ns, o->name) % s->nindex];
    while (*pp && *pp != o) pp = &(*pp)->hnext;
    if (*pp) *pp = o->hnext;
    pp = &s->uindex[uid_hash(o->uid) % s->nindex];
    while (*pp && *pp != o) pp = &(*pp)->unext;
    if (*pp) *pp = o->unext;
}

kobj *store_find(kstore *s, const kres *r, const char *ns, const char *name)
{
    if (!s->nindex) return NULL;
    const char *n_s = ns ? ns : "";
    for (kobj *o = s->index[key_hash(r, ns, name) % s->nindex]; o; o = o->hnext)
        if (o->res == r && strcmp(o->ns, n_s) == 0 && strcmp(o->name, name) == 0) return o;
    return NULL;
}

kobj *store_find_uid(kstore *s, const char *uid)
{
    if (!uid || !s->nindex) return NULL;
    for (kobj *o = s->uindex[uid_hash(uid) % s->nindex]; o; o = o->unext)
        if (strcmp(o->uid, uid) == 0) return o;
    return NULL;
}

static void set_rv(kstore *s, json_t *obj)
{
    char rv[32];
    snprintf(rv, sizeof rv, "%llu", ++s->rv);
    json_object_set_new(jmeta(obj), "resourceVersion", json_string(rv));
}

kobj *store_insert(kstore *s, const kres *r, const char *ns, const char *name, json_t *obj)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
        if (!s->v) abort();
    }
    kobj *o = calloc(1, sizeof *o);
    if (!o) abort();
    o->res = r;
    o->ns = strdup(ns ? ns : "");
    o->name = strdup(name);
    o->obj = obj;
    json_t *m = jmeta(obj);
    char uid[40], ts[32];
    unsigned long long q = ++s->uid_seq;
    uint64_t h = fnv1a(name) ^ (q * 0x9e3779b97f4a7c15ULL);
    snprintf(uid, sizeof uid, "%08llx-%04llx-4%03llx-8%03llx-%012llx", (unsigned long long)(h >> 32),
             (unsigned long long)(h >> 16) & 0xffff, (unsigned long long)h & 0xfff, q & 0xfff,
             (unsigned long long)q);
    rfc3339_now(ts);
    json_object_set_new(m, "uid", json_string(uid));
    snprintf(o->uid, sizeof o->uid, "%s", uid);
    json_object_set_new(m, "creationTimestamp", json_string(ts));
    json_object_set_new(m, "name", json_string(name));
    if (r->namespaced) json_object_set_new(m, "namespace", json_string(ns));
    else json_object_del(m, "namespace");
    if (r->has_gen) json_object_set_new(m, "generation", json_integer(1));
    else json_object_del(m, "generation");
    set_rv(s, obj);
    index_add(s, o);
    s->v[s->n++] = o;
    return o;
}

bool store_replace(kstore *s, kobj *o, json_t *obj)
{
    json_t *m = jmeta(obj), *old = jmeta(o->obj);
    static const char *const keep[] = {"uid", "creationTimestamp", "name", "namespace", "generation"};
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++) {
        json_t *v = json_object_get(old, keep[i]);
        if (v) json_object_set(m, keep[i], v);
        else json_object_del(m, keep[i]);
    }
    json_object_set(m, "resourceVersion", json_object_get(old, "resourceVersion"));
    if (json_equal(obj, o->obj)) {
        json_decref(obj);
        return false;
    }
    if (o->res->has_gen && !json_equal(json_object_get(obj, "spec"), json_object_get(o->obj, "spec")))
        json_object_set_new(m, "generation",
                            json_integer(json_integer_value(json_object_get(old, "generation")) + 1));
    set_rv(s, obj);
    json_decref(o->obj);
    o->obj = obj;
    return true;
}

void store_remove(kstore *s, kobj *o)
{
    index_remove(s, o);
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i] == o) {
            memmove(&s->v[i], &s->v[i + 1], (s->n - i - 1) * sizeof *s->v);
            s->n--;
            break;
        }
    obj_free(o);
}

static int by_key(const void *a, const void *b)
{
    const kobj *x = *(kobj *const *)a, *y = *(kobj *const *)b;
    int c = strcmp(x->ns, y->ns);
    return c ? c : strcmp(x->name, y->name);
}

size_t store_select(kstore *s, const kres *r, const char *ns, kobj ***out)
{
    kobj **v = malloc((s->n + 1) * sizeof *v);
    if (!v) abort();
    size_t n = 0;
    for (size_t i = 0; i < s->n; i++)
        if ((!r || s->v[i]->res == r) && (!ns || strcmp(s->v[i]->ns, ns) == 0)) v[n++] = s->v[i];
    qsort(v, n, sizeof *v, by_key);
    *out = v;
    return n;
}

const char *store_token_new(kstore *s, const char *ns, const char *name)
{
    struct ktoken *t = &s->tokens[s->token_next++ % (sizeof s->tokens / sizeof s->tokens[0])];
    free(t->ns);
    free(t->name);
    t->ns = strdup(ns);
    t->name = strdup(name);
    unsigned long long q = ++s->token_seq;
    snprintf(t->id, sizeof t->id, "ksim%016llx%08llx", (unsigned long long)fnv1a(name) ^ q, q);
    return t->id;
}

bool store_token_get(kstore *s, const char *id, const char **ns, const char **name)
{
    for (size_t i = 0; i < sizeof s->tokens / sizeof s->tokens[0]; i++)
        if (s->tokens[i].name && strcmp(s->tokens[i].id, id) == 0) {
            *ns = s->tokens[i].ns;
            *name = s->tokens[i].name;
            return true;
        }
    return false;
}

void store_tokens_expire(kstore *s)
{
    for (size_t i = 0; i < sizeof s->tokens / sizeof s->tokens[0]; i++) {
        free(s->tokens[i].ns);
        free(s->tokens[i].name);
        s->tokens[i].ns = s->tokens[i].name = NULL;
        s->tokens[i].id[0] = 0;
    }
}
