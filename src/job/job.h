/*
 * job.h - a job: a physical graph spec (what sql/ makes of a query) and
 * the running flow built from it (exec/flow.h).
 *
 *   tide_job_spec *s;  tide_job_spec_create(&s, &e);
 *   ... tide_job_spec_node / tide_job_spec_edge (the planner) ...
 *   tide_job *j;  tide_job_create(&j, s, &cfg, &e);
 *   tide_job_run(j, &e);          -- open resources, run the flow, finish them
 *   tide_job_counts(j, &c);       -- any thread
 *   tide_job_free(j); tide_job_spec_free(s);
 *
 * The spec owns everything its nodes' configurations point to: memory from
 * tide_job_spec_alloc (zeroed, freed with the spec) and objects handed over
 * with tide_job_spec_own (schemas, expression trees: their free function
 * runs when the spec is freed, in reverse order of hand-over).  A spec can
 * be run any number of times, one job at a time (each run makes fresh node
 * instances from the same configurations).
 *
 * Resources are what a job opens before its flow starts and finishes after
 * it ends: an output sink (committed when the run succeeded, aborted
 * otherwise).  tide_job_run opens them in order, runs, then finishes them
 * in reverse order with ok = (the run succeeded); the first error wins.
 *
 * Threads: build and run from one thread; cancel and the getters from any.
 */
#ifndef TIDE_JOB_JOB_H
#define TIDE_JOB_JOB_H

#include "base/buf.h"
#include "base/clock.h"
#include "base/err.h"
#include "exec/flow.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct tide_job_spec tide_job_spec;

int tide_job_spec_create(tide_job_spec **out, tide_err *e);
/* Runs the own-callbacks; NULL is a no-op. */
void tide_job_spec_free(tide_job_spec *s);
/* Zeroed memory owned by the spec; NULL on ENOMEM. */
void *tide_job_spec_alloc(tide_job_spec *s, size_t n);
/* A copy of a string owned by the spec; NULL on ENOMEM. */
char *tide_job_spec_strdup(tide_job_spec *s, const char *str);
/* Hand `p` over: free_fn(p) runs when the spec is freed.  On ENOMEM
 * free_fn(p) runs at once and TIDE_ENOMEM is returned. */
int tide_job_spec_own(tide_job_spec *s, void (*free_fn)(void *), void *p, tide_err *e);

/* A node (flow.h's description; name copied; configurations borrowed from
 * the spec's memory).  *id gets its number. */
int tide_job_spec_node(tide_job_spec *s, const tide_flow_node *n, int *id, tide_err *e);
/* An edge (flow.h's tide_flow_connect; key columns copied). */
int tide_job_spec_edge(tide_job_spec *s, int from, uint32_t port, int to, tide_flow_part part,
                       const uint32_t *keys, uint32_t n_keys, tide_err *e);
/* A resource: open(ctx, e) before the run, finish(ctx, ok, e) after it. */
typedef int (*tide_job_open_fn)(void *ctx, tide_err *e);
typedef int (*tide_job_finish_fn)(void *ctx, bool ok, tide_err *e);
int tide_job_spec_resource(tide_job_spec *s, tide_job_open_fn open, tide_job_finish_fn finish, void *ctx,
                           tide_err *e);

uint32_t tide_job_spec_node_count(const tide_job_spec *s);
const tide_flow_node *tide_job_spec_get_node(const tide_job_spec *s, int id);
/* The physical graph, one line per node and per edge (for tide explain):
 *   node 2 winagg TUMBLE(1 h) COUNT(*)  x4
 *   edge calc -> winagg  hash [0]
 */
int tide_job_spec_explain(const tide_job_spec *s, tide_buf *out);
/* A note printed after a node's line by explain (copied). */
int tide_job_spec_note(tide_job_spec *s, int id, const char *note, tide_err *e);

typedef struct tide_job_cfg {
    tide_flow_cfg flow;
} tide_job_cfg;

typedef struct tide_job tide_job;

/* Build the flow of a spec (nothing runs yet).  The spec must outlive the
 * job. */
int tide_job_create(tide_job **out, const tide_job_spec *spec, const tide_job_cfg *cfg, tide_err *e);
/* Stops a running job first.  NULL is a no-op. */
void tide_job_free(tide_job *j);
/* Open resources, run to the end (bounded sources) or until cancelled or
 * failed, finish resources.  Once only.  0 or the first error (cancelled:
 * TIDE_EFAILED "cancelled"). */
int tide_job_run(tide_job *j, tide_err *e);
/* Any thread: stop the run.  Its resources are finished as a success (an
 * output written so far is committed: a cancelled run stopped cleanly). */
void tide_job_cancel(tide_job *j);
/* Any thread: the flow's counters (exec/node.h) and watermark. */
typedef struct tide_job_counts {
    uint64_t in, bad, late, out, wm_cuts;
    int64_t watermark;
} tide_job_counts;
void tide_job_counts_get(const tide_job *j, tide_job_counts *out);
/* The flow (for barriers, snapshots, stats). */
tide_flow *tide_job_flow(tide_job *j);
/* The spec the job was made from. */
const tide_job_spec *tide_job_get_spec(const tide_job *j);
/* Before tide_job_run: fn(ctx, j, rc, e) runs once the flow ended (rc: its
 * result, 0 when the input ended) and before the resources are finished
 * (a job coordinator's final checkpoint: job/coord.h).  Its error, when rc
 * was 0, becomes the run's (and the resources are then aborted). */
typedef int (*tide_job_flow_end_fn)(void *ctx, tide_job *j, int rc, tide_err *e);
void tide_job_on_flow_end(tide_job *j, tide_job_flow_end_fn fn, void *ctx);

#endif
