/*
 * ast.h - the syntax tree of tide's SQL dialect, and its printer.
 *
 * The parser (sql/parser.h) builds these nodes through the constructors
 * below and nothing else; the binder and the planner read them.  Every node
 * lives in the arena of the `tide_sql_script` that owns it and carries its
 * source position (tide_sql_pos) so later stages can point at the text.
 *
 * Names: unquoted identifiers are folded to lowercase; quoted ones (`x` or
 * "x") keep their case.  Function names follow the same rule.  Strings in
 * the tree (tide_sql_name, string literals) are decoded (no quotes, '' ->
 * '), NUL-terminated, and owned by the script's arena.
 *
 * The printer renders a tree back to one canonical line of SQL: keywords in
 * upper case, identifiers in lower case (quoted with backticks when they
 * must be), single spaces, and only the parentheses the precedence rules
 * need.  Parsing the printed text gives the same tree (tests check this).
 *
 * Precedence, loosest first (the SQL standard's, as Flink/Calcite use it):
 *   OR;  AND;  NOT;  = <> < <= > >= IS [NOT] NULL [NOT] BETWEEN [NOT] IN
 *   [NOT] LIKE (left-associative);  + - (binary);  * / % ||;  unary - +;
 *   primaries.  `||` binds like `*`, as in Calcite.
 */
#ifndef TIDE_SQL_AST_H
#define TIDE_SQL_AST_H

#include "tide.h"
#include "base/arena.h"
#include "base/buf.h"
#include "data/types.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where a node's text lies in the script: 1-based line and column (code
 * points) of its first character, and its byte span. */
typedef struct tide_sql_pos {
    uint32_t line, col;
    size_t off, len;
} tide_sql_pos;

/* An identifier: decoded, NUL-terminated. */
typedef struct tide_sql_name {
    const char *str; /* NULL when absent */
    uint32_t len;
    bool quoted; /* written quoted (case preserved) */
    tide_sql_pos pos;
} tide_sql_name;

typedef enum tide_sql_unit {
    TIDE_SQL_UNIT_SECOND,
    TIDE_SQL_UNIT_MINUTE,
    TIDE_SQL_UNIT_HOUR,
    TIDE_SQL_UNIT_DAY,
    TIDE_SQL_UNIT_MONTH,
    TIDE_SQL_UNIT_YEAR,
    /* only in EXTRACT, TIMESTAMPADD/DIFF and FLOOR/CEIL (not INTERVAL): */
    TIDE_SQL_UNIT_MILLISECOND,
    TIDE_SQL_UNIT_WEEK,
    TIDE_SQL_UNIT_QUARTER,
    TIDE_SQL_UNIT_DOW, /* EXTRACT only */
    TIDE_SQL_UNIT_DOY, /* EXTRACT only */
} tide_sql_unit;

const char *tide_sql_unit_name(tide_sql_unit u); /* "SECOND", ... */
/* Milliseconds in one u: MILLISECOND .. DAY, WEEK; 0 for the units of no
 * fixed length (MONTH, QUARTER, YEAR) and DOW, DOY. */
int64_t tide_sql_unit_ms(tide_sql_unit u);

/* ---- expressions ---------------------------------------------------- */

typedef enum tide_sql_expr_kind {
    TIDE_SQL_EXPR_NULL,
    TIDE_SQL_EXPR_BOOL,      /* u.b */
    TIDE_SQL_EXPR_INT,       /* u.i64 */
    TIDE_SQL_EXPR_DECIMAL,   /* u.dec: value and the literal's text */
    TIDE_SQL_EXPR_STRING,    /* u.str */
    TIDE_SQL_EXPR_TIMESTAMP, /* TIMESTAMP '...': u.str is the text, unchecked */
    TIDE_SQL_EXPR_INTERVAL,  /* INTERVAL 'n' UNIT: u.interval */
    TIDE_SQL_EXPR_COLUMN,    /* [qualifier.]name: u.column */
    TIDE_SQL_EXPR_STAR,      /* * or qualifier.* (select lists, COUNT(*)): u.column */
    TIDE_SQL_EXPR_UNARY,     /* u.unary */
    TIDE_SQL_EXPR_BINARY,    /* u.binary */
    TIDE_SQL_EXPR_IS_NULL,   /* u.is_null */
    TIDE_SQL_EXPR_BETWEEN,   /* u.between */
    TIDE_SQL_EXPR_IN,        /* u.in: a list of values */
    TIDE_SQL_EXPR_LIKE,      /* u.like */
    TIDE_SQL_EXPR_CALL,      /* u.call: f(args), COUNT(*), COUNT(DISTINCT x) */
    TIDE_SQL_EXPR_CAST,      /* u.cast */
    TIDE_SQL_EXPR_CASE,      /* u.case_ */
    TIDE_SQL_EXPR_FLOOR,     /* FLOOR(x TO unit) / CEIL(x TO unit): u.floor */
    TIDE_SQL_EXPR_DATE,      /* DATE '...': u.str is the text, unchecked */
    TIDE_SQL_EXPR_GROUPING,  /* GROUPING SETS / ROLLUP / CUBE in a GROUP BY: u.grouping */
} tide_sql_expr_kind;

