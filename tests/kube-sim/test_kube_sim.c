/* test_kube_sim.c — kube-sim tested the way streamplane will use it: the
 * real binary on a free loopback port, driven with libcurl. Each test gets
 * a fresh server (a checked fixture), stopped with SIGTERM afterwards,
 * which must exit 0 with no sanitizer report in its log. One test runs it
 * with TLS (a self-signed certificate made with the openssl CLI) and a
 * bearer token. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <check.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TOKEN "kube-sim-test-token"

static char tmpdir[128];            /* certificate, key, server logs */

typedef struct server {
    pid_t pid;
    char base[64], log[200];
    const char *token;
    bool tls;
} server;

static server S;
static long timeout_ms = 10000;     /* of every request */

typedef struct resp {
    long code;
    CURLcode cc;
    char *body;
    size_t len;
    json_t *json;
    char retry_after[16];
    long long ms;
} resp;

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define EVENTUALLY(cond, ms)                                                                                  \
    do {                                                                                                       \
        long long end_ = mono_ms() + (ms);                                                                     \
        bool ok_;                                                                                              \
        while (!(ok_ = (cond)) && mono_ms() < end_) usleep(20000);                                             \
        ck_assert_msg(ok_, "timed out waiting for: %s", #cond);                                                \
    } while (0)

/* ---- HTTP --------------------------------------------------------------------- */

static size_t on_body(char *d, size_t sz, size_t nm, void *u)
{
    resp *r = u;
    size_t n = sz * nm;
    char *p = realloc(r->body, r->len + n + 1);
    if (!p) return 0;
    r->body = p;
    memcpy(r->body + r->len, d, n);
    r->len += n;
    r->body[r->len] = 0;
    return n;
}

static size_t on_header(char *d, size_t sz, size_t nm, void *u)
{
    resp *r = u;
    size_t n = sz * nm;
    if (n > 12 && !strncasecmp(d, "Retry-After:", 12)) {
        snprintf(r->retry_after, sizeof r->retry_after, "%.*s", (int)(n - 12), d + 12);
        char *p = r->retry_after;
        while (*p == ' ') memmove(p, p + 1, strlen(p));
        p[strcspn(p, "\r\n")] = 0;
    }
    return n;
}

static resp http(const char *method, const char *path, const char *ctype, const char *body, const char *token)
{
    resp r = {0};
    CURL *c = curl_easy_init();
    char url[4096], auth[256], ct[128], cainfo[200];
    snprintf(url, sizeof url, "%s%s", S.base, path);
    struct curl_slist *h = NULL;
    if (token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        h = curl_slist_append(h, auth);
    }
    if (ctype) {
        snprintf(ct, sizeof ct, "Content-Type: %s", ctype);
        h = curl_slist_append(h, ct);
    }
    h = curl_slist_append(h, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "kube-sim-test/1.0");
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    if (body) curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    if (S.tls) {
        snprintf(cainfo, sizeof cainfo, "%s/cert.pem", tmpdir);
        curl_easy_setopt(c, CURLOPT_CAINFO, cainfo);
    }
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
    long long t0 = mono_ms();
    r.cc = curl_easy_perform(c);
    r.ms = mono_ms() - t0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.code);
    if (r.body) r.json = json_loads(r.body, 0, NULL);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return r;
}

static void resp_free(resp *r)
{
    free(r->body);
    json_decref(r->json);
    memset(r, 0, sizeof *r);
}

static resp req(const char *method, const char *path, const char *body)
{
    return http(method, path, body ? "application/json" : NULL, body, S.token);
}

static resp apply_as(const char *path, const char *manager, bool force, const char *body)
{
    char p[2048];
    snprintf(p, sizeof p, "%s?fieldManager=%s&force=%s", path, manager, force ? "true" : "false");
    return http("PATCH", p, "application/apply-patch+yaml", body, S.token);
}

static resp merge(const char *path, const char *body)
{
    return http("PATCH", path, "application/merge-patch+json", body, S.token);
}

/* A dotted path into a JSON value; "items.0.metadata.name" indexes arrays. */
static json_t *jat(json_t *j, const char *dotted)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", dotted);
    char *save = NULL;
    for (char *t = strtok_r(buf, ".", &save); j && t; t = strtok_r(NULL, ".", &save)) {
        if (json_is_array(j)) j = json_array_get(j, strtoul(t, NULL, 10));
        else j = json_object_get(j, t);
    }
    return j;
}

static const char *js(json_t *j, const char *dotted) { return json_string_value(jat(j, dotted)); }
/* Label keys have dots, so they are looked up apart. */
static const char *label(json_t *obj, const char *key)
{
    return json_string_value(json_object_get(jat(obj, "metadata.labels"), key));
}
static long long ji(json_t *j, const char *dotted)
{
    json_t *v = jat(j, dotted);
    return json_is_integer(v) ? json_integer_value(v) : -1;
}

/* GETs path and returns the value at dotted (integer), -1 when absent. */
static long long get_int(const char *path, const char *dotted)
{
    resp r = req("GET", path, NULL);
    long long v = r.code == 200 ? ji(r.json, dotted) : -1;
    resp_free(&r);
    return v;
}

/* GETs path and compares the string at dotted with want. */
static bool get_str_is(const char *path, const char *dotted, const char *want)
{
    resp r = req("GET", path, NULL);
    const char *v = r.code == 200 ? js(r.json, dotted) : NULL;
    bool eq = v && want && !strcmp(v, want);
    resp_free(&r);
    return eq;
}

static bool get_str_prefix(const char *path, const char *dotted, const char *prefix)
{
    resp r = req("GET", path, NULL);
    const char *v = r.code == 200 ? js(r.json, dotted) : NULL;
    bool ok = v && !strncmp(v, prefix, strlen(prefix)) && strcmp(v, "127.0.0.1") != 0;
    resp_free(&r);
    return ok;
}

static long get_code(const char *path)
{
    resp r = req("GET", path, NULL);
    long c = r.code;
    resp_free(&r);
    return c;
}

static void assert_status(const resp *r, long code, const char *reason)
{
    ck_assert_msg(r->code == code, "want %ld, got %ld: %s", code, r->code, r->body ? r->body : "");
    ck_assert_ptr_nonnull(r->json);
    ck_assert_str_eq(js(r->json, "kind"), "Status");
    ck_assert_str_eq(js(r->json, "apiVersion"), "v1");
    ck_assert_str_eq(js(r->json, "status"), "Failure");
    ck_assert_str_eq(js(r->json, "reason"), reason);
    ck_assert_int_eq(ji(r->json, "code"), code);
    ck_assert_ptr_nonnull(js(r->json, "message"));
}

static void expect(const char *method, const char *path, const char *body, long code)
{
    resp r = req(method, path, body);
    ck_assert_msg(r.code == code, "%s %s: want %ld, got %ld: %s", method, path, code, r.code, r.body ? r.body : "");
    resp_free(&r);
}

static void make_ns(const char *name)
{
    char b[256];
    snprintf(b, sizeof b, "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"%s\"}}", name);
    expect("POST", "/api/v1/namespaces", b, 201);
}

/* ---- the server under test -------------------------------------------------------- */

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof a;
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    getsockname(fd, (struct sockaddr *)&a, &l);
    int p = ntohs(a.sin_port);
    close(fd);
    return p;
}

