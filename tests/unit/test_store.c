/* The store on a real SQLite file: migrations, WAL, transactions,
 * optimistic versions, uniqueness, and what survives a reopen. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sqlite3.h>
#include "../../store/store.h"
#include "../../core/ops.h"
#include "fake_clock.h"

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
    ck_assert_int_eq(store_schema_version(st), 4);   /* migrations 1 to 4 */
    store_close(st);
    char wal[160];
    snprintf(wal, sizeof wal, "%s-wal", path);
    st = open_store();        /* reopen: no migration runs twice */
    ck_assert_int_eq(store_schema_version(st), 4);   /* migrations 1 to 4 */
    ck_assert_int_eq(store_ping(st), ST_OK);
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


static void cluster_row(store_res *c, const char *id, const char *tenant_id, const char *name)
{
    memset(c, 0, sizeof *c);
    snprintf(c->id, sizeof c->id, "%s", id);
    snprintf(c->tenant_id, sizeof c->tenant_id, "%s", tenant_id);
    snprintf(c->name, sizeof c->name, "%s", name);
    c->spec = json_pack("{s:s, s:i, s:i}", "name", name, "brokers", 1, "storage_gib", 10);
    c->status = json_object();
    c->generation = 1;
    c->brokers = 1;
    c->storage_gib = 10;
    snprintf(c->phase, sizeof c->phase, "PROVISIONING");
    snprintf(c->created_at, sizeof c->created_at, "2026-01-01T00:00:00.000Z");
}

/* Issue 9, defect 4: the purge deleted "16 expired rows" in no order, so
 * with more expired rows than that a key's own old row could survive, its
 * INSERT failed, and every retry with that key answered 500. */
START_TEST(idempotency_key_reused_after_expiry_with_many_expired)
{
    store_t *st = open_store();
    fake_clock fc;
    fake_clock_init(&fc, 1767225600000LL);            /* 2026-01-01T00:00:00Z */
    store_set_clock(st, &fc.clock);
    char body[] = "{}", key[16];
    store_idem in = {.status = 201, .body = body};
    snprintf(in.body_hash, sizeof in.body_hash, "h");
    ck_assert_int_eq(store_begin(st), ST_OK);
    for (int i = 0; i < 40; i++) {
        snprintf(key, sizeof key, "k%02d", i);
        ck_assert_int_eq(store_idem_put(st, "admin", key, &in), ST_OK);
        fake_clock_advance(&fc, 1000);
    }
    ck_assert_int_eq(store_commit(st), ST_OK);
    fake_clock_advance(&fc, 25LL * 3600 * 1000);      /* all 40 expired */
    store_idem got;
    ck_assert_int_eq(store_idem_get(st, "admin", "k39", &got), ST_NOTFOUND);
    ck_assert_int_eq(store_begin(st), ST_OK);
    ck_assert_int_eq(store_idem_put(st, "admin", "k39", &in), ST_OK);   /* the newest expired key, again */
    ck_assert_int_eq(store_commit(st), ST_OK);
    ck_assert_int_eq(store_idem_get(st, "admin", "k39", &got), ST_OK);
    store_idem_clear(&got);
    store_close(st);
}
END_TEST

/* Issue 9, defect 5: a list whose query failed part way answered a short
 * page marked OK. With a fault injected at the third row it now says so,
 * and frees what it had read (ASan checks). */
START_TEST(a_list_that_fails_part_way_says_so)
{
    store_t *st = open_store();
    char id[32], name[16];
    for (int i = 0; i < 5; i++) {
        store_res t;
        snprintf(id, sizeof id, "tn-%016d", i);
        snprintf(name, sizeof name, "t%d", i);
        tenant(&t, id, name);
        ck_assert_int_eq(store_res_insert(st, K_TENANT, &t), ST_OK);
        store_res_clear(&t);
    }
    store_res *list = (store_res *)1;
    int n = -1;
    store_fault_step(st, 3, SQLITE_BUSY);
    ck_assert_int_eq(store_res_list(st, K_TENANT, NULL, 0, 10, &list, &n), ST_BUSY);
    ck_assert_ptr_null(list);
    ck_assert_int_eq(n, 0);
    store_fault_step(st, 2, SQLITE_NOMEM);
    ck_assert_int_eq(store_res_list(st, K_TENANT, NULL, 0, 10, &list, &n), ST_ERROR);
    store_key *keys;
    store_fault_step(st, 1, SQLITE_BUSY);
    ck_assert_int_eq(store_key_list(st, "tn-0000000000000000", 0, 10, &keys, &n), ST_BUSY);
    store_op *ops;
    store_fault_step(st, 1, SQLITE_IOERR);
    ck_assert_int_eq(store_op_list(st, NULL, NULL, 0, 10, &ops, &n), ST_ERROR);
    store_fault_step(st, 0, 0);
    ck_assert_int_eq(store_res_list(st, K_TENANT, NULL, 0, 10, &list, &n), ST_OK);
    ck_assert_int_eq(n, 5);
    store_res_free_list(list, n);
    store_close(st);
}
END_TEST

