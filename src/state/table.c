/*
 * table.c - Robin Hood hash table with backward-shift deletion.
 *
 * Invariant (linear probing, Robin Hood): within a cluster (a run of
 * occupied slots) entries appear in non-decreasing order of their home slot
 * (counting cyclically from the cluster's start).  Two consequences make the
 * code short:
 *   - a lookup of an absent key may stop at the first slot whose probe
 *     distance is smaller than the probe's own: the key would have been
 *     placed there;
 *   - inserting at position i is "shift the rest of the cluster [i, empty)
 *     one slot to the right, each distance + 1, and write the new entry at
 *     i"; deleting at i is the mirror image: shift the following entries
 *     that are not at their home slot one slot to the left, each distance - 1.
 *
 * Slot layout (stride = multiple of 8):
 *   u32 dist     0 = empty, else probe distance + 1 (1 = at its home slot)
 *   u32 hash     low 32 bits of the 64-bit hash (home = hash & mask)
 *   key          bytes mode: u32 len, 12 bytes: the key if len <= 12, else
 *                            a pointer to its copy in the arena
 *                u64 mode:   u64 key
 *   value        value_size bytes
 * Capacity is a power of two, at most 2^31 slots (so 32 hash bits suffice
 * for the home slot).
 */
#include "state/table.h"

#include "base/arena.h"
#include "base/bytes.h"
#include "base/crc32c.h"
#include "base/hash.h"
#include "base/sort.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define TABLE_SEED 0x7469646574626c31ull /* fixed: iteration order is reproducible */
#define TABLE_MIN_CAP 16u
#define TABLE_MAX_CAP ((size_t)1 << 31)
#define TABLE_VALUE_MAX (64u * 1024u)
#define TABLE_COMPACT_MIN (1u << 20)
#define SNAP_MAGIC "TTB1"
#define SNAP_VERSION 1

typedef struct slot_hdr {
    uint32_t dist;
    uint32_t hash;
} slot_hdr;

/* Keys up to KEY_INLINE bytes live in `karea`; longer ones in the arena,
 * with the pointer stored (unaligned, by memcpy) in `karea`. */
#define KEY_INLINE 12
typedef struct slot_bytes {
    uint32_t dist;
    uint32_t hash;
    uint32_t klen;
    unsigned char karea[KEY_INLINE];
} slot_bytes;

static inline const unsigned char *slot_key(const slot_bytes *s)
{
    if (s->klen <= KEY_INLINE)
        return s->karea;
    const unsigned char *p;
    memcpy(&p, s->karea, sizeof p);
    return p;
}

static inline void slot_set_kp(slot_bytes *s, const unsigned char *p)
{
    memcpy(s->karea, &p, sizeof p);
}

typedef struct slot_u64 {
    uint32_t dist;
    uint32_t hash;
    uint64_t key;
} slot_u64;

struct tide_table {
    unsigned char *slots;
    size_t cap; /* power of two */
    size_t mask;
    size_t count;
    size_t grow_at; /* grow before count exceeds this (7/8 of cap) */
    size_t stride;
    size_t voff; /* offset of the value in a slot */
    size_t value_size;
    tide_table_key_mode mode;
    tide_arena keys;       /* bytes mode: key copies */
    size_t live_key_bytes; /* arena bytes of live keys (rounded to 16) */
    size_t dead_key_bytes; /* arena bytes of deleted keys */
};

static inline unsigned char *slot_at(const tide_table *t, size_t i)
{
    return t->slots + i * t->stride;
}

static inline uint32_t slot_dist(const unsigned char *s)
{
    return ((const slot_hdr *)(const void *)s)->dist;
}

/* Arena bytes a key takes (0 when it is stored inline). */
static inline size_t key_arena_size(size_t klen)
{
    return klen <= KEY_INLINE ? 0 : (klen + 15) & ~(size_t)15;
}

static size_t cap_for(size_t n)
{
    size_t cap = TABLE_MIN_CAP;
    while (cap < TABLE_MAX_CAP && cap / 8 * 7 < n)
        cap <<= 1;
    return cap;
}

