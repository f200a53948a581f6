/* Renderer tests: the shape of what a cluster becomes on Kubernetes, and
 * golden files for three clusters (byte for byte; SP_UPDATE_GOLDEN=1
 * rewrites them, then review the diff). Schema validity is checked apart,
 * by render-matrix + validate-objects.mjs. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "workers/kube/render.h"
#include "common/util.h"

#define CID "kc-abcdefghij234567"
#define TID "tn-zyxwvutsrq765432"
#define NS  "sp-" CID

static json_t *cluster(int brokers, const char *avail, const char *ext, int tiered)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:{s:s}, s:{s:b}, s:{}, s:{s:s, s:s, s:s}}",
                     "id", CID, "tenant_id", TID, "name", "orders", "kafka_version", "3.9",
                     "brokers", brokers, "storage_gib", 100,
                     "external_access", "type", ext, "tiered_storage", "enabled", tiered, "config",
                     "status", "kafka_version", "3.9.1", "availability", avail, "phase", "PROVISIONING");
}

static json_t *plane(void)
{
    return json_pack("{s:s, s:s, s:[s, s, s]}", "id", "dp-aaaaaaaaaaaaaaaa", "name", "eu-1", "zones", "a", "b", "c");
}

static json_t *render(const json_t *c, const json_t *p, const render_opts *o)
{
    char err[256];
    json_t *out = render_cluster_json(c, p, o, err, sizeof err);
    ck_assert_msg(out != NULL, "render failed: %s", err);
    return out;
}

static const char *kind_of(const json_t *o) { return json_string_value(json_object_get(o, "kind")); }
static const char *name_of(const json_t *o)
{
    return json_string_value(json_object_get(json_object_get(o, "metadata"), "name"));
}

static const json_t *find(const json_t *objs, const char *kind, const char *name)
{
    size_t i; const json_t *o;
    json_array_foreach(objs, i, o)
        if (strcmp(kind_of(o), kind) == 0 && strcmp(name_of(o), name) == 0) return o;
    return NULL;
}

static int count_kind(const json_t *objs, const char *kind)
{
    int n = 0;
    size_t i; const json_t *o;
    json_array_foreach(objs, i, o) n += strcmp(kind_of(o), kind) == 0;
    return n;
}

static const char *cm_data(const json_t *objs, const char *key)
{
    const json_t *cm = find(objs, "ConfigMap", RENDER_CONFIGMAP);
    ck_assert_ptr_nonnull(cm);
    return json_string_value(json_object_get(json_object_get(cm, "data"), key));
}

static const json_t *pod_spec(const json_t *objs, const char *sts)
{
    const json_t *s = find(objs, "StatefulSet", sts);
    ck_assert_ptr_nonnull(s);
    return json_object_get(json_object_get(json_object_get(s, "spec"), "template"), "spec");
}

/* ---- shapes ------------------------------------------------------------ */

