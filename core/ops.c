/* ops.c — see ops.h. */
#define _GNU_SOURCE
#include "ops.h"
#include "cluster.h"
#include "phase.h"
#include "plan.h"
#include "../common/conditions.h"

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

static void now_ts(const sp_clock *clk, char out[SP_TS_MAX])
{
    if (clk) sp_ms_rfc3339(sp_clock_wall_ms(clk), out);
    else sp_now_rfc3339(out);
}

/* ---- the steps a client sees -------------------------------------------
 * One RUNNING at a time (the last), every other one ended (SUCCEEDED,
 * FAILED or SKIPPED with finished_at), no name twice. */

static json_t *steps_last(json_t *steps) { return json_array_get(steps, json_array_size(steps) - 1); }

static bool step_running(const json_t *s)
{
    return s && step_state_parse(json_string_value(json_object_get(s, "state"))) == STEP_RUNNING;
}

/* Ends the last step if it runs; msg NULL keeps its message. */
static void steps_end_last(json_t *steps, step_state how, const char *msg, const char *now)
{
    json_t *last = steps_last(steps);
    if (!step_running(last)) return;
    json_object_set_new(last, "state", json_string(step_state_name(how)));
    json_object_set_new(last, "finished_at", json_string(now));
    if (msg) json_object_set_new(last, "message", json_string(msg));
}

static json_t *steps_find(json_t *steps, const char *name)
{
    size_t i;
    json_t *s;
    json_array_foreach(steps, i, s) {
        const char *n = json_string_value(json_object_get(s, "name"));
        if (n && strcmp(n, name) == 0) return s;
    }
    return NULL;
}

/* The step called name as the running one: the last if it has that name,
 * else the last ends SUCCEEDED and a new one starts. A name shown before
 * (work that went back, e.g. pods not ready again) is not repeated: the
 * running step carries the message instead. Returns the step to write the
 * message into. */
static json_t *steps_enter(json_t *steps, const char *name, const char *now)
{
    json_t *last = steps_last(steps);
    const char *ln = last ? json_string_value(json_object_get(last, "name")) : NULL;
    if (ln && strcmp(ln, name) == 0) return last;
    if (steps_find(steps, name)) return last;
    steps_end_last(steps, STEP_SUCCEEDED, NULL, now);
    json_t *s = json_pack("{s:s, s:s, s:s, s:n, s:s}", "name", name, "state", "RUNNING", "started_at", now,
                          "finished_at", "message", "");
    json_array_append_new(steps, s);
    return s;
}

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
    char now[SP_TS_MAX];
    sp_now_rfc3339(now);
    /* a page at a time, as ops_finish: each page leaves the active set */
    for (;;) {
        store_op *ops;
        int n, rc = store_op_list_active(st, cluster_id, 0, OPS_FINISH_PAGE, &ops, &n);
        if (rc != ST_OK) return rc;
        for (int i = 0; i < n && rc == ST_OK; i++) {
            store_op *o = &ops[i];
            set_state(o, OPS_CANCELLED);
            json_decref(o->error);
            o->error = json_pack("{s:s, s:s}", "code", "SUPERSEDED", "message", message);
            steps_end_last(o->steps, STEP_SKIPPED, "stopped: superseded", now);
            rc = store_op_update(st, o);
        }
        store_op_free_list(ops, n);
        if (rc != ST_OK || n < OPS_FINISH_PAGE) return rc;
    }
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
    /* an upgrade that already rolled pods keeps its release as the target
     * (the template stays on it): no pod is downgraded, now or later */
    bool keep_release = o->plan && plan_rolled_any(o->plan) && json_object_get(o->changes, "kafka_version");
    store_res r;
    int rc = store_res_get(st, K_CLUSTER, o->cluster_id, NULL, &r);
    if (rc != ST_OK) return rc;
    json_decref(r.spec);
    r.spec = json_incref(o->spec_before);
    r.brokers = json_integer_value(json_object_get(o->spec_before, "brokers"));
    r.storage_gib = json_integer_value(json_object_get(o->spec_before, "storage_gib"));
    const char *ver = cluster_resolve_version(json_string_value(json_object_get(o->spec_before, "kafka_version")));
    if (ver && !keep_release) json_object_set_new(r.status, "target_kafka_version", json_string(ver));
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
    bool kept = o->plan && plan_rolled_any(o->plan) && json_object_get(o->changes, "kafka_version");
    o->error = json_pack("{s:s, s:s}", "code", "CANCELLED", "message",
                         kept ? "cancelled while rolling: the pod under way finishes its restart and no other pod "
                                "restarts; pods already on the new release stay on it (a release never goes down), "
                                "the rest of the spec returns to what it was"
                         : op_state_parse(o->state) == OPS_RUNNING
                             ? "cancelled while running: the cluster returns to its previous spec from the next step on"
                             : "cancelled before it started");
    char now[SP_TS_MAX];
    sp_now_rfc3339(now);
    steps_end_last(o->steps, STEP_SKIPPED, "stopped: the operation was cancelled", now);
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
    if (o.plan && !plan_done(o.plan)) {
        /* a plan names its own steps: the wait goes into the running one */
        rc = ops_plan_note(st, &o, msg, false, NULL, wrote);
        store_op_clear(&o);
        return rc;
    }
    json_t *last = steps_last(o.steps);
    const char *ln = json_string_value(json_object_get(last, "name"));
    const char *lm = json_string_value(json_object_get(last, "message"));
    bool same_step = ln && (strcmp(ln, step) == 0 || steps_find(o.steps, step));
    /* a poll that finds the same as the last one writes nothing: no fsync,
     * and updated_at moves only when something did */
    if (same_step && lm && strcmp(lm, msg) == 0 && op_state_parse(o.state) == OPS_RUNNING &&
        percent <= o.progress_percent) {
        store_op_clear(&o);
        return ST_OK;
    }
    char now[SP_TS_MAX];
    sp_now_rfc3339(now);
    json_object_set_new(steps_enter(o.steps, step, now), "message", json_string(msg));
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
            json_t *last = steps_last(o->steps);
            const char *ln = json_string_value(json_object_get(last, "name"));
            const char *pn = NULL;
            /* a plan's operation ends on its own last step, whatever the
             * reconciler calls the wait */
            if (o->plan && plan_current(o->plan, NULL, &pn, NULL) && pn) step = pn;
            if (ln && strcmp(ln, step) == 0) {
                steps_end_last(o->steps, STEP_SUCCEEDED, msg, now);
            } else {
                steps_end_last(o->steps, STEP_SUCCEEDED, NULL, now);
                if (!steps_find(o->steps, step))
                    json_array_append_new(o->steps, json_pack("{s:s, s:s, s:s, s:s, s:s}", "name", step, "state",
                                                              "SUCCEEDED", "started_at", started, "finished_at", now,
                                                              "message", msg));
            }
            if (o->plan) plan_advance(o->plan);    /* its last step (CONVERGE) is this one */
            rc = store_op_update(st, o);
        }
        store_op_free_list(ops, n);
        if (rc != ST_OK || n < OPS_FINISH_PAGE) return rc;
    }
}

