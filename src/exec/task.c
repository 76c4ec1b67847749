/*
 * task.c - the per-task loop: inputs, watermark combining, barrier
 * alignment, END propagation, and the batching emitter.  See task.h for the
 * loop's contract; the comments here explain the how.
 */
#include "exec/task.h"

#include "data/types.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Messages read from one input before moving to the next (fairness). */
#define BURST 32
/* Messages read in one quantum, over all inputs (then the task yields). */
#define QUANTUM 64
/* Channel capacities of messages an input that is not read may queue in
 * the task (see the loop). */
#define ALIGN_QUEUE 2

/* A growable FIFO of messages: an input's alignment queue, an output's
 * backlog. */
typedef struct msgq {
    tide_chan_msg *m; /* a ring of cap entries */
    uint32_t head, len, cap;
} msgq;

/* Append; false on ENOMEM. */
static bool msgq_push(msgq *q, const tide_chan_msg *m)
{
    if (q->len == q->cap) {
        uint32_t cap = q->cap ? q->cap * 2 : 16;
        tide_chan_msg *n = malloc(cap * sizeof *n);
        if (!n)
            return false;
        for (uint32_t k = 0; k < q->len; k++)
            n[k] = q->m[(q->head + k) % q->cap];
        free(q->m);
        q->m = n;
        q->head = 0;
        q->cap = cap;
    }
    q->m[(q->head + q->len++) % q->cap] = *m;
    return true;
}

static tide_chan_msg *msgq_front(msgq *q) { return &q->m[q->head]; }

static void msgq_drop_front(msgq *q)
{
    q->head = (q->head + 1) % q->cap;
    q->len--;
}

/* Free the batches of the DATA messages still queued, and the ring. */
static void msgq_free(msgq *q, const tide_task_batch_type *bt)
{
    for (uint32_t k = 0; k < q->len; k++) {
        tide_chan_msg *m = &q->m[(q->head + k) % q->cap];
        if (m->kind == TIDE_CHAN_DATA && m->u.batch)
            bt->free(bt->ctx, m->u.batch);
    }
    free(q->m);
}

typedef struct out_chan {
    tide_chan *ch;
    tide_task_batch_type bt; /* the port's batch type */
    void *pending;    /* batch being filled, or NULL */
    uint32_t rows;    /* items in pending */
    int64_t first_ns; /* clock reading at pending's first item */
    /* Messages the channel had no room for, oldest first: sent before
     * anything else on this channel (task.h, "Backpressure"). */
    msgq bl;
} out_chan;

typedef struct out_port {
    out_chan *chans;
    uint32_t n;
    tide_task_key_fn key; /* NULL: forward (n == 1) */
    void *key_ctx;
} out_port;

typedef struct in_chan {
    tide_chan *ch;
    tide_task_batch_type bt; /* the producing port's batch type (to free batches) */
    int64_t wm;  /* highest watermark received on this input */
    bool ended;  /* END received or channel closed and drained */
    bool held;   /* delivered the barrier being aligned: not read until it completes */
    /* Messages taken off a full channel while the input was not being read
     * (ahead on watermarks, or held for a barrier), oldest first: read
     * before the channel. */
    msgq q;
    bool q_closed; /* the queue holds the input's END */
    uint32_t q_budget; /* messages queued without a stall (ALIGN_QUEUE capacities) */
} in_chan;

struct tide_task {
    char *name;
    const tide_task_op *op;
    void *state;
    tide_task_env *env;
    tide_chan_signal sig; /* inputs' consumer and outputs' producer signal; barrier requests */
    bool sig_ok;

    in_chan *in;
    uint32_t n_in;
    out_port *ports;
    uint32_t n_ports;

    uint32_t emit_tick; /* emits since the last clock check */
    uint32_t n_backlog; /* output channels with a backlog */
    uint32_t rr;        /* input read first in the next round */
    int64_t wm_out;     /* last watermark forwarded */
    int64_t wm_min;     /* min over the inputs' watermarks (sources: the last emitted) */
    int64_t wm_called;  /* last watermark passed to on_watermark */
    int64_t hold;       /* the operator's watermark hold (TIDE_TS_MAX: none) */
    uint32_t n_ended, n_held;
    int64_t align_id;   /* barrier being aligned (valid when n_held > 0) */
    _Atomic int64_t barrier_req; /* sources: highest barrier id requested */
    int64_t barrier_done;        /* sources: highest injected barrier emitted */
    bool finished;               /* END sent (maybe still in a backlog) */
    /* finished and drained (TASK_ENDED), or failed (TASK_FAILED): never run
     * again; set last, with release, so whoever reads it with acquire may
     * then use the operator state (tide_task_state_after) */
    _Atomic int done;
    _Atomic int64_t complete_req;  /* highest checkpoint id to complete */
    _Atomic int64_t complete_done; /* highest completed (on_complete called) */

    tide_err err;

    _Atomic uint64_t st_batches_in, st_batches_out, st_items, st_latency_flushes, st_idle_waits;
    _Atomic int64_t st_wm;
};

