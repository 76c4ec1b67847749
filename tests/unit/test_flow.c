/* test_flow.c - the dataflow graph of nodes: chaining, hash exchange,
 * gather, watermark alignment and holds, no deadlock between branches of one
 * source, and barriers: every instance snapshots once, and a flow restored
 * from the snapshots finishes with the uninterrupted run's output; the
 * runtime's watermarks come back with it (a two-input node whose inputs
 * were at different watermarks at the barrier aligns as before; a held
 * watermark stays held). */
#include "exec/flow.h"
#include "state/snap.h"
#include "tt.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#define TT_OK_RC(x)            \
    do {                       \
        int rc_ = (x);         \
        if (rc_)               \
            return rc_;        \
    } while (0)

/* Rows: ts, k, v, srcwm (the source's watermark just before the row). */
enum { C_TS, C_K, C_V, C_W, NCOLS };

static tide_schema *schema4(void)
{
    tide_schema *s;
    tide_err e = {0};
    if (tide_schema_create(&s, &e) || tide_schema_add(s, "ts", TIDE_TYPE_TIMESTAMP, false, &e) ||
        tide_schema_add(s, "k", TIDE_TYPE_BIGINT, false, &e) ||
        tide_schema_add(s, "v", TIDE_TYPE_BIGINT, false, &e) ||
        tide_schema_add(s, "w", TIDE_TYPE_BIGINT, false, &e))
        abort();
    return s;
}

/* ---- the source: n rows, ts = i with a little disorder, watermark ts - 3
 * after every `step` rows; optionally stops at row `pause_at` until
 * `resume` is set (so a barrier lands exactly there).  With jump_by > 0,
 * rows from jump_at on are jump_by later, and a watermark just below them
 * goes out before them, alone (an input that is ahead on watermarks with
 * no rows to show for it). ---- */

typedef struct gen_cfg {
    int64_t n, step, pause_at;
    int64_t jump_at, jump_by;
    uint32_t nkeys;
    _Atomic int paused, resume;
    const tide_schema *s;
} gen_cfg;

typedef struct gen {
    gen_cfg *cfg;
    int64_t next, maxts, wm;
    bool jumped;
    tide_cbatch *b;
} gen;

static int64_t gen_ts(int64_t i) { return i + ((i * 7) % 5) - 2; }
static int64_t gen_row_ts(const gen_cfg *c, int64_t i)
{
    return gen_ts(i) + (c->jump_by && i >= c->jump_at ? c->jump_by : 0);
}
static int64_t gen_key(const gen_cfg *c, int64_t i) { return (int64_t)((uint64_t)(i * 2654435761u) % c->nkeys); }

static int gen_poll(void *self, tide_node_ctx *cx, tide_err *e)
{
    gen *g = self;
    gen_cfg *c = g->cfg;
    if (g->next >= c->n)
        return 0;
    if (c->jump_by && g->next == c->jump_at && !g->jumped) {
        g->jumped = true;
        g->wm = gen_row_ts(c, c->jump_at) - 10;
        int rc = tide_node_emit_watermark(cx, g->wm, e);
        return rc ? rc : 1;
    }
    if (g->next == c->pause_at && !atomic_load(&c->resume)) {
        atomic_store(&c->paused, 1);
        return TIDE_EAGAIN;
    }
    tide_cbatch_reset(g->b);
    int64_t end = g->next + c->step;
    if (end > c->n)
        end = c->n;
    if (c->pause_at > g->next && end > c->pause_at)
        end = c->pause_at;
    if (c->jump_by && c->jump_at > g->next && end > c->jump_at)
        end = c->jump_at;
    for (; g->next < end; g->next++) {
        uint32_t r = 0;
        tide_cbatch_add_row(g->b, &r);
        int64_t ts = gen_row_ts(c, g->next);
        tide_cbatch_set_i64(g->b, C_TS, r, ts);
        tide_cbatch_set_i64(g->b, C_K, r, gen_key(c, g->next));
        tide_cbatch_set_i64(g->b, C_V, r, g->next);
        tide_cbatch_set_i64(g->b, C_W, r, g->wm);
        if (ts > g->maxts)
            g->maxts = ts;
    }
    int rc = tide_node_emit(cx, 0, g->b, NULL, tide_cbatch_rows(g->b), e);
    if (rc)
        return rc;
    if (g->maxts - 3 > g->wm)
        g->wm = g->maxts - 3;
    if ((rc = tide_node_emit_watermark(cx, g->wm, e)) != 0)
        return rc;
    return 1;
}

static int gen_snapshot(void *self, int64_t id, tide_buf *out, tide_err *e)
{
    (void)id;
    gen *g = self;
    tide_snap_w w;
    tide_snap_begin(&w, out, "testgen", 1);
    tide_snap_put_i64(&w, g->next);
    tide_snap_put_i64(&w, g->maxts);
    tide_snap_put_i64(&w, g->wm);
    tide_snap_put_bool(&w, g->jumped);
    return tide_snap_end(&w, e);
}

static int gen_restore(void *self, const void *buf, size_t len, tide_err *e)
{
    gen *g = self;
    tide_snap_r r;
    int rc = tide_snap_open(&r, buf, len, "testgen", 1, NULL, e);
    if (rc)
        return rc;
    g->next = tide_snap_get_i64(&r);
    g->maxts = tide_snap_get_i64(&r);
    g->wm = tide_snap_get_i64(&r);
    g->jumped = tide_snap_get_bool(&r);
    return tide_snap_close(&r, e);
}

static void gen_free(void *self)
{
    gen *g = self;
    tide_cbatch_free(g->b);
    free(g);
}

