/*
 * types.h - tide's SQL types and a single value.
 *
 * Types: BOOLEAN, BIGINT, DOUBLE, STRING, TIMESTAMP(3) (UTC, ms since the
 * UNIX epoch, stored as int64), each nullable.  In column batches values are
 * stored per type in arrays (see data/batch.h); `tide_value` is the boxed form
 * used at the edges (literals, aggregate results, tests).
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
    X(TIMESTAMP, "TIMESTAMP(3)")

typedef enum tide_type {
#define TIDE__TYPE_ENUM(name, sql) TIDE_TYPE_##name,
    TIDE_TYPE_MAP(TIDE__TYPE_ENUM)
#undef TIDE__TYPE_ENUM
    TIDE_TYPE_COUNT
} tide_type;

/* "BIGINT", "TIMESTAMP(3)", ... */
const char *tide_type_name(tide_type t);

/* Timestamps that mean "no bound": the watermark of an ended input is
 * TIDE_TS_MAX; "no watermark yet" is TIDE_TS_MIN. */
#define TIDE_TS_MIN INT64_MIN
#define TIDE_TS_MAX INT64_MAX

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
        tide_str s;   /* borrowed: lifetime is the owner's (batch arena, literal) */
    } u;
} tide_value;

#endif
