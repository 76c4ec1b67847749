/*
 * graph.c - building and running a job graph.  See graph.h.
 */
#include "exec/graph.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct graph_task {
    tide_task *task;
} graph_task;

struct tide_graph {
    tide_task_env env;
    uint32_t chan_capacity;
    graph_task *tasks;
    size_t n_tasks;
    tide_chan **chans;
    tide_task_batch_type *chan_bt; /* batch type of each channel's batches */
    size_t n_chans;
    uint32_t workers;
    tide_sched *sched; /* the pool, from start */
    bool started;
    _Atomic int64_t next_barrier;
    int64_t barrier_base;

    pthread_mutex_t mu; /* guards err */
    tide_err err;       /* the first task error */
};

static void graph_fail(void *ctx, tide_task *t, int code, const char *msg);

int tide_graph_create(tide_graph **out, const tide_graph_cfg *cfg, tide_err *e)
{
    *out = NULL;
    tide_graph *g = calloc(1, sizeof *g);
    if (!g)
        return tide_err_set(e, TIDE_ENOMEM, "graph: out of memory");
    if (pthread_mutex_init(&g->mu, NULL) != 0) {
        free(g);
        return tide_err_set(e, TIDE_ENOMEM, "graph: mutex init failed");
    }
    g->env.batch = cfg->batch;
    g->env.batch_rows = cfg->batch_rows ? cfg->batch_rows : 1024;
    g->env.latency_ns = cfg->latency_ns > 0 ? cfg->latency_ns : 5 * 1000000LL;
    g->env.idle_tick_ns = cfg->idle_tick_ns > 0 ? cfg->idle_tick_ns : 1000000LL;
    g->env.flush_check_every = cfg->flush_check_every ? cfg->flush_check_every : 16;
    g->env.clock = cfg->clock ? cfg->clock : tide_clock_system();
    atomic_init(&g->env.stop, 0);
    atomic_init(&g->env.progress, 0);
    g->workers = cfg->workers;
    g->env.fail = graph_fail;
    g->env.fail_ctx = g;
    g->chan_capacity = cfg->chan_capacity ? cfg->chan_capacity : 8;
    g->barrier_base = cfg->barrier_base > 0 ? cfg->barrier_base : 0;
    atomic_init(&g->next_barrier, g->barrier_base);
    *out = g;
    return 0;
}

/* Record the first error, then stop everything: fail every channel, stop
 * the pool (if it was started: tide_graph_start looks at the error after
 * publishing the pool, under the same mutex). */
static void graph_fail(void *ctx, tide_task *t, int code, const char *msg)
{
    tide_graph *g = ctx;
    (void)t;
    pthread_mutex_lock(&g->mu);
    if (!tide_err_failed(&g->err))
        tide_err_set(&g->err, code, "%s", msg);
    tide_sched *s = g->sched;
    pthread_mutex_unlock(&g->mu);
    atomic_store_explicit(&g->env.stop, 1, memory_order_release);
    for (size_t i = 0; i < g->n_chans; i++)
        tide_chan_abort(g->chans[i]);
    if (s)
        tide_sched_stop(s);
}

void tide_graph_cancel(tide_graph *g) { graph_fail(g, NULL, TIDE_EFAILED, "graph cancelled"); }

void tide_graph_free(tide_graph *g)
{
    if (!g)
        return;
    if (g->sched) {
        /* stop and join the pool, and unhook the tasks from its units
         * before freeing them: draining a channel below notifies its
         * producer's signal */
        tide_sched_stop(g->sched);
        tide_sched_wait(g->sched);
        for (size_t i = 0; i < g->n_tasks; i++)
            tide_task_set_waker(g->tasks[i].task, NULL, NULL);
        tide_sched_free(g->sched);
        g->sched = NULL;
    }
    for (size_t i = 0; i < g->n_chans; i++) {
        tide_chan_msg m;
        while (tide_chan_drain_one(g->chans[i], &m) == 1)
            if (m.kind == TIDE_CHAN_DATA && m.u.batch && g->chan_bt[i].free)
                g->chan_bt[i].free(g->chan_bt[i].ctx, m.u.batch);
        tide_chan_free(g->chans[i]);
    }
    for (size_t i = 0; i < g->n_tasks; i++)
        tide_task_free(g->tasks[i].task);
    free(g->chans);
    free(g->chan_bt);
    free(g->tasks);
    pthread_mutex_destroy(&g->mu);
    free(g);
}

