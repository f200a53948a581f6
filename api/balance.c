/* balance.c — how evenly a cluster's partitions sit on its brokers, and
 * rebalancing on demand (issue 13):
 *   GET  /v1/clusters/{id}/balance    replicas and leaders per broker and
 *        per rack and the skews, read live from Kafka
 *   POST /v1/clusters/{id}/rebalance  {"dry_run": true}: the plan and the
 *        balance before and after; otherwise a REBALANCE operation
 * and the scale-in rule: a change that leaves fewer brokers than a topic's
 * replication factor answers 422 (the prepare step of PUT and PATCH reads
 * the replication factors live).
 *
 * The readings come through api_env.layout_read (workers/balance.c), on a
 * slow route's own thread or in a prepare step, never inside the write
 * transaction; at most live_reads_max run at once (shared with /health). */
#define _GNU_SOURCE
#include "api.h"
#include "../core/ops.h"
#include "../core/phase.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BALANCE_TIMEOUT_MS 2000

static bool load(api_req *rq, api_resp *w, store_res *r)
{
    int rc = store_res_get(rq->env->store, K_CLUSTER, rq->params[0], api_scope(rq), r);
    if (rc == ST_NOTFOUND) { api_not_found(w, "cluster", rq->params[0]); return false; }
    if (rc != ST_OK) { api_store_error(w, rc, "reading the cluster"); return false; }
    return true;
}

/* Reads the cluster's layout live; NULL with why (and *busy when every
 * live-reading slot was taken, *no_route when streamplane has no way to
 * Kafka for this cluster). */
static json_t *read_layout(api_req *rq, const store_res *r, const json_t *ask, int timeout_ms, char *why,
                           size_t whylen, bool *busy, bool *no_route)
{
    *busy = *no_route = false;
    why[0] = 0;
    if (!r->data_plane_id[0]) {
        *no_route = true;
        snprintf(why, whylen, "the cluster is on the manifests target; streamplane does not run it and cannot "
                 "reach its Kafka");
        return NULL;
    }
    if (!rq->env->layout_read) { snprintf(why, whylen, "this server was started without a Kafka client"); return NULL; }
    store_res dp;
    if (store_res_get(rq->env->store, K_DATA_PLANE, r->data_plane_id, NULL, &dp) != ST_OK) {
        snprintf(why, whylen, "the cluster's data plane cannot be read");
        return NULL;
    }
    json_t *plane = api_plane_spec_with_secrets(rq->env, &dp);
    store_res_clear(&dp);
    if (!plane) { snprintf(why, whylen, "the data plane's credentials cannot be opened"); return NULL; }
    store_res copy = *r;
    json_t *cluster = cluster_view(&copy, false);
    json_t *out = NULL;
    if (!sp_slot_take(rq->env->live_reads_busy, rq->env->live_reads_max)) {
        *busy = true;
        snprintf(why, whylen, "other live Kafka readings are in progress on this server; retry");
    } else {
        out = rq->env->layout_read(rq->env->layout_ctx, cluster, plane, ask, timeout_ms, no_route, why, whylen);
        sp_slot_give(rq->env->live_reads_busy);
    }
    json_decref(cluster);
    json_decref(plane);
    return out;
}

static void unavailable(api_resp *w, const char *why, bool busy, bool no_route)
{
    if (no_route) { api_problem(w, 409, "kafka-not-reachable", "%s", why); return; }
    api_problem(w, 503, busy ? "busy" : "kafka-unavailable", "%s", why);
    w->retry_after = busy ? 1 : 5;
}

void api_cluster_balance(api_req *rq, api_resp *w)
{
    long timeout = BALANCE_TIMEOUT_MS;
    const char *t = api_query(rq, "timeout_ms");
    if (t) {
        char *end;
        timeout = strtol(t, &end, 10);
        if (!*t || *end || timeout < 100 || timeout > 5000) {
            api_problem(w, 400, "bad-timeout", "timeout_ms must be an integer from 100 to 5000");
            return;
        }
    }
    store_res r;
    if (!load(rq, w, &r)) return;
    char why[600], now[SP_TS_MAX];
    bool busy, no_route;
    json_t *ask = json_pack("{s:I}", "brokers", (json_int_t)r.brokers);
    json_t *out = read_layout(rq, &r, ask, (int)timeout, why, sizeof why, &busy, &no_route);
    json_decref(ask);
    if (!out) { unavailable(w, why, busy, no_route); store_res_clear(&r); return; }
    json_t *body = json_incref(json_object_get(out, "balance"));
    sp_now_rfc3339(now);
    json_object_set_new(body, "cluster_id", json_string(r.id));
    json_object_set_new(body, "target_brokers", json_integer(r.brokers));
    json_object_set_new(body, "checked_at", json_string(now));
    json_decref(out);
    store_res_clear(&r);
    api_json(w, 200, body);
}

/* The body of POST …/rebalance: {"dry_run": bool, "max_moves_per_batch": n}. */
static bool rebalance_args(api_req *rq, api_resp *w, bool *dry, long long *batch)
{
    static const char *const fields[] = {"dry_run", "max_moves_per_batch", NULL};
    *dry = false;
    *batch = 0;
    if (!rq->body) return true;
    if (!json_is_object(rq->body)) { api_problem(w, 400, "body-not-object", "the JSON body must be an object"); return false; }
    verrs v = {0};
    v_known_keys(&v, "", rq->body, fields);
    const json_t *x = json_object_get(rq->body, "dry_run");
    if (x) v_bool(&v, "dry_run", x, dry);
    if ((x = json_object_get(rq->body, "max_moves_per_batch"))) v_int_range(&v, "max_moves_per_batch", x, 1, 10000, batch);
    if (verr_any(&v)) { api_fail_fields(w, &v, NULL); return false; }
    return true;
}

