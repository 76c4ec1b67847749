/*
 * snap_tt.h - what the snapshot / restore tests of the operators share:
 *
 *   - an output log: every callback of a run appended as bytes, so two runs
 *     (uninterrupted, and cut by snapshot / restore) compare with memcmp,
 *     doubles by their bits;
 *   - the seeds of a property test: TIDE_SNAP_SEED=<n> in the environment
 *     replays seed n alone (the seed a failure printed);
 *   - the damage loops: every single-byte change and every truncation of a
 *     snapshot must be refused (TIDE_ECORRUPT), and payloads changed behind
 *     a recomputed checksum must be read without a crash or a leak (run
 *     under ASan).
 */
#ifndef TIDE_TESTS_SNAP_TT_H
#define TIDE_TESTS_SNAP_TT_H

#include "base/buf.h"
#include "base/crc32c.h"
#include "base/err.h"
#include "data/types.h"
#include "exec/winagg.h"
#include "tt.h"

#include <stdbool.h>
#include <stdint.h>

/* ---- the output log --------------------------------------------------------- */

static inline void slog_raw(tide_buf *b, const void *p, size_t n)
{
    if (n && tide_buf_append(b, p, n) != 0)
        abort(); /* a test out of memory */
}

static inline void slog_i64(tide_buf *b, int64_t v) { slog_raw(b, &v, sizeof v); }

static inline void slog_bytes(tide_buf *b, const void *p, size_t n)
{
    slog_i64(b, (int64_t)n);
    slog_raw(b, p, n);
}

static inline void slog_value(tide_buf *b, const tide_value *v)
{
    unsigned char h[2] = {(unsigned char)v->type, v->is_null ? 1 : 0};
    slog_raw(b, h, 2);
    if (v->is_null || v->type == TIDE_TYPE_NULL)
        return;
    switch (v->type) {
    case TIDE_TYPE_BOOLEAN: slog_i64(b, v->u.b); break;
    case TIDE_TYPE_STRING: slog_bytes(b, v->u.s.ptr, v->u.s.len); break;
    default: slog_raw(b, &v->u, 8); break; /* BIGINT, TIMESTAMP, DOUBLE bits */
    }
}

static inline void slog_values(tide_buf *b, const tide_value *v, size_t n)
{
    slog_i64(b, (int64_t)n);
    for (size_t i = 0; i < n; i++)
        slog_value(b, &v[i]);
}

/* The callbacks of the window operators (exec/winagg.h, exec/sessagg.h)
 * writing to the log `ctx` (a tide_buf). */
static inline int slog_emit(void *ctx, const tide_winagg_row *row)
{
    tide_buf *b = ctx;
    slog_i64(b, 'R');
    slog_i64(b, row->op);
    slog_bytes(b, row->key, row->key_len);
    slog_i64(b, row->start);
    slog_i64(b, row->end);
    slog_values(b, row->vals, row->n_vals);
    return 0;
}

static inline int slog_late(void *ctx, const void *key, uint32_t klen, int64_t ts, const tide_value *in,
                     size_t n_in)
{
    tide_buf *b = ctx;
    slog_i64(b, 'L');
    slog_bytes(b, key, klen);
    slog_i64(b, ts);
    slog_values(b, in, n_in);
    return 0;
}

/* The first byte where two logs differ, or -1 when they are equal. */
static inline long slog_diff(const tide_buf *a, const tide_buf *b)
{
    size_t n = a->len < b->len ? a->len : b->len;
    for (size_t i = 0; i < n; i++)
        if (a->data[i] != b->data[i])
            return (long)i;
    return a->len == b->len ? -1 : (long)n;
}

/* ---- seeds ---------------------------------------------------------------------- */

/* A property test runs seeds first .. first + *count - 1; with TIDE_SNAP_SEED
 * set it runs that one seed (*count becomes 1). */
static inline uint64_t snap_tt_seeds(uint64_t first, int *count)
{
    const char *env = getenv("TIDE_SNAP_SEED");
    if (!env || !*env)
        return first;
    *count = 1;
    return strtoull(env, NULL, 10);
}

#define SNAP_TT_FAILED(seed, ...)                                                          \
    do {                                                                                   \
        TT_SEED(seed);                                                                     \
        fprintf(stderr, "  replay: TIDE_SNAP_SEED=%" PRIu64 " <this test>: ", (uint64_t)(seed)); \
        fprintf(stderr, __VA_ARGS__);                                                      \
        fputc('\n', stderr);                                                               \
    } while (0)

