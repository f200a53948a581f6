/* groups.c — a cluster's consumer groups and their lag (issue 14), read
 * live from Kafka like the health endpoint: through the workers' librdkafka
 * handles (api_env.kafka_read), within timeout_ms, on a route marked slow
 * so the wait happens off the HTTP threads, and at most live_reads_max at
 * once. Nothing is stored: a group is Kafka's, not streamplane's. When
 * Kafka cannot be read the answer says so (503 with Retry-After, or 409
 * when streamplane has no way to reach the cluster at all). */
#define _GNU_SOURCE
#include "api.h"
#include "../core/topic.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool api_live_timeout(const api_req *rq, api_resp *w, long *ms)
{
    *ms = 2000;
    const char *t = api_query(rq, "timeout_ms");
    if (!t) return true;
    char *end;
    *ms = strtol(t, &end, 10);
    if (!*t || *end || *ms < 100 || *ms > 5000) {
        api_problem(w, 400, "bad-timeout", "timeout_ms must be an integer from 100 to 5000");
        return false;
    }
    return true;
}

/* One live read for the cluster of the path; NULL after answering. */
static json_t *read_live(api_req *rq, api_resp *w, kread_kind what, const char *group)
{
    long timeout;
    if (!api_live_timeout(rq, w, &timeout)) return NULL;
    store_res c;
    int rc = store_res_get(rq->env->store, K_CLUSTER, rq->params[0], api_scope(rq), &c);
    if (rc == ST_NOTFOUND) { api_not_found(w, "cluster", rq->params[0]); return NULL; }
    if (rc != ST_OK) { api_store_error(w, rc, "reading the cluster"); return NULL; }
    store_res dp = {0};
    bool have_dp = c.data_plane_id[0] &&
                   store_res_get(rq->env->store, K_DATA_PLANE, c.data_plane_id, NULL, &dp) == ST_OK;
    char err[400] = "this server was started without a Kafka client";
    kread_rc krc = KREAD_UNREACHABLE;
    json_t *live = NULL;
    if (!rq->env->kafka_read) {
        /* err says why */
    } else if (!sp_slot_take(rq->env->live_reads_busy, rq->env->live_reads_max)) {
        snprintf(err, sizeof err, "other live Kafka readings are in progress on this server");
    } else {
        live = rq->env->kafka_read(rq->env->kafka_read_ctx, what, c.id, c.status, have_dp ? dp.spec : NULL, group,
                                   (int)timeout, &krc, err, sizeof err);
        sp_slot_give(rq->env->live_reads_busy);
    }
    if (have_dp) store_res_clear(&dp);
    if (!live) {
        if (krc == KREAD_NOT_FOUND)
            api_problem(w, 404, "not-found", "cluster %s has no consumer group '%.200s'", c.id, group ? group : "");
        else if (krc == KREAD_NO_ROUTE)
            api_problem(w, 409, "kafka-not-reachable", "streamplane cannot reach this cluster's brokers: %s", err);
        else if (krc == KREAD_REFUSED)
            api_problem(w, 422, "kafka-refused", "Kafka refused the read: %s", err);
        else {
            api_problem(w, 503, "kafka-unavailable", "Kafka could not be read within %ld ms: %s", timeout, err);
            w->retry_after = 2;
        }
    }
    store_res_clear(&c);
    return live;
}

void api_group_list(api_req *rq, api_resp *w)
{
    json_t *groups = read_live(rq, w, KREAD_GROUPS, NULL);
    if (groups) api_json(w, 200, json_pack("{s:o, s:s}", "items", groups, "source", "live"));
}

void api_group_get(api_req *rq, api_resp *w)
{
    json_t *g = read_live(rq, w, KREAD_GROUP, rq->params[1]);
    if (!g) return;
    json_object_set_new(g, "cluster_id", json_string(rq->params[0]));
    json_object_set_new(g, "source", json_string("live"));
    api_json(w, 200, g);
}
