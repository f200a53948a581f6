/* http.c — HTTP plumbing on libmicrohttpd.
 *
 * One request's life: the first callback matches the route and answers at
 * once what needs no body (404, 405, 401, 429, 413 by Content-Length, 415);
 * the next callbacks collect the body up to the limit; the last one parses
 * it, checks the Idempotency-Key, opens the write transaction, calls the
 * handler, commits only a 2xx answer (anything else rolls back), wakes the
 * work queue after the commit, and sends the answer with X-Request-Id,
 * ETag, Location and rate-limit headers. Every error is problem+json. */
#define _GNU_SOURCE
#include "server.h"
#include "cors.h"
#include "log.h"
#include "routes.h"
#include "connwatch.h"
#include "../workers/queue.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- in-flight idempotency keys ---------------------------------------- */

typedef struct idem_set {
    pthread_mutex_t mu;
    char **keys;
    size_t n, cap;
} idem_set;

static bool idem_claim(idem_set *s, const char *k)
{
    bool ok = true;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->n && ok; i++) ok = strcmp(s->keys[i], k) != 0;
    if (ok) {
        if (s->n == s->cap) {
            size_t cap = s->cap ? s->cap * 2 : 16;
            char **nk = realloc(s->keys, cap * sizeof *nk);
            if (!nk) ok = false;
            else { s->keys = nk; s->cap = cap; }
        }
        if (ok) {
            char *d = strdup(k);
            if (d) s->keys[s->n++] = d;
            else ok = false;
        }
    }
    pthread_mutex_unlock(&s->mu);
    return ok;
}

static void idem_release(idem_set *s, const char *k)
{
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->keys[i], k) == 0) {
            free(s->keys[i]);
            s->keys[i] = s->keys[--s->n];
            break;
        }
    pthread_mutex_unlock(&s->mu);
}

/* ---- per-request state -------------------------------------------------- */

typedef struct reqstate {
    server *srv;
    int64_t start_us;
    char request_id[80];
    int route;                    /* index, or -1 */
    char segs[3][ROUTE_SEG_MAX];
    int nparams;
    principal who;
    char *body;
    size_t len, cap;
    bool too_large;
    bool answered;                /* a response was queued */
    int status;                   /* for the access log */
    int rl_remaining, rl_reset;   /* rate-limit headers, when rl_remaining >= 0 */
    char idem_claimed[400];       /* key held in the in-flight set */
    char allow[64];               /* methods of the path, for 405 */
    int async;                    /* slow route: 1 running on its own thread, 2 answered there */
    int cors;                     /* 0 off, 1 on (Vary: Origin), 2 the Origin is allowed, 3 its preflight */
    char origin[256];             /* that Origin */
    api_resp async_w;             /* that answer, sent when the connection resumes */
} reqstate;

server *server_of(const api_env *env) { return (server *)((char *)env - offsetof(server, env)); }

static bool header_token_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max) return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x21 || s[i] > 0x7e) return false;
    return true;
}

static void add_headers(struct MHD_Response *resp, reqstate *st, const api_resp *w)
{
    MHD_add_response_header(resp, "X-Request-Id", st->request_id);
    if (w->etag[0]) MHD_add_response_header(resp, "ETag", w->etag);
    if (w->location[0]) MHD_add_response_header(resp, "Location", w->location);
    if (w->op_location[0]) MHD_add_response_header(resp, "Operation-Location", w->op_location);
    if (w->retry_after > 0) {
        char b[16];
        snprintf(b, sizeof b, "%d", w->retry_after);
        MHD_add_response_header(resp, "Retry-After", b);
    }
    if (st->rl_remaining >= 0) {
        char b[32];
        snprintf(b, sizeof b, "%d", ratelimit_burst(st->srv->rl));
        MHD_add_response_header(resp, "RateLimit-Limit", b);
        snprintf(b, sizeof b, "%d", st->rl_remaining);
        MHD_add_response_header(resp, "RateLimit-Remaining", b);
        snprintf(b, sizeof b, "%d", st->rl_reset);
        MHD_add_response_header(resp, "RateLimit-Reset", b);
    }
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    if (st->cors) MHD_add_response_header(resp, "Vary", "Origin");
    if (st->cors >= 2) {
        MHD_add_response_header(resp, "Access-Control-Allow-Origin", st->origin);
        MHD_add_response_header(resp, "Access-Control-Expose-Headers", CORS_EXPOSE_HEADERS);
    }
    if (st->cors == 3) {
        MHD_add_response_header(resp, "Access-Control-Allow-Methods", st->allow);
        MHD_add_response_header(resp, "Access-Control-Allow-Headers", CORS_ALLOW_HEADERS);
        MHD_add_response_header(resp, "Access-Control-Max-Age", CORS_MAX_AGE);
    }
}

