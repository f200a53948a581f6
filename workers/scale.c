/* scale.c — see scale.h. */
#define _GNU_SOURCE
#include "scale.h"
#include "reassign.h"
#include "storage.h"
#include "../core/cluster.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the plan ----------------------------------------------------------- */

static long change_int(const json_t *changes, const char *field, const char *end)
{
    return (long)json_integer_value(json_object_get(json_object_get(changes, field), end));
}

json_t *scale_plan_for(json_t *plan, op_type type, const json_t *changes)
{
    long bf = change_int(changes, "brokers", "from"), bt = change_int(changes, "brokers", "to");
    long sf = change_int(changes, "storage_gib", "from"), stt = change_int(changes, "storage_gib", "to");
    bool out = bt > bf && bf > 0, in = bt < bf && bt > 0, grow = stt > sf && sf > 0, rebal = type == OP_REBALANCE;
    if ((!out && !in && !grow && !rebal) || type == OP_CREATE || type == OP_DELETE) return plan;
    char path[1600];
    int n = 0;
    if (in)
        n += snprintf(path + n, sizeof path - (size_t)n, "scale in %ld -> %ld: every replica moves off brokers "
                      "%ld and above in throttled batches (kafka-reassign-partitions.sh in Jobs) and Kafka metadata "
                      "must show them empty before the StatefulSet goes down; their volumes are then kept or deleted "
                      "(delete_volumes_on_scale_in)", bf, bt, bt);
    if (out)
        n += snprintf(path + n, sizeof path - (size_t)n, "scale out %ld -> %ld: the StatefulSet grows, the new "
                      "brokers join Kafka, then partitions move onto them in throttled batches until replicas and "
                      "leaders are even", bf, bt);
    if (grow)
        n += snprintf(path + n, sizeof path - (size_t)n, "%sstorage %ld -> %ld GiB: every broker's claim is "
                      "patched (the StatefulSet's volume template stays as created) and waits for its volume to "
                      "grow", n ? "; " : "", sf, stt);
    if (rebal)
        n += snprintf(path + n, sizeof path - (size_t)n, "rebalance on request: partitions move in throttled "
                      "batches until replicas and leaders are even over the brokers");
    if (plan && plan_path(plan)[0]) snprintf(path + n, sizeof path - (size_t)n, "; %s", plan_path(plan));

    json_t *p = plan_new(path);
    char name[96];
    long moves = (long)json_integer_value(json_object_get(json_object_get(json_object_get(changes, "rebalance"), "to"),
                                                          "max_moves_per_batch"));
    char leaving[40];
    if (bf - bt == 1) snprintf(leaving, sizeof leaving, "broker %ld", bt);
    else snprintf(leaving, sizeof leaving, "brokers %ld-%ld", bt, bf - 1);
    if (in) {
        snprintf(name, sizeof name, "move partitions off %s", leaving);
        plan_add(p, PSTEP_REASSIGN, name, json_pack("{s:i, s:b}", "brokers", (int)bt, "drain", 1));
    }
    bool applied = false;
    for (int i = 0; plan && i < plan_len(plan); i++) {      /* roll's steps, less its end */
        pstep_kind kind;
        const char *sname;
        const json_t *args;
        plan_step(plan, i, &kind, &sname, &args);
        if (kind == PSTEP_CONVERGE) continue;
        applied |= kind == PSTEP_APPLY;
        plan_add(p, kind, sname, args ? json_deep_copy(args) : NULL);
    }
    if (!applied && !rebal) plan_add(p, PSTEP_APPLY, "apply objects", NULL);
    if (in) {
        snprintf(name, sizeof name, "release %s", leaving);
        plan_add(p, PSTEP_RELEASE_BROKERS, name, json_pack("{s:i, s:i}", "from", (int)bt, "to", (int)bf));
    }
    if (grow || out) plan_add(p, PSTEP_GROW_CLAIMS, "grow the brokers' volumes", NULL);
    if (out) plan_add(p, PSTEP_REASSIGN, "move partitions onto the new brokers", json_pack("{s:i}", "brokers", (int)bt));
    if (rebal) plan_add(p, PSTEP_REASSIGN, "move partitions", moves > 0 ? json_pack("{s:i}", "max_moves_per_batch", (int)moves) : NULL);
    plan_add(p, PSTEP_CONVERGE, "wait for Kafka", NULL);
    json_decref(plan);
    return p;
}

/* ---- the steps ---------------------------------------------------------- */

/* After a Kubernetes call failed in an engine: transient ones back off
 * (the data plane's circuit counts them), permanent ones fail; revert when
 * nothing may carry the change out later (a drain, a growth not begun). */
static int kube_trouble(kturn *t, plan_run *pr, kube_rc rc, const kube_err *e, const char *msg, int percent,
                        bool revert)
{
    t->krc = rc;
    t->e = *e;
    snprintf(t->err, sizeof t->err, "%s", msg);
    if (kube_transient(rc)) return call_failed(t, pr->name, percent);
    return revert ? plan_fail_revert(t, pr, kube_rc_name(rc), msg) : plan_fail(t, pr, kube_rc_name(rc), msg);
}

/* "op-abc…" -> the 12 characters after "op-": names its Jobs. */
static void op_tag(const store_op *op, char out[16])
{
    const char *id = strncmp(op->id, "op-", 3) == 0 ? op->id + 3 : op->id;
    snprintf(out, 16, "%.12s", id);
}

