/* http.c — the HTTP front of kube-sim on libmicrohttpd: reads a request,
 * applies injected faults, checks the bearer token, hands Kubernetes paths
 * to api.c and the test-control paths (/_sim/…) to the functions here,
 * and logs one line per request to stderr.
 *
 * Faults are what a real API server or the network in front of it does to
 * a controller: latency, 5xx/429 answers (with Retry-After), connections
 * dropped without an answer. They apply only to Kubernetes paths (/api,
 * /apis), never to /healthz or /_sim. One thread per connection, so a
 * delayed answer delays only its own request. */
#define _GNU_SOURCE
#include "ksim.h"
#include "../kafka-sim/kafka_sim.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define MAX_BODY (16u << 20)

typedef struct conn_ctx {
    char *body;
    size_t len, cap;
    bool too_big;
    long long t0;
} conn_ctx;

/* ---- faults ---------------------------------------------------------------- */

static bool fault_matches(const kfault *f, const char *method, const char *url)
{
    return f->active && f->count != 0 && (!f->method[0] || !strcmp(f->method, method)) &&
           (!f->path_contains[0] || strstr(url, f->path_contains));
}

/* Takes one use of the active fault into *out when it matches. */
static bool fault_take(kfaults *fs, const char *method, const char *url, kfault *out)
{
    pthread_mutex_lock(&fs->mu);
    kfault *f = &fs->rule;
    bool hit = fault_matches(f, method, url);
    if (hit) {
        *out = *f;
        if (f->count > 0 && --f->count == 0) f->active = false;
    }
    pthread_mutex_unlock(&fs->mu);
    return hit;
}

static void fault_sleep(ksim *k, int ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) until.tv_sec++, until.tv_nsec -= 1000000000L;
    pthread_mutex_lock(&k->faults.mu);
    while (!atomic_load(&k->stopping))
        if (pthread_cond_timedwait(&k->faults.cv, &k->faults.mu, &until)) break;
    pthread_mutex_unlock(&k->faults.mu);
}

static json_t *faults_json(const kfault *f)
{
    return json_pack("{s:b, s:i, s:i, s:i, s:b, s:i, s:s, s:s}", "active", f->active, "latency_ms", f->latency_ms,
                     "status", f->status, "count", f->count, "drop", f->drop, "retry_after", f->retry_after, "method",
                     f->method, "path_contains", f->path_contains);
}

static kresult faults_set(ksim *k, json_t *b)
{
    int status = (int)json_integer_value(json_object_get(b, "status"));
    if (!json_is_object(b) || (status && (status < 400 || status > 599)))
        return kr_status(400, "BadRequest", NULL, NULL, NULL,
                         "faults: a JSON object; status, when given, 400-599");
    kfault *f = &k->faults.rule;
    pthread_mutex_lock(&k->faults.mu);
    f->latency_ms = (int)json_integer_value(json_object_get(b, "latency_ms"));
    f->status = status;
    f->count = json_is_integer(json_object_get(b, "count")) ? (int)json_integer_value(json_object_get(b, "count")) : -1;
    f->drop = json_is_true(json_object_get(b, "drop"));
    f->retry_after = (int)json_integer_value(json_object_get(b, "retry_after"));
    snprintf(f->method, sizeof f->method, "%s", json_string_value(json_object_get(b, "method")) ?: "");
    snprintf(f->path_contains, sizeof f->path_contains, "%s",
             json_string_value(json_object_get(b, "path_contains")) ?: "");
    f->active = f->count != 0;
    json_t *out = faults_json(f);
    pthread_mutex_unlock(&k->faults.mu);
    return kr_json(200, out);
}

static kresult faults_clear(ksim *k)
{
    pthread_mutex_lock(&k->faults.mu);
    k->faults.rule.active = false;
    json_t *out = faults_json(&k->faults.rule);
    pthread_mutex_unlock(&k->faults.mu);
    return kr_json(200, out);
}

/* ---- /_sim: test control ------------------------------------------------------ */

