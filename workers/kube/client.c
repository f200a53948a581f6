/* client.c — see client.h. */
#define _GNU_SOURCE
#include "client.h"
#include "../../common/util.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* The kinds streamplane writes and reads: plural and scope. */
static const struct { const char *kind, *plural; bool namespaced; } KINDS[] = {
    {"Namespace", "namespaces", false},          {"Node", "nodes", false},
    {"ClusterRole", "clusterroles", false},      {"ClusterRoleBinding", "clusterrolebindings", false},
    {"ConfigMap", "configmaps", true},           {"Secret", "secrets", true},
    {"Service", "services", true},               {"Pod", "pods", true},
    {"PersistentVolumeClaim", "persistentvolumeclaims", true},
    {"ServiceAccount", "serviceaccounts", true}, {"StatefulSet", "statefulsets", true},
    {"PodDisruptionBudget", "poddisruptionbudgets", true},
    {"NetworkPolicy", "networkpolicies", true},  {"Job", "jobs", true},
    {"Role", "roles", true},                     {"RoleBinding", "rolebindings", true},
    {"Lease", "leases", true},
};

int kube_path(const char *api_version, const char *kind, const char *ns, const char *name,
              char *out, size_t cap)
{
    int k = -1;
    for (size_t i = 0; i < sizeof KINDS / sizeof KINDS[0] && k < 0; i++)
        if (strcmp(KINDS[i].kind, kind) == 0) k = (int)i;
    if (k < 0 || !api_version) return -1;
    bool core = strchr(api_version, '/') == NULL;
    int n = snprintf(out, cap, "%s/%s", core ? "/api" : "/apis", api_version);
    if (KINDS[k].namespaced && ns) n += snprintf(out + n, cap - (size_t)n, "/namespaces/%s", ns);
    n += snprintf(out + n, cap - (size_t)n, "/%s", KINDS[k].plural);
    if (name) n += snprintf(out + n, cap - (size_t)n, "/%s", name);
    return n < (int)cap ? 0 : -1;
}

struct kube_client {
    kube_cfg cfg;
    CURL *curl;
    int timeout_ms;
};

static char *dupn(const char *s) { return s ? strdup(s) : NULL; }

kube_client *kube_client_new(const kube_cfg *cfg, int timeout_ms)
{
    kube_client *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->cfg.server = dupn(cfg->server);
    c->cfg.token = dupn(cfg->token);
    c->cfg.token_file = dupn(cfg->token_file);
    c->cfg.ca_pem = dupn(cfg->ca_pem);
    c->cfg.ca_file = dupn(cfg->ca_file);
    c->cfg.cert_pem = dupn(cfg->cert_pem);
    c->cfg.key_pem = dupn(cfg->key_pem);
    c->cfg.insecure = cfg->insecure;
    c->timeout_ms = timeout_ms > 0 ? timeout_ms : 10000;
    c->curl = curl_easy_init();
    if (!c->curl || !c->cfg.server) { kube_client_free(c); return NULL; }
    size_t n = strlen(c->cfg.server);
    while (n && c->cfg.server[n - 1] == '/') c->cfg.server[--n] = 0;
    return c;
}

void kube_client_free(kube_client *c)
{
    if (!c) return;
    if (c->curl) curl_easy_cleanup(c->curl);
    kube_cfg_free(&c->cfg);
    free(c);
}

const char *kube_rc_name(kube_rc rc)
{
    static const char *const N[] = {"OK", "NotFound", "Conflict", "Gone", "Invalid", "Unauthorized",
                                    "Forbidden", "Unavailable", "Timeout", "ConnectFailed", "Unsupported", "Error"};
    return rc <= KUBE_ERROR ? N[rc] : "Error";
}

const char *kube_strerror(kube_rc rc)
{
    switch (rc) {
    case KUBE_OK: return "ok";
    case KUBE_NOT_FOUND: return "the object does not exist";
    case KUBE_CONFLICT: return "the object exists or changed meanwhile";
    case KUBE_GONE: return "the list or watch expired";
    case KUBE_INVALID: return "the API server rejected the object as invalid";
    case KUBE_UNAUTHORIZED: return "the credentials were not accepted";
    case KUBE_FORBIDDEN: return "the credentials may not do this";
    case KUBE_UNAVAILABLE: return "the API server is overloaded or unavailable";
    case KUBE_TIMEOUT: return "the API server did not answer in time";
    case KUBE_CONNECT: return "the API server cannot be reached";
    case KUBE_UNSUPPORTED: return "the API server does not support this";
    default: return "the call failed";
    }
}

bool kube_transient(kube_rc rc)
{
    return rc == KUBE_CONNECT || rc == KUBE_TIMEOUT || rc == KUBE_UNAVAILABLE;
}

