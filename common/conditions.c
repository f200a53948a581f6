/* conditions.c — see conditions.h. */
#include "conditions.h"
#include "util.h"

#include <string.h>

void condition_set(json_t *status, const char *type, const char *st, const char *reason, const char *msg)
{
    char now[SP_TS_MAX];
    sp_now_rfc3339(now);
    json_t *conds = json_object_get(status, "conditions");
    if (!json_is_array(conds)) { conds = json_array(); json_object_set_new(status, "conditions", conds); }
    size_t i;
    json_t *c;
    json_array_foreach(conds, i, c) {
        const char *t = json_string_value(json_object_get(c, "type"));
        if (!t || strcmp(t, type) != 0) continue;
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
