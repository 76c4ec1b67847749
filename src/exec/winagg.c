/*
 * winagg.c - keyed windowed aggregation (see winagg.h).
 *
 * Design.
 *
 * Keys are interned: `keys` is a dense array of key records (hash, bytes
 * inline up to 16 bytes, else malloc'd once per key, a count of live windows,
 * the head of the key's session list), indexed by an open-addressing table
 * with linear probing (`kslots`: 32 bits of hash + index).  A key is dropped
 * when its last window is freed.
 *
 * Window states are a dense array `wins` (start, end, key, the key's hash
 * and, up to 16 bytes, a copy of its bytes, flags, a generation), with two
 * parallel arrays of fixed stride: the accumulators (`acc`, one 16-byte slot
 * per aggregate) and, for accumulating and retracting modes, the previously
 * emitted result (`prev`).  Free entries are chained on a free list, so
 * steady state allocates nothing.  TUMBLE, HOP, CUMULATE and GLOBAL windows
 * are found through a second table (`wslots`) keyed by (key bytes, start,
 * end): the hot path is one slot probe and one window entry (plus its
 * accumulators), without touching the key record; the key record is needed
 * only when a window is created or freed.  SESSION windows hang off their
 * key's session list (live sessions of a key never intersect, so a record
 * meets at most two of them).
 *
 * Memory latency, not instructions, is the cost here (a cache miss is
 * several hundred ns on the reference VMs), so tide_winagg_push_batch
 * prefetches the slots and entries of a group of records before pushing
 * them one by one.
 *
 * Time.  A min-heap of (time, window, generation) holds, for every live
 * window, its next watermark action: its end (fire) until it fired on time,
 * then end + L (free).  Each state change that moves the action (first
 * firing, session merge, free) bumps the window's generation, so stale heap
 * entries are recognised and skipped when popped.  Advancing the watermark
 * pops the due entries, sorts the windows to fire by (end, start, key
 * bytes) and emits them, then frees what expired.
 *
 * Aggregates sit behind a small internal interface (step / retract / merge
 * / result); exec/agg.h, when it exists, can replace it.
 */
#include "exec/winagg.h"

#include "base/buf.h"
#include "base/hash.h"

#include <stdlib.h>
#include <string.h>

#define NONE UINT32_MAX

/* ---- aggregate accumulators ------------------------------------------- */

typedef struct wa_dset wa_dset;

typedef struct wa_acc {
    int64_t n; /* rows counted (COUNT*), or non-NULL inputs seen */
    union {
        int64_t i;
        double d;
        bool b;
        wa_dset *set;
    } u;
} wa_acc;

/* COUNT DISTINCT: an open-addressing multiset of values. */
typedef struct wa_dent {
    uint64_t h;
    int64_t v;    /* the value's bits, or an offset into `bytes` (STRING) */
    uint32_t len; /* STRING length */
    uint32_t cnt; /* 0: empty slot */
} wa_dent;

struct wa_dset {
    uint32_t cap, used; /* used: distinct values with cnt > 0 */
    wa_dent *ents;
    tide_buf bytes;
};

static void dset_free(wa_dset *s)
{
    if (!s)
        return;
    free(s->ents);
    tide_buf_free(&s->bytes);
    free(s);
}

static uint64_t value_bits(const tide_value *v)
{
    switch (v->type) {
    case TIDE_TYPE_BOOLEAN: return v->u.b ? 1 : 0;
    case TIDE_TYPE_DOUBLE: {
        double d = v->u.f64;
        if (d == 0)
            d = 0; /* -0.0 and 0.0 are the same value */
        if (d != d)
            return 0x7ff8000000000000ull; /* one NaN */
        uint64_t b;
        memcpy(&b, &d, sizeof b);
        return b;
    }
    default: return (uint64_t)v->u.i64;
    }
}

/* Insert with count `cnt` (value bits / string already hashed). */
static int dset_add(wa_dset *s, uint64_t h, uint64_t bits, const char *str, uint32_t len,
                    bool is_str, uint32_t cnt)
{
    if ((s->used + 1) * 4 > s->cap * 3) {
        uint32_t ncap = s->cap ? s->cap * 2 : 8;
        wa_dent *ne = calloc(ncap, sizeof *ne);
        if (!ne)
            return TIDE_ENOMEM;
        for (uint32_t i = 0; i < s->cap; i++) {
            if (!s->ents[i].cnt)
                continue;
            uint32_t j = (uint32_t)s->ents[i].h & (ncap - 1);
            while (ne[j].cnt)
                j = (j + 1) & (ncap - 1);
            ne[j] = s->ents[i];
        }
        free(s->ents);
        s->ents = ne;
        s->cap = ncap;
    }
    uint32_t j = (uint32_t)h & (s->cap - 1);
    for (;; j = (j + 1) & (s->cap - 1)) {
        wa_dent *d = &s->ents[j];
        if (!d->cnt)
            break;
        if (d->h != h)
            continue;
        if (is_str ? (d->len == len && memcmp(s->bytes.data + d->v, str, len) == 0)
                   : (uint64_t)d->v == bits) {
            d->cnt += cnt;
            return 0;
        }
    }
    wa_dent nd = {.h = h, .v = (int64_t)bits, .len = len, .cnt = cnt};
    if (is_str) {
        nd.v = (int64_t)s->bytes.len;
        if (tide_buf_append(&s->bytes, str, len) != 0)
            return TIDE_ENOMEM;
    }
    s->ents[j] = nd;
    s->used++;
    return 0;
}

/* Decrement a value's count; the slot stays (cnt 0 would break probe chains,
 * so a value retracted to zero keeps cnt 1 and a tombstone bit in len's top
 * bit... kept simple: we rebuild instead).  Returns whether it was found. */
static bool dset_retract(wa_dset *s, uint64_t h, uint64_t bits, const char *str, uint32_t len,
                         bool is_str)
{
    if (!s || !s->cap)
        return false;
    uint32_t j = (uint32_t)h & (s->cap - 1);
    for (;; j = (j + 1) & (s->cap - 1)) {
        wa_dent *d = &s->ents[j];
        if (!d->cnt)
            return false;
        if (d->h == h && (is_str ? (d->len == len && memcmp(s->bytes.data + d->v, str, len) == 0)
                                 : (uint64_t)d->v == bits))
            break;
    }
    if (s->ents[j].cnt > 1) {
        s->ents[j].cnt--;
        return true;
    }
    /* Remove with backward shift (linear probing). */
    uint32_t mask = s->cap - 1, i = j;
    s->ents[i].cnt = 0;
    for (uint32_t k = (i + 1) & mask; s->ents[k].cnt; k = (k + 1) & mask) {
        uint32_t home = (uint32_t)s->ents[k].h & mask;
        if (((k - home) & mask) >= ((k - i) & mask)) {
            s->ents[i] = s->ents[k];
            s->ents[k].cnt = 0;
            i = k;
        }
    }
    s->used--;
    return true;
}

