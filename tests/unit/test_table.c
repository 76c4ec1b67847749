/* Unit tests of state/table: the hash table against a brute-force model
 * (an array indexed by key id, scanned naively), snapshots, invariants. */
#include "base/buf.h"
#include "base/bytes.h"
#include "base/crc32c.h"
#include "state/table.h"
#include "tt.h"

#include <stdbool.h>

/* ---- the model: a universe of keys, each present or not, with a value ---- */

#define MAXKEY 24

typedef struct mkey {
    unsigned char b[MAXKEY];
    uint32_t len;
    bool present;
    uint64_t val;
} mkey;

/* Keys for id i: bytes mode gets varied lengths (0..MAXKEY) with shared
 * prefixes; u64 mode gets spread and adjacent integers. */
static void make_keys(mkey *k, size_t n, bool u64, uint64_t *s)
{
    for (size_t i = 0; i < n; i++) {
        memset(&k[i], 0, sizeof k[i]);
        if (u64) {
            uint64_t v = (i % 3 == 0) ? (uint64_t)i : tt_rand(s);
            memcpy(k[i].b, &v, 8);
            k[i].len = 8;
        } else {
            /* distinct by construction: the id as a varint (prefix-free)
             * then 0..n filler bytes; id 0 is the empty key */
            if (i == 0)
                continue;
            unsigned char tmp[10];
            size_t vn = tide_varint_put(tmp, i);
            size_t fill = (size_t)(tt_rand(s) % (MAXKEY - vn + 1));
            memcpy(k[i].b, tmp, vn);
            memset(k[i].b + vn, 'k', fill);
            k[i].len = (uint32_t)(vn + fill);
        }
    }
}

static uint64_t key_u64(const mkey *k)
{
    uint64_t v;
    memcpy(&v, k->b, 8);
    return v;
}

static int cmp_model(const void *a, const void *b)
{
    const mkey *x = *(const mkey *const *)a, *y = *(const mkey *const *)b;
    uint32_t n = x->len < y->len ? x->len : y->len;
    int c = n ? memcmp(x->b, y->b, n) : 0;
    if (c)
        return c;
    return (x->len > y->len) - (x->len < y->len);
}

static int cmp_model_u64(const void *a, const void *b)
{
    uint64_t x = key_u64(*(const mkey *const *)a), y = key_u64(*(const mkey *const *)b);
    return (x > y) - (x < y);
}

static bool pred_odd(const void *key, uint32_t klen, void *value, void *ctx)
{
    (void)key, (void)klen, (void)ctx;
    uint64_t v;
    memcpy(&v, value, 8);
    return v & 1;
}

/* Compare the whole table with the model: count, every key, iteration
 * visiting each present key exactly once, and sorted order. */
static int compare_all(tide_table *t, mkey *k, size_t n, bool u64)
{
    size_t present = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t *v = tide_table_find(t, k[i].b, k[i].len);
        if (k[i].present != (v != NULL))
            return 1;
        if (v && *v != k[i].val)
            return 2;
        present += k[i].present;
    }
    if (tide_table_count(t) != present)
        return 3;
    if (!tide_table_check(t))
        return 4;
    size_t seen = 0;
    tide_table_iter it = {0};
    tide_table_entry ent;
    uint64_t xor_model = 0, xor_iter = 0;
    while (tide_table_next(t, &it, &ent)) {
        seen++;
        uint64_t v;
        memcpy(&v, ent.value, 8);
        if (tide_table_find(t, ent.key, ent.klen) != ent.value)
            return 5;
        xor_iter ^= v * 0x9e3779b97f4a7c15ull + ent.klen;
    }
    for (size_t i = 0; i < n; i++)
        if (k[i].present)
            xor_model ^= k[i].val * 0x9e3779b97f4a7c15ull + k[i].len;
    if (seen != present || xor_iter != xor_model)
        return 6;
    /* sorted */
    tide_table_entry *ents = malloc((present + 1) * sizeof *ents);
    const mkey **ms = malloc((present + 1) * sizeof *ms);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (k[i].present)
            ms[m++] = &k[i];
    qsort(ms, m, sizeof *ms, u64 ? cmp_model_u64 : cmp_model);
    tide_table_sorted(t, ents);
    int rc = 0;
    for (size_t i = 0; i < m && !rc; i++) {
        uint64_t v;
        memcpy(&v, ents[i].value, 8);
        if (ents[i].klen != ms[i]->len || memcmp(ents[i].key, ms[i]->b, ms[i]->len) != 0 ||
            v != ms[i]->val)
            rc = 7;
    }
    free(ents);
    free(ms);
    return rc;
}