static kresult sim_objects(ksim *k)
{
    json_t *items = json_array();
    store_lock(&k->store);
    kobj **v;
    size_t n = store_select(&k->store, NULL, NULL, &v);
    for (size_t i = 0; i < n; i++) json_array_append_new(items, json_deep_copy(v[i]->obj));
    free(v);
    store_unlock(&k->store);
    return kr_json(200, json_pack("{s:o}", "items", items));
}

static kresult sim_logs(ksim *k, json_t *b)
{
    const char *ns = jstr_at(b, "namespace"), *pod = jstr_at(b, "pod"), *text = jstr_at(b, "text");
    if (!ns || !pod || !text)
        return kr_status(400, "BadRequest", NULL, NULL, NULL, "logs: namespace, pod and text are required");
    store_lock(&k->store);
    kobj *o = store_find(&k->store, &KRES_PODS, ns, pod);
    if (o) {
        if (!o->side) o->side = json_object();
        json_object_set_new(o->side, "log", json_string(text));
    }
    store_unlock(&k->store);
    return o ? kr_json(200, json_pack("{s:s}", "status", "ok"))
             : kr_status(404, "NotFound", pod, "", "pods", "pods \"%s\" not found", pod);
}

/* /_sim/kafka/<ns>[/brokers/<id>/stop|start | /topics | /partitions/<topic>/<p>/leader] */
static kresult sim_kafka(ksim *k, const char *method, const char *rest, json_t *b)
{
    char ns[128] = "", a[256] = "", c[256] = "", d[64] = "";
    int n = sscanf(rest, "%127[^/]/%255[^/]/%255[^/]/%63[^/]", ns, a, c, d);
    store_lock(&k->store);
    kkafka *kk = n >= 1 ? kafka_find(k, ns) : NULL;
    struct kfs_cluster *kc = kafka_cluster(kk);
    kresult r;
    int rc = -2;
    if (!kc) {
        store_unlock(&k->store);
        return kr_status(404, "NotFound", NULL, NULL, NULL, "no Kafka in namespace %s", ns);
    }
    if (n == 1 && !strcmp(method, "GET")) {
        char *m = kfs_model_json(kc);
        json_t *j = m ? json_loads(m, 0, NULL) : NULL;
        free(m);
        store_unlock(&k->store);
        return j ? kr_json(200, j) : kr_status(500, "InternalError", NULL, NULL, NULL, "model unavailable");
    }
    if (n == 4 && !strcmp(a, "brokers") && !strcmp(method, "POST") && (!strcmp(d, "stop") || !strcmp(d, "start")))
        rc = kafka_broker_stop(k, ns, atoi(c), !strcmp(d, "stop"));
    else if (n == 2 && !strcmp(a, "topics") && !strcmp(method, "POST")) {
        /* "configs": {name: value} become the topic's configs (at most 16) */
        const char *kv[33] = {0};
        int nkv = 0;
        const char *ck;
        json_t *cv;
        json_object_foreach(json_object_get(b, "configs"), ck, cv)
            if (json_is_string(cv) && nkv < 32) { kv[nkv++] = ck; kv[nkv++] = json_string_value(cv); }
        rc = kfs_topic_create_configs(kc, jstr_at(b, "name") ?: "",
                                      (int)json_integer_value(json_object_get(b, "partitions")),
                                      (int)json_integer_value(json_object_get(b, "replication")), kv);
    }
    else if (n == 4 && !strcmp(a, "partitions") && !strcmp(method, "POST") && strstr(rest + strlen(rest) - 7, "/leader"))
        rc = kfs_partition_set_leader(kc, c, atoi(d), (int)json_integer_value(json_object_get(b, "leader")));
    store_unlock(&k->store);
    if (rc == -2) r = kr_status(404, "NotFound", NULL, NULL, NULL, "no such kube-sim kafka endpoint: %s %s", method, rest);
    else if (rc != 0) r = kr_status(422, "Invalid", NULL, NULL, NULL, "kafka-sim refused %s %s", method, rest);
    else r = kr_json(200, json_pack("{s:s}", "status", "ok"));
    return r;
}

