/*
 * test_flow_windows.c - event-time windows over the logins generator in
 * whole flows of the runtime's nodes,
 *
 *   scan -> [calc] -> hash(keys) -> winagg[P] -> gather -> order -> sink
 *                                   winagg.late -> gather -> order -> sink
 *
 * against brute force computed here from the same generated events (the
 * scan of one generator configuration delivers the events fr_gen_events
 * returns, in that order): TUMBLE COUNT(*) per user (also behind the
 * planner's projection), HOP COUNT(DISTINCT user_id) per country (a STRING
 * key), SESSION per user, sessions over the whole stream and per partition
 * key, late data with allowed lateness (late firings as +U, the late
 * records themselves), a stateless filter/project into a file sink, window
 * results into a CSV file.  P = 1, 2, 4 give identical sequences (rows,
 * their watermark steps, the watermarks); each result row is released by
 * the first watermark W >= window_end - 1 (DESIGN.md 4), and the rows of a
 * step come in (window_end, window_start, key) order.
 */
#include "connect/sink.h"
#include "data/timefmt.h"
#include "exec/expr.h"
#include "exec/node_calc.h"
#include "exec/node_order.h"
#include "exec/node_scan.h"
#include "exec/node_winagg.h"
#include "exec/node_write.h"
#include "flow_rig.h"

#define HOUR 3600000LL
#define MIN 60000LL
#define T0 1704067200000LL /* 2024-01-01 00:00 UTC */

static const uint32_t Ps[3] = {1, 2, 4};

static void base_gen(tide_gen_logins_cfg *g, uint64_t events, uint64_t users, int64_t span)
{
    tide_gen_logins_cfg_default(g);
    g->seed = 42;
    g->events = events;
    g->users = users;
    g->start_ms = T0;
    g->end_ms = T0 + span;
    g->late_share = 0.05;
    g->max_delay_ms = 5000;
}

/* ---- expected window rows ---- */

typedef struct xrow {
    int op;
    int64_t k[2]; /* keys as the sink records them (fr_cstr for strings) */
    int64_t start, end, val;
    int64_t seq; /* brute forces: delivery order */
} xrow;

static int xrow_cmp(const void *pa, const void *pb)
{
    const xrow *a = pa, *b = pb;
    if (a->end != b->end)
        return a->end < b->end ? -1 : 1;
    if (a->start != b->start)
        return a->start < b->start ? -1 : 1;
    for (int i = 0; i < 2; i++)
        if (a->k[i] != b->k[i])
            return a->k[i] < b->k[i] ? -1 : 1;
    return 0;
}

static int xrow_seq_cmp(const void *pa, const void *pb)
{
    int c = xrow_cmp(pa, pb);
    if (c)
        return c;
    const xrow *a = pa, *b = pb;
    return (a->seq > b->seq) - (a->seq < b->seq);
}

/* Sort, and merge rows of one (window, key), summing val. */
static void group_rows(xrow *v, size_t *n)
{
    if (!*n)
        return;
    qsort(v, *n, sizeof *v, xrow_cmp);
    size_t o = 0;
    for (size_t i = 0; i < *n; i++) {
        if (o && xrow_cmp(&v[o - 1], &v[i]) == 0)
            v[o - 1].val += v[i].val;
        else
            v[o++] = v[i];
    }
    *n = o;
}

/* ---- the job ---- */

typedef struct wjob {
    /* what to run */
    tide_node_scan_cfg scan;
    uint32_t keys[2], n_keys; /* source columns */
    int value;                /* source column of the aggregate, or -1 */
    tide_agg_kind agg;
    tide_win_spec window;
    int64_t lateness;
    bool project; /* calc SELECT keys, ts, value first (the planner's shape) */
    bool session_by_part;
    uint32_t session_part;
    bool spread; /* global sessions: hash(user_id) -> calc[P] -> gather -> winagg[1] */
    /* built */
    tide_schema *s_src, *s_calc, *s_win, *s_late;
    uint32_t proj[4], n_proj;
    tide_node_calc_cfg calc;
    uint32_t wkeys[2], wvalue;
    tide_winagg_call call;
    tide_node_winagg_cfg wa;
    uint32_t sort[4], sort_late[4];
    tide_node_order_cfg ord, ord_late;
    fr_sink res, late;
    uint64_t counts[TIDE_NODE_COUNTERS];
    int64_t final_wm;
} wjob;

static void wjob_init(wjob *j, const tide_gen_logins_cfg *g, int64_t B)
{
    memset(j, 0, sizeof *j);
    tide_node_scan_cfg_init(&j->scan);
    j->scan.gen = *g;
    j->scan.wm_bound = B;
    j->scan.batch_rows = 512;
    j->value = -1;
    j->agg = TIDE_AGG_COUNT_STAR;
}

static void wjob_free(wjob *j)
{
    tide_schema_free(j->s_src);
    tide_schema_free(j->s_calc);
    tide_schema_free(j->s_win);
    tide_schema_free(j->s_late);
    fr_sink_free(&j->res);
    fr_sink_free(&j->late);
    j->s_src = j->s_calc = j->s_win = j->s_late = NULL;
}

/* The projection: one column reference per output column (any instance). */
static int proj_build(void *ctx, uint32_t instance, tide_expr **where, tide_expr **exprs, tide_err *e)
{
    (void)instance;
    wjob *j = ctx;
    *where = NULL;
    int rc = 0;
    for (uint32_t i = 0; i < j->n_proj && !rc; i++)
        rc = tide_expr_column(&exprs[i], j->s_src, j->proj[i], e);
    return rc;
}

