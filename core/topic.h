/* topic.h — a declared Kafka topic's phase (issue 14), as the API and the
 * topic worker both speak of it. The store keeps the name; code reads and
 * writes the enum.
 *
 *   POST ──> PENDING ──worker made Kafka match──> READY
 *              │  ^                                 │
 *   permanent  │  └──── PATCH (a new generation) ───┘
 *   refusal    v
 *            FAILED (reason and message say why; a PATCH tries again)
 *   any ──DELETE──> DELETING (the row goes once Kafka no longer has it) */
#ifndef SP_CORE_TOPIC_H
#define SP_CORE_TOPIC_H

typedef enum {
    TOPIC_PENDING = 0,
    TOPIC_READY,
    TOPIC_FAILED,
    TOPIC_DELETING,
    TOPIC__COUNT
} topic_phase;

const char *topic_phase_name(topic_phase p);
/* TOPIC__COUNT for a string that is no phase. */
topic_phase topic_phase_parse(const char *s);

/* Live reads of a cluster's Kafka that the API asks the workers for (the
 * topics Kafka has, consumer groups and their lag), and how one ends. */
typedef enum { KREAD_TOPICS = 0, KREAD_GROUPS, KREAD_GROUP } kread_kind;
typedef enum {
    KREAD_OK = 0,
    KREAD_NO_ROUTE,      /* streamplane cannot reach this cluster's brokers (manifests target,
                            no external listener, no address yet): permanent until the cluster changes */
    KREAD_UNREACHABLE,   /* the brokers did not answer in time (transient) */
    KREAD_NOT_FOUND,     /* no such consumer group */
    KREAD_REFUSED,       /* Kafka refused the read (authorization, a bad group id) */
} kread_rc;

#endif