static kresult sim_handle(ksim *k, const char *method, const char *url, const char *body, size_t len)
{
    json_t *b = len ? json_loadb(body, len, 0, NULL) : NULL;
    kresult r;
    if (!strcmp(url, "/_sim/faults") && !strcmp(method, "POST")) r = faults_set(k, b);
    else if (!strcmp(url, "/_sim/faults") && !strcmp(method, "DELETE")) r = faults_clear(k);
    else if (!strcmp(url, "/_sim/faults") && !strcmp(method, "GET")) {
        pthread_mutex_lock(&k->faults.mu);
        r = kr_json(200, faults_json(&k->faults.rule));
        pthread_mutex_unlock(&k->faults.mu);
    } else if (!strcmp(url, "/_sim/objects") && !strcmp(method, "GET")) r = sim_objects(k);
    else if (!strcmp(url, "/_sim/compact") && !strcmp(method, "POST")) {
        store_lock(&k->store);
        store_tokens_expire(&k->store);
        store_unlock(&k->store);
        r = kr_json(200, json_pack("{s:s}", "status", "ok"));
    } else if (!strcmp(url, "/_sim/logs") && !strcmp(method, "POST")) r = sim_logs(k, b);
    else if (!strcmp(url, "/_sim/images") && (!strcmp(method, "POST") || !strcmp(method, "DELETE"))) {
        const char *img = !strcmp(method, "POST") ? jstr_at(b, "unpullable") : NULL;
        store_lock(&k->store);
        free(k->unpullable);
        k->unpullable = img && *img ? strdup(img) : NULL;
        store_unlock(&k->store);
        r = kr_json(200, json_pack("{s:s}", "status", "ok"));
    }
    else if (!strncmp(url, "/_sim/kafka/", 12)) r = sim_kafka(k, method, url + 12, b);
    else r = kr_status(404, "NotFound", NULL, NULL, NULL, "no such kube-sim control endpoint: %s %s", method, url);
    json_decref(b);
    return r;
}

/* ---- Kubernetes requests ------------------------------------------------------ */

static const char *arg(struct MHD_Connection *c, const char *name)
{
    return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
}

static bool authorized(ksim *k, struct MHD_Connection *c)
{
    if (!k->token) return true;
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    return h && !strncmp(h, "Bearer ", 7) && !strcmp(h + 7, k->token);
}

static kresult kube_handle(ksim *k, struct MHD_Connection *c, const char *method, const char *url, conn_ctx *cx)
{
    if (!authorized(k, c)) return kr_status(401, "Unauthorized", NULL, NULL, NULL, "Unauthorized");
    if (cx->too_big) return kr_status(413, "RequestEntityTooLarge", NULL, NULL, NULL, "request entity too large");
    kreq rq = {
        .method = method, .path = url, .body = cx->body, .body_len = cx->len,
        .content_type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type"),
        .user_agent = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "User-Agent"),
        .label_selector = arg(c, "labelSelector"), .field_selector = arg(c, "fieldSelector"),
        .limit = arg(c, "limit"), .cont = arg(c, "continue"), .field_manager = arg(c, "fieldManager"),
        .force = arg(c, "force"), .watch = arg(c, "watch"), .dry_run = arg(c, "dryRun"),
        .propagation = arg(c, "propagationPolicy"), .container = arg(c, "container"),
        .tail_lines = arg(c, "tailLines"),
    };
    return api_handle(k, &rq);
}

static bool is_kube_path(const char *url)
{
    return !strcmp(url, "/api") || !strcmp(url, "/apis") || !strncmp(url, "/api/", 5) || !strncmp(url, "/apis/", 6);
}

static enum MHD_Result send_result(struct MHD_Connection *c, kresult *r)
{
    char *buf;
    size_t len;
    const char *ctype = "application/json";
    if (r->body) {
        buf = json_dumps(r->body, JSON_COMPACT);
        len = strlen(buf);
    } else {
        buf = r->text ? r->text : strdup("");
        r->text = NULL;
        len = strlen(buf);
        ctype = "text/plain; charset=utf-8";
    }
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(resp, "Content-Type", ctype);
    if (r->retry_after > 0) {
        char ra[16];
        snprintf(ra, sizeof ra, "%d", r->retry_after);
        MHD_add_response_header(resp, "Retry-After", ra);
    }
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)r->code, resp);
    MHD_destroy_response(resp);
    return ok;
}

