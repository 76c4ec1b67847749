/* bench_flow - bench_pipeline's keyed cases as one dataflow graph of nodes
 * (exec/flow.h), fed by the in-memory logins generator:
 *
 *   scan(gen) -> calc (SELECT user_id, ts) -> winagg[P] -> gather -> order -> count
 *
 * P = 1: the winagg instance is chained into the scan's task (a forward
 * edge); P > 1: a hash exchange on user_id.  The order node sorts each
 * watermark step's results by (window_end, window_start, user_id); the
 * counting sink is chained to it.
 *
 *   bench_flow [events [P [cases [runs]]]]  (default 10,000,000 events, P 1
 *                                    then the number of cores (P 0 means
 *                                    that), cases "bde", 1 run; with runs > 1
 *                                    each case also gets a line with the
 *                                    median and range of its per-core
 *                                    figures)
 *
 *   b  TUMBLE(1 h) COUNT(*) GROUP BY user_id, 100k users
 *   d  SESSION(5 min) COUNT(*) GROUP BY user_id, 100k users
 *   e  TUMBLE(1 day) COUNT(*) GROUP BY user_id, 100k users
 *
 * The same configuration as bench_pipeline's cases (one day of events, 5%
 * late by up to 5 s, B = 5 s, 4 * 4096 source rows per poll, channel
 * batches of 4096 rows, capacity hint 1024), so the figures compare.
 * Printed as bench_pipeline prints them: wall events/s, CPU seconds of the
 * process, events per CPU second ("per core"). */
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

static int run_case(char c, uint64_t events, uint32_t P, double *per_core)
{
    const char *name = c == 'b'   ? "b TUMBLE(1h) COUNT(*) by user"
                       : c == 'e' ? "e TUMBLE(1d) COUNT(*) by user"
                       : c == 'd' ? "d SESSION(5m) COUNT(*) by user"
                                  : NULL;
    if (!name)
        return 1;
    tide_err e = {0};
    int rc = 0;
    tide_flow *f = NULL;
    tide_schema *s_src = NULL, *s_calc = NULL, *s_win = NULL;
    tide_expr *exprs[2] = {NULL, NULL};

    tide_node_scan_cfg scan;
    tide_node_scan_cfg_init(&scan);
    scan.gen.events = events;
    scan.gen.users = 100000;
    scan.wm_bound = 5000;
    scan.batch_rows = 4 * 4096;
    /* the projection reads neither string column */
    scan.unread_cols = 1u << TIDE_NODE_SCAN_LOGINS_COUNTRY | 1u << TIDE_NODE_SCAN_LOGINS_DEVICE;
    tide_node_calc_cfg calc = {0};
    tide_node_winagg_cfg wa = {0};
    tide_node_order_cfg ord = {0};
    uint32_t key = 0, sort[3] = {2, 1, 0};
    tide_winagg_call agg = {TIDE_AGG_COUNT_STAR, 0, TIDE_TYPE_NULL};
    if ((rc = tide_node_scan_schema(&scan, 0, &s_src, &e)) || (rc = tide_schema_create(&s_calc, &e)) ||
        (rc = tide_schema_add(s_calc, "user_id", TIDE_TYPE_BIGINT, false, &e)) ||
        (rc = tide_schema_add(s_calc, "ts", TIDE_TYPE_TIMESTAMP, false, &e)) ||
        (rc = tide_schema_set_time_column(s_calc, 1, &e)) ||
        (rc = tide_expr_column(&exprs[0], s_src, TIDE_NODE_SCAN_LOGINS_USER_ID, &e)) ||
        (rc = tide_expr_column(&exprs[1], s_src, TIDE_NODE_SCAN_LOGINS_TS, &e)))
        goto done;
    calc = (tide_node_calc_cfg){.in = s_src, .out = s_calc, .n_exprs = 2, .exprs = exprs};
    wa = (tide_node_winagg_cfg){.in = s_calc,
                                .key_cols = &key,
                                .n_keys = 1,
                                .time_col = 1,
                                .aggs = &agg,
                                .n_aggs = 1,
                                .window = c == 'b'   ? tide_win_tumble(3600000)
                                          : c == 'e' ? tide_win_tumble(86400000)
                                                     : tide_win_session(300000),
                                .mode = TIDE_TRIG_ACCUMULATING,
                                .capacity_hint = 1024};
    if ((rc = tide_node_winagg_schema(&wa, 0, &s_win, &e)))
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
    if ((rc = tide_flow_add(f, &n, &n_calc, &e)))
        goto done;
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
        (rc = tide_flow_connect(f, n_scan, 0, n_calc, TIDE_FLOW_FORWARD, NULL, 0, &e)) ||
        (rc = tide_flow_connect(f, n_calc, 0, n_wa, P == 1 ? TIDE_FLOW_FORWARD : TIDE_FLOW_HASH, &key, 1, &e)) ||
        (rc = tide_flow_connect(f, n_wa, 0, n_ord, TIDE_FLOW_GATHER, NULL, 0, &e)) ||
        (rc = tide_flow_connect(f, n_ord, 0, n_cnt, TIDE_FLOW_FORWARD, NULL, 0, &e)))
        goto done;
    double w0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    rc = tide_flow_run(f, &e);
    double wall = clock_s(CLOCK_MONOTONIC) - w0, cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
    if (rc)
        goto done;
    uint64_t k[TIDE_NODE_COUNTERS];
    tide_flow_counts(f, k);
    printf("%-46s P=%u  %6.2f M ev/s wall  %6.2f s CPU (%.2f cores)  %6.2f M ev/s per core  "
           "(in %llu, out %llu, late %llu)\n",
           name, P, (double)events / wall / 1e6, cpu, cpu / wall, (double)events / cpu / 1e6,
           (unsigned long long)k[TIDE_NODE_IN], (unsigned long long)k[TIDE_NODE_OUT],
           (unsigned long long)k[TIDE_NODE_LATE]);
    *per_core = (double)events / cpu / 1e6;
done:
    if (rc)
        fprintf(stderr, "%s: %s\n", name, e.msg);
    tide_flow_free(f);
    tide_expr_free(exprs[0]);
    tide_expr_free(exprs[1]);
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
    const char *cases = argc > 3 ? argv[3] : "bde";
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
                printf("%c median of %d runs: %6.2f M ev/s per core (%.2f .. %.2f)\n", *c, ok, med, fig[0],
                       fig[ok - 1]);
            }
        }
    }
    return rc;
}
