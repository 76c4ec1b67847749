/*
 * sched.h - a fixed pool of worker threads running cooperative units.
 *
 * A unit is anything that does its work in bounded steps and never blocks:
 * in tide, one task of the dataflow runtime (exec/task.h).  The pool runs
 * many units on a few threads (by default one per online CPU, at least 2):
 * a worker takes a runnable unit off the run queue, calls its run function
 * once (one quantum), and the function says what happens next:
 *
 *   YIELD  it could go on: the same worker runs its next quantum while its
 *          slice (cfg.slice_ns of real time since the worker took it off
 *          the run queue) lasts, then it goes to the back of the queue;
 *   PARK   it waits: it runs again when something wakes it
 *          (tide_sched_wake, from any thread: e.g. a channel's signal hook
 *          when a message arrived or room appeared), when the clock reaches
 *          park.due, at the next idle tick (park.tick), or when the pool
 *          stalls (park.stall, see below);
 *   DONE   it finished (or failed): never run again.
 *
 * A wake that arrives while the unit runs is kept: if the quantum then
 * parks, the unit is queued again at once, so a wake is never lost.  The
 * waker protocol for a unit that parks on a condition is the channel
 * signal's (exec/channel.h): register (prepare), re-check the condition,
 * then return PARK; a notify after the prepare wakes the unit.
 *
 * One loop of a worker, under the pool's mutex:
 *   1. timers: when a tick passed (idle_tick_ns of real time since the
 *      last), the stall detector looks at the pool (below), then every
 *      parked unit that asked for a tick is queued; when the injected
 *      clock reached the earliest due time of a parked unit, every parked
 *      unit whose due time passed is queued (a sorted check of the parked
 *      units: the pool holds tens of units, not millions);
 *   2. run the quantum (without the mutex) of the unit whose slice goes
 *      on, else of the unit at the head of the run queue; or, with
 *      nothing to run (and no stall, below), sleep until woken or the
 *      next tick or due time, whichever is first (at most one tick of real
 *      time, so a fake clock that moved is re-read); with no parked unit
 *      waiting for a tick or a due time, until woken: an idle pool wakes
 *      nobody.
 * Busy workers go through step 1 between quanta, so timers fire under load
 * too.
 *
 * The stall detector (on when cfg.progress is given): the pool stalled when
 * no unit is runnable or running and no message moves.  Exactly: a worker
 * that finds nothing to run while none runs, and no parked unit waits for
 * a tick or a due time, knows that only a wake from outside the pool
 * could ever run a unit again: a stall, at once.  Otherwise (timers
 * pending), at each tick the pool is quiet when no unit is queued, none is
 * running and the progress counter (messages sent by any unit) did not
 * move since the previous tick; two quiet ticks in a row are a stall.  On
 * a stall every parked unit that asked for it (park.stall) runs with
 * `stalled` set: the graph is stuck on it (exec/task.h: an input it does
 * not read has a full channel) and it may take that input's messages
 * beyond its usual budget.
 *
 * The pool ends when every unit is DONE or on tide_sched_stop; units still
 * parked or queued then are not run again.
 *
 * Threads: create, add, start, wait and free from one thread; wake, stop
 * and the getters from any thread.
 */
#ifndef TIDE_EXEC_SCHED_H
#define TIDE_EXEC_SCHED_H

#include "base/clock.h"
#include "base/err.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct tide_sched tide_sched;
typedef struct tide_sched_unit tide_sched_unit;

typedef enum tide_sched_verdict {
    TIDE_SCHED_YIELD,
    TIDE_SCHED_PARK,
    TIDE_SCHED_DONE,
} tide_sched_verdict;

/* What a parking unit waits for besides a wake (filled by its quantum;
 * the pool presets due = INT64_MAX, tick = stall = false). */
typedef struct tide_sched_park {
    int64_t due; /* run again once the injected clock's mono_ns >= due */
    bool tick;   /* run again at the next idle tick (e.g. a source with nothing now) */
    bool stall;  /* run again, `stalled` set, when the pool stalls */
} tide_sched_park;

/* One quantum: bounded work, no blocking.  `stalled`: the pool stalled
 * since this unit parked asking for it.  Returns a tide_sched_verdict. */
typedef int (*tide_sched_run_fn)(void *ctx, bool stalled, tide_sched_park *park);

typedef struct tide_sched_cfg {
    uint32_t workers;               /* threads; 0: tide_sched_default_workers() */
    int64_t idle_tick_ns;           /* real time between ticks; 0: 1 ms */
    int64_t slice_ns;               /* real time a yielding unit keeps its worker; 0: 2 ms */
    const tide_clock *clock;        /* due times; NULL: the system clock */
    _Atomic uint64_t *progress;     /* the stall detector's counter (may be NULL: never stalls) */
} tide_sched_cfg;

/* $TIDE_WORKERS when it is a number in 1..1024, else the number of online
 * CPUs, at least 2. */
uint32_t tide_sched_default_workers(void);

int tide_sched_create(tide_sched **out, const tide_sched_cfg *cfg, tide_err *e);
/* Stops and joins a running pool first.  NULL is a no-op.  Units' contexts
 * are not touched. */
void tide_sched_free(tide_sched *s);

/* A unit (runnable at start), before start.  *out (may be NULL) gets its
 * handle, valid until the pool is freed. */
int tide_sched_add(tide_sched *s, tide_sched_run_fn run, void *ctx, tide_sched_unit **out, tide_err *e);

/* Start min(workers, units) threads.  TIDE_EINVAL if started twice,
 * TIDE_ENOMEM if no thread could be made (the pool then runs on those
 * made, if any). */
int tide_sched_start(tide_sched *s, tide_err *e);
/* Until every unit is DONE or the pool stopped; joins the threads. */
void tide_sched_wait(tide_sched *s);
/* Any thread: the workers return after their current quantum. */
void tide_sched_stop(tide_sched *s);

/* Any thread: make a parked unit runnable (kept if it is running now;
 * nothing if queued or done).  From a quantum of the same pool the unit
 * joins the run queue when that quantum returns, and a sleeping worker is
 * signalled for it within 250 us or at the end of the running unit's slice
 * (sched.c, "Wakes from a quantum").  A void * for hooks: `unit` is a
 * tide_sched_unit *. */
void tide_sched_wake(void *unit);

typedef struct tide_sched_stats {
    uint32_t workers;      /* threads started */
    uint32_t max_running;  /* most quanta running at once */
    uint64_t quanta;       /* run calls */
    uint64_t parks;        /* quanta that parked */
    uint64_t wakes;        /* parked units queued by a wake */
    uint64_t timer_wakes;  /* parked units queued by a due time or a tick */
    uint64_t stalls;       /* times the stall detector fired */
    int64_t idle_ns;       /* real time workers slept with nothing to run, summed over workers */
} tide_sched_stats;
/* Any thread (a snapshot under the mutex). */
void tide_sched_stats_get(tide_sched *s, tide_sched_stats *out);

#endif
