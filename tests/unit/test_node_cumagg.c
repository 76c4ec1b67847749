/*
 * test_node_cumagg.c - the sliced window aggregate node (exec/node_cumagg.h),
 * the window TVF node (exec/node_window.h) and UNION ALL (exec/node_union.h)
 * in flows of scripted sources (tests/unit/node_rig.h), against brute
 * forces computed here:
 *   cumagg  per window and key of HOP / CUMULATE: COUNT(*), SUM, MAX, COUNT
 *           over the rows that came before the window fired; late rows (the
 *           first window of the row had fired) counted once and on port 1;
 *           the exact sequence at P = 1, the same records at P = 2, 4;
 *   window  every row once per window of it (windows computed here), its op
 *           kept, in the step of the row;
 *   union   every row of every input, op kept, in the step of the row.
 * Snapshot / restore through the flow.
 */
#include "exec/node_cumagg.h"
#include "exec/node_union.h"
#include "exec/node_window.h"
#include "node_rig.h"

enum { TS, K, V, ID, NC }; /* input rows: ts, k, v, id ("s<id>") */
static const char *const in_cols[] = {"ts:T", "k:B", "v:B", "id:S"};

/* A stream: ts = 3i + jitter < 10 (on time with the bound 10), `late` of
 * every 100 rows below the watermark, 1 in 15 keys and 1 in 10 values NULL,
 * 1 in 40 times NULL when `null_ts`; a watermark max ts - 10 after about
 * every third row; every 7th row a -U when `ops`. */
static void gen(rig_script *sc, uint64_t *seed, int nrows, int nkeys, int late, bool null_ts,
                bool ops, int64_t id0)
{
    int64_t maxts = TIDE_TS_MIN, wm = TIDE_TS_MIN;
    for (int i = 0; i < nrows; i++) {
        int64_t ts = 3 * i + (int64_t)(rig_rand(seed) % 10);
        if (wm != TIDE_TS_MIN && (int)(rig_rand(seed) % 100) < late)
            ts = wm - 1 - (int64_t)(rig_rand(seed) % 40);
        int64_t row[NC] = {ts, (int64_t)(rig_rand(seed) % (uint64_t)nkeys),
                           (int64_t)(rig_rand(seed) % 1000) - 300, id0 + i};
        uint32_t nulls = 0;
        if (rig_rand(seed) % 15 == 0)
            nulls |= 1u << K;
        if (rig_rand(seed) % 10 == 0)
            nulls |= 1u << V;
        if (null_ts && rig_rand(seed) % 40 == 0)
            nulls |= 1u << TS;
        rig_row(sc, NC, row, nulls);
        if (ops && i % 7 == 3)
            sc->ev[sc->n - 1].op = TIDE_OP_UPDATE_BEFORE;
        if (!(nulls & (1u << TS)) && ts > maxts)
            maxts = ts;
        if (rig_rand(seed) % 3 == 0 && maxts - 10 > wm) {
            wm = maxts - 10;
            rig_wm(sc, wm);
        }
    }
}

/* ---- cumagg ---- */

enum { OK_, OS, OE, OT, ON, OSUM, OMAX, ONV, ONC }; /* the results */

typedef struct grp {
    int64_t end, start, k; /* k: RIG_NULLV for NULL (first, as NULLS FIRST) */
    int64_t n, nv, sum, max;
} grp;

static int grp_cmp(const void *a, const void *b)
{
    const grp *x = a, *y = b;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return (x->k > y->k) - (x->k < y->k);
}

typedef struct crig {
    tide_schema *s, *out, *late;
    rig_script sc;
    rig_src_cfg src;
    tide_node_cumagg_agg aggs[4];
    uint32_t key;
    tide_node_cumagg_cfg cc;
    rig_sink sink, lsink;
} crig;

