/*
 * sched.c - the worker pool.  See sched.h for the contract and the order of
 * one loop.
 *
 * A unit's state is one atomic word, so that tide_sched_wake (any thread,
 * often a producer that just pushed a message) takes the mutex only when it
 * actually queues a parked unit:
 *
 *   IDLE      parked: wake (or a timer, under the mutex) CASes it to
 *             QUEUED and pushes it on the run queue (under the mutex);
 *   QUEUED    on the run queue: wake does nothing;
 *   RUNNING   a worker runs its quantum: wake CASes it to NOTIFIED;
 *   NOTIFIED  running, and woken meanwhile: if the quantum parks, the
 *             worker's CAS RUNNING -> IDLE fails and the unit is queued;
 *   DONE      finished.
 * A worker parks a unit by that CAS while holding the mutex, and a waker
 * pushes only after its own CAS, so a unit is on the run queue at most once
 * and never both parked and queued.
 *
 * Wakes from a quantum.  Most wakes come from a unit that just sent a
 * message, on a worker of the same pool, and most are cheap for the woken
 * unit (a watermark every batch, say) but dear for the pool: signalling a
 * sleeping worker is a futex wake, two context switches and a fight for
 * the mutex, per message.  So a wake made inside a quantum of this pool is
 * deferred: the unit is CASed to QUEUED at once (a second wake does
 * nothing) and kept on the worker's own list; when the quantum returns,
 * the worker moves the list onto the run queue without signalling.  A
 * sleeping worker is then signalled when the running unit's slice ends
 * (or it parks or ends) and units are still queued, or when the oldest
 * unsignalled push has waited DEFER_NS; otherwise the worker runs them
 * itself after its slice.  So a queued unit waits at most
 * min(slice, DEFER_NS) for a worker, and a producer that sends thousands
 * of messages a second wakes a sleeping worker a few thousand times at
 * most, not once per message.
 */
#include "exec/sched.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { U_IDLE, U_QUEUED, U_RUNNING, U_NOTIFIED, U_DONE };

#define DEFER_NS 250000 /* the longest a deferred wake keeps sleeping workers asleep */

/* The worker this thread is, while it runs a quantum: its deferred wakes. */
typedef struct worker_local {
    tide_sched *s;
    tide_sched_unit *head, *tail; /* QUEUED units, not yet on the run queue */
} worker_local;

static _Thread_local worker_local *tl_worker;

struct tide_sched_unit {
    tide_sched *s;
    tide_sched_run_fn run;
    void *ctx;
    _Atomic int state;
    tide_sched_unit *next; /* run queue link (under mu) */
    /* what it parked for (under mu) */
    int64_t due;
    bool tick, stall;
    bool stalled; /* the stall detector kicked it: tell its next quantum */
};

struct tide_sched {
    tide_sched_cfg cfg;
    tide_sched_unit **units;
    uint32_t n_units;
    pthread_t *threads;
    uint32_t n_threads;
    bool started;

    pthread_mutex_t mu;
    pthread_cond_t cv;          /* idle workers sleep here */
    tide_sched_unit *head, *tail; /* the run queue */
    uint32_t live;              /* units not DONE */
    uint32_t idle;              /* workers asleep on cv */
    uint32_t running;           /* quanta running now */
    bool stop;
    int64_t next_tick;          /* real mono ns of the next tick */
    int64_t min_due;            /* <= every parked unit's due (INT64_MAX: none) */
    uint64_t tick_progress;     /* progress at the last tick */
    uint32_t quiet_ticks;       /* quiet ticks in a row */
    int64_t unsignalled_since;  /* real ns of the oldest push no signal followed (0: none) */
    tide_sched_stats st;
};

static int64_t real_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

