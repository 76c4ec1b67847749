/*
 * flow.h - a dataflow graph of nodes (exec/node.h), run on the task runtime
 * (exec/graph.h): the one runtime every query runs on.
 *
 *   tide_flow *f;  tide_flow_create(&f, &cfg, &e);
 *   int src, agg, out;
 *   tide_flow_add(f, &src_spec, &src, &e);      -- a source node, P = 1
 *   tide_flow_add(f, &agg_spec, &agg, &e);      -- P = 4
 *   tide_flow_add(f, &out_spec, &out, &e);      -- the ordering sink, P = 1
 *   tide_flow_connect(f, src, 0, agg, TIDE_FLOW_HASH, keys, 1, &e);
 *   tide_flow_connect(f, agg, 0, out, TIDE_FLOW_GATHER, NULL, 0, &e);
 *   tide_flow_run(f, &e);
 *   tide_flow_free(f);
 *
 * Nodes.  A node spec names the operator (a vtable), how to make each of its
 * `parallelism` instances (make(ctx, instance, parallelism, &self)), and
 * the schema of each output port.  Instances are made when the flow starts
 * (tide_flow_start), in node order.
 *
 * Edges connect output `port` of one node to the next input of another (a
 * node's inputs are numbered in the order of connection; an output port may
 * feed several edges: each gets every row).  Partitioning:
 *   FORWARD    instance k -> instance k (equal parallelism).
 *   HASH       each row to the instance picked by a hash of its key columns
 *              (data/key.h's canonical form: -0.0 = 0.0, one NaN, NULL a
 *              value of its own), so equal keys meet in one instance.
 *   BROADCAST  every row to every instance.
 *   GATHER     every row to instance 0 (the target's parallelism is 1).
 * Watermarks, barriers and the end of input go to every instance on every
 * edge.
 *
 * Chaining.  A FORWARD edge into a node that has no other input is a direct
 * call: the two instances run in one task, rows pass without a copy (as a
 * batch and a selection).  Every other edge is a bounded channel per
 * (producer instance, consumer instance) pair, carrying column batches of
 * the port's schema (copied rows, from a pool of reusable batches).  So a
 * task is a tree of chained node instances with channel inputs at its root
 * (or a source's poll).  Tasks run on a fixed pool of worker threads
 * (cfg.workers; exec/graph.h, exec/sched.h): a task is run, one bounded
 * quantum at a time, when it has input to read (or, a source, when it may
 * poll) and room on its outputs, and parks otherwise, so a flow of any
 * size uses at most `workers` threads (plus a file source's own parsers).
 *
 * Checkpoint barriers (tide_flow_inject_barrier): every source instance
 * emits the barrier between two polls; each node instance is snapshotted
 * once its task aligned the barrier on all inputs, in chain order, into
 * the flow's store for that checkpoint (tide_flow_snapshot).  A node with
 * a freeze callback (exec/node.h) only copies its state there, on its
 * task's thread; its snapshot bytes are written from that copy by the
 * thread that asks for the store (tide_flow_snapshot: the checkpoint
 * coordinator's), so the task's data path stops only for the copy; that
 * write is fault point flow.snapshot.write (base/fault.h), once per frozen
 * instance.  A new flow
 * built from the same specs restores every instance from such a store
 * (tide_flow_restore before tide_flow_start).  The store also holds the
 * runtime's watermarks as of the barrier (each task's input watermarks,
 * what it forwarded, each instance's last watermark and hold; exec/task.h
 * "Checkpoints"), and the restored flow starts from them: fed the input
 * after the barrier, it processes every row at the node watermark, and
 * forwards the watermark steps, of the run that wrote the store.
 *
 * Threads: build, run and free from one thread; cancel, inject_barrier and
 * the stats getters from any thread.
 */
#ifndef TIDE_EXEC_FLOW_H
#define TIDE_EXEC_FLOW_H

#include "base/buf.h"
#include "base/clock.h"
#include "base/err.h"
#include "data/schema.h"
#include "exec/channel.h"
#include "exec/node.h"
#include "exec/sched.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct tide_flow tide_flow;

