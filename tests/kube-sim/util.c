/* util.c — small helpers every kube-sim part uses: clocks and timestamps,
 * dotted-path access into JSON objects, Kubernetes quantities, hashes. */
#define _GNU_SOURCE
#include "ksim.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void rfc3339_now(char buf[32])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Walks "a.b.c"; create makes missing objects on the way. */
static json_t *walk(json_t *obj, const char *dotted, bool create)
{
    char key[256];
    const char *p = dotted;
    json_t *cur = obj;
    while (cur && *p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (n >= sizeof key || !json_is_object(cur)) return NULL;
        memcpy(key, p, n);
        key[n] = 0;
        json_t *next = json_object_get(cur, key);
        if (!next && create) {
            next = json_object();
            json_object_set_new(cur, key, next);
        }
        cur = next;
        p = dot ? dot + 1 : p + n;
    }
    return cur;
}

json_t *jget(json_t *obj, const char *dotted) { return walk(obj, dotted, false); }

const char *jstr_at(json_t *obj, const char *dotted)
{
    return json_string_value(walk(obj, dotted, false));
}

json_t *jobj_at(json_t *obj, const char *dotted)
{
    json_t *o = walk(obj, dotted, true);
    return json_is_object(o) ? o : NULL;
}

json_t *jmeta(json_t *obj) { return jobj_at(obj, "metadata"); }

double quantity_parse(const char *q)
{
    static const struct { const char *suf; double mul; } sufs[] = {
        {"Ki", 1024.0}, {"Mi", 1048576.0}, {"Gi", 1073741824.0}, {"Ti", 1099511627776.0},
        {"Pi", 1125899906842624.0}, {"Ei", 1152921504606846976.0},
        {"k", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12}, {"P", 1e15}, {"E", 1e18},
        {"m", 1e-3}, {"", 1.0},
    };
    if (!q || !*q) return -1;
    char *end;
    double v = strtod(q, &end);
    if (end == q || v < 0 || !isfinite(v)) return -1;
    for (size_t i = 0; i < sizeof sufs / sizeof sufs[0]; i++)
        if (strcmp(end, sufs[i].suf) == 0) return v * sufs[i].mul;
    return -1;
}

uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

void json_hash(json_t *v, char out[16])
{
    /* Kubernetes revision hashes use these letters (no vowels). */
    static const char alpha[] = "bcdfghjklmnpqrstvwxz2456789";
    char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    uint64_t h = fnv1a(s ? s : "");
    free(s);
    for (int i = 0; i < 10; i++) {
        out[i] = alpha[h % (sizeof alpha - 1)];
        h /= (sizeof alpha - 1);
    }
    out[10] = 0;
}
