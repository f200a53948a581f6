/* balance.c — see balance.h. */
#define _GNU_SOURCE
#include "balance.h"
#include "cluster_health.h"
#include "kube/probe.h"
#include "kube/render.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

kube_rc balance_racks(kube_client *c, const char *ns, int n, broker_racks *out, kube_err *e)
{
    memset(out, 0, sizeof *out);
    out->n = n < BALANCE_MAX_BROKERS ? n : BALANCE_MAX_BROKERS;
    json_t *pods = NULL, *nodes = NULL;
    kube_rc rc = kube_list(c, "v1", "Pod", ns, "app.kubernetes.io/component=broker", &pods, e);
    if (rc == KUBE_OK) rc = kube_list(c, "v1", "Node", NULL, NULL, &nodes, e);
    size_t i, j;
    json_t *pod, *node;
    json_array_foreach(rc == KUBE_OK ? pods : NULL, i, pod) {
        const char *name = json_string_value(json_object_get(json_object_get(pod, "metadata"), "name"));
        const char *on = json_string_value(json_object_get(json_object_get(pod, "spec"), "nodeName"));
        int ord = -1;
        if (!name || !on || sscanf(name, RENDER_BROKER_STS "-%d", &ord) != 1 || ord < 0 || ord >= out->n) continue;
        json_array_foreach(nodes, j, node) {
            json_t *md = json_object_get(node, "metadata");
            const char *nn = json_string_value(json_object_get(md, "name"));
            const char *zone = json_string_value(json_object_get(json_object_get(md, "labels"),
                                                                 "topology.kubernetes.io/zone"));
            if (nn && zone && strcmp(nn, on) == 0) snprintf(out->rack[ord], sizeof out->rack[ord], "%s", zone);
        }
    }
    json_decref(pods);
    json_decref(nodes);
    return rc;
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Every broker id the plan must know, ascending, distinct. Caller frees. */
static int32_t *known_brokers(const kafka_topology *l, int want, int *n)
{
    size_t k = 0, cap = (size_t)want + (size_t)l->nbrokers + 1;
    for (size_t i = 0; i < l->nparts; i++) cap += (size_t)l->parts[i].nreplicas;
    int32_t *ids = malloc(cap * sizeof *ids);
    if (!ids) return NULL;
    for (int i = 0; i < want; i++) ids[k++] = i;
    for (int i = 0; i < l->nbrokers; i++) ids[k++] = l->brokers[i];
    for (size_t i = 0; i < l->nparts; i++)
        for (int r = 0; r < l->parts[i].nreplicas; r++) ids[k++] = l->parts[i].replicas[r];
    qsort(ids, k, sizeof *ids, cmp_i32);
    size_t u = 0;
    for (size_t i = 0; i < k; i++) if (!u || ids[u - 1] != ids[i]) ids[u++] = ids[i];
    *n = (int)u;
    return ids;
}

planner_cluster *balance_cluster(const kafka_topology *l, const broker_racks *r, int want, planner_err *perr)
{
    int n = 0;
    int32_t *ids = known_brokers(l, want, &n);
    planner_cluster *pc = ids ? planner_cluster_new() : NULL;
    planner_err e = pc ? PLANNER_OK : PLANNER_ERR_NOMEM;
    for (int i = 0; i < n && e == PLANNER_OK; i++) {
        const char *rack = r && ids[i] >= 0 && ids[i] < r->n && r->rack[ids[i]][0] ? r->rack[ids[i]] : NULL;
        e = planner_add_broker(pc, ids[i], rack);
    }
    free(ids);
    /* partitions come grouped by topic, in the topics' order */
    int t = -1, ti = -1;
    for (size_t i = 0; i < l->nparts && e == PLANNER_OK; i++) {
        const kafka_part *pa = &l->parts[i];
        if (t < 0 || pa->topic != l->topics[t]) {
            while (++t < l->ntopics && l->topics[t] != pa->topic) {}
            if (t >= l->ntopics) { e = PLANNER_ERR_INVALID; break; }
            ti = planner_add_topic(pc, pa->topic);
            if (ti < 0) { e = (planner_err)-ti; break; }
        }
        e = planner_add_partition(pc, ti, pa->partition, pa->replicas, pa->nreplicas);
    }
    if (e != PLANNER_OK) { planner_cluster_free(pc); pc = NULL; }
    *perr = e;
    return pc;
}

int balance_max_rf(const kafka_topology *l, const char **topic)
{
    int max = 0;
    *topic = NULL;
    for (size_t i = 0; i < l->nparts; i++)
        if (l->parts[i].nreplicas > max) { max = l->parts[i].nreplicas; *topic = l->parts[i].topic; }
    return max;
}

int balance_replicas_on(const kafka_topology *l, int32_t id)
{
    int n = 0;
    for (size_t i = 0; i < l->nparts; i++)
        for (int r = 0; r < l->parts[i].nreplicas; r++) n += l->parts[i].replicas[r] == id;
    return n;
}

int balance_unsettled(const kafka_topology *l)
{
    int n = 0;
    for (size_t a = 0, b; a < l->nparts; a = b) {   /* each topic's partitions are consecutive */
        int rf = l->parts[a].nreplicas;             /* its smallest: a reassignment only adds for a while */
        for (b = a; b < l->nparts && l->parts[b].topic == l->parts[a].topic; b++)
            if (l->parts[b].nreplicas < rf) rf = l->parts[b].nreplicas;
        for (size_t i = a; i < b; i++) {
            const kafka_part *p = &l->parts[i];
            n += p->leader < 0 || p->nisr < p->nreplicas || p->nreplicas > rf;
        }
    }
    return n;
}

void balance_targets(int n, int32_t *out)
{
    for (int i = 0; i < n && i < BALANCE_MAX_BROKERS; i++) out[i] = i;
}

static int leaders_of(const kafka_topology *l, int32_t id)
{
    int n = 0;
    for (size_t i = 0; i < l->nparts; i++) n += l->parts[i].leader == id;
    return n;
}

/* The planner's report with current leaders beside the preferred ones. */
static void add_current_leaders(json_t *rep, const kafka_topology *l)
{
    json_t *b, *rk;
    size_t i, j;
    int lo = -1, hi = -1;
    json_array_foreach(json_object_get(rep, "racks"), j, rk) {
        json_object_set(rk, "preferred_leaders", json_object_get(rk, "leaders"));
        json_object_set_new(rk, "leaders", json_integer(0));
    }
    json_array_foreach(json_object_get(rep, "brokers"), i, b) {
        int cur = leaders_of(l, (int32_t)json_integer_value(json_object_get(b, "id")));
        json_object_set(b, "preferred_leaders", json_object_get(b, "leaders"));
        json_object_set_new(b, "leaders", json_integer(cur));
        if (!json_is_true(json_object_get(b, "leaving"))) {
            if (lo < 0 || cur < lo) lo = cur;
            if (cur > hi) hi = cur;
        }
        const char *rack = json_string_value(json_object_get(b, "rack"));
        json_array_foreach(json_object_get(rep, "racks"), j, rk) {
            const char *name = json_string_value(json_object_get(rk, "rack"));
            if (rack && name && strcmp(rack, name) == 0)
                json_object_set_new(rk, "leaders", json_integer(json_integer_value(json_object_get(rk, "leaders")) + cur));
        }
    }
    json_object_set(rep, "preferred_leader_skew", json_object_get(rep, "leader_skew"));
    json_object_set_new(rep, "leader_skew", json_integer(hi >= 0 ? hi - lo : 0));
    json_object_set_new(rep, "offline_partitions", json_integer(leaders_of(l, -1)));
}

static json_t *balance_json(const planner_balance *b)
{
    char *s = planner_balance_json(b);
    json_t *j = s ? json_loads(s, 0, NULL) : NULL;
    free(s);
    return j;
}

json_t *balance_report(const kafka_topology *l, const planner_cluster *pc, int ntarget)
{
    int32_t t[BALANCE_MAX_BROKERS];
    if (ntarget > BALANCE_MAX_BROKERS) ntarget = BALANCE_MAX_BROKERS;
    balance_targets(ntarget, t);
    planner_balance b;
    if (planner_cluster_balance(pc, t, ntarget, &b) != PLANNER_OK) return NULL;
    json_t *rep = balance_json(&b);
    planner_balance_free(&b);
    if (rep) add_current_leaders(rep, l);
    return rep;
}

json_t *balance_plan_view(const planner_plan *pl, bool with_reassignment)
{
    planner_balance after;
    if (planner_plan_balance(pl, true, &after) != PLANNER_OK) return NULL;
    json_t *a = balance_json(&after);
    planner_balance_free(&after);
    if (!a) return NULL;
    /* after a plan, the preferred leaders lead (a preferred leader election) */
    json_object_set_new(a, "preferred_leader_skew", json_integer(json_integer_value(json_object_get(a, "leader_skew"))));
    const char *lists[] = {"brokers", "racks"};
    for (int k = 0; k < 2; k++) {
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(a, lists[k]), i, e)
            json_object_set(e, "preferred_leaders", json_object_get(e, "leaders"));
    }
    json_object_set_new(a, "offline_partitions", json_integer(0));
    json_object_set_new(a, "balanced", json_boolean(planner_plan_balanced(pl)));
    json_t *v = json_pack("{s:i, s:I, s:I, s:i, s:b, s:o}", "partitions", planner_plan_changes(pl),
                          "replica_moves", (json_int_t)planner_plan_moves(pl), "leader_changes",
                          (json_int_t)planner_plan_leader_changes(pl), "batches", planner_plan_batches(pl),
                          "balanced", planner_plan_balanced(pl), "after", a);
    if (v && with_reassignment) {
        char *s = planner_plan_json(pl, -1, false);
        json_t *r = s ? json_loads(s, 0, NULL) : NULL;
        free(s);
        if (!r) { json_decref(v); return NULL; }
        json_object_set_new(v, "reassignment", r);
    }
    return v;
}