/* Sends w (and frees its body). */
static enum MHD_Result send_resp(struct MHD_Connection *c, reqstate *st, api_resp *w)
{
    struct MHD_Response *resp;
    const char *ctype = w->content_type;
    /* a tenant sees no data-plane addresses or server paths (the operator does) */
    if (st->who.kind == P_TENANT && w->body && w->status < 300) api_tenant_view(w->body);
    if (w->raw) {
        resp = MHD_create_response_from_buffer(w->raw_len, w->raw,
                                               w->raw_static ? MHD_RESPMEM_PERSISTENT : MHD_RESPMEM_MUST_FREE);
        w->raw = NULL;
    } else if (w->body) {
        char *txt = json_dumps(w->body, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (!ctype) ctype = w->status >= 400 ? "application/problem+json" : "application/json";
        resp = MHD_create_response_from_buffer(txt ? strlen(txt) : 0, txt ? txt : (char *)"",
                                               txt ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    } else {
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    }
    if (!resp) return MHD_NO;
    if (ctype) MHD_add_response_header(resp, "Content-Type", ctype);
    add_headers(resp, st, w);
    if (w->status == 405 && st->allow[0]) MHD_add_response_header(resp, "Allow", st->allow);
    enum MHD_Result r = MHD_queue_response(c, (unsigned)w->status, resp);
    MHD_destroy_response(resp);
    st->status = w->status;
    st->answered = true;
    /* counted when queued, so a client that reads /metrics right after its
     * answer sees its own request */
    metrics_observe(st->srv->metrics, st->route, st->status, sp_mono_us() - st->start_us);
    json_decref(w->body);
    w->body = NULL;
    return r;
}

static enum MHD_Result reply_problem(struct MHD_Connection *c, reqstate *st, int status,
                                     const char *slug, const char *detail)
{
    api_resp w = {0};
    api_problem(&w, status, slug, "%s", detail);
    if (status == 429) w.retry_after = st->rl_reset > 0 ? st->rl_reset : 1;
    if (status == 503) w.retry_after = 1;
    return send_resp(c, st, &w);
}

/* The client's address as text ("" when unknown). */
static void client_addr(struct MHD_Connection *c, char *addr, size_t cap)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    addr[0] = 0;
    if (ci && ci->client_addr) {
        const struct sockaddr *sa = ci->client_addr;
        if (sa->sa_family == AF_INET) inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, addr, (socklen_t)cap);
        else if (sa->sa_family == AF_INET6) inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, addr, (socklen_t)cap);
    }
}

static void *watch_ctx(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

/* ---- CORS (server/cors.c has the rules) ------------------------------------ */

/* Notes the request's Origin; true when it is a preflight to answer. */
static bool cors_begin(server *s, struct MHD_Connection *c, reqstate *st, const char *method)
{
    const char *o = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
    st->cors = 1;
    if (o && strlen(o) < sizeof st->origin && cors_allowed(s->cfg.cors_origins, o)) {
        snprintf(st->origin, sizeof st->origin, "%s", o);
        st->cors = 2;
    }
    return o && strcmp(method, "OPTIONS") == 0 &&
           MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Access-Control-Request-Method");
}

/* A preflight needs no credentials: 204 with what the path allows, 403
 * (and no CORS header) for an origin not on the list, 404 for no such path. */
static enum MHD_Result cors_preflight(struct MHD_Connection *c, reqstate *st, const char *url)
{
    st->route = routes_match("OPTIONS", url, st->segs, &st->nparams, st->allow, sizeof st->allow);
    st->route = -1;
    if (!st->allow[0]) return reply_problem(c, st, 404, "no-such-endpoint", "no such endpoint");
    if (st->cors != 2)
        return reply_problem(c, st, 403, "cors-origin-not-allowed",
                             "this origin is not on the server's --cors-origins list");
    st->cors = 3;
    api_resp w = {.status = 204};
    return send_resp(c, st, &w);
}

/* ---- authentication ----------------------------------------------------- */

static int authenticate(server *s, struct MHD_Connection *c, principal *who)
{
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0) return 401;
    const char *tok = h + 7;
    while (*tok == ' ') tok++;
    size_t n = strlen(tok), an = strlen(s->admin_token);
    if (n == an && sp_ct_equal(tok, s->admin_token, n)) {
        who->kind = P_ADMIN;
        return 0;
    }
    int rc = api_key_authenticate(s->env.store, tok, who);
    if (rc == ST_OK) return 0;
    return rc == ST_NOTFOUND ? 401 : 503;
}

