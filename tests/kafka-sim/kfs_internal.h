/* kfs_internal.h — types shared by the kafka-sim sources (not public).
 *
 * Why one internal header: the runtime (broker.c), the model (model.c), the
 * request handlers (handlers.c) and the wire codec (proto.c) all look at the
 * same cluster structures, and every access happens under the runtime mutex,
 * so plain structs with no accessor layer keep the code short and obvious.
 * Locking rule: every function declared here expects the caller to hold
 * rt->mu, except the kfs_rd_* / kfs_wr_* codec helpers, which touch no
 * shared state. */
#ifndef KFS_INTERNAL_H
#define KFS_INTERNAL_H

#include "kafka_sim.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- proto.c: bounds-checked reader and growable writer ---- */

/* A reader never reads past len: once a read would, `bad` is set and every
 * later read returns zero/NULL. Strings are copied into an arena freed by
 * kfs_rd_free, so handlers need no cleanup on their error paths. */
typedef struct kfs_rd {
    const uint8_t *p;
    size_t len, off;
    bool bad;
    void **arena;
    size_t narena, carena;
} kfs_rd;

void kfs_rd_init(kfs_rd *r, const void *p, size_t len);
void kfs_rd_free(kfs_rd *r);
int8_t kfs_rd_i8(kfs_rd *r);
int16_t kfs_rd_i16(kfs_rd *r);
int32_t kfs_rd_i32(kfs_rd *r);
int64_t kfs_rd_i64(kfs_rd *r);
bool kfs_rd_bool(kfs_rd *r);
uint32_t kfs_rd_uvarint(kfs_rd *r);
/* int16-length string; NULL when null (allowed only if nullable) or bad. */
char *kfs_rd_str(kfs_rd *r, bool nullable);
/* int32-length bytes, skipped. */
void kfs_rd_skip_bytes(kfs_rd *r);
/* Skips a flexible-version tagged-field section. */
void kfs_rd_skip_tags(kfs_rd *r);
/* int32 array count; -1 for a null array (only if nullable). A count that
 * cannot fit in the remaining bytes (each element >= min_elem bytes) sets bad. */
int32_t kfs_rd_array(kfs_rd *r, bool nullable, size_t min_elem);
/* An array of non-null strings: *n elements (-1 for a null array). The
 * array is calloc'd (caller frees it, not the strings, which kfs_rd_str
 * owns as usual); NULL when *n <= 0 or out of memory. */
char **kfs_rd_str_array(kfs_rd *r, bool nullable, int32_t *n);

/* Every public kfs_* function runs between these (broker.c). */
struct kfs_cluster;
void kfs_api_lock(struct kfs_cluster *c);
void kfs_api_unlock(struct kfs_cluster *c);

typedef struct kfs_wr {
    uint8_t *p;
    size_t len, cap;
    bool oom;
} kfs_wr;

void kfs_wr_free(kfs_wr *w);
void kfs_wr_i8(kfs_wr *w, int8_t v);
void kfs_wr_i16(kfs_wr *w, int16_t v);
void kfs_wr_i32(kfs_wr *w, int32_t v);
void kfs_wr_i64(kfs_wr *w, int64_t v);
void kfs_wr_bool(kfs_wr *w, bool v);
/* NULL writes the null string (length -1). */
void kfs_wr_str(kfs_wr *w, const char *s);
void kfs_wr_bytes(kfs_wr *w, const void *p, int32_t n);
/* Reserves an int32 (e.g. an array count) to fill later with kfs_wr_patch. */
size_t kfs_wr_mark(kfs_wr *w);
void kfs_wr_patch(kfs_wr *w, size_t at, int32_t v);

/* ---- model.c: the cluster model ---- */

typedef struct kfs_ids {
    int *v;
    int n;
} kfs_ids;

bool kfs_ids_has(const kfs_ids *s, int id);
int kfs_ids_add(kfs_ids *s, int id);
void kfs_ids_del(kfs_ids *s, int id);
void kfs_ids_free(kfs_ids *s);
int kfs_ids_copy(kfs_ids *dst, const int *v, int n);

typedef struct kfs_kv {
    char *name, *value;
} kfs_kv;

typedef struct kfs_kvs {
    kfs_kv *v;
    int n;
} kfs_kvs;

const char *kfs_kvs_get(const kfs_kvs *s, const char *name);
int kfs_kvs_set(kfs_kvs *s, const char *name, const char *value);
void kfs_kvs_free(kfs_kvs *s);

struct kfs_ent;

typedef struct kfs_listener {
    char *name, *host;
    int port;       /* as configured (0 = any) */
    int bound_port; /* while bound; else the last bound port */
    struct kfs_ent *ent;
} kfs_listener;

typedef struct kfs_broker {
    int id;
    char *rack;
    bool up;
    long long rejoin_at; /* monotonic ms; 0 = nothing pending */
    kfs_listener *ls;
    int nls;
    kfs_kvs configs; /* dynamic per-broker configs */
} kfs_broker;

typedef struct kfs_partition {
    int id;
    int leader;
    int epoch;
    kfs_ids replicas, isr;
    long long end_offset;
    long long size_bytes; /* -1: end_offset * 1 KiB */
    /* reassignment in progress when target.n > 0 */
    kfs_ids target, adding, removing;
    double bytes, done;
    long long last_tick;
} kfs_partition;

typedef struct kfs_topic {
    char *name;
    kfs_partition *parts;
    int nparts;
    kfs_kvs configs; /* dynamic topic configs */
} kfs_topic;

