/* fake_clock.h — a test double for sp_clock: time moves only when the test
 * says so, so tests of windows and periods never sleep and never race the
 * real clock. */
#ifndef SP_FAKE_CLOCK_H
#define SP_FAKE_CLOCK_H

#include "../../common/util.h"

typedef struct fake_clock {
    sp_clock clock;              /* hand &fc.clock to the code under test */
    int64_t wall_ms, mono_ms;    /* atomic */
} fake_clock;

static inline int64_t fake_wall(void *arg) { return __atomic_load_n(&((fake_clock *)arg)->wall_ms, __ATOMIC_SEQ_CST); }
static inline int64_t fake_mono(void *arg) { return __atomic_load_n(&((fake_clock *)arg)->mono_ms, __ATOMIC_SEQ_CST); }

/* Starts at wall time wall_ms (ms since the epoch) and monotonic 1000. */
static inline void fake_clock_init(fake_clock *f, int64_t wall_ms)
{
    f->wall_ms = wall_ms;
    f->mono_ms = 1000;
    f->clock.wall_ms = fake_wall;
    f->clock.mono_ms = fake_mono;
    f->clock.arg = f;
}

static inline void fake_clock_advance(fake_clock *f, int64_t ms)
{
    __atomic_add_fetch(&f->wall_ms, ms, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&f->mono_ms, ms, __ATOMIC_SEQ_CST);
}

#endif
