/*
 * groupagg.h - the unwindowed keyed aggregation operator (single-threaded):
 * SQL `GROUP BY key` over an unbounded input, producing a changelog.
 *
 * Input: records (key bytes, change op, input values).  The input may itself
 * be a changelog: +I and +U records add a row (tide_agg_step), -U and -D
 * records remove an earlier row with the same values (tide_agg_retract).
 * Retractions need invertible aggregates: a config that allows them binds
 * every aggregate with TIDE_AGG_RETRACTABLE and fails with
 * TIDE_EUNSUPPORTED at create when one is not invertible
 * (APPROX_COUNT_DISTINCT).  A retraction for a key that holds no live row
 * (e.g. state lost upstream) is ignored and counted
 * (tide_groupagg_ignored).
 *
 * Output, through the emit callback (Flink's unwindowed GROUP BY):
 *   - the first row of a key emits +I (key, aggregates);
 *   - a later change that alters the result emits -U (the previous row) then
 *     +U (the new row); nothing when the result is equal (same type, NULL
 *     flag and bits) to the previous one;
 *   - when a key's count of live input rows drops to 0 it emits -D (the
 *     previous row) and the key's state is freed.
 * Applying the output to a map (+I/+U set, -U/-D delete) gives the current
 * GROUP BY result, and a downstream SUM that adds +I/+U and subtracts -U/-D
 * stays exact.
 *
 * Mini-batch mode (cfg.mini_batch): pushes only update the state and mark
 * the key; tide_groupagg_flush emits, for every key changed since the last
 * flush, in ascending key-byte order (memcmp over the common length, shorter
 * key first on a tie), at most one of: +I (new key), -U/+U (changed result),
 * -D (no live row left; nothing at all for a key that appeared and vanished
 * within the batch).  The result after a flush equals the per-record mode's
 * after the same records, with fewer rows.  In per-record mode flush is a
 * no-op and rows are emitted inside push, in record order.
 *
 * Aggregates are exec/agg.h's, with its semantics (NULLs ignored; COUNT ->
 * BIGINT; SUM keeps the input type and fails with TIDE_ERANGE on BIGINT
 * overflow of the result; AVG -> DOUBLE; exact COUNT DISTINCT).  MIN/MAX of
 * STRING: the operator keeps a copy of each key's previous STRING results
 * (for -U/-D).  BIGINT and TIMESTAMP input values are interchangeable.
 *
 * Memory: one state/table.h entry per live key (live-row count, previous
 * result, aggregate slots); nothing is allocated per record in steady state
 * (except COUNT DISTINCT / MIN-MAX treap growth inside exec/agg.h).
 * Mini-batch mode keeps a copy of each changed key's bytes until the flush.
 *
 * Errors: an allocation failure, an aggregate error (TIDE_ERANGE) or a
 * callback's non-zero return stops the call and puts the operator in a
 * failed state: later calls return the same code.  Bad arguments (a
 * retraction when cfg.retractions is false, a bad change op) return
 * TIDE_EINVAL / TIDE_EUNSUPPORTED without failing the operator.
 */
#ifndef TIDE_EXEC_GROUPAGG_H
#define TIDE_EXEC_GROUPAGG_H

#include "base/buf.h"
#include "base/err.h"
#include "data/types.h"
#include "exec/agg.h"
#include "time/trigger.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One aggregate: kind (exec/agg.h), index of its argument in the pushed
 * values (not used by COUNT(*)), and the argument's type. */
typedef tide_agg_call tide_groupagg_call;

/* One output row.  Pointers are borrowed for the duration of the callback. */
typedef struct tide_groupagg_row {
    tide_op op;
    const void *key;
    uint32_t key_len;
    const tide_value *vals; /* one per aggregate, in config order */
    size_t n_vals;
} tide_groupagg_row;

/* Return 0 to go on; a non-zero (negative TIDE_E*) return stops the
 * operator with that error. */
typedef int (*tide_groupagg_emit_fn)(void *ctx, const tide_groupagg_row *row);

typedef struct tide_groupagg_config {
    const tide_groupagg_call *aggs; /* copied at create */
    size_t n_aggs;                  /* >= 1 */
    size_t n_inputs;                /* values per pushed record */
    bool retractions;               /* the input may hold -U/-D records */
    bool mini_batch;                /* emit only at tide_groupagg_flush */
    tide_groupagg_emit_fn emit;     /* required */
    void *ctx;
    size_t capacity_hint;           /* expected live keys; 0: small */
} tide_groupagg_config;

typedef struct tide_groupagg tide_groupagg;