/* A zeroed slot array.  Big ones (>= 4 MiB) are 2 MiB-aligned and asked to
 * use transparent huge pages: first touch of fresh 4 KiB pages is the main
 * cost of a rehash on our VMs (DESIGN.md section 3), and huge pages take
 * 512 times fewer faults.  Best effort: without THP it is a plain array. */
#define HUGE_PAGE ((size_t)2 << 20)
static unsigned char *slots_alloc_raw(size_t cap, size_t stride, bool zero)
{
    size_t n = cap * stride;
    if (n < 2 * HUGE_PAGE)
        return zero ? calloc(cap, stride) : malloc(n);
    void *p = NULL;
    if (posix_memalign(&p, HUGE_PAGE, n) != 0)
        return NULL;
#ifdef MADV_HUGEPAGE
    (void)madvise(p, n, MADV_HUGEPAGE);
#endif
    if (zero)
        memset(p, 0, n);
    return p;
}

static unsigned char *slots_alloc(size_t cap, size_t stride)
{
    return slots_alloc_raw(cap, stride, true);
}

static void set_cap(tide_table *t, unsigned char *slots, size_t cap)
{
    t->slots = slots;
    t->cap = cap;
    t->mask = cap - 1;
    t->grow_at = cap / 8 * 7;
    /* Key arena blocks grow with the table: small tables (one per group, as
     * in COUNT(DISTINCT)) stay small; big ones allocate in 64 KiB blocks. */
    size_t block = cap * 16;
    t->keys.block_size = block < 512 ? 512 : block > 65536 ? 65536 : block;
}

int tide_table_create(tide_table **out, tide_table_key_mode mode, size_t value_size,
                      size_t capacity_hint, tide_err *e)
{
    *out = NULL;
    if (value_size > TABLE_VALUE_MAX)
        return tide_err_set(e, TIDE_EINVAL, "table: value size %zu over %u bytes", value_size,
                            TABLE_VALUE_MAX);
    if (mode != TIDE_TABLE_KEY_BYTES && mode != TIDE_TABLE_KEY_U64)
        return tide_err_set(e, TIDE_EINVAL, "table: bad key mode %d", (int)mode);
    tide_table *t = calloc(1, sizeof *t);
    if (!t)
        goto nomem;
    t->mode = mode;
    t->value_size = value_size;
    t->voff = mode == TIDE_TABLE_KEY_U64 ? sizeof(slot_u64) : sizeof(slot_bytes);
    t->stride = (t->voff + value_size + 7) & ~(size_t)7;
    tide_arena_init(&t->keys, 512);
    size_t cap = cap_for(capacity_hint);
    unsigned char *slots = slots_alloc(cap, t->stride);
    if (!slots)
        goto nomem;
    set_cap(t, slots, cap);
    *out = t;
    return 0;
nomem:
    tide_table_free(t);
    return tide_err_set(e, TIDE_ENOMEM, "table: out of memory creating a table");
}

void tide_table_free(tide_table *t)
{
    if (!t)
        return;
    free(t->slots);
    tide_arena_free(&t->keys);
    free(t);
}

int tide_table_copy(tide_table **dst, const tide_table *t, tide_err *e)
{
    tide_table *c = *dst;
    unsigned char *slots = NULL;
    if (c) { /* reuse the slot array when it has the size */
        tide_arena_free(&c->keys);
        if (c->cap * c->stride == t->cap * t->stride)
            slots = c->slots;
        else
            free(c->slots);
        c->slots = NULL;
    } else if (!(c = malloc(sizeof *c))) {
        goto nomem;
    }
    if (!slots && !(slots = slots_alloc_raw(t->cap, t->stride, false))) {
        free(c);
        *dst = NULL;
        goto nomem;
    }
    *c = *t;
    c->slots = slots;
    memcpy(c->slots, t->slots, t->cap * t->stride);
    /* one arena block for every live key (none when all are inline) */
    tide_arena_init(&c->keys, t->live_key_bytes > t->keys.block_size ? t->live_key_bytes : t->keys.block_size);
    c->dead_key_bytes = 0;
    *dst = c;
    if (t->mode == TIDE_TABLE_KEY_BYTES && t->live_key_bytes > 0) {
        for (size_t i = 0; i < c->cap; i++) {
            slot_bytes *s = (slot_bytes *)(void *)slot_at(c, i);
            if (!s->dist || s->klen <= KEY_INLINE)
                continue;
            const unsigned char *kp = tide_arena_memdup(&c->keys, slot_key(s), s->klen);
            if (!kp) {
                tide_table_free(c);
                *dst = NULL;
                goto nomem;
            }
            slot_set_kp(s, kp);
        }
    }
    c->keys.block_size = t->keys.block_size;
    return 0;
nomem:
    return tide_err_set(e, TIDE_ENOMEM, "table: out of memory copying a table of %zu entries", t->count);
}

