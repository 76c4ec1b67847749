/*
 * key.h - the key codec: the one encoding of GROUP BY, exchange, state and
 * join keys (DESIGN.md 3).  A key is a tuple of SQL values (the key
 * columns); its encoding is a byte string such that
 *
 *   - memcmp order of two encodings is the SQL order of the two tuples
 *     (column by column, ascending, NULLS FIRST), when both have the same
 *     column types;
 *   - two encodings are equal exactly when the tuples are one group:
 *     NULL = NULL, -0.0 = 0.0, every NaN = every NaN (the GROUP BY and
 *     DISTINCT equality of exec/agg.h);
 *   - the bytes are the same on every machine and in every run, so they may
 *     be persisted (snapshot files hold them): any change of the format
 *     below bumps TIDE_KEY_VERSION.
 *
 * Format, version 1.  The encoding of a tuple is the concatenation of its
 * columns' encodings, in column order, with no header and no column count.
 * The column types are not in the bytes: a decoder is told them.
 *
 *   NULL (any type)  0x00                                      1 byte
 *   non-NULL         0x01, then the value's bytes:
 *     BOOLEAN        0x00 false, 0x01 true                     1 byte
 *     BIGINT,        the two's complement value with its sign  8 bytes
 *     TIMESTAMP      bit flipped (v ^ 2^63), big-endian
 *                    (INT64_MIN -> 00..00, 0 -> 80 00..00, INT64_MAX -> ff..ff)
 *     DOUBLE         x normalised first: -0.0 becomes 0.0, and 8 bytes
 *                    every NaN (any sign, any payload) the quiet NaN
 *                    0x7ff8000000000000; then of its IEEE-754 bits u:
 *                    u ^ 2^63 when the sign bit is clear, ~u when it is
 *                    set; big-endian.  Order: -inf < negative < 0.0 <
 *                    positive < +inf < NaN (NaN sorts after +inf, as
 *                    MIN/MAX order it in exec/agg.h).
 *     DECIMAL(p, s)  the 128-bit unscaled value with its sign   16 bytes
 *                    bit flipped, big-endian (tide_dec_put16; one scale per
 *                    column, so the order is the numeric order)
 *     STRING         the bytes, each 0x00 written as 0x00 0xFF,  len + 2
 *                    then the terminator 0x00 0x00.            + (0x00 count)
 *                    Unsigned bytewise order, a prefix first ("" < "a" <
 *                    "a\0" < "a\1" < "ab").
 *
 * Each column's encoding is self-delimiting (fixed width, or ended by the
 * string terminator), so a key of given types is never a proper prefix of
 * another key of the same types, and memcmp compares concatenated columns
 * column by column.  (DECIMAL was added to version 1 without a bump: no
 * earlier encoding changed, and no earlier key holds one.)  BIGINT and TIMESTAMP encode alike; keys of different
 * column types (BIGINT 0 and DOUBLE 0.0 share bytes) must not be compared.
 *
 * A one-column BIGINT / TIMESTAMP key, the hot case, is 9 bytes (1 when
 * NULL): tide_key_put_i64 writes it inline, for loops over a column.
 *
 * Nothing here allocates except tide_key_append_values (the buffer) and
 * tide_key_decode (only for strings holding 0x00 bytes, in the caller's
 * arena).  Every function is pure and thread-safe.
 */
#ifndef TIDE_DATA_KEY_H
#define TIDE_DATA_KEY_H

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/hash.h"
#include "data/batch.h"
#include "data/types.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The format above.  Stored next to persisted keys (snapshots); a reader
 * rejects a version it does not know. */
#define TIDE_KEY_VERSION 1

#define TIDE_KEY_NULL 0x00  /* the flag byte of a NULL column */
#define TIDE_KEY_VALUE 0x01 /* the flag byte of a non-NULL column */
#define TIDE_KEY_I64_SIZE 9 /* a non-NULL BIGINT / TIMESTAMP column */

/* ---- the hot case, inline ---- */

static inline uint64_t tide_key__be64(uint64_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return __builtin_bswap64(v);
#elif defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    return v;
#else
    unsigned char b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(v >> (56 - 8 * i));
    memcpy(&v, b, 8);
    return v;
#endif
}

/* Write a non-NULL BIGINT / TIMESTAMP column (TIDE_KEY_I64_SIZE bytes) at
 * d; returns the end. */
