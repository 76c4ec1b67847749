/*
 * node_topn.h - Top-N and deduplication: `ROW_NUMBER() OVER (PARTITION BY
 * k ORDER BY s) AS rn ... WHERE rn <= N` (any rank range [lo, hi]), as a
 * node.
 *
 * Ranking.  Rows of a partition (equal key columns, data/key.h equality)
 * are ranked 1, 2, ... by the sort columns (ascending, or descending for
 * those marked desc; NULL is the smallest value: first ascending, last
 * descending); among rows with equal sort values the one that arrived in
 * an earlier watermark step first (Flink: the earlier arrival first), and
 * within one step, where rows of several upstream instances interleave by
 * thread timing, by the rows' own values (data/key.h order of the n_pass
 * columns), then arrival: so the ranking is the same for every P.
 *
 * Modes:
 *   UPDATING  unwindowed Top-N: a changelog.  Rows change the ranking as
 *             they arrive; at each watermark the node emits, per partition
 *             that changed, the difference between the rows it showed at
 *             ranks lo..hi and the rows there now.  With rank_out (the rank
 *             is an output column: the changelog's key is (partition,
 *             rank)): per rank whose row changed, -U old / +U new (or +I,
 *             -D when the rank was or becomes empty).  Without: -D for each
 *             row that left the range, +I for each that entered (for a
 *             range [1, 1], a replaced row is -U old / +U new: the
 *             changelog's key is the partition).  One change per watermark
 *             step gives Flink's rows for it (AppendOnlyTopNFunction,
 *             RetractableTopNFunction); several in one step give their net
 *             effect.  An input changelog (cfg.changelog): -U/-D retract a
 *             row equal in every column.  State: append-only input keeps
 *             the best hi rows per partition; a changelog keeps every row.
 *   WINDOW    window Top-N: the partition includes window_end (column
 *             cfg.time_col) and window_start; its rows are ranked when the
 *             watermark reaches window_end - 1 ms and the ranks lo..hi are
 *             emitted as +I, final; then the partition is freed.  A row
 *             arriving after that is late (counted TIDE_NODE_LATE).
 *   FIRST     deduplication keeping the first row by event time (sort
 *             column = cfg.time_col, ascending, range [1, 1]): a key's row
 *             with the smallest time is emitted (+I, final) when the
 *             watermark reaches it; later rows of the key are duplicates
 *             and give nothing; a row with time <= the watermark when it
 *             arrives is late (TIDE_NODE_LATE).  State: one row per key
 *             until it fires, the key alone after.
 * Output: in's first n_pass columns, then the rank (BIGINT).  Rows are
 * emitted from the watermark callback.  At P > 1 run it behind a HASH edge
 * on the key columns (no keys: one instance).
 *
 * Snapshot "topn" version 1: the watermark, the arrival counter, and per
 * partition its key, rows in rank order, the rows shown, its flags.
 */
#ifndef TIDE_EXEC_NODE_TOPN_H
#define TIDE_EXEC_NODE_TOPN_H

#include "base/err.h"
#include "data/schema.h"
#include "exec/node.h"

#include <stdbool.h>
#include <stdint.h>

typedef enum tide_node_topn_mode {
    TIDE_NODE_TOPN_UPDATING,
    TIDE_NODE_TOPN_WINDOW,
    TIDE_NODE_TOPN_FIRST,
} tide_node_topn_mode;

/* Borrowed by the instances: must outlive the flow (with its arrays). */
typedef struct tide_node_topn_cfg {
    const tide_schema *in;  /* input rows (with ops when changelog) */
    const tide_schema *out; /* in's first n_pass columns, then the rank (BIGINT) */
    uint32_t n_pass;
    const uint32_t *key_cols; /* PARTITION BY columns of `in` (n_keys 0: one partition) */
    uint32_t n_keys;
    const uint32_t *sort_cols; /* ORDER BY columns of `in` */
    const bool *desc;
    uint32_t n_sort; /* >= 1 */
    int64_t lo, hi;  /* the rank range, 1 <= lo <= hi */
    bool rank_out;   /* the rank is an output column (the changelog's form) */
    bool changelog;  /* the input carries ops (-U/-D retract) */
    tide_node_topn_mode mode;
    uint32_t time_col; /* WINDOW: the window_end column; FIRST: the event time */
    uint32_t batch_rows; /* rows per output batch; 0: 4096 */
} tide_node_topn_cfg;

/* The output rows' flags: TIDE_CBATCH_OPS in UPDATING mode, else 0. */
unsigned tide_node_topn_flags(const tide_node_topn_cfg *c);

extern const tide_node_vt tide_node_topn_vt;
/* tide_flow_make_fn over a tide_node_topn_cfg.  TIDE_EINVAL names a bad
 * field. */
int tide_node_topn_make(void *cfg, uint32_t instance, uint32_t parallelism, void **self, tide_err *e);

#endif