static void test_basic(void)
{
    tide_err e = {0};
    tide_table *t;
    TT_OK(tide_table_create(&t, TIDE_TABLE_KEY_BYTES, 8, 0, &e));
    TT_ASSERT_EQ_INT(tide_table_count(t), 0);
    TT_ASSERT(tide_table_find(t, "a", 1) == NULL);
    void *v;
    bool is_new;
    TT_OK(tide_table_upsert(t, "alpha", 5, &v, &is_new, &e));
    TT_ASSERT(is_new);
    TT_ASSERT_EQ_INT(*(uint64_t *)v, 0); /* zero-filled */
    *(uint64_t *)v = 42;
    TT_OK(tide_table_upsert(t, "alpha", 5, &v, &is_new, &e));
    TT_ASSERT(!is_new);
    TT_ASSERT_EQ_INT(*(uint64_t *)v, 42);
    TT_OK(tide_table_upsert(t, "", 0, &v, &is_new, &e)); /* the empty key */
    TT_ASSERT(is_new);
    TT_ASSERT(tide_table_find(t, "", 0) == v);
    TT_ASSERT(tide_table_find(t, "alph", 4) == NULL);
    TT_ASSERT_EQ_INT(tide_table_count(t), 2);
    TT_ASSERT(tide_table_delete(t, "alpha", 5));
    TT_ASSERT(!tide_table_delete(t, "alpha", 5));
    TT_ASSERT(tide_table_find(t, "alpha", 5) == NULL);
    TT_ASSERT_EQ_INT(tide_table_count(t), 1);
    tide_table_free(t);
    tide_table_free(NULL);

    /* u64 mode; the byte API with 8-byte keys; bad lengths */
    TT_OK(tide_table_create(&t, TIDE_TABLE_KEY_U64, 0, 0, &e)); /* a set */
    TT_OK(tide_table_upsert_u64(t, 7, &v, &is_new, &e));
    TT_ASSERT(is_new);
    uint64_t k7 = 7;
    TT_ASSERT(tide_table_find(t, &k7, 8) != NULL);
    TT_ASSERT(tide_table_find_u64(t, 8) == NULL);
    TT_ASSERT_EQ_INT(tide_table_upsert(t, "abc", 3, &v, NULL, &e), TIDE_EINVAL);
    TT_ASSERT(strstr(e.msg, "3 bytes") != NULL);
    tide_err_clear(&e);
    TT_ASSERT(tide_table_delete(t, &k7, 8));
    TT_ASSERT_EQ_INT(tide_table_count(t), 0);
    tide_table_free(t);

    TT_ASSERT_EQ_INT(tide_table_create(&t, TIDE_TABLE_KEY_BYTES, 1 << 20, 0, &e), TIDE_EINVAL);
    TT_ASSERT(t == NULL);
}

/* Random operation sequences against the model, both key modes, small
 * universes (many deletes and re-inserts of the same key) and large ones
 * (several growths), with occasional clear / reserve / remove_if. */