static const tide_node_vt gen_vt = {
    .kind = "testgen", .poll = gen_poll, .snapshot = gen_snapshot, .restore = gen_restore, .free = gen_free};

static int gen_make(void *ctx, uint32_t k, uint32_t p, void **self, tide_err *e)
{
    (void)k;
    (void)p;
    gen_cfg *c = ctx;
    gen *g = calloc(1, sizeof *g);
    if (!g)
        return TIDE_ENOMEM;
    g->cfg = c;
    g->maxts = INT64_MIN + 100;
    g->wm = INT64_MIN;
    int rc = tide_cbatch_create(&g->b, c->s, (uint32_t)c->step, 0, e);
    if (rc) {
        free(g);
        return rc;
    }
    *self = g;
    return 0;
}

/* ---- pass: forwards even rows of v (a filter), optionally holding the
 * watermark back by `hold` ---- */

typedef struct pass_cfg {
    int64_t hold;
    bool even_only;
} pass_cfg;

typedef struct pass {
    pass_cfg *cfg;
    uint32_t *sel;
    uint64_t seen;
} pass;

static int pass_batch(void *self, uint32_t in, const tide_cbatch *b, const uint32_t *sel, uint32_t n,
                      tide_node_ctx *cx, tide_err *e)
{
    (void)in;
    pass *p = self;
    uint32_t m = 0;
    p->sel = realloc(p->sel, (n ? n : 1) * sizeof *p->sel);
    if (!p->sel)
        return TIDE_ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t r = sel ? sel[i] : i;
        if (!p->cfg->even_only || tide_cbatch_i64(b, C_V, r) % 2 == 0)
            p->sel[m++] = r;
    }
    p->seen += n;
    return tide_node_emit(cx, 0, b, p->sel, m, e);
}

static int pass_wm(void *self, int64_t wm, tide_node_ctx *cx, tide_err *e)
{
    (void)e;
    pass *p = self;
    if (p->cfg->hold && wm < TIDE_TS_MAX)
        tide_node_hold(cx, wm - p->cfg->hold);
    return 0;
}

static void pass_free(void *self)
{
    pass *p = self;
    free(p->sel);
    free(p);
}

static const tide_node_vt pass_vt = {.kind = "pass", .batch = pass_batch, .watermark = pass_wm, .free = pass_free};

static int pass_make(void *ctx, uint32_t k, uint32_t p, void **self, tide_err *e)
{
    (void)k;
    (void)p;
    (void)e;
    pass *q = calloc(1, sizeof *q);
    if (!q)
        return TIDE_ENOMEM;
    q->cfg = ctx;
    *self = q;
    return 0;
}

/* ---- ksum: per key, sum of v; at the end emits (ts 0, k, sum, instance).
 * Records the keys it saw (a key must meet one instance only) and, per row,
 * whether it came at the node watermark the alignment promises. ---- */

typedef struct ksum_cfg {
    uint32_t nkeys;
    int64_t hold_in[2]; /* expected lag of each input's watermark behind srcwm */
    _Atomic uint64_t misaligned, rows;
    bool trace;          /* record each row's (v, node watermark) per instance and input */
    int64_t *tr[8];      /* [instance * 2 + input], instances < 4 */
    size_t n_tr[8], cap_tr[8];
    int owner[4096];    /* key -> instance + 1 */
    pthread_mutex_t mu;
} ksum_cfg;

typedef struct ksum {
    ksum_cfg *cfg;
    uint32_t idx;
    int64_t *sum;
    bool *has;
    int64_t wm;
    tide_cbatch *out;
} ksum;

static int ksum_batch(void *self, uint32_t in, const tide_cbatch *b, const uint32_t *sel, uint32_t n,
                      tide_node_ctx *cx, tide_err *e)
{
    (void)cx;
    (void)e;
    ksum *s = self;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t r = sel ? sel[i] : i;
        int64_t k = tide_cbatch_i64(b, C_K, r);
        s->sum[k] += tide_cbatch_i64(b, C_V, r);
        s->has[k] = true;
        int64_t srcwm = tide_cbatch_i64(b, C_W, r);
        int64_t expect = srcwm == INT64_MIN ? INT64_MIN : srcwm - s->cfg->hold_in[in < 2 ? in : 0];
        if (s->wm != expect && !(srcwm == INT64_MIN && s->wm == INT64_MIN))
            atomic_fetch_add(&s->cfg->misaligned, 1);
        atomic_fetch_add(&s->cfg->rows, 1);
        pthread_mutex_lock(&s->cfg->mu);
        if (s->cfg->trace && in < 2 && s->idx < 4) {
            ksum_cfg *c = s->cfg;
            uint32_t t = s->idx * 2 + in;
            if (c->n_tr[t] + 2 > c->cap_tr[t]) {
                c->cap_tr[t] = c->cap_tr[t] ? 2 * c->cap_tr[t] : 1024;
                c->tr[t] = realloc(c->tr[t], c->cap_tr[t] * sizeof *c->tr[t]);
                if (!c->tr[t])
                    abort();
            }
            c->tr[t][c->n_tr[t]++] = tide_cbatch_i64(b, C_V, r);
            c->tr[t][c->n_tr[t]++] = s->wm;
        }
        if (s->cfg->owner[k] == 0)
            s->cfg->owner[k] = (int)s->idx + 1;
        else if (s->cfg->owner[k] != (int)s->idx + 1)
            s->cfg->owner[k] = -1;
        pthread_mutex_unlock(&s->cfg->mu);
    }
    return 0;
}

static int ksum_wm(void *self, int64_t wm, tide_node_ctx *cx, tide_err *e)
{
    (void)cx;
    (void)e;
    ((ksum *)self)->wm = wm;
    return 0;
}

