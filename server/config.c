/* config.c — flags and STREAMPLANE_* environment variables; flags win. */
#define _GNU_SOURCE
#include "server.h"
#include "cors.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void config_defaults(config *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->listen, sizeof c->listen, "127.0.0.1:8080");
    snprintf(c->data_dir, sizeof c->data_dir, "./data");
    c->workers = 4;
    c->resync_seconds = 300;
    c->health_seconds = 30;
    c->health_concurrency = 0;      /* 0: half the workers, at least 1 */
    c->kafka_timeout_ms = 5000;
    c->kafka_clients = 64;
    c->stall_seconds = 600;
    c->reassign_batch_moves = 50;
    c->reassign_throttle_bytes = 50L << 20;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    c->http_threads = n > 2 ? (int)n : 2;
    snprintf(c->log_level, sizeof c->log_level, "info");
    c->max_body = 1 << 20;
    c->rate_limit = 50;
    c->rate_burst = 100;
    c->durable = true;
    c->max_client_connections = 64;
    c->request_timeout_s = 30;
    c->auth_failure_limit = 30;
}

void config_usage(FILE *out)
{
    fputs(
        "usage: streamplane serve [options]\n"
        "       streamplane routes      print every route (METHOD PATH)\n"
        "       streamplane version\n"
        "\n"
        "Options (each also settable as the environment variable shown; flags win):\n"
        "  --listen HOST:PORT      address to serve on          STREAMPLANE_LISTEN (127.0.0.1:8080)\n"
        "  --data-dir DIR          SQLite store, admin token,   STREAMPLANE_DATA_DIR (./data)\n"
        "                          master key, manifests\n"
        "  --workers N             reconcile worker threads;    STREAMPLANE_WORKERS (4)\n"
        "                          0 records changes without acting on them\n"
        "  --resync-seconds N      wake every cluster this      STREAMPLANE_RESYNC_SECONDS (300)\n"
        "                          often, 0 = only on changes\n"
        "  --health-seconds N      check a settled cluster's    STREAMPLANE_HEALTH_SECONDS (30)\n"
        "                          Kafka this often (10% jitter), 0 = never\n"
        "  --health-concurrency N  health checks at once        STREAMPLANE_HEALTH_CONCURRENCY\n"
        "                          (half the workers, at least 1)\n"
        "  --kafka-timeout-ms N    one Kafka metadata read      STREAMPLANE_KAFKA_TIMEOUT_MS (5000)\n"
        "  --kafka-clients N       librdkafka clients kept      STREAMPLANE_KAFKA_CLIENTS (64)\n"
        "  --stall-seconds N       a wait longer than this      STREAMPLANE_STALL_SECONDS (600)\n"
        "                          (a LoadBalancer with no address, a namespace stuck Terminating)\n"
        "                          sets the cluster's Stalled condition; 0 = never\n"
        "  --reassign-batch-moves N  replica moves per         STREAMPLANE_REASSIGN_BATCH_MOVES (50)\n"
        "                          reassignment batch (scale-out, scale-in, rebalance)\n"
        "  --reassign-throttle-bytes N  replication throttle  STREAMPLANE_REASSIGN_THROTTLE_BYTES\n"
        "                          while partitions move, bytes/s (52428800)\n"
        "                          (one per cluster; when full, one for a\n"
        "                          single check)\n"
        "  --http-threads N        HTTP threads                 STREAMPLANE_HTTP_THREADS (CPUs, at least 2)\n"
        "  --log-format json|text  log lines as JSON or text    STREAMPLANE_LOG_FORMAT (json)\n"
        "  --log-level LEVEL       debug|info|warn|error        STREAMPLANE_LOG_LEVEL (info)\n"
        "  --max-body-bytes N      largest request body         STREAMPLANE_MAX_BODY_BYTES (1048576)\n"
        "  --rate-limit R          requests/s per credential,   STREAMPLANE_RATE_LIMIT (50)\n"
        "                          0 turns rate limiting off\n"
        "  --rate-burst N          bucket size                  STREAMPLANE_RATE_BURST (100)\n"
        "  --max-client-connections N  open connections from   STREAMPLANE_MAX_CLIENT_CONNECTIONS (64)\n"
        "                          one client address\n"
        "  --request-timeout-seconds N  a request must arrive  STREAMPLANE_REQUEST_TIMEOUT_SECONDS (30)\n"
        "                          in full within N s, else the connection is closed\n"
        "  --auth-failure-limit N  failed authentications per  STREAMPLANE_AUTH_FAILURE_LIMIT (30)\n"
        "                          client address and minute; then 429; 0 = off\n"
        "  --sync full|normal      fsync on every commit (full) STREAMPLANE_SYNC (full)\n"
        "                          or only at checkpoints\n"
        "  --docs-asset FILE       redoc.standalone.js for /docs STREAMPLANE_DOCS_ASSET\n"
        "                          (default: node_modules/redoc/bundles/ beside the build)\n"
        "  --cors-origins LIST     origins whose browser pages  STREAMPLANE_CORS_ORIGINS (none: off)\n"
        "                          may call the API, comma-separated (https://portal.example.com)\n"
        "  --tls-cert FILE         serve HTTPS with this PEM    STREAMPLANE_TLS_CERT\n"
        "                          certificate (chain) and\n"
        "  --tls-key FILE          this PEM private key         STREAMPLANE_TLS_KEY\n"
        "  --insecure-http         allow plain HTTP on an       STREAMPLANE_INSECURE_HTTP\n"
        "                          address other than loopback (tokens travel in clear)\n"
        "  --image-registry REPO   Kafka image repository; the  STREAMPLANE_IMAGE_REGISTRY\n"
        "                          image is REPO:<release>      (docker.io/apache/kafka)\n"
        "  --storage-class NAME    StorageClass of the brokers' STREAMPLANE_STORAGE_CLASS\n"
        "                          volumes (the data plane's default)\n"
        "  -h, --help              this text\n"
        "\n"
        "Secrets (environment only):\n"
        "  STREAMPLANE_ADMIN_TOKEN  operator bearer token; generated into DATA_DIR/admin-token when unset\n"
        "  STREAMPLANE_MASTER_KEY   64 hex chars or base64 of 32 bytes: encrypts data-plane credentials;\n"
        "                           generated into DATA_DIR/master.key (0600) when unset\n",
        out);
}

