/* ksim.h — kube-sim, a Kubernetes API test double.
 *
 * kube-sim answers the requests streamplane's libcurl client makes to a
 * kube-apiserver (see /work/shared/reference/kubernetes-api.md), so the
 * control plane can be tested with no cluster. Everything the parts share
 * is declared here: the resource table, the object store, the result of a
 * request, and the modules (apply, selectors, per-kind admission, the
 * simulated controllers, the HTTP front). README.md in this folder says
 * what is simulated and where it differs from the real server. */
#ifndef KSIM_H
#define KSIM_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- resources (resources.c) ---------------------------------------- */

typedef struct kres {
    const char *group;      /* "" for the core group */
    const char *version;
    const char *plural;
    const char *kind;
    bool namespaced;
    bool has_gen;           /* metadata.generation tracks spec changes */
    bool has_status;        /* status is a subresource: main writes keep it */
} kres;

const kres *kres_find(const char *group, const char *version, const char *plural);
const kres *kres_by_kind(const char *kind);
/* "v1" or "apps/v1" into buf. */
const char *kres_api_version(const kres *r, char *buf, size_t cap);
/* "pods" or "statefulsets.apps": the name errors use. */
const char *kres_qualified(const kres *r, char *buf, size_t cap);
extern const kres KRES_NAMESPACES, KRES_PODS, KRES_PVCS, KRES_SERVICES,
    KRES_STATEFULSETS, KRES_JOBS, KRES_NODES, KRES_STORAGECLASSES;

/* ---- the object store (store.c) -------------------------------------- */

typedef struct kobj {
    const kres *res;
    char *ns;               /* "" when cluster-scoped */
    char *name;
    json_t *obj;            /* the full object, kind and apiVersion included */
    long long timer_ms;     /* controller timer (pod ready, resize done…); 0 none */
    json_t *side;           /* controller-private state, never served */
    struct kobj *hnext;     /* chain in the store's (kind, namespace, name) index */
    struct kobj *unext;     /* chain in the store's uid index */
    char uid[40];           /* metadata.uid, fixed at creation */
} kobj;

typedef struct kstore {
    pthread_mutex_t mu;     /* one lock over everything below */
    kobj **v;
    size_t n, cap;
    kobj **index;           /* hash of (kind, namespace, name): lookups stay O(1) at 20k objects */
    size_t nindex;
    kobj **uindex;          /* hash of uid (garbage collection asks for owners by uid) */
    unsigned long long rv;  /* global resourceVersion counter */
    unsigned long long uid_seq;
    /* continue tokens handed out by lists: a small ring */
    struct ktoken { char id[40]; char *ns; char *name; } tokens[256];
    unsigned token_next;
    unsigned long long token_seq;
} kstore;

void store_init(kstore *s);
void store_free(kstore *s);
void store_lock(kstore *s);
void store_unlock(kstore *s);
kobj *store_find(kstore *s, const kres *r, const char *ns, const char *name);
kobj *store_find_uid(kstore *s, const char *uid);
/* Takes obj; stamps uid, resourceVersion, creationTimestamp, generation. */
kobj *store_insert(kstore *s, const kres *r, const char *ns, const char *name, json_t *obj);
/* Takes obj as the new state of o: new resourceVersion, generation bumped
 * when spec changed, identity fields kept. Returns false (and frees obj)
 * when nothing changed, so no-op writes keep the resourceVersion. */
bool store_replace(kstore *s, kobj *o, json_t *obj);
void store_remove(kstore *s, kobj *o);
/* Objects of r (any r when NULL) in ns (any when NULL), sorted by ns/name. */
size_t store_select(kstore *s, const kres *r, const char *ns, kobj ***out);
const char *store_token_new(kstore *s, const char *ns, const char *name);
bool store_token_get(kstore *s, const char *id, const char **ns, const char **name);
void store_tokens_expire(kstore *s);

/* ---- request results (api.c, http.c) --------------------------------- */

typedef struct kresult {
    int code;
    json_t *body;           /* JSON answer, or NULL */
    char *text;             /* text/plain answer (pod logs, healthz) */
    int retry_after;        /* seconds, 0 none */
} kresult;

