/* main.c — the standalone kafka-sim binary: N brokers plus a loopback HTTP control port.
 *
 * Why a binary at all: tools that are not C tests (shell scripts, a local
 * streamplane run, kcat) need a Kafka to talk to without a JVM. This file is
 * only argument parsing, the HTTP routes (libmicrohttpd, its own thread) and
 * signal handling; everything else is the kafkasim library. SIGINT/SIGTERM
 * are blocked in every thread and taken with sigwait in main, so shutdown
 * runs in ordinary code and frees everything (clean under LeakSanitizer). */
#define _GNU_SOURCE
#include "kafka_sim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct body {
    char *p;
    size_t len;
} body;

static kfs_cluster *g_cluster;

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, char *text)
{
    const char *t = text ? text : "{}";
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(t), (void *)t, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    free(text);
    return ret;
}

static char *msg(const char *k, const char *v)
{
    json_t *o = json_pack("{s:s}", k, v);
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

static enum MHD_Result route(struct MHD_Connection *conn, const char *method, const char *url, const char *data)
{
    int id, part;
    char action[16], topic[256];
    bool post = strcmp(method, "POST") == 0;
    if (strcmp(method, "GET") == 0 && strcmp(url, "/model") == 0) return reply(conn, 200, kfs_model_json(g_cluster));
    if (strcmp(method, "GET") == 0 && strcmp(url, "/quorum") == 0) {
        char *q = kfs_quorum_status(g_cluster);
        char *s = msg("status", q ? q : "");
        free(q);
        return reply(conn, 200, s);
    }
    if (post && sscanf(url, "/brokers/%d/%15[a-z]", &id, action) == 2 &&
        (strcmp(action, "stop") == 0 || strcmp(action, "start") == 0)) {
        if (kfs_broker_set_up(g_cluster, id, strcmp(action, "start") == 0) != 0)
            return reply(conn, errno == ENOENT ? 404 : 409, msg("error", strerror(errno)));
        return reply(conn, 200, msg("status", "ok"));
    }
    json_error_t jerr;
    json_t *in = post ? json_loads(data ? data : "", 0, &jerr) : NULL;
    enum MHD_Result ret;
    if (post && strcmp(url, "/topics") == 0) {
        const char *name = json_string_value(json_object_get(in, "name"));
        int parts = (int)json_integer_value(json_object_get(in, "partitions"));
        int repl = (int)json_integer_value(json_object_get(in, "replication"));
        if (!name) ret = reply(conn, 400, msg("error", "name is required"));
        else if (kfs_topic_create(g_cluster, name, parts, repl) != 0)
            ret = reply(conn, 409, msg("error", "topic exists, or bad name/replication"));
        else ret = reply(conn, 201, msg("status", "created"));
    } else if (post && sscanf(url, "/partitions/%255[^/]/%d/%15s", topic, &part, action) == 3 &&
               strcmp(action, "leader") == 0) {
        json_t *l = json_object_get(in, "leader");
        if (!json_is_integer(l)) ret = reply(conn, 400, msg("error", "leader (integer) is required"));
        else if (kfs_partition_set_leader(g_cluster, topic, part, (int)json_integer_value(l)) != 0)
            ret = reply(conn, 404, msg("error", "no such partition, or leader is not an up replica"));
        else ret = reply(conn, 200, msg("status", "ok"));
    } else {
        ret = reply(conn, 404, msg("error", "not found"));
    }
    json_decref(in);
    return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                               const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    (void)cls;
    (void)version;
    body *b = *con_cls;
    if (!b) {
        b = calloc(1, sizeof *b);
        if (!b) return MHD_NO;
        *con_cls = b;
        return MHD_YES;
    }
    if (*upload_size) {
        if (b->len + *upload_size > 1 << 20) return MHD_NO;
        char *np = realloc(b->p, b->len + *upload_size + 1);
        if (!np) return MHD_NO;
        memcpy(np + b->len, upload, *upload_size);
        b->p = np;
        b->len += *upload_size;
        b->p[b->len] = 0;
        *upload_size = 0;
        return MHD_YES;
    }
    return route(conn, method, url, b->p);
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    body *b = *con_cls;
    if (b) {
        free(b->p);
        free(b);
    }
    *con_cls = NULL;
}

static int usage(void)
{
    fprintf(stderr, "usage: kafka-sim --brokers N --port P [--host 127.0.0.1] [--control-port C] "
                    "[--rejoin-delay-ms D] [--cluster-id ID]\n");
    return 2;
}

int main(int argc, char **argv)
{
    int brokers = 3, port = 9092, control = -1, rejoin = 0;
    const char *host = "127.0.0.1", *cluster_id = NULL;
    for (int i = 1; i < argc; i += 2) {      /* flag and value */
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) return usage();
        if (strcmp(a, "--brokers") == 0) brokers = atoi(v);
        else if (strcmp(a, "--port") == 0) port = atoi(v);
        else if (strcmp(a, "--host") == 0) host = v;
        else if (strcmp(a, "--control-port") == 0) control = atoi(v);
        else if (strcmp(a, "--rejoin-delay-ms") == 0) rejoin = atoi(v);
        else if (strcmp(a, "--cluster-id") == 0) cluster_id = v;
        else return usage();
    }
    if (brokers < 1 || brokers > 1000 || port < 1 || port + brokers - 1 > 65535) return usage();

    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL); /* inherited by every thread started below */
    signal(SIGPIPE, SIG_IGN);

    kfs_runtime *rt = kfs_runtime_new();
    kfs_options o = {.cluster_id = cluster_id, .rejoin_delay_ms = rejoin};
    kfs_cluster *c = rt ? kfs_cluster_new(rt, &o) : NULL;
    if (!c) {
        fprintf(stderr, "kafka-sim: cannot start the runtime\n");
        kfs_runtime_free(rt);
        return 1;
    }
    g_cluster = c;
    for (int i = 0; i < brokers; i++) {
        if (kfs_broker_add(c, i, NULL) != 0 || kfs_broker_listen(c, i, "PLAINTEXT", host, port + i) != 0 ||
            kfs_broker_set_up(c, i, true) != 0) {
            fprintf(stderr, "kafka-sim: broker %d on %s:%d: %s\n", i, host, port + i, strerror(errno));
            kfs_runtime_free(rt);
            return 1;
        }
    }
    struct MHD_Daemon *d = NULL;
    if (control >= 0) {
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)control)};
        inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
        d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, (uint16_t)control, NULL, NULL,
                             handler, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                             MHD_OPTION_NOTIFY_COMPLETED, completed, NULL, MHD_OPTION_END);
        if (!d) {
            fprintf(stderr, "kafka-sim: cannot listen on control port 127.0.0.1:%d\n", control);
            kfs_runtime_free(rt);
            return 1;
        }
        if (control == 0) {
            const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
            if (info) control = info->port;
        }
    }
    char *bs = kfs_bootstrap(c, "PLAINTEXT");
    printf("bootstrap: %s\n", bs ? bs : "");
    if (d) printf("control: http://127.0.0.1:%d\n", control);
    fflush(stdout);
    free(bs);

    int sig = 0;
    sigwait(&sigs, &sig);
    if (d) MHD_stop_daemon(d);
    kfs_runtime_free(rt);
    return 0;
}
