/*
 * lower.h - from a bound plan (sql/plan.h) to a runnable job
 * (job/pipeline.h).
 *
 * Supported shapes (anything else is TIDE_EUNSUPPORTED "not supported yet:
 * ..." at the offending node):
 *   Sink <- [Project] <- [Filter (HAVING)] <- WindowAggregate
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
 *              from EMIT.
 *   output     an adapter on the sink thread applies HAVING and the final
 *              SELECT list to each result row (exec/expr over a one-row
 *              batch of the WindowAggregate's row type) and writes the rows
 *              to the target: stdout (an aligned table, CSV with a header or
 *              JSON Lines; an `op` column first when the plan is a
 *              changelog) or the INSERT target's sink (its `op` column gets
 *              "+I", "-U", "+U", "-D").  Rows are written once per watermark
 *              step and per stateless batch (unbounded sources: per row).
 *
 * Use:
 *   tide_sql_lowered *l;
 *   tide_sql_lower(plan, &opts, &l, &serr);    SQL-level errors (positions)
 *   tide_sql_lower_open(l, &e);                opens the output (runtime error)
 *   tide_pipe_create(&p, tide_sql_lower_config(l), &e); tide_pipe_run(p, &e);
 *   tide_sql_lower_finish(l, run_ok, &e);      commit (or abort) the output
 *   tide_pipe_free(p); tide_sql_lower_free(l);
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
/* NULL is a no-op; aborts an output still open. */
void tide_sql_lower_free(tide_sql_lowered *l);

#endif
