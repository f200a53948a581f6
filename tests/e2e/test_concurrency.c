/* Many clients at once, shutdowns and kills: nothing lost, duplicated or
 * half-written. */
#define _GNU_SOURCE
#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "harness.h"

static spsrv S;
static char TID[64], KEY[128];
static const char *QUOTA = "{\"max_clusters\":10000,\"max_brokers\":100000,\"max_storage_gib\":100000000}";

/* load from one key: per-key rate limiting off, so every request counts */
static const char *const NOLIMIT[] = {"--rate-limit", "0", NULL};

static void up(void)
{
    memset(&S, 0, sizeof S);
    srv_start(&S, NULL, NOLIMIT);
    make_tenant(&S, "load", QUOTA, TID, KEY);
}
static void down(void) { srv_cleanup(&S); }

#define THREADS 32
#define PER_THREAD 6

typedef struct worker {
    int n;
    char ids[PER_THREAD][64];
    int created, patched, deleted, errors;
} worker;

static void *churn(void *arg)
{
    worker *w = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        char body[256], loc[256];
        snprintf(body, sizeof body, "{\"name\":\"t%d-c%d\",\"kafka_version\":\"3.9.1\",\"brokers\":3,\"storage_gib\":10}", w->n, i);
        spresp r = jreq(&S, "POST", "/v1/clusters", KEY, body);
        if (r.status != 202) { w->errors++; resp_free(&r); continue; }
        snprintf(w->ids[i], sizeof w->ids[i], "%s", jstr(&r, "id"));
        snprintf(loc, sizeof loc, "%s", r.location);
        w->created++;
        resp_free(&r);
        r = jreq(&S, "PATCH", loc, KEY, "{\"brokers\":4}");
        if (r.status == 202) w->patched++; else w->errors++;
        resp_free(&r);
        if (i % 2 == 0) {
            r = jreq(&S, "DELETE", loc, KEY, NULL);
            if (r.status == 202) w->deleted++; else w->errors++;
            resp_free(&r);
        }
    }
    return NULL;
}

static int sql_int(const char *db, const char *q)
{
    sqlite3 *h;
    ck_assert_int_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *s;
    ck_assert_int_eq(sqlite3_prepare_v2(h, q, -1, &s, NULL), SQLITE_OK);
    int v = -1;
    if (sqlite3_step(s) == SQLITE_ROW) v = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(h);
    return v;
}

static void integrity_ok(const char *db)
{
    sqlite3 *h;
    ck_assert_int_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *s;
    ck_assert_int_eq(sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &s, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
    ck_assert_str_eq((const char *)sqlite3_column_text(s, 0), "ok");
    sqlite3_finalize(s);
    ck_assert_int_eq(sqlite3_prepare_v2(h, "PRAGMA foreign_key_check", -1, &s, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(s), SQLITE_DONE);
    sqlite3_finalize(s);
    sqlite3_close(h);
}

/* The usage counters the triggers keep equal what the cluster rows add up to. */
static void usage_matches_clusters(const char *db)
{
    ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM tenant_usage u WHERE"
                                 " u.clusters != (SELECT count(*) FROM clusters c WHERE c.tenant_id=u.tenant_id)"
                                 " OR u.brokers != (SELECT coalesce(sum(brokers),0) FROM clusters c WHERE c.tenant_id=u.tenant_id)"
                                 " OR u.storage_gib != (SELECT coalesce(sum(brokers*storage_gib),0) FROM clusters c"
                                 " WHERE c.tenant_id=u.tenant_id)"), 0);
    ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM tenants t WHERE NOT EXISTS"
                                 " (SELECT 1 FROM tenant_usage u WHERE u.tenant_id=t.id)"), 0);
}

