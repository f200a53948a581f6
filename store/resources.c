/* resources.c — tenants, data planes and clusters (versioned rows), and
 * the aggregates over clusters (usage, counts per data plane and phase). */
#define _GNU_SOURCE
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- versioned resources ------------------------------------------------ */

/* SQL per kind. Columns 0..9 are common; clusters add 10..13; data planes 10. */
#define RES_COLS "seq, id, tenant_id, name, spec, status, generation, resource_version, created_at, updated_at"

static const char *SQL_GET[K__COUNT] = {
    "SELECT " RES_COLS " FROM tenants WHERE id=?1 AND (?2 IS NULL OR tenant_id=?2)",
    "SELECT " RES_COLS ", secret FROM data_planes WHERE id=?1 AND (?2 IS NULL OR tenant_id=?2)",
    "SELECT " RES_COLS ", brokers, storage_gib, data_plane_id, phase FROM clusters WHERE id=?1 AND (?2 IS NULL OR tenant_id=?2)",
};
/* Two statements per kind so each uses its index: all rows by seq, or one
 * tenant's rows by (tenant_id, seq). */
static const char *SQL_LIST[K__COUNT] = {
    "SELECT " RES_COLS " FROM tenants WHERE seq>?1 ORDER BY seq LIMIT ?3",
    "SELECT " RES_COLS ", secret FROM data_planes WHERE seq>?1 ORDER BY seq LIMIT ?3",
    "SELECT " RES_COLS ", brokers, storage_gib, data_plane_id, phase FROM clusters WHERE seq>?1 ORDER BY seq LIMIT ?3",
};
static const char *SQL_LIST_SCOPED[K__COUNT] = {
    "SELECT " RES_COLS " FROM tenants WHERE tenant_id=?2 AND seq>?1 ORDER BY seq LIMIT ?3",
    "SELECT " RES_COLS ", secret FROM data_planes WHERE tenant_id=?2 AND seq>?1 ORDER BY seq LIMIT ?3",
    "SELECT " RES_COLS ", brokers, storage_gib, data_plane_id, phase FROM clusters"
    " WHERE tenant_id=?2 AND seq>?1 ORDER BY seq LIMIT ?3",
};
static const char *SQL_INSERT[K__COUNT] = {
    "INSERT INTO tenants(id, tenant_id, name, spec, status, generation, resource_version, created_at, updated_at)"
    " VALUES(?1,?2,?3,?4,?5,?6,1,?7,?7)",
    "INSERT INTO data_planes(id, tenant_id, name, spec, status, generation, resource_version, created_at, updated_at, secret)"
    " VALUES(?1,?2,?3,?4,?5,?6,1,?7,?7,?8)",
    "INSERT INTO clusters(id, tenant_id, name, spec, status, generation, resource_version, created_at, updated_at,"
    " brokers, storage_gib, data_plane_id, phase) VALUES(?1,?2,?3,?4,?5,?6,1,?7,?7,?8,?9,?10,?11)",
};
static const char *SQL_UPDATE[K__COUNT] = {
    "UPDATE tenants SET spec=?2, status=?3, generation=?4, resource_version=resource_version+1,"
    " updated_at=?5, name=?6 WHERE id=?1 AND (?7 = 0 OR resource_version=?7)",
    "UPDATE data_planes SET spec=?2, status=?3, generation=?4, resource_version=resource_version+1,"
    " updated_at=?5, name=?6, secret=?8 WHERE id=?1 AND (?7 = 0 OR resource_version=?7)",
    "UPDATE clusters SET spec=?2, status=?3, generation=?4, resource_version=resource_version+1,"
    " updated_at=?5, name=?6, brokers=?8, storage_gib=?9, data_plane_id=?10, phase=?11"
    " WHERE id=?1 AND (?7 = 0 OR resource_version=?7)",
};
static const char *SQL_DELETE[K__COUNT] = {
    "DELETE FROM tenants WHERE id=?1",
    "DELETE FROM data_planes WHERE id=?1",
    "DELETE FROM clusters WHERE id=?1",
};
static const char *SQL_RV[K__COUNT] = {
    "SELECT resource_version, updated_at FROM tenants WHERE id=?1",
    "SELECT resource_version, updated_at FROM data_planes WHERE id=?1",
    "SELECT resource_version, updated_at FROM clusters WHERE id=?1",
};

void store_res_clear(store_res *r)
{
    json_decref(r->spec);
    json_decref(r->status);
    free(r->secret);
    memset(r, 0, sizeof *r);
}