START_TEST(single_broker_single_zone)
{
    json_t *c = cluster(1, "single_zone", "none", 0);
    json_t *objs = render(c, NULL, NULL);
    ck_assert_str_eq(kind_of(json_array_get(objs, 0)), "Namespace");
    ck_assert_str_eq(name_of(json_array_get(objs, 0)), NS);
    ck_assert_int_eq(json_array_size(objs), 10);
    ck_assert_int_eq(count_kind(objs, "StatefulSet"), 2);
    ck_assert_int_eq(count_kind(objs, "Service"), 3);
    ck_assert_int_eq(count_kind(objs, "PodDisruptionBudget"), 2);
    ck_assert_int_eq(count_kind(objs, "ServiceAccount"), 0);
    ck_assert_int_eq(count_kind(objs, "ClusterRole"), 0);
    const json_t *ctl = find(objs, "StatefulSet", RENDER_CONTROLLER_STS);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(ctl, "spec"), "replicas")), 1);
    const char *bp = cm_data(objs, "broker.properties");
    ck_assert_ptr_nonnull(strstr(bp, "\ndefault.replication.factor=1\n"));
    ck_assert_ptr_nonnull(strstr(bp, "\nmin.insync.replicas=1\n"));
    ck_assert_ptr_nonnull(strstr(bp, "\noffsets.topic.replication.factor=1\n"));
    ck_assert_ptr_nonnull(strstr(bp, "\ntransaction.state.log.replication.factor=1\n"));
    ck_assert_ptr_nonnull(strstr(bp, "\ntransaction.state.log.min.isr=1\n"));
    ck_assert_ptr_nonnull(strstr(bp, "\ncontroller.quorum.voters=1000@kafka-controller-0.kafka-controller."
                                     NS ".svc.cluster.local:9093\n"));
    ck_assert_ptr_null(strstr(bp, "EXTERNAL"));
    ck_assert_ptr_null(strstr(bp, "remote.log"));
    const json_t *ps = pod_spec(objs, RENDER_BROKER_STS);
    ck_assert_ptr_null(json_object_get(ps, "topologySpreadConstraints"));
    ck_assert_ptr_null(json_object_get(ps, "serviceAccountName"));
    ck_assert_int_eq(json_array_size(json_object_get(ps, "initContainers")), 1);
    json_decref(objs);
    json_decref(c);
}
END_TEST

