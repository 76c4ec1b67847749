/*
 * channel.c - the SPSC ring and its event-count signals.  See channel.h.
 *
 * Memory ordering, in one place:
 *   send:  write slot[tail & mask]; store_release(tail, tail + 1)
 *   recv:  load_acquire(tail) > head  =>  the slot write is visible;
 *          read slot[head & mask]; store_release(head, head + 1)
 *   send:  load_acquire(head) shows the slot is no longer read, so it may be
 *          overwritten.
 * Wakeups (the event count): after publishing its counter a side executes a
 * seq_cst fence and reads the peer signal's `waiters` flag; a waiter sets
 * the flag, executes a seq_cst fence, then re-reads the counter.  By the store-buffer rule
 * of seq_cst, either the notifier sees the waiter (and bumps `seq`, which
 * makes a futex wait on the old key return at once) or the waiter sees the
 * new counter and does not sleep.
 */
#include "exec/channel.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef TIDE_CHAN_NO_FUTEX
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#define CACHE_LINE 64

const char *tide_chan_kind_name(tide_chan_kind k)
{
    switch (k) {
#define TIDE__CHAN_KIND_CASE(name, str) \
    case TIDE_CHAN_##name:              \
        return str;
        TIDE_CHAN_KIND_MAP(TIDE__CHAN_KIND_CASE)
#undef TIDE__CHAN_KIND_CASE
    default:
        return "?";
    }
}

/* ---- signals ---- */

int tide_chan_signal_init(tide_chan_signal *s, tide_err *e)
{
    atomic_init(&s->seq, 0);
    atomic_init(&s->waiters, 0);
    s->hook = NULL;
    s->hook_ctx = NULL;
#ifdef TIDE_CHAN_NO_FUTEX
    if (pthread_mutex_init(&s->mu, NULL) != 0)
        return tide_err_set(e, TIDE_ENOMEM, "channel signal: mutex init failed");
    pthread_condattr_t ca;
    int rc = pthread_condattr_init(&ca);
    if (rc == 0) {
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        rc = pthread_cond_init(&s->cv, &ca);
        pthread_condattr_destroy(&ca);
    }
    if (rc != 0) {
        pthread_mutex_destroy(&s->mu);
        return tide_err_set(e, TIDE_ENOMEM, "channel signal: condvar init failed");
    }
#else
    (void)e;
#endif
    return 0;
}

void tide_chan_signal_destroy(tide_chan_signal *s)
{
#ifdef TIDE_CHAN_NO_FUTEX
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
#else
    (void)s;
#endif
}

uint32_t tide_chan_signal_prepare(tide_chan_signal *s)
{
    uint32_t key = atomic_load_explicit(&s->seq, memory_order_acquire);
    atomic_store_explicit(&s->waiters, 1, memory_order_seq_cst);
    /* Pairs with the fence in notify: the caller's re-check (any loads after
     * this) sees what a notifier published before finding waiters == 0. */
    atomic_thread_fence(memory_order_seq_cst);
    return key;
}

void tide_chan_signal_cancel(tide_chan_signal *s)
{
    atomic_store_explicit(&s->waiters, 0, memory_order_relaxed);
}

#ifndef TIDE_CHAN_NO_FUTEX
static void futex_wait(_Atomic uint32_t *word, uint32_t expect, int64_t timeout_ns)
{
    struct timespec ts, *tsp = NULL;
    if (timeout_ns >= 0) {
        ts.tv_sec = (time_t)(timeout_ns / 1000000000);
        ts.tv_nsec = (long)(timeout_ns % 1000000000);
        tsp = &ts;
    }
    /* EAGAIN (the word changed), EINTR and ETIMEDOUT all just return. */
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_PRIVATE, expect, tsp, NULL, 0);
}

static void futex_wake_all(_Atomic uint32_t *word)
{
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL, NULL, 0);
}
#endif

void tide_chan_signal_wait(tide_chan_signal *s, uint32_t key, int64_t timeout_ns)
{
    if (timeout_ns == 0)
        return;
#ifdef TIDE_CHAN_NO_FUTEX
    pthread_mutex_lock(&s->mu);
    if (atomic_load_explicit(&s->seq, memory_order_acquire) == key) {
        if (timeout_ns < 0) {
            pthread_cond_wait(&s->cv, &s->mu);
        } else {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            int64_t ns = (int64_t)ts.tv_nsec + timeout_ns % 1000000000;
            ts.tv_sec += (time_t)(timeout_ns / 1000000000 + ns / 1000000000);
            ts.tv_nsec = (long)(ns % 1000000000);
            pthread_cond_timedwait(&s->cv, &s->mu, &ts);
        }
    }
    pthread_mutex_unlock(&s->mu);
#else
    futex_wait(&s->seq, key, timeout_ns);
#endif
}

