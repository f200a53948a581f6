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
    /* the same inside a kubeconfig */
    char yaml[512];
    snprintf(yaml, sizeof yaml, "current-context: x\nclusters:\n- name: c\n  cluster:\n    server: %s\n"
                                "contexts:\n- name: x\n  context: {cluster: c, user: u}\n"
                                "users:\n- name: u\n  user:\n    token: %s\n", k.url, KSIM_TOKEN);
    r = post_kubeconfig(&S, yaml);
    assert_problem(&r, 422);
    ck_assert_msg(strstr(r.body, "kubernetes.kubeconfig") && strstr(r.body, "allow_insecure_transport"), "%s", r.body);
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


/* ---- 4. slow clients ------------------------------------------------------ */

/* A TCP connection to the server from source address src (any 127/8
 * address is this machine's). */
static int connect_from(const spsrv *s, const char *src)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    inet_pton(AF_INET, src, &a.sin_addr);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    struct sockaddr_in d = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s->port)};
    inet_pton(AF_INET, "127.0.0.1", &d.sin_addr);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&d, sizeof d), 0);
    return fd;
}

/* True when the server closed fd within ms (EOF or reset). */
static bool closed_within(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, ms) <= 0) return false;
    char b[256];
    ssize_t n = recv(fd, b, sizeof b, MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno == ECONNRESET);
}

/* A raw request from src; the status, or -1. */
static int raw_status(const spsrv *s, const char *src, const char *path, const char *token)
{
    int fd = connect_from(s, src);
    char q[512];
    int n = snprintf(q, sizeof q, "GET %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nConnection: close\r\n\r\n",
                     path, token);
    ck_assert_int_eq(send(fd, q, (size_t)n, 0), n);
    char b[512] = "";
    ssize_t got = recv(fd, b, sizeof b - 1, 0);
    close(fd);
    int st = -1;
    if (got > 12) sscanf(b, "HTTP/1.1 %d", &st);
    return st;
}

START_TEST(one_client_cannot_hold_every_connection)
{
    memset(&S, 0, sizeof S);
    const char *const extra[] = {"--max-client-connections", "8", NULL};
    srv_start(&S, NULL, extra);
    make_tenant(&S, "victim", NULL, T_ID, T_KEY);
    enum { N = 40 };
    int fds[N];
    for (int i = 0; i < N; i++) {
        fds[i] = connect_from(&S, "127.0.0.2");
        ck_assert_int_eq(send(fds[i], "POST /v1/tenants HTTP/1.1\r\nHo", 29, 0), 29);   /* and then nothing */
    }
    /* everyone else is served at once */
    spresp r = jreq(&S, "GET", "/v1/tenants", ADMIN, NULL);
    ck_assert_int_eq(r.status, 200);
    resp_free(&r);
    int closed = 0;
    for (int i = 0; i < N; i++) closed += closed_within(fds[i], 2000);
    ck_assert_msg(closed >= N - 8, "only %d of %d connections from one address were refused", closed, N);
    for (int i = 0; i < N; i++) close(fds[i]);
    down();
}
END_TEST

START_TEST(a_request_must_arrive_within_the_deadline)
{
    memset(&S, 0, sizeof S);
    const char *const extra[] = {"--request-timeout-seconds", "1", NULL};
    srv_start(&S, NULL, extra);
    make_tenant(&S, "victim", NULL, T_ID, T_KEY);
    int fd = connect_from(&S, "127.0.0.3");
    static const char trickle[] = "GET /healthz HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    bool closed = false;
    /* a byte every 250 ms: each resets the idle timeout, none finishes the request */
    for (size_t i = 0; i < sizeof trickle - 1 && !closed; i++) {
        if (send(fd, trickle + i, 1, MSG_NOSIGNAL) != 1) { closed = true; break; }
        closed = closed_within(fd, 250);
    }
    ck_assert_msg(closed, "a request trickling for %zu s was never cut off", (sizeof trickle - 1) / 4);
    close(fd);
    down();
}
END_TEST

/* ---- 5. secrets are not kept for replays ------------------------------------ */

