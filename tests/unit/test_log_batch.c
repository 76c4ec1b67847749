/* test_log_batch.c - record batch encoding, validation and iteration. */
#include "tt.h"

#include "base/bytes.h"
#include "base/crc32c.h"
#include "log/batch.h"

#include <stdbool.h>

/* An independent model of a record: what was given to the encoder. */
typedef struct mrec {
    int64_t ts;
    bool has_key;
    unsigned char key[16];
    size_t key_len;
    unsigned char val[64];
    size_t val_len;
} mrec;

static void gen(uint64_t *s, mrec *m, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t r = tt_rand(s);
        m[i].ts = (int64_t)(tt_rand(s) % 2000000) - 1000000 + (r % 7 == 0 ? INT64_C(1) << 40 : 0);
        m[i].has_key = r % 3 != 0;
        m[i].key_len = m[i].has_key ? (size_t)(tt_rand(s) % 17) : 0;
        for (size_t k = 0; k < m[i].key_len; k++)
            m[i].key[k] = (unsigned char)tt_rand(s);
        m[i].val_len = (size_t)(tt_rand(s) % 65);
        for (size_t k = 0; k < m[i].val_len; k++)
            m[i].val[k] = (unsigned char)tt_rand(s);
    }
}

static void to_records(const mrec *m, tide_record *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        r[i] = (tide_record){0};
        r[i].timestamp = m[i].ts;
        r[i].key = m[i].has_key ? m[i].key : NULL;
        r[i].key_len = m[i].key_len;
        r[i].value = m[i].val;
        r[i].value_len = m[i].val_len;
    }
}

static void test_round_trip(void)
{
    uint64_t seed = tt_seed(42);
    for (int round = 0; round < 300; round++) {
        size_t n = 1 + (size_t)(tt_rand(&seed) % 40);
        mrec m[40];
        tide_record recs[40];
        gen(&seed, m, n);
        to_records(m, recs, n);
        uint64_t base = tt_rand(&seed) % 1000000;
        tide_buf b = {0};
        TT_OK(tide_buf_append(&b, "xyz", 3)); /* encode appends after what is there */
        TT_OK(tide_batch_encode(&b, base, recs, n));
        const unsigned char *p = b.data + 3;
        tide_batch_header h;
        TT_OK(tide_batch_header_parse(p, &h));
        TT_ASSERT_EQ_INT(h.length, b.len - 3);
        TT_ASSERT_EQ_INT(h.count, n);
        TT_ASSERT_EQ_INT(h.base_offset, base);
        TT_ASSERT_EQ_INT(h.version, 1);
        /* min/max computed independently */
        int64_t lo = m[0].ts, hi = m[0].ts;
        for (size_t i = 1; i < n; i++) {
            lo = m[i].ts < lo ? m[i].ts : lo;
            hi = m[i].ts > hi ? m[i].ts : hi;
        }
        TT_ASSERT_EQ_INT(h.min_ts, lo);
        TT_ASSERT_EQ_INT(h.max_ts, hi);
        /* the CRC field is crc32c of bytes [8, length) */
        TT_ASSERT_EQ_INT(tide_get_u32(p + 4), tide_crc32c_sw(0, p + 8, h.length - 8));
        TT_OK(tide_batch_validate(p, &h));
        tide_batch_iter it;
        tide_batch_iter_init(&it, p, &h);
        tide_record r;
        size_t i = 0;
        while (tide_batch_iter_next(&it, &r)) {
            TT_ASSERT(i < n);
            TT_ASSERT_EQ_INT(r.offset, base + i);
            TT_ASSERT_EQ_INT(r.timestamp, m[i].ts);
            TT_ASSERT_EQ_INT(r.key != NULL, m[i].has_key);
            TT_ASSERT_EQ_INT(r.key_len, m[i].key_len);
            TT_ASSERT(r.key_len == 0 || memcmp(r.key, m[i].key, r.key_len) == 0);
            TT_ASSERT_EQ_INT(r.value_len, m[i].val_len);
            TT_ASSERT(r.value_len == 0 || memcmp(r.value, m[i].val, r.value_len) == 0);
            i++;
        }
        TT_ASSERT_EQ_INT(i, n);
        tide_buf_free(&b);
    }
}

