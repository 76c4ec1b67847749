/*
 * test_flow_sources.c - what the scan node (exec/node_scan.h) promises about
 * its input, in whole flows
 *
 *   scan -> hash(key) -> winagg[P] -> gather -> order -> sink
 *
 * with a fake clock where processing time matters:
 *   partitions and idleness  a partition that stopped delivering holds the
 *                            watermark back, unless it is idle (no data for
 *                            the idle timeout); a row without an event time
 *                            is a dead letter;
 *   quiet advance            with the whole input quiet for the quiet time,
 *                            the watermark follows processing time (and not
 *                            before; never without the policy);
 *   future records           a record too far ahead of processing time is a
 *                            dead letter (counted, handed over with a reason
 *                            naming it) and does not drag the watermark;
 *   connect file source      a CSV file of generated events gives the brute
 *                            force's windows, P = 1, 3;
 *   bounded = unbounded      a file run and a run following a topic of the
 *                            embedded log (appended to while it runs) give
 *                            the same final results: the topic run fires
 *                            exactly the windows its watermark passed, and
 *                            the rest once a record far in the future
 *                            arrives (DESIGN.md 1, 9).
 */
#include "connect/source.h"
#include "exec/node_order.h"
#include "exec/node_scan.h"
#include "exec/node_winagg.h"
#include "flow_rig.h"
#include "log/topic.h"
#include "log/writer.h"

#define HOUR 3600000LL
#define T0 1704067200000LL /* 2024-01-01 00:00 UTC */

/* ---- a keyed window aggregation behind a scan ---- */

typedef struct kjob {
    tide_node_scan_cfg scan; /* filled by the test */
    uint32_t key;            /* the key column */
    int value;               /* the aggregates' value column, or -1 */
    const tide_winagg_call *aggs;
    uint32_t n_aggs;
    tide_win_spec window;
    tide_flow_cfg fc;
    size_t cap; /* rows kept by the sinks */
    /* built */
    tide_schema *s_src, *s_win, *s_late;
    uint32_t value_col, sort[3];
    tide_node_winagg_cfg wa;
    tide_node_order_cfg ord;
    fr_sink res, late;
    tide_flow *f;
    uint64_t counts[TIDE_NODE_COUNTERS];
} kjob;

static const tide_winagg_call count_star = {TIDE_AGG_COUNT_STAR, 0, TIDE_TYPE_NULL};

static void kjob_init(kjob *j, uint32_t key, int64_t window)
{
    memset(j, 0, sizeof *j);
    tide_node_scan_cfg_init(&j->scan);
    j->key = key;
    j->value = -1;
    j->aggs = &count_star;
    j->n_aggs = 1;
    j->window = tide_win_tumble(window);
    j->cap = 1 << 16;
}

static void kjob_free(kjob *j)
{
    tide_flow_free(j->f);
    tide_schema_free(j->s_src);
    tide_schema_free(j->s_win);
    tide_schema_free(j->s_late);
    fr_sink_free(&j->res);
    fr_sink_free(&j->late);
    j->f = NULL;
    j->s_src = j->s_win = j->s_late = NULL;
}

/* Build the flow (j->f) at parallelism P. */
static int kjob_build(kjob *j, uint32_t P, tide_err *e)
{
    int rc;
    if ((rc = tide_node_scan_schema(&j->scan, 0, &j->s_src, e)) != 0)
        return rc;
    j->value_col = (uint32_t)j->value;
    j->wa = (tide_node_winagg_cfg){.in = j->s_src,
                                   .key_cols = &j->key,
                                   .n_keys = 1,
                                   .time_col = (uint32_t)tide_schema_time_column(j->s_src),
                                   .value_cols = j->value >= 0 ? &j->value_col : NULL,
                                   .n_values = j->value >= 0,
                                   .aggs = j->aggs,
                                   .n_aggs = j->n_aggs,
                                   .window = j->window,
                                   .mode = TIDE_TRIG_ACCUMULATING,
                                   .batch_rows = 128};
    if ((rc = tide_node_winagg_schema(&j->wa, 0, &j->s_win, e)) != 0 ||
        (rc = tide_node_winagg_schema(&j->wa, 1, &j->s_late, e)) != 0)
        return rc;
    j->sort[0] = 2; /* window_end, window_start, key */
    j->sort[1] = 1;
    j->sort[2] = 0;
    j->ord = (tide_node_order_cfg){.schema = j->s_win, .flags = TIDE_CBATCH_OPS, .sort_cols = j->sort, .n_sort = 3};
    fr_sink_init(&j->res, (uint32_t)tide_schema_ncols(j->s_win), j->cap);
    fr_sink_init(&j->late, (uint32_t)tide_schema_ncols(j->s_late), j->cap);
    int src, wa, ord, res, late;
    if ((rc = tide_flow_create(&j->f, &j->fc, e)) != 0)
        return rc;
    tide_flow_node n = fr_node("scan", &tide_node_scan_vt, tide_node_scan_make, &j->scan, 1, j->s_src, 0);
    rc = tide_flow_add(j->f, &n, &src, e);
    n = fr_node("winagg", &tide_node_winagg_vt, tide_node_winagg_make, &j->wa, P, j->s_win, TIDE_CBATCH_OPS);
    n.n_out = 2;
    n.out_schema[1] = j->s_late;
    rc = rc ? rc : tide_flow_add(j->f, &n, &wa, e);
    n = fr_node("order", &tide_node_order_vt, tide_node_order_make, &j->ord, 1, j->s_win, TIDE_CBATCH_OPS);
    rc = rc ? rc : tide_flow_add(j->f, &n, &ord, e);
    rc = rc ? rc : fr_add_sink(j->f, "res", &j->res, j->s_win, &res, e);
    rc = rc ? rc : fr_add_sink(j->f, "late", &j->late, j->s_late, &late, e);
    rc = rc ? rc : tide_flow_connect(j->f, src, 0, wa, P == 1 ? TIDE_FLOW_FORWARD : TIDE_FLOW_HASH, &j->key, 1, e);
    rc = rc ? rc : tide_flow_connect(j->f, wa, 0, ord, TIDE_FLOW_GATHER, NULL, 0, e);
    rc = rc ? rc : tide_flow_connect(j->f, wa, 1, late, TIDE_FLOW_GATHER, NULL, 0, e);
    rc = rc ? rc : tide_flow_connect(j->f, ord, 0, res, TIDE_FLOW_FORWARD, NULL, 0, e);
    return rc;
}

