/* topology.h — the Kafka reads and writes day-2 operations need beyond the
 * health count (issue 13), through the same pool of librdkafka handles.
 *
 *  - the topology: brokers, and leader/replicas/ISR of every partition
 *    (Metadata), with each topic's min.insync.replicas (DescribeConfigs of
 *    every topic in one request): what the restart availability check
 *    (availability.h) and the reassignment planner read;
 *  - broker configs: one broker's dynamic configs changed by
 *    read-merge-write, because librdkafka 2.0.2 has AlterConfigs only, which
 *    replaces the whole dynamic set (no IncrementalAlterConfigs); and one
 *    broker's value of a config, to see that it took. Per broker, not the
 *    cluster-wide default (BROKER resource ""): librdkafka 2.0.2 crashes in
 *    rd_kafka_DescribeConfigs on that resource (SIGSEGV, tried with Debian's
 *    2.0.2), so the caller sets each broker in turn; a broker added later
 *    reads the same value from its properties file, where the spec's config
 *    is rendered too.
 *
 * Errors: 0, or -1 with err (librdkafka's or the broker's words) and
 * *transient saying whether trying again can help (the cluster did not
 * answer) or not (the broker refused: a config it does not accept). */
#ifndef SP_KAFKA_TOPOLOGY_H
#define SP_KAFKA_TOPOLOGY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "health.h"

typedef struct kafka_part {
    const char *topic;          /* into the topology's topic names */
    int32_t partition, leader;  /* leader -1: offline */
    int32_t *replicas; int nreplicas;
    int32_t *isr; int nisr;
    int min_isr;                /* the topic's min.insync.replicas */
} kafka_part;

/* Cost: one kafka_part per partition plus its replica and ISR ids (a
 * 12,000-partition cluster at RF 3: ~700 KiB), freed by kafka_topology_free. */
typedef struct kafka_topology {
    int32_t *brokers; int nbrokers;        /* ascending ids listed in metadata */
    char **topics; int ntopics;
    kafka_part *parts; size_t nparts;
    int offline, under_replicated;
    int default_min_isr;                   /* when a topic's could not be read: 1 */
} kafka_topology;

/* Metadata of every topic; with_min_isr also each topic's
 * min.insync.replicas (one DescribeConfigs). */
int kafka_topology_read(kafka_pool *p, const char *bootstrap, int timeout_ms, bool with_min_isr,
                        kafka_topology *out, bool *transient, char *err, size_t errlen);
void kafka_topology_free(kafka_topology *t);
bool kafka_topology_has_broker(const kafka_topology *t, int32_t id);

/* One broker's dynamic configs: reads the set in force on it (source
 * DYNAMIC_BROKER_CONFIG), sets every key of set (object of strings), drops
 * every key of unset (array of strings), and writes the whole set back
 * (AlterConfigs). */
int kafka_broker_configs_merge(kafka_pool *p, const char *bootstrap, int timeout_ms, int32_t broker,
                               const json_t *set, const json_t *unset, bool *transient, char *err, size_t errlen);
/* One broker's value of a config as it reports it ("" when it has none). */
int kafka_broker_config(kafka_pool *p, const char *bootstrap, int timeout_ms, int32_t broker, const char *name,
                        char *value, size_t cap, bool *transient, char *err, size_t errlen);

#endif
