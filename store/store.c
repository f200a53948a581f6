/* store.c — SQLite connections, migrations, transactions, and every query.
 *
 * Why one file: the schema and the queries that depend on it change
 * together; keeping them side by side makes a migration and its queries one
 * reviewable change. Connections are per thread (SQLite handles are not
 * shared), each with a small cache of prepared statements keyed by SQL text.
 * WAL mode lets readers run beside the single writer; BEGIN IMMEDIATE takes
 * the write lock up front so a transaction never fails half-way on upgrade. */
#define _GNU_SOURCE
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
};

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

static int exec(sqlite3 *db, const char *sql)
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
    exec(c->db, "PRAGMA foreign_keys=ON");
    exec(c->db, st->durable ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
    exec(c->db, "PRAGMA cache_size=-16384");      /* 16 MiB per connection */
    exec(c->db, "PRAGMA mmap_size=268435456");    /* reads straight from the page cache */
    c->owner = st;
    return c;
}

static conn *get_conn(store_t *st)
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

/* A prepared statement from the cache, reset and with bindings cleared. */
static sqlite3_stmt *prep(store_t *st, const char *sql)
{
    conn *c = get_conn(st);
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

static int rc_of(int src)
{
    switch (src) {
    case SQLITE_OK: case SQLITE_DONE: case SQLITE_ROW: return ST_OK;
    case SQLITE_CONSTRAINT: return ST_CONFLICT;
    case SQLITE_BUSY: case SQLITE_LOCKED: return ST_BUSY;
    default: return ST_ERROR;
    }
}

/* ---- migrations ---------------------------------------------------------
 * Append only: never edit a released step; add the next one. */
static const char *MIGRATIONS[] = {
    /* 1: the initial schema */
    "CREATE TABLE meta(k TEXT PRIMARY KEY, v TEXT NOT NULL);"
    "CREATE TABLE tenants("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,"
    " tenant_id TEXT NOT NULL, name TEXT NOT NULL UNIQUE,"
    " spec TEXT NOT NULL, status TEXT NOT NULL DEFAULT '{}',"
    " generation INTEGER NOT NULL, resource_version INTEGER NOT NULL,"
    " created_at TEXT NOT NULL, updated_at TEXT NOT NULL);"
    "CREATE TABLE data_planes("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,"
    " tenant_id TEXT NOT NULL DEFAULT '', name TEXT NOT NULL UNIQUE,"
    " spec TEXT NOT NULL, status TEXT NOT NULL DEFAULT '{}',"
    " generation INTEGER NOT NULL, resource_version INTEGER NOT NULL,"
    " created_at TEXT NOT NULL, updated_at TEXT NOT NULL, secret BLOB);"
    "CREATE TABLE clusters("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,"
    " tenant_id TEXT NOT NULL REFERENCES tenants(id), name TEXT NOT NULL,"
    " spec TEXT NOT NULL, status TEXT NOT NULL DEFAULT '{}',"
    " generation INTEGER NOT NULL, resource_version INTEGER NOT NULL,"
    " created_at TEXT NOT NULL, updated_at TEXT NOT NULL,"
    " brokers INTEGER NOT NULL, storage_gib INTEGER NOT NULL,"
    " data_plane_id TEXT REFERENCES data_planes(id), phase TEXT NOT NULL,"
    " UNIQUE(tenant_id, name));"
    "CREATE INDEX clusters_tenant ON clusters(tenant_id, seq);"
    "CREATE INDEX clusters_plane ON clusters(data_plane_id);"
    "CREATE TABLE operations("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,"
    " cluster_id TEXT NOT NULL, tenant_id TEXT NOT NULL, type TEXT NOT NULL,"
    " state TEXT NOT NULL, progress_percent INTEGER NOT NULL DEFAULT 0,"
    " target_generation INTEGER NOT NULL DEFAULT 0,"
    " steps TEXT NOT NULL DEFAULT '[]', error TEXT,"
    " changes TEXT NOT NULL DEFAULT '{}', spec_before TEXT,"
    " created_at TEXT NOT NULL, updated_at TEXT NOT NULL);"
    "CREATE INDEX operations_cluster ON operations(cluster_id, seq);"
    "CREATE INDEX operations_tenant ON operations(tenant_id, seq);"
    "CREATE TABLE api_keys("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,"
    " tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    " name TEXT NOT NULL, salt BLOB NOT NULL, hash BLOB NOT NULL,"
    " created_at TEXT NOT NULL, expires_at TEXT, revoked_at TEXT);"
    "CREATE INDEX api_keys_tenant ON api_keys(tenant_id, seq);"
    "CREATE TABLE idempotency("
    " principal TEXT NOT NULL, key TEXT NOT NULL, body_hash TEXT NOT NULL,"
    " status INTEGER NOT NULL, location TEXT NOT NULL, op_location TEXT NOT NULL,"
    " etag TEXT NOT NULL, body TEXT NOT NULL, created_at TEXT NOT NULL,"
    " PRIMARY KEY(principal, key));"
    "CREATE INDEX idempotency_created ON idempotency(created_at);"
    /* What each tenant uses, kept by triggers in the same transaction as
     * the cluster rows, so a quota check reads one row instead of summing
     * all of a tenant's clusters on every create. */
    "CREATE TABLE tenant_usage("
    " tenant_id TEXT PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,"
    " clusters INTEGER NOT NULL DEFAULT 0, brokers INTEGER NOT NULL DEFAULT 0,"
    " storage_gib INTEGER NOT NULL DEFAULT 0);"
    "CREATE TRIGGER tenants_usage_row AFTER INSERT ON tenants BEGIN"
    " INSERT INTO tenant_usage(tenant_id) VALUES(NEW.id); END;"
    "CREATE TRIGGER clusters_usage_add AFTER INSERT ON clusters BEGIN"
    " UPDATE tenant_usage SET clusters=clusters+1, brokers=brokers+NEW.brokers,"
    " storage_gib=storage_gib+NEW.brokers*NEW.storage_gib WHERE tenant_id=NEW.tenant_id; END;"
    "CREATE TRIGGER clusters_usage_del AFTER DELETE ON clusters BEGIN"
    " UPDATE tenant_usage SET clusters=clusters-1, brokers=brokers-OLD.brokers,"
    " storage_gib=storage_gib-OLD.brokers*OLD.storage_gib WHERE tenant_id=OLD.tenant_id; END;"
    "CREATE TRIGGER clusters_usage_upd AFTER UPDATE OF brokers, storage_gib ON clusters BEGIN"
    " UPDATE tenant_usage SET brokers=brokers-OLD.brokers+NEW.brokers,"
    " storage_gib=storage_gib-OLD.brokers*OLD.storage_gib+NEW.brokers*NEW.storage_gib"
    " WHERE tenant_id=NEW.tenant_id; END;"
    "INSERT INTO meta(k, v) VALUES('ready_probe', '');",
    /* 2: a cluster being deleted gives up its name at once, so a Terraform
     * replacement (DELETE, then POST of the same name in one apply) or a
     * re-create right after a destroy is accepted: names are unique among
     * the clusters not DELETING (a partial index; SQLite cannot drop the
     * table's own UNIQUE, so the table is rebuilt, triggers with it). */
    "CREATE TABLE clusters_v2("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,"
    " tenant_id TEXT NOT NULL REFERENCES tenants(id), name TEXT NOT NULL,"
    " spec TEXT NOT NULL, status TEXT NOT NULL DEFAULT '{}',"
    " generation INTEGER NOT NULL, resource_version INTEGER NOT NULL,"
    " created_at TEXT NOT NULL, updated_at TEXT NOT NULL,"
    " brokers INTEGER NOT NULL, storage_gib INTEGER NOT NULL,"
    " data_plane_id TEXT REFERENCES data_planes(id), phase TEXT NOT NULL);"
    "INSERT INTO clusters_v2 SELECT * FROM clusters;"
    "DROP TABLE clusters;"
    "ALTER TABLE clusters_v2 RENAME TO clusters;"
    "CREATE UNIQUE INDEX clusters_live_name ON clusters(tenant_id, name) WHERE phase <> 'DELETING';"
    "CREATE INDEX clusters_tenant ON clusters(tenant_id, seq);"
    "CREATE INDEX clusters_plane ON clusters(data_plane_id);"
    "CREATE TRIGGER clusters_usage_add AFTER INSERT ON clusters BEGIN"
    " UPDATE tenant_usage SET clusters=clusters+1, brokers=brokers+NEW.brokers,"
    " storage_gib=storage_gib+NEW.brokers*NEW.storage_gib WHERE tenant_id=NEW.tenant_id; END;"
    "CREATE TRIGGER clusters_usage_del AFTER DELETE ON clusters BEGIN"
    " UPDATE tenant_usage SET clusters=clusters-1, brokers=brokers-OLD.brokers,"
    " storage_gib=storage_gib-OLD.brokers*OLD.storage_gib WHERE tenant_id=OLD.tenant_id; END;"
    "CREATE TRIGGER clusters_usage_upd AFTER UPDATE OF brokers, storage_gib ON clusters BEGIN"
    " UPDATE tenant_usage SET brokers=brokers-OLD.brokers+NEW.brokers,"
    " storage_gib=storage_gib-OLD.brokers*OLD.storage_gib+NEW.brokers*NEW.storage_gib"
    " WHERE tenant_id=NEW.tenant_id; END;",
};
#define NMIGRATIONS ((int)(sizeof MIGRATIONS / sizeof MIGRATIONS[0]))

static int migrate(sqlite3 *db, char *err, size_t errlen)
{
    sqlite3_stmt *s;
    int v = 0;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK) goto fail;
    if (sqlite3_step(s) == SQLITE_ROW) v = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    if (v > NMIGRATIONS) {
        snprintf(err, errlen, "database schema version %d is newer than this binary (%d)", v, NMIGRATIONS);
        return -1;
    }
    for (; v < NMIGRATIONS; v++) {
        char pragma[64];
        snprintf(pragma, sizeof pragma, "PRAGMA user_version=%d", v + 1);
        if (exec(db, "BEGIN IMMEDIATE") || exec(db, MIGRATIONS[v]) || exec(db, pragma) ||
            exec(db, "COMMIT")) {
            snprintf(err, errlen, "migration %d failed: %s", v + 1, sqlite3_errmsg(db));
            exec(db, "ROLLBACK");
            return -1;
        }
    }
    return 0;
fail:
    snprintf(err, errlen, "%s", sqlite3_errmsg(db));
    return -1;
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
    conn *c = get_conn(st);
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
    if (migrate(c->db, err, errlen) != 0) { store_close(st); return NULL; }
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
    sqlite3_stmt *s = prep(st, "PRAGMA user_version");
    int v = -1;
    if (s && sqlite3_step(s) == SQLITE_ROW) v = sqlite3_column_int(s, 0);
    if (s) sqlite3_reset(s);
    return v;
}

