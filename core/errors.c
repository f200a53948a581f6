/* errors.c — see errors.h. */
#include "errors.h"

const char *core_strerror(int rc)
{
    switch (rc) {
    case CORE_NOT_ACTIVE: return "the operation is no longer pending or running";
    case CORE_NOT_CANCELLABLE: return "this kind of operation cannot be cancelled";
    case CORE_NOT_NEWEST: return "a newer operation is queued behind this one";
    case CORE_NO_CAPACITY: return "no data plane has room";
    case CORE_TOO_FEW_ZONES: return "the data plane lists fewer than 3 zones";
    default: return store_strerror(rc);
    }
}

bool core_transient(int rc) { return rc < CORE_NOT_ACTIVE && store_transient(rc); }
