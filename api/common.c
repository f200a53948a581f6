/* common.c — problem+json, validation primitives, merge patch, pagination
 * and concurrency checks shared by every resource handler. */
#define _GNU_SOURCE
#include "api.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *api_query(const api_req *r, const char *key)
{
    for (int i = 0; i < r->nquery; i++)
        if (strcmp(r->query[i].k, key) == 0) return r->query[i].v;
    return NULL;
}

void api_wake(api_req *r, const char *kind, const char *id)
{
    if (r->nwake >= API_MAX_WAKE) return;
    snprintf(r->wake[r->nwake++], sizeof r->wake[0], "%s/%s", kind, id);
}

void api_json(api_resp *w, int status, json_t *body)
{
    json_decref(w->body);
    w->status = status;
    w->body = body;
}

static const char *status_title(int status)
{
    switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 409: return "Conflict";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Error";
    }
}

static void problem_v(api_resp *w, int status, const char *slug, json_t *errors,
                      const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));
static void problem_v(api_resp *w, int status, const char *slug, json_t *errors,
                      const char *fmt, va_list ap)
{
    char detail[1024];
    vsnprintf(detail, sizeof detail, fmt, ap);
    char type[160];
    snprintf(type, sizeof type, "https://streamplane.dev/problems/%s", slug);
    json_t *p = json_pack("{s:s, s:s, s:i, s:s}", "type", type, "title", status_title(status),
                          "status", status, "detail", detail);
    json_object_set_new(p, "errors", errors ? errors : json_array());
    api_json(w, status, p);
}

void api_problem(api_resp *w, int status, const char *slug, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    problem_v(w, status, slug, NULL, fmt, ap);
    va_end(ap);
}

void verr(verrs *v, const char *field, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!v->list) v->list = json_array();
    json_array_append_new(v->list, json_pack("{s:s, s:s}", "field", field, "message", msg));
}

bool verr_any(const verrs *v) { return v->list && json_array_size(v->list) > 0; }

