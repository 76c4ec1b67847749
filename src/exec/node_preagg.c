/*
 * node_preagg.c - two-phase window aggregation: the local and the global
 * node.  See node_preagg.h.
 *
 * The local node keeps one batch's accumulators: a short array of the
 * open windows (ascending start), each with a table from key bytes
 * (data/key.h) or from a packed key (pack_key) to a group, and the groups'
 * states (exec/agg.h slots, one after another: `stride` bytes per group).
 * It fills them from a batch, emits one partial row per group and empties
 * them (keeping the tables' memory); a window goes when the watermark fires
 * it.  The global node is exec/winagg.h's operator behind the node
 * interface, as node_winagg.c's, with partials merged in.
 */
#include "exec/node_preagg.h"

#include "data/key.h"
#include "exec/agg.h"
#include "exec/node_keyed.h"
#include "state/snap.h"
#include "state/table.h"
#include "time/trigger.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the local node's accumulators ---- */

typedef struct win {
    int64_t start, end;
    tide_table *t;   /* key bytes -> uint32_t group */
    tide_table *t64; /* the local node's packed keys (see pack_key) -> group; NULL until used */
    tide_buf keys;   /* the groups' key bytes, back to back */
    uint32_t *koff;  /* group g's key: keys.data + koff[g], klen[g] bytes */
    uint32_t *klen;
    size_t gcap;
    unsigned char *st; /* group g's states at st + g * stride */
    size_t st_cap;     /* groups st has room for */
    uint32_t n;        /* groups */
} win;

typedef struct accs {
    const tide_agg *aggs;
    uint32_t n_aggs;
    size_t *off; /* aggregate i's slot at this offset in a group's states */
    size_t stride;
    win *w;
    uint32_t nw, wcap;
    uint32_t last; /* the window the previous lookup found (a hint) */
} accs;

static void win_drop_states(const accs *a, win *w)
{
    for (uint32_t g = 0; g < w->n; g++)
        for (uint32_t i = 0; i < a->n_aggs; i++)
            if (a->aggs[i].has_free)
                tide_agg_free(&a->aggs[i], w->st + g * a->stride + a->off[i]);
    w->n = 0;
    w->keys.len = 0;
}

static void win_free(const accs *a, win *w)
{
    win_drop_states(a, w);
    tide_table_free(w->t);
    tide_table_free(w->t64);
    tide_buf_free(&w->keys);
    free(w->koff);
    free(w->klen);
    free(w->st);
    memset(w, 0, sizeof *w);
}

static void accs_free(accs *a)
{
    for (uint32_t i = 0; i < a->nw; i++)
        win_free(a, &a->w[i]);
    free(a->w);
    free(a->off);
    memset(a, 0, sizeof *a);
}

static int accs_init(accs *a, const tide_agg *aggs, uint32_t n_aggs, tide_err *e)
{
    memset(a, 0, sizeof *a);
    a->aggs = aggs;
    a->n_aggs = n_aggs;
    if (!(a->off = calloc(n_aggs ? n_aggs : 1, sizeof *a->off)))
        return tide_err_set(e, TIDE_ENOMEM, "preagg: out of memory");
    for (uint32_t i = 0; i < n_aggs; i++) {
        a->off[i] = a->stride;
        a->stride += aggs[i].state_size;
    }
    if (a->stride == 0)
        a->stride = 8;
    return 0;
}

/* The window [start, end), opened (empty, after those of lower starts) if
 * absent.  NULL on TIDE_ENOMEM (e set). */
static win *accs_window(accs *a, int64_t start, int64_t end, tide_err *e)
{
    if (a->last < a->nw && a->w[a->last].start == start)
        return &a->w[a->last];
    uint32_t i = 0;
    while (i < a->nw && a->w[i].start < start)
        i++;
    if (i < a->nw && a->w[i].start == start) {
        a->last = i;
        return &a->w[i];
    }
    if (a->nw == a->wcap) {
        size_t cap = a->wcap;
        if (tide_array_grow((void **)&a->w, &cap, (size_t)a->nw + 1, sizeof *a->w) != 0) {
            tide_err_set(e, TIDE_ENOMEM, "preagg: out of memory for a window");
            return NULL;
        }
        a->wcap = (uint32_t)cap;
    }
    win nw = {.start = start, .end = end};
    if (tide_table_create(&nw.t, TIDE_TABLE_KEY_BYTES, sizeof(uint32_t), 0, e) != 0)
        return NULL;
    memmove(&a->w[i + 1], &a->w[i], (a->nw - i) * sizeof *a->w);
    a->w[i] = nw;
    a->nw++;
    a->last = i;
    return &a->w[i];
}

