/* client.h — a Kubernetes REST client over libcurl.
 *
 * One kube_client per thread (it owns one curl handle, so connections are
 * reused). Every call has a deadline; 429 and 5xx answers and dropped
 * connections are retried with capped exponential backoff (honouring
 * Retry-After) until the deadline; everything else comes back at once as a
 * typed result with the API server's own Status.message. */
#ifndef SP_KUBE_CLIENT_H
#define SP_KUBE_CLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include "kubeconfig.h"

typedef enum {
    KUBE_OK = 0,
    KUBE_NOT_FOUND,      /* 404 */
    KUBE_CONFLICT,       /* 409: AlreadyExists or a stale resourceVersion */
    KUBE_GONE,           /* 410: expired continue token or watch */
    KUBE_INVALID,        /* 400, 422 */
    KUBE_UNAUTHORIZED,   /* 401 */
    KUBE_FORBIDDEN,      /* 403 */
    KUBE_UNAVAILABLE,    /* 429 / 5xx still failing at the deadline */
    KUBE_TIMEOUT,        /* no answer before the deadline */
    KUBE_CONNECT,        /* cannot connect / TLS failure */
    KUBE_UNSUPPORTED,    /* 501, or a kind this client does not know */
    KUBE_ERROR,          /* anything else */
} kube_rc;

typedef struct kube_err {
    int http;            /* HTTP status, 0 when none */
    char reason[40];     /* Status.reason, e.g. "AlreadyExists" */
    char message[512];   /* Status.message or the transport's error */
} kube_err;

/* An error answer's body (a Kubernetes Status, or anything else) into e:
 * Status.reason and Status.message, else only the HTTP status (never the
 * body itself). Exposed for the fuzz harness. */
void kube_err_from_body(kube_err *e, long code, const char *body);

typedef struct kube_client kube_client;

/* timeout_ms bounds each call, retries included. */
kube_client *kube_client_new(const kube_cfg *cfg, int timeout_ms);
void kube_client_free(kube_client *c);
const char *kube_rc_name(kube_rc rc);
/* A sentence for a code, and whether trying again later can succeed (the
 * API server could not be reached or answered 429/5xx); the workers count
 * transient failures against the data plane's circuit and retry with
 * backoff, and report permanent ones (credentials, forbidden, invalid) as
 * such. */
const char *kube_strerror(kube_rc rc);
bool kube_transient(kube_rc rc);

/* Server-side apply of a whole object (fieldManager=streamplane, force). */
kube_rc kube_apply(kube_client *c, const json_t *obj, json_t **out, kube_err *e);
kube_rc kube_get(kube_client *c, const char *api_version, const char *kind, const char *ns,
                 const char *name, json_t **out, kube_err *e);
/* All pages (limit/continue) of a list; *items is an array. ns NULL: all namespaces. */
kube_rc kube_list(kube_client *c, const char *api_version, const char *kind, const char *ns,
                  const char *label_selector, json_t **items, kube_err *e);
/* propagation: "Foreground", "Background", "Orphan" or NULL. */
kube_rc kube_delete(kube_client *c, const char *api_version, const char *kind, const char *ns,
                    const char *name, const char *propagation, kube_err *e);
/* Deletes the object only while it is this incarnation (preconditions.uid):
 * a newer object of the same name (a recreated pod) answers KUBE_CONFLICT. */
kube_rc kube_delete_uid(kube_client *c, const char *api_version, const char *kind, const char *ns,
                        const char *name, const char *uid, kube_err *e);
/* POST of a new object (KUBE_CONFLICT when the name is taken). */
kube_rc kube_create(kube_client *c, const json_t *obj, json_t **out, kube_err *e);
/* A pod's log (its only container), the last tail_lines lines (0: all);
 * *text malloc'd. */
kube_rc kube_pod_log(kube_client *c, const char *ns, const char *pod, int tail_lines, char **text, kube_err *e);
kube_rc kube_merge_patch(kube_client *c, const char *api_version, const char *kind, const char *ns,
                         const char *name, const json_t *patch, json_t **out, kube_err *e);
/* Can we reach the API server with these credentials? (lists one namespace) */
kube_rc kube_ping(kube_client *c, kube_err *e);

/* The REST path of an object, e.g. /apis/apps/v1/namespaces/ns/statefulsets/name.
 * name NULL gives the collection; ns NULL for cluster-wide. -1 if the kind is unknown. */
int kube_path(const char *api_version, const char *kind, const char *ns, const char *name,
              char *out, size_t cap);

#endif
