/*
 * test_node_topn.c - the Top-N node (exec/node_topn.h) in flows of scripted
 * sources (tests/unit/node_rig.h), against brute forces written here:
 *   updating   per watermark step, each partition's rows ranked by (v DESC,
 *              step of arrival, values, arrival) from scratch; the changelog is the difference of the
 *              ranks lo..hi between steps: per rank -U/+U, +I, -D with the
 *              rank out, a set difference (-D, +I; -U/+U for [1, 1])
 *              without; append-only input and a changelog input (-D/-U
 *              retract an earlier row);
 *   window     partitions per (key, window_end): final +I rows of ranks
 *              lo..hi when the watermark reaches window_end - 1; rows for a
 *              fired window counted late;
 *   first      a key's row with the smallest ts once the watermark reaches
 *              it; rows at or behind the watermark late, later ones nothing.
 * Every run at P = 1, 2, 4 gives the model's records step by step; at P = 1
 * every -U is followed by the +U of its partition and rank.  A run cut at
 * a barrier and restored gives the uninterrupted run's rows after the cut.
 */
#include "exec/node_topn.h"
#include "time/window.h"
#include "node_rig.h"

enum { TS, K, V, ID, WE, NC }; /* input rows; WE: a window end */
static const char *const in_cols[] = {"ts:T", "k:B", "v:B", "id:B", "we:T"};
static const char *const out_cols[] = {"ts:T", "k:B", "v:B", "id:B", "we:T", "rn:B"};
#define OW (RIG_HDR + NC + 1) /* a record: step, op, columns, rank */

typedef struct trig {
    tide_schema *s, *out;
    rig_script sc;
    rig_src_cfg src;
    uint32_t keys[2], sorts[1];
    bool desc[1];
    tide_node_topn_cfg cfg;
    rig_sink sink;
} trig;

static void trig_init(trig *r, tide_node_topn_mode mode, int64_t lo, int64_t hi, bool rank_out, bool changelog)
{
    memset(r, 0, sizeof *r);
    r->s = rig_schema(NC, in_cols);
    r->out = rig_schema(NC + 1, out_cols);
    r->keys[0] = K;
    r->keys[1] = WE;
    r->sorts[0] = mode == TIDE_NODE_TOPN_FIRST ? TS : V;
    r->desc[0] = mode != TIDE_NODE_TOPN_FIRST;
    r->cfg = (tide_node_topn_cfg){.in = r->s,
                                  .out = r->out,
                                  .n_pass = NC,
                                  .key_cols = r->keys,
                                  .n_keys = mode == TIDE_NODE_TOPN_WINDOW ? 2 : 1,
                                  .sort_cols = r->sorts,
                                  .desc = r->desc,
                                  .n_sort = 1,
                                  .lo = lo,
                                  .hi = hi,
                                  .rank_out = rank_out,
                                  .changelog = changelog,
                                  .mode = mode,
                                  .time_col = mode == TIDE_NODE_TOPN_WINDOW ? WE : TS,
                                  .batch_rows = 7};
}

static void trig_free(trig *r)
{
    tide_schema_free(r->s);
    tide_schema_free(r->out);
    rig_script_free(&r->sc);
    rig_sink_free_rows(&r->sink);
}

static int tbuild(tide_flow *f, trig *r, uint32_t P, tide_err *e)
{
    int src, n_, sink;
    rig_src_init(&r->src, r->s, &r->sc, 5);
    tide_flow_node n = rig_node("src", &rig_src_vt, rig_src_make, &r->src, 1, r->s);
    if (r->cfg.changelog)
        n.out_flags[0] = TIDE_CBATCH_OPS;
    TT_OK_RC(tide_flow_add(f, &n, &src, e));
    n = rig_node("topn", &tide_node_topn_vt, tide_node_topn_make, &r->cfg, P, r->out);
    n.out_flags[0] = tide_node_topn_flags(&r->cfg);
    TT_OK_RC(tide_flow_add(f, &n, &n_, e));
    rig_sink_free_rows(&r->sink);
    rig_sink_init(&r->sink, NC + 1);
    n = rig_node("sink", &rig_sink_vt, rig_sink_make, &r->sink, 1, r->out);
    TT_OK_RC(tide_flow_add(f, &n, &sink, e));
    TT_OK_RC(tide_flow_connect(f, src, 0, n_, TIDE_FLOW_HASH, r->keys, r->cfg.n_keys, e));
    TT_OK_RC(tide_flow_connect(f, n_, 0, sink, TIDE_FLOW_GATHER, NULL, 0, e));
    return 0;
}

