/*
 * node_topn.c - Top-N and deduplication.  See node_topn.h.
 *
 * Layout.  Rows live in a pool (exec/rows.h) whose extra bytes are the
 * row's sort key (the sort columns by data/key.h, the bytes of a
 * descending column inverted, so memcmp gives the ranking order) followed
 * by its identity (every passed column by data/key.h: what a retraction
 * matches).  A partition (a table from key bytes to a partition number)
 * holds its live rows as an array sorted by (sort key, arrival), and in
 * UPDATING mode the rows it showed at ranks lo..hi at the last watermark.
 * A row is freed when it is neither live nor shown.  WINDOW and FIRST
 * partitions wait in a min-heap by the time they fire.
 */
#include "exec/node_topn.h"

#include "base/buf.h"
#include "data/key.h"
#include "exec/rows.h"
#include "state/snap.h"
#include "state/table.h"

#include <stdlib.h>
#include <string.h>

#define NIL UINT32_MAX
#define TOPN_SNAP_VERSION 1

enum { ROW_LIVE = 1, ROW_SHOWN = 2, ROW_NEW = 4 };

typedef struct trow {
    uint64_t step; /* the watermark step it arrived in */
    uint64_t seq;
    uint32_t part;
    uint32_t sklen; /* sort key bytes at the start of the extra bytes */
    uint8_t flags;
} trow;

typedef struct tpart {
    uint8_t *key;
    uint32_t klen;
    uint32_t *rows; /* live rows in rank order */
    uint32_t n, cap;
    uint32_t *shown; /* UPDATING: the rows shown at ranks lo.., in rank order */
    uint32_t nshown, scap;
    int64_t time; /* WINDOW: window_end */
    bool used, dirty, fired;
    uint32_t next_free;
} tpart;

typedef struct fire {
    int64_t at;
    uint32_t part;
} fire;

typedef struct topn_node {
    const tide_node_topn_cfg *cfg;
    size_t ncols;
    tide_rows pool;
    trow *meta;
    size_t mcap;
    tide_table *ids; /* key bytes -> partition number (u32 in 8 bytes) */
    tpart *parts;
    size_t nparts, pcap;
    uint32_t free_part;
    uint32_t *dirty; /* UPDATING: partitions changed since the last watermark */
    size_t ndirty, dcap;
    fire *heap;
    size_t hn, hcap;
    uint64_t seq;
    uint64_t step; /* watermarks seen */
    int64_t wm;
    uint32_t *pass_cols; /* 0..n_pass-1 */
    tide_value *tmp;
    tide_buf kb, eb;
    tide_cbatch *out;
    tide_node_ctx *cx;
} topn_node;

unsigned tide_node_topn_flags(const tide_node_topn_cfg *c)
{
    return c->mode == TIDE_NODE_TOPN_UPDATING ? TIDE_CBATCH_OPS : 0;
}

/* ---- rows ---- */

static int row_add(topn_node *s, const tide_value *v, uint64_t step, uint64_t seq, uint32_t part, uint32_t *out,
                   tide_err *e)
{
    const tide_node_topn_cfg *c = s->cfg;
    /* sort key, then identity */
    s->eb.len = 0;
    for (uint32_t i = 0; i < c->n_sort; i++) {
        size_t at = s->eb.len;
        if (tide_key_append_values(&s->eb, v, &c->sort_cols[i], 1) != 0)
            return tide_err_set(e, TIDE_ENOMEM, "topn node: out of memory for a sort key");
        if (c->desc[i])
            for (size_t k = at; k < s->eb.len; k++)
                s->eb.data[k] = (unsigned char)~s->eb.data[k];
    }
    size_t sk = s->eb.len;
    if (tide_key_append_values(&s->eb, v, s->pass_cols, c->n_pass) != 0)
        return tide_err_set(e, TIDE_ENOMEM, "topn node: out of memory for a row");
    uint32_t id;
    int rc = tide_rows_add(&s->pool, v, s->eb.data, s->eb.len, &id, e);
    if (rc != 0)
        return rc;
    if (id + 1u > s->mcap && tide_array_grow((void **)&s->meta, &s->mcap, id + 1u, sizeof *s->meta) != 0) {
        tide_rows_release(&s->pool, id);
        return tide_err_set(e, TIDE_ENOMEM, "topn node: out of memory for rows");
    }
    s->meta[id] = (trow){.step = step, .seq = seq, .part = part, .sklen = (uint32_t)sk, .flags = ROW_LIVE};
    *out = id;
    return 0;
}

