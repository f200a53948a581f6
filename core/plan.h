/* plan.h — operations that are plans (issue 13).
 *
 * An operation that changes a running cluster (a roll, an upgrade, a config
 * change; scale-out/in, storage growth and rebalance plug in the same way)
 * carries a plan: its own ordered list of steps, each of a kind, with a name
 * unique in the plan and the arguments the kind needs ("restart pod
 * kafka-broker-2", {"pod": "kafka-broker-2", "role": "broker", "node": 2}).
 * The plan lives in the operation's row (store_op.plan, JSON) together with
 * its position: the cursor (the step under way) and that step's scratch
 * object (where inside the step it is: the uid of the pod it deleted, the
 * batch it started), so a streamplane killed at any instant resumes exactly
 * there. Shape:
 *
 *   {"path": "why this sequence (shown as the operation's path)",
 *    "cursor": 2, "attempts": 3,
 *    "steps": [{"kind": "APPLY", "name": "apply objects"}, ...],
 *    "at": {...the current step's scratch...}}
 *
 * What a client sees is the operation's `steps` array (ops.h): a plan step
 * appears there when it starts (RUNNING, started_at), and ends SUCCEEDED,
 * SKIPPED or FAILED with finished_at; one RUNNING at a time, no name twice.
 * Steps not started yet are not shown (they are in the plan, and counted in
 * progress_percent).
 *
 * Who does what:
 *  - core/plan (this file): the plan as data. Pure functions on the JSON,
 *    no store, no clock, no Kubernetes: unit-testable as they are.
 *  - core/ops: the transactions that move an operation along its plan
 *    (ops_plan_set, ops_plan_note, ops_plan_end_step, ops_fail).
 *  - workers/plans.c: builds an operation's plan when it starts and runs the
 *    current step through the executor registered for its kind
 *    (workers/plans.h says how to add a kind).
 *
 * Cost: a plan is a JSON array of one small object per step; the largest
 * today is a roll, 1 + controllers + brokers + 3 steps (a 300-broker cluster:
 * ~300 objects, ~40 KiB), read and written with the operation row on every
 * step change (not on polls that change nothing). */
#ifndef SP_CORE_PLAN_H
#define SP_CORE_PLAN_H

#include <jansson.h>
#include <stdbool.h>

/* Step kinds. Persisted by name (plan_kind_name); add new kinds before
 * PSTEP__COUNT and their names in plan.c's table. */
typedef enum {
    PSTEP_APPLY = 0,          /* apply the rendered objects of the current spec; wait until
                                 both StatefulSets report every pod ready */
    PSTEP_FIND_LEADER,        /* read the KRaft quorum's leader (a Job running
                                 kafka-metadata-quorum.sh) and put its restart last */
    PSTEP_RESTART_POD,        /* one pod, safely (workers/roll.c) */
    PSTEP_ALTER_CONFIGS,      /* dynamic broker configs, live (AlterConfigs read-merge-write) */
    PSTEP_METADATA_VERSION,   /* raise the metadata version once every pod runs the release */
    PSTEP_CONVERGE,           /* the last step of every plan: every broker in metadata, the
                                 operation (and those queued up to its generation) succeed */
    PSTEP__COUNT
} pstep_kind;

const char *plan_kind_name(pstep_kind k);
pstep_kind plan_kind_parse(const char *s);     /* PSTEP__COUNT if unknown */

/* What a client sees of a step (the operation's `steps`). */
typedef enum { STEP_RUNNING = 0, STEP_SUCCEEDED, STEP_FAILED, STEP_SKIPPED, STEP__COUNT } step_state;
const char *step_state_name(step_state s);
step_state step_state_parse(const char *s);    /* STEP__COUNT if unknown */

/* A new empty plan; path says which sequence and why ("upgrade 3.9.1 ->
 * 4.1.0: every pod rolls onto the new image, then ..."). */
json_t *plan_new(const char *path);
/* Appends a step (args stolen, NULL for none). -1 if the name is already
 * in the plan (names are unique: a client tells steps apart by name). */
int plan_add(json_t *plan, pstep_kind kind, const char *name, json_t *args);
/* Inserts a step right after the cursor's step (a step that learns what
 * must follow it, e.g. the planner of a reassignment). -1 on a taken name. */
int plan_insert_next(json_t *plan, pstep_kind kind, const char *name, json_t *args);

int plan_len(const json_t *plan);
int plan_cursor(const json_t *plan);
bool plan_done(const json_t *plan);
const char *plan_path(const json_t *plan);
/* Step i (borrowed) with its kind, name and args; NULL past the end. */
const json_t *plan_step(const json_t *plan, int i, pstep_kind *kind, const char **name, const json_t **args);
/* The step under way (the cursor's), or NULL when every step ran. */
const json_t *plan_current(const json_t *plan, pstep_kind *kind, const char **name, const json_t **args);
/* The current step's scratch object (borrowed; created empty if absent):
 * where inside the step the operation is. Persisted with the plan. */
json_t *plan_scratch(json_t *plan);
/* Moves on to the next step: cursor + 1, scratch and attempts reset. */
void plan_advance(json_t *plan);
/* Moves step from to position to (the others keep their order), both after
 * the cursor (not started): -1 otherwise. */
int plan_move(json_t *plan, int from, int to);

/* Waits of the current step that found it blocked (reset by plan_advance). */
int plan_attempts(const json_t *plan);
void plan_attempt(json_t *plan);
/* The wait after n blocked attempts: 1 s doubling to 30 s (never 0). */
int plan_backoff_ms(int attempts);

/* Has the plan restarted (or begun to restart) any pod? A cancelled
 * upgrade that did keeps its new release as the target: no pod goes down. */
bool plan_rolled_any(const json_t *plan);

/* Progress of a plan as a client sees it: steps done of all, 5..99. */
int plan_percent(const json_t *plan);

#endif
