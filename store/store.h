/* store.h — the only door to SQLite.
 *
 * One store_t per process; each thread gets its own connection (created on
 * first use, closed when the thread exits). Every write runs inside one
 * transaction the caller opens with store_begin(); reads may run without one.
 * Nothing outside store/ contains SQL. */
#ifndef SP_STORE_H
#define SP_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include "../common/util.h"

typedef struct store store_t;

enum {
    ST_OK = 0,
    ST_NOTFOUND = 1,
    ST_CONFLICT = 2,   /* unique constraint: name taken, key seen */
    ST_STALE = 3,      /* resource_version did not match */
    ST_BUSY = 4,       /* database locked past the busy timeout */
    ST_CONSTRAINT = 5, /* another constraint: a row it refers to is missing, a value the schema forbids */
    ST_ERROR = -1,
};

/* A sentence for a store code, and whether trying again later can succeed
 * (ST_BUSY: another writer held the database past the busy timeout). */
const char *store_strerror(int rc);
bool store_transient(int rc);

#define SP_NAME_MAX 64

typedef enum { K_TENANT = 0, K_DATA_PLANE = 1, K_CLUSTER = 2, K__COUNT } store_kind;

/* A versioned resource row: the client's spec, the server's status, and
 * the columns the store derives for queries. */
typedef struct store_res {
    int64_t seq;
    char id[SP_ID_MAX];
    char tenant_id[SP_ID_MAX];     /* clusters: owner; tenants: own id; data planes: "" */
    char name[SP_NAME_MAX];
    json_t *spec;                  /* owned */
    json_t *status;                /* owned */
    int64_t generation;
    int64_t resource_version;
    char created_at[SP_TS_MAX];
    char updated_at[SP_TS_MAX];
    /* clusters only */
    int64_t brokers, storage_gib;
    char data_plane_id[SP_ID_MAX];
    char phase[16];
    /* data planes only: encrypted credentials */
    unsigned char *secret;
    size_t secret_len;
} store_res;

typedef struct store_op {
    int64_t seq;
    char id[SP_ID_MAX];
    char cluster_id[SP_ID_MAX];
    char tenant_id[SP_ID_MAX];
    char type[24];
    char state[16];
    int progress_percent;
    int64_t target_generation;
    json_t *steps;                 /* owned, array */
    json_t *error;                 /* owned or NULL */
    json_t *changes;               /* owned: {field: {from, to}} */
    json_t *spec_before;           /* owned or NULL: spec to restore on cancel */
    json_t *plan;                  /* owned or NULL: the steps still to run and where the
                                      operation stands (core/plan.h); NULL: no plan */
    char created_at[SP_TS_MAX];
    char updated_at[SP_TS_MAX];
} store_op;

typedef struct store_key {
    int64_t seq;
    char id[SP_ID_MAX];
    char tenant_id[SP_ID_MAX];
    char name[SP_NAME_MAX];
    unsigned char salt[16];
    unsigned char hash[32];
    char created_at[SP_TS_MAX];
    char expires_at[SP_TS_MAX];    /* "" when none */
    char revoked_at[SP_TS_MAX];    /* "" when active */
} store_key;

typedef struct store_idem {
    char body_hash[65];
    int status;
    char location[320];
    char op_location[256];
    char etag[64];
    char *body;                    /* malloc'd */
} store_idem;

store_t *store_open(const char *path, bool durable_fsync, char *err, size_t errlen);
void store_close(store_t *st);
int store_schema_version(store_t *st);

int store_begin(store_t *st);      /* BEGIN IMMEDIATE on this thread's connection */
int store_commit(store_t *st);
void store_rollback(store_t *st);
bool store_in_tx(store_t *st);
/* Readiness (/readyz): a read on this thread's connection, and the database
 * file writable by this process. Writes nothing. */
int store_ping(store_t *st);
const char *store_errmsg(store_t *st);

/* Versioned resources. tenant_scope limits to one tenant's rows (NULL = all). */
void store_res_clear(store_res *r);
int store_res_insert(store_t *st, store_kind k, store_res *r);   /* sets seq, rv=1 */
int store_res_get(store_t *st, store_kind k, const char *id, const char *tenant_scope, store_res *out);
int store_res_list(store_t *st, store_kind k, const char *tenant_scope, int64_t after_seq,
                   int limit, store_res **out, int *n);
