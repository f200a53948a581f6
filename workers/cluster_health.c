/* cluster_health.c — see cluster_health.h.
 *
 * A broker counts as online when Kafka metadata lists it: a KRaft broker
 * that is fenced or stopped is not in the list. A partition is offline
 * when it has no leader (Kafka's OfflinePartitionsCount); under-replicated
 * partitions are reported but do not make a cluster DEGRADED on their own,
 * since every restart and reassignment produces them for a while. */
#define _GNU_SOURCE
#include "cluster_health.h"
#include "../common/util.h"

#include <stdio.h>
#include <string.h>

const char *health_route(const json_t *status, const json_t *plane_spec, const char **why)
{
    if (!plane_spec) {
        *why = "the cluster is on the manifests target; streamplane does not run it and cannot reach it";
        return NULL;
    }
    const char *access = json_string_value(json_object_get(plane_spec, "kafka_access"));
    bool external = access && strcmp(access, "external") == 0;
    const char *addr = json_string_value(json_object_get(status, external ? "external_bootstrap_servers"
                                                                          : "bootstrap_servers"));
    if (addr && *addr) return addr;
    *why = external ? "the data plane is reached from outside (kafka_access: external) and this cluster has no "
                      "external listener (external_access.type: none), so streamplane cannot reach its brokers"
                    : "the cluster's bootstrap address is not known yet";
    return NULL;
}

json_t *health_check(kafka_pool *pool, const char *bootstrap, int brokers_expected, int timeout_ms,
                     health_verdict *v)
{
    memset(v, 0, sizeof *v);
    kafka_health h = {.brokers_expected = brokers_expected};
    char err[300] = "", now[SP_TS_MAX];
    int rc = kafka_health_read(pool, bootstrap, timeout_ms, &h, err, sizeof err);
    sp_now_rfc3339(now);
    json_t *o = json_pack("{s:s, s:s, s:b, s:i}", "checked_at", now, "bootstrap", bootstrap,
                          "reachable", rc == 0, "brokers_expected", brokers_expected);
    if (rc != 0) {
        snprintf(v->reason, sizeof v->reason, "KafkaUnreachable");
        snprintf(v->message, sizeof v->message, "Kafka metadata could not be read from %s: %s", bootstrap, err);
        json_object_set_new(o, "error", json_string(v->message));
        return o;
    }
    v->reachable = true;
    json_t *ids = json_array(), *missing = json_array();
    for (int i = 0; i < h.nbroker_ids; i++) json_array_append_new(ids, json_integer(h.broker_ids[i]));
    char miss[200] = "";
    size_t ml = 0;
    for (int id = 0; id < brokers_expected; id++) {
        bool found = false;
        for (int i = 0; i < h.nbroker_ids && !found; i++) found = h.broker_ids[i] == id;
        if (found) continue;
        json_array_append_new(missing, json_integer(id));
        if (ml < sizeof miss - 16) ml += (size_t)snprintf(miss + ml, sizeof miss - ml, "%s%d", ml ? ", " : "", id);
    }
    int online = brokers_expected - (int)json_array_size(missing);
    json_object_set_new(o, "error", json_null());
    json_object_set_new(o, "brokers_online", json_integer(online));
    json_object_set_new(o, "broker_ids", ids);
    json_object_set_new(o, "missing_broker_ids", missing);
    json_object_set_new(o, "controller_id", h.controller_id >= 0 ? json_integer(h.controller_id) : json_null());
    json_object_set_new(o, "topics", json_integer(h.topics));
    json_object_set_new(o, "partitions", json_integer(h.partitions));
    json_object_set_new(o, "offline_partitions", json_integer(h.offline_partitions));
    json_object_set_new(o, "under_replicated_partitions", json_integer(h.under_replicated));
    v->all_brokers = online == brokers_expected;
    if (!v->all_brokers) {
        snprintf(v->reason, sizeof v->reason, "BrokersOffline");
        snprintf(v->message, sizeof v->message, "%d of %d brokers online; not in Kafka metadata: broker%s %s",
                 online, brokers_expected, brokers_expected - online == 1 ? "" : "s", miss);
    } else if (h.offline_partitions > 0) {
        snprintf(v->reason, sizeof v->reason, "OfflinePartitions");
        snprintf(v->message, sizeof v->message, "%d partition%s without a leader (all %d brokers online)",
                 h.offline_partitions, h.offline_partitions == 1 ? " is" : "s are", brokers_expected);
    } else {
        v->healthy = true;
        snprintf(v->reason, sizeof v->reason, "Healthy");
        snprintf(v->message, sizeof v->message, "%s", h.detail);   /* "3/3 brokers, 0 offline, …" */
    }
    return o;
}

json_t *health_read_live(void *pool, const json_t *status, const json_t *plane_spec, int brokers, int timeout_ms,
                         health_verdict *v, const char **why)
{
    const char *route = health_route(status, plane_spec, why);
    if (!route) return NULL;
    return health_check(pool, route, brokers, timeout_ms, v);
}
