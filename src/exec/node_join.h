/*
 * node_join.h - the stream-stream joins as one flow node (exec/node.h) with
 * two inputs: input 0 is the left side, input 1 the right (connect the left
 * edge first).  Inner and outer joins.  Three kinds:
 *
 * INTERVAL   l JOIN r ON l.k = r.k AND l.ts BETWEEN r.ts + lo AND r.ts + hi
 *            (lo <= l.ts - r.ts <= hi), over exec/join.h's interval
 *            operator: a row is joined with the buffered rows of the other
 *            side as it arrives, so a pair is emitted once, when its later
 *            row comes; rows are dropped once no on-time row of the other
 *            side can match them.  Late rows (ts < W on arrival) are still
 *            joined with what is buffered (as in Flink) and counted
 *            (TIDE_NODE_LATE); they go to no late port.  Output rows can
 *            be older than the watermark (l.ts can be W + lo, r.ts W - hi),
 *            so the node holds its watermark back by max(-lo, hi): Flink's
 *            max(leftRelativeSize, rightRelativeSize) of
 *            TimeIntervalJoin.getMaxOutputDelay (allowed lateness 0): it
 *            forwards W - max(-lo, hi) when its watermark is W, so both time
 *            columns of a row emitted at W (whose later row was on time)
 *            are >= the watermark downstream has seen: not late there.
 *
 * WINDOW     Flink's window join: both inputs are rows of the same window
 *            TVF (exec/node_window.h, maybe filtered or projected; each
 *            carries window_start and window_end), joined on window_start,
 *            window_end and the key when the window closes (the node's
 *            watermark W >= window_end); every pair of the window and key
 *            is emitted then.  A row whose window has closed (W >=
 *            window_end on arrival) is late: counted, sent to the late port
 *            of its side, not joined.  With node_window's rows this is
 *            exactly SQL's window join (exec/join.h's window operator
 *            assigning windows to the raw rows), except that a raw row late
 *            for k windows counts k times here (once per windowed row, as
 *            Flink's window join counts its dropped rows).
 *
 * WINDOW_END the join of two windowed aggregations on window_end: both
 *            inputs are final window-aggregate rows; a pair matches on
 *            window_end and the key columns and is released when the
 *            window has fired, W >= window_end - 1 (then the rows are
 *            dropped, matched or not).  A row that comes after that (not a
 *            final result of a window that is still open) is late: counted,
 *            sent to its side's late port.
 *
 * REGULAR    an unwindowed join of two streams or changelogs (inputs with
 *            ops: +I/+U add a row, -U/-D retract one), over
 *            exec/regjoin.h: at each watermark the net change of the join
 *            output goes out as +I / -D rows (cfg.changelog must be set
 *            unless no row can ever be retracted: append-only inputs and
 *            an inner join); the rest of ON is cfg.build_on.  Retractions
 *            that find no row (expired by cfg.ttl) count as late.  With
 *            cfg.semi the node is a SEMI or ANTI join (WHERE [NOT] EXISTS,
 *            [NOT] IN (subquery)): port 0 is the left rows only.
 *
 * Both window kinds run on exec/join.h's window operator, each (window_end,
 * [window_start,] key) one pane [window_end - 1, window_end) of a 1 ms
 * TUMBLE: the operator's firing (W >= end - 1, DESIGN.md 4), lateness and
 * order hold as they are.  One instance emits the windows due at a
 * watermark in (window_end, [window_start,] key) order (the key in SQL
 * order, data/key.h), and within one window and key the left rows in
 * arrival order, for each the right rows in arrival order: (end, keys, left
 * order, right order).
 *
 * Outer joins (cfg.outer[0] LEFT, cfg.outer[1] RIGHT, both FULL): a row of
 * an outer side that matched nothing leaves once, final, with NULLs in the
 * other side's columns (exec/join.h's outer rule): INTERVAL when the
 * watermark passes its interval (or on arrival when it comes late and
 * cannot be buffered), the window kinds when its window fires.  A row
 * whose key holds a NULL (it matches nothing) is padded too: at once
 * (INTERVAL; it can never match) or when its window fires (WINDOW: it goes
 * into a pane of its own, keyed apart).  cfg.on (built per instance by
 * cfg.build_on) is the rest of the ON condition over the joined row (port
 * 0's schema): a pair is a match only when it is TRUE (a row it fails on,
 * an overflow, counts as bad and does not match).  Inner joins may leave
 * it NULL and filter after the join instead (the same rows).
 *
 * Keys.  Equal as SQL compares them (data/key.h: BIGINT and TIMESTAMP
 * alike, -0.0 = 0.0; a null_safe key, IS NOT DISTINCT FROM, also NULL with
 * NULL); a row whose key holds a NULL (not null_safe) or a NaN matches nothing
 * and is dropped (not late); a row whose time (INTERVAL) or window_end is
 * NULL is dropped too.  No key columns: every row of a window (WINDOW_END,
 * WINDOW) or every row (INTERVAL) matches.
 *
 * Parallelism.  Both inputs through HASH edges on their key columns (the
 * same number, pairwise of the same types: the exchange hashes values, so
 * BIGINT and DOUBLE keys would not meet); with no key columns, hash the
 * window kinds on window_end (plus window_start for WINDOW) or run at
 * parallelism 1 behind GATHER edges.  Then P = 1, 2, 4 give the same rows in
 * the same watermark steps (an ordering sink makes each step's order
 * canonical).  One exception: an interval join's pair with a late row.  A
 * late row that cannot be buffered still meets the rows buffered when it
 * comes, and which rows of the other side came before it within the same
 * watermark step depends on which input the task read first: such pairs may
 * differ between runs (every pair of on-time rows is always there, once).
 *
 * Ports:
 *   0  the joined rows: the left input's columns, then the right's (a right
 *      column named like an earlier column gets the smallest suffix 0, 1,
 *      ... that makes it unique, as Calcite does; the planner maps by
 *      position anyway).  No time column.
 *   1  late rows of the left input (its schema); WINDOW, WINDOW_END only.
 *   2  late rows of the right input (its schema); WINDOW, WINDOW_END only.
 *
 * What the planner gives it: the kind; per side the input's row type, the
 * key columns (pairwise: left key_cols[i] = right key_cols[i]), and the
 * time column (INTERVAL), or window_end and (WINDOW) window_start; for
 * INTERVAL the bounds lo <= hi in ms (from `l.ts BETWEEN r.ts - INTERVAL X
 * AND r.ts + INTERVAL Y`: lo = -X, hi = Y; strict < and > as lower.c's
 * time_bound makes them, minus or plus one).  The ON condition's remaining
 * conjuncts and the SELECT list run after the join, in a calc node.
 *
 * Snapshot: the node's kind, column counts and watermark, then the
 * operator's own section (exec/join.h: its buffered rows, which of them
 * matched, the outer sides); restore refuses another join's.
 */
