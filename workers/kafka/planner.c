/* planner.c — see planner.h.
 *
 * How a plan is made (each phase works on a copy of the assignment, with
 * brokers as small indices; a new replica replaces the one it moves from in
 * place, so a moved preferred leader stays first):
 *
 * 0. Targets. Rack totals: every partition of RF r over k target racks puts
 *    between floor(r/k) and ceil(r/k) replicas in each rack, so every rack's
 *    total lies in [LO, HI]; within that, each rack gets a share in
 *    proportion to its target brokers (water filling), and each of its
 *    brokers floor or ceil of the rack's share, the ceil going to the
 *    brokers that hold most now (fewest moves). Leaving brokers: 0.
 * 1. Rack repair: a partition with more replicas in one rack than the racks
 *    require moves one to a rack that lacks it (only for input that broke
 *    the rule; a rack-aware cluster has none).
 * 2. Replica moves: every broker above its target gives replicas, each
 *    straight to a broker below its target that can take it (not yet a
 *    replica, rack rule kept). Every move lowers the total excess by one, so
 *    the count of moves is exactly sum(max(0, count - target)), the least
 *    any plan reaching these counts needs. Givers first give partitions they
 *    lead, while they lead more than their share, to brokers that lead less
 *    than theirs (leadership travels with the moved replica, so the move
 *    evens leaders too), then followers, then anything; each giver's list
 *    in its own shuffled order. Leaving brokers give everything, to any
 *    broker that can take it if none below target can.
 * 3. Leaders: brokers leading more than ceil(N/B) hand a partition to one of
 *    its other replicas below that, and brokers below floor(N/B) take one,
 *    straight or along the cheapest chain (0-1 BFS over brokers; an edge
 *    u->v is a partition u leads with a replica on v, free when that
 *    partition's leader changed already), so each change is counted once.
 * 4. Batches: changed partitions ordered round-robin over the broker that
 *    receives their first new replica (each batch spreads its copying over
 *    the brokers), leader-only changes last, cut at max_moves_per_batch.
 *
 * Cost of planning: O(replicas x brokers x RF) time in phase 2, O(partitions
 * x RF) per leader hand-over in phase 3 only when chains are needed;
 * memory a few bytes per replica (the 36,000-replica cluster: under 1 MB). */
#define _GNU_SOURCE
#include "planner.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- errors ---- */

const char *planner_strerror(planner_err e)
{
    switch (e) {
    case PLANNER_OK: return "ok";
    case PLANNER_ERR_NOMEM: return "out of memory";
    case PLANNER_ERR_INVALID: return "invalid input (broker id, topic name, partition or replication factor)";
    case PLANNER_ERR_DUPLICATE: return "a broker, topic, partition or replica is given twice";
    case PLANNER_ERR_TOO_MANY: return "too many brokers or replicas for the planner's bounds";
    case PLANNER_ERR_NO_TARGET: return "the target broker set is empty or names an unknown broker";
    case PLANNER_ERR_NOT_ENOUGH_BROKERS: return "fewer target brokers than a topic's replication factor";
    }
    return "unknown planner error";
}

bool planner_err_transient(planner_err e) { return e == PLANNER_ERR_NOMEM; }

/* ---- the cluster ---- */

typedef struct pbroker { int32_t id; uint16_t rack; } pbroker;
typedef struct prack { char name[PLANNER_MAX_RACK_LEN + 1]; } prack;
/* One partition: its replicas are reps[off .. off + rf), broker indices. */
typedef struct ppart { int topic; int32_t partition; uint32_t off; uint8_t rf; } ppart;

/* Open addressing set of 64-bit keys (0 = empty), doubling at half full.
 * Cost: 8 bytes x 2..4 slots per key. */
typedef struct keyset { uint64_t *slot; size_t cap, n; } keyset;

struct planner_cluster {
    pbroker brokers[PLANNER_MAX_BROKERS]; int nb;   /* 8 KB fixed */
    prack *racks; int nracks;                       /* <= nb */
    char **topics; int nt, capt;
    ppart *parts; int np, capp;
    uint16_t *reps; size_t nreps, capr;
    int *topic_slot; size_t topic_cap;   /* name -> index + 1, see topic_find */
    keyset part_keys;     /* key: (topic + 1) << 32 | partition */
};

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33; x *= 0xff51afd7ed558ccdULL; x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL; x ^= x >> 33;
    return x;
}

static bool keyset_grow(keyset *s)
{
    size_t cap = s->cap ? s->cap * 2 : 64;
    uint64_t *slot = calloc(cap, sizeof *slot);
    if (!slot) return false;
    for (size_t i = 0; i < s->cap; i++) {
        if (!s->slot[i]) continue;
        size_t j = mix64(s->slot[i]) & (cap - 1);
        while (slot[j]) j = (j + 1) & (cap - 1);
        slot[j] = s->slot[i];
    }
    free(s->slot);
    s->slot = slot; s->cap = cap;
    return true;
}

/* Slot of key, or of the empty place it would go. cap > 0. */
static size_t keyset_pos(const keyset *s, uint64_t key)
{
    size_t j = mix64(key) & (s->cap - 1);
    while (s->slot[j] && s->slot[j] != key) j = (j + 1) & (s->cap - 1);
    return j;
}

planner_cluster *planner_cluster_new(void)
{
    return calloc(1, sizeof(planner_cluster));
}

void planner_cluster_free(planner_cluster *c)
{
    if (!c) return;
    for (int i = 0; i < c->nt; i++) free(c->topics[i]);
    free(c->topics); free(c->racks); free(c->parts); free(c->reps);
    free(c->topic_slot); free(c->part_keys.slot);
    free(c);
}

int planner_cluster_partitions(const planner_cluster *c) { return c->np; }
int planner_cluster_brokers(const planner_cluster *c) { return c->nb; }

static int broker_index(const planner_cluster *c, int32_t id)
{
    for (int i = 0; i < c->nb; i++)
        if (c->brokers[i].id == id) return i;
    return -1;
}

