/* harness.c — see harness.h. */
#define _GNU_SOURCE
#include "harness.h"

#include <arpa/inet.h>
#include <check.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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

void srv_start(spsrv *s, const char *dir, const char *const *extra)
{
    if (!dir) {
        snprintf(s->dir, sizeof s->dir, "/tmp/sp-e2e-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(s->dir));
        s->own_dir = true;
    } else if (dir != s->dir)
        snprintf(s->dir, sizeof s->dir, "%s", dir);
    s->port = free_port();
    snprintf(s->base, sizeof s->base, "http://127.0.0.1:%d", s->port);
    char listen[64], logp[200];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", s->port);
    snprintf(logp, sizeof logp, "%s/server.log", s->dir);
    const char *argv[32] = {SP_BINARY, "serve", "--listen", listen, "--data-dir", s->dir,
                            "--http-threads", "4", "--workers", "0"};
    int n = 10;   /* no workers unless a test asks: API tests see operations as they were accepted */
    for (int i = 0; extra && extra[i] && n < 30; i++) argv[n++] = extra[i];
    argv[n] = NULL;
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int fd = open(logp, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) { dup2(fd, 2); close(fd); }
        setenv("STREAMPLANE_ADMIN_TOKEN", ADMIN, 1);
        /* SP_E2E_BINARY runs the suite against another build (an older one, to
         * see a test fail before its fix) */
        if (getenv("SP_E2E_BINARY")) argv[0] = getenv("SP_E2E_BINARY");
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    s->pid = pid;
    for (int i = 0; i < 500; i++) {        /* up to 10 s */
        spresp r = req(s, "GET", "/healthz", NULL, NULL, 0, NULL);
        long st = r.status;
        resp_free(&r);
        if (st == 200) return;
        int wst;
        if (waitpid(pid, &wst, WNOHANG) == pid) ck_abort_msg("server exited at start; see %s", logp);
        usleep(20000);
    }
    ck_abort_msg("server did not answer /healthz; see %s", logp);
}

int srv_stop(spsrv *s, int sig)
{
    if (s->pid <= 0) return 0;
    kill(s->pid, sig);
    int st = 0;
    waitpid(s->pid, &st, 0);
    s->pid = 0;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
}

void srv_cleanup(spsrv *s)
{
    /* A clean stop must exit 0: under ASan this is where leaks show. */
    if (s->pid > 0) {
        int code = srv_stop(s, SIGTERM);
        ck_assert_msg(code == 0, "server exited with %d on SIGTERM; see %s/server.log", code, s->dir);
    }
    char logp[200];
    snprintf(logp, sizeof logp, "%s/server.log", s->dir);
    FILE *f = fopen(logp, "r");
    if (f) {
        char line[4096];
        while (fgets(line, sizeof line, f))
            ck_assert_msg(!strstr(line, "AddressSanitizer") && !strstr(line, "runtime error:") &&
                              !strstr(line, "LeakSanitizer"),
                          "sanitizer report in %s: %s", logp, line);
        fclose(f);
    }
    if (s->own_dir && s->dir[0] && !getenv("SP_KEEP")) {
        char cmd[200];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", s->dir);
        if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", s->dir);
    }
}

typedef struct buf { char *p; size_t n; } buf;

static size_t on_body(char *d, size_t sz, size_t nm, void *u)
{
    buf *b = u;
    size_t n = sz * nm;
    char *np = realloc(b->p, b->n + n + 1);
    if (!np) return 0;
    b->p = np;
    memcpy(b->p + b->n, d, n);
    b->n += n;
    b->p[b->n] = 0;
    return n;
}

static void hcopy(const char *line, size_t n, const char *name, char *dst, size_t cap)
{
    size_t hl = strlen(name);
    if (n <= hl + 1 || strncasecmp(line, name, hl) != 0 || line[hl] != ':') return;
    const char *v = line + hl + 1;
    while (*v == ' ') v++;
    size_t vl = n - (size_t)(v - line);
    while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n')) vl--;
    if (vl >= cap) vl = cap - 1;
    memcpy(dst, v, vl);
    dst[vl] = 0;
}

static size_t on_header(char *d, size_t sz, size_t nm, void *u)
{
    spresp *r = u;
    size_t n = sz * nm;
    hcopy(d, n, "Content-Type", r->ctype, sizeof r->ctype);
    hcopy(d, n, "ETag", r->etag, sizeof r->etag);
    hcopy(d, n, "Location", r->location, sizeof r->location);
    hcopy(d, n, "Operation-Location", r->op_location, sizeof r->op_location);
    hcopy(d, n, "Retry-After", r->retry_after, sizeof r->retry_after);
    hcopy(d, n, "X-Request-Id", r->request_id, sizeof r->request_id);
    hcopy(d, n, "Allow", r->allow, sizeof r->allow);
    hcopy(d, n, "RateLimit-Remaining", r->ratelimit_remaining, sizeof r->ratelimit_remaining);
    hcopy(d, n, "Idempotent-Replayed", r->replayed, sizeof r->replayed);
    return n;
}

static pthread_mutex_t rec_mu = PTHREAD_MUTEX_INITIALIZER;

static void record(const char *method, const char *path, const spresp *r)
{
    static const char *file = SP_BUILD_DIR "/e2e-exchanges.jsonl";
    json_t *o = json_pack("{s:s, s:s, s:i, s:s}", "method", method, "path", path, "status", (int)r->status,
                          "content_type", r->ctype);
    bool is_json = strstr(r->ctype, "json") != NULL;
    json_object_set(o, "body", is_json && r->json ? r->json : json_null());
    if (is_json && !r->json && r->len) json_object_set_new(o, "body_unparsed", json_string("yes"));
    json_object_set_new(o, "headers", json_pack("{s:s, s:s, s:s}", "etag", r->etag, "location", r->location,
                                                 "x-request-id", r->request_id));
    char *line = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    pthread_mutex_lock(&rec_mu);
    FILE *f = fopen(file, "a");
    if (f) { fprintf(f, "%s\n", line); fclose(f); }
    pthread_mutex_unlock(&rec_mu);
    free(line);
}

spresp req(spsrv *s, const char *method, const char *path, const char *token,
           const char *body, size_t body_len, const char *const *headers)
{
    spresp r = {0};
    CURL *c = curl_easy_init();
    ck_assert_ptr_nonnull(c);
    char url[2048];
    snprintf(url, sizeof url, "%s%s", s->base, path);
    struct curl_slist *h = NULL;
    char auth[512];
    if (token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        h = curl_slist_append(h, auth);
    }
    for (int i = 0; headers && headers[i]; i++) h = curl_slist_append(h, headers[i]);
    h = curl_slist_append(h, "Expect:");
    buf b = {0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "HEAD") == 0) curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body_len ? body_len : strlen(body)));
    }
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    /* a large body waits for the server's 100 Continue (or its early 413)
     * instead of curl's 1 s default: on a loaded machine curl began sending
     * 10 MB, the server answered 413 and closed, and curl saw error 55 */
    curl_easy_setopt(c, CURLOPT_EXPECT_100_TIMEOUT_MS, 30000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    else r.status = -(long)rc;
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    r.body = b.p ? b.p : strdup("");
    r.len = b.n;
    if (r.len) r.json = json_loadb(r.body, r.len, 0, NULL);
    if (r.status > 0 && strcmp(path, "/healthz") != 0) record(method, path, &r);
    return r;
}