static int kjob_run(kjob *j, uint32_t P, tide_err *e)
{
    int rc = kjob_build(j, P, e);
    rc = rc ? rc : tide_flow_run(j->f, e);
    if (j->f)
        tide_flow_counts(j->f, j->counts);
    return rc;
}

/* Result row i: key, window_start, window_end, window_time, aggregates. */
enum { R_KEY, R_START, R_END, R_TIME, R_AGG };

static const int64_t *res_row(const kjob *j, size_t i) { return fr_row(&j->res, i) + FR_HDR; }

/* Every result row is released by a watermark >= window_end - 1. */
static bool fired_in_time(const kjob *j)
{
    for (size_t i = 0; i < atomic_load(&j->res.n); i++)
        if (fr_wm_after(&j->res, i) < res_row(j, i)[R_END] - 1)
            return false;
    return true;
}

/* ---- a callback source: two partitions, NULL times, idleness ---- */

static tide_schema *ts_k_schema(void)
{
    tide_schema *s = NULL;
    tide_err e = {0};
    if (tide_schema_create(&s, &e) || tide_schema_add(s, "ts", TIDE_TYPE_TIMESTAMP, true, &e) ||
        tide_schema_add(s, "k", TIDE_TYPE_BIGINT, true, &e) || tide_schema_set_time_column(s, 0, &e))
        abort();
    return s;
}

typedef struct cb_src {
    int step;
    fr_clock *clk;
} cb_src;

/* Partition 1 delivers one record at ts 0 (and one without a time) and
 * then nothing; partition 0 ts 0..99 s, one record per second in batches
 * of 10, keys k % 2, processing time passing 1 s with each batch. */
static int cb_next(void *ctx, tide_cbatch *b, uint32_t *part, tide_err *e)
{
    (void)e;
    cb_src *s = ctx;
    uint32_t r = 0;
    if (s->step == 0) {
        tide_cbatch_add_row(b, &r);
        tide_cbatch_set_i64(b, 0, r, 0);
        tide_cbatch_set_i64(b, 1, r, 7);
        tide_cbatch_add_row(b, &r); /* a NULL time: a dead letter */
        tide_cbatch_set_i64(b, 1, r, 7);
        *part = 1;
        s->step++;
        return TIDE_SRC_READY;
    }
    int i = s->step - 1;
    if (i >= 10)
        return TIDE_SRC_END;
    for (int k = 0; k < 10; k++) {
        tide_cbatch_add_row(b, &r);
        tide_cbatch_set_i64(b, 0, r, (int64_t)(i * 10 + k) * 1000);
        tide_cbatch_set_i64(b, 1, r, k % 2);
    }
    atomic_fetch_add(&s->clk->ms, 1000);
    *part = 0;
    s->step++;
    return TIDE_SRC_READY;
}

static void run_idle(int64_t idle, kjob *j)
{
    fr_clock clk;
    fr_clock_init(&clk, 1000000);
    cb_src src = {.clk = &clk};
    tide_schema *s = ts_k_schema();
    kjob_init(j, 1, 10000);
    j->scan.kind = TIDE_NODE_SCAN_CALLBACK;
    j->scan.schema = s;
    j->scan.partitions = 2;
    j->scan.next = cb_next;
    j->scan.ctx = &src;
    j->scan.wm_bound = 0;
    j->scan.idle_timeout_ms = idle;
    j->fc.clock = &clk.clock;
    tide_err e = {0};
    int rc = kjob_run(j, 2, &e);
    tide_schema_free(s);
    j->scan.schema = NULL;
    if (rc)
        fprintf(stderr, "  idle %lld: %s\n", (long long)idle, e.msg);
}

