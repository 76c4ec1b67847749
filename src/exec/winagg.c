/*
 * winagg.c - keyed windowed aggregation (see winagg.h).
 *
 * Design.
 *
 * Keys of SESSION windows, and keys longer than 16 bytes, are interned
 * (the other windows' entries hold their key inline, so a window's creation
 * and release never visit a key record): `keys` is a dense array of key
 * records (hash, bytes inline up to 16 bytes, else malloc'd once per key, a
 * count of live windows, the head of the key's session list), indexed by an
 * open-addressing table
 * with linear probing (`kslots`: 32 bits of hash + index).  A key whose
 * last window is freed stays interned for a while (a stable key set would
 * otherwise be dropped and re-interned every window period): a sweep, run
 * after as many window creations as there are interned keys, drops the keys
 * that were idle at the previous sweep and still are (a CLOCK scheme), so
 * idle keys are bounded by about two periods' worth.
 *
 * Window states are a dense array `wins` of entries of `wstride` bytes
 * (whole cache lines, 128-byte aligned): a 64-byte header (start, end, key
 * length and, up to 16 bytes, a copy of its bytes, flags, a generation,
 * and 8 bytes that hold the accumulators when they fit, as COUNT(*)'s do),
 * then the accumulators inline (the aggregates' state slots back to back),
 * then, for accumulating and retracting modes, the previously emitted
 * results.  So a record's update reads one line (COUNT(*)) or two adjacent
 * ones, and a firing adjacent lines of one entry, not three scattered
 * arrays.  Free entries are chained on a free list, so steady state
 * allocates nothing.  TUMBLE, HOP, CUMULATE and GLOBAL windows
 * are found through a second table (`wslots`) keyed by (key bytes, start,
 * end): the hot path is one slot probe and one window entry (plus its
 * accumulators), without touching the key record; the key record (only
 * long keys have one) is needed only when a window is created or freed; a
 * short key's hash is recomputed from the entry's copy.  SESSION windows hang off their
 * key's session list (live sessions of a key never intersect, so a record
 * meets at most two of them).
 *
 * Memory latency, not instructions, is the cost here (a cache miss is
 * several hundred ns on the reference VMs), so tide_winagg_push_batch
 * prefetches the slots and entries of a group of records before pushing
 * them one by one (reusing the windows and hashes its prefetch stage
 * computed), or, for TUMBLE COUNT(*), first combines the batch's records
 * per (key, window) in a cache-sized table (push_count_tumble_batch), the
 * firing loops prefetch a few windows ahead, and the big
 * arrays ask for transparent huge pages (with 4 KiB pages nearly every
 * random access also missed the TLB; this alone gave ~30%).
 *
 * Time.  A min-heap of (time, window, generation) holds, for every live
 * window, its next watermark action: its fire time end - 1 (fire, see
 * time/trigger.h) until it fired on time, then end - 1 + L (free).  Each state change that moves the action (first
 * firing, session merge, free) bumps the window's generation, so stale heap
 * entries are recognised and skipped when popped.  Advancing the watermark
 * pops the due entries, sorts the windows to fire by (end, start, key
 * bytes) and emits them, then frees what expired.  The sort compares a
 * copied-out key (the first 16 key bytes as two big-endian integers), so it
 * never chases a pointer for keys up to 16 bytes.  (Measured: once the sort
 * stopped touching key records, the heap itself costs ~2% of a tumbling
 * COUNT(*), so per-end fire lists were not worth their complexity yet.)
 *
 * Aggregates are exec/agg.h's (step / merge / result / free on a state slot
 * of a->state_size bytes); a window's slots are packed back to back after
 * its header (win_acc).  The previous results are compared and kept by
 * exec/agg.h's tide_agg_results_same / _keep, the one mechanism the
 * session and group aggregates use too.
 */
#include "exec/winagg.h"
#include "base/buf.h"

#include "base/hash.h"
#include "base/sort.h"
#include "exec/agg.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define NONE UINT32_MAX

/* ---- operator state ----------------------------------------------------- */

enum {
    W_LIVE = 1,      /* entry in use */
    W_EMITTED = 2,   /* the row (key, start, end) was emitted at least once */
    W_DONE = 4,      /* fired on time (W >= end - 1); heap action is now cleanup */
    W_DIRTY = 8,     /* records added since the last firing */
    W_IN_DLIST = 16, /* queued on the early-firing dirty list */
};

/* 64 bytes, and the array is 64-byte aligned: one cache line per window. */
typedef struct wa_win {
    int64_t start, end;
    uint64_t acc0;          /* the accumulators when they fit in 8 bytes (acc_inline) */
    unsigned char kinl[16]; /* the key's bytes when klen <= 16, zero-padded */
    uint32_t klen;          /* the key's length */
    uint32_t since_fire;    /* records added since the last firing (saturates) */
    uint32_t key;
    uint32_t next; /* session list of the key, or free list */
    uint32_t gen;
    uint32_t flags;
} wa_win;

_Static_assert(sizeof(wa_win) == 64, "a window entry is one cache line");

typedef struct wa_key {
    uint64_t hash;
    uint32_t len;
    uint32_t refs;     /* live windows */
    uint32_t sessions; /* head of the session list */
    uint32_t next_free;
    uint8_t used;      /* interned (in kslots) */
    uint8_t mark;      /* idle (refs == 0) at the last sweep */
    union {
        unsigned char inl[16];
        unsigned char *ext;
    } b;
} wa_key;

typedef struct wa_heap_ent {
    int64_t time;
    uint32_t win, gen;
} wa_heap_ent;

typedef struct wa_ref {
    uint32_t win, gen;
} wa_ref;

enum { WA_MAXW = 4 };

/* Prefetch state of one record of a batch: the key's hash and, for fixed
 * windows, the record's windows and their hashes (reused by the push). */
typedef struct wa_pf {
    uint64_t h;
    uint64_t kw[2]; /* the key's words (key_words) when it has <= 16 bytes */
    uint64_t wh[WA_MAXW];
    tide_win_range rg[WA_MAXW];
    uint32_t kidx;
    uint8_t nw;
    uint8_t interned; /* the key is interned (sessions, or longer than 16 bytes) */
} wa_pf;

/* Entry `i` of the window array (entries are op->wstride bytes apart). */
#define WIN(op, i) \
    ((wa_win *)(void *)((unsigned char *)(op)->wins + (size_t)(i) * (op)->wstride))

/* A window to fire, with its sort key copied out. */
typedef struct wa_fire {
    int64_t end, start;
    uint64_t k0, k1; /* the key's first 16 bytes, zero-padded, big-endian */
    const unsigned char *key; /* the key's bytes (read only past 16 bytes) */
    uint32_t key_len;
    uint32_t win;
} wa_fire;

struct tide_winagg {
    tide_winagg_config cfg;
    tide_winagg_call *aggs;
    size_t n_aggs;
    tide_agg *agg;    /* bound aggregates, n_aggs */
    size_t *agg_off;  /* offset of each aggregate's slot in an acc row */
    size_t acc_stride; /* bytes of one window's acc row (multiple of 8) */
    bool acc_inline;   /* acc_stride == 8: the acc row is the header's acc0 */
    int failed;
    bool has_inputs; /* some aggregate reads an input (not only COUNT(*)) */
    bool agg_pf;     /* some aggregate probes a table per step (tide_agg_prefetch) */
    int64_t wm;
    uint64_t late_count;

    wa_key *keys;
    uint32_t keys_cap, keys_free, n_keys;
    uint32_t n_idle;              /* interned keys with no live window */
    uint64_t created_since_sweep; /* windows created since the last sweep */
    uint64_t *kslots; /* (hash32 << 32) | (index + 1); 0 empty */
    uint32_t kmask;

    wa_win *wins;
    size_t wstride;   /* bytes of one entry of `wins`: header, acc row, prev */
    size_t prev_off;  /* offset of the previous results in an entry; 0: none */
    /* MIN/MAX of a STRING: a STRING result borrows its aggregate's state,
     * which the next step changes, so a previous STRING result is a copy in
     * the entry's own buffer (kept for the entry's next window, freed with
     * the operator); NULL arrays when no aggregate has a STRING result */
    char **prev_str;
    size_t *prev_scap;
    uint32_t wins_cap, n_wins;
    uint32_t *wfree; /* free entries, a stack (wins_cap room): the next few to
                        be used are known, so they are prefetched ahead */
    uint32_t n_wfree;
    uint64_t *wslots; /* non-session windows */
    uint32_t wmask, n_wslots_used;

    wa_heap_ent *heap;
    size_t heap_len, heap_cap;

    wa_ref *dirty; /* early firings by processing time */
    size_t dirty_len, dirty_cap;
    tide_trig_clock clock;

    wa_heap_ent *due; /* scratch: heap entries due at a watermark */
    size_t due_cap;
    uint32_t *dfs; /* scratch of heap_take_due (heap_len room) */
    size_t dfs_cap;
    wa_fire *fire; /* scratch for a round of firings */
    size_t fire_cap;
    tide_win_range *ranges; /* scratch for the assigner */
    tide_value *out;        /* scratch results, n_aggs */
    tide_value *old;        /* scratch previous results, n_aggs */

    /* scratch of the combining batch path (push_count_tumble_batch) */
    uint32_t *ct_slots;     /* CT_SLOTS: tag | (entry + 1) */
    struct ct_ent *ct_ents; /* CT_CHUNK distinct (key, window) of a chunk */
    uint32_t *ct_other;     /* CT_CHUNK records that go one by one */
};

static inline const unsigned char *key_bytes(const wa_key *k)
{
    return k->len <= sizeof k->b.inl ? k->b.inl : k->b.ext;
}

/* The key of `len` <= 16 bytes zero-padded to 16 bytes, as the two words
 * memcpy would load from such a buffer, built in registers: storing the
 * padded copy and loading it back costs a failed store-to-load forwarding
 * (overlapping stores) on every record. */
static inline void key_words(const void *key, uint32_t len, uint64_t w[2])
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    const unsigned char *k = key;
    uint64_t a = 0, b = 0;
    if (len >= 8) {
        memcpy(&a, k, 8);
        if (len > 8) {
            memcpy(&b, k + len - 8, 8);
            b >>= 8 * (16 - len); /* keep bytes 8 .. len-1, in the low bytes */
        }
    } else if (len >= 4) {
        uint32_t lo, hi;
        memcpy(&lo, k, 4);
        memcpy(&hi, k + len - 4, 4);
        a = lo | (uint64_t)hi << (8 * (len - 4)); /* overlapping bytes are equal */
    } else {
        for (uint32_t i = 0; i < len; i++)
            a |= (uint64_t)k[i] << (8 * i);
    }
    w[0] = a;
    w[1] = b;
#else
    unsigned char pk[16] = {0};
    if (len)
        memcpy(pk, key, len);
    memcpy(&w[0], pk, 8);
    memcpy(&w[1], pk + 8, 8);
#endif
}

/* The hash of a key of `len` <= 16 bytes from its words (key_words). */
static inline uint64_t hash_words(const uint64_t w[2], uint32_t len)
{
    /* two odd multipliers (each a bijection of its word), then one mix */
    return tide_hash_u64(w[0] * 0x9e3779b97f4a7c15ull ^
                         (w[1] ^ ((uint64_t)len << 56) ^ 0x77696e61ull) * 0xc2b2ae3d27d4eb4full);
}

/* A key's hash.  Keys of up to 16 bytes (the common ones: one or two
 * fixed-width columns) are mixed inline from their zero-padded words and
 * length; longer ones by tide_hash64. */
static inline uint64_t hash_key(const void *p, uint32_t len)
{
    if (len > 16)
        return tide_hash64(p, len, 0x77696e61ull);
    uint64_t w[2];
    key_words(p, len, w);
    return hash_words(w, len);
}

static inline uint64_t hash_win(uint64_t khash, int64_t start, int64_t end)
{
    return tide_hash_u64(khash ^ ((uint64_t)start * 0x9e3779b97f4a7c15ull) ^
                         ((uint64_t)end * 0xc2b2ae3d27d4eb4full));
}

static const char *rc_what(int rc)
{
    switch (rc) {
    case TIDE_ENOMEM: return "out of memory";
    case TIDE_ERANGE: return "SUM(BIGINT) overflow";
    default: return "emit callback failed";
    }
}

static int fail(tide_winagg *op, tide_err *e, int code, const char *what)
{
    if (!op->failed)
        op->failed = code;
    return tide_err_set(e, code, "window aggregate: %s", what);
}

/* ---- growable arrays ---------------------------------------------------- */


/* `n` bytes, 128-byte aligned (pairs of cache lines).  Big arrays (>= 4 MiB)
 * are 2 MiB-aligned and asked to use transparent huge pages: the state is
 * read at random, and with 4 KiB pages nearly every access (and prefetch)
 * also misses the TLB.  Best effort: without THP it is a plain array. */
#define HUGE_PAGE ((size_t)2 << 20)
static void *big_alloc(size_t n)
{
    void *p = NULL;
    if (n < 2 * HUGE_PAGE)
        return aligned_alloc(128, (n + 127) & ~(size_t)127);
    if (posix_memalign(&p, HUGE_PAGE, n) != 0)
        return NULL;
#ifdef MADV_HUGEPAGE
    (void)madvise(p, n, MADV_HUGEPAGE);
#endif
    return p;
}