size_t tide_table_count(const tide_table *t)
{
    return t->count;
}
size_t tide_table_value_size(const tide_table *t)
{
    return t->value_size;
}
tide_table_key_mode tide_table_mode(const tide_table *t)
{
    return t->mode;
}

size_t tide_table_memory(const tide_table *t)
{
    return sizeof *t + t->cap * t->stride + t->live_key_bytes + t->dead_key_bytes;
}

/* ---- hashing and key comparison ---------------------------------------- */

static inline uint32_t hash_u64(uint64_t k)
{
    return (uint32_t)tide_hash_u64(k);
}

static inline uint32_t hash_bytes(const void *key, size_t klen)
{
    return (uint32_t)tide_hash64(key, klen, TABLE_SEED);
}

/* ---- insertion by shifting --------------------------------------------- */

/* Make slot i free by shifting the cluster tail [i, first empty) one slot to
 * the right (distances + 1).  Requires a free slot somewhere (load < 1). */
static void shift_right(tide_table *t, size_t i)
{
    size_t j = i;
    while (slot_dist(slot_at(t, j)) != 0)
        j = (j + 1) & t->mask;
    while (j != i) {
        size_t p = (j - 1) & t->mask;
        unsigned char *dst = slot_at(t, j), *src = slot_at(t, p);
        memcpy(dst, src, t->stride);
        ((slot_hdr *)(void *)dst)->dist++;
        j = p;
    }
}

/* Place a rehashed entry (header + key + value already in `src`, any dist)
 * into the current slot array.  No key comparisons: keys are distinct. */
static void place(tide_table *t, const unsigned char *src)
{
    uint32_t h = ((const slot_hdr *)(const void *)src)->hash;
    size_t i = h & t->mask;
    uint32_t d = 1;
    for (;;) {
        uint32_t sd = slot_dist(slot_at(t, i));
        if (sd < d)
            break;
        i = (i + 1) & t->mask;
        d++;
    }
    if (slot_dist(slot_at(t, i)) != 0)
        shift_right(t, i);
    unsigned char *dst = slot_at(t, i);
    memcpy(dst, src, t->stride);
    ((slot_hdr *)(void *)dst)->dist = d;
}

/* Copy every live key into a fresh arena (drops deleted keys' bytes). */
static int compact_keys(tide_table *t)
{
    tide_arena fresh;
    tide_arena_init(&fresh, t->keys.block_size);
    for (size_t i = 0; i < t->cap; i++) {
        slot_bytes *s = (slot_bytes *)(void *)slot_at(t, i);
        if (!s->dist || s->klen <= KEY_INLINE)
            continue;
        const unsigned char *kp = tide_arena_memdup(&fresh, slot_key(s), s->klen);
        if (!kp) {
            tide_arena_free(&fresh);
            return TIDE_ENOMEM;
        }
        slot_set_kp(s, kp);
    }
    tide_arena_free(&t->keys);
    t->keys = fresh;
    t->dead_key_bytes = 0;
    return 0;
}

static int rehash(tide_table *t, size_t cap, tide_err *e)
{
    if (cap > TABLE_MAX_CAP)
        return tide_err_set(e, TIDE_ENOMEM, "table: over %zu slots", TABLE_MAX_CAP);
    unsigned char *slots = slots_alloc(cap, t->stride);
    if (!slots)
        return tide_err_set(e, TIDE_ENOMEM, "table: out of memory growing to %zu slots", cap);
    unsigned char *old = t->slots;
    size_t old_cap = t->cap;
    set_cap(t, slots, cap);
    for (size_t i = 0; i < old_cap; i++) {
        unsigned char *s = old + i * t->stride;
        if (slot_dist(s))
            place(t, s);
    }
    free(old);
    if (t->mode == TIDE_TABLE_KEY_BYTES && t->dead_key_bytes > t->live_key_bytes / 2)
        (void)compact_keys(t); /* best effort: on ENOMEM the old arena stays valid */
    return 0;
}

