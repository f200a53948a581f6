/* roll.c — the rolling restart engine (issue 13; after Strimzi's
 * KafkaRoller): the executors of a roll's steps.
 *
 * StatefulSets use updateStrategy OnDelete, so nothing restarts a pod but
 * this file. One pod at a time: a RESTART_POD step deletes its pod only
 * when every pod of the cluster is ready (a pod that is not may be
 * recovering its logs: it is never deleted to "help"), and for a broker
 * only when Kafka can spare it — the broker is listed in metadata (a
 * broker still loading its logs is not yet unfenced, so it is not), and
 * the availability check (kafka/availability.h) over live metadata and
 * each topic's min.insync.replicas passes. While either blocks, the step
 * waits with backoff and its message names what blocks. The pod's uid is
 * saved before the delete (plan_save: also the safe point a cancel stops
 * at), and the delete carries it as a precondition, so a process killed at
 * any instant never deletes the pod's next incarnation: each pod restarts
 * exactly once. After the delete: the new pod ready, the broker back in
 * metadata, under-replicated partitions 0. A pod that cannot start
 * (ImagePullBackOff, CrashLoopBackOff, …) fails the operation, naming it.
 *
 * The active controller restarts last: FIND_LEADER runs
 * kafka-metadata-quorum.sh describe --status as a Job (librdkafka 2.0.2
 * has no DescribeMetadataQuorum, and metadata's controller id is a random
 * broker in KRaft) and moves the leader's step after the other
 * controllers'. If the quorum cannot be read, controllers roll in ordinal
 * order and the step says so: the order saves an election, safety does not
 * depend on it.
 *
 * Upgrades: a pod already on the StatefulSet's image is skipped (a resumed
 * or repeated upgrade restarts nothing twice); METADATA_VERSION raises the
 * metadata version (kafka-features.sh in a Job) only once every pod runs
 * the new release. Dynamic configs: ALTER_CONFIGS, read-merge-write per
 * broker (kafka/topology.h). */
#define _GNU_SOURCE
#include "plans.h"
#include "pods.h"
#include "jobs.h"
#include "cluster_health.h"
#include "kafka/topology.h"
#include "kafka/availability.h"
#include "../core/cluster.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *turn_kafka_route(kturn *t, const char **why)
{
    *why = "this server was started without a Kafka client";
    if (!t->rc->kafka) return NULL;
    return health_route(t->r->status, t->plane, why);
}

static const char *arg_str(const json_t *args, const char *k)
{
    const char *v = json_string_value(json_object_get(args, k));
    return v ? v : "";
}

/* The cluster's Kafka pods (controllers and brokers), or NULL (t->krc). */
static json_t *cluster_pods(kturn *t)
{
    char sel[160];
    json_t *items = NULL;
    snprintf(sel, sizeof sel, "streamplane.dev/cluster=%s,app.kubernetes.io/name=kafka", t->r->id);
    t->called = true;
    t->krc = kube_list(t->c, "v1", "Pod", t->ns, sel, &items, &t->e);
    return t->krc == KUBE_OK ? items : NULL;
}

static json_t *find_pod(json_t *pods, const char *name)
{
    size_t i;
    json_t *p;
    json_array_foreach(pods, i, p) {
        const char *n = json_string_value(json_object_get(json_object_get(p, "metadata"), "name"));
        if (n && strcmp(n, name) == 0) return p;
    }
    return NULL;
}

static const char *name_of(const json_t *pod)
{
    return json_string_value(json_object_get(json_object_get(pod, "metadata"), "name"));
}

/* A Kubernetes call failed: transient waits through the pool's backoff,
 * permanent fails the operation. */
static int kube_failed(kturn *t, plan_run *pr, const char *what)
{
    snprintf(t->err, sizeof t->err, "%s: %s", what, t->e.message);
    if (kube_transient(t->krc)) return call_failed(t, pr->name, 0);
    return plan_fail(t, pr, kube_rc_name(t->krc), t->err);
}