/* As grow, for an array kept 128-byte aligned (big_alloc). */
static int grow_aligned(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 16;
    while (ncap < need)
        ncap *= 2;
    void *np = big_alloc(ncap * elem);
    if (!np)
        return TIDE_ENOMEM;
    if (*p)
        memcpy(np, *p, *cap * elem);
    free(*p);
    *p = np;
    *cap = ncap;
    return 0;
}

/* ---- slot tables -------------------------------------------------------- */

/* The open-addressing table *slots (kslots, wslots: entries (hash32 << 32)
 * | (index + 1), 0 empty; *mask + 1 slots, or none yet) rebuilt with ncap
 * (a power of two) slots.  0 or TIDE_ENOMEM (the table unchanged). */
static int slots_rehash(uint64_t **slots, uint32_t *mask, uint32_t ncap)
{
    uint64_t *ns = big_alloc((size_t)ncap * sizeof *ns);
    if (!ns)
        return TIDE_ENOMEM;
    memset(ns, 0, (size_t)ncap * sizeof *ns);
    uint32_t nmask = ncap - 1;
    for (uint32_t i = 0; *slots && i <= *mask; i++) {
        uint64_t s = (*slots)[i];
        if (!s)
            continue;
        uint32_t j = (uint32_t)(s >> 32) & nmask;
        while (ns[j])
            j = (j + 1) & nmask;
        ns[j] = s;
    }
    free(*slots);
    *slots = ns;
    *mask = nmask;
    return 0;
}

/* ---- key table ---------------------------------------------------------- */

static int ktable_rehash(tide_winagg *op, uint32_t ncap)
{
    return slots_rehash(&op->kslots, &op->kmask, ncap);
}

static inline bool eq16w(const unsigned char *a, const uint64_t b[2])
{
    uint64_t a0, a1;
    memcpy(&a0, a, 8);
    memcpy(&a1, a + 8, 8);
    return ((a0 ^ b[0]) | (a1 ^ b[1])) == 0;
}

static uint32_t key_find(const tide_winagg *op, const void *key, uint32_t len, uint64_t h)
{
    uint32_t h32 = (uint32_t)h;
    uint64_t kw[2] = {0, 0};
    if (len <= 16)
        key_words(key, len, kw); /* compared as words: short keys are kept zero-padded */
    for (uint32_t j = h32 & op->kmask;; j = (j + 1) & op->kmask) {
        uint64_t s = op->kslots[j];
        if (!s)
            return NONE;
        if ((uint32_t)(s >> 32) != h32)
            continue;
        const wa_key *k = &op->keys[(uint32_t)s - 1];
        if (k->len == len && k->hash == h &&
            (len <= 16 ? eq16w(k->b.inl, kw) : memcmp(k->b.ext, key, len) == 0))
            return (uint32_t)s - 1;
    }
}

/* Intern a key known to be absent. */
static int key_insert(tide_winagg *op, const void *key, uint32_t len, uint64_t h, uint32_t *out)
{
    if ((uint64_t)(op->n_keys + 1) * 2 > (uint64_t)op->kmask + 1) {
        if (op->kmask >= 0x7fffffffu || ktable_rehash(op, (op->kmask + 1) * 2))
            return TIDE_ENOMEM;
    }
    uint32_t idx;
    if (op->keys_free != NONE) {
        idx = op->keys_free;
    } else {
        size_t cap = op->keys_cap;
        if (grow_aligned((void **)&op->keys, &cap, (size_t)op->n_keys + 1, sizeof *op->keys))
            return TIDE_ENOMEM;
        op->keys_cap = (uint32_t)cap;
        for (uint32_t i = op->n_keys; i < op->keys_cap; i++) {
            op->keys[i].next_free = i + 1 < op->keys_cap ? i + 1 : NONE;
            op->keys[i].refs = 0;
            op->keys[i].used = 0;
            op->keys[i].mark = 0;
        }
        idx = op->n_keys;
    }
    wa_key *k = &op->keys[idx];
    uint32_t next_free = k->next_free;
    if (len > sizeof k->b.inl) {
        unsigned char *p = malloc(len);
        if (!p)
            return TIDE_ENOMEM;
        memcpy(p, key, len);
        k->b.ext = p;
    } else {
        memset(k->b.inl, 0, sizeof k->b.inl); /* zero-padded: key_find compares words */
        if (len)
            memcpy(k->b.inl, key, len);
    }
    op->keys_free = next_free;
    k->hash = h;
    k->len = len;
    k->refs = 0;
    k->sessions = NONE;
    k->used = 1;
    k->mark = 0;
    op->n_idle++;
    uint32_t j = (uint32_t)h & op->kmask;
    while (op->kslots[j])
        j = (j + 1) & op->kmask;
    op->kslots[j] = ((uint64_t)(uint32_t)h << 32) | ((uint64_t)idx + 1);
    op->n_keys++;
    *out = idx;
    return 0;
}

/* Remove slot `i` of a linear-probing table with backward shift. */
static void slots_delete(uint64_t *slots, uint32_t mask, uint32_t i)
{
    slots[i] = 0;
    for (uint32_t k = (i + 1) & mask; slots[k]; k = (k + 1) & mask) {
        uint32_t home = (uint32_t)(slots[k] >> 32) & mask;
        if (((k - home) & mask) >= ((k - i) & mask)) {
            slots[i] = slots[k];
            slots[k] = 0;
            i = k;
        }
    }
}

static void key_release(tide_winagg *op, uint32_t idx)
{
    wa_key *k = &op->keys[idx];
    uint32_t h32 = (uint32_t)k->hash;
    for (uint32_t j = h32 & op->kmask;; j = (j + 1) & op->kmask) {
        if ((uint32_t)op->kslots[j] == idx + 1) {
            slots_delete(op->kslots, op->kmask, j);
            break;
        }
    }
    if (k->len > sizeof k->b.inl)
        free(k->b.ext);
    k->len = 0;
    k->used = 0;
    op->n_idle--;
    k->next_free = op->keys_free;
    op->keys_free = idx;
    op->n_keys--;
}

/* ---- window table ------------------------------------------------------- */

static int wtable_rehash(tide_winagg *op, uint32_t ncap)
{
    return slots_rehash(&op->wslots, &op->wmask, ncap);
}

/* The window (key, start, end) with window hash `wh`; `kw` is the key
 * zero-padded to 16 bytes when len <= 16 (key_words; compared inline;
 * `key` is then not read). */
static inline uint32_t win_find(const tide_winagg *op, const void *key, uint32_t len,
                                const uint64_t kw[2], int64_t start, int64_t end, uint64_t wh)
{
    uint32_t h32 = (uint32_t)wh;
    for (uint32_t j = h32 & op->wmask;; j = (j + 1) & op->wmask) {
        uint64_t s = op->wslots[j];
        if (!s)
            return NONE;
        if ((uint32_t)(s >> 32) != h32)
            continue;
        const wa_win *w = WIN(op, (uint32_t)s - 1);
        if (w->start != start || w->end != end || w->klen != len)
            continue;
        if (len <= sizeof w->kinl ? eq16w(w->kinl, kw)
                                  : memcmp(key_bytes(&op->keys[w->key]), key, len) == 0)
            return (uint32_t)s - 1;
    }
}

/* The hash of window `idx`'s key: from its inline copy when short (no
 * visit to the key record). */
static inline uint64_t win_key_hash(const tide_winagg *op, const wa_win *w)
{
    return w->klen <= sizeof w->kinl ? hash_key(w->kinl, w->klen) : op->keys[w->key].hash;
}

static void wtable_delete(tide_winagg *op, uint32_t idx)
{
    const wa_win *w = WIN(op, idx);
    uint32_t h32 = (uint32_t)hash_win(win_key_hash(op, w), w->start, w->end);
    for (uint32_t j = h32 & op->wmask;; j = (j + 1) & op->wmask) {
        if ((uint32_t)op->wslots[j] == idx + 1) {
            slots_delete(op->wslots, op->wmask, j);
            op->n_wslots_used--;
            return;
        }
    }
}

/* ---- heap --------------------------------------------------------------- */

/* A 4-ary min-heap on time: half the levels of a binary one, and a node's
 * four children are 64 adjacent bytes.  (Which of equal times pops first
 * does not matter: a watermark step sorts what it fires.) */

static int heap_push(tide_winagg *op, int64_t time, uint32_t win)
{
    if (op->heap_len == op->heap_cap &&
        tide_array_grow((void **)&op->heap, &op->heap_cap, op->heap_len + 1, sizeof *op->heap))
        return TIDE_ENOMEM;
    wa_heap_ent x = {time, win, WIN(op, win)->gen};
    size_t i = op->heap_len++;
    while (i > 0) {
        size_t p = (i - 1) / 4;
        if (op->heap[p].time <= time)
            break;
        op->heap[i] = op->heap[p];
        i = p;
    }
    op->heap[i] = x;
    return 0;
}

/* Move entry x down from position i (the heap below i is valid). */
static void heap_sift_down(tide_winagg *op, size_t i, wa_heap_ent x)
{
    size_t n = op->heap_len;
    for (;;) {
        size_t c = 4 * i + 1, end = c + 4 < n ? c + 4 : n;
        if (c >= n)
            break;
        for (size_t k = c + 1; k < end; k++)
            if (op->heap[k].time < op->heap[c].time)
                c = k;
        if (op->heap[c].time >= x.time)
            break;
        op->heap[i] = op->heap[c];
        i = c;
    }
    op->heap[i] = x;
}

static wa_heap_ent heap_pop(tide_winagg *op)
{
    wa_heap_ent top = op->heap[0], x = op->heap[--op->heap_len];
    if (op->heap_len)
        heap_sift_down(op, 0, x);
    return top;
}

/* Every entry with time <= wm, out of the heap into op->due[0, *n), in no
 * particular order (a watermark step sorts what it fires).  The due entries
 * are the subtree of the root whose times are <= wm, found by walking it.
 * When they are a large part of the heap (a tumbling window's end passing:
 * most live windows at once), the rest is compacted and rebuilt bottom-up,
 * O(heap) instead of a sift per entry; otherwise they are popped. */
static int heap_take_due(tide_winagg *op, int64_t wm, size_t *n)
{
    *n = 0;
    if (!op->heap_len || op->heap[0].time > wm)
        return 0;
    size_t len = op->heap_len, k = 0, top = 0;
    if (tide_array_grow((void **)&op->dfs, &op->dfs_cap, len, sizeof *op->dfs) ||
        tide_array_grow((void **)&op->due, &op->due_cap, len, sizeof *op->due))
        return TIDE_ENOMEM;
    op->dfs[top++] = 0;
    while (top) {
        uint32_t i = op->dfs[--top];
        op->due[k++] = op->heap[i];
        for (size_t c = 4 * (size_t)i + 1; c <= 4 * (size_t)i + 4 && c < len; c++)
            if (op->heap[c].time <= wm)
                op->dfs[top++] = (uint32_t)c;
    }
    if (k * 16 < len) { /* few: pop them (the same entries) */
        for (size_t j = 0; j < k; j++)
            op->due[j] = heap_pop(op);
        *n = k;
        return 0;
    }
    size_t m = 0;
    for (size_t i = 0; i < len; i++)
        if (op->heap[i].time > wm)
            op->heap[m++] = op->heap[i];
    op->heap_len = m;
    for (size_t i = m > 1 ? (m - 2) / 4 + 1 : 0; i-- > 0;)
        heap_sift_down(op, i, op->heap[i]);
    *n = k;
    return 0;
}

/* ---- windows ------------------------------------------------------------ */

static inline unsigned char *win_acc(const tide_winagg *op, uint32_t idx)
{
    return op->acc_inline ? (unsigned char *)&WIN(op, idx)->acc0
                          : (unsigned char *)WIN(op, idx) + sizeof(wa_win);
}

/* The previously emitted results of window `idx`, or NULL (discarding). */
static inline tide_value *win_prev(const tide_winagg *op, uint32_t idx)
{
    return op->prev_off ? (tide_value *)(void *)((unsigned char *)WIN(op, idx) + op->prev_off)
                        : NULL;
}

static void acc_init(tide_winagg *op, uint32_t idx)
{
    tide_agg_slots_init(op->agg, op->agg_off, op->n_aggs, win_acc(op, idx));
}

static void acc_reset(tide_winagg *op, uint32_t idx)
{
    tide_agg_slots_reset(op->agg, op->agg_off, op->n_aggs, win_acc(op, idx));
}

/* A new live window for interned key `key` (its refs counted), or, with key
 * == NONE (fixed windows, keys of <= 16 bytes: not interned), for the key
 * `kb`/`klen` held inline only; not yet indexed. */
