/*
 * node_order.c - the ordering stage.  See node_order.h.
 *
 * Held rows live in a list of reusable batches; each has a reference
 * (batch, row, its encoded sort key in one byte buffer, and the key's first
 * 8 bytes as a big-endian integer for a quick compare).  When every sort
 * column is BIGINT/TIMESTAMP (at most MAX_FIXED of them) and a step's rows
 * hold no NULL there, the keys are fixed words instead (each value with its
 * sign bit flipped: unsigned order = signed order), encoded a column at a
 * time and compared a word at a time; the first NULL of a step turns the
 * step's keys into data/key.h bytes.  At a watermark the
 * references are sorted by a natural merge sort (stable; the rows of one
 * upstream instance mostly arrive sorted, so it sees about one run per
 * instance); rows already in order leave in their batches, others are
 * gathered column by column into output batches.
 */
#include "exec/node_order.h"

#include "base/buf.h"
#include "data/batch.h"
#include "data/key.h"
#include "state/snap.h"

#include <stdlib.h>
#include <string.h>

#define MAX_FIXED 4
#define SNAP_KIND "order"
#define SNAP_VERSION 1

typedef struct oref {
    uint64_t prefix; /* the key's first 8 bytes, big-endian (zero-padded) */
    uint32_t koff, klen;
    uint32_t b, row;
} oref;

typedef struct order {
    const tide_node_order_cfg *cfg;
    uint32_t rows; /* rows per batch */
    tide_cbatch **held;
    uint32_t nheld, nalloc; /* in use; made */
    size_t capheld;
    oref *refs; /* [2 * caprefs]: the second half is the merge's scratch */
    size_t nrefs, caprefs;
    uint8_t *kb;
    size_t nkb, capkb;
    bool fixed;   /* the sort columns allow fixed keys */
    bool fast;    /* this step's keys are fixed words (kw) */
    uint64_t *kw; /* n_sort words per reference (koff: its first) */
    size_t capkw;
    uint32_t *iota;
    size_t capiota;
    tide_cbatch *out;
} order;

int tide_node_order_schema(const tide_node_order_cfg *c, uint32_t port, tide_schema **out, tide_err *e)
{
    *out = NULL;
    if (port != 0)
        return tide_err_set(e, TIDE_EINVAL, "order: no output %u", port);
    return tide_schema_clone(c->schema, out, e);
}

unsigned tide_node_order_flags(const tide_node_order_cfg *c)
{
    return c->flags & (TIDE_CBATCH_OPS | TIDE_CBATCH_POS);
}

static void order_free(void *self)
{
    order *s = self;
    if (!s)
        return;
    for (uint32_t i = 0; i < s->nalloc; i++)
        tide_cbatch_free(s->held[i]);
    free(s->held);
    free(s->refs);
    free(s->kb);
    free(s->kw);
    free(s->iota);
    tide_cbatch_free(s->out);
    free(s);
}

int tide_node_order_make(void *cfg, uint32_t instance, uint32_t parallelism, void **self, tide_err *e)
{
    (void)instance;
    const tide_node_order_cfg *c = cfg;
    *self = NULL;
    if (parallelism != 1)
        return tide_err_set(e, TIDE_EINVAL, "order: parallelism %u (it orders one stream)", parallelism);
    if (!c->schema)
        return tide_err_set(e, TIDE_EINVAL, "order: no schema");
    for (uint32_t i = 0; i < c->n_sort; i++)
        if (c->sort_cols[i] >= tide_schema_ncols(c->schema))
            return tide_err_set(e, TIDE_EINVAL, "order: sort column %u of %zu", c->sort_cols[i],
                                tide_schema_ncols(c->schema));
    order *s = calloc(1, sizeof *s);
    if (!s)
        return tide_err_set(e, TIDE_ENOMEM, "order: out of memory");
    s->cfg = c;
    s->rows = c->batch_rows ? c->batch_rows : 4096;
    s->fixed = c->n_sort >= 1 && c->n_sort <= MAX_FIXED;
    for (uint32_t i = 0; i < c->n_sort; i++) {
        tide_type t = tide_schema_col(c->schema, c->sort_cols[i])->type;
        s->fixed &= t == TIDE_TYPE_BIGINT || t == TIDE_TYPE_TIMESTAMP;
    }
    s->fast = s->fixed;
    *self = s;
    return 0;
}

static inline uint64_t prefix_of(const uint8_t *k, uint32_t len)
{
    uint8_t b[8] = {0};
    memcpy(b, k, len < 8 ? len : 8);
    uint64_t v;
    memcpy(&v, b, 8);
    return tide_key__be64(v);
}

