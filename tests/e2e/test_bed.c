/* The Kubernetes end-to-end tests on the bed: a real kube-apiserver,
 * kube-controller-manager, kube-scheduler, etcd and KWOK on loopback
 * (scripts/bed). streamplane reaches it with its own ServiceAccount, bound
 * to the ClusterRole in deploy/rbac.yaml, never as an administrator, so a
 * permission streamplane lacks fails these tests. The tests' own set-up
 * (another field manager, a finalizer that holds a namespace) uses the
 * bed's admin credentials.
 *
 * STREAMPLANE_BED_ENV names the bed's env file (scripts/bed up DIR writes
 * DIR/env); tests/run.sh brings one bed up for the whole suite. */
#define _GNU_SOURCE
#include <check.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "harness.h"
#include "../../common/util.h"
#include "../../common/conditions.h"
#include "../../workers/kube/client.h"

/* ---- the bed ------------------------------------------------------------ */

static char bed_vals[16][2][512];   /* KEY, value pairs of DIR/env; 16 is plenty */
static int bed_n;

static const char *bed(const char *key)
{
    if (!bed_n) {
        const char *path = getenv("STREAMPLANE_BED_ENV");
        ck_assert_msg(path && *path, "STREAMPLANE_BED_ENV is not set (scripts/bed up DIR; then DIR/env)");
        FILE *f = fopen(path, "r");
        ck_assert_msg(f != NULL, "cannot read %s", path);
        char line[1100];
        while (bed_n < 16 && fgets(line, sizeof line, f)) {
            char *eq = strchr(line, '=');
            if (!eq) continue;
            *eq = 0;
            line[strcspn(line, "\n")] = 0;
            eq[1 + strcspn(eq + 1, "\n")] = 0;
            snprintf(bed_vals[bed_n][0], sizeof bed_vals[0][0], "%.64s", line);
            snprintf(bed_vals[bed_n][1], sizeof bed_vals[0][1], "%.500s", eq + 1);
            bed_n++;
        }
        fclose(f);
    }
    for (int i = 0; i < bed_n; i++)
        if (strcmp(bed_vals[i][0], key) == 0) return bed_vals[i][1];
    ck_abort_msg("the bed's env has no %s", key);
    return NULL;
}

static char *sa_token(void)
{
    size_t n;
    char *t = sp_read_file(bed("BED_SA_TOKEN_FILE"), &n);
    ck_assert_msg(t != NULL && n > 0, "no ServiceAccount token in %s", bed("BED_SA_TOKEN_FILE"));
    t[strcspn(t, "\n")] = 0;
    return t;
}

static char *ca_b64(void)
{
    size_t n;
    char *pem = sp_read_file(bed("BED_CA"), &n);
    ck_assert_ptr_nonnull(pem);
    static const char T[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *b = malloc(n * 2 + 8);
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned char)pem[i] << 16 | (i + 1 < n ? (unsigned char)pem[i + 1] << 8 : 0) |
                     (i + 2 < n ? (unsigned char)pem[i + 2] : 0);
        b[o++] = T[v >> 18];
        b[o++] = T[(v >> 12) & 63];
        b[o++] = i + 1 < n ? T[(v >> 6) & 63] : '=';
        b[o++] = i + 2 < n ? T[v & 63] : '=';
    }
    b[o] = 0;
    free(pem);
    return b;
}

/* streamplane's client with its ServiceAccount token (what a data plane stores). */
static kube_client *sa_client(void)
{
    kube_cfg cfg;
    char err[256], *tok = sa_token(), *ca = ca_b64();
    ck_assert_msg(kube_cfg_explicit(bed("BED_SERVER"), tok, ca, false, &cfg, err, sizeof err) == 0, "%s", err);
    free(tok);
    free(ca);
    kube_client *c = kube_client_new(&cfg, 10000);
    kube_cfg_free(&cfg);
    ck_assert_ptr_nonnull(c);
    return c;
}

/* The bed's admin (a client certificate in system:masters), for set-up only. */
static kube_client *admin_client(void)
{
    kube_cfg cfg;
    char err[256];
    ck_assert_msg(kube_cfg_from_kubeconfig_file(bed("BED_KUBECONFIG"), NULL, &cfg, err, sizeof err) == 0, "%s", err);
    kube_client *c = kube_client_new(&cfg, 10000);
    kube_cfg_free(&cfg);
    ck_assert_ptr_nonnull(c);
    return c;
}

/* A server-side apply as another field manager (kube_apply always says
 * streamplane), with the admin's certificate; returns the HTTP status. */
static long apply_as(const char *manager, const char *path, const char *json)
{
    char url[600], cert[300], key[300];
    snprintf(url, sizeof url, "%s%s?fieldManager=%s", bed("BED_SERVER"), path, manager);
    snprintf(cert, sizeof cert, "%s/pki/admin.crt", bed("BED_DIR"));
    snprintf(key, sizeof key, "%s/pki/admin.key", bed("BED_DIR"));
    CURL *h = curl_easy_init();
    struct curl_slist *hd = curl_slist_append(NULL, "Content-Type: application/apply-patch+yaml");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PATCH");
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, json);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(h, CURLOPT_CAINFO, bed("BED_CA"));
    curl_easy_setopt(h, CURLOPT_SSLCERT, cert);
    curl_easy_setopt(h, CURLOPT_SSLKEY, key);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, fwrite);
    FILE *devnull = fopen("/dev/null", "w");
    curl_easy_setopt(h, CURLOPT_WRITEDATA, devnull);
    long code = 0;
    if (curl_easy_perform(h) == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    fclose(devnull);
    curl_slist_free_all(hd);
    curl_easy_cleanup(h);
    return code;
}

static void admin_namespace(kube_client *a, const char *ns)
{
    json_t *o = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "Namespace", "metadata", "name", ns);
    kube_err e;
    kube_rc rc = kube_apply(a, o, NULL, &e);
    ck_assert_msg(rc == KUBE_OK, "namespace %s: %s %s", ns, kube_rc_name(rc), e.message);
    json_decref(o);
}