static int win_alloc(tide_winagg *op, uint32_t key, const void *kb, uint32_t klen, int64_t start,
                     int64_t end, uint32_t *out)
{
    if (op->n_wfree == 0) {
        size_t need = (size_t)op->wins_cap + 1, cap = op->wins_cap;
        if (need > NONE - 1)
            return TIDE_ENOMEM;
        if (grow_aligned((void **)&op->wins, &cap, need, op->wstride))
            return TIDE_ENOMEM;
        uint32_t *nf = realloc(op->wfree, cap * sizeof *nf);
        if (!nf)
            return TIDE_ENOMEM; /* the grown array stays: wins_cap is still right */
        op->wfree = nf;
        if (op->prev_str) {
            char **ns = realloc(op->prev_str, cap * sizeof *ns);
            if (!ns)
                return TIDE_ENOMEM;
            op->prev_str = ns;
            size_t *nc = realloc(op->prev_scap, cap * sizeof *nc);
            if (!nc)
                return TIDE_ENOMEM;
            op->prev_scap = nc;
            for (size_t i = op->wins_cap; i < cap; i++)
                ns[i] = NULL, nc[i] = 0;
        }
        for (size_t i = op->wins_cap; i < cap; i++) {
            *WIN(op, i) = (wa_win){.next = NONE};
            acc_init(op, (uint32_t)i);
        }
        for (size_t i = cap; i > op->wins_cap; i--) /* lowest index on top */
            op->wfree[op->n_wfree++] = (uint32_t)i - 1;
        op->wins_cap = (uint32_t)cap;
    }
    uint32_t idx = op->wfree[--op->n_wfree];
    wa_win *w = WIN(op, idx);
    if (op->n_wfree >= 4) /* the window created 4 creations from now */
        __builtin_prefetch(WIN(op, op->wfree[op->n_wfree - 4]), 1);
    w->start = start;
    w->end = end;
    w->key = key;
    w->next = NONE;
    w->gen++;
    w->flags = W_LIVE;
    w->since_fire = 0;
    op->n_wins++;
    *out = idx;
    if (key == NONE) {
        w->klen = klen;
        memset(w->kinl, 0, sizeof w->kinl);
        uint64_t kw[2];
        key_words(kb, klen, kw);
        memcpy(w->kinl, kw, sizeof kw);
        return 0;
    }
    wa_key *k = &op->keys[key];
    if (k->refs == 0) {
        op->n_idle--;
        k->mark = 0;
    }
    op->created_since_sweep++;
    w->klen = k->len;
    memset(w->kinl, 0, sizeof w->kinl);
    if (k->len <= sizeof w->kinl && k->len)
        memcpy(w->kinl, k->b.inl, k->len);
    op->keys[key].refs++;
    return 0;
}

/* Free a window's state.  Session windows must be unlinked by the caller. */
static void win_release(tide_winagg *op, uint32_t idx)
{
    wa_win *w = WIN(op, idx);
    if (op->cfg.window.kind != TIDE_WIN_SESSION)
        wtable_delete(op, idx);
    acc_reset(op, idx);
    if (w->key != NONE && --op->keys[w->key].refs == 0)
        op->n_idle++;
    w->flags = 0;
    w->gen++;
    w->next = NONE;
    op->wfree[op->n_wfree++] = idx;
    op->n_wins--;
}

static void session_unlink(tide_winagg *op, uint32_t idx)
{
    wa_key *k = &op->keys[WIN(op, idx)->key];
    uint32_t *p = &k->sessions;
    while (*p != idx)
        p = &WIN(op, *p)->next;
    *p = WIN(op, idx)->next;
}

static void win_free(tide_winagg *op, uint32_t idx)
{
    if (op->cfg.window.kind == TIDE_WIN_SESSION)
        session_unlink(op, idx);
    win_release(op, idx);
}

/* Drop idle keys: those already idle at the previous sweep, or all idle
 * ones when `all`. */
static void key_sweep(tide_winagg *op, bool all)
{
    for (uint32_t i = 0; i < op->keys_cap && op->n_idle; i++) {
        wa_key *k = &op->keys[i];
        if (!k->used || k->refs)
            continue;
        if (all || k->mark)
            key_release(op, i);
        else
            k->mark = 1;
    }
    op->created_since_sweep = 0;
}

/* ---- emitting ----------------------------------------------------------- */

/* The bytes of window `idx`'s key: its inline copy when short (no visit to
 * the key record). */
static inline const unsigned char *win_key(const tide_winagg *op, uint32_t idx)
{
    const wa_win *w = WIN(op, idx);
    return w->klen <= sizeof w->kinl ? w->kinl : key_bytes(&op->keys[w->key]);
}

static int emit_row(tide_winagg *op, tide_op c, uint32_t idx, int64_t start, int64_t end,
                    const tide_value *vals)
{
    tide_winagg_row row = {.op = c, .key = win_key(op, idx), .key_len = WIN(op, idx)->klen,
                           .start = start, .end = end, .vals = vals, .n_vals = op->n_aggs};
    return op->cfg.emit(op->cfg.ctx, &row);
}

/* Keep src[0..n_aggs) as window idx's previous results, STRING bytes
 * copied into the entry's own buffer.  0 or TIDE_ENOMEM (unchanged). */
static int prev_store(tide_winagg *op, uint32_t idx, const tide_value *src)
{
    return tide_agg_results_keep(win_prev(op, idx), src, op->n_aggs,
                                 op->prev_str ? &op->prev_str[idx] : NULL,
                                 op->prev_str ? &op->prev_scap[idx] : NULL);
}

/* One firing of window `idx` (early, on time or late).  Emits nothing when
 * the row was emitted before and nothing changed. */
static int win_fire(tide_winagg *op, uint32_t idx)
{
    wa_win *w = WIN(op, idx);
    bool emitted = w->flags & W_EMITTED;
    if (emitted && !(w->flags & W_DIRTY))
        return 0;
    int rc = tide_agg_slots_result(op->agg, op->agg_off, op->n_aggs, win_acc(op, idx), op->out,
                                   NULL);
    if (rc)
        return rc; /* TIDE_ERANGE: SUM(BIGINT) overflow */
    tide_value *prev = win_prev(op, idx);
    w->flags &= ~(uint32_t)W_DIRTY;
    w->since_fire = 0;
    if (emitted && prev && tide_agg_results_same(prev, op->out, op->n_aggs))
        return 0;
    tide_op ops[2];
    int n = tide_trig_firing_ops(op->cfg.mode, emitted, ops);
    for (int i = 0; i < n; i++) {
        const tide_value *v = ops[i] == TIDE_OP_UPDATE_BEFORE ? prev : op->out;
        if ((rc = emit_row(op, ops[i], idx, w->start, w->end, v)))
            return rc;
        w = WIN(op, idx);
    }
    w->flags |= W_EMITTED;
    if (prev && (rc = prev_store(op, idx, op->out)))
        return rc;
    if (op->cfg.mode == TIDE_TRIG_DISCARDING)
        acc_reset(op, idx);
    return 0;
}

/* The watermark passed the window's end: final firing, then wait for
 * cleanup (or free now when L == 0). */
static int win_fire_on_time(tide_winagg *op, uint32_t idx)
{
    int rc = win_fire(op, idx);
    if (rc)
        return rc;
    wa_win *w = WIN(op, idx);
    w->flags |= W_DONE;
    w->flags &= ~(uint32_t)W_IN_DLIST;
    w->gen++;
    int64_t cleanup = tide_trig_cleanup_time(w->end, op->cfg.allowed_lateness);
    if (op->wm >= cleanup) {
        win_free(op, idx);
        return 0;
    }
    return heap_push(op, cleanup, idx);
}

/* Order of firings: (end, start, key bytes), see winagg.h.  The first 16
 * key bytes are compared as two big-endian integers (zero padding sorts a
 * key before its extensions, as memcmp-then-length does); only keys longer
 * than 16 bytes with equal prefixes are compared further. */
static inline int cmp_fire_ent(const wa_fire *a, const wa_fire *b)
{
    if (a->end != b->end)
        return a->end < b->end ? -1 : 1;
    if (a->start != b->start)
        return a->start < b->start ? -1 : 1;
    if (a->k0 != b->k0)
        return a->k0 < b->k0 ? -1 : 1;
    if (a->k1 != b->k1)
        return a->k1 < b->k1 ? -1 : 1;
    if (a->key_len > 16 && b->key_len > 16) {
        uint32_t n = (a->key_len < b->key_len ? a->key_len : b->key_len) - 16;
        int c = n ? memcmp(a->key + 16, b->key + 16, n) : 0;
        if (c)
            return c;
    }
    return (a->key_len > b->key_len) - (a->key_len < b->key_len);
}

static inline uint64_t load_be64(const unsigned char *p)
{
    uint64_t x = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(&x, p, 8);
    x = __builtin_bswap64(x);
#else
    for (int i = 0; i < 8; i++)
        x = (x << 8) | p[i];
#endif
    return x;
}

static int fire_add(tide_winagg *op, size_t *n, uint32_t idx)
{
    if (tide_array_grow((void **)&op->fire, &op->fire_cap, *n + 1, sizeof *op->fire))
        return TIDE_ENOMEM;
    const wa_win *w = WIN(op, idx);
    /* a key of <= 16 bytes is the entry's zero-padded copy, a longer one
     * has 16 bytes: read the first 16 either way */
    const unsigned char *kb = win_key(op, idx);
    op->fire[(*n)++] =
        (wa_fire){w->end, w->start, load_be64(kb), load_be64(kb + 8), kb, w->klen, idx};
    return 0;
}

/* Sort a round of firings: insertion sort for short runs, else a merge sort
 * through `tmp` (same size); the comparison is inline. */
static void fire_isort(wa_fire *a, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        wa_fire x = a[i];
        size_t j = i;
        while (j > 0 && cmp_fire_ent(&x, &a[j - 1]) < 0) {
            a[j] = a[j - 1];
            j--;
        }
        a[j] = x;
    }
}

static void fire_msort(wa_fire *a, wa_fire *tmp, size_t n)
{
    if (n <= 16) {
        fire_isort(a, n);
        return;
    }
    size_t h = n / 2;
    fire_msort(a, tmp, h);
    fire_msort(a + h, tmp, n - h);
    if (cmp_fire_ent(&a[h - 1], &a[h]) <= 0)
        return; /* already in order */
    memcpy(tmp, a, h * sizeof *a);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        a[k++] = cmp_fire_ent(&a[j], &tmp[i]) < 0 ? a[j++] : tmp[i++];
    while (i < h)
        a[k++] = tmp[i++];
}

typedef struct fire_key {
    uint64_t key;
    uint32_t win;
} fire_key;

/* LSD radix sort of a[0, n) through tmp (n entries) over the bytes of the
 * sort key that are not the same in every entry, when there are at most
 * `max_digits` of them and every key is at most 16 bytes (then the five
 * fields are the whole order of cmp_fire_ent; passes are stable, so the
 * result is that order).  A round of on-time firings mostly shares end and
 * start and its keys differ in a few low bytes (e.g. BIGINT ids), so this
 * is a few linear passes instead of n log n comparisons.  The varying bytes
 * (at most 8) are packed into one word next to the window index, so a pass
 * moves 16 bytes an entry, not a wa_fire; only a[i].win is then put in
 * order (the firing loops read nothing else).  Returns false (nothing
 * moved) when it does not apply. */
