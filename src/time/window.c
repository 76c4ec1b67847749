/*
 * window.c - window assigners (see window.h).
 */
#include "time/window.h"

#include "data/types.h"
#include "time/watermark.h"

const char *tide_win_kind_name(tide_win_kind k)
{
    switch (k) {
#define TIDE__WIN_NAME(name, s) case TIDE_WIN_##name: return s;
        TIDE_WIN_KIND_MAP(TIDE__WIN_NAME)
#undef TIDE__WIN_NAME
    }
    return "?";
}

int64_t tide_win_alignment(const tide_win_spec *s)
{
    switch (s->kind) {
    case TIDE_WIN_TUMBLE:
    case TIDE_WIN_CUMULATE: return s->size;
    case TIDE_WIN_HOP: return s->slide;
    default: return 0;
    }
}

void tide_win_set_offset(tide_win_spec *s, int64_t o)
{
    int64_t a = tide_win_alignment(s);
    s->offset = a > 0 ? tide_win_floor_mod(o, a) : 0;
}

int tide_win_spec_check(const tide_win_spec *s, tide_err *e)
{
    int64_t al = tide_win_alignment(s);
    if (s->offset != 0 && (al <= 0 || s->offset < 0 || s->offset >= al))
        return tide_err_set(e, TIDE_EINVAL, "%s: offset %lld ms outside [0, %lld)", tide_win_kind_name(s->kind),
                            (long long)s->offset, (long long)al);
    int64_t longest = s->size > s->slide ? s->size : s->slide;
    longest = longest > s->gap ? longest : s->gap;
    if (longest > TIDE_TS_VALID_SPAN)
        return tide_err_set(e, TIDE_EINVAL,
                            "%s: a size of %lld ms is longer than the TIMESTAMP range (%lld ms, 10000 years)",
                            tide_win_kind_name(s->kind), (long long)longest, (long long)TIDE_TS_VALID_SPAN);
    switch (s->kind) {
    case TIDE_WIN_TUMBLE:
        if (s->size <= 0)
            return tide_err_set(e, TIDE_EINVAL, "TUMBLE: size must be > 0 (got %lld)",
                                (long long)s->size);
        return 0;
    case TIDE_WIN_HOP:
        if (s->size <= 0 || s->slide <= 0)
            return tide_err_set(e, TIDE_EINVAL, "HOP: slide and size must be > 0 (got %lld, %lld)",
                                (long long)s->slide, (long long)s->size);
        if (s->size % s->slide != 0) /* (Flink's rule: else rows fall between windows) */
            return tide_err_set(e, TIDE_EINVAL,
                                "HOP: size must be a multiple of slide (got slide %lld ms, size %lld ms)",
                                (long long)s->slide, (long long)s->size);
        if ((s->size - 1) / s->slide + 1 > TIDE_WIN_MAX_PER_RECORD)
            return tide_err_set(e, TIDE_EINVAL, "HOP: size/slide over %d windows per record",
                                TIDE_WIN_MAX_PER_RECORD);
        return 0;
    case TIDE_WIN_CUMULATE:
        if (s->size <= 0 || s->slide <= 0 || s->size % s->slide != 0)
            return tide_err_set(e, TIDE_EINVAL,
                                "CUMULATE: step and max must be > 0 and max a multiple of step "
                                "(got %lld, %lld)", (long long)s->slide, (long long)s->size);
        if (s->size / s->slide > TIDE_WIN_MAX_PER_RECORD)
            return tide_err_set(e, TIDE_EINVAL, "CUMULATE: max/step over %d windows per record",
                                TIDE_WIN_MAX_PER_RECORD);
        return 0;
    case TIDE_WIN_SESSION:
        if (s->gap <= 0)
            return tide_err_set(e, TIDE_EINVAL, "SESSION: gap must be > 0 (got %lld)",
                                (long long)s->gap);
        return 0;
    case TIDE_WIN_GLOBAL:
        return 0;
    }
    return tide_err_set(e, TIDE_EINVAL, "window: unknown kind %d", (int)s->kind);
}

size_t tide_win_max_windows(const tide_win_spec *s)
{
    switch (s->kind) {
    case TIDE_WIN_HOP: return (size_t)((s->size - 1) / s->slide + 1);
    case TIDE_WIN_CUMULATE: return (size_t)(s->size / s->slide);
    default: return 1;
    }
}

int64_t tide_win_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b) != 0 && a < 0)
        q--;
    return q;
}

int64_t tide_win_floor_mod(int64_t a, int64_t b)
{
    int64_t r = a % b;
    return r < 0 ? r + b : r;
}

int64_t tide_win_phase(int64_t a, int64_t b, int64_t off)
{
    int64_t r = tide_win_floor_mod(a, b) - off;
    if (r < 0) /* (off < b: one step back is enough) */
        r += b;
    return r;
}

/* The largest off + k*b that is <= ts, saturated at TIDE_TS_MIN. */
static int64_t align_down(int64_t ts, int64_t b, int64_t off)
{
    return tide_wm_sat_sub(ts, tide_win_phase(ts, b, off));
}

size_t tide_win_assign(const tide_win_spec *s, int64_t ts, tide_win_range *out)
{
    switch (s->kind) {
    case TIDE_WIN_TUMBLE: {
        int64_t st = align_down(ts, s->size, s->offset);
        out[0] = (tide_win_range){st, tide_wm_sat_add(st, s->size)};
        return 1;
    }
    case TIDE_WIN_HOP: {
        /* Starts k*slide with ts - size < k*slide <= ts, newest first, then
         * reversed.  (uint64_t)(ts - st) is exact: 0 <= ts - st. */
        size_t n = 0;
        int64_t st = align_down(ts, s->slide, s->offset);
        for (;;) {
            if ((uint64_t)ts - (uint64_t)st >= (uint64_t)s->size)
                break;
            out[n++] = (tide_win_range){st, tide_wm_sat_add(st, s->size)};
            if (st == TIDE_TS_MIN)
                break;
            int64_t prev = tide_wm_sat_sub(st, s->slide);
            if (prev == TIDE_TS_MIN && tide_win_phase(TIDE_TS_MIN, s->slide, s->offset) != 0)
                break; /* no aligned start below; TS_MIN itself is not one */
            st = prev;
        }
        for (size_t i = 0; i < n / 2; i++) {
            tide_win_range t = out[i];
            out[i] = out[n - 1 - i];
            out[n - 1 - i] = t;
        }
        return n;
    }
    case TIDE_WIN_CUMULATE: {
        int64_t s0 = align_down(ts, s->size, s->offset);
        int64_t steps = s->size / s->slide;
        /* first i with s0 + i*step > ts: i = floor((ts - s0) / step) + 1 */
        uint64_t off = (uint64_t)ts - (uint64_t)s0;
        int64_t i0 = (int64_t)(off / (uint64_t)s->slide) + 1;
        size_t n = 0;
        for (int64_t i = i0; i <= steps; i++) {
            int64_t len;
            int64_t end = __builtin_mul_overflow(i, s->slide, &len) ? TIDE_TS_MAX
                                                                     : tide_wm_sat_add(s0, len);
            out[n++] = (tide_win_range){s0, end};
            if (end == TIDE_TS_MAX)
                break;
        }
        return n;
    }
    case TIDE_WIN_SESSION:
        out[0] = (tide_win_range){ts, tide_wm_sat_add(ts, s->gap)};
        return 1;
    case TIDE_WIN_GLOBAL:
        out[0] = (tide_win_range){TIDE_TS_MIN, TIDE_TS_MAX};
        return 1;
    }
    return 0;
}
