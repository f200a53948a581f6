/* jobs.h — one-shot Kafka tools run as Kubernetes Jobs in a cluster's
 * namespace (DESIGN §6: what librdkafka 2.0.2 cannot do — the quorum's
 * leader, the metadata version, partition reassignment — runs as the
 * image's own shell tools), and their output read back through the pod's
 * log. Internal to workers/. */
#ifndef SP_WORKERS_JOBS_H
#define SP_WORKERS_JOBS_H

#include <jansson.h>
#include "kube/client.h"

/* A Job object running command (array of strings, stolen) in image, with
 * the restricted Pod Security profile the namespace enforces, one try, and
 * labels that tie it to the cluster. */
json_t *job_object(const char *ns, const char *name, const char *cluster_id, const char *image, json_t *command);

typedef enum { JOB_RUNNING = 0, JOB_SUCCEEDED, JOB_FAILED, JOB_MISSING } job_state;

/* The Job's state; once it finished, *log (malloc'd, or NULL) has its pod's
 * log (the last 50 lines). KUBE_OK, or the call that failed. */
kube_rc job_read(kube_client *c, const char *ns, const char *name, job_state *state, char **log, kube_err *e);

/* "sp-<what>-<op id, lower case>", a DNS-1123 label. */
void job_name(const char *what, const char *op_id, char *out, size_t cap);

/* The image of a StatefulSet's kafka container ("" when it has none). */
kube_rc sts_kafka_image(kube_client *c, const char *ns, const char *sts, char *out, size_t cap, kube_err *e);

#endif
