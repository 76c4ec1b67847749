/*
 * batch.h - the column batch: up to `capacity` rows of a schema, stored as a
 * struct of arrays.  Records travel through tide's dataflow in these.
 *
 * Naming: the prefix is tide_cbatch_ ("column batch") because tide_batch_ is
 * the record batch of the embedded log (log/batch.h).
 *
 * Layout.  Per column, a typed value array and a null byte map
 * (nulls[row] != 0 means SQL NULL; the value slot of a NULL cell holds
 * garbage):
 *   BOOLEAN -> bool[], BIGINT and TIMESTAMP -> int64_t[], DOUBLE -> double[],
 *   STRING -> tide_str[] whose bytes live in the batch's own arena,
 *   DECIMAL(p, s) -> tide_i128[] (the unscaled values; 16-byte aligned).
 * Optionally (flags at create) a per-row changelog op (tide_op, data/types.h)
 * and a per-row source position (uint64_t: a line number or a byte offset,
 * used to name a record in dead-letter and late-data reasons).
 *
 * Ownership and lifetimes.
 *   - The batch owns everything it points to: the arrays (one allocation made
 *     by create) and the bytes of every string (copied into its arena by
 *     tide_cbatch_set_str / set / copy_row / select).  A tide_str read from a
 *     batch is borrowed: valid until tide_cbatch_reset or tide_cbatch_free of
 *     that batch (compact and drop_last do not move string bytes).
 *   - The schema is borrowed: it must outlive the batch and not change.
 *   - reset() forgets all rows and reuses the memory.  The string arena grows
 *     to the high-water mark of the bytes one fill needed, so a batch that is
 *     filled and reset over and over allocates nothing in steady state.
 *   - Not thread-safe; a batch has one owner at a time (hand it over whole).
 *
 * Building rows: tide_cbatch_add_row appends a row whose cells are all NULL
 * (op +I, position 0), then the set_* calls fill it; a row that turns out bad
 * is removed with tide_cbatch_drop_last (its string bytes are reclaimed only
 * by reset).  Setters and getters are static inline and do not check the
 * column type or bounds: col < ncols, row < rows and the matching type are the
 * caller's contract (tide_cbatch_get/set are the checked, boxed forms).
 */
#ifndef TIDE_DATA_BATCH_H
#define TIDE_DATA_BATCH_H

#include "base/arena.h"
#include "base/err.h"
#include "data/schema.h"
#include "data/types.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* create() flags */
#define TIDE_CBATCH_OPS 1u /* keep a changelog op per row */
#define TIDE_CBATCH_POS 2u /* keep a source position per row */

#define TIDE_CBATCH_MAX_CAPACITY (1u << 24)

typedef struct tide_cbatch_col {
    tide_type type;
    uint8_t *nulls; /* [capacity], non-zero = NULL */
    union {
        bool *b;
        int64_t *i64;
        double *f64;
        tide_str *s;
        tide_i128 *d;
        void *any;
    } v;
} tide_cbatch_col;

/* Fields are private to batch.c; the struct is public only so the hot-path
 * accessors below can be inlined. */
typedef struct tide_cbatch {
    const tide_schema *schema;
    uint32_t ncols, rows, capacity;
    unsigned flags;
    tide_cbatch_col *cols;
    uint8_t *ops;  /* [capacity] tide_op, or NULL */
    uint64_t *pos; /* [capacity], or NULL */
    tide_arena arena;
    char *str_cur;           /* the free part of the current string chunk: */
    size_t str_left;         /* str_cur[0 .. str_left) */
    void *mem;               /* the one allocation behind cols and the arrays */
    uint32_t *view_map;      /* a view (tide_cbatch_view_create): its columns' sources */
    unsigned view_keep;      /* a view: the flags of the bound batch it shows */
} tide_cbatch;

/* Create an empty batch of `schema` (borrowed) for 1..TIDE_CBATCH_MAX_CAPACITY
 * rows.  0, TIDE_EINVAL or TIDE_ENOMEM. */
