/* ops.h — the operation lifecycle: create, queue, supersede, cancel, step
 * progress, finish. The only code that changes an operation's state.
 *
 *   PENDING ──step──> RUNNING ──finish──> SUCCEEDED
 *      │                 │  └──fail──> FAILED  (cannot proceed: a permanent
 *      │                 │                      error, a pod that cannot start)
 *      └──cancel/supersede──> CANCELLED
 *
 * An operation's `steps` are what a client sees: one RUNNING at a time
 * (the last), every other one ended (SUCCEEDED, FAILED, SKIPPED) with its
 * finished_at, no name twice. Operations that are plans (plan.h) move
 * through ops_plan_*; the others (create, delete, and those no plan covers
 * yet) name their steps as they go with ops_step.
 *
 * Operations of a cluster queue in creation order; the oldest PENDING or
 * RUNNING one is the cluster's current operation (status.
 * current_operation_id). Each carries the generation it brings the cluster
 * to; converging on generation g finishes every active operation up to g.
 * Every function here runs inside the caller's transaction. */
#ifndef SP_CORE_OPS_H
#define SP_CORE_OPS_H

#include <stdbool.h>
#include "../store/store.h"
#include "errors.h"
#include "plan.h"
#include "../common/util.h"

typedef enum {
    OP_CREATE = 0, OP_UPDATE, OP_SCALE_OUT, OP_SCALE_IN, OP_STORAGE_RESIZE, OP_ROLLING_RESTART, OP_DELETE,
    OP_TYPE__COUNT
} op_type;

typedef enum { OPS_PENDING = 0, OPS_RUNNING, OPS_SUCCEEDED, OPS_FAILED, OPS_CANCELLED, OP_STATE__COUNT } op_state;

const char *op_type_name(op_type t);
op_type op_type_parse(const char *s);      /* OP_TYPE__COUNT if unknown */
const char *op_state_name(op_state s);
op_state op_state_parse(const char *s);    /* OP_STATE__COUNT if unknown */
bool op_active(const store_op *o);         /* PENDING or RUNNING */

/* Records a new PENDING operation for the cluster bringing it to
 * r->generation (its id into op_id; changes and before are borrowed) and
 * points r->status.current_operation_id at the current one. */
int ops_create(store_t *st, store_res *r, op_type type, json_t *changes, json_t *before, char op_id[SP_ID_MAX]);

/* Every active operation of the cluster becomes CANCELLED with code
 * SUPERSEDED (a delete supersedes all work). */
int ops_supersede_all(store_t *st, const char *cluster_id, const char *message);

/* May this operation be cancelled? CORE_OK, or why not: CORE_NOT_ACTIVE,
 * CORE_NOT_CANCELLABLE (create, delete), CORE_NOT_NEWEST (later holds the
 * newer active operation's id). */
int ops_cancellable(store_t *st, const store_op *o, char later[SP_ID_MAX]);
/* Cancels o (already checked): it becomes CANCELLED, the cluster's spec
 * returns to o->spec_before (a new generation) and the current operation
 * and phase follow. */
int ops_cancel(store_t *st, store_op *o);

/* Points status.current_operation_id at the oldest active operation and
 * leaves UPDATING when none is left. Writes the row only if that changed. */
int ops_sync_current(store_t *st, const char *cluster_id);

/* Shows what the cluster's current operation waits for: step (a new one
 * when the name differs from the last), message, progress (never lower).
 * The operation becomes RUNNING. The row is written only when something
 * a client can see changed; *wrote says whether it was. */
int ops_step(store_t *st, const char *cluster_id, const char *step, const char *msg, int percent, bool *wrote);

/* Plans (plan.h). o is a row read in the caller's transaction; each call
 * writes it back. clk NULL: the real clock (tests pass a fake one).
 *
 * ops_plan_set: o's plan becomes plan (stolen). */
int ops_plan_set(store_t *st, store_op *o, json_t *plan);
/* Shows the plan's current step RUNNING (started now if new) with msg; the
 * operation RUNNING, its progress from the plan. Writes only when a client
 * would see a change, or when plan_changed (the step's scratch moved and
 * must survive a crash). */
int ops_plan_note(store_t *st, store_op *o, const char *msg, bool plan_changed, const sp_clock *clk, bool *wrote);
/* Ends the current step how (SUCCEEDED or SKIPPED) with msg, and moves the
 * plan to its next step. */
int ops_plan_end_step(store_t *st, store_op *o, step_state how, const char *msg, const sp_clock *clk);
/* The operation cannot proceed: FAILED with error {code, message}, the
 * running step FAILED, the cluster's condition OperationFailed=True says
 * so, and the cluster's current operation moves on. */
int ops_fail(store_t *st, store_op *o, const char *code, const char *msg, const sp_clock *clk);

/* The active operations up to generation gen (0: all) succeed, each with
 * one last step (name, message, started .. now). Reads only the active
 * ones (at most a cluster's queue, not its history). */
int ops_finish(store_t *st, const char *cluster_id, int64_t gen, const char *step, const char *msg,
               const char *started);

#endif
