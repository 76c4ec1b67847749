/*
 * groupagg.c - unwindowed keyed aggregation (see groupagg.h).
 *
 * Design.  One state/table.h table (byte keys) maps a key to a fixed-size
 * value: a header (count of live input rows, flags), the previously emitted
 * result (one tide_value per aggregate, by value; a STRING result of
 * MIN/MAX, which borrows its aggregate's state, as a copy in the header's
 * own buffer, freed when the key is deleted) and the aggregates' state
 * slots packed back to back.  A record
 * is one table lookup, one step/retract per aggregate, and (per-record
 * mode) one result computation compared with the previous result.
 *
 * When a key's live count drops to 0 its slots are reset (tide_agg_free
 * re-initialises them), so a key that comes back starts from a fresh state
 * (a DOUBLE sum does not keep the rounding residue of its retractions); in
 * per-record mode the key is deleted right away, in mini-batch mode at the
 * flush (unless rows came back by then).
 *
 * Mini-batch mode marks a changed key dirty and copies its bytes once into
 * a growable byte buffer (`dbuf`, entries in `dents`); the flush sorts the
 * entries by key bytes and settles each key exactly like per-record mode
 * settles after a record, so both modes agree on the result and differ only
 * in the number of rows.
 */
#include "exec/groupagg.h"
#include "base/buf.h"

#include "state/table.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

enum {
    F_EMITTED = 1, /* a row of this key is live downstream (prev holds it) */
    F_DIRTY = 2,   /* mini-batch: changed since the last flush */
};

typedef struct ga_head {
    int64_t live; /* live input rows */
    uint32_t flags;
    uint32_t pad;
    char *pstr;    /* the bytes of the previous STRING results (has_str), malloc'd */
    size_t pcap;
} ga_head;

typedef struct ga_dent {
    uint64_t k0; /* the key's first 8 bytes, zero-padded, big-endian: sorts first */
    size_t off;  /* key bytes in dbuf */
    const unsigned char *p; /* filled at flush */
    uint32_t len;
} ga_dent;

struct tide_groupagg {
    tide_groupagg_config cfg;
    tide_groupagg_call *calls;
    tide_agg *agg;
    size_t *agg_off; /* offset of each slot in the table value */
    size_t n_aggs;
    size_t prev_off; /* offset of the previous results */
    bool any_free;   /* some aggregate holds out-of-line state, or has_str */
    bool has_str;    /* some result is a STRING (MIN/MAX): prev copies kept in pstr */
    int failed;
    uint64_t ignored;
    tide_table *t;
    _Atomic(tide_table *) spare; /* a frozen copy written and given back: reused by the next freeze */
    tide_value *out; /* scratch results, n_aggs */

    unsigned char *dbuf;
    size_t dbuf_len, dbuf_cap;
    ga_dent *dents;
    size_t n_dents, dents_cap;
};

#define HEAD(v) ((ga_head *)(v))
#define PREV(op, v) ((tide_value *)(void *)((unsigned char *)(v) + (op)->prev_off))
#define SLOT(op, v, i) ((void *)((unsigned char *)(v) + (op)->agg_off[i]))

static const tide_value null_value = {.type = TIDE_TYPE_NULL, .is_null = true};

static const char *rc_what(int rc)
{
    switch (rc) {
    case TIDE_ENOMEM: return "out of memory";
    case TIDE_ERANGE: return "SUM(BIGINT) overflow";
    case TIDE_EINVAL: return "input value of the wrong type";
    default: return "emit callback failed";
    }
}

/* Enter the failed state with `rc`.  `e` keeps a more precise message when
 * one was already set. */
static int fail(tide_groupagg *op, tide_err *e, int rc)
{
    if (!op->failed)
        op->failed = rc;
    return tide_err_set(e, rc, "group aggregate: %s", rc_what(rc));
}

static int failed_state(const tide_groupagg *op, tide_err *e)
{
    return tide_err_set(e, op->failed, "group aggregate: in a failed state (%s)",
                        rc_what(op->failed));
}


