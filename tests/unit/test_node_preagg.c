/*
 * test_node_preagg.c - two-phase window aggregation (exec/node_preagg.h)
 * in flows of scripted sources (tests/unit/node_rig.h), against a brute
 * force computed here, and against the one-phase flow:
 *   - TUMBLE (with and without an offset), COUNT(*), SUM, MAX, COUNT and
 *     COUNT(DISTINCT) per window and key over the rows that came before the
 *     window fired; late rows (W >= end - 1 on arrival) counted once and on
 *     the late port; rows without a time counted bad; keys: one BIGINT (the
 *     packed fast key), one STRING (short ones packed, long ones encoded),
 *     both (encoded), none; NULL keys and values;
 *   - few keys (partials) and many keys in big batches (the local node
 *     passes rows on), and a stream that changes from one to the other;
 *   - P = 1, 2, 4: the brute force's records (each with the step it came
 *     in), the same records as the one-phase winagg flow;
 *   - a barrier in the middle: the restored flow finishes with the
 *     uninterrupted run's rows; a snapshot of another config is refused;
 *   - tide_winagg_merge: a partial merged equals its records pushed; the
 *     refusals.
 */
#include "exec/agg.h"
#include "exec/node_preagg.h"
#include "exec/node_winagg.h"
#include "node_rig.h"

enum { TS, K, V, ID, KS, NC }; /* input rows: ts, k, v, id ("s<id>"), ks ("s<key>") */
static const char *const in_cols[] = {"ts:T", "k:B", "v:B", "id:S", "ks:S"};

enum { NAGG = 5 };
static const tide_winagg_call aggs[NAGG] = {
    {TIDE_AGG_COUNT_STAR, 0, TIDE_TYPE_NULL},
    {TIDE_AGG_SUM, 0, TIDE_TYPE_BIGINT},
    {TIDE_AGG_MAX, 0, TIDE_TYPE_BIGINT},
    {TIDE_AGG_COUNT, 0, TIDE_TYPE_BIGINT},
    {TIDE_AGG_COUNT_DISTINCT, 0, TIDE_TYPE_BIGINT},
};
static const uint32_t value_cols[1] = {V};

/* The key column sets: k; ks; k, ks; none. */
static const uint32_t keysets[4][2] = {{K, 0}, {KS, 0}, {K, KS}, {0, 0}};
static const uint32_t nkeys_of[4] = {1, 1, 2, 0};

/* A stream of nrows rows: ts = 3i + jitter < 10, `late` of every 100 rows
 * below the watermark; keys 0..nkeys-1 (from row `switch_at` on, 0..2); 1 in
 * 15 keys, 1 in 10 values, 1 in 60 times NULL; ks is the key ("s<k>", or
 * "s<10^9 + k>" for odd k: longer than the packed form); a watermark
 * max ts - 10 with probability 1/wm_every after a row. */
static void gen(rig_script *sc, uint64_t *seed, int nrows, int nkeys, int switch_at, int late, int wm_every)
{
    int64_t maxts = TIDE_TS_MIN, wm = TIDE_TS_MIN;
    for (int i = 0; i < nrows; i++) {
        int64_t ts = 3 * (int64_t)i + (int64_t)(rig_rand(seed) % 10);
        if (wm != TIDE_TS_MIN && (int)(rig_rand(seed) % 100) < late)
            ts = wm - (int64_t)(rig_rand(seed) % 40);
        int64_t k = (int64_t)(rig_rand(seed) % (uint64_t)(i >= switch_at ? 3 : nkeys));
        int64_t row[NC] = {ts, k, (int64_t)(rig_rand(seed) % 50) - 10, i, k % 2 ? 1000000000 + k : k};
        uint32_t nulls = 0;
        if (rig_rand(seed) % 15 == 0)
            nulls |= 1u << K | 1u << KS;
        if (rig_rand(seed) % 10 == 0)
            nulls |= 1u << V;
        if (rig_rand(seed) % 60 == 0)
            nulls |= 1u << TS;
        rig_row(sc, NC, row, nulls);
        if (!(nulls & (1u << TS)) && ts > maxts)
            maxts = ts;
        if (rig_rand(seed) % (uint64_t)wm_every == 0 && maxts - 10 > wm) {
            wm = maxts - 10;
            rig_wm(sc, wm);
        }
    }
}

