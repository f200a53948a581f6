/* admin.h — the Kafka admin calls streamplane makes for declared topics and
 * the consumer-group reading (issue 14), on librdkafka 2.0.2 (Debian's).
 *
 * Checked in its rdkafka.h: CreateTopics, CreatePartitions, DeleteTopics,
 * DescribeConfigs, AlterConfigs, ListConsumerGroups, DescribeConsumerGroups
 * and ListConsumerGroupOffsets exist; IncrementalAlterConfigs and ListOffsets
 * (the admin call) do not. So:
 *  - a topic's config is changed by AlterConfigs, which replaces the
 *    topic's whole set of dynamic configs: the caller reads the set
 *    (DescribeConfigs, entries whose source is DYNAMIC_TOPIC_CONFIG),
 *    merges, and writes the whole set back (kadm_topic_config_merge);
 *  - log-end offsets come from rd_kafka_offsets_for_times with the
 *    "latest" timestamp (-1), one ListOffsets request per leader for every
 *    partition at once (query_watermark_offsets would be one request per
 *    partition);
 *  - ListConsumerGroupOffsets takes one group per call.
 *
 * Every call is synchronous on a temporary queue and bounded by timeout_ms;
 * none keeps state between calls. Results that are lists are JSON (the API
 * answers them as they are); errors come back as kadm_err with Kafka's own
 * words in err. */
#ifndef SP_KAFKA_ADMIN_H
#define SP_KAFKA_ADMIN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct rd_kafka_s;

typedef enum kadm_err {
    KADM_OK = 0,
    KADM_UNREACHABLE,   /* no broker answered in time (transient) */
    KADM_RETRY,         /* Kafka answered "not now": a topic still being deleted, no
                           controller yet, a coordinator loading (transient) */
    KADM_EXISTS,        /* the topic exists already */
    KADM_NOT_FOUND,     /* no such topic or group */
    KADM_REFUSED,       /* Kafka refused the request as asked (permanent: bad name,
                           config, replication factor, authorization) */
    KADM_NOMEM,
} kadm_err;

const char *kadm_strerror(kadm_err e);
bool kadm_transient(kadm_err e);

/* One topic as metadata lists it. */
typedef struct kadm_topic {
    char name[250];
    int partitions;
    int replication_factor;     /* replicas of partition 0 */
    bool internal;              /* a name starting "__" (Kafka's own) */
} kadm_topic;

/* Every topic from one Metadata request; *out is malloc'd (free()). */
kadm_err kadm_list_topics(struct rd_kafka_s *rk, int timeout_ms, kadm_topic **out, int *n, char *err,
                          size_t errlen);
/* config: a JSON object of string values (NULL: none). */
kadm_err kadm_create_topic(struct rd_kafka_s *rk, const char *name, int partitions, int replication_factor,
                           const json_t *config, int timeout_ms, char *err, size_t errlen);
/* Grows the topic to total partitions. */
kadm_err kadm_create_partitions(struct rd_kafka_s *rk, const char *name, int total, int timeout_ms, char *err,
                                size_t errlen);
kadm_err kadm_delete_topic(struct rd_kafka_s *rk, const char *name, int timeout_ms, char *err, size_t errlen);
/* The topic's dynamic configs (source DYNAMIC_TOPIC_CONFIG) as a JSON
 * object of strings (*out: new reference). */
kadm_err kadm_topic_configs(struct rd_kafka_s *rk, const char *name, int timeout_ms, json_t **out, char *err,
                            size_t errlen);
/* Replaces the topic's dynamic configs with set (AlterConfigs). */
kadm_err kadm_alter_topic_configs(struct rd_kafka_s *rk, const char *name, const json_t *set, int timeout_ms,
                                  char *err, size_t errlen);
/* The read-merge-write step, pure: the set to write when the topic has
 * `current` dynamic configs, streamplane set `managed_before` keys last
 * time (an array of names, NULL: none) and the tenant now declares
 * `desired`. Keys set outside streamplane stay; keys streamplane set and
 * the tenant dropped go; declared ones take their declared value. New
 * reference. */
json_t *kadm_topic_config_merge(const json_t *current, const json_t *managed_before, const json_t *desired);

/* Consumer groups: [{group_id, state, simple}] (new reference, NULL on error). */
json_t *kadm_groups_list(struct rd_kafka_s *rk, int timeout_ms, kadm_err *e, char *err, size_t errlen);
/* One group: {group_id, state, simple, partition_assignor, coordinator,
 * members: [{member_id, client_id, host, assignment: [{topic, partition}]}],
 * partitions: [{topic, partition, committed_offset, log_end_offset, lag}],
 * total_lag}. lag = log_end_offset - committed_offset, null when the
 * group committed nothing for the partition or its log end is unknown. */
json_t *kadm_group_describe(struct rd_kafka_s *rk, const char *group, int timeout_ms, kadm_err *e, char *err,
                            size_t errlen);

#endif