/* Remove window i (its states freed). */
static void accs_remove(accs *a, uint32_t i)
{
    win_free(a, &a->w[i]);
    memmove(&a->w[i], &a->w[i + 1], (a->nw - i - 1) * sizeof *a->w);
    a->nw--;
    a->last = 0;
}

/* Append a group of key[0..klen) (copied) with initialised states to w:
 * its index in *g.  0 or TIDE_ENOMEM (w as it was). */
static int win_add(const accs *a, win *w, const void *key, uint32_t klen, uint32_t *g, tide_err *e)
{
    uint32_t n = w->n;
    if ((size_t)n + 1 > w->gcap) {
        size_t c1 = w->gcap, c2 = w->gcap;
        if (tide_array_grow((void **)&w->koff, &c1, (size_t)n + 1, sizeof *w->koff) != 0 ||
            tide_array_grow((void **)&w->klen, &c2, (size_t)n + 1, sizeof *w->klen) != 0)
            return tide_err_set(e, TIDE_ENOMEM, "preagg: out of memory for a group");
        w->gcap = c1 < c2 ? c1 : c2;
    }
    if ((size_t)n + 1 > w->st_cap && tide_array_grow((void **)&w->st, &w->st_cap, (size_t)n + 1, a->stride) != 0)
        return tide_err_set(e, TIDE_ENOMEM, "preagg: out of memory for a group");
    if (w->keys.len > UINT32_MAX - klen || tide_buf_append(&w->keys, key, klen) != 0)
        return tide_err_set(e, TIDE_ENOMEM, "preagg: out of memory for a key");
    w->koff[n] = (uint32_t)(w->keys.len - klen);
    w->klen[n] = klen;
    unsigned char *st = w->st + (size_t)n * a->stride;
    for (uint32_t i = 0; i < a->n_aggs; i++)
        tide_agg_init(&a->aggs[i], st + a->off[i]);
    w->n = n + 1;
    *g = n;
    return 0;
}

/* The states of key[0..klen) in window w, initialised when new (*is_new).
 * NULL on TIDE_ENOMEM (e set). */
static unsigned char *win_group(const accs *a, win *w, const void *key, uint32_t klen, bool *is_new,
                                tide_err *e)
{
    void *v;
    if (tide_table_upsert(w->t, key, klen, &v, is_new, e) != 0)
        return NULL;
    if (*is_new) {
        uint32_t g;
        if (win_add(a, w, key, klen, &g, e) != 0) {
            tide_table_delete(w->t, key, klen);
            return NULL;
        }
        *(uint32_t *)v = g;
    }
    return w->st + (size_t)*(uint32_t *)v * a->stride;
}

/* ---- shared config ---- */

static int check(const tide_node_preagg_cfg *c, tide_err *e)
{
    if (!c->in || c->n_aggs == 0 || !c->aggs)
        return tide_err_set(e, TIDE_EINVAL, "preagg node: needs an input schema and aggregates");
    if (c->window.kind != TIDE_WIN_TUMBLE)
        return tide_err_set(e, TIDE_EINVAL, "preagg node: two-phase aggregation takes TUMBLE windows, not %s",
                            tide_win_kind_name(c->window.kind));
    if (tide_win_spec_check(&c->window, e) != 0)
        return e->code;
    size_t nc = tide_schema_ncols(c->in);
    if (c->time_col >= nc)
        return tide_err_set(e, TIDE_EINVAL, "preagg node: time column %u of %zu", c->time_col, nc);
    for (uint32_t i = 0; i < c->n_keys; i++)
        if (c->key_cols[i] >= nc)
            return tide_err_set(e, TIDE_EINVAL, "preagg node: key column %u of %zu", c->key_cols[i], nc);
    return tide_node_keyed_check_aggs(c->aggs, c->n_aggs, c->in, c->value_cols, c->n_values,
                                      "preagg node", e);
}

static tide_type agg_type(const tide_node_preagg_cfg *c, uint32_t i)
{
    return tide_node_keyed_arg_type(&c->aggs[i], c->in, c->value_cols);
}

bool tide_node_preagg_supports(const tide_win_spec *w, const tide_winagg_call *aggs, uint32_t n_aggs)
{
    (void)aggs;
    (void)n_aggs; /* every exec/agg.h aggregate merges (agg.h: "Every aggregate is mergeable") */
    return w->kind == TIDE_WIN_TUMBLE;
}

