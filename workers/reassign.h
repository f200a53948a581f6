/* reassign.h — moves partitions until a cluster's replicas and leaders are
 * even over a target set of brokers (0..ntarget-1), in throttled batches
 * run by Kafka's own kafka-reassign-partitions.sh in Kubernetes Jobs (the
 * scale-out, scale-in and rebalance operations of issue 13).
 *
 * One call does the next step and returns; the caller persists x->state
 * (a small JSON object) after every call that returns, and calls again
 * after x->wait_ms. The steps, per batch b:
 *   plan     read live metadata; plan from what is (balance.h); nothing to
 *            move: finish (below); else write batch b's plan and rollback
 *            into ConfigMap sp-reassign-<tag>-<b> (the Jobs of batch b-1
 *            are deleted here)
 *   execute  Job sp-reassign-<tag>-<b>-execute: --execute --throttle;
 *            created only here, so a crash before the state with "execute"
 *            was persisted re-plans and overwrites the ConfigMap, and one
 *            after finds the Job
 *   settle   metadata shows every partition of the batch on its new
 *            replicas (in order) with a full ISR
 *   verify   Job …-<b>-verify: --verify, which reports every partition
 *            completed and removes the throttles; then batch b+1 (plan)
 * Re-planning from live metadata before each batch makes every step
 * idempotent and lets a restart resume where it stopped. Finishing: when a
 * plan has nothing left to move, metadata must show no replica on a
 * broker outside the target (else FAILED), and when current leaders are
 * uneven (skew > 1) a Job runs kafka-leader-election.sh --election-type
 * PREFERRED once.
 *
 * Cost per call: one metadata read (at most), a few Kubernetes calls, and
 * a plan (planner.h: milliseconds for 36,000 replicas). */
#ifndef SP_REASSIGN_H
#define SP_REASSIGN_H

#include <jansson.h>
#include <stdbool.h>
#include "balance.h"
#include "kafka/health.h"
#include "kube/client.h"
#include "../core/cluster.h"

#define REASSIGN_MOVES_PER_BATCH 50           /* replica moves per batch */
#define REASSIGN_THROTTLE_BYTES  (50L << 20)  /* replication throttle while moving, bytes/s */

typedef enum {
    RS_DONE = 0,   /* balanced over the target, throttles removed */
    RS_WAIT,       /* call again after wait_ms (x->msg says what for) */
    RS_FAILED,     /* cannot go on (x->msg says why): permanent */
    RS_KUBE,       /* a Kubernetes call failed (x->krc, x->e): the caller's circuit decides */
} reassign_result;

typedef struct reassign_ctx {
    /* in */
    kube_client *c;
    const char *ns;
    const cluster_spec *spec;       /* id; availability decides racks */
    kafka_pool *kafka;
    const char *bootstrap;          /* how streamplane reaches Kafka */
    int kafka_timeout_ms;
    int ntarget;                    /* brokers 0..ntarget-1 hold everything afterwards */
    const char *tag;                /* unique per operation, DNS-label safe, <= 24 chars */
    int max_moves_per_batch;        /* <= 0: REASSIGN_MOVES_PER_BATCH */
    long throttle_bytes;            /* <= 0: REASSIGN_THROTTLE_BYTES */
    json_t *state;                  /* in/out: the position (an object; {} to start) */
    /* out */
    char msg[600];                  /* what it waits for or did, for the operation's step */
    int percent;                    /* 0..100 of this work */
    int wait_ms;
    bool called;                    /* a call went to the data plane */
    kube_rc krc;
    kube_err e;
} reassign_ctx;

reassign_result reassign_step(reassign_ctx *x);

/* Names of the step the state is in: "plan", "execute", "settle",
 * "verify", "elect", "done". */
const char *reassign_phase(const json_t *state);

#endif
