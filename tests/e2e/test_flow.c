/* The walk-through and the conventions, over real HTTP. */
#define _GNU_SOURCE
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "harness.h"
#include <sqlite3.h>

static spsrv S;
static void up(void) { memset(&S, 0, sizeof S); srv_start(&S, NULL, NULL); }
static void down(void) { srv_cleanup(&S); }

static const char *CLUSTER =
    "{\"name\":\"orders\",\"kafka_version\":\"3.9\",\"brokers\":3,\"storage_gib\":100,"
    "\"config\":{\"log.retention.hours\":\"168\",\"min.insync.replicas\":\"2\"}}";

START_TEST(walkthrough_operator_tenant_key_cluster)
{
    char tid[64], key[128], path[256];
    make_tenant(&S, "acme", "{\"max_clusters\":3}", tid, key);

    spresp r = jreq(&S, "POST", "/v1/clusters", key, CLUSTER);
    ck_assert_msg(r.status == 202, "%ld %s", r.status, r.body);
    const char *id = jstr(&r, "id");
    ck_assert_ptr_nonnull(id);
    ck_assert_int_eq(strncmp(id, "kc-", 3), 0);
    /* what the client sent comes back unchanged; defaults only in status */
    ck_assert_str_eq(jstr(&r, "kafka_version"), "3.9");
    ck_assert_str_eq(jpath(r.json, "status.kafka_version"), "3.9.1");
    ck_assert_str_eq(jpath(r.json, "status.availability"), "multi_zone");
    ck_assert_ptr_null(json_object_get(r.json, "availability"));
    ck_assert_str_eq(jpath(r.json, "config.log.retention.hours") ? "x" : "168", "168");
    ck_assert(json_is_string(json_object_get(json_object_get(r.json, "config"), "log.retention.hours")));
    ck_assert_str_eq(jstr(&r, "tenant_id"), tid);
    ck_assert_str_eq(jpath(r.json, "status.phase"), "PROVISIONING");
    ck_assert(r.etag[0] == '"');
    char loc[256];
    snprintf(loc, sizeof loc, "/v1/clusters/%s", id);
    ck_assert_str_eq(r.location, loc);
    const char *opid = jpath(r.json, "status.current_operation_id");
    ck_assert_ptr_nonnull(opid);
    char oploc[256];
    snprintf(oploc, sizeof oploc, "/v1/operations/%s", opid);
    ck_assert_str_eq(r.op_location, oploc);
    char cid[64], etag[64];
    snprintf(cid, sizeof cid, "%s", id);
    snprintf(etag, sizeof etag, "%s", r.etag);
    resp_free(&r);

    /* the operation */
    r = jreq(&S, "GET", oploc, key, NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(jstr(&r, "type"), "CREATE");
    ck_assert_str_eq(jstr(&r, "state"), "PENDING");
    ck_assert_str_eq(jstr(&r, "cluster_id"), cid);
    resp_free(&r);

    /* GET echoes the same ETag */
    r = jreq(&S, "GET", loc, key, NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.etag, etag);
    resp_free(&r);

    /* scale out with a merge patch and If-Match */
    char im[96];
    snprintf(im, sizeof im, "If-Match: %s", etag);
    const char *const h[] = {"Content-Type: application/merge-patch+json", im, NULL};
    const char *patch = "{\"brokers\":6}";
    r = req(&S, "PATCH", loc, key, patch, 0, h);
    ck_assert_msg(r.status == 202, "%ld %s", r.status, r.body);
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "brokers")), 6);
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "generation")), 2);
    ck_assert_str_eq(jstr(&r, "kafka_version"), "3.9");       /* untouched fields stay */
    ck_assert_str_ne(r.etag, etag);
    snprintf(path, sizeof path, "%s", r.op_location);
    resp_free(&r);
    r = jreq(&S, "GET", path, key, NULL);
    ck_assert_str_eq(jstr(&r, "type"), "SCALE_OUT");
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(json_object_get(r.json, "changes"), "brokers"), "to")), 6);
    resp_free(&r);

    /* the old ETag is now stale */
    r = req(&S, "PATCH", loc, key, "{\"brokers\":9}", 0, h);
    assert_problem(&r, 412);
    resp_free(&r);

    /* list operations of the cluster, oldest first */
    snprintf(path, sizeof path, "/v1/operations?cluster_id=%s", cid);
    r = jreq(&S, "GET", path, key, NULL);
    ck_assert_int_eq(r.status, 200);
    json_t *items = json_object_get(r.json, "items");
    ck_assert_uint_eq(json_array_size(items), 2);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(items, 0), "type")), "CREATE");
    resp_free(&r);

    /* usage reflects the cluster */
    r = jreq(&S, "GET", "/v1/usage", key, NULL);
    ck_assert_int_eq(r.status, 200);
    json_t *u = json_array_get(json_object_get(r.json, "items"), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(u, "used"), "brokers")), 6);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(u, "quotas"), "max_clusters")), 3);
    resp_free(&r);

    /* delete: 202, DELETING, repeated delete harmless, then updates refused */
    r = jreq(&S, "DELETE", loc, key, NULL);
    ck_assert_int_eq(r.status, 202);
    ck_assert_str_eq(jpath(r.json, "status.phase"), "DELETING");
    char delop[256];
    snprintf(delop, sizeof delop, "%s", r.op_location);
    resp_free(&r);
    r = jreq(&S, "DELETE", loc, key, NULL);
    ck_assert_int_eq(r.status, 202);
    ck_assert_str_eq(r.op_location, delop);
    resp_free(&r);
    r = jreq(&S, "PATCH", loc, key, "{\"brokers\":7}");
    assert_problem(&r, 409);
    resp_free(&r);
    /* the pending scale-out was superseded by the delete */
    r = jreq(&S, "GET", path, key, NULL);
    items = json_object_get(r.json, "items");
    ck_assert_uint_eq(json_array_size(items), 3);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(items, 1), "state")), "CANCELLED");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(items, 2), "type")), "DELETE");
    resp_free(&r);
}
END_TEST