/* Free row r unless it is still live or shown. */
static void row_drop(topn_node *s, uint32_t r, uint8_t flag)
{
    s->meta[r].flags &= (uint8_t)~flag;
    if (!(s->meta[r].flags & (ROW_LIVE | ROW_SHOWN)))
        tide_rows_release(&s->pool, r);
}

/* The ranking order: the sort key, then the earlier watermark step, then
 * (within a step, where rows from several upstream instances interleave
 * by thread timing) the identity bytes, then arrival. */
static int row_cmp(const topn_node *s, uint32_t a, uint32_t b)
{
    size_t la, lb;
    const uint8_t *ka = tide_rows_extra(&s->pool, a, &la), *kb = tide_rows_extra(&s->pool, b, &lb);
    size_t sa = s->meta[a].sklen, sb = s->meta[b].sklen;
    int c = memcmp(ka, kb, sa < sb ? sa : sb);
    if (c == 0 && sa != sb)
        c = sa < sb ? -1 : 1;
    if (c == 0 && s->meta[a].step != s->meta[b].step)
        c = s->meta[a].step < s->meta[b].step ? -1 : 1;
    if (c == 0) {
        size_t ia = la - sa, ib = lb - sb;
        c = memcmp(ka + sa, kb + sb, ia < ib ? ia : ib);
        if (c == 0 && ia != ib)
            c = ia < ib ? -1 : 1;
    }
    if (c == 0)
        c = (s->meta[a].seq > s->meta[b].seq) - (s->meta[a].seq < s->meta[b].seq);
    return c;
}

/* The identities (every passed column) of a and b are equal. */
static bool same_row(const topn_node *s, uint32_t a, uint32_t b)
{
    size_t la, lb;
    const uint8_t *ka = tide_rows_extra(&s->pool, a, &la), *kb = tide_rows_extra(&s->pool, b, &lb);
    la -= s->meta[a].sklen;
    lb -= s->meta[b].sklen;
    return la == lb && memcmp(ka + s->meta[a].sklen, kb + s->meta[b].sklen, la) == 0;
}

/* ---- partitions ---- */

static int heap_push(topn_node *s, int64_t at, uint32_t part, tide_err *e)
{
    if (s->hn + 1 > s->hcap && tide_array_grow((void **)&s->heap, &s->hcap, s->hn + 1, sizeof *s->heap) != 0)
        return tide_err_set(e, TIDE_ENOMEM, "topn node: out of memory");
    size_t i = s->hn++;
    while (i > 0 && s->heap[(i - 1) / 2].at > at) {
        s->heap[i] = s->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    s->heap[i] = (fire){at, part};
    return 0;
}

static fire heap_pop(topn_node *s)
{
    fire top = s->heap[0], last = s->heap[--s->hn];
    size_t i = 0, n = s->hn;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && s->heap[c + 1].at < s->heap[c].at)
            c++;
        if (s->heap[c].at >= last.at)
            break;
        s->heap[i] = s->heap[c];
        i = c;
    }
    if (n)
        s->heap[i] = last;
    return top;
}

static int part_get(topn_node *s, const uint8_t *key, uint32_t klen, uint32_t *out, bool *is_new, tide_err *e)
{
    void *v;
    int rc = tide_table_upsert(s->ids, key, klen, &v, is_new, e);
    if (rc != 0)
        return rc;
    if (!*is_new) {
        memcpy(out, v, sizeof *out);
        return 0;
    }
    uint32_t id;
    if (s->free_part != NIL) {
        id = s->free_part;
    } else if (s->nparts + 1 > s->pcap &&
               tide_array_grow((void **)&s->parts, &s->pcap, s->nparts + 1, sizeof *s->parts) != 0) {
        tide_table_delete(s->ids, key, klen);
        return tide_err_set(e, TIDE_ENOMEM, "topn node: out of memory for a partition");
    } else {
        id = (uint32_t)s->nparts;
        s->parts[id] = (tpart){0};
    }
    tpart *p = &s->parts[id];
    uint8_t *kc = malloc(klen ? klen : 1);
    if (!kc) {
        tide_table_delete(s->ids, key, klen);
        return tide_err_set(e, TIDE_ENOMEM, "topn node: out of memory for a partition");
    }
    if (id == s->free_part)
        s->free_part = p->next_free;
    else
        s->nparts++;
    if (klen)
        memcpy(kc, key, klen);
    p->key = kc;
    p->klen = klen;
    p->n = p->nshown = 0;
    p->used = true;
    p->dirty = p->fired = false;
    memcpy(v, &id, sizeof id);
    *out = id;
    return 0;
}

