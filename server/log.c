/* log.c — structured logs. The settings are process globals owned by
 * server/ and set once at start, before any thread runs. */
#define _GNU_SOURCE
#include "log.h"
#include "../common/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool g_text;
static log_level g_min = LOG_INFO;
static const char *const NAMES[] = {"debug", "info", "warn", "error"};

void log_setup(bool text, log_level min) { g_text = text; g_min = min; }

bool log_parse_level(const char *s, log_level *out)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(s, NAMES[i]) == 0) { *out = (log_level)i; return true; }
    return false;
}

void log_emit(log_level lvl, const char *msg, json_t *fields)
{
    if (lvl < g_min) { json_decref(fields); return; }
    char ts[SP_TS_MAX];
    sp_now_rfc3339(ts);
    char *line = NULL;
    if (!g_text) {
        json_t *o = json_pack("{s:s, s:s, s:s}", "ts", ts, "level", NAMES[lvl], "msg", msg);
        if (fields) json_object_update(o, fields);
        char *j = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
        json_decref(o);
        if (j && asprintf(&line, "%s\n", j) < 0) line = NULL;
        free(j);
    } else {
        size_t cap = 0;
        FILE *f = open_memstream(&line, &cap);
        if (f) {
            fprintf(f, "%s %-5s %s", ts, NAMES[lvl], msg);
            const char *k;
            json_t *v;
            json_object_foreach(fields, k, v) {
                if (json_is_string(v)) fprintf(f, " %s=%s", k, json_string_value(v));
                else {
                    char *j = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(6));
                    fprintf(f, " %s=%s", k, j ? j : "?");
                    free(j);
                }
            }
            fputc('\n', f);
            fclose(f);
        }
    }
    json_decref(fields);
    if (line) { fputs(line, stderr); free(line); }
}

void log_msg(log_level lvl, const char *fmt, ...)
{
    if (lvl < g_min) return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    log_emit(lvl, buf, NULL);
}
