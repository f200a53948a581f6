/* admin.c — see admin.h. */
#define _GNU_SOURCE
#include "admin.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *kadm_strerror(kadm_err e)
{
    switch (e) {
    case KADM_OK: return "ok";
    case KADM_UNREACHABLE: return "Kafka did not answer in time";
    case KADM_RETRY: return "Kafka asked to try again later";
    case KADM_EXISTS: return "the topic exists already";
    case KADM_NOT_FOUND: return "no such topic or group";
    case KADM_REFUSED: return "Kafka refused the request";
    case KADM_NOMEM: return "out of memory";
    }
    return "unknown error";
}

bool kadm_transient(kadm_err e) { return e == KADM_UNREACHABLE || e == KADM_RETRY || e == KADM_NOMEM; }

/* Kafka's error codes in streamplane's terms. */
static kadm_err classify(rd_kafka_resp_err_t e)
{
    switch (e) {
    case RD_KAFKA_RESP_ERR_NO_ERROR: return KADM_OK;
    case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS: return KADM_EXISTS;
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND:
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR__UNKNOWN_GROUP:
        return KADM_NOT_FOUND;
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__RESOLVE:
    case RD_KAFKA_RESP_ERR__SSL:
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
    case RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE:
        return KADM_UNREACHABLE;
    case RD_KAFKA_RESP_ERR_NOT_CONTROLLER:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
    case RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_COORDINATOR:
    case RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_UNSTABLE_OFFSET_COMMIT:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS:
    case RD_KAFKA_RESP_ERR__IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_THROTTLING_QUOTA_EXCEEDED:
    /* the API checked the factor against the cluster's brokers: Kafka saying
     * it is larger than the brokers it has means some are down right now */
    case RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR:
        return KADM_RETRY;
    default:
        return KADM_REFUSED;
    }
}

static kadm_err fail(rd_kafka_resp_err_t e, const char *what, const char *msg, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s: %s", what, msg && *msg ? msg : rd_kafka_err2str(e));
    return classify(e);
}

/* Options with both timeouts set (the operation one where the call has it). */
static rd_kafka_AdminOptions_t *options(rd_kafka_t *rk, rd_kafka_admin_op_t op, int timeout_ms, bool op_timeout)
{
    rd_kafka_AdminOptions_t *o = rd_kafka_AdminOptions_new(rk, op);
    char e[128];
    if (!o) return NULL;
    rd_kafka_AdminOptions_set_request_timeout(o, timeout_ms, e, sizeof e);
    if (op_timeout) rd_kafka_AdminOptions_set_operation_timeout(o, timeout_ms, e, sizeof e);
    return o;
}

/* Waits for the call's result on q: the event (destroy it), or NULL when
 * none came within the time (the call is abandoned with the queue). */
static rd_kafka_event_t *await(rd_kafka_queue_t *q, int timeout_ms)
{
    return rd_kafka_queue_poll(q, timeout_ms + 1000);
}

/* The per-topic result of a topic call, or the event's own error. */
static kadm_err topic_result(rd_kafka_event_t *ev, const rd_kafka_topic_result_t **res, size_t n, const char *what,
                             char *err, size_t errlen)
{
    if (!ev) return fail(RD_KAFKA_RESP_ERR__TIMED_OUT, what, NULL, err, errlen);
    if (rd_kafka_event_error(ev))
        return fail(rd_kafka_event_error(ev), what, rd_kafka_event_error_string(ev), err, errlen);
    if (n < 1) return fail(RD_KAFKA_RESP_ERR__FAIL, what, "no result", err, errlen);
    rd_kafka_resp_err_t e = rd_kafka_topic_result_error(res[0]);
    if (e) return fail(e, what, rd_kafka_topic_result_error_string(res[0]), err, errlen);
    return KADM_OK;
}