START_TEST(three_brokers_multi_zone_nodeport)
{
    json_t *c = cluster(3, "multi_zone", "nodeport", 0);
    json_t *p = plane();
    json_t *objs = render(c, p, NULL);
    ck_assert_int_eq(json_array_size(objs), 18);
    ck_assert_int_eq(count_kind(objs, "Service"), 6);
    ck_assert_int_eq(count_kind(objs, "ClusterRole"), 1);
    ck_assert_int_eq(count_kind(objs, "ClusterRoleBinding"), 1);
    ck_assert_int_eq(count_kind(objs, "Role"), 1);
    ck_assert_int_eq(count_kind(objs, "RoleBinding"), 1);
    ck_assert_int_eq(count_kind(objs, "ServiceAccount"), 1);

    const json_t *b = find(objs, "StatefulSet", RENDER_BROKER_STS);
    const json_t *spec = json_object_get(b, "spec");
    ck_assert_int_eq(json_integer_value(json_object_get(spec, "replicas")), 3);
    ck_assert_str_eq(json_string_value(json_object_get(spec, "podManagementPolicy")), "Parallel");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(spec, "updateStrategy"), "type")), "OnDelete");
    const json_t *vct = json_array_get(json_object_get(spec, "volumeClaimTemplates"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(json_object_get(json_object_get(vct, "spec"),
                     "resources"), "requests"), "storage")), "100Gi");
    const json_t *ps = pod_spec(objs, RENDER_BROKER_STS);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(ps, "securityContext"), "fsGroup")), 1000);
    ck_assert_str_eq(json_string_value(json_object_get(ps, "serviceAccountName")), "kafka-broker");
    const json_t *tsc = json_object_get(ps, "topologySpreadConstraints");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(tsc, 0), "topologyKey")),
                     "topology.kubernetes.io/zone");
    const json_t *kafka = json_array_get(json_object_get(ps, "containers"), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(json_object_get(kafka, "readinessProbe"),
                     "tcpSocket"), "port")), 9092);
    ck_assert_ptr_nonnull(json_object_get(json_object_get(json_object_get(json_object_get(ps, "affinity"),
                          "nodeAffinity"), "requiredDuringSchedulingIgnoredDuringExecution"), "nodeSelectorTerms"));

    const json_t *ctl = find(objs, "StatefulSet", RENDER_CONTROLLER_STS);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(ctl, "spec"), "replicas")), 3);
    const char *voters = "\ncontroller.quorum.voters="
        "1000@kafka-controller-0.kafka-controller." NS ".svc.cluster.local:9093,"
        "1001@kafka-controller-1.kafka-controller." NS ".svc.cluster.local:9093,"
        "1002@kafka-controller-2.kafka-controller." NS ".svc.cluster.local:9093\n";
    ck_assert_ptr_nonnull(strstr(cm_data(objs, "controller.properties"), voters));
    ck_assert_ptr_nonnull(strstr(cm_data(objs, "broker.properties"), voters));
    const char *bp = cm_data(objs, "broker.properties");
    ck_assert_ptr_nonnull(strstr(bp, "\nlisteners=REPLICATION://:9091,INTERNAL://:9092,EXTERNAL://:9094\n"));
    ck_assert_ptr_nonnull(strstr(bp, "\ninter.broker.listener.name=REPLICATION\n"));
    ck_assert_ptr_nonnull(strstr(bp, "\nmin.insync.replicas=2\n"));
    ck_assert_ptr_nonnull(strstr(bp, "\ndefault.replication.factor=3\n"));

    const char *launch = cm_data(objs, "launch.sh");
    ck_assert_ptr_nonnull(strstr(launch, "FQDN=\"$HOSTNAME.kafka-broker." NS ".svc.cluster.local\""));
    ck_assert_ptr_nonnull(strstr(launch, "ADVERTISED=\"REPLICATION://$FQDN:9091,INTERNAL://$FQDN:9092\""));
    ck_assert_ptr_nonnull(strstr(launch, "EXTERNAL://$(cat /etc/kafka/run/external)"));
    ck_assert_ptr_nonnull(strstr(launch, "NODE_ID=\"$((1000 + ORDINAL))\""));
    ck_assert_ptr_nonnull(strstr(launch, "kafka-storage.sh format -t \"$CLUSTER_ID\" -c \"$PROPS\" --ignore-formatted"));
    ck_assert_ptr_nonnull(strstr(launch, "exec /opt/kafka/bin/kafka-server-start.sh \"$PROPS\""));
    const char *init = cm_data(objs, "broker-init.sh");
    ck_assert_ptr_nonnull(init);
    ck_assert_ptr_nonnull(strstr(init, "topology\\.kubernetes\\.io/zone"));
    ck_assert_ptr_nonnull(strstr(init, "nodePort"));

    for (int i = 0; i < 3; i++) {
        char name[64], pod[64];
        snprintf(name, sizeof name, "kafka-broker-%d-external", i);
        snprintf(pod, sizeof pod, "kafka-broker-%d", i);
        const json_t *s = find(objs, "Service", name);
        ck_assert_ptr_nonnull(s);
        const json_t *ss = json_object_get(s, "spec");
        ck_assert_str_eq(json_string_value(json_object_get(ss, "type")), "NodePort");
        ck_assert_str_eq(json_string_value(json_object_get(json_object_get(ss, "selector"),
                         "statefulset.kubernetes.io/pod-name")), pod);
    }
    const json_t *np = find(objs, "NetworkPolicy", "kafka");
    const json_t *ing = json_object_get(json_object_get(np, "spec"), "ingress");
    ck_assert_int_eq(json_array_size(ing), 3);
    const json_t *hb = find(objs, "Service", RENDER_BROKER_STS);
    ck_assert(json_is_true(json_object_get(json_object_get(hb, "spec"), "publishNotReadyAddresses")));
    json_decref(objs);
    json_decref(p);
    json_decref(c);
}
END_TEST

