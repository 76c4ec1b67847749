/*
 * csv.h - an RFC 4180 record lexer over a byte buffer.
 *
 * The lexer cuts a buffer into records and fields.  It does not own the
 * input: the caller hands it a buffer (a whole file, or a block of a stream)
 * and a position, and gets back one record per call:
 *
 *   tide_csv c;
 *   tide_csv_init(&c, "logins.csv", ',');
 *   size_t pos = 0;
 *   for (;;) {
 *       tide_csv_record r;
 *       int rc = tide_csv_next(&c, buf, len, &pos, eof, &r, &err);
 *       if (rc == 1)          use r (valid until the next call on c)
 *       else if (rc == 0)     end of input (only when eof)
 *       else if (rc == TIDE_EAGAIN)  keep buf[pos..len), read more after it, call again
 *       else                  TIDE_EPARSE: err names "NAME:LINE:COL: why"; pos is past
 *                             the bad record, so the caller may report it and go on
 *   }
 *
 * Grammar (RFC 4180, with LF accepted as well as CRLF):
 *   - A record ends at LF or CRLF outside quotes, or at the end of the input
 *     (when `eof`).  Its raw span is the exact bytes of the record without
 *     the terminator; it may contain newlines when a quoted field does.
 *   - Fields are separated by the delimiter.  A field that starts with '"'
 *     is quoted: it ends at a '"' that is not doubled; "" inside stands for
 *     one '"'; delimiters, CR and LF inside are data.  After the closing
 *     quote only a delimiter or the end of the record may follow.
 *   - An unquoted field may not contain '"' (a stray quote is an error at its
 *     column).  A CR that is not followed by LF is data.  A quote that is never
 *     closed is an error at the opening quote's line and column.
 *   - An empty line is a record with one empty field (raw_len == 0); callers
 *     that want to skip blank lines test raw_len.
 *
 * Field text: an unquoted field, and a quoted field without "" escapes,
 * point into the caller's buffer; a quoted field with escapes is unescaped
 * into the lexer's scratch buffer.  Either way it stays valid until the next
 * call on the lexer (and, for the former, as long as the caller's buffer).
 *
 * Cost: no allocation per record or field in steady state (the field array
 * and the scratch buffer grow to the widest record seen and are reused).
 * Rows without quotes take a memchr-based fast path.
 *
 * Line numbers are 1-based and count every LF consumed so far, including
 * those inside quoted fields; columns are 1-based byte offsets in a line.
 */
#ifndef TIDE_DATA_CSV_H
#define TIDE_DATA_CSV_H

#include "base/buf.h"
#include "base/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tide_csv_field {
    const char *ptr;  /* the field's (unescaped) bytes; not NUL-terminated */
    size_t len;
    uint32_t raw_off; /* offset of the field's first raw byte (its opening quote if quoted) in the record's raw span */
    bool quoted;
} tide_csv_field;

typedef struct tide_csv_record {
    const tide_csv_field *fields; /* nfields >= 1 */
    size_t nfields;
    const char *raw;  /* the record's bytes in the caller's buffer, without its terminator */
    size_t raw_len;
    uint64_t line;    /* 1-based line of the record's first byte */
} tide_csv_record;

/* The lexer.  Fields are private to csv.c; it is a struct only so callers
 * can keep it on the stack or inside their own objects. */
typedef struct tide_csv {
    char delim;
    const char *name;        /* for error messages ("stdin", a path); borrowed */
    uint64_t line;           /* line of the next record */
    tide_csv_field *fields;
    size_t fields_cap;
    tide_buf scratch;        /* unescaped quoted fields of the current record */
    uint64_t err_line, err_col;
} tide_csv;

/* `name` (borrowed, may be NULL) names the input in error messages. */
void tide_csv_init(tide_csv *c, const char *name, char delim);
void tide_csv_free(tide_csv *c);
/* Start counting lines again from `line` (e.g. 1 for a new input). */
void tide_csv_set_line(tide_csv *c, uint64_t line);

/* Lex the next record of buf[*pos, len).
 *   1            a record; *pos is advanced past it and its terminator.
 *   0            end of input: eof is true and nothing is left.
 *   TIDE_EAGAIN  (only when !eof) no complete record in buf[*pos, len): the
 *                caller must keep those bytes, append more input after them
 *                and call again with the same lexer (*pos is unchanged).
 *   TIDE_EPARSE  a malformed record; e says "NAME:LINE:COL: why" and
 *                tide_csv_error_pos gives the position; *pos is past the bad
 *                record (to the end of the line where the error is, or to the
 *                end of the input for an unclosed quote).
 *   TIDE_ENOMEM  growing the field array or the scratch buffer failed. */
int tide_csv_next(tide_csv *c, const char *buf, size_t len, size_t *pos, bool eof,
                  tide_csv_record *rec, tide_err *e);

/* The position of the last TIDE_EPARSE. */
void tide_csv_error_pos(const tide_csv *c, uint64_t *line, uint64_t *col);

/* The line and column of field i of a record (its first raw byte). */
void tide_csv_field_pos(const tide_csv_record *rec, size_t i, uint64_t *line, uint64_t *col);

/* The index of the field whose text equals name[0..len) (e.g. in a header
 * record), or -1. */
long tide_csv_find(const tide_csv_record *rec, const char *name, size_t len);

/* True when field text must be quoted in CSV output (it holds the
 * delimiter, '"', CR or LF). */
bool tide_csv_needs_quotes(const void *s, size_t len, char delim);
/* Append s[0..len) to out as one CSV field, quoted and escaped when needed. */
int tide_csv_write_field(tide_buf *out, const void *s, size_t len, char delim);

#endif