int tide_groupagg_create(const tide_groupagg_config *cfg, tide_groupagg **out, tide_err *e);
/* NULL is a no-op. */
void tide_groupagg_free(tide_groupagg *op);

/* Push one record: key bytes (copied when kept), its change op, `in` with
 * cfg->n_inputs values (borrowed for the call; may be NULL when n_inputs is
 * 0). */
int tide_groupagg_push(tide_groupagg *op, const void *key, uint32_t key_len, tide_op change,
                       const tide_value *in, tide_err *e);

/* Push `n` records: record i has key keys[i] (key_lens[i] bytes), op
 * changes[i] (`changes` NULL: all +I) and values in[i * n_inputs ...].
 * Same results as n calls of tide_groupagg_push in order, with the state
 * lookups prefetched.  On an error, the records before the failing one were
 * pushed. */
int tide_groupagg_push_batch(tide_groupagg *op, size_t n, const void *const *keys,
                             const uint32_t *key_lens, const tide_op *changes,
                             const tide_value *in, tide_err *e);

/* Mini-batch mode: emit the pending changes (see above).  Per-record mode:
 * returns 0 (or the failed state's code). */
int tide_groupagg_flush(tide_groupagg *op, tide_err *e);

/* Keys with state (live rows, or pending removal in mini-batch mode). */
size_t tide_groupagg_keys(const tide_groupagg *op);
/* Keys changed since the last flush (mini-batch mode). */
size_t tide_groupagg_pending(const tide_groupagg *op);
/* Retractions ignored because their key had no live row. */
uint64_t tide_groupagg_ignored(const tide_groupagg *op);

/* Checkpoints (state/snap.h).  tide_groupagg_snapshot appends one section,
 * kind "groupagg", format version 1, holding:
 *   - a config fingerprint: each aggregate (kind, argument, type), the
 *     input count, whether the input has retractions (which selects the
 *     aggregates' state forms) and mini-batch mode;
 *   - the ignored-retraction count;
 *   - every key with state, in key-byte order: its count of live input
 *     rows, whether a row of it is live downstream and that row's values
 *     (what -U / -D retract), whether it changed since the last flush
 *     (mini-batch: the pending set), and each aggregate's state (exec/agg.h,
 *     exact, incl. retractable MIN/MAX multisets and distinct counts).
 * Equal states give equal bytes, so a snapshot taken twice without a change
 * in between is byte-identical.  A failed operator has no snapshot
 * (TIDE_EFAILED); TIDE_ENOMEM leaves `out` as it was.
 *
 * tide_groupagg_restore reads such a section into a freshly created
 * operator (nothing pushed; else TIDE_EINVAL) of the same config (callback,
 * context and capacity hint may differ); from then on it emits exactly
 * what the snapshotted operator would have (the next flush emits the
 * pending keys).  Refused: a damaged or truncated section, another operator
 * kind or format version (TIDE_ECORRUPT, the message says which); another
 * config (TIDE_EINVAL, naming the first field that differs and both
 * values).  A refused restore (and TIDE_ENOMEM) leaves the operator as
 * freshly created. */
int tide_groupagg_snapshot(const tide_groupagg *op, tide_buf *out, tide_err *e);
int tide_groupagg_restore(tide_groupagg *op, const void *buf, size_t len, tide_err *e);

/* The asynchronous form of tide_groupagg_snapshot (exec/node.h freeze):
 * freeze copies the state (the table: tide_table_copy) so that
 * frozen_write, later and on any thread, appends exactly the section
 * tide_groupagg_snapshot would have appended at the freeze, while `op`
 * goes on.  frozen_free gives the copy back to op (atomically), and the
 * next freeze copies into its memory: a pure memcpy, no page faulted in.
 * So an operator that was frozen once holds its table twice from then on
 * (the price of a pause of one memcpy).  *out NULL (and 0) when an
 * aggregate holds out-of-line state (COUNT DISTINCT, MIN/MAX of
 * strings...): a raw copy would share it; the caller snapshots at once.
 * frozen_write reads op's configuration and frozen_free writes op's spare:
 * both only while op exists (free every frozen state before op).
 * TIDE_EFAILED (a failed operator), TIDE_ENOMEM. */
typedef struct tide_groupagg_frozen tide_groupagg_frozen;
int tide_groupagg_freeze(tide_groupagg *op, tide_groupagg_frozen **out, tide_err *e);
int tide_groupagg_frozen_write(const tide_groupagg_frozen *fz, tide_buf *out, tide_err *e);
/* NULL is a no-op. */
void tide_groupagg_frozen_free(tide_groupagg_frozen *fz);

#endif