/* A broker without a rack is a rack of its own (named ""). */
static int rack_intern(planner_cluster *c, const char *rack)
{
    if (rack && rack[0])
        for (int i = 0; i < c->nracks; i++)
            if (strcmp(c->racks[i].name, rack) == 0) return i;
    prack *r = realloc(c->racks, (size_t)(c->nracks + 1) * sizeof *r);
    if (!r) return -1;
    c->racks = r;
    snprintf(r[c->nracks].name, sizeof r[c->nracks].name, "%s", rack ? rack : "");
    return c->nracks++;
}

planner_err planner_add_broker(planner_cluster *c, int32_t id, const char *rack)
{
    if (id < 0 || (rack && strlen(rack) > PLANNER_MAX_RACK_LEN)) return PLANNER_ERR_INVALID;
    if (broker_index(c, id) >= 0) return PLANNER_ERR_DUPLICATE;
    if (c->nb >= PLANNER_MAX_BROKERS) return PLANNER_ERR_TOO_MANY;
    int r = rack_intern(c, rack);
    if (r < 0) return PLANNER_ERR_NOMEM;
    c->brokers[c->nb++] = (pbroker){ .id = id, .rack = (uint16_t)r };
    return PLANNER_OK;
}

static bool topic_name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n < 1 || n > PLANNER_MAX_TOPIC_LEN || !strcmp(name, ".") || !strcmp(name, "..")) return false;
    for (size_t i = 0; i < n; i++) {
        char ch = name[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-')) return false;
    }
    return true;
}

static uint64_t str_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) { h ^= (unsigned char)*s; h *= 1099511628211ULL; }
    return h;
}

/* Topic names: open addressing table of index + 1 (0 = empty), probed by
 * the name's hash; doubles at half full. Cost: 4 bytes x 2..4 per topic. */
static int topic_find(const planner_cluster *c, const char *name)
{
    if (!c->topic_cap) return -1;
    for (size_t j = str_hash(name) & (c->topic_cap - 1); c->topic_slot[j]; j = (j + 1) & (c->topic_cap - 1))
        if (strcmp(c->topics[c->topic_slot[j] - 1], name) == 0) return c->topic_slot[j] - 1;
    return -1;
}

static void topic_slot_put(int *slot, size_t cap, const char *name, int idx)
{
    size_t j = str_hash(name) & (cap - 1);
    while (slot[j]) j = (j + 1) & (cap - 1);
    slot[j] = idx + 1;
}

static planner_err topic_room(planner_cluster *c)
{
    if ((size_t)(c->nt + 1) * 2 > c->topic_cap) {
        size_t cap = c->topic_cap ? c->topic_cap * 2 : 64;
        int *slot = calloc(cap, sizeof *slot);
        if (!slot) return PLANNER_ERR_NOMEM;
        for (int i = 0; i < c->nt; i++) topic_slot_put(slot, cap, c->topics[i], i);
        free(c->topic_slot);
        c->topic_slot = slot; c->topic_cap = cap;
    }
    if (c->nt == c->capt) {
        int cap = c->capt ? c->capt * 2 : 64;
        char **t = realloc(c->topics, (size_t)cap * sizeof *t);
        if (!t) return PLANNER_ERR_NOMEM;
        c->topics = t; c->capt = cap;
    }
    return PLANNER_OK;
}

int planner_add_topic(planner_cluster *c, const char *name)
{
    if (!topic_name_ok(name)) return -PLANNER_ERR_INVALID;
    if (topic_find(c, name) >= 0) return -PLANNER_ERR_DUPLICATE;
    planner_err e = topic_room(c);
    if (e) return -(int)e;
    char *copy = strdup(name);
    if (!copy) return -PLANNER_ERR_NOMEM;
    c->topics[c->nt] = copy;
    topic_slot_put(c->topic_slot, c->topic_cap, name, c->nt);
    return c->nt++;
}

static planner_err part_room(planner_cluster *c, int rf)
{
    if (c->np == c->capp) {
        int cap = c->capp ? c->capp * 2 : 256;
        ppart *p = realloc(c->parts, (size_t)cap * sizeof *p);
        if (!p) return PLANNER_ERR_NOMEM;
        c->parts = p; c->capp = cap;
    }
    while (c->nreps + (size_t)rf > c->capr) {
        size_t cap = c->capr ? c->capr * 2 : 1024;
        uint16_t *r = realloc(c->reps, cap * sizeof *r);
        if (!r) return PLANNER_ERR_NOMEM;
        c->reps = r; c->capr = cap;
    }
    if ((c->part_keys.n + 1) * 2 > c->part_keys.cap && !keyset_grow(&c->part_keys)) return PLANNER_ERR_NOMEM;
    return PLANNER_OK;
}

planner_err planner_add_partition(planner_cluster *c, int topic, int32_t partition,
                                  const int32_t *replicas, int rf)
{
    if (topic < 0 || topic >= c->nt || partition < 0 || rf < 1 || !replicas) return PLANNER_ERR_INVALID;
    if (rf > PLANNER_MAX_RF) return PLANNER_ERR_TOO_MANY;
    uint16_t idx[PLANNER_MAX_RF];
    for (int i = 0; i < rf; i++) {
        int b = broker_index(c, replicas[i]);
        if (b < 0) return PLANNER_ERR_INVALID;
        for (int j = 0; j < i; j++)
            if (idx[j] == b) return PLANNER_ERR_DUPLICATE;
        idx[i] = (uint16_t)b;
    }
    planner_err e = part_room(c, rf);
    if (e) return e;
    uint64_t key = ((uint64_t)(topic + 1) << 32) | (uint32_t)partition;
    size_t j = keyset_pos(&c->part_keys, key);
    if (c->part_keys.slot[j]) return PLANNER_ERR_DUPLICATE;
    c->part_keys.slot[j] = key; c->part_keys.n++;
    c->parts[c->np++] = (ppart){ .topic = topic, .partition = partition,
                                 .off = (uint32_t)c->nreps, .rf = (uint8_t)rf };
    memcpy(c->reps + c->nreps, idx, (size_t)rf * sizeof *idx);
    c->nreps += (size_t)rf;
    return PLANNER_OK;
}