static void run_model(uint64_t seed, bool u64, size_t universe, size_t nops)
{
    uint64_t s = seed;
    mkey *k = calloc(universe, sizeof *k);
    make_keys(k, universe, u64, &s);
    tide_err e = {0};
    tide_table *t = NULL;
    int fail = 0;
    if (tide_table_create(&t, u64 ? TIDE_TABLE_KEY_U64 : TIDE_TABLE_KEY_BYTES, 8,
                          tt_rand(&s) % 4 ? 0 : universe / 2, &e)) {
        fail = 100;
        goto done;
    }
    for (size_t op = 0; op < nops && !fail; op++) {
        uint64_t r = tt_rand(&s) % 1000;
        size_t i = tt_rand(&s) % universe;
        if (r < 500) { /* upsert + increment */
            void *v;
            bool is_new;
            int rc = u64 && (r & 1) ? tide_table_upsert_u64(t, key_u64(&k[i]), &v, &is_new, &e)
                                    : tide_table_upsert(t, k[i].b, k[i].len, &v, &is_new, &e);
            if (rc || is_new == k[i].present) {
                fail = 10;
                break;
            }
            uint64_t x;
            memcpy(&x, v, 8);
            if (x != (k[i].present ? k[i].val : 0)) {
                fail = 11;
                break;
            }
            k[i].present = true;
            k[i].val += 1 + (r & 3);
            memcpy(v, &k[i].val, 8);
        } else if (r < 700) { /* find */
            uint64_t *v =
                u64 ? tide_table_find_u64(t, key_u64(&k[i])) : tide_table_find(t, k[i].b, k[i].len);
            if ((v != NULL) != k[i].present || (v && *v != k[i].val))
                fail = 12;
        } else if (r < 990) { /* delete */
            bool d = u64 && (r & 1) ? tide_table_delete_u64(t, key_u64(&k[i]))
                                    : tide_table_delete(t, k[i].b, k[i].len);
            if (d != k[i].present)
                fail = 13;
            k[i].present = false;
            k[i].val = 0;
        } else if (r < 992) { /* clear */
            tide_table_clear(t);
            for (size_t j = 0; j < universe; j++)
                k[j].present = false, k[j].val = 0;
        } else if (r < 994) { /* reserve */
            if (tide_table_reserve(t, tide_table_count(t) + tt_rand(&s) % 1000, &e))
                fail = 14;
        } else if (r < 996) { /* remove_if: delete the odd values */
            size_t want = 0;
            for (size_t j = 0; j < universe; j++)
                if (k[j].present && (k[j].val & 1)) {
                    k[j].present = false;
                    k[j].val = 0;
                    want++;
                }
            if (tide_table_remove_if(t, pred_odd, NULL) != want)
                fail = 15;
        } else {
            fail = compare_all(t, k, universe, u64);
        }
    }
    if (!fail)
        fail = compare_all(t, k, universe, u64);
done:
    tide_table_free(t);
    free(k);
    if (fail) {
        fprintf(stderr, "  model mismatch %d (u64=%d universe=%zu)\n", fail, u64, universe);
        TT_SEED(seed);
    }
    TT_ASSERT(!fail);
}

static void test_model_random(void)
{
    TT_FOR_SEEDS(seed, 1, 60) {
        size_t universe = seed % 3 == 0 ? 5000 : seed % 3 == 1 ? 300 : 17;
        size_t nops = universe > 1000 ? 60000 : 20000;
        run_model(seed, seed & 1, universe, nops);
        if (tt_failed_now)
            return;
    }
}

/* Grow from the minimum size to 200k entries, checking invariants along the
 * way, then delete everything in a different order. */
static void test_growth_and_delete_all(void)
{
    tide_err e = {0};
    tide_table *t;
    TT_OK(tide_table_create(&t, TIDE_TABLE_KEY_U64, 8, 0, &e));
    const uint64_t n = 200000;
    for (uint64_t i = 0; i < n; i++) {
        void *v;
        TT_OK(tide_table_upsert_u64(t, i * 2654435761u, &v, NULL, &e));
        memcpy(v, &i, 8);
        if ((i & (i - 1)) == 0)
            TT_ASSERT(tide_table_check(t));
    }
    TT_ASSERT_EQ_INT(tide_table_count(t), n);
    TT_ASSERT(tide_table_check(t));
    for (uint64_t i = n; i-- > 0;) {
        uint64_t *v = tide_table_find_u64(t, i * 2654435761u);
        TT_ASSERT(v && *v == i);
    }
    size_t mem = tide_table_memory(t);
    for (uint64_t j = 0; j < n; j++) {
        uint64_t i = (j * 7919) % n; /* a permutation: 7919 is prime, n not a multiple */
        TT_ASSERT(tide_table_delete_u64(t, i * 2654435761u));
    }
    TT_ASSERT_EQ_INT(tide_table_count(t), 0);
    TT_ASSERT(tide_table_check(t));
    /* clear keeps the memory: refilling does not grow */
    tide_table_clear(t);
    for (uint64_t i = 0; i < n; i++) {
        void *v;
        TT_OK(tide_table_upsert_u64(t, i, &v, NULL, &e));
    }
    TT_ASSERT_EQ_INT(tide_table_memory(t), mem);
    tide_table_free(t);
}