static void fail_fields(api_resp *w, json_t *list, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail_fields(api_resp *w, json_t *list, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    problem_v(w, 422, "validation", list, fmt, ap);
    va_end(ap);
}

void api_fail_fields(api_resp *w, verrs *v, const char *detail)
{
    json_t *list = v->list ? v->list : json_array();
    v->list = NULL;
    if (detail) { fail_fields(w, list, "%s", detail); return; }
    /* detail: the first error, plus a count of the rest */
    json_t *first = json_array_get(list, 0);
    size_t n = json_array_size(list);
    const char *f = first ? json_string_value(json_object_get(first, "field")) : "";
    const char *m = first ? json_string_value(json_object_get(first, "message")) : "invalid request";
    if (n > 1) fail_fields(w, list, "%s: %s (and %zu more)", f, m, n - 1);
    else fail_fields(w, list, "%s: %s", f, m);
}

void api_not_found(api_resp *w, const char *what, const char *id)
{
    api_problem(w, 404, "not-found", "%s %s not found", what, id);
}

void api_store_error(api_resp *w, int rc, const char *what)
{
    if (rc == ST_BUSY)
        { api_problem(w, 503, "store-busy", "the store is busy; retry %s", what); w->retry_after = 1; }
    else if (rc == ST_CONSTRAINT)
        api_problem(w, 409, "constraint-failed", "%s failed: %s; read again and retry", what, store_strerror(rc));
    else
        api_problem(w, 500, "store-error", "the store failed while %s", what);
}

bool api_require_body(const api_req *r, api_resp *w)
{
    if (!r->body) { api_problem(w, 400, "body-required", "this request needs a JSON body"); return false; }
    if (!json_is_object(r->body)) {
        api_problem(w, 400, "body-not-object", "the JSON body must be an object");
        return false;
    }
    return true;
}

/* ---- validation primitives ---------------------------------------------- */

static bool string_check(verrs *v, const char *field, const json_t *j, size_t maxlen,
                         const char **out, bool text)
{
    if (!json_is_string(j)) { verr(v, field, "must be a string"); return false; }
    size_t n = json_string_length(j);
    const char *s = json_string_value(j);
    if (n > maxlen) { verr(v, field, "must be at most %zu characters", maxlen); return false; }
    if (!(text ? sp_utf8_text(s, n) : sp_utf8_clean(s, n))) {
        verr(v, field, "must not contain control characters or NUL");
        return false;
    }
    if (out) *out = s;
    return true;
}

bool v_string(verrs *v, const char *field, const json_t *j, size_t maxlen, const char **out)
{
    return string_check(v, field, j, maxlen, out, false);
}

bool v_text(verrs *v, const char *field, const json_t *j, size_t maxlen, const char **out)
{
    return string_check(v, field, j, maxlen, out, true);
}

bool v_dns_label(verrs *v, const char *field, const json_t *j, size_t maxlen, char *out, size_t cap)
{
    if (!json_is_string(j)) { verr(v, field, "must be a string"); return false; }
    const char *s = json_string_value(j);
    size_t n = json_string_length(j);
    bool ok = n >= 1 && n <= maxlen && strlen(s) == n && s[0] >= 'a' && s[0] <= 'z' && s[n - 1] != '-';
    for (size_t i = 0; ok && i < n; i++)
        ok = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-';
    if (!ok) {
        verr(v, field, "must be a DNS-1035 label: 1-%zu lowercase letters, digits or '-', "
                       "starting with a letter and not ending with '-'", maxlen);
        return false;
    }
    if (out) snprintf(out, cap, "%s", s);
    return true;
}

bool v_int_range(verrs *v, const char *field, const json_t *j, long long lo, long long hi, long long *out)
{
    if (!json_is_integer(j)) { verr(v, field, "must be an integer"); return false; }
    long long x = json_integer_value(j);
    if (x < lo || x > hi) { verr(v, field, "must be between %lld and %lld", lo, hi); return false; }
    if (out) *out = x;
    return true;
}

bool v_bool(verrs *v, const char *field, const json_t *j, bool *out)
{
    if (!json_is_boolean(j)) { verr(v, field, "must be a boolean"); return false; }
    if (out) *out = json_is_true(j);
    return true;
}

bool v_enum(verrs *v, const char *field, const json_t *j, const char *const *allowed, const char **out)
{
    if (!json_is_string(j)) { verr(v, field, "must be a string"); return false; }
    const char *s = json_string_value(j);
    for (int i = 0; allowed[i]; i++)
        if (strcmp(s, allowed[i]) == 0) { if (out) *out = allowed[i]; return true; }
    char list[256] = "";
    for (int i = 0; allowed[i]; i++) {
        strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
        strncat(list, allowed[i], sizeof list - strlen(list) - 1);
    }
    verr(v, field, "must be one of: %s", list);
    return false;
}

void v_known_keys(verrs *v, const char *prefix, const json_t *obj, const char *const *allowed)
{
    const char *k;
    json_t *val;
    json_object_foreach((json_t *)obj, k, val) {
        bool ok = false;
        for (int i = 0; allowed[i] && !ok; i++) ok = strcmp(k, allowed[i]) == 0;
        if (!ok) {
            char f[256];
            snprintf(f, sizeof f, "%s%s%.200s", prefix ? prefix : "", prefix && *prefix ? "." : "", k);
            verr(v, f, "unknown field");
        }
    }
}

bool json_same(const json_t *a, const json_t *b)
{
    if (!a || !b) return a == b;
    return json_equal(a, b);
}

/* ---- RFC 7396 ----------------------------------------------------------- */

json_t *json_merge_patch(const json_t *target, const json_t *patch)
{
    if (!json_is_object(patch)) return json_deep_copy(patch);
    json_t *out = json_is_object(target) ? json_deep_copy(target) : json_object();
    const char *k;
    json_t *pv;
    json_object_foreach((json_t *)patch, k, pv) {
        if (json_is_null(pv)) { json_object_del(out, k); continue; }
        json_t *merged = json_merge_patch(json_object_get(out, k), pv);
        json_object_set_new(out, k, merged);
    }
    return out;
}

/* ---- pagination --------------------------------------------------------- */

static void fingerprint(const char *filters, char out[17])
{
    unsigned char h[32];
    sp_sha256(filters ? filters : "", filters ? strlen(filters) : 0, h);
    sp_hex(h, 8, out);
}

bool api_page_begin(const api_req *r, api_resp *w, const char *filters, page *p)
{
    p->size = 50;
    p->after = 0;
    fingerprint(filters, p->fp);
    const char *ps = api_query(r, "page_size");
    if (ps) {
        char *end;
        long n = strtol(ps, &end, 10);
        if (!*ps || *end || n < 1 || n > 500) {
            api_problem(w, 400, "bad-page-size", "page_size must be an integer from 1 to 500");
            return false;
        }
        p->size = (int)n;
    }
    const char *tok = api_query(r, "page_token");
    if (tok && *tok) {
        unsigned char raw[96];
        long n = strlen(tok) < 120 ? sp_b64url_decode(tok, raw, sizeof raw - 1) : -1;
        long long seq = 0;
        char fp[17] = "";
        int used = 0;
        if (n > 0) raw[n] = 0;
        if (n <= 0 || sscanf((char *)raw, "v1:%lld:%16[0-9a-f]%n", &seq, fp, &used) != 2 ||
            used != n || seq < 0) {
            api_problem(w, 400, "bad-page-token", "page_token is not a token this server issued");
            return false;
        }
        if (strcmp(fp, p->fp) != 0) {
            api_problem(w, 400, "bad-page-token",
                        "page_token was issued for a list with other filters; repeat the same filters");
            return false;
        }
        p->after = seq;
    }
    return true;
}

void api_page_end(const page *p, json_t *list, int n, int64_t last_seq)
{
    if (n <= p->size) return;
    char raw[64], tok[96];
    int len = snprintf(raw, sizeof raw, "v1:%lld:%s", (long long)last_seq, p->fp);
    sp_b64url_encode((unsigned char *)raw, (size_t)len, tok);
    json_object_set_new(list, "next_page_token", json_string(tok));
}

/* ---- concurrency -------------------------------------------------------- */

void api_set_etag(api_resp *w, int64_t rv)
{
    snprintf(w->etag, sizeof w->etag, "\"%lld\"", (long long)rv);
}

bool api_expected_version(const api_req *r, api_resp *w, int64_t current, int64_t *expect)
{
    *expect = 0;
    if (r->if_match) {
        const char *m = r->if_match;
        while (*m == ' ') m++;
        if (strcmp(m, "*") != 0) {
            if (strncmp(m, "W/", 2) == 0) m += 2;
            char *end;
            long long v = (*m == '"') ? strtoll(m + 1, &end, 10) : -1;
            if (v <= 0 || *end != '"' || end[1] != 0) {
                api_problem(w, 412, "precondition-failed",
                            "If-Match must be an ETag this server issued, such as \"%lld\"", (long long)current);
                return false;
            }
            if (v != current) {
                api_problem(w, 412, "precondition-failed",
                            "the resource changed: If-Match \"%lld\" but the current version is \"%lld\"",
                            v, (long long)current);
                return false;
            }
            *expect = v;
        }
    }
    json_t *rv = r->body ? json_object_get(r->body, "resource_version") : NULL;
    if (rv) {
        const char *s = json_string_value(rv);
        char *end;
        long long v = s ? strtoll(s, &end, 10) : -1;
        if (!s || !*s || *end || v <= 0) {
            verrs ve = {0};
            verr(&ve, "resource_version", "must be the resource_version string from a GET");
            api_fail_fields(w, &ve, NULL);
            return false;
        }
        if (v != current) {
            api_problem(w, 412, "precondition-failed",
                        "the resource changed: resource_version \"%lld\" but the current version is \"%lld\"",
                        v, (long long)current);
            return false;
        }
        *expect = v;
    }
    return true;
}

void api_res_meta(json_t *o, const store_res *r)
{
    char rv[24];
    snprintf(rv, sizeof rv, "%lld", (long long)r->resource_version);
    json_object_set_new(o, "resource_version", json_string(rv));
    json_object_set_new(o, "created_at", json_string(r->created_at));
    json_object_set_new(o, "updated_at", json_string(r->updated_at));
}

void api_strip_server_fields(json_t *body, const char *const *extra)
{
    static const char *const common[] = {"id", "status", "resource_version", "created_at",
                                         "updated_at", "generation", NULL};
    for (int i = 0; common[i]; i++) json_object_del(body, common[i]);
    for (int i = 0; extra && extra[i]; i++) json_object_del(body, extra[i]);
}

bool api_is_admin(const api_req *r) { return r->who.kind == P_ADMIN; }

const char *api_scope(const api_req *r)
{
    if (r->who.kind == P_TENANT) return r->who.tenant_id;
    return NULL;
}

const char *api_list_scope(const api_req *r)
{
    const char *scope = api_scope(r);
    return scope ? scope : api_query(r, "tenant_id");
}