/* ---- targets and the balance report ---- */

/* Which brokers hold replicas afterwards. */
static planner_err target_flags(const planner_cluster *c, const int32_t *target, int ntarget, bool *is_target)
{
    if (!target) {
        for (int b = 0; b < c->nb; b++) is_target[b] = true;
        return c->nb ? PLANNER_OK : PLANNER_ERR_NO_TARGET;
    }
    if (ntarget < 1) return PLANNER_ERR_NO_TARGET;
    memset(is_target, 0, (size_t)c->nb * sizeof *is_target);
    for (int i = 0; i < ntarget; i++) {
        int b = broker_index(c, target[i]);
        if (b < 0) return PLANNER_ERR_NO_TARGET;
        if (is_target[b]) return PLANNER_ERR_DUPLICATE;
        is_target[b] = true;
    }
    return PLANNER_OK;
}

/* Racks that hold a target broker. */
static int target_racks(const planner_cluster *c, const bool *is_target)
{
    bool seen[PLANNER_MAX_BROKERS] = { false };
    int k = 0;
    for (int b = 0; b < c->nb; b++)
        if (is_target[b] && !seen[c->brokers[b].rack]) { seen[c->brokers[b].rack] = true; k++; }
    return k;
}

/* A partition of RF rf over k racks is spread when no rack holds more than
 * ceil(rf/k) of its replicas and it uses min(rf, k) racks. */
static bool rack_spread_ok(const planner_cluster *c, const uint16_t *rep, int rf, int k)
{
    int hi = (rf + k - 1) / k, distinct = 0;
    for (int i = 0; i < rf; i++) {
        int same = 0, first = 1;
        for (int j = 0; j < rf; j++) {
            if (c->brokers[rep[j]].rack != c->brokers[rep[i]].rack) continue;
            same++;
            if (j < i) first = 0;
        }
        if (same > hi) return false;
        distinct += first;
    }
    return distinct >= (rf < k ? rf : k);
}

static planner_err balance_of(const planner_cluster *c, const uint16_t *reps, const bool *is_target,
                              planner_balance *out)
{
    memset(out, 0, sizeof *out);
    out->brokers = calloc((size_t)(c->nb ? c->nb : 1), sizeof *out->brokers);
    out->racks = calloc((size_t)(c->nracks ? c->nracks : 1), sizeof *out->racks);
    if (!out->brokers || !out->racks) { planner_balance_free(out); return PLANNER_ERR_NOMEM; }
    out->nbrokers = c->nb; out->nracks = c->nracks;
    for (int r = 0; r < c->nracks; r++) memcpy(out->racks[r].name, c->racks[r].name, sizeof out->racks[r].name);
    for (int b = 0; b < c->nb; b++) {
        out->brokers[b] = (planner_broker_load){ .id = c->brokers[b].id, .rack = c->brokers[b].rack,
                                                 .target = is_target[b] };
        if (is_target[b]) out->racks[c->brokers[b].rack].brokers++;
    }
    int k = target_racks(c, is_target);
    for (int p = 0; p < c->np; p++) {
        const uint16_t *rep = reps + c->parts[p].off;
        int rf = c->parts[p].rf;
        out->brokers[rep[0]].leaders++;
        out->racks[c->brokers[rep[0]].rack].leaders++;
        for (int i = 0; i < rf; i++) {
            out->brokers[rep[i]].replicas++;
            out->racks[c->brokers[rep[i]].rack].replicas++;
            if (!is_target[rep[i]]) out->on_leaving++;
        }
        if (k > 0 && !rack_spread_ok(c, rep, rf, k)) out->rack_violations++;
    }
    out->partitions = c->np; out->replicas = (int)c->nreps;
    bool any = false;
    for (int b = 0; b < c->nb; b++) {
        if (!is_target[b]) continue;
        const planner_broker_load *l = &out->brokers[b];
        if (!any || l->replicas < out->replicas_min) out->replicas_min = l->replicas;
        if (!any || l->replicas > out->replicas_max) out->replicas_max = l->replicas;
        if (!any || l->leaders < out->leaders_min) out->leaders_min = l->leaders;
        if (!any || l->leaders > out->leaders_max) out->leaders_max = l->leaders;
        any = true;
    }
    out->replica_skew = out->replicas_max - out->replicas_min;
    out->leader_skew = out->leaders_max - out->leaders_min;
    return PLANNER_OK;
}

void planner_balance_free(planner_balance *b)
{
    if (!b) return;
    free(b->brokers); free(b->racks);
    b->brokers = NULL; b->racks = NULL;
}

planner_err planner_cluster_balance(const planner_cluster *c, const int32_t *target, int ntarget,
                                    planner_balance *out)
{
    bool is_target[PLANNER_MAX_BROKERS];
    memset(out, 0, sizeof *out);
    planner_err e = target_flags(c, target, ntarget, is_target);
    return e ? e : balance_of(c, c->reps, is_target, out);
}

/* ---- the plan ---- */

/* Working state while planning. Cost: per broker 5 ints and two vectors of
 * partition indices (hosted, led) that hold each replica at most twice;
 * per partition its original leader and position in its leader's list. */
typedef struct ivec { int *v; int n, cap; } ivec;

typedef struct plan_state {
    const planner_cluster *c;
    bool is_target[PLANNER_MAX_BROKERS];
    bool rack_target[PLANNER_MAX_BROKERS];   /* by rack index: holds a target broker */
    int k;                           /* target racks */
    uint16_t *work;                  /* the assignment being built (layout of c->reps) */
    int cnt[PLANNER_MAX_BROKERS], tr[PLANNER_MAX_BROKERS];   /* replicas, target */
    int lead[PLANNER_MAX_BROKERS], tl[PLANNER_MAX_BROKERS];  /* preferred leaders, target */
    int lfloor, lceil;               /* leader share bounds over the target brokers */
    ivec hosted[PLANNER_MAX_BROKERS];
    ivec led[PLANNER_MAX_BROKERS];
    int *ledpos;                     /* partition's place in led[its leader] */
} plan_state;