#define BUMP(field, n) atomic_fetch_add_explicit(&t->field, (n), memory_order_relaxed)

/* ---- building ---- */

int tide_task_create(tide_task **out, const char *name, const tide_task_op *op, void *state,
                     tide_task_env *env, tide_err *e)
{
    int rc = 0;
    *out = NULL;
    tide_task *t = calloc(1, sizeof *t);
    if (!t) {
        rc = tide_err_set(e, TIDE_ENOMEM, "task %s: out of memory", name);
        goto fail_state;
    }
    t->op = op;
    t->state = state;
    t->env = env;
    t->wm_out = TIDE_TS_MIN;
    t->wm_min = TIDE_TS_MIN;
    t->wm_called = TIDE_TS_MIN;
    t->hold = TIDE_TS_MAX;
    atomic_init(&t->barrier_req, 0);
    atomic_init(&t->done, 0);
    atomic_init(&t->complete_req, 0);
    atomic_init(&t->complete_done, 0);
    atomic_init(&t->st_wm, TIDE_TS_MIN);
    t->name = strdup(name ? name : (op->name ? op->name : "task"));
    if (!t->name) {
        rc = tide_err_set(e, TIDE_ENOMEM, "task %s: out of memory", name);
        goto fail;
    }
    if ((rc = tide_chan_signal_init(&t->sig, e)) != 0)
        goto fail;
    t->sig_ok = true;
    *out = t;
    return 0;
fail:
    tide_task_free(t);
    return rc;
fail_state:
    if (op->free && state)
        op->free(state);
    return rc;
}

void tide_task_free(tide_task *t)
{
    if (!t)
        return;
    for (uint32_t p = 0; p < t->n_ports; p++) {
        for (uint32_t i = 0; i < t->ports[p].n; i++) {
            out_chan *oc = &t->ports[p].chans[i];
            if (oc->pending)
                oc->bt.free(oc->bt.ctx, oc->pending);
            msgq_free(&oc->bl, &oc->bt);
        }
        free(t->ports[p].chans);
    }
    free(t->ports);
    for (uint32_t i = 0; i < t->n_in; i++) {
        in_chan *in = &t->in[i];
        msgq_free(&in->q, &in->bt);
    }
    free(t->in);
    if (t->sig_ok)
        tide_chan_signal_destroy(&t->sig);
    if (t->op->free && t->state)
        t->op->free(t->state);
    free(t->name);
    free(t);
}

int tide_task_add_input(tide_task *t, tide_chan *c, const tide_task_batch_type *bt, tide_err *e)
{
    if (t->op->on_poll)
        return tide_err_set(e, TIDE_EINVAL, "task %s: a source takes no inputs", t->name);
    in_chan *n = realloc(t->in, (t->n_in + 1) * sizeof *n);
    if (!n)
        return tide_err_set(e, TIDE_ENOMEM, "task %s: out of memory", t->name);
    t->in = n;
    t->in[t->n_in++] = (in_chan){.ch = c,
                                 .bt = bt ? *bt : t->env->batch,
                                 .wm = TIDE_TS_MIN,
                                 .q_budget = ALIGN_QUEUE * tide_chan_capacity(c)};
    tide_chan_set_consumer_signal(c, &t->sig);
    return 0;
}

int tide_task_add_output(tide_task *t, tide_chan *const *chans, uint32_t n, tide_task_key_fn key,
                         void *key_ctx, const tide_task_batch_type *bt, uint32_t *port, tide_err *e)
{
    if (n == 0 || (n > 1 && !key))
        return tide_err_set(e, TIDE_EINVAL, "task %s: output over %u channels needs a key", t->name, n);
    out_chan *oc = calloc(n, sizeof *oc);
    out_port *np = realloc(t->ports, (t->n_ports + 1) * sizeof *np);
    if (np)
        t->ports = np;
    if (!oc || !np) {
        free(oc);
        return tide_err_set(e, TIDE_ENOMEM, "task %s: out of memory", t->name);
    }
    for (uint32_t i = 0; i < n; i++) {
        oc[i].ch = chans[i];
        oc[i].bt = bt ? *bt : t->env->batch;
        tide_chan_set_producer_signal(chans[i], &t->sig);
    }
    t->ports[t->n_ports] = (out_port){.chans = oc, .n = n, .key = key, .key_ctx = key_ctx};
    if (port)
        *port = t->n_ports;
    t->n_ports++;
    return 0;
}

bool tide_task_is_source(const tide_task *t) { return t->op->on_poll != NULL; }
const char *tide_task_name(const tide_task *t) { return t->name; }
uint32_t tide_task_port_count(const tide_task_out *out) { return out->n_ports; }
uint32_t tide_task_input_count(const tide_task_out *out) { return out->n_in; }

void tide_task_wake(tide_task *t) { tide_chan_signal_notify(&t->sig); }

void tide_task_set_waker(tide_task *t, void (*fn)(void *ctx), void *ctx)
{
    tide_chan_signal_set_hook(&t->sig, fn, ctx);
}