kadm_err kadm_list_topics(rd_kafka_t *rk, int timeout_ms, kadm_topic **out, int *n, char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 1, NULL, &md, timeout_ms);
    if (e) return fail(e, "reading metadata", NULL, err, errlen);
    kadm_topic *t = calloc((size_t)(md->topic_cnt > 0 ? md->topic_cnt : 1), sizeof *t);
    if (!t) { rd_kafka_metadata_destroy(md); return KADM_NOMEM; }
    int k = 0;
    for (int i = 0; i < md->topic_cnt; i++) {
        const rd_kafka_metadata_topic_t *tp = &md->topics[i];
        if (tp->err && tp->err != RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE) continue;
        snprintf(t[k].name, sizeof t[k].name, "%s", tp->topic);
        t[k].partitions = tp->partition_cnt;
        t[k].replication_factor = tp->partition_cnt > 0 ? tp->partitions[0].replica_cnt : 0;
        t[k].internal = strncmp(tp->topic, "__", 2) == 0;
        k++;
    }
    rd_kafka_metadata_destroy(md);
    *out = t;
    *n = k;
    return KADM_OK;
}

kadm_err kadm_create_topic(rd_kafka_t *rk, const char *name, int partitions, int rf, const json_t *config,
                           int timeout_ms, char *err, size_t errlen)
{
    char e[256];
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(name, partitions, rf, e, sizeof e);
    if (!nt) { snprintf(err, errlen, "creating topic %s: %s", name, e); return KADM_REFUSED; }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)config, k, v)
        if (json_is_string(v)) rd_kafka_NewTopic_set_config(nt, k, json_string_value(v));
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *o = options(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS, timeout_ms, true);
    rd_kafka_CreateTopics(rk, &nt, 1, o, q);
    rd_kafka_event_t *ev = await(q, timeout_ms);
    size_t n = 0;
    const rd_kafka_topic_result_t **res =
        ev && !rd_kafka_event_error(ev) ? rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n)
                                        : NULL;
    kadm_err r = topic_result(ev, res, n, "creating the topic", err, errlen);
    if (ev) rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_queue_destroy(q);
    rd_kafka_NewTopic_destroy(nt);
    return r;
}

kadm_err kadm_create_partitions(rd_kafka_t *rk, const char *name, int total, int timeout_ms, char *err,
                                size_t errlen)
{
    char e[256];
    rd_kafka_NewPartitions_t *np = rd_kafka_NewPartitions_new(name, (size_t)total, e, sizeof e);
    if (!np) { snprintf(err, errlen, "adding partitions: %s", e); return KADM_REFUSED; }
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *o = options(rk, RD_KAFKA_ADMIN_OP_CREATEPARTITIONS, timeout_ms, true);
    rd_kafka_CreatePartitions(rk, &np, 1, o, q);
    rd_kafka_event_t *ev = await(q, timeout_ms);
    size_t n = 0;
    const rd_kafka_topic_result_t **res =
        ev && !rd_kafka_event_error(ev)
            ? rd_kafka_CreatePartitions_result_topics(rd_kafka_event_CreatePartitions_result(ev), &n) : NULL;
    kadm_err r = topic_result(ev, res, n, "adding partitions", err, errlen);
    if (ev) rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_queue_destroy(q);
    rd_kafka_NewPartitions_destroy(np);
    return r;
}

kadm_err kadm_delete_topic(rd_kafka_t *rk, const char *name, int timeout_ms, char *err, size_t errlen)
{
    rd_kafka_DeleteTopic_t *dt = rd_kafka_DeleteTopic_new(name);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *o = options(rk, RD_KAFKA_ADMIN_OP_DELETETOPICS, timeout_ms, true);
    rd_kafka_DeleteTopics(rk, &dt, 1, o, q);
    rd_kafka_event_t *ev = await(q, timeout_ms);
    size_t n = 0;
    const rd_kafka_topic_result_t **res =
        ev && !rd_kafka_event_error(ev) ? rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev), &n)
                                        : NULL;
    kadm_err r = topic_result(ev, res, n, "deleting the topic", err, errlen);
    if (ev) rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_queue_destroy(q);
    rd_kafka_DeleteTopic_destroy(dt);
    return r;
}

