/* availability.c — see availability.h. One pass over the partitions: the
 * rule for each is a few comparisons, the sentence is built from the
 * listed blockers at the end. */
#include "availability.h"

#include <stdio.h>
#include <string.h>

const char *avail_strerror(avail_err e)
{
    switch (e) {
    case AVAIL_OK: return "ok";
    case AVAIL_ERR_INVALID:
        return "invalid partition metadata (no replicas, ISR larger than replicas, min.insync.replicas < 1 or broker id < 0)";
    }
    return "unknown availability error";
}

bool avail_err_transient(avail_err e) { (void)e; return false; }

const char *avail_reason_name(avail_reason r)
{
    switch (r) {
    case AVAIL_UNDER_MIN_ISR: return "UnderMinIsr";
    case AVAIL_AT_MIN_ISR: return "AtMinIsr";
    }
    return "Unknown";
}

static bool holds(const int32_t *ids, int n, int32_t broker)
{
    for (int i = 0; i < n; i++)
        if (ids[i] == broker) return true;
    return false;
}

static bool partition_ok(const avail_partition *p)
{
    return p->replicas && p->nreplicas >= 1 && p->nisr >= 0 && p->nisr <= p->nreplicas &&
           (p->isr || p->nisr == 0) && p->min_isr >= 1 && p->topic;
}

/* 0 when p does not block a restart of broker, else the reason.
 * *unguarded is set for a hosted partition with RF <= min ISR. */
static int blocks(const avail_partition *p, int32_t broker, bool *unguarded)
{
    *unguarded = false;
    if (p->nreplicas <= p->min_isr) { *unguarded = true; return 0; }
    if (p->nisr < p->min_isr) return AVAIL_UNDER_MIN_ISR;
    if (p->nisr == p->min_isr && holds(p->isr, p->nisr, broker)) return AVAIL_AT_MIN_ISR;
    return 0;
}

/* Appends src when it fits with `reserve` bytes to spare. */
static bool append(char *dst, size_t n, const char *src, size_t reserve)
{
    size_t have = strlen(dst), add = strlen(src);
    if (have + add + reserve >= n) return false;
    memcpy(dst + have, src, add + 1);
    return true;
}

static void describe(int32_t broker, const avail_partition *parts, avail_verdict *v)
{
    size_t n = sizeof v->detail;
    char item[128];
    if (v->may_restart) {
        snprintf(v->detail, n, "broker %d may restart: every one of its %d partitions keeps min.insync.replicas",
                 (int)broker, v->hosted);
        if (v->not_guarded) {
            snprintf(item, sizeof item, " (%d with replication factor <= min.insync.replicas cannot, and do not block)",
                     v->not_guarded);
            append(v->detail, n, item, 0);
        }
        return;
    }
    snprintf(v->detail, n, "broker %d may not restart yet: %d partition%s would go below min.insync.replicas:",
             (int)broker, v->blocking, v->blocking == 1 ? "" : "s");
    int shown = 0;
    for (int i = 0; i < v->nlisted; i++, shown++) {
        const avail_blocker *b = &v->listed[i];
        const avail_partition *p = &parts[b->index];
        if (b->reason == AVAIL_AT_MIN_ISR)
            snprintf(item, sizeof item, "%s %.60s/%d (ISR %d = min %d, broker %d in ISR)", i ? "," : "",
                     p->topic, (int)p->partition, b->isr, b->min_isr, (int)broker);
        else
            snprintf(item, sizeof item, "%s %.60s/%d (ISR %d < min %d already, broker %d holds a replica)", i ? "," : "",
                     p->topic, (int)p->partition, b->isr, b->min_isr, (int)broker);
        if (!append(v->detail, n, item, 24)) break;   /* room for " and N more" */
    }
    if (v->blocking > shown) {
        snprintf(item, sizeof item, " and %d more", v->blocking - shown);
        append(v->detail, n, item, 0);
    }
}

avail_err avail_check_restart(int32_t broker, const avail_partition *parts, size_t nparts,
                              avail_verdict *out)
{
    memset(out, 0, sizeof *out);
    if (broker < 0 || (nparts && !parts)) return AVAIL_ERR_INVALID;
    for (size_t i = 0; i < nparts; i++)
        if (!partition_ok(&parts[i])) return AVAIL_ERR_INVALID;
    for (size_t i = 0; i < nparts; i++) {
        const avail_partition *p = &parts[i];
        if (!holds(p->replicas, p->nreplicas, broker)) continue;
        out->hosted++;
        bool unguarded;
        int why = blocks(p, broker, &unguarded);
        out->not_guarded += unguarded;
        if (!why) continue;
        if (out->nlisted < AVAIL_MAX_LISTED)
            out->listed[out->nlisted++] = (avail_blocker){ .index = i, .reason = (avail_reason)why,
                                                           .isr = p->nisr, .min_isr = p->min_isr, .rf = p->nreplicas };
        out->blocking++;
    }
    out->may_restart = out->blocking == 0;
    describe(broker, parts, out);
    return AVAIL_OK;
}