/* Bind the aggregates (the same kinds and types as the one-phase node). */
static int bind_aggs(const tide_node_preagg_cfg *c, tide_agg **out, tide_err *e)
{
    *out = calloc(c->n_aggs, sizeof **out);
    if (!*out)
        return tide_err_set(e, TIDE_ENOMEM, "preagg node: out of memory");
    for (uint32_t i = 0; i < c->n_aggs; i++) {
        int rc = tide_agg_bind_kind(&(*out)[i], c->aggs[i].kind, agg_type(c, i), 0, e);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int tide_node_preagg_local_schema(const tide_node_preagg_cfg *c, uint32_t port, tide_schema **out,
                                  tide_err *e)
{
    *out = NULL;
    int rc = check(c, e);
    if (rc != 0)
        return rc;
    if (port == 1 || port == 2)
        return tide_schema_clone(c->in, out, e);
    if (port != 0)
        return tide_err_set(e, TIDE_EINVAL, "preagg local node: no output %u", port);
    tide_schema *s = NULL;
    if ((rc = tide_schema_create(&s, e)) != 0)
        return rc;
    for (uint32_t i = 0; i < c->n_keys && rc == 0; i++) {
        const tide_column *col = tide_schema_col(c->in, c->key_cols[i]);
        rc = tide_schema_add(s, col->name, col->type, true, e);
    }
    if (rc == 0)
        rc = tide_schema_add(s, "window_start", TIDE_TYPE_TIMESTAMP, false, e);
    char name[32];
    for (uint32_t i = 0; i < c->n_aggs && rc == 0; i++) {
        snprintf(name, sizeof name, "p%u", i);
        rc = tide_schema_add(s, name, TIDE_TYPE_STRING, false, e);
    }
    if (rc != 0) {
        tide_schema_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

int tide_node_preagg_global_schema(const tide_node_preagg_cfg *c, tide_schema **out, tide_err *e)
{
    *out = NULL;
    int rc = check(c, e);
    if (rc != 0)
        return rc;
    return tide_node_keyed_schema(c->in, c->key_cols, c->n_keys, true, c->aggs, c->n_aggs,
                                  c->value_cols, c->agg_names, out, e);
}

unsigned tide_node_preagg_local_flags(const tide_node_preagg_cfg *c, uint32_t port)
{
    return port == 1 || port == 2 ? c->in_flags & (TIDE_CBATCH_OPS | TIDE_CBATCH_POS) : 0;
}

/* The local node snapshot's config fingerprint. */
static void put_config(const tide_node_preagg_cfg *c, tide_snap_w *w)
{
    tide_snap_put_i64(w, c->window.size);
    tide_snap_put_i64(w, c->window.offset);
    tide_snap_put_u32(w, c->n_keys);
    tide_snap_put_u32(w, c->n_aggs);
    for (uint32_t i = 0; i < c->n_aggs; i++) {
        tide_snap_put_u32(w, (uint32_t)c->aggs[i].kind);
        tide_snap_put_u32(w, (uint32_t)agg_type(c, i));
    }
}

static int check_config(const tide_node_preagg_cfg *c, tide_snap_r *r, const char *kind, tide_err *e)
{
    int64_t size = tide_snap_get_i64(r), off = tide_snap_get_i64(r);
    uint32_t nk = tide_snap_get_u32(r), na = tide_snap_get_u32(r);
    if (r->bad)
        return tide_snap_close(r, e);
    if (size != c->window.size || off != c->window.offset)
        return tide_err_set(e, TIDE_EINVAL, "%s snapshot: window of %lld ms (offset %lld), this node's %lld (%lld)",
                            kind, (long long)size, (long long)off, (long long)c->window.size,
                            (long long)c->window.offset);
    if (nk != c->n_keys)
        return tide_err_set(e, TIDE_EINVAL, "%s snapshot: %u key columns, this node's %u", kind, nk, c->n_keys);
    if (na != c->n_aggs)
        return tide_err_set(e, TIDE_EINVAL, "%s snapshot: %u aggregates, this node's %u", kind, na, c->n_aggs);
    for (uint32_t i = 0; i < na; i++) {
        uint32_t k = tide_snap_get_u32(r), t = tide_snap_get_u32(r);
        if (r->bad)
            return tide_snap_close(r, e);
        if (k != (uint32_t)c->aggs[i].kind || t != (uint32_t)agg_type(c, i))
            return tide_err_set(e, TIDE_EINVAL, "%s snapshot: aggregate %u is %s of type %u, this node's %s of %u",
                                kind, i, tide_agg_kind_name((tide_agg_kind)k), t,
                                tide_agg_kind_name(c->aggs[i].kind), (unsigned)agg_type(c, i));
    }
    return 0;
}

/* ---- the local node ---- */

/* The local node's fast key (pack_key). */
enum { PACK_NONE, PACK_I64, PACK_STR };

typedef struct local_node {
    const tide_node_preagg_cfg *cfg;
    tide_agg *aggs;
    accs a;
    tide_node_keyed k;
    int64_t wm;
    tide_schema *out_schema;
    tide_cbatch *out;
    tide_buf enc; /* one state's encoding */
    tide_buf kb;  /* one row's key */
    int pack;     /* PACK_*: the fast key (local_group) */
    uint32_t *late;
    size_t late_cap;
    uint32_t *pass; /* the rows a pass-through batch sends on */
    size_t pass_cap;
    uint32_t skip;  /* batches left to pass through before the next trial */
    bool touched; /* a batch or watermark came (restore must come first) */
} local_node;

static void local_free(void *self)
{
    local_node *s = self;
    if (!s)
        return;
    accs_free(&s->a);
    free(s->aggs);
    tide_node_keyed_free(&s->k);
    tide_cbatch_free(s->out);
    tide_schema_free(s->out_schema);
    tide_buf_free(&s->enc);
    tide_buf_free(&s->kb);
    free(s->late);
    free(s->pass);
    free(s);
}

int tide_node_preagg_local_make(void *cfg, uint32_t instance, uint32_t parallelism, void **self, tide_err *e)
{
    (void)instance;
    (void)parallelism;
    const tide_node_preagg_cfg *c = cfg;
    *self = NULL;
    int rc = check(c, e);
    if (rc != 0)
        return rc;
    local_node *s = calloc(1, sizeof *s);
    if (!s)
        return tide_err_set(e, TIDE_ENOMEM, "preagg local node: out of memory");
    s->cfg = c;
    s->wm = TIDE_TS_MIN;
    if (c->n_keys == 1) {
        tide_type kt = tide_schema_col(c->in, c->key_cols[0])->type;
        s->pack = kt == TIDE_TYPE_STRING ? PACK_STR
                  : kt == TIDE_TYPE_BIGINT || kt == TIDE_TYPE_TIMESTAMP ? PACK_I64
                                                                        : PACK_NONE;
    }
    if ((rc = tide_node_keyed_init(&s->k, c->in, c->key_cols, c->n_keys, c->value_cols, c->n_values,
                                   (int)c->time_col, e)) != 0 ||
        (rc = bind_aggs(c, &s->aggs, e)) != 0 || (rc = accs_init(&s->a, s->aggs, c->n_aggs, e)) != 0 ||
        (rc = tide_node_preagg_local_schema(c, 0, &s->out_schema, e)) != 0 ||
        (rc = tide_cbatch_create(&s->out, s->out_schema, c->batch_rows ? c->batch_rows : 4096, 0, e)) != 0) {
        local_free(s);
        return rc;
    }
    *self = s;
    return 0;
}

static int local_flush_out(local_node *s, tide_node_ctx *cx, tide_err *e)
{
    if (tide_cbatch_rows(s->out) == 0)
        return 0;
    int rc = tide_node_emit(cx, 0, s->out, NULL, tide_cbatch_rows(s->out), e);
    tide_cbatch_reset(s->out);
    return rc;
}

/* One partial row per group of every window, then the windows emptied. */
static int local_emit(local_node *s, tide_node_ctx *cx, tide_err *e)
{
    const tide_node_preagg_cfg *c = s->cfg;
    uint32_t nk = c->n_keys;
    int rc = 0;
    for (uint32_t wi = 0; wi < s->a.nw && rc == 0; wi++) {
        win *w = &s->a.w[wi];
        for (uint32_t g = 0; g < w->n && rc == 0; g++) {
            if (tide_cbatch_full(s->out) && (rc = local_flush_out(s, cx, e)) != 0)
                break;
            uint32_t row = 0;
            tide_cbatch_add_row(s->out, &row);
            if (nk && (rc = tide_node_keyed_put_key(&s->k, s->out, row, w->keys.data + w->koff[g], w->klen[g],
                                                    e)) != 0)
                break;
            tide_cbatch_set_i64(s->out, nk, row, w->start);
            const unsigned char *st = w->st + (size_t)g * s->a.stride;
            for (uint32_t i = 0; i < c->n_aggs && rc == 0; i++) {
                tide_buf_reset(&s->enc);
                if ((rc = tide_agg_encode(&s->aggs[i], st + s->a.off[i], &s->enc, e)) == 0)
                    rc = tide_cbatch_set_str(s->out, nk + 1 + i, row, (const char *)s->enc.data, s->enc.len, e);
            }
        }
    }
    for (uint32_t wi = 0; wi < s->a.nw; wi++) { /* keep the windows' tables for the next batch */
        win *w = &s->a.w[wi];
        win_drop_states(&s->a, w);
        tide_table_clear(w->t);
        if (w->t64)
            tide_table_clear(w->t64);
    }
    /* windows no row of the next batches can reach again are dropped */
    while (s->a.nw > 0 && tide_trig_due(s->a.w[0].end, s->wm))
        accs_remove(&s->a, 0);
    if (rc == 0)
        rc = local_flush_out(s, cx, e);
    return rc;
}

/* The local node's fast key: one BIGINT/TIMESTAMP key column (its value),
 * or one STRING key column whose value has at most 7 bytes (its length and
 * bytes packed in a u64), non-NULL: an exact stand-in for the key, looked
 * up in an integer table without encoding the key.  Every other key (NULL,
 * a longer string, several columns) is encoded (data/key.h) and looked up
 * by its bytes; a key always takes the same one of the two ways. */
static bool pack_key(int pack, const tide_cbatch *b, uint32_t col, uint32_t row, uint64_t *x)
{
    if (pack == PACK_NONE || tide_cbatch_is_null(b, col, row))
        return false;
    if (pack == PACK_I64) {
        *x = (uint64_t)tide_cbatch_i64(b, col, row);
        return true;
    }
    tide_str v = tide_cbatch_str(b, col, row);
    if (v.len > 7)
        return false;
    uint64_t k = v.len;
    for (uint32_t i = 0; i < v.len; i++)
        k |= (uint64_t)(unsigned char)v.ptr[i] << (8 * (i + 1));
    *x = k;
    return true;
}

/* The states of the key of row `row` of b in window w (new ones
 * initialised).  NULL on TIDE_ENOMEM (e set). */
static unsigned char *local_group(local_node *s, win *w, const tide_cbatch *b, uint32_t row, tide_err *e)
{
    const tide_node_preagg_cfg *c = s->cfg;
    const accs *a = &s->a;
    uint64_t x;
    void *v;
    bool is_new;
    if (pack_key(s->pack, b, c->key_cols[0], row, &x)) {
        if (!w->t64 && tide_table_create(&w->t64, TIDE_TABLE_KEY_U64, sizeof(uint32_t), 0, e) != 0)
            return NULL;
        if (tide_table_upsert_u64(w->t64, x, &v, &is_new, e) != 0)
            return NULL;
        if (is_new) {
            size_t kl = tide_key_row_size(b, row, c->key_cols, c->n_keys);
            tide_buf_reset(&s->kb);
            uint32_t g;
            if (tide_buf_reserve(&s->kb, kl + 1) != 0) {
                tide_table_delete_u64(w->t64, x);
                tide_err_set(e, TIDE_ENOMEM, "preagg local node: out of memory for a key");
                return NULL;
            }
            tide_key_row_put(b, row, c->key_cols, c->n_keys, s->kb.data);
            if (win_add(a, w, s->kb.data, (uint32_t)kl, &g, e) != 0) {
                tide_table_delete_u64(w->t64, x);
                return NULL;
            }
            *(uint32_t *)v = g;
        }
        return w->st + (size_t)*(uint32_t *)v * a->stride;
    }
    size_t kl = tide_key_row_size(b, row, c->key_cols, c->n_keys);
    tide_buf_reset(&s->kb);
    if (kl > UINT32_MAX || tide_buf_reserve(&s->kb, kl + 1) != 0) {
        tide_err_set(e, TIDE_ENOMEM, "preagg local node: out of memory for a key");
        return NULL;
    }
    tide_key_row_put(b, row, c->key_cols, c->n_keys, s->kb.data);
    return win_group(a, w, s->kb.data, (uint32_t)kl, &is_new, e);
}

/* Rows sel[0..n) of b: the late ones into s->late (*nlate), the others
 * aggregated into partials (pass false; *rows of them) or listed in s->pass
 * (pass true; *rows of them); rows without an event time counted in *bad. */
static int local_rows(local_node *s, const tide_cbatch *b, const uint32_t *sel, uint32_t n, bool pass,
                      uint32_t *nlate_out, uint32_t *bad_out, uint32_t *rows, tide_err *e)
{
    const tide_node_preagg_cfg *c = s->cfg;
    uint32_t nlate = 0, bad = 0, m = 0, tcol = c->time_col;
    if (pass && n > s->pass_cap && tide_array_grow((void **)&s->pass, &s->pass_cap, n, sizeof *s->pass) != 0)
        return tide_err_set(e, TIDE_ENOMEM, "preagg local node: out of memory");
    /* the window of the previous row (the watermark does not move inside a
     * batch, so whether it is late holds for the batch) */
    tide_win_range r = {0, 0};
    bool have = false, late = false;
    uint32_t wi = 0;
    int rc;
    for (uint32_t j = 0; j < n; j++) {
        uint32_t row = sel ? sel[j] : j;
        if (tide_cbatch_is_null(b, tcol, row)) { /* no window: dropped, as the one-phase node does */
            bad++;
            continue;
        }
        int64_t ts = tide_cbatch_i64(b, tcol, row);
        if (!have || ts < r.start || ts >= r.end) {
            tide_win_assign(&c->window, ts, &r);
            late = tide_trig_place_record(r.end, 0, s->wm) != TIDE_TRIG_OPEN; /* past its only window */
            if (!late && !pass) {
                win *w = accs_window(&s->a, r.start, r.end, e);
                if (!w)
                    return e->code;
                wi = (uint32_t)(w - s->a.w);
            }
            have = true;
        }
        if (late) {
            if ((size_t)nlate + 1 > s->late_cap &&
                tide_array_grow((void **)&s->late, &s->late_cap, (size_t)nlate + 1, sizeof *s->late) != 0)
                return tide_err_set(e, TIDE_ENOMEM, "preagg local node: out of memory for late records");
            s->late[nlate++] = row;
            continue;
        }
        if (pass) {
            s->pass[m++] = row;
            continue;
        }
        m++;
        unsigned char *st = local_group(s, &s->a.w[wi], b, row, e);
        if (!st)
            return e->code;
        for (uint32_t i = 0; i < c->n_aggs; i++) {
            tide_value x = {.type = TIDE_TYPE_NULL, .is_null = true}; /* COUNT(*) counts it */
            if (c->aggs[i].kind != TIDE_AGG_COUNT_STAR)
                x = tide_cbatch_get(b, c->value_cols[c->aggs[i].arg], row);
            if ((rc = tide_agg_step(&s->aggs[i], st + s->a.off[i], &x, e)) != 0)
                return rc;
        }
    }
    *nlate_out = nlate;
    *bad_out = bad;
    *rows = m;
    return 0;
}

/* A batch of which at least TRIAL_ROWS rows aggregated into more than an
 * eighth as many groups sends the next PASS_BATCHES batches on as they are
 * (port 2): a partial costs several rows' exchange (its encoding, the
 * decoding and merging), so pre-aggregating many keys costs more than it
 * saves (measured: hourly counts per user of 100,000, about 1,800 groups
 * per batch of 4,096 rows, took 45% more CPU time in two phases). */
enum { TRIAL_ROWS = 256, PASS_BATCHES = 63 };

static int local_batch(void *self, uint32_t in, const tide_cbatch *b, const uint32_t *sel, uint32_t n,
                       tide_node_ctx *cx, tide_err *e)
{
    (void)in;
    local_node *s = self;
    s->touched = true;
    bool pass = s->skip > 0;
    uint32_t nlate = 0, bad = 0, rows = 0;
    int rc = local_rows(s, b, sel, n, pass, &nlate, &bad, &rows, e);
    if (rc != 0)
        return rc;
    if (bad)
        tide_node_count(cx, TIDE_NODE_BAD, bad);
    if (pass) {
        s->skip--;
        if (rows && (rc = tide_node_emit(cx, 2, b, s->pass, rows, e)) != 0)
            return rc;
    } else {
        size_t groups = 0;
        for (uint32_t wi = 0; wi < s->a.nw; wi++)
            groups += s->a.w[wi].n;
        if (rows >= TRIAL_ROWS && groups * 8 > rows)
            s->skip = PASS_BATCHES;
        if ((rc = local_emit(s, cx, e)) != 0)
            return rc;
    }
    if (nlate) {
        tide_node_count(cx, TIDE_NODE_LATE, nlate);
        rc = tide_node_emit(cx, 1, b, s->late, nlate, e);
    }
    return rc;
}

static int local_watermark(void *self, int64_t wm, tide_node_ctx *cx, tide_err *e)
{
    (void)cx;
    (void)e;
    local_node *s = self;
    s->touched = true;
    if (wm > s->wm)
        s->wm = wm;
    while (s->a.nw > 0 && tide_trig_due(s->a.w[0].end, s->wm))
        accs_remove(&s->a, 0);
    return 0;
}

static int local_snapshot(void *self, int64_t id, tide_buf *out, tide_err *e)
{
    (void)id;
    local_node *s = self;
    tide_snap_w w;
    tide_snap_begin(&w, out, "preagg_local", 1);
    put_config(s->cfg, &w);
    tide_snap_put_i64(&w, s->wm);
    return tide_snap_end(&w, e);
}

static int local_restore(void *self, const void *buf, size_t len, tide_err *e)
{
    local_node *s = self;
    if (s->touched)
        return tide_err_set(e, TIDE_EINVAL, "preagg local node: restore into a node that already ran");
    tide_snap_r r;
    int rc = tide_snap_open(&r, buf, len, "preagg_local", 1, NULL, e);
    if (rc != 0 || (rc = check_config(s->cfg, &r, "preagg_local", e)) != 0)
        return rc;
    int64_t wm = tide_snap_get_i64(&r);
    if ((rc = tide_snap_close(&r, e)) != 0)
        return rc;
    s->wm = wm;
    return 0;
}

const tide_node_vt tide_node_preagg_local_vt = {
    .kind = "preagg_local",
    .batch = local_batch,
    .watermark = local_watermark,
    .snapshot = local_snapshot,
    .restore = local_restore,
    .free = local_free,
};

/* ---- the global node ---- */

/* The keyed operator of the one-phase plan (exec/winagg.h), fed with the
 * partials (tide_winagg_merge) and the rows passed on as they are
 * (tide_winagg_push_batch): it fires, orders, snapshots as there. */
typedef struct global_node {
    const tide_node_preagg_cfg *cfg;
    tide_winagg *op;
    tide_node_keyed rk; /* over the rows passed on (cfg.in); writes the result keys */
    uint32_t *pkeys;    /* the partial rows' key columns: 0..n_keys-1 */
    tide_schema *out_schema;
    tide_cbatch *out;
    tide_node_ctx *cx; /* during a callback */
    tide_err err;      /* a failure inside the operator's callbacks */
    tide_buf kbuf;
    const void **st;
    size_t *stlen;
} global_node;

static void global_free(void *self)
{
    global_node *s = self;
    if (!s)
        return;
    tide_winagg_free(s->op);
    tide_node_keyed_free(&s->rk);
    free(s->pkeys);
    tide_cbatch_free(s->out);
    tide_schema_free(s->out_schema);
    tide_buf_free(&s->kbuf);
    free(s->st);
    free(s->stlen);
    free(s);
}

static int global_on_row(void *ctx, const tide_winagg_row *r)
{
    global_node *s = ctx;
    const int64_t window[2] = {r->start, r->end};
    return tide_node_keyed_put_row(&s->rk, s->cx, s->out, r->op, r->key, r->key_len, window,
                                   r->vals, r->n_vals, &s->err);
}

/* The local node judged every row it passes on: one late here is a bug. */
static int global_on_late(void *ctx, const void *key, uint32_t key_len, int64_t ts, const tide_value *in,
                          size_t n_in)
{
    (void)key;
    (void)key_len;
    (void)in;
    (void)n_in;
    global_node *s = ctx;
    return tide_err_set(&s->err, TIDE_EFAILED, "preagg global node: a row at %lld came after its window fired",
                        (long long)ts);
}

int tide_node_preagg_global_make(void *cfg, uint32_t instance, uint32_t parallelism, void **self, tide_err *e)
{
    (void)instance;
    const tide_node_preagg_cfg *c = cfg;
    *self = NULL;
    int rc = check(c, e);
    if (rc != 0)
        return rc;
    global_node *s = calloc(1, sizeof *s);
    tide_winagg_call *calls = calloc(c->n_aggs, sizeof *calls);
    if (!s || !calls || !(s->pkeys = calloc(c->n_keys + 1, sizeof *s->pkeys)) ||
        !(s->st = calloc(c->n_aggs, sizeof *s->st)) || !(s->stlen = calloc(c->n_aggs, sizeof *s->stlen))) {
        free(calls);
        global_free(s);
        return tide_err_set(e, TIDE_ENOMEM, "preagg global node: out of memory");
    }
    s->cfg = c;
    for (uint32_t i = 0; i < c->n_keys; i++)
        s->pkeys[i] = i;
    for (uint32_t i = 0; i < c->n_aggs; i++) {
        calls[i] = c->aggs[i];
        calls[i].type = agg_type(c, i);
    }
    tide_winagg_config wc = {
        .window = c->window,
        .aggs = calls,
        .n_aggs = c->n_aggs,
        .n_inputs = c->n_values,
        .mode = TIDE_TRIG_ACCUMULATING,
        .emit = global_on_row,
        .late = global_on_late,
        .ctx = s,
        .capacity_hint = 1024 / (parallelism ? parallelism : 1),
    };
    if ((rc = tide_node_keyed_init(&s->rk, c->in, c->key_cols, c->n_keys, c->value_cols, c->n_values,
                                   (int)c->time_col, e)) != 0 ||
        (rc = tide_winagg_create(&wc, &s->op, e)) != 0 ||
        (rc = tide_node_preagg_global_schema(c, &s->out_schema, e)) != 0 ||
        (rc = tide_cbatch_create(&s->out, s->out_schema, c->batch_rows ? c->batch_rows : 4096, TIDE_CBATCH_OPS,
                                 e)) != 0) {
        free(calls);
        global_free(s);
        return rc;
    }
    free(calls);
    *self = s;
    return 0;
}

/* Input 0: partial rows, merged. */
static int global_partials(global_node *s, const tide_cbatch *b, const uint32_t *sel, uint32_t n, int64_t now,
                           tide_err *e)
{
    const tide_node_preagg_cfg *c = s->cfg;
    uint32_t nk = c->n_keys;
    for (uint32_t j = 0; j < n; j++) {
        uint32_t row = sel ? sel[j] : j;
        size_t kl = tide_key_row_size(b, row, s->pkeys, nk);
        tide_buf_reset(&s->kbuf);
        if (kl > UINT32_MAX || tide_buf_reserve(&s->kbuf, kl + 1) != 0)
            return tide_err_set(e, TIDE_ENOMEM, "preagg global node: out of memory");
        tide_key_row_put(b, row, s->pkeys, nk, s->kbuf.data);
        int64_t start = tide_cbatch_i64(b, nk, row);
        tide_win_range r;
        tide_win_assign(&c->window, start, &r);
        if (r.start != start)
            return tide_err_set(e, TIDE_ECORRUPT, "preagg global node: a partial's window_start %lld is no window's start",
                                (long long)start);
        for (uint32_t i = 0; i < c->n_aggs; i++) {
            tide_str p = tide_cbatch_str(b, nk + 1 + i, row);
            s->st[i] = p.ptr;
            s->stlen[i] = p.len;
        }
        int rc = tide_winagg_merge(s->op, s->kbuf.data, (uint32_t)kl, start, s->st, s->stlen, now, e);
        if (rc != 0)
            return tide_node_keyed_failed(&s->err, rc, e);
    }
    return 0;
}

static int global_batch(void *self, uint32_t in, const tide_cbatch *b, const uint32_t *sel, uint32_t n,
                        tide_node_ctx *cx, tide_err *e)
{
    global_node *s = self;
    s->cx = cx;
    int64_t now = tide_clock_now_ms(tide_node_clock(cx));
    int rc;
    if (in == 0) {
        rc = global_partials(s, b, sel, n, now, e);
    } else { /* input 1: rows passed on as they are */
        uint32_t skipped = 0;
        if ((rc = tide_node_keyed_prepare(&s->rk, b, sel, n, false, &skipped, e)) != 0)
            return rc;
        if (skipped) /* the local node sends none */
            return tide_err_set(e, TIDE_EFAILED, "preagg global node: a row without an event time");
        const tide_node_keyed *k = &s->rk;
        rc = tide_winagg_push_batch(s->op, k->n, k->keys, k->klen, k->ts, k->vals, now, e);
        if (rc != 0)
            rc = tide_node_keyed_failed(&s->err, rc, e);
    }
    if (rc == 0) /* rows of late firings: none without allowed lateness */
        rc = tide_node_keyed_flush(s->cx, s->out, e);
    return rc;
}

static int global_watermark(void *self, int64_t wm, tide_node_ctx *cx, tide_err *e)
{
    global_node *s = self;
    s->cx = cx;
    int rc = tide_winagg_advance_watermark(s->op, wm, tide_clock_now_ms(tide_node_clock(cx)), e);
    if (rc != 0)
        return tide_node_keyed_failed(&s->err, rc, e);
    return tide_node_keyed_flush(s->cx, s->out, e);
}

/* The operator's own section (exec/winagg.h: it checks the window and the
 * aggregates). */
static int global_snapshot(void *self, int64_t id, tide_buf *out, tide_err *e)
{
    (void)id;
    global_node *s = self;
    return tide_winagg_snapshot(s->op, out, e);
}

static int global_restore(void *self, const void *buf, size_t len, tide_err *e)
{
    global_node *s = self;
    return tide_winagg_restore(s->op, buf, len, e);
}

const tide_node_vt tide_node_preagg_global_vt = {
    .kind = "preagg_global",
    .batch = global_batch,
    .watermark = global_watermark,
    .snapshot = global_snapshot,
    .restore = global_restore,
    .free = global_free,
};
