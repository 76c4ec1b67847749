/*
 * key.c - the key codec (see key.h for the format).
 */
#include "data/key.h"

#include "data/decimal.h"

#include <math.h>

#define SIGN (1ull << 63)
#define QNAN_BITS 0x7ff8000000000000ull

/* ---- per value ---- */

/* The 8 order-preserving bytes of a double, as a host integer. */
static inline uint64_t f64_ordered(double x)
{
    uint64_t u;
    if (isnan(x)) {
        u = QNAN_BITS;
    } else {
        if (x == 0)
            x = 0.0; /* -0.0 */
        memcpy(&u, &x, 8);
    }
    return (u & SIGN) ? ~u : u ^ SIGN;
}

static inline double f64_from_ordered(uint64_t u)
{
    u = (u & SIGN) ? u ^ SIGN : ~u;
    double x;
    memcpy(&x, &u, 8);
    return x;
}

static inline uint8_t *put_u64(uint8_t *d, uint64_t v)
{
    v = tide_key__be64(v);
    memcpy(d, &v, 8);
    return d + 8;
}

static inline uint64_t get_u64(const uint8_t *s)
{
    uint64_t v;
    memcpy(&v, s, 8);
    return tide_key__be64(v);
}

static inline size_t str_size(const char *p, uint32_t len)
{
    size_t n = (size_t)len + 2;
    const char *end = p + len;
    while (p < end && (p = memchr(p, 0, (size_t)(end - p))) != NULL) {
        n++;
        p++;
    }
    return n;
}

static uint8_t *put_str(uint8_t *d, const char *p, uint32_t len)
{
    const char *end = p + len;
    while (p < end) {
        const char *z = memchr(p, 0, (size_t)(end - p));
        size_t run = (size_t)((z ? z : end) - p);
        memcpy(d, p, run);
        d += run;
        p += run;
        if (z) {
            *d++ = 0x00;
            *d++ = 0xff;
            p++;
        }
    }
    *d++ = 0x00;
    *d++ = 0x00;
    return d;
}

/* Bytes of one column's value after its flag byte (type not NULL). */
static inline size_t value_size(tide_type t, const tide_str *s)
{
    switch (tide_type_base(t)) {
    case TIDE_TYPE_BOOLEAN:
        return 1;
    case TIDE_TYPE_STRING:
        return str_size(s->ptr, s->len);
    case TIDE_TYPE_DECIMAL:
        return 16;
    default:
        return 8;
    }
}

/* ---- rows of a batch ---- */

size_t tide_key_row_size(const tide_cbatch *b, uint32_t row, const uint32_t *cols, size_t n)
{
    size_t sz = 0;
    for (size_t k = 0; k < n; k++) {
        uint32_t c = cols[k];
        sz++;
        if (tide_cbatch_is_null(b, c, row))
            continue;
        tide_type t = tide_cbatch_type(b, c);
        if (t == TIDE_TYPE_STRING) {
            tide_str s = tide_cbatch_str(b, c, row);
            sz += str_size(s.ptr, s.len);
        } else {
            sz += value_size(t, NULL);
        }
    }
    return sz;
}

uint8_t *tide_key_row_put(const tide_cbatch *b, uint32_t row, const uint32_t *cols, size_t n,
                          uint8_t *d)
{
    for (size_t k = 0; k < n; k++) {
        uint32_t c = cols[k];
        if (tide_cbatch_is_null(b, c, row)) {
            d = tide_key_put_null(d);
            continue;
        }
        switch (tide_type_base(tide_cbatch_type(b, c))) {
        case TIDE_TYPE_BIGINT:
        case TIDE_TYPE_TIMESTAMP:
            d = tide_key_put_i64(d, tide_cbatch_i64(b, c, row));
            break;
        case TIDE_TYPE_DECIMAL:
            *d++ = TIDE_KEY_VALUE;
            tide_dec_put16(tide_cbatch_dec(b, c, row), d);
            d += 16;
            break;
        case TIDE_TYPE_DOUBLE:
            *d++ = TIDE_KEY_VALUE;
            d = put_u64(d, f64_ordered(tide_cbatch_f64(b, c, row)));
            break;
        case TIDE_TYPE_BOOLEAN:
            *d++ = TIDE_KEY_VALUE;
            *d++ = tide_cbatch_bool(b, c, row) ? 1 : 0;
            break;
        case TIDE_TYPE_STRING: {
            tide_str s = tide_cbatch_str(b, c, row);
            *d++ = TIDE_KEY_VALUE;
            d = put_str(d, s.ptr, s.len);
            break;
        }
        default: /* a column has a value type; never reached */
            d = tide_key_put_null(d);
            break;
        }
    }
    return d;
}

/* ---- boxed values ---- */

static inline bool value_is_null(const tide_value *x)
{
    return x->is_null || !tide_type_valid(x->type);
}

size_t tide_key_values_size(const tide_value *v, const uint32_t *idx, size_t n)
{
    size_t sz = 0;
    for (size_t k = 0; k < n; k++) {
        const tide_value *x = &v[idx ? idx[k] : k];
        sz++;
        if (!value_is_null(x))
            sz += value_size(x->type, &x->u.s);
    }
    return sz;
}

