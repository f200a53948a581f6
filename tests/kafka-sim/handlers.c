/* handlers.c — one function per Kafka request type, plus the dispatcher.
 *
 * Why this shape: each handler reads its request with the bounds-checked
 * reader and writes its response straight into the connection's output
 * buffer, version by version, following the field lists of apache/kafka's
 * clients/src/main/resources/common/message/<Name>{Request,Response}.json.
 * The dispatcher writes the frame size and response header and rolls the
 * output back if the request turns out malformed, so a handler never needs
 * its own cleanup. Only non-flexible versions are implemented and advertised
 * (the compact encodings are avoided entirely); a request at any other
 * version closes the connection, except ApiVersions, which answers in the
 * v0 format with UNSUPPORTED_VERSION as Kafka does so the client downgrades. */
#define _GNU_SOURCE
#include "kfs_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUTH_OPS_OMITTED ((int32_t)0x80000000) /* INT32_MIN: "not requested" */

typedef int (*kfs_handler)(const kfs_conn_ctx *ctx, kfs_rd *r, int16_t ver, kfs_wr *w);

typedef struct kfs_api {
    int16_t key, min, max;
    kfs_handler fn;
} kfs_api;

static const kfs_api *find_api(int16_t key);

/* ---- helpers ---- */

static void wr_ids(kfs_wr *w, const kfs_ids *s)
{
    kfs_wr_i32(w, s->n);
    for (int i = 0; i < s->n; i++) kfs_wr_i32(w, s->v[i]);
}

static kfs_broker *up_broker(kfs_cluster *c, int id)
{
    kfs_broker *b = kfs_find_broker(c, id);
    return b && b->up ? b : NULL;
}

/* ---- ApiVersions (18) ---- */

static void write_api_list(kfs_wr *w);

static int h_api_versions(const kfs_conn_ctx *ctx, kfs_rd *r, int16_t ver, kfs_wr *w)
{
    (void)ctx;
    (void)r;
    kfs_wr_i16(w, 0);
    write_api_list(w);
    if (ver >= 1) kfs_wr_i32(w, 0); /* throttle_time_ms */
    return 0;
}

/* ---- Metadata (3) ---- */

static void metadata_topic(const kfs_conn_ctx *ctx, kfs_topic *t, const char *name, int16_t ver, kfs_wr *w)
{
    kfs_wr_i16(w, t ? 0 : 3);
    kfs_wr_str(w, name);
    if (ver >= 1) kfs_wr_bool(w, false); /* is_internal */
    kfs_wr_i32(w, t ? t->nparts : 0);
    for (int i = 0; t && i < t->nparts; i++) {
        kfs_partition *p = &t->parts[i];
        kfs_wr_i16(w, p->leader < 0 ? 5 : 0);
        kfs_wr_i32(w, p->id);
        kfs_wr_i32(w, p->leader);
        if (ver >= 7) kfs_wr_i32(w, p->epoch);
        wr_ids(w, &p->replicas);
        wr_ids(w, &p->isr);
        if (ver >= 5) {
            size_t at = kfs_wr_mark(w);
            int n = 0;
            for (int j = 0; j < p->replicas.n; j++)
                if (!up_broker(ctx->c, p->replicas.v[j])) {
                    kfs_wr_i32(w, p->replicas.v[j]);
                    n++;
                }
            kfs_wr_patch(w, at, n);
        }
    }
    if (ver >= 8) kfs_wr_i32(w, AUTH_OPS_OMITTED);
}

static int h_metadata(const kfs_conn_ctx *ctx, kfs_rd *r, int16_t ver, kfs_wr *w)
{
    kfs_cluster *c = ctx->c;
    int32_t n;
    char **names = kfs_rd_str_array(r, ver >= 1, &n);
    if (n > 0 && !names) return -1;
    if (ver >= 4) kfs_rd_bool(r); /* allow_auto_topic_creation: auto-create is off */
    if (ver >= 8) {
        kfs_rd_bool(r);
        kfs_rd_bool(r);
    }
    if (r->bad) {
        free(names);
        return -1;
    }
    if (ver >= 3) kfs_wr_i32(w, 0);
    size_t at = kfs_wr_mark(w);
    int nb = 0;
    for (int i = 0; i < c->nbrokers; i++) {
        kfs_broker *b = c->brokers[i];
        kfs_listener *l = kfs_broker_listener(b, ctx->listener);
        if (!b->up || !l) continue;
        kfs_wr_i32(w, b->id);
        kfs_wr_str(w, l->host);
        kfs_wr_i32(w, l->bound_port);
        if (ver >= 1) kfs_wr_str(w, b->rack);
        nb++;
    }
    kfs_wr_patch(w, at, nb);
    if (ver >= 2) kfs_wr_str(w, c->cluster_id);
    if (ver >= 1) kfs_wr_i32(w, kfs_controller_id(c));
    bool all = n < 0 || (ver == 0 && n == 0);
    if (all) {
        kfs_wr_i32(w, c->ntopics);
        for (int i = 0; i < c->ntopics; i++) metadata_topic(ctx, c->topics[i], c->topics[i]->name, ver, w);
    } else {
        kfs_wr_i32(w, n);
        for (int32_t i = 0; i < n; i++) metadata_topic(ctx, kfs_find_topic(c, names[i]), names[i], ver, w);
    }
    if (ver >= 8) kfs_wr_i32(w, AUTH_OPS_OMITTED);
    free(names);
    return 0;
}