/* Authenticates a request for route rt: true to go on, false after
 * answering (*r). Failed authentications are limited per client address:
 * guessing keys costs time, and a client over the limit is not even
 * checked. */
static bool admit(server *s, struct MHD_Connection *c, reqstate *st, const route *rt, enum MHD_Result *r)
{
    char fkey[80] = "";
    if (ratelimit_enabled(s->authfail)) {
        char addr[64];
        client_addr(c, addr, sizeof addr);
        snprintf(fkey, sizeof fkey, "f:%s", addr);
        int retry;
        if (!ratelimit_peek(s->authfail, fkey, &retry)) {
            st->rl_reset = retry;
            *r = reply_problem(c, st, 429, "too-many-failed-authentications",
                               "too many requests with wrong credentials from this address; wait and retry");
            return false;
        }
    }
    int a = authenticate(s, c, &st->who);
    if (a == 401 && fkey[0]) {
        int rem, retry, reset;
        ratelimit_take(s->authfail, fkey, &rem, &retry, &reset);
    }
    if (a == 401)
        *r = reply_problem(c, st, 401, "unauthenticated",
                           "send Authorization: Bearer <token> with the operator token or a tenant API key");
    else if (a == 503)
        *r = reply_problem(c, st, 503, "store-busy", "credentials could not be checked; retry");
    else if (rt->auth == AUTH_ADMIN && st->who.kind != P_ADMIN)
        *r = reply_problem(c, st, 403, "forbidden", "this endpoint is for the operator");
    else
        return true;
    return false;
}

/* ---- the request callback ----------------------------------------------- */

/* Headers are limited here, below libmicrohttpd's own memory limit
 * (CONNECTION_MEMORY): over HEADERS_MAX the client gets a problem+json 431;
 * only past CONNECTION_MEMORY does libmicrohttpd answer by itself (a fixed
 * HTML body, which it gives no way to change). */
#define HEADERS_MAX (16 * 1024)
#define CONNECTION_MEMORY (64 * 1024)

static enum MHD_Result add_size(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    *(size_t *)cls += strlen(key) + (value ? strlen(value) : 0) + 4;
    return MHD_YES;
}

static size_t head_size(struct MHD_Connection *c, const char *url)
{
    size_t n = strlen(url);
    MHD_get_connection_values(c, MHD_HEADER_KIND, add_size, &n);
    return n;
}

static bool ctype_ok(const char *ct, body_kind k)
{
    if (!ct) return false;
    size_t n = strcspn(ct, "; ");
    if (n == 16 && strncasecmp(ct, "application/json", 16) == 0) return true;
    if (k == BODY_MERGE && n == 28 && strncasecmp(ct, "application/merge-patch+json", 28) == 0) return true;
    return false;
}

static enum MHD_Result collect_query(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    api_req *r = cls;
    if (r->nquery < API_MAX_QUERY && key) {
        r->query[r->nquery].k = key;
        r->query[r->nquery].v = value ? value : "";
        r->nquery++;
    }
    return MHD_YES;
}

static void body_hash(const char *method, const char *url, const char *body, size_t n, char out[65])
{
    unsigned char h[32];
    size_t ml = strlen(method), ul = strlen(url);
    char *buf = malloc(ml + ul + n + 2);
    if (!buf) { out[0] = 0; return; }
    memcpy(buf, method, ml);
    buf[ml] = ' ';
    memcpy(buf + ml + 1, url, ul);
    buf[ml + 1 + ul] = '\n';
    if (n) memcpy(buf + ml + ul + 2, body, n);
    sp_sha256(buf, ml + ul + n + 2, h);
    free(buf);
    sp_hex(h, 32, out);
}

/* The answer as stored for an Idempotency-Key replay: never with a secret
 * (an API key's is shown once), which the replay says it left out. */
