/*
 * bench_gen.c - throughput of the logins generator (events/s on one core)
 * into columns, and of its CSV form.
 *
 *   bench_gen [events] [users]      defaults: 50000000 1000000
 */
#include "connect/gen_logins.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int run(const char *label, tide_gen_logins_cfg *cfg)
{
    enum { CHUNK = 4096 };
    static int64_t ts[CHUNK], user[CHUNK];
    static uint8_t country[CHUNK], device[CHUNK];
    tide_gen_logins_cols cols = {ts, user, country, device, CHUNK};
    tide_gen_logins *g = NULL;
    tide_err e = {0};
    if (tide_gen_logins_create(&g, cfg, &e) != 0) {
        fprintf(stderr, "bench_gen: %s\n", e.msg);
        return 1;
    }
    uint64_t check = 0, total = 0;
    double t0 = now_s(), c0 = cpu_s();
    while (!tide_gen_logins_done(g)) {
        size_t n;
        if (tide_gen_logins_next(g, &cols, CHUNK, 0, &n, &e) != 0) {
            fprintf(stderr, "bench_gen: %s\n", e.msg);
            return 1;
        }
        for (size_t i = 0; i < n; i++) /* touch the output */
            check += (uint64_t)ts[i] ^ (uint64_t)user[i] ^ country[i] ^ device[i];
        total += n;
    }
    double dt = now_s() - t0, dc = cpu_s() - c0;
    printf("%-32s %11llu events in %.3f s: %6.1f M events/s wall, %6.1f M/s per CPU-second "
           "(checksum %llx)\n",
           label, (unsigned long long)total, dt, total / dt / 1e6, total / dc / 1e6,
           (unsigned long long)check);
    tide_gen_logins_free(g);
    return 0;
}

int main(int argc, char **argv)
{
    tide_gen_logins_cfg cfg;
    tide_gen_logins_cfg_default(&cfg);
    cfg.events = argc > 1 ? strtoull(argv[1], NULL, 10) : 50000000ull;
    cfg.users = argc > 2 ? strtoull(argv[2], NULL, 10) : 1000000ull;
    int rc = 0;

    cfg.late_share = 0;
    rc |= run("columns, in order", &cfg);
    cfg.late_share = 0.05;
    cfg.max_delay_ms = 5000;
    rc |= run("columns, 5% late <= 5 s", &cfg);
    cfg.daily_amplitude = 0.6;
    rc |= run("columns, 5% late, daily cycle", &cfg);

    /* CSV text (a tenth of the events). */
    tide_gen_logins *g = NULL;
    tide_err e = {0};
    tide_gen_logins_cfg c = cfg;
    c.events = cfg.events / 10;
    if (tide_gen_logins_create(&g, &c, &e) != 0)
        return 1;
    tide_buf b = {0};
    uint64_t bytes = 0, total = 0;
    double t0 = now_s();
    while (!tide_gen_logins_done(g)) {
        size_t n;
        if (tide_gen_logins_csv(g, &b, 65536, 0, &n, &e) != 0)
            return 1;
        bytes += b.len;
        total += n;
        tide_buf_reset(&b);
    }
    double dt = now_s() - t0;
    printf("%-34s %12llu events in %.3f s: %7.1f M events/s, %.0f MB/s\n", "CSV text",
           (unsigned long long)total, dt, total / dt / 1e6, bytes / dt / 1e6);
    tide_buf_free(&b);
    tide_gen_logins_free(g);
    return rc;
}