/* ---- the checks before a delete ------------------------------------------ */

/* Another pod that is not ready, or one that cannot start: a message and
 * true. *fatal when the pod cannot start (the operation fails). */
static bool other_pod_blocks(json_t *pods, const char *me, char *msg, size_t cap, bool *fatal, char *code,
                             size_t ccap)
{
    size_t i;
    json_t *p;
    *fatal = false;
    json_array_foreach(pods, i, p) {
        if (pod_failing(p, code, ccap, msg, cap)) { *fatal = true; return true; }
        const char *n = name_of(p);
        if (n && strcmp(n, me) != 0 && !pod_ready(p)) {
            snprintf(msg, cap, "pod %s is not ready; one pod at a time, so %s waits", n, me);
            return true;
        }
    }
    return false;
}

/* May this broker go now, by live metadata and min.insync.replicas? 0 yes,
 * 1 no (msg says why), -1 Kafka could not be read (msg). */
static int broker_may_go(kturn *t, const char *route, int32_t node, char *msg, size_t cap)
{
    kafka_topology topo;
    bool transient;
    char err[300];
    if (kafka_topology_read(t->rc->kafka, route, t->rc->kafka_timeout_ms, true, &topo, &transient, err,
                            sizeof err) != 0) {
        snprintf(msg, cap, "Kafka metadata cannot be read (%s); no broker restarts until it can", err);
        return -1;
    }
    int out = 0;
    if (!kafka_topology_has_broker(&topo, node)) {
        snprintf(msg, cap, "broker %d is not in Kafka's metadata (still recovering its logs, or fenced): it is "
                 "not restarted until it is back", node);
        out = 1;
    } else {
        avail_partition *ap = calloc(topo.nparts ? topo.nparts : 1, sizeof *ap);
        if (!ap) { kafka_topology_free(&topo); snprintf(msg, cap, "out of memory"); return -1; }
        for (size_t i = 0; i < topo.nparts; i++) {
            const kafka_part *k = &topo.parts[i];
            ap[i] = (avail_partition){k->topic, k->partition, k->replicas, k->nreplicas, k->isr, k->nisr,
                                      k->min_isr > 0 ? k->min_isr : 1};
        }
        avail_verdict v;
        if (avail_check_restart(node, ap, topo.nparts, &v) != AVAIL_OK) {
            snprintf(msg, cap, "metadata for broker %d cannot be judged (a partition without replicas)", node);
            out = -1;
        } else if (!v.may_restart) {
            snprintf(msg, cap, "%s", v.detail);
            out = 1;
        }
        free(ap);
    }
    kafka_topology_free(&topo);
    return out;
}

/* After the restart: the broker is back and nothing is under-replicated.
 * 0 done (msg), 1 still waiting (msg). */
static int kafka_settled(kturn *t, const char *route, int32_t node, bool broker, char *msg, size_t cap)
{
    kafka_topology topo;
    bool transient;
    char err[300];
    if (kafka_topology_read(t->rc->kafka, route, t->rc->kafka_timeout_ms, false, &topo, &transient, err,
                            sizeof err) != 0) {
        snprintf(msg, cap, "pod ready; Kafka metadata cannot be read yet (%s)", err);
        return 1;
    }
    int out = 1;
    if (broker && !kafka_topology_has_broker(&topo, node))
        snprintf(msg, cap, "pod ready; waiting for broker %d to be back in Kafka's metadata", node);
    else if (!broker && topo.offline)
        snprintf(msg, cap, "pod ready; waiting for every partition to have a leader (%d offline)", topo.offline);
    else if (!broker)
        snprintf(msg, cap, "%d partition%s with a leader (a controller holds no replica: the ISR is the brokers' "
                 "business)", (int)topo.nparts, topo.nparts == 1 ? "" : "s");
    else if (topo.offline || topo.under_replicated)
        snprintf(msg, cap, "pod ready%s; waiting for 0 under-replicated partitions (%d left, %d offline)",
                 broker ? ", broker back in metadata" : "", topo.under_replicated, topo.offline);
    else {
        snprintf(msg, cap, "broker back in metadata, 0 under-replicated partitions");
        out = 0;
    }
    if (!broker && !topo.offline) out = 0;
    kafka_topology_free(&topo);
    return out;
}