/* A batch with room to append to (the last one in use, or the next). */
static tide_cbatch *room(order *s, tide_err *e)
{
    if (s->nheld && !tide_cbatch_full(s->held[s->nheld - 1]))
        return s->held[s->nheld - 1];
    if (s->nheld == s->nalloc) {
        if ((size_t)s->nalloc + 1 > s->capheld &&
            tide_array_grow((void **)&s->held, &s->capheld, (size_t)s->nalloc + 1, sizeof *s->held) != 0) {
            tide_err_set(e, TIDE_ENOMEM, "order: out of memory");
            return NULL;
        }
        if (tide_cbatch_create(&s->held[s->nalloc], s->cfg->schema, s->rows, tide_node_order_flags(s->cfg), e) !=
            0)
            return NULL;
        s->nalloc++;
    }
    tide_cbatch *b = s->held[s->nheld++];
    tide_cbatch_reset(b);
    return b;
}

static int refs_room(order *s, size_t n, tide_err *e)
{
    if (s->nrefs + n <= s->caprefs)
        return 0;
    size_t cap = s->caprefs ? s->caprefs : 1024;
    while (cap < s->nrefs + n)
        cap *= 2;
    oref *r = realloc(s->refs, 2 * cap * sizeof *r); /* (+ the merge's scratch half) */
    if (!r)
        return tide_err_set(e, TIDE_ENOMEM, "order: out of memory for %zu rows", s->nrefs + n);
    s->refs = r;
    s->caprefs = cap;
    return 0;
}

/* The data/key.h key of the row of reference o, into kb. */
static int encode(order *s, oref *o, tide_err *e)
{
    const tide_node_order_cfg *c = s->cfg;
    const tide_cbatch *b = s->held[o->b];
    size_t need = c->n_sort ? tide_key_row_size(b, o->row, c->sort_cols, c->n_sort) : 0;
    if (s->nkb + need + 1 > s->capkb && tide_array_grow((void **)&s->kb, &s->capkb, s->nkb + need + 1, 1) != 0)
        return tide_err_set(e, TIDE_ENOMEM, "order: out of memory for keys");
    uint8_t *d = s->kb + s->nkb;
    if (need)
        tide_key_row_put(b, o->row, c->sort_cols, c->n_sort, d);
    o->prefix = prefix_of(d, (uint32_t)need);
    o->koff = (uint32_t)s->nkb;
    o->klen = (uint32_t)need;
    s->nkb += need;
    return 0;
}

