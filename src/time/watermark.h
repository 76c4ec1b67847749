/*
 * watermark.h - event-time watermarks: a per-partition generator, a combiner
 * over several inputs, and the checks that go with them.  Pure logic: no
 * I/O, no threads, no clock reads; processing time is always passed in (ms).
 *
 * Semantics (DESIGN.md section 4).  With `WATERMARK FOR ts AS ts - B` the
 * watermark of a source partition is W = (max event time seen) - B: the
 * value of Flink SQL's watermark expression, without the "- 1" of Flink's
 * DataStream BoundedOutOfOrdernessWatermarks.  A record with ts >= W when it
 * arrives is on time; a window [s, e) fires when W >= e - 1, its last
 * millisecond, as Flink's isWindowFired decides (time/trigger.h has the
 * lateness rules).  So a record with ts == W can still miss a window that
 * ends at ts + 1.
 *
 * "No watermark yet" is TIDE_TS_MIN; an ended input has TIDE_TS_MAX.  All
 * arithmetic saturates at those two values.
 */
#ifndef TIDE_TIME_WATERMARK_H
#define TIDE_TIME_WATERMARK_H

#include "base/buf.h"
#include "base/err.h"
#include "data/types.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Saturating a + b and a - b on event times (never wrap past TS_MIN/MAX). */
int64_t tide_wm_sat_add(int64_t a, int64_t b);
int64_t tide_wm_sat_sub(int64_t a, int64_t b);

/* ---- per-partition generator (bounded out-of-orderness) ---------------- */

typedef struct tide_wm_gen {
    int64_t bound;        /* B >= 0 */
    int64_t future_bound; /* < 0: no future check; see tide_wm_gen_accept */
    int64_t max_ts;       /* TIDE_TS_MIN until the first record */
    int64_t wm;           /* current W, monotone */
    bool ended;
} tide_wm_gen;

/* `bound` is B (ms, >= 0).  `future_bound` < 0 disables the future check. */
void tide_wm_gen_init(tide_wm_gen *g, int64_t bound, int64_t future_bound);

/* True when `ts` is implausibly far in the future: ts > proc_now + bound.
 * Such a record goes to the dead letters and must not advance a watermark. */
bool tide_wm_too_far_future(int64_t ts, int64_t proc_now, int64_t bound);

/* Offer a record's event time at processing time `proc_now`.  Returns false
 * (and changes nothing) when the record is too far in the future (see
 * future_bound): the caller routes it to dead letters.  Otherwise observes
 * it and returns true; tide_wm_gen_current() then gives the new W. */
bool tide_wm_gen_accept(tide_wm_gen *g, int64_t ts, int64_t proc_now);

/* The current watermark W (TIDE_TS_MIN before any record). */
static inline int64_t tide_wm_gen_current(const tide_wm_gen *g) { return g->wm; }

/* The input ended: W becomes +infinity. */
void tide_wm_gen_end(tide_wm_gen *g);

/* Whether a record with event time `ts` is on time under watermark `wm`. */
static inline bool tide_wm_on_time(int64_t ts, int64_t wm) { return ts >= wm; }

/* ---- combiner over several inputs ------------------------------------- */

typedef struct tide_wm_comb tide_wm_comb;

/* A combiner over `n_inputs` inputs (>= 1).  `idle_timeout` (ms of
 * processing time, <= 0: never idle): an input that delivered no data for
 * that long does not hold the combined watermark back (when all remaining
 * inputs are idle, the combined watermark is the max of theirs).
 * `proc_now` starts every input's idleness clock. */
int tide_wm_comb_create(size_t n_inputs, int64_t idle_timeout, int64_t proc_now,
                        tide_wm_comb **out, tide_err *e);
void tide_wm_comb_free(tide_wm_comb *c);

/* Opt-in "whole input quiet" policy.  When no input delivered data for
 * `quiet_timeout` ms of processing time (> 0), the combined watermark
 * advances with processing time:
 *     W = W_last + (proc_now - t_last)
 * where t_last is the processing time of the last data on any input and
 * W_last the combined watermark right after it.  So W jumps by the timeout
 * once the timeout passes and then follows the clock; windows close even if
 * nobody sends data.  It only applies once some watermark exists
 * (W_last > TIDE_TS_MIN).  Records that arrive afterwards and fall below the
 * advanced W are late; that is the price of the policy.  `quiet_timeout` <= 0
 * turns it off (the default). */
void tide_wm_comb_set_quiet_advance(tide_wm_comb *c, int64_t quiet_timeout);

/* Input `i` delivered data at `proc_now`, and its own watermark is now `wm`
 * (an input's watermark is taken as the max of what it reported, so a
 * lower value is ignored).  An idle input rejoins; the combined watermark
 * never regresses (if the rejoining input is behind, the combined watermark
 * holds until it catches up).  Returns the combined watermark. */
int64_t tide_wm_comb_update(tide_wm_comb *c, size_t i, int64_t wm, int64_t proc_now);

/* Input `i` ended: it contributes +infinity from now on. */
int64_t tide_wm_comb_end(tide_wm_comb *c, size_t i, int64_t proc_now);

/* Processing time passed without data: re-evaluate idleness and the quiet
 * policy.  Returns the combined watermark. */
int64_t tide_wm_comb_tick(tide_wm_comb *c, int64_t proc_now);

/* The combined watermark: TIDE_TS_MIN before any, TIDE_TS_MAX when all
 * inputs ended.  Never goes backwards. */
int64_t tide_wm_comb_current(const tide_wm_comb *c);
/* Whether input `i` is currently considered idle. */
bool tide_wm_comb_input_idle(const tide_wm_comb *c, size_t i);
/* Whether every input that has not ended is idle (the output is idle). */
bool tide_wm_comb_all_idle(const tide_wm_comb *c);

/* ---- checkpoints ---------------------------------------------------------
 *
 * Each is one state/snap.h section appended to `out` (a source puts its
 * partitions' generators into its own section as blobs):
 *
 *   "wm_gen" format 1:  config (bound B, future bound), then the max event
 *                       time seen, W and whether the input ended.
 *   "wm_comb" format 1: config (input count, idle timeout, quiet timeout),
 *                       then the latest processing time seen, the combined
 *                       W, the time and W of the last data (quiet policy),
 *                       and per input its highest W, the processing time of
 *                       its last data and whether it ended.
 *
 * A restore overwrites the state of a generator initialised (combiner
 * created, quiet policy set) with the same config and leaves it exactly as
 * the snapshotted one: the same watermarks follow from the same calls.
 * Processing times are restored as they were, so the caller's clock should
 * continue theirs (a restarted process that passes a clock with another
 * origin changes what counts as idle).  Refused, with the target unchanged:
 * a damaged snapshot, another kind or an unknown format version
 * (TIDE_ECORRUPT, the message names which), another config (TIDE_EINVAL,
 * naming the field and both values). */
int tide_wm_gen_snapshot(const tide_wm_gen *g, tide_buf *out, tide_err *e);
int tide_wm_gen_restore(tide_wm_gen *g, const void *buf, size_t len, tide_err *e);
int tide_wm_comb_snapshot(const tide_wm_comb *c, tide_buf *out, tide_err *e);
int tide_wm_comb_restore(tide_wm_comb *c, const void *buf, size_t len, tide_err *e);

#endif
