/* operations.c — the operations table. */
#define _GNU_SOURCE
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- operations --------------------------------------------------------- */

#define OP_COLS "seq, id, cluster_id, tenant_id, type, state, progress_percent, target_generation, steps, error, created_at, updated_at, changes, spec_before, plan"

void store_op_clear(store_op *o)
{
    json_decref(o->steps);
    json_decref(o->error);
    json_decref(o->changes);
    json_decref(o->spec_before);
    json_decref(o->plan);
    memset(o, 0, sizeof *o);
}

void store_op_free_list(store_op *list, int n)
{
    for (int i = 0; i < n; i++) store_op_clear(&list[i]);
    free(list);
}

static void op_read(sqlite3_stmt *s, store_op *o)
{
    memset(o, 0, sizeof *o);
    o->seq = sqlite3_column_int64(s, 0);
    db_col_copy(s, 1, o->id, sizeof o->id);
    db_col_copy(s, 2, o->cluster_id, sizeof o->cluster_id);
    db_col_copy(s, 3, o->tenant_id, sizeof o->tenant_id);
    db_col_copy(s, 4, o->type, sizeof o->type);
    db_col_copy(s, 5, o->state, sizeof o->state);
    o->progress_percent = sqlite3_column_int(s, 6);
    o->target_generation = sqlite3_column_int64(s, 7);
    o->steps = db_col_json(s, 8);
    if (!o->steps) o->steps = json_array();
    o->error = db_col_json(s, 9);
    db_col_copy(s, 10, o->created_at, sizeof o->created_at);
    db_col_copy(s, 11, o->updated_at, sizeof o->updated_at);
    o->changes = db_col_json(s, 12);
    if (!o->changes) o->changes = json_object();
    o->spec_before = db_col_json(s, 13);
    o->plan = db_col_json(s, 14);
}

int store_op_insert(store_t *st, store_op *o)
{
    sqlite3_stmt *s = db_prep(st, "INSERT INTO operations(id, cluster_id, tenant_id, type, state,"
                               " progress_percent, target_generation, steps, error, created_at, updated_at,"
                               " changes, spec_before, plan) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?10,?11,?12,?13)");
    if (!s) return ST_ERROR;
    sqlite3_bind_text(s, 1, o->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, o->cluster_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, o->tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, o->type, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, o->state, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 6, o->progress_percent);
    sqlite3_bind_int64(s, 7, o->target_generation);
    /* absent steps and changes are stored as empty ones (no temporary
     * JSON values: each of those leaked a value per insert) */
    if (o->steps) db_bind_json(s, 8, o->steps);
    else sqlite3_bind_text(s, 8, "[]", -1, SQLITE_STATIC);
    db_bind_json(s, 9, o->error);
    sqlite3_bind_text(s, 10, o->created_at, -1, SQLITE_STATIC);
    if (o->changes) db_bind_json(s, 11, o->changes);
    else sqlite3_bind_text(s, 11, "{}", -1, SQLITE_STATIC);
    db_bind_json(s, 12, o->spec_before);
    db_bind_json(s, 13, o->plan);
    int rc = db_step_done(st, s);
    if (rc == ST_OK) {
        o->seq = sqlite3_last_insert_rowid(db_conn(st)->db);
        snprintf(o->updated_at, sizeof o->updated_at, "%s", o->created_at);
    }
    return rc;
}

int store_op_get(store_t *st, const char *id, const char *scope, store_op *out)
{
    sqlite3_stmt *s = db_prep(st, "SELECT " OP_COLS " FROM operations WHERE id=?1 AND (?2 IS NULL OR tenant_id=?2)");
    if (!s) return ST_ERROR;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    db_bind_opt_text(s, 2, scope);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) { op_read(s, out); sqlite3_reset(s); return ST_OK; }
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? ST_NOTFOUND : db_rc(rc);
}

int store_op_list(store_t *st, const char *scope, const char *cluster_id, int64_t after,
                  int limit, store_op **out, int *n)
{
    *out = NULL; *n = 0;
    /* pick the statement whose index fits the filter */
    const char *sql =
        cluster_id ? "SELECT " OP_COLS " FROM operations WHERE cluster_id=?3 AND seq>?1"
                     " AND (?2 IS NULL OR tenant_id=?2) ORDER BY seq LIMIT ?4"
        : scope    ? "SELECT " OP_COLS " FROM operations WHERE tenant_id=?2 AND seq>?1"
                     " AND ?3 IS NULL ORDER BY seq LIMIT ?4"
                   : "SELECT " OP_COLS " FROM operations WHERE seq>?1 AND ?2 IS NULL AND ?3 IS NULL"
                     " ORDER BY seq LIMIT ?4";
    sqlite3_stmt *s = db_prep(st, sql);
    if (!s) return ST_ERROR;
    sqlite3_bind_int64(s, 1, after);
    db_bind_opt_text(s, 2, scope);
    db_bind_opt_text(s, 3, cluster_id);
    sqlite3_bind_int(s, 4, limit);
    store_op *list = calloc((size_t)(limit > 0 ? limit : 1), sizeof *list);
    if (!list) { sqlite3_reset(s); return ST_ERROR; }
    int rc = SQLITE_ROW, i = 0;
    while (i < limit && (rc = db_step(st, s)) == SQLITE_ROW) op_read(s, &list[i++]);
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {   /* failed part way: no short page marked OK */
        store_op_free_list(list, i);
        return db_rc(rc);
    }
    *out = list; *n = i;
    return ST_OK;
}

