/*
 * gen_logins.c - the `logins` generator.  See gen_logins.h for the model.
 *
 * Per event (the hot loop, a few ns): exactly four PRNG draws, whatever
 * they decide: draw 1 picks the user (alias table: a column from the high
 * 32 bits, a threshold test on the low 32), draw 2 gives the time jitter
 * and the device, draw 3 lateness (high 32 bits) and the delay (low 32),
 * draw 4 the rank inside a tail bucket.  A fixed number of draws keeps the
 * PRNG's position independent of what the draws decided, so the draws of
 * consecutive events do not wait on each other's table lookups and
 * branches (with draws taken only when needed, every event's position hung
 * on the previous event's alias lookup: ~2x slower).  The country is a
 * hash of the user id (computed on delivery, and only when the caller
 * wants countries).  Nothing is allocated per event; the delay heap grows
 * geometrically and is reused.
 *
 * Delivery order (the state machine in tide_gen_logins_next): events are
 * generated in event-time order as `cur`.  Before `cur` is delivered or
 * held, every held event whose release time (ts + delay) is < cur.ts is
 * delivered, in release order.  After the last event the heap drains.
 * Why the bound holds: an in-order event is never behind anything delivered
 * before it (held events delivered before it have ts < release < its ts);
 * a held event e leaves the heap before any event with ts > e.ts + d(e), and
 * every held event leaving before it has a release <= e's, so everything
 * delivered before e has ts <= e.ts + d(e) <= e.ts + max_delay.
 */
#include "connect/gen_logins.h"

#include "base/hash.h"
#include "base/io.h"
#include "data/timefmt.h"
#include "data/types.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define HEAD_MAX 4096           /* ranks served by the alias table */
#define DAY_MS 86400000.0
#define PEAK_MS (20.0 * 3600000.0) /* busiest time of day (UTC) */
#define TIME_TABLE_MAX (1 << 18)

static const char *const countries[TIDE_GEN_LOGINS_COUNTRIES] = {
    "US", "IN", "BR", "DE", "GB", "FR", "JP", "ID", "MX", "NG", "CA", "AU"};
/* Percent of users per country (sums to 100). */
static const uint8_t country_pct[TIDE_GEN_LOGINS_COUNTRIES] = {25, 15, 10, 8, 8, 7, 7, 6, 5, 4, 3, 2};
static const char *const devices[TIDE_GEN_LOGINS_DEVICES] = {"ios", "android", "web"};

typedef struct held {
    int64_t release; /* ts + delay: deliver before the first event with ts > release */
    int64_t ts;
    uint32_t user;  /* ids are <= 2^31 */
    uint8_t device; /* (the country is a function of the user: computed on delivery) */
} held;

/* x mod d without a division instruction (d fixed): q = the high half of
 * x * floor((2^64-1)/d) is floor(x/d) or at most 2 below it, so x - q*d is
 * in [0, 3d) and two conditional subtractions finish it.  Exact for every
 * x; used when 1 <= d <= 2^32 (3d fits) and a 128-bit product exists,
 * else plain %. */
typedef struct modby {
    uint64_t d, inv; /* inv 0: use % */
} modby;

static void modby_init(modby *m, uint64_t d)
{
    m->d = d;
    m->inv = 0;
#ifdef __SIZEOF_INT128__
    if (d >= 1 && d <= (1ull << 32))
        m->inv = UINT64_MAX / d;
#endif
}

static inline uint64_t modby_mod(const modby *m, uint64_t x)
{
#ifdef __SIZEOF_INT128__
    if (m->inv) {
        uint64_t q = (uint64_t)(((unsigned __int128)x * m->inv) >> 64);
        uint64_t r = x - q * m->d;
        r -= r >= m->d ? m->d : 0;
        r -= r >= m->d ? m->d : 0;
        return r;
    }
#endif
    return x % m->d;
}

/* One column of the alias table, with its two outcomes resolved: a draw
 * reads one 16-byte entry.  An outcome is a user id (1..2^31) or, from
 * OUT_TAIL up, a tail bucket. */
typedef struct alias_col {
    uint64_t thr;      /* take `self` if the draw's low 32 bits < thr (thr <= 2^32) */
    uint32_t self, to; /* outcomes */
} alias_col;