static uint64_t dvalue_hash(const tide_value *v, uint64_t *bits)
{
    if (v->type == TIDE_TYPE_STRING) {
        *bits = 0;
        return tide_hash64(v->u.s.ptr, v->u.s.len, 0x5eed);
    }
    *bits = value_bits(v);
    return tide_hash_u64(*bits ^ 0x9e3779b97f4a7c15ull);
}

typedef struct wa_fn {
    bool invertible;
    /* v is never NULL-valued here except for COUNT(*) (v == NULL). */
    int (*step)(wa_acc *a, const tide_value *v, tide_type t);
    int (*retract)(wa_acc *a, const tide_value *v, tide_type t);
    int (*merge)(wa_acc *a, const wa_acc *b, tide_type t);
    void (*result)(const wa_acc *a, tide_type t, tide_value *out);
} wa_fn;

static tide_value v_null(tide_type t) { return (tide_value){.type = t, .is_null = true}; }
static tide_value v_i64(tide_type t, int64_t i) { return (tide_value){.type = t, .u.i64 = i}; }
static tide_value v_f64(double d) { return (tide_value){.type = TIDE_TYPE_DOUBLE, .u.f64 = d}; }

static int cnt_step(wa_acc *a, const tide_value *v, tide_type t) { (void)v, (void)t; a->n++; return 0; }
static int cnt_retract(wa_acc *a, const tide_value *v, tide_type t) { (void)v, (void)t; a->n--; return 0; }
static int cnt_merge(wa_acc *a, const wa_acc *b, tide_type t) { (void)t; a->n += b->n; return 0; }
static void cnt_result(const wa_acc *a, tide_type t, tide_value *out)
{
    (void)t;
    *out = v_i64(TIDE_TYPE_BIGINT, a->n);
}

static int sum_step(wa_acc *a, const tide_value *v, tide_type t)
{
    if (t == TIDE_TYPE_DOUBLE)
        a->u.d += v->u.f64;
    else
        a->u.i = (int64_t)((uint64_t)a->u.i + (uint64_t)v->u.i64);
    a->n++;
    return 0;
}
static int sum_retract(wa_acc *a, const tide_value *v, tide_type t)
{
    if (t == TIDE_TYPE_DOUBLE)
        a->u.d -= v->u.f64;
    else
        a->u.i = (int64_t)((uint64_t)a->u.i - (uint64_t)v->u.i64);
    a->n--;
    return 0;
}
static int sum_merge(wa_acc *a, const wa_acc *b, tide_type t)
{
    if (t == TIDE_TYPE_DOUBLE)
        a->u.d += b->u.d;
    else
        a->u.i = (int64_t)((uint64_t)a->u.i + (uint64_t)b->u.i);
    a->n += b->n;
    return 0;
}
static void sum_result(const wa_acc *a, tide_type t, tide_value *out)
{
    if (!a->n)
        *out = v_null(t);
    else if (t == TIDE_TYPE_DOUBLE)
        *out = v_f64(a->u.d);
    else
        *out = v_i64(t, a->u.i);
}

static void avg_result(const wa_acc *a, tide_type t, tide_value *out)
{
    if (!a->n)
        *out = v_null(t);
    else if (t == TIDE_TYPE_DOUBLE)
        *out = v_f64(a->u.d / (double)a->n);
    else
        *out = v_i64(t, a->u.i / a->n); /* C division truncates toward zero */
}

/* MIN/MAX: `sign` 1 for MIN, -1 for MAX; compare in the input's type. */
static int cmp_acc_val(const wa_acc *a, const tide_value *v, tide_type t)
{
    if (t == TIDE_TYPE_DOUBLE)
        return v->u.f64 < a->u.d ? -1 : v->u.f64 > a->u.d;
    if (t == TIDE_TYPE_BOOLEAN)
        return (int)v->u.b - (int)a->u.b;
    return v->u.i64 < a->u.i ? -1 : v->u.i64 > a->u.i;
}
static void acc_set_val(wa_acc *a, const tide_value *v, tide_type t)
{
    if (t == TIDE_TYPE_DOUBLE)
        a->u.d = v->u.f64;
    else if (t == TIDE_TYPE_BOOLEAN)
        a->u.b = v->u.b;
    else
        a->u.i = v->u.i64;
}
static int min_step(wa_acc *a, const tide_value *v, tide_type t)
{
    if (!a->n++ || cmp_acc_val(a, v, t) < 0)
        acc_set_val(a, v, t);
    return 0;
}
static int max_step(wa_acc *a, const tide_value *v, tide_type t)
{
    if (!a->n++ || cmp_acc_val(a, v, t) > 0)
        acc_set_val(a, v, t);
    return 0;
}
static int minmax_retract(wa_acc *a, const tide_value *v, tide_type t)
{
    (void)a, (void)v, (void)t;
    return TIDE_EUNSUPPORTED; /* needs a multiset; not invertible here */
}
static tide_value acc_val(const wa_acc *a, tide_type t)
{
    if (t == TIDE_TYPE_DOUBLE)
        return v_f64(a->u.d);
    if (t == TIDE_TYPE_BOOLEAN)
        return (tide_value){.type = t, .u.b = a->u.b};
    return v_i64(t, a->u.i);
}
static int min_merge(wa_acc *a, const wa_acc *b, tide_type t)
{
    if (b->n) {
        tide_value bv = acc_val(b, t);
        if (!a->n || cmp_acc_val(a, &bv, t) < 0)
            acc_set_val(a, &bv, t);
        a->n += b->n;
    }
    return 0;
}
static int max_merge(wa_acc *a, const wa_acc *b, tide_type t)
{
    if (b->n) {
        tide_value bv = acc_val(b, t);
        if (!a->n || cmp_acc_val(a, &bv, t) > 0)
            acc_set_val(a, &bv, t);
        a->n += b->n;
    }
    return 0;
}
static void minmax_result(const wa_acc *a, tide_type t, tide_value *out)
{
    *out = a->n ? acc_val(a, t) : v_null(t);
}

