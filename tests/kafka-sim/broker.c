/* broker.c — the runtime: one epoll loop thread, listening sockets, connections.
 *
 * Why one thread per runtime: kube-sim may simulate hundreds of clusters with
 * several brokers each; a thread per broker (like rdkafka_mock) would not
 * scale, and a single loop makes the locking trivial: the loop thread takes
 * the runtime mutex for each batch of socket events, API callers take it for
 * each call, so the model is never seen half-changed.
 *
 * Sockets may be closed by API threads (a broker set down) while the loop
 * thread is inside epoll_wait with an event for them already returned. So a
 * closed socket's entry is only marked dead and moved to a graveyard, and the
 * loop thread frees the graveyard after it has processed the batch in which
 * such a stale event could appear. Timers are not separate objects: the loop
 * asks the model for its next deadline and uses it as the epoll timeout; API
 * calls that may create a deadline write to an eventfd to wake the loop. */
#define _GNU_SOURCE
#include "kfs_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define KFS_MAX_FRAME (100 * 1024 * 1024)

enum { ENT_LISTEN = 1, ENT_CONN = 2 };

typedef struct kfs_ent {
    int kind;
    int fd;
    bool dead;
    bool want_out;
    kfs_cluster *c;
    int node_id;
    char *listener;
    uint8_t *in;
    size_t inlen, incap;
    kfs_wr out;
    size_t outoff;
    struct kfs_ent *next, *prev;
} kfs_ent;

static void ent_free(kfs_ent *e)
{
    free(e->listener);
    free(e->in);
    kfs_wr_free(&e->out);
    free(e);
}

static void ent_close(kfs_runtime *rt, kfs_ent *e)
{
    if (e->dead) return;
    epoll_ctl(rt->epfd, EPOLL_CTL_DEL, e->fd, NULL);
    close(e->fd);
    e->dead = true;
    if (e->prev) e->prev->next = e->next;
    else rt->ents = e->next;
    if (e->next) e->next->prev = e->prev;
    e->prev = NULL;
    e->next = rt->graveyard;
    rt->graveyard = e;
}

static kfs_ent *ent_new(kfs_runtime *rt, int kind, int fd, kfs_cluster *c, int node_id, const char *listener)
{
    kfs_ent *e = calloc(1, sizeof *e);
    if (!e || !(e->listener = strdup(listener))) {
        free(e);
        return NULL;
    }
    e->kind = kind;
    e->fd = fd;
    e->c = c;
    e->node_id = node_id;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = e};
    if (epoll_ctl(rt->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        int err = errno;
        ent_free(e);
        errno = err;
        return NULL;
    }
    e->next = rt->ents;
    if (rt->ents) rt->ents->prev = e;
    rt->ents = e;
    return e;
}

void kfs_runtime_wake(kfs_runtime *rt)
{
    uint64_t one = 1;
    ssize_t r = write(rt->wakefd, &one, sizeof one);
    (void)r;
}

/* ---- connections ---- */

static void conn_set_out(kfs_runtime *rt, kfs_ent *e, bool want)
{
    if (e->want_out == want) return;
    struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0), .data.ptr = e};
    epoll_ctl(rt->epfd, EPOLL_CTL_MOD, e->fd, &ev);
    e->want_out = want;
}