struct planner_plan {
    const planner_cluster *c;
    bool is_target[PLANNER_MAX_BROKERS];
    uint16_t *work;                  /* the assignment after the plan */
    planner_change *changes; int nchanges;
    int32_t *ids;                    /* current and new lists of every change */
    int batches;
    long moves, leader_changes;
    bool balanced;
};

static bool ivec_push(ivec *a, int x)
{
    if (a->n == a->cap) {
        int cap = a->cap ? a->cap * 2 : 16;
        int *v = realloc(a->v, (size_t)cap * sizeof *v);
        if (!v) return false;
        a->v = v; a->cap = cap;
    }
    a->v[a->n++] = x;
    return true;
}

static void state_free(plan_state *s)
{
    for (int b = 0; b < s->c->nb; b++) { free(s->hosted[b].v); free(s->led[b].v); }
    free(s->ledpos);
    free(s->work);
}

static int rack_of(const plan_state *s, int b) { return s->c->brokers[b].rack; }

/* Replicas of partition p in rack r. */
static int in_rack(const plan_state *s, int p, int r)
{
    const ppart *pp = &s->c->parts[p];
    int n = 0;
    for (int i = 0; i < pp->rf; i++) n += rack_of(s, s->work[pp->off + i]) == r;
    return n;
}

static int slot_of(const plan_state *s, int p, int b)
{
    const ppart *pp = &s->c->parts[p];
    for (int i = 0; i < pp->rf; i++)
        if (s->work[pp->off + i] == b) return i;
    return -1;
}

/* Rack totals by water filling: find the level x where
 * sum over target racks of clamp(x * brokers, LO, HI) = replicas. */
static void rack_totals(const plan_state *s, const int *rack_brokers, long *total)
{
    const planner_cluster *c = s->c;
    long lo = 0, hi = 0;
    for (int p = 0; p < c->np; p++) {
        lo += c->parts[p].rf / s->k;
        hi += (c->parts[p].rf + s->k - 1) / s->k;
    }
    double a = 0, b = (double)c->nreps + 1;
    for (int it = 0; it < 100; it++) {
        double x = (a + b) / 2, sum = 0;
        for (int r = 0; r < c->nracks; r++)
            if (rack_brokers[r]) sum += fmin(fmax(x * rack_brokers[r], (double)lo), (double)hi);
        if (sum < (double)c->nreps) a = x; else b = x;
    }
    long given = 0;
    double frac[PLANNER_MAX_BROKERS];
    for (int r = 0; r < c->nracks; r++) {
        double v = rack_brokers[r] ? fmin(fmax(b * rack_brokers[r], (double)lo), (double)hi) : 0;
        total[r] = (long)floor(v + 1e-9);
        frac[r] = v - (double)total[r];
        given += total[r];
    }
    while (given < (long)c->nreps) {   /* largest remainder first */
        int best = -1;
        for (int r = 0; r < c->nracks; r++)
            if (rack_brokers[r] && total[r] < hi && (best < 0 || frac[r] > frac[best])) best = r;
        if (best < 0) break;
        total[best]++; frac[best] = -1; given++;
    }
    while (given > (long)c->nreps) {
        int best = -1;
        for (int r = 0; r < c->nracks; r++)
            if (rack_brokers[r] && total[r] > lo && (best < 0 || frac[r] < frac[best])) best = r;
        if (best < 0) break;
        total[best]--; frac[best] = 2; given--;
    }
}

/* Splits `total` over the brokers of `members` (n of them): floor or ceil,
 * ceil to those with the most now (have[]), so fewest must give. */
static void share_out(long total, const int *members, int n, const int *have, int *target)
{
    int order[PLANNER_MAX_BROKERS];
    memcpy(order, members, (size_t)n * sizeof *order);
    for (int i = 1; i < n; i++) {   /* insertion sort: most first, then index */
        int x = order[i], j = i;
        while (j > 0 && (have[order[j - 1]] < have[x] || (have[order[j - 1]] == have[x] && order[j - 1] > x))) {
            order[j] = order[j - 1]; j--;
        }
        order[j] = x;
    }
    for (int i = 0; i < n; i++)
        target[order[i]] = (int)(total / n) + (i < total % n ? 1 : 0);
}

static void compute_targets(plan_state *s)
{
    const planner_cluster *c = s->c;
    int rack_brokers[PLANNER_MAX_BROKERS] = { 0 }, members[PLANNER_MAX_BROKERS], nt = 0;
    long total[PLANNER_MAX_BROKERS];
    for (int b = 0; b < c->nb; b++) {
        s->tr[b] = s->tl[b] = 0;
        if (s->is_target[b]) { rack_brokers[rack_of(s, b)]++; members[nt++] = b; }
    }
    rack_totals(s, rack_brokers, total);
    for (int r = 0; r < c->nracks; r++) {
        int m[PLANNER_MAX_BROKERS], n = 0;
        for (int b = 0; b < c->nb; b++)
            if (s->is_target[b] && rack_of(s, b) == r) m[n++] = b;
        if (n) share_out(total[r], m, n, s->cnt, s->tr);
    }
    share_out(c->np, members, nt, s->lead, s->tl);
    s->lfloor = c->np / nt;
    s->lceil = s->lfloor + (c->np % nt ? 1 : 0);
}

/* Puts broker d in p's slot i (held by broker a). */
static void place(plan_state *s, int p, int i, int d)
{
    const ppart *pp = &s->c->parts[p];
    int a = s->work[pp->off + i];
    s->work[pp->off + i] = (uint16_t)d;
    s->cnt[a]--; s->cnt[d]++;
    if (i == 0) { s->lead[a]--; s->lead[d]++; }
}