void tide_task_request_barriers(tide_task *t, int64_t upto)
{
    int64_t cur = atomic_load_explicit(&t->barrier_req, memory_order_relaxed);
    while (cur < upto &&
           !atomic_compare_exchange_weak_explicit(&t->barrier_req, &cur, upto, memory_order_release,
                                                  memory_order_relaxed)) {
    }
    tide_task_wake(t);
}

void tide_task_skip_barriers(tide_task *t, int64_t upto)
{
    atomic_store_explicit(&t->barrier_req, upto, memory_order_relaxed);
    t->barrier_done = upto;
}

void tide_task_request_complete(tide_task *t, int64_t id)
{
    int64_t cur = atomic_load_explicit(&t->complete_req, memory_order_relaxed);
    while (cur < id && !atomic_compare_exchange_weak_explicit(&t->complete_req, &cur, id, memory_order_release,
                                                             memory_order_relaxed)) {
    }
    tide_task_wake(t);
}

int64_t tide_task_completed(const tide_task *t)
{
    return atomic_load_explicit(&((tide_task *)t)->complete_done, memory_order_acquire);
}

int tide_task_done_state(const tide_task *t)
{
    return atomic_load_explicit(&((tide_task *)t)->done, memory_order_acquire);
}

int tide_task_complete_after(tide_task *t, int64_t id, tide_err *e)
{
    if (tide_task_done_state(t) == 0)
        return tide_err_set(e, TIDE_EINVAL, "task %s: completing checkpoint %lld while it runs", t->name,
                            (long long)id);
    if (id <= atomic_load_explicit(&t->complete_done, memory_order_relaxed))
        return 0;
    int rc = t->op->on_complete ? t->op->on_complete(t->state, id, t, e) : 0;
    atomic_store_explicit(&t->complete_done, id, memory_order_release);
    return rc < 0 ? rc : 0;
}

void tide_task_stats_get(const tide_task *t, tide_task_stats *out)
{
    tide_task *m = (tide_task *)t; /* atomics only */
    out->batches_in = atomic_load_explicit(&m->st_batches_in, memory_order_relaxed);
    out->batches_out = atomic_load_explicit(&m->st_batches_out, memory_order_relaxed);
    out->items_emitted = atomic_load_explicit(&m->st_items, memory_order_relaxed);
    out->latency_flushes = atomic_load_explicit(&m->st_latency_flushes, memory_order_relaxed);
    out->idle_waits = atomic_load_explicit(&m->st_idle_waits, memory_order_relaxed);
    out->watermark = atomic_load_explicit(&m->st_wm, memory_order_relaxed);
}

/* ---- the emitter ---- */

static int64_t now_ns(const tide_task *t) { return tide_clock_mono_ns(t->env->clock); }

static int chan_failed(tide_task *t, tide_chan *ch, int rc)
{
    return tide_err_set(&t->err, TIDE_EFAILED, "task %s: channel %s: %s", t->name, tide_chan_name(ch),
                        rc == TIDE_EFAILED ? "graph stopped" : "send after close");
}

/* A message entered oc's channel. */
static void sent(tide_task *t, out_chan *oc, const tide_chan_msg *m)
{
    atomic_fetch_add_explicit(&t->env->progress, 1, memory_order_relaxed);
    if (m->kind == TIDE_CHAN_END)
        tide_chan_close(oc->ch);
}

/* Put `m` on oc's channel, or behind its backlog when the channel is full
 * or a backlog waits already: emitting never waits (task.h,
 * "Backpressure").  The backlog owns a DATA message's batch from then on;
 * on an error the caller still does. */
static int send_msg(tide_task *t, out_chan *oc, const tide_chan_msg *m)
{
    if (oc->bl.len == 0) {
        int rc = tide_chan_try_send(oc->ch, m);
        if (rc == 0) {
            sent(t, oc, m);
            return 0;
        }
        if (rc != TIDE_EAGAIN)
            return chan_failed(t, oc->ch, rc);
    }
    if (!msgq_push(&oc->bl, m))
        return tide_err_set(&t->err, TIDE_ENOMEM, "task %s: channel %s: out of memory for the backlog", t->name,
                            tide_chan_name(oc->ch));
    if (oc->bl.len == 1)
        t->n_backlog++;
    return 0;
}

/* Move backlogs into their channels while they have room. */
static int drain_backlogs(tide_task *t)
{
    for (uint32_t p = 0; p < t->n_ports && t->n_backlog; p++)
        for (uint32_t i = 0; i < t->ports[p].n; i++) {
            out_chan *oc = &t->ports[p].chans[i];
            if (!oc->bl.len)
                continue;
            while (oc->bl.len) {
                tide_chan_msg *m = msgq_front(&oc->bl);
                int rc = tide_chan_try_send(oc->ch, m);
                if (rc == TIDE_EAGAIN)
                    break;
                if (rc != 0)
                    return chan_failed(t, oc->ch, rc);
                sent(t, oc, m);
                msgq_drop_front(&oc->bl);
            }
            if (!oc->bl.len)
                t->n_backlog--;
        }
    return 0;
}

