/*
 * node_preagg.h - two-phase (local-global) window aggregation: a local
 * node that pre-aggregates each input batch into partial accumulators per
 * (window, key), and a global node that merges the partials of its keys
 * and fires their windows.  Flink's agg-phase-strategy TWO_PHASE.
 *
 *   rows -> local (chained to its input, at the input's parallelism)
 *        -> port 0 partials, HASH on the keys (GATHER without keys) -> global input 0
 *        -> port 2 rows passed on, HASH on the keys (GATHER)         -> global input 1
 *
 * Why: with few keys (a handful of countries, Zipf-skewed) a hash exchange
 * of every row copies every row between threads and puts most of them on
 * one instance; the local node sends a few partial rows per batch instead,
 * and the keyed instances only merge them.  With many keys a partial
 * stands for about one row and costs more than the row (its encoding, the
 * decoding and merging): a batch of at least 256 rows that aggregates into
 * more than an eighth as many groups makes the local node pass the next 63
 * batches on as they are (port 2), and then try again.  Either way the
 * results are the same; only the cost differs.
 *
 * Scope (the planner checks it, sql/physical.c): TUMBLE windows, no allowed
 * lateness, no early firings, an input without retractions, so every window
 * fires once with its final rows (+I); the aggregates are exec/agg.h's,
 * all of which merge (COUNT DISTINCT's partial is its set,
 * APPROX_COUNT_DISTINCT's its registers).  SESSION windows are never
 * two-phase (a session's extent depends on rows of other instances).
 *
 * Same rows as the one-phase node (exec/node_winagg.h), late rows included:
 *   - the local node judges a row late by the watermark it has seen when the
 *     row arrives (W >= end - 1, time/trigger.h): that is the watermark the
 *     one-phase keyed instance would have seen with it (the local node runs
 *     chained to the same upstream instance, whose watermark sequence the
 *     exchange keeps in order, exec/node.h).  A late row goes to the local
 *     node's port 1 (counted TIDE_NODE_LATE) and nowhere else.  A row with
 *     a NULL event time is dropped and counted TIDE_NODE_BAD, as there;
 *   - the local node emits what a batch gives before the batch call returns,
 *     so it precedes every later watermark: it reaches the global node while
 *     its window is still open there (the global node fails with
 *     TIDE_EFAILED or TIDE_EINVAL, never drops, if something does not);
 *   - the global node is the one-phase operator (exec/winagg.h): partials go
 *     in by tide_winagg_merge, rows by tide_winagg_push_batch; it fires,
 *     orders ((window_end, window_start, key bytes) per watermark) and
 *     emits as the one-phase node, with its port 0 schema (keys,
 *     window_start, window_end, window_time, the aggregates).
 *
 * The partial rows (local port 0): the key columns (the input's names and
 * types, nullable), window_start (TIMESTAMP), then per aggregate a STRING
 * column "p<i>" holding its state in exec/agg.h's canonical encoding
 * (tide_agg_encode).  Port 2 rows are the input rows (cfg.in's schema).
 *
 * Snapshot: the local node holds nothing between batches but its
 * watermark: section "preagg_local", version 1, holds a config fingerprint
 * (window size and offset, key count, each aggregate's kind and type) and
 * the watermark; restore (into a fresh instance) refuses another kind or
 * version or a damaged section (TIDE_ECORRUPT) and another config
 * (TIDE_EINVAL naming the field).  The global node writes the operator's
 * own section (tide_winagg_snapshot, with its checks).
 */
#ifndef TIDE_EXEC_NODE_PREAGG_H
#define TIDE_EXEC_NODE_PREAGG_H

#include "base/err.h"
#include "data/schema.h"
#include "exec/node.h"
#include "exec/winagg.h"

#include <stdbool.h>
#include <stdint.h>

/* One config for both nodes (borrowed by the instances: must outlive the
 * flow, with its arrays).  The fields mean what they mean in
 * tide_node_winagg_cfg (exec/node_winagg.h). */
typedef struct tide_node_preagg_cfg {
    const tide_schema *in;      /* the local node's input rows */
    unsigned in_flags;          /* TIDE_CBATCH_OPS / POS of the input (kept on local ports 1, 2) */
    const uint32_t *key_cols;   /* columns of `in`; n_keys 0: one global group */
    uint32_t n_keys;
    uint32_t time_col;          /* TIMESTAMP or BIGINT column of `in` */
    const uint32_t *value_cols; /* the aggregates' inputs */
    uint32_t n_values;
    const tide_winagg_call *aggs; /* kind and arg (an index into value_cols) */
    uint32_t n_aggs;              /* >= 1 */
    const char *const *agg_names; /* may be NULL, and so may each name */
    tide_win_spec window;         /* TUMBLE */
    uint32_t batch_rows;          /* rows per output batch; 0: 4096 */
} tide_node_preagg_cfg;

/* Whether these aggregates and this window can run in two phases (TUMBLE;
 * every aggregate kind merges).  The planner adds: no lateness, no early
 * firings, an input without retractions. */
bool tide_node_preagg_supports(const tide_win_spec *w, const tide_winagg_call *aggs, uint32_t n_aggs);

/* The schemas.  Local: port 0 the partial rows (above), port 1 the late
 * records, port 2 the rows passed on (both a copy of cfg.in).  Global:
 * port 0 the results (the one-phase node's port 0).  The caller frees
 * them. */
int tide_node_preagg_local_schema(const tide_node_preagg_cfg *c, uint32_t port, tide_schema **out,
                                  tide_err *e);
int tide_node_preagg_global_schema(const tide_node_preagg_cfg *c, tide_schema **out, tide_err *e);

/* Local port flags: port 0 none, ports 1 and 2 cfg.in_flags (OPS, POS).
 * The global node's port 0: TIDE_CBATCH_OPS. */
unsigned tide_node_preagg_local_flags(const tide_node_preagg_cfg *c, uint32_t port);

extern const tide_node_vt tide_node_preagg_local_vt;
extern const tide_node_vt tide_node_preagg_global_vt;
int tide_node_preagg_local_make(void *cfg, uint32_t instance, uint32_t parallelism, void **self, tide_err *e);
int tide_node_preagg_global_make(void *cfg, uint32_t instance, uint32_t parallelism, void **self, tide_err *e);

#endif