static int dist_step(wa_acc *a, const tide_value *v, tide_type t)
{
    (void)t;
    if (!a->u.set) {
        a->u.set = calloc(1, sizeof *a->u.set);
        if (!a->u.set)
            return TIDE_ENOMEM;
    }
    uint64_t bits, h = dvalue_hash(v, &bits);
    bool str = v->type == TIDE_TYPE_STRING;
    return dset_add(a->u.set, h, bits, str ? v->u.s.ptr : NULL, str ? v->u.s.len : 0, str, 1);
}
static int dist_retract(wa_acc *a, const tide_value *v, tide_type t)
{
    (void)t;
    uint64_t bits, h = dvalue_hash(v, &bits);
    bool str = v->type == TIDE_TYPE_STRING;
    return dset_retract(a->u.set, h, bits, str ? v->u.s.ptr : NULL, str ? v->u.s.len : 0, str)
               ? 0
               : TIDE_ENOENT;
}
static int dist_merge(wa_acc *a, const wa_acc *b, tide_type t)
{
    bool str = t == TIDE_TYPE_STRING;
    if (!b->u.set || !b->u.set->used)
        return 0;
    if (!a->u.set) {
        a->u.set = calloc(1, sizeof *a->u.set);
        if (!a->u.set)
            return TIDE_ENOMEM;
    }
    const wa_dset *s = b->u.set;
    for (uint32_t i = 0; i < s->cap; i++) {
        const wa_dent *d = &s->ents[i];
        if (!d->cnt)
            continue;
        int rc = dset_add(a->u.set, d->h, (uint64_t)d->v,
                          str ? (const char *)s->bytes.data + d->v : NULL, d->len, str, d->cnt);
        if (rc)
            return rc;
    }
    return 0;
}
static void dist_result(const wa_acc *a, tide_type t, tide_value *out)
{
    (void)t;
    *out = v_i64(TIDE_TYPE_BIGINT, a->u.set ? (int64_t)a->u.set->used : 0);
}

static const wa_fn wa_fns[] = {
    [TIDE_WINAGG_COUNT_STAR] = {true, cnt_step, cnt_retract, cnt_merge, cnt_result},
    [TIDE_WINAGG_COUNT] = {true, cnt_step, cnt_retract, cnt_merge, cnt_result},
    [TIDE_WINAGG_SUM] = {true, sum_step, sum_retract, sum_merge, sum_result},
    [TIDE_WINAGG_MIN] = {false, min_step, minmax_retract, min_merge, minmax_result},
    [TIDE_WINAGG_MAX] = {false, max_step, minmax_retract, max_merge, minmax_result},
    [TIDE_WINAGG_AVG] = {true, sum_step, sum_retract, sum_merge, avg_result},
    [TIDE_WINAGG_COUNT_DISTINCT] = {true, dist_step, dist_retract, dist_merge, dist_result},
};

const char *tide_winagg_fn_name(tide_winagg_fn f)
{
    switch (f) {
#define TIDE__WINAGG_FN_NAME(name, s) case TIDE_WINAGG_##name: return s;
        TIDE_WINAGG_FN_MAP(TIDE__WINAGG_FN_NAME)
#undef TIDE__WINAGG_FN_NAME
    }
    return "?";
}

/* ---- operator state ----------------------------------------------------- */

enum {
    W_LIVE = 1,      /* entry in use */
    W_EMITTED = 2,   /* the row (key, start, end) was emitted at least once */
    W_DONE = 4,      /* fired on time (W >= end); heap action is now cleanup */
    W_DIRTY = 8,     /* records added since the last firing */
    W_IN_DLIST = 16, /* queued on the early-firing dirty list */
};

typedef struct wa_win {
    int64_t start, end;
    uint64_t khash;      /* the key's hash */
    uint64_t since_fire; /* records added since the last firing */
    uint32_t key;
    uint32_t next; /* session list of the key, or free list */
    uint32_t gen;
    uint32_t flags;
    uint32_t klen;         /* the key's length */
    unsigned char kinl[16]; /* the key's bytes when klen <= 16 */
} wa_win;

typedef struct wa_key {
    uint64_t hash;
    uint32_t len;
    uint32_t refs;     /* live windows */
    uint32_t sessions; /* head of the session list */
    uint32_t next_free;
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

/* A window to fire, with its sort key copied out. */
typedef struct wa_fire {
    int64_t end, start;
    const unsigned char *key;
    uint32_t key_len;
    uint32_t win;
} wa_fire;

struct tide_winagg {
    tide_winagg_config cfg;
    tide_winagg_call *aggs;
    size_t n_aggs;
    const wa_fn **fns;
    int failed;
    int64_t wm;
    uint64_t late_count;

    wa_key *keys;
    uint32_t keys_cap, keys_free, n_keys;
    uint64_t *kslots; /* (hash32 << 32) | (index + 1); 0 empty */
    uint32_t kmask;

    wa_win *wins;
    wa_acc *acc;      /* wins_cap * n_aggs */
    tide_value *prev; /* wins_cap * n_aggs, or NULL (discarding mode) */
    uint32_t wins_cap, wins_free, n_wins;
    uint64_t *wslots; /* non-session windows */
    uint32_t wmask, n_wslots_used;

    wa_heap_ent *heap;
    size_t heap_len, heap_cap;

    wa_ref *dirty; /* early firings by processing time */
    size_t dirty_len, dirty_cap;
    tide_trig_clock clock;

    wa_fire *fire; /* scratch for a round of firings */
    size_t fire_cap;
    tide_win_range *ranges; /* scratch for the assigner */
    tide_value *out;        /* scratch results, n_aggs */
    tide_value *old;        /* scratch previous results, n_aggs */
};

static inline const unsigned char *key_bytes(const wa_key *k)
{
    return k->len <= sizeof k->b.inl ? k->b.inl : k->b.ext;
}

static inline uint64_t hash_key(const void *p, uint32_t len)
{
    return tide_hash64(p, len, 0x77696e61ull);
}

static inline uint64_t hash_win(uint64_t khash, int64_t start, int64_t end)
{
    return tide_hash_u64(khash ^ ((uint64_t)start * 0x9e3779b97f4a7c15ull) ^
                         ((uint64_t)end * 0xc2b2ae3d27d4eb4full));
}

static int fail(tide_winagg *op, tide_err *e, int code, const char *what)
{
    if (!op->failed)
        op->failed = code;
    return tide_err_set(e, code, "window aggregate: %s", what);
}

/* ---- growable arrays ---------------------------------------------------- */

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 16;
    while (ncap < need)
        ncap *= 2;
    void *np = realloc(*p, ncap * elem);
    if (!np)
        return TIDE_ENOMEM;
    *p = np;
    *cap = ncap;
    return 0;
}