/* ---- RESTART_POD ---------------------------------------------------------- */

typedef struct restart {
    const char *pod, *role, *route, *noroute;
    int32_t node;
    bool broker, upgrade;
} restart;

/* Checks, then saves the pod's uid and deletes it. */
static int restart_begin(kturn *t, plan_run *pr, const restart *rs, json_t *pods, json_t *me)
{
    char msg[700], code[64];
    bool fatal;
    if (!me) return plan_wait(t, pr, "the pod does not exist yet (its StatefulSet creates it)", 2000);
    if (pod_failing(me, code, sizeof code, msg, sizeof msg)) return plan_fail(t, pr, code, msg);
    if (rs->upgrade) {
        char img[300];
        if ((t->krc = sts_kafka_image(t->c, t->ns, rs->broker ? RENDER_BROKER_STS : RENDER_CONTROLLER_STS, img,
                                      sizeof img, &t->e)) != KUBE_OK)
            return kube_failed(t, pr, "reading the StatefulSet");
        if (img[0] && strcmp(img, pod_kafka_image(me)) == 0) {
            snprintf(pr->msg, sizeof pr->msg, "%s already runs %s: nothing to restart", rs->pod, img);
            pr->skipped = true;
            return PLAN_STEP_DONE;
        }
    }
    if (!pod_ready(me)) {
        snprintf(msg, sizeof msg, "pod %s is not ready: it may be recovering its logs, so it is not restarted "
                 "until it is", rs->pod);
        return plan_blocked(t, pr, msg);
    }
    if (other_pod_blocks(pods, rs->pod, msg, sizeof msg, &fatal, code, sizeof code))
        return fatal ? plan_fail(t, pr, code, msg) : plan_blocked(t, pr, msg);
    if (rs->broker && rs->route) {
        int may = broker_may_go(t, rs->route, rs->node, msg, sizeof msg);
        if (may != 0) return plan_blocked(t, pr, msg);
    }
    json_object_set_new(pr->scratch, "deleted_uid", json_string(pod_uid(me)));
    json_object_set_new(pr->scratch, "from_image", json_string(pod_kafka_image(me)));
    snprintf(msg, sizeof msg, "deleting pod %s (uid %s)%s", rs->pod, pod_uid(me),
             rs->broker ? (rs->route ? ": Kafka can spare it" : "") : "");
    if (!plan_save(t, pr, msg)) return 1;       /* cancelled meanwhile: the safe point */
    return NEXT;
}

static int restart_delete(kturn *t, plan_run *pr, const restart *rs)
{
    const char *uid = json_string_value(json_object_get(pr->scratch, "deleted_uid"));
    t->krc = kube_delete_uid(t->c, "v1", "Pod", t->ns, rs->pod, uid, &t->e);
    /* gone already, or replaced (the uid no longer matches): restarted */
    if (t->krc == KUBE_NOT_FOUND || t->krc == KUBE_CONFLICT) t->krc = KUBE_OK;
    if (t->krc != KUBE_OK) return kube_failed(t, pr, "deleting the pod");
    char msg[300];
    snprintf(msg, sizeof msg, "pod %s deleted; waiting for it to come back", rs->pod);
    return plan_wait(t, pr, msg, 1000);
}

