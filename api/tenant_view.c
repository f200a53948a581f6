/* tenant_view.c — what a tenant sees of the server's own words.
 *
 * Conditions, operation steps and errors are written by the workers in the
 * operator's terms: the data plane's API server URL, the server's paths,
 * the Kubernetes API server's messages. A tenant can act on none of that,
 * and it tells them about infrastructure that is not theirs. Every answer to
 * a tenant passes through api_tenant_view() on its way out: a data-plane
 * condition says what it means for the tenant, URLs and absolute paths are
 * replaced, server paths are dropped. The operator sees the stored words.
 *
 * Cost: one walk over the answer's JSON (bounded by the answer). */
#define _GNU_SOURCE
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DATA_PLANE_TROUBLE                                                                          \
    "the Kubernetes cluster hosting this cluster cannot be reached or refused a request; streamplane " \
    "keeps retrying and the operator sees the details; the cluster's desired state is kept"

/* Keys never shown to a tenant. */
static const char *const HIDDEN[] = {"manifests_path", NULL};
/* Keys whose string values are the server's words. */
static const char *const WORDS[] = {"message", "live_error", "error", NULL};

static bool in(const char *k, const char *const *list)
{
    for (int i = 0; list[i]; i++)
        if (strcmp(k, list[i]) == 0) return true;
    return false;
}

static bool path_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '/' ||
           c == '.' || c == '_' || c == '-' || c == '+' || c == '%' || c == '~';
}

/* s with every URL and absolute path replaced (a new string). A path is a
 * '/' at a word's start followed by a name and at least one more '/'. */
char *api_tenant_text(const char *s)
{
    size_t n = strlen(s), cap = n * 2 + 64, o = 0;
    char *out = malloc(cap);
    if (!out) return NULL;
    for (size_t i = 0; i < n;) {
        const char *rep = NULL;
        size_t skip = 0;
        const char *colon = strstr(s + i, "://");
        bool at_word = i == 0 || strchr(" \t(\"'=,:[", s[i - 1]);
        if (colon && at_word && (size_t)(colon - s) > i && (size_t)(colon - s) - i <= 8) {
            bool scheme = true;
            for (const char *p = s + i; p < colon && scheme; p++) scheme = (*p >= 'a' && *p <= 'z');
            if (scheme) {
                skip = (size_t)(colon - s) - i + 3;
                while (i + skip < n && (path_char(s[i + skip]) || s[i + skip] == ':' || s[i + skip] == '@' ||
                                        s[i + skip] == '[' || s[i + skip] == ']' || s[i + skip] == '?' ||
                                        s[i + skip] == '&' || s[i + skip] == '='))
                    skip++;
                rep = "(an address on the data plane)";
            }
        }
        if (!rep && s[i] == '/' && at_word && i + 1 < n && path_char(s[i + 1]) && s[i + 1] != '/') {
            size_t j = i + 1;
            while (j < n && path_char(s[j])) j++;
            if (memchr(s + i + 1, '/', j - i - 1)) { rep = "(a path on the server)"; skip = j - i; }
        }
        if (rep) {
            size_t rl = strlen(rep);
            memcpy(out + o, rep, rl);
            o += rl;
            i += skip;
        } else
            out[o++] = s[i++];
        if (o + 40 >= cap) {
            cap *= 2;
            char *nb = realloc(out, cap);
            if (!nb) { free(out); return NULL; }
            out = nb;
        }
    }
    out[o] = 0;
    return out;
}

static void scrub_string(json_t *obj, const char *key, json_t *v)
{
    char *t = api_tenant_text(json_string_value(v));
    if (t) json_object_set_new(obj, key, json_string(t));
    else json_object_set_new(obj, key, json_string("(details withheld)"));
    free(t);
}

/* A condition or step about reaching the data plane: the tenant's version. */
static bool data_plane_trouble(const json_t *o)
{
    const char *type = json_string_value(json_object_get(o, "type"));
    const char *status = json_string_value(json_object_get(o, "status"));
    const char *name = json_string_value(json_object_get(o, "name"));
    if (type && strcmp(type, "DataPlaneReachable") == 0) return status && strcmp(status, "True") != 0;
    return name && (strcmp(name, "reach the data plane") == 0 || strcmp(name, "connect to the data plane") == 0);
}

void api_tenant_view(json_t *j)
{
    if (json_is_array(j)) {
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v) api_tenant_view(v);
        return;
    }
    if (!json_is_object(j)) return;
    for (int i = 0; HIDDEN[i]; i++) json_object_del(j, HIDDEN[i]);
    bool trouble = data_plane_trouble(j);
    const char *k;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(j, tmp, k, v) {
        if (json_is_string(v) && in(k, WORDS)) {
            if (trouble && strcmp(k, "message") == 0) json_object_set_new(j, k, json_string(DATA_PLANE_TROUBLE));
            else scrub_string(j, k, v);
        } else
            api_tenant_view(v);
    }
}
