/*
 * cumagg.h - keyed sliced window aggregation: CUMULATE and HOP windows by
 * shared slices (final results, allowed lateness 0, no early firings).
 *
 * Both window kinds are unions of consecutive slices of one step (CUMULATE)
 * or slide (HOP) aligned to the epoch, so a record updates ONE slice state
 * (its key's slice containing it) instead of every window that contains
 * it, as exec/winagg.h does (a 1-day step over a 10-year CUMULATE max costs
 * thousands of updates per record, a HOP of 30 days sliding by 1 day 30).
 * Firing a window merges slice states (exec/agg.h merge):
 *
 *   - CUMULATE(step, max): per (key, period s0 = floor(ts / max) * max,
 *     time/window.h) one running state (the records of the windows fired so
 *     far) plus one slice state per step not fired yet; firing the window
 *     ending at E merges E's slices into the running state and emits it.
 *   - HOP(slide, size), size a multiple of slide: per key the slices of its
 *     live windows; the window [E - size, E) is the merge of its size/slide
 *     slices.  To avoid merging all of them per window, the slices are kept
 *     as a two-stack queue: the older ones ("front") hold suffix merges (a
 *     front slice's state is itself merged with every newer front slice),
 *     the newer ones ("back") their own records plus one running merge of
 *     them all; a window is then (oldest front suffix) (+) (back merge), and
 *     when the front runs empty the back is turned into suffixes (one merge
 *     per slice, once per size/slide windows).  For COUNT(DISTINCT) that is
 *     ~3 window-sized set merges per fired window and key, instead of
 *     size/slide slice merges (or winagg's size/slide inserts per record).
 *     A slice is freed when the last window containing it fired.
 *
 * Same rows as winagg with allowed lateness 0 and final firings only:
 *
 *   - a window [S, E) fires when the watermark reaches its last millisecond
 *     (W >= E - 1, time/trigger.h) and holds at least one record; empty
 *     windows give no row (CUMULATE: every later window of the period does,
 *     up to s0 + max, also after the data ends);
 *   - a record joins the windows containing it that have not fired (W <
 *     E - 1; the ones already fired are final).  As in winagg (DESIGN.md
 *     4), a record is late when it misses a window that already fired (its
 *     first window has E - 1 <= W): counted once (tide_cumagg_late), even if
 *     it misses several, and dropped only when none of its windows is left
 *     (CUMULATE: s0 + max - 1 <= W; HOP: slice start + size - 1 <= W).
 *
 * tide_cumagg_advance emits the fired windows ordered by (end, start, key
 * bytes) with the key bytes of data/key.h (so ordered by the SQL order of
 * the keys, NULLs first; DOUBLE -0.0 and 0.0 are one key, all NaNs one).
 * Times near the ends of the int64 range saturate instead of overflowing;
 * there the windows may differ from time/window.h's.
 *
 * Memory: per live (key, period) state (HOP: per key) the slices of its
 * pending windows (allocated once per slice, never per record); a state is
 * freed when its last window fired.  One thread.
 */
#ifndef TIDE_EXEC_CUMAGG_H
#define TIDE_EXEC_CUMAGG_H

#include "base/buf.h"
#include "base/err.h"
#include "data/types.h"
#include "exec/agg.h"
#include "time/window.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tide_cumagg tide_cumagg;

/* One fired window.  Pointers are borrowed for the call. */
typedef struct tide_cumagg_row {
    int64_t start, end;
    const tide_value *keys;
    size_t n_keys;
    const tide_value *vals; /* one per aggregate */
    size_t n_vals;
} tide_cumagg_row;

/* 0, or a negative TIDE_E* to stop (advance returns it). */
typedef int (*tide_cumagg_emit_fn)(void *ctx, const tide_cumagg_row *r);

/* win: CUMULATE(step, max) or HOP(slide, size), size (max) a multiple of
 * slide (step), both > 0 (tide_cumagg_supports); aggs: bound descriptors
 * (copied); key_types: n_keys key column types (copied).  TIDE_EINVAL,
 * TIDE_ENOMEM. */
int tide_cumagg_create(tide_cumagg **out, const tide_win_spec *win, const tide_agg *aggs,
                       size_t n_aggs, const tide_type *key_types, size_t n_keys, tide_err *e);
/* Whether a window spec can run here. */
bool tide_cumagg_supports(const tide_win_spec *win);
/* NULL is a no-op. */
void tide_cumagg_free(tide_cumagg *c);

/* One record: n_keys keys, one input per aggregate (ignored by COUNT(*)),
 * its event time. */
int tide_cumagg_push(tide_cumagg *c, const tide_value *keys, const tide_value *vals, int64_t ts,
                     tide_err *e);
/* The watermark moved to wm (TIDE_TS_MAX: end of input): fire every window
 * with end - 1 <= wm, in (end, start, key bytes) order.  A smaller wm than
 * before is ignored. */
int tide_cumagg_advance(tide_cumagg *c, int64_t wm, tide_cumagg_emit_fn fn, void *ctx, tide_err *e);

uint64_t tide_cumagg_late(const tide_cumagg *c); /* records that missed a fired window */
size_t tide_cumagg_live(const tide_cumagg *c);   /* live (key, period) states; HOP: keys */

/* Checkpoints (state/snap.h).  tide_cumagg_snapshot appends one section,
 * kind "cumagg", format version 1, holding:
 *   - a config fingerprint: CUMULATE or HOP with its step (slide) and max
 *     (size), each aggregate (kind, input type, bind flags), the key
 *     column types;
 *   - the watermark and the late count;
 *   - every live state sorted by (encoded key bytes, period start): its key
 *     values, period start, frontier (the last window fired), next firing
 *     time, the running state (CUMULATE: the windows fired so far; HOP: the
 *     back's merge) with its record count, and its slices in order with
 *     their record counts and states, HOP's front (suffix merges) / back /
 *     pending split included, so that later merges, DOUBLE sums too, give
 *     the same bits.
 * Equal states give equal bytes.  TIDE_ENOMEM leaves `out` as it was.
 *
 * tide_cumagg_restore reads such a section into a freshly created operator
 * (nothing pushed, no advance; else TIDE_EINVAL) of the same config; from
 * then on it fires exactly what the snapshotted one would have.  Refused: a
 * damaged or truncated section, another operator kind or format version, a
 * state that cannot be (TIDE_ECORRUPT, the message says which); another
 * config (TIDE_EINVAL, naming the first field that differs).  A refused
 * restore (and TIDE_ENOMEM) leaves the operator as freshly created. */
int tide_cumagg_snapshot(const tide_cumagg *c, tide_buf *out, tide_err *e);
int tide_cumagg_restore(tide_cumagg *c, const void *buf, size_t len, tide_err *e);

#endif
