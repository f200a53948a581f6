/* tenants.c — tenants and their quotas (operator only; a tenant may read
 * itself). Quotas the client leaves out are not written into its object:
 * the values in force are shown in status.effective_quotas. */
#define _GNU_SOURCE
#include "api.h"

#include <stdio.h>
#include <string.h>

static const struct { const char *name; long long def, max; } QUOTAS[] = {
    {"max_clusters", 10, 10000},
    {"max_brokers", 30, 100000},
    {"max_storage_gib", 10000, 100000000},
    {"max_topics", 1000, 1000000},
    {"max_partitions", 10000, 10000000},
};
#define NQUOTAS 5

long long tenant_quota(const json_t *spec, const char *name)
{
    json_t *q = json_object_get(json_object_get(spec, "quotas"), name);
    for (int i = 0; i < NQUOTAS; i++)
        if (strcmp(QUOTAS[i].name, name) == 0)
            return json_is_integer(q) ? json_integer_value(q) : QUOTAS[i].def;
    return 0;
}

static void validate(const json_t *spec, verrs *v)
{
    static const char *const fields[] = {"name", "display_name", "quotas", NULL};
    v_known_keys(v, "", spec, fields);
    json_t *name = json_object_get(spec, "name");
    if (!name) verr(v, "name", "is required");
    else v_dns_label(v, "name", name, 40, NULL, 0);
    json_t *dn = json_object_get(spec, "display_name");
    if (dn) v_string(v, "display_name", dn, 200, NULL);
    json_t *q = json_object_get(spec, "quotas");
    if (q) {
        if (!json_is_object(q)) { verr(v, "quotas", "must be an object"); return; }
        static const char *const qf[] = {"max_clusters", "max_brokers", "max_storage_gib", "max_topics",
                                         "max_partitions", NULL};
        v_known_keys(v, "quotas", q, qf);
        for (int i = 0; i < NQUOTAS; i++) {
            json_t *x = json_object_get(q, QUOTAS[i].name);
            char f[64];
            snprintf(f, sizeof f, "quotas.%s", QUOTAS[i].name);
            if (x) v_int_range(v, f, x, 0, QUOTAS[i].max, NULL);
        }
    }
}

static json_t *tenant_status(const json_t *spec)
{
    json_t *eff = json_object();
    for (int i = 0; i < NQUOTAS; i++)
        json_object_set_new(eff, QUOTAS[i].name, json_integer(tenant_quota(spec, QUOTAS[i].name)));
    return json_pack("{s:o}", "effective_quotas", eff);
}

static json_t *tenant_json(const store_res *r)
{
    json_t *o = json_deep_copy(r->spec);
    json_object_set_new(o, "id", json_string(r->id));
    json_object_set(o, "status", r->status);
    api_res_meta(o, r);
    return o;
}

static void answer(api_resp *w, int status, const store_res *r)
{
    api_set_etag(w, r->resource_version);
    api_json(w, status, tenant_json(r));
}

void api_tenant_create(api_req *rq, api_resp *w)
{
    if (!api_require_body(rq, w)) return;
    json_t *spec = json_deep_copy(rq->body);
    api_strip_server_fields(spec, NULL);
    verrs v = {0};
    validate(spec, &v);
    if (verr_any(&v)) { json_decref(spec); api_fail_fields(w, &v, NULL); return; }

    store_res r = {0};
    sp_id_new("tn", r.id);
    snprintf(r.tenant_id, sizeof r.tenant_id, "%s", r.id);
    snprintf(r.name, sizeof r.name, "%s", json_string_value(json_object_get(spec, "name")));
    r.spec = spec;
    r.status = tenant_status(spec);
    r.generation = 1;
    sp_now_rfc3339(r.created_at);
    int rc = store_res_insert(rq->env->store, K_TENANT, &r);
    if (rc == ST_CONFLICT)
        api_problem(w, 409, "name-taken", "a tenant named '%s' already exists", r.name);
    else if (rc != ST_OK)
        api_store_error(w, rc, "creating the tenant");
    else {
        snprintf(w->location, sizeof w->location, "/v1/tenants/%s", r.id);
        answer(w, 201, &r);
    }
    store_res_clear(&r);
}