static void rand_suffix(char out[9])
{
    unsigned char b[4];
    ck_assert_int_eq(sp_random(b, sizeof b), 0);
    snprintf(out, 9, "%02x%02x%02x%02x", b[0], b[1], b[2], b[3]);
}

/* ---- streamplane on the bed ----------------------------------------------- */

static spsrv S;
static char tkey[128];

/* ca: the bed's CA (base64), or another one */
static void plane_body_ca(const char *name, const char *token, const char *ca, char *out, size_t cap)
{
    snprintf(out, cap, "{\"name\":\"%s\",\"region\":\"bed\",\"zones\":[\"a\",\"b\",\"c\"],"
                       "\"kubernetes\":{\"server\":\"%s\",\"token\":\"%s\",\"ca_data\":\"%s\"},"
                       "\"kafka_access\":\"external\"}",
             name, bed("BED_SERVER"), token, ca);
}

static void plane_body(const char *name, const char *token, bool with_ca, char *out, size_t cap)
{
    char *ca = with_ca ? ca_b64() : NULL;
    snprintf(out, cap, "{\"name\":\"%s\",\"region\":\"bed\",\"zones\":[\"a\",\"b\",\"c\"],"
                       "\"kubernetes\":{\"server\":\"%s\",\"token\":\"%s\"%s%s%s},\"kafka_access\":\"external\"}",
             name, bed("BED_SERVER"), token, ca ? ",\"ca_data\":\"" : "", ca ? ca : "", ca ? "\"" : "");
    free(ca);
}

/* streamplane with workers, the bed registered as a data plane with the
 * ServiceAccount's token, and a tenant. */
static void sp_up(const char *stall_seconds)
{
    memset(&S, 0, sizeof S);
    const char *const flags[] = {"--workers", "2", "--stall-seconds", stall_seconds, NULL};
    srv_start(&S, NULL, flags);
    char body[8192], *tok = sa_token();
    plane_body("bed", tok, true, body, sizeof body);
    free(tok);
    spresp r = jreq(&S, "POST", "/v1/data-planes", ADMIN, body);
    ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
    resp_free(&r);
    char tid[64];
    make_tenant(&S, "bedtest", NULL, tid, tkey);
}

static void sp_down(void) { srv_cleanup(&S); }

/* Creates a cluster; its id goes to id, its path to loc. */
static void create_cluster(const char *body, char id[64], char loc[256])
{
    spresp r = jreq(&S, "POST", "/v1/clusters", tkey, body);
    ck_assert_msg(r.status == 202, "%ld %s", r.status, r.body);
    snprintf(id, 64, "%s", jstr(&r, "id"));
    snprintf(loc, 256, "%s", r.location);
    resp_free(&r);
}

/* Polls the cluster (up to secs) until its phase is phase, or the condition
 * type has status st (phase NULL); returns the last answer (caller frees). */
static spresp wait_cluster(const char *loc, const char *phase, const char *type, const char *st, int secs)
{
    for (int i = 0; i < secs * 5; i++) {
        spresp r = jreq(&S, "GET", loc, tkey, NULL);
        const char *p = jpath(r.json, "status.phase");
        const json_t *c = type ? condition_get(json_object_get(r.json, "status"), type) : NULL;
        const char *cs = c ? json_string_value(json_object_get(c, "status")) : NULL;
        if (phase && p && strcmp(p, phase) == 0) return r;
        if (!phase && cs && strcmp(cs, st) == 0) return r;
        if (i == secs * 5 - 1) return r;
        resp_free(&r);
        usleep(200000);
    }
    return (spresp){0};
}

static bool wait_gone(const char *loc, int secs)
{
    for (int i = 0; i < secs * 5; i++) {
        spresp r = jreq(&S, "GET", loc, tkey, NULL);
        long st = r.status;
        resp_free(&r);
        if (st == 404) return true;
        usleep(200000);
    }
    return false;
}

static const char *cond_field(const spresp *r, const char *type, const char *field)
{
    const json_t *c = condition_get(json_object_get(r->json, "status"), type);
    return c ? json_string_value(json_object_get(c, field)) : NULL;
}

/* ---- tests ---------------------------------------------------------------- */

/* The bed itself: three zones of Ready KWOK nodes, StatefulSet pods Running with
 * bound claims, Job pods that complete, a claim that grows on the
 * expandable class and is refused on the other. */
