/* kubeconfig parsing and REST paths (the client itself is tested against
 * kube-sim end to end). */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../../workers/kube/client.h"
#include "../../workers/cluster_health.h"
#include "../../common/util.h"

/* "-----BEGIN CERTIFICATE-----\nX\n-----END CERTIFICATE-----\n" in base64 */
#define CA_B64 "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tClgKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo="

static const char *KCFG =
    "apiVersion: v1\n"
    "kind: Config\n"
    "current-context: prod\n"
    "clusters:\n"
    "- name: eu\n"
    "  cluster:\n"
    "    server: https://eu.example:6443\n"
    "    certificate-authority-data: " CA_B64 "\n"
    "- name: dev\n"
    "  cluster:\n"
    "    server: https://127.0.0.1:6443\n"
    "    insecure-skip-tls-verify: true\n"
    "users:\n"
    "- name: sa\n"
    "  user:\n"
    "    token: abc.def\n"
    "- name: sso\n"
    "  user:\n"
    "    exec:\n"
    "      command: kubelogin\n"
    "- name: filetok\n"
    "  user:\n"
    "    tokenFile: tok\n"
    "contexts:\n"
    "- name: prod\n"
    "  context: {cluster: eu, user: sa, namespace: kafka}\n"
    "- name: dev\n"
    "  context: {cluster: dev, user: filetok}\n"
    "- name: sso\n"
    "  context: {cluster: eu, user: sso}\n"
    "- name: broken\n"
    "  context: {cluster: nowhere, user: sa}\n";

START_TEST(kubeconfig_current_context)
{
    kube_cfg c;
    char err[256];
    ck_assert_int_eq(kube_cfg_from_kubeconfig(KCFG, strlen(KCFG), NULL, NULL, &c, err, sizeof err), 0);
    ck_assert_str_eq(c.server, "https://eu.example:6443");
    ck_assert_str_eq(c.token, "abc.def");
    ck_assert(strstr(c.ca_pem, "BEGIN CERTIFICATE") != NULL);
    ck_assert_str_eq(c.namespace_, "kafka");
    ck_assert(!c.insecure);
    kube_cfg_free(&c);
}
END_TEST

START_TEST(kubeconfig_named_context_and_token_file)
{
    kube_cfg c;
    char err[256];
    ck_assert_int_eq(kube_cfg_from_kubeconfig(KCFG, strlen(KCFG), "dev", "/etc/kube", &c, err, sizeof err), 0);
    ck_assert(c.insecure);
    ck_assert_ptr_null(c.token);
    ck_assert_str_eq(c.token_file, "/etc/kube/tok");
    kube_cfg_free(&c);
}
END_TEST

START_TEST(kubeconfig_refusals)
{
    kube_cfg c;
    char err[256];
    ck_assert_int_ne(kube_cfg_from_kubeconfig(KCFG, strlen(KCFG), "sso", NULL, &c, err, sizeof err), 0);
    ck_assert_msg(strstr(err, "exec credential plugin"), "%s", err);
    ck_assert_int_ne(kube_cfg_from_kubeconfig(KCFG, strlen(KCFG), "broken", NULL, &c, err, sizeof err), 0);
    ck_assert_msg(strstr(err, "nowhere"), "%s", err);
    ck_assert_int_ne(kube_cfg_from_kubeconfig(KCFG, strlen(KCFG), "absent", NULL, &c, err, sizeof err), 0);
    ck_assert_int_ne(kube_cfg_from_kubeconfig("a: [b", 5, NULL, NULL, &c, err, sizeof err), 0);
    ck_assert_msg(strstr(err, "YAML"), "%s", err);
    ck_assert_int_ne(kube_cfg_from_kubeconfig("- just\n- a list\n", 16, NULL, NULL, &c, err, sizeof err), 0);
}
END_TEST

START_TEST(in_cluster_reads_service_account)
{
    char dir[] = "/tmp/sp-sa-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char p[200];
    kube_cfg c;
    char err[256];
    unsetenv("KUBERNETES_SERVICE_HOST");
    ck_assert_int_ne(kube_cfg_in_cluster(dir, &c, err, sizeof err), 0);
    setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
    setenv("KUBERNETES_SERVICE_PORT", "443", 1);
    ck_assert_int_ne(kube_cfg_in_cluster(dir, &c, err, sizeof err), 0);   /* no token file */
    const char *files[][2] = {{"token", "tok-1\n"}, {"ca.crt", "-----BEGIN CERTIFICATE-----\n"}, {"namespace", "streamplane\n"}};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, files[i][0]);
        FILE *f = fopen(p, "w");
        fputs(files[i][1], f);
        fclose(f);
    }
    ck_assert_int_eq(kube_cfg_in_cluster(dir, &c, err, sizeof err), 0);
    ck_assert_str_eq(c.server, "https://10.96.0.1:443");
    ck_assert_str_eq(c.namespace_, "streamplane");
    ck_assert_ptr_nonnull(c.token_file);      /* re-read per request: rotation */
    kube_cfg_free(&c);
    snprintf(p, sizeof p, "rm -rf %s", dir);
    ck_assert_int_eq(system(p), 0);
}
END_TEST

