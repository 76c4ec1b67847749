/*
 * bench_expr.c - vectorised expression throughput: rows/s of
 *   SELECT ts, user_id * 2 FROM t WHERE user_id % 10 = 3 AND country = 'DE'
 * (filter + project into an output batch) over generated 1024-row batches,
 * plus a few single expressions for scale.  One thread; times are the
 * thread's CPU time.
 *
 *   bench_expr [rows]      default 50000000
 */
#include "exec/expr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH 1024
#define NBATCH 64 /* distinct input batches, cycled (64K rows: cache-resident inputs are not the point) */

/* Thread CPU time, not wall time: the bench machine is shared, and a busy
 * neighbour should not halve the figure (it still costs cache and SMT). */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t rng(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

#define CHECK(x)                                                                 \
    do {                                                                         \
        if ((x) != 0) {                                                          \
            fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #x, e.msg);   \
            exit(1);                                                             \
        }                                                                        \
    } while (0)

static tide_err e;

static tide_expr *col(const tide_schema *s, uint32_t i)
{
    tide_expr *x;
    CHECK(tide_expr_column(&x, s, i, &e));
    return x;
}
static tide_expr *i64(int64_t v)
{
    tide_expr *x;
    CHECK(tide_expr_literal_i64(&x, v, &e));
    return x;
}
static tide_expr *str(const char *v)
{
    tide_expr *x;
    CHECK(tide_expr_literal_str(&x, v, strlen(v), &e));
    return x;
}

/* Time one expression evaluated over all rows (no output batch). */
static void bench_one(const char *name, tide_expr *x, tide_cbatch **in, uint64_t rows)
{
    const tide_expr_vec *v;
    uint64_t done = 0, sink = 0;
    double t0 = now_s();
    for (uint64_t k = 0; done < rows; k++) {
        CHECK(tide_expr_eval(x, in[k % NBATCH], NULL, 0, &v, &e));
        sink += v->nulls[k % BATCH];
        done += BATCH;
    }
    double dt = now_s() - t0;
    printf("  %-44s %8.1f M rows/s  (%.2f ns/row)%s\n", name, done / dt / 1e6, dt * 1e9 / done, sink == 42 ? " " : "");
    tide_expr_free(x);
}

int main(int argc, char **argv)
{
    uint64_t rows = argc > 1 ? strtoull(argv[1], NULL, 10) : 50000000ull;
    tide_schema *s, *os;
    CHECK(tide_schema_create(&s, &e));
    CHECK(tide_schema_add(s, "ts", TIDE_TYPE_TIMESTAMP, false, &e));
    CHECK(tide_schema_add(s, "user_id", TIDE_TYPE_BIGINT, true, &e));
    CHECK(tide_schema_add(s, "country", TIDE_TYPE_STRING, true, &e));
    CHECK(tide_schema_create(&os, &e));
    CHECK(tide_schema_add(os, "ts", TIDE_TYPE_TIMESTAMP, false, &e));
    CHECK(tide_schema_add(os, "x", TIDE_TYPE_BIGINT, true, &e));

    static const char *const countries[] = {"DE", "FR", "US", "GB", "NL", "IT", "ES", "PL"};
    tide_cbatch *in[NBATCH], *out;
    uint64_t seed = 1;
    int64_t ts = 1700000000000LL;
    for (int b = 0; b < NBATCH; b++) {
        CHECK(tide_cbatch_create(&in[b], s, BATCH, 0, &e));
        for (uint32_t i = 0; i < BATCH; i++) {
            uint32_t r = 0;
            tide_cbatch_add_row(in[b], &r);
            ts += (int64_t)(rng(&seed) % 50);
            tide_cbatch_set_i64(in[b], 0, r, ts);
            if (rng(&seed) % 100)
                tide_cbatch_set_i64(in[b], 1, r, (int64_t)(rng(&seed) % 1000000));
            const char *c = countries[rng(&seed) % 8];
            CHECK(tide_cbatch_set_str(in[b], 2, r, c, strlen(c), &e));
        }
    }
    CHECK(tide_cbatch_create(&out, os, BATCH, 0, &e));

    /* WHERE user_id % 10 = 3 AND country = 'DE' */
    tide_expr *m, *eq1, *eq2, *pred, *proj[2];
    CHECK(tide_expr_arith(&m, TIDE_EXPR_MOD, col(s, 1), i64(10), &e));
    CHECK(tide_expr_compare(&eq1, TIDE_EXPR_EQ, m, i64(3), &e));
    CHECK(tide_expr_compare(&eq2, TIDE_EXPR_EQ, col(s, 2), str("DE"), &e));
    CHECK(tide_expr_logic(&pred, TIDE_EXPR_AND, eq1, eq2, &e));
    /* SELECT ts, user_id * 2 */
    proj[0] = col(s, 0);
    CHECK(tide_expr_arith(&proj[1], TIDE_EXPR_MUL, col(s, 1), i64(2), &e));

    uint32_t sel[BATCH], n;
    uint64_t done = 0, kept = 0;
    double t0 = now_s();
    for (uint64_t k = 0; done < rows; k++) {
        tide_cbatch *b = in[k % NBATCH];
        CHECK(tide_expr_filter(pred, b, sel, &n, &e));
        tide_cbatch_reset(out);
        CHECK(tide_expr_project(proj, 2, b, sel, n, out, &e));
        kept += tide_cbatch_rows(out);
        done += BATCH;
    }
    double dt = now_s() - t0;
    printf("filter + project (WHERE user_id %% 10 = 3 AND country = 'DE'; SELECT ts, user_id * 2):\n");
    printf("  %llu rows in %.3f s CPU: %.1f M rows/s (%.2f ns/row), %llu rows kept (%.2f%%)\n",
           (unsigned long long)done, dt, done / dt / 1e6, dt * 1e9 / done, (unsigned long long)kept,
           100.0 * kept / done);

    /* the same projection of every row (selectivity 100%) */
    done = 0;
    t0 = now_s();
    for (uint64_t k = 0; done < rows; k++) {
        tide_cbatch_reset(out);
        CHECK(tide_expr_project(proj, 2, in[k % NBATCH], NULL, 0, out, &e));
        done += BATCH;
    }
    dt = now_s() - t0;
    printf("project only, every row:       %.1f M rows/s\n", done / dt / 1e6);
    tide_expr_free(pred);
    tide_expr_free(proj[0]);
    tide_expr_free(proj[1]);

    printf("single expressions (eval only):\n");
    tide_expr *x;
    CHECK(tide_expr_arith(&x, TIDE_EXPR_MUL, col(s, 1), i64(2), &e));
    bench_one("user_id * 2", x, in, rows);
    CHECK(tide_expr_arith(&x, TIDE_EXPR_MOD, col(s, 1), i64(10), &e));
    bench_one("user_id % 10", x, in, rows);
    CHECK(tide_expr_compare(&x, TIDE_EXPR_EQ, col(s, 2), str("DE"), &e));
    bench_one("country = 'DE'", x, in, rows);
    CHECK(tide_expr_like(&x, col(s, 2), str("%E%"), -1, false, &e));
    bench_one("country LIKE '%E%'", x, in, rows);
    CHECK(tide_expr_like(&x, col(s, 2), str("_E%"), -1, false, &e));
    bench_one("country LIKE '_E%' (general matcher)", x, in, rows / 4);
    tide_expr *items[3] = {str("DE"), str("FR"), str("NL")};
    CHECK(tide_expr_in(&x, col(s, 2), items, 3, false, &e));
    bench_one("country IN ('DE', 'FR', 'NL')", x, in, rows / 4);
    CHECK(tide_expr_floor(&x, col(s, 0), TIDE_TS_UNIT_HOUR, false, &e));
    bench_one("FLOOR(ts TO HOUR)", x, in, rows / 4);
    CHECK(tide_expr_floor(&x, col(s, 0), TIDE_TS_UNIT_MONTH, false, &e));
    bench_one("FLOOR(ts TO MONTH)", x, in, rows / 4);
    CHECK(tide_expr_cast(&x, col(s, 0), TIDE_TYPE_STRING, false, &e));
    bench_one("CAST(ts AS STRING)", x, in, rows / 10);
    CHECK(tide_expr_cast(&x, col(s, 1), TIDE_TYPE_STRING, false, &e));
    bench_one("CAST(user_id AS STRING)", x, in, rows / 10);
    tide_expr *cs;
    CHECK(tide_expr_cast(&cs, col(s, 1), TIDE_TYPE_STRING, false, &e));
    CHECK(tide_expr_cast(&x, cs, TIDE_TYPE_BIGINT, false, &e));
    bench_one("CAST(CAST(user_id AS STRING) AS BIGINT)", x, in, rows / 10);
    CHECK(tide_expr_date_format(&x, col(s, 0), str("yyyy-MM-dd HH:mm"), &e));
    bench_one("DATE_FORMAT(ts, 'yyyy-MM-dd HH:mm')", x, in, rows / 10);

    for (int b = 0; b < NBATCH; b++)
        tide_cbatch_free(in[b]);
    tide_cbatch_free(out);
    tide_schema_free(s);
    tide_schema_free(os);
    return 0;
}