/* ---- CreateTopics (19) v0-v4 ---- */

static int h_create_topics(const kfs_conn_ctx *ctx, kfs_rd *r, int16_t ver, kfs_wr *w)
{
    kfs_cluster *c = ctx->c;
    int32_t nt = kfs_rd_array(r, false, 14);
    typedef struct req_topic {
        char *name;
        int32_t nparts;
        int16_t repl;
        kfs_ids *assign;
        int32_t nassign;
        kfs_kvs configs;
        int16_t err;
    } req_topic;
    req_topic *ts = nt > 0 ? calloc((size_t)nt, sizeof *ts) : NULL;
    if (nt > 0 && !ts) return -1;
    for (int32_t i = 0; i < nt && !r->bad; i++) {
        req_topic *t = &ts[i];
        t->name = kfs_rd_str(r, false);
        t->nparts = kfs_rd_i32(r);
        t->repl = kfs_rd_i16(r);
        t->nassign = kfs_rd_array(r, false, 8);
        if (t->nassign > 0) t->assign = calloc((size_t)t->nassign, sizeof *t->assign);
        for (int32_t j = 0; j < t->nassign && !r->bad; j++) {
            int32_t idx = kfs_rd_i32(r);
            int32_t nb = kfs_rd_array(r, false, 4);
            kfs_ids ids = {0};
            for (int32_t k = 0; k < nb && !r->bad; k++) kfs_ids_add(&ids, kfs_rd_i32(r));
            if (!t->assign || idx < 0 || idx >= t->nassign || t->assign[idx].n) {
                t->err = 39; /* INVALID_REPLICA_ASSIGNMENT: indexes must be 0..n-1 */
                kfs_ids_free(&ids);
            } else {
                t->assign[idx] = ids;
            }
        }
        int32_t nc = kfs_rd_array(r, false, 4);
        for (int32_t j = 0; j < nc && !r->bad; j++) {
            char *k = kfs_rd_str(r, false), *v = kfs_rd_str(r, true);
            if (k && v) kfs_kvs_set(&t->configs, k, v);
            else if (k && !t->err) t->err = 40;
        }
    }
    kfs_rd_i32(r); /* timeout_ms */
    bool validate_only = ver >= 1 ? kfs_rd_bool(r) : false;
    if (!r->bad) {
        if (ver >= 2) kfs_wr_i32(w, 0);
        kfs_wr_i32(w, nt);
        for (int32_t i = 0; i < nt; i++) {
            req_topic *t = &ts[i];
            const char *msg = NULL;
            int err = t->err;
            if (err == 39) msg = "Replica assignment indexes must be 0..n-1";
            else if (err == 40) msg = "Null value not supported for topic configs";
            else if (t->nassign > 0 && (t->nparts != -1 || t->repl != -1)) {
                err = 42;
                msg = "Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used "
                      "at the same time.";
            } else {
                err = kfs_model_create_topic(c, t->name, t->nassign > 0 ? t->nassign : t->nparts,
                                             t->nassign > 0 ? -1 : t->repl, t->nassign > 0 ? t->assign : NULL, true,
                                             validate_only, &t->configs, &msg);
            }
            kfs_wr_str(w, t->name);
            kfs_wr_i16(w, (int16_t)err);
            if (ver >= 1) kfs_wr_str(w, err ? msg : NULL);
        }
    }
    for (int32_t i = 0; i < nt; i++) {
        for (int32_t j = 0; ts[i].assign && j < ts[i].nassign; j++) kfs_ids_free(&ts[i].assign[j]);
        free(ts[i].assign);
        kfs_kvs_free(&ts[i].configs);
    }
    free(ts);
    return 0;
}

/* ---- DeleteTopics (20) v0-v3 ---- */

static int h_delete_topics(const kfs_conn_ctx *ctx, kfs_rd *r, int16_t ver, kfs_wr *w)
{
    int32_t n;
    char **names = kfs_rd_str_array(r, false, &n);
    if (n > 0 && !names) return -1;
    kfs_rd_i32(r);
    if (!r->bad) {
        if (ver >= 1) kfs_wr_i32(w, 0);
        kfs_wr_i32(w, n);
        for (int32_t i = 0; i < n; i++) {
            kfs_wr_str(w, names[i]);
            kfs_wr_i16(w, (int16_t)kfs_model_delete_topic(ctx->c, names[i]));
        }
    }
    free(names);
    return 0;
}

/* ---- CreatePartitions (37) v0-v1 ---- */

