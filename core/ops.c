/* ops.c — see ops.h. */
#define _GNU_SOURCE
#include "ops.h"
#include "cluster.h"
#include "phase.h"

#include <stdio.h>
#include <string.h>

static const char *const TYPES[OP_TYPE__COUNT] = {"CREATE", "UPDATE", "SCALE_OUT", "SCALE_IN",
                                                  "STORAGE_RESIZE", "ROLLING_RESTART", "DELETE"};
static const char *const STATES[OP_STATE__COUNT] = {"PENDING", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"};

const char *op_type_name(op_type t) { return t < OP_TYPE__COUNT ? TYPES[t] : "UNKNOWN"; }
const char *op_state_name(op_state s) { return s < OP_STATE__COUNT ? STATES[s] : "UNKNOWN"; }

op_type op_type_parse(const char *s)
{
    for (int i = 0; s && i < OP_TYPE__COUNT; i++)
        if (strcmp(s, TYPES[i]) == 0) return (op_type)i;
    return OP_TYPE__COUNT;
}

op_state op_state_parse(const char *s)
{
    for (int i = 0; s && i < OP_STATE__COUNT; i++)
        if (strcmp(s, STATES[i]) == 0) return (op_state)i;
    return OP_STATE__COUNT;
}

bool op_active(const store_op *o)
{
    op_state s = op_state_parse(o->state);
    return s == OPS_PENDING || s == OPS_RUNNING;
}

/* Operations finished per query (each a row with its steps: a few KiB). */
#define OPS_FINISH_PAGE 32

static void set_state(store_op *o, op_state s) { snprintf(o->state, sizeof o->state, "%s", STATES[s]); }

int ops_create(store_t *st, store_res *r, op_type type, json_t *changes, json_t *before, char op_id[SP_ID_MAX])
{
    store_op o = {0};
    sp_id_new("op", o.id);
    snprintf(o.cluster_id, sizeof o.cluster_id, "%s", r->id);
    snprintf(o.tenant_id, sizeof o.tenant_id, "%s", r->tenant_id);
    snprintf(o.type, sizeof o.type, "%s", op_type_name(type));
    set_state(&o, OPS_PENDING);
    o.target_generation = r->generation;
    o.steps = json_array();
    o.changes = json_incref(changes);
    o.spec_before = json_incref(before);
    sp_now_rfc3339(o.created_at);
    int rc = store_op_insert(st, &o);
    snprintf(op_id, SP_ID_MAX, "%s", o.id);
    char cur[SP_ID_MAX];
    /* a new cluster has no other operation: no need to look */
    if (rc == ST_OK && type == OP_CREATE) snprintf(cur, sizeof cur, "%s", o.id);
    else if (rc == ST_OK) rc = store_op_current(st, r->id, cur);
    if (rc == ST_OK) json_object_set_new(r->status, "current_operation_id", json_string(cur));
    store_op_clear(&o);
    return rc;
}

int ops_supersede_all(store_t *st, const char *cluster_id, const char *message)
{
    return store_op_supersede_active(st, cluster_id, message);
}

int ops_cancellable(store_t *st, const store_op *o, char later[SP_ID_MAX])
{
    later[0] = 0;
    if (!op_active(o)) return CORE_NOT_ACTIVE;
    op_type t = op_type_parse(o->type);
    if (t == OP_CREATE || t == OP_DELETE || !o->spec_before) return CORE_NOT_CANCELLABLE;
    /* only the newest change still to be done: undoing an older one under
     * a newer one would leave a spec nobody asked for */
    int rc = store_op_later_active(st, o->cluster_id, o->seq, later);
    if (rc != ST_OK) return rc;
    return later[0] ? CORE_NOT_NEWEST : CORE_OK;
}

/* The cluster's spec from before o (a new generation). */
static int restore_spec(store_t *st, const store_op *o)
{
    store_res r;
    int rc = store_res_get(st, K_CLUSTER, o->cluster_id, NULL, &r);
    if (rc != ST_OK) return rc;
    json_decref(r.spec);
    r.spec = json_incref(o->spec_before);
    r.brokers = json_integer_value(json_object_get(o->spec_before, "brokers"));
    r.storage_gib = json_integer_value(json_object_get(o->spec_before, "storage_gib"));
    const char *ver = cluster_resolve_version(json_string_value(json_object_get(o->spec_before, "kafka_version")));
    if (ver) json_object_set_new(r.status, "kafka_version", json_string(ver));
    r.generation++;
    rc = store_res_update(st, K_CLUSTER, &r, 0);
    store_res_clear(&r);
    return rc;
}

int ops_cancel(store_t *st, store_op *o)
{
    int rc = restore_spec(st, o);
    if (rc != ST_OK) return rc;
    json_decref(o->error);
    o->error = json_pack("{s:s, s:s}", "code", "CANCELLED", "message",
                         op_state_parse(o->state) == OPS_RUNNING
                             ? "cancelled while running: the cluster returns to its previous spec from the next step on"
                             : "cancelled before it started");
    set_state(o, OPS_CANCELLED);
    rc = store_op_update(st, o);
    if (rc == ST_OK) rc = ops_sync_current(st, o->cluster_id);
    return rc;
}

int ops_sync_current(store_t *st, const char *cluster_id)
{
    store_res r;
    int rc = store_res_get(st, K_CLUSTER, cluster_id, NULL, &r);
    if (rc != ST_OK) return rc;
    char cur[SP_ID_MAX];
    rc = store_op_current(st, r.id, cur);
    if (rc == ST_OK) {
        json_object_set_new(r.status, "current_operation_id", cur[0] ? json_string(cur) : json_null());
        if (!cur[0]) phase_ops_done(&r);
        rc = store_res_update(st, K_CLUSTER, &r, 0);
    }
    store_res_clear(&r);
    return rc;
}

int ops_step(store_t *st, const char *cluster_id, const char *step, const char *msg, int percent, bool *wrote)
{
    *wrote = false;
    char cur[SP_ID_MAX];
    int rc = store_op_current(st, cluster_id, cur);
    if (rc != ST_OK || !cur[0]) return rc;
    store_op o;
    if ((rc = store_op_get(st, cur, NULL, &o)) != ST_OK) return rc;
    json_t *last = json_array_get(o.steps, json_array_size(o.steps) - 1);
    const char *ln = json_string_value(json_object_get(last, "name"));
    const char *lm = json_string_value(json_object_get(last, "message"));
    bool same_step = last && ln && strcmp(ln, step) == 0;
    /* a poll that finds the same as the last one writes nothing: no fsync,
     * and updated_at moves only when something did */
    if (same_step && lm && strcmp(lm, msg) == 0 && op_state_parse(o.state) == OPS_RUNNING &&
        percent <= o.progress_percent) {
        store_op_clear(&o);
        return ST_OK;
    }
    if (!same_step) {
        char now[SP_TS_MAX];
        sp_now_rfc3339(now);
        last = json_pack("{s:s, s:s, s:s, s:n}", "name", step, "state", "RUNNING", "started_at", now, "finished_at");
        json_array_append_new(o.steps, last);
    }
    json_object_set_new(last, "message", json_string(msg));
    set_state(&o, OPS_RUNNING);
    if (percent > o.progress_percent) o.progress_percent = percent;
    rc = store_op_update(st, &o);
    *wrote = rc == ST_OK;
    store_op_clear(&o);
    return rc;
}

int ops_finish(store_t *st, const char *cluster_id, int64_t gen, const char *step, const char *msg,
               const char *started)
{
    char now[SP_TS_MAX];
    sp_now_rfc3339(now);
    /* a page at a time: finished ones leave the active set, so each page
     * starts from the oldest still active (a cluster's queue, not its history) */
    for (;;) {
        store_op *ops;
        int n, rc = store_op_list_active(st, cluster_id, gen, OPS_FINISH_PAGE, &ops, &n);
        if (rc != ST_OK) return rc;
        for (int i = 0; i < n && rc == ST_OK; i++) {
            store_op *o = &ops[i];
            set_state(o, OPS_SUCCEEDED);
            o->progress_percent = 100;
            json_array_append_new(o->steps, json_pack("{s:s, s:s, s:s, s:s, s:s}", "name", step, "state", "SUCCEEDED",
                                                      "started_at", started, "finished_at", now, "message", msg));
            rc = store_op_update(st, o);
        }
        store_op_free_list(ops, n);
        if (rc != ST_OK || n < OPS_FINISH_PAGE) return rc;
    }
}
