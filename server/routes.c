/* routes.c — the endpoint table and the matcher. */
#include "routes.h"

#include <stdio.h>
#include <string.h>

static const route ROUTES[] = {
    {"GET", "/healthz", sys_healthz, AUTH_NONE, BODY_NONE, false, false, NULL},
    {"GET", "/readyz", sys_readyz, AUTH_NONE, BODY_NONE, false, false, NULL},
    {"GET", "/metrics", sys_metrics, AUTH_NONE, BODY_NONE, false, false, NULL},
    {"GET", "/openapi.yaml", sys_openapi, AUTH_NONE, BODY_NONE, false, false, NULL},
    {"GET", "/docs", sys_docs, AUTH_NONE, BODY_NONE, false, false, NULL},
    {"GET", "/docs/redoc.standalone.js", sys_docs_asset, AUTH_NONE, BODY_NONE, false, false, NULL},

    {"POST", "/v1/tenants", api_tenant_create, AUTH_ADMIN, BODY_JSON, true, false, NULL},
    {"GET", "/v1/tenants", api_tenant_list, AUTH_ADMIN, BODY_NONE, true, false, NULL},
    {"GET", "/v1/tenants/{tenant_id}", api_tenant_get, AUTH_ANY, BODY_NONE, true, false, NULL},
    {"PATCH", "/v1/tenants/{tenant_id}", api_tenant_patch, AUTH_ADMIN, BODY_MERGE, true, false, NULL},
    {"DELETE", "/v1/tenants/{tenant_id}", api_tenant_delete, AUTH_ADMIN, BODY_NONE, true, false, NULL},

    {"POST", "/v1/tenants/{tenant_id}/api-keys", api_key_create, AUTH_ADMIN, BODY_JSON, true, false, NULL},
    {"GET", "/v1/tenants/{tenant_id}/api-keys", api_key_list, AUTH_ADMIN, BODY_NONE, true, false, NULL},
    {"GET", "/v1/tenants/{tenant_id}/api-keys/{key_id}", api_key_get, AUTH_ADMIN, BODY_NONE, true, false, NULL},
    {"DELETE", "/v1/tenants/{tenant_id}/api-keys/{key_id}", api_key_delete, AUTH_ADMIN, BODY_NONE, true, false, NULL},

    {"POST", "/v1/data-planes", api_plane_create, AUTH_ADMIN, BODY_JSON, true, false, api_plane_create_prepare},
    {"GET", "/v1/data-planes", api_plane_list, AUTH_ADMIN, BODY_NONE, true, false, NULL},
    {"GET", "/v1/data-planes/{data_plane_id}", api_plane_get, AUTH_ADMIN, BODY_NONE, true, false, NULL},
    {"PATCH", "/v1/data-planes/{data_plane_id}", api_plane_patch, AUTH_ADMIN, BODY_MERGE, true, false,
     api_plane_patch_prepare},
    {"DELETE", "/v1/data-planes/{data_plane_id}", api_plane_delete, AUTH_ADMIN, BODY_NONE, true, false, NULL},

    {"POST", "/v1/clusters", api_cluster_create, AUTH_ANY, BODY_JSON, true, false, NULL},
    {"GET", "/v1/clusters", api_cluster_list, AUTH_ANY, BODY_NONE, true, false, NULL},
    {"GET", "/v1/clusters/{cluster_id}", api_cluster_get, AUTH_ANY, BODY_NONE, true, false, NULL},
    {"PUT", "/v1/clusters/{cluster_id}", api_cluster_put, AUTH_ANY, BODY_JSON, true, false, api_cluster_update_prepare},
    {"PATCH", "/v1/clusters/{cluster_id}", api_cluster_patch, AUTH_ANY, BODY_MERGE, true, false,
     api_cluster_update_prepare},
    {"DELETE", "/v1/clusters/{cluster_id}", api_cluster_delete, AUTH_ANY, BODY_NONE, true, false, NULL},
    {"GET", "/v1/clusters/{cluster_id}/manifests", api_cluster_manifests, AUTH_ANY, BODY_NONE, true, false, NULL},
    {"GET", "/v1/clusters/{cluster_id}/health", api_cluster_health, AUTH_ANY, BODY_NONE, true, true, NULL},
    {"POST", "/v1/clusters/{cluster_id}/restart", api_cluster_restart, AUTH_ANY, BODY_JSON, true, false, NULL},
    {"GET", "/v1/clusters/{cluster_id}/balance", api_cluster_balance, AUTH_ANY, BODY_NONE, true, true, NULL},
    {"POST", "/v1/clusters/{cluster_id}/rebalance", api_cluster_rebalance, AUTH_ANY, BODY_JSON, true, true,
     api_cluster_rebalance_prepare},

    {"POST", "/v1/clusters/{cluster_id}/topics", api_topic_create, AUTH_ANY, BODY_JSON, true, false, NULL},
    {"GET", "/v1/clusters/{cluster_id}/topics", api_topic_list, AUTH_ANY, BODY_NONE, true, true, NULL},
    {"GET", "/v1/clusters/{cluster_id}/topics/{topic_name}", api_topic_get, AUTH_ANY, BODY_NONE, true, false, NULL},
    {"PATCH", "/v1/clusters/{cluster_id}/topics/{topic_name}", api_topic_patch, AUTH_ANY, BODY_MERGE, true, false,
     NULL},
    {"DELETE", "/v1/clusters/{cluster_id}/topics/{topic_name}", api_topic_delete, AUTH_ANY, BODY_NONE, true, false,
     NULL},
    {"GET", "/v1/clusters/{cluster_id}/consumer-groups", api_group_list, AUTH_ANY, BODY_NONE, true, true, NULL},
    {"GET", "/v1/clusters/{cluster_id}/consumer-groups/{group_id}", api_group_get, AUTH_ANY, BODY_NONE, true, true,
     NULL},

    {"GET", "/v1/operations", api_op_list, AUTH_ANY, BODY_NONE, true, false, NULL},
    {"GET", "/v1/operations/{operation_id}", api_op_get, AUTH_ANY, BODY_NONE, true, false, NULL},
    {"POST", "/v1/operations/{operation_id}/cancel", api_op_cancel, AUTH_ANY, BODY_JSON, true, false, NULL},

    {"GET", "/v1/usage", api_usage_get, AUTH_ANY, BODY_NONE, true, false, NULL},
};
#define NROUTES ((int)(sizeof ROUTES / sizeof ROUTES[0]))