/* Free a partition's rows and forget it (WINDOW mode, after it fired). */
static void part_free(topn_node *s, uint32_t id)
{
    tpart *p = &s->parts[id];
    for (uint32_t i = 0; i < p->n; i++)
        row_drop(s, p->rows[i], ROW_LIVE);
    p->n = 0;
    tide_table_delete(s->ids, p->key, p->klen);
    free(p->key);
    p->key = NULL;
    p->used = false;
    p->next_free = s->free_part;
    s->free_part = id;
}

static int mark_dirty(topn_node *s, uint32_t id, tide_err *e)
{
    if (s->cfg->mode != TIDE_NODE_TOPN_UPDATING || s->parts[id].dirty)
        return 0;
    if (s->ndirty + 1 > s->dcap && tide_array_grow((void **)&s->dirty, &s->dcap, s->ndirty + 1, sizeof *s->dirty) != 0)
        return tide_err_set(e, TIDE_ENOMEM, "topn node: out of memory");
    s->dirty[s->ndirty++] = id;
    s->parts[id].dirty = true;
    return 0;
}

/* Insert row r into partition p's ranking; *pos gets its index. */
static int part_insert(topn_node *s, tpart *p, uint32_t r, uint32_t *pos, tide_err *e)
{
    uint32_t lo = 0, hi = p->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (row_cmp(s, p->rows[mid], r) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (p->n + 1 > p->cap) {
        size_t cap = p->cap;
        if (tide_array_grow((void **)&p->rows, &cap, p->n + 1, sizeof *p->rows) != 0)
            return tide_err_set(e, TIDE_ENOMEM, "topn node: out of memory for a partition's rows");
        p->cap = (uint32_t)cap;
    }
    memmove(p->rows + lo + 1, p->rows + lo, (p->n - lo) * sizeof *p->rows);
    p->rows[lo] = r;
    p->n++;
    *pos = lo;
    return 0;
}

/* Take the live row equal to r (sort key and identity) out of p. */
static bool part_retract(topn_node *s, tpart *p, uint32_t r)
{
    size_t lr;
    const uint8_t *kr = tide_rows_extra(&s->pool, r, &lr);
    for (uint32_t i = 0; i < p->n; i++) {
        uint32_t q = p->rows[i];
        size_t lq;
        const uint8_t *kq = tide_rows_extra(&s->pool, q, &lq);
        if (lq == lr && memcmp(kq, kr, lr) == 0) {
            memmove(p->rows + i, p->rows + i + 1, (p->n - i - 1) * sizeof *p->rows);
            p->n--;
            row_drop(s, q, ROW_LIVE);
            return true;
        }
    }
    return false;
}

/* ---- output ---- */

static int flush(topn_node *s, tide_err *e)
{
    if (tide_cbatch_rows(s->out) == 0)
        return 0;
    int rc = tide_node_emit(s->cx, 0, s->out, NULL, tide_cbatch_rows(s->out), e);
    tide_cbatch_reset(s->out);
    return rc;
}

static int emit(topn_node *s, tide_op op, uint32_t r, int64_t rank, tide_err *e)
{
    int rc;
    if (tide_cbatch_full(s->out) && (rc = flush(s, e)) != 0)
        return rc;
    uint32_t o = 0;
    tide_cbatch_add_row(s->out, &o);
    tide_cbatch_set_op(s->out, o, op);
    const tide_value *v = tide_rows_vals(&s->pool, r);
    for (uint32_t c = 0; c < s->cfg->n_pass; c++)
        if ((rc = tide_cbatch_set(s->out, c, o, &v[c], e)) != 0)
            return rc;
    tide_cbatch_set_i64(s->out, s->cfg->n_pass, o, rank);
    return 0;
}

/* UPDATING: the difference between what p showed and its ranks now. */
static int part_diff(topn_node *s, tpart *p, tide_err *e)
{
    const tide_node_topn_cfg *c = s->cfg;
    uint32_t width = (uint32_t)(c->hi - c->lo + 1);
    uint32_t nnew = 0;
    if ((int64_t)p->n >= c->lo)
        nnew = (uint32_t)((int64_t)p->n - c->lo + 1 < (int64_t)width ? (int64_t)p->n - c->lo + 1 : width);
    const uint32_t *now = nnew ? p->rows + (c->lo - 1) : NULL;
    int rc = 0;
    if (c->rank_out) {
        for (uint32_t i = 0; i < width && rc == 0; i++) {
            uint32_t o = i < p->nshown ? p->shown[i] : NIL, n = i < nnew ? now[i] : NIL;
            int64_t rank = c->lo + i;
            if (o == n || (o != NIL && n != NIL && same_row(s, o, n)))
                continue;
            if (o != NIL && n != NIL) {
                if ((rc = emit(s, TIDE_OP_UPDATE_BEFORE, o, rank, e)) == 0)
                    rc = emit(s, TIDE_OP_UPDATE_AFTER, n, rank, e);
            } else if (o != NIL) {
                rc = emit(s, TIDE_OP_DELETE, o, rank, e);
            } else {
                rc = emit(s, TIDE_OP_INSERT, n, rank, e);
            }
        }
    } else {
        for (uint32_t i = 0; i < nnew; i++)
            s->meta[now[i]].flags |= ROW_NEW;
        /* rows that left and rows that entered; equal rows cancel out */
        uint32_t gone[2] = {NIL, NIL}, came[2] = {NIL, NIL}, ngone = 0, ncame = 0;
        for (uint32_t i = 0; i < p->nshown; i++)
            if (!(s->meta[p->shown[i]].flags & ROW_NEW))
                gone[ngone < 2 ? ngone : 1] = p->shown[i], ngone++;
        for (uint32_t i = 0; i < nnew; i++)
            if (!(s->meta[now[i]].flags & ROW_SHOWN))
                came[ncame < 2 ? ncame : 1] = now[i], ncame++;
        if (c->lo == 1 && c->hi == 1 && ngone == 1 && ncame == 1) {
            if (!same_row(s, gone[0], came[0]) && (rc = emit(s, TIDE_OP_UPDATE_BEFORE, gone[0], 1, e)) == 0)
                rc = emit(s, TIDE_OP_UPDATE_AFTER, came[0], 1, e);
        } else {
            for (uint32_t i = 0; i < p->nshown && rc == 0; i++) {
                uint32_t o = p->shown[i];
                if (s->meta[o].flags & ROW_NEW)
                    continue;
                bool back = false; /* an equal row entered: no change */
                for (uint32_t j = 0; j < nnew && !back; j++)
                    back = !(s->meta[now[j]].flags & ROW_SHOWN) && same_row(s, o, now[j]);
                if (!back)
                    rc = emit(s, TIDE_OP_DELETE, o, c->lo + i, e);
            }
            for (uint32_t j = 0; j < nnew && rc == 0; j++) {
                uint32_t n = now[j];
                if (s->meta[n].flags & ROW_SHOWN)
                    continue;
                bool back = false;
                for (uint32_t i = 0; i < p->nshown && !back; i++)
                    back = !(s->meta[p->shown[i]].flags & ROW_NEW) && same_row(s, p->shown[i], n);
                if (!back)
                    rc = emit(s, TIDE_OP_INSERT, n, c->lo + j, e);
            }
        }
        for (uint32_t i = 0; i < nnew; i++)
            s->meta[now[i]].flags &= (uint8_t)~ROW_NEW;
    }
    if (rc != 0)
        return rc;
    /* what p shows now */
    if (nnew > p->scap) {
        size_t cap = p->scap;
        if (tide_array_grow((void **)&p->shown, &cap, nnew, sizeof *p->shown) != 0)
            return tide_err_set(e, TIDE_ENOMEM, "topn node: out of memory");
        p->scap = (uint32_t)cap;
    }
    for (uint32_t i = 0; i < nnew; i++)
        s->meta[now[i]].flags |= ROW_NEW;
    for (uint32_t i = 0; i < p->nshown; i++) {
        uint32_t o = p->shown[i];
        if (!(s->meta[o].flags & ROW_NEW))
            row_drop(s, o, ROW_SHOWN);
    }
    for (uint32_t i = 0; i < nnew; i++) {
        s->meta[now[i]].flags = (uint8_t)((s->meta[now[i]].flags & ~ROW_NEW) | ROW_SHOWN);
        p->shown[i] = now[i];
    }
    p->nshown = nnew;
    return 0;
}

/* WINDOW and FIRST: the final rows of p. */
static int part_fire(topn_node *s, uint32_t id, tide_err *e)
{
    const tide_node_topn_cfg *c = s->cfg;
    tpart *p = &s->parts[id];
    int rc = 0;
    for (int64_t r = c->lo; r <= c->hi && r <= (int64_t)p->n && rc == 0; r++)
        rc = emit(s, TIDE_OP_INSERT, p->rows[r - 1], r, e);
    if (rc != 0)
        return rc;
    if (c->mode == TIDE_NODE_TOPN_WINDOW) {
        part_free(s, id);
    } else {
        for (uint32_t i = 0; i < p->n; i++)
            row_drop(s, p->rows[i], ROW_LIVE);
        p->n = 0;
        p->fired = true;
    }
    return 0;
}

/* ---- the node ---- */

static void topn_free(void *self)
{
    topn_node *s = self;
    if (!s)
        return;
    for (size_t i = 0; i < s->nparts; i++) {
        free(s->parts[i].key);
        free(s->parts[i].rows);
        free(s->parts[i].shown);
    }
    free(s->parts);
    tide_table_free(s->ids);
    tide_rows_destroy(&s->pool);
    free(s->meta);
    free(s->dirty);
    free(s->heap);
    free(s->pass_cols);
    free(s->tmp);
    tide_buf_free(&s->kb);
    tide_buf_free(&s->eb);
    tide_cbatch_free(s->out);
    free(s);
}

static int check(const tide_node_topn_cfg *c, tide_err *e)
{
    if (!c->in || !c->out || c->n_sort == 0 || !c->sort_cols || !c->desc)
        return tide_err_set(e, TIDE_EINVAL, "topn node: needs schemas and sort columns");
    size_t nc = tide_schema_ncols(c->in);
    if (c->n_pass > nc || tide_schema_ncols(c->out) != (size_t)c->n_pass + 1 ||
        tide_schema_col(c->out, c->n_pass)->type != TIDE_TYPE_BIGINT)
        return tide_err_set(e, TIDE_EINVAL, "topn node: the output must be %u input columns and a BIGINT rank",
                            c->n_pass);
    if (c->lo < 1 || c->hi < c->lo || c->hi - c->lo >= (int64_t)UINT32_MAX / 2)
        return tide_err_set(e, TIDE_EINVAL, "topn node: a bad rank range [%lld, %lld]", (long long)c->lo,
                            (long long)c->hi);
    for (uint32_t i = 0; i < c->n_keys; i++)
        if (c->key_cols[i] >= nc)
            return tide_err_set(e, TIDE_EINVAL, "topn node: key column %u of %zu", c->key_cols[i], nc);
    for (uint32_t i = 0; i < c->n_sort; i++)
        if (c->sort_cols[i] >= nc)
            return tide_err_set(e, TIDE_EINVAL, "topn node: sort column %u of %zu", c->sort_cols[i], nc);
    if (c->mode != TIDE_NODE_TOPN_UPDATING) {
        tide_type t = c->time_col < nc ? tide_schema_col(c->in, c->time_col)->type : TIDE_TYPE_NULL;
        if ((t != TIDE_TYPE_TIMESTAMP && t != TIDE_TYPE_BIGINT) || c->changelog)
            return tide_err_set(e, TIDE_EINVAL, "topn node: a window or first-row mode needs a time column and "
                                                "an append-only input");
        if (c->mode == TIDE_NODE_TOPN_FIRST && (c->lo != 1 || c->hi != 1))
            return tide_err_set(e, TIDE_EINVAL, "topn node: first-row mode keeps rank 1 only");
    }
    return 0;
}

int tide_node_topn_make(void *cfg, uint32_t instance, uint32_t parallelism, void **self, tide_err *e)
{
    (void)instance;
    (void)parallelism;
    const tide_node_topn_cfg *c = cfg;
    *self = NULL;
    int rc = check(c, e);
    if (rc != 0)
        return rc;
    topn_node *s = calloc(1, sizeof *s);
    if (!s)
        return tide_err_set(e, TIDE_ENOMEM, "topn node: out of memory");
    s->cfg = c;
    s->ncols = tide_schema_ncols(c->in);
    s->wm = TIDE_TS_MIN;
    s->free_part = NIL;
    tide_rows_init(&s->pool, s->ncols);
    s->pass_cols = calloc(c->n_pass + 1, sizeof *s->pass_cols);
    s->tmp = calloc(s->ncols + 1, sizeof *s->tmp);
    if (!s->pass_cols || !s->tmp) {
        rc = tide_err_set(e, TIDE_ENOMEM, "topn node: out of memory");
        goto fail;
    }
    for (uint32_t i = 0; i < c->n_pass; i++)
        s->pass_cols[i] = i;
    if ((rc = tide_table_create(&s->ids, TIDE_TABLE_KEY_BYTES, 8, 64, e)) != 0 ||
        (rc = tide_cbatch_create(&s->out, c->out, c->batch_rows ? c->batch_rows : 4096, tide_node_topn_flags(c),
                                 e)) != 0)
        goto fail;
    *self = s;
    return 0;
fail:
    topn_free(s);
    return rc;
}

/* One input row (values in s->tmp). */
static int take(topn_node *s, tide_op op, uint64_t *late, tide_err *e)
{
    const tide_node_topn_cfg *c = s->cfg;
    int64_t t = 0;
    if (c->mode != TIDE_NODE_TOPN_UPDATING) {
        const tide_value *tv = &s->tmp[c->time_col];
        t = tv->is_null ? TIDE_TS_MIN : tv->u.i64;
        /* WINDOW: the window fired (W >= end - 1); FIRST: behind the watermark */
        if (c->mode == TIDE_NODE_TOPN_WINDOW ? t - 1 <= s->wm : t <= s->wm) {
            (*late)++;
            return 0;
        }
    }
    s->kb.len = 0;
    if (tide_key_append_values(&s->kb, s->tmp, c->key_cols, c->n_keys) != 0)
        return tide_err_set(e, TIDE_ENOMEM, "topn node: out of memory for a key");
    uint32_t id, r;
    bool is_new;
    static const uint8_t none[1];
    int rc = part_get(s, s->kb.len ? s->kb.data : none, (uint32_t)s->kb.len, &id, &is_new, e);
    if (rc != 0)
        return rc;
    if (s->parts[id].fired) /* FIRST: a later row of a key already emitted */
        return 0;
    if (is_new && c->mode == TIDE_NODE_TOPN_WINDOW) {
        s->parts[id].time = t;
        if ((rc = heap_push(s, t - 1, id, e)) != 0)
            return rc;
    }
    if ((rc = row_add(s, s->tmp, s->step, s->seq++, id, &r, e)) != 0)
        return rc;
    tpart *p = &s->parts[id];
    if (tide_op_sign(op) < 0) {
        bool found = part_retract(s, p, r);
        row_drop(s, r, ROW_LIVE);
        if (!found)
            return tide_err_set(e, TIDE_EINVAL, "topn node: a retraction (%s) of a row it never received",
                                tide_op_name(op));
        return mark_dirty(s, id, e);
    }
    uint32_t pos;
    if ((rc = part_insert(s, p, r, &pos, e)) != 0) {
        row_drop(s, r, ROW_LIVE);
        return rc;
    }
    /* append-only input: rows past hi never come back */
    while (!c->changelog && (int64_t)p->n > c->hi)
        row_drop(s, p->rows[--p->n], ROW_LIVE);
    if (c->mode == TIDE_NODE_TOPN_FIRST && pos == 0 && (rc = heap_push(s, t, id, e)) != 0)
        return rc;
    if ((int64_t)pos < c->hi)
        return mark_dirty(s, id, e);
    return 0;
}

static int topn_batch(void *self, uint32_t in, const tide_cbatch *b, const uint32_t *sel, uint32_t n,
                      tide_node_ctx *cx, tide_err *e)
{
    (void)in;
    topn_node *s = self;
    uint64_t late = 0;
    int rc = 0;
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        uint32_t r = sel ? sel[i] : i;
        for (size_t col = 0; col < s->ncols; col++)
            s->tmp[col] = tide_cbatch_get(b, (uint32_t)col, r);
        rc = take(s, s->cfg->changelog ? tide_cbatch_op(b, r) : TIDE_OP_INSERT, &late, e);
    }
    if (late)
        tide_node_count(cx, TIDE_NODE_LATE, late);
    return rc;
}