typedef enum tide_sql_grouping_kind {
    TIDE_SQL_GROUPING_SETS,   /* GROUPING SETS (item, ...): items are SET nodes or expressions */
    TIDE_SQL_GROUPING_ROLLUP, /* ROLLUP (e, ...) */
    TIDE_SQL_GROUPING_CUBE,   /* CUBE (e, ...) */
    TIDE_SQL_GROUPING_SET,    /* (e, ...) inside GROUPING SETS: one set; () is the empty one */
} tide_sql_grouping_kind;

typedef enum tide_sql_unop { TIDE_SQL_OP_NEG, TIDE_SQL_OP_PLUS, TIDE_SQL_OP_NOT } tide_sql_unop;

typedef enum tide_sql_binop {
    TIDE_SQL_OP_OR,
    TIDE_SQL_OP_AND,
    TIDE_SQL_OP_EQ,
    TIDE_SQL_OP_NE,
    TIDE_SQL_OP_LT,
    TIDE_SQL_OP_LE,
    TIDE_SQL_OP_GT,
    TIDE_SQL_OP_GE,
    TIDE_SQL_OP_ADD,
    TIDE_SQL_OP_SUB,
    TIDE_SQL_OP_MUL,
    TIDE_SQL_OP_DIV,
    TIDE_SQL_OP_MOD,
    TIDE_SQL_OP_CONCAT,
    TIDE_SQL_OP_IS_DISTINCT,     /* a IS DISTINCT FROM b: NULL-safe <>, never NULL */
    TIDE_SQL_OP_IS_NOT_DISTINCT, /* a IS NOT DISTINCT FROM b: NULL-safe = */
} tide_sql_binop;

const char *tide_sql_binop_name(tide_sql_binop op); /* "OR", "=", "||", ... */

typedef struct tide_sql_expr tide_sql_expr;
typedef struct tide_sql_query tide_sql_query;
typedef struct tide_sql_over tide_sql_over;

/* A column's declared type. */
typedef struct tide_sql_type {
    tide_type type; /* BOOLEAN BIGINT DOUBLE STRING TIMESTAMP */
    int32_t length; /* VARCHAR(n): n; else -1 (printed as STRING) */
    tide_sql_pos pos;
} tide_sql_type;

typedef struct tide_sql_when {
    tide_sql_expr *when, *then;
} tide_sql_when;