/* ---- key table ---------------------------------------------------------- */

static int ktable_rehash(tide_winagg *op, uint32_t ncap)
{
    uint64_t *ns = calloc(ncap, sizeof *ns);
    if (!ns)
        return TIDE_ENOMEM;
    uint32_t nmask = ncap - 1;
    for (uint32_t i = 0; op->kslots && i <= op->kmask; i++) {
        uint64_t s = op->kslots[i];
        if (!s)
            continue;
        uint32_t j = (uint32_t)(s >> 32) & nmask;
        while (ns[j])
            j = (j + 1) & nmask;
        ns[j] = s;
    }
    free(op->kslots);
    op->kslots = ns;
    op->kmask = nmask;
    return 0;
}

static uint32_t key_find(const tide_winagg *op, const void *key, uint32_t len, uint64_t h)
{
    uint32_t h32 = (uint32_t)h;
    for (uint32_t j = h32 & op->kmask;; j = (j + 1) & op->kmask) {
        uint64_t s = op->kslots[j];
        if (!s)
            return NONE;
        if ((uint32_t)(s >> 32) != h32)
            continue;
        const wa_key *k = &op->keys[(uint32_t)s - 1];
        if (k->len == len && k->hash == h && memcmp(key_bytes(k), key, len) == 0)
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
        if (grow((void **)&op->keys, &cap, (size_t)op->n_keys + 1, sizeof *op->keys))
            return TIDE_ENOMEM;
        op->keys_cap = (uint32_t)cap;
        for (uint32_t i = op->n_keys; i < op->keys_cap; i++) {
            op->keys[i].next_free = i + 1 < op->keys_cap ? i + 1 : NONE;
            op->keys[i].refs = 0;
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
    } else if (len) {
        memcpy(k->b.inl, key, len);
    }
    op->keys_free = next_free;
    k->hash = h;
    k->len = len;
    k->refs = 0;
    k->sessions = NONE;
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
    k->next_free = op->keys_free;
    op->keys_free = idx;
    op->n_keys--;
}

/* ---- window table ------------------------------------------------------- */

static int wtable_rehash(tide_winagg *op, uint32_t ncap)
{
    uint64_t *ns = calloc(ncap, sizeof *ns);
    if (!ns)
        return TIDE_ENOMEM;
    uint32_t nmask = ncap - 1;
    for (uint32_t i = 0; op->wslots && i <= op->wmask; i++) {
        uint64_t s = op->wslots[i];
        if (!s)
            continue;
        uint32_t j = (uint32_t)(s >> 32) & nmask;
        while (ns[j])
            j = (j + 1) & nmask;
        ns[j] = s;
    }
    free(op->wslots);
    op->wslots = ns;
    op->wmask = nmask;
    return 0;
}

/* The window (key, start, end); `kh` is the key's hash, `wh` the window's. */
static uint32_t win_find(const tide_winagg *op, const void *key, uint32_t len, uint64_t kh,
                         int64_t start, int64_t end, uint64_t wh)
{
    uint32_t h32 = (uint32_t)wh;
    for (uint32_t j = h32 & op->wmask;; j = (j + 1) & op->wmask) {
        uint64_t s = op->wslots[j];
        if (!s)
            return NONE;
        if ((uint32_t)(s >> 32) != h32)
            continue;
        const wa_win *w = &op->wins[(uint32_t)s - 1];
        if (w->khash != kh || w->start != start || w->end != end || w->klen != len)
            continue;
        const unsigned char *kb =
            len <= sizeof w->kinl ? w->kinl : key_bytes(&op->keys[w->key]);
        if (memcmp(kb, key, len) == 0)
            return (uint32_t)s - 1;
    }
}

static void wtable_delete(tide_winagg *op, uint32_t idx)
{
    const wa_win *w = &op->wins[idx];
    uint32_t h32 = (uint32_t)hash_win(w->khash, w->start, w->end);
    for (uint32_t j = h32 & op->wmask;; j = (j + 1) & op->wmask) {
        if ((uint32_t)op->wslots[j] == idx + 1) {
            slots_delete(op->wslots, op->wmask, j);
            op->n_wslots_used--;
            return;
        }
    }
}

/* ---- heap --------------------------------------------------------------- */

static int heap_push(tide_winagg *op, int64_t time, uint32_t win)
{
    if (grow((void **)&op->heap, &op->heap_cap, op->heap_len + 1, sizeof *op->heap))
        return TIDE_ENOMEM;
    wa_heap_ent x = {time, win, op->wins[win].gen};
    size_t i = op->heap_len++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (op->heap[p].time <= time)
            break;
        op->heap[i] = op->heap[p];
        i = p;
    }
    op->heap[i] = x;
    return 0;
}

static wa_heap_ent heap_pop(tide_winagg *op)
{
    wa_heap_ent top = op->heap[0], x = op->heap[--op->heap_len];
    size_t i = 0, n = op->heap_len;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && op->heap[c + 1].time < op->heap[c].time)
            c++;
        if (op->heap[c].time >= x.time)
            break;
        op->heap[i] = op->heap[c];
        i = c;
    }
    if (n)
        op->heap[i] = x;
    return top;
}

/* ---- windows ------------------------------------------------------------ */

static inline wa_acc *win_acc(const tide_winagg *op, uint32_t idx)
{
    return op->acc + (size_t)idx * op->n_aggs;
}

static void acc_reset(tide_winagg *op, uint32_t idx)
{
    wa_acc *a = win_acc(op, idx);
    for (size_t i = 0; i < op->n_aggs; i++) {
        if (op->aggs[i].fn == TIDE_WINAGG_COUNT_DISTINCT)
            dset_free(a[i].u.set);
        a[i] = (wa_acc){0};
    }
}