int store_op_list_active(store_t *st, const char *cluster_id, int64_t max_gen, int limit, store_op **out, int *n)
{
    *out = NULL; *n = 0;
    sqlite3_stmt *s = db_prep(st, "SELECT " OP_COLS " FROM operations WHERE cluster_id=?1"
                                  " AND state IN ('PENDING','RUNNING') AND (?2=0 OR target_generation<=?2)"
                                  " ORDER BY seq LIMIT ?3");
    if (!s) return ST_ERROR;
    sqlite3_bind_text(s, 1, cluster_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, max_gen);
    sqlite3_bind_int(s, 3, limit);
    store_op *list = calloc((size_t)(limit > 0 ? limit : 1), sizeof *list);
    if (!list) { sqlite3_reset(s); return ST_ERROR; }
    int rc = SQLITE_ROW, i = 0;
    while (i < limit && (rc = db_step(st, s)) == SQLITE_ROW) op_read(s, &list[i++]);
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        store_op_free_list(list, i);
        return db_rc(rc);
    }
    *out = list; *n = i;
    return ST_OK;
}

int store_op_update(store_t *st, store_op *o)
{
    char now[SP_TS_MAX];
    sp_now_rfc3339(now);
    sqlite3_stmt *s = db_prep(st, "UPDATE operations SET state=?2, progress_percent=?3, steps=?4,"
                               " error=?5, updated_at=?6, plan=?7 WHERE id=?1");
    if (!s) return ST_ERROR;
    sqlite3_bind_text(s, 1, o->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, o->state, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 3, o->progress_percent);
    if (o->steps) db_bind_json(s, 4, o->steps);
    else sqlite3_bind_text(s, 4, "[]", -1, SQLITE_STATIC);
    db_bind_json(s, 5, o->error);
    sqlite3_bind_text(s, 6, now, -1, SQLITE_STATIC);
    db_bind_json(s, 7, o->plan);
    int rc = db_step_done(st, s);
    if (rc != ST_OK) return rc;
    if (!db_changes(st)) return ST_NOTFOUND;
    snprintf(o->updated_at, sizeof o->updated_at, "%s", now);
    return ST_OK;
}

int store_op_current(store_t *st, const char *cluster_id, char out[SP_ID_MAX])
{
    out[0] = 0;
    sqlite3_stmt *s = db_prep(st, "SELECT id FROM operations WHERE cluster_id=?1"
                               " AND state IN ('PENDING','RUNNING') ORDER BY seq LIMIT 1");
    if (!s) return ST_ERROR;
    sqlite3_bind_text(s, 1, cluster_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) db_col_copy(s, 0, out, SP_ID_MAX);
    sqlite3_reset(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? ST_OK : db_rc(rc);
}

int store_op_later_active(store_t *st, const char *cluster_id, int64_t seq, char out[SP_ID_MAX])
{
    out[0] = 0;
    sqlite3_stmt *s = db_prep(st, "SELECT id FROM operations WHERE cluster_id=?1 AND seq>?2"
                               " AND state IN ('PENDING','RUNNING') ORDER BY seq DESC LIMIT 1");
    if (!s) return ST_ERROR;
    sqlite3_bind_text(s, 1, cluster_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, seq);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) db_col_copy(s, 0, out, SP_ID_MAX);
    sqlite3_reset(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? ST_OK : db_rc(rc);
}

int store_clusters_with_active_ops(store_t *st, void (*cb)(void *arg, const char *cluster_id), void *arg)
{
    sqlite3_stmt *s = db_prep(st, "SELECT DISTINCT cluster_id FROM operations WHERE state IN ('PENDING','RUNNING')");
    if (!s) return ST_ERROR;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) cb(arg, (const char *)sqlite3_column_text(s, 0));
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? ST_OK : db_rc(rc);
}

int store_op_supersede_active(store_t *st, const char *cluster_id, const char *message)
{
    char now[SP_TS_MAX];
    sp_now_rfc3339(now);
    sqlite3_stmt *s = db_prep(st, "UPDATE operations SET state='CANCELLED', updated_at=?2,"
                               " error=json_object('code','SUPERSEDED','message',?3)"
                               " WHERE cluster_id=?1 AND state IN ('PENDING','RUNNING')");
    if (!s) return ST_ERROR;
    sqlite3_bind_text(s, 1, cluster_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, now, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, message, -1, SQLITE_STATIC);
    return db_step_done(st, s);
}
