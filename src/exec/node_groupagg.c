/*
 * node_groupagg.c - the unwindowed GROUP BY node.  See node_groupagg.h.
 */
#include "exec/node_groupagg.h"

#include "exec/node_keyed.h"

#include <stdlib.h>
#include <string.h>

typedef struct groupagg_node {
    const tide_node_groupagg_cfg *cfg;
    tide_groupagg *op;
    tide_node_keyed k;
    tide_schema *out_schema;
    tide_cbatch *out;
    tide_node_ctx *cx;
    tide_err err;
} groupagg_node;

static int check(const tide_node_groupagg_cfg *c, tide_err *e)
{
    if (!c->in || c->n_aggs == 0 || !c->aggs)
        return tide_err_set(e, TIDE_EINVAL, "groupagg node: needs an input schema and aggregates");
    return tide_node_keyed_check_aggs(c->aggs, c->n_aggs, c->in, c->value_cols, c->n_values,
                                      "groupagg node", e);
}

static tide_type arg_type(const tide_node_groupagg_cfg *c, uint32_t i)
{
    return tide_node_keyed_arg_type(&c->aggs[i], c->in, c->value_cols);
}

int tide_node_groupagg_schema(const tide_node_groupagg_cfg *c, uint32_t port, tide_schema **out,
                              tide_err *e)
{
    *out = NULL;
    int rc = check(c, e);
    if (rc != 0)
        return rc;
    if (port != 0)
        return tide_err_set(e, TIDE_EINVAL, "groupagg node: no output %u", port);
    return tide_node_keyed_schema(c->in, c->key_cols, c->n_keys, false, c->aggs, c->n_aggs,
                                  c->value_cols, c->agg_names, out, e);
}

unsigned tide_node_groupagg_flags(const tide_node_groupagg_cfg *c, uint32_t port)
{
    (void)c;
    (void)port;
    return TIDE_CBATCH_OPS;
}

static void groupagg_free(void *self)
{
    groupagg_node *s = self;
    if (!s)
        return;
    tide_groupagg_free(s->op);
    tide_node_keyed_free(&s->k);
    tide_cbatch_free(s->out);
    tide_schema_free(s->out_schema);
    free(s);
}

static int on_row(void *ctx, const tide_groupagg_row *r)
{
    groupagg_node *s = ctx;
    return tide_node_keyed_put_row(&s->k, s->cx, s->out, r->op, r->key, r->key_len, NULL, r->vals,
                                   r->n_vals, &s->err);
}

int tide_node_groupagg_make(void *cfg, uint32_t instance, uint32_t parallelism, void **self, tide_err *e)
{
    (void)instance;
    const tide_node_groupagg_cfg *c = cfg;
    *self = NULL;
    int rc = check(c, e);
    if (rc != 0)
        return rc;
    groupagg_node *s = calloc(1, sizeof *s);
    tide_groupagg_call *calls = calloc(c->n_aggs, sizeof *calls);
    if (!s || !calls) {
        free(s);
        free(calls);
        return tide_err_set(e, TIDE_ENOMEM, "groupagg node: out of memory");
    }
    s->cfg = c;
    if ((rc = tide_node_keyed_init(&s->k, c->in, c->key_cols, c->n_keys, c->value_cols, c->n_values, -1,
                                   e)) != 0)
        goto fail;
    for (uint32_t i = 0; i < c->n_aggs; i++) {
        calls[i] = c->aggs[i];
        calls[i].type = arg_type(c, i);
    }
    tide_groupagg_config gc = {
        .aggs = calls,
        .n_aggs = c->n_aggs,
        .n_inputs = c->n_values,
        .retractions = c->changelog,
        .mini_batch = true,
        .emit = on_row,
        .ctx = s,
        .capacity_hint = c->capacity_hint / (parallelism ? parallelism : 1),
    };
    if ((rc = tide_groupagg_create(&gc, &s->op, e)) != 0)
        goto fail;
    if ((rc = tide_node_groupagg_schema(c, 0, &s->out_schema, e)) != 0 ||
        (rc = tide_cbatch_create(&s->out, s->out_schema, c->batch_rows ? c->batch_rows : 4096,
                                 TIDE_CBATCH_OPS, e)) != 0)
        goto fail;
    free(calls);
    *self = s;
    return 0;
fail:
    free(calls);
    groupagg_free(s);
    return rc;
}

static int groupagg_batch(void *self, uint32_t in, const tide_cbatch *b, const uint32_t *sel, uint32_t n,
                          tide_node_ctx *cx, tide_err *e)
{
    (void)in;
    groupagg_node *s = self;
    uint32_t skipped = 0;
    int rc = tide_node_keyed_prepare(&s->k, b, sel, n, s->cfg->changelog, &skipped, e);
    if (rc != 0)
        return rc;
    s->cx = cx;
    const tide_node_keyed *k = &s->k;
    rc = tide_groupagg_push_batch(s->op, k->n, k->keys, k->klen, k->ops, k->vals, e);
    return rc != 0 ? tide_node_keyed_failed(&s->err, rc, e) : 0;
}

static int groupagg_watermark(void *self, int64_t wm, tide_node_ctx *cx, tide_err *e)
{
    (void)wm;
    groupagg_node *s = self;
    s->cx = cx;
    int rc = tide_groupagg_flush(s->op, e);
    if (rc != 0)
        return tide_node_keyed_failed(&s->err, rc, e);
    return tide_node_keyed_flush(s->cx, s->out, e);
}

/* Between callbacks the output batch is empty (a watermark's rows are
 * emitted before it returns): the operator is the whole state. */
static int groupagg_snapshot(void *self, int64_t id, tide_buf *out, tide_err *e)
{
    (void)id;
    groupagg_node *s = self;
    return tide_groupagg_snapshot(s->op, out, e);
}

typedef struct groupagg_frozen {
    tide_node_frozen base;
    tide_groupagg_frozen *fz;
} groupagg_frozen;

static int groupagg_frozen_write(tide_node_frozen *base, tide_buf *out, tide_err *e)
{
    groupagg_frozen *g = (groupagg_frozen *)base;
    return tide_groupagg_frozen_write(g->fz, out, e);
}

static void groupagg_frozen_free(tide_node_frozen *base)
{
    groupagg_frozen *g = (groupagg_frozen *)base;
    tide_groupagg_frozen_free(g->fz);
    free(g);
}

static int groupagg_freeze(void *self, int64_t id, tide_node_frozen **out, tide_err *e)
{
    (void)id;
    groupagg_node *s = self;
    *out = NULL;
    groupagg_frozen *g = calloc(1, sizeof *g);
    if (!g)
        return tide_err_set(e, TIDE_ENOMEM, "group aggregate: snapshot: out of memory");
    int rc = tide_groupagg_freeze(s->op, &g->fz, e);
    if (rc || !g->fz) {
        free(g);
        return rc;
    }
    g->base.write = groupagg_frozen_write;
    g->base.free = groupagg_frozen_free;
    *out = &g->base;
    return 0;
}

static int groupagg_restore(void *self, const void *buf, size_t len, tide_err *e)
{
    groupagg_node *s = self;
    return tide_groupagg_restore(s->op, buf, len, e);
}

const tide_node_vt tide_node_groupagg_vt = {
    .kind = "groupagg",
    .batch = groupagg_batch,
    .watermark = groupagg_watermark,
    .snapshot = groupagg_snapshot,
    .freeze = groupagg_freeze,
    .restore = groupagg_restore,
    .free = groupagg_free,
};