/* The dry run answers here (before any transaction, off the HTTP thread:
 * the route is slow); a real rebalance goes on to the handler. */
void api_cluster_rebalance_prepare(api_req *rq, api_resp *w)
{
    bool dry;
    long long batch;
    if (!rebalance_args(rq, w, &dry, &batch) || !dry) return;
    store_res r;
    if (!load(rq, w, &r)) return;
    char why[600];
    bool busy, no_route;
    json_t *ask = json_pack("{s:I, s:b, s:I}", "brokers", (json_int_t)r.brokers, "plan", 1,
                            "max_moves_per_batch", (json_int_t)batch);
    json_t *out = read_layout(rq, &r, ask, BALANCE_TIMEOUT_MS, why, sizeof why, &busy, &no_route);
    json_decref(ask);
    if (!out) { unavailable(w, why, busy, no_route); store_res_clear(&r); return; }
    json_t *plan = json_object_get(out, "plan");
    if (!plan) {
        api_problem(w, 422, "cannot-plan", "no plan: %s (topics need as many brokers as their replication factor; "
                    "the largest here is %lld)", json_string_value(json_object_get(out, "plan_error")),
                    (long long)json_integer_value(json_object_get(out, "max_replication_factor")));
    } else {
        json_t *before = json_object_get(out, "balance"), *after = json_object_get(plan, "after");
        json_t *body = json_pack("{s:b, s:s, s:I, s:O, s:O, s:O}", "dry_run", 1, "cluster_id", r.id, "target_brokers",
                                 (json_int_t)r.brokers, "before", before, "after", after, "plan", plan);
        json_object_del(json_object_get(body, "plan"), "after");
        api_json(w, 200, body);
    }
    json_decref(out);
    store_res_clear(&r);
}

void api_cluster_rebalance(api_req *rq, api_resp *w)
{
    bool dry;
    long long batch;
    if (!rebalance_args(rq, w, &dry, &batch)) return;
    store_res r;
    if (!load(rq, w, &r)) return;
    if (phase_of(&r) == PHASE_DELETING) {
        api_problem(w, 409, "cluster-deleting", "cluster %s is being deleted", r.id);
    } else if (!r.data_plane_id[0]) {
        api_problem(w, 409, "kafka-not-reachable", "the cluster is on the manifests target; streamplane does not "
                    "run it, so it cannot move its partitions");
    } else {
        /* a change of no spec field: {from: null, to: what was asked} */
        json_t *changes = json_pack("{s:{s:n, s:{s:I}}}", "rebalance", "from", "to", "max_moves_per_batch",
                                    (json_int_t)batch);
        json_t *before = json_deep_copy(r.spec);
        char op[SP_ID_MAX] = "";
        phase_changed(&r);
        int rc = ops_create(rq->env->store, &r, OP_REBALANCE, changes, before, op);
        json_decref(changes);
        json_decref(before);
        if (rc == ST_OK) rc = store_res_update(rq->env->store, K_CLUSTER, &r, 0);
        if (rc != ST_OK) api_store_error(w, rc, "recording the rebalance");
        else {
            api_wake(rq, "cluster", r.id);
            api_set_etag(w, r.resource_version);
            snprintf(w->location, sizeof w->location, "/v1/clusters/%s", r.id);
            snprintf(w->op_location, sizeof w->op_location, "/v1/operations/%s", op);
            json_t *o = cluster_view(&r, true);
            api_res_meta(o, &r);
            api_json(w, 202, o);
        }
    }
    store_res_clear(&r);
}

/* PUT and PATCH: fewer brokers than a topic's replication factor answers
 * 422 before anything is written. When Kafka cannot be read now the change
 * is accepted: the operation's drain reads the replication factors again
 * before it moves anything, and fails, changing nothing, if they do not fit. */
void api_cluster_update_prepare(api_req *rq, api_resp *w)
{
    const json_t *b = json_object_get(rq->body, "brokers");
    if (!json_is_integer(b)) return;
    store_res r;
    if (store_res_get(rq->env->store, K_CLUSTER, rq->params[0], api_scope(rq), &r) != ST_OK) return;   /* the handler answers */
    long long want = json_integer_value(b);
    if (want >= 1 && want < r.brokers && r.data_plane_id[0]) {
        char why[600];
        bool busy, no_route;
        json_t *ask = json_pack("{s:I, s:b}", "brokers", (json_int_t)r.brokers, "rf_only", 1);
        json_t *out = read_layout(rq, &r, ask, BALANCE_TIMEOUT_MS, why, sizeof why, &busy, &no_route);
        json_decref(ask);
        long long rf = json_integer_value(json_object_get(out, "max_replication_factor"));
        const char *topic = json_string_value(json_object_get(out, "max_replication_factor_topic"));
        if (out && rf > want) {
            verrs v = {0};
            verr(&v, "brokers", "topic %s has replication factor %lld: at least %lld brokers must remain",
                 topic ? topic : "?", rf, rf);
            api_fail_fields(w, &v, "fewer brokers than a topic's replication factor");
        }
        json_decref(rq->prepared);
        rq->prepared = out ? json_pack("{s:b, s:I}", "rf_checked", 1, "max_replication_factor", (json_int_t)rf)
                           : json_pack("{s:b, s:s}", "rf_checked", 0, "why", why);
        json_decref(out);
    }
    store_res_clear(&r);
}