static void crig_init(crig *r, tide_win_spec w)
{
    memset(r, 0, sizeof *r);
    r->s = rig_schema(NC, in_cols);
    r->aggs[0] = (tide_node_cumagg_agg){TIDE_AGG_COUNT_STAR, -1, "n"};
    r->aggs[1] = (tide_node_cumagg_agg){TIDE_AGG_SUM, V, "total"};
    r->aggs[2] = (tide_node_cumagg_agg){TIDE_AGG_MAX, V, "top"};
    r->aggs[3] = (tide_node_cumagg_agg){TIDE_AGG_COUNT, V, "nv"};
    r->key = K;
    r->cc = (tide_node_cumagg_cfg){.in = r->s,
                                   .key_cols = &r->key,
                                   .n_keys = 1,
                                   .time_col = TS,
                                   .aggs = r->aggs,
                                   .n_aggs = 4,
                                   .window = w};
    tide_err e = {0};
    if (tide_node_cumagg_schema(&r->cc, 0, &r->out, &e) || tide_node_cumagg_schema(&r->cc, 1, &r->late, &e))
        abort();
}

static void crig_free(crig *r)
{
    tide_schema_free(r->s);
    tide_schema_free(r->out);
    tide_schema_free(r->late);
    rig_script_free(&r->sc);
    rig_sink_free_rows(&r->sink);
    rig_sink_free_rows(&r->lsink);
}

/* src -> hash(k) -> cumagg[P] -> gather -> sink; port 1 -> gather -> lsink */
static int cbuild(tide_flow *f, crig *r, uint32_t P, tide_err *e)
{
    int src, agg, sink, ls;
    rig_src_init(&r->src, r->s, &r->sc, 9);
    tide_flow_node n = rig_node("src", &rig_src_vt, rig_src_make, &r->src, 1, r->s);
    TT_OK_RC(tide_flow_add(f, &n, &src, e));
    n = rig_node("cumagg", &tide_node_cumagg_vt, tide_node_cumagg_make, &r->cc, P, r->out);
    n.n_out = 2;
    n.out_schema[1] = r->late;
    n.out_flags[0] = 0;
    TT_OK_RC(tide_flow_add(f, &n, &agg, e));
    rig_sink_free_rows(&r->sink); /* a rerun: the last run's records go */
    rig_sink_init(&r->sink, (uint32_t)tide_schema_ncols(r->out));
    n = rig_node("sink", &rig_sink_vt, rig_sink_make, &r->sink, 1, r->out);
    TT_OK_RC(tide_flow_add(f, &n, &sink, e));
    rig_sink_free_rows(&r->lsink);
    rig_sink_init(&r->lsink, NC);
    n = rig_node("late", &rig_sink_vt, rig_sink_make, &r->lsink, 1, r->late);
    TT_OK_RC(tide_flow_add(f, &n, &ls, e));
    TT_OK_RC(tide_flow_connect(f, src, 0, agg, TIDE_FLOW_HASH, &r->key, 1, e));
    TT_OK_RC(tide_flow_connect(f, agg, 0, sink, TIDE_FLOW_GATHER, NULL, 0, e));
    TT_OK_RC(tide_flow_connect(f, agg, 1, ls, TIDE_FLOW_GATHER, NULL, 0, e));
    return 0;
}

static int crun(crig *r, uint32_t P, uint64_t *late, tide_err *e)
{
    tide_flow *f;
    tide_flow_cfg cfg = {.batch_rows = 16, .chan_capacity = 2};
    int rc = tide_flow_create(&f, &cfg, e);
    if (!rc)
        rc = cbuild(f, r, P, e);
    if (!rc)
        rc = tide_flow_run(f, e);
    if (!rc && late) {
        uint64_t c[TIDE_NODE_COUNTERS];
        tide_flow_counts(f, c);
        *late = c[TIDE_NODE_LATE];
    }
    tide_flow_free(f);
    return rc;
}

