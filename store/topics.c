/* topics.c — see topics.h. */
#define _GNU_SOURCE
#include "internal.h"
#include "topics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOPIC_COLS "seq, cluster_id, tenant_id, name, spec, status, partitions, replication_factor, phase," \
                   " generation, resource_version, created_at, updated_at"

void store_topic_clear(store_topic *t)
{
    json_decref(t->spec);
    json_decref(t->status);
    memset(t, 0, sizeof *t);
}

void store_topic_free_list(store_topic *list, int n)
{
    for (int i = 0; i < n; i++) store_topic_clear(&list[i]);
    free(list);
}

static void topic_read(sqlite3_stmt *s, store_topic *t)
{
    memset(t, 0, sizeof *t);
    t->seq = sqlite3_column_int64(s, 0);
    db_col_copy(s, 1, t->cluster_id, sizeof t->cluster_id);
    db_col_copy(s, 2, t->tenant_id, sizeof t->tenant_id);
    db_col_copy(s, 3, t->name, sizeof t->name);
    t->spec = db_col_json(s, 4);
    t->status = db_col_json(s, 5);
    if (!t->spec) t->spec = json_object();
    if (!t->status) t->status = json_object();
    t->partitions = sqlite3_column_int64(s, 6);
    t->replication_factor = sqlite3_column_int64(s, 7);
    db_col_copy(s, 8, t->phase, sizeof t->phase);
    t->generation = sqlite3_column_int64(s, 9);
    t->resource_version = sqlite3_column_int64(s, 10);
    db_col_copy(s, 11, t->created_at, sizeof t->created_at);
    db_col_copy(s, 12, t->updated_at, sizeof t->updated_at);
}

int store_topic_insert(store_t *st, store_topic *t)
{
    sqlite3_stmt *s = db_prep(st, "INSERT INTO topics(cluster_id, tenant_id, name, spec, status, partitions,"
                                  " replication_factor, phase, generation, resource_version, created_at, updated_at)"
                                  " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,1,?10,?10)");
    if (!s) return ST_ERROR;
    sqlite3_bind_text(s, 1, t->cluster_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, t->tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, t->name, -1, SQLITE_STATIC);
    db_bind_json(s, 4, t->spec);
    db_bind_json(s, 5, t->status ? t->status : json_object());
    sqlite3_bind_int64(s, 6, t->partitions);
    sqlite3_bind_int64(s, 7, t->replication_factor);
    sqlite3_bind_text(s, 8, t->phase, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 9, t->generation);
    sqlite3_bind_text(s, 10, t->created_at, -1, SQLITE_STATIC);
    int rc = db_step_done(st, s);
    if (rc != ST_OK) return rc;
    t->seq = sqlite3_last_insert_rowid(db_conn(st)->db);
    t->resource_version = 1;
    snprintf(t->updated_at, sizeof t->updated_at, "%s", t->created_at);
    return ST_OK;
}

