/* bench_pipeline - the whole event-time job (job/pipeline.h) on threads,
 * fed by the in-memory logins generator.
 *
 *   bench_pipeline [events [P [cases [runs]]]]  (default 10,000,000 events,
 *                                         P 1 then the number of cores (P 0
 *                                         means that), cases "axbcde", 1 run;
 *                                         with runs > 1 each case also gets
 *                                         a line with the median and range
 *                                         of its per-core figures)
 *
 *   a  stateless: WHERE device = 'ios', SELECT ts, user_id (a C stage)
 *   x  the same with exec/expr.h trees (tide_pipe_expr_stage)
 *   b  TUMBLE(1 h) COUNT(*) GROUP BY user_id, 100k users
 *   c  HOP(15 min, 1 h) COUNT(DISTINCT user_id) GROUP BY country
 *   d  SESSION(5 min) COUNT(*) GROUP BY user_id, 100k users
 *   e  TUMBLE(1 day) COUNT(*) GROUP BY user_id, 100k users (the per-user
 *      DAU shape: one window per key over the day, ~100 events per
 *      key-window at 10M events, against ~4 for b's hourly windows)
 *
 * b, c and d run what the SQL planner (sql/lower.c) builds for them: a
 * projection stage of expr.h column trees to (keys, values, ts) before the
 * exchange, and capacity_hint 1024 (the tables grow with the live state).
 *
 * Events span one day, 5% late by up to 5 s, B = 5 s.  Printed: wall
 * events/s, CPU seconds of the process (all threads), events per CPU
 * second ("per core": events/s divided by the cores actually used), and
 * the generator alone for comparison.  The machines are shared, so CPU
 * time is the steadier figure. */
#include "job/pipeline.h"

#include "exec/expr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double clock_s(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int count_result(void *ctx, const tide_pipe_result *r)
{
    (void)r;
    ++*(uint64_t *)ctx;
    return 0;
}

static int count_rows(void *ctx, const tide_cbatch *b)
{
    *(uint64_t *)ctx += tide_cbatch_rows(b);
    return 0;
}

static tide_schema *proj, *xschema;
static tide_pipe_expr_stage *xstage;

static int ios_stage(void *ctx, const tide_cbatch *in, tide_cbatch *out, tide_err *e)
{
    (void)ctx;
    (void)e;
    uint32_t n = tide_cbatch_rows(in);
    const tide_str *dev = tide_cbatch_col_str(in, TIDE_PIPE_LOGINS_DEVICE);
    const int64_t *ts = tide_cbatch_col_i64(in, TIDE_PIPE_LOGINS_TS);
    const int64_t *user = tide_cbatch_col_i64(in, TIDE_PIPE_LOGINS_USER_ID);
    for (uint32_t r = 0; r < n; r++) {
        if (dev[r].len != 3 || memcmp(dev[r].ptr, "ios", 3) != 0)
            continue;
        uint32_t o = 0;
        tide_cbatch_add_row(out, &o);
        tide_cbatch_set_i64(out, 0, o, ts[r]);
        tide_cbatch_set_i64(out, 1, o, user[r]);
    }
    return 0;
}

/* The planner's stage for a windowed aggregate over logins: SELECT the
 * logins columns cols[0..n) then ts, as expr.h column trees (keys, values,
 * event time last, as sql/lower.c orders them). */
static int sql_stage(const uint32_t *cols, uint32_t n, tide_pipe_config *cfg)
{
    static const char *const names[] = {"ts", "user_id", "country", "device"};
    static const tide_type types[] = {TIDE_TYPE_TIMESTAMP, TIDE_TYPE_BIGINT, TIDE_TYPE_STRING,
                                      TIDE_TYPE_STRING};
    tide_err e = {0};
    tide_schema *ls = NULL, *ss = NULL;
    tide_expr *sel[8] = {NULL};
    if (tide_schema_create(&ls, &e) != 0 || tide_schema_create(&ss, &e) != 0)
        goto fail;
    for (uint32_t i = 0; i < 4; i++)
        if (tide_schema_add(ls, names[i], types[i], false, &e) != 0)
            goto fail;
    for (uint32_t i = 0; i <= n; i++) {
        uint32_t c = i < n ? cols[i] : TIDE_PIPE_LOGINS_TS;
        if (tide_expr_column(&sel[i], ls, c, &e) != 0 ||
            tide_schema_add(ss, names[c], types[c], false, &e) != 0)
            goto fail;
    }
    if (tide_schema_set_time_column(ss, n, &e) != 0)
        goto fail;
    if (tide_pipe_expr_stage_create(&xstage, NULL, sel, n + 1, &e) != 0) {
        memset(sel, 0, sizeof sel); /* taken even on failure */
        goto fail;
    }
    tide_schema_free(ls);
    xschema = ss;
    cfg->stage = tide_pipe_expr_stage_fn;
    cfg->stage_ctx = xstage;
    cfg->stage_schema = ss;
    cfg->time_col = (int)n;
    return 0;
fail:
    fprintf(stderr, "stage: %s\n", e.msg);
    for (uint32_t i = 0; i < 8; i++)
        tide_expr_free(sel[i]);
    tide_schema_free(ls);
    tide_schema_free(ss);
    return 1;
}

