/* cluster_health.h — what streamplane knows about a Kafka cluster's health,
 * and how it reaches the brokers to find out (DESIGN.md §5 "Health").
 *
 * One owner for three things both the reconciler (periodic checks, the
 * RUNNING gate) and the API (GET /v1/clusters/{id}/health) need:
 *  - the route: the bootstrap address streamplane connects to, chosen by
 *    the data plane's kafka_access: in-cluster Service DNS when streamplane
 *    runs inside the data plane, the external listener otherwise;
 *  - the reading: one librdkafka metadata call turned into a JSON object
 *    (status.health, and the body of the health endpoint);
 *  - the verdict: healthy, or degraded with a reason and a sentence. */
#ifndef SP_CLUSTER_HEALTH_H
#define SP_CLUSTER_HEALTH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include "kafka/health.h"
#include "../core/health.h"

/* The address the control plane uses for a cluster (borrowed from status),
 * or NULL with *why saying why there is none. plane_spec NULL: the manifests
 * target (never reachable). */
const char *health_route(const json_t *status, const json_t *plane_spec, const char **why);


/* Reads metadata through the pool within timeout_ms and judges it against
 * brokers 0..brokers_expected-1. Returns the reading as JSON (new
 * reference): checked_at, reachable, error, and when reachable the
 * counts; fills *v. */
json_t *health_check(kafka_pool *pool, const char *bootstrap, int brokers_expected, int timeout_ms,
                     health_verdict *v);

/* For the API's health endpoint (api_env.health_read, ctx: the kafka_pool):
 * the route from status and the data plane, then one reading; NULL with
 * *why when there is no route. */
json_t *health_read_live(void *pool, const json_t *status, const json_t *plane_spec, int brokers, int timeout_ms,
                         health_verdict *v, const char **why);

#endif
