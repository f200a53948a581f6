/* topology.c — see topology.h. */
#define _GNU_SOURCE
#include "topology.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

void kafka_topology_free(kafka_topology *t)
{
    for (size_t i = 0; i < t->nparts; i++) { free(t->parts[i].replicas); free(t->parts[i].isr); }
    for (int i = 0; i < t->ntopics; i++) free(t->topics[i]);
    free(t->parts);
    free(t->topics);
    free(t->brokers);
    memset(t, 0, sizeof *t);
}

bool kafka_topology_has_broker(const kafka_topology *t, int32_t id)
{
    return t->nbrokers > 0 && bsearch(&id, t->brokers, (size_t)t->nbrokers, sizeof id, cmp_i32) != NULL;
}

static int32_t *ids_copy(const int32_t *src, int n)
{
    int32_t *d = malloc(sizeof *d * (size_t)(n > 0 ? n : 1));
    if (d && n > 0) memcpy(d, src, sizeof *d * (size_t)n);
    return d;
}

/* Everything metadata gives, into out (which owns copies). */
static int topology_from_metadata(const rd_kafka_metadata_t *md, kafka_topology *out)
{
    out->nbrokers = md->broker_cnt;
    out->brokers = malloc(sizeof *out->brokers * (size_t)(md->broker_cnt > 0 ? md->broker_cnt : 1));
    size_t nparts = 0;
    for (int t = 0; t < md->topic_cnt; t++) nparts += (size_t)md->topics[t].partition_cnt;
    out->topics = calloc((size_t)(md->topic_cnt > 0 ? md->topic_cnt : 1), sizeof *out->topics);
    out->parts = calloc(nparts ? nparts : 1, sizeof *out->parts);
    if (!out->brokers || !out->topics || !out->parts) return -1;
    for (int i = 0; i < md->broker_cnt; i++) out->brokers[i] = md->brokers[i].id;
    qsort(out->brokers, (size_t)out->nbrokers, sizeof *out->brokers, cmp_i32);
    for (int t = 0; t < md->topic_cnt; t++) {
        const rd_kafka_metadata_topic_t *tp = &md->topics[t];
        if (!(out->topics[out->ntopics] = strdup(tp->topic))) return -1;
        const char *name = out->topics[out->ntopics++];
        for (int i = 0; i < tp->partition_cnt; i++) {
            const rd_kafka_metadata_partition_t *pa = &tp->partitions[i];
            kafka_part *kp = &out->parts[out->nparts++];
            kp->topic = name;
            kp->partition = pa->id;
            kp->leader = pa->leader;
            kp->nreplicas = pa->replica_cnt;
            kp->nisr = pa->isr_cnt;
            kp->min_isr = out->default_min_isr;
            if (!(kp->replicas = ids_copy(pa->replicas, pa->replica_cnt)) || !(kp->isr = ids_copy(pa->isrs, pa->isr_cnt)))
                return -1;
            if (pa->leader < 0) out->offline++;
            else if (pa->isr_cnt < pa->replica_cnt) out->under_replicated++;
        }
    }
    return 0;
}

/* Waits for the admin result of type want on q; NULL on timeout. */
static rd_kafka_event_t *admin_wait(rd_kafka_queue_t *q, rd_kafka_event_type_t want, int timeout_ms)
{
    for (;;) {
        rd_kafka_event_t *ev = rd_kafka_queue_poll(q, timeout_ms + 1000);
        if (!ev) return NULL;
        if (rd_kafka_event_type(ev) == want) return ev;
        rd_kafka_event_destroy(ev);
    }
}

static rd_kafka_AdminOptions_t *admin_opts(rd_kafka_t *rk, rd_kafka_admin_op_t op, int timeout_ms)
{
    char e[128];
    rd_kafka_AdminOptions_t *o = rd_kafka_AdminOptions_new(rk, op);
    rd_kafka_AdminOptions_set_request_timeout(o, timeout_ms, e, sizeof e);
    return o;
}

/* DescribeConfigs of n resources; the result event (caller destroys) and
 * its resources, or NULL with err. */
