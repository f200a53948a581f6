/* reassign.c — see reassign.h. */
#define _GNU_SOURCE
#include "reassign.h"
#include "jobs.h"
#include "kube/render.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INPUT_DIR "/etc/kafka/job-input"           /* the batch's ConfigMap, in the Job's pod */
#define KAFKA_BIN "/opt/kafka/bin"
#define BOOTSTRAP RENDER_BOOTSTRAP_SVC ":9092"      /* the brokers, from a pod of the namespace */

/* ---- the persisted position ---- */

static long st_int(const reassign_ctx *x, const char *k)
{
    return (long)json_integer_value(json_object_get(x->state, k));
}

static void st_set(reassign_ctx *x, const char *k, long v) { json_object_set_new(x->state, k, json_integer(v)); }

static void st_phase(reassign_ctx *x, const char *p) { json_object_set_new(x->state, "phase", json_string(p)); }

const char *reassign_phase(const json_t *state)
{
    const char *p = json_string_value(json_object_get(state, "phase"));
    return p ? p : "plan";
}

static bool in_phase(const reassign_ctx *x, const char *p) { return strcmp(reassign_phase(x->state), p) == 0; }

static void names(const reassign_ctx *x, long b, char *cm, char *exec, char *verify, size_t cap)
{
    snprintf(cm, cap, "sp-reassign-%s-%ld", x->tag, b);
    snprintf(exec, cap, "sp-reassign-%s-%ld-execute", x->tag, b);
    snprintf(verify, cap, "sp-reassign-%s-%ld-verify", x->tag, b);
}

static reassign_result wait_for(reassign_ctx *x, int ms) { x->wait_ms = ms > 0 ? ms : 1; return RS_WAIT; }

static reassign_result kube_failed(reassign_ctx *x, kube_rc rc, const char *what)
{
    x->krc = rc;
    snprintf(x->msg, sizeof x->msg, "%s: %s", what, x->e.message);
    return RS_KUBE;
}

static void progress(reassign_ctx *x, long done_now)
{
    long total = st_int(x, "total"), moved = st_int(x, "moved") + done_now;
    x->percent = total > 0 ? (int)(moved * 100 / total) : 0;
    if (x->percent > 99) x->percent = 99;
}

/* ---- Kafka and Kubernetes reads ---- */

static int read_layout(reassign_ctx *x, kafka_topology *l)
{
    char err[300];
    bool transient;
    memset(l, 0, sizeof *l);
    if (kafka_topology_read(x->kafka, x->bootstrap, x->kafka_timeout_ms, false, l, &transient, err, sizeof err) == 0)
        return 0;
    snprintf(x->msg, sizeof x->msg, "Kafka metadata could not be read from %s: %s", x->bootstrap, err);
    kafka_topology_free(l);
    return -1;
}

static kube_rc job_get(reassign_ctx *x, const char *name, job_state *js, char **log)
{
    x->called = true;
    return job_read(x->c, x->ns, name, js, log, &x->e);
}

/* The last line of a tool's log that says what went wrong, into out. */
static void log_reason(const char *log, char *out, size_t cap)
{
    snprintf(out, cap, "%s", "the tool wrote no log");
    if (!log) return;
    const char *best = NULL, *p = log;
    while (p && *p) {
        const char *eol = strchr(p, '\n');
        size_t n = eol ? (size_t)(eol - p) : strlen(p);
        if (n > 0 && (strncmp(p, "Error", 5) == 0 || strstr(p, "Exception") || !best)) best = p;
        p = eol ? eol + 1 : NULL;
    }
    if (best) snprintf(out, cap, "%.*s", (int)strcspn(best, "\n"), best);
}

/* What a tool's pod takes from the brokers' StatefulSet: the image the
 * brokers run, and the node affinity that keeps the cluster's pods on the
 * data plane's zones (a pod scheduled elsewhere would run on nodes the
 * cluster does not use). */