/* The one resource of a config call's result, or the error. */
static kadm_err config_result(rd_kafka_event_t *ev, const rd_kafka_ConfigResource_t **res, size_t n,
                              const char *what, char *err, size_t errlen)
{
    if (!ev) return fail(RD_KAFKA_RESP_ERR__TIMED_OUT, what, NULL, err, errlen);
    if (rd_kafka_event_error(ev))
        return fail(rd_kafka_event_error(ev), what, rd_kafka_event_error_string(ev), err, errlen);
    if (n < 1) return fail(RD_KAFKA_RESP_ERR__FAIL, what, "no result", err, errlen);
    rd_kafka_resp_err_t e = rd_kafka_ConfigResource_error(res[0]);
    if (e) return fail(e, what, rd_kafka_ConfigResource_error_string(res[0]), err, errlen);
    return KADM_OK;
}

kadm_err kadm_topic_configs(rd_kafka_t *rk, const char *name, int timeout_ms, json_t **out, char *err,
                            size_t errlen)
{
    *out = NULL;
    rd_kafka_ConfigResource_t *cr = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, name);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *o = options(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS, timeout_ms, false);
    rd_kafka_DescribeConfigs(rk, &cr, 1, o, q);
    rd_kafka_event_t *ev = await(q, timeout_ms);
    size_t n = 0;
    const rd_kafka_ConfigResource_t **res =
        ev && !rd_kafka_event_error(ev)
            ? rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev), &n) : NULL;
    kadm_err r = config_result(ev, res, n, "describing the topic's configs", err, errlen);
    if (r == KADM_OK) {
        size_t ne = 0;
        const rd_kafka_ConfigEntry_t **es = rd_kafka_ConfigResource_configs(res[0], &ne);
        json_t *set = json_object();
        for (size_t i = 0; i < ne; i++)
            if (rd_kafka_ConfigEntry_source(es[i]) == RD_KAFKA_CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG &&
                rd_kafka_ConfigEntry_value(es[i]))
                json_object_set_new(set, rd_kafka_ConfigEntry_name(es[i]),
                                    json_string(rd_kafka_ConfigEntry_value(es[i])));
        *out = set;
    }
    if (ev) rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_queue_destroy(q);
    rd_kafka_ConfigResource_destroy(cr);
    return r;
}

kadm_err kadm_alter_topic_configs(rd_kafka_t *rk, const char *name, const json_t *set, int timeout_ms, char *err,
                                  size_t errlen)
{
    rd_kafka_ConfigResource_t *cr = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, name);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)set, k, v)
        if (json_is_string(v)) rd_kafka_ConfigResource_set_config(cr, k, json_string_value(v));
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *o = options(rk, RD_KAFKA_ADMIN_OP_ALTERCONFIGS, timeout_ms, false);
    rd_kafka_AlterConfigs(rk, &cr, 1, o, q);
    rd_kafka_event_t *ev = await(q, timeout_ms);
    size_t n = 0;
    const rd_kafka_ConfigResource_t **res =
        ev && !rd_kafka_event_error(ev)
            ? rd_kafka_AlterConfigs_result_resources(rd_kafka_event_AlterConfigs_result(ev), &n) : NULL;
    kadm_err r = config_result(ev, res, n, "changing the topic's configs", err, errlen);
    if (ev) rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_queue_destroy(q);
    rd_kafka_ConfigResource_destroy(cr);
    return r;
}

json_t *kadm_topic_config_merge(const json_t *current, const json_t *managed_before, const json_t *desired)
{
    json_t *out = current ? json_deep_copy(current) : json_object();
    size_t i;
    json_t *k;
    json_array_foreach((json_t *)managed_before, i, k)
        if (json_is_string(k) && !json_object_get(desired, json_string_value(k)))
            json_object_del(out, json_string_value(k));
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)desired, key, v) json_object_set(out, key, v);
    return out;
}