/* ---- per-key state ------------------------------------------------------ */

static void slots_init(tide_groupagg *op, void *v)
{
    tide_agg_slots_init(op->agg, op->agg_off, op->n_aggs, v);
}

/* Release what a key's value owns before the key is deleted. */
static void value_drop(tide_groupagg *op, void *v);

static void slots_free(tide_groupagg *op, void *v)
{
    if (!op->any_free)
        return;
    for (size_t i = 0; i < op->n_aggs; i++)
        if (op->agg[i].has_free)
            tide_agg_free(&op->agg[i], SLOT(op, v, i));
}

static bool is_int(tide_type t)
{
    return t == TIDE_TYPE_BIGINT || t == TIDE_TYPE_TIMESTAMP;
}

static int slot_apply(tide_groupagg *op, size_t i, void *slot, bool add, const tide_value *in,
                      tide_err *e)
{
    const tide_agg *g = &op->agg[i];
    const tide_groupagg_call *c = &op->calls[i];
    const tide_value *v = c->kind == TIDE_AGG_COUNT_STAR ? &null_value : &in[c->arg];
    if (c->kind == TIDE_AGG_COUNT_STAR)
        return add ? tide_agg_step(g, slot, v, e) : tide_agg_retract(g, slot, v, e);
    if (!v->is_null && is_int(v->type) && is_int(g->in_type))
        return add ? tide_agg_step_i64(g, slot, v->u.i64, e)
                   : tide_agg_retract_i64(g, slot, v->u.i64, e);
    if (!v->is_null && v->type == TIDE_TYPE_DOUBLE && g->in_type == TIDE_TYPE_DOUBLE)
        return add ? tide_agg_step_f64(g, slot, v->u.f64, e)
                   : tide_agg_retract_f64(g, slot, v->u.f64, e);
    return add ? tide_agg_step(g, slot, v, e) : tide_agg_retract(g, slot, v, e);
}

static int emit(tide_groupagg *op, tide_op c, const void *key, uint32_t klen,
                const tide_value *vals)
{
    tide_groupagg_row row = {c, key, klen, vals, op->n_aggs};
    return op->cfg.emit(op->cfg.ctx, &row);
}

static void value_drop(tide_groupagg *op, void *v)
{
    slots_free(op, v);
    if (op->has_str) {
        free(HEAD(v)->pstr);
        HEAD(v)->pstr = NULL;
        HEAD(v)->pcap = 0;
    }
}

/* Keep src[0..n_aggs) as the key's previous results, STRING bytes copied
 * into the header's buffer.  0 or TIDE_ENOMEM (unchanged). */
static int prev_store(tide_groupagg *op, void *v, const tide_value *src)
{
    return tide_agg_results_keep(PREV(op, v), src, op->n_aggs,
                                 op->has_str ? &HEAD(v)->pstr : NULL,
                                 op->has_str ? &HEAD(v)->pcap : NULL);
}

/* Emit what the key's change since its last emission calls for, and delete
 * the key when it holds no live row.  `v` is the key's table value. */
static int settle(tide_groupagg *op, const void *key, uint32_t klen, void *v, tide_err *e)
{
    ga_head *h = HEAD(v);
    tide_value *prev = PREV(op, v);
    int rc = 0;
    if (h->live == 0) {
        if (h->flags & F_EMITTED)
            rc = emit(op, TIDE_OP_DELETE, key, klen, prev);
        value_drop(op, v);
        tide_table_delete(op->t, key, klen);
        return rc ? fail(op, e, rc) : 0;
    }
    if ((rc = tide_agg_slots_result(op->agg, op->agg_off, op->n_aggs, v, op->out, e)))
        return fail(op, e, rc);
    if (h->flags & F_EMITTED) {
        if (tide_agg_results_same(prev, op->out, op->n_aggs))
            return 0;
        if ((rc = emit(op, TIDE_OP_UPDATE_BEFORE, key, klen, prev)) ||
            (rc = emit(op, TIDE_OP_UPDATE_AFTER, key, klen, op->out)))
            return fail(op, e, rc);
    } else if ((rc = emit(op, TIDE_OP_INSERT, key, klen, op->out))) {
        return fail(op, e, rc);
    }
    if ((rc = prev_store(op, v, op->out)))
        return fail(op, e, tide_err_set(e, rc, "group aggregate: out of memory"));
    h->flags |= F_EMITTED;
    return 0;
}

