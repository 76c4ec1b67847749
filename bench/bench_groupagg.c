/* bench_groupagg - events/s of the unwindowed GROUP BY operator on one core.
 *
 *   bench_groupagg [events [flush_every]]   (default 10,000,000 events;
 *                                             mini-batch flush every 50,000)
 *
 * COUNT(*) per key over 100k distinct 8-byte keys, uniformly random,
 * insert-only input, records pushed in batches of 1024
 * (tide_groupagg_push_batch).  Cases:
 *   per-record   every event emits +I or -U/+U (2 rows per event once warm)
 *   mini-batch   flush every `flush_every` events: at most one -U/+U pair
 *                per changed key per flush
 *   retracting   per-record, input declared a changelog (retractable
 *                bindings), 1 event in 4 a -D of an earlier row
 * The emit callback only counts rows.  Figures are per CPU second
 * (CLOCK_PROCESS_CPUTIME_ID), as the machines are shared. */
#include "exec/groupagg.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define BATCH 1024
#define NKEYS 100000

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int count_rows(void *ctx, const tide_groupagg_row *row)
{
    (void)row;
    ++*(uint64_t *)ctx;
    return 0;
}

static uint64_t rng = 42;

static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static int run(const char *name, uint64_t n, const uint64_t *keys, bool mini, uint64_t flush_every,
               bool retract)
{
    uint64_t rows = 0;
    tide_groupagg_call count = {TIDE_AGG_COUNT_STAR, 0, TIDE_TYPE_NULL};
    tide_groupagg_config cfg = {.aggs = &count, .n_aggs = 1, .n_inputs = 0, .mini_batch = mini,
                                .retractions = retract, .emit = count_rows, .ctx = &rows,
                                .capacity_hint = NKEYS};
    tide_groupagg *op;
    tide_err e = {0};
    if (tide_groupagg_create(&cfg, &op, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    static const void *kp[BATCH];
    static uint32_t kl[BATCH];
    static tide_op ch[BATCH];
    /* per key: rows inserted minus deleted, so a -D always has a live row */
    static uint32_t livec[NKEYS];
    for (size_t i = 0; i < NKEYS; i++)
        livec[i] = 0;
    rng = 42;
    uint64_t since_flush = 0;
    double start = now_s();
    for (uint64_t i = 0; i < n; i += BATCH) {
        size_t m = n - i < BATCH ? (size_t)(n - i) : BATCH;
        for (size_t j = 0; j < m; j++) {
            uint32_t k = (uint32_t)(rnd() % NKEYS);
            kp[j] = &keys[k];
            kl[j] = 8;
            ch[j] = TIDE_OP_INSERT;
            if (retract && (rnd() & 3) == 0 && livec[k] > 0) {
                ch[j] = TIDE_OP_DELETE;
                livec[k]--;
            } else {
                livec[k]++;
            }
        }
        if (tide_groupagg_push_batch(op, m, kp, kl, ch, NULL, &e)) {
            fprintf(stderr, "%s\n", e.msg);
            tide_groupagg_free(op);
            return 1;
        }
        since_flush += m;
        if (mini && since_flush >= flush_every) {
            since_flush = 0;
            if (tide_groupagg_flush(op, &e)) {
                fprintf(stderr, "%s\n", e.msg);
                tide_groupagg_free(op);
                return 1;
            }
        }
    }
    if (tide_groupagg_flush(op, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        tide_groupagg_free(op);
        return 1;
    }
    double dt = now_s() - start;
    printf("%-12s %10.0f events/s  %6.1f ns/event  %.3f rows/event  (%zu keys)\n", name,
           (double)n / dt, dt * 1e9 / (double)n, (double)rows / (double)n,
           tide_groupagg_keys(op));
    tide_groupagg_free(op);
    return 0;
}

int main(int argc, char **argv)
{
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 10000000;
    uint64_t flush_every = argc > 2 ? strtoull(argv[2], NULL, 10) : 50000;
    static uint64_t keys[NKEYS];
    for (size_t i = 0; i < NKEYS; i++)
        keys[i] = i * 0x9e3779b97f4a7c15ull;
    int rc = 0;
    rc |= run("per-record", n, keys, false, 0, false);
    rc |= run("mini-batch", n, keys, true, flush_every, false);
    rc |= run("retracting", n, keys, false, 0, true);
    return rc;
}
