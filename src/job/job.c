/* job.c - physical graph specs and the jobs run from them.  See job.h. */
#include "job/job.h"

#include "base/arena.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct owned {
    void (*free_fn)(void *);
    void *p;
} owned;

typedef struct sedge {
    int from, to;
    uint32_t port;
    tide_flow_part part;
    uint32_t *keys;
    uint32_t n_keys;
} sedge;

typedef struct resource {
    tide_job_open_fn open;
    tide_job_finish_fn finish;
    void *ctx;
} resource;

struct tide_job_spec {
    tide_arena arena;
    owned *own;
    uint32_t n_own, cap_own;
    tide_flow_node *nodes;
    const char **notes;
    uint32_t n_nodes, cap_nodes;
    sedge *edges;
    uint32_t n_edges, cap_edges;
    resource *res;
    uint32_t n_res, cap_res;
};

static int grow(void **p, uint32_t *cap, uint32_t need, size_t elem)
{
    size_t c = *cap;
    if (tide_array_grow(p, &c, need, elem) != 0)
        return TIDE_ENOMEM;
    *cap = (uint32_t)c;
    return 0;
}

int tide_job_spec_create(tide_job_spec **out, tide_err *e)
{
    *out = calloc(1, sizeof **out);
    if (!*out)
        return tide_err_set(e, TIDE_ENOMEM, "job spec: out of memory");
    tide_arena_init(&(*out)->arena, 0);
    return 0;
}

void tide_job_spec_free(tide_job_spec *s)
{
    if (!s)
        return;
    for (uint32_t i = s->n_own; i-- > 0;)
        s->own[i].free_fn(s->own[i].p);
    free(s->own);
    free(s->nodes);
    free(s->notes);
    free(s->edges);
    free(s->res);
    tide_arena_free(&s->arena);
    free(s);
}

void *tide_job_spec_alloc(tide_job_spec *s, size_t n)
{
    void *p = tide_arena_alloc(&s->arena, n ? n : 1);
    if (p)
        memset(p, 0, n ? n : 1);
    return p;
}

char *tide_job_spec_strdup(tide_job_spec *s, const char *str)
{
    size_t n = strlen(str);
    char *p = tide_job_spec_alloc(s, n + 1);
    if (p)
        memcpy(p, str, n);
    return p;
}

int tide_job_spec_own(tide_job_spec *s, void (*free_fn)(void *), void *p, tide_err *e)
{
    if (!p)
        return 0;
    if (grow((void **)&s->own, &s->cap_own, s->n_own + 1, sizeof *s->own) != 0) {
        free_fn(p);
        return tide_err_set(e, TIDE_ENOMEM, "job spec: out of memory");
    }
    s->own[s->n_own++] = (owned){free_fn, p};
    return 0;
}

int tide_job_spec_node(tide_job_spec *s, const tide_flow_node *n, int *id, tide_err *e)
{
    if (grow((void **)&s->nodes, &s->cap_nodes, s->n_nodes + 1, sizeof *s->nodes) != 0)
        return tide_err_set(e, TIDE_ENOMEM, "job spec: out of memory");
    uint32_t cap = s->cap_nodes;
    const char **nn = realloc(s->notes, cap * sizeof *nn);
    if (!nn)
        return tide_err_set(e, TIDE_ENOMEM, "job spec: out of memory");
    s->notes = nn;
    tide_flow_node *d = &s->nodes[s->n_nodes];
    *d = *n;
    const char *name = n->name ? n->name : (n->vt && n->vt->kind ? n->vt->kind : "node");
    if (!(d->name = tide_job_spec_strdup(s, name)))
        return tide_err_set(e, TIDE_ENOMEM, "job spec: out of memory");
    s->notes[s->n_nodes] = NULL;
    *id = (int)s->n_nodes++;
    return 0;
}

