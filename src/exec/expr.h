/*
 * expr.h - typed scalar expressions, evaluated a column batch at a time.
 *
 * The planner translates each SQL expression into a tree of tide_expr nodes
 * with the constructors below; operators (filter, project, keys of an
 * aggregate) then evaluate the tree over the batches they receive.
 *
 *   tide_expr *uid, *ten, *m, *three, *eq;          // user_id % 10 = 3
 *   tide_expr_column(&uid, schema, 1, &e);
 *   tide_expr_literal_i64(&ten, 10, &e);
 *   tide_expr_arith(&m, TIDE_EXPR_MOD, uid, ten, &e);
 *   tide_expr_literal_i64(&three, 3, &e);
 *   tide_expr_compare(&eq, TIDE_EXPR_EQ, m, three, &e);
 *   ...
 *   tide_expr_filter(eq, batch, sel, &nsel, &e);
 *   tide_expr_free(eq);                              // frees the whole tree
 *
 * Building and types.  Every constructor checks its operands' types and
 * fixes the node's result type (tide_expr_type).  On a type error it returns
 * TIDE_EINVAL with a message naming the operator and both types ("cannot
 * compare STRING with BIGINT"), which the planner prefixes with the SQL
 * position.  Constructors TAKE OWNERSHIP of their children, on success AND on
 * failure (a failed constructor frees them), and accept NULL children (a
 * child whose own constructor failed): then they fail with TIDE_EINVAL and
 * keep the first error in `e`.  So a tree can be built bottom-up without
 * cleanup at each step, and freeing the root frees everything.
 * A literal NULL has type NULL; an operator coerces it to the type its other
 * operands need (a NULL of that type), so `x = NULL`, `COALESCE(NULL, s)`
 * and `CASE ... ELSE NULL END` type-check.  Expressions whose type is NULL
 * cannot be evaluated into a batch column: the planner casts them first.
 *
 * Evaluation is vectorised: each node makes one pass over the batch's rows
 * and writes a result vector (values + null map) that its parent reads; there
 * is no per-row interpretation of the tree.  Each node owns its result
 * buffers and a string arena; they grow to the largest batch seen and are
 * reused, so steady-state evaluation allocates nothing.  Consequently:
 *   - an expression tree is NOT thread-safe: one operator instance (one
 *     thread) evaluates it; build one tree per parallel instance;
 *   - a result vector (tide_expr_eval) is borrowed: valid until the next
 *     evaluation of the same tree, its free, or the reset/free of the input
 *     batch (string results may point into the input batch's bytes).
 *
 * Cost (bench/bench_expr.c, one core of the shared 2-core VM, CPU time):
 * numeric kernels ~1 ns/row (BIGINT * 2), x % 10 ~2.7 ns/row (common
 * constant divisors get compiled-in divisions), s = 'DE' ~4.6 ns/row, LIKE
 * ~10-16 ns/row; WHERE user_id % 10 = 3 AND country = 'DE' + SELECT ts,
 * user_id * 2 runs at 60-80 M rows/s.  IN over a list of BIGINT /
 * TIMESTAMP / STRING literals is one pass comparing each row with every
 * constant (linear: no hash set yet), other IN lists one pass per item;
 * CASTs to STRING and DATE_FORMAT cost 15-60 ns/row.
 *
 * Semantics (SQL, following Flink where it has an answer):
 *   - NULL in, NULL out for every operator except AND, OR, IS [NOT] NULL,
 *     IS [NOT] TRUE/FALSE, COALESCE and CASE.  AND/OR use three-valued logic
 *     (FALSE AND NULL = FALSE, TRUE OR NULL = TRUE); IN is TRUE if an item
 *     equals x, else NULL if x or any item is NULL, else FALSE.
 *   - Arithmetic on BIGINT and DOUBLE: BIGINT op DOUBLE is DOUBLE.  BIGINT
 *     / truncates toward zero; % has the sign of the dividend (and
 *     INT64_MIN % -1 = 0, exact).  OVERFLOW: a row whose BIGINT +, -, *,
 *     unary minus or / (INT64_MIN / -1) overflows, or whose TIMESTAMP +-
 *     INTERVAL, FLOOR or CEIL leaves the TIMESTAMP range (data/types.h:
 *     CEIL(TIMESTAMP '9999-12-31 12:00:00' TO DAY)), FAILS: never a
 *     wrapped value.  Its value is NULL, it is marked in
 *     tide_expr_faults ("integer overflow in BIGINT * BIGINT"), it never
 *     passes tide_expr_filter and tide_expr_project leaves it out; the
 *     operator counts it as a bad row and the job goes on (Flink wraps
 *     silently, as Java does; SUM overflow is an error in both).  Only rows
 *     SQL evaluates fail (the selection; CASE, COALESCE, AND, OR evaluate
 *     lazily).
 *     DIVISION BY ZERO: BIGINT x / 0 and x % 0 give NULL (no error, not a
 *     failed row).  This is a deliberate difference from Flink (which fails
 *     the job): a streaming job should not die on one bad row.  DOUBLE
 *     follows IEEE 754: x / 0.0 = +-Inf or NaN, x % 0.0 = NaN (fmod), as in
 *     Java.
 *   - DECIMAL(p, s) (data/decimal.h): exact, Flink's result types
 *     (tide_expr_arith_type); BIGINT with DECIMAL is DECIMAL (the BIGINT as
 *     DECIMAL(19, 0), or (10, 0) when an INT-sized literal), DECIMAL with
 *     DOUBLE is DOUBLE.  A result that does not fit its type, x / 0 and
 *     x % 0 are NULL (Flink's NULL), never a failed row; unary minus is
 *     exact.  Comparisons and CASE/COALESCE/IN bring both sides to a common
 *     DECIMAL (tide_expr_common_type).  CAST: to/from STRING (text with s
 *     digits after the point; a STRING that is not a number fails), BIGINT
 *     (toward zero), DOUBLE (through the double's shortest text), DECIMAL
 *     (HALF_UP); a value that does not fit is NULL.
 *   - Comparisons: numbers (BIGINT with DOUBLE is compared as DOUBLE, like
 *     Java's promotion; DOUBLE compares by IEEE: NaN is unequal to and
 *     unordered with everything, -0.0 = 0.0), STRING bytewise (memcmp, a
 *     prefix is smaller), TIMESTAMP, BOOLEAN (FALSE < TRUE).
 *   - Intervals are BIGINT milliseconds carrying an interval flag
 *     (tide_expr_literal_interval; tide_expr_is_interval).  TIMESTAMP +-
 *     INTERVAL and INTERVAL + TIMESTAMP give TIMESTAMP (checked: see above);
 *     INTERVAL +- INTERVAL and -INTERVAL stay intervals; mixing an interval
 *     with a plain number is a type error.  Year-month intervals (which are
 *     not a fixed number of ms) are not supported.
 *   - LIKE: '%' any run of characters, '_' exactly one character (a UTF-8
 *     code point), an optional escape character makes the next pattern
 *     character literal; the pattern must be a constant STRING.
 *   - Strings are UTF-8 bytes.  CHAR_LENGTH and SUBSTRING count code points
 *     (bytes that are not UTF-8 continuation bytes); UPPER/LOWER change ASCII
 *     letters only; TRIM removes spaces (' ') only; || is NULL if either
 *     side is NULL (as in Flink).  SUBSTRING(s, start [, len]) is the SQL
 *     standard's: the characters at 1-based positions [start, start+len)
 *     that exist (start may be <= 0); a negative len gives NULL.
 *   - FLOOR(ts TO unit) is tide_ts_floor; CEIL(ts TO unit) is the smallest
 *     start of a unit >= ts (ts itself when it is one), saturating at
 *     TIDE_TS_MAX.  EXTRACT(unit FROM ts) gives BIGINT: YEAR, QUARTER (1-4),
 *     MONTH (1-12), WEEK (ISO 8601 week number 1-53), DAY (of month), HOUR,
 *     MINUTE, SECOND (0-59), MILLISECOND (0-999, within the second).
 *   - DATE_FORMAT(ts, pattern): the pattern is a constant; letters yyyy
 *     (year, at least 4 digits, '-' before negative years), MM, dd, HH, mm,
 *     ss (2 digits), SSS (3 digits); text in single quotes is copied ('' is
 *     a quote); other non-letter characters are copied; any other letter is
 *     a build-time error.  UTC.
 *   - CAST(x AS t) raises a runtime error (TIDE_EINVAL naming the value, the
 *     target type and the batch row) when a value cannot be converted;
 *     TRY_CAST gives NULL instead (Flink's CAST / TRY_CAST).  Errors are only
 *     raised for rows that SQL would evaluate: rows in the selection passed
 *     to eval, and inside CASE, COALESCE, AND, OR only for the rows that
 *     reach that operand.  The conversions:
 *       BOOLEAN  -> BIGINT 1/0, DOUBLE 1.0/0.0, STRING 'TRUE'/'FALSE'
 *       BIGINT   -> BOOLEAN (x <> 0), DOUBLE, STRING (decimal), TIMESTAMP
 *                   (epoch milliseconds, inside the TIMESTAMP range of
 *                   data/types.h, as is a STRING's TIMESTAMP)
 *       DOUBLE   -> BOOLEAN (x <> 0; NaN is TRUE), BIGINT (truncated toward
 *                   zero; NaN, +-Inf and values outside BIGINT fail), STRING
 *                   (the shortest text that reads back to the same double,
 *                   "%g"-style, with ".0" added to integral values: '2.0',
 *                   '1e+20', '0.1'; 'NaN', 'Infinity', '-Infinity')
 *       STRING   -> BOOLEAN: true/t/yes/y/1 and false/f/no/n/0, any case;
 *                   BIGINT: [+-]digits, overflow fails; DOUBLE: [+-]digits
 *                   [.digits][e[+-]digits] (or .digits), NaN, [+-]Infinity
 *                   (any case); TIMESTAMP: tide_ts_parse's forms.  Leading
 *                   and trailing spaces are ignored in all four.
 *       TIMESTAMP-> STRING (tide_ts_format: 'YYYY-MM-DD HH:MM:SS.mmm'),
 *                   BIGINT (epoch milliseconds)
 *       NULL     -> anything (a NULL of that type); t -> t is the identity.
 *     Other pairs (BOOLEAN<->TIMESTAMP, DOUBLE<->TIMESTAMP) are type errors.
 */
