/*
 * node_winagg.h - the keyed window aggregation (exec/winagg.h) as a node.
 *
 * Input: rows of cfg.in; each row is a record (key = the key columns,
 * encoded by data/key.h; event time = cfg.time_col; the values of
 * cfg.value_cols for the aggregates).  A row with a NULL event time is
 * dropped and counted TIDE_NODE_BAD.  Run it at parallelism P behind a
 * HASH edge on the key columns (each key must meet one instance).
 *
 * Output port 0: the key columns (their input names and types, nullable),
 * window_start, window_end, window_time (TIMESTAMP, = window_end - 1 ms:
 * the rowtime of the result, Flink's window_time, the schema's time
 * column, so windows cascade), then one column per aggregate (named
 * cfg.agg_names[i], or "agg<i>").  The rows carry their changelog op
 * (TIDE_CBATCH_OPS): +I for a first firing; -U/+U, +U or +I again for late
 * and early firings by cfg.mode; -D for superseded session windows.
 * Results fired by a watermark are emitted from the watermark callback, so
 * they precede that watermark downstream; rows of late and every-N early
 * firings are emitted with the batch that caused them.  In one instance,
 * the rows fired at one watermark come in (window_end, window_start, key
 * bytes) order (exec/winagg.h).
 *
 * Output port 1: records past the allowed lateness, as the input rows
 * (cfg.in's schema, the input's flags), counted TIDE_NODE_LATE; a record
 * is late when it arrives with the node's watermark past every window it
 * belongs to by the firing rule of time/trigger.h (W >= end - 1 + L; see
 * DESIGN.md 4).
 *
 * Snapshot: the operator's own section (tide_winagg_snapshot, or
 * tide_sessagg_snapshot for sessions over a partition key or the whole
 * input).
 *
 * Fast paths: one BIGINT/TIMESTAMP key without
 * value columns, rows as one run without NULLs: keys encoded in one loop,
 * the event times read from the column in place; tide_winagg_push_batch
 * (prefetching; TUMBLE COUNT(*) combines a batch's records per window).
 */
#ifndef TIDE_EXEC_NODE_WINAGG_H
#define TIDE_EXEC_NODE_WINAGG_H

#include "base/err.h"
#include "data/schema.h"
#include "exec/node.h"
#include "exec/winagg.h"

#include <stddef.h>
#include <stdint.h>

/* Borrowed by the instances: must outlive the flow (with its arrays). */
typedef struct tide_node_winagg_cfg {
    const tide_schema *in;      /* the input rows */
    unsigned in_flags;          /* TIDE_CBATCH_POS / OPS of the input (kept on port 1) */
    const uint32_t *key_cols;   /* columns of `in`; n_keys 0: one global group */
    uint32_t n_keys;
    uint32_t time_col;          /* TIMESTAMP or BIGINT column of `in` */
    const uint32_t *value_cols; /* the aggregates' inputs */
    uint32_t n_values;
    /* kind and arg (an index into value_cols); the type is taken from the
     * value column */
    const tide_winagg_call *aggs;
    uint32_t n_aggs; /* >= 1 */
    const char *const *agg_names; /* may be NULL, and so may each name */
    tide_win_spec window;
    int64_t allowed_lateness; /* L >= 0, ms */
    tide_trig_mode mode;
    tide_trig_early early;
    size_t capacity_hint; /* expected live (key, window) pairs over all instances */
    uint32_t batch_rows;  /* rows per output batch; 0: 4096 */
    /* SESSION windows formed over the first session_part key columns (0:
     * over the whole stream) and aggregated per key inside each session
     * (exec/sessagg.h; Flink's SESSION without PARTITION BY, or PARTITION
     * BY a subset of the keys).  Run it behind a HASH edge on those
     * columns (0: a gather into one instance).  false: a session per key
     * (exec/winagg.h). */
    bool session_by_part;
    uint32_t session_part;
} tide_node_winagg_cfg;

/* Port 0: results (above); port 1: late records (a copy of cfg.in).  The
 * caller frees it. */
int tide_node_winagg_schema(const tide_node_winagg_cfg *c, uint32_t port, tide_schema **out, tide_err *e);
/* The flags of each port: TIDE_CBATCH_OPS on 0; cfg.in_flags on 1. */
unsigned tide_node_winagg_flags(const tide_node_winagg_cfg *c, uint32_t port);

extern const tide_node_vt tide_node_winagg_vt;
int tide_node_winagg_make(void *cfg, uint32_t instance, uint32_t parallelism, void **self, tide_err *e);

#endif
