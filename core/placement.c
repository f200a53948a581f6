/* placement.c — see placement.h. */
#define _GNU_SOURCE
#include "placement.h"

#include <stdio.h>
#include <string.h>

/* Room on a data plane: its broker capacity less what its clusters use;
 * CORE_TOO_FEW_ZONES when multi_zone and it lists fewer than 3 zones. */
static int plane_room(store_t *st, const store_res *dp, bool multi_zone, long long *room)
{
    json_t *mb = json_object_get(json_object_get(dp->spec, "capacity"), "max_brokers");
    long long cap = json_is_integer(mb) ? json_integer_value(mb) : PLACEMENT_DEFAULT_MAX_BROKERS;
    int64_t n = 0, used = 0;
    *room = 0;
    int rc = store_count_clusters_on_plane(st, dp->id, &n, &used);
    if (rc != ST_OK) return rc;
    json_t *zones = json_object_get(dp->spec, "zones");
    if (multi_zone && zones && json_array_size(zones) < 3) return CORE_TOO_FEW_ZONES;
    *room = cap - used;
    return CORE_OK;
}

static int place_on(store_t *st, const char *asked, bool multi_zone, long long brokers, long long *room)
{
    store_res dp;
    int rc = store_res_get(st, K_DATA_PLANE, asked, NULL, &dp);
    if (rc != ST_OK) return rc == ST_NOTFOUND ? ST_ERROR : rc;   /* validated before: it vanished */
    rc = plane_room(st, &dp, multi_zone, room);
    store_res_clear(&dp);
    if (rc != CORE_OK) return rc;
    if (*room < brokers) { if (*room < 0) *room = 0; return CORE_NO_CAPACITY; }
    return CORE_OK;
}

int placement_choose(store_t *st, const char *asked, bool multi_zone, long long brokers,
                     char placed[SP_ID_MAX], long long *room)
{
    placed[0] = 0;
    *room = 0;
    if (asked) {
        int rc = place_on(st, asked, multi_zone, brokers, room);
        if (rc == CORE_OK) snprintf(placed, SP_ID_MAX, "%s", asked);
        return rc;
    }
    store_res *list;
    int n;
    int rc = store_res_list(st, K_DATA_PLANE, NULL, 0, PLACEMENT_MAX_PLANES, &list, &n);
    if (rc != ST_OK) return rc;
    long long best = -1;
    for (int i = 0; i < n && rc == ST_OK; i++) {
        long long r;
        int pr = plane_room(st, &list[i], multi_zone, &r);
        if (pr != CORE_OK && pr != CORE_TOO_FEW_ZONES) rc = pr;
        else if (pr == CORE_OK && r >= brokers && r > best) { best = r; snprintf(placed, SP_ID_MAX, "%s", list[i].id); }
    }
    store_res_free_list(list, n);
    if (rc != ST_OK) return rc;
    if (n > 0 && best < 0) return CORE_NO_CAPACITY;
    *room = best > 0 ? best : 0;
    return CORE_OK;
}

int placement_scale_out(store_t *st, const char *plane_id, long long more, long long *room)
{
    *room = 0;
    if (!plane_id || !*plane_id || more <= 0) return CORE_OK;
    store_res dp;
    int rc = store_res_get(st, K_DATA_PLANE, plane_id, NULL, &dp);
    if (rc != ST_OK) return rc;
    rc = plane_room(st, &dp, false, room);
    store_res_clear(&dp);
    if (rc != CORE_OK) return rc;
    if (*room < more) { if (*room < 0) *room = 0; return CORE_NO_CAPACITY; }
    return CORE_OK;
}