/* Flip every bit of a small batch: the header is rejected or validation fails. */
static void test_every_bit_flip_detected(void)
{
    uint64_t seed = tt_seed(7);
    for (int round = 0; round < 6; round++) {
        size_t n = 1 + (size_t)(tt_rand(&seed) % 4);
        mrec m[4];
        tide_record recs[4];
        gen(&seed, m, n);
        to_records(m, recs, n);
        tide_buf b = {0};
        TT_OK(tide_batch_encode(&b, 100, recs, n));
        for (size_t bit = 0; bit < b.len * 8; bit++) {
            b.data[bit / 8] ^= (unsigned char)(1u << (bit % 8));
            tide_batch_header h;
            bool detected = tide_batch_header_parse(b.data, &h) != 0 || h.length > b.len ||
                            tide_batch_validate(b.data, &h) != 0;
            /* the only undetectable change would be one to base_offset; the
             * CRC covers it too, so everything must be detected */
            TT_ASSERT_MSG(detected, "bit %zu of a %zu-byte batch not detected", bit, b.len);
            b.data[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        }
        tide_batch_header h;
        TT_OK(tide_batch_header_parse(b.data, &h));
        TT_OK(tide_batch_validate(b.data, &h));
        tide_buf_free(&b);
    }
}

static void test_edge_records(void)
{
    /* empty values, null vs empty key, extreme timestamps */
    tide_record recs[3] = {0};
    recs[0].timestamp = INT64_MIN / 2;
    recs[0].key = "";
    recs[0].key_len = 0;
    recs[0].value = "";
    recs[1].timestamp = INT64_MAX / 2;
    recs[1].value = "v";
    recs[1].value_len = 1;
    recs[2].timestamp = 0;
    recs[2].key = "k";
    recs[2].key_len = 1;
    recs[2].value = "";
    tide_buf b = {0};
    TT_OK(tide_batch_encode(&b, 5, recs, 3));
    tide_batch_header h;
    TT_OK(tide_batch_header_parse(b.data, &h));
    TT_OK(tide_batch_validate(b.data, &h));
    tide_batch_iter it;
    tide_batch_iter_init(&it, b.data, &h);
    tide_record r;
    TT_ASSERT(tide_batch_iter_next(&it, &r));
    TT_ASSERT(r.key != NULL && r.key_len == 0 && r.timestamp == INT64_MIN / 2);
    TT_ASSERT(tide_batch_iter_next(&it, &r));
    TT_ASSERT(r.key == NULL && r.value_len == 1 && r.timestamp == INT64_MAX / 2);
    TT_ASSERT(tide_batch_iter_next(&it, &r));
    TT_ASSERT(r.key_len == 1 && r.offset == 7);
    TT_ASSERT(!tide_batch_iter_next(&it, &r));
    /* a timestamp span that does not fit is refused, not mis-encoded */
    recs[0].timestamp = INT64_MIN;
    recs[1].timestamp = INT64_MAX;
    size_t before = b.len;
    TT_ASSERT_EQ_INT(tide_batch_encode(&b, 0, recs, 2), TIDE_ERANGE);
    TT_ASSERT_EQ_INT(b.len, before);
    /* truncated batches are rejected */
    for (size_t cut = TIDE_BATCH_HEADER; cut < before; cut++) {
        tide_batch_header h2;
        TT_OK(tide_batch_header_parse(b.data, &h2));
        tide_batch_header h3 = h2;
        h3.length = (uint32_t)cut;
        TT_ASSERT(tide_batch_validate(b.data, &h3) != 0);
    }
    tide_buf_free(&b);
}

/* Forged batches: one header field changed and the CRC recomputed over the
 * change, so only the structural checks can tell.  The header's own
 * plausibility (version, flags, count) is tide_batch_header_parse's
 * contract; the timestamps' agreement with the records is validation's. */
static void forge(const tide_buf *b, tide_buf *f, size_t at, uint64_t v, int width)
{
    tide_buf_reset(f);
    tide_buf_append(f, b->data, b->len);
    if (width == 1)
        f->data[at] = (unsigned char)v;
    else if (width == 2)
        tide_put_u16(f->data + at, (uint16_t)v);
    else if (width == 4)
        tide_put_u32(f->data + at, (uint32_t)v);
    else
        tide_put_u64(f->data + at, v);
    tide_put_u32(f->data + 4, tide_crc32c(0, f->data + 8, f->len - 8));
}

static void test_forged_headers_rejected(void)
{
    tide_record recs[3] = {0};
    int64_t ts[3] = {1000, 400, 700}; /* min 400 (record 1), max 1000 (record 0) */
    for (int i = 0; i < 3; i++) {
        recs[i].timestamp = ts[i];
        recs[i].value = "abc";
        recs[i].value_len = 3;
    }
    tide_buf b = {0}, f = {0};
    TT_OK(tide_batch_encode(&b, 10, recs, 3));
    tide_batch_header h;
    TT_OK(tide_batch_header_parse(b.data, &h));
    TT_ASSERT_EQ_INT(h.min_ts, 400);
    TT_ASSERT_EQ_INT(h.max_ts, 1000);
    /* the forge itself changes nothing else: an identical rewrite passes */
    forge(&b, &f, 8, TIDE_BATCH_VERSION, 1);
    TT_OK(tide_batch_header_parse(f.data, &h));
    TT_OK(tide_batch_validate(f.data, &h));
    /* header fields: rejected by the header parse itself */
    struct { size_t at; uint64_t v; int width; const char *what; } bad_head[] = {
        {8, TIDE_BATCH_VERSION + 1, 1, "version 2"},
        {8, 0, 1, "version 0"},
        {9, 1, 1, "flags"},
        {10, 1, 2, "reserved bytes"},
        {12, 0, 4, "count 0"},
        {12, 1000, 4, "count above what the length can hold"},
        {16, UINT64_MAX - 1, 8, "offsets past 2^64"},
    };
    for (size_t i = 0; i < sizeof bad_head / sizeof bad_head[0]; i++) {
        forge(&b, &f, bad_head[i].at, bad_head[i].v, bad_head[i].width);
        TT_ASSERT_MSG(tide_batch_header_parse(f.data, &h) == TIDE_ECORRUPT, "%s accepted", bad_head[i].what);
    }
    /* timestamps that are not the records' extremes: a plausible header,
     * refused by validation (the time index trusts them) */
    struct { size_t at; int64_t v; const char *what; } bad_ts[] = {
        {32, 1001, "max_ts above every record"},
        {24, 399, "min_ts below every record (so the records shift)"},
        {24, 401, "min_ts above a record"},
        {16 + 16, 999, "max_ts below a record"},
    };
    for (size_t i = 0; i < sizeof bad_ts / sizeof bad_ts[0]; i++) {
        forge(&b, &f, bad_ts[i].at, (uint64_t)bad_ts[i].v, 8);
        bool refused = tide_batch_header_parse(f.data, &h) != 0 || tide_batch_validate(f.data, &h) != 0;
        TT_ASSERT_MSG(refused, "%s accepted", bad_ts[i].what);
    }
    /* one more record than the bytes hold: the record structure fails */
    forge(&b, &f, 12, 4, 4);
    TT_ASSERT(tide_batch_header_parse(f.data, &h) != 0 || tide_batch_validate(f.data, &h) != 0);
    tide_buf_free(&b);
    tide_buf_free(&f);
}

int main(void)
{
    TT_RUN(test_round_trip);
    TT_RUN(test_every_bit_flip_detected);
    TT_RUN(test_edge_records);
    TT_RUN(test_forged_headers_rejected);
    TT_DONE();
}
