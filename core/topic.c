/* topic.c — see topic.h. */
#include "topic.h"

#include <string.h>

static const char *const NAMES[TOPIC__COUNT] = {"PENDING", "READY", "FAILED", "DELETING"};

const char *topic_phase_name(topic_phase p) { return p < TOPIC__COUNT ? NAMES[p] : "UNKNOWN"; }

topic_phase topic_phase_parse(const char *s)
{
    for (int i = 0; s && i < TOPIC__COUNT; i++)
        if (strcmp(s, NAMES[i]) == 0) return (topic_phase)i;
    return TOPIC__COUNT;
}
