/*
 * join.h - the keyed stream-stream join operators (single-threaded).
 *
 * Both operators see rows of two inputs, LEFT and RIGHT, already exchanged
 * by the equi-join key (an instance sees every row of its keys from both
 * sides).  Input: push(side, key bytes, ts, values) and the combined
 * watermark W (the min over both inputs is the caller's job).  A row is on
 * time when ts >= W at its arrival (DESIGN.md section 4).  Output goes
 * through a callback with borrowed pointers.
 *
 * OUTER JOINS (cfg.outer[side]: LEFT = outer[LEFT], RIGHT = outer[RIGHT],
 * FULL = both).  A row of an outer side that never matched emits itself
 * once with NULLs for the other side (tide_join_row.left or .right NULL),
 * when it can no longer match: the interval join when the row leaves the
 * buffer (the watermark passed its interval: Flink's TimeIntervalJoin
 * emits it from its cleanup timer), or at once when it arrives late and is
 * not buffered (as Flink); the window join when its window fires (Flink's
 * window outer join).  Such a row is final: it is never retracted, since
 * nothing can match it any more.  Its output time is the row's own time
 * (interval) or the window's end - 1.
 *
 * MATCH (cfg.match, may be NULL): the rest of the ON condition.  A pair
 * that passes the keys and the bounds is a match only when match returns
 * 1 (0: not a match; < 0: an error that stops the operator).  Only matches
 * are emitted and only they count for the outer rule.
 *
 * INTERVAL JOIN (tide_join_interval_*)
 *   l JOIN r ON l.k = r.k AND l.ts - r.ts BETWEEN lo AND hi   (lo <= hi)
 *   i.e. `l.ts BETWEEN r.ts - X AND r.ts + Y` is lo = -X, hi = Y.
 *   - An arriving row is first probed against the buffered rows of the other
 *     side with the same key (in their arrival order) and emits one output
 *     row per match; output time = max(l.ts, r.ts) as in Flink.  Then it is
 *     buffered if a future on-time row of the other side (ts >= W) could
 *     still match it:
 *        left  row kept iff l.ts >= W + lo   (future r needs r.ts <= l.ts - lo)
 *        right row kept iff r.ts >= W - hi   (future l needs l.ts <= r.ts + hi)
 *     (saturating arithmetic).  Each matching pair is thus emitted exactly
 *     once, by the later-arriving of the two.
 *   - Cleanup: when W advances, every buffered row that fails its keep
 *     condition under the new W is dropped (left rows with l.ts < W + lo,
 *     right rows with r.ts < W - hi), eagerly, in the advance call.  This
 *     is Flink's expiration rule (a cached row with time <= W - relative
 *     size - 1 is removed), with W the same watermark in both (time/
 *     watermark.h: W = max ts - B, as Flink SQL's watermark expression).
 *   - Late rows (ts < W on arrival) are not dropped, as in Flink: they are
 *     joined against whatever of the other side is still buffered (exactly
 *     the rows still satisfying their keep condition under the current W)
 *     and buffered themselves if their own keep condition holds.  A row that
 *     fails it (it can no longer meet any future row) is counted as
 *     "unbuffered".  Matches of a late row with rows already dropped are
 *     lost; unlike Flink (whose cleanup timers run lazily) the set of lost
 *     matches depends only on the arrival order and the watermarks, never on
 *     timer timing.  With all rows on time the output is the full inner join.
 *   - Order: for an arriving row, matches in the arrival order of the
 *     buffered rows: deterministic for a given input sequence.
 *
 * WINDOW JOIN (tide_join_window_*)
 *   Both sides are assigned to the windows of one spec (TUMBLE, HOP,
 *   CUMULATE, GLOBAL; SESSION is TIDE_EUNSUPPORTED).  When W >= a window's
 *   end - 1 (its last millisecond, as Flink's isWindowFired; time/
 *   trigger.h), the inner join of the two sides' rows of that window and key
 *   (all pairs) is emitted and the window's state freed.  Windows due in one
 *   advance are emitted in ascending (end, start, key bytes) order (key
 *   bytes by memcmp over the common length, shorter first on a tie); within
 *   one window and key, left rows in arrival order, and for each, right rows
 *   in arrival order.  A record is late for a window when W >= end - 1 at
 *   its arrival; it is left out of that window but still joins in its windows
 *   that have not fired; a record late for at least one window goes to the
 *   late callback once and counts once in tide_join_window_late_count
 *   (the (record, window) pairs missed are counted separately).  Output
 *   time of a window join row is window end - 1 (its rowtime, as Flink's
 *   window_time).  TIDE_TS_MAX fires everything.
 *
 * Memory: rows are copied (values and their string bytes) into per-side
 * pools whose slots and string buffers are reused; keys and windows in
 * open-addressing tables (state/table.h).  Nothing is allocated per record
 * in steady state.
 *
 * Errors: an allocation failure or a callback's non-zero return stops the
 * call and puts the operator in a failed state: later calls return the same
 * code.  Callbacks must not call back into the operator.
 */
