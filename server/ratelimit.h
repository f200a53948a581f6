/* ratelimit.h — per-credential token buckets. */
#ifndef SP_RATELIMIT_H
#define SP_RATELIMIT_H

#include <stdbool.h>

typedef struct ratelimit ratelimit;

/* rate tokens per second, burst capacity; rate <= 0 disables. */
ratelimit *ratelimit_new(double rate, int burst);
void ratelimit_free(ratelimit *rl);
bool ratelimit_enabled(const ratelimit *rl);
/* Takes one token for key. Returns true if allowed; fills remaining tokens
 * and seconds until a token is available (retry_after, >= 1 when denied)
 * and until the bucket is full (reset). */
bool ratelimit_take(ratelimit *rl, const char *key, int *remaining, int *retry_after, int *reset);
int ratelimit_burst(const ratelimit *rl);
/* True when key has a token left (none is taken); else *retry_after says
 * in how many seconds it will. */
bool ratelimit_peek(ratelimit *rl, const char *key, int *retry_after);

#endif
