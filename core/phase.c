/* phase.c — see phase.h. */
#define _GNU_SOURCE
#include "phase.h"

#include <stdio.h>
#include <string.h>

static const char *const NAMES[PHASE__COUNT] = {"PROVISIONING", "RUNNING", "UPDATING", "DEGRADED", "DELETING"};

const char *phase_name(cluster_phase p) { return p < PHASE__COUNT ? NAMES[p] : "UNKNOWN"; }

cluster_phase phase_parse(const char *s)
{
    for (int i = 0; s && i < PHASE__COUNT; i++)
        if (strcmp(s, NAMES[i]) == 0) return (cluster_phase)i;
    return PHASE__COUNT;
}

cluster_phase phase_of(const store_res *r) { return phase_parse(r->phase); }

static void set(store_res *r, cluster_phase p) { snprintf(r->phase, sizeof r->phase, "%s", NAMES[p]); }

void phase_created(store_res *r) { set(r, PHASE_PROVISIONING); }

void phase_changed(store_res *r)
{
    cluster_phase p = phase_of(r);
    if (p == PHASE_RUNNING || p == PHASE_DEGRADED) set(r, PHASE_UPDATING);
}

void phase_deleting(store_res *r) { set(r, PHASE_DELETING); }

void phase_ops_done(store_res *r)
{
    if (phase_of(r) == PHASE_UPDATING) set(r, PHASE_RUNNING);
}

void phase_converged(store_res *r, bool healthy)
{
    if (phase_of(r) != PHASE_DELETING) set(r, healthy ? PHASE_RUNNING : PHASE_DEGRADED);
}

void phase_health(store_res *r, bool healthy)
{
    cluster_phase p = phase_of(r);
    if (p == PHASE_RUNNING || p == PHASE_DEGRADED) set(r, healthy ? PHASE_RUNNING : PHASE_DEGRADED);
}

bool phase_settled(const store_res *r)
{
    cluster_phase p = phase_of(r);
    return (p == PHASE_RUNNING || p == PHASE_DEGRADED) &&
           json_integer_value(json_object_get(r->status, "observed_generation")) == r->generation;
}