START_TEST(thirty_two_clients_create_patch_delete)
{
    pthread_t th[THREADS];
    worker w[THREADS];
    memset(w, 0, sizeof w);
    for (int i = 0; i < THREADS; i++) { w[i].n = i; pthread_create(&th[i], NULL, churn, &w[i]); }
    int created = 0, patched = 0, deleted = 0, errors = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        created += w[i].created; patched += w[i].patched; deleted += w[i].deleted; errors += w[i].errors;
    }
    ck_assert_int_eq(errors, 0);
    ck_assert_int_eq(created, THREADS * PER_THREAD);
    /* every created cluster is there exactly once, in the state its requests left it */
    for (int i = 0; i < THREADS; i++)
        for (int j = 0; j < PER_THREAD; j++) {
            char path[128];
            snprintf(path, sizeof path, "/v1/clusters/%s", w[i].ids[j]);
            spresp r = jreq(&S, "GET", path, KEY, NULL);
            ck_assert_int_eq(r.status, 200);
            ck_assert_int_eq(json_integer_value(json_object_get(r.json, "brokers")), 4);
            ck_assert_int_eq(json_integer_value(json_object_get(r.json, "generation")), 2);
            ck_assert_str_eq(jpath(r.json, "status.phase"), j % 2 == 0 ? "DELETING" : "PROVISIONING");
            resp_free(&r);
        }
    srv_stop(&S, SIGTERM);
    char db[200];
    snprintf(db, sizeof db, "%s/streamplane.db", S.dir);
    integrity_ok(db);
    ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM clusters"), created);
    ck_assert_int_eq(sql_int(db, "SELECT count(DISTINCT name) FROM clusters"), created);
    /* one CREATE and one SCALE_OUT per cluster, plus a DELETE where deleted */
    ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM operations"), created + patched + deleted);
    ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM operations WHERE type='CREATE'"), created);
    ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM operations WHERE type='DELETE'"), deleted);
    /* a delete supersedes what had not started: the CREATE and the SCALE_OUT */
    ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM operations WHERE state='CANCELLED'"), 2 * deleted);
    ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM operations WHERE state='PENDING'"), created + patched - deleted);
    ck_assert_int_eq(sql_int(db, "SELECT sum(brokers) FROM clusters"), created * 4);
    usage_matches_clusters(db);
}
END_TEST

typedef struct idem_arg { int status; char id[64]; } idem_arg;

static void *same_key(void *arg)
{
    idem_arg *a = arg;
    const char *const h[] = {"Content-Type: application/json", "Idempotency-Key: one-create", NULL};
    spresp r = req(&S, "POST", "/v1/clusters", KEY,
                   "{\"name\":\"once\",\"kafka_version\":\"3.9.1\",\"brokers\":1,\"storage_gib\":10}", 0, h);
    a->status = (int)r.status;
    if (r.status == 202) snprintf(a->id, sizeof a->id, "%s", jstr(&r, "id"));
    resp_free(&r);
    return NULL;
}

START_TEST(same_idempotency_key_at_once_creates_one)
{
    pthread_t th[16];
    idem_arg a[16];
    memset(a, 0, sizeof a);
    for (int i = 0; i < 16; i++) pthread_create(&th[i], NULL, same_key, &a[i]);
    for (int i = 0; i < 16; i++) pthread_join(th[i], NULL);
    int ok = 0;
    const char *id = NULL;
    for (int i = 0; i < 16; i++) {
        ck_assert_msg(a[i].status == 202 || a[i].status == 409, "status %d", a[i].status);
        if (a[i].status == 202) {
            ok++;
            if (id) ck_assert_str_eq(id, a[i].id);   /* replays carry the same cluster */
            id = a[i].id;
        }
    }
    ck_assert_int_ge(ok, 1);
    spresp r = jreq(&S, "GET", "/v1/clusters", KEY, NULL);
    ck_assert_uint_eq(json_array_size(json_object_get(r.json, "items")), 1);
    resp_free(&r);
}
END_TEST

typedef struct storm { int n; int accepted; char ids[64][64]; volatile int *stop; } storm;

