/* test_snap.c - the snapshot stream: round trips, nesting, and every kind
 * of damage refused. */
#include "state/snap.h"
#include "tt.h"

#include <math.h>

static void write_sample(tide_buf *b)
{
    tide_snap_w w;
    tide_snap_begin(&w, b, "sample", 7);
    tide_snap_put_u8(&w, 0xab);
    tide_snap_put_u32(&w, 0xdeadbeef);
    tide_snap_put_u64(&w, UINT64_MAX - 1);
    tide_snap_put_i64(&w, INT64_MIN);
    tide_snap_put_f64(&w, -0.0);
    tide_snap_put_bool(&w, true);
    tide_snap_put_varint(&w, 0);
    tide_snap_put_varint(&w, 300);
    tide_snap_put_varint(&w, UINT64_MAX);
    tide_snap_put_bytes(&w, "hello", 5);
    tide_value v = {.type = TIDE_TYPE_STRING};
    v.u.s.ptr = "abc";
    v.u.s.len = 3;
    tide_snap_put_value(&w, &v);
    tide_value n = {.type = TIDE_TYPE_BIGINT, .is_null = true};
    tide_snap_put_value(&w, &n);
    tide_value d = {.type = TIDE_TYPE_DOUBLE};
    d.u.f64 = NAN;
    tide_snap_put_value(&w, &d);
    tide_err e = {0};
    int rc = tide_snap_end(&w, &e);
    if (rc)
        abort();
}

static void test_round_trip(void)
{
    tide_buf b = {0};
    write_sample(&b);
    tide_snap_r r;
    tide_err e = {0};
    size_t used = 0;
    TT_ASSERT_EQ_INT(tide_snap_open(&r, b.data, b.len, "sample", 7, &used, &e), 0);
    TT_ASSERT_EQ_INT(used, b.len);
    TT_ASSERT_EQ_INT(tide_snap_get_u8(&r), 0xab);
    TT_ASSERT(tide_snap_get_u32(&r) == 0xdeadbeef);
    TT_ASSERT(tide_snap_get_u64(&r) == UINT64_MAX - 1);
    TT_ASSERT(tide_snap_get_i64(&r) == INT64_MIN);
    double z = tide_snap_get_f64(&r);
    TT_ASSERT(z == 0.0 && signbit(z));
    TT_ASSERT(tide_snap_get_bool(&r));
    TT_ASSERT(tide_snap_get_varint(&r) == 0);
    TT_ASSERT(tide_snap_get_varint(&r) == 300);
    TT_ASSERT(tide_snap_get_varint(&r) == UINT64_MAX);
    size_t n;
    const char *s = tide_snap_get_bytes(&r, &n);
    TT_ASSERT(n == 5 && memcmp(s, "hello", 5) == 0);
    tide_value v = tide_snap_get_value(&r);
    TT_ASSERT(v.type == TIDE_TYPE_STRING && !v.is_null && v.u.s.len == 3 && !memcmp(v.u.s.ptr, "abc", 3));
    v = tide_snap_get_value(&r);
    TT_ASSERT(v.type == TIDE_TYPE_BIGINT && v.is_null);
    v = tide_snap_get_value(&r);
    TT_ASSERT(v.type == TIDE_TYPE_DOUBLE && isnan(v.u.f64));
    TT_ASSERT_EQ_INT(tide_snap_remaining(&r), 0);
    TT_ASSERT_EQ_INT(tide_snap_close(&r, &e), 0);
    tide_buf_free(&b);
}

/* Two sections back to back, and one nested in another as a blob. */
static void test_nesting(void)
{
    tide_buf inner = {0}, b = {0};
    write_sample(&inner);
    tide_snap_w w;
    tide_snap_begin(&w, &b, "outer", 1);
    tide_snap_put_bytes(&w, inner.data, inner.len);
    tide_err e = {0};
    TT_ASSERT_EQ_INT(tide_snap_end(&w, &e), 0);
    size_t first = b.len;
    write_sample(&b);

    tide_snap_r r, ri;
    size_t used;
    TT_ASSERT_EQ_INT(tide_snap_open(&r, b.data, b.len, "outer", 1, &used, &e), 0);
    TT_ASSERT_EQ_INT(used, first);
    size_t n;
    const void *blob = tide_snap_get_bytes(&r, &n);
    TT_ASSERT_EQ_INT(tide_snap_close(&r, &e), 0);
    TT_ASSERT_EQ_INT(tide_snap_open(&ri, blob, n, "sample", 7, NULL, &e), 0);
    TT_ASSERT_EQ_INT(tide_snap_open(&ri, b.data + first, b.len - first, "sample", 7, &used, &e), 0);
    TT_ASSERT_EQ_INT(used, b.len - first);
    tide_buf_free(&inner);
    tide_buf_free(&b);
}

