/* health.h — the verdict on a Kafka cluster's health, as both the workers
 * (periodic checks, the RUNNING gate) and the API (the health endpoint)
 * speak of it. How it is read (librdkafka metadata) is the workers' part:
 * workers/cluster_health.h. */
#ifndef SP_CORE_HEALTH_H
#define SP_CORE_HEALTH_H

#include <stdbool.h>

typedef struct health_verdict {
    bool reachable;             /* metadata was read */
    bool all_brokers;           /* every expected broker is listed */
    bool healthy;               /* all brokers and no offline partition */
    char reason[40];            /* Healthy | KafkaUnreachable | BrokersOffline | OfflinePartitions */
    char message[400];          /* a sentence for a person */
} health_verdict;

#endif