#define OUT_TAIL 0x80000001u /* > every user id */

typedef struct tail_bucket {
    uint64_t lo, width; /* ranks [lo, lo + width) */
} tail_bucket;

/* What the per-event code reads, copied from the fields below once
 * creation is done.  tide_gen_logins_next works on a local copy: the
 * caller's output arrays may alias g as far as the compiler knows, so it
 * would reload every field of g after every store into them. */
typedef struct gen_hot {
    const alias_col *cols;
    const tail_bucket *tail;
    uint32_t n_alias;
    uint64_t perm_mul, perm_add;
    modby mod_users;
    uint64_t max_delay;
    double inv_events, span;
    int64_t start_ms, span_ms;
    uint64_t late_thr;
    bool daily;
} gen_hot;

struct tide_gen_logins {
    tide_gen_logins_cfg cfg;
    uint64_t rng;
    gen_hot hot;

    /* popularity */
    uint32_t head;        /* ranks 1..head from the alias table */
    uint32_t n_alias;     /* head + n_bucket outcomes */
    uint64_t *alias_thr;  /* take column k if low32 < thr[k] (thr <= 2^32) */
    uint32_t *alias_to;   /* (both only while building; then packed:) */
    alias_col *cols;      /* the table the draws read (n_alias) */
    uint32_t n_bucket;    /* tail buckets */
    tail_bucket *tail;    /* their ranks [lo, lo + width) */
    uint64_t perm_mul, perm_add;
    modby mod_users;      /* x mod cfg.users */

    /* countries and devices */
    uint8_t country_of_pct[100];
    uint8_t device_of[128];
    uint64_t country_salt;

    /* time */
    double span;
    double inv_events;    /* 1 / events */
    double *ftab;         /* daily cycle: F at K+1 equally spaced times, or NULL */
    uint32_t ftab_k;
    uint32_t ftab_j;      /* current segment, and its cached geometry: */
    double seg_f0, seg_f1, seg_t0, seg_scale; /* F at its ends, its start offset, dt/dF */
    double f_total;

    /* lateness */
    uint64_t late_thr;    /* late if (draw >> 32) < late_thr (<= 2^32) */

    /* state */
    uint64_t generated;   /* events generated (cur included) */
    uint64_t delivered;
    bool have_cur;
    bool cur_late;
    held cur;
    held *heap;
    size_t heap_n, heap_cap;
    bool rate_started;
    int64_t rate_start_ms;
    uint64_t rate_from;   /* events delivered before the rate's first call (a skip) */

    /* CSV scratch columns */
    int64_t *csv_ts, *csv_user;
    uint8_t *csv_country, *csv_device;
};

/* ---- PRNG: counter-based ----
 * The n-th draw is rng_mix(seed + n * RNG_STEP): one 64x64 -> 128-bit
 * multiply of the counter by itself xor a constant, the halves folded
 * together (the wyrand construction); without 128-bit integers, the
 * splitmix64 finalizer.  Each draw depends on the counter only, so the four
 * draws of an event (and of the next events) run in parallel. */
#define RNG_STEP 0xa0761d6478bd642full

static inline uint64_t rng_mix(uint64_t z)
{
#ifdef __SIZEOF_INT128__
    unsigned __int128 t = (unsigned __int128)z * (z ^ 0xe7037ed1a0b428dbull);
    return (uint64_t)(t >> 64) ^ (uint64_t)t;
#else
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
#endif
}

static inline uint64_t rng_next(uint64_t *s) { return rng_mix(*s += RNG_STEP); }

static inline double unit_from(uint64_t r) { return (double)(r >> 11) * (1.0 / 9007199254740992.0); }

/* ---- configuration ---- */

void tide_gen_logins_cfg_default(tide_gen_logins_cfg *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->seed = 1;
    cfg->events = 1000000;
    cfg->users = 100000;
    cfg->zipf_s = 1.1;
    cfg->start_ms = 1704067200000LL; /* 2024-01-01 00:00:00 UTC */
    cfg->end_ms = cfg->start_ms + 86400000LL;
    cfg->late_share = 0.05;
    cfg->max_delay_ms = 5000;
}