void tide_chan_signal_set_hook(tide_chan_signal *s, void (*hook)(void *ctx), void *ctx)
{
    s->hook = hook;
    s->hook_ctx = ctx;
}

void tide_chan_signal_notify(tide_chan_signal *s)
{
    atomic_thread_fence(memory_order_seq_cst);
    /* Only the notifier that takes the flag makes the system call: the
     * waiter is woken once, not once per message sent while it sleeps. */
    if (atomic_load_explicit(&s->waiters, memory_order_relaxed) == 0 ||
        atomic_exchange_explicit(&s->waiters, 0, memory_order_acq_rel) == 0)
        return;
    if (s->hook) { /* a cooperative waiter: its scheduler runs it again */
        atomic_fetch_add_explicit(&s->seq, 1, memory_order_release);
        s->hook(s->hook_ctx);
        return;
    }
#ifdef TIDE_CHAN_NO_FUTEX
    pthread_mutex_lock(&s->mu);
    atomic_fetch_add_explicit(&s->seq, 1, memory_order_release);
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
#else
    atomic_fetch_add_explicit(&s->seq, 1, memory_order_release);
    futex_wake_all(&s->seq);
#endif
}

/* ---- channels ---- */

struct tide_chan {
    /* read-mostly */
    tide_chan_msg *slots;
    uint64_t mask;    /* slots has mask + 1 entries (a power of two >= cap) */
    uint32_t cap;     /* logical capacity */
    char *name;
    tide_chan_signal *cons_sig; /* where the consumer parks (own_cons_sig by default) */
    tide_chan_signal *prod_sig; /* where the producer parks (own_prod_sig by default) */
    _Atomic int aborted;

    /* producer side */
    _Alignas(CACHE_LINE) _Atomic uint64_t tail;
    uint64_t cached_head;
    _Atomic int closed;
    _Atomic uint32_t max_len;
    _Atomic uint64_t max_rows;
    _Atomic uint64_t send_waits;

    /* consumer side */
    _Alignas(CACHE_LINE) _Atomic uint64_t head;
    uint64_t cached_tail;
    _Atomic uint64_t recv_waits;

    /* shared, touched only for DATA messages with rows > 0 */
    _Alignas(CACHE_LINE) _Atomic uint64_t rows_queued;

    _Alignas(CACHE_LINE) tide_chan_signal own_prod_sig;
    tide_chan_signal own_cons_sig;
};

int tide_chan_create(tide_chan **out, uint32_t capacity, const char *name, tide_err *e)
{
    int rc = 0;
    *out = NULL;
    if (capacity == 0 || capacity > (1u << 30))
        return tide_err_set(e, TIDE_EINVAL, "channel %s: capacity %u out of range 1..2^30",
                            name ? name : "?", capacity);
    tide_chan *c = aligned_alloc(CACHE_LINE, (sizeof *c + CACHE_LINE - 1) / CACHE_LINE * CACHE_LINE);
    if (!c)
        return tide_err_set(e, TIDE_ENOMEM, "channel %s: out of memory", name ? name : "?");
    memset(c, 0, sizeof *c);
    bool prod_ok = false, cons_ok = false;
    uint64_t n = 1;
    while (n < capacity)
        n <<= 1;
    c->mask = n - 1;
    c->cap = capacity;
    atomic_init(&c->aborted, 0);
    atomic_init(&c->tail, 0);
    atomic_init(&c->head, 0);
    atomic_init(&c->closed, 0);
    atomic_init(&c->max_len, 0);
    atomic_init(&c->max_rows, 0);
    atomic_init(&c->send_waits, 0);
    atomic_init(&c->recv_waits, 0);
    atomic_init(&c->rows_queued, 0);
    c->slots = calloc(n, sizeof *c->slots);
    c->name = strdup(name ? name : "channel");
    if (!c->slots || !c->name) {
        rc = tide_err_set(e, TIDE_ENOMEM, "channel %s: out of memory", name ? name : "?");
        goto fail;
    }
    if ((rc = tide_chan_signal_init(&c->own_prod_sig, e)) != 0)
        goto fail;
    prod_ok = true;
    if ((rc = tide_chan_signal_init(&c->own_cons_sig, e)) != 0)
        goto fail;
    cons_ok = true;
    c->cons_sig = &c->own_cons_sig;
    c->prod_sig = &c->own_prod_sig;
    *out = c;
    return 0;
fail:
    if (prod_ok)
        tide_chan_signal_destroy(&c->own_prod_sig);
    if (cons_ok)
        tide_chan_signal_destroy(&c->own_cons_sig);
    free(c->slots);
    free(c->name);
    free(c);
    return rc;
}

