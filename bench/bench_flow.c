/* bench_flow - keyed and stateless queries over the logins as one dataflow
 * graph of nodes (exec/flow.h), configured by hand, fed by the in-memory
 * logins generator:
 *
 *   a:    scan(gen) -> calc (WHERE device = 'ios' SELECT ts, user_id) -> count
 *   else: scan(gen) -> calc (SELECT keys, values, ts) -> winagg[P] -> gather
 *         -> order -> count
 *
 * P = 1: the winagg instance is chained into the scan's task (a forward
 * edge); P > 1: a hash exchange on the key.  The order node sorts each
 * watermark step's results by (window_end, window_start, key); the
 * counting sink is chained to it.
 *
 *   bench_flow [events [P [cases [runs]]]]  (default 10,000,000 events, P 1
 *                                    then the number of cores (P 0 means
 *                                    that), cases "abcde", 1 run; with runs
 *                                    > 1 each case also gets a line with the
 *                                    median and range of its per-core and
 *                                    wall figures)
 *
 *   a  stateless: WHERE device = 'ios', SELECT ts, user_id (node_calc's
 *      expression trees; P changes nothing, so it runs at P = 1 only)
 *   b  TUMBLE(1 h) COUNT(*) GROUP BY user_id, 100k users
 *   c  HOP(15 min, 1 h) COUNT(DISTINCT user_id) GROUP BY country
 *      (node_winagg's per-window HOP, as the old pipeline ran it; SQL plans
 *      HOP by shared slices: bench_sql)
 *   d  SESSION(5 min) COUNT(*) GROUP BY user_id, 100k users
 *   e  TUMBLE(1 day) COUNT(*) GROUP BY user_id, 100k users (the per-user
 *      DAU shape: one window per key over the day, ~100 events per
 *      key-window at 10M events, against ~4 for b's hourly windows)
 *
 * Events span one day, 5% late by up to 5 s, B = 5 s, 4 * 4096 source rows
 * per poll, channel batches of 4096 rows, capacity hint 1024.  The scan
 * leaves the string columns no node reads unfilled.  Printed: wall
 * events/s, CPU seconds of the process (all threads), events per CPU
 * second ("per core": events/s divided by the cores actually used), and
 * the share of the worker pool's time its workers slept with nothing to
 * run (exec/sched.h).  The machines are shared, so CPU time is the
 * steadier figure. */
#include "exec/flow.h"
#include "exec/node_calc.h"
#include "exec/node_order.h"
#include "exec/node_scan.h"
#include "exec/node_winagg.h"

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

/* ---- the counting sink ---- */

static int count_batch(void *self, uint32_t in, const tide_cbatch *b, const uint32_t *sel, uint32_t n,
                       tide_node_ctx *cx, tide_err *e)
{
    (void)in;
    (void)b;
    (void)sel;
    (void)e;
    *(uint64_t *)self += n;
    tide_node_count(cx, TIDE_NODE_OUT, n);
    return 0;
}

static void count_free(void *self) { free(self); }

static const tide_node_vt count_vt = {.kind = "count", .batch = count_batch, .free = count_free};

static int count_make(void *ctx, uint32_t k, uint32_t p, void **self, tide_err *e)
{
    (void)ctx;
    (void)k;
    (void)p;
    (void)e;
    *self = calloc(1, sizeof(uint64_t));
    return *self ? 0 : TIDE_ENOMEM;
}

