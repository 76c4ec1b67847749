/*
 * node.h - the one operator interface of tide's dataflow.
 *
 * Every operator of a query (a filter/project stage, a window aggregate, a
 * join, a union, the ordering sink, a source) is a *node*: a state behind a
 * vtable.  The runtime (exec/flow.h) creates one instance per degree of
 * parallelism and calls it on one thread at a time, never concurrently.
 * Nodes never see threads, channels or partitions: rows come in, rows go
 * out through the context, and the runtime does the rest.
 *
 * What a node receives, in stream order per input:
 *   batch      rows sel[0..n) of a column batch (sel NULL: rows 0..n-1),
 *              borrowed for the call (copy what you keep).  `in` is the
 *              node's logical input (0, 1, ... in the order edges were
 *              connected); a join's left side is input 0.
 *   watermark  the node's watermark rose to `wm` (the minimum over its
 *              inputs; TIDE_TS_MAX when every input ended).  Never repeats,
 *              never goes backwards.  Rows emitted here precede the
 *              watermark downstream.  After the call the runtime forwards
 *              min(wm, hold) on every output, where `hold` is what the node
 *              last set with tide_node_hold (TIDE_TS_MAX by default): an
 *              operator whose output rows can be older than its input
 *              watermark (an interval join) holds it back so that they are
 *              not late downstream.
 *   end        every input ended (after watermark(TIDE_TS_MAX)); the last
 *              chance to emit.  Sources: after poll returned 0.
 *   snapshot   checkpoint barrier `id` reached this node on every input
 *              (aligned): append the state that determines all future
 *              output to `out` (state/snap.h sections).  Rows emitted before
 *              it precede the barrier downstream; the node emits nothing
 *              here.
 *   freeze     (optional; the asynchronous form of snapshot) at the same
 *              barrier, instead of snapshot: capture the state in memory
 *              the node no longer touches (a copy of its tables) and hand
 *              it over as a tide_node_frozen; the runtime writes it later,
 *              on another thread, while the node goes on processing (so the
 *              data path stops only for the copy: DESIGN.md 5).  *out NULL:
 *              nothing frozen this time (a state a copy cannot capture, see
 *              the node): the runtime calls snapshot at once instead.
 *   restore    before any other call: rebuild the state from a snapshot
 *              this kind of node wrote (refuse, with TIDE_ECORRUPT or
 *              TIDE_EINVAL, a snapshot of another configuration).
 *   complete   checkpoint `id` is durable everywhere (sinks commit here).
 *   poll       sources only: produce some rows (and watermarks through
 *              tide_node_emit_watermark); 1 did work, 0 finished,
 *              TIDE_EAGAIN nothing now (the runtime retries after a tick).
 * Every callback may be NULL: batch NULL drops the rows, the others do
 * nothing (watermarks, barriers and the end still flow).
 *
 * Determinism (DESIGN.md 3).  A node with several inputs reads them aligned
 * on watermarks: an input is read only while its watermark equals the
 * node's, so every row is processed at the same node watermark whatever the
 * thread timing, and the watermarks a node forwards are the same sequence
 * in every run.  Rows a node emits between two watermarks it forwards form
 * that step's output; the ordering sink (exec/order.h) releases each step's
 * rows in a canonical order.  So P = 1, 2, 4 give identical output.
 *
 * Errors: a callback returns 0 or a negative TIDE_E* code with `e` filled;
 * the job stops and reports the first error, naming the node.
 */
#ifndef TIDE_EXEC_NODE_H
#define TIDE_EXEC_NODE_H

#include "base/buf.h"
#include "base/clock.h"
#include "base/err.h"
#include "data/batch.h"

#include <stdbool.h>
#include <stdint.h>

/* What a node calls back into: its outputs and the job's clock.  Owned by
 * the runtime; valid during a callback only. */
typedef struct tide_node_ctx tide_node_ctx;

