/*
 * bench_codec.c - CSV decode throughput on generated login data
 * (ts,user_id,country), the shape of DESIGN.md's 10M-row benchmark.
 *
 *   bench_codec [rows] [--jsonl]     default 10000000 rows, CSV
 *
 * Prints rows/s and MB/s for decoding an in-memory buffer into 1024-row
 * batches (text generation and I/O are not timed), then the same for
 * encoding.  A figure, not a test: nothing is asserted.
 */
#include "data/codec.h"
#include "data/timefmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rnd(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

int main(int argc, char **argv)
{
    long rows = 10000000;
    bool jsonl = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--jsonl") == 0)
            jsonl = true;
        else
            rows = atol(argv[i]);
    }
    tide_err e = {0};
    tide_schema *s = NULL;
    if (tide_schema_create(&s, &e) || tide_schema_add(s, "ts", TIDE_TYPE_TIMESTAMP, false, &e) ||
        tide_schema_add(s, "user_id", TIDE_TYPE_BIGINT, false, &e) ||
        tide_schema_add(s, "country", TIDE_TYPE_STRING, false, &e)) {
        fprintf(stderr, "schema: %s\n", e.msg);
        return 1;
    }
    static const char *countries[] = {"US", "FR", "DE", "JP", "BR", "IN", "GB", "CN", "NG", "MX"};
    tide_buf text = {0};
    if (tide_buf_reserve(&text, (size_t)rows * 40 + 64))
        return 1;
    if (!jsonl)
        tide_buf_append(&text, "ts,user_id,country\n", 19);
    uint64_t seed = 42;
    int64_t t = 1700000000000LL;
    for (long i = 0; i < rows; i++) {
        char ts[TIDE_TS_FORMAT_MAX];
        t += (int64_t)(rnd(&seed) % 20);
        tide_ts_format(t, ts);
        long uid = (long)(rnd(&seed) % 1000000);
        const char *c = countries[rnd(&seed) % 10];
        if (jsonl)
            tide_buf_printf(&text, "{\"ts\":\"%s\",\"user_id\":%ld,\"country\":\"%s\"}\n", ts, uid, c);
        else
            tide_buf_printf(&text, "%s,%ld,%s\n", ts, uid, c);
    }

    tide_decoder *d = NULL;
    tide_decode_opts o = {.format = jsonl ? TIDE_FORMAT_JSONL : TIDE_FORMAT_CSV, .source = "bench",
                          .header = !jsonl};
    tide_cbatch *b = NULL;
    if (tide_decoder_create(&d, s, &o, &e) || tide_cbatch_create(&b, s, 1024, 0, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    size_t pos = 0;
    long got = 0;
    int64_t check = 0;
    double t0 = now();
    for (;;) {
        int rc = tide_decoder_decode(d, (const char *)text.data, text.len, &pos, true, b, &e);
        if (rc < 0) {
            fprintf(stderr, "decode: %s\n", e.msg);
            return 1;
        }
        got += tide_cbatch_rows(b);
        if (tide_cbatch_rows(b))
            check += tide_cbatch_i64(b, 1, tide_cbatch_rows(b) - 1);
        tide_cbatch_reset(b);
        if (rc == 0)
            break;
    }
    double dt = now() - t0;
    printf("%s decode: %ld rows, %.1f MB in %.3f s: %.2f M rows/s, %.0f MB/s (check %lld)\n",
           jsonl ? "JSONL" : "CSV", got, (double)text.len / 1e6, dt, (double)got / dt / 1e6,
           (double)text.len / dt / 1e6, (long long)check);

    /* encode the same rows back (one batch at a time, buffer reused) */
    tide_encoder *enc = NULL;
    tide_encode_opts eo = {.format = o.format};
    if (tide_encoder_create(&enc, s, &eo, &e))
        return 1;
    tide_decoder_free(d);
    d = NULL;
    if (tide_decoder_create(&d, s, &o, &e))
        return 1;
    tide_buf out = {0};
    pos = 0;
    double enc_time = 0;
    size_t enc_bytes = 0;
    for (;;) {
        int rc = tide_decoder_decode(d, (const char *)text.data, text.len, &pos, true, b, &e);
        if (rc < 0)
            return 1;
        double t1 = now();
        tide_buf_reset(&out);
        if (tide_encoder_encode(enc, b, &out, &e))
            return 1;
        enc_time += now() - t1;
        enc_bytes += out.len;
        tide_cbatch_reset(b);
        if (rc == 0)
            break;
    }
    printf("%s encode: %ld rows, %.1f MB in %.3f s: %.2f M rows/s, %.0f MB/s\n", jsonl ? "JSONL" : "CSV", got,
           (double)enc_bytes / 1e6, enc_time, (double)got / enc_time / 1e6, (double)enc_bytes / enc_time / 1e6);
    tide_buf_free(&out);
    tide_encoder_free(enc);
    tide_decoder_free(d);
    tide_cbatch_free(b);
    tide_schema_free(s);
    tide_buf_free(&text);
    return 0;
}
