/* harness.h — starts the real streamplane binary on a free loopback port
 * with a temporary data directory, and speaks HTTP to it with libcurl.
 * Every exchange is appended to build/e2e-exchanges.jsonl, which
 * tests/openapi/validate-responses.mjs checks against openapi.yaml. */
#ifndef SP_HARNESS_H
#define SP_HARNESS_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#define ADMIN "test-admin-token-0123456789"

typedef struct spsrv {
    pid_t pid;
    int port;
    char dir[128];
    char base[64];
    bool own_dir;
} spsrv;

typedef struct spresp {
    long status;
    char *body;
    size_t len;
    json_t *json;              /* parsed body or NULL */
    char ctype[128];
    char etag[64];
    char location[256];
    char op_location[256];
    char retry_after[16];
    char request_id[96];
    char allow[64];
    char ratelimit_remaining[16];
    char replayed[8];
} spresp;

/* Starts a server; dir NULL makes a fresh temporary one. extra: NULL-ended
 * list of additional flags. */
void srv_start(spsrv *s, const char *dir, const char *const *extra);
/* Sends sig (SIGTERM, SIGKILL) and waits; returns the exit status or -signal. */
int srv_stop(spsrv *s, int sig);
void srv_cleanup(spsrv *s);      /* removes the temporary directory */

/* One request. headers: NULL-ended list of "Name: value" lines (may be NULL);
 * body may be NULL; body_len 0 means strlen(body). */
spresp req(spsrv *s, const char *method, const char *path, const char *token,
           const char *body, size_t body_len, const char *const *headers);
void resp_free(spresp *r);

/* Convenience: JSON body with Content-Type application/json. */
spresp jreq(spsrv *s, const char *method, const char *path, const char *token, const char *json);
const char *jstr(const spresp *r, const char *key);        /* top-level string field */
const char *jpath(json_t *j, const char *dotted);           /* "status.phase" */
/* Asserts a problem+json answer with this status. */
void assert_problem(const spresp *r, long status);

/* kube-sim, the Kubernetes API test double, on a free loopback port. */
#define KSIM_TOKEN "kube-sim-token-0123456789"
typedef struct ksim { pid_t pid; int port; char url[64]; char dir[64]; } ksim;
void ksim_start(ksim *k);
/* With TLS from these PEM files (https:// url). */
void ksim_start_tls(ksim *k, const char *cert, const char *key);
/* Stops it (exit and sanitizer output checked); ksim_start again restarts
 * it on the same port, empty, like an API server that lost its etcd. */
void ksim_stop(ksim *k);
void ksim_cleanup(ksim *k);   /* stop and remove its directory */
/* A kube-sim test-control call (path "/_sim/…", json may be NULL) with
 * curl; returns the HTTP status (0 when curl could not run). */
int ksim_call(const ksim *k, const char *method, const char *path, const char *json);
/* A data plane body reaching k with a token ({"name":name, ..., "kubernetes":{...}}). */
void ksim_plane_body(const ksim *k, const char *name, char *out, size_t cap);

/* Creates a tenant and an API key; returns the key secret (static buffer per call site). */
void make_tenant(spsrv *s, const char *name, const char *quotas_json, char tenant_id[64], char secret[128]);

#endif