/* ---- the brute force ---- */

typedef struct grp {
    int64_t start, end, key[2]; /* RIG_NULLV: NULL */
    int64_t n, nv, sum, max;
    int64_t *vals; /* the distinct non-NULL values */
    size_t nd, dcap;
} grp;

typedef struct model {
    grp *g;
    size_t ng, cap;
    uint64_t late, bad;
    bool *is_late; /* by id */
} model;

static void model_free(model *m)
{
    for (size_t i = 0; i < m->ng; i++)
        free(m->g[i].vals);
    free(m->g);
    free(m->is_late);
    memset(m, 0, sizeof *m);
}

static int64_t floor_mod(int64_t a, int64_t b) { return ((a % b) + b) % b; }

static void model_run(model *m, const rig_script *sc, tide_win_spec w, int ks)
{
    memset(m, 0, sizeof *m);
    int64_t *wms = rig_row_wms(sc);
    m->is_late = calloc(sc->n + 1, sizeof *m->is_late);
    for (size_t i = 0; i < sc->n; i++) {
        const rig_ev *x = &sc->ev[i];
        if (x->is_wm)
            continue;
        if (x->nulls & (1u << TS)) {
            m->bad++;
            continue;
        }
        int64_t start = x->v[TS] - floor_mod(x->v[TS] - w.offset, w.size), end = start + w.size;
        if (rig_fired(end, wms[i])) {
            m->late++;
            m->is_late[x->v[ID]] = true;
            continue;
        }
        int64_t key[2] = {RIG_NULLV, RIG_NULLV};
        for (uint32_t j = 0; j < nkeys_of[ks]; j++)
            key[j] = (x->nulls & (1u << keysets[ks][j])) ? RIG_NULLV : x->v[keysets[ks][j]];
        grp *y = NULL;
        for (size_t q = 0; q < m->ng && !y; q++)
            if (m->g[q].start == start && m->g[q].key[0] == key[0] && m->g[q].key[1] == key[1])
                y = &m->g[q];
        if (!y) {
            if (m->ng == m->cap)
                m->g = realloc(m->g, (m->cap = m->cap ? 2 * m->cap : 256) * sizeof *m->g);
            y = &m->g[m->ng++];
            *y = (grp){.start = start, .end = end, .key = {key[0], key[1]}, .max = INT64_MIN};
        }
        y->n++;
        if (x->nulls & (1u << V))
            continue;
        int64_t v = x->v[V];
        y->nv++;
        y->sum += v;
        if (v > y->max)
            y->max = v;
        bool seen = false;
        for (size_t d = 0; d < y->nd && !seen; d++)
            seen = y->vals[d] == v;
        if (!seen) {
            if (y->nd == y->dcap)
                y->vals = realloc(y->vals, (y->dcap = y->dcap ? 2 * y->dcap : 8) * sizeof *y->vals);
            y->vals[y->nd++] = v;
        }
    }
    free(wms);
}

/* The watermark the sink holds when window `end`'s rows come: the one
 * before the first watermark that fires it (the last one when only the end
 * of input does). */
static int64_t fire_step(const rig_script *sc, int64_t end)
{
    int64_t prev = TIDE_TS_MIN;
    for (size_t i = 0; i < sc->n; i++) {
        if (!sc->ev[i].is_wm)
            continue;
        if (rig_fired(end, sc->ev[i].wm))
            return prev;
        prev = sc->ev[i].wm;
    }
    return prev;
}

