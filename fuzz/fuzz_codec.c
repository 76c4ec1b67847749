/* libFuzzer target for data/codec: decode any bytes as CSV and as JSON Lines
 * into small batches of a schema with every type.  Every record must end up
 * either as a row or as a dead letter; rows must survive an encode/decode
 * round trip unchanged. */
#include "data/codec.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void count_dead(void *ctx, const tide_dead_letter *dl)
{
    if (!dl->reason || !dl->reason[0] || dl->line == 0)
        abort();
    ++*(uint64_t *)ctx;
}

/* Strict UTF-8 (no overlongs, surrogates or code points past U+10FFFF). */
static bool utf8_valid(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = p[i];
        size_t len;
        unsigned cp, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            len = 2, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3, cp = c & 0x0F, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4, cp = c & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if (i + len > n)
            return false;
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xC0) != 0x80)
                return false;
            cp = cp << 6 | (p[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += len;
    }
    return true;
}

/* JSON output replaces invalid UTF-8 with U+FFFD, so it round-trips only
 * valid text; CSV is byte-transparent. */
static void roundtrip(const tide_schema *s, tide_format fmt, const tide_cbatch *b)
{
    tide_err e = {0};
    for (uint32_t r = 0; r < tide_cbatch_rows(b); r++) {
        tide_str str = tide_cbatch_str(b, 2, r);
        if (fmt == TIDE_FORMAT_JSONL && !tide_cbatch_is_null(b, 2, r) &&
            !utf8_valid((const unsigned char *)str.ptr, str.len))
            return;
    }
    tide_encoder *enc = NULL;
    tide_encode_opts eo = {.format = fmt};
    tide_buf out = {0};
    tide_decoder *d = NULL;
    tide_decode_opts o = {.format = fmt, .source = "rt"};
    tide_cbatch *back = NULL;
    if (tide_encoder_create(&enc, s, &eo, &e) || tide_encoder_encode(enc, b, &out, &e) ||
        tide_decoder_create(&d, s, &o, &e) || tide_cbatch_create(&back, s, tide_cbatch_capacity(b), 0, &e))
        abort();
    size_t pos = 0;
    int rc = tide_decoder_decode(d, (const char *)out.data, out.len, &pos, true, back, &e);
    tide_decode_stats st;
    tide_decoder_stats(d, &st);
    if ((rc != 0 && rc != 1) || st.dead || tide_cbatch_rows(back) != tide_cbatch_rows(b))
        abort();
    for (uint32_t r = 0; r < tide_cbatch_rows(b); r++)
        if (!tide_cbatch_row_equal(b, r, back, r))
            abort();
    tide_cbatch_free(back);
    tide_decoder_free(d);
    tide_buf_free(&out);
    tide_encoder_free(enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tide_err e = {0};
    tide_schema *s = NULL;
    if (tide_schema_create(&s, &e) || tide_schema_add(s, "ts", TIDE_TYPE_TIMESTAMP, true, &e) ||
        tide_schema_add(s, "n", TIDE_TYPE_BIGINT, true, &e) || tide_schema_add(s, "s", TIDE_TYPE_STRING, true, &e) ||
        tide_schema_add(s, "b", TIDE_TYPE_BOOLEAN, true, &e) || tide_schema_add(s, "d", TIDE_TYPE_DOUBLE, true, &e))
        abort();
    for (int f = 0; f < 2; f++) {
        tide_format fmt = f ? TIDE_FORMAT_JSONL : TIDE_FORMAT_CSV;
        uint64_t dead = 0;
        tide_decoder *d = NULL;
        tide_decode_opts o = {.format = fmt, .source = "fuzz", .on_dead = count_dead, .ctx = &dead};
        tide_cbatch *b = NULL;
        if (tide_decoder_create(&d, s, &o, &e) || tide_cbatch_create(&b, s, 7, 0, &e))
            abort();
        size_t pos = 0;
        uint64_t rows = 0;
        for (;;) {
            int rc = tide_decoder_decode(d, (const char *)data, size, &pos, true, b, &e);
            if (rc < 0)
                abort();
            rows += tide_cbatch_rows(b);
            roundtrip(s, TIDE_FORMAT_CSV, b);
            roundtrip(s, TIDE_FORMAT_JSONL, b);
            tide_cbatch_reset(b);
            if (rc == 0)
                break;
        }
        tide_decode_stats st;
        tide_decoder_stats(d, &st);
        if (st.rows != rows || st.dead != dead || st.records != st.rows + st.dead)
            abort();
        tide_cbatch_free(b);
        tide_decoder_free(d);
    }
    tide_schema_free(s);
    return 0;
}