/* ---- damage ----------------------------------------------------------------------- */

/* Restore `buf[0, len)` into a fresh operator and free it; the restore's
 * code.  (A successful restore also takes a snapshot of the result.) */
typedef int (*snap_tt_restore_fn)(void *ctx, const void *buf, size_t len, tide_err *e);

/* Every single-byte change of snap[0, n) (all 255 per byte when n <=
 * all_upto, else one per byte, from `seed`) and every truncation must make
 * `fn` return TIDE_ECORRUPT with a message.  Returns NULL, or what failed
 * (the byte in *where). */
static inline const char *snap_tt_damage(const unsigned char *snap, size_t n, size_t all_upto,
                                         uint64_t seed, snap_tt_restore_fn fn, void *ctx,
                                         size_t *where)
{
    unsigned char *b = malloc(n ? n : 1);
    const char *why = NULL;
    if (!b)
        return "out of memory";
    memcpy(b, snap, n);
    for (size_t i = 0; i < n && !why; i++) {
        for (unsigned d = 1; d < 256 && !why; d++) {
            unsigned x = n <= all_upto ? d : 1 + (unsigned)(tt_rand(&seed) % 255);
            b[i] = (unsigned char)(snap[i] ^ x);
            tide_err e = {0};
            int rc = fn(ctx, b, n, &e);
            if (rc != TIDE_ECORRUPT || !e.msg[0])
                why = rc == 0 ? "a changed byte was accepted" : "a changed byte: not TIDE_ECORRUPT";
            b[i] = snap[i];
            *where = i;
            if (n > all_upto)
                break;
        }
    }
    for (size_t cut = 0; cut < n && !why; cut++) {
        tide_err e = {0};
        int rc = fn(ctx, b, cut, &e);
        if (rc != TIDE_ECORRUPT || !e.msg[0])
            why = rc == 0 ? "a truncation was accepted" : "a truncation: not TIDE_ECORRUPT";
        *where = cut;
    }
    free(b);
    return why;
}

/* Where the payload of the section at buf begins (state/snap.h layout). */
static inline size_t snap_tt_payload(const unsigned char *buf)
{
    return 4 + 4 + 2 + (size_t)(buf[8] | buf[9] << 8) + 4;
}

/* Seal the section buf[0, n) again after its payload was changed. */
static inline void snap_tt_reseal(unsigned char *buf, size_t n)
{
    uint32_t crc = tide_crc32c(0, buf, n - 4);
    for (int i = 0; i < 4; i++)
        buf[n - 4 + i] = (unsigned char)(crc >> (8 * i));
}

/* `rounds` payloads with 1-3 random bytes changed (first `skip` payload
 * bytes, e.g. the config, left alone), each resealed: `fn` may accept or
 * refuse them (TIDE_ECORRUPT or TIDE_EINVAL), never crash or leak.  Returns
 * NULL or what failed; *accepted counts the accepted ones. */
static inline const char *snap_tt_fuzz(const unsigned char *snap, size_t n, size_t skip,
                                       int rounds, uint64_t seed, snap_tt_restore_fn fn,
                                       void *ctx, int *accepted)
{
    size_t p0 = snap_tt_payload(snap) + skip;
    if (n < p0 + 5)
        return NULL;
    unsigned char *b = malloc(n);
    if (!b)
        return "out of memory";
    const char *why = NULL;
    for (int k = 0; k < rounds && !why; k++) {
        memcpy(b, snap, n);
        int m = 1 + (int)(tt_rand(&seed) % 3);
        for (int j = 0; j < m; j++) {
            size_t at = p0 + (size_t)(tt_rand(&seed) % (n - 4 - p0));
            b[at] = (unsigned char)tt_rand(&seed);
        }
        snap_tt_reseal(b, n);
        tide_err e = {0};
        int rc = fn(ctx, b, n, &e);
        if (rc == 0)
            ++*accepted;
        else if ((rc != TIDE_ECORRUPT && rc != TIDE_EINVAL) || !e.msg[0])
            why = "a changed payload: neither accepted nor refused as corrupt";
    }
    free(b);
    return why;
}

#endif
