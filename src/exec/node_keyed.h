/*
 * node_keyed.h - what the keyed aggregation nodes (node_winagg,
 * node_groupagg, node_preagg's global node) share: the push arrays of a
 * batch's rows (keys encoded by data/key.h, event times, boxed values,
 * ops), the checks and argument types of their aggregates, their output
 * schema, and the writing of result rows (decoded keys, window bounds,
 * values) into output batches sent on port 0.  Internal to exec/.
 *
 * The hot case has a fast path: one BIGINT/TIMESTAMP key
 * column, no value columns, rows given as one run without NULL key or time:
 * keys are encoded in one tight loop and the event times are the time
 * column itself (no copy).
 */
#ifndef TIDE_EXEC_NODE_KEYED_H
#define TIDE_EXEC_NODE_KEYED_H

#include "base/arena.h"
#include "base/err.h"
#include "data/batch.h"
#include "data/schema.h"
#include "data/types.h"
#include "exec/agg.h"
#include "exec/node.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tide_node_keyed {
    /* configuration (copied at init) */
    uint32_t *key_cols, *value_cols;
    uint32_t n_keys, n_values;
    tide_type *key_types;
    int time_col; /* < 0: none (groupagg) */
    bool k64;     /* one BIGINT/TIMESTAMP key column */
    /* the prepared records (tide_node_keyed_prepare) */
    uint32_t n;
    const void **keys;
    uint32_t *klen;
    const int64_t *ts; /* n event times (the time column itself on the fast path) */
    const tide_value *vals; /* n * n_values, or NULL without value columns */
    const tide_op *ops;     /* n ops (want_ops), else NULL */
    /* record i is row rows[i] of the batch, or base + i when rows is NULL */
    const uint32_t *rows;
    uint32_t base;
    /* buffers */
    uint8_t *kbuf;
    size_t kcap;
    const void **kp;
    uint32_t *kl, *rw;
    int64_t *tsb;
    tide_op *opb;
    size_t rcap;
    tide_value *vb;
    size_t vcap;
    tide_value *keyvals; /* decoded keys */
    tide_arena arena;    /* their strings holding 0x00 bytes */
} tide_node_keyed;

/* Key columns key_cols[0..n_keys) (0: one global group), value columns and
 * the time column (< 0: none) of rows of schema `in`.  0, TIDE_EINVAL (a
 * column out of range, a time column not TIMESTAMP/BIGINT), TIDE_ENOMEM.
 * Free with tide_node_keyed_free even when this fails. */
int tide_node_keyed_init(tide_node_keyed *k, const tide_schema *in, const uint32_t *key_cols,
                         uint32_t n_keys, const uint32_t *value_cols, uint32_t n_values, int time_col,
                         tide_err *e);
void tide_node_keyed_free(tide_node_keyed *k);

/* Prepare the push arrays for rows sel[0..n) of b (sel NULL: 0..n-1).
 * Rows with a NULL event time are left out (*skipped counts them).  The
 * arrays borrow b (its strings) until the next prepare.  With want_ops the
 * rows' ops (b's, +I when it keeps none).  0 or TIDE_ENOMEM. */
int tide_node_keyed_prepare(tide_node_keyed *k, const tide_cbatch *b, const uint32_t *sel, uint32_t n,
                            bool want_ops, uint32_t *skipped, tide_err *e);

/* The batch row of prepared record i. */
static inline uint32_t tide_node_keyed_row(const tide_node_keyed *k, uint32_t i)
{
    return k->rows ? k->rows[i] : k->base + i;
}

/* The prepared record at or after *cursor with this key and event time
 * (a late record the operator reports in push order): its index, and
 * *cursor moves past it; UINT32_MAX when none. */
uint32_t tide_node_keyed_find(const tide_node_keyed *k, uint32_t *cursor, const void *key, uint32_t key_len,
                              int64_t ts);

/* Write the key columns of encoded key[0..len) into columns 0..n_keys-1
 * of row `row` of `out` (strings copied).  0, TIDE_EINVAL (a malformed
 * key), TIDE_ENOMEM. */
int tide_node_keyed_put_key(tide_node_keyed *k, tide_cbatch *out, uint32_t row, const void *key,
                            uint32_t len, tide_err *e);
/* Write v[0..n) into columns col0.. of row `row` of `out`. */
int tide_node_keyed_put_vals(tide_cbatch *out, uint32_t row, uint32_t col0, const tide_value *v, size_t n,
                             tide_err *e);

/* The aggregates aggs[0..n) of a keyed node's config, which read values
 * value_cols[aggs[i].arg] of rows of `in` (all but COUNT(*)).  check: each
 * reads one of the n_values, a column of `in`: 0 or TIDE_EINVAL "<who>:
 * aggregate i reads value a of n_values".  arg_type (once checked): the
 * type of a's argument, TIDE_TYPE_NULL for COUNT(*). */
int tide_node_keyed_check_aggs(const tide_agg_call *aggs, uint32_t n, const tide_schema *in,
                               const uint32_t *value_cols, uint32_t n_values, const char *who,
                               tide_err *e);
tide_type tide_node_keyed_arg_type(const tide_agg_call *a, const tide_schema *in,
                                   const uint32_t *value_cols);

/* ---- result rows ---- */

/* Send the rows of `out`, if it holds any, on port 0, and empty it. */
int tide_node_keyed_flush(tide_node_ctx *cx, tide_cbatch *out, tide_err *e);

/* One result row into `out` (flushed first, by tide_node_keyed_flush, when
 * full): op `op`, the key columns of encoded key[0..key_len) (n_keys of
 * them), with `window` (window[0] start, window[1] end; NULL: none) the
 * columns window_start, window_end and window_time (end - 1), then
 * vals[0..n_vals), in the order of tide_node_keyed_schema.  0, or the
 * first error (the flush's, a malformed key, TIDE_ENOMEM). */
int tide_node_keyed_put_row(tide_node_keyed *k, tide_node_ctx *cx, tide_cbatch *out, tide_op op,
                            const void *key, uint32_t key_len, const int64_t *window,
                            const tide_value *vals, size_t n_vals, tide_err *e);

/* The error of a call into the operator that returned rc != 0: the one a
 * callback of the node kept in *kept (moved to *e, *kept cleared), else rc
 * (*e already holds the operator's). */
int tide_node_keyed_failed(tide_err *kept, int rc, tide_err *e);

/* The output schema of a keyed node: the key columns of `in` (names,
 * types, nullable), then with `window` window_start, window_end and
 * window_time (TIMESTAMP; window_time is the time column), then one column
 * per aggregate (aggs[i] over its argument, tide_node_keyed_arg_type, once
 * tide_node_keyed_check_aggs accepted them; named names[i], or "agg<i>"
 * when names or names[i] is NULL).  The caller frees it. */
int tide_node_keyed_schema(const tide_schema *in, const uint32_t *key_cols, uint32_t n_keys, bool window,
                           const tide_agg_call *aggs, uint32_t n_aggs, const uint32_t *value_cols,
                           const char *const *names, tide_schema **out, tide_err *e);

#endif