static void test_cumagg_vs_brute_force(void)
{
    const tide_win_spec wins[] = {tide_win_hop(5, 20), tide_win_cumulate(5, 20), tide_win_hop(10, 30),
                                  tide_win_cumulate(10, 10)};
    TT_FOR_SEEDS(seed, 1, 8) {
        uint64_t sd = seed * 2654435761u;
        crig r;
        crig_init(&r, wins[seed % 4]);
        gen(&r.sc, &sd, 400 + (int)(rig_rand(&sd) % 300), 1 + (int)(seed % 5), 5, true, false, 0);

        /* brute force */
        int64_t *wms = rig_row_wms(&r.sc);
        size_t ng = 0, cap = 1024;
        grp *g = malloc(cap * sizeof *g);
        uint64_t want_late = 0;
        bool *is_late = calloc(r.sc.n + 1, sizeof *is_late); /* by id */
        for (size_t i = 0; i < r.sc.n; i++) {
            const rig_ev *x = &r.sc.ev[i];
            if (x->is_wm || (x->nulls & (1u << TS)))
                continue;
            int64_t st[64], en[64], W = wms[i];
            size_t nw = rig_windows(&r.cc.window, x->v[TS], st, en);
            if (rig_fired(en[0], W)) { /* its first window fired */
                want_late++;
                is_late[x->v[ID]] = true;
            }
            int64_t k = (x->nulls & (1u << K)) ? RIG_NULLV : x->v[K];
            for (size_t j = 0; j < nw; j++) {
                if (rig_fired(en[j], W))
                    continue; /* fired already */
                grp *y = NULL;
                for (size_t q = 0; q < ng && !y; q++)
                    if (g[q].end == en[j] && g[q].start == st[j] && g[q].k == k)
                        y = &g[q];
                if (!y) {
                    if (ng == cap)
                        g = realloc(g, (cap *= 2) * sizeof *g);
                    y = &g[ng++];
                    *y = (grp){en[j], st[j], k, 0, 0, 0, INT64_MIN};
                }
                y->n++;
                if (!(x->nulls & (1u << V))) {
                    y->nv++;
                    y->sum += x->v[V];
                    if (x->v[V] > y->max)
                        y->max = x->v[V];
                }
            }
        }
        qsort(g, ng, sizeof *g, grp_cmp);
        free(wms);

        int64_t *first = NULL;
        size_t nfirst = 0;
        for (uint32_t P = 1; P <= 4; P *= 2) {
            uint64_t late = 0;
            tide_err e = {0};
            rig_sink_free_rows(&r.sink);
            rig_sink_free_rows(&r.lsink);
            TT_ASSERT_MSG(crun(&r, P, &late, &e) == 0, "%s", e.msg);
            TT_ASSERT_EQ_INT(late, want_late);
            TT_ASSERT_EQ_INT(r.lsink.n, want_late);
            size_t lw = rig_width(&r.lsink);
            bool *seen = calloc(r.sc.n + 1, sizeof *seen);
            for (size_t i = 0; i < r.lsink.n; i++) {
                int64_t id = r.lsink.rows[i * lw + RIG_HDR + ID];
                TT_ASSERT(id >= 0 && (size_t)id < r.sc.n && is_late[id] && !seen[id]); /* each once */
                seen[id] = true;
            }
            free(seen);
            size_t w = rig_width(&r.sink);
            TT_ASSERT_EQ_INT(r.sink.n, ng);
            for (size_t i = 0; i < r.sink.n; i++) {
                const int64_t *o = r.sink.rows + i * w, *v = o + RIG_HDR;
                TT_ASSERT(!rig_fired(v[OE], o[0])); /* fired by the step's watermark, not before */
                TT_ASSERT(v[OT] == v[OE] - 1);
                if (P > 1)
                    continue;
                const grp *y = &g[i]; /* P = 1: the exact sequence */
                TT_ASSERT_MSG(v[OE] == y->end && v[OS] == y->start && v[OK_] == y->k,
                              "row %zu: [%lld, %lld) k %lld, want [%lld, %lld) k %lld", i,
                              (long long)v[OS], (long long)v[OE], (long long)v[OK_], (long long)y->start,
                              (long long)y->end, (long long)y->k);
                TT_ASSERT(v[ON] == y->n && v[ONV] == y->nv);
                TT_ASSERT(v[OSUM] == (y->nv ? y->sum : RIG_NULLV));
                TT_ASSERT(v[OMAX] == (y->nv ? y->max : RIG_NULLV));
            }
            int64_t *recs = rig_copy(&r.sink);
            rig_sort(recs, r.sink.n, w, 0);
            if (P == 1) {
                first = recs;
                nfirst = r.sink.n;
            } else {
                TT_ASSERT_EQ_INT(r.sink.n, nfirst);
                TT_ASSERT(memcmp(recs, first, nfirst * w * sizeof *recs) == 0);
                free(recs);
            }
        }
        free(first);
        free(g);
        free(is_late);
        crig_free(&r);
    }
}