START_TEST(put_replaces_and_same_put_is_a_noop)
{
    char tid[64], key[128];
    make_tenant(&S, "acme", NULL, tid, key);
    spresp r = jreq(&S, "POST", "/v1/clusters", key, CLUSTER);
    ck_assert_int_eq(r.status, 202);
    char loc[256];
    snprintf(loc, sizeof loc, "%s", r.location);
    /* Terraform sends back the whole object it read: server fields are ignored */
    json_t *back = json_deep_copy(r.json);
    resp_free(&r);
    char *txt = json_dumps(back, JSON_COMPACT);
    r = jreq(&S, "PUT", loc, key, txt);
    ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);   /* nothing changed */
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "generation")), 1);
    resp_free(&r);
    free(txt);
    /* a PUT without config removes it; storage grows */
    r = jreq(&S, "PUT", loc, key, "{\"name\":\"orders\",\"kafka_version\":\"3.9\",\"brokers\":3,\"storage_gib\":200}");
    ck_assert_msg(r.status == 202, "%ld %s", r.status, r.body);
    ck_assert_ptr_null(json_object_get(r.json, "config"));
    resp_free(&r);
    r = jreq(&S, "GET", loc, key, NULL);
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "storage_gib")), 200);
    char rv[32];
    snprintf(rv, sizeof rv, "%s", jstr(&r, "resource_version"));
    resp_free(&r);
    /* rules: no shrink, no downgrade, no rename */
    r = jreq(&S, "PATCH", loc, key, "{\"storage_gib\":100}");
    assert_problem(&r, 422);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(r.json, "errors"), 0), "field")), "storage_gib");
    resp_free(&r);
    r = jreq(&S, "PATCH", loc, key, "{\"kafka_version\":\"3.8.1\"}");
    assert_problem(&r, 422);
    resp_free(&r);
    r = jreq(&S, "PATCH", loc, key, "{\"name\":\"other\"}");
    assert_problem(&r, 422);
    resp_free(&r);
    /* upgrade is accepted and is a rolling restart */
    /* refused changes wrote nothing: the version read before still holds */
    char up[128];
    snprintf(up, sizeof up, "{\"kafka_version\":\"4.0.0\",\"resource_version\":\"%s\"}", rv);
    r = jreq(&S, "PATCH", loc, key, up);
    ck_assert_msg(r.status == 202, "%ld %s", r.status, r.body);
    char op[256];
    snprintf(op, sizeof op, "%s", r.op_location);
    resp_free(&r);
    r = jreq(&S, "GET", op, key, NULL);
    ck_assert_str_eq(jstr(&r, "type"), "ROLLING_RESTART");
    resp_free(&r);
    json_decref(back);
}
END_TEST

START_TEST(cancel_restores_the_previous_spec)
{
    char tid[64], key[128];
    make_tenant(&S, "acme", NULL, tid, key);
    spresp r = jreq(&S, "POST", "/v1/clusters", key, CLUSTER);
    char loc[256], create_op[300];
    snprintf(loc, sizeof loc, "%s", r.location);
    snprintf(create_op, sizeof create_op, "%s/cancel", r.op_location);
    resp_free(&r);
    r = jreq(&S, "POST", create_op, key, NULL);
    assert_problem(&r, 409);                      /* a create is not cancellable */
    resp_free(&r);
    r = jreq(&S, "PATCH", loc, key, "{\"brokers\":5}");
    ck_assert_int_eq(r.status, 202);
    char cancel[300];
    snprintf(cancel, sizeof cancel, "%s/cancel", r.op_location);
    resp_free(&r);
    r = jreq(&S, "POST", cancel, key, NULL);
    ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
    ck_assert_str_eq(jstr(&r, "state"), "CANCELLED");
    resp_free(&r);
    r = jreq(&S, "POST", cancel, key, NULL);      /* repeated cancel is harmless */
    ck_assert_int_eq(r.status, 200);
    resp_free(&r);
    r = jreq(&S, "GET", loc, key, NULL);
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "brokers")), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "generation")), 3);
    resp_free(&r);

    /* two queued changes: the older cannot be cancelled from under the newer */
    r = jreq(&S, "PATCH", loc, key, "{\"brokers\":5}");
    char first[300], second[300];
    snprintf(first, sizeof first, "%s/cancel", r.op_location);
    resp_free(&r);
    r = jreq(&S, "PATCH", loc, key, "{\"brokers\":6}");
    snprintf(second, sizeof second, "%s/cancel", r.op_location);
    resp_free(&r);
    r = jreq(&S, "POST", first, key, NULL);
    assert_problem(&r, 409);
    resp_free(&r);
    r = jreq(&S, "POST", second, key, NULL);
    ck_assert_int_eq(r.status, 200);
    resp_free(&r);
    r = jreq(&S, "POST", first, key, NULL);     /* now it is the newest still to do */
    ck_assert_int_eq(r.status, 200);
    resp_free(&r);
    r = jreq(&S, "GET", loc, key, NULL);
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "brokers")), 3);
    /* what remains to do is the create */
    ck_assert(strstr(create_op, jpath(r.json, "status.current_operation_id")) != NULL);
    resp_free(&r);
}
END_TEST