static void gen_cfg(tide_gen_logins_cfg *g, uint64_t events)
{
    tide_gen_logins_cfg_default(g);
    g->events = events;
    g->users = 100000;
}

static int run_case(char c, uint64_t events, uint32_t P, double *per_core)
{
    tide_pipe_config cfg;
    tide_pipe_config_init(&cfg);
    gen_cfg(&cfg.source.gen, events);
    cfg.wm_bound = 5000;
    cfg.parallelism = P;
    uint64_t out = 0;
    cfg.out_ctx = &out;
    cfg.on_result = count_result;
    cfg.on_rows = count_rows;
    tide_winagg_call agg = {TIDE_AGG_COUNT_STAR, 0, TIDE_TYPE_NULL};
    uint32_t key = TIDE_PIPE_LOGINS_USER_ID, val = TIDE_PIPE_LOGINS_USER_ID;
    cfg.aggs = &agg;
    cfg.n_aggs = 1;
    cfg.key_cols = &key;
    cfg.n_key_cols = 1;
    const char *name = "?";
    switch (c) {
    case 'a':
        name = "a stateless filter+project";
        cfg.n_aggs = 0;
        cfg.stage = ios_stage;
        cfg.stage_schema = proj;
        cfg.time_col = 0;
        break;
    case 'x': {
        name = "x stateless filter+project (expr.h)";
        cfg.n_aggs = 0;
        tide_schema *ls = NULL;
        tide_expr *dev = NULL, *ios = NULL, *where = NULL, *sel[2] = {NULL, NULL};
        tide_err e = {0};
        if (tide_schema_create(&ls, &e) ||
            tide_schema_add(ls, "ts", TIDE_TYPE_TIMESTAMP, false, &e) ||
            tide_schema_add(ls, "user_id", TIDE_TYPE_BIGINT, false, &e) ||
            tide_schema_add(ls, "country", TIDE_TYPE_STRING, false, &e) ||
            tide_schema_add(ls, "device", TIDE_TYPE_STRING, false, &e))
            return 1;
        tide_expr_column(&dev, ls, TIDE_PIPE_LOGINS_DEVICE, &e);
        tide_expr_literal_str(&ios, "ios", 3, &e);
        tide_expr_compare(&where, TIDE_EXPR_EQ, dev, ios, &e);
        tide_expr_column(&sel[0], ls, TIDE_PIPE_LOGINS_TS, &e);
        tide_expr_column(&sel[1], ls, TIDE_PIPE_LOGINS_USER_ID, &e);
        if (tide_pipe_expr_stage_create(&xstage, where, sel, 2, &e) != 0) {
            fprintf(stderr, "expr stage: %s\n", e.msg);
            return 1;
        }
        xschema = ls;
        cfg.stage = tide_pipe_expr_stage_fn;
        cfg.stage_ctx = xstage;
        cfg.stage_schema = proj;
        cfg.time_col = 0;
        break;
    }
    case 'b':
    case 'd':
    case 'e': { /* COUNT(*) per user, in three kinds of window */
        name = c == 'b'   ? "b TUMBLE(1h) COUNT(*) by user"
               : c == 'e' ? "e TUMBLE(1d) COUNT(*) by user"
                          : "d SESSION(5m) COUNT(*) by user";
        cfg.window = c == 'b'   ? tide_win_tumble(3600000)
                     : c == 'e' ? tide_win_tumble(86400000)
                                : tide_win_session(300000);
        uint32_t cols[] = {TIDE_PIPE_LOGINS_USER_ID};
        if (sql_stage(cols, 1, &cfg) != 0)
            return 1;
        key = 0;
        cfg.capacity_hint = 1024;
        break;
    }
    case 'c': {
        name = "c HOP(15m,1h) COUNT(DISTINCT user) by country";
        cfg.window = tide_win_hop(900000, 3600000);
        agg = (tide_winagg_call){TIDE_AGG_COUNT_DISTINCT, 0, TIDE_TYPE_BIGINT};
        uint32_t cols[] = {TIDE_PIPE_LOGINS_COUNTRY, TIDE_PIPE_LOGINS_USER_ID};
        if (sql_stage(cols, 2, &cfg) != 0)
            return 1;
        key = 0;
        val = 1;
        cfg.value_cols = &val;
        cfg.n_value_cols = 1;
        cfg.capacity_hint = 1024;
        break;
    }
    default:
        return 1;
    }
    tide_pipe *p = NULL;
    tide_err e = {0};
    if (tide_pipe_create(&p, &cfg, &e) != 0) {
        fprintf(stderr, "%s: %s\n", name, e.msg);
        tide_pipe_expr_stage_free(xstage);
        xstage = NULL;
        tide_schema_free(xschema);
        xschema = NULL;
        return 1;
    }
    double w0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    int rc = tide_pipe_run(p, &e);
    double wall = clock_s(CLOCK_MONOTONIC) - w0, cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
    tide_pipe_counts k;
    tide_pipe_counts_get(p, &k);
    uint32_t par = tide_pipe_parallelism(p);
    tide_pipe_free(p);
    tide_pipe_expr_stage_free(xstage);
    xstage = NULL;
    tide_schema_free(xschema);
    xschema = NULL;
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", name, e.msg);
        return 1;
    }
    printf("%-46s P=%u  %6.2f M ev/s wall  %6.2f s CPU (%.2f cores)  %6.2f M ev/s per core  "
           "(in %llu, out %llu, late %llu)\n",
           name, par, (double)events / wall / 1e6, cpu, cpu / wall, (double)events / cpu / 1e6,
           (unsigned long long)k.in, (unsigned long long)k.out, (unsigned long long)k.late);
    *per_core = (double)events / cpu / 1e6;
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The generator alone, into arrays: the floor under every case. */
static void gen_only(uint64_t events)
{
    tide_gen_logins_cfg g;
    gen_cfg(&g, events);
    tide_gen_logins *gen = NULL;
    tide_err e = {0};
    if (tide_gen_logins_create(&gen, &g, &e) != 0)
        return;
    enum { N = 1024 };
    static int64_t ts[N], user[N];
    static uint8_t co[N], dv[N];
    tide_gen_logins_cols cols = {ts, user, co, dv, N};
    double c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    while (!tide_gen_logins_done(gen)) {
        size_t n = 0;
        if (tide_gen_logins_next(gen, &cols, N, 0, &n, &e) != 0)
            break;
    }
    double cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
    printf("%-46s      %6.2f s CPU  %6.2f M ev/s per core\n", "generator alone (arrays)", cpu,
           (double)events / cpu / 1e6);
    tide_gen_logins_free(gen);
}

