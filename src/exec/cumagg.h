/*
 * cumagg.h - keyed CUMULATE window aggregation by shared slices.
 *
 * CUMULATE(step, max) puts a record into every window [s0, s0 + i*step)
 * (s0 = floor(ts / max) * max, time/window.h) that contains it: up to
 * max/step windows.  exec/winagg.h keeps each of them, so a 1-day step over
 * a 10-year max costs thousands of updates per record.  This operator keeps,
 * per (key, s0), one running state (the records of the windows fired so
 * far) plus one slice state per step not fired yet: a record updates one
 * state, and firing the window ending at E merges E's slice into the
 * running state (exec/agg.h merge) and emits its result.  Same results as
 * winagg with allowed lateness 0 and final firings only:
 *
 *   - the window [s0, E) fires when the watermark reaches E (W >= E) and
 *     holds at least one record; empty windows give no row, every later
 *     window of the period does (up to s0 + max, also after the data ends);
 *   - a record with ts < W joins the windows of its period that end after W
 *     (the ones already fired are final); a record whose whole period ended
 *     (s0 + max <= W) is late: dropped and counted.
 *
 * tide_cumagg_advance emits the fired windows ordered by (end, start, key
 * bytes) with the key bytes as job/pipeline.h encodes them (BIGINT and
 * TIMESTAMP big-endian with the sign bit flipped, so the order is numeric).
 *
 * Memory: per live (key, period) one state and the slices of its pending
 * steps (allocated once per slice, never per record); a period's state is
 * freed when its last window fired.  One thread.
 */
#ifndef TIDE_EXEC_CUMAGG_H
#define TIDE_EXEC_CUMAGG_H

#include "base/err.h"
#include "data/types.h"
#include "exec/agg.h"

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

/* step > 0, max a multiple of step; aggs: bound descriptors (copied);
 * key_types: n_keys key column types (copied).  TIDE_EINVAL, TIDE_ENOMEM. */
int tide_cumagg_create(tide_cumagg **out, int64_t step, int64_t max, const tide_agg *aggs,
                       size_t n_aggs, const tide_type *key_types, size_t n_keys, tide_err *e);
/* NULL is a no-op. */
void tide_cumagg_free(tide_cumagg *c);

/* One record: n_keys keys, one input per aggregate (ignored by COUNT(*)),
 * its event time. */
int tide_cumagg_push(tide_cumagg *c, const tide_value *keys, const tide_value *vals, int64_t ts,
                     tide_err *e);
/* The watermark moved to wm (TIDE_TS_MAX: end of input): fire every window
 * with end <= wm, in (end, start, key bytes) order.  A smaller wm than
 * before is ignored. */
int tide_cumagg_advance(tide_cumagg *c, int64_t wm, tide_cumagg_emit_fn fn, void *ctx, tide_err *e);

uint64_t tide_cumagg_late(const tide_cumagg *c); /* records dropped as late */
size_t tide_cumagg_live(const tide_cumagg *c);   /* live (key, period) states */

#endif