START_TEST(tenants_are_isolated)
{
    char ta[64], ka[128], tb[64], kb[128], path[320];
    make_tenant(&S, "alpha", NULL, ta, ka);
    make_tenant(&S, "beta", NULL, tb, kb);
    spresp r = jreq(&S, "POST", "/v1/clusters", ka, CLUSTER);
    ck_assert_int_eq(r.status, 202);
    char loc[256], op[256];
    snprintf(loc, sizeof loc, "%s", r.location);
    snprintf(op, sizeof op, "%s", r.op_location);
    resp_free(&r);
    /* the same name is fine in another tenant */
    r = jreq(&S, "POST", "/v1/clusters", kb, CLUSTER);
    ck_assert_int_eq(r.status, 202);
    resp_free(&r);
    /* beta cannot see or touch alpha's cluster or operation: 404, never 403 */
    const char *const methods[] = {"GET", "PATCH", "PUT", "DELETE"};
    for (int i = 0; i < 4; i++) {
        r = jreq(&S, methods[i], loc, kb, i == 1 || i == 2 ? CLUSTER : NULL);
        assert_problem(&r, 404);
        resp_free(&r);
    }
    r = jreq(&S, "GET", op, kb, NULL);
    assert_problem(&r, 404);
    resp_free(&r);
    snprintf(path, sizeof path, "%s/cancel", op);
    r = jreq(&S, "POST", path, kb, NULL);
    assert_problem(&r, 404);
    resp_free(&r);
    /* lists show only one's own */
    r = jreq(&S, "GET", "/v1/clusters", kb, NULL);
    json_t *items = json_object_get(r.json, "items");
    ck_assert_uint_eq(json_array_size(items), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(items, 0), "tenant_id")), tb);
    resp_free(&r);
    r = jreq(&S, "GET", "/v1/operations", kb, NULL);
    ck_assert_uint_eq(json_array_size(json_object_get(r.json, "items")), 1);
    resp_free(&r);
    /* another tenant's record and keys */
    snprintf(path, sizeof path, "/v1/tenants/%s", ta);
    r = jreq(&S, "GET", path, kb, NULL);
    assert_problem(&r, 404);
    resp_free(&r);
    snprintf(path, sizeof path, "/v1/tenants/%s", tb);
    r = jreq(&S, "GET", path, kb, NULL);
    ck_assert_int_eq(r.status, 200);           /* one's own tenant is readable */
    resp_free(&r);
    snprintf(path, sizeof path, "/v1/tenants/%s/api-keys", ta);
    r = jreq(&S, "GET", path, kb, NULL);
    assert_problem(&r, 403);                   /* key management is the operator's */
    resp_free(&r);
    /* a tenant cannot create in another tenant's name */
    char body[512];
    snprintf(body, sizeof body, "{\"tenant_id\":\"%s\",\"name\":\"x\",\"kafka_version\":\"3.9.1\",\"brokers\":1,\"storage_gib\":10}", ta);
    r = jreq(&S, "POST", "/v1/clusters", kb, body);
    assert_problem(&r, 422);
    resp_free(&r);
    /* the operator sees both */
    r = jreq(&S, "GET", "/v1/clusters", ADMIN, NULL);
    ck_assert_uint_eq(json_array_size(json_object_get(r.json, "items")), 2);
    resp_free(&r);
}
END_TEST