static int ksum_end(void *self, tide_node_ctx *cx, tide_err *e)
{
    ksum *s = self;
    tide_cbatch_reset(s->out);
    for (uint32_t k = 0; k < s->cfg->nkeys; k++) {
        if (!s->has[k])
            continue;
        uint32_t r = 0;
        if (tide_cbatch_full(s->out)) {
            int rc = tide_node_emit(cx, 0, s->out, NULL, tide_cbatch_rows(s->out), e);
            if (rc)
                return rc;
            tide_cbatch_reset(s->out);
        }
        tide_cbatch_add_row(s->out, &r);
        tide_cbatch_set_i64(s->out, C_TS, r, 0);
        tide_cbatch_set_i64(s->out, C_K, r, k);
        tide_cbatch_set_i64(s->out, C_V, r, s->sum[k]);
        tide_cbatch_set_i64(s->out, C_W, r, s->idx);
    }
    return tide_node_emit(cx, 0, s->out, NULL, tide_cbatch_rows(s->out), e);
}

static int ksum_snapshot(void *self, int64_t id, tide_buf *out, tide_err *e)
{
    (void)id;
    ksum *s = self;
    tide_snap_w w;
    tide_snap_begin(&w, out, "ksum", 1);
    tide_snap_put_i64(&w, s->wm);
    for (uint32_t k = 0; k < s->cfg->nkeys; k++) {
        tide_snap_put_bool(&w, s->has[k]);
        tide_snap_put_i64(&w, s->sum[k]);
    }
    return tide_snap_end(&w, e);
}

static int ksum_restore(void *self, const void *buf, size_t len, tide_err *e)
{
    ksum *s = self;
    tide_snap_r r;
    int rc = tide_snap_open(&r, buf, len, "ksum", 1, NULL, e);
    if (rc)
        return rc;
    s->wm = tide_snap_get_i64(&r);
    for (uint32_t k = 0; k < s->cfg->nkeys; k++) {
        s->has[k] = tide_snap_get_bool(&r);
        s->sum[k] = tide_snap_get_i64(&r);
    }
    return tide_snap_close(&r, e);
}

static void ksum_free(void *self)
{
    ksum *s = self;
    free(s->sum);
    free(s->has);
    tide_cbatch_free(s->out);
    free(s);
}

static const tide_node_vt ksum_vt = {.kind = "ksum",
                                     .batch = ksum_batch,
                                     .watermark = ksum_wm,
                                     .end = ksum_end,
                                     .snapshot = ksum_snapshot,
                                     .restore = ksum_restore,
                                     .free = ksum_free};

static tide_schema *g_schema;

static int ksum_make(void *ctx, uint32_t k, uint32_t p, void **self, tide_err *e)
{
    (void)p;
    ksum_cfg *c = ctx;
    ksum *s = calloc(1, sizeof *s);
    if (!s)
        return TIDE_ENOMEM;
    s->cfg = c;
    s->idx = k;
    s->wm = INT64_MIN;
    s->sum = calloc(c->nkeys, sizeof *s->sum);
    s->has = calloc(c->nkeys, sizeof *s->has);
    int rc = tide_cbatch_create(&s->out, g_schema, 256, 0, e);
    if (!s->sum || !s->has || rc) {
        ksum_free(s);
        return rc ? rc : TIDE_ENOMEM;
    }
    *self = s;
    return 0;
}

/* ---- collect: the sink; appends (k, v) pairs and the watermarks it saw ---- */

typedef struct collect_cfg {
    int64_t *kv; /* pairs */
    size_t n, cap;
    int64_t wms[1 << 16];
    size_t n_wm;
    size_t base; /* rows before a restore */
} collect_cfg;

static int collect_batch(void *self, uint32_t in, const tide_cbatch *b, const uint32_t *sel, uint32_t n,
                         tide_node_ctx *cx, tide_err *e)
{
    (void)in;
    (void)cx;
    (void)e;
    collect_cfg *c = *(collect_cfg **)self;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t r = sel ? sel[i] : i;
        if (c->n + 2 > c->cap) {
            c->cap = c->cap ? c->cap * 2 : 1024;
            c->kv = realloc(c->kv, c->cap * sizeof *c->kv);
            if (!c->kv)
                return TIDE_ENOMEM;
        }
        c->kv[c->n++] = tide_cbatch_i64(b, C_K, r);
        c->kv[c->n++] = tide_cbatch_i64(b, C_V, r);
    }
    return 0;
}

static int collect_wm(void *self, int64_t wm, tide_node_ctx *cx, tide_err *e)
{
    (void)cx;
    (void)e;
    collect_cfg *c = *(collect_cfg **)self;
    if (c->n_wm < sizeof c->wms / sizeof c->wms[0])
        c->wms[c->n_wm++] = wm;
    return 0;
}

static int collect_snapshot(void *self, int64_t id, tide_buf *out, tide_err *e)
{
    (void)id;
    collect_cfg *c = *(collect_cfg **)self;
    tide_snap_w w;
    tide_snap_begin(&w, out, "collect", 1);
    tide_snap_put_u64(&w, c->n);
    return tide_snap_end(&w, e);
}

static int collect_restore(void *self, const void *buf, size_t len, tide_err *e)
{
    collect_cfg *c = *(collect_cfg **)self;
    tide_snap_r r;
    int rc = tide_snap_open(&r, buf, len, "collect", 1, NULL, e);
    if (rc)
        return rc;
    c->base = tide_snap_get_u64(&r);
    return tide_snap_close(&r, e);
}

static void collect_free(void *self) { free(self); }

