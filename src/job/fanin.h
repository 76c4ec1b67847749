/*
 * fanin.h - several pipelines (job/pipeline.h) combined into one output:
 * UNION ALL, or an inner equi-join of two windowed aggregates on their
 * window end (and optional further equal columns).
 *
 * Each branch is its own tide_pipe (own source instance, own threads).  Its
 * sink thread pushes rows (tide_fanin_push: the branch's values) and reports
 * its watermark after the rows of each step (tide_fanin_watermark, from
 * cfg.on_watermark of the pipeline).  A row pushed after the report of w and
 * before the next report w' carries tag w'.  Rows are held, under a mutex,
 * until the minimum watermark M over all branches (TIDE_TS_MIN until every
 * branch reported one) reaches them, then released to `emit` on the thread
 * whose report moved M:
 *
 *   UNION  the rows with tag <= M, ordered by (tag, branch, push order).
 *   JOIN   two branches; the rows whose window (end_col, a TIMESTAMP, its
 *          end) fired under M, end - 1 <= M (time/trigger.h: a branch that
 *          reported w has pushed every final row of the windows with
 *          end - 1 <= w), matched on end and the key columns, compared as
 *          their data/key.h encodings (so equal as SQL compares them, -0.0
 *          = 0.0; NULL and NaN never match; the two sides' key columns have
 *          the same types, BIGINT and TIMESTAMP counting as one); the pairs
 *          come ordered by (end, keys in SQL order, left push order, right
 *          push order).
 *          Released rows are dropped (matched or not): only final window
 *          results (no early or late firings) may be joined.
 *
 * So the combined output does not depend on thread timing: it is as
 * deterministic as each branch's own sequence of rows and watermarks.
 * Memory: rows wait until the slowest branch's watermark passes them (no
 * backpressure between branches).
 *
 * Rows are copied (strings included) when pushed; no allocation per row
 * beyond the amortised growth of one buffer per branch.
 */
#ifndef TIDE_JOB_FANIN_H
#define TIDE_JOB_FANIN_H

#include "base/err.h"
#include "data/types.h"
#include "exec/winagg.h"
#include "job/pipeline.h"

#include <stdbool.h>
#include <stdint.h>

typedef enum tide_fanin_mode {
    TIDE_FANIN_UNION,
    TIDE_FANIN_JOIN,
} tide_fanin_mode;

/* One released row.  Pointers are borrowed for the call. */
typedef struct tide_fanin_out {
    bool mark;               /* UNION with cfg.marks: branch's watermark reached wm (no row) */
    tide_op op;          /* UNION: as pushed; JOIN: insert */
    uint32_t branch;         /* UNION: the row's branch */
    const tide_value *left;  /* UNION: the row; JOIN: the left row */
    const tide_value *right; /* JOIN: the right row */
    int64_t wm;              /* the minimum watermark that released it; a mark: the branch's */
} tide_fanin_out;

/* 0, or a negative TIDE_E* code (then push / watermark return it). */
typedef int (*tide_fanin_emit_fn)(void *ctx, const tide_fanin_out *o);

#define TIDE_FANIN_MAX_BRANCHES 64
#define TIDE_FANIN_MAX_KEYS 16

typedef struct tide_fanin_config {
    tide_fanin_mode mode;
    uint32_t branches;                       /* UNION 1..64; JOIN 2 */
    uint32_t ncols[TIDE_FANIN_MAX_BRANCHES]; /* values per row of each branch */
    /* JOIN */
    uint32_t end_col[2];                       /* each side's window end column */
    uint32_t key_cols[2][TIDE_FANIN_MAX_KEYS]; /* further equality columns, pairwise */
    uint32_t nkeys;
    /* UNION: also emit each branch's watermark reports, in place, as marks
     * (a row tagged w of branch b comes before b's mark w), so a consumer
     * can run an operator over the merged sequence of both branches' rows
     * and watermarks (a stream-stream join) */
    bool marks;
    tide_fanin_emit_fn emit;
    void *ctx;
} tide_fanin_config;

typedef struct tide_fanin tide_fanin;

/* TIDE_EINVAL naming the bad field, TIDE_ENOMEM. */
int tide_fanin_create(tide_fanin **out, const tide_fanin_config *cfg, tide_err *e);
/* NULL is a no-op. */
void tide_fanin_free(tide_fanin *f);

/* Any thread (one thread per branch at a time).  vals: ncols[branch]
 * values (a NULL value's type may be TIDE_TYPE_NULL).  The first error of
 * an emit is returned by every later call (and by tide_fanin_error). */
int tide_fanin_push(tide_fanin *f, uint32_t branch, tide_op op, const tide_value *vals,
                    tide_err *e);
int tide_fanin_watermark(tide_fanin *f, uint32_t branch, int64_t wm, tide_err *e);

/* Run the branches' pipelines to their end, one thread each (pipes[i] is
 * branch i's; they must push / report to f).  When one fails, the others
 * are cancelled; returns 0 or the first failure (cancellations through
 * tide_fanin_cancel: TIDE_EFAILED "cancelled").  Once only. */
int tide_fanin_run(tide_fanin *f, tide_pipe *const *pipes, uint32_t n, tide_err *e);
/* Any thread: cancel every running pipeline of tide_fanin_run. */
void tide_fanin_cancel(tide_fanin *f);

/* Rows held, not yet released (any thread). */
uint64_t tide_fanin_held(tide_fanin *f);
/* The minimum watermark over the branches (TIDE_TS_MIN before every branch reported). */
int64_t tide_fanin_watermark_min(tide_fanin *f);

#endif