const char *store_errmsg(store_t *st)
{
    conn *c = get_conn(st);
    return c ? sqlite3_errmsg(c->db) : "no connection";
}

int store_begin(store_t *st)
{
    conn *c = get_conn(st);
    if (!c || c->in_tx) return ST_ERROR;
    pthread_mutex_lock(&st->writer);
    int rc = sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc != SQLITE_OK) { pthread_mutex_unlock(&st->writer); return rc_of(rc); }
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
    conn *c = get_conn(st);
    if (!c || !c->in_tx) return ST_ERROR;
    int rc = sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) exec(c->db, "ROLLBACK");
    end_tx(st, c);
    if (rc != SQLITE_OK) return rc_of(rc) == ST_OK ? ST_ERROR : rc_of(rc);
    return ST_OK;
}

void store_rollback(store_t *st)
{
    conn *c = get_conn(st);
    if (!c || !c->in_tx) return;
    exec(c->db, "ROLLBACK");
    end_tx(st, c);
}

bool store_in_tx(store_t *st)
{
    conn *c = get_conn(st);
    return c && c->in_tx;
}

int store_ping_write(store_t *st)
{
    char now[SP_TS_MAX];
    sp_now_rfc3339(now);
    if (store_begin(st) != ST_OK) return ST_ERROR;
    sqlite3_stmt *s = prep(st, "UPDATE meta SET v=?1 WHERE k='ready_probe'");
    if (!s) { store_rollback(st); return ST_ERROR; }
    sqlite3_bind_text(s, 1, now, -1, SQLITE_STATIC);
    int rc = rc_of(sqlite3_step(s));
    sqlite3_reset(s);
    if (rc != ST_OK) { store_rollback(st); return rc; }
    return store_commit(st);
}

