/* The Kubernetes client against kube-sim (the API server test double):
 * TLS with a bearer token, kubeconfig and in-cluster set-ups, server-side
 * apply semantics, typed errors for every fault, deadlines kept. Then the
 * reconciler: a cluster on a kube-sim data plane is provisioned and
 * deleted through the real client. */
#define _GNU_SOURCE
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "harness.h"
#include "../../common/util.h"
#include "../../workers/kube/client.h"

static char certdir[64], cert[128], key[128];
static ksim K;

static void tls_up(void)
{
    snprintf(certdir, sizeof certdir, "/tmp/sp-cert-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(certdir));
    snprintf(cert, sizeof cert, "%s/tls.crt", certdir);
    snprintf(key, sizeof key, "%s/tls.key", certdir);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "openssl req -x509 -newkey rsa:2048 -nodes -keyout %s -out %s -days 1 "
             "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null", key, cert);
    ck_assert_int_eq(system(cmd), 0);
    memset(&K, 0, sizeof K);
    ksim_start_tls(&K, cert, key);
}

static void tls_down(void)
{
    ksim_cleanup(&K);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", certdir);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", certdir);
}

static char *ca_b64(void)
{
    size_t n;
    char *pem = sp_read_file(cert, &n);
    ck_assert_ptr_nonnull(pem);
    char *b = malloc(n * 2 + 8);
    /* standard base64 with padding, as ca_data is given */
    static const char T[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned char)pem[i] << 16 | (i + 1 < n ? (unsigned char)pem[i + 1] << 8 : 0) |
                     (i + 2 < n ? (unsigned char)pem[i + 2] : 0);
        b[o++] = T[v >> 18]; b[o++] = T[(v >> 12) & 63];
        b[o++] = i + 1 < n ? T[(v >> 6) & 63] : '=';
        b[o++] = i + 2 < n ? T[v & 63] : '=';
    }
    b[o] = 0;
    free(pem);
    return b;
}

static kube_client *client(const char *token, bool with_ca, int timeout_ms)
{
    kube_cfg cfg;
    char err[256];
    char *ca = with_ca ? ca_b64() : NULL;
    ck_assert_int_eq(kube_cfg_explicit(K.url, token, ca, false, &cfg, err, sizeof err), 0);
    free(ca);
    kube_client *c = kube_client_new(&cfg, timeout_ms);
    kube_cfg_free(&cfg);
    ck_assert_ptr_nonnull(c);
    return c;
}

/* Sets a fault on kube-sim through its control endpoint. */
static void fault(const char *json)
{
    ck_assert_int_eq(ksim_call(&K, json ? "POST" : "DELETE", "/_sim/faults", json), 200);
}

static json_t *configmap(const char *name, const char *v)
{
    return json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s}}, s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap",
                     "metadata", "name", name, "namespace", "default", "labels", "app", "sp-test",
                     "data", "k", v);
}