/* May p's replica on a move to d without breaking the rack rule? */
static bool move_ok(const plan_state *s, int p, int a, int d)
{
    if (!s->is_target[d] || slot_of(s, p, d) >= 0) return false;
    int ra = rack_of(s, a), rd = rack_of(s, d);
    if (ra == rd) return true;
    int rf = s->c->parts[p].rf, hi = (rf + s->k - 1) / s->k, lo = rf / s->k;
    return in_rack(s, p, rd) < hi && (!s->rack_target[ra] || in_rack(s, p, ra) > lo);
}

/* How far give() may go: only to brokers below target (BELOW), to any
 * target broker that keeps the rack rule (ANY), to any target broker that
 * is not a replica yet (ANY_RACK: the last resort for leaving brokers). */
typedef enum dest_rule { DEST_BELOW, DEST_ANY, DEST_ANY_RACK } dest_rule;

/* The best broker to take p's replica from a; -1 if none. The furthest
 * below target first; a moved preferred leader goes to a broker below its
 * leader target before all others, and only there when lead_under. */
static int pick_dest(const plan_state *s, int p, int a, bool leader, bool lead_under, dest_rule rule)
{
    int best = -1;
    long best_score = 0;
    for (int d = 0; d < s->c->nb; d++) {
        if (!s->is_target[d] || d == a) continue;
        if (rule == DEST_BELOW && s->cnt[d] >= s->tr[d]) continue;
        if (lead_under && s->lead[d] >= s->tl[d]) continue;
        if (rule == DEST_ANY_RACK ? slot_of(s, p, d) >= 0 : !move_ok(s, p, a, d)) continue;
        long score = (long)(s->tr[d] - s->cnt[d]) * 4;
        if (leader && s->lead[d] < s->tl[d]) score += 1L << 40;
        if (best < 0 || score > best_score) { best = d; best_score = score; }
    }
    return best;
}

/* Moves replicas off a while it is above target. mode 0: led partitions,
 * while a leads more than its share, to brokers leading less than theirs
 * (the move evens leaders too); 1: followers; 2: anything. Moving a led
 * partition to a broker that leads enough already was tried and cost more
 * leader changes in the end (its leadership cannot always pass on). */
static void give(plan_state *s, int a, int mode, dest_rule rule)
{
    ivec *h = &s->hosted[a];
    for (int j = 0; j < h->n && s->cnt[a] > s->tr[a]; j++) {
        int p = h->v[j], i = slot_of(s, p, a);
        if (i < 0) continue;                       /* moved already */
        bool leader = i == 0;
        if (mode == 0 && (!leader || s->lead[a] <= s->tl[a])) continue;
        if (mode == 1 && leader) continue;
        int d = pick_dest(s, p, a, leader, mode == 0, rule);
        if (d >= 0) place(s, p, i, d);
    }
}

/* Partitions with more replicas in one target rack than allowed move one
 * replica to the least loaded broker of a rack that has room. */
static void repair_racks(plan_state *s)
{
    const planner_cluster *c = s->c;
    for (int p = 0; p < c->np; p++) {
        const ppart *pp = &c->parts[p];
        int hi = (pp->rf + s->k - 1) / s->k;
        for (int i = pp->rf - 1; i >= 0; i--) {
            int a = s->work[pp->off + i];
            if (!s->is_target[a] || in_rack(s, p, rack_of(s, a)) <= hi) continue;
            int best = -1;
            for (int d = 0; d < c->nb; d++) {
                if (!s->is_target[d] || slot_of(s, p, d) >= 0 || in_rack(s, p, rack_of(s, d)) >= hi) continue;
                if (best < 0 || s->cnt[d] - s->tr[d] < s->cnt[best] - s->tr[best]) best = d;
            }
            if (best >= 0) place(s, p, i, best);
        }
    }
}

/* hosted[b]: the partitions b holds, in an order of its own (a fixed
 * shuffle seeded by b): brokers that gave replicas in one common order would
 * give correlated sets (b1 keeps its last led partitions, b0 gives its first
 * followers), leaving few partitions through which leadership can pass
 * between them afterwards. */
static planner_err index_hosted(plan_state *s)
{
    const planner_cluster *c = s->c;
    for (int p = 0; p < c->np; p++)
        for (int i = 0; i < c->parts[p].rf; i++)
            if (!ivec_push(&s->hosted[s->work[c->parts[p].off + i]], p)) return PLANNER_ERR_NOMEM;
    for (int b = 0; b < c->nb; b++) {
        uint64_t x = mix64((uint64_t)b + 1);
        for (int j = s->hosted[b].n - 1; j > 0; j--) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            int k = (int)(x % (uint64_t)(j + 1)), t = s->hosted[b].v[j];
            s->hosted[b].v[j] = s->hosted[b].v[k]; s->hosted[b].v[k] = t;
        }
    }
    return PLANNER_OK;
}

static void move_replicas(plan_state *s)
{
    const planner_cluster *c = s->c;
    int order[PLANNER_MAX_BROKERS], n = 0;
    for (int b = 0; b < c->nb; b++)
        if (s->cnt[b] > s->tr[b]) order[n++] = b;
    for (int i = 1; i < n; i++) {   /* leaving first, then the most above target */
        int x = order[i], j = i;
        while (j > 0) {
            int y = order[j - 1];
            bool before = (s->is_target[x] != s->is_target[y]) ? !s->is_target[x]
                                                                 : s->cnt[x] - s->tr[x] > s->cnt[y] - s->tr[y];
            if (!before) break;
            order[j] = y; j--;
        }
        order[j] = x;
    }
    for (int mode = 0; mode < 3; mode++)   /* every source's best moves before anyone's next best */
        for (int i = 0; i < n; i++) give(s, order[i], mode, DEST_BELOW);
    for (int i = 0; i < n; i++)   /* leaving brokers must empty, balance or not */
        if (!s->is_target[order[i]]) {
            give(s, order[i], 2, DEST_ANY);
            give(s, order[i], 2, DEST_ANY_RACK);
        }
}

/* ---- phase 3: preferred leaders ---- */