int tide_graph_add(tide_graph *g, const char *name, const tide_task_op *op, void *state, int *id,
                   tide_err *e)
{
    int rc;
    if (g->started) {
        rc = tide_err_set(e, TIDE_EINVAL, "graph: add %s after start", name);
        goto fail;
    }
    graph_task *n = realloc(g->tasks, (g->n_tasks + 1) * sizeof *n);
    if (!n) {
        rc = tide_err_set(e, TIDE_ENOMEM, "graph: out of memory adding %s", name);
        goto fail;
    }
    g->tasks = n;
    tide_task *t;
    if ((rc = tide_task_create(&t, name, op, state, &g->env, e)) != 0)
        return rc; /* the task freed the state */
    g->tasks[g->n_tasks] = (graph_task){.task = t};
    if (tide_task_is_source(t))
        tide_task_skip_barriers(t, g->barrier_base);
    if (id)
        *id = (int)g->n_tasks;
    g->n_tasks++;
    return 0;
fail:
    if (op->free && state)
        op->free(state);
    return rc;
}

static int check_id(tide_graph *g, int id, tide_err *e)
{
    if (id < 0 || (size_t)id >= g->n_tasks)
        return tide_err_set(e, TIDE_EINVAL, "graph: no task %d", id);
    return 0;
}

/* A new channel from->to carrying batches of type bt, owned by the graph. */
static int new_chan(tide_graph *g, int from, int to, const tide_task_batch_type *bt, tide_chan **out,
                    tide_err *e)
{
    char name[256];
    snprintf(name, sizeof name, "%s->%s", tide_task_name(g->tasks[from].task),
             tide_task_name(g->tasks[to].task));
    tide_chan **n = realloc(g->chans, (g->n_chans + 1) * sizeof *n);
    if (n)
        g->chans = n;
    tide_task_batch_type *nb = realloc(g->chan_bt, (g->n_chans + 1) * sizeof *nb);
    if (nb)
        g->chan_bt = nb;
    if (!n || !nb)
        return tide_err_set(e, TIDE_ENOMEM, "graph: out of memory for channel %s", name);
    int rc = tide_chan_create(out, g->chan_capacity, name, e);
    if (rc == 0) {
        g->chan_bt[g->n_chans] = *bt;
        g->chans[g->n_chans++] = *out;
    }
    return rc;
}

int tide_graph_connect_hash(tide_graph *g, int from, const int *to, uint32_t n, tide_task_key_fn key,
                            void *key_ctx, const tide_task_batch_type *bt, uint32_t *port, tide_err *e)
{
    int rc;
    if (!bt)
        bt = &g->env.batch;
    tide_chan **chans = NULL;
    if (g->started)
        return tide_err_set(e, TIDE_EINVAL, "graph: connect after start");
    if ((rc = check_id(g, from, e)) != 0)
        return rc;
    if (n == 0 || (n > 1 && !key))
        return tide_err_set(e, TIDE_EINVAL, "graph: edge from %s over %u channels needs a key",
                            tide_task_name(g->tasks[from].task), n);
    for (uint32_t k = 0; k < n; k++)
        if ((rc = check_id(g, to[k], e)) != 0)
            return rc;
    if (tide_task_is_source(g->tasks[to[0]].task))
        return tide_err_set(e, TIDE_EINVAL, "graph: source %s takes no input",
                            tide_task_name(g->tasks[to[0]].task));
    chans = calloc(n, sizeof *chans);
    if (!chans)
        return tide_err_set(e, TIDE_ENOMEM, "graph: out of memory");
    /* Channels first (owned by the graph once created), then wire them. */
    for (uint32_t k = 0; k < n; k++)
        if ((rc = new_chan(g, from, to[k], bt, &chans[k], e)) != 0)
            goto done;
    for (uint32_t k = 0; k < n; k++)
        if ((rc = tide_task_add_input(g->tasks[to[k]].task, chans[k], bt, e)) != 0)
            goto done;
    rc = tide_task_add_output(g->tasks[from].task, chans, n, n > 1 ? key : NULL, key_ctx, bt, port, e);
done:
    free(chans);
    return rc;
}

