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
#include "tests/common/planner_synth.h"

#define PARTS SYNTH_PARTS
#define RF    SYNTH_RF
#define MAXB  SYNTH_MAXB

typedef synth_layout layout;

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
    char err[200];
    planner_cluster *c = synth_cluster(l, nb, err, sizeof err);
    if (!c) { fprintf(stderr, "%s\n", err); return 1; }
    int32_t target[MAXB];
    for (int b = 0; b < to; b++) target[b] = b;
    long rep[MAXB], lead[MAXB];
    synth_counts(l, nb, rep, lead);
    long mb = synth_min_moves(rep, nb, to, (long)l->np * RF), lb = synth_min_moves(lead, nb, to, l->np);
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
    synth_counts(l, to, rep, lead);
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
    layout l;
    if (runs < 1 || synth_init(&l, topics) != 0) return 2;
    printf("%d topics x %d partitions x RF %d = %d replicas, 3 racks; plan time = CPU ms, best of %d; batches of <= %d moves\n\n",
           topics, PARTS, RF, l.np * RF, runs, batch);
    printf("| layout | brokers | plan ms (CPU) | moves | min moves | ratio | leader changes | min | ratio | replica skew | leader skew | batches | JSON size / CPU ms |\n");
    printf("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
    const int from[] = { 3, 6, 12, 30, 12, 6 }, to[] = { 6, 12, 30, 12, 6, 3 };
    int rc = 0;
    synth_kafka_style(&l, 3);
    for (int i = 0; i < 6; i++) rc |= step(&l, to[i], runs, batch, "chain");
    for (int i = 0; i < 6; i++) {
        synth_random(&l, from[i], 42u + (unsigned)i);
        rc |= step(&l, to[i], runs, batch, "random");
    }
    synth_random(&l, 12, 7u);
    rc |= step(&l, 12, runs, batch, "random");
    synth_free(&l);
    return rc;
}