static int mark_dirty(tide_groupagg *op, const void *key, uint32_t klen, void *v, tide_err *e)
{
    ga_head *h = HEAD(v);
    if (h->flags & F_DIRTY)
        return 0;
    /* + 1: never NULL, so `dbuf + off` is defined for empty keys too */
    if (tide_array_grow((void **)&op->dbuf, &op->dbuf_cap, op->dbuf_len + klen + 1, 1) ||
        tide_array_grow((void **)&op->dents, &op->dents_cap, op->n_dents + 1, sizeof *op->dents))
        return fail(op, e, TIDE_ENOMEM);
    if (klen)
        memcpy(op->dbuf + op->dbuf_len, key, klen);
    uint64_t k0 = 0;
    const unsigned char *kb = key;
    for (uint32_t i = 0; i < 8; i++)
        k0 = k0 << 8 | (i < klen ? kb[i] : 0);
    op->dents[op->n_dents++] = (ga_dent){k0, op->dbuf_len, NULL, klen};
    op->dbuf_len += klen;
    h->flags |= F_DIRTY;
    return 0;
}

static int push_one(tide_groupagg *op, const void *key, uint32_t klen, tide_op change,
                    const tide_value *in, tide_err *e)
{
    int rc;
    void *v;
    if ((int)change < 0 || change > TIDE_OP_DELETE)
        return tide_err_set(e, TIDE_EINVAL, "group aggregate: bad change op %d", (int)change);
    bool add = change == TIDE_OP_INSERT || change == TIDE_OP_UPDATE_AFTER;
    if (add) {
        bool is_new;
        if ((rc = tide_table_upsert(op->t, key, klen, &v, &is_new, e)))
            return rc == TIDE_ENOMEM ? fail(op, e, rc) : rc;
        if (is_new)
            slots_init(op, v);
    } else {
        if (!op->cfg.retractions)
            return tide_err_set(e, TIDE_EUNSUPPORTED,
                                "group aggregate: %s record but the input is insert-only",
                                tide_op_name(change));
        v = tide_table_find(op->t, key, klen);
        if (!v || HEAD(v)->live <= 0) {
            op->ignored++;
            return 0;
        }
    }
    for (size_t i = 0; i < op->n_aggs; i++)
        if ((rc = slot_apply(op, i, SLOT(op, v, i), add, in, e)))
            return fail(op, e, rc);
    if (add) {
        HEAD(v)->live++;
    } else if (--HEAD(v)->live == 0) {
        slots_free(op, v); /* (nothing to free in most configs: any_free) */
        slots_init(op, v);
    }
    if (op->cfg.mini_batch)
        return mark_dirty(op, key, klen, v, e);
    return settle(op, key, klen, v, e);
}

/* ---- API ---------------------------------------------------------------- */