uint8_t *tide_key_values_put(const tide_value *v, const uint32_t *idx, size_t n, uint8_t *d)
{
    for (size_t k = 0; k < n; k++) {
        const tide_value *x = &v[idx ? idx[k] : k];
        if (value_is_null(x)) {
            d = tide_key_put_null(d);
            continue;
        }
        switch (tide_type_base(x->type)) {
        case TIDE_TYPE_DOUBLE:
            *d++ = TIDE_KEY_VALUE;
            d = put_u64(d, f64_ordered(x->u.f64));
            break;
        case TIDE_TYPE_DECIMAL:
            *d++ = TIDE_KEY_VALUE;
            tide_dec_put16(x->u.d, d);
            d += 16;
            break;
        case TIDE_TYPE_BOOLEAN:
            *d++ = TIDE_KEY_VALUE;
            *d++ = x->u.b ? 1 : 0;
            break;
        case TIDE_TYPE_STRING:
            *d++ = TIDE_KEY_VALUE;
            d = put_str(d, x->u.s.ptr, x->u.s.len);
            break;
        default: /* BIGINT, TIMESTAMP */
            d = tide_key_put_i64(d, x->u.i64);
            break;
        }
    }
    return d;
}

int tide_key_append_values(tide_buf *out, const tide_value *v, const uint32_t *idx, size_t n)
{
    size_t sz = tide_key_values_size(v, idx, n);
    if (sz == 0)
        return 0;
    if (tide_buf_reserve(out, sz) != 0)
        return TIDE_ENOMEM;
    uint8_t *end = tide_key_values_put(v, idx, n, out->data + out->len);
    out->len = (size_t)(end - out->data);
    return 0;
}

/* ---- decoding ---- */

#define BAD(what)                                                                          \
    tide_err_set(e, TIDE_EINVAL, "key: %s at byte %zu of %zu (column %zu, %s)", what,      \
                 (size_t)(p - k), len, i, tide_type_name(types[i]))

int tide_key_decode(const void *key, size_t len, const tide_type *types, size_t n,
                    tide_arena *arena, tide_value *out, tide_err *e)
{
    const uint8_t *k = key, *p = k, *end = k + len;
    for (size_t i = 0; i < n; i++) {
        tide_value *v = &out[i];
        memset(v, 0, sizeof *v);
        v->type = types[i];
        if (!tide_type_valid(types[i]))
            return BAD("unknown column type");
        if (p == end)
            return BAD("truncated");
        uint8_t flag = *p;
        if (flag == TIDE_KEY_NULL) {
            v->is_null = true;
            p++;
            continue;
        }
        if (flag != TIDE_KEY_VALUE)
            return BAD("bad NULL flag");
        p++;
        switch (tide_type_base(types[i])) {
        case TIDE_TYPE_DECIMAL:
            if (end - p < 16)
                return BAD("truncated");
            v->u.d = tide_dec_get16(p);
            if (!tide_dec_fits(v->u.d, tide_dec_precision(types[i])))
                return BAD("DECIMAL out of its precision");
            p += 16;
            break;
        case TIDE_TYPE_BOOLEAN:
            if (p == end)
                return BAD("truncated");
            if (*p > 1)
                return BAD("bad BOOLEAN byte");
            v->u.b = *p++ != 0;
            break;
        case TIDE_TYPE_BIGINT:
        case TIDE_TYPE_TIMESTAMP:
            if (end - p < 8)
                return BAD("truncated");
            v->u.i64 = (int64_t)(get_u64(p) ^ SIGN);
            p += 8;
            break;
        case TIDE_TYPE_DOUBLE:
            if (end - p < 8)
                return BAD("truncated");
            v->u.f64 = f64_from_ordered(get_u64(p));
            p += 8;
            break;
        default: { /* STRING */
            /* find the terminator, counting escaped 0x00 bytes */
            const uint8_t *s = p;
            size_t zeros = 0;
            for (;;) {
                const uint8_t *z = memchr(p, 0, (size_t)(end - p));
                if (!z || end - z < 2) {
                    p = end;
                    return BAD("unterminated STRING");
                }
                p = z;
                if (z[1] == 0x00)
                    break;
                if (z[1] != 0xff)
                    return BAD("bad STRING escape");
                zeros++;
                p = z + 2;
            }
            size_t slen = (size_t)(p - s) - zeros;
            if (slen > UINT32_MAX)
                return BAD("STRING too long");
            if (!zeros) {
                v->u.s.ptr = (const char *)s;
            } else {
                if (!arena)
                    return BAD("STRING with 0x00 bytes and no arena");
                char *d = tide_arena_alloc(arena, slen);
                if (!d)
                    return tide_err_set(e, TIDE_ENOMEM, "key: decoding a STRING of %zu bytes",
                                        slen);
                v->u.s.ptr = d;
                for (const uint8_t *q = s; q < p; q++) {
                    *d++ = (char)*q;
                    if (*q == 0)
                        q++; /* the 0xff of the escape */
                }
            }
            v->u.s.len = (uint32_t)slen;
            p += 2;
            break;
        }
        }
    }
    if (p != end)
        return tide_err_set(e, TIDE_EINVAL, "key: %zu bytes left over after %zu columns (of %zu)",
                            (size_t)(end - p), n, len);
    return 0;
}