/* A new live window for key `key` (its refs counted); not yet indexed. */
static int win_alloc(tide_winagg *op, uint32_t key, int64_t start, int64_t end, uint32_t *out)
{
    if (op->wins_free == NONE) {
        size_t need = (size_t)op->wins_cap + 1, cap = op->wins_cap, cap2, cap3;
        if (need > NONE - 1)
            return TIDE_ENOMEM;
        if (grow((void **)&op->wins, &cap, need, sizeof *op->wins))
            return TIDE_ENOMEM;
        cap2 = op->wins_cap * op->n_aggs;
        if (grow((void **)&op->acc, &cap2, cap * op->n_aggs, sizeof *op->acc))
            return TIDE_ENOMEM;
        if (op->cfg.mode != TIDE_TRIG_DISCARDING) {
            cap3 = op->wins_cap * op->n_aggs;
            if (grow((void **)&op->prev, &cap3, cap * op->n_aggs, sizeof *op->prev))
                return TIDE_ENOMEM;
        }
        for (size_t i = op->wins_cap; i < cap; i++) {
            op->wins[i] = (wa_win){.next = i + 1 < cap ? (uint32_t)i + 1 : NONE};
            memset(win_acc(op, (uint32_t)i), 0, op->n_aggs * sizeof(wa_acc));
        }
        op->wins_free = op->wins_cap;
        op->wins_cap = (uint32_t)cap;
    }
    uint32_t idx = op->wins_free;
    wa_win *w = &op->wins[idx];
    op->wins_free = w->next;
    w->start = start;
    w->end = end;
    w->key = key;
    w->next = NONE;
    w->gen++;
    w->flags = W_LIVE;
    w->since_fire = 0;
    const wa_key *k = &op->keys[key];
    w->khash = k->hash;
    w->klen = k->len;
    if (k->len <= sizeof w->kinl && k->len)
        memcpy(w->kinl, k->b.inl, k->len);
    op->keys[key].refs++;
    op->n_wins++;
    *out = idx;
    return 0;
}

/* Free a window's state.  Session windows must be unlinked by the caller. */
static void win_release(tide_winagg *op, uint32_t idx)
{
    wa_win *w = &op->wins[idx];
    if (op->cfg.window.kind != TIDE_WIN_SESSION)
        wtable_delete(op, idx);
    acc_reset(op, idx);
    op->keys[w->key].refs--;
    w->flags = 0;
    w->gen++;
    w->next = op->wins_free;
    op->wins_free = idx;
    op->n_wins--;
}

static void session_unlink(tide_winagg *op, uint32_t idx)
{
    wa_key *k = &op->keys[op->wins[idx].key];
    uint32_t *p = &k->sessions;
    while (*p != idx)
        p = &op->wins[*p].next;
    *p = op->wins[idx].next;
}

static void win_free(tide_winagg *op, uint32_t idx)
{
    uint32_t key = op->wins[idx].key;
    if (op->cfg.window.kind == TIDE_WIN_SESSION)
        session_unlink(op, idx);
    win_release(op, idx);
    if (op->keys[key].refs == 0)
        key_release(op, key);
}

/* ---- emitting ----------------------------------------------------------- */

static int emit_row(tide_winagg *op, tide_change c, uint32_t idx, int64_t start, int64_t end,
                    const tide_value *vals)
{
    const wa_key *k = &op->keys[op->wins[idx].key];
    tide_winagg_row row = {.op = c, .key = key_bytes(k), .key_len = k->len, .start = start,
                           .end = end, .vals = vals, .n_vals = op->n_aggs};
    return op->cfg.emit(op->cfg.ctx, &row);
}

static bool values_equal(const tide_value *a, const tide_value *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (a[i].is_null != b[i].is_null || a[i].type != b[i].type)
            return false;
        if (a[i].is_null)
            continue;
        if (a[i].type == TIDE_TYPE_DOUBLE) {
            if (memcmp(&a[i].u.f64, &b[i].u.f64, sizeof(double)) != 0)
                return false;
        } else if (a[i].type == TIDE_TYPE_BOOLEAN) {
            if (a[i].u.b != b[i].u.b)
                return false;
        } else if (a[i].u.i64 != b[i].u.i64) {
            return false;
        }
    }
    return true;
}

/* One firing of window `idx` (early, on time or late).  Emits nothing when
 * the row was emitted before and nothing changed. */
