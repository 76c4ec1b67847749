/*
 * test_flow_union.c - UNION ALL in ordered mode (exec/node_union.h, what
 * the planner uses when the union runs at parallelism 1): 1 to 4 scripted
 * branches (tests/unit/node_rig.h), each on its own source task, rows and
 * watermarks (some repeated) at random, into a union whose output goes to
 * a collecting sink.
 *
 * The model, computed here: a branch's row is handled at the watermark
 * its branch reported last before it (the union reads an input only while
 * its watermark is the union's, exec/node.h), and the union releases the
 * rows of each of its watermark steps when the step ends, branch 0's
 * first, each branch's in its order.  So the output is every row of every
 * branch (the multiset), ordered by (step, branch, position in the
 * branch), each row after the watermark of its step: the exact sequence,
 * whatever the thread timing (three runs per script, with other batch
 * sizes).  A barrier in the middle of a step (the union holding rows)
 * snapshots them: a flow restored from it finishes with exactly the rows
 * the uninterrupted run wrote after the barrier.  A failing node after the
 * union fails the flow with its error, naming it.
 */
#include "exec/node_union.h"
#include "time/window.h"
#include "node_rig.h"

enum { A, B, S, NC }; /* a TIMESTAMP, b BIGINT, s STRING ("s<b>") */
static const char *const cols[] = {"a:T", "b:B", "s:S"};

/* A branch: nrows rows, reports with growing watermarks (a report that does
 * not rise now and then). */
static void make_script(rig_script *sc, uint64_t *seed, size_t nrows)
{
    int64_t wm = 0;
    for (size_t i = 0; i < nrows; i++) {
        int64_t a = (int64_t)(rig_rand(seed) % 1000), b = (int64_t)(rig_rand(seed) % 100000);
        int64_t row[NC] = {a, b, b};
        rig_row(sc, NC, row, 0);
        if (rig_rand(seed) % 5 == 0) {
            int64_t nwm = wm + (int64_t)(rig_rand(seed) % 25) - 3;
            wm = nwm > wm ? nwm : wm;
            rig_wm(sc, wm);
        }
    }
}

typedef struct mrow {
    int64_t step;
    uint32_t branch;
    size_t seq;
    int64_t v[NC];
} mrow;

static int mrow_cmp(const void *pa, const void *pb)
{
    const mrow *a = pa, *b = pb;
    if (a->step != b->step)
        return a->step < b->step ? -1 : 1;
    if (a->branch != b->branch)
        return a->branch < b->branch ? -1 : 1;
    return (a->seq > b->seq) - (a->seq < b->seq);
}

/* The model's output: every row of branches sc[0..nb), by (the watermark
 * its branch reported last before it, branch, position); *n rows. */
static mrow *model(const rig_script *sc, uint32_t nb, size_t *n)
{
    size_t total = 0;
    for (uint32_t b = 0; b < nb; b++)
        total += sc[b].n;
    mrow *want = calloc(total + 1, sizeof *want);
    *n = 0;
    for (uint32_t b = 0; b < nb; b++) {
        int64_t *wms = rig_row_wms(&sc[b]);
        for (size_t i = 0, seq = 0; i < sc[b].n; i++) {
            if (sc[b].ev[i].is_wm)
                continue;
            mrow *m = &want[(*n)++];
            *m = (mrow){.step = wms[i], .branch = b, .seq = seq++};
            memcpy(m->v, sc[b].ev[i].v, sizeof m->v);
        }
        free(wms);
    }
    qsort(want, *n, sizeof *want, mrow_cmp);
    return want;
}