static kube_rc broker_pod_shape(reassign_ctx *x, char *image, size_t cap, json_t **node_affinity)
{
    json_t *sts = NULL;
    image[0] = 0;
    *node_affinity = NULL;
    kube_rc rc = kube_get(x->c, "apps/v1", "StatefulSet", x->ns, RENDER_BROKER_STS, &sts, &x->e);
    if (rc != KUBE_OK) return rc;
    json_t *pod = json_object_get(json_object_get(json_object_get(sts, "spec"), "template"), "spec");
    size_t i;
    json_t *ct;
    json_array_foreach(json_object_get(pod, "containers"), i, ct) {
        const char *n = json_string_value(json_object_get(ct, "name"));
        const char *img = json_string_value(json_object_get(ct, "image"));
        if (n && img && strcmp(n, "kafka") == 0) snprintf(image, cap, "%s", img);
    }
    *node_affinity = json_incref(json_object_get(json_object_get(pod, "affinity"), "nodeAffinity"));
    json_decref(sts);
    return KUBE_OK;
}

/* The Job running argv (a tool of KAFKA_BIN and its arguments) as the
 * brokers' pods run; input: a ConfigMap mounted at INPUT_DIR, or NULL. */
static reassign_result start_job(reassign_ctx *x, const char *name, const char *input, const char *const *argv)
{
    char image[300];
    json_t *affinity = NULL;
    x->called = true;
    kube_rc rc = broker_pod_shape(x, image, sizeof image, &affinity);
    if (rc != KUBE_OK) return kube_failed(x, rc, "reading the brokers' StatefulSet");
    if (!image[0]) {
        json_decref(affinity);
        snprintf(x->msg, sizeof x->msg, "the brokers' StatefulSet names no Kafka image");
        return RS_FAILED;
    }
    json_t *cmd = json_array();
    char tool[200];
    snprintf(tool, sizeof tool, KAFKA_BIN "/%s", argv[0]);
    json_array_append_new(cmd, json_string(tool));
    for (int i = 1; argv[i]; i++) json_array_append_new(cmd, json_string(argv[i]));
    json_t *job = job_object(x->ns, name, x->spec->id, image, cmd, NULL);
    json_t *pod = json_object_get(json_object_get(json_object_get(job, "spec"), "template"), "spec");
    if (affinity) json_object_set_new(pod, "affinity", json_pack("{s:o}", "nodeAffinity", affinity));
    if (input) {
        json_object_set_new(pod, "volumes", json_pack("[{s:s, s:{s:s}}]", "name", "input", "configMap", "name", input));
        json_object_set_new(json_array_get(json_object_get(pod, "containers"), 0), "volumeMounts",
                            json_pack("[{s:s, s:s, s:b}]", "name", "input", "mountPath", INPUT_DIR, "readOnly", 1));
    }
    rc = kube_apply(x->c, job, NULL, &x->e);
    json_decref(job);
    return rc == KUBE_OK ? RS_WAIT : kube_failed(x, rc, "creating the Job");
}

static void delete_batch(reassign_ctx *x, long b)
{
    char cm[96], ex[96], ve[96];
    names(x, b, cm, ex, ve, sizeof cm);
    kube_err e;
    x->called = true;
    kube_delete(x->c, "batch/v1", "Job", x->ns, ex, "Background", &e);
    kube_delete(x->c, "batch/v1", "Job", x->ns, ve, "Background", &e);
    kube_delete(x->c, "v1", "ConfigMap", x->ns, cm, NULL, &e);
}

/* ---- the steps ---- */

static int leader_skew(const kafka_topology *l, int ntarget)
{
    int cnt[BALANCE_MAX_BROKERS] = {0};
    for (size_t i = 0; i < l->nparts; i++) {
        int32_t ld = l->parts[i].leader;
        if (ld >= 0 && ld < ntarget) cnt[ld]++;
    }
    int lo = cnt[0], hi = cnt[0];
    for (int i = 1; i < ntarget; i++) { if (cnt[i] < lo) lo = cnt[i]; if (cnt[i] > hi) hi = cnt[i]; }
    return hi - lo;
}

