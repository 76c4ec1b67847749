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

int main(void)
{
    TT_RUN(test_round_trip);
    TT_RUN(test_every_bit_flip_detected);
    TT_RUN(test_edge_records);
    TT_DONE();
}