int tide_gen_logins_cfg_check(const tide_gen_logins_cfg *c, const char **option, tide_err *e)
{
    const char *bad = NULL, *opt = NULL;
    if (c->users < 1 || c->users > (1ull << 31))
        opt = "users", bad = "must be in 1..2147483648";
    else if (!(c->zipf_s >= 0 && c->zipf_s <= 10))
        opt = "zipf", bad = "must be in 0..10";
    else if (!tide_ts_valid(c->start_ms))
        opt = "start", bad = TIDE_TS_RANGE_WHY;
    else if (c->end_ms <= c->start_ms)
        opt = "span", bad = "the end must be after the start";
    else if (!tide_ts_valid(c->end_ms - 1))
        opt = "span", bad = "the last event time would be a " TIDE_TS_RANGE_WHY;
    else if (!(c->daily_amplitude >= 0 && c->daily_amplitude <= 0.95))
        opt = "daily.amplitude", bad = "must be in 0..0.95";
    else if (!(c->late_share >= 0 && c->late_share <= 1))
        opt = "late.share", bad = "must be in 0..1";
    else if (c->late_share > 0 && c->max_delay_ms < 1)
        opt = "max.delay", bad = "must be >= 1 ms when late.share > 0";
    else if (!(c->rate >= 0) || isinf(c->rate))
        opt = "rate", bad = "must be >= 0 and finite";
    if (option)
        *option = opt;
    if (bad)
        return tide_err_set(e, TIDE_EINVAL, "logins generator: '%s' %s", opt, bad);
    return 0;
}