/* Some backlog could move now (a channel behind one has room). */
static bool backlog_room(tide_task *t)
{
    for (uint32_t p = 0; p < t->n_ports; p++)
        for (uint32_t i = 0; i < t->ports[p].n; i++)
            if (t->ports[p].chans[i].bl.len && !tide_chan_full(t->ports[p].chans[i].ch))
                return true;
    return false;
}

/* Send a channel's pending batch (if any). */
static int send_pending(tide_task *t, out_chan *oc)
{
    if (!oc->pending)
        return 0;
    tide_chan_msg m = {.kind = TIDE_CHAN_DATA, .rows = oc->rows, .u.batch = oc->pending};
    void *b = oc->pending;
    oc->pending = NULL;
    oc->rows = 0;
    int rc = send_msg(t, oc, &m);
    if (rc != 0) {
        oc->bt.free(oc->bt.ctx, b);
        return rc;
    }
    BUMP(st_batches_out, 1);
    return 0;
}

int tide_task_flush(tide_task_out *t)
{
    for (uint32_t p = 0; p < t->n_ports; p++)
        for (uint32_t i = 0; i < t->ports[p].n; i++) {
            int rc = send_pending(t, &t->ports[p].chans[i]);
            if (rc != 0)
                return rc;
        }
    return 0;
}

/* Send the batches whose latency bound has passed at `now`. */
static int flush_due(tide_task *t, int64_t now)
{
    for (uint32_t p = 0; p < t->n_ports; p++)
        for (uint32_t i = 0; i < t->ports[p].n; i++) {
            out_chan *oc = &t->ports[p].chans[i];
            if (oc->pending && now - oc->first_ns >= t->env->latency_ns) {
                BUMP(st_latency_flushes, 1); /* counted before the consumer can see it */
                int rc = send_pending(t, oc);
                if (rc != 0)
                    return rc;
            }
        }
    return 0;
}

/* The earliest flush deadline among pending batches, INT64_MAX if none. */
static int64_t next_deadline(const tide_task *t)
{
    int64_t d = INT64_MAX;
    for (uint32_t p = 0; p < t->n_ports; p++)
        for (uint32_t i = 0; i < t->ports[p].n; i++) {
            const out_chan *oc = &t->ports[p].chans[i];
            if (oc->pending && oc->first_ns + t->env->latency_ns < d)
                d = oc->first_ns + t->env->latency_ns;
        }
    return d;
}

/* Flush, then send `m` on every output channel (each closed once its END
 * entered it). */
static int broadcast(tide_task *t, const tide_chan_msg *m)
{
    int rc = tide_task_flush(t);
    if (rc != 0)
        return rc;
    for (uint32_t p = 0; p < t->n_ports; p++)
        for (uint32_t i = 0; i < t->ports[p].n; i++)
            if ((rc = send_msg(t, &t->ports[p].chans[i], m)) != 0)
                return rc;
    return 0;
}

int tide_task_emit(tide_task_out *t, uint32_t port, const void *item)
{
    if (port >= t->n_ports)
        return tide_err_set(&t->err, TIDE_EINVAL, "task %s: emit on port %u of %u", t->name, port,
                            t->n_ports);
    out_port *p = &t->ports[port];
    uint32_t idx = 0;
    if (p->n > 1) {
        uint64_t h = p->key(p->key_ctx, item);
        idx = (uint32_t)(((h >> 32) * (uint64_t)p->n) >> 32); /* high bits mapped to [0, n) */
    }
    out_chan *oc = &p->chans[idx];
    const tide_task_env *env = t->env;
    if (!oc->pending) {
        oc->pending = oc->bt.create(oc->bt.ctx, env->batch_rows);
        if (!oc->pending)
            return tide_err_set(&t->err, TIDE_ENOMEM, "task %s: out of memory for a batch", t->name);
        oc->first_ns = now_ns(t);
    }
    int rc = oc->bt.append(oc->bt.ctx, oc->pending, item);
    if (rc != 0)
        return tide_err_set(&t->err, rc, "task %s: appending to a batch: %s", t->name, tide_strerror(rc));
    oc->rows++;
    BUMP(st_items, 1);
    if (oc->rows >= env->batch_rows && (rc = send_pending(t, oc)) != 0)
        return rc;
    if (++t->emit_tick >= env->flush_check_every) {
        t->emit_tick = 0;
        return flush_due(t, now_ns(t));
    }
    return 0;
}

int tide_task_emit_batch(tide_task_out *t, uint32_t port, void *batch, uint32_t rows)
{
    int rc;
    if (port >= t->n_ports) {
        rc = tide_err_set(&t->err, TIDE_EINVAL, "task %s: emit on port %u of %u", t->name, port,
                          t->n_ports);
        goto fail;
    }
    if (t->ports[port].n != 1) {
        rc = tide_err_set(&t->err, TIDE_EUNSUPPORTED, "task %s: whole batch on exchange port %u",
                          t->name, port);
        goto fail;
    }
    out_chan *oc = &t->ports[port].chans[0];
    if ((rc = send_pending(t, oc)) != 0)
        goto fail;
    tide_chan_msg m = {.kind = TIDE_CHAN_DATA, .rows = rows, .u.batch = batch};
    if ((rc = send_msg(t, oc, &m)) != 0)
        goto fail;
    BUMP(st_batches_out, 1);
    BUMP(st_items, rows);
    return 0;
fail:
    if (port < t->n_ports)
        t->ports[port].chans[0].bt.free(t->ports[port].chans[0].bt.ctx, batch);
    else
        t->env->batch.free(t->env->batch.ctx, batch);
    return rc;
}