/* The windows: 10 s windows over ts 0..99 s, keys 0 and 1 with 5 records
 * each, and key 7 (partition 1) with one in [0, 10 s). */
static bool idle_windows_right(const kjob *j)
{
    size_t n = atomic_load(&j->res.n), k7 = 0;
    if (n != 21)
        return false;
    for (size_t i = 0; i < n; i++) {
        const int64_t *r = res_row(j, i);
        if (r[R_KEY] == 7) {
            k7++;
            if (r[R_START] != 0 || r[R_AGG] != 1)
                return false;
        } else if (r[R_KEY] < 0 || r[R_KEY] > 1 || r[R_START] % 10000 != 0 || r[R_START] >= 100000 ||
                   r[R_AGG] != 5) {
            return false;
        }
    }
    return k7 == 1 && fired_in_time(j);
}

static void test_partitions_and_idleness(void)
{
    kjob j;
    /* never idle: partition 1 (W = 0) holds every window back to the end */
    run_idle(0, &j);
    TT_ASSERT_EQ_INT(j.counts[TIDE_NODE_BAD], 1);
    TT_ASSERT_EQ_INT(j.counts[TIDE_NODE_IN], 101);
    TT_ASSERT(idle_windows_right(&j));
    TT_ASSERT_EQ_INT(fr_wm_after(&j.res, 0), TIDE_TS_MAX);
    kjob_free(&j);
    /* idle after 3 s of processing time: windows fire as partition 0 goes */
    run_idle(3000, &j);
    TT_ASSERT_EQ_INT(j.counts[TIDE_NODE_BAD], 1);
    TT_ASSERT_EQ_INT(j.counts[TIDE_NODE_IN], 101);
    TT_ASSERT(idle_windows_right(&j));
    TT_ASSERT(fr_wm_after(&j.res, 0) < TIDE_TS_MAX);
    TT_ASSERT(fr_wm_after(&j.res, 0) >= 9999);
    TT_ASSERT_EQ_INT(j.counts[TIDE_NODE_LATE], 0);
    kjob_free(&j);
}

/* ---- the whole input quiet: the watermark follows processing time ---- */

typedef struct quiet_src {
    int step;
    _Atomic int drained;      /* every record was delivered */
    _Atomic uint64_t nothing; /* "nothing now" answers so far */
} quiet_src;

/* ts 0..29 s, one record per second, keys k % 2, in batches of 10; then
 * only "nothing now" (the input went quiet; it never ends). */
static int quiet_next(void *ctx, tide_cbatch *b, uint32_t *part, tide_err *e)
{
    (void)e;
    quiet_src *s = ctx;
    if (s->step >= 3) {
        atomic_store(&s->drained, 1);
        atomic_fetch_add(&s->nothing, 1);
        return TIDE_SRC_NOTHING;
    }
    for (int k = 0; k < 10; k++) {
        uint32_t r = 0;
        tide_cbatch_add_row(b, &r);
        tide_cbatch_set_i64(b, 0, r, (int64_t)(s->step * 10 + k) * 1000);
        tide_cbatch_set_i64(b, 1, r, k % 2);
    }
    *part = 0;
    s->step++;
    return TIDE_SRC_READY;
}

typedef struct polls {
    quiet_src *s;
    uint64_t want;
} polls;

static bool polls_cond(void *ctx)
{
    polls *p = ctx;
    return atomic_load(&p->s->nothing) >= p->want;
}

/* The source answered "nothing now" `more` more times: the scan has seen
 * the clock as it is now. */
static bool wait_polls(quiet_src *s, uint64_t more)
{
    polls p = {s, atomic_load(&s->nothing) + more};
    return fr_wait(polls_cond, &p, 20);
}