#ifndef TIDE_EXEC_JOIN_H
#define TIDE_EXEC_JOIN_H

#include "base/buf.h"
#include "base/err.h"
#include "data/types.h"
#include "time/window.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum tide_join_side {
    TIDE_JOIN_LEFT = 0,
    TIDE_JOIN_RIGHT = 1,
} tide_join_side;

/* One output row.  All pointers are borrowed for the duration of the
 * callback only.  For a window join, start/end are the window; for an
 * interval join both are 0. */
typedef struct tide_join_row {
    const void *key;
    uint32_t key_len;
    const tide_value *left;  /* n_left values */
    size_t n_left;
    const tide_value *right; /* n_right values */
    size_t n_right;
    int64_t left_ts, right_ts;
    int64_t ts;              /* interval: max(left_ts, right_ts); window: end - 1 */
    int64_t start, end;
} tide_join_row;

/* Return 0 to go on; a non-zero (negative TIDE_E*) return stops the
 * operator with that error. */
typedef int (*tide_join_emit_fn)(void *ctx, const tide_join_row *row);
/* 1 when the candidate pair `row` matches, 0 when not, or a negative
 * TIDE_E* code (stops the operator).  Pointers borrowed for the call. */
typedef int (*tide_join_match_fn)(void *ctx, const tide_join_row *row);
typedef int (*tide_join_late_fn)(void *ctx, tide_join_side side, const void *key,
                                 uint32_t key_len, int64_t ts, const tide_value *vals,
                                 size_t n_vals);

/* ---- interval join ------------------------------------------------------- */

typedef struct tide_join_interval_config {
    int64_t lo, hi;          /* lo <= left.ts - right.ts <= hi; lo <= hi */
    size_t n_left, n_right;  /* values per row of each side */
    tide_join_emit_fn emit;  /* required */
    tide_join_match_fn match; /* may be NULL: every candidate pair matches */
    bool outer[2];           /* pad unmatched rows of that side (see above) */
    void *ctx;               /* passed to emit and match */
} tide_join_interval_config;

typedef struct tide_join_interval tide_join_interval;

int tide_join_interval_create(const tide_join_interval_config *cfg, tide_join_interval **out,
                              tide_err *e);
/* NULL is a no-op. */
void tide_join_interval_free(tide_join_interval *op);

/* Add one row of `side`: key bytes (copied when kept), event time `ts`,
 * `vals` with n_left / n_right values (borrowed for the call; strings are
 * copied when the row is kept; NULL only when that count is 0, else
 * TIDE_EINVAL).  Emits its matches before returning. */
int tide_join_interval_push(tide_join_interval *op, tide_join_side side, const void *key,
                            uint32_t key_len, int64_t ts, const tide_value *vals, tide_err *e);
/* The watermark is now `wm` (lower values are ignored).  Drops expired
 * rows; emits nothing. */
int tide_join_interval_advance_watermark(tide_join_interval *op, int64_t wm, tide_err *e);

