/* kafka.c — the Kafka inside each simulated cluster.
 *
 * Every namespace with a kafka-broker StatefulSet (as streamplane renders
 * it) is backed by a kafka-sim cluster (tests/kafka-sim) that answers the
 * Kafka wire protocol, so streamplane's real librdkafka code path reaches
 * it the way it reaches a real cluster:
 *   - brokers follow their pods: a Ready pod is a running broker, a pod
 *     deleted or not ready is a stopped one (it leaves every ISR, loses its
 *     leaderships, and rejoins after the catch-up delay when it returns);
 *   - node ids come from the rendered launch script (brokers: the pod
 *     ordinal; controllers: the base it adds to the ordinal), racks from
 *     the zone label of the pod's node;
 *   - each broker listens on its external address as a real cluster
 *     publishes it: a LoadBalancer Service's ingress IP with the Service
 *     port, or the node's address with the node port. kube-sim hands out
 *     loopback addresses (127.a.b.c, unique per kube-sim process), so the
 *     brokers bind the very ports streamplane reads from the Services.
 *     Internal listeners (pod DNS names) are not served: nothing on this
 *     machine resolves them.
 * Tests reach the model through /_sim/kafka/<namespace>/… (http.c): stop a
 * broker's process while its pod stays Ready, create topics, take a
 * partition's leader away, read the model.
 * Everything here runs under the store lock (controller tick or /_sim). */
#define _GNU_SOURCE
#include "ksim.h"
#include "../kafka-sim/kafka_sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct kbroker {
    int id;
    bool controller, added, up, stopped;
    char addr[80];               /* the external listener bound, "" none */
    long long bind_warned_ms;
} kbroker;

struct kkafka {
    char *ns;
    kfs_cluster *c;
    char base_rv[32];            /* kafka-config resourceVersion base was read at */
    int base;                    /* controller node id base (controller_base) */
    kbroker *b;
    size_t nb, cap;
    bool seen;
};

void kafka_init(ksim *k)
{
    k->kafka_rt = kfs_runtime_new();
    if (!k->kafka_rt) fprintf(stderr, "kube-sim: kafka-sim runtime did not start; clusters get no Kafka\n");
}

/* Stops a namespace's Kafka and frees what it holds (not kk itself). */
static void kkafka_clear(kkafka *kk)
{
    kfs_cluster_free(kk->c);
    free(kk->ns);
    free(kk->b);
}

void kafka_free(ksim *k)
{
    for (size_t i = 0; i < k->nkafka; i++) kkafka_clear(&k->kafka[i]);
    free(k->kafka);
    k->kafka = NULL;
    k->nkafka = 0;
    if (k->kafka_rt) kfs_runtime_free(k->kafka_rt);
    k->kafka_rt = NULL;
}

kkafka *kafka_find(ksim *k, const char *ns)
{
    for (size_t i = 0; i < k->nkafka; i++)
        if (!strcmp(k->kafka[i].ns, ns)) return &k->kafka[i];
    return NULL;
}

kfs_cluster *kafka_cluster(kkafka *kk) { return kk ? kk->c : NULL; }

static kkafka *kafka_add(ksim *k, const char *ns)
{
    if (k->nkafka == k->kafka_cap) {
        size_t cap = k->kafka_cap ? k->kafka_cap * 2 : 16;
        kkafka *v = realloc(k->kafka, cap * sizeof *v);
        if (!v) return NULL;
        k->kafka = v;
        k->kafka_cap = cap;
    }
    kfs_options o = {.cluster_id = ns, .rejoin_delay_ms = k->kafka_rejoin_ms};
    kfs_cluster *c = kfs_cluster_new(k->kafka_rt, &o);
    if (!c) return NULL;
    kkafka *kk = &k->kafka[k->nkafka++];
    memset(kk, 0, sizeof *kk);
    kk->ns = strdup(ns);
    kk->c = c;
    return kk;
}

static kbroker *broker_find(kkafka *kk, int id, bool controller)
{
    for (size_t i = 0; i < kk->nb; i++)
        if (kk->b[i].id == id && kk->b[i].controller == controller) return &kk->b[i];
    return NULL;
}