START_TEST(tls_token_apply_get_list_delete)
{
    kube_client *c = client(KSIM_TOKEN, true, 5000);
    kube_err e;
    ck_assert_int_eq(kube_ping(c, &e), KUBE_OK);
    json_t *cm = configmap("one", "v1"), *out = NULL;
    ck_assert_int_eq(kube_apply(c, cm, &out, &e), KUBE_OK);
    ck_assert_int_eq(e.http, 201);
    char rv[32];
    snprintf(rv, sizeof rv, "%s", jpath(out, "metadata.resourceVersion"));
    json_decref(out);
    ck_assert_int_eq(kube_apply(c, cm, &out, &e), KUBE_OK);              /* apply twice: a no-op */
    ck_assert_str_eq(jpath(out, "metadata.resourceVersion"), rv);
    json_decref(out);
    json_decref(cm);
    cm = configmap("two", "v2");
    ck_assert_int_eq(kube_apply(c, cm, NULL, &e), KUBE_OK);
    json_decref(cm);
    json_t *items = NULL;
    ck_assert_int_eq(kube_list(c, "v1", "ConfigMap", "default", "app=sp-test", &items, &e), KUBE_OK);
    ck_assert_uint_eq(json_array_size(items), 2);
    json_decref(items);
    ck_assert_int_eq(kube_get(c, "v1", "ConfigMap", "default", "one", &out, &e), KUBE_OK);
    ck_assert_str_eq(jpath(out, "data.k"), "v1");
    json_decref(out);
    kube_rc drc = kube_delete(c, "v1", "ConfigMap", "default", "one", "Background", &e);
    ck_assert_msg(drc == KUBE_OK, "delete: %s %s", kube_rc_name(drc), e.message);
    ck_assert_int_eq(kube_get(c, "v1", "ConfigMap", "default", "one", &out, &e), KUBE_NOT_FOUND);
    ck_assert_int_eq(e.http, 404);
    ck_assert_str_eq(e.reason, "NotFound");
    ck_assert(e.message[0]);                                              /* the server's own words */
    ck_assert_int_eq(kube_delete(c, "v1", "ConfigMap", "default", "one", NULL, &e), KUBE_NOT_FOUND);
    /* a rule of the API server comes back typed, with its message: PVCs never shrink */
    json_t *pvc = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:[s], s:{s:{s:s}}, s:s}}", "apiVersion", "v1",
                            "kind", "PersistentVolumeClaim", "metadata", "name", "data", "namespace", "default",
                            "spec", "accessModes", "ReadWriteOnce", "resources", "requests", "storage", "10Gi",
                            "storageClassName", "standard");
    ck_assert_int_eq(kube_apply(c, pvc, NULL, &e), KUBE_OK);
    json_t *shrink = json_pack("{s:{s:{s:{s:s}}}}", "spec", "resources", "requests", "storage", "5Gi");
    ck_assert_int_eq(kube_merge_patch(c, "v1", "PersistentVolumeClaim", "default", "data", shrink, NULL, &e), KUBE_INVALID);
    ck_assert_int_eq(e.http, 422);
    ck_assert_msg(strstr(e.message, "less than"), "%s", e.message);
    json_t *grow = json_pack("{s:{s:{s:{s:s}}}}", "spec", "resources", "requests", "storage", "20Gi");
    ck_assert_int_eq(kube_merge_patch(c, "v1", "PersistentVolumeClaim", "default", "data", grow, NULL, &e), KUBE_OK);
    ck_assert_int_eq(kube_merge_patch(c, "v1", "PersistentVolumeClaim", "default", "nope", grow, NULL, &e), KUBE_NOT_FOUND);
    json_decref(pvc); json_decref(shrink); json_decref(grow);
    kube_client_free(c);
}
END_TEST

START_TEST(credentials_and_trust_are_checked)
{
    kube_err e;
    kube_client *c = client("wrong-token", true, 3000);
    ck_assert_int_eq(kube_ping(c, &e), KUBE_UNAUTHORIZED);
    kube_client_free(c);
    c = client(KSIM_TOKEN, false, 3000);                               /* no CA: not trusted */
    ck_assert_int_eq(kube_ping(c, &e), KUBE_CONNECT);
    ck_assert(e.message[0]);
    kube_client_free(c);
}
END_TEST

