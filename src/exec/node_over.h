/*
 * node_over.h - OVER aggregations ordered by event time, as a node:
 * `agg(x) OVER (PARTITION BY k ORDER BY ts frame)` for every input row.
 *
 * Semantics (Flink's row-time OVER functions).  A row arrives with event
 * time ts.  When ts <= the node's watermark at its arrival it is late: it
 * is counted TIDE_NODE_LATE and gets no output row (Flink drops it and
 * counts it in numLateRecordsDropped).  A row with a NULL ts is counted
 * TIDE_NODE_BAD.  Every other row is buffered until the watermark reaches
 * its ts; then the rows of each key are processed in ts order, and each
 * gives one output row: its first n_pass columns, then the aggregates over
 * its frame.  Rows with equal ts are processed in arrival order (Flink's)
 * when they arrived in different watermark steps, and within one step, where
 * rows of several upstream instances interleave by thread timing, by
 * their values (data/key.h order of all columns), so that the result does
 * not depend on P:
 *   ROWS n PRECEDING       the row and the n rows of its key processed just
 *                          before it;
 *   RANGE d PRECEDING      every row of its key with ts' in [ts - d, ts],
 *                          the rows with an equal ts included (they all get
 *                          the same values);
 *   UNBOUNDED PRECEDING    every row of its key processed so far (ROWS), or
 *                          with ts' <= ts (RANGE).
 * The output is append-only; rows are emitted from the watermark callback,
 * so they precede that watermark downstream.  At P > 1 run it behind a
 * HASH edge on the key columns (no keys: one instance, a GATHER).
 *
 * State: per key, the aggregates' slots and the rows still inside the
 * frame (n + 1 rows, or the rows of the last d ms; none when unbounded);
 * the buffered rows.  Keys stay once seen (one small entry each).
 * Sliding frames retract the rows that leave (exec/agg.h: MIN and MAX in
 * their retractable, ordered-multiset form).
 *
 * Snapshot "over" version 2: the watermark, the arrival and step
 * counters, every key's bytes, aggregate states and frame rows, and the
 * buffered rows (each with its step and arrival number).
 */
#ifndef TIDE_EXEC_NODE_OVER_H
#define TIDE_EXEC_NODE_OVER_H

#include "base/err.h"
#include "data/schema.h"
#include "exec/agg.h"
#include "exec/node.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct tide_node_over_agg {
    tide_agg_kind kind;
    int32_t arg; /* column of cfg.in; -1 for COUNT(*) */
} tide_node_over_agg;

/* Borrowed by the instances: must outlive the flow (with its arrays). */
typedef struct tide_node_over_cfg {
    const tide_schema *in;   /* the input rows */
    const tide_schema *out;  /* in's first n_pass columns, then one per aggregate */
    uint32_t n_pass;
    const uint32_t *key_cols; /* PARTITION BY columns of `in` (n_keys 0: one partition) */
    uint32_t n_keys;
    uint32_t time_col;        /* the ORDER BY column: TIMESTAMP or BIGINT */
    const tide_node_over_agg *aggs;
    uint32_t n_aggs;          /* >= 1 */
    bool rows;                /* ROWS frame, else RANGE */
    bool unbounded;           /* UNBOUNDED PRECEDING */
    int64_t preceding;        /* ROWS: rows; RANGE: ms; >= 0 */
    uint32_t batch_rows;      /* rows per output batch; 0: 4096 */
} tide_node_over_cfg;

extern const tide_node_vt tide_node_over_vt;
/* tide_flow_make_fn over a tide_node_over_cfg.  TIDE_EINVAL names a bad
 * field (a column out of range, an aggregate that cannot take its column's
 * type or retract over a sliding frame, an output schema that does not
 * match). */
int tide_node_over_make(void *cfg, uint32_t instance, uint32_t parallelism, void **self, tide_err *e);

#endif
