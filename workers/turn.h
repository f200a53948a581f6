/* turn.h — one worker turn of a cluster on its data plane, as the
 * reconciler (reconcile.c) and the plan executors (plans.c, roll.c, and the
 * scale and storage steps) share it. Internal to workers/.
 *
 * A turn returns what pool.h's reconcile_fn returns: 0 nothing more to do,
 * > 0 look again after that many ms, < 0 failed (the pool backs off). */
#ifndef SP_WORKERS_TURN_H
#define SP_WORKERS_TURN_H

#include <limits.h>
#include <stdbool.h>
#include "reconcile.h"
#include "kube/client.h"

typedef struct kturn {
    reconciler *rc;
    store_t *st;
    store_res *r;               /* the cluster row read at the turn's start */
    kube_client *c;
    json_t *plane;              /* the data plane's spec (a reference) */
    char ns[128];
    char started[SP_TS_MAX];
    char err[600];
    kube_rc krc;                /* the outcome that counts for the circuit */
    bool called;                /* a call went to the data plane */
    kube_err e;
    int64_t finish_gen;         /* step_converge finishes operations up to this
                                   generation (0: the cluster's) */
} kturn;

/* A step's answer when the turn goes on to the next step; any other value
 * is the turn's result. */
#define NEXT INT_MIN

/* The reconciler's steps (reconcile.c), reused by the plan executors. */
typedef struct pod_counts { int cready, cwant, bready, bwant; } pod_counts;
int step_apply(kturn *t);
int step_wait_pods(kturn *t, pod_counts *p);
/* The end of every kube turn: pods ready, external addresses, Kafka lists
 * every broker; then the operations up to t->finish_gen succeed and the
 * cluster turns RUNNING (or DEGRADED), with what runs in status. */
int step_finish(kturn *t);

/* Shows what the cluster's current operation waits for (step NULL: only
 * the condition), in one transaction. */
int note_progress(store_t *st, const char *cluster_id, const char *step, const char *msg, int percent,
                  const char *cond, const char *cond_status, const char *cond_reason);
/* After a failed Kubernetes call (t->krc, t->err): the condition says
 * whether the data plane is unreachable (transient: -1, the pool backs off)
 * or refused (permanent). */
int call_failed(kturn *t, const char *step, int percent);

/* The Kafka route of the cluster (bootstrap servers streamplane can reach),
 * or NULL with *why. */
const char *turn_kafka_route(kturn *t, const char **why);

#endif