static inline uint8_t *tide_key_put_i64(uint8_t *d, int64_t v)
{
    uint64_t u = tide_key__be64((uint64_t)v ^ (1ull << 63));
    d[0] = TIDE_KEY_VALUE;
    memcpy(d + 1, &u, 8);
    return d + TIDE_KEY_I64_SIZE;
}

/* Write a NULL column (1 byte) at d; returns the end. */
static inline uint8_t *tide_key_put_null(uint8_t *d)
{
    d[0] = TIDE_KEY_NULL;
    return d + 1;
}

/* ---- encoding ---- */

/* The bytes the key of row `row` of b needs, over the key columns cols[0..n)
 * of b (n == 0: the empty key, 0 bytes). */
size_t tide_key_row_size(const tide_cbatch *b, uint32_t row, const uint32_t *cols, size_t n);

/* Encode the key of row `row` of b over cols[0..n) at d, which has room for
 * tide_key_row_size bytes; returns the end (d + that size).  Column types
 * come from the batch. */
uint8_t *tide_key_row_put(const tide_cbatch *b, uint32_t row, const uint32_t *cols, size_t n,
                          uint8_t *d);

/* The same for boxed values: the key columns are v[idx[0]], ..., v[idx[n-1]]
 * (idx NULL: v[0..n)).  Each value is encoded by its own type; a value with
 * is_null set or of type TIDE_TYPE_NULL is NULL.  The caller keeps the
 * types those of the key columns (BIGINT and TIMESTAMP are interchangeable;
 * a DOUBLE key column must be given DOUBLE values). */
size_t tide_key_values_size(const tide_value *v, const uint32_t *idx, size_t n);
uint8_t *tide_key_values_put(const tide_value *v, const uint32_t *idx, size_t n, uint8_t *d);
/* Append the encoding to `out` (it is not reset first).  0, or TIDE_ENOMEM
 * with `out` as it was. */
int tide_key_append_values(tide_buf *out, const tide_value *v, const uint32_t *idx, size_t n);

/* ---- decoding ---- */

/* Decode key[0..len), a key of the column types types[0..n), into
 * out[0..n) (out[i].type = types[i]; a DOUBLE NaN comes back as the quiet
 * NaN, -0.0 as 0.0).  Strings borrow: a string without 0x00 bytes points
 * into `key` (valid as long as the key bytes are); one holding 0x00 bytes
 * is unescaped into `arena` (valid until its reset or free).  `arena` may
 * be NULL when no key string can hold a 0x00 byte (else such a key fails
 * with TIDE_EINVAL).
 * 0, TIDE_EINVAL (malformed: truncated, a bad flag, boolean or escape byte,
 * bytes left over, an unknown type; `e` says at which byte) or TIDE_ENOMEM. */
int tide_key_decode(const void *key, size_t len, const tide_type *types, size_t n,
                    tide_arena *arena, tide_value *out, tide_err *e);

/* ---- comparing and hashing ---- */

/* memcmp order (on a common prefix the shorter key first; keys of one set of
 * column types never tie that way).  <0, 0, >0. */
static inline int tide_key_cmp(const void *a, size_t alen, const void *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c)
        return c;
    return (alen > blen) - (alen < blen);
}

/* A hash of the encoding, for in-memory tables and exchanges only: like
 * base/hash.h's tide_hash64 its values may change between versions, so it
 * is never persisted (persist the key bytes). */
static inline uint64_t tide_key_hash(const void *key, size_t len, uint64_t seed)
{
    return tide_hash64(key, len, seed);
}

/* The bytes of the first `ncols` columns of key[0..len), a key of the
 * column types types[0..ncols...) (a SESSION partition key, its columns
 * first, is a prefix of the GROUP BY key).  len when the key is shorter
 * than that (malformed). */
size_t tide_key_prefix_len(const void *key, size_t len, const tide_type *types, size_t ncols);

/* A hash of the key of row `row` of b over cols[0..n), computed from the
 * values without encoding them: rows whose keys encode equal (NULL equals
 * NULL, -0.0 = 0.0, one NaN) hash equal.  For exchanges (routing a row to
 * the instance that owns its key); never persisted. */
uint64_t tide_key_row_hash(const tide_cbatch *b, uint32_t row, const uint32_t *cols, size_t n);
/* The same for rows sel[0..n) (sel NULL: 0..n-1) into h[0..n), a key
 * column at a time (the exchange's hot loop). */
void tide_key_rows_hash(const tide_cbatch *b, const uint32_t *sel, uint32_t n, const uint32_t *cols, size_t nk,
                        uint64_t *h);

#endif