/* ---- plans ------------------------------------------------------------- */

int ops_plan_set(store_t *st, store_op *o, json_t *plan)
{
    json_decref(o->plan);
    o->plan = plan;
    return store_op_update(st, o);
}

int ops_plan_note(store_t *st, store_op *o, const char *msg, bool plan_changed, const sp_clock *clk, bool *wrote)
{
    *wrote = false;
    const char *name;
    if (!o->plan || !plan_current(o->plan, NULL, &name, NULL) || !name) return CORE_ERROR;
    json_t *last = steps_last(o->steps);
    const char *ln = json_string_value(json_object_get(last, "name"));
    const char *lm = json_string_value(json_object_get(last, "message"));
    int pct = plan_percent(o->plan);
    bool same = ln && strcmp(ln, name) == 0 && step_running(last) && lm && strcmp(lm, msg) == 0 &&
                op_state_parse(o->state) == OPS_RUNNING && pct <= o->progress_percent;
    if (same && !plan_changed) return ST_OK;
    char now[SP_TS_MAX];
    now_ts(clk, now);
    json_t *s = steps_find(o->steps, name);
    if (!s) {
        steps_end_last(o->steps, STEP_SUCCEEDED, NULL, now);
        s = json_pack("{s:s, s:s, s:s, s:n}", "name", name, "state", "RUNNING", "started_at", now, "finished_at");
        json_array_append_new(o->steps, s);
    }
    json_object_set_new(s, "message", json_string(msg));
    set_state(o, OPS_RUNNING);
    if (pct > o->progress_percent) o->progress_percent = pct;
    int rc = store_op_update(st, o);
    *wrote = rc == ST_OK;
    return rc;
}

int ops_plan_end_step(store_t *st, store_op *o, step_state how, const char *msg, const sp_clock *clk)
{
    bool wrote;
    int rc = ops_plan_note(st, o, msg, true, clk, &wrote);   /* shown, even if it ends at once */
    if (rc != ST_OK) return rc;
    char now[SP_TS_MAX];
    now_ts(clk, now);
    steps_end_last(o->steps, how, msg, now);
    plan_advance(o->plan);
    int pct = plan_percent(o->plan);
    if (pct > o->progress_percent) o->progress_percent = pct;
    return store_op_update(st, o);
}

int ops_fail(store_t *st, store_op *o, const char *code, const char *msg, const sp_clock *clk)
{
    char now[SP_TS_MAX];
    now_ts(clk, now);
    if (!step_running(steps_last(o->steps)) && o->plan && !plan_done(o->plan)) {
        bool wrote;                             /* the step that failed is shown */
        ops_plan_note(st, o, msg, true, clk, &wrote);
    }
    steps_end_last(o->steps, STEP_FAILED, msg, now);
    set_state(o, OPS_FAILED);
    json_decref(o->error);
    o->error = json_pack("{s:s, s:s}", "code", code, "message", msg);
    int rc = store_op_update(st, o);
    if (rc != ST_OK) return rc;
    store_res r;
    if ((rc = store_res_get(st, K_CLUSTER, o->cluster_id, NULL, &r)) != ST_OK) return rc;
    char text[700];
    snprintf(text, sizeof text, "operation %s (%s) failed: %s", o->id, o->type, msg);
    condition_set(r.status, "OperationFailed", "True", code, text);
    rc = store_res_update(st, K_CLUSTER, &r, 0);
    store_res_clear(&r);
    return rc == ST_OK ? ops_sync_current(st, o->cluster_id) : rc;
}
