/*
 * test_task.c - the task's quanta, deterministically: input channels are
 * filled completely (ending with END) before the task's quanta run on this
 * thread (tide_task_step until it is done; with every input there it never
 * parks), so the order in which the task reads is fixed (input 0 up to a
 * burst, then input 1, ...) and the exact output sequence can be written
 * down.  Then the quantum's own contract: parking on an empty input and on
 * a full output (the backlog), and yielding after a bounded quantum.
 *
 * Covered: the watermark combiner (min over inputs, ended = +infinity,
 * forward only on advance, never regress), barrier alignment (an input that
 * delivered the barrier is held back), barriers and END with an ended
 * input, a barrier id mismatch, an operator error with its message, and
 * emit routing / batching.
 */
#include "exec/task.h"

#include "data/types.h"

#include "tt.h"

/* A batch is one heap int64 (a tagged value) or, for the emitter tests, an
 * array of up to `rows` int64. */
typedef struct vec {
    uint32_t n, cap;
    int64_t v[];
} vec;

static long live_batches;

static void *vec_create(void *ctx, uint32_t rows)
{
    (void)ctx;
    vec *b = malloc(sizeof *b + rows * sizeof(int64_t));
    if (b) {
        b->n = 0;
        b->cap = rows;
        live_batches++;
    }
    return b;
}

static int vec_append(void *ctx, void *bp, const void *item)
{
    (void)ctx;
    vec *b = bp;
    if (b->n == b->cap)
        return TIDE_ERANGE;
    b->v[b->n++] = *(const int64_t *)item;
    return 0;
}

static void vec_free(void *ctx, void *bp)
{
    (void)ctx;
    live_batches--;
    free(bp);
}

static void *one(int64_t v)
{
    vec *b = vec_create(NULL, 1);
    vec_append(NULL, b, &v);
    return b;
}

static tide_task_env env_make(void)
{
    tide_task_env env;
    memset(&env, 0, sizeof env);
    env.batch = (tide_task_batch_type){vec_create, vec_append, vec_free, NULL};
    env.batch_rows = 4;
    env.latency_ns = 1000000000LL;
    env.idle_tick_ns = 1000000;
    env.flush_check_every = 1;
    env.clock = tide_clock_system();
    atomic_init(&env.stop, 0);
    atomic_init(&env.progress, 0);
    return env;
}

/* Recording operator: passes data through, logs every callback. */
typedef struct rec {
    char log[1024];
    int64_t fail_on; /* on_batch fails on this value (0: never) */
} rec;

static void logf_(rec *r, const char *fmt, long long v)
{
    size_t n = strlen(r->log);
    snprintf(r->log + n, sizeof r->log - n, fmt, v);
}

static int rec_batch(void *st, uint32_t input, void *bp, uint32_t rows, tide_task_out *out, tide_err *e)
{
    rec *r = st;
    vec *b = bp;
    (void)rows;
    logf_(r, "d%lld", (long long)b->v[0]);
    logf_(r, "@%lld ", (long long)input);
    if (r->fail_on && b->v[0] == r->fail_on) {
        tide_task_free_batch(out, input, bp);
        return tide_err_set(e, TIDE_ECORRUPT, "value %lld is poison", (long long)r->fail_on);
    }
    return tide_task_emit_batch(out, 0, bp, b->n);
}

static int rec_wm(void *st, int64_t wm, tide_task_out *out, tide_err *e)
{
    (void)out;
    (void)e;
    if (wm == TIDE_TS_MAX)
        logf_(st, "w+inf ", 0);
    else
        logf_(st, "w%lld ", (long long)wm);
    return 0;
}

static int rec_barrier(void *st, int64_t id, tide_task_out *out, tide_err *e)
{
    (void)out;
    (void)e;
    logf_(st, "b%lld ", (long long)id);
    return 0;
}

static int rec_end(void *st, tide_task_out *out, tide_err *e)
{
    (void)out;
    (void)e;
    logf_(st, "end%lld", 0);
    return 0;
}

static const tide_task_op rec_op = {.name = "rec",
                                    .on_batch = rec_batch,
                                    .on_watermark = rec_wm,
                                    .on_barrier = rec_barrier,
                                    .on_end = rec_end};