START_TEST(six_brokers_loadbalancer_tiered)
{
    json_t *c = cluster(6, "multi_zone", "loadbalancer", 1);
    json_object_set_new(c, "config", json_pack("{s:s, s:s}", "log.retention.hours", "168",
                                               "min.insync.replicas", "3"));
    render_opts o = {.storage_class = "fast-ssd", .image_registry = "registry.example.com/kafka"};
    json_t *objs = render(c, NULL, &o);
    ck_assert_int_eq(count_kind(objs, "Service"), 9);
    ck_assert_int_eq(count_kind(objs, "ClusterRole"), 1);
    const char *bp = cm_data(objs, "broker.properties");
    ck_assert_ptr_nonnull(strstr(bp, "\nremote.log.storage.system.enable=true\n"));
    ck_assert_ptr_nonnull(strstr(bp, "\nlog.retention.hours=168\n"));
    ck_assert_ptr_nonnull(strstr(bp, "\nmin.insync.replicas=3\n"));      /* the tenant's value wins */
    ck_assert_ptr_null(strstr(bp, "\nmin.insync.replicas=2\n"));
    const json_t *ps = pod_spec(objs, RENDER_BROKER_STS);
    const json_t *kafka = json_array_get(json_object_get(ps, "containers"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(kafka, "image")), "registry.example.com/kafka:3.9.1");
    const json_t *b = find(objs, "StatefulSet", RENDER_BROKER_STS);
    const json_t *vct = json_array_get(json_object_get(json_object_get(b, "spec"), "volumeClaimTemplates"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(vct, "spec"), "storageClassName")), "fast-ssd");
    const json_t *s = find(objs, "Service", "kafka-broker-5-external");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(s, "spec"), "type")), "LoadBalancer");
    json_decref(objs);
    json_decref(c);
}
END_TEST

/* ---- every object -------------------------------------------------------- */

START_TEST(labels_and_namespaces_everywhere)
{
    static const char *const exts[] = {"none", "nodeport", "loadbalancer"};
    json_t *p = plane();
    for (int e = 0; e < 3; e++)
        for (int b = 1; b <= 4; b++) {
            json_t *c = cluster(b, b >= 3 ? "multi_zone" : "single_zone", exts[e], b % 2);
            json_t *objs = render(c, p, NULL);
            size_t i; const json_t *o;
            json_array_foreach(objs, i, o) {
                const json_t *m = json_object_get(o, "metadata");
                const json_t *l = json_object_get(m, "labels");
                ck_assert_str_eq(json_string_value(json_object_get(l, "app.kubernetes.io/managed-by")), "streamplane");
                ck_assert_str_eq(json_string_value(json_object_get(l, "app.kubernetes.io/part-of")), "streamplane");
                ck_assert_str_eq(json_string_value(json_object_get(l, "streamplane.dev/tenant")), TID);
                ck_assert_str_eq(json_string_value(json_object_get(l, "streamplane.dev/cluster")), CID);
                ck_assert_ptr_nonnull(json_object_get(l, "app.kubernetes.io/component"));
                const char *k = kind_of(o);
                bool cluster_scoped = !strcmp(k, "Namespace") || !strcmp(k, "ClusterRole") ||
                                      !strcmp(k, "ClusterRoleBinding");
                const char *ns = json_string_value(json_object_get(m, "namespace"));
                if (cluster_scoped) ck_assert_ptr_null(ns);
                else ck_assert_msg(ns && strcmp(ns, NS) == 0, "%s/%s has no namespace", k, name_of(o));
                char fn[256];
                render_filename(o, (int)i, fn, sizeof fn);
                ck_assert_ptr_nonnull(strstr(fn, ".json"));
            }
            ck_assert_int_eq(count_kind(objs, "Service"), 3 + (e ? b : 0));
            json_decref(objs);
            json_decref(c);
        }
    json_decref(p);
}
END_TEST