/* A NULL in a sort column: this step's keys become data/key.h bytes. */
static int unfix(order *s, tide_err *e)
{
    s->fast = false;
    s->nkb = 0;
    for (size_t i = 0; i < s->nrefs; i++) {
        int rc = encode(s, &s->refs[i], e);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* References (with their keys) for rows [from, to) of held batch bi. */
static int add_refs(order *s, uint32_t bi, uint32_t from, uint32_t to, tide_err *e)
{
    const tide_cbatch *b = s->held[bi];
    const tide_node_order_cfg *c = s->cfg;
    uint32_t n = to - from, ns = c->n_sort;
    int rc = refs_room(s, n, e);
    if (rc != 0)
        return rc;
    if (s->fast) {
        uint8_t any = 0;
        for (uint32_t j = 0; j < ns; j++) {
            const uint8_t *nl = tide_cbatch_nulls(b, c->sort_cols[j]) + from;
            for (uint32_t i = 0; i < n; i++)
                any |= nl[i];
        }
        if (any && (rc = unfix(s, e)) != 0)
            return rc;
    }
    oref *o = s->refs + s->nrefs;
    for (uint32_t i = 0; i < n; i++) {
        o[i].b = bi;
        o[i].row = from + i;
    }
    if (!s->fast) {
        for (uint32_t i = 0; i < n; i++)
            if ((rc = encode(s, &o[i], e)) != 0)
                return rc;
        s->nrefs += n;
        return 0;
    }
    size_t w0 = s->nrefs * ns, need = (s->nrefs + n) * ns;
    if (need > s->capkw && tide_array_grow((void **)&s->kw, &s->capkw, need, sizeof *s->kw) != 0)
        return tide_err_set(e, TIDE_ENOMEM, "order: out of memory for keys");
    uint64_t *w = s->kw + w0;
    for (uint32_t j = 0; j < ns; j++) {
        const int64_t *v = tide_cbatch_col_i64(b, c->sort_cols[j]) + from;
        for (uint32_t i = 0; i < n; i++)
            w[(size_t)i * ns + j] = (uint64_t)v[i] ^ (1ull << 63);
    }
    for (uint32_t i = 0; i < n; i++) {
        o[i].prefix = w[(size_t)i * ns];
        o[i].koff = (uint32_t)(w0 + (size_t)i * ns);
        o[i].klen = 0;
    }
    s->nrefs += n;
    return 0;
}

/* Hold rows sel[0..n) of b (sel NULL: 0..n-1). */
static int hold(order *s, const tide_cbatch *b, const uint32_t *sel, uint32_t n, tide_err *e)
{
    if (!sel) {
        if (n > s->capiota) {
            size_t old = s->capiota;
            if (tide_array_grow((void **)&s->iota, &s->capiota, n, sizeof *s->iota) != 0)
                return tide_err_set(e, TIDE_ENOMEM, "order: out of memory");
            for (size_t i = old; i < s->capiota; i++)
                s->iota[i] = (uint32_t)i;
        }
        sel = s->iota;
    }
    while (n) {
        tide_cbatch *d = room(s, e);
        if (!d)
            return e->code ? e->code : TIDE_ENOMEM;
        uint32_t base = tide_cbatch_rows(d), take = tide_cbatch_capacity(d) - base;
        take = take < n ? take : n;
        int rc = tide_cbatch_select(d, b, sel, take, e);
        if (rc == 0)
            rc = add_refs(s, s->nheld - 1, base, base + take, e);
        if (rc != 0)
            return rc;
        sel += take;
        n -= take;
    }
    return 0;
}

static int order_batch(void *self, uint32_t in, const tide_cbatch *b, const uint32_t *sel, uint32_t n,
                       tide_node_ctx *cx, tide_err *e)
{
    (void)in;
    (void)cx;
    return n ? hold(self, b, sel, n, e) : 0;
}

static inline int ref_cmp(const order *s, const oref *a, const oref *b)
{
    if (a->prefix != b->prefix)
        return a->prefix < b->prefix ? -1 : 1;
    if (s->fast) {
        const uint64_t *x = s->kw + a->koff, *y = s->kw + b->koff;
        for (uint32_t j = 1; j < s->cfg->n_sort; j++)
            if (x[j] != y[j])
                return x[j] < y[j] ? -1 : 1;
        return 0;
    }
    if (a->klen <= 8 && b->klen <= 8)
        return (a->klen > b->klen) - (a->klen < b->klen);
    return tide_key_cmp(s->kb + a->koff, a->klen, s->kb + b->koff, b->klen);
}

/* Stable natural merge sort of a[0, n) with tmp (n entries) as scratch;
 * returns the sorted copy (a or tmp); *in_order when a was sorted already. */
static const oref *sort_refs(const order *s, oref *a, oref *tmp, size_t n, bool *in_order)
{
    *in_order = true;
    for (;;) {
        size_t i = 0, runs = 0;
        while (i < n) {
            size_t j = i + 1;
            while (j < n && ref_cmp(s, &a[j - 1], &a[j]) <= 0)
                j++;
            if (runs == 0 && j == n)
                return a; /* one run: sorted */
            size_t k = j;
            if (k < n) {
                k++;
                while (k < n && ref_cmp(s, &a[k - 1], &a[k]) <= 0)
                    k++;
            }
            runs++;
            *in_order = false;
            size_t x = i, y = j, o = i;
            while (x < j && y < k) /* the left run first on ties: stable */
                tmp[o++] = ref_cmp(s, &a[y], &a[x]) < 0 ? a[y++] : a[x++];
            while (x < j)
                tmp[o++] = a[x++];
            while (y < k)
                tmp[o++] = a[y++];
            i = k;
        }
        oref *t = a;
        a = tmp;
        tmp = t;
    }
}

/* Rows r[0..n) (held rows) into s->out, column by column. */
static int gather(order *s, const oref *r, uint32_t n, tide_err *e)
{
    tide_cbatch *o = s->out;
    tide_cbatch_reset(o);
    uint32_t first = 0;
    tide_cbatch_add_rows(o, n, &first); /* n <= capacity; first = 0 */
    tide_cbatch *const *h = s->held;
    uint32_t nc = tide_cbatch_ncols(o);
    if (tide_cbatch_has_ops(o))
        for (uint32_t i = 0; i < n; i++)
            tide_cbatch_set_op(o, i, tide_cbatch_op(h[r[i].b], r[i].row));
    if (tide_cbatch_has_pos(o))
        for (uint32_t i = 0; i < n; i++)
            tide_cbatch_set_pos(o, i, tide_cbatch_pos(h[r[i].b], r[i].row));
    for (uint32_t c = 0; c < nc; c++) {
        switch (tide_type_base(tide_cbatch_type(o, c))) {
        case TIDE_TYPE_BIGINT:
        case TIDE_TYPE_TIMESTAMP:
            for (uint32_t i = 0; i < n; i++)
                if (!tide_cbatch_is_null(h[r[i].b], c, r[i].row))
                    tide_cbatch_set_i64(o, c, i, tide_cbatch_i64(h[r[i].b], c, r[i].row));
            break;
        case TIDE_TYPE_DECIMAL:
            for (uint32_t i = 0; i < n; i++)
                if (!tide_cbatch_is_null(h[r[i].b], c, r[i].row))
                    tide_cbatch_set_dec(o, c, i, tide_cbatch_dec(h[r[i].b], c, r[i].row));
            break;
        case TIDE_TYPE_DOUBLE:
            for (uint32_t i = 0; i < n; i++)
                if (!tide_cbatch_is_null(h[r[i].b], c, r[i].row))
                    tide_cbatch_set_f64(o, c, i, tide_cbatch_f64(h[r[i].b], c, r[i].row));
            break;
        case TIDE_TYPE_BOOLEAN:
            for (uint32_t i = 0; i < n; i++)
                if (!tide_cbatch_is_null(h[r[i].b], c, r[i].row))
                    tide_cbatch_set_bool(o, c, i, tide_cbatch_bool(h[r[i].b], c, r[i].row));
            break;
        case TIDE_TYPE_STRING:
            for (uint32_t i = 0; i < n; i++) {
                if (tide_cbatch_is_null(h[r[i].b], c, r[i].row))
                    continue;
                tide_str v = tide_cbatch_str(h[r[i].b], c, r[i].row);
                int rc = tide_cbatch_set_str(o, c, i, v.ptr, v.len, e);
                if (rc != 0)
                    return rc;
            }
            break;
        default:
            break;
        }
    }
    return 0;
}

/* Emit every held row in order, and forget them. */
static int release(order *s, tide_node_ctx *cx, tide_err *e)
{
    size_t n = s->nrefs;
    int rc = 0;
    if (n == 0)
        return 0;
    bool in_order;
    const oref *r = sort_refs(s, s->refs, s->refs + s->caprefs, n, &in_order);
    if (in_order) {
        for (uint32_t i = 0; i < s->nheld && rc == 0; i++)
            rc = tide_node_emit(cx, 0, s->held[i], NULL, tide_cbatch_rows(s->held[i]), e);
    } else {
        if (!s->out &&
            (rc = tide_cbatch_create(&s->out, s->cfg->schema, s->rows, tide_node_order_flags(s->cfg), e)) != 0)
            return rc;
        for (size_t at = 0; at < n && rc == 0; at += s->rows) {
            uint32_t m = n - at < s->rows ? (uint32_t)(n - at) : s->rows;
            if ((rc = gather(s, r + at, m, e)) == 0)
                rc = tide_node_emit(cx, 0, s->out, NULL, m, e);
        }
    }
    s->nheld = 0;
    s->nrefs = 0;
    s->nkb = 0;
    s->fast = s->fixed;
    return rc;
}

static int order_watermark(void *self, int64_t wm, tide_node_ctx *cx, tide_err *e)
{
    (void)wm;
    return release(self, cx, e);
}

static int order_end(void *self, tide_node_ctx *cx, tide_err *e) { return release(self, cx, e); }

static int order_snapshot(void *self, int64_t id, tide_buf *out, tide_err *e)
{
    (void)id;
    order *s = self;
    tide_snap_w w;
    tide_snap_begin(&w, out, SNAP_KIND, SNAP_VERSION);
    tide_snap_put_u64(&w, s->nrefs);
    for (uint32_t i = 0; i < s->nheld; i++)
        for (uint32_t r = 0; r < tide_cbatch_rows(s->held[i]); r++)
            tide_snap_put_row(&w, s->held[i], r);
    return tide_snap_end(&w, e);
}

static int order_restore(void *self, const void *buf, size_t len, tide_err *e)
{
    order *s = self;
    tide_snap_r r;
    int rc = tide_snap_open(&r, buf, len, SNAP_KIND, SNAP_VERSION, NULL, e);
    if (rc != 0)
        return rc;
    uint64_t n = tide_snap_get_u64(&r);
    if (n > tide_snap_remaining(&r))
        tide_snap_fail(&r);
    s->nheld = 0;
    s->nrefs = 0;
    s->nkb = 0;
    s->fast = s->fixed;
    for (uint64_t i = 0; i < n && !tide_snap_failed(&r); i++) {
        tide_cbatch *d = room(s, e);
        if (!d)
            return e->code ? e->code : TIDE_ENOMEM;
        uint32_t at = tide_cbatch_rows(d);
        if ((rc = tide_snap_get_row(&r, d, e)) != 0 || (rc = add_refs(s, s->nheld - 1, at, at + 1, e)) != 0)
            return rc;
    }
    return tide_snap_close(&r, e);
}

const tide_node_vt tide_node_order_vt = {
    .kind = "order",
    .batch = order_batch,
    .watermark = order_watermark,
    .end = order_end,
    .snapshot = order_snapshot,
    .restore = order_restore,
    .free = order_free,
};
