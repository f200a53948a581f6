/* usage.c — what a tenant uses against its quotas. A tenant sees itself;
 * the operator sees every tenant (or one, with ?tenant_id=). */
#define _GNU_SOURCE
#include "api.h"
#include "../store/topics.h"

#include <stdio.h>
#include <string.h>


static int tenant_usage(api_req *rq, const store_res *t, json_t *items)
{
    int64_t c = 0, b = 0, s = 0;
    int64_t tp = 0, pa = 0;
    int rc = store_tenant_usage(rq->env->store, t->id, &c, &b, &s);
    if (rc == ST_OK) rc = store_topic_usage(rq->env->store, t->id, &tp, &pa);
    if (rc != ST_OK) return rc;
    json_array_append_new(items, json_pack(
        "{s:s, s:s, s:{s:I, s:I, s:I, s:I, s:I}, s:{s:I, s:I, s:I, s:I, s:I}}", "tenant_id", t->id, "name", t->name,
        "used", "clusters", (json_int_t)c, "brokers", (json_int_t)b, "storage_gib", (json_int_t)s,
        "topics", (json_int_t)tp, "partitions", (json_int_t)pa,
        "quotas", "max_clusters", (json_int_t)tenant_quota(t->spec, "max_clusters"),
        "max_brokers", (json_int_t)tenant_quota(t->spec, "max_brokers"),
        "max_storage_gib", (json_int_t)tenant_quota(t->spec, "max_storage_gib"),
        "max_topics", (json_int_t)tenant_quota(t->spec, "max_topics"),
        "max_partitions", (json_int_t)tenant_quota(t->spec, "max_partitions")));
    return ST_OK;
}

void api_usage_get(api_req *rq, api_resp *w)
{
    const char *scope = api_list_scope(rq);
    char filters[80];
    snprintf(filters, sizeof filters, "usage:%s", scope ? scope : "");
    page p;
    if (!api_page_begin(rq, w, filters, &p)) return;
    store_res *list;
    int n;
    int rc = store_res_list(rq->env->store, K_TENANT, scope, p.after, p.size + 1, &list, &n);
    if (rc != ST_OK) { api_store_error(w, rc, "reading usage"); return; }
    json_t *items = json_array();
    for (int i = 0; i < n && i < p.size && rc == ST_OK; i++) rc = tenant_usage(rq, &list[i], items);
    json_t *out = json_pack("{s:o}", "items", items);
    API_PAGE_END(p, out, n, list);
    store_res_free_list(list, n);
    if (rc != ST_OK) { json_decref(out); api_store_error(w, rc, "reading usage"); return; }
    api_json(w, 200, out);
}