int tide_table_reserve(tide_table *t, size_t n, tide_err *e)
{
    size_t cap = cap_for(n);
    if (cap / 8 * 7 < n)
        return tide_err_set(e, TIDE_ENOMEM, "table: cannot hold %zu entries", n);
    if (cap <= t->cap)
        return 0;
    return rehash(t, cap, e);
}

void tide_table_prefetch_u64(const tide_table *t, uint64_t key)
{
    __builtin_prefetch(slot_at(t, hash_u64(key) & t->mask));
}

void tide_table_prefetch(const tide_table *t, const void *key, size_t klen)
{
    if (t->mode == TIDE_TABLE_KEY_U64) {
        uint64_t k;
        if (klen == 8) {
            memcpy(&k, key, 8);
            tide_table_prefetch_u64(t, k);
        }
        return;
    }
    __builtin_prefetch(slot_at(t, hash_bytes(key, klen) & t->mask));
}

/* ---- u64 mode ------------------------------------------------------------ */

/* Probe for `key`.  Returns true and *pos when found; else *pos and *dist
 * give the insertion point. */
static inline bool probe_u64(const tide_table *t, uint64_t key, uint32_t h, size_t *pos,
                             uint32_t *dist)
{
    size_t i = h & t->mask;
    uint32_t d = 1;
    for (;;) {
        const slot_u64 *s = (const slot_u64 *)(const void *)slot_at(t, i);
        if (s->dist < d)
            break;
        if (s->key == key) {
            *pos = i;
            return true;
        }
        i = (i + 1) & t->mask;
        d++;
    }
    *pos = i;
    *dist = d;
    return false;
}

void *tide_table_find_u64(const tide_table *t, uint64_t key)
{
    size_t pos;
    uint32_t d;
    if (probe_u64(t, key, hash_u64(key), &pos, &d))
        return slot_at(t, pos) + t->voff;
    return NULL;
}

int tide_table_upsert_u64(tide_table *t, uint64_t key, void **value, bool *is_new, tide_err *e)
{
    if (t->mode != TIDE_TABLE_KEY_U64)
        return tide_err_set(e, TIDE_EINVAL, "table: u64 key on a byte-key table");
    uint32_t h = hash_u64(key);
    size_t pos;
    uint32_t d;
    if (probe_u64(t, key, h, &pos, &d)) {
        *value = slot_at(t, pos) + t->voff;
        if (is_new)
            *is_new = false;
        return 0;
    }
    if (t->count + 1 > t->grow_at) {
        int rc = rehash(t, t->cap * 2, e);
        if (rc)
            return rc;
        probe_u64(t, key, h, &pos, &d);
    }
    if (slot_dist(slot_at(t, pos)))
        shift_right(t, pos);
    unsigned char *s = slot_at(t, pos);
    slot_u64 *su = (slot_u64 *)(void *)s;
    su->dist = d;
    su->hash = h;
    su->key = key;
    memset(s + t->voff, 0, t->stride - t->voff);
    t->count++;
    *value = s + t->voff;
    if (is_new)
        *is_new = true;
    return 0;
}

/* Remove the entry at slot i by backward shift. */
static void remove_at(tide_table *t, size_t i)
{
    if (t->mode == TIDE_TABLE_KEY_BYTES) {
        size_t sz = key_arena_size(((slot_bytes *)(void *)slot_at(t, i))->klen);
        t->live_key_bytes -= sz;
        t->dead_key_bytes += sz;
    }
    for (;;) {
        size_t n = (i + 1) & t->mask;
        unsigned char *next = slot_at(t, n);
        if (slot_dist(next) <= 1)
            break;
        unsigned char *cur = slot_at(t, i);
        memcpy(cur, next, t->stride);
        ((slot_hdr *)(void *)cur)->dist--;
        i = n;
    }
    ((slot_hdr *)(void *)slot_at(t, i))->dist = 0;
    t->count--;
}

