/* The Kubernetes client against kube-sim (the API server test double), for
 * what a real API server cannot be made to do on demand: injected 503s and
 * 429s with Retry-After, dropped connections, latency past the deadline, a
 * stopped server; each comes back typed within the deadline. Everything
 * else (TLS and tokens, kubeconfig and in-cluster set-ups, apply, RBAC, the
 * reconciler) runs on the real control plane: tests/e2e/test_bed.c. */
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

Suite *suite_kube(void)
{
    Suite *s = suite_create("kube");
    TCase *t = tcase_create("client");
    tcase_set_timeout(t, 60);
    tcase_add_checked_fixture(t, tls_up, tls_down);
    tcase_add_test(t, faults_come_back_typed_within_the_deadline);
    suite_add_tcase(s, t);
    return s;
}
