/*
 * test_node_join.c - the join node (exec/node_join.h) in flows of two
 * scripted sources (tests/unit/node_rig.h), against brute forces computed
 * here:
 *   interval join   every pair of on-time rows with equal keys and times
 *                   within the bounds, each once; pairs with late rows are
 *                   real matches; the late count by the rule (ts < W on
 *                   arrival); output never late after the hold;
 *   window join     of node_window's rows: every pair of one window and key,
 *                   in (end, start, key, left order, right order) order, late
 *                   windowed rows (W >= window_end) counted and on the late
 *                   ports;
 *   window-end join of two windowed aggregations' final rows: every pair
 *                   with equal window_end (and equal non-NULL keys), in
 *                   (end, key, left order, right order) order (the old
 *                   fan-in's join, job/fanin.c); DOUBLE keys as SQL
 *                   compares them.
 * P = 1, 2, 4 give the same records (each step's rows sorted, as the
 * ordering sink does).  Snapshot / restore through the flow.
 */
#include "exec/node_join.h"
#include "exec/node_window.h"
#include "node_rig.h"

#include <math.h>

enum { TS, K, V, S, NC }; /* the stream rows: ts, k, v, s ("s<v>") */
enum { WS = NC, WE, WT, NWC }; /* node_window's: then window_start, window_end, window_time */

static const char *const stream_cols[] = {"ts:T", "k:B", "v:B", "s:S"};

typedef struct jrig {
    tide_schema *s, *ws, *out, *late[2];
    rig_script sc[2];
    rig_src_cfg src[2];
    tide_node_window_cfg win;
    tide_node_join_cfg jc;
    rig_sink sink, lsink[2];
} jrig;

static void jrig_free(jrig *r)
{
    tide_schema_free(r->s);
    tide_schema_free(r->ws);
    tide_schema_free(r->out);
    for (int s = 0; s < 2; s++) {
        tide_schema_free(r->late[s]);
        rig_script_free(&r->sc[s]);
        rig_sink_free_rows(&r->lsink[s]);
    }
    rig_sink_free_rows(&r->sink);
}

/* src[s] -> [window[s], chained] -> hash(hkey[s]) -> join[P] -> gather -> sink,
 * join's ports 1, 2 -> gather -> lsink[0], lsink[1]. */
static int build(tide_flow *f, jrig *r, uint32_t P, bool windowed, const uint32_t *hkey[2],
                 uint32_t nh, tide_err *e)
{
    int src[2], win[2], join, sink, ls[2];
    const tide_schema *in = windowed ? r->ws : r->s;
    for (int s = 0; s < 2; s++) {
        rig_src_init(&r->src[s], r->s, &r->sc[s], 7 + (uint32_t)s * 5);
        tide_flow_node n = rig_node(s ? "right" : "left", &rig_src_vt, rig_src_make, &r->src[s], 1, r->s);
        TT_OK_RC(tide_flow_add(f, &n, &src[s], e));
        if (windowed) {
            n = rig_node(s ? "wright" : "wleft", &tide_node_window_vt, tide_node_window_make, &r->win, 1,
                         r->ws);
            TT_OK_RC(tide_flow_add(f, &n, &win[s], e));
            TT_OK_RC(tide_flow_connect(f, src[s], 0, win[s], TIDE_FLOW_FORWARD, NULL, 0, e));
        }
    }
    tide_flow_node n = rig_node("join", &tide_node_join_vt, tide_node_join_make, &r->jc, P, r->out);
    n.n_out = 3;
    n.out_schema[1] = r->late[0];
    n.out_schema[2] = r->late[1];
    n.out_flags[0] = 0;
    TT_OK_RC(tide_flow_add(f, &n, &join, e));
    rig_sink_free_rows(&r->sink); /* a rerun: the last run's records go */
    rig_sink_init(&r->sink, (uint32_t)tide_schema_ncols(r->out));
    n = rig_node("sink", &rig_sink_vt, rig_sink_make, &r->sink, 1, r->out);
    TT_OK_RC(tide_flow_add(f, &n, &sink, e));
    for (int s = 0; s < 2; s++) {
        rig_sink_free_rows(&r->lsink[s]);
        rig_sink_init(&r->lsink[s], (uint32_t)tide_schema_ncols(in));
        n = rig_node(s ? "late_right" : "late_left", &rig_sink_vt, rig_sink_make, &r->lsink[s], 1, in);
        TT_OK_RC(tide_flow_add(f, &n, &ls[s], e));
    }
    for (int s = 0; s < 2; s++)
        TT_OK_RC(tide_flow_connect(f, windowed ? win[s] : src[s], 0, join, TIDE_FLOW_HASH, hkey[s], nh, e));
    TT_OK_RC(tide_flow_connect(f, join, 0, sink, TIDE_FLOW_GATHER, NULL, 0, e));
    for (int s = 0; s < 2; s++)
        TT_OK_RC(tide_flow_connect(f, join, 1 + (uint32_t)s, ls[s], TIDE_FLOW_GATHER, NULL, 0, e));
    return 0;
}

