/*
 * pipeline.h - an event-time job, end to end, on the threaded runtime.
 *
 *   source task --(per-partition watermarks, fused stateless stage)-->
 *       hash exchange by key --> P winagg tasks --> one sink task
 *
 * Tasks and threads (exec/graph.h, one thread per task):
 *   "source"      reads column batches from the source (the logins
 *                 generator, a connect/ source, or a caller's callback),
 *                 drops rows without an event time or too far in the
 *                 future (dead letters, future_bound_ms), keeps a
 *                 watermark generator per source partition (W_p = max ts -
 *                 B) and a combiner over them (min; partitions idle for
 *                 idle_timeout do not hold it back; end of input +infinity;
 *                 optionally advancing with processing time when the
 *                 whole input is quiet, quiet_advance_ms),
 *                 runs the stateless stage (a filter/project callback over
 *                 column batches) and routes each row by a hash of its
 *                 GROUP BY key to one of P winagg tasks.  A keyed job's
 *                 source reads up to 4 * batch_rows rows a step (so that an
 *                 instance's share is still about a batch; the exchange
 *                 sends batches of at most batch_rows), whatever P is: the
 *                 watermark steps, hence changelogs, do not depend on P.
 *   "winagg-k"    a tide_winagg over the keys routed to it (or, with
 *                 cfg.keyed = TIDE_PIPE_GROUPAGG, an unwindowed GROUP BY
 *                 flushed at every watermark step: see tide_pipe_keyed;
 *                 or, for SESSION windows not formed per GROUP BY key, a
 *                 tide_sessagg: see cfg.session_part).
 *   "sink"        receives the results of all P instances and hands them to
 *                 the caller's callbacks in a deterministic order.
 * With P = 1 the one winagg instance is chained into the source task (no
 * exchange, no thread of its own): the same rows, in the same order.
 * Without aggregates (n_aggs == 0) the job is stateless: source -> sink, and
 * the sink hands over the stage's output batches (on_rows).
 *
 * Watermarks are exact per record.  A record is judged against the
 * watermark that holds just before it arrives (DESIGN.md 4): when a source
 * batch holds a record that W may make late, ts <= W (W including every
 * earlier record of the batch; ts == W counts, since a window [.., ts + 1)
 * fires at W = ts; GROUPAGG, without lateness, only cuts at ts < W), the
 * batch is cut there and W is sent first, so the winagg tasks see the same
 * watermark at that record as a record-at-a-time engine.  In order data
 * with B > 0 is never cut.
 *
 * Deterministic output.  Every result row an instance produces is tagged
 * with the watermark step that releases it: rows fired when the watermark
 * advances to w carry w; rows produced while pushing records (late firings,
 * every-N early firings, late records) carry the next watermark the instance
 * receives.  All instances receive the same watermark sequence, so the set
 * of rows of a tag does not depend on P or on thread timing.  The sink holds
 * rows until its watermark (min over the instances) reaches their tag, then
 * delivers them ordered by (tag, window_end, window_start, key bytes,
 * instance sequence); late records of a tag follow its results, ordered by
 * (ts, key bytes, sequence).  So P = 1, 2, 4 give identical sequences.
 * (Processing-time early firings are timing-dependent by nature.)
 *
 * Keys are encoded by the key codec (data/key.h): memcmp order of the key
 * bytes is the SQL order of the key tuples (NULLs first), DOUBLE -0.0 and
 * 0.0 are one key, and so are all NaNs.  Callbacks get the decoded key
 * values.
 *
 * Memory stays bounded: channels are bounded (chan_capacity messages of at
 * most batch_rows rows), a slow sink blocks the instances, which block the
 * source (backpressure).
 *
 * Threads: build, run and free from one thread; the output callbacks are
 * called on the sink thread only, one at a time; the stage callback on the
 * source thread.  tide_pipe_cancel and the stats getters from any thread.
 */
#ifndef TIDE_JOB_PIPELINE_H
#define TIDE_JOB_PIPELINE_H

#include "base/clock.h"
#include "base/err.h"
#include "connect/gen_logins.h"
#include "connect/sink.h"
#include "connect/source.h"
#include "data/batch.h"
#include "data/schema.h"
#include "exec/channel.h"
#include "exec/winagg.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Columns of the logins generator's batches. */
enum {
    TIDE_PIPE_LOGINS_TS = 0,      /* TIMESTAMP(3) */
    TIDE_PIPE_LOGINS_USER_ID = 1, /* BIGINT */
    TIDE_PIPE_LOGINS_COUNTRY = 2, /* STRING */
    TIDE_PIPE_LOGINS_DEVICE = 3,  /* STRING */
};

