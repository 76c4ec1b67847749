/*
 * json.h - a JSON object lexer for JSON Lines records, and a JSON string
 * writer.
 *
 * tide_json_parse_object parses one JSON object (RFC 8259), typically one
 * line of a JSON Lines file, and gives access to its top-level fields by
 * name.  Nested objects and arrays are validated but not taken apart: they
 * are returned as their raw text span.  Strings are unescaped (\n, \", \\,
 * \/, \b, \f, \r, \t, \uXXXX including surrogate pairs) into UTF-8.
 *
 *   tide_json j;
 *   tide_json_init(&j);
 *   if (tide_json_parse_object(&j, line, len, "stdin:12", &err) == 0) {
 *       const tide_json_value *v = tide_json_get(&j, "user", 4);
 *       if (v && v->type == TIDE_JSON_STRING) use v->text[0..v->len)
 *   }
 *   tide_json_free(&j);
 *
 * Memory: the parser owns a field array and a scratch buffer that grow to
 * the largest object seen and are reused, so parsing allocates nothing in
 * steady state.  Every pointer a parse returns points either into the
 * caller's text or into the scratch buffer, and stays valid until the next
 * parse on the same parser (and as long as the caller's text).
 *
 * Strictness: the grammar is RFC 8259's (no comments, no trailing commas,
 * no leading zeros, no NaN).  Bytes >= 0x80 inside strings are passed
 * through without UTF-8 validation; control characters must be escaped.
 * Duplicate names are kept; tide_json_get returns the last one, as
 * JavaScript's JSON.parse does.  Nesting is limited to 256 levels.
 */
#ifndef TIDE_DATA_JSON_H
#define TIDE_DATA_JSON_H

#include "base/buf.h"
#include "base/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum tide_json_type {
    TIDE_JSON_NULL,
    TIDE_JSON_FALSE,
    TIDE_JSON_TRUE,
    TIDE_JSON_NUMBER,
    TIDE_JSON_STRING,
    TIDE_JSON_OBJECT, /* nested: raw text only */
    TIDE_JSON_ARRAY,  /* nested: raw text only */
} tide_json_type;

typedef struct tide_json_value {
    tide_json_type type;
    /* STRING: the unescaped UTF-8 bytes; every other type: its raw text
     * (the number as written, "true", the nested object's text ...). */
    const char *text;
    size_t len;
    const char *raw;  /* the value's bytes in the input (a string with its quotes) */
    size_t raw_len;
    uint32_t col;     /* 1-based byte column of the value's first byte */
    bool is_int;      /* NUMBER: integer syntax (no fraction, no exponent) that fits int64 */
    int64_t i;        /* NUMBER with is_int */
    double d;         /* NUMBER: the value as a double (always set) */
} tide_json_value;

typedef struct tide_json_field {
    const char *name; /* unescaped */
    size_t name_len;
    tide_json_value value;
} tide_json_field;

/* The parser.  Its fields are private to json.c. */
typedef struct tide_json {
    tide_json_field *fields;
    size_t nfields, cap;
    tide_buf scratch;
    uint64_t err_col;
} tide_json;

void tide_json_init(tide_json *j);
void tide_json_free(tide_json *j);

/* Parse s[0..len) as one JSON object, with optional surrounding whitespace.
 * Returns 0, TIDE_EPARSE (e says "WHERE:COL: why", or "column COL: why"
 * when `where` is NULL; tide_json_error_col gives COL) or TIDE_ENOMEM. */
int tide_json_parse_object(tide_json *j, const char *s, size_t len, const char *where, tide_err *e);

uint64_t tide_json_error_col(const tide_json *j);

/* The top-level fields of the last successful parse, in input order. */
static inline size_t tide_json_count(const tide_json *j) { return j->nfields; }
static inline const tide_json_field *tide_json_field_at(const tide_json *j, size_t i) { return &j->fields[i]; }

/* The value of the (last) field named name[0..len), or NULL. */
const tide_json_value *tide_json_get(const tide_json *j, const char *name, size_t len);

/* Append s[0..len) to out as a JSON string literal, quotes included.  '"',
 * '\\' and control characters are escaped; valid UTF-8 is copied as is; a
 * byte that does not start a valid UTF-8 sequence becomes U+FFFD, so the
 * output is always valid JSON whatever the input bytes.  0 or TIDE_ENOMEM. */
int tide_json_write_string(tide_buf *out, const void *s, size_t len);

#endif
