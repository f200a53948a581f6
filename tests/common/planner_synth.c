/* planner_synth.c — see planner_synth.h. */
#define _GNU_SOURCE
#include "planner_synth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int synth_init(synth_layout *l, int topics)
{
    memset(l, 0, sizeof *l);
    if (topics < 1) return -1;
    l->np = topics * SYNTH_PARTS;
    l->rep = calloc((size_t)l->np, sizeof *l->rep);
    return l->rep ? 0 : -1;
}

void synth_free(synth_layout *l)
{
    free(l->rep);
    memset(l, 0, sizeof *l);
}

int synth_rack_of(int32_t id) { return id % 3; }

static bool clash(const int32_t *r, int n, int b)
{
    for (int j = 0; j < n; j++)
        if (synth_rack_of(r[j]) == synth_rack_of(b) || r[j] == b) return true;
    return false;
}

void synth_kafka_style(synth_layout *l, int nb)
{
    l->nb = nb;
    for (int p = 0; p < l->np; p++) {
        int t = p / SYNTH_PARTS, q = p % SYNTH_PARTS, start = (t * 7 + q) % nb, n = 0;
        int32_t *r = l->rep[p];
        for (int i = 0; n < SYNTH_RF && i < nb; i++) {
            int b = (start + i * (1 + t % 2)) % nb;
            if (!clash(r, n, b)) r[n++] = b;
        }
        for (int i = 0; n < SYNTH_RF; i++) {   /* the stride missed a rack: plain order */
            int b = (start + i) % nb;
            if (!clash(r, n, b)) r[n++] = b;
        }
    }
}

void synth_random(synth_layout *l, int nb, unsigned seed)
{
    l->nb = nb;
    unsigned x = seed;
    for (int p = 0; p < l->np; p++) {
        int order[3] = { 0, 1, 2 };
        for (int i = 2; i > 0; i--) {
            x = x * 1103515245u + 12345u;
            int j = (int)((x >> 16) % (unsigned)(i + 1)), t = order[i];
            order[i] = order[j]; order[j] = t;
        }
        for (int i = 0; i < SYNTH_RF; i++) {
            x = x * 1103515245u + 12345u;
            int per_rack = (nb - order[i] + 2) / 3;   /* brokers with id % 3 == order[i] */
            l->rep[p][i] = order[i] + 3 * (int)((x >> 16) % (unsigned)per_rack);
        }
    }
}

planner_cluster *synth_cluster(const synth_layout *l, int nb, char *err, size_t errlen)
{
    planner_cluster *c = planner_cluster_new();
    planner_err e = c ? PLANNER_OK : PLANNER_ERR_NOMEM;
    char name[32], rack[8];
    for (int b = 0; b < nb && e == PLANNER_OK; b++) {
        snprintf(rack, sizeof rack, "r%d", synth_rack_of(b));
        e = planner_add_broker(c, b, rack);
    }
    for (int p = 0; p < l->np && e == PLANNER_OK; p++) {
        if (p % SYNTH_PARTS == 0) {
            snprintf(name, sizeof name, "topic-%05d", p / SYNTH_PARTS);
            int t = planner_add_topic(c, name);
            if (t != p / SYNTH_PARTS) { e = t < 0 ? (planner_err)-t : PLANNER_ERR_INVALID; break; }
        }
        e = planner_add_partition(c, p / SYNTH_PARTS, p % SYNTH_PARTS, l->rep[p], SYNTH_RF);
    }
    if (e == PLANNER_OK) return c;
    snprintf(err, errlen, "the synthetic layout does not load: %s", planner_strerror(e));
    planner_cluster_free(c);
    return NULL;
}

void synth_counts(const synth_layout *l, int nb, long *replicas, long *leaders)
{
    memset(replicas, 0, (size_t)nb * sizeof *replicas);
    memset(leaders, 0, (size_t)nb * sizeof *leaders);
    for (int p = 0; p < l->np; p++) {
        leaders[l->rep[p][0]]++;
        for (int i = 0; i < SYNTH_RF; i++) replicas[l->rep[p][i]]++;
    }
}

long synth_min_moves(const long *count, int nb, int ntarget, long total)
{
    long order[SYNTH_MAXB], bound = 0;
    for (int b = ntarget; b < nb; b++) bound += count[b];   /* leaving: share 0 */
    memcpy(order, count, (size_t)ntarget * sizeof *order);
    for (int i = 1; i < ntarget; i++)
        for (int j = i; j > 0 && order[j - 1] < order[j]; j--) {
            long t = order[j]; order[j] = order[j - 1]; order[j - 1] = t;
        }
    for (int i = 0; i < ntarget; i++) {
        long share = total / ntarget + (i < total % ntarget ? 1 : 0);
        if (order[i] > share) bound += order[i] - share;
    }
    return bound;
}