/* Results of tide_pipe_next_fn (the same values as connect/source.h's). */
enum {
    TIDE_PIPE_END = 0,     /* no more rows, ever */
    TIDE_PIPE_READY = 1,   /* the batch holds rows of one partition */
    TIDE_PIPE_NOTHING = 2, /* nothing now, try again later */
};

/* A caller's source: reset and fill `batch` (the source schema, capacity
 * batch_rows, or 4 * batch_rows with aggregates) with rows of one partition (*partition < partitions).
 * TIDE_PIPE_* or a negative TIDE_E* code with `e` filled.  Source thread. */
typedef int (*tide_pipe_next_fn)(void *ctx, tide_cbatch *batch, uint32_t *partition, tide_err *e);

typedef enum tide_pipe_src_kind {
    TIDE_PIPE_SRC_GEN_LOGINS, /* the logins generator (connect/gen_logins.h), one partition */
    TIDE_PIPE_SRC_CONNECT,    /* a connect/ source (file, topic, ...) */
    TIDE_PIPE_SRC_CALLBACK,   /* tide_pipe_next_fn */
} tide_pipe_src_kind;

typedef struct tide_pipe_source {
    tide_pipe_src_kind kind;
    tide_gen_logins_cfg gen;     /* GEN_LOGINS (rate uses cfg.clock) */
    const tide_src_config *conn; /* CONNECT: borrowed until tide_pipe_free */
    const tide_schema *schema;   /* CALLBACK: the rows' schema (borrowed) */
    uint32_t partitions;         /* CALLBACK: >= 1 */
    tide_pipe_next_fn next;      /* CALLBACK */
    void *ctx;
    int time_col; /* event-time column of the source schema; < 0: the schema's
                     time column (GEN_LOGINS: TIDE_PIPE_LOGINS_TS) */
} tide_pipe_source;

/* The stateless stage: reset-and-filled `out` (stage_schema, capacity >=
 * in's rows) from `in` (filter: tide_cbatch_select; project: copy columns).
 * 0 or a negative TIDE_E* with `e` filled.  Source thread. */
typedef int (*tide_pipe_stage_fn)(void *ctx, const tide_cbatch *in, tide_cbatch *out, tide_err *e);

/* A stage from exec/expr.h trees: WHERE `where` (NULL: every row) then
 * SELECT exprs[0..n) into the stage schema (whose column types must be the
 * exprs' types).  Takes ownership of the trees, even on failure.  Use
 *   cfg.stage = tide_pipe_expr_stage_fn; cfg.stage_ctx = st;
 * The trees are evaluated on the source thread only; free the stage after
 * tide_pipe_free.  TIDE_EINVAL (a non-BOOLEAN where), TIDE_ENOMEM. */
typedef struct tide_pipe_expr_stage tide_pipe_expr_stage;
struct tide_expr;
int tide_pipe_expr_stage_create(tide_pipe_expr_stage **out, struct tide_expr *where,
                                struct tide_expr *const *exprs, uint32_t n, tide_err *e);
void tide_pipe_expr_stage_free(tide_pipe_expr_stage *st); /* NULL is a no-op */
int tide_pipe_expr_stage_fn(void *ctx, const tide_cbatch *in, tide_cbatch *out, tide_err *e);

/* One result row.  Pointers are borrowed for the call. */
typedef struct tide_pipe_result {
    tide_op op;
    int64_t start, end;     /* the window (GROUPAGG: TIDE_TS_MIN, TIDE_TS_MAX) */
    const tide_value *keys; /* n_keys decoded key columns */
    size_t n_keys;
    const tide_value *vals; /* one per aggregate */
    size_t n_vals;
    const void *key_bytes; /* the encoded key (data/key.h) */
    uint32_t key_len;
    int64_t wm; /* the watermark step that released it */
} tide_pipe_result;

/* One record past the allowed lateness.  Pointers are borrowed for the call. */
typedef struct tide_pipe_late {
    int64_t ts;
    const tide_value *keys;
    size_t n_keys;
    const tide_value *vals; /* the record's value columns (value_cols) */
    size_t n_vals;
    int64_t wm;
} tide_pipe_late;

