/*
 * cumagg.c - CUMULATE and HOP by shared slices (see cumagg.h).
 *
 * States live in a dense array (free list), found through a chained hash
 * table on (key bytes, s0).  Each state has one scheduled firing time
 * (`due`): F + step once it holds records, else the end of its earliest
 * slice.  A min-heap holds (time, state, generation) entries; entries whose
 * time is not the state's `due` (rescheduled earlier) or whose generation
 * is old (state freed) are skipped when popped.  Advancing pops every entry
 * due, one step per pop, grouping the states that fire at the same end so
 * that a group is emitted sorted by (start, key bytes).
 *
 * HOP states (one per key, s0 = 0) keep their slices sorted by end in one
 * array: [0, nfront) front (suffix merges), [nfront, nback) back (own
 * records; `run` is their merge), [nback, nslices) pending (end after the
 * last fired window `frontier`, not part of any fired window yet).  A
 * firing at E first moves the pending slices ending by E to the back.
 */
#include "exec/cumagg.h"

#include "base/buf.h"
#include "data/key.h"
#include "tide.h"

#include <stdlib.h>
#include <string.h>

#define NONE UINT32_MAX

typedef struct slice {
    int64_t end; /* the window end this slice's records first count for */
    uint64_t n;
    unsigned char *acc;
} slice;

typedef struct cstate {
    unsigned char *key; /* encoded key bytes (malloc'd; NULL when empty) */
    uint32_t key_len;
    uint32_t hnext; /* hash chain, or free list */
    uint64_t hash;
    uint32_t gen;
    bool live;
    int64_t s0, frontier, due; /* HOP: frontier = the last fired end */
    uint64_t nrun;
    unsigned char *run; /* running accumulators (HOP: the back's merge) */
    slice *slices;
    size_t nslices, capslices;
    size_t nfront, nback; /* HOP: see above */
} cstate;

typedef struct hent {
    int64_t t;
    uint32_t st, gen;
} hent;

struct tide_cumagg {
    bool hop;
    int64_t step, max; /* HOP: slide, size */
    int64_t off;       /* window starts are off + k * (HOP: step, CUMULATE: max); window.h */
    tide_agg *aggs;
    size_t naggs, acc_size;
    size_t *acc_off;
    tide_type *ktypes;
    size_t nkeys;
    /* The largest window end that has fired: windows fire when W >= end - 1
     * (time/trigger.h), so this is W + 1, and "end <= wm" reads "fired"
     * everywhere below.  TIDE_TS_MIN before any watermark, TIDE_TS_MAX at
     * end of input. */
    int64_t wm;
    uint64_t late;
    size_t live;

    cstate *st;
    size_t nst, capst;
    uint32_t free_head;
    uint32_t *table; /* heads of chains */
    size_t tcap;     /* power of two */

    hent *heap;
    size_t nheap, capheap;

    tide_buf kbuf;     /* scratch: the pushed record's key (data/key.h) */
    tide_value *kvals; /* decoded keys for an emitted row */
    tide_arena karena; /* their strings that hold 0x00 bytes */
    tide_value *vals;  /* results for an emitted row */
    uint32_t *group;   /* states firing at one end */
    size_t ngroup, capgroup;
    struct gref *grefs; /* the group, sorted */
    size_t capgrefs;
    unsigned char *scratch; /* HOP: a window's merge when no slice can take it */
};

/* ---- keys ---- */

static int key_encode(tide_buf *b, const tide_value *k, size_t n)
{
    tide_buf_reset(b);
    return tide_key_append_values(b, k, NULL, n);
}

/* The key of an emitted row into c->kvals (strings borrow the key bytes or
 * c->karena, until the next row). */
static int key_decode(tide_cumagg *c, const cstate *s, tide_err *e)
{
    tide_arena_reset(&c->karena);
    return tide_key_decode(s->key, s->key_len, c->ktypes, c->nkeys, &c->karena, c->kvals, e);
}

/* ---- heap ---- */

static bool hless(hent a, hent b)
{
    return a.t < b.t || (a.t == b.t && a.st < b.st);
}

static int heap_push(tide_cumagg *c, int64_t t, uint32_t st, tide_err *e)
{
    if (tide_array_grow((void **)&c->heap, &c->capheap, c->nheap + 1, sizeof *c->heap))
        return tide_err_set(e, TIDE_ENOMEM, "cumulate: out of memory");
    size_t i = c->nheap++;
    hent x = {t, st, c->st[st].gen};
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!hless(x, c->heap[p]))
            break;
        c->heap[i] = c->heap[p];
        i = p;
    }
    c->heap[i] = x;
    return 0;
}

static hent heap_pop(tide_cumagg *c)
{
    hent top = c->heap[0];
    hent x = c->heap[--c->nheap];
    size_t i = 0, n = c->nheap;
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        hent best = x;
        if (l < n && hless(c->heap[l], best)) {
            m = l;
            best = c->heap[l];
        }
        if (l + 1 < n && hless(c->heap[l + 1], best))
            m = l + 1;
        if (m == i)
            break;
        c->heap[i] = c->heap[m];
        i = m;
    }
    if (n > 0)
        c->heap[i] = x;
    return top;
}

/* Schedule state i at t when earlier than its current time. */
static int schedule(tide_cumagg *c, uint32_t i, int64_t t, tide_err *e)
{
    if (c->st[i].due <= t)
        return 0;
    c->st[i].due = t;
    return heap_push(c, t, i, e);
}