static bool append_body(conn_ctx *cx, const char *data, size_t n)
{
    if (cx->len + n > MAX_BODY) {
        cx->too_big = true;
        return true;
    }
    if (cx->len + n + 1 > cx->cap) {
        size_t cap = (cx->len + n + 1) * 2;
        char *p = realloc(cx->body, cap);
        if (!p) return false;
        cx->body = p;
        cx->cap = cap;
    }
    memcpy(cx->body + cx->len, data, n);
    cx->len += n;
    cx->body[cx->len] = 0;
    return true;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    (void)version;
    ksim *k = cls;
    conn_ctx *cx = *con_cls;
    if (!cx) {
        cx = calloc(1, sizeof *cx);
        if (!cx) return MHD_NO;
        cx->t0 = now_ms();
        *con_cls = cx;
        return MHD_YES;
    }
    if (*upload_size) {
        bool ok = append_body(cx, upload, *upload_size);
        *upload_size = 0;
        return ok ? MHD_YES : MHD_NO;
    }
    kresult r = {0};
    bool drop = false;
    kfault f;
    if (!strcmp(url, "/healthz") || !strcmp(url, "/readyz") || !strcmp(url, "/livez"))
        r = (kresult){.code = 200, .text = strdup("ok")};
    else if (!strncmp(url, "/_sim/", 6)) r = sim_handle(k, method, url, cx->body, cx->len);
    else if (!is_kube_path(url))
        r = kr_status(404, "NotFound", NULL, NULL, NULL, "the server could not find the requested resource");
    else if (fault_take(&k->faults, method, url, &f)) {
        if (f.latency_ms > 0) fault_sleep(k, f.latency_ms);
        if (f.drop) drop = true;
        else if (f.status) {
            r = kr_status(f.status, kr_reason_for(f.status), NULL, NULL, NULL, "kube-sim injected fault: %d",
                          f.status);
            r.retry_after = f.retry_after ? f.retry_after : (f.status == 429 ? 1 : 0);
        } else r = kube_handle(k, c, method, url, cx);
    } else r = kube_handle(k, c, method, url, cx);
    char code[16];
    snprintf(code, sizeof code, "%d", r.code);
    fprintf(stderr, "kube-sim: %s %s -> %s (%lld ms)\n", method, url, drop ? "dropped" : code, now_ms() - cx->t0);
    if (drop) {
        kr_free(&r);
        return MHD_NO;
    }
    enum MHD_Result ok = send_result(c, &r);
    kr_free(&r);
    return ok;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode t)
{
    (void)cls, (void)c, (void)t;
    conn_ctx *cx = *con_cls;
    if (cx) {
        free(cx->body);
        free(cx);
    }
    *con_cls = NULL;
}

struct MHD_Daemon *http_start(ksim *k, const struct sockaddr *addr, const char *cert_pem, const char *key_pem)
{
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG;
    if (addr->sa_family == AF_INET6) flags |= MHD_USE_IPv6;
    if (cert_pem) flags |= MHD_USE_TLS;
    if (cert_pem)
        return MHD_start_daemon(flags, 0, NULL, NULL, on_request, k, MHD_OPTION_SOCK_ADDR, addr,
                                MHD_OPTION_NOTIFY_COMPLETED, on_completed, k, MHD_OPTION_CONNECTION_TIMEOUT,
                                (unsigned)120, MHD_OPTION_HTTPS_MEM_CERT, cert_pem, MHD_OPTION_HTTPS_MEM_KEY, key_pem,
                                MHD_OPTION_END);
    return MHD_start_daemon(flags, 0, NULL, NULL, on_request, k, MHD_OPTION_SOCK_ADDR, addr,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, k, MHD_OPTION_CONNECTION_TIMEOUT,
                            (unsigned)120, MHD_OPTION_END);
}

int http_port(struct MHD_Daemon *d)
{
    const union MHD_DaemonInfo *i = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    return i ? i->port : 0;
}

void http_stop(struct MHD_Daemon *d) { MHD_stop_daemon(d); }