/* Schemas and configurations of the job's nodes. */
static int wjob_prepare(wjob *j, tide_err *e)
{
    int rc;
    if ((rc = tide_node_scan_schema(&j->scan, 0, &j->s_src, e)) != 0)
        return rc;
    const tide_schema *in = j->s_src;
    uint32_t tcol = TIDE_NODE_SCAN_LOGINS_TS;
    for (uint32_t i = 0; i < j->n_keys; i++)
        j->wkeys[i] = j->keys[i];
    j->wvalue = (uint32_t)j->value;
    if (j->project || j->spread) {
        /* keys, ts, value (spread: every column as it is) */
        if (j->spread) {
            j->n_proj = (uint32_t)tide_schema_ncols(j->s_src);
            for (uint32_t i = 0; i < j->n_proj; i++)
                j->proj[i] = i;
        } else {
            j->n_proj = 0;
            for (uint32_t i = 0; i < j->n_keys; i++)
                j->wkeys[i] = j->n_proj, j->proj[j->n_proj++] = j->keys[i];
            tcol = j->n_proj;
            j->proj[j->n_proj++] = TIDE_NODE_SCAN_LOGINS_TS;
            if (j->value >= 0)
                j->wvalue = j->n_proj, j->proj[j->n_proj++] = (uint32_t)j->value;
        }
        if ((rc = tide_schema_create(&j->s_calc, e)) != 0)
            return rc;
        for (uint32_t i = 0; i < j->n_proj && !rc; i++) {
            const tide_column *c = tide_schema_col(j->s_src, j->proj[i]);
            rc = tide_schema_add(j->s_calc, c->name, c->type, c->nullable, e);
        }
        if (rc || (rc = tide_schema_set_time_column(j->s_calc, tcol, e)) != 0)
            return rc;
        j->calc = (tide_node_calc_cfg){.in = j->s_src, .out = j->s_calc, .n_exprs = j->n_proj,
                                       .build = proj_build, .build_ctx = j};
        in = j->s_calc;
    }
    j->call = (tide_winagg_call){j->agg, 0, j->value >= 0 ? TIDE_TYPE_BIGINT : TIDE_TYPE_NULL};
    j->wa = (tide_node_winagg_cfg){.in = in,
                                   .key_cols = j->wkeys,
                                   .n_keys = j->n_keys,
                                   .time_col = tcol,
                                   .value_cols = j->value >= 0 ? &j->wvalue : NULL,
                                   .n_values = j->value >= 0,
                                   .aggs = &j->call,
                                   .n_aggs = 1,
                                   .window = j->window,
                                   .allowed_lateness = j->lateness,
                                   .mode = TIDE_TRIG_ACCUMULATING,
                                   .capacity_hint = 4096,
                                   .batch_rows = 300,
                                   .session_by_part = j->session_by_part,
                                   .session_part = j->session_part};
    if ((rc = tide_node_winagg_schema(&j->wa, 0, &j->s_win, e)) != 0 ||
        (rc = tide_node_winagg_schema(&j->wa, 1, &j->s_late, e)) != 0)
        return rc;
    /* results: keys, window_start, window_end, window_time, agg */
    uint32_t nk = j->n_keys;
    j->sort[0] = nk + 1;
    j->sort[1] = nk;
    for (uint32_t i = 0; i < nk; i++)
        j->sort[2 + i] = i;
    j->ord = (tide_node_order_cfg){
        .schema = j->s_win, .flags = TIDE_CBATCH_OPS, .sort_cols = j->sort, .n_sort = 2 + nk};
    uint32_t nl = (uint32_t)tide_schema_ncols(j->s_late);
    for (uint32_t i = 0; i < nl && i < 4; i++)
        j->sort_late[i] = i;
    j->ord_late = (tide_node_order_cfg){
        .schema = j->s_late, .flags = j->wa.in_flags, .sort_cols = j->sort_late, .n_sort = nl < 4 ? nl : 4};
    return 0;
}