static rd_kafka_event_t *describe(rd_kafka_t *rk, rd_kafka_ConfigResource_t **crs, size_t n, int timeout_ms,
                                  const rd_kafka_ConfigResource_t ***res, size_t *nres, int *rerr, char *err,
                                  size_t errlen)
{
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *o = admin_opts(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS, timeout_ms);
    rd_kafka_DescribeConfigs(rk, crs, n, o, q);
    rd_kafka_event_t *ev = admin_wait(q, RD_KAFKA_EVENT_DESCRIBECONFIGS_RESULT, timeout_ms);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_queue_destroy(q);
    *rerr = ev ? rd_kafka_event_error(ev) : RD_KAFKA_RESP_ERR__TIMED_OUT;
    if (!ev || *rerr) {
        snprintf(err, errlen, "DescribeConfigs: %s", ev ? rd_kafka_event_error_string(ev) : "no answer");
        if (ev) rd_kafka_event_destroy(ev);
        return NULL;
    }
    *res = rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev), nres);
    return ev;
}

/* The handle could not reach the cluster: the pool drops it. */
static int transport(int e)
{
    return e == RD_KAFKA_RESP_ERR__TRANSPORT || e == RD_KAFKA_RESP_ERR__TIMED_OUT ||
           e == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN || e == RD_KAFKA_RESP_ERR__RESOLVE ||
           e == RD_KAFKA_RESP_ERR__SSL || e == RD_KAFKA_RESP_ERR__AUTHENTICATION;
}

static bool transient_err(int e)
{
    return e == RD_KAFKA_RESP_ERR__TIMED_OUT || e == RD_KAFKA_RESP_ERR__TRANSPORT ||
           e == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN || e == RD_KAFKA_RESP_ERR__RESOLVE ||
           e == RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT || e == RD_KAFKA_RESP_ERR_NOT_CONTROLLER ||
           e == RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE || e == RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE ||
           e == RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE;
}

/* Each topic's min.insync.replicas into its partitions (one request). */
static int read_min_isr(rd_kafka_t *rk, kafka_topology *t, int timeout_ms, int *rerr, char *err, size_t errlen)
{
    if (t->ntopics == 0) return 0;
    rd_kafka_ConfigResource_t **crs = calloc((size_t)t->ntopics, sizeof *crs);
    int *min = calloc((size_t)t->ntopics, sizeof *min);
    if (!crs || !min) { free(crs); free(min); snprintf(err, errlen, "out of memory"); return -1; }
    for (int i = 0; i < t->ntopics; i++) crs[i] = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, t->topics[i]);
    const rd_kafka_ConfigResource_t **res;
    size_t nres = 0;
    rd_kafka_event_t *ev = describe(rk, crs, (size_t)t->ntopics, timeout_ms, &res, &nres, rerr, err, errlen);
    rd_kafka_ConfigResource_destroy_array(crs, (size_t)t->ntopics);
    free(crs);
    if (!ev) { free(min); return -1; }
    for (size_t r = 0; r < nres; r++) {
        const char *name = rd_kafka_ConfigResource_name(res[r]);
        size_t ne;
        const rd_kafka_ConfigEntry_t **es = rd_kafka_ConfigResource_configs(res[r], &ne);
        for (size_t e = 0; e < ne; e++) {
            if (strcmp(rd_kafka_ConfigEntry_name(es[e]), "min.insync.replicas") != 0) continue;
            const char *v = rd_kafka_ConfigEntry_value(es[e]);
            for (int i = 0; v && i < t->ntopics; i++)
                if (strcmp(t->topics[i], name) == 0) min[i] = atoi(v);
        }
    }
    rd_kafka_event_destroy(ev);
    for (size_t p = 0; p < t->nparts; p++)
        for (int i = 0; i < t->ntopics; i++)
            if (t->parts[p].topic == t->topics[i] && min[i] > 0) t->parts[p].min_isr = min[i];
    free(min);
    return 0;
}

