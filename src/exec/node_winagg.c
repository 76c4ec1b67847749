/*
 * node_winagg.c - the window aggregation node.  See node_winagg.h.
 *
 * A batch: the rows become push arrays (node_keyed), tide_winagg_push_batch
 * takes them; the rows the operator emits meanwhile (late and every-N
 * firings) are written into the output batch, and the records it reports
 * late are found again among the pushed ones (the operator reports them in
 * push order, with the key and time pushed) and emitted as their input
 * rows on port 1.  A watermark: tide_winagg_advance_watermark fires into
 * the output batch, which goes out before the callback returns.
 */
#include "exec/node_winagg.h"

#include "data/key.h"
#include "exec/node_keyed.h"
#include "exec/sessagg.h"

#include <stdlib.h>
#include <string.h>

typedef struct winagg_node {
    const tide_node_winagg_cfg *cfg;
    uint32_t idx;
    tide_winagg *op;
    tide_sessagg *sess; /* instead of op: sessions over a partition key (cfg.session_part) */
    uint32_t *plen;     /* sess: each pushed record's partition-key bytes */
    size_t plen_cap;
    tide_node_keyed k;
    tide_schema *out_schema; /* of port 0 (the instance's own copy) */
    tide_cbatch *out;
    tide_node_ctx *cx; /* during a callback */
    tide_err err;      /* a failure inside the operator's callbacks */
    /* late records of the batch being pushed */
    uint32_t late_cursor;
    uint32_t *late;
    size_t late_cap;
    uint32_t nlate;
    bool late_lost; /* a late record was not found among the pushed ones */
} winagg_node;

static int check(const tide_node_winagg_cfg *c, tide_err *e)
{
    if (!c->in || c->n_aggs == 0 || !c->aggs)
        return tide_err_set(e, TIDE_EINVAL, "winagg node: needs an input schema and aggregates");
    return tide_node_keyed_check_aggs(c->aggs, c->n_aggs, c->in, c->value_cols, c->n_values,
                                      "winagg node", e);
}

int tide_node_winagg_schema(const tide_node_winagg_cfg *c, uint32_t port, tide_schema **out, tide_err *e)
{
    *out = NULL;
    int rc = check(c, e);
    if (rc != 0)
        return rc;
    if (port == 1)
        return tide_schema_clone(c->in, out, e);
    if (port != 0)
        return tide_err_set(e, TIDE_EINVAL, "winagg node: no output %u", port);
    return tide_node_keyed_schema(c->in, c->key_cols, c->n_keys, true, c->aggs, c->n_aggs,
                                  c->value_cols, c->agg_names, out, e);
}

unsigned tide_node_winagg_flags(const tide_node_winagg_cfg *c, uint32_t port)
{
    return port == 0 ? TIDE_CBATCH_OPS : c->in_flags & (TIDE_CBATCH_OPS | TIDE_CBATCH_POS);
}

static void winagg_free(void *self)
{
    winagg_node *s = self;
    if (!s)
        return;
    tide_winagg_free(s->op);
    tide_sessagg_free(s->sess);
    free(s->plen);
    tide_node_keyed_free(&s->k);
    tide_cbatch_free(s->out);
    tide_schema_free(s->out_schema);
    free(s->late);
    free(s);
}

static int on_row(void *ctx, const tide_winagg_row *r)
{
    winagg_node *s = ctx;
    const int64_t window[2] = {r->start, r->end};
    return tide_node_keyed_put_row(&s->k, s->cx, s->out, r->op, r->key, r->key_len, window, r->vals,
                                   r->n_vals, &s->err);
}

static int on_late(void *ctx, const void *key, uint32_t key_len, int64_t ts, const tide_value *in, size_t n_in)
{
    (void)in;
    (void)n_in;
    winagg_node *s = ctx;
    uint32_t j = tide_node_keyed_find(&s->k, &s->late_cursor, key, key_len, ts);
    if (j == UINT32_MAX) {
        s->late_lost = true;
        return 0;
    }
    if ((size_t)s->nlate + 1 > s->late_cap &&
        tide_array_grow((void **)&s->late, &s->late_cap, (size_t)s->nlate + 1, sizeof *s->late) != 0) {
        tide_err_set(&s->err, TIDE_ENOMEM, "winagg node: out of memory for late records");
        return TIDE_ENOMEM;
    }
    s->late[s->nlate++] = tide_node_keyed_row(&s->k, j);
    return 0;
}