struct tide_sql_expr {
    tide_sql_expr_kind kind;
    uint32_t height; /* 1 for a leaf; bounded by TIDE_SQL_MAX_HEIGHT */
    tide_sql_pos pos;
    union {
        bool b;
        int64_t i64;
        struct {
            double value;
            const char *text;
        } dec;
        struct {
            const char *str;
            uint32_t len;
        } str;
        struct {
            int64_t count;
            tide_sql_unit unit;
            const char *text;
        } interval;
        struct {
            tide_sql_name qualifier, name;
        } column; /* qualifier.str NULL if none */
        struct {
            tide_sql_unop op;
            tide_sql_expr *arg;
        } unary;
        struct {
            tide_sql_binop op;
            tide_sql_expr *left, *right;
        } binary;
        struct {
            bool negated;
            tide_sql_expr *arg;
        } is_null;
        struct {
            bool negated;
            tide_sql_expr *arg, *low, *high;
        } between;
        struct {
            bool negated;
            tide_sql_expr *arg;
            tide_sql_expr **list;
            uint32_t n;
        } in;
        struct {
            bool negated;
            tide_sql_expr *arg, *pattern, *escape;
        } like;
        struct {
            tide_sql_name name;
            bool distinct;
            tide_sql_expr **args;
            uint32_t nargs;
            bool has_unit;      /* EXTRACT(unit FROM x), TIMESTAMPADD(unit, ...), TIMESTAMPDIFF(unit, ...) */
            tide_sql_unit unit;
            tide_sql_over *over; /* f(...) OVER (...): a window function; else NULL */
        } call;
        struct {
            tide_sql_expr *arg;
            tide_sql_type to;
        } cast;
        struct {
            tide_sql_expr *operand;
            tide_sql_when *whens;
            uint32_t nwhens;
            tide_sql_expr *else_;
        } case_;
        struct {
            bool ceil;
            tide_sql_expr *arg;
            tide_sql_unit unit;
        } floor;
        struct {
            tide_sql_grouping_kind kind;
            tide_sql_expr **items;
            uint32_t n;
        } grouping;
    } u;
};

/* ---- queries -------------------------------------------------------- */

typedef struct tide_sql_select_item {
    tide_sql_expr *expr; /* may be TIDE_SQL_EXPR_STAR */
    tide_sql_name alias; /* alias.str NULL if none */
} tide_sql_select_item;

typedef enum tide_sql_window_kind {
    TIDE_SQL_WINDOW_TUMBLE,   /* args: size [, offset] */
    TIDE_SQL_WINDOW_HOP,      /* args: slide, size [, offset] */
    TIDE_SQL_WINDOW_CUMULATE, /* args: step, max [, offset] */
    TIDE_SQL_WINDOW_SESSION,  /* args: gap; partition keys */
} tide_sql_window_kind;

const char *tide_sql_window_name(tide_sql_window_kind k); /* "TUMBLE", ... */

typedef enum tide_sql_from_kind {
    TIDE_SQL_FROM_TABLE,    /* u.table */
    TIDE_SQL_FROM_SUBQUERY, /* u.subquery */
    TIDE_SQL_FROM_WINDOW,   /* TABLE(TUMBLE(...)): u.window */
    TIDE_SQL_FROM_JOIN,     /* u.join */
} tide_sql_from_kind;

typedef enum tide_sql_join_kind {
    TIDE_SQL_JOIN_INNER,
    TIDE_SQL_JOIN_LEFT,
    TIDE_SQL_JOIN_RIGHT,
    TIDE_SQL_JOIN_FULL,
    TIDE_SQL_JOIN_CROSS, /* CROSS JOIN, no ON */
    TIDE_SQL_JOIN_COMMA, /* FROM a, b: no ON */
} tide_sql_join_kind;

typedef struct tide_sql_from tide_sql_from;
struct tide_sql_from {
    tide_sql_from_kind kind;
    uint32_t height;
    tide_sql_pos pos;
    tide_sql_name alias; /* alias.str NULL if none (not for joins) */
    union {
        struct {
            tide_sql_name name;
        } table;
        struct {
            tide_sql_query *query;
        } subquery;
        struct {
            tide_sql_window_kind kind;
            tide_sql_from *input;         /* a TABLE or a SUBQUERY */
            tide_sql_expr **partition_by; /* SESSION keys (columns) */
            uint32_t npartition;
            tide_sql_name time_col; /* DESCRIPTOR(col) */
            tide_sql_expr *args[3]; /* see tide_sql_window_kind */
            uint32_t nargs;
        } window;
        struct {
            tide_sql_join_kind kind;
            tide_sql_from *left, *right;
            tide_sql_expr *on;
        } join;
    } u;
};

typedef enum tide_sql_accumulation {
    TIDE_SQL_ACC_DEFAULT, /* not given: the planner decides */
    TIDE_SQL_ACC_ACCUMULATING,
    TIDE_SQL_ACC_DISCARDING,
    TIDE_SQL_ACC_RETRACTING,
} tide_sql_accumulation;

