/*
 * plan.h - tide's logical plan: what the binder (sql/binder.h) makes of a
 * query, and its `explain` text.
 *
 * A plan is a tree of nodes, each with an output row type (columns with
 * names, types and whether they are the event-time attribute) and a flag
 * saying whether its output is append-only or a changelog (rows may be
 * updated or retracted later: early or late window firings, unwindowed
 * GROUP BY, outer joins).  The root of every statement's plan is a SINK.
 *
 *   SCAN             a catalog table read through its connector (cfg is a
 *                    ready tide_src_config); its rows are the PHYSICAL
 *                    columns; computed columns come from a PROJECT above it,
 *                    unless the WATERMARK column is computed: then the scan
 *                    computes every column (u.scan.computed)
 *   VALUES           one empty row (SELECT without FROM)
 *   FILTER           rows where `pred` is TRUE
 *   PROJECT          one output column per expression in `exprs`
 *   WINDOW           a window TVF that was not fused into an aggregation:
 *                    the input's columns + window_start, window_end,
 *                    window_time (plan node only; nothing executes it yet)
 *   WINDOW_AGGREGATE a window TVF + GROUP BY window_start, window_end [,
 *                    keys]: output = keys, window_start, window_end,
 *                    window_time, aggregates (in that order)
 *   AGGREGATE        an unwindowed GROUP BY (or aggregates without GROUP
 *                    BY, or SELECT DISTINCT): output = keys, aggregates;
 *                    always a changelog
 *   JOIN             plan node only (interval, window or regular join)
 *   UNION            UNION ALL of two inputs with the same row type
 *   OVER             window functions (f(...) OVER (PARTITION BY ... ORDER
 *                    BY ... frame)) of one window: output = the input's
 *                    columns, then one column per call
 *   SINK             the target: a catalog table (INSERT INTO) or stdout
 *                    (a bare query).  A changelog reaching a sink needs an
 *                    `op` column there (see sink_op_col).
 *
 * Expressions are kept in the binder's own bound form (tide_sql_bexpr): the
 * AST node as written (for explain and positions), its type, and bound
 * children whose column references are indexes into the node's INPUT row
 * (for a JOIN's condition: left columns then right columns).
 * tide_sql_plan_expr translates one into an exec/expr.h tree for the
 * physical planner.
 *
 * Memory: a program (all plans of one script) owns an arena holding every
 * node, and the schemas its source/sink configs point to.  Plans borrow the
 * catalog (table definitions, option strings, AST nodes of DDL): the
 * catalog must outlive the program.  Read-only use is thread-safe.
 */
#ifndef TIDE_SQL_PLAN_H
#define TIDE_SQL_PLAN_H

#include "base/arena.h"
#include "base/buf.h"
#include "connect/sink.h"
#include "connect/source.h"
#include "data/schema.h"
#include "data/types.h"
#include "exec/agg.h"
#include "sql/ast.h"
#include "time/trigger.h"
#include "time/window.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct tide_sql_table tide_sql_table; /* sql/catalog.h */

/* ---- bound expressions ---------------------------------------------- */

typedef enum tide_sql_bx_kind {
    TIDE_SQL_BX_COLUMN, /* column `col` of the input row */
    TIDE_SQL_BX_NODE,   /* the operator of `ast` over the bound `args` */
} tide_sql_bx_kind;

/* Children of a NODE, in this order (same as in the AST):
 *   literals: none;  UNARY [arg];  BINARY [left, right];  IS_NULL [arg];
 *   BETWEEN [arg, low, high];  IN [arg, items...];  LIKE [arg, pattern
 *   (, escape)];  CALL (scalar) [args...];  CAST [arg];  FLOOR [arg];
 *   CASE [operand?, when_1, then_1, ..., when_n, then_n, else?] (read
 *   ast->u.case_.operand / else_ to know which are present). */
typedef struct tide_sql_bexpr tide_sql_bexpr;
struct tide_sql_bexpr {
    tide_sql_bx_kind kind;
    const tide_sql_expr *ast; /* as written; for COLUMN after an aggregation,
                                 the grouped expression or aggregate call */
    tide_type type;           /* TIDE_TYPE_NULL for a bare NULL */
    bool interval;            /* a BIGINT number of ms that is an INTERVAL */
    uint32_t col;             /* COLUMN */
    tide_sql_bexpr **args;    /* NODE */
    uint32_t nargs;
};

/* ---- plan nodes ----------------------------------------------------- */

/* One output column. */
typedef struct tide_sql_col {
    const char *name; /* NUL-terminated; arena or AST owned */
    tide_type type;
    bool rowtime; /* an event-time attribute (watermarked) */
} tide_sql_col;

/* One aggregate call of an aggregation node. */
typedef struct tide_sql_aggcall {
    tide_agg agg;             /* bound (exec/agg.h): kind, in/out types */
    tide_sql_bexpr *arg;      /* over the aggregation's input; NULL for COUNT(*) */
    const tide_sql_expr *ast; /* the call as written */
} tide_sql_aggcall;