typedef struct buf { char *p; size_t n; } buf;

static size_t on_data(char *d, size_t sz, size_t nm, void *u)
{
    buf *b = u;
    size_t n = sz * nm;
    if (b->n + n > (64u << 20)) return 0;           /* 64 MiB: more is not an answer we want */
    char *np = realloc(b->p, b->n + n + 1);
    if (!np) return 0;
    b->p = np;
    memcpy(b->p + b->n, d, n);
    b->n += n;
    b->p[b->n] = 0;
    return n;
}

typedef struct hdrs { long retry_after; } hdrs;

static size_t on_header(char *d, size_t sz, size_t nm, void *u)
{
    hdrs *h = u;
    size_t n = sz * nm;
    if (n > 12 && strncasecmp(d, "Retry-After:", 12) == 0) h->retry_after = strtol(d + 12, NULL, 10);
    return n;
}

static kube_rc rc_of_http(long code)
{
    switch (code) {
    case 404: return KUBE_NOT_FOUND;
    case 409: return KUBE_CONFLICT;
    case 410: return KUBE_GONE;
    case 400: case 422: return KUBE_INVALID;
    case 401: return KUBE_UNAUTHORIZED;
    case 403: return KUBE_FORBIDDEN;
    case 501: return KUBE_UNSUPPORTED;
    case 429: case 500: case 502: case 503: case 504: return KUBE_UNAVAILABLE;
    default: return code >= 200 && code < 300 ? KUBE_OK : KUBE_ERROR;
    }
}

void kube_err_from_body(kube_err *e, long code, const char *body)
{
    if (!e) return;
    e->http = (int)code;
    e->reason[0] = e->message[0] = 0;
    json_t *j = body ? json_loads(body, 0, NULL) : NULL;
    const char *m = json_string_value(json_object_get(j, "message"));
    const char *r = json_string_value(json_object_get(j, "reason"));
    snprintf(e->reason, sizeof e->reason, "%s", r ? r : "");
    if (m) snprintf(e->message, sizeof e->message, "%s", m);
    else snprintf(e->message, sizeof e->message, "HTTP %ld (not a Kubernetes Status answer)", code);
    json_decref(j);
}

/* One request with retries until the deadline. body may be NULL. */
static kube_rc call_text(kube_client *c, const char *method, const char *path, const char *ctype,
                         const char *body, json_t **out, char **text, kube_err *e);

static kube_rc call(kube_client *c, const char *method, const char *path, const char *ctype,
                    const char *body, json_t **out, kube_err *e)
{
    return call_text(c, method, path, ctype, body, out, NULL, e);
}

/* As call; text (when not NULL) gets the body of a 2xx answer as it came
 * (malloc'd, NUL-terminated), for answers that are not JSON (pod logs). */