static int forward_watermark(tide_task *t, int64_t wm)
{
    if (wm > t->hold)
        wm = t->hold;
    if (wm <= t->wm_out)
        return 0;
    tide_chan_msg m = {.kind = TIDE_CHAN_WATERMARK, .u.watermark = wm};
    int rc = broadcast(t, &m);
    if (rc == 0) {
        t->wm_out = wm;
        atomic_store_explicit(&t->st_wm, wm, memory_order_relaxed);
    }
    return rc;
}

int tide_task_emit_watermark(tide_task_out *t, int64_t wm)
{
    if (wm > t->wm_min)
        t->wm_min = wm;
    return forward_watermark(t, wm);
}

void tide_task_hold_watermark(tide_task_out *t, int64_t hold) { t->hold = hold; }

int64_t tide_task_watermark_in(const tide_task_out *t) { return t->wm_min; }
int64_t tide_task_watermark_out(const tide_task_out *t) { return t->wm_out; }
int64_t tide_task_hold(const tide_task_out *t) { return t->hold; }

int64_t tide_task_input_watermark(const tide_task_out *t, uint32_t input)
{
    if (input >= t->n_in)
        return TIDE_TS_MIN;
    return t->in[input].ended ? TIDE_TS_MAX : t->in[input].wm;
}

int tide_task_resume_watermarks(tide_task *t, const int64_t *in_wm, uint32_t n, int64_t wm_in, int64_t wm_out,
                                int64_t hold, tide_err *e)
{
    if (n != t->n_in)
        return tide_err_set(e, TIDE_EINVAL, "task %s: %u input watermarks for %u inputs", t->name, n, t->n_in);
    for (uint32_t i = 0; i < n; i++)
        t->in[i].wm = in_wm[i];
    t->wm_min = wm_in;
    if (!t->op->on_poll)
        t->wm_called = wm_in; /* the operator has seen it (its snapshot holds it) */
    t->wm_out = wm_out;
    t->hold = hold;
    atomic_store_explicit(&t->st_wm, wm_out, memory_order_relaxed);
    return 0;
}

void *tide_task_pending(tide_task_out *t, uint32_t port, uint32_t chan, uint32_t *rows)
{
    if (port >= t->n_ports || chan >= t->ports[port].n)
        return NULL;
    out_chan *oc = &t->ports[port].chans[chan];
    if (!oc->pending) {
        oc->pending = oc->bt.create(oc->bt.ctx, t->env->batch_rows);
        if (!oc->pending) {
            tide_err_set(&t->err, TIDE_ENOMEM, "task %s: out of memory for a batch", t->name);
            return NULL;
        }
        oc->rows = 0;
        oc->first_ns = now_ns(t);
    }
    *rows = oc->rows;
    return oc->pending;
}

int tide_task_added(tide_task_out *t, uint32_t port, uint32_t chan, uint32_t n)
{
    out_chan *oc = &t->ports[port].chans[chan];
    oc->rows += n;
    BUMP(st_items, n);
    int rc;
    if (oc->rows >= t->env->batch_rows && (rc = send_pending(t, oc)) != 0)
        return rc;
    if (++t->emit_tick >= t->env->flush_check_every) {
        t->emit_tick = 0;
        return flush_due(t, now_ns(t));
    }
    return 0;
}

uint32_t tide_task_port_chans(const tide_task_out *t, uint32_t port)
{
    return port < t->n_ports ? t->ports[port].n : 0;
}

int tide_task_emit_barrier(tide_task_out *t, int64_t id)
{
    tide_chan_msg m = {.kind = TIDE_CHAN_BARRIER, .u.checkpoint = id};
    return broadcast(t, &m);
}

void tide_task_free_batch(tide_task_out *t, uint32_t input, void *batch)
{
    if (!batch)
        return;
    const tide_task_batch_type *bt = input < t->n_in ? &t->in[input].bt : &t->env->batch;
    bt->free(bt->ctx, batch);
}

void *tide_task_new_batch(tide_task_out *t, uint32_t port)
{
    if (port >= t->n_ports)
        return NULL;
    const tide_task_batch_type *bt = &t->ports[port].chans[0].bt;
    return bt->create(bt->ctx, t->env->batch_rows);
}

/* ---- the loop ---- */

/* A callback's failure: make sure t->err holds a message. */
static int op_failed(tide_task *t, int rc, const char *what)
{
    if (!tide_err_failed(&t->err))
        tide_err_set(&t->err, rc, "task %s: %s: %s", t->name, what, tide_strerror(rc));
    return t->err.code;
}