static int win_fire(tide_winagg *op, uint32_t idx)
{
    wa_win *w = &op->wins[idx];
    bool emitted = w->flags & W_EMITTED;
    if (emitted && !(w->flags & W_DIRTY))
        return 0;
    const wa_acc *a = win_acc(op, idx);
    for (size_t i = 0; i < op->n_aggs; i++)
        op->fns[i]->result(&a[i], op->aggs[i].type, &op->out[i]);
    tide_value *prev = op->prev ? op->prev + (size_t)idx * op->n_aggs : NULL;
    w->flags &= ~(uint32_t)W_DIRTY;
    w->since_fire = 0;
    if (emitted && prev && values_equal(prev, op->out, op->n_aggs))
        return 0;
    tide_change ops[2];
    int n = tide_trig_firing_ops(op->cfg.mode, emitted, ops);
    for (int i = 0; i < n; i++) {
        const tide_value *v = ops[i] == TIDE_CHANGE_UPDATE_BEFORE ? prev : op->out;
        int rc = emit_row(op, ops[i], idx, w->start, w->end, v);
        if (rc)
            return rc;
        w = &op->wins[idx];
    }
    w->flags |= W_EMITTED;
    if (prev)
        memcpy(prev, op->out, op->n_aggs * sizeof *prev);
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
    wa_win *w = &op->wins[idx];
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

static int cmp_fire(const void *pa, const void *pb)
{
    const wa_fire *a = pa, *b = pb;
    if (a->end != b->end)
        return a->end < b->end ? -1 : 1;
    if (a->start != b->start)
        return a->start < b->start ? -1 : 1;
    uint32_t n = a->key_len < b->key_len ? a->key_len : b->key_len;
    int c = n ? memcmp(a->key, b->key, n) : 0;
    if (c)
        return c;
    return (a->key_len > b->key_len) - (a->key_len < b->key_len);
}

static int fire_add(tide_winagg *op, size_t *n, uint32_t idx)
{
    if (grow((void **)&op->fire, &op->fire_cap, *n + 1, sizeof *op->fire))
        return TIDE_ENOMEM;
    const wa_win *w = &op->wins[idx];
    const wa_key *k = &op->keys[w->key];
    op->fire[(*n)++] = (wa_fire){w->end, w->start, key_bytes(k), k->len, idx};
    return 0;
}

/* A round of processing-time early firings over the dirty windows. */
static int early_round(tide_winagg *op)
{
    size_t n = 0;
    int rc = 0;
    for (size_t i = 0; i < op->dirty_len; i++) {
        wa_ref r = op->dirty[i];
        wa_win *w = &op->wins[r.win];
        if (w->gen != r.gen || !(w->flags & W_IN_DLIST))
            continue;
        w->flags &= ~(uint32_t)W_IN_DLIST;
        if ((w->flags & (W_DIRTY | W_DONE)) != W_DIRTY)
            continue;
        if ((rc = fire_add(op, &n, r.win)))
            return rc;
    }
    op->dirty_len = 0;
    qsort(op->fire, n, sizeof *op->fire, cmp_fire);
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

static bool type_numeric(tide_type t)
{
    return t == TIDE_TYPE_BIGINT || t == TIDE_TYPE_DOUBLE;
}

int tide_winagg_create(const tide_winagg_config *cfg, tide_winagg **out, tide_err *e)
{
    *out = NULL;
    int rc = tide_win_spec_check(&cfg->window, e);
    if (rc)
        return rc;
    if (!cfg->emit || !cfg->n_aggs || !cfg->aggs || cfg->allowed_lateness < 0 ||
        (int)cfg->mode < 0 || cfg->mode > TIDE_TRIG_RETRACTING || cfg->n_aggs > 4096)
        return tide_err_set(e, TIDE_EINVAL,
                            "window aggregate: bad config (emit callback, aggregates, lateness)");
    for (size_t i = 0; i < cfg->n_aggs; i++) {
        const tide_winagg_call *c = &cfg->aggs[i];
        if ((int)c->fn < 0 || c->fn > TIDE_WINAGG_COUNT_DISTINCT)
            return tide_err_set(e, TIDE_EINVAL, "window aggregate: aggregate %zu: bad function", i);
        if (c->fn == TIDE_WINAGG_COUNT_STAR)
            continue;
        if (c->arg >= cfg->n_inputs)
            return tide_err_set(e, TIDE_EINVAL,
                                "window aggregate: aggregate %zu (%s): argument %u out of %zu inputs",
                                i, tide_winagg_fn_name(c->fn), c->arg, cfg->n_inputs);
        bool ok = true;
        switch (c->fn) {
        case TIDE_WINAGG_SUM:
        case TIDE_WINAGG_AVG: ok = type_numeric(c->type); break;
        case TIDE_WINAGG_MIN:
        case TIDE_WINAGG_MAX:
            ok = type_numeric(c->type) || c->type == TIDE_TYPE_TIMESTAMP ||
                 c->type == TIDE_TYPE_BOOLEAN;
            break;
        default: ok = c->type != TIDE_TYPE_NULL && c->type < TIDE_TYPE_COUNT; break;
        }
        if (!ok)
            return tide_err_set(e, c->type == TIDE_TYPE_STRING ? TIDE_EUNSUPPORTED : TIDE_EINVAL,
                                "window aggregate: aggregate %zu: %s of %s is not supported", i,
                                tide_winagg_fn_name(c->fn), tide_type_name(c->type));
    }

    tide_winagg *op = calloc(1, sizeof *op);
    if (!op)
        return tide_err_set(e, TIDE_ENOMEM, "window aggregate: create");
    op->cfg = *cfg;
    op->n_aggs = cfg->n_aggs;
    op->wm = TIDE_TS_MIN;
    op->keys_free = NONE;
    op->wins_free = NONE;
    tide_trig_clock_init(&op->clock, cfg->early.every_ms);
    op->aggs = malloc(op->n_aggs * sizeof *op->aggs);
    op->fns = malloc(op->n_aggs * sizeof *op->fns);
    op->out = calloc(op->n_aggs, sizeof *op->out);
    op->old = calloc(op->n_aggs, sizeof *op->old);
    op->ranges = malloc(tide_win_max_windows(&cfg->window) * sizeof *op->ranges);
    if (!op->aggs || !op->fns || !op->out || !op->old || !op->ranges)
        goto nomem;
    memcpy(op->aggs, cfg->aggs, op->n_aggs * sizeof *op->aggs);
    op->cfg.aggs = op->aggs;
    for (size_t i = 0; i < op->n_aggs; i++)
        op->fns[i] = &wa_fns[op->aggs[i].fn];
    uint32_t cap = 64;
    while (cap < 0x40000000u && (size_t)cap < cfg->capacity_hint * 2)
        cap *= 2;
    if (ktable_rehash(op, cap) || wtable_rehash(op, cap))
        goto nomem;
    *out = op;
    return 0;
nomem:
    tide_winagg_free(op);
    return tide_err_set(e, TIDE_ENOMEM, "window aggregate: create");
}

void tide_winagg_free(tide_winagg *op)
{
    if (!op)
        return;
    for (uint32_t i = 0; i < op->wins_cap; i++)
        if (op->wins[i].flags & W_LIVE)
            acc_reset(op, i);
    for (uint32_t i = 0; op->kslots && i <= op->kmask; i++) {
        uint64_t s = op->kslots[i];
        if (s && op->keys[(uint32_t)s - 1].len > sizeof op->keys[0].b.inl)
            free(op->keys[(uint32_t)s - 1].b.ext);
    }
    free(op->keys);
    free(op->kslots);
    free(op->wins);
    free(op->acc);
    free(op->prev);
    free(op->wslots);
    free(op->heap);
    free(op->dirty);
    free(op->fire);
    free(op->ranges);
    free(op->out);
    free(op->old);
    free(op->aggs);
    free(op->fns);
    free(op);
}

/* ---- push --------------------------------------------------------------- */

/* Add the record's values to window `idx`. */
static int win_step(tide_winagg *op, uint32_t idx, const tide_value *in)
{
    wa_acc *a = win_acc(op, idx);
    for (size_t i = 0; i < op->n_aggs; i++) {
        const tide_winagg_call *c = &op->aggs[i];
        if (c->fn == TIDE_WINAGG_COUNT_STAR) {
            a[i].n++;
            continue;
        }
        const tide_value *v = &in[c->arg];
        if (v->is_null || v->type == TIDE_TYPE_NULL)
            continue;
        int rc = op->fns[i]->step(&a[i], v, c->type);
        if (rc)
            return rc;
    }
    wa_win *w = &op->wins[idx];
    w->flags |= W_DIRTY;
    w->since_fire++;
    return 0;
}

/* After adding to window `idx`: late firing, every-N early firing, or
 * queue for the processing-time early round. */
static int win_after_step(tide_winagg *op, uint32_t idx)
{
    wa_win *w = &op->wins[idx];
    if (op->wm >= w->end) {
        if (w->flags & W_DONE)
            return win_fire(op, idx); /* late firing */
        return win_fire_on_time(op, idx);  /* created after its end passed */
    }
    if (op->cfg.early.every_n && w->since_fire >= op->cfg.early.every_n)
        return win_fire(op, idx);
    if (op->cfg.early.every_ms > 0 && !(w->flags & W_IN_DLIST)) {
        if (grow((void **)&op->dirty, &op->dirty_cap, op->dirty_len + 1, sizeof *op->dirty))
            return TIDE_ENOMEM;
        op->dirty[op->dirty_len++] = (wa_ref){idx, w->gen};
        w->flags |= W_IN_DLIST;
    }
    return 0;
}

static int check_inputs(const tide_winagg *op, const tide_value *in, tide_err *e)
{
    for (size_t i = 0; i < op->n_aggs; i++) {
        const tide_winagg_call *c = &op->aggs[i];
        if (c->fn == TIDE_WINAGG_COUNT_STAR)
            continue;
        const tide_value *v = &in[c->arg];
        if (v->is_null || v->type == TIDE_TYPE_NULL || v->type == c->type)
            continue;
        if ((v->type == TIDE_TYPE_BIGINT || v->type == TIDE_TYPE_TIMESTAMP) &&
            (c->type == TIDE_TYPE_BIGINT || c->type == TIDE_TYPE_TIMESTAMP))
            continue;
        return tide_err_set(e, TIDE_EINVAL, "window aggregate: input %u is %s, %s expects %s",
                            c->arg, tide_type_name(v->type), tide_winagg_fn_name(c->fn),
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

static int push_fixed(tide_winagg *op, const void *key, uint32_t len, uint64_t h, int64_t ts,
                      const tide_value *in, bool *late)
{
    uint32_t kidx = NONE;
    size_t n = tide_win_assign(&op->cfg.window, ts, op->ranges);
    int rc = 0;
    for (size_t r = 0; r < n; r++) {
        int64_t start = op->ranges[r].start, end = op->ranges[r].end;
        if (tide_trig_place_record(end, op->cfg.allowed_lateness, op->wm) == TIDE_TRIG_DROPPED) {
            *late = true;
            continue;
        }
        uint64_t wh = hash_win(h, start, end);
        uint32_t idx = win_find(op, key, len, h, start, end, wh);
        if (idx == NONE) {
            if (kidx == NONE)
                kidx = key_find(op, key, len, h);
            if ((rc = key_get(op, key, len, h, &kidx)))
                return rc;
            if ((uint64_t)(op->n_wslots_used + 1) * 2 > (uint64_t)op->wmask + 1) {
                if (op->wmask >= 0x7fffffffu || wtable_rehash(op, (op->wmask + 1) * 2))
                    goto drop_key;
            }
            if ((rc = win_alloc(op, kidx, start, end, &idx)))
                goto drop_key;
            uint32_t j = (uint32_t)wh & op->wmask;
            while (op->wslots[j])
                j = (j + 1) & op->wmask;
            op->wslots[j] = ((uint64_t)(uint32_t)wh << 32) | ((uint64_t)idx + 1);
            op->n_wslots_used++;
            if ((rc = heap_push(op, end, idx))) {
                win_free(op, idx);
                return rc;
            }
        }
        if ((rc = win_step(op, idx, in)) || (rc = win_after_step(op, idx)))
            return rc;
    }
    return 0;
drop_key:
    if (!rc)
        rc = TIDE_ENOMEM;
    if (op->keys[kidx].refs == 0)
        key_release(op, kidx);
    return rc;
}

static int push_session(tide_winagg *op, const void *key, uint32_t len, uint64_t h, int64_t ts,
                        const tide_value *in, bool *late)
{
    uint32_t kidx = key_find(op, key, len, h);
    tide_win_range p = {ts, tide_wm_sat_add(ts, op->cfg.window.gap)}, m = p;
    uint32_t hit[2], n_hit = 0; /* live sessions never intersect: at most 2 */
    if (kidx != NONE) {
        for (uint32_t s = op->keys[kidx].sessions; s != NONE; s = op->wins[s].next) {
            tide_win_range r = {op->wins[s].start, op->wins[s].end};
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
        if ((rc = win_alloc(op, kidx, m.start, m.end, &idx))) {
            if (op->keys[kidx].refs == 0)
                key_release(op, kidx);
            return rc;
        }
        op->wins[idx].next = op->keys[kidx].sessions;
        op->keys[kidx].sessions = idx;
        if ((rc = heap_push(op, m.end, idx))) {
            win_free(op, idx);
            return rc;
        }
    } else {
        if (n_hit == 2 && op->wins[hit[1]].start < op->wins[hit[0]].start) {
            uint32_t t = hit[0];
            hit[0] = hit[1];
            hit[1] = t;
        }
        idx = hit[0];
        wa_win *w = &op->wins[idx];
        bool changed = n_hit > 1 || w->start != m.start || w->end != m.end;
        if (changed) {
            /* The superseded rows go away: -D for those emitted. */
            for (uint32_t i = 0; i < n_hit; i++) {
                wa_win *x = &op->wins[hit[i]];
                if ((x->flags & W_EMITTED) && op->cfg.mode != TIDE_TRIG_DISCARDING) {
                    const tide_value *pv = op->prev + (size_t)hit[i] * op->n_aggs;
                    if ((rc = emit_row(op, TIDE_CHANGE_DELETE, hit[i], x->start, x->end, pv)))
                        return rc;
                }
            }
            if (n_hit == 2) {
                wa_acc *a = win_acc(op, idx), *b = win_acc(op, hit[1]);
                for (size_t i = 0; i < op->n_aggs; i++)
                    if ((rc = op->fns[i]->merge(&a[i], &b[i], op->aggs[i].type)))
                        return rc;
                op->wins[idx].since_fire += op->wins[hit[1]].since_fire;
                session_unlink(op, hit[1]);
                win_release(op, hit[1]);
            }
            w = &op->wins[idx];
            w->start = m.start;
            w->end = m.end;
            w->gen++;
            w->flags = W_LIVE | W_DIRTY;
            if ((rc = heap_push(op, m.end, idx)))
                return rc;
        }
    }
    if ((rc = win_step(op, idx, in)))
        return rc;
    return win_after_step(op, idx);
}

static int push_one(tide_winagg *op, const void *key, uint32_t key_len, uint64_t h, int64_t ts,
                    const tide_value *in, int64_t proc_now, tide_err *e)
{
    int rc = check_inputs(op, in, e);
    if (rc)
        return rc;
    bool late = false;
    if (op->cfg.window.kind == TIDE_WIN_SESSION)
        rc = push_session(op, key, key_len, h, ts, in, &late);
    else
        rc = push_fixed(op, key, key_len, h, ts, in, &late);
    if (rc)
        return fail(op, e, rc, rc == TIDE_ENOMEM ? "out of memory" : "emit callback failed");
    if (late) {
        op->late_count++;
        if (op->cfg.late && (rc = op->cfg.late(op->cfg.ctx, key, key_len, ts, in,
                                                op->cfg.n_inputs)))
            return fail(op, e, rc, "late callback failed");
    }
    if ((rc = maybe_early_round(op, proc_now)))
        return fail(op, e, rc, rc == TIDE_ENOMEM ? "out of memory" : "emit callback failed");
    return 0;
}

int tide_winagg_push(tide_winagg *op, const void *key, uint32_t key_len, int64_t ts,
                     const tide_value *in, int64_t proc_now, tide_err *e)
{
    if (op->failed)
        return tide_err_set(e, TIDE_EFAILED, "window aggregate: failed earlier (%s)",
                            tide_err_name(op->failed));
    return push_one(op, key, key_len, hash_key(key, key_len), ts, in, proc_now, e);
}

/* Batches: the state a record touches is scattered over memory far larger
 * than the caches, and on these machines a cache miss costs hundreds of ns.
 * So a group of records first only *prefetches*, in three dependent rounds
 * (key slot, key record, the key's cached window and its accumulators),
 * letting the misses of the group overlap; then the records are pushed one
 * by one exactly as tide_winagg_push would.  The prefetch rounds read but
 * never change state, so results are the same as pushing one at a time. */
#define WA_GROUP 32

int tide_winagg_push_batch(tide_winagg *op, size_t n, const void *const *keys,
                           const uint32_t *key_lens, const int64_t *ts, const tide_value *in,
                           int64_t proc_now, tide_err *e)
{
    if (op->failed)
        return tide_err_set(e, TIDE_EFAILED, "window aggregate: failed earlier (%s)",
                            tide_err_name(op->failed));
    enum { MAXW = 4 };
    uint64_t h[WA_GROUP], wh[WA_GROUP][MAXW];
    uint8_t nw[WA_GROUP];
    uint32_t kidx[WA_GROUP];
    tide_win_range rg[MAXW];
    size_t stride = op->cfg.n_inputs;
    bool session = op->cfg.window.kind == TIDE_WIN_SESSION;
    bool fixed = !session && tide_win_max_windows(&op->cfg.window) <= MAXW;
    for (size_t base = 0; base < n; base += WA_GROUP) {
        size_t m = n - base < WA_GROUP ? n - base : WA_GROUP;
        /* round 1: hashes; prefetch window slots (fixed) or key slots */
        for (size_t i = 0; i < m; i++) {
            h[i] = hash_key(keys[base + i], key_lens[base + i]);
            if (fixed) {
                nw[i] = (uint8_t)tide_win_assign(&op->cfg.window, ts[base + i], rg);
                for (size_t k = 0; k < nw[i]; k++) {
                    wh[i][k] = hash_win(h[i], rg[k].start, rg[k].end);
                    __builtin_prefetch(&op->wslots[(uint32_t)wh[i][k] & op->wmask]);
                }
            } else if (session) {
                __builtin_prefetch(&op->kslots[(uint32_t)h[i] & op->kmask]);
            }
        }
        /* round 2: the entries the slots point at */
        for (size_t i = 0; i < m && (fixed || session); i++) {
            if (fixed) {
                for (size_t k = 0; k < nw[i]; k++) {
                    uint64_t sl = op->wslots[(uint32_t)wh[i][k] & op->wmask];
                    if (sl && (uint32_t)(sl >> 32) == (uint32_t)wh[i][k]) {
                        __builtin_prefetch(&op->wins[(uint32_t)sl - 1], 1);
                        __builtin_prefetch(win_acc(op, (uint32_t)sl - 1), 1);
                    }
                }
                continue;
            }
            uint64_t sl = op->kslots[(uint32_t)h[i] & op->kmask];
            kidx[i] = sl && (uint32_t)(sl >> 32) == (uint32_t)h[i] ? (uint32_t)sl - 1 : NONE;
            if (kidx[i] != NONE)
                __builtin_prefetch(&op->keys[kidx[i]]);
        }
        /* round 3 (sessions): the key's newest session */
        for (size_t i = 0; i < m && session; i++) {
            if (kidx[i] == NONE)
                continue;
            uint32_t c = op->keys[kidx[i]].sessions;
            if (c < op->wins_cap) {
                __builtin_prefetch(&op->wins[c], 1);
                __builtin_prefetch(win_acc(op, c), 1);
            }
        }
        for (size_t i = 0; i < m; i++) {
            size_t r = base + i;
            int rc = push_one(op, keys[r], key_lens[r], h[i], ts[r], in ? in + r * stride : NULL,
                              proc_now, e);
            if (rc)
                return rc;
        }
    }
    return 0;
}

/* ---- watermark ---------------------------------------------------------- */

int tide_winagg_advance_watermark(tide_winagg *op, int64_t wm, int64_t proc_now, tide_err *e)
{
    if (op->failed)
        return tide_err_set(e, TIDE_EFAILED, "window aggregate: failed earlier (%s)",
                            tide_err_name(op->failed));
    int rc = 0;
    if (wm > op->wm) {
        op->wm = wm;
        size_t n = 0;
        while (op->heap_len && op->heap[0].time <= wm) {
            wa_heap_ent x = heap_pop(op);
            wa_win *w = &op->wins[x.win];
            if (w->gen != x.gen || !(w->flags & W_LIVE))
                continue;
            if (!(w->flags & W_DONE)) {
                if ((rc = fire_add(op, &n, x.win)))
                    goto failed;
            } else if (tide_trig_expired(w->end, op->cfg.allowed_lateness, wm)) {
                win_free(op, x.win);
            }
        }
        qsort(op->fire, n, sizeof *op->fire, cmp_fire);
        for (size_t i = 0; i < n; i++)
            if ((rc = win_fire_on_time(op, op->fire[i].win)))
                goto failed;
    }
    if ((rc = maybe_early_round(op, proc_now)))
        goto failed;
    return 0;
failed:
    return fail(op, e, rc, rc == TIDE_ENOMEM ? "out of memory" : "emit callback failed");
}

int tide_winagg_tick(tide_winagg *op, int64_t proc_now, tide_err *e)
{
    return tide_winagg_advance_watermark(op, op->wm, proc_now, e);
}

int64_t tide_winagg_watermark(const tide_winagg *op) { return op->wm; }
uint64_t tide_winagg_late_count(const tide_winagg *op) { return op->late_count; }
size_t tide_winagg_live_windows(const tide_winagg *op) { return op->n_wins; }
size_t tide_winagg_live_keys(const tide_winagg *op) { return op->n_keys; }