#ifndef TIDE_EXEC_EXPR_H
#define TIDE_EXEC_EXPR_H

#include "base/clock.h"
#include "base/err.h"
#include "data/batch.h"
#include "data/schema.h"
#include "data/timefmt.h"
#include "data/types.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tide_expr tide_expr;

/* A result column: `rows` values of `type` and a null map (non-zero =
 * NULL; the value of a NULL row is unspecified but readable).  BOOLEAN
 * values are bytes 0/1.  Borrowed from the tree (see above). */
typedef struct tide_expr_vec {
    tide_type type;
    uint32_t rows;
    const uint8_t *nulls;
    union {
        const uint8_t *b; /* BOOLEAN */
        const int64_t *i64; /* BIGINT, TIMESTAMP */
        const double *f64;
        const tide_str *s;
        const tide_i128 *d; /* DECIMAL (type gives the scale) */
        const void *any;
    } v;
} tide_expr_vec;

typedef enum tide_expr_arith_op { TIDE_EXPR_ADD, TIDE_EXPR_SUB, TIDE_EXPR_MUL, TIDE_EXPR_DIV, TIDE_EXPR_MOD } tide_expr_arith_op;
/* IS_DISTINCT / IS_NOT_DISTINCT: IS [NOT] DISTINCT FROM, the NULL-safe <>
 * and =: never NULL; two NULLs are not distinct, a NULL and a value are;
 * two values compare as = does (so NaN is distinct from NaN, as in Flink). */