static int h_create_partitions(const kfs_conn_ctx *ctx, kfs_rd *r, int16_t ver, kfs_wr *w)
{
    (void)ver;
    int32_t n = kfs_rd_array(r, false, 10);
    typedef struct req_parts {
        char *name;
        int32_t count;
        kfs_ids *assign;
        int32_t nassign;
    } req_parts;
    req_parts *ps = n > 0 ? calloc((size_t)n, sizeof *ps) : NULL;
    if (n > 0 && !ps) return -1;
    for (int32_t i = 0; i < n && !r->bad; i++) {
        ps[i].name = kfs_rd_str(r, false);
        ps[i].count = kfs_rd_i32(r);
        ps[i].nassign = kfs_rd_array(r, true, 4);
        if (ps[i].nassign > 0) ps[i].assign = calloc((size_t)ps[i].nassign, sizeof *ps[i].assign);
        for (int32_t j = 0; j < ps[i].nassign && !r->bad; j++) {
            int32_t nb = kfs_rd_array(r, false, 4);
            for (int32_t k = 0; k < nb && !r->bad; k++)
                if (ps[i].assign) kfs_ids_add(&ps[i].assign[j], kfs_rd_i32(r));
                else kfs_rd_i32(r);
        }
    }
    kfs_rd_i32(r);
    bool validate_only = kfs_rd_bool(r);
    if (!r->bad) {
        kfs_wr_i32(w, 0);
        kfs_wr_i32(w, n);
        for (int32_t i = 0; i < n; i++) {
            kfs_topic *t = kfs_find_topic(ctx->c, ps[i].name);
            const char *msg = NULL;
            int err;
            if (!t) {
                err = 3;
                msg = "This server does not host this topic-partition.";
            } else if (ps[i].nassign > 0 && ps[i].nassign != ps[i].count - t->nparts) {
                err = 39;
                msg = "Increasing the number of partitions needs one assignment per new partition.";
            } else {
                err = kfs_model_add_partitions(ctx->c, t, ps[i].count, ps[i].nassign > 0 ? ps[i].assign : NULL,
                                               validate_only, &msg);
            }
            kfs_wr_str(w, ps[i].name);
            kfs_wr_i16(w, (int16_t)err);
            kfs_wr_str(w, err ? msg : NULL);
        }
    }
    for (int32_t i = 0; i < n; i++) {
        for (int32_t j = 0; ps[i].assign && j < ps[i].nassign; j++) kfs_ids_free(&ps[i].assign[j]);
        free(ps[i].assign);
    }
    free(ps);
    return 0;
}

/* ---- DescribeConfigs (32) v0-v3 ---- */

static void write_config(kfs_wr *w, int16_t ver, const kfs_config_def *d, const char *value, int8_t source,
                         bool read_only, bool synonyms, const char *syn_name, const char *syn_value, int8_t syn_source)
{
    kfs_wr_str(w, d->name);
    kfs_wr_str(w, value);
    kfs_wr_bool(w, read_only);
    if (ver == 0) kfs_wr_bool(w, source == 5);
    else kfs_wr_i8(w, source);
    kfs_wr_bool(w, false); /* is_sensitive */
    if (ver >= 1) {
        /* synonyms, most specific first, ending with the default */
        size_t at = kfs_wr_mark(w);
        int n = 0;
        if (synonyms) {
            if (source != 5 && value) {
                kfs_wr_str(w, source == 1 || !syn_name ? d->name : syn_name);
                kfs_wr_str(w, value);
                kfs_wr_i8(w, source);
                n++;
            }
            if (syn_name && syn_value && syn_source != 5 && source == 1) {
                kfs_wr_str(w, syn_name);
                kfs_wr_str(w, syn_value);
                kfs_wr_i8(w, syn_source);
                n++;
            }
            if (d->dflt) {
                kfs_wr_str(w, syn_name ? syn_name : d->name);
                kfs_wr_str(w, d->dflt);
                kfs_wr_i8(w, 5);
                n++;
            }
        }
        kfs_wr_patch(w, at, n);
    }
    if (ver >= 3) {
        kfs_wr_i8(w, d->type);
        kfs_wr_str(w, NULL); /* documentation */
    }
}

static bool key_wanted(char **keys, int32_t nkeys, const char *name)
{
    if (nkeys < 0) return true;
    for (int32_t i = 0; i < nkeys; i++)
        if (keys[i] && strcmp(keys[i], name) == 0) return true;
    return false;
}

static kfs_broker *broker_by_name(kfs_cluster *c, const char *name)
{
    if (!name || !*name) return NULL;
    char *end;
    long id = strtol(name, &end, 10);
    return *end ? NULL : kfs_find_broker(c, (int)id);
}