/* Racks of a multi_zone cluster's brokers through the data plane's API
 * server; single_zone clusters have none. 0, or -1 with why. */
static int live_racks(const json_t *cluster, const json_t *plane, int n, int timeout_ms, broker_racks *r, char *why,
                      size_t whylen)
{
    memset(r, 0, sizeof *r);
    const char *avail = json_string_value(json_object_get(json_object_get(cluster, "status"), "availability"));
    if (!avail || strcmp(avail, "multi_zone") != 0) return 0;
    kube_cfg cfg;
    char err[300];
    bool allow = json_is_true(json_object_get(plane, "allow_insecure_transport"));
    if (kube_cfg_from_plane(json_object_get(plane, "kubernetes"), allow, &cfg, err, sizeof err) != 0) {
        snprintf(why, whylen, "the data plane's settings: %s", err);
        return -1;
    }
    kube_client *c = kube_client_new(&cfg, timeout_ms);
    kube_cfg_free(&cfg);
    if (!c) { snprintf(why, whylen, "out of memory"); return -1; }
    char ns[128];
    render_namespace(json_string_value(json_object_get(cluster, "id")), ns, sizeof ns);
    kube_err e;
    kube_rc rc = balance_racks(c, ns, n, r, &e);
    kube_client_free(c);
    if (rc != KUBE_OK) {
        snprintf(why, whylen, "the brokers' zones could not be read from the data plane: %s", e.message);
        return -1;
    }
    return 0;
}