void resp_free(spresp *r)
{
    free(r->body);
    json_decref(r->json);
    memset(r, 0, sizeof *r);
}

spresp jreq(spsrv *s, const char *method, const char *path, const char *token, const char *json)
{
    const char *const h[] = {"Content-Type: application/json", NULL};
    return req(s, method, path, token, json, 0, json ? h : NULL);
}

const char *jpath(json_t *j, const char *dotted)
{
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s", dotted);
    char *save;
    for (char *t = strtok_r(tmp, ".", &save); t && j; t = strtok_r(NULL, ".", &save)) j = json_object_get(j, t);
    return json_string_value(j);
}

const char *jstr(const spresp *r, const char *key) { return json_string_value(json_object_get(r->json, key)); }

void assert_problem(const spresp *r, long status)
{
    ck_assert_msg(r->status == status, "want %ld, got %ld: %s", status, r->status, r->body);
    ck_assert_msg(strncmp(r->ctype, "application/problem+json", 24) == 0, "content type %s", r->ctype);
    ck_assert_ptr_nonnull(r->json);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "status")), status);
    ck_assert_ptr_nonnull(jstr(r, "type"));
    ck_assert_ptr_nonnull(jstr(r, "title"));
    ck_assert_ptr_nonnull(jstr(r, "detail"));
    ck_assert(json_is_array(json_object_get(r->json, "errors")));
    ck_assert(r->request_id[0]);
}

