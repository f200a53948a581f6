/* breaker.c — see breaker.h. A small array under a mutex: one entry per
 * data plane that ever failed. */
#define _GNU_SOURCE
#include "breaker.h"
#include "../common/util.h"

#include <stdio.h>
#include <string.h>

#define FIRST_PERIOD_MS 1000
#define MAX_PERIOD_MS 30000

void breakers_init(breakers *b, int threshold)
{
    memset(b, 0, sizeof *b);
    pthread_mutex_init(&b->mu, NULL);
    b->threshold = threshold > 0 ? threshold : 3;
}

void breakers_destroy(breakers *b) { pthread_mutex_destroy(&b->mu); }

void breakers_set_clock(breakers *b, const sp_clock *c)
{
    pthread_mutex_lock(&b->mu);
    if (c) b->clock = *c;
    else memset(&b->clock, 0, sizeof b->clock);
    pthread_mutex_unlock(&b->mu);
}

static int slot(breakers *b, const char *key, bool create)
{
    for (int i = 0; i < b->n; i++)
        if (strcmp(b->s[i].key, key) == 0) return i;
    if (!create || b->n == BREAKER_SLOTS) return -1;
    int i = b->n++;
    memset(&b->s[i], 0, sizeof b->s[i]);
    snprintf(b->s[i].key, sizeof b->s[i].key, "%s", key);
    return i;
}

bool breaker_allow(breakers *b, const char *key, int64_t *wait_ms)
{
    bool ok = true;
    *wait_ms = 0;
    pthread_mutex_lock(&b->mu);
    int i = slot(b, key, false);
    if (i >= 0 && b->s[i].open_until_ms) {
        int64_t now = sp_clock_mono_ms(&b->clock);
        if (now < b->s[i].open_until_ms || b->s[i].probing) {
            ok = false;
            *wait_ms = b->s[i].open_until_ms > now ? b->s[i].open_until_ms - now : 500;
        } else
            b->s[i].probing = true;      /* half-open: this one call finds out */
    }
    pthread_mutex_unlock(&b->mu);
    return ok;
}

void breaker_success(breakers *b, const char *key)
{
    pthread_mutex_lock(&b->mu);
    int i = slot(b, key, false);
    if (i >= 0) {
        b->s[i].failures = 0;
        b->s[i].open_until_ms = 0;
        b->s[i].period_ms = 0;
        b->s[i].probing = false;
    }
    pthread_mutex_unlock(&b->mu);
}

void breaker_failure(breakers *b, const char *key)
{
    pthread_mutex_lock(&b->mu);
    int i = slot(b, key, true);
    if (i >= 0) {
        b->s[i].failures++;
        if (b->s[i].probing || b->s[i].failures >= b->threshold) {
            int64_t p = b->s[i].period_ms ? b->s[i].period_ms * 2 : FIRST_PERIOD_MS;
            b->s[i].period_ms = p > MAX_PERIOD_MS ? MAX_PERIOD_MS : p;
            b->s[i].open_until_ms = sp_clock_mono_ms(&b->clock) + b->s[i].period_ms;
        }
        b->s[i].probing = false;
    }
    pthread_mutex_unlock(&b->mu);
}

bool breaker_is_open(breakers *b, const char *key)
{
    pthread_mutex_lock(&b->mu);
    int i = slot(b, key, false);
    bool open = i >= 0 && b->s[i].open_until_ms > 0;
    pthread_mutex_unlock(&b->mu);
    return open;
}

void breaker_done(breakers *b, const char *key, breaker_outcome o)
{
    if (o == BREAKER_CALL_OK) { breaker_success(b, key); return; }
    if (o == BREAKER_CALL_FAILED) { breaker_failure(b, key); return; }
    pthread_mutex_lock(&b->mu);
    int i = slot(b, key, false);
    if (i >= 0) b->s[i].probing = false;   /* the next turn may probe */
    pthread_mutex_unlock(&b->mu);
}