START_TEST(kubeconfig_and_in_cluster_connect)
{
    char path[200], err[256];
    snprintf(path, sizeof path, "%s/kubeconfig", certdir);
    FILE *f = fopen(path, "w");
    fprintf(f, "apiVersion: v1\nkind: Config\ncurrent-context: sim\nclusters:\n- name: sim\n  cluster:\n"
               "    server: %s\n    certificate-authority: tls.crt\nusers:\n- name: u\n  user:\n"
               "    token: %s\ncontexts:\n- name: sim\n  context: {cluster: sim, user: u}\n", K.url, KSIM_TOKEN);
    fclose(f);
    kube_cfg cfg;
    ck_assert_msg(kube_cfg_from_kubeconfig_file(path, NULL, &cfg, err, sizeof err) == 0, "%s", err);
    kube_client *c = kube_client_new(&cfg, 3000);
    kube_cfg_free(&cfg);
    kube_err e;
    ck_assert_int_eq(kube_ping(c, &e), KUBE_OK);
    kube_client_free(c);

    /* in-cluster: service account files and KUBERNETES_SERVICE_* */
    char sa[200], cmd[2048];
    snprintf(sa, sizeof sa, "%s/sa", certdir);
    snprintf(cmd, sizeof cmd, "mkdir -p %s && cp %s %s/ca.crt && printf 'stale' > %s/token && echo default > %s/namespace",
             sa, cert, sa, sa, sa);
    ck_assert_int_eq(system(cmd), 0);
    setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1", 1);
    char port[16];
    snprintf(port, sizeof port, "%d", K.port);
    setenv("KUBERNETES_SERVICE_PORT", port, 1);
    ck_assert_msg(kube_cfg_in_cluster(sa, &cfg, err, sizeof err) == 0, "%s", err);
    c = kube_client_new(&cfg, 3000);
    kube_cfg_free(&cfg);
    ck_assert_int_eq(kube_ping(c, &e), KUBE_UNAUTHORIZED);           /* an old token... */
    snprintf(cmd, sizeof cmd, "printf '%s' > %s/token", KSIM_TOKEN, sa);
    ck_assert_int_eq(system(cmd), 0);
    ck_assert_int_eq(kube_ping(c, &e), KUBE_OK);                     /* ...rotated: re-read, no restart */
    kube_client_free(c);
}
END_TEST

START_TEST(faults_come_back_typed_within_the_deadline)
{
    kube_err e;
    kube_client *c = client(KSIM_TOKEN, true, 2000);
    /* a few 503s are retried away */
    fault("{\"status\":503,\"count\":2}");
    ck_assert_int_eq(kube_ping(c, &e), KUBE_OK);
    /* 429 with Retry-After is honoured */
    fault("{\"status\":429,\"count\":1,\"retry_after\":1}");
    int64_t t0 = sp_mono_ms();
    ck_assert_int_eq(kube_ping(c, &e), KUBE_OK);
    ck_assert_int_ge(sp_mono_ms() - t0, 900);
    /* a dropped connection is retried */
    fault("{\"drop\":true,\"count\":1}");
    ck_assert_int_eq(kube_ping(c, &e), KUBE_OK);
    /* 5xx that never stops: Unavailable, within the deadline */
    fault("{\"status\":500,\"count\":1000}");
    t0 = sp_mono_ms();
    ck_assert_int_eq(kube_ping(c, &e), KUBE_UNAVAILABLE);
    ck_assert_int_le(sp_mono_ms() - t0, 2600);
    ck_assert_int_eq(e.http, 500);
    fault(NULL);
    /* too slow: Timeout, not a hang */
    fault("{\"latency_ms\":5000,\"count\":1}");
    t0 = sp_mono_ms();
    ck_assert_int_eq(kube_ping(c, &e), KUBE_TIMEOUT);
    ck_assert_int_le(sp_mono_ms() - t0, 2600);
    fault(NULL);
    /* an unimplemented request is a loud 501, typed Unsupported */
    json_t *odd = json_pack("{s:s, s:s, s:{s:s, s:s}}", "apiVersion", "coordination.k8s.io/v1", "kind", "Lease",
                            "metadata", "name", "x", "namespace", "default");
    kube_rc rc = kube_apply(c, odd, NULL, &e);
    ck_assert_msg(rc == KUBE_UNSUPPORTED || rc == KUBE_OK, "%s", kube_rc_name(rc));
    json_decref(odd);
    /* a stopped server: ConnectFailed, quickly */
    ksim_stop(&K);
    t0 = sp_mono_ms();
    rc = kube_ping(c, &e);
    ck_assert_msg(rc == KUBE_CONNECT || rc == KUBE_UNAVAILABLE || rc == KUBE_TIMEOUT, "%s", kube_rc_name(rc));
    ck_assert_int_le(sp_mono_ms() - t0, 2600);
    kube_client_free(c);
}
END_TEST

/* ---- the reconciler on a kube-sim data plane ----------------------------- */

static spsrv S;

