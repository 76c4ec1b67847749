/*
 * node_order.h - the deterministic ordering stage in front of a sink.
 *
 * Rows received between two watermarks are held (copied into reusable
 * batches); when the node's watermark advances (and at the end of input)
 * they are emitted sorted by the sort columns (encoded by data/key.h:
 * ascending, NULLs first, -0.0 = 0.0, one NaN), rows with equal sort keys
 * in arrival order (a stable sort: a changelog's -U stays before the +U of
 * the same key).  Then the runtime forwards the watermark.
 *
 * Why the output is the same for P = 1, 2, 4.  The node reads its inputs
 * aligned on watermarks (exec/node.h), so the rows it holds at a watermark
 * are the rows every upstream instance emitted before that watermark: the
 * same set in every run.  The sort makes their order canonical, provided
 * rows with equal sort keys come from one upstream instance (their arrival
 * order is then that instance's emission order): sort on columns that
 * include the exchange's key columns (for window results: window_end,
 * window_start, then the keys; the rows fired at one watermark by one
 * instance already come in that order, so the sort sees one run per
 * instance).  Any number of inputs (a GATHER edge from P instances is one
 * input); the schema of every input is cfg.schema.
 *
 * Output port 0: cfg.schema, the rows with their ops and positions
 * (cfg.flags).  When a step's rows are already in order the held batches
 * go out as they are (no copy).
 *
 * Snapshot: the rows held since the last watermark (ops, positions and
 * values), in arrival order; restore holds them again.
 */
#ifndef TIDE_EXEC_NODE_ORDER_H
#define TIDE_EXEC_NODE_ORDER_H

#include "base/err.h"
#include "data/schema.h"
#include "exec/node.h"

#include <stdint.h>

/* Borrowed by the instance: must outlive the flow. */
typedef struct tide_node_order_cfg {
    const tide_schema *schema; /* of the input rows and the output */
    unsigned flags;            /* TIDE_CBATCH_OPS / TIDE_CBATCH_POS the rows carry */
    const uint32_t *sort_cols; /* columns of schema; n_sort 0: arrival order */
    uint32_t n_sort;
    uint32_t batch_rows; /* rows per held / output batch; 0: 4096 */
} tide_node_order_cfg;

/* A copy of cfg.schema (port 0).  The caller frees it. */
int tide_node_order_schema(const tide_node_order_cfg *c, uint32_t port, tide_schema **out, tide_err *e);
/* cfg.flags. */
unsigned tide_node_order_flags(const tide_node_order_cfg *c);

extern const tide_node_vt tide_node_order_vt;
/* Parallelism 1. */
int tide_node_order_make(void *cfg, uint32_t instance, uint32_t parallelism, void **self, tide_err *e);

#endif