static int run_case(char c, uint64_t events, uint32_t P, double *per_core, double *wall_rate)
{
    const char *name = c == 'a'   ? "a stateless filter+project"
                       : c == 'b' ? "b TUMBLE(1h) COUNT(*) by user"
                       : c == 'c' ? "c HOP(15m,1h) COUNT(DISTINCT user) by country"
                       : c == 'd' ? "d SESSION(5m) COUNT(*) by user"
                       : c == 'e' ? "e TUMBLE(1d) COUNT(*) by user"
                                  : NULL;
    if (!name)
        return 1;
    tide_err e = {0};
    int rc = 0;
    tide_flow *f = NULL;
    tide_schema *s_src = NULL, *s_calc = NULL, *s_win = NULL;
    tide_expr *exprs[3] = {NULL, NULL, NULL}, *where = NULL, *dev = NULL, *ios = NULL;

    tide_node_scan_cfg scan;
    tide_node_scan_cfg_init(&scan);
    scan.gen.events = events;
    scan.gen.users = 100000;
    scan.wm_bound = 5000;
    scan.batch_rows = 4 * 4096;
    /* the calc reads only these columns: the others are left unfilled */
    uint64_t read = 1u << TIDE_NODE_SCAN_LOGINS_TS | 1u << TIDE_NODE_SCAN_LOGINS_USER_ID;
    read |= c == 'a' ? 1u << TIDE_NODE_SCAN_LOGINS_DEVICE : 0;
    read |= c == 'c' ? 1u << TIDE_NODE_SCAN_LOGINS_COUNTRY : 0;
    scan.unread_cols = ~read & 0xf;
    /* the calc's SELECT list: a: ts, user_id; c: country, user_id, ts (the
     * key, the value, the event time); else user_id, ts */
    static const uint32_t sel_a[] = {TIDE_NODE_SCAN_LOGINS_TS, TIDE_NODE_SCAN_LOGINS_USER_ID},
                          sel_c[] = {TIDE_NODE_SCAN_LOGINS_COUNTRY, TIDE_NODE_SCAN_LOGINS_USER_ID,
                                     TIDE_NODE_SCAN_LOGINS_TS},
                          sel_k[] = {TIDE_NODE_SCAN_LOGINS_USER_ID, TIDE_NODE_SCAN_LOGINS_TS};
    const uint32_t *sel = c == 'a' ? sel_a : c == 'c' ? sel_c : sel_k;
    uint32_t n_sel = c == 'c' ? 3 : 2, time_col = c == 'a' ? 0 : n_sel - 1;
    tide_node_calc_cfg calc = {0};
    tide_node_winagg_cfg wa = {0};
    tide_node_order_cfg ord = {0};
    uint32_t key = 0, val = 1, sort[3] = {2, 1, 0};
    tide_winagg_call agg = c == 'c' ? (tide_winagg_call){TIDE_AGG_COUNT_DISTINCT, 0, TIDE_TYPE_BIGINT}
                                    : (tide_winagg_call){TIDE_AGG_COUNT_STAR, 0, TIDE_TYPE_NULL};
    if ((rc = tide_node_scan_schema(&scan, 0, &s_src, &e)) || (rc = tide_schema_create(&s_calc, &e)))
        goto done;
    for (uint32_t i = 0; i < n_sel; i++)
        if ((rc = tide_schema_add(s_calc, tide_schema_col(s_src, sel[i])->name,
                                  tide_schema_col(s_src, sel[i])->type, false, &e)) ||
            (rc = tide_expr_column(&exprs[i], s_src, sel[i], &e)))
            goto done;
    if ((rc = tide_schema_set_time_column(s_calc, time_col, &e)))
        goto done;
    if (c == 'a') {
        rc = tide_expr_column(&dev, s_src, TIDE_NODE_SCAN_LOGINS_DEVICE, &e);
        if (!rc)
            rc = tide_expr_literal_str(&ios, "ios", 3, &e);
        if (!rc) {
            rc = tide_expr_compare(&where, TIDE_EXPR_EQ, dev, ios, &e); /* takes both */
            dev = ios = NULL;
        }
        if (rc)
            goto done;
    }
    calc = (tide_node_calc_cfg){.in = s_src, .out = s_calc, .n_exprs = n_sel, .exprs = exprs, .where = where};
    wa = (tide_node_winagg_cfg){.in = s_calc,
                                .key_cols = &key,
                                .n_keys = 1,
                                .time_col = time_col,
                                .value_cols = c == 'c' ? &val : NULL,
                                .n_values = c == 'c' ? 1 : 0,
                                .aggs = &agg,
                                .n_aggs = 1,
                                .window = c == 'b'   ? tide_win_tumble(3600000)
                                          : c == 'c' ? tide_win_hop(900000, 3600000)
                                          : c == 'e' ? tide_win_tumble(86400000)
                                                     : tide_win_session(300000),
                                .mode = TIDE_TRIG_ACCUMULATING,
                                .capacity_hint = 1024};
    if (c != 'a' && (rc = tide_node_winagg_schema(&wa, 0, &s_win, &e)))
        goto done;
    ord = (tide_node_order_cfg){.schema = s_win, .flags = TIDE_CBATCH_OPS, .sort_cols = sort, .n_sort = 3};
    if ((rc = tide_flow_create(&f, NULL, &e)))
        goto done;
    int n_scan, n_calc, n_wa, n_ord, n_cnt;
    tide_flow_node n = {.name = "scan", .vt = &tide_node_scan_vt, .make = tide_node_scan_make,
                        .make_ctx = &scan, .parallelism = 1, .n_out = 1};
    n.out_schema[0] = s_src;
    if ((rc = tide_flow_add(f, &n, &n_scan, &e)))
        goto done;
    n = (tide_flow_node){.name = "calc", .vt = &tide_node_calc_vt, .make = tide_node_calc_make,
                         .make_ctx = &calc, .parallelism = 1, .n_out = 1};
    n.out_schema[0] = s_calc;
    if ((rc = tide_flow_add(f, &n, &n_calc, &e)) ||
        (rc = tide_flow_connect(f, n_scan, 0, n_calc, TIDE_FLOW_FORWARD, NULL, 0, &e)))
        goto done;
    n = (tide_flow_node){.name = "count", .vt = &count_vt, .make = count_make, .parallelism = 1};
    if (c == 'a') {
        if ((rc = tide_flow_add(f, &n, &n_cnt, &e)) ||
            (rc = tide_flow_connect(f, n_calc, 0, n_cnt, TIDE_FLOW_FORWARD, NULL, 0, &e)))
            goto done;
    } else {
        n = (tide_flow_node){.name = "winagg", .vt = &tide_node_winagg_vt, .make = tide_node_winagg_make,
                             .make_ctx = &wa, .parallelism = P, .n_out = 1};
        n.out_schema[0] = s_win;
        n.out_flags[0] = TIDE_CBATCH_OPS;
        if ((rc = tide_flow_add(f, &n, &n_wa, &e)))
            goto done;
        n = (tide_flow_node){.name = "order", .vt = &tide_node_order_vt, .make = tide_node_order_make,
                             .make_ctx = &ord, .parallelism = 1, .n_out = 1};
        n.out_schema[0] = s_win;
        n.out_flags[0] = TIDE_CBATCH_OPS;
        if ((rc = tide_flow_add(f, &n, &n_ord, &e)))
            goto done;
        n = (tide_flow_node){.name = "count", .vt = &count_vt, .make = count_make, .parallelism = 1};
        if ((rc = tide_flow_add(f, &n, &n_cnt, &e)) ||
            (rc = tide_flow_connect(f, n_calc, 0, n_wa, P == 1 ? TIDE_FLOW_FORWARD : TIDE_FLOW_HASH, &key, 1,
                                    &e)) ||
            (rc = tide_flow_connect(f, n_wa, 0, n_ord, TIDE_FLOW_GATHER, NULL, 0, &e)) ||
            (rc = tide_flow_connect(f, n_ord, 0, n_cnt, TIDE_FLOW_FORWARD, NULL, 0, &e)))
            goto done;
    }
    double w0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    rc = tide_flow_run(f, &e);
    double wall = clock_s(CLOCK_MONOTONIC) - w0, cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
    if (rc)
        goto done;
    uint64_t k[TIDE_NODE_COUNTERS];
    tide_flow_counts(f, k);
    tide_sched_stats ss;
    tide_flow_sched_stats(f, &ss);
    printf("%-46s P=%u  %6.2f M ev/s wall  %6.2f s CPU (%.2f cores)  %6.2f M ev/s per core  "
           "(in %llu, out %llu, late %llu; %u workers idle %.0f%%, %llu quanta)\n",
           name, P, (double)events / wall / 1e6, cpu, cpu / wall, (double)events / cpu / 1e6,
           (unsigned long long)k[TIDE_NODE_IN], (unsigned long long)k[TIDE_NODE_OUT],
           (unsigned long long)k[TIDE_NODE_LATE], ss.workers,
           100.0 * (double)ss.idle_ns / 1e9 / (wall * (ss.workers ? ss.workers : 1)),
           (unsigned long long)ss.quanta);
    *per_core = (double)events / cpu / 1e6;
    *wall_rate = (double)events / wall / 1e6;
done:
    if (rc)
        fprintf(stderr, "%s: %s\n", name, e.msg);
    tide_flow_free(f);
    for (uint32_t i = 0; i < 3; i++)
        tide_expr_free(exprs[i]);
    tide_expr_free(where);
    tide_expr_free(dev);
    tide_expr_free(ios);
    tide_schema_free(s_src);
    tide_schema_free(s_calc);
    tide_schema_free(s_win);
    return rc ? 1 : 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts fig[0..n) (n > 0); its median. */
static double median(double *fig, int n)
{
    qsort(fig, (size_t)n, sizeof *fig, cmp_double);
    return n % 2 ? fig[n / 2] : (fig[n / 2 - 1] + fig[n / 2]) / 2;
}

int main(int argc, char **argv)
{
    uint64_t events = argc > 1 ? strtoull(argv[1], NULL, 10) : 10000000ull;
    uint32_t Ps[2] = {1, 0}, nP = 2;
    if (argc > 2) {
        Ps[0] = (uint32_t)strtoul(argv[2], NULL, 10);
        nP = 1;
    } else if (sysconf(_SC_NPROCESSORS_ONLN) <= 1) {
        nP = 1;
    }
    const char *cases = argc > 3 ? argv[3] : "abcde";
    int runs = argc > 4 ? atoi(argv[4]) : 1;
    if (runs < 1 || runs > 100)
        runs = 1;
    printf("%llu events, %ld cores online\n", (unsigned long long)events, sysconf(_SC_NPROCESSORS_ONLN));
    int rc = 0;
    for (uint32_t pi = 0; pi < nP; pi++) {
        uint32_t P = Ps[pi];
        if (P == 0) {
            long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
            P = ncpu > 0 ? (uint32_t)ncpu : 1;
        }
        for (const char *c = cases; *c; c++) {
            if (pi > 0 && *c == 'a')
                continue; /* stateless: no instances, P changes nothing */
            double fig[100], wall[100];
            int ok = 0;
            for (int r = 0; r < runs; r++) {
                int x = run_case(*c, events, P, &fig[ok], &wall[ok]);
                rc |= x;
                ok += x == 0;
            }
            if (runs > 1 && ok > 0) {
                double med = median(fig, ok), wmed = median(wall, ok);
                printf("%c median of %d runs: %6.2f M ev/s per core (%.2f .. %.2f)  %6.2f M ev/s wall "
                       "(%.2f .. %.2f)\n",
                       *c, ok, med, fig[0], fig[ok - 1], wmed, wall[0], wall[ok - 1]);
            }
        }
    }
    return rc;
}