static const tide_node_vt collect_vt = {.kind = "collect",
                                        .batch = collect_batch,
                                        .watermark = collect_wm,
                                        .snapshot = collect_snapshot,
                                        .restore = collect_restore,
                                        .free = collect_free};

static int collect_make(void *ctx, uint32_t k, uint32_t p, void **self, tide_err *e)
{
    (void)k;
    (void)p;
    (void)e;
    collect_cfg **h = malloc(sizeof *h);
    if (!h)
        return TIDE_ENOMEM;
    *h = ctx;
    *self = h;
    return 0;
}

/* ---- building ---- */

typedef struct rig {
    gen_cfg g;
    pass_cfg pa, pb;
    ksum_cfg ks;
    collect_cfg co;
} rig;

static void rig_init(rig *r, int64_t n, int64_t step, uint32_t nkeys)
{
    memset(r, 0, sizeof *r);
    r->g.n = n;
    r->g.step = step;
    r->g.nkeys = nkeys;
    r->g.pause_at = -1;
    r->g.s = g_schema;
    r->ks.nkeys = nkeys;
    pthread_mutex_init(&r->ks.mu, NULL);
}

static void rig_free(rig *r)
{
    free(r->co.kv);
    for (int t = 0; t < 8; t++)
        free(r->ks.tr[t]);
    pthread_mutex_destroy(&r->ks.mu);
}

static tide_flow_node spec(const char *name, const tide_node_vt *vt, tide_flow_make_fn mk, void *ctx,
                           uint32_t par)
{
    tide_flow_node n = {.name = name, .vt = vt, .make = mk, .make_ctx = ctx, .parallelism = par, .n_out = 1};
    n.out_schema[0] = g_schema;
    return n;
}

/* gen -> pass (chained) -> hash(k) -> ksum[P] -> gather -> collect */
static int build_keyed(tide_flow *f, rig *r, uint32_t P, tide_err *e)
{
    int src, pa, ks, co;
    tide_flow_node n;
    uint32_t key = C_K;
    n = spec("gen", &gen_vt, gen_make, &r->g, 1);
    TT_OK_RC(tide_flow_add(f, &n, &src, e));
    n = spec("filter", &pass_vt, pass_make, &r->pa, 1);
    TT_OK_RC(tide_flow_add(f, &n, &pa, e));
    n = spec("ksum", &ksum_vt, ksum_make, &r->ks, P);
    TT_OK_RC(tide_flow_add(f, &n, &ks, e));
    n = spec("collect", &collect_vt, collect_make, &r->co, 1);
    TT_OK_RC(tide_flow_add(f, &n, &co, e));
    TT_OK_RC(tide_flow_connect(f, src, 0, pa, TIDE_FLOW_FORWARD, NULL, 0, e));
    TT_OK_RC(tide_flow_connect(f, pa, 0, ks, TIDE_FLOW_HASH, &key, 1, e));
    TT_OK_RC(tide_flow_connect(f, ks, 0, co, TIDE_FLOW_GATHER, NULL, 0, e));
    return 0;
}

/* The expected sums: brute force over the generator's rows. */
static void expect_sums(const rig *r, int64_t *sum, bool *has)
{
    for (int64_t i = 0; i < r->g.n; i++) {
        if (r->pa.even_only && i % 2)
            continue;
        int64_t k = gen_key(&r->g, i);
        sum[k] += i;
        has[k] = true;
    }
}

static int check_sums(const rig *r)
{
    int64_t sum[4096] = {0};
    bool has[4096] = {0};
    expect_sums(r, sum, has);
    size_t nk = 0;
    for (uint32_t k = 0; k < r->g.nkeys; k++)
        nk += has[k];
    if (r->co.n != 2 * nk)
        return -1;
    for (size_t i = 0; i < r->co.n; i += 2) {
        int64_t k = r->co.kv[i];
        if (k < 0 || k >= (int64_t)r->g.nkeys || !has[k] || sum[k] != r->co.kv[i + 1])
            return -2;
        has[k] = false; /* each key once */
    }
    return 0;
}

static void test_keyed_parallel(void)
{
    g_schema = schema4();
    for (uint32_t P = 1; P <= 4; P++) {
        rig r;
        rig_init(&r, 20000, 100, 97);
        r.pa.even_only = true;
        tide_flow *f;
        tide_err e = {0};
        tide_flow_cfg cfg = {.batch_rows = 64, .chan_capacity = 2};
        TT_OK(tide_flow_create(&f, &cfg, &e));
        TT_ASSERT_EQ_INT(build_keyed(f, &r, P, &e), 0);
        TT_ASSERT_MSG(tide_flow_run(f, &e) == 0, "%s", e.msg);
        TT_ASSERT_EQ_INT(check_sums(&r), 0);
        /* one task for gen+filter, P for ksum, one for collect */
        TT_ASSERT_EQ_INT(tide_flow_task_count(f), P + 2);
        for (uint32_t k = 0; k < r.g.nkeys; k++)
            TT_ASSERT(r.ks.owner[k] >= 0); /* no key in two instances */
        /* the sink saw every watermark step of the source, in order */
        TT_ASSERT(r.co.n_wm > 100);
        for (size_t i = 1; i < r.co.n_wm; i++)
            TT_ASSERT(r.co.wms[i] > r.co.wms[i - 1]);
        TT_ASSERT(r.co.wms[r.co.n_wm - 1] == TIDE_TS_MAX);
        TT_ASSERT_EQ_INT(atomic_load(&r.ks.misaligned), 0);
        tide_flow_free(f);
        rig_free(&r);
    }
    tide_schema_free(g_schema);
}