static char *replay_body(const api_resp *w)
{
    if (!w->body) return strdup("");
    if (!w->secret_field || !json_object_get(w->body, w->secret_field))
        return json_dumps(w->body, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_t *copy = json_copy(w->body);      /* shallow: the secret string is only unlinked */
    json_object_del(copy, w->secret_field);
    json_object_set_new(copy, "secret_redacted", json_true());
    char *txt = json_dumps(copy, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(copy);
    return txt;
}

static void principal_name(const principal *p, char *out, size_t cap)
{
    snprintf(out, cap, "%s", p->kind == P_ADMIN ? "admin" : p->tenant_id);
}

/* ---- slow routes off the HTTP threads -----------------------------------------
 *
 * libmicrohttpd binds each connection to one of its threads, so a handler
 * that waits (a live Kafka reading waits up to its timeout) would hold up
 * every other connection on that thread. A slow route's work therefore
 * runs on a thread of its own while the connection is suspended; when it has
 * answered, the connection resumes and the answer is sent from the HTTP
 * thread. The store gives the new thread its own SQLite connection, closed
 * when the thread ends; a slow write (the rebalance dry run reads Kafka in
 * its prepare step) takes the single writer there only after its network
 * call, as on an HTTP thread, and lets go of its Idempotency-Key when it
 * has committed. */
typedef struct async_job {
    struct MHD_Connection *c;
    reqstate *st;
    api_req rq;
    bool writes;
    char ikey[256], hash[65], pname[SP_ID_MAX + 8];
} async_job;

static void run_route(server *s, const route *rt, api_req *rq, api_resp *w, bool writes, const char *ikey,
                      const char *hash, const char *pname);

static void *async_run(void *arg)
{
    async_job *j = arg;
    const route *rt = routes_get(j->st->route);
    server *s = j->st->srv;
    run_route(s, rt, &j->rq, &j->st->async_w, j->writes, j->ikey[0] ? j->ikey : NULL, j->hash, j->pname);
    /* answered and committed: a retry with the same key may now replay it */
    if (j->st->idem_claimed[0]) {
        idem_release(s->idem, j->st->idem_claimed);
        j->st->idem_claimed[0] = 0;
    }
    struct MHD_Connection *c = j->c;
    __atomic_store_n(&j->st->async, 2, __ATOMIC_SEQ_CST);
    free(j);                        /* before resuming: the server may stop right after */
    MHD_resume_connection(c);
    return NULL;
}

/* True when the route's work was started on its own thread (the connection
 * is suspended until it answers); false to run it here. */
static bool start_async(struct MHD_Connection *c, reqstate *st, const api_req *rq, bool writes, const char *ikey,
                        const char *hash, const char *pname)
{
    async_job *j = calloc(1, sizeof *j);
    if (!j) return false;
    j->c = c;
    j->st = st;
    j->rq = *rq;
    j->writes = writes;
    snprintf(j->ikey, sizeof j->ikey, "%s", ikey ? ikey : "");
    snprintf(j->hash, sizeof j->hash, "%s", hash);
    snprintf(j->pname, sizeof j->pname, "%s", pname);
    st->async = 1;
    MHD_suspend_connection(c);
    pthread_attr_t a;
    pthread_t t;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&t, &a, async_run, j);
    pthread_attr_destroy(&a);
    if (rc != 0) {                  /* no thread: answer here after all */
        MHD_resume_connection(c);
        st->async = 0;
        free(j);
        return false;
    }
    return true;
}

/* A route's work once its request is in and checked: a write's prepare
 * step (network checks, before the transaction), then the handler (in one
 * transaction for a write, committed only on 2xx, with the
 * Idempotency-Key's answer recorded in it), then the wakes. Frees rq's
 * body and prepared. Runs on the HTTP thread, or on a slow route's own. */
static void run_route(server *s, const route *rt, api_req *rq, api_resp *w, bool writes, const char *ikey,
                      const char *hash, const char *pname)
{
    if (writes && rt->prepare) {
        rt->prepare(rq, w);
        if (w->status) goto out;
    }
    if (writes && store_begin(s->env.store) != ST_OK) {
        api_problem(w, 503, "store-busy", "the store is busy; retry");
        goto out;
    }
    rt->handler(rq, w);
    if (w->status == 0) api_problem(w, 500, "no-answer", "the handler gave no answer");
    if (writes) {
        bool ok = w->status >= 200 && w->status < 300;
        if (ok && ikey) {
            store_idem rec = {0};
            snprintf(rec.body_hash, sizeof rec.body_hash, "%s", hash);
            rec.status = w->status;
            snprintf(rec.location, sizeof rec.location, "%s", w->location);
            snprintf(rec.op_location, sizeof rec.op_location, "%s", w->op_location);
            snprintf(rec.etag, sizeof rec.etag, "%s", w->etag);
            rec.body = replay_body(w);
            int rc = store_idem_put(s->env.store, pname, ikey, &rec);
            free(rec.body);
            if (rc != ST_OK) ok = false, api_store_error(w, rc, "recording the Idempotency-Key");
        }
        if (ok) {
            int rc = store_commit(s->env.store);
            if (rc != ST_OK) {
                api_store_error(w, rc, "committing");
                w->location[0] = w->op_location[0] = w->etag[0] = 0;
            } else {
                for (int i = 0; i < rq->nwake; i++) queue_wake(s->env.queue, rq->wake[i]);
            }
        } else {
            store_rollback(s->env.store);
            if (w->status >= 400) w->location[0] = w->op_location[0] = 0;
        }
    }
out:
    json_decref(rq->body);
    json_decref(rq->prepared);
    rq->body = rq->prepared = NULL;
}

static enum MHD_Result finish_request(server *s, struct MHD_Connection *c, reqstate *st,
                                      const char *method, const char *url)
{
    const route *rt = routes_get(st->route);
    if (st->too_large) {
        char d[128];
        snprintf(d, sizeof d, "the request body is over the limit of %ld bytes", s->cfg.max_body);
        return reply_problem(c, st, 413, "body-too-large", d);
    }
    api_req rq = {0};
    rq.env = &s->env;
    rq.method = method;
    rq.path = url;
    rq.who = st->who;
    for (int i = 0; i < st->nparams; i++) rq.params[i] = st->segs[i];
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_query, &rq);
    rq.if_match = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "If-Match");
    rq.accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept");

    if (st->len > 0) {
        if (rt->body == BODY_NONE)
            return reply_problem(c, st, 400, "unexpected-body", "this request takes no body");
        const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
        if (!ctype_ok(ct, rt->body))
            return reply_problem(c, st, 415, "unsupported-media-type",
                                 rt->body == BODY_MERGE
                                     ? "send the body as application/merge-patch+json or application/json"
                                     : "send the body as application/json");
        json_error_t err;
        rq.body = json_loadb(st->body, st->len, JSON_REJECT_DUPLICATES, &err);
        if (!rq.body) {
            char d[300];
            snprintf(d, sizeof d, "the body is not valid JSON: %s (at byte %d)", err.text, err.position);
            return reply_problem(c, st, 400, "malformed-json", d);
        }
    }

    api_resp w = {0};
    bool writes = strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 && rt->auth != AUTH_NONE;
    const char *ikey = strcmp(method, "POST") == 0
                           ? MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Idempotency-Key") : NULL;
    char pname[SP_ID_MAX + 8], hash[65] = "";
    principal_name(&st->who, pname, sizeof pname);
    if (ikey) {
        if (!header_token_ok(ikey, 255)) {
            json_decref(rq.body);
            return reply_problem(c, st, 400, "bad-idempotency-key",
                                 "Idempotency-Key must be 1-255 visible ASCII characters");
        }
        snprintf(st->idem_claimed, sizeof st->idem_claimed, "%s\n%s", pname, ikey);
        if (!idem_claim(s->idem, st->idem_claimed)) {
            st->idem_claimed[0] = 0;
            json_decref(rq.body);
            return reply_problem(c, st, 409, "idempotency-key-in-flight",
                                 "a request with this Idempotency-Key is still being processed; retry later");
        }
        body_hash(method, url, st->body, st->len, hash);
        store_idem prev;
        int rc = store_idem_get(s->env.store, pname, ikey, &prev);
        if (rc == ST_OK) {
            json_decref(rq.body);
            if (strcmp(prev.body_hash, hash) != 0) {
                store_idem_clear(&prev);
                return reply_problem(c, st, 422, "idempotency-key-reused",
                                     "this Idempotency-Key was used with another request; use a new key");
            }
            w.status = prev.status;
            w.body = json_loads(prev.body, 0, NULL);
            snprintf(w.location, sizeof w.location, "%s", prev.location);
            snprintf(w.op_location, sizeof w.op_location, "%s", prev.op_location);
            snprintf(w.etag, sizeof w.etag, "%s", prev.etag);
            store_idem_clear(&prev);
            return send_resp(c, st, &w);
        }
        if (rc != ST_NOTFOUND) {
            json_decref(rq.body);
            return reply_problem(c, st, 503, "store-busy", "the store could not be read; retry");
        }
    }

    if (rt->slow && start_async(c, st, &rq, writes, ikey, hash, pname)) return MHD_YES;
    run_route(s, rt, &rq, &w, writes, ikey, hash, pname);
    return send_resp(c, st, &w);
}