static void test_cumagg_config(void)
{
    crig r;
    crig_init(&r, tide_win_hop(5, 20));
    TT_ASSERT_EQ_INT(tide_schema_ncols(r.out), ONC);
    TT_ASSERT_EQ_STR(tide_schema_col(r.out, OK_)->name, "k");
    TT_ASSERT_EQ_STR(tide_schema_col(r.out, OT)->name, "window_time");
    TT_ASSERT_EQ_INT(tide_schema_time_column(r.out), OT);
    TT_ASSERT_EQ_STR(tide_schema_col(r.out, OSUM)->name, "total");
    TT_ASSERT(!tide_schema_col(r.out, ON)->nullable && tide_schema_col(r.out, OSUM)->nullable);
    TT_ASSERT(tide_schema_equal(r.late, r.s));
    tide_err e = {0};
    tide_schema *s = NULL;
    void *self = NULL;
    r.cc.window = tide_win_hop(6, 20); /* 20 is not a multiple of 6 */
    TT_ASSERT_EQ_INT(tide_node_cumagg_make(&r.cc, 0, 1, &self, &e), TIDE_EINVAL);
    r.cc.window = tide_win_tumble(10);
    tide_err_clear(&e);
    TT_ASSERT_EQ_INT(tide_node_cumagg_schema(&r.cc, 0, &s, &e), TIDE_EINVAL);
    r.cc.window = tide_win_cumulate(5, 20);
    r.aggs[1].arg = ID; /* SUM(STRING) */
    tide_err_clear(&e);
    TT_ASSERT_EQ_INT(tide_node_cumagg_make(&r.cc, 0, 1, &self, &e), TIDE_EUNSUPPORTED);
    r.aggs[1].arg = V;
    r.aggs[1].name = "k"; /* named like a key */
    tide_err_clear(&e);
    TT_ASSERT_EQ_INT(tide_node_cumagg_schema(&r.cc, 0, &s, &e), TIDE_EEXIST);
    r.aggs[1].name = "total";
    r.aggs[0].arg = V; /* COUNT(*) takes no column */
    tide_err_clear(&e);
    TT_ASSERT_EQ_INT(tide_node_cumagg_make(&r.cc, 0, 1, &self, &e), TIDE_EINVAL);
    crig_free(&r);
}

/* ---- window TVF ---- */