/* Byte keys: deleting most keys reclaims their arena bytes by compaction,
 * and every surviving key stays correct. */
static void test_key_compaction(void)
{
    tide_err e = {0};
    tide_table *t;
    TT_OK(tide_table_create(&t, TIDE_TABLE_KEY_BYTES, 8, 0, &e));
    char key[64];
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 60000; i++) {
            int n = snprintf(key, sizeof key, "round-%d-key-%08d-padding-padding", round, i);
            void *v;
            TT_OK(tide_table_upsert(t, key, (size_t)n, &v, NULL, &e));
            memcpy(v, &i, sizeof i);
        }
        for (int i = 0; i < 60000; i++) {
            if (i % 10 == 0)
                continue;
            int n = snprintf(key, sizeof key, "round-%d-key-%08d-padding-padding", round, i);
            TT_ASSERT(tide_table_delete(t, key, (size_t)n));
        }
    }
    TT_ASSERT_EQ_INT(tide_table_count(t), 18000);
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 60000; i += 10) {
            int n = snprintf(key, sizeof key, "round-%d-key-%08d-padding-padding", round, i);
            int *v = tide_table_find(t, key, (size_t)n);
            TT_ASSERT(v && *v == i);
        }
    /* Slots: 131072 x 32 bytes = 4 MiB (peak 66000 entries; no shrinking).
     * Keys: 18000 live x 48 bytes = 0.86 MiB; without compaction the 162000
     * dead keys would add 7.4 MiB, with it at most ~1 MiB stays dead. */
    TT_ASSERT_MSG(tide_table_memory(t) < 7u * 1024 * 1024, "memory %zu", tide_table_memory(t));
    TT_ASSERT(tide_table_check(t));
    tide_table_free(t);
}

/* Snapshot -> restore reproduces the model; corruption is detected. */
static void test_snapshot_roundtrip(void)
{
    TT_FOR_SEEDS(seed, 100, 120 - 1) {
        uint64_t s = seed;
        bool u64 = seed & 1;
        size_t universe = 1 + tt_rand(&s) % 3000;
        mkey *k = calloc(universe, sizeof *k);
        make_keys(k, universe, u64, &s);
        tide_err e = {0};
        tide_table *t, *r;
        tide_table_key_mode mode = u64 ? TIDE_TABLE_KEY_U64 : TIDE_TABLE_KEY_BYTES;
        TT_OK(tide_table_create(&t, mode, 8, 0, &e));
        TT_OK(tide_table_create(&r, mode, 8, 0, &e));
        for (size_t i = 0; i < universe; i++) {
            if (tt_rand(&s) % 3 == 0)
                continue;
            void *v;
            TT_OK(tide_table_upsert(t, k[i].b, k[i].len, &v, NULL, &e));
            k[i].present = true;
            k[i].val = tt_rand(&s);
            memcpy(v, &k[i].val, 8);
        }
        tide_buf b = {0};
        TT_OK(tide_buf_append(&b, "junk", 4)); /* snapshot appends */
        TT_OK(tide_table_snapshot(t, &b, NULL, NULL, &e));
        /* restore into a table that already holds something: replaced */
        void *v;
        TT_OK(tide_table_upsert(r, k[0].b, k[0].len, &v, NULL, &e));
        memset(v, 0xff, 8);
        TT_OK(tide_table_restore(r, b.data + 4, b.len - 4, NULL, NULL, &e));
        int rc = compare_all(r, k, universe, u64);
        if (rc)
            TT_SEED(seed);
        TT_ASSERT_EQ_INT(rc, 0);
        /* every single-byte corruption and every truncation is rejected */
        const unsigned char *snap = b.data + 4;
        size_t len = b.len - 4;
        for (size_t pos = 0; pos < len; pos += 1 + len / 200) {
            unsigned char *c = malloc(len);
            memcpy(c, snap, len);
            c[pos] ^= (unsigned char)(1 + tt_rand(&s) % 255);
            tide_err_clear(&e);
            TT_ASSERT_EQ_INT(tide_table_restore(r, c, len, NULL, NULL, &e), TIDE_ECORRUPT);
            TT_ASSERT_EQ_INT(tide_table_count(r), 0);
            tide_err_clear(&e);
            TT_ASSERT_EQ_INT(tide_table_restore(r, c, pos, NULL, NULL, &e), TIDE_ECORRUPT);
            free(c);
        }
        tide_table_free(t);
        tide_table_free(r);
        tide_buf_free(&b);
        free(k);
    }
}

