/*
 * node_cumagg.h - HOP and CUMULATE window aggregation by shared slices
 * (exec/cumagg.h) as a keyed flow node (exec/node.h).
 *
 *   SELECT k.., window_start, window_end, window_time, AGG(x) ..
 *   FROM TABLE(CUMULATE(TABLE t, DESCRIPTOR(ts), step, max))   -- or HOP
 *   GROUP BY k.., window_start, window_end
 *
 * Each instance runs one tide_cumagg over the rows of its keys; the flow
 * must bring every row of a key to one instance: a HASH edge on the key
 * columns (any subset of them works; with no key columns, parallelism 1
 * behind a GATHER edge).  Then P = 1, 2, 4 give the same rows, and per
 * watermark step the same set (an ordering sink makes the order canonical;
 * one instance emits a step's windows in (end, start, key) order).
 *
 * Semantics are exec/cumagg.h's (final results, no allowed lateness, no
 * early firings), on this branch:
 *   - a window [start, end) fires when the node's watermark W >= end (the
 *     watermark callback emits it, so its rows precede W downstream), if it
 *     holds a record (CUMULATE: every later window of the period too);
 *   - a record is late when the first window containing it already fired
 *     (that window's end <= W on arrival): it goes to port 1 once, is
 *     counted once (TIDE_NODE_LATE), and still counts in its windows that
 *     have not fired;
 *   - a record whose time is NULL is dropped (no window), as the window aggregation's
 *     stage does.
 * (The switch to W >= end - 1 is exec/cumagg.h's to make; this node passes
 * the watermark through and follows whatever rule the operator implements.)
 *
 * Ports:
 *   0  the results: the key columns (names and types of the input's), then
 *      window_start, window_end, window_time (TIMESTAMP NOT NULL; window_time
 *      = window_end - 1 ms, the results' time column), then one column per
 *      aggregate (cfg name, the aggregate's result type: exec/agg.h).
 *   1  late records: the input rows, as they came (the input's schema).
 * The watermark passes unchanged (results are emitted before it moves on).
 *
 * What the planner gives it: the input's row type, the key columns, the
 * event-time column, the aggregates (kind, argument column or -1 for
 * COUNT(*), output name), the window: CUMULATE(step, max), or HOP(slide,
 * size) with size a multiple of slide (tide_cumagg_supports).  Other
 * windows and EMIT / ALLOW LATENESS go to the window aggregate node.
 *
 * Snapshot: exec/cumagg.h has no snapshot on this branch, so the node
 * writes the operator's watermark and whether it holds any state; restore
 * takes a snapshot of an empty operator (every window fired) and refuses
 * one with live windows (TIDE_EUNSUPPORTED), rather than lose them.
 */
#ifndef TIDE_EXEC_NODE_CUMAGG_H
#define TIDE_EXEC_NODE_CUMAGG_H

#include "base/err.h"
#include "data/schema.h"
#include "exec/agg.h"
#include "exec/node.h"
#include "time/window.h"

#include <stdint.h>

typedef struct tide_node_cumagg_agg {
    tide_agg_kind kind; /* COUNT_STAR, COUNT, SUM, MIN, MAX, AVG, COUNT_DISTINCT, ... */
    int32_t arg;        /* the argument's input column; -1 for COUNT(*) */
    const char *name;   /* the output column's name */
} tide_node_cumagg_agg;

typedef struct tide_node_cumagg_cfg {
    const tide_schema *in;           /* the input's row type (borrowed) */
    const uint32_t *key_cols;        /* n_keys input columns (GROUP BY) */
    uint32_t n_keys;
    uint32_t time_col;               /* the TIMESTAMP the windows are assigned by */
    const tide_node_cumagg_agg *aggs; /* n_aggs >= 1 */
    uint32_t n_aggs;
    tide_win_spec window;            /* CUMULATE, or HOP with size % slide == 0 */
} tide_node_cumagg_cfg;

extern const tide_node_vt tide_node_cumagg_vt;

/* The flow's make function (cfg: a tide_node_cumagg_cfg, borrowed: it and
 * everything it points to must outlive the flow).  TIDE_EINVAL naming the
 * bad field, TIDE_EUNSUPPORTED (an aggregate that does not take its
 * argument's type), TIDE_ENOMEM. */
int tide_node_cumagg_make(void *cfg, uint32_t instance, uint32_t parallelism, void **self,
                          tide_err *e);

/* The schema of output `port` (0 results, 1 late records) into *out (the
 * caller frees it).  Same errors as make, TIDE_EEXIST for an aggregate
 * named like another output column. */
int tide_node_cumagg_schema(const tide_node_cumagg_cfg *c, uint32_t port, tide_schema **out,
                            tide_err *e);

#endif