static void start(bool tls)
{
    memset(&S, 0, sizeof S);
    int port = free_port();
    char listen[64], cert[200], key[200];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    snprintf(S.base, sizeof S.base, "%s://127.0.0.1:%d", tls ? "https" : "http", port);
    snprintf(S.log, sizeof S.log, "%s/kube-sim-%d.log", tmpdir, port);
    snprintf(cert, sizeof cert, "%s/cert.pem", tmpdir);
    snprintf(key, sizeof key, "%s/key.pem", tmpdir);
    S.tls = tls;
    S.token = tls ? TOKEN : NULL;
    const char *argv[] = {KSIM_BINARY, "--listen", listen, "--pod-ready-ms", "150", "--resize-ms", "150",
                          "--namespace-delete-ms", "200", tls ? "--token" : NULL, TOKEN, "--tls-cert", cert,
                          "--tls-key", key, NULL};
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int fd = open(S.log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) dup2(fd, 2), close(fd);
        prctl(PR_SET_PDEATHSIG, SIGTERM);   /* a failed test must not leave it running */
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    S.pid = pid;
    for (int i = 0; i < 500; i++) {
        resp r = http("GET", "/healthz", NULL, NULL, NULL);
        long c = r.code;
        resp_free(&r);
        if (c == 200) return;
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) ck_abort_msg("kube-sim exited at start; see %s", S.log);
        usleep(20000);
    }
    ck_abort_msg("kube-sim did not answer /healthz; see %s", S.log);
}

static void start_plain(void) { start(false); }
static void start_tls(void) { start(true); }

static void stop(void)
{
    if (S.pid <= 0) return;
    kill(S.pid, SIGTERM);
    int st = 0;
    waitpid(S.pid, &st, 0);
    S.pid = 0;
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "kube-sim did not exit 0 on SIGTERM; see %s", S.log);
    FILE *f = fopen(S.log, "r");
    char line[4096];
    while (f && fgets(line, sizeof line, f))
        ck_assert_msg(!strstr(line, "AddressSanitizer") && !strstr(line, "LeakSanitizer") &&
                          !strstr(line, "runtime error:"),
                      "sanitizer report in %s: %s", S.log, line);
    if (f) fclose(f);
    unlink(S.log);
}

/* ---- objects used below ------------------------------------------------------------ */

#define CM(name, labels) \
    "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"" name "\",\"labels\":" labels "}}"

static char *sts_json(const char *name, int replicas, const char *strategy, const char *image)
{
    char *s;
    if (asprintf(&s,
                 "{\"apiVersion\":\"apps/v1\",\"kind\":\"StatefulSet\",\"metadata\":{\"name\":\"%s\"},"
                 "\"spec\":{\"replicas\":%d,\"serviceName\":\"%s-headless\",\"podManagementPolicy\":\"Parallel\","
                 "\"updateStrategy\":{\"type\":\"%s\"},"
                 "\"selector\":{\"matchLabels\":{\"app\":\"%s\"}},"
                 "\"template\":{\"metadata\":{\"labels\":{\"app\":\"%s\"}},"
                 "\"spec\":{\"containers\":[{\"name\":\"kafka\",\"image\":\"%s\"}]}},"
                 "\"volumeClaimTemplates\":[{\"metadata\":{\"name\":\"data\"},"
                 "\"spec\":{\"accessModes\":[\"ReadWriteOnce\"],\"resources\":{\"requests\":{\"storage\":\"10Gi\"}}}}]}}",
                 name, replicas, name, strategy, name, name, image) < 0)
        return NULL;
    return s;
}

static void apply_sts(const char *ns, const char *name, int replicas, const char *strategy, const char *image,
                      long want)
{
    char path[256], *body = sts_json(name, replicas, strategy, image);
    snprintf(path, sizeof path, "/apis/apps/v1/namespaces/%s/statefulsets/%s", ns, name);
    resp r = apply_as(path, "streamplane", true, body);
    ck_assert_msg(r.code == want, "apply sts: %ld %s", r.code, r.body);
    resp_free(&r);
    free(body);
}

/* ---- tests ------------------------------------------------------------------------ */

START_TEST(test_create_get_errors)
{
    make_ns("t1");
    resp r = req("POST", "/api/v1/namespaces/t1/configmaps", CM("c1", "{\"app\":\"x\"}"));
    ck_assert_int_eq(r.code, 201);
    ck_assert_str_eq(js(r.json, "kind"), "ConfigMap");
    ck_assert_ptr_nonnull(js(r.json, "metadata.uid"));
    ck_assert_ptr_nonnull(js(r.json, "metadata.creationTimestamp"));
    ck_assert_str_eq(js(r.json, "metadata.namespace"), "t1");
    char rv[32];
    snprintf(rv, sizeof rv, "%s", js(r.json, "metadata.resourceVersion"));
    resp_free(&r);
    ck_assert(get_str_is("/api/v1/namespaces/t1/configmaps/c1", "metadata.resourceVersion", rv));

    r = req("POST", "/api/v1/namespaces/t1/configmaps", CM("c1", "{}"));
    assert_status(&r, 409, "AlreadyExists");
    ck_assert_str_eq(js(r.json, "details.name"), "c1");
    ck_assert_str_eq(js(r.json, "details.kind"), "configmaps");
    resp_free(&r);

    r = req("GET", "/api/v1/namespaces/t1/configmaps/nope", NULL);
    assert_status(&r, 404, "NotFound");
    ck_assert_str_eq(js(r.json, "message"), "configmaps \"nope\" not found");
    ck_assert_str_eq(js(r.json, "details.name"), "nope");
    resp_free(&r);
    r = req("GET", "/apis/apps/v1/namespaces/t1/statefulsets/nope", NULL);
    assert_status(&r, 404, "NotFound");
    ck_assert_str_eq(js(r.json, "message"), "statefulsets.apps \"nope\" not found");
    ck_assert_str_eq(js(r.json, "details.group"), "apps");
    resp_free(&r);

    /* the namespace must exist; URL and body must agree */
    r = req("POST", "/api/v1/namespaces/missing/configmaps", CM("c1", "{}"));
    assert_status(&r, 404, "NotFound");
    resp_free(&r);
    r = req("POST", "/api/v1/namespaces/t1/configmaps",
            "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c2\",\"namespace\":\"other\"}}");
    assert_status(&r, 400, "BadRequest");
    resp_free(&r);
    r = req("PUT", "/api/v1/namespaces/t1/configmaps/c1", CM("zz", "{}"));
    assert_status(&r, 400, "BadRequest");
    resp_free(&r);
    r = req("POST", "/api/v1/namespaces/t1/configmaps", CM("Bad_Name", "{}"));
    assert_status(&r, 422, "Invalid");
    resp_free(&r);

    /* DELETE answers the object */
    r = req("DELETE", "/api/v1/namespaces/t1/configmaps/c1", NULL);
    ck_assert_int_eq(r.code, 200);
    ck_assert_str_eq(js(r.json, "metadata.name"), "c1");
    resp_free(&r);
    ck_assert_int_eq(get_code("/api/v1/namespaces/t1/configmaps/c1"), 404);
    expect("GET", "/healthz", NULL, 200);
}
END_TEST