START_TEST(key_secret_never_stored_for_replay)
{
    up();
    char path[128];
    snprintf(path, sizeof path, "/v1/tenants/%s/api-keys", T_ID);
    const char *const h[] = {"Content-Type: application/json", "Idempotency-Key: key-create-1", NULL};
    spresp r = req(&S, "POST", path, ADMIN, "{\"name\":\"k\"}", 0, h);
    ck_assert_int_eq(r.status, 201);
    char secret[128];
    snprintf(secret, sizeof secret, "%s", jstr(&r, "secret"));
    char id[64];
    snprintf(id, sizeof id, "%s", jstr(&r, "id"));
    resp_free(&r);
    const char *dot = strchr(secret, '.');
    ck_assert_ptr_nonnull(dot);
    /* nothing in the store holds the secret */
    char db[256];
    snprintf(db, sizeof db, "file:%s/streamplane.db?mode=ro", S.dir);
    sqlite3 *hd;
    ck_assert_int_eq(sqlite3_open_v2(db, &hd, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL), SQLITE_OK);
    sqlite3_stmt *st;
    ck_assert_int_eq(sqlite3_prepare_v2(hd, "SELECT count(*) FROM idempotency WHERE instr(body, ?1) > 0", -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, dot + 1, -1, SQLITE_STATIC);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    ck_assert_int_eq(sqlite3_column_int(st, 0), 0);
    sqlite3_finalize(st);
    sqlite3_close(hd);
    /* the replay answers the same key, without the secret, and says so */
    r = req(&S, "POST", path, ADMIN, "{\"name\":\"k\"}", 0, h);
    ck_assert_int_eq(r.status, 201);
    ck_assert_str_eq(jstr(&r, "id"), id);
    ck_assert_ptr_null(json_object_get(r.json, "secret"));
    ck_assert(json_is_true(json_object_get(r.json, "secret_redacted")));
    ck_assert(!strstr(r.body, dot + 1));
    resp_free(&r);
    r = jreq(&S, "GET", "/v1/clusters", secret, NULL);     /* the key itself works */
    ck_assert_int_eq(r.status, 200);
    resp_free(&r);
    down();
}
END_TEST

/* ---- 8. guessing keys is limited per client address ------------------------- */

START_TEST(failed_authentications_are_limited_per_address)
{
    memset(&S, 0, sizeof S);
    const char *const extra[] = {"--auth-failure-limit", "5", NULL};
    srv_start(&S, NULL, extra);
    make_tenant(&S, "victim", NULL, T_ID, T_KEY);
    char wrong[160];
    snprintf(wrong, sizeof wrong, "%.*s.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", (int)(strchr(T_KEY, '.') - T_KEY), T_KEY);
    for (int i = 0; i < 5; i++) ck_assert_int_eq(raw_status(&S, "127.0.0.4", "/v1/clusters", wrong), 401);
    ck_assert_int_eq(raw_status(&S, "127.0.0.4", "/v1/clusters", wrong), 429);
    ck_assert_int_eq(raw_status(&S, "127.0.0.4", "/v1/clusters", T_KEY), 429);     /* not even checked */
    ck_assert_int_eq(raw_status(&S, "127.0.0.5", "/v1/clusters", T_KEY), 200);     /* another address is served */
    spresp r = jreq(&S, "GET", "/v1/clusters", T_KEY, NULL);
    ck_assert_int_eq(r.status, 200);
    resp_free(&r);
    down();
}
END_TEST


/* ---- 6. tenants see no server paths or data-plane addresses ---------------- */

START_TEST(tenant_sees_no_server_paths)
{
    memset(&S, 0, sizeof S);
    const char *const extra[] = {"--workers", "1", NULL};
    srv_start(&S, NULL, extra);
    make_tenant(&S, "victim", NULL, T_ID, T_KEY);
    spresp r = jreq(&S, "POST", "/v1/clusters", T_KEY,
                    "{\"name\":\"orders\",\"kafka_version\":\"3.9\",\"brokers\":1,\"storage_gib\":10,"
                    "\"availability\":\"single_zone\"}");
    ck_assert_msg(r.status == 202, "%ld %s", r.status, r.body);
    char loc[256], op[256];
    snprintf(loc, sizeof loc, "%s", r.location);
    snprintf(op, sizeof op, "%s", r.op_location);
    resp_free(&r);
    bool running = false;
    for (int i = 0; i < 500 && !running; i++) {       /* the manifests target writes at once */
        r = jreq(&S, "GET", loc, ADMIN, NULL);
        running = jpath(r.json, "status.manifests_path") != NULL;
        resp_free(&r);
        if (!running) usleep(20000);
    }
    ck_assert(running);
    r = jreq(&S, "GET", loc, ADMIN, NULL);                    /* the operator sees where */
    ck_assert_msg(strstr(r.body, S.dir), "%s", r.body);
    resp_free(&r);
    const char *const paths[] = {loc, op, "/v1/clusters", "/v1/operations", NULL};
    for (int i = 0; paths[i]; i++) {
        r = jreq(&S, "GET", paths[i], T_KEY, NULL);
        ck_assert_int_eq(r.status, 200);
        ck_assert_msg(!strstr(r.body, S.dir) && !strstr(r.body, "manifests_path"), "%s: %s", paths[i], r.body);
        resp_free(&r);
    }
    down();
}
END_TEST

/* ---- 8. the smaller findings ---------------------------------------------- */

START_TEST(list_configs_checked_item_by_item)
{
    up();
    static const char *const bad[] = {",delete,,compact,", "delete,,compact", "delete,delete", "compact,", "", NULL};
    for (int i = 0; bad[i]; i++) {
        char body[512];
        snprintf(body, sizeof body, "{\"name\":\"c%d\",\"kafka_version\":\"3.9\",\"brokers\":1,\"storage_gib\":10,"
                                    "\"availability\":\"single_zone\",\"config\":{\"log.cleanup.policy\":\"%s\"}}", i, bad[i]);
        spresp r = jreq(&S, "POST", "/v1/clusters", T_KEY, body);
        assert_problem(&r, 422);
        ck_assert_msg(strstr(r.body, "config.log.cleanup.policy"), "%s", r.body);
        resp_free(&r);
    }
    spresp r = jreq(&S, "POST", "/v1/clusters", T_KEY,
                    "{\"name\":\"ok\",\"kafka_version\":\"3.9\",\"brokers\":1,\"storage_gib\":10,"
                    "\"availability\":\"single_zone\",\"config\":{\"log.cleanup.policy\":\"delete,compact\"}}");
    ck_assert_msg(r.status == 202, "%ld %s", r.status, r.body);
    resp_free(&r);
    down();
}
END_TEST

START_TEST(store_files_owner_only)
{
    up();
    const char *const files[] = {"streamplane.db", "streamplane.db-wal", "streamplane.db-shm", "master.key", NULL};
    for (int i = 0; files[i]; i++) {
        char p[256];
        snprintf(p, sizeof p, "%s/%s", S.dir, files[i]);
        struct stat sb;
        ck_assert_msg(stat(p, &sb) == 0, "%s", p);
        ck_assert_msg((sb.st_mode & 0777) == 0600, "%s has mode %o", files[i], sb.st_mode & 0777);
    }
    down();
}
END_TEST

START_TEST(bad_master_key_refused_at_start)
{
    char dir[] = "/tmp/sp-mk-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char cmd[512];
    snprintf(cmd, sizeof cmd, "STREAMPLANE_MASTER_KEY='-1-1-1-1-1-1-1-1-1-1-1-1-1-1-1-1-1-1-1-1-1-1-1-1-1-1-1-1-1-1-1-1' "
                              "timeout 10 %s serve --listen 127.0.0.1:0 --data-dir %s --workers 0 2>%s/log; echo $? >%s/rc",
             getenv("SP_E2E_BINARY") ? getenv("SP_E2E_BINARY") : SP_BINARY, dir, dir, dir);
    ck_assert_int_eq(system(cmd), 0);
    char p[128];
    snprintf(p, sizeof p, "%s/rc", dir);
    FILE *f = fopen(p, "r");
    int rc = -1;
    ck_assert_int_eq(fscanf(f, "%d", &rc), 1);
    fclose(f);
    ck_assert_int_eq(rc, 1);           /* refused, not served (timeout would be 124) */
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST


/* libmicrohttpd answers what it cannot parse with HTML; headers over the
 * server's own limit are answered as problem+json before that. */
START_TEST(large_headers_answered_as_problem)
{
    up();
    char *big = malloc(24 * 1024 + 32);
    strcpy(big, "X-Padding: ");
    memset(big + 11, 'a', 24 * 1024);
    big[11 + 24 * 1024] = 0;
    const char *const h[] = {big, NULL};
    spresp r = req(&S, "GET", "/v1/tenants", ADMIN, NULL, 0, h);
    assert_problem(&r, 431);
    resp_free(&r);
    free(big);
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
    tcase_add_test(t, one_client_cannot_hold_every_connection);
    tcase_add_test(t, a_request_must_arrive_within_the_deadline);
    tcase_add_test(t, key_secret_never_stored_for_replay);
    tcase_add_test(t, failed_authentications_are_limited_per_address);
    tcase_add_test(t, tenant_sees_no_server_paths);
    tcase_add_test(t, list_configs_checked_item_by_item);
    tcase_add_test(t, store_files_owner_only);
    tcase_add_test(t, bad_master_key_refused_at_start);
    tcase_add_test(t, large_headers_answered_as_problem);
    suite_add_tcase(s, t);
    return s;
}