/* The EMIT clause (tide's own; see parser.h for its grammar). */
typedef struct tide_sql_emit {
    tide_sql_pos pos;
    tide_sql_expr *early_interval; /* EARLY EVERY INTERVAL ...; or NULL */
    int64_t early_rows;            /* EARLY EVERY n ROWS; 0 if not given */
    tide_sql_expr *lateness;       /* ALLOW LATENESS INTERVAL ...; or NULL */
    tide_sql_accumulation mode;
} tide_sql_emit;

typedef struct tide_sql_order_item {
    tide_sql_expr *expr;
    bool desc;
} tide_sql_order_item;

/* The frame of an OVER window.  Only frames that end at the current row
 * exist: `ROWS|RANGE BETWEEN <start> AND CURRENT ROW` (the short form
 * `ROWS|RANGE <start>` means the same and prints as the long one). */
typedef enum tide_sql_frame_unit {
    TIDE_SQL_FRAME_NONE,  /* no frame written (SQL's default: RANGE UNBOUNDED PRECEDING) */
    TIDE_SQL_FRAME_ROWS,
    TIDE_SQL_FRAME_RANGE,
} tide_sql_frame_unit;

/* `OVER (PARTITION BY ... ORDER BY ... frame)` or `OVER name`. */
struct tide_sql_over {
    tide_sql_pos pos;
    tide_sql_name ref;             /* OVER w (then nothing else is set); str NULL: inline */
    tide_sql_expr **partition_by;
    uint32_t npartition;
    tide_sql_order_item *order_by;
    uint32_t norder_by;
    tide_sql_frame_unit unit;
    bool unbounded;                /* UNBOUNDED PRECEDING */
    tide_sql_expr *preceding;      /* n or INTERVAL '...' PRECEDING; NULL: CURRENT ROW or unbounded */
    bool current;                  /* the start is CURRENT ROW */
    tide_sql_pos frame_pos;        /* the frame's text (unit .. end) */
};

/* WINDOW name AS (spec) of a SELECT. */
typedef struct tide_sql_named_window {
    tide_sql_name name;
    tide_sql_over *spec;
} tide_sql_named_window;

typedef struct tide_sql_select {
    tide_sql_pos pos;
    bool distinct;
    tide_sql_select_item *items;
    uint32_t nitems;
    tide_sql_from *from; /* NULL for SELECT without FROM */
    tide_sql_expr *where;
    tide_sql_expr **group_by;
    uint32_t ngroup_by;
    tide_sql_expr *having;
    tide_sql_named_window *windows; /* WINDOW w AS (...), ... */
    uint32_t nwindows;
    tide_sql_emit *emit; /* NULL if no EMIT clause */
} tide_sql_select;

typedef struct tide_sql_cte {
    tide_sql_name name;
    tide_sql_query *query;
} tide_sql_cte;


typedef enum tide_sql_query_kind {
    TIDE_SQL_QUERY_SELECT, /* u.select */
    TIDE_SQL_QUERY_UNION,  /* u.set: left UNION [ALL] right */
    TIDE_SQL_QUERY_NESTED, /* u.nested: `(query) ORDER BY ...`, a parenthesized
                            * query that has its own WITH/ORDER BY/LIMIT */
} tide_sql_query_kind;

/* A query expression: [WITH ...] body [ORDER BY ...] [LIMIT n]. */
struct tide_sql_query {
    tide_sql_query_kind kind;
    uint32_t height;
    tide_sql_pos pos;
    tide_sql_cte *ctes;
    uint32_t nctes;
    union {
        tide_sql_select *select;
        struct {
            bool all;
            tide_sql_query *left, *right;
        } set;
        tide_sql_query *nested;
    } u;
    tide_sql_order_item *order_by;
    uint32_t norder_by;
    tide_sql_expr *limit; /* an integer literal, or NULL */
};

/* ---- statements ----------------------------------------------------- */

typedef struct tide_sql_column_def {
    tide_sql_name name;
    tide_sql_type type; /* physical column */
    bool not_null;
    tide_sql_expr *computed; /* `name AS expr`: a computed column (type unset) */
} tide_sql_column_def;

typedef struct tide_sql_option {
    const char *key, *value; /* decoded string literals, NUL-terminated */
    uint32_t key_len, value_len;
    tide_sql_pos pos;
} tide_sql_option;