/* The model's records as the sink writes them, sorted. */
static int64_t *model_records(const model *m, const rig_script *sc, uint32_t nk, size_t w)
{
    int64_t *r = malloc((m->ng + 1) * w * sizeof *r);
    for (size_t i = 0; i < m->ng; i++) {
        const grp *y = &m->g[i];
        int64_t *o = r + i * w, *v = o + RIG_HDR;
        o[0] = fire_step(sc, y->end);
        o[1] = TIDE_OP_INSERT;
        for (uint32_t j = 0; j < nk; j++)
            v[j] = y->key[j];
        v[nk] = y->start;
        v[nk + 1] = y->end;
        v[nk + 2] = y->end - 1;
        v[nk + 3] = y->n;
        v[nk + 4] = y->nv ? y->sum : RIG_NULLV;
        v[nk + 5] = y->nv ? y->max : RIG_NULLV;
        v[nk + 6] = y->nv;
        v[nk + 7] = (int64_t)y->nd;
    }
    rig_sort(r, m->ng, w, 0);
    return r;
}

/* ---- the flows ---- */

typedef struct prig {
    tide_schema *s, *out, *part, *late;
    rig_script sc;
    rig_src_cfg src;
    uint32_t step; /* rows per source batch */
    tide_node_preagg_cfg pc;
    tide_node_winagg_cfg wc;
    uint32_t pkeys[2];
    rig_sink sink, lsink;
} prig;

static void prig_init(prig *r, tide_win_spec w, int ks, uint32_t step)
{
    memset(r, 0, sizeof *r);
    r->s = rig_schema(NC, in_cols);
    r->step = step;
    r->pkeys[0] = 0;
    r->pkeys[1] = 1;
    r->pc = (tide_node_preagg_cfg){.in = r->s,
                                   .key_cols = keysets[ks],
                                   .n_keys = nkeys_of[ks],
                                   .time_col = TS,
                                   .value_cols = value_cols,
                                   .n_values = 1,
                                   .aggs = aggs,
                                   .n_aggs = NAGG,
                                   .window = w,
                                   .batch_rows = 7};
    r->wc = (tide_node_winagg_cfg){.in = r->s,
                                   .key_cols = keysets[ks],
                                   .n_keys = nkeys_of[ks],
                                   .time_col = TS,
                                   .value_cols = value_cols,
                                   .n_values = 1,
                                   .aggs = aggs,
                                   .n_aggs = NAGG,
                                   .window = w,
                                   .mode = TIDE_TRIG_ACCUMULATING,
                                   .batch_rows = 7};
    tide_err e = {0};
    if (tide_node_preagg_global_schema(&r->pc, &r->out, &e) || tide_node_preagg_local_schema(&r->pc, 0, &r->part, &e) ||
        tide_node_preagg_local_schema(&r->pc, 1, &r->late, &e))
        abort();
}

static void prig_free(prig *r)
{
    tide_schema_free(r->s);
    tide_schema_free(r->out);
    tide_schema_free(r->part);
    tide_schema_free(r->late);
    rig_script_free(&r->sc);
    rig_sink_free_rows(&r->sink);
    rig_sink_free_rows(&r->lsink);
}

/* two-phase: src -> local (chained) -> {partials, rows} hash -> global[P] -> sink; late -> lsink.
 * one-phase: src -> hash -> winagg[P] -> sink; late -> lsink. */
