/* server.h — configuration and the running HTTP service. */
#ifndef SP_SERVER_H
#define SP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include "../api/api.h"
#include "metrics.h"
#include "ratelimit.h"

#define SP_VERSION "0.1.0"

typedef struct config {
    char listen[300];            /* HOST:PORT */
    char data_dir[1024];
    int workers;
    int resync_seconds;
    int health_seconds;          /* Kafka check of a settled cluster; 0 = never */
    int health_concurrency;      /* 0: half the workers, at least 1 */
    int kafka_timeout_ms;        /* one metadata read */
    int kafka_clients;           /* librdkafka handles kept */
    int stall_seconds;           /* a wait longer than this sets Stalled; 0 = never */
    int reassign_batch_moves;    /* replica moves per reassignment batch */
    long reassign_throttle_bytes; /* replication throttle while partitions move, bytes/s */
    int http_threads;
    bool log_text;
    char log_level[8];
    long max_body;               /* bytes */
    double rate_limit;           /* requests/s per credential; 0 = off */
    int rate_burst;
    bool durable;                /* fsync every commit (synchronous=FULL) */
    int max_client_connections;  /* open connections per client address */
    int request_timeout_s;       /* a request must arrive in full within this */
    int auth_failure_limit;      /* failed authentications per client address per minute; 0 = off */
    char docs_asset[1024];
    char cors_origins[2048];     /* comma-separated; empty: CORS off */
    char tls_cert[1024], tls_key[1024];  /* PEM files; both or neither */
    bool insecure_http;          /* plain HTTP on a non-loopback address */
    /* What the renderer puts into every cluster's objects; the workers apply
     * them and GET /v1/clusters/{id}/manifests shows them (one copy). */
    char image_registry[256];    /* "" : docker.io/apache/kafka */
    char storage_class[128];     /* "" : the data plane's default */
} config;

void config_defaults(config *c);
/* Applies STREAMPLANE_* environment variables, then argv flags. Returns 0,
 * or 1 when --help was printed, or -1 after printing an error. */
int config_parse(config *c, int argc, char **argv);
void config_usage(FILE *out);
/* The master key: 64 hex digits or base64 (44 characters) of 32 bytes; 0,
 * or -1 for anything else. */
int config_parse_master_key(const char *s, unsigned char out[32]);

typedef struct server {
    config cfg;
    api_env env;
    metrics *metrics;
    ratelimit *rl;
    char admin_token[128];
    struct MHD_Daemon *daemon;
    int port;
    long inflight;               /* requests being processed (atomic) */
    void *idem;                  /* in-flight idempotency keys */
    struct connwatch *watch;     /* request arrival deadlines */
    ratelimit *authfail;         /* failed authentications per client address */
    char *tls_cert_pem, *tls_key_pem;  /* read at start, kept while serving */
} server;

int server_start(server *s);     /* binds and starts serving */
void server_stop(server *s);     /* stop accepting, finish in-flight, stop */
server *server_of(const api_env *env);

#endif