static kube_rc call_text(kube_client *c, const char *method, const char *path, const char *ctype,
                         const char *body, json_t **out, char **text, kube_err *e)
{
    if (out) *out = NULL;
    if (text) *text = NULL;
    if (e) memset(e, 0, sizeof *e);
    int64_t deadline = sp_mono_ms() + c->timeout_ms;
    int attempt = 0;
    for (;;) {
        int64_t left = deadline - sp_mono_ms();
        if (left <= 0) {
            if (e && !e->message[0]) snprintf(e->message, sizeof e->message, "no answer within %d ms", c->timeout_ms);
            return e && e->http ? KUBE_UNAVAILABLE : KUBE_TIMEOUT;
        }
        CURL *h = c->curl;
        curl_easy_reset(h);
        char url[4096], auth[16384];
        snprintf(url, sizeof url, "%s%s", c->cfg.server, path);
        struct curl_slist *hl = NULL;
        hl = curl_slist_append(hl, "Accept: application/json");
        if (ctype) {
            char ct[128];
            snprintf(ct, sizeof ct, "Content-Type: %s", ctype);
            hl = curl_slist_append(hl, ct);
        }
        char *tok = c->cfg.token_file ? sp_read_file_max(c->cfg.token_file, 65536, NULL) : NULL;   /* rotation */
        const char *t = tok ? tok : c->cfg.token;
        if (t) {
            snprintf(auth, sizeof auth, "Authorization: Bearer %.*s", (int)strcspn(t, "\r\n"), t);
            hl = curl_slist_append(hl, auth);
            sp_wipe(auth, strlen(auth));
        }
        if (tok) { sp_wipe(tok, strlen(tok)); free(tok); }
        hl = curl_slist_append(hl, "Expect:");
        buf b = {0};
        hdrs hd = {0};
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, &hd);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)left);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(left < 5000 ? left : 5000));
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(h, CURLOPT_USERAGENT, "streamplane");
        if (body) {
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
        }
        if (c->cfg.insecure) {
            curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
            curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
        } else if (c->cfg.ca_pem) {
            struct curl_blob blob = {c->cfg.ca_pem, strlen(c->cfg.ca_pem), CURL_BLOB_COPY};
            curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
        } else if (c->cfg.ca_file)
            curl_easy_setopt(h, CURLOPT_CAINFO, c->cfg.ca_file);
        if (c->cfg.cert_pem && c->cfg.key_pem) {
            struct curl_blob cb = {c->cfg.cert_pem, strlen(c->cfg.cert_pem), CURL_BLOB_COPY};
            struct curl_blob kb = {c->cfg.key_pem, strlen(c->cfg.key_pem), CURL_BLOB_COPY};
            curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &cb);
            curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
            curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &kb);
            curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
        }
        CURLcode cc = curl_easy_perform(h);
        curl_slist_free_all(hl);
        long code = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
        kube_rc rc;
        bool retry = false;
        if (cc != CURLE_OK) {
            rc = cc == CURLE_OPERATION_TIMEDOUT ? KUBE_TIMEOUT
               : (cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST ||
                  cc == CURLE_SSL_CONNECT_ERROR || cc == CURLE_PEER_FAILED_VERIFICATION ||
                  cc == CURLE_SSL_CACERT_BADFILE) ? KUBE_CONNECT : KUBE_ERROR;
            if (e) { e->http = 0; snprintf(e->message, sizeof e->message, "%s: %s", c->cfg.server, curl_easy_strerror(cc)); }
            /* a dropped or reset connection is worth another try; a bad certificate is not;
             * a refused connection gets two quick retries, not the whole deadline: a
             * server that is down stays down, and the caller's circuit breaker decides */
            retry = cc == CURLE_GOT_NOTHING || cc == CURLE_RECV_ERROR || cc == CURLE_SEND_ERROR ||
                    cc == CURLE_PARTIAL_FILE || (cc == CURLE_COULDNT_CONNECT && attempt < 2);
        } else {
            rc = rc_of_http(code);
            if (rc != KUBE_OK) kube_err_from_body(e, code, b.p);
            retry = rc == KUBE_UNAVAILABLE;
            if (rc == KUBE_OK && out && b.p && b.n) *out = json_loads(b.p, 0, NULL);
            if (rc == KUBE_OK && text) { *text = b.p ? b.p : strdup(""); b.p = NULL; }
            if (rc == KUBE_OK && e) e->http = (int)code;
        }
        free(b.p);
        if (!retry) return rc;
        /* capped exponential backoff with jitter, or what Retry-After asks */
        int64_t wait = hd.retry_after > 0 ? hd.retry_after * 1000 : (100LL << (attempt < 5 ? attempt : 5));
        unsigned char r;
        sp_random(&r, 1);
        wait += wait * r / 512;
        if (wait > 5000) wait = 5000;
        attempt++;
        if (sp_mono_ms() + wait >= deadline) return rc == KUBE_ERROR ? KUBE_UNAVAILABLE : rc;
        usleep((useconds_t)wait * 1000);
    }
}

kube_rc kube_apply(kube_client *c, const json_t *obj, json_t **out, kube_err *e)
{
    const char *av = json_string_value(json_object_get(obj, "apiVersion"));
    const char *kind = json_string_value(json_object_get(obj, "kind"));
    json_t *md = json_object_get(obj, "metadata");
    const char *name = json_string_value(json_object_get(md, "name"));
    const char *ns = json_string_value(json_object_get(md, "namespace"));
    char path[1024];
    if (!kind || !name || kube_path(av, kind, ns, name, path, sizeof path - 64) != 0) {
        if (e) snprintf(e->message, sizeof e->message, "cannot apply %s: unknown kind or no name", kind ? kind : "object");
        return KUBE_UNSUPPORTED;
    }
    strcat(path, "?fieldManager=streamplane&force=true");
    char *body = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
    kube_rc rc = call(c, "PATCH", path, "application/apply-patch+yaml", body, out, e);
    free(body);
    return rc;
}

kube_rc kube_get(kube_client *c, const char *av, const char *kind, const char *ns, const char *name,
                 json_t **out, kube_err *e)
{
    char path[1024];
    if (kube_path(av, kind, ns, name, path, sizeof path) != 0) return KUBE_UNSUPPORTED;
    return call(c, "GET", path, NULL, NULL, out, e);
}

static void urlenc(const char *in, char *out, size_t cap)
{
    static const char H[] = "0123456789ABCDEF";
    size_t o = 0;
    for (; *in && o + 4 < cap; in++) {
        unsigned char ch = (unsigned char)*in;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '_' || ch == '.' || ch == '~')
            out[o++] = (char)ch;
        else { out[o++] = '%'; out[o++] = H[ch >> 4]; out[o++] = H[ch & 15]; }
    }
    out[o] = 0;
}

