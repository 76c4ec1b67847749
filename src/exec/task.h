/*
 * task.h - one task of the dataflow runtime: an operator, its input
 * channels, its outputs, and the loop that drives them on one thread.
 *
 * Operators are abstract: a vtable of callbacks (tide_task_op) plus a void*
 * state.  The runtime calls them on the task's own thread, never
 * concurrently, and hands each call an emitter (tide_task_out) through which
 * the operator produces output.
 *
 * The task loop (non-source tasks), in order:
 *   1. Read messages from every input that is readable, up to a bounded
 *      number per input per round, round-robin.  An input is readable when
 *      it has not ended, is not held for a barrier, and its watermark is the
 *      task's (the minimum): inputs whose watermark is ahead wait until the
 *      others catch up (alignment on watermarks), so each record is handled
 *      at the same task watermark whatever the thread timing, and the task's
 *      watermark steps are the same in every run.  An input that is not
 *      read and whose channel is full is drained into a queue of the task
 *      (read first once the input is readable again): up to two channel
 *      capacities at once, so an instance one step ahead of its peers goes
 *      on; beyond that only when the graph is stuck (two idle ticks in a
 *      row in which no task sent a message, and every other task waiting),
 *      so that inputs fed by one upstream (a source read by both sides of a
 *      join, one side holding its watermark back) cannot deadlock each
 *      other, while plain backpressure still bounds memory: per input at
 *      most 3 channel capacities of messages (channel + queue) unless
 *      stuck.  While a barrier
 *      is being aligned and every input still to deliver it is ahead on
 *      watermarks, those are read anyway (else neither could move).
 *        DATA      -> op->on_batch(input, batch)   (the operator owns batch)
 *        WATERMARK -> the input's watermark rises to max(old, w); if the
 *                     task's watermark (min over inputs; an ended input
 *                     counts as +infinity) advanced: op->on_watermark(w),
 *                     flush, forward min(w, hold) on every output channel
 *                     (hold: tide_task_hold_watermark).  Never regresses,
 *                     never repeats.
 *        BARRIER n -> single input: op->on_barrier(n), flush, forward n.
 *                     Several inputs (aligned): the input is held (not read)
 *                     until n arrived on every input that has not ended; then
 *                     on_barrier(n), flush, forward n, release all inputs.
 *        END / closed -> the input ended (its watermark is +infinity).  When
 *                     every input ended: op->on_watermark(+infinity),
 *                     op->on_end, flush, forward +infinity, END on every
 *                     output channel (then closed), and the thread returns.
 *   2. If nothing was read: flush output batches whose latency bound
 *      passed, then sleep until an input has a message or the next flush
 *      deadline (at most idle_tick_ns, so a fake clock is re-read).
 * A source task (op->on_poll set, no inputs) instead calls on_poll in a
 * loop; injected barriers are emitted between polls; on_poll returning 0
 * ends it: on_end, flush, watermark +infinity, END.
 *
 * Output and batching: an output port is either one channel (forward) or P
 * channels with a key callback (hash exchange: each item goes to channel
 * hash_to_range(key(item), P)).  Each channel has a pending batch that items
 * are appended to through the port's batch type; it is sent when it holds
 * batch_rows items, or when latency_ns passed since its first item (checked
 * every flush_check_every emits and whenever the task is idle), and always
 * before a watermark, barrier or END leaves the task, so control messages
 * never overtake data.
 *
 * Checkpoints.  An operator snapshots its own state in on_barrier; the
 * runtime's state around it is the watermarks: each input's (which decide
 * what alignment reads), the task's (their minimum), the last one it
 * forwarded and the hold.  A task restored from a checkpoint must resume
 * with them too: otherwise a multi-input operator would read an input that
 * is ahead before the others are back at the barrier's watermark (rows
 * handled at other operator watermarks than in the run that wrote the
 * checkpoint), and a held watermark would be forwarded unheld.  So
 * on_barrier reads them (tide_task_input_watermark and friends: at an
 * aligned barrier they are those of the barrier on every input), and
 * tide_task_resume_watermarks sets them on a fresh task before it runs,
 * without calling on_watermark (the restored operator has its own).  One
 * case stays inexact: when the inputs' watermarks differ at the barrier and
 * the input that is ahead still has rows before its barrier above the
 * others' watermark (a held-back side, independent sources), aligning the
 * barrier reads them early (the override above) in the run that takes the
 * checkpoint already; keeping them unread would need them in the snapshot
 * (in-flight data), which this runtime does not do.
 *
 * Errors: a callback returning < 0 (with its tide_err filled) stops the task;
 * the environment's fail hook (the graph) records the first error and stops
 * every task.
 */
#ifndef TIDE_EXEC_TASK_H
#define TIDE_EXEC_TASK_H