/* One dead letter of the source: a row without an event time, or one whose
 * event time is too far in the future (future_bound_ms).  Borrowed for the
 * call; `batch` is the source batch (source schema), `row` its row. */
typedef struct tide_pipe_dead {
    const tide_cbatch *batch;
    uint32_t row;
    uint32_t partition;
    int64_t ts;         /* the event time (0 when NULL) */
    const char *reason; /* names the timestamp and the bound */
} tide_pipe_dead;

/* Return 0, or a negative TIDE_E* code to fail the job. */
typedef int (*tide_pipe_dead_fn)(void *ctx, const tide_pipe_dead *d);
typedef int (*tide_pipe_result_fn)(void *ctx, const tide_pipe_result *r);
typedef int (*tide_pipe_late_fn)(void *ctx, const tide_pipe_late *l);
/* Stateless jobs: one output batch (borrowed for the call). */
typedef int (*tide_pipe_rows_fn)(void *ctx, const tide_cbatch *b);
/* The sink's watermark advanced to `wm` (TIDE_TS_MAX at the end of input):
 * called after the rows of that step were handed over (results released
 * by it; stateless jobs: the batches that preceded it), so a caller can
 * combine several jobs' outputs in watermark order. */
typedef int (*tide_pipe_wm_fn)(void *ctx, int64_t wm);

/* The keyed operator of the P instances.
 *   WINAGG    tide_winagg (exec/winagg.h): window, allowed_lateness, mode,
 *             early firings; results carry their window.
 *   GROUPAGG  an unwindowed GROUP BY (exec/groupagg.h) in mini-batch mode:
 *             a record only updates its key's state; every watermark step
 *             an instance receives (and the end of input, +infinity)
 *             flushes it, emitting at most one change per key changed since
 *             the previous step (+I new key, -U then +U changed result, -D
 *             key without rows).  Those rows carry the step's tag, so the
 *             sink delivers them after the step ordered by key bytes.
 *             Watermarks still flow (and still cut source batches), but no
 *             record is late; window, allowed_lateness, mode and early are
 *             ignored.  Results have start = TIDE_TS_MIN, end = TIDE_TS_MAX
 *             (no window); the connect sink's rows have no window_start /
 *             window_end columns.  MIN/MAX over STRING: TIDE_EUNSUPPORTED at
 *             create (exec/groupagg.h). */
typedef enum tide_pipe_keyed {
    TIDE_PIPE_WINAGG = 0,
    TIDE_PIPE_GROUPAGG = 1,
} tide_pipe_keyed;