static bool fire_radix(wa_fire *a, wa_fire *tmp, size_t n, int max_digits)
{
    uint64_t diff[5] = {0};
    for (size_t i = 0; i < n; i++) {
        if (a[i].key_len > 16)
            return false;
        diff[0] |= (uint64_t)(a[i].end ^ a[0].end);
        diff[1] |= (uint64_t)(a[i].start ^ a[0].start);
        diff[2] |= a[i].k0 ^ a[0].k0;
        diff[3] |= a[i].k1 ^ a[0].k1;
        diff[4] |= (uint64_t)(a[i].key_len ^ a[0].key_len);
    }
    int nd = 0;
    for (int f = 0; f < 5; f++)
        for (int b = 0; b < 8; b++)
            nd += (diff[f] >> (8 * b) & 0xff) != 0;
    if (nd > max_digits || nd > 8)
        return false;
    /* The varying bytes, most significant first, packed into one word per
     * entry with its window: 16-byte entries to move instead of 48. */
    fire_key *src = (fire_key *)(void *)tmp, *dst = src + n;
    /* per field, the mask of its varying bytes: a field's bytes keep their
     * order, so the key is the fields' masked bytes gathered, fields in
     * order (the bit gather done byte by byte, at most 8 in all) */
    int pos_f[8], pos_b[8], np = 0;
    for (int f = 0; f < 5; f++)
        for (int b = 7; b >= 0; b--)
            if (diff[f] >> (8 * b) & 0xff) {
                pos_f[np] = f;
                pos_b[np++] = 8 * b;
            }
    for (size_t i = 0; i < n; i++) {
        /* the sort key as five unsigned fields, most significant first (end
         * and start with the sign bit flipped: unsigned order = signed) */
        const uint64_t v[5] = {(uint64_t)a[i].end ^ (1ull << 63), (uint64_t)a[i].start ^ (1ull << 63),
                               a[i].k0, a[i].k1, a[i].key_len};
        uint64_t k = 0;
        for (int j = 0; j < np; j++)
            k = k << 8 | (v[pos_f[j]] >> pos_b[j] & 0xff);
        src[i] = (fire_key){k, a[i].win};
    }
    for (int d = 0; d < nd; d++) {
        int sh = 8 * d;
        size_t cnt[256] = {0}, sum = 0;
        for (size_t i = 0; i < n; i++)
            cnt[src[i].key >> sh & 0xff]++;
        for (int v = 0; v < 256; v++) {
            size_t c = cnt[v];
            cnt[v] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            dst[cnt[src[i].key >> sh & 0xff]++] = src[i];
        fire_key *t = src;
        src = dst;
        dst = t;
    }
    /* only .win is read after the sort (the firing loops) */
    for (size_t i = 0; i < n; i++)
        a[i].win = src[i].win;
    return true;
}

/* Puts op->fire[0..n).win in firing order (the other fields only when the
 * merge sort runs), with op->fire[n..2n) as scratch. */
static int fire_sort(tide_winagg *op, size_t n)
{
    if (n < 2)
        return 0;
    if (tide_array_grow((void **)&op->fire, &op->fire_cap, 2 * n + 1, sizeof *op->fire))
        return TIDE_ENOMEM;
    /* up to 8 radix passes: fewer than the >= 8 merge levels they replace */
    if (n < 256 || !fire_radix(op->fire, op->fire + n, n, 8))
        fire_msort(op->fire, op->fire + n, n);
    return 0;
}

/* A round of processing-time early firings over the dirty windows. */
static int early_round(tide_winagg *op)
{
    size_t n = 0;
    int rc = 0;
    for (size_t i = 0; i < op->dirty_len; i++) {
        wa_ref r = op->dirty[i];
        wa_win *w = WIN(op, r.win);
        if (w->gen != r.gen || !(w->flags & W_IN_DLIST))
            continue;
        w->flags &= ~(uint32_t)W_IN_DLIST;
        if ((w->flags & (W_DIRTY | W_DONE)) != W_DIRTY)
            continue;
        if ((rc = fire_add(op, &n, r.win)))
            return rc;
    }
    op->dirty_len = 0;
    if ((rc = fire_sort(op, n)))
        return rc;
    for (size_t i = 0; i < n; i++)
        if ((rc = win_fire(op, op->fire[i].win)))
            return rc;
    return 0;
}

static int maybe_early_round(tide_winagg *op, int64_t proc_now)
{
    if (op->cfg.early.every_ms > 0 && tide_trig_clock_due(&op->clock, proc_now))
        return early_round(op);
    return 0;
}

/* ---- create / free ------------------------------------------------------ */

int tide_winagg_config_check(const tide_winagg_config *cfg, const char *who, tide_err *e)
{
    int rc = tide_win_spec_check(&cfg->window, e);
    if (rc)
        return rc;
    if (!cfg->emit || !cfg->n_aggs || !cfg->aggs || cfg->allowed_lateness < 0 ||
        (int)cfg->mode < 0 || cfg->mode > TIDE_TRIG_RETRACTING || cfg->n_aggs > 4096)
        return tide_err_set(e, TIDE_EINVAL, "%s: bad config (emit callback, aggregates, lateness)",
                            who);
    for (size_t i = 0; i < cfg->n_aggs; i++) {
        const tide_winagg_call *c = &cfg->aggs[i];
        if (c->kind != TIDE_AGG_COUNT_STAR && c->arg >= cfg->n_inputs)
            return tide_err_set(e, TIDE_EINVAL,
                                "%s: aggregate %zu (%s): argument %u out of %zu inputs", who, i,
                                tide_agg_kind_name(c->kind), c->arg, cfg->n_inputs);
    }
    return 0;
}

int tide_winagg_create(const tide_winagg_config *cfg, tide_winagg **out, tide_err *e)
{
    *out = NULL;
    int rc = tide_winagg_config_check(cfg, "window aggregate", e);
    if (rc)
        return rc;
    tide_winagg *op = calloc(1, sizeof *op);
    if (!op)
        return tide_err_set(e, TIDE_ENOMEM, "window aggregate: create");
    op->cfg = *cfg;
    op->n_aggs = cfg->n_aggs;
    op->wm = TIDE_TS_MIN;
    op->keys_free = NONE;
    op->n_wfree = 0;
    tide_trig_clock_init(&op->clock, cfg->early.every_ms);
    op->aggs = malloc(op->n_aggs * sizeof *op->aggs);
    op->agg = calloc(op->n_aggs, sizeof *op->agg);
    op->agg_off = calloc(op->n_aggs, sizeof *op->agg_off);
    op->out = calloc(op->n_aggs, sizeof *op->out);
    op->old = calloc(op->n_aggs, sizeof *op->old);
    op->ranges = malloc(tide_win_max_windows(&cfg->window) * sizeof *op->ranges);
    if (!op->aggs || !op->agg || !op->agg_off || !op->out || !op->old || !op->ranges)
        goto nomem;
    memcpy(op->aggs, cfg->aggs, op->n_aggs * sizeof *op->aggs);
    op->cfg.aggs = op->aggs;
    if ((rc = tide_agg_bind_calls(op->aggs, op->n_aggs, 0, op->agg, op->agg_off, &op->acc_stride,
                                  e)))
        goto failed;
    for (size_t i = 0; i < op->n_aggs; i++) {
        op->has_inputs |= op->aggs[i].kind != TIDE_AGG_COUNT_STAR;
        op->agg_pf |= op->aggs[i].kind == TIDE_AGG_COUNT_DISTINCT;
    }
    if (!op->acc_stride)
        op->acc_stride = 8;
    /* One entry: the 64-byte header, then the accumulators (in the header
     * when they fit in 8 bytes, e.g. COUNT(*): a record then touches one
     * line of its window), then the previous results, rounded up to whole
     * cache lines; the hot path reads adjacent lines only. */
    op->acc_inline = op->acc_stride == 8;
    op->wstride = sizeof(wa_win) + (op->acc_inline ? 0 : op->acc_stride);
    /* The previous results serve retractions (-U, and -D of merged
     * sessions) and skipping unchanged re-firings.  Accumulating fixed
     * windows of COUNT(*) only need neither: a window fires again only when
     * dirty, and then its counts grew.  So their entries are one line. */
    bool need_prev = cfg->mode != TIDE_TRIG_DISCARDING;
    if (cfg->mode == TIDE_TRIG_ACCUMULATING && cfg->window.kind != TIDE_WIN_SESSION) {
        need_prev = false;
        for (size_t i = 0; i < op->n_aggs; i++)
            need_prev |= op->aggs[i].kind != TIDE_AGG_COUNT_STAR;
    }
    if (need_prev) {
        op->prev_off = op->wstride;
        op->wstride += op->n_aggs * sizeof(tide_value);
        if (tide_agg_calls_borrow(op->aggs, op->n_aggs) &&
            (!(op->prev_str = calloc(1, sizeof *op->prev_str)) ||
             !(op->prev_scap = calloc(1, sizeof *op->prev_scap))))
            goto nomem; /* (grown with the entries; empty until the first) */
    }
    op->wstride = (op->wstride + 63) & ~(size_t)63;
    uint32_t cap = 64;
    while (cap < 0x40000000u && (size_t)cap < cfg->capacity_hint * 2)
        cap *= 2;
    if (ktable_rehash(op, cap) || wtable_rehash(op, cap))
        goto nomem;
    *out = op;
    return 0;
nomem:
    rc = tide_err_set(e, TIDE_ENOMEM, "window aggregate: create");
failed:
    tide_winagg_free(op);
    return rc;
}

void tide_winagg_free(tide_winagg *op)
{
    if (!op)
        return;
    for (uint32_t i = 0; i < op->wins_cap; i++)
        if (WIN(op, i)->flags & W_LIVE)
            acc_reset(op, i);
    for (uint32_t i = 0; op->kslots && i <= op->kmask; i++) {
        uint64_t s = op->kslots[i];
        if (s && op->keys[(uint32_t)s - 1].len > sizeof op->keys[0].b.inl)
            free(op->keys[(uint32_t)s - 1].b.ext);
    }
    free(op->keys);
    free(op->kslots);
    for (uint32_t i = 0; op->prev_str && i < op->wins_cap; i++)
        free(op->prev_str[i]);
    free(op->prev_str);
    free(op->prev_scap);
    free(op->wins);
    free(op->wfree);
    free(op->wslots);
    free(op->heap);
    free(op->dirty);
    free(op->fire);
    free(op->due);
    free(op->ranges);
    free(op->out);
    free(op->old);
    free(op->aggs);
    free(op->agg);
    free(op->agg_off);
    free(op->ct_slots);
    free(op->ct_ents);
    free(op->ct_other);
    free(op->dfs);
    free(op);
}

/* ---- push --------------------------------------------------------------- */

/* Add the record's values to window `idx`. */
static int win_step(tide_winagg *op, uint32_t idx, const tide_value *in)
{
    unsigned char *a = win_acc(op, idx);
    for (size_t i = 0; i < op->n_aggs; i++) {
        const tide_agg *g = &op->agg[i];
        void *st = a + op->agg_off[i];
        int rc;
        if (g->kind == TIDE_AGG_COUNT_STAR) {
            rc = tide_agg_step_i64(g, st, 0, NULL);
        } else {
            const tide_value *v = &in[op->aggs[i].arg];
            if (v->is_null || v->type == TIDE_TYPE_NULL)
                continue;
            /* typed fast paths; BIGINT and TIMESTAMP values are interchangeable */
            if ((v->type == TIDE_TYPE_BIGINT || v->type == TIDE_TYPE_TIMESTAMP) &&
                (g->in_type == TIDE_TYPE_BIGINT || g->in_type == TIDE_TYPE_TIMESTAMP))
                rc = tide_agg_step_i64(g, st, v->u.i64, NULL);
            else if (v->type == TIDE_TYPE_DOUBLE && g->in_type == TIDE_TYPE_DOUBLE)
                rc = tide_agg_step_f64(g, st, v->u.f64, NULL);
            else
                rc = tide_agg_step(g, st, v, NULL);
        }
        if (rc)
            return rc;
    }
    wa_win *w = WIN(op, idx);
    w->flags |= W_DIRTY;
    if (w->since_fire != UINT32_MAX)
        w->since_fire++;
    return 0;
}

/* After adding to window `idx`: late firing, every-N early firing, or
 * queue for the processing-time early round. */
static int win_after_step(tide_winagg *op, uint32_t idx)
{
    wa_win *w = WIN(op, idx);
    if (tide_trig_due(w->end, op->wm)) {
        if (w->flags & W_DONE)
            return win_fire(op, idx); /* late firing */
        return win_fire_on_time(op, idx);  /* created after its end passed */
    }
    if (op->cfg.early.every_n && w->since_fire >= op->cfg.early.every_n)
        return win_fire(op, idx);
    if (op->cfg.early.every_ms > 0 && !(w->flags & W_IN_DLIST)) {
        if (tide_array_grow((void **)&op->dirty, &op->dirty_cap, op->dirty_len + 1, sizeof *op->dirty))
            return TIDE_ENOMEM;
        op->dirty[op->dirty_len++] = (wa_ref){idx, w->gen};
        w->flags |= W_IN_DLIST;
    }
    return 0;
}

static int check_inputs(const tide_winagg *op, const tide_value *in, tide_err *e)
{
    if (!op->has_inputs)
        return 0;
    for (size_t i = 0; i < op->n_aggs; i++) {
        const tide_winagg_call *c = &op->aggs[i];
        if (c->kind == TIDE_AGG_COUNT_STAR)
            continue;
        const tide_value *v = &in[c->arg];
        if (v->is_null || v->type == TIDE_TYPE_NULL || v->type == c->type)
            continue;
        if ((v->type == TIDE_TYPE_BIGINT || v->type == TIDE_TYPE_TIMESTAMP) &&
            (c->type == TIDE_TYPE_BIGINT || c->type == TIDE_TYPE_TIMESTAMP))
            continue;
        return tide_err_set(e, TIDE_EINVAL, "window aggregate: input %u is %s, %s expects %s",
                            c->arg, tide_type_name(v->type), tide_agg_kind_name(c->kind),
                            tide_type_name(c->type));
    }
    return 0;
}

static int key_get(tide_winagg *op, const void *key, uint32_t len, uint64_t h, uint32_t *kidx)
{
    if (*kidx != NONE)
        return 0;
    return key_insert(op, key, len, h, kidx);
}

/* A new live window (key, start, end) of a non-session window kind, with
 * hash `wh`, indexed and with its heap action; kidx is its interned key, or
 * NONE for a key of <= 16 bytes (held inline). */
static int win_create_fixed(tide_winagg *op, uint32_t kidx, const void *key, uint32_t len,
                            int64_t start, int64_t end, uint64_t wh, uint32_t *out)
{
    int rc;
    if ((uint64_t)(op->n_wslots_used + 1) * 2 > (uint64_t)op->wmask + 1) {
        if (op->wmask >= 0x7fffffffu || wtable_rehash(op, (op->wmask + 1) * 2))
            return TIDE_ENOMEM;
    }
    uint32_t idx;
    if ((rc = win_alloc(op, kidx, key, len, start, end, &idx)))
        return rc;
    uint32_t j = (uint32_t)wh & op->wmask;
    while (op->wslots[j])
        j = (j + 1) & op->wmask;
    op->wslots[j] = ((uint64_t)(uint32_t)wh << 32) | ((uint64_t)idx + 1);
    op->n_wslots_used++;
    if ((rc = heap_push(op, tide_trig_fire_time(end), idx))) {
        win_free(op, idx);
        return rc;
    }
    *out = idx;
    return 0;
}

/* `pre`: the record's windows and their hashes computed by a batch's
 * prefetch stage, or NULL. */
static int push_fixed(tide_winagg *op, const void *key, uint32_t len, uint64_t h, int64_t ts,
                      const tide_value *in, bool *late, const wa_pf *pre)
{
    uint32_t kidx = NONE;
    uint64_t kw[2] = {0, 0};
    if (len <= 16)
        key_words(key, len, kw);
    const tide_win_range *rg = pre ? pre->rg : op->ranges;
    size_t n = pre ? pre->nw : tide_win_assign(&op->cfg.window, ts, op->ranges);
    int rc = 0;
    for (size_t r = 0; r < n; r++) {
        int64_t start = rg[r].start, end = rg[r].end;
        if (tide_trig_place_record(end, op->cfg.allowed_lateness, op->wm) == TIDE_TRIG_DROPPED) {
            *late = true;
            continue;
        }
        uint64_t wh = pre ? pre->wh[r] : hash_win(h, start, end);
        uint32_t idx = win_find(op, key, len, kw, start, end, wh);
        if (idx == NONE) {
            /* keys of up to 16 bytes live in their window entries only */
            if (kidx == NONE && len > 16)
                kidx = key_find(op, key, len, h);
            if (len > 16 && (rc = key_get(op, key, len, h, &kidx)))
                return rc;
            if ((rc = win_create_fixed(op, kidx, key, len, start, end, wh, &idx))) {
                if (kidx != NONE && op->keys[kidx].refs == 0)
                    key_release(op, kidx);
                return rc;
            }
        }
        if ((rc = win_step(op, idx, in)) || (rc = win_after_step(op, idx)))
            return rc;
    }
    return 0;
}

static int push_session(tide_winagg *op, const void *key, uint32_t len, uint64_t h, int64_t ts,
                        const tide_value *in, bool *late)
{
    uint32_t kidx = key_find(op, key, len, h);
    tide_win_range p = {ts, tide_wm_sat_add(ts, op->cfg.window.gap)}, m = p;
    uint32_t hit[2], n_hit = 0; /* live sessions never intersect: at most 2 */
    if (kidx != NONE) {
        for (uint32_t s = op->keys[kidx].sessions; s != NONE; s = WIN(op, s)->next) {
            tide_win_range r = {WIN(op, s)->start, WIN(op, s)->end};
            if (!tide_win_intersects(p, r))
                continue;
            if (n_hit < 2)
                hit[n_hit++] = s;
            if (r.start < m.start)
                m.start = r.start;
            if (r.end > m.end)
                m.end = r.end;
        }
    }
    if (tide_trig_place_record(m.end, op->cfg.allowed_lateness, op->wm) == TIDE_TRIG_DROPPED) {
        *late = true;
        return 0;
    }
    int rc = 0;
    uint32_t idx;
    if (n_hit == 0) {
        if ((rc = key_get(op, key, len, h, &kidx)))
            return rc;
        if ((rc = win_alloc(op, kidx, NULL, 0, m.start, m.end, &idx))) {
            if (op->keys[kidx].refs == 0)
                key_release(op, kidx);
            return rc;
        }
        WIN(op, idx)->next = op->keys[kidx].sessions;
        op->keys[kidx].sessions = idx;
        if ((rc = heap_push(op, tide_trig_fire_time(m.end), idx))) {
            win_free(op, idx);
            return rc;
        }
    } else {
        if (n_hit == 2 && WIN(op, hit[1])->start < WIN(op, hit[0])->start) {
            uint32_t t = hit[0];
            hit[0] = hit[1];
            hit[1] = t;
        }
        idx = hit[0];
        wa_win *w = WIN(op, idx);
        bool changed = n_hit > 1 || w->start != m.start || w->end != m.end;
        if (changed) {
            /* The superseded rows go away: -D for those emitted. */
            for (uint32_t i = 0; i < n_hit; i++) {
                wa_win *x = WIN(op, hit[i]);
                if ((x->flags & W_EMITTED) && op->cfg.mode != TIDE_TRIG_DISCARDING) {
                    const tide_value *pv = win_prev(op, hit[i]);
                    if ((rc = emit_row(op, TIDE_OP_DELETE, hit[i], x->start, x->end, pv)))
                        return rc;
                }
            }
            if (n_hit == 2) {
                unsigned char *a = win_acc(op, idx), *b = win_acc(op, hit[1]);
                for (size_t i = 0; i < op->n_aggs; i++)
                    if ((rc = tide_agg_merge(&op->agg[i], a + op->agg_off[i], b + op->agg_off[i],
                                             NULL)))
                        return rc;
                uint64_t sf = (uint64_t)WIN(op, idx)->since_fire + WIN(op, hit[1])->since_fire;
                WIN(op, idx)->since_fire = sf > UINT32_MAX ? UINT32_MAX : (uint32_t)sf;
                session_unlink(op, hit[1]);
                win_release(op, hit[1]);
            }
            w = WIN(op, idx);
            w->start = m.start;
            w->end = m.end;
            if (w->flags & W_DONE) {
                /* reopened by a late record: a new action at its new end */
                w->gen++;
                w->flags = W_LIVE | W_DIRTY;
                if ((rc = heap_push(op, tide_trig_fire_time(m.end), idx)))
                    return rc;
            } else {
                /* Still open, so it has a heap action at its old end, which
                 * is <= the new one: that action stays, and when it comes
                 * due it is moved to the end then (the due loop of
                 * tide_winagg_advance_watermark).  One action per session,
                 * not one per record that extends it. */
                w->flags = W_LIVE | W_DIRTY | (w->flags & W_IN_DLIST);
            }
        }
    }
    if ((rc = win_step(op, idx, in)))
        return rc;
    return win_after_step(op, idx);
}

static int push_one(tide_winagg *op, const void *key, uint32_t key_len, uint64_t h, int64_t ts,
                    const tide_value *in, int64_t proc_now, const wa_pf *pre, tide_err *e)
{
    int rc = check_inputs(op, in, e);
    if (rc)
        return rc;
    bool late = false;
    if (op->cfg.window.kind == TIDE_WIN_SESSION)
        rc = push_session(op, key, key_len, h, ts, in, &late);
    else
        rc = push_fixed(op, key, key_len, h, ts, in, &late, pre);
    if (rc)
        return fail(op, e, rc, rc_what(rc));
    if (late) {
        op->late_count++;
        if (op->cfg.late && (rc = op->cfg.late(op->cfg.ctx, key, key_len, ts, in,
                                                op->cfg.n_inputs)))
            return fail(op, e, rc, "late callback failed");
    }
    if ((rc = maybe_early_round(op, proc_now)))
        return fail(op, e, rc, rc_what(rc));
    return 0;
}

int tide_winagg_push(tide_winagg *op, const void *key, uint32_t key_len, int64_t ts,
                     const tide_value *in, int64_t proc_now, tide_err *e)
{
    if (op->failed)
        return tide_err_set(e, TIDE_EFAILED, "window aggregate: failed earlier (%s)",
                            tide_err_name(op->failed));
    return push_one(op, key, key_len, hash_key(key, key_len), ts, in, proc_now, NULL, e);
}

/* Merge one partial: the accumulators of some records of `key` in the
 * windows of `ts` (see winagg.h).  The states are decoded and the windows
 * checked before anything changes. */
static int merge_fixed(tide_winagg *op, const void *key, uint32_t len, int64_t ts, const void *const *states,
                       const size_t *lens, tide_err *e)
{
    size_t n = tide_win_assign(&op->cfg.window, ts, op->ranges);
    for (size_t r = 0; r < n; r++)
        if (tide_trig_place_record(op->ranges[r].end, op->cfg.allowed_lateness, op->wm) == TIDE_TRIG_DROPPED)
            return tide_err_set(e, TIDE_EINVAL,
                                "window aggregate: a partial for window [%lld, %lld) came past its allowed "
                                "lateness (watermark %lld)",
                                (long long)op->ranges[r].start, (long long)op->ranges[r].end, (long long)op->wm);
    unsigned char *tmp = malloc(op->n_aggs * TIDE_AGG_STATE_MAX);
    if (!tmp)
        return fail(op, e, TIDE_ENOMEM, rc_what(TIDE_ENOMEM));
    size_t dec = 0; /* states decoded */
    int rc = 0;
    for (; dec < op->n_aggs && rc == 0; dec++) {
        const tide_agg *g = &op->agg[dec];
        unsigned char *t = tmp + dec * TIDE_AGG_STATE_MAX;
        size_t used = 0;
        tide_agg_init(g, t);
        rc = tide_agg_decode(g, t, states[dec], lens[dec], &used, e);
        if (rc == 0 && used != lens[dec])
            rc = tide_err_set(e, TIDE_ECORRUPT, "window aggregate: partial of aggregate %zu has %zu bytes past its state",
                              dec, lens[dec] - used);
    }
    uint64_t h = hash_key(key, len);
    uint32_t kidx = NONE;
    uint64_t kw[2] = {0, 0};
    if (len <= 16)
        key_words(key, len, kw);
    for (size_t r = 0; r < n && rc == 0; r++) {
        int64_t start = op->ranges[r].start, end = op->ranges[r].end;
        uint64_t wh = hash_win(h, start, end);
        uint32_t idx = win_find(op, key, len, kw, start, end, wh);
        if (idx == NONE) {
            if (kidx == NONE && len > 16)
                kidx = key_find(op, key, len, h);
            if (len > 16 && (rc = key_get(op, key, len, h, &kidx))) {
                rc = fail(op, e, rc, rc_what(rc));
                break;
            }
            if ((rc = win_create_fixed(op, kidx, key, len, start, end, wh, &idx))) {
                if (kidx != NONE && op->keys[kidx].refs == 0)
                    key_release(op, kidx);
                rc = fail(op, e, rc, rc_what(rc));
                break;
            }
        }
        unsigned char *a = win_acc(op, idx);
        for (size_t i = 0; i < op->n_aggs && rc == 0; i++)
            if ((rc = tide_agg_merge(&op->agg[i], a + op->agg_off[i], tmp + i * TIDE_AGG_STATE_MAX, e)) != 0)
                rc = fail(op, e, rc, rc_what(rc));
        if (rc)
            break;
        WIN(op, idx)->flags |= W_DIRTY;
        if ((rc = win_after_step(op, idx)))
            rc = fail(op, e, rc, rc_what(rc));
    }
    for (size_t i = 0; i < dec; i++)
        tide_agg_free(&op->agg[i], tmp + i * TIDE_AGG_STATE_MAX);
    free(tmp);
    return rc;
}

int tide_winagg_merge(tide_winagg *op, const void *key, uint32_t key_len, int64_t ts, const void *const *states,
                      const size_t *lens, int64_t proc_now, tide_err *e)
{
    if (op->failed)
        return tide_err_set(e, TIDE_EFAILED, "window aggregate: failed earlier (%s)", tide_err_name(op->failed));
    if (op->cfg.window.kind == TIDE_WIN_SESSION || op->cfg.early.every_n)
        return tide_err_set(e, TIDE_EINVAL, "window aggregate: partials cannot merge into %s",
                            op->cfg.early.every_n ? "every-N early firings" : "SESSION windows");
    int rc = merge_fixed(op, key, key_len, ts, states, lens, e);
    if (rc)
        return rc;
    if ((rc = maybe_early_round(op, proc_now)))
        return fail(op, e, rc, rc_what(rc));
    return 0;
}

/* Batches: the state a record touches is scattered over memory far larger
 * than the caches, and on these machines a cache miss costs hundreds of ns.
 * So records are first only *prefetched*, in dependent stages (window slot,
 * then window entry and accumulators; for sessions key slot, key record,
 * session), letting the misses of many records overlap; then the records
 * are pushed one by one exactly as tide_winagg_push would.  The prefetch
 * stages read but never change state, so results are the same as pushing
 * one at a time. */
#define WA_GROUP 16


/* Stage 1: hashes; prefetch the window slots (fixed windows, at most
 * WA_MAXW per record) or the key slot (sessions). */
static void pf_stage1(const tide_winagg *op, wa_pf *pf, size_t m, const void *const *keys,
                      const uint32_t *lens, const int64_t *ts, bool fixed, bool session)
{
    /* TUMBLE windows partition time: a record inside the previous record's
     * window belongs to it (saves the division of the assigner). */
    bool tumble = op->cfg.window.kind == TIDE_WIN_TUMBLE;
    tide_win_range last = {1, 0}; /* empty */
    for (size_t i = 0; i < m; i++) {
        tide_win_range *rg = pf[i].rg;
        if (lens[i] <= 16) {
            key_words(keys[i], lens[i], pf[i].kw);
            pf[i].h = hash_words(pf[i].kw, lens[i]);
        } else {
            pf[i].h = hash_key(keys[i], lens[i]);
        }
        pf[i].nw = 0;
        pf[i].interned = session || lens[i] > 16;
        if (fixed && tumble && ts[i] >= last.start && ts[i] < last.end) {
            rg[0] = last;
            pf[i].nw = 1;
            pf[i].wh[0] = hash_win(pf[i].h, last.start, last.end);
            __builtin_prefetch(&op->wslots[(uint32_t)pf[i].wh[0] & op->wmask]);
        } else if (fixed) {
            pf[i].nw = (uint8_t)tide_win_assign(&op->cfg.window, ts[i], rg);
            if (tumble)
                last = rg[0];
            for (size_t k = 0; k < pf[i].nw; k++) {
                pf[i].wh[k] = hash_win(pf[i].h, rg[k].start, rg[k].end);
                __builtin_prefetch(&op->wslots[(uint32_t)pf[i].wh[k] & op->wmask]);
            }
        } else if (session) {
            __builtin_prefetch(&op->kslots[(uint32_t)pf[i].h & op->kmask]);
        }
    }
}

/* Stage 1 of TUMBLE windows (one window per record): pf_stage1's work,
 * without its per-record case analysis. */
static void pf_stage1_tumble(const tide_winagg *op, wa_pf *pf, size_t m,
                             const void *const *keys, const uint32_t *lens, const int64_t *ts)
{
    const uint64_t *wslots = op->wslots;
    uint32_t wmask = op->wmask;
    tide_win_range last = {1, 0}; /* empty */
    for (size_t i = 0; i < m; i++) {
        wa_pf *q = &pf[i];
        uint32_t len = lens[i];
        if (len <= 16) {
            key_words(keys[i], len, q->kw);
            q->h = hash_words(q->kw, len);
        } else {
            q->h = hash_key(keys[i], len);
        }
        q->interned = len > 16;
        if (!(ts[i] >= last.start && ts[i] < last.end)) {
            size_t nw = tide_win_assign(&op->cfg.window, ts[i], q->rg);
            q->nw = (uint8_t)nw;
            if (nw != 1) { /* not expected of TUMBLE; as pf_stage1 does */
                for (size_t k = 0; k < nw; k++) {
                    q->wh[k] = hash_win(q->h, q->rg[k].start, q->rg[k].end);
                    __builtin_prefetch(&wslots[(uint32_t)q->wh[k] & wmask]);
                }
                if (nw)
                    last = q->rg[0];
                continue;
            }
            last = q->rg[0];
        } else {
            q->rg[0] = last;
            q->nw = 1;
        }
        q->wh[0] = hash_win(q->h, last.start, last.end);
        __builtin_prefetch(&wslots[(uint32_t)q->wh[0] & wmask]);
    }
}

/* Stage 2: read the slots (current arrays: earlier records may have
 * changed them, which only makes a prefetch useless, never wrong);
 * prefetch windows and accumulators, or key records. */
static void pf_stage2(const tide_winagg *op, wa_pf *pf, size_t m, bool session)
{
    for (size_t i = 0; i < m; i++) {
        bool need_key = false;
        pf[i].kidx = NONE;
        for (size_t k = 0; k < pf[i].nw; k++) {
            uint64_t sl = op->wslots[(uint32_t)pf[i].wh[k] & op->wmask];
            if (sl && (uint32_t)(sl >> 32) == (uint32_t)pf[i].wh[k] &&
                (uint32_t)sl - 1 < op->wins_cap) {
                __builtin_prefetch(WIN(op, (uint32_t)sl - 1), 1);
                if (!op->acc_inline) /* else on the same line */
                    __builtin_prefetch(win_acc(op, (uint32_t)sl - 1), 1);
            } else {
                need_key = true; /* maybe a new window: it would look up the key */
            }
        }
        if (need_key && pf[i].interned) {
            __builtin_prefetch(&op->kslots[(uint32_t)pf[i].h & op->kmask]);
            pf[i].kidx = NONE - 1; /* stage 3: read the key slot */
        }
        if (session) {
            uint64_t sl = op->kslots[(uint32_t)pf[i].h & op->kmask];
            pf[i].kidx = sl && (uint32_t)(sl >> 32) == (uint32_t)pf[i].h &&
                                 (uint32_t)sl - 1 < op->keys_cap
                             ? (uint32_t)sl - 1
                             : NONE;
            if (pf[i].kidx != NONE)
                __builtin_prefetch(&op->keys[pf[i].kidx]);
        }
    }
}

/* Stage 3: sessions: the key's newest session and its accumulators; fixed
 * windows about to be created: the key record. */
static void pf_stage3(const tide_winagg *op, const wa_pf *pf, size_t m)
{
    for (size_t i = 0; i < m; i++) {
        if (pf[i].kidx == NONE)
            continue;
        if (pf[i].kidx == NONE - 1) {
            uint64_t sl = op->kslots[(uint32_t)pf[i].h & op->kmask];
            if (sl && (uint32_t)(sl >> 32) == (uint32_t)pf[i].h && (uint32_t)sl - 1 < op->keys_cap)
                __builtin_prefetch(&op->keys[(uint32_t)sl - 1]);
            continue;
        }
        uint32_t c = op->keys[pf[i].kidx].sessions;
        if (c < op->wins_cap) {
            __builtin_prefetch(WIN(op, c), 1);
            __builtin_prefetch(win_acc(op, c), 1);
        }
    }
}

/* Stage 3 of fixed windows whose aggregates probe tables of their own
 * (COUNT(DISTINCT)): the windows' entries were prefetched a group ago, so
 * find each record's existing windows (first slot only: a hint) and let
 * the aggregates prefetch the table slots the step will probe. */
static void pf_stage3_aggs(const tide_winagg *op, const wa_pf *pf, size_t m, const tide_value *in,
                           size_t stride)
{
    for (size_t i = 0; i < m; i++) {
        for (size_t k = 0; k < pf[i].nw; k++) {
            uint64_t sl = op->wslots[(uint32_t)pf[i].wh[k] & op->wmask];
            if (!sl || (uint32_t)(sl >> 32) != (uint32_t)pf[i].wh[k] ||
                (uint32_t)sl - 1 >= op->wins_cap)
                continue;
            const unsigned char *acc = win_acc(op, (uint32_t)sl - 1);
            for (size_t a = 0; a < op->n_aggs; a++)
                if (op->agg[a].kind == TIDE_AGG_COUNT_DISTINCT)
                    tide_agg_prefetch(&op->agg[a], acc + op->agg_off[a],
                                      &in[i * stride + op->aggs[a].arg]);
        }
    }
}

/* The common case of a batch push: TUMBLE windows, COUNT(*) only (held in
 * the entry header), no early firings.  A record whose window is still
 * open then needs only the count and the bookkeeping win_step does (no
 * input check, no lateness, no early or late firing can apply), which
 * push_count_tumble_batch exploits. */
static bool fast_count_tumble(const tide_winagg *op)
{
    return op->cfg.window.kind == TIDE_WIN_TUMBLE && op->acc_inline && op->n_aggs == 1 &&
           op->agg[0].kind == TIDE_AGG_COUNT_STAR && op->agg_off[0] == 0 && !op->has_inputs &&
           op->cfg.early.every_n == 0 && op->cfg.early.every_ms <= 0;
}

/* Combining, for fast_count_tumble operators.  Within one batch the
 * watermark does not move, so every record whose window is still open only
 * adds 1 to its window's count, emits nothing and decides nothing else
 * (no lateness, no early firing applies).  Such records are first counted
 * per distinct (key, window) in a small table that stays in the L1/L2
 * caches (CT_SLOTS slots of 4 bytes, the distinct entries dense), then
 * each distinct pair updates the big window table once, by its count.  With
 * skewed keys (the logins generator's Zipf users: ~37% distinct pairs in a
 * batch of 4096) most records never touch the big table.  The other
 * records (a window the watermark passed, keys longer than 16 bytes) go
 * through push_one in their order, before the combined ones: the two sets
 * touch different windows and only the former emit rows, so the rows, their
 * order and the late count are those of pushing record by record.  (Which
 * entry a new window gets may differ; nothing visible depends on it.) */
#define CT_CHUNK 4096
#define CT_SLOT_BITS 13
#define CT_SLOTS (1u << CT_SLOT_BITS) /* 2 * CT_CHUNK */
#define CT_IDX_BITS 13 /* entry + 1 <= CT_CHUNK < 2^13 */

typedef struct ct_ent {
    uint64_t kw[2];
    uint64_t wh; /* hash_win of the pair */
    int64_t start, end;
    uint32_t len, count;
    uint32_t first; /* the first record of the pair (index in the batch) */
} ct_ent;

/* Records [0, n) of a batch (n <= CT_CHUNK) of a fast_count_tumble
 * operator. */
static int push_count_tumble_chunk(tide_winagg *op, size_t n, const void *const *keys,
                                   const uint32_t *lens, const int64_t *ts, const tide_value *in,
                                   size_t stride, int64_t proc_now, tide_err *e)
{
    uint32_t *slots = op->ct_slots;
    ct_ent *ents = op->ct_ents;
    /* a table of at least 2n slots (load <= 1/2): a small batch (an
     * exchange's share of a source batch) clears a small one */
    uint32_t bits = 6;
    while (bits < CT_SLOT_BITS && (1u << bits) < 2 * n)
        bits++;
    uint32_t smask = (1u << bits) - 1;
    memset(slots, 0, ((size_t)smask + 1) * sizeof *slots);
    size_t nd = 0, no = 0;
    tide_win_range last = {1, 0}; /* empty */
    int64_t wm = op->wm;
    for (size_t r = 0; r < n; r++) {
        uint32_t len = lens[r];
        if (len > 16) {
            op->ct_other[no++] = (uint32_t)r;
            continue;
        }
        if (!(ts[r] >= last.start && ts[r] < last.end)) {
            tide_win_range rg[WA_MAXW];
            if (tide_win_assign(&op->cfg.window, ts[r], rg) != 1) {
                op->ct_other[no++] = (uint32_t)r;
                continue;
            }
            last = rg[0];
        }
        if (tide_trig_due(last.end, wm)) { /* not open (W >= end - 1): lateness decides */
            op->ct_other[no++] = (uint32_t)r;
            continue;
        }
        uint64_t kw[2];
        key_words(keys[r], len, kw);
        /* the chunk's own table needs no strong hash: a multiply of the
         * words (all in the top bits); hash_win only per distinct pair */
        uint64_t lh = ((kw[0] ^ (uint64_t)last.start) * 0x9e3779b97f4a7c15ull ^
                       (kw[1] + len) * 0xc2b2ae3d27d4eb4full) *
                      0xff51afd7ed558ccdull;
        uint32_t tag = (uint32_t)lh & ~(uint32_t)((1u << CT_IDX_BITS) - 1);
        for (uint32_t j = (uint32_t)(lh >> (64 - bits));; j = (j + 1) & smask) {
            uint32_t sl = slots[j];
            if (!sl) {
                uint64_t wh = hash_win(hash_words(kw, len), last.start, last.end);
                ents[nd] = (ct_ent){{kw[0], kw[1]}, wh, last.start, last.end, len, 1, (uint32_t)r};
                slots[j] = tag | (uint32_t)++nd;
                break;
            }
            if ((sl & ~(uint32_t)((1u << CT_IDX_BITS) - 1)) != tag)
                continue;
            ct_ent *d = &ents[(sl & ((1u << CT_IDX_BITS) - 1)) - 1];
            if (d->kw[0] == kw[0] && d->kw[1] == kw[1] && d->start == last.start && d->len == len) {
                d->count++;
                break;
            }
        }
    }
    for (size_t i = 0; i < no; i++) {
        uint32_t r = op->ct_other[i];
        int rc = push_one(op, keys[r], lens[r], hash_key(keys[r], lens[r]), ts[r],
                          in ? in + (size_t)r * stride : NULL, proc_now, NULL, e);
        if (rc)
            return rc;
    }
    /* The distinct pairs into the window table, prefetched ahead: slots
     * 2*CT_AHEAD pairs ahead, entries CT_AHEAD ahead. */
    enum { CT_AHEAD = 16 };
    for (size_t d = 0; d < nd; d++) {
        if (d + 2 * CT_AHEAD < nd)
            __builtin_prefetch(&op->wslots[(uint32_t)ents[d + 2 * CT_AHEAD].wh & op->wmask]);
        if (d + CT_AHEAD < nd) {
            uint64_t sl = op->wslots[(uint32_t)ents[d + CT_AHEAD].wh & op->wmask];
            if (sl && (uint32_t)(sl >> 32) == (uint32_t)ents[d + CT_AHEAD].wh &&
                (uint32_t)sl - 1 < op->wins_cap)
                __builtin_prefetch(WIN(op, (uint32_t)sl - 1), 1);
        }
        const ct_ent *c = &ents[d];
        uint32_t idx = win_find(op, keys[c->first], c->len, c->kw, c->start, c->end, c->wh);
        uint32_t add = c->count;
        if (idx == NONE) {
            /* a new window, open (the record would be pushed without any
             * firing): as push_fixed creates it */
            int rc = win_create_fixed(op, NONE, keys[c->first], c->len, c->start, c->end, c->wh,
                                      &idx);
            if (rc)
                return fail(op, e, rc, rc_what(rc));
        }
        wa_win *w = WIN(op, idx);
        w->acc0 += add; /* COUNT(*)'s state: one int64_t at acc0 */
        w->flags |= W_DIRTY;
        uint64_t sf = (uint64_t)w->since_fire + add;
        w->since_fire = sf > UINT32_MAX ? UINT32_MAX : (uint32_t)sf;
    }
    return 0;
}

static int push_count_tumble_batch(tide_winagg *op, size_t n, const void *const *keys,
                                   const uint32_t *lens, const int64_t *ts, const tide_value *in,
                                   size_t stride, int64_t proc_now, tide_err *e)
{
    if (!op->ct_slots) {
        op->ct_slots = malloc(CT_SLOTS * sizeof *op->ct_slots);
        op->ct_ents = malloc(CT_CHUNK * sizeof *op->ct_ents);
        op->ct_other = malloc(CT_CHUNK * sizeof *op->ct_other);
        if (!op->ct_slots || !op->ct_ents || !op->ct_other) {
            free(op->ct_slots);
            free(op->ct_ents);
            free(op->ct_other);
            op->ct_slots = NULL;
            op->ct_ents = NULL;
            op->ct_other = NULL;
            return fail(op, e, TIDE_ENOMEM, rc_what(TIDE_ENOMEM));
        }
    }
    for (size_t b = 0; b < n; b += CT_CHUNK) {
        size_t m = n - b < CT_CHUNK ? n - b : CT_CHUNK;
        int rc = push_count_tumble_chunk(op, m, keys + b, lens + b, ts + b,
                                         in ? in + b * stride : NULL, stride, proc_now, e);
        if (rc)
            return rc;
    }
    return 0;
}

int tide_winagg_push_batch(tide_winagg *op, size_t n, const void *const *keys,
                           const uint32_t *key_lens, const int64_t *ts, const tide_value *in,
                           int64_t proc_now, tide_err *e)
{
    if (op->failed)
        return tide_err_set(e, TIDE_EFAILED, "window aggregate: failed earlier (%s)",
                            tide_err_name(op->failed));
    /* A software pipeline over groups of WA_GROUP records: while group t is
     * hashed and its slots prefetched, group t-1's entries are prefetched,
     * group t-2's session entries, and group t-3 is pushed. */
    wa_pf pf[4][WA_GROUP];
    size_t stride = op->cfg.n_inputs;
    bool session = op->cfg.window.kind == TIDE_WIN_SESSION;
    bool fixed = !session && tide_win_max_windows(&op->cfg.window) <= WA_MAXW;
    size_t groups = (n + WA_GROUP - 1) / WA_GROUP;
    bool tumble = op->cfg.window.kind == TIDE_WIN_TUMBLE;
    if (fixed && fast_count_tumble(op))
        return push_count_tumble_batch(op, n, keys, key_lens, ts, in, stride, proc_now, e);
    for (size_t t = 0; t < groups + 3; t++) {
        if (t < groups) {
            size_t b = t * WA_GROUP, m = n - b < WA_GROUP ? n - b : WA_GROUP;
            if (fixed && tumble)
                pf_stage1_tumble(op, pf[t % 4], m, keys + b, key_lens + b, ts + b);
            else
                pf_stage1(op, pf[t % 4], m, keys + b, key_lens + b, ts + b, fixed, session);
        }
        if (t >= 1 && t - 1 < groups) {
            size_t b = (t - 1) * WA_GROUP, m = n - b < WA_GROUP ? n - b : WA_GROUP;
            pf_stage2(op, pf[(t - 1) % 4], m, session);
        }
        if (t >= 2 && t - 2 < groups) {
            size_t b = (t - 2) * WA_GROUP, m = n - b < WA_GROUP ? n - b : WA_GROUP;
            pf_stage3(op, pf[(t - 2) % 4], m);
            if (fixed && op->agg_pf && in)
                pf_stage3_aggs(op, pf[(t - 2) % 4], m, in + b * stride, stride);
        }
        if (t >= 3) {
            size_t g = t - 3, b = g * WA_GROUP, m = n - b < WA_GROUP ? n - b : WA_GROUP;
            const wa_pf *p = pf[g % 4];
            for (size_t i = 0; i < m; i++) {
                size_t r = b + i;
                int rc = push_one(op, keys[r], key_lens[r], p[i].h, ts[r],
                                  in ? in + r * stride : NULL, proc_now,
                                  fixed ? &p[i] : NULL, e);
                if (rc)
                    return rc;
            }
        }
    }
    return 0;
}

/* ---- watermark ---------------------------------------------------------- */

/* Prefetch distance (windows) of the firing loops. */
#define WA_AHEAD 8

/* A window entry about to be fired: its header, accumulators and previous
 * results (adjacent lines). */
static inline void prefetch_entry(const tide_winagg *op, uint32_t idx)
{
    const unsigned char *p = (const unsigned char *)WIN(op, idx);
    for (size_t off = 0; off < op->wstride; off += 64)
        __builtin_prefetch(p + off, 1);
}

/* What freeing window `idx` will touch: its window-table slot (home
 * position) and its key record.  The entry itself was prefetched before. */
static inline void prefetch_release(const tide_winagg *op, uint32_t idx)
{
    const wa_win *w = WIN(op, idx);
    if (op->cfg.window.kind != TIDE_WIN_SESSION)
        __builtin_prefetch(
            &op->wslots[(uint32_t)hash_win(win_key_hash(op, w), w->start, w->end) & op->wmask]);
    if (w->key != NONE)
        __builtin_prefetch(&op->keys[w->key], 1);
}

int tide_winagg_advance_watermark(tide_winagg *op, int64_t wm, int64_t proc_now, tide_err *e)
{
    if (op->failed)
        return tide_err_set(e, TIDE_EFAILED, "window aggregate: failed earlier (%s)",
                            tide_err_name(op->failed));
    int rc = 0;
    if (wm > op->wm) {
        op->wm = wm;
        /* Pop the due actions first, then visit their windows (which never
         * touches the heap) with the entries prefetched a few ahead. */
        size_t n = 0, n_due = 0;
        if ((rc = heap_take_due(op, wm, &n_due)))
            goto failed;
        for (size_t i = 0; i < n_due; i++) {
            if (i + WA_AHEAD < n_due)
                __builtin_prefetch(WIN(op, op->due[i + WA_AHEAD].win));
            wa_heap_ent x = op->due[i];
            wa_win *w = WIN(op, x.win);
            if (w->gen != x.gen || !(w->flags & W_LIVE))
                continue;
            if (!(w->flags & W_DONE) && !tide_trig_due(w->end, wm)) {
                /* a session extended since its action was set: due later */
                if ((rc = heap_push(op, tide_trig_fire_time(w->end), x.win)))
                    goto failed;
                continue;
            }
            if (!(w->flags & W_DONE)) {
                if ((rc = fire_add(op, &n, x.win)))
                    goto failed;
            } else if (tide_trig_expired(w->end, op->cfg.allowed_lateness, wm)) {
                win_free(op, x.win);
            }
        }
        if ((rc = fire_sort(op, n)))
            goto failed;
        for (size_t i = 0; i < n; i++) {
            if (i + 2 * WA_AHEAD < n)
                prefetch_entry(op, op->fire[i + 2 * WA_AHEAD].win);
            if (i + WA_AHEAD < n)
                prefetch_release(op, op->fire[i + WA_AHEAD].win);
            if ((rc = win_fire_on_time(op, op->fire[i].win)))
                goto failed;
        }
        if (wm == TIDE_TS_MAX)
            key_sweep(op, true);
        else if (op->n_idle > 64 && op->created_since_sweep >= op->n_keys)
            key_sweep(op, false);
    }
    if ((rc = maybe_early_round(op, proc_now)))
        goto failed;
    return 0;
failed:
    return fail(op, e, rc, rc_what(rc));
}

int tide_winagg_tick(tide_winagg *op, int64_t proc_now, tide_err *e)
{
    return tide_winagg_advance_watermark(op, op->wm, proc_now, e);
}

int64_t tide_winagg_watermark(const tide_winagg *op) { return op->wm; }
uint64_t tide_winagg_late_count(const tide_winagg *op) { return op->late_count; }
size_t tide_winagg_live_windows(const tide_winagg *op) { return op->n_wins; }
size_t tide_winagg_live_keys(const tide_winagg *op) { return op->n_keys - op->n_idle; }
size_t tide_winagg_interned_keys(const tide_winagg *op) { return op->n_keys; }

/* ---- snapshot / restore --------------------------------------------------
 *
 * The snapshot holds what decides future output and nothing of the layout:
 * the config that shapes the state (a fingerprint checked on restore), the
 * watermark, the late count, the early-firing clock, and every live window
 * sorted by (key bytes, start, end) with its flags, its record count since
 * the last firing, its accumulators (exec/agg.h's canonical encodings) and,
 * once emitted, the results it emitted last.  Restore rebuilds the rest from
 * them: the indexes, the heap (one action per window, see snap_rebuild)
 * and the early-firing dirty list (windows flagged W_IN_DLIST).  Idle interned keys, entry numbers, generations, stale heap
 * entries and the batch paths' scratch are not state (no call keeps
 * anything in them), so two snapshots of one state are the same bytes and a
 * restored operator snapshots to the bytes it was restored from. */

#define WA_SNAP_KIND "winagg"
#define WA_SNAP_VERSION 2 /* 2: the window offset */
#define WA_SNAP_FLAGS ((uint32_t)(W_EMITTED | W_DONE | W_DIRTY | W_IN_DLIST))

/* The window spec with the fields its kind does not use zeroed. */
static tide_win_spec snap_spec(const tide_win_spec *s)
{
    tide_win_spec n = {.kind = s->kind};
    switch (s->kind) {
    case TIDE_WIN_TUMBLE: n.size = s->size; n.offset = s->offset; break;
    case TIDE_WIN_HOP:
    case TIDE_WIN_CUMULATE: n.size = s->size; n.slide = s->slide; n.offset = s->offset; break;
    case TIDE_WIN_SESSION: n.gap = s->gap; break;
    default: break;
    }
    return n;
}

void tide_winagg_snap_put_config(const tide_winagg_config *cfg, tide_snap_w *w)
{
    tide_win_spec s = snap_spec(&cfg->window);
    tide_snap_put_u8(w, (uint8_t)s.kind);
    tide_snap_put_i64(w, s.size);
    tide_snap_put_i64(w, s.slide);
    tide_snap_put_i64(w, s.gap);
    tide_snap_put_i64(w, s.offset);
    tide_snap_put_varint(w, cfg->n_aggs);
    for (size_t i = 0; i < cfg->n_aggs; i++)
        tide_agg_call_snap_put(&cfg->aggs[i], w);
    tide_snap_put_varint(w, cfg->n_inputs);
    tide_snap_put_i64(w, cfg->allowed_lateness);
    tide_snap_put_u8(w, (uint8_t)cfg->mode);
    tide_snap_put_i64(w, cfg->early.every_ms > 0 ? cfg->early.every_ms : 0);
    tide_snap_put_u64(w, cfg->early.every_n);
}

static int snap_differs(tide_err *e, const char *what, long long snap, long long here)
{
    return tide_err_set(e, TIDE_EINVAL,
                        "window aggregate: the snapshot is of another config: %s %lld in the "
                        "snapshot, %lld here",
                        what, snap, here);
}

int tide_winagg_snap_check_config(const tide_winagg_config *cfg, tide_snap_r *r, tide_err *e)
{
    tide_win_spec s = snap_spec(&cfg->window), g;
    g.kind = (tide_win_kind)tide_snap_get_u8(r);
    g.size = tide_snap_get_i64(r);
    g.slide = tide_snap_get_i64(r);
    g.gap = tide_snap_get_i64(r);
    g.offset = tide_snap_get_i64(r);
    uint64_t n_aggs = tide_snap_get_varint(r);
    int rc;
    if (tide_snap_failed(r))
        return tide_snap_close(r, e);
    if (g.kind != s.kind || g.size != s.size || g.slide != s.slide || g.gap != s.gap || g.offset != s.offset)
        return tide_err_set(e, TIDE_EINVAL,
                            "window aggregate: the snapshot is of another config: window "
                            "%s(size %lld, slide %lld, gap %lld, offset %lld) in the snapshot, "
                            "%s(size %lld, slide %lld, gap %lld, offset %lld) here",
                            (unsigned)g.kind <= TIDE_WIN_GLOBAL ? tide_win_kind_name(g.kind) : "?",
                            (long long)g.size, (long long)g.slide, (long long)g.gap, (long long)g.offset,
                            tide_win_kind_name(s.kind), (long long)s.size, (long long)s.slide,
                            (long long)s.gap, (long long)s.offset);
    if (n_aggs != cfg->n_aggs)
        return snap_differs(e, "aggregate count", (long long)n_aggs, (long long)cfg->n_aggs);
    for (size_t i = 0; i < cfg->n_aggs; i++)
        if ((rc = tide_agg_call_snap_check(&cfg->aggs[i], i, "window aggregate", r, e)))
            return rc;
    uint64_t n_inputs = tide_snap_get_varint(r);
    int64_t lateness = tide_snap_get_i64(r);
    unsigned mode = tide_snap_get_u8(r);
    int64_t every_ms = tide_snap_get_i64(r);
    uint64_t every_n = tide_snap_get_u64(r);
    if (tide_snap_failed(r))
        return tide_snap_close(r, e);
    if (n_inputs != cfg->n_inputs)
        return snap_differs(e, "input count", (long long)n_inputs, (long long)cfg->n_inputs);
    if (lateness != cfg->allowed_lateness)
        return snap_differs(e, "allowed lateness", (long long)lateness,
                            (long long)cfg->allowed_lateness);
    if (mode != (unsigned)cfg->mode)
        return tide_err_set(e, TIDE_EINVAL,
                            "window aggregate: the snapshot is of another config: %s mode in "
                            "the snapshot, %s here",
                            mode <= TIDE_TRIG_RETRACTING ? tide_trig_mode_name((tide_trig_mode)mode)
                                                         : "?",
                            tide_trig_mode_name(cfg->mode));
    if (every_ms != (cfg->early.every_ms > 0 ? cfg->early.every_ms : 0))
        return snap_differs(e, "early firing period (ms)", (long long)every_ms,
                            (long long)cfg->early.every_ms);
    if (every_n != cfg->early.every_n)
        return snap_differs(e, "early firing count", (long long)every_n,
                            (long long)cfg->early.every_n);
    return 0;
}

void tide_winagg_snap_put_head(const tide_winagg_config *cfg, int64_t wm, uint64_t late_count,
                               const tide_trig_clock *clock, tide_snap_w *w)
{
    tide_winagg_snap_put_config(cfg, w);
    tide_snap_put_i64(w, wm);
    tide_snap_put_u64(w, late_count);
    tide_trig_clock_snap_put(clock, w);
}

int tide_winagg_snap_get_head(const tide_winagg_config *cfg, tide_snap_r *r, int64_t *wm,
                              uint64_t *late_count, tide_trig_clock *clock, tide_err *e)
{
    int rc = tide_winagg_snap_check_config(cfg, r, e);
    if (rc)
        return rc;
    *wm = tide_snap_get_i64(r);
    *late_count = tide_snap_get_u64(r);
    tide_trig_clock_snap_get(clock, r);
    return 0;
}

/* A live window, in snapshot order. */
typedef struct wa_snap_ref {
    const unsigned char *key;
    uint32_t klen;
    int64_t start, end;
    uint32_t win;
} wa_snap_ref;

static int snap_ref_cmp(const void *pa, const void *pb)
{
    const wa_snap_ref *a = pa, *b = pb;
    uint32_t n = a->klen < b->klen ? a->klen : b->klen;
    int c = n ? memcmp(a->key, b->key, n) : 0;
    if (c)
        return c;
    if (a->klen != b->klen)
        return a->klen < b->klen ? -1 : 1;
    if (a->start != b->start)
        return a->start < b->start ? -1 : 1;
    return (a->end > b->end) - (a->end < b->end);
}

static int snap_ref_cmp_idx(void *ctx, size_t a, size_t b)
{
    const wa_snap_ref *refs = ctx;
    return snap_ref_cmp(&refs[a], &refs[b]);
}

/* refs in snapshot order: a radix sort on the keys' first 16 bytes, then
 * each run of windows of one key (or of keys alike in those bytes) by the
 * full order (base/sort.h); qsort when there is no memory for it. */
static void snap_sort_refs(wa_snap_ref *refs, size_t n)
{
    tide_sort_item *v = n > 64 ? malloc(2 * n * sizeof *v) : NULL;
    wa_snap_ref *sorted = v ? malloc(n * sizeof *sorted) : NULL;
    if (!sorted) {
        free(v);
        qsort(refs, n, sizeof *refs, snap_ref_cmp);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        tide_sort_prefix(&v[i], refs[i].key, refs[i].klen);
        v[i].idx = i;
    }
    if (!tide_sort_radix(v, v + n, n)) {
        qsort(refs, n, sizeof *refs, snap_ref_cmp);
    } else {
        tide_sort_runs(v, n, snap_ref_cmp_idx, refs);
        for (size_t i = 0; i < n; i++)
            sorted[i] = refs[v[i].idx];
        memcpy(refs, sorted, n * sizeof *refs);
    }
    free(sorted);
    free(v);
}

int tide_winagg_snapshot(const tide_winagg *op, tide_buf *out, tide_err *e)
{
    if (op->failed)
        return tide_err_set(e, TIDE_EFAILED, "window aggregate: no snapshot of a failed operator (%s)",
                            tide_err_name(op->failed));
    wa_snap_ref *refs = NULL;
    if (op->n_wins && !(refs = malloc(op->n_wins * sizeof *refs)))
        return tide_err_set(e, TIDE_ENOMEM, "window aggregate: snapshot: out of memory");
    size_t n = 0;
    for (uint32_t i = 0; i < op->wins_cap && n < op->n_wins; i++) {
        const wa_win *w = WIN(op, i);
        if (w->flags & W_LIVE)
            refs[n++] = (wa_snap_ref){win_key(op, i), w->klen, w->start, w->end, i};
    }
    if (n)
        snap_sort_refs(refs, n);
    tide_snap_w w;
    tide_snap_begin(&w, out, WA_SNAP_KIND, WA_SNAP_VERSION);
    tide_winagg_snap_put_head(&op->cfg, op->wm, op->late_count, &op->clock, &w);
    tide_snap_put_varint(&w, n);
    for (size_t k = 0; k < n; k++) {
        const wa_win *x = WIN(op, refs[k].win);
        uint32_t flags = x->flags & WA_SNAP_FLAGS;
        tide_snap_put_bytes(&w, refs[k].key, refs[k].klen);
        tide_snap_put_i64(&w, x->start);
        tide_snap_put_i64(&w, x->end);
        tide_snap_put_u8(&w, (uint8_t)flags);
        tide_snap_put_varint(&w, x->since_fire);
        const unsigned char *a = win_acc(op, refs[k].win);
        for (size_t i = 0; i < op->n_aggs; i++)
            tide_agg_snap_put(&op->agg[i], a + op->agg_off[i], &w);
        const tide_value *prev = win_prev(op, refs[k].win);
        if (prev && (flags & W_EMITTED))
            tide_agg_results_snap_put(prev, op->n_aggs, &w);
    }
    free(refs);
    return tide_snap_end(&w, e);
}

/* Back to the state of a freshly created operator (a failed restore). */
static void snap_reset(tide_winagg *op)
{
    for (uint32_t i = 0; i < op->wins_cap; i++)
        if (WIN(op, i)->flags & W_LIVE)
            win_free(op, i);
    key_sweep(op, true);
    op->heap_len = 0;
    op->dirty_len = 0;
    op->wm = TIDE_TS_MIN;
    op->late_count = 0;
    op->failed = 0;
    tide_trig_clock_init(&op->clock, op->cfg.early.every_ms);
}

/* A restored live window (key, start, end), indexed; *dup when the
 * snapshot holds it twice (or, for sessions, one the key's sessions
 * intersect).  0 or TIDE_ENOMEM. */
static int snap_win_create(tide_winagg *op, const void *key, uint32_t len, int64_t start,
                           int64_t end, uint32_t *out, bool *dup)
{
    uint64_t h = hash_key(key, len);
    int rc;
    *dup = false;
    if (op->cfg.window.kind == TIDE_WIN_SESSION) {
        uint32_t kidx = key_find(op, key, len, h);
        tide_win_range p = {start, end};
        for (uint32_t s = kidx != NONE ? op->keys[kidx].sessions : NONE; s != NONE;
             s = WIN(op, s)->next)
            if (tide_win_intersects(p, (tide_win_range){WIN(op, s)->start, WIN(op, s)->end})) {
                *dup = true;
                return 0;
            }
        if ((rc = key_get(op, key, len, h, &kidx)))
            return rc;
        if ((rc = win_alloc(op, kidx, NULL, 0, start, end, out))) {
            if (op->keys[kidx].refs == 0)
                key_release(op, kidx);
            return rc;
        }
        WIN(op, *out)->next = op->keys[kidx].sessions;
        op->keys[kidx].sessions = *out;
        return 0;
    }
    uint64_t kw[2] = {0, 0};
    if (len <= 16)
        key_words(key, len, kw);
    uint64_t wh = hash_win(h, start, end);
    if (win_find(op, key, len, kw, start, end, wh) != NONE) {
        *dup = true;
        return 0;
    }
    uint32_t kidx = NONE;
    if (len > 16) {
        kidx = key_find(op, key, len, h);
        if ((rc = key_get(op, key, len, h, &kidx)))
            return rc;
    }
    if ((rc = win_create_fixed(op, kidx, key, len, start, end, wh, out))) {
        if (kidx != NONE && op->keys[kidx].refs == 0)
            key_release(op, kidx);
        return rc;
    }
    return 0;
}

/* The heap action and the early-firing list entry of every restored
 * window.  A window that fired on time waits for its cleanup, as
 * win_fire_on_time sets it.  An open one gets an action due at once: the
 * next watermark step finds it not due yet and moves it to its end (or
 * fires it), as it does for a session extended since its action was set,
 * so the firing rule is stated in one place only. */
static int snap_rebuild(tide_winagg *op)
{
    op->heap_len = 0;
    op->dirty_len = 0;
    for (uint32_t i = 0; i < op->wins_cap; i++) {
        wa_win *w = WIN(op, i);
        if (!(w->flags & W_LIVE))
            continue;
        int64_t t = w->flags & W_DONE ? tide_trig_cleanup_time(w->end, op->cfg.allowed_lateness)
                                      : TIDE_TS_MIN;
        if (heap_push(op, t, i))
            return TIDE_ENOMEM;
        if (!(w->flags & W_IN_DLIST))
            continue;
        if (tide_array_grow((void **)&op->dirty, &op->dirty_cap, op->dirty_len + 1,
                            sizeof *op->dirty))
            return TIDE_ENOMEM;
        op->dirty[op->dirty_len++] = (wa_ref){i, w->gen};
    }
    return 0;
}

int tide_winagg_restore(tide_winagg *op, const void *buf, size_t len, tide_err *e)
{
    if (op->failed || op->n_wins || op->n_keys || op->wm != TIDE_TS_MIN || op->late_count ||
        op->clock.next != TIDE_TS_MIN)
        return tide_err_set(e, TIDE_EINVAL,
                            "window aggregate: restore needs a freshly created operator");
    tide_snap_r r;
    int rc = tide_snap_open(&r, buf, len, WA_SNAP_KIND, WA_SNAP_VERSION, NULL, e);
    if (rc)
        return rc;
    /* The config first (refused: nothing changed); from here on the operator
     * changes, and any failure resets it. */
    if ((rc = tide_winagg_snap_get_head(&op->cfg, &r, &op->wm, &op->late_count, &op->clock, e)))
        return rc;
    uint64_t n = tide_snap_get_varint(&r);
    if (n > tide_snap_remaining(&r))
        tide_snap_fail(&r);
    for (uint64_t k = 0; k < n && !rc && !tide_snap_failed(&r); k++) {
        size_t klen;
        const void *key = tide_snap_get_bytes(&r, &klen);
        int64_t start = tide_snap_get_i64(&r), end = tide_snap_get_i64(&r);
        uint32_t flags = tide_snap_get_u8(&r);
        uint64_t since_fire = tide_snap_get_varint(&r);
        if (klen > UINT32_MAX || (flags & ~WA_SNAP_FLAGS) || since_fire > UINT32_MAX ||
            start > end)
            tide_snap_fail(&r);
        if (tide_snap_failed(&r))
            break;
        uint32_t idx;
        bool dup;
        if ((rc = snap_win_create(op, key ? key : "", (uint32_t)klen, start, end, &idx, &dup))) {
            rc = tide_err_set(e, rc, "window aggregate: restore: out of memory");
            break;
        }
        if (dup) {
            tide_snap_fail(&r);
            break;
        }
        wa_win *w = WIN(op, idx);
        w->flags = W_LIVE | flags;
        w->since_fire = (uint32_t)since_fire;
        unsigned char *a = win_acc(op, idx);
        for (size_t i = 0; i < op->n_aggs && !rc; i++)
            rc = tide_agg_snap_get(&op->agg[i], a + op->agg_off[i], &r, e);
        tide_value *prev = win_prev(op, idx);
        if (!rc && prev && (flags & W_EMITTED)) {
            tide_agg_results_snap_get(op->agg, op->n_aggs, &r, op->out); /* borrowed, so */
            if (prev_store(op, idx, op->out)) /* copied into the entry's buffer */
                rc = tide_err_set(e, TIDE_ENOMEM, "window aggregate: restore: out of memory");
        }
    }
    if (!rc)
        rc = tide_snap_close(&r, e);
    if (!rc && (rc = snap_rebuild(op)))
        rc = tide_err_set(e, rc, "window aggregate: restore: out of memory");
    if (rc)
        snap_reset(op);
    return rc;
}
