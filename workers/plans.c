/* plans.c — see plans.h: which operation gets which plan, and the loop
 * that runs a plan's current step.
 *
 * Every write goes through op_tx, a transaction that first checks the
 * operation is still the cluster's current one: an operation cancelled or
 * superseded through the API meanwhile is never written over, and a step
 * about to act (plan_save) learns that it must not. */
#define _GNU_SOURCE
#include "plans.h"
#include "../core/cluster.h"
#include "../common/util.h"

#include <stdio.h>
#include <string.h>

/* ---- the transactions --------------------------------------------------- */

/* A transaction in which op is still the cluster's current operation;
 * false (nothing open) when it is not, or the store failed. */
static bool op_tx(kturn *t, const store_op *op)
{
    if (store_begin(t->st) != ST_OK) return false;
    char cur[SP_ID_MAX] = "";
    if (store_op_current(t->st, op->cluster_id, cur) != ST_OK || strcmp(cur, op->id) != 0) {
        store_rollback(t->st);
        return false;
    }
    return true;
}

static int note(kturn *t, plan_run *pr, const char *msg, bool force)
{
    if (!op_tx(t, pr->op)) return -1;
    bool wrote = false;
    int rc = ops_plan_note(t->st, pr->op, msg, force || pr->plan_changed, pr->clock, &wrote);
    if (rc != ST_OK || !wrote) { store_rollback(t->st); return rc == ST_OK ? 0 : -1; }
    if (store_commit(t->st) != ST_OK) return -1;
    pr->plan_changed = false;
    return 0;
}

int plan_wait(kturn *t, plan_run *pr, const char *msg, int ms)
{
    note(t, pr, msg, false);
    return ms > 0 ? ms : 1;
}

int plan_blocked(kturn *t, plan_run *pr, const char *msg)
{
    int ms = plan_backoff_ms(plan_attempts(pr->op->plan));
    plan_attempt(pr->op->plan);
    pr->plan_changed = true;
    note(t, pr, msg, true);
    return ms;
}

int plan_fail(kturn *t, plan_run *pr, const char *code, const char *msg)
{
    if (!op_tx(t, pr->op)) return 1;
    if (ops_fail(t->st, pr->op, code, msg, pr->clock) != ST_OK) { store_rollback(t->st); return -1; }
    return store_commit(t->st) == ST_OK ? 1 : -1;
}

bool plan_save(kturn *t, plan_run *pr, const char *msg)
{
    pr->plan_changed = true;
    return note(t, pr, msg, true) == 0 && !pr->plan_changed;
}

int plans_fail_current(kturn *t, const char *code, const char *msg)
{
    if (store_begin(t->st) != ST_OK) return -1;
    char cur[SP_ID_MAX] = "";
    store_op o;
    int rc = store_op_current(t->st, t->r->id, cur);
    if (rc != ST_OK || !cur[0]) { store_rollback(t->st); return rc == ST_OK ? 0 : -1; }
    if ((rc = store_op_get(t->st, cur, NULL, &o)) == ST_OK) {
        rc = ops_fail(t->st, &o, code, msg, NULL);
        store_op_clear(&o);
    }
    if (rc != ST_OK) { store_rollback(t->st); return -1; }
    return store_commit(t->st) == ST_OK ? 0 : -1;
}

/* ---- which plan --------------------------------------------------------- */

/* Broker configs Kafka changes on a running broker (update mode
 * "cluster-wide" in Kafka's broker config documentation, 3.7-4.1); every
 * other one is read at start only and needs a restart. Sorted. */
static const char *const DYNAMIC[] = {
    "background.threads", "compression.type", "log.cleaner.backoff.ms", "log.cleaner.dedupe.buffer.size",
    "log.cleaner.delete.retention.ms", "log.cleaner.io.buffer.load.factor", "log.cleaner.io.buffer.size",
    "log.cleaner.io.max.bytes.per.second", "log.cleaner.max.compaction.lag.ms", "log.cleaner.min.cleanable.ratio",
    "log.cleaner.min.compaction.lag.ms", "log.cleaner.threads", "log.cleanup.policy",
    "log.flush.interval.messages", "log.flush.interval.ms", "log.index.interval.bytes",
    "log.index.size.max.bytes", "log.message.timestamp.after.max.ms", "log.message.timestamp.before.max.ms",
    "log.message.timestamp.type", "log.preallocate", "log.retention.bytes", "log.retention.ms",
    "log.roll.jitter.ms", "log.roll.ms", "log.segment.bytes", "log.segment.delete.delay.ms",
    "max.connection.creation.rate", "max.connections", "max.connections.per.ip",
    "max.connections.per.ip.overrides", "message.max.bytes", "min.insync.replicas", "num.io.threads",
    "num.network.threads", "num.recovery.threads.per.data.dir", "num.replica.fetchers",
    "unclean.leader.election.enable",
};

bool plan_config_dynamic(const char *name)
{
    for (size_t i = 0; name && i < sizeof DYNAMIC / sizeof DYNAMIC[0]; i++)
        if (strcmp(DYNAMIC[i], name) == 0) return true;
    return false;
}

