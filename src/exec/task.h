/*
 * task.h - one task of the dataflow runtime: an operator, its input
 * channels, its outputs, and the quantum that drives them on a worker of
 * the scheduler's pool (exec/sched.h).
 *
 * Operators are abstract: a vtable of callbacks (tide_task_op) plus a void*
 * state.  The runtime calls them from one worker at a time, never
 * concurrently (a task is run by one worker per quantum; the pool's mutex
 * orders quanta on different workers), and hands each call an emitter
 * (tide_task_out) through which the operator produces output.  No callback
 * ever blocks on the runtime: emitting never waits (see "Backpressure").
 *
 * A quantum (tide_task_step), in order:
 *   0. If an output channel has a backlog, move it into the channel while
 *      there is room; a task with a backlog left reads nothing and parks
 *      until its consumers made room.
 *   1. (tasks with inputs) Read messages from every input that is
 *      readable, up to BURST per input per round, round-robin, at most
 *      QUANTUM messages in all, stopping early when the task finished or
 *      an output got a backlog.  An input is readable when it has not
 *      ended, is not held for a barrier, and its watermark is the task's
 *      (the minimum): inputs whose watermark is ahead wait until the others
 *      catch up (alignment on watermarks), so each record is handled at the
 *      same task watermark whatever the timing, and the task's watermark
 *      steps are the same in every run.  An input that is not read and
 *      whose channel is full is drained into a queue of the task (read
 *      first once the input is readable again): up to two channel
 *      capacities at once, so an instance one step ahead of its peers goes
 *      on; beyond that only when the pool stalled on this task (the
 *      scheduler's stall detector: two idle ticks in a row with no task
 *      runnable or running and no message sent, sched.h), so that inputs
 *      fed by one upstream (a source read by both sides of a join, one side
 *      holding its watermark back) cannot deadlock each other, while plain
 *      backpressure still bounds memory: per input at most 3 channel
 *      capacities of messages (channel + queue) unless stalled.  While a
 *      barrier is being aligned and every input still to deliver it is
 *      ahead on watermarks, those are read anyway (else neither could
 *      move).
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
 *                     output channel (then closed), and the task is done
 *                     once its backlogs drained.
 *    (sources: op->on_poll set, no inputs) The barriers requested so far
 *      (tide_task_request_barriers) are emitted, then on_poll is called
 *      once: one poll is one quantum.  on_poll returning 0 ends the source:
 *      on_end, flush, watermark +infinity, END.
 *   2. Flush output batches whose latency bound passed.
 *   3. Yield (runnable again at once) when it could go on: a source that
 *      polled, or readable input left; else park (with the waker protocol
 *      of exec/channel.h: register on the task's signal, look again, park)
 *      until a message arrives on an input (or an input ends), room
 *      appears behind a backlog, a barrier is requested (sources), the
 *      earliest flush deadline of its pending batches (park.due, on the
 *      injected clock), the next idle tick (a source whose poll said
 *      TIDE_EAGAIN is polled again then, not spun), or, if an input it
 *      does not read has a full channel, a stall of the pool.
 *
 * Output and batching: an output port is either one channel (forward) or P
 * channels with a key callback (hash exchange: each item goes to channel
 * hash_to_range(key(item), P)).  Each channel has a pending batch that items
 * are appended to through the port's batch type; it is sent when it holds
 * batch_rows items, or when latency_ns passed since its first item (checked
 * every flush_check_every emits and at the end of every quantum), and
 * always before a watermark, barrier or END leaves the task, so control
 * messages never overtake data.
 *
 * Backpressure.  A message sent on a full channel is not waited for: it
 * goes into the output's backlog, a queue of the task that is moved into
 * the channel, in order, before anything else, as the consumer makes
 * room; later messages for that channel go behind it.  A task with a
 * backlog is not scheduled to read or poll again until its consumers
 * drained enough for the whole backlog to move: so what a task holds
 * beyond its channels' capacity is at most the output of one input
 * message (or one poll, one watermark step, one barrier, the end), and a
 * slow consumer slows its producers down to the sources.
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
 * Errors: a callback returning < 0 (with its tide_err filled) ends the
 * task; the environment's fail hook (the graph) records the first error
 * and stops every task (env->stop: a task's next quantum ends it with
 * TIDE_EFAILED "graph stopped", and the pool stops running quanta).
 */
