/*
 * sessagg.c - sessions per partition, aggregated per key (see sessagg.h).
 *
 * Design.
 *
 * Three dense arrays with free lists:
 *   parts     a partition key and its live sessions, sorted by start (an
 *             array of session indices); found through `pslots`, an
 *             open-addressing table on the key bytes.  A freed partition
 *             keeps its array for the next one.
 *   sess      a session: bounds, partition, the list of its rows, counts
 *             (rows, rows emitted at least once), flags, a generation.
 *   rows      a (session, key) state: the key (inline up to 16 bytes), its
 *             hash, flags, generation; its accumulators are row i of `accs`
 *             (acc_stride bytes each) and its previously emitted results
 *             row i of `prev` (n_aggs values each; accumulating and
 *             retracting modes).  A STRING result (MIN/MAX of a STRING)
 *             borrows its aggregate's state, which the next step changes,
 *             so a previous STRING result is a copy in `prev_str[i]`, the
 *             row's own buffer (kept for the index's next row, freed with
 *             the operator).  Found through `rslots`, keyed by (session
 *             index, key bytes); a row that moves to another session (a
 *             merge) is re-indexed.
 * Live sessions of a partition never touch (they would have merged), so a
 * record's window [ts, ts + gap) meets at most two of them, and since every
 * session is at least `gap` long they are the last one starting at or
 * before ts + gap and the one before it: one binary search.  A merge moves
 * the rows of the session with fewer rows into the other (merging the
 * states of keys both have), so a row moves O(log n) times at most.
 *
 * Time.  A min-heap of (time, session, generation): for a live session its
 * fire time end - 1 until it fired on time, then end - 1 + L (free).  An
 * extension of an unfired session leaves its action in place (due earlier
 * than the new end): when it comes due it is moved.  A merge that reopens a
 * fired session bumps its generation and schedules the new fire time.
 * Extending a session that emitted nothing yet touches none of its rows;
 * one that emitted deletes and resets each of them (their rows change
 * identity: the bounds are part of it).
 */
#include "exec/sessagg.h"

#include "base/buf.h"
#include "base/hash.h"
#include "exec/agg.h"

#include <stdlib.h>
#include <string.h>

#define NONE UINT32_MAX
#define KEY_SEED 0x73657373ull

enum {
    R_LIVE = 1,
    R_EMITTED = 2,   /* the row (key, start, end) was emitted at least once */
    R_DIRTY = 4,     /* records added since its last firing */
    R_IN_DLIST = 8,  /* queued for the processing-time early round */
};

enum {
    S_LIVE = 1,
    S_DONE = 2, /* fired on time; its heap action is now cleanup */
};

typedef union sa_key {
    unsigned char inl[16];
    unsigned char *ext;
} sa_key;

typedef struct sa_row {
    uint64_t hash; /* of the key bytes */
    uint32_t sess;
    uint32_t next; /* the session's rows, or the free list */
    uint32_t klen, gen, flags, since_fire;
    sa_key k;
} sa_row;

typedef struct sa_sess {
    int64_t start, end;
    uint32_t part;
    uint32_t rows; /* head of the list of its rows */
    uint32_t nrows, nemitted, gen, flags, next_free;
} sa_sess;

typedef struct sa_part {
    uint64_t hash;
    uint32_t klen;
    sa_key k;
    uint32_t *sess; /* live sessions, ascending start */
    size_t n, cap;
    uint32_t next_free;
    bool used;
} sa_part;

typedef struct sa_heap {
    int64_t time;
    uint32_t sess, gen;
} sa_heap;

typedef struct sa_ref {
    uint32_t idx, gen;
} sa_ref;

/* A row to fire, with its sort key. */
typedef struct sa_fire {
    int64_t end, start;
    const unsigned char *key;
    uint32_t klen, row;
} sa_fire;

typedef struct sa_tab {
    uint64_t *s; /* (hash32 << 32) | (index + 1); 0 empty */
    uint32_t mask, used;
} sa_tab;

struct tide_sessagg {
    tide_winagg_config cfg;
    tide_winagg_call *aggs;
    size_t n_aggs;
    tide_agg *agg;
    size_t *agg_off;
    size_t acc_stride;
    bool has_inputs, keep_prev;
    int failed;
    int64_t wm;
    uint64_t late_count;

    sa_part *parts;
    size_t parts_cap;
    uint32_t parts_hi, parts_free, n_parts;
    sa_tab pslots;

    sa_sess *sess;
    size_t sess_cap;
    uint32_t sess_hi, sess_free, n_sess;

    sa_row *rows;
    unsigned char *accs;
    tide_value *prev;
    char **prev_str;  /* per row: the bytes of its previous STRING results (has_str) */
    size_t *prev_scap;
    bool has_str;     /* an aggregate has a STRING result */
    size_t rows_cap;
    uint32_t rows_hi, rows_free, n_rows;
    sa_tab rslots;

    sa_heap *heap;
    size_t heap_len, heap_cap;
    sa_ref *dirty;
    size_t dirty_len, dirty_cap;
    tide_trig_clock clock;

    uint32_t *due; /* scratch: sessions firing in one step */
    size_t due_cap;
    sa_fire *fire; /* scratch: rows firing in one round */
    size_t fire_cap;
    tide_value *out; /* scratch results, n_aggs */
};

static const char *rc_what(int rc)
{
    switch (rc) {
    case TIDE_ENOMEM: return "out of memory";
    case TIDE_ERANGE: return "SUM(BIGINT) overflow";
    default: return "emit callback failed";
    }
}

static int fail(tide_sessagg *op, tide_err *e, int code, const char *what)
{
    if (!op->failed)
        op->failed = code;
    return tide_err_set(e, code, "session aggregate: %s", what);
}

static inline const unsigned char *key_of(const sa_key *k, uint32_t len)
{
    return len <= sizeof k->inl ? k->inl : k->ext;
}

static int key_set(sa_key *k, const void *b, uint32_t len)
{
    if (len > sizeof k->inl) {
        if (!(k->ext = malloc(len)))
            return TIDE_ENOMEM;
        memcpy(k->ext, b, len);
    } else if (len) {
        memcpy(k->inl, b, len);
    }
    return 0;
}

static void key_drop(sa_key *k, uint32_t len)
{
    if (len > sizeof k->inl)
        free(k->ext);
}

static inline uint64_t hash_bytes(const void *p, uint32_t len)
{
    return tide_hash64(p, len, KEY_SEED);
}

static inline uint32_t row_h32(uint64_t khash, uint32_t sess)
{
    return (uint32_t)tide_hash_u64(khash ^ ((uint64_t)sess + 1) * 0x9e3779b97f4a7c15ull);
}

/* ---- open-addressing tables of indices ---------------------------------- */