/* ---- consumer groups ---- */

json_t *kadm_groups_list(rd_kafka_t *rk, int timeout_ms, kadm_err *e, char *err, size_t errlen)
{
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *o = options(rk, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS, timeout_ms, false);
    rd_kafka_ListConsumerGroups(rk, o, q);
    rd_kafka_event_t *ev = await(q, timeout_ms);
    json_t *out = NULL;
    *e = KADM_OK;
    if (!ev) *e = fail(RD_KAFKA_RESP_ERR__TIMED_OUT, "listing consumer groups", NULL, err, errlen);
    else if (rd_kafka_event_error(ev))
        *e = fail(rd_kafka_event_error(ev), "listing consumer groups", rd_kafka_event_error_string(ev), err, errlen);
    else {
        const rd_kafka_ListConsumerGroups_result_t *r = rd_kafka_event_ListConsumerGroups_result(ev);
        size_t n = 0, ne = 0;
        const rd_kafka_ConsumerGroupListing_t **gs = rd_kafka_ListConsumerGroups_result_valid(r, &n);
        const rd_kafka_error_t **errs = rd_kafka_ListConsumerGroups_result_errors(r, &ne);
        if (n == 0 && ne > 0) {   /* no broker answered: nothing to show */
            *e = fail(rd_kafka_error_code(errs[0]), "listing consumer groups", rd_kafka_error_string(errs[0]), err,
                      errlen);
        } else {
            out = json_array();
            for (size_t i = 0; i < n; i++)
                json_array_append_new(
                    out, json_pack("{s:s, s:s, s:b}", "group_id", rd_kafka_ConsumerGroupListing_group_id(gs[i]),
                                   "state", rd_kafka_consumer_group_state_name(rd_kafka_ConsumerGroupListing_state(gs[i])),
                                   "simple", rd_kafka_ConsumerGroupListing_is_simple_consumer_group(gs[i])));
        }
    }
    if (ev) rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_queue_destroy(q);
    return out;
}

static json_t *partitions_json(const rd_kafka_topic_partition_list_t *l)
{
    json_t *a = json_array();
    for (int i = 0; l && i < l->cnt; i++)
        json_array_append_new(a, json_pack("{s:s, s:i}", "topic", l->elems[i].topic, "partition",
                                           l->elems[i].partition));
    return a;
}