/* What a config change asks: keys to set and to drop live, and the keys
 * that need a restart (a comma list for the path). */
typedef struct cfg_delta { json_t *set, *unset; char static_keys[400], dyn_keys[400]; } cfg_delta;

static void list_add(char *buf, size_t cap, const char *k)
{
    size_t n = strlen(buf);
    if (n + strlen(k) + 3 < cap) snprintf(buf + n, cap - n, "%s%s", n ? ", " : "", k);
}

static void config_delta(const json_t *change, cfg_delta *d)
{
    d->set = json_object();
    d->unset = json_array();
    d->static_keys[0] = d->dyn_keys[0] = 0;
    const json_t *from = json_object_get(change, "from"), *to = json_object_get(change, "to");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)to, k, v) {
        if (json_equal(json_object_get(from, k), v)) continue;
        if (plan_config_dynamic(k)) { json_object_set(d->set, k, v); list_add(d->dyn_keys, sizeof d->dyn_keys, k); }
        else list_add(d->static_keys, sizeof d->static_keys, k);
    }
    json_object_foreach((json_t *)from, k, v) {
        if (json_object_get(to, k)) continue;
        if (plan_config_dynamic(k)) {
            json_array_append_new(d->unset, json_string(k));
            list_add(d->dyn_keys, sizeof d->dyn_keys, k);
        } else {
            list_add(d->static_keys, sizeof d->static_keys, k);
        }
    }
}

/* "4.1" of "4.1.0". */
static void minor_of(const char *rel, char out[16])
{
    int a = 0, b = 0;
    sscanf(rel, "%d.%d", &a, &b);
    snprintf(out, 16, "%d.%d", a, b);
}

static void add_restarts(json_t *plan, const plan_in *in, bool upgrade)
{
    char name[96], pod[64];
    if (in->controllers > 1) plan_add(plan, PSTEP_FIND_LEADER, "find the active controller", NULL);
    for (int i = 0; i < in->controllers; i++) {
        snprintf(pod, sizeof pod, "%s-%d", RENDER_CONTROLLER_STS, i);
        snprintf(name, sizeof name, "restart %s", pod);
        plan_add(plan, PSTEP_RESTART_POD, name,
                 json_pack("{s:s, s:s, s:i, s:b}", "pod", pod, "role", "controller", "node",
                           RENDER_CONTROLLER_BASE_ID + i, "upgrade", upgrade));
    }
    for (int i = 0; i < in->brokers; i++) {
        snprintf(pod, sizeof pod, "%s-%d", RENDER_BROKER_STS, i);
        snprintf(name, sizeof name, "restart %s", pod);
        plan_add(plan, PSTEP_RESTART_POD, name,
                 json_pack("{s:s, s:s, s:i, s:b}", "pod", pod, "role", "broker", "node", i, "upgrade", upgrade));
    }
}

#define ROLL_ORDER "controllers first (the active one last), then brokers, one pod at a time, each only " \
                   "when Kafka can spare it"

json_t *plan_for(op_type type, const json_t *changes, const plan_in *in)
{
    const json_t *vchange = json_object_get(changes, "kafka_version");
    bool upgrade = vchange && in->from_release && in->to_release &&
                   cluster_version_cmp(in->to_release, in->from_release) > 0;
    bool listeners = json_object_get(changes, "external_access") != NULL;
    const json_t *cchange = json_object_get(changes, "config");
    if (type != OP_ROLLING_RESTART && !(type == OP_UPDATE && (vchange || listeners || cchange))) return NULL;

    cfg_delta d = {0};
    config_delta(cchange, &d);
    bool dyn = json_object_size(d.set) + json_array_size(d.unset) > 0;
    bool roll = type == OP_ROLLING_RESTART || upgrade || listeners || d.static_keys[0];
    char path[1400];
    int n = 0;
    if (upgrade)
        n = snprintf(path, sizeof path, "upgrade %s -> %s: every pod rolls onto the new image (" ROLL_ORDER
                     "); the metadata version is raised only after every pod runs %s", in->from_release,
                     in->to_release, in->to_release);
    else if (d.static_keys[0])
        n = snprintf(path, sizeof path, "config change by a roll: %s cannot change on a running broker (Kafka "
                     "reads it at start only), so every pod restarts (" ROLL_ORDER ")", d.static_keys);
    else if (listeners)
        n = snprintf(path, sizeof path, "listener change by a roll: external access changes the brokers' "
                     "listeners, read at start only (" ROLL_ORDER ")");
    else if (roll)
        n = snprintf(path, sizeof path, "rolling restart on request: every pod restarts once (" ROLL_ORDER ")");
    if (dyn)
        snprintf(path + n, sizeof path - (size_t)n, "%s%s %s dynamic broker config%s: applied live on every "
                 "broker with AlterConfigs%s", n ? "; " : "config change applied live: ", d.dyn_keys,
                 strchr(d.dyn_keys, ',') ? "are" : "is a", strchr(d.dyn_keys, ',') ? "s" : "",
                 roll ? "" : ", no pod restarts");

    json_t *plan = plan_new(path);
    plan_add(plan, PSTEP_APPLY, "apply objects", NULL);
    if (dyn) plan_add(plan, PSTEP_ALTER_CONFIGS, "apply dynamic configs",
                      json_pack("{s:O, s:O}", "set", d.set, "unset", d.unset));
    if (roll) add_restarts(plan, in, upgrade);
    char fa[16], fb[16], name[64];
    if (upgrade) {
        minor_of(in->from_release, fa);
        minor_of(in->to_release, fb);
        snprintf(name, sizeof name, "raise the metadata version to %s", fb);
        if (strcmp(fa, fb) != 0)
            plan_add(plan, PSTEP_METADATA_VERSION, name, json_pack("{s:s, s:s}", "release", in->to_release,
                                                                   "version", fb));
    }
    plan_add(plan, PSTEP_CONVERGE, "wait for Kafka", NULL);
    json_decref(d.set);
    json_decref(d.unset);
    return plan;
}

