/* status.c — answers, and the Kubernetes `Status` object every error is.
 *
 * The shape is the API server's: kind Status, apiVersion v1, status
 * Failure, message, reason, details {name, group, kind, causes}, code.
 * Clients branch on reason and code, so these must be exact. */
#define _GNU_SOURCE
#include "ksim.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

kresult kr_json(int code, json_t *body)
{
    return (kresult){.code = code, .body = body};
}

const char *kr_reason_for(int code)
{
    switch (code) {
    case 400: return "BadRequest";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "NotFound";
    case 405: return "MethodNotAllowed";
    case 409: return "Conflict";
    case 410: return "Expired";
    case 415: return "UnsupportedMediaType";
    case 422: return "Invalid";
    case 429: return "TooManyRequests";
    case 501: return "NotImplemented";
    case 503: return "ServiceUnavailable";
    case 504: return "Timeout";
    default: return code >= 500 ? "InternalError" : "BadRequest";
    }
}

static json_t *status_body(int code, const char *reason, const char *message, json_t *details)
{
    json_t *b = json_pack("{s:s, s:s, s:{}, s:s, s:s, s:s, s:i}", "kind", "Status", "apiVersion", "v1", "metadata",
                          "status", "Failure", "message", message, "reason", reason, "code", code);
    if (details) json_object_set_new(b, "details", details);
    return b;
}

kresult kr_status(int code, const char *reason, const char *dname, const char *dgroup, const char *dkind,
                  const char *fmt, ...)
{
    char *msg;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0) msg = NULL;
    va_end(ap);
    json_t *details = NULL;
    if (dkind) {
        details = json_object();
        if (dname) json_object_set_new(details, "name", json_string(dname));
        if (dgroup && *dgroup) json_object_set_new(details, "group", json_string(dgroup));
        json_object_set_new(details, "kind", json_string(dkind));
    }
    kresult r = kr_json(code, status_body(code, reason ? reason : kr_reason_for(code), msg ? msg : "", details));
    free(msg);
    return r;
}

kresult kr_invalid(const char *kind, const char *name, const char *field, const char *cause_reason,
                   const char *fmt, ...)
{
    char *cause, *msg;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&cause, fmt, ap) < 0) cause = NULL;
    va_end(ap);
    if (asprintf(&msg, "%s \"%s\" is invalid: %s", kind, name ? name : "", cause ? cause : "") < 0) msg = NULL;
    /* the cause's message leaves out the "field: " the full message has */
    const char *short_msg = cause ? cause : "";
    size_t fl = strlen(field);
    if (strncmp(short_msg, field, fl) == 0 && strncmp(short_msg + fl, ": ", 2) == 0) short_msg += fl + 2;
    json_t *details = json_pack("{s:s, s:s, s:[{s:s, s:s, s:s}]}", "name", name ? name : "", "kind", kind, "causes",
                                "reason", cause_reason, "message", short_msg, "field", field);
    kresult r = kr_json(422, status_body(422, "Invalid", msg ? msg : "", details));
    free(cause);
    free(msg);
    return r;
}

kresult kr_not_implemented(const char *fmt, ...)
{
    char *what;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&what, fmt, ap) < 0) what = NULL;
    va_end(ap);
    kresult r = kr_status(501, "NotImplemented", NULL, NULL, NULL, "kube-sim does not implement %s",
                          what ? what : "this request");
    free(what);
    return r;
}

void kr_free(kresult *r)
{
    json_decref(r->body);
    free(r->text);
    r->body = NULL;
    r->text = NULL;
}