static int h_describe_configs(const kfs_conn_ctx *ctx, kfs_rd *r, int16_t ver, kfs_wr *w)
{
    kfs_cluster *c = ctx->c;
    int32_t n = kfs_rd_array(r, false, 7);
    typedef struct req_res {
        int8_t type;
        char *name;
        char **keys;
        int32_t nkeys;
    } req_res;
    req_res *rs = n > 0 ? calloc((size_t)n, sizeof *rs) : NULL;
    if (n > 0 && !rs) return -1;
    for (int32_t i = 0; i < n && !r->bad; i++) {
        rs[i].type = kfs_rd_i8(r);
        rs[i].name = kfs_rd_str(r, false);
        rs[i].nkeys = kfs_rd_array(r, true, 2);
        if (rs[i].nkeys > 0 && !(rs[i].keys = calloc((size_t)rs[i].nkeys, sizeof(char *)))) r->bad = true;
        for (int32_t j = 0; j < rs[i].nkeys && !r->bad; j++) rs[i].keys[j] = kfs_rd_str(r, false);
    }
    bool synonyms = ver >= 1 ? kfs_rd_bool(r) : false;
    if (ver >= 3) kfs_rd_bool(r); /* include_documentation */
    if (!r->bad) {
        kfs_wr_i32(w, 0);
        kfs_wr_i32(w, n);
        for (int32_t i = 0; i < n; i++) {
            req_res *q = &rs[i];
            char buf[64], sbuf[64];
            int nd;
            if (q->type == 2) {
                kfs_topic *t = kfs_find_topic(c, q->name);
                kfs_wr_i16(w, t ? 0 : 3);
                kfs_wr_str(w, t ? NULL : "Topic does not exist");
                kfs_wr_i8(w, q->type);
                kfs_wr_str(w, q->name);
                const kfs_config_def *defs = kfs_topic_config_defs(&nd);
                size_t at = kfs_wr_mark(w);
                int cnt = 0;
                for (int j = 0; t && j < nd; j++) {
                    if (!key_wanted(q->keys, q->nkeys, defs[j].name)) continue;
                    int8_t src, ssrc = 5;
                    const char *v = kfs_topic_config(c, t, &defs[j], &src, buf, sizeof buf);
                    const char *sv = kfs_topic_config(c, NULL, &defs[j], &ssrc, sbuf, sizeof sbuf);
                    write_config(w, ver, &defs[j], v, src, false, synonyms, defs[j].synonym, sv, ssrc);
                    cnt++;
                }
                kfs_wr_patch(w, at, cnt);
            } else if (q->type == 4) {
                bool dflt = q->name && !*q->name; /* "" = cluster-wide dynamic defaults */
                kfs_broker *b = broker_by_name(c, q->name);
                bool ok = dflt || b;
                kfs_wr_i16(w, ok ? 0 : 42);
                kfs_wr_str(w, ok ? NULL : "Unknown broker id");
                kfs_wr_i8(w, q->type);
                kfs_wr_str(w, q->name);
                const kfs_config_def *defs = kfs_broker_config_defs(&nd);
                size_t at = kfs_wr_mark(w);
                int cnt = 0;
                for (int j = 0; ok && j < nd; j++) {
                    if (!key_wanted(q->keys, q->nkeys, defs[j].name)) continue;
                    int8_t src;
                    const char *v;
                    if (dflt) {
                        v = kfs_kvs_get(&c->default_broker_configs, defs[j].name);
                        if (!v) continue;
                        src = 3;
                    } else {
                        v = kfs_broker_config(c, b, &defs[j], &src, buf, sizeof buf);
                    }
                    write_config(w, ver, &defs[j], v, src, defs[j].read_only, synonyms, NULL, NULL, 5);
                    cnt++;
                }
                kfs_wr_patch(w, at, cnt);
            } else {
                kfs_wr_i16(w, 42);
                kfs_wr_str(w, "Unsupported resource type");
                kfs_wr_i8(w, q->type);
                kfs_wr_str(w, q->name);
                kfs_wr_i32(w, 0);
            }
        }
    }
    for (int32_t i = 0; i < n; i++) free(rs[i].keys);
    free(rs);
    return 0;
}

/* ---- AlterConfigs (33) v0-v1: replaces the whole dynamic set ---- */

static int h_alter_configs(const kfs_conn_ctx *ctx, kfs_rd *r, int16_t ver, kfs_wr *w)
{
    (void)ver;
    kfs_cluster *c = ctx->c;
    int32_t n = kfs_rd_array(r, false, 7);
    typedef struct req_res {
        int8_t type;
        char *name;
        kfs_kvs configs;
        bool null_value;
    } req_res;
    req_res *rs = n > 0 ? calloc((size_t)n, sizeof *rs) : NULL;
    if (n > 0 && !rs) return -1;
    for (int32_t i = 0; i < n && !r->bad; i++) {
        rs[i].type = kfs_rd_i8(r);
        rs[i].name = kfs_rd_str(r, false);
        int32_t nc = kfs_rd_array(r, false, 4);
        for (int32_t j = 0; j < nc && !r->bad; j++) {
            char *k = kfs_rd_str(r, false), *v = kfs_rd_str(r, true);
            if (k && v) kfs_kvs_set(&rs[i].configs, k, v);
            else if (k) rs[i].null_value = true;
        }
    }
    bool validate_only = kfs_rd_bool(r);
    if (!r->bad) {
        kfs_wr_i32(w, 0);
        kfs_wr_i32(w, n);
        for (int32_t i = 0; i < n; i++) {
            req_res *q = &rs[i];
            const char *msg = NULL;
            int err = 0;
            kfs_kvs *target = NULL;
            if (q->null_value) {
                err = 40;
                msg = "Null value not supported for configs";
            } else if (q->type == 2) {
                kfs_topic *t = kfs_find_topic(c, q->name);
                if (!t) {
                    err = 3;
                    msg = "Topic does not exist";
                } else if (!(err = kfs_check_topic_configs(&q->configs, &msg))) {
                    target = &t->configs;
                }
            } else if (q->type == 4) {
                kfs_broker *b = broker_by_name(c, q->name);
                if (!b && !(q->name && !*q->name)) {
                    err = 42;
                    msg = "Unknown broker id";
                } else if (!(err = kfs_check_broker_configs(&q->configs, &msg))) {
                    target = b ? &b->configs : &c->default_broker_configs;
                }
            } else {
                err = 42;
                msg = "Unsupported resource type";
            }
            if (target && !validate_only) {
                kfs_kvs_free(target);
                *target = q->configs;
                q->configs = (kfs_kvs){0};
                c->metadata_offset++;
            }
            kfs_wr_i16(w, (int16_t)err);
            kfs_wr_str(w, err ? msg : NULL);
            kfs_wr_i8(w, q->type);
            kfs_wr_str(w, q->name);
        }
    }
    for (int32_t i = 0; i < n; i++) kfs_kvs_free(&rs[i].configs);
    free(rs);
    return 0;
}