json_t *balance_read_live(void *ctx, const json_t *cluster, const json_t *plane, const json_t *ask, int timeout_ms,
                          bool *no_route_out, char *why, size_t whylen)
{
    *no_route_out = false;
    const json_t *status = json_object_get(cluster, "status");
    const char *no_route = NULL;
    const char *route = health_route(status, plane, &no_route);
    if (!route) { *no_route_out = true; snprintf(why, whylen, "%s", no_route); return NULL; }
    if (!ctx) { snprintf(why, whylen, "this server was started without a Kafka client"); return NULL; }
    int want = json_is_integer(json_object_get(ask, "brokers")) ? (int)json_integer_value(json_object_get(ask, "brokers"))
                                                                : (int)json_integer_value(json_object_get(cluster, "brokers"));
    if (want < 1 || want > BALANCE_MAX_BROKERS) { snprintf(why, whylen, "bad broker count %d", want); return NULL; }
    kafka_topology l = {0};
    char err[300];
    bool transient;
    if (kafka_topology_read(ctx, route, timeout_ms, false, &l, &transient, err, sizeof err) != 0) {
        snprintf(why, whylen, "Kafka metadata could not be read from %s: %s", route, err);
        kafka_topology_free(&l);
        return NULL;
    }
    broker_racks racks;
    json_t *out = NULL;
    planner_err pe = PLANNER_OK;
    planner_cluster *pc = NULL;
    if (json_is_true(json_object_get(ask, "rf_only"))) {    /* the scale-in check needs no racks */
        const char *topic;
        int rf = balance_max_rf(&l, &topic);
        out = json_pack("{s:i, s:s?, s:i}", "max_replication_factor", rf, "max_replication_factor_topic", topic,
                        "brokers_listed", l.nbrokers);
        kafka_topology_free(&l);
        if (!out) snprintf(why, whylen, "out of memory");
        return out;
    }
    if (live_racks(cluster, plane, want > l.nbrokers ? want : l.nbrokers, timeout_ms, &racks, why, whylen) == 0 &&
        !(pc = balance_cluster(&l, &racks, want, &pe)))
        snprintf(why, whylen, "the layout cannot be planned: %s", planner_strerror(pe));
    json_t *rep = pc ? balance_report(&l, pc, want) : NULL;
    if (rep) {
        const char *topic;
        int rf = balance_max_rf(&l, &topic);
        out = json_pack("{s:o, s:i, s:s?, s:i}", "balance", rep, "max_replication_factor", rf,
                        "max_replication_factor_topic", topic, "brokers_listed", l.nbrokers);
    }
    if (out) {      /* a plan always: "balanced" is a plan that moves nothing (as even as the racks allow) */
        int32_t t[BALANCE_MAX_BROKERS];
        balance_targets(want, t);
        planner_options o = {.target = t, .ntarget = want,
                             .max_moves_per_batch = (int)json_integer_value(json_object_get(ask, "max_moves_per_batch"))};
        planner_plan *pl = NULL;
        pe = planner_plan_build(pc, &o, &pl);
        json_object_set_new(rep, "balanced", json_boolean(pe == PLANNER_OK && planner_plan_changes(pl) == 0));
        json_t *view = pe == PLANNER_OK && json_is_true(json_object_get(ask, "plan")) ? balance_plan_view(pl, true) : NULL;
        if (view) json_object_set_new(out, "plan", view);
        else if (pe != PLANNER_OK) {
            json_object_set_new(out, "plan_error", json_string(planner_strerror(pe)));
            json_object_set_new(out, "plan_error_code", json_integer(pe));
        }
        planner_plan_free(pl);
    }
    if (!out && !why[0]) snprintf(why, whylen, "out of memory");
    planner_cluster_free(pc);
    kafka_topology_free(&l);
    return out;
}
