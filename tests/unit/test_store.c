/* The store on a real SQLite file: migrations, WAL, transactions,
 * optimistic versions, uniqueness, and what survives a reopen. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sqlite3.h>
#include "../../store/store.h"

static char dir[64], path[128];

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/sp-store-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/t.db", dir);
}

static void teardown(void)
{
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static store_t *open_store(void)
{
    char err[256];
    store_t *st = store_open(path, true, err, sizeof err);
    ck_assert_msg(st != NULL, "open: %s", err);
    return st;
}

static void tenant(store_res *r, const char *id, const char *name)
{
    memset(r, 0, sizeof *r);
    snprintf(r->id, sizeof r->id, "%s", id);
    snprintf(r->tenant_id, sizeof r->tenant_id, "%s", id);
    snprintf(r->name, sizeof r->name, "%s", name);
    r->spec = json_pack("{s:s}", "name", name);
    r->status = json_object();
    r->generation = 1;
    snprintf(r->created_at, sizeof r->created_at, "2026-01-01T00:00:00.000Z");
}

START_TEST(migrates_and_uses_wal)
{
    store_t *st = open_store();
    ck_assert_int_eq(store_schema_version(st), 2);   /* migrations 1 and 2 */
    store_close(st);
    char wal[160];
    snprintf(wal, sizeof wal, "%s-wal", path);
    st = open_store();        /* reopen: no migration runs twice */
    ck_assert_int_eq(store_schema_version(st), 2);   /* migrations 1 and 2 */
    ck_assert_int_eq(store_ping_write(st), ST_OK);
    ck_assert_int_eq(access(wal, F_OK), 0);
    store_close(st);
}
END_TEST

START_TEST(rollback_leaves_nothing)
{
    store_t *st = open_store();
    store_res r;
    tenant(&r, "tn-aaaaaaaaaaaaaaaa", "acme");
    ck_assert_int_eq(store_begin(st), ST_OK);
    ck_assert_int_eq(store_res_insert(st, K_TENANT, &r), ST_OK);
    store_rollback(st);
    store_res got;
    ck_assert_int_eq(store_res_get(st, K_TENANT, r.id, NULL, &got), ST_NOTFOUND);
    ck_assert_int_eq(store_begin(st), ST_OK);
    ck_assert_int_eq(store_res_insert(st, K_TENANT, &r), ST_OK);
    ck_assert_int_eq(store_commit(st), ST_OK);
    store_res_clear(&r);
    store_close(st);
    st = open_store();
    ck_assert_int_eq(store_res_get(st, K_TENANT, "tn-aaaaaaaaaaaaaaaa", NULL, &got), ST_OK);
    ck_assert_str_eq(got.name, "acme");
    ck_assert_int_eq(got.resource_version, 1);
    store_res_clear(&got);
    store_close(st);
}
END_TEST

START_TEST(versions_and_uniqueness)
{
    store_t *st = open_store();
    store_res a, b;
    tenant(&a, "tn-aaaaaaaaaaaaaaaa", "acme");
    tenant(&b, "tn-bbbbbbbbbbbbbbbb", "acme");
    ck_assert_int_eq(store_res_insert(st, K_TENANT, &a), ST_OK);
    ck_assert_int_eq(store_res_insert(st, K_TENANT, &b), ST_CONFLICT);   /* name taken */
    json_object_set_new(a.spec, "display_name", json_string("Acme"));
    ck_assert_int_eq(store_res_update(st, K_TENANT, &a, 1), ST_OK);
    ck_assert_int_eq(a.resource_version, 2);
    ck_assert_int_eq(store_res_update(st, K_TENANT, &a, 1), ST_STALE);    /* old version */
    ck_assert_int_eq(store_res_update(st, K_TENANT, &a, 0), ST_OK);       /* unconditional */
    ck_assert_int_eq(a.resource_version, 3);
    ck_assert_int_eq(store_res_delete(st, K_TENANT, a.id), ST_OK);
    ck_assert_int_eq(store_res_delete(st, K_TENANT, a.id), ST_NOTFOUND);
    store_res_clear(&a);
    store_res_clear(&b);
    store_close(st);
}
END_TEST

START_TEST(list_pages_by_seq_and_scope)
{
    store_t *st = open_store();
    for (int i = 0; i < 5; i++) {
        store_res r;
        char id[32], name[16];
        snprintf(id, sizeof id, "tn-aaaaaaaaaaaaaaa%c", 'a' + i);
        snprintf(name, sizeof name, "t%d", i);
        tenant(&r, id, name);
        ck_assert_int_eq(store_res_insert(st, K_TENANT, &r), ST_OK);
        store_res_clear(&r);
    }
    store_res *list;
    int n;
    ck_assert_int_eq(store_res_list(st, K_TENANT, NULL, 0, 3, &list, &n), ST_OK);
    ck_assert_int_eq(n, 3);
    int64_t last = list[2].seq;
    store_res_free_list(list, n);
    ck_assert_int_eq(store_res_list(st, K_TENANT, NULL, last, 3, &list, &n), ST_OK);
    ck_assert_int_eq(n, 2);
    ck_assert_str_eq(list[0].name, "t3");
    store_res_free_list(list, n);
    ck_assert_int_eq(store_res_list(st, K_TENANT, "tn-aaaaaaaaaaaaaaab", 0, 10, &list, &n), ST_OK);
    ck_assert_int_eq(n, 1);
    ck_assert_str_eq(list[0].name, "t1");
    store_res_free_list(list, n);
    store_close(st);
}
END_TEST

