/*
 * lower.h - from a bound plan (sql/plan.h) to a runnable job
 * (job/pipeline.h).
 *
 * Supported shapes (anything else is TIDE_EUNSUPPORTED "not supported yet:
 * ..." at the offending node):
 *   Sink <- [Project] <- [Filter (HAVING)] <- WindowAggregate
 *        <- [Filter] <- [Project (computed columns)] <- Scan
 *   Sink <- [Project] <- [Filter (HAVING)] <- Aggregate     (unwindowed)
 *        <- [Filter] <- [Project (computed columns)] <- Scan
 *   Sink <- [Project] <- [Filter] <- Scan                   (stateless)
 * Chains of Filter / Project nodes are folded (column references replaced
 * by the expressions below them), so any number of them lowers.
 *
 *   source     the Scan's connect/ source (TIDE_PIPE_SRC_CONNECT), or the
 *              logins generator for connector 'logins' (its WITH options are
 *              the generator's, mapped by tide_src_config_set); the table
 *              must have a WATERMARK on a physical column: its bound is the
 *              pipeline's wm_bound.  A relative 'path' resolves against
 *              opts->base_dir (the .sql file's directory); a topic without
 *              'data' uses opts->datadir.
 *   stage      tide_pipe_expr_stage: WHERE (all filters ANDed) and the
 *              GROUP BY keys, the aggregates' arguments and the event time
 *              (stateless: the output columns, plus the event time when it
 *              is not one of them).
 *   winagg     window, aggregates, ALLOW LATENESS, mode and EARLY firings
 *              from EMIT.  SESSION without PARTITION BY forms sessions over
 *              the whole input and splits them by the GROUP BY keys
 *              (exec/sessagg, cfg.session_part = 0): that cannot be divided
 *              by key, so it runs as one instance whatever the parallelism.
 *              SESSION(TABLE t PARTITION BY k, ...) forms them per k, whose
 *              columns must be GROUP BY keys and go first among the
 *              pipeline's key columns: a session per key (winagg) when they
 *              are all the keys, else exec/sessagg with instances exchanged
 *              by k.
 *   groupagg   an Aggregate (GROUP BY without a window, aggregates without
 *              GROUP BY, SELECT DISTINCT): cfg.keyed = TIDE_PIPE_GROUPAGG,
 *              P instances flushed at every watermark step (the source's
 *              event time still drives the steps; no record is late).  Its
 *              output is a changelog: +I, -U/+U (adjacent, same key), -D.
 *              SELECT DISTINCT counts rows per key (a hidden COUNT(*)).
 *              MIN/MAX of a STRING is refused (not supported yet).
 *   output     an adapter on the sink thread applies HAVING and the final
 *              SELECT list to each result row (exec/expr over a one-row
 *              batch of the aggregation's row type) and writes the rows
 *              to a connect/ sink (connect/sink.h, which owns the formats):
 *              stdout (an aligned table, CSV with a header or JSON Lines; an
 *              `op` column first when the plan is a changelog) or the INSERT
 *              target's sink (its `op` column gets "+I", "-U", "+U", "-D").
 *              Rows are flushed once per watermark step and per stateless
 *              batch (unbounded sources: the sink is prompt, per row).
 *              HAVING on a changelog: a -U is held until its +U; with old =
 *              the -U row, new = the +U row: both pass HAVING -> -U old, +U
 *              new (nothing when the two output rows are equal); only old
 *              passes -> -D old; only new passes -> +I new; neither ->
 *              nothing.  +I and -D pass when their row passes.  Applying
 *              the ops (+I/+U set, -U/-D delete) gives exactly the filtered
 *              result table.
 *
 * Several pipelines (job/fanin.h):
 *   Sink <- [Project] <- [Filter] <- Join INNER ON l.window_end = r.window_end
 *        [AND l.x = r.y ...] [AND any other condition]
 *        <- two of the WindowAggregate shapes above (final results only:
 *           no EMIT early / late firings)
 *   Sink <- [Project] <- [Filter] <- Union ALL (nested unions flattened)
 *        <- any of the single-pipeline shapes above, per branch
 *              Each branch is lowered as a job of its own (its own source
 *              instance: a file or the generator is read once per branch;
 *              stdin can feed only one branch) whose rows, instead of an
 *              output, go to a fan-in with a watermark report per step.
 *              The fan-in releases them in watermark order once every
 *              branch's watermark passed them: UNION ALL by (step, branch),
 *              a join when both sides' watermarks passed the window end,
 *              pairs matched on window_end and the further equalities, in
 *              (window_end, keys, left order, right order) order; the ON
 *              condition, then the Filter / Project chain above, run over
 *              the joined row (left columns, then right).  So the output
 *              does not depend on timing or P.
 *   Sink <- [Project] <- [Filter] <- Join INNER of two streams
 *        <- two stateless shapes (Scan, Filter, Project)        interval join
 *        <- two [Filter / Project] <- Window (the same TVF) <- stateless
 *                                                                window join
 *              Interval join: ON bounds one side's event time by the
 *              other's (a.ts BETWEEN b.ts - INTERVAL .. AND b.ts + INTERVAL
 *              .., or <, <=, >, >=, = with INTERVAL offsets; both bounds
 *              needed) and may equate columns (the key).  Window join
 *              (Flink's): ON equates window_start, window_end and maybe
 *              columns of the windows' inputs (the key); each side's Filter /
 *              Project over its Window row is applied per output row.  The
 *              branches are stateless; the fan-in merges their rows and
 *              watermark reports (UNION with marks: (step, branch) order)
 *              into exec/join's operator on the calling sink thread, with
 *              watermark = the smaller of the two sides' reports so far,
 *              so the output is deterministic too.
 *   Refused (not supported yet): outer joins, joins of two streams without
 *   a time bound on both sides (regular joins), window joins of different
 *   windows or SESSION windows, joins of aggregates without a window_end
 *   equality or of changelogs (EMIT early / late), joins of a stream with
 *   an aggregate, a join or union inside another.
 *
 * CUMULATE(step, max), and HOP(slide, size) with size a multiple of slide,
 * without EMIT run by shared slices (exec/cumagg.h) on the sink thread of a
 * stateless pipeline (source -> stage -> sink): one state update per record
 * instead of one per window of the record (max/step or size/slide of
 * them), the same rows and late count as the keyed window operator.
 *
 * Use:
 *   tide_sql_lowered *l;
 *   tide_sql_lower(plan, &opts, &l, &serr);    SQL-level errors (positions)
 *   tide_sql_lower_open(l, &e);                opens the output (runtime error)
 *   tide_sql_lower_run(l, &counts, &e);        runs the job's pipeline(s)
 *   tide_sql_lower_finish(l, run_ok, &e);      commit (or abort) the output
 *   tide_sql_lower_free(l);
 * (A single-pipeline job may still be run with tide_pipe_create(&p,
 * tide_sql_lower_config(l), &e) and tide_pipe_run, freeing p first.)
 * The plan (and its program and catalog) must outlive the lowered job.
 */