/* ---- helpers ------------------------------------------------------------ */

static void col_copy(sqlite3_stmt *s, int i, char *dst, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

static json_t *col_json(sqlite3_stmt *s, int i)
{
    const char *t = (const char *)sqlite3_column_text(s, i);
    if (!t) return NULL;
    return json_loads(t, 0, NULL);
}

static int bind_json(sqlite3_stmt *s, int i, const json_t *j)
{
    if (!j) return sqlite3_bind_null(s, i);
    char *t = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    if (!t) return SQLITE_NOMEM;
    return sqlite3_bind_text(s, i, t, -1, free);
}

static void bind_opt_text(sqlite3_stmt *s, int i, const char *t)
{
    if (t && *t) sqlite3_bind_text(s, i, t, -1, SQLITE_TRANSIENT);
    else sqlite3_bind_null(s, i);
}

/* Runs a statement that returns no rows. */
static int step_done(sqlite3_stmt *s)
{
    if (!s) return ST_ERROR;
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? ST_OK : rc_of(rc);
}

static int changes(store_t *st)
{
    conn *c = get_conn(st);
    return c ? sqlite3_changes(c->db) : 0;
}

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
    col_copy(s, 1, r->id, sizeof r->id);
    col_copy(s, 2, r->tenant_id, sizeof r->tenant_id);
    col_copy(s, 3, r->name, sizeof r->name);
    r->spec = col_json(s, 4);
    r->status = col_json(s, 5);
    if (!r->spec) r->spec = json_object();
    if (!r->status) r->status = json_object();
    r->generation = sqlite3_column_int64(s, 6);
    r->resource_version = sqlite3_column_int64(s, 7);
    col_copy(s, 8, r->created_at, sizeof r->created_at);
    col_copy(s, 9, r->updated_at, sizeof r->updated_at);
    if (k == K_CLUSTER) {
        r->brokers = sqlite3_column_int64(s, 10);
        r->storage_gib = sqlite3_column_int64(s, 11);
        col_copy(s, 12, r->data_plane_id, sizeof r->data_plane_id);
        col_copy(s, 13, r->phase, sizeof r->phase);
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
    sqlite3_stmt *s = prep(st, SQL_GET[k]);
    if (!s) return ST_ERROR;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    bind_opt_text(s, 2, scope);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) { res_read(s, k, out); sqlite3_reset(s); return ST_OK; }
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? ST_NOTFOUND : rc_of(rc);
}