static kbroker *broker_add(kkafka *kk, int id, bool controller)
{
    if (kk->nb == kk->cap) {
        size_t cap = kk->cap ? kk->cap * 2 : 8;
        kbroker *v = realloc(kk->b, cap * sizeof *v);
        if (!v) return NULL;
        kk->b = v;
        kk->cap = cap;
    }
    kbroker *b = &kk->b[kk->nb++];
    memset(b, 0, sizeof *b);
    b->id = id;
    b->controller = controller;
    return b;
}

/* The id launch.sh gives controller ordinal 0 ("controller) NODE_ID=$((B + ORDINAL))"),
 * read again only when the ConfigMap changes (this runs every tick). */
static int controller_base(ksim *k, kkafka *kk)
{
    kobj *cm = store_find(&k->store, kres_by_kind("ConfigMap"), kk->ns, "kafka-config");
    const char *rv = cm ? jstr_at(cm->obj, "metadata.resourceVersion") : "";
    if (kk->base_rv[0] && !strcmp(kk->base_rv, rv ?: "")) return kk->base;
    const char *sh = cm ? json_string_value(json_object_get(json_object_get(cm->obj, "data"), "launch.sh")) : NULL;
    const char *p = sh ? strstr(sh, "controller) NODE_ID=\"$((") : NULL;
    int base = 1000;
    if (p) sscanf(p + strlen("controller) NODE_ID=\"$(("), "%d", &base);
    snprintf(kk->base_rv, sizeof kk->base_rv, "%s", rv && *rv ? rv : "-");
    kk->base = base;
    return base;
}

/* host:port where a broker's external Service is published, "" when none yet. */
static void external_addr(ksim *k, const char *ns, const char *pod_name, kobj *pod, char *out, size_t cap)
{
    out[0] = 0;
    char svc[320];
    snprintf(svc, sizeof svc, "%.300s-external", pod_name);
    kobj *s = store_find(&k->store, &KRES_SERVICES, ns, svc);
    if (!s) return;
    json_t *p0 = json_array_get(jget(s->obj, "spec.ports"), 0);
    const char *type = jstr_at(s->obj, "spec.type") ?: "";
    if (!strcmp(type, "LoadBalancer")) {
        const char *ip = jstr_at(json_array_get(jget(s->obj, "status.loadBalancer.ingress"), 0), "ip");
        if (ip) snprintf(out, cap, "%s:%lld", ip, (long long)json_integer_value(json_object_get(p0, "port")));
    } else if (!strcmp(type, "NodePort") && pod) {
        const char *node = jstr_at(pod->obj, "spec.nodeName");
        kobj *n = node ? store_find(&k->store, &KRES_NODES, "", node) : NULL;
        const char *ip = n ? jstr_at(json_array_get(jget(n->obj, "status.addresses"), 0), "address") : NULL;
        long long np = json_integer_value(json_object_get(p0, "nodePort"));
        if (ip && np) snprintf(out, cap, "%s:%lld", ip, np);
    }
}

static const char *pod_zone(ksim *k, kobj *pod)
{
    const char *node = pod ? jstr_at(pod->obj, "spec.nodeName") : NULL;
    kobj *n = node ? store_find(&k->store, &KRES_NODES, "", node) : NULL;
    return n ? json_string_value(json_object_get(jget(n->obj, "metadata.labels"), "topology.kubernetes.io/zone"))
             : NULL;
}