#ifndef TIDE_SQL_LOWER_H
#define TIDE_SQL_LOWER_H

#include "base/clock.h"
#include "base/err.h"
#include "job/pipeline.h"
#include "sql/parser.h"
#include "sql/plan.h"

#include <stdbool.h>
#include <stdint.h>

typedef enum tide_sql_out_format {
    TIDE_SQL_OUT_TABLE, /* aligned columns (for a terminal) */
    TIDE_SQL_OUT_CSV,   /* a header line, then CSV rows */
    TIDE_SQL_OUT_JSONL, /* one JSON object per line */
} tide_sql_out_format;

typedef struct tide_sql_lower_opts {
    const char *base_dir;       /* relative file paths resolve against it; NULL: as given */
    const char *datadir;        /* topics without a 'data' option; NULL: tide_data_dir(NULL) */
    tide_sql_out_format format; /* bare queries (stdout) */
    int out_fd;                 /* bare queries: the descriptor written (e.g. 1) */
    uint32_t parallelism;       /* winagg instances; 0: cores */
    const tide_clock *clock;    /* NULL: system */
} tide_sql_lower_opts;

typedef struct tide_sql_lowered tide_sql_lowered;

/* Lower a SINK plan.  On failure *out is NULL and err (whose `file` the
 * caller sets beforehand) says where: TIDE_EUNSUPPORTED, TIDE_EINVAL (an
 * expression exec/expr refuses), TIDE_ENOMEM. */
int tide_sql_lower(const tide_sql_plan *plan, const tide_sql_lower_opts *opts, tide_sql_lowered **out,
                   tide_sql_error *err);
/* The pipeline configuration (owned by l). */
const tide_pipe_config *tide_sql_lower_config(const tide_sql_lowered *l);
/* Whether the source ends by itself (file, stdin, generator, bounded topic). */
bool tide_sql_lower_bounded(const tide_sql_lowered *l);
/* Open the output sink (before the run).  0 or a TIDE_E* code. */
int tide_sql_lower_open(tide_sql_lowered *l, tide_err *e);
/* After the run: write what is pending and commit the output (ok), or
 * abort it.  Returns the first output error of the run (the pipeline only
 * sees its code), else the commit's. */
int tide_sql_lower_finish(tide_sql_lowered *l, bool ok, tide_err *e);
/* Rows written to the output so far (after HAVING). */
uint64_t tide_sql_lower_rows_out(const tide_sql_lowered *l);
/* Run the job to its end (bounded sources) or until cancelled or failed:
 * its pipeline, or one per branch combined by the fan-in.  Once only,
 * between _open and _finish.  *counts (may be NULL) gets the pipelines'
 * counts summed (records in and bad per source table: a table that several
 * branches read counts once; late: CUMULATE's late records too).  0 or the
 * first failure (cancelled: TIDE_EFAILED). */
int tide_sql_lower_run(tide_sql_lowered *l, tide_pipe_counts *counts, tide_err *e);
/* Any thread, during or after tide_sql_lower_run: stop the running job. */
void tide_sql_lower_cancel(tide_sql_lowered *l);
/* NULL is a no-op; aborts an output still open. */
void tide_sql_lower_free(tide_sql_lowered *l);

#endif
