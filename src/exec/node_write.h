/*
 * node_write.h - the sink node: the last node of a query's dataflow, writing
 * the rows that reach it to a connect/ sink (connect/sink.h: stdout as an
 * aligned table, CSV or JSON Lines, a file, a topic).
 *
 *   tide_sink *k;  tide_sink_open(&k, &sink_cfg, &e);      -- the job opens it
 *   tide_node_write_cfg wc = {.sink = k};
 *   tide_flow_node spec = {.name = "write", .vt = &tide_node_write_vt,
 *                          .make = tide_node_write_make, .make_ctx = &wc,
 *                          .parallelism = 1};
 *   ... tide_flow_add, connect the query's last node with GATHER, run ...
 *   rc == 0 ? tide_sink_close(k, &e) : tide_sink_abort(k);  -- after wait
 *
 * What the node does:
 *   batch      rows sel[0..n) go to tide_sink_write_sel (in the order they
 *              come; the op column, when the sink writes one, from the
 *              batch's per-row op), and count as TIDE_NODE_OUT.  The input
 *              schema must be the sink's (or have its column types).
 *   watermark  tide_sink_flush: every row of a watermark step is written out
 *              when the step ends (stdout: visible; file: in the temp file).
 *              For unbounded runs open the sink with cfg.prompt, so each
 *              batch is flushed as it is written.
 *   end        nothing (the watermark TIDE_TS_MAX before it flushed).
 *   snapshot   tide_sink_flush (the pre-commit of a checkpoint), and the
 *              number of rows the job has written (restored, it goes on
 *              from there).  The rule at a checkpoint: the sink has
 *              written out (stdout: visible; file: in its temp file) every
 *              row that reached the node before the barrier, and only
 *              those; a run restored from the checkpoint writes the rows
 *              after it.  So the output up to the barrier followed by the
 *              restored run's output is the uninterrupted run's output,
 *              row for row (each run's sink writes its own CSV or table
 *              header; rows compare without it).  A run that fails after
 *              the barrier may have written rows after it too, which the
 *              restored run writes again: committing the output per
 *              checkpoint (exactly once) comes with two-phase sinks, in
 *              `complete`.
 *
 * Transactions (cfg.txn: the sink was opened transactional, a named job's;
 * connect/sink.h "Transactions").  The node drives the two-phase commit:
 *   snapshot   tide_sink_txn_precommit(id): the rows before barrier `id`
 *              are durable as transaction `id`, not yet visible; the
 *              snapshot records `id` as pre-committed.
 *   complete   tide_sink_txn_commit(id): checkpoint `id` is durable, its
 *              transaction (and earlier pre-committed ones) visible.
 *   restore    tide_sink_txn_recover(the id the snapshot pre-committed):
 *              that transaction and older are committed, later ones (a run
 *              that died after the checkpoint) aborted, before anything is
 *              written.  A run that is not restored recovers with 0 before
 *              its first write (aborting what an earlier run left).
 * So the committed output is every row before the newest complete
 * checkpoint, once, and a resumed run adds the rows after it.
 *
 * Ownership.  The sink is opened and owned by the job (whoever builds the
 * flow): the node instance borrows it from the config and never closes it.
 * After tide_flow_wait returned, the job commits it (tide_sink_close: file
 * renamed into place, topic synced) when the run succeeded, else aborts it
 * (tide_sink_abort); the sink may be closed before or after the flow is
 * freed.  Parallelism must be 1 (one writer per sink; connect the input
 * with a GATHER edge, or FORWARD from a node of parallelism 1).  A sink
 * belongs to one thread at a time: the job does not touch it between
 * tide_flow_start and tide_flow_wait.
 */
#ifndef TIDE_EXEC_NODE_WRITE_H
#define TIDE_EXEC_NODE_WRITE_H

#include "base/err.h"
#include "connect/sink.h"
#include "exec/node.h"

#include <stdint.h>

typedef struct tide_node_write_cfg {
    tide_sink *sink; /* borrowed: opened before the flow starts, closed by the job after it */
    bool txn;        /* the sink was opened with cfg.txn (see "Transactions") */
} tide_node_write_cfg;

extern const tide_node_vt tide_node_write_vt;

/* cfg: a tide_node_write_cfg, borrowed by the instance (outlives the flow).
 * TIDE_EINVAL when parallelism is not 1 or there is no sink. */
int tide_node_write_make(void *cfg, uint32_t instance, uint32_t parallelism, void **self, tide_err *e);

#endif