/* ---- running a plan ----------------------------------------------------- */

static int exec_apply(kturn *t, plan_run *pr)
{
    int out = step_apply(t);
    if (out != NEXT) return out;
    pod_counts p = {0};
    if ((out = step_wait_pods(t, &p)) != NEXT) return out;
    snprintf(pr->msg, sizeof pr->msg, "objects of generation %lld applied; controllers %d/%d and brokers %d/%d ready",
             (long long)t->r->generation, p.cready, p.cwant, p.bready, p.bwant);
    return PLAN_STEP_DONE;
}

/* The last step: the reconciler's own end (ops_finish ends the plan). */
static int exec_converge(kturn *t, plan_run *pr)
{
    (void)pr;
    return step_finish(t);
}

static const plan_exec_fn EXECUTORS[PSTEP__COUNT] = {
    [PSTEP_APPLY] = exec_apply,
    [PSTEP_FIND_LEADER] = exec_find_leader,
    [PSTEP_RESTART_POD] = exec_restart_pod,
    [PSTEP_ALTER_CONFIGS] = exec_alter_configs,
    [PSTEP_METADATA_VERSION] = exec_metadata_version,
    [PSTEP_CONVERGE] = exec_converge,
};

static void plan_inputs(const store_res *r, plan_in *in)
{
    const char *avail = json_string_value(json_object_get(r->status, "availability"));
    in->controllers = avail && strcmp(avail, "multi_zone") == 0 ? 3 : 1;
    in->brokers = (int)r->brokers;
    in->from_release = json_string_value(json_object_get(r->status, "kafka_version"));
    in->to_release = json_string_value(json_object_get(r->status, "target_kafka_version"));
    if (!in->to_release) in->to_release = in->from_release;
}

/* Gives op its plan when it has none and its type gets one: 1, 0 when it
 * gets none, -1 when the store failed or op is no longer current. */
static int ensure_plan(kturn *t, store_op *op)
{
    if (op->plan) return 1;
    plan_in in;
    plan_inputs(t->r, &in);
    json_t *plan = plan_for(op_type_parse(op->type), op->changes, &in);
    if (!plan) return 0;
    if (!op_tx(t, op)) { json_decref(plan); return -1; }
    if (ops_plan_set(t->st, op, plan) != ST_OK) { store_rollback(t->st); return -1; }
    return store_commit(t->st) == ST_OK ? 1 : -1;
}

/* Steps run in one turn at most (each done step is a transaction). */
#define STEPS_PER_TURN 8

int plans_turn(kturn *t)
{
    char cur[SP_ID_MAX] = "";
    if (store_op_current(t->st, t->r->id, cur) != ST_OK) return -1;
    if (!cur[0]) return NEXT;
    store_op op;
    if (store_op_get(t->st, cur, NULL, &op) != ST_OK) return -1;
    int has = ensure_plan(t, &op);
    int out = has < 0 ? 1 : NEXT;
    t->finish_gen = has > 0 ? op.target_generation : 0;
    for (int i = 0; has > 0 && i < STEPS_PER_TURN; i++) {
        pstep_kind kind;
        const char *name;
        const json_t *args;
        if (!plan_current(op.plan, &kind, &name, &args)) { out = 1; break; }
        if (kind >= PSTEP__COUNT || !EXECUTORS[kind]) {
            plan_run bad = {.op = &op, .name = name};
            out = plan_fail(t, &bad, "UnknownStep", "this step's kind is unknown to this streamplane (a newer "
                                                    "version planned it)");
            break;
        }
        plan_run pr = {.op = &op, .name = name, .args = args, .scratch = plan_scratch(op.plan)};
        out = EXECUTORS[kind](t, &pr);
        if (out != PLAN_STEP_DONE) break;
        if (!op_tx(t, &op)) { out = 1; break; }
        if (ops_plan_end_step(t->st, &op, pr.skipped ? STEP_SKIPPED : STEP_SUCCEEDED, pr.msg, NULL) != ST_OK) {
            store_rollback(t->st);
            out = -1;
            break;
        }
        if (store_commit(t->st) != ST_OK) { out = -1; break; }
        out = 1;
    }
    store_op_clear(&op);
    return out;
}
