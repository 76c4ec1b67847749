/*
 * test_sched.c - the worker pool (exec/sched.h) with units of its own:
 *
 *   - a ring of 40 units passing a token (each parks until the token is
 *     its own, then hands it on and wakes the next) on 1, 2 and 3 workers:
 *     no wake is lost (every pass happens, in order), the pool never runs
 *     more quanta at once than it has workers, and the process never has
 *     more threads than the test's own plus the workers (/proc/self/task);
 *   - due times on a fake clock: a parked unit runs when the clock reaches
 *     its due time, not before, however many ticks pass;
 *   - the stall detector: a unit parked for a stall runs with `stalled`
 *     only once the pool went quiet (no unit runnable or running, and no
 *     timer pending, or no progress for two ticks): never while another
 *     unit keeps moving the progress counter at every tick;
 *   - stop: units that always yield end when stopped from another thread.
 */
#include "exec/sched.h"

#include "tt.h"

#include <dirent.h>
#include <pthread.h>
#include <sched.h>


/* ---- the token ring ---- */

#define RING 40

typedef struct ring {
    _Atomic long token; /* pass number; unit token % RING holds it */
    long passes;        /* passes to make */
    tide_sched_unit *u[RING];
    _Atomic int bad;    /* a unit ran its pass out of turn */
    _Atomic int max_threads;
} ring;

typedef struct ring_unit {
    ring *r;
    int i;
    long mine; /* passes this unit made */
} ring_unit;

static int ring_run(void *ctx, bool stalled, tide_sched_park *park)
{
    (void)stalled;
    (void)park;
    ring_unit *ru = ctx;
    ring *r = ru->r;
    if (ru->mine % 64 == 0) { /* (reading /proc is slow: sampled) */
        int th = tt_thread_count();
        int m = atomic_load(&r->max_threads);
        while (th > m && !atomic_compare_exchange_weak(&r->max_threads, &m, th)) {
        }
    }
    for (;;) {
        long t = atomic_load(&r->token);
        if (t >= r->passes)
            return TIDE_SCHED_DONE;
        if (t % RING != ru->i)
            return TIDE_SCHED_PARK; /* a wake while it ran is kept: never lost */
        if (ru->mine != t / RING)
            atomic_store(&r->bad, 1);
        ru->mine++;
        atomic_store(&r->token, t + 1);
        /* the next unit, and at the end every unit, so all see the end */
        if (t + 1 >= r->passes) {
            for (int k = 0; k < RING; k++)
                tide_sched_wake(r->u[k]);
            return TIDE_SCHED_DONE;
        }
        tide_sched_wake(r->u[(ru->i + 1) % RING]);
    }
}

static void test_token_ring(void)
{
    int base = tt_thread_count();
    TT_ASSERT(base >= 1);
    for (uint32_t w = 1; w <= 3; w++) {
        static ring r;
        static ring_unit ru[RING];
        memset(&r, 0, sizeof r);
        r.passes = 20000;
        tide_sched *s;
        tide_err e = {0};
        tide_sched_cfg cfg = {.workers = w, .idle_tick_ns = 1000000};
        TT_OK(tide_sched_create(&s, &cfg, &e));
        for (int i = 0; i < RING; i++) {
            ru[i] = (ring_unit){.r = &r, .i = i};
            TT_OK(tide_sched_add(s, ring_run, &ru[i], &r.u[i], &e));
        }
        TT_OK(tide_sched_start(s, &e));
        tide_sched_wait(s);
        tide_sched_stats st;
        tide_sched_stats_get(s, &st);
        tide_sched_free(s);
        TT_ASSERT_EQ_INT(atomic_load(&r.token), r.passes);
        TT_ASSERT_EQ_INT(atomic_load(&r.bad), 0);
        for (int i = 0; i < RING; i++) /* brute force: unit i made the passes i, i + RING, ... */
            TT_ASSERT_EQ_INT(ru[i].mine, (r.passes - i + RING - 1) / RING);
        TT_ASSERT_EQ_INT(st.workers, w);
        TT_ASSERT(st.max_running <= w);
        TT_ASSERT_MSG(atomic_load(&r.max_threads) <= base + (int)w, "%d threads with %u workers (base %d)",
                      atomic_load(&r.max_threads), w, base);
        TT_ASSERT(st.quanta >= (uint64_t)r.passes / 2);
    }
}

/* ---- due times on a fake clock ---- */

static _Atomic int64_t fake_ns;
static int64_t fake_mono(void *ctx)
{
    (void)ctx;
    return atomic_load(&fake_ns);
}
static int64_t fake_ms(void *ctx) { return fake_mono(ctx) / 1000000; }

typedef struct timed {
    _Atomic int runs;
    int64_t due;
} timed;