static int int_opt(const char *name, const char *v, long lo, long hi, int *dst)
{
    char *end;
    long n = strtol(v, &end, 10);
    if (!*v || *end || n < lo || n > hi) {
        fprintf(stderr, "streamplane: --%s wants an integer from %ld to %ld, got '%s'\n", name, lo, hi, v);
        return -1;
    }
    *dst = (int)n;
    return 0;
}

static int set(config *c, const char *name, const char *v)
{
    char *end;
    if (strcmp(name, "listen") == 0) {
        if (!strrchr(v, ':')) { fprintf(stderr, "streamplane: --listen wants HOST:PORT, got '%s'\n", v); return -1; }
        snprintf(c->listen, sizeof c->listen, "%s", v);
    } else if (strcmp(name, "data-dir") == 0) {
        snprintf(c->data_dir, sizeof c->data_dir, "%s", v);
    } else if (strcmp(name, "workers") == 0 || strcmp(name, "http-threads") == 0 ||
               strcmp(name, "rate-burst") == 0 || strcmp(name, "max-body-bytes") == 0) {
        long n = strtol(v, &end, 10);
        long lo = strcmp(name, "max-body-bytes") == 0 ? 1024 : strcmp(name, "workers") == 0 ? 0 : 1;
        long hi = strcmp(name, "max-body-bytes") == 0 ? 64L << 20 : 1024;
        if (!*v || *end || n < lo || n > hi) {
            fprintf(stderr, "streamplane: --%s wants an integer from %ld to %ld, got '%s'\n", name, lo, hi, v);
            return -1;
        }
        if (name[0] == 'w') c->workers = (int)n;
        else if (name[0] == 'h') c->http_threads = (int)n;
        else if (name[0] == 'r') c->rate_burst = (int)n;
        else c->max_body = n;
    } else if (strcmp(name, "resync-seconds") == 0) {
        long n = strtol(v, &end, 10);
        if (!*v || *end || n < 0 || n > 86400) {
            fprintf(stderr, "streamplane: --resync-seconds wants 0 to 86400, got '%s'\n", v);
            return -1;
        }
        c->resync_seconds = (int)n;
    } else if (strcmp(name, "health-seconds") == 0) {
        return int_opt(name, v, 0, 86400, &c->health_seconds);
    } else if (strcmp(name, "health-concurrency") == 0) {
        return int_opt(name, v, 1, 1024, &c->health_concurrency);
    } else if (strcmp(name, "kafka-timeout-ms") == 0) {
        return int_opt(name, v, 100, 120000, &c->kafka_timeout_ms);
    } else if (strcmp(name, "max-client-connections") == 0) {
        return int_opt(name, v, 1, 100000, &c->max_client_connections);
    } else if (strcmp(name, "request-timeout-seconds") == 0) {
        return int_opt(name, v, 1, 3600, &c->request_timeout_s);
    } else if (strcmp(name, "auth-failure-limit") == 0) {
        return int_opt(name, v, 0, 1000000, &c->auth_failure_limit);
    } else if (strcmp(name, "kafka-clients") == 0) {
        return int_opt(name, v, 1, 4096, &c->kafka_clients);
    } else if (strcmp(name, "stall-seconds") == 0) {
        return int_opt(name, v, 0, 86400, &c->stall_seconds);
    } else if (strcmp(name, "reassign-batch-moves") == 0) {
        return int_opt(name, v, 1, 100000, &c->reassign_batch_moves);
    } else if (strcmp(name, "reassign-throttle-bytes") == 0) {
        long long x = strtoll(v, &end, 10);
        if (!*v || *end || x < 1024 || x > (1LL << 40)) {
            fprintf(stderr, "streamplane: --reassign-throttle-bytes wants bytes per second (1024 to 2^40), got '%s'\n", v);
            return -1;
        }
        c->reassign_throttle_bytes = (long)x;
        return 0;
    } else if (strcmp(name, "rate-limit") == 0) {
        double r = strtod(v, &end);
        if (!*v || *end || r < 0 || r > 1e6) {
            fprintf(stderr, "streamplane: --rate-limit wants requests per second (0 = off), got '%s'\n", v);
            return -1;
        }
        c->rate_limit = r;
    } else if (strcmp(name, "log-format") == 0) {
        if (strcmp(v, "json") && strcmp(v, "text")) {
            fprintf(stderr, "streamplane: --log-format wants json or text\n");
            return -1;
        }
        c->log_text = strcmp(v, "text") == 0;
    } else if (strcmp(name, "log-level") == 0) {
        if (strcmp(v, "debug") && strcmp(v, "info") && strcmp(v, "warn") && strcmp(v, "error")) {
            fprintf(stderr, "streamplane: --log-level wants debug, info, warn or error\n");
            return -1;
        }
        snprintf(c->log_level, sizeof c->log_level, "%s", v);
    } else if (strcmp(name, "sync") == 0) {
        if (strcmp(v, "full") && strcmp(v, "normal")) {
            fprintf(stderr, "streamplane: --sync wants full or normal\n");
            return -1;
        }
        c->durable = strcmp(v, "full") == 0;
    } else if (strcmp(name, "docs-asset") == 0) {
        snprintf(c->docs_asset, sizeof c->docs_asset, "%s", v);
    } else if (strcmp(name, "cors-origins") == 0) {
        char err[300];
        if (strlen(v) >= sizeof c->cors_origins || cors_parse(v, err, sizeof err) != 0) {
            fprintf(stderr, "streamplane: --cors-origins: %s\n", strlen(v) >= sizeof c->cors_origins ? "too long" : err);
            return -1;
        }
        snprintf(c->cors_origins, sizeof c->cors_origins, "%s", v);
    } else if (strcmp(name, "tls-cert") == 0 || strcmp(name, "tls-key") == 0) {
        char *dst = name[4] == 'c' ? c->tls_cert : c->tls_key;
        snprintf(dst, sizeof c->tls_cert, "%s", v);
    } else if (strcmp(name, "insecure-http") == 0) {
        if (strcmp(v, "1") && strcmp(v, "true") && strcmp(v, "0") && strcmp(v, "false")) {
            fprintf(stderr, "streamplane: STREAMPLANE_INSECURE_HTTP wants true or false\n");
            return -1;
        }
        c->insecure_http = v[0] == '1' || v[0] == 't';
    } else if (strcmp(name, "image-registry") == 0 || strcmp(name, "storage-class") == 0) {
        bool reg = name[0] == 'i';
        size_t cap = reg ? sizeof c->image_registry : sizeof c->storage_class;
        size_t n = strlen(v);
        bool ok = n > 0 && n < cap;
        for (const char *p = v; ok && *p; p++)   /* an image reference or a DNS subdomain: no spaces, no quotes */
            ok = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || (reg && *p >= 'A' && *p <= 'Z') ||
                 strchr(reg ? "-._/:@" : "-.", *p);
        if (!ok) {
            fprintf(stderr, "streamplane: --%s wants %s, got '%s'\n", name,
                    reg ? "an image repository such as registry.example/kafka" : "a StorageClass name", v);
            return -1;
        }
        snprintf(reg ? c->image_registry : c->storage_class, cap, "%s", v);
    }
    return 0;
}