typedef struct tide_sql_create_table {
    tide_sql_name name;
    bool if_not_exists;
    tide_sql_column_def *columns;
    uint32_t ncolumns;
    tide_sql_name watermark_col; /* .str NULL: no WATERMARK */
    tide_sql_expr *watermark;    /* WATERMARK FOR col AS expr */
    tide_sql_option *options;
    uint32_t noptions;
} tide_sql_create_table;

typedef enum tide_sql_stmt_kind {
    TIDE_SQL_STMT_CREATE_TABLE, /* u.create_table */
    TIDE_SQL_STMT_CREATE_VIEW,  /* u.create_view */
    TIDE_SQL_STMT_INSERT,       /* u.insert */
    TIDE_SQL_STMT_QUERY,        /* u.query */
} tide_sql_stmt_kind;

typedef struct tide_sql_stmt {
    tide_sql_stmt_kind kind;
    tide_sql_pos pos;
    union {
        tide_sql_create_table create_table;
        struct {
            tide_sql_name name;
            tide_sql_query *query;
        } create_view;
        struct {
            tide_sql_name table;
            tide_sql_query *query;
        } insert;
        tide_sql_query *query;
    } u;
} tide_sql_stmt;

/* The result of parsing a script: its statements, in order, all in `arena`. */
typedef struct tide_sql_script {
    tide_arena arena;
    tide_sql_stmt **stmts;
    uint32_t nstmts;
} tide_sql_script;

/* Trees taller than this are refused by the builders' callers (the parser),
 * so every recursive walk over a tree is bounded.  Expression heights and
 * query/FROM heights are counted separately (expressions hold no queries). */
#define TIDE_SQL_MAX_HEIGHT 1000

/* ---- building ------------------------------------------------------- */

/* A new, empty script; NULL on allocation failure.  Free with
 * tide_sql_script_free (NULL is a no-op); that frees every node. */
tide_sql_script *tide_sql_script_create(void);
void tide_sql_script_free(tide_sql_script *s);

/* The constructors allocate from the script's arena and return NULL when it
 * is out of memory.  Pointers passed in are linked, not copied (they must
 * belong to the same script); strings are copied. */
void *tide_sql_ast_alloc(tide_sql_script *s, size_t n); /* zeroed */
char *tide_sql_ast_strdup(tide_sql_script *s, const char *p, size_t n);

/* A growable array of pointers in the arena (the old array is abandoned to
 * the arena when it grows: at most twice the final size is used). */
typedef struct tide_sql_vec {
    void **items;
    uint32_t n, cap;
} tide_sql_vec;
int tide_sql_vec_push(tide_sql_script *s, tide_sql_vec *v, void *item); /* 0 or TIDE_ENOMEM */

tide_sql_expr *tide_sql_ast_null(tide_sql_script *s, tide_sql_pos pos);
tide_sql_expr *tide_sql_ast_bool(tide_sql_script *s, bool v, tide_sql_pos pos);
tide_sql_expr *tide_sql_ast_int(tide_sql_script *s, int64_t v, tide_sql_pos pos);
tide_sql_expr *tide_sql_ast_decimal(tide_sql_script *s, double v, const char *text, size_t len,
                                    tide_sql_pos pos);
/* kind: TIDE_SQL_EXPR_STRING, _TIMESTAMP or _DATE; str is copied */
tide_sql_expr *tide_sql_ast_string(tide_sql_script *s, tide_sql_expr_kind kind, const char *str,
                                   size_t len, tide_sql_pos pos);
tide_sql_expr *tide_sql_ast_interval(tide_sql_script *s, int64_t count, tide_sql_unit unit,
                                     tide_sql_pos pos);
tide_sql_expr *tide_sql_ast_column(tide_sql_script *s, tide_sql_name qualifier, tide_sql_name name,
                                   tide_sql_pos pos);
tide_sql_expr *tide_sql_ast_star(tide_sql_script *s, tide_sql_name qualifier, tide_sql_pos pos);
tide_sql_expr *tide_sql_ast_unary(tide_sql_script *s, tide_sql_unop op, tide_sql_expr *arg,
                                  tide_sql_pos pos);