/* What a Top-N (ROW_NUMBER filtered by a rank range) is (exec/node_topn.h). */
typedef enum tide_sql_topn_kind {
    TIDE_SQL_TOPN_UPDATING, /* unwindowed: a changelog */
    TIDE_SQL_TOPN_WINDOW,   /* partitioned by a window's start and end: final rows */
    TIDE_SQL_TOPN_FIRST,    /* rn = 1 ordered by the event time ascending: the first row, final */
} tide_sql_topn_kind;

/* One call of an OVER node: an aggregate over the frame, or ROW_NUMBER(). */
typedef struct tide_sql_overcall {
    bool row_number;          /* ROW_NUMBER(): agg and arg unused */
    tide_agg agg;             /* bound (exec/agg.h) */
    tide_sql_bexpr *arg;      /* over the OVER node's input; NULL for COUNT(*) */
    const tide_sql_expr *ast; /* the call as written */
} tide_sql_overcall;

/* How a windowed aggregation fires (the EMIT clause). */
/* SET 'table.optimizer.agg-phase-strategy' (Flink's setting): whether a
 * window aggregation pre-aggregates before its exchange (exec/node_preagg.h).
 * AUTO: the planner decides (sql/physical.c). */
typedef enum tide_sql_agg_phase {
    TIDE_SQL_AGG_PHASE_AUTO = 0,
    TIDE_SQL_AGG_PHASE_ONE,
    TIDE_SQL_AGG_PHASE_TWO,
} tide_sql_agg_phase;

typedef struct tide_sql_emit_spec {
    bool given;        /* an EMIT clause was written */
    int64_t early_ms;  /* EARLY EVERY INTERVAL; 0: none */
    int64_t early_rows; /* EARLY EVERY n ROWS; 0: none */
    int64_t lateness;  /* ALLOW LATENESS, ms; 0: none */
    tide_trig_mode mode;
    tide_sql_pos pos;  /* the EMIT clause, when given */
} tide_sql_emit_spec;

#define TIDE_SQL_PLAN_KIND_MAP(X)              \
    X(SCAN, "Scan")                            \
    X(VALUES, "Values")                        \
    X(FILTER, "Filter")                        \
    X(PROJECT, "Project")                      \
    X(WINDOW, "Window")                        \
    X(WINDOW_AGGREGATE, "WindowAggregate")     \
    X(AGGREGATE, "Aggregate")                  \
    X(JOIN, "Join")                            \
    X(UNION, "Union")                          \
    X(OVER, "Over")                            \
    X(SINK, "Sink")

typedef enum tide_sql_plan_kind {
#define TIDE__SQL_PLAN_ENUM(k, s) TIDE_SQL_PLAN_##k,
    TIDE_SQL_PLAN_KIND_MAP(TIDE__SQL_PLAN_ENUM)
#undef TIDE__SQL_PLAN_ENUM
} tide_sql_plan_kind;

typedef enum tide_sql_join_class {
    TIDE_SQL_JOIN_REGULAR,
    TIDE_SQL_JOIN_INTERVAL, /* ON bounds one side's event time by the other's */
    TIDE_SQL_JOIN_WINDOW,   /* both sides windowed, ON equates their windows */
} tide_sql_join_class;

/* A window TVF as bound: the spec, the event-time column of the input,
 * SESSION partition keys (columns of the input). */
typedef struct tide_sql_window {
    tide_win_spec spec;
    int64_t offset; /* the optional offset argument, ms (not supported by winagg yet) */
    uint32_t time_col;
    const char *time_name;
    uint32_t *partition; /* SESSION PARTITION BY columns */
    tide_sql_pos *partition_pos; /* where each is written (errors point there) */
    uint32_t npartition;
} tide_sql_window;

