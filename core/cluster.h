/* cluster.h — what a Kafka cluster is meant to be: the typed desired spec
 * that the renderer takes, the releases streamplane can run, and the JSON
 * shape the API shows for a cluster row.
 *
 * One owner for these because the API (validation, answers), the workers
 * (rendering, applying) and GET /v1/clusters/{id}/manifests must agree on
 * them; before this file the renderer read the API's JSON and the API
 * borrowed its view from the reconciler. */
#ifndef SP_CORE_CLUSTER_H
#define SP_CORE_CLUSTER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include "../store/store.h"

typedef enum { AVAIL_SINGLE_ZONE = 0, AVAIL_MULTI_ZONE, AVAIL_INVALID } cluster_availability;
typedef enum { EXT_NONE = 0, EXT_NODEPORT, EXT_LOADBALANCER, EXT_INVALID } cluster_external;

/* A cluster's desired state, typed. The strings and config are borrowed
 * from the row (or JSON) it was read from and live as long as it does.
 * Size: a few pointers and integers; nothing is copied. */
typedef struct cluster_spec {
    const char *id, *tenant_id, *name;  /* NULL when absent */
    const char *kafka_version;          /* the resolved release, e.g. "3.9.1" */
    long long brokers, storage_gib;     /* 0 when absent */
    long long volume_template_gib;      /* the size the brokers' volumeClaimTemplates were created
                                           with (a StatefulSet's templates never change; grown
                                           claims are patched one by one); 0: storage_gib */
    cluster_availability availability;
    cluster_external external;
    bool tiered_storage;
    const json_t *config;               /* {name: string value} broker settings, or NULL */
    int64_t generation;
} cluster_spec;

/* From a cluster row: spec fields, with the release and availability that
 * status holds (decided at creation). */
void cluster_spec_from_row(const store_res *r, cluster_spec *out);
/* From the API's cluster JSON (GET /v1/clusters/{id}): the same fields.
 * Used by the renderer's tests and golden files; missing fields stay
 * NULL/0 and the renderer says which. */
void cluster_spec_from_json(const json_t *cluster, cluster_spec *out);

const char *cluster_availability_name(cluster_availability a);
cluster_availability cluster_availability_parse(const char *s);   /* AVAIL_INVALID if unknown */
const char *cluster_external_name(cluster_external e);
cluster_external cluster_external_parse(const char *s);           /* NULL: EXT_NONE */

/* The full release for a version string or a minor alias ("3.9" ->
 * "3.9.1"); NULL if unsupported. */
const char *cluster_resolve_version(const char *v);
/* <0, 0, >0 like strcmp, for resolved releases. */
int cluster_version_cmp(const char *a, const char *b);
/* The supported releases, for messages: "3.7.0-3.7.2, …". */
const char *cluster_versions_text(void);

/* A cluster row as the API shows it (spec fields, id, tenant_id, status
 * with phase, generation). borrow: built from the row's own spec and
 * status, which it changes (for a caller that answers and then clears the
 * row); else from copies. */
json_t *cluster_view(store_res *r, bool borrow);

#endif