static uint64_t gcd64(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* Vose's alias method over weights w[0..n). */
static int build_alias(tide_gen_logins *g, const double *w, uint32_t n)
{
    int rc = 0;
    double total = 0;
    double *q = malloc(n * sizeof *q);
    uint32_t *small = malloc(n * sizeof *small), *large = malloc(n * sizeof *large);
    g->alias_thr = malloc(n * sizeof *g->alias_thr);
    g->alias_to = malloc(n * sizeof *g->alias_to);
    if (!q || !small || !large || !g->alias_thr || !g->alias_to) {
        rc = TIDE_ENOMEM;
        goto done;
    }
    for (uint32_t k = 0; k < n; k++)
        total += w[k];
    uint32_t ns = 0, nl = 0;
    for (uint32_t k = 0; k < n; k++) {
        q[k] = w[k] / total * n;
        g->alias_to[k] = k;
        if (q[k] < 1.0)
            small[ns++] = k;
        else
            large[nl++] = k;
    }
    while (ns && nl) {
        uint32_t s = small[--ns], l = large[nl - 1];
        g->alias_thr[s] = (uint64_t)(q[s] * 4294967296.0);
        g->alias_to[s] = l;
        q[l] -= 1.0 - q[s];
        if (q[l] < 1.0) {
            nl--;
            small[ns++] = l;
        }
    }
    /* Leftovers are 1 up to rounding: always take the column itself. */
    while (nl)
        g->alias_thr[large[--nl]] = 4294967296ull;
    while (ns)
        g->alias_thr[small[--ns]] = 4294967296ull;
    g->n_alias = n;
done:
    free(q);
    free(small);
    free(large);
    return rc;
}

static inline int64_t rank_to_id(const tide_gen_logins *g, uint64_t rank)
{
    return (int64_t)modby_mod(&g->mod_users, (rank - 1) * g->perm_mul + g->perm_add) + 1;
}

/* The integral of x^-s (an antiderivative). */
static double power_integral(double x, double s)
{
    return fabs(s - 1.0) < 1e-12 ? log(x) : pow(x, 1.0 - s) / (1.0 - s);
}

static int build_popularity(tide_gen_logins *g)
{
    const double s = g->cfg.zipf_s;
    uint64_t n_users = g->cfg.users;
    modby_init(&g->mod_users, n_users);
    g->head = (uint32_t)(n_users < HEAD_MAX ? n_users : HEAD_MAX);
    /* The tail in buckets of ranks growing by 1/64: the weight k^-s varies
     * by under 2% inside one, so a uniform pick inside is close to exact. */
    uint32_t nb = 0;
    for (uint64_t lo = (uint64_t)g->head + 1; lo <= n_users; nb++) {
        uint64_t hi = lo + lo / 64;
        lo = hi > n_users ? n_users + 1 : hi;
    }
    g->n_bucket = nb;
    uint32_t n = g->head + nb;
    double *w = malloc(n * sizeof *w);
    g->tail = malloc((nb ? nb : 1) * sizeof *g->tail);
    if (!w || !g->tail) {
        free(w);
        return TIDE_ENOMEM;
    }
    for (uint32_t k = 0; k < g->head; k++)
        w[k] = pow((double)(k + 1), -s);
    uint64_t lo = (uint64_t)g->head + 1;
    for (uint32_t b = 0; b < nb; b++) {
        uint64_t hi = lo + lo / 64;
        if (hi > n_users)
            hi = n_users + 1;
        g->tail[b] = (tail_bucket){lo, hi - lo};
        /* sum of k^-s over [lo, hi) ~ the integral over [lo - 1/2, hi - 1/2] */
        w[g->head + b] = power_integral(hi - 0.5, s) - power_integral(lo - 0.5, s);
        lo = hi;
    }
    int rc = build_alias(g, w, n);
    free(w);
    /* Ranks to ids: id = (rank-1) * mul + add mod users, mul coprime to users. */
    uint64_t r = rng_next(&g->rng);
    g->perm_mul = n_users > 1 ? (r % n_users) | 1 : 1;
    while (gcd64(g->perm_mul, n_users) != 1)
        g->perm_mul = (g->perm_mul + 1) % n_users;
    g->perm_add = rng_next(&g->rng) % n_users;
    /* The table the draws read: each column with both outcomes resolved
     * to a user id (ranks 1..head) or a tail bucket. */
    if (rc == 0 && !(g->cols = malloc(n * sizeof *g->cols)))
        rc = TIDE_ENOMEM;
    for (uint32_t k = 0; rc == 0 && k < n; k++) {
        uint32_t to = g->alias_to[k];
        g->cols[k].thr = g->alias_thr[k];
        g->cols[k].self = k < g->head ? (uint32_t)rank_to_id(g, k + 1) : OUT_TAIL + (k - g->head);
        g->cols[k].to = to < g->head ? (uint32_t)rank_to_id(g, to + 1) : OUT_TAIL + (to - g->head);
    }
    free(g->alias_thr);
    free(g->alias_to);
    g->alias_thr = NULL;
    g->alias_to = NULL;
    return rc;
}

static void build_tables(tide_gen_logins *g)
{
    uint32_t at = 0;
    for (uint32_t c = 0; c < TIDE_GEN_LOGINS_COUNTRIES; c++)
        for (uint32_t k = 0; k < country_pct[c]; k++)
            g->country_of_pct[at++] = (uint8_t)c;
    g->country_salt = rng_next(&g->rng);
    /* ios 51/128 (~40%), android 58/128 (~45%), web 19/128 (~15%) */
    for (uint32_t k = 0; k < 128; k++)
        g->device_of[k] = k < 51 ? 0 : k < 109 ? 1 : 2;
}

/* F(t) - F(start) for the daily cycle: the integral of the rate. */
static double cycle_integral(const tide_gen_logins *g, double t)
{
    double a = g->cfg.daily_amplitude, w = 2.0 * 3.14159265358979323846 / DAY_MS;
    double s0 = (double)g->cfg.start_ms;
    return (t - s0) + a / w * (sin(w * (t - PEAK_MS)) - sin(w * (s0 - PEAK_MS)));
}

/* Cache segment ftab_j: x in [f0, f1) maps linearly onto its time range. */
static void set_segment(tide_gen_logins *g)
{
    double seg = g->span / g->ftab_k;
    g->seg_f0 = g->ftab[g->ftab_j];
    g->seg_f1 = g->ftab[g->ftab_j + 1];
    g->seg_t0 = g->ftab_j * seg;
    g->seg_scale = g->seg_f1 > g->seg_f0 ? seg / (g->seg_f1 - g->seg_f0) : 0;
}

static int build_time(tide_gen_logins *g)
{
    g->span = (double)(g->cfg.end_ms - g->cfg.start_ms);
    g->inv_events = g->cfg.events ? 1.0 / (double)g->cfg.events : 0;
    if (g->cfg.daily_amplitude <= 0)
        return 0;
    double k = g->span / 60000.0; /* a point per minute */
    if (k < 16)
        k = 16;
    if (k > TIME_TABLE_MAX)
        k = TIME_TABLE_MAX;
    g->ftab_k = (uint32_t)k;
    g->ftab = malloc(((size_t)g->ftab_k + 1) * sizeof *g->ftab);
    if (!g->ftab)
        return TIDE_ENOMEM;
    for (uint32_t j = 0; j <= g->ftab_k; j++)
        g->ftab[j] = cycle_integral(g, (double)g->cfg.start_ms + g->span * j / g->ftab_k);
    g->f_total = g->ftab[g->ftab_k];
    g->ftab_j = 0;
    set_segment(g);
    return 0;
}

int tide_gen_logins_create(tide_gen_logins **out, const tide_gen_logins_cfg *cfg, tide_err *e)
{
    int rc;
    *out = NULL;
    if ((rc = tide_gen_logins_cfg_check(cfg, NULL, e)) != 0)
        return rc;
    tide_gen_logins *g = calloc(1, sizeof *g);
    if (!g)
        return tide_err_set(e, TIDE_ENOMEM, "logins generator: out of memory");
    g->cfg = *cfg;
    g->rng = cfg->seed ^ 0x6c6f67696e73ull; /* "logins" */
    if ((rc = build_popularity(g)) != 0 || (rc = build_time(g)) != 0)
        goto fail;
    build_tables(g);
    g->late_thr = (uint64_t)(cfg->late_share * 4294967296.0);
    g->hot = (gen_hot){.cols = g->cols,
                       .tail = g->tail,
                       .n_alias = g->n_alias,
                       .perm_mul = g->perm_mul,
                       .perm_add = g->perm_add,
                       .mod_users = g->mod_users,
                       .max_delay = cfg->late_share > 0 ? (uint64_t)cfg->max_delay_ms : 1,
                       .inv_events = g->inv_events,
                       .span = g->span,
                       .start_ms = cfg->start_ms,
                       .span_ms = cfg->end_ms - cfg->start_ms,
                       .late_thr = g->late_thr,
                       .daily = g->ftab != NULL};
    g->heap_cap = 1024;
    g->heap = malloc(g->heap_cap * sizeof *g->heap);
    if (!g->heap) {
        rc = TIDE_ENOMEM;
        goto fail;
    }
    *out = g;
    return 0;
fail:
    tide_gen_logins_free(g);
    return tide_err_set(e, rc, "logins generator: out of memory");
}

void tide_gen_logins_free(tide_gen_logins *g)
{
    if (!g)
        return;
    free(g->alias_thr);
    free(g->alias_to);
    free(g->cols);
    free(g->tail);
    free(g->ftab);
    free(g->heap);
    free(g->csv_ts);
    free(g->csv_user);
    free(g->csv_country);
    free(g->csv_device);
    free(g);
}

const char *tide_gen_logins_country_name(uint8_t idx)
{
    return idx < TIDE_GEN_LOGINS_COUNTRIES ? countries[idx] : "?";
}

const char *tide_gen_logins_device_name(uint8_t idx)
{
    return idx < TIDE_GEN_LOGINS_DEVICES ? devices[idx] : "?";
}

uint8_t tide_gen_logins_user_country(const tide_gen_logins *g, int64_t user_id)
{
    uint64_t h = tide_hash_u64((uint64_t)user_id ^ g->country_salt);
    return g->country_of_pct[(h >> 32) * 100 >> 32];
}

bool tide_gen_logins_done(const tide_gen_logins *g)
{
    return g->delivered == g->cfg.events;
}

uint64_t tide_gen_logins_delivered(const tide_gen_logins *g) { return g->delivered; }

/* ---- generating ---- */

/* The hot loop (tide_gen_logins_next) keeps the PRNG state, the counters
 * and the current event in locals: the caller's output arrays (uint8_t and
 * int64_t) may alias any field of g as far as the compiler knows, so state
 * kept in g would be stored and reloaded around every event (and the PRNG
 * state, a chain through every draw, would wait on store forwarding). */

/* floor(x * n / 2^32) for x < 2^32: a uniform pick in [0, n) from 32
 * random bits (exact for every n < 2^63, as x*(n>>32) + x*(n&(2^32-1))/2^32). */
static inline uint64_t scale32(uint64_t x, uint64_t n)
{
    return x * (n >> 32) + ((x * (n & 0xffffffffu)) >> 32);
}

/* The user of draw r1 (and r4, which only a tail bucket reads). */
static inline uint32_t pick_user(const gen_hot *h, uint64_t r1, uint64_t r4)
{
    uint32_t col = (uint32_t)(((r1 >> 32) * h->n_alias) >> 32);
    const alias_col *a = &h->cols[col];
    uint32_t out = (r1 & 0xffffffffu) < a->thr ? a->self : a->to;
    if (out < OUT_TAIL)
        return out;
    const tail_bucket *b = &h->tail[out - OUT_TAIL];
    uint64_t rank = b->lo + scale32(r4 >> 32, b->width);
    /* rank_to_id */
    return (uint32_t)modby_mod(&h->mod_users, (rank - 1) * h->perm_mul + h->perm_add) + 1;
}

/* The time of event i (0-based, event-time order) with jitter u in [0,1). */
static inline int64_t event_time(tide_gen_logins *g, const gen_hot *h, uint64_t i, double u)
{
    double frac = ((double)i + u) * h->inv_events, t;
    if (!h->daily) {
        t = frac * h->span;
    } else {
        double x = frac * g->f_total;
        if (x >= g->seg_f1 && g->ftab_j + 1 < g->ftab_k) {
            while (g->ftab_j + 1 < g->ftab_k && g->ftab[g->ftab_j + 1] <= x)
                g->ftab_j++;
            set_segment(g);
        }
        double dt = (x - g->seg_f0) * g->seg_scale;
        t = g->seg_t0 + dt;
    }
    int64_t off = (int64_t)t;
    if (off >= h->span_ms)
        off = h->span_ms - 1;
    if (off < 0)
        off = 0;
    return h->start_ms + off;
}

/* Generate event number i into *c from the next four draws; true when it
 * is to be delivered late (c->release set). */
static inline bool generate(tide_gen_logins *g, const gen_hot *h, uint64_t *rng, uint64_t i,
                            held *c)
{
    uint64_t s = *rng;
    *rng = s + 4 * RNG_STEP;
    uint64_t r1 = rng_mix(s + RNG_STEP), r2 = rng_mix(s + 2 * RNG_STEP);
    uint64_t r3 = rng_mix(s + 3 * RNG_STEP), r4 = rng_mix(s + 4 * RNG_STEP);
    c->user = pick_user(h, r1, r4);
    c->ts = event_time(g, h, i, unit_from(r2));
    c->device = g->device_of[r2 & 127];
    if ((r3 >> 32) < h->late_thr) {
        c->release = c->ts + 1 + (int64_t)scale32(r3 & 0xffffffffu, h->max_delay);
        return true;
    }
    return false;
}

static int heap_push(tide_gen_logins *g, const held *h)
{
    if (g->heap_n == g->heap_cap) {
        held *n = realloc(g->heap, g->heap_cap * 2 * sizeof *n);
        if (!n)
            return TIDE_ENOMEM;
        g->heap = n;
        g->heap_cap *= 2;
    }
    size_t i = g->heap_n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (g->heap[p].release <= h->release)
            break;
        g->heap[i] = g->heap[p];
        i = p;
    }
    g->heap[i] = *h;
    return 0;
}