START_TEST(deterministic)
{
    json_t *c = cluster(3, "multi_zone", "nodeport", 1);
    json_object_set_new(c, "config", json_pack("{s:s, s:s, s:s}", "z.last", "1", "a.first", "2", "m.mid", "3"));
    json_t *p = plane();
    json_t *a = render(c, p, NULL), *b = render(c, p, NULL);
    char *sa = json_dumps(a, JSON_SORT_KEYS), *sb = json_dumps(b, JSON_SORT_KEYS);
    ck_assert_str_eq(sa, sb);
    /* key order of the input config does not matter */
    json_t *c2 = cluster(3, "multi_zone", "nodeport", 1);
    json_object_set_new(c2, "config", json_pack("{s:s, s:s, s:s}", "m.mid", "3", "a.first", "2", "z.last", "1"));
    json_t *d = render(c2, p, NULL);
    char *sd = json_dumps(d, JSON_SORT_KEYS);
    ck_assert_str_eq(sa, sd);
    free(sa); free(sb); free(sd);
    json_decref(a); json_decref(b); json_decref(d);
    json_decref(c); json_decref(c2); json_decref(p);
}
END_TEST

START_TEST(kraft_cluster_id)
{
    char a[23], b[23], d[23];
    render_kraft_cluster_id(CID, a);
    render_kraft_cluster_id(CID, b);
    render_kraft_cluster_id("kc-other0000000000", d);
    ck_assert_int_eq(strlen(a), 22);
    ck_assert_str_eq(a, b);
    ck_assert_str_ne(a, d);
    ck_assert(a[0] != '-');
    for (int i = 0; i < 22; i++)
        ck_assert(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", a[i]));
    unsigned char raw[32];
    ck_assert_int_eq(sp_b64url_decode(a, raw, sizeof raw), 16);
    /* and it is what the pods format their storage with */
    json_t *c = cluster(1, "single_zone", "none", 0);
    json_t *objs = render(c, NULL, NULL);
    char *s = json_dumps(find(objs, "StatefulSet", RENDER_BROKER_STS), 0);
    char want[64];
    snprintf(want, sizeof want, "\"CLUSTER_ID\", \"value\": \"%s\"", a);
    ck_assert_ptr_nonnull(strstr(s, want));
    free(s);
    json_decref(objs);
    json_decref(c);
}
END_TEST

START_TEST(property_escaping)
{
    json_t *c = cluster(1, "single_zone", "none", 0);
    json_object_set_new(c, "config", json_pack("{s:s}", "ssl.principal.mapping.rules", "RULE:^CN=(.*)$/$1/\\\nDEFAULT é"));
    json_t *objs = render(c, NULL, NULL);
    ck_assert_ptr_nonnull(strstr(cm_data(objs, "broker.properties"),
                                 "\nssl.principal.mapping.rules=RULE:^CN=(.*)$/$1/\\\\\\nDEFAULT \\u00e9\n"));
    json_decref(objs);
    json_decref(c);
}
END_TEST

START_TEST(errors)
{
    char err[256];
    json_t *c = cluster(3, "multi_zone", "none", 0);
    json_object_del(json_object_get(c, "status"), "kafka_version");
    ck_assert_ptr_null(render_cluster_json(c, NULL, NULL, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "kafka_version"));
    json_decref(c);

    c = cluster(0, "single_zone", "none", 0);
    ck_assert_ptr_null(render_cluster_json(c, NULL, NULL, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "brokers"));
    json_decref(c);

    c = cluster(3, "multi_zone", "ingress", 0);
    ck_assert_ptr_null(render_cluster_json(c, NULL, NULL, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "external_access"));
    json_decref(c);

    c = cluster(3, "multi_zone", "none", 0);
    json_object_set_new(c, "config", json_pack("{s:s}", "bad key=1", "x"));
    ck_assert_ptr_null(render_cluster_json(c, NULL, NULL, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "config"));
    json_decref(c);

    c = cluster(3, "multi_zone", "none", 0);
    json_object_set_new(c, "id", json_string("KC_Upper"));
    ck_assert_ptr_null(render_cluster_json(c, NULL, NULL, err, sizeof err));
    json_decref(c);
}
END_TEST

/* ---- golden files -------------------------------------------------------- */

static void golden(const char *shape, const json_t *c, const json_t *p, const render_opts *o)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/%s", SP_RENDER_GOLDEN_DIR, shape);
    bool update = getenv("SP_UPDATE_GOLDEN") && strcmp(getenv("SP_UPDATE_GOLDEN"), "1") == 0;
    json_t *objs = render(c, p, o);
    if (update) {
        mkdir(SP_RENDER_GOLDEN_DIR, 0755);
        mkdir(dir, 0755);
        DIR *d = opendir(dir);
        ck_assert_ptr_nonnull(d);
        struct dirent *e;
        while ((e = readdir(d)))
            if (strstr(e->d_name, ".json")) {
                char path[2048];
                snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
                unlink(path);
            }
        closedir(d);
    }
    size_t i; const json_t *obj;
    json_array_foreach(objs, i, obj) {
        char fn[256], path[2048];
        render_filename(obj, (int)i, fn, sizeof fn);
        snprintf(path, sizeof path, "%s/%s", dir, fn);
        char *s = json_dumps(obj, JSON_SORT_KEYS | JSON_INDENT(2));
        ck_assert_ptr_nonnull(s);
        size_t n = strlen(s);
        char *want = malloc(n + 2);
        memcpy(want, s, n);
        want[n] = '\n';
        want[n + 1] = 0;
        free(s);
        if (update) {
            ck_assert_int_eq(sp_write_file_atomic(path, want, n + 1, 0644), 0);
        } else {
            size_t len = 0;
            char *got = sp_read_file(path, &len);
            ck_assert_msg(got != NULL, "missing golden file %s (SP_UPDATE_GOLDEN=1 writes it)", path);
            ck_assert_msg(len == n + 1 && memcmp(got, want, len) == 0,
                          "%s differs from the rendered object (SP_UPDATE_GOLDEN=1 rewrites it)", path);
            free(got);
        }
        free(want);
    }
    /* no stale files: exactly one per object */
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    size_t files = 0;
    struct dirent *e;
    while ((e = readdir(d))) files += strstr(e->d_name, ".json") != NULL;
    closedir(d);
    ck_assert_msg(files == json_array_size(objs), "%s holds %zu files for %zu objects", dir, files,
                  json_array_size(objs));
    json_decref(objs);
}