int tide_job_spec_note(tide_job_spec *s, int id, const char *note, tide_err *e)
{
    if (id < 0 || (uint32_t)id >= s->n_nodes)
        return tide_err_set(e, TIDE_EINVAL, "job spec: no node %d", id);
    if (!(s->notes[id] = tide_job_spec_strdup(s, note)))
        return tide_err_set(e, TIDE_ENOMEM, "job spec: out of memory");
    return 0;
}

int tide_job_spec_edge(tide_job_spec *s, int from, uint32_t port, int to, tide_flow_part part,
                       const uint32_t *keys, uint32_t n_keys, tide_err *e)
{
    if (from < 0 || to < 0 || (uint32_t)from >= s->n_nodes || (uint32_t)to >= s->n_nodes)
        return tide_err_set(e, TIDE_EINVAL, "job spec: edge %d -> %d: no such nodes", from, to);
    if (grow((void **)&s->edges, &s->cap_edges, s->n_edges + 1, sizeof *s->edges) != 0)
        return tide_err_set(e, TIDE_ENOMEM, "job spec: out of memory");
    sedge *d = &s->edges[s->n_edges];
    *d = (sedge){.from = from, .to = to, .port = port, .part = part, .n_keys = n_keys};
    if (n_keys) {
        if (!(d->keys = tide_job_spec_alloc(s, n_keys * sizeof *keys)))
            return tide_err_set(e, TIDE_ENOMEM, "job spec: out of memory");
        memcpy(d->keys, keys, n_keys * sizeof *keys);
    }
    s->n_edges++;
    return 0;
}

int tide_job_spec_resource(tide_job_spec *s, tide_job_open_fn open, tide_job_finish_fn finish, void *ctx,
                           tide_err *e)
{
    if (grow((void **)&s->res, &s->cap_res, s->n_res + 1, sizeof *s->res) != 0)
        return tide_err_set(e, TIDE_ENOMEM, "job spec: out of memory");
    s->res[s->n_res++] = (resource){open, finish, ctx};
    return 0;
}

uint32_t tide_job_spec_node_count(const tide_job_spec *s) { return s->n_nodes; }

const tide_flow_node *tide_job_spec_get_node(const tide_job_spec *s, int id)
{
    return id >= 0 && (uint32_t)id < s->n_nodes ? &s->nodes[id] : NULL;
}

int tide_job_spec_explain(const tide_job_spec *s, tide_buf *out)
{
    int rc = 0;
    for (uint32_t i = 0; i < s->n_nodes && rc == 0; i++) {
        const tide_flow_node *n = &s->nodes[i];
        rc = tide_buf_printf(out, "  %u %s  x%u%s%s\n", i, n->name, n->parallelism, s->notes[i] ? "  " : "",
                             s->notes[i] ? s->notes[i] : "");
    }
    for (uint32_t i = 0; i < s->n_edges && rc == 0; i++) {
        const sedge *d = &s->edges[i];
        uint32_t ins = 0;
        for (uint32_t k = 0; k < s->n_edges; k++)
            ins += s->edges[k].to == d->to;
        bool chained = d->part == TIDE_FLOW_FORWARD && ins == 1;
        char port[32] = ""; /* port 1 of the keyed nodes: their late rows */
        if (d->port)
            snprintf(port, sizeof port, d->port == 1 ? " (late rows)" : " (output %u)", (unsigned)d->port);
        rc = tide_buf_printf(out, "  %u %s -> %u %s%s  %s", (unsigned)d->from, s->nodes[d->from].name,
                             (unsigned)d->to, s->nodes[d->to].name, port,
                             chained ? "chained (one task)" : tide_flow_part_name(d->part));
        if (rc == 0 && d->part == TIDE_FLOW_HASH) {
            const tide_schema *sc = s->nodes[d->from].out_schema[d->port];
            rc = tide_buf_printf(out, " by [");
            for (uint32_t k = 0; k < d->n_keys && rc == 0; k++)
                rc = tide_buf_printf(out, "%s%s", k ? ", " : "", tide_schema_col(sc, d->keys[k])->name);
            if (rc == 0)
                rc = tide_buf_printf(out, "]");
        }
        if (rc == 0)
            rc = tide_buf_printf(out, "\n");
    }
    return rc;
}