static int call_watermark(tide_task *t, int64_t wm)
{
    if (wm <= t->wm_called)
        return 0;
    t->wm_called = wm;
    if (t->op->on_watermark) {
        int rc = t->op->on_watermark(t->state, wm, t, &t->err);
        if (rc < 0)
            return op_failed(t, rc, "on_watermark");
    }
    return forward_watermark(t, wm);
}

/* Recompute min over inputs (ended = +infinity) and forward if it rose. */
static int advance_watermark(tide_task *t)
{
    int64_t m = TIDE_TS_MAX;
    for (uint32_t i = 0; i < t->n_in; i++)
        if (!t->in[i].ended && t->in[i].wm < m)
            m = t->in[i].wm;
    if (m > t->wm_min)
        t->wm_min = m;
    return call_watermark(t, m);
}

static int do_barrier(tide_task *t, int64_t id)
{
    if (t->op->on_barrier) {
        int rc = t->op->on_barrier(t->state, id, t, &t->err);
        if (rc < 0)
            return op_failed(t, rc, "on_barrier");
    }
    return tide_task_emit_barrier(t, id);
}

/* Every input that has not ended delivered the barrier: complete it. */
static int check_alignment(tide_task *t)
{
    if (t->n_held == 0 || t->n_held + t->n_ended < t->n_in)
        return 0;
    for (uint32_t i = 0; i < t->n_in; i++)
        t->in[i].held = false;
    t->n_held = 0;
    return do_barrier(t, t->align_id);
}

/* End of the task: on_watermark(+infinity) (not for sources), on_end, then
 * +infinity and END downstream, so whatever on_end emits precedes them. */
static int finish(tide_task *t)
{
    int rc;
    t->hold = TIDE_TS_MAX; /* nothing follows: release any hold */
    if (t->wm_called < TIDE_TS_MAX && t->op->on_watermark && !t->op->on_poll &&
        (rc = t->op->on_watermark(t->state, TIDE_TS_MAX, t, &t->err)) < 0)
        return op_failed(t, rc, "on_watermark");
    if (t->op->on_end && (rc = t->op->on_end(t->state, t, &t->err)) < 0)
        return op_failed(t, rc, "on_end");
    if ((rc = forward_watermark(t, TIDE_TS_MAX)) != 0)
        return rc;
    tide_chan_msg m = {.kind = TIDE_CHAN_END};
    if ((rc = broadcast(t, &m)) != 0)
        return rc;
    t->finished = true;
    return 0;
}

static int input_ended(tide_task *t, uint32_t i)
{
    int rc;
    t->in[i].ended = true;
    t->n_ended++;
    if (t->n_ended == t->n_in)
        return finish(t); /* its watermark step forwards +infinity first */
    if ((rc = advance_watermark(t)) != 0)
        return rc;
    return check_alignment(t);
}

static int handle(tide_task *t, uint32_t i, const tide_chan_msg *m)
{
    int rc;
    in_chan *in = &t->in[i];
    switch (m->kind) {
    case TIDE_CHAN_DATA:
        BUMP(st_batches_in, 1);
        if (!t->op->on_batch) {
            tide_task_free_batch(t, i, m->u.batch);
            return 0;
        }
        rc = t->op->on_batch(t->state, i, m->u.batch, m->rows, t, &t->err);
        if (rc < 0)
            return op_failed(t, rc, "on_batch");
        return forward_watermark(t, t->wm_called); /* the hold may have moved */
    case TIDE_CHAN_WATERMARK:
        if (m->u.watermark <= in->wm)
            return 0;
        in->wm = m->u.watermark;
        return advance_watermark(t);
    case TIDE_CHAN_BARRIER:
        if (t->n_in == 1)
            return do_barrier(t, m->u.checkpoint);
        if (t->n_held == 0)
            t->align_id = m->u.checkpoint;
        else if (m->u.checkpoint != t->align_id)
            return tide_err_set(&t->err, TIDE_EINVAL,
                                "task %s: barrier %lld on input %u while aligning barrier %lld", t->name,
                                (long long)m->u.checkpoint, i, (long long)t->align_id);
        in->held = true;
        t->n_held++;
        return check_alignment(t);
    case TIDE_CHAN_END:
        return input_ended(t, i);
    default:
        return tide_err_set(&t->err, TIDE_ECORRUPT, "task %s: unknown message kind %u on input %u",
                            t->name, m->kind, i);
    }
}

static bool stopping(const tide_task *t)
{
    return atomic_load_explicit(&t->env->stop, memory_order_acquire) != 0;
}

static int stopped(tide_task *t)
{
    return tide_err_set(&t->err, TIDE_EFAILED, "task %s: graph stopped", t->name);
}

/* Alignment (task.h): an input is read while it has not ended, is not
 * held for a barrier, and its watermark is the task's (not ahead of the
 * others); `override` reads inputs that are ahead too (see readable_now). */
static bool readable(const tide_task *t, const in_chan *in, bool override)
{
    return !in->ended && !in->held && (in->wm <= t->wm_min || override);
}

/* While a barrier is being aligned and every input still to deliver it is
 * ahead on watermarks, those are read anyway: otherwise neither the
 * barrier nor the watermark could move. */
