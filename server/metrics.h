/* metrics.h — Prometheus counters and histograms for the HTTP layer. */
#ifndef SP_METRICS_H
#define SP_METRICS_H

#include <stdint.h>
#include <stdio.h>

typedef struct metrics metrics;

metrics *metrics_new(int nroutes);
void metrics_free(metrics *m);
/* route = index in the route table, or nroutes for "no route". */
void metrics_observe(metrics *m, int route, int status, int64_t duration_us);
/* Writes the HTTP series; route_name/method give each route's labels. */
void metrics_write(metrics *m, FILE *out, const char *(*route_name)(int), const char *(*route_method)(int));

#endif