int tide_groupagg_create(const tide_groupagg_config *cfg, tide_groupagg **out, tide_err *e)
{
    *out = NULL;
    if (!cfg->emit || !cfg->aggs || !cfg->n_aggs || cfg->n_aggs > 4096)
        return tide_err_set(e, TIDE_EINVAL,
                            "group aggregate: bad config (emit callback, aggregates)");
    int rc = TIDE_ENOMEM;
    tide_groupagg *op = calloc(1, sizeof *op);
    if (!op)
        goto nomem;
    op->cfg = *cfg;
    op->n_aggs = cfg->n_aggs;
    op->calls = malloc(cfg->n_aggs * sizeof *op->calls);
    op->agg = calloc(cfg->n_aggs, sizeof *op->agg);
    op->agg_off = malloc(cfg->n_aggs * sizeof *op->agg_off);
    op->out = calloc(cfg->n_aggs, sizeof *op->out);
    if (!op->calls || !op->agg || !op->agg_off || !op->out)
        goto nomem;
    memcpy(op->calls, cfg->aggs, cfg->n_aggs * sizeof *op->calls);
    op->cfg.aggs = op->calls;
    op->has_str = op->any_free = tide_agg_calls_borrow(op->calls, op->n_aggs);
    op->prev_off = sizeof(ga_head);
    size_t off = op->prev_off + cfg->n_aggs * sizeof(tide_value);
    off = (off + 7) & ~(size_t)7;
    for (size_t i = 0; i < cfg->n_aggs; i++) {
        const tide_groupagg_call *c = &cfg->aggs[i];
        if (c->kind != TIDE_AGG_COUNT_STAR && c->arg >= cfg->n_inputs) {
            rc = tide_err_set(e, TIDE_EINVAL,
                              "group aggregate: aggregate %zu (%s): argument %u out of %zu inputs",
                              i, tide_agg_kind_name(c->kind), c->arg, cfg->n_inputs);
            goto fail;
        }
        if ((rc = tide_agg_bind_kind(&op->agg[i], c->kind, c->type,
                                     cfg->retractions ? TIDE_AGG_RETRACTABLE : 0, e)))
            goto fail;
        if (cfg->retractions && !op->agg[i].invertible) {
            rc = tide_err_set(e, TIDE_EUNSUPPORTED,
                              "group aggregate: aggregate %zu: %s cannot retract, but the input "
                              "is a changelog (-U/-D records)",
                              i, op->agg[i].name);
            goto fail;
        }
        op->any_free |= op->agg[i].has_free;
        op->agg_off[i] = off;
        off += op->agg[i].state_size;
    }
    if ((rc = tide_table_create(&op->t, TIDE_TABLE_KEY_BYTES, off, cfg->capacity_hint, e)))
        goto fail;
    *out = op;
    return 0;
nomem:
    rc = tide_err_set(e, TIDE_ENOMEM, "group aggregate: out of memory at create");
fail:
    tide_groupagg_free(op);
    return rc;
}

void tide_groupagg_free(tide_groupagg *op)
{
    if (!op)
        return;
    if (op->t && op->any_free) {
        tide_table_iter it = {0};
        tide_table_entry ent;
        while (tide_table_next(op->t, &it, &ent))
            value_drop(op, ent.value);
    }
    tide_table_free(op->t);
    tide_table_free(atomic_load(&op->spare));
    free(op->calls);
    free(op->agg);
    free(op->agg_off);
    free(op->out);
    free(op->dbuf);
    free(op->dents);
    free(op);
}

int tide_groupagg_push(tide_groupagg *op, const void *key, uint32_t key_len, tide_op change,
                       const tide_value *in, tide_err *e)
{
    if (op->failed)
        return failed_state(op, e);
    return push_one(op, key, key_len, change, in, e);
}

#define PREFETCH_AHEAD 8

int tide_groupagg_push_batch(tide_groupagg *op, size_t n, const void *const *keys,
                             const uint32_t *key_lens, const tide_op *changes,
                             const tide_value *in, tide_err *e)
{
    if (op->failed)
        return failed_state(op, e);
    size_t ni = op->cfg.n_inputs;
    for (size_t i = 0; i < n && i < PREFETCH_AHEAD; i++)
        tide_table_prefetch(op->t, keys[i], key_lens[i]);
    for (size_t i = 0; i < n; i++) {
        if (i + PREFETCH_AHEAD < n)
            tide_table_prefetch(op->t, keys[i + PREFETCH_AHEAD], key_lens[i + PREFETCH_AHEAD]);
        int rc = push_one(op, keys[i], key_lens[i], changes ? changes[i] : TIDE_OP_INSERT,
                          ni ? in + i * ni : NULL, e);
        if (rc)
            return rc;
    }
    return 0;
}

