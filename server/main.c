/* main.c — streamplane: the command line, start-up and shutdown.
 *
 * `serve` opens the store in the data directory, loads or creates the
 * operator token and the master key, starts the HTTP service and waits
 * for SIGTERM/SIGINT; then it stops accepting, lets in-flight requests
 * finish, and closes the store. */
#define _GNU_SOURCE
#include "server.h"
#include "log.h"
#include "routes.h"
#include "../workers/queue.h"
#include "../workers/pool.h"
#include "../workers/reconcile.h"
#include "../workers/kube/probe.h"
#include "../workers/cluster_health.h"
#include "../workers/balance.h"
#include "../workers/topics.h"
#include "../store/topics.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int ensure_dir(const char *d)
{
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", d);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') { *p = 0; mkdir(tmp, 0700); *p = '/'; }
    if (mkdir(tmp, 0700) != 0 && errno != EEXIST) return -1;
    struct stat sb;
    return stat(tmp, &sb) == 0 && S_ISDIR(sb.st_mode) ? 0 : -1;
}

/* Reads DIR/name, or creates it with `make` and mode 0600. */
static char *load_or_create(const char *dir, const char *name, char *(*make)(void), bool *created)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    *created = false;
    char *v = sp_read_file(path, NULL);
    if (v) {
        v[strcspn(v, "\r\n")] = 0;
        return v;
    }
    v = make();
    if (!v) return NULL;
    if (sp_write_file_atomic(path, v, strlen(v), 0600) != 0) { free(v); return NULL; }
    *created = true;
    return v;
}

static char *make_token(void)
{
    unsigned char r[32];
    char *out = malloc(64);
    if (!out || sp_random(r, sizeof r)) { free(out); return NULL; }
    memcpy(out, "spa_", 4);
    sp_b64url_encode(r, sizeof r, out + 4);
    return out;
}

static char *make_key(void)
{
    unsigned char r[32];
    char *out = malloc(65);
    if (!out || sp_random(r, sizeof r)) { free(out); return NULL; }
    sp_hex(r, 32, out);
    return out;
}

static void default_docs_asset(config *c, const char *argv0)
{
    if (c->docs_asset[0]) return;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return;
    exe[n] = 0;
    (void)argv0;
    char *d = dirname(exe);   /* .../build */
    snprintf(c->docs_asset, sizeof c->docs_asset, "%s/../node_modules/redoc/bundles/redoc.standalone.js", d);
}

static void wake_cluster(void *q, const char *cluster_id)
{
    char key[128];
    snprintf(key, sizeof key, "cluster/%s", cluster_id);
    queue_wake(q, key);
}

static void wake_topics(void *q, const char *cluster_id)
{
    char key[128];
    snprintf(key, sizeof key, "topics/%s", cluster_id);
    queue_wake(q, key);
}

static void resync_all(void *arg)
{
    server *s = arg;
    store_cluster_ids(s->env.store, wake_cluster, s->env.queue);
    store_topic_cluster_ids(s->env.store, wake_topics, s->env.queue);
}

/* The workers' one entry: each key goes to its reconciler. */
static int reconcile_key(void *ctx, const char *key)
{
    if (strncmp(key, "topics/", 7) == 0) return topics_reconcile(ctx, key);
    return cluster_reconcile(ctx, key);
}

static json_t *render_for_api(const void *ctx, const cluster_spec *c, const json_t *plane, char *err, size_t errlen)
{
    return render_cluster(c, plane, ctx, err, errlen);
}