/* Build and run the flow at parallelism P (sinks keep `cap` rows). */
static int wjob_run(wjob *j, uint32_t P, size_t cap, tide_err *e)
{
    fr_sink_free(&j->res);
    fr_sink_free(&j->late);
    fr_sink_init(&j->res, (uint32_t)tide_schema_ncols(j->s_win), cap);
    fr_sink_init(&j->late, (uint32_t)tide_schema_ncols(j->s_late), cap);
    bool global = j->n_keys == 0 || (j->session_by_part && j->session_part == 0);
    uint32_t wp = global ? 1 : P;
    tide_flow *f = NULL;
    tide_flow_cfg fc = {.batch_rows = 256, .chan_capacity = 4};
    int rc = tide_flow_create(&f, &fc, e), src = -1, calc = -1, wa = -1, ord = -1, ordl = -1, res = -1, late = -1;
    tide_flow_node n = fr_node("scan", &tide_node_scan_vt, tide_node_scan_make, &j->scan, 1, j->s_src, 0);
    rc = rc ? rc : tide_flow_add(f, &n, &src, e);
    if (j->s_calc) {
        n = fr_node("calc", &tide_node_calc_vt, tide_node_calc_make, &j->calc, j->spread ? P : 1, j->s_calc, 0);
        rc = rc ? rc : tide_flow_add(f, &n, &calc, e);
    }
    n = fr_node("winagg", &tide_node_winagg_vt, tide_node_winagg_make, &j->wa, wp, j->s_win, TIDE_CBATCH_OPS);
    n.n_out = 2;
    n.out_schema[1] = j->s_late;
    n.out_flags[1] = tide_node_winagg_flags(&j->wa, 1);
    rc = rc ? rc : tide_flow_add(f, &n, &wa, e);
    n = fr_node("order", &tide_node_order_vt, tide_node_order_make, &j->ord, 1, j->s_win, TIDE_CBATCH_OPS);
    rc = rc ? rc : tide_flow_add(f, &n, &ord, e);
    n = fr_node("order_late", &tide_node_order_vt, tide_node_order_make, &j->ord_late, 1, j->s_late,
                j->ord_late.flags);
    rc = rc ? rc : tide_flow_add(f, &n, &ordl, e);
    rc = rc ? rc : fr_add_sink(f, "res", &j->res, j->s_win, &res, e);
    rc = rc ? rc : fr_add_sink(f, "late", &j->late, j->s_late, &late, e);
    int before = src;
    if (calc >= 0) {
        if (j->spread) {
            static const uint32_t user = TIDE_NODE_SCAN_LOGINS_USER_ID;
            rc = rc ? rc : tide_flow_connect(f, src, 0, calc, P == 1 ? TIDE_FLOW_FORWARD : TIDE_FLOW_HASH, &user, 1, e);
        } else {
            rc = rc ? rc : tide_flow_connect(f, src, 0, calc, TIDE_FLOW_FORWARD, NULL, 0, e);
        }
        before = calc;
    }
    /* sessions per partition key: the exchange hashes the partition columns */
    uint32_t nh = j->session_by_part ? j->session_part : j->n_keys;
    tide_flow_part part = global ? (j->spread && P > 1 ? TIDE_FLOW_GATHER : TIDE_FLOW_FORWARD)
                          : P == 1 ? TIDE_FLOW_FORWARD
                                   : TIDE_FLOW_HASH;
    rc = rc ? rc : tide_flow_connect(f, before, 0, wa, part, j->wkeys, part == TIDE_FLOW_HASH ? nh : 0, e);
    rc = rc ? rc : tide_flow_connect(f, wa, 0, ord, TIDE_FLOW_GATHER, NULL, 0, e);
    rc = rc ? rc : tide_flow_connect(f, wa, 1, ordl, TIDE_FLOW_GATHER, NULL, 0, e);
    rc = rc ? rc : tide_flow_connect(f, ord, 0, res, TIDE_FLOW_FORWARD, NULL, 0, e);
    rc = rc ? rc : tide_flow_connect(f, ordl, 0, late, TIDE_FLOW_FORWARD, NULL, 0, e);
    rc = rc ? rc : tide_flow_run(f, e);
    tide_flow_counts(f, j->counts);
    j->final_wm = tide_flow_watermark(f);
    tide_flow_free(f);
    return rc;
}

/* The result rows against `exp` (ops included) in order; each released by
 * the first watermark >= window_end - 1.  0, or which check failed. */
static int check_res(const wjob *j, const xrow *exp, size_t ne)
{
    const fr_sink *k = &j->res;
    size_t n = atomic_load(&k->n);
    if (atomic_load(&k->overflow))
        return -1;
    if (n != ne) {
        fprintf(stderr, "  %zu rows, expected %zu\n", n, ne);
        return -2;
    }
    uint32_t nk = j->n_keys;
    for (size_t i = 0; i < n; i++) {
        const int64_t *r = fr_row(k, i), *v = r + FR_HDR;
        const xrow *x = &exp[i];
        bool same = r[1] == x->op && v[nk] == x->start && v[nk + 1] == x->end && v[nk + 2] == x->end - 1 &&
                    v[nk + 3] == x->val;
        for (uint32_t c = 0; c < nk; c++)
            same = same && v[c] == x->k[c];
        if (!same) {
            fprintf(stderr, "  row %zu: op %lld [%lld,%lld) key %lld val %lld, expected op %d [%lld,%lld) key %lld val %lld\n",
                    i, (long long)r[1], (long long)v[nk], (long long)v[nk + 1], (long long)v[0],
                    (long long)v[nk + 3], x->op, (long long)x->start, (long long)x->end, (long long)x->k[0],
                    (long long)x->val);
            return -3;
        }
        int64_t end = v[nk + 1];
        if (r[1] == TIDE_OP_INSERT && !(fr_wm_before(k, i) < end - 1 && fr_wm_after(k, i) >= end - 1)) {
            fprintf(stderr, "  row %zu ([.., %lld)) released between watermarks %lld and %lld\n", i,
                    (long long)end, (long long)fr_wm_before(k, i), (long long)fr_wm_after(k, i));
            return -4;
        }
    }
    return 0;
}

/* Run at P = 1, 2, 4: each against exp, the P runs identical (steps and
 * watermarks too), nothing late or bad, every record in, the flow's
 * watermark +infinity at the end. */
static void run_all_p(wjob *j, const xrow *exp, size_t ne, uint64_t in, const char *what)
{
    wjob first;
    bool have = false;
    for (int p = 0; p < 3; p++) {
        tide_err e = {0};
        wjob_free(j);
        int rc = wjob_prepare(j, &e);
        rc = rc ? rc : wjob_run(j, Ps[p], ne + 16, &e);
        TT_ASSERT_MSG(rc == 0, "%s P=%u: %s", what, Ps[p], e.msg);
        int c = check_res(j, exp, ne);
        TT_ASSERT_MSG(c == 0, "%s P=%u: check %d", what, Ps[p], c);
        TT_ASSERT_EQ_INT(j->counts[TIDE_NODE_IN], in);
        TT_ASSERT_EQ_INT(j->counts[TIDE_NODE_LATE], 0);
        TT_ASSERT_EQ_INT(j->counts[TIDE_NODE_BAD], 0);
        TT_ASSERT_EQ_INT(atomic_load(&j->late.n), 0);
        TT_ASSERT_EQ_INT(j->final_wm, TIDE_TS_MAX);
        if (!have) {
            first = *j;
            memset(&j->res, 0, sizeof j->res);
            memset(&j->late, 0, sizeof j->late);
            have = true;
        } else {
            TT_ASSERT_MSG(fr_same(&first.res, &j->res, 0), "%s: P=%u differs from P=1", what, Ps[p]);
        }
    }
    fr_sink_free(&first.res);
    fr_sink_free(&first.late);
}