void tide_chan_free(tide_chan *c)
{
    if (!c)
        return;
    tide_chan_signal_destroy(&c->own_prod_sig);
    tide_chan_signal_destroy(&c->own_cons_sig);
    free(c->slots);
    free(c->name);
    free(c);
}

const char *tide_chan_name(const tide_chan *c) { return c->name; }

void tide_chan_set_consumer_signal(tide_chan *c, tide_chan_signal *s)
{
    c->cons_sig = s ? s : &c->own_cons_sig;
}

void tide_chan_set_producer_signal(tide_chan *c, tide_chan_signal *s)
{
    c->prod_sig = s ? s : &c->own_prod_sig;
}

static bool is_aborted(const tide_chan *c)
{
    return atomic_load_explicit(&c->aborted, memory_order_acquire) != 0;
}

bool tide_chan_aborted(const tide_chan *c) { return is_aborted(c); }

void tide_chan_abort(tide_chan *c)
{
    atomic_store_explicit(&c->aborted, 1, memory_order_seq_cst);
    tide_chan_signal_notify(c->prod_sig);
    tide_chan_signal_notify(c->cons_sig);
}

/* Producer: is there room, refreshing the cached head if needed? */
static bool has_room(tide_chan *c, uint64_t tail)
{
    if (tail - c->cached_head < c->cap)
        return true;
    c->cached_head = atomic_load_explicit(&c->head, memory_order_acquire);
    return tail - c->cached_head < c->cap;
}

static void push(tide_chan *c, uint64_t tail, const tide_chan_msg *m)
{
    c->slots[tail & c->mask] = *m;
    if (m->kind == TIDE_CHAN_DATA && m->rows) {
        uint64_t q = atomic_fetch_add_explicit(&c->rows_queued, m->rows, memory_order_relaxed) + m->rows;
        if (q > atomic_load_explicit(&c->max_rows, memory_order_relaxed))
            atomic_store_explicit(&c->max_rows, q, memory_order_relaxed);
    }
    uint32_t len = (uint32_t)(tail + 1 - c->cached_head);
    if (len > atomic_load_explicit(&c->max_len, memory_order_relaxed))
        atomic_store_explicit(&c->max_len, len, memory_order_relaxed);
    atomic_store_explicit(&c->tail, tail + 1, memory_order_release);
    tide_chan_signal_notify(c->cons_sig);
}

int tide_chan_try_send(tide_chan *c, const tide_chan_msg *m)
{
    if (is_aborted(c))
        return TIDE_EFAILED;
    if (atomic_load_explicit(&c->closed, memory_order_relaxed))
        return TIDE_EINVAL;
    uint64_t tail = atomic_load_explicit(&c->tail, memory_order_relaxed);
    if (!has_room(c, tail)) {
        atomic_fetch_add_explicit(&c->send_waits, 1, memory_order_relaxed);
        return TIDE_EAGAIN;
    }
    push(c, tail, m);
    return 0;
}

int tide_chan_send(tide_chan *c, const tide_chan_msg *m)
{
    if (atomic_load_explicit(&c->closed, memory_order_relaxed))
        return TIDE_EINVAL;
    uint64_t tail = atomic_load_explicit(&c->tail, memory_order_relaxed);
    for (int spin = 0;; spin++) {
        if (is_aborted(c))
            return TIDE_EFAILED;
        if (has_room(c, tail))
            break;
        if (spin < 64)
            continue; /* the consumer is probably just behind: re-check */
        uint32_t key = tide_chan_signal_prepare(c->prod_sig);
        c->cached_head = atomic_load_explicit(&c->head, memory_order_acquire);
        if (tail - c->cached_head >= c->cap && !is_aborted(c)) {
            atomic_fetch_add_explicit(&c->send_waits, 1, memory_order_relaxed);
            tide_chan_signal_wait(c->prod_sig, key, -1);
        }
        tide_chan_signal_cancel(c->prod_sig);
    }
    push(c, tail, m);
    return 0;
}

void tide_chan_close(tide_chan *c)
{
    atomic_store_explicit(&c->closed, 1, memory_order_release);
    tide_chan_signal_notify(c->cons_sig);
}

/* Consumer: 1 = a message is available at head, 0 = closed and drained,
 * TIDE_EAGAIN = empty. */
static int peek_state(tide_chan *c, uint64_t head)
{
    if (c->cached_tail > head)
        return 1;
    /* Read `closed` before `tail`: a close always follows the last send, so a
     * closed flag seen here means the tail read next is final. */
    int closed = atomic_load_explicit(&c->closed, memory_order_acquire);
    c->cached_tail = atomic_load_explicit(&c->tail, memory_order_acquire);
    if (c->cached_tail > head)
        return 1;
    return closed ? 0 : TIDE_EAGAIN;
}

