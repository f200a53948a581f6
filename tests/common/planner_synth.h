/* planner_synth.h — the synthetic clusters of issue 13, shared by the
 * planner's unit tests (tests/unit/test_planner.c) and its benchmark
 * (bench/planner): TOPICS topics x 12 partitions x RF 3 over brokers in 3
 * racks (broker id % 3), laid out as Kafka's rack-aware topic creation
 * does, or at random (one replica per rack, brokers and leaders uneven).
 *
 * Partition p is topic p / 12, partition p % 12; topics are named
 * "topic-%05d". Cost: 12 bytes per partition (1,000 topics: 144 KB). */
#ifndef SP_TESTS_PLANNER_SYNTH_H
#define SP_TESTS_PLANNER_SYNTH_H

#include <stddef.h>
#include <stdint.h>
#include "workers/kafka/planner.h"

#define SYNTH_PARTS 12
#define SYNTH_RF    3
#define SYNTH_MAXB  64     /* brokers a layout may have */

typedef struct synth_layout {
    int nb, np;                      /* brokers, partitions */
    int32_t (*rep)[SYNTH_RF];        /* rep[p]: partition p's replicas, preferred leader first */
} synth_layout;

/* topics x 12 partitions, no brokers yet. 0, or -1 when out of memory. */
int synth_init(synth_layout *l, int topics);
void synth_free(synth_layout *l);

int synth_rack_of(int32_t id);
/* Kafka-style rack-aware creation on nb brokers: brokers in rack-alternating
 * order (ids already alternate), a start that differs per topic, then the
 * next brokers (every other one for odd topics) on racks the partition does
 * not use yet. */
void synth_kafka_style(synth_layout *l, int nb);
/* One random broker per rack, racks in random order (seeded LCG). */
void synth_random(synth_layout *l, int nb, unsigned seed);

/* The planner's view of l with brokers 0..nb-1 (nb may exceed l->nb: new
 * brokers). NULL with err on bad input or no memory. */
planner_cluster *synth_cluster(const synth_layout *l, int nb, char *err, size_t errlen);

/* Replicas and preferred leaders per broker 0..nb-1. */
void synth_counts(const synth_layout *l, int nb, long *replicas, long *leaders);

/* The least replica moves (or preferred leader changes) any plan reaching
 * skew <= 1 over brokers 0..ntarget-1 needs, from per-broker counts of nb
 * brokers holding total in all: sum over brokers of max(0, count - share),
 * the ceil shares given to the fullest brokers; leaving brokers' share is 0. */
long synth_min_moves(const long *count, int nb, int ntarget, long total);

#endif
