/*
 * bench_crc.c - CRC-32C throughput, dispatched (hardware when present) and
 * portable, over buffers of 64 B, 4 KiB, 64 KiB and 1 MiB.
 *
 *   bench_crc [-s SECONDS_PER_CASE]   (default 0.3)
 *
 * Each case checksums the same warm buffer repeatedly for about the given
 * time and prints GB/s (1e9 bytes per second).
 */
#include "base/crc32c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef uint32_t (*crc_fn)(uint32_t, const void *, size_t);

static volatile uint32_t sink;

static double gbps(crc_fn f, const unsigned char *buf, size_t len, double secs)
{
    uint64_t iters = 0, batch = 1 + (1u << 20) / len;
    uint32_t c = 0;
    double t0 = now_s(), t1;
    do {
        for (uint64_t i = 0; i < batch; i++)
            c = f(c, buf, len);
        iters += batch;
        t1 = now_s();
    } while (t1 - t0 < secs);
    sink = c;
    return (double)iters * (double)len / (t1 - t0) / 1e9;
}

int main(int argc, char **argv)
{
    double secs = 0.3;
    if (argc == 3 && strcmp(argv[1], "-s") == 0)
        secs = atof(argv[2]);
    else if (argc != 1) {
        fprintf(stderr, "usage: bench_crc [-s SECONDS_PER_CASE]\n");
        return 2;
    }
    static const size_t sizes[] = {64, 4096, 65536, 1u << 20};
    size_t max = 1u << 20;
    unsigned char *buf = malloc(max);
    if (!buf) {
        fprintf(stderr, "bench_crc: out of memory\n");
        return 1;
    }
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < max; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        buf[i] = (unsigned char)x;
    }
    printf("%10s %12s %12s\n", "bytes", "crc GB/s", "sw GB/s");
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        double hw = gbps(tide_crc32c, buf, sizes[i], secs);
        double sw = gbps(tide_crc32c_sw, buf, sizes[i], secs);
        printf("%10zu %12.2f %12.2f\n", sizes[i], hw, sw);
    }
    free(buf);
    return 0;
}