static void *create_storm(void *arg)
{
    storm *st = arg;
    for (int i = 0; i < 64 && !*st->stop; i++) {
        char body[256];
        snprintf(body, sizeof body, "{\"name\":\"s%d-%d\",\"kafka_version\":\"3.9.1\",\"brokers\":1,\"storage_gib\":10}", st->n, i);
        spresp r = jreq(&S, "POST", "/v1/clusters", KEY, body);
        if (r.status == 202) snprintf(st->ids[st->accepted++], 64, "%s", jstr(&r, "id"));
        long code = r.status;
        resp_free(&r);
        if (code < 0) break;      /* server gone */
    }
    return NULL;
}

/* Kills (or stops) the server in the middle of a write storm; every request
 * that was answered 202 must exist after a restart, and the file is sound. */
static void storm_and(int sig)
{
    for (int round = 0; round < 3; round++) {
        volatile int stop = 0;
        pthread_t th[8];
        storm st[8];
        memset(st, 0, sizeof st);
        for (int i = 0; i < 8; i++) {
            st[i].n = round * 8 + i;
            st[i].stop = &stop;
            pthread_create(&th[i], NULL, create_storm, &st[i]);
        }
        usleep(150000 + round * 50000);
        int code = srv_stop(&S, sig);
        if (sig == SIGTERM) ck_assert_int_eq(code, 0);
        stop = 1;
        int accepted = 0;
        for (int i = 0; i < 8; i++) { pthread_join(th[i], NULL); accepted += st[i].accepted; }
        ck_assert_int_gt(accepted, 0);
        char db[200];
        snprintf(db, sizeof db, "%s/streamplane.db", S.dir);
        srv_start(&S, S.dir, NOLIMIT);
        integrity_ok(db);
        for (int i = 0; i < 8; i++)
            for (int j = 0; j < st[i].accepted; j++) {
                char path[128];
                snprintf(path, sizeof path, "/v1/clusters/%s", st[i].ids[j]);
                spresp r = jreq(&S, "GET", path, KEY, NULL);
                ck_assert_msg(r.status == 200, "accepted cluster %s lost after %s", st[i].ids[j],
                              sig == SIGKILL ? "kill -9" : "SIGTERM");
                resp_free(&r);
            }
        usage_matches_clusters(db);
        /* no half-written cluster: each has its CREATE operation */
        ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM clusters c WHERE NOT EXISTS"
                                     " (SELECT 1 FROM operations o WHERE o.cluster_id=c.id AND o.type='CREATE')"), 0);
    }
}

START_TEST(kill_9_during_writes_loses_no_accepted_request)
{
    storm_and(SIGKILL);
}
END_TEST

START_TEST(sigterm_finishes_in_flight_and_exits_cleanly)
{
    storm_and(SIGTERM);
    srv_stop(&S, SIGTERM);
    char logp[200];
    snprintf(logp, sizeof logp, "%s/server.log", S.dir);
    size_t n;
    FILE *f = fopen(logp, "r");
    ck_assert_ptr_nonnull(f);
    char *buf = calloc(1, 1 << 22);
    n = fread(buf, 1, (1 << 22) - 1, f);
    fclose(f);
    ck_assert_uint_gt(n, 0);
    ck_assert(strstr(buf, "\"msg\":\"shutting down\""));
    ck_assert(strstr(buf, "\"msg\":\"stopped\""));
    free(buf);
}
END_TEST

Suite *suite_concurrency(void)
{
    Suite *s = suite_create("concurrency");
    TCase *t = tcase_create("load");
    tcase_set_timeout(t, 180);
    tcase_add_checked_fixture(t, up, down);
    tcase_add_test(t, thirty_two_clients_create_patch_delete);
    tcase_add_test(t, same_idempotency_key_at_once_creates_one);
    tcase_add_test(t, kill_9_during_writes_loses_no_accepted_request);
    tcase_add_test(t, sigterm_finishes_in_flight_and_exits_cleanly);
    suite_add_tcase(s, t);
    return s;
}