/* Nothing left to move: the leaving brokers must be empty; then one
 * preferred leader election if current leaders are uneven. */
static reassign_result finish(reassign_ctx *x, const kafka_topology *l)
{
    long left = 0;
    for (int i = 0; i < l->nbrokers; i++)
        if (l->brokers[i] >= x->ntarget) left += balance_replicas_on(l, l->brokers[i]);
    if (left > 0) {
        snprintf(x->msg, sizeof x->msg, "the plan is done but Kafka metadata still shows %ld replicas on brokers "
                 "%d and above", left, x->ntarget);
        return RS_FAILED;
    }
    int skew = leader_skew(l, x->ntarget);
    if (skew > 1 && !st_int(x, "elected")) {
        char job[96];
        snprintf(job, sizeof job, "sp-elect-%s", x->tag);
        const char *argv[] = {"kafka-leader-election.sh", "--bootstrap-server", BOOTSTRAP,
                              "--election-type", "PREFERRED", "--all-topic-partitions", NULL};
        reassign_result r = start_job(x, job, NULL, argv);
        if (r != RS_WAIT) return r;
        st_phase(x, "elect");
        snprintf(x->msg, sizeof x->msg, "replicas placed; current leaders are uneven (skew %d): electing the "
                 "preferred leaders", skew);
        return wait_for(x, 1000);
    }
    st_phase(x, "done");
    x->percent = 100;
    snprintf(x->msg, sizeof x->msg, "%ld partitions moved in %ld batches; every replica is on brokers 0-%d, "
             "leader skew %d", st_int(x, "moved"), st_int(x, "batch"), x->ntarget - 1, skew);
    return RS_DONE;
}

static planner_plan *make_plan(reassign_ctx *x, const kafka_topology *l, planner_cluster **pc, planner_err *pe)
{
    broker_racks racks;
    memset(&racks, 0, sizeof racks);
    if (x->spec->availability == AVAIL_MULTI_ZONE) {
        x->called = true;
        int n = x->ntarget > l->nbrokers ? x->ntarget : l->nbrokers;
        if ((x->krc = balance_racks(x->c, x->ns, n, &racks, &x->e)) != KUBE_OK) return NULL;
    }
    *pc = balance_cluster(l, &racks, x->ntarget, pe);
    if (!*pc) return NULL;
    int32_t t[BALANCE_MAX_BROKERS];
    balance_targets(x->ntarget, t);
    planner_options o = {.target = t, .ntarget = x->ntarget,
                         .max_moves_per_batch = x->max_moves_per_batch > 0 ? x->max_moves_per_batch
                                                                           : REASSIGN_MOVES_PER_BATCH};
    planner_plan *pl = NULL;
    *pe = planner_plan_build(*pc, &o, &pl);
    return pl;
}

static reassign_result write_batch(reassign_ctx *x, planner_plan *pl, long b)
{
    int parts = 0;
    long moves = 0;
    for (int i = 0; i < planner_plan_changes(pl); i++) {
        const planner_change *ch = planner_plan_change(pl, i);
        if (ch->batch == 0) { parts++; moves += ch->moves; }
    }
    char *plan = planner_plan_json(pl, 0, false), *back = planner_plan_json(pl, 0, true);
    char cm[96], ex[96], ve[96];
    names(x, b, cm, ex, ve, sizeof cm);
    json_t *data = plan && back ? json_pack("{s:s, s:s}", "plan.json", plan, "rollback.json", back) : NULL;
    free(plan);
    free(back);
    json_t *obj = data ? json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s, s:s}}, s:O}", "apiVersion", "v1", "kind",
                                   "ConfigMap", "metadata", "name", cm, "namespace", x->ns, "labels",
                                   "app.kubernetes.io/managed-by", "streamplane", "streamplane.dev/cluster",
                                   x->spec->id, "data", data)
                       : NULL;
    json_decref(data);
    if (!obj) { snprintf(x->msg, sizeof x->msg, "out of memory"); return wait_for(x, 1000); }
    x->called = true;
    kube_rc rc = kube_apply(x->c, obj, NULL, &x->e);
    json_decref(obj);
    if (rc != KUBE_OK) return kube_failed(x, rc, "writing the batch's plan");
    long moved = st_int(x, "moved");
    st_set(x, "total", moved + planner_plan_changes(pl));
    st_set(x, "batch_partitions", parts);
    st_phase(x, "execute");
    progress(x, 0);
    snprintf(x->msg, sizeof x->msg, "batch %ld: %d partitions (%ld replica moves) to move; %ld of %ld partitions "
             "moved so far", b + 1, parts, moves, moved, st_int(x, "total"));
    return wait_for(x, 1);
}