static int trun(trig *r, uint32_t P, uint64_t *late, tide_err *e)
{
    tide_flow *f;
    tide_flow_cfg cfg = {.batch_rows = 16, .chan_capacity = 2};
    int rc = tide_flow_create(&f, &cfg, e);
    if (!rc)
        rc = tbuild(f, r, P, e);
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

/* ---- the model ---- */

typedef struct mrow {
    int64_t v[NC];
    size_t step; /* watermarks before it */
    size_t arrival;
    bool live;
} mrow;

typedef struct model {
    mrow *rows;
    size_t n;
    int64_t *out; /* OW per record */
    size_t nout, cap;
    uint64_t late;
} model;

static void put(model *m, int64_t step, tide_op op, const mrow *r, int64_t rank)
{
    if (m->nout == m->cap) {
        m->cap = m->cap ? 2 * m->cap : 256;
        m->out = realloc(m->out, m->cap * OW * sizeof *m->out);
        if (!m->out)
            abort();
    }
    int64_t *o = m->out + m->nout++ * OW;
    o[0] = step;
    o[1] = op;
    memcpy(o + RIG_HDR, r->v, NC * sizeof(int64_t));
    o[RIG_HDR + NC] = rank;
}

/* The rows of a partition ranked: v DESC (FIRST: ts ASC), then the earlier
 * step, then the values (ts, k, v, id, we), then arrival. */
static const model *g_m;
static bool g_desc;
static int rank_cmp(const void *a, const void *b)
{
    const mrow *x = &g_m->rows[*(const size_t *)a], *y = &g_m->rows[*(const size_t *)b];
    int s = g_desc ? 1 : -1, c = g_desc ? V : TS;
    if (x->v[c] != y->v[c])
        return x->v[c] < y->v[c] ? s : -s;
    if (x->step != y->step)
        return x->step < y->step ? -1 : 1;
    for (int i = 0; i < NC; i++)
        if (x->v[i] != y->v[i])
            return x->v[i] < y->v[i] ? -1 : 1;
    return (x->arrival > y->arrival) - (x->arrival < y->arrival);
}

/* ranked[0..*n) of the live rows with key k (and window end we, when >= 0). */
static void ranking(const model *m, int64_t k, int64_t we, bool desc, size_t *ranked, size_t *n)
{
    *n = 0;
    for (size_t i = 0; i < m->n; i++)
        if (m->rows[i].live && m->rows[i].v[K] == k && (we < 0 || m->rows[i].v[WE] == we))
            ranked[(*n)++] = i;
    g_m = m;
    g_desc = desc;
    qsort(ranked, *n, sizeof *ranked, rank_cmp);
}

/* The updating model: a step's diff per partition (keys 0..nk-1). */
static void model_updating(model *m, const rig_script *sc, int nk, int64_t lo, int64_t hi, bool rank_out)
{
    size_t *shown = calloc((size_t)nk * (size_t)(hi - lo + 1), sizeof *shown); /* row + 1, 0: none */
    size_t *ranked = calloc(sc->n + 1, sizeof *ranked);
    m->rows = calloc(sc->n + 1, sizeof *m->rows);
    int64_t step = TIDE_TS_MIN;
    size_t w = (size_t)(hi - lo + 1), nwm = 0;
    for (size_t i = 0; i <= sc->n; i++) {
        const rig_ev *ev = i < sc->n ? &sc->ev[i] : NULL;
        if (ev && !ev->is_wm) {
            mrow r = {.step = nwm, .arrival = i, .live = true};
            memcpy(r.v, ev->v, sizeof r.v);
            if (tide_op_sign(ev->op) < 0) { /* retract an equal live row */
                for (size_t j = 0; j < m->n; j++)
                    if (m->rows[j].live && memcmp(m->rows[j].v, r.v, sizeof r.v) == 0) {
                        m->rows[j].live = false;
                        break;
                    }
                continue;
            }
            m->rows[m->n++] = r;
            continue;
        }
        /* a watermark (or the end): every partition's diff */
        for (int k = 0; k < nk; k++) {
            size_t n;
            ranking(m, k, -1, true, ranked, &n);
            size_t *sh = shown + (size_t)k * w;
            size_t now[64] = {0};
            for (size_t j = 0; j < w; j++)
                now[j] = (int64_t)j + lo - 1 < (int64_t)n ? ranked[j + (size_t)lo - 1] + 1 : 0;
            if (rank_out) {
                for (size_t j = 0; j < w; j++) {
                    size_t o = sh[j], nw = now[j];
                    int64_t rank = lo + (int64_t)j;
                    if (o == nw)
                        continue;
                    if (o && nw) {
                        put(m, step, TIDE_OP_UPDATE_BEFORE, &m->rows[o - 1], rank);
                        put(m, step, TIDE_OP_UPDATE_AFTER, &m->rows[nw - 1], rank);
                    } else if (o) {
                        put(m, step, TIDE_OP_DELETE, &m->rows[o - 1], rank);
                    } else {
                        put(m, step, TIDE_OP_INSERT, &m->rows[nw - 1], rank);
                    }
                }
            } else {
                size_t gone[64], came[64], ng = 0, nc = 0;
                int64_t grank[64], crank[64];
                for (size_t j = 0; j < w; j++) {
                    bool in_new = false, in_old = false;
                    for (size_t q = 0; q < w; q++) {
                        in_new |= sh[j] && now[q] == sh[j];
                        in_old |= now[j] && sh[q] == now[j];
                    }
                    if (sh[j] && !in_new)
                        grank[ng] = lo + (int64_t)j, gone[ng++] = sh[j];
                    if (now[j] && !in_old)
                        crank[nc] = lo + (int64_t)j, came[nc++] = now[j];
                }
                if (lo == 1 && hi == 1 && ng == 1 && nc == 1) {
                    put(m, step, TIDE_OP_UPDATE_BEFORE, &m->rows[gone[0] - 1], 1);
                    put(m, step, TIDE_OP_UPDATE_AFTER, &m->rows[came[0] - 1], 1);
                } else {
                    for (size_t j = 0; j < ng; j++)
                        put(m, step, TIDE_OP_DELETE, &m->rows[gone[j] - 1], grank[j]);
                    for (size_t j = 0; j < nc; j++)
                        put(m, step, TIDE_OP_INSERT, &m->rows[came[j] - 1], crank[j]);
                }
            }
            memcpy(sh, now, w * sizeof *sh);
        }
        if (ev)
            step = ev->wm;
        nwm++;
    }
    free(shown);
    free(ranked);
}

/* The window and first-row models. */
static void model_final(model *m, const rig_script *sc, int nk, int64_t lo, int64_t hi, bool first)
{
    size_t *ranked = calloc(sc->n + 1, sizeof *ranked);
    m->rows = calloc(sc->n + 1, sizeof *m->rows);
    bool fired_key[64] = {false};
    int64_t wm = TIDE_TS_MIN, step = TIDE_TS_MIN;
    size_t nwm = 0;
    for (size_t i = 0; i <= sc->n; i++) {
        const rig_ev *ev = i < sc->n ? &sc->ev[i] : NULL;
        if (ev && !ev->is_wm) {
            int64_t t = first ? ev->v[TS] : ev->v[WE];
            if (first ? t <= wm : t - 1 <= wm) {
                m->late++;
                continue;
            }
            if (first && fired_key[ev->v[K]])
                continue;
            mrow r = {.step = nwm, .arrival = i, .live = true};
            memcpy(r.v, ev->v, sizeof r.v);
            m->rows[m->n++] = r;
            continue;
        }
        int64_t now = ev ? ev->wm : TIDE_TS_MAX;
        if (first) {
            for (int k = 0; k < nk; k++) {
                size_t n;
                ranking(m, k, -1, false, ranked, &n);
                if (n && m->rows[ranked[0]].v[TS] <= now) {
                    put(m, step, TIDE_OP_INSERT, &m->rows[ranked[0]], 1);
                    fired_key[k] = true;
                    for (size_t j = 0; j < n; j++)
                        m->rows[ranked[j]].live = false;
                }
            }
        } else {
            /* every window end with live rows that fires now, per key */
            for (size_t a = 0; a < m->n; a++) {
                const mrow *x = &m->rows[a];
                if (!x->live || x->v[WE] - 1 > now)
                    continue;
                size_t n;
                int64_t k = x->v[K], we = x->v[WE];
                ranking(m, k, we, true, ranked, &n);
                for (int64_t rk = lo; rk <= hi && rk <= (int64_t)n; rk++)
                    put(m, step, TIDE_OP_INSERT, &m->rows[ranked[rk - 1]], rk);
                for (size_t j = 0; j < n; j++)
                    m->rows[ranked[j]].live = false;
            }
        }
        wm = now;
        step = now;
        nwm++;
    }
    free(ranked);
}

static void model_free(model *m)
{
    free(m->rows);
    free(m->out);
}

/* ---- scripts ---- */

/* n rows of nk keys, ts = 3i + jitter < 10, v in a small range (ties),
 * a watermark max ts - 10 after about every third row; `late` in 100 rows
 * behind the watermark; with retract, every 5th event a -D/-U of an
 * earlier row; we = the end of ts's 30 ms tumbling window. */
static void gen(rig_script *sc, uint64_t *seed, int n, int nk, int late, bool retract)
{
    int64_t maxts = TIDE_TS_MIN, wm = TIDE_TS_MIN;
    for (int i = 0; i < n; i++) {
        if (retract && i > 3 && rig_rand(seed) % 5 == 0) {
            /* an earlier insert, retracted (maybe twice: then the model and
             * the node both find nothing the second time: not generated) */
            size_t j = rig_rand(seed) % sc->n;
            const rig_ev *x = &sc->ev[j];
            bool dup = x->is_wm || tide_op_sign(x->op) < 0;
            for (size_t q = j + 1; q < sc->n && !dup; q++)
                dup = !sc->ev[q].is_wm && memcmp(sc->ev[q].v, x->v, NC * sizeof(int64_t)) == 0;
            if (!dup) {
                int64_t v[NC];
                memcpy(v, x->v, sizeof v);
                rig_row(sc, NC, v, 0);
                sc->ev[sc->n - 1].op = rig_rand(seed) % 2 ? TIDE_OP_DELETE : TIDE_OP_UPDATE_BEFORE;
                continue;
            }
        }
        int64_t ts = 3 * i + (int64_t)(rig_rand(seed) % 10);
        if (wm != TIDE_TS_MIN && (int)(rig_rand(seed) % 100) < late)
            ts = wm - (int64_t)(rig_rand(seed) % 40);
        int64_t row[NC] = {ts, (int64_t)(rig_rand(seed) % (uint64_t)nk), (int64_t)(rig_rand(seed) % 12), i,
                           rig_floor_div(ts, 30) * 30 + 30};
        rig_row(sc, NC, row, 0);
        if (ts > maxts)
            maxts = ts;
        if (rig_rand(seed) % 3 == 0 && maxts - 10 > wm) {
            wm = maxts - 10;
            rig_wm(sc, wm);
        }
    }
}

/* Compare the run's records with the model's, each step's sorted: 0, or 1
 * with the first difference printed. */
static int same_records(rig_sink *k, model *m, uint32_t P, bool pairs)
{
    if (k->n != m->nout) {
        fprintf(stderr, "  %zu records, the model %zu\n", k->n, m->nout);
        return 1;
    }
    for (size_t i = 0; pairs && P == 1 && i < k->n; i++) {
        const int64_t *o = k->rows + i * OW, *q = o + OW;
        if (o[1] == TIDE_OP_UPDATE_BEFORE &&
            (i + 1 == k->n || q[1] != TIDE_OP_UPDATE_AFTER || q[RIG_HDR + K] != o[RIG_HDR + K] ||
             q[RIG_HDR + NC] != o[RIG_HDR + NC])) {
            fprintf(stderr, "  record %zu: a -U without the +U of its partition and rank\n", i);
            return 1;
        }
    }
    rig_sort(k->rows, k->n, OW, 0);
    rig_sort(m->out, m->nout, OW, 0);
    for (size_t i = 0; i < k->n; i++)
        if (memcmp(k->rows + i * OW, m->out + i * OW, OW * sizeof(int64_t)) != 0) {
            const int64_t *a = k->rows + i * OW, *b = m->out + i * OW;
            fprintf(stderr,
                    "  record %zu: got step %lld op %lld k %lld v %lld id %lld rn %lld, want step %lld op %lld "
                    "k %lld v %lld id %lld rn %lld\n",
                    i, (long long)a[0], (long long)a[1], (long long)a[RIG_HDR + K], (long long)a[RIG_HDR + V],
                    (long long)a[RIG_HDR + ID], (long long)a[RIG_HDR + NC], (long long)b[0], (long long)b[1],
                    (long long)b[RIG_HDR + K], (long long)b[RIG_HDR + V], (long long)b[RIG_HDR + ID],
                    (long long)b[RIG_HDR + NC]);
            return 1;
        }
    return 0;
}

static void test_updating_vs_brute_force(void)
{
    static const struct {
        int64_t lo, hi;
        bool rank_out, retract;
    } cases[] = {
        {1, 3, true, false}, {1, 3, false, false}, {1, 1, true, false}, {1, 1, false, false},
        {2, 4, true, false}, {2, 4, false, false}, {1, 3, true, true},  {1, 3, false, true},
        {1, 1, false, true}, {3, 3, true, true},
    };
    TT_FOR_SEEDS(seed, 1, 4)
    {
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
            uint64_t s = seed * 977 + c + 1;
            trig r;
            trig_init(&r, TIDE_NODE_TOPN_UPDATING, cases[c].lo, cases[c].hi, cases[c].rank_out, cases[c].retract);
            gen(&r.sc, &s, 300, 4, 0, cases[c].retract);
            model m = {0};
            model_updating(&m, &r.sc, 4, cases[c].lo, cases[c].hi, cases[c].rank_out);
            TT_ASSERT_MSG(m.nout > 6, "case %zu: %zu records, %zu events", c, m.nout, r.sc.n);
            for (uint32_t P = 1; P <= 4; P *= 2) {
                tide_err e = {0};
                TT_ASSERT_MSG(trun(&r, P, NULL, &e) == 0, "case %zu P=%u: %s", c, P, e.msg);
                model mc = m;
                mc.out = malloc(m.nout * OW * sizeof *mc.out);
                memcpy(mc.out, m.out, m.nout * OW * sizeof *mc.out);
                int bad = same_records(&r.sink, &mc, P, true);
                free(mc.out);
                TT_ASSERT_MSG(bad == 0, "case %zu (rank %lld..%lld, rank out %d, retract %d) P=%u", c,
                              (long long)cases[c].lo, (long long)cases[c].hi, cases[c].rank_out, cases[c].retract,
                              P);
            }
            model_free(&m);
            trig_free(&r);
        }
    }
}