typedef struct kfs_offset {
    char *topic;
    int partition;
    long long offset;
} kfs_offset;

typedef struct kfs_group {
    char *id;
    kfs_offset *offs;
    int noffs;
} kfs_group;

typedef struct kfs_acl {
    int8_t rtype, pattern, op, perm;
    char *name, *principal, *host;
} kfs_acl;

typedef struct kfs_controller {
    int id;
    bool up;
    long long down_offset, down_since;
} kfs_controller;

struct kfs_cluster {
    kfs_runtime *rt;
    struct kfs_cluster *next;
    kfs_options opts;
    char *cluster_id;
    kfs_broker **brokers; /* sorted by id */
    int nbrokers;
    kfs_topic **topics;
    int ntopics;
    kfs_group **groups;
    int ngroups;
    kfs_acl *acls;
    int nacls;
    kfs_kvs default_broker_configs; /* dynamic cluster-wide broker configs ("" resource) */
    kfs_controller *ctrls;
    int nctrls;
    int quorum_leader, quorum_epoch;
    long long metadata_offset; /* bumped on every model change (quorum HighWatermark) */
};

long long kfs_now_ms(void);
kfs_broker *kfs_find_broker(kfs_cluster *c, int id);
kfs_topic *kfs_find_topic(kfs_cluster *c, const char *name);
kfs_group *kfs_find_group(kfs_cluster *c, const char *id);
/* Lowest id of an up broker, or -1. */
int kfs_controller_id(kfs_cluster *c);
kfs_listener *kfs_broker_listener(kfs_broker *b, const char *name);

/* Model transitions (model.c). */
void kfs_model_broker_down(kfs_cluster *c, kfs_broker *b);
void kfs_model_broker_up(kfs_cluster *c, kfs_broker *b, long long now);
/* Advances timers (rejoins, reassignment progress) to `now`. */
void kfs_model_tick(kfs_cluster *c, long long now);
/* Next time kfs_model_tick has work, or -1 for none. */
long long kfs_model_deadline(kfs_cluster *c, long long now);
void kfs_model_free(kfs_cluster *c);

/* Creates a topic: replicas round-robin over the candidate brokers (all, or
 * only up ones). assignment (nparts arrays) overrides. Returns a Kafka error
 * code (0, 36, 37, 38, 39...) and, for errors, a message in *msg (static). */
int kfs_model_create_topic(kfs_cluster *c, const char *name, int nparts, int repl,
                           const kfs_ids *assignment, bool only_up, bool validate_only,
                           const kfs_kvs *configs, const char **msg);
int kfs_model_delete_topic(kfs_cluster *c, const char *name);
int kfs_model_add_partitions(kfs_cluster *c, kfs_topic *t, int count, const kfs_ids *assignment,
                             bool validate_only, const char **msg);

/* Config catalogue (model.c). type: Kafka ConfigType (1 BOOLEAN .. 7 LIST). */
typedef struct kfs_config_def {
    const char *name;
    const char *dflt;
    int8_t type;
    bool dynamic;   /* brokers: may be set with AlterConfigs */
    bool read_only; /* brokers: static */
    const char *synonym; /* topics: the broker config that supplies the default */
} kfs_config_def;
const kfs_config_def *kfs_topic_config_defs(int *n);
const kfs_config_def *kfs_broker_config_defs(int *n);
/* Effective value and its ConfigSource (1 topic, 2 broker, 3 default broker,
 * 4 static broker, 5 default) of a topic or broker config. */
const char *kfs_topic_config(kfs_cluster *c, kfs_topic *t, const kfs_config_def *d, int8_t *source,
                             char *buf, size_t bufsz);
const char *kfs_broker_config(kfs_cluster *c, kfs_broker *b, const kfs_config_def *d, int8_t *source,
                              char *buf, size_t bufsz);

/* 0 or 40 INVALID_CONFIG with *msg (static). */
int kfs_check_topic_configs(const kfs_kvs *configs, const char **msg);
int kfs_check_broker_configs(const kfs_kvs *configs, const char **msg);

int kfs_model_reassign(kfs_cluster *c, kfs_topic *t, kfs_partition *p, const int *replicas, int n,
                       double bytes);

/* ---- broker.c: runtime, sockets, loop ---- */

struct kfs_runtime {
    pthread_mutex_t mu;
    pthread_t thread;
    int epfd, wakefd;
    bool stop;
    kfs_cluster *clusters;
    struct kfs_ent *ents;      /* live sockets */
    struct kfs_ent *graveyard; /* closed, freed by the loop thread */
};

/* Binds every listener of an up broker. 0 or -1 (errno). */
int kfs_broker_bind_all(kfs_cluster *c, kfs_broker *b);
/* Closes a broker's listen sockets and connections (listener NULL = all). */
void kfs_broker_close(kfs_cluster *c, kfs_broker *b, const char *listener);
/* Wakes the loop so it recomputes its timer. */
void kfs_runtime_wake(kfs_runtime *rt);

/* ---- handlers.c ---- */

typedef struct kfs_conn_ctx {
    kfs_cluster *c;
    int node_id;
    const char *listener;
} kfs_conn_ctx;

/* Handles one request frame (without its size prefix). Appends the response
 * frame (with its size prefix) to out. 0, or -1 to close the connection. */
int kfs_handle_request(const kfs_conn_ctx *ctx, const uint8_t *frame, size_t len, kfs_wr *out);

#endif
