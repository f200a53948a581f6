/* cors.h — the allowed origins of --cors-origins (see cors.c). */
#ifndef SP_CORS_H
#define SP_CORS_H

#include <stdbool.h>
#include <stddef.h>

/* Request headers a page may send, response headers it may read. */
#define CORS_ALLOW_HEADERS "Authorization, Content-Type, If-Match, Idempotency-Key, X-Request-Id"
#define CORS_EXPOSE_HEADERS "ETag, Location, Operation-Location, Retry-After, RateLimit-Limit, " \
                            "RateLimit-Remaining, RateLimit-Reset, X-Request-Id"
#define CORS_MAX_AGE "600"

/* Checks a comma-separated list of origins; -1 with a message in err. */
int cors_parse(const char *list, char *err, size_t cap);
/* True when origin is on the list (exact match). */
bool cors_allowed(const char *list, const char *origin);

#endif
