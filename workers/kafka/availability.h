/* availability.h — may this broker restart now? (DESIGN.md §5 "Rolling
 * restart", issue 13; after Strimzi's KafkaAvailability.)
 *
 * Pure computation over what Kafka metadata gives (replicas and ISR per
 * partition) and each topic's min.insync.replicas (DescribeConfigs, or the
 * broker default, 1): no client, no Kubernetes, no API types. A broker may
 * go only if every partition it hosts keeps at least min ISR in-sync
 * replicas without it. For a partition with replication factor RF and ISR of
 * size isr, with the broker holding a replica:
 *   - RF <= min ISR: not guarded. Such a partition drops below min ISR
 *     whenever any of its brokers restarts, so waiting would block the roll
 *     forever; it never blocks, and is counted apart (acks=all producers to
 *     it fail while the broker is down, as they would with any restart).
 *   - isr < min ISR: blocks (already under min ISR; the broker holds a
 *     replica and restarting it delays the partition's recovery).
 *   - isr == min ISR and the broker is in the ISR: blocks (its restart would
 *     take the ISR below min ISR).
 *   - otherwise (isr > min ISR, or isr == min ISR without this broker): fine.
 * Partitions the broker does not hold never block. Whether the broker is
 * still recovering its logs is not in metadata: the caller checks that
 * apart (the roll must never restart such a broker either). */
#ifndef SP_KAFKA_AVAILABILITY_H
#define SP_KAFKA_AVAILABILITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum avail_err {
    AVAIL_OK = 0,
    AVAIL_ERR_INVALID,   /* a partition without replicas, ISR larger than its replicas,
                            min.insync.replicas < 1, broker id < 0 (permanent) */
} avail_err;

const char *avail_strerror(avail_err e);
/* Always false: bad input stays bad. */
bool avail_err_transient(avail_err e);

/* One partition as metadata gives it. Borrowed for the call only. */
typedef struct avail_partition {
    const char *topic;
    int32_t partition;
    const int32_t *replicas; int nreplicas;
    const int32_t *isr; int nisr;
    int min_isr;            /* the topic's min.insync.replicas */
} avail_partition;

typedef enum avail_reason {
    AVAIL_UNDER_MIN_ISR = 1,   /* isr < min ISR and the broker holds a replica */
    AVAIL_AT_MIN_ISR,          /* isr == min ISR and the broker is in it */
} avail_reason;

const char *avail_reason_name(avail_reason r);   /* "UnderMinIsr", "AtMinIsr" */

/* The first AVAIL_MAX_LISTED blocking partitions are kept by index into the
 * caller's array (to name them in the operation's step); the rest are only
 * counted. Cost: fixed, about 900 bytes. */
#define AVAIL_MAX_LISTED 16

typedef struct avail_blocker {
    size_t index;             /* into the avail_partition array */
    avail_reason reason;
    int isr, min_isr, rf;
} avail_blocker;

typedef struct avail_verdict {
    bool may_restart;          /* blocking == 0 */
    int hosted;                /* partitions with a replica on the broker */
    int blocking;              /* of those, how many block */
    int not_guarded;           /* of those, RF <= min ISR (never block) */
    avail_blocker listed[AVAIL_MAX_LISTED]; int nlisted;
    char detail[640];          /* a sentence for the step: "broker 1 may not restart yet:
                                  2 partitions would go below min.insync.replicas:
                                  orders/0 (ISR 2 = min 2, broker 1 in ISR), ..." */
} avail_verdict;

/* O(sum of replicas + ISR) for the call, nothing allocated. */
avail_err avail_check_restart(int32_t broker, const avail_partition *parts, size_t nparts,
                              avail_verdict *out);

#endif
