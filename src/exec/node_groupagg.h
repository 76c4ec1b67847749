/*
 * node_groupagg.h - the unwindowed GROUP BY (exec/groupagg.h) as a node,
 * in mini-batch mode: records only update their key's state; every
 * watermark the node receives (and the end of input) flushes it.
 *
 * Input: rows of cfg.in (key = the key columns, encoded by data/key.h;
 * the values of cfg.value_cols for the aggregates).  With cfg.changelog
 * the input is a changelog (TIDE_CBATCH_OPS): +I/+U rows add, -U/-D rows
 * retract (the aggregates must be invertible: TIDE_EUNSUPPORTED at make
 * otherwise).  Run it at parallelism P behind a HASH edge on the key
 * columns.
 *
 * Output port 0: the key columns (input names and types, nullable), then
 * one column per aggregate (cfg.agg_names[i] or "agg<i>"), with ops
 * (TIDE_CBATCH_OPS): at each flush, per key changed since the previous one,
 * in key-byte order: +I (a new key), -U then +U (a changed result), -D (no
 * row left).  The rows are emitted from the watermark callback, so they
 * precede that watermark downstream.  MIN/MAX over STRING: TIDE_EUNSUPPORTED
 * at make (exec/groupagg.h).
 *
 * Snapshot: the operator's (tide_groupagg_snapshot: every key's state,
 * the row it has downstream and the keys pending for the next flush); a
 * restore into a fresh instance of the same configuration emits from then
 * on what the snapshotted one would have.
 */
#ifndef TIDE_EXEC_NODE_GROUPAGG_H
#define TIDE_EXEC_NODE_GROUPAGG_H

#include "base/err.h"
#include "data/schema.h"
#include "exec/groupagg.h"
#include "exec/node.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Borrowed by the instances: must outlive the flow (with its arrays). */
typedef struct tide_node_groupagg_cfg {
    const tide_schema *in;
    const uint32_t *key_cols; /* n_keys 0: one global group */
    uint32_t n_keys;
    const uint32_t *value_cols;
    uint32_t n_values;
    /* kind and arg (an index into value_cols); the type is taken from the
     * value column */
    const tide_groupagg_call *aggs;
    uint32_t n_aggs; /* >= 1 */
    const char *const *agg_names;
    bool changelog;       /* the input carries ops: -U/-D retract */
    size_t capacity_hint; /* expected live keys over all instances */
    uint32_t batch_rows;  /* rows per output batch; 0: 4096 */
} tide_node_groupagg_cfg;

/* Port 0 (above).  The caller frees it. */
int tide_node_groupagg_schema(const tide_node_groupagg_cfg *c, uint32_t port, tide_schema **out,
                              tide_err *e);
/* TIDE_CBATCH_OPS. */
unsigned tide_node_groupagg_flags(const tide_node_groupagg_cfg *c, uint32_t port);

extern const tide_node_vt tide_node_groupagg_vt;
int tide_node_groupagg_make(void *cfg, uint32_t instance, uint32_t parallelism, void **self, tide_err *e);

#endif