/* ---- ACLs: CreateAcls (30), DescribeAcls (29), DeleteAcls (31), v0-v1 ---- */

enum { RT_ANY = 1, PT_ANY = 1, PT_MATCH = 2, PT_LITERAL = 3, PT_PREFIXED = 4, OP_ANY = 1, PERM_ANY = 1 };

typedef struct acl_filter {
    int8_t rtype, pattern, op, perm;
    char *name, *principal, *host;
} acl_filter;

static void read_acl_filter(kfs_rd *r, int16_t ver, acl_filter *f)
{
    f->rtype = kfs_rd_i8(r);
    f->name = kfs_rd_str(r, true);
    f->pattern = ver >= 1 ? kfs_rd_i8(r) : PT_LITERAL;
    f->principal = kfs_rd_str(r, true);
    f->host = kfs_rd_str(r, true);
    f->op = kfs_rd_i8(r);
    f->perm = kfs_rd_i8(r);
}

static bool acl_matches(const acl_filter *f, const kfs_acl *a)
{
    if (f->rtype != RT_ANY && f->rtype != a->rtype) return false;
    if (f->pattern == PT_MATCH) {
        if (f->name) {
            bool lit = a->pattern == PT_LITERAL && (strcmp(a->name, f->name) == 0 || strcmp(a->name, "*") == 0);
            bool pre = a->pattern == PT_PREFIXED && strncmp(f->name, a->name, strlen(a->name)) == 0;
            if (!lit && !pre) return false;
        }
    } else {
        if (f->pattern != PT_ANY && f->pattern != a->pattern) return false;
        if (f->name && strcmp(f->name, a->name) != 0) return false;
    }
    if (f->principal && strcmp(f->principal, a->principal) != 0) return false;
    if (f->host && strcmp(f->host, a->host) != 0) return false;
    if (f->op != OP_ANY && f->op != a->op) return false;
    if (f->perm != PERM_ANY && f->perm != a->perm) return false;
    return true;
}

static int h_create_acls(const kfs_conn_ctx *ctx, kfs_rd *r, int16_t ver, kfs_wr *w)
{
    kfs_cluster *c = ctx->c;
    int32_t n = kfs_rd_array(r, false, 11);
    acl_filter *fs = n > 0 ? calloc((size_t)n, sizeof *fs) : NULL;
    if (n > 0 && !fs) return -1;
    for (int32_t i = 0; i < n && !r->bad; i++) {
        fs[i].rtype = kfs_rd_i8(r);
        fs[i].name = kfs_rd_str(r, false);
        fs[i].pattern = ver >= 1 ? kfs_rd_i8(r) : PT_LITERAL;
        fs[i].principal = kfs_rd_str(r, false);
        fs[i].host = kfs_rd_str(r, false);
        fs[i].op = kfs_rd_i8(r);
        fs[i].perm = kfs_rd_i8(r);
    }
    if (!r->bad) {
        kfs_wr_i32(w, 0);
        kfs_wr_i32(w, n);
        for (int32_t i = 0; i < n; i++) {
            acl_filter *f = &fs[i];
            const char *msg = NULL;
            if (f->rtype < 2 || f->rtype > 6) msg = "Invalid resource type";
            else if (f->pattern != PT_LITERAL && f->pattern != PT_PREFIXED) msg = "Invalid pattern type";
            else if (f->op < 2 || f->op > 14) msg = "Invalid operation";
            else if (f->perm != 2 && f->perm != 3) msg = "Invalid permission type";
            else if (strncmp(f->principal, "User:", 5) != 0 && strncmp(f->principal, "Group:", 6) != 0)
                msg = "Invalid principal: it must start with User: or Group:";
            else if (!*f->name) msg = "Resource name must not be empty";
            bool exists = false;
            for (int j = 0; !msg && j < c->nacls; j++) {
                acl_filter exact = *f;
                if (acl_matches(&exact, &c->acls[j])) exists = true;
            }
            if (!msg && !exists) {
                kfs_acl *na = realloc(c->acls, (size_t)(c->nacls + 1) * sizeof *na);
                if (na) {
                    c->acls = na;
                    kfs_acl *a = &na[c->nacls];
                    *a = (kfs_acl){.rtype = f->rtype, .pattern = f->pattern, .op = f->op, .perm = f->perm,
                                   .name = strdup(f->name), .principal = strdup(f->principal), .host = strdup(f->host)};
                    if (a->name && a->principal && a->host) {
                        c->nacls++;
                        c->metadata_offset++;
                    } else {
                        free(a->name);
                        free(a->principal);
                        free(a->host);
                        msg = "Out of memory";
                    }
                }
            }
            kfs_wr_i16(w, msg ? 42 : 0);
            kfs_wr_str(w, msg);
        }
    }
    free(fs);
    return 0;
}