#ifndef TIDE_EXEC_TASK_H
#define TIDE_EXEC_TASK_H

#include "base/clock.h"
#include "base/err.h"
#include "exec/channel.h"
#include "exec/sched.h"

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
    /* Checkpoint `id` is complete (tide_task_request_complete): called at
     * the start of a quantum, between two messages, once per request (the
     * highest id requested by then).  May emit nothing. */
    int (*on_complete)(void *state, int64_t id, tide_task_out *out, tide_err *e);
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
    int64_t idle_tick_ns;       /* the pool's tick (> 0): sources with nothing are polled again after it */
    uint32_t flush_check_every; /* emits between clock checks (> 0) */
    const tide_clock *clock;    /* mono_ns drives the flush policy */
    _Atomic int stop;           /* set when the graph stops: tasks end */
    _Atomic uint64_t progress;  /* messages sent into channels by any task (the stall detector's clock) */
    /* Called once per failing task, from the worker running it. */
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

/* Attach `c` as the next input (its consumer side notifies the task's signal).
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

/* One quantum (see the top of this file): never blocks.  `stalled`: the
 * pool stalled while the task waited on an unread full input.  Returns
 * TIDE_SCHED_YIELD, TIDE_SCHED_PARK (*park says what else than a wake
 * runs it again) or TIDE_SCHED_DONE: finished, or failed (the error
 * already reported through env->fail).  One thread at a time. */
int tide_task_step(tide_task *t, bool stalled, tide_sched_park *park);
/* Route the task's wakes (a message or the end on an input, room on an
 * output, a barrier request) to fn(ctx), e.g. tide_sched_wake of its
 * unit; fn NULL: none (before the unit goes away).  While no thread uses
 * the task or its channels. */
void tide_task_set_waker(tide_task *t, void (*fn)(void *ctx), void *ctx);
/* Wake the task if it is parked (a barrier request does it). */
void tide_task_wake(tide_task *t);
/* Sources: emit every barrier id in (last emitted, upto] between polls.
 * Any thread. */
void tide_task_request_barriers(tide_task *t, int64_t upto);

/* Before the task runs: barrier ids up to `upto` count as emitted (a
 * flow restored from checkpoint `upto` numbers its barriers after it). */
void tide_task_skip_barriers(tide_task *t, int64_t upto);

/* Completing checkpoints.  Any thread: ask the task to call on_complete(id)
 * (it is woken; ids only rise).  The task serves it at its next quantum;
 * a task that is done never runs again, so its completions are served by
 * tide_task_complete_after instead.  tide_task_completed: the highest id
 * served (acquire). */
void tide_task_request_complete(tide_task *t, int64_t id);
int64_t tide_task_completed(const tide_task *t);
/* 0 while the task may still run; TIDE_TASK_ENDED once it finished
 * normally (every input ended, END sent) and TIDE_TASK_FAILED once it
 * failed or was stopped: it never runs again.  Read with acquire: after a
 * non-zero answer the caller may use the operator's state (the worker is
 * done with it). */
enum { TIDE_TASK_ENDED = 1, TIDE_TASK_FAILED = 2 };
int tide_task_done_state(const tide_task *t);
/* A task that is done (tide_task_done_state != 0): call on_complete(id) on
 * the caller's thread, unless the task served it already.  TIDE_EINVAL
 * while the task may still run. */
int tide_task_complete_after(tide_task *t, int64_t id, tide_err *e);

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
    uint64_t idle_waits;      /* quanta that parked for lack of input (or a source's poll had nothing) */
    int64_t watermark;        /* the last watermark forwarded (TIDE_TS_MIN: none) */
} tide_task_stats;
void tide_task_stats_get(const tide_task *t, tide_task_stats *out);

/* ---- the emitter (operators, from inside a callback) ---- */

/* Append `item` to output `port` (routed by the port's key if it is an
 * exchange).  Never waits: a batch that finds its channel full goes into
 * the backlog ("Backpressure").  0, TIDE_ENOMEM, TIDE_EINVAL (no such
 * port), TIDE_EFAILED (the graph stopped). */
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
