/* routes.h — the route table: the one list of every endpoint. The
 * `streamplane routes` command prints it, and the tests compare it with
 * openapi/openapi.yaml both ways. */
#ifndef SP_ROUTES_H
#define SP_ROUTES_H

#include "../api/api.h"

typedef enum { AUTH_NONE = 0, AUTH_ADMIN, AUTH_ANY } auth_need;
typedef enum { BODY_NONE = 0, BODY_JSON, BODY_MERGE } body_kind;

/* Longest path parameter: a Kafka topic name is up to 249 characters. */
#define ROUTE_SEG_MAX 256

typedef struct route {
    const char *method;
    const char *pattern;      /* "/v1/clusters/{cluster_id}" */
    api_handler handler;
    auth_need auth;
    body_kind body;           /* what Content-Type a body may have */
    bool rate_limited;
    bool slow;                /* a read that may wait on a data plane: run off the HTTP thread */
    api_handler prepare;      /* a write's network checks, run before its transaction; an answer ends the request */
} route;

int routes_count(void);
const route *routes_get(int i);
/* Finds the route for method+path and copies its {…} segments into segs.
 * Returns the index, -1 if no path matches, -2 if the path matches but not
 * the method (allow then lists the methods that do). */
int routes_match(const char *method, const char *path, char segs[3][ROUTE_SEG_MAX], int *nparams,
                 char *allow, size_t allowcap);
const char *routes_name(int i);
const char *routes_method(int i);

/* Built-in system endpoints (server/system.c). */
void sys_healthz(api_req *, api_resp *);
void sys_readyz(api_req *, api_resp *);
void sys_metrics(api_req *, api_resp *);
void sys_openapi(api_req *, api_resp *);
void sys_docs(api_req *, api_resp *);
void sys_docs_asset(api_req *, api_resp *);

#endif
