/* props.h — Kafka properties a tenant may set, checked against an
 * allow-list of rules (a cluster's broker config, a topic's config). One
 * owner for what a valid property value is; each resource keeps its own
 * table of rules and of keys streamplane owns. */
#ifndef SP_API_PROPS_H
#define SP_API_PROPS_H

#include "api.h"

typedef enum { CT_INT, CT_BOOL, CT_ENUM, CT_LIST } ctype;
typedef struct cfgrule { const char *key; ctype t; long long lo, hi; const char *const *vals; } cfgrule;

#define PROPS_I64MAX 9223372036854775807LL

/* The rule for key in rules[0..n), or NULL. */
const cfgrule *props_rule(const cfgrule *rules, int n, const char *key);
/* Checks val against r and records a field error at f; an integer that
 * passes is stored in *num (when num is not NULL). */
void props_check(verrs *v, const char *f, const cfgrule *r, const json_t *val, long long *num);
/* true when k starts with one of prefixes (NULL-terminated). */
bool props_prefixed(const char *k, const char *const *prefixes);

#endif