static void test_window_and_first_vs_brute_force(void)
{
    TT_FOR_SEEDS(seed, 1, 4)
    {
        for (int mode = 0; mode < 3; mode++) {
            bool first = mode == 2;
            int64_t lo = first ? 1 : mode == 0 ? 1 : 2, hi = first ? 1 : 3;
            uint64_t s = seed * 131 + (uint64_t)mode + 7;
            trig r;
            trig_init(&r, first ? TIDE_NODE_TOPN_FIRST : TIDE_NODE_TOPN_WINDOW, lo, hi, true, false);
            gen(&r.sc, &s, 400, 5, 4, false);
            model m = {0};
            model_final(&m, &r.sc, 5, lo, hi, first);
            TT_ASSERT_MSG(m.nout >= 5 && m.late > 0, "mode %d: %zu records, %llu late", mode, m.nout, (unsigned long long)m.late);
            for (uint32_t P = 1; P <= 4; P *= 2) {
                tide_err e = {0};
                uint64_t late = 0;
                TT_ASSERT_MSG(trun(&r, P, &late, &e) == 0, "mode %d P=%u: %s", mode, P, e.msg);
                TT_ASSERT_EQ_INT(late, m.late);
                model mc = m;
                mc.out = malloc(m.nout * OW * sizeof *mc.out);
                memcpy(mc.out, m.out, m.nout * OW * sizeof *mc.out);
                int bad = same_records(&r.sink, &mc, P, false);
                free(mc.out);
                TT_ASSERT_MSG(bad == 0, "mode %d P=%u", mode, P);
                for (size_t i = 0; i < r.sink.n; i++)
                    TT_ASSERT(r.sink.rows[i * OW + 1] == TIDE_OP_INSERT);
            }
            model_free(&m);
            trig_free(&r);
        }
    }
}