static void test_window_vs_brute_force(void)
{
    const tide_win_spec wins[] = {tide_win_tumble(10), tide_win_hop(5, 15), tide_win_cumulate(4, 16),
                                  tide_win_hop(7, 7)};
    TT_FOR_SEEDS(seed, 1, 8) {
        uint64_t sd = seed * 6364136223846793005ull;
        tide_schema *s = rig_schema(NC, in_cols), *ws = NULL;
        tide_node_window_cfg wc = {.in = s, .time_col = TS, .window = wins[seed % 4], .in_flags = TIDE_CBATCH_OPS};
        tide_err e = {0};
        TT_OK(tide_node_window_schema(&wc, 0, &ws, &e));
        TT_ASSERT_EQ_INT(tide_schema_ncols(ws), NC + 3);
        TT_ASSERT_EQ_INT(tide_schema_time_column(ws), NC + 2);
        rig_script sc = {0};
        gen(&sc, &sd, 300, 4, 5, true, true, 0);
        /* brute force: (step, op, row, start, end, time) per window of a row */
        int64_t *wms = rig_row_wms(&sc);
        size_t W = RIG_HDR + NC + 3, nw = 0;
        int64_t *want = malloc(sc.n * 64 * W * sizeof *want);
        for (size_t i = 0; i < sc.n; i++) {
            const rig_ev *x = &sc.ev[i];
            if (x->is_wm || (x->nulls & (1u << TS)))
                continue;
            int64_t st[64], en[64];
            size_t k = rig_windows(&wc.window, x->v[TS], st, en);
            for (size_t j = 0; j < k; j++) {
                int64_t *o = want + nw++ * W;
                o[0] = wms[i];
                o[1] = x->op;
                for (int c = 0; c < NC; c++)
                    o[RIG_HDR + c] = (x->nulls & (1u << c)) ? RIG_NULLV : x->v[c];
                o[RIG_HDR + NC] = st[j];
                o[RIG_HDR + NC + 1] = en[j];
                o[RIG_HDR + NC + 2] = en[j] - 1;
            }
        }
        rig_sort(want, nw, W, 0);
        free(wms);
        for (uint32_t P = 1; P <= 4; P *= 2) {
            rig_src_cfg src;
            rig_sink sink;
            rig_src_init(&src, s, &sc, 11);
            rig_sink_init(&sink, NC + 3);
            tide_flow *f;
            tide_flow_cfg cfg = {.batch_rows = 16, .chan_capacity = 2};
            TT_OK(tide_flow_create(&f, &cfg, &e));
            int a, b, c;
            tide_flow_node n = rig_node("src", &rig_src_vt, rig_src_make, &src, 1, s);
            TT_OK(tide_flow_add(f, &n, &a, &e));
            n = rig_node("window", &tide_node_window_vt, tide_node_window_make, &wc, P, ws);
            TT_OK(tide_flow_add(f, &n, &b, &e));
            n = rig_node("sink", &rig_sink_vt, rig_sink_make, &sink, 1, ws);
            TT_OK(tide_flow_add(f, &n, &c, &e));
            uint32_t key = ID;
            /* P = 1: chained into the source's task */
            TT_OK(tide_flow_connect(f, a, 0, b, P == 1 ? TIDE_FLOW_FORWARD : TIDE_FLOW_HASH, &key, 1, &e));
            TT_OK(tide_flow_connect(f, b, 0, c, TIDE_FLOW_GATHER, NULL, 0, &e));
            TT_ASSERT_MSG(tide_flow_run(f, &e) == 0, "%s", e.msg);
            if (P == 1)
                TT_ASSERT_EQ_INT(tide_flow_task_count(f), 2);
            tide_flow_free(f);
            TT_ASSERT_EQ_INT(sink.n, nw);
            rig_sort(sink.rows, sink.n, W, 0);
            TT_ASSERT(memcmp(sink.rows, want, nw * W * sizeof *want) == 0);
            rig_sink_free_rows(&sink);
        }
        free(want);
        rig_script_free(&sc);
        tide_schema_free(ws);
        tide_schema_free(s);
    }
}

/* ---- union ---- */