tide_sql_expr *tide_sql_ast_binary(tide_sql_script *s, tide_sql_binop op, tide_sql_expr *l,
                                   tide_sql_expr *r, tide_sql_pos pos);
tide_sql_expr *tide_sql_ast_is_null(tide_sql_script *s, bool negated, tide_sql_expr *arg,
                                    tide_sql_pos pos);
tide_sql_expr *tide_sql_ast_between(tide_sql_script *s, bool negated, tide_sql_expr *arg,
                                    tide_sql_expr *lo, tide_sql_expr *hi, tide_sql_pos pos);
tide_sql_expr *tide_sql_ast_in(tide_sql_script *s, bool negated, tide_sql_expr *arg,
                               tide_sql_vec list, tide_sql_pos pos);
tide_sql_expr *tide_sql_ast_like(tide_sql_script *s, bool negated, tide_sql_expr *arg,
                                 tide_sql_expr *pattern, tide_sql_expr *escape, tide_sql_pos pos);
tide_sql_expr *tide_sql_ast_call(tide_sql_script *s, tide_sql_name name, bool distinct,
                                 tide_sql_vec args, tide_sql_pos pos);
/* A call whose first argument is a time unit (EXTRACT, TIMESTAMPADD,
 * TIMESTAMPDIFF); args are the others. */
tide_sql_expr *tide_sql_ast_call_unit(tide_sql_script *s, tide_sql_name name, tide_sql_unit unit,
                                      tide_sql_vec args, tide_sql_pos pos);
/* An empty OVER spec; the parser fills its fields (order_by through
 * tide_sql_ast_over_order, partition_by from a vec of tide_sql_expr*). */
tide_sql_over *tide_sql_ast_over(tide_sql_script *s, tide_sql_pos pos);
/* order: a vec of tide_sql_order_item*; 0 or TIDE_ENOMEM */
int tide_sql_ast_over_finish(tide_sql_script *s, tide_sql_over *o, tide_sql_vec partition_by,
                             tide_sql_vec order);
/* Attach `over` to a CALL expression (its height grows to cover it). */
void tide_sql_ast_call_over(tide_sql_expr *call, tide_sql_over *over);
/* WINDOW clause of a SELECT: windows is a vec of tide_sql_named_window*; 0 or TIDE_ENOMEM */
int tide_sql_ast_select_windows(tide_sql_script *s, tide_sql_select *sel, tide_sql_vec windows);
tide_sql_named_window *tide_sql_ast_named_window(tide_sql_script *s, tide_sql_name name,
                                                 tide_sql_over *spec);
tide_sql_expr *tide_sql_ast_cast(tide_sql_script *s, tide_sql_expr *arg, tide_sql_type to,
                                 tide_sql_pos pos);
/* whens: a vec of tide_sql_when* */
tide_sql_expr *tide_sql_ast_case(tide_sql_script *s, tide_sql_expr *operand, tide_sql_vec whens,
                                 tide_sql_expr *else_, tide_sql_pos pos);
tide_sql_expr *tide_sql_ast_floor(tide_sql_script *s, bool ceil, tide_sql_expr *arg,
                                  tide_sql_unit unit, tide_sql_pos pos);
/* items: tide_sql_expr* (see tide_sql_grouping_kind) */
tide_sql_expr *tide_sql_ast_grouping(tide_sql_script *s, tide_sql_grouping_kind kind, tide_sql_vec items,
                                     tide_sql_pos pos);

tide_sql_when *tide_sql_ast_when(tide_sql_script *s, tide_sql_expr *when, tide_sql_expr *then);
tide_sql_select_item *tide_sql_ast_select_item(tide_sql_script *s, tide_sql_expr *e,
                                               tide_sql_name alias);
tide_sql_order_item *tide_sql_ast_order_item(tide_sql_script *s, tide_sql_expr *e, bool desc);
tide_sql_cte *tide_sql_ast_cte(tide_sql_script *s, tide_sql_name name, tide_sql_query *q);
/* An empty EMIT clause; the parser fills its fields. */
tide_sql_emit *tide_sql_ast_emit(tide_sql_script *s, tide_sql_pos pos);
/* computed NULL: a physical column of `type` */
tide_sql_column_def *tide_sql_ast_column_def(tide_sql_script *s, tide_sql_name name,
                                             tide_sql_type type, bool not_null,
                                             tide_sql_expr *computed);