static int dent_cmp(const void *a, const void *b)
{
    const ga_dent *x = a, *y = b;
    if (x->k0 != y->k0)
        return x->k0 < y->k0 ? -1 : 1;
    uint32_t m = x->len < y->len ? x->len : y->len;
    int c = m ? memcmp(x->p, y->p, m) : 0;
    if (c)
        return c;
    return (x->len > y->len) - (x->len < y->len);
}

int tide_groupagg_flush(tide_groupagg *op, tide_err *e)
{
    if (op->failed)
        return failed_state(op, e);
    if (!op->cfg.mini_batch || !op->n_dents)
        return 0;
    for (size_t i = 0; i < op->n_dents; i++)
        op->dents[i].p = op->dbuf + op->dents[i].off;
    qsort(op->dents, op->n_dents, sizeof *op->dents, dent_cmp);
    int rc = 0;
    for (size_t i = 0; i < op->n_dents && i < PREFETCH_AHEAD; i++)
        tide_table_prefetch(op->t, op->dents[i].p, op->dents[i].len);
    for (size_t i = 0; i < op->n_dents && !rc; i++) {
        if (i + PREFETCH_AHEAD < op->n_dents)
            tide_table_prefetch(op->t, op->dents[i + PREFETCH_AHEAD].p,
                                op->dents[i + PREFETCH_AHEAD].len);
        const ga_dent *d = &op->dents[i];
        void *v = tide_table_find(op->t, d->p, d->len);
        if (!v)
            continue; /* cannot happen: dirty keys stay until their flush */
        HEAD(v)->flags &= ~(uint32_t)F_DIRTY;
        rc = settle(op, d->p, d->len, v, e);
    }
    op->n_dents = 0;
    op->dbuf_len = 0;
    return rc;
}

size_t tide_groupagg_keys(const tide_groupagg *op)
{
    return tide_table_count(op->t);
}

size_t tide_groupagg_pending(const tide_groupagg *op)
{
    return op->n_dents;
}

uint64_t tide_groupagg_ignored(const tide_groupagg *op)
{
    return op->ignored;
}

/* ---- snapshot / restore --------------------------------------------------
 *
 * A snapshot holds the config fingerprint, the ignored count and every
 * key's entry in key-byte order (not the table's slot order, which depends
 * on its history): live rows, whether a row is live downstream and its
 * values, whether the key changed since the last flush, the aggregate
 * states.  Restore inserts the keys and queues the changed ones again (the
 * flush sorts them, so their order is not state). */

#define GA_SNAP_KIND "groupagg"
#define GA_SNAP_VERSION 1

static void ga_snap_put_config(const tide_groupagg *op, tide_snap_w *w)
{
    tide_snap_put_varint(w, op->n_aggs);
    for (size_t i = 0; i < op->n_aggs; i++)
        tide_agg_call_snap_put(&op->calls[i], w);
    tide_snap_put_varint(w, op->cfg.n_inputs);
    tide_snap_put_bool(w, op->cfg.retractions);
    tide_snap_put_bool(w, op->cfg.mini_batch);
}

static int ga_snap_differs(tide_err *e, const char *what, long long snap, long long here)
{
    return tide_err_set(e, TIDE_EINVAL,
                        "group aggregate: the snapshot is of another config: %s %lld in the "
                        "snapshot, %lld here",
                        what, snap, here);
}