static int run(jrig *r, uint32_t P, bool windowed, const uint32_t *hkey[2], uint32_t nh, uint64_t *late,
               tide_err *e)
{
    tide_flow *f;
    tide_flow_cfg cfg = {.batch_rows = 16, .chan_capacity = 2};
    int rc = tide_flow_create(&f, &cfg, e);
    if (!rc)
        rc = build(f, r, P, windowed, hkey, nh, e);
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

static void make_schemas(jrig *r, bool windowed)
{
    tide_err e = {0};
    r->s = rig_schema(NC, stream_cols);
    if (windowed && tide_node_window_schema(&r->win, 0, &r->ws, &e))
        abort();
    if (tide_node_join_schema(&r->jc, 0, &r->out, &e) || tide_node_join_schema(&r->jc, 1, &r->late[0], &e) ||
        tide_node_join_schema(&r->jc, 2, &r->late[1], &e))
        abort();
}

/* A stream: ts = 2i + jitter (jitter < 10 = the watermark's bound, so on
 * time), with `late` of every 100 rows put below the watermark; keys
 * 0..nkeys-1, 1 in 20 NULL; v = side * 1e6 + i; a watermark (max ts - 10)
 * after about every fourth row. */
static void gen_stream(rig_script *sc, uint64_t *seed, int side, int nrows, int nkeys, int late)
{
    int64_t maxts = TIDE_TS_MIN, wm = TIDE_TS_MIN;
    for (int i = 0; i < nrows; i++) {
        int64_t ts = 2 * i + (int64_t)(rig_rand(seed) % 10);
        if (wm != TIDE_TS_MIN && (int)(rig_rand(seed) % 100) < late)
            ts = wm - 1 - (int64_t)(rig_rand(seed) % 25);
        int64_t v = side * 1000000 + i;
        int64_t row[NC] = {ts, (int64_t)(rig_rand(seed) % (uint64_t)nkeys), v, v};
        rig_row(sc, NC, row, rig_rand(seed) % 20 == 0 ? 1u << K : 0);
        if (ts > maxts)
            maxts = ts;
        if (rig_rand(seed) % 4 == 0 && maxts - 10 > wm) {
            wm = maxts - 10;
            rig_wm(sc, wm);
        }
    }
}

/* The rows of a script with the watermark each is handled at. */
typedef struct brow {
    int64_t v[NC];
    bool knull, late;
    int64_t wm;
} brow;

static brow *rows_of(const rig_script *sc, size_t *n)
{
    int64_t *w = rig_row_wms(sc);
    brow *b = calloc(sc->n + 1, sizeof *b);
    *n = 0;
    for (size_t i = 0; i < sc->n; i++) {
        if (sc->ev[i].is_wm)
            continue;
        brow *x = &b[(*n)++];
        memcpy(x->v, sc->ev[i].v, sizeof x->v);
        x->knull = (sc->ev[i].nulls >> K) & 1;
        x->wm = w[i];
        x->late = x->v[TS] < w[i];
    }
    free(w);
    return b;
}

static int pair_cmp(const void *a, const void *b)
{
    const int64_t *x = a, *y = b;
    if (x[0] != y[0])
        return x[0] < y[0] ? -1 : 1;
    return (x[1] > y[1]) - (x[1] < y[1]);
}

/* ---- interval join ---- */

static void test_interval_vs_brute_force(void)
{
    static const int64_t bounds[][2] = {{-5, 5}, {2, 12}, {-12, -3}, {0, 0}};
    TT_FOR_SEEDS(seed, 1, 8) {
        uint64_t sd = seed * 7919;
        int late = seed % 2 ? 4 : 0;
        int nkeys = 1 + (int)(seed % 4);
        jrig r = {0};
        r.jc.kind = TIDE_NODE_JOIN_INTERVAL;
        r.jc.n_keys = 1;
        r.jc.lo = bounds[seed % 4][0];
        r.jc.hi = bounds[seed % 4][1];
        tide_schema *tmp = rig_schema(NC, stream_cols);
        for (int s = 0; s < 2; s++) {
            r.jc.side[s] = (tide_node_join_side){.schema = tmp, .key_cols = {K}, .time_col = TS};
            gen_stream(&r.sc[s], &sd, s, 300 + (int)(rig_rand(&sd) % 200), nkeys, late);
        }
        make_schemas(&r, false);
        for (int s = 0; s < 2; s++)
            r.jc.side[s].schema = r.s;
        tide_schema_free(tmp);
        TT_ASSERT_EQ_INT(tide_node_join_delay(&r.jc), r.jc.lo < 0 && -r.jc.lo > r.jc.hi ? -r.jc.lo
                                                      : r.jc.hi > 0                       ? r.jc.hi
                                                                                          : 0);
        /* brute force */
        size_t nb[2];
        brow *b[2] = {rows_of(&r.sc[0], &nb[0]), rows_of(&r.sc[1], &nb[1])};
        uint64_t want_late = 0;
        for (int s = 0; s < 2; s++)
            for (size_t i = 0; i < nb[s]; i++)
                want_late += !b[s][i].knull && b[s][i].late;
        int64_t *want = malloc(2 * sizeof *want * (nb[0] * nb[1] + 1));
        size_t nw = 0;
        for (size_t i = 0; i < nb[0]; i++)
            for (size_t j = 0; j < nb[1]; j++) {
                const brow *l = &b[0][i], *x = &b[1][j];
                int64_t d = l->v[TS] - x->v[TS];
                if (l->knull || x->knull || l->late || x->late || l->v[K] != x->v[K] || d < r.jc.lo ||
                    d > r.jc.hi)
                    continue;
                want[2 * nw] = l->v[V];
                want[2 * nw + 1] = x->v[V];
                nw++;
            }
        qsort(want, nw, 2 * sizeof *want, pair_cmp);

        int64_t *first = NULL;
        size_t nfirst = 0;
        for (uint32_t P = 1; P <= 4; P *= 2) {
            const uint32_t key = K, *hk[2] = {&key, &key};
            uint64_t got_late = 0;
            tide_err e = {0};
            rig_sink_free_rows(&r.sink);
            TT_ASSERT_MSG(run(&r, P, false, hk, 1, &got_late, &e) == 0, "%s", e.msg);
            TT_ASSERT_EQ_INT(got_late, want_late);
            TT_ASSERT_EQ_INT(r.lsink[0].n + r.lsink[1].n, 0); /* late rows are joined, not sent */
            TT_ASSERT(r.sink.n_wm > 0 && r.sink.wms[r.sink.n_wm - 1] == TIDE_TS_MAX);
            size_t w = rig_width(&r.sink);
            int64_t *pairs = malloc(2 * sizeof *pairs * (r.sink.n + 1));
            int64_t *ontime = malloc(w * sizeof *ontime * (r.sink.n + 1));
            size_t np = 0, no = 0;
            for (size_t i = 0; i < r.sink.n; i++) {
                const int64_t *o = r.sink.rows + i * w, *lv = o + RIG_HDR, *rv = lv + NC;
                int64_t d = lv[TS] - rv[TS];
                /* a real match, strings carried */
                TT_ASSERT(lv[K] != RIG_NULLV && lv[K] == rv[K]);
                TT_ASSERT(d >= r.jc.lo && d <= r.jc.hi);
                TT_ASSERT(lv[S] == lv[V] && rv[S] == rv[V]);
                const brow *bl = &b[0][lv[V]], *br = &b[1][rv[V] - 1000000];
                TT_ASSERT(bl->v[TS] == lv[TS] && br->v[TS] == rv[TS]);
                pairs[2 * np] = lv[V];
                pairs[2 * np + 1] = rv[V];
                np++;
                if (!bl->late && !br->late) {
                    /* the hold: not late downstream */
                    TT_ASSERT_MSG(lv[TS] >= o[0] && rv[TS] >= o[0], "ts %lld %lld after wm %lld",
                                  (long long)lv[TS], (long long)rv[TS], (long long)o[0]);
                    memcpy(ontime + no * w, o, w * sizeof *o);
                    no++;
                }
            }
            qsort(pairs, np, 2 * sizeof *pairs, pair_cmp);
            for (size_t i = 1; i < np; i++)
                TT_ASSERT(pair_cmp(pairs + 2 * i - 2, pairs + 2 * i) != 0); /* each pair once */
            /* the on-time pairs: exactly the brute force's */
            size_t k = 0;
            for (size_t i = 0; i < np; i++) {
                const brow *bl = &b[0][pairs[2 * i]], *br = &b[1][pairs[2 * i + 1] - 1000000];
                if (bl->late || br->late)
                    continue;
                TT_ASSERT(k < nw && pair_cmp(pairs + 2 * i, want + 2 * k) == 0);
                k++;
            }
            TT_ASSERT_EQ_INT(k, nw);
            if (!late)
                TT_ASSERT_EQ_INT(np, nw);
            /* the same records (steps included) for every P */
            rig_sort(ontime, no, w, 0);
            if (P == 1) {
                first = ontime;
                nfirst = no;
            } else {
                TT_ASSERT_EQ_INT(no, nfirst);
                TT_ASSERT(memcmp(ontime, first, no * w * sizeof *first) == 0);
                free(ontime);
            }
            free(pairs);
        }
        free(first);
        free(want);
        free(b[0]);
        free(b[1]);
        jrig_free(&r);
    }
}

/* The hold is exactly enough: a pair completed by an on-time row at the
 * bound (r.ts = W, l.ts = W + lo; or l.ts = W, r.ts = W - hi) is exactly at
 * the watermark downstream, so one millisecond less hold would make it late. */
static void test_interval_hold_is_exact(void)
{
    static const int64_t bounds[][2] = {{-5, 3}, {-2, 6}};
    for (int c = 0; c < 2; c++) {
        jrig r = {0};
        r.jc.kind = TIDE_NODE_JOIN_INTERVAL;
        r.jc.n_keys = 1;
        r.jc.lo = bounds[c][0];
        r.jc.hi = bounds[c][1];
        int64_t d = tide_node_join_delay(&r.jc), W = 105;
        /* side `early` is buffered first; side `late_` completes the pair at W */
        int early = c == 0 ? 0 : 1;
        int64_t early_ts = c == 0 ? W + r.jc.lo : W - r.jc.hi;
        int64_t a[NC] = {early_ts, 7, early * 1000000, early * 1000000};
        int64_t b[NC] = {W, 7, (1 - early) * 1000000, (1 - early) * 1000000};
        rig_row(&r.sc[early], NC, a, 0);
        rig_wm(&r.sc[early], W);
        rig_wm(&r.sc[1 - early], W);
        rig_row(&r.sc[1 - early], NC, b, 0);
        tide_schema *tmp = rig_schema(NC, stream_cols);
        for (int s = 0; s < 2; s++)
            r.jc.side[s] = (tide_node_join_side){.schema = tmp, .key_cols = {K}, .time_col = TS};
        make_schemas(&r, false);
        for (int s = 0; s < 2; s++)
            r.jc.side[s].schema = r.s;
        tide_schema_free(tmp);
        const uint32_t key = K, *hk[2] = {&key, &key};
        uint64_t late = 0;
        tide_err e = {0};
        TT_ASSERT_MSG(run(&r, 1, false, hk, 1, &late, &e) == 0, "%s", e.msg);
        TT_ASSERT_EQ_INT(late, 0);
        TT_ASSERT_EQ_INT(r.sink.n, 1);
        const int64_t *o = r.sink.rows;
        TT_ASSERT_EQ_INT(o[0], W - d); /* the watermark the pair came after */
        TT_ASSERT_EQ_INT(early_ts, W - d); /* ... which is its older time */
        TT_ASSERT(o[RIG_HDR + TS] >= o[0] && o[RIG_HDR + NC + TS] >= o[0]);
        jrig_free(&r);
    }
}

/* ---- window join ---- */

/* A windowed row of the brute force. */
typedef struct wrow {
    int64_t start, end, k, v, ts;
    bool late;
} wrow;

static wrow *windowed(const jrig *r, int s, size_t *n, uint64_t *late)
{
    size_t nb;
    brow *b = rows_of(&r->sc[s], &nb);
    wrow *out = calloc(nb * 64 + 1, sizeof *out);
    *n = 0;
    for (size_t i = 0; i < nb; i++) {
        int64_t st[64], en[64];
        size_t k = rig_windows(&r->win.window, b[i].v[TS], st, en);
        for (size_t j = 0; j < k; j++) {
            if (b[i].knull)
                continue; /* dropped by the join, not late */
            wrow x = {st[j], en[j], b[i].v[K], b[i].v[V], b[i].v[TS], rig_fired(en[j], b[i].wm)};
            *late += x.late;
            out[(*n)++] = x;
        }
    }
    free(b);
    return out;
}

static int late_cmp(const void *a, const void *b)
{
    const wrow *x = a, *y = b;
    if (x->v != y->v)
        return x->v < y->v ? -1 : 1;
    return (x->start > y->start) - (x->start < y->start);
}

static void test_window_join_vs_brute_force(void)
{
    const tide_win_spec wins[] = {tide_win_tumble(10), tide_win_hop(5, 15), tide_win_cumulate(5, 20),
                                  tide_win_hop(10, 10)};
    TT_FOR_SEEDS(seed, 1, 8) {
        uint64_t sd = seed * 104729;
        jrig r = {0};
        r.win.window = wins[seed % 4];
        r.win.time_col = TS;
        tide_schema *tmp = rig_schema(NC, stream_cols);
        r.win.in = tmp;
        tide_schema *wtmp;
        tide_err e = {0};
        TT_OK(tide_node_window_schema(&r.win, 0, &wtmp, &e));
        r.jc.kind = TIDE_NODE_JOIN_WINDOW;
        r.jc.n_keys = 1;
        for (int s = 0; s < 2; s++) {
            r.jc.side[s] =
                (tide_node_join_side){.schema = wtmp, .key_cols = {K}, .start_col = WS, .end_col = WE};
            gen_stream(&r.sc[s], &sd, s, 200 + (int)(rig_rand(&sd) % 150), 3, 6);
        }
        make_schemas(&r, true);
        r.win.in = r.s;
        for (int s = 0; s < 2; s++)
            r.jc.side[s].schema = r.ws;
        tide_schema_free(tmp);
        tide_schema_free(wtmp);
        TT_ASSERT_EQ_INT(tide_schema_ncols(r.out), 2 * NWC);
        TT_ASSERT_EQ_STR(tide_schema_col(r.out, NWC + WE)->name, "window_end0");

        /* brute force: pairs of (end, start, k), left order, right order */
        size_t nw[2];
        uint64_t want_late = 0;
        wrow *w[2] = {windowed(&r, 0, &nw[0], &want_late), windowed(&r, 1, &nw[1], &want_late)};
        size_t np = 0, cap = 1024;
        int64_t(*want)[5] = malloc(cap * sizeof *want);
        for (size_t i = 0; i < nw[0]; i++)
            for (size_t j = 0; j < nw[1]; j++) {
                const wrow *a = &w[0][i], *c = &w[1][j];
                if (a->late || c->late || a->start != c->start || a->end != c->end || a->k != c->k)
                    continue;
                if (np == cap)
                    want = realloc(want, (cap *= 2) * sizeof *want);
                int64_t row[5] = {a->end, a->start, a->k, a->v, c->v};
                memcpy(want[np++], row, sizeof row);
            }
        rig_sort((int64_t *)want, np, 5, 0); /* (end, start, k, left order, right order) */

        int64_t *first = NULL;
        size_t nfirst = 0;
        for (uint32_t P = 1; P <= 4; P *= 2) {
            const uint32_t key = K, *hk[2] = {&key, &key};
            uint64_t got_late = 0;
            for (int s = 0; s < 2; s++)
                rig_sink_free_rows(&r.lsink[s]);
            rig_sink_free_rows(&r.sink);
            TT_ASSERT_MSG(run(&r, P, true, hk, 1, &got_late, &e) == 0, "%s", e.msg);
            TT_ASSERT_EQ_INT(got_late, want_late);
            size_t width = rig_width(&r.sink);
            TT_ASSERT_EQ_INT(r.sink.n, np);
            for (size_t i = 0; i < r.sink.n; i++) {
                const int64_t *o = r.sink.rows + i * width, *lv = o + RIG_HDR, *rv = lv + NWC;
                TT_ASSERT(lv[WS] == rv[WS] && lv[WE] == rv[WE] && lv[K] == rv[K]);
                TT_ASSERT(lv[WT] == lv[WE] - 1 && rv[WT] == rv[WE] - 1);
                TT_ASSERT(lv[TS] >= lv[WS] && lv[TS] < lv[WE] && rv[TS] >= rv[WS] && rv[TS] < rv[WE]);
                TT_ASSERT(lv[S] == lv[V] && rv[S] == rv[V]);
                TT_ASSERT(!rig_fired(lv[WE], o[0])); /* emitted when the watermark passed the end */
                if (P == 1) { /* the exact sequence */
                    int64_t got[5] = {lv[WE], lv[WS], lv[K], lv[V], rv[V]};
                    TT_ASSERT_MSG(memcmp(got, want[i], sizeof got) == 0, "row %zu", i);
                }
            }
            /* late windowed rows, on their side's port */
            for (int s = 0; s < 2; s++) {
                size_t nl = 0, lw = rig_width(&r.lsink[s]);
                wrow *exp = calloc(nw[s] + 1, sizeof *exp), *got = calloc(r.lsink[s].n + 1, sizeof *got);
                for (size_t i = 0; i < nw[s]; i++)
                    if (w[s][i].late)
                        exp[nl++] = w[s][i];
                TT_ASSERT_EQ_INT(r.lsink[s].n, nl);
                for (size_t i = 0; i < nl; i++) {
                    const int64_t *o = r.lsink[s].rows + i * lw + RIG_HDR;
                    got[i] = (wrow){.v = o[V], .start = o[WS]};
                    TT_ASSERT(rig_fired(o[WE], r.lsink[s].rows[i * lw])); /* late by the watermark it came at */
                }
                qsort(exp, nl, sizeof *exp, late_cmp);
                qsort(got, nl, sizeof *got, late_cmp);
                for (size_t i = 0; i < nl; i++)
                    TT_ASSERT(exp[i].v == got[i].v && exp[i].start == got[i].start);
                free(exp);
                free(got);
            }
            int64_t *recs = rig_copy(&r.sink);
            rig_sort(recs, r.sink.n, width, 0);
            if (P == 1) {
                first = recs;
                nfirst = r.sink.n;
            } else {
                TT_ASSERT_EQ_INT(r.sink.n, nfirst);
                TT_ASSERT(memcmp(recs, first, nfirst * width * sizeof *recs) == 0);
                free(recs);
            }
        }
        free(first);
        free(want);
        free(w[0]);
        free(w[1]);
        jrig_free(&r);
    }
}

/* ---- the join of two windowed aggregations on window_end ---- */

enum { AE, AK, AS, ANC }; /* end, key (NULL: -1 in the model), s ("s<key>") */
static const char *const agg_cols[] = {"window_end:T", "k:B", "s:S"};

/* A branch of final window results (ends in (wm, wm + 30], multiples of
 * 10) and watermarks that pass them. */
static void gen_agg(rig_script *sc, uint64_t *seed, size_t nrows, int nkeys)
{
    int64_t wm = 0, mx = 0;
    bool first = true;
    for (size_t i = 0; i < nrows; i++) {
        /* final rows: their window has not fired (end - 1 > W) */
        int64_t end = ((wm + 1) / 10 + 1 + (int64_t)(rig_rand(seed) % 3)) * 10;
        int64_t key = (int64_t)(rig_rand(seed) % (uint64_t)(nkeys + 1)) - 1;
        int64_t row[ANC] = {end, key, key};
        rig_row(sc, ANC, row, key < 0 ? 1u << AK : 0);
        if (end > mx)
            mx = end;
        if (rig_rand(seed) % 5 == 0) {
            int64_t nwm = (mx > wm ? mx : wm) + (int64_t)(rig_rand(seed) % 25);
            if (nwm > wm || first)
                rig_wm(sc, nwm);
            wm = nwm;
            first = false;
        }
    }
}

static void test_window_end_join_as_fanin(void)
{
    TT_FOR_SEEDS(seed, 1, 12) {
        uint64_t sd = seed * 31337;
        int nkeys = (int)(rig_rand(&sd) % 4);
        jrig r = {0};
        tide_schema *tmp = rig_schema(ANC, agg_cols);
        r.jc.kind = TIDE_NODE_JOIN_WINDOW_END;
        r.jc.n_keys = nkeys > 0;
        for (int s = 0; s < 2; s++) {
            r.jc.side[s] = (tide_node_join_side){.schema = tmp, .key_cols = {AK}, .end_col = AE};
            gen_agg(&r.sc[s], &sd, 20 + rig_rand(&sd) % 200, nkeys > 0 ? nkeys : 1);
        }
        tide_err e = {0};
        TT_OK(tide_node_join_schema(&r.jc, 0, &r.out, &e));
        TT_OK(tide_node_join_schema(&r.jc, 1, &r.late[0], &e));
        TT_OK(tide_node_join_schema(&r.jc, 2, &r.late[1], &e));
        r.s = tmp;

        /* brute force: every pair with equal end (and equal non-NULL key),
         * ordered by (end, key, left order, right order) */
        size_t nb[2];
        brow *b[2] = {rows_of(&r.sc[0], &nb[0]), rows_of(&r.sc[1], &nb[1])};
        size_t nw = 0, cap = 1024;
        int64_t(*want)[2 * ANC] = malloc(cap * sizeof *want);
        for (int64_t end = 0; end <= 100000; end += 10)
            for (int64_t key = -1; key < (nkeys > 0 ? nkeys : 1); key++)
                for (size_t i = 0; i < nb[0]; i++) {
                    const brow *l = &b[0][i];
                    int64_t lk = l->knull ? -1 : l->v[AK];
                    if (l->v[AE] != end || (nkeys > 0 && lk != key) || (nkeys == 0 && key != -1))
                        continue;
                    if (nkeys > 0 && lk < 0)
                        continue;
                    for (size_t j = 0; j < nb[1]; j++) {
                        const brow *x = &b[1][j];
                        int64_t rk = x->knull ? -1 : x->v[AK];
                        if (x->v[AE] != end || (nkeys > 0 && rk != lk))
                            continue;
                        if (nw == cap)
                            want = realloc(want, (cap *= 2) * sizeof *want);
                        int64_t row[2 * ANC] = {end, lk, lk, x->v[AE], rk, rk};
                        memcpy(want[nw++], row, sizeof row);
                    }
                }
        int64_t *first = NULL;
        size_t nfirst = 0;
        for (uint32_t P = 1; P <= 4; P *= 2) {
            const uint32_t key = nkeys > 0 ? AK : AE, *hk[2] = {&key, &key};
            uint64_t late = 0;
            rig_sink_free_rows(&r.sink);
            TT_ASSERT_MSG(run(&r, P, false, hk, 1, &late, &e) == 0, "%s", e.msg);
            TT_ASSERT_EQ_INT(late, 0);
            TT_ASSERT_EQ_INT(r.sink.n, nw);
            size_t width = rig_width(&r.sink);
            for (size_t i = 0; i < r.sink.n; i++) {
                int64_t *o = r.sink.rows + i * width + RIG_HDR;
                for (int c = 0; c < 2 * ANC; c++)
                    if (o[c] == RIG_NULLV)
                        o[c] = -1;
                TT_ASSERT(!rig_fired(o[AE], r.sink.rows[i * width])); /* released when W passed the end */
                if (P == 1 && memcmp(o, want[i], sizeof want[i]) != 0)
                    TT_SEED(seed);
                if (P == 1)
                    TT_ASSERT(memcmp(o, want[i], sizeof want[i]) == 0);
            }
            int64_t *recs = rig_copy(&r.sink);
            rig_sort(recs, r.sink.n, width, 0);
            if (P == 1) {
                first = recs;
                nfirst = r.sink.n;
            } else {
                TT_ASSERT_EQ_INT(r.sink.n, nfirst);
                TT_ASSERT(memcmp(recs, first, nfirst * width * sizeof *recs) == 0);
                free(recs);
            }
        }
        free(first);
        free(want);
        free(b[0]);
        free(b[1]);
        r.s = tmp;
        jrig_free(&r);
    }
}

/* DOUBLE keys compare as SQL does: -0.0 matches 0.0, NaN and NULL match
 * nothing (not even NaN); pairs in key order. */
static int64_t dbits(double d)
{
    int64_t v;
    memcpy(&v, &d, 8);
    return v;
}

static void test_window_end_double_keys(void)
{
    static const char *const cols[] = {"window_end:T", "x:D"};
    for (uint32_t P = 1; P <= 2; P++) {
        jrig r = {0};
        r.s = rig_schema(2, cols);
        r.jc.kind = TIDE_NODE_JOIN_WINDOW_END;
        r.jc.n_keys = 1;
        for (int s = 0; s < 2; s++)
            r.jc.side[s] = (tide_node_join_side){.schema = r.s, .key_cols = {1}, .end_col = 0};
        tide_err e = {0};
        TT_OK(tide_node_join_schema(&r.jc, 0, &r.out, &e));
        TT_OK(tide_node_join_schema(&r.jc, 1, &r.late[0], &e));
        TT_OK(tide_node_join_schema(&r.jc, 2, &r.late[1], &e));
        uint64_t nan2 = 0xfff8dead00000000ull;
        double other_nan;
        memcpy(&other_nan, &nan2, 8);
        const double lx[] = {0.0, NAN, 0, 1.5, -INFINITY}, rx[] = {-0.0, other_nan, 0, -INFINITY, 2.0};
        for (int s = 0; s < 2; s++) {
            for (int i = 0; i < 5; i++) {
                int64_t row[2] = {10, dbits(s ? rx[i] : lx[i])};
                rig_row(&r.sc[s], 2, row, i == 2 ? 2u : 0);
            }
            rig_wm(&r.sc[s], 10);
        }
        const uint32_t key = 1, *hk[2] = {&key, &key};
        TT_ASSERT_MSG(run(&r, P, false, hk, 1, NULL, &e) == 0, "%s", e.msg);
        TT_ASSERT_EQ_INT(r.sink.n, 2);
        size_t w = rig_width(&r.sink);
        rig_sort(r.sink.rows, r.sink.n, w, RIG_HDR + 1); /* P = 2: by the key */
        double l0, r0, l1, r1;
        memcpy(&l0, &r.sink.rows[RIG_HDR + 1], 8);
        memcpy(&r0, &r.sink.rows[RIG_HDR + 3], 8);
        memcpy(&l1, &r.sink.rows[w + RIG_HDR + 1], 8);
        memcpy(&r1, &r.sink.rows[w + RIG_HDR + 3], 8);
        TT_ASSERT(l0 == -INFINITY && r0 == -INFINITY);
        TT_ASSERT(l1 == 0 && !signbit(l1) && r1 == 0 && signbit(r1));
        jrig_free(&r);
    }
}

/* ---- snapshot / restore through the flow ---- */

/* Both sides: rows ending at 10..50, the watermark 60 (every window closed:
 * the join holds nothing), [the pause], then rows ending at 70..150 with
 * watermarks.  With `pending`, a row ending at 70 comes before the pause:
 * the join then holds it at the barrier. */
static void snap_script(rig_script *sc, int side, bool pending, size_t *pause_at)
{
    for (int64_t end = 10; end <= 50; end += 10)
        for (int64_t k = 0; k < 3; k++) {
            int64_t row[ANC] = {end, k, side * 100 + k};
            rig_row(sc, ANC, row, 0);
        }
    rig_wm(sc, 60);
    if (pending) {
        int64_t row[ANC] = {70, 1, side * 100 + 1};
        rig_row(sc, ANC, row, 0);
    }
    *pause_at = sc->n;
    for (int64_t end = 70; end <= 150; end += 10) {
        for (int64_t k = 0; k < 3; k++) {
            int64_t row[ANC] = {end, k, side * 100 + k};
            rig_row(sc, ANC, row, 0);
        }
        rig_wm(sc, end);
    }
}

static void test_snapshot_restore(void)
{
    for (int pending = 0; pending <= 1; pending++) {
        for (uint32_t P = 1; P <= 2; P++) {
            jrig r = {0}, r2 = {0};
            tide_err e = {0};
            r.s = rig_schema(ANC, agg_cols);
            r.jc.kind = TIDE_NODE_JOIN_WINDOW_END;
            r.jc.n_keys = 1;
            size_t pause[2];
            for (int s = 0; s < 2; s++) {
                r.jc.side[s] = (tide_node_join_side){.schema = r.s, .key_cols = {AK}, .end_col = AE};
                snap_script(&r.sc[s], s, pending, &pause[s]);
                snap_script(&r2.sc[s], s, pending, &pause[s]);
            }
            TT_OK(tide_node_join_schema(&r.jc, 0, &r.out, &e));
            TT_OK(tide_node_join_schema(&r.jc, 1, &r.late[0], &e));
            TT_OK(tide_node_join_schema(&r.jc, 2, &r.late[1], &e));
            r2.jc = r.jc;
            const uint32_t key = AK, *hk[2] = {&key, &key};

            tide_flow *f;
            tide_flow_cfg cfg = {.batch_rows = 16, .chan_capacity = 2};
            TT_OK(tide_flow_create(&f, &cfg, &e));
            TT_ASSERT_EQ_INT(build(f, &r, P, false, hk, 1, &e), 0);
            rig_injector inj = {.f = f, .srcs = {&r.src[0], &r.src[1]}, .n = 2};
            for (int s = 0; s < 2; s++)
                r.src[s].pause_at = pause[s];
            TT_OK(tide_flow_start(f, &e));
            pthread_t th;
            pthread_create(&th, NULL, rig_inject, &inj);
            TT_ASSERT_MSG(tide_flow_wait(f, &e) == 0, "%s", e.msg);
            pthread_join(th, NULL);
            /* 14 ends, 3 keys, one pair each; the pending rows make (70, 1) 2 x 2 */
            TT_ASSERT_EQ_INT(r.sink.n, 14 * 3 + (pending ? 3 : 0));
            TT_ASSERT_EQ_INT(tide_flow_snapshot_count(f, inj.id), tide_flow_instance_count(f));
            tide_buf store = {0};
            TT_ASSERT(tide_flow_snapshot(f, inj.id, &store, &e));
            tide_flow_free(f);
            TT_ASSERT_EQ_INT(r.sink.at_barrier, 5 * 3);

            /* a fresh flow restored from the checkpoint finishes the job */
            r2.s = r.s;
            r2.out = r.out;
            r2.late[0] = r.late[0];
            r2.late[1] = r.late[1];
            for (int s = 0; s < 2; s++)
                r2.jc.side[s].schema = r.s;
            TT_OK(tide_flow_create(&f, &cfg, &e));
            TT_ASSERT_EQ_INT(build(f, &r2, P, false, hk, 1, &e), 0);
            TT_OK(tide_flow_restore(f, &store, &e));
            tide_err_clear(&e);
            int rc = tide_flow_run(f, &e);
            tide_flow_free(f);
            tide_buf_free(&store);
            { /* pending state too: restored, not lost */
                TT_ASSERT_MSG(rc == 0, "%s", e.msg);
                TT_ASSERT_EQ_INT(r2.sink.base, r.sink.at_barrier);
                TT_ASSERT_EQ_INT(r2.sink.n, r.sink.n - r.sink.at_barrier);
                size_t w = rig_width(&r.sink);
                int64_t *a = rig_copy(&r.sink);
                rig_sort(a + r.sink.at_barrier * w, r2.sink.n, w, 0);
                rig_sort(r2.sink.rows, r2.sink.n, w, 0);
                TT_ASSERT(memcmp(a + r.sink.at_barrier * w, r2.sink.rows, r2.sink.n * w * sizeof *a) == 0);
                free(a);
            }
            r2.s = r2.out = r2.late[0] = r2.late[1] = NULL;
            jrig_free(&r2);
            jrig_free(&r);
        }
    }
}

/* ---- configuration ---- */

static void test_config(void)
{
    static const char *const lc[] = {"ts:T", "k:B", "x:D"}, *const rc_[] = {"ts:T", "ts0:T", "k:S"};
    tide_schema *l = rig_schema(3, lc), *r = rig_schema(3, rc_), *out = NULL;
    tide_node_join_cfg c = {.kind = TIDE_NODE_JOIN_INTERVAL, .n_keys = 1, .lo = -5, .hi = 5};
    c.side[0] = (tide_node_join_side){.schema = l, .key_cols = {1}, .time_col = 0};
    c.side[1] = (tide_node_join_side){.schema = r, .key_cols = {1}, .time_col = 0};
    tide_err e = {0};
    /* output names: the right's clashing ones get the smallest free suffix */
    TT_OK(tide_node_join_schema(&c, 0, &out, &e));
    TT_ASSERT_EQ_INT(tide_schema_ncols(out), 6);
    TT_ASSERT_EQ_STR(tide_schema_col(out, 3)->name, "ts0");
    TT_ASSERT_EQ_STR(tide_schema_col(out, 4)->name, "ts00");
    TT_ASSERT_EQ_STR(tide_schema_col(out, 5)->name, "k0");
    tide_schema_free(out);
    TT_ASSERT_EQ_INT(tide_node_join_delay(&c), 5);
    c.lo = -20;
    TT_ASSERT_EQ_INT(tide_node_join_delay(&c), 20);
    c.lo = 10;
    c.hi = 15;
    TT_ASSERT_EQ_INT(tide_node_join_delay(&c), 15);
    void *self = NULL;
    /* keys of different types (BIGINT, STRING); TIMESTAMP with BIGINT is fine */
    c.side[1].key_cols[0] = 2;
    tide_err_clear(&e);
    TT_ASSERT_EQ_INT(tide_node_join_make(&c, 0, 1, &self, &e), TIDE_EINVAL);
    TT_ASSERT(strstr(e.msg, "key 0") != NULL);
    c.side[1].key_cols[0] = 1;
    tide_err_clear(&e);
    TT_OK(tide_node_join_make(&c, 0, 1, &self, &e));
    tide_node_join_vt.free(self);
    c.lo = 16;
    tide_err_clear(&e);
    TT_ASSERT_EQ_INT(tide_node_join_make(&c, 0, 1, &self, &e), TIDE_EINVAL);
    c.lo = 0;
    c.side[0].time_col = 2; /* a DOUBLE */
    tide_err_clear(&e);
    TT_ASSERT_EQ_INT(tide_node_join_schema(&c, 0, &out, &e), TIDE_EINVAL);
    c.side[0].time_col = 0;
    c.kind = TIDE_NODE_JOIN_WINDOW;
    c.side[0].start_col = 9;
    tide_err_clear(&e);
    TT_ASSERT_EQ_INT(tide_node_join_make(&c, 0, 1, &self, &e), TIDE_EINVAL);
    TT_ASSERT(strstr(e.msg, "start_col") != NULL);
    tide_err_clear(&e);
    TT_ASSERT_EQ_INT(tide_node_join_schema(&c, 3, &out, &e), TIDE_EINVAL);
    tide_schema_free(l);
    tide_schema_free(r);
}

int main(void)
{
    TT_RUN(test_interval_vs_brute_force);
    TT_RUN(test_interval_hold_is_exact);
    TT_RUN(test_window_join_vs_brute_force);
    TT_RUN(test_window_end_join_as_fanin);
    TT_RUN(test_window_end_double_keys);
    TT_RUN(test_snapshot_restore);
    TT_RUN(test_config);
    TT_DONE();
}