START_TEST(revoked_key_answers_401)
{
    char tid[64], key[128], path[256];
    make_tenant(&S, "acme", NULL, tid, key);
    spresp r = jreq(&S, "GET", "/v1/clusters", key, NULL);
    ck_assert_int_eq(r.status, 200);
    resp_free(&r);
    char kid[64];
    snprintf(kid, sizeof kid, "%.*s", (int)(strchr(key, '.') - key), key);
    snprintf(path, sizeof path, "/v1/tenants/%s/api-keys", tid);
    r = jreq(&S, "GET", path, ADMIN, NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert(strstr(r.body, "secret") == NULL);       /* shown once only */
    ck_assert(strstr(r.body, kid) != NULL);
    resp_free(&r);
    snprintf(path, sizeof path, "/v1/tenants/%s/api-keys/%s", tid, kid);
    r = jreq(&S, "DELETE", path, ADMIN, NULL);
    ck_assert_int_eq(r.status, 204);
    resp_free(&r);
    r = jreq(&S, "GET", "/v1/clusters", key, NULL);
    assert_problem(&r, 401);
    resp_free(&r);
    r = jreq(&S, "GET", path, ADMIN, NULL);
    assert_problem(&r, 404);
    resp_free(&r);
    /* a forged secret for a live key id fails too */
    make_tenant(&S, "other", NULL, tid, key);
    char forged[160];
    snprintf(forged, sizeof forged, "%s", key);
    char *dot = strchr(forged, '.');
    dot[1] = dot[1] == 'A' ? 'B' : 'A';
    r = jreq(&S, "GET", "/v1/clusters", forged, NULL);
    assert_problem(&r, 401);
    resp_free(&r);
}
END_TEST

START_TEST(restart_keeps_everything)
{
    char tid[64], key[128];
    make_tenant(&S, "acme", NULL, tid, key);
    spresp r = jreq(&S, "POST", "/v1/clusters", key, CLUSTER);
    char loc[256], etag[64];
    snprintf(loc, sizeof loc, "%s", r.location);
    snprintf(etag, sizeof etag, "%s", r.etag);
    char *before = json_dumps(r.json, JSON_SORT_KEYS);
    resp_free(&r);
    ksim k = {0};
    ksim_start(&k);
    char dp[512];
    ksim_plane_body(&k, "eu-1", dp, sizeof dp);
    r = jreq(&S, "POST", "/v1/data-planes", ADMIN, dp);
    ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
    ck_assert(strstr(r.body, KSIM_TOKEN) == NULL);
    char dploc[256];
    snprintf(dploc, sizeof dploc, "%s", r.location);
    resp_free(&r);

    ck_assert_int_eq(srv_stop(&S, SIGTERM), 0);       /* clean shutdown */
    /* the credential is not in the database file in clear */
    char cmd[600];
    snprintf(cmd, sizeof cmd, "grep -c " KSIM_TOKEN " %s/streamplane.db %s/streamplane.db-wal 2>/dev/null | grep -v ':0' | wc -l", S.dir, S.dir);
    FILE *p = popen(cmd, "r");
    int hits = -1;
    ck_assert_int_eq(fscanf(p, "%d", &hits), 1);
    pclose(p);
    ck_assert_int_eq(hits, 0);

    srv_start(&S, S.dir, NULL);
    r = jreq(&S, "GET", loc, key, NULL);              /* the same key still works */
    ck_assert_int_eq(r.status, 200);
    char *after = json_dumps(r.json, JSON_SORT_KEYS);
    ck_assert_str_eq(before, after);
    ck_assert_str_eq(r.etag, etag);
    free(before);
    free(after);
    resp_free(&r);
    r = jreq(&S, "GET", dploc, ADMIN, NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(jpath(r.json, "status.credentials.kind"), "token");
    resp_free(&r);
    /* the sealed credential still opens after restart: a patch merges into it */
    r = jreq(&S, "PATCH", dploc, ADMIN, "{\"region\":\"eu-central\",\"kubernetes\":{\"insecure_skip_tls_verify\":false}}");
    ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);   /* probed again with the opened token */
    ck_assert_str_eq(jstr(&r, "region"), "eu-central");
    resp_free(&r);
    ksim_cleanup(&k);
}
END_TEST

/* Terraform's replacement deletes and creates the same name in one apply,
 * before the workers finish the deletion (here: no workers at all). */
START_TEST(a_deleting_cluster_gives_up_its_name)
{
    char tid[64], key[128];
    make_tenant(&S, "acme", NULL, tid, key);
    spresp a = jreq(&S, "POST", "/v1/clusters", key, CLUSTER);
    ck_assert_int_eq(a.status, 202);
    char old[256];
    snprintf(old, sizeof old, "%s", a.location);
    spresp d = jreq(&S, "DELETE", old, key, NULL);
    ck_assert_int_eq(d.status, 202);
    spresp b = jreq(&S, "POST", "/v1/clusters", key, CLUSTER);
    ck_assert_msg(b.status == 202, "%ld %s", b.status, b.body);           /* was 409 name-taken */
    ck_assert_str_ne(jstr(&a, "id"), jstr(&b, "id"));
    spresp g = jreq(&S, "GET", old, key, NULL);
    ck_assert_str_eq(jpath(g.json, "status.phase"), "DELETING");          /* the old one is still there */
    spresp c = jreq(&S, "POST", "/v1/clusters", key, CLUSTER);
    assert_problem(&c, 409);                                              /* the live one holds the name */
    resp_free(&a); resp_free(&d); resp_free(&b); resp_free(&g); resp_free(&c);
}
END_TEST

START_TEST(idempotency_key_replays_and_refuses)
{
    char tid[64], key[128];
    make_tenant(&S, "acme", NULL, tid, key);
    const char *const h[] = {"Content-Type: application/json", "Idempotency-Key: create-orders-1", NULL};
    spresp a = req(&S, "POST", "/v1/clusters", key, CLUSTER, 0, h);
    ck_assert_int_eq(a.status, 202);
    spresp b = req(&S, "POST", "/v1/clusters", key, CLUSTER, 0, h);
    ck_assert_int_eq(b.status, 202);                      /* not 409 name-taken */
    ck_assert_str_eq(jstr(&a, "id"), jstr(&b, "id"));
    ck_assert_str_eq(a.location, b.location);
    ck_assert_str_eq(a.op_location, b.op_location);
    resp_free(&b);
    /* same key, other body */
    const char *other = "{\"name\":\"payments\",\"kafka_version\":\"3.9\",\"brokers\":3,\"storage_gib\":100}";
    b = req(&S, "POST", "/v1/clusters", key, other, 0, h);
    assert_problem(&b, 422);
    resp_free(&b);
    /* only one cluster exists */
    b = jreq(&S, "GET", "/v1/clusters", key, NULL);
    ck_assert_uint_eq(json_array_size(json_object_get(b.json, "items")), 1);
    resp_free(&b);
    resp_free(&a);
}
END_TEST

START_TEST(pagination_walks_every_item_once)
{
    char tid[64], key[128];
    make_tenant(&S, "acme", "{\"max_clusters\":20,\"max_brokers\":100}", tid, key);
    for (int i = 0; i < 7; i++) {
        char body[256];
        snprintf(body, sizeof body, "{\"name\":\"c%d\",\"kafka_version\":\"3.9.1\",\"brokers\":1,\"storage_gib\":10}", i);
        spresp r = jreq(&S, "POST", "/v1/clusters", key, body);
        ck_assert_int_eq(r.status, 202);
        resp_free(&r);
    }
    char path[512] = "/v1/clusters?page_size=3";
    int seen = 0, pages = 0;
    char names[8] = {0};
    for (;;) {
        spresp r = jreq(&S, "GET", path, key, NULL);
        ck_assert_int_eq(r.status, 200);
        json_t *items = json_object_get(r.json, "items");
        size_t i; json_t *it;
        json_array_foreach(items, i, it) {
            int n = json_string_value(json_object_get(it, "name"))[1] - '0';
            ck_assert_int_eq(names[n], 0);
            names[n] = 1;
            seen++;
        }
        pages++;
        const char *tok = jstr(&r, "next_page_token");
        if (!tok) { resp_free(&r); break; }
        snprintf(path, sizeof path, "/v1/clusters?page_size=3&page_token=%s", tok);
        resp_free(&r);
    }
    ck_assert_int_eq(seen, 7);
    ck_assert_int_eq(pages, 3);
    /* a full last page has no token pointing at an empty one */
    spresp r = jreq(&S, "GET", "/v1/clusters?page_size=7", key, NULL);
    ck_assert_uint_eq(json_array_size(json_object_get(r.json, "items")), 7);
    ck_assert_ptr_null(json_object_get(r.json, "next_page_token"));
    resp_free(&r);
}
END_TEST

START_TEST(quotas_are_enforced)
{
    char tid[64], key[128];
    make_tenant(&S, "small", "{\"max_clusters\":1,\"max_brokers\":3,\"max_storage_gib\":300}", tid, key);
    spresp r = jreq(&S, "POST", "/v1/clusters", key, CLUSTER);
    ck_assert_int_eq(r.status, 202);
    char loc[256];
    snprintf(loc, sizeof loc, "%s", r.location);
    resp_free(&r);
    r = jreq(&S, "POST", "/v1/clusters", key, "{\"name\":\"two\",\"kafka_version\":\"3.9\",\"brokers\":1,\"storage_gib\":10}");
    assert_problem(&r, 403);
    ck_assert(strstr(jstr(&r, "detail"), "max_clusters") != NULL);
    resp_free(&r);
    r = jreq(&S, "PATCH", loc, key, "{\"brokers\":4}");
    assert_problem(&r, 403);
    resp_free(&r);
    r = jreq(&S, "PATCH", loc, key, "{\"storage_gib\":101}");
    assert_problem(&r, 403);
    resp_free(&r);
}
END_TEST

/* The store's readiness probe row and the WAL's size, read straight from
 * the server's SQLite file. */
static void store_marks(char probe[64], long long *wal)
{
    char db[200], walp[210];
    snprintf(db, sizeof db, "%s/streamplane.db", S.dir);
    snprintf(walp, sizeof walp, "%s-wal", db);
    sqlite3 *h;
    ck_assert_int_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *q;
    ck_assert_int_eq(sqlite3_prepare_v2(h, "SELECT v FROM meta WHERE k='ready_probe'", -1, &q, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
    snprintf(probe, 64, "%s", (const char *)sqlite3_column_text(q, 0));
    sqlite3_finalize(q);
    sqlite3_close(h);
    struct stat sb;
    *wal = stat(walp, &sb) == 0 ? (long long)sb.st_size : -1;
}

/* Issue 9, defect 3: /readyz (no token, no rate limit) wrote to the store on
 * every call, so anyone could load the single writer. It reads now. */
START_TEST(readyz_writes_nothing)
{
    spresp r = req(&S, "GET", "/readyz", NULL, NULL, 0, NULL);   /* the first may open the connection */
    ck_assert_int_eq(r.status, 200);
    resp_free(&r);
    char before[64], after[64];
    long long wal0, wal1;
    store_marks(before, &wal0);
    for (int i = 0; i < 50; i++) {
        r = req(&S, "GET", "/readyz", NULL, NULL, 0, NULL);
        ck_assert_int_eq(r.status, 200);
        ck_assert_str_eq(jstr(&r, "status"), "ready");
        resp_free(&r);
        usleep(2000);                                           /* timestamps in ms: each call a new one */
    }
    store_marks(after, &wal1);
    ck_assert_str_eq(after, before);
    ck_assert_int_eq(wal1, wal0);
}
END_TEST

START_TEST(system_endpoints)
{
    spresp r = req(&S, "GET", "/readyz", NULL, NULL, 0, NULL);
    ck_assert_int_eq(r.status, 200);
    resp_free(&r);
    r = req(&S, "GET", "/openapi.yaml", NULL, NULL, 0, NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert(strncmp(r.body, "openapi: 3.1", 12) == 0);
    resp_free(&r);
    r = req(&S, "GET", "/docs", NULL, NULL, 0, NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert(strstr(r.body, "/openapi.yaml") && strstr(r.body, "redoc.standalone.js"));
    ck_assert(strstr(r.body, "http://") == NULL && strstr(r.body, "https://") == NULL);   /* no CDN */
    resp_free(&r);
    r = req(&S, "GET", "/docs/redoc.standalone.js", NULL, NULL, 0, NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_uint_gt(r.len, 100000);
    resp_free(&r);
    /* a client's request id is echoed; otherwise one is made */
    const char *const h[] = {"X-Request-Id: trace-abc-123", NULL};
    r = req(&S, "GET", "/healthz", NULL, NULL, 0, h);
    ck_assert_str_eq(r.request_id, "trace-abc-123");
    resp_free(&r);
    char tid[64], key[128];
    make_tenant(&S, "acme", NULL, tid, key);
    r = jreq(&S, "POST", "/v1/clusters", key, CLUSTER);
    resp_free(&r);
    r = req(&S, "GET", "/metrics", NULL, NULL, 0, NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert(strstr(r.body, "streamplane_http_requests_total{route=\"/v1/clusters\",method=\"POST\",status=\"202\"} 1"));
    ck_assert(strstr(r.body, "streamplane_clusters{phase=\"PROVISIONING\"} 1"));
    ck_assert(strstr(r.body, "streamplane_work_queue_depth 1"));
    ck_assert(strstr(r.body, "streamplane_http_request_duration_seconds_bucket"));
    /* promtool agrees it is valid exposition format */
    char file[200];
    snprintf(file, sizeof file, "%s/metrics.txt", S.dir);
    FILE *f = fopen(file, "w");
    fwrite(r.body, 1, r.len, f);
    fclose(f);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "promtool check metrics < %s", file);
    ck_assert_int_eq(system(cmd), 0);
    resp_free(&r);
}
END_TEST

/* A kubeconfig for kube-sim, as a JSON string value (newlines escaped). */
static void kubeconfig_for(const ksim *k, const char *ns, char *out, size_t cap)
{
    snprintf(out, cap, "apiVersion: v1\\nkind: Config\\ncurrent-context: sim\\n"
             "clusters:\\n- name: sim\\n  cluster:\\n    server: %s\\n"
             "users:\\n- name: sa\\n  user:\\n    token: %s\\n"
             "contexts:\\n- name: sim\\n  context: {cluster: sim, user: sa, namespace: %s}\\n",
             k->url, KSIM_TOKEN, ns);
}

START_TEST(data_planes_crud_and_secrets)
{
    ksim k = {0};
    ksim_start(&k);
    char cfg[1024], dp[2048];
    kubeconfig_for(&k, "one", cfg, sizeof cfg);
    snprintf(dp, sizeof dp, "{\"name\":\"eu-1\",\"region\":\"eu-west\",\"zones\":[\"a\",\"b\"],"
                            "\"capacity\":{\"max_brokers\":50},\"kubernetes\":{\"kubeconfig\":\"%s\"},"
                            "\"kafka_access\":\"external\",\"allow_insecure_transport\":true}", cfg);
    spresp r = jreq(&S, "POST", "/v1/data-planes", ADMIN, dp);
    ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
    ck_assert_ptr_null(json_object_get(json_object_get(r.json, "kubernetes"), "kubeconfig"));
    ck_assert_str_eq(jpath(r.json, "status.credentials.kind"), "kubeconfig");
    ck_assert_str_eq(jpath(r.json, "status.reachable"), "True");
    ck_assert_ptr_nonnull(jpath(r.json, "status.last_checked_at"));
    const char *fp1 = jpath(r.json, "status.credentials.fingerprint");
    ck_assert_ptr_nonnull(fp1);
    char fp[80], loc[256];
    snprintf(fp, sizeof fp, "%s", fp1);
    snprintf(loc, sizeof loc, "%s", r.location);
    char id[64];
    snprintf(id, sizeof id, "%s", jstr(&r, "id"));
    resp_free(&r);
    r = jreq(&S, "POST", "/v1/data-planes", ADMIN, dp);
    assert_problem(&r, 409);
    resp_free(&r);
    /* rotate the credential */
    char patch[1200];
    kubeconfig_for(&k, "two", cfg, sizeof cfg);
    snprintf(patch, sizeof patch, "{\"kubernetes\":{\"kubeconfig\":\"%s\"}}", cfg);
    r = jreq(&S, "PATCH", loc, ADMIN, patch);
    ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
    ck_assert_str_ne(jpath(r.json, "status.credentials.fingerprint"), fp);
    resp_free(&r);
    /* a cluster on it keeps it from being deleted */
    char tid[64], key[128], body[512];
    make_tenant(&S, "acme", NULL, tid, key);
    snprintf(body, sizeof body, "{\"name\":\"a\",\"kafka_version\":\"3.9.1\",\"brokers\":1,\"storage_gib\":10,\"data_plane_id\":\"%s\"}", id);
    r = jreq(&S, "POST", "/v1/clusters", key, body);
    ck_assert_msg(r.status == 202, "%ld %s", r.status, r.body);
    ck_assert_str_eq(jstr(&r, "data_plane_id"), id);
    resp_free(&r);
    r = jreq(&S, "GET", loc, ADMIN, NULL);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(r.json, "status"), "used_brokers")), 1);
    resp_free(&r);
    r = jreq(&S, "DELETE", loc, ADMIN, NULL);
    assert_problem(&r, 409);
    resp_free(&r);
    /* tenants cannot manage data planes */
    r = jreq(&S, "GET", "/v1/data-planes", key, NULL);
    assert_problem(&r, 403);
    resp_free(&r);
    r = jreq(&S, "GET", "/v1/data-planes", ADMIN, NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_uint_eq(json_array_size(json_object_get(r.json, "items")), 1);
    resp_free(&r);
    /* a data plane that cannot be reached is refused, with the reason */
    r = jreq(&S, "POST", "/v1/data-planes", ADMIN,
             "{\"name\":\"gone\",\"allow_insecure_transport\":true,\"kubernetes\":{\"server\":\"http://127.0.0.1:1\",\"token\":\"t\"}}");
    assert_problem(&r, 422);
    ck_assert(strstr(jstr(&r, "detail"), "cannot reach"));
    resp_free(&r);
    char wrong[512];
    snprintf(wrong, sizeof wrong, "{\"name\":\"wrong\",\"allow_insecure_transport\":true,\"kubernetes\":{\"server\":\"%s\",\"token\":\"nope\"}}", k.url);
    r = jreq(&S, "POST", "/v1/data-planes", ADMIN, wrong);
    assert_problem(&r, 422);
    ck_assert(strstr(jstr(&r, "detail"), "Unauthorized"));
    resp_free(&r);
    ksim_cleanup(&k);
}
END_TEST

START_TEST(tenant_lifecycle)
{
    char tid[64], key[128], path[256];
    make_tenant(&S, "acme", NULL, tid, key);
    snprintf(path, sizeof path, "/v1/tenants/%s", tid);
    spresp r = jreq(&S, "PATCH", path, ADMIN, "{\"quotas\":{\"max_clusters\":1},\"display_name\":\"Acme Inc.\"}");
    ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(r.json, "quotas"), "max_clusters")), 1);
    ck_assert_ptr_null(json_object_get(json_object_get(r.json, "quotas"), "max_brokers"));   /* defaults not written back */
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(json_object_get(r.json, "status"), "effective_quotas"), "max_brokers")), 30);
    resp_free(&r);
    r = jreq(&S, "POST", "/v1/tenants", ADMIN, "{\"name\":\"acme\"}");
    assert_problem(&r, 409);
    resp_free(&r);
    r = jreq(&S, "POST", "/v1/clusters", key, CLUSTER);
    char loc[256];
    snprintf(loc, sizeof loc, "%s", r.location);
    resp_free(&r);
    r = jreq(&S, "DELETE", path, ADMIN, NULL);
    assert_problem(&r, 409);                       /* still has a cluster */
    resp_free(&r);
    r = jreq(&S, "GET", "/v1/tenants", ADMIN, NULL);
    ck_assert_uint_eq(json_array_size(json_object_get(r.json, "items")), 1);
    resp_free(&r);
}
END_TEST

