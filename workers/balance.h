/* balance.h — how evenly a Kafka cluster's replicas and leaders sit on its
 * brokers and racks, and the reassignment plans that even them (issue 13:
 * GET /v1/clusters/{id}/balance, the rebalance dry run, and the plans of
 * scale-out, scale-in and rebalance operations).
 *
 * Replicas, leaders and ISR come from live Kafka metadata (kafka/topology.h).
 * librdkafka 2.0.2's metadata has no racks, so a broker's rack is what
 * launch.sh makes broker.rack from: the topology.kubernetes.io/zone label
 * of the node its pod runs on (multi_zone clusters only; single_zone ones
 * set no rack). The planner (kafka/planner.h) does the arithmetic. */
#ifndef SP_BALANCE_H
#define SP_BALANCE_H

#include <jansson.h>
#include <stdbool.h>
#include "kafka/topology.h"
#include "kafka/planner.h"
#include "kube/client.h"

/* Brokers a cluster may have (the API allows 100). */
#define BALANCE_MAX_BROKERS 128

/* Racks of brokers 0..n-1 ("" when unknown). Cost: 8 KB, fixed. */
typedef struct broker_racks {
    int n;
    char rack[BALANCE_MAX_BROKERS][64];
} broker_racks;

/* Racks from Kubernetes: the zone label of the node each broker pod of
 * namespace ns runs on (brokers 0..n-1; a broker without pod or node has
 * ""). One list of the brokers' pods and one of the nodes. */
kube_rc balance_racks(kube_client *c, const char *ns, int n, broker_racks *out, kube_err *e);

/* The planner's view of a layout: brokers 0..want-1, every broker metadata
 * lists and every one a replica list names, with racks from r (NULL or
 * "": none); every partition. NULL with *perr. */
planner_cluster *balance_cluster(const kafka_topology *l, const broker_racks *r, int want, planner_err *perr);

/* The largest replication factor of any partition (0 with none) and the
 * first topic that has it (*topic borrowed from l, NULL with none). */
int balance_max_rf(const kafka_topology *l, const char **topic);
/* Replicas broker id holds. */
int balance_replicas_on(const kafka_topology *l, int32_t id);
/* Partitions not settled enough to plan moves from: no leader, an ISR
 * short of the replicas, or more replicas than the topic's others (a
 * reassignment still adding some). */
int balance_unsettled(const kafka_topology *l);

/* Brokers 0..n-1 as a target list (n <= BALANCE_MAX_BROKERS). */
void balance_targets(int n, int32_t *out);

/* The balance report of a layout against target brokers 0..ntarget-1:
 * planner_balance_json's shape with each broker's and rack's "leaders"
 * being the current leaders (metadata) and "preferred_leaders" the first
 * replicas; "leader_skew" over current leaders, "preferred_leader_skew"
 * over preferred ones. NULL when out of memory. */
json_t *balance_report(const kafka_topology *l, const planner_cluster *pc, int ntarget);

/* What a plan does, as the rebalance dry run answers it: {"partitions",
 * "replica_moves", "leader_changes", "batches", "balanced",
 * "reassignment": the whole plan as kafka-reassign-partitions.sh takes it,
 * "after": the balance the plan leads to}. NULL when out of memory. */
json_t *balance_plan_view(const planner_plan *pl, bool with_reassignment);

/* For the API (api_env.layout_read; ctx: the kafka_pool): the cluster's
 * live layout. cluster: the cluster as GET answers it (id, brokers,
 * status with bootstrap addresses and availability); plane: the data
 * plane's spec with its credentials in "kubernetes" (for the racks).
 * ask: {"brokers": target count (default the cluster's), "plan": bool,
 * "max_moves_per_batch": n, "rf_only": bool (only the replication factors:
 * no racks, no report)}. Answers {"balance": report, "max_replication_factor",
 * "max_replication_factor_topic", and with plan: "plan": balance_plan_view}
 * or NULL with why (Kafka or Kubernetes not reachable; *no_route when
 * streamplane has no route to this cluster's Kafka at all). */
json_t *balance_read_live(void *ctx, const json_t *cluster, const json_t *plane, const json_t *ask, int timeout_ms,
                          bool *no_route, char *why, size_t whylen);

#endif