static int tab_resize(sa_tab *t, uint32_t ncap)
{
    uint64_t *ns = calloc(ncap, sizeof *ns);
    if (!ns)
        return TIDE_ENOMEM;
    uint32_t nmask = ncap - 1;
    for (uint32_t i = 0; t->s && i <= t->mask; i++) {
        uint64_t s = t->s[i];
        if (!s)
            continue;
        uint32_t j = (uint32_t)(s >> 32) & nmask;
        while (ns[j])
            j = (j + 1) & nmask;
        ns[j] = s;
    }
    free(t->s);
    t->s = ns;
    t->mask = nmask;
    return 0;
}

/* Room for one more entry (load <= 1/2). */
static int tab_reserve(sa_tab *t)
{
    if ((uint64_t)(t->used + 1) * 2 <= (uint64_t)t->mask + 1)
        return 0;
    if (t->mask >= 0x7fffffffu)
        return TIDE_ENOMEM;
    return tab_resize(t, (t->mask + 1) * 2);
}

static void tab_put(sa_tab *t, uint32_t h32, uint32_t idx)
{
    uint32_t j = h32 & t->mask;
    while (t->s[j])
        j = (j + 1) & t->mask;
    t->s[j] = ((uint64_t)h32 << 32) | ((uint64_t)idx + 1);
    t->used++;
}

/* Remove the entry of `idx` (hashed h32), shifting its followers back. */
static void tab_del(sa_tab *t, uint32_t h32, uint32_t idx)
{
    uint32_t i = h32 & t->mask;
    while ((uint32_t)t->s[i] != idx + 1)
        i = (i + 1) & t->mask;
    t->s[i] = 0;
    for (uint32_t k = (i + 1) & t->mask; t->s[k]; k = (k + 1) & t->mask) {
        uint32_t home = (uint32_t)(t->s[k] >> 32) & t->mask;
        if (((k - home) & t->mask) >= ((k - i) & t->mask)) {
            t->s[i] = t->s[k];
            t->s[k] = 0;
            i = k;
        }
    }
    t->used--;
}

/* ---- accumulators -------------------------------------------------------- */

static inline unsigned char *row_acc(const tide_sessagg *op, uint32_t r)
{
    return op->accs + (size_t)r * op->acc_stride;
}

static inline tide_value *row_prev(const tide_sessagg *op, uint32_t r)
{
    return op->keep_prev ? op->prev + (size_t)r * op->n_aggs : NULL;
}

static void acc_init(const tide_sessagg *op, uint32_t r)
{
    tide_agg_slots_init(op->agg, op->agg_off, op->n_aggs, row_acc(op, r));
}

static void acc_reset(const tide_sessagg *op, uint32_t r)
{
    tide_agg_slots_reset(op->agg, op->agg_off, op->n_aggs, row_acc(op, r));
}

/* ---- partitions ------------------------------------------------------------ */

static uint32_t part_find(const tide_sessagg *op, const void *key, uint32_t len, uint64_t h)
{
    uint32_t h32 = (uint32_t)h;
    for (uint32_t j = h32 & op->pslots.mask;; j = (j + 1) & op->pslots.mask) {
        uint64_t s = op->pslots.s[j];
        if (!s)
            return NONE;
        if ((uint32_t)(s >> 32) != h32)
            continue;
        const sa_part *p = &op->parts[(uint32_t)s - 1];
        if (p->klen == len && p->hash == h &&
            (len == 0 || memcmp(key_of(&p->k, len), key, len) == 0))
            return (uint32_t)s - 1;
    }
}

static int part_insert(tide_sessagg *op, const void *key, uint32_t len, uint64_t h, uint32_t *out)
{
    if (tab_reserve(&op->pslots))
        return TIDE_ENOMEM;
    uint32_t i = op->parts_free;
    if (i == NONE) {
        if (op->parts_hi == NONE - 1 ||
            tide_array_grow((void **)&op->parts, &op->parts_cap, (size_t)op->parts_hi + 1,
                            sizeof *op->parts))
            return TIDE_ENOMEM;
        i = op->parts_hi++;
        op->parts[i] = (sa_part){.next_free = NONE};
    }
    sa_part *p = &op->parts[i];
    if (key_set(&p->k, key, len))
        return TIDE_ENOMEM;
    if (i == op->parts_free)
        op->parts_free = p->next_free;
    p->hash = h;
    p->klen = len;
    p->n = 0;
    p->used = true;
    tab_put(&op->pslots, (uint32_t)h, i);
    op->n_parts++;
    *out = i;
    return 0;
}

static void part_release(tide_sessagg *op, uint32_t i)
{
    sa_part *p = &op->parts[i];
    tab_del(&op->pslots, (uint32_t)p->hash, i);
    key_drop(&p->k, p->klen);
    p->used = false;
    p->next_free = op->parts_free; /* keeps its session array for reuse */
    op->parts_free = i;
    op->n_parts--;
}

/* Insert session `s` at position `at` of partition `pi`'s array. */
static int part_add_sess(tide_sessagg *op, uint32_t pi, size_t at, uint32_t s)
{
    sa_part *p = &op->parts[pi];
    if (p->n + 1 > p->cap &&
        tide_array_grow((void **)&p->sess, &p->cap, p->n + 1, sizeof *p->sess))
        return TIDE_ENOMEM;
    memmove(p->sess + at + 1, p->sess + at, (p->n - at) * sizeof *p->sess);
    p->sess[at] = s;
    p->n++;
    return 0;
}

/* Remove session `s` from its partition's array (found by its start:
 * starts are distinct within a partition). */
static void part_del_sess(tide_sessagg *op, uint32_t s)
{
    sa_part *p = &op->parts[op->sess[s].part];
    size_t lo = 0, hi = p->n;
    int64_t st = op->sess[s].start;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (op->sess[p->sess[mid]].start < st)
            lo = mid + 1;
        else
            hi = mid;
    }
    while (p->sess[lo] != s) /* (never taken: starts are distinct) */
        lo++;
    memmove(p->sess + lo, p->sess + lo + 1, (p->n - lo - 1) * sizeof *p->sess);
    p->n--;
}

/* ---- rows ------------------------------------------------------------------ */

static uint32_t row_find(const tide_sessagg *op, uint32_t sess, const void *key, uint32_t len,
                         uint64_t kh)
{
    uint32_t h32 = row_h32(kh, sess);
    for (uint32_t j = h32 & op->rslots.mask;; j = (j + 1) & op->rslots.mask) {
        uint64_t s = op->rslots.s[j];
        if (!s)
            return NONE;
        if ((uint32_t)(s >> 32) != h32)
            continue;
        const sa_row *r = &op->rows[(uint32_t)s - 1];
        if (r->sess == sess && r->klen == len && r->hash == kh &&
            (len == 0 || memcmp(key_of(&r->k, len), key, len) == 0))
            return (uint32_t)s - 1;
    }
}