static int timed_run(void *ctx, bool stalled, tide_sched_park *park)
{
    (void)stalled;
    timed *t = ctx;
    int n = atomic_fetch_add(&t->runs, 1) + 1;
    if (n == 1) {
        park->due = t->due;
        return TIDE_SCHED_PARK;
    }
    if (fake_mono(NULL) >= t->due)
        return TIDE_SCHED_DONE;
    park->due = t->due;
    return TIDE_SCHED_PARK;
}

typedef struct ticker {
    _Atomic int ticks;
    _Atomic int finish;
} ticker;

static int ticker_run(void *ctx, bool stalled, tide_sched_park *park)
{
    (void)stalled;
    ticker *k = ctx;
    atomic_fetch_add(&k->ticks, 1);
    if (atomic_load(&k->finish))
        return TIDE_SCHED_DONE;
    park->tick = true;
    return TIDE_SCHED_PARK;
}

static bool wait_ticks(ticker *k, int n)
{
    int target = atomic_load(&k->ticks) + n;
    for (long spins = 0; spins < 400000000L; spins++) {
        if (atomic_load(&k->ticks) >= target)
            return true;
        sched_yield();
    }
    return false;
}

static void test_due_fake_clock(void)
{
    atomic_store(&fake_ns, 5000000000LL);
    tide_clock clk = {fake_ms, fake_mono, NULL};
    static timed t;
    static ticker k;
    memset(&t, 0, sizeof t);
    memset(&k, 0, sizeof k);
    t.due = 5000000000LL + 7000000; /* 7 ms on the fake clock */
    tide_sched *s;
    tide_err e = {0};
    tide_sched_cfg cfg = {.workers = 2, .idle_tick_ns = 200000, .clock = &clk};
    TT_OK(tide_sched_create(&s, &cfg, &e));
    tide_sched_unit *ut, *uk;
    TT_OK(tide_sched_add(s, timed_run, &t, &ut, &e));
    TT_OK(tide_sched_add(s, ticker_run, &k, &uk, &e));
    TT_OK(tide_sched_start(s, &e));
    /* many real ticks pass, the fake clock stands still: not run again */
    TT_ASSERT(wait_ticks(&k, 30));
    TT_ASSERT_EQ_INT(atomic_load(&t.runs), 1);
    atomic_fetch_add(&fake_ns, 6999999);
    TT_ASSERT(wait_ticks(&k, 30));
    TT_ASSERT_EQ_INT(atomic_load(&t.runs), 1);
    atomic_fetch_add(&fake_ns, 1); /* due: it runs within a tick */
    for (long spins = 0; spins < 400000000L && atomic_load(&t.runs) < 2; spins++)
        sched_yield();
    TT_ASSERT_EQ_INT(atomic_load(&t.runs), 2);
    atomic_store(&k.finish, 1);
    tide_sched_wake(uk);
    tide_sched_wait(s);
    tide_sched_stats st;
    tide_sched_stats_get(s, &st);
    /* every ticker run but the first (from the start) and maybe the last
     * (the wake above) came from a tick; the timed unit's second from its
     * due time */
    TT_ASSERT(st.timer_wakes >= (uint64_t)atomic_load(&k.ticks) - 2 + 1);
    TT_ASSERT(atomic_load(&k.ticks) >= 60);
    tide_sched_free(s);
}

/* ---- the stall detector ---- */

static _Atomic uint64_t progress;

typedef struct mover {
    _Atomic int ticks;
    int limit; /* moves the progress counter at this many ticks, then ends */
    _Atomic int done;
} mover;

static int mover_run(void *ctx, bool stalled, tide_sched_park *park)
{
    (void)stalled;
    mover *m = ctx;
    if (atomic_fetch_add(&m->ticks, 1) + 1 >= m->limit) {
        atomic_store(&m->done, 1);
        return TIDE_SCHED_DONE;
    }
    atomic_fetch_add(&progress, 1);
    park->tick = true;
    return TIDE_SCHED_PARK;
}

typedef struct staller {
    mover *m;
    _Atomic int runs, stalled_runs;
    _Atomic int early; /* stalled while the mover still moved */
    tide_sched_unit *far; /* a unit parked on a due time far away, or NULL */
} staller;

/* Parks once on a due time an hour away (so that the pool is never quiet
 * for good), ends when woken. */
static int far_run(void *ctx, bool stalled, tide_sched_park *park)
{
    (void)stalled;
    if (atomic_fetch_add((_Atomic int *)ctx, 1) > 0)
        return TIDE_SCHED_DONE;
    park->due = tide_clock_mono_ns(tide_clock_system()) + 3600 * 1000000000LL;
    return TIDE_SCHED_PARK;
}