int64_t tide_join_interval_watermark(const tide_join_interval *op);
/* Rows buffered for `side`; keys with at least one buffered row. */
size_t tide_join_interval_rows(const tide_join_interval *op, tide_join_side side);
size_t tide_join_interval_keys(const tide_join_interval *op);
/* Rows that arrived with ts < W; rows not buffered (keep condition false
 * on arrival). */
uint64_t tide_join_interval_late_count(const tide_join_interval *op);
uint64_t tide_join_interval_unbuffered_count(const tide_join_interval *op);

/* Checkpoints (state/snap.h).  tide_join_interval_snapshot appends one
 * section, kind "join_interval", format version 2: the config fingerprint
 * (lo, hi, values per row of each side, the outer sides), the watermark,
 * the late and unbuffered counts, the count of rows buffered so far, and
 * every key with buffered rows in key-byte order, with each side's rows in
 * arrival order (event time, whether it matched, its number among the rows
 * buffered, which orders the rows leaving at one watermark; values;
 * strings copied).  tide_join_interval_restore reads one into a freshly created
 * operator (nothing pushed, no watermark; else TIDE_EINVAL) of the same
 * config: from then on it emits exactly what the snapshotted one would
 * have, matches in the same order.  Refused: a damaged or truncated
 * section, another kind or format version (TIDE_ECORRUPT); another config
 * (TIDE_EINVAL, naming the field).  A refused restore (and TIDE_ENOMEM)
 * leaves the operator as freshly created.  Equal states give equal bytes;
 * a failed operator has no snapshot (TIDE_EFAILED). */
int tide_join_interval_snapshot(const tide_join_interval *op, tide_buf *out, tide_err *e);
int tide_join_interval_restore(tide_join_interval *op, const void *buf, size_t len, tide_err *e);

/* ---- window join --------------------------------------------------------- */

typedef struct tide_join_window_config {
    tide_win_spec window;    /* TUMBLE, HOP, CUMULATE or GLOBAL */
    size_t n_left, n_right;
    tide_join_emit_fn emit;  /* required */
    tide_join_late_fn late;  /* may be NULL (late records only counted) */
    tide_join_match_fn match; /* may be NULL: every pair of a pane matches */
    bool outer[2];           /* pad unmatched rows of that side when the window fires */
    void *ctx;               /* passed to the callbacks */
} tide_join_window_config;

typedef struct tide_join_window tide_join_window;

int tide_join_window_create(const tide_join_window_config *cfg, tide_join_window **out,
                            tide_err *e);
void tide_join_window_free(tide_join_window *op);

/* Add one row of `side` (same ownership as the interval join).  Calls the
 * late callback (before returning) when the row missed a fired window. */
int tide_join_window_push(tide_join_window *op, tide_join_side side, const void *key,
                          uint32_t key_len, int64_t ts, const tide_value *vals, tide_err *e);
/* The watermark is now `wm` (lower values are ignored): emits and frees
 * every window with end - 1 <= wm. */
int tide_join_window_advance_watermark(tide_join_window *op, int64_t wm, tide_err *e);

int64_t tide_join_window_watermark(const tide_join_window *op);
/* Records sent to the late output (once each); (record, window) pairs
 * left out because the window had fired. */
uint64_t tide_join_window_late_count(const tide_join_window *op);
uint64_t tide_join_window_late_windows(const tide_join_window *op);
/* Live (key, window) panes; rows buffered for `side` (a row in k windows
 * counts k times). */
size_t tide_join_window_panes(const tide_join_window *op);
size_t tide_join_window_rows(const tide_join_window *op, tide_join_side side);

/* Checkpoints, as the interval join's: kind "join_window", format version
 * 2: the config fingerprint (the window, values per row of each side, the
 * outer sides), the
 * watermark, the late record and late window counts, and every live pane in
 * firing order (end, start, key bytes) with each side's rows in arrival
 * order.  Restore: same contract as tide_join_interval_restore. */
int tide_join_window_snapshot(const tide_join_window *op, tide_buf *out, tide_err *e);
int tide_join_window_restore(tide_join_window *op, const void *buf, size_t len, tide_err *e);

#endif