static void test_union_order_and_multiset(void)
{
    tide_schema *s = rig_schema(NC, cols);
    TT_FOR_SEEDS(seed, 1, 30) {
        uint64_t sd = seed * 0x9e3779b97f4a7c15ull;
        uint32_t nb = 1 + (uint32_t)(rig_rand(&sd) % 4);
        rig_script sc[4] = {{0}};
        for (uint32_t b = 0; b < nb; b++)
            make_script(&sc[b], &sd, 50 + rig_rand(&sd) % 400);
        size_t nw;
        mrow *want = model(sc, nb, &nw);
        tide_node_union_cfg uc = {.schema = s, .ordered = true, .flags = TIDE_CBATCH_OPS};
        for (int rep = 0; rep < 3 && !tt_failed_now; rep++) {
            rig_src_cfg src[4];
            rig_sink sink;
            rig_sink_init(&sink, NC);
            tide_flow *f;
            tide_err e = {0};
            tide_flow_cfg cfg = {.batch_rows = 8 + (uint32_t)rep * 20, .chan_capacity = 2};
            TT_OK(tide_flow_create(&f, &cfg, &e));
            int id[4], u, k;
            for (uint32_t b = 0; b < nb; b++) {
                rig_src_init(&src[b], s, &sc[b], 1 + (uint32_t)((seed + b + (uint64_t)rep) % 9));
                tide_flow_node n = rig_node("branch", &rig_src_vt, rig_src_make, &src[b], 1, s);
                TT_OK(tide_flow_add(f, &n, &id[b], &e));
            }
            tide_flow_node n = rig_node("union", &tide_node_union_vt, tide_node_union_make, &uc, 1, s);
            TT_OK(tide_flow_add(f, &n, &u, &e));
            n = rig_node("sink", &rig_sink_vt, rig_sink_make, &sink, 1, s);
            TT_OK(tide_flow_add(f, &n, &k, &e));
            for (uint32_t b = 0; b < nb; b++)
                TT_OK(tide_flow_connect(f, id[b], 0, u, TIDE_FLOW_FORWARD, NULL, 0, &e));
            TT_OK(tide_flow_connect(f, u, 0, k, TIDE_FLOW_FORWARD, NULL, 0, &e));
            int rc = tide_flow_run(f, &e);
            tide_flow_free(f);
            TT_ASSERT_MSG(rc == 0, "%s", e.msg);
            bool same = sink.n == nw;
            size_t w = rig_width(&sink), bad = 0;
            for (size_t i = 0; i < nw && same; i++) {
                const int64_t *o = sink.rows + i * w;
                same = o[0] == want[i].step && o[1] == TIDE_OP_INSERT &&
                       memcmp(o + RIG_HDR, want[i].v, sizeof want[i].v) == 0;
                bad = i;
            }
            if (!same) {
                TT_SEED(seed);
                fprintf(stderr, "  %zu branches, rep %d: %zu rows (want %zu), first difference at %zu\n", (size_t)nb,
                        rep, sink.n, nw, bad);
            }
            TT_ASSERT(same);
            TT_ASSERT(sink.n_wm > 0 && sink.wms[sink.n_wm - 1] == TIDE_TS_MAX);
            rig_sink_free_rows(&sink);
        }
        free(want);
        for (uint32_t b = 0; b < nb; b++)
            rig_script_free(&sc[b]);
    }
    tide_schema_free(s);
}

/* ---- snapshot and restore in the middle of a step ---- */

static int build_restore(tide_flow *f, const tide_schema *s, rig_src_cfg *src,
                         tide_node_union_cfg *uc, rig_sink *sink, tide_err *e)
{
    int id[2], u, k;
    for (int b = 0; b < 2; b++) {
        tide_flow_node n = rig_node("branch", &rig_src_vt, rig_src_make, &src[b], 1, s);
        TT_OK_RC(tide_flow_add(f, &n, &id[b], e));
    }
    tide_flow_node n = rig_node("union", &tide_node_union_vt, tide_node_union_make, uc, 1, s);
    TT_OK_RC(tide_flow_add(f, &n, &u, e));
    n = rig_node("sink", &rig_sink_vt, rig_sink_make, sink, 1, s);
    TT_OK_RC(tide_flow_add(f, &n, &k, e));
    for (int b = 0; b < 2; b++)
        TT_OK_RC(tide_flow_connect(f, id[b], 0, u, TIDE_FLOW_FORWARD, NULL, 0, e));
    TT_OK_RC(tide_flow_connect(f, u, 0, k, TIDE_FLOW_FORWARD, NULL, 0, e));
    return 0;
}

