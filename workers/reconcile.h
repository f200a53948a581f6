/* reconcile.h — the cluster reconciler. */
#ifndef SP_RECONCILE_H
#define SP_RECONCILE_H

#include "../store/store.h"
#include "kube/render.h"
#include "breaker.h"
#include <pthread.h>

typedef struct reconciler {
    store_t *store;
    char manifests_dir[1100];     /* DATA_DIR/manifests */
    render_opts render;
    unsigned char master_key[32]; /* opens data-plane credentials */
    breakers breakers;            /* one circuit per data plane */
    pthread_key_t clients;        /* per worker thread: a client per data plane, reused */
} reconciler;

void reconciler_init(reconciler *rc);
void reconciler_fini(reconciler *rc);

/* pool.h's reconcile_fn for keys "cluster/<id>". */
int cluster_reconcile(void *ctx, const char *key);
/* A cluster row as the API shows it (spec fields, id, tenant_id, status
 * with phase), which is what the renderer takes. */
json_t *reconcile_cluster_view(const store_res *r);

#endif