/* Writes pending output; -1 if the connection broke. */
static int conn_flush(kfs_runtime *rt, kfs_ent *e)
{
    while (e->outoff < e->out.len) {
        ssize_t w = send(e->fd, e->out.p + e->outoff, e->out.len - e->outoff, MSG_NOSIGNAL);
        if (w > 0) {
            e->outoff += (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            conn_set_out(rt, e, true);
            return 0;
        }
        return -1;
    }
    e->out.len = 0;
    e->outoff = 0;
    conn_set_out(rt, e, false);
    return 0;
}

/* Handles every complete frame in the input buffer; -1 to close. */
static int conn_frames(kfs_ent *e)
{
    size_t off = 0;
    int rc = 0;
    while (e->inlen - off >= 4) {
        const uint8_t *q = e->in + off;
        int32_t size = (int32_t)(((uint32_t)q[0] << 24) | ((uint32_t)q[1] << 16) | ((uint32_t)q[2] << 8) | q[3]);
        if (size < 8 || size > KFS_MAX_FRAME) { /* a request header is at least 8 bytes */
            rc = -1;
            break;
        }
        if (e->inlen - off - 4 < (size_t)size) break;
        kfs_conn_ctx ctx = {.c = e->c, .node_id = e->node_id, .listener = e->listener};
        if (kfs_handle_request(&ctx, q + 4, (size_t)size, &e->out) != 0 || e->out.oom) {
            rc = -1;
            break;
        }
        off += 4 + (size_t)size;
    }
    if (off) {
        memmove(e->in, e->in + off, e->inlen - off);
        e->inlen -= off;
    }
    return rc;
}

static void conn_event(kfs_runtime *rt, kfs_ent *e, uint32_t events)
{
    if (events & (EPOLLERR | EPOLLHUP) && !(events & EPOLLIN)) {
        ent_close(rt, e);
        return;
    }
    if (events & EPOLLOUT && conn_flush(rt, e) != 0) {
        ent_close(rt, e);
        return;
    }
    if (!(events & EPOLLIN)) return;
    for (int rounds = 0; rounds < 64; rounds++) {
        if (e->incap - e->inlen < 65536) {
            size_t nc = e->incap ? e->incap * 2 : 65536;
            while (nc - e->inlen < 65536) nc *= 2;
            uint8_t *ni = realloc(e->in, nc);
            if (!ni) {
                ent_close(rt, e);
                return;
            }
            e->in = ni;
            e->incap = nc;
        }
        ssize_t r = recv(e->fd, e->in + e->inlen, e->incap - e->inlen, 0);
        if (r == 0) {
            ent_close(rt, e);
            return;
        }
        if (r < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            ent_close(rt, e);
            return;
        }
        e->inlen += (size_t)r;
        if (conn_frames(e) != 0) {
            /* send what was answered before the bad frame, then close */
            conn_flush(rt, e);
            ent_close(rt, e);
            return;
        }
        if (e->inlen > (size_t)KFS_MAX_FRAME + 4) {
            ent_close(rt, e);
            return;
        }
    }
    if (conn_flush(rt, e) != 0) ent_close(rt, e);
}

static void listen_event(kfs_runtime *rt, kfs_ent *l)
{
    for (;;) {
        int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            return;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (!ent_new(rt, ENT_CONN, fd, l->c, l->node_id, l->listener)) close(fd);
    }
}

static void *loop_main(void *arg)
{
    kfs_runtime *rt = arg;
    struct epoll_event evs[64];
    pthread_mutex_lock(&rt->mu);
    while (!rt->stop) {
        long long now = kfs_now_ms(), dl = -1;
        for (kfs_cluster *c = rt->clusters; c; c = c->next) {
            kfs_model_tick(c, now);
            long long d = kfs_model_deadline(c, now);
            if (d >= 0 && (dl < 0 || d < dl)) dl = d;
        }
        int timeout = dl < 0 ? -1 : (dl <= now ? 0 : (int)(dl - now > 60000 ? 60000 : dl - now));
        pthread_mutex_unlock(&rt->mu);
        int n = epoll_wait(rt->epfd, evs, 64, timeout);
        pthread_mutex_lock(&rt->mu);
        for (int i = 0; i < n; i++) {
            kfs_ent *e = evs[i].data.ptr;
            if (!e) {
                uint64_t v;
                ssize_t r = read(rt->wakefd, &v, sizeof v);
                (void)r;
                continue;
            }
            if (e->dead) continue;
            if (e->kind == ENT_LISTEN) listen_event(rt, e);
            else conn_event(rt, e, evs[i].events);
        }
        while (rt->graveyard) {
            kfs_ent *g = rt->graveyard;
            rt->graveyard = g->next;
            ent_free(g);
        }
    }
    pthread_mutex_unlock(&rt->mu);
    return NULL;
}

/* ---- runtime ---- */

kfs_runtime *kfs_runtime_new(void)
{
    kfs_runtime *rt = calloc(1, sizeof *rt);
    if (!rt) return NULL;
    rt->epfd = epoll_create1(EPOLL_CLOEXEC);
    rt->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    if (rt->epfd < 0 || rt->wakefd < 0 || epoll_ctl(rt->epfd, EPOLL_CTL_ADD, rt->wakefd, &ev) != 0 ||
        pthread_mutex_init(&rt->mu, NULL) != 0)
        goto fail;
    if (pthread_create(&rt->thread, NULL, loop_main, rt) != 0) {
        pthread_mutex_destroy(&rt->mu);
        goto fail;
    }
    return rt;
fail:
    if (rt->epfd >= 0) close(rt->epfd);
    if (rt->wakefd >= 0) close(rt->wakefd);
    free(rt);
    return NULL;
}

static void cluster_destroy(kfs_runtime *rt, kfs_cluster *c)
{
    for (kfs_ent *e = rt->ents, *nx; e; e = nx) {
        nx = e->next;
        if (e->c == c) ent_close(rt, e);
    }
    for (kfs_cluster **pp = &rt->clusters; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    kfs_model_free(c);
    free(c);
}

void kfs_runtime_free(kfs_runtime *rt)
{
    if (!rt) return;
    pthread_mutex_lock(&rt->mu);
    rt->stop = true;
    kfs_runtime_wake(rt);
    pthread_mutex_unlock(&rt->mu);
    pthread_join(rt->thread, NULL);
    while (rt->clusters) cluster_destroy(rt, rt->clusters);
    while (rt->ents) ent_close(rt, rt->ents);
    while (rt->graveyard) {
        kfs_ent *g = rt->graveyard;
        rt->graveyard = g->next;
        ent_free(g);
    }
    close(rt->epfd);
    close(rt->wakefd);
    pthread_mutex_destroy(&rt->mu);
    free(rt);
}

/* ---- clusters and brokers ---- */

kfs_cluster *kfs_cluster_new(kfs_runtime *rt, const kfs_options *opts)
{
    if (!rt) return NULL;
    kfs_cluster *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    if (opts) c->opts = *opts;
    c->opts.cluster_id = NULL;
    if (c->opts.default_partitions <= 0) c->opts.default_partitions = 1;
    if (c->opts.min_insync_replicas <= 0) c->opts.min_insync_replicas = 1;
    if (c->opts.rejoin_delay_ms < 0) c->opts.rejoin_delay_ms = 0;
    if (opts && opts->cluster_id) {
        c->cluster_id = strdup(opts->cluster_id);
    } else {
        static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        uint8_t raw[22] = {0};
        FILE *f = fopen("/dev/urandom", "rb");
        if (f) {
            if (fread(raw, 1, sizeof raw, f) != sizeof raw) memset(raw, 7, sizeof raw);
            fclose(f);
        }
        c->cluster_id = calloc(23, 1);
        for (int i = 0; c->cluster_id && i < 22; i++) c->cluster_id[i] = b64[raw[i] & 63];
    }
    if (!c->cluster_id) {
        free(c);
        return NULL;
    }
    c->rt = rt;
    c->quorum_leader = -1;
    pthread_mutex_lock(&rt->mu);
    c->next = rt->clusters;
    rt->clusters = c;
    pthread_mutex_unlock(&rt->mu);
    return c;
}

void kfs_cluster_free(kfs_cluster *c)
{
    if (!c) return;
    kfs_runtime *rt = c->rt;
    pthread_mutex_lock(&rt->mu);
    cluster_destroy(rt, c);
    pthread_mutex_unlock(&rt->mu);
}

/* The public API's lock: the runtime mutex, and the model brought up to
 * date first (timers that fell due while nobody asked). */
void kfs_api_lock(kfs_cluster *c)
{
    pthread_mutex_lock(&c->rt->mu);
    kfs_model_tick(c, kfs_now_ms());
}

/* Wakes the loop (the next deadline may have moved), then unlocks. */
void kfs_api_unlock(kfs_cluster *c)
{
    kfs_runtime_wake(c->rt);
    pthread_mutex_unlock(&c->rt->mu);
}

int kfs_broker_add(kfs_cluster *c, int node_id, const char *rack)
{
    if (!c || node_id < 0) return -1;
    int rc = -1;
    kfs_api_lock(c);
    if (kfs_find_broker(c, node_id)) goto out;
    kfs_broker *b = calloc(1, sizeof *b);
    kfs_broker **nb = realloc(c->brokers, (size_t)(c->nbrokers + 1) * sizeof *nb);
    if (nb) c->brokers = nb;
    if (!b || !nb || (rack && !(b->rack = strdup(rack)))) {
        free(b);
        goto out;
    }
    b->id = node_id;
    int at = 0;
    while (at < c->nbrokers && c->brokers[at]->id < node_id) at++;
    memmove(c->brokers + at + 1, c->brokers + at, (size_t)(c->nbrokers - at) * sizeof *c->brokers);
    c->brokers[at] = b;
    c->nbrokers++;
    c->metadata_offset++;
    rc = 0;
out:
    kfs_api_unlock(c);
    return rc;
}

int kfs_broker_remove(kfs_cluster *c, int node_id)
{
    int rc = -1;
    kfs_api_lock(c);
    for (int i = 0; i < c->nbrokers; i++) {
        kfs_broker *b = c->brokers[i];
        if (b->id != node_id) continue;
        kfs_broker_close(c, b, NULL);
        kfs_model_broker_down(c, b);
        memmove(c->brokers + i, c->brokers + i + 1, (size_t)(c->nbrokers - i - 1) * sizeof *c->brokers);
        c->nbrokers--;
        for (int j = 0; j < b->nls; j++) {
            free(b->ls[j].name);
            free(b->ls[j].host);
        }
        free(b->ls);
        free(b->rack);
        kfs_kvs_free(&b->configs);
        free(b);
        rc = 0;
        break;
    }
    kfs_api_unlock(c);
    return rc;
}

void kfs_broker_close(kfs_cluster *c, kfs_broker *b, const char *listener)
{
    kfs_runtime *rt = c->rt;
    for (kfs_ent *e = rt->ents, *nx; e; e = nx) {
        nx = e->next;
        if (e->c == c && e->node_id == b->id && (!listener || strcmp(e->listener, listener) == 0)) ent_close(rt, e);
    }
    for (int i = 0; i < b->nls; i++)
        if (!listener || strcmp(b->ls[i].name, listener) == 0) b->ls[i].ent = NULL;
}

static int bind_one(kfs_cluster *c, kfs_broker *b, kfs_listener *l)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    if (inet_pton(AF_INET, l->host, &sa.sin_addr) != 1) {
        errno = EINVAL;
        return -1;
    }
    int port = l->port ? l->port : l->bound_port; /* come back on the same port */
    sa.sin_port = htons((uint16_t)port);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 128) != 0) {
        int err = errno;
        close(fd);
        errno = err;
        return -1;
    }
    socklen_t len = sizeof sa;
    if (getsockname(fd, (struct sockaddr *)&sa, &len) == 0) l->bound_port = ntohs(sa.sin_port);
    l->ent = ent_new(c->rt, ENT_LISTEN, fd, c, b->id, l->name);
    if (!l->ent) {
        int err = errno;
        close(fd);
        errno = err;
        return -1;
    }
    return 0;
}