/* Both branches report the same watermarks (10, 20, ...), a few rows in
 * each step; both pause in the middle of step 200 (rows of it before and
 * after), so the barrier finds the union's inputs at its watermark and the
 * union holding rows of the step.  (A barrier that finds one input ahead
 * of the others is read past its watermark by the alignment's override,
 * and a restored flow starts with every input's watermark at -infinity:
 * the output then differs from the run without the barrier.  Not
 * exercised here.) */
static void union_script(rig_script *sc, uint64_t *seed, int branch, size_t *pause_at)
{
    for (int64_t wm = 10; wm <= 400; wm += 10) {
        int rows = (int)(rig_rand(seed) % 5) + (wm == 200 ? 2 : 0);
        for (int i = 0; i < rows; i++) {
            if (wm == 200 && i == 1)
                *pause_at = sc->n;
            int64_t b = branch * 100000 + (int64_t)sc->n;
            int64_t row[NC] = {wm - 5, b, b};
            rig_row(sc, NC, row, 0);
        }
        rig_wm(sc, wm);
    }
}

static void test_union_restore(void)
{
    tide_schema *s = rig_schema(NC, cols);
    rig_script sc[2] = {{0}};
    uint64_t sd = 11;
    size_t pause[2] = {0, 0};
    for (int b = 0; b < 2; b++)
        union_script(&sc[b], &sd, b, &pause[b]);
    size_t nw;
    mrow *want = model(sc, 2, &nw);
    tide_node_union_cfg uc = {.schema = s, .ordered = true, .flags = TIDE_CBATCH_OPS};
    rig_src_cfg src[2], src2[2];
    rig_sink sink, sink2;
    rig_sink_init(&sink, NC);
    rig_sink_init(&sink2, NC);
    for (int b = 0; b < 2; b++) {
        rig_src_init(&src[b], s, &sc[b], 3);
        rig_src_init(&src2[b], s, &sc[b], 3);
        src[b].pause_at = pause[b];
    }
    tide_flow *f;
    tide_err e = {0};
    tide_flow_cfg cfg = {.batch_rows = 16, .chan_capacity = 2};
    TT_OK(tide_flow_create(&f, &cfg, &e));
    TT_OK(build_restore(f, s, src, &uc, &sink, &e));
    rig_injector inj = {.f = f, .srcs = {&src[0], &src[1]}, .n = 2};
    TT_OK(tide_flow_start(f, &e));
    pthread_t th;
    TT_ASSERT(pthread_create(&th, NULL, rig_inject, &inj) == 0);
    int rc = tide_flow_wait(f, &e);
    pthread_join(th, NULL);
    TT_ASSERT_MSG(rc == 0, "%s", e.msg);
    tide_buf store = {0};
    TT_ASSERT(tide_flow_snapshot(f, inj.id, &store, &e));
    tide_flow_free(f);
    /* the run with the barrier: the model's sequence; the rows read since
     * watermark 190 were held by the union at the barrier, the earlier
     * steps' rows were out */
    size_t w = rig_width(&sink);
    TT_ASSERT_EQ_INT(sink.n, nw);
    for (size_t i = 0; i < nw; i++)
        TT_ASSERT(sink.rows[i * w] == want[i].step && memcmp(sink.rows + i * w + RIG_HDR, want[i].v, sizeof want[i].v) == 0);
    TT_ASSERT(sink.at_barrier > 0 && sink.at_barrier < nw);
    TT_ASSERT(sink.rows[sink.at_barrier * w] == 190 && sink.rows[(sink.at_barrier - 1) * w] < 190);
    /* a fresh flow restored from the checkpoint finishes the job */
    TT_OK(tide_flow_create(&f, &cfg, &e));
    TT_OK(build_restore(f, s, src2, &uc, &sink2, &e));
    TT_OK(tide_flow_restore(f, &store, &e));
    rc = tide_flow_run(f, &e);
    tide_flow_free(f);
    tide_buf_free(&store);
    TT_ASSERT_MSG(rc == 0, "%s", e.msg);
    TT_ASSERT_EQ_INT(sink2.base, sink.at_barrier);
    TT_ASSERT_EQ_INT(sink2.n, sink.n - sink.at_barrier);
    TT_ASSERT(memcmp(sink.rows + sink.at_barrier * w, sink2.rows, sink2.n * w * sizeof *sink2.rows) == 0);
    free(want);
    rig_sink_free_rows(&sink);
    rig_sink_free_rows(&sink2);
    rig_script_free(&sc[0]);
    rig_script_free(&sc[1]);
    tide_schema_free(s);
}

