/*
 * sort.c - the radix sort by key prefix.  See sort.h.
 */
#include "base/sort.h"

#include <stdlib.h>
#include <string.h>

void tide_sort_prefix(tide_sort_item *it, const void *key, size_t len)
{
    const unsigned char *p = key;
    uint64_t hi = 0, lo = 0;
    for (size_t i = 0; i < 8; i++)
        hi = hi << 8 | (i < len ? p[i] : 0);
    for (size_t i = 8; i < 16; i++)
        lo = lo << 8 | (i < len ? p[i] : 0);
    it->hi = hi;
    it->lo = lo;
}

/* Byte d of the 16-byte prefix (0: the least significant byte of lo .. 15:
 * the most significant of hi). */
static inline unsigned digit(const tide_sort_item *it, int d)
{
    return d < 8 ? (unsigned)(it->lo >> (8 * d)) & 0xff : (unsigned)(it->hi >> (8 * (d - 8))) & 0xff;
}

bool tide_sort_radix(tide_sort_item *v, tide_sort_item *tmp, size_t n)
{
    if (n < 2)
        return true;
    size_t (*cnt)[256] = calloc(16, sizeof *cnt);
    if (!cnt)
        return false;
    for (size_t i = 0; i < n; i++)
        for (int d = 0; d < 16; d++)
            cnt[d][digit(&v[i], d)]++;
    for (int d = 0; d < 16; d++) {
        if (cnt[d][digit(&v[0], d)] == n)
            continue;
        size_t pos = 0;
        for (int b = 0; b < 256; b++) {
            size_t c = cnt[d][b];
            cnt[d][b] = pos;
            pos += c;
        }
        for (size_t i = 0; i < n; i++)
            tmp[cnt[d][digit(&v[i], d)]++] = v[i];
        memcpy(v, tmp, n * sizeof *v);
    }
    free(cnt);
    return true;
}

/* Runs are short in practice (an insertion sort), but may be long (many
 * keys sharing 16 bytes): then qsort_r. */
typedef struct run_ctx {
    int (*cmp)(void *ctx, size_t a, size_t b);
    void *ctx;
} run_ctx;

static int run_cmp(const void *a, const void *b, void *c)
{
    const run_ctx *rc = c;
    return rc->cmp(rc->ctx, ((const tide_sort_item *)a)->idx, ((const tide_sort_item *)b)->idx);
}

void tide_sort_runs(tide_sort_item *v, size_t n, int (*cmp)(void *ctx, size_t a, size_t b), void *ctx)
{
    run_ctx rc = {cmp, ctx};
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && v[j].hi == v[i].hi && v[j].lo == v[i].lo)
            j++;
        if (j - i > 8) {
            qsort_r(v + i, j - i, sizeof *v, run_cmp, &rc);
        } else {
            for (size_t a = i + 1; a < j; a++) {
                tide_sort_item x = v[a];
                size_t b = a;
                while (b > i && cmp(ctx, v[b - 1].idx, x.idx) > 0) {
                    v[b] = v[b - 1];
                    b--;
                }
                v[b] = x;
            }
        }
        i = j;
    }
}
