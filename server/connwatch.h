/* connwatch.h — a whole-request arrival deadline per connection (see
 * connwatch.c). The HTTP layer reports a connection's life: opened, its
 * request arrived in full, answered (the clock starts again for the next
 * request on a kept-alive connection), closed. */
#ifndef SP_CONNWATCH_H
#define SP_CONNWATCH_H

#include <stdbool.h>
#include <stdint.h>

typedef struct connwatch connwatch;

/* now_ms NULL: the monotonic clock and a watcher thread that sweeps every
 * 200 ms; a test passes its own clock and calls connwatch_sweep itself. */
connwatch *connwatch_new(int deadline_ms, int64_t (*now_ms)(void));
int connwatch_sweep(connwatch *w);            /* shuts down the late; how many */
void connwatch_free(connwatch *w);            /* stops it */
void connwatch_opened(connwatch *w, int fd, void **ctx);
void connwatch_closed(connwatch *w, void **ctx);
void connwatch_arrived(connwatch *w, void *ctx);
void connwatch_next(connwatch *w, void *ctx);
long connwatch_cut(connwatch *w);             /* connections shut down so far */

#endif
