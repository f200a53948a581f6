/* ratelimit.c — a fixed-size hash table of token buckets under one mutex.
 * When the table is full the bucket that was used longest ago is reused:
 * losing an idle bucket only refills it, which is the safe direction. */
#define _GNU_SOURCE
#include "ratelimit.h"
#include "../common/util.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 4096

typedef struct bucket { char key[48]; double tokens; int64_t last_us; } bucket;

struct ratelimit {
    double rate;
    int burst;
    pthread_mutex_t mu;
    bucket *slots;
};

ratelimit *ratelimit_new(double rate, int burst)
{
    ratelimit *rl = calloc(1, sizeof *rl);
    if (!rl) return NULL;
    rl->rate = rate;
    rl->burst = burst < 1 ? 1 : burst;
    pthread_mutex_init(&rl->mu, NULL);
    rl->slots = calloc(SLOTS, sizeof *rl->slots);
    if (!rl->slots) { free(rl); return NULL; }
    return rl;
}

void ratelimit_free(ratelimit *rl)
{
    if (!rl) return;
    pthread_mutex_destroy(&rl->mu);
    free(rl->slots);
    free(rl);
}

bool ratelimit_enabled(const ratelimit *rl) { return rl && rl->rate > 0; }
int ratelimit_burst(const ratelimit *rl) { return rl->burst; }

static unsigned hash(const char *s)
{
    unsigned h = 2166136261u;
    while (*s) h = (h ^ (unsigned char)*s++) * 16777619u;
    return h;
}

/* The key's bucket, refilled up to now; a new one (full) when absent. Called
 * with the mutex held. */
static bucket *bucket_of(ratelimit *rl, const char *key, int64_t now)
{
    unsigned h = hash(key) % SLOTS;
    bucket *b = NULL, *oldest = NULL;
    for (int i = 0; i < 8 && !b; i++) {      /* probe 8 slots */
        bucket *s = &rl->slots[(h + (unsigned)i) % SLOTS];
        if (strcmp(s->key, key) == 0) b = s;
        else if (!oldest || s->last_us < oldest->last_us) oldest = s;
    }
    if (!b) {
        b = oldest;
        strncpy(b->key, key, sizeof b->key - 1);
        b->key[sizeof b->key - 1] = 0;
        b->tokens = rl->burst;
        b->last_us = now;
    }
    b->tokens += (double)(now - b->last_us) / 1e6 * rl->rate;
    if (b->tokens > rl->burst) b->tokens = rl->burst;
    b->last_us = now;
    return b;
}

bool ratelimit_peek(ratelimit *rl, const char *key, int *retry_after)
{
    pthread_mutex_lock(&rl->mu);
    bucket *b = bucket_of(rl, key, sp_mono_us());
    bool ok = b->tokens >= 1.0;
    *retry_after = ok ? 0 : (int)ceil((1.0 - b->tokens) / rl->rate);
    if (!ok && *retry_after < 1) *retry_after = 1;
    pthread_mutex_unlock(&rl->mu);
    return ok;
}

bool ratelimit_take(ratelimit *rl, const char *key, int *remaining, int *retry_after, int *reset)
{
    pthread_mutex_lock(&rl->mu);
    bucket *b = bucket_of(rl, key, sp_mono_us());
    bool ok = b->tokens >= 1.0;
    if (ok) b->tokens -= 1.0;
    *remaining = (int)floor(b->tokens);
    *retry_after = ok ? 0 : (int)ceil((1.0 - b->tokens) / rl->rate);
    if (!ok && *retry_after < 1) *retry_after = 1;
    *reset = (int)ceil((rl->burst - b->tokens) / rl->rate);
    pthread_mutex_unlock(&rl->mu);
    return ok;
}