static int staller_run(void *ctx, bool stalled, tide_sched_park *park)
{
    staller *st = ctx;
    atomic_fetch_add(&st->runs, 1);
    if (stalled) {
        if (!atomic_load(&st->m->done))
            atomic_store(&st->early, 1);
        atomic_fetch_add(&st->stalled_runs, 1);
        if (st->far)
            tide_sched_wake(st->far);
        return TIDE_SCHED_DONE;
    }
    park->stall = true;
    return TIDE_SCHED_PARK;
}

/* Without timers pending the pool knows the stall at once; with a unit
 * parked on a far due time it takes two quiet ticks.  Either way, never
 * while the mover moves. */
static void test_stall_detector(void)
{
    for (int with_far = 0; with_far <= 1; with_far++) {
        static mover m;
        static staller sl;
        static _Atomic int far_runs;
        memset(&m, 0, sizeof m);
        memset(&sl, 0, sizeof sl);
        atomic_store(&far_runs, 0);
        m.limit = 40;
        sl.m = &m;
        tide_sched *s;
        tide_err e = {0};
        tide_sched_cfg cfg = {.workers = 2, .idle_tick_ns = 200000, .progress = &progress};
        TT_OK(tide_sched_create(&s, &cfg, &e));
        TT_OK(tide_sched_add(s, mover_run, &m, NULL, &e));
        TT_OK(tide_sched_add(s, staller_run, &sl, NULL, &e));
        if (with_far)
            TT_OK(tide_sched_add(s, far_run, &far_runs, &sl.far, &e));
        TT_OK(tide_sched_start(s, &e));
        tide_sched_wait(s); /* the staller ends only when stalled */
        tide_sched_stats st;
        tide_sched_stats_get(s, &st);
        tide_sched_free(s);
        TT_ASSERT_EQ_INT(atomic_load(&m.ticks), 40);
        TT_ASSERT_EQ_INT(atomic_load(&sl.stalled_runs), 1);
        TT_ASSERT_EQ_INT(atomic_load(&sl.early), 0);
        TT_ASSERT_EQ_INT(atomic_load(&sl.runs), 2); /* parked, never woken but by the stall */
        TT_ASSERT_EQ_INT(st.stalls, 1);
        TT_ASSERT_EQ_INT(atomic_load(&far_runs), with_far ? 2 : 0);
    }
}

/* ---- stop ---- */

static int spin_run(void *ctx, bool stalled, tide_sched_park *park)
{
    (void)stalled;
    (void)park;
    atomic_fetch_add((_Atomic long *)ctx, 1);
    return TIDE_SCHED_YIELD;
}

static void *stopper(void *arg)
{
    tide_sched *s = arg;
    tide_sched_stop(s);
    return NULL;
}

static void test_stop(void)
{
    static _Atomic long spins[5];
    tide_sched *s;
    tide_err e = {0};
    tide_sched_cfg cfg = {.workers = 2, .idle_tick_ns = 1000000};
    TT_OK(tide_sched_create(&s, &cfg, &e));
    for (int i = 0; i < 5; i++)
        TT_OK(tide_sched_add(s, spin_run, &spins[i], NULL, &e));
    TT_OK(tide_sched_start(s, &e));
    for (long k = 0; k < 400000000L; k++) {
        int low = 0;
        for (int i = 0; i < 5; i++)
            low += atomic_load(&spins[i]) < 100;
        if (!low)
            break;
        sched_yield();
    }
    pthread_t th;
    TT_ASSERT(pthread_create(&th, NULL, stopper, s) == 0);
    tide_sched_wait(s);
    pthread_join(th, NULL);
    for (int i = 0; i < 5; i++) /* every unit had quanta: 5 units always runnable on 2 workers */
        TT_ASSERT(atomic_load(&spins[i]) >= 100);
    tide_sched_free(s);
}

static void test_default_workers(void)
{
    setenv("TIDE_WORKERS", "3", 1);
    TT_ASSERT_EQ_INT(tide_sched_default_workers(), 3);
    setenv("TIDE_WORKERS", "0", 1); /* out of range: ignored */
    TT_ASSERT(tide_sched_default_workers() >= 2);
    setenv("TIDE_WORKERS", "2x", 1);
    TT_ASSERT(tide_sched_default_workers() >= 2);
    unsetenv("TIDE_WORKERS");
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    TT_ASSERT_EQ_INT(tide_sched_default_workers(), n > 2 ? n : 2);
}

int main(void)
{
    TT_RUN(test_token_ring);
    TT_RUN(test_due_fake_clock);
    TT_RUN(test_stall_detector);
    TT_RUN(test_stop);
    TT_RUN(test_default_workers);
    TT_DONE();
}