/* key and value are copied */
tide_sql_option *tide_sql_ast_option(tide_sql_script *s, const char *key, size_t klen,
                                     const char *value, size_t vlen, tide_sql_pos pos);
/* Set the alias of a FROM item (not a join). */
void tide_sql_ast_set_alias(tide_sql_from *f, tide_sql_name alias);

tide_sql_from *tide_sql_ast_from_table(tide_sql_script *s, tide_sql_name name, tide_sql_pos pos);
tide_sql_from *tide_sql_ast_from_subquery(tide_sql_script *s, tide_sql_query *q, tide_sql_pos pos);
tide_sql_from *tide_sql_ast_from_window(tide_sql_script *s, tide_sql_window_kind kind,
                                        tide_sql_from *input, tide_sql_vec partition_by,
                                        tide_sql_name time_col, tide_sql_vec args,
                                        tide_sql_pos pos);
tide_sql_from *tide_sql_ast_join(tide_sql_script *s, tide_sql_join_kind kind, tide_sql_from *l,
                                 tide_sql_from *r, tide_sql_expr *on, tide_sql_pos pos);

/* items: tide_sql_select_item*; group_by: tide_sql_expr* */
tide_sql_select *tide_sql_ast_select(tide_sql_script *s, bool distinct, tide_sql_vec items,
                                     tide_sql_from *from, tide_sql_expr *where,
                                     tide_sql_vec group_by, tide_sql_expr *having,
                                     tide_sql_emit *emit, tide_sql_pos pos);
tide_sql_query *tide_sql_ast_query_select(tide_sql_script *s, tide_sql_select *sel,
                                          tide_sql_pos pos);
tide_sql_query *tide_sql_ast_query_union(tide_sql_script *s, bool all, tide_sql_query *l,
                                         tide_sql_query *r, tide_sql_pos pos);
tide_sql_query *tide_sql_ast_query_nested(tide_sql_script *s, tide_sql_query *inner,
                                          tide_sql_pos pos);
/* Whether q has WITH, ORDER BY or LIMIT of its own. */
bool tide_sql_ast_query_has_extras(const tide_sql_query *q);
/* Attach WITH / ORDER BY / LIMIT to a query.
 * ctes: tide_sql_cte*; order_by: tide_sql_order_item*. */
int tide_sql_ast_query_finish(tide_sql_script *s, tide_sql_query *q, tide_sql_vec ctes,
                              tide_sql_vec order_by, tide_sql_expr *limit);

/* columns: tide_sql_column_def*; options: tide_sql_option* */
tide_sql_stmt *tide_sql_ast_create_table(tide_sql_script *s, tide_sql_name name, bool if_not_exists,
                                         tide_sql_vec columns, tide_sql_name wm_col,
                                         tide_sql_expr *wm, tide_sql_vec options, tide_sql_pos pos);
tide_sql_stmt *tide_sql_ast_create_view(tide_sql_script *s, tide_sql_name name, tide_sql_query *q,
                                        tide_sql_pos pos);
tide_sql_stmt *tide_sql_ast_insert(tide_sql_script *s, tide_sql_name table, tide_sql_query *q,
                                   tide_sql_pos pos);
tide_sql_stmt *tide_sql_ast_query_stmt(tide_sql_script *s, tide_sql_query *q, tide_sql_pos pos);
/* The script's statements (tide_sql_stmt*), in order. */
void tide_sql_ast_set_stmts(tide_sql_script *s, tide_sql_vec stmts);

/* ---- printing ------------------------------------------------------- */

/* Append the canonical SQL of a node to `out`.  0 or TIDE_ENOMEM. */
int tide_sql_print_expr(const tide_sql_expr *e, tide_buf *out);
int tide_sql_print_query(const tide_sql_query *q, tide_buf *out);
int tide_sql_print_stmt(const tide_sql_stmt *st, tide_buf *out);
/* Every statement, each followed by ";" and separated by "\n". */
int tide_sql_print_script(const tide_sql_script *s, tide_buf *out);

#endif