static enum MHD_Result finish(server *s, struct MHD_Connection *c, reqstate *st,
                              const char *method, const char *url)
{
    enum MHD_Result r = finish_request(s, c, st, method, url);
    /* The outcome is committed and the answer queued (MHD sends it after
     * this callback returns): a retry with the same key may now replay it.
     * A slow route's own thread lets go of the key itself when done. */
    if (!__atomic_load_n(&st->async, __ATOMIC_SEQ_CST) && st->idem_claimed[0]) {
        idem_release(s->idem, st->idem_claimed);
        st->idem_claimed[0] = 0;
    }
    return r;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    (void)version;
    server *s = cls;
    reqstate *st = *con_cls;
    if (!st) {
        st = calloc(1, sizeof *st);
        if (!st) return MHD_NO;
        *con_cls = st;
        __atomic_fetch_add(&s->inflight, 1, __ATOMIC_SEQ_CST);
        st->srv = s;
        st->start_us = sp_mono_us();
        st->rl_remaining = -1;
        const char *rid = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Request-Id");
        if (rid && header_token_ok(rid, 64)) snprintf(st->request_id, sizeof st->request_id, "%s", rid);
        else sp_id_new("req", st->request_id);
        if (head_size(c, url) > HEADERS_MAX) {
            char d[128];
            snprintf(d, sizeof d, "the request line and headers are over the limit of %d bytes", HEADERS_MAX);
            return reply_problem(c, st, 431, "headers-too-large", d);
        }

        if (s->cfg.cors_origins[0] && cors_begin(s, c, st, method)) return cors_preflight(c, st, url);
        const char *m = strcmp(method, "HEAD") == 0 ? "GET" : method;
        st->route = routes_match(m, url, st->segs, &st->nparams, st->allow, sizeof st->allow);
        if (st->route == -1) {
            char d[300];
            snprintf(d, sizeof d, "no such endpoint: %.200s", url);
            return reply_problem(c, st, 404, "no-such-endpoint", d);
        }
        if (st->route == -2) {
            api_resp w = {0};
            api_problem(&w, 405, "method-not-allowed", "%s is not allowed here; allowed: %s", method, st->allow);
            st->route = -1;
            return send_resp(c, st, &w);
        }
        const route *rt = routes_get(st->route);
        if (rt->auth != AUTH_NONE) {
            enum MHD_Result r;
            if (!admit(s, c, st, rt, &r)) return r;
        }
        if (rt->rate_limited && ratelimit_enabled(s->rl)) {
            char key[SP_ID_MAX + 8];
            snprintf(key, sizeof key, "%s", st->who.kind == P_ADMIN ? "admin" : st->who.key_id);
            int retry;
            bool ok = ratelimit_take(s->rl, key, &st->rl_remaining, &retry, &st->rl_reset);
            if (!ok) {
                st->rl_reset = retry;
                return reply_problem(c, st, 429, "rate-limited", "too many requests for this credential; slow down");
            }
        }
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        if (cl) {
            char *end;
            unsigned long long n = strtoull(cl, &end, 10);
            if (*end == 0 && n > (unsigned long long)s->cfg.max_body) {
                char d[128];
                snprintf(d, sizeof d, "the request body is over the limit of %ld bytes", s->cfg.max_body);
                return reply_problem(c, st, 413, "body-too-large", d);
            }
            if (*end == 0 && n > 0 && rt->body != BODY_NONE &&
                !ctype_ok(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type"), rt->body))
                return reply_problem(c, st, 415, "unsupported-media-type",
                                     rt->body == BODY_MERGE
                                         ? "send the body as application/merge-patch+json or application/json"
                                         : "send the body as application/json");
        }
        return MHD_YES;
    }
    if (__atomic_load_n(&st->async, __ATOMIC_SEQ_CST)) {   /* a slow route's own thread */
        if (__atomic_load_n(&st->async, __ATOMIC_SEQ_CST) != 2) return MHD_YES;
        st->async = 0;
        return send_resp(c, st, &st->async_w);
    }
    if (st->answered) {            /* early answer: drop any body */
        *upload_size = 0;
        return MHD_YES;
    }
    if (*upload_size) {
        size_t n = *upload_size;
        *upload_size = 0;
        if (st->too_large || st->len + n > (size_t)s->cfg.max_body) {
            st->too_large = true;
            free(st->body);
            st->body = NULL;
            st->len = st->cap = 0;
            return MHD_YES;
        }
        if (st->len + n + 1 > st->cap) {
            size_t cap = st->cap ? st->cap : 1024;
            while (cap < st->len + n + 1) cap *= 2;
            char *nb = realloc(st->body, cap);
            if (!nb) return MHD_NO;
            st->body = nb;
            st->cap = cap;
        }
        memcpy(st->body + st->len, upload, n);
        st->len += n;
        return MHD_YES;
    }
    connwatch_arrived(s->watch, watch_ctx(c));     /* the request is here in full */
    return finish(s, c, st, method, url);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    server *s = cls;
    reqstate *st = *con_cls;
    if (!st) return;
    *con_cls = NULL;
    int64_t us = sp_mono_us() - st->start_us;
    char addr[64];
    client_addr(c, addr, sizeof addr);
    connwatch_next(s->watch, watch_ctx(c));       /* a kept-alive connection's next request */
    const route *rt = routes_get(st->route);
    char who[SP_ID_MAX * 2 + 2] = "-";
    if (st->who.kind == P_ADMIN) snprintf(who, sizeof who, "admin");
    else if (st->who.kind == P_TENANT) snprintf(who, sizeof who, "%s/%s", st->who.tenant_id, st->who.key_id);
    json_t *f = json_pack("{s:s, s:s, s:i, s:f, s:s, s:s, s:s}", "request_id", st->request_id,
                          "route", rt ? rt->pattern : "unmatched", "status", st->status,
                          "duration_ms", (double)us / 1000.0, "principal", who, "client", addr,
                          "method", rt ? rt->method : "-");
    if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
        json_object_set_new(f, "terminated", json_integer(toe));
    log_emit(st->status >= 500 ? LOG_WARN : LOG_INFO, "request", f);
    if (st->idem_claimed[0]) idem_release(s->idem, st->idem_claimed);
    free(st->body);
    free(st);
    __atomic_fetch_sub(&s->inflight, 1, __ATOMIC_SEQ_CST);
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    server *s = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (ci) connwatch_opened(s->watch, ci->connect_fd, socket_context);
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        connwatch_closed(s->watch, socket_context);
    }
}

static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char buf[512];
    vsnprintf(buf, sizeof buf, fmt, ap);
    size_t n = strlen(buf);
    while (n && buf[n - 1] == '\n') buf[--n] = 0;
    log_emit(LOG_WARN, "http", json_pack("{s:s}", "detail", buf));
}