START_TEST(rest_paths)
{
    char p[256];
    ck_assert_int_eq(kube_path("v1", "Namespace", NULL, "sp-x", p, sizeof p), 0);
    ck_assert_str_eq(p, "/api/v1/namespaces/sp-x");
    ck_assert_int_eq(kube_path("apps/v1", "StatefulSet", "ns", "kafka-broker", p, sizeof p), 0);
    ck_assert_str_eq(p, "/apis/apps/v1/namespaces/ns/statefulsets/kafka-broker");
    ck_assert_int_eq(kube_path("v1", "PersistentVolumeClaim", "ns", NULL, p, sizeof p), 0);
    ck_assert_str_eq(p, "/api/v1/namespaces/ns/persistentvolumeclaims");
    ck_assert_int_eq(kube_path("apps/v1", "StatefulSet", NULL, NULL, p, sizeof p), 0);
    ck_assert_str_eq(p, "/apis/apps/v1/statefulsets");
    ck_assert_int_eq(kube_path("v1", "Gadget", "ns", "x", p, sizeof p), -1);
}
END_TEST

/* Which address streamplane reads Kafka from, by the data plane's kafka_access. */
START_TEST(health_route_follows_kafka_access)
{
    json_t *st = json_pack("{s:s, s:s}", "bootstrap_servers", "kafka-bootstrap.sp-x.svc.cluster.local:9092",
                           "external_bootstrap_servers", "203.0.113.1:9094,203.0.113.2:9094");
    json_t *inside = json_pack("{s:s}", "kafka_access", "in_cluster_dns"), *outside = json_pack("{s:s}", "kafka_access",
                                                                                                  "external");
    json_t *unset = json_object();
    const char *why = NULL;
    ck_assert_str_eq(health_route(st, inside, &why), "kafka-bootstrap.sp-x.svc.cluster.local:9092");
    ck_assert_str_eq(health_route(st, unset, &why), "kafka-bootstrap.sp-x.svc.cluster.local:9092");  /* the default */
    ck_assert_str_eq(health_route(st, outside, &why), "203.0.113.1:9094,203.0.113.2:9094");
    ck_assert_ptr_null(health_route(st, NULL, &why));                     /* the manifests target */
    ck_assert_ptr_nonnull(strstr(why, "manifests"));
    json_object_del(st, "external_bootstrap_servers");                  /* external_access none */
    why = NULL;
    ck_assert_ptr_null(health_route(st, outside, &why));
    ck_assert_ptr_nonnull(strstr(why, "external listener"));
    json_object_del(st, "bootstrap_servers");                           /* not provisioned yet */
    ck_assert_ptr_null(health_route(st, inside, &why));
    json_decref(st);
    json_decref(inside);
    json_decref(outside);
    json_decref(unset);
}
END_TEST

/* Nothing listens: a reading that says so, a verdict that says why. */
START_TEST(health_check_unreachable)
{
    kafka_pool *p = kafka_pool_new(2);
    health_verdict v;
    json_t *r = health_check(p, "127.0.0.1:1", 3, 300, &v);
    ck_assert(!v.reachable && !v.healthy && !v.all_brokers);
    ck_assert_str_eq(v.reason, "KafkaUnreachable");
    ck_assert(json_is_false(json_object_get(r, "reachable")));
    ck_assert_int_eq(json_integer_value(json_object_get(r, "brokers_expected")), 3);
    ck_assert_ptr_nonnull(json_string_value(json_object_get(r, "error")));
    ck_assert_ptr_null(json_object_get(r, "brokers_online"));
    json_decref(r);
    kafka_pool_free(p);
}
END_TEST


/* Issue 10, finding 1: YAML aliases expand without limit (a 768-byte
 * "billion laughs" took 96 s and 5 GB; a self-referencing one hung the
 * server). Aliases are refused, node count and depth are bounded. */
START_TEST(kubeconfig_aliases_refused)
{
    kube_cfg c;
    char err[256];
    const char *laughs =
        "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
        "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
        "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
        "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
        "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
        "h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
        "i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]\n"
        "clusters: [*i]\n";
    ck_assert_int_ne(kube_cfg_from_kubeconfig(laughs, strlen(laughs), NULL, NULL, &c, err, sizeof err), 0);
    ck_assert_msg(strstr(err, "alias"), "%s", err);
    const char *loop = "clusters: &a [*a, *a]\n";
    ck_assert_int_ne(kube_cfg_from_kubeconfig(loop, strlen(loop), NULL, NULL, &c, err, sizeof err), 0);
    ck_assert_msg(strstr(err, "alias"), "%s", err);
}
END_TEST