/* led[b] gets room for every partition b holds (it cannot lead more), so
 * hand-overs never allocate. */
static planner_err index_leaders(plan_state *s)
{
    const planner_cluster *c = s->c;
    s->ledpos = malloc((size_t)(c->np ? c->np : 1) * sizeof *s->ledpos);
    if (!s->ledpos) return PLANNER_ERR_NOMEM;
    for (int b = 0; b < c->nb; b++) {
        s->led[b].cap = s->cnt[b] ? s->cnt[b] : 1;
        s->led[b].v = malloc((size_t)s->led[b].cap * sizeof(int));
        if (!s->led[b].v) return PLANNER_ERR_NOMEM;
    }
    for (int p = 0; p < c->np; p++) {
        ivec *l = &s->led[s->work[c->parts[p].off]];
        s->ledpos[p] = l->n;
        l->v[l->n++] = p;
    }
    return PLANNER_OK;
}

/* Makes v (a replica of p) p's preferred leader: swaps it to the front. */
static void hand_to(plan_state *s, int p, int v)
{
    const ppart *pp = &s->c->parts[p];
    int i = slot_of(s, p, v), u = s->work[pp->off];
    s->work[pp->off + i] = (uint16_t)u;
    s->work[pp->off] = (uint16_t)v;
    s->lead[u]--; s->lead[v]++;
    ivec *from = &s->led[u], *to = &s->led[v];
    int pos = s->ledpos[p], last = from->v[--from->n];
    from->v[pos] = last; s->ledpos[last] = pos;
    s->ledpos[p] = to->n;
    to->v[to->n++] = p;
}

/* A hand-over of p to v costs a leader change unless p's leader changed
 * already (or v is p's first leader): 0 or 1. */
static int hand_cost(const plan_state *s, int p, int v)
{
    int orig = s->c->reps[s->c->parts[p].off];
    return s->work[s->c->parts[p].off] != orig || v == orig ? 0 : 1;
}

/* Hands over along the cheapest chain (fewest new leader changes, 0-1 BFS
 * over brokers) from a broker in src[] to a target broker leading fewer
 * than `below`: each partition on the chain passes its leadership one step
 * on. false when no chain exists. Cost: O(partitions x RF) per call. */
static bool chain_hand_over(plan_state *s, const bool *src, int below)
{
    const planner_cluster *c = s->c;
    /* a broker enters the deque at most twice (its distance improves once at
     * most: popped distances never decrease), at the front at most once */
    int dq[3 * PLANNER_MAX_BROKERS + 2], head = PLANNER_MAX_BROKERS + 1, tail = head;
    int from[PLANNER_MAX_BROKERS], via[PLANNER_MAX_BROKERS], dist[PLANNER_MAX_BROKERS];
    bool done[PLANNER_MAX_BROKERS] = { false };
    for (int b = 0; b < c->nb; b++) {
        dist[b] = src[b] ? 0 : -1;
        if (src[b]) dq[tail++] = b;
    }
    while (head < tail) {
        int u = dq[head++];
        if (done[u]) continue;
        done[u] = true;
        if (!src[u] && s->lead[u] < below) {
            for (int w = u; !src[w]; w = from[w]) hand_to(s, via[w], w);
            return true;
        }
        for (int j = 0; j < s->led[u].n; j++) {
            int p = s->led[u].v[j];
            const ppart *pp = &c->parts[p];
            for (int i = 1; i < pp->rf; i++) {
                int v = s->work[pp->off + i], cost = hand_cost(s, p, v);
                if (done[v] || !s->is_target[v] || (dist[v] >= 0 && dist[v] <= dist[u] + cost)) continue;
                dist[v] = dist[u] + cost; from[v] = u; via[v] = p;
                if (cost) dq[tail++] = v; else dq[--head] = v;
            }
        }
    }
    return false;
}

/* One hand-over from u straight to one of its partitions' other replicas
 * leading fewer than lceil: below lfloor first, and a partition whose
 * leader changed already (or goes back to its first leader) first. */
static bool direct_hand_over(plan_state *s, int u)
{
    const planner_cluster *c = s->c;
    int best_p = -1, best_v = -1, best_score = -1;
    for (int j = 0; j < s->led[u].n && best_score < 3; j++) {
        int p = s->led[u].v[j];
        const ppart *pp = &c->parts[p];
        int orig = c->reps[pp->off];
        for (int i = 1; i < pp->rf; i++) {
            int v = s->work[pp->off + i];
            if (!s->is_target[v] || s->lead[v] >= s->lceil) continue;
            int score = (s->lead[v] < s->lfloor ? 2 : 0) + (u != orig || v == orig ? 1 : 0);
            if (score > best_score) { best_score = score; best_p = p; best_v = v; }
        }
    }
    if (best_p < 0) return false;
    hand_to(s, best_p, best_v);
    return true;
}

/* Every target broker ends leading lfloor or lceil partitions when the
 * replica sets allow. */
static void even_leaders(plan_state *s)
{
    const planner_cluster *c = s->c;
    bool src[PLANNER_MAX_BROKERS];
    for (int u = 0; u < c->nb; u++) {
        while (s->lead[u] > s->lceil) {
            if (direct_hand_over(s, u)) continue;
            memset(src, 0, sizeof src);
            src[u] = true;
            if (!chain_hand_over(s, src, s->lceil)) break;
        }
    }
    for (int v = 0; v < c->nb; v++) {
        while (s->is_target[v] && s->lead[v] < s->lfloor) {
            for (int u = 0; u < c->nb; u++) src[u] = s->is_target[u] && s->lead[u] > s->lfloor;
            if (!chain_hand_over(s, src, s->lfloor)) break;
        }
    }
}

/* ---- the result ---- */

static int moves_of(const planner_cluster *c, const uint16_t *work, int p)
{
    const ppart *pp = &c->parts[p];
    int n = 0;
    for (int i = 0; i < pp->rf; i++) {
        bool old = false;
        for (int j = 0; j < pp->rf && !old; j++) old = c->reps[pp->off + j] == work[pp->off + i];
        n += !old;
    }
    return n;
}

