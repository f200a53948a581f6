/* kafka_sim.h — a fake Kafka cluster that speaks the Kafka wire protocol
 * (issue 5), for tests that drive streamplane's real librdkafka client.
 *
 * One ksim_kafka runtime owns one event-loop thread (epoll) that serves every
 * broker of every cluster created in it, so kube-sim can back hundreds of
 * simulated Kafka clusters without a thread each. All functions are
 * thread-safe (one mutex per runtime; the loop thread takes it per request).
 *
 * A broker has zero or more listeners (name, host, port). A listener binds
 * only while the broker is up; a broker that goes down closes its listening
 * sockets and every connection accepted on them, drops out of every ISR and
 * loses its leaderships. Metadata answered on a connection accepted by
 * listener L lists the up brokers that have a listener named L, with that
 * listener's host:port (as Kafka answers with the listener the request came in on). */
#ifndef KAFKA_SIM_H
#define KAFKA_SIM_H

#include <stdbool.h>
#include <stddef.h>

typedef struct kfs_runtime kfs_runtime;
typedef struct kfs_cluster kfs_cluster;

/* Starts the loop thread. NULL on failure. */
kfs_runtime *kfs_runtime_new(void);
/* Stops the loop thread, closes every socket, frees every cluster. */
void kfs_runtime_free(kfs_runtime *rt);

typedef struct kfs_options {
    const char *cluster_id;      /* reported in Metadata v2+; NULL = generated */
    int rejoin_delay_ms;         /* broker up -> back in each ISR after this; default 0 */
    long reassign_bytes_per_sec; /* catch-up rate for reassigned replicas when no throttle is set;
                                    0 = instant */
    int default_partitions;      /* num.partitions, default 1 */
    int default_replication;     /* default.replication.factor, default min(3, brokers) */
    int min_insync_replicas;     /* broker default for min.insync.replicas, default 1 */
} kfs_options;

/* An empty cluster (no brokers yet). opts may be NULL. */
kfs_cluster *kfs_cluster_new(kfs_runtime *rt, const kfs_options *opts);
/* Closes its sockets and frees it. */
void kfs_cluster_free(kfs_cluster *c);

/* Adds a broker (down, no listeners) with this node id and rack (NULL = none).
 * 0, or -1 if the id exists. */
int kfs_broker_add(kfs_cluster *c, int node_id, const char *rack);
/* Removes a broker from the cluster (its replicas stay in replica lists, offline). */
int kfs_broker_remove(kfs_cluster *c, int node_id);
/* Adds or replaces listener `name` of a broker. port 0 = pick a free port (see
 * kfs_broker_port). If the broker is up, (re)binds now. 0, or -1 with errno
 * (e.g. EADDRINUSE). */
int kfs_broker_listen(kfs_cluster *c, int node_id, const char *name, const char *host, int port);
/* Up: binds its listeners; after rejoin_delay_ms rejoins the ISR of every
 * partition it replicates, and takes back leadership of partitions where it is
 * the preferred (first) replica once in sync. Down: closes sockets, leaves
 * every ISR, hands leadership to the next in-sync replica (or leader -1).
 * 0, or -1 (no such broker, or a bind failed: errno set). */
int kfs_broker_set_up(kfs_cluster *c, int node_id, bool up);
/* The bound port of a listener (useful after port 0), or -1. */
int kfs_broker_port(kfs_cluster *c, int node_id, const char *listener);
/* "host:port,host:port" of the up brokers' listener `name`; caller frees. */
char *kfs_bootstrap(kfs_cluster *c, const char *listener);

/* Model manipulation for tests (all return 0, or -1 if unknown). */
/* Replicas round-robin over all brokers (partition p starts at the p-th broker by id);
 * partitions/replication <= 0 mean the cluster defaults. -1 if it exists, the name is
 * invalid or replication exceeds the broker count. */
int kfs_topic_create(kfs_cluster *c, const char *topic, int partitions, int replication);
/* The same with topic configs: kv is name, value, name, value, …, NULL. */
int kfs_topic_create_configs(kfs_cluster *c, const char *topic, int partitions, int replication,
                             const char *const *kv);
/* Forces a partition's leader (-1 = leaderless/offline) without changing replicas.
 * A leader other than -1 must be an up replica (it joins the ISR). */
int kfs_partition_set_leader(kfs_cluster *c, const char *topic, int partition, int leader);
/* Starts a reassignment to `replicas` (n ids); the partition's data size is
 * `bytes` (for the catch-up rate). Target replicas are added at once (as
 * adding replicas), caught up at the rate (or the throttle set on the
 * brokers: leader/follower.replication.throttled.rate), then the removed
 * ones are dropped. -1 also for unknown or duplicate broker ids in `replicas`. */
int kfs_partition_reassign(kfs_cluster *c, const char *topic, int partition,
                           const int *replicas, int n, long bytes);
/* True while any reassignment is in progress. */
bool kfs_reassign_active(kfs_cluster *c);
/* Consumer group with a committed offset (creates group/topic entries as needed). */
int kfs_group_commit(kfs_cluster *c, const char *group, const char *topic, int partition, long offset);
/* Sets a partition's log end offset. */
int kfs_partition_set_end_offset(kfs_cluster *c, const char *topic, int partition, long offset);
/* Sets a partition's data size in bytes, used by kfs_reassign_execute for the
 * catch-up time (default: log end offset x 1 KiB). */
int kfs_partition_set_size(kfs_cluster *c, const char *topic, int partition, long bytes);

/* What kafka-reassign-partitions.sh --execute does with a plan file
 * ({"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,2,3]}]}),
 * with `throttle` bytes/s (-1 = none): starts the reassignments. *out_log gets
 * the text that tool prints (caller frees). 0, or -1 with the tool's error text. */
int kfs_reassign_execute(kfs_cluster *c, const char *plan_json, long throttle, char **out_log);
/* What kafka-reassign-partitions.sh --verify prints for that plan (per
 * partition "Reassignment of partition t-0 is completed." / "...is still in
 * progress."), and whether all are complete. */
int kfs_reassign_verify(kfs_cluster *c, const char *plan_json, bool *complete, char **out_log);

/* KRaft controller quorum (controllers serve no client requests here). */
int kfs_controller_add(kfs_cluster *c, int node_id);
int kfs_controller_set_up(kfs_cluster *c, int node_id, bool up);
/* What kafka-metadata-quorum.sh describe --status prints (ClusterId,
 * LeaderId, LeaderEpoch, HighWatermark, MaxFollowerLag, CurrentVoters, ...).
 * The leader is the lowest up controller id while a majority is up; else no leader (-1). */
char *kfs_quorum_status(kfs_cluster *c);

/* The whole model as JSON (brokers with up/listeners, topics with partitions:
 * leader, replicas, isr, adding/removing replicas, configs, acls, groups);
 * caller frees. */
char *kfs_model_json(kfs_cluster *c);

#endif