#ifndef TIDE_EXEC_NODE_JOIN_H
#define TIDE_EXEC_NODE_JOIN_H

#include "base/err.h"
#include "data/schema.h"
#include "exec/node.h"

#include <stdbool.h>
#include <stdint.h>

struct tide_expr;

typedef enum tide_node_join_kind {
    TIDE_NODE_JOIN_INTERVAL,
    TIDE_NODE_JOIN_WINDOW,
    TIDE_NODE_JOIN_WINDOW_END,
    TIDE_NODE_JOIN_REGULAR,
} tide_node_join_kind;

#define TIDE_NODE_JOIN_MAX_KEYS 16

typedef struct tide_node_join_side {
    const tide_schema *schema; /* the input's row type (borrowed) */
    uint32_t key_cols[TIDE_NODE_JOIN_MAX_KEYS];
    uint32_t time_col;  /* INTERVAL: the event time (TIMESTAMP) */
    uint32_t start_col; /* WINDOW: window_start */
    uint32_t end_col;   /* WINDOW, WINDOW_END: window_end */
} tide_node_join_side;

/* Make instance `instance`'s ON predicate over port 0's rows: *out (BOOLEAN)
 * is the instance's from then on.  0 or a TIDE_E* code with `e` filled. */
typedef int (*tide_node_join_build_fn)(void *ctx, uint32_t instance, const tide_schema *joined,
                                       struct tide_expr **out, tide_err *e);

typedef struct tide_node_join_cfg {
    tide_node_join_kind kind;
    tide_node_join_side side[2]; /* 0 left, 1 right */
    uint32_t n_keys;             /* key columns per side, pairwise equal */
    bool null_safe[TIDE_NODE_JOIN_MAX_KEYS]; /* key k is IS NOT DISTINCT FROM: NULL meets NULL */
    int64_t lo, hi;              /* INTERVAL: lo <= left.time - right.time <= hi */
    bool outer[2];               /* pad unmatched rows of that side (LEFT, RIGHT, FULL) */
    bool changelog;              /* REGULAR: port 0 carries ops (+I, -D) */
    uint8_t semi;                /* REGULAR: 0 a join; 1 SEMI, 2 ANTI (exec/regjoin.h): port 0 is the left rows */
    int64_t ttl;                 /* REGULAR: state TTL in ms of event time (exec/regjoin.h); 0 none */
    tide_node_join_build_fn build_on; /* NULL: every candidate pair matches */
    void *build_ctx;
} tide_node_join_cfg;

extern const tide_node_vt tide_node_join_vt;

/* The flow's make function (cfg: a tide_node_join_cfg, borrowed: it must
 * outlive the flow).  TIDE_EINVAL naming the bad field, TIDE_ENOMEM. */
int tide_node_join_make(void *cfg, uint32_t instance, uint32_t parallelism, void **self,
                        tide_err *e);

/* The schema of output `port` (0 joined rows, 1 left late rows, 2 right
 * late rows) into *out (the caller frees it).  TIDE_EINVAL, TIDE_ENOMEM. */
int tide_node_join_schema(const tide_node_join_cfg *c, uint32_t port, tide_schema **out,
                          tide_err *e);

/* The schema of a pair (the left columns, then the right's, named as port 0
 * of a join names them): what cfg.build_on's predicate reads.  The caller
 * frees it. */
int tide_node_join_pair_schema(const tide_node_join_cfg *c, tide_schema **out, tide_err *e);

/* The watermark hold of an interval join, max(-lo, hi) (saturating). */
int64_t tide_node_join_delay(const tide_node_join_cfg *c);

#endif
