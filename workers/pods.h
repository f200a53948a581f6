/* pods.h — what streamplane reads from a Kafka pod (a Kubernetes Pod
 * object as the API server returns it): readiness, the release it runs,
 * and whether it is failing in a way that waiting will not cure. Pure
 * functions over JSON; no client. */
#ifndef SP_WORKERS_PODS_H
#define SP_WORKERS_PODS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Ready condition True and not being deleted. */
bool pod_ready(const json_t *pod);
const char *pod_uid(const json_t *pod);
bool pod_terminating(const json_t *pod);
/* The kafka container's image ("" if none). */
const char *pod_kafka_image(const json_t *pod);
/* The release the kafka container's image tag names ("3.9.1"), or NULL
 * when the tag is no release streamplane knows. Borrowed (static table). */
const char *pod_kafka_release(const json_t *pod);

/* A container of the pod that cannot start and will not by waiting:
 * ImagePullBackOff, ErrImagePull, InvalidImageName, CreateContainerConfigError,
 * or CrashLoopBackOff after at least POD_CRASH_RESTARTS restarts (a broker
 * that crashes once while its controllers start is not a failure). Fills
 * reason ("ImagePullBackOff") and a sentence naming the pod; false if none. */
#define POD_CRASH_RESTARTS 3
bool pod_failing(const json_t *pod, char *reason, size_t rcap, char *msg, size_t mcap);

#endif