typedef enum tide_expr_cmp_op {
    TIDE_EXPR_EQ,
    TIDE_EXPR_NE,
    TIDE_EXPR_LT,
    TIDE_EXPR_LE,
    TIDE_EXPR_GT,
    TIDE_EXPR_GE,
    TIDE_EXPR_IS_DISTINCT,
    TIDE_EXPR_IS_NOT_DISTINCT,
} tide_expr_cmp_op;
typedef enum tide_expr_logic_op { TIDE_EXPR_AND, TIDE_EXPR_OR } tide_expr_logic_op;
typedef enum tide_expr_is_op {
    TIDE_EXPR_IS_NULL,
    TIDE_EXPR_IS_NOT_NULL,
    TIDE_EXPR_IS_TRUE,      /* x IS TRUE: TRUE only for TRUE (never NULL) */
    TIDE_EXPR_IS_NOT_TRUE,
    TIDE_EXPR_IS_FALSE,
    TIDE_EXPR_IS_NOT_FALSE,
} tide_expr_is_op;
typedef enum tide_expr_str_fn { TIDE_EXPR_UPPER, TIDE_EXPR_LOWER, TIDE_EXPR_CHAR_LENGTH } tide_expr_str_op;
typedef enum tide_expr_trim_mode { TIDE_EXPR_TRIM_BOTH, TIDE_EXPR_TRIM_LEADING, TIDE_EXPR_TRIM_TRAILING } tide_expr_trim_mode;