static held heap_pop(tide_gen_logins *g)
{
    held top = g->heap[0];
    held last = g->heap[--g->heap_n];
    size_t i = 0, n = g->heap_n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        /* the smaller child, without a branch (a coin flip to predict);
         * heap[n] is still readable (it held `last`) */
        c += (size_t)((c + 1 < n) & (g->heap[c + 1].release < g->heap[c].release));
        if (last.release <= g->heap[c].release)
            break;
        g->heap[i] = g->heap[c];
        i = c;
    }
    if (n)
        g->heap[i] = last;
    return top;
}

/* The release of the heap's top; INT64_MAX (never < a ts) when empty. */
static inline int64_t heap_top(const tide_gen_logins *g)
{
    return g->heap_n ? g->heap[0].release : INT64_MAX;
}

static inline void put(const tide_gen_logins *g, const tide_gen_logins_cols *cols, size_t k,
                       const held *h)
{
    cols->ts[k] = h->ts;
    cols->user_id[k] = (int64_t)h->user;
    if (cols->country)
        cols->country[k] = tide_gen_logins_user_country(g, h->user);
    cols->device[k] = h->device;
}

int tide_gen_logins_next(tide_gen_logins *g, const tide_gen_logins_cols *cols, size_t max,
                         int64_t now_ms, size_t *n, tide_err *e)
{
    size_t want = max < cols->cap ? max : cols->cap;
    uint64_t left = g->cfg.events - g->delivered;
    if (want > left)
        want = (size_t)left;
    if (g->cfg.rate > 0) {
        if (!g->rate_started) {
            g->rate_started = true;
            g->rate_start_ms = now_ms;
            g->rate_from = g->delivered;
        }
        double allowed = (double)(now_ms - g->rate_start_ms) * g->cfg.rate / 1000.0;
        uint64_t allow = allowed <= 0 ? 0 : (uint64_t)allowed;
        uint64_t done = g->delivered - g->rate_from;
        uint64_t room = allow > done ? allow - done : 0;
        if (want > room)
            want = (size_t)room;
    }
    /* the state, in locals (see above); written back at the end */
    uint64_t rng = g->rng, gen = g->generated;
    const uint64_t events = g->cfg.events;
    const gen_hot hot = g->hot;
    const tide_gen_logins_cols out = *cols;
    held cur = g->cur;
    bool have = g->have_cur, late = g->cur_late;
    int64_t top = heap_top(g);
    size_t k = 0;
    int rc = 0;
    while (k < want) {
        if (!have) {
            if (gen == events) {
                /* Everything generated: drain the held events. */
                held h = heap_pop(g);
                put(g, &out, k++, &h);
                continue;
            }
            /* The common case in a loop of its own: each new event is
             * delivered at once while it is not late and no held event is
             * due before it; the first one that is stays as cur. */
            uint64_t stop = events - gen < want - k ? events : gen + (want - k);
            while (gen < stop) {
                late = generate(g, &hot, &rng, gen++, &cur);
                if (late || top < cur.ts) {
                    have = true;
                    break;
                }
                put(g, &out, k++, &cur);
            }
            continue;
        }
        if (top < cur.ts) {
            held h = heap_pop(g);
            top = heap_top(g);
            put(g, &out, k++, &h);
        } else if (late) {
            if ((rc = heap_push(g, &cur)) != 0) {
                rc = tide_err_set(e, TIDE_ENOMEM, "logins generator: out of memory for %zu delayed events",
                                  g->heap_n);
                break;
            }
            top = g->heap[0].release;
            have = false;
        } else {
            put(g, &out, k++, &cur);
            have = false;
        }
    }
    g->rng = rng;
    g->generated = gen;
    g->cur = cur;
    g->have_cur = have;
    g->cur_late = late;
    g->delivered += k;
    *n = k;
    return rc;
}

