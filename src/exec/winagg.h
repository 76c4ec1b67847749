/*
 * winagg.h - the keyed windowed aggregation operator (single-threaded).
 *
 * Input: records (key bytes, event time, input values) and watermarks.
 * Output, through callbacks: changelog rows (op, key, window start, window
 * end, one value per aggregate) and late records.  Semantics are those of
 * time/window.h and time/trigger.h (DESIGN.md section 4): a window [start,
 * end) fires when the watermark reaches its last millisecond (W >= end - 1,
 * as Flink), records within the allowed lateness cause late firings,
 * records past it (W >= end - 1 + L on arrival) go to the late callback
 * once.  SESSION windows are per key here (a key's sessions never see
 * another key's records); exec/sessagg.h forms sessions over the whole
 * input or per partition key and aggregates per key inside them.
 *
 * Deterministic output order.  When the watermark advances, the windows it
 * fires are emitted in ascending (window_end, window_start, key bytes)
 * order (key bytes compared with memcmp over the common length, the shorter
 * key first on a tie); a round of processing-time early firings uses the same
 * order.  Late and every-N firings happen inside tide_winagg_push, for the
 * pushed record's windows in ascending (start, end) order, and then the late
 * callback (if the record missed a window).  Session merges emit -D for the
 * superseded rows (ascending start) before anything else of that push.
 *
 * Aggregates are exec/agg.h's, with its semantics (NULLs ignored; COUNT ->
 * BIGINT; SUM keeps the input type and fails with TIDE_ERANGE when a BIGINT
 * sum overflows; AVG -> DOUBLE; MIN/MAX keep the type; exact COUNT
 * DISTINCT).  BIGINT and TIMESTAMP input values are interchangeable.
 * MIN/MAX of STRING: its result borrows the state, so the operator keeps a
 * copy of each previous STRING result (for -U/-D and unchanged refirings).
 *
 * Memory: state per (key, window) in open-addressing hash tables and dense
 * arrays that grow by doubling; nothing is allocated per record in steady
 * state (COUNT DISTINCT sets grow by doubling per window).  Window state is
 * freed when W >= end - 1 + allowed lateness.
 *
 * Errors: an allocation failure or a callback's non-zero return stops the
 * call and puts the operator in a failed state: later calls return the same
 * code.
 */
#ifndef TIDE_EXEC_WINAGG_H
#define TIDE_EXEC_WINAGG_H

#include "base/buf.h"
#include "base/err.h"
#include "data/types.h"
#include "exec/agg.h"
#include "time/trigger.h"
#include "time/window.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One aggregate: its kind (exec/agg.h: COUNT_STAR, COUNT, SUM, MIN, MAX,
 * AVG, COUNT_DISTINCT, APPROX_COUNT_DISTINCT), the index of its argument in
 * the pushed values (not used by COUNT(*)), and the argument's type. */
typedef tide_agg_call tide_winagg_call;

/* One output row.  All pointers are borrowed for the duration of the
 * callback only. */
typedef struct tide_winagg_row {
    tide_op op;
    const void *key;
    uint32_t key_len;
    int64_t start, end;
    const tide_value *vals; /* one per aggregate, in config order */
    size_t n_vals;
} tide_winagg_row;

/* Return 0 to go on; a non-zero (negative TIDE_E*) return stops the
 * operator with that error. */
typedef int (*tide_winagg_emit_fn)(void *ctx, const tide_winagg_row *row);
typedef int (*tide_winagg_late_fn)(void *ctx, const void *key, uint32_t key_len, int64_t ts,
                                   const tide_value *in, size_t n_in);