START_TEST(bed_nodes_pods_jobs_and_claims)
{
    kube_client *a = admin_client();
    kube_err e;
    json_t *nodes = NULL;
    ck_assert_int_eq(kube_list(a, "v1", "Node", NULL, NULL, &nodes, &e), KUBE_OK);
    int zones = 0;
    size_t i;
    json_t *n;
    json_array_foreach(nodes, i, n) {
        json_t *l = json_object_get(json_object_get(n, "metadata"), "labels");
        if (json_object_get(l, "topology.kubernetes.io/zone")) zones++;
    }
    json_decref(nodes);
    ck_assert_int_ge(zones, 3);
    char ns[64], sfx[9];
    rand_suffix(sfx);
    snprintf(ns, sizeof ns, "bed-self-%s", sfx);
    admin_namespace(a, ns);
    /* KWOK's to complete: the bed's runner nodes (real containers) have no busybox */
    json_t *job = json_pack(
        "{s:s, s:s, s:{s:s, s:s}, s:{s:i, s:{s:{s:s, s:{s:s}, s:[{s:s, s:s}]}}}}", "apiVersion", "batch/v1", "kind",
        "Job", "metadata", "name", "once", "namespace", ns, "spec", "backoffLimit", 0, "template", "spec",
        "restartPolicy", "Never", "nodeSelector", "bed.streamplane.dev/manager", "kwok", "containers", "name", "c",
        "image", "busybox");
    ck_assert_int_eq(kube_apply(a, job, NULL, &e), KUBE_OK);
    json_decref(job);
    json_t *claim = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:[s], s:s, s:{s:{s:s}}}}", "apiVersion", "v1", "kind",
                              "PersistentVolumeClaim", "metadata", "name", "fixed-claim", "namespace", ns, "spec",
                              "accessModes", "ReadWriteOnce", "storageClassName", "fixed", "resources", "requests",
                              "storage", "1Gi");
    ck_assert_int_eq(kube_apply(a, claim, NULL, &e), KUBE_OK);
    json_decref(claim);
    bool done = false, bound = false;
    for (int t = 0; t < 600 && !(done && bound); t++) {
        json_t *o = NULL;
        if (kube_get(a, "batch/v1", "Job", ns, "once", &o, &e) == KUBE_OK)
            done = json_integer_value(json_object_get(json_object_get(o, "status"), "succeeded")) == 1;
        json_decref(o);
        o = NULL;
        if (kube_get(a, "v1", "PersistentVolumeClaim", ns, "fixed-claim", &o, &e) == KUBE_OK)
            bound = jpath(o, "status.phase") && strcmp(jpath(o, "status.phase"), "Bound") == 0;
        json_decref(o);
        if (!(done && bound)) usleep(200000);
    }
    ck_assert_msg(done, "the Job's pod did not complete");
    ck_assert_msg(bound, "the claim on the fixed class did not bind");
    /* growing a claim of a class without allowVolumeExpansion: refused by the API server */
    json_t *grow = json_pack("{s:{s:{s:{s:s}}}}", "spec", "resources", "requests", "storage", "2Gi");
    kube_rc rc = kube_merge_patch(a, "v1", "PersistentVolumeClaim", ns, "fixed-claim", grow, NULL, &e);
    ck_assert_msg(rc == KUBE_FORBIDDEN, "%s %d %s", kube_rc_name(rc), e.http, e.message);
    ck_assert_msg(strstr(e.message, "only dynamically provisioned pvc can be resized") ||
                      strstr(e.message, "allowVolumeExpansion") || strstr(e.message, "does not support resize"),
                  "%s", e.message);
    json_decref(grow);
    ck_assert_int_eq(kube_delete(a, "v1", "Namespace", NULL, ns, "Background", &e), KUBE_OK);
    kube_client_free(a);
}
END_TEST

/* streamplane's ServiceAccount: enough for streamplane, and not more. */
START_TEST(rbac_is_what_streamplane_needs_not_admin)
{
    kube_client *c = sa_client();
    kube_err e;
    ck_assert_int_eq(kube_ping(c, &e), KUBE_OK);
    /* not an administrator: it may not delete a node... */
    kube_rc rc = kube_delete(c, "v1", "Node", NULL, "bed-a", NULL, &e);
    ck_assert_msg(rc == KUBE_FORBIDDEN, "%s %s", kube_rc_name(rc), e.message);
    ck_assert_msg(strstr(e.message, "system:serviceaccount:streamplane:streamplane"), "%s", e.message);
    /* ...nor hand itself cluster-admin (RBAC refuses to grant what it does not hold) */
    json_t *b = json_pack("{s:s, s:s, s:{s:s}, s:{s:s, s:s, s:s}, s:[{s:s, s:s, s:s}]}", "apiVersion",
                          "rbac.authorization.k8s.io/v1", "kind", "ClusterRoleBinding", "metadata", "name",
                          "sp-escalate", "roleRef", "apiGroup", "rbac.authorization.k8s.io", "kind", "ClusterRole",
                          "name", "cluster-admin", "subjects", "kind", "ServiceAccount", "name", "streamplane",
                          "namespace", "streamplane");
    rc = kube_apply(c, b, NULL, &e);
    ck_assert_msg(rc == KUBE_FORBIDDEN, "%s %s", kube_rc_name(rc), e.message);
    json_decref(b);
    kube_client_free(c);
}
END_TEST

/* Server-side apply on the real server: the same object twice changes
 * nothing; another manager's entry of an associative list (a Service port,
 * keyed by port and protocol) and its label survive streamplane's apply,
 * which does not send them. */