int kafka_topology_read(kafka_pool *p, const char *bootstrap, int timeout_ms, bool with_min_isr,
                        kafka_topology *out, bool *transient, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->default_min_isr = 1;
    *transient = true;
    kafka_lease *l;
    rd_kafka_t *rk = kafka_pool_lease(p, bootstrap, &l, err, errlen);
    if (!rk) return -1;
    const struct rd_kafka_metadata *md = NULL;
    int rerr = rd_kafka_metadata(rk, 1, NULL, &md, timeout_ms > 0 ? timeout_ms : 1);
    int rc = 0;
    if (rerr) {
        snprintf(err, errlen, "metadata: %s", rd_kafka_err2str(rerr));
        rc = -1;
    } else {
        rc = topology_from_metadata(md, out);
        rd_kafka_metadata_destroy(md);
        if (rc != 0) snprintf(err, errlen, "out of memory");
        else if (with_min_isr) rc = read_min_isr(rk, out, timeout_ms, &rerr, err, errlen);
    }
    kafka_pool_unlease(p, l, transport(rerr));
    if (rc != 0) {
        *transient = rerr == 0 || transient_err(rerr);
        kafka_topology_free(out);
    }
    return rc;
}

/* One broker's configs (the event holds them; caller destroys it). */
static rd_kafka_event_t *describe_broker(rd_kafka_t *rk, int32_t broker, int timeout_ms,
                                         const rd_kafka_ConfigResource_t **res, int *rerr, char *err, size_t errlen)
{
    char id[16];
    snprintf(id, sizeof id, "%d", broker);
    rd_kafka_ConfigResource_t *crs[1] = {rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_BROKER, id)};
    const rd_kafka_ConfigResource_t **rs;
    size_t n = 0;
    rd_kafka_event_t *ev = describe(rk, crs, 1, timeout_ms, &rs, &n, rerr, err, errlen);
    rd_kafka_ConfigResource_destroy_array(crs, 1);
    if (ev && (n != 1 || rd_kafka_ConfigResource_error(rs[0]))) {
        *rerr = n == 1 ? rd_kafka_ConfigResource_error(rs[0]) : RD_KAFKA_RESP_ERR__BAD_MSG;
        snprintf(err, errlen, "DescribeConfigs of broker %d: %s", broker,
                 n == 1 && rd_kafka_ConfigResource_error_string(rs[0]) ? rd_kafka_ConfigResource_error_string(rs[0])
                                                                      : rd_kafka_err2str(*rerr));
        rd_kafka_event_destroy(ev);
        return NULL;
    }
    if (ev) *res = rs[0];
    return ev;
}

int kafka_broker_config(kafka_pool *p, const char *bootstrap, int timeout_ms, int32_t broker, const char *name,
                        char *value, size_t cap, bool *transient, char *err, size_t errlen)
{
    value[0] = 0;
    *transient = true;
    kafka_lease *l;
    rd_kafka_t *rk = kafka_pool_lease(p, bootstrap, &l, err, errlen);
    if (!rk) return -1;
    const rd_kafka_ConfigResource_t *r = NULL;
    int rerr = 0;
    rd_kafka_event_t *ev = describe_broker(rk, broker, timeout_ms, &r, &rerr, err, errlen);
    if (ev) {
        size_t ne;
        const rd_kafka_ConfigEntry_t **es = rd_kafka_ConfigResource_configs(r, &ne);
        for (size_t e = 0; e < ne; e++)
            if (strcmp(rd_kafka_ConfigEntry_name(es[e]), name) == 0 && rd_kafka_ConfigEntry_value(es[e]))
                snprintf(value, cap, "%s", rd_kafka_ConfigEntry_value(es[e]));
        rd_kafka_event_destroy(ev);
    }
    kafka_pool_unlease(p, l, transport(rerr));
    if (!ev) *transient = transient_err(rerr);
    return ev ? 0 : -1;
}

static bool in_array(const json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
        if (json_is_string(v) && strcmp(json_string_value(v), s) == 0) return true;
    return false;
}

/* The merged set for broker: what is dynamic on it now, minus unset, plus
 * set. -1 (permanent) when a dynamic entry is sensitive: its value is not
 * shown, and writing the set without it would drop it. */