int tide_cbatch_create(tide_cbatch **out, const tide_schema *schema, uint32_t capacity, unsigned flags,
                       tide_err *e);
/* NULL is a no-op. */
void tide_cbatch_free(tide_cbatch *b);
/* Drop every row; invalidates every string read from the batch. */
void tide_cbatch_reset(tide_cbatch *b);

static inline uint32_t tide_cbatch_rows(const tide_cbatch *b) { return b->rows; }
static inline uint32_t tide_cbatch_capacity(const tide_cbatch *b) { return b->capacity; }
static inline uint32_t tide_cbatch_ncols(const tide_cbatch *b) { return b->ncols; }
static inline bool tide_cbatch_full(const tide_cbatch *b) { return b->rows == b->capacity; }
static inline bool tide_cbatch_has_ops(const tide_cbatch *b) { return b->ops != NULL; }
static inline bool tide_cbatch_has_pos(const tide_cbatch *b) { return b->pos != NULL; }
static inline const tide_schema *tide_cbatch_schema(const tide_cbatch *b) { return b->schema; }
static inline tide_type tide_cbatch_type(const tide_cbatch *b, uint32_t col) { return b->cols[col].type; }

/* ---- building rows ---- */

/* Append a row of NULLs (op +I, position 0); *row gets its index.
 * TIDE_ERANGE when the batch is full. */
static inline int tide_cbatch_add_row(tide_cbatch *b, uint32_t *row)
{
    if (b->rows == b->capacity)
        return TIDE_ERANGE;
    uint32_t r = b->rows++;
    for (uint32_t c = 0; c < b->ncols; c++)
        b->cols[c].nulls[r] = 1;
    if (b->ops)
        b->ops[r] = TIDE_OP_INSERT;
    if (b->pos)
        b->pos[r] = 0;
    *row = r;
    return 0;
}

/* Append n rows of NULLs at once (as n tide_cbatch_add_row calls); *first
 * gets the first one's index.  TIDE_ERANGE when they do not fit. */
static inline int tide_cbatch_add_rows(tide_cbatch *b, uint32_t n, uint32_t *first)
{
    if (n > b->capacity - b->rows)
        return TIDE_ERANGE;
    uint32_t r = b->rows;
    for (uint32_t c = 0; c < b->ncols && n; c++)
        memset(b->cols[c].nulls + r, 1, n);
    if (b->ops && n)
        memset(b->ops + r, TIDE_OP_INSERT, n);
    if (b->pos && n)
        memset(b->pos + r, 0, (size_t)n * sizeof *b->pos);
    b->rows = r + n;
    *first = r;
    return 0;
}

/* Remove the last row (no-op on an empty batch). */
static inline void tide_cbatch_drop_last(tide_cbatch *b)
{
    if (b->rows)
        b->rows--;
}

static inline void tide_cbatch_set_null(tide_cbatch *b, uint32_t col, uint32_t row)
{
    b->cols[col].nulls[row] = 1;
}
static inline void tide_cbatch_set_bool(tide_cbatch *b, uint32_t col, uint32_t row, bool v)
{
    b->cols[col].v.b[row] = v;
    b->cols[col].nulls[row] = 0;
}
/* BIGINT and TIMESTAMP columns. */
static inline void tide_cbatch_set_i64(tide_cbatch *b, uint32_t col, uint32_t row, int64_t v)
{
    b->cols[col].v.i64[row] = v;
    b->cols[col].nulls[row] = 0;
}
static inline void tide_cbatch_set_f64(tide_cbatch *b, uint32_t col, uint32_t row, double v)
{
    b->cols[col].v.f64[row] = v;
    b->cols[col].nulls[row] = 0;
}
/* DECIMAL columns: the unscaled value (the column's type gives the scale). */
static inline void tide_cbatch_set_dec(tide_cbatch *b, uint32_t col, uint32_t row, tide_i128 v)
{
    b->cols[col].v.d[row] = v;
    b->cols[col].nulls[row] = 0;
}
/* Copy s[0..len) into the batch's arena and store it.  0, TIDE_ERANGE
 * (len > UINT32_MAX) or TIDE_ENOMEM (the cell is left as it was). */