START_TEST(apply_is_idempotent_and_leaves_other_managers_fields)
{
    kube_client *a = admin_client(), *c = sa_client();
    kube_err e;
    char ns[64], sfx[9], path[256];
    rand_suffix(sfx);
    snprintf(ns, sizeof ns, "bed-ssa-%s", sfx);
    admin_namespace(a, ns);
    json_t *svc = json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s}}, s:{s:{s:s}, s:[{s:s, s:i}]}}", "apiVersion", "v1",
                            "kind", "Service", "metadata", "name", "kafka", "namespace", ns, "labels", "app", "kafka",
                            "spec", "selector", "app", "kafka", "ports", "name", "internal", "port", 9092);
    json_t *out = NULL;
    ck_assert_int_eq(kube_apply(c, svc, &out, &e), KUBE_OK);
    char rv[32];
    snprintf(rv, sizeof rv, "%s", jpath(out, "metadata.resourceVersion"));
    json_decref(out);
    ck_assert_int_eq(kube_apply(c, svc, &out, &e), KUBE_OK);               /* twice: no new resourceVersion */
    ck_assert_str_eq(jpath(out, "metadata.resourceVersion"), rv);
    json_decref(out);
    /* another manager adds a port and a label by server-side apply */
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/services/kafka", ns);
    char other[400];
    snprintf(other, sizeof other,
             "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"kafka\",\"namespace\":"
             "\"%s\",\"labels\":{\"mesh\":\"on\"}},\"spec\":{\"ports\":[{\"name\":\"mesh\",\"port\":15090}]}}",
             ns);
    ck_assert_int_eq(apply_as("mesh-injector", path, other), 200);
    ck_assert_int_eq(kube_get(c, "v1", "Service", ns, "kafka", &out, &e), KUBE_OK);
    ck_assert_uint_eq(json_array_size(json_object_get(json_object_get(out, "spec"), "ports")), 2);
    snprintf(rv, sizeof rv, "%s", jpath(out, "metadata.resourceVersion"));
    json_decref(out);
    /* streamplane applies its object again: nothing of the other manager's goes, nothing changes */
    ck_assert_int_eq(kube_apply(c, svc, &out, &e), KUBE_OK);
    ck_assert_str_eq(jpath(out, "metadata.resourceVersion"), rv);
    json_t *ports = json_object_get(json_object_get(out, "spec"), "ports");
    ck_assert_uint_eq(json_array_size(ports), 2);
    ck_assert_str_eq(jpath(out, "metadata.labels.mesh"), "on");
    int mine = 0, theirs = 0;
    size_t i;
    json_t *mf;
    json_array_foreach(json_object_get(json_object_get(out, "metadata"), "managedFields"), i, mf) {
        const char *m = json_string_value(json_object_get(mf, "manager"));
        const char *op = json_string_value(json_object_get(mf, "operation"));
        if (m && op && strcmp(op, "Apply") == 0) {
            if (strcmp(m, "streamplane") == 0) mine++;
            if (strcmp(m, "mesh-injector") == 0) theirs++;
        }
    }
    ck_assert_int_eq(mine, 1);
    ck_assert_int_eq(theirs, 1);
    json_decref(out);
    /* a field streamplane owns, changed by someone else, comes back on the next apply (force) */
    json_t *patch = json_pack("{s:{s:{s:s}}}", "metadata", "labels", "app", "changed");
    ck_assert_int_eq(kube_merge_patch(a, "v1", "Service", ns, "kafka", patch, NULL, &e), KUBE_OK);
    json_decref(patch);
    ck_assert_int_eq(kube_apply(c, svc, &out, &e), KUBE_OK);
    ck_assert_str_eq(jpath(out, "metadata.labels.app"), "kafka");
    ck_assert_str_eq(jpath(out, "metadata.labels.mesh"), "on");
    json_decref(out);
    json_decref(svc);
    ck_assert_int_eq(kube_delete(a, "v1", "Namespace", NULL, ns, "Background", &e), KUBE_OK);
    kube_client_free(a);
    kube_client_free(c);
}
END_TEST

/* streamplane's client against the real server with the ServiceAccount's
 * token: get, list, delete, typed errors with the server's own Status; a
 * claim grows on the expandable class (and its capacity follows) and never
 * shrinks. (Moved here from kube-sim.) */
START_TEST(client_on_the_real_server)
{
    kube_client *a = admin_client(), *c = sa_client();
    kube_err e;
    char ns[64], sfx[9];
    rand_suffix(sfx);
    snprintf(ns, sizeof ns, "bed-client-%s", sfx);
    admin_namespace(a, ns);
    for (int k = 0; k < 2; k++) {
        json_t *cm = json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s}}, s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap",
                               "metadata", "name", k ? "two" : "one", "namespace", ns, "labels", "app", "sp-test",
                               "data", "k", k ? "v2" : "v1");
        ck_assert_int_eq(kube_apply(c, cm, NULL, &e), KUBE_OK);
        ck_assert_int_eq(e.http, 201);
        json_decref(cm);
    }
    json_t *items = NULL, *out = NULL;
    ck_assert_int_eq(kube_list(c, "v1", "ConfigMap", ns, "app=sp-test", &items, &e), KUBE_OK);
    ck_assert_uint_eq(json_array_size(items), 2);
    json_decref(items);
    ck_assert_int_eq(kube_get(c, "v1", "ConfigMap", ns, "one", &out, &e), KUBE_OK);
    ck_assert_str_eq(jpath(out, "data.k"), "v1");
    json_decref(out);
    ck_assert_int_eq(kube_delete(c, "v1", "Secret", ns, "one", "Background", &e), KUBE_FORBIDDEN);    /* not granted */
    ck_assert_int_eq(kube_delete(a, "v1", "ConfigMap", ns, "one", "Background", &e), KUBE_OK);
    ck_assert_int_eq(kube_get(c, "v1", "ConfigMap", ns, "one", &out, &e), KUBE_NOT_FOUND);
    ck_assert_int_eq(e.http, 404);
    ck_assert_str_eq(e.reason, "NotFound");
    ck_assert_str_eq(e.message, "configmaps \"one\" not found");
    /* claims: grow on the expandable class (the bed's resizer follows), never shrink */
    json_t *pvc = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:[s], s:{s:{s:s}}, s:s}}", "apiVersion", "v1", "kind",
                            "PersistentVolumeClaim", "metadata", "name", "data", "namespace", ns, "spec", "accessModes",
                            "ReadWriteOnce", "resources", "requests", "storage", "10Gi", "storageClassName", "standard");
    ck_assert_int_eq(kube_apply(a, pvc, NULL, &e), KUBE_OK);
    json_decref(pvc);
    bool bound = false;     /* claims are the StatefulSet controller's (streamplane only grows or removes them) */
    for (int t = 0; t < 600 && !bound; t++) {
        if (kube_get(a, "v1", "PersistentVolumeClaim", ns, "data", &out, &e) == KUBE_OK)
            bound = jpath(out, "status.phase") && !strcmp(jpath(out, "status.phase"), "Bound");
        json_decref(out);
        if (!bound) usleep(200000);
    }
    ck_assert_msg(bound, "the claim did not bind");
    json_t *shrink = json_pack("{s:{s:{s:{s:s}}}}", "spec", "resources", "requests", "storage", "5Gi");
    json_t *grow = json_pack("{s:{s:{s:{s:s}}}}", "spec", "resources", "requests", "storage", "20Gi");
    ck_assert_int_eq(kube_merge_patch(a, "v1", "PersistentVolumeClaim", ns, "data", shrink, NULL, &e), KUBE_INVALID);
    ck_assert_int_eq(e.http, 422);
    ck_assert_msg(strstr(e.message, "can not be less than status.capacity"), "%s", e.message);
    kube_rc rc = kube_merge_patch(a, "v1", "PersistentVolumeClaim", ns, "data", grow, NULL, &e);
    ck_assert_msg(rc == KUBE_OK, "%s %s", kube_rc_name(rc), e.message);
    ck_assert_int_eq(kube_merge_patch(a, "v1", "PersistentVolumeClaim", ns, "nope", grow, NULL, &e), KUBE_NOT_FOUND);
    json_decref(shrink);
    json_decref(grow);
    bool grown = false;
    for (int t = 0; t < 600 && !grown; t++) {
        if (kube_get(a, "v1", "PersistentVolumeClaim", ns, "data", &out, &e) == KUBE_OK)
            grown = jpath(out, "status.capacity.storage") && !strcmp(jpath(out, "status.capacity.storage"), "20Gi");
        json_decref(out);
        if (!grown) usleep(200000);
    }
    ck_assert_msg(grown, "the claim's capacity did not follow its request");
    ck_assert_int_eq(kube_delete(a, "v1", "Namespace", NULL, ns, "Background", &e), KUBE_OK);
    kube_client_free(a);
    kube_client_free(c);
}
END_TEST

