/* planner.h — partition reassignment planning for scale-out, scale-in and
 * rebalance (DESIGN.md §5 "Scale out", "Scale in"; issue 13).
 *
 * Pure computation: no Kafka client, no Kubernetes, no API types. The caller
 * describes a cluster (brokers with racks, and every partition's replica list
 * with the preferred leader first, as Kafka metadata gives them), names the
 * brokers that must hold replicas afterwards (the target set; every other
 * broker is leaving and ends with no replica), and gets back a plan: for each
 * partition that changes, its new replica list. The plan
 *   - never changes a partition's replication factor;
 *   - empties every leaving broker;
 *   - keeps each partition's replicas on distinct racks where the racks allow
 *     (with more replicas than racks: as evenly over the racks as possible);
 *   - evens replicas over the target brokers (max - min <= 1 when the racks
 *     allow; with uneven racks each rack's brokers share its replicas
 *     evenly) with as few replica moves as reaching that balance needs: only
 *     replicas above a broker's target count move, each straight to a broker
 *     below its target;
 *   - evens preferred leaders over the target brokers (max - min <= 1) by
 *     reordering replica lists, which moves no data, changing as few
 *     partitions' preferred leader as it can;
 *   - is cut into batches of at most max_moves replica moves, each batch the
 *     JSON kafka-reassign-partitions.sh --execute takes.
 * A replica move is one broker added to a partition's replica set (and one
 * removed): one copy of the partition's data over the network. A leader
 * change is a partition whose first replica (its preferred leader) differs;
 * Kafka moves leadership there at the next preferred leader election
 * (auto.leader.rebalance.enable, or kafka-leader-election.sh --election-type
 * preferred), without copying data.
 *
 * Not thread-safe per object; distinct objects may be used from distinct
 * threads. Errors are planner_err values; planner_strerror() names them. */
#ifndef SP_KAFKA_PLANNER_H
#define SP_KAFKA_PLANNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bounds (validated on input). Brokers and racks are indexed with uint16_t;
 * a partition's replica list is copied into fixed arrays of PLANNER_MAX_RF. */
#define PLANNER_MAX_BROKERS   1024
#define PLANNER_MAX_RF        32
#define PLANNER_MAX_TOPIC_LEN 249   /* Kafka's own limit */
#define PLANNER_MAX_RACK_LEN  63

typedef enum planner_err {
    PLANNER_OK = 0,
    PLANNER_ERR_NOMEM,              /* out of memory (transient) */
    PLANNER_ERR_INVALID,            /* malformed input: bad id, name, RF, unknown broker */
    PLANNER_ERR_DUPLICATE,          /* a broker, topic, partition or replica given twice */
    PLANNER_ERR_TOO_MANY,           /* above PLANNER_MAX_BROKERS or PLANNER_MAX_RF */
    PLANNER_ERR_NO_TARGET,          /* the target set is empty or names an unknown broker */
    PLANNER_ERR_NOT_ENOUGH_BROKERS, /* a topic's RF exceeds the target brokers (API: 422) */
} planner_err;

const char *planner_strerror(planner_err e);
/* True when the same call may succeed later (only NOMEM). */
bool planner_err_transient(planner_err e);

/* ---- describing a cluster ----
 * Cost: 72 bytes per broker, 8 + 2 x RF bytes per partition plus one
 * pointer and the name per topic: the synthetic 12,000-partition cluster
 * (1,000 topics, RF 3) takes about 0.3 MB. Bounded by PLANNER_MAX_BROKERS,
 * PLANNER_MAX_RF and the caller's topic count (int). */
typedef struct planner_cluster planner_cluster;

planner_cluster *planner_cluster_new(void);
void planner_cluster_free(planner_cluster *c);
/* id >= 0, unique; rack NULL or "" when the broker has none (a broker
 * without a rack counts as a rack of its own). Add every broker before the
 * partitions that name it, including new brokers that hold nothing yet. */
planner_err planner_add_broker(planner_cluster *c, int32_t id, const char *rack);
/* A topic name as Kafka allows it ([a-zA-Z0-9._-], 1..249); returns its
 * index (>= 0) or -planner_err. Names are unique. */
int planner_add_topic(planner_cluster *c, const char *name);
/* replicas: broker ids, preferred leader first, distinct, all added before;
 * 1 <= rf <= PLANNER_MAX_RF; (topic, partition) unique; partition >= 0. */
planner_err planner_add_partition(planner_cluster *c, int topic, int32_t partition,
                                  const int32_t *replicas, int rf);

