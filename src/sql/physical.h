/*
 * physical.h - from a bound plan (sql/plan.h) to a physical graph spec
 * (job/job.h): which nodes (exec/node_*.h), at which parallelism, joined
 * by which edges.  This is all sql/ does about running a query; job/ runs
 * the spec.
 *
 * The translation, plan node by plan node (each becomes nodes of the
 * graph; plans are trees, the graph may share a table's scan):
 *   Scan              node_scan (parallelism 1): the connector, the
 *                     table's watermark (WATERMARK FOR ts AS ts - B) and
 *                     its scan.watermark.* options; one scan per table.
 *   Filter / Project  node_calc, chained to its input (a chain of them
 *                     folds into one calc: column references replaced by
 *                     the expressions below).  Over a changelog a Filter is
 *                     HAVING: the -U/+U rule of node_calc.
 *   WindowAggregate   a calc computing the keys, the aggregates' arguments
 *                     and the event time; a HASH edge on the keys (none: a
 *                     gather to one instance; SESSION without PARTITION BY
 *                     forms sessions over the whole stream, so one instance;
 *                     with PARTITION BY: hashed on those columns); then
 *                     node_cumagg (HOP and CUMULATE without EMIT: by shared
 *                     slices) or node_winagg at parallelism P.  Output:
 *                     keys, window_start, window_end, window_time,
 *                     aggregates (the plan's row type), so a window
 *                     aggregate over it (cascading windows) uses
 *                     window_time as its event time.
 *   Aggregate         a calc, a HASH edge on the keys, node_groupagg at P:
 *                     a changelog.
 *   Window            node_window (the TVF's rows with their windows).
 *   Join              node_join at P, both inputs hashed on the equi-join
 *                     columns: an interval join of two streams, a window
 *                     join (both sides the same window TVF), or the join of
 *                     two windowed aggregations on window_end (a side may
 *                     be a UNION ALL of them).
 *   Union             node_union (inputs at their own parallelism).
 *   Sink              the rows gathered into node_order (canonical order
 *                     per watermark step: P does not change the output),
 *                     the final Filter / Project chain, then node_write:
 *                     stdout (table, CSV, JSON Lines; an op column for a
 *                     changelog) or the INSERT target (file, topic).
 *
 * Errors are SQL errors at the plan node (or expression) that cannot run,
 * with its line and column.
 */
#ifndef TIDE_SQL_PHYSICAL_H
#define TIDE_SQL_PHYSICAL_H

#include "base/clock.h"
#include "base/err.h"
#include "job/job.h"
#include "sql/parser.h"
#include "sql/plan.h"

#include <stdbool.h>
#include <stdint.h>

typedef enum tide_sql_out_format {
    TIDE_SQL_OUT_TABLE, /* aligned columns (for a terminal) */
    TIDE_SQL_OUT_CSV,   /* a header line, then CSV rows */
    TIDE_SQL_OUT_JSONL, /* one JSON object per line */
} tide_sql_out_format;

typedef struct tide_sql_phys_opts {
    const char *base_dir;       /* relative file paths resolve against it; NULL: as given */
    const char *datadir;        /* topics without a 'data' option; NULL: tide_data_dir(NULL) */
    tide_sql_out_format format; /* bare queries (stdout) */
    int out_fd;                 /* bare queries: the descriptor written (e.g. 1) */
    uint32_t parallelism;       /* keyed nodes' instances; 0: cores */
    const tide_clock *clock;    /* NULL: system */
    /* Each bad record of a scan (undecodable; without an event time, or
     * one outside the TIDE_TIMESTAMP range; past the future bound): where
     * ("logins.csv:17" or "topic t/2/1041", with the column when known),
     * why, and its raw bytes when the source has them (else NULL, 0).
     * Called from the thread of the scan that met it: several at once at
     * P > 1.  NULL: bad records are only counted. */
    void (*on_dead)(void *ctx, const char *position, const char *reason, const void *raw,
                    size_t raw_len);
    void *dead_ctx;
    /* A named job (job/coord.h): its name.  The statement's sink is then
     * transactional (connect/sink.h cfg.txn, producer "<job>.<i>", i the
     * statement's index in its set (tide_sql_physical_set; 0 alone), committed
     * with the job's checkpoints by node_write): a FILE a directory of part
     * files, a TOPIC transactions with commit markers, STDOUT
     * at-least-once.  NULL: an ordinary run. */
    const char *job;
    /* A job version's overrides (server/server.h).  topic_start: where
     * every topic a table reads starts (TABLE: as the table's options say;
     * EARLIEST, LATEST, or TIME: the first record with a timestamp >=
     * topic_start_ms).  topic_end: when set, asked for each topic a table
     * reads; 1 and offs[0..n) (next offset per partition, borrowed until the
     * spec is freed) bound its scan there (a bounded run up to where another
     * run stood), 0 leaves the table as it is.  sink_topic: a bare query's
     * rows go to that topic (it must exist) as JSON Lines, each leading with
     * its op ({"op":"+I",...}), instead of stdout; an INSERT is then refused
     * (the version writes its own output). */
    enum { TIDE_SQL_START_TABLE, TIDE_SQL_START_EARLIEST, TIDE_SQL_START_LATEST, TIDE_SQL_START_TIME } topic_start;
    int64_t topic_start_ms;
    int (*topic_end)(void *ctx, const char *topic, const uint64_t **offs, uint32_t *n);
    void *topic_end_ctx;
    const char *sink_topic;
} tide_sql_phys_opts;

/* What a planned statement is like. */
typedef struct tide_sql_phys_info {
    bool bounded; /* every source ends by itself */
    bool live;    /* a rate-limited generator: rows are written as they come */
} tide_sql_phys_info;

/* Plan the SINK plan `plan` into `spec` (empty; it owns everything made).
 * The plan (its program, catalog) must outlive the spec.  On failure the
 * spec must be freed, and err (whose `file` the caller sets) says where:
 * TIDE_EUNSUPPORTED, TIDE_EINVAL, TIDE_ENOMEM. */
int tide_sql_physical(const tide_sql_plan *plan, const tide_sql_phys_opts *o, tide_job_spec *spec,
                      tide_sql_phys_info *info, tide_sql_error *err);
/* A statement set: the SINK plans plans[0..n) into one graph (a named job
 * of several INSERTs, as Flink's STATEMENT SET), planned in order, a
 * table read by several of them scanned once.  Statement i's transactional
 * sink is producer "<job>.<i>" (o->job), so every sink of the job has its
 * own, the same at every run of the same script.  info: bounded when every
 * source is, live when any is.  As tide_sql_physical otherwise (which is
 * the set of one). */
int tide_sql_physical_set(const tide_sql_plan *const *plans, uint32_t n, const tide_sql_phys_opts *o,
                          tide_job_spec *spec, tide_sql_phys_info *info, tide_sql_error *err);

/* The fingerprint of plans[0..n) run as one job (job/coord.h's cfg.plan):
 * a hash of their logical plans and physical graph in words (every
 * statement, operator, window, aggregate, expression, parallelism), so a
 * checkpoint of another plan is refused.  0 or TIDE_ENOMEM. */
int tide_sql_fingerprint(const tide_sql_plan *const *plans, uint32_t n, const tide_job_spec *spec, uint64_t *out);

#endif