START_TEST(cluster_on_a_data_plane_is_provisioned_and_deleted)
{
    ksim k = {0};
    memset(&k, 0, sizeof k);
    ksim_start(&k);
    memset(&S, 0, sizeof S);
    const char *const workers[] = {"--workers", "2", NULL};
    srv_start(&S, NULL, workers);
    char body[600];
    ksim_plane_body(&k, "eu-1", body, sizeof body);
    spresp r = jreq(&S, "POST", "/v1/data-planes", ADMIN, body);
    ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
    resp_free(&r);
    char tid[64], tkey[128];
    make_tenant(&S, "acme", NULL, tid, tkey);
    r = jreq(&S, "POST", "/v1/clusters", tkey, "{\"name\":\"orders\",\"kafka_version\":\"3.9.1\",\"brokers\":3,\"storage_gib\":10}");
    ck_assert_int_eq(r.status, 202);
    ck_assert_str_eq(jpath(r.json, "status.target"), "data_plane");
    char loc[256], op[256], id[64];
    snprintf(loc, sizeof loc, "%s", r.location);
    snprintf(op, sizeof op, "%s", r.op_location);
    snprintf(id, sizeof id, "%s", jstr(&r, "id"));
    resp_free(&r);
    bool running = false;
    for (int i = 0; i < 300 && !running; i++) {
        r = jreq(&S, "GET", loc, tkey, NULL);
        running = jpath(r.json, "status.phase") && !strcmp(jpath(r.json, "status.phase"), "RUNNING");
        if (running) {
            ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(r.json, "status"), "brokers_ready")), 3);
            ck_assert(strstr(jpath(r.json, "status.bootstrap_servers"), "kafka-bootstrap.sp-"));
        }
        resp_free(&r);
        if (!running) usleep(50000);
    }
    if (!running) {
        r = jreq(&S, "GET", op, tkey, NULL);
        ck_abort_msg("not RUNNING; operation: %s", r.body);
    }
    r = jreq(&S, "GET", op, tkey, NULL);
    ck_assert_str_eq(jstr(&r, "state"), "SUCCEEDED");
    resp_free(&r);
    /* the objects are there as rendered, through the same client */
    kube_cfg cfg;
    char err[256], ns[96];
    ck_assert_int_eq(kube_cfg_explicit(k.url, KSIM_TOKEN, NULL, false, &cfg, err, sizeof err), 0);
    kube_client *c = kube_client_new(&cfg, 3000);
    kube_cfg_free(&cfg);
    snprintf(ns, sizeof ns, "sp-%s", id);
    json_t *items = NULL;
    kube_err e;
    ck_assert_int_eq(kube_list(c, "v1", "Pod", ns, NULL, &items, &e), KUBE_OK);
    ck_assert_uint_eq(json_array_size(items), 6);                    /* 3 controllers + 3 brokers */
    json_decref(items);
    /* delete: namespace gone, then 404 */
    r = jreq(&S, "DELETE", loc, tkey, NULL);
    ck_assert_int_eq(r.status, 202);
    resp_free(&r);
    bool gone = false;
    for (int i = 0; i < 300 && !gone; i++) {
        r = jreq(&S, "GET", loc, tkey, NULL);
        gone = r.status == 404;
        resp_free(&r);
        if (!gone) usleep(50000);
    }
    ck_assert(gone);
    json_t *o = NULL;
    ck_assert_int_eq(kube_get(c, "v1", "Namespace", NULL, ns, &o, &e), KUBE_NOT_FOUND);
    kube_client_free(c);
    srv_cleanup(&S);
    ksim_cleanup(&k);
}
END_TEST

Suite *suite_kube(void)
{
    Suite *s = suite_create("kube");
    TCase *t = tcase_create("client");
    tcase_set_timeout(t, 60);
    tcase_add_checked_fixture(t, tls_up, tls_down);
    tcase_add_test(t, tls_token_apply_get_list_delete);
    tcase_add_test(t, credentials_and_trust_are_checked);
    tcase_add_test(t, kubeconfig_and_in_cluster_connect);
    tcase_add_test(t, faults_come_back_typed_within_the_deadline);
    suite_add_tcase(s, t);
    TCase *r = tcase_create("reconcile");
    tcase_set_timeout(r, 60);
    tcase_add_test(r, cluster_on_a_data_plane_is_provisioned_and_deleted);
    suite_add_tcase(s, r);
    return s;
}
