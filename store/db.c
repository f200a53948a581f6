/* db.c — SQLite connections, transactions, and the helpers every table's
 * queries use.
 *
 * Connections are per thread (SQLite handles are not shared), each with a
 * small cache of prepared statements keyed by SQL text. WAL mode lets
 * readers run beside the single writer; BEGIN IMMEDIATE takes the write
 * lock up front so a transaction never fails half-way on upgrade. The
 * schema is in schema.c; each table's queries sit in a file of their own
 * (resources.c, operations.c, keys.c, idempotency.c). */
#define _GNU_SOURCE
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void conn_close(conn *c)
{
    for (int i = 0; i < c->ncache; i++) sqlite3_finalize(c->cache[i].st);
    sqlite3_close(c->db);
    free(c);
}

static void conn_release(void *p)   /* thread exit */
{
    conn *c = p;
    store_t *st = c->owner;
    pthread_mutex_lock(&st->mu);
    for (conn **pp = &st->conns; *pp; pp = &(*pp)->next)
        if (*pp == c) { *pp = c->next; break; }
    pthread_mutex_unlock(&st->mu);
    conn_close(c);
}

int db_exec(sqlite3 *db, const char *sql)
{
    return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

static conn *conn_open(store_t *st)
{
    conn *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    if (sqlite3_open_v2(st->path, &c->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        sqlite3_close(c->db); free(c); return NULL;
    }
    sqlite3_busy_timeout(c->db, 10000);
    db_exec(c->db, "PRAGMA foreign_keys=ON");
    db_exec(c->db, st->durable ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
    db_exec(c->db, "PRAGMA cache_size=-16384");      /* 16 MiB per connection */
    db_exec(c->db, "PRAGMA mmap_size=268435456");    /* reads straight from the page cache */
    c->owner = st;
    return c;
}

conn *db_conn(store_t *st)
{
    conn *c = pthread_getspecific(st->key);
    if (c) return c;
    c = conn_open(st);
    if (!c) return NULL;
    pthread_setspecific(st->key, c);
    pthread_mutex_lock(&st->mu);
    c->next = st->conns; st->conns = c;
    pthread_mutex_unlock(&st->mu);
    return c;
}

sqlite3_stmt *db_prep(store_t *st, const char *sql)
{
    conn *c = db_conn(st);
    if (!c) return NULL;
    for (int i = 0; i < c->ncache; i++)
        if (c->cache[i].sql == sql || strcmp(c->cache[i].sql, sql) == 0) {
            sqlite3_reset(c->cache[i].st);
            sqlite3_clear_bindings(c->cache[i].st);
            return c->cache[i].st;
        }
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK)
        return NULL;
    if (c->ncache < STMT_CACHE) {
        c->cache[c->ncache].sql = sql;
        c->cache[c->ncache].st = s;
        c->ncache++;
    } else {
        /* cache full: replace the oldest entry */
        sqlite3_finalize(c->cache[0].st);
        memmove(&c->cache[0], &c->cache[1], sizeof c->cache[0] * (STMT_CACHE - 1));
        c->cache[STMT_CACHE - 1].sql = sql;
        c->cache[STMT_CACHE - 1].st = s;
    }
    return s;
}

const char *store_strerror(int rc)
{
    switch (rc) {
    case ST_OK: return "ok";
    case ST_NOTFOUND: return "not found";
    case ST_CONFLICT: return "already exists";
    case ST_STALE: return "changed meanwhile";
    case ST_BUSY: return "the database is busy";
    case ST_CONSTRAINT: return "a row it refers to is missing or a value is not allowed";
    default: return "the database failed";
    }
}

bool store_transient(int rc) { return rc == ST_BUSY; }

int db_rc(int src)
{
    switch (src) {
    case SQLITE_OK: case SQLITE_DONE: case SQLITE_ROW: return ST_OK;
    case SQLITE_CONSTRAINT: return ST_CONFLICT;
    case SQLITE_BUSY: case SQLITE_LOCKED: return ST_BUSY;
    default: return ST_ERROR;
    }
}


/* The database and its -wal and -shm files are readable by the owner only
 * (they hold sealed credentials and key hashes): created 0600 (SQLite gives
 * -wal and -shm the database's mode), and an older file made 0644 is
 * narrowed. */
static int owner_only(const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 || fchmod(fd, 0600) != 0) {
        snprintf(err, errlen, "cannot create %s with mode 0600: %s", path, strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    close(fd);
    static const char *const side[] = {"-wal", "-shm", NULL};
    for (int i = 0; side[i]; i++) {
        char p[4200];
        snprintf(p, sizeof p, "%s%s", path, side[i]);
        if (chmod(p, 0600) != 0 && errno != ENOENT) {
            snprintf(err, errlen, "cannot make %s mode 0600: %s", p, strerror(errno));
            return -1;
        }
    }
    return 0;
}

store_t *store_open(const char *path, bool durable, char *err, size_t errlen)
{
    if (strcmp(path, ":memory:") != 0 && owner_only(path, err, errlen) != 0) return NULL;
    store_t *st = calloc(1, sizeof *st);
    if (!st) { snprintf(err, errlen, "out of memory"); return NULL; }
    st->path = strdup(path);
    st->durable = durable;
    pthread_mutex_init(&st->mu, NULL);
    pthread_mutex_init(&st->writer, NULL);
    pthread_key_create(&st->key, conn_release);
    conn *c = db_conn(st);
    if (!c) {
        snprintf(err, errlen, "cannot open %s", path);
        store_close(st);
        return NULL;
    }
    char *mode = NULL;
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(c->db, "PRAGMA journal_mode=WAL", -1, &s, NULL) == SQLITE_OK) {
        if (sqlite3_step(s) == SQLITE_ROW) mode = strdup((const char *)sqlite3_column_text(s, 0));
        sqlite3_finalize(s);
    }
    if (!mode || strcmp(mode, "wal") != 0) {
        snprintf(err, errlen, "cannot enable WAL on %s: %s", path, sqlite3_errmsg(c->db));
        free(mode);
        store_close(st);
        return NULL;
    }
    free(mode);
    if (db_migrate(c->db, err, errlen) != 0) { store_close(st); return NULL; }
    return st;
}

void store_close(store_t *st)
{
    if (!st) return;
    pthread_mutex_lock(&st->mu);
    conn *c = st->conns;
    st->conns = NULL;
    pthread_mutex_unlock(&st->mu);
    while (c) { conn *n = c->next; conn_close(c); c = n; }
    pthread_setspecific(st->key, NULL);
    pthread_key_delete(st->key);
    pthread_mutex_destroy(&st->mu);
    pthread_mutex_destroy(&st->writer);
    free(st->path);
    free(st);
}

int store_schema_version(store_t *st)
{
    sqlite3_stmt *s = db_prep(st, "PRAGMA user_version");
    int v = -1;
    if (s && sqlite3_step(s) == SQLITE_ROW) v = sqlite3_column_int(s, 0);
    if (s) sqlite3_reset(s);
    return v;
}

const char *store_errmsg(store_t *st)
{
    conn *c = db_conn(st);
    return c ? sqlite3_errmsg(c->db) : "no connection";
}

int store_begin(store_t *st)
{
    conn *c = db_conn(st);
    if (!c || c->in_tx) return ST_ERROR;
    pthread_mutex_lock(&st->writer);
    int rc = sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc != SQLITE_OK) { pthread_mutex_unlock(&st->writer); return db_rc(rc); }
    c->in_tx = true;
    return ST_OK;
}

static void end_tx(store_t *st, conn *c)
{
    c->in_tx = false;
    pthread_mutex_unlock(&st->writer);
}

int store_commit(store_t *st)
{
    conn *c = db_conn(st);
    if (!c || !c->in_tx) return ST_ERROR;
    int rc = sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) db_exec(c->db, "ROLLBACK");
    end_tx(st, c);
    if (rc != SQLITE_OK) return db_rc(rc) == ST_OK ? ST_ERROR : db_rc(rc);
    return ST_OK;
}

