/* props.c — see props.h. */
#define _GNU_SOURCE
#include "props.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const cfgrule *props_rule(const cfgrule *rules, int n, const char *key)
{
    for (int i = 0; i < n; i++)
        if (strcmp(rules[i].key, key) == 0) return &rules[i];
    return NULL;
}

bool props_prefixed(const char *k, const char *const *prefixes)
{
    for (int i = 0; prefixes[i]; i++)
        if (strncmp(k, prefixes[i], strlen(prefixes[i])) == 0) return true;
    return false;
}

/* A Kafka integer property: an optional '-' and digits, nothing else. */
static bool parse_ll(const char *s, long long *out)
{
    if (!s || !*s || strlen(s) > 20) return false;
    for (const char *p = s + (*s == '-'); ; p++) {
        if (!*p) { if (p == s + (*s == '-')) return false; break; }
        if (*p < '0' || *p > '9') return false;
    }
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (*end || errno) return false;
    *out = x;
    return true;
}

/* A list-valued property, item by item: each one of vals, none empty, none
 * twice ("delete,compact"; not ",delete,,compact," or "delete,delete"). */
static void validate_list(verrs *v, const char *f, const char *s, const char *const *vals)
{
    char allowed[128] = "";
    for (int i = 0; vals[i]; i++)
        snprintf(allowed + strlen(allowed), sizeof allowed - strlen(allowed), "%s%s", i ? ", " : "", vals[i]);
    unsigned seen = 0;
    const char *p = s;
    do {
        size_t n = strcspn(p, ",");
        int hit = -1;
        for (int i = 0; vals[i] && hit < 0; i++)
            if (strlen(vals[i]) == n && strncmp(p, vals[i], n) == 0) hit = i;
        if (n == 0) { verr(v, f, "has an empty item: give a comma-separated list of: %s", allowed); return; }
        if (hit < 0) { verr(v, f, "has the item '%.*s': each item must be one of: %s", (int)(n > 64 ? 64 : n), p, allowed); return; }
        if (seen & (1u << hit)) { verr(v, f, "names '%s' twice", vals[hit]); return; }
        seen |= 1u << hit;
        p += n;
    } while (*p++ == ',');
}

void props_check(verrs *v, const char *f, const cfgrule *r, const json_t *val, long long *num)
{
    if (!json_is_string(val)) { verr(v, f, "must be a string, e.g. \"2\" (Kafka properties are strings)"); return; }
    const char *s = json_string_value(val);
    long long x;
    switch (r->t) {
    case CT_INT:
        if (!parse_ll(s, &x)) verr(v, f, "must be an integer in a string");
        else if (x < r->lo || x > r->hi) verr(v, f, "must be between %lld and %lld", r->lo, r->hi);
        else if (num) *num = x;
        break;
    case CT_BOOL:
        if (strcmp(s, "true") != 0 && strcmp(s, "false") != 0) verr(v, f, "must be \"true\" or \"false\"");
        break;
    case CT_ENUM: {
        bool ok = false;
        for (int i = 0; r->vals[i] && !ok; i++) ok = strcmp(s, r->vals[i]) == 0;
        if (!ok) verr(v, f, "has an unsupported value");
        break;
    }
    case CT_LIST:
        validate_list(v, f, s, r->vals);
        break;
    }
}
