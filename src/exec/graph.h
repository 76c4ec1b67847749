/*
 * graph.h - a job graph: tasks connected by bounded channels, run on a
 * fixed pool of worker threads.
 *
 *   tide_graph *g;
 *   tide_graph_create(&g, &cfg, &e);
 *   tide_graph_add(g, "src", &source_op, src_state, &src, &e);
 *   tide_graph_add(g, "count0", &count_op, st0, &c0, &e);  ... c1
 *   tide_graph_add(g, "sink", &sink_op, sink_state, &sink, &e);
 *   int counters[2] = {c0, c1};
 *   tide_graph_connect_hash(g, src, counters, 2, key_fn, NULL, NULL, &e);
 *   tide_graph_connect(g, c0, sink, NULL, &e);
 *   tide_graph_connect(g, c1, sink, NULL, &e);
 *   rc = tide_graph_run(g, &e);   -- start the pool, wait for every task
 *   tide_graph_free(g);
 *
 * Threads: the tasks run in quanta on a pool of cfg.workers threads
 * (exec/sched.h; started by tide_graph_start, joined by tide_graph_wait),
 * however many tasks there are: at most min(workers, tasks) threads.  A
 * task is run when it has something to do (exec/task.h: input, room behind
 * a backlog, a barrier request, a flush deadline, a tick for an idle
 * source) and parks otherwise, so idle tasks cost no CPU and no thread.
 *
 * Errors: the first task that fails records its error (code and message
 * "task NAME: ...") in the graph, then every channel is aborted and every
 * task woken, so all threads return; tide_graph_wait / run report that first
 * error.  Later failures caused by the stop are not reported.
 *
 * Memory: each channel holds at most chan_capacity messages of at most
 * batch_rows items, plus one pending batch per output channel, plus the
 * backlog of its producer (at most the output of one input message or poll,
 * exec/task.h "Backpressure"), plus the consumer's alignment queue (up to 2
 * capacities unless the pool stalled), whatever the speed of the tasks.
 *
 * Threading of the API: build, run and free from one thread;
 * tide_graph_inject_barrier, tide_graph_cancel and the stats getters may be
 * called from any thread while the graph runs.
 */
#ifndef TIDE_EXEC_GRAPH_H
#define TIDE_EXEC_GRAPH_H

#include "exec/channel.h"
#include "exec/task.h"

typedef struct tide_graph tide_graph;

typedef struct tide_graph_cfg {
    tide_task_batch_type batch; /* default batch type of every port (see connect_hash) */
    uint32_t batch_rows;        /* items per batch; 0: 1024 */
    int64_t latency_ns;         /* flush bound; 0: 5 ms (use 1 for "at the next check") */
    int64_t idle_tick_ns;       /* longest idle sleep; 0: 1 ms */
    uint32_t flush_check_every; /* emits between clock checks; 0: 16 */
    uint32_t chan_capacity;     /* messages per channel; 0: 8 */
    uint32_t workers;           /* pool threads; 0: tide_sched_default_workers() ($TIDE_WORKERS, else CPUs, >= 2) */
    const tide_clock *clock;    /* NULL: the system clock */
    int64_t barrier_base;       /* barrier ids continue after it (0: they start at 1) */
} tide_graph_cfg;

int tide_graph_create(tide_graph **out, const tide_graph_cfg *cfg, tide_err *e);
/* Stops and joins a running graph first; frees tasks (and operator states),
 * channels and the batches still queued in them.  NULL is a no-op. */
void tide_graph_free(tide_graph *g);

/* Add a task running `op` on `state`; *id gets its number.  `state` belongs
 * to the graph from now on, even when this fails.  `op` must outlive the
 * graph. */
int tide_graph_add(tide_graph *g, const char *name, const tide_task_op *op, void *state, int *id,
                   tide_err *e);
/* A forward edge: a new output port of `from` (number in *port, may be NULL)
 * feeding a new input of `to`, carrying batches of the graph's batch type. */
int tide_graph_connect(tide_graph *g, int from, int to, uint32_t *port, tide_err *e);
/* A hash exchange: a new output port of `from` over n channels, channel k
 * feeding a new input of to[k]; `key` routes each item (n == 1: forward,
 * key may be NULL).  `bt` (copied; NULL: the graph's) is the port's batch
 * type, e.g. one per schema. */
int tide_graph_connect_hash(tide_graph *g, int from, const int *to, uint32_t n, tide_task_key_fn key,
                            void *key_ctx, const tide_task_batch_type *bt, uint32_t *port,
                            tide_err *e);

/* Start the pool.  TIDE_EINVAL if already started. */
int tide_graph_start(tide_graph *g, tide_err *e);
/* Until every task ended; joins the pool.  0, or the first task's error
 * (code and message). */
int tide_graph_wait(tide_graph *g, tide_err *e);
/* start + wait. */
int tide_graph_run(tide_graph *g, tide_err *e);

/* Stop a running graph from outside: it fails with TIDE_EFAILED "cancelled"
 * unless it already failed. */
void tide_graph_cancel(tide_graph *g);
/* Ask every source task to emit the next checkpoint barrier (ids base+1, ...)
 * between two polls, after its on_barrier.  Returns the id. */
int64_t tide_graph_inject_barrier(tide_graph *g);

/* Task `id` (as tide_graph_add numbered it), NULL if none. */
tide_task *tide_graph_task(const tide_graph *g, int id);
size_t tide_graph_task_count(const tide_graph *g);
void tide_graph_task_stats(const tide_graph *g, int id, tide_task_stats *out);
size_t tide_graph_chan_count(const tide_graph *g);
/* The pool's counters (zeros before start). */
void tide_graph_sched_stats(const tide_graph *g, tide_sched_stats *out);
/* Channel i (in order of creation); `name` (may be NULL) gets "from->to". */
void tide_graph_chan_stats(const tide_graph *g, size_t i, tide_chan_stats *out, const char **name);

#endif