kresult kr_json(int code, json_t *body);
/* A Status error; details_kind may be NULL (then no details). */
kresult kr_status(int code, const char *reason, const char *details_name,
                  const char *details_group, const char *details_kind, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* 422 Invalid with one cause. */
kresult kr_invalid(const char *kind, const char *name, const char *field, const char *cause_reason,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
kresult kr_not_implemented(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *kr_reason_for(int code);
void kr_free(kresult *r);

/* ---- request (http.c fills it, api.c serves it) ---------------------- */

typedef struct kreq {
    const char *method;
    const char *path;       /* without the query */
    const char *content_type;
    const char *body;
    size_t body_len;
    const char *user_agent;
    /* query parameters of interest */
    const char *label_selector, *field_selector, *limit, *cont;
    const char *field_manager, *force, *watch, *dry_run, *propagation;
    const char *container, *tail_lines;
} kreq;

typedef struct ksim ksim;
kresult api_handle(ksim *k, const kreq *rq);

/* ---- label and field selectors (selector.c) -------------------------- */

typedef struct ksel ksel;
/* NULL and *err set on a parse error. An empty string selects everything. */
ksel *sel_parse(const char *text, char **err);
bool sel_match(const ksel *s, json_t *labels);
void sel_free(ksel *s);
/* fieldSelector: "a.b=c,d!=e" on dotted paths of the object. */
bool fieldsel_valid(const char *text);
bool fieldsel_match(const char *text, json_t *obj);

/* ---- merge patch and server-side apply (apply.c) --------------------- */

/* RFC 7396: a new value, target untouched. */
json_t *merge_patch(json_t *target, json_t *patch);
/* Server-side apply of cfg by manager onto live (NULL to create). On
 * success *out is the new object (managedFields updated) and 0 returned;
 * on conflicts (force false) returns 409 and *conflicts lists them. */
int ssa_apply(json_t *live, json_t *cfg, const char *manager, bool force, const char *now,
              json_t **out, json_t **conflicts);
/* Records an Update-operation manager for the fields that changed from
 * old (NULL for create) to obj; obj's managedFields is rewritten. */
void ssa_record_update(json_t *old, json_t *obj, const char *manager, const char *api_version,
                       const char *now);

/* ---- per-kind rules (kinds.c) ---------------------------------------- */

/* Defaults and validation for a write of obj (old NULL on create). May
 * change obj. code 0 when accepted. */
kresult kind_admit(ksim *k, const kres *r, json_t *old, json_t *obj);

/* ---- simulated controllers (controller.c) ---------------------------- */

void controller_tick(ksim *k);
void controller_seed(ksim *k);       /* nodes, storage classes, default namespace */
bool pod_is_ready(kobj *p);

/* ---- the Kafka behind each cluster (kafka.c, over tests/kafka-sim) ------ */

typedef struct kkafka kkafka;
struct kfs_cluster;
void kafka_init(ksim *k);
void kafka_free(ksim *k);
void kafka_tick(ksim *k);                 /* under the store lock */
kkafka *kafka_find(ksim *k, const char *ns);
struct kfs_cluster *kafka_cluster(kkafka *kk);
/* Stops a broker's process (its pod stays Ready) or lets it start again. */
int kafka_broker_stop(ksim *k, const char *ns, int id, bool stop);
/* A finished Job pod that ran Kafka's reassignment or quorum tool: the
 * effect on the model, the tool's output as the pod's log, *fail if the
 * tool would fail. */
void kafka_job_effect(ksim *k, kobj *pod, bool *fail);

/* ---- the process ------------------------------------------------------ */

typedef struct kfault {
    int latency_ms, status, count, retry_after; /* count < 0: until cleared */
    bool drop, active;
    char method[16], path_contains[256];
} kfault;

typedef struct kfaults {
    pthread_mutex_t mu;
    pthread_cond_t cv;      /* wakes latency sleeps at shutdown */
    kfault rule;
} kfaults;

struct ksim {
    kstore store;
    kfaults faults;
    const char *token;      /* NULL: no auth */
    int pod_ready_ms, pod_terminate_ms, resize_ms, ns_delete_ms;
    unsigned nodeport_next, lb_next, cluster_ip_next;
    unsigned char net[2];   /* addresses handed out are 127.net[0].net[1].x (from the pid) */
    struct kfs_runtime *kafka_rt;
    kkafka *kafka;
    size_t nkafka, kafka_cap;
    int kafka_rejoin_ms;
    char *unpullable;       /* pods with a container image containing this never start
                               (ImagePullBackOff); NULL: none. Under the store lock. */
    atomic_bool stopping;
};

/* ---- the HTTP front (http.c) ----------------------------------------- */

struct MHD_Daemon;
struct sockaddr;
/* cert and key are PEM text, both NULL for plain HTTP. NULL on failure. */
struct MHD_Daemon *http_start(ksim *k, const struct sockaddr *addr, const char *cert_pem, const char *key_pem);
int http_port(struct MHD_Daemon *d);
void http_stop(struct MHD_Daemon *d);

/* ---- small helpers (util.c) ------------------------------------------ */

long long now_ms(void);
void rfc3339_now(char buf[32]);
json_t *jget(json_t *obj, const char *dotted);          /* "metadata.name" */
const char *jstr_at(json_t *obj, const char *dotted);   /* NULL unless a string */
json_t *jmeta(json_t *obj);                             /* metadata, created if absent */
json_t *jobj_at(json_t *obj, const char *dotted);       /* object at path, created */
/* Bytes of a Kubernetes quantity ("10Gi", "500M", "1e3"); -1 when invalid. */
double quantity_parse(const char *q);
uint64_t fnv1a(const char *s);
/* Hash of a JSON value, stable across key order, as 10 hex-ish chars. */
void json_hash(json_t *v, char out[16]);

#endif
