/* selector.c — label selectors (`a=b`, `a!=b`, `a`, `!a`, `a in (x,y)`,
 * `a notin (x)`, comma meaning AND) and the simple field selectors
 * (`metadata.name=x`, `status.phase!=Running`) that LIST accepts. */
#define _GNU_SOURCE
#include "ksim.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { OP_EQ, OP_NE, OP_EXISTS, OP_NOT_EXISTS, OP_IN, OP_NOTIN } selop;

typedef struct req {
    char *key;
    selop op;
    char **vals;
    size_t nvals;
} req;

struct ksel {
    req *v;
    size_t n;
};

static char *trimdup(const char *a, const char *b)
{
    while (a < b && isspace((unsigned char)*a)) a++;
    while (b > a && isspace((unsigned char)b[-1])) b--;
    /* b >= a here; said outright so that GCC's -O2/-O3 range analysis does
     * not see a negative length (-Wstringop-overread in Release builds) */
    size_t n = b > a ? (size_t)(b - a) : 0;
    return strndup(a, n);
}

static bool valid_token(const char *s, bool allow_empty)
{
    if (!*s) return allow_empty;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("-_./", *s)) return false;
    return true;
}

static bool parse_set(req *r, const char *a, const char *b)
{
    while (a < b && isspace((unsigned char)*a)) a++;
    if (a >= b || *a != '(' || b[-1] != ')') return false;
    const char *p = a + 1, *end = b - 1;
    while (p <= end) {
        const char *c = memchr(p, ',', (size_t)(end - p));
        if (!c) c = end;
        char *v = trimdup(p, c);
        r->vals = realloc(r->vals, (r->nvals + 1) * sizeof *r->vals);
        r->vals[r->nvals++] = v;
        if (!valid_token(v, true)) return false;
        p = c + 1;
    }
    return r->nvals > 0;
}

static bool parse_req(req *r, const char *a, const char *b)
{
    char *s = trimdup(a, b);
    bool ok = true;
    char *op;
    if (s[0] == '!') {
        r->op = OP_NOT_EXISTS;
        r->key = trimdup(s + 1, s + strlen(s));
    } else if ((op = strstr(s, "!="))) {
        r->op = OP_NE;
        r->key = trimdup(s, op);
        r->vals = malloc(sizeof *r->vals);
        r->vals[r->nvals++] = trimdup(op + 2, s + strlen(s));
    } else if ((op = strchr(s, '='))) {
        r->op = OP_EQ;
        r->key = trimdup(s, op);
        const char *v = op + 1 + (op[1] == '=');
        r->vals = malloc(sizeof *r->vals);
        r->vals[r->nvals++] = trimdup(v, s + strlen(s));
    } else if ((op = strstr(s, " notin ")) || (op = strstr(s, " in "))) {
        bool notin = strncmp(op, " notin ", 7) == 0;
        r->op = notin ? OP_NOTIN : OP_IN;
        r->key = trimdup(s, op);
        ok = parse_set(r, op + (notin ? 7 : 4), s + strlen(s));
    } else {
        r->op = OP_EXISTS;
        r->key = trimdup(s, s + strlen(s));
    }
    ok = ok && valid_token(r->key, false);
    for (size_t i = 0; ok && i < r->nvals; i++) ok = valid_token(r->vals[i], true);
    free(s);
    return ok;
}

ksel *sel_parse(const char *text, char **err)
{
    ksel *s = calloc(1, sizeof *s);
    const char *p = text ? text : "";
    while (*p) {
        const char *q = p;
        int depth = 0;
        while (*q && (depth || *q != ',')) {
            if (*q == '(') depth++;
            if (*q == ')') depth--;
            q++;
        }
        s->v = realloc(s->v, (s->n + 1) * sizeof *s->v);
        req *r = &s->v[s->n++];
        memset(r, 0, sizeof *r);
        if (!parse_req(r, p, q)) {
            if (asprintf(err, "unable to parse requirement: found '%.*s'", (int)(q - p), p) < 0) *err = NULL;
            sel_free(s);
            return NULL;
        }
        p = *q ? q + 1 : q;
    }
    return s;
}

static bool in_set(const req *r, const char *v)
{
    for (size_t i = 0; i < r->nvals; i++)
        if (strcmp(r->vals[i], v) == 0) return true;
    return false;
}

bool sel_match(const ksel *s, json_t *labels)
{
    for (size_t i = 0; i < s->n; i++) {
        const req *r = &s->v[i];
        const char *v = json_string_value(json_object_get(labels, r->key));
        bool ok;
        switch (r->op) {
        case OP_EQ: ok = v && strcmp(v, r->vals[0]) == 0; break;
        case OP_NE: ok = !v || strcmp(v, r->vals[0]) != 0; break;
        case OP_EXISTS: ok = v != NULL; break;
        case OP_NOT_EXISTS: ok = v == NULL; break;
        case OP_IN: ok = v && in_set(r, v); break;
        default: ok = !v || !in_set(r, v); break;
        }
        if (!ok) return false;
    }
    return true;
}

void sel_free(ksel *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].key);
        for (size_t j = 0; j < s->v[i].nvals; j++) free(s->v[i].vals[j]);
        free(s->v[i].vals);
    }
    free(s->v);
    free(s);
}

/* Calls fn on each "path op value" term; stops at the first false. */
static bool each_term(const char *text, json_t *obj, bool check_only)
{
    char *copy = strdup(text ? text : ""), *save = NULL;
    bool ok = true;
    for (char *t = strtok_r(copy, ",", &save); ok && t; t = strtok_r(NULL, ",", &save)) {
        char *op = strstr(t, "!=");
        bool ne = op != NULL;
        if (!op) op = strchr(t, '=');
        if (!op || op == t) { ok = false; break; }
        *op = 0;
        const char *val = op + (ne ? 2 : (op[1] == '=' ? 2 : 1));
        if (check_only) continue;
        json_t *j = jget(obj, t);
        const char *s = json_string_value(j);
        char num[32];
        if (json_is_integer(j)) {
            snprintf(num, sizeof num, "%lld", (long long)json_integer_value(j));
            s = num;
        }
        bool eq = s ? strcmp(s, val) == 0 : val[0] == 0;
        ok = ne ? !eq : eq;
    }
    free(copy);
    return ok;
}

bool fieldsel_valid(const char *text) { return each_term(text, NULL, true); }
bool fieldsel_match(const char *text, json_t *obj) { return each_term(text, obj, false); }