static void follow_set(ksim *k, kkafka *kk, kobj *sts, bool controller)
{
    int base = controller ? controller_base(k, kk) : 0;
    long replicas = (long)json_integer_value(jget(sts->obj, "spec.replicas"));
    long long now = now_ms();
    /* pods above replicas may still be terminating: they are ones seen
     * before (this runs every tick), so look as high as the highest known */
    long limit = replicas;
    for (size_t i = 0; i < kk->nb; i++)
        if (kk->b[i].controller == controller && kk->b[i].id - base + 1 > limit) limit = kk->b[i].id - base + 1;
    for (long ord = 0; ord < limit; ord++) {
        char name[300];
        snprintf(name, sizeof name, "%s-%ld", sts->name, ord);
        kobj *pod = store_find(&k->store, &KRES_PODS, kk->ns, name);
        int id = base + (int)ord;
        kbroker *b = broker_find(kk, id, controller);
        if (!pod && !b) continue;
        if (!b && !(b = broker_add(kk, id, controller))) return;
        if (!b->added) {
            b->added = (controller ? kfs_controller_add(kk->c, id) : kfs_broker_add(kk->c, id, pod_zone(k, pod))) == 0;
            if (!b->added) continue;
        }
        if (!controller) {
            char addr[80];
            external_addr(k, kk->ns, name, pod, addr, sizeof addr);
            if (addr[0] && strcmp(addr, b->addr) != 0) {
                char host[64];
                int port = 0;
                const char *colon = strrchr(addr, ':');
                snprintf(host, sizeof host, "%.*s", (int)(colon - addr), addr);
                port = atoi(colon + 1);
                if (kfs_broker_listen(kk->c, id, "EXTERNAL", host, port) == 0) snprintf(b->addr, sizeof b->addr, "%s", addr);
                else if (now - b->bind_warned_ms > 5000) {
                    b->bind_warned_ms = now;
                    fprintf(stderr, "kube-sim: kafka %s broker %d cannot listen on %s: %m\n", kk->ns, id, addr);
                }
            }
        }
        bool want = pod && pod_is_ready(pod) && !b->stopped;
        if (want == b->up) continue;
        int rc = controller ? kfs_controller_set_up(kk->c, id, want) : kfs_broker_set_up(kk->c, id, want);
        if (rc == 0) b->up = want;
        else if (now - b->bind_warned_ms > 5000) {
            b->bind_warned_ms = now;
            fprintf(stderr, "kube-sim: kafka %s broker %d cannot start: %m\n", kk->ns, id);
        }
    }
}

void kafka_tick(ksim *k)
{
    if (!k->kafka_rt) return;
    for (size_t i = 0; i < k->nkafka; i++) k->kafka[i].seen = false;
    kobj **v;
    size_t n = store_select(&k->store, &KRES_STATEFULSETS, NULL, &v);
    for (size_t i = 0; i < n; i++) {
        bool broker = !strcmp(v[i]->name, "kafka-broker"), controller = !strcmp(v[i]->name, "kafka-controller");
        if (!broker && !controller) continue;
        kkafka *kk = kafka_find(k, v[i]->ns);
        if (!kk && !(kk = kafka_add(k, v[i]->ns))) continue;
        kk->seen = true;
        follow_set(k, kk, v[i], controller);
    }
    free(v);
    /* StatefulSets gone (the namespace was deleted): the Kafka goes too */
    for (size_t i = 0; i < k->nkafka;) {
        if (k->kafka[i].seen) { i++; continue; }
        kkafka_clear(&k->kafka[i]);
        k->kafka[i] = k->kafka[--k->nkafka];
    }
}

/* Stops (the process dies while the pod stays Ready) or starts a broker. */
int kafka_broker_stop(ksim *k, const char *ns, int id, bool stop)
{
    kkafka *kk = kafka_find(k, ns);
    kbroker *b = kk ? broker_find(kk, id, false) : NULL;
    if (!b) return -1;
    b->stopped = stop;
    if (stop && b->up && kfs_broker_set_up(kk->c, id, false) == 0) b->up = false;
    return 0;                                /* starting happens on the next tick, if the pod is Ready */
}

/* ---- Jobs running Kafka's tools ------------------------------------------- */

/* The command line of a pod's first container: command and args joined by spaces. */
static char *pod_cmdline(kobj *pod)
{
    json_t *c0 = json_array_get(jget(pod->obj, "spec.containers"), 0);
    size_t len = 1, i;
    json_t *v;
    const char *parts[] = {"command", "args"};
    for (int p = 0; p < 2; p++)
        json_array_foreach(json_object_get(c0, parts[p]), i, v) len += strlen(json_string_value(v) ?: "") + 1;
    char *s = calloc(1, len);
    if (!s) return NULL;
    for (int p = 0; p < 2; p++)
        json_array_foreach(json_object_get(c0, parts[p]), i, v) {
            if (*s) strcat(s, " ");
            strcat(s, json_string_value(v) ?: "");
        }
    return s;
}