/* After the delete: the new pod ready, then Kafka settled. */
static int restart_wait(kturn *t, plan_run *pr, const restart *rs, json_t *me)
{
    const char *old = json_string_value(json_object_get(pr->scratch, "deleted_uid"));
    char msg[700], code[64];
    if (me && strcmp(pod_uid(me), old) == 0 && !pod_terminating(me))
        return restart_delete(t, pr, rs);       /* the delete was never sent (a crash between save and call) */
    if (!me || strcmp(pod_uid(me), old) == 0) {
        snprintf(msg, sizeof msg, "pod %s deleted; waiting for it to come back", rs->pod);
        return plan_wait(t, pr, msg, 1000);
    }
    if (pod_failing(me, code, sizeof code, msg, sizeof msg)) return plan_fail(t, pr, code, msg);
    if (!pod_ready(me)) {
        snprintf(msg, sizeof msg, "pod %s restarted (uid %s); waiting for it to be ready", rs->pod, pod_uid(me));
        return plan_wait(t, pr, msg, 1000);
    }
    char kafka[400] = "";
    if (rs->route) {
        int w = kafka_settled(t, rs->route, rs->node, rs->broker, kafka, sizeof kafka);
        if (w) return plan_wait(t, pr, kafka, 1000);
    } else {
        snprintf(kafka, sizeof kafka, "Kafka not checked (%s)", rs->noroute);
    }
    const char *from = json_string_value(json_object_get(pr->scratch, "from_image"));
    const char *to = pod_kafka_image(me);
    char images[400] = "";
    if (from && strcmp(from, to) != 0) snprintf(images, sizeof images, ", %.180s -> %.180s", from, to);
    snprintf(pr->msg, sizeof pr->msg, "%.60s restarted (new uid %.40s%.220s) and ready; %.300s", rs->pod, pod_uid(me),
             images, kafka);
    return PLAN_STEP_DONE;
}

int exec_restart_pod(kturn *t, plan_run *pr)
{
    restart rs = {.pod = arg_str(pr->args, "pod"), .role = arg_str(pr->args, "role")};
    rs.node = (int32_t)json_integer_value(json_object_get(pr->args, "node"));
    rs.broker = strcmp(rs.role, "broker") == 0;
    rs.upgrade = json_is_true(json_object_get(pr->args, "upgrade"));
    rs.route = turn_kafka_route(t, &rs.noroute);
    json_t *pods = cluster_pods(t);
    if (!pods) return kube_failed(t, pr, "listing the cluster's pods");
    json_t *me = find_pod(pods, rs.pod);
    int out;
    if (json_object_get(pr->scratch, "deleted_uid")) out = restart_wait(t, pr, &rs, me);
    else if ((out = restart_begin(t, pr, &rs, pods, me)) == NEXT) out = restart_delete(t, pr, &rs);
    json_decref(pods);
    return out;
}

/* ---- FIND_LEADER ---------------------------------------------------------- */

/* The controllers' addresses for --bootstrap-controller. */
static void controller_bootstrap(kturn *t, int n, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = 0;
    for (int i = 0; i < n && len + 2 < cap; i++)
        len += (size_t)snprintf(out + len, cap - len, "%s%s-%d.%s.%s.svc.cluster.local:9093", i ? "," : "",
                                RENDER_CONTROLLER_STS, i, RENDER_CONTROLLER_STS, t->ns);
}

/* The leader's node id from `describe --status` output, or -1. */
static int parse_leader(const char *log)
{
    const char *at = log ? strstr(log, "LeaderId:") : NULL;
    return at ? atoi(at + 9) : -1;
}

/* Moves the step restarting node after every other controller's step. */
static int leader_last(json_t *plan, int leader)
{
    int mine = -1, last = -1;
    for (int i = plan_cursor(plan) + 1; i < plan_len(plan); i++) {
        pstep_kind k;
        const json_t *args;
        plan_step(plan, i, &k, NULL, &args);
        if (k != PSTEP_RESTART_POD || strcmp(arg_str(args, "role"), "controller") != 0) continue;
        if (json_integer_value(json_object_get(args, "node")) == leader) mine = i;
        last = i;
    }
    return mine >= 0 ? plan_move(plan, mine, last) : -1;
}