int routes_count(void) { return NROUTES; }
const route *routes_get(int i) { return i >= 0 && i < NROUTES ? &ROUTES[i] : NULL; }
const char *routes_name(int i) { return ROUTES[i].pattern; }
const char *routes_method(int i) { return ROUTES[i].method; }

/* Matches one pattern against a path split in place; params receive the
 * {…} segments. The path buffer is not modified. */
static bool match(const char *pat, const char *path, char segs[3][ROUTE_SEG_MAX], int *np)
{
    *np = 0;
    while (*pat && *path) {
        if (*pat != '/' || *path != '/') return false;
        pat++; path++;
        const char *pe = strchr(pat, '/'), *se = strchr(path, '/');
        size_t pl = pe ? (size_t)(pe - pat) : strlen(pat);
        size_t sl = se ? (size_t)(se - path) : strlen(path);
        if (pat[0] == '{') {
            if (sl == 0 || sl >= ROUTE_SEG_MAX || *np >= 3) return false;
            memcpy(segs[*np], path, sl);
            segs[*np][sl] = 0;
            (*np)++;
        } else if (pl != sl || strncmp(pat, path, pl) != 0)
            return false;
        pat += pl; path += sl;
    }
    return !*pat && !*path;
}

int routes_match(const char *method, const char *path, char segs[3][ROUTE_SEG_MAX], int *nparams,
                 char *allow, size_t cap)
{
    char tmp[3][ROUTE_SEG_MAX];
    int np, found = -1;
    bool path_ok = false;
    if (allow && cap) allow[0] = 0;
    *nparams = 0;
    for (int i = 0; i < NROUTES; i++) {
        if (!match(ROUTES[i].pattern, path, tmp, &np)) continue;
        path_ok = true;
        if (allow && cap && !strstr(allow, ROUTES[i].method)) {
            if (allow[0]) strncat(allow, ", ", cap - strlen(allow) - 1);
            strncat(allow, ROUTES[i].method, cap - strlen(allow) - 1);
        }
        if (found < 0 && strcmp(ROUTES[i].method, method) == 0) {
            found = i;
            memcpy(segs, tmp, sizeof tmp);
            *nparams = np;
        }
    }
    if (found >= 0) return found;
    return path_ok ? -2 : -1;
}
