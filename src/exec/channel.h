/*
 * channel.h - a bounded single-producer single-consumer message ring.
 *
 * A channel carries small messages from exactly one producer thread to
 * exactly one consumer thread: column batches (an opaque pointer), and the
 * in-band control messages of the data path (watermarks, checkpoint
 * barriers, end of stream).  Its capacity is fixed at creation, so memory
 * stays bounded: a producer that finds the ring full waits until the
 * consumer makes room (backpressure), a consumer that finds it empty waits
 * until something arrives.
 *
 * Fast path: lock-free.  The producer owns `tail`, the consumer owns `head`
 * (64-bit counters, never wrapping in practice); each side publishes its
 * counter with a release store and reads the other's with an acquire load,
 * and keeps a cached copy of the other's counter so that it touches the
 * shared cache line only when its cached view says full/empty.
 *
 * Slow path: a side that must wait parks on a `tide_chan_signal`, an event
 * count (a futex word on Linux, a mutex + condition variable elsewhere or
 * when built with -DTIDE_CHAN_NO_FUTEX).  The other side rings the signal
 * after publishing its counter, but only when a waiter is registered, so the
 * fast path does no system call.  The waiter protocol (prepare, re-check,
 * wait, cancel) closes the lost-wakeup race: see tide_chan_signal_prepare.
 *
 * A task with several input channels shares one consumer signal among them
 * (tide_chan_set_consumer_signal), and the same one as the producer signal
 * of its output channels (tide_chan_set_producer_signal), so it can wait
 * until any input has a message or any output has room.  The scheduler's
 * tasks never wait in the channel: they use try_send / try_recv and park
 * on the signal through its hook (tide_chan_signal_set_hook).
 *
 * End of stream: the producer calls tide_chan_close; the consumer receives
 * every message sent before, then tide_chan_recv returns 0.  Abort: any
 * thread may call tide_chan_abort (e.g. when the job failed); blocked and
 * later sends and receives on that channel return TIDE_EFAILED.
 *
 * Ownership: a DATA message's batch pointer is opaque to the channel; it
 * belongs to whoever holds the message (the producer until send returns 0,
 * then the consumer).  Messages still queued when the channel is freed are
 * dropped without touching their payload: drain first (tide_chan_try_recv)
 * if they own memory.
 */
#ifndef TIDE_EXEC_CHANNEL_H
#define TIDE_EXEC_CHANNEL_H

#include "base/err.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#ifdef TIDE_CHAN_NO_FUTEX
#include <pthread.h>
#elif !defined(__linux__)
#define TIDE_CHAN_NO_FUTEX 1
#include <pthread.h>
#endif

/* ---- messages ---- */

#define TIDE_CHAN_KIND_MAP(X) \
    X(DATA, "DATA")           \
    X(WATERMARK, "WATERMARK") \
    X(BARRIER, "BARRIER")     \
    X(END, "END")

typedef enum tide_chan_kind {
#define TIDE__CHAN_KIND_ENUM(name, str) TIDE_CHAN_##name,
    TIDE_CHAN_KIND_MAP(TIDE__CHAN_KIND_ENUM)
#undef TIDE__CHAN_KIND_ENUM
    TIDE_CHAN_KIND_COUNT
} tide_chan_kind;

/* "DATA", "WATERMARK", ...; "?" for an unknown value. */
const char *tide_chan_kind_name(tide_chan_kind k);

typedef struct tide_chan_msg {
    uint32_t kind;  /* tide_chan_kind */
    uint32_t rows;  /* DATA: items in the batch (for occupancy accounting); else 0 */
    union {
        void *batch;        /* DATA: opaque batch; ownership travels with the message */
        int64_t watermark;  /* WATERMARK: event time in ms (TIDE_TS_MAX = +infinity) */
        int64_t checkpoint; /* BARRIER: checkpoint id */
    } u;
} tide_chan_msg;

/* ---- signals (event counts) ---- */

/* One sleeping thread at a time waits on a signal; any thread may notify it.
 * Fields are private. */
typedef struct tide_chan_signal {
    _Atomic uint32_t seq;     /* bumped by every notify that found a waiter */
    _Atomic uint32_t waiters; /* 1 while a waiter is registered and not yet notified */
    void (*hook)(void *ctx);  /* see tide_chan_signal_set_hook */
    void *hook_ctx;
#ifdef TIDE_CHAN_NO_FUTEX
    pthread_mutex_t mu;
    pthread_cond_t cv;
#endif
} tide_chan_signal;

int tide_chan_signal_init(tide_chan_signal *s, tide_err *e);
void tide_chan_signal_destroy(tide_chan_signal *s);

/* Waiter protocol:
 *     uint32_t key = tide_chan_signal_prepare(s);
 *     if (!condition_holds())                 -- re-check AFTER prepare
 *         tide_chan_signal_wait(s, key, timeout_ns);
 *     tide_chan_signal_cancel(s);
 * A notify that happens after prepare makes wait return at once, so a
 * condition that becomes true between the check and the wait is not missed.
 * wait may also return spuriously; callers loop.  timeout_ns < 0 waits
 * without a time limit. */