/* One source, two branches (one holding its watermark far back), joined
 * again by a two-input node: with tiny channels this deadlocks unless the
 * input that is ahead is drained into the task's queue; every row is
 * handled at the watermark alignment promises.  Checked against sums
 * computed from the generator directly. */
static void check_branches_of_one_source(uint32_t workers)
{
    g_schema = schema4();
    rig r;
    rig_init(&r, 30000, 50, 31);
    r.pb.hold = 5000; /* branch b's watermark lags by 5000 */
    r.ks.hold_in[0] = 0;
    r.ks.hold_in[1] = 5000;
    tide_flow *f;
    tide_err e = {0};
    tide_flow_cfg cfg = {.batch_rows = 16, .chan_capacity = 1, .workers = workers};
    TT_OK(tide_flow_create(&f, &cfg, &e));
    int src, a, b, ks, co;
    tide_flow_node n = spec("gen", &gen_vt, gen_make, &r.g, 1);
    TT_OK(tide_flow_add(f, &n, &src, &e));
    n = spec("a", &pass_vt, pass_make, &r.pa, 1);
    TT_OK(tide_flow_add(f, &n, &a, &e));
    n = spec("b", &pass_vt, pass_make, &r.pb, 1);
    TT_OK(tide_flow_add(f, &n, &b, &e));
    n = spec("both", &ksum_vt, ksum_make, &r.ks, 1);
    TT_OK(tide_flow_add(f, &n, &ks, &e));
    n = spec("collect", &collect_vt, collect_make, &r.co, 1);
    TT_OK(tide_flow_add(f, &n, &co, &e));
    /* a and b are separate tasks (BROADCAST of parallelism 1 is a channel) */
    TT_OK(tide_flow_connect(f, src, 0, a, TIDE_FLOW_BROADCAST, NULL, 0, &e));
    TT_OK(tide_flow_connect(f, src, 0, b, TIDE_FLOW_BROADCAST, NULL, 0, &e));
    TT_OK(tide_flow_connect(f, a, 0, ks, TIDE_FLOW_FORWARD, NULL, 0, &e));
    TT_OK(tide_flow_connect(f, b, 0, ks, TIDE_FLOW_FORWARD, NULL, 0, &e));
    TT_OK(tide_flow_connect(f, ks, 0, co, TIDE_FLOW_FORWARD, NULL, 0, &e));
    TT_ASSERT_MSG(tide_flow_run(f, &e) == 0, "%s", e.msg);
    tide_sched_stats st;
    tide_flow_sched_stats(f, &st);
    fprintf(stderr, "  %u workers: %llu quanta, %llu parks, %llu stalls, %llu timer wakes\n", st.workers,
            (unsigned long long)st.quanta, (unsigned long long)st.parks, (unsigned long long)st.stalls,
            (unsigned long long)st.timer_wakes);
    TT_ASSERT(st.workers <= (workers ? workers : tide_sched_default_workers()));
    TT_ASSERT_EQ_INT(atomic_load(&r.ks.rows), 2 * 30000);
    TT_ASSERT_EQ_INT(atomic_load(&r.ks.misaligned), 0);
    /* each key's sum counts both branches */
    int64_t sum[64] = {0};
    for (int64_t i = 0; i < r.g.n; i++)
        sum[gen_key(&r.g, i)] += 2 * i;
    TT_ASSERT_EQ_INT(r.co.n, 2 * 31);
    for (size_t i = 0; i < r.co.n; i += 2)
        TT_ASSERT(sum[r.co.kv[i]] == r.co.kv[i + 1]);
    tide_flow_free(f);
    rig_free(&r);
    tide_schema_free(g_schema);
}

/* on the default pool, and on one worker: every task in turn on one
 * thread, the stall detector the only way on */
static void test_branches_of_one_source(void)
{
    check_branches_of_one_source(0);
    check_branches_of_one_source(1);
}

typedef struct injector {
    tide_flow *f;
    gen_cfg *g;
    int64_t id;
} injector;

static void *inject_at_pause(void *arg)
{
    injector *in = arg;
    while (!atomic_load(&in->g->paused))
        sched_yield();
    in->id = tide_flow_inject_barrier(in->f);
    atomic_store(&in->g->resume, 1);
    return NULL;
}

/* A barrier at row 7000: every instance snapshots once; a new flow restored
 * from them and run to the end gives the same final output as the run that
 * was not interrupted (the sink's rows after the snapshot point). */
