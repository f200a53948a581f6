/* planner_bench — time and moves of the reassignment planner on the
 * synthetic clusters of issue 13: TOPICS x 12 partitions x RF 3 (36,000
 * replicas for 1,000 topics) in 3 racks, laid out as Kafka's rack-aware
 * creation does on 3 brokers, then scaled 3 -> 6 -> 12 -> 30 -> 12 -> 6 -> 3,
 * each step applied before the next. Also each step from a random
 * rack-aware layout (replicas and leaders uneven to start with).
 *
 * For each step: plan time (CPU, best of RUNS), replica moves against the least
 * any plan reaching replica skew <= 1 needs (sum over brokers of max(0,
 * count - share), the ceil shares given to the fullest brokers: every
 * replica above a broker's final share must leave it, one move each),
 * partitions whose preferred leader changes against the same bound for
 * leaders, the skews reached and the batches (at most BATCH moves each).
 * Counts here are the bench's own, from applying the plan's changes.
 *
 * usage: planner_bench [topics] [runs] [batch] */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "workers/kafka/planner.h"

#define PARTS 12
#define RF 3
#define MAXB 64

typedef struct layout { int nb, np; int32_t (*rep)[RF]; } layout;

static int rack_of(int id) { return id % 3; }

static void kafka_style(layout *l, int nb)
{
    l->nb = nb;
    for (int p = 0; p < l->np; p++) {
        int t = p / PARTS, q = p % PARTS, start = (t * 7 + q) % nb, n = 0;
        for (int i = 0; n < RF; i++) {
            int b = (start + i) % nb, clash = 0;
            for (int j = 0; j < n; j++) clash |= rack_of(l->rep[p][j]) == rack_of(b);
            if (!clash) l->rep[p][n++] = b;
        }
    }
}

static void random_layout(layout *l, int nb, unsigned x)
{
    l->nb = nb;
    for (int p = 0; p < l->np; p++) {
        int order[3] = { 0, 1, 2 };
        for (int i = 2; i > 0; i--) {
            x = x * 1103515245u + 12345u;
            int j = (int)((x >> 16) % (unsigned)(i + 1)), t = order[i];
            order[i] = order[j]; order[j] = t;
        }
        for (int i = 0; i < RF; i++) {
            x = x * 1103515245u + 12345u;
            l->rep[p][i] = order[i] + 3 * (int)((x >> 16) % (unsigned)((nb - order[i] + 2) / 3));
        }
    }
}

static planner_cluster *cluster_of(const layout *l, int nb)
{
    planner_cluster *c = planner_cluster_new();
    char name[32], rack[8];
    for (int b = 0; b < nb; b++) {
        snprintf(rack, sizeof rack, "r%d", rack_of(b));
        planner_add_broker(c, b, rack);
    }
    for (int p = 0; p < l->np; p++) {
        if (p % PARTS == 0) {
            snprintf(name, sizeof name, "topic-%05d", p / PARTS);
            planner_add_topic(c, name);
        }
        if (planner_add_partition(c, p / PARTS, p % PARTS, l->rep[p], RF)) { fprintf(stderr, "bad layout\n"); exit(2); }
    }
    return c;
}

static long bound(const long *count, int nb, int ntarget, long total)
{
    long order[MAXB], sum = 0;
    for (int b = ntarget; b < nb; b++) sum += count[b];
    memcpy(order, count, (size_t)ntarget * sizeof *order);
    for (int i = 1; i < ntarget; i++)
        for (int j = i; j > 0 && order[j - 1] < order[j]; j--) { long t = order[j]; order[j] = order[j - 1]; order[j - 1] = t; }
    for (int i = 0; i < ntarget; i++) {
        long share = total / ntarget + (i < total % ntarget ? 1 : 0);
        if (order[i] > share) sum += order[i] - share;
    }
    return sum;
}

static void counts(const layout *l, int nb, long *rep, long *lead)
{
    memset(rep, 0, (size_t)nb * sizeof *rep); memset(lead, 0, (size_t)nb * sizeof *lead);
    for (int p = 0; p < l->np; p++) {
        lead[l->rep[p][0]]++;
        for (int i = 0; i < RF; i++) rep[l->rep[p][i]]++;
    }
}

