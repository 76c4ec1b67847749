/*
 * flow.c - the dataflow graph of nodes on the task runtime.  See flow.h.
 *
 * Shape of a running flow.  Every node instance has a context (the
 * tide_node_ctx handed to its callbacks) that knows, per output port, its
 * destinations: a chained child instance (called directly) or an output
 * port of the task it lives in (rows copied into that port's pending
 * batches, routed per partitioning).  A task is a tree of chained instances
 * kept in pre-order (parents before children); the task runtime sees it as
 * one tide_task_op whose callbacks walk the tree:
 *
 *   batch      the root's batch(), with the root's logical input for the
 *              physical channel it came from;
 *   watermark  the root's watermark(), then every chained instance gets
 *              min(parent's watermark, parent's hold) in pre-order;
 *   the end    each instance in pre-order: watermark(+inf) (not a source
 *              root), then end(), so rows a parent emits at its end reach
 *              the child before the child's own end;
 *   barrier    each instance in pre-order writes its snapshot.
 * The task's forwarded watermark is held at the minimum of its instances'
 * output watermarks (tide_task_hold_watermark), so a hold anywhere in the
 * chain holds back every port of the task (conservative, never late).
 *
 * Checkpoints.  Each instance's section ("flow-instance", version 4) holds
 * the node's own snapshot and the watermark state the runtime keeps for it:
 * the last watermark delivered to the instance (cx->wm), its hold and
 * whether it ended (a restored instance that had ended is not ended
 * again: no second end(), no second watermark +infinity); the
 * section of a task's root also holds the task's (exec/task.h
 * "Checkpoints": every input's watermark as of the barrier, the task's
 * input watermark, what it forwarded, its hold).  A restore sets the
 * instances' at once and the tasks' once they exist (build), before any
 * task runs: the restored flow then delivers, aligns and forwards
 * watermarks exactly as the flow that wrote the checkpoint did after it
 * (no watermark delivered twice, none forwarded unheld, a multi-input
 * node reading its inputs in the same steps).  Last, the instance's job
 * counters (records in, bad, late, out, ...: what it counted before the
 * barrier, restored counts included), so a restored flow's counters go on
 * from the checkpoint's and a job that was killed and resumed ends with
 * the counts of an uninterrupted run.  Version 3 (without the counters)
 * is still read: its counters restore as 0.
 */
#include "exec/flow.h"

#include "base/fault.h"
#include "data/key.h"
#include "exec/graph.h"
#include "state/snap.h"

#include <stdatomic.h>
#include <time.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- batch pools (one per channel edge) ---- */

typedef struct bpool {
    pthread_mutex_t mu;
    const tide_schema *schema;
    unsigned flags;
    tide_cbatch **free_list;
    uint32_t n_free, cap_free;
} bpool;

#define POOL_KEEP 64

static void *pool_create(void *ctx, uint32_t rows)
{
    bpool *p = ctx;
    tide_cbatch *b = NULL;
    pthread_mutex_lock(&p->mu);
    if (p->n_free)
        b = p->free_list[--p->n_free];
    pthread_mutex_unlock(&p->mu);
    if (b && tide_cbatch_capacity(b) >= rows)
        return b;
    tide_cbatch_free(b);
    tide_err e = {0};
    if (tide_cbatch_create(&b, p->schema, rows, p->flags, &e) != 0)
        return NULL;
    return b;
}

static void pool_free(void *ctx, void *batch)
{
    bpool *p = ctx;
    tide_cbatch *b = batch;
    if (!b)
        return;
    tide_cbatch_reset(b);
    pthread_mutex_lock(&p->mu);
    if (p->n_free < p->cap_free) {
        p->free_list[p->n_free++] = b;
        b = NULL;
    }
    pthread_mutex_unlock(&p->mu);
    tide_cbatch_free(b);
}