static int pbuild(tide_flow *f, prig *r, uint32_t P, bool two, tide_err *e)
{
    int src, loc = -1, agg, sink, ls;
    uint32_t nk = r->pc.n_keys;
    rig_src_init(&r->src, r->s, &r->sc, r->step);
    tide_flow_node n = rig_node("src", &rig_src_vt, rig_src_make, &r->src, 1, r->s);
    TT_OK_RC(tide_flow_add(f, &n, &src, e));
    if (two) {
        n = rig_node("local", &tide_node_preagg_local_vt, tide_node_preagg_local_make, &r->pc, 1, r->part);
        n.n_out = 3;
        n.out_schema[1] = r->late;
        n.out_schema[2] = r->s;
        n.out_flags[0] = 0;
        n.out_flags[1] = n.out_flags[2] = TIDE_CBATCH_OPS;
        TT_OK_RC(tide_flow_add(f, &n, &loc, e));
        n = rig_node("global", &tide_node_preagg_global_vt, tide_node_preagg_global_make, &r->pc, nk ? P : 1,
                     r->out);
    } else {
        n = rig_node("winagg", &tide_node_winagg_vt, tide_node_winagg_make, &r->wc, nk ? P : 1, r->out);
        n.n_out = 2;
        n.out_schema[1] = r->late;
    }
    TT_OK_RC(tide_flow_add(f, &n, &agg, e));
    rig_sink_free_rows(&r->sink);
    rig_sink_init(&r->sink, (uint32_t)tide_schema_ncols(r->out));
    n = rig_node("sink", &rig_sink_vt, rig_sink_make, &r->sink, 1, r->out);
    TT_OK_RC(tide_flow_add(f, &n, &sink, e));
    rig_sink_free_rows(&r->lsink);
    rig_sink_init(&r->lsink, NC);
    n = rig_node("late", &rig_sink_vt, rig_sink_make, &r->lsink, 1, r->late);
    TT_OK_RC(tide_flow_add(f, &n, &ls, e));
    tide_flow_part part = nk ? TIDE_FLOW_HASH : TIDE_FLOW_GATHER;
    if (two) {
        TT_OK_RC(tide_flow_connect(f, src, 0, loc, TIDE_FLOW_FORWARD, NULL, 0, e));
        TT_OK_RC(tide_flow_connect(f, loc, 0, agg, part, nk ? r->pkeys : NULL, nk, e)); /* input 0 */
        TT_OK_RC(tide_flow_connect(f, loc, 2, agg, part, nk ? r->pc.key_cols : NULL, nk, e)); /* input 1 */
        TT_OK_RC(tide_flow_connect(f, loc, 1, ls, TIDE_FLOW_GATHER, NULL, 0, e));
    } else {
        TT_OK_RC(tide_flow_connect(f, src, 0, agg, part, nk ? r->pc.key_cols : NULL, nk, e));
        TT_OK_RC(tide_flow_connect(f, agg, 1, ls, TIDE_FLOW_GATHER, NULL, 0, e));
    }
    TT_OK_RC(tide_flow_connect(f, agg, 0, sink, TIDE_FLOW_GATHER, NULL, 0, e));
    return 0;
}

static int prun(prig *r, uint32_t P, bool two, uint64_t counts[TIDE_NODE_COUNTERS], tide_err *e)
{
    tide_flow *f;
    tide_flow_cfg cfg = {.batch_rows = 16, .chan_capacity = 2};
    int rc = tide_flow_create(&f, &cfg, e);
    if (!rc)
        rc = pbuild(f, r, P, two, e);
    if (!rc)
        rc = tide_flow_run(f, e);
    if (!rc)
        tide_flow_counts(f, counts);
    tide_flow_free(f);
    return rc;
}

/* One case: the model's records and late rows at P = 1, 2, 4, two-phase
 * and one-phase. */