uint32_t tide_chan_signal_prepare(tide_chan_signal *s);
void tide_chan_signal_wait(tide_chan_signal *s, uint32_t key, int64_t timeout_ns);
void tide_chan_signal_cancel(tide_chan_signal *s);
/* Wake the waiter, if one is registered (cheap when none is). */
void tide_chan_signal_notify(tide_chan_signal *s);
/* Cooperative waiters (a task on the scheduler's pool, exec/sched.h): the
 * waiter registers with tide_chan_signal_prepare, re-checks its condition
 * and, instead of calling wait, returns to its scheduler ("parks"); the
 * first notify after the prepare calls hook(ctx) (from the notifier's
 * thread) instead of waking a thread, and later ones do nothing until the
 * next prepare.  Set before any thread uses the signal; NULL: threads. */
void tide_chan_signal_set_hook(tide_chan_signal *s, void (*hook)(void *ctx), void *ctx);

/* ---- channels ---- */

typedef struct tide_chan tide_chan;

/* Counters, read with tide_chan_stats from any thread (each is a relaxed
 * snapshot; they are exact once both sides are quiet). */
typedef struct tide_chan_stats {
    uint32_t capacity;      /* messages */
    uint32_t len;           /* messages queued now */
    uint32_t max_len;       /* high-water mark of len as seen by the producer (>= the true one, <= capacity) */
    uint64_t sent;          /* messages accepted by send */
    uint64_t received;      /* messages returned by recv */
    uint64_t rows_queued;   /* sum of msg.rows of queued messages */
    uint64_t max_rows_queued; /* high-water mark of rows_queued (producer's view) */
    uint64_t send_waits;    /* times the producer found the ring full (and slept, or try_send said EAGAIN) */
    uint64_t recv_waits;    /* times the consumer found the ring empty and slept */
} tide_chan_stats;

/* A channel holding at most `capacity` (>= 1) messages.  `name` (copied,
 * may be NULL) appears in error messages.  TIDE_EINVAL, TIDE_ENOMEM. */
int tide_chan_create(tide_chan **out, uint32_t capacity, const char *name, tide_err *e);
/* NULL is a no-op.  No thread may use the channel any more. */
void tide_chan_free(tide_chan *c);

const char *tide_chan_name(const tide_chan *c);

/* Make the consumer side park on `s` (owned by the caller, outliving the
 * channel's use) instead of the channel's own signal.  Call before any
 * thread uses the channel. */
void tide_chan_set_consumer_signal(tide_chan *c, tide_chan_signal *s);
/* The same for the producer side: every receive notifies `s` (a task that
 * sends on several channels parks on one signal until any has room). */
void tide_chan_set_producer_signal(tide_chan *c, tide_chan_signal *s);

/* Producer: append `m`, waiting while the ring is full.  0, or TIDE_EFAILED
 * (aborted; `m` was not queued and still belongs to the caller), or
 * TIDE_EINVAL (sent after close). */
int tide_chan_send(tide_chan *c, const tide_chan_msg *m);
/* Producer: like send, but returns TIDE_EAGAIN instead of waiting (counted
 * in send_waits: the producer has to wait, e.g. a task parks). */
int tide_chan_try_send(tide_chan *c, const tide_chan_msg *m);
/* Producer: no more messages.  Wakes the consumer.  Idempotent. */
void tide_chan_close(tide_chan *c);

/* Consumer: take the oldest message into *m, waiting up to `timeout_ns`
 * (< 0: no limit) while the ring is empty.  Returns 1 (a message), 0 (closed
 * and drained: end of stream), TIDE_EAGAIN (timed out) or TIDE_EFAILED
 * (aborted). */
int tide_chan_recv(tide_chan *c, tide_chan_msg *m, int64_t timeout_ns);
/* Consumer: recv that never waits (TIDE_EAGAIN when empty and open). */
int tide_chan_try_recv(tide_chan *c, tide_chan_msg *m);
/* Consumer: would recv return at once (a message, end of stream, abort)? */
bool tide_chan_ready(tide_chan *c);
/* Either side: is the ring at capacity (its producer would wait)?  A task
 * that does not read an input for a while (see task.h, alignment) drains
 * such an input into a queue of its own rather than let its producer wait;
 * a producer with a backlog looks for room. */
bool tide_chan_full(tide_chan *c);
uint32_t tide_chan_capacity(const tide_chan *c);

/* Cleanup, when no thread uses the channel any more: take the oldest queued
 * message even if the channel was aborted.  1, or 0 when empty. */
int tide_chan_drain_one(tide_chan *c, tide_chan_msg *m);

/* Any thread: fail the channel; waiting sides wake with TIDE_EFAILED. */
void tide_chan_abort(tide_chan *c);
bool tide_chan_aborted(const tide_chan *c);

/* Any thread. */
void tide_chan_stats_get(const tide_chan *c, tide_chan_stats *out);

#endif