/* A value codec: the 8-byte value written as a decimal string. */
static int enc_dec(const void *value, tide_buf *out, void *ctx, tide_err *e)
{
    (void)ctx, (void)e;
    uint64_t v;
    memcpy(&v, value, 8);
    return tide_buf_printf(out, "%llu", (unsigned long long)v);
}

static int dec_dec(const unsigned char *p, size_t n, void *value, void *ctx, tide_err *e)
{
    (void)ctx;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return tide_err_set(e, TIDE_ECORRUPT, "not a digit");
        v = v * 10 + (uint64_t)(p[i] - '0');
    }
    memcpy(value, &v, 8);
    return 0;
}

static void test_snapshot_codec_and_mismatch(void)
{
    tide_err e = {0};
    tide_table *t, *r, *wrong;
    TT_OK(tide_table_create(&t, TIDE_TABLE_KEY_BYTES, 8, 0, &e));
    TT_OK(tide_table_create(&r, TIDE_TABLE_KEY_BYTES, 8, 0, &e));
    TT_OK(tide_table_create(&wrong, TIDE_TABLE_KEY_BYTES, 16, 0, &e));
    for (uint64_t i = 0; i < 1000; i++) {
        char key[32];
        int n = snprintf(key, sizeof key, "k%llu", (unsigned long long)i);
        void *v;
        TT_OK(tide_table_upsert(t, key, (size_t)n, &v, NULL, &e));
        uint64_t x = i * i * 1000003;
        memcpy(v, &x, 8);
    }
    tide_buf b = {0};
    TT_OK(tide_table_snapshot(t, &b, enc_dec, NULL, &e));
    TT_OK(tide_table_restore(r, b.data, b.len, dec_dec, NULL, &e));
    TT_ASSERT_EQ_INT(tide_table_count(r), 1000);
    for (uint64_t i = 0; i < 1000; i++) {
        char key[32];
        int n = snprintf(key, sizeof key, "k%llu", (unsigned long long)i);
        uint64_t *v = tide_table_find(r, key, (size_t)n);
        TT_ASSERT(v && *v == i * i * 1000003);
    }
    /* header checks name what is wrong */
    TT_ASSERT_EQ_INT(tide_table_restore(wrong, b.data, b.len, dec_dec, NULL, &e), TIDE_ECORRUPT);
    TT_ASSERT(strstr(e.msg, "value size") != NULL);
    tide_err_clear(&e);
    tide_buf raw = {0};
    TT_OK(tide_table_snapshot(t, &raw, NULL, NULL, &e));
    /* a raw snapshot read with the decoder: "not a digit" from the decoder */
    int rc = tide_table_restore(r, raw.data, raw.len, dec_dec, NULL, &e);
    TT_ASSERT(rc == TIDE_ECORRUPT);
    TT_ASSERT(strstr(e.msg, "not a digit") != NULL);
    /* with a decoder, the entries restored so far stay (the first failed) */
    TT_ASSERT_EQ_INT(tide_table_count(r), 1);
    tide_table_clear(r);
    tide_err_clear(&e);
    /* version bump with a recomputed CRC: rejected as unknown version */
    raw.data[4] = 9;
    tide_put_u32(raw.data + raw.len - 4, tide_crc32c(0, raw.data, raw.len - 4));
    TT_ASSERT_EQ_INT(tide_table_restore(r, raw.data, raw.len, NULL, NULL, &e), TIDE_ECORRUPT);
    TT_ASSERT(strstr(e.msg, "version 9") != NULL);
    tide_err_clear(&e);
    /* a CRC mismatch is named as such */
    raw.data[4] = 1;
    raw.data[raw.len - 1] ^= 1;
    TT_ASSERT_EQ_INT(tide_table_restore(r, raw.data, raw.len, NULL, NULL, &e), TIDE_ECORRUPT);
    TT_ASSERT(strstr(e.msg, "CRC") != NULL);
    tide_table_free(t);
    tide_table_free(r);
    tide_table_free(wrong);
    tide_buf_free(&b);
    tide_buf_free(&raw);
}