/* DescribeConsumerGroups for one group: the description as JSON. */
static json_t *describe(rd_kafka_t *rk, const char *group, int timeout_ms, kadm_err *e, char *err, size_t errlen)
{
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *o = options(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS, timeout_ms, false);
    rd_kafka_DescribeConsumerGroups(rk, &group, 1, o, q);
    rd_kafka_event_t *ev = await(q, timeout_ms);
    json_t *out = NULL;
    size_t n = 0;
    const rd_kafka_ConsumerGroupDescription_t **ds = NULL;
    if (!ev) *e = fail(RD_KAFKA_RESP_ERR__TIMED_OUT, "describing the group", NULL, err, errlen);
    else if (rd_kafka_event_error(ev))
        *e = fail(rd_kafka_event_error(ev), "describing the group", rd_kafka_event_error_string(ev), err, errlen);
    else if (!(ds = rd_kafka_DescribeConsumerGroups_result_groups(rd_kafka_event_DescribeConsumerGroups_result(ev), &n)) ||
             n < 1)
        *e = fail(RD_KAFKA_RESP_ERR__FAIL, "describing the group", "no result", err, errlen);
    else if (rd_kafka_ConsumerGroupDescription_error(ds[0]))
        *e = fail(rd_kafka_error_code(rd_kafka_ConsumerGroupDescription_error(ds[0])), "describing the group",
                  rd_kafka_error_string(rd_kafka_ConsumerGroupDescription_error(ds[0])), err, errlen);
    else {
        const rd_kafka_ConsumerGroupDescription_t *d = ds[0];
        rd_kafka_consumer_group_state_t st = rd_kafka_ConsumerGroupDescription_state(d);
        const rd_kafka_Node_t *co = rd_kafka_ConsumerGroupDescription_coordinator(d);
        json_t *members = json_array();
        for (size_t i = 0; i < rd_kafka_ConsumerGroupDescription_member_count(d); i++) {
            const rd_kafka_MemberDescription_t *m = rd_kafka_ConsumerGroupDescription_member(d, i);
            const rd_kafka_MemberAssignment_t *as = rd_kafka_MemberDescription_assignment(m);
            json_array_append_new(members, json_pack("{s:s, s:s, s:s, s:o}", "member_id",
                                                     rd_kafka_MemberDescription_consumer_id(m), "client_id",
                                                     rd_kafka_MemberDescription_client_id(m), "host",
                                                     rd_kafka_MemberDescription_host(m), "assignment",
                                                     partitions_json(as ? rd_kafka_MemberAssignment_partitions(as) : NULL)));
        }
        const char *asg = rd_kafka_ConsumerGroupDescription_partition_assignor(d);
        out = json_pack("{s:s, s:s, s:b, s:s?, s:o, s:o}", "group_id", group, "state",
                        rd_kafka_consumer_group_state_name(st), "simple",
                        rd_kafka_ConsumerGroupDescription_is_simple_consumer_group(d), "partition_assignor",
                        asg && *asg ? asg : NULL, "coordinator",
                        co ? json_integer(rd_kafka_Node_id(co)) : json_null(), "members", members);
        /* a group id nobody ever used is described as Dead with no members */
        if (st == RD_KAFKA_CONSUMER_GROUP_STATE_DEAD && json_array_size(members) == 0) *e = KADM_NOT_FOUND;
    }
    if (ev) rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_queue_destroy(q);
    return out;
}

/* The group's committed offsets (every partition it committed). */
static rd_kafka_topic_partition_list_t *committed(rd_kafka_t *rk, const char *group, int timeout_ms, kadm_err *e,
                                                  char *err, size_t errlen)
{
    rd_kafka_ListConsumerGroupOffsets_t *req = rd_kafka_ListConsumerGroupOffsets_new(group, NULL);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *o = options(rk, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS, timeout_ms, false);
    rd_kafka_ListConsumerGroupOffsets(rk, &req, 1, o, q);
    rd_kafka_event_t *ev = await(q, timeout_ms);
    rd_kafka_topic_partition_list_t *out = NULL;
    size_t n = 0;
    const rd_kafka_group_result_t **gs = NULL;
    if (!ev) *e = fail(RD_KAFKA_RESP_ERR__TIMED_OUT, "reading committed offsets", NULL, err, errlen);
    else if (rd_kafka_event_error(ev))
        *e = fail(rd_kafka_event_error(ev), "reading committed offsets", rd_kafka_event_error_string(ev), err, errlen);
    else if (!(gs = rd_kafka_ListConsumerGroupOffsets_result_groups(rd_kafka_event_ListConsumerGroupOffsets_result(ev),
                                                                      &n)) || n < 1)
        *e = fail(RD_KAFKA_RESP_ERR__FAIL, "reading committed offsets", "no result", err, errlen);
    else if (rd_kafka_group_result_error(gs[0]))
        *e = fail(rd_kafka_error_code(rd_kafka_group_result_error(gs[0])), "reading committed offsets",
                  rd_kafka_error_string(rd_kafka_group_result_error(gs[0])), err, errlen);
    else {
        const rd_kafka_topic_partition_list_t *l = rd_kafka_group_result_partitions(gs[0]);
        out = l ? rd_kafka_topic_partition_list_copy(l) : rd_kafka_topic_partition_list_new(0);
    }
    if (ev) rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_queue_destroy(q);
    rd_kafka_ListConsumerGroupOffsets_destroy(req);
    return out;
}