static void pop(tide_chan *c, uint64_t head, tide_chan_msg *m)
{
    *m = c->slots[head & c->mask];
    if (m->kind == TIDE_CHAN_DATA && m->rows)
        atomic_fetch_sub_explicit(&c->rows_queued, m->rows, memory_order_relaxed);
    atomic_store_explicit(&c->head, head + 1, memory_order_release);
    tide_chan_signal_notify(c->prod_sig);
}

int tide_chan_try_recv(tide_chan *c, tide_chan_msg *m)
{
    if (is_aborted(c))
        return TIDE_EFAILED;
    uint64_t head = atomic_load_explicit(&c->head, memory_order_relaxed);
    int st = peek_state(c, head);
    if (st == 1)
        pop(c, head, m);
    return st;
}

int tide_chan_drain_one(tide_chan *c, tide_chan_msg *m)
{
    uint64_t head = atomic_load_explicit(&c->head, memory_order_relaxed);
    if (atomic_load_explicit(&c->tail, memory_order_acquire) <= head)
        return 0;
    pop(c, head, m);
    return 1;
}

bool tide_chan_ready(tide_chan *c)
{
    if (is_aborted(c))
        return true;
    uint64_t head = atomic_load_explicit(&c->head, memory_order_relaxed);
    return peek_state(c, head) != TIDE_EAGAIN;
}

uint32_t tide_chan_capacity(const tide_chan *c) { return c->cap; }

bool tide_chan_full(tide_chan *c)
{
    uint64_t head = atomic_load_explicit(&c->head, memory_order_relaxed);
    uint64_t tail = atomic_load_explicit(&c->tail, memory_order_acquire);
    return tail - head >= c->cap;
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int tide_chan_recv(tide_chan *c, tide_chan_msg *m, int64_t timeout_ns)
{
    uint64_t head = atomic_load_explicit(&c->head, memory_order_relaxed);
    int64_t deadline = -1;
    for (int spin = 0;; spin++) {
        if (is_aborted(c))
            return TIDE_EFAILED;
        int st = peek_state(c, head);
        if (st == 1) {
            pop(c, head, m);
            return 1;
        }
        if (st == 0)
            return 0;
        if (spin < 64)
            continue;
        int64_t left = -1;
        if (timeout_ns >= 0) {
            int64_t now = mono_ns();
            if (deadline < 0)
                deadline = now + timeout_ns;
            left = deadline - now;
            if (left <= 0)
                return TIDE_EAGAIN;
        }
        uint32_t key = tide_chan_signal_prepare(c->cons_sig);
        if (peek_state(c, head) == TIDE_EAGAIN && !is_aborted(c)) {
            atomic_fetch_add_explicit(&c->recv_waits, 1, memory_order_relaxed);
            tide_chan_signal_wait(c->cons_sig, key, left);
        }
        tide_chan_signal_cancel(c->cons_sig);
    }
}

void tide_chan_stats_get(const tide_chan *c, tide_chan_stats *out)
{
    tide_chan *mc = (tide_chan *)c; /* atomics are read-only here */
    /* A consistent (head, tail) pair: head did not move while tail was read.
     * Falls back to reading tail first (an under-estimate of len). */
    uint64_t head = 0, tail = 0;
    for (int tries = 0;; tries++) {
        uint64_t h1 = atomic_load_explicit(&mc->head, memory_order_acquire);
        tail = atomic_load_explicit(&mc->tail, memory_order_acquire);
        head = atomic_load_explicit(&mc->head, memory_order_acquire);
        if (h1 == head)
            break;
        if (tries == 16) {
            tail = atomic_load_explicit(&mc->tail, memory_order_acquire);
            head = atomic_load_explicit(&mc->head, memory_order_acquire);
            break;
        }
    }
    memset(out, 0, sizeof *out);
    out->capacity = c->cap;
    out->len = tail > head ? (uint32_t)(tail - head) : 0;
    out->max_len = atomic_load_explicit(&mc->max_len, memory_order_relaxed);
    out->sent = tail;
    out->received = head;
    out->rows_queued = atomic_load_explicit(&mc->rows_queued, memory_order_relaxed);
    out->max_rows_queued = atomic_load_explicit(&mc->max_rows, memory_order_relaxed);
    out->send_waits = atomic_load_explicit(&mc->send_waits, memory_order_relaxed);
    out->recv_waits = atomic_load_explicit(&mc->recv_waits, memory_order_relaxed);
}
