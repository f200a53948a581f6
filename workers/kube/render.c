/* render.c — the Kubernetes objects of one Kafka cluster (see render.h for
 * the list and the choices behind broker.rack, RBAC, TLS and tiered storage).
 *
 * Why one pure function: the kube worker, the manifests target and the tests
 * must all agree on what a cluster is, and a reconcile must send the whole
 * desired object every time (server-side apply). Everything here is built
 * from the typed spec alone, in a fixed order, so that the output is stable
 * and can be compared with golden files.
 *
 * Layout: small string/JSON helpers, the inputs (rctx), the ConfigMap texts
 * (properties, launch script, init script, JMX exporter config), then one
 * builder per object, then render_cluster() which puts them in apply order. */
#include "render.h"
#include "common/util.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PORT_REPLICATION 9091
#define PORT_INTERNAL    9092
#define PORT_CONTROLLER  9093
#define PORT_EXTERNAL    9094
#define PORT_METRICS     9404
#define KAFKA_UID        1000          /* appuser in apache/kafka */
#define CONTROLLER_STORAGE "10Gi"

#define CONFIG_DIR "/etc/kafka/streamplane" /* the ConfigMap */
#define RUN_DIR    "/etc/kafka/run"         /* emptyDir: final properties, rack, external address */
#define JMX_DIR    "/opt/jmx-exporter"      /* emptyDir: the agent jar */
#define SA_DIR     "/var/run/secrets/kubernetes.io/serviceaccount"

#define BROKER_SA   "kafka-broker"
#define INIT_ROLE   "kafka-broker-init"
#define NETPOL      "kafka"

/* ---- a growing string ---------------------------------------------- */

typedef struct sbuf { char *s; size_t len, cap; bool oom; } sbuf;

static void sb_add(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(sbuf *b, const char *fmt, ...)
{
    if (b->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = b->cap - b->len;
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? room : 0, fmt, ap);
        va_end(ap);
        if (n < 0) { b->oom = true; return; }
        if ((size_t)n < room && b->s) { b->len += (size_t)n; return; }
        size_t cap = b->cap ? b->cap * 2 : 1024;
        while (cap < b->len + (size_t)n + 1) cap *= 2;
        char *p = realloc(b->s, cap);
        if (!p) { b->oom = true; return; }
        b->s = p;
        b->cap = cap;
    }
}

static void sb_free(sbuf *b) { free(b->s); memset(b, 0, sizeof *b); }

/* ---- inputs ------------------------------------------------------------ */

typedef struct rctx {
    const char *id, *tenant, *version;
    char ns[64];
    char kraft_id[23];
    char image[512];
    long long brokers, storage_gib;
    int controllers;
    bool multi_zone, tiered;
    const char *ext;            /* "none" | "nodeport" | "loadbalancer" */
    bool ext_on;
    bool need_init;             /* broker init container + ServiceAccount */
    bool need_nodes;            /* ... and it reads its Node (ClusterRole) */
    const json_t *config;       /* tenant broker config, or NULL */
    const json_t *zones;        /* the plane's zones, or NULL */
    const char *jmx_image, *jmx_jar, *kubectl_image, *storage_class, *cp_ns, *metrics_ns;
    char *voters;               /* controller.quorum.voters */
    char *err;
    size_t errlen;
} rctx;

static bool fail(rctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool fail(rctx *c, const char *fmt, ...)
{
    if (c->err && c->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err, c->errlen, fmt, ap);
        va_end(ap);
    }
    return false;
}

/* A label value: <= 63 of [A-Za-z0-9-_.], alphanumeric at both ends. */
static bool label_value_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1])) return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.') return false;
    return true;
}

/* The cluster id becomes part of a namespace (a DNS-1123 label). */
static bool dns_label_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1])) return false;
    for (size_t i = 0; i < n; i++)
        if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-')) return false;
    return true;
}

