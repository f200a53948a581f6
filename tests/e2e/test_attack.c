/* The attack of issue 10, replayed against the real binary: each finding's
 * request, the safe answer it must get, and afterwards the server alive
 * (/healthz, a clean SIGTERM) and the store intact (integrity check, the
 * rows made before the attack still there). */
#define _GNU_SOURCE
#include "harness.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static spsrv S;
static char T_ID[64], T_KEY[128];

static void up(void)
{
    memset(&S, 0, sizeof S);
    srv_start(&S, NULL, NULL);
    make_tenant(&S, "victim", NULL, T_ID, T_KEY);
}

/* The server answers, its store passes SQLite's integrity check, and the
 * tenant made before the attack is still there. */
static void assert_alive_and_intact(spsrv *s)
{
    spresp r = req(s, "GET", "/healthz", NULL, NULL, 0, NULL);
    ck_assert_int_eq(r.status, 200);
    resp_free(&r);
    char path[256];
    snprintf(path, sizeof path, "/v1/tenants/%s", T_ID);
    r = jreq(s, "GET", path, ADMIN, NULL);
    ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
    resp_free(&r);
    char db[256];
    snprintf(db, sizeof db, "file:%s/streamplane.db?mode=ro", s->dir);
    sqlite3 *h;
    ck_assert_int_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL), SQLITE_OK);
    sqlite3_stmt *st;
    ck_assert_int_eq(sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
    sqlite3_close(h);
}

static void down(void)
{
    assert_alive_and_intact(&S);
    srv_cleanup(&S);       /* SIGTERM must stop it, exit 0 */
}

/* A data plane body with this kubeconfig (YAML text, escaped here). */
static spresp post_kubeconfig(spsrv *s, const char *yaml)
{
    json_t *b = json_pack("{s:s, s:{s:s}}", "name", "evil", "kubernetes", "kubeconfig", yaml);
    char *txt = json_dumps(b, JSON_COMPACT);
    spresp r = jreq(s, "POST", "/v1/data-planes", ADMIN, txt);
    free(txt);
    json_decref(b);
    return r;
}

static void assert_no_planes(spsrv *s)
{
    spresp r = jreq(s, "GET", "/v1/data-planes", ADMIN, NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_uint_eq(json_array_size(json_object_get(r.json, "items")), 0);
    resp_free(&r);
}

/* A listening socket nobody answers on: what the server connected to it
 * (a probe, a credential sent) shows as a pending connection. */
static int trap_listen(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof a;
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(fd, 16), 0);
    getsockname(fd, (struct sockaddr *)&a, &l);
    *port = ntohs(a.sin_port);
    return fd;
}

static bool trap_touched(int fd)
{
    int c = accept(fd, NULL, NULL);
    if (c >= 0) { close(c); return true; }
    return false;
}

/* ---- 1. YAML alias bombs ------------------------------------------------ */

START_TEST(alias_bombs_refused_server_responsive)
{
    up();
    static const char *const bombs[] = {
        "loop: &a [*a, *a]\nclusters: []\n",
        "a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
        "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
        "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
        "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g,*g]\nclusters: [*h]\n",
        NULL};
    for (int i = 0; bombs[i]; i++) {
        spresp r = post_kubeconfig(&S, bombs[i]);
        assert_problem(&r, 422);
        ck_assert_msg(strstr(r.body, "alias"), "%s", r.body);
        resp_free(&r);
    }
    assert_no_planes(&S);
    down();
}
END_TEST

/* ---- 2 and 7. file references in a submitted kubeconfig ------------------ */

START_TEST(kubeconfig_file_references_refused)
{
    up();
    int port, trap = trap_listen(&port);
    char yaml[2048];
    for (int i = 0; i < 2; i++) {
        char user[512];
        if (i == 0) snprintf(user, sizeof user, "  user:\n    tokenFile: %s/master.key\n", S.dir);
        else snprintf(user, sizeof user, "  user:\n    client-certificate: %s/master.key\n    client-key: %s/master.key\n",
                      S.dir, S.dir);
        snprintf(yaml, sizeof yaml, "current-context: x\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:%d\n"
                                    "    insecure-skip-tls-verify: true\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\nusers:\n- name: u\n%s",
                 port, user);
        spresp r = post_kubeconfig(&S, yaml);
        assert_problem(&r, 422);
        ck_assert_msg(strstr(r.body, "self-contained") && strstr(r.body, "kubernetes.kubeconfig"), "%s", r.body);
        resp_free(&r);
    }
    /* /dev/zero as a CA: refused at once, nothing read */
    snprintf(yaml, sizeof yaml, "current-context: x\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:%d\n"
                                "    certificate-authority: /dev/zero\ncontexts:\n- name: x\n  context: {cluster: c}\n", port);
    spresp r = post_kubeconfig(&S, yaml);
    assert_problem(&r, 422);
    ck_assert_msg(strstr(r.body, "self-contained"), "%s", r.body);
    resp_free(&r);
    ck_assert_msg(!trap_touched(trap), "the server connected to the kubeconfig's URL");
    close(trap);
    assert_no_planes(&S);
    down();
}
END_TEST

