/* phase.h — a cluster's phase, as a state machine with one function per
 * transition. These functions are the only code that writes a cluster
 * row's phase; everything else reads it with phase_of().
 *
 *   create ──> PROVISIONING ──converged──> RUNNING <──health──> DEGRADED
 *                                           │  ^                  │
 *                                    change │  │ converged /      │ change
 *                                           v  │ no operation left│
 *                                         UPDATING <──────────────┘
 *   any ──delete──> DELETING (the row goes when the data plane is clean)
 *
 * A change while PROVISIONING stays PROVISIONING (the first convergence
 * covers it); nothing leaves DELETING. */
#ifndef SP_CORE_PHASE_H
#define SP_CORE_PHASE_H

#include <stdbool.h>
#include "../store/store.h"

typedef enum {
    PHASE_PROVISIONING = 0,
    PHASE_RUNNING,
    PHASE_UPDATING,
    PHASE_DEGRADED,
    PHASE_DELETING,
    PHASE__COUNT
} cluster_phase;

const char *phase_name(cluster_phase p);
/* PHASE__COUNT for a string that is no phase. */
cluster_phase phase_parse(const char *s);
cluster_phase phase_of(const store_res *r);

/* Transitions (each writes r->phase only; the caller stores the row). */
void phase_created(store_res *r);                   /* -> PROVISIONING */
void phase_changed(store_res *r);                   /* RUNNING|DEGRADED -> UPDATING */
void phase_deleting(store_res *r);                  /* any -> DELETING */
void phase_ops_done(store_res *r);                  /* UPDATING -> RUNNING (no operation left) */
void phase_converged(store_res *r, bool healthy);   /* not DELETING -> RUNNING | DEGRADED */
void phase_health(store_res *r, bool healthy);      /* RUNNING <-> DEGRADED */

/* RUNNING or DEGRADED with the current generation observed: only health
 * checks are left to do. */
bool phase_settled(const store_res *r);

#endif