static void check_case(prig *r, int ks, const char *what)
{
    model m;
    model_run(&m, &r->sc, r->pc.window, ks);
    size_t w = RIG_HDR + tide_schema_ncols(r->out);
    TT_ASSERT_EQ_INT(tide_schema_ncols(r->out), nkeys_of[ks] + 3 + NAGG);
    int64_t *want = model_records(&m, &r->sc, nkeys_of[ks], w);
    for (int two = 1; two >= 0; two--)
        for (uint32_t P = 1; P <= 4; P *= 2) {
            uint64_t c[TIDE_NODE_COUNTERS] = {0};
            tide_err e = {0};
            TT_ASSERT_MSG(prun(r, P, two, c, &e) == 0, "%s: %s", what, e.msg);
            TT_ASSERT_EQ_INT(c[TIDE_NODE_LATE], m.late);
            TT_ASSERT_EQ_INT(c[TIDE_NODE_BAD], m.bad);
            TT_ASSERT_EQ_INT(r->lsink.n, m.late);
            size_t lw = rig_width(&r->lsink);
            bool *seen = calloc(r->sc.n + 1, sizeof *seen);
            for (size_t i = 0; i < r->lsink.n; i++) {
                int64_t id = r->lsink.rows[i * lw + RIG_HDR + ID];
                TT_ASSERT_MSG(id >= 0 && (size_t)id < r->sc.n && m.is_late[id] && !seen[id], /* each once */
                              "%s, %s, P = %u: late row %lld (late in the model: %d)", what,
                              two ? "two-phase" : "one-phase", P, (long long)id,
                              id >= 0 && (size_t)id < r->sc.n ? m.is_late[id] : -1);
                seen[id] = true;
            }
            free(seen);
            TT_ASSERT_MSG(r->sink.n == m.ng, "%s, %s, P = %u: %zu rows, want %zu", what, two ? "two-phase" : "one-phase",
                          P, r->sink.n, m.ng);
            rig_sort(r->sink.rows, r->sink.n, w, 0);
            for (size_t i = 0; i < m.ng && i < r->sink.n; i++)
                TT_ASSERT_MSG(memcmp(r->sink.rows + i * w, want + i * w, w * sizeof *want) == 0,
                              "%s, %s, P = %u: record %zu differs (window [%lld, %lld))", what,
                              two ? "two-phase" : "one-phase", P, i, (long long)want[i * w + RIG_HDR + nkeys_of[ks]],
                              (long long)want[i * w + RIG_HDR + nkeys_of[ks] + 1]);
        }
    free(want);
    model_free(&m);
}

static void test_vs_brute_force(void)
{
    tide_win_spec wins[3] = {tide_win_tumble(20), tide_win_tumble(45), tide_win_tumble(1000)};
    tide_win_set_offset(&wins[1], 7);
    TT_FOR_SEEDS(seed, 1, 8) {
        for (int ks = 0; ks < 4; ks++) {
            uint64_t sd = seed * 2654435761u + (uint64_t)ks;
            prig r;
            /* few keys, small batches, frequent watermarks: partials */
            prig_init(&r, wins[seed % 2], ks, 9);
            gen(&r.sc, &sd, 500 + (int)(rig_rand(&sd) % 300), 1 + (int)(seed % 6), INT32_MAX, 5, 3);
            check_case(&r, ks, "few keys");
            prig_free(&r);
            /* many keys in big batches (rows passed on), then few (partials again) */
            prig_init(&r, wins[2], ks, 600);
            gen(&r.sc, &sd, 4000, 2000, 2500, 3, 500);
            check_case(&r, ks, "many keys, then few");
            prig_free(&r);
        }
    }
}

/* ---- snapshot / restore ---- */

/* A barrier in the middle of the stream (windows open, in both regimes):
 * a fresh flow restored from it gives the uninterrupted run's rows after
 * the barrier. */