static int cmd_serve(int argc, char **argv)
{
    static server s;     /* large; lives for the whole run */
    config_defaults(&s.cfg);
    int pc = config_parse(&s.cfg, argc, argv);
    if (pc != 0) return pc > 0 ? 0 : 2;
    log_level lvl = LOG_INFO;
    log_parse_level(s.cfg.log_level, &lvl);
    log_setup(s.cfg.log_text, lvl);
    default_docs_asset(&s.cfg, argv[0]);

    /* signals go to this thread only (sigwait below) */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (ensure_dir(s.cfg.data_dir) != 0) {
        log_msg(LOG_ERROR, "cannot create data directory %s: %s", s.cfg.data_dir, strerror(errno));
        return 1;
    }
    bool created;
    const char *tok = getenv("STREAMPLANE_ADMIN_TOKEN");
    if (tok && *tok) {
        if (strlen(tok) < 16 || strlen(tok) >= sizeof s.admin_token) {
            log_msg(LOG_ERROR, "STREAMPLANE_ADMIN_TOKEN must be 16 to 127 characters");
            return 1;
        }
        snprintf(s.admin_token, sizeof s.admin_token, "%s", tok);
    } else {
        char *t = load_or_create(s.cfg.data_dir, "admin-token", make_token, &created);
        if (!t || strlen(t) < 16 || strlen(t) >= sizeof s.admin_token) {
            log_msg(LOG_ERROR, "cannot read or create %s/admin-token", s.cfg.data_dir);
            free(t);
            return 1;
        }
        snprintf(s.admin_token, sizeof s.admin_token, "%s", t);
        free(t);
        log_emit(LOG_INFO, created ? "generated the operator token" : "using the operator token",
                 json_pack("{s:s+}", "path", s.cfg.data_dir, "/admin-token"));
    }
    const char *mk = getenv("STREAMPLANE_MASTER_KEY");
    char *mkf = NULL;
    if (!mk || !*mk) {
        mkf = load_or_create(s.cfg.data_dir, "master.key", make_key, &created);
        if (created) log_emit(LOG_INFO, "generated the master key",
                              json_pack("{s:s+}", "path", s.cfg.data_dir, "/master.key"));
        mk = mkf;
    }
    if (!mk || config_parse_master_key(mk, s.env.master_key) != 0) {
        log_msg(LOG_ERROR, "the master key must be 64 hex characters or base64 of 32 bytes");
        free(mkf);
        return 1;
    }
    free(mkf);

    char dbpath[1200], err[512];
    snprintf(dbpath, sizeof dbpath, "%s/streamplane.db", s.cfg.data_dir);
    s.env.store = store_open(dbpath, s.cfg.durable, err, sizeof err);
    if (!s.env.store) { log_msg(LOG_ERROR, "store: %s", err); return 1; }
    s.env.queue = queue_new();
    s.env.docs_asset = s.cfg.docs_asset;

    /* the workers: every unfinished cluster is woken at start */
    static reconciler rec;
    rec.store = s.env.store;
    memcpy(rec.master_key, s.env.master_key, sizeof rec.master_key);
    reconciler_init(&rec);
    s.env.probe_plane = kube_probe;
    snprintf(rec.manifests_dir, sizeof rec.manifests_dir, "%s/manifests", s.cfg.data_dir);
    /* one set of render options: what the workers apply is what the
     * manifests endpoint shows */
    rec.render.image_registry = s.cfg.image_registry[0] ? s.cfg.image_registry : NULL;
    rec.render.storage_class = s.cfg.storage_class[0] ? s.cfg.storage_class : NULL;
    /* one cache of librdkafka clients for the workers and the health endpoint */
    kafka_pool *kafka = kafka_pool_new(s.cfg.kafka_clients);
    rec.kafka = kafka;
    rec.kafka_timeout_ms = s.cfg.kafka_timeout_ms;
    rec.health_interval_ms = s.cfg.health_seconds * 1000;
    rec.stall_ms = s.cfg.stall_seconds * 1000;
    rec.reassign_batch_moves = s.cfg.reassign_batch_moves;
    rec.reassign_throttle_bytes = s.cfg.reassign_throttle_bytes;
    rec.health_slots = s.cfg.health_concurrency > 0 ? s.cfg.health_concurrency
                                                    : (s.cfg.workers / 2 > 0 ? s.cfg.workers / 2 : 1);
    s.env.kafka = kafka;
    s.env.health_read = health_read_live;
    s.env.health_ctx = kafka;
    s.env.layout_read = balance_read_live;
    s.env.layout_ctx = kafka;
    s.env.kafka_read = topics_read_live;
    s.env.kafka_read_ctx = kafka;
    /* the manifests endpoint renders with the workers' options */
    s.env.render = render_for_api;
    s.env.render_ctx = &rec.render;
    /* at most half the HTTP threads may wait on Kafka (at least one) */
    static int live_reads_busy;
    s.env.live_reads_max = s.cfg.http_threads / 2 > 0 ? s.cfg.http_threads / 2 : 1;
    s.env.live_reads_busy = &live_reads_busy;
    worker_pool *pool = NULL;
    if (s.cfg.workers > 0) {
        /* unfinished work first; with health checks on, every cluster */
        if (rec.health_interval_ms > 0) store_cluster_ids(s.env.store, wake_cluster, s.env.queue);
        else store_clusters_with_active_ops(s.env.store, wake_cluster, s.env.queue);
        store_topic_cluster_ids(s.env.store, wake_topics, s.env.queue);
        pool = pool_start(s.cfg.workers, s.env.queue, reconcile_key, &rec);
        if (pool) pool_set_resync(pool, (int64_t)s.cfg.resync_seconds * 1000, resync_all, &s);
    }
    if (server_start(&s) != 0) {
        server_stop(&s);
        queue_shutdown(s.env.queue);
        pool_stop(pool);
        kafka_pool_free(kafka);
        queue_free(s.env.queue);
        store_close(s.env.store);
        return 1;
    }
    log_emit(LOG_INFO, "listening",
             json_pack("{s:s, s:i, s:s, s:i, s:i, s:s}", "listen", s.cfg.listen, "port", s.port,
                       "data_dir", s.cfg.data_dir, "http_threads", s.cfg.http_threads,
                       "workers", s.cfg.workers, "version", SP_VERSION));
    int sig = 0;
    sigwait(&set, &sig);
    log_emit(LOG_INFO, "shutting down", json_pack("{s:s}", "signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"));
    server_stop(&s);
    queue_shutdown(s.env.queue);
    pool_stop(pool);
    kafka_pool_free(kafka);
    queue_free(s.env.queue);
    store_close(s.env.store);
    sp_wipe(s.env.master_key, sizeof s.env.master_key);
    reconciler_fini(&rec);
    log_msg(LOG_INFO, "stopped");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        config_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "serve") == 0) return cmd_serve(argc - 1, argv + 1);
    if (strcmp(argv[1], "routes") == 0) {
        for (int i = 0; i < routes_count(); i++)
            printf("%s %s\n", routes_get(i)->method, routes_get(i)->pattern);
        return 0;
    }
    if (strcmp(argv[1], "version") == 0) { printf("streamplane %s\n", SP_VERSION); return 0; }
    fprintf(stderr, "streamplane: unknown command '%s'\n\n", argv[1]);
    config_usage(stderr);
    return 2;
}