int tide_gen_logins_skip(tide_gen_logins *g, uint64_t n, tide_err *e)
{
    if (n > g->cfg.events - g->delivered)
        return tide_err_set(e, TIDE_EINVAL, "logins generator: cannot skip %llu events (%llu are left)",
                            (unsigned long long)n, (unsigned long long)(g->cfg.events - g->delivered));
    enum { STEP = 4096 };
    int64_t *ts = malloc(STEP * sizeof *ts), *user = malloc(STEP * sizeof *user);
    uint8_t *device = malloc(STEP);
    int rc = ts && user && device ? 0 : tide_err_set(e, TIDE_ENOMEM, "logins generator: out of memory");
    double rate = g->cfg.rate;
    g->cfg.rate = 0; /* skipped events are not rate-limited */
    for (uint64_t left = n; rc == 0 && left > 0;) {
        size_t got = 0;
        tide_gen_logins_cols cols = {ts, user, NULL, device, STEP};
        rc = tide_gen_logins_next(g, &cols, left < STEP ? (size_t)left : STEP, 0, &got, e);
        left -= got;
    }
    g->cfg.rate = rate;
    free(ts);
    free(user);
    free(device);
    return rc;
}

/* ---- CSV ---- */

int tide_gen_logins_csv_header(tide_buf *out)
{
    return tide_buf_append(out, "ts,user_id,country,device\n", 26);
}