/* ---- TUMBLE COUNT(*) per user per hour ---- */

static void test_tumble_count_per_user(void)
{
    tide_gen_logins_cfg g;
    base_gen(&g, 200000, 3000, 6 * HOUR);
    fr_events ev;
    TT_OK(fr_gen_events(&g, &ev));
    TT_ASSERT_EQ_INT(ev.n, g.events);
    /* B = max delay + 1: nothing is late (a record delayed by exactly B
     * could arrive with ts == W and miss the window ending at ts + 1,
     * which fires at W = ts) */
    xrow *exp = calloc(ev.n, sizeof *exp);
    for (size_t i = 0; i < ev.n; i++) {
        int64_t s = fr_floor_div(ev.ts[i], HOUR) * HOUR;
        exp[i] = (xrow){.op = TIDE_OP_INSERT, .k = {ev.user[i]}, .start = s, .end = s + HOUR, .val = 1};
    }
    size_t ne = ev.n;
    group_rows(exp, &ne);
    /* the winagg over the scan's rows, then behind the planner's
     * projection (SELECT user_id, ts: the exchange copies projected rows) */
    for (int project = 0; project < 2; project++) {
        wjob j;
        wjob_init(&j, &g, g.max_delay_ms + 1);
        j.keys[0] = TIDE_NODE_SCAN_LOGINS_USER_ID;
        j.n_keys = 1;
        j.window = tide_win_tumble(HOUR);
        j.project = project;
        if (project)
            j.scan.unread_cols = 1u << TIDE_NODE_SCAN_LOGINS_COUNTRY | 1u << TIDE_NODE_SCAN_LOGINS_DEVICE;
        run_all_p(&j, exp, ne, ev.n, project ? "tumble, projected" : "tumble");
        wjob_free(&j);
        if (tt_failed_now)
            break;
    }
    free(exp);
    fr_events_free(&ev);
}

/* ---- HOP COUNT(DISTINCT user_id) per country ---- */

static void test_hop_distinct_per_country(void)
{
    tide_gen_logins_cfg g;
    base_gen(&g, 100000, 2000, 4 * HOUR);
    fr_events ev;
    TT_OK(fr_gen_events(&g, &ev));
    const int64_t slide = 10 * MIN, size = 30 * MIN;
    /* every (window, country, user), then distinct users per (window, country) */
    xrow *t = calloc(ev.n * 3 + 1, sizeof *t);
    size_t nt = 0;
    for (size_t i = 0; i < ev.n; i++)
        for (int64_t s = fr_floor_div(ev.ts[i], slide) * slide; s > ev.ts[i] - size; s -= slide)
            t[nt++] = (xrow){.op = TIDE_OP_INSERT,
                             .k = {fr_cstr(tide_gen_logins_country_name(ev.country[i]))},
                             .start = s,
                             .end = s + size,
                             .seq = ev.user[i]};
    qsort(t, nt, sizeof *t, xrow_seq_cmp);
    xrow *exp = calloc(nt + 1, sizeof *exp);
    size_t ne = 0;
    for (size_t i = 0; i < nt; i++) {
        if (ne && xrow_cmp(&exp[ne - 1], &t[i]) == 0) {
            exp[ne - 1].val += t[i].seq != t[i - 1].seq;
        } else {
            exp[ne] = t[i];
            exp[ne++].val = 1;
        }
    }
    wjob j;
    wjob_init(&j, &g, g.max_delay_ms + 1);
    j.keys[0] = TIDE_NODE_SCAN_LOGINS_COUNTRY;
    j.n_keys = 1;
    j.value = TIDE_NODE_SCAN_LOGINS_USER_ID;
    j.agg = TIDE_AGG_COUNT_DISTINCT;
    j.window = tide_win_hop(slide, size);
    run_all_p(&j, exp, ne, ev.n, "hop");
    wjob_free(&j);
    free(t);
    free(exp);
    fr_events_free(&ev);
}

/* ---- SESSION per user ---- */

static int by_key_start(const void *pa, const void *pb)
{
    const xrow *a = pa, *b = pb;
    if (a->k[0] != b->k[0])
        return a->k[0] < b->k[0] ? -1 : 1;
    return (a->start > b->start) - (a->start < b->start);
}

static void test_session_per_user(void)
{
    tide_gen_logins_cfg g;
    base_gen(&g, 60000, 3000, 6 * HOUR);
    fr_events ev;
    TT_OK(fr_gen_events(&g, &ev));
    const int64_t gap = 10 * MIN;
    /* per user by time: records at most `gap` apart share a session
     * [first, last + gap) */
    xrow *t = calloc(ev.n, sizeof *t), *exp = calloc(ev.n, sizeof *exp);
    for (size_t i = 0; i < ev.n; i++)
        t[i] = (xrow){.k = {ev.user[i]}, .start = ev.ts[i]};
    qsort(t, ev.n, sizeof *t, by_key_start);
    size_t ne = 0;
    for (size_t i = 0; i < ev.n; i++) {
        if (ne && exp[ne - 1].k[0] == t[i].k[0] && t[i].start <= exp[ne - 1].end) {
            exp[ne - 1].end = t[i].start + gap;
            exp[ne - 1].val++;
        } else {
            exp[ne++] = (xrow){.op = TIDE_OP_INSERT, .k = {t[i].k[0]}, .start = t[i].start,
                               .end = t[i].start + gap, .val = 1};
        }
    }
    qsort(exp, ne, sizeof *exp, xrow_cmp);
    wjob j;
    wjob_init(&j, &g, g.max_delay_ms + 1);
    j.keys[0] = TIDE_NODE_SCAN_LOGINS_USER_ID;
    j.n_keys = 1;
    j.window = tide_win_session(gap);
    run_all_p(&j, exp, ne, ev.n, "session");
    wjob_free(&j);
    free(t);
    free(exp);
    fr_events_free(&ev);
}