void store_res_free_list(store_res *list, int n)
{
    for (int i = 0; i < n; i++) store_res_clear(&list[i]);
    free(list);
}

static void res_read(sqlite3_stmt *s, store_kind k, store_res *r)
{
    memset(r, 0, sizeof *r);
    r->seq = sqlite3_column_int64(s, 0);
    db_col_copy(s, 1, r->id, sizeof r->id);
    db_col_copy(s, 2, r->tenant_id, sizeof r->tenant_id);
    db_col_copy(s, 3, r->name, sizeof r->name);
    r->spec = db_col_json(s, 4);
    r->status = db_col_json(s, 5);
    if (!r->spec) r->spec = json_object();
    if (!r->status) r->status = json_object();
    r->generation = sqlite3_column_int64(s, 6);
    r->resource_version = sqlite3_column_int64(s, 7);
    db_col_copy(s, 8, r->created_at, sizeof r->created_at);
    db_col_copy(s, 9, r->updated_at, sizeof r->updated_at);
    if (k == K_CLUSTER) {
        r->brokers = sqlite3_column_int64(s, 10);
        r->storage_gib = sqlite3_column_int64(s, 11);
        db_col_copy(s, 12, r->data_plane_id, sizeof r->data_plane_id);
        db_col_copy(s, 13, r->phase, sizeof r->phase);
    } else if (k == K_DATA_PLANE) {
        int n = sqlite3_column_bytes(s, 10);
        const void *b = sqlite3_column_blob(s, 10);
        if (b && n > 0) {
            r->secret = malloc((size_t)n);
            if (r->secret) { memcpy(r->secret, b, (size_t)n); r->secret_len = (size_t)n; }
        }
    }
}

int store_res_get(store_t *st, store_kind k, const char *id, const char *scope, store_res *out)
{
    sqlite3_stmt *s = db_prep(st, SQL_GET[k]);
    if (!s) return ST_ERROR;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    db_bind_opt_text(s, 2, scope);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) { res_read(s, k, out); sqlite3_reset(s); return ST_OK; }
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? ST_NOTFOUND : db_rc(rc);
}

int store_res_list(store_t *st, store_kind k, const char *scope, int64_t after, int limit,
                   store_res **out, int *n)
{
    *out = NULL; *n = 0;
    sqlite3_stmt *s = db_prep(st, scope ? SQL_LIST_SCOPED[k] : SQL_LIST[k]);
    if (!s) return ST_ERROR;
    sqlite3_bind_int64(s, 1, after);
    if (scope) sqlite3_bind_text(s, 2, scope, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 3, limit);
    store_res *list = calloc((size_t)(limit > 0 ? limit : 1), sizeof *list);
    if (!list) { sqlite3_reset(s); return ST_ERROR; }
    int rc = SQLITE_ROW, i = 0;
    while (i < limit && (rc = db_step(st, s)) == SQLITE_ROW) res_read(s, k, &list[i++]);
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {   /* failed part way: no short page marked OK */
        store_res_free_list(list, i);
        return db_rc(rc);
    }
    *out = list; *n = i;
    return ST_OK;
}

/* The columns only some kinds have, bound at 8 and on by insert and update
 * alike: a data plane's sealed credentials, a cluster's size, placement and
 * phase. */
static void bind_kind_columns(sqlite3_stmt *s, store_kind k, const store_res *r)
{
    if (k == K_DATA_PLANE) {
        if (r->secret) sqlite3_bind_blob(s, 8, r->secret, (int)r->secret_len, SQLITE_STATIC);
    } else if (k == K_CLUSTER) {
        sqlite3_bind_int64(s, 8, r->brokers);
        sqlite3_bind_int64(s, 9, r->storage_gib);
        db_bind_opt_text(s, 10, r->data_plane_id);
        sqlite3_bind_text(s, 11, r->phase, -1, SQLITE_STATIC);
    }
}

int store_res_insert(store_t *st, store_kind k, store_res *r)
{
    sqlite3_stmt *s = db_prep(st, SQL_INSERT[k]);
    if (!s) return ST_ERROR;
    sqlite3_bind_text(s, 1, r->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, r->tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, r->name, -1, SQLITE_STATIC);
    db_bind_json(s, 4, r->spec);
    db_bind_json(s, 5, r->status ? r->status : json_object());
    sqlite3_bind_int64(s, 6, r->generation);
    sqlite3_bind_text(s, 7, r->created_at, -1, SQLITE_STATIC);
    bind_kind_columns(s, k, r);
    int rc = db_step_done(st, s);
    if (rc != ST_OK) return rc;
    conn *c = db_conn(st);
    r->seq = sqlite3_last_insert_rowid(c->db);
    r->resource_version = 1;
    snprintf(r->updated_at, sizeof r->updated_at, "%s", r->created_at);
    return ST_OK;
}