static void test_union_vs_brute_force(void)
{
    TT_FOR_SEEDS(seed, 1, 6) {
        uint64_t sd = seed * 0x9e3779b97f4a7c15ull;
        tide_schema *s = rig_schema(NC, in_cols);
        tide_node_union_cfg uc = {.schema = s};
        int nin = 1 + (int)(seed % 3);
        rig_script sc[3] = {{0}};
        size_t W = RIG_HDR + NC, nw = 0;
        int64_t *want = NULL;
        for (int i = 0; i < nin; i++) {
            gen(&sc[i], &sd, 100 + (int)(rig_rand(&sd) % 200), 3, 3, false, i == 1, 100000 * i);
            want = realloc(want, (nw + sc[i].n) * W * sizeof *want);
            int64_t *wms = rig_row_wms(&sc[i]);
            for (size_t j = 0; j < sc[i].n; j++) {
                const rig_ev *x = &sc[i].ev[j];
                if (x->is_wm)
                    continue;
                int64_t *o = want + nw++ * W;
                o[0] = wms[j]; /* in the step of its own input's watermark */
                o[1] = x->op;
                for (int c = 0; c < NC; c++)
                    o[RIG_HDR + c] = (x->nulls & (1u << c)) ? RIG_NULLV : x->v[c];
            }
            free(wms);
        }
        rig_sort(want, nw, W, 0);
        for (uint32_t P = 1; P <= 2; P++) {
            rig_src_cfg src[3];
            rig_sink sink;
            rig_sink_init(&sink, NC);
            tide_flow *f;
            tide_err e = {0};
            tide_flow_cfg cfg = {.batch_rows = 16, .chan_capacity = 2};
            TT_OK(tide_flow_create(&f, &cfg, &e));
            int a[3], u, k;
            for (int i = 0; i < nin; i++) {
                rig_src_init(&src[i], s, &sc[i], 5 + (uint32_t)i);
                tide_flow_node n = rig_node("src", &rig_src_vt, rig_src_make, &src[i], 1, s);
                TT_OK(tide_flow_add(f, &n, &a[i], &e));
            }
            tide_flow_node n = rig_node("union", &tide_node_union_vt, tide_node_union_make, &uc, P, s);
            TT_OK(tide_flow_add(f, &n, &u, &e));
            n = rig_node("sink", &rig_sink_vt, rig_sink_make, &sink, 1, s);
            TT_OK(tide_flow_add(f, &n, &k, &e));
            uint32_t key = K;
            for (int i = 0; i < nin; i++)
                TT_OK(tide_flow_connect(f, a[i], 0, u, P == 1 ? TIDE_FLOW_FORWARD : TIDE_FLOW_HASH, &key, 1,
                                        &e));
            TT_OK(tide_flow_connect(f, u, 0, k, TIDE_FLOW_GATHER, NULL, 0, &e));
            TT_ASSERT_MSG(tide_flow_run(f, &e) == 0, "%s", e.msg);
            tide_flow_free(f);
            TT_ASSERT_EQ_INT(sink.n, nw);
            rig_sort(sink.rows, sink.n, W, 0);
            TT_ASSERT(memcmp(sink.rows, want, nw * W * sizeof *want) == 0);
            rig_sink_free_rows(&sink);
        }
        free(want);
        for (int i = 0; i < 3; i++)
            rig_script_free(&sc[i]);
        tide_schema_free(s);
    }
}

/* An input of another row type is refused. */
static void test_union_type_check(void)
{
    static const char *const other[] = {"ts:T", "k:B", "v:D", "id:S"};
    tide_schema *s = rig_schema(NC, in_cols), *s2 = rig_schema(NC, other);
    tide_node_union_cfg uc = {.schema = s};
    rig_script sc = {0};
    int64_t row[NC] = {1, 2, 3, 4};
    rig_row(&sc, NC, row, 0);
    rig_src_cfg src[2];
    rig_sink sink;
    rig_sink_init(&sink, NC);
    tide_flow *f;
    tide_err e = {0};
    TT_OK(tide_flow_create(&f, NULL, &e));
    int a[2], u, k;
    for (int i = 0; i < 2; i++) {
        rig_src_init(&src[i], i ? s2 : s, &sc, 4);
        tide_flow_node n = rig_node("src", &rig_src_vt, rig_src_make, &src[i], 1, i ? s2 : s);
        TT_OK(tide_flow_add(f, &n, &a[i], &e));
    }
    tide_flow_node n = rig_node("union", &tide_node_union_vt, tide_node_union_make, &uc, 1, s);
    TT_OK(tide_flow_add(f, &n, &u, &e));
    n = rig_node("sink", &rig_sink_vt, rig_sink_make, &sink, 1, s);
    TT_OK(tide_flow_add(f, &n, &k, &e));
    for (int i = 0; i < 2; i++)
        TT_OK(tide_flow_connect(f, a[i], 0, u, TIDE_FLOW_FORWARD, NULL, 0, &e));
    TT_OK(tide_flow_connect(f, u, 0, k, TIDE_FLOW_FORWARD, NULL, 0, &e));
    TT_ASSERT_EQ_INT(tide_flow_run(f, &e), TIDE_EINVAL);
    TT_ASSERT(strstr(e.msg, "union") != NULL);
    tide_flow_free(f);
    rig_sink_free_rows(&sink);
    rig_script_free(&sc);
    tide_schema_free(s);
    tide_schema_free(s2);
}