int kfs_broker_bind_all(kfs_cluster *c, kfs_broker *b)
{
    for (int i = 0; i < b->nls; i++) {
        if (b->ls[i].ent) continue;
        if (bind_one(c, b, &b->ls[i]) != 0) {
            int err = errno;
            kfs_broker_close(c, b, NULL);
            errno = err;
            return -1;
        }
    }
    return 0;
}

int kfs_broker_listen(kfs_cluster *c, int node_id, const char *name, const char *host, int port)
{
    struct in_addr tmp;
    if (!c || !name || !host || port < 0 || port > 65535 || inet_pton(AF_INET, host, &tmp) != 1) {
        errno = EINVAL;
        return -1;
    }
    int rc = -1;
    kfs_api_lock(c);
    kfs_broker *b = kfs_find_broker(c, node_id);
    if (!b) {
        errno = ENOENT;
        goto out;
    }
    kfs_listener *l = kfs_broker_listener(b, name);
    char *nh = strdup(host);
    if (!nh) goto out;
    if (l) {
        kfs_broker_close(c, b, name);
        free(l->host);
        l->host = nh;
        l->port = port;
        l->bound_port = 0;
    } else {
        kfs_listener *nl = realloc(b->ls, (size_t)(b->nls + 1) * sizeof *nl);
        char *nn = strdup(name);
        if (nl) b->ls = nl;
        if (!nl || !nn) {
            free(nh);
            free(nn);
            goto out;
        }
        l = &b->ls[b->nls++];
        *l = (kfs_listener){.name = nn, .host = nh, .port = port};
    }
    c->metadata_offset++;
    if (b->up && bind_one(c, b, l) != 0) goto out;
    rc = 0;
out:
    kfs_api_unlock(c);
    return rc;
}

