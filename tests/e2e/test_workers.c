/* The workers and the built-in manifests target: with no data plane
 * registered, a cluster's objects are written as YAML files under
 * DATA_DIR/manifests/<id>/ and its operations succeed; deleting removes
 * the files and then the cluster (GET answers 404). */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "harness.h"

static spsrv S;
static const char *const WORKERS[] = {"--workers", "2", NULL};
static void up(void) { memset(&S, 0, sizeof S); srv_start(&S, NULL, WORKERS); }
static void down(void) { srv_cleanup(&S); }

/* Polls GET path until field equals want (or the path answers 404 when want is NULL). */
static bool wait_for(const char *path, const char *token, const char *field, const char *want)
{
    for (int i = 0; i < 250; i++) {
        spresp r = jreq(&S, "GET", path, token, NULL);
        bool ok = want ? (r.status == 200 && jpath(r.json, field) && strcmp(jpath(r.json, field), want) == 0)
                       : r.status == 404;
        resp_free(&r);
        if (ok) return true;
        usleep(20000);
    }
    return false;
}

static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".yaml")) n++;
    closedir(d);
    return n;
}

static char *file_with(const char *dir, const char *part)
{
    DIR *d = opendir(dir);
    if (!d) return NULL;
    struct dirent *e;
    char *out = NULL;
    while ((e = readdir(d)) && !out)
        if (strstr(e->d_name, part)) {
            char p[600];
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            FILE *f = fopen(p, "r");
            out = calloc(1, 1 << 20);
            size_t n = fread(out, 1, (1 << 20) - 1, f);
            out[n] = 0;
            fclose(f);
        }
    closedir(d);
    return out;
}

START_TEST(manifests_target_provisions_updates_deletes)
{
    char tid[64], key[128];
    make_tenant(&S, "acme", NULL, tid, key);
    spresp r = jreq(&S, "POST", "/v1/clusters", key,
                    "{\"name\":\"orders\",\"kafka_version\":\"3.9\",\"brokers\":3,\"storage_gib\":100}");
    ck_assert_int_eq(r.status, 202);
    ck_assert_str_eq(jpath(r.json, "status.target"), "manifests");
    char loc[256], id[64], op[256];
    snprintf(loc, sizeof loc, "%s", r.location);
    snprintf(id, sizeof id, "%s", jstr(&r, "id"));
    snprintf(op, sizeof op, "%s", r.op_location);
    resp_free(&r);
    ck_assert(wait_for(loc, key, "status.phase", "RUNNING"));
    r = jreq(&S, "GET", loc, key, NULL);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(r.json, "status"), "observed_generation")), 1);
    ck_assert(json_is_null(json_object_get(json_object_get(r.json, "status"), "current_operation_id")));
    resp_free(&r);
    r = jreq(&S, "GET", op, key, NULL);
    ck_assert_str_eq(jstr(&r, "state"), "SUCCEEDED");
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "progress_percent")), 100);
    json_t *step = json_array_get(json_object_get(r.json, "steps"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(step, "state")), "SUCCEEDED");
    ck_assert(strstr(json_string_value(json_object_get(step, "message")), "kubectl apply"));
    resp_free(&r);

    char dir[400];
    snprintf(dir, sizeof dir, "%s/manifests/%s", S.dir, id);
    int files = count_files(dir);
    ck_assert_int_gt(files, 8);
    char *sts = file_with(dir, "statefulset-kafka-broker");
    ck_assert_ptr_nonnull(sts);
    ck_assert(strstr(sts, "replicas: 3"));
    ck_assert(strstr(sts, "apache/kafka:3.9.1"));
    free(sts);

    /* the API renders the same objects */
    r = jreq(&S, "GET", "/v1/clusters/x/manifests", key, NULL);
    assert_problem(&r, 404);
    resp_free(&r);
    char mpath[300];
    snprintf(mpath, sizeof mpath, "%s/manifests", loc);
    r = jreq(&S, "GET", mpath, key, NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq((int)json_array_size(json_object_get(r.json, "items")), files);
    resp_free(&r);
    const char *const yh[] = {"Accept: application/yaml", NULL};
    r = req(&S, "GET", mpath, key, NULL, 0, yh);
    ck_assert_int_eq(r.status, 200);
    ck_assert(strncmp(r.ctype, "application/yaml", 16) == 0);
    ck_assert(strncmp(r.body, "---\n", 4) == 0);
    resp_free(&r);

    /* scale out: the files follow the new generation */
    r = jreq(&S, "PATCH", loc, key, "{\"brokers\":5}");
    ck_assert_int_eq(r.status, 202);
    resp_free(&r);
    for (int i = 0; i < 250; i++) {
        r = jreq(&S, "GET", loc, key, NULL);
        long long og = json_integer_value(json_object_get(json_object_get(r.json, "status"), "observed_generation"));
        resp_free(&r);
        if (og == 2) break;
        usleep(20000);
    }
    sts = file_with(dir, "statefulset-kafka-broker");
    ck_assert_ptr_nonnull(sts);
    ck_assert(strstr(sts, "replicas: 5"));
    free(sts);

    /* delete: files gone, then the cluster, and its usage */
    r = jreq(&S, "DELETE", loc, key, NULL);
    ck_assert_int_eq(r.status, 202);
    resp_free(&r);
    ck_assert(wait_for(loc, key, NULL, NULL));
    struct stat sb;
    ck_assert_int_ne(stat(dir, &sb), 0);
    r = jreq(&S, "DELETE", loc, key, NULL);          /* a repeated DELETE after the end: 404 */
    assert_problem(&r, 404);
    resp_free(&r);
    r = jreq(&S, "GET", "/v1/usage", key, NULL);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(json_array_get(json_object_get(r.json, "items"), 0), "used"), "clusters")), 0);
    resp_free(&r);
    /* the name is free again */
    r = jreq(&S, "POST", "/v1/clusters", key, "{\"name\":\"orders\",\"kafka_version\":\"3.9\",\"brokers\":1,\"storage_gib\":10}");
    ck_assert_int_eq(r.status, 202);
    resp_free(&r);
}
END_TEST