/* ---- sessions over the whole stream, and per partition key ---- */

static int by_ts(const void *pa, const void *pb)
{
    const int64_t *a = pa, *b = pb;
    return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : (a[1] > b[1]) - (a[1] < b[1]);
}

/* GROUP BY country over sessions of the whole input (a gap between any two
 * logins ends one; the session node behind a gather, fed by P instances of
 * a calc so that a step's rows come interleaved), then GROUP BY country,
 * device over sessions per country (session_part 1, hashed on country):
 * a brute force (sort, split at gaps, count per key), P = 1, 2, 4. */
static void test_sessions_global_and_partitioned(void)
{
    tide_gen_logins_cfg g;
    base_gen(&g, 4000, 300, 8 * HOUR); /* ~7 s apart: gaps of 10 s end sessions */
    fr_events ev;
    TT_OK(fr_gen_events(&g, &ev));
    const int64_t gap = 10000;
    int64_t(*t)[2] = malloc(ev.n * sizeof *t); /* ts, index */
    xrow *exp = calloc(ev.n + 1, sizeof *exp);
    for (int pass = 0; pass < 2 && !tt_failed_now; pass++) {
        bool global = pass == 0;
        size_t ne = 0;
        for (int part = 0; part < (global ? 1 : TIDE_GEN_LOGINS_COUNTRIES); part++) {
            size_t m = 0;
            for (size_t i = 0; i < ev.n; i++)
                if (global || ev.country[i] == part) {
                    t[m][0] = ev.ts[i];
                    t[m++][1] = (int64_t)i;
                }
            qsort(t, m, sizeof *t, by_ts);
            for (size_t a = 0; a < m;) {
                int64_t st = t[a][0], en = st + gap;
                size_t b = a + 1;
                while (b < m && t[b][0] <= en)
                    en = t[b++][0] + gap;
                size_t first = ne;
                for (size_t i = a; i < b; i++) {
                    size_t x = (size_t)t[i][1];
                    xrow r = {.op = TIDE_OP_INSERT, .start = st, .end = en, .val = 1};
                    r.k[0] = fr_cstr(tide_gen_logins_country_name(ev.country[x]));
                    if (!global)
                        r.k[1] = fr_cstr(tide_gen_logins_device_name(ev.device[x]));
                    size_t q = first;
                    while (q < ne && xrow_cmp(&exp[q], &r) != 0)
                        q++;
                    if (q < ne)
                        exp[q].val++;
                    else
                        exp[ne++] = r;
                }
                a = b;
            }
        }
        qsort(exp, ne, sizeof *exp, xrow_cmp);
        TT_ASSERT(ne > 20); /* a few long sessions (global) or many more (per country) */
        wjob j;
        /* delays <= B - 2: no record touches a session that fired already
         * (test_winagg's test_session_touching_boundary) */
        wjob_init(&j, &g, g.max_delay_ms + 2);
        j.keys[0] = TIDE_NODE_SCAN_LOGINS_COUNTRY;
        j.keys[1] = TIDE_NODE_SCAN_LOGINS_DEVICE;
        j.n_keys = global ? 1 : 2;
        j.window = tide_win_session(gap);
        j.session_by_part = true;
        j.session_part = global ? 0 : 1;
        j.spread = global;
        j.scan.batch_rows = 64; /* many watermark steps */
        run_all_p(&j, exp, ne, ev.n, global ? "global sessions" : "partitioned sessions");
        wjob_free(&j);
    }
    free(t);
    free(exp);
    fr_events_free(&ev);
}

/* ---- late data, allowed lateness, late firings ---- */

static int by_user_ts(const void *pa, const void *pb)
{
    const int64_t *a = pa, *b = pb;
    if (a[1] != b[1])
        return a[1] < b[1] ? -1 : 1;
    return (a[0] > b[0]) - (a[0] < b[0]);
}

/* TUMBLE(1 min) COUNT(*) per user, B = 5 s, L = 20 s, accumulating: 20% of
 * the records up to 4 minutes late.  Brute force in delivery order: W
 * before record i = max ts before it - B; late when W >= end - 1 + L; a
 * late firing when end - 1 <= W < end - 1 + L.  Each window row's first
 * firing is +I (on time, or a late firing of a row never emitted), each
 * later late firing one +U with the full count; the last value per row is
 * the count of its records that were not late; the late records are
 * exactly the brute force's; P = 1, 2, 4 identical (late rows and their
 * steps too). */