int store_res_list(store_t *st, store_kind k, const char *scope, int64_t after, int limit,
                   store_res **out, int *n)
{
    *out = NULL; *n = 0;
    sqlite3_stmt *s = prep(st, scope ? SQL_LIST_SCOPED[k] : SQL_LIST[k]);
    if (!s) return ST_ERROR;
    sqlite3_bind_int64(s, 1, after);
    if (scope) sqlite3_bind_text(s, 2, scope, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 3, limit);
    store_res *list = calloc((size_t)(limit > 0 ? limit : 1), sizeof *list);
    if (!list) { sqlite3_reset(s); return ST_ERROR; }
    int rc, i = 0;
    while (i < limit && (rc = sqlite3_step(s)) == SQLITE_ROW) res_read(s, k, &list[i++]);
    sqlite3_reset(s);
    *out = list; *n = i;
    return ST_OK;
}

int store_res_insert(store_t *st, store_kind k, store_res *r)
{
    sqlite3_stmt *s = prep(st, SQL_INSERT[k]);
    if (!s) return ST_ERROR;
    sqlite3_bind_text(s, 1, r->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, r->tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, r->name, -1, SQLITE_STATIC);
    bind_json(s, 4, r->spec);
    bind_json(s, 5, r->status ? r->status : json_object());
    sqlite3_bind_int64(s, 6, r->generation);
    sqlite3_bind_text(s, 7, r->created_at, -1, SQLITE_STATIC);
    if (k == K_DATA_PLANE) {
        if (r->secret) sqlite3_bind_blob(s, 8, r->secret, (int)r->secret_len, SQLITE_STATIC);
    } else if (k == K_CLUSTER) {
        sqlite3_bind_int64(s, 8, r->brokers);
        sqlite3_bind_int64(s, 9, r->storage_gib);
        bind_opt_text(s, 10, r->data_plane_id);
        sqlite3_bind_text(s, 11, r->phase, -1, SQLITE_STATIC);
    }
    int rc = step_done(s);
    if (rc != ST_OK) return rc;
    conn *c = get_conn(st);
    r->seq = sqlite3_last_insert_rowid(c->db);
    r->resource_version = 1;
    snprintf(r->updated_at, sizeof r->updated_at, "%s", r->created_at);
    return ST_OK;
}