static void maybe_compact(tide_table *t)
{
    if (t->dead_key_bytes > TABLE_COMPACT_MIN && t->dead_key_bytes > t->live_key_bytes)
        (void)compact_keys(t); /* best effort */
    if (t->count == 0 && t->dead_key_bytes) {
        tide_arena_reset(&t->keys);
        t->dead_key_bytes = 0;
    }
}

bool tide_table_delete_u64(tide_table *t, uint64_t key)
{
    size_t pos;
    uint32_t d;
    if (t->mode != TIDE_TABLE_KEY_U64 || !probe_u64(t, key, hash_u64(key), &pos, &d))
        return false;
    remove_at(t, pos);
    return true;
}

/* ---- bytes mode --------------------------------------------------------- */

static inline bool probe_bytes(const tide_table *t, const void *key, size_t klen, uint32_t h,
                               size_t *pos, uint32_t *dist)
{
    size_t i = h & t->mask;
    uint32_t d = 1;
    for (;;) {
        const slot_bytes *s = (const slot_bytes *)(const void *)slot_at(t, i);
        if (s->dist < d)
            break;
        if (s->hash == h && s->klen == klen && memcmp(slot_key(s), key, klen) == 0) {
            *pos = i;
            return true;
        }
        i = (i + 1) & t->mask;
        d++;
    }
    *pos = i;
    *dist = d;
    return false;
}

static bool key_as_u64(size_t klen, const void *key, uint64_t *k)
{
    if (klen != 8)
        return false;
    memcpy(k, key, 8);
    return true;
}

void *tide_table_find(const tide_table *t, const void *key, size_t klen)
{
    if (t->mode == TIDE_TABLE_KEY_U64) {
        uint64_t k;
        return key_as_u64(klen, key, &k) ? tide_table_find_u64(t, k) : NULL;
    }
    size_t pos;
    uint32_t d;
    if (klen > UINT32_MAX)
        return NULL;
    if (probe_bytes(t, key, klen, hash_bytes(key, klen), &pos, &d))
        return slot_at(t, pos) + t->voff;
    return NULL;
}

int tide_table_upsert(tide_table *t, const void *key, size_t klen, void **value, bool *is_new,
                      tide_err *e)
{
    if (t->mode == TIDE_TABLE_KEY_U64) {
        uint64_t k;
        if (!key_as_u64(klen, key, &k))
            return tide_err_set(e, TIDE_EINVAL, "table: key of %zu bytes on a u64-key table", klen);
        return tide_table_upsert_u64(t, k, value, is_new, e);
    }
    if (klen > UINT32_MAX)
        return tide_err_set(e, TIDE_EINVAL, "table: key of %zu bytes is too long", klen);
    uint32_t h = hash_bytes(key, klen);
    size_t pos;
    uint32_t d;
    if (probe_bytes(t, key, klen, h, &pos, &d)) {
        *value = slot_at(t, pos) + t->voff;
        if (is_new)
            *is_new = false;
        return 0;
    }
    if (t->count + 1 > t->grow_at) {
        int rc = rehash(t, t->cap * 2, e);
        if (rc)
            return rc;
        probe_bytes(t, key, klen, h, &pos, &d);
    }
    /* copy the key after any rehash: a rehash may compact the arena */
    const unsigned char *kp = NULL;
    if (klen > KEY_INLINE && !(kp = tide_arena_memdup(&t->keys, key, klen)))
        return tide_err_set(e, TIDE_ENOMEM, "table: out of memory copying a %zu-byte key", klen);
    if (slot_dist(slot_at(t, pos)))
        shift_right(t, pos);
    unsigned char *s = slot_at(t, pos);
    slot_bytes *sb = (slot_bytes *)(void *)s;
    sb->dist = d;
    sb->hash = h;
    sb->klen = (uint32_t)klen;
    if (kp)
        slot_set_kp(sb, kp);
    else if (klen)
        memcpy(sb->karea, key, klen);
    memset(s + t->voff, 0, t->stride - t->voff);
    t->count++;
    t->live_key_bytes += key_arena_size(klen);
    *value = s + t->voff;
    if (is_new)
        *is_new = true;
    return 0;
}