/* Every single-bit flip and every truncation is refused at open. */
static void test_damage_refused(void)
{
    tide_buf b = {0};
    write_sample(&b);
    tide_err e = {0};
    tide_snap_r r;
    for (size_t i = 0; i < b.len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            b.data[i] ^= (unsigned char)(1u << bit);
            tide_err_clear(&e);
            int rc = tide_snap_open(&r, b.data, b.len, "sample", 7, NULL, &e);
            b.data[i] ^= (unsigned char)(1u << bit);
            TT_ASSERT_MSG(rc == TIDE_ECORRUPT, "flip of byte %zu bit %d accepted", i, bit);
        }
    }
    for (size_t len = 0; len < b.len; len++) {
        tide_err_clear(&e);
        TT_ASSERT_EQ_INT(tide_snap_open(&r, b.data, len, "sample", 7, NULL, &e), TIDE_ECORRUPT);
    }
    tide_err_clear(&e);
    TT_ASSERT_EQ_INT(tide_snap_open(&r, b.data, b.len, "other", 7, NULL, &e), TIDE_ECORRUPT);
    TT_ASSERT(strstr(e.msg, "sample") != NULL);
    tide_err_clear(&e); /* another format version: refused, naming both */
    TT_ASSERT_EQ_INT(tide_snap_open(&r, b.data, b.len, "sample", 8, NULL, &e), TIDE_ECORRUPT);
    TT_ASSERT_MSG(strstr(e.msg, "format version 7, this build reads 8") != NULL, "%s", e.msg);
    tide_buf_free(&b);
}

/* A payload shorter than the reader expects, or longer, fails at close. */
static void test_short_and_long_payload(void)
{
    tide_buf b = {0};
    tide_snap_w w;
    tide_snap_begin(&w, &b, "k", 1);
    tide_snap_put_u32(&w, 5);
    tide_err e = {0};
    TT_ASSERT_EQ_INT(tide_snap_end(&w, &e), 0);
    tide_snap_r r;
    TT_ASSERT_EQ_INT(tide_snap_open(&r, b.data, b.len, "k", 1, NULL, &e), 0);
    TT_ASSERT_EQ_INT(tide_snap_get_u64(&r), 0); /* only 4 bytes there */
    TT_ASSERT(tide_snap_failed(&r));
    TT_ASSERT_EQ_INT(tide_snap_get_u32(&r), 0); /* stays failed */
    TT_ASSERT_EQ_INT(tide_snap_close(&r, &e), TIDE_ECORRUPT);
    tide_err_clear(&e);
    TT_ASSERT_EQ_INT(tide_snap_open(&r, b.data, b.len, "k", 1, NULL, &e), 0);
    TT_ASSERT_EQ_INT(tide_snap_get_u8(&r), 5);
    TT_ASSERT_EQ_INT(tide_snap_close(&r, &e), TIDE_ECORRUPT);
    TT_ASSERT(strstr(e.msg, "3 bytes left unread") != NULL);
    /* a string length beyond the payload */
    tide_buf_reset(&b);
    tide_snap_begin(&w, &b, "k", 1);
    tide_snap_put_varint(&w, 1000);
    tide_snap_put_raw(&w, "xy", 2);
    TT_ASSERT_EQ_INT(tide_snap_end(&w, &e), 0);
    tide_err_clear(&e);
    TT_ASSERT_EQ_INT(tide_snap_open(&r, b.data, b.len, "k", 1, NULL, &e), 0);
    size_t n = 1;
    TT_ASSERT(tide_snap_get_bytes(&r, &n) == NULL && n == 0);
    TT_ASSERT_EQ_INT(tide_snap_close(&r, &e), TIDE_ECORRUPT);
    tide_buf_free(&b);
}

int main(void)
{
    TT_RUN(test_round_trip);
    TT_RUN(test_nesting);
    TT_RUN(test_damage_refused);
    TT_RUN(test_short_and_long_payload);
    TT_DONE();
}
