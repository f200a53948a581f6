/* ops.h — the operation lifecycle: create, queue, supersede, cancel, step
 * progress, finish. The only code that changes an operation's state.
 *
 *   PENDING ──step──> RUNNING ──finish──> SUCCEEDED
 *      │                 │
 *      └──cancel/supersede──> CANCELLED      (FAILED: reserved for steps
 *                                             that cannot succeed)
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

/* The active operations up to generation gen (0: all) succeed, each with
 * one last step (name, message, started .. now). Reads only the active
 * ones (at most a cluster's queue, not its history). */
int ops_finish(store_t *st, const char *cluster_id, int64_t gen, const char *step, const char *msg,
               const char *started);

#endif