#define CSV_CHUNK 1024
#define CSV_ROW_MAX (TIDE_TS_FORMAT_MAX + 24 + 8 + 8 + 4)

static size_t put_u64(char *p, uint64_t v)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        p[i] = tmp[n - 1 - i];
    return n;
}

int tide_gen_logins_csv(tide_gen_logins *g, tide_buf *out, size_t max, int64_t now_ms, size_t *n,
                        tide_err *e)
{
    int rc = 0;
    *n = 0;
    if (!g->csv_ts) {
        g->csv_ts = malloc(CSV_CHUNK * sizeof *g->csv_ts);
        g->csv_user = malloc(CSV_CHUNK * sizeof *g->csv_user);
        g->csv_country = malloc(CSV_CHUNK);
        g->csv_device = malloc(CSV_CHUNK);
        if (!g->csv_ts || !g->csv_user || !g->csv_country || !g->csv_device)
            return tide_err_set(e, TIDE_ENOMEM, "logins generator: out of memory");
    }
    tide_gen_logins_cols cols = {g->csv_ts, g->csv_user, g->csv_country, g->csv_device, CSV_CHUNK};
    while (*n < max) {
        size_t got = 0;
        size_t ask = max - *n < CSV_CHUNK ? max - *n : CSV_CHUNK;
        if ((rc = tide_gen_logins_next(g, &cols, ask, now_ms, &got, e)) != 0 && got == 0)
            return rc;
        if (got == 0)
            break;
        if (tide_buf_reserve(out, got * CSV_ROW_MAX) != 0)
            return tide_err_set(e, TIDE_ENOMEM, "logins generator: out of memory for CSV");
        char *p = (char *)out->data + out->len;
        for (size_t i = 0; i < got; i++) {
            p += tide_ts_format(cols.ts[i], p);
            *p++ = ',';
            p += put_u64(p, (uint64_t)cols.user_id[i]);
            *p++ = ',';
            const char *c = countries[cols.country[i]];
            *p++ = c[0];
            *p++ = c[1];
            *p++ = ',';
            const char *d = devices[cols.device[i]];
            size_t dl = strlen(d);
            memcpy(p, d, dl);
            p += dl;
            *p++ = '\n';
        }
        out->len = (size_t)(p - (char *)out->data);
        *n += got;
        if (rc != 0)
            return rc;
    }
    return 0;
}