int kfs_broker_set_up(kfs_cluster *c, int node_id, bool up)
{
    int rc = -1;
    kfs_api_lock(c);
    kfs_broker *b = kfs_find_broker(c, node_id);
    if (!b) {
        errno = ENOENT;
        goto out;
    }
    if (up && !b->up) {
        if (kfs_broker_bind_all(c, b) != 0) goto out;
        kfs_model_broker_up(c, b, kfs_now_ms());
    } else if (!up && b->up) {
        kfs_broker_close(c, b, NULL);
        kfs_model_broker_down(c, b);
    }
    rc = 0;
out:
    kfs_api_unlock(c);
    return rc;
}

int kfs_broker_port(kfs_cluster *c, int node_id, const char *listener)
{
    int port = -1;
    kfs_api_lock(c);
    kfs_broker *b = kfs_find_broker(c, node_id);
    kfs_listener *l = b && listener ? kfs_broker_listener(b, listener) : NULL;
    if (l) port = l->bound_port ? l->bound_port : (l->port ? l->port : -1);
    kfs_api_unlock(c);
    return port;
}

char *kfs_bootstrap(kfs_cluster *c, const char *listener)
{
    if (!listener) return NULL;
    kfs_api_lock(c);
    size_t cap = 1, len = 0;
    char *s = calloc(1, 1);
    for (int i = 0; s && i < c->nbrokers; i++) {
        kfs_broker *b = c->brokers[i];
        kfs_listener *l = kfs_broker_listener(b, listener);
        if (!b->up || !l) continue;
        char part[300];
        int n = snprintf(part, sizeof part, "%s%s:%d", len ? "," : "", l->host, l->bound_port);
        if (n < 0) continue;
        char *ns = realloc(s, cap + (size_t)n);
        if (!ns) {
            free(s);
            s = NULL;
            break;
        }
        s = ns;
        memcpy(s + len, part, (size_t)n + 1);
        len += (size_t)n;
        cap += (size_t)n;
    }
    kfs_api_unlock(c);
    return s;
}