uint32_t tide_sched_default_workers(void)
{
    const char *env = getenv("TIDE_WORKERS");
    if (env && *env) {
        char *end;
        long v = strtol(env, &end, 10);
        if (*end == '\0' && v >= 1 && v <= 1024)
            return (uint32_t)v;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 2 ? (uint32_t)(n < 1024 ? n : 1024) : 2;
}

int tide_sched_create(tide_sched **out, const tide_sched_cfg *cfg, tide_err *e)
{
    *out = NULL;
    tide_sched *s = calloc(1, sizeof *s);
    if (!s)
        return tide_err_set(e, TIDE_ENOMEM, "scheduler: out of memory");
    s->cfg = *cfg;
    if (!s->cfg.workers)
        s->cfg.workers = tide_sched_default_workers();
    if (s->cfg.idle_tick_ns <= 0)
        s->cfg.idle_tick_ns = 1000000;
    if (s->cfg.slice_ns <= 0)
        s->cfg.slice_ns = 2000000;
    if (!s->cfg.clock)
        s->cfg.clock = tide_clock_system();
    s->min_due = INT64_MAX;
    pthread_condattr_t ca;
    bool mu_ok = pthread_mutex_init(&s->mu, NULL) == 0;
    int rc = pthread_condattr_init(&ca);
    if (rc == 0) {
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        rc = pthread_cond_init(&s->cv, &ca);
        pthread_condattr_destroy(&ca);
    }
    if (!mu_ok || rc != 0) {
        if (mu_ok)
            pthread_mutex_destroy(&s->mu);
        if (rc == 0)
            pthread_cond_destroy(&s->cv);
        free(s);
        return tide_err_set(e, TIDE_ENOMEM, "scheduler: mutex or condition variable init failed");
    }
    *out = s;
    return 0;
}

void tide_sched_free(tide_sched *s)
{
    if (!s)
        return;
    if (s->started) {
        tide_sched_stop(s);
        tide_sched_wait(s);
    }
    for (uint32_t i = 0; i < s->n_units; i++)
        free(s->units[i]);
    free(s->units);
    free(s->threads);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

int tide_sched_add(tide_sched *s, tide_sched_run_fn run, void *ctx, tide_sched_unit **out, tide_err *e)
{
    if (s->started)
        return tide_err_set(e, TIDE_EINVAL, "scheduler: unit added after start");
    tide_sched_unit **n = realloc(s->units, (s->n_units + 1) * sizeof *n);
    if (!n)
        return tide_err_set(e, TIDE_ENOMEM, "scheduler: out of memory");
    s->units = n;
    tide_sched_unit *u = calloc(1, sizeof *u);
    if (!u)
        return tide_err_set(e, TIDE_ENOMEM, "scheduler: out of memory");
    u->s = s;
    u->run = run;
    u->ctx = ctx;
    u->due = INT64_MAX;
    atomic_init(&u->state, U_QUEUED);
    s->units[s->n_units++] = u;
    if (out)
        *out = u;
    return 0;
}

/* ---- the run queue (under mu) ---- */

/* u to the end of the list (head, tail): the run queue or a worker's
 * deferred wakes. */
static void append(tide_sched_unit **head, tide_sched_unit **tail, tide_sched_unit *u)
{
    u->next = NULL;
    if (*tail)
        (*tail)->next = u;
    else
        *head = u;
    *tail = u;
}

static void push_quiet(tide_sched *s, tide_sched_unit *u) { append(&s->head, &s->tail, u); }

/* One sleeping worker, if any, is told that units are queued. */
static void signal_idle(tide_sched *s)
{
    s->unsignalled_since = 0;
    if (s->idle)
        pthread_cond_signal(&s->cv);
}

static void push(tide_sched *s, tide_sched_unit *u)
{
    push_quiet(s, u);
    signal_idle(s);
}

static tide_sched_unit *pop(tide_sched *s)
{
    tide_sched_unit *u = s->head;
    if (u) {
        s->head = u->next;
        if (!s->head) {
            s->tail = NULL;
            s->unsignalled_since = 0;
        }
    }
    return u;
}

/* A parked unit to the run queue (under mu).  False if it was not parked. */
static bool queue_parked(tide_sched *s, tide_sched_unit *u)
{
    int st = U_IDLE;
    if (!atomic_compare_exchange_strong_explicit(&u->state, &st, U_QUEUED, memory_order_acq_rel,
                                                 memory_order_acquire))
        return false;
    push(s, u);
    return true;
}

void tide_sched_wake(void *unit)
{
    tide_sched_unit *u = unit;
    tide_sched *s = u->s;
    int st = atomic_load_explicit(&u->state, memory_order_acquire);
    for (;;) {
        if (st == U_IDLE) {
            if (atomic_compare_exchange_weak_explicit(&u->state, &st, U_QUEUED, memory_order_acq_rel,
                                                      memory_order_acquire)) {
                worker_local *w = tl_worker;
                if (w && w->s == s) { /* inside a quantum of this pool: deferred */
                    append(&w->head, &w->tail, u);
                    return;
                }
                pthread_mutex_lock(&s->mu);
                push(s, u);
                s->st.wakes++;
                pthread_mutex_unlock(&s->mu);
                return;
            }
        } else if (st == U_RUNNING) {
            if (atomic_compare_exchange_weak_explicit(&u->state, &st, U_NOTIFIED, memory_order_acq_rel,
                                                      memory_order_acquire))
                return;
        } else {
            return; /* queued, already notified, or done */
        }
    }
}

/* ---- timers (under mu) ---- */

/* Queue every parked unit that waits for a stall, `stalled` set. */
static bool kick_stalled(tide_sched *s)
{
    bool any = false;
    for (uint32_t i = 0; i < s->n_units; i++) {
        tide_sched_unit *u = s->units[i];
        if (u->stall && atomic_load_explicit(&u->state, memory_order_acquire) == U_IDLE) {
            u->stalled = true;
            any |= queue_parked(s, u);
        }
    }
    if (any)
        s->st.stalls++;
    return any;
}

/* A worker found nothing to run and none runs: if no parked unit waits
 * for a tick or a due time either, nothing but a wake from outside can
 * ever run a unit again: a stall, at once (sched.h). */
static bool quiet_for_good(tide_sched *s)
{
    if (s->running || s->head || !s->cfg.progress)
        return false;
    for (uint32_t i = 0; i < s->n_units; i++) {
        tide_sched_unit *u = s->units[i];
        if ((u->tick || u->due != INT64_MAX) && atomic_load_explicit(&u->state, memory_order_acquire) == U_IDLE)
            return false;
    }
    return kick_stalled(s);
}

/* The stall detector, at a tick (sched.h). */
static void check_stall(tide_sched *s)
{
    if (!s->cfg.progress)
        return;
    uint64_t p = atomic_load_explicit(s->cfg.progress, memory_order_relaxed);
    bool quiet = !s->head && s->running == 0 && p == s->tick_progress;
    s->tick_progress = p;
    s->quiet_ticks = quiet ? s->quiet_ticks + 1 : 0;
    if (s->quiet_ticks < 2)
        return;
    s->quiet_ticks = 0;
    kick_stalled(s);
}

/* Queue the parked units whose tick or due time came; recompute min_due. */
static void fire_timers(tide_sched *s, bool tick, int64_t now)
{
    int64_t min_due = INT64_MAX;
    for (uint32_t i = 0; i < s->n_units; i++) {
        tide_sched_unit *u = s->units[i];
        if (atomic_load_explicit(&u->state, memory_order_acquire) != U_IDLE)
            continue;
        if ((tick && u->tick) || u->due <= now) {
            if (queue_parked(s, u))
                s->st.timer_wakes++;
        } else if (u->due < min_due) {
            min_due = u->due;
        }
    }
    s->min_due = min_due;
}

static void timers(tide_sched *s)
{
    int64_t rnow = real_ns();
    bool tick = rnow >= s->next_tick;
    if (tick) {
        s->next_tick = rnow + s->cfg.idle_tick_ns;
        check_stall(s);
    }
    if (tick || s->min_due != INT64_MAX) {
        int64_t now = tide_clock_mono_ns(s->cfg.clock);
        if (tick || now >= s->min_due)
            fire_timers(s, tick, now);
    }
}

/* Sleep until woken, the next tick, or the earliest due time; without a
 * tick or a due time to wait for, until woken (an idle pool costs no
 * wakeups). */
static void idle_wait(tide_sched *s)
{
    bool timed = s->min_due != INT64_MAX;
    for (uint32_t i = 0; i < s->n_units && !timed; i++)
        timed = s->units[i]->tick && atomic_load_explicit(&s->units[i]->state, memory_order_acquire) == U_IDLE;
    int64_t rnow = real_ns();
    s->idle++;
    if (!timed) {
        pthread_cond_wait(&s->cv, &s->mu);
        s->idle--;
        s->st.idle_ns += real_ns() - rnow;
        return;
    }
    int64_t wait = s->next_tick - rnow;
    if (s->min_due != INT64_MAX) {
        int64_t d = s->min_due - tide_clock_mono_ns(s->cfg.clock);
        if (d < wait)
            wait = d;
    }
    if (wait > 0) {
        int64_t until = rnow + wait;
        struct timespec ts = {.tv_sec = (time_t)(until / 1000000000), .tv_nsec = (long)(until % 1000000000)};
        pthread_cond_timedwait(&s->cv, &s->mu, &ts);
    }
    s->idle--;
    s->st.idle_ns += real_ns() - rnow;
}

/* ---- workers ---- */

/* The quantum's deferred wakes onto the run queue (under mu), unsignalled. */
static void push_deferred(tide_sched *s, worker_local *w, int64_t now)
{
    if (!w->head)
        return;
    for (tide_sched_unit *u = w->head, *next; u; u = next) {
        next = u->next;
        push_quiet(s, u);
        s->st.wakes++;
    }
    w->head = w->tail = NULL;
    if (!s->unsignalled_since)
        s->unsignalled_since = now;
}

static void *worker(void *arg)
{
    tide_sched *s = arg;
    tide_sched_unit *keep = NULL; /* a unit that yielded within its slice */
    int64_t slice_end = 0;
    worker_local wl = {.s = s};
    pthread_mutex_lock(&s->mu);
    while (!s->stop && s->live > 0) {
        timers(s);
        tide_sched_unit *u = keep;
        keep = NULL;
        if (!u) {
            u = pop(s);
            if (!u) {
                if (!quiet_for_good(s))
                    idle_wait(s);
                continue;
            }
            slice_end = real_ns() + s->cfg.slice_ns;
        }
        atomic_store_explicit(&u->state, U_RUNNING, memory_order_release);
        bool stalled = u->stalled;
        u->stalled = false;
        s->running++;
        if (s->running > s->st.max_running)
            s->st.max_running = s->running;
        s->st.quanta++;
        pthread_mutex_unlock(&s->mu);

        tide_sched_park park = {.due = INT64_MAX};
        tl_worker = &wl;
        int v = u->run(u->ctx, stalled, &park);
        tl_worker = NULL;

        int64_t now = real_ns();
        pthread_mutex_lock(&s->mu);
        s->running--;
        push_deferred(s, &wl, now);
        if (v == TIDE_SCHED_DONE) {
            atomic_store_explicit(&u->state, U_DONE, memory_order_release);
            if (--s->live == 0)
                pthread_cond_broadcast(&s->cv);
        } else if (v == TIDE_SCHED_PARK) {
            s->st.parks++;
            u->due = park.due;
            u->tick = park.tick;
            u->stall = park.stall;
            int st = U_RUNNING;
            if (atomic_compare_exchange_strong_explicit(&u->state, &st, U_IDLE, memory_order_acq_rel,
                                                        memory_order_acquire)) {
                if (park.due < s->min_due)
                    s->min_due = park.due;
            } else { /* woken while it ran */
                atomic_store_explicit(&u->state, U_QUEUED, memory_order_release);
                push(s, u);
            }
        } else if (now < slice_end) {
            keep = u; /* its slice goes on: the next quantum on this worker */
        } else {
            atomic_store_explicit(&u->state, U_QUEUED, memory_order_release);
            push(s, u);
        }
        /* deferred pushes: a sleeping worker takes them when this one
         * goes on with its unit and they waited long enough, or when this
         * one takes the head and more are queued */
        if (s->unsignalled_since && s->head &&
            (keep ? now - s->unsignalled_since >= DEFER_NS : s->head != s->tail))
            signal_idle(s);
    }
    if (keep) { /* stopped: leave it queued */
        atomic_store_explicit(&keep->state, U_QUEUED, memory_order_release);
        push(s, keep);
    }
    pthread_cond_broadcast(&s->cv); /* the others see stop or live == 0 too */
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

int tide_sched_start(tide_sched *s, tide_err *e)
{
    if (s->started)
        return tide_err_set(e, TIDE_EINVAL, "scheduler: started twice");
    s->started = true;
    pthread_mutex_lock(&s->mu);
    for (uint32_t i = 0; i < s->n_units; i++)
        push(s, s->units[i]);
    s->live = s->n_units;
    s->next_tick = real_ns() + s->cfg.idle_tick_ns;
    pthread_mutex_unlock(&s->mu);
    uint32_t n = s->cfg.workers < s->n_units ? s->cfg.workers : s->n_units;
    s->threads = calloc(n ? n : 1, sizeof *s->threads);
    if (!s->threads)
        return tide_err_set(e, TIDE_ENOMEM, "scheduler: out of memory for %u threads", n);
    for (uint32_t i = 0; i < n; i++) {
        if (pthread_create(&s->threads[i], NULL, worker, s) != 0)
            return tide_err_set(e, TIDE_ENOMEM, "scheduler: cannot create worker thread %u of %u", i + 1, n);
        s->n_threads++;
        pthread_mutex_lock(&s->mu);
        s->st.workers = s->n_threads;
        pthread_mutex_unlock(&s->mu);
    }
    return 0;
}

void tide_sched_wait(tide_sched *s)
{
    for (uint32_t i = 0; i < s->n_threads; i++)
        pthread_join(s->threads[i], NULL);
    s->n_threads = 0;
}

void tide_sched_stop(tide_sched *s)
{
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

void tide_sched_stats_get(tide_sched *s, tide_sched_stats *out)
{
    pthread_mutex_lock(&s->mu);
    *out = s->st;
    pthread_mutex_unlock(&s->mu);
}
