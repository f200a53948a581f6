/* jobs.c — see jobs.h. */
#define _GNU_SOURCE
#include "jobs.h"
#include "pods.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *job_object(const char *ns, const char *name, const char *cluster_id, const char *image, json_t *command)
{
    json_t *labels = json_pack("{s:s, s:s, s:s}", "app.kubernetes.io/managed-by", "streamplane",
                               "streamplane.dev/cluster", cluster_id, "streamplane.dev/job", name);
    json_t *container = json_pack(
        "{s:s, s:s, s:s, s:o, s:{s:b, s:{s:[s]}, s:b, s:i, s:{s:s}}}", "name", "tool", "image", image,
        "imagePullPolicy", "IfNotPresent", "command", command, "securityContext", "allowPrivilegeEscalation", 0,
        "capabilities", "drop", "ALL", "runAsNonRoot", 1, "runAsUser", 1000, "seccompProfile", "type",
        "RuntimeDefault");
    json_t *job = json_pack("{s:s, s:s, s:{s:s, s:s, s:O}, s:{s:i, s:i, s:{s:{s:O}, s:{s:s, s:[o]}}}}",
                     "apiVersion", "batch/v1", "kind", "Job", "metadata", "name", name, "namespace", ns,
                     "labels", labels, "spec", "backoffLimit", 0, "ttlSecondsAfterFinished", 3600,
                     "template", "metadata", "labels", labels, "spec", "restartPolicy", "Never", "containers",
                     container);
    json_decref(labels);
    return job;
}

void job_name(const char *what, const char *op_id, char *out, size_t cap)
{
    snprintf(out, cap, "sp-%s-%s", what, op_id);
    for (char *p = out; *p; p++) *p = (char)tolower((unsigned char)*p);
}

kube_rc job_read(kube_client *c, const char *ns, const char *name, job_state *state, char **log, kube_err *e)
{
    *log = NULL;
    json_t *job = NULL;
    kube_rc rc = kube_get(c, "batch/v1", "Job", ns, name, &job, e);
    if (rc == KUBE_NOT_FOUND) { *state = JOB_MISSING; return KUBE_OK; }
    if (rc != KUBE_OK) return rc;
    json_t *st = json_object_get(job, "status");
    *state = json_integer_value(json_object_get(st, "succeeded")) > 0 ? JOB_SUCCEEDED
           : json_integer_value(json_object_get(st, "failed")) > 0    ? JOB_FAILED
                                                                       : JOB_RUNNING;
    json_decref(job);
    char sel[200];
    snprintf(sel, sizeof sel, "job-name=%s", name);
    json_t *pods = NULL;
    if ((rc = kube_list(c, "v1", "Pod", ns, sel, &pods, e)) != KUBE_OK) return rc;
    json_t *p0 = json_array_get(pods, 0);
    char reason[64], msg[600];
    if (*state == JOB_RUNNING && p0 && pod_failing(p0, reason, sizeof reason, msg, sizeof msg)) {
        *state = JOB_FAILED;                    /* its pod cannot start: waiting will not help */
        *log = strdup(msg);
        json_decref(pods);
        return KUBE_OK;
    }
    if (*state == JOB_RUNNING) { json_decref(pods); return KUBE_OK; }
    const char *pod = json_string_value(json_object_get(json_object_get(p0, "metadata"), "name"));
    if (pod) rc = kube_pod_log(c, ns, pod, 50, log, e);
    json_decref(pods);
    if (rc == KUBE_NOT_FOUND || rc == KUBE_INVALID) rc = KUBE_OK;   /* no log to show */
    return rc;
}

kube_rc sts_kafka_image(kube_client *c, const char *ns, const char *sts, char *out, size_t cap, kube_err *e)
{
    out[0] = 0;
    json_t *o = NULL;
    kube_rc rc = kube_get(c, "apps/v1", "StatefulSet", ns, sts, &o, e);
    if (rc != KUBE_OK) return rc;
    size_t i;
    json_t *ct;
    json_array_foreach(json_object_get(json_object_get(json_object_get(json_object_get(o, "spec"), "template"),
                                                       "spec"), "containers"), i, ct) {
        const char *n = json_string_value(json_object_get(ct, "name"));
        const char *img = json_string_value(json_object_get(ct, "image"));
        if (n && img && strcmp(n, "kafka") == 0) snprintf(out, cap, "%s", img);
    }
    json_decref(o);
    return KUBE_OK;
}
