/*
 * types.h - tide's SQL types and a single value.
 *
 * Types: BOOLEAN, BIGINT, DOUBLE, STRING, TIMESTAMP(3) (UTC, ms since the
 * UNIX epoch, stored as int64), DECIMAL(p, s) (exact: a 128-bit integer
 * scaled by 10^s, |v| < 10^p, 1 <= p <= 38, 0 <= s <= p; data/decimal.h),
 * each nullable.
 *
 * A DECIMAL type carries its precision and scale inside the tide_type value
 * (tide_type_decimal(p, s)): bits 0-7 hold TIDE_TYPE_DECIMAL, bits 8-15 p,
 * bits 16-23 s, so the type travels through schemas, plans and expressions
 * like any other.  Code that switches over types switches over
 * tide_type_base(t); two DECIMAL types are equal only with equal p and s.
 *
 * In column batches values are stored per type in arrays (see
 * data/batch.h); `tide_value` is the boxed form used at the edges
 * (literals, aggregate results, tests).
 */
#ifndef TIDE_DATA_TYPES_H
#define TIDE_DATA_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TIDE_TYPE_MAP(X)                    \
    X(NULL, "NULL")                         \
    X(BOOLEAN, "BOOLEAN")                   \
    X(BIGINT, "BIGINT")                     \
    X(DOUBLE, "DOUBLE")                     \
    X(STRING, "STRING")                     \
    X(TIMESTAMP, "TIMESTAMP(3)")            \
    X(DECIMAL, "DECIMAL")

typedef enum tide_type {
#define TIDE__TYPE_ENUM(name, sql) TIDE_TYPE_##name,
    TIDE_TYPE_MAP(TIDE__TYPE_ENUM)
#undef TIDE__TYPE_ENUM
    TIDE_TYPE_COUNT
} tide_type;

/* "BIGINT", "TIMESTAMP(3)", "DECIMAL(10, 2)", ...; "?" for a bad type. */
const char *tide_type_name(tide_type t);

/* ---- DECIMAL(p, s) ---- */

#define TIDE_DEC_MAX_PRECISION 38
/* The unscaled value of a DECIMAL: v / 10^s is the number.  Aligned to 8
 * bytes, not __int128's 16, so that a tide_value (which holds one) stays
 * storable wherever 8-byte aligned memory holds values (state slots, table
 * entries); the compiler then never assumes 16-byte alignment for it. */
__extension__ typedef __int128 tide_i128 __attribute__((aligned(8)));

static inline tide_type tide_type_base(tide_type t) { return (tide_type)((unsigned)t & 0xffu); }
static inline bool tide_type_is_decimal(tide_type t) { return tide_type_base(t) == TIDE_TYPE_DECIMAL; }
/* DECIMAL(p, s); the caller keeps 1 <= p <= 38 and 0 <= s <= p. */
static inline tide_type tide_type_decimal(unsigned p, unsigned s)
{
    return (tide_type)((unsigned)TIDE_TYPE_DECIMAL | (p << 8) | (s << 16));
}
static inline unsigned tide_dec_precision(tide_type t) { return ((unsigned)t >> 8) & 0xffu; }
static inline unsigned tide_dec_scale(tide_type t) { return ((unsigned)t >> 16) & 0xffu; }
/* A value type: one of the enum's types (not NULL) or a well-formed
 * DECIMAL(p, s). */
static inline bool tide_type_valid(tide_type t)
{
    unsigned u = (unsigned)t;
    if (tide_type_is_decimal(t)) {
        unsigned p = tide_dec_precision(t), s = tide_dec_scale(t);
        return u >> 24 == 0 && p >= 1 && p <= TIDE_DEC_MAX_PRECISION && s <= p;
    }
    return u > TIDE_TYPE_NULL && u < TIDE_TYPE_COUNT;
}

/* Timestamps that mean "no bound": the watermark of an ended input is
 * TIDE_TS_MAX; "no watermark yet" is TIDE_TS_MIN. */
#define TIDE_TS_MIN INT64_MIN
#define TIDE_TS_MAX INT64_MAX

/* The TIMESTAMP(3) values tide accepts as data (Flink's range):
 * 0000-01-01 00:00:00.000 to 9999-12-31 23:59:59.999 UTC.  Every parser
 * path (CSV, JSON Lines, topic record times, `tide produce`, generators)
 * rejects a value outside it as a bad row with its position, and an
 * expression whose TIMESTAMP result falls outside it fails the row
 * (exec/expr.h), so operators only see event times inside it: window
 * bounds computed from them (sizes are at most TIDE_TS_VALID_SPAN,
 * time/window.h) stay far from the int64 limits.  TIDE_TS_MIN/MAX above are
 * sentinels (watermarks, GLOBAL window bounds), never data. */
#define TIDE_TS_VALID_MIN (-62167219200000LL)
#define TIDE_TS_VALID_MAX 253402300799999LL
#define TIDE_TS_VALID_SPAN (TIDE_TS_VALID_MAX - TIDE_TS_VALID_MIN + 1)
#define TIDE_TS_RANGE_WHY "timestamp outside 0000-01-01 00:00:00.000 .. 9999-12-31 23:59:59.999"
static inline bool tide_ts_valid(int64_t ms) { return ms >= TIDE_TS_VALID_MIN && ms <= TIDE_TS_VALID_MAX; }

/* Changelog operations (Flink's RowKind): name, short form.  The one
 * changelog kind of tide: a batch row's op (data/batch.h), an operator's
 * output rows (exec/winagg.h, exec/groupagg.h), the nodes' results. */
#define TIDE_OP_MAP(X)              \
    X(INSERT, "+I")                 \
    X(UPDATE_BEFORE, "-U")          \
    X(UPDATE_AFTER, "+U")           \
    X(DELETE, "-D")

typedef enum tide_op {
#define TIDE__OP_ENUM(name, s) TIDE_OP_##name,
    TIDE_OP_MAP(TIDE__OP_ENUM)
#undef TIDE__OP_ENUM
    TIDE_OP_COUNT
} tide_op;

/* "+I", "-U", "+U", "-D"; "?" for a bad value. */
const char *tide_op_name(tide_op op);
/* Parse a short name ("+I" ...).  0 or TIDE_EINVAL. */
int tide_op_parse(const char *s, size_t len, tide_op *out);
/* +1 for +I/+U, -1 for -U/-D: the sign a downstream sum applies. */
static inline int tide_op_sign(tide_op op)
{
    return op == TIDE_OP_INSERT || op == TIDE_OP_UPDATE_AFTER ? 1 : -1;
}

/* A borrowed string: bytes (not NUL-terminated) and length. */
typedef struct tide_str {
    const char *ptr;
    uint32_t len;
} tide_str;

typedef struct tide_value {
    tide_type type;  /* TIDE_TYPE_NULL for SQL NULL of unknown type */
    bool is_null;
    union {
        bool b;
        int64_t i64;  /* BIGINT and TIMESTAMP */
        double f64;
        tide_i128 d;  /* DECIMAL: the unscaled value (type gives the scale) */
        tide_str s;   /* borrowed: lifetime is the owner's (batch arena, literal) */
    } u;
} tide_value;

#endif