/* The value after flag in cmd ("--flag value" or "--flag=value"), into out. */
static bool flag_value(const char *cmd, const char *flag, char *out, size_t cap)
{
    const char *p = cmd;
    size_t fl = strlen(flag);
    while ((p = strstr(p, flag))) {
        const char *v = p + fl;
        if (*v == ' ' || *v == '=') {
            v++;
            size_t n = strcspn(v, " ;&|'\"\n");
            snprintf(out, cap, "%.*s", (int)n, v);
            return n > 0;
        }
        p = v;
    }
    return false;
}

/* A file the pod sees at path: a key of a ConfigMap mounted there (the way
 * a Job gets a reassignment plan). NULL when no mounted ConfigMap holds it. */
static const char *mounted_file(ksim *k, kobj *pod, const char *path)
{
    json_t *c0 = json_array_get(jget(pod->obj, "spec.containers"), 0);
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(c0, "volumeMounts"), i, m) {
        const char *mp = jstr_at(m, "mountPath"), *vol = jstr_at(m, "name");
        size_t n = mp ? strlen(mp) : 0;
        if (!mp || !vol || strncmp(path, mp, n) != 0 || path[n] != '/') continue;
        const char *key = path + n + 1;
        size_t j;
        json_t *v;
        json_array_foreach(jget(pod->obj, "spec.volumes"), j, v) {
            if (strcmp(jstr_at(v, "name") ?: "", vol) != 0) continue;
            const char *cm = jstr_at(v, "configMap.name");
            kobj *o = cm ? store_find(&k->store, kres_by_kind("ConfigMap"), pod->ns, cm) : NULL;
            if (o) return json_string_value(json_object_get(json_object_get(o->obj, "data"), key));
        }
    }
    return NULL;
}

/* When a finished Job's pod ran kafka-reassign-partitions.sh or
 * kafka-metadata-quorum.sh against this namespace's Kafka, the tool takes
 * effect on the model and its output becomes the pod's log. *fail is set
 * when the tool would exit non-zero. Other Jobs are left alone. */
void kafka_job_effect(ksim *k, kobj *pod, bool *fail)
{
    char *cmd = pod_cmdline(pod);
    kkafka *kk = kafka_find(k, pod->ns);
    char *log = NULL;
    if (!cmd) return;
    if (strstr(cmd, "kafka-reassign-partitions.sh")) {
        char file[512] = "", thr[32] = "";
        const char *plan = flag_value(cmd, "--reassignment-json-file", file, sizeof file) ? mounted_file(k, pod, file)
                                                                                          : NULL;
        long throttle = flag_value(cmd, "--throttle", thr, sizeof thr) ? atol(thr) : -1;
        if (!kk) log = strdup("Error: no Kafka cluster answers in this namespace\n"), *fail = true;
        else if (!plan) {
            if (asprintf(&log, "Error: %s (No such file or directory)\n", file[0] ? file : "--reassignment-json-file") < 0)
                log = NULL;
            *fail = true;
        } else if (strstr(cmd, "--verify")) {
            bool complete = false;
            *fail = kfs_reassign_verify(kk->c, plan, &complete, &log) != 0;
        } else if (strstr(cmd, "--execute")) {
            *fail = kfs_reassign_execute(kk->c, plan, throttle, &log) != 0;
        } else {
            log = strdup("Error: one of --generate, --execute, --verify, --cancel or --list is required\n");
            *fail = true;
        }
    } else if (strstr(cmd, "kafka-metadata-quorum.sh")) {
        if (!kk) log = strdup("Error: no Kafka cluster answers in this namespace\n"), *fail = true;
        else if (strstr(cmd, "describe") && strstr(cmd, "--status")) log = kfs_quorum_status(kk->c);
        else {
            log = strdup("kube-sim: only `kafka-metadata-quorum.sh … describe --status` is simulated\n");
            *fail = true;
        }
    }
    if (log) {
        if (!pod->side) pod->side = json_object();
        json_object_set_new(pod->side, "log", json_string(log));
    }
    free(log);
    free(cmd);
}