/* CPU time of this (single-threaded) process: planning is pure computation,
 * and on a shared machine wall time mostly measures the neighbours. */
static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static long skew(const long *v, int n)
{
    long lo = v[0], hi = v[0];
    for (int i = 1; i < n; i++) { if (v[i] < lo) lo = v[i]; if (v[i] > hi) hi = v[i]; }
    return hi - lo;
}

/* Plans l (its brokers) -> `to`, prints one row, applies the plan to l. */
static int step(layout *l, int to, int runs, int batch, const char *label)
{
    int from = l->nb, nb = from > to ? from : to;
    planner_cluster *c = cluster_of(l, nb);
    int32_t target[MAXB];
    for (int b = 0; b < to; b++) target[b] = b;
    long rep[MAXB], lead[MAXB];
    counts(l, nb, rep, lead);
    long mb = bound(rep, nb, to, (long)l->np * RF), lb = bound(lead, nb, to, l->np);
    planner_options o = { .target = target, .ntarget = to, .max_moves_per_batch = batch };
    planner_plan *pl = NULL;
    double best = 1e18;
    for (int r = 0; r < runs; r++) {
        planner_plan_free(pl);
        double t0 = now_ms();
        planner_err e = planner_plan_build(c, &o, &pl);
        double t = now_ms() - t0;
        if (e) { fprintf(stderr, "%s %d->%d: %s\n", label, from, to, planner_strerror(e)); return 1; }
        if (t < best) best = t;
    }
    double t0 = now_ms();
    char *json = planner_plan_json(pl, -1, false);
    double tj = now_ms() - t0;
    long moves = 0, lchanges = 0;
    for (int i = 0; i < planner_plan_changes(pl); i++) {
        const planner_change *ch = planner_plan_change(pl, i);
        int32_t *r = l->rep[ch->partition_index];
        for (int k = 0; k < RF; k++) {
            int old = 0;
            for (int j = 0; j < RF; j++) old |= r[j] == ch->replicas[k];
            moves += !old;
        }
        lchanges += r[0] != ch->replicas[0];
        memcpy(r, ch->replicas, sizeof(int32_t) * RF);
    }
    l->nb = to;
    counts(l, to, rep, lead);
    printf("| %s | %d -> %d | %.1f | %ld | %ld | %.3f | %ld | %ld | %.3f | %ld | %ld | %d | %zu KB / %.1f ms |\n",
           label, from, to, best, moves, mb, mb ? (double)moves / (double)mb : 1.0, lchanges, lb,
           lb ? (double)lchanges / (double)lb : 1.0, skew(rep, to), skew(lead, to), planner_plan_batches(pl),
           json ? strlen(json) / 1024 : 0, tj);
    free(json);
    planner_plan_free(pl);
    planner_cluster_free(c);
    return 0;
}

int main(int argc, char **argv)
{
    int topics = argc > 1 ? atoi(argv[1]) : 1000, runs = argc > 2 ? atoi(argv[2]) : 5,
        batch = argc > 3 ? atoi(argv[3]) : 1000;
    layout l = { .np = topics * PARTS };
    l.rep = calloc((size_t)l.np, sizeof *l.rep);
    if (!l.rep || topics < 1 || runs < 1) return 2;
    printf("%d topics x %d partitions x RF %d = %d replicas, 3 racks; plan time = CPU ms, best of %d; batches of <= %d moves\n\n",
           topics, PARTS, RF, l.np * RF, runs, batch);
    printf("| layout | brokers | plan ms (CPU) | moves | min moves | ratio | leader changes | min | ratio | replica skew | leader skew | batches | JSON size / CPU ms |\n");
    printf("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
    const int from[] = { 3, 6, 12, 30, 12, 6 }, to[] = { 6, 12, 30, 12, 6, 3 };
    int rc = 0;
    kafka_style(&l, 3);
    for (int i = 0; i < 6; i++) rc |= step(&l, to[i], runs, batch, "chain");
    for (int i = 0; i < 6; i++) {
        random_layout(&l, from[i], 42u + (unsigned)i);
        rc |= step(&l, to[i], runs, batch, "random");
    }
    random_layout(&l, 12, 7u);
    rc |= step(&l, 12, runs, batch, "random");
    free(l.rep);
    return rc;
}
