/* conditions.h — Kubernetes-style status conditions on a resource's status
 * object: {type, status, reason, message, last_transition_time}. One owner
 * for the shape, shared by the API (which sets the first ones) and the
 * workers (which report what they observe). */
#ifndef SP_CONDITIONS_H
#define SP_CONDITIONS_H

#include <jansson.h>

/* Condition `type` of status (borrowed), or NULL. */
json_t *condition_get(const json_t *status, const char *type);
/* Sets condition `type`; last_transition_time moves only when st changes. */
void condition_set(json_t *status, const char *type, const char *st, const char *reason, const char *msg);

#endif