/* Ends the step with the controllers in ordinal order, saying why. */
static int leader_unknown(plan_run *pr, const char *why)
{
    snprintf(pr->msg, sizeof pr->msg, "the active controller could not be read (%s): controllers restart in "
             "ordinal order", why);
    return PLAN_STEP_DONE;
}

/* A quorum read that takes longer than this is given up (ordinal order). */
#define QUORUM_JOB_MS (5 * 60 * 1000)

int exec_find_leader(kturn *t, plan_run *pr)
{
    char job[96], img[300], boot[600];
    job_name("quorum", pr->op->id, job, sizeof job);
    int ncontrollers = 0;
    for (int i = plan_cursor(pr->op->plan) + 1; i < plan_len(pr->op->plan); i++) {
        const json_t *args;
        pstep_kind k;
        plan_step(pr->op->plan, i, &k, NULL, &args);
        if (k == PSTEP_RESTART_POD && strcmp(arg_str(args, "role"), "controller") == 0) ncontrollers++;
    }
    t->called = true;
    if (!json_object_get(pr->scratch, "job")) {
        /* the image a ready controller runs now (the target's may not start) */
        json_t *pods = cluster_pods(t);
        if (!pods) return kube_failed(t, pr, "listing the cluster's pods");
        img[0] = 0;
        size_t i;
        json_t *p;
        json_array_foreach(pods, i, p)
            if (!img[0] && pod_ready(p) && strncmp(name_of(p) ?: "", RENDER_CONTROLLER_STS "-",
                                                   strlen(RENDER_CONTROLLER_STS) + 1) == 0)
                snprintf(img, sizeof img, "%s", pod_kafka_image(p));
        json_decref(pods);
        if (!img[0]) return leader_unknown(pr, "no controller pod is ready");
        controller_bootstrap(t, ncontrollers, boot, sizeof boot);
        json_t *obj = job_object(t->ns, job, t->r->id, img,
                                 json_pack("[s, s, s, s, s]", "/opt/kafka/bin/kafka-metadata-quorum.sh",
                                           "--bootstrap-controller", boot, "describe", "--status"));
        t->krc = kube_create(t->c, obj, NULL, &t->e);
        json_decref(obj);
        if (t->krc == KUBE_CONFLICT) t->krc = KUBE_OK;     /* created before a crash */
        if (t->krc != KUBE_OK) return kube_failed(t, pr, "creating the quorum Job");
        json_object_set_new(pr->scratch, "job", json_string(job));
        json_object_set_new(pr->scratch, "since_ms", json_integer(sp_clock_wall_ms(pr->clock)));
        pr->plan_changed = true;
    }
    job_state js;
    char *log = NULL;
    if ((t->krc = job_read(t->c, t->ns, job, &js, &log, &t->e)) != KUBE_OK) return kube_failed(t, pr, "reading the quorum Job");
    int64_t age = sp_clock_wall_ms(pr->clock) - json_integer_value(json_object_get(pr->scratch, "since_ms"));
    int out;
    if (js == JOB_RUNNING && age < QUORUM_JOB_MS) {
        out = plan_wait(t, pr, "reading the quorum's leader (Job kafka-metadata-quorum.sh describe --status)", 1000);
    } else {
        int leader = js == JOB_SUCCEEDED ? parse_leader(log) : -1;
        char why[300];
        if (leader >= 0 && leader_last(pr->op->plan, leader) == 0) {
            pr->plan_changed = true;
            snprintf(pr->msg, sizeof pr->msg, "the active controller is node %d: its pod restarts last", leader);
            out = PLAN_STEP_DONE;
        } else {
            const char *tail = log ? log : "";
            size_t n = strlen(tail);
            snprintf(why, sizeof why, "%s%s%.200s", js == JOB_RUNNING ? "the Job did not finish in 5 minutes"
                                                    : js == JOB_MISSING ? "the Job is gone"
                                                    : js == JOB_FAILED ? "the Job failed" : "no LeaderId in its output",
                     n ? ": " : "", n > 200 ? tail + n - 200 : tail);
            out = leader_unknown(pr, why);
        }
        kube_delete(t->c, "batch/v1", "Job", t->ns, job, "Background", &t->e);
        t->krc = KUBE_OK;
    }
    free(log);
    return out;
}