static const struct option OPTS[] = {
    {"listen", required_argument, 0, 0},      {"data-dir", required_argument, 0, 0},
    {"workers", required_argument, 0, 0},     {"http-threads", required_argument, 0, 0},
    {"resync-seconds", required_argument, 0, 0},  {"health-seconds", required_argument, 0, 0},
    {"health-concurrency", required_argument, 0, 0}, {"kafka-timeout-ms", required_argument, 0, 0},
    {"kafka-clients", required_argument, 0, 0}, {"stall-seconds", required_argument, 0, 0},
    {"reassign-batch-moves", required_argument, 0, 0}, {"reassign-throttle-bytes", required_argument, 0, 0},
    {"log-format", required_argument, 0, 0},  {"log-level", required_argument, 0, 0},
    {"max-body-bytes", required_argument, 0, 0}, {"rate-limit", required_argument, 0, 0},
    {"rate-burst", required_argument, 0, 0},  {"sync", required_argument, 0, 0},
    {"docs-asset", required_argument, 0, 0},  {"max-client-connections", required_argument, 0, 0},
    {"request-timeout-seconds", required_argument, 0, 0}, {"auth-failure-limit", required_argument, 0, 0},
    {"cors-origins", required_argument, 0, 0}, {"tls-cert", required_argument, 0, 0},
    {"tls-key", required_argument, 0, 0},     {"insecure-http", no_argument, 0, 'i'},
    {"image-registry", required_argument, 0, 0}, {"storage-class", required_argument, 0, 0},
    {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0},
};