static void test_barrier_snapshot_restore(void)
{
    g_schema = schema4();
    for (uint32_t P = 1; P <= 3; P += 2) {
        rig r;
        rig_init(&r, 12000, 100, 53);
        r.g.pause_at = 7000;
        tide_flow *f;
        tide_err e = {0};
        tide_flow_cfg cfg = {.batch_rows = 64, .chan_capacity = 2};
        TT_OK(tide_flow_create(&f, &cfg, &e));
        TT_ASSERT_EQ_INT(build_keyed(f, &r, P, &e), 0);
        injector inj = {.f = f, .g = &r.g};
        TT_OK(tide_flow_start(f, &e));
        pthread_t th;
        pthread_create(&th, NULL, inject_at_pause, &inj);
        TT_ASSERT_MSG(tide_flow_wait(f, &e) == 0, "%s", e.msg);
        pthread_join(th, NULL);
        TT_ASSERT_EQ_INT(check_sums(&r), 0);
        TT_ASSERT_EQ_INT(inj.id, 1);
        TT_ASSERT_EQ_INT(tide_flow_snapshot_count(f, 1), tide_flow_instance_count(f));
        TT_ASSERT_EQ_INT(tide_flow_instance_count(f), P + 3);
        tide_buf store = {0};
        TT_ASSERT(tide_flow_snapshot(f, 1, &store, &e));
        size_t before = r.co.n;
        tide_flow_free(f);

        /* restore into a fresh flow and finish */
        rig r2;
        rig_init(&r2, 12000, 100, 53);
        TT_OK(tide_flow_create(&f, &cfg, &e));
        TT_ASSERT_EQ_INT(build_keyed(f, &r2, P, &e), 0);
        TT_OK(tide_flow_restore(f, &store, &e));
        TT_ASSERT_MSG(tide_flow_run(f, &e) == 0, "%s", e.msg);
        TT_ASSERT_EQ_INT(r2.co.base, 0); /* the sink had nothing before the barrier */
        TT_ASSERT_EQ_INT(r2.co.n, before);
        TT_ASSERT(memcmp(r2.co.kv, r.co.kv, before * sizeof *r.co.kv) == 0 || P > 1);
        TT_ASSERT_EQ_INT(check_sums(&r2), 0); /* the sums include the rows before the barrier */
        tide_flow_free(f);

        /* a damaged store is refused */
        store.data[store.len / 2] ^= 1;
        rig r3;
        rig_init(&r3, 12000, 100, 53);
        TT_OK(tide_flow_create(&f, &cfg, &e));
        TT_ASSERT_EQ_INT(build_keyed(f, &r3, P, &e), 0);
        TT_OK(tide_flow_restore(f, &store, &e));
        tide_err_clear(&e);
        TT_ASSERT_EQ_INT(tide_flow_run(f, &e), TIDE_ECORRUPT);
        tide_flow_free(f);
        tide_buf_free(&store);
        rig_free(&r);
        rig_free(&r2);
        rig_free(&r3);
    }
    tide_schema_free(g_schema);
}

/* ---- checkpoints of the runtime's watermarks ---- */

/* Run f until every source of gens[0..n) paused, inject a barrier, wait
 * until every instance snapshotted it, take the store and cancel: the run
 * stops exactly at the barrier (the sources never resume). */
static int run_to_barrier(tide_flow *f, gen_cfg *const *gens, int n, tide_buf *store, tide_err *e)
{
    int rc = tide_flow_start(f, e);
    if (rc)
        return rc;
    for (int i = 0; i < n; i++)
        while (!atomic_load(&gens[i]->paused))
            sched_yield();
    int64_t id = tide_flow_inject_barrier(f);
    while (tide_flow_snapshot_count(f, id) < tide_flow_instance_count(f))
        sched_yield();
    if (tide_flow_snapshot_count(f, id) != tide_flow_instance_count(f) || !tide_flow_snapshot(f, id, store, e))
        rc = TIDE_EFAILED;
    tide_flow_cancel(f);
    tide_err we = {0};
    if (tide_flow_wait(f, &we) != TIDE_EFAILED)
        rc = TIDE_EFAILED;
    return rc;
}

/* Two sources into a two-input node (hashed, P instances).  Source a jumps
 * ahead on watermarks (a watermark alone, then rows far later) and pauses
 * there; source b pauses behind it.  At the barrier the node's inputs are at
 * different watermarks: input a is ahead and not read until b catches up.
 * A flow restored from the barrier must start there too: a's rows after
 * the barrier are read only once b's watermark reached theirs.  Each row's
 * node watermark (per instance and input) and the final sums are those of
 * the uninterrupted run. */
typedef struct rig2 {
    gen_cfg ga, gb;
    ksum_cfg ks;
    collect_cfg co;
} rig2;

static void rig2_init(rig2 *r, bool pause)
{
    memset(r, 0, sizeof *r);
    r->ga = (gen_cfg){.n = 12000, .step = 100, .jump_at = 4000, .jump_by = 20000, .nkeys = 37, .s = g_schema};
    r->gb = (gen_cfg){.n = 30000, .step = 77, .nkeys = 37, .s = g_schema};
    /* every run cuts the sources' batches at the pause points (the rows'
     * watermarks depend on the batches); only the barrier run stops there */
    r->ga.pause_at = 4000;
    r->gb.pause_at = 6000;
    atomic_store(&r->ga.resume, !pause);
    atomic_store(&r->gb.resume, !pause);
    r->ks.nkeys = 37;
    r->ks.trace = true;
    pthread_mutex_init(&r->ks.mu, NULL);
}

static void rig2_free(rig2 *r)
{
    free(r->co.kv);
    for (int t = 0; t < 8; t++)
        free(r->ks.tr[t]);
    pthread_mutex_destroy(&r->ks.mu);
}

static int build_two(tide_flow *f, rig2 *r, uint32_t P, tide_err *e)
{
    int a, b, ks, co;
    uint32_t key = C_K;
    tide_flow_node n = spec("a", &gen_vt, gen_make, &r->ga, 1);
    TT_OK_RC(tide_flow_add(f, &n, &a, e));
    n = spec("b", &gen_vt, gen_make, &r->gb, 1);
    TT_OK_RC(tide_flow_add(f, &n, &b, e));
    n = spec("both", &ksum_vt, ksum_make, &r->ks, P);
    TT_OK_RC(tide_flow_add(f, &n, &ks, e));
    n = spec("collect", &collect_vt, collect_make, &r->co, 1);
    TT_OK_RC(tide_flow_add(f, &n, &co, e));
    TT_OK_RC(tide_flow_connect(f, a, 0, ks, TIDE_FLOW_HASH, &key, 1, e));
    TT_OK_RC(tide_flow_connect(f, b, 0, ks, TIDE_FLOW_HASH, &key, 1, e));
    TT_OK_RC(tide_flow_connect(f, ks, 0, co, TIDE_FLOW_GATHER, NULL, 0, e));
    return 0;
}

