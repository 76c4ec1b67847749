/*
 * test_sort.c - base/sort.h: records ordered by their key bytes with the
 * radix sort on 16-byte prefixes and the runs' full comparison give the
 * order of qsort with memcmp (shorter first on a tie) and a secondary
 * field, for keys of 0..40 bytes sharing long prefixes, ending in zero
 * bytes, and equal keys (then the secondary field decides).
 */
#include "base/sort.h"
#include "tt.h"

#include <stdlib.h>
#include <string.h>

typedef struct rec {
    unsigned char k[40];
    size_t len;
    int64_t second; /* the order among equal keys */
} rec;

static int rec_cmp(const rec *a, const rec *b)
{
    size_t n = a->len < b->len ? a->len : b->len;
    int c = n ? memcmp(a->k, b->k, n) : 0;
    if (c)
        return c;
    if (a->len != b->len)
        return a->len < b->len ? -1 : 1;
    return (a->second > b->second) - (a->second < b->second);
}

static int rec_qsort_cmp(const void *a, const void *b) { return rec_cmp(a, b); }

static int rec_idx_cmp(void *ctx, size_t a, size_t b)
{
    const rec *r = ctx;
    return rec_cmp(&r[a], &r[b]);
}

static void test_against_qsort(void)
{
    TT_FOR_SEEDS(seed, 1, 40) {
        uint64_t s = seed;
        size_t n = 1 + (size_t)(tt_rand(&s) % (seed % 4 == 0 ? 20000 : 700));
        rec *r = calloc(n, sizeof *r), *want = calloc(n, sizeof *want);
        tide_sort_item *v = calloc(2 * n, sizeof *v);
        TT_ASSERT(r && want && v);
        unsigned char common[40];
        for (size_t i = 0; i < sizeof common; i++)
            common[i] = (unsigned char)(tt_rand(&s) % 3);
        for (size_t i = 0; i < n; i++) {
            /* a shared prefix of 0..24 bytes, then a few bytes from a small alphabet (zeros included) */
            size_t shared = (size_t)(tt_rand(&s) % 25), tail = (size_t)(tt_rand(&s) % 6);
            memcpy(r[i].k, common, shared);
            for (size_t b = 0; b < tail; b++)
                r[i].k[shared + b] = (unsigned char)(tt_rand(&s) % (seed % 2 ? 3 : 256));
            r[i].len = shared + tail;
            r[i].second = (int64_t)(tt_rand(&s) % 4) - 2;
        }
        memcpy(want, r, n * sizeof *r);
        qsort(want, n, sizeof *want, rec_qsort_cmp);
        for (size_t i = 0; i < n; i++) {
            tide_sort_prefix(&v[i], r[i].k, r[i].len);
            v[i].idx = i;
        }
        TT_ASSERT(tide_sort_radix(v, v + n, n));
        tide_sort_runs(v, n, rec_idx_cmp, r);
        for (size_t i = 0; i < n; i++)
            if (rec_cmp(&r[v[i].idx], &want[i]) != 0) {
                TT_SEED(seed);
                TT_ASSERT_MSG(0, "n %zu: position %zu differs", n, i);
            }
        free(r);
        free(want);
        free(v);
    }
}

/* The prefix: big-endian, zero-padded, the first 16 bytes only. */
static void test_prefix(void)
{
    tide_sort_item it;
    tide_sort_prefix(&it, "\x01\x02", 2);
    TT_ASSERT(it.hi == 0x0102000000000000ull && it.lo == 0);
    unsigned char k[20];
    for (int i = 0; i < 20; i++)
        k[i] = (unsigned char)(i + 1);
    tide_sort_prefix(&it, k, 20);
    TT_ASSERT(it.hi == 0x0102030405060708ull && it.lo == 0x090a0b0c0d0e0f10ull);
    tide_sort_prefix(&it, k, 0);
    TT_ASSERT(it.hi == 0 && it.lo == 0);
}

int main(void)
{
    TT_RUN(test_prefix);
    TT_RUN(test_against_qsort);
    TT_DONE();
}