/* ---- ALTER_CONFIGS -------------------------------------------------------- */

/* No route to Kafka: the change goes in by a roll of the brokers instead
 * (steps inserted after this one, unless the plan rolls them already). */
static int alter_by_roll(kturn *t, plan_run *pr, const char *why)
{
    (void)t;
    bool rolls = false;
    for (int i = 0; i < plan_len(pr->op->plan); i++) {
        pstep_kind k;
        plan_step(pr->op->plan, i, &k, NULL, NULL);
        if (k == PSTEP_RESTART_POD) rolls = true;
    }
    for (int i = (int)t->r->brokers - 1; !rolls && i >= 0; i--) {
        char pod[64], name[96];
        snprintf(pod, sizeof pod, "%s-%d", RENDER_BROKER_STS, i);
        snprintf(name, sizeof name, "restart %s", pod);
        plan_insert_next(pr->op->plan, PSTEP_RESTART_POD, name,
                         json_pack("{s:s, s:s, s:i, s:b}", "pod", pod, "role", "broker", "node", i, "upgrade", 0));
    }
    pr->plan_changed = true;
    snprintf(pr->msg, sizeof pr->msg, "streamplane cannot reach this cluster's Kafka (%s): the change goes in by %s",
             why, rolls ? "the roll that follows" : "a roll of the brokers instead (steps added)");
    pr->skipped = true;
    return PLAN_STEP_DONE;
}

int exec_alter_configs(kturn *t, plan_run *pr)
{
    const char *why;
    const char *route = turn_kafka_route(t, &why);
    if (!route) return alter_by_roll(t, pr, why);
    const json_t *set = json_object_get(pr->args, "set"), *unset = json_object_get(pr->args, "unset");
    kafka_topology topo;
    bool transient;
    char err[400], msg[700];
    if (kafka_topology_read(t->rc->kafka, route, t->rc->kafka_timeout_ms, false, &topo, &transient, err,
                            sizeof err) != 0) {
        snprintf(msg, sizeof msg, "Kafka metadata cannot be read (%s)", err);
        return plan_blocked(t, pr, msg);
    }
    int out = NEXT;
    for (int i = 0; i < topo.nbrokers && out == NEXT; i++) {
        if (kafka_broker_configs_merge(t->rc->kafka, route, t->rc->kafka_timeout_ms, topo.brokers[i], set, unset,
                                       &transient, err, sizeof err) == 0)
            continue;
        out = transient ? plan_blocked(t, pr, err) : plan_fail(t, pr, "ConfigRejected", err);
    }
    /* the brokers report it: the first key set, as broker 0 (or the first listed) sees it */
    const char *k0 = NULL;
    json_t *v0 = NULL;
    void *it = json_object_iter((json_t *)set);
    if (it) { k0 = json_object_iter_key(it); v0 = json_object_iter_value(it); }
    char seen[256] = "";
    if (out == NEXT && k0 && topo.nbrokers > 0 &&
        (kafka_broker_config(t->rc->kafka, route, t->rc->kafka_timeout_ms, topo.brokers[0], k0, seen, sizeof seen,
                             &transient, err, sizeof err) != 0 ||
         strcmp(seen, json_string_value(v0) ? json_string_value(v0) : "") != 0)) {
        snprintf(msg, sizeof msg, "configs written; waiting for broker %d to report %s=%s (it reports \"%s\")",
                 topo.brokers[0], k0, json_string_value(v0), seen);
        out = plan_wait(t, pr, msg, 1000);
    }
    if (out == NEXT) {
        char *keys = json_dumps(set, JSON_COMPACT | JSON_SORT_KEYS);
        snprintf(pr->msg, sizeof pr->msg, "applied live with AlterConfigs on %d broker%s: set %s%s%s%s; no pod "
                 "restarted", topo.nbrokers, topo.nbrokers == 1 ? "" : "s", keys ? keys : "{}",
                 json_array_size(unset) ? ", removed " : "", json_array_size(unset) ? "some keys" : "",
                 k0 ? "; brokers report the new value" : "");
        free(keys);
        out = PLAN_STEP_DONE;
    }
    kafka_topology_free(&topo);
    return out;
}

