/* yamlout.c — a block-style YAML writer over open_memstream. */
#define _GNU_SOURCE
#include "yamlout.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void scalar(FILE *f, const json_t *v)
{
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    fputs(s ? s : "null", f);
    free(s);
}

/* Keys like "apiVersion" or "app.kubernetes.io/name" need no quotes; words
 * YAML 1.1 would read as booleans or null do. */
static void key_out(FILE *f, const char *k)
{
    static const char *const RESERVED[] = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", NULL};
    bool plain = (*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') || *k == '_';
    for (const char *p = k; plain && *p; p++)
        plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                *p == '_' || *p == '-' || *p == '.' || *p == '/';
    for (int i = 0; plain && RESERVED[i]; i++) plain = strcasecmp(k, RESERVED[i]) != 0;
    if (plain) { fputs(k, f); return; }
    json_t *key = json_string(k);
    scalar(f, key);
    json_decref(key);
}

static bool is_empty_container(const json_t *v)
{
    return (json_is_object(v) && json_object_size(v) == 0) || (json_is_array(v) && json_array_size(v) == 0);
}

static void emit(FILE *f, const json_t *v, int indent);

/* A value after "key:" or "- ": inline when scalar or empty, else on new lines. */
static void emit_value(FILE *f, const json_t *v, int indent, bool after_dash)
{
    if (is_empty_container(v)) { fputs(json_is_object(v) ? " {}\n" : " []\n", f); return; }
    if (json_is_object(v) || json_is_array(v)) {
        if (after_dash && json_is_object(v)) { fputc(' ', f); emit(f, v, -(indent + 2)); return; }
        fputc('\n', f);
        emit(f, v, indent + 2);
        return;
    }
    fputc(' ', f);
    scalar(f, v);
    fputc('\n', f);
}

/* indent < 0: the first line continues the current one (after "- "). */
static void emit(FILE *f, const json_t *v, int indent)
{
    bool first_inline = indent < 0;
    if (indent < 0) indent = -indent;
    if (json_is_object(v)) {
        const char **keys = malloc(json_object_size(v) * sizeof *keys);
        size_t n = 0;
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x) keys[n++] = k;
        /* sorted keys: stable output */
        for (size_t i = 1; i < n; i++)
            for (size_t j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
                const char *t = keys[j]; keys[j] = keys[j - 1]; keys[j - 1] = t;
            }
        for (size_t i = 0; i < n; i++) {
            if (!(first_inline && i == 0)) fprintf(f, "%*s", indent, "");
            key_out(f, keys[i]);
            fputc(':', f);
            emit_value(f, json_object_get(v, keys[i]), indent, false);
        }
        free(keys);
    } else if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) {
            if (!(first_inline && i == 0)) fprintf(f, "%*s", indent, "");
            fputc('-', f);
            emit_value(f, x, indent, true);
        }
    } else {
        fprintf(f, "%*s", indent, "");
        scalar(f, v);
        fputc('\n', f);
    }
}

char *yaml_dump(const json_t *v)
{
    char *out = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&out, &n);
    if (!f) return NULL;
    if (is_empty_container(v)) fputs(json_is_object(v) ? "{}\n" : "[]\n", f);
    else emit(f, v, 0);
    fclose(f);
    return out;
}

char *yaml_dump_docs(const json_t *array)
{
    char *out = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&out, &n);
    if (!f) return NULL;
    size_t i;
    json_t *x;
    json_array_foreach(array, i, x) {
        char *d = yaml_dump(x);
        fprintf(f, "---\n%s", d ? d : "");
        free(d);
    }
    fclose(f);
    return out;
}
