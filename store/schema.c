/* schema.c — the schema, as migrations applied in order on open. */
#define _GNU_SOURCE
#include "internal.h"

#include <stdio.h>

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
    /* 3: operations that are plans (core/plan.h): the planned steps and the
     * position reached (which pod, which batch), so a restarted process
     * resumes where the last one stopped. NULL for operations without one. */
    "ALTER TABLE operations ADD COLUMN plan TEXT;",
    /* 4: declared Kafka topics (issue 14). A topic is named within its
     * cluster; like clusters, one being deleted gives up its name at once
     * (a partial unique index), so a DELETE and a POST of the same name in
     * one Terraform apply both land and the worker deletes before it
     * creates. A cluster's row going takes its topics with it (its Kafka
     * went with the namespace). */
    "CREATE TABLE topics("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " cluster_id TEXT NOT NULL, tenant_id TEXT NOT NULL, name TEXT NOT NULL,"
    " spec TEXT NOT NULL, status TEXT NOT NULL DEFAULT '{}',"
    " partitions INTEGER NOT NULL, replication_factor INTEGER NOT NULL, phase TEXT NOT NULL,"
    " generation INTEGER NOT NULL, resource_version INTEGER NOT NULL,"
    " created_at TEXT NOT NULL, updated_at TEXT NOT NULL);"
    "CREATE UNIQUE INDEX topics_live_name ON topics(cluster_id, name) WHERE phase <> 'DELETING';"
    "CREATE INDEX topics_cluster ON topics(cluster_id, seq);"
    "CREATE INDEX topics_tenant ON topics(tenant_id);"
    "CREATE TRIGGER clusters_topics_del AFTER DELETE ON clusters BEGIN"
    " DELETE FROM topics WHERE cluster_id=OLD.id; END;",
};
#define NMIGRATIONS ((int)(sizeof MIGRATIONS / sizeof MIGRATIONS[0]))

int db_migrate(sqlite3 *db, char *err, size_t errlen)
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
        if (db_exec(db, "BEGIN IMMEDIATE") || db_exec(db, MIGRATIONS[v]) || db_exec(db, pragma) ||
            db_exec(db, "COMMIT")) {
            snprintf(err, errlen, "migration %d failed: %s", v + 1, sqlite3_errmsg(db));
            db_exec(db, "ROLLBACK");
            return -1;
        }
    }
    return 0;
fail:
    snprintf(err, errlen, "%s", sqlite3_errmsg(db));
    return -1;
}
