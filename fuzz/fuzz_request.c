/* fuzz_request.c — a request body as the HTTP layer gets it: parsed the way
 * server/http.c parses it (duplicate keys refused), then handed to the
 * handlers that validate and write it (create and patch of tenants, API
 * keys, data planes, clusters and topics), each inside a transaction that is rolled
 * back, over a real SQLite store. The first input byte picks the handler.
 * Every answer must be a status the API documents, with a JSON body. */
#include "../api/api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static api_env ENV;
static char TENANT[SP_ID_MAX], CLUSTER[SP_ID_MAX], PLANE[SP_ID_MAX];
static char DIR[] = "/tmp/sp-fuzz-XXXXXX";

static void cleanup(void)
{
    static const char *const files[] = {"fuzz.db", "fuzz.db-wal", "fuzz.db-shm", NULL};
    for (int i = 0; files[i]; i++) {
        char p[64];
        snprintf(p, sizeof p, "%s/%s", DIR, files[i]);
        unlink(p);
    }
    rmdir(DIR);
}

static void run2(api_handler h, const char *method, const char *p0, const char *p1, principal_kind who,
                 json_t *body, store_res *created, char *id_out)
{
    api_req rq = {0};
    api_resp w = {0};
    rq.env = &ENV;
    rq.method = method;
    rq.path = "/fuzz";
    rq.params[0] = p0;
    rq.params[1] = p1;
    rq.who.kind = who;
    if (who == P_TENANT) snprintf(rq.who.tenant_id, sizeof rq.who.tenant_id, "%s", TENANT);
    rq.body = body;
    if (store_begin(ENV.store) != ST_OK) abort();
    h(&rq, &w);
    if (w.status < 200 || w.status > 599 || !w.body) abort();     /* every answer is a JSON status */
    if (id_out && w.status < 300) snprintf(id_out, SP_ID_MAX, "%s", json_string_value(json_object_get(w.body, "id")));
    if (created) store_commit(ENV.store);
    else store_rollback(ENV.store);
    json_decref(w.body);
}

static void run(api_handler h, const char *method, const char *p0, principal_kind who, json_t *body,
                store_res *created, char *id_out)
{
    run2(h, method, p0, NULL, who, body, created, id_out);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc; (void)argv;
    char path[64], err[256];
    if (!mkdtemp(DIR)) abort();
    atexit(cleanup);
    snprintf(path, sizeof path, "%s/fuzz.db", DIR);
    ENV.store = store_open(path, false, err, sizeof err);
    if (!ENV.store) { fprintf(stderr, "%s\n", err); abort(); }
    store_res dummy;
    json_t *t = json_loads("{\"name\":\"acme\",\"quotas\":{\"max_clusters\":100,\"max_brokers\":1000}}", 0, NULL);
    run(api_tenant_create, "POST", NULL, P_ADMIN, t, &dummy, TENANT);
    json_decref(t);
    json_t *c = json_loads("{\"name\":\"orders\",\"kafka_version\":\"3.9\",\"brokers\":3,\"storage_gib\":10}", 0, NULL);
    run(api_cluster_create, "POST", NULL, P_TENANT, c, &dummy, CLUSTER);
    json_decref(c);
    json_t *p = json_loads("{\"name\":\"eu\",\"kubernetes\":{\"server\":\"https://127.0.0.1:1\",\"token\":\"t\","
                           "\"ca_data\":\"LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tClgKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo=\"}}", 0, NULL);
    run(api_plane_create, "POST", NULL, P_ADMIN, p, &dummy, PLANE);
    json_decref(p);
    json_t *tp = json_loads("{\"name\":\"events\",\"partitions\":3}", 0, NULL);
    run2(api_topic_create, "POST", CLUSTER, NULL, P_TENANT, tp, &dummy, NULL);
    json_decref(tp);
    if (!TENANT[0] || !CLUSTER[0] || !PLANE[0]) abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    json_error_t e;
    json_t *body = json_loadb((const char *)data + 1, size - 1, JSON_REJECT_DUPLICATES, &e);
    if (!body) return 0;
    switch (data[0] % 10) {
    case 0: run(api_tenant_create, "POST", NULL, P_ADMIN, body, NULL, NULL); break;
    case 1: run(api_tenant_patch, "PATCH", TENANT, P_ADMIN, body, NULL, NULL); break;
    case 2: run(api_key_create, "POST", TENANT, P_ADMIN, body, NULL, NULL); break;
    case 3: run(api_plane_create, "POST", NULL, P_ADMIN, body, NULL, NULL); break;
    case 4: run(api_plane_patch, "PATCH", PLANE, P_ADMIN, body, NULL, NULL); break;
    case 5: run(api_cluster_create, "POST", NULL, P_TENANT, body, NULL, NULL); break;
    case 6: run(api_cluster_patch, "PATCH", CLUSTER, P_TENANT, body, NULL, NULL); break;
    case 7: run(api_cluster_put, "PUT", CLUSTER, P_TENANT, body, NULL, NULL); break;
    case 8: run2(api_topic_create, "POST", CLUSTER, NULL, P_TENANT, body, NULL, NULL); break;
    default: run2(api_topic_patch, "PATCH", CLUSTER, "events", P_TENANT, body, NULL, NULL); break;
    }
    json_decref(body);
    return 0;
}