/* ---- leaves ---- */

/* Column `index` of `schema` (borrowed only during the call; the node keeps
 * the index and type, and evaluation checks the batch's column type). */
int tide_expr_column(tide_expr **out, const tide_schema *schema, uint32_t index, tide_err *e);
/* A constant.  v->type NULL or v->is_null gives a NULL (of v->type, or of
 * type NULL); string bytes are copied. */
int tide_expr_literal(tide_expr **out, const tide_value *v, tide_err *e);
int tide_expr_literal_null(tide_expr **out, tide_type type, tide_err *e);
int tide_expr_literal_bool(tide_expr **out, bool v, tide_err *e);
int tide_expr_literal_i64(tide_expr **out, int64_t v, tide_err *e);
int tide_expr_literal_f64(tide_expr **out, double v, tide_err *e);
int tide_expr_literal_str(tide_expr **out, const char *s, size_t len, tide_err *e);
/* A DECIMAL of `type` (data/types.h) with unscaled value v; TIDE_EINVAL
 * when v does not fit the type's precision. */
int tide_expr_literal_dec(tide_expr **out, tide_i128 v, tide_type type, tide_err *e);
int tide_expr_literal_ts(tide_expr **out, int64_t ms, tide_err *e);
/* INTERVAL: a BIGINT number of milliseconds flagged as an interval. */
int tide_expr_literal_interval(tide_expr **out, int64_t ms, tide_err *e);

/* ---- operators (all take ownership of their children) ---- */

int tide_expr_arith(tide_expr **out, tide_expr_arith_op op, tide_expr *a, tide_expr *b, tide_err *e);
int tide_expr_neg(tide_expr **out, tide_expr *a, tide_err *e);
int tide_expr_compare(tide_expr **out, tide_expr_cmp_op op, tide_expr *a, tide_expr *b, tide_err *e);
int tide_expr_logic(tide_expr **out, tide_expr_logic_op op, tide_expr *a, tide_expr *b, tide_err *e);
int tide_expr_not(tide_expr **out, tide_expr *a, tide_err *e);
int tide_expr_is(tide_expr **out, tide_expr_is_op op, tide_expr *a, tide_err *e);
/* x [NOT] BETWEEN lo AND hi = [NOT] (x >= lo AND x <= hi). */
int tide_expr_between(tide_expr **out, tide_expr *x, tide_expr *lo, tide_expr *hi, bool negated,
                      tide_err *e);
/* x [NOT] IN (items[0..n)): the node takes the n items (the array itself is
 * copied).  n >= 1. */
int tide_expr_in(tide_expr **out, tide_expr *x, tide_expr **items, uint32_t n, bool negated, tide_err *e);
/* x [NOT] LIKE pattern [ESCAPE escape]: pattern must be a STRING literal
 * (else TIDE_EUNSUPPORTED); escape is a byte, or -1 for none. */
int tide_expr_like(tide_expr **out, tide_expr *x, tide_expr *pattern, int escape, bool negated,
                   tide_err *e);
/* Searched CASE WHEN conds[i] THEN vals[i] ... ELSE else_ END (else_ may be
 * NULL: ELSE NULL).  The node takes the 2n children (arrays copied).  The
 * result type is the common type of the values (all equal, or BIGINT and
 * DOUBLE mixed -> DOUBLE, NULLs coerced). */
int tide_expr_case(tide_expr **out, tide_expr **conds, tide_expr **vals, uint32_t n, tide_expr *else_,
                   tide_err *e);
/* COALESCE(args[0..n)), n >= 1; common type as for CASE. */
int tide_expr_coalesce(tide_expr **out, tide_expr **args, uint32_t n, tide_err *e);
/* CAST (try = false: a failed conversion is a runtime error) or TRY_CAST
 * (try = true: NULL). */
int tide_expr_cast(tide_expr **out, tide_expr *a, tide_type to, bool try_, tide_err *e);

/* ---- functions ---- */