static int parse_listen(const char *listen, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[256];
    const char *colon = strrchr(listen, ':');
    if (!colon || colon - listen >= (long)sizeof host) return -1;
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = 0;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 0 || port > 65535) return -1;
    char *h = host;
    if (h[0] == '[') { h++; size_t n = strlen(h); if (n && h[n - 1] == ']') h[n - 1] = 0; }
    if (strcmp(h, "localhost") == 0) h = "127.0.0.1";
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, h, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        *len = sizeof *a4;
    } else if (inet_pton(AF_INET6, h, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        *len = sizeof *a6;
    } else return -1;
    return 0;
}

static bool is_loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
    return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

/* HTTPS when --tls-cert/--tls-key are given (the PEM text stays in s while
 * serving); plain HTTP beyond loopback only with --insecure-http, since a
 * bearer token travels in every request. Fills opts (3 items). */
static int tls_setup(server *s, const struct sockaddr_storage *ss, unsigned *flags,
                     struct MHD_OptionItem opts[3])
{
    opts[0] = opts[1] = opts[2] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    if (!s->cfg.tls_cert[0]) {
        if (is_loopback(ss)) return 0;
        if (!s->cfg.insecure_http) {
            log_msg(LOG_ERROR, "refusing plain HTTP on %s, which is not a loopback address: bearer tokens "
                    "would travel in clear. Give --tls-cert and --tls-key, or --insecure-http "
                    "(e.g. behind a proxy that terminates TLS)", s->cfg.listen);
            return -1;
        }
        log_msg(LOG_WARN, "serving plain HTTP on %s (--insecure-http): bearer tokens travel in clear "
                "unless a proxy in front terminates TLS", s->cfg.listen);
        return 0;
    }
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
        log_msg(LOG_ERROR, "this libmicrohttpd has no TLS support");
        return -1;
    }
    s->tls_cert_pem = sp_read_file(s->cfg.tls_cert, NULL);
    s->tls_key_pem = sp_read_file(s->cfg.tls_key, NULL);
    if (!s->tls_cert_pem || !s->tls_key_pem) {
        log_msg(LOG_ERROR, "cannot read %s", !s->tls_cert_pem ? s->cfg.tls_cert : s->cfg.tls_key);
        return -1;
    }
    *flags |= MHD_USE_TLS;
    opts[0] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, s->tls_cert_pem};
    opts[1] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, s->tls_key_pem};
    return 0;
}

