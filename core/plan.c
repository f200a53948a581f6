/* plan.c — see plan.h. */
#define _GNU_SOURCE
#include "plan.h"

#include <string.h>

static const char *const KINDS[PSTEP__COUNT] = {"APPLY", "FIND_LEADER", "RESTART_POD", "ALTER_CONFIGS",
                                               "METADATA_VERSION", "CONVERGE"};
static const char *const STATES[STEP__COUNT] = {"RUNNING", "SUCCEEDED", "FAILED", "SKIPPED"};

const char *plan_kind_name(pstep_kind k) { return k < PSTEP__COUNT ? KINDS[k] : "UNKNOWN"; }
const char *step_state_name(step_state s) { return s < STEP__COUNT ? STATES[s] : "UNKNOWN"; }

pstep_kind plan_kind_parse(const char *s)
{
    for (int i = 0; s && i < PSTEP__COUNT; i++)
        if (strcmp(s, KINDS[i]) == 0) return (pstep_kind)i;
    return PSTEP__COUNT;
}

step_state step_state_parse(const char *s)
{
    for (int i = 0; s && i < STEP__COUNT; i++)
        if (strcmp(s, STATES[i]) == 0) return (step_state)i;
    return STEP__COUNT;
}

json_t *plan_new(const char *path)
{
    return json_pack("{s:s, s:i, s:i, s:[], s:{}}", "path", path ? path : "", "cursor", 0, "attempts", 0,
                     "steps", "at");
}

static bool name_taken(const json_t *plan, const char *name)
{
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(plan, "steps"), i, s) {
        const char *n = json_string_value(json_object_get(s, "name"));
        if (n && strcmp(n, name) == 0) return true;
    }
    return false;
}

static json_t *step_new(pstep_kind kind, const char *name, json_t *args)
{
    json_t *s = json_pack("{s:s, s:s}", "kind", plan_kind_name(kind), "name", name);
    if (args) json_object_set_new(s, "args", args);
    return s;
}

int plan_add(json_t *plan, pstep_kind kind, const char *name, json_t *args)
{
    if (!name || kind >= PSTEP__COUNT || name_taken(plan, name)) { json_decref(args); return -1; }
    return json_array_append_new(json_object_get(plan, "steps"), step_new(kind, name, args));
}

int plan_insert_next(json_t *plan, pstep_kind kind, const char *name, json_t *args)
{
    if (!name || kind >= PSTEP__COUNT || name_taken(plan, name)) { json_decref(args); return -1; }
    json_t *steps = json_object_get(plan, "steps");
    size_t at = (size_t)plan_cursor(plan) + 1;
    if (at > json_array_size(steps)) at = json_array_size(steps);
    return json_array_insert_new(steps, at, step_new(kind, name, args));
}

int plan_len(const json_t *plan) { return (int)json_array_size(json_object_get(plan, "steps")); }
int plan_cursor(const json_t *plan) { return (int)json_integer_value(json_object_get(plan, "cursor")); }
bool plan_done(const json_t *plan) { return plan_cursor(plan) >= plan_len(plan); }

const char *plan_path(const json_t *plan)
{
    const char *p = json_string_value(json_object_get(plan, "path"));
    return p ? p : "";
}

const json_t *plan_step(const json_t *plan, int i, pstep_kind *kind, const char **name, const json_t **args)
{
    const json_t *s = i >= 0 ? json_array_get(json_object_get(plan, "steps"), (size_t)i) : NULL;
    if (kind) *kind = s ? plan_kind_parse(json_string_value(json_object_get(s, "kind"))) : PSTEP__COUNT;
    if (name) *name = s ? json_string_value(json_object_get(s, "name")) : NULL;
    if (args) *args = s ? json_object_get(s, "args") : NULL;
    return s;
}

const json_t *plan_current(const json_t *plan, pstep_kind *kind, const char **name, const json_t **args)
{
    return plan_step(plan, plan_cursor(plan), kind, name, args);
}

json_t *plan_scratch(json_t *plan)
{
    json_t *at = json_object_get(plan, "at");
    if (!json_is_object(at)) {
        at = json_object();
        json_object_set_new(plan, "at", at);
    }
    return at;
}

void plan_advance(json_t *plan)
{
    json_object_set_new(plan, "cursor", json_integer(plan_cursor(plan) + 1));
    json_object_set_new(plan, "attempts", json_integer(0));
    json_object_set_new(plan, "at", json_object());
}

int plan_move(json_t *plan, int from, int to)
{
    int cur = plan_cursor(plan), n = plan_len(plan);
    if (from <= cur || to <= cur || from >= n || to >= n) return -1;
    json_t *steps = json_object_get(plan, "steps");
    json_t *s = json_incref(json_array_get(steps, (size_t)from));
    json_array_remove(steps, (size_t)from);
    json_array_insert_new(steps, (size_t)to, s);
    return 0;
}

int plan_attempts(const json_t *plan) { return (int)json_integer_value(json_object_get(plan, "attempts")); }

void plan_attempt(json_t *plan)
{
    json_object_set_new(plan, "attempts", json_integer(plan_attempts(plan) + 1));
}

#define BACKOFF_FIRST_MS 1000
#define BACKOFF_MAX_MS 30000

int plan_backoff_ms(int attempts)
{
    int ms = BACKOFF_FIRST_MS;
    for (int i = 0; i < attempts && ms < BACKOFF_MAX_MS; i++) ms *= 2;
    return ms < BACKOFF_MAX_MS ? ms : BACKOFF_MAX_MS;
}

int plan_percent(const json_t *plan)
{
    int n = plan_len(plan);
    if (n <= 0) return 5;
    int p = 5 + 94 * plan_cursor(plan) / n;
    return p > 99 ? 99 : p;
}

bool plan_rolled_any(const json_t *plan)
{
    int cur = plan_cursor(plan);
    for (int i = 0; i < plan_len(plan) && i <= cur; i++) {
        pstep_kind k;
        plan_step(plan, i, &k, NULL, NULL);
        if (k != PSTEP_RESTART_POD) continue;
        if (i < cur) return true;
        if (json_object_get(json_object_get(plan, "at"), "deleted_uid")) return true;
    }
    return false;
}