/* Credentials and trust, by kubeconfig and in-cluster files: a wrong token
 * is Unauthorized, a server not trusted is a connection failure, a rotated
 * token file is read again without a restart. (Moved here from kube-sim.) */
START_TEST(credentials_trust_kubeconfig_in_cluster)
{
    kube_cfg cfg;
    char err[256], *tok = sa_token(), *ca = ca_b64();
    kube_err e;
    ck_assert_int_eq(kube_cfg_explicit(bed("BED_SERVER"), "wrong-token", ca, false, &cfg, err, sizeof err), 0);
    kube_client *c = kube_client_new(&cfg, 5000);
    kube_cfg_free(&cfg);
    ck_assert_int_eq(kube_ping(c, &e), KUBE_UNAUTHORIZED);
    ck_assert_int_eq(e.http, 401);
    kube_client_free(c);
    ck_assert_int_eq(kube_cfg_explicit(bed("BED_SERVER"), tok, NULL, false, &cfg, err, sizeof err), 0);
    c = kube_client_new(&cfg, 5000);
    kube_cfg_free(&cfg);
    ck_assert_int_eq(kube_ping(c, &e), KUBE_CONNECT);                  /* no CA: not trusted */
    ck_assert(e.message[0]);
    kube_client_free(c);
    /* the kubeconfig scripts/bed writes for streamplane */
    ck_assert_msg(kube_cfg_from_kubeconfig_file(bed("BED_SA_KUBECONFIG"), NULL, &cfg, err, sizeof err) == 0, "%s", err);
    c = kube_client_new(&cfg, 5000);
    kube_cfg_free(&cfg);
    ck_assert_int_eq(kube_ping(c, &e), KUBE_OK);
    kube_client_free(c);
    /* in-cluster: service account files and KUBERNETES_SERVICE_*; a stale token, then rotated */
    char sa[64], cmd[1200];
    snprintf(sa, sizeof sa, "/tmp/sp-bed-sa-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(sa));
    snprintf(cmd, sizeof cmd, "cp %s %s/ca.crt && printf stale > %s/token && echo default > %s/namespace",
             bed("BED_CA"), sa, sa, sa);
    ck_assert_int_eq(system(cmd), 0);
    const char *port = strrchr(bed("BED_SERVER"), ':') + 1;
    setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1", 1);
    setenv("KUBERNETES_SERVICE_PORT", port, 1);
    ck_assert_msg(kube_cfg_in_cluster(sa, &cfg, err, sizeof err) == 0, "%s", err);
    c = kube_client_new(&cfg, 5000);
    kube_cfg_free(&cfg);
    ck_assert_int_eq(kube_ping(c, &e), KUBE_UNAUTHORIZED);
    snprintf(cmd, sizeof cmd, "cp %s %s/token", bed("BED_SA_TOKEN_FILE"), sa);
    ck_assert_int_eq(system(cmd), 0);
    ck_assert_int_eq(kube_ping(c, &e), KUBE_OK);
    kube_client_free(c);
    snprintf(cmd, sizeof cmd, "rm -rf %s", sa);
    ck_assert_int_eq(system(cmd), 0);
    free(tok);
    free(ca);
}
END_TEST

/* A data plane is registered only with credentials that work: a wrong
 * token is the API server's Unauthorized, a missing CA a TLS failure. */
START_TEST(probe_right_and_wrong_credentials)
{
    memset(&S, 0, sizeof S);
    srv_start(&S, NULL, NULL);
    char body[8192], *tok = sa_token();
    plane_body("wrong-token", "not-a-token", true, body, sizeof body);
    spresp r = jreq(&S, "POST", "/v1/data-planes", ADMIN, body);
    assert_problem(&r, 422);
    ck_assert_msg(strstr(r.body, "Unauthorized"), "%s", r.body);
    resp_free(&r);
    /* a CA that did not sign the API server's certificate: not trusted */
    char other[64], cmd[600];
    snprintf(other, sizeof other, "/tmp/sp-bed-ca-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(other));
    snprintf(cmd, sizeof cmd, "openssl req -x509 -newkey rsa:2048 -nodes -keyout %s/k -out %s/c -days 1 -subj /CN=other "
             "2>/dev/null && base64 -w0 %s/c > %s/b", other, other, other, other);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s/b", other);
    size_t n;
    char *wrong_ca = sp_read_file(cmd, &n);
    ck_assert_ptr_nonnull(wrong_ca);
    plane_body_ca("other-ca", tok, wrong_ca, body, sizeof body);
    free(wrong_ca);
    snprintf(cmd, sizeof cmd, "rm -rf %s", other);
    ck_assert_int_eq(system(cmd), 0);
    r = jreq(&S, "POST", "/v1/data-planes", ADMIN, body);
    assert_problem(&r, 422);
    ck_assert_msg(strstr(r.body, "ConnectFailed") || strstr(r.body, "certificate") || strstr(r.body, "SSL"), "%s",
                  r.body);
    resp_free(&r);
    plane_body("right", tok, true, body, sizeof body);
    r = jreq(&S, "POST", "/v1/data-planes", ADMIN, body);
    ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
    resp_free(&r);
    free(tok);
    srv_cleanup(&S);
}
END_TEST

/* Lists the cluster's objects of one kind through streamplane's own client. */
static json_t *ns_items(kube_client *c, const char *av, const char *kind, const char *ns)
{
    json_t *items = NULL;
    kube_err e;
    kube_rc rc = kube_list(c, av, kind, ns, NULL, &items, &e);
    ck_assert_msg(rc == KUBE_OK, "list %s: %s %s", kind, kube_rc_name(rc), e.message);
    return items;
}

/* Provision on the real control plane: every rendered object accepted (with
 * the server's defaulting, validation and Pod Security admission), pods
 * scheduled across the three zones and Ready, claims bound; applying the
 * rendered objects again changes no resourceVersion; delete: the namespace
 * really terminates (the namespace controller, PVC protection) and the
 * cluster answers 404. */
START_TEST(provision_apply_again_and_delete)
{
    sp_up("600");
    char id[64], loc[256], ns[96], path[300];
    create_cluster("{\"name\":\"orders\",\"kafka_version\":\"3.9.1\",\"brokers\":3,\"storage_gib\":10}", id, loc);
    spresp r = wait_cluster(loc, "RUNNING", NULL, NULL, 240);
    ck_assert_msg(jpath(r.json, "status.phase") && !strcmp(jpath(r.json, "status.phase"), "RUNNING"),
                  "not RUNNING: %s", r.body);
    ck_assert_str_eq(cond_field(&r, "KafkaReady", "reason"), "NoRoute");   /* no Kafka on the bed */
    resp_free(&r);
    snprintf(ns, sizeof ns, "sp-%s", id);
    kube_client *c = sa_client();
    json_t *pods = ns_items(c, "v1", "Pod", ns);
    ck_assert_uint_eq(json_array_size(pods), 6);                       /* 3 controllers + 3 brokers */
    kube_client *a = admin_client();
    char zones[3][16] = {"", "", ""};
    size_t i;
    json_t *p;
    json_array_foreach(pods, i, p) {
        ck_assert_str_eq(jpath(p, "status.phase"), "Running");
        json_t *node = NULL;
        kube_err e;
        ck_assert_int_eq(kube_get(c, "v1", "Node", NULL, jpath(p, "spec.nodeName"), &node, &e), KUBE_OK);
        const char *z = json_string_value(
            json_object_get(json_object_get(json_object_get(node, "metadata"), "labels"), "topology.kubernetes.io/zone"));
        ck_assert_ptr_nonnull(z);
        for (int k = 0; k < 3; k++)
            if (!zones[k][0] || !strcmp(zones[k], z)) { snprintf(zones[k], sizeof zones[k], "%s", z); break; }
        json_decref(node);
    }
    json_decref(pods);
    ck_assert_msg(zones[2][0], "brokers and controllers are not spread over three zones");
    json_t *pvcs = ns_items(a, "v1", "PersistentVolumeClaim", ns);      /* the StatefulSet controller's, not ours */
    ck_assert_uint_eq(json_array_size(pvcs), 6);
    json_array_foreach(pvcs, i, p) ck_assert_str_eq(jpath(p, "status.phase"), "Bound");
    json_decref(pvcs);
    /* the rendered objects once more through streamplane's client: no write happens */
    snprintf(path, sizeof path, "%s/manifests", loc);
    r = jreq(&S, "GET", path, tkey, NULL);
    ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
    json_t *objs = json_object_get(r.json, "items");
    ck_assert_uint_gt(json_array_size(objs), 10);
    json_array_foreach(objs, i, p) {
        kube_err e;
        json_t *before = NULL, *after = NULL;
        const char *kind = jpath(p, "kind"), *name = jpath(p, "metadata.name");
        kube_rc rc = kube_get(c, jpath(p, "apiVersion"), kind, jpath(p, "metadata.namespace"), name, &before, &e);
        ck_assert_msg(rc == KUBE_OK, "%s %s: %s %s", kind, name, kube_rc_name(rc), e.message);
        rc = kube_apply(c, p, &after, &e);
        ck_assert_msg(rc == KUBE_OK, "%s %s: %s %s", kind, name, kube_rc_name(rc), e.message);
        ck_assert_msg(!strcmp(jpath(before, "metadata.resourceVersion"), jpath(after, "metadata.resourceVersion")),
                      "applying %s %s again wrote it (resourceVersion %s -> %s)", kind, name,
                      jpath(before, "metadata.resourceVersion"), jpath(after, "metadata.resourceVersion"));
        json_decref(before);
        json_decref(after);
    }
    resp_free(&r);
    r = jreq(&S, "DELETE", loc, tkey, NULL);
    ck_assert_int_eq(r.status, 202);
    resp_free(&r);
    ck_assert_msg(wait_gone(loc, 240), "the cluster was not deleted");
    json_t *o = NULL;
    kube_err e;
    ck_assert_int_eq(kube_get(a, "v1", "Namespace", NULL, ns, &o, &e), KUBE_NOT_FOUND);
    kube_client_free(a);
    kube_client_free(c);
    sp_down();
}
END_TEST

/* A namespace held by a finalizer nobody removes: the deletion does not
 * wait silently; Stalled=True says why, in the namespace's own words; once
 * the finalizer goes the cluster is gone. */
START_TEST(namespace_stuck_terminating_is_a_condition)
{
    sp_up("2");
    char id[64], loc[256], ns[96];
    create_cluster("{\"name\":\"held\",\"kafka_version\":\"3.9.1\",\"brokers\":1,\"storage_gib\":10}", id, loc);
    spresp r = wait_cluster(loc, "RUNNING", NULL, NULL, 240);
    ck_assert_msg(!strcmp(jpath(r.json, "status.phase"), "RUNNING"), "not RUNNING: %s", r.body);
    resp_free(&r);
    snprintf(ns, sizeof ns, "sp-%s", id);
    kube_client *a = admin_client();
    kube_err e;
    json_t *cm = json_pack("{s:s, s:s, s:{s:s, s:s, s:[s]}}", "apiVersion", "v1", "kind", "ConfigMap", "metadata",
                           "name", "hold", "namespace", ns, "finalizers", "bed.streamplane.dev/hold");
    ck_assert_int_eq(kube_apply(a, cm, NULL, &e), KUBE_OK);
    json_decref(cm);
    r = jreq(&S, "DELETE", loc, tkey, NULL);
    ck_assert_int_eq(r.status, 202);
    resp_free(&r);
    /* Stalled, and (once the namespace controller has looked) in its words */
    for (int i = 0; i < 600; i++) {
        r = jreq(&S, "GET", loc, tkey, NULL);
        const char *m = cond_field(&r, "Stalled", "message");
        if ((m && strstr(m, "bed.streamplane.dev/hold")) || i == 599) break;
        resp_free(&r);
        usleep(200000);
    }
    ck_assert_msg(cond_field(&r, "Stalled", "reason") && !strcmp(cond_field(&r, "Stalled", "reason"), "NamespaceTerminating"),
                  "%s", r.body);
    ck_assert_str_eq(cond_field(&r, "Stalled", "status"), "True");
    ck_assert_msg(strstr(cond_field(&r, "Stalled", "message"), "finalizers remaining: bed.streamplane.dev/hold"),
                  "%s", r.body);
    ck_assert_str_eq(jpath(r.json, "status.phase"), "DELETING");
    resp_free(&r);
    json_t *unhold = json_pack("{s:{s:n}}", "metadata", "finalizers");
    ck_assert_int_eq(kube_merge_patch(a, "v1", "ConfigMap", ns, "hold", unhold, NULL, &e), KUBE_OK);
    json_decref(unhold);
    ck_assert_msg(wait_gone(loc, 240), "the cluster was not deleted after the finalizer went");
    kube_client_free(a);
    sp_down();
}
END_TEST

/* LoadBalancer Services that get no address: Stalled=True with reason
 * ExternalAddressPending; once the bed's loop gives them one, the cluster
 * goes on to read Kafka at those loopback addresses. */
START_TEST(loadbalancer_without_address_is_a_condition)
{
    FILE *f = fopen(bed("BED_LB_WITHHOLD"), "w");                     /* empty: every Service */
    ck_assert_ptr_nonnull(f);
    fclose(f);
    sp_up("2");
    char id[64], loc[256];
    create_cluster("{\"name\":\"edge\",\"kafka_version\":\"3.9.1\",\"brokers\":1,\"storage_gib\":10,"
                   "\"external_access\":{\"type\":\"loadbalancer\"}}", id, loc);
    spresp r = wait_cluster(loc, NULL, "Stalled", "True", 240);
    unlink(bed("BED_LB_WITHHOLD"));
    ck_assert_msg(cond_field(&r, "Stalled", "reason") &&
                      !strcmp(cond_field(&r, "Stalled", "reason"), "ExternalAddressPending"), "%s", r.body);
    ck_assert_msg(strstr(cond_field(&r, "Stalled", "message"), "LoadBalancer"), "%s", r.body);
    resp_free(&r);
    for (int i = 0; i < 600; i++) {              /* the next step records the addresses */
        r = jreq(&S, "GET", loc, tkey, NULL);
        if (jpath(r.json, "status.external_bootstrap_servers") || i == 599) break;
        resp_free(&r);
        usleep(200000);
    }
    ck_assert_msg(cond_field(&r, "Stalled", "status") && !strcmp(cond_field(&r, "Stalled", "status"), "False"),
                  "%s", r.body);
    const char *ext = jpath(r.json, "status.external_bootstrap_servers");
    ck_assert_msg(ext && !strncmp(ext, bed("BED_NET"), strlen(bed("BED_NET"))), "%s", r.body);
    resp_free(&r);
    r = jreq(&S, "DELETE", loc, tkey, NULL);
    ck_assert_int_eq(r.status, 202);
    resp_free(&r);
    ck_assert_msg(wait_gone(loc, 240), "the cluster was not deleted");
    sp_down();
}
END_TEST

/* Storage growth against the real API server: on the expandable class
 * every broker's claim is patched (the StatefulSet's template stays as
 * created: the real server refuses any change to it) and the operation
 * waits until each claim's capacity follows; kube-controller-manager's
 * expand controller answers ExternalExpanding (no CSI driver here: KWOK's
 * stage plays the external resizer and sets the claim's capacity). On the
 * class without allowVolumeExpansion the operation fails saying so before
 * any claim changes, and the cluster's spec goes back. Two servers side by
 * side (the class is a server setting), one single-broker cluster each. */
typedef struct grower { spsrv s; char key[128], id[64], loc[256], op[256], ns[96]; } grower;

static void grower_up(grower *g, const char *storage_class)
{
    memset(g, 0, sizeof *g);
    const char *const flags[] = {"--workers", "2", "--storage-class", storage_class, NULL};
    srv_start(&g->s, NULL, flags);
    char body[8192], *tok = sa_token(), tid[64];
    plane_body("bed", tok, true, body, sizeof body);
    free(tok);
    spresp r = jreq(&g->s, "POST", "/v1/data-planes", ADMIN, body);
    ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
    resp_free(&r);
    make_tenant(&g->s, "grower", NULL, tid, g->key);
    r = jreq(&g->s, "POST", "/v1/clusters", g->key,
             "{\"name\":\"roomy\",\"kafka_version\":\"3.9.1\",\"brokers\":1,\"storage_gib\":10}");
    ck_assert_msg(r.status == 202, "%ld %s", r.status, r.body);
    snprintf(g->id, sizeof g->id, "%s", jstr(&r, "id"));
    snprintf(g->loc, sizeof g->loc, "%s", r.location);
    snprintf(g->ns, sizeof g->ns, "sp-%s", g->id);
    resp_free(&r);
}

/* Polls path until its field is one of want (a |-list) or secs pass; the last answer. */
static json_t *poll_field(grower *g, const char *path, const char *field, const char *want, int secs)
{
    json_t *o = NULL;
    for (int i = 0; i < secs * 5; i++) {
        spresp r = jreq(&g->s, "GET", path, g->key, NULL);
        json_decref(o);
        o = json_incref(r.json);
        resp_free(&r);
        const char *v = jpath(o, field);
        if (v && strstr(want, v)) break;
        usleep(200000);
    }
    return o;
}

static void grower_patch(grower *g)
{
    json_decref(poll_field(g, g->loc, "status.phase", "RUNNING", 240));
    spresp r = jreq(&g->s, "PATCH", g->loc, g->key, "{\"storage_gib\":20}");
    ck_assert_msg(r.status == 202, "%ld %s", r.status, r.body);
    snprintf(g->op, sizeof g->op, "%s", r.op_location);
    resp_free(&r);
}

static void grower_down(grower *g)
{
    spresp r = jreq(&g->s, "DELETE", g->loc, g->key, NULL);   /* the bed goes at the end of the run */
    resp_free(&r);
    srv_cleanup(&g->s);
}

START_TEST(storage_growth_on_the_real_api_server)
{
    static grower grow, fixed;
    int64_t t0 = sp_mono_ms();
    grower_up(&grow, "standard");
    grower_up(&fixed, "fixed");
    grower_patch(&grow);
    grower_patch(&fixed);
    json_t *o = poll_field(&grow, grow.op, "state", "SUCCEEDED|FAILED|CANCELLED", 240);
    char *d = json_dumps(o, JSON_COMPACT);
    ck_assert_msg(!strcmp(jpath(o, "state"), "SUCCEEDED"), "%s", d);
    free(d);
    json_decref(o);
    kube_client *c = sa_client();
    json_t *pvc = NULL, *sts = NULL;
    kube_err e;
    ck_assert_int_eq(kube_get(c, "v1", "PersistentVolumeClaim", grow.ns, "data-kafka-broker-0", &pvc, &e), KUBE_OK);
    ck_assert_str_eq(jpath(pvc, "spec.resources.requests.storage"), "20Gi");
    ck_assert_str_eq(jpath(pvc, "status.capacity.storage"), "20Gi");
    json_decref(pvc);
    ck_assert_int_eq(kube_get(c, "apps/v1", "StatefulSet", grow.ns, "kafka-broker", &sts, &e), KUBE_OK);
    json_t *vct = json_array_get(json_object_get(json_object_get(sts, "spec"), "volumeClaimTemplates"), 0);
    ck_assert_str_eq(jpath(vct, "spec.resources.requests.storage"), "10Gi");
    json_decref(sts);
    /* what kube-controller-manager did with the expansion */
    kube_client *a = admin_client();
    json_t *events = ns_items(a, "v1", "Event", grow.ns);
    int external = 0;
    size_t i;
    json_t *p;
    json_array_foreach(events, i, p) external += jpath(p, "reason") && !strcmp(jpath(p, "reason"), "ExternalExpanding");
    json_decref(events);
    kube_client_free(a);
    fprintf(stderr, "[bed] storage 10 -> 20 GiB: the claim grew; kube-controller-manager's expand controller "
            "recorded %d ExternalExpanding event(s) (it waits for an external resizer)\n", external);
    ck_assert_int_ge(external, 1);

    /* the class that cannot expand */
    o = poll_field(&fixed, fixed.op, "state", "SUCCEEDED|FAILED|CANCELLED", 240);
    d = json_dumps(o, JSON_COMPACT);
    ck_assert_msg(!strcmp(jpath(o, "state"), "FAILED"), "%s", d);
    ck_assert_msg(strstr(jpath(o, "error.message"), "fixed") && strstr(jpath(o, "error.message"), "expansion"), "%s", d);
    free(d);
    json_decref(o);
    spresp r = jreq(&fixed.s, "GET", fixed.loc, fixed.key, NULL);
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "storage_gib")), 10);   /* the spec went back */
    resp_free(&r);
    ck_assert_int_eq(kube_get(c, "v1", "PersistentVolumeClaim", fixed.ns, "data-kafka-broker-0", &pvc, &e), KUBE_OK);
    ck_assert_str_eq(jpath(pvc, "spec.resources.requests.storage"), "10Gi");           /* untouched */
    json_decref(pvc);
    kube_client_free(c);
    grower_down(&grow);
    grower_down(&fixed);
    fprintf(stderr, "[bed] storage growth: %lld ms\n", (long long)(sp_mono_ms() - t0));
}
END_TEST

static Suite *suite_bed(void)
{
    Suite *s = suite_create("bed");
    TCase *t = tcase_create("kubernetes");
    tcase_set_timeout(t, 300);
    tcase_add_test(t, bed_nodes_pods_jobs_and_claims);
    tcase_add_test(t, client_on_the_real_server);
    tcase_add_test(t, credentials_trust_kubeconfig_in_cluster);
    tcase_add_test(t, rbac_is_what_streamplane_needs_not_admin);
    tcase_add_test(t, apply_is_idempotent_and_leaves_other_managers_fields);
    tcase_add_test(t, probe_right_and_wrong_credentials);
    suite_add_tcase(s, t);
    TCase *r = tcase_create("reconcile");
    tcase_set_timeout(r, 600);
    tcase_add_test(r, provision_apply_again_and_delete);
    tcase_add_test(r, namespace_stuck_terminating_is_a_condition);
    tcase_add_test(r, loadbalancer_without_address_is_a_condition);
    tcase_add_test(r, storage_growth_on_the_real_api_server);
    suite_add_tcase(s, r);
    return s;
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    SRunner *sr = srunner_create(suite_bed());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    curl_global_cleanup();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