/* ---- the command line ---------------------------------------------------- */

static char *run_cmd(const char *cmd, int *status)
{
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    char *out = calloc(1, 65536);
    size_t n = fread(out, 1, 65535, p);
    out[n] = 0;
    *status = pclose(p);
    return out;
}

START_TEST(help_documents_every_option)
{
    int st;
    char *out = run_cmd(SP_BINARY " serve --help", &st);
    ck_assert_int_eq(WEXITSTATUS(st), 0);
    const char *opts[] = {"--listen", "--data-dir", "--workers", "--http-threads", "--log-format", "--log-level",
                          "--max-body-bytes", "--rate-limit", "--rate-burst", "--sync", "--docs-asset", "--resync-seconds",
                          "STREAMPLANE_ADMIN_TOKEN", "STREAMPLANE_MASTER_KEY", "STREAMPLANE_LISTEN"};
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
        ck_assert_msg(strstr(out, opts[i]), "--help does not mention %s", opts[i]);
    free(out);
    out = run_cmd(SP_BINARY " serve --workers -1 2>&1", &st);
    ck_assert_int_eq(WEXITSTATUS(st), 2);
    ck_assert(strstr(out, "--workers"));
    free(out);
    out = run_cmd(SP_BINARY " serve --no-such-flag 2>&1", &st);
    ck_assert_int_eq(WEXITSTATUS(st), 2);
    free(out);
    out = run_cmd("STREAMPLANE_LOG_FORMAT=yaml " SP_BINARY " serve 2>&1", &st);
    ck_assert_int_eq(WEXITSTATUS(st), 2);
    ck_assert(strstr(out, "STREAMPLANE_LOG_FORMAT"));
    free(out);
    out = run_cmd(SP_BINARY " routes", &st);
    ck_assert_int_eq(WEXITSTATUS(st), 0);
    ck_assert(strstr(out, "POST /v1/clusters\n") && strstr(out, "GET /healthz\n"));
    free(out);
}
END_TEST

