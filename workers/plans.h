/* plans.h — running operations that are plans (core/plan.h says what a
 * plan is). Internal to workers/.
 *
 * Each turn of a cluster whose current operation has a plan (or is of a
 * type that gets one: plan_for) runs the plan's current step through the
 * executor registered for its kind, and moves on when the step is done.
 * Everything a step must remember across turns and crashes goes into its
 * scratch object (plan_scratch), saved in the operation's row.
 *
 * Adding an operation type (scale-out, scale-in, storage, rebalance):
 *  1. add the step kinds it needs to pstep_kind in core/plan.h (and their
 *     names in core/plan.c);
 *  2. write one executor per kind (a file of its own, e.g. workers/scale.c)
 *     with the signature plan_exec_fn, and list it in plans.c's EXECUTORS;
 *  3. build the type's steps in plan_for (plans.c): a pure function of the
 *     operation and the cluster's size, so it is unit-tested without a
 *     cluster; a step that learns at run time what must follow it adds the
 *     steps with plan_insert_next and pr->plan_changed.
 * Every plan ends with a CONVERGE step (the operation succeeds there).
 *
 * An executor returns PLAN_STEP_DONE when its step is finished (pr->msg
 * says what it did, pr->skipped when there was nothing to do), or the
 * turn's result after saying what it waits for:
 *   plan_wait(t, pr, msg, ms)      still working (a pod coming back, a Job)
 *   plan_blocked(t, pr, msg)       a safety check said not yet: waits with
 *                                   backoff (1 s doubling to 30 s), the message
 *                                   says what blocks
 *   plan_fail(t, pr, code, msg)    cannot proceed: the operation FAILED
 *   plan_save(t, pr, msg)          before an action that must not repeat
 *                                   (deleting a pod): saves the scratch, and
 *                                   answers false when the operation was
 *                                   cancelled meanwhile (then do nothing:
 *                                   this is the safe point cancel stops at)
 * A transient Kubernetes failure returns call_failed(t, ...) as the
 * reconciler's steps do (pool backoff, the data plane's circuit); a
 * permanent one fails the operation. */
#ifndef SP_WORKERS_PLANS_H
#define SP_WORKERS_PLANS_H

#include "turn.h"
#include "../core/ops.h"
#include "../core/plan.h"

#define PLAN_STEP_DONE (INT_MIN + 1)

typedef struct plan_run {
    store_op *op;               /* the operation (its plan is op->plan) */
    const char *name;           /* the step's name */
    const json_t *args;         /* its arguments (may be NULL) */
    json_t *scratch;            /* where inside the step it is (persisted) */
    bool plan_changed;          /* the executor changed the plan or scratch */
    bool skipped;               /* PLAN_STEP_DONE: nothing needed doing */
    char msg[700];              /* PLAN_STEP_DONE: what the step did */
    const sp_clock *clock;      /* NULL: real time */
} plan_run;

typedef int (*plan_exec_fn)(kturn *t, plan_run *pr);

int plan_wait(kturn *t, plan_run *pr, const char *msg, int ms);
int plan_blocked(kturn *t, plan_run *pr, const char *msg);
int plan_fail(kturn *t, plan_run *pr, const char *code, const char *msg);
bool plan_save(kturn *t, plan_run *pr, const char *msg);

/* Fails the cluster's current operation, whatever it is (a pod that cannot
 * start while an operation without a plan waits for it). */
int plans_fail_current(kturn *t, const char *code, const char *msg);

/* What plan_for needs to know of the cluster. */
typedef struct plan_in {
    int controllers, brokers;          /* pods of each role the cluster has now */
    const char *from_release, *to_release;  /* resolved; to NULL or equal: no upgrade */
} plan_in;

/* The plan for an operation of this type with these changes
 * ({field: {from, to}}), or NULL when the type has none (it runs the
 * reconciler's plain apply-and-wait). Pure. */
json_t *plan_for(op_type type, const json_t *changes, const plan_in *in);

/* Is this broker config applied by Kafka without a restart (cluster-wide
 * dynamic)? Anything else rolls. */
bool plan_config_dynamic(const char *name);

/* The plan turn (reconcile.c's kube_turn calls it after step_needed):
 * NEXT when the current operation has no plan (the reconciler goes on),
 * else the turn's result. */
int plans_turn(kturn *t);

/* Executors (roll.c). */
int exec_find_leader(kturn *t, plan_run *pr);
int exec_restart_pod(kturn *t, plan_run *pr);
int exec_alter_configs(kturn *t, plan_run *pr);
int exec_metadata_version(kturn *t, plan_run *pr);

#endif