START_TEST(golden_files)
{
    json_t *c1 = cluster(1, "single_zone", "none", 0);
    golden("1-broker-single-zone", c1, NULL, NULL);

    json_t *c3 = cluster(3, "multi_zone", "nodeport", 0);
    json_object_set_new(c3, "config", json_pack("{s:s}", "log.retention.hours", "168"));
    json_t *p = plane();
    golden("3-brokers-multi-zone-nodeport", c3, p, NULL);

    json_t *c6 = cluster(6, "multi_zone", "loadbalancer", 1);
    json_object_set_new(c6, "config", json_pack("{s:s, s:s}", "log.retention.hours", "72",
                                                "compression.type", "zstd"));
    render_opts o = {.storage_class = "fast-ssd", .control_plane_namespace = "sp-system",
                     .metrics_namespace = "monitoring"};
    golden("6-brokers-loadbalancer-tiered", c6, p, &o);
    json_decref(c1); json_decref(c3); json_decref(c6); json_decref(p);
}
END_TEST

static Suite *suite_render(void)
{
    Suite *s = suite_create("render");
    TCase *t = tcase_create("render");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, single_broker_single_zone);
    tcase_add_test(t, three_brokers_multi_zone_nodeport);
    tcase_add_test(t, six_brokers_loadbalancer_tiered);
    tcase_add_test(t, labels_and_namespaces_everywhere);
    tcase_add_test(t, deterministic);
    tcase_add_test(t, kraft_cluster_id);
    tcase_add_test(t, property_escaping);
    tcase_add_test(t, errors);
    tcase_add_test(t, golden_files);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite_render());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
