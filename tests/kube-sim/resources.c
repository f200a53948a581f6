/* resources.c — the resource types kube-sim serves, with the facts about
 * each that change how the API answers (group, kind, scope, whether spec
 * changes bump generation, whether status is a subresource). A resource
 * not in this table answers 501, never a made-up success. */
#include "ksim.h"

#include <stdio.h>
#include <string.h>

#define R(var, g, v, pl, k, nsd, gen, st) const kres var = {g, v, pl, k, nsd, gen, st}
R(KRES_NAMESPACES, "", "v1", "namespaces", "Namespace", false, false, true);
R(KRES_NODES, "", "v1", "nodes", "Node", false, false, true);
R(KRES_PODS, "", "v1", "pods", "Pod", true, true, true);
R(KRES_PVCS, "", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", true, false, true);
R(KRES_SERVICES, "", "v1", "services", "Service", true, false, true);
R(KRES_STATEFULSETS, "apps", "v1", "statefulsets", "StatefulSet", true, true, true);
R(KRES_JOBS, "batch", "v1", "jobs", "Job", true, true, true);
R(KRES_STORAGECLASSES, "storage.k8s.io", "v1", "storageclasses", "StorageClass", false, false, false);
static R(CONFIGMAPS, "", "v1", "configmaps", "ConfigMap", true, false, false);
static R(SECRETS, "", "v1", "secrets", "Secret", true, false, false);
static R(SERVICEACCOUNTS, "", "v1", "serviceaccounts", "ServiceAccount", true, false, false);
static R(PDBS, "policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", true, true, true);
static R(NETPOLS, "networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", true, true, false);
static R(LEASES, "coordination.k8s.io", "v1", "leases", "Lease", true, false, false);
static R(ROLES, "rbac.authorization.k8s.io", "v1", "roles", "Role", true, false, false);
static R(ROLEBINDINGS, "rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", true, false, false);
static R(CLUSTERROLES, "rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", false, false, false);
static R(CLUSTERROLEBINDINGS, "rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", false, false, false);
#undef R

static const kres *const all[] = {
    &KRES_NAMESPACES, &KRES_NODES, &KRES_PODS, &KRES_PVCS, &KRES_SERVICES, &KRES_STATEFULSETS,
    &KRES_JOBS, &KRES_STORAGECLASSES, &CONFIGMAPS, &SECRETS, &SERVICEACCOUNTS, &PDBS, &NETPOLS, &LEASES,
    &ROLES, &ROLEBINDINGS, &CLUSTERROLES, &CLUSTERROLEBINDINGS,
};

const kres *kres_find(const char *group, const char *version, const char *plural)
{
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (strcmp(all[i]->group, group) == 0 && strcmp(all[i]->version, version) == 0 &&
            strcmp(all[i]->plural, plural) == 0)
            return all[i];
    return NULL;
}

const kres *kres_by_kind(const char *kind)
{
    for (size_t i = 0; kind && i < sizeof all / sizeof all[0]; i++)
        if (strcmp(all[i]->kind, kind) == 0) return all[i];
    return NULL;
}

const char *kres_api_version(const kres *r, char *buf, size_t cap)
{
    if (r->group[0]) snprintf(buf, cap, "%s/%s", r->group, r->version);
    else snprintf(buf, cap, "%s", r->version);
    return buf;
}

const char *kres_qualified(const kres *r, char *buf, size_t cap)
{
    if (r->group[0]) snprintf(buf, cap, "%s.%s", r->plural, r->group);
    else snprintf(buf, cap, "%s", r->plural);
    return buf;
}