static void test_late_data(void)
{
    tide_gen_logins_cfg g;
    base_gen(&g, 150000, 500, 3 * HOUR);
    g.late_share = 0.2;
    g.max_delay_ms = 4 * MIN; /* far beyond B + L */
    fr_events ev;
    TT_OK(fr_gen_events(&g, &ev));
    const int64_t size = MIN, B = 5000, L = 20000;
    xrow *kept = calloc(ev.n, sizeof *kept);
    int64_t(*late)[2] = calloc(ev.n + 1, sizeof *late);
    size_t nk = 0, nl = 0, nupd = 0;
    int64_t maxts = INT64_MIN;
    for (size_t i = 0; i < ev.n; i++) {
        int64_t w = maxts == INT64_MIN ? INT64_MIN : maxts - B;
        int64_t s = fr_floor_div(ev.ts[i], size) * size, end = s + size;
        if (w != INT64_MIN && w >= end - 1 + L) {
            late[nl][0] = ev.ts[i];
            late[nl++][1] = ev.user[i];
        } else {
            /* op 1 marks a late firing; seq the delivery order */
            kept[nk++] = (xrow){.op = w != INT64_MIN && w >= end - 1, .k = {ev.user[i]}, .start = s,
                                .end = end, .val = 1, .seq = (int64_t)i};
        }
        if (ev.ts[i] > maxts)
            maxts = ev.ts[i];
    }
    qsort(kept, nk, sizeof *kept, xrow_seq_cmp);
    for (size_t i = 1; i < nk; i++)
        nupd += kept[i].op && xrow_cmp(&kept[i - 1], &kept[i]) == 0;
    TT_ASSERT(nl > 100);
    TT_ASSERT(nupd > 100);
    group_rows(kept, &nk);
    qsort(late, nl, sizeof *late, by_user_ts);

    wjob j, first;
    bool have = false;
    wjob_init(&j, &g, B);
    j.keys[0] = TIDE_NODE_SCAN_LOGINS_USER_ID;
    j.n_keys = 1;
    j.window = tide_win_tumble(size);
    j.lateness = L;
    for (int p = 0; p < 3 && !tt_failed_now; p++) {
        tide_err e = {0};
        wjob_free(&j);
        int rc = wjob_prepare(&j, &e);
        rc = rc ? rc : wjob_run(&j, Ps[p], ev.n, &e);
        TT_ASSERT_MSG(rc == 0, "P=%u: %s", Ps[p], e.msg);
        TT_ASSERT_EQ_INT(j.counts[TIDE_NODE_LATE], nl);
        TT_ASSERT_EQ_INT(j.counts[TIDE_NODE_IN], ev.n);
        /* the late records themselves (ts, user_id, ...) */
        size_t n = atomic_load(&j.late.n);
        TT_ASSERT_EQ_INT(n, nl);
        int64_t(*gl)[2] = calloc(nl + 1, sizeof *gl);
        for (size_t i = 0; i < nl; i++) {
            gl[i][0] = fr_row(&j.late, i)[FR_HDR + TIDE_NODE_SCAN_LOGINS_TS];
            gl[i][1] = fr_row(&j.late, i)[FR_HDR + TIDE_NODE_SCAN_LOGINS_USER_ID];
        }
        qsort(gl, nl, sizeof *gl, by_user_ts);
        bool ok = memcmp(gl, late, nl * sizeof *gl) == 0;
        free(gl);
        TT_ASSERT_MSG(ok, "late records differ, P=%u", Ps[p]);
        /* +I once per window row, +U once per late firing */
        size_t nres = atomic_load(&j.res.n), ni = 0, nu = 0;
        TT_ASSERT(!atomic_load(&j.res.overflow));
        xrow *fin = calloc(nres + 1, sizeof *fin);
        for (size_t i = 0; i < nres; i++) {
            const int64_t *r = fr_row(&j.res, i), *v = r + FR_HDR;
            ni += r[1] == TIDE_OP_INSERT;
            nu += r[1] == TIDE_OP_UPDATE_AFTER;
            fin[i] = (xrow){.k = {v[0]}, .start = v[1], .end = v[2], .val = v[4], .seq = (int64_t)i};
        }
        TT_ASSERT_EQ_INT(ni, nk);
        TT_ASSERT_EQ_INT(nu, nupd);
        TT_ASSERT_EQ_INT(ni + nu, nres);
        /* the last value per (window, key) */
        qsort(fin, nres, sizeof *fin, xrow_seq_cmp);
        size_t o = 0;
        for (size_t i = 0; i < nres; i++) {
            if (o && xrow_cmp(&fin[o - 1], &fin[i]) == 0)
                fin[o - 1] = fin[i];
            else
                fin[o++] = fin[i];
        }
        ok = o == nk;
        for (size_t i = 0; i < o && ok; i++)
            ok = xrow_cmp(&fin[i], &kept[i]) == 0 && fin[i].val == kept[i].val;
        free(fin);
        TT_ASSERT_MSG(ok, "final values differ, P=%u", Ps[p]);
        if (!have) {
            first = j;
            memset(&j.res, 0, sizeof j.res);
            memset(&j.late, 0, sizeof j.late);
            have = true;
        } else {
            TT_ASSERT_MSG(fr_same(&first.res, &j.res, 0), "P=%u results differ from P=1", Ps[p]);
            TT_ASSERT_MSG(fr_same(&first.late, &j.late, 0), "P=%u late records differ from P=1", Ps[p]);
        }
    }
    if (have) {
        fr_sink_free(&first.res);
        fr_sink_free(&first.late);
    }
    wjob_free(&j);
    free(kept);
    free(late);
    fr_events_free(&ev);
}

/* ---- stateless: filter and project into a file sink ---- */

/* scan -> calc(WHERE device = 'ios' SELECT ts, user_id) -> the sink and a
 * CSV file sink (node_write), both chained: exactly the matching records,
 * in the source's order; every record in, the matching ones out. */