/* ---- snapshot / restore through the flow ---- */

/* Two sources -> window (chained) -> union -> sink: stateless nodes; a flow
 * restored from a barrier in the middle finishes with exactly the rows the
 * uninterrupted run wrote after it. */
static void test_window_union_restore(void)
{
    tide_schema *s = rig_schema(NC, in_cols), *ws = NULL;
    tide_node_window_cfg wc = {.in = s, .time_col = TS, .window = tide_win_hop(5, 15), .in_flags = TIDE_CBATCH_OPS};
    tide_node_union_cfg uc = {0};
    tide_err e = {0};
    TT_OK(tide_node_window_schema(&wc, 0, &ws, &e));
    uc.schema = ws;
    rig_script sc[2] = {{0}};
    uint64_t sd = 77;
    for (int i = 0; i < 2; i++)
        gen(&sc[i], &sd, 400, 3, 3, false, false, 100000 * i);
    rig_sink sink[2];
    size_t W = RIG_HDR + NC + 3;
    for (int run = 0; run < 2; run++) {
        rig_src_cfg src[2];
        rig_sink_init(&sink[run], NC + 3);
        tide_flow *f;
        tide_flow_cfg cfg = {.batch_rows = 16, .chan_capacity = 2};
        TT_OK(tide_flow_create(&f, &cfg, &e));
        int a[2], w[2], u, k;
        for (int i = 0; i < 2; i++) {
            rig_src_init(&src[i], s, &sc[i], 6);
            src[i].pause_at = sc[i].n / 2;
            tide_flow_node n = rig_node("src", &rig_src_vt, rig_src_make, &src[i], 1, s);
            TT_OK(tide_flow_add(f, &n, &a[i], &e));
            n = rig_node("window", &tide_node_window_vt, tide_node_window_make, &wc, 1, ws);
            TT_OK(tide_flow_add(f, &n, &w[i], &e));
            TT_OK(tide_flow_connect(f, a[i], 0, w[i], TIDE_FLOW_FORWARD, NULL, 0, &e));
        }
        tide_flow_node n = rig_node("union", &tide_node_union_vt, tide_node_union_make, &uc, 1, ws);
        TT_OK(tide_flow_add(f, &n, &u, &e));
        n = rig_node("sink", &rig_sink_vt, rig_sink_make, &sink[run], 1, ws);
        TT_OK(tide_flow_add(f, &n, &k, &e));
        for (int i = 0; i < 2; i++)
            TT_OK(tide_flow_connect(f, w[i], 0, u, TIDE_FLOW_FORWARD, NULL, 0, &e));
        TT_OK(tide_flow_connect(f, u, 0, k, TIDE_FLOW_FORWARD, NULL, 0, &e));
        static tide_buf store;
        if (run == 0) {
            rig_injector inj = {.f = f, .srcs = {&src[0], &src[1]}, .n = 2};
            TT_OK(tide_flow_start(f, &e));
            pthread_t th;
            pthread_create(&th, NULL, rig_inject, &inj);
            TT_ASSERT_MSG(tide_flow_wait(f, &e) == 0, "%s", e.msg);
            pthread_join(th, NULL);
            TT_ASSERT(tide_flow_snapshot(f, inj.id, &store, &e));
        } else {
            for (int i = 0; i < 2; i++)
                atomic_store(&src[i].resume, 1);
            TT_OK(tide_flow_restore(f, &store, &e));
            TT_ASSERT_MSG(tide_flow_run(f, &e) == 0, "%s", e.msg);
            tide_buf_free(&store);
        }
        tide_flow_free(f);
    }
    size_t cut = sink[0].at_barrier;
    TT_ASSERT(cut > 0 && cut < sink[0].n);
    TT_ASSERT_EQ_INT(sink[1].base, cut);
    TT_ASSERT_EQ_INT(sink[1].n, sink[0].n - cut);
    /* the same rows; not in the same steps: the restored flow's inputs start
     * at watermark TIDE_TS_MIN again (the flow does not snapshot them), so
     * the union reads a row the uninterrupted run held back until the
     * other input's watermark caught up at once, a step earlier */
    rig_sort(sink[0].rows + cut * W, sink[1].n, W, 1);
    rig_sort(sink[1].rows, sink[1].n, W, 1);
    for (size_t i = 0; i < sink[1].n; i++)
        TT_ASSERT(memcmp(sink[0].rows + (cut + i) * W + 1, sink[1].rows + i * W + 1,
                         (W - 1) * sizeof(int64_t)) == 0);
    for (int i = 0; i < 2; i++) {
        rig_sink_free_rows(&sink[i]);
        rig_script_free(&sc[i]);
    }
    tide_schema_free(ws);
    tide_schema_free(s);
}