bool tide_table_delete(tide_table *t, const void *key, size_t klen)
{
    if (t->mode == TIDE_TABLE_KEY_U64) {
        uint64_t k;
        return key_as_u64(klen, key, &k) && tide_table_delete_u64(t, k);
    }
    size_t pos;
    uint32_t d;
    if (klen > UINT32_MAX || !probe_bytes(t, key, klen, hash_bytes(key, klen), &pos, &d))
        return false;
    remove_at(t, pos);
    maybe_compact(t);
    return true;
}

void tide_table_clear(tide_table *t)
{
    for (size_t i = 0; i < t->cap; i++)
        ((slot_hdr *)(void *)slot_at(t, i))->dist = 0;
    t->count = 0;
    tide_arena_reset(&t->keys);
    t->live_key_bytes = 0;
    t->dead_key_bytes = 0;
}

/* ---- iteration ---------------------------------------------------------- */

static void entry_of(const tide_table *t, size_t i, tide_table_entry *ent)
{
    unsigned char *s = slot_at(t, i);
    if (t->mode == TIDE_TABLE_KEY_U64) {
        ent->key = &((slot_u64 *)(void *)s)->key;
        ent->klen = 8;
    } else {
        ent->key = slot_key((slot_bytes *)(void *)s);
        ent->klen = ((slot_bytes *)(void *)s)->klen;
    }
    ent->value = s + t->voff;
}

bool tide_table_next(const tide_table *t, tide_table_iter *it, tide_table_entry *ent)
{
    while (it->pos < t->cap) {
        size_t i = it->pos++;
        if (slot_dist(slot_at(t, i))) {
            entry_of(t, i, ent);
            return true;
        }
    }
    return false;
}

size_t tide_table_remove_if(tide_table *t,
                            bool (*pred)(const void *key, uint32_t klen, void *value, void *ctx),
                            void *ctx)
{
    if (t->count == 0)
        return 0;
    /* Start just after an empty slot: backward shifts never cross it (it
     * stays empty, nothing is inserted), so every entry moves only into a
     * slot not yet visited or the one being re-examined. */
    size_t start = 0;
    while (slot_dist(slot_at(t, start)) != 0)
        start++;
    size_t removed = 0;
    for (size_t k = 1; k < t->cap; k++) {
        size_t i = (start + k) & t->mask;
        while (slot_dist(slot_at(t, i))) {
            tide_table_entry ent;
            entry_of(t, i, &ent);
            if (!pred(ent.key, ent.klen, ent.value, ctx))
                break;
            remove_at(t, i);
            removed++;
        }
    }
    if (t->mode == TIDE_TABLE_KEY_BYTES)
        maybe_compact(t);
    return removed;
}

static int cmp_bytes_entry(const void *a, const void *b)
{
    const tide_table_entry *x = a, *y = b;
    uint32_t n = x->klen < y->klen ? x->klen : y->klen;
    int c = n ? memcmp(x->key, y->key, n) : 0;
    if (c)
        return c;
    return (x->klen > y->klen) - (x->klen < y->klen);
}

static int cmp_u64_entry(const void *a, const void *b)
{
    uint64_t x, y;
    memcpy(&x, ((const tide_table_entry *)a)->key, 8);
    memcpy(&y, ((const tide_table_entry *)b)->key, 8);
    return (x > y) - (x < y);
}

/* Order of the entries in slots a and b (tide_sort_runs). */
static int cmp_slots(void *ctx, size_t a, size_t b)
{
    const tide_table *t = ctx;
    tide_table_entry x, y;
    entry_of(t, a, &x);
    entry_of(t, b, &y);
    return t->mode == TIDE_TABLE_KEY_U64 ? cmp_u64_entry(&x, &y) : cmp_bytes_entry(&x, &y);
}