static void test_stateless_filter_project(void)
{
    tide_gen_logins_cfg g;
    base_gen(&g, 100000, 1000, HOUR);
    fr_events ev;
    TT_OK(fr_gen_events(&g, &ev));
    tide_err e = {0};
    const char *dir = tt_tmpdir("test_flow_windows");
    TT_ASSERT(dir);
    char path[4200];
    snprintf(path, sizeof path, "%s/ios.csv", dir);
    tide_node_scan_cfg sc;
    tide_node_scan_cfg_init(&sc);
    sc.gen = g;
    sc.batch_rows = 1000;
    tide_schema *ls = NULL, *ps = NULL;
    TT_OK(tide_node_scan_schema(&sc, 0, &ls, &e));
    TT_OK(tide_schema_create(&ps, &e));
    TT_OK(tide_schema_add(ps, "ts", TIDE_TYPE_TIMESTAMP, false, &e));
    TT_OK(tide_schema_add(ps, "user_id", TIDE_TYPE_BIGINT, false, &e));
    tide_expr *dev = NULL, *ios = NULL, *where = NULL, *sel[2] = {NULL, NULL};
    TT_OK(tide_expr_column(&dev, ls, TIDE_NODE_SCAN_LOGINS_DEVICE, &e));
    TT_OK(tide_expr_literal_str(&ios, "ios", 3, &e));
    TT_OK(tide_expr_compare(&where, TIDE_EXPR_EQ, dev, ios, &e));
    TT_OK(tide_expr_column(&sel[0], ls, TIDE_NODE_SCAN_LOGINS_TS, &e));
    TT_OK(tide_expr_column(&sel[1], ls, TIDE_NODE_SCAN_LOGINS_USER_ID, &e));
    tide_node_calc_cfg cc = {.in = ls, .out = ps, .n_exprs = 2, .where = where, .exprs = sel};
    tide_sink_config kc;
    tide_sink_config_init(&kc);
    kc.kind = TIDE_SINK_FILE;
    kc.path = path;
    kc.schema = ps;
    kc.header = true;
    tide_sink *snk = NULL;
    TT_OK(tide_sink_open(&snk, &kc, &e));
    tide_node_write_cfg wc = {.sink = snk};
    fr_sink out;
    fr_sink_init(&out, 2, ev.n);
    tide_flow *f = NULL;
    TT_OK(tide_flow_create(&f, NULL, &e));
    int src, calc, col, wr;
    tide_flow_node n = fr_node("scan", &tide_node_scan_vt, tide_node_scan_make, &sc, 1, ls, 0);
    TT_OK(tide_flow_add(f, &n, &src, &e));
    n = fr_node("calc", &tide_node_calc_vt, tide_node_calc_make, &cc, 1, ps, 0);
    TT_OK(tide_flow_add(f, &n, &calc, &e));
    TT_OK(fr_add_sink(f, "collect", &out, ps, &col, &e));
    n = fr_node("write", &tide_node_write_vt, tide_node_write_make, &wc, 1, ps, 0);
    n.n_out = 0;
    TT_OK(tide_flow_add(f, &n, &wr, &e));
    TT_OK(tide_flow_connect(f, src, 0, calc, TIDE_FLOW_FORWARD, NULL, 0, &e));
    TT_OK(tide_flow_connect(f, calc, 0, col, TIDE_FLOW_FORWARD, NULL, 0, &e));
    TT_OK(tide_flow_connect(f, calc, 0, wr, TIDE_FLOW_FORWARD, NULL, 0, &e));
    int rc = tide_flow_run(f, &e);
    uint64_t c[TIDE_NODE_COUNTERS];
    tide_flow_counts(f, c);
    size_t ntasks = tide_flow_task_count(f);
    tide_flow_free(f);
    if (rc == 0)
        rc = tide_sink_close(snk, &e);
    else
        tide_sink_abort(snk);
    TT_ASSERT_MSG(rc == 0, "%s", e.msg);
    TT_ASSERT_EQ_INT(ntasks, 1); /* fused: one task */
    /* the brute force, in order, against the sink and the file */
    FILE *fp = fopen(path, "r");
    TT_ASSERT(fp);
    char line[256], want[256], ts[64];
    bool ok = fgets(line, sizeof line, fp) && strcmp(line, "ts,user_id\n") == 0;
    size_t m = 0, got = atomic_load(&out.n);
    for (size_t i = 0; i < ev.n && ok; i++) {
        if (strcmp(tide_gen_logins_device_name(ev.device[i]), "ios") != 0)
            continue;
        ok = m < got && fr_row(&out, m)[FR_HDR] == ev.ts[i] && fr_row(&out, m)[FR_HDR + 1] == ev.user[i];
        tide_ts_format(ev.ts[i], ts);
        snprintf(want, sizeof want, "%s,%lld\n", ts, (long long)ev.user[i]);
        if (ok && (!fgets(line, sizeof line, fp) || strcmp(line, want) != 0)) {
            fprintf(stderr, "  file line %zu: %s, want %s", m + 2, line, want);
            ok = false;
        }
        m++;
    }
    ok = ok && !fgets(line, sizeof line, fp);
    fclose(fp);
    TT_ASSERT(ok);
    TT_ASSERT_EQ_INT(got, m);
    TT_ASSERT_EQ_INT(c[TIDE_NODE_IN], ev.n);
    TT_ASSERT_EQ_INT(c[TIDE_NODE_OUT], m);
    TT_ASSERT(m > 1000);
    fr_sink_free(&out);
    tide_expr_free(where);
    tide_expr_free(sel[0]);
    tide_expr_free(sel[1]);
    tide_schema_free(ls);
    tide_schema_free(ps);
    fr_events_free(&ev);
}

/* ---- window results into a CSV file ---- */

/* TUMBLE COUNT(*) AS logins per user -> order -> calc(SELECT user_id,
 * window_start, window_end, logins) -> write(file): a header, then one
 * "+I,user,start,end,count" line per window and user in the documented
 * order, at P = 2. */