static bool override_now(const tide_task *t)
{
    if (t->n_held == 0)
        return false;
    for (uint32_t i = 0; i < t->n_in; i++)
        if (readable(t, &t->in[i], false))
            return false;
    return true;
}

static bool has_msg(in_chan *in) { return in->q.len > 0 || tide_chan_ready(in->ch); }

static bool inputs_ready(tide_task *t)
{
    bool ov = override_now(t);
    for (uint32_t i = 0; i < t->n_in; i++) {
        in_chan *in = &t->in[i];
        if (readable(t, in, ov) && has_msg(in))
            return true;
    }
    return false;
}

/* The next message of input i: its queue first, then the channel.  1 (a
 * message), 0 (closed and drained), TIDE_EAGAIN, TIDE_EFAILED. */
static int next_msg(in_chan *in, tide_chan_msg *m)
{
    if (in->q.len) {
        *m = *msgq_front(&in->q);
        msgq_drop_front(&in->q);
        return m->kind == TIDE_CHAN_END && m->u.batch == NULL && m->rows == UINT32_MAX ? 0 : 1;
    }
    return tide_chan_try_recv(in->ch, m);
}

/* Take one message off a full channel of an input that is not being read
 * into its queue, so that its producer does not wait on this task. */
static int drain_full(tide_task *t, in_chan *in)
{
    if (in->q_closed)
        return 0;
    tide_chan_msg m;
    int rc = tide_chan_try_recv(in->ch, &m);
    if (rc == TIDE_EAGAIN)
        return 0;
    if (rc == TIDE_EFAILED)
        return stopped(t);
    if (rc == 0) /* closed and drained: remember the end in order */
        m = (tide_chan_msg){.kind = TIDE_CHAN_END, .rows = UINT32_MAX};
    if (!msgq_push(&in->q, &m)) {
        if (m.kind == TIDE_CHAN_DATA)
            in->bt.free(in->bt.ctx, m.u.batch);
        return tide_err_set(&t->err, TIDE_ENOMEM, "task %s: out of memory queueing an input", t->name);
    }
    if (m.kind == TIDE_CHAN_END)
        in->q_closed = true;
    return 1;
}

static bool barrier_requested(tide_task *t)
{
    return atomic_load_explicit(&t->barrier_req, memory_order_acquire) > t->barrier_done;
}

/* An input that is not read has a full channel: its producer waits on
 * this task (only the stall detector can let it on, beyond the budget). */
static bool unread_full(tide_task *t)
{
    bool ov = override_now(t);
    for (uint32_t i = 0; i < t->n_in; i++) {
        in_chan *in = &t->in[i];
        if (!readable(t, in, ov) && !in->ended && !in->q_closed && tide_chan_full(in->ch))
            return true;
    }
    return false;
}

/* Queue the messages of inputs that are not read and whose channel is
 * full: up to their budget (ALIGN_QUEUE capacities), or all of them when
 * `all` (the pool stalled on this task). */