/* cumagg: a barrier after a watermark that fired every window (the operator
 * holds nothing) restores and finishes as the uninterrupted run; a barrier
 * with windows pending is refused on restore (TIDE_EUNSUPPORTED), not
 * silently lost. */
static void test_cumagg_restore(void)
{
    const tide_win_spec wins[] = {tide_win_cumulate(5, 20), tide_win_hop(5, 20)};
    for (int wi = 0; wi < 2; wi++)
        for (int pending = 0; pending <= 1; pending++)
            for (uint32_t P = 1; P <= 2; P++) {
                crig r[2];
                size_t pause = 0;
                for (int run = 0; run < 2; run++) {
                    crig_init(&r[run], wins[wi]);
                    for (int64_t ts = 0; ts < 20; ts++) {
                        int64_t row[NC] = {ts, ts % 3, ts, ts};
                        rig_row(&r[run].sc, NC, row, 0);
                    }
                    rig_wm(&r[run].sc, pending ? 18 : 40); /* ts 19's last window ends at 20 (CUMULATE), 35 (HOP) */
                    pause = r[run].sc.n;
                    for (int64_t ts = 40; ts < 100; ts++) {
                        int64_t row[NC] = {ts, ts % 3, ts, ts};
                        rig_row(&r[run].sc, NC, row, 0);
                        if (ts % 10 == 9)
                            rig_wm(&r[run].sc, ts - 5);
                    }
                }
                tide_flow *f;
                tide_err e = {0};
                tide_flow_cfg cfg = {.batch_rows = 16, .chan_capacity = 2};
                TT_OK(tide_flow_create(&f, &cfg, &e));
                TT_ASSERT_EQ_INT(cbuild(f, &r[0], P, &e), 0);
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
                TT_ASSERT_EQ_INT(cbuild(f, &r[1], P, &e), 0);
                TT_OK(tide_flow_restore(f, &store, &e));
                tide_err_clear(&e);
                int rc = tide_flow_run(f, &e);
                tide_flow_free(f);
                tide_buf_free(&store);
                { /* pending state too: restored, not lost */
                    TT_ASSERT_MSG(rc == 0, "%s", e.msg);
                    size_t cut = r[0].sink.at_barrier, w = rig_width(&r[0].sink);
                    TT_ASSERT(cut > 0);
                    TT_ASSERT_EQ_INT(r[1].sink.n, r[0].sink.n - cut);
                    rig_sort(r[0].sink.rows + cut * w, r[1].sink.n, w, 0);
                    rig_sort(r[1].sink.rows, r[1].sink.n, w, 0);
                    TT_ASSERT(memcmp(r[0].sink.rows + cut * w, r[1].sink.rows,
                                     r[1].sink.n * w * sizeof(int64_t)) == 0);
                }
                crig_free(&r[0]);
                crig_free(&r[1]);
            }
}

int main(void)
{
    TT_RUN(test_cumagg_vs_brute_force);
    TT_RUN(test_cumagg_config);
    TT_RUN(test_window_vs_brute_force);
    TT_RUN(test_union_vs_brute_force);
    TT_RUN(test_union_type_check);
    TT_RUN(test_window_union_restore);
    TT_RUN(test_cumagg_restore);
    TT_DONE();
}