static void test_two_inputs_restore(void)
{
    g_schema = schema4();
    for (uint32_t P = 1; P <= 2; P++) {
        tide_err e = {0};
        tide_flow_cfg cfg = {.batch_rows = 64, .chan_capacity = 2};
        rig2 *r = calloc(3, sizeof *r);
        TT_ASSERT(r != NULL);
        tide_flow *f;
        /* uninterrupted */
        rig2_init(&r[0], false);
        TT_OK(tide_flow_create(&f, &cfg, &e));
        TT_ASSERT_EQ_INT(build_two(f, &r[0], P, &e), 0);
        TT_ASSERT_MSG(tide_flow_run(f, &e) == 0, "%s", e.msg);
        tide_flow_free(f);
        /* to the barrier */
        rig2_init(&r[1], true);
        TT_OK(tide_flow_create(&f, &cfg, &e));
        TT_ASSERT_EQ_INT(build_two(f, &r[1], P, &e), 0);
        tide_buf store = {0};
        gen_cfg *gens[2] = {&r[1].ga, &r[1].gb};
        TT_ASSERT_MSG(run_to_barrier(f, gens, 2, &store, &e) == 0, "%s", e.msg);
        tide_flow_free(f);
        /* restored, to the end */
        rig2_init(&r[2], false);
        TT_OK(tide_flow_create(&f, &cfg, &e));
        TT_ASSERT_EQ_INT(build_two(f, &r[2], P, &e), 0);
        TT_OK(tide_flow_restore(f, &store, &e));
        TT_ASSERT_MSG(tide_flow_run(f, &e) == 0, "%s", e.msg);
        tide_flow_free(f);
        tide_buf_free(&store);
        for (int k = 0; k < 3; k++)
            TT_ASSERT_MSG(atomic_load(&r[k].ks.misaligned) == 0, "run %d: %llu rows misaligned", k,
                          (unsigned long long)atomic_load(&r[k].ks.misaligned));
        /* the barrier was where the test put it: b's rows before its pause */
        TT_ASSERT_EQ_INT(atomic_load(&r[1].ks.rows), 4000 + 6000);
        TT_ASSERT_EQ_INT(atomic_load(&r[0].ks.rows), 12000 + 30000);
        /* per instance and input: the rows, each at its node watermark */
        for (uint32_t t = 0; t < 2 * P; t++) {
            const ksum_cfg *a = &r[0].ks, *b = &r[1].ks, *c = &r[2].ks;
            TT_ASSERT_EQ_INT(b->n_tr[t] + c->n_tr[t], a->n_tr[t]);
            TT_ASSERT(b->n_tr[t] == 0 || memcmp(a->tr[t], b->tr[t], b->n_tr[t] * sizeof(int64_t)) == 0);
            const int64_t *want = a->tr[t] + b->n_tr[t], *got = c->tr[t];
            for (size_t q = 0; q < c->n_tr[t]; q += 2)
                if (want[q] != got[q] || want[q + 1] != got[q + 1]) {
                    fprintf(stderr, "  instance %u input %u, restored row %zu: v %lld at wm %lld, want v %lld at %lld\n",
                            t / 2, t % 2, q / 2, (long long)got[q], (long long)got[q + 1], (long long)want[q],
                            (long long)want[q + 1]);
                    break;
                }
            TT_ASSERT_MSG(c->n_tr[t] == 0 ||
                              memcmp(a->tr[t] + b->n_tr[t], c->tr[t], c->n_tr[t] * sizeof(int64_t)) == 0,
                          "instance %u input %u", t / 2, t % 2);
        }
        /* the sums (the restored state and the rest) */
        TT_ASSERT_EQ_INT(r[2].co.n, r[0].co.n);
        int64_t sum0[64] = {0}, sum2[64] = {0};
        for (size_t i = 0; i < r[0].co.n; i += 2) {
            sum0[r[0].co.kv[i]] = r[0].co.kv[i + 1];
            sum2[r[2].co.kv[i]] = r[2].co.kv[i + 1];
        }
        TT_ASSERT(memcmp(sum0, sum2, sizeof sum0) == 0);
        for (int k = 0; k < 3; k++)
            rig2_free(&r[k]);
        free(r);
    }
    tide_schema_free(g_schema);
}

/* A node that holds its watermark back, in a task of its own: the restored
 * task forwards the held watermark, not the one it receives, and the sink
 * sees the uninterrupted run's watermarks and rows. */
static int build_held(tide_flow *f, rig *r, tide_err *e)
{
    int src, pa, co;
    uint32_t key = C_K;
    tide_flow_node n = spec("gen", &gen_vt, gen_make, &r->g, 1);
    TT_OK_RC(tide_flow_add(f, &n, &src, e));
    n = spec("hold", &pass_vt, pass_make, &r->pa, 1);
    TT_OK_RC(tide_flow_add(f, &n, &pa, e));
    n = spec("collect", &collect_vt, collect_make, &r->co, 1);
    TT_OK_RC(tide_flow_add(f, &n, &co, e));
    TT_OK_RC(tide_flow_connect(f, src, 0, pa, TIDE_FLOW_HASH, &key, 1, e)); /* a channel: its own task */
    TT_OK_RC(tide_flow_connect(f, pa, 0, co, TIDE_FLOW_HASH, &key, 1, e));
    return 0;
}

