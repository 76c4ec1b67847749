/*
 * schema.h - the shape of a table or a stream: ordered, typed columns.
 *
 *   tide_schema *s;
 *   tide_schema_create(&s, &err);
 *   tide_schema_add(s, "ts", TIDE_TYPE_TIMESTAMP, false, &err);
 *   tide_schema_add(s, "user_id", TIDE_TYPE_BIGINT, true, &err);
 *   tide_schema_set_time_column(s, 0, &err);
 *   ... tide_schema_find(s, "USER_ID", 7) == 1 ...
 *   tide_schema_free(s);
 *
 * Column names are SQL identifiers: looked up case-insensitively (ASCII
 * letters only; other bytes compare exactly), kept as written.  Two columns
 * whose names differ only in case are rejected.
 *
 * Lifetime: a schema is built, then shared read-only by everything that
 * uses it (batches, codecs, operators hold a borrowed pointer).  Do not add
 * columns or free it while such users exist.  Read-only use is thread-safe.
 */
#ifndef TIDE_DATA_SCHEMA_H
#define TIDE_DATA_SCHEMA_H

#include "base/err.h"
#include "data/types.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct tide_column {
    const char *name; /* NUL-terminated, owned by the schema */
    uint32_t name_len;
    tide_type type;   /* never TIDE_TYPE_NULL */
    bool nullable;
} tide_column;

typedef struct tide_schema tide_schema;

/* 0 or TIDE_ENOMEM. */
int tide_schema_create(tide_schema **out, tide_err *e);
/* NULL is a no-op. */
void tide_schema_free(tide_schema *s);

/* Append a column.  TIDE_EINVAL for an empty name or a bad type, TIDE_EEXIST
 * for a duplicate name (case-insensitive), TIDE_ENOMEM. */
int tide_schema_add(tide_schema *s, const char *name, tide_type type, bool nullable, tide_err *e);
/* Same with a name that is not NUL-terminated. */
int tide_schema_add_n(tide_schema *s, const char *name, size_t name_len, tide_type type, bool nullable,
                      tide_err *e);

/* Declare column `index` the event-time column (it must be TIMESTAMP), or
 * -1 for none.  TIDE_EINVAL otherwise. */
int tide_schema_set_time_column(tide_schema *s, int index, tide_err *e);
/* The event-time column's index, or -1. */
int tide_schema_time_column(const tide_schema *s);

size_t tide_schema_ncols(const tide_schema *s);
/* Column i (< ncols); valid while the schema lives and is not added to. */
const tide_column *tide_schema_col(const tide_schema *s, size_t i);
/* Index of the column named name[0..len) (case-insensitive), or -1. */
int tide_schema_find(const tide_schema *s, const char *name, size_t len);

/* A deep copy (names, types, time column).  0 or TIDE_ENOMEM. */
int tide_schema_clone(const tide_schema *s, tide_schema **out, tide_err *e);
/* Same columns (names case-insensitively, types, nullability) and time column. */
bool tide_schema_equal(const tide_schema *a, const tide_schema *b);

#endif