/* Input script: "d5" data 5, "w10" watermark, "b1" barrier, "e" END. */
static int fill(tide_chan *c, const char *script)
{
    const char *p = script;
    while (*p) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        char k = *p++;
        long long v = strtoll(p, (char **)&p, 10);
        tide_chan_msg m = {0};
        if (k == 'd') {
            m.kind = TIDE_CHAN_DATA;
            m.rows = 1;
            m.u.batch = one(v);
        } else if (k == 'w') {
            m.kind = TIDE_CHAN_WATERMARK;
            m.u.watermark = v;
        } else if (k == 'b') {
            m.kind = TIDE_CHAN_BARRIER;
            m.u.checkpoint = v;
        } else {
            m.kind = TIDE_CHAN_END;
        }
        int rc = tide_chan_try_send(c, &m);
        if (rc)
            return rc;
        if (k == 'e')
            tide_chan_close(c);
    }
    return 0;
}

/* The output channel as a script, freeing the batches. */
static void drain(tide_chan *c, char *out, size_t cap)
{
    out[0] = 0;
    tide_chan_msg m;
    int rc;
    while ((rc = tide_chan_try_recv(c, &m)) == 1) {
        size_t n = strlen(out);
        switch (m.kind) {
        case TIDE_CHAN_DATA: {
            vec *b = m.u.batch;
            for (uint32_t i = 0; i < b->n; i++) {
                n = strlen(out);
                snprintf(out + n, cap - n, "d%lld ", (long long)b->v[i]);
            }
            vec_free(NULL, b);
            break;
        }
        case TIDE_CHAN_WATERMARK:
            if (m.u.watermark == TIDE_TS_MAX)
                snprintf(out + n, cap - n, "w+inf ");
            else
                snprintf(out + n, cap - n, "w%lld ", (long long)m.u.watermark);
            break;
        case TIDE_CHAN_BARRIER:
            snprintf(out + n, cap - n, "b%lld ", (long long)m.u.checkpoint);
            break;
        default:
            snprintf(out + n, cap - n, "e");
        }
    }
}

/* Quanta until the task is done: its error code (0: finished).  With
 * all its input there and room for its output it never parks. */
static int run_steps(tide_task *t, tide_task_env *env)
{
    for (int n = 0; n < 100000; n++) {
        tide_sched_park park = {.due = INT64_MAX};
        int v = tide_task_step(t, false, &park);
        if (v == TIDE_SCHED_DONE)
            return env->fail_ctx ? ((tide_err *)env->fail_ctx)->code : 0;
        if (v == TIDE_SCHED_PARK)
            return -200;
    }
    return -201;
}

typedef struct rig {
    tide_err err; /* first: env.fail_ctx points at the rig (and at err) */
    tide_task_env env;
    tide_task *t;
    tide_chan *in[3], *out;
    rec r;
    char got[1024];
    int rc;
    int fail_calls;
} rig;

static void rig_fail(void *ctx, tide_task *t, int code, const char *msg)
{
    (void)t;
    rig *g = ctx;
    g->fail_calls++;
    tide_err_set(&g->err, code, "%s", msg);
}

/* Run a task with len(scripts) inputs, each filled from its script. */
static int rig_run(rig *g, const char *const *scripts, int n)
{
    tide_err e = {0};
    memset(g, 0, sizeof *g);
    g->env = env_make();
    g->env.fail = rig_fail;
    g->env.fail_ctx = g;
    if (tide_task_create(&g->t, "rec", &rec_op, &g->r, &g->env, &e))
        return -100;
    if (tide_chan_create(&g->out, 256, "out", &e))
        return -101;
    if (tide_task_add_output(g->t, &g->out, 1, NULL, NULL, NULL, NULL, &e))
        return -102;
    for (int i = 0; i < n; i++) {
        if (tide_chan_create(&g->in[i], 64, "in", &e) || tide_task_add_input(g->t, g->in[i], NULL, &e))
            return -103;
        if (fill(g->in[i], scripts[i]))
            return -104;
    }
    g->rc = run_steps(g->t, &g->env);
    drain(g->out, g->got, sizeof g->got);
    return 0;
}