static void run_quiet(int64_t quiet_ms)
{
    fr_clock clk;
    fr_clock_init(&clk, 1000000);
    quiet_src src = {0};
    kjob j;
    kjob_init(&j, 1, 10000);
    j.scan.kind = TIDE_NODE_SCAN_CALLBACK;
    tide_schema *s = ts_k_schema();
    j.scan.schema = s;
    j.scan.next = quiet_next;
    j.scan.ctx = &src;
    j.scan.wm_bound = 0;
    j.scan.quiet_advance_ms = quiet_ms;
    j.fc.clock = &clk.clock;
    tide_err e = {0};
    TT_OK(kjob_build(&j, 2, &e));
    fr_runner run;
    TT_OK(fr_runner_start(&run, j.f));
    /* W = 29 s after the data: windows [0,10) and [10,20) (2 keys each) */
    bool four = fr_wait_size(&j.res.n, 4, 20);
    bool drained = atomic_load(&src.drained);
    /* below the timeout (or without the policy): nothing more fires */
    atomic_fetch_add(&clk.ms, quiet_ms > 0 ? quiet_ms - 1000 : HOUR);
    bool seen = wait_polls(&src, 5);
    size_t n_below = atomic_load(&j.res.n);
    bool six = true, wm_there = true;
    if (quiet_ms > 0) {
        /* past the timeout: W = 29 s + the quiet time, [20,30) fires */
        atomic_fetch_add(&clk.ms, 2000);
        six = fr_wait_size(&j.res.n, 6, 20);
        /* the watermark that released them follows them */
        wm_there = six && fr_wait_size(&j.res.n_wm, (size_t)fr_row(&j.res, 5)[0] + 1, 20);
    } else {
        atomic_fetch_add(&clk.ms, 24 * HOUR);
        seen = seen && wait_polls(&src, 5);
    }
    int rc = fr_runner_stop(&run, true);
    tide_flow_counts(j.f, j.counts);
    TT_ASSERT(four && drained && seen && six && wm_there);
    TT_ASSERT_EQ_INT(rc, TIDE_EFAILED); /* cancelled: it never ends by itself */
    TT_ASSERT_EQ_INT(n_below, 4);
    TT_ASSERT_EQ_INT(j.counts[TIDE_NODE_IN], 30);
    TT_ASSERT_EQ_INT(j.counts[TIDE_NODE_LATE], 0);
    /* brute force: 10 s windows over ts 0..29 s, keys k % 2: 5 each */
    size_t n = atomic_load(&j.res.n);
    TT_ASSERT_EQ_INT(n, quiet_ms > 0 ? 6 : 4);
    for (size_t i = 0; i < n; i++) {
        const int64_t *r = res_row(&j, i);
        TT_ASSERT_EQ_INT(r[R_START], (int64_t)(i / 2) * 10000);
        TT_ASSERT_EQ_INT(r[R_END], (int64_t)(i / 2) * 10000 + 10000);
        TT_ASSERT_EQ_INT(r[R_KEY], (int64_t)(i % 2));
        TT_ASSERT_EQ_INT(r[R_AGG], 5);
    }
    if (quiet_ms > 0) /* released by the quiet step: W_last (29 s) + the quiet time */
        TT_ASSERT_EQ_INT(fr_wm_after(&j.res, 5), 29000 + quiet_ms + 1000);
    kjob_free(&j);
    tide_schema_free(s);
}

static void test_quiet_advance(void)
{
    run_quiet(0);
    if (!tt_failed_now)
        run_quiet(5000);
}

/* ---- records far in the future are dead letters ---- */

#define FUT_N 300
#define FUT_NOW 100000 /* processing time (fake clock), ms */

typedef struct fut_src {
    int64_t ts[FUT_N + 8], key[FUT_N + 8];
    size_t n, pos;
} fut_src;

static int fut_next(void *ctx, tide_cbatch *b, uint32_t *part, tide_err *e)
{
    (void)e;
    fut_src *s = ctx;
    if (s->pos >= s->n)
        return TIDE_SRC_END;
    for (int k = 0; k < 16 && s->pos < s->n; k++, s->pos++) {
        uint32_t r = 0;
        tide_cbatch_add_row(b, &r);
        tide_cbatch_set_i64(b, 0, r, s->ts[s->pos]);
        tide_cbatch_set_i64(b, 1, r, s->key[s->pos]);
    }
    *part = 0;
    return TIDE_SRC_READY;
}

typedef struct dead_seen {
    size_t n, reason_ok;
} dead_seen;

static int on_dead(void *ctx, const tide_node_scan_dead *d)
{
    dead_seen *ds = ctx;
    char want[64];
    snprintf(want, sizeof want, "%lld", (long long)d->ts);
    if (strstr(d->reason, want) && strstr(d->reason, "1000") && d->ts > FUT_NOW + 1000 &&
        tide_cbatch_i64(d->batch, 0, d->row) == d->ts)
        ds->reason_ok++;
    ds->n++;
    return 0;
}

