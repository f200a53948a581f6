/* keys.c — the api_keys table. */
#define _GNU_SOURCE
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- API keys ----------------------------------------------------------- */

#define KEY_COLS "seq, id, tenant_id, name, salt, hash, created_at, expires_at, revoked_at"

static void key_read(sqlite3_stmt *s, store_key *k)
{
    memset(k, 0, sizeof *k);
    k->seq = sqlite3_column_int64(s, 0);
    db_col_copy(s, 1, k->id, sizeof k->id);
    db_col_copy(s, 2, k->tenant_id, sizeof k->tenant_id);
    db_col_copy(s, 3, k->name, sizeof k->name);
    if (sqlite3_column_bytes(s, 4) == 16) memcpy(k->salt, sqlite3_column_blob(s, 4), 16);
    if (sqlite3_column_bytes(s, 5) == 32) memcpy(k->hash, sqlite3_column_blob(s, 5), 32);
    db_col_copy(s, 6, k->created_at, sizeof k->created_at);
    db_col_copy(s, 7, k->expires_at, sizeof k->expires_at);
    db_col_copy(s, 8, k->revoked_at, sizeof k->revoked_at);
}

int store_key_insert(store_t *st, const store_key *k)
{
    sqlite3_stmt *s = db_prep(st, "INSERT INTO api_keys(id, tenant_id, name, salt, hash, created_at, expires_at)"
                               " VALUES(?1,?2,?3,?4,?5,?6,?7)");
    if (!s) return ST_ERROR;
    sqlite3_bind_text(s, 1, k->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, k->tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, k->name, -1, SQLITE_STATIC);
    sqlite3_bind_blob(s, 4, k->salt, 16, SQLITE_STATIC);
    sqlite3_bind_blob(s, 5, k->hash, 32, SQLITE_STATIC);
    sqlite3_bind_text(s, 6, k->created_at, -1, SQLITE_STATIC);
    db_bind_opt_text(s, 7, k->expires_at);
    return db_step_done(st, s);
}

int store_key_get(store_t *st, const char *id, const char *tenant_id, store_key *out)
{
    sqlite3_stmt *s = db_prep(st, "SELECT " KEY_COLS " FROM api_keys WHERE id=?1"
                               " AND (?2 IS NULL OR tenant_id=?2) AND revoked_at IS NULL");
    if (!s) return ST_ERROR;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    db_bind_opt_text(s, 2, tenant_id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) { key_read(s, out); sqlite3_reset(s); return ST_OK; }
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? ST_NOTFOUND : db_rc(rc);
}

int store_key_list(store_t *st, const char *tenant_id, int64_t after, int limit,
                   store_key **out, int *n)
{
    *out = NULL; *n = 0;
    sqlite3_stmt *s = db_prep(st, "SELECT " KEY_COLS " FROM api_keys WHERE tenant_id=?1 AND seq>?2"
                               " AND revoked_at IS NULL ORDER BY seq LIMIT ?3");
    if (!s) return ST_ERROR;
    sqlite3_bind_text(s, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, after);
    sqlite3_bind_int(s, 3, limit);
    store_key *list = calloc((size_t)(limit > 0 ? limit : 1), sizeof *list);
    if (!list) { sqlite3_reset(s); return ST_ERROR; }
    int rc = SQLITE_ROW, i = 0;
    while (i < limit && (rc = db_step(st, s)) == SQLITE_ROW) key_read(s, &list[i++]);
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {   /* failed part way: no short page marked OK */
        free(list);
        return db_rc(rc);
    }
    *out = list; *n = i;
    return ST_OK;
}

int store_key_revoke(store_t *st, const char *id, const char *tenant_id, const char *when)
{
    sqlite3_stmt *s = db_prep(st, "UPDATE api_keys SET revoked_at=?3 WHERE id=?1 AND tenant_id=?2"
                               " AND revoked_at IS NULL");
    if (!s) return ST_ERROR;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, when, -1, SQLITE_STATIC);
    int rc = db_step_done(st, s);
    if (rc != ST_OK) return rc;
    return db_changes(st) ? ST_OK : ST_NOTFOUND;
}

int store_key_delete_tenant(store_t *st, const char *tenant_id)
{
    sqlite3_stmt *s = db_prep(st, "DELETE FROM api_keys WHERE tenant_id=?1");
    if (!s) return ST_ERROR;
    sqlite3_bind_text(s, 1, tenant_id, -1, SQLITE_STATIC);
    return db_step_done(st, s);
}