int store_res_update(store_t *st, store_kind k, store_res *r, int64_t expect_rv)
{
    char now[SP_TS_MAX];
    sp_now_rfc3339(now);
    sqlite3_stmt *s = db_prep(st, SQL_UPDATE[k]);
    if (!s) return ST_ERROR;
    sqlite3_bind_text(s, 1, r->id, -1, SQLITE_STATIC);
    db_bind_json(s, 2, r->spec);
    db_bind_json(s, 3, r->status);
    sqlite3_bind_int64(s, 4, r->generation);
    sqlite3_bind_text(s, 5, now, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 6, r->name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 7, expect_rv);
    bind_kind_columns(s, k, r);
    int rc = db_step_done(st, s);
    if (rc != ST_OK) return rc;
    if (db_changes(st) == 0) {
        store_res probe;
        int g = store_res_get(st, k, r->id, NULL, &probe);
        if (g == ST_OK) { store_res_clear(&probe); return ST_STALE; }
        return g;
    }
    /* read back the new version */
    s = db_prep(st, SQL_RV[k]);
    if (!s) return ST_ERROR;
    sqlite3_bind_text(s, 1, r->id, -1, SQLITE_STATIC);
    if (sqlite3_step(s) == SQLITE_ROW) {
        r->resource_version = sqlite3_column_int64(s, 0);
        db_col_copy(s, 1, r->updated_at, sizeof r->updated_at);
    }
    sqlite3_reset(s);
    return ST_OK;
}

int store_res_delete(store_t *st, store_kind k, const char *id)
{
    sqlite3_stmt *s = db_prep(st, SQL_DELETE[k]);
    if (!s) return ST_ERROR;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    int rc = db_step_done(st, s);
    if (rc != ST_OK) return rc;
    return db_changes(st) ? ST_OK : ST_NOTFOUND;
}

/* ---- aggregates --------------------------------------------------------- */

int store_tenant_usage(store_t *st, const char *tenant_id, int64_t *clusters,
                       int64_t *brokers, int64_t *storage)
{
    *clusters = *brokers = *storage = 0;
    sqlite3_stmt *s = db_prep(st, "SELECT clusters, brokers, storage_gib FROM tenant_usage WHERE tenant_id=?1");
    if (!s) return ST_ERROR;
    sqlite3_bind_text(s, 1, tenant_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *clusters = sqlite3_column_int64(s, 0);
        *brokers = sqlite3_column_int64(s, 1);
        *storage = sqlite3_column_int64(s, 2);
    }
    sqlite3_reset(s);
    return rc == SQLITE_ROW ? ST_OK : db_rc(rc);
}

int store_count_tenant_clusters(store_t *st, const char *tenant_id, int64_t *n)
{
    int64_t b, g;
    return store_tenant_usage(st, tenant_id, n, &b, &g);
}

int store_count_clusters_on_plane(store_t *st, const char *plane, int64_t *n, int64_t *brokers)
{
    sqlite3_stmt *s = db_prep(st, "SELECT count(*), coalesce(sum(brokers),0) FROM clusters WHERE data_plane_id=?1");
    if (!s) return ST_ERROR;
    sqlite3_bind_text(s, 1, plane, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) { *n = sqlite3_column_int64(s, 0); *brokers = sqlite3_column_int64(s, 1); }
    sqlite3_reset(s);
    return rc == SQLITE_ROW ? ST_OK : db_rc(rc);
}

int store_cluster_phase_counts(store_t *st, void (*cb)(const char *, int64_t, void *), void *arg)
{
    sqlite3_stmt *s = db_prep(st, "SELECT phase, count(*) FROM clusters GROUP BY phase ORDER BY phase");
    if (!s) return ST_ERROR;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        cb((const char *)sqlite3_column_text(s, 0), sqlite3_column_int64(s, 1), arg);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? ST_OK : db_rc(rc);
}

int store_cluster_ids(store_t *st, void (*cb)(void *arg, const char *cluster_id), void *arg)
{
    sqlite3_stmt *s = db_prep(st, "SELECT id FROM clusters ORDER BY seq");
    if (!s) return ST_ERROR;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) cb(arg, (const char *)sqlite3_column_text(s, 0));
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? ST_OK : db_rc(rc);
}
