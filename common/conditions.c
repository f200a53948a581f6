/* conditions.c — see conditions.h. */
#include "conditions.h"
#include "util.h"

#include <string.h>

json_t *condition_get(const json_t *status, const char *type)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(status, "conditions"), i, c) {
        const char *t = json_string_value(json_object_get(c, "type"));
        if (t && strcmp(t, type) == 0) return c;
    }
    return NULL;
}

void condition_set(json_t *status, const char *type, const char *st, const char *reason, const char *msg)
{
    char now[SP_TS_MAX];
    sp_now_rfc3339(now);
    json_t *conds = json_object_get(status, "conditions");
    if (!json_is_array(conds)) { conds = json_array(); json_object_set_new(status, "conditions", conds); }
    json_t *c = condition_get(status, type);
    if (c) {
        const char *old = json_string_value(json_object_get(c, "status"));
        if (!old || strcmp(old, st) != 0) json_object_set_new(c, "last_transition_time", json_string(now));
        json_object_set_new(c, "status", json_string(st));
        json_object_set_new(c, "reason", json_string(reason));
        json_object_set_new(c, "message", json_string(msg));
        return;
    }
    json_array_append_new(conds, json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", type, "status", st, "reason",
                                           reason, "message", msg, "last_transition_time", now));
}