/* ---- jobs ---- */

struct tide_job {
    const tide_job_spec *spec;
    tide_flow *flow;
    bool ran;
    atomic_bool cancelled;
    tide_job_flow_end_fn flow_end;
    void *flow_end_ctx;
};

int tide_job_create(tide_job **out, const tide_job_spec *spec, const tide_job_cfg *cfg, tide_err *e)
{
    *out = NULL;
    tide_job *j = calloc(1, sizeof *j);
    if (!j)
        return tide_err_set(e, TIDE_ENOMEM, "job: out of memory");
    j->spec = spec;
    atomic_init(&j->cancelled, false);
    int rc = tide_flow_create(&j->flow, cfg ? &cfg->flow : NULL, e);
    for (uint32_t i = 0; i < spec->n_nodes && rc == 0; i++) {
        int id;
        rc = tide_flow_add(j->flow, &spec->nodes[i], &id, e);
    }
    for (uint32_t i = 0; i < spec->n_edges && rc == 0; i++) {
        const sedge *d = &spec->edges[i];
        rc = tide_flow_connect(j->flow, d->from, d->port, d->to, d->part, d->keys, d->n_keys, e);
    }
    if (rc != 0) {
        tide_job_free(j);
        return rc;
    }
    *out = j;
    return 0;
}

void tide_job_free(tide_job *j)
{
    if (!j)
        return;
    tide_flow_free(j->flow);
    free(j);
}

int tide_job_run(tide_job *j, tide_err *e)
{
    if (j->ran)
        return tide_err_set(e, TIDE_EINVAL, "job: run twice");
    j->ran = true;
    const tide_job_spec *s = j->spec;
    uint32_t opened = 0;
    int rc = 0;
    for (; opened < s->n_res && rc == 0; opened++)
        if (s->res[opened].open && (rc = s->res[opened].open(s->res[opened].ctx, e)) != 0)
            break;
    if (rc == 0)
        rc = tide_flow_run(j->flow, e);
    if (opened == s->n_res && j->flow_end) {
        tide_err he = {0};
        int hrc = j->flow_end(j->flow_end_ctx, j, rc, &he);
        if (hrc != 0 && rc == 0) {
            rc = hrc;
            tide_err_set(e, he.code, "%s", he.msg);
        }
    }
    /* a cancelled run stopped cleanly: what it wrote is committed */
    bool ok = rc == 0 || atomic_load(&j->cancelled);
    for (uint32_t i = opened; i-- > 0;) {
        tide_err fe = {0};
        int frc = s->res[i].finish ? s->res[i].finish(s->res[i].ctx, ok, &fe) : 0;
        if (frc != 0 && rc == 0) {
            rc = frc;
            tide_err_set(e, fe.code, "%s", fe.msg);
        }
    }
    return rc;
}

void tide_job_cancel(tide_job *j)
{
    atomic_store(&j->cancelled, true);
    tide_flow_cancel(j->flow);
}

void tide_job_counts_get(const tide_job *j, tide_job_counts *out)
{
    uint64_t c[TIDE_NODE_COUNTERS];
    tide_flow_counts(j->flow, c);
    out->in = c[TIDE_NODE_IN];
    out->bad = c[TIDE_NODE_BAD];
    out->late = c[TIDE_NODE_LATE];
    out->out = c[TIDE_NODE_OUT];
    out->wm_cuts = c[TIDE_NODE_WM_CUTS];
    out->watermark = tide_flow_watermark(j->flow);
}

tide_flow *tide_job_flow(tide_job *j) { return j->flow; }

const tide_job_spec *tide_job_get_spec(const tide_job *j) { return j->spec; }

void tide_job_on_flow_end(tide_job *j, tide_job_flow_end_fn fn, void *ctx)
{
    j->flow_end = fn;
    j->flow_end_ctx = ctx;
}