void make_tenant(spsrv *s, const char *name, const char *quotas, char tenant_id[64], char secret[128])
{
    char body[512];
    snprintf(body, sizeof body, "{\"name\":\"%s\"%s%s}", name, quotas ? ",\"quotas\":" : "", quotas ? quotas : "");
    spresp r = jreq(s, "POST", "/v1/tenants", ADMIN, body);
    ck_assert_msg(r.status == 201, "tenant: %ld %s", r.status, r.body);
    snprintf(tenant_id, 64, "%s", jstr(&r, "id"));
    resp_free(&r);
    char path[128];
    snprintf(path, sizeof path, "/v1/tenants/%s/api-keys", tenant_id);
    r = jreq(s, "POST", path, ADMIN, "{\"name\":\"ci\"}");
    ck_assert_msg(r.status == 201, "key: %ld %s", r.status, r.body);
    snprintf(secret, 128, "%s", jstr(&r, "secret"));
    resp_free(&r);
}

void ksim_start(ksim *k) { ksim_start_tls(k, NULL, NULL); }

void ksim_start_tls(ksim *k, const char *cert, const char *key)
{
    if (!k->dir[0]) {
        snprintf(k->dir, sizeof k->dir, "/tmp/sp-ksim-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(k->dir));
    }
    if (!k->port) k->port = free_port();   /* a restart keeps its port */
    snprintf(k->url, sizeof k->url, "%s://127.0.0.1:%d", cert ? "https" : "http", k->port);
    char listen[64], logp[128];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", k->port);
    snprintf(logp, sizeof logp, "%s/kube-sim.log", k->dir);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int fd = open(logp, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) { dup2(fd, 2); close(fd); }
        if (cert)
            execl(SP_BUILD_DIR "/kube-sim", "kube-sim", "--listen", listen, "--token", KSIM_TOKEN,
                  "--pod-ready-ms", "100", "--tls-cert", cert, "--tls-key", key, (char *)NULL);
        else
            execl(SP_BUILD_DIR "/kube-sim", "kube-sim", "--listen", listen, "--token", KSIM_TOKEN,
                  "--pod-ready-ms", "100", (char *)NULL);
        _exit(127);
    }
    k->pid = pid;
    for (int i = 0; i < 250; i++) {      /* the port answers once it listens */
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)k->port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        int ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
        close(fd);
        if (ok) return;
        usleep(20000);
    }
    ck_abort_msg("kube-sim did not start; see %s", logp);
}

void ksim_stop(ksim *k)
{
    if (k->pid > 0) {
        kill(k->pid, SIGTERM);
        int st;
        waitpid(k->pid, &st, 0);
        k->pid = 0;
        /* the test double is held to the same standard: clean exit, no sanitizer report */
        ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "kube-sim did not exit cleanly; see %s/kube-sim.log", k->dir);
        char logp[128], line[4096];
        snprintf(logp, sizeof logp, "%s/kube-sim.log", k->dir);
        FILE *f = fopen(logp, "r");
        while (f && fgets(line, sizeof line, f))
            ck_assert_msg(!strstr(line, "AddressSanitizer") && !strstr(line, "runtime error:"),
                          "sanitizer report in %s: %s", logp, line);
        if (f) fclose(f);
    }
}

void ksim_cleanup(ksim *k)
{
    ksim_stop(k);
    if (k->dir[0] && !getenv("SP_KEEP")) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", k->dir);
        if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", k->dir);
    }
    k->dir[0] = 0;
}

int ksim_call(const ksim *k, const char *method, const char *path, const char *json)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "curl -sk -o /dev/null -w '%%{http_code}' -X %s '%s%s' %s%s%s", method, k->url, path,
             json ? "-H 'Content-Type: application/json' -d '" : "", json ? json : "", json ? "'" : "");
    FILE *p = popen(cmd, "r");
    if (!p) return 0;
    char code[8] = "";
    if (!fgets(code, sizeof code, p)) code[0] = 0;
    pclose(p);
    return atoi(code);
}

void ksim_plane_body(const ksim *k, const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "{\"name\":\"%s\",\"region\":\"eu-west\",\"zones\":[\"a\",\"b\",\"c\"],"
                       "\"kubernetes\":{\"server\":\"%s\",\"token\":\"%s\"},\"kafka_access\":\"external\"%s}",
             name, k->url, KSIM_TOKEN, strncmp(k->url, "http://", 7) == 0 ? ",\"allow_insecure_transport\":true" : "");
}