static void test_future_records(void)
{
    /* normal records: disorder <= 4.4 s < B = 5 s, so none is late; every
     * 50th position also gets a record far in the future */
    fut_src src = {0};
    int64_t cnt[10][5] = {{0}};
    size_t nfut = 0;
    for (size_t i = 0; i < FUT_N; i++) {
        if (i % 50 == 25) {
            src.ts[src.n] = (int64_t)1000000000 * (int64_t)(nfut + 1);
            src.key[src.n++] = 99;
            nfut++;
        }
        int64_t ts = (int64_t)i * 200 + (int64_t)((i * 37) % 23) * 200;
        src.ts[src.n] = ts;
        src.key[src.n++] = (int64_t)(i % 5);
        cnt[ts / 10000][i % 5]++;
    }
    size_t nwin = 0;
    for (int w = 0; w < 10; w++)
        for (int k = 0; k < 5; k++)
            nwin += cnt[w][k] > 0;
    for (int with = 1; with >= 0; with--) {
        fr_clock clk;
        fr_clock_init(&clk, FUT_NOW);
        src.pos = 0;
        dead_seen ds = {0};
        kjob j;
        kjob_init(&j, 1, 10000);
        tide_schema *s = ts_k_schema();
        j.scan.kind = TIDE_NODE_SCAN_CALLBACK;
        j.scan.schema = s;
        j.scan.next = fut_next;
        j.scan.ctx = &src;
        j.scan.wm_bound = 5000;
        j.scan.future_bound_ms = with ? 1000 : 0;
        j.scan.on_dead = on_dead;
        j.scan.dead_ctx = &ds;
        j.scan.batch_rows = 64;
        j.fc.clock = &clk.clock;
        tide_err e = {0};
        int rc = kjob_run(&j, 2, &e);
        tide_schema_free(s);
        TT_ASSERT_MSG(rc == 0, "%s", e.msg);
        if (with) {
            TT_ASSERT_EQ_INT(j.counts[TIDE_NODE_BAD], nfut);
            TT_ASSERT_EQ_INT(ds.n, nfut);
            TT_ASSERT_EQ_INT(ds.reason_ok, nfut);
            TT_ASSERT_EQ_INT(j.counts[TIDE_NODE_IN], FUT_N);
            TT_ASSERT_EQ_INT(j.counts[TIDE_NODE_LATE], 0);
            TT_ASSERT_EQ_INT(atomic_load(&j.late.n), 0);
            /* the brute force's windows, fired by the event-time
             * watermark (max ts - B) at W >= end - 1, not earlier; all but
             * the last ones before the end of input */
            size_t n = atomic_load(&j.res.n);
            TT_ASSERT_EQ_INT(n, nwin);
            TT_ASSERT(fired_in_time(&j));
            for (size_t i = 0; i < n; i++) {
                const int64_t *r = res_row(&j, i);
                TT_ASSERT(r[R_KEY] >= 0 && r[R_KEY] < 5 && r[R_AGG] == cnt[r[R_START] / 10000][r[R_KEY]]);
                TT_ASSERT(fr_wm_before(&j.res, i) < r[R_END] - 1);
                if (r[R_END] <= 50000)
                    TT_ASSERT(fr_wm_after(&j.res, i) < 70000);
            }
        } else {
            /* control: without the bound the first one drags W forward */
            TT_ASSERT_EQ_INT(j.counts[TIDE_NODE_BAD], 0);
            TT_ASSERT(j.counts[TIDE_NODE_LATE] > 0);
        }
        kjob_free(&j);
    }
}

/* ---- the generator's events and their windows ---- */

typedef struct win {
    int64_t key, start, end, count, distinct;
    int64_t user; /* brute force: the record's user */
} win;

static int win_cmp(const void *pa, const void *pb)
{
    const win *a = pa, *b = pb;
    if (a->end != b->end)
        return a->end < b->end ? -1 : 1;
    if (a->start != b->start)
        return a->start < b->start ? -1 : 1;
    return (a->key > b->key) - (a->key < b->key);
}

static int win_user_cmp(const void *pa, const void *pb)
{
    int c = win_cmp(pa, pb);
    if (c)
        return c;
    const win *a = pa, *b = pb;
    return (a->user > b->user) - (a->user < b->user);
}

/* The events' windows of `size` per key (user_id, or country), with
 * COUNT(*) and COUNT(DISTINCT user_id), in (end, start, key) order. */
static win *brute_windows(const fr_events *ev, int64_t size, bool by_country, size_t *nw)
{
    win *t = calloc(ev->n + 1, sizeof *t);
    for (size_t i = 0; i < ev->n; i++) {
        int64_t s = fr_floor_div(ev->ts[i], size) * size;
        int64_t key = by_country ? fr_cstr(tide_gen_logins_country_name(ev->country[i])) : ev->user[i];
        t[i] = (win){.key = key, .start = s, .end = s + size, .user = ev->user[i]};
    }
    qsort(t, ev->n, sizeof *t, win_user_cmp);
    size_t o = 0;
    for (size_t i = 0; i < ev->n; i++) {
        if (o && win_cmp(&t[o - 1], &t[i]) == 0) {
            t[o - 1].count++;
            t[o - 1].distinct += t[i].user != t[o - 1].user;
            t[o - 1].user = t[i].user;
        } else {
            t[o] = t[i];
            t[o].count = t[o].distinct = 1;
            o++;
        }
    }
    *nw = o;
    return t;
}

/* The result rows (key, start, end, count[, distinct]) against `w`, in
 * order, ignoring the steps. */