/* ---- 3. credentials go nowhere new; insecure transport is explicit ------- */

START_TEST(credentials_required_again_and_insecure_explicit)
{
    up();
    ksim k = {0};
    ksim_start(&k);
    char body[1024];
    /* http:// and skipped verification: refused without the explicit mode */
    snprintf(body, sizeof body, "{\"name\":\"p\",\"kubernetes\":{\"server\":\"%s\",\"token\":\"%s\"}}", k.url, KSIM_TOKEN);
    spresp r = jreq(&S, "POST", "/v1/data-planes", ADMIN, body);
    assert_problem(&r, 422);
    ck_assert_msg(strstr(r.body, "allow_insecure_transport"), "%s", r.body);
    resp_free(&r);
    r = jreq(&S, "POST", "/v1/data-planes", ADMIN,
             "{\"name\":\"p\",\"kubernetes\":{\"server\":\"https://127.0.0.1:1\",\"token\":\"t\",\"insecure_skip_tls_verify\":true}}");
    assert_problem(&r, 422);
    ck_assert_msg(strstr(r.body, "kubernetes.insecure_skip_tls_verify"), "%s", r.body);
    resp_free(&r);
    /* with it: accepted, and the status says so */
    ksim_plane_body(&k, "p", body, sizeof body);
    r = jreq(&S, "POST", "/v1/data-planes", ADMIN, body);
    ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
    ck_assert(json_is_true(json_object_get(json_object_get(r.json, "status"), "insecure_transport")));
    char loc[256];
    snprintf(loc, sizeof loc, "%s", r.location);
    resp_free(&r);
    /* moving the server without the token: refused, and nothing reached the new URL */
    int port, trap = trap_listen(&port);
    snprintf(body, sizeof body, "{\"kubernetes\":{\"server\":\"http://127.0.0.1:%d\"}}", port);
    r = jreq(&S, "PATCH", loc, ADMIN, body);
    assert_problem(&r, 422);
    ck_assert_msg(strstr(r.body, "kubernetes.token"), "%s", r.body);
    resp_free(&r);
    ck_assert_msg(!trap_touched(trap), "the stored token was sent to the new server");
    close(trap);
    /* the plane is as it was */
    r = jreq(&S, "GET", loc, ADMIN, NULL);
    ck_assert_str_eq(jpath(r.json, "kubernetes.server"), k.url);
    resp_free(&r);
    ksim_cleanup(&k);
    down();
}
END_TEST

/* ---- 6. the probe does not read back what a URL answers ------------------ */

START_TEST(probe_does_not_echo_the_answer)
{
    up();
    /* the server itself as the "API server": its 404 problem+json would be read back */
    char body[512];
    snprintf(body, sizeof body, "{\"name\":\"p\",\"allow_insecure_transport\":true,"
                                "\"kubernetes\":{\"server\":\"%s\",\"token\":\"t\"}}", S.base);
    spresp r = jreq(&S, "POST", "/v1/data-planes", ADMIN, body);
    assert_problem(&r, 422);
    ck_assert_msg(strstr(r.body, "HTTP 404"), "%s", r.body);
    ck_assert_msg(!strstr(r.body, "no such endpoint") && !strstr(r.body, "no-such-endpoint"), "%s", r.body);
    resp_free(&r);
    down();
}
END_TEST

Suite *suite_attack(void)
{
    Suite *s = suite_create("attack");
    TCase *t = tcase_create("findings");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, alias_bombs_refused_server_responsive);
    tcase_add_test(t, kubeconfig_file_references_refused);
    tcase_add_test(t, credentials_required_again_and_insecure_explicit);
    tcase_add_test(t, probe_does_not_echo_the_answer);
    suite_add_tcase(s, t);
    return s;
}