int tide_node_winagg_make(void *cfg, uint32_t instance, uint32_t parallelism, void **self, tide_err *e)
{
    const tide_node_winagg_cfg *c = cfg;
    *self = NULL;
    int rc = check(c, e);
    if (rc != 0)
        return rc;
    winagg_node *s = calloc(1, sizeof *s);
    tide_winagg_call *calls = calloc(c->n_aggs, sizeof *calls);
    if (!s || !calls) {
        free(s);
        free(calls);
        return tide_err_set(e, TIDE_ENOMEM, "winagg node: out of memory");
    }
    s->cfg = c;
    s->idx = instance;
    if ((rc = tide_node_keyed_init(&s->k, c->in, c->key_cols, c->n_keys, c->value_cols, c->n_values,
                                   (int)c->time_col, e)) != 0)
        goto fail;
    for (uint32_t i = 0; i < c->n_aggs; i++) {
        calls[i] = c->aggs[i];
        calls[i].type = tide_node_keyed_arg_type(&c->aggs[i], c->in, c->value_cols);
    }
    tide_winagg_config wc = {
        .window = c->window,
        .aggs = calls,
        .n_aggs = c->n_aggs,
        .n_inputs = c->n_values,
        .allowed_lateness = c->allowed_lateness,
        .mode = c->mode,
        .early = c->early,
        .emit = on_row,
        .late = on_late,
        .ctx = s,
        .capacity_hint = c->capacity_hint / (parallelism ? parallelism : 1),
    };
    if (c->session_by_part && c->window.kind == TIDE_WIN_SESSION)
        rc = tide_sessagg_create(&wc, &s->sess, e);
    else
        rc = tide_winagg_create(&wc, &s->op, e);
    if (rc != 0)
        goto fail;
    /* the output batch has the port's schema; the flow's copy of it is
     * not reachable here, so the instance keeps its own */
    if ((rc = tide_node_winagg_schema(c, 0, &s->out_schema, e)) != 0 ||
        (rc = tide_cbatch_create(&s->out, s->out_schema, c->batch_rows ? c->batch_rows : 4096,
                                 TIDE_CBATCH_OPS, e)) != 0)
        goto fail;
    free(calls);
    *self = s;
    return 0;
fail:
    free(calls);
    winagg_free(s);
    return rc;
}

static int winagg_batch(void *self, uint32_t in, const tide_cbatch *b, const uint32_t *sel, uint32_t n,
                        tide_node_ctx *cx, tide_err *e)
{
    (void)in;
    winagg_node *s = self;
    uint32_t skipped = 0;
    int rc = tide_node_keyed_prepare(&s->k, b, sel, n, false, &skipped, e);
    if (rc != 0)
        return rc;
    if (skipped)
        tide_node_count(cx, TIDE_NODE_BAD, skipped);
    s->cx = cx;
    s->late_cursor = 0;
    s->nlate = 0;
    s->late_lost = false;
    const tide_node_keyed *k = &s->k;
    if (s->sess) {
        const uint32_t *pl = NULL;
        if (s->cfg->session_part > 0) {
            if (k->n > s->plen_cap &&
                tide_array_grow((void **)&s->plen, &s->plen_cap, k->n, sizeof *s->plen) != 0)
                return tide_err_set(e, TIDE_ENOMEM, "winagg node: out of memory");
            for (uint32_t i = 0; i < k->n; i++)
                s->plen[i] = (uint32_t)tide_key_prefix_len(k->keys[i], k->klen[i], k->key_types,
                                                           s->cfg->session_part);
            pl = s->plen;
        }
        rc = tide_sessagg_push_batch(s->sess, k->n, k->keys, k->klen, pl, k->ts, k->vals,
                                     tide_clock_now_ms(tide_node_clock(cx)), e);
    } else {
        rc = tide_winagg_push_batch(s->op, k->n, k->keys, k->klen, k->ts, k->vals,
                                    tide_clock_now_ms(tide_node_clock(cx)), e);
    }
    if (rc != 0)
        return tide_node_keyed_failed(&s->err, rc, e);
    if ((rc = tide_node_keyed_flush(s->cx, s->out, e)) != 0)
        return rc;
    if (s->late_lost)
        return tide_err_set(e, TIDE_EFAILED, "winagg node: a late record is not among the pushed ones");
    if (s->nlate) {
        tide_node_count(cx, TIDE_NODE_LATE, s->nlate);
        rc = tide_node_emit(cx, 1, b, s->late, s->nlate, e);
    }
    return rc;
}

static int winagg_watermark(void *self, int64_t wm, tide_node_ctx *cx, tide_err *e)
{
    winagg_node *s = self;
    s->cx = cx;
    int64_t now = tide_clock_now_ms(tide_node_clock(cx));
    int rc = s->sess ? tide_sessagg_advance_watermark(s->sess, wm, now, e)
                     : tide_winagg_advance_watermark(s->op, wm, now, e);
    if (rc != 0)
        return tide_node_keyed_failed(&s->err, rc, e);
    return tide_node_keyed_flush(s->cx, s->out, e);
}

/* The operator's own section (exec/winagg.h, exec/sessagg.h: each checks
 * the window, the aggregates and the triggers). */
static int winagg_snapshot(void *self, int64_t id, tide_buf *out, tide_err *e)
{
    (void)id;
    winagg_node *s = self;
    return s->sess ? tide_sessagg_snapshot(s->sess, out, e) : tide_winagg_snapshot(s->op, out, e);
}

static int winagg_restore(void *self, const void *buf, size_t len, tide_err *e)
{
    winagg_node *s = self;
    return s->sess ? tide_sessagg_restore(s->sess, buf, len, e)
                   : tide_winagg_restore(s->op, buf, len, e);
}

const tide_node_vt tide_node_winagg_vt = {
    .kind = "winagg",
    .batch = winagg_batch,
    .watermark = winagg_watermark,
    .snapshot = winagg_snapshot,
    .restore = winagg_restore,
    .free = winagg_free,
};
