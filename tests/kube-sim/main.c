/* main.c — the kube-sim process: command line, TLS files, the controller
 * thread, and a clean stop on SIGTERM or SIGINT (exit 0, everything
 * freed, so a leak checker sees nothing). */
#define _GNU_SOURCE
#include "ksim.h"

#include <microhttpd.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char usage[] =
    "usage: kube-sim --listen HOST:PORT [--token TOKEN] [--tls-cert FILE --tls-key FILE]\n"
    "                [--pod-ready-ms N] [--pod-terminate-ms N] [--resize-ms N] [--namespace-delete-ms N]\n"
    "                [--kafka-rejoin-ms N]\n"
    "A Kubernetes API test double; see tests/kube-sim/README.md.\n";

typedef struct opts {
    const char *listen, *token, *cert, *key;
    int pod_ready_ms, pod_terminate_ms, resize_ms, ns_delete_ms, kafka_rejoin_ms;
} opts;

static int parse_int(const char *s, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == 0 || *end || v < 0 || v > 3600000) return -1;
    *out = (int)v;
    return 0;
}

static int parse_args(int argc, char **argv, opts *o)
{
    *o = (opts){.pod_ready_ms = 500, .pod_terminate_ms = 100, .resize_ms = 300, .ns_delete_ms = 200, .kafka_rejoin_ms = 200};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage, stdout);
            exit(0);
        }
        if (!v) return -1;
        i++;
        if (!strcmp(a, "--listen")) o->listen = v;
        else if (!strcmp(a, "--token")) o->token = v;
        else if (!strcmp(a, "--tls-cert")) o->cert = v;
        else if (!strcmp(a, "--tls-key")) o->key = v;
        else if (!strcmp(a, "--pod-ready-ms")) { if (parse_int(v, &o->pod_ready_ms)) return -1; }
        else if (!strcmp(a, "--pod-terminate-ms")) { if (parse_int(v, &o->pod_terminate_ms)) return -1; }
        else if (!strcmp(a, "--resize-ms")) { if (parse_int(v, &o->resize_ms)) return -1; }
        else if (!strcmp(a, "--namespace-delete-ms")) { if (parse_int(v, &o->ns_delete_ms)) return -1; }
        else if (!strcmp(a, "--kafka-rejoin-ms")) { if (parse_int(v, &o->kafka_rejoin_ms)) return -1; }
        else return -1;
    }
    if (!o->listen || (!o->cert) != (!o->key)) return -1;
    return 0;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0, n;
    char chunk[4096];
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (len + n + 1 > cap) {
            cap = (len + n + 1) * 2;
            char *p = realloc(buf, cap);
            if (!p) break;
            buf = p;
        }
        memcpy(buf + len, chunk, n);
        len += n;
    }
    fclose(f);
    if (buf) buf[len] = 0;
    return buf;
}

static struct addrinfo *resolve(const char *listen)
{
    char host[256];
    const char *colon = strrchr(listen, ':');
    if (!colon || (size_t)(colon - listen) >= sizeof host) return NULL;
    snprintf(host, sizeof host, "%.*s", (int)(colon - listen), listen);
    char *h = host;
    if (h[0] == '[' && h[strlen(h) - 1] == ']') h[strlen(h) - 1] = 0, h++;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *res;
    return getaddrinfo(h, colon + 1, &hints, &res) ? NULL : res;
}

static void *controller_main(void *arg)
{
    ksim *k = arg;
    while (!atomic_load(&k->stopping)) {
        controller_tick(k);
        usleep(50000);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    opts o;
    if (parse_args(argc, argv, &o)) {
        fputs(usage, stderr);
        return 2;
    }
    char *cert = o.cert ? read_file(o.cert) : NULL, *key = o.key ? read_file(o.key) : NULL;
    if (o.cert && (!cert || !key)) {
        fprintf(stderr, "kube-sim: cannot read %s or %s\n", o.cert, o.key);
        return 1;
    }
    struct addrinfo *ai = resolve(o.listen);
    if (!ai) {
        fprintf(stderr, "kube-sim: cannot resolve --listen %s\n", o.listen);
        free(cert), free(key);
        return 2;
    }
    /* signals are taken by sigwait below; every thread inherits the mask */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    static ksim k;
    store_init(&k.store);
    pthread_mutex_init(&k.faults.mu, NULL);
    pthread_cond_init(&k.faults.cv, NULL);
    k.token = o.token;
    k.pod_ready_ms = o.pod_ready_ms;
    k.pod_terminate_ms = o.pod_terminate_ms;
    k.resize_ms = o.resize_ms;
    k.ns_delete_ms = o.ns_delete_ms;
    atomic_init(&k.stopping, false);
    pid_t pid = getpid();
    k.net[0] = (unsigned char)(pid >> 8);
    k.net[1] = (unsigned char)pid;
    k.kafka_rejoin_ms = o.kafka_rejoin_ms;
    controller_seed(&k);
    kafka_init(&k);

    struct MHD_Daemon *d = http_start(&k, ai->ai_addr, cert, key);
    freeaddrinfo(ai);
    int rc = 0;
    if (!d) {
        fprintf(stderr, "kube-sim: cannot listen on %s\n", o.listen);
        rc = 1;
    } else {
        pthread_t ctl;
        pthread_create(&ctl, NULL, controller_main, &k);
        fprintf(stderr, "kube-sim: listening on %s://%s (port %d)%s\n", cert ? "https" : "http", o.listen,
                http_port(d), o.token ? ", bearer token required" : "");
        int sig;
        sigwait(&set, &sig);
        fprintf(stderr, "kube-sim: signal %d, stopping\n", sig);
        pthread_mutex_lock(&k.faults.mu);
        atomic_store(&k.stopping, true);
        pthread_cond_broadcast(&k.faults.cv);
        pthread_mutex_unlock(&k.faults.mu);
        http_stop(d);
        pthread_join(ctl, NULL);
    }
    kafka_free(&k);
    store_free(&k.store);
    free(k.unpullable);
    pthread_mutex_destroy(&k.faults.mu);
    pthread_cond_destroy(&k.faults.cv);
    free(cert);
    free(key);
    return rc;
}