#include "base/clock.h"
#include "base/err.h"
#include "exec/channel.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* How the runtime makes batches out of items.  The runtime only appends,
 * counts and frees; what an item and a batch are is the type's business
 * (items are borrowed for the append call only).  For column batches an
 * item can be a (source batch, row) pair and append a row copy.  Each output
 * port has one (the graph's default unless given). */
typedef struct tide_task_batch_type {
    /* A new empty batch with room for at least `rows` items; NULL on ENOMEM. */
    void *(*create)(void *ctx, uint32_t rows);
    /* Copy one item in; 0 or TIDE_ENOMEM.  Called at most `rows` times. */
    int (*append)(void *ctx, void *batch, const void *item);
    void (*free)(void *ctx, void *batch);
    void *ctx;
} tide_task_batch_type;

/* A hash exchange's key: a well-mixed 64-bit hash of the item's key
 * (e.g. tide_hash_u64 or tide_hash64 of it). */
typedef uint64_t (*tide_task_key_fn)(void *ctx, const void *item);

typedef struct tide_task tide_task;
typedef struct tide_task tide_task_out; /* the emitter: the task itself, seen by operators */

/* An operator.  Every callback may be NULL: on_batch NULL frees the batch;
 * the others then do nothing (watermarks, barriers and END still flow).
 * Return 0, or a negative TIDE_E* code with `e` filled. */
typedef struct tide_task_op {
    const char *name;
    /* Sources only (a task with on_poll set takes no inputs).  Produce some
     * output; return 1 (did work), 0 (finished) or TIDE_EAGAIN (nothing to
     * do now: the runtime flushes due batches and retries after a tick). */
    int (*on_poll)(void *state, tide_task_out *out, tide_err *e);
    /* `batch` (with `rows` items) from input number `input` (in the order
     * inputs were connected).  The operator owns it: emit it on with
     * tide_task_emit_batch or release it with tide_task_free_batch. */
    int (*on_batch)(void *state, uint32_t input, void *batch, uint32_t rows,
                    tide_task_out *out, tide_err *e);
    /* The task's watermark advanced to `wm` (TIDE_TS_MAX: all inputs
     * ended).  Output emitted here precedes the forwarded watermark. */
    int (*on_watermark)(void *state, int64_t wm, tide_task_out *out, tide_err *e);
    /* Checkpoint barrier `id` (aligned): snapshot here.  Output emitted here
     * precedes the forwarded barrier. */
    int (*on_barrier)(void *state, int64_t id, tide_task_out *out, tide_err *e);
    /* Every input ended (sources: on_poll returned 0).  Called after
     * on_watermark(TIDE_TS_MAX) and before +infinity and END are forwarded,
     * so output emitted here is not late. */
    int (*on_end)(void *state, tide_task_out *out, tide_err *e);
    /* Free the state (called once, when the graph is freed); may be NULL. */
    void (*free)(void *state);
} tide_task_op;

/* What the tasks of one graph share; owned by the graph, which fills it
 * before creating tasks and keeps it alive until they are freed. */
typedef struct tide_task_env {
    tide_task_batch_type batch;
    uint32_t batch_rows;        /* items per batch (> 0) */
    int64_t latency_ns;         /* flush bound after a batch's first item (>= 0) */
    int64_t idle_tick_ns;       /* longest sleep of an idle task (> 0) */
    uint32_t flush_check_every; /* emits between clock checks (> 0) */
    const tide_clock *clock;    /* mono_ns drives the flush policy */
    _Atomic int stop;           /* set when the graph stops: tasks return */
    _Atomic int busy;           /* tasks running now (not waiting for input or on a full channel) */
    _Atomic uint64_t progress;  /* messages sent by any task (a stall detector's clock) */
    /* Called once per failing task, from its thread. */
    void (*fail)(void *ctx, tide_task *t, int code, const char *msg);
    void *fail_ctx;
} tide_task_env;

/* ---- building (graph.c) ---- */

/* `state` belongs to the task from now on, even when this fails
 * (op->free(state) is called then or by tide_task_free). */
int tide_task_create(tide_task **out, const char *name, const tide_task_op *op, void *state,
                     tide_task_env *env, tide_err *e);
/* Frees pending output batches and the operator state.  NULL is a no-op.
 * Channels are not freed (the graph owns them). */
void tide_task_free(tide_task *t);

/* Attach `c` as the next input (its consumer parks on the task's signal).
 * `bt` (copied; NULL: env->batch) is the batch type of the port feeding it,
 * used to free its batches.  TIDE_EINVAL for a source task. */
int tide_task_add_input(tide_task *t, tide_chan *c, const tide_task_batch_type *bt, tide_err *e);
/* Add an output port over `n` channels: n == 1 and key == NULL forwards,
 * otherwise `key` routes each item to one of the n channels.  `bt` (copied;
 * NULL: env->batch) makes the port's batches: each port may carry its own
 * kind of batch (e.g. its own schema).  *port gets the port number (0, 1,
 * ... in order of addition; may be NULL). */
int tide_task_add_output(tide_task *t, tide_chan *const *chans, uint32_t n, tide_task_key_fn key,
                         void *key_ctx, const tide_task_batch_type *bt, uint32_t *port, tide_err *e);

/* ---- running ---- */

/* The thread body: runs the loop until the task ends, fails or the
 * environment stops.  Returns 0 or the task's error code (already reported
 * through env->fail). */
int tide_task_run(tide_task *t);
/* Wake the task if it sleeps (after setting env->stop, or a barrier request). */
void tide_task_wake(tide_task *t);
/* Sources: emit every barrier id in (last emitted, upto] between polls.
 * Any thread. */
void tide_task_request_barriers(tide_task *t, int64_t upto);

bool tide_task_is_source(const tide_task *t);
const char *tide_task_name(const tide_task *t);

/* Before the task runs (after its inputs were added): resume with the
 * watermarks a checkpoint took (see "Checkpoints"): input i's watermark
 * in_wm[i] (n is the number of inputs), the task's input watermark wm_in
 * (sources: the last emitted), the last watermark forwarded wm_out and the
 * hold.  on_watermark is not called.  TIDE_EINVAL when n is not the
 * task's number of inputs. */
int tide_task_resume_watermarks(tide_task *t, const int64_t *in_wm, uint32_t n, int64_t wm_in, int64_t wm_out,
                                int64_t hold, tide_err *e);

/* Counters of one task, any thread (relaxed snapshots). */
typedef struct tide_task_stats {
    uint64_t batches_in, batches_out;
    uint64_t items_emitted;
    uint64_t latency_flushes; /* batches sent because their latency bound passed */
    uint64_t idle_waits;      /* times the task slept for lack of input (or a source was idle) */
    int64_t watermark;        /* the last watermark forwarded (TIDE_TS_MIN: none) */
} tide_task_stats;
void tide_task_stats_get(const tide_task *t, tide_task_stats *out);

/* ---- the emitter (operators, from inside a callback) ---- */

/* Append `item` to output `port` (routed by the port's key if it is an
 * exchange).  May block on a full channel (backpressure).  0, TIDE_ENOMEM,
 * TIDE_EINVAL (no such port), TIDE_EFAILED (the graph stopped). */
int tide_task_emit(tide_task_out *out, uint32_t port, const void *item);
/* Send a whole batch of `rows` items on a forward port (pending items of
 * that channel go first).  Ownership passes to the runtime, even on error.
 * TIDE_EUNSUPPORTED on an exchange port (emit its items instead). */
int tide_task_emit_batch(tide_task_out *out, uint32_t port, void *batch, uint32_t rows);
/* Sources: declare that no item with event time < wm will follow.  Ignored
 * unless it exceeds the last watermark forwarded.  Other tasks need not call
 * it: the runtime forwards their combined watermark. */
int tide_task_emit_watermark(tide_task_out *out, int64_t wm);
/* Sources: emit checkpoint barrier `id` (after on_barrier is NOT called for
 * it: the source snapshots itself before calling this). */
int tide_task_emit_barrier(tide_task_out *out, int64_t id);
/* Forward at most `hold` from now on (TIDE_TS_MAX: no hold; the end of
 * input releases it): for operators whose output can be older than their
 * input watermark.  A raised hold is applied after the current callback. */
void tide_task_hold_watermark(tide_task_out *out, int64_t hold);
/* The task's input watermark (min over inputs; sources: the last emitted). */
int64_t tide_task_watermark_in(const tide_task_out *out);
/* For checkpoints, in on_barrier: the watermark of input `input`
 * (TIDE_TS_MAX once it ended; TIDE_TS_MIN for no such input), the last
 * watermark forwarded, the hold. */
int64_t tide_task_input_watermark(const tide_task_out *out, uint32_t input);
int64_t tide_task_watermark_out(const tide_task_out *out);
int64_t tide_task_hold(const tide_task_out *out);
/* Bulk appends: the pending batch of channel `chan` of output `port`
 * (created when there is none), holding *rows items; append up to
 * batch_rows - *rows items to it, then report them with tide_task_added
 * (which sends the batch once full).  NULL on ENOMEM or a bad port. */
void *tide_task_pending(tide_task_out *out, uint32_t port, uint32_t chan, uint32_t *rows);
int tide_task_added(tide_task_out *out, uint32_t port, uint32_t chan, uint32_t n);
/* Channels of output `port` (0 for a bad port). */
uint32_t tide_task_port_chans(const tide_task_out *out, uint32_t port);
/* Send every pending batch now. */
int tide_task_flush(tide_task_out *out);
/* Free a batch received in on_batch from input `input` (with the batch type
 * of the port that sent it).  NULL is a no-op. */
void tide_task_free_batch(tide_task_out *out, uint32_t input, void *batch);
/* A new empty batch of output `port`'s type with room for batch_rows items,
 * to fill and pass to tide_task_emit_batch; NULL on ENOMEM or a bad port. */
void *tide_task_new_batch(tide_task_out *out, uint32_t port);
uint32_t tide_task_port_count(const tide_task_out *out);
uint32_t tide_task_input_count(const tide_task_out *out);

#endif