static bool same_windows(const kjob *j, const win *w, size_t nw, bool distinct)
{
    size_t n = atomic_load(&j->res.n);
    if (n != nw || atomic_load(&j->res.overflow)) {
        fprintf(stderr, "  %zu rows, expected %zu\n", n, nw);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        const int64_t *r = res_row(j, i);
        if (fr_row(&j->res, i)[1] != TIDE_OP_INSERT || r[R_KEY] != w[i].key || r[R_START] != w[i].start ||
            r[R_END] != w[i].end || r[R_AGG] != w[i].count || (distinct && r[R_AGG + 1] != w[i].distinct)) {
            fprintf(stderr, "  row %zu: key %lld [%lld,%lld) %lld, expected key %lld [%lld,%lld) %lld %lld\n", i,
                    (long long)r[R_KEY], (long long)r[R_START], (long long)r[R_END], (long long)r[R_AGG],
                    (long long)w[i].key, (long long)w[i].start, (long long)w[i].end, (long long)w[i].count,
                    (long long)w[i].distinct);
            return false;
        }
    }
    return true;
}

static tide_schema *logins_schema(void)
{
    tide_schema *s = NULL;
    tide_err e = {0};
    if (tide_schema_create(&s, &e) || tide_schema_add(s, "ts", TIDE_TYPE_TIMESTAMP, false, &e) ||
        tide_schema_add(s, "user_id", TIDE_TYPE_BIGINT, false, &e) ||
        tide_schema_add(s, "country", TIDE_TYPE_STRING, false, &e) ||
        tide_schema_add(s, "device", TIDE_TYPE_STRING, false, &e) || tide_schema_set_time_column(s, 0, &e))
        abort();
    return s;
}

/* ---- a connect/ source: the generator's events through a CSV file ---- */

static void test_connect_file_source(void)
{
    tide_gen_logins_cfg g;
    tide_gen_logins_cfg_default(&g);
    g.seed = 42;
    g.events = 50000;
    g.users = 800;
    g.start_ms = T0;
    g.end_ms = T0 + 3 * HOUR;
    g.late_share = 0.05;
    g.max_delay_ms = 5000;
    fr_events ev;
    TT_OK(fr_gen_events(&g, &ev));
    const char *dir = tt_tmpdir("test_flow_sources");
    TT_ASSERT(dir);
    char path[4200];
    snprintf(path, sizeof path, "%s/logins.csv", dir);
    tide_err e = {0};
    TT_OK(tide_gen_logins_write_csv(&g, path, &e));
    size_t nw;
    win *w = brute_windows(&ev, HOUR, false, &nw);
    tide_schema *s = logins_schema();
    tide_src_config sc;
    tide_src_config_init(&sc);
    sc.kind = TIDE_SRC_FILE;
    sc.path = path;
    sc.schema = s;
    sc.header = true;
    static const uint32_t ps[] = {1, 3};
    for (int k = 0; k < 2 && !tt_failed_now; k++) {
        kjob j;
        kjob_init(&j, TIDE_NODE_SCAN_LOGINS_USER_ID, HOUR);
        j.scan.kind = TIDE_NODE_SCAN_CONNECT;
        j.scan.conn = &sc;
        j.scan.wm_bound = g.max_delay_ms + 1; /* delays < B: none late */
        j.scan.batch_rows = 1024;
        int rc = kjob_run(&j, ps[k], &e);
        TT_ASSERT_MSG(rc == 0, "%s", e.msg);
        TT_ASSERT_MSG(same_windows(&j, w, nw, false), "P=%u", ps[k]);
        TT_ASSERT(fired_in_time(&j));
        TT_ASSERT_EQ_INT(j.counts[TIDE_NODE_IN], ev.n);
        TT_ASSERT_EQ_INT(j.counts[TIDE_NODE_BAD], 0);
        TT_ASSERT_EQ_INT(j.counts[TIDE_NODE_LATE], 0);
        kjob_free(&j);
    }
    tide_schema_free(s);
    free(w);
    fr_events_free(&ev);
}

/* ---- bounded = unbounded ---- */

#define WIN (15 * 60000LL)
#define BOUND 5000LL
#define FUTURE 4102444800000LL /* 2100-01-01 */
#define NEV 30000

/* The CSV lines of a file (a header, then one line per event). */
typedef struct lines {
    char *text;
    size_t *off, *len;
    size_t n;
} lines;

static int read_lines(const char *path, lines *L)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    L->text = malloc((size_t)sz + 1);
    size_t got = fread(L->text, 1, (size_t)sz, f);
    fclose(f);
    if (got != (size_t)sz)
        return -1;
    L->off = malloc(((size_t)sz + 1) * sizeof *L->off);
    L->len = malloc(((size_t)sz + 1) * sizeof *L->len);
    L->n = 0;
    size_t s = 0;
    for (size_t i = 0; i < (size_t)sz; i++)
        if (L->text[i] == '\n') {
            L->off[L->n] = s;
            L->len[L->n++] = i - s;
            s = i + 1;
        }
    return 0;
}

static void lines_free(lines *L)
{
    free(L->text);
    free(L->off);
    free(L->len);
}

/* Append lines [from, to) (line 0, the header, is never appended) round
 * robin: line i to partition (i - 1) % parts, so each partition's records
 * keep their file order. */
