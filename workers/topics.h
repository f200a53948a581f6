/* topics.h — the topic worker (issue 14) and the live Kafka reads the API
 * asks for (topics Kafka has, consumer groups and their lag).
 *
 * One work-queue key per cluster, "topics/<cluster id>": a turn reads the
 * cluster's declared topics and, when the cluster is ready and streamplane
 * can reach its brokers, makes Kafka match them through the shared pool of
 * librdkafka handles (workers/kafka/admin.h): deletions first (so a name
 * deleted and declared again is free), then creations, added partitions
 * and config changes. Each topic's outcome is written in its own short
 * transaction, and only when it changed. While the cluster is still
 * provisioning the turn comes back every TOPICS_WAIT_MS; with pending work
 * it comes back after TOPICS_RETRY_MS; transient Kafka failures back off. */
#ifndef SP_WORKERS_TOPICS_H
#define SP_WORKERS_TOPICS_H

#include <jansson.h>
#include "reconcile.h"
#include "../core/topic.h"

#define TOPICS_WAIT_MS 2000
#define TOPICS_RETRY_MS 1000

/* pool.h's reconcile_fn for keys "topics/<cluster id>" (ctx: the reconciler). */
int topics_reconcile(void *ctx, const char *key);

/* For the API (api_env.kafka_read, ctx: the kafka_pool): one live read of
 * the cluster whose status and data plane are given. KREAD_TOPICS:
 * [{name, partitions, replication_factor, internal}]; KREAD_GROUPS:
 * [{group_id, state, simple}]; KREAD_GROUP: the group (admin.h). NULL with
 * *rc and err on failure. */
json_t *topics_read_live(void *pool, kread_kind what, const char *cluster_id, const json_t *status,
                         const json_t *plane_spec, const char *group, int timeout_ms, kread_rc *rc, char *err,
                         size_t errlen);

#endif
