/* idempotency.c — the idempotency table. */
#define _GNU_SOURCE
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- idempotency --------------------------------------------------------
 * A key is remembered for 24 hours (as Stripe and the IETF draft suggest);
 * after that the same key starts a new request. */

#define IDEM_TTL_S (24 * 3600)

/* Rows older than IDEM_TTL_S are expired; each put deletes its key's own
 * expired row and up to 16 more, oldest first, so the table stays
 * near a day of writes without any write growing unbounded. */
static void idem_horizon(store_t *st, char out[SP_TS_MAX])
{
    sp_ms_rfc3339(sp_clock_wall_ms(&st->clock) - (int64_t)IDEM_TTL_S * 1000, out);
}

void store_idem_clear(store_idem *i)
{
    free(i->body);
    memset(i, 0, sizeof *i);
}

int store_idem_get(store_t *st, const char *principal, const char *key, store_idem *out)
{
    char since[SP_TS_MAX];
    idem_horizon(st, since);
    sqlite3_stmt *s = db_prep(st, "SELECT body_hash, status, location, op_location, etag, body"
                               " FROM idempotency WHERE principal=?1 AND key=?2 AND created_at>=?3");
    if (!s) return ST_ERROR;
    sqlite3_bind_text(s, 1, principal, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, since, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        memset(out, 0, sizeof *out);
        db_col_copy(s, 0, out->body_hash, sizeof out->body_hash);
        out->status = sqlite3_column_int(s, 1);
        db_col_copy(s, 2, out->location, sizeof out->location);
        db_col_copy(s, 3, out->op_location, sizeof out->op_location);
        db_col_copy(s, 4, out->etag, sizeof out->etag);
        const char *b = (const char *)sqlite3_column_text(s, 5);
        out->body = strdup(b ? b : "");
        sqlite3_reset(s);
        return ST_OK;
    }
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? ST_NOTFOUND : db_rc(rc);
}

int store_idem_put(store_t *st, const char *principal, const char *key, const store_idem *in)
{
    char now[SP_TS_MAX], since[SP_TS_MAX];
    sp_ms_rfc3339(sp_clock_wall_ms(&st->clock), now);
    idem_horizon(st, since);
    /* this key's expired record first: with it still there the INSERT
     * below would fail however many others expired */
    sqlite3_stmt *s = db_prep(st, "DELETE FROM idempotency WHERE principal=?2 AND key=?3 AND created_at<?1");
    if (!s) return ST_ERROR;
    sqlite3_bind_text(s, 1, since, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, principal, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, key, -1, SQLITE_STATIC);
    int rc = db_step_done(st, s);
    if (rc != ST_OK) return rc;
    /* then a few other expired ones, oldest first (the created_at index) */
    s = db_prep(st, "DELETE FROM idempotency WHERE rowid IN (SELECT rowid FROM idempotency"
                    " WHERE created_at<?1 ORDER BY created_at LIMIT 16)");
    if (!s) return ST_ERROR;
    sqlite3_bind_text(s, 1, since, -1, SQLITE_STATIC);
    rc = db_step_done(st, s);
    if (rc != ST_OK) return rc;
    s = db_prep(st, "INSERT INTO idempotency(principal, key, body_hash, status, location,"
                               " op_location, etag, body, created_at) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9)");
    if (!s) return ST_ERROR;
    sqlite3_bind_text(s, 1, principal, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, in->body_hash, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 4, in->status);
    sqlite3_bind_text(s, 5, in->location, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 6, in->op_location, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 7, in->etag, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 8, in->body ? in->body : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 9, now, -1, SQLITE_STATIC);
    return db_step_done(st, s);
}