typedef struct tide_pipe_config {
    tide_pipe_source source;
    int64_t wm_bound;        /* B >= 0, ms: W = max ts - B per source partition */
    int64_t idle_timeout_ms; /* <= 0: partitions never idle */
    /* "Whole input quiet" (time/watermark.h, tide_wm_comb_set_quiet_advance):
     * when no partition delivered data for this long (ms of cfg.clock's
     * processing time), the watermark advances with processing time while
     * the source has nothing, so windows still close.  Records arriving
     * later below it are late.  <= 0: off. */
    int64_t quiet_advance_ms;
    /* Records with event time > processing now + future_bound_ms are dead
     * letters (counted as bad, dropped, passed to on_dead): they never
     * advance the watermark.  <= 0: off. */
    int64_t future_bound_ms;
    tide_pipe_dead_fn on_dead; /* source thread; NULL: only counted */
    void *dead_ctx;

    /* Stateless stage; NULL: identity (stage_schema and time_col ignored). */
    tide_pipe_stage_fn stage;
    void *stage_ctx;
    const tide_schema *stage_schema; /* borrowed */
    int time_col;                    /* event time in the stage output (stage set) */

    /* Keyed window aggregation; n_aggs == 0: a stateless job. */
    tide_pipe_keyed keyed; /* the instances' operator; 0: TIDE_PIPE_WINAGG */
    tide_win_spec window;
    const tide_winagg_call *aggs; /* arg: index into value_cols */
    size_t n_aggs;
    const uint32_t *key_cols;   /* GROUP BY columns of the stage output */
    size_t n_key_cols;          /* 0: one global group */
    const uint32_t *value_cols; /* the aggregates' input columns */
    size_t n_value_cols;
    int64_t allowed_lateness; /* L >= 0, ms */
    tide_trig_mode mode;
    tide_trig_early early;
    /* SESSION windows: sessions form per partition key, the first
     * session_part key columns (SESSION(TABLE t PARTITION BY ...) with those
     * columns first among key_cols), and are aggregated per key (all key
     * columns) inside each session (exec/sessagg.h); the exchange routes by
     * the partition key.  0: sessions over the whole input (SESSION without
     * PARTITION BY); they cannot be split by key, so one instance runs them
     * whatever `parallelism` says.  >= n_key_cols, e.g.
     * TIDE_PIPE_SESSION_PER_KEY (tide_pipe_config_init's default): a session
     * per key (tide_winagg).  Other windows ignore it. */
    uint32_t session_part;
    size_t capacity_hint; /* expected live (key, window) pairs over all instances */

    uint32_t parallelism;    /* winagg instances P; 0: number of cores */
    uint32_t batch_rows;     /* rows per batch; 0: 4096 */
    int64_t latency_ns;      /* flush bound of partial batches; 0: 5 ms */
    uint32_t chan_capacity;  /* messages per channel; 0: 8 */
    const tide_clock *clock; /* NULL: the system clock */

    /* A connect/ sink (connect/sink.h), opened by the pipeline with the
     * result schema (its `schema` field is ignored) and committed (closed)
     * when the run ends; NULL: none.  Rows: the changelog op (as the
     * format's "op" field), the key columns (their stage-output names),
     * window_start, window_end (TIMESTAMP; not for GROUPAGG), then one column per aggregate
     * named agg_names[i] (NULL: "agg<i>"); a stateless job writes the stage
     * output as it is.  Written once per watermark step, in the order the
     * callbacks see.  Borrowed until tide_pipe_free. */
    const tide_sink_config *sink;
    const char *const *agg_names;

    /* Outputs, on the sink thread.  Any may be NULL (then only counted). */
    tide_pipe_result_fn on_result;
    tide_pipe_late_fn on_late;
    tide_pipe_rows_fn on_rows;
    tide_pipe_wm_fn on_watermark;
    void *out_ctx;
} tide_pipe_config;

#define TIDE_PIPE_SESSION_PER_KEY UINT32_MAX

/* Zero everything, then: GEN_LOGINS with its defaults, tumbling 1 minute,
 * accumulating, B = 5 s, sessions per key. */
void tide_pipe_config_init(tide_pipe_config *c);

typedef struct tide_pipe tide_pipe;

/* Build the job (sources opened, tasks created; no thread yet).
 * TIDE_EINVAL naming the bad field, TIDE_ENOMEM, or the source's error. */
int tide_pipe_create(tide_pipe **out, const tide_pipe_config *cfg, tide_err *e);
/* Stops a running job first.  NULL is a no-op. */
void tide_pipe_free(tide_pipe *p);

/* Run to the end (a bounded source) or until cancelled / failed.
 * 0, or the first task's error.  Once only. */
int tide_pipe_run(tide_pipe *p, tide_err *e);
/* Stop a running job from any thread (run returns TIDE_EFAILED "cancelled"). */
void tide_pipe_cancel(tide_pipe *p);

typedef struct tide_pipe_counts {
    uint64_t in;       /* source rows accepted (with an event time) */
    uint64_t bad;      /* dead letters: undecodable records, rows without event time,
                          rows too far in the future */
    uint64_t filtered; /* rows out of the stateless stage */
    uint64_t out;      /* result rows (or stateless rows) handed to the sink */
    uint64_t late;     /* records past the allowed lateness */
    uint64_t wm_cuts;  /* source batches cut to keep watermarks exact */
    int64_t watermark; /* the sink's last watermark */
} tide_pipe_counts;

/* Any thread (relaxed snapshot; exact after run returned). */
void tide_pipe_counts_get(const tide_pipe *p, tide_pipe_counts *out);

uint32_t tide_pipe_parallelism(const tide_pipe *p);
/* The schema of the rows written to cfg.sink (see there). */
const tide_schema *tide_pipe_result_schema(const tide_pipe *p);
/* The source schema (the generator's own for GEN_LOGINS). */
const tide_schema *tide_pipe_source_schema(const tide_pipe *p);

/* Channels: i < tide_pipe_chan_count; `name` gets "from->to" (may be NULL).
 * Any thread. */
size_t tide_pipe_chan_count(const tide_pipe *p);
void tide_pipe_chan_stats(const tide_pipe *p, size_t i, tide_chan_stats *out, const char **name);

#endif