static void pool_destroy(bpool *p)
{
    if (!p)
        return;
    for (uint32_t i = 0; i < p->n_free; i++)
        tide_cbatch_free(p->free_list[i]);
    free(p->free_list);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

static bpool *pool_new(const tide_schema *s, unsigned flags)
{
    bpool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->free_list = calloc(POOL_KEEP, sizeof *p->free_list);
    if (!p->free_list || pthread_mutex_init(&p->mu, NULL) != 0) {
        free(p->free_list);
        free(p);
        return NULL;
    }
    p->cap_free = POOL_KEEP;
    p->schema = s;
    p->flags = flags;
    return p;
}

/* ---- structures ---- */

typedef struct fedge {
    int from, to;
    uint32_t port, to_in;
    tide_flow_part part;
    uint32_t *keys;
    uint32_t n_keys;
    bool chained;
    bpool *pool;
} fedge;

typedef struct ftask ftask;

enum { DEST_CHAIN, DEST_PORT };

typedef struct dest {
    int kind;
    tide_node_ctx *child; /* CHAIN */
    uint32_t child_in;
    uint32_t task_port; /* PORT */
    const fedge *edge;
} dest;

struct tide_node_ctx {
    tide_flow *f;
    int node;
    uint32_t idx, par;
    uint32_t global; /* instance number over the flow */
    const tide_node_vt *vt;
    void *self;
    ftask *task;
    tide_node_ctx *parent; /* chained parent, or NULL for a task's root */
    dest *dests[TIDE_FLOW_MAX_PORTS];
    uint32_t n_dests[TIDE_FLOW_MAX_PORTS];
    const tide_schema *const *out_schema;
    int64_t wm;   /* last watermark delivered (sources: emitted) */
    int64_t hold; /* tide_node_hold */
    bool ended;
    /* what this instance counted (restored counts included): its task's
     * thread only, and the coordinator's once the task ended */
    uint64_t counts[TIDE_NODE_COUNTERS];
    /* a restored task root: its task's watermarks, set once the task exists */
    bool rs_task;
    int64_t *rs_in_wm;
    uint32_t rs_n_in;
    int64_t rs_wm_in, rs_wm_out, rs_hold;
};

struct ftask {
    tide_flow *f;
    tide_task *t; /* the runtime's task (the emitter) */
    int id;       /* in the graph */
    tide_node_ctx **m; /* members in pre-order; m[0] the root */
    uint32_t n;
    uint32_t *phys_in; /* physical input -> the root's logical input */
    uint32_t n_phys;
    /* scratch of the hash router */
    uint32_t *route_dst, *route_sel, *route_cnt, *iota;
    uint32_t dst_cap, sel_cap, cnt_cap, iota_cap;
    uint64_t *route_h; /* the rows' key hashes */
    uint32_t h_cap;
};

typedef struct fnode {
    tide_flow_node spec;
    char *name;
    uint32_t n_in;
    tide_node_ctx *inst; /* [parallelism] */
} fnode;

/* What the runtime writes of an instance besides the node's snapshot, as
 * of the barrier (the "flow-instance" section's other fields). */
typedef struct inst_rt {
    uint32_t node, idx;
    const char *kind;
    bool has_snapshot, ended, root;
    int64_t wm, hold;
    /* the root's: its task's watermarks */
    uint32_t n_in;
    int64_t *in_wm;
    int64_t wm_in, wm_out, task_hold;
    uint64_t counts[TIDE_NODE_COUNTERS]; /* the instance's job counters */
} inst_rt;

/* An instance's snapshot frozen at the barrier (tide_node_vt.freeze), its
 * section written when the store is asked for (tide_flow_snapshot). */
typedef struct frozen {
    inst_rt rt;
    tide_node_frozen *fz;
    tide_node_ctx *cx; /* for error messages */
} frozen;

typedef struct ckpt {
    int64_t id;
    tide_buf *bufs;   /* per global instance: its section */
    frozen **frozen;  /* per global instance: or its frozen state */
    bool *done;
    uint32_t count; /* snapshots written (a second one of an instance too) */
    int64_t twice;  /* the global instance that wrote two, or -1 */
    bool writing;   /* tide_flow_snapshot is writing the frozen ones (not evicted meanwhile) */
    bool stored;    /* its store was handed out once (its pause recorded) */
    tide_flow_pause pause; /* the longest time a task spent at this barrier */
} ckpt;

#define MAX_CKPTS 8
#define MAX_PAUSES 1024

struct tide_flow {
    tide_flow_cfg cfg;
    fnode *nodes;
    uint32_t n_nodes;
    fedge *edges;
    uint32_t n_edges;
    uint32_t n_inst;
    tide_graph *g;
    ftask **tasks;
    uint32_t n_tasks;
    bool started;
    const tide_buf *restore; /* before start */

    pthread_mutex_t mu; /* guards ckpts */
    ckpt ckpts[MAX_CKPTS];
    _Atomic uint64_t counts[TIDE_NODE_COUNTERS];
    _Atomic bool built; /* tasks and instances exist (readers on other threads wait for it) */
    _Atomic bool cancelled; /* tide_flow_cancel was called (maybe before the graph existed) */
    _Atomic int64_t snap_max_ns, snap_total_ns; /* time tasks spent in barriers (tide_flow_snapshot_pause) */
    /* under mu: each stored checkpoint's longest pause (tide_flow_snapshot_pauses), a ring */
    tide_flow_pause pauses[MAX_PAUSES];
    uint64_t n_pauses;
};

/* ---- building ---- */

int tide_flow_create(tide_flow **out, const tide_flow_cfg *cfg, tide_err *e)
{
    *out = NULL;
    tide_flow *f = calloc(1, sizeof *f);
    if (!f)
        return tide_err_set(e, TIDE_ENOMEM, "flow: out of memory");
    if (pthread_mutex_init(&f->mu, NULL) != 0) {
        free(f);
        return tide_err_set(e, TIDE_ENOMEM, "flow: mutex init failed");
    }
    if (cfg)
        f->cfg = *cfg;
    if (!f->cfg.batch_rows)
        f->cfg.batch_rows = 4096;
    if (!f->cfg.chan_capacity)
        f->cfg.chan_capacity = 32;
    if (!f->cfg.clock)
        f->cfg.clock = tide_clock_system();
    *out = f;
    return 0;
}

static void frozen_free(frozen *z)
{
    if (!z)
        return;
    if (z->fz)
        z->fz->free(z->fz);
    free(z->rt.in_wm);
    free(z);
}

static void ckpt_clear(tide_flow *f, ckpt *c)
{
    for (uint32_t i = 0; i < f->n_inst; i++) {
        if (c->bufs)
            tide_buf_free(&c->bufs[i]);
        if (c->frozen)
            frozen_free(c->frozen[i]);
    }
    free(c->bufs);
    free(c->frozen);
    free(c->done);
    memset(c, 0, sizeof *c);
}

void tide_flow_free(tide_flow *f)
{
    if (!f)
        return;
    tide_graph_free(f->g); /* stops and joins; frees queued batches into the pools */
    for (int i = 0; i < MAX_CKPTS; i++) /* (frozen states before their nodes) */
        ckpt_clear(f, &f->ckpts[i]);
    for (uint32_t i = 0; i < f->n_nodes; i++) {
        fnode *n = &f->nodes[i];
        if (n->inst)
            for (uint32_t k = 0; k < n->spec.parallelism; k++) {
                tide_node_ctx *cx = &n->inst[k];
                if (cx->self && n->spec.vt->free)
                    n->spec.vt->free(cx->self);
                free(cx->rs_in_wm);
                for (uint32_t p = 0; p < TIDE_FLOW_MAX_PORTS; p++)
                    free(cx->dests[p]);
            }
        free(n->inst);
        free(n->name);
    }
    for (uint32_t i = 0; i < f->n_edges; i++) {
        free(f->edges[i].keys);
        pool_destroy(f->edges[i].pool);
    }
    free(f->tasks); /* the tasks' states were freed by the graph */
    free(f->nodes);
    free(f->edges);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

int tide_flow_add(tide_flow *f, const tide_flow_node *spec, int *id, tide_err *e)
{
    const char *name = spec->name ? spec->name : (spec->vt && spec->vt->kind ? spec->vt->kind : "node");
    if (f->started)
        return tide_err_set(e, TIDE_EINVAL, "flow: node %s added after start", name);
    if (!spec->vt || !spec->make)
        return tide_err_set(e, TIDE_EINVAL, "flow: node %s needs a vtable and a make function", name);
    if (spec->parallelism < 1 || spec->n_out > TIDE_FLOW_MAX_PORTS)
        return tide_err_set(e, TIDE_EINVAL, "flow: node %s: parallelism %u, %u outputs", name,
                            spec->parallelism, spec->n_out);
    for (uint32_t p = 0; p < spec->n_out; p++)
        if (!spec->out_schema[p])
            return tide_err_set(e, TIDE_EINVAL, "flow: node %s: output %u has no schema", name, p);
    fnode *nn = realloc(f->nodes, (f->n_nodes + 1) * sizeof *nn);
    if (!nn)
        return tide_err_set(e, TIDE_ENOMEM, "flow: out of memory");
    f->nodes = nn;
    fnode *n = &f->nodes[f->n_nodes];
    memset(n, 0, sizeof *n);
    n->spec = *spec;
    n->name = strdup(name);
    if (!n->name)
        return tide_err_set(e, TIDE_ENOMEM, "flow: out of memory");
    n->spec.name = n->name;
    *id = (int)f->n_nodes++;
    return 0;
}

int tide_flow_connect(tide_flow *f, int from, uint32_t port, int to, tide_flow_part part,
                      const uint32_t *key_cols, uint32_t n_keys, tide_err *e)
{
    if (f->started)
        return tide_err_set(e, TIDE_EINVAL, "flow: edge added after start");
    if (from < 0 || to < 0 || (uint32_t)from >= f->n_nodes || (uint32_t)to >= f->n_nodes || from == to)
        return tide_err_set(e, TIDE_EINVAL, "flow: edge %d -> %d: no such nodes", from, to);
    fnode *a = &f->nodes[from], *b = &f->nodes[to];
    if (port >= a->spec.n_out)
        return tide_err_set(e, TIDE_EINVAL, "flow: %s has no output %u", a->name, port);
    if (b->spec.vt->poll)
        return tide_err_set(e, TIDE_EINVAL, "flow: %s is a source: it takes no input", b->name);
    if (part == TIDE_FLOW_FORWARD && a->spec.parallelism != b->spec.parallelism)
        return tide_err_set(e, TIDE_EINVAL, "flow: forward edge %s -> %s of parallelism %u and %u",
                            a->name, b->name, a->spec.parallelism, b->spec.parallelism);
    if (part == TIDE_FLOW_GATHER && b->spec.parallelism != 1)
        return tide_err_set(e, TIDE_EINVAL, "flow: gather into %s of parallelism %u", b->name,
                            b->spec.parallelism);
    if (part == TIDE_FLOW_HASH) {
        if (n_keys == 0)
            return tide_err_set(e, TIDE_EINVAL, "flow: hash edge %s -> %s without key columns", a->name,
                                b->name);
        for (uint32_t k = 0; k < n_keys; k++)
            if (key_cols[k] >= tide_schema_ncols(a->spec.out_schema[port]))
                return tide_err_set(e, TIDE_EINVAL, "flow: hash edge %s -> %s: key column %u of %zu",
                                    a->name, b->name, key_cols[k],
                                    (size_t)tide_schema_ncols(a->spec.out_schema[port]));
    }
    fedge *ne = realloc(f->edges, (f->n_edges + 1) * sizeof *ne);
    if (!ne)
        return tide_err_set(e, TIDE_ENOMEM, "flow: out of memory");
    f->edges = ne;
    fedge *ed = &f->edges[f->n_edges];
    memset(ed, 0, sizeof *ed);
    ed->from = from;
    ed->to = to;
    ed->port = port;
    ed->part = part;
    ed->to_in = b->n_in;
    if (part == TIDE_FLOW_HASH) {
        ed->keys = malloc(n_keys * sizeof *ed->keys);
        if (!ed->keys)
            return tide_err_set(e, TIDE_ENOMEM, "flow: out of memory");
        memcpy(ed->keys, key_cols, n_keys * sizeof *ed->keys);
        ed->n_keys = n_keys;
    }
    f->n_edges++;
    b->n_in++;
    return 0;
}

/* ---- emitting ---- */

static uint32_t *scratch(uint32_t **p, uint32_t *cap, uint32_t need)
{
    if (need <= *cap)
        return *p;
    uint32_t c = *cap ? *cap : 1024;
    while (c < need)
        c *= 2;
    uint32_t *q = realloc(*p, (size_t)c * sizeof *q);
    if (!q)
        return NULL;
    *p = q;
    *cap = c;
    return q;
}

static const uint32_t *iota(ftask *tk, uint32_t n)
{
    uint32_t old = tk->iota_cap;
    uint32_t *s = scratch(&tk->iota, &tk->iota_cap, n);
    if (s)
        for (uint32_t i = old; i < tk->iota_cap; i++)
            s[i] = i;
    return s;
}

/* Append rows sel[0..n) of b to channel `chan` of task port `port`. */
static int append_rows(ftask *tk, uint32_t port, uint32_t chan, const tide_cbatch *b,
                       const uint32_t *sel, uint32_t n, tide_err *e)
{
    while (n) {
        uint32_t rows;
        tide_cbatch *dst = tide_task_pending(tk->t, port, chan, &rows);
        if (!dst)
            return tide_err_set(e, TIDE_ENOMEM, "out of memory for an output batch");
        uint32_t room = tide_cbatch_capacity(dst) - tide_cbatch_rows(dst);
        uint32_t take = n < room ? n : room;
        int rc = tide_cbatch_select(dst, b, sel, take, e);
        if (rc != 0)
            return rc;
        if ((rc = tide_task_added(tk->t, port, chan, take)) != 0)
            return tide_err_set(e, rc, "sending a batch: %s", tide_strerror(rc));
        sel += take;
        n -= take;
    }
    return 0;
}

static int route_hash(ftask *tk, const dest *d, const tide_cbatch *b, const uint32_t *sel, uint32_t n,
                      tide_err *e)
{
    uint32_t nch = tide_task_port_chans(tk->t, d->task_port);
    uint32_t *dst = scratch(&tk->route_dst, &tk->dst_cap, n);
    uint32_t *out = scratch(&tk->route_sel, &tk->sel_cap, n);
    uint32_t *cnt = scratch(&tk->route_cnt, &tk->cnt_cap, nch + 1);
    if (n > tk->h_cap) {
        uint64_t *h = realloc(tk->route_h, (size_t)n * sizeof *h);
        if (h) {
            tk->route_h = h;
            tk->h_cap = n;
        }
    }
    if (!dst || !out || !cnt || n > tk->h_cap)
        return tide_err_set(e, TIDE_ENOMEM, "out of memory routing rows");
    memset(cnt, 0, (nch + 1) * sizeof *cnt);
    const fedge *ed = d->edge;
    uint64_t *h = tk->route_h;
    tide_key_rows_hash(b, sel, n, ed->keys, ed->n_keys, h);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t c = (uint32_t)(((h[i] >> 32) * (uint64_t)nch) >> 32);
        dst[i] = c;
        cnt[c + 1]++;
    }
    for (uint32_t c = 0; c < nch; c++)
        cnt[c + 1] += cnt[c];
    for (uint32_t i = 0; i < n; i++)
        out[cnt[dst[i]]++] = sel ? sel[i] : i;
    /* cnt[c] is now the end of channel c's run */
    uint32_t start = 0;
    for (uint32_t c = 0; c < nch; c++) {
        uint32_t end = cnt[c];
        if (end > start) {
            int rc = append_rows(tk, d->task_port, c, b, out + start, end - start, e);
            if (rc != 0)
                return rc;
        }
        start = end;
    }
    return 0;
}

int tide_node_emit(tide_node_ctx *cx, uint32_t port, const tide_cbatch *b, const uint32_t *sel,
                   uint32_t n, tide_err *e)
{
    if (port >= TIDE_FLOW_MAX_PORTS)
        return tide_err_set(e, TIDE_EINVAL, "emit on output %u", port);
    if (n == 0)
        return 0;
    ftask *tk = cx->task;
    for (uint32_t i = 0; i < cx->n_dests[port]; i++) {
        const dest *d = &cx->dests[port][i];
        int rc = 0;
        if (d->kind == DEST_CHAIN) {
            tide_node_ctx *ch = d->child;
            if (ch->vt->batch)
                rc = ch->vt->batch(ch->self, d->child_in, b, sel, n, ch, e);
        } else if (d->edge->part == TIDE_FLOW_HASH) {
            rc = route_hash(tk, d, b, sel, n, e);
        } else {
            const uint32_t *s = sel ? sel : iota(tk, n);
            if (!s)
                return tide_err_set(e, TIDE_ENOMEM, "out of memory");
            uint32_t nch = tide_task_port_chans(tk->t, d->task_port);
            for (uint32_t c = 0; c < nch && rc == 0; c++)
                rc = append_rows(tk, d->task_port, c, b, s, n, e);
        }
        if (rc != 0)
            return rc;
    }
    return 0;
}

const tide_clock *tide_node_clock(const tide_node_ctx *cx) { return cx->f->cfg.clock; }
uint32_t tide_node_instance(const tide_node_ctx *cx) { return cx->idx; }
uint32_t tide_node_parallelism(const tide_node_ctx *cx) { return cx->par; }
const tide_schema *tide_node_out_schema(const tide_node_ctx *cx, uint32_t port)
{
    return port < TIDE_FLOW_MAX_PORTS ? cx->out_schema[port] : NULL;
}
void tide_node_hold(tide_node_ctx *cx, int64_t hold) { cx->hold = hold; }

void tide_node_count(tide_node_ctx *cx, tide_node_counter c, uint64_t n)
{
    if ((unsigned)c < TIDE_NODE_COUNTERS) {
        cx->counts[c] += n;
        atomic_fetch_add_explicit(&cx->f->counts[c], n, memory_order_relaxed);
    }
}

void tide_flow_counts(const tide_flow *f, uint64_t out[TIDE_NODE_COUNTERS])
{
    tide_flow *m = (tide_flow *)f; /* atomics only */
    for (int c = 0; c < TIDE_NODE_COUNTERS; c++)
        out[c] = atomic_load_explicit(&m->counts[c], memory_order_relaxed);
}

int64_t tide_flow_watermark(const tide_flow *f)
{
    int64_t w = TIDE_TS_MAX;
    bool any = false;
    /* (another thread may be building the tasks: until then, no watermark) */
    if (!atomic_load_explicit(&((tide_flow *)f)->built, memory_order_acquire))
        return TIDE_TS_MIN;
    for (uint32_t i = 0; i < f->n_tasks; i++) {
        const ftask *tk = f->tasks[i];
        bool last = true;
        for (uint32_t k = 0; k < tk->n && last; k++)
            for (uint32_t j = 0; j < f->n_edges; j++)
                if (f->edges[j].from == tk->m[k]->node && !f->edges[j].chained)
                    last = false;
        if (!last || !tk->t)
            continue;
        tide_task_stats st;
        tide_task_stats_get(tk->t, &st);
        int64_t tw = st.watermark;
        /* a chained tail's own watermark is what the task forwards */
        if (tw < w)
            w = tw;
        any = true;
    }
    return any ? w : TIDE_TS_MIN;
}

/* ---- the chain as a task ---- */

static int64_t out_wm(const tide_node_ctx *cx) { return cx->wm < cx->hold ? cx->wm : cx->hold; }

static int named(tide_node_ctx *cx, int rc, const char *what, tide_err *e)
{
    if (!tide_err_failed(e))
        tide_err_set(e, rc, "%s[%u]: %s: %s", cx->f->nodes[cx->node].name, cx->idx, what,
                     tide_strerror(rc));
    else if (strncmp(e->msg, cx->f->nodes[cx->node].name, strlen(cx->f->nodes[cx->node].name)) != 0) {
        char msg[TIDE_ERR_MSG_MAX];
        snprintf(msg, sizeof msg, "%.64s[%u]: %.400s", cx->f->nodes[cx->node].name, cx->idx, e->msg);
        memcpy(e->msg, msg, sizeof msg);
    }
    return e->code ? e->code : rc;
}

/* Deliver chained watermarks (pre-order) and set the task's hold. */
static int settle(ftask *tk, tide_err *e)
{
    int64_t hold = TIDE_TS_MAX;
    for (uint32_t i = 0; i < tk->n; i++) {
        tide_node_ctx *cx = tk->m[i];
        if (cx->parent && !cx->ended) {
            int64_t w = out_wm(cx->parent);
            if (w > cx->wm) {
                cx->wm = w;
                if (cx->vt->watermark) {
                    int rc = cx->vt->watermark(cx->self, w, cx, e);
                    if (rc < 0)
                        return named(cx, rc, "watermark", e);
                }
            }
        }
        int64_t o = out_wm(cx);
        if (cx->hold < TIDE_TS_MAX && o < hold)
            hold = o;
    }
    tide_task_hold_watermark(tk->t, hold);
    return 0;
}

static int chain_batch(void *st, uint32_t input, void *batch, uint32_t rows, tide_task_out *out,
                       tide_err *e)
{
    ftask *tk = st;
    tide_node_ctx *root = tk->m[0];
    int rc = 0;
    if (root->vt->batch && rows)
        rc = root->vt->batch(root->self, input < tk->n_phys ? tk->phys_in[input] : 0, batch, NULL, rows,
                             root, e);
    tide_task_free_batch(out, input, batch);
    if (rc < 0)
        return named(root, rc, "batch", e);
    return settle(tk, e);
}

static int end_all(ftask *tk, tide_err *e)
{
    for (uint32_t i = 0; i < tk->n; i++) {
        tide_node_ctx *cx = tk->m[i];
        if (cx->ended)
            continue;
        int rc;
        cx->hold = TIDE_TS_MAX;
        if (cx->wm < TIDE_TS_MAX && !cx->vt->poll) {
            cx->wm = TIDE_TS_MAX;
            if (cx->vt->watermark && (rc = cx->vt->watermark(cx->self, TIDE_TS_MAX, cx, e)) < 0)
                return named(cx, rc, "watermark", e);
        }
        if (cx->vt->end && (rc = cx->vt->end(cx->self, cx, e)) < 0)
            return named(cx, rc, "end", e);
        cx->ended = true;
    }
    tide_task_hold_watermark(tk->t, TIDE_TS_MAX);
    return 0;
}

static int chain_watermark(void *st, int64_t wm, tide_task_out *out, tide_err *e)
{
    (void)out;
    ftask *tk = st;
    if (wm == TIDE_TS_MAX)
        return end_all(tk, e);
    tide_node_ctx *root = tk->m[0];
    if (wm > root->wm) {
        root->wm = wm;
        if (root->vt->watermark) {
            int rc = root->vt->watermark(root->self, wm, root, e);
            if (rc < 0)
                return named(root, rc, "watermark", e);
        }
    }
    return settle(tk, e);
}

static int chain_end(void *st, tide_task_out *out, tide_err *e)
{
    (void)out;
    return end_all(st, e);
}

/* Keep instance `global`'s snapshot of checkpoint `id`: its section `b`,
 * or its frozen state `z` (taken over either way). */
static void ckpt_put(tide_flow *f, int64_t id, uint32_t global, tide_buf *b, frozen *z)
{
    pthread_mutex_lock(&f->mu);
    ckpt *c = NULL, *slot = NULL;
    for (int i = 0; i < MAX_CKPTS; i++) {
        ckpt *k = &f->ckpts[i];
        if (k->bufs && k->id == id)
            c = k;
        else if (!k->writing && (!slot || (slot->bufs && (!k->bufs || k->id < slot->id))))
            slot = k; /* an empty slot, else the oldest checkpoint */
    }
    if (!c && slot) {
        c = slot;
        ckpt_clear(f, c);
        c->bufs = calloc(f->n_inst, sizeof *c->bufs);
        c->frozen = calloc(f->n_inst, sizeof *c->frozen);
        c->done = calloc(f->n_inst, sizeof *c->done);
        if (!c->bufs || !c->frozen || !c->done)
            ckpt_clear(f, c);
        else {
            c->id = id;
            c->twice = -1;
        }
    }
    if (!c || !c->bufs) { /* no memory: this checkpoint never completes */
        pthread_mutex_unlock(&f->mu);
        tide_buf_free(b);
        frozen_free(z);
        return;
    }
    c->count++;
    if (!c->done[global]) {
        if (z)
            c->frozen[global] = z;
        else
            c->bufs[global] = *b;
        c->done[global] = true;
        memset(b, 0, sizeof *b);
        z = NULL;
    } else {
        c->twice = global;
    }
    pthread_mutex_unlock(&f->mu);
    tide_buf_free(b);
    frozen_free(z);
}

#define FLOW_INST_VERSION 4

/* Open an instance's section: this build's version, else version 3
 * (*version says which). */
static int inst_open(tide_snap_r *r, const void *p, size_t left, size_t *used, uint32_t *version, tide_err *e)
{
    tide_err e4 = {0};
    *version = FLOW_INST_VERSION;
    if (tide_snap_open(r, p, left, "flow-instance", FLOW_INST_VERSION, used, &e4) == 0)
        return 0;
    *version = 3;
    if (tide_snap_open(r, p, left, "flow-instance", 3, used, NULL) == 0)
        return 0;
    if (e)
        *e = e4;
    return e4.code;
}

/* The runtime's fields of member `cx` of the task `out` as of now. */
static int inst_rt_take(tide_node_ctx *cx, bool root, tide_task_out *out, inst_rt *rt, tide_err *e)
{
    *rt = (inst_rt){.node = (uint32_t)cx->node,
                    .idx = cx->idx,
                    .kind = cx->vt->kind ? cx->vt->kind : "",
                    .has_snapshot = cx->vt->snapshot != NULL,
                    .ended = cx->ended,
                    .root = root,
                    .wm = cx->wm,
                    .hold = cx->hold};
    for (int c = 0; c < TIDE_NODE_COUNTERS; c++)
        rt->counts[c] = cx->counts[c];
    if (!root)
        return 0;
    rt->n_in = tide_task_input_count(out);
    if (rt->n_in && !(rt->in_wm = malloc(rt->n_in * sizeof *rt->in_wm)))
        return tide_err_set(e, TIDE_ENOMEM, "flow: out of memory at a barrier");
    for (uint32_t k = 0; k < rt->n_in; k++)
        rt->in_wm[k] = tide_task_input_watermark(out, k);
    rt->wm_in = tide_task_watermark_in(out);
    rt->wm_out = tide_task_watermark_out(out);
    rt->task_hold = tide_task_hold(out);
    return 0;
}

/* An instance's section: the runtime's fields and the node's snapshot. */
static int inst_section(const inst_rt *rt, const tide_buf *inner, tide_buf *sec, tide_err *e)
{
    tide_snap_w w;
    tide_snap_begin(&w, sec, "flow-instance", FLOW_INST_VERSION);
    tide_snap_put_u32(&w, rt->node);
    tide_snap_put_u32(&w, rt->idx);
    tide_snap_put_bytes(&w, rt->kind, strlen(rt->kind));
    tide_snap_put_bool(&w, rt->has_snapshot);
    tide_snap_put_bytes(&w, inner->data, inner->len);
    tide_snap_put_i64(&w, rt->wm);
    tide_snap_put_i64(&w, rt->hold);
    tide_snap_put_bool(&w, rt->ended);
    tide_snap_put_bool(&w, rt->root); /* the task's root: the task's watermarks */
    if (rt->root) {
        tide_snap_put_u32(&w, rt->n_in);
        for (uint32_t k = 0; k < rt->n_in; k++)
            tide_snap_put_i64(&w, rt->in_wm[k]);
        tide_snap_put_i64(&w, rt->wm_in);
        tide_snap_put_i64(&w, rt->wm_out);
        tide_snap_put_i64(&w, rt->task_hold);
    }
    tide_snap_put_u32(&w, TIDE_NODE_COUNTERS);
    for (int c = 0; c < TIDE_NODE_COUNTERS; c++)
        tide_snap_put_u64(&w, rt->counts[c]);
    return tide_snap_end(&w, e);
}

/* Every member writes its snapshot of checkpoint `id` (in pre-order): a
 * node with freeze hands over a frozen copy (written later, by
 * tide_flow_snapshot), any other writes its snapshot now. */
static int chain_barrier(void *st, int64_t id, tide_task_out *out, tide_err *e)
{
    ftask *tk = st;
    for (uint32_t i = 0; i < tk->n; i++) {
        tide_node_ctx *cx = tk->m[i];
        tide_buf inner = {0}, sec = {0};
        tide_node_frozen *fz = NULL;
        frozen *z = NULL;
        int rc = 0;
        if (cx->vt->freeze && cx->vt->snapshot && (rc = cx->vt->freeze(cx->self, id, &fz, e)) < 0)
            return named(cx, rc, "snapshot", e);
        if (fz) {
            if (!(z = calloc(1, sizeof *z))) {
                fz->free(fz);
                return named(cx, tide_err_set(e, TIDE_ENOMEM, "out of memory at a barrier"), "snapshot", e);
            }
            z->fz = fz;
            z->cx = cx;
            if ((rc = inst_rt_take(cx, i == 0, out, &z->rt, e)) < 0) {
                frozen_free(z);
                return named(cx, rc, "snapshot", e);
            }
            ckpt_put(tk->f, id, cx->global, &sec, z);
            continue;
        }
        if (cx->vt->snapshot && (rc = cx->vt->snapshot(cx->self, id, &inner, e)) < 0) {
            tide_buf_free(&inner);
            return named(cx, rc, "snapshot", e);
        }
        inst_rt rt;
        if ((rc = inst_rt_take(cx, i == 0, out, &rt, e)) == 0)
            rc = inst_section(&rt, &inner, &sec, e);
        free(rt.in_wm);
        tide_buf_free(&inner);
        if (rc != 0) {
            tide_buf_free(&sec);
            return named(cx, rc, "snapshot", e);
        }
        ckpt_put(tk->f, id, cx->global, &sec, NULL);
    }
    return 0;
}

/* Checkpoint `id` is complete: every member, in pre-order. */
static int chain_complete(void *st, int64_t id, tide_task_out *out, tide_err *e)
{
    (void)out;
    ftask *tk = st;
    for (uint32_t i = 0; i < tk->n; i++) {
        tide_node_ctx *cx = tk->m[i];
        int rc;
        if (cx->vt->complete && (rc = cx->vt->complete(cx->self, id, e)) < 0)
            return named(cx, rc, "complete", e);
    }
    return 0;
}

/* The CPU time of the calling thread (a pause's own work, without the
 * time the thread waited for a core: measurement only). */
static int64_t thread_cpu_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A barrier on the task's own thread: the task's data path stops for it. */
static int chain_barrier_timed(void *st, int64_t id, tide_task_out *out, tide_err *e)
{
    ftask *tk = st;
    const tide_clock *ck = tk->f->cfg.clock;
    int64_t t0 = tide_clock_mono_ns(ck);
    int64_t c0 = thread_cpu_ns();
    int rc = chain_barrier(st, id, out, e);
    int64_t cpu = thread_cpu_ns() - c0;
    int64_t d = tide_clock_mono_ns(ck) - t0;
    pthread_mutex_lock(&tk->f->mu);
    for (int i = 0; i < MAX_CKPTS; i++) {
        ckpt *c = &tk->f->ckpts[i];
        if (c->bufs && c->id == id && d > c->pause.wall_ns)
            c->pause = (tide_flow_pause){.id = id, .wall_ns = d, .cpu_ns = cpu};
    }
    pthread_mutex_unlock(&tk->f->mu);
    atomic_fetch_add_explicit(&tk->f->snap_total_ns, d, memory_order_relaxed);
    int64_t cur = atomic_load_explicit(&tk->f->snap_max_ns, memory_order_relaxed);
    while (d > cur && !atomic_compare_exchange_weak_explicit(&tk->f->snap_max_ns, &cur, d, memory_order_relaxed,
                                                              memory_order_relaxed)) {
    }
    return rc;
}

void tide_flow_snapshot_pause(const tide_flow *f, int64_t *max_ns, int64_t *total_ns)
{
    tide_flow *m = (tide_flow *)f; /* atomics only */
    *max_ns = atomic_load_explicit(&m->snap_max_ns, memory_order_relaxed);
    *total_ns = atomic_load_explicit(&m->snap_total_ns, memory_order_relaxed);
}

size_t tide_flow_snapshot_pauses(tide_flow *f, tide_flow_pause *out, size_t cap)
{
    pthread_mutex_lock(&f->mu);
    size_t have = f->n_pauses < MAX_PAUSES ? (size_t)f->n_pauses : MAX_PAUSES;
    size_t n = have < cap ? have : cap;
    for (size_t i = 0; i < n; i++)
        out[i] = f->pauses[(f->n_pauses - n + i) % MAX_PAUSES];
    pthread_mutex_unlock(&f->mu);
    return n;
}

static int chain_poll(void *st, tide_task_out *out, tide_err *e)
{
    (void)out;
    ftask *tk = st;
    tide_node_ctx *root = tk->m[0];
    int rc = root->vt->poll(root->self, root, e);
    if (rc < 0 && rc != TIDE_EAGAIN)
        return named(root, rc, "poll", e);
    int s = settle(tk, e);
    return s < 0 ? s : rc;
}

int tide_node_emit_watermark(tide_node_ctx *cx, int64_t wm, tide_err *e)
{
    if (cx->parent || !cx->vt->poll)
        return tide_err_set(e, TIDE_EINVAL, "%s: only a source emits watermarks",
                            cx->f->nodes[cx->node].name);
    if (wm <= cx->wm)
        return 0;
    cx->wm = wm;
    int rc = settle(cx->task, e);
    if (rc < 0)
        return rc;
    rc = tide_task_emit_watermark(cx->task->t, wm);
    return rc < 0 ? tide_err_set(e, rc, "forwarding a watermark: %s", tide_strerror(rc)) : 0;
}

static void ftask_free(void *st)
{
    ftask *tk = st;
    if (!tk)
        return;
    free(tk->m);
    free(tk->phys_in);
    free(tk->route_dst);
    free(tk->route_sel);
    free(tk->route_cnt);
    free(tk->route_h);
    free(tk->iota);
    free(tk);
}

static const tide_task_op chain_op = {
    .name = "chain",
    .on_batch = chain_batch,
    .on_watermark = chain_watermark,
    .on_barrier = chain_barrier_timed,
    .on_complete = chain_complete,
    .on_end = chain_end,
    .free = ftask_free,
};

static const tide_task_op chain_src_op = {
    .name = "chain",
    .on_poll = chain_poll,
    .on_barrier = chain_barrier_timed,
    .on_complete = chain_complete,
    .on_end = chain_end,
    .free = ftask_free,
};

/* ---- start ---- */

static int add_dest(tide_node_ctx *cx, uint32_t port, const dest *d, tide_err *e)
{
    dest *nd = realloc(cx->dests[port], (cx->n_dests[port] + 1) * sizeof *nd);
    if (!nd)
        return tide_err_set(e, TIDE_ENOMEM, "flow: out of memory");
    cx->dests[port] = nd;
    nd[cx->n_dests[port]++] = *d;
    return 0;
}

static int add_member(ftask *tk, tide_node_ctx *cx, tide_err *e)
{
    tide_node_ctx **m = realloc(tk->m, (tk->n + 1) * sizeof *m);
    if (!m)
        return tide_err_set(e, TIDE_ENOMEM, "flow: out of memory");
    tk->m = m;
    m[tk->n++] = cx;
    cx->task = tk;
    return 0;
}

/* Pre-order walk of the chained children of cx. */
static int collect(tide_flow *f, ftask *tk, tide_node_ctx *cx, tide_err *e)
{
    int rc = add_member(tk, cx, e);
    if (rc)
        return rc;
    for (uint32_t i = 0; i < f->n_edges; i++) {
        fedge *ed = &f->edges[i];
        if (!ed->chained || ed->from != cx->node)
            continue;
        tide_node_ctx *child = &f->nodes[ed->to].inst[cx->idx];
        child->parent = cx;
        dest d = {.kind = DEST_CHAIN, .child = child, .child_in = ed->to_in, .edge = ed};
        if ((rc = add_dest(cx, ed->port, &d, e)) != 0 || (rc = collect(f, tk, child, e)) != 0)
            return rc;
    }
    return 0;
}

static uint64_t no_key(void *ctx, const void *item)
{
    (void)ctx;
    (void)item;
    return 0;
}

/* A task's watermarks in a root's section (see "Checkpoints"). */
typedef struct task_wms {
    bool root;
    uint32_t n_in;
    int64_t *in_wm;
    int64_t wm_in, wm_out, hold;
} task_wms;

static int get_task_wms(tide_snap_r *r, task_wms *tw, tide_err *e)
{
    tw->n_in = tide_snap_get_u32(r);
    if (tide_snap_failed(r) || tw->n_in > (1u << 20))
        return tide_err_set(e, TIDE_ECORRUPT, "flow restore: a task with %u inputs", tw->n_in);
    tw->in_wm = malloc((tw->n_in ? tw->n_in : 1) * sizeof *tw->in_wm);
    if (!tw->in_wm)
        return tide_err_set(e, TIDE_ENOMEM, "flow restore: out of memory");
    for (uint32_t k = 0; k < tw->n_in; k++)
        tw->in_wm[k] = tide_snap_get_i64(r);
    tw->wm_in = tide_snap_get_i64(r);
    tw->wm_out = tide_snap_get_i64(r);
    tw->hold = tide_snap_get_i64(r);
    return 0;
}

/* After build made the tasks: each task's root gives its task the
 * watermarks of the checkpoint.  A snapshot whose roots are not this
 * flow's (other chaining) does not match. */
static int resume_tasks(tide_flow *f, tide_err *e)
{
    uint32_t roots = 0;
    for (uint32_t i = 0; i < f->n_nodes; i++)
        for (uint32_t k = 0; k < f->nodes[i].spec.parallelism; k++)
            roots += f->nodes[i].inst[k].rs_task;
    if (roots != f->n_tasks)
        return tide_err_set(e, TIDE_EINVAL, "flow restore: the snapshot has %u tasks, the flow %u", roots,
                            f->n_tasks);
    for (uint32_t i = 0; i < f->n_tasks; i++) {
        tide_node_ctx *cx = f->tasks[i]->m[0];
        if (!cx->rs_task)
            return tide_err_set(e, TIDE_EINVAL, "flow restore: %s[%u] starts no task in the snapshot",
                                f->nodes[cx->node].name, cx->idx);
        int rc = tide_task_resume_watermarks(f->tasks[i]->t, cx->rs_in_wm, cx->rs_n_in, cx->rs_wm_in,
                                             cx->rs_wm_out, cx->rs_hold, e);
        if (rc != 0)
            return named(cx, rc, "restore", e);
        free(cx->rs_in_wm);
        cx->rs_in_wm = NULL;
    }
    return 0;
}

static int restore_all(tide_flow *f, tide_err *e)
{
    const unsigned char *p = f->restore->data;
    size_t left = f->restore->len;
    uint32_t seen = 0;
    bool *got = calloc(f->n_inst ? f->n_inst : 1, sizeof *got);
    if (!got)
        return tide_err_set(e, TIDE_ENOMEM, "flow: out of memory");
    int rc = 0;
    while (left && rc == 0) {
        tide_snap_r r;
        size_t used;
        uint32_t version;
        if ((rc = inst_open(&r, p, left, &used, &version, e)) != 0)
            break;
        uint32_t node = tide_snap_get_u32(&r), idx = tide_snap_get_u32(&r);
        size_t klen, ilen;
        const char *kind = tide_snap_get_bytes(&r, &klen);
        bool has = tide_snap_get_bool(&r);
        const void *inner = tide_snap_get_bytes(&r, &ilen);
        int64_t wm = tide_snap_get_i64(&r), hold = tide_snap_get_i64(&r);
        bool ended = tide_snap_get_bool(&r);
        task_wms tw = {.root = tide_snap_get_bool(&r)};
        if (tw.root && (rc = get_task_wms(&r, &tw, e)) != 0)
            break;
        uint64_t counts[TIDE_NODE_COUNTERS] = {0};
        uint32_t ncounts = version >= 4 ? tide_snap_get_u32(&r) : 0;
        for (uint32_t c = 0; c < ncounts && !tide_snap_failed(&r); c++) {
            uint64_t v = tide_snap_get_u64(&r);
            if (c < TIDE_NODE_COUNTERS) /* (a later build's extra counters are not ours) */
                counts[c] = v;
        }
        if ((rc = tide_snap_close(&r, e)) != 0) {
            free(tw.in_wm);
            break;
        }
        if (node >= f->n_nodes || idx >= f->nodes[node].spec.parallelism) {
            free(tw.in_wm);
            rc = tide_err_set(e, TIDE_ECORRUPT, "flow restore: instance %u of node %u does not exist",
                              idx, node);
            break;
        }
        tide_node_ctx *cx = &f->nodes[node].inst[idx];
        cx->wm = wm;
        cx->hold = hold;
        cx->ended = ended;
        free(cx->rs_in_wm);
        cx->rs_task = tw.root;
        cx->rs_in_wm = tw.in_wm;
        cx->rs_n_in = tw.n_in;
        cx->rs_wm_in = tw.wm_in;
        cx->rs_wm_out = tw.wm_out;
        cx->rs_hold = tw.hold;
        const char *want = cx->vt->kind ? cx->vt->kind : "";
        if (klen != strlen(want) || memcmp(kind, want, klen) != 0) {
            rc = tide_err_set(e, TIDE_EINVAL, "flow restore: node %s is a %s, the snapshot is of a %.*s",
                              f->nodes[node].name, want, (int)klen, kind);
            break;
        }
        if (got[cx->global]) {
            rc = tide_err_set(e, TIDE_ECORRUPT, "flow restore: %s[%u] twice", f->nodes[node].name, idx);
            break;
        }
        got[cx->global] = true;
        seen++;
        for (int c = 0; c < TIDE_NODE_COUNTERS; c++) {
            cx->counts[c] = counts[c];
            atomic_fetch_add_explicit(&f->counts[c], counts[c], memory_order_relaxed);
        }
        if (has && cx->vt->restore && (rc = cx->vt->restore(cx->self, inner, ilen, e)) < 0)
            rc = named(cx, rc, "restore", e);
        p += used;
        left -= used;
    }
    if (rc == 0 && seen != f->n_inst)
        rc = tide_err_set(e, TIDE_EINVAL, "flow restore: the snapshot has %u of %u node instances", seen,
                          f->n_inst);
    free(got);
    return rc;
}

int tide_flow_restore(tide_flow *f, const tide_buf *store, tide_err *e)
{
    if (f->started)
        return tide_err_set(e, TIDE_EINVAL, "flow: restore after start");
    f->restore = store;
    return 0;
}

static int build(tide_flow *f, tide_err *e)
{
    int rc;
    /* instances */
    uint32_t global = 0;
    for (uint32_t i = 0; i < f->n_nodes; i++) {
        fnode *n = &f->nodes[i];
        n->inst = calloc(n->spec.parallelism, sizeof *n->inst);
        if (!n->inst)
            return tide_err_set(e, TIDE_ENOMEM, "flow: out of memory");
        for (uint32_t k = 0; k < n->spec.parallelism; k++) {
            tide_node_ctx *cx = &n->inst[k];
            cx->f = f;
            cx->node = (int)i;
            cx->idx = k;
            cx->par = n->spec.parallelism;
            cx->global = global++;
            cx->vt = n->spec.vt;
            cx->out_schema = n->spec.out_schema;
            cx->wm = TIDE_TS_MIN;
            cx->hold = TIDE_TS_MAX;
            if ((rc = n->spec.make(n->spec.make_ctx, k, n->spec.parallelism, &cx->self, e)) != 0)
                return tide_err_set(e, rc, "flow: making %s[%u]: %s", n->name, k, tide_strerror(rc));
        }
    }
    f->n_inst = global;
    if (f->restore && (rc = restore_all(f, e)) != 0)
        return rc;
    /* chaining */
    for (uint32_t i = 0; i < f->n_edges; i++) {
        fedge *ed = &f->edges[i];
        ed->chained = ed->part == TIDE_FLOW_FORWARD && f->nodes[ed->to].n_in == 1;
    }
    /* tasks: one per instance that no chained edge enters */
    tide_graph_cfg gc = {.batch_rows = f->cfg.batch_rows,
                         .latency_ns = f->cfg.latency_ns,
                         .chan_capacity = f->cfg.chan_capacity,
                         .workers = f->cfg.workers,
                         .clock = f->cfg.clock,
                         .barrier_base = f->cfg.barrier_base};
    if ((rc = tide_graph_create(&f->g, &gc, e)) != 0)
        return rc;
    for (uint32_t i = 0; i < f->n_nodes; i++) {
        fnode *n = &f->nodes[i];
        bool chained_in = false;
        for (uint32_t j = 0; j < f->n_edges; j++)
            chained_in |= f->edges[j].chained && f->edges[j].to == (int)i;
        if (chained_in)
            continue;
        for (uint32_t k = 0; k < n->spec.parallelism; k++) {
            ftask *tk = calloc(1, sizeof *tk);
            ftask **nt = realloc(f->tasks, (f->n_tasks + 1) * sizeof *nt);
            if (nt)
                f->tasks = nt;
            if (!tk || !nt) {
                free(tk);
                return tide_err_set(e, TIDE_ENOMEM, "flow: out of memory");
            }
            tk->f = f;
            if ((rc = collect(f, tk, &n->inst[k], e)) != 0) {
                ftask_free(tk);
                return rc;
            }
            char name[128];
            snprintf(name, sizeof name, "%s[%u]", n->name, k);
            const tide_task_op *op = n->spec.vt->poll ? &chain_src_op : &chain_op;
            if ((rc = tide_graph_add(f->g, name, op, tk, &tk->id, e)) != 0)
                return rc; /* the graph freed tk */
            f->tasks[f->n_tasks++] = tk;
        }
    }
    /* the runtime's tasks, for the emitters */
    /* (tide_graph keeps them; reach them through a first pass of ids) */
    /* channels */
    for (uint32_t i = 0; i < f->n_edges; i++) {
        fedge *ed = &f->edges[i];
        if (ed->chained)
            continue;
        fnode *a = &f->nodes[ed->from], *b = &f->nodes[ed->to];
        ed->pool = pool_new(a->spec.out_schema[ed->port], a->spec.out_flags[ed->port]);
        if (!ed->pool)
            return tide_err_set(e, TIDE_ENOMEM, "flow: out of memory");
        tide_task_batch_type bt = {.create = pool_create, .free = pool_free, .ctx = ed->pool};
        for (uint32_t k = 0; k < a->spec.parallelism; k++) {
            tide_node_ctx *src = &a->inst[k];
            int to_ids[1024];
            uint32_t nt = 0;
            uint32_t lo = 0, hi = b->spec.parallelism;
            if (ed->part == TIDE_FLOW_FORWARD)
                lo = k, hi = k + 1;
            else if (ed->part == TIDE_FLOW_GATHER)
                lo = 0, hi = 1;
            if (hi - lo > 1024)
                return tide_err_set(e, TIDE_EINVAL, "flow: parallelism above 1024");
            for (uint32_t j = lo; j < hi; j++) {
                ftask *tt = b->inst[j].task;
                to_ids[nt++] = tt->id;
                uint32_t *np = realloc(tt->phys_in, (tt->n_phys + 1) * sizeof *np);
                if (!np)
                    return tide_err_set(e, TIDE_ENOMEM, "flow: out of memory");
                tt->phys_in = np;
                np[tt->n_phys++] = ed->to_in;
            }
            uint32_t port;
            if ((rc = tide_graph_connect_hash(f->g, src->task->id, to_ids, nt, nt > 1 ? no_key : NULL, NULL,
                                              &bt, &port, e)) != 0)
                return rc;
            dest d = {.kind = DEST_PORT, .task_port = port, .edge = ed};
            if ((rc = add_dest(src, ed->port, &d, e)) != 0)
                return rc;
        }
    }
    for (uint32_t i = 0; i < f->n_tasks; i++)
        f->tasks[i]->t = tide_graph_task(f->g, f->tasks[i]->id);
    if (f->restore && (rc = resume_tasks(f, e)) != 0)
        return rc;
    return 0;
}

int tide_flow_start(tide_flow *f, tide_err *e)
{
    if (f->started)
        return tide_err_set(e, TIDE_EINVAL, "flow: started twice");
    f->started = true;
    int rc = build(f, e);
    if (rc != 0)
        return rc;
    /* a cancel that came before the graph existed (seq_cst with the
     * cancel's own store and load: one of the two sees the other) */
    atomic_store(&f->built, true);
    if (atomic_load(&f->cancelled))
        tide_graph_cancel(f->g);
    return tide_graph_start(f->g, e);
}

int tide_flow_wait(tide_flow *f, tide_err *e)
{
    if (!f->g)
        return tide_err_set(e, TIDE_EINVAL, "flow: not started");
    return tide_graph_wait(f->g, e);
}

int tide_flow_run(tide_flow *f, tide_err *e)
{
    int rc = tide_flow_start(f, e);
    return rc != 0 ? rc : tide_flow_wait(f, e);
}

void tide_flow_cancel(tide_flow *f)
{
    atomic_store(&f->cancelled, true);
    if (atomic_load(&f->built))
        tide_graph_cancel(f->g);
}

int64_t tide_flow_inject_barrier(tide_flow *f)
{
    return atomic_load_explicit(&f->built, memory_order_acquire) ? tide_graph_inject_barrier(f->g) : 0;
}

uint32_t tide_flow_snapshot_count(tide_flow *f, int64_t id)
{
    uint32_t n = 0;
    pthread_mutex_lock(&f->mu);
    for (int i = 0; i < MAX_CKPTS; i++)
        if (f->ckpts[i].bufs && f->ckpts[i].id == id)
            n = f->ckpts[i].count;
    pthread_mutex_unlock(&f->mu);
    return n;
}

/* Write the frozen snapshots of complete checkpoint c (under f->mu, which
 * it lets go meanwhile: the tasks never wait for this).  0, or the first
 * error (the frozen states are kept: a later call tries again). */
static int ckpt_write_frozen(tide_flow *f, ckpt *c, tide_err *e)
{
    c->writing = true; /* c stays (ckpt_put evicts another) */
    pthread_mutex_unlock(&f->mu);
    int rc = 0;
    for (uint32_t k = 0; k < f->n_inst && rc == 0; k++) {
        frozen *z = c->frozen[k]; /* set before the count was complete; no task changes it */
        if (!z)
            continue;
        tide_buf inner = {0}, sec = {0};
        if ((rc = tide_fault("flow.snapshot.write", e)) < 0 || (rc = z->fz->write(z->fz, &inner, e)) < 0 ||
            (rc = inst_section(&z->rt, &inner, &sec, e)) < 0) {
            rc = named(z->cx, rc, "snapshot", e);
            tide_buf_free(&sec);
        } else {
            pthread_mutex_lock(&f->mu);
            c->bufs[k] = sec;
            c->frozen[k] = NULL;
            pthread_mutex_unlock(&f->mu);
            frozen_free(z);
        }
        tide_buf_free(&inner);
    }
    pthread_mutex_lock(&f->mu);
    c->writing = false;
    return rc;
}

bool tide_flow_snapshot(tide_flow *f, int64_t id, tide_buf *out, tide_err *e)
{
    bool ok = false;
    pthread_mutex_lock(&f->mu);
    for (int i = 0; i < MAX_CKPTS; i++) {
        ckpt *c = &f->ckpts[i];
        if (!c->bufs || c->id != id || c->count < f->n_inst || c->writing)
            continue;
        if (c->twice >= 0) {
            tide_err_set(e, TIDE_ECORRUPT, "flow: instance %lld snapshotted checkpoint %lld twice",
                         (long long)c->twice, (long long)id);
            break;
        }
        if (ckpt_write_frozen(f, c, e) != 0)
            break;
        size_t start = out->len;
        ok = true;
        for (uint32_t k = 0; k < f->n_inst && ok; k++)
            if (tide_buf_append(out, c->bufs[k].data, c->bufs[k].len) != 0) {
                tide_err_set(e, TIDE_ENOMEM, "flow: out of memory copying a snapshot");
                out->len = start;
                ok = false;
            }
        if (ok && !c->stored && c->pause.id != 0) { /* (no task paused for a checkpoint taken after the run) */
            c->stored = true;
            f->pauses[f->n_pauses++ % MAX_PAUSES] = c->pause;
        }
        break;
    }
    pthread_mutex_unlock(&f->mu);
    return ok;
}

/* Has global instance `global` written its snapshot of checkpoint `id`? */
static bool has_snapshot(tide_flow *f, int64_t id, uint32_t global)
{
    bool has = false;
    pthread_mutex_lock(&f->mu);
    for (int i = 0; i < MAX_CKPTS; i++)
        if (f->ckpts[i].bufs && f->ckpts[i].id == id)
            has = f->ckpts[i].done[global];
    pthread_mutex_unlock(&f->mu);
    return has;
}

int tide_flow_snapshot_ended(tide_flow *f, int64_t id, tide_err *e)
{
    if (!atomic_load_explicit(&f->built, memory_order_acquire))
        return 0;
    for (uint32_t i = 0; i < f->n_tasks; i++) {
        ftask *tk = f->tasks[i];
        if (tide_task_done_state(tk->t) != TIDE_TASK_ENDED || has_snapshot(f, id, tk->m[0]->global))
            continue;
        int rc = chain_barrier(tk, id, tk->t, e);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int tide_flow_complete(tide_flow *f, int64_t id, bool *all, tide_err *e)
{
    *all = false;
    if (!atomic_load_explicit(&f->built, memory_order_acquire))
        return tide_err_set(e, TIDE_EINVAL, "flow: complete before start");
    bool every = true;
    for (uint32_t i = 0; i < f->n_tasks; i++) {
        tide_task *t = f->tasks[i]->t;
        if (tide_task_completed(t) >= id)
            continue;
        int st = tide_task_done_state(t);
        if (st == TIDE_TASK_FAILED)
            return tide_err_set(e, TIDE_EFAILED, "flow: task %s failed before checkpoint %lld completed",
                                tide_task_name(t), (long long)id);
        if (st == TIDE_TASK_ENDED) {
            int rc = tide_task_complete_after(t, id, e);
            if (rc < 0)
                return named(f->tasks[i]->m[0], rc, "complete", e);
            continue;
        }
        tide_task_request_complete(t, id);
        every = tide_task_completed(t) >= id && every;
    }
    *all = every;
    return 0;
}

int tide_flow_store_find(const tide_buf *store, uint32_t node, uint32_t instance, const void **snap,
                         size_t *len, tide_err *e)
{
    const unsigned char *p = store->data;
    size_t left = store->len;
    while (left) {
        tide_snap_r r;
        size_t used;
        uint32_t version;
        int rc = inst_open(&r, p, left, &used, &version, e);
        if (rc != 0)
            return rc;
        uint32_t n = tide_snap_get_u32(&r), k = tide_snap_get_u32(&r);
        size_t klen, ilen;
        (void)tide_snap_get_bytes(&r, &klen);
        bool has = tide_snap_get_bool(&r);
        const void *inner = tide_snap_get_bytes(&r, &ilen);
        if (tide_snap_failed(&r))
            return tide_err_set(e, TIDE_ECORRUPT, "flow store: a damaged instance section");
        if (n == node && k == instance) {
            *snap = has ? inner : NULL;
            *len = has ? ilen : 0;
            return 0;
        }
        p += used;
        left -= used;
    }
    return tide_err_set(e, TIDE_ENOENT, "flow store: no snapshot of instance %u of node %u", instance, node);
}

uint32_t tide_flow_instance_count(const tide_flow *f) { return f->n_inst; }
size_t tide_flow_task_count(const tide_flow *f) { return f->n_tasks; }
void tide_flow_sched_stats(const tide_flow *f, tide_sched_stats *out)
{
    if (f->g)
        tide_graph_sched_stats(f->g, out);
    else
        memset(out, 0, sizeof *out);
}

size_t tide_flow_chan_count(const tide_flow *f) { return f->g ? tide_graph_chan_count(f->g) : 0; }
void tide_flow_chan_stats(const tide_flow *f, size_t i, tide_chan_stats *out, const char **name)
{
    tide_graph_chan_stats(f->g, i, out, name);
}

const char *tide_flow_part_name(tide_flow_part p)
{
    switch (p) {
    case TIDE_FLOW_FORWARD:
        return "forward";
    case TIDE_FLOW_HASH:
        return "hash";
    case TIDE_FLOW_BROADCAST:
        return "broadcast";
    case TIDE_FLOW_GATHER:
        return "gather";
    }
    return "?";
}

int tide_flow_describe(const tide_flow *f, tide_buf *out)
{
    int rc = 0;
    for (uint32_t i = 0; i < f->n_nodes && rc == 0; i++) {
        const fnode *n = &f->nodes[i];
        rc = tide_buf_printf(out, "node %u %s (%s) parallelism %u\n", i, n->name,
                             n->spec.vt->kind ? n->spec.vt->kind : "?", n->spec.parallelism);
    }
    for (uint32_t i = 0; i < f->n_edges && rc == 0; i++) {
        const fedge *ed = &f->edges[i];
        rc = tide_buf_printf(out, "edge %s.%u -> %s.in%u %s%s\n", f->nodes[ed->from].name, ed->port,
                             f->nodes[ed->to].name, ed->to_in, tide_flow_part_name(ed->part),
                             ed->part == TIDE_FLOW_FORWARD && f->nodes[ed->to].n_in == 1 ? " (chained)" : "");
    }
    return rc;
}