int exec_reassign(kturn *t, plan_run *pr)
{
    const json_t *b = json_object_get(pr->args, "brokers");
    int brokers = json_is_integer(b) ? (int)json_integer_value(b) : (int)t->r->brokers;
    bool drain = json_is_true(json_object_get(pr->args, "drain"));
    const char *why = NULL, *route = turn_kafka_route(t, &why);
    char msg[700];
    if (!route) {
        if (drain) {
            snprintf(msg, sizeof msg, "cannot move the replicas off brokers %d and above, so the StatefulSet stays "
                     "as it is: streamplane cannot reach this cluster's Kafka (%s)", brokers, why);
            return plan_fail_revert(t, pr, "KafkaNotReachable", msg);
        }
        pr->skipped = true;
        snprintf(pr->msg, sizeof pr->msg, "partitions not moved: streamplane cannot reach this cluster's Kafka (%s)",
                 why);
        return PLAN_STEP_DONE;
    }
    cluster_spec spec;
    cluster_spec_from_row(t->r, &spec);
    char tag[16];
    op_tag(pr->op, tag);
    json_t *before = json_deep_copy(pr->scratch);
    reassign_ctx x = {.c = t->c, .ns = t->ns, .spec = &spec, .kafka = t->rc->kafka,
                      .bootstrap = route, .kafka_timeout_ms = t->rc->kafka_timeout_ms, .ntarget = brokers,
                      .tag = tag, .state = pr->scratch, .throttle_bytes = t->rc->reassign_throttle_bytes,
                      .max_moves_per_batch = (int)json_integer_value(json_object_get(pr->args, "max_moves_per_batch"))};
    if (x.max_moves_per_batch <= 0) x.max_moves_per_batch = t->rc->reassign_batch_moves;
    reassign_result r = reassign_step(&x);
    t->called |= x.called;
    if (!json_equal(before, pr->scratch)) pr->plan_changed = true;
    json_decref(before);
    switch (r) {
    case RS_DONE:
        snprintf(pr->msg, sizeof pr->msg, "%s", x.msg);
        return PLAN_STEP_DONE;
    case RS_WAIT:
        return plan_wait(t, pr, x.msg, x.wait_ms);
    case RS_FAILED:
        if (!drain) return plan_fail(t, pr, "ReassignmentFailed", x.msg);
        snprintf(msg, sizeof msg, "%s; the StatefulSet stays at its size and the spec goes back", x.msg);
        return plan_fail_revert(t, pr, "DrainFailed", msg);
    case RS_KUBE:
    default:
        return kube_trouble(t, pr, x.krc, &x.e, x.msg, x.percent, drain);
    }
}

int exec_grow_claims(kturn *t, plan_run *pr)
{
    storage_ctx x = {.c = t->c, .ns = t->ns, .brokers = (int)t->r->brokers, .gib = t->r->storage_gib};
    storage_result r = storage_grow_step(&x);
    t->called |= x.called;
    if (x.patched && !json_is_true(json_object_get(pr->scratch, "patched"))) {
        json_object_set_new(pr->scratch, "patched", json_true());
        pr->plan_changed = true;
    }
    switch (r) {
    case SG_DONE:
        pr->skipped = !json_is_true(json_object_get(pr->scratch, "patched"));
        snprintf(pr->msg, sizeof pr->msg, "%s%s", x.msg, pr->skipped ? " (nothing to grow)" : "");
        return PLAN_STEP_DONE;
    case SG_WAIT:
        return plan_wait(t, pr, x.msg, x.wait_ms);
    case SG_FAILED:
        return plan_fail_revert(t, pr, "VolumeExpansionRefused", x.msg);
    case SG_KUBE:
    default:
        return kube_trouble(t, pr, x.krc, &x.e, x.msg, 50, true);
    }
}

int exec_release_brokers(kturn *t, plan_run *pr)
{
    int from = (int)json_integer_value(json_object_get(pr->args, "from"));
    int to = (int)json_integer_value(json_object_get(pr->args, "to"));
    bool del = json_is_true(json_object_get(t->r->spec, "delete_volumes_on_scale_in"));
    char name[96], msg[600];
    kube_err e;
    t->called = true;
    for (int i = from; i < to; i++) {                      /* the StatefulSet removes them */
        json_t *pod = NULL;
        snprintf(name, sizeof name, RENDER_BROKER_STS "-%d", i);
        kube_rc rc = kube_get(t->c, "v1", "Pod", t->ns, name, &pod, &e);
        json_decref(pod);
        if (rc == KUBE_OK) {
            snprintf(msg, sizeof msg, "waiting for pod %s to stop", name);
            return plan_wait(t, pr, msg, 1000);
        }
        if (rc != KUBE_NOT_FOUND) return kube_trouble(t, pr, rc, &e, e.message, 90, false);
    }
    for (int i = from; i < to; i++) {
        snprintf(name, sizeof name, RENDER_BROKER_STS "-%d-external", i);
        kube_rc rc = kube_delete(t->c, "v1", "Service", t->ns, name, NULL, &e);
        if (rc == KUBE_OK || rc == KUBE_NOT_FOUND) rc = KUBE_OK;
        if (rc == KUBE_OK && del) {
            snprintf(name, sizeof name, "data-" RENDER_BROKER_STS "-%d", i);
            rc = kube_delete(t->c, "v1", "PersistentVolumeClaim", t->ns, name, NULL, &e);
            if (rc == KUBE_NOT_FOUND) rc = KUBE_OK;
        }
        if (rc != KUBE_OK) return kube_trouble(t, pr, rc, &e, e.message, 90, false);
    }
    snprintf(pr->msg, sizeof pr->msg, "brokers %d-%d are gone; their claims data-%s-%d..%d were %s", from, to - 1,
             RENDER_BROKER_STS, from, to - 1, del ? "deleted (delete_volumes_on_scale_in)"
                                                 : "kept (delete_volumes_on_scale_in is false)");
    return PLAN_STEP_DONE;
}