static int ga_snap_check_config(const tide_groupagg *op, tide_snap_r *r, tide_err *e)
{
    uint64_t n_aggs = tide_snap_get_varint(r);
    if (tide_snap_failed(r))
        return tide_snap_close(r, e);
    if (n_aggs != op->n_aggs)
        return ga_snap_differs(e, "aggregate count", (long long)n_aggs, (long long)op->n_aggs);
    int rc;
    for (size_t i = 0; i < op->n_aggs; i++)
        if ((rc = tide_agg_call_snap_check(&op->calls[i], i, "group aggregate", r, e)))
            return rc;
    uint64_t n_inputs = tide_snap_get_varint(r);
    bool retractions = tide_snap_get_bool(r), mini_batch = tide_snap_get_bool(r);
    if (tide_snap_failed(r))
        return tide_snap_close(r, e);
    if (n_inputs != op->cfg.n_inputs)
        return ga_snap_differs(e, "input count", (long long)n_inputs, (long long)op->cfg.n_inputs);
    if (retractions != op->cfg.retractions)
        return ga_snap_differs(e, "retractions", retractions, op->cfg.retractions);
    if (mini_batch != op->cfg.mini_batch)
        return ga_snap_differs(e, "mini-batch", mini_batch, op->cfg.mini_batch);
    return 0;
}

/* The section of op's configuration with state (ignored, t): op's own, or
 * a frozen copy of them. */
static int ga_snap_write(const tide_groupagg *op, uint64_t ignored, const tide_table *t, tide_buf *out,
                         tide_err *e)
{
    size_t n = tide_table_count(t);
    tide_table_entry *ents = NULL;
    if (n && !(ents = malloc(n * sizeof *ents)))
        return tide_err_set(e, TIDE_ENOMEM, "group aggregate: snapshot: out of memory");
    if (n)
        tide_table_sorted(t, ents);
    tide_snap_w w;
    tide_snap_begin(&w, out, GA_SNAP_KIND, GA_SNAP_VERSION);
    ga_snap_put_config(op, &w);
    tide_snap_put_u64(&w, ignored);
    tide_snap_put_varint(&w, n);
    for (size_t k = 0; k < n; k++) {
        const unsigned char *v = ents[k].value;
        const ga_head *h = (const ga_head *)(const void *)v;
        const tide_value *prev = (const tide_value *)(const void *)(v + op->prev_off);
        uint32_t flags = h->flags & (F_EMITTED | F_DIRTY);
        tide_snap_put_bytes(&w, ents[k].key, ents[k].klen);
        tide_snap_put_i64(&w, h->live);
        tide_snap_put_u8(&w, (uint8_t)flags);
        if (flags & F_EMITTED)
            tide_agg_results_snap_put(prev, op->n_aggs, &w);
        for (size_t i = 0; i < op->n_aggs; i++)
            tide_agg_snap_put(&op->agg[i], v + op->agg_off[i], &w);
    }
    free(ents);
    return tide_snap_end(&w, e);
}

int tide_groupagg_snapshot(const tide_groupagg *op, tide_buf *out, tide_err *e)
{
    if (op->failed)
        return tide_err_set(e, TIDE_EFAILED, "group aggregate: no snapshot of a failed operator (%s)",
                            rc_what(op->failed));
    return ga_snap_write(op, op->ignored, op->t, out, e);
}

struct tide_groupagg_frozen {
    tide_groupagg *op; /* its configuration, and its spare table to give the copy back to */
    uint64_t ignored;
    tide_table *t; /* a copy */
};

int tide_groupagg_freeze(tide_groupagg *op, tide_groupagg_frozen **out, tide_err *e)
{
    *out = NULL;
    if (op->failed)
        return tide_err_set(e, TIDE_EFAILED, "group aggregate: no snapshot of a failed operator (%s)",
                            rc_what(op->failed));
    if (op->any_free)
        return 0; /* values point at state the operator goes on changing */
    tide_groupagg_frozen *fz = calloc(1, sizeof *fz);
    if (!fz)
        return tide_err_set(e, TIDE_ENOMEM, "group aggregate: snapshot: out of memory");
    fz->t = atomic_exchange(&op->spare, NULL);
    int rc = tide_table_copy(&fz->t, op->t, e);
    if (rc) {
        free(fz);
        return rc;
    }
    fz->op = op;
    fz->ignored = op->ignored;
    *out = fz;
    return 0;
}

