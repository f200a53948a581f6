/* pods.c — see pods.h. */
#define _GNU_SOURCE
#include "pods.h"
#include "../core/cluster.h"

#include <stdio.h>
#include <string.h>

static const char *pname(const json_t *pod)
{
    const char *n = json_string_value(json_object_get(json_object_get(pod, "metadata"), "name"));
    return n ? n : "?";
}

const char *pod_uid(const json_t *pod)
{
    const char *u = json_string_value(json_object_get(json_object_get(pod, "metadata"), "uid"));
    return u ? u : "";
}

bool pod_terminating(const json_t *pod)
{
    return json_object_get(json_object_get(pod, "metadata"), "deletionTimestamp") != NULL;
}

bool pod_ready(const json_t *pod)
{
    if (!pod || pod_terminating(pod)) return false;
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(json_object_get(pod, "status"), "conditions"), i, c) {
        const char *t = json_string_value(json_object_get(c, "type"));
        const char *s = json_string_value(json_object_get(c, "status"));
        if (t && s && strcmp(t, "Ready") == 0) return strcmp(s, "True") == 0;
    }
    return false;
}

const char *pod_kafka_image(const json_t *pod)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(json_object_get(pod, "spec"), "containers"), i, c) {
        const char *n = json_string_value(json_object_get(c, "name"));
        const char *img = json_string_value(json_object_get(c, "image"));
        if (n && img && strcmp(n, "kafka") == 0) return img;
    }
    return "";
}

const char *pod_kafka_release(const json_t *pod)
{
    const char *img = pod_kafka_image(pod);
    const char *colon = strrchr(img, ':');
    if (!colon || strchr(colon, '/')) return NULL;
    const char *rel = cluster_resolve_version(colon + 1);
    /* only a full release: a minor alias in a tag is not what runs */
    return rel && strcmp(rel, colon + 1) == 0 ? rel : NULL;
}

bool pod_failing(const json_t *pod, char *reason, size_t rcap, char *msg, size_t mcap)
{
    static const char *const hopeless[] = {"ImagePullBackOff", "ErrImagePull", "InvalidImageName",
                                           "CreateContainerConfigError", NULL};
    const json_t *st = json_object_get(pod, "status");
    const char *lists[] = {"initContainerStatuses", "containerStatuses"};
    for (int l = 0; l < 2; l++) {
        size_t i;
        json_t *cs;
        json_array_foreach(json_object_get(st, lists[l]), i, cs) {
            json_t *w = json_object_get(json_object_get(cs, "state"), "waiting");
            const char *why = json_string_value(json_object_get(w, "reason"));
            if (!why) continue;
            bool fail = strcmp(why, "CrashLoopBackOff") == 0 &&
                        json_integer_value(json_object_get(cs, "restartCount")) >= POD_CRASH_RESTARTS;
            for (int h = 0; hopeless[h] && !fail; h++) fail = strcmp(why, hopeless[h]) == 0;
            if (!fail) continue;
            const char *m = json_string_value(json_object_get(w, "message"));
            const char *cn = json_string_value(json_object_get(cs, "name"));
            snprintf(reason, rcap, "%s", why);
            snprintf(msg, mcap, "pod %s: container %s is in %s%s%s", pname(pod), cn ? cn : "?", why,
                     m && *m ? ": " : "", m && *m ? m : "");
            return true;
        }
    }
    return false;
}