static reassign_result step_plan(reassign_ctx *x)
{
    long b = st_int(x, "batch");
    if (b > 0) delete_batch(x, b - 1);
    kafka_topology l;
    if (read_layout(x, &l) != 0) return wait_for(x, 2000);
    int missing = -1;
    for (int i = 0; i < x->ntarget && missing < 0; i++)
        if (!kafka_topology_has_broker(&l, i)) missing = i;
    if (missing >= 0) {
        snprintf(x->msg, sizeof x->msg, "waiting for broker %d to join Kafka before planning", missing);
        kafka_topology_free(&l);
        return wait_for(x, 2000);
    }
    int unsettled = balance_unsettled(&l);
    if (unsettled > 0) {
        snprintf(x->msg, sizeof x->msg, "waiting for %d partitions to settle (no leader, ISR short of the replicas, "
                 "or a reassignment in progress) before planning the next moves", unsettled);
        kafka_topology_free(&l);
        return wait_for(x, 2000);
    }
    planner_cluster *pc = NULL;
    planner_err pe = PLANNER_OK;
    planner_plan *pl = make_plan(x, &l, &pc, &pe);
    reassign_result r;
    if (!pl && x->krc != KUBE_OK) r = kube_failed(x, x->krc, "reading the brokers' zones");
    else if (!pl && pe == PLANNER_ERR_NOT_ENOUGH_BROKERS) {
        const char *topic;
        int rf = balance_max_rf(&l, &topic);
        snprintf(x->msg, sizeof x->msg, "topic %s has replication factor %d: it cannot live on %d broker%s",
                 topic ? topic : "?", rf, x->ntarget, x->ntarget == 1 ? "" : "s");
        r = RS_FAILED;
    } else if (!pl) {
        snprintf(x->msg, sizeof x->msg, "no plan: %s", planner_strerror(pe));
        r = planner_err_transient(pe) ? wait_for(x, 2000) : RS_FAILED;
    } else if (planner_plan_changes(pl) == 0) r = finish(x, &l);
    else r = write_batch(x, pl, b);
    planner_plan_free(pl);
    planner_cluster_free(pc);
    kafka_topology_free(&l);
    return r;
}

static reassign_result step_execute(reassign_ctx *x)
{
    long b = st_int(x, "batch");
    char cm[96], ex[96], ve[96];
    names(x, b, cm, ex, ve, sizeof cm);
    job_state js;
    char *log = NULL;
    kube_rc rc = job_get(x, ex, &js, &log);
    if (rc != KUBE_OK) return kube_failed(x, rc, "reading the reassignment Job");
    if (js == JOB_MISSING) {
        free(log);
        char thr[32];
        snprintf(thr, sizeof thr, "%ld", x->throttle_bytes > 0 ? x->throttle_bytes : REASSIGN_THROTTLE_BYTES);
        const char *argv[] = {"kafka-reassign-partitions.sh", "--bootstrap-server", BOOTSTRAP,
                              "--reassignment-json-file", INPUT_DIR "/plan.json", "--execute", "--throttle", thr,
                              NULL};
        reassign_result r = start_job(x, ex, cm, argv);
        if (r != RS_WAIT) return r;
        snprintf(x->msg, sizeof x->msg, "batch %ld: kafka-reassign-partitions.sh --execute started (throttle %s "
                 "bytes/s)", b + 1, thr);
        return wait_for(x, 1000);
    }
    if (js == JOB_RUNNING) {
        free(log);
        snprintf(x->msg, sizeof x->msg, "batch %ld: kafka-reassign-partitions.sh --execute is running", b + 1);
        return wait_for(x, 500);
    }
    if (js == JOB_FAILED) {
        char why[400];
        log_reason(log, why, sizeof why);
        free(log);
        snprintf(x->msg, sizeof x->msg, "batch %ld: kafka-reassign-partitions.sh --execute failed: %s", b + 1, why);
        return RS_FAILED;
    }
    free(log);
    st_phase(x, "settle");
    snprintf(x->msg, sizeof x->msg, "batch %ld: reassignment submitted; waiting for the new replicas to catch up",
             b + 1);
    return wait_for(x, 1);
}

