/*
 * clock.h - the injectable clock.
 *
 * Code that needs "now" takes a `const tide_clock *` so tests can drive a
 * fake clock instead of sleeping.  tide_clock_system() is the real one.
 */
#ifndef TIDE_BASE_CLOCK_H
#define TIDE_BASE_CLOCK_H

#include <stdint.h>

typedef struct tide_clock {
    /* Wall-clock time in ms since the UNIX epoch (UTC). */
    int64_t (*now_ms)(void *ctx);
    /* Monotonic time in ns, for intervals and timeouts. */
    int64_t (*mono_ns)(void *ctx);
    void *ctx;
} tide_clock;

const tide_clock *tide_clock_system(void);

static inline int64_t tide_clock_now_ms(const tide_clock *c) { return c->now_ms(c->ctx); }
static inline int64_t tide_clock_mono_ns(const tide_clock *c) { return c->mono_ns(c->ctx); }

/* A manual clock for tests: both readings come from `*(int64_t *)ctx`
 * (ms; mono_ns returns it times 1e6). */
typedef struct tide_clock_manual {
    tide_clock clock;
    int64_t now_ms;
} tide_clock_manual;

void tide_clock_manual_init(tide_clock_manual *m, int64_t start_ms);

#endif