/* A node's state frozen at a barrier (tide_node_vt.freeze).  Owned by the
 * runtime from then on.  write appends to `out` exactly the bytes snapshot
 * would have appended at the barrier; it runs on another thread than the
 * node's, concurrently with the node's callbacks, so it reads only memory
 * the frozen object owns and the node's configuration (fixed since make),
 * and it is called at most once.  free releases it (written or not) on any
 * thread; it may give memory back to the node for the next freeze (through
 * an atomic).  The runtime calls both while the node exists (before the
 * node's free).  A node allocates a struct whose first member is this
 * one. */
typedef struct tide_node_frozen tide_node_frozen;
struct tide_node_frozen {
    int (*write)(tide_node_frozen *fz, tide_buf *out, tide_err *e);
    void (*free)(tide_node_frozen *fz);
};

typedef struct tide_node_vt {
    const char *kind; /* "winagg", "filter", ... (names the node in errors) */
    int (*poll)(void *self, tide_node_ctx *cx, tide_err *e);
    int (*batch)(void *self, uint32_t in, const tide_cbatch *b, const uint32_t *sel, uint32_t n,
                 tide_node_ctx *cx, tide_err *e);
    int (*watermark)(void *self, int64_t wm, tide_node_ctx *cx, tide_err *e);
    int (*end)(void *self, tide_node_ctx *cx, tide_err *e);
    int (*snapshot)(void *self, int64_t id, tide_buf *out, tide_err *e);
    int (*freeze)(void *self, int64_t id, tide_node_frozen **out, tide_err *e);
    int (*restore)(void *self, const void *buf, size_t len, tide_err *e);
    int (*complete)(void *self, int64_t id, tide_err *e);
    void (*free)(void *self);
} tide_node_vt;

/* Emit rows sel[0..n) of `b` (sel NULL: rows 0..n-1) on output `port`.  The
 * rows are copied or consumed before this returns (b stays the caller's).
 * b's columns must have the port's schema's types.  May block while a
 * downstream queue is full (backpressure).  0 or a TIDE_E* code (e filled). */
int tide_node_emit(tide_node_ctx *cx, uint32_t port, const tide_cbatch *b, const uint32_t *sel,
                   uint32_t n, tide_err *e);
/* Sources: no row with event time < wm follows.  Ignored unless it rises. */
int tide_node_emit_watermark(tide_node_ctx *cx, int64_t wm, tide_err *e);
/* Forward at most `hold` as this node's watermark from now on (see above). */
void tide_node_hold(tide_node_ctx *cx, int64_t hold);
/* The job's clock (processing time). */
const tide_clock *tide_node_clock(const tide_node_ctx *cx);
/* This instance's number (0..parallelism-1) and the node's parallelism. */
uint32_t tide_node_instance(const tide_node_ctx *cx);
uint32_t tide_node_parallelism(const tide_node_ctx *cx);
/* The schema of output `port` (for building output batches). */
const tide_schema *tide_node_out_schema(const tide_node_ctx *cx, uint32_t port);

/* The job's counters, summed over every node instance (tide_flow_counts). */
#define TIDE_NODE_COUNTER_MAP(X)                                                   \
    X(IN, "records in")       /* sources: records accepted (with an event time) */ \
    X(BAD, "bad")             /* dead letters: undecodable, no event time, too far ahead */ \
    X(LATE, "late")           /* records past the allowed lateness (late output) */ \
    X(OUT, "out")             /* rows written by the job's sinks */               \
    X(WM_CUTS, "wm cuts")     /* source batches cut to keep watermarks exact */

typedef enum tide_node_counter {
#define TIDE__NODE_COUNTER_ENUM(name, s) TIDE_NODE_##name,
    TIDE_NODE_COUNTER_MAP(TIDE__NODE_COUNTER_ENUM)
#undef TIDE__NODE_COUNTER_ENUM
    TIDE_NODE_COUNTERS
} tide_node_counter;

/* Add n to a job counter (relaxed atomics: any thread reads them). */
void tide_node_count(tide_node_ctx *cx, tide_node_counter c, uint64_t n);

#endif