int tide_groupagg_frozen_write(const tide_groupagg_frozen *fz, tide_buf *out, tide_err *e)
{
    return ga_snap_write(fz->op, fz->ignored, fz->t, out, e);
}

void tide_groupagg_frozen_free(tide_groupagg_frozen *fz)
{
    if (!fz)
        return;
    tide_table_free(atomic_exchange(&fz->op->spare, fz->t));
    free(fz);
}

/* Back to the state of a freshly created operator (a failed restore). */
static void ga_snap_reset(tide_groupagg *op)
{
    if (op->any_free) {
        tide_table_iter it = {0};
        tide_table_entry ent;
        while (tide_table_next(op->t, &it, &ent))
            value_drop(op, ent.value);
    }
    tide_table_clear(op->t);
    op->n_dents = 0;
    op->dbuf_len = 0;
    op->ignored = 0;
    op->failed = 0;
}

int tide_groupagg_restore(tide_groupagg *op, const void *buf, size_t len, tide_err *e)
{
    if (op->failed || tide_table_count(op->t) || op->ignored || op->n_dents)
        return tide_err_set(e, TIDE_EINVAL,
                            "group aggregate: restore needs a freshly created operator");
    tide_snap_r r;
    int rc = tide_snap_open(&r, buf, len, GA_SNAP_KIND, GA_SNAP_VERSION, NULL, e);
    if (rc)
        return rc;
    if ((rc = ga_snap_check_config(op, &r, e)))
        return rc;
    /* From here on the operator changes; any failure resets it. */
    op->ignored = tide_snap_get_u64(&r);
    uint64_t n = tide_snap_get_varint(&r);
    if (n > tide_snap_remaining(&r))
        tide_snap_fail(&r);
    else /* room for every key at once: no rehash while they are inserted */
        rc = tide_table_reserve(op->t, (size_t)n, e);
    for (uint64_t k = 0; k < n && !rc && !tide_snap_failed(&r); k++) {
        size_t klen;
        const void *key = tide_snap_get_bytes(&r, &klen);
        int64_t live = tide_snap_get_i64(&r);
        uint32_t flags = tide_snap_get_u8(&r);
        /* a key without live rows is kept only until its flush */
        if (klen > UINT32_MAX || live < 0 || (flags & ~(uint32_t)(F_EMITTED | F_DIRTY)) ||
            (live == 0 && !(flags & F_DIRTY)) || ((flags & F_DIRTY) && !op->cfg.mini_batch))
            tide_snap_fail(&r);
        if (tide_snap_failed(&r))
            break;
        if (!key)
            key = "";
        void *v;
        bool is_new;
        if ((rc = tide_table_upsert(op->t, key, klen, &v, &is_new, e)))
            break;
        if (!is_new) { /* the same key twice */
            tide_snap_fail(&r);
            break;
        }
        slots_init(op, v);
        HEAD(v)->live = live;
        HEAD(v)->flags = flags & F_EMITTED;
        if (flags & F_EMITTED) {
            tide_agg_results_snap_get(op->agg, op->n_aggs, &r, op->out); /* borrowed, so */
            if ((rc = prev_store(op, v, op->out))) { /* copied into the key's buffer */
                rc = tide_err_set(e, rc, "group aggregate: restore: out of memory");
                break;
            }
        }
        for (size_t i = 0; i < op->n_aggs && !rc; i++)
            rc = tide_agg_snap_get(&op->agg[i], SLOT(op, v, i), &r, e);
        if (!rc && (flags & F_DIRTY))
            rc = mark_dirty(op, key, (uint32_t)klen, v, e);
    }
    if (!rc)
        rc = tide_snap_close(&r, e);
    if (rc)
        ga_snap_reset(op);
    return rc;
}