/* Writes spec/status/generation/derived columns; bumps resource_version and
 * updated_at. expect_rv > 0 makes it conditional (ST_STALE otherwise). */
int store_res_update(store_t *st, store_kind k, store_res *r, int64_t expect_rv);
int store_res_delete(store_t *st, store_kind k, const char *id);
void store_res_free_list(store_res *list, int n);

/* Aggregates. */
int store_tenant_usage(store_t *st, const char *tenant_id, int64_t *clusters,
                       int64_t *brokers, int64_t *storage_gib);
int store_count_clusters_on_plane(store_t *st, const char *data_plane_id, int64_t *n, int64_t *brokers);
int store_count_tenant_clusters(store_t *st, const char *tenant_id, int64_t *n);
/* Cluster counts per phase: calls cb for each (phase, count). */
int store_cluster_phase_counts(store_t *st, void (*cb)(const char *phase, int64_t n, void *arg), void *arg);

/* Operations. */
void store_op_clear(store_op *o);
int store_op_insert(store_t *st, store_op *o);
int store_op_get(store_t *st, const char *id, const char *tenant_scope, store_op *out);
int store_op_list(store_t *st, const char *tenant_scope, const char *cluster_id,
                  int64_t after_seq, int limit, store_op **out, int *n);
int store_op_update(store_t *st, store_op *o);
/* The oldest PENDING or RUNNING operation of a cluster ("" if none). */
int store_op_current(store_t *st, const char *cluster_id, char out[SP_ID_MAX]);
/* The newest PENDING or RUNNING operation of a cluster created after seq
 * ("" if none). */
int store_op_later_active(store_t *st, const char *cluster_id, int64_t seq, char out[SP_ID_MAX]);
/* Calls cb for every cluster. */
int store_cluster_ids(store_t *st, void (*cb)(void *arg, const char *cluster_id), void *arg);
/* Calls cb for each cluster with a PENDING or RUNNING operation. */
int store_clusters_with_active_ops(store_t *st, void (*cb)(void *arg, const char *cluster_id), void *arg);
/* Marks every PENDING or RUNNING operation of a cluster CANCELLED (superseded). */
int store_op_supersede_active(store_t *st, const char *cluster_id, const char *message);
void store_op_free_list(store_op *list, int n);
/* The active (PENDING or RUNNING) operations of a cluster whose target
 * generation is at most max_gen (0: any), oldest first, at most limit. */
int store_op_list_active(store_t *st, const char *cluster_id, int64_t max_gen, int limit, store_op **out, int *n);

/* API keys. */
int store_key_insert(store_t *st, const store_key *k);
int store_key_get(store_t *st, const char *id, const char *tenant_id, store_key *out);
int store_key_list(store_t *st, const char *tenant_id, int64_t after_seq, int limit,
                   store_key **out, int *n);
int store_key_revoke(store_t *st, const char *id, const char *tenant_id, const char *when);
int store_key_delete_tenant(store_t *st, const char *tenant_id);

/* Idempotency records (written in the same transaction as the change). */
int store_idem_get(store_t *st, const char *principal, const char *key, store_idem *out);
int store_idem_put(store_t *st, const char *principal, const char *key, const store_idem *in);
void store_idem_clear(store_idem *i);

/* ---- test hooks -------------------------------------------------------- */
/* The clock of the idempotency window (NULL: the real one). */
void store_set_clock(store_t *st, const sp_clock *c);
/* Fault injection: the nth statement step from now (1: the next), on any
 * thread, returns sqlite_rc (e.g. SQLITE_BUSY, SQLITE_NOMEM) instead of
 * running; 0 clears. For the error paths the real database cannot be made
 * to take on demand. */
void store_fault_step(store_t *st, int nth, int sqlite_rc);
/* Statement steps run so far by every thread (rows read, statements run):
 * what a query costs, for tests that bound it. */
int64_t store_steps(store_t *st);

#endif
