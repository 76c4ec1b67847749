/* bench_state - keyed state and aggregate throughput.
 *
 *   bench_state [ops_millions]     (default 20)
 *
 * Prints operations per second for:
 *   - find-or-insert + increment over 100k distinct 8-byte keys (the inner
 *     loop of a tumbling COUNT per key): u64 fast path, byte-key path, and
 *     through the aggregate interface (tide_agg_step_i64 on the slot);
 *   - COUNT(DISTINCT x) steps (BIGINT and STRING), APPROX_COUNT_DISTINCT
 *     steps, retractable MIN steps;
 *   - the worst single insert while a table grows to 4M entries (the full
 *     rehash pause) and the cost of clear.
 * Single-threaded.  Key streams come from a xorshift generator inline, so
 * the figures include ~1 ns per op of key generation.
 */
#include "base/clock.h"
#include "exec/agg.h"
#include "state/table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <time.h>

static const tide_clock *clk;

static double now_s(void)
{
    return (double)tide_clock_mono_ns(clk) / 1e9;
}

/* CPU time of this thread: the machine is shared, so wall time alone
 * under-reports what a core can do. */
static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double g_cpu0;

static uint64_t xs(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

#define CHECK(expr)                                                                                \
    do {                                                                                           \
        if ((expr) != 0) {                                                                         \
            fprintf(stderr, "bench_state: %s failed: %s\n", #expr, e.msg);                         \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

/* Call start() before a measured loop; report() prints wall and CPU rates. */
static double start(void)
{
    g_cpu0 = cpu_s();
    return now_s();
}

static void report(const char *what, uint64_t ops, double wall)
{
    double cpu = cpu_s() - g_cpu0;
    printf("%-60s %6.1f M/s wall %6.1f M/s cpu (%.1f ns/op cpu)\n", what, (double)ops / wall / 1e6,
           (double)ops / cpu / 1e6, cpu / (double)ops * 1e9);
}

enum { BATCH = 1024, AHEAD = 8 };

int main(int argc, char **argv)
{
    clk = tide_clock_system();
    uint64_t ops = (uint64_t)((argc > 1 ? atof(argv[1]) : 20) * 1e6) / BATCH * BATCH;
    tide_err e = {0};
    enum { NKEYS = 100000 };
    uint64_t *keys = malloc(NKEYS * sizeof *keys);
    uint64_t s = 88172645463325252ull;
    for (int i = 0; i < NKEYS; i++)
        keys[i] = xs(&s);
    /* The input: a stream of keys drawn uniformly from the 100k, read
     * sequentially like a batch's key column (generated before timing). */
    enum { STREAM = 1 << 20 };
    uint64_t *stream = malloc(STREAM * sizeof *stream);
    for (int i = 0; i < STREAM; i++)
        stream[i] = keys[xs(&s) % NKEYS];

    /* 1. u64 fast path: upsert + increment */
    {
        tide_table *t;
        CHECK(tide_table_create(&t, TIDE_TABLE_KEY_U64, 8, NKEYS, &e));
        double t0 = start();
        for (uint64_t i = 0; i < ops; i++) {
            void *v;
            CHECK(tide_table_upsert_u64(t, stream[i & (STREAM - 1)], &v, NULL, &e));
            ++*(int64_t *)v;
        }
        double t1 = now_s();
        report("table upsert_u64 + increment, 100k keys", ops, t1 - t0);
        /* the same work in batches, prefetching AHEAD rows ahead */
        tide_table_clear(t);
        t0 = start();
        for (uint64_t i = 0; i < ops; i += BATCH) {
            const uint64_t *batch = &stream[i & (STREAM - 1)];
            for (int j = 0; j < BATCH; j++) {
                if (j + AHEAD < BATCH)
                    tide_table_prefetch_u64(t, batch[j + AHEAD]);
                void *v;
                CHECK(tide_table_upsert_u64(t, batch[j], &v, NULL, &e));
                ++*(int64_t *)v;
            }
        }
        t1 = now_s();
        report("  same, batches of 1024 with prefetch", ops, t1 - t0);
        int64_t sum = 0;
        tide_table_iter it = {0};
        tide_table_entry ent;
        while (tide_table_next(t, &it, &ent))
            sum += *(int64_t *)ent.value;
        if ((uint64_t)sum != ops || tide_table_count(t) > NKEYS)
            return fprintf(stderr, "bench_state: wrong total\n"), 1;
        printf("    %zu entries, %zu bytes (%.1f bytes/entry)\n", tide_table_count(t),
               tide_table_memory(t), (double)tide_table_memory(t) / (double)tide_table_count(t));
        tide_table_free(t);
    }
    /* 2. the same keys as 8-byte strings in a byte-key table */
    {
        tide_table *t;
        CHECK(tide_table_create(&t, TIDE_TABLE_KEY_BYTES, 8, NKEYS, &e));
        double t0 = start();
        for (uint64_t i = 0; i < ops; i++) {
            void *v;
            CHECK(tide_table_upsert(t, &stream[i & (STREAM - 1)], 8, &v, NULL, &e));
            ++*(int64_t *)v;
        }
        report("table upsert (byte keys, 8 bytes) + increment, 100k keys", ops, now_s() - t0);
        tide_table_clear(t);
        t0 = start();
        for (uint64_t i = 0; i < ops; i += BATCH) {
            const uint64_t *batch = &stream[i & (STREAM - 1)];
            for (int j = 0; j < BATCH; j++) {
                if (j + AHEAD < BATCH)
                    tide_table_prefetch(t, &batch[j + AHEAD], 8);
                void *v;
                CHECK(tide_table_upsert(t, &batch[j], 8, &v, NULL, &e));
                ++*(int64_t *)v;
            }
        }
        report("  same, batches of 1024 with prefetch", ops, now_s() - t0);
        printf("    %zu entries, %zu bytes (%.1f bytes/entry)\n", tide_table_count(t),
               tide_table_memory(t), (double)tide_table_memory(t) / (double)tide_table_count(t));
        tide_table_free(t);
    }
    /* 3. tumbling COUNT(*) + SUM(x) per key through the aggregate interface */
    {
        tide_agg cnt, sum;
        CHECK(tide_agg_bind(&cnt, "COUNT", 5, true, false, TIDE_TYPE_NULL, 0, &e));
        CHECK(tide_agg_bind(&sum, "SUM", 3, false, false, TIDE_TYPE_BIGINT, 0, &e));
        tide_table *t;
        CHECK(
            tide_table_create(&t, TIDE_TABLE_KEY_U64, cnt.state_size + sum.state_size, NKEYS, &e));
        double t0 = start();
        for (uint64_t i = 0; i < ops; i += BATCH) {
            const uint64_t *batch = &stream[i & (STREAM - 1)];
            const uint64_t *xv = &stream[(i + STREAM / 2) & (STREAM - 1)];
            for (int j = 0; j < BATCH; j++) {
                if (j + AHEAD < BATCH)
                    tide_table_prefetch_u64(t, batch[j + AHEAD]);
                void *v;
                bool is_new;
                CHECK(tide_table_upsert_u64(t, batch[j], &v, &is_new, &e));
                unsigned char *slot = v;
                if (is_new) {
                    tide_agg_init(&cnt, slot);
                    tide_agg_init(&sum, slot + cnt.state_size);
                }
                CHECK(tide_agg_step_i64(&cnt, slot, 0, &e));
                CHECK(tide_agg_step_i64(&sum, slot + cnt.state_size, (int64_t)(xv[j] >> 40), &e));
            }
        }
        report("upsert_u64 + COUNT(*) + SUM(BIGINT), batched+prefetch", ops, now_s() - t0);
        tide_table_free(t);
    }
    /* 4. COUNT(DISTINCT x): 1000 groups, values from a domain of 1M */
    {
        enum { G = 1000 };
        tide_agg cd;
        CHECK(tide_agg_bind(&cd, "COUNT", 5, false, true, TIDE_TYPE_BIGINT, 0, &e));
        unsigned char(*st)[TIDE_AGG_STATE_MAX] = calloc(G, TIDE_AGG_STATE_MAX);
        for (int g = 0; g < G; g++)
            tide_agg_init(&cd, st[g]);
        uint64_t n = ops / 2;
        double t0 = start();
        for (uint64_t i = 0; i < n; i++) {
            uint64_t r = xs(&s);
            CHECK(tide_agg_step_i64(&cd, st[r % G], (int64_t)((r >> 20) % 1000000), &e));
        }
        report("COUNT(DISTINCT BIGINT) steps, 1000 groups, 1M values", n, now_s() - t0);
        tide_value res;
        CHECK(tide_agg_result(&cd, st[0], &res, &e));
        printf("    group 0: %lld distinct\n", (long long)res.u.i64);
        for (int g = 0; g < G; g++)
            tide_agg_free(&cd, st[g]);

        tide_agg cs;
        CHECK(tide_agg_bind(&cs, "COUNT", 5, false, true, TIDE_TYPE_STRING, 0, &e));
        for (int g = 0; g < G; g++)
            tide_agg_init(&cs, st[g]);
        char buf[32];
        t0 = start();
        for (uint64_t i = 0; i < n; i++) {
            uint64_t r = xs(&s);
            int len =
                snprintf(buf, sizeof buf, "user-%llu", (unsigned long long)((r >> 20) % 1000000));
            tide_value v = {.type = TIDE_TYPE_STRING, .u.s = {buf, (uint32_t)len}};
            CHECK(tide_agg_step(&cs, st[r % G], &v, &e));
        }
        report("COUNT(DISTINCT STRING) steps (incl. snprintf), 1000 groups", n, now_s() - t0);
        for (int g = 0; g < G; g++)
            tide_agg_free(&cs, st[g]);

        /* one big group: 10M steps over 1M distinct values */
        tide_agg_init(&cd, st[0]);
        t0 = start();
        for (uint64_t i = 0; i < n; i++)
            CHECK(tide_agg_step_i64(&cd, st[0], (int64_t)(xs(&s) % 1000000), &e));
        report("COUNT(DISTINCT BIGINT) steps, 1 group, 1M values", n, now_s() - t0);
        tide_agg_free(&cd, st[0]);

        tide_agg hll;
        CHECK(tide_agg_bind(&hll, "APPROX_COUNT_DISTINCT", 21, false, false, TIDE_TYPE_BIGINT, 0,
                            &e));
        tide_agg_init(&hll, st[0]);
        t0 = start();
        for (uint64_t i = 0; i < n; i++)
            CHECK(tide_agg_step_i64(&hll, st[0], (int64_t)xs(&s), &e));
        report("APPROX_COUNT_DISTINCT(BIGINT) steps, 1 group", n, now_s() - t0);
        tide_agg_free(&hll, st[0]);

        /* retractable MIN over a sliding window of 1000 values */
        tide_agg mn;
        CHECK(
            tide_agg_bind(&mn, "MIN", 3, false, false, TIDE_TYPE_BIGINT, TIDE_AGG_RETRACTABLE, &e));
        tide_agg_init(&mn, st[0]);
        enum { W = 1000 };
        static int64_t win[W];
        t0 = start();
        for (uint64_t i = 0; i < n / 2; i++) {
            int64_t x = (int64_t)(xs(&s) % 100000);
            if (i >= W)
                CHECK(tide_agg_retract_i64(&mn, st[0], win[i % W], &e));
            win[i % W] = x;
            CHECK(tide_agg_step_i64(&mn, st[0], x, &e));
        }
        report("MIN retractable: step + retract pairs, window 1000", n / 2, now_s() - t0);
        tide_agg_free(&mn, st[0]);
        free(st);
    }
    /* 5. growth pauses and clear */
    {
        tide_table *t;
        CHECK(tide_table_create(&t, TIDE_TABLE_KEY_U64, 8, 0, &e));
        const uint64_t n = 4000000;
        double worst = 0, t0 = now_s();
        uint64_t worst_at = 0;
        for (uint64_t i = 0; i < n; i++) {
            double a = now_s();
            void *v;
            CHECK(tide_table_upsert_u64(t, xs(&s), &v, NULL, &e));
            double d = now_s() - a;
            if (d > worst)
                worst = d, worst_at = i;
        }
        double total = now_s() - t0;
        printf("%-58s %7.1f ms at entry %llu (%.1f ns/op overall incl. timing)\n",
               "grow to 4M u64 entries: worst single insert (rehash)", worst * 1e3,
               (unsigned long long)worst_at, total / (double)n * 1e9);
        t0 = start();
        tide_table_clear(t);
        printf("%-58s %7.1f ms (%zu bytes kept)\n", "clear of that table", (now_s() - t0) * 1e3,
               tide_table_memory(t));
        tide_table_free(t);
    }
    free(keys);
    free(stream);
    return 0;
}