static void test_restore(void)
{
    for (int regime = 0; regime < 2; regime++)
        for (uint32_t P = 1; P <= 2; P++) {
            prig r[2];
            for (int run = 0; run < 2; run++) {
                uint64_t sd = 99 + (uint64_t)regime;
                prig_init(&r[run], regime ? tide_win_tumble(1000) : tide_win_tumble(30), 0, regime ? 600 : 9);
                if (regime)
                    gen(&r[run].sc, &sd, 4000, 2000, INT32_MAX, 3, 500);
                else
                    gen(&r[run].sc, &sd, 600, 4, INT32_MAX, 5, 3);
            }
            size_t pause = r[0].sc.n / 2;
            while (r[0].sc.ev[pause].is_wm) /* a barrier between rows of one window */
                pause++;
            tide_flow *f;
            tide_err e = {0};
            tide_flow_cfg cfg = {.batch_rows = 16, .chan_capacity = 2};
            TT_OK(tide_flow_create(&f, &cfg, &e));
            TT_ASSERT_EQ_INT(pbuild(f, &r[0], P, true, &e), 0);
            r[0].src.pause_at = pause;
            rig_injector inj = {.f = f, .srcs = {&r[0].src}, .n = 1};
            TT_OK(tide_flow_start(f, &e));
            pthread_t th;
            pthread_create(&th, NULL, rig_inject, &inj);
            TT_ASSERT_MSG(tide_flow_wait(f, &e) == 0, "%s", e.msg);
            pthread_join(th, NULL);
            tide_buf store = {0};
            TT_ASSERT(tide_flow_snapshot(f, inj.id, &store, &e));
            tide_flow_free(f);
            TT_OK(tide_flow_create(&f, &cfg, &e));
            TT_ASSERT_EQ_INT(pbuild(f, &r[1], P, true, &e), 0);
            TT_OK(tide_flow_restore(f, &store, &e));
            tide_err_clear(&e);
            TT_ASSERT_MSG(tide_flow_run(f, &e) == 0, "%s", e.msg);
            tide_flow_free(f);
            tide_buf_free(&store);
            size_t cut = r[0].sink.at_barrier, w = rig_width(&r[0].sink);
            TT_ASSERT(cut < r[0].sink.n); /* windows were open at the barrier */
            TT_ASSERT_EQ_INT(r[1].sink.n, r[0].sink.n - cut);
            /* the steps differ (the restored inputs start at no watermark): compare the rows */
            for (size_t i = 0; i < r[1].sink.n; i++) {
                r[1].sink.rows[i * w] = 0;
                r[0].sink.rows[(cut + i) * w] = 0;
            }
            rig_sort(r[0].sink.rows + cut * w, r[1].sink.n, w, 0);
            rig_sort(r[1].sink.rows, r[1].sink.n, w, 0);
            TT_ASSERT(memcmp(r[0].sink.rows + cut * w, r[1].sink.rows, r[1].sink.n * w * sizeof(int64_t)) == 0);
            prig_free(&r[0]);
            prig_free(&r[1]);
        }
}

/* The local node's section: its watermark round-trips; another config,
 * kind or a damaged section is refused. */
static void test_local_snapshot(void)
{
    prig r;
    prig_init(&r, tide_win_tumble(20), 0, 9);
    tide_err e = {0};
    void *a = NULL, *b = NULL;
    TT_OK(tide_node_preagg_local_make(&r.pc, 0, 1, &a, &e));
    tide_buf snap = {0};
    TT_OK(tide_node_preagg_local_vt.watermark(a, 1234, NULL, &e));
    TT_OK(tide_node_preagg_local_vt.snapshot(a, 1, &snap, &e));
    TT_OK(tide_node_preagg_local_make(&r.pc, 0, 1, &b, &e));
    TT_OK(tide_node_preagg_local_vt.restore(b, snap.data, snap.len, &e));
    tide_buf snap2 = {0};
    TT_OK(tide_node_preagg_local_vt.snapshot(b, 2, &snap2, &e));
    TT_ASSERT(snap.len == snap2.len && memcmp(snap.data, snap2.data, snap.len) == 0);
    tide_node_preagg_local_vt.free(b);
    /* another window */
    r.pc.window = tide_win_tumble(30);
    TT_OK(tide_node_preagg_local_make(&r.pc, 0, 1, &b, &e));
    tide_err_clear(&e);
    TT_ASSERT_EQ_INT(tide_node_preagg_local_vt.restore(b, snap.data, snap.len, &e), TIDE_EINVAL);
    TT_ASSERT(strstr(e.msg, "window") != NULL);
    tide_node_preagg_local_vt.free(b);
    r.pc.window = tide_win_tumble(20);
    /* a flipped byte */
    snap.data[snap.len / 2] ^= 1;
    TT_OK(tide_node_preagg_local_make(&r.pc, 0, 1, &b, &e));
    tide_err_clear(&e);
    TT_ASSERT_EQ_INT(tide_node_preagg_local_vt.restore(b, snap.data, snap.len, &e), TIDE_ECORRUPT);
    tide_node_preagg_local_vt.free(b);
    tide_node_preagg_local_vt.free(a);
    tide_buf_free(&snap);
    tide_buf_free(&snap2);
    prig_free(&r);
}

/* ---- config ---- */