/* ---- a node after the union fails ---- */

static int fail_batch(void *self, uint32_t in, const tide_cbatch *b, const uint32_t *sel, uint32_t n,
                      tide_node_ctx *cx, tide_err *e)
{
    (void)self;
    (void)in;
    (void)b;
    (void)sel;
    (void)n;
    (void)cx;
    return tide_err_set(e, TIDE_EIO, "disk full");
}

static const tide_node_vt fail_vt = {.kind = "fail", .batch = fail_batch};

static int fail_make(void *ctx, uint32_t k, uint32_t p, void **self, tide_err *e)
{
    (void)ctx;
    (void)k;
    (void)p;
    (void)e;
    *self = NULL;
    return 0;
}

static void test_union_sink_error(void)
{
    tide_schema *s = rig_schema(NC, cols);
    rig_script sc[2] = {{0}};
    uint64_t sd = 3;
    make_script(&sc[0], &sd, 100);
    make_script(&sc[1], &sd, 100);
    for (int ordered = 0; ordered < 2; ordered++) {
        tide_node_union_cfg uc = {.schema = s, .ordered = ordered, .flags = TIDE_CBATCH_OPS};
        rig_src_cfg src[2];
        tide_flow *f;
        tide_err e = {0};
        TT_OK(tide_flow_create(&f, NULL, &e));
        int id[2], u, k;
        for (int b = 0; b < 2; b++) {
            rig_src_init(&src[b], s, &sc[b], 4);
            tide_flow_node n = rig_node("branch", &rig_src_vt, rig_src_make, &src[b], 1, s);
            TT_OK(tide_flow_add(f, &n, &id[b], &e));
        }
        tide_flow_node n = rig_node("union", &tide_node_union_vt, tide_node_union_make, &uc, 1, s);
        TT_OK(tide_flow_add(f, &n, &u, &e));
        n = rig_node("out", &fail_vt, fail_make, NULL, 1, s);
        TT_OK(tide_flow_add(f, &n, &k, &e));
        for (int b = 0; b < 2; b++)
            TT_OK(tide_flow_connect(f, id[b], 0, u, TIDE_FLOW_FORWARD, NULL, 0, &e));
        TT_OK(tide_flow_connect(f, u, 0, k, TIDE_FLOW_GATHER, NULL, 0, &e));
        int rc = tide_flow_run(f, &e);
        tide_flow_free(f);
        TT_ASSERT_EQ_INT(rc, TIDE_EIO);
        TT_ASSERT_MSG(strstr(e.msg, "out[0]") && strstr(e.msg, "disk full"), "%s", e.msg);
    }
    rig_script_free(&sc[0]);
    rig_script_free(&sc[1]);
    tide_schema_free(s);
}

int main(void)
{
    TT_RUN(test_union_order_and_multiset);
    TT_RUN(test_union_restore);
    TT_RUN(test_union_sink_error);
    TT_DONE();
}
