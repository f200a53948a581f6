/* topics.h — declared Kafka topics in the store (issue 14).
 *
 * A row is one topic of one cluster as the tenant declared it (spec, as
 * sent) and as the topic worker found it (status). Rows are keyed by seq;
 * (cluster_id, name) is unique among rows not DELETING, and a name may
 * have at most one DELETING row beside its live one at any time the API
 * allows (a DELETE of a DELETING row changes nothing). */
#ifndef SP_STORE_TOPICS_H
#define SP_STORE_TOPICS_H

#include "store.h"

#define SP_TOPIC_NAME_MAX 250      /* Kafka's limit is 249 characters */

typedef struct store_topic {
    int64_t seq;
    char cluster_id[SP_ID_MAX];
    char tenant_id[SP_ID_MAX];
    char name[SP_TOPIC_NAME_MAX];
    json_t *spec;                  /* owned: what the client sent */
    json_t *status;                /* owned: what the worker found */
    int64_t partitions;            /* desired */
    int64_t replication_factor;    /* desired, the default resolved */
    char phase[16];                /* core/topic.h names */
    int64_t generation;
    int64_t resource_version;
    char created_at[SP_TS_MAX];
    char updated_at[SP_TS_MAX];
} store_topic;

void store_topic_clear(store_topic *t);
void store_topic_free_list(store_topic *list, int n);
/* Sets seq, resource_version 1 and updated_at; ST_CONFLICT: the name is
 * taken by a live topic of the cluster. */
int store_topic_insert(store_t *st, store_topic *t);
/* The live row of that name, else the DELETING one (newest first). */
int store_topic_get(store_t *st, const char *cluster_id, const char *name, store_topic *out);
/* The row with that seq. */
int store_topic_get_seq(store_t *st, int64_t seq, store_topic *out);
/* A cluster's rows in seq order after after_seq, at most limit. */
int store_topic_list(store_t *st, const char *cluster_id, int64_t after_seq, int limit,
                     store_topic **out, int *n);
/* Writes spec, status, partitions, replication_factor, phase, generation
 * of row t->seq; bumps resource_version. expect_rv > 0: ST_STALE unless
 * the row is still at that version. */
int store_topic_update(store_t *st, store_topic *t, int64_t expect_rv);
int store_topic_delete(store_t *st, int64_t seq);
/* A tenant's live topics and their partitions (quotas). O(the tenant's
 * topics), bounded by its max_topics quota. */
int store_topic_usage(store_t *st, const char *tenant_id, int64_t *topics, int64_t *partitions);
/* The highest replication factor among a cluster's live topics (0: none):
 * a cluster may not shrink below it. */
int store_topic_max_rf(store_t *st, const char *cluster_id, int64_t *rf);
/* A live topic of the cluster other than name whose name equals name once
 * '.' and '_' are taken as one (Kafka refuses such a pair: their metric
 * names collide): its name in out, ST_NOTFOUND when there is none.
 * O(the cluster's topics). */
int store_topic_collision(store_t *st, const char *cluster_id, const char *name, char out[SP_TOPIC_NAME_MAX]);
/* Calls cb for every cluster that has topic rows. */
int store_topic_cluster_ids(store_t *st, void (*cb)(void *arg, const char *cluster_id), void *arg);

#endif