static int rows_grow(tide_sessagg *op)
{
    size_t cap = op->rows_cap, need = (size_t)op->rows_hi + 1;
    if (need <= cap)
        return 0;
    size_t ncap = cap ? 2 * cap : 64;
    if (ncap > NONE - 1)
        return TIDE_ENOMEM;
    sa_row *nr = realloc(op->rows, ncap * sizeof *nr);
    if (!nr)
        return TIDE_ENOMEM;
    op->rows = nr;
    unsigned char *na = realloc(op->accs, ncap * op->acc_stride);
    if (!na)
        return TIDE_ENOMEM; /* rows grew: harmless, rows_cap still right */
    op->accs = na;
    if (op->keep_prev) {
        tide_value *np = realloc(op->prev, ncap * op->n_aggs * sizeof *np);
        if (!np)
            return TIDE_ENOMEM;
        op->prev = np;
    }
    if (op->keep_prev && op->has_str) {
        char **ns = realloc(op->prev_str, ncap * sizeof *ns);
        if (!ns)
            return TIDE_ENOMEM;
        op->prev_str = ns;
        size_t *nc = realloc(op->prev_scap, ncap * sizeof *nc);
        if (!nc)
            return TIDE_ENOMEM;
        op->prev_scap = nc;
        for (size_t i = cap; i < ncap; i++)
            ns[i] = NULL, nc[i] = 0;
    }
    for (size_t i = cap; i < ncap; i++)
        acc_init(op, (uint32_t)i);
    op->rows_cap = ncap;
    return 0;
}

/* A new row for (session s, key) with key hash kh, indexed and linked. */
static int row_alloc(tide_sessagg *op, uint32_t s, const void *key, uint32_t len, uint64_t kh,
                     uint32_t *out)
{
    if (tab_reserve(&op->rslots))
        return TIDE_ENOMEM;
    uint32_t r = op->rows_free;
    if (r == NONE) {
        if (rows_grow(op))
            return TIDE_ENOMEM;
        r = op->rows_hi;
        op->rows[r].gen = 0;
    }
    sa_row *w = &op->rows[r];
    if (key_set(&w->k, key, len))
        return TIDE_ENOMEM;
    if (r == op->rows_free)
        op->rows_free = w->next;
    else
        op->rows_hi++;
    w->hash = kh;
    w->sess = s;
    w->klen = len;
    w->gen++;
    w->flags = R_LIVE;
    w->since_fire = 0;
    w->next = op->sess[s].rows;
    op->sess[s].rows = r;
    op->sess[s].nrows++;
    tab_put(&op->rslots, row_h32(kh, s), r);
    op->n_rows++;
    *out = r;
    return 0;
}

/* Free row r's state; the caller unlinks it from its session's list. */
static void row_release(tide_sessagg *op, uint32_t r)
{
    sa_row *w = &op->rows[r];
    tab_del(&op->rslots, row_h32(w->hash, w->sess), r);
    acc_reset(op, r);
    key_drop(&w->k, w->klen);
    w->flags = 0;
    w->gen++;
    w->next = op->rows_free;
    op->rows_free = r;
    op->n_rows--;
}

/* ---- sessions -------------------------------------------------------------- */