static void test_config(void)
{
    prig r;
    prig_init(&r, tide_win_tumble(20), 2, 9);
    TT_ASSERT_EQ_INT(tide_schema_ncols(r.part), 2 + 1 + NAGG);
    TT_ASSERT_EQ_STR(tide_schema_col(r.part, 0)->name, "k");
    TT_ASSERT_EQ_STR(tide_schema_col(r.part, 1)->name, "ks");
    TT_ASSERT_EQ_STR(tide_schema_col(r.part, 2)->name, "window_start");
    TT_ASSERT_EQ_STR(tide_schema_col(r.part, 3)->name, "p0");
    TT_ASSERT(tide_schema_col(r.part, 3)->type == TIDE_TYPE_STRING);
    TT_ASSERT(tide_schema_equal(r.late, r.s));
    /* the global node's rows are the one-phase node's */
    tide_schema *one = NULL;
    tide_err e = {0};
    TT_OK(tide_node_winagg_schema(&r.wc, 0, &one, &e));
    TT_ASSERT(tide_schema_equal(one, r.out));
    tide_schema_free(one);
    TT_ASSERT_EQ_INT(tide_node_preagg_local_flags(&r.pc, 0), 0);
    r.pc.in_flags = TIDE_CBATCH_POS;
    TT_ASSERT_EQ_INT(tide_node_preagg_local_flags(&r.pc, 2), TIDE_CBATCH_POS);
    TT_ASSERT(tide_node_preagg_supports(&r.pc.window, aggs, NAGG));
    tide_win_spec hop = tide_win_hop(5, 20), sess = tide_win_session(5);
    TT_ASSERT(!tide_node_preagg_supports(&hop, aggs, NAGG));
    TT_ASSERT(!tide_node_preagg_supports(&sess, aggs, NAGG));
    void *self = NULL;
    r.pc.window = hop;
    TT_ASSERT_EQ_INT(tide_node_preagg_local_make(&r.pc, 0, 1, &self, &e), TIDE_EINVAL);
    TT_ASSERT(strstr(e.msg, "TUMBLE") != NULL);
    tide_err_clear(&e);
    TT_ASSERT_EQ_INT(tide_node_preagg_global_make(&r.pc, 0, 1, &self, &e), TIDE_EINVAL);
    r.pc.window = tide_win_tumble(20);
    r.pc.time_col = 99;
    tide_err_clear(&e);
    TT_ASSERT_EQ_INT(tide_node_preagg_local_make(&r.pc, 0, 1, &self, &e), TIDE_EINVAL);
    prig_free(&r);
}

/* ---- tide_winagg_merge ---- */

typedef struct collect {
    int64_t start[64], end[64], v[64][2];
    int n;
} collect;

static int on_row(void *ctx, const tide_winagg_row *row)
{
    collect *c = ctx;
    if (c->n == 64)
        return TIDE_ERANGE;
    c->start[c->n] = row->start;
    c->end[c->n] = row->end;
    for (int i = 0; i < 2; i++)
        c->v[c->n][i] = row->vals[i].is_null ? RIG_NULLV : row->vals[i].u.i64;
    c->n++;
    return 0;
}

