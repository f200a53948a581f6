/* storage.h — growing the brokers' volumes (issue 13, "Storage growth").
 *
 * A StatefulSet's volumeClaimTemplates cannot change once created, so the
 * template stays as the cluster was created (render.h) and each broker's
 * PersistentVolumeClaim (data-kafka-broker-<i>) is patched instead, as
 * Kubernetes volume expansion works: the claim's request goes up, the
 * volume's resizer grows the volume, and the claim's status.capacity
 * follows. One call does the next step and returns:
 *   1. every claim that must grow names a StorageClass that allows
 *      expansion (allowVolumeExpansion: true), else FAILED with that
 *      reason before any claim is touched;
 *   2. every claim below the size is patched;
 *   3. done when every claim's status.capacity reaches the size.
 * A claim whose file system can only grow while its pod is stopped shows
 * the condition FileSystemResizePending: the wait says so (it needs the
 * pod restarted through the safe roll). Claims are never shrunk. */
#ifndef SP_STORAGE_H
#define SP_STORAGE_H

#include <stdbool.h>
#include "kube/client.h"

typedef enum { SG_DONE = 0, SG_WAIT, SG_FAILED, SG_KUBE } storage_result;

typedef struct storage_ctx {
    /* in */
    kube_client *c;
    const char *ns;
    int brokers;                 /* claims of brokers 0..brokers-1 */
    long long gib;               /* the size they must reach */
    /* out */
    char msg[600];
    int percent;
    int wait_ms;
    int patched;                 /* claims patched by this call */
    int restart_pending;         /* claims waiting for their pod to restart */
    bool called;
    kube_rc krc;
    kube_err e;
} storage_ctx;

storage_result storage_grow_step(storage_ctx *x);

/* A Kubernetes quantity ("10Gi", "10737418240", "20G", "1.5Ti") in bytes;
 * -1 when it is not one. */
long long storage_quantity_bytes(const char *q);

#endif
