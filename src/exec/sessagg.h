/*
 * sessagg.h - session windows formed over a partition key (or over the
 * whole input) and aggregated per key inside each session
 * (single-threaded).
 *
 * Flink's SESSION window table function: without PARTITION BY, a gap in
 * the whole input ends a session, whatever the records' keys; with
 * PARTITION BY k, sessions form per value of k.  The GROUP BY keys then
 * split each session: one result row per (session, key), carrying the
 * session's bounds.  exec/winagg.h covers the case where the partition key
 * is the whole GROUP BY key (a session per key); this operator covers the
 * others.  A record's key is its GROUP BY key (bytes); its first part_len
 * bytes are its partition key (0 bytes: one partition, the whole input).
 *
 * Semantics, otherwise those of exec/winagg.h (time/window.h,
 * time/trigger.h, DESIGN.md section 4):
 *   - a record opens [ts, ts + gap) in its partition; the live sessions of
 *     that partition it touches (a.start <= b.end && b.start <= a.end, as
 *     tide_win_intersects) merge with it into one session, and their
 *     per-key states merge (exec/agg.h merge);
 *   - a session [first ts, last ts + gap) fires when W >= last ts + gap - 1
 *     (its last millisecond): one row per key, in key-byte order;
 *   - a record arriving with W >= end - 1 + L, end being that of the
 *     session it would belong to after merging, is late: it goes to the
 *     late callback once and changes nothing.  Within the allowed
 *     lateness it updates its key's row of the fired session (a late
 *     firing of that row); when it changes the session's bounds (extends
 *     or bridges fired sessions) every row emitted with the old bounds is
 *     deleted (-D, accumulating and retracting modes) and the session fires
 *     again with the new ones;
 *   - early firings (every N records added to a (session, key) row, or
 *     every T ms of processing time for the rows changed since) and the
 *     accumulation modes are winagg's; a row is re-emitted only when its
 *     values changed.
 * Order: the rows one watermark step fires (and a round of processing-time
 * early firings) come in ascending (window_end, window_start, key bytes)
 * order, key bytes by memcmp over the common length, the shorter first.
 * Within a push: -D of the superseded rows first (sessions by ascending
 * start, rows by key), then firings, then the late callback.
 *
 * Parallelism: all records of a partition must reach the same instance.
 * Without a partition key (part_len 0) that means one instance for the
 * whole input: global sessions cannot be split by key.
 *
 * Memory: per live session a header; per (session, key) a state (the key,
 * inline up to 16 bytes; the accumulators; the previous results for
 * accumulating and retracting modes) found through an open-addressing
 * table on (session, key bytes); a partition's live sessions in an array
 * sorted by start.  Arrays grow by doubling and freed entries are reused:
 * nothing is allocated per record in steady state (keys longer than 16
 * bytes: once per (session, key)).  A session's state is freed when
 * W >= end - 1 + L.
 *
 * Errors: an allocation failure or a callback's non-zero return stops the
 * call and puts the operator in a failed state: later calls return
 * TIDE_EFAILED naming the first error.
 */
#ifndef TIDE_EXEC_SESSAGG_H
#define TIDE_EXEC_SESSAGG_H

#include "base/err.h"
#include "exec/winagg.h"

#include <stddef.h>
#include <stdint.h>

typedef struct tide_sessagg tide_sessagg;

/* The configuration is winagg's (exec/winagg.h), with a SESSION window;
 * rows and late records go to its callbacks with the same types.
 * TIDE_EINVAL (not a SESSION window, bad config), TIDE_ENOMEM.  MIN/MAX
 * of a STRING are supported: a previous STRING result is kept as a copy. */
int tide_sessagg_create(const tide_winagg_config *cfg, tide_sessagg **out, tide_err *e);
/* NULL is a no-op. */
void tide_sessagg_free(tide_sessagg *op);

/* Add one record: GROUP BY key `key`/`key_len` whose first `part_len`
 * bytes (<= key_len) are the partition key (copied when kept), event time
 * `ts`, `in` with cfg->n_inputs values (borrowed for the call), at
 * processing time `proc_now`.  Judged against the current watermark. */
int tide_sessagg_push(tide_sessagg *op, const void *key, uint32_t key_len, uint32_t part_len,
                      int64_t ts, const tide_value *in, int64_t proc_now, tide_err *e);

/* n records at once, as n calls of tide_sessagg_push in order (part_lens
 * NULL: every record's partition key is empty, sessions over the whole
 * input; `in` NULL when n_inputs is 0).  On an error, the records before
 * the failing one were pushed. */
int tide_sessagg_push_batch(tide_sessagg *op, size_t n, const void *const *keys,
                            const uint32_t *key_lens, const uint32_t *part_lens,
                            const int64_t *ts, const tide_value *in, int64_t proc_now,
                            tide_err *e);

/* The watermark is now `wm` (lower values are ignored).  Fires due
 * sessions, frees expired ones, runs a due round of early firings.
 * TIDE_TS_MAX (end of input) fires and frees everything. */
int tide_sessagg_advance_watermark(tide_sessagg *op, int64_t wm, int64_t proc_now, tide_err *e);

/* Processing time passed: run a due round of early firings. */
int tide_sessagg_tick(tide_sessagg *op, int64_t proc_now, tide_err *e);

int64_t tide_sessagg_watermark(const tide_sessagg *op);
/* Records sent to the late output so far. */
uint64_t tide_sessagg_late_count(const tide_sessagg *op);
/* Live sessions; live (session, key) rows; partitions with a live session. */
size_t tide_sessagg_live_sessions(const tide_sessagg *op);
size_t tide_sessagg_live_rows(const tide_sessagg *op);
size_t tide_sessagg_live_partitions(const tide_sessagg *op);

/* Checkpoints (state/snap.h).  tide_sessagg_snapshot appends one section,
 * kind "sessagg", format version 1, holding:
 *   - winagg's config fingerprint (tide_winagg_snap_put_config);
 *   - the watermark, the late count and the early-firing clock;
 *   - every live session, sorted by (partition key bytes, start): its
 *     partition key, bounds and whether it fired on time, then its rows
 *     sorted by key bytes: the key, whether it was emitted, changed since
 *     its last firing or is queued for the next processing-time round, the
 *     records added since its last firing, each aggregate's state (exec/
 *     agg.h) and, once emitted (accumulating and retracting modes), the
 *     results it emitted last.
 * Equal states give equal bytes (no index or memory order), and the
 * operator is not changed; a failed operator has no snapshot (TIDE_EFAILED).
 *
 * tide_sessagg_restore reads one into a freshly created operator (nothing
 * pushed, no watermark, no tick; else TIDE_EINVAL) of the same config
 * (callbacks, context and capacity hint may differ); from then on it emits
 * exactly what the snapshotted operator would have.  Refused: a damaged,
 * truncated or inconsistent section (sessions out of order or touching in
 * one partition, a row whose key does not start with its partition key,
 * rows out of order) or one of another kind or version (TIDE_ECORRUPT); a
 * snapshot of another config (TIDE_EINVAL naming the field).  A refused
 * restore (and TIDE_ENOMEM) leaves the operator as freshly created. */
int tide_sessagg_snapshot(const tide_sessagg *op, tide_buf *out, tide_err *e);
int tide_sessagg_restore(tide_sessagg *op, const void *buf, size_t len, tide_err *e);

#endif
