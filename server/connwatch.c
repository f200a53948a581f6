/* connwatch.c — a deadline for each request to arrive in full.
 *
 * libmicrohttpd's connection timeout is an idle timeout: it starts again on
 * every byte, so a client that trickles one byte every few seconds holds a
 * connection (and a slot of the connection limit) for as long as it likes.
 * Here every connection carries a clock that starts when it opens and again
 * after each answer; a watcher thread shuts down the socket of any whose
 * request has not arrived in full within the deadline, and libmicrohttpd
 * then closes it as it does any dropped connection.
 *
 * Cost and bound: one small entry per open connection (the daemon's
 * connection limit bounds them), a list walk every WATCH_TICK_MS under one
 * mutex. The fd is shut down under the same mutex that the close
 * notification takes, so it is never one libmicrohttpd has closed. */
#define _GNU_SOURCE
#include "connwatch.h"
#include "log.h"
#include "../common/util.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#define WATCH_TICK_MS 200

typedef struct centry {
    struct centry *prev, *next;
    int fd;
    int64_t since_ms;          /* the clock of the request under way */
    bool arrived;              /* its request arrived in full: no deadline */
} centry;

struct connwatch {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    bool stop;
    int deadline_ms;
    int64_t (*now)(void);      /* milliseconds; sp_mono_ms unless a test drives it */
    bool threaded;
    centry *head;
    long cut;                  /* connections shut down for missing the deadline */
};

/* Shuts down what missed its deadline; called with the mutex held. */
static int sweep(connwatch *w)
{
    int64_t now = w->now();
    int n = 0;
    for (centry *e = w->head; e; e = e->next)
        if (!e->arrived && now - e->since_ms > w->deadline_ms) {
            shutdown(e->fd, SHUT_RDWR);
            e->arrived = true;         /* once */
            w->cut++;
            n++;
            log_emit(LOG_WARN, "request deadline",
                     json_pack("{s:s, s:i}", "detail", "a request did not arrive in full in time; connection closed",
                               "deadline_ms", w->deadline_ms));
        }
    return n;
}

int connwatch_sweep(connwatch *w)
{
    pthread_mutex_lock(&w->mu);
    int n = sweep(w);
    pthread_mutex_unlock(&w->mu);
    return n;
}

static void *watch(void *arg)
{
    connwatch *w = arg;
    pthread_mutex_lock(&w->mu);
    while (!w->stop) {
        sweep(w);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += WATCH_TICK_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) { ts.tv_sec++; ts.tv_nsec -= 1000000000L; }
        pthread_cond_timedwait(&w->cv, &w->mu, &ts);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

connwatch *connwatch_new(int deadline_ms, int64_t (*now_ms)(void))
{
    connwatch *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->deadline_ms = deadline_ms;
    w->now = now_ms ? now_ms : sp_mono_ms;
    w->threaded = !now_ms;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    if (w->threaded && pthread_create(&w->thread, NULL, watch, w) != 0) {
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
        free(w);
        return NULL;
    }
    return w;
}

void connwatch_free(connwatch *w)
{
    if (!w) return;
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    if (w->threaded) pthread_join(w->thread, NULL);
    while (w->head) {
        centry *e = w->head;
        w->head = e->next;
        free(e);
    }
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

void connwatch_opened(connwatch *w, int fd, void **ctx)
{
    centry *e = calloc(1, sizeof *e);
    *ctx = e;
    if (!e) return;            /* unwatched: only the idle timeout applies */
    e->fd = fd;
    e->since_ms = w->now();
    pthread_mutex_lock(&w->mu);
    e->next = w->head;
    if (w->head) w->head->prev = e;
    w->head = e;
    pthread_mutex_unlock(&w->mu);
}

void connwatch_closed(connwatch *w, void **ctx)
{
    centry *e = *ctx;
    *ctx = NULL;
    if (!e) return;
    pthread_mutex_lock(&w->mu);
    if (e->prev) e->prev->next = e->next;
    else w->head = e->next;
    if (e->next) e->next->prev = e->prev;
    pthread_mutex_unlock(&w->mu);
    free(e);
}

static void mark(connwatch *w, void *ctx, bool arrived)
{
    centry *e = ctx;
    if (!e) return;
    pthread_mutex_lock(&w->mu);
    e->arrived = arrived;
    if (!arrived) e->since_ms = w->now();
    pthread_mutex_unlock(&w->mu);
}

void connwatch_arrived(connwatch *w, void *ctx) { mark(w, ctx, true); }
void connwatch_next(connwatch *w, void *ctx) { mark(w, ctx, false); }

long connwatch_cut(connwatch *w)
{
    pthread_mutex_lock(&w->mu);
    long n = w->cut;
    pthread_mutex_unlock(&w->mu);
    return n;
}