typedef struct tide_flow_cfg {
    uint32_t batch_rows;     /* rows per channel batch; 0: 4096 */
    int64_t latency_ns;      /* flush bound of a partial batch; 0: 5 ms */
    /* batches per channel; 0: 32 (with more tasks than cores a consumer
     * loses its core for a scheduler slice, a few ms: a producer that may
     * run that far ahead keeps its own core busy meanwhile) */
    uint32_t chan_capacity;
    /* worker threads running the tasks; 0: tide_sched_default_workers()
     * ($TIDE_WORKERS, else the online CPUs, at least 2) */
    uint32_t workers;
    const tide_clock *clock; /* NULL: the system clock */
    /* checkpoint barrier ids continue after it (a flow restored from
     * checkpoint n, or a job whose ids must keep rising: job/coord.h) */
    int64_t barrier_base;
} tide_flow_cfg;

/* Make instance `instance` of `parallelism`: *self gets its state (freed
 * by the vtable's free).  0 or a TIDE_E* code with `e` filled. */
typedef int (*tide_flow_make_fn)(void *ctx, uint32_t instance, uint32_t parallelism, void **self,
                                 tide_err *e);

#define TIDE_FLOW_MAX_PORTS 8

typedef struct tide_flow_node {
    const char *name;        /* copied; "agg", "join" ... (instances: name[k]) */
    const tide_node_vt *vt;  /* must outlive the flow */
    tide_flow_make_fn make;
    void *make_ctx;          /* must outlive the flow's start */
    uint32_t parallelism;    /* >= 1 */
    uint32_t n_out;          /* output ports, <= TIDE_FLOW_MAX_PORTS */
    const tide_schema *out_schema[TIDE_FLOW_MAX_PORTS]; /* borrowed: outlive the flow */
    /* per port: TIDE_CBATCH_OPS (rows carry a changelog op), TIDE_CBATCH_POS */
    unsigned out_flags[TIDE_FLOW_MAX_PORTS];
} tide_flow_node;

typedef enum tide_flow_part {
    TIDE_FLOW_FORWARD,
    TIDE_FLOW_HASH,
    TIDE_FLOW_BROADCAST,
    TIDE_FLOW_GATHER,
} tide_flow_part;

/* "forward", "hash", "broadcast", "gather". */
const char *tide_flow_part_name(tide_flow_part p);

int tide_flow_create(tide_flow **out, const tide_flow_cfg *cfg, tide_err *e);
/* Stops a running flow first.  NULL is a no-op. */
void tide_flow_free(tide_flow *f);

/* Add a node; *id gets its number.  TIDE_EINVAL naming the bad field. */
int tide_flow_add(tide_flow *f, const tide_flow_node *spec, int *id, tide_err *e);
/* Connect output `port` of node `from` to the next input of `to`.  HASH
 * needs key_cols (indexes into the port's schema, copied); FORWARD equal
 * parallelism; GATHER a target of parallelism 1.  TIDE_EINVAL. */
int tide_flow_connect(tide_flow *f, int from, uint32_t port, int to, tide_flow_part part,
                      const uint32_t *key_cols, uint32_t n_keys, tide_err *e);

/* Before start: restore every instance from `store` (a tide_flow_snapshot
 * of a flow built from the same specs).  TIDE_ECORRUPT / TIDE_EINVAL when
 * it does not match. */
int tide_flow_restore(tide_flow *f, const tide_buf *store, tide_err *e);

/* Make the instances, build tasks and channels, start the threads. */
int tide_flow_start(tide_flow *f, tide_err *e);
/* Wait for every task: 0, or the first failure (naming the node). */
int tide_flow_wait(tide_flow *f, tide_err *e);
/* start + wait. */
int tide_flow_run(tide_flow *f, tide_err *e);
/* Any thread: stop (wait returns TIDE_EFAILED "cancelled"). */
void tide_flow_cancel(tide_flow *f);

/* Any thread, while running: ask the sources for the next barrier; its id
 * (0 before the flow was built: nothing was asked). */
