/*
 * node_union.c - UNION ALL (see node_union.h).
 */
#include "exec/node_union.h"

#include "state/snap.h"
#include "tide.h"

#include <stdlib.h>

#define HOLD_ROWS 4096

/* Ordered mode: per input, the step's rows in batches (reused). */
typedef struct held {
    tide_cbatch **b;
    uint32_t n, cap; /* batches in use, allocated */
} held;

typedef struct unode {
    const tide_node_union_cfg *cfg;
    held *in;
    uint32_t nin;
} unode;

static int hold_rows(unode *u, uint32_t in, const tide_cbatch *b, const uint32_t *sel, uint32_t n, tide_err *e)
{
    if (in >= u->nin) {
        held *nh = realloc(u->in, (in + 1) * sizeof *nh);
        if (!nh)
            return tide_err_set(e, TIDE_ENOMEM, "union node: out of memory");
        for (uint32_t i = u->nin; i <= in; i++)
            nh[i] = (held){0};
        u->in = nh;
        u->nin = in + 1;
    }
    held *h = &u->in[in];
    uint32_t idx[256];
    uint32_t done = 0;
    while (done < n) {
        if (h->n == 0 || tide_cbatch_full(h->b[h->n - 1])) {
            if (h->n == h->cap) {
                uint32_t cap = h->cap ? h->cap * 2 : 4;
                tide_cbatch **nb = realloc(h->b, cap * sizeof *nb);
                if (!nb)
                    return tide_err_set(e, TIDE_ENOMEM, "union node: out of memory");
                for (uint32_t i = h->cap; i < cap; i++)
                    nb[i] = NULL;
                h->b = nb;
                h->cap = cap;
            }
            if (!h->b[h->n]) {
                int rc = tide_cbatch_create(&h->b[h->n], u->cfg->schema, HOLD_ROWS, u->cfg->flags, e);
                if (rc)
                    return rc;
            }
            tide_cbatch_reset(h->b[h->n]);
            h->n++;
        }
        tide_cbatch *dst = h->b[h->n - 1];
        uint32_t room = tide_cbatch_capacity(dst) - tide_cbatch_rows(dst);
        uint32_t k = n - done < room ? n - done : room;
        if (k > 256)
            k = 256;
        const uint32_t *s = sel ? sel + done : idx;
        if (!sel)
            for (uint32_t j = 0; j < k; j++)
                idx[j] = done + j;
        int rc = tide_cbatch_select(dst, b, s, k, e);
        if (rc)
            return rc;
        done += k;
    }
    return 0;
}

/* Release the step: input 0's rows, then input 1's, ... */
static int release(unode *u, tide_node_ctx *cx, tide_err *e)
{
    for (uint32_t i = 0; i < u->nin; i++) {
        held *h = &u->in[i];
        for (uint32_t k = 0; k < h->n; k++) {
            int rc = tide_node_emit(cx, 0, h->b[k], NULL, tide_cbatch_rows(h->b[k]), e);
            if (rc)
                return rc;
            tide_cbatch_reset(h->b[k]);
        }
        h->n = 0;
    }
    return 0;
}

int tide_node_union_schema(const tide_node_union_cfg *c, uint32_t port, tide_schema **out,
                           tide_err *e)
{
    *out = NULL;
    if (!c || !c->schema)
        return tide_err_set(e, TIDE_EINVAL, "union node: no schema");
    if (port != 0)
        return tide_err_set(e, TIDE_EINVAL, "union node: no output port %u", port);
    return tide_schema_clone(c->schema, out, e);
}

int tide_node_union_make(void *cfg, uint32_t instance, uint32_t parallelism, void **self,
                         tide_err *e)
{
    (void)instance;
    (void)parallelism;
    const tide_node_union_cfg *c = cfg;
    *self = NULL;
    if (!c || !c->schema)
        return tide_err_set(e, TIDE_EINVAL, "union node: no schema");
    unode *u = calloc(1, sizeof *u);
    if (!u)
        return tide_err_set(e, TIDE_ENOMEM, "union node: out of memory");
    u->cfg = c;
    *self = u;
    return 0;
}