static void rig_free(rig *g)
{
    for (int i = 0; i < 3; i++)
        if (g->in[i]) {
            tide_chan_msg m;
            while (tide_chan_drain_one(g->in[i], &m) == 1)
                if (m.kind == TIDE_CHAN_DATA)
                    vec_free(NULL, m.u.batch);
            tide_chan_free(g->in[i]);
        }
    tide_chan_free(g->out);
    g->r.log[0] = 0;
    tide_task_free(g->t); /* the op has no free: state is in the rig */
}

static void test_watermark_min_and_end(void)
{
    static rig g;
    const char *in[] = {"w10 w30 e", "w20 w25 w5 w40 e"};
    TT_OK(rig_run(&g, in, 2));
    TT_ASSERT_EQ_INT(g.rc, 0);
    /* Aligned reading: an input whose watermark is ahead of the min waits
     * for the others.  w10 (input 0 waits), w20 -> min 10, w30 -> 20 (input
     * 0 waits), w25 -> 25, w5 a regression (ignored), w40 -> 30, input 0
     * ends -> 40, input 1 ends -> +infinity.  Every step of both inputs is
     * seen, whatever the timing. */
    TT_ASSERT_EQ_STR(g.r.log, "w10 w20 w25 w30 w40 w+inf end0");
    TT_ASSERT_EQ_STR(g.got, "w10 w20 w25 w30 w40 w+inf e");
    rig_free(&g);
}

static void test_watermark_waits_for_slowest(void)
{
    static rig g;
    const char *in2[] = {"w10 w30 w50 d1 w70 e", "w40 w45 e"};
    TT_OK(rig_run(&g, in2, 2));
    TT_ASSERT_EQ_INT(g.rc, 0);
    /* Aligned: input 0 waits at 10 until input 1 has a watermark (40), at
     * 30 and 50 until input 1 reaches them; d1 comes after the task reached
     * 50 (its input's watermark), so it is handled at watermark 50 in every
     * run. */
    TT_ASSERT_EQ_STR(g.got, "w10 w30 w40 w45 w50 d1 w70 w+inf e");
    rig_free(&g);
}

static void test_barrier_alignment_holds_input(void)
{
    static rig g;
    const char *in[] = {"d1 b1 d2 e", "d3 d4 b1 d5 e"};
    TT_OK(rig_run(&g, in, 2));
    TT_ASSERT_EQ_INT(g.rc, 0);
    /* d2 (after barrier 1 on input 0) must wait until input 1 delivered
     * barrier 1 too: pre-barrier data {1,3,4}, then b1, then {5,2}. */
    TT_ASSERT_EQ_STR(g.r.log, "d1@0 d3@1 d4@1 b1 d5@1 d2@0 w+inf end0");
    TT_ASSERT_EQ_STR(g.got, "d1 d3 d4 b1 d5 d2 w+inf e");
    rig_free(&g);
}

static void test_barrier_with_ended_input(void)
{
    static rig g;
    const char *in[] = {"d1 b1 d2 b2 d3 e", "d4 e", "d5 b1 d6 b2 e"};
    TT_OK(rig_run(&g, in, 3));
    TT_ASSERT_EQ_INT(g.rc, 0);
    /* Input 1 ends without barriers: it counts as arrived. */
    TT_ASSERT_EQ_STR(g.got, "d1 d4 d5 b1 d6 d2 b2 d3 w+inf e");
    rig_free(&g);
}

static void test_barrier_mismatch_fails(void)
{
    static rig g;
    const char *in[] = {"b1 e", "b2 e"};
    TT_OK(rig_run(&g, in, 2));
    TT_ASSERT_EQ_INT(g.rc, TIDE_EINVAL);
    TT_ASSERT_EQ_INT(g.fail_calls, 1);
    TT_ASSERT(strstr(g.err.msg, "barrier 2 on input 1 while aligning barrier 1") != NULL);
    rig_free(&g);
    TT_ASSERT_EQ_INT(live_batches, 0);
}