static int topn_watermark(void *self, int64_t wm, tide_node_ctx *cx, tide_err *e)
{
    topn_node *s = self;
    s->cx = cx;
    s->wm = wm;
    s->step++;
    int rc = 0;
    if (s->cfg->mode == TIDE_NODE_TOPN_UPDATING) {
        for (size_t i = 0; i < s->ndirty && rc == 0; i++) {
            tpart *p = &s->parts[s->dirty[i]];
            p->dirty = false;
            rc = part_diff(s, p, e);
        }
        s->ndirty = 0;
    } else {
        while (rc == 0 && s->hn > 0 && s->heap[0].at <= wm) {
            fire f = heap_pop(s);
            if (s->parts[f.part].used && !s->parts[f.part].fired)
                rc = part_fire(s, f.part, e);
        }
    }
    if (rc == 0)
        rc = flush(s, e);
    tide_cbatch_reset(s->out);
    return rc;
}

/* ---- snapshot ---- */

static void put_fingerprint(tide_snap_w *w, const tide_node_topn_cfg *c, size_t ncols)
{
    tide_snap_put_u32(w, (uint32_t)ncols);
    tide_snap_put_u32(w, c->n_pass);
    tide_snap_put_u32(w, c->n_keys);
    tide_snap_put_u32(w, c->n_sort);
    for (uint32_t i = 0; i < c->n_sort; i++)
        tide_snap_put_bool(w, c->desc[i]);
    tide_snap_put_i64(w, c->lo);
    tide_snap_put_i64(w, c->hi);
    tide_snap_put_bool(w, c->rank_out);
    tide_snap_put_bool(w, c->changelog);
    tide_snap_put_u32(w, (uint32_t)c->mode);
}