int64_t tide_flow_inject_barrier(tide_flow *f);
/* The snapshots of checkpoint `id` once every instance wrote its own:
 * true and *out (appended) the store of them all (every node instance's
 * section in node, instance order), false while some are missing (or,
 * with `e` filled, when an instance wrote two, or when writing a frozen
 * snapshot failed: its error, naming the node; out is as it was).  The
 * first call that finds them all writes the frozen ones, on the caller's
 * thread, without holding up the tasks (the same bytes whenever it runs).
 * Any thread; one at a time per checkpoint. */
bool tide_flow_snapshot(tide_flow *f, int64_t id, tide_buf *out, tide_err *e);
/* How many snapshots of checkpoint `id` node instances wrote so far (one
 * per instance; a second one of an instance counts too).  Any thread. */
uint32_t tide_flow_snapshot_count(tide_flow *f, int64_t id);
/* Any thread, while running or after wait: the instances of tasks that
 * ended normally (every input ended; tide_task_done_state) without taking
 * checkpoint `id` write their snapshot of it now, on the caller's thread
 * (they never run again, and their whole output precedes the barrier
 * everywhere downstream: a consumer aligning `id` reads an ended input up
 * to its end).  So a checkpoint completes although some sources ended
 * before its barrier, and after the run (every task ended) it is a
 * snapshot of the final state.  0 or the first snapshot error. */
int tide_flow_snapshot_ended(tide_flow *f, int64_t id, tide_err *e);
/* Any thread: checkpoint `id` is durable.  Asks every running task to call
 * its instances' complete(id), in pre-order (chain order), on the task's
 * own thread; calls it here, on the caller's thread, for tasks that ended.
 * Call again until *all (every task served id, a later one counts too).
 * TIDE_EFAILED when a task failed first; else 0 or a complete() error. */
int tide_flow_complete(tide_flow *f, int64_t id, bool *all, tide_err *e);
/* The node's own snapshot (NULL when it has none) of `instance` of node
 * `node` in a store (borrowed from it).  TIDE_ENOENT, TIDE_ECORRUPT. */
int tide_flow_store_find(const tide_buf *store, uint32_t node, uint32_t instance, const void **snap,
                         size_t *len, tide_err *e);
/* Any thread: the longest time one task spent at a checkpoint barrier
 * writing its instances' snapshots (its data path stopped meanwhile), and
 * the sum over every task and barrier, in ns of the flow's clock. */
void tide_flow_snapshot_pause(const tide_flow *f, int64_t *max_ns, int64_t *total_ns);
/* The longest pause of the data path at a checkpoint: the longest time
 * one task spent at its barrier (in ns of the flow's clock), and the CPU
 * time that task's thread used meanwhile (the rest it waited for a core:
 * on a loaded machine wall_ns is several times cpu_ns). */
typedef struct tide_flow_pause {
    int64_t id;
    int64_t wall_ns;
    int64_t cpu_ns;
} tide_flow_pause;
/* The pauses of the last checkpoints whose store tide_flow_snapshot handed
 * out, oldest first: up to `cap` (and the last 1024) into out; returns how
 * many.  Any thread. */
size_t tide_flow_snapshot_pauses(tide_flow *f, tide_flow_pause *out, size_t cap);
/* Node instances in the flow (after start). */
uint32_t tide_flow_instance_count(const tide_flow *f);

/* The job counters (exec/node.h), summed over the instances: out[c] for
 * each tide_node_counter c.  Any thread (relaxed; exact after wait). */
void tide_flow_counts(const tide_flow *f, uint64_t out[TIDE_NODE_COUNTERS]);
/* The lowest watermark forwarded by the flow's last nodes (those without
 * outgoing edges; TIDE_TS_MIN before any).  Any thread. */
int64_t tide_flow_watermark(const tide_flow *f);

/* Number of tasks and channels (after start), and their stats. */
size_t tide_flow_task_count(const tide_flow *f);
size_t tide_flow_chan_count(const tide_flow *f);
void tide_flow_chan_stats(const tide_flow *f, size_t i, tide_chan_stats *out, const char **name);
/* The worker pool's counters (exec/sched.h; zeros before start). */
void tide_flow_sched_stats(const tide_flow *f, tide_sched_stats *out);
/* A textual plan: one line per task with its chained node instances, and
 * one per edge (partitioning, parallelism).  Appended to `out`. */
int tide_flow_describe(const tide_flow *f, tide_buf *out);

#endif
