/* internal.h — what the store's files share; nothing outside store/
 * includes it. */
#ifndef SP_STORE_INTERNAL_H
#define SP_STORE_INTERNAL_H

#include "store.h"

#include <pthread.h>
#include <sqlite3.h>

/* Prepared statements kept per connection (48 x ~2 KiB); the oldest goes
 * when a 49th distinct statement is prepared. */
#define STMT_CACHE 48

typedef struct conn {
    sqlite3 *db;
    bool in_tx;
    struct { const char *sql; sqlite3_stmt *st; } cache[STMT_CACHE];
    int ncache;
    struct conn *next;
    store_t *owner;
} conn;

struct store {
    char *path;
    bool durable;
    pthread_key_t key;
    pthread_mutex_t mu;       /* guards the list of live connections */
    conn *conns;
    /* One writer at a time inside this process. SQLite would serialise
     * writers anyway, but its busy handler sleeps in growing steps, so two
     * threads contending for BEGIN IMMEDIATE starve each other (seconds of
     * tail latency under load); a mutex hands the lock over at once. The
     * busy timeout still covers other processes (backups, sqlite3 CLI). */
    pthread_mutex_t writer;
    sp_clock clock;           /* the idempotency window's (tests drive it) */
    int fault_nth, fault_rc;  /* store_fault_step(): atomic */
    int64_t steps;            /* store_steps(): atomic */
};

/* db.c */
conn *db_conn(store_t *st);
/* A prepared statement from the cache, reset and with bindings cleared. */
sqlite3_stmt *db_prep(store_t *st, const char *sql);
int db_rc(int sqlite_rc);
int db_exec(sqlite3 *db, const char *sql);
void db_col_copy(sqlite3_stmt *s, int i, char *dst, size_t cap);
json_t *db_col_json(sqlite3_stmt *s, int i);
int db_bind_json(sqlite3_stmt *s, int i, const json_t *j);
void db_bind_opt_text(sqlite3_stmt *s, int i, const char *t);
/* sqlite3_step, unless an injected fault is due (store_fault_step). */
int db_step(store_t *st, sqlite3_stmt *s);
/* Runs a statement that returns no rows. A unique or primary key
 * violation is ST_CONFLICT, any other constraint ST_CONSTRAINT. */
int db_step_done(store_t *st, sqlite3_stmt *s);
int db_changes(store_t *st);
/* schema.c */
int db_migrate(sqlite3 *db, char *err, size_t errlen);

#endif
