/* metrics.c — lock-free counters (atomic adds) per route and status, and a
 * latency histogram per route. Statuses are mapped onto a fixed list so
 * the table is allocated once. */
#include "metrics.h"

#include <stdlib.h>

static const int STATUSES[] = {200, 201, 202, 204, 304, 400, 401, 403, 404, 405, 406, 409,
                               412, 413, 415, 422, 428, 429, 500, 501, 503, 0};
#define NSTATUS 22    /* last slot: any other status */
static const double BUCKETS[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
#define NBUCKETS 13

typedef struct row {
    uint64_t count[NSTATUS];
    uint64_t other_status;
    uint64_t bucket[NBUCKETS];
    uint64_t total;
    uint64_t sum_us;
} row;

struct metrics {
    int nroutes;
    row *rows;
};

metrics *metrics_new(int nroutes)
{
    metrics *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->nroutes = nroutes;
    m->rows = calloc((size_t)nroutes + 1, sizeof *m->rows);
    if (!m->rows) { free(m); return NULL; }
    return m;
}

void metrics_free(metrics *m)
{
    if (!m) return;
    free(m->rows);
    free(m);
}

static void add(uint64_t *p, uint64_t v) { __atomic_fetch_add(p, v, __ATOMIC_RELAXED); }
static uint64_t get(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }

void metrics_observe(metrics *m, int route, int status, int64_t us)
{
    if (route < 0 || route > m->nroutes) route = m->nroutes;
    row *r = &m->rows[route];
    int i = 0;
    while (STATUSES[i] && STATUSES[i] != status) i++;
    if (STATUSES[i]) add(&r->count[i], 1);
    else add(&r->other_status, 1);
    double s = (double)us / 1e6;
    for (int b = 0; b < NBUCKETS; b++)
        if (s <= BUCKETS[b]) { add(&r->bucket[b], 1); break; }
    add(&r->total, 1);
    add(&r->sum_us, (uint64_t)(us > 0 ? us : 0));
}

void metrics_write(metrics *m, FILE *out, const char *(*name)(int), const char *(*method)(int))
{
    fprintf(out, "# HELP streamplane_http_requests_total HTTP requests answered, by route, method and status.\n"
                 "# TYPE streamplane_http_requests_total counter\n");
    for (int r = 0; r <= m->nroutes; r++) {
        const char *rn = r < m->nroutes ? name(r) : "unmatched";
        const char *me = r < m->nroutes ? method(r) : "any";
        for (int i = 0; STATUSES[i]; i++) {
            uint64_t c = get(&m->rows[r].count[i]);
            if (c) fprintf(out, "streamplane_http_requests_total{route=\"%s\",method=\"%s\",status=\"%d\"} %llu\n",
                           rn, me, STATUSES[i], (unsigned long long)c);
        }
        uint64_t o = get(&m->rows[r].other_status);
        if (o) fprintf(out, "streamplane_http_requests_total{route=\"%s\",method=\"%s\",status=\"other\"} %llu\n",
                       rn, me, (unsigned long long)o);
    }
    fprintf(out, "# HELP streamplane_http_request_duration_seconds Time from first byte to response, by route.\n"
                 "# TYPE streamplane_http_request_duration_seconds histogram\n");
    for (int r = 0; r <= m->nroutes; r++) {
        const row *w = &m->rows[r];
        uint64_t total = get(&w->total);
        if (!total) continue;
        const char *rn = r < m->nroutes ? name(r) : "unmatched";
        const char *me = r < m->nroutes ? method(r) : "any";
        uint64_t cum = 0;
        for (int b = 0; b < NBUCKETS; b++) {
            cum += get(&w->bucket[b]);
            fprintf(out, "streamplane_http_request_duration_seconds_bucket{route=\"%s\",method=\"%s\",le=\"%g\"} %llu\n",
                    rn, me, BUCKETS[b], (unsigned long long)cum);
        }
        fprintf(out, "streamplane_http_request_duration_seconds_bucket{route=\"%s\",method=\"%s\",le=\"+Inf\"} %llu\n",
                rn, me, (unsigned long long)total);
        fprintf(out, "streamplane_http_request_duration_seconds_sum{route=\"%s\",method=\"%s\"} %.6f\n",
                rn, me, (double)get(&w->sum_us) / 1e6);
        fprintf(out, "streamplane_http_request_duration_seconds_count{route=\"%s\",method=\"%s\"} %llu\n",
                rn, me, (unsigned long long)total);
    }
}