kube_rc kube_list(kube_client *c, const char *av, const char *kind, const char *ns,
                  const char *selector, json_t **items, kube_err *e)
{
    *items = json_array();
    char base[1024], sel[1024] = "", tok[2048] = "";
    if (kube_path(av, kind, ns, NULL, base, sizeof base) != 0) return KUBE_UNSUPPORTED;
    if (selector) urlenc(selector, sel, sizeof sel);
    for (int page = 0; page < 10000; page++) {
        char path[8192];
        snprintf(path, sizeof path, "%s?limit=500%s%s%s%s", base, sel[0] ? "&labelSelector=" : "", sel,
                 tok[0] ? "&continue=" : "", tok);
        json_t *out = NULL;
        kube_rc rc = call(c, "GET", path, NULL, NULL, &out, e);
        if (rc != KUBE_OK) { json_decref(*items); *items = NULL; return rc; }
        json_array_extend(*items, json_object_get(out, "items"));
        const char *cont = json_string_value(json_object_get(json_object_get(out, "metadata"), "continue"));
        if (cont && *cont) urlenc(cont, tok, sizeof tok);
        json_decref(out);
        if (!cont || !*cont) return KUBE_OK;
    }
    return KUBE_ERROR;
}

kube_rc kube_delete(kube_client *c, const char *av, const char *kind, const char *ns, const char *name,
                    const char *propagation, kube_err *e)
{
    char path[1024];
    if (kube_path(av, kind, ns, name, path, sizeof path) != 0) return KUBE_UNSUPPORTED;
    char body[160];
    if (propagation)
        snprintf(body, sizeof body, "{\"kind\":\"DeleteOptions\",\"apiVersion\":\"v1\",\"propagationPolicy\":\"%s\"}", propagation);
    return call(c, "DELETE", path, propagation ? "application/json" : NULL, propagation ? body : NULL, NULL, e);
}

kube_rc kube_delete_uid(kube_client *c, const char *av, const char *kind, const char *ns, const char *name,
                        const char *uid, kube_err *e)
{
    char path[1024];
    if (kube_path(av, kind, ns, name, path, sizeof path) != 0) return KUBE_UNSUPPORTED;
    json_t *b = json_pack("{s:s, s:s, s:{s:s}}", "kind", "DeleteOptions", "apiVersion", "v1", "preconditions", "uid", uid);
    char *body = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    kube_rc rc = call(c, "DELETE", path, "application/json", body, NULL, e);
    free(body);
    return rc;
}

kube_rc kube_pod_log(kube_client *c, const char *ns, const char *pod, int tail_lines, char **text, kube_err *e)
{
    char path[1024];
    *text = NULL;
    if (kube_path("v1", "Pod", ns, pod, path, sizeof path - 48) != 0) return KUBE_UNSUPPORTED;
    size_t n = strlen(path);
    if (tail_lines > 0) snprintf(path + n, sizeof path - n, "/log?tailLines=%d", tail_lines);
    else snprintf(path + n, sizeof path - n, "/log");
    return call_text(c, "GET", path, NULL, NULL, NULL, text, e);
}

kube_rc kube_create(kube_client *c, const json_t *obj, json_t **out, kube_err *e)
{
    const char *av = json_string_value(json_object_get(obj, "apiVersion"));
    const char *kind = json_string_value(json_object_get(obj, "kind"));
    const char *ns = json_string_value(json_object_get(json_object_get(obj, "metadata"), "namespace"));
    char path[1024];
    if (!kind || kube_path(av, kind, ns, NULL, path, sizeof path) != 0) return KUBE_UNSUPPORTED;
    char *body = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
    kube_rc rc = call(c, "POST", path, "application/json", body, out, e);
    free(body);
    return rc;
}

kube_rc kube_merge_patch(kube_client *c, const char *av, const char *kind, const char *ns, const char *name,
                         const json_t *patch, json_t **out, kube_err *e)
{
    char path[1024];
    if (kube_path(av, kind, ns, name, path, sizeof path) != 0) return KUBE_UNSUPPORTED;
    char *body = json_dumps(patch, JSON_COMPACT);
    kube_rc rc = call(c, "PATCH", path, "application/merge-patch+json", body, out, e);
    free(body);
    return rc;
}

kube_rc kube_ping(kube_client *c, kube_err *e)
{
    json_t *out = NULL;
    kube_rc rc = call(c, "GET", "/api/v1/namespaces?limit=1", NULL, NULL, &out, e);
    json_decref(out);
    return rc;
}