static void test_hold_restore(void)
{
    g_schema = schema4();
    tide_err e = {0};
    tide_flow_cfg cfg = {.batch_rows = 64, .chan_capacity = 2};
    rig *r = calloc(3, sizeof *r);
    TT_ASSERT(r != NULL);
    for (int k = 0; k < 3; k++) {
        rig_init(&r[k], 9000, 50, 11);
        r[k].pa.hold = 700;
        r[k].g.pause_at = 5020; /* cuts a batch in every run; run 1 stops there */
        atomic_store(&r[k].g.resume, k != 1);
    }
    tide_flow *f;
    TT_OK(tide_flow_create(&f, &cfg, &e));
    TT_ASSERT_EQ_INT(build_held(f, &r[0], &e), 0);
    TT_ASSERT_MSG(tide_flow_run(f, &e) == 0, "%s", e.msg);
    tide_flow_free(f);
    TT_OK(tide_flow_create(&f, &cfg, &e));
    TT_ASSERT_EQ_INT(build_held(f, &r[1], &e), 0);
    tide_buf store = {0};
    gen_cfg *gens[1] = {&r[1].g};
    TT_ASSERT_MSG(run_to_barrier(f, gens, 1, &store, &e) == 0, "%s", e.msg);
    tide_flow_free(f);
    TT_OK(tide_flow_create(&f, &cfg, &e));
    TT_ASSERT_EQ_INT(build_held(f, &r[2], &e), 0);
    TT_OK(tide_flow_restore(f, &store, &e));
    TT_ASSERT_MSG(tide_flow_run(f, &e) == 0, "%s", e.msg);
    tide_flow_free(f);
    tide_buf_free(&store);
    const collect_cfg *a = &r[0].co, *b = &r[1].co, *c = &r[2].co;
    TT_ASSERT_EQ_INT(b->n, 2 * 5020);
    TT_ASSERT_EQ_INT(b->n + c->n, a->n);
    TT_ASSERT(memcmp(a->kv, b->kv, b->n * sizeof *a->kv) == 0);
    TT_ASSERT(memcmp(a->kv + b->n, c->kv, c->n * sizeof *a->kv) == 0);
    TT_ASSERT_EQ_INT(b->n_wm + c->n_wm, a->n_wm);
    TT_ASSERT(memcmp(a->wms, b->wms, b->n_wm * sizeof *a->wms) == 0);
    TT_ASSERT_MSG(memcmp(a->wms + b->n_wm, c->wms, c->n_wm * sizeof *a->wms) == 0, "first restored watermark %lld",
                  (long long)(c->n_wm ? c->wms[0] : 0));
    for (int k = 0; k < 3; k++)
        rig_free(&r[k]);
    free(r);
    tide_schema_free(g_schema);
}

/* A cancel that comes before the flow is started (a stop asked while a job
 * is still being set up) is not lost: the run that follows ends at once,
 * cancelled, though its source would wait forever (paused, never resumed). */
static void test_cancel_before_start(void)
{
    g_schema = schema4();
    tide_err e = {0};
    tide_flow_cfg cfg = {.batch_rows = 64, .chan_capacity = 2};
    rig2 *r = calloc(1, sizeof *r);
    TT_ASSERT(r != NULL);
    rig2_init(r, true);
    tide_flow *f;
    TT_OK(tide_flow_create(&f, &cfg, &e));
    TT_ASSERT_EQ_INT(build_two(f, r, 2, &e), 0);
    tide_flow_cancel(f);
    TT_ASSERT_EQ_INT(tide_flow_run(f, &e), TIDE_EFAILED);
    TT_ASSERT_MSG(strstr(e.msg, "cancelled") != NULL, "%s", e.msg);
    tide_flow_free(f);
    rig2_free(r);
    free(r);
    tide_schema_free(g_schema);
}

static void test_bad_edges(void)
{
    g_schema = schema4();
    rig r;
    rig_init(&r, 10, 10, 3);
    tide_flow *f;
    tide_err e = {0};
    TT_OK(tide_flow_create(&f, NULL, &e));
    int src, ks, co;
    tide_flow_node n = spec("gen", &gen_vt, gen_make, &r.g, 1);
    TT_OK(tide_flow_add(f, &n, &src, &e));
    n = spec("ksum", &ksum_vt, ksum_make, &r.ks, 2);
    TT_OK(tide_flow_add(f, &n, &ks, &e));
    n = spec("collect", &collect_vt, collect_make, &r.co, 1);
    TT_OK(tide_flow_add(f, &n, &co, &e));
    TT_ASSERT_EQ_INT(tide_flow_connect(f, src, 0, ks, TIDE_FLOW_FORWARD, NULL, 0, &e), TIDE_EINVAL);
    TT_ASSERT(strstr(e.msg, "parallelism 1 and 2") != NULL);
    tide_err_clear(&e);
    TT_ASSERT_EQ_INT(tide_flow_connect(f, src, 0, ks, TIDE_FLOW_HASH, NULL, 0, &e), TIDE_EINVAL);
    tide_err_clear(&e);
    TT_ASSERT_EQ_INT(tide_flow_connect(f, ks, 0, src, TIDE_FLOW_GATHER, NULL, 0, &e), TIDE_EINVAL);
    TT_ASSERT(strstr(e.msg, "source") != NULL);
    tide_err_clear(&e);
    uint32_t bad = 9;
    TT_ASSERT_EQ_INT(tide_flow_connect(f, src, 0, ks, TIDE_FLOW_HASH, &bad, 1, &e), TIDE_EINVAL);
    tide_flow_free(f);
    rig_free(&r);
    tide_schema_free(g_schema);
}

int main(void)
{
    TT_RUN(test_keyed_parallel);
    TT_RUN(test_branches_of_one_source);
    TT_RUN(test_barrier_snapshot_restore);
    TT_RUN(test_two_inputs_restore);
    TT_RUN(test_hold_restore);
    TT_RUN(test_bad_edges);
    TT_RUN(test_cancel_before_start);
    TT_DONE();
}