START_TEST(kubeconfig_bounds)
{
    kube_cfg c;
    char err[256];
    size_t n = 200000;
    char *deep = malloc(2 * n + 20);
    strcpy(deep, "clusters: ");
    size_t o = strlen(deep);
    for (size_t i = 0; i < n / 2; i++) deep[o++] = '[';
    for (size_t i = 0; i < n / 2; i++) deep[o++] = ']';
    deep[o] = 0;
    ck_assert_int_ne(kube_cfg_from_kubeconfig(deep, o, NULL, NULL, &c, err, sizeof err), 0);
    ck_assert_msg(strstr(err, "deep"), "%s", err);
    /* 100,000 scalars: far more nodes than any kubeconfig has */
    o = 0;
    o += (size_t)sprintf(deep + o, "clusters: [");
    for (size_t i = 0; i < 100000; i++) deep[o++] = 'x', deep[o++] = ',';
    deep[o++] = ']';
    deep[o] = 0;
    ck_assert_int_ne(kube_cfg_from_kubeconfig(deep, o, NULL, NULL, &c, err, sizeof err), 0);
    ck_assert_msg(strstr(err, "nodes"), "%s", err);
    free(deep);
}
END_TEST

/* Finding 2 and 7: a kubeconfig given inline (no base directory: the API's
 * case) must be self-contained; `tokenFile: <data dir>/master.key` sent the
 * master key to a URL the caller chose, `certificate-authority: /dev/zero`
 * read 4 GB. */
START_TEST(kubeconfig_inline_refuses_files)
{
    static const char *const refs[] = {
        "    tokenFile: /tmp/master.key\n", "    client-certificate: /etc/passwd\n    client-key: /etc/passwd\n",
        "    client-key: /etc/shadow\n", NULL};
    char buf[2048], err[256];
    kube_cfg c;
    for (int i = 0; refs[i]; i++) {
        snprintf(buf, sizeof buf, "current-context: x\nclusters:\n- name: c\n  cluster:\n    server: https://h:1\n"
                                  "contexts:\n- name: x\n  context: {cluster: c, user: u}\nusers:\n- name: u\n  user:\n%s",
                 refs[i]);
        ck_assert_int_ne(kube_cfg_from_kubeconfig(buf, strlen(buf), NULL, NULL, &c, err, sizeof err), 0);
        ck_assert_msg(strstr(err, "self-contained"), "%s", err);
    }
    snprintf(buf, sizeof buf, "current-context: x\nclusters:\n- name: c\n  cluster:\n    server: https://h:1\n"
                              "    certificate-authority: /dev/zero\ncontexts:\n- name: x\n  context: {cluster: c}\n");
    ck_assert_int_ne(kube_cfg_from_kubeconfig(buf, strlen(buf), NULL, NULL, &c, err, sizeof err), 0);
    ck_assert_msg(strstr(err, "self-contained"), "%s", err);
    /* from a file on disk (an operator's own kubeconfig), paths are read, but
     * only regular files and only so much */
    ck_assert_int_ne(kube_cfg_from_kubeconfig(buf, strlen(buf), NULL, "/", &c, err, sizeof err), 0);
    ck_assert_msg(strstr(err, "/dev/zero"), "%s", err);
}
END_TEST

START_TEST(read_file_is_bounded)
{
    size_t n;
    ck_assert_ptr_null(sp_read_file_max("/dev/zero", 1 << 20, &n));
    char path[] = "/tmp/sp-big-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    char block[4096] = {0};
    for (int i = 0; i < 300; i++) ck_assert_int_eq(write(fd, block, sizeof block), (ssize_t)sizeof block);
    close(fd);
    ck_assert_ptr_null(sp_read_file_max(path, 1 << 20, &n));    /* 1.2 MB > 1 MB */
    char *t = sp_read_file_max(path, 2 << 20, &n);
    ck_assert_ptr_nonnull(t);
    ck_assert_uint_eq(n, 300 * 4096);
    free(t);
    unlink(path);
}
END_TEST

Suite *suite_kube(void)
{
    Suite *s = suite_create("kube");
    TCase *t = tcase_create("config");
    tcase_add_test(t, kubeconfig_current_context);
    tcase_add_test(t, kubeconfig_named_context_and_token_file);
    tcase_add_test(t, kubeconfig_refusals);
    tcase_add_test(t, kubeconfig_aliases_refused);
    tcase_add_test(t, kubeconfig_bounds);
    tcase_add_test(t, kubeconfig_inline_refuses_files);
    tcase_add_test(t, read_file_is_bounded);
    tcase_add_test(t, in_cluster_reads_service_account);
    tcase_add_test(t, rest_paths);
    tcase_add_test(t, health_route_follows_kafka_access);
    tcase_add_test(t, health_check_unreachable);
    suite_add_tcase(s, t);
    return s;
}