int tide_expr_concat(tide_expr **out, tide_expr *a, tide_expr *b, tide_err *e);
int tide_expr_str_fn(tide_expr **out, tide_expr_str_op fn, tide_expr *s, tide_err *e);
/* SUBSTRING(s, start [, len]): len may be NULL (to the end). */
int tide_expr_substring(tide_expr **out, tide_expr *s, tide_expr *start, tide_expr *len, tide_err *e);
int tide_expr_trim(tide_expr **out, tide_expr_trim_mode mode, tide_expr *s, tide_err *e);
/* FLOOR(ts TO unit) (ceil = false) or CEIL(ts TO unit). */
int tide_expr_floor(tide_expr **out, tide_expr *ts, tide_ts_unit unit, bool ceil, tide_err *e);
/* EXTRACT(unit FROM ts): units as listed above (not WEEK-start floors:
 * WEEK is the ISO week number). */
int tide_expr_extract(tide_expr **out, tide_ts_unit unit, tide_expr *ts, tide_err *e);
/* DATE_FORMAT(ts, pattern): pattern must be a STRING literal (else
 * TIDE_EUNSUPPORTED); a bad pattern is TIDE_EINVAL. */
int tide_expr_date_format(tide_expr **out, tide_expr *ts, tide_expr *pattern, tide_err *e);

/* TO_TIMESTAMP(s [, format]) (seconds = false: TIMESTAMP; a text that does
 * not parse gives NULL) or UNIX_TIMESTAMP(s [, format]) (seconds = true:
 * BIGINT epoch seconds, truncated toward zero; a text that does not parse
 * gives INT64_MIN, Flink's Long.MIN_VALUE).  format NULL: Flink's default
 * form, yyyy-M[M]-d[d] with an optional ' H[H]:m[m]:s[s]' and an optional
 * fraction of 1-9 digits (truncated to ms).  A format is a constant STRING
 * with DATE_FORMAT's letters (yyyy 4 digits, MM dd HH mm ss 2, SSS 3, other
 * text exactly); fields it lacks are 1970-01-01 00:00:00.000's.  Every
 * field is range-checked (Feb 30 does not parse).  UTC. */
int tide_expr_ts_parse(tide_expr **out, tide_expr *s, tide_expr *format, bool seconds, tide_err *e);
/* TO_TIMESTAMP_LTZ(n, precision): BIGINT epoch seconds (precision 0) or
 * milliseconds (3) to TIMESTAMP; a result outside the TIMESTAMP range
 * fails the row (see Semantics). */
int tide_expr_from_epoch(tide_expr **out, tide_expr *n, int precision, tide_err *e);
/* DAYOFWEEK(ts) (1 = Sunday .. 7 = Saturday) or DAYOFYEAR(ts) (1..366). */
int tide_expr_day_of(tide_expr **out, bool of_year, tide_expr *ts, tide_err *e);
/* TIMESTAMPADD(unit, n, ts): n BIGINT units later.  MILLISECOND..WEEK are
 * fixed lengths; MONTH, QUARTER, YEAR move the calendar month and clamp the
 * day to the new month's last (Java's plusMonths).  An overflow or a result
 * outside the TIMESTAMP range fails the row. */
int tide_expr_ts_add(tide_expr **out, tide_ts_unit unit, tide_expr *n, tide_expr *ts, tide_err *e);
/* TIMESTAMPDIFF(unit, a, b): BIGINT whole units from a to b.
 * MILLISECOND..WEEK: (b - a) / unit, truncated toward zero; MONTH (QUARTER,
 * YEAR: / 3, / 12 truncated) by Calcite's month difference, which Flink
 * uses: the most months m with a + m months <= b (day of month clamped),
 * less one when that lands on b's day but later in the day. */
int tide_expr_ts_diff(tide_expr **out, tide_ts_unit unit, tide_expr *a, tide_expr *b, tide_err *e);

/* Processing time (NOW(), CURRENT_TIMESTAMP, CURRENT_DATE,
 * UNIX_TIMESTAMP()): the clock (NULL: the system's; borrowed, it must
 * outlive the tree) read once per evaluation, the same value for every row
 * of the batch.  NOW: TIMESTAMP; DATE: TIMESTAMP at that day's midnight
 * UTC; SECONDS: BIGINT epoch seconds. */
typedef enum tide_expr_now_kind { TIDE_EXPR_NOW, TIDE_EXPR_NOW_DATE, TIDE_EXPR_NOW_SECONDS } tide_expr_now_kind;
int tide_expr_now(tide_expr **out, const tide_clock *clock, tide_expr_now_kind kind, tide_err *e);

/* Free a tree (the node and all its children).  NULL is a no-op. */
void tide_expr_free(tide_expr *x);

/* ---- types (shared with the SQL binder, so both agree) ---- */