static int merged_set(const rd_kafka_ConfigResource_t *r, const json_t *set, const json_t *unset,
                      rd_kafka_ConfigResource_t *out, char *err, size_t errlen)
{
    size_t ne;
    const rd_kafka_ConfigEntry_t **es = rd_kafka_ConfigResource_configs(r, &ne);
    for (size_t e = 0; e < ne; e++) {
        if (rd_kafka_ConfigEntry_source(es[e]) != RD_KAFKA_CONFIG_SOURCE_DYNAMIC_BROKER_CONFIG) continue;
        const char *k = rd_kafka_ConfigEntry_name(es[e]), *v = rd_kafka_ConfigEntry_value(es[e]);
        if (json_object_get(set, k) || in_array(unset, k)) continue;
        if (!v || rd_kafka_ConfigEntry_is_sensitive(es[e])) {
            snprintf(err, errlen, "broker %s has a sensitive dynamic config %s whose value Kafka does not show; "
                     "AlterConfigs replaces the whole set and would drop it", rd_kafka_ConfigResource_name(r), k);
            return -1;
        }
        rd_kafka_ConfigResource_set_config(out, k, v);
    }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)set, k, v)
        if (json_is_string(v)) rd_kafka_ConfigResource_set_config(out, k, json_string_value(v));
    return 0;
}

int kafka_broker_configs_merge(kafka_pool *p, const char *bootstrap, int timeout_ms, int32_t broker,
                               const json_t *set, const json_t *unset, bool *transient, char *err, size_t errlen)
{
    *transient = true;
    kafka_lease *l;
    rd_kafka_t *rk = kafka_pool_lease(p, bootstrap, &l, err, errlen);
    if (!rk) return -1;
    const rd_kafka_ConfigResource_t *cur = NULL;
    int rerr = 0, rc = -1;
    rd_kafka_event_t *dev = describe_broker(rk, broker, timeout_ms, &cur, &rerr, err, errlen);
    if (!dev) {
        *transient = transient_err(rerr);
        kafka_pool_unlease(p, l, transport(rerr));
        return -1;
    }
    char id[16];
    snprintf(id, sizeof id, "%d", broker);
    rd_kafka_ConfigResource_t *crs[1] = {rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_BROKER, id)};
    if (merged_set(cur, set, unset, crs[0], err, errlen) != 0) {
        *transient = false;
    } else {
        rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
        rd_kafka_AdminOptions_t *o = admin_opts(rk, RD_KAFKA_ADMIN_OP_ALTERCONFIGS, timeout_ms);
        rd_kafka_AlterConfigs(rk, crs, 1, o, q);
        rd_kafka_event_t *ev = admin_wait(q, RD_KAFKA_EVENT_ALTERCONFIGS_RESULT, timeout_ms);
        rerr = ev ? rd_kafka_event_error(ev) : RD_KAFKA_RESP_ERR__TIMED_OUT;
        size_t n = 0;
        const rd_kafka_ConfigResource_t **rs =
            ev && !rerr ? rd_kafka_AlterConfigs_result_resources(rd_kafka_event_AlterConfigs_result(ev), &n) : NULL;
        if (rs && n == 1 && rd_kafka_ConfigResource_error(rs[0])) {
            rerr = rd_kafka_ConfigResource_error(rs[0]);
            snprintf(err, errlen, "AlterConfigs of broker %d: %s", broker,
                     rd_kafka_ConfigResource_error_string(rs[0]) ? rd_kafka_ConfigResource_error_string(rs[0])
                                                                 : rd_kafka_err2str(rerr));
        } else if (rerr) {
            snprintf(err, errlen, "AlterConfigs of broker %d: %s", broker,
                     ev ? rd_kafka_event_error_string(ev) : "no answer");
        } else {
            rc = 0;
        }
        if (rc != 0) *transient = transient_err(rerr);
        if (ev) rd_kafka_event_destroy(ev);
        rd_kafka_AdminOptions_destroy(o);
        rd_kafka_queue_destroy(q);
    }
    rd_kafka_ConfigResource_destroy_array(crs, 1);
    rd_kafka_event_destroy(dev);
    kafka_pool_unlease(p, l, transport(rerr));
    return rc;
}