static bool same_config(tide_snap_r *r, const tide_node_topn_cfg *c, size_t ncols)
{
    bool same = tide_snap_get_u32(r) == (uint32_t)ncols;
    same &= tide_snap_get_u32(r) == c->n_pass;
    same &= tide_snap_get_u32(r) == c->n_keys;
    uint32_t ns = tide_snap_get_u32(r);
    same &= ns == c->n_sort;
    for (uint32_t i = 0; same && i < ns; i++)
        same &= tide_snap_get_bool(r) == c->desc[i];
    same &= tide_snap_get_i64(r) == c->lo;
    same &= tide_snap_get_i64(r) == c->hi;
    same &= tide_snap_get_bool(r) == c->rank_out;
    same &= tide_snap_get_bool(r) == c->changelog;
    same &= tide_snap_get_u32(r) == (uint32_t)c->mode;
    return same;
}

static void put_row(tide_snap_w *w, const topn_node *s, uint32_t r)
{
    tide_snap_put_u64(w, s->meta[r].step);
    tide_snap_put_u64(w, s->meta[r].seq);
    const tide_value *v = tide_rows_vals(&s->pool, r);
    for (size_t c = 0; c < s->ncols; c++)
        tide_snap_put_value(w, &v[c]);
}

static int get_row(tide_snap_r *r, topn_node *s, uint32_t part, uint32_t *out, tide_err *e)
{
    uint64_t step = tide_snap_get_u64(r), seq = tide_snap_get_u64(r);
    for (size_t c = 0; c < s->ncols; c++) {
        s->tmp[c] = tide_snap_get_value(r);
        if (!s->tmp[c].is_null && s->tmp[c].type != tide_schema_col(s->cfg->in, c)->type)
            tide_snap_fail(r);
    }
    if (tide_snap_failed(r))
        return tide_snap_close(r, e);
    return row_add(s, s->tmp, step, seq, part, out, e);
}

