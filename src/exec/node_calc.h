/*
 * node_calc.h - filter and project (the fused stateless stage): WHERE
 * then the SELECT list, over exec/expr.h trees, a batch at a time.
 *
 * Rows sel[0..n) of an input batch:
 *   filter   the rows where `where` is TRUE (NULL counts as false); with no
 *            projection they leave as the same batch with a narrower
 *            selection (no copy);
 *   project  column j of the output is exprs[j] over each row.  When every
 *            expression is a plain column reference of the output column's
 *            type, the output is a view of the input batch's columns (no
 *            copy, data/batch.h's tide_cbatch_view); otherwise the rows are
 *            evaluated into a reusable output batch.
 * Ops (TIDE_CBATCH_OPS) and positions (TIDE_CBATCH_POS) of the input rows
 * stay with them (cfg.in_flags says which the input carries).
 *
 * Changelog mode (cfg.changelog: HAVING over a changelog, the rule of
 * sql/physical.h).  A -U is held until the +U that follows it; with old = the
 * -U row and new = the +U row:
 *     old passes, new passes   -U old, +U new (nothing when the two
 *                              projected rows are equal)
 *     old passes, new fails    -D old
 *     old fails,  new passes   +I new
 *     neither                  nothing
 * +I, -D (and a +U without a -U) pass when their row passes.  A -U not
 * followed by a +U (another row comes first, or the input ends) is a
 * deletion: -D old when old passes.  Applying the output (+I/+U set, -U/-D
 * delete) gives exactly the filtered, projected table.
 *
 * State: only the held -U row (changelog mode), which the snapshot holds.
 *
 * Expression trees are not thread-safe: each instance evaluates its own.
 * cfg.build makes one instance's trees (the instance owns and frees them);
 * without it cfg.where / cfg.exprs are used (borrowed) and the node must
 * have parallelism 1.
 */
#ifndef TIDE_EXEC_NODE_CALC_H
#define TIDE_EXEC_NODE_CALC_H

#include "base/err.h"
#include "data/schema.h"
#include "exec/expr.h"
#include "exec/node.h"

#include <stdbool.h>
#include <stdint.h>

/* Make instance `instance`'s trees: *where (NULL: no filter) and
 * exprs[0..cfg.n_exprs) (the caller's array; each a tree of the output
 * column's type).  The instance owns them from then on, also on failure
 * (whatever was stored is freed).  0 or a TIDE_E* code with `e` filled. */
typedef int (*tide_node_calc_build_fn)(void *ctx, uint32_t instance, tide_expr **where,
                                       tide_expr **exprs, tide_err *e);

/* Borrowed by the instances: must outlive the flow. */
/* A row an expression failed on (exec/expr.h: an integer overflow, a time
 * outside the TIMESTAMP range): input row `row` of `b` (cfg.in's schema)
 * and why.  Called on the instance's thread, before the row is dropped. */
typedef void (*tide_node_calc_bad_fn)(void *ctx, const tide_cbatch *b, uint32_t row, const char *why);

typedef struct tide_node_calc_cfg {
    const tide_schema *in;  /* the input rows' schema */
    const tide_schema *out; /* the SELECT list's schema; NULL: no projection (out = in) */
    uint32_t n_exprs;       /* = columns of out (0 without projection) */
    tide_node_calc_build_fn build; /* NULL: where / exprs below (parallelism 1) */
    void *build_ctx;
    tide_expr *where;          /* without build: borrowed, may be NULL */
    tide_expr *const *exprs;   /* without build: borrowed, n_exprs trees */
    unsigned in_flags;         /* TIDE_CBATCH_OPS / TIDE_CBATCH_POS of the input port */
    bool changelog;            /* HAVING over a changelog (the input carries ops) */
    uint32_t batch_rows;       /* output batch rows (at least an input batch's); 0: 4096 */
    tide_node_calc_bad_fn on_bad; /* NULL: failed rows are only counted (TIDE_NODE_BAD) */
    void *bad_ctx;
} tide_node_calc_cfg;

/* The schema of output `port` (0): a copy of cfg.out (cfg.in without
 * projection).  The caller frees it. */
int tide_node_calc_schema(const tide_node_calc_cfg *c, uint32_t port, tide_schema **out, tide_err *e);
/* The flags of output 0: the input's, plus TIDE_CBATCH_OPS in changelog mode. */
unsigned tide_node_calc_flags(const tide_node_calc_cfg *c);

extern const tide_node_vt tide_node_calc_vt;
int tide_node_calc_make(void *cfg, uint32_t instance, uint32_t parallelism, void **self, tide_err *e);

#endif