typedef struct tide_sql_plan tide_sql_plan;
struct tide_sql_plan {
    tide_sql_plan_kind kind;
    tide_sql_pos pos;     /* the SQL that produced the node */
    tide_sql_col *cols;   /* output row type */
    uint32_t ncols;
    bool changelog;       /* output may update / retract earlier rows */
    tide_sql_plan *input; /* every kind but SCAN / VALUES; JOIN / UNION: left */
    tide_sql_plan *right; /* JOIN / UNION */
    union {
        struct {
            const tide_sql_table *table;
            tide_src_config cfg; /* schema: the physical columns (program-owned) */
            int time_col;        /* physical index of the event-time column, or -1; with
                                    `computed`: its index among the table's columns */
            int64_t wm_bound;    /* watermark = max(ts) - wm_bound (ms) */
            /* A table whose WATERMARK column is computed: the scan computes
             * every column of the table (ncols exprs over the physical
             * columns, cfg.schema), so the watermark is the computed
             * column's; NULL: the rows are the physical columns. */
            tide_sql_bexpr **computed;
            const char *dead_letter; /* the 'dead-letter' option: a file, or "topic:NAME"; or NULL */
        } scan;
        struct {
            tide_sql_bexpr *pred;
        } filter;
        struct {
            tide_sql_bexpr **exprs; /* ncols of them */
        } project;
        struct {
            tide_sql_window w; /* over the input's columns */
        } window;
        struct {
            tide_sql_window w;     /* WINDOW_AGGREGATE only */
            tide_sql_emit_spec emit;
            tide_sql_agg_phase phase; /* WINDOW_AGGREGATE: the agg-phase-strategy in force */
            tide_sql_bexpr **keys; /* over the input */
            uint32_t nkeys;
            tide_sql_aggcall *aggs;
            uint32_t naggs;
        } agg; /* WINDOW_AGGREGATE and AGGREGATE */
        struct {
            tide_sql_bexpr **keys;    /* PARTITION BY, over the input */
            uint32_t nkeys;
            tide_sql_bexpr **order;   /* ORDER BY, over the input */
            bool *desc;
            uint32_t norder;
            bool rows;                /* ROWS frame; else RANGE */
            bool unbounded;           /* UNBOUNDED PRECEDING (also no frame written) */
            int64_t preceding;        /* ROWS: rows; RANGE: ms (0: CURRENT ROW) */
            tide_sql_overcall *calls; /* ncalls; output columns after the input's */
            uint32_t ncalls;
            /* ROW_NUMBER filtered to a rank range (a Top-N; the binder sets
             * these when a WHERE above bounds the rank) */
            bool topn;
            int64_t rank_lo, rank_hi;    /* 1 <= lo <= hi */
            bool rank_out;               /* the rank reaches the output */
            tide_sql_topn_kind topn_kind;
            uint32_t window_end;         /* WINDOW: index of window_end in keys */
        } over;
        struct {
            tide_sql_join_kind kind;
            tide_sql_join_class cls;
            tide_sql_bexpr *on; /* NULL for CROSS / comma */
            int64_t ttl;        /* a regular join's state TTL, ms ('table.exec.state.ttl'); 0 none */
        } join;
        struct {
            const tide_sql_table *table; /* NULL: stdout */
            tide_sink_config cfg;        /* schema: the target's columns (program-owned) */
            int op_col;                  /* target column that receives the op, or -1 */
        } sink;
    } u;
};

/* The SQL name of a plan kind ("WindowAggregate"). */
const char *tide_sql_plan_kind_name(tide_sql_plan_kind k);

/* The plans of one script's INSERT and query statements, in order. */
typedef struct tide_sql_program {
    tide_arena arena;
    tide_sql_plan **plans;
    uint32_t nplans;
    tide_schema **schemas; /* owned: freed with the program */
    uint32_t nschemas, cap_schemas;
} tide_sql_program;

/* NULL is a no-op. */
void tide_sql_program_free(tide_sql_program *p);

/* Append a readable operator tree to `out`, one node per line, the root
 * first and children indented under it with box-drawing branches:
 *
 *   Sink stdout [append]
 *   └─ WindowAggregate TUMBLE(ts, 1 DAY) keys=[] aggs=[COUNT(DISTINCT user_id)] emit=on-watermark
 *      └─ Scan logins (logins generator) watermark ts - 5 SECOND
 *
 * Expressions print as canonical SQL (sql/ast.h's printer).  Nodes whose
 * output is a changelog end in " [changelog]"; the sink always says which.
 * 0 or TIDE_ENOMEM. */
int tide_sql_explain(const tide_sql_plan *plan, tide_buf *out);

/* Build a tide_schema of the node's output columns (rowtime -> the time
 * column when there is exactly one).  The caller frees it. */
int tide_sql_plan_schema(const tide_sql_plan *plan, tide_schema **out, tide_err *e);

/* Translate a bound expression into an exec/expr.h tree over rows of
 * schema `in` (the node's input row type: tide_sql_plan_schema of its
 * input).  On success *out is a tree the caller frees with tide_expr_free.
 * Errors (a type exec/expr.h refuses, a LIKE pattern that is not a
 * literal, ENOMEM) fill `e` with "line:col: message" at the expression. */
struct tide_expr;
int tide_sql_plan_expr(const tide_sql_bexpr *x, const tide_schema *in, struct tide_expr **out, tide_err *e);
/* The same, the position kept apart: on failure *at (may be NULL) gets the
 * expression's position (line 0: none known) and `e` the bare message. */
int tide_sql_plan_expr_at(const tide_sql_bexpr *x, const tide_schema *in, struct tide_expr **out,
                          tide_sql_pos *at, tide_err *e);

/* The same, processing-time functions (NOW(), CURRENT_DATE, ...) reading
 * `clock` (NULL: the system's; borrowed by the tree). */
int tide_sql_plan_expr_clock(const tide_sql_bexpr *x, const tide_schema *in, const tide_clock *clock,
                             struct tide_expr **out, tide_sql_pos *at, tide_err *e);

/* "1 DAY", "90 MINUTE", "1500 MILLISECOND": the largest unit that divides ms. */
int tide_sql_print_duration(int64_t ms, tide_buf *out);

#endif