static int topn_snapshot(void *self, int64_t id, tide_buf *out, tide_err *e)
{
    (void)id;
    topn_node *s = self;
    tide_snap_w w;
    tide_snap_begin(&w, out, "topn", TOPN_SNAP_VERSION);
    put_fingerprint(&w, s->cfg, s->ncols);
    tide_snap_put_i64(&w, s->wm);
    tide_snap_put_u64(&w, s->seq);
    tide_snap_put_u64(&w, s->step);
    size_t used = 0;
    for (size_t i = 0; i < s->nparts; i++)
        used += s->parts[i].used;
    tide_snap_put_varint(&w, used);
    for (size_t i = 0; i < s->nparts; i++) {
        const tpart *p = &s->parts[i];
        if (!p->used)
            continue;
        tide_snap_put_bytes(&w, p->key, p->klen);
        tide_snap_put_i64(&w, p->time);
        tide_snap_put_bool(&w, p->dirty);
        tide_snap_put_bool(&w, p->fired);
        tide_snap_put_varint(&w, p->n);
        for (uint32_t j = 0; j < p->n; j++)
            put_row(&w, s, p->rows[j]);
        /* shown rows: the rank of a live one, or the row itself */
        tide_snap_put_varint(&w, p->nshown);
        for (uint32_t j = 0; j < p->nshown; j++) {
            uint32_t r = p->shown[j];
            uint32_t at = NIL;
            for (uint32_t k = 0; k < p->n && at == NIL; k++)
                if (p->rows[k] == r)
                    at = k;
            tide_snap_put_u32(&w, at);
            if (at == NIL)
                put_row(&w, s, r);
        }
    }
    return tide_snap_end(&w, e);
}