static int h_describe_acls(const kfs_conn_ctx *ctx, kfs_rd *r, int16_t ver, kfs_wr *w)
{
    kfs_cluster *c = ctx->c;
    acl_filter f;
    read_acl_filter(r, ver, &f);
    if (r->bad) return 0;
    kfs_wr_i32(w, 0);
    if (f.rtype == 0 || f.pattern == 0 || f.op == 0 || f.perm == 0) {
        kfs_wr_i16(w, 42);
        kfs_wr_str(w, "Invalid ACL filter");
        kfs_wr_i32(w, 0);
        return 0;
    }
    kfs_wr_i16(w, 0);
    kfs_wr_str(w, NULL);
    bool *done = calloc((size_t)c->nacls + 1, sizeof *done);
    if (!done) return -1;
    size_t at = kfs_wr_mark(w);
    int nres = 0;
    for (int i = 0; i < c->nacls; i++) {
        kfs_acl *a = &c->acls[i];
        if (done[i] || !acl_matches(&f, a)) continue;
        /* one resource entry per (type, name, pattern), with all its matching ACLs */
        kfs_wr_i8(w, a->rtype);
        kfs_wr_str(w, a->name);
        if (ver >= 1) kfs_wr_i8(w, a->pattern);
        size_t at2 = kfs_wr_mark(w);
        int nacl = 0;
        for (int j = i; j < c->nacls; j++) {
            kfs_acl *b = &c->acls[j];
            if (done[j] || b->rtype != a->rtype || b->pattern != a->pattern || strcmp(b->name, a->name) != 0 ||
                !acl_matches(&f, b))
                continue;
            done[j] = true;
            kfs_wr_str(w, b->principal);
            kfs_wr_str(w, b->host);
            kfs_wr_i8(w, b->op);
            kfs_wr_i8(w, b->perm);
            nacl++;
        }
        kfs_wr_patch(w, at2, nacl);
        nres++;
    }
    kfs_wr_patch(w, at, nres);
    free(done);
    return 0;
}

static int h_delete_acls(const kfs_conn_ctx *ctx, kfs_rd *r, int16_t ver, kfs_wr *w)
{
    kfs_cluster *c = ctx->c;
    int32_t n = kfs_rd_array(r, false, 10);
    acl_filter *fs = n > 0 ? calloc((size_t)n, sizeof *fs) : NULL;
    if (n > 0 && !fs) return -1;
    for (int32_t i = 0; i < n && !r->bad; i++) read_acl_filter(r, ver, &fs[i]);
    if (!r->bad) {
        kfs_wr_i32(w, 0);
        kfs_wr_i32(w, n);
        for (int32_t i = 0; i < n; i++) {
            acl_filter *f = &fs[i];
            bool bad = f->rtype == 0 || f->pattern == 0 || f->op == 0 || f->perm == 0;
            kfs_wr_i16(w, bad ? 42 : 0);
            kfs_wr_str(w, bad ? "Invalid ACL filter" : NULL);
            size_t at = kfs_wr_mark(w);
            int m = 0;
            for (int j = 0; !bad && j < c->nacls;) {
                kfs_acl *a = &c->acls[j];
                if (!acl_matches(f, a)) {
                    j++;
                    continue;
                }
                kfs_wr_i16(w, 0);
                kfs_wr_str(w, NULL);
                kfs_wr_i8(w, a->rtype);
                kfs_wr_str(w, a->name);
                if (ver >= 1) kfs_wr_i8(w, a->pattern);
                kfs_wr_str(w, a->principal);
                kfs_wr_str(w, a->host);
                kfs_wr_i8(w, a->op);
                kfs_wr_i8(w, a->perm);
                m++;
                free(a->name);
                free(a->principal);
                free(a->host);
                memmove(c->acls + j, c->acls + j + 1, (size_t)(c->nacls - j - 1) * sizeof *c->acls);
                c->nacls--;
                c->metadata_offset++;
            }
            kfs_wr_patch(w, at, m);
        }
    }
    free(fs);
    return 0;
}

/* ---- groups: FindCoordinator (10), ListGroups (16), DescribeGroups (15), OffsetFetch (9) ---- */

/* The coordinator of every group is the lowest up broker with this listener. */
static kfs_broker *coordinator(const kfs_conn_ctx *ctx)
{
    kfs_cluster *c = ctx->c;
    for (int i = 0; i < c->nbrokers; i++)
        if (c->brokers[i]->up && kfs_broker_listener(c->brokers[i], ctx->listener)) return c->brokers[i];
    return NULL;
}

static bool is_coordinator(const kfs_conn_ctx *ctx)
{
    kfs_broker *b = coordinator(ctx);
    return b && b->id == ctx->node_id;
}

static int h_find_coordinator(const kfs_conn_ctx *ctx, kfs_rd *r, int16_t ver, kfs_wr *w)
{
    kfs_rd_str(r, false);
    int8_t key_type = ver >= 1 ? kfs_rd_i8(r) : 0;
    if (r->bad) return 0;
    kfs_broker *b = coordinator(ctx);
    kfs_listener *l = b ? kfs_broker_listener(b, ctx->listener) : NULL;
    int err = key_type != 0 && key_type != 1 ? 42 : (l ? 0 : 15);
    if (ver >= 1) kfs_wr_i32(w, 0);
    kfs_wr_i16(w, (int16_t)err);
    if (ver >= 1) kfs_wr_str(w, err ? (err == 15 ? "The coordinator is not available." : "Invalid key type") : NULL);
    kfs_wr_i32(w, err ? -1 : b->id);
    kfs_wr_str(w, err ? "" : l->host);
    kfs_wr_i32(w, err ? -1 : l->bound_port);
    return 0;
}