/* Issue 9, defect 7: every constraint failure came back as ST_CONFLICT,
 * which the API answers as "name taken". */
START_TEST(only_uniqueness_is_a_conflict)
{
    store_t *st = open_store();
    store_res t, c;
    tenant(&t, "tn-aaaaaaaaaaaaaaaa", "acme");
    ck_assert_int_eq(store_res_insert(st, K_TENANT, &t), ST_OK);
    cluster_row(&c, "kc-aaaaaaaaaaaaaaaa", "tn-gonegonegonegone", "orders");      /* no such tenant */
    ck_assert_int_eq(store_res_insert(st, K_CLUSTER, &c), ST_CONSTRAINT);
    store_res_clear(&c);
    cluster_row(&c, "kc-aaaaaaaaaaaaaaaa", t.id, "orders");
    ck_assert_int_eq(store_res_insert(st, K_CLUSTER, &c), ST_OK);
    store_res_clear(&c);
    cluster_row(&c, "kc-bbbbbbbbbbbbbbbb", t.id, "orders");                      /* name taken */
    ck_assert_int_eq(store_res_insert(st, K_CLUSTER, &c), ST_CONFLICT);
    store_res_clear(&c);
    store_res_clear(&t);
    store_close(st);
}
END_TEST

/* Issue 9, defect 9: finishing a cluster's operations read every operation
 * it ever had (up to 10,000) on every completion; it reads the active ones. */
START_TEST(finishing_reads_only_active_operations)
{
    store_t *st = open_store();
    store_res t, c;
    tenant(&t, "tn-aaaaaaaaaaaaaaaa", "acme");
    ck_assert_int_eq(store_res_insert(st, K_TENANT, &t), ST_OK);
    cluster_row(&c, "kc-aaaaaaaaaaaaaaaa", t.id, "orders");
    ck_assert_int_eq(store_res_insert(st, K_CLUSTER, &c), ST_OK);
    ck_assert_int_eq(store_begin(st), ST_OK);
    char last[SP_ID_MAX] = "";
    for (int i = 0; i < 201; i++) {
        store_op o = {0};
        snprintf(o.id, sizeof o.id, "op-%016d", i);
        snprintf(o.cluster_id, sizeof o.cluster_id, "%s", c.id);
        snprintf(o.tenant_id, sizeof o.tenant_id, "%s", t.id);
        snprintf(o.type, sizeof o.type, "UPDATE");
        snprintf(o.state, sizeof o.state, i < 200 ? "SUCCEEDED" : "PENDING");
        o.target_generation = 1;
        snprintf(o.created_at, sizeof o.created_at, "2026-01-01T00:00:00.000Z");
        ck_assert_int_eq(store_op_insert(st, &o), ST_OK);
        snprintf(last, sizeof last, "%s", o.id);
    }
    int64_t s0 = store_steps(st);
    ck_assert_int_eq(ops_finish(st, c.id, 1, "wait for pods", "done", "2026-01-01T00:00:00.000Z"), ST_OK);
    int64_t steps = store_steps(st) - s0;
    ck_assert_int_eq(store_commit(st), ST_OK);
    ck_assert_msg(steps < 20, "finishing one operation took %lld statement steps", (long long)steps);
    store_op o;
    ck_assert_int_eq(store_op_get(st, last, NULL, &o), ST_OK);
    ck_assert_str_eq(o.state, "SUCCEEDED");
    store_op_clear(&o);
    store_res_clear(&c);
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
    tcase_add_test(t, idempotency_key_reused_after_expiry_with_many_expired);
    tcase_add_test(t, a_list_that_fails_part_way_says_so);
    tcase_add_test(t, only_uniqueness_is_a_conflict);
    tcase_add_test(t, finishing_reads_only_active_operations);
    suite_add_tcase(s, t);
    return s;
}
