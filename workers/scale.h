/* scale.h — the plan steps of scale-out, scale-in, storage growth and
 * rebalance (issue 13), run by plans.c. Internal to workers/.
 *
 *   REASSIGN         partitions move until replicas and leaders are even
 *                    over brokers 0..n-1 (reassign.h: throttled batches as
 *                    Jobs running kafka-reassign-partitions.sh); with
 *                    "drain" (scale-in) every replica leaves brokers n and
 *                    above, and a drain that cannot happen (a topic's
 *                    replication factor above n, no route to Kafka) fails
 *                    the operation and puts the cluster's spec back, so
 *                    nothing lowers the StatefulSet afterwards
 *   GROW_CLAIMS      every broker's claim patched to storage_gib and grown
 *                    (storage.h); a class that cannot expand fails the
 *                    operation before any claim changes, and the spec goes
 *                    back
 *   RELEASE_BROKERS  after the StatefulSet went down: the leaving pods are
 *                    gone; their external Services are deleted, and their
 *                    claims too when delete_volumes_on_scale_in is true
 *
 * scale_plan_for adds these steps around the plan roll's plan_for made. */
#ifndef SP_WORKERS_SCALE_H
#define SP_WORKERS_SCALE_H

#include "plans.h"

int exec_reassign(kturn *t, plan_run *pr);
int exec_grow_claims(kturn *t, plan_run *pr);
int exec_release_brokers(kturn *t, plan_run *pr);

/* The plan of an operation whose changes ({field: {from, to}}) move
 * brokers or storage, or of a REBALANCE: plan (stolen; NULL when none) with
 * the steps above around it, ending with CONVERGE. Any other operation
 * gets plan back unchanged. Pure. */
json_t *scale_plan_for(json_t *plan, op_type type, const json_t *changes);

#endif