int tide_gen_logins_write_csv(const tide_gen_logins_cfg *cfg, const char *path, tide_err *e)
{
    int rc;
    tide_gen_logins_cfg c = *cfg;
    c.rate = 0;
    tide_gen_logins *g = NULL;
    tide_file *f = NULL;
    tide_buf buf = {0};
    uint64_t off = 0;
    if ((rc = tide_gen_logins_create(&g, &c, e)) != 0)
        goto done;
    if ((rc = tide_io_open(&f, path, TIDE_IO_WRITE | TIDE_IO_CREATE, e)) != 0)
        goto done;
    if ((rc = tide_io_truncate(f, 0, e)) != 0)
        goto done;
    if (tide_gen_logins_csv_header(&buf) != 0) {
        rc = tide_err_set(e, TIDE_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    while (!tide_gen_logins_done(g)) {
        size_t n;
        if ((rc = tide_gen_logins_csv(g, &buf, 16384, 0, &n, e)) != 0)
            goto done;
        if ((rc = tide_io_pwrite(f, buf.data, buf.len, off, e)) != 0)
            goto done;
        off += buf.len;
        tide_buf_reset(&buf);
    }
    if (buf.len && (rc = tide_io_pwrite(f, buf.data, buf.len, off, e)) != 0)
        goto done;
done:
    tide_buf_free(&buf);
    tide_io_close(f);
    tide_gen_logins_free(g);
    return rc;
}