int main(int argc, char **argv)
{
    uint64_t events = argc > 1 ? strtoull(argv[1], NULL, 10) : 10000000ull;
    /* P = 1 measures the cost per event (the per-core figure); P = cores
     * also what the exchange costs and buys */
    uint32_t Ps[2] = {1, 0}, nP = 2;
    if (argc > 2) {
        Ps[0] = (uint32_t)strtoul(argv[2], NULL, 10);
        nP = 1;
    } else if (sysconf(_SC_NPROCESSORS_ONLN) <= 1) {
        nP = 1;
    }
    const char *cases = argc > 3 ? argv[3] : "axbcde";
    int runs = argc > 4 ? atoi(argv[4]) : 1;
    if (runs < 1 || runs > 100)
        runs = 1;
    tide_err e = {0};
    if (tide_schema_create(&proj, &e) != 0 ||
        tide_schema_add(proj, "ts", TIDE_TYPE_TIMESTAMP, false, &e) != 0 ||
        tide_schema_add(proj, "user_id", TIDE_TYPE_BIGINT, false, &e) != 0 ||
        tide_schema_set_time_column(proj, 0, &e) != 0) {
        fprintf(stderr, "schema: %s\n", e.msg);
        return 1;
    }
    printf("%llu events, %ld cores online\n", (unsigned long long)events,
           sysconf(_SC_NPROCESSORS_ONLN));
    gen_only(events);
    int rc = 0;
    for (uint32_t pi = 0; pi < nP; pi++) {
        uint32_t P = Ps[pi];
        for (const char *c = cases; *c; c++) {
            if (pi > 0 && (*c == 'a' || *c == 'x'))
                continue; /* stateless: no instances, P changes nothing */
            double fig[100];
            int ok = 0;
            for (int r = 0; r < runs; r++) {
                int x = run_case(*c, events, P, &fig[ok]);
                rc |= x;
                ok += x == 0;
            }
            if (runs > 1 && ok > 0) {
                qsort(fig, (size_t)ok, sizeof *fig, cmp_double);
                double med = ok % 2 ? fig[ok / 2] : (fig[ok / 2 - 1] + fig[ok / 2]) / 2;
                printf("%c median of %d runs: %6.2f M ev/s per core (%.2f .. %.2f)\n", *c, ok, med,
                       fig[0], fig[ok - 1]);
            }
        }
    }
    tide_schema_free(proj);
    return rc;
}
