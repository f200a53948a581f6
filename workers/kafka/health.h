/* health.h — Kafka cluster health from metadata (DESIGN.md §5 "Health").
 *
 * One Metadata request (all topics) through librdkafka gives the brokers the
 * cluster lists, the controller id it reports, and leader/replicas/ISR for
 * every partition: enough to count offline and under-replicated partitions.
 *
 * librdkafka clients are costly (a few threads per broker), so handles are
 * kept in a small pool keyed by the bootstrap string and reused across
 * calls. A full pool evicts its least recently used handle only once that
 * one has been idle a while (periodic checks cycle through every cluster,
 * which would make plain LRU miss every time); until then a bootstrap that
 * does not fit gets a handle for one call. A handle whose metadata
 * call fails with a transport-class error (connection refused, timeout, all
 * brokers down, resolve failure) is dropped, so the next call bootstraps
 * afresh (a Kubernetes cluster's broker addresses may have changed). */
#ifndef SP_KAFKA_HEALTH_H
#define SP_KAFKA_HEALTH_H

#include <stddef.h>
#include <stdint.h>

#define KAFKA_HEALTH_MAX_BROKER_IDS 128

typedef struct kafka_health {
    int brokers_expected;       /* filled by the caller before, or 0 (kept as is) */
    int brokers_listed;         /* brokers in metadata (may exceed nbroker_ids) */
    int broker_ids[KAFKA_HEALTH_MAX_BROKER_IDS]; int nbroker_ids;  /* ascending */
    int controller_id;          /* as metadata reports it (in KRaft: a random broker,
                                   not the quorum leader); -1 if none */
    int topics, partitions;     /* internal topics included */
    int offline_partitions;     /* leader -1 */
    int under_replicated;       /* has a leader, and isr count < replica count */
    char detail[256];           /* a sentence for a person:
                                   "3/3 brokers, 0 offline, 2 under-replicated partitions" */
} kafka_health;

typedef struct kafka_pool kafka_pool;   /* bounded cache of librdkafka handles keyed by bootstrap string */

/* max_handles < 1 is taken as 1. NULL if out of memory. Thread-safe. */
kafka_pool *kafka_pool_new(int max_handles);
/* A full cache evicts its least recently used handle only when that one has
 * been idle this long (default KAFKA_POOL_IDLE_MS); otherwise a new
 * bootstrap gets a handle for that call alone. 0: plain LRU. */
#define KAFKA_POOL_IDLE_MS (10 * 60 * 1000)
void kafka_pool_set_idle_ms(kafka_pool *p, int64_t idle_ms);
/* Destroys every cached handle and waits for its threads (rd_kafka_destroy).
 * No kafka_health_read on this pool may be running or start afterwards. */
void kafka_pool_free(kafka_pool *p);
/* Handles cached now. */
int kafka_pool_size(kafka_pool *p);
/* Handles created since kafka_pool_new (reuse shows as this not growing). */
long kafka_pool_handles_created(kafka_pool *p);

/* A cached handle for another kind of request (admin calls, offsets:
 * workers/kafka/admin.h), held until kafka_pool_unlease. NULL with err when
 * no handle can be made. transport_failed: the calls made through it could
 * not reach the cluster, so the handle is dropped and the next lease
 * bootstraps afresh (as a failed health read does). */
typedef struct kafka_lease kafka_lease;
struct rd_kafka_s;
struct rd_kafka_s *kafka_pool_lease(kafka_pool *p, const char *bootstrap, kafka_lease **lease, char *err,
                                    size_t errlen);
void kafka_pool_unlease(kafka_pool *p, kafka_lease *lease, int transport_failed);

/* Counters for /metrics. */
typedef struct kafka_pool_counts { int clients; long created, reads, failures; } kafka_pool_counts;
void kafka_pool_stats(kafka_pool *p, kafka_pool_counts *out);

/* Reads metadata (all topics) through a cached handle within timeout_ms
 * (plus a little for creating or dropping a handle). 0 ok, -1 with err
 * (librdkafka's words). out->brokers_expected is kept; everything else in
 * *out is overwritten, on failure too (zeroes, controller_id -1). */
int kafka_health_read(kafka_pool *p, const char *bootstrap, int timeout_ms,
                      kafka_health *out, char *err, size_t errlen);

/* The counting step alone, over metadata librdkafka returned (or a test
 * built) and the controller id it reported (librdkafka 2.0.2 keeps that
 * outside rd_kafka_metadata_t: rd_kafka_controllerid()). Fills *out as
 * kafka_health_read does on success. */
struct rd_kafka_metadata;
void kafka_health_from_metadata(const struct rd_kafka_metadata *md, int controller_id,
                                kafka_health *out);

#endif