static void test_connect_file_sink(void)
{
    tide_gen_logins_cfg g;
    base_gen(&g, 40000, 500, 3 * HOUR);
    fr_events ev;
    TT_OK(fr_gen_events(&g, &ev));
    xrow *exp = calloc(ev.n, sizeof *exp);
    for (size_t i = 0; i < ev.n; i++) {
        int64_t s = fr_floor_div(ev.ts[i], HOUR) * HOUR;
        exp[i] = (xrow){.op = TIDE_OP_INSERT, .k = {ev.user[i]}, .start = s, .end = s + HOUR, .val = 1};
    }
    size_t ne = ev.n;
    group_rows(exp, &ne);
    const char *dir = tt_tmpdir("test_flow_windows_sink");
    TT_ASSERT(dir);
    char path[4200];
    snprintf(path, sizeof path, "%s/out.csv", dir);
    tide_err e = {0};
    wjob j;
    wjob_init(&j, &g, g.max_delay_ms + 1);
    j.keys[0] = TIDE_NODE_SCAN_LOGINS_USER_ID;
    j.n_keys = 1;
    j.window = tide_win_tumble(HOUR);
    static const char *const names[] = {"logins"};
    TT_OK(wjob_prepare(&j, &e));
    tide_schema_free(j.s_win);
    j.wa.agg_names = names;
    TT_OK(tide_node_winagg_schema(&j.wa, 0, &j.s_win, &e));
    j.ord.schema = j.s_win;
    /* the projection of the result rows */
    tide_schema *ps = NULL;
    TT_OK(tide_schema_create(&ps, &e));
    static const uint32_t pcols[4] = {0, 1, 2, 4};
    tide_expr *px[4] = {NULL};
    for (int i = 0; i < 4; i++) {
        const tide_column *c = tide_schema_col(j.s_win, pcols[i]);
        TT_OK(tide_schema_add(ps, c->name, c->type, c->nullable, &e));
        TT_OK(tide_expr_column(&px[i], j.s_win, pcols[i], &e));
    }
    tide_node_calc_cfg cc = {.in = j.s_win, .out = ps, .n_exprs = 4, .exprs = px, .in_flags = TIDE_CBATCH_OPS};
    tide_sink_config kc;
    tide_sink_config_init(&kc);
    kc.kind = TIDE_SINK_FILE;
    kc.path = path;
    kc.header = true;
    kc.schema = ps;
    tide_sink *snk = NULL;
    TT_OK(tide_sink_open(&snk, &kc, &e));
    tide_node_write_cfg wc = {.sink = snk};
    tide_flow *f = NULL;
    tide_flow_cfg fc = {.batch_rows = 256, .chan_capacity = 4};
    TT_OK(tide_flow_create(&f, &fc, &e));
    int src, wa, ord, calc, wr;
    tide_flow_node n = fr_node("scan", &tide_node_scan_vt, tide_node_scan_make, &j.scan, 1, j.s_src, 0);
    TT_OK(tide_flow_add(f, &n, &src, &e));
    n = fr_node("winagg", &tide_node_winagg_vt, tide_node_winagg_make, &j.wa, 2, j.s_win, TIDE_CBATCH_OPS);
    n.n_out = 2;
    n.out_schema[1] = j.s_late;
    TT_OK(tide_flow_add(f, &n, &wa, &e));
    n = fr_node("order", &tide_node_order_vt, tide_node_order_make, &j.ord, 1, j.s_win, TIDE_CBATCH_OPS);
    TT_OK(tide_flow_add(f, &n, &ord, &e));
    n = fr_node("calc", &tide_node_calc_vt, tide_node_calc_make, &cc, 1, ps, tide_node_calc_flags(&cc));
    TT_OK(tide_flow_add(f, &n, &calc, &e));
    n = fr_node("write", &tide_node_write_vt, tide_node_write_make, &wc, 1, ps, 0);
    n.n_out = 0;
    TT_OK(tide_flow_add(f, &n, &wr, &e));
    TT_OK(tide_flow_connect(f, src, 0, wa, TIDE_FLOW_HASH, j.wkeys, 1, &e));
    TT_OK(tide_flow_connect(f, wa, 0, ord, TIDE_FLOW_GATHER, NULL, 0, &e));
    TT_OK(tide_flow_connect(f, ord, 0, calc, TIDE_FLOW_FORWARD, NULL, 0, &e));
    TT_OK(tide_flow_connect(f, calc, 0, wr, TIDE_FLOW_FORWARD, NULL, 0, &e));
    int rc = tide_flow_run(f, &e);
    uint64_t c[TIDE_NODE_COUNTERS];
    tide_flow_counts(f, c);
    tide_flow_free(f);
    if (rc == 0)
        rc = tide_sink_close(snk, &e);
    else
        tide_sink_abort(snk);
    TT_ASSERT_MSG(rc == 0, "%s", e.msg);
    TT_ASSERT_EQ_INT(c[TIDE_NODE_OUT], ne);
    FILE *fp = fopen(path, "r");
    TT_ASSERT(fp);
    char line[256], want[256], a[64], b[64];
    bool ok = fgets(line, sizeof line, fp) && strcmp(line, "op,user_id,window_start,window_end,logins\n") == 0;
    if (!ok)
        fprintf(stderr, "  header: %s", line);
    size_t i = 0;
    while (ok && fgets(line, sizeof line, fp)) {
        if (i >= ne) {
            ok = false;
            break;
        }
        tide_ts_format(exp[i].start, a);
        tide_ts_format(exp[i].end, b);
        snprintf(want, sizeof want, "+I,%lld,%s,%s,%lld\n", (long long)exp[i].k[0], a, b, (long long)exp[i].val);
        if (strcmp(line, want) != 0) {
            fprintf(stderr, "  line %zu: got %sexpected %s", i + 2, line, want);
            ok = false;
        }
        i++;
    }
    fclose(fp);
    TT_ASSERT(ok);
    TT_ASSERT_EQ_INT(i, ne);
    for (int k = 0; k < 4; k++)
        tide_expr_free(px[k]);
    tide_schema_free(ps);
    wjob_free(&j);
    free(exp);
    fr_events_free(&ev);
}

int main(void)
{
    TT_RUN(test_tumble_count_per_user);
    TT_RUN(test_hop_distinct_per_country);
    TT_RUN(test_session_per_user);
    TT_RUN(test_sessions_global_and_partitioned);
    TT_RUN(test_late_data);
    TT_RUN(test_stateless_filter_project);
    TT_RUN(test_connect_file_sink);
    TT_DONE();
}
