/*
 * window.h - window assigners, aligned to the UTC epoch (DESIGN.md section 4).
 * Pure logic.  All times are ms since the epoch (int64, may be negative).
 *
 *   TUMBLE(size)          [k*size, (k+1)*size)
 *   HOP(slide, size)      every [k*slide, k*slide + size) that contains ts
 *                         (size must be a multiple of slide, as in Flink)
 *   CUMULATE(step, max)   s0 = floor(ts/max)*max; every [s0, s0 + i*step)
 *                         with i*step <= max that contains ts (max must be a
 *                         multiple of step, as in Flink)
 *   with an offset o      (TUMBLE, HOP, CUMULATE) the same windows moved by
 *                         o: a window starts at ts - floor_mod(ts - o, a),
 *                         a = size (TUMBLE), slide (HOP), max (CUMULATE):
 *                         Flink's TimeWindow.getWindowStartWithOffset.  Only
 *                         o mod a matters (-8 h and 16 h give the same daily
 *                         windows), so the spec keeps o in [0, a)
 *                         (tide_win_set_offset).
 *   SESSION(gap)          each record opens [ts, ts + gap); windows that
 *                         intersect merge (see tide_win_intersects): a
 *                         session [first ts, last ts + gap) fires at
 *                         W >= last ts + gap - 1 (time/trigger.h).  Over the
 *                         whole input, or per partition key (SQL's PARTITION
 *                         BY; exec/sessagg.h), or per GROUP BY key
 *                         (exec/winagg.h)
 *   GLOBAL                one window [TIDE_TS_MIN, TIDE_TS_MAX): it fires only
 *                         when W = +infinity (end of input)
 *
 * k is floor division, so negative timestamps land in the right window
 * (ts = -1 with size 10 is in [-10, 0)).  Near the ends of the int64 range
 * bounds saturate: a start below TIDE_TS_MIN becomes TIDE_TS_MIN and an end
 * above TIDE_TS_MAX becomes TIDE_TS_MAX (such a window fires at end of input).
 */
#ifndef TIDE_TIME_WINDOW_H
#define TIDE_TIME_WINDOW_H

#include "base/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TIDE_WIN_KIND_MAP(X) \
    X(TUMBLE, "TUMBLE")      \
    X(HOP, "HOP")            \
    X(CUMULATE, "CUMULATE")  \
    X(SESSION, "SESSION")    \
    X(GLOBAL, "GLOBAL")

typedef enum tide_win_kind {
#define TIDE__WIN_ENUM(name, s) TIDE_WIN_##name,
    TIDE_WIN_KIND_MAP(TIDE__WIN_ENUM)
#undef TIDE__WIN_ENUM
} tide_win_kind;

typedef struct tide_win_spec {
    tide_win_kind kind;
    int64_t size;  /* TUMBLE, HOP: window length; CUMULATE: max */
    int64_t slide; /* HOP: slide; CUMULATE: step */
    int64_t gap;   /* SESSION */
    int64_t offset; /* TUMBLE, HOP, CUMULATE: in [0, alignment); see above */
} tide_win_spec;

/* A window [start, end). */
typedef struct tide_win_range {
    int64_t start, end;
} tide_win_range;

static inline tide_win_spec tide_win_tumble(int64_t size)
{
    return (tide_win_spec){.kind = TIDE_WIN_TUMBLE, .size = size};
}
static inline tide_win_spec tide_win_hop(int64_t slide, int64_t size)
{
    return (tide_win_spec){.kind = TIDE_WIN_HOP, .size = size, .slide = slide};
}
static inline tide_win_spec tide_win_cumulate(int64_t step, int64_t max)
{
    return (tide_win_spec){.kind = TIDE_WIN_CUMULATE, .size = max, .slide = step};
}
static inline tide_win_spec tide_win_session(int64_t gap)
{
    return (tide_win_spec){.kind = TIDE_WIN_SESSION, .gap = gap};
}
static inline tide_win_spec tide_win_global(void) { return (tide_win_spec){.kind = TIDE_WIN_GLOBAL}; }

const char *tide_win_kind_name(tide_win_kind k);

/* The period window starts are aligned to: TUMBLE size, HOP slide,
 * CUMULATE max (0 for SESSION and GLOBAL). */
int64_t tide_win_alignment(const tide_win_spec *s);
/* Give s (TUMBLE, HOP, CUMULATE, sizes set) the offset o, any int64 (as
 * written: negative offsets too), kept as o mod tide_win_alignment(s).
 * No-op for the other kinds and for an alignment <= 0 (spec_check then
 * refuses the spec). */
void tide_win_set_offset(tide_win_spec *s, int64_t o);

/* Validate a spec: positive sizes of at most TIDE_TS_VALID_SPAN (10000
 * years: with event times inside the TIMESTAMP range, data/types.h, every
 * window bound is then within +-2^49 ms, so window arithmetic cannot
 * overflow), HOP size a multiple of slide and CUMULATE max a multiple of
 * step (Flink's rules: every record then falls in at least one window), at
 * most TIDE_WIN_MAX_PER_RECORD windows per record.  TIDE_EINVAL with a
 * message. */
#define TIDE_WIN_MAX_PER_RECORD 100000
int tide_win_spec_check(const tide_win_spec *s, tide_err *e);

/* The most windows one record can fall into (1 for SESSION and GLOBAL). */
size_t tide_win_max_windows(const tide_win_spec *s);

/* floor(a / b) and a - floor(a / b) * b (in [0, b)) for b > 0. */
int64_t tide_win_floor_div(int64_t a, int64_t b);
int64_t tide_win_floor_mod(int64_t a, int64_t b);
/* floor_mod(a - off, b) for off in [0, b), without overflow for any a:
 * how far a is past the last start of a period b shifted by off. */
int64_t tide_win_phase(int64_t a, int64_t b, int64_t off);

/* The windows containing `ts`, in ascending (start, end) order, written to
 * `out` (room for tide_win_max_windows()).  Returns how many.  For SESSION
 * this is the record's own proto-window [ts, ts + gap) before merging. */
size_t tide_win_assign(const tide_win_spec *s, int64_t ts, tide_win_range *out);

/* Session merging rule, as Flink's TimeWindow.intersects: two windows merge
 * when a.start <= b.end && b.start <= a.end, so touching windows ([0,10) and
 * [10,20)) merge too: records exactly `gap` apart share a session. */
static inline bool tide_win_intersects(tide_win_range a, tide_win_range b)
{
    return a.start <= b.end && b.start <= a.end;
}

#endif