static int h_list_groups(const kfs_conn_ctx *ctx, kfs_rd *r, int16_t ver, kfs_wr *w)
{
    (void)r;
    kfs_cluster *c = ctx->c;
    if (ver >= 1) kfs_wr_i32(w, 0);
    kfs_wr_i16(w, 0);
    bool mine = is_coordinator(ctx);
    kfs_wr_i32(w, mine ? c->ngroups : 0);
    for (int i = 0; mine && i < c->ngroups; i++) {
        kfs_wr_str(w, c->groups[i]->id);
        kfs_wr_str(w, ""); /* protocol_type: offsets only, no members (a "simple" group) */
    }
    return 0;
}

static int h_describe_groups(const kfs_conn_ctx *ctx, kfs_rd *r, int16_t ver, kfs_wr *w)
{
    int32_t n;
    char **ids = kfs_rd_str_array(r, false, &n);
    if (n > 0 && !ids) return -1;
    if (ver >= 3) kfs_rd_bool(r);
    if (!r->bad) {
        bool mine = is_coordinator(ctx);
        if (ver >= 1) kfs_wr_i32(w, 0);
        kfs_wr_i32(w, n);
        for (int32_t i = 0; i < n; i++) {
            kfs_group *g = kfs_find_group(ctx->c, ids[i]);
            kfs_wr_i16(w, mine ? 0 : 16);
            kfs_wr_str(w, ids[i]);
            kfs_wr_str(w, !mine ? "" : (g ? "Empty" : "Dead"));
            kfs_wr_str(w, "");
            kfs_wr_str(w, "");
            kfs_wr_i32(w, 0); /* members */
            if (ver >= 3) kfs_wr_i32(w, AUTH_OPS_OMITTED);
        }
    }
    free(ids);
    return 0;
}

static void offset_partition(kfs_wr *w, int16_t ver, int partition, long long offset, int16_t err)
{
    kfs_wr_i32(w, partition);
    kfs_wr_i64(w, offset);
    if (ver >= 5) kfs_wr_i32(w, -1); /* committed_leader_epoch */
    kfs_wr_str(w, "");
    kfs_wr_i16(w, err);
}

static long long group_offset(kfs_group *g, const char *topic, int partition)
{
    for (int i = 0; g && i < g->noffs; i++)
        if (g->offs[i].partition == partition && strcmp(g->offs[i].topic, topic) == 0) return g->offs[i].offset;
    return -1;
}

static int h_offset_fetch(const kfs_conn_ctx *ctx, kfs_rd *r, int16_t ver, kfs_wr *w)
{
    char *gid = kfs_rd_str(r, false);
    int32_t nt = kfs_rd_array(r, ver >= 2, 6);
    typedef struct req_t {
        char *name;
        int32_t *parts;
        int32_t n;
    } req_t;
    req_t *ts = nt > 0 ? calloc((size_t)nt, sizeof *ts) : NULL;
    if (nt > 0 && !ts) return -1;
    for (int32_t i = 0; i < nt && !r->bad; i++) {
        ts[i].name = kfs_rd_str(r, false);
        ts[i].n = kfs_rd_array(r, false, 4);
        if (ts[i].n > 0 && !(ts[i].parts = calloc((size_t)ts[i].n, sizeof(int32_t)))) r->bad = true;
        for (int32_t j = 0; j < ts[i].n && !r->bad; j++) ts[i].parts[j] = kfs_rd_i32(r);
    }
    if (!r->bad) {
        bool mine = is_coordinator(ctx);
        int16_t perr = mine || ver >= 2 ? 0 : 16;
        kfs_group *g = mine ? kfs_find_group(ctx->c, gid) : NULL;
        if (ver >= 3) kfs_wr_i32(w, 0);
        if (ver >= 2 && !mine) {
            kfs_wr_i32(w, 0);
        } else if (nt >= 0) {
            kfs_wr_i32(w, nt);
            for (int32_t i = 0; i < nt; i++) {
                kfs_wr_str(w, ts[i].name);
                kfs_wr_i32(w, ts[i].n);
                for (int32_t j = 0; j < ts[i].n; j++)
                    offset_partition(w, ver, ts[i].parts[j], group_offset(g, ts[i].name, ts[i].parts[j]), perr);
            }
        } else {
            /* all committed offsets of the group, grouped by topic */
            size_t at = kfs_wr_mark(w);
            int ntop = 0;
            for (int i = 0; g && i < g->noffs; i++) {
                bool seen = false;
                for (int k = 0; k < i; k++)
                    if (strcmp(g->offs[k].topic, g->offs[i].topic) == 0) seen = true;
                if (seen) continue;
                kfs_wr_str(w, g->offs[i].topic);
                size_t at2 = kfs_wr_mark(w);
                int np = 0;
                for (int k = i; k < g->noffs; k++)
                    if (strcmp(g->offs[k].topic, g->offs[i].topic) == 0) {
                        offset_partition(w, ver, g->offs[k].partition, g->offs[k].offset, 0);
                        np++;
                    }
                kfs_wr_patch(w, at2, np);
                ntop++;
            }
            kfs_wr_patch(w, at, ntop);
        }
        if (ver >= 2) kfs_wr_i16(w, mine ? 0 : 16);
    }
    for (int32_t i = 0; i < nt; i++) free(ts[i].parts);
    free(ts);
    return 0;
}