/* The common type of a and b (CASE, COALESCE, IN, comparisons): a NULL
 * takes the other; equal types; numbers: DOUBLE if either is, else a
 * DECIMAL with room for both (a BIGINT counts as DECIMAL(19, 0); the
 * integer digits win when 38 digits are not enough), else BIGINT.
 * TIDE_TYPE_COUNT when there is none. */
tide_type tide_expr_common_type(tide_type a, tide_type b);
/* The type of a op b for numbers (BIGINT, DOUBLE, DECIMAL, NULL):
 * DOUBLE if either is; DECIMAL by data/decimal.h's rules if either is (a
 * BIGINT operand counts as DECIMAL(19, 0), or DECIMAL(10, 0) when small_x
 * says it is an INT-sized integer literal, as Flink types it INT); else
 * BIGINT.  TIDE_TYPE_COUNT for other types. */
tide_type tide_expr_arith_type(tide_expr_arith_op op, tide_type a, bool small_a, tide_type b, bool small_b);
/* Whether CAST(from AS to) type-checks. */
bool tide_expr_castable(tide_type from, tide_type to);

/* ---- inspecting ---- */

tide_type tide_expr_type(const tide_expr *x);
bool tide_expr_is_interval(const tide_expr *x);
/* True for a literal (then *v gets its value; strings borrowed from x). */
bool tide_expr_is_literal(const tide_expr *x, tide_value *v);

/* ---- evaluating ---- */

/* Evaluate x over every row of `in`; *out gets a borrowed result vector of
 * tide_cbatch_rows(in) rows.  If sel is not NULL, only rows sel[0..nsel)
 * (strictly increasing) can raise runtime errors; the values of the other
 * rows are unspecified.  0, TIDE_EINVAL (a column's type in `in` differs from
 * the one the tree was built for; a failed CAST, naming the row and, when
 * the batch keeps positions, the source position), TIDE_ENOMEM. */
int tide_expr_eval(tide_expr *x, const tide_cbatch *in, const uint32_t *sel, uint32_t nsel,
                   const tide_expr_vec **out, tide_err *e);

/* The rows the last evaluation of x failed on (an integer overflow, a
 * TIMESTAMP out of range; see Semantics): their count, a byte per input row
 * (*rows, non-zero = failed; NULL when none) and the first failure's reason
 * (*why, "integer overflow in BIGINT * BIGINT"; NULL when none).  Borrowed
 * like the result vector. */
uint32_t tide_expr_faults(const tide_expr *x, const uint8_t **rows, const char **why);
/* Whether evaluating x can fail a row (it holds BIGINT/TIMESTAMP
 * arithmetic, FLOOR or CEIL). */
bool tide_expr_can_fail(const tide_expr *x);

/* WHERE: evaluate the BOOLEAN predicate and write the indexes of the rows
 * where it is TRUE (NULL and failed rows count as false) to sel, which must hold
 * tide_cbatch_rows(in) entries; *n gets their count.  Errors as eval (plus
 * TIDE_EINVAL for a non-BOOLEAN predicate). */
int tide_expr_filter(tide_expr *pred, const tide_cbatch *in, uint32_t *sel, uint32_t *n, tide_err *e);

/* SELECT: append one row to `out` per selected row of `in` (rows sel[0..nsel)
 * in that order, or every row when sel is NULL), column j = exprs[j]
 * evaluated on it, except the rows that any expression failed on
 * (tide_expr_faults: the caller counts them; fewer rows are appended).
 * `out` must have n columns whose types are the exprs'
 * (BIGINT and TIMESTAMP interchangeable) and room for the rows (else
 * TIDE_EINVAL / TIDE_ERANGE before anything is appended).  Ops and
 * positions are copied when both batches keep them.  Strings are copied
 * into `out`.  On an error after rows were appended, `out` keeps them
 * (the caller resets it). */
int tide_expr_project(tide_expr *const *exprs, uint32_t n, const tide_cbatch *in, const uint32_t *sel,
                      uint32_t nsel, tide_cbatch *out, tide_err *e);

/* Whether the tree reads input column `col` (so a caller can skip filling
 * columns no expression reads). */
bool tide_expr_reads_col(const tide_expr *x, uint32_t col);
/* The input column when the tree is a plain column reference, else -1. */
int64_t tide_expr_column_of(const tide_expr *x);

/* "ADD" -> "+", "EQ" -> "=", ... */
const char *tide_expr_arith_name(tide_expr_arith_op op);
const char *tide_expr_cmp_name(tide_expr_cmp_op op);

#endif
