/* operations.c — long-running work records: list, read, cancel.
 *
 * Cancel stops a change that is pending or running: the operation becomes
 * CANCELLED and the cluster's spec returns to what it was before that
 * change (a new generation). A pending change is never acted on; a running
 * one stops at the workers' next step, which converges on the restored
 * spec (level-triggered: each step reads the desired state afresh). Only the
 * newest pending change can be cancelled (undoing an older one under a
 * newer one would leave a spec nobody asked for), and create and delete
 * cannot (delete the cluster, or create it again, instead). */
#define _GNU_SOURCE
#include "api.h"
#include "../core/plan.h"
#include "../core/errors.h"
#include "../core/ops.h"

#include <stdio.h>
#include <string.h>


static json_t *op_json(const store_op *o)
{
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:I, s:O, s:O, s:s, s:s}",
                          "id", o->id, "cluster_id", o->cluster_id, "tenant_id", o->tenant_id,
                          "type", o->type, "state", o->state, "progress_percent", o->progress_percent,
                          "target_generation", (json_int_t)o->target_generation,
                          "steps", o->steps, "changes", o->changes,
                          "created_at", o->created_at, "updated_at", o->updated_at);
    json_object_set(j, "error", o->error ? o->error : json_null());
    /* an operation that is a plan says which sequence it runs and why, and
     * every step it will take (steps shows those started) */
    json_t *planned = json_array();
    for (int i = 0; o->plan && i < plan_len(o->plan); i++) {
        const char *name;
        plan_step(o->plan, i, NULL, &name, NULL);
        if (name) json_array_append_new(planned, json_string(name));
    }
    json_object_set_new(j, "path", o->plan ? json_string(plan_path(o->plan)) : json_null());
    json_object_set_new(j, "planned_steps", planned);
    return j;
}

void api_op_list(api_req *rq, api_resp *w)
{
    const char *scope = api_list_scope(rq);
    const char *cluster = api_query(rq, "cluster_id");
    char filters[128];
    snprintf(filters, sizeof filters, "ops:%s:%s", scope ? scope : "", cluster ? cluster : "");
    page p;
    if (!api_page_begin(rq, w, filters, &p)) return;
    store_op *list;
    int n;
    int rc = store_op_list(rq->env->store, scope, cluster, p.after, p.size + 1, &list, &n);
    if (rc != ST_OK) { api_store_error(w, rc, "listing operations"); return; }
    json_t *items = json_array();
    for (int i = 0; i < n && i < p.size; i++) json_array_append_new(items, op_json(&list[i]));
    json_t *out = json_pack("{s:o}", "items", items);
    API_PAGE_END(p, out, n, list);
    store_op_free_list(list, n);
    api_json(w, 200, out);
}

static bool load(api_req *rq, api_resp *w, store_op *o)
{
    int rc = store_op_get(rq->env->store, rq->params[0], api_scope(rq), o);
    if (rc == ST_NOTFOUND) { api_not_found(w, "operation", rq->params[0]); return false; }
    if (rc != ST_OK) { api_store_error(w, rc, "reading the operation"); return false; }
    return true;
}

void api_op_get(api_req *rq, api_resp *w)
{
    store_op o;
    if (!load(rq, w, &o)) return;
    api_json(w, 200, op_json(&o));
    store_op_clear(&o);
}

void api_op_cancel(api_req *rq, api_resp *w)
{
    store_op o;
    if (!load(rq, w, &o)) return;
    char later[SP_ID_MAX];
    int rc = op_state_parse(o.state) == OPS_CANCELLED ? CORE_OK : ops_cancellable(rq->env->store, &o, later);
    if (op_state_parse(o.state) == OPS_CANCELLED) {          /* repeated cancel: same answer */
        api_json(w, 200, op_json(&o));
    } else if (rc == CORE_NOT_ACTIVE) {
        api_problem(w, 409, "operation-not-pending", "operation %s is %s; only a pending or running operation can be cancelled",
                    o.id, o.state);
    } else if (rc == CORE_NOT_CANCELLABLE) {
        api_problem(w, 409, "operation-not-cancellable",
                    "a %s cannot be cancelled; %s", o.type,
                    op_type_parse(o.type) == OP_CREATE ? "delete the cluster instead" : "create the cluster again instead");
    } else if (rc == CORE_NOT_NEWEST) {
        api_problem(w, 409, "operation-not-newest",
                    "operation %s of cluster %s is queued behind %s; cancel %s first",
                    later, o.cluster_id, o.id, later);
    } else if (rc != CORE_OK) {
        api_store_error(w, rc, "reading operations");
    } else if (cluster_revert_fits(rq, w, o.cluster_id, o.spec_before)) {
        rc = ops_cancel(rq->env->store, &o);
        if (rc != ST_OK) api_store_error(w, rc, "cancelling the operation");
        else {
            api_wake(rq, "cluster", o.cluster_id);
            api_json(w, 200, op_json(&o));
        }
    }
    store_op_clear(&o);
}