void tide_table_sorted(const tide_table *t, tide_table_entry *out)
{
    int (*cmp)(const void *, const void *) = t->mode == TIDE_TABLE_KEY_U64 ? cmp_u64_entry : cmp_bytes_entry;
    size_t n = 0;
    tide_sort_item *v = t->count > 64 ? malloc(2 * t->count * sizeof *v) : NULL;
    if (v) { /* base/sort.h: radix on the keys' first 16 bytes (u64 mode: the value) */
        for (size_t i = 0; i < t->cap; i++) {
            if (!slot_dist(slot_at(t, i)))
                continue;
            tide_table_entry ent;
            entry_of(t, i, &ent);
            if (t->mode == TIDE_TABLE_KEY_U64) {
                memcpy(&v[n].hi, ent.key, 8);
                v[n].lo = 0;
            } else {
                tide_sort_prefix(&v[n], ent.key, ent.klen);
            }
            v[n++].idx = i;
        }
        if (tide_sort_radix(v, v + n, n)) {
            tide_sort_runs(v, n, cmp_slots, (void *)t);
            for (size_t i = 0; i < n; i++)
                entry_of(t, v[i].idx, &out[i]);
            free(v);
            return;
        }
        free(v);
        n = 0;
    }
    /* small, or no memory for the radix sort: a comparison sort */
    for (size_t i = 0; i < t->cap; i++)
        if (slot_dist(slot_at(t, i)))
            entry_of(t, i, &out[n++]);
    if (n > 1)
        qsort(out, n, sizeof *out, cmp);
}

bool tide_table_check(const tide_table *t)
{
    size_t n = 0;
    for (size_t i = 0; i < t->cap; i++) {
        const unsigned char *s = slot_at(t, i);
        uint32_t d = slot_dist(s);
        /* Robin Hood: the next slot's distance is at most one more (so the
         * slot after an empty one holds an entry at home, or nothing) */
        if (slot_dist(slot_at(t, (i + 1) & t->mask)) > d + 1)
            return false;
        if (!d)
            continue;
        n++;
        uint32_t h = ((const slot_hdr *)(const void *)s)->hash;
        if (t->mode == TIDE_TABLE_KEY_U64) {
            if (h != hash_u64(((const slot_u64 *)(const void *)s)->key))
                return false;
        } else {
            const slot_bytes *sb = (const slot_bytes *)(const void *)s;
            if (h != hash_bytes(slot_key(sb), sb->klen))
                return false;
        }
        if (((i - (h & t->mask)) & t->mask) + 1 != d)
            return false;
    }
    return n == t->count && t->count <= t->grow_at;
}

/* ---- snapshot / restore -------------------------------------------------- */

int tide_table_snapshot(const tide_table *t, tide_buf *out, tide_table_value_enc enc, void *ctx,
                        tide_err *e)
{
    size_t start = out->len;
    unsigned char hdr[20];
    memcpy(hdr, SNAP_MAGIC, 4);
    tide_put_u16(hdr + 4, SNAP_VERSION);
    hdr[6] = (unsigned char)t->mode;
    hdr[7] = 0;
    tide_put_u32(hdr + 8, (uint32_t)t->value_size);
    tide_put_u64(hdr + 12, (uint64_t)t->count);
    int rc = tide_buf_append(out, hdr, sizeof hdr);
    if (rc)
        goto nomem;
    for (size_t i = 0; i < t->cap; i++) {
        if (!slot_dist(slot_at(t, i)))
            continue;
        tide_table_entry ent;
        entry_of(t, i, &ent);
        unsigned char tmp[10];
        unsigned char k8[8];
        const void *kp = ent.key;
        if (t->mode == TIDE_TABLE_KEY_U64) {
            uint64_t k;
            memcpy(&k, ent.key, 8);
            tide_put_u64(k8, k);
            kp = k8;
        }
        if ((rc = tide_buf_append(out, tmp, tide_varint_put(tmp, ent.klen))) ||
            (rc = tide_buf_append(out, kp, ent.klen)))
            goto nomem;
        if (enc) {
            /* reserve room for a 10-byte length, then close it up */
            size_t lenpos = out->len;
            if ((rc = tide_buf_append(out, tmp, 10)))
                goto nomem;
            size_t vstart = out->len;
            rc = enc(ent.value, out, ctx, e);
            if (rc)
                goto fail;
            size_t vlen = out->len - vstart;
            size_t ln = tide_varint_put(tmp, vlen);
            memmove(out->data + lenpos + ln, out->data + vstart, vlen);
            memcpy(out->data + lenpos, tmp, ln);
            out->len = lenpos + ln + vlen;
        } else {
            if ((rc = tide_buf_append(out, tmp, tide_varint_put(tmp, t->value_size))) ||
                (rc = tide_buf_append(out, ent.value, t->value_size)))
                goto nomem;
        }
    }
    unsigned char crc[4];
    tide_put_u32(crc, tide_crc32c(0, out->data + start, out->len - start));
    if ((rc = tide_buf_append(out, crc, 4)))
        goto nomem;
    return 0;
nomem:
    rc = tide_err_set(e, TIDE_ENOMEM, "table snapshot: out of memory");
fail:
    out->len = start;
    return rc;
}

