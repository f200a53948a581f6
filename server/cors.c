/* cors.c — Cross-Origin Resource Sharing, for portals that call the API from
 * a browser page served by another origin.
 *
 * Off unless --cors-origins lists origins: then a browser page from one of
 * them may call the API (its preflight is answered, its answers carry
 * Access-Control-Allow-Origin naming it); a page from any other origin gets
 * no CORS header, so its browser neither sends the bearer token nor shows it
 * an answer. Origins are matched exactly (scheme, host, port); there is no
 * wildcard, and Access-Control-Allow-Credentials is never sent: tokens
 * travel in Authorization, which CORS allows through Allow-Headers, and the
 * API sets no cookies. The list is a string of at most a few origins: a
 * linear scan per request costs less than the header lookup before it. */
#include "cors.h"

#include <stdio.h>
#include <string.h>

/* scheme://host[:port], nothing after: what a browser sends as Origin. */
static bool origin_valid(const char *o, size_t n)
{
    size_t skip = n >= 7 && strncmp(o, "http://", 7) == 0 ? 7 : n >= 8 && strncmp(o, "https://", 8) == 0 ? 8 : 0;
    if (!skip || skip == n) return false;
    for (size_t i = skip; i < n; i++) {
        char c = o[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
                  c == ':' || c == '[' || c == ']';
        if (!ok) return false;
    }
    return true;
}

int cors_parse(const char *list, char *err, size_t cap)
{
    const char *p = list;
    while (*p) {
        size_t n = strcspn(p, ",");
        if (!origin_valid(p, n)) {
            snprintf(err, cap, "'%.*s' is not an origin (want scheme://host[:port] in lower case, "
                     "no path, no wildcard)", (int)(n > 200 ? 200 : n), p);
            return -1;
        }
        p += n;
        if (*p == ',') p++;
    }
    return 0;
}

bool cors_allowed(const char *list, const char *origin)
{
    if (!list || !*list || !origin) return false;
    size_t on = strlen(origin);
    for (const char *p = list; *p;) {
        size_t n = strcspn(p, ",");
        if (n == on && memcmp(p, origin, n) == 0) return true;
        p += n;
        if (*p == ',') p++;
    }
    return false;
}
