/* errors.h — the core layer's error vocabulary. Every function in core/
 * returns one of these; store codes pass through unchanged (ST_* share the
 * low numbers), and the core adds its own above them. core_transient()
 * says whether trying again later can succeed (the workers back off and
 * retry); a permanent error needs a different request or a person. */
#ifndef SP_CORE_ERRORS_H
#define SP_CORE_ERRORS_H

#include <stdbool.h>
#include "../store/store.h"

enum {
    CORE_OK = ST_OK,
    CORE_NOT_FOUND = ST_NOTFOUND,
    CORE_CONFLICT = ST_CONFLICT,
    CORE_STALE = ST_STALE,
    CORE_BUSY = ST_BUSY,
    CORE_ERROR = ST_ERROR,
    CORE_NOT_ACTIVE = 100,        /* the operation is no longer pending or running */
    CORE_NOT_CANCELLABLE,         /* create and delete cannot be cancelled */
    CORE_NOT_NEWEST,              /* a newer active operation is queued behind it */
    CORE_NO_CAPACITY,             /* no data plane has room */
    CORE_TOO_FEW_ZONES,           /* multi_zone on a data plane with fewer than 3 zones */
};

const char *core_strerror(int rc);
bool core_transient(int rc);

#endif