static int heap_push(tide_sessagg *op, int64_t time, uint32_t s)
{
    if (op->heap_len == op->heap_cap &&
        tide_array_grow((void **)&op->heap, &op->heap_cap, op->heap_len + 1, sizeof *op->heap))
        return TIDE_ENOMEM;
    sa_heap x = {time, s, op->sess[s].gen};
    size_t i = op->heap_len++;
    while (i > 0 && op->heap[(i - 1) / 2].time > time) {
        op->heap[i] = op->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    op->heap[i] = x;
    return 0;
}

static sa_heap heap_pop(tide_sessagg *op)
{
    sa_heap top = op->heap[0], x = op->heap[--op->heap_len];
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

static int sess_alloc(tide_sessagg *op, uint32_t part, tide_win_range m, uint32_t *out)
{
    uint32_t s = op->sess_free;
    if (s == NONE) {
        if (op->sess_hi == NONE - 1 ||
            tide_array_grow((void **)&op->sess, &op->sess_cap, (size_t)op->sess_hi + 1,
                            sizeof *op->sess))
            return TIDE_ENOMEM;
        s = op->sess_hi++;
        op->sess[s].gen = 0;
    } else {
        op->sess_free = op->sess[s].next_free;
    }
    sa_sess *x = &op->sess[s];
    x->start = m.start;
    x->end = m.end;
    x->part = part;
    x->rows = NONE;
    x->nrows = x->nemitted = 0;
    x->gen++;
    x->flags = S_LIVE;
    op->n_sess++;
    *out = s;
    return 0;
}

/* Put session s back on the free list (its rows already gone or moved). */
static void sess_release(tide_sessagg *op, uint32_t s)
{
    sa_sess *x = &op->sess[s];
    x->flags = 0;
    x->gen++;
    x->next_free = op->sess_free;
    op->sess_free = s;
    op->n_sess--;
}

/* Free session s: its rows, its place in the partition (and the partition
 * when it was its last session). */
static void sess_free(tide_sessagg *op, uint32_t s)
{
    for (uint32_t r = op->sess[s].rows; r != NONE;) {
        uint32_t next = op->rows[r].next;
        row_release(op, r);
        r = next;
    }
    uint32_t pi = op->sess[s].part;
    part_del_sess(op, s);
    if (op->parts[pi].n == 0)
        part_release(op, pi);
    sess_release(op, s);
}

/* ---- firing ---------------------------------------------------------------- */

static int emit_row(tide_sessagg *op, tide_op c, uint32_t r, const tide_value *vals)
{
    const sa_row *w = &op->rows[r];
    const sa_sess *s = &op->sess[w->sess];
    tide_winagg_row row = {.op = c, .key = key_of(&w->k, w->klen), .key_len = w->klen,
                           .start = s->start, .end = s->end, .vals = vals, .n_vals = op->n_aggs};
    return op->cfg.emit(op->cfg.ctx, &row);
}

/* Keep src[0..n_aggs) as row r's previous results, STRING bytes copied
 * into the row's own buffer.  0 or TIDE_ENOMEM (prev unchanged). */
static int prev_store(tide_sessagg *op, uint32_t r, const tide_value *src)
{
    return tide_agg_results_keep(row_prev(op, r), src, op->n_aggs,
                                 op->has_str ? &op->prev_str[r] : NULL,
                                 op->has_str ? &op->prev_scap[r] : NULL);
}

/* One firing of row r (early, on time or late): nothing when it was
 * emitted before and did not change. */
static int row_fire(tide_sessagg *op, uint32_t r)
{
    sa_row *w = &op->rows[r];
    bool emitted = w->flags & R_EMITTED;
    if (emitted && !(w->flags & R_DIRTY))
        return 0;
    int rc = tide_agg_slots_result(op->agg, op->agg_off, op->n_aggs, row_acc(op, r), op->out,
                                   NULL);
    if (rc)
        return rc;
    tide_value *prev = row_prev(op, r);
    w->flags &= ~(uint32_t)R_DIRTY;
    w->since_fire = 0;
    if (emitted && prev && tide_agg_results_same(prev, op->out, op->n_aggs))
        return 0;
    tide_op ops[2];
    int n = tide_trig_firing_ops(op->cfg.mode, emitted, ops);
    for (int i = 0; i < n; i++)
        if ((rc = emit_row(op, ops[i], r, ops[i] == TIDE_OP_UPDATE_BEFORE ? prev : op->out)))
            return rc;
    if (!emitted) {
        w->flags |= R_EMITTED;
        op->sess[w->sess].nemitted++;
    }
    if (prev && (rc = prev_store(op, r, op->out)))
        return rc;
    if (op->cfg.mode == TIDE_TRIG_DISCARDING)
        acc_reset(op, r);
    return 0;
}

static int cmp_fire(const void *pa, const void *pb)
{
    const sa_fire *a = pa, *b = pb;
    if (a->end != b->end)
        return a->end < b->end ? -1 : 1;
    if (a->start != b->start)
        return a->start < b->start ? -1 : 1;
    uint32_t n = a->klen < b->klen ? a->klen : b->klen;
    int c = n ? memcmp(a->key, b->key, n) : 0;
    if (c)
        return c;
    return (a->klen > b->klen) - (a->klen < b->klen);
}

static int fire_add(tide_sessagg *op, size_t *n, uint32_t r)
{
    if (tide_array_grow((void **)&op->fire, &op->fire_cap, *n + 1, sizeof *op->fire))
        return TIDE_ENOMEM;
    const sa_row *w = &op->rows[r];
    const sa_sess *s = &op->sess[w->sess];
    op->fire[(*n)++] = (sa_fire){s->end, s->start, key_of(&w->k, w->klen), w->klen, r};
    return 0;
}

/* Add every row of session s to the round (with `emitted` set: only the
 * rows emitted before). */
static int fire_add_sess(tide_sessagg *op, size_t *n, uint32_t s, bool emitted)
{
    for (uint32_t r = op->sess[s].rows; r != NONE; r = op->rows[r].next) {
        if (emitted && !(op->rows[r].flags & R_EMITTED))
            continue;
        int rc = fire_add(op, n, r);
        if (rc)
            return rc;
    }
    return 0;
}

/* Session s fired on time: wait for cleanup, or free it now. */
static int sess_done(tide_sessagg *op, uint32_t s)
{
    sa_sess *x = &op->sess[s];
    x->flags |= S_DONE;
    x->gen++;
    int64_t cleanup = tide_trig_cleanup_time(x->end, op->cfg.allowed_lateness);
    if (op->wm >= cleanup) {
        sess_free(op, s);
        return 0;
    }
    return heap_push(op, cleanup, s);
}

/* Fire the rows of sessions due[0, nd) in (end, start, key) order, then
 * mark each of them done. */
static int fire_sessions(tide_sessagg *op, const uint32_t *due, size_t nd)
{
    size_t n = 0;
    int rc = 0;
    for (size_t i = 0; i < nd && !rc; i++)
        rc = fire_add_sess(op, &n, due[i], false);
    if (rc)
        return rc;
    if (n > 1)
        qsort(op->fire, n, sizeof *op->fire, cmp_fire);
    for (size_t i = 0; i < n && !rc; i++)
        rc = row_fire(op, op->fire[i].row);
    for (size_t i = 0; i < nd && !rc; i++)
        rc = sess_done(op, due[i]);
    return rc;
}

/* -D for the rows of session s emitted with its current bounds, in key
 * order, and forget that they were emitted. */
static int sess_retract(tide_sessagg *op, uint32_t s)
{
    if (op->sess[s].nemitted == 0)
        return 0;
    size_t n = 0;
    int rc = 0;
    if (op->cfg.mode != TIDE_TRIG_DISCARDING) {
        if ((rc = fire_add_sess(op, &n, s, true)))
            return rc;
        if (n > 1)
            qsort(op->fire, n, sizeof *op->fire, cmp_fire);
        for (size_t i = 0; i < n && !rc; i++)
            rc = emit_row(op, TIDE_OP_DELETE, op->fire[i].row, row_prev(op, op->fire[i].row));
        if (rc)
            return rc;
    }
    /* every row of the new bounds is a new row: emitted on the next firing */
    for (uint32_t r = op->sess[s].rows; r != NONE; r = op->rows[r].next)
        op->rows[r].flags = (op->rows[r].flags & ~(uint32_t)R_EMITTED) | R_DIRTY;
    op->sess[s].nemitted = 0;
    return 0;
}

static int dirty_add(tide_sessagg *op, uint32_t r)
{
    sa_row *w = &op->rows[r];
    if (op->cfg.early.every_ms <= 0 || (w->flags & R_IN_DLIST))
        return 0;
    if (tide_array_grow((void **)&op->dirty, &op->dirty_cap, op->dirty_len + 1, sizeof *op->dirty))
        return TIDE_ENOMEM;
    op->dirty[op->dirty_len++] = (sa_ref){r, w->gen};
    w->flags |= R_IN_DLIST;
    return 0;
}

/* Move the rows of session `from` into session `to` (merging the states of
 * keys both have), then release `from`. */
static int sess_absorb(tide_sessagg *op, uint32_t to, uint32_t from)
{
    int rc = 0;
    for (uint32_t r = op->sess[from].rows; r != NONE;) {
        uint32_t next = op->rows[r].next;
        sa_row *w = &op->rows[r];
        uint32_t t = row_find(op, to, key_of(&w->k, w->klen), w->klen, w->hash);
        if (t != NONE) {
            unsigned char *a = row_acc(op, t), *b = row_acc(op, r);
            for (size_t i = 0; i < op->n_aggs && !rc; i++)
                rc = tide_agg_merge(&op->agg[i], a + op->agg_off[i], b + op->agg_off[i], NULL);
            if (rc)
                return rc;
            uint64_t sf = (uint64_t)op->rows[t].since_fire + w->since_fire;
            op->rows[t].since_fire = sf > UINT32_MAX ? UINT32_MAX : (uint32_t)sf;
            op->rows[t].flags |= w->flags & R_DIRTY;
            if ((w->flags & R_IN_DLIST) && (rc = dirty_add(op, t)))
                return rc;
            op->sess[from].rows = next; /* keep the list valid if a later step fails */
            row_release(op, r);
        } else {
            tab_del(&op->rslots, row_h32(w->hash, from), r);
            w->sess = to;
            tab_put(&op->rslots, row_h32(w->hash, to), r);
            op->sess[from].rows = next;
            w->next = op->sess[to].rows;
            op->sess[to].rows = r;
            op->sess[to].nrows++;
        }
        op->sess[from].nrows--;
        r = next;
    }
    part_del_sess(op, from);
    sess_release(op, from);
    return 0;
}

/* ---- create / free --------------------------------------------------------- */

int tide_sessagg_create(const tide_winagg_config *cfg, tide_sessagg **out, tide_err *e)
{
    *out = NULL;
    int rc = tide_win_spec_check(&cfg->window, e);
    if (rc)
        return rc;
    if (cfg->window.kind != TIDE_WIN_SESSION)
        return tide_err_set(e, TIDE_EINVAL, "session aggregate: the window must be SESSION, not %s",
                            tide_win_kind_name(cfg->window.kind));
    if ((rc = tide_winagg_config_check(cfg, "session aggregate", e)))
        return rc;
    tide_sessagg *op = calloc(1, sizeof *op);
    if (!op)
        return tide_err_set(e, TIDE_ENOMEM, "session aggregate: create");
    op->cfg = *cfg;
    op->n_aggs = cfg->n_aggs;
    op->wm = TIDE_TS_MIN;
    op->parts_free = op->sess_free = op->rows_free = NONE;
    op->keep_prev = cfg->mode != TIDE_TRIG_DISCARDING;
    op->has_str = tide_agg_calls_borrow(cfg->aggs, cfg->n_aggs);
    tide_trig_clock_init(&op->clock, cfg->early.every_ms);
    op->aggs = malloc(op->n_aggs * sizeof *op->aggs);
    op->agg = calloc(op->n_aggs, sizeof *op->agg);
    op->agg_off = calloc(op->n_aggs, sizeof *op->agg_off);
    op->out = calloc(op->n_aggs, sizeof *op->out);
    if (!op->aggs || !op->agg || !op->agg_off || !op->out)
        goto nomem;
    memcpy(op->aggs, cfg->aggs, op->n_aggs * sizeof *op->aggs);
    op->cfg.aggs = op->aggs;
    if ((rc = tide_agg_bind_calls(op->aggs, op->n_aggs, 0, op->agg, op->agg_off, &op->acc_stride,
                                  e)))
        goto failed;
    for (size_t i = 0; i < op->n_aggs; i++)
        op->has_inputs |= op->aggs[i].kind != TIDE_AGG_COUNT_STAR;
    if (!op->acc_stride)
        op->acc_stride = 8;
    uint32_t cap = 64;
    while (cap < 0x40000000u && (size_t)cap < cfg->capacity_hint * 2)
        cap *= 2;
    if (tab_resize(&op->pslots, 64) || tab_resize(&op->rslots, cap))
        goto nomem;
    *out = op;
    return 0;
nomem:
    rc = tide_err_set(e, TIDE_ENOMEM, "session aggregate: create");
failed:
    tide_sessagg_free(op);
    return rc;
}

void tide_sessagg_free(tide_sessagg *op)
{
    if (!op)
        return;
    for (uint32_t r = 0; r < op->rows_hi; r++)
        if (op->rows[r].flags & R_LIVE) {
            acc_reset(op, r);
            key_drop(&op->rows[r].k, op->rows[r].klen);
        }
    for (uint32_t p = 0; p < op->parts_hi; p++) {
        if (op->parts[p].used)
            key_drop(&op->parts[p].k, op->parts[p].klen);
        free(op->parts[p].sess);
    }
    free(op->parts);
    free(op->pslots.s);
    free(op->sess);
    free(op->rows);
    free(op->accs);
    free(op->prev);
    for (size_t i = 0; op->prev_str && i < op->rows_cap; i++)
        free(op->prev_str[i]);
    free(op->prev_str);
    free(op->prev_scap);
    free(op->rslots.s);
    free(op->heap);
    free(op->dirty);
    free(op->due);
    free(op->fire);
    free(op->out);
    free(op->aggs);
    free(op->agg);
    free(op->agg_off);
    free(op);
}

/* ---- push ------------------------------------------------------------------ */

static int check_inputs(const tide_sessagg *op, const tide_value *in, tide_err *e)
{
    for (size_t i = 0; op->has_inputs && i < op->n_aggs; i++) {
        const tide_winagg_call *c = &op->aggs[i];
        if (c->kind == TIDE_AGG_COUNT_STAR)
            continue;
        const tide_value *v = &in[c->arg];
        bool ints = (v->type == TIDE_TYPE_BIGINT || v->type == TIDE_TYPE_TIMESTAMP) &&
                    (c->type == TIDE_TYPE_BIGINT || c->type == TIDE_TYPE_TIMESTAMP);
        if (v->is_null || v->type == TIDE_TYPE_NULL || v->type == c->type || ints)
            continue;
        return tide_err_set(e, TIDE_EINVAL, "session aggregate: input %u is %s, %s expects %s",
                            c->arg, tide_type_name(v->type), tide_agg_kind_name(c->kind),
                            tide_type_name(c->type));
    }
    return 0;
}

static int row_step(tide_sessagg *op, uint32_t r, const tide_value *in)
{
    unsigned char *a = row_acc(op, r);
    for (size_t i = 0; i < op->n_aggs; i++) {
        const tide_agg *g = &op->agg[i];
        void *st = a + op->agg_off[i];
        int rc;
        if (g->kind == TIDE_AGG_COUNT_STAR) {
            rc = tide_agg_step_i64(g, st, 0, NULL);
        } else {
            tide_value v = in[op->aggs[i].arg];
            if (v.is_null || v.type == TIDE_TYPE_NULL)
                continue;
            if (v.type == TIDE_TYPE_TIMESTAMP || v.type == TIDE_TYPE_BIGINT)
                v.type = g->in_type; /* BIGINT and TIMESTAMP are interchangeable */
            rc = tide_agg_step(g, st, &v, NULL);
        }
        if (rc)
            return rc;
    }
    sa_row *w = &op->rows[r];
    w->flags |= R_DIRTY;
    if (w->since_fire != UINT32_MAX)
        w->since_fire++;
    return 0;
}

/* The record's sessions: merge, step, fire as due.  *late when it belongs
 * to no session any more. */
static int push_record(tide_sessagg *op, const void *key, uint32_t len, uint32_t plen, int64_t ts,
                       const tide_value *in, bool *late)
{
    uint64_t ph = hash_bytes(key, plen);
    uint32_t pi = part_find(op, key, plen, ph);
    tide_win_range p = {ts, tide_wm_sat_add(ts, op->cfg.window.gap)}, m = p;
    uint32_t hit[2]; /* hit[0] the later session, hit[1] the one before it */
    size_t nh = 0, at = 0;
    if (pi != NONE) {
        const sa_part *pt = &op->parts[pi];
        size_t lo = 0, hi = pt->n; /* the first session starting after p.end */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (op->sess[pt->sess[mid]].start <= p.end)
                lo = mid + 1;
            else
                hi = mid;
        }
        at = lo;
        for (size_t k = lo; k > 0 && nh < 2; k--) {
            const sa_sess *x = &op->sess[pt->sess[k - 1]];
            if (!tide_win_intersects(p, (tide_win_range){x->start, x->end}))
                break;
            hit[nh++] = pt->sess[k - 1];
            m.start = x->start < m.start ? x->start : m.start;
            m.end = x->end > m.end ? x->end : m.end;
        }
    }
    if (tide_trig_place_record(m.end, op->cfg.allowed_lateness, op->wm) == TIDE_TRIG_DROPPED) {
        *late = true;
        return 0;
    }
    int rc;
    uint32_t s;
    if (nh == 0) {
        if (pi == NONE && (rc = part_insert(op, key, plen, ph, &pi)))
            return rc;
        if ((rc = sess_alloc(op, pi, m, &s)))
            goto undo_part;
        if ((rc = part_add_sess(op, pi, at, s)) ||
            (rc = heap_push(op, tide_trig_fire_time(m.end), s))) {
            if (op->parts[pi].n && op->parts[pi].sess[at] == s)
                part_del_sess(op, s);
            sess_release(op, s);
            goto undo_part;
        }
    } else {
        s = hit[0];
        bool changed = nh == 2 || op->sess[s].start != m.start || op->sess[s].end != m.end;
        if (changed) {
            /* the superseded rows go away, earlier session first */
            if (nh == 2 && (rc = sess_retract(op, hit[1])))
                return rc;
            if ((rc = sess_retract(op, hit[0])))
                return rc;
            if (nh == 2) {
                /* the session with more rows takes the other's */
                uint32_t from = hit[1];
                if (op->sess[hit[1]].nrows > op->sess[hit[0]].nrows) {
                    s = hit[1];
                    from = hit[0];
                }
                if (op->sess[from].flags & S_DONE)
                    op->sess[s].flags |= S_DONE; /* reopened below either way */
                if ((rc = sess_absorb(op, s, from)))
                    return rc;
            }
            sa_sess *x = &op->sess[s];
            x->start = m.start;
            x->end = m.end;
            if (x->flags & S_DONE) {
                /* reopened by a late record: a new action at its new end */
                x->flags &= ~(uint32_t)S_DONE;
                x->gen++;
                if ((rc = heap_push(op, tide_trig_fire_time(m.end), s)))
                    return rc;
            }
            /* else its action at the old end (earlier) stays and is moved
             * when it comes due */
        }
    }
    uint64_t kh = hash_bytes(key, len);
    uint32_t r = row_find(op, s, key, len, kh);
    if (r == NONE && (rc = row_alloc(op, s, key, len, kh, &r))) {
        if (op->sess[s].nrows == 0)
            sess_free(op, s);
        return rc;
    }
    if ((rc = row_step(op, r, in)))
        return rc;
    const sa_sess *x = &op->sess[s];
    if (tide_trig_due(x->end, op->wm)) {
        if (x->flags & S_DONE)
            return row_fire(op, r); /* a late firing of its row */
        return fire_sessions(op, &s, 1); /* created, or reopened, after its end passed */
    }
    if (op->cfg.early.every_n && op->rows[r].since_fire >= op->cfg.early.every_n)
        return row_fire(op, r);
    return dirty_add(op, r);
undo_part:
    if (op->parts[pi].n == 0)
        part_release(op, pi);
    return rc;
}

static int early_round(tide_sessagg *op)
{
    size_t n = 0;
    int rc = 0;
    for (size_t i = 0; i < op->dirty_len; i++) {
        sa_ref x = op->dirty[i];
        sa_row *w = &op->rows[x.idx];
        if (w->gen != x.gen || !(w->flags & R_IN_DLIST))
            continue;
        w->flags &= ~(uint32_t)R_IN_DLIST;
        if (!(w->flags & R_DIRTY) || (op->sess[w->sess].flags & S_DONE))
            continue;
        if ((rc = fire_add(op, &n, x.idx)))
            return rc;
    }
    op->dirty_len = 0;
    if (n > 1)
        qsort(op->fire, n, sizeof *op->fire, cmp_fire);
    for (size_t i = 0; i < n && !rc; i++)
        rc = row_fire(op, op->fire[i].row);
    return rc;
}

static int maybe_early_round(tide_sessagg *op, int64_t proc_now)
{
    if (op->cfg.early.every_ms > 0 && tide_trig_clock_due(&op->clock, proc_now))
        return early_round(op);
    return 0;
}

static int push_one(tide_sessagg *op, const void *key, uint32_t len, uint32_t plen, int64_t ts,
                    const tide_value *in, int64_t proc_now, tide_err *e)
{
    if (op->failed)
        return tide_err_set(e, TIDE_EFAILED, "session aggregate: failed earlier (%s)",
                            tide_err_name(op->failed));
    if (plen > len)
        return tide_err_set(e, TIDE_EINVAL,
                            "session aggregate: partition key of %u bytes in a key of %u", plen,
                            len);
    int rc = check_inputs(op, in, e);
    if (rc)
        return rc;
    bool late = false;
    if ((rc = push_record(op, key, len, plen, ts, in, &late)))
        return fail(op, e, rc, rc_what(rc));
    if (late) {
        op->late_count++;
        if (op->cfg.late &&
            (rc = op->cfg.late(op->cfg.ctx, key, len, ts, in, op->cfg.n_inputs)))
            return fail(op, e, rc, "late callback failed");
    }
    if ((rc = maybe_early_round(op, proc_now)))
        return fail(op, e, rc, rc_what(rc));
    return 0;
}

int tide_sessagg_push(tide_sessagg *op, const void *key, uint32_t key_len, uint32_t part_len,
                      int64_t ts, const tide_value *in, int64_t proc_now, tide_err *e)
{
    return push_one(op, key, key_len, part_len, ts, in, proc_now, e);
}

int tide_sessagg_push_batch(tide_sessagg *op, size_t n, const void *const *keys,
                            const uint32_t *key_lens, const uint32_t *part_lens,
                            const int64_t *ts, const tide_value *in, int64_t proc_now,
                            tide_err *e)
{
    size_t stride = op->cfg.n_inputs;
    for (size_t i = 0; i < n; i++) {
        int rc = push_one(op, keys[i], key_lens[i], part_lens ? part_lens[i] : 0, ts[i],
                          in ? in + i * stride : NULL, proc_now, e);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- watermark ------------------------------------------------------------- */

int tide_sessagg_advance_watermark(tide_sessagg *op, int64_t wm, int64_t proc_now, tide_err *e)
{
    if (op->failed)
        return tide_err_set(e, TIDE_EFAILED, "session aggregate: failed earlier (%s)",
                            tide_err_name(op->failed));
    int rc = 0;
    if (wm > op->wm) {
        op->wm = wm;
        size_t nd = 0;
        while (!rc && op->heap_len && op->heap[0].time <= wm) {
            sa_heap x = heap_pop(op);
            sa_sess *s = &op->sess[x.sess];
            if (s->gen != x.gen || !(s->flags & S_LIVE))
                continue;
            if (!(s->flags & S_DONE)) {
                if (!tide_trig_due(s->end, wm)) /* extended since: due later */
                    rc = heap_push(op, tide_trig_fire_time(s->end), x.sess);
                else if (!(rc = tide_array_grow((void **)&op->due, &op->due_cap, nd + 1,
                                                sizeof *op->due)))
                    op->due[nd++] = x.sess;
            } else if (tide_trig_expired(s->end, op->cfg.allowed_lateness, wm)) {
                sess_free(op, x.sess);
            }
        }
        if (!rc)
            rc = fire_sessions(op, op->due, nd);
        if (rc)
            return fail(op, e, rc, rc_what(rc));
    }
    if ((rc = maybe_early_round(op, proc_now)))
        return fail(op, e, rc, rc_what(rc));
    return 0;
}

int tide_sessagg_tick(tide_sessagg *op, int64_t proc_now, tide_err *e)
{
    return tide_sessagg_advance_watermark(op, op->wm, proc_now, e);
}

int64_t tide_sessagg_watermark(const tide_sessagg *op) { return op->wm; }
uint64_t tide_sessagg_late_count(const tide_sessagg *op) { return op->late_count; }
size_t tide_sessagg_live_sessions(const tide_sessagg *op) { return op->n_sess; }
size_t tide_sessagg_live_rows(const tide_sessagg *op) { return op->n_rows; }
size_t tide_sessagg_live_partitions(const tide_sessagg *op) { return op->n_parts; }

/* ---- snapshot / restore ---------------------------------------------------
 *
 * The snapshot holds what decides future output and nothing of the layout
 * (see sessagg.h).  Restore rebuilds the rest: partitions and their sorted
 * session arrays (sessions arrive in (partition, start) order, so each is
 * appended), the row index, one heap action per session (an open one at its
 * fire time, a fired one at its cleanup time) and the early-firing list.
 * Row lists, indices and generations are not state: firings sort their
 * rows, and a merge's direction depends on row counts only. */

#define SA_SNAP_KIND "sessagg"
#define SA_SNAP_VERSION 1
#define SA_SNAP_ROW_FLAGS ((uint32_t)(R_EMITTED | R_DIRTY | R_IN_DLIST))

static int bytes_cmp(const unsigned char *a, uint32_t al, const unsigned char *b, uint32_t bl)
{
    uint32_t n = al < bl ? al : bl;
    int c = n ? memcmp(a, b, n) : 0;
    if (c)
        return c;
    return (al > bl) - (al < bl);
}

static int cmp_snap_sess(const void *pa, const void *pb, void *ctx)
{
    const tide_sessagg *op = ctx;
    const sa_sess *a = &op->sess[*(const uint32_t *)pa], *b = &op->sess[*(const uint32_t *)pb];
    const sa_part *x = &op->parts[a->part], *y = &op->parts[b->part];
    int c = bytes_cmp(key_of(&x->k, x->klen), x->klen, key_of(&y->k, y->klen), y->klen);
    if (c)
        return c;
    return (a->start > b->start) - (a->start < b->start);
}

static int cmp_snap_row(const void *pa, const void *pb, void *ctx)
{
    const tide_sessagg *op = ctx;
    const sa_row *a = &op->rows[*(const uint32_t *)pa], *b = &op->rows[*(const uint32_t *)pb];
    return bytes_cmp(key_of(&a->k, a->klen), a->klen, key_of(&b->k, b->klen), b->klen);
}

int tide_sessagg_snapshot(const tide_sessagg *op, tide_buf *out, tide_err *e)
{
    if (op->failed)
        return tide_err_set(e, TIDE_EFAILED,
                            "session aggregate: no snapshot of a failed operator (%s)",
                            tide_err_name(op->failed));
    size_t ns = op->n_sess, nr = op->n_rows;
    uint32_t *ss = malloc((ns ? ns : 1) * sizeof *ss), *rs = malloc((nr ? nr : 1) * sizeof *rs);
    if (!ss || !rs) {
        free(ss), free(rs);
        return tide_err_set(e, TIDE_ENOMEM, "session aggregate: snapshot: out of memory");
    }
    size_t n = 0;
    for (uint32_t i = 0; i < op->sess_hi && n < ns; i++)
        if (op->sess[i].flags & S_LIVE)
            ss[n++] = i;
    /* (the keys are unique: partition and start, key bytes in a session) */
    qsort_r(ss, n, sizeof *ss, cmp_snap_sess, (void *)op);
    tide_snap_w w;
    tide_snap_begin(&w, out, SA_SNAP_KIND, SA_SNAP_VERSION);
    tide_winagg_snap_put_head(&op->cfg, op->wm, op->late_count, &op->clock, &w);
    tide_snap_put_varint(&w, n);
    for (size_t k = 0; k < n; k++) {
        const sa_sess *x = &op->sess[ss[k]];
        const sa_part *p = &op->parts[x->part];
        tide_snap_put_bytes(&w, key_of(&p->k, p->klen), p->klen);
        tide_snap_put_i64(&w, x->start);
        tide_snap_put_i64(&w, x->end);
        tide_snap_put_u8(&w, (uint8_t)(x->flags & S_DONE));
        size_t m = 0;
        for (uint32_t r = x->rows; r != NONE; r = op->rows[r].next)
            rs[m++] = r;
        qsort_r(rs, m, sizeof *rs, cmp_snap_row, (void *)op);
        tide_snap_put_varint(&w, m);
        for (size_t j = 0; j < m; j++) {
            const sa_row *row = &op->rows[rs[j]];
            uint32_t flags = row->flags & SA_SNAP_ROW_FLAGS;
            tide_snap_put_bytes(&w, key_of(&row->k, row->klen), row->klen);
            tide_snap_put_u8(&w, (uint8_t)flags);
            tide_snap_put_varint(&w, row->since_fire);
            const unsigned char *a = row_acc(op, rs[j]);
            for (size_t i = 0; i < op->n_aggs; i++)
                tide_agg_snap_put(&op->agg[i], a + op->agg_off[i], &w);
            const tide_value *prev = row_prev(op, rs[j]);
            if (prev && (flags & R_EMITTED))
                tide_agg_results_snap_put(prev, op->n_aggs, &w);
        }
    }
    free(ss), free(rs);
    return tide_snap_end(&w, e);
}

/* Back to the state of a freshly created operator (a failed restore). */
static void snap_reset(tide_sessagg *op)
{
    for (uint32_t s = 0; s < op->sess_hi; s++)
        if (op->sess[s].flags & S_LIVE)
            sess_free(op, s);
    op->heap_len = 0;
    op->dirty_len = 0;
    op->wm = TIDE_TS_MIN;
    op->late_count = 0;
    op->failed = 0;
    tide_trig_clock_init(&op->clock, op->cfg.early.every_ms);
}

/* One session of the snapshot: its partition (found or created), its place
 * after `*last` (the previous session read: same partition means a later,
 * not touching start), its rows.  0, TIDE_ENOMEM, or a failed reader. */
static int snap_get_sess(tide_sessagg *op, tide_snap_r *r, uint32_t *last, tide_err *e)
{
    size_t plen;
    const unsigned char *pk = tide_snap_get_bytes(r, &plen);
    int64_t start = tide_snap_get_i64(r), end = tide_snap_get_i64(r);
    uint32_t flags = tide_snap_get_u8(r);
    uint64_t nrows = tide_snap_get_varint(r);
    if (plen > UINT32_MAX || start > end || (flags & ~(uint32_t)S_DONE) || nrows == 0 ||
        nrows > tide_snap_remaining(r))
        tide_snap_fail(r);
    if (tide_snap_failed(r))
        return 0;
    if (!pk)
        pk = (const unsigned char *)"";
    if (*last != NONE) {
        const sa_sess *l = &op->sess[*last];
        const sa_part *lp = &op->parts[l->part];
        int c = bytes_cmp(key_of(&lp->k, lp->klen), lp->klen, pk, (uint32_t)plen);
        if (c > 0 || (c == 0 && (l->end >= start || l->start >= start))) {
            tide_snap_fail(r); /* out of order, or touching its predecessor */
            return 0;
        }
    }
    uint64_t ph = hash_bytes(pk, (uint32_t)plen);
    uint32_t pi = part_find(op, pk, (uint32_t)plen, ph), s;
    if (pi == NONE && part_insert(op, pk, (uint32_t)plen, ph, &pi))
        goto nomem;
    if (sess_alloc(op, pi, (tide_win_range){start, end}, &s)) {
        if (op->parts[pi].n == 0)
            part_release(op, pi);
        goto nomem;
    }
    if (part_add_sess(op, pi, op->parts[pi].n, s)) {
        sess_release(op, s);
        if (op->parts[pi].n == 0)
            part_release(op, pi);
        goto nomem;
    }
    op->sess[s].flags |= flags;
    *last = s;
    const unsigned char *prev_key = NULL;
    size_t prev_len = 0;
    for (uint64_t k = 0; k < nrows && !tide_snap_failed(r); k++) {
        size_t klen;
        const unsigned char *key = tide_snap_get_bytes(r, &klen);
        uint32_t rf = tide_snap_get_u8(r);
        uint64_t since_fire = tide_snap_get_varint(r);
        if (!key)
            key = (const unsigned char *)"";
        if (klen > UINT32_MAX || klen < plen || (plen && memcmp(key, pk, plen) != 0) ||
            (rf & ~SA_SNAP_ROW_FLAGS) || since_fire > UINT32_MAX ||
            ((rf & R_IN_DLIST) && op->cfg.early.every_ms <= 0) ||
            (k > 0 && bytes_cmp(prev_key, (uint32_t)prev_len, key, (uint32_t)klen) >= 0))
            tide_snap_fail(r);
        if (tide_snap_failed(r))
            return 0;
        prev_key = key;
        prev_len = klen;
        uint32_t row;
        if (row_alloc(op, s, key, (uint32_t)klen, hash_bytes(key, (uint32_t)klen), &row))
            goto nomem;
        sa_row *x = &op->rows[row];
        x->flags = R_LIVE | rf;
        x->since_fire = (uint32_t)since_fire;
        unsigned char *a = row_acc(op, row);
        for (size_t i = 0; i < op->n_aggs; i++) {
            int rc = tide_agg_snap_get(&op->agg[i], a + op->agg_off[i], r, e);
            if (rc)
                return rc;
        }
        tide_value *prev = row_prev(op, row);
        if (prev && (rf & R_EMITTED)) {
            tide_agg_results_snap_get(op->agg, op->n_aggs, r, op->out); /* borrowed, so */
            int rc = prev_store(op, row, op->out); /* copied into the row's buffer */
            if (rc)
                return tide_err_set(e, rc, "session aggregate: restore: out of memory");
        }
        if (rf & R_EMITTED)
            op->sess[s].nemitted++;
        if ((rf & R_IN_DLIST) &&
            tide_array_grow((void **)&op->dirty, &op->dirty_cap, op->dirty_len + 1,
                            sizeof *op->dirty) == 0)
            op->dirty[op->dirty_len++] = (sa_ref){row, x->gen};
        else if (rf & R_IN_DLIST)
            goto nomem;
    }
    if (tide_snap_failed(r))
        return 0;
    const sa_sess *x = &op->sess[s];
    int64_t t = x->flags & S_DONE ? tide_trig_cleanup_time(x->end, op->cfg.allowed_lateness)
                                  : tide_trig_fire_time(x->end);
    if (heap_push(op, t, s))
        goto nomem;
    return 0;
nomem:
    return tide_err_set(e, TIDE_ENOMEM, "session aggregate: restore: out of memory");
}

int tide_sessagg_restore(tide_sessagg *op, const void *buf, size_t len, tide_err *e)
{
    if (op->failed || op->n_sess || op->wm != TIDE_TS_MIN || op->late_count ||
        op->clock.next != TIDE_TS_MIN)
        return tide_err_set(e, TIDE_EINVAL,
                            "session aggregate: restore needs a freshly created operator");
    tide_snap_r r;
    int rc = tide_snap_open(&r, buf, len, SA_SNAP_KIND, SA_SNAP_VERSION, NULL, e);
    if (rc)
        return rc;
    /* The config first (refused: nothing changed); from here on the operator
     * changes, and any failure resets it. */
    if ((rc = tide_winagg_snap_get_head(&op->cfg, &r, &op->wm, &op->late_count, &op->clock, e)))
        return rc;
    uint64_t n = tide_snap_get_varint(&r);
    if (n > tide_snap_remaining(&r))
        tide_snap_fail(&r);
    uint32_t last = NONE;
    for (uint64_t k = 0; k < n && !rc && !tide_snap_failed(&r); k++)
        rc = snap_get_sess(op, &r, &last, e);
    if (!rc)
        rc = tide_snap_close(&r, e);
    if (rc)
        snap_reset(op);
    return rc;
}
