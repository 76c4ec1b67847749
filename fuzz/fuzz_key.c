/* libFuzzer target for data/key: decoding any bytes (keys come back from
 * snapshot files) must not crash; a key that decodes must re-encode to a
 * key that decodes to the same values and re-encodes to itself (the
 * canonical form; byte-identical to the input unless a DOUBLE held a
 * non-canonical -0.0 or NaN).
 *
 * Input: byte 0 picks the number of columns (1..4), the next ones their
 * types; the rest is the key. */
#include "data/key.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same(const tide_value *a, const tide_value *b)
{
    if (a->type != b->type || a->is_null != b->is_null)
        return false;
    if (a->is_null)
        return true;
    switch (a->type) {
    case TIDE_TYPE_BOOLEAN:
        return a->u.b == b->u.b;
    case TIDE_TYPE_DOUBLE:
        return isnan(a->u.f64) ? isnan(b->u.f64) : a->u.f64 == b->u.f64;
    case TIDE_TYPE_STRING:
        return a->u.s.len == b->u.s.len &&
               (a->u.s.len == 0 || memcmp(a->u.s.ptr, b->u.s.ptr, a->u.s.len) == 0);
    default:
        return a->u.i64 == b->u.i64;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t n = 1 + data[0] % 4;
    if (size < 1 + n)
        return 0;
    tide_type types[4];
    bool has_double = false;
    for (size_t i = 0; i < n; i++) {
        types[i] = (tide_type)(1 + data[1 + i] % (TIDE_TYPE_COUNT - 1));
        has_double |= types[i] == TIDE_TYPE_DOUBLE;
    }
    const uint8_t *key = data + 1 + n;
    size_t len = size - 1 - n;
    tide_arena arena;
    tide_arena_init(&arena, 1024);
    tide_value v[4], w[4];
    tide_err e = {0};
    if (tide_key_decode(key, len, types, n, &arena, v, &e) != 0) {
        if (e.code != TIDE_EINVAL || !e.msg[0])
            abort();
        tide_arena_free(&arena);
        return 0;
    }
    size_t sz = tide_key_values_size(v, NULL, n);
    uint8_t *a = malloc(sz + 1), *b = malloc(sz + 1);
    if (!a || !b)
        abort();
    if ((size_t)(tide_key_values_put(v, NULL, n, a) - a) != sz)
        abort();
    if (!has_double && (sz != len || memcmp(a, key, len) != 0))
        abort();
    if (tide_key_decode(a, sz, types, n, &arena, w, NULL) != 0)
        abort();
    for (size_t i = 0; i < n; i++)
        if (!same(&v[i], &w[i]))
            abort();
    if (tide_key_values_size(w, NULL, n) != sz ||
        tide_key_values_put(w, NULL, n, b) - b != (ptrdiff_t)sz || memcmp(a, b, sz) != 0)
        abort();
    free(a);
    free(b);
    tide_arena_free(&arena);
    return 0;
}