/* The broker receiving p's first new replica (batches spread over these). */
static int first_new(const planner_cluster *c, const uint16_t *work, int p)
{
    const ppart *pp = &c->parts[p];
    for (int i = 0; i < pp->rf; i++) {
        bool old = false;
        for (int j = 0; j < pp->rf && !old; j++) old = c->reps[pp->off + j] == work[pp->off + i];
        if (!old) return work[pp->off + i];
    }
    return -1;
}

static void fill_change(planner_plan *pl, int p, planner_change *ch, int32_t *ids)
{
    const planner_cluster *c = pl->c;
    const ppart *pp = &c->parts[p];
    for (int i = 0; i < pp->rf; i++) {
        ids[i] = c->brokers[c->reps[pp->off + i]].id;
        ids[pp->rf + i] = c->brokers[pl->work[pp->off + i]].id;
    }
    *ch = (planner_change){ .partition_index = p, .topic = c->topics[pp->topic], .partition = pp->partition,
                            .rf = pp->rf, .current = ids, .replicas = ids + pp->rf,
                            .moves = moves_of(c, pl->work, p) };
}

/* Changed partitions in batch order: those with moves round-robin over the
 * receiving broker, then leader-only ones. */
static planner_err order_changes(planner_plan *pl, int *order, int *n)
{
    const planner_cluster *c = pl->c;
    int *next = malloc((size_t)(c->np ? c->np : 1) * sizeof *next);
    int head[PLANNER_MAX_BROKERS], tail[PLANNER_MAX_BROKERS];
    if (!next) return PLANNER_ERR_NOMEM;
    for (int b = 0; b < c->nb; b++) head[b] = tail[b] = -1;
    int k = 0, left = 0;
    for (int p = 0; p < c->np; p++) {   /* one queue per receiving broker */
        int b = first_new(c, pl->work, p);
        if (b < 0) continue;
        next[p] = -1;
        if (tail[b] < 0) head[b] = p; else next[tail[b]] = p;
        tail[b] = p; left++;
    }
    while (left > 0)
        for (int b = 0; b < c->nb; b++)
            if (head[b] >= 0) { order[k++] = head[b]; head[b] = next[head[b]]; left--; }
    for (int p = 0; p < c->np; p++)
        if (first_new(c, pl->work, p) < 0 &&
            memcmp(c->reps + c->parts[p].off, pl->work + c->parts[p].off, c->parts[p].rf * sizeof *c->reps))
            order[k++] = p;
    free(next);
    *n = k;
    return PLANNER_OK;
}

static planner_err collect_changes(planner_plan *pl, const planner_options *o)
{
    const planner_cluster *c = pl->c;
    int *order = malloc((size_t)(c->np ? c->np : 1) * sizeof *order), n = 0;
    if (!order || order_changes(pl, order, &n)) { free(order); return PLANNER_ERR_NOMEM; }
    pl->changes = calloc((size_t)(n ? n : 1), sizeof *pl->changes);
    pl->ids = malloc((c->nreps ? c->nreps : 1) * 2 * sizeof *pl->ids);
    if (!pl->changes || !pl->ids) { free(order); return PLANNER_ERR_NOMEM; }
    size_t used = 0;
    int batch = 0, in_batch = 0, moves_in_batch = 0;
    for (int i = 0; i < n; i++) {
        planner_change *ch = &pl->changes[i];
        fill_change(pl, order[i], ch, pl->ids + used);
        used += 2 * (size_t)ch->rf;
        bool full = in_batch > 0 &&
            ((o->max_moves_per_batch > 0 && moves_in_batch + ch->moves > o->max_moves_per_batch) ||
             (o->max_partitions_per_batch > 0 && in_batch >= o->max_partitions_per_batch));
        if (full) { batch++; in_batch = 0; moves_in_batch = 0; }
        ch->batch = batch;
        in_batch++; moves_in_batch += ch->moves;
        pl->moves += ch->moves;
        pl->leader_changes += ch->current[0] != ch->replicas[0];
    }
    pl->nchanges = n;
    pl->batches = n ? batch + 1 : 0;
    free(order);
    return PLANNER_OK;
}

static bool reached(const plan_state *s)
{
    for (int b = 0; b < s->c->nb; b++) {
        if (!s->is_target[b]) { if (s->cnt[b]) return false; continue; }
        if (s->cnt[b] != s->tr[b] || s->lead[b] < s->lfloor || s->lead[b] > s->lceil) return false;
    }
    return true;
}

static planner_err plan_state_init(plan_state *s, const planner_cluster *c, const planner_options *o)
{
    memset(s, 0, sizeof *s);
    s->c = c;
    planner_err e = target_flags(c, o ? o->target : NULL, o ? o->ntarget : 0, s->is_target);
    if (e) return e;
    int nt = 0;
    for (int b = 0; b < c->nb; b++) nt += s->is_target[b];
    for (int p = 0; p < c->np; p++)
        if (c->parts[p].rf > nt) return PLANNER_ERR_NOT_ENOUGH_BROKERS;
    s->k = target_racks(c, s->is_target);
    for (int b = 0; b < c->nb; b++)
        if (s->is_target[b]) s->rack_target[rack_of(s, b)] = true;
    s->work = malloc((c->nreps ? c->nreps : 1) * sizeof *s->work);
    if (!s->work) return PLANNER_ERR_NOMEM;
    memcpy(s->work, c->reps, c->nreps * sizeof *s->work);
    for (int p = 0; p < c->np; p++) {
        s->lead[c->reps[c->parts[p].off]]++;
        for (int i = 0; i < c->parts[p].rf; i++) s->cnt[c->reps[c->parts[p].off + i]]++;
    }
    compute_targets(s);
    return PLANNER_OK;
}