int store_res_update(store_t *st, store_kind k, store_res *r, int64_t expect_rv)
{
    char now[SP_TS_MAX];
    sp_now_rfc3339(now);
    sqlite3_stmt *s = prep(st, SQL_UPDATE[k]);
    if (!s) return ST_ERROR;
    sqlite3_bind_text(s, 1, r->id, -1, SQLITE_STATIC);
    bind_json(s, 2, r->spec);
    bind_json(s, 3, r->status);
    sqlite3_bind_int64(s, 4, r->generation);
    sqlite3_bind_text(s, 5, now, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 6, r->name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 7, expect_rv);
    if (k == K_DATA_PLANE) {
        if (r->secret) sqlite3_bind_blob(s, 8, r->secret, (int)r->secret_len, SQLITE_STATIC);
    } else if (k == K_CLUSTER) {
        sqlite3_bind_int64(s, 8, r->brokers);
        sqlite3_bind_int64(s, 9, r->storage_gib);
        bind_opt_text(s, 10, r->data_plane_id);
        sqlite3_bind_text(s, 11, r->phase, -1, SQLITE_STATIC);
    }
    int rc = step_done(s);
    if (rc != ST_OK) return rc;
    if (changes(st) == 0) {
        store_res probe;
        int g = store_res_get(st, k, r->id, NULL, &probe);
        if (g == ST_OK) { store_res_clear(&probe); return ST_STALE; }
        return g;
    }
    /* read back the new version */
    s = prep(st, SQL_RV[k]);
    if (!s) return ST_ERROR;
    sqlite3_bind_text(s, 1, r->id, -1, SQLITE_STATIC);
    if (sqlite3_step(s) == SQLITE_ROW) {
        r->resource_version = sqlite3_column_int64(s, 0);
        col_copy(s, 1, r->updated_at, sizeof r->updated_at);
    }
    sqlite3_reset(s);
    return ST_OK;
}

int store_res_delete(store_t *st, store_kind k, const char *id)
{
    sqlite3_stmt *s = prep(st, SQL_DELETE[k]);
    if (!s) return ST_ERROR;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    int rc = step_done(s);
    if (rc != ST_OK) return rc;
    return changes(st) ? ST_OK : ST_NOTFOUND;
}

/* ---- aggregates --------------------------------------------------------- */

int store_tenant_usage(store_t *st, const char *tenant_id, int64_t *clusters,
                       int64_t *brokers, int64_t *storage)
{
    *clusters = *brokers = *storage = 0;
    sqlite3_stmt *s = prep(st, "SELECT clusters, brokers, storage_gib FROM tenant_usage WHERE tenant_id=?1");
    if (!s) return ST_ERROR;
    sqlite3_bind_text(s, 1, tenant_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *clusters = sqlite3_column_int64(s, 0);
        *brokers = sqlite3_column_int64(s, 1);
        *storage = sqlite3_column_int64(s, 2);
    }
    sqlite3_reset(s);
    return rc == SQLITE_ROW ? ST_OK : rc_of(rc);
}

int store_count_tenant_clusters(store_t *st, const char *tenant_id, int64_t *n)
{
    int64_t b, g;
    return store_tenant_usage(st, tenant_id, n, &b, &g);
}

int store_count_clusters_on_plane(store_t *st, const char *plane, int64_t *n, int64_t *brokers)
{
    sqlite3_stmt *s = prep(st, "SELECT count(*), coalesce(sum(brokers),0) FROM clusters WHERE data_plane_id=?1");
    if (!s) return ST_ERROR;
    sqlite3_bind_text(s, 1, plane, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) { *n = sqlite3_column_int64(s, 0); *brokers = sqlite3_column_int64(s, 1); }
    sqlite3_reset(s);
    return rc == SQLITE_ROW ? ST_OK : rc_of(rc);
}

int store_cluster_phase_counts(store_t *st, void (*cb)(const char *, int64_t, void *), void *arg)
{
    sqlite3_stmt *s = prep(st, "SELECT phase, count(*) FROM clusters GROUP BY phase ORDER BY phase");
    if (!s) return ST_ERROR;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        cb((const char *)sqlite3_column_text(s, 0), sqlite3_column_int64(s, 1), arg);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? ST_OK : rc_of(rc);
}

/* ---- operations --------------------------------------------------------- */

#define OP_COLS "seq, id, cluster_id, tenant_id, type, state, progress_percent, target_generation, steps, error, created_at, updated_at, changes, spec_before"