static int topn_restore(void *self, const void *buf, size_t len, tide_err *e)
{
    topn_node *s = self;
    const tide_node_topn_cfg *c = s->cfg;
    tide_snap_r r;
    int rc = tide_snap_open(&r, buf, len, "topn", TOPN_SNAP_VERSION, NULL, e);
    if (rc != 0)
        return rc;
    if (!same_config(&r, c, s->ncols) && !tide_snap_failed(&r))
        return tide_err_set(e, TIDE_EINVAL, "snapshot of topn: another configuration (columns, keys, order, "
                                            "rank range or mode differ)");
    s->wm = tide_snap_get_i64(&r);
    s->seq = tide_snap_get_u64(&r);
    s->step = tide_snap_get_u64(&r);
    uint64_t np = tide_snap_get_varint(&r);
    if (np > tide_snap_remaining(&r))
        tide_snap_fail(&r);
    for (uint64_t i = 0; i < np && !tide_snap_failed(&r); i++) {
        size_t kl;
        const void *kb = tide_snap_get_bytes(&r, &kl);
        int64_t time = tide_snap_get_i64(&r);
        bool dirty = tide_snap_get_bool(&r), fired = tide_snap_get_bool(&r);
        uint64_t n = tide_snap_get_varint(&r);
        uint32_t id;
        bool is_new;
        if (tide_snap_failed(&r) || n > tide_snap_remaining(&r)) {
            tide_snap_fail(&r);
            break;
        }
        if ((rc = part_get(s, kb, (uint32_t)kl, &id, &is_new, e)) != 0)
            return rc;
        if (!is_new) {
            tide_snap_fail(&r);
            break;
        }
        s->parts[id].time = time;
        s->parts[id].fired = fired;
        for (uint64_t j = 0; j < n && !tide_snap_failed(&r); j++) {
            uint32_t row, pos;
            if ((rc = get_row(&r, s, id, &row, e)) != 0 || (rc = part_insert(s, &s->parts[id], row, &pos, e)) != 0)
                return rc;
        }
        uint64_t ns = tide_snap_get_varint(&r);
        if (ns > tide_snap_remaining(&r) || ns > (uint64_t)(c->hi - c->lo + 1)) {
            tide_snap_fail(&r);
            break;
        }
        tpart *p = &s->parts[id];
        if (ns) {
            size_t cap = p->scap;
            if (tide_array_grow((void **)&p->shown, &cap, ns, sizeof *p->shown) != 0)
                return tide_err_set(e, TIDE_ENOMEM, "topn node: out of memory");
            p->scap = (uint32_t)cap;
        }
        for (uint64_t j = 0; j < ns && !tide_snap_failed(&r); j++) {
            uint32_t at = tide_snap_get_u32(&r), row;
            if (at == NIL) {
                if ((rc = get_row(&r, s, id, &row, e)) != 0)
                    return rc;
                s->meta[row].flags = ROW_SHOWN;
            } else if (at < p->n) {
                row = p->rows[at];
                s->meta[row].flags |= ROW_SHOWN;
            } else {
                tide_snap_fail(&r);
                break;
            }
            p->shown[p->nshown++] = row;
        }
        if (dirty && (rc = mark_dirty(s, id, e)) != 0)
            return rc;
        /* the firing, as when the partition began (WINDOW) or got its row (FIRST) */
        if (c->mode == TIDE_NODE_TOPN_WINDOW && (rc = heap_push(s, time - 1, id, e)) != 0)
            return rc;
        if (c->mode == TIDE_NODE_TOPN_FIRST && !fired && p->n > 0 &&
            (rc = heap_push(s, tide_rows_vals(&s->pool, p->rows[0])[c->time_col].u.i64, id, e)) != 0)
            return rc;
    }
    return tide_snap_close(&r, e);
}

const tide_node_vt tide_node_topn_vt = {
    .kind = "topn",
    .batch = topn_batch,
    .watermark = topn_watermark,
    .snapshot = topn_snapshot,
    .restore = topn_restore,
    .free = topn_free,
};
