/* breaker.h — a circuit breaker per data plane. After a few failures in a
 * row (connection refused, timeouts, 5xx) a data plane's circuit opens:
 * its clusters stop calling it for a while (doubling, capped), so a dead
 * data plane costs one probe per period instead of every worker's
 * timeout, and the workers stay free for the other data planes. One call
 * goes through when the period ends (half-open); success closes it. */
#ifndef SP_BREAKER_H
#define SP_BREAKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "../common/util.h"

/* 256 data planes, ~80 bytes each; a data plane past that is never broken
 * (its calls always go through). */
#define BREAKER_SLOTS 256

typedef struct breakers {
    pthread_mutex_t mu;
    sp_clock clock;            /* the periods' clock (tests drive it) */
    struct { char key[48]; int failures; int64_t open_until_ms; int64_t period_ms; bool probing; } s[BREAKER_SLOTS];
    int n;
    int threshold;             /* failures in a row that open the circuit */
} breakers;

void breakers_init(breakers *b, int threshold);
void breakers_destroy(breakers *b);
/* May this key be called now? If not, *wait_ms says for how long. */
bool breaker_allow(breakers *b, const char *key, int64_t *wait_ms);
void breakers_set_clock(breakers *b, const sp_clock *c);

/* How an allowed turn ended. Every breaker_allow() that returned true is
 * followed by one breaker_done(): a turn that made no call to the data
 * plane (it failed before, or had nothing to ask) neither closes an open
 * circuit nor keeps a half-open one waiting for an answer that never
 * comes. */
typedef enum { BREAKER_CALL_OK = 0, BREAKER_CALL_FAILED, BREAKER_NO_CALL } breaker_outcome;
void breaker_done(breakers *b, const char *key, breaker_outcome o);
void breaker_success(breakers *b, const char *key);   /* breaker_done(BREAKER_CALL_OK) */
void breaker_failure(breakers *b, const char *key);   /* breaker_done(BREAKER_CALL_FAILED) */
bool breaker_is_open(breakers *b, const char *key);

#endif