void store_op_clear(store_op *o)
{
    json_decref(o->steps);
    json_decref(o->error);
    json_decref(o->changes);
    json_decref(o->spec_before);
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
    col_copy(s, 1, o->id, sizeof o->id);
    col_copy(s, 2, o->cluster_id, sizeof o->cluster_id);
    col_copy(s, 3, o->tenant_id, sizeof o->tenant_id);
    col_copy(s, 4, o->type, sizeof o->type);
    col_copy(s, 5, o->state, sizeof o->state);
    o->progress_percent = sqlite3_column_int(s, 6);
    o->target_generation = sqlite3_column_int64(s, 7);
    o->steps = col_json(s, 8);
    if (!o->steps) o->steps = json_array();
    o->error = col_json(s, 9);
    col_copy(s, 10, o->created_at, sizeof o->created_at);
    col_copy(s, 11, o->updated_at, sizeof o->updated_at);
    o->changes = col_json(s, 12);
    if (!o->changes) o->changes = json_object();
    o->spec_before = col_json(s, 13);
}

int store_op_insert(store_t *st, store_op *o)
{
    sqlite3_stmt *s = prep(st, "INSERT INTO operations(id, cluster_id, tenant_id, type, state,"
                               " progress_percent, target_generation, steps, error, created_at, updated_at,"
                               " changes, spec_before) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?10,?11,?12)");
    if (!s) return ST_ERROR;
    sqlite3_bind_text(s, 1, o->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, o->cluster_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, o->tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, o->type, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, o->state, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 6, o->progress_percent);
    sqlite3_bind_int64(s, 7, o->target_generation);
    bind_json(s, 8, o->steps ? o->steps : json_array());
    bind_json(s, 9, o->error);
    sqlite3_bind_text(s, 10, o->created_at, -1, SQLITE_STATIC);
    bind_json(s, 11, o->changes ? o->changes : json_object());
    bind_json(s, 12, o->spec_before);
    int rc = step_done(s);
    if (rc == ST_OK) {
        o->seq = sqlite3_last_insert_rowid(get_conn(st)->db);
        snprintf(o->updated_at, sizeof o->updated_at, "%s", o->created_at);
    }
    return rc;
}

int store_op_get(store_t *st, const char *id, const char *scope, store_op *out)
{
    sqlite3_stmt *s = prep(st, "SELECT " OP_COLS " FROM operations WHERE id=?1 AND (?2 IS NULL OR tenant_id=?2)");
    if (!s) return ST_ERROR;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    bind_opt_text(s, 2, scope);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) { op_read(s, out); sqlite3_reset(s); return ST_OK; }
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? ST_NOTFOUND : rc_of(rc);
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
    sqlite3_stmt *s = prep(st, sql);
    if (!s) return ST_ERROR;
    sqlite3_bind_int64(s, 1, after);
    bind_opt_text(s, 2, scope);
    bind_opt_text(s, 3, cluster_id);
    sqlite3_bind_int(s, 4, limit);
    store_op *list = calloc((size_t)(limit > 0 ? limit : 1), sizeof *list);
    if (!list) { sqlite3_reset(s); return ST_ERROR; }
    int i = 0;
    while (i < limit && sqlite3_step(s) == SQLITE_ROW) op_read(s, &list[i++]);
    sqlite3_reset(s);
    *out = list; *n = i;
    return ST_OK;
}

int store_op_update(store_t *st, store_op *o)
{
    char now[SP_TS_MAX];
    sp_now_rfc3339(now);
    sqlite3_stmt *s = prep(st, "UPDATE operations SET state=?2, progress_percent=?3, steps=?4,"
                               " error=?5, updated_at=?6 WHERE id=?1");
    if (!s) return ST_ERROR;
    sqlite3_bind_text(s, 1, o->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, o->state, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 3, o->progress_percent);
    bind_json(s, 4, o->steps ? o->steps : json_array());
    bind_json(s, 5, o->error);
    sqlite3_bind_text(s, 6, now, -1, SQLITE_STATIC);
    int rc = step_done(s);
    if (rc != ST_OK) return rc;
    if (!changes(st)) return ST_NOTFOUND;
    snprintf(o->updated_at, sizeof o->updated_at, "%s", now);
    return ST_OK;
}