/* ---- states ---- */

static void acc_init(const tide_cumagg *c, unsigned char *acc)
{
    for (size_t a = 0; a < c->naggs; a++)
        tide_agg_init(&c->aggs[a], acc + c->acc_off[a]);
}

static void acc_free(const tide_cumagg *c, unsigned char *acc)
{
    if (!acc)
        return;
    for (size_t a = 0; a < c->naggs; a++)
        tide_agg_free(&c->aggs[a], acc + c->acc_off[a]);
    free(acc);
}

static unsigned char *acc_new(const tide_cumagg *c)
{
    unsigned char *acc = malloc(c->acc_size ? c->acc_size : 8);
    if (acc)
        acc_init(c, acc);
    return acc;
}

static uint64_t state_hash(const void *key, size_t len, int64_t s0)
{
    return tide_key_hash(key, len, (uint64_t)s0 * 0x9e3779b97f4a7c15ull + 1);
}

static int table_grow(tide_cumagg *c, tide_err *e)
{
    size_t ncap = c->tcap ? c->tcap * 2 : 64;
    uint32_t *t = malloc(ncap * sizeof *t);
    if (!t)
        return tide_err_set(e, TIDE_ENOMEM, "cumulate: out of memory");
    for (size_t i = 0; i < ncap; i++)
        t[i] = NONE;
    for (size_t i = 0; i < c->nst; i++) {
        cstate *s = &c->st[i];
        if (!s->live)
            continue;
        size_t h = s->hash & (ncap - 1);
        s->hnext = t[h];
        t[h] = (uint32_t)i;
    }
    free(c->table);
    c->table = t;
    c->tcap = ncap;
    return 0;
}

static int state_find(tide_cumagg *c, const unsigned char *key, uint32_t len, int64_t s0,
                      bool create, uint32_t *out, tide_err *e)
{
    uint64_t h = state_hash(key, len, s0);
    *out = NONE;
    if (c->tcap) {
        for (uint32_t i = c->table[h & (c->tcap - 1)]; i != NONE; i = c->st[i].hnext) {
            cstate *s = &c->st[i];
            if (s->hash == h && s->s0 == s0 && s->key_len == len &&
                (len == 0 || memcmp(s->key, key, len) == 0)) {
                *out = i;
                return 0;
            }
        }
    }
    if (!create)
        return 0;
    if ((c->live + 1) * 2 > c->tcap && table_grow(c, e))
        return TIDE_ENOMEM;
    uint32_t i;
    if (c->free_head != NONE) {
        i = c->free_head;
        c->free_head = c->st[i].hnext;
    } else {
        if (tide_array_grow((void **)&c->st, &c->capst, c->nst + 1, sizeof *c->st))
            return tide_err_set(e, TIDE_ENOMEM, "cumulate: out of memory");
        i = (uint32_t)c->nst++;
        c->st[i].gen = 0;
    }
    cstate *s = &c->st[i];
    uint32_t gen = s->gen + 1;
    memset(s, 0, sizeof *s);
    s->gen = gen;
    s->key_len = len;
    if (len && !(s->key = malloc(len)))
        goto oom;
    if (len)
        memcpy(s->key, key, len);
    if (!(s->run = acc_new(c)))
        goto oom;
    s->hash = h;
    s->s0 = s0;
    s->frontier = c->hop ? TIDE_TS_MIN : s0;
    s->due = TIDE_TS_MAX;
    s->live = true;
    size_t b = h & (c->tcap - 1);
    s->hnext = c->table[b];
    c->table[b] = i;
    c->live++;
    *out = i;
    return 0;
oom:
    free(s->key);
    s->key = NULL;
    s->hnext = c->free_head;
    c->free_head = i;
    return tide_err_set(e, TIDE_ENOMEM, "cumulate: out of memory");
}

static void state_free(tide_cumagg *c, uint32_t i)
{
    cstate *s = &c->st[i];
    size_t b = s->hash & (c->tcap - 1);
    uint32_t *pp = &c->table[b];
    while (*pp != i)
        pp = &c->st[*pp].hnext;
    *pp = s->hnext;
    free(s->key);
    acc_free(c, s->run);
    for (size_t k = 0; k < s->nslices; k++)
        acc_free(c, s->slices[k].acc);
    free(s->slices);
    uint32_t gen = s->gen + 1;
    memset(s, 0, sizeof *s);
    s->gen = gen;
    s->hnext = c->free_head;
    c->free_head = i;
    c->live--;
}

/* ---- API ---- */

bool tide_cumagg_supports(const tide_win_spec *win)
{
    return (win->kind == TIDE_WIN_CUMULATE || win->kind == TIDE_WIN_HOP) && win->slide > 0 &&
           win->size > 0 && win->size % win->slide == 0;
}