START_TEST(test_list_selectors)
{
    make_ns("a1");
    make_ns("a2");
    expect("POST", "/api/v1/namespaces/a1/configmaps", CM("m1", "{\"app\":\"kafka\",\"tier\":\"broker\"}"), 201);
    expect("POST", "/api/v1/namespaces/a1/configmaps", CM("m2", "{\"app\":\"kafka\",\"tier\":\"controller\"}"), 201);
    expect("POST", "/api/v1/namespaces/a1/configmaps", CM("m3", "{\"app\":\"zk\"}"), 201);
    expect("POST", "/api/v1/namespaces/a2/configmaps", CM("m4", "{\"app\":\"kafka\"}"), 201);
    static const struct { const char *path; int n; } cases[] = {
        {"/api/v1/namespaces/a1/configmaps", 3},
        {"/api/v1/namespaces/a1/configmaps?labelSelector=app%3Dkafka", 2},
        {"/api/v1/namespaces/a1/configmaps?labelSelector=app%3D%3Dkafka", 2},
        {"/api/v1/namespaces/a1/configmaps?labelSelector=app!%3Dkafka", 1},
        {"/api/v1/namespaces/a1/configmaps?labelSelector=tier", 2},
        {"/api/v1/namespaces/a1/configmaps?labelSelector=!tier", 1},
        {"/api/v1/namespaces/a1/configmaps?labelSelector=app%3Dkafka,tier%3Dbroker", 1},
        {"/api/v1/namespaces/a1/configmaps?labelSelector=tier%20in%20(broker,controller)", 2},
        {"/api/v1/namespaces/a1/configmaps?labelSelector=tier%20notin%20(broker)", 2},
        {"/api/v1/configmaps?labelSelector=app%3Dkafka", 3},
        {"/api/v1/configmaps?fieldSelector=metadata.namespace%3Da2", 1},
        {"/api/v1/namespaces/none/configmaps", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        resp r = req("GET", cases[i].path, NULL);
        ck_assert_msg(r.code == 200, "%s: %ld %s", cases[i].path, r.code, r.body);
        ck_assert_msg((int)json_array_size(jat(r.json, "items")) == cases[i].n, "%s: want %d items, got %zu",
                      cases[i].path, cases[i].n, json_array_size(jat(r.json, "items")));
        ck_assert_str_eq(js(r.json, "kind"), "ConfigMapList");
        ck_assert_ptr_nonnull(js(r.json, "metadata.resourceVersion"));
        if (cases[i].n) {
            ck_assert_ptr_null(jat(r.json, "items.0.kind"));
            ck_assert_ptr_null(jat(r.json, "items.0.apiVersion"));
        }
        resp_free(&r);
    }
    resp r = req("GET", "/api/v1/namespaces/a1/configmaps?labelSelector=app%20in%20(", NULL);
    assert_status(&r, 400, "BadRequest");
    resp_free(&r);
    /* nodes: three, one per zone */
    r = req("GET", "/api/v1/nodes", NULL);
    ck_assert_int_eq(json_array_size(jat(r.json, "items")), 3);
    ck_assert_str_eq(label(jat(r.json, "items.0"), "topology.kubernetes.io/zone"), "a");
    ck_assert_str_eq(label(jat(r.json, "items.2"), "topology.kubernetes.io/zone"), "c");
    resp_free(&r);
}
END_TEST

START_TEST(test_list_continue)
{
    make_ns("p");
    for (int i = 0; i < 5; i++) {
        char b[256];
        snprintf(b, sizeof b, "{\"metadata\":{\"name\":\"c%d\"}}", i);
        expect("POST", "/api/v1/namespaces/p/configmaps", b, 201);
    }
    char path[512], first_token[256] = "";
    int seen = 0, pages = 0;
    snprintf(path, sizeof path, "/api/v1/namespaces/p/configmaps?limit=2");
    for (;;) {
        resp r = req("GET", path, NULL);
        ck_assert_int_eq(r.code, 200);
        seen += (int)json_array_size(jat(r.json, "items"));
        pages++;
        const char *cont = js(r.json, "metadata.continue");
        if (!cont || !*cont) {
            resp_free(&r);
            break;
        }
        if (!first_token[0]) snprintf(first_token, sizeof first_token, "%s", cont);
        snprintf(path, sizeof path, "/api/v1/namespaces/p/configmaps?limit=2&continue=%s", cont);
        resp_free(&r);
    }
    ck_assert_int_eq(seen, 5);
    ck_assert_int_eq(pages, 3);
    resp r = req("GET", "/api/v1/namespaces/p/configmaps?limit=2&continue=bogus", NULL);
    assert_status(&r, 410, "Expired");
    resp_free(&r);
    /* after a compaction, a token handed out earlier has expired */
    expect("POST", "/_sim/compact", NULL, 200);
    snprintf(path, sizeof path, "/api/v1/namespaces/p/configmaps?limit=2&continue=%s", first_token);
    r = req("GET", path, NULL);
    assert_status(&r, 410, "Expired");
    resp_free(&r);
}
END_TEST

#define APPLY_CM(data) \
    "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"cfg\",\"labels\":{\"x\":\"1\"}},\"data\":" data "}"

START_TEST(test_apply_idempotent_and_prunes)
{
    make_ns("s");
    const char *path = "/api/v1/namespaces/s/configmaps/cfg";
    resp r = apply_as(path, "streamplane", true, APPLY_CM("{\"a\":\"1\",\"b\":\"2\"}"));
    ck_assert_int_eq(r.code, 201);
    char rv[32];
    snprintf(rv, sizeof rv, "%s", js(r.json, "metadata.resourceVersion"));
    ck_assert_str_eq(js(r.json, "metadata.managedFields.0.manager"), "streamplane");
    ck_assert_str_eq(js(r.json, "metadata.managedFields.0.operation"), "Apply");
    resp_free(&r);
    /* the same configuration again changes nothing */
    r = apply_as(path, "streamplane", true, APPLY_CM("{\"a\":\"1\",\"b\":\"2\"}"));
    ck_assert_int_eq(r.code, 200);
    ck_assert_str_eq(js(r.json, "metadata.resourceVersion"), rv);
    resp_free(&r);
    /* a field no longer sent goes away */
    r = apply_as(path, "streamplane", true, APPLY_CM("{\"a\":\"1\"}"));
    ck_assert_int_eq(r.code, 200);
    ck_assert_str_ne(js(r.json, "metadata.resourceVersion"), rv);
    ck_assert_ptr_null(jat(r.json, "data.b"));
    ck_assert_str_eq(js(r.json, "data.a"), "1");
    resp_free(&r);
    /* without fieldManager: 422 like the real server */
    r = http("PATCH", path, "application/apply-patch+yaml", APPLY_CM("{}"), S.token);
    assert_status(&r, 422, "Invalid");
    resp_free(&r);
}
END_TEST

START_TEST(test_apply_two_managers)
{
    make_ns("m");
    const char *path = "/api/v1/namespaces/m/configmaps/cfg";
    resp r = apply_as(path, "alice", true, APPLY_CM("{\"a\":\"1\"}"));
    ck_assert_int_eq(r.code, 201);
    resp_free(&r);
    r = apply_as(path, "bob", true, APPLY_CM("{\"b\":\"2\"}"));
    ck_assert_int_eq(r.code, 200);
    ck_assert_str_eq(js(r.json, "data.a"), "1");
    ck_assert_str_eq(js(r.json, "data.b"), "2");
    ck_assert_int_eq(json_array_size(jat(r.json, "metadata.managedFields")), 2);
    resp_free(&r);
    /* alice changes her field: bob's stays */
    r = apply_as(path, "alice", true, APPLY_CM("{\"a\":\"10\"}"));
    ck_assert_str_eq(js(r.json, "data.a"), "10");
    ck_assert_str_eq(js(r.json, "data.b"), "2");
    resp_free(&r);
    /* bob taking alice's field without force: 409 Conflict naming alice */
    r = apply_as(path, "bob", false, APPLY_CM("{\"a\":\"99\",\"b\":\"2\"}"));
    assert_status(&r, 409, "Conflict");
    ck_assert_ptr_nonnull(strstr(js(r.json, "message"), "alice"));
    ck_assert_str_eq(js(r.json, "details.causes.0.field"), ".data.a");
    resp_free(&r);
    /* bob stops sending b: it goes; alice's a stays; the label both send stays */
    r = apply_as(path, "bob", true, APPLY_CM("{}"));
    ck_assert_int_eq(r.code, 200);
    ck_assert_ptr_null(jat(r.json, "data.b"));
    ck_assert_str_eq(js(r.json, "data.a"), "10");
    ck_assert_str_eq(js(r.json, "metadata.labels.x"), "1");
    resp_free(&r);
    /* a merge patch takes ownership under operation Update */
    r = merge(path, "{\"data\":{\"c\":\"3\"}}");
    ck_assert_int_eq(r.code, 200);
    ck_assert_str_eq(js(r.json, "data.c"), "3");
    resp_free(&r);
    r = apply_as(path, "alice", true, APPLY_CM("{}"));
    ck_assert_ptr_null(jat(r.json, "data.a"));
    ck_assert_str_eq(js(r.json, "data.c"), "3");
    resp_free(&r);
    /* a list another manager owns: the real server merges associative lists
     * item by item (the bed's test shows it); kube-sim says it cannot */
    const char *svc = "/api/v1/namespaces/m/services/s";
    r = apply_as(svc, "alice", true,
                 "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"s\"},"
                 "\"spec\":{\"ports\":[{\"name\":\"a\",\"port\":80}]}}");
    ck_assert_int_eq(r.code, 201);
    resp_free(&r);
    r = apply_as(svc, "bob", true,
                 "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"s\"},"
                 "\"spec\":{\"ports\":[{\"name\":\"b\",\"port\":81}]}}");
    assert_status(&r, 501, "NotImplemented");
    ck_assert_ptr_nonnull(strstr(js(r.json, "message"), "associative lists"));
    resp_free(&r);
}
END_TEST

START_TEST(test_put_and_merge_patch)
{
    make_ns("u");
    resp r = req("POST", "/api/v1/namespaces/u/configmaps", "{\"metadata\":{\"name\":\"c\"},\"data\":{\"k\":\"v\"}}");
    ck_assert_int_eq(r.code, 201);
    char rv[32], body[512];
    snprintf(rv, sizeof rv, "%s", js(r.json, "metadata.resourceVersion"));
    resp_free(&r);
    snprintf(body, sizeof body, "{\"metadata\":{\"name\":\"c\",\"resourceVersion\":\"%s\"},\"data\":{\"k\":\"w\"}}", rv);
    r = req("PUT", "/api/v1/namespaces/u/configmaps/c", body);
    ck_assert_int_eq(r.code, 200);
    ck_assert_str_eq(js(r.json, "data.k"), "w");
    ck_assert_str_ne(js(r.json, "metadata.resourceVersion"), rv);
    resp_free(&r);
    /* the same (now stale) resourceVersion again: 409 Conflict */
    r = req("PUT", "/api/v1/namespaces/u/configmaps/c", body);
    assert_status(&r, 409, "Conflict");
    ck_assert_ptr_nonnull(strstr(js(r.json, "message"), "the object has been modified"));
    resp_free(&r);
    snprintf(body, sizeof body, "{\"metadata\":{\"resourceVersion\":\"%s\"},\"data\":{\"k\":null}}", rv);
    r = merge("/api/v1/namespaces/u/configmaps/c", body);
    assert_status(&r, 409, "Conflict");
    resp_free(&r);
    r = merge("/api/v1/namespaces/u/configmaps/c", "{\"data\":{\"k\":null,\"n\":\"1\"}}");
    ck_assert_int_eq(r.code, 200);
    ck_assert_ptr_null(jat(r.json, "data.k"));
    ck_assert_str_eq(js(r.json, "data.n"), "1");
    resp_free(&r);
    r = req("PUT", "/api/v1/namespaces/u/configmaps/none", "{\"metadata\":{\"name\":\"none\"}}");
    assert_status(&r, 404, "NotFound");
    resp_free(&r);
    /* secrets: stringData becomes base64 data */
    r = req("POST", "/api/v1/namespaces/u/secrets", "{\"metadata\":{\"name\":\"s\"},\"stringData\":{\"p\":\"abc\"}}");
    ck_assert_int_eq(r.code, 201);
    ck_assert_str_eq(js(r.json, "data.p"), "YWJj");
    ck_assert_ptr_null(jat(r.json, "stringData"));
    resp_free(&r);
}
END_TEST

START_TEST(test_not_implemented)
{
    make_ns("n");
    expect("POST", "/api/v1/namespaces/n/configmaps", "{\"metadata\":{\"name\":\"c\"}}", 201);
    resp r = req("GET", "/api/v1/namespaces/n/configmaps?watch=1", NULL);
    assert_status(&r, 501, "NotImplemented");
    resp_free(&r);
    r = http("PATCH", "/api/v1/namespaces/n/configmaps/c", "application/strategic-merge-patch+json", "{}", S.token);
    assert_status(&r, 501, "NotImplemented");
    resp_free(&r);
    r = http("PATCH", "/api/v1/namespaces/n/configmaps/c", "application/json-patch+json", "[]", S.token);
    assert_status(&r, 501, "NotImplemented");
    resp_free(&r);
    r = req("GET", "/apis/apps/v1/namespaces/n/deployments", NULL);
    assert_status(&r, 501, "NotImplemented");
    resp_free(&r);
    r = req("DELETE", "/api/v1/namespaces/n/configmaps", NULL);
    assert_status(&r, 501, "NotImplemented");
    resp_free(&r);
    r = req("POST", "/api/v1/namespaces/n/pods/p/eviction", "{}");
    assert_status(&r, 501, "NotImplemented");
    resp_free(&r);
}
END_TEST

START_TEST(test_tls_and_token)
{
    ck_assert_ptr_nonnull(strstr(S.base, "https://"));
    resp r = http("GET", "/api/v1/namespaces", NULL, NULL, NULL);
    ck_assert_int_eq(r.cc, CURLE_OK);
    assert_status(&r, 401, "Unauthorized");
    resp_free(&r);
    r = http("GET", "/api/v1/namespaces", NULL, NULL, "wrong");
    assert_status(&r, 401, "Unauthorized");
    resp_free(&r);
    r = req("GET", "/api/v1/namespaces", NULL);
    ck_assert_int_eq(r.code, 200);
    ck_assert_str_eq(js(r.json, "kind"), "NamespaceList");
    resp_free(&r);
    make_ns("secure");
    expect("GET", "/api/v1/namespaces/secure", NULL, 200);
}
END_TEST

START_TEST(test_statefulset_pods_ready)
{
    make_ns("k");
    apply_sts("k", "kafka", 3, "OnDelete", "apache/kafka:3.9.0", 201);
    const char *sts = "/apis/apps/v1/namespaces/k/statefulsets/kafka";
    EVENTUALLY(get_int(sts, "status.readyReplicas") == 3, 5000);
    resp r = req("GET", sts, NULL);
    ck_assert_int_eq(ji(r.json, "status.replicas"), 3);
    ck_assert_int_eq(ji(r.json, "status.updatedReplicas"), 3);
    ck_assert_int_eq(ji(r.json, "status.currentReplicas"), 3);
    ck_assert_int_eq(ji(r.json, "status.observedGeneration"), 1);
    ck_assert_int_eq(ji(r.json, "metadata.generation"), 1);
    ck_assert_str_eq(js(r.json, "status.currentRevision"), js(r.json, "status.updateRevision"));
    char rev[128], rv[32];
    snprintf(rev, sizeof rev, "%s", js(r.json, "status.updateRevision"));
    snprintf(rv, sizeof rv, "%s", js(r.json, "metadata.resourceVersion"));
    resp_free(&r);
    r = req("GET", "/api/v1/namespaces/k/pods?labelSelector=app%3Dkafka", NULL);
    ck_assert_int_eq(json_array_size(jat(r.json, "items")), 3);
    for (int i = 0; i < 3; i++) {
        char p[64];
        json_t *pod = json_array_get(jat(r.json, "items"), i);
        snprintf(p, sizeof p, "kafka-%d", i);
        ck_assert_str_eq(js(pod, "metadata.name"), p);
        ck_assert_str_eq(label(pod, "controller-revision-hash"), rev);
        ck_assert_str_eq(label(pod, "app"), "kafka");
        ck_assert_str_eq(label(pod, "statefulset.kubernetes.io/pod-name"), p);
        ck_assert_str_eq(js(pod, "status.phase"), "Running");
        ck_assert(json_is_true(jat(pod, "status.containerStatuses.0.ready")));
        ck_assert_ptr_nonnull(js(pod, "spec.nodeName"));
    }
    resp_free(&r);
    r = req("GET", "/api/v1/namespaces/k/persistentvolumeclaims", NULL);
    ck_assert_int_eq(json_array_size(jat(r.json, "items")), 3);
    ck_assert_str_eq(js(r.json, "items.0.metadata.name"), "data-kafka-0");
    ck_assert_str_eq(js(r.json, "items.0.status.phase"), "Bound");
    ck_assert_str_eq(js(r.json, "items.0.status.capacity.storage"), "10Gi");
    resp_free(&r);
    /* re-applying the same StatefulSet is a no-op */
    apply_sts("k", "kafka", 3, "OnDelete", "apache/kafka:3.9.0", 200);
    ck_assert(get_str_is(sts, "metadata.resourceVersion", rv));
    ck_assert_int_eq(get_int(sts, "metadata.generation"), 1);
    /* a field that cannot change */
    r = merge(sts, "{\"spec\":{\"serviceName\":\"other\"}}");
    assert_status(&r, 422, "Invalid");
    resp_free(&r);
}
END_TEST

START_TEST(test_statefulset_on_delete)
{
    make_ns("od");
    apply_sts("od", "b", 3, "OnDelete", "apache/kafka:3.8.0", 201);
    const char *sts = "/apis/apps/v1/namespaces/od/statefulsets/b";
    EVENTUALLY(get_int(sts, "status.readyReplicas") == 3, 5000);
    resp r = req("GET", sts, NULL);
    char old_rev[128];
    snprintf(old_rev, sizeof old_rev, "%s", js(r.json, "status.updateRevision"));
    resp_free(&r);
    apply_sts("od", "b", 3, "OnDelete", "apache/kafka:3.9.0", 200);
    ck_assert_int_eq(get_int(sts, "metadata.generation"), 2);
    EVENTUALLY(get_int(sts, "status.observedGeneration") == 2, 2000);
    r = req("GET", sts, NULL);
    char new_rev[128];
    snprintf(new_rev, sizeof new_rev, "%s", js(r.json, "status.updateRevision"));
    ck_assert_str_ne(new_rev, old_rev);
    ck_assert_int_eq(ji(r.json, "status.updatedReplicas"), 0);
    resp_free(&r);
    usleep(400000);   /* longer than a pod takes to start: nothing moves */
    for (int i = 0; i < 3; i++) {
        char p[128];
        snprintf(p, sizeof p, "/api/v1/namespaces/od/pods/b-%d", i);
        ck_assert(get_str_is(p, "metadata.labels.controller-revision-hash", old_rev));
        ck_assert(get_str_is(p, "spec.containers.0.image", "apache/kafka:3.8.0"));
    }
    r = req("DELETE", "/api/v1/namespaces/od/pods/b-1", NULL);
    ck_assert_int_eq(r.code, 200);
    ck_assert_ptr_nonnull(js(r.json, "metadata.deletionTimestamp"));
    resp_free(&r);
    EVENTUALLY(get_str_is("/api/v1/namespaces/od/pods/b-1", "metadata.labels.controller-revision-hash", new_rev) &&
                   get_str_is("/api/v1/namespaces/od/pods/b-1", "status.phase", "Running"),
               5000);
    ck_assert(get_str_is("/api/v1/namespaces/od/pods/b-1", "spec.containers.0.image", "apache/kafka:3.9.0"));
    ck_assert(get_str_is("/api/v1/namespaces/od/pods/b-0", "metadata.labels.controller-revision-hash", old_rev));
    EVENTUALLY(get_int(sts, "status.updatedReplicas") == 1 && get_int(sts, "status.readyReplicas") == 3, 3000);
    ck_assert_int_eq(get_int(sts, "status.currentReplicas"), 2);
}
END_TEST

START_TEST(test_status_subresource)
{
    make_ns("st");
    apply_sts("st", "s", 1, "OnDelete", "img", 201);
    const char *pod = "/api/v1/namespaces/st/pods/s-0";
    EVENTUALLY(get_str_is(pod, "status.phase", "Running"), 3000);
    /* a test can make a pod crash through /status; the kubelet leaves it so */
    resp r = merge("/api/v1/namespaces/st/pods/s-0/status",
                   "{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\"}],"
                   "\"containerStatuses\":[{\"name\":\"kafka\",\"ready\":false,\"restartCount\":3,"
                   "\"state\":{\"waiting\":{\"reason\":\"CrashLoopBackOff\"}}}]}}");
    ck_assert_int_eq(r.code, 200);
    resp_free(&r);
    EVENTUALLY(get_int("/apis/apps/v1/namespaces/st/statefulsets/s", "status.readyReplicas") == 0, 2000);
    usleep(300000);
    ck_assert(get_str_is(pod, "status.containerStatuses.0.state.waiting.reason", "CrashLoopBackOff"));
    /* writes to the main resource never change status */
    r = merge(pod, "{\"metadata\":{\"labels\":{\"extra\":\"1\"}},\"status\":{\"phase\":\"Failed\"}}");
    ck_assert_int_eq(r.code, 200);
    ck_assert_str_eq(js(r.json, "status.phase"), "Running");
    resp_free(&r);
}
END_TEST

START_TEST(test_statefulset_scale_down)
{
    make_ns("sd");
    apply_sts("sd", "c", 3, "OnDelete", "img", 201);
    const char *sts = "/apis/apps/v1/namespaces/sd/statefulsets/c";
    EVENTUALLY(get_int(sts, "status.readyReplicas") == 3, 5000);
    apply_sts("sd", "c", 2, "OnDelete", "img", 200);
    EVENTUALLY(get_code("/api/v1/namespaces/sd/pods/c-2") == 404, 3000);
    ck_assert_int_eq(get_code("/api/v1/namespaces/sd/pods/c-0"), 200);
    ck_assert_int_eq(get_code("/api/v1/namespaces/sd/pods/c-1"), 200);
    ck_assert_int_eq(get_code("/api/v1/namespaces/sd/persistentvolumeclaims/data-c-2"), 200);
    EVENTUALLY(get_int(sts, "status.replicas") == 2, 2000);
    /* deleting the StatefulSet collects its pods, not its PVCs */
    expect("DELETE", sts, NULL, 200);
    EVENTUALLY(get_code("/api/v1/namespaces/sd/pods/c-0") == 404, 3000);
    ck_assert_int_eq(get_code("/api/v1/namespaces/sd/persistentvolumeclaims/data-c-0"), 200);
}
END_TEST

START_TEST(test_pvc_expand)
{
    make_ns("v");
    const char *pvc = "/api/v1/namespaces/v/persistentvolumeclaims/d";
    expect("POST", "/api/v1/namespaces/v/persistentvolumeclaims",
           "{\"metadata\":{\"name\":\"d\"},\"spec\":{\"accessModes\":[\"ReadWriteOnce\"],"
           "\"resources\":{\"requests\":{\"storage\":\"1Gi\"}}}}",
           201);
    ck_assert(get_str_is(pvc, "status.capacity.storage", "1Gi"));
    resp r = merge(pvc, "{\"spec\":{\"resources\":{\"requests\":{\"storage\":\"2Gi\"}}}}");
    ck_assert_int_eq(r.code, 200);
    resp_free(&r);
    EVENTUALLY(get_str_is(pvc, "status.conditions.0.type", "Resizing"), 2000);
    EVENTUALLY(get_str_is(pvc, "status.capacity.storage", "2Gi"), 3000);
    r = merge(pvc, "{\"spec\":{\"resources\":{\"requests\":{\"storage\":\"1Gi\"}}}}");
    assert_status(&r, 422, "Invalid");
    ck_assert_ptr_nonnull(strstr(js(r.json, "message"), "field can not be less than status.capacity"));
    ck_assert_str_eq(js(r.json, "details.causes.0.field"), "spec.resources.requests.storage");
    resp_free(&r);
    /* a class without allowVolumeExpansion refuses */
    expect("POST", "/api/v1/namespaces/v/persistentvolumeclaims",
           "{\"metadata\":{\"name\":\"f\"},\"spec\":{\"storageClassName\":\"fixed\","
           "\"resources\":{\"requests\":{\"storage\":\"1Gi\"}}}}",
           201);
    r = merge("/api/v1/namespaces/v/persistentvolumeclaims/f",
              "{\"spec\":{\"resources\":{\"requests\":{\"storage\":\"5Gi\"}}}}");
    assert_status(&r, 403, "Forbidden");
    resp_free(&r);
}
END_TEST

START_TEST(test_namespace_deletion)
{
    make_ns("gone");
    expect("POST", "/api/v1/namespaces/gone/configmaps", "{\"metadata\":{\"name\":\"c\"}}", 201);
    resp r = req("DELETE", "/api/v1/namespaces/gone", NULL);
    ck_assert_int_eq(r.code, 200);
    ck_assert_str_eq(js(r.json, "status.phase"), "Terminating");
    ck_assert_ptr_nonnull(js(r.json, "metadata.deletionTimestamp"));
    resp_free(&r);
    r = req("GET", "/api/v1/namespaces/gone", NULL);
    ck_assert_int_eq(r.code, 200);
    ck_assert_str_eq(js(r.json, "status.phase"), "Terminating");
    resp_free(&r);
    r = req("POST", "/api/v1/namespaces/gone/configmaps", "{\"metadata\":{\"name\":\"d\"}}");
    assert_status(&r, 403, "Forbidden");
    resp_free(&r);
    EVENTUALLY(get_code("/api/v1/namespaces/gone/configmaps/c") == 404, 2000);
    EVENTUALLY(get_code("/api/v1/namespaces/gone") == 404, 3000);
    /* an object with a finalizer holds its namespace (as on the real server, which the bed showed) */
    make_ns("held");
    expect("POST", "/api/v1/namespaces/held/configmaps",
           "{\"metadata\":{\"name\":\"h\",\"finalizers\":[\"example.com/hold\"]}}", 201);
    expect("DELETE", "/api/v1/namespaces/held", NULL, 200);
    EVENTUALLY(get_code("/api/v1/namespaces/held/configmaps/h") == 200 &&
                   get_str_is("/api/v1/namespaces/held/configmaps/h", "metadata.finalizers.0", "example.com/hold"),
               2000);
    EVENTUALLY(get_str_is("/api/v1/namespaces/held", "status.conditions.0.message",
                          "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances"),
               2000);
    ck_assert(get_str_is("/api/v1/namespaces/held", "status.phase", "Terminating"));
    r = merge("/api/v1/namespaces/held/configmaps/h", "{\"metadata\":{\"finalizers\":null}}");
    ck_assert_int_eq(r.code, 200);
    resp_free(&r);
    EVENTUALLY(get_code("/api/v1/namespaces/held") == 404, 3000);
    r = req("DELETE", "/api/v1/namespaces/default", NULL);
    assert_status(&r, 403, "Forbidden");
    resp_free(&r);
}
END_TEST

START_TEST(test_faults)
{
    expect("POST", "/_sim/faults", "{\"status\":503,\"count\":2,\"retry_after\":3}", 200);
    for (int i = 0; i < 2; i++) {
        resp r = req("GET", "/api/v1/namespaces", NULL);
        assert_status(&r, 503, "ServiceUnavailable");
        ck_assert_str_eq(r.retry_after, "3");
        resp_free(&r);
    }
    expect("GET", "/api/v1/namespaces", NULL, 200);
    expect("GET", "/healthz", NULL, 200);

    expect("POST", "/_sim/faults", "{\"latency_ms\":300,\"count\":1}", 200);
    resp r = req("GET", "/api/v1/namespaces", NULL);
    ck_assert_int_eq(r.code, 200);
    ck_assert_msg(r.ms >= 290, "latency %lld ms", r.ms);
    resp_free(&r);

    expect("POST", "/_sim/faults", "{\"drop\":true}", 200);
    r = req("GET", "/api/v1/namespaces", NULL);
    ck_assert_msg(r.cc != CURLE_OK, "a dropped connection must fail, got %ld", r.code);
    resp_free(&r);
    r = req("GET", "/api/v1/namespaces", NULL);
    ck_assert(r.cc != CURLE_OK);
    resp_free(&r);
    expect("DELETE", "/_sim/faults", NULL, 200);
    expect("GET", "/api/v1/namespaces", NULL, 200);

    expect("POST", "/_sim/faults", "{\"status\":429,\"count\":1,\"method\":\"POST\"}", 200);
    expect("GET", "/api/v1/namespaces", NULL, 200);
    r = req("POST", "/api/v1/namespaces", "{\"metadata\":{\"name\":\"x\"}}");
    assert_status(&r, 429, "TooManyRequests");
    resp_free(&r);
    expect("POST", "/api/v1/namespaces", "{\"metadata\":{\"name\":\"x\"}}", 201);
    r = req("GET", "/_sim/objects", NULL);
    ck_assert_int_eq(r.code, 200);
    ck_assert_int_ge(json_array_size(jat(r.json, "items")), 4);
    resp_free(&r);

    /* a client timing out on a slow answer; the server still stops at once */
    expect("POST", "/_sim/faults", "{\"latency_ms\":20000,\"count\":1}", 200);
    timeout_ms = 200;
    r = req("GET", "/api/v1/namespaces", NULL);
    ck_assert_int_eq(r.cc, CURLE_OPERATION_TIMEDOUT);
    resp_free(&r);
    timeout_ms = 10000;
    long long t0 = mono_ms();
    stop();
    ck_assert_int_lt(mono_ms() - t0, 3000);
}
END_TEST

struct writer { int id, created; };

static void *write_many(void *arg)
{
    struct writer *w = arg;
    for (int i = 0; i < 25; i++) {
        char b[256];
        snprintf(b, sizeof b, "{\"metadata\":{\"name\":\"w%d-%d\",\"labels\":{\"w\":\"%d\"}}}", w->id, i, w->id);
        resp r = req("POST", "/api/v1/namespaces/cc/configmaps", b);
        w->created += r.code == 201;
        resp_free(&r);
        r = apply_as("/api/v1/namespaces/cc/configmaps/shared", "streamplane", true,
                     "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"shared\"},"
                     "\"data\":{\"k\":\"v\"}}");
        resp_free(&r);
    }
    return NULL;
}

START_TEST(test_concurrent_clients)
{
    make_ns("cc");
    pthread_t th[6];
    struct writer w[6];
    for (int i = 0; i < 6; i++) {
        w[i] = (struct writer){.id = i};
        pthread_create(&th[i], NULL, write_many, &w[i]);
    }
    for (int i = 0; i < 6; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(w[i].created, 25);
    }
    resp r = req("GET", "/api/v1/namespaces/cc/configmaps", NULL);
    ck_assert_int_eq(json_array_size(jat(r.json, "items")), 151);
    resp_free(&r);
}
END_TEST

START_TEST(test_services_and_jobs)
{
    make_ns("svc");
    resp r = req("POST", "/api/v1/namespaces/svc/services",
                 "{\"metadata\":{\"name\":\"lb\"},\"spec\":{\"type\":\"LoadBalancer\",\"ports\":[{\"port\":9094}]}}");
    ck_assert_int_eq(r.code, 201);
    long long np = ji(r.json, "spec.ports.0.nodePort");
    ck_assert(np >= 30000 && np <= 32767);
    resp_free(&r);
    /* a loopback address of this kube-sim's own block: 127.<pid>.x */
    EVENTUALLY(get_str_prefix("/api/v1/namespaces/svc/services/lb", "status.loadBalancer.ingress.0.ip", "127."), 2000);
    r = req("POST", "/api/v1/namespaces/svc/services",
            "{\"metadata\":{\"name\":\"np\"},\"spec\":{\"type\":\"NodePort\",\"ports\":[{\"port\":9094}]}}");
    np = ji(r.json, "spec.ports.0.nodePort");
    ck_assert(np >= 30000 && np <= 32767);
    resp_free(&r);
    r = req("POST", "/apis/batch/v1/namespaces/svc/jobs",
            "{\"metadata\":{\"name\":\"reassign\"},\"spec\":{\"template\":{\"spec\":{\"restartPolicy\":\"Never\","
            "\"containers\":[{\"name\":\"t\",\"image\":\"apache/kafka\"}]}}}}");
    ck_assert_int_eq(r.code, 201);
    resp_free(&r);
    EVENTUALLY(get_int("/apis/batch/v1/namespaces/svc/jobs/reassign", "status.succeeded") == 1, 4000);
    ck_assert(get_str_is("/apis/batch/v1/namespaces/svc/jobs/reassign", "status.conditions.0.type", "Complete"));
    r = req("GET", "/api/v1/namespaces/svc/pods?labelSelector=job-name%3Dreassign", NULL);
    ck_assert_int_eq(json_array_size(jat(r.json, "items")), 1);
    char logpath[256], body[256];
    snprintf(logpath, sizeof logpath, "/api/v1/namespaces/svc/pods/%s/log", js(r.json, "items.0.metadata.name"));
    snprintf(body, sizeof body, "{\"namespace\":\"svc\",\"pod\":\"%s\",\"text\":\"one\\ntwo\\n\"}",
             js(r.json, "items.0.metadata.name"));
    resp_free(&r);
    expect("POST", "/_sim/logs", body, 200);
    r = req("GET", logpath, NULL);
    ck_assert_int_eq(r.code, 200);
    ck_assert_str_eq(r.body, "one\ntwo\n");
    resp_free(&r);
}
END_TEST


/* ---- the Kafka behind a cluster (kafka.c over kafka-sim) ------------------------------ */

/* Metadata through a plain librdkafka client: brokers listed, and the ISR
 * size of topic t partition 0 (-1 without the topic). */
static int kafka_brokers(const char *bootstrap, int *isr0)
{
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof err);
    rd_kafka_conf_set(conf, "log_level", "0", err, sizeof err);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    ck_assert_ptr_nonnull(rk);
    const struct rd_kafka_metadata *md = NULL;
    int n = -1;
    *isr0 = -1;
    if (rd_kafka_metadata(rk, 1, NULL, &md, 3000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        n = md->broker_cnt;
        for (int i = 0; i < md->topic_cnt; i++)
            if (!strcmp(md->topics[i].topic, "t") && md->topics[i].partition_cnt > 0)
                *isr0 = md->topics[i].partitions[0].isr_cnt;
        rd_kafka_metadata_destroy(md);
    }
    rd_kafka_destroy(rk);
    return n;
}

static char *lb_bootstrap(const char *ns, int n)
{
    char *out = calloc(1, 64 * (size_t)n + 1);
    for (int i = 0; i < n; i++) {
        char path[256];
        snprintf(path, sizeof path, "/api/v1/namespaces/%s/services/kafka-broker-%d-external", ns, i);
        resp r = req("GET", path, NULL);
        const char *ip = js(r.json, "status.loadBalancer.ingress.0.ip");
        ck_assert_ptr_nonnull(ip);
        sprintf(out + strlen(out), "%s%s:9094", i ? "," : "", ip);
        resp_free(&r);
    }
    return out;
}

static bool lb_ready(const char *ns, int n)
{
    for (int i = 0; i < n; i++) {
        char path[256];
        snprintf(path, sizeof path, "/api/v1/namespaces/%s/services/kafka-broker-%d-external", ns, i);
        if (!get_str_prefix(path, "status.loadBalancer.ingress.0.ip", "127.")) return false;
    }
    return true;
}

static bool brokers_are(const char *boot, int want, int want_isr)
{
    int isr;
    int n = kafka_brokers(boot, &isr);
    return n == want && (want_isr < 0 || isr == want_isr);
}

START_TEST(test_kafka_follows_pods_and_runs_tool_jobs)
{
    make_ns("kf");
    resp r = req("POST", "/api/v1/namespaces/kf/configmaps",
                 "{\"metadata\":{\"name\":\"kafka-config\"},\"data\":{\"launch.sh\":"
                 "\"case $ROLE in\\n  broker) NODE_ID=\\\"$ORDINAL\\\" ;;\\n"
                 "  controller) NODE_ID=\\\"$((500 + ORDINAL))\\\" ;;\\nesac\\n\"}}");
    ck_assert_int_eq(r.code, 201);
    resp_free(&r);
    for (int i = 0; i < 3; i++) {
        char body[400];
        snprintf(body, sizeof body, "{\"metadata\":{\"name\":\"kafka-broker-%d-external\"},\"spec\":{\"type\":"
                 "\"LoadBalancer\",\"selector\":{\"statefulset.kubernetes.io/pod-name\":\"kafka-broker-%d\"},"
                 "\"ports\":[{\"name\":\"external\",\"port\":9094}]}}", i, i);
        expect("POST", "/api/v1/namespaces/kf/services", body, 201);
    }
    apply_sts("kf", "kafka-controller", 3, "OnDelete", "apache/kafka:3.9.1", 201);
    apply_sts("kf", "kafka-broker", 3, "OnDelete", "apache/kafka:3.9.1", 201);
    EVENTUALLY(lb_ready("kf", 3), 3000);
    char *boot = lb_bootstrap("kf", 3);
    /* brokers come up with their pods; node ids from the launch script */
    EVENTUALLY(brokers_are(boot, 3, -1), 8000);
    r = req("GET", "/_sim/kafka/kf", NULL);
    ck_assert_int_eq(r.code, 200);
    char *model = json_dumps(r.json, JSON_COMPACT);
    ck_assert_msg(strstr(model, "500") && strstr(model, "502"), "controller ids 500..502 expected: %s", model);
    free(model);
    resp_free(&r);
    expect("POST", "/_sim/kafka/kf/topics", "{\"name\":\"t\",\"partitions\":2,\"replication\":3}", 200);
    EVENTUALLY(brokers_are(boot, 3, 3), 4000);

    /* a pod gone (scaled down): its broker stops and the ISR shrinks; its
     * pod back: the broker rejoins */
    apply_sts("kf", "kafka-broker", 2, "OnDelete", "apache/kafka:3.9.1", 200);
    EVENTUALLY(brokers_are(boot, 2, 2), 6000);
    apply_sts("kf", "kafka-broker", 3, "OnDelete", "apache/kafka:3.9.1", 200);
    EVENTUALLY(brokers_are(boot, 3, 3), 8000);

    /* a Job running kafka-reassign-partitions.sh with its plan from a ConfigMap */
    expect("POST", "/api/v1/namespaces/kf/configmaps",
           "{\"metadata\":{\"name\":\"plan\"},\"data\":{\"plan.json\":"
           "\"{\\\"version\\\":1,\\\"partitions\\\":[{\\\"topic\\\":\\\"t\\\",\\\"partition\\\":0,"
           "\\\"replicas\\\":[2,0]}]}\"}}", 201);
    expect("POST", "/apis/batch/v1/namespaces/kf/jobs",
           "{\"metadata\":{\"name\":\"move\"},\"spec\":{\"template\":{\"spec\":{\"restartPolicy\":\"Never\","
           "\"volumes\":[{\"name\":\"plan\",\"configMap\":{\"name\":\"plan\"}}],"
           "\"containers\":[{\"name\":\"t\",\"image\":\"apache/kafka:3.9.1\",\"command\":["
           "\"/opt/kafka/bin/kafka-reassign-partitions.sh\",\"--bootstrap-server\",\"kafka-bootstrap:9092\","
           "\"--reassignment-json-file\",\"/plan/plan.json\",\"--execute\"],"
           "\"volumeMounts\":[{\"name\":\"plan\",\"mountPath\":\"/plan\"}]}]}}}}", 201);
    EVENTUALLY(get_int("/apis/batch/v1/namespaces/kf/jobs/move", "status.succeeded") == 1, 4000);
    r = req("GET", "/api/v1/namespaces/kf/pods?labelSelector=job-name%3Dmove", NULL);
    char logpath[256];
    snprintf(logpath, sizeof logpath, "/api/v1/namespaces/kf/pods/%s/log", js(r.json, "items.0.metadata.name"));
    resp_free(&r);
    r = req("GET", logpath, NULL);
    ck_assert_int_eq(r.code, 200);
    ck_assert_msg(strstr(r.body, "Successfully started partition reassignment"), "log: %s", r.body);
    resp_free(&r);
    EVENTUALLY(brokers_are(boot, 3, 2), 8000);                  /* t-0 now on brokers 2 and 0 */

    /* a Job running kafka-metadata-quorum.sh describe --status */
    expect("POST", "/apis/batch/v1/namespaces/kf/jobs",
           "{\"metadata\":{\"name\":\"quorum\"},\"spec\":{\"template\":{\"spec\":{\"restartPolicy\":\"Never\","
           "\"containers\":[{\"name\":\"t\",\"image\":\"apache/kafka:3.9.1\",\"command\":[\"bash\",\"-c\","
           "\"/opt/kafka/bin/kafka-metadata-quorum.sh --bootstrap-server kafka-bootstrap:9092 describe --status\"]}]}}}}",
           201);
    EVENTUALLY(get_int("/apis/batch/v1/namespaces/kf/jobs/quorum", "status.succeeded") == 1, 4000);
    r = req("GET", "/api/v1/namespaces/kf/pods?labelSelector=job-name%3Dquorum", NULL);
    snprintf(logpath, sizeof logpath, "/api/v1/namespaces/kf/pods/%s/log", js(r.json, "items.0.metadata.name"));
    resp_free(&r);
    r = req("GET", logpath, NULL);
    ck_assert_msg(strstr(r.body, "LeaderId:") && strstr(r.body, "500"), "log: %s", r.body);
    resp_free(&r);

    /* the namespace goes: so does its Kafka */
    expect("DELETE", "/api/v1/namespaces/kf", NULL, 200);
    EVENTUALLY(get_code("/_sim/kafka/kf") == 404, 4000);
    free(boot);
}
END_TEST

/* ---- runner -------------------------------------------------------------------------- */

static Suite *suite(void)
{
    Suite *s = suite_create("kube-sim");
    TCase *t = tcase_create("plain");
    tcase_add_checked_fixture(t, start_plain, stop);
    tcase_set_timeout(t, 30);
    tcase_add_test(t, test_create_get_errors);
    tcase_add_test(t, test_list_selectors);
    tcase_add_test(t, test_list_continue);
    tcase_add_test(t, test_apply_idempotent_and_prunes);
    tcase_add_test(t, test_apply_two_managers);
    tcase_add_test(t, test_put_and_merge_patch);
    tcase_add_test(t, test_not_implemented);
    tcase_add_test(t, test_statefulset_pods_ready);
    tcase_add_test(t, test_statefulset_on_delete);
    tcase_add_test(t, test_statefulset_scale_down);
    tcase_add_test(t, test_status_subresource);
    tcase_add_test(t, test_pvc_expand);
    tcase_add_test(t, test_namespace_deletion);
    tcase_add_test(t, test_faults);
    tcase_add_test(t, test_services_and_jobs);
    tcase_add_test(t, test_kafka_follows_pods_and_runs_tool_jobs);
    tcase_add_test(t, test_concurrent_clients);
    suite_add_tcase(s, t);
    TCase *tls = tcase_create("tls");
    tcase_add_checked_fixture(tls, start_tls, stop);
    tcase_set_timeout(tls, 30);
    tcase_add_test(tls, test_tls_and_token);
    suite_add_tcase(s, tls);
    return s;
}

static int make_cert(void)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
             "-addext subjectAltName=IP:127.0.0.1 -keyout '%s/key.pem' -out '%s/cert.pem' >/dev/null 2>&1",
             tmpdir, tmpdir);
    return system(cmd);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/kube-sim-test-XXXXXX");
    if (!mkdtemp(tmpdir) || make_cert() != 0) {
        fprintf(stderr, "cannot make a temporary directory and certificate (openssl CLI)\n");
        return EXIT_FAILURE;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    curl_global_cleanup();
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (!failed && system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", tmpdir);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
