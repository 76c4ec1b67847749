/*
 * trigger.h - when windows fire, what is late, when state is freed, and how
 * successive firings of one window are emitted (DESIGN.md section 4).
 * Pure functions and small state; W is the operator's watermark, L the
 * allowed lateness (>= 0), times in ms.
 *
 * A window [start, end) fires at its last millisecond, as Flink's
 * isWindowFired and its event-time trigger do (they compare the watermark
 * with the window's maxTimestamp, end - 1).  With F = end - 1, the window's
 * fire time:
 *
 *   fire (final, on time)    W >= F
 *   record placement         W <  F           window open: just add
 *                            F <= W < F + L   window fired, still kept: add
 *                                             and fire again (late firing)
 *                            W >= F + L       window gone: the record is
 *                                             late for it
 *   free the window's state  W >= F + L
 *
 * A window whose end saturated at TIDE_TS_MAX (GLOBAL, or times near the
 * top of the range) has F = TIDE_TS_MAX: it fires only at end of input.
 *
 * A record that is late for at least one of its windows goes to the late
 * output exactly once (however many hopping windows it misses) and still
 * counts in its windows that are not gone.  (Flink's DataStream operator
 * side-outputs a record only when it was dropped from all its windows;
 * tide follows DESIGN.md here.)
 *
 * Early firings (optional): every T ms of processing time (all windows
 * changed since their last firing, at most once per T) or every N records
 * added to a window.  A firing happens only for a window that changed since
 * its previous firing; the on-time firing always happens for a window that
 * never fired.
 *
 * Accumulation modes (as Beam names them) and the changelog ops they emit
 * for the successive firings of one window row (key, start, end):
 *   discarding     each firing emits only what arrived since the previous
 *                  one, as +I; the accumulator is reset after a firing
 *   accumulating   first +I, then +U with the full result (an upsert)
 *   retracting     first +I, then -U (previous result) and +U (new result)
 * A session window row that disappears because it merged into a bigger
 * session is deleted with -D (accumulating and retracting modes).
 */
#ifndef TIDE_TIME_TRIGGER_H
#define TIDE_TIME_TRIGGER_H

#include "data/types.h"
#include "state/snap.h"
#include "time/watermark.h"

#include <stdbool.h>
#include <stdint.h>

#define TIDE_TRIG_MODE_MAP(X)         \
    X(DISCARDING, "discarding")       \
    X(ACCUMULATING, "accumulating")   \
    X(RETRACTING, "retracting")

typedef enum tide_trig_mode {
#define TIDE__TRIG_MODE(name, s) TIDE_TRIG_##name,
    TIDE_TRIG_MODE_MAP(TIDE__TRIG_MODE)
#undef TIDE__TRIG_MODE
} tide_trig_mode;

const char *tide_trig_mode_name(tide_trig_mode m);

/* Where a record lands in a window [.., end) under watermark `wm`. */
typedef enum tide_trig_place {
    TIDE_TRIG_OPEN,        /* W < end - 1: window not fired yet */
    TIDE_TRIG_LATE_FIRING, /* end - 1 <= W < end - 1 + L: update and fire again */
    TIDE_TRIG_DROPPED,     /* W >= end - 1 + L: late for this window */
} tide_trig_place;

/* The watermark at which a window [.., end) fires: its last millisecond,
 * end - 1; TIDE_TS_MAX for a saturated end (fires at end of input only). */
static inline int64_t tide_trig_fire_time(int64_t end)
{
    return end == TIDE_TS_MAX || end == TIDE_TS_MIN ? end : end - 1;
}

/* The window's final (on-time) firing is due: W >= end - 1. */
static inline bool tide_trig_due(int64_t end, int64_t wm) { return wm >= tide_trig_fire_time(end); }

/* end - 1 + L, saturated: the watermark at which the window's state is freed. */
static inline int64_t tide_trig_cleanup_time(int64_t end, int64_t lateness)
{
    return tide_wm_sat_add(tide_trig_fire_time(end), lateness);
}

/* The window's state can be freed (and records for it are late):
 * W >= end - 1 + L. */
static inline bool tide_trig_expired(int64_t end, int64_t lateness, int64_t wm)
{
    return wm >= tide_trig_cleanup_time(end, lateness);
}

static inline tide_trig_place tide_trig_place_record(int64_t end, int64_t lateness, int64_t wm)
{
    if (!tide_trig_due(end, wm))
        return TIDE_TRIG_OPEN;
    return tide_trig_expired(end, lateness, wm) ? TIDE_TRIG_DROPPED : TIDE_TRIG_LATE_FIRING;
}

/* Early-firing policy.  every_ms > 0: fire changed windows every that many
 * ms of processing time; every_n > 0: fire a window after every N records
 * added to it since its previous firing.  Both 0: no early firings. */
typedef struct tide_trig_early {
    int64_t every_ms;
    uint64_t every_n;
} tide_trig_early;

/* Processing-time early-firing clock: the deadline of the next round. */
typedef struct tide_trig_clock {
    int64_t every_ms;
    int64_t next; /* TIDE_TS_MIN: not started */
} tide_trig_clock;

void tide_trig_clock_init(tide_trig_clock *c, int64_t every_ms);
/* Whether a round of early firings is due at `proc_now`; when it is, the
 * next one is scheduled at proc_now + every_ms.  The first call starts the
 * clock (due one period later). */
bool tide_trig_clock_due(tide_trig_clock *c, int64_t proc_now);

/* Checkpoints: the clock inside its owner's snapshot section (state/snap.h;
 * the owner's format version covers it): its next deadline only.  every_ms
 * is the owner's config (the owner checks it matches); get keeps the
 * `every_ms` the clock was initialised with and marks the reader failed on
 * a started deadline for a clock that never runs (every_ms <= 0). */
void tide_trig_clock_snap_put(const tide_trig_clock *c, tide_snap_w *w);
void tide_trig_clock_snap_get(tide_trig_clock *c, tide_snap_r *r);

/* The ops one firing emits for a row, given whether the row was emitted
 * before (`fired`): +I; or +U (accumulating); or -U then +U (retracting);
 * always +I when discarding.  Writes them to `ops`, returns how many (1-2).
 * The old values go with -U, the new ones with +I/+U. */
int tide_trig_firing_ops(tide_trig_mode m, bool fired, tide_op ops[2]);

#endif