static int drain_unread(tide_task *t, bool all)
{
    int rc = 0;
    bool ov = override_now(t);
    for (uint32_t i = 0; i < t->n_in; i++) {
        in_chan *in = &t->in[i];
        if (!readable(t, in, ov) && !in->ended && (all || in->q.len < in->q_budget) && tide_chan_full(in->ch)) {
            while ((all || in->q.len < in->q_budget) && (rc = drain_full(t, in)) > 0) {
            }
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

/* A quantum of a task with inputs: up to QUANTUM messages, round-robin
 * over the readable inputs (BURST each per round), until nothing is
 * readable, the task finished, or an output has a backlog. */
static int read_inputs(tide_task *t, bool stalled)
{
    int rc;
    if (t->n_in == 0) /* no inputs at all: ends at once */
        return finish(t);
    uint32_t handled = 0;
    while (!t->finished && !t->n_backlog && handled < QUANTUM) {
        bool any = false;
        for (uint32_t k = 0; k < t->n_in && !t->finished && !t->n_backlog; k++) {
            uint32_t i = (t->rr + k) % t->n_in;
            bool ov = override_now(t);
            for (int b = 0; b < BURST && readable(t, &t->in[i], ov) && !t->finished && !t->n_backlog; b++) {
                tide_chan_msg m;
                rc = next_msg(&t->in[i], &m);
                if (rc == TIDE_EAGAIN)
                    break;
                if (rc == TIDE_EFAILED)
                    return stopped(t);
                any = true;
                handled++;
                rc = rc == 0 ? input_ended(t, i) : handle(t, i, &m);
                if (rc != 0)
                    return rc;
                ov = override_now(t);
            }
        }
        t->rr++;
        if (!any)
            break;
    }
    /* An input that is not read and whose channel is full gets its
     * messages queued here, up to ALIGN_QUEUE channel capacities, so that
     * its producer goes on (an instance ahead of its peers by one step:
     * its output waits here, not in the producer); beyond that only when
     * the pool stalled with this task waiting on such an input (one
     * upstream feeding both inputs of a join, one side holding its
     * watermark back).  Under plain backpressure some task runs, so the
     * pool never stalls and the queues never grow past the budget. */
    if (!t->finished && (rc = drain_unread(t, stalled)) != 0)
        return rc;
    return 0;
}

/* A quantum of a source: the barriers requested so far, then one poll.
 * *idle: the poll had nothing (TIDE_EAGAIN). */
static int poll_once(tide_task *t, bool *idle)
{
    int rc;
    int64_t req = atomic_load_explicit(&t->barrier_req, memory_order_acquire);
    while (t->barrier_done < req)
        if ((rc = do_barrier(t, ++t->barrier_done)) != 0)
            return rc;
    if (t->n_backlog)
        return 0;
    rc = t->op->on_poll(t->state, t, &t->err);
    if (rc == 0)
        return finish(t);
    if (rc == TIDE_EAGAIN) {
        *idle = true;
        return 0;
    }
    return rc < 0 ? op_failed(t, rc, "on_poll") : 0;
}

static bool complete_requested(tide_task *t)
{
    return atomic_load_explicit(&t->complete_req, memory_order_acquire) >
           atomic_load_explicit(&t->complete_done, memory_order_relaxed);
}

/* Could a quantum do something now? */
static bool runnable(tide_task *t)
{
    if (stopping(t) || complete_requested(t))
        return true;
    if (t->n_backlog)
        return backlog_room(t);
    return t->op->on_poll ? barrier_requested(t) : inputs_ready(t);
}

/* The checkpoint completed (tide_task_request_complete): tell the
 * operator, on its own thread, between two messages. */
static int serve_complete(tide_task *t)
{
    int64_t id = atomic_load_explicit(&t->complete_req, memory_order_acquire);
    if (id <= atomic_load_explicit(&t->complete_done, memory_order_relaxed))
        return 0;
    if (t->op->on_complete) {
        int rc = t->op->on_complete(t->state, id, t, &t->err);
        if (rc < 0)
            return op_failed(t, rc, "on_complete");
    }
    atomic_store_explicit(&t->complete_done, id, memory_order_release);
    return 0;
}

/* The step failed: make the message name the task, report it once. */
static int failed(tide_task *t, int rc)
{
    if (!tide_err_failed(&t->err)) {
        tide_err_set(&t->err, rc, "task %s: %s", t->name, tide_strerror(rc));
    } else if (strncmp(t->err.msg, "task ", 5) != 0) {
        /* an operator's own message: say which task */
        char msg[TIDE_ERR_MSG_MAX];
        size_t n = (size_t)snprintf(msg, sizeof msg, "task %s: ", t->name);
        if (n < sizeof msg) {
            size_t room = sizeof msg - n - 1, len = strlen(t->err.msg);
            memcpy(msg + n, t->err.msg, len < room ? len : room);
            msg[n + (len < room ? len : room)] = '\0';
            memcpy(t->err.msg, msg, sizeof msg);
        }
    }
    atomic_store_explicit(&t->done, TIDE_TASK_FAILED, memory_order_release);
    if (t->env->fail)
        t->env->fail(t->env->fail_ctx, t, t->err.code, t->err.msg);
    return TIDE_SCHED_DONE;
}

int tide_task_step(tide_task *t, bool stalled, tide_sched_park *park)
{
    int rc;
    bool idle = false;
    tide_chan_signal_cancel(&t->sig); /* running: wakes are not needed until it parks */
    if (atomic_load_explicit(&t->done, memory_order_relaxed))
        return TIDE_SCHED_DONE;
    if (stopping(t))
        return failed(t, stopped(t));
    if ((rc = serve_complete(t)) != 0)
        return failed(t, rc);
    if (t->n_backlog && (rc = drain_backlogs(t)) != 0)
        return failed(t, rc);
    if (!t->n_backlog && !t->finished) {
        rc = t->op->on_poll ? poll_once(t, &idle) : read_inputs(t, stalled);
        if (rc != 0)
            return failed(t, rc);
    }
    if (t->finished) {
        if (!t->n_backlog) {
            atomic_store_explicit(&t->done, TIDE_TASK_ENDED, memory_order_release);
            return TIDE_SCHED_DONE;
        }
    } else if ((rc = flush_due(t, now_ns(t))) != 0) {
        return failed(t, rc);
    }
    if (!t->n_backlog && !idle && (t->op->on_poll || inputs_ready(t)))
        return TIDE_SCHED_YIELD;
    /* Park: waiting for room behind a backlog, for input, or (a source
     * with nothing now) for the next tick; and for the next flush
     * deadline.  Register on the signal first, then look again: a message
     * or room that came meanwhile makes the quantum yield instead. */
    tide_chan_signal_prepare(&t->sig);
    if (runnable(t)) {
        tide_chan_signal_cancel(&t->sig);
        return TIDE_SCHED_YIELD;
    }
    /* (after the prepare: a message that fills an input it does not read
     * either came before, and unread_full sees it, or wakes the task) */
    if (!t->n_backlog) {
        BUMP(st_idle_waits, 1);
        park->due = next_deadline(t);
        park->tick = idle;
        park->stall = !t->op->on_poll && unread_full(t);
    }
    return TIDE_SCHED_PARK;
}