int tide_cbatch_set_str(tide_cbatch *b, uint32_t col, uint32_t row, const char *s, size_t len,
                        tide_err *e);
/* Only with TIDE_CBATCH_OPS / TIDE_CBATCH_POS (else a no-op). */
static inline void tide_cbatch_set_op(tide_cbatch *b, uint32_t row, tide_op op)
{
    if (b->ops)
        b->ops[row] = (uint8_t)op;
}
static inline void tide_cbatch_set_pos(tide_cbatch *b, uint32_t row, uint64_t pos)
{
    if (b->pos)
        b->pos[row] = pos;
}

/* ---- reading cells ---- */

static inline bool tide_cbatch_is_null(const tide_cbatch *b, uint32_t col, uint32_t row)
{
    return b->cols[col].nulls[row] != 0;
}
static inline bool tide_cbatch_bool(const tide_cbatch *b, uint32_t col, uint32_t row)
{
    return b->cols[col].v.b[row];
}
static inline int64_t tide_cbatch_i64(const tide_cbatch *b, uint32_t col, uint32_t row)
{
    return b->cols[col].v.i64[row];
}
static inline double tide_cbatch_f64(const tide_cbatch *b, uint32_t col, uint32_t row)
{
    return b->cols[col].v.f64[row];
}
static inline tide_i128 tide_cbatch_dec(const tide_cbatch *b, uint32_t col, uint32_t row)
{
    return b->cols[col].v.d[row];
}
/* Borrowed: valid until reset/free of b. */
static inline tide_str tide_cbatch_str(const tide_cbatch *b, uint32_t col, uint32_t row)
{
    return b->cols[col].v.s[row];
}
/* +I when the batch has no op column. */
static inline tide_op tide_cbatch_op(const tide_cbatch *b, uint32_t row)
{
    return b->ops ? (tide_op)b->ops[row] : TIDE_OP_INSERT;
}
/* 0 when the batch keeps no positions. */
static inline uint64_t tide_cbatch_pos(const tide_cbatch *b, uint32_t row)
{
    return b->pos ? b->pos[row] : 0;
}

/* Whole columns, for vectorised operators: arrays of `rows` entries. */
static inline const uint8_t *tide_cbatch_nulls(const tide_cbatch *b, uint32_t col) { return b->cols[col].nulls; }
static inline const int64_t *tide_cbatch_col_i64(const tide_cbatch *b, uint32_t col) { return b->cols[col].v.i64; }
static inline const double *tide_cbatch_col_f64(const tide_cbatch *b, uint32_t col) { return b->cols[col].v.f64; }
static inline const bool *tide_cbatch_col_bool(const tide_cbatch *b, uint32_t col) { return b->cols[col].v.b; }
static inline const tide_str *tide_cbatch_col_str(const tide_cbatch *b, uint32_t col) { return b->cols[col].v.s; }
static inline const tide_i128 *tide_cbatch_col_dec(const tide_cbatch *b, uint32_t col) { return b->cols[col].v.d; }
/* Writable forms, for bulk writers (a column filled with memcpy): the
 * arrays have `capacity` entries; cells of rows >= rows are not part of the
 * batch until tide_cbatch_add_rows covers them (which sets their null bytes
 * and leaves the values), and a writer that sets values clears the null
 * bytes itself. */
static inline uint8_t *tide_cbatch_nulls_mut(tide_cbatch *b, uint32_t col) { return b->cols[col].nulls; }
static inline int64_t *tide_cbatch_col_i64_mut(tide_cbatch *b, uint32_t col) { return b->cols[col].v.i64; }

/* ---- boxed and bulk operations ---- */

