/* render.h — from a cluster's desired state to the Kubernetes objects that
 * run it (DESIGN.md §4). Pure: no I/O, no clock, no randomness; the same
 * input always gives the same objects, byte for byte once dumped with
 * JSON_SORT_KEYS. The kube worker applies them (server-side apply) in the
 * order given; the manifests target writes them as files named by
 * render_filename().
 *
 * What a cluster is (namespace sp-<cluster id>, names below are fixed):
 *   Namespace (Pod Security "restricted")
 *   ServiceAccount kafka-broker, ClusterRole+ClusterRoleBinding
 *     streamplane-<cluster id>-node-reader, Role+RoleBinding kafka-broker-init
 *     — only when a broker needs to look something up (see "broker.rack")
 *   ConfigMap kafka-config: controller.properties, broker.properties,
 *     launch.sh, broker-init.sh (when used), jmx-exporter.yaml
 *   NetworkPolicy kafka
 *   Service kafka-controller (headless), StatefulSet kafka-controller
 *     (3 replicas, 1 when single_zone), PodDisruptionBudget kafka-controller
 *   Service kafka-broker (headless), Service kafka-bootstrap,
 *     Service kafka-broker-<i>-external per broker (NodePort|LoadBalancer),
 *     StatefulSet kafka-broker, PodDisruptionBudget kafka-broker
 *
 * broker.rack: a pod cannot read its node's labels through the downward API
 * (before the alpha PodTopologyLabelsAdmission of Kubernetes 1.33), so for
 * multi_zone clusters each broker pod runs an init container (image
 * opts->kubectl_image) under the ServiceAccount kafka-broker that reads
 * topology.kubernetes.io/zone of its node (spec.nodeName) and leaves it in a
 * shared emptyDir; launch.sh turns it into broker.rack. Nodes are
 * cluster-scoped, so this needs a ClusterRole (get nodes) and a
 * ClusterRoleBinding, both named streamplane-<cluster id>-node-reader, which
 * are NOT removed with the namespace: the deleter must delete them. The
 * service account token is mounted only into that init container (projected
 * volume); the Kafka container gets none. single_zone clusters set no rack
 * and need no RBAC. External access uses the same init container: it reads
 * the broker's external Service (Role: get services in the namespace) and,
 * for NodePort, the node's ExternalIP (else InternalIP), and leaves
 * "<host>:<port>" for the EXTERNAL advertised listener.
 *
 * Not rendered yet: TLS (cluster CA, per-broker certificates, client CA) —
 * every listener is PLAINTEXT until the certificate work lands; that work
 * adds the Secrets and switches listener.security.protocol.map.
 * tiered_storage.enabled sets remote.log.storage.system.enable=true with a
 * placeholder RemoteStorageManager class (streamplane.placeholder.*): a broker
 * will not start with it until a real plugin is configured. */
#ifndef SP_KUBE_RENDER_H
#define SP_KUBE_RENDER_H

#include <stddef.h>
#include <jansson.h>
#include "../../core/cluster.h"

typedef struct render_opts {
    const char *image_registry;   /* default "docker.io/apache/kafka" -> image "<registry>:<version>" */
    const char *jmx_image;        /* image that holds the Prometheus JMX exporter agent jar, default "docker.io/bitnami/jmx-exporter:1.0.1" (configurable) */
    const char *storage_class;    /* NULL: cluster default */
    const char *control_plane_namespace; /* namespace streamplane runs in, for the NetworkPolicy; default "streamplane" */
    /* Added beyond the first cut; NULL means the default. */
    const char *jmx_agent_jar;    /* path of the agent jar in jmx_image, default "/opt/bitnami/jmx-exporter/jmx_prometheus_javaagent.jar" */
    const char *kubectl_image;    /* image with bash + kubectl for the broker init container, default "docker.io/bitnami/kubectl:1.31" */
    const char *metrics_namespace; /* namespace of the Prometheus that scrapes :9404, allowed by the
                                    * NetworkPolicy; NULL: none besides the control plane's */
} render_opts;

/* Names shared with the workers (pods are <sts>-<ordinal>). */
#define RENDER_BROKER_STS      "kafka-broker"
#define RENDER_CONTROLLER_STS  "kafka-controller"
#define RENDER_BOOTSTRAP_SVC   "kafka-bootstrap"
#define RENDER_CONFIGMAP       "kafka-config"
#define RENDER_CONTROLLER_BASE_ID 1000
#define RENDER_DATA_DIR        "/var/lib/kafka/data"

/* cluster: the typed desired spec (core/cluster.h); plane: the data plane's
 * spec or NULL (zones: ["a","b","c"]). Returns a JSON array of complete
 * objects in apply order (Namespace first), or NULL with err filled.
 * Deterministic. */
json_t *render_cluster(const cluster_spec *cluster, const json_t *plane, const render_opts *opts, char *err,
                       size_t errlen);
/* The same from the API's cluster JSON as GET /v1/clusters/{id} returns it
 * (id, tenant_id, brokers, storage_gib, status.kafka_version,
 * status.availability, config, external_access, tiered_storage): for the
 * renderer's tests, golden files and the object matrix. */
json_t *render_cluster_json(const json_t *cluster, const json_t *plane, const render_opts *opts, char *err,
                            size_t errlen);
/* Stable file name for an object, e.g. "05-statefulset-kafka-broker.json". */
void render_filename(const json_t *obj, int index, char *out, size_t cap);
/* The 22-char base64url KRaft cluster id, derived from the cluster id (stable for the cluster's life). */
void render_kraft_cluster_id(const char *cluster_id, char out[23]);
/* "sp-<cluster id>" into out; 0, or -1 if it does not fit. */
int render_namespace(const char *cluster_id, char *out, size_t cap);

#endif