int store_op_current(store_t *st, const char *cluster_id, char out[SP_ID_MAX])
{
    out[0] = 0;
    sqlite3_stmt *s = prep(st, "SELECT id FROM operations WHERE cluster_id=?1"
                               " AND state IN ('PENDING','RUNNING') ORDER BY seq LIMIT 1");
    if (!s) return ST_ERROR;
    sqlite3_bind_text(s, 1, cluster_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) col_copy(s, 0, out, SP_ID_MAX);
    sqlite3_reset(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? ST_OK : rc_of(rc);
}

int store_op_later_active(store_t *st, const char *cluster_id, int64_t seq, char out[SP_ID_MAX])
{
    out[0] = 0;
    sqlite3_stmt *s = prep(st, "SELECT id FROM operations WHERE cluster_id=?1 AND seq>?2"
                               " AND state IN ('PENDING','RUNNING') ORDER BY seq DESC LIMIT 1");
    if (!s) return ST_ERROR;
    sqlite3_bind_text(s, 1, cluster_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, seq);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) col_copy(s, 0, out, SP_ID_MAX);
    sqlite3_reset(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? ST_OK : rc_of(rc);
}

int store_cluster_ids(store_t *st, void (*cb)(void *arg, const char *cluster_id), void *arg)
{
    sqlite3_stmt *s = prep(st, "SELECT id FROM clusters ORDER BY seq");
    if (!s) return ST_ERROR;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) cb(arg, (const char *)sqlite3_column_text(s, 0));
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? ST_OK : rc_of(rc);
}

int store_clusters_with_active_ops(store_t *st, void (*cb)(void *arg, const char *cluster_id), void *arg)
{
    sqlite3_stmt *s = prep(st, "SELECT DISTINCT cluster_id FROM operations WHERE state IN ('PENDING','RUNNING')");
    if (!s) return ST_ERROR;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) cb(arg, (const char *)sqlite3_column_text(s, 0));
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? ST_OK : rc_of(rc);
}

int store_op_supersede_active(store_t *st, const char *cluster_id, const char *message)
{
    char now[SP_TS_MAX];
    sp_now_rfc3339(now);
    sqlite3_stmt *s = prep(st, "UPDATE operations SET state='CANCELLED', updated_at=?2,"
                               " error=json_object('code','SUPERSEDED','message',?3)"
                               " WHERE cluster_id=?1 AND state IN ('PENDING','RUNNING')");
    if (!s) return ST_ERROR;
    sqlite3_bind_text(s, 1, cluster_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, now, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, message, -1, SQLITE_STATIC);
    return step_done(s);
}

/* ---- API keys ----------------------------------------------------------- */

#define KEY_COLS "seq, id, tenant_id, name, salt, hash, created_at, expires_at, revoked_at"

static void key_read(sqlite3_stmt *s, store_key *k)
{
    memset(k, 0, sizeof *k);
    k->seq = sqlite3_column_int64(s, 0);
    col_copy(s, 1, k->id, sizeof k->id);
    col_copy(s, 2, k->tenant_id, sizeof k->tenant_id);
    col_copy(s, 3, k->name, sizeof k->name);
    if (sqlite3_column_bytes(s, 4) == 16) memcpy(k->salt, sqlite3_column_blob(s, 4), 16);
    if (sqlite3_column_bytes(s, 5) == 32) memcpy(k->hash, sqlite3_column_blob(s, 5), 32);
    col_copy(s, 6, k->created_at, sizeof k->created_at);
    col_copy(s, 7, k->expires_at, sizeof k->expires_at);
    col_copy(s, 8, k->revoked_at, sizeof k->revoked_at);
}

int store_key_insert(store_t *st, const store_key *k)
{
    sqlite3_stmt *s = prep(st, "INSERT INTO api_keys(id, tenant_id, name, salt, hash, created_at, expires_at)"
                               " VALUES(?1,?2,?3,?4,?5,?6,?7)");
    if (!s) return ST_ERROR;
    sqlite3_bind_text(s, 1, k->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, k->tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, k->name, -1, SQLITE_STATIC);
    sqlite3_bind_blob(s, 4, k->salt, 16, SQLITE_STATIC);
    sqlite3_bind_blob(s, 5, k->hash, 32, SQLITE_STATIC);
    sqlite3_bind_text(s, 6, k->created_at, -1, SQLITE_STATIC);
    bind_opt_text(s, 7, k->expires_at);
    return step_done(s);
}

int store_key_get(store_t *st, const char *id, const char *tenant_id, store_key *out)
{
    sqlite3_stmt *s = prep(st, "SELECT " KEY_COLS " FROM api_keys WHERE id=?1"
                               " AND (?2 IS NULL OR tenant_id=?2) AND revoked_at IS NULL");
    if (!s) return ST_ERROR;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    bind_opt_text(s, 2, tenant_id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) { key_read(s, out); sqlite3_reset(s); return ST_OK; }
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? ST_NOTFOUND : rc_of(rc);
}