int tide_cumagg_create(tide_cumagg **out, const tide_win_spec *win, const tide_agg *aggs,
                       size_t n_aggs, const tide_type *key_types, size_t n_keys, tide_err *e)
{
    *out = NULL;
    if (!tide_cumagg_supports(win))
        return tide_err_set(e, TIDE_EINVAL,
                            "sliced window: CUMULATE or HOP with step/slide and max/size > 0 and "
                            "max/size a multiple of step/slide");
    tide_cumagg *c = calloc(1, sizeof *c);
    if (!c)
        return tide_err_set(e, TIDE_ENOMEM, "cumulate: out of memory");
    c->hop = win->kind == TIDE_WIN_HOP;
    c->step = win->slide;
    c->max = win->size;
    c->off = win->offset;
    c->naggs = n_aggs;
    c->nkeys = n_keys;
    c->wm = TIDE_TS_MIN;
    c->free_head = NONE;
    tide_arena_init(&c->karena, 4096);
    c->aggs = calloc(n_aggs + 1, sizeof *c->aggs);
    c->acc_off = calloc(n_aggs + 1, sizeof *c->acc_off);
    c->ktypes = calloc(n_keys + 1, sizeof *c->ktypes);
    c->kvals = calloc(n_keys + 1, sizeof *c->kvals);
    c->vals = calloc(n_aggs + 1, sizeof *c->vals);
    if (!c->aggs || !c->acc_off || !c->ktypes || !c->kvals || !c->vals) {
        tide_cumagg_free(c);
        return tide_err_set(e, TIDE_ENOMEM, "cumulate: out of memory");
    }
    for (size_t a = 0; a < n_aggs; a++) {
        c->aggs[a] = aggs[a];
        c->acc_off[a] = c->acc_size;
        c->acc_size += aggs[a].state_size;
    }
    if (n_keys)
        memcpy(c->ktypes, key_types, n_keys * sizeof *key_types);
    if (c->hop && !(c->scratch = acc_new(c))) {
        tide_cumagg_free(c);
        return tide_err_set(e, TIDE_ENOMEM, "cumulate: out of memory");
    }
    *out = c;
    return 0;
}

void tide_cumagg_free(tide_cumagg *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nst; i++)
        if (c->st[i].live)
            state_free(c, (uint32_t)i);
    acc_free(c, c->scratch);
    free(c->st);
    free(c->table);
    free(c->heap);
    free(c->aggs);
    free(c->acc_off);
    free(c->ktypes);
    free(c->kvals);
    free(c->vals);
    free(c->group);
    free(c->grefs);
    tide_buf_free(&c->kbuf);
    tide_arena_free(&c->karena);
    free(c);
}

