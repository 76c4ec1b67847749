/*
 * log_gen.h - the deterministic record generator of the log tests.
 *
 * Record i of partition p is a pure function of (p, i), so a test checks
 * what a reader returns against an independent recomputation, never against
 * tide's own earlier output.  The records cover the edge cases of the batch
 * format: null keys and empty (non-null) keys, empty values, timestamps that
 * go backwards inside a batch, and negative timestamp deltas.
 */
#ifndef TIDE_TESTS_LOG_GEN_H
#define TIDE_TESTS_LOG_GEN_H

#include "log/batch.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define LOG_GEN_KEY_MAX 24
#define LOG_GEN_VAL_MAX 160

typedef struct log_gen_rec {
    int64_t ts;
    bool has_key;
    size_t key_len, val_len;
    unsigned char key[LOG_GEN_KEY_MAX];
    unsigned char val[LOG_GEN_VAL_MAX];
} log_gen_rec;

static inline uint64_t log_gen_mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* Fill `g` with record `i` of partition `p`; values at most `val_max` bytes. */
static inline void log_gen(uint32_t p, uint64_t i, size_t val_max, log_gen_rec *g)
{
    uint64_t h = log_gen_mix(((uint64_t)p << 40) ^ i);
    if (val_max > LOG_GEN_VAL_MAX)
        val_max = LOG_GEN_VAL_MAX;
    /* mostly increasing, sometimes a little back in time */
    g->ts = 1700000000000 + (int64_t)(i * 10) - (int64_t)(h % 7) * 9 + (int64_t)p;
    g->has_key = h % 5 != 0;
    g->key_len = g->has_key ? (size_t)((h >> 8) % (LOG_GEN_KEY_MAX + 1)) : 0;
    g->val_len = (size_t)((h >> 16) % (val_max + 1));
    uint64_t s = h;
    for (size_t k = 0; k < g->key_len; k++)
        g->key[k] = (unsigned char)(log_gen_mix(s + 1000 + k) >> 24);
    for (size_t k = 0; k < g->val_len; k += 8) {
        uint64_t v = log_gen_mix(s + k);
        size_t m = g->val_len - k < 8 ? g->val_len - k : 8;
        memcpy(g->val + k, &v, m);
    }
}

/* A tide_record borrowing g's bytes. */
static inline tide_record log_gen_record(const log_gen_rec *g)
{
    tide_record r;
    memset(&r, 0, sizeof r);
    r.timestamp = g->ts;
    r.key = g->has_key ? (const void *)g->key : NULL;
    r.key_len = g->key_len;
    r.value = g->val;
    r.value_len = g->val_len;
    return r;
}

/* Compare what a reader returned with record i of partition p; on a
 * mismatch, write why into `why` and return false. */
static inline bool log_gen_check(const tide_record *r, uint32_t p, uint64_t i, size_t val_max,
                                 char *why, size_t cap)
{
    log_gen_rec g;
    log_gen(p, i, val_max, &g);
    if (r->offset != i) {
        snprintf(why, cap, "partition %u: offset %llu, expected %llu", p,
                 (unsigned long long)r->offset, (unsigned long long)i);
        return false;
    }
    if (r->timestamp != g.ts) {
        snprintf(why, cap, "partition %u offset %llu: timestamp %lld, expected %lld", p,
                 (unsigned long long)i, (long long)r->timestamp, (long long)g.ts);
        return false;
    }
    if ((r->key != NULL) != g.has_key || r->key_len != g.key_len ||
        (g.key_len && memcmp(r->key, g.key, g.key_len) != 0)) {
        snprintf(why, cap, "partition %u offset %llu: key differs (%s, %zu bytes; expected %s, %zu)",
                 p, (unsigned long long)i, r->key ? "set" : "null", r->key_len,
                 g.has_key ? "set" : "null", g.key_len);
        return false;
    }
    if (r->value_len != g.val_len || (g.val_len && (!r->value || memcmp(r->value, g.val, g.val_len) != 0))) {
        snprintf(why, cap, "partition %u offset %llu: value differs (%zu bytes, expected %zu)", p,
                 (unsigned long long)i, r->value_len, g.val_len);
        return false;
    }
    return true;
}

#endif