/* Odd value sizes: 3-byte values survive growth and shifts intact. */
/* tide_table_copy: a copy equal to the model of the original, in both key
 * modes (bytes keys of 0..24 bytes: inline and arena); independent of the
 * original (changing or freeing the original leaves it as it was); reusing
 * a copy's memory, of the same size or another, gives an equal copy. */
static void test_copy(void)
{
    TT_FOR_SEEDS(seed, 1, 6) {
        bool u64 = seed & 1;
        size_t universe = seed <= 2 ? 40 : 6000;
        uint64_t s = seed;
        mkey *k = calloc(universe, sizeof *k), *k2 = calloc(universe, sizeof *k2);
        TT_ASSERT(k && k2);
        make_keys(k, universe, u64, &s);
        tide_err e = {0};
        tide_table *t = NULL, *c = NULL;
        TT_OK(tide_table_create(&t, u64 ? TIDE_TABLE_KEY_U64 : TIDE_TABLE_KEY_BYTES, 8, 0, &e));
        int fail = 0;
        for (int round = 0; round < 4 && !fail; round++) {
            /* change the original: inserts (growth in the first rounds), deletes */
            for (size_t i = 0; i < universe; i++) {
                uint64_t r = tt_rand(&s) % 4;
                void *v;
                if (r < 2 || round == 0) {
                    if (tide_table_upsert(t, k[i].b, k[i].len, &v, NULL, &e))
                        fail = 1;
                    k[i].present = true;
                    k[i].val = tt_rand(&s);
                    memcpy(v, &k[i].val, 8);
                } else if (r == 2) {
                    tide_table_delete(t, k[i].b, k[i].len);
                    k[i].present = false;
                    k[i].val = 0;
                }
            }
            if (round == 2)
                TT_OK(tide_table_reserve(t, 4 * universe, &e)); /* the copy's memory no longer fits */
            /* copy (round 0: a new table; then into the last copy) */
            if (!fail && tide_table_copy(&c, t, &e))
                fail = 2;
            memcpy(k2, k, universe * sizeof *k);
            if (!fail && (fail = compare_all(c, k2, universe, u64)) != 0)
                fail += 20;
            /* the original changes: the copy does not */
            for (size_t i = 0; i < universe && !fail; i += 2) {
                tide_table_delete(t, k[i].b, k[i].len);
                k[i].present = false;
                k[i].val = 0;
            }
            if (!fail && round == 3) {
                tide_table_free(t);
                t = NULL;
            }
            if (!fail && (fail = compare_all(c, k2, universe, u64)) != 0)
                fail += 40;
        }
        tide_table_free(t);
        tide_table_free(c);
        free(k);
        free(k2);
        if (fail) {
            fprintf(stderr, "  copy mismatch %d (u64=%d universe=%zu)\n", fail, u64, universe);
            TT_SEED(seed);
        }
        TT_ASSERT(!fail);
    }
}

/* Sorted order where keys share their first 16 bytes (the radix sort's
 * prefix: ties sorted by the full comparison) or differ only by trailing
 * zero bytes ("ab" < "ab\0": the prefix pads with zeros), against qsort
 * of the model. */