static bool read_inputs(rctx *c, const cluster_spec *cl, const json_t *plane, const render_opts *o)
{
    static const render_opts none = {0};
    if (!o) o = &none;
    if (!cl) return fail(c, "no cluster");

    c->id = cl->id;
    if (!c->id) return fail(c, "cluster.id is missing");
    if (!dns_label_ok(c->id, 60)) return fail(c, "cluster.id \"%s\" cannot name a namespace", c->id);
    c->tenant = cl->tenant_id;
    if (!c->tenant) return fail(c, "cluster.tenant_id is missing");
    if (!label_value_ok(c->tenant)) return fail(c, "cluster.tenant_id \"%s\" is not a label value", c->tenant);
    c->version = cl->kafka_version;
    if (!c->version) return fail(c, "cluster.status.kafka_version (the resolved release) is missing");
    for (const char *p = c->version; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-' && *p != '_')
            return fail(c, "cluster.status.kafka_version \"%s\" is not an image tag", c->version);

    c->brokers = cl->brokers;
    if (c->brokers < 1 || c->brokers > 1000) return fail(c, "cluster.brokers must be 1..1000");
    c->storage_gib = cl->volume_template_gib > 0 ? cl->volume_template_gib : cl->storage_gib;
    if (c->storage_gib < 1) return fail(c, "cluster.storage_gib must be at least 1");

    if (cl->availability == AVAIL_INVALID) return fail(c, "availability is unknown");
    c->multi_zone = cl->availability == AVAIL_MULTI_ZONE;
    c->controllers = c->multi_zone ? 3 : 1;

    if (cl->external == EXT_INVALID) return fail(c, "external_access.type is unknown");
    c->ext = cluster_external_name(cl->external);
    c->ext_on = cl->external != EXT_NONE;
    c->tiered = cl->tiered_storage;
    c->need_init = c->multi_zone || c->ext_on;
    c->need_nodes = c->multi_zone || cl->external == EXT_NODEPORT;

    c->config = cl->config;
    if (c->config && !json_is_object(c->config)) return fail(c, "cluster.config must be an object");
    if (c->config) {
        const char *k; const json_t *v;
        json_object_foreach((json_t *)c->config, k, v) {
            if (!*k) return fail(c, "config: empty key");
            for (const char *p = k; *p; p++)
                if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-' && *p != '_')
                    return fail(c, "config: key \"%s\" is not a property name", k);
            if (!json_is_string(v)) return fail(c, "config.%s must be a string", k);
        }
    }

    c->zones = plane ? json_object_get(plane, "zones") : NULL;
    if (c->zones && !json_is_array(c->zones)) return fail(c, "plane.zones must be an array");
    if (c->zones && json_array_size(c->zones) == 0) c->zones = NULL;
    if (c->zones) {
        size_t i; const json_t *z;
        json_array_foreach(c->zones, i, z)
            if (!json_is_string(z) || !label_value_ok(json_string_value(z)))
                return fail(c, "plane.zones[%zu] is not a label value", i);
    }

    const char *reg = o->image_registry && *o->image_registry ? o->image_registry : "docker.io/apache/kafka";
    if ((size_t)snprintf(c->image, sizeof c->image, "%s:%s", reg, c->version) >= sizeof c->image)
        return fail(c, "image name too long");
    c->jmx_image = o->jmx_image && *o->jmx_image ? o->jmx_image : "docker.io/bitnami/jmx-exporter:1.0.1";
    c->jmx_jar = o->jmx_agent_jar && *o->jmx_agent_jar ? o->jmx_agent_jar
                                                        : "/opt/bitnami/jmx-exporter/jmx_prometheus_javaagent.jar";
    c->kubectl_image = o->kubectl_image && *o->kubectl_image ? o->kubectl_image : "docker.io/bitnami/kubectl:1.31";
    c->storage_class = o->storage_class && *o->storage_class ? o->storage_class : NULL;
    c->cp_ns = o->control_plane_namespace && *o->control_plane_namespace ? o->control_plane_namespace : "streamplane";
    if (!label_value_ok(c->cp_ns)) return fail(c, "control_plane_namespace \"%s\" is not a namespace", c->cp_ns);
    c->metrics_ns = o->metrics_namespace && *o->metrics_namespace ? o->metrics_namespace : NULL;
    if (c->metrics_ns && !label_value_ok(c->metrics_ns))
        return fail(c, "metrics_namespace \"%s\" is not a namespace", c->metrics_ns);

    render_namespace(c->id, c->ns, sizeof c->ns);
    render_kraft_cluster_id(c->id, c->kraft_id);

    sbuf v = {0};
    for (int i = 0; i < c->controllers; i++)
        sb_add(&v, "%s%d@" RENDER_CONTROLLER_STS "-%d." RENDER_CONTROLLER_STS ".%s.svc.cluster.local:%d",
               i ? "," : "", RENDER_CONTROLLER_BASE_ID + i, i, c->ns, PORT_CONTROLLER);
    if (v.oom) { sb_free(&v); return fail(c, "out of memory"); }
    c->voters = v.s;
    return true;
}

/* ---- properties -------------------------------------------------------- */

/* An ordered property list: [[key, value], ...]; set() replaces in place. */
static void prop_set(json_t *props, const char *k, const char *v)
{
    size_t i; json_t *kv;
    json_array_foreach(props, i, kv)
        if (strcmp(json_string_value(json_array_get(kv, 0)), k) == 0) {
            json_array_set_new(kv, 1, json_string(v));
            return;
        }
    json_array_append_new(props, json_pack("[s,s]", k, v));
}

static void prop_seti(json_t *props, const char *k, long long v)
{
    char b[32];
    snprintf(b, sizeof b, "%lld", v);
    prop_set(props, k, b);
}

/* java.util.Properties reads ISO-8859-1 with backslash escapes (Kafka loads
 * them from an InputStream): escape what it would mangle, non-ASCII as \uXXXX. */
static void prop_escape(sbuf *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    bool lead = true;
    while (*p) {
        unsigned cp = *p, extra = 0;
        if (cp >= 0xf0) { cp &= 0x07; extra = 3; }
        else if (cp >= 0xe0) { cp &= 0x0f; extra = 2; }
        else if (cp >= 0xc0) { cp &= 0x1f; extra = 1; }
        p++;
        for (unsigned i = 0; i < extra && (*p & 0xc0) == 0x80; i++, p++) cp = (cp << 6) | (*p & 0x3f);
        if (cp == '\\') sb_add(b, "\\\\");
        else if (cp == '\n') sb_add(b, "\\n");
        else if (cp == '\r') sb_add(b, "\\r");
        else if (cp == '\t') sb_add(b, "\\t");
        else if (cp == '\f') sb_add(b, "\\f");
        else if (cp == ' ' && lead) sb_add(b, "\\ ");
        else if (cp < 0x20 || cp >= 0x7f) {
            if (cp > 0xffff) {
                cp -= 0x10000;
                sb_add(b, "\\u%04x\\u%04x", 0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
            } else sb_add(b, "\\u%04x", cp);
        } else sb_add(b, "%c", (char)cp);
        lead = false;
    }
}

static char *props_text(const json_t *props, const char *header)
{
    sbuf b = {0};
    sb_add(&b, "%s", header);
    size_t i; json_t *kv;
    json_array_foreach(props, i, kv) {
        sb_add(&b, "%s=", json_string_value(json_array_get(kv, 0)));
        prop_escape(&b, json_string_value(json_array_get(kv, 1)));
        sb_add(&b, "\n");
    }
    if (b.oom) { sb_free(&b); return NULL; }
    return b.s;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static char *controller_properties(const rctx *c)
{
    json_t *p = json_array();
    prop_set(p, "process.roles", "controller");
    prop_set(p, "controller.listener.names", "CONTROLLER");
    prop_set(p, "controller.quorum.voters", c->voters);
    prop_set(p, "listeners", "CONTROLLER://:9093");
    prop_set(p, "listener.security.protocol.map", "CONTROLLER:PLAINTEXT");
    prop_set(p, "log.dirs", RENDER_DATA_DIR "/kafka-log");
    prop_set(p, "metadata.log.dir", RENDER_DATA_DIR "/kafka-log");
    char *s = props_text(p, "# KRaft controller template, written by streamplane.\n"
                            "# launch.sh adds node.id (1000 + pod ordinal).\n");
    json_decref(p);
    return s;
}

static char *broker_properties(const rctx *c)
{
    long long rf = c->brokers < 3 ? c->brokers : 3;
    long long isr = rf >= 3 ? 2 : 1;
    json_t *p = json_array();
    prop_set(p, "process.roles", "broker");
    prop_set(p, "controller.listener.names", "CONTROLLER");
    prop_set(p, "controller.quorum.voters", c->voters);
    prop_set(p, "listeners", c->ext_on ? "REPLICATION://:9091,INTERNAL://:9092,EXTERNAL://:9094"
                                       : "REPLICATION://:9091,INTERNAL://:9092");
    prop_set(p, "inter.broker.listener.name", "REPLICATION");
    prop_set(p, "listener.security.protocol.map",
             c->ext_on ? "CONTROLLER:PLAINTEXT,REPLICATION:PLAINTEXT,INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT"
                       : "CONTROLLER:PLAINTEXT,REPLICATION:PLAINTEXT,INTERNAL:PLAINTEXT");
    prop_set(p, "log.dirs", RENDER_DATA_DIR "/kafka-log");
    prop_set(p, "metadata.log.dir", RENDER_DATA_DIR "/kafka-log");
    prop_seti(p, "default.replication.factor", rf);
    prop_seti(p, "min.insync.replicas", isr);
    prop_seti(p, "offsets.topic.replication.factor", rf);
    prop_seti(p, "transaction.state.log.replication.factor", rf);
    prop_seti(p, "transaction.state.log.min.isr", isr);
    if (c->tiered) {
        /* Placeholder: the remote storage plugin is not chosen yet; brokers
         * fail to start until the class and its path name a real plugin. */
        prop_set(p, "remote.log.storage.system.enable", "true");
        prop_set(p, "remote.log.storage.manager.class.name",
                 "streamplane.placeholder.RemoteStorageManagerNotConfigured");
        prop_set(p, "remote.log.storage.manager.class.path", "/opt/kafka/plugins/tiered-storage/*");
        prop_set(p, "remote.log.metadata.manager.listener.name", "REPLICATION");
        prop_seti(p, "rlmm.config.remote.log.metadata.topic.replication.factor", rf);
    }
    if (c->config) {
        size_t n = json_object_size(c->config), i = 0;
        const char **keys = calloc(n ? n : 1, sizeof *keys);
        if (!keys) { json_decref(p); return NULL; }
        const char *k; const json_t *v;
        json_object_foreach((json_t *)c->config, k, v) keys[i++] = k;
        qsort(keys, n, sizeof *keys, cmp_str);
        for (i = 0; i < n; i++)
            prop_set(p, keys[i], json_string_value(json_object_get(c->config, keys[i])));
        free(keys);
    }
    char *s = props_text(p, c->tiered
        ? "# Kafka broker template, written by streamplane; the tenant's config comes last.\n"
          "# launch.sh adds node.id (the pod ordinal), advertised.listeners and broker.rack.\n"
          "# Tiered storage: PLACEHOLDER remote storage manager, not a working plugin yet.\n"
        : "# Kafka broker template, written by streamplane; the tenant's config comes last.\n"
          "# launch.sh adds node.id (the pod ordinal), advertised.listeners and broker.rack.\n");
    json_decref(p);
    return s;
}

/* ---- scripts ----------------------------------------------------------- */

static char *launch_script(const rctx *c)
{
    sbuf b = {0};
    sb_add(&b,
        "#!/bin/bash\n"
        "# Written by streamplane. Per-pod settings on top of the role's template,\n"
        "# then format the storage (once; --ignore-formatted) and start Kafka.\n"
        "set -euo pipefail\n"
        "ROLE=\"${SP_ROLE:?SP_ROLE is not set}\"\n"
        "ORDINAL=\"${HOSTNAME##*-}\"\n"
        "case \"$ROLE\" in\n"
        "  broker) NODE_ID=\"$ORDINAL\" ;;\n"
        "  controller) NODE_ID=\"$((%d + ORDINAL))\" ;;\n"
        "  *) echo \"launch.sh: unknown role $ROLE\" >&2; exit 1 ;;\n"
        "esac\n"
        "PROPS=" RUN_DIR "/server.properties\n"
        "cp \"" CONFIG_DIR "/$ROLE.properties\" \"$PROPS\"\n"
        "echo \"node.id=$NODE_ID\" >> \"$PROPS\"\n"
        "if [ \"$ROLE\" = broker ]; then\n"
        "  FQDN=\"$HOSTNAME." RENDER_BROKER_STS ".%s.svc.cluster.local\"\n"
        "  ADVERTISED=\"REPLICATION://$FQDN:%d,INTERNAL://$FQDN:%d\"\n",
        RENDER_CONTROLLER_BASE_ID, c->ns, PORT_REPLICATION, PORT_INTERNAL);
    if (c->ext_on)
        sb_add(&b,
            "  if [ ! -s " RUN_DIR "/external ]; then\n"
            "    echo \"launch.sh: no external address from broker-init\" >&2; exit 1\n"
            "  fi\n"
            "  ADVERTISED=\"$ADVERTISED,EXTERNAL://$(cat " RUN_DIR "/external)\"\n");
    sb_add(&b,
        "  echo \"advertised.listeners=$ADVERTISED\" >> \"$PROPS\"\n"
        "  if [ -s " RUN_DIR "/rack ]; then\n"
        "    echo \"broker.rack=$(cat " RUN_DIR "/rack)\" >> \"$PROPS\"\n"
        "  fi\n"
        "fi\n"
        "# the format tool is a short-lived JVM: no exporter agent (port 9404), small heap\n"
        "KAFKA_OPTS='' KAFKA_HEAP_OPTS=-Xmx256m \\\n"
        "  /opt/kafka/bin/kafka-storage.sh format -t \"$CLUSTER_ID\" -c \"$PROPS\" --ignore-formatted\n"
        "exec /opt/kafka/bin/kafka-server-start.sh \"$PROPS\"\n");
    if (b.oom) { sb_free(&b); return NULL; }
    return b.s;
}

/* Runs in the kubectl image before the broker: what the pod cannot see. */
static char *broker_init_script(const rctx *c)
{
    sbuf b = {0};
    sb_add(&b,
        "#!/bin/bash\n"
        "# Written by streamplane. Runs before each broker with the kafka-broker\n"
        "# service account: leaves the node's zone (broker.rack) and the broker's\n"
        "# external address in " RUN_DIR " for launch.sh.\n"
        "set -euo pipefail\n"
        "NS=%s\n", c->ns);
    if (c->multi_zone)
        sb_add(&b,
            "zone=$(kubectl get node \"$NODE_NAME\" -o 'jsonpath={.metadata.labels.topology\\.kubernetes\\.io/zone}')\n"
            "if [ -n \"$zone\" ]; then\n"
            "  printf '%%s\\n' \"$zone\" > " RUN_DIR "/rack\n"
            "else\n"
            "  echo \"broker-init: node $NODE_NAME has no topology.kubernetes.io/zone label; no broker.rack\" >&2\n"
            "fi\n");
    if (strcmp(c->ext, "nodeport") == 0)
        sb_add(&b,
            "port=$(kubectl -n \"$NS\" get service \"$POD_NAME-external\" -o 'jsonpath={.spec.ports[0].nodePort}')\n"
            "host=$(kubectl get node \"$NODE_NAME\" -o 'jsonpath={.status.addresses[?(@.type==\"ExternalIP\")].address}')\n"
            "if [ -z \"$host\" ]; then\n"
            "  host=$(kubectl get node \"$NODE_NAME\" -o 'jsonpath={.status.addresses[?(@.type==\"InternalIP\")].address}')\n"
            "fi\n"
            "host=\"${host%%%% *}\"\n"
            "if [ -z \"$host\" ] || [ -z \"$port\" ]; then\n"
            "  echo \"broker-init: no address or node port yet for $POD_NAME-external\" >&2; exit 1\n"
            "fi\n"
            "printf '%%s:%%s\\n' \"$host\" \"$port\" > " RUN_DIR "/external\n");
    else if (strcmp(c->ext, "loadbalancer") == 0)
        sb_add(&b,
            "host=\n"
            "for _ in $(seq 1 60); do\n"
            "  host=$(kubectl -n \"$NS\" get service \"$POD_NAME-external\" -o 'jsonpath={.status.loadBalancer.ingress[0].ip}')\n"
            "  if [ -z \"$host\" ]; then\n"
            "    host=$(kubectl -n \"$NS\" get service \"$POD_NAME-external\" -o 'jsonpath={.status.loadBalancer.ingress[0].hostname}')\n"
            "  fi\n"
            "  if [ -n \"$host\" ]; then break; fi\n"
            "  echo \"broker-init: waiting for the load balancer of $POD_NAME-external\" >&2\n"
            "  sleep 5\n"
            "done\n"
            "if [ -z \"$host\" ]; then exit 1; fi\n"
            "printf '%%s:%d\\n' \"$host\" > " RUN_DIR "/external\n", PORT_EXTERNAL);
    if (b.oom) { sb_free(&b); return NULL; }
    return b.s;
}

/* Metric names follow the common Kafka exporter rules (Strimzi's examples). */
static const char JMX_CONFIG[] =
    "# Prometheus JMX exporter (java agent on :9404), written by streamplane.\n"
    "lowercaseOutputName: true\n"
    "lowercaseOutputLabelNames: true\n"
    "rules:\n"
    "  - pattern: 'kafka.server<type=(.+), name=(.+), clientId=(.+), topic=(.+), partition=(.*)><>Value'\n"
    "    name: kafka_server_$1_$2\n"
    "    type: GAUGE\n"
    "    labels: {clientId: '$3', topic: '$4', partition: '$5'}\n"
    "  - pattern: 'kafka.server<type=(.+), name=(.+), clientId=(.+), brokerHost=(.+), brokerPort=(.+)><>Value'\n"
    "    name: kafka_server_$1_$2\n"
    "    type: GAUGE\n"
    "    labels: {clientId: '$3', broker: '$4:$5'}\n"
    "  - pattern: 'kafka.(\\w+)<type=(.+), name=(.+)PerSec\\w*, (.+)=(.+)><>Count'\n"
    "    name: kafka_$1_$2_$3_total\n"
    "    type: COUNTER\n"
    "    labels: {'$4': '$5'}\n"
    "  - pattern: 'kafka.(\\w+)<type=(.+), name=(.+)PerSec\\w*><>Count'\n"
    "    name: kafka_$1_$2_$3_total\n"
    "    type: COUNTER\n"
    "  - pattern: 'kafka.(\\w+)<type=(.+), name=(.+), (.+)=(.+), (.+)=(.+)><>Value'\n"
    "    name: kafka_$1_$2_$3\n"
    "    type: GAUGE\n"
    "    labels: {'$4': '$5', '$6': '$7'}\n"
    "  - pattern: 'kafka.(\\w+)<type=(.+), name=(.+), (.+)=(.+)><>Value'\n"
    "    name: kafka_$1_$2_$3\n"
    "    type: GAUGE\n"
    "    labels: {'$4': '$5'}\n"
    "  - pattern: 'kafka.(\\w+)<type=(.+), name=(.+)><>Value'\n"
    "    name: kafka_$1_$2_$3\n"
    "    type: GAUGE\n"
    "  - pattern: 'kafka.(\\w+)<type=(.+), name=(.+), (.+)=(.+)><>(\\d+)thPercentile'\n"
    "    name: kafka_$1_$2_$3\n"
    "    type: GAUGE\n"
    "    labels: {'$4': '$5', quantile: '0.$6'}\n"
    "  - pattern: 'kafka.(\\w+)<type=(.+), name=(.+)><>(\\d+)thPercentile'\n"
    "    name: kafka_$1_$2_$3\n"
    "    type: GAUGE\n"
    "    labels: {quantile: '0.$4'}\n";

/* ---- object pieces ----------------------------------------------------- */

static json_t *labels(const rctx *c, const char *component)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
                     "app.kubernetes.io/managed-by", "streamplane",
                     "app.kubernetes.io/part-of", "streamplane",
                     "app.kubernetes.io/name", "kafka",
                     "app.kubernetes.io/instance", c->id,
                     "app.kubernetes.io/component", component,
                     "streamplane.dev/tenant", c->tenant,
                     "streamplane.dev/cluster", c->id);
}

/* What selects a role's pods (immutable in a StatefulSet: keep it small). */
static json_t *selector(const rctx *c, const char *component)
{
    return json_pack("{s:s, s:s}", "streamplane.dev/cluster", c->id, "app.kubernetes.io/component", component);
}

static json_t *meta(const rctx *c, const char *name, const char *component, bool namespaced)
{
    json_t *m = json_pack("{s:s, s:o}", "name", name, "labels", labels(c, component));
    if (namespaced) json_object_set_new(m, "namespace", json_string(c->ns));
    return m;
}

static json_t *object(const char *api, const char *kind, json_t *metadata)
{
    return json_pack("{s:s, s:s, s:o}", "apiVersion", api, "kind", kind, "metadata", metadata);
}

static json_t *port(const char *name, int p)
{
    return json_pack("{s:s, s:i, s:i, s:s}", "name", name, "port", p, "targetPort", p, "protocol", "TCP");
}

static json_t *cport(const char *name, int p)
{
    return json_pack("{s:s, s:i, s:s}", "name", name, "containerPort", p, "protocol", "TCP");
}

static json_t *env(const char *name, const char *value)
{
    return json_pack("{s:s, s:s}", "name", name, "value", value);
}

static json_t *env_field(const char *name, const char *path)
{
    return json_pack("{s:s, s:{s:{s:s, s:s}}}", "name", name, "valueFrom", "fieldRef",
                     "apiVersion", "v1", "fieldPath", path);
}

static json_t *mount(const char *name, const char *path, bool ro)
{
    json_t *m = json_pack("{s:s, s:s}", "name", name, "mountPath", path);
    if (ro) json_object_set_new(m, "readOnly", json_true());
    return m;
}

static json_t *resources(const char *rcpu, const char *rmem, const char *lcpu, const char *lmem)
{
    return json_pack("{s:{s:s, s:s}, s:{s:s, s:s}}", "requests", "cpu", rcpu, "memory", rmem,
                     "limits", "cpu", lcpu, "memory", lmem);
}

static json_t *container_security(void)
{
    return json_pack("{s:b, s:{s:[s]}}", "allowPrivilegeEscalation", 0, "capabilities", "drop", "ALL");
}

static json_t *pvc_template(const rctx *c, const char *component, const char *size)
{
    json_t *spec = json_pack("{s:[s], s:{s:{s:s}}}", "accessModes", "ReadWriteOnce",
                             "resources", "requests", "storage", size);
    if (c->storage_class) json_object_set_new(spec, "storageClassName", json_string(c->storage_class));
    return json_pack("{s:{s:s, s:o}, s:o}", "metadata", "name", "data", "labels", labels(c, component),
                     "spec", spec);
}

static char *config_hash(const char *a, const char *b, const char *d, const char *e)
{
    sbuf s = {0};
    sb_add(&s, "%s%c%s%c%s%c%s", a, 0, b ? b : "", 0, d ? d : "", 0, e ? e : "");
    if (s.oom) { sb_free(&s); return NULL; }
    unsigned char h[32];
    sp_sha256(s.s, s.len, h);
    sb_free(&s);
    char *out = malloc(65);
    if (out) sp_hex(h, 32, out);
    return out;
}

/* Scheduling: spread over nodes always, over zones for multi_zone; keep to
 * the plane's zones (all of them, or the first for single_zone). */
static void scheduling(const rctx *c, json_t *pod, const char *component)
{
    json_t *aff = json_pack("{s:{s:[{s:i, s:{s:{s:o}, s:s}}]}}", "podAntiAffinity",
                            "preferredDuringSchedulingIgnoredDuringExecution", "weight", 100,
                            "podAffinityTerm", "labelSelector", "matchLabels", selector(c, component),
                            "topologyKey", "kubernetes.io/hostname");
    if (c->zones) {
        json_t *vals = json_array();
        size_t n = c->multi_zone ? json_array_size(c->zones) : 1;
        for (size_t i = 0; i < n; i++) json_array_append(vals, json_array_get(c->zones, i));
        json_object_set_new(aff, "nodeAffinity",
            json_pack("{s:{s:[{s:[{s:s, s:s, s:o}]}]}}", "requiredDuringSchedulingIgnoredDuringExecution",
                      "nodeSelectorTerms", "matchExpressions", "key", "topology.kubernetes.io/zone",
                      "operator", "In", "values", vals));
    }
    json_object_set_new(pod, "affinity", aff);
    if (c->multi_zone)
        json_object_set_new(pod, "topologySpreadConstraints",
            json_pack("[{s:i, s:s, s:s, s:{s:o}}, {s:i, s:s, s:s, s:{s:o}}]",
                      "maxSkew", 1, "topologyKey", "topology.kubernetes.io/zone",
                      "whenUnsatisfiable", "DoNotSchedule", "labelSelector", "matchLabels", selector(c, component),
                      "maxSkew", 1, "topologyKey", "kubernetes.io/hostname",
                      "whenUnsatisfiable", "ScheduleAnyway", "labelSelector", "matchLabels", selector(c, component)));
}

/* The pod template shared by both roles. */
static json_t *pod_template(const rctx *c, bool broker, const char *hash)
{
    const char *comp = broker ? "broker" : "controller";
    bool dev = !c->multi_zone && c->brokers == 1;
    char kafka_opts[1024];
    snprintf(kafka_opts, sizeof kafka_opts, "-javaagent:" JMX_DIR "/jmx_prometheus_javaagent.jar=%d:" CONFIG_DIR
             "/jmx-exporter.yaml", PORT_METRICS);

    json_t *envs = json_pack("[o, o, o, o]", env("SP_ROLE", comp), env("CLUSTER_ID", c->kraft_id),
                             env("KAFKA_HEAP_OPTS", broker ? (dev ? "-Xms1g -Xmx1g" : "-Xms2g -Xmx2g")
                                                           : "-Xms512m -Xmx512m"),
                             env("KAFKA_OPTS", kafka_opts));
    json_t *ports = json_array();
    if (broker) {
        json_array_append_new(ports, cport("replication", PORT_REPLICATION));
        json_array_append_new(ports, cport("internal", PORT_INTERNAL));
        if (c->ext_on) json_array_append_new(ports, cport("external", PORT_EXTERNAL));
    } else {
        json_array_append_new(ports, cport("controller", PORT_CONTROLLER));
    }
    json_array_append_new(ports, cport("metrics", PORT_METRICS));

    json_t *res = broker ? (dev ? resources("500m", "2Gi", "1", "4Gi") : resources("1", "4Gi", "2", "8Gi"))
                         : resources("250m", "1Gi", "1", "2Gi");
    json_t *kafka = json_pack(
        "{s:s, s:s, s:s, s:[s, s], s:o, s:o, s:{s:{s:i}, s:i, s:i, s:i, s:i}, s:o, s:o, s:[o, o, o, o]}",
        "name", "kafka", "image", c->image, "imagePullPolicy", "IfNotPresent",
        "command", "/bin/bash", CONFIG_DIR "/launch.sh",
        "env", envs, "ports", ports,
        "readinessProbe", "tcpSocket", "port", broker ? PORT_INTERNAL : PORT_CONTROLLER,
        "initialDelaySeconds", 10, "periodSeconds", 10, "timeoutSeconds", 5, "failureThreshold", 3,
        "resources", res, "securityContext", container_security(),
        "volumeMounts", mount("data", RENDER_DATA_DIR, false), mount("config", CONFIG_DIR, true),
        mount("run", RUN_DIR, false), mount("jmx-agent", JMX_DIR, true));

    json_t *inits = json_array();
    json_array_append_new(inits, json_pack(
        "{s:s, s:s, s:s, s:[s, s, s], s:o, s:o, s:[o]}",
        "name", "jmx-agent", "image", c->jmx_image, "imagePullPolicy", "IfNotPresent",
        "command", "cp", c->jmx_jar, JMX_DIR "/jmx_prometheus_javaagent.jar",
        "resources", resources("50m", "64Mi", "500m", "128Mi"), "securityContext", container_security(),
        "volumeMounts", mount("jmx-agent", JMX_DIR, false)));
    bool init = broker && c->need_init;
    if (init)
        json_array_append_new(inits, json_pack(
            "{s:s, s:s, s:s, s:[s, s], s:[o, o, o], s:o, s:o, s:[o, o, o]}",
            "name", "broker-init", "image", c->kubectl_image, "imagePullPolicy", "IfNotPresent",
            "command", "/bin/bash", CONFIG_DIR "/broker-init.sh",
            "env", env_field("NODE_NAME", "spec.nodeName"), env_field("POD_NAME", "metadata.name"),
            env("HOME", "/tmp"),
            "resources", resources("50m", "64Mi", "500m", "256Mi"), "securityContext", container_security(),
            "volumeMounts", mount("config", CONFIG_DIR, true), mount("run", RUN_DIR, false),
            mount("kube-api-access", SA_DIR, true)));

    json_t *vols = json_pack("[{s:s, s:{s:s}}, {s:s, s:{}}, {s:s, s:{}}]",
                             "name", "config", "configMap", "name", RENDER_CONFIGMAP,
                             "name", "run", "emptyDir", "name", "jmx-agent", "emptyDir");
    if (init)
        json_array_append_new(vols, json_pack(
            "{s:s, s:{s:[{s:{s:s, s:i}}, {s:{s:s, s:[{s:s, s:s}]}}, {s:{s:[{s:s, s:{s:s, s:s}}]}}]}}",
            "name", "kube-api-access", "projected", "sources",
            "serviceAccountToken", "path", "token", "expirationSeconds", 3607,
            "configMap", "name", "kube-root-ca.crt", "items", "key", "ca.crt", "path", "ca.crt",
            "downwardAPI", "items", "path", "namespace", "fieldRef", "apiVersion", "v1",
            "fieldPath", "metadata.namespace"));

    json_t *spec = json_pack(
        "{s:b, s:{s:b, s:i, s:i, s:i, s:{s:s}}, s:i, s:o, s:[o], s:o}",
        "automountServiceAccountToken", 0,
        "securityContext", "runAsNonRoot", 1, "runAsUser", KAFKA_UID, "runAsGroup", KAFKA_UID,
        "fsGroup", KAFKA_UID, "seccompProfile", "type", "RuntimeDefault",
        "terminationGracePeriodSeconds", broker ? 120 : 60,
        "initContainers", inits, "containers", kafka, "volumes", vols);
    if (init) json_object_set_new(spec, "serviceAccountName", json_string(BROKER_SA));
    scheduling(c, spec, comp);

    char port_s[8];
    snprintf(port_s, sizeof port_s, "%d", PORT_METRICS);
    json_t *pmeta = json_pack("{s:o, s:{s:s, s:s, s:s, s:s}}", "labels", labels(c, comp), "annotations",
                              "prometheus.io/scrape", "true", "prometheus.io/port", port_s,
                              "prometheus.io/path", "/metrics", "streamplane.dev/config-hash", hash);
    return json_pack("{s:o, s:o}", "metadata", pmeta, "spec", spec);
}

/* ---- objects ----------------------------------------------------------- */

static json_t *obj_namespace(const rctx *c)
{
    json_t *m = meta(c, c->ns, "namespace", false);
    json_t *l = json_object_get(m, "labels");
    json_object_set_new(l, "pod-security.kubernetes.io/enforce", json_string("restricted"));
    return object("v1", "Namespace", m);
}

static json_t *obj_service_account(const rctx *c)
{
    json_t *o = object("v1", "ServiceAccount", meta(c, BROKER_SA, "broker", true));
    json_object_set_new(o, "automountServiceAccountToken", json_false());
    return o;
}

static void rbac_name(const rctx *c, char *out, size_t cap)
{
    snprintf(out, cap, "streamplane-%s-node-reader", c->id);
}

static json_t *obj_cluster_role(const rctx *c)
{
    char name[128];
    rbac_name(c, name, sizeof name);
    json_t *o = object("rbac.authorization.k8s.io/v1", "ClusterRole", meta(c, name, "broker", false));
    json_object_set_new(o, "rules", json_pack("[{s:[s], s:[s], s:[s]}]", "apiGroups", "", "resources", "nodes",
                                              "verbs", "get"));
    return o;
}

static json_t *obj_cluster_role_binding(const rctx *c)
{
    char name[128];
    rbac_name(c, name, sizeof name);
    json_t *o = object("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", meta(c, name, "broker", false));
    json_object_set_new(o, "roleRef", json_pack("{s:s, s:s, s:s}", "apiGroup", "rbac.authorization.k8s.io",
                                                "kind", "ClusterRole", "name", name));
    json_object_set_new(o, "subjects", json_pack("[{s:s, s:s, s:s}]", "kind", "ServiceAccount",
                                                 "name", BROKER_SA, "namespace", c->ns));
    return o;
}

static json_t *obj_role(const rctx *c)
{
    json_t *o = object("rbac.authorization.k8s.io/v1", "Role", meta(c, INIT_ROLE, "broker", true));
    json_object_set_new(o, "rules", json_pack("[{s:[s], s:[s], s:[s]}]", "apiGroups", "", "resources", "services",
                                              "verbs", "get"));
    return o;
}

static json_t *obj_role_binding(const rctx *c)
{
    json_t *o = object("rbac.authorization.k8s.io/v1", "RoleBinding", meta(c, INIT_ROLE, "broker", true));
    json_object_set_new(o, "roleRef", json_pack("{s:s, s:s, s:s}", "apiGroup", "rbac.authorization.k8s.io",
                                                "kind", "Role", "name", INIT_ROLE));
    json_object_set_new(o, "subjects", json_pack("[{s:s, s:s, s:s}]", "kind", "ServiceAccount",
                                                 "name", BROKER_SA, "namespace", c->ns));
    return o;
}

static json_t *obj_network_policy(const rctx *c)
{
    json_t *ingress = json_pack("[{s:[{s:{}}]}, {s:[{s:{s:{s:s}}}]}]",
                                "from", "podSelector",
                                "from", "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name", c->cp_ns);
    if (c->metrics_ns)
        json_array_append_new(ingress, json_pack("{s:[{s:{s:{s:s}}}], s:[{s:s, s:i}]}",
                                                 "from", "namespaceSelector", "matchLabels",
                                                 "kubernetes.io/metadata.name", c->metrics_ns,
                                                 "ports", "protocol", "TCP", "port", PORT_METRICS));
    if (c->ext_on)
        json_array_append_new(ingress, json_pack("{s:[{s:s, s:i}]}", "ports", "protocol", "TCP", "port",
                                                 PORT_EXTERNAL));
    json_t *o = object("networking.k8s.io/v1", "NetworkPolicy", meta(c, NETPOL, "network", true));
    json_object_set_new(o, "spec", json_pack("{s:{}, s:[s], s:o}", "podSelector", "policyTypes", "Ingress",
                                             "ingress", ingress));
    return o;
}

static json_t *obj_headless(const rctx *c, const char *name, const char *comp, json_t *ports)
{
    json_t *o = object("v1", "Service", meta(c, name, comp, true));
    json_object_set_new(o, "spec", json_pack("{s:s, s:b, s:o, s:o}", "clusterIP", "None",
                                             "publishNotReadyAddresses", 1, "selector", selector(c, comp),
                                             "ports", ports));
    return o;
}

static json_t *obj_bootstrap(const rctx *c)
{
    json_t *o = object("v1", "Service", meta(c, RENDER_BOOTSTRAP_SVC, "broker", true));
    json_object_set_new(o, "spec", json_pack("{s:s, s:o, s:[o]}", "type", "ClusterIP",
                                             "selector", selector(c, "broker"),
                                             "ports", port("internal", PORT_INTERNAL)));
    return o;
}

static json_t *obj_external(const rctx *c, long long i)
{
    char name[96], pod[64], idx[24];
    snprintf(pod, sizeof pod, RENDER_BROKER_STS "-%lld", i);
    snprintf(name, sizeof name, "%s-external", pod);
    snprintf(idx, sizeof idx, "%lld", i);
    json_t *m = meta(c, name, "broker", true);
    json_object_set_new(json_object_get(m, "labels"), "streamplane.dev/broker", json_string(idx));
    json_t *sel = selector(c, "broker");
    json_object_set_new(sel, "statefulset.kubernetes.io/pod-name", json_string(pod));
    json_t *o = object("v1", "Service", m);
    json_object_set_new(o, "spec", json_pack("{s:s, s:s, s:o, s:[o]}",
                                             "type", strcmp(c->ext, "nodeport") == 0 ? "NodePort" : "LoadBalancer",
                                             "externalTrafficPolicy", "Local", "selector", sel,
                                             "ports", port("external", PORT_EXTERNAL)));
    return o;
}

static json_t *obj_statefulset(const rctx *c, bool broker, const char *hash)
{
    const char *comp = broker ? "broker" : "controller";
    const char *name = broker ? RENDER_BROKER_STS : RENDER_CONTROLLER_STS;
    char size[32];
    snprintf(size, sizeof size, "%lldGi", c->storage_gib);
    json_t *o = object("apps/v1", "StatefulSet", meta(c, name, comp, true));
    json_object_set_new(o, "spec", json_pack(
        "{s:s, s:I, s:s, s:{s:s}, s:{s:o}, s:o, s:[o]}",
        "serviceName", name, "replicas", (json_int_t)(broker ? c->brokers : c->controllers),
        "podManagementPolicy", "Parallel", "updateStrategy", "type", "OnDelete",
        "selector", "matchLabels", selector(c, comp),
        "template", pod_template(c, broker, hash),
        "volumeClaimTemplates", pvc_template(c, comp, broker ? size : CONTROLLER_STORAGE)));
    return o;
}

static json_t *obj_pdb(const rctx *c, bool broker)
{
    const char *comp = broker ? "broker" : "controller";
    json_t *o = object("policy/v1", "PodDisruptionBudget",
                       meta(c, broker ? RENDER_BROKER_STS : RENDER_CONTROLLER_STS, comp, true));
    json_object_set_new(o, "spec", json_pack("{s:i, s:{s:o}}", "maxUnavailable", 1,
                                             "selector", "matchLabels", selector(c, comp)));
    return o;
}

/* ---- the whole cluster ------------------------------------------------- */

static bool add(json_t *out, json_t *o)
{
    if (!o) return false;
    json_array_append_new(out, o);
    return true;
}

json_t *render_cluster(const cluster_spec *cluster, const json_t *plane, const render_opts *opts, char *err, size_t errlen)
{
    rctx c = {0};
    c.err = err;
    c.errlen = errlen;
    if (err && errlen) err[0] = 0;
    if (!read_inputs(&c, cluster, plane, opts)) { free(c.voters); return NULL; }

    json_t *out = NULL;
    char *cprops = controller_properties(&c), *bprops = broker_properties(&c);
    char *launch = launch_script(&c), *init = c.need_init ? broker_init_script(&c) : NULL;
    char *chash = NULL, *bhash = NULL;
    if (!cprops || !bprops || !launch || (c.need_init && !init)) { fail(&c, "out of memory"); goto done; }
    chash = config_hash(cprops, launch, JMX_CONFIG, NULL);
    bhash = config_hash(bprops, launch, JMX_CONFIG, init);
    if (!chash || !bhash) { fail(&c, "out of memory"); goto done; }

    json_t *data = json_pack("{s:s, s:s, s:s, s:s}", "controller.properties", cprops,
                             "broker.properties", bprops, "launch.sh", launch, "jmx-exporter.yaml", JMX_CONFIG);
    if (data && init) json_object_set_new(data, "broker-init.sh", json_string(init));
    json_t *cm = data ? object("v1", "ConfigMap", meta(&c, RENDER_CONFIGMAP, "config", true)) : NULL;
    if (cm) json_object_set_new(cm, "data", data);
    else json_decref(data);

    out = json_array();
    bool ok = add(out, obj_namespace(&c));
    if (c.need_init) {
        ok = ok && add(out, obj_service_account(&c));
        if (c.need_nodes) ok = ok && add(out, obj_cluster_role(&c)) && add(out, obj_cluster_role_binding(&c));
        if (c.ext_on) ok = ok && add(out, obj_role(&c)) && add(out, obj_role_binding(&c));
    }
    ok = ok && add(out, cm);
    cm = NULL;
    ok = ok && add(out, obj_network_policy(&c));
    ok = ok && add(out, obj_headless(&c, RENDER_CONTROLLER_STS, "controller",
                                     json_pack("[o]", port("controller", PORT_CONTROLLER))));
    ok = ok && add(out, obj_statefulset(&c, false, chash));
    ok = ok && add(out, obj_pdb(&c, false));
    ok = ok && add(out, obj_headless(&c, RENDER_BROKER_STS, "broker",
                                     json_pack("[o, o]", port("replication", PORT_REPLICATION),
                                               port("internal", PORT_INTERNAL))));
    ok = ok && add(out, obj_bootstrap(&c));
    for (long long i = 0; ok && c.ext_on && i < c.brokers; i++) ok = add(out, obj_external(&c, i));
    ok = ok && add(out, obj_statefulset(&c, true, bhash));
    ok = ok && add(out, obj_pdb(&c, true));
    json_decref(cm);
    if (!ok) {
        json_decref(out);
        out = NULL;
        fail(&c, "out of memory building objects");
    }
done:
    free(cprops); free(bprops); free(launch); free(init); free(chash); free(bhash);
    free(c.voters);
    return out;
}

void render_filename(const json_t *obj, int index, char *out, size_t cap)
{
    const char *kind = json_string_value(json_object_get(obj, "kind"));
    const char *name = json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
    char k[64];
    size_t i = 0;
    for (const char *p = kind ? kind : "object"; *p && i + 1 < sizeof k; p++)
        k[i++] = (char)tolower((unsigned char)*p);
    k[i] = 0;
    snprintf(out, cap, "%02d-%s-%s.json", index, k, name ? name : "unnamed");
    /* names are DNS labels already; never let a path separator through */
    for (char *p = out; *p; p++)
        if (*p == '/') *p = '_';
}

/* A UUID from SHA-256("streamplane/kraft-cluster-id/" + id), in Kafka's
 * 22-character base64url form. Like Kafka's Uuid.randomUuid() it avoids the
 * reserved zero and one UUIDs and a leading '-' (a command line would take
 * it for an option): on a hit, hash again with a counter. */
void render_kraft_cluster_id(const char *cluster_id, char out[23])
{
    for (unsigned n = 0;; n++) {
        char in[256];
        snprintf(in, sizeof in, "streamplane/kraft-cluster-id/%s/%u", cluster_id ? cluster_id : "", n);
        unsigned char h[32];
        sp_sha256(in, strlen(in), h);
        h[6] = (unsigned char)((h[6] & 0x0f) | 0x40);   /* version 4, variant 1: a well-formed UUID */
        h[8] = (unsigned char)((h[8] & 0x3f) | 0x80);
        char b[32];
        sp_b64url_encode(h, 16, b);
        if (b[0] == '-') continue;
        memcpy(out, b, 22);
        out[22] = 0;
        return;
    }
}

int render_namespace(const char *cluster_id, char *out, size_t cap)
{
    int n = snprintf(out, cap, "sp-%s", cluster_id ? cluster_id : "");
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

json_t *render_cluster_json(const json_t *cluster, const json_t *plane, const render_opts *opts, char *err, size_t errlen)
{
    if (!json_is_object(cluster)) {
        if (err && errlen) snprintf(err, errlen, "cluster must be a JSON object");
        return NULL;
    }
    cluster_spec c;
    cluster_spec_from_json(cluster, &c);
    return render_cluster(&c, plane, opts, err, errlen);
}