int tide_graph_connect(tide_graph *g, int from, int to, uint32_t *port, tide_err *e)
{
    return tide_graph_connect_hash(g, from, &to, 1, NULL, NULL, NULL, port, e);
}

static int task_quantum(void *ctx, bool stalled, tide_sched_park *park)
{
    return tide_task_step(ctx, stalled, park);
}

int tide_graph_start(tide_graph *g, tide_err *e)
{
    int rc;
    if (g->started)
        return tide_err_set(e, TIDE_EINVAL, "graph: already started");
    g->started = true;
    tide_sched_cfg sc = {.workers = g->workers,
                         .idle_tick_ns = g->env.idle_tick_ns,
                         .clock = g->env.clock,
                         .progress = &g->env.progress};
    tide_sched *s;
    if ((rc = tide_sched_create(&s, &sc, e)) != 0)
        return rc;
    tide_sched_unit **units = calloc(g->n_tasks ? g->n_tasks : 1, sizeof *units);
    if (!units) {
        tide_sched_free(s);
        return tide_err_set(e, TIDE_ENOMEM, "graph: out of memory");
    }
    for (size_t i = 0; i < g->n_tasks; i++)
        if ((rc = tide_sched_add(s, task_quantum, g->tasks[i].task, &units[i], e)) != 0) {
            free(units);
            tide_sched_free(s);
            return rc;
        }
    for (size_t i = 0; i < g->n_tasks; i++)
        tide_task_set_waker(g->tasks[i].task, tide_sched_wake, units[i]);
    free(units);
    pthread_mutex_lock(&g->mu);
    g->sched = s; /* a failure from now on stops it */
    bool failed = tide_err_failed(&g->err);
    pthread_mutex_unlock(&g->mu);
    if (failed) /* cancelled before start */
        tide_sched_stop(s);
    if ((rc = tide_sched_start(s, e)) != 0) {
        graph_fail(g, NULL, rc, e->msg);
        tide_sched_wait(s);
        return rc;
    }
    return 0;
}

int tide_graph_wait(tide_graph *g, tide_err *e)
{
    if (g->sched)
        tide_sched_wait(g->sched);
    pthread_mutex_lock(&g->mu);
    int rc = g->err.code;
    if (rc != 0)
        tide_err_set(e, rc, "%s", g->err.msg);
    pthread_mutex_unlock(&g->mu);
    return rc;
}

int tide_graph_run(tide_graph *g, tide_err *e)
{
    int rc = tide_graph_start(g, e);
    return rc != 0 ? rc : tide_graph_wait(g, e);
}

int64_t tide_graph_inject_barrier(tide_graph *g)
{
    int64_t id = atomic_fetch_add(&g->next_barrier, 1) + 1;
    for (size_t i = 0; i < g->n_tasks; i++)
        if (tide_task_is_source(g->tasks[i].task))
            tide_task_request_barriers(g->tasks[i].task, id);
    return id;
}

tide_task *tide_graph_task(const tide_graph *g, int id)
{
    return id >= 0 && (size_t)id < g->n_tasks ? g->tasks[id].task : NULL;
}

size_t tide_graph_task_count(const tide_graph *g) { return g->n_tasks; }

void tide_graph_task_stats(const tide_graph *g, int id, tide_task_stats *out)
{
    tide_task_stats_get(g->tasks[id].task, out);
}

size_t tide_graph_chan_count(const tide_graph *g) { return g->n_chans; }

void tide_graph_sched_stats(const tide_graph *g, tide_sched_stats *out)
{
    if (g->sched)
        tide_sched_stats_get(g->sched, out);
    else
        memset(out, 0, sizeof *out);
}

void tide_graph_chan_stats(const tide_graph *g, size_t i, tide_chan_stats *out, const char **name)
{
    tide_chan_stats_get(g->chans[i], out);
    if (name)
        *name = tide_chan_name(g->chans[i]);
}