static int unode_batch(void *self, uint32_t in, const tide_cbatch *b, const uint32_t *sel,
                       uint32_t n, tide_node_ctx *cx, tide_err *e)
{
    unode *u = self;
    const tide_schema *s = u->cfg->schema;
    uint32_t nc = tide_cbatch_ncols(b);
    if (nc != tide_schema_ncols(s))
        return tide_err_set(e, TIDE_EINVAL, "union node: input %u has %u columns, not %zu", in, nc,
                            tide_schema_ncols(s));
    for (uint32_t c = 0; c < nc; c++) {
        tide_type t = tide_cbatch_type(b, c), want = tide_schema_col(s, c)->type;
        if (t != want) /* channels copy by type: BIGINT is not TIMESTAMP there */
            return tide_err_set(e, TIDE_EINVAL, "union node: input %u column %u is %s, not %s", in,
                                c, tide_type_name(t), tide_type_name(want));
    }
    if (u->cfg->ordered)
        return hold_rows((unode *)u, in, b, sel, n, e);
    return tide_node_emit(cx, 0, b, sel, n, e);
}

static int unode_watermark(void *self, int64_t wm, tide_node_ctx *cx, tide_err *e)
{
    (void)wm;
    unode *u = self;
    return u->cfg->ordered ? release(u, cx, e) : 0;
}

static int unode_snapshot(void *self, int64_t id, tide_buf *out, tide_err *e)
{
    (void)id;
    const unode *u = self;
    tide_snap_w w;
    tide_snap_begin(&w, out, "union", 1);
    tide_snap_put_varint(&w, u->cfg->ordered ? u->nin : 0);
    for (uint32_t i = 0; u->cfg->ordered && i < u->nin; i++) {
        const held *h = &u->in[i];
        uint64_t rows = 0;
        for (uint32_t k = 0; k < h->n; k++)
            rows += tide_cbatch_rows(h->b[k]);
        tide_snap_put_varint(&w, rows);
        for (uint32_t k = 0; k < h->n; k++)
            for (uint32_t r = 0; r < tide_cbatch_rows(h->b[k]); r++)
                tide_snap_put_row(&w, h->b[k], r);
    }
    return tide_snap_end(&w, e);
}

static int unode_restore(void *self, const void *buf, size_t len, tide_err *e)
{
    unode *u = self;
    tide_snap_r r;
    int rc = tide_snap_open(&r, buf, len, "union", 1, NULL, e);
    if (rc)
        return rc;
    uint64_t nin = tide_snap_get_varint(&r);
    if ((nin && !u->cfg->ordered) || nin > 65536)
        return tide_err_set(e, TIDE_ECORRUPT, "union node: snapshot of another union");
    tide_cbatch *one = NULL;
    if (nin && (rc = tide_cbatch_create(&one, u->cfg->schema, 1, u->cfg->flags, e)) != 0)
        return rc;
    for (uint32_t i = 0; i < nin && rc == 0; i++) {
        uint64_t rows = tide_snap_get_varint(&r);
        if (rows > tide_snap_remaining(&r)) {
            tide_snap_fail(&r);
            break;
        }
        for (uint64_t k = 0; k < rows && rc == 0; k++) {
            tide_cbatch_reset(one);
            if ((rc = tide_snap_get_row(&r, one, e)) == 0)
                rc = hold_rows(u, i, one, NULL, 1, e);
        }
    }
    tide_cbatch_free(one);
    if (rc)
        return rc;
    return tide_snap_close(&r, e);
}

static void unode_free(void *self)
{
    unode *u = self;
    if (!u)
        return;
    for (uint32_t i = 0; i < u->nin; i++) {
        for (uint32_t k = 0; k < u->in[i].cap; k++)
            tide_cbatch_free(u->in[i].b[k]);
        free(u->in[i].b);
    }
    free(u->in);
    free(u);
}

const tide_node_vt tide_node_union_vt = {
    .kind = "union",
    .batch = unode_batch,
    .watermark = unode_watermark,
    .snapshot = unode_snapshot,
    .restore = unode_restore,
    .free = unode_free,
};