int server_start(server *s)
{
    struct sockaddr_storage ss;
    socklen_t slen;
    if (parse_listen(s->cfg.listen, &ss, &slen) != 0) {
        log_msg(LOG_ERROR, "cannot parse --listen %s (want IP:PORT, e.g. 127.0.0.1:8080)", s->cfg.listen);
        return -1;
    }
    /* poll, not epoll: with epoll and a thread pool, libmicrohttpd 0.9.75's
     * MHD_quiesce_daemon aborted the process on SIGTERM ("Failed to remove
     * listen FD from epoll set", seen once in the sanitizer suite: its removal
     * of the listen FD can race a worker thread's own). With poll, quiescing
     * only stops polling the listen socket. */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    struct MHD_OptionItem tls[3];
    if (tls_setup(s, &ss, &flags, tls) != 0) return -1;
    s->metrics = metrics_new(routes_count());
    s->rl = ratelimit_new(s->cfg.rate_limit, s->cfg.rate_burst);
    /* N failures per minute, in a burst of up to N */
    s->authfail = ratelimit_new(s->cfg.auth_failure_limit / 60.0, s->cfg.auth_failure_limit);
    s->watch = connwatch_new(s->cfg.request_timeout_s * 1000, NULL);
    idem_set *is = calloc(1, sizeof *is);
    if (!s->metrics || !s->rl || !s->authfail || !s->watch || !is) { free(is); return -1; }
    pthread_mutex_init(&is->mu, NULL);
    s->idem = is;
    if (ss.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
    s->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s,
                                 MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
                                 MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                                 MHD_OPTION_THREAD_POOL_SIZE, (unsigned)s->cfg.http_threads,
                                 MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                                 MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
                                 MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned)1000,
                                 MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)s->cfg.max_client_connections,
                                 MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)512,
                                 MHD_OPTION_ARRAY, tls,
                                 MHD_OPTION_END);
    if (!s->daemon) {
        log_msg(LOG_ERROR, "cannot listen on %s (in use, or not an address of this machine?)", s->cfg.listen);
        return -1;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : 0;
    return 0;
}

void server_stop(server *s)
{
    if (s->daemon) {
        MHD_quiesce_daemon(s->daemon);         /* stop accepting */
        int64_t until = sp_mono_ms() + 30000;  /* finish what is in flight */
        while (__atomic_load_n(&s->inflight, __ATOMIC_SEQ_CST) > 0 && sp_mono_ms() < until)
            usleep(10000);
        MHD_stop_daemon(s->daemon);
        s->daemon = NULL;
    }
    metrics_free(s->metrics);
    ratelimit_free(s->rl);
    ratelimit_free(s->authfail);
    connwatch_free(s->watch);
    s->authfail = NULL;
    s->watch = NULL;
    idem_set *is = s->idem;
    if (is) {
        for (size_t i = 0; i < is->n; i++) free(is->keys[i]);
        free(is->keys);
        pthread_mutex_destroy(&is->mu);
        free(is);
    }
    s->metrics = NULL; s->rl = NULL; s->idem = NULL;
    if (s->tls_key_pem) sp_wipe(s->tls_key_pem, strlen(s->tls_key_pem));
    free(s->tls_cert_pem);
    free(s->tls_key_pem);
    s->tls_cert_pem = s->tls_key_pem = NULL;
}