typedef struct tide_winagg_config {
    tide_win_spec window;
    const tide_winagg_call *aggs; /* copied at create */
    size_t n_aggs;                /* >= 1 */
    size_t n_inputs;              /* values per pushed record */
    int64_t allowed_lateness;     /* L >= 0, ms */
    tide_trig_mode mode;
    tide_trig_early early;        /* zero: no early firings */
    tide_winagg_emit_fn emit;     /* required */
    tide_winagg_late_fn late;     /* may be NULL (late records only counted) */
    void *ctx;                    /* passed to both callbacks */
    size_t capacity_hint;         /* expected live (key, window) pairs; 0: small */
} tide_winagg_config;

typedef struct tide_winagg tide_winagg;

int tide_winagg_create(const tide_winagg_config *cfg, tide_winagg **out, tide_err *e);
/* NULL is a no-op. */
void tide_winagg_free(tide_winagg *op);

/* Add one record: `key`/`key_len` (copied when kept), event time `ts`,
 * `in` with cfg->n_inputs values (borrowed for the call), at processing time
 * `proc_now` (drives processing-time early firings).  The record is judged
 * against the operator's current watermark. */
int tide_winagg_push(tide_winagg *op, const void *key, uint32_t key_len, int64_t ts,
                     const tide_value *in, int64_t proc_now, tide_err *e);

/* Push `n` records at once: record i has key keys[i] (key_lens[i] bytes),
 * event time ts[i] and values in[i * n_inputs ...] (`in` may be NULL when
 * n_inputs is 0).  Same results as n calls of tide_winagg_push in order;
 * faster, because the state lookups of a group of records are prefetched
 * together.  On an error, the records before the failing one were pushed. */
int tide_winagg_push_batch(tide_winagg *op, size_t n, const void *const *keys,
                           const uint32_t *key_lens, const int64_t *ts, const tide_value *in,
                           int64_t proc_now, tide_err *e);

/* Merge a partial into the windows of event time `ts` of `key`, as if the
 * records it accumulated had been pushed with that key and time (two-phase
 * aggregation, exec/node_preagg.h: ts is the start of the partial's
 * window).  states[i] (lens[i] bytes) is aggregate i's state in exec/agg.h's
 * encoding (tide_agg_encode), over records of the same aggregate inputs.
 * A window it reaches that is open is updated; one that fired but is kept
 * (allowed lateness) fires again, as for a late record.  Refused, with the
 * operator unchanged and usable: a window past its allowed lateness
 * (TIDE_EINVAL: partials carry no late records, the caller must not send
 * one late; it is not counted late), SESSION windows and every-N early
 * firings (TIDE_EINVAL: a partial's record count is unknown), a malformed
 * state (TIDE_ECORRUPT).  TIDE_ENOMEM and a failing callback fail the
 * operator. */
int tide_winagg_merge(tide_winagg *op, const void *key, uint32_t key_len, int64_t ts, const void *const *states,
                      const size_t *lens, int64_t proc_now, tide_err *e);

/* The watermark is now `wm` (a lower value than the current one is
 * ignored: watermarks never go backwards).  Fires due windows, frees
 * expired ones, and runs a due round of early firings.  TIDE_TS_MAX (end
 * of input) fires and frees everything. */
int tide_winagg_advance_watermark(tide_winagg *op, int64_t wm, int64_t proc_now, tide_err *e);

/* Processing time passed: run a due round of early firings. */
int tide_winagg_tick(tide_winagg *op, int64_t proc_now, tide_err *e);

int64_t tide_winagg_watermark(const tide_winagg *op);
/* Records sent to the late output so far. */
uint64_t tide_winagg_late_count(const tide_winagg *op);
/* Live (key, window) states; keys with a live window; keys held in memory
 * (live ones plus recently idle ones kept for reuse, see winagg.c).  Only
 * interned keys count: SESSION keys and keys longer than 16 bytes (the
 * window entries of other windows hold short keys themselves). */
size_t tide_winagg_live_windows(const tide_winagg *op);
size_t tide_winagg_live_keys(const tide_winagg *op);
size_t tide_winagg_interned_keys(const tide_winagg *op);

