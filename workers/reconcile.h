/* reconcile.h — the cluster reconciler. */
#ifndef SP_RECONCILE_H
#define SP_RECONCILE_H

#include "../store/store.h"
#include "kube/render.h"
#include "breaker.h"
#include "kafka/health.h"
#include <pthread.h>

typedef struct reconciler {
    store_t *store;
    char manifests_dir[1100];     /* DATA_DIR/manifests */
    render_opts render;
    unsigned char master_key[32]; /* opens data-plane credentials */
    breakers breakers;            /* one circuit per data plane */
    pthread_key_t clients;        /* per worker thread: a client per data plane, reused */
    kafka_pool *kafka;            /* librdkafka handles (bounded cache); NULL: Kafka is never read */
    int kafka_timeout_ms;         /* one metadata read */
    int health_interval_ms;       /* periodic check of a settled cluster; 0: none */
    int health_slots;             /* health checks running at once, at most */
    int health_busy;              /* running now (atomic) */
    int stall_ms;                 /* a wait longer than this sets Stalled=True; 0: never */
    int reassign_batch_moves;     /* replica moves per reassignment batch; 0: reassign.h's default */
    long reassign_throttle_bytes; /* replication throttle while moving, bytes/s; 0: the default */
} reconciler;

void reconciler_init(reconciler *rc);
void reconciler_fini(reconciler *rc);

/* pool.h's reconcile_fn for keys "cluster/<id>". */
int cluster_reconcile(void *ctx, const char *key);
#endif