planner_err planner_plan_build(const planner_cluster *c, const planner_options *o, planner_plan **out)
{
    *out = NULL;
    plan_state *s = calloc(1, sizeof *s);
    planner_plan *pl = calloc(1, sizeof *pl);
    planner_err e = s && pl ? plan_state_init(s, c, o) : PLANNER_ERR_NOMEM;
    if (!e) {
        repair_racks(s);
        e = index_hosted(s);
    }
    if (!e) {
        move_replicas(s);
        e = index_leaders(s);
    }
    if (!e) {
        even_leaders(s);
        pl->c = c;
        memcpy(pl->is_target, s->is_target, sizeof pl->is_target);
        pl->work = s->work; s->work = NULL;
        pl->balanced = reached(s);
        e = collect_changes(pl, o ? o : &(planner_options){ 0 });
    }
    if (s) { if (s->c) state_free(s); else free(s->work); free(s); }
    if (e) { planner_plan_free(pl); return e; }
    *out = pl;
    return PLANNER_OK;
}

void planner_plan_free(planner_plan *p)
{
    if (!p) return;
    free(p->work); free(p->changes); free(p->ids);
    free(p);
}

int planner_plan_changes(const planner_plan *p) { return p->nchanges; }
const planner_change *planner_plan_change(const planner_plan *p, int i)
{
    return i >= 0 && i < p->nchanges ? &p->changes[i] : NULL;
}
int planner_plan_batches(const planner_plan *p) { return p->batches; }
long planner_plan_moves(const planner_plan *p) { return p->moves; }
long planner_plan_leader_changes(const planner_plan *p) { return p->leader_changes; }
bool planner_plan_balanced(const planner_plan *p) { return p->balanced; }

planner_err planner_plan_balance(const planner_plan *p, bool after, planner_balance *out)
{
    return balance_of(p->c, after ? p->work : p->c->reps, p->is_target, out);
}

/* ---- JSON for kafka-reassign-partitions.sh ---- */

typedef struct sbuf { char *s; size_t n, cap; bool oom; } sbuf;

static void sb_add(sbuf *b, const char *s, size_t n)
{
    if (b->oom) return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (b->n + n + 1 > cap) cap *= 2;
        char *t = realloc(b->s, cap);
        if (!t) { b->oom = true; return; }
        b->s = t; b->cap = cap;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = 0;
}

static void sb_str(sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

static void sb_int(sbuf *b, long v)
{
    char t[24];
    int n = snprintf(t, sizeof t, "%ld", v);
    sb_add(b, t, (size_t)n);
}

char *planner_plan_json(const planner_plan *p, int batch, bool rollback)
{
    sbuf b = { 0 };
    sb_str(&b, "{\"version\":1,\"partitions\":[");
    bool first = true;
    for (int i = 0; i < p->nchanges; i++) {
        const planner_change *ch = &p->changes[i];
        if (batch >= 0 && ch->batch != batch) continue;
        sb_str(&b, first ? "{\"topic\":\"" : ",{\"topic\":\"");
        sb_str(&b, ch->topic);   /* [a-zA-Z0-9._-] only: nothing to escape */
        sb_str(&b, "\",\"partition\":");
        sb_int(&b, ch->partition);
        sb_str(&b, ",\"replicas\":[");
        const int32_t *r = rollback ? ch->current : ch->replicas;
        for (int j = 0; j < ch->rf; j++) {
            if (j) sb_str(&b, ",");
            sb_int(&b, r[j]);
        }
        sb_str(&b, "]}");
        first = false;
    }
    sb_str(&b, "]}");
    if (b.oom) { free(b.s); return NULL; }
    return b.s;
}

/* ---- the balance report as JSON ---- */

static void sb_json_str(sbuf *b, const char *s)
{
    sb_str(b, "\"");
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') { char e[2] = { '\\', (char)ch }; sb_add(b, e, 2); }
        else if (ch < 0x20) { char e[8]; snprintf(e, sizeof e, "\\u%04x", ch); sb_str(b, e); }
        else sb_add(b, (const char *)&ch, 1);
    }
    sb_str(b, "\"");
}

static void sb_field(sbuf *b, const char *sep_name, long v)
{
    sb_str(b, sep_name);
    sb_int(b, v);
}

char *planner_balance_json(const planner_balance *bal)
{
    sbuf b = { 0 };
    sb_str(&b, "{\"brokers\":[");
    for (int i = 0; i < bal->nbrokers; i++) {
        const planner_broker_load *l = &bal->brokers[i];
        const char *rack = bal->racks[l->rack].name;
        sb_field(&b, i ? ",{\"id\":" : "{\"id\":", l->id);
        sb_str(&b, ",\"rack\":");
        if (rack[0]) sb_json_str(&b, rack); else sb_str(&b, "null");
        sb_str(&b, l->target ? ",\"leaving\":false" : ",\"leaving\":true");
        sb_field(&b, ",\"replicas\":", l->replicas);
        sb_field(&b, ",\"leaders\":", l->leaders);
        sb_str(&b, "}");
    }
    sb_str(&b, "],\"racks\":[");
    bool first = true;
    for (int r = 0; r < bal->nracks; r++) {
        const planner_rack_load *l = &bal->racks[r];
        if (!l->name[0]) continue;   /* brokers without rack: listed per broker only */
        sb_str(&b, first ? "{\"rack\":" : ",{\"rack\":");
        sb_json_str(&b, l->name);
        sb_field(&b, ",\"brokers\":", l->brokers);
        sb_field(&b, ",\"replicas\":", l->replicas);
        sb_field(&b, ",\"leaders\":", l->leaders);
        sb_str(&b, "}");
        first = false;
    }
    sb_field(&b, "],\"partitions\":", bal->partitions);
    sb_field(&b, ",\"replicas\":", bal->replicas);
    sb_field(&b, ",\"replica_skew\":", bal->replica_skew);
    sb_field(&b, ",\"leader_skew\":", bal->leader_skew);
    sb_field(&b, ",\"replicas_on_leaving_brokers\":", bal->on_leaving);
    sb_field(&b, ",\"rack_violations\":", bal->rack_violations);
    sb_str(&b, "}");
    if (b.oom) { free(b.s); return NULL; }
    return b.s;
}
