/*
 * node_union.h - UNION ALL as a flow node (exec/node.h): any number of
 * inputs of one row type, every row forwarded as it comes (no copy: the
 * batch and its selection go on), changelog ops preserved.
 *
 * Stateless and order-free: the rows of one watermark step come in whatever
 * order the inputs delivered them (the node reads its inputs aligned on
 * watermarks, exec/node.h, so each row still belongs to a deterministic
 * step; the ordering sink makes each step's order canonical).  The
 * watermark is the minimum over the inputs (the runtime's), unchanged.
 *
 * What the planner gives it: the common row type (every input must have its
 * column types, in order; names may differ, the output's are the schema's:
 * the first branch's, as SQL names a union's columns), and one edge per
 * branch (any partitioning; FORWARD from a branch of the same parallelism is
 * the cheapest).  A branch whose rows carry ops (a changelog) needs
 * TIDE_CBATCH_OPS on the output port, or its -U/-D rows arrive as +I.
 * A batch of other column types is refused (TIDE_EINVAL).
 *
 * Snapshot: none in the default mode (no state); in ordered mode the rows
 * held for the current step.
 */
#ifndef TIDE_EXEC_NODE_UNION_H
#define TIDE_EXEC_NODE_UNION_H

#include "base/err.h"
#include "data/schema.h"
#include "exec/node.h"

#include <stdint.h>

typedef struct tide_node_union_cfg {
    const tide_schema *schema; /* the row type of every input and of the output (borrowed) */
    /* Ordered mode: the rows of a watermark step are held (copied) and
     * released at the step's end, input 0's first, each input's in arrival
     * order, so the union's output sequence is as deterministic as its
     * inputs' (what SQL's UNION ALL of P = 1 branches gives; the held rows
     * are snapshotted).  `flags`: TIDE_CBATCH_OPS / POS of the rows. */
    bool ordered;
    unsigned flags;
} tide_node_union_cfg;

extern const tide_node_vt tide_node_union_vt;

/* The flow's make function (cfg: a tide_node_union_cfg that outlives the
 * flow).  TIDE_EINVAL, TIDE_ENOMEM. */
int tide_node_union_make(void *cfg, uint32_t instance, uint32_t parallelism, void **self,
                         tide_err *e);

/* Output port 0's schema (a copy of cfg->schema) into *out (the caller
 * frees it).  TIDE_EINVAL, TIDE_ENOMEM. */
int tide_node_union_schema(const tide_node_union_cfg *c, uint32_t port, tide_schema **out,
                           tide_err *e);

#endif