static void test_sorted_ties(void)
{
    enum { N = 600 };
    static mkey k[N];
    uint64_t s = 5;
    tide_err e = {0};
    tide_table *t = NULL;
    TT_OK(tide_table_create(&t, TIDE_TABLE_KEY_BYTES, 8, 0, &e));
    for (size_t i = 0; i < N; i++) {
        memset(&k[i], 0, sizeof k[i]);
        size_t common = i % 3 == 0 ? 0 : 16 + (size_t)(tt_rand(&s) % 3); /* 0, or 16..18 shared bytes */
        memset(k[i].b, 'x', common);
        /* then the id in base 4 with zero digits, so keys end in 0 bytes */
        size_t len = common;
        for (size_t v = i; v && len < MAXKEY; v /= 4)
            k[i].b[len++] = (unsigned char)(v % 4);
        if (i % 5 == 0 && len < MAXKEY)
            k[i].b[len++] = 0;
        k[i].len = (uint32_t)len;
    }
    const mkey *ms[N];
    size_t m = 0;
    for (size_t i = 0; i < N; i++) {
        void *v;
        bool is_new;
        TT_OK(tide_table_upsert(t, k[i].b, k[i].len, &v, &is_new, &e));
        if (!is_new)
            continue; /* (two ids gave the same bytes) */
        k[i].val = i;
        memcpy(v, &k[i].val, 8);
        ms[m++] = &k[i];
    }
    TT_ASSERT(m > 500);
    qsort(ms, m, sizeof *ms, cmp_model);
    tide_table_entry *ents = malloc(m * sizeof *ents);
    TT_ASSERT(ents);
    tide_table_sorted(t, ents);
    for (size_t i = 0; i < m; i++) {
        uint64_t v;
        memcpy(&v, ents[i].value, 8);
        TT_ASSERT_MSG(ents[i].klen == ms[i]->len && memcmp(ents[i].key, ms[i]->b, ms[i]->len) == 0 &&
                          v == ms[i]->val,
                      "entry %zu: key %llu, the model's %llu", i, (unsigned long long)v,
                      (unsigned long long)ms[i]->val);
    }
    free(ents);
    tide_table_free(t);
}

static void test_odd_value_size(void)
{
    tide_err e = {0};
    tide_table *t;
    TT_OK(tide_table_create(&t, TIDE_TABLE_KEY_BYTES, 3, 0, &e));
    TT_ASSERT_EQ_INT(tide_table_value_size(t), 3);
    for (uint32_t i = 0; i < 5000; i++) {
        void *v;
        TT_OK(tide_table_upsert(t, &i, sizeof i, &v, NULL, &e));
        unsigned char b[3] = {(unsigned char)i, (unsigned char)(i >> 8), 0x5a};
        memcpy(v, b, 3);
    }
    for (uint32_t i = 0; i < 5000; i += 3)
        TT_ASSERT(tide_table_delete(t, &i, sizeof i));
    for (uint32_t i = 0; i < 5000; i++) {
        unsigned char *v = tide_table_find(t, &i, sizeof i);
        if (i % 3 == 0) {
            TT_ASSERT(v == NULL);
        } else {
            TT_ASSERT(v && v[0] == (unsigned char)i && v[1] == (unsigned char)(i >> 8) &&
                      v[2] == 0x5a);
        }
    }
    /* a snapshot of this table does not restore into a u64-key table */
    tide_buf b = {0};
    TT_OK(tide_table_snapshot(t, &b, NULL, NULL, &e));
    tide_table *u;
    TT_OK(tide_table_create(&u, TIDE_TABLE_KEY_U64, 3, 0, &e));
    TT_ASSERT_EQ_INT(tide_table_restore(u, b.data, b.len, NULL, NULL, &e), TIDE_ECORRUPT);
    TT_ASSERT(strstr(e.msg, "key mode") != NULL);
    tide_buf_free(&b);
    tide_table_free(u);
    tide_table_free(t);
}

int main(void)
{
    TT_RUN(test_basic);
    TT_RUN(test_odd_value_size);
    TT_RUN(test_model_random);
    TT_RUN(test_growth_and_delete_all);
    TT_RUN(test_key_compaction);
    TT_RUN(test_copy);
    TT_RUN(test_sorted_ties);
    TT_RUN(test_snapshot_roundtrip);
    TT_RUN(test_snapshot_codec_and_mismatch);
    TT_DONE();
}