/* The hashes h[0..n) of rows sel[0..n) (sel NULL: 0..n-1) over the key
 * columns, in the canonical form of keys: NULL a value of its own, -0.0 =
 * 0.0, one NaN.  Column by column: one tight loop per key column (per row:
 * h = tide_hash_u64(h ^ v) + k, starting from a constant). */
#define ROUTE_H0 0x9e3779b97f4a7c15ull
#define ROUTE_NULL 0x6e756c6c6e756c6cull

void tide_key_rows_hash(const tide_cbatch *b, const uint32_t *sel, uint32_t n, const uint32_t *keys,
                        size_t nk, uint64_t *h)
{
    for (uint32_t i = 0; i < n; i++)
        h[i] = ROUTE_H0;
    for (size_t k = 0; k < nk; k++) {
        uint32_t c = keys[k];
        const uint8_t *nulls = tide_cbatch_nulls(b, c);
        switch (tide_type_base(tide_cbatch_type(b, c))) {
        case TIDE_TYPE_DECIMAL: {
            const tide_i128 *v = tide_cbatch_col_dec(b, c);
            for (uint32_t i = 0; i < n; i++) {
                uint32_t r = sel ? sel[i] : i;
                uint64_t x = ROUTE_NULL;
                if (!nulls[r]) {
                    __extension__ unsigned __int128 u = (unsigned __int128)v[r];
                    x = tide_hash_u64((uint64_t)u ^ 0xdec) ^ (uint64_t)(u >> 64);
                }
                h[i] = tide_hash_u64(h[i] ^ x) + k;
            }
            break;
        }
        case TIDE_TYPE_BIGINT:
        case TIDE_TYPE_TIMESTAMP: {
            const int64_t *v = tide_cbatch_col_i64(b, c);
            for (uint32_t i = 0; i < n; i++) {
                uint32_t r = sel ? sel[i] : i;
                uint64_t x = nulls[r] ? ROUTE_NULL : (uint64_t)v[r];
                h[i] = tide_hash_u64(h[i] ^ x) + k;
            }
            break;
        }
        case TIDE_TYPE_BOOLEAN: {
            const uint8_t *v = (const uint8_t *)tide_cbatch_col_bool(b, c);
            for (uint32_t i = 0; i < n; i++) {
                uint32_t r = sel ? sel[i] : i;
                uint64_t x = nulls[r] ? ROUTE_NULL : v[r] != 0;
                h[i] = tide_hash_u64(h[i] ^ x) + k;
            }
            break;
        }
        case TIDE_TYPE_DOUBLE: {
            const double *v = tide_cbatch_col_f64(b, c);
            for (uint32_t i = 0; i < n; i++) {
                uint32_t r = sel ? sel[i] : i;
                uint64_t x = ROUTE_NULL;
                if (!nulls[r]) {
                    double d = v[r];
                    if (d == 0.0)
                        d = 0.0;
                    if (isnan(d))
                        x = 0x7ff8000000000000ull;
                    else
                        memcpy(&x, &d, 8);
                }
                h[i] = tide_hash_u64(h[i] ^ x) + k;
            }
            break;
        }
        case TIDE_TYPE_STRING: {
            const tide_str *v = tide_cbatch_col_str(b, c);
            for (uint32_t i = 0; i < n; i++) {
                uint32_t r = sel ? sel[i] : i;
                uint64_t x = nulls[r] ? ROUTE_NULL : tide_hash64(v[r].ptr, v[r].len, 0x5eed);
                h[i] = tide_hash_u64(h[i] ^ x) + k;
            }
            break;
        }
        default:
            for (uint32_t i = 0; i < n; i++)
                h[i] = tide_hash_u64(h[i] ^ ROUTE_NULL) + k;
            break;
        }
    }
}

uint64_t tide_key_row_hash(const tide_cbatch *b, uint32_t row, const uint32_t *cols, size_t n)
{
    uint64_t h;
    tide_key_rows_hash(b, &row, 1, cols, n, &h);
    return h;
}

size_t tide_key_prefix_len(const void *key, size_t len, const tide_type *types, size_t ncols)
{
    const uint8_t *k = key;
    size_t d = 0;
    for (size_t c = 0; c < ncols; c++) {
        if (d >= len)
            return len;
        if (k[d++] == TIDE_KEY_NULL)
            continue;
        switch (tide_type_base(types[c])) {
        case TIDE_TYPE_BOOLEAN:
            d += 1;
            break;
        case TIDE_TYPE_DECIMAL:
            d += 16;
            break;
        case TIDE_TYPE_STRING: /* escaped bytes up to the 0x00 0x00 terminator */
            while (d + 1 < len && !(k[d] == 0x00 && k[d + 1] == 0x00))
                d += k[d] == 0x00 ? 2 : 1;
            d += 2;
            break;
        default:
            d += 8;
            break;
        }
    }
    return d < len ? d : len;
}