void store_rollback(store_t *st)
{
    conn *c = db_conn(st);
    if (!c || !c->in_tx) return;
    db_exec(c->db, "ROLLBACK");
    end_tx(st, c);
}

bool store_in_tx(store_t *st)
{
    conn *c = db_conn(st);
    return c && c->in_tx;
}

int store_ping(store_t *st)
{
    sqlite3_stmt *s = db_prep(st, "SELECT count(*) FROM meta");
    if (!s) return ST_ERROR;
    int rc = db_step(st, s);
    sqlite3_reset(s);
    if (rc != SQLITE_ROW) return db_rc(rc);
    return access(st->path, W_OK) == 0 ? ST_OK : ST_ERROR;
}

void store_set_clock(store_t *st, const sp_clock *c)
{
    if (c) st->clock = *c;
    else memset(&st->clock, 0, sizeof st->clock);
}

void store_fault_step(store_t *st, int nth, int sqlite_rc)
{
    __atomic_store_n(&st->fault_rc, sqlite_rc, __ATOMIC_SEQ_CST);
    __atomic_store_n(&st->fault_nth, nth, __ATOMIC_SEQ_CST);
}

int64_t store_steps(store_t *st) { return __atomic_load_n(&st->steps, __ATOMIC_RELAXED); }

int db_step(store_t *st, sqlite3_stmt *s)
{
    __atomic_add_fetch(&st->steps, 1, __ATOMIC_RELAXED);
    int nth = __atomic_load_n(&st->fault_nth, __ATOMIC_SEQ_CST);
    while (nth > 0) {
        if (__atomic_compare_exchange_n(&st->fault_nth, &nth, nth - 1, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
            if (nth == 1) return __atomic_load_n(&st->fault_rc, __ATOMIC_SEQ_CST);
            break;
        }
    }
    return sqlite3_step(s);
}

/* ---- helpers ------------------------------------------------------------ */

void db_col_copy(sqlite3_stmt *s, int i, char *dst, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

json_t *db_col_json(sqlite3_stmt *s, int i)
{
    const char *t = (const char *)sqlite3_column_text(s, i);
    if (!t) return NULL;
    return json_loads(t, 0, NULL);
}

int db_bind_json(sqlite3_stmt *s, int i, const json_t *j)
{
    if (!j) return sqlite3_bind_null(s, i);
    char *t = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    if (!t) return SQLITE_NOMEM;
    return sqlite3_bind_text(s, i, t, -1, free);
}

void db_bind_opt_text(sqlite3_stmt *s, int i, const char *t)
{
    if (t && *t) sqlite3_bind_text(s, i, t, -1, SQLITE_TRANSIENT);
    else sqlite3_bind_null(s, i);
}

int db_step_done(store_t *st, sqlite3_stmt *s)
{
    if (!s) return ST_ERROR;
    int rc = db_step(st, s);
    int ext = sqlite3_extended_errcode(sqlite3_db_handle(s));
    sqlite3_reset(s);
    if (rc == SQLITE_DONE) return ST_OK;
    if (rc == SQLITE_CONSTRAINT && ext != SQLITE_CONSTRAINT_UNIQUE && ext != SQLITE_CONSTRAINT_PRIMARYKEY)
        return ST_CONSTRAINT;
    return db_rc(rc);
}

int db_changes(store_t *st)
{
    conn *c = db_conn(st);
    return c ? sqlite3_changes(c->db) : 0;
}
