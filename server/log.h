/* log.h — one JSON object a line on stderr (or key=value text for humans). */
#ifndef SP_LOG_H
#define SP_LOG_H

#include <jansson.h>
#include <stdbool.h>

typedef enum { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR } log_level;

void log_setup(bool text, log_level min);
bool log_parse_level(const char *s, log_level *out);
/* Writes one line; fields (may be NULL) is consumed. */
void log_emit(log_level lvl, const char *msg, json_t *fields);
void log_msg(log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