/* Partitions of the batch's plan that metadata shows done (new replicas,
 * in order, all in sync); -1 when the plan cannot be read. */
static int batch_done(const json_t *plan, const kafka_topology *l, int *of)
{
    size_t i;
    json_t *e;
    int done = 0;
    *of = (int)json_array_size(json_object_get(plan, "partitions"));
    json_array_foreach(json_object_get(plan, "partitions"), i, e) {
        const char *topic = json_string_value(json_object_get(e, "topic"));
        int32_t part = (int32_t)json_integer_value(json_object_get(e, "partition"));
        json_t *want = json_object_get(e, "replicas");
        for (size_t k = 0; topic && k < l->nparts; k++) {
            const kafka_part *pa = &l->parts[k];
            if (pa->partition != part || strcmp(pa->topic, topic) != 0) continue;
            if ((size_t)pa->nreplicas != json_array_size(want) || pa->nisr < pa->nreplicas) break;
            bool same = true;
            for (int r = 0; r < pa->nreplicas && same; r++)
                same = pa->replicas[r] == json_integer_value(json_array_get(want, (size_t)r));
            done += same;
            break;
        }
    }
    return done;
}

static reassign_result step_settle(reassign_ctx *x)
{
    long b = st_int(x, "batch");
    char cm[96], ex[96], ve[96];
    names(x, b, cm, ex, ve, sizeof cm);
    json_t *obj = NULL;
    x->called = true;
    kube_rc rc = kube_get(x->c, "v1", "ConfigMap", x->ns, cm, &obj, &x->e);
    if (rc == KUBE_NOT_FOUND) {     /* lost (a replaced API server): plan again from what Kafka has */
        st_phase(x, "plan");
        return wait_for(x, 1);
    }
    if (rc != KUBE_OK) return kube_failed(x, rc, "reading the batch's plan");
    const char *text = json_string_value(json_object_get(json_object_get(obj, "data"), "plan.json"));
    json_t *plan = text ? json_loads(text, 0, NULL) : NULL;
    json_decref(obj);
    kafka_topology l;
    if (read_layout(x, &l) != 0) { json_decref(plan); return wait_for(x, 2000); }
    int of = 0, done = plan ? batch_done(plan, &l, &of) : 0;
    kafka_topology_free(&l);
    json_decref(plan);
    progress(x, done);
    if (done < of) {
        snprintf(x->msg, sizeof x->msg, "batch %ld: %d of %d partitions on their new replicas and in sync; %ld of "
                 "%ld partitions moved in all", b + 1, done, of, st_int(x, "moved") + done, st_int(x, "total"));
        return wait_for(x, 1000);
    }
    const char *argv[] = {"kafka-reassign-partitions.sh", "--bootstrap-server", BOOTSTRAP,
                          "--reassignment-json-file", INPUT_DIR "/plan.json", "--verify", NULL};
    reassign_result r = start_job(x, ve, cm, argv);
    if (r != RS_WAIT) return r;
    st_phase(x, "verify");
    snprintf(x->msg, sizeof x->msg, "batch %ld: all %d partitions moved; kafka-reassign-partitions.sh --verify "
             "checks them and removes the throttle", b + 1, of);
    return wait_for(x, 1000);
}

