/*
 * regjoin.h - the regular (unwindowed) join of two changelogs: INNER, LEFT,
 * RIGHT and FULL, with retractions (single-threaded).
 *
 * Each side is a bag of rows that changes: a row comes with a weight, +1
 * (an insert: +I, +U) or -1 (a retraction: -U, -D).  The join's output is
 * a changelog (+I, -D) whose applied result is, after every watermark, the
 * SQL join of the two bags as they are then:
 *   - every pair (l, r) with equal keys that `match` accepts (the rest of
 *     the ON condition), w(l) * w(r) times;
 *   - for an outer side, every row of it that no row of the other side
 *     matches, w(row) times, with NULLs for the other side.
 * As in Flink's StreamingJoinOperator, an outer row is padded while it has
 * no match; its first match retracts the padded row (-D) and inserts the
 * joined one (+I); when its last match is retracted, the padded row comes
 * back (+I).  A retraction on either side retracts the joined rows it was
 * part of.
 *
 * Steps.  Rows are pushed between watermarks and take effect together at
 * the next advance (a step), which emits the step's NET change of the join
 * output: for each key touched in the step, in ascending key-byte order,
 * its retractions (-D) then its inserts (+I), each ordered by the left
 * row's bytes then the right row's (data/key.h encodings; a padded side
 * first).  So the output depends only on the bags at each watermark, not
 * on the order rows came in within a step (a padded row and its match in
 * one step give only the joined row), and P = 1, 2, 4 give the same rows.
 * Unlike Flink (which emits per record) nothing is emitted between
 * watermarks.
 *
 * Rows are the same row when their encodings (data/key.h over all values)
 * are equal: -0.0 and 0.0, or two NaNs, are one row.  A retraction of a
 * row the state does not hold (it was never inserted, or it expired)
 * retracts nothing: it is counted (tide_regjoin_missing), and the weight
 * stays 0.
 *
 * State: per key, each side's rows with weight > 0 (values copied) and,
 * per row, how many rows of the other side match it (for the outer rule).
 * It grows with the number of distinct live rows: an append-only input
 * keeps every row forever unless a TTL is set.
 *
 * TTL (cfg.ttl > 0, ms of event time): a row expires when the watermark
 * reaches ttl past the watermark of the step in which its weight last
 * changed.  It leaves the state without output (as Flink's state TTL: the
 * joined rows already emitted stay; later rows no longer meet it; rows of
 * the other side keep counting it as a match).  Event time, not processing
 * time, so that a replay gives the same output.
 *
 * Errors: an allocation failure or a callback's non-zero return stops the
 * operator (later calls return the same code).  Callbacks must not call
 * back into the operator.
 */
#ifndef TIDE_EXEC_REGJOIN_H
#define TIDE_EXEC_REGJOIN_H

#include "base/buf.h"
#include "base/err.h"
#include "data/types.h"
#include "exec/join.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One output row: op is TIDE_OP_INSERT or TIDE_OP_DELETE; row.left or
 * row.right NULL for a padded row; row.ts is the step's watermark.
 * Borrowed for the call.  0 to go on. */
typedef int (*tide_regjoin_emit_fn)(void *ctx, tide_op op, const tide_join_row *row);

/* What comes out: the join, or only left rows (row.right NULL): SEMI, a
 * left row (w times) while at least one right row matches it; ANTI, while
 * none does (the padded rows of a LEFT join, without the padding). */
typedef enum tide_regjoin_kind {
    TIDE_REGJOIN_JOIN,
    TIDE_REGJOIN_SEMI,
    TIDE_REGJOIN_ANTI,
} tide_regjoin_kind;

typedef struct tide_regjoin_config {
    tide_regjoin_kind kind;    /* JOIN: outer below applies; SEMI, ANTI: it is ignored */
    size_t n_left, n_right;    /* values per row of each side */
    bool outer[2];             /* LEFT = outer[0], RIGHT = outer[1], FULL = both */
    int64_t ttl;               /* ms; 0: rows never expire */
    tide_regjoin_emit_fn emit; /* required */
    tide_join_match_fn match;  /* may be NULL: equal keys match */
    void *ctx;
} tide_regjoin_config;

typedef struct tide_regjoin tide_regjoin;

int tide_regjoin_create(const tide_regjoin_config *cfg, tide_regjoin **out, tide_err *e);
/* NULL is a no-op. */
void tide_regjoin_free(tide_regjoin *op);

/* A row of `side` with key bytes `key` changes by `weight` (+1 or -1; any
 * non-zero value).  vals: n_left / n_right values, borrowed for the call
 * (copied when kept).  A row whose key matches nothing (a NULL key) is
 * given a key of its own by the caller.  Nothing is emitted here. */
int tide_regjoin_push(tide_regjoin *op, tide_join_side side, const void *key, uint32_t key_len,
                      int64_t weight, const tide_value *vals, tide_err *e);
/* The watermark is now wm (lower values are ignored): the step's changes
 * take effect and are emitted (see above), then expired rows leave. */
int tide_regjoin_advance_watermark(tide_regjoin *op, int64_t wm, tide_err *e);

int64_t tide_regjoin_watermark(const tide_regjoin *op);
/* Rows kept for `side` (distinct rows with weight > 0); keys holding rows. */
size_t tide_regjoin_rows(const tide_regjoin *op, tide_join_side side);
size_t tide_regjoin_keys(const tide_regjoin *op);
/* Rows that expired (TTL); retractions that found no row to retract. */
uint64_t tide_regjoin_expired(const tide_regjoin *op);
uint64_t tide_regjoin_missing(const tide_regjoin *op);

/* Checkpoints (state/snap.h): kind "regjoin", format version 2: the config
 * fingerprint (the kind, values per side, outer sides, ttl), the watermark, the
 * counts, and every key in key-byte order with each side's rows in
 * row-byte order (values, weight, the step's pending change, matches, the
 * watermark of its last change).  Restore into a freshly created operator
 * of the same config; it then emits exactly what the snapshotted one
 * would.  Refused: damage, another kind or version (TIDE_ECORRUPT);
 * another config (TIDE_EINVAL).  A refused restore leaves the operator as
 * created.  Equal states give equal bytes. */
int tide_regjoin_snapshot(const tide_regjoin *op, tide_buf *out, tide_err *e);
int tide_regjoin_restore(tide_regjoin *op, const void *buf, size_t len, tide_err *e);

#endif