int config_parse(config *c, int argc, char **argv)
{
    for (int i = 0; OPTS[i].name; i++) {
        if (OPTS[i].has_arg == no_argument && OPTS[i].val != 'i') continue;
        char env[64] = "STREAMPLANE_";
        for (const char *p = OPTS[i].name; *p; p++) {
            size_t n = strlen(env);
            env[n] = *p == '-' ? '_' : (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
            env[n + 1] = 0;
        }
        const char *v = getenv(env);
        if (v && *v && set(c, OPTS[i].name, v) != 0) {
            fprintf(stderr, "streamplane: (from %s)\n", env);
            return -1;
        }
    }
    optind = 1;
    int idx, ch;
    while ((ch = getopt_long(argc, argv, "h", OPTS, &idx)) != -1) {
        if (ch == 'h') { config_usage(stdout); return 1; }
        if (ch == 'i') { c->insecure_http = true; continue; }
        if (ch != 0) { config_usage(stderr); return -1; }
        if (set(c, OPTS[idx].name, optarg) != 0) return -1;
    }
    if (optind < argc) {
        fprintf(stderr, "streamplane: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    if (!c->tls_cert[0] != !c->tls_key[0]) {
        fprintf(stderr, "streamplane: --tls-cert and --tls-key go together\n");
        return -1;
    }
    return 0;
}

/* Exactly 64 hex digits, or exactly the 44 characters of standard base64
 * (with its one '=') of 32 bytes; nothing else (no sign, space, or short,
 * long or non-canonical encoding slips through). */
int config_parse_master_key(const char *s, unsigned char out[32])
{
    static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = strlen(s);
    if (n == 64) {
        for (size_t i = 0; i < 64; i++)
            if (!strchr("0123456789abcdefABCDEF", s[i]) || !s[i]) return -1;
        for (int i = 0; i < 32; i++) {
            char h[3] = {s[2 * i], s[2 * i + 1], 0};
            out[i] = (unsigned char)strtoul(h, NULL, 16);
        }
        return 0;
    }
    if (n != 44 || s[43] != '=') return -1;
    for (size_t i = 0; i < 43; i++)
        if (!s[i] || !strchr(B64, s[i])) return -1;
    if ((strchr(B64, s[42]) - B64) & 3) return -1;     /* the unused low bits must be 0 */
    unsigned char buf[48];
    if (sp_b64_decode(s, buf, sizeof buf) != 32) return -1;
    memcpy(out, buf, 32);
    sp_wipe(buf, sizeof buf);
    return 0;
}