static reassign_result step_verify(reassign_ctx *x)
{
    long b = st_int(x, "batch");
    char cm[96], ex[96], ve[96];
    names(x, b, cm, ex, ve, sizeof cm);
    job_state js;
    char *log = NULL, why[400];
    kube_rc rc = job_get(x, ve, &js, &log);
    if (rc != KUBE_OK) return kube_failed(x, rc, "reading the verify Job");
    if (js == JOB_MISSING) { st_phase(x, "settle"); return wait_for(x, 1); }
    if (js == JOB_RUNNING) {
        free(log);
        snprintf(x->msg, sizeof x->msg, "batch %ld: kafka-reassign-partitions.sh --verify is running", b + 1);
        return wait_for(x, 500);
    }
    if (js == JOB_FAILED) {
        log_reason(log, why, sizeof why);
        free(log);
        snprintf(x->msg, sizeof x->msg, "batch %ld: kafka-reassign-partitions.sh --verify failed: %s", b + 1, why);
        return RS_FAILED;
    }
    /* done only when the tool says it cleared the throttles, which it does
     * once every partition of the plan is complete (a tail of the log is
     * read: "still in progress" lines of a large batch may be above it) */
    bool open = !log || !strstr(log, "Clearing broker-level throttles") || strstr(log, "still in progress") ||
                strstr(log, "rather than") || strstr(log, "failed");
    free(log);
    if (open) {      /* metadata ran ahead of the controller: look again */
        kube_err e;
        kube_delete(x->c, "batch/v1", "Job", x->ns, ve, "Background", &e);
        st_phase(x, "settle");
        snprintf(x->msg, sizeof x->msg, "batch %ld: --verify reports partitions still moving; waiting", b + 1);
        return wait_for(x, 2000);
    }
    st_set(x, "moved", st_int(x, "moved") + st_int(x, "batch_partitions"));
    st_set(x, "batch", b + 1);
    st_phase(x, "plan");
    progress(x, 0);
    snprintf(x->msg, sizeof x->msg, "batch %ld verified and its throttle removed; %ld of %ld partitions moved",
             b + 1, st_int(x, "moved"), st_int(x, "total"));
    return wait_for(x, 1);
}

static reassign_result step_elect(reassign_ctx *x)
{
    char job[96];
    snprintf(job, sizeof job, "sp-elect-%s", x->tag);
    job_state js;
    char *log = NULL;
    kube_rc rc = job_get(x, job, &js, &log);
    free(log);
    if (rc != KUBE_OK) return kube_failed(x, rc, "reading the leader election Job");
    if (js == JOB_RUNNING) {
        snprintf(x->msg, sizeof x->msg, "kafka-leader-election.sh --election-type PREFERRED is running");
        return wait_for(x, 1000);
    }
    /* done, failed (some partitions' preferred leader is out of the ISR:
     * Kafka's own auto leader rebalance moves those later) or gone */
    st_set(x, "elected", 1);
    st_phase(x, "plan");
    kube_err e;
    kube_delete(x->c, "batch/v1", "Job", x->ns, job, "Background", &e);
    return wait_for(x, 1);
}

reassign_result reassign_step(reassign_ctx *x)
{
    x->msg[0] = 0;
    x->wait_ms = 0;
    x->krc = KUBE_OK;
    if (!json_is_object(x->state) || x->ntarget < 1 || x->ntarget > BALANCE_MAX_BROKERS) {
        snprintf(x->msg, sizeof x->msg, "bad reassignment request");
        return RS_FAILED;
    }
    if (in_phase(x, "done")) { x->percent = 100; return RS_DONE; }
    if (in_phase(x, "execute")) return step_execute(x);
    if (in_phase(x, "settle")) return step_settle(x);
    if (in_phase(x, "verify")) return step_verify(x);
    if (in_phase(x, "elect")) return step_elect(x);
    return step_plan(x);
}