int planner_cluster_partitions(const planner_cluster *c);
int planner_cluster_brokers(const planner_cluster *c);

/* ---- balance report ----
 * Replicas and preferred leaders per broker and per rack of any assignment
 * (the current one, or the one a plan leads to). Skews are max - min over
 * the target brokers. Cost: 24 bytes per broker, 80 per rack. */
typedef struct planner_broker_load {
    int32_t id;
    int rack;              /* index into racks[] */
    bool target;           /* false: leaving, should hold nothing */
    int replicas, leaders;
} planner_broker_load;

typedef struct planner_rack_load {
    char name[PLANNER_MAX_RACK_LEN + 1];   /* "" for a broker without rack */
    int brokers;           /* target brokers in it */
    int replicas, leaders;
} planner_rack_load;

typedef struct planner_balance {
    int nbrokers, nracks;
    planner_broker_load *brokers;   /* in the order added */
    planner_rack_load *racks;
    int partitions, replicas;
    int replica_skew, leader_skew;  /* max - min over target brokers */
    int replicas_min, replicas_max, leaders_min, leaders_max;
    int on_leaving;                 /* replicas still on leaving brokers */
    int rack_violations;            /* partitions not spread over racks as well as they could be */
} planner_balance;

/* ---- the plan ---- */
typedef struct planner_options {
    const int32_t *target;   /* brokers that hold replicas afterwards; NULL: every broker */
    int ntarget;
    int max_moves_per_batch; /* <= 0: one batch */
    int max_partitions_per_batch; /* <= 0: no bound; partitions whose only
                                     change is the leader order count here */
} planner_options;

/* One partition that changes. Cost: 16 bytes + 2 x 4 x RF per entry; at most
 * one entry per partition (the synthetic 3->6 plan: 12,000 entries, 0.4 MB). */
typedef struct planner_change {
    int partition_index;      /* order of planner_add_partition, from 0 */
    const char *topic;        /* borrowed from the cluster */
    int32_t partition;
    int rf;
    const int32_t *current;   /* preferred leader first */
    const int32_t *replicas;  /* the new list, preferred leader first */
    int moves;                /* brokers in replicas that are not in current */
    int batch;                /* 0-based */
} planner_change;

typedef struct planner_plan planner_plan;

/* Builds the plan from the cluster's current assignment. The cluster must
 * outlive the plan (the plan borrows topic names). */
planner_err planner_plan_build(const planner_cluster *c, const planner_options *o,
                               planner_plan **out);
void planner_plan_free(planner_plan *p);

int planner_plan_changes(const planner_plan *p);       /* partitions that change */
const planner_change *planner_plan_change(const planner_plan *p, int i); /* in batch order */
int planner_plan_batches(const planner_plan *p);
long planner_plan_moves(const planner_plan *p);        /* replica moves in all */
long planner_plan_leader_changes(const planner_plan *p); /* partitions with a new preferred leader */
/* True when the result empties every leaving broker, gives every target
 * broker its replica share (floor or ceil of its rack's share, so replica
 * skew <= 1 when every rack has as many target brokers) and leader skew <=
 * 1. False only when replica sets or racks leave no way to; the balance
 * report then says how far it got. */
bool planner_plan_balanced(const planner_plan *p);

/* The assignment before (after = false) or after the plan. Free with
 * planner_balance_free. NOMEM only. */
planner_err planner_plan_balance(const planner_plan *p, bool after, planner_balance *out);
/* The current assignment against a target set (NULL: every broker). */
planner_err planner_cluster_balance(const planner_cluster *c, const int32_t *target, int ntarget,
                                    planner_balance *out);
void planner_balance_free(planner_balance *b);
/* The report as JSON (for GET /v1/clusters/{id}/balance and the rebalance
 * dry run): {"brokers":[{"id","rack","leaving","replicas","leaders"}],
 * "racks":[{"rack","brokers","replicas","leaders"}],"partitions","replicas",
 * "replica_skew","leader_skew","replicas_on_leaving_brokers",
 * "rack_violations"}; a broker without rack has "rack": null. malloc'd;
 * NULL when out of memory. */
char *planner_balance_json(const planner_balance *b);

/* {"version":1,"partitions":[{"topic":..,"partition":..,"replicas":[..]},..]}
 * for one batch (batch >= 0) or the whole plan (batch < 0). rollback = true
 * writes the current lists of the same partitions instead (what reverts the
 * batch). malloc'd, NUL-terminated; NULL when out of memory. */
char *planner_plan_json(const planner_plan *p, int batch, bool rollback);

#endif
