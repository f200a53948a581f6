/* api.h — what a resource handler sees and produces.
 *
 * The server layer (server/http.c) turns an HTTP exchange into an api_req,
 * authenticates it, opens the write transaction, calls one handler, and
 * commits only when the handler answered 2xx; any error status rolls back,
 * so a rejected request never leaves a partial write behind. Handlers never
 * touch sockets, Kubernetes or Kafka: they validate, write desired state
 * through store/, and name the work-queue keys to wake after the commit. */
#ifndef SP_API_H
#define SP_API_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include "../common/util.h"
#include "../store/store.h"
#include "../core/cluster.h"
#include "../core/health.h"
#include "../core/topic.h"

struct work_queue;

typedef enum { P_NONE = 0, P_ADMIN, P_TENANT } principal_kind;

typedef struct principal {
    principal_kind kind;
    char tenant_id[SP_ID_MAX];   /* P_TENANT */
    char key_id[SP_ID_MAX];      /* P_TENANT */
} principal;

/* Process-wide things handlers need; owned by server/. */
typedef struct api_env {
    store_t *store;
    unsigned char master_key[32];
    struct work_queue *queue;
    const char *openapi_path;     /* served by /openapi.yaml */
    const char *docs_asset;       /* redoc bundle served under /docs */
    /* Checks a data plane's API server can be reached with its credentials
     * (workers/kube/probe.c: the plane's spec with its secrets in); 0 when
     * it answers, -2 when the settings are refused (err: why), -1 when it
     * cannot be reached. NULL skips the check. */
    int (*probe_plane)(const json_t *plane, int timeout_ms, char *err, size_t errlen);
    /* The Kubernetes objects of a cluster, rendered with the same options
     * the workers apply them with (server/ wires the renderer). */
    json_t *(*render)(const void *ctx, const cluster_spec *c, const json_t *plane_spec, char *err, size_t errlen);
    const void *render_ctx;
    /* A live reading of a cluster's Kafka health (server/ wires the
     * workers' librdkafka reader): the reading, or NULL with *why. NULL:
     * the endpoint answers from the last stored reading only. */
    json_t *(*health_read)(void *ctx, const json_t *status, const json_t *plane_spec, int brokers,
                           int timeout_ms, health_verdict *v, const char **why);
    void *health_ctx;
    /* The live partition layout and balance of a cluster (server/ wires
     * workers/balance.c's balance_read_live): cluster as GET answers it,
     * plane the data plane's spec with its credentials in, ask {"brokers",
     * "plan", "max_moves_per_batch"}. The answer, or NULL with why
     * (*no_route: streamplane has no way to this Kafka at all). NULL:
     * the balance endpoints answer 503. */
    json_t *(*layout_read)(void *ctx, const json_t *cluster, const json_t *plane, const json_t *ask, int timeout_ms,
                           bool *no_route, char *why, size_t whylen);
    void *layout_ctx;
    /* A live read of a cluster's topics or consumer groups (server/ wires
     * workers/topics.c): the reading, or NULL with *rc and err. NULL: the
     * endpoints answer that this server has no Kafka client. */
    json_t *(*kafka_read)(void *ctx, kread_kind what, const char *cluster_id, const json_t *status,
                          const json_t *plane_spec, const char *group, int timeout_ms, kread_rc *rc, char *err,
                          size_t errlen);
    void *kafka_read_ctx;
    struct kafka_pool *kafka;     /* for /metrics (server/system.c) */
    /* At most live_reads_max live Kafka readings run at once (a
     * server-owned counter); beyond that the endpoint answers the last
     * reading at once. (They run off the HTTP threads: routes' `slow`.) */
    int live_reads_max;
    int *live_reads_busy;
} api_env;

#define API_MAX_QUERY 16
#define API_MAX_WAKE 4

typedef struct api_req {
    const api_env *env;
    const char *method;
    const char *path;
    const char *params[3];        /* path parameters, in order */
    principal who;
    json_t *body;                 /* parsed JSON body, NULL when empty */
    const char *if_match;         /* If-Match header or NULL */
    const char *accept;           /* Accept header or NULL */
    int nquery;
    struct { const char *k, *v; } query[API_MAX_QUERY];
    int nwake;
    char wake[API_MAX_WAKE][64];  /* work-queue keys to wake after commit */
    json_t *prepared;             /* what a route's prepare step found (owned), or NULL */
} api_req;