void api_tenant_list(api_req *rq, api_resp *w)
{
    page p;
    if (!api_page_begin(rq, w, "tenants", &p)) return;
    store_res *list;
    int n;
    int rc = store_res_list(rq->env->store, K_TENANT, api_scope(rq), p.after, p.size + 1, &list, &n);
    if (rc != ST_OK) { api_store_error(w, rc, "listing tenants"); return; }
    json_t *items = json_array();
    for (int i = 0; i < n && i < p.size; i++) json_array_append_new(items, tenant_json(&list[i]));
    json_t *out = json_pack("{s:o}", "items", items);
    API_PAGE_END(p, out, n, list);
    store_res_free_list(list, n);
    api_json(w, 200, out);
}

static bool load(api_req *rq, api_resp *w, store_res *r)
{
    int rc = store_res_get(rq->env->store, K_TENANT, rq->params[0], api_scope(rq), r);
    if (rc == ST_NOTFOUND) { api_not_found(w, "tenant", rq->params[0]); return false; }
    if (rc != ST_OK) { api_store_error(w, rc, "reading the tenant"); return false; }
    return true;
}

void api_tenant_get(api_req *rq, api_resp *w)
{
    store_res r;
    if (!load(rq, w, &r)) return;
    answer(w, 200, &r);
    store_res_clear(&r);
}

void api_tenant_patch(api_req *rq, api_resp *w)
{
    if (!api_require_body(rq, w)) return;
    store_res r;
    if (!load(rq, w, &r)) return;
    int64_t expect;
    if (!api_expected_version(rq, w, r.resource_version, &expect)) { store_res_clear(&r); return; }
    json_t *patch = json_deep_copy(rq->body);
    api_strip_server_fields(patch, NULL);
    json_object_del(patch, "tenant_id");
    json_t *spec = json_merge_patch(r.spec, patch);
    json_decref(patch);
    verrs v = {0};
    validate(spec, &v);
    const char *nn = json_string_value(json_object_get(spec, "name"));
    if (nn && strcmp(nn, r.name) != 0) verr(&v, "name", "cannot change; create a new tenant instead");
    if (verr_any(&v)) { json_decref(spec); store_res_clear(&r); api_fail_fields(w, &v, NULL); return; }
    if (json_equal(spec, r.spec)) { json_decref(spec); answer(w, 200, &r); store_res_clear(&r); return; }
    json_decref(r.spec);
    r.spec = spec;
    json_decref(r.status);
    r.status = tenant_status(spec);
    r.generation++;
    int rc = store_res_update(rq->env->store, K_TENANT, &r, expect);
    if (rc == ST_STALE) api_problem(w, 412, "precondition-failed", "the tenant changed meanwhile; read it again");
    else if (rc != ST_OK) api_store_error(w, rc, "updating the tenant");
    else answer(w, 200, &r);
    store_res_clear(&r);
}

void api_tenant_delete(api_req *rq, api_resp *w)
{
    store_res r;
    if (!load(rq, w, &r)) return;
    int64_t expect, n = 0;
    if (!api_expected_version(rq, w, r.resource_version, &expect)) { store_res_clear(&r); return; }
    int rc = store_count_tenant_clusters(rq->env->store, r.id, &n);
    if (rc == ST_OK && n > 0)
        api_problem(w, 409, "tenant-has-clusters",
                    "tenant %s still has %lld cluster(s); delete them first", r.id, (long long)n);
    else if (rc == ST_OK && (rc = store_key_delete_tenant(rq->env->store, r.id)) == ST_OK &&
             (rc = store_res_delete(rq->env->store, K_TENANT, r.id)) == ST_OK)
        w->status = 204;
    else
        api_store_error(w, rc, "deleting the tenant");
    store_res_clear(&r);
}