/* The cell as a tide_value (type = the column's; strings borrowed from b). */
tide_value tide_cbatch_get(const tide_cbatch *b, uint32_t col, uint32_t row);
/* Store a boxed value.  v->is_null (or type NULL) stores NULL; otherwise
 * v->type must be the column's type (a BIGINT value is accepted for a
 * TIMESTAMP column and vice versa).  Strings are copied.  0, TIDE_EINVAL
 * (type mismatch), TIDE_ERANGE, TIDE_ENOMEM. */
int tide_cbatch_set(tide_cbatch *b, uint32_t col, uint32_t row, const tide_value *v, tide_err *e);

/* Append row `row` of src to dst (same column types, checked), with its op
 * and position when both batches keep them (else +I / 0).  Strings are
 * copied into dst.  0, TIDE_EINVAL (column types differ), TIDE_ERANGE (dst
 * full), TIDE_ENOMEM (dst unchanged). */
int tide_cbatch_copy_row(tide_cbatch *dst, const tide_cbatch *src, uint32_t row, tide_err *e);
/* Append rows sel[0..n) of src to dst, in that order (a filter's output),
 * column by column (rows listed as one run sel[0], sel[0] + 1, ... are
 * copied with memcpy).  Same errors as copy_row, checked before anything is
 * appended; on TIDE_ENOMEM dst keeps the rows it had (string bytes already
 * copied are reclaimed by reset). */
int tide_cbatch_select(tide_cbatch *dst, const tide_cbatch *src, const uint32_t *sel, uint32_t n,
                       tide_err *e);
/* The same with a column map: dst's column c gets src's column map[c]
 * (map NULL: c), e.g. a projection to some of src's columns.  TIDE_EINVAL
 * when a mapped column does not exist or its type differs. */
int tide_cbatch_select_cols(tide_cbatch *dst, const tide_cbatch *src, const uint32_t *sel, uint32_t n,
                            const uint32_t *map, tide_err *e);
/* Keep only rows sel[0..n) of b, in place; sel must be strictly increasing
 * and < rows.  String bytes do not move. */
void tide_cbatch_compact(tide_cbatch *b, const uint32_t *sel, uint32_t n);

/* The smallest and largest non-NULL value of a BIGINT or TIMESTAMP column
 * (e.g. the event-time column, for a watermark).  False when every row is
 * NULL or the batch is empty (then *min and *max are untouched). */
bool tide_cbatch_i64_range(const tide_cbatch *b, uint32_t col, int64_t *min, int64_t *max);

/* True when row ra of a and row rb of b hold the same values (NULL equals
 * NULL; doubles bitwise-equal or both NaN; strings byte-equal) and the same
 * op.  Column types must match (false otherwise).  Positions are ignored. */
bool tide_cbatch_row_equal(const tide_cbatch *a, uint32_t ra, const tide_cbatch *b, uint32_t rb);
/* The same, ignoring the ops. */
bool tide_cbatch_values_equal(const tide_cbatch *a, uint32_t ra, const tide_cbatch *b, uint32_t rb);

/* ---- views ---- */

/* A view: a batch of `schema` whose column c is column map[c] (map NULL:
 * c) of another batch, without a copy (a projection to columns).  Bind it
 * to a batch with tide_cbatch_view_bind before each use; it then has that
 * batch's rows, ops and positions, and stays valid while that batch is
 * not changed (reset, freed or written).  A view is read-only: never add
 * rows to it, set cells or reset it (free it with tide_cbatch_free).  The
 * schema (borrowed) must outlive it.  0 or TIDE_ENOMEM. */
int tide_cbatch_view_create(tide_cbatch **out, const tide_schema *schema, const uint32_t *map,
                            tide_err *e);
/* Point the view at src's columns.  0, or TIDE_EINVAL when a mapped column
 * is missing or of another type than the view's. */
int tide_cbatch_view_bind(tide_cbatch *view, const tide_cbatch *src, tide_err *e);
/* Which of the bound batch's TIDE_CBATCH_OPS / TIDE_CBATCH_POS the view
 * shows from its next bind on (a view made by create shows both): e.g. a
 * batch with positions seen as one without. */
void tide_cbatch_view_keep(tide_cbatch *view, unsigned flags);

#endif