int store_topic_get(store_t *st, const char *cluster_id, const char *name, store_topic *out)
{
    sqlite3_stmt *s = db_prep(st, "SELECT " TOPIC_COLS " FROM topics WHERE cluster_id=?1 AND name=?2"
                                  " ORDER BY phase = 'DELETING', seq DESC LIMIT 1");
    if (!s) return ST_ERROR;
    sqlite3_bind_text(s, 1, cluster_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
    int rc = db_step(st, s);
    if (rc == SQLITE_ROW) { topic_read(s, out); sqlite3_reset(s); return ST_OK; }
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? ST_NOTFOUND : db_rc(rc);
}

int store_topic_list(store_t *st, const char *cluster_id, int64_t after, int limit, store_topic **out, int *n)
{
    *out = NULL; *n = 0;
    sqlite3_stmt *s = db_prep(st, "SELECT " TOPIC_COLS " FROM topics WHERE cluster_id=?1 AND seq>?2"
                                  " ORDER BY seq LIMIT ?3");
    if (!s) return ST_ERROR;
    sqlite3_bind_text(s, 1, cluster_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, after);
    sqlite3_bind_int(s, 3, limit);
    store_topic *list = calloc((size_t)(limit > 0 ? limit : 1), sizeof *list);
    if (!list) { sqlite3_reset(s); return ST_ERROR; }
    int rc = SQLITE_ROW, i = 0;
    while (i < limit && (rc = db_step(st, s)) == SQLITE_ROW) topic_read(s, &list[i++]);
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {   /* failed part way: no short page marked OK */
        store_topic_free_list(list, i);
        return db_rc(rc);
    }
    *out = list; *n = i;
    return ST_OK;
}

int store_topic_update(store_t *st, store_topic *t, int64_t expect_rv)
{
    char now[SP_TS_MAX];
    sp_now_rfc3339(now);
    sqlite3_stmt *s = db_prep(st, "UPDATE topics SET spec=?2, status=?3, partitions=?4, replication_factor=?5,"
                                  " phase=?6, generation=?7, resource_version=resource_version+1, updated_at=?8"
                                  " WHERE seq=?1 AND (?9 = 0 OR resource_version=?9)");
    if (!s) return ST_ERROR;
    sqlite3_bind_int64(s, 1, t->seq);
    db_bind_json(s, 2, t->spec);
    db_bind_json(s, 3, t->status);
    sqlite3_bind_int64(s, 4, t->partitions);
    sqlite3_bind_int64(s, 5, t->replication_factor);
    sqlite3_bind_text(s, 6, t->phase, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 7, t->generation);
    sqlite3_bind_text(s, 8, now, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 9, expect_rv);
    int rc = db_step_done(st, s);
    if (rc != ST_OK) return rc;
    if (db_changes(st) == 0) {
        s = db_prep(st, "SELECT 1 FROM topics WHERE seq=?1");
        if (!s) return ST_ERROR;
        sqlite3_bind_int64(s, 1, t->seq);
        int x = db_step(st, s);
        sqlite3_reset(s);
        return x == SQLITE_ROW ? ST_STALE : x == SQLITE_DONE ? ST_NOTFOUND : db_rc(x);
    }
    t->resource_version = expect_rv > 0 ? expect_rv + 1 : t->resource_version + 1;
    s = db_prep(st, "SELECT resource_version FROM topics WHERE seq=?1");
    if (!s) return ST_ERROR;
    sqlite3_bind_int64(s, 1, t->seq);
    if (db_step(st, s) == SQLITE_ROW) t->resource_version = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    snprintf(t->updated_at, sizeof t->updated_at, "%s", now);
    return ST_OK;
}

int store_topic_delete(store_t *st, int64_t seq)
{
    sqlite3_stmt *s = db_prep(st, "DELETE FROM topics WHERE seq=?1");
    if (!s) return ST_ERROR;
    sqlite3_bind_int64(s, 1, seq);
    int rc = db_step_done(st, s);
    if (rc != ST_OK) return rc;
    return db_changes(st) ? ST_OK : ST_NOTFOUND;
}

int store_topic_usage(store_t *st, const char *tenant_id, int64_t *topics, int64_t *partitions)
{
    *topics = *partitions = 0;
    sqlite3_stmt *s = db_prep(st, "SELECT count(*), coalesce(sum(partitions), 0) FROM topics"
                                  " WHERE tenant_id=?1 AND phase <> 'DELETING'");
    if (!s) return ST_ERROR;
    sqlite3_bind_text(s, 1, tenant_id, -1, SQLITE_STATIC);
    int rc = db_step(st, s);
    if (rc == SQLITE_ROW) { *topics = sqlite3_column_int64(s, 0); *partitions = sqlite3_column_int64(s, 1); }
    sqlite3_reset(s);
    return rc == SQLITE_ROW ? ST_OK : db_rc(rc);
}

int store_topic_max_rf(store_t *st, const char *cluster_id, int64_t *rf)
{
    *rf = 0;
    sqlite3_stmt *s = db_prep(st, "SELECT coalesce(max(replication_factor), 0) FROM topics"
                                  " WHERE cluster_id=?1 AND phase <> 'DELETING'");
    if (!s) return ST_ERROR;
    sqlite3_bind_text(s, 1, cluster_id, -1, SQLITE_STATIC);
    int rc = db_step(st, s);
    if (rc == SQLITE_ROW) *rf = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return rc == SQLITE_ROW ? ST_OK : db_rc(rc);
}

int store_topic_cluster_ids(store_t *st, void (*cb)(void *arg, const char *cluster_id), void *arg)
{
    sqlite3_stmt *s = db_prep(st, "SELECT DISTINCT cluster_id FROM topics");
    if (!s) return ST_ERROR;
    int rc;
    while ((rc = db_step(st, s)) == SQLITE_ROW) cb(arg, (const char *)sqlite3_column_text(s, 0));
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? ST_OK : db_rc(rc);
}

int store_topic_collision(store_t *st, const char *cluster_id, const char *name, char out[SP_TOPIC_NAME_MAX])
{
    out[0] = 0;
    sqlite3_stmt *s = db_prep(st, "SELECT name FROM topics WHERE cluster_id=?1 AND phase <> 'DELETING' AND name <> ?2"
                                  " AND replace(name, '.', '_') = replace(?2, '.', '_') LIMIT 1");
    if (!s) return ST_ERROR;
    sqlite3_bind_text(s, 1, cluster_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
    int rc = db_step(st, s);
    if (rc == SQLITE_ROW) db_col_copy(s, 0, out, SP_TOPIC_NAME_MAX);
    sqlite3_reset(s);
    return rc == SQLITE_ROW ? ST_OK : rc == SQLITE_DONE ? ST_NOTFOUND : db_rc(rc);
}

int store_topic_get_seq(store_t *st, int64_t seq, store_topic *out)
{
    sqlite3_stmt *s = db_prep(st, "SELECT " TOPIC_COLS " FROM topics WHERE seq=?1");
    if (!s) return ST_ERROR;
    sqlite3_bind_int64(s, 1, seq);
    int rc = db_step(st, s);
    if (rc == SQLITE_ROW) { topic_read(s, out); sqlite3_reset(s); return ST_OK; }
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? ST_NOTFOUND : db_rc(rc);
}