/* Checkpoints (state/snap.h).  tide_winagg_snapshot appends one section,
 * kind "winagg", format version 1, holding:
 *   - a config fingerprint: the window (kind and the sizes it uses), each
 *     aggregate (kind, argument, type), the input count, the allowed
 *     lateness, the accumulation mode and the early-firing policy;
 *   - the watermark, the late count and the processing-time early-firing
 *     clock (its next deadline);
 *   - every live (key, window) state, sorted by (key bytes, start, end):
 *     key, start, end (a SESSION window's current extent), whether it was
 *     emitted, fired on time, changed since its last firing and is queued
 *     for the next processing-time round, the records added since its last
 *     firing (every-N early firings), each aggregate's state (exec/agg.h,
 *     exact: sums, inf/NaN counts, distinct sets, HLL registers) and, once
 *     emitted (accumulating and retracting modes), the results it emitted
 *     last (for -U / -D and for skipping unchanged re-firings).
 * That is everything that decides future output; the TUMBLE COUNT(*)
 * batch path keeps nothing between calls.  Equal states give equal bytes
 * (no hash or memory order), so a snapshot taken twice without a change in
 * between is byte-identical.  The operator is not changed; a failed
 * operator has no snapshot (TIDE_EFAILED).  TIDE_ENOMEM leaves `out` as it
 * was.
 *
 * tide_winagg_restore reads such a section into a freshly created operator
 * (nothing pushed, no watermark, no tick; else TIDE_EINVAL) created with
 * the same config (callbacks, context and capacity hint may differ).  From
 * then on it emits exactly what the snapshotted operator would have.
 * (Idle keys it kept interned are not restored: tide_winagg_interned_keys
 * may differ, the live counts do not.)  Refused: a damaged or truncated
 * section, one of another operator kind or format version (TIDE_ECORRUPT,
 * the message says which); a snapshot of another config (TIDE_EINVAL, the
 * message names the first field that differs and both values).  A refused
 * restore (and TIDE_ENOMEM) leaves the operator as freshly created, so an
 * older snapshot can be tried. */
int tide_winagg_snapshot(const tide_winagg *op, tide_buf *out, tide_err *e);
int tide_winagg_restore(tide_winagg *op, const void *buf, size_t len, tide_err *e);

/* The config fingerprint above, for the operators that share this config
 * (exec/sessagg.h): put writes it; check reads one and compares it with
 * `cfg`: 0, TIDE_EINVAL naming the first field that differs (both values),
 * or the reader's TIDE_ECORRUPT when it cannot be read. */
void tide_winagg_snap_put_config(const tide_winagg_config *cfg, tide_snap_w *w);
int tide_winagg_snap_check_config(const tide_winagg_config *cfg, tide_snap_r *r, tide_err *e);

/* What the snapshot of every operator of this config begins with: the
 * config fingerprint, then the watermark, the late count and the
 * early-firing clock.  get checks the fingerprint (as
 * tide_winagg_snap_check_config: on an error nothing is changed), then reads
 * the rest into *wm, *late_count and *clock (a malformed section marks the
 * reader failed, as every later field does). */
void tide_winagg_snap_put_head(const tide_winagg_config *cfg, int64_t wm, uint64_t late_count,
                               const tide_trig_clock *clock, tide_snap_w *w);
int tide_winagg_snap_get_head(const tide_winagg_config *cfg, tide_snap_r *r, int64_t *wm,
                              uint64_t *late_count, tide_trig_clock *clock, tide_err *e);

/* The checks of a config that every operator of this config makes at
 * create (exec/sessagg.h too): the window spec, the emit callback, the
 * number of aggregates (1 to 4096) and their arguments (< n_inputs), the
 * lateness (>= 0) and the mode.  0, or TIDE_EINVAL with a message that
 * begins with `who` ("window aggregate"). */
int tide_winagg_config_check(const tide_winagg_config *cfg, const char *who, tide_err *e);

#endif
