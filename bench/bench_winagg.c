/* bench_winagg - events/s of the windowed aggregation operator on one core.
 *
 *   bench_winagg [events [case]]   (default 20,000,000 events, all cases;
 *                                   case 1..5 runs one)
 *
 * Keys: 100k distinct 8-byte keys, uniformly random.  Records are pushed in
 * batches of 1024 (tide_winagg_push_batch, as the runtime will with column
 * batches) and the watermark (B = 0) advances after every batch.
 *   tumble COUNT(*)  TUMBLE(1 s), event time advancing so that a window
 *                    holds ~1M events (~10 per key), and a churn variant
 *                    with ~1 event per key per window (every event opens
 *                    a window)
 *   session COUNT(*) SESSION(gap 5 s), same pace
 *   hop COUNT(*)     HOP(250 ms, 1 s): 4 windows per event
 * Also the one-at-a-time tide_winagg_push for the first case.  Figures are
 * per CPU second (CLOCK_PROCESS_CPUTIME_ID), as the machines are shared. */
#include "exec/winagg.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define BATCH 1024

/* CPU time of this process: the machine is shared, so wall time is noisy. */
static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int count_rows(void *ctx, const tide_winagg_row *row)
{
    (void)row;
    ++*(uint64_t *)ctx;
    return 0;
}

/* Event i has time t0 + i / per_ms. */
static int run(const char *name, tide_win_spec w, uint64_t n, uint32_t nkeys, const uint64_t *keys,
               uint64_t per_ms, int batched)
{
    uint64_t rows = 0;
    tide_winagg_call count = {TIDE_AGG_COUNT_STAR, 0, TIDE_TYPE_NULL};
    tide_winagg_config cfg = {.window = w, .aggs = &count, .n_aggs = 1, .n_inputs = 0,
                              .mode = TIDE_TRIG_ACCUMULATING, .emit = count_rows, .ctx = &rows,
                              .capacity_hint = (size_t)nkeys * 2};
    tide_winagg *op;
    tide_err e = {0};
    if (tide_winagg_create(&cfg, &op, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    static const void *kp[BATCH];
    static uint32_t kl[BATCH];
    static int64_t ts[BATCH];
    const int64_t t0 = 1700000000000;
    double start = now_s();
    for (uint64_t i = 0; i < n; i += BATCH) {
        size_t m = n - i < BATCH ? (size_t)(n - i) : BATCH;
        for (size_t j = 0; j < m; j++) {
            kp[j] = &keys[(i + j) & ((1u << 22) - 1)];
            kl[j] = 8;
            ts[j] = t0 + (int64_t)((i + j) / per_ms);
        }
        if (batched) {
            if (tide_winagg_push_batch(op, m, kp, kl, ts, NULL, 0, &e))
                goto fail;
        } else {
            for (size_t j = 0; j < m; j++)
                if (tide_winagg_push(op, kp[j], kl[j], ts[j], NULL, 0, &e))
                    goto fail;
        }
        if (tide_winagg_advance_watermark(op, ts[m - 1], 0, &e))
            goto fail;
    }
    if (tide_winagg_advance_watermark(op, TIDE_TS_MAX, 0, &e))
        goto fail;
    double dt = now_s() - start;
    printf("%-44s %7.2f M events/s  (%llu events, %llu rows, %.2f s CPU)\n", name,
           (double)n / dt / 1e6, (unsigned long long)n, (unsigned long long)rows, dt);
    tide_winagg_free(op);
    return 0;
fail:
    fprintf(stderr, "%s: %s\n", name, e.msg);
    tide_winagg_free(op);
    return 1;
}

int main(int argc, char **argv)
{
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 20000000;
    uint32_t nkeys = 100000;
    uint64_t *keys = malloc(sizeof *keys * (1u << 22));
    if (!keys)
        return 1;
    uint64_t s = 88172645463325252ull;
    for (uint32_t i = 0; i < (1u << 22); i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        keys[i] = s % nkeys;
    }
    int rc = 0, only = argc > 2 ? atoi(argv[2]) : 0;
#define CASE(k) if (!only || only == (k))
    CASE(1) rc |= run("tumble 1s COUNT(*), 10 ev/key/window, batch", tide_win_tumble(1000), n, nkeys, keys,
              1000, 1);
    CASE(2) rc |= run("tumble 1s COUNT(*), 10 ev/key/window, single", tide_win_tumble(1000), n, nkeys,
              keys, 1000, 0);
    CASE(3) rc |= run("tumble 1s COUNT(*), 1 ev/key/window, batch", tide_win_tumble(1000), n, nkeys, keys,
              100, 1);
    CASE(4) rc |= run("session 5s COUNT(*), batch", tide_win_session(5000), n, nkeys, keys, 1000, 1);
    CASE(5) rc |= run("hop 250ms/1s COUNT(*), batch", tide_win_hop(250, 1000), n / 4, nkeys, keys, 1000, 1);
    free(keys);
    return rc;
}