static int append_lines(const char *datadir, const char *topic, const lines *L, size_t from, size_t to,
                        uint32_t parts)
{
    tide_log_writer *w = NULL;
    tide_err e = {0};
    int rc = tide_log_writer_open(&w, datadir, topic, NULL, &e);
    for (size_t i = from; i < to && !rc; i++) {
        tide_record r = {.timestamp = T0, .value = L->text + L->off[i], .value_len = L->len[i]};
        rc = tide_log_append(w, (uint32_t)((i - 1) % parts), &r, 1, NULL, &e);
    }
    int crc = w ? tide_log_writer_close(w, &e) : 0;
    if (rc || crc)
        fprintf(stderr, "  append: %s\n", e.msg);
    return rc ? rc : crc;
}

/* One record far in the future per partition. */
static int append_future(const char *datadir, const char *topic, uint32_t parts)
{
    static const char line[] = "2100-01-01 00:00:00.000,1,US,ios";
    tide_log_writer *w = NULL;
    tide_err e = {0};
    int rc = tide_log_writer_open(&w, datadir, topic, NULL, &e);
    for (uint32_t p = 0; p < parts && !rc; p++) {
        tide_record r = {.timestamp = FUTURE, .value = line, .value_len = sizeof line - 1};
        rc = tide_log_append(w, p, &r, 1, NULL, &e);
    }
    int crc = w ? tide_log_writer_close(w, &e) : 0;
    return rc ? rc : crc;
}

static const tide_winagg_call country_aggs[2] = {{TIDE_AGG_COUNT_STAR, 0, TIDE_TYPE_NULL},
                                                 {TIDE_AGG_COUNT_DISTINCT, 0, TIDE_TYPE_BIGINT}};

static void country_job(kjob *j, const tide_src_config *src, size_t cap)
{
    kjob_init(j, TIDE_NODE_SCAN_LOGINS_COUNTRY, WIN);
    j->value = TIDE_NODE_SCAN_LOGINS_USER_ID;
    j->aggs = country_aggs;
    j->n_aggs = 2;
    j->scan.kind = TIDE_NODE_SCAN_CONNECT;
    j->scan.conn = src;
    j->scan.wm_bound = BOUND;
    j->scan.batch_rows = 256;
    j->cap = cap;
}

/* 30,000 generated logins over 3 hours, 5% up to B - 1 ms out of order (a
 * record delayed by B could arrive with ts == W and miss the window ending
 * at ts + 1, which fires at W = ts), as a CSV file and, one record per
 * line, in a topic.  TUMBLE(15 min) GROUP BY country: COUNT(*), COUNT(
 * DISTINCT user_id).
 *   file run   bounded: runs to its end, +infinity fires every window.
 *   topic run  unbounded, following, on its own thread: half the records
 *              are in the topic when it starts, the test appends the rest
 *              while it runs.  Once it has read them all, exactly the
 *              windows with end - 1 <= W (the minimum over the partitions of
 *              max ts - B) have fired; the others wait (the source never
 *              ends).  Then a record far in the future per partition: every
 *              window fires; the test cancels the job.
 * Both equal the brute force, row for row. */