/* ---- ListOffsets (2) v0-v5 ---- */

static int h_list_offsets(const kfs_conn_ctx *ctx, kfs_rd *r, int16_t ver, kfs_wr *w)
{
    kfs_rd_i32(r); /* replica_id */
    if (ver >= 2) kfs_rd_i8(r);
    int32_t nt = kfs_rd_array(r, false, 6);
    size_t start = w->len;
    if (ver >= 2) kfs_wr_i32(w, 0);
    kfs_wr_i32(w, nt);
    for (int32_t i = 0; i < nt && !r->bad; i++) {
        char *name = kfs_rd_str(r, false);
        kfs_topic *t = kfs_find_topic(ctx->c, name);
        int32_t np = kfs_rd_array(r, false, 12);
        kfs_wr_str(w, name);
        kfs_wr_i32(w, np);
        for (int32_t j = 0; j < np && !r->bad; j++) {
            int32_t pi = kfs_rd_i32(r);
            if (ver >= 4) kfs_rd_i32(r); /* current_leader_epoch */
            int64_t ts = kfs_rd_i64(r);
            if (ver == 0) kfs_rd_i32(r); /* max_num_offsets */
            kfs_partition *p = t && pi >= 0 && pi < t->nparts ? &t->parts[pi] : NULL;
            int16_t err = !p ? 3 : (p->leader < 0 ? 5 : (p->leader != ctx->node_id ? 6 : 0));
            long long off = -1, rts = -1;
            if (!err && ts == -2) off = 0;
            else if (!err && ts == -1) off = p->end_offset;
            kfs_wr_i32(w, pi);
            kfs_wr_i16(w, err);
            if (ver == 0) {
                kfs_wr_i32(w, off >= 0 ? 1 : 0);
                if (off >= 0) kfs_wr_i64(w, off);
            } else {
                kfs_wr_i64(w, rts);
                kfs_wr_i64(w, off);
                if (ver >= 4) kfs_wr_i32(w, p ? p->epoch : -1);
            }
        }
    }
    if (r->bad) w->len = start;
    return 0;
}

/* ---- dispatch ---- */

static const kfs_api apis[] = {
    {2, 0, 5, h_list_offsets},
    {3, 0, 8, h_metadata},
    {9, 0, 5, h_offset_fetch},
    {10, 0, 2, h_find_coordinator},
    {15, 0, 4, h_describe_groups},
    {16, 0, 2, h_list_groups},
    {18, 0, 2, h_api_versions},
    {19, 0, 4, h_create_topics},
    {20, 0, 3, h_delete_topics},
    {29, 0, 1, h_describe_acls},
    {30, 0, 1, h_create_acls},
    {31, 0, 1, h_delete_acls},
    {32, 0, 3, h_describe_configs},
    {33, 0, 1, h_alter_configs},
    {37, 0, 1, h_create_partitions},
};

static const kfs_api *find_api(int16_t key)
{
    for (size_t i = 0; i < sizeof apis / sizeof apis[0]; i++)
        if (apis[i].key == key) return &apis[i];
    return NULL;
}

static void write_api_list(kfs_wr *w)
{
    kfs_wr_i32(w, (int32_t)(sizeof apis / sizeof apis[0]));
    for (size_t i = 0; i < sizeof apis / sizeof apis[0]; i++) {
        kfs_wr_i16(w, apis[i].key);
        kfs_wr_i16(w, apis[i].min);
        kfs_wr_i16(w, apis[i].max);
    }
}

int kfs_handle_request(const kfs_conn_ctx *ctx, const uint8_t *frame, size_t len, kfs_wr *out)
{
    kfs_rd r;
    kfs_rd_init(&r, frame, len);
    int16_t key = kfs_rd_i16(&r), ver = kfs_rd_i16(&r);
    int32_t corr = kfs_rd_i32(&r);
    kfs_rd_str(&r, true); /* client_id */
    const kfs_api *api = find_api(key);
    size_t start = out->len;
    int rc = -1;
    if (r.bad || !api || ver < 0) goto done;
    kfs_model_tick(ctx->c, kfs_now_ms());
    size_t at = kfs_wr_mark(out);
    kfs_wr_i32(out, corr);
    if (key == 18 && ver > api->max) {
        /* Kafka answers an ApiVersions it cannot parse in the v0 format. */
        kfs_wr_i16(out, 35);
        write_api_list(out);
        rc = 0;
    } else if (ver >= api->min && ver <= api->max) {
        rc = api->fn(ctx, &r, ver, out);
        if (r.bad) rc = -1;
    }
    if (rc == 0) kfs_wr_patch(out, at, (int32_t)(out->len - at - 4));
done:
    if (rc != 0) out->len = start;
    kfs_rd_free(&r);
    return rc;
}