/* Work accepted while no worker ran is done after a restart with workers. */
START_TEST(restart_resumes_unfinished_work)
{
    char tid[64], key[128];
    srv_stop(&S, SIGTERM);
    srv_start(&S, S.dir, NULL);                     /* the harness default: no workers */
    make_tenant(&S, "acme", NULL, tid, key);
    char locs[5][256];
    for (int i = 0; i < 5; i++) {
        char body[200];
        snprintf(body, sizeof body, "{\"name\":\"c%d\",\"kafka_version\":\"3.9.1\",\"brokers\":1,\"storage_gib\":10}", i);
        spresp r = jreq(&S, "POST", "/v1/clusters", key, body);
        ck_assert_int_eq(r.status, 202);
        snprintf(locs[i], sizeof locs[i], "%s", r.location);
        resp_free(&r);
    }
    spresp r = jreq(&S, "DELETE", locs[4], key, NULL);
    resp_free(&r);
    srv_stop(&S, SIGKILL);
    srv_start(&S, S.dir, WORKERS);
    for (int i = 0; i < 4; i++) ck_assert(wait_for(locs[i], key, "status.phase", "RUNNING"));
    ck_assert(wait_for(locs[4], key, NULL, NULL));
}
END_TEST

Suite *suite_workers(void)
{
    Suite *s = suite_create("workers");
    TCase *t = tcase_create("manifests");
    tcase_set_timeout(t, 60);
    tcase_add_checked_fixture(t, up, down);
    tcase_add_test(t, manifests_target_provisions_updates_deletes);
    tcase_add_test(t, restart_resumes_unfinished_work);
    suite_add_tcase(s, t);
    return s;
}