static void check_topic_equals_file(uint32_t parts, uint32_t P)
{
    tide_err e = {0};
    const char *dir0 = tt_tmpdir("test_flow_sources_bounded");
    TT_ASSERT(dir0);
    char dir[4096], path[4200], datadir[4200], topic[32];
    snprintf(dir, sizeof dir, "%s", dir0);
    snprintf(path, sizeof path, "%s/logins.csv", dir);
    snprintf(datadir, sizeof datadir, "%s/data", dir);
    snprintf(topic, sizeof topic, "logins_%u", parts);
    tide_gen_logins_cfg g;
    tide_gen_logins_cfg_default(&g);
    g.seed = 17 + parts;
    g.events = NEV;
    g.users = 400;
    g.start_ms = T0;
    g.end_ms = T0 + 3 * HOUR;
    g.late_share = 0.05;
    g.max_delay_ms = BOUND - 1;
    TT_OK(tide_gen_logins_write_csv(&g, path, &e));
    lines L = {0};
    TT_ASSERT(read_lines(path, &L) == 0);
    TT_ASSERT_EQ_INT(L.n, NEV + 1);
    fr_events ev;
    TT_OK(fr_gen_events(&g, &ev));
    TT_ASSERT_EQ_INT(ev.n, NEV);
    /* the topic run's watermark once it read everything */
    int64_t pmax[2] = {INT64_MIN, INT64_MIN};
    for (size_t i = 0; i < ev.n; i++)
        if (ev.ts[i] > pmax[i % parts])
            pmax[i % parts] = ev.ts[i];
    int64_t wm_all = pmax[0] - BOUND;
    if (parts > 1 && pmax[1] - BOUND < wm_all)
        wm_all = pmax[1] - BOUND;
    size_t nwant;
    win *want = brute_windows(&ev, WIN, true, &nwant);
    size_t ncomplete = 0; /* the windows an unbounded run fires before the future record */
    while (ncomplete < nwant && want[ncomplete].end - 1 <= wm_all)
        ncomplete++;
    TT_ASSERT(ncomplete > 0 && ncomplete < nwant);
    tide_schema *schema = logins_schema();

    /* the file run */
    tide_src_config fsrc;
    tide_src_config_init(&fsrc);
    fsrc.kind = TIDE_SRC_FILE;
    fsrc.path = path;
    fsrc.schema = schema;
    fsrc.header = true;
    kjob fj;
    country_job(&fj, &fsrc, nwant + 16);
    TT_ASSERT_MSG(kjob_run(&fj, P, &e) == 0, "%s", e.msg);
    TT_ASSERT(same_windows(&fj, want, nwant, true));
    TT_ASSERT(fired_in_time(&fj));
    TT_ASSERT_EQ_INT(fj.counts[TIDE_NODE_LATE], 0);

    /* the topic run */
    tide_topic_config tc;
    tide_topic_config_default(&tc);
    tc.partitions = parts;
    tc.fsync = TIDE_FSYNC_NEVER;
    TT_OK(tide_topic_create(datadir, topic, &tc, &e));
    TT_OK(append_lines(datadir, topic, &L, 1, 1 + NEV / 2, parts));
    tide_src_config tsrc;
    tide_src_config_init(&tsrc);
    tsrc.kind = TIDE_SRC_TOPIC;
    tsrc.datadir = datadir;
    tsrc.topic = topic;
    tsrc.schema = schema;
    TT_ASSERT(!tsrc.bounded);
    kjob tj;
    country_job(&tj, &tsrc, nwant + 16);
    TT_OK(kjob_build(&tj, P, &e));
    fr_runner run;
    TT_OK(fr_runner_start(&run, tj.f));
    int arc = append_lines(datadir, topic, &L, 1 + NEV / 2, 1 + NEV, parts);
    bool all_in = arc == 0 && fr_wait_count(tj.f, TIDE_NODE_IN, NEV, 60);
    bool complete = all_in && fr_wait_size(&tj.res.n, ncomplete, 60);
    size_t before_future = atomic_load(&tj.res.n);
    int64_t wm_before = tide_flow_watermark(tj.f);
    uint64_t c1[TIDE_NODE_COUNTERS];
    tide_flow_counts(tj.f, c1);
    int frc = complete ? append_future(datadir, topic, parts) : -1;
    bool fired = frc == 0 && fr_wait_size(&tj.res.n, nwant, 60);
    int rc = fr_runner_stop(&run, true);
    tide_flow_counts(tj.f, tj.counts);
    TT_ASSERT_EQ_INT(arc, 0);
    TT_ASSERT_MSG(all_in, "the topic run read %llu of %d records", (unsigned long long)c1[TIDE_NODE_IN], NEV);
    TT_ASSERT_MSG(complete, "%zu of the %zu complete windows fired", before_future, ncomplete);
    TT_ASSERT_EQ_INT(before_future, ncomplete); /* no window fired early */
    TT_ASSERT(wm_before <= wm_all);              /* (the sink's: may still be on its way) */
    TT_ASSERT_EQ_INT(frc, 0);
    TT_ASSERT_MSG(fired, "after the future record: %zu of %zu rows", atomic_load(&tj.res.n), nwant);
    TT_ASSERT_EQ_INT(rc, TIDE_EFAILED); /* cancelled: it never ends by itself */
    TT_ASSERT_EQ_INT(tj.counts[TIDE_NODE_IN], NEV + parts);
    TT_ASSERT_EQ_INT(tj.counts[TIDE_NODE_LATE], 0);
    TT_ASSERT_EQ_INT(tj.counts[TIDE_NODE_BAD], 0);
    TT_ASSERT(same_windows(&tj, want, nwant, true));
    TT_ASSERT(fired_in_time(&tj));
    TT_ASSERT(fr_same(&tj.res, &fj.res, FR_HDR)); /* = the file run, row for row */
    kjob_free(&fj);
    kjob_free(&tj);
    tide_schema_free(schema);
    free(want);
    fr_events_free(&ev);
    lines_free(&L);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    TT_ASSERT(system(cmd) == 0);
}

static void test_bounded_one_partition_p1(void) { check_topic_equals_file(1, 1); }
static void test_bounded_one_partition_p2(void) { check_topic_equals_file(1, 2); }
static void test_bounded_two_partitions_p2(void) { check_topic_equals_file(2, 2); }

int main(void)
{
    TT_RUN(test_partitions_and_idleness);
    TT_RUN(test_quiet_advance);
    TT_RUN(test_future_records);
    TT_RUN(test_connect_file_source);
    TT_RUN(test_bounded_one_partition_p1);
    TT_RUN(test_bounded_one_partition_p2);
    TT_RUN(test_bounded_two_partitions_p2);
    TT_DONE();
}