typedef struct api_resp {
    int status;
    json_t *body;                 /* JSON body (owned) */
    const char *content_type;     /* NULL: application/json or problem+json */
    char *raw;                    /* non-JSON body (owned unless raw_static) */
    size_t raw_len;
    bool raw_static;
    char location[320];            /* a topic's path holds a name of up to 249 characters */
    char op_location[256];
    char etag[64];
    int retry_after;              /* seconds, when > 0 */
    const char *secret_field;     /* a member of body that is a secret shown once:
                                     never stored for an Idempotency-Key replay */
} api_resp;

typedef void (*api_handler)(api_req *r, api_resp *w);

/* ---- helpers every handler uses (api/common.c) ---- */
const char *api_query(const api_req *r, const char *key);
void api_wake(api_req *r, const char *kind, const char *id);
void api_json(api_resp *w, int status, json_t *body);  /* steals body */

/* problem+json: type is a short slug, e.g. "not-found". */
void api_problem(api_resp *w, int status, const char *slug, const char *detail, ...)
    __attribute__((format(printf, 4, 5)));
/* Field errors: collect, then api_fail_fields() answers 422 if any. */
typedef struct verrs { json_t *list; } verrs;
void verr(verrs *v, const char *field, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
bool verr_any(const verrs *v);
void api_fail_fields(api_resp *w, verrs *v, const char *detail);  /* consumes v */
void api_store_error(api_resp *w, int rc, const char *what);
void api_not_found(api_resp *w, const char *what, const char *id);
bool api_require_body(const api_req *r, api_resp *w);

/* Validation primitives (return false and record an error on failure). */
bool v_dns_label(verrs *v, const char *field, const json_t *j, size_t maxlen, char *out, size_t cap);
bool v_int_range(verrs *v, const char *field, const json_t *j, long long lo, long long hi, long long *out);
/* A multi-line string: like v_string but tabs and line breaks are allowed. */
bool v_text(verrs *v, const char *field, const json_t *j, size_t maxlen, const char **out);
bool v_bool(verrs *v, const char *field, const json_t *j, bool *out);
bool v_string(verrs *v, const char *field, const json_t *j, size_t maxlen, const char **out);
bool v_enum(verrs *v, const char *field, const json_t *j, const char *const *allowed, const char **out);
/* Reports every key of obj not in allowed[] as an unknown field. */
void v_known_keys(verrs *v, const char *prefix, const json_t *obj, const char *const *allowed);

/* json_equal that treats two absent (NULL) values as equal. */
bool json_same(const json_t *a, const json_t *b);

/* RFC 7396 JSON Merge Patch: returns a new value (target is not modified). */
json_t *json_merge_patch(const json_t *target, const json_t *patch);

/* Pagination (AIP-158). Parses page_size/page_token; the token is bound to a
 * fingerprint of the list's filters. Returns false after answering 400. */
typedef struct page { int size; int64_t after; char fp[17]; } page;
bool api_page_begin(const api_req *r, api_resp *w, const char *filters, page *p);
/* Lists read page size + 1 rows: when the extra row came back there is a
 * next page, and its token starts after the last row shown (last_seq). */
void api_page_end(const page *p, json_t *list, int n, int64_t last_seq);
#define API_PAGE_END(p, out, n, rows) \
    api_page_end(&(p), (out), (n), (n) > (p).size ? (rows)[(p).size - 1].seq : 0)

/* Optimistic concurrency: the version the caller expects (0 = any) from
 * If-Match or body.resource_version; false after answering 400/412. */
bool api_expected_version(const api_req *r, api_resp *w, int64_t current, int64_t *expect);
void api_set_etag(api_resp *w, int64_t resource_version);
/* Common server-owned fields of a versioned resource. */
void api_res_meta(json_t *o, const store_res *r);
/* Removes server-owned fields a client may echo back in PUT/PATCH. */
void api_strip_server_fields(json_t *body, const char *const *extra);

/* Authorization helpers. */
bool api_is_admin(const api_req *r);
/* The tenant a request acts for: the caller's own, or for the operator the
 * given one. NULL for the operator with no tenant (all tenants). */
const char *api_scope(const api_req *r);
/* The tenant a list is limited to: the caller's own, or for the operator
 * the ?tenant_id= filter (NULL: every tenant). */
const char *api_list_scope(const api_req *r);

/* Resource rules other files share. */
long long tenant_quota(const json_t *tenant_spec, const char *name);   /* effective quota */
/* Undoing a change may grow a cluster again (the cancel of a scale-in):
 * true when the tenant's quota allows going back to spec_before; false
 * after answering (quota exceeded, store error). */
bool cluster_revert_fits(api_req *rq, api_resp *w, const char *cluster_id, const json_t *spec_before);

/* What a tenant sees of an answer (api/tenant_view.c): conditions and
 * steps about the data plane in the tenant's terms, URLs and absolute paths
 * replaced, server paths dropped. Modifies body in place. */
void api_tenant_view(json_t *body);
char *api_tenant_text(const char *s);     /* one string, malloc'd */

/* ---- handlers (one file per resource) ---- */
void api_tenant_create(api_req *, api_resp *);
void api_tenant_list(api_req *, api_resp *);
void api_tenant_get(api_req *, api_resp *);
void api_tenant_patch(api_req *, api_resp *);
void api_tenant_delete(api_req *, api_resp *);

void api_key_create(api_req *, api_resp *);
void api_key_list(api_req *, api_resp *);
void api_key_get(api_req *, api_resp *);
void api_key_delete(api_req *, api_resp *);
/* Authenticates a tenant bearer token "key-….<secret>"; ST_OK fills who. */
int api_key_authenticate(store_t *st, const char *token, principal *who);
/* Token helpers, exposed for tests. */
int api_key_hash(const unsigned char salt[16], const char *secret, unsigned char out[32]);

/* Before the write transaction: validation and the check that the API
 * server answers (a network call must not hold the single writer). */
void api_plane_create_prepare(api_req *, api_resp *);
void api_plane_patch_prepare(api_req *, api_resp *);
void api_plane_create(api_req *, api_resp *);
void api_plane_list(api_req *, api_resp *);
void api_plane_get(api_req *, api_resp *);
void api_plane_patch(api_req *, api_resp *);
void api_plane_delete(api_req *, api_resp *);

void api_cluster_create(api_req *, api_resp *);
void api_cluster_list(api_req *, api_resp *);
void api_cluster_get(api_req *, api_resp *);
void api_cluster_put(api_req *, api_resp *);
void api_cluster_patch(api_req *, api_resp *);
void api_cluster_delete(api_req *, api_resp *);
void api_cluster_manifests(api_req *, api_resp *);
void api_cluster_health(api_req *, api_resp *);
void api_cluster_restart(api_req *, api_resp *);
/* api/balance.c: the partition balance and rebalancing; the scale-in check */
void api_cluster_balance(api_req *, api_resp *);
void api_cluster_rebalance_prepare(api_req *, api_resp *);
void api_cluster_rebalance(api_req *, api_resp *);
void api_cluster_update_prepare(api_req *, api_resp *);
/* A data plane's spec with its sealed credentials opened into
 * "kubernetes" (new reference), or NULL when they cannot be opened. */
json_t *api_plane_spec_with_secrets(const api_env *env, const store_res *dp);

/* Declared topics (api/topics.c) and consumer groups (api/groups.c). */
void api_topic_create(api_req *, api_resp *);
void api_topic_list(api_req *, api_resp *);
void api_topic_get(api_req *, api_resp *);
void api_topic_patch(api_req *, api_resp *);
void api_topic_delete(api_req *, api_resp *);
void api_group_list(api_req *, api_resp *);
void api_group_get(api_req *, api_resp *);
/* ?timeout_ms= of a live read (100..5000, default 2000); false after
 * answering 400. */
bool api_live_timeout(const api_req *rq, api_resp *w, long *ms);
/* The highest replication factor among a cluster's declared topics (0:
 * none), for the check that a cluster keeps enough brokers; -1 after
 * answering a store error. */
long long topic_max_rf(api_req *rq, api_resp *w, const char *cluster_id);

void api_op_list(api_req *, api_resp *);
void api_op_get(api_req *, api_resp *);
void api_op_cancel(api_req *, api_resp *);

void api_usage_get(api_req *, api_resp *);

#endif