static void test_operator_error_message(void)
{
    static rig g;
    const char *in[] = {"d1 d7 d2 e"};
    TT_OK(rig_run(&g, in, 0)); /* a task without inputs ends at once */
    TT_ASSERT_EQ_STR(g.got, "w+inf e");
    rig_free(&g);

    tide_err e = {0};
    memset(&g, 0, sizeof g);
    g.env = env_make();
    g.env.fail = rig_fail;
    g.env.fail_ctx = &g;
    g.r.fail_on = 7;
    TT_OK(tide_task_create(&g.t, "poisoned", &rec_op, &g.r, &g.env, &e));
    TT_OK(tide_chan_create(&g.out, 16, "out", &e));
    TT_OK(tide_task_add_output(g.t, &g.out, 1, NULL, NULL, NULL, NULL, &e));
    TT_OK(tide_chan_create(&g.in[0], 16, "in", &e));
    TT_OK(tide_task_add_input(g.t, g.in[0], NULL, &e));
    TT_OK(fill(g.in[0], in[0]));
    TT_ASSERT_EQ_INT(run_steps(g.t, &g.env), TIDE_ECORRUPT);
    TT_ASSERT_EQ_STR(g.err.msg, "task poisoned: value 7 is poison");
    drain(g.out, g.got, sizeof g.got);
    TT_ASSERT_EQ_STR(g.got, "d1 ");
    rig_free(&g);
    TT_ASSERT_EQ_INT(live_batches, 0);
}

/* Emit routing and batching: 4 rows per batch, a hash port over 3 channels
 * sends every item to the channel its key picks, in order, and END flushes
 * the partial batches. */
typedef struct spray {
    int64_t n;
} spray;

static int spray_poll(void *st, tide_task_out *out, tide_err *e)
{
    (void)e;
    spray *s = st;
    for (int64_t i = 0; i < s->n; i++) {
        int rc = tide_task_emit(out, 0, &i);
        if (rc)
            return rc;
    }
    return 0;
}

static uint64_t key_mod3(void *ctx, const void *item)
{
    (void)ctx;
    /* high 32 bits pick the channel: ((h >> 32) * 3) >> 32 */
    uint64_t k = (uint64_t)(*(const int64_t *)item % 3);
    return (k * 0x55555556ull) << 32; /* k/3 of the range, rounded up */
}

static void test_emit_routing_and_batching(void)
{
    tide_task_env env = env_make();
    tide_err e = {0};
    tide_task *t = NULL;
    static spray s = {.n = 22};
    static const tide_task_op spray_op = {.name = "spray", .on_poll = spray_poll};
    tide_chan *ch[3];
    TT_OK(tide_task_create(&t, "spray", &spray_op, &s, &env, &e));
    for (int i = 0; i < 3; i++)
        TT_OK(tide_chan_create(&ch[i], 64, "c", &e));
    uint32_t port = 99;
    TT_OK(tide_task_add_output(t, ch, 3, key_mod3, NULL, NULL, &port, &e));
    TT_ASSERT_EQ_INT(port, 0);
    TT_ASSERT_EQ_INT(run_steps(t, &env), 0);
    TT_ASSERT_EQ_INT(tide_task_emit(t, 5, &s.n), TIDE_EINVAL); /* no such port */
    for (int c = 0; c < 3; c++) {
        /* Brute force: the items with i % 3 == c, in batches of 4. */
        char want[512] = "", got[512];
        int in_batch = 0;
        for (int64_t i = c; i < s.n; i += 3) {
            size_t n = strlen(want);
            snprintf(want + n, sizeof want - n, "d%lld ", (long long)i);
            in_batch++;
        }
        size_t n = strlen(want);
        snprintf(want + n, sizeof want - n, "w+inf e");
        drain(ch[c], got, sizeof got);
        TT_ASSERT_EQ_STR(got, want);
        tide_chan_stats st;
        tide_chan_stats_get(ch[c], &st);
        /* (items + 3) / 4 data batches, + watermark + END */
        TT_ASSERT_EQ_INT(st.sent, (in_batch + 3) / 4 + 2);
    }
    tide_task_free(t);
    for (int i = 0; i < 3; i++)
        tide_chan_free(ch[i]);
    TT_ASSERT_EQ_INT(live_batches, 0);
}

int main(void)
{
    TT_RUN(test_watermark_min_and_end);
    TT_RUN(test_watermark_waits_for_slowest);
    TT_RUN(test_barrier_alignment_holds_input);
    TT_RUN(test_barrier_with_ended_input);
    TT_RUN(test_barrier_mismatch_fails);
    TT_RUN(test_operator_error_message);
    TT_RUN(test_emit_routing_and_batching);
    TT_DONE();
}