/* A run cut at a barrier (in the middle of the script, rows pending and
 * shown) and restored gives the rest of the uninterrupted run. */
static void test_restore(void)
{
    for (int mode = 0; mode < 4; mode++)
        for (uint32_t P = 1; P <= 2; P++) {
            trig r[2];
            size_t pause = 0;
            for (int run = 0; run < 2; run++) {
                uint64_t s = 99 + (uint64_t)mode;
                tide_node_topn_mode md = mode == 2 ? TIDE_NODE_TOPN_WINDOW : mode == 3 ? TIDE_NODE_TOPN_FIRST
                                                                                      : TIDE_NODE_TOPN_UPDATING;
                trig_init(&r[run], md, 1, md == TIDE_NODE_TOPN_FIRST ? 1 : 3, mode != 1, mode == 1);
                gen(&r[run].sc, &s, 300, mode == 3 ? 60 : 4, 2, mode == 1);
                pause = r[run].sc.n / 2;
            }
            tide_flow *f;
            tide_err e = {0};
            tide_flow_cfg cfg = {.batch_rows = 16, .chan_capacity = 2};
            TT_OK(tide_flow_create(&f, &cfg, &e));
            TT_ASSERT_EQ_INT(tbuild(f, &r[0], P, &e), 0);
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
            TT_ASSERT_EQ_INT(tbuild(f, &r[1], P, &e), 0);
            TT_OK(tide_flow_restore(f, &store, &e));
            int rc = tide_flow_run(f, &e);
            tide_flow_free(f);
            tide_buf_free(&store);
            TT_ASSERT_MSG(rc == 0, "%s", e.msg);
            size_t cut = r[0].sink.at_barrier, w = OW;
            TT_ASSERT_MSG(cut > 0 && r[1].sink.n > 0, "mode %d P=%u: cut %zu, after %zu of %zu", mode, P, cut, r[1].sink.n, r[0].sink.n);
            TT_ASSERT_EQ_INT(r[1].sink.n, r[0].sink.n - cut);
            rig_sort(r[0].sink.rows + cut * w, r[1].sink.n, w, 0);
            rig_sort(r[1].sink.rows, r[1].sink.n, w, 0);
            TT_ASSERT_MSG(memcmp(r[0].sink.rows + cut * w, r[1].sink.rows, r[1].sink.n * w * sizeof(int64_t)) == 0,
                          "mode %d P=%u", mode, P);
            trig_free(&r[0]);
            trig_free(&r[1]);
        }
}

/* A retraction of a row the node never saw is an error, not a silent no-op. */
static void test_unknown_retraction(void)
{
    trig r;
    trig_init(&r, TIDE_NODE_TOPN_UPDATING, 1, 2, true, true);
    int64_t row[NC] = {5, 1, 3, 7, 30};
    rig_row(&r.sc, NC, row, 0);
    row[V] = 4;
    rig_row(&r.sc, NC, row, 0);
    r.sc.ev[1].op = TIDE_OP_DELETE;
    tide_err e = {0};
    TT_ASSERT(trun(&r, 1, NULL, &e) != 0);
    TT_ASSERT(strstr(e.msg, "retraction") != NULL);
    trig_free(&r);
}

int main(void)
{
    TT_RUN(test_updating_vs_brute_force);
    TT_RUN(test_window_and_first_vs_brute_force);
    TT_RUN(test_restore);
    TT_RUN(test_unknown_retraction);
    TT_DONE();
}