int store_key_list(store_t *st, const char *tenant_id, int64_t after, int limit,
                   store_key **out, int *n)
{
    *out = NULL; *n = 0;
    sqlite3_stmt *s = prep(st, "SELECT " KEY_COLS " FROM api_keys WHERE tenant_id=?1 AND seq>?2"
                               " AND revoked_at IS NULL ORDER BY seq LIMIT ?3");
    if (!s) return ST_ERROR;
    sqlite3_bind_text(s, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, after);
    sqlite3_bind_int(s, 3, limit);
    store_key *list = calloc((size_t)(limit > 0 ? limit : 1), sizeof *list);
    if (!list) { sqlite3_reset(s); return ST_ERROR; }
    int i = 0;
    while (i < limit && sqlite3_step(s) == SQLITE_ROW) key_read(s, &list[i++]);
    sqlite3_reset(s);
    *out = list; *n = i;
    return ST_OK;
}

int store_key_revoke(store_t *st, const char *id, const char *tenant_id, const char *when)
{
    sqlite3_stmt *s = prep(st, "UPDATE api_keys SET revoked_at=?3 WHERE id=?1 AND tenant_id=?2"
                               " AND revoked_at IS NULL");
    if (!s) return ST_ERROR;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, when, -1, SQLITE_STATIC);
    int rc = step_done(s);
    if (rc != ST_OK) return rc;
    return changes(st) ? ST_OK : ST_NOTFOUND;
}

int store_key_delete_tenant(store_t *st, const char *tenant_id)
{
    sqlite3_stmt *s = prep(st, "DELETE FROM api_keys WHERE tenant_id=?1");
    if (!s) return ST_ERROR;
    sqlite3_bind_text(s, 1, tenant_id, -1, SQLITE_STATIC);
    return step_done(s);
}

/* ---- idempotency --------------------------------------------------------
 * A key is remembered for 24 hours (as Stripe and the IETF draft suggest);
 * after that the same key starts a new request. */

#define IDEM_TTL_S (24 * 3600)

static void idem_horizon(char out[SP_TS_MAX])
{
    time_t t = time(NULL) - IDEM_TTL_S;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, SP_TS_MAX, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
}

void store_idem_clear(store_idem *i)
{
    free(i->body);
    memset(i, 0, sizeof *i);
}

int store_idem_get(store_t *st, const char *principal, const char *key, store_idem *out)
{
    char since[SP_TS_MAX];
    idem_horizon(since);
    sqlite3_stmt *s = prep(st, "SELECT body_hash, status, location, op_location, etag, body"
                               " FROM idempotency WHERE principal=?1 AND key=?2 AND created_at>=?3");
    if (!s) return ST_ERROR;
    sqlite3_bind_text(s, 1, principal, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, since, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        memset(out, 0, sizeof *out);
        col_copy(s, 0, out->body_hash, sizeof out->body_hash);
        out->status = sqlite3_column_int(s, 1);
        col_copy(s, 2, out->location, sizeof out->location);
        col_copy(s, 3, out->op_location, sizeof out->op_location);
        col_copy(s, 4, out->etag, sizeof out->etag);
        const char *b = (const char *)sqlite3_column_text(s, 5);
        out->body = strdup(b ? b : "");
        sqlite3_reset(s);
        return ST_OK;
    }
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? ST_NOTFOUND : rc_of(rc);
}

int store_idem_put(store_t *st, const char *principal, const char *key, const store_idem *in)
{
    char now[SP_TS_MAX], since[SP_TS_MAX];
    sp_now_rfc3339(now);
    idem_horizon(since);
    /* expired records go first (a few at a time, so no write grows unbounded),
     * including an expired one under this very key */
    sqlite3_stmt *s = prep(st, "DELETE FROM idempotency WHERE rowid IN (SELECT rowid FROM idempotency"
                               " WHERE created_at<?1 OR (principal=?2 AND key=?3 AND created_at<?1) LIMIT 16)");
    if (!s) return ST_ERROR;
    sqlite3_bind_text(s, 1, since, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, principal, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, key, -1, SQLITE_STATIC);
    int rc = step_done(s);
    if (rc != ST_OK) return rc;
    s = prep(st, "INSERT INTO idempotency(principal, key, body_hash, status, location,"
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
    return step_done(s);
}