/* Log-end offsets for the partitions in l: offsets_for_times with the
 * "latest" timestamp, one ListOffsets request per leader. */
static rd_kafka_topic_partition_list_t *log_ends(rd_kafka_t *rk, const rd_kafka_topic_partition_list_t *l,
                                                 int timeout_ms, kadm_err *e, char *err, size_t errlen)
{
    rd_kafka_topic_partition_list_t *ends = rd_kafka_topic_partition_list_new(l->cnt > 0 ? l->cnt : 1);
    for (int i = 0; i < l->cnt; i++)
        rd_kafka_topic_partition_list_add(ends, l->elems[i].topic, l->elems[i].partition)->offset =
            RD_KAFKA_OFFSET_END;
    if (ends->cnt == 0) return ends;
    rd_kafka_resp_err_t r = rd_kafka_offsets_for_times(rk, ends, timeout_ms);
    if (r) {
        *e = fail(r, "reading log-end offsets", NULL, err, errlen);
        rd_kafka_topic_partition_list_destroy(ends);
        return NULL;
    }
    return ends;
}

json_t *kadm_group_describe(rd_kafka_t *rk, const char *group, int timeout_ms, kadm_err *e, char *err,
                            size_t errlen)
{
    *e = KADM_OK;
    json_t *out = describe(rk, group, timeout_ms, e, err, errlen);
    if (*e != KADM_OK) { json_decref(out); return NULL; }
    rd_kafka_topic_partition_list_t *c = committed(rk, group, timeout_ms, e, err, errlen);
    if (!c) { json_decref(out); return NULL; }
    /* partitions assigned to a member with nothing committed yet are shown
     * too (committed null), as kafka-consumer-groups.sh shows them */
    size_t i, k;
    json_t *m, *a;
    json_array_foreach(json_object_get(out, "members"), i, m)
        json_array_foreach(json_object_get(m, "assignment"), k, a) {
            const char *t = json_string_value(json_object_get(a, "topic"));
            int32_t p = (int32_t)json_integer_value(json_object_get(a, "partition"));
            if (t && !rd_kafka_topic_partition_list_find(c, t, p))
                rd_kafka_topic_partition_list_add(c, t, p)->offset = RD_KAFKA_OFFSET_INVALID;
        }
    rd_kafka_topic_partition_list_sort(c, NULL, NULL);
    rd_kafka_topic_partition_list_t *ends = log_ends(rk, c, timeout_ms, e, err, errlen);
    if (!ends) { rd_kafka_topic_partition_list_destroy(c); json_decref(out); return NULL; }
    json_t *parts = json_array();
    long long total = 0;
    for (int j = 0; j < c->cnt; j++) {
        const rd_kafka_topic_partition_t *p = &c->elems[j];
        rd_kafka_topic_partition_t *end = rd_kafka_topic_partition_list_find(ends, p->topic, p->partition);
        long long co = p->err ? -1 : p->offset, eo = end && !end->err ? end->offset : -1;
        json_t *lag = co >= 0 && eo >= 0 ? json_integer(eo > co ? eo - co : 0) : json_null();
        if (json_is_integer(lag)) total += json_integer_value(lag);
        json_array_append_new(parts, json_pack("{s:s, s:i, s:o, s:o, s:o}", "topic", p->topic, "partition",
                                               p->partition, "committed_offset",
                                               co >= 0 ? json_integer(co) : json_null(), "log_end_offset",
                                               eo >= 0 ? json_integer(eo) : json_null(), "lag", lag));
    }
    json_object_set_new(out, "partitions", parts);
    json_object_set_new(out, "total_lag", json_integer(total));
    rd_kafka_topic_partition_list_destroy(ends);
    rd_kafka_topic_partition_list_destroy(c);
    return out;
}
