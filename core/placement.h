/* placement.h — which data plane runs a cluster, and whether it has room:
 * at creation (the data plane asked for, else the registered one with the
 * most room, else the built-in manifests target) and when a cluster grows
 * (scale-out must fit on the data plane it is on).
 *
 * Room is a data plane's spec.capacity.max_brokers (default 300) less the
 * brokers of its clusters; a multi_zone cluster also needs a data plane
 * that lists at least three zones (or none). Cost: one aggregate query per
 * data plane considered; creation reads at most 1000 data planes. */
#ifndef SP_CORE_PLACEMENT_H
#define SP_CORE_PLACEMENT_H

#include <stdbool.h>
#include "../store/store.h"
#include "errors.h"

#define PLACEMENT_DEFAULT_MAX_BROKERS 300
#define PLACEMENT_MAX_PLANES 1000

/* Chooses a data plane for a new cluster of `brokers` brokers. asked: the
 * data plane the client named, or NULL. placed gets its id ("" for the
 * manifests target, when no data plane is registered). CORE_OK, or
 * CORE_NO_CAPACITY / CORE_TOO_FEW_ZONES with *room the room found (the
 * asked plane's, or the best one's; 0 when none), or a store error. */
int placement_choose(store_t *st, const char *asked, bool multi_zone, long long brokers,
                     char placed[SP_ID_MAX], long long *room);

/* May a cluster on data plane plane_id grow by `more` brokers? CORE_OK,
 * CORE_NO_CAPACITY (with *room), or a store error. The manifests target
 * ("") has no limit. */
int placement_scale_out(store_t *st, const char *plane_id, long long more, long long *room);

#endif
