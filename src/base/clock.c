#include "base/clock.h"

#include <time.h>

static int64_t sys_now_ms(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t sys_mono_ns(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static const tide_clock system_clock = {sys_now_ms, sys_mono_ns, 0};

const tide_clock *tide_clock_system(void) { return &system_clock; }

static int64_t manual_now_ms(void *ctx) { return *(int64_t *)ctx; }
static int64_t manual_mono_ns(void *ctx) { return *(int64_t *)ctx * 1000000; }

void tide_clock_manual_init(tide_clock_manual *m, int64_t start_ms)
{
    m->now_ms = start_ms;
    m->clock.now_ms = manual_now_ms;
    m->clock.mono_ns = manual_mono_ns;
    m->clock.ctx = &m->now_ms;
}