/* ---- METADATA_VERSION ----------------------------------------------------- */

int exec_metadata_version(kturn *t, plan_run *pr)
{
    const char *release = arg_str(pr->args, "release"), *version = arg_str(pr->args, "version");
    char job[96], img[300], boot[300], msg[700];
    job_name("features", pr->op->id, job, sizeof job);
    json_t *pods = cluster_pods(t);
    if (!pods) return kube_failed(t, pr, "listing the cluster's pods");
    size_t i;
    json_t *p;
    char behind[400] = "";
    json_array_foreach(pods, i, p) {
        const char *rel = pod_kafka_release(p);
        if (!rel || strcmp(rel, release) != 0) {
            size_t n = strlen(behind);
            snprintf(behind + n, sizeof behind - n, "%s%s (%s)", n ? ", " : "", name_of(p), rel ? rel : "?");
        }
    }
    json_decref(pods);
    if (behind[0]) {
        snprintf(msg, sizeof msg, "the metadata version stays until every pod runs %s; not yet: %s", release, behind);
        return plan_blocked(t, pr, msg);
    }
    if (!json_object_get(pr->scratch, "job")) {
        if ((t->krc = sts_kafka_image(t->c, t->ns, RENDER_BROKER_STS, img, sizeof img, &t->e)) != KUBE_OK)
            return kube_failed(t, pr, "reading the brokers' StatefulSet");
        snprintf(boot, sizeof boot, "%s.%s.svc.cluster.local:9092", RENDER_BOOTSTRAP_SVC, t->ns);
        bool v4 = release[0] >= '4';
        json_t *obj = job_object(t->ns, job, t->r->id, img,
                                 json_pack("[s, s, s, s, s, s]", "/opt/kafka/bin/kafka-features.sh",
                                           "--bootstrap-server", boot, "upgrade",
                                           v4 ? "--release-version" : "--metadata", version));
        t->krc = kube_create(t->c, obj, NULL, &t->e);
        json_decref(obj);
        if (t->krc == KUBE_CONFLICT) t->krc = KUBE_OK;
        if (t->krc != KUBE_OK) return kube_failed(t, pr, "creating the kafka-features Job");
        json_object_set_new(pr->scratch, "job", json_string(job));
        pr->plan_changed = true;
    }
    job_state js;
    char *log = NULL;
    if ((t->krc = job_read(t->c, t->ns, job, &js, &log, &t->e)) != KUBE_OK)
        return kube_failed(t, pr, "reading the kafka-features Job");
    int out;
    const char *tail = log ? log : "";
    size_t n = strlen(tail);
    if (js == JOB_RUNNING) {
        snprintf(msg, sizeof msg, "every pod runs %s; raising the metadata version to %s (Job %s)", release, version, job);
        out = plan_wait(t, pr, msg, 1000);
    } else if (js == JOB_SUCCEEDED) {
        snprintf(pr->msg, sizeof pr->msg, "every pod runs %s; metadata version raised to %s%s%.200s", release, version,
                 n ? ": " : "", n > 200 ? tail + n - 200 : tail);
        out = PLAN_STEP_DONE;
    } else {
        snprintf(msg, sizeof msg, "raising the metadata version to %s failed (Job %s %s)%s%.300s", version, job,
                 js == JOB_MISSING ? "is gone" : "failed", n ? ": " : "", n > 300 ? tail + n - 300 : tail);
        out = plan_fail(t, pr, "MetadataVersionFailed", msg);
    }
    free(log);
    return out;
}