/* No STREAMPLANE_ADMIN_TOKEN: a token and a master key are generated into
 * the data directory with mode 0600, the environment sets the address, and a
 * second start reuses both. */
START_TEST(first_start_generates_secrets)
{
    char dir[] = "/tmp/sp-first-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    spsrv tmp = {0};
    srv_start(&tmp, dir, NULL);        /* only to learn a free port */
    srv_stop(&tmp, SIGTERM);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -f %s/*; env -u STREAMPLANE_ADMIN_TOKEN STREAMPLANE_LISTEN=127.0.0.1:%d "
             "STREAMPLANE_DATA_DIR=%s/d " SP_BINARY " serve >/dev/null 2>%s/log & echo $!", dir, tmp.port, dir, dir);
    int st;
    char *pid = run_cmd(cmd, &st);
    char tokpath[200], keypath[200];
    snprintf(tokpath, sizeof tokpath, "%s/d/admin-token", dir);
    snprintf(keypath, sizeof keypath, "%s/d/master.key", dir);
    struct stat sb;
    for (int i = 0; i < 200 && stat(keypath, &sb) != 0; i++) usleep(20000);
    usleep(200000);
    ck_assert_int_eq(stat(tokpath, &sb), 0);
    ck_assert_int_eq(sb.st_mode & 0777, 0600);
    ck_assert_int_eq(stat(keypath, &sb), 0);
    ck_assert_int_eq(sb.st_mode & 0777, 0600);
    char *tok = run_cmd((snprintf(cmd, sizeof cmd, "cat %s", tokpath), cmd), &st);
    tok[strcspn(tok, "\n")] = 0;
    ck_assert_uint_ge(strlen(tok), 40);
    /* the files are written before the store's migrations run: wait until
     * it listens (a refused connection is status -7) */
    spresp r = jreq(&tmp, "GET", "/v1/tenants", tok, NULL);
    for (int i = 0; i < 500 && r.status == -7; i++) {
        resp_free(&r);
        usleep(20000);
        r = jreq(&tmp, "GET", "/v1/tenants", tok, NULL);
    }
    ck_assert_int_eq(r.status, 200);
    resp_free(&r);
    snprintf(cmd, sizeof cmd, "kill %d", atoi(pid));
    ck_assert_int_eq(system(cmd), 0);
    usleep(300000);
    char *log = run_cmd((snprintf(cmd, sizeof cmd, "cat %s/log", dir), cmd), &st);
    ck_assert(strstr(log, "generated the operator token") && strstr(log, "admin-token"));
    free(log);
    free(pid);
    free(tok);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

Suite *suite_flow(void)
{
    Suite *s = suite_create("flow");
    TCase *t = tcase_create("walkthrough");
    tcase_set_timeout(t, 60);
    tcase_add_checked_fixture(t, up, down);
    tcase_add_test(t, walkthrough_operator_tenant_key_cluster);
    tcase_add_test(t, put_replaces_and_same_put_is_a_noop);
    tcase_add_test(t, a_deleting_cluster_gives_up_its_name);
    tcase_add_test(t, cancel_restores_the_previous_spec);
    tcase_add_test(t, tenants_are_isolated);
    tcase_add_test(t, revoked_key_answers_401);
    tcase_add_test(t, restart_keeps_everything);
    tcase_add_test(t, idempotency_key_replays_and_refuses);
    tcase_add_test(t, pagination_walks_every_item_once);
    tcase_add_test(t, quotas_are_enforced);
    tcase_add_test(t, system_endpoints);
    tcase_add_test(t, readyz_writes_nothing);
    tcase_add_test(t, data_planes_crud_and_secrets);
    tcase_add_test(t, tenant_lifecycle);
    suite_add_tcase(s, t);
    TCase *cli = tcase_create("command line");
    tcase_set_timeout(cli, 30);
    tcase_add_test(cli, help_documents_every_option);
    tcase_add_test(cli, first_start_generates_secrets);
    suite_add_tcase(s, cli);
    return s;
}