START_TEST(idempotency_records)
{
    store_t *st = open_store();
    store_idem in = {0}, out;
    snprintf(in.body_hash, sizeof in.body_hash, "abc");
    in.status = 202;
    in.body = "{\"id\":\"kc-x\"}";
    ck_assert_int_eq(store_idem_put(st, "admin", "k1", &in), ST_OK);
    ck_assert_int_eq(store_idem_put(st, "admin", "k1", &in), ST_CONFLICT);
    ck_assert_int_eq(store_idem_get(st, "admin", "k1", &out), ST_OK);
    ck_assert_int_eq(out.status, 202);
    ck_assert_str_eq(out.body, in.body);
    store_idem_clear(&out);
    ck_assert_int_eq(store_idem_get(st, "tn-other", "k1", &out), ST_NOTFOUND);   /* per principal */
    store_close(st);
    /* after 24 hours a key is forgotten, and may be used again */
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(db, "UPDATE idempotency SET created_at='2000-01-01T00:00:00.000Z'", 0, 0, 0), SQLITE_OK);
    sqlite3_close(db);
    st = open_store();
    ck_assert_int_eq(store_idem_get(st, "admin", "k1", &out), ST_NOTFOUND);
    ck_assert_int_eq(store_idem_put(st, "admin", "k1", &in), ST_OK);
    ck_assert_int_eq(store_idem_get(st, "admin", "k1", &out), ST_OK);
    store_idem_clear(&out);
    store_close(st);
}
END_TEST

START_TEST(usage_follows_cluster_rows)
{
    store_t *st = open_store();
    store_res t;
    tenant(&t, "tn-aaaaaaaaaaaaaaaa", "acme");
    ck_assert_int_eq(store_res_insert(st, K_TENANT, &t), ST_OK);
    int64_t c, b, g;
    ck_assert_int_eq(store_tenant_usage(st, t.id, &c, &b, &g), ST_OK);
    ck_assert_int_eq(c + b + g, 0);
    store_res k = {0};
    snprintf(k.id, sizeof k.id, "kc-aaaaaaaaaaaaaaaa");
    snprintf(k.tenant_id, sizeof k.tenant_id, "%s", t.id);
    snprintf(k.name, sizeof k.name, "orders");
    snprintf(k.phase, sizeof k.phase, "PROVISIONING");
    snprintf(k.created_at, sizeof k.created_at, "2026-01-01T00:00:00.000Z");
    k.spec = json_object();
    k.status = json_object();
    k.brokers = 3;
    k.storage_gib = 100;
    ck_assert_int_eq(store_res_insert(st, K_CLUSTER, &k), ST_OK);
    ck_assert_int_eq(store_tenant_usage(st, t.id, &c, &b, &g), ST_OK);
    ck_assert_int_eq(c, 1); ck_assert_int_eq(b, 3); ck_assert_int_eq(g, 300);
    k.brokers = 5;
    k.storage_gib = 200;
    ck_assert_int_eq(store_res_update(st, K_CLUSTER, &k, 0), ST_OK);
    ck_assert_int_eq(store_tenant_usage(st, t.id, &c, &b, &g), ST_OK);
    ck_assert_int_eq(c, 1); ck_assert_int_eq(b, 5); ck_assert_int_eq(g, 1000);
    /* a rolled-back change leaves the counters as they were */
    ck_assert_int_eq(store_begin(st), ST_OK);
    ck_assert_int_eq(store_res_delete(st, K_CLUSTER, k.id), ST_OK);
    store_rollback(st);
    ck_assert_int_eq(store_tenant_usage(st, t.id, &c, &b, &g), ST_OK);
    ck_assert_int_eq(c, 1);
    ck_assert_int_eq(store_res_delete(st, K_CLUSTER, k.id), ST_OK);
    ck_assert_int_eq(store_tenant_usage(st, t.id, &c, &b, &g), ST_OK);
    ck_assert_int_eq(c + b + g, 0);
    store_res_clear(&k);
    store_res_clear(&t);
    store_close(st);
}
END_TEST

Suite *suite_store(void)
{
    Suite *s = suite_create("store");
    TCase *t = tcase_create("sqlite");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, migrates_and_uses_wal);
    tcase_add_test(t, rollback_leaves_nothing);
    tcase_add_test(t, versions_and_uniqueness);
    tcase_add_test(t, list_pages_by_seq_and_scope);
    tcase_add_test(t, idempotency_records);
    tcase_add_test(t, usage_follows_cluster_rows);
    suite_add_tcase(s, t);
    return s;
}