static int acc_step(const tide_cumagg *c, unsigned char *acc, const tide_value *vals, tide_err *e)
{
    for (size_t a = 0; a < c->naggs; a++) {
        int rc = tide_agg_step(&c->aggs[a], acc + c->acc_off[a], &vals[a], e);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- HOP ---- */

static int64_t sat_add(int64_t a, int64_t b)
{
    if (b >= 0)
        return a > TIDE_TS_MAX - b ? TIDE_TS_MAX : a + b;
    return a < TIDE_TS_MIN - b ? TIDE_TS_MIN : a + b;
}

static int acc_merge(const tide_cumagg *c, unsigned char *dst, const unsigned char *src,
                     tide_err *e)
{
    for (size_t a = 0; a < c->naggs; a++) {
        int rc = tide_agg_merge(&c->aggs[a], dst + c->acc_off[a], src + c->acc_off[a], e);
        if (rc)
            return rc;
    }
    return 0;
}

/* Empty an accumulator (it stays initialised). */
static void acc_reset(const tide_cumagg *c, unsigned char *acc)
{
    for (size_t a = 0; a < c->naggs; a++)
        tide_agg_free(&c->aggs[a], acc + c->acc_off[a]);
}

/* The front is empty: turn the back into suffix merges (newest first). */
static int hop_flip(tide_cumagg *c, cstate *s, tide_err *e)
{
    for (size_t k = s->nback; k-- > s->nfront + 1;) {
        int rc = acc_merge(c, s->slices[k - 1].acc, s->slices[k].acc, e);
        if (rc)
            return rc;
    }
    s->nfront = s->nback;
    acc_reset(c, s->run);
    return 0;
}

/* Free the front and back slices ending at or before `bound`. */
static int hop_evict(tide_cumagg *c, cstate *s, int64_t bound, tide_err *e)
{
    while (s->nback > 0 && s->slices[0].end <= bound) {
        int rc;
        if (s->nfront == 0 && (rc = hop_flip(c, s, e)) != 0)
            return rc;
        acc_free(c, s->slices[0].acc);
        memmove(s->slices, s->slices + 1, (s->nslices - 1) * sizeof *s->slices);
        s->nslices--;
        s->nfront--;
        s->nback--;
    }
    return 0;
}

/* Schedule state i's next window after its frontier, or free it. */
static int hop_next(tide_cumagg *c, uint32_t i, tide_err *e)
{
    cstate *s = &c->st[i];
    if (s->nslices == 0 || s->frontier == TIDE_TS_MAX) {
        state_free(c, i);
        return 0;
    }
    int64_t t = sat_add(s->frontier, c->step);
    if (s->nback == 0 && s->slices[0].end > t)
        t = s->slices[0].end; /* the first pending slice's first window */
    return schedule(c, i, t, e);
}

static int hop_push(tide_cumagg *c, const tide_value *keys, const tide_value *vals, int64_t ts,
                    tide_err *e)
{
    int64_t start = ts - tide_win_phase(ts, c->step, c->off);
    /* late (DESIGN.md 4): its first window (ending at its slice's end)
     * already fired; counted once, it still joins the windows left */
    if (c->wm != TIDE_TS_MIN && sat_add(start, c->step) <= c->wm) {
        c->late++;
        if (sat_add(start, c->max) <= c->wm)
            return 0; /* none left */
    }
    int64_t end = sat_add(start, c->step);
    if (key_encode(&c->kbuf, keys, c->nkeys))
        return tide_err_set(e, TIDE_ENOMEM, "hop: out of memory");
    uint32_t i;
    int rc = state_find(c, c->kbuf.data, (uint32_t)c->kbuf.len, 0, true, &i, e);
    if (rc)
        return rc;
    cstate *s = &c->st[i];
    size_t k = s->nslices; /* slices[0, k) end at or before `end` */
    while (k > 0 && s->slices[k - 1].end > end)
        k--;
    if (k > 0 && s->slices[k - 1].end == end) {
        size_t j = k - 1;
        if (j < s->nfront) {
            /* every front suffix from the oldest to this slice holds it */
            for (size_t f = 0; f <= j && !rc; f++)
                rc = acc_step(c, s->slices[f].acc, vals, e);
        } else {
            rc = acc_step(c, s->slices[j].acc, vals, e);
            if (!rc && j < s->nback)
                rc = acc_step(c, s->run, vals, e);
        }
        if (rc)
            return rc;
        s->slices[j].n++;
    } else {
        if (tide_array_grow((void **)&s->slices, &s->capslices, s->nslices + 1, sizeof *s->slices))
            return tide_err_set(e, TIDE_ENOMEM, "hop: out of memory");
        unsigned char *acc = acc_new(c);
        if (!acc)
            return tide_err_set(e, TIDE_ENOMEM, "hop: out of memory");
        /* a new front slice (a late record before the oldest ones): its
         * suffix is the next one's plus itself */
        if (k < s->nfront && (rc = acc_merge(c, acc, s->slices[k].acc, e)) != 0) {
            acc_free(c, acc);
            return rc;
        }
        memmove(s->slices + k + 1, s->slices + k, (s->nslices - k) * sizeof *s->slices);
        s->slices[k] = (slice){end, 1, acc};
        s->nslices++;
        if (k < s->nfront) {
            s->nfront++;
            s->nback++;
            for (size_t f = 0; f <= k && !rc; f++)
                rc = acc_step(c, s->slices[f].acc, vals, e);
        } else if (end <= s->frontier) {
            s->nback++; /* among the fired windows' slices: the back */
            rc = acc_step(c, acc, vals, e);
            if (!rc)
                rc = acc_step(c, s->run, vals, e);
        } else {
            rc = acc_step(c, acc, vals, e);
        }
        if (rc)
            return rc;
    }
    /* its first window not final yet */
    int64_t f = s->frontier;
    if (c->wm != TIDE_TS_MIN) {
        int64_t g = c->wm - tide_win_phase(c->wm, c->step, c->off);
        if (g > f)
            f = g;
    }
    int64_t t = end;
    if (f != TIDE_TS_MIN && sat_add(f, c->step) > t)
        t = sat_add(f, c->step);
    return schedule(c, i, t, e);
}

/* State i is due at `end`: move the pending slices ending by then to the
 * back, drop the ones before the window; *fire when the window holds
 * records, else schedule the next one. */
static int hop_due(tide_cumagg *c, uint32_t i, int64_t end, bool *fire, tide_err *e)
{
    cstate *s = &c->st[i];
    int rc = 0;
    *fire = false;
    while (!rc && s->nback < s->nslices && s->slices[s->nback].end <= end)
        rc = acc_merge(c, s->run, s->slices[s->nback++].acc, e);
    if (!rc)
        rc = hop_evict(c, s, sat_add(end, -c->max), e);
    if (rc)
        return rc;
    s->frontier = end;
    if (s->nback == 0)
        return hop_next(c, i, e);
    *fire = true;
    return 0;
}

/* Emit state s's window ending at `end` (its slices are [0, nback)). */
static int hop_fire(tide_cumagg *c, cstate *s, int64_t end, tide_cumagg_emit_fn fn, void *ctx,
                    tide_err *e)
{
    int rc = 0;
    if (s->nfront == 0 && (rc = hop_flip(c, s, e)) != 0)
        return rc;
    unsigned char *res = s->slices[0].acc; /* the oldest suffix: the whole front */
    if (s->nback > s->nfront) {
        if (sat_add(s->slices[0].end, c->max - c->step) <= end) {
            rc = acc_merge(c, res, s->run, e); /* slice 0 goes after this window */
        } else {
            res = c->scratch;
            rc = acc_merge(c, res, s->slices[0].acc, e);
            if (!rc)
                rc = acc_merge(c, res, s->run, e);
        }
    }
    for (size_t a = 0; a < c->naggs && !rc; a++)
        rc = tide_agg_result(&c->aggs[a], res + c->acc_off[a], &c->vals[a], e);
    if (!rc)
        rc = key_decode(c, s, e);
    if (!rc) {
        tide_cumagg_row r = {sat_add(end, -c->max), end, c->kvals, c->nkeys, c->vals, c->naggs};
        if (fn && (rc = fn(ctx, &r)) != 0)
            tide_err_set(e, rc, "hop: emit failed");
    }
    if (res == c->scratch)
        acc_reset(c, res);
    return rc;
}

int tide_cumagg_push(tide_cumagg *c, const tide_value *keys, const tide_value *vals, int64_t ts,
                     tide_err *e)
{
    if (c->hop)
        return hop_push(c, keys, vals, ts, e);
    int64_t s0 = ts - tide_win_phase(ts, c->max, c->off);
    int64_t pend = s0 + c->max; /* the period's last window end */
    /* late (DESIGN.md 4): its first window already fired; counted once, it
     * still joins the windows left */
    int64_t first_end = sat_add(s0, sat_add(ts - s0 - (ts - s0) % c->step, c->step));
    if (c->wm != TIDE_TS_MIN && first_end <= c->wm) {
        c->late++;
        if (pend <= c->wm)
            return 0; /* none left */
    }
    if (key_encode(&c->kbuf, keys, c->nkeys))
        return tide_err_set(e, TIDE_ENOMEM, "cumulate: out of memory");
    uint32_t i;
    int rc = state_find(c, c->kbuf.data, (uint32_t)c->kbuf.len, s0, true, &i, e);
    if (rc)
        return rc;
    cstate *s = &c->st[i];
    /* windows ending at or before the watermark are final: when none of
     * them fired (no records yet), move the frontier past them */
    if (c->wm != TIDE_TS_MIN && c->wm >= s->frontier + c->step) {
        int64_t g = s0 + (c->wm - s0) / c->step * c->step;
        if (g > s->frontier)
            s->frontier = g;
    }
    if (ts < s->frontier) {
        if ((rc = acc_step(c, s->run, vals, e)) != 0)
            return rc;
        s->nrun++;
        return schedule(c, i, s->frontier + c->step, e);
    }
    int64_t end = s0 + ((ts - s0) / c->step + 1) * c->step;
    slice *sl = NULL;
    for (size_t k = 0; k < s->nslices; k++)
        if (s->slices[k].end == end) {
            sl = &s->slices[k];
            break;
        }
    if (!sl) {
        if (tide_array_grow((void **)&s->slices, &s->capslices, s->nslices + 1, sizeof *s->slices))
            return tide_err_set(e, TIDE_ENOMEM, "cumulate: out of memory");
        unsigned char *acc = acc_new(c);
        if (!acc)
            return tide_err_set(e, TIDE_ENOMEM, "cumulate: out of memory");
        sl = &s->slices[s->nslices++];
        *sl = (slice){end, 0, acc};
    }
    if ((rc = acc_step(c, sl->acc, vals, e)) != 0)
        return rc;
    sl->n++;
    return schedule(c, i, s->nrun ? s->frontier + c->step : end, e);
}

/* Group order: start, then key bytes. */
typedef struct gref {
    int64_t s0;
    const unsigned char *key;
    uint32_t len, idx;
} gref;

static int group_cmp(const void *a, const void *b)
{
    const gref *x = a, *y = b;
    if (x->s0 != y->s0)
        return x->s0 < y->s0 ? -1 : 1;
    return tide_key_cmp(x->key, x->len, y->key, y->len);
}

/* Fire the states of c->group at `end`. */
static int fire_group(tide_cumagg *c, int64_t end, tide_cumagg_emit_fn fn, void *ctx, tide_err *e)
{
    if (tide_array_grow((void **)&c->grefs, &c->capgrefs, c->ngroup, sizeof *c->grefs))
        return tide_err_set(e, TIDE_ENOMEM, "cumulate: out of memory");
    for (size_t g = 0; g < c->ngroup; g++) {
        const cstate *s = &c->st[c->group[g]];
        c->grefs[g] = (gref){s->s0, s->key, s->key_len, c->group[g]};
    }
    qsort(c->grefs, c->ngroup, sizeof *c->grefs, group_cmp);
    int rc = 0;
    for (size_t g = 0; g < c->ngroup && !rc; g++) {
        cstate *s = &c->st[c->grefs[g].idx];
        if (c->hop) {
            rc = hop_fire(c, s, end, fn, ctx, e);
            continue;
        }
        for (size_t a = 0; a < c->naggs && !rc; a++)
            rc = tide_agg_result(&c->aggs[a], s->run + c->acc_off[a], &c->vals[a], e);
        if (rc || (rc = key_decode(c, s, e)) != 0)
            break;
        tide_cumagg_row r = {s->s0, end, c->kvals, c->nkeys, c->vals, c->naggs};
        if (fn && (rc = fn(ctx, &r)) != 0)
            tide_err_set(e, rc, "cumulate: emit failed");
    }
    for (size_t g = 0; g < c->ngroup && !rc; g++) {
        uint32_t i = c->group[g];
        cstate *s = &c->st[i];
        if (c->hop) {
            rc = hop_evict(c, s, sat_add(end, c->step - c->max), e);
            if (!rc)
                rc = hop_next(c, i, e);
        } else if (s->frontier >= s->s0 + c->max)
            state_free(c, i);
        else
            rc = schedule(c, i, s->frontier + c->step, e);
    }
    c->ngroup = 0;
    return rc;
}

/* CUMULATE state i is due at `end`: merge the slices ending by then into
 * the running state; *fire when it holds records, else wait for the
 * earliest slice. */
static int cum_due(tide_cumagg *c, uint32_t i, int64_t end, bool *fire, tide_err *e)
{
    cstate *s = &c->st[i];
    int rc = 0;
    *fire = false;
    size_t keep = 0;
    for (size_t k = 0; k < s->nslices; k++) {
        slice *sl = &s->slices[k];
        if (sl->end <= end && !rc) {
            rc = acc_merge(c, s->run, sl->acc, e);
            s->nrun += sl->n;
            acc_free(c, sl->acc);
        } else {
            s->slices[keep++] = *sl;
        }
    }
    s->nslices = keep;
    if (rc)
        return rc;
    s->frontier = end;
    if (s->nrun > 0) {
        *fire = true;
        return 0;
    }
    int64_t t = TIDE_TS_MAX;
    for (size_t k = 0; k < s->nslices; k++)
        if (s->slices[k].end < t)
            t = s->slices[k].end;
    if (t == TIDE_TS_MAX) {
        state_free(c, i);
        return 0;
    }
    return schedule(c, i, t, e);
}

/* The largest end of a window fired under watermark W: W + 1 (saturated:
 * an end of TIDE_TS_MAX fires only at end of input). */
static int64_t fired_end(int64_t w)
{
    return w == TIDE_TS_MIN || w >= TIDE_TS_MAX - 1 ? w : w + 1;
}

int tide_cumagg_advance(tide_cumagg *c, int64_t w, tide_cumagg_emit_fn fn, void *ctx, tide_err *e)
{
    int64_t wm = fired_end(w);
    if (wm <= c->wm)
        return 0;
    c->wm = wm;
    int rc = 0;
    int64_t gend = 0;
    c->ngroup = 0;
    while (!rc && ((c->nheap > 0 && c->heap[0].t <= wm) || c->ngroup > 0)) {
        if (c->ngroup > 0 && !(c->nheap > 0 && c->heap[0].t == gend)) {
            /* the group is complete; its next steps are scheduled by the firing */
            rc = fire_group(c, gend, fn, ctx, e);
            continue;
        }
        hent h = heap_pop(c);
        cstate *s = &c->st[h.st];
        if (!s->live || s->gen != h.gen || s->due != h.t)
            continue;
        s->due = TIDE_TS_MAX;
        bool fire;
        rc = c->hop ? hop_due(c, h.st, h.t, &fire, e) : cum_due(c, h.st, h.t, &fire, e);
        if (rc || !fire)
            continue;
        if (tide_array_grow((void **)&c->group, &c->capgroup, c->ngroup + 1, sizeof *c->group)) {
            rc = tide_err_set(e, TIDE_ENOMEM, "cumulate: out of memory");
            break;
        }
        c->group[c->ngroup++] = h.st;
        gend = h.t;
    }
    return rc;
}

uint64_t tide_cumagg_late(const tide_cumagg *c)
{
    return c->late;
}

size_t tide_cumagg_live(const tide_cumagg *c)
{
    return c->live;
}

/* ---- snapshot / restore --------------------------------------------------
 *
 * A snapshot holds the config fingerprint, the watermark, the late count
 * and every live state sorted by (key bytes, s0): its key values, s0, the
 * frontier, the scheduled firing time, the running state and its record
 * count, and its slices in array order with their counts and states (the
 * order decides the order of merges, hence the bits of DOUBLE results; HOP's
 * front / back split is kept as it is, suffix merges included).  Restore
 * re-encodes the keys, rebuilds the hash chains and one heap entry per
 * scheduled state (the stale entries a heap may hold are never acted on). */

#define CA_SNAP_KIND "cumagg"
#define CA_SNAP_VERSION 2 /* 2: the window offset */

static void ca_snap_put_config(const tide_cumagg *c, tide_snap_w *w)
{
    tide_snap_put_bool(w, c->hop);
    tide_snap_put_i64(w, c->step);
    tide_snap_put_i64(w, c->max);
    tide_snap_put_i64(w, c->off);
    tide_snap_put_varint(w, c->naggs);
    for (size_t a = 0; a < c->naggs; a++) {
        tide_snap_put_u8(w, (uint8_t)c->aggs[a].kind);
        tide_snap_put_u8(w, (uint8_t)tide_type_base(c->aggs[a].in_type));
        tide_snap_put_u32(w, c->aggs[a].flags);
    }
    tide_snap_put_varint(w, c->nkeys);
    for (size_t k = 0; k < c->nkeys; k++)
        tide_snap_put_u8(w, (uint8_t)tide_type_base(c->ktypes[k]));
}

static int ca_snap_differs(tide_err *e, const char *what, long long snap, long long here)
{
    return tide_err_set(e, TIDE_EINVAL,
                        "sliced window: the snapshot is of another config: %s %lld in the "
                        "snapshot, %lld here",
                        what, snap, here);
}

static int ca_snap_check_config(const tide_cumagg *c, tide_snap_r *r, tide_err *e)
{
    bool hop = tide_snap_get_bool(r);
    int64_t step = tide_snap_get_i64(r), max = tide_snap_get_i64(r), off = tide_snap_get_i64(r);
    uint64_t naggs = tide_snap_get_varint(r);
    if (tide_snap_failed(r))
        return tide_snap_close(r, e);
    if (hop != c->hop || step != c->step || max != c->max || off != c->off)
        return tide_err_set(e, TIDE_EINVAL,
                            "sliced window: the snapshot is of another config: window "
                            "%s(%lld, %lld, offset %lld) in the snapshot, %s(%lld, %lld, offset %lld) here",
                            hop ? "HOP" : "CUMULATE", (long long)step, (long long)max, (long long)off,
                            c->hop ? "HOP" : "CUMULATE", (long long)c->step, (long long)c->max, (long long)c->off);
    if (naggs != c->naggs)
        return ca_snap_differs(e, "aggregate count", (long long)naggs, (long long)c->naggs);
    for (size_t a = 0; a < c->naggs; a++) {
        unsigned kind = tide_snap_get_u8(r), type = tide_snap_get_u8(r);
        uint32_t flags = tide_snap_get_u32(r);
        if (tide_snap_failed(r))
            return tide_snap_close(r, e);
        if (kind != (unsigned)c->aggs[a].kind || type != (unsigned)tide_type_base(c->aggs[a].in_type) ||
            flags != c->aggs[a].flags)
            return tide_err_set(
                e, TIDE_EINVAL,
                "sliced window: the snapshot is of another config: aggregate %zu is %s(%s) "
                "(flags %u) in the snapshot, %s(%s) (flags %u) here",
                a, kind < TIDE_AGG_KIND_COUNT ? tide_agg_kind_name((tide_agg_kind)kind) : "?",
                type < TIDE_TYPE_COUNT ? tide_type_name((tide_type)type) : "?", flags,
                c->aggs[a].name, tide_type_name(c->aggs[a].in_type), c->aggs[a].flags);
    }
    uint64_t nkeys = tide_snap_get_varint(r);
    if (tide_snap_failed(r))
        return tide_snap_close(r, e);
    if (nkeys != c->nkeys)
        return ca_snap_differs(e, "key count", (long long)nkeys, (long long)c->nkeys);
    for (size_t k = 0; k < c->nkeys; k++) {
        unsigned type = tide_snap_get_u8(r);
        if (tide_snap_failed(r))
            return tide_snap_close(r, e);
        if (type != (unsigned)tide_type_base(c->ktypes[k]))
            return tide_err_set(e, TIDE_EINVAL,
                                "sliced window: the snapshot is of another config: key %zu is %s "
                                "in the snapshot, %s here",
                                k, type < TIDE_TYPE_COUNT ? tide_type_name((tide_type)type) : "?",
                                tide_type_name(c->ktypes[k]));
    }
    return 0;
}

/* A live state, in snapshot order. */
typedef struct ca_snap_ref {
    const unsigned char *key;
    uint32_t len;
    int64_t s0;
    uint32_t idx;
} ca_snap_ref;

static int ca_snap_ref_cmp(const void *pa, const void *pb)
{
    const ca_snap_ref *a = pa, *b = pb;
    uint32_t n = a->len < b->len ? a->len : b->len;
    int d = n ? memcmp(a->key, b->key, n) : 0;
    if (d)
        return d;
    if (a->len != b->len)
        return a->len < b->len ? -1 : 1;
    return (a->s0 > b->s0) - (a->s0 < b->s0);
}

static void ca_snap_put_acc(const tide_cumagg *c, const unsigned char *acc, tide_snap_w *w)
{
    for (size_t a = 0; a < c->naggs; a++)
        tide_agg_snap_put(&c->aggs[a], acc + c->acc_off[a], w);
}

int tide_cumagg_snapshot(const tide_cumagg *c, tide_buf *out, tide_err *e)
{
    ca_snap_ref *refs = malloc((c->live + 1) * sizeof *refs);
    tide_value *kv = malloc((c->nkeys + 1) * sizeof *kv);
    if (!refs || !kv) {
        free(refs);
        free(kv);
        return tide_err_set(e, TIDE_ENOMEM, "sliced window: snapshot: out of memory");
    }
    size_t n = 0;
    for (size_t i = 0; i < c->nst && n < c->live; i++)
        if (c->st[i].live)
            refs[n++] = (ca_snap_ref){c->st[i].key, c->st[i].key_len, c->st[i].s0, (uint32_t)i};
    qsort(refs, n, sizeof *refs, ca_snap_ref_cmp);
    tide_arena ka;
    tide_arena_init(&ka, 0);
    tide_snap_w w;
    tide_snap_begin(&w, out, CA_SNAP_KIND, CA_SNAP_VERSION);
    ca_snap_put_config(c, &w);
    tide_snap_put_i64(&w, c->wm);
    tide_snap_put_u64(&w, c->late);
    tide_snap_put_varint(&w, n);
    for (size_t k = 0; k < n; k++) {
        const cstate *s = &c->st[refs[k].idx];
        tide_arena_reset(&ka);
        int krc = tide_key_decode(s->key, s->key_len, c->ktypes, c->nkeys, &ka, kv, e);
        if (krc) {
            free(refs);
            free(kv);
            tide_arena_free(&ka);
            out->len = w.start;
            return krc;
        }
        for (size_t i = 0; i < c->nkeys; i++)
            tide_snap_put_value(&w, &kv[i]);
        tide_snap_put_i64(&w, s->s0);
        tide_snap_put_i64(&w, s->frontier);
        tide_snap_put_i64(&w, s->due);
        tide_snap_put_varint(&w, s->nrun);
        ca_snap_put_acc(c, s->run, &w);
        tide_snap_put_varint(&w, s->nslices);
        tide_snap_put_varint(&w, s->nfront);
        tide_snap_put_varint(&w, s->nback);
        for (size_t j = 0; j < s->nslices; j++) {
            tide_snap_put_i64(&w, s->slices[j].end);
            tide_snap_put_varint(&w, s->slices[j].n);
            ca_snap_put_acc(c, s->slices[j].acc, &w);
        }
    }
    free(refs);
    free(kv);
    tide_arena_free(&ka);
    return tide_snap_end(&w, e);
}

/* Back to the state of a freshly created operator (a failed restore). */
static void ca_snap_reset(tide_cumagg *c)
{
    for (size_t i = 0; i < c->nst; i++)
        if (c->st[i].live)
            state_free(c, (uint32_t)i);
    c->nheap = 0;
    c->ngroup = 0;
    c->wm = TIDE_TS_MIN;
    c->late = 0;
}

/* A window end a state may hold: a multiple of the step (HOP: of the
 * slide; saturated ends excepted) inside its period (CUMULATE). */
static bool ca_snap_end_ok(const tide_cumagg *c, int64_t s0, int64_t end)
{
    if (c->hop)
        return end == TIDE_TS_MAX || end == TIDE_TS_MIN || tide_win_phase(end, c->step, c->off) == 0;
    return end >= s0 && end <= s0 + c->max && (end - s0) % c->step == 0;
}

static int ca_snap_get_acc(tide_cumagg *c, unsigned char *acc, tide_snap_r *r, tide_err *e)
{
    int rc = 0;
    for (size_t a = 0; a < c->naggs && !rc; a++)
        rc = tide_agg_snap_get(&c->aggs[a], acc + c->acc_off[a], r, e);
    return rc;
}

/* One state of the snapshot into a new live state: 0, TIDE_ENOMEM, or 0
 * with the reader failed when it is malformed. */
static int ca_snap_get_state(tide_cumagg *c, tide_value *kv, tide_snap_r *r, tide_err *e)
{
    for (size_t k = 0; k < c->nkeys; k++) {
        kv[k] = tide_snap_get_value(r);
        if (kv[k].type != c->ktypes[k]) /* what key_decode gives back */
            tide_snap_fail(r);
    }
    int64_t s0 = tide_snap_get_i64(r), frontier = tide_snap_get_i64(r), due = tide_snap_get_i64(r);
    uint64_t nrun = tide_snap_get_varint(r);
    bool ok = c->hop ? s0 == 0 && ca_snap_end_ok(c, 0, frontier)
                     : tide_win_phase(s0, c->max, c->off) == 0 && s0 <= TIDE_TS_MAX - c->max &&
                           ca_snap_end_ok(c, s0, frontier);
    if (!ok)
        tide_snap_fail(r);
    if (tide_snap_failed(r))
        return 0;
    if (key_encode(&c->kbuf, kv, c->nkeys))
        return tide_err_set(e, TIDE_ENOMEM, "sliced window: restore: out of memory");
    uint32_t i;
    state_find(c, c->kbuf.data, (uint32_t)c->kbuf.len, s0, false, &i, e);
    if (i != NONE) { /* the same state twice */
        tide_snap_fail(r);
        return 0;
    }
    int rc = state_find(c, c->kbuf.data, (uint32_t)c->kbuf.len, s0, true, &i, e);
    if (rc)
        return rc;
    cstate *s = &c->st[i];
    s->frontier = frontier;
    s->due = due;
    s->nrun = nrun;
    if ((rc = ca_snap_get_acc(c, s->run, r, e)))
        return rc;
    uint64_t ns = tide_snap_get_varint(r), nfront = tide_snap_get_varint(r),
             nback = tide_snap_get_varint(r);
    if (ns > tide_snap_remaining(r) || nfront > nback || nback > ns || (!c->hop && nback))
        tide_snap_fail(r);
    if (tide_snap_failed(r))
        return 0;
    if (ns && tide_array_grow((void **)&s->slices, &s->capslices, (size_t)ns, sizeof *s->slices))
        return tide_err_set(e, TIDE_ENOMEM, "sliced window: restore: out of memory");
    for (uint64_t j = 0; j < ns && !tide_snap_failed(r); j++) {
        int64_t end = tide_snap_get_i64(r);
        uint64_t n = tide_snap_get_varint(r);
        /* HOP slices are kept sorted by end (hop_push searches them so) */
        if (!ca_snap_end_ok(c, s0, end) || (c->hop && j && end <= s->slices[j - 1].end))
            tide_snap_fail(r);
        unsigned char *acc = acc_new(c);
        if (!acc)
            return tide_err_set(e, TIDE_ENOMEM, "sliced window: restore: out of memory");
        s->slices[s->nslices++] = (slice){end, n, acc}; /* the state owns it now */
        if ((rc = ca_snap_get_acc(c, acc, r, e)))
            return rc;
    }
    s->nfront = (size_t)nfront;
    s->nback = (size_t)nback;
    return 0;
}

int tide_cumagg_restore(tide_cumagg *c, const void *buf, size_t len, tide_err *e)
{
    if (c->live || c->wm != TIDE_TS_MIN || c->late)
        return tide_err_set(e, TIDE_EINVAL, "sliced window: restore needs a freshly created operator");
    tide_snap_r r;
    int rc = tide_snap_open(&r, buf, len, CA_SNAP_KIND, CA_SNAP_VERSION, NULL, e);
    if (rc)
        return rc;
    if ((rc = ca_snap_check_config(c, &r, e)))
        return rc;
    tide_value *kv = malloc((c->nkeys + 1) * sizeof *kv);
    if (!kv)
        return tide_err_set(e, TIDE_ENOMEM, "sliced window: restore: out of memory");
    /* From here on the operator changes; any failure resets it. */
    c->wm = tide_snap_get_i64(&r);
    c->late = tide_snap_get_u64(&r);
    uint64_t n = tide_snap_get_varint(&r);
    if (n > tide_snap_remaining(&r))
        tide_snap_fail(&r);
    for (uint64_t k = 0; k < n && !rc && !tide_snap_failed(&r); k++)
        rc = ca_snap_get_state(c, kv, &r, e);
    free(kv);
    if (!rc)
        rc = tide_snap_close(&r, e);
    for (size_t i = 0; i < c->nst && !rc; i++)
        if (c->st[i].live && c->st[i].due != TIDE_TS_MAX)
            rc = heap_push(c, c->st[i].due, (uint32_t)i, e);
    if (rc)
        ca_snap_reset(c);
    return rc;
}