static void test_winagg_merge(void)
{
    tide_winagg_call calls[2] = {{TIDE_AGG_SUM, 0, TIDE_TYPE_BIGINT}, {TIDE_AGG_COUNT_DISTINCT, 0, TIDE_TYPE_BIGINT}};
    collect got = {0}, want = {0};
    tide_winagg_config cfg = {.window = tide_win_tumble(10), .aggs = calls, .n_aggs = 2, .n_inputs = 1, .emit = on_row};
    tide_winagg *a = NULL, *b = NULL;
    tide_err e = {0};
    cfg.ctx = &want;
    TT_OK(tide_winagg_create(&cfg, &a, &e));
    cfg.ctx = &got;
    TT_OK(tide_winagg_create(&cfg, &b, &e));
    /* records 3, 5, 3 at times 1, 2, 12 (two windows): pushed into a; merged into b
     * as two partials of window [0, 10) and one of [10, 20) */
    tide_agg sum, cd;
    TT_OK(tide_agg_bind_kind(&sum, TIDE_AGG_SUM, TIDE_TYPE_BIGINT, 0, &e));
    TT_OK(tide_agg_bind_kind(&cd, TIDE_AGG_COUNT_DISTINCT, TIDE_TYPE_BIGINT, 0, &e));
    const int64_t xs[3] = {3, 5, 3}, ts[3] = {1, 2, 12};
    for (int i = 0; i < 3; i++) {
        tide_value v = {.type = TIDE_TYPE_BIGINT, .u.i64 = xs[i]};
        TT_OK(tide_winagg_push(a, "k", 1, ts[i], &v, 0, &e));
        _Alignas(8) unsigned char s1[TIDE_AGG_STATE_MAX], s2[TIDE_AGG_STATE_MAX];
        tide_agg_init(&sum, s1);
        tide_agg_init(&cd, s2);
        TT_OK(tide_agg_step(&sum, s1, &v, &e));
        TT_OK(tide_agg_step(&cd, s2, &v, &e));
        tide_buf b1 = {0}, b2 = {0};
        TT_OK(tide_agg_encode(&sum, s1, &b1, &e));
        TT_OK(tide_agg_encode(&cd, s2, &b2, &e));
        const void *st[2] = {b1.data, b2.data};
        size_t len[2] = {b1.len, b2.len};
        TT_OK(tide_winagg_merge(b, "k", 1, ts[i] - ts[i] % 10, st, len, 0, &e));
        if (i == 2) { /* a partial of a window past its lateness is refused, not counted */
            TT_OK(tide_winagg_advance_watermark(b, 9, 0, &e));
            tide_err_clear(&e);
            TT_ASSERT_EQ_INT(tide_winagg_merge(b, "k", 1, 0, st, len, 0, &e), TIDE_EINVAL);
            TT_ASSERT_EQ_INT(tide_winagg_late_count(b), 0);
            len[1] = b2.len + 1; /* bytes past the state */
            tide_err_clear(&e);
            TT_ASSERT_EQ_INT(tide_winagg_merge(b, "k", 1, 10, st, len, 0, &e), TIDE_ECORRUPT);
        }
        tide_buf_free(&b1);
        tide_buf_free(&b2);
        tide_agg_free(&cd, s2);
    }
    TT_OK(tide_winagg_advance_watermark(a, TIDE_TS_MAX, 0, &e));
    TT_OK(tide_winagg_advance_watermark(b, TIDE_TS_MAX, 0, &e));
    TT_ASSERT_EQ_INT(want.n, 2);
    TT_ASSERT_EQ_INT(got.n, 2);
    TT_ASSERT(want.v[0][0] == 8 && want.v[0][1] == 2 && want.v[1][0] == 3 && want.v[1][1] == 1);
    for (int i = 0; i < 2; i++)
        TT_ASSERT_MSG(want.start[i] == got.start[i] && want.end[i] == got.end[i] && want.v[i][0] == got.v[i][0] &&
                          want.v[i][1] == got.v[i][1],
                      "row %d: [%lld, %lld) %lld %lld, merged [%lld, %lld) %lld %lld", i, (long long)want.start[i],
                      (long long)want.end[i], (long long)want.v[i][0], (long long)want.v[i][1], (long long)got.start[i],
                      (long long)got.end[i], (long long)got.v[i][0], (long long)got.v[i][1]);
    tide_winagg_free(a);
    tide_winagg_free(b);
    /* SESSION windows refuse partials */
    cfg.window = tide_win_session(5);
    TT_OK(tide_winagg_create(&cfg, &a, &e));
    const void *st[2] = {"", ""};
    size_t len[2] = {0, 0};
    tide_err_clear(&e);
    TT_ASSERT_EQ_INT(tide_winagg_merge(a, "k", 1, 0, st, len, 0, &e), TIDE_EINVAL);
    TT_ASSERT(strstr(e.msg, "SESSION") != NULL);
    tide_winagg_free(a);
}

int main(void)
{
    TT_RUN(test_vs_brute_force);
    TT_RUN(test_restore);
    TT_RUN(test_local_snapshot);
    TT_RUN(test_config);
    TT_RUN(test_winagg_merge);
    TT_DONE();
}