int tide_table_restore(tide_table *t, const void *buf, size_t len, tide_table_value_dec dec,
                       void *ctx, tide_err *e)
{
    const unsigned char *p = buf, *end;
    int rc;
    tide_table_clear(t);
    if (len < 24) {
        rc = tide_err_set(e, TIDE_ECORRUPT, "table snapshot: %zu bytes is too short", len);
        goto fail;
    }
    end = p + len - 4;
    if (memcmp(p, SNAP_MAGIC, 4) != 0) {
        rc = tide_err_set(e, TIDE_ECORRUPT, "table snapshot: bad magic");
        goto fail;
    }
    uint32_t want = tide_get_u32(end), got = tide_crc32c(0, p, len - 4);
    if (want != got) {
        rc = tide_err_set(e, TIDE_ECORRUPT,
                          "table snapshot: CRC mismatch (stored %08x, computed %08x)", want, got);
        goto fail;
    }
    if (tide_get_u16(p + 4) != SNAP_VERSION) {
        rc = tide_err_set(e, TIDE_ECORRUPT, "table snapshot: unknown version %u",
                          (unsigned)tide_get_u16(p + 4));
        goto fail;
    }
    if (p[6] != (unsigned char)t->mode) {
        rc = tide_err_set(e, TIDE_ECORRUPT, "table snapshot: key mode %u, table has %u",
                          (unsigned)p[6], (unsigned)t->mode);
        goto fail;
    }
    if (tide_get_u32(p + 8) != t->value_size) {
        rc = tide_err_set(e, TIDE_ECORRUPT, "table snapshot: value size %u, table has %zu",
                          (unsigned)tide_get_u32(p + 8), t->value_size);
        goto fail;
    }
    uint64_t count = tide_get_u64(p + 12);
    if (count > (uint64_t)(end - p)) {
        rc = tide_err_set(e, TIDE_ECORRUPT, "table snapshot: count %llu exceeds the data",
                          (unsigned long long)count);
        goto fail;
    }
    if ((rc = tide_table_reserve(t, (size_t)count, e)))
        goto fail;
    p += 20;
    for (uint64_t n = 0; n < count; n++) {
        uint64_t klen = 0, vlen = 0;
        size_t used = tide_varint_get(p, end, &klen);
        if (!used || klen > (uint64_t)(end - p - used))
            goto corrupt;
        p += used;
        const unsigned char *key = p;
        p += klen;
        used = tide_varint_get(p, end, &vlen);
        if (!used || vlen > (uint64_t)(end - p - used))
            goto corrupt;
        p += used;
        if (!dec && vlen != t->value_size)
            goto corrupt;
        void *value;
        bool is_new;
        if (t->mode == TIDE_TABLE_KEY_U64) {
            if (klen != 8)
                goto corrupt;
            rc = tide_table_upsert_u64(t, tide_get_u64(key), &value, &is_new, e);
        } else {
            rc = tide_table_upsert(t, key, (size_t)klen, &value, &is_new, e);
        }
        if (rc)
            goto fail;
        if (!is_new)
            goto corrupt;
        if (dec) {
            if ((rc = dec(p, (size_t)vlen, value, ctx, e)))
                goto fail;
        } else {
            memcpy(value, p, (size_t)vlen);
        }
        p += vlen;
    }
    if (p != end)
        goto corrupt;
    return 0;
corrupt:
    rc = tide_err_set(e, TIDE_ECORRUPT, "table snapshot: bad entry at byte %zu",
                      (size_t)(p - (const unsigned char *)buf));
fail:
    /* entries restored so far stay, so the caller can free what their
     * values own (see table.h); without a decoder nothing is owned */
    if (!dec)
        tide_table_clear(t);
    return rc;
}
