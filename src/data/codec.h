/*
 * codec.h - typed decoding of CSV / JSON Lines text into column batches, and
 * encoding of batches back to text.  The lexers (data/csv.h, data/json.h) cut
 * the text; this module gives it the schema's types.
 *
 * Decoding
 *   tide_decoder *d;
 *   tide_decode_opts o = {.format = TIDE_FORMAT_CSV, .source = "logins.csv",
 *                         .header = true, .on_dead = report, .ctx = me};
 *   tide_decoder_create(&d, schema, &o, &err);
 *   for (;;) {
 *       int rc = tide_decoder_decode(d, buf, len, &pos, eof, batch, &err);
 *       if (rc == 1)                 batch is full: hand it on, reset it, call again
 *       else if (rc == 0)            all input decoded (only when eof)
 *       else if (rc == TIDE_EAGAIN)  keep buf[pos..len), append more input, call again
 *       else                         fatal (TIDE_ENOMEM ...): err says why
 *   }
 *   a last, partly filled batch is the caller's to flush.
 *
 * CSV (RFC 4180, via data/csv.h): fields map to the schema's columns BY
 * POSITION (a header row, when opts.header, is skipped, not matched).  A
 * field converts to its column's type:
 *   - an unquoted empty field is NULL for every type; a quoted empty field
 *     ("") is the empty string for STRING and NULL for the other types;
 *   - BIGINT: [+-]digits (int64); DOUBLE: strtod syntax in the C locale
 *     (inf and nan included), whole field; BOOLEAN: true/false/1/0, any case;
 *     STRING: the bytes as they are; TIMESTAMP: tide_ts_parse (data/timefmt.h).
 *   - No whitespace is trimmed around numbers, booleans or timestamps.
 * Blank lines are skipped, except in a one-field layout where a blank line is
 * a row whose one field is NULL (that is how such a row is encoded).
 *
 * JSON Lines (one object per line, via data/json.h): fields map to columns
 * BY NAME (exact match first, else ASCII case-insensitive); unknown fields
 * are ignored; a missing field or JSON null is NULL.  BIGINT takes integer
 * numbers (no fraction, no exponent, in int64); DOUBLE takes any number and
 * the strings "NaN", "Infinity", "-Infinity"; BOOLEAN takes true/false;
 * STRING takes strings; TIMESTAMP takes an integer number (epoch ms) or a
 * string (tide_ts_parse).  Anything else is a type mismatch.  Blank
 * (whitespace-only) lines are skipped.  A trailing CR of a line is ignored.
 *
 * Both formats: a UTF-8 byte order mark at the start of the input is skipped.
 *
 * Byte ranges.  To decode a range of a larger input (connect/file_split.h
 * parses a file in chunks on several threads), create the decoder with
 * opts.mid_input (the input starts at a record boundary inside a file: no
 * byte order mark is looked for, no header skipped) and opts.first_line,
 * and call tide_decoder_decode_range with the offset where the range ends:
 * it decodes exactly the records that START before it, the last of which
 * may run past it, and stops at the first record start at or after it.  A
 * "record" there is what the lexer cuts, bad records and blank lines
 * included, so decoding consecutive ranges, each from where the previous
 * one stopped, gives what one decode of the whole input gives.
 *
 * Changelog op: with opts.op_column, the first CSV field / the JSON field
 * "op" holds "+I", "-U", "+U" or "-D" (a missing JSON "op" is +I), stored in
 * the batch when it keeps ops (TIDE_CBATCH_OPS).  Positions: when the batch
 * keeps them (TIDE_CBATCH_POS), each row gets the line number where its
 * record starts.
 *
 * Bad records.  A record that does not fit the schema (malformed CSV or
 * JSON, wrong number of fields, a value that does not convert, NULL in a NOT
 * NULL column, a bad op) is NOT put in the batch.  It is counted and passed
 * to opts.on_dead with a reason like
 *   logins.csv:17:9: column ts: bad TIMESTAMP(3) "2024-13-01": month out of range
 * (source:line:column, the column where the bad value or character starts)
 * and its raw text; decoding goes on with the next record.  Without
 * on_dead, bad records are only counted.
 *
 * Encoding: tide_encoder writes batches as CSV (RFC 4180 quoting, optional
 * header line of the column names) or JSON Lines (one object per row, fields
 * in schema order).  TIMESTAMP prints as "YYYY-MM-DD HH:MM:SS.mmm" UTC
 * (a string in JSON), DOUBLE as the shortest %.15g / %.16g / %.17g form that
 * reads back to the same double ("NaN"/"Infinity" as strings in JSON, nan/inf in CSV),
 * NULL as an empty field in CSV (and the empty string as "") and null in
 * JSON.  Lines end in LF.  The changelog op of a row (tide_cbatch_op: +I
 * when the batch keeps none) is written as the text "+I", "-U", "+U", "-D":
 * in an "op" column first when opts.op_first, or when the batch keeps ops
 * (and opts.op_in_col is off); in place of column opts.op_col's cell (a
 * STRING column, named in the header by its own name) when opts.op_in_col.
 *
 * Threads: a decoder or encoder belongs to one thread at a time.
 */
#ifndef TIDE_DATA_CODEC_H
#define TIDE_DATA_CODEC_H

#include "base/buf.h"
#include "base/err.h"
#include "data/batch.h"
#include "data/schema.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum tide_format {
    TIDE_FORMAT_CSV,
    TIDE_FORMAT_JSONL,
    TIDE_FORMAT_TABLE, /* output only: connect/sink.h's aligned table (the codec refuses it) */
} tide_format;

/* Apply one text-format option, as tables' WITH clauses write them, to a
 * connector's settings: 'format' = 'csv' | 'json' | 'jsonl', 'csv.header' =
 * true | false | 1 | 0 (case-insensitive), 'csv.delimiter' = one character.
 * Returns 1 when it applied the option, 0 when `key` is not a format option,
 * TIDE_EINVAL when the value is bad (nothing changed). */
int tide_codec_option(const char *key, const char *value, tide_format *format, bool *header,
                      char *delim);

/* The size of a dead letter's reason buffer, NUL included. */
#define TIDE_DEAD_REASON_MAX 1024

/* A record that did not fit.  Every pointer is valid only during the
 * callback. */
typedef struct tide_dead_letter {
    const char *source;  /* opts.source */
    uint64_t line;       /* 1-based line of the fault: where the record starts, or a later
                          * line inside a multi-line quoted CSV record */
    uint64_t col;        /* 1-based column of the fault, 0 when none applies */
    int code;            /* TIDE_EPARSE (bad text or value), TIDE_ERANGE (number out of range) */
    const char *reason;  /* "SOURCE:LINE[:COL]: why", NUL-terminated, at most
                          * TIDE_DEAD_REASON_MAX - 1 bytes (longer text is cut) */
    const char *why;     /* the tail of reason after "SOURCE:LINE[:COL]: " */
    const char *raw;     /* the record's bytes, without its line terminator */
    size_t raw_len;
} tide_dead_letter;

typedef void (*tide_dead_letter_fn)(void *ctx, const tide_dead_letter *dl);

typedef struct tide_decode_opts {
    tide_format format;
    const char *source;      /* names the input in reasons; borrowed; NULL = "input" */
    char delim;              /* CSV delimiter; 0 = ',' */
    bool header;             /* CSV: the first record is a header, skipped */
    bool op_column;          /* a leading op field (CSV) / an "op" field (JSON) */
    bool mid_input;          /* the input starts at a record boundary inside a file:
                              * no byte order mark, no header (see "Byte ranges") */
    uint64_t first_line;     /* line number of the first byte; 0 = 1 */
    tide_dead_letter_fn on_dead;
    void *ctx;
} tide_decode_opts;

typedef struct tide_decode_stats {
    uint64_t records; /* records seen (header and blank lines excluded) */
    uint64_t rows;    /* records decoded into batches */
    uint64_t dead;    /* records sent to the dead-letter output */
} tide_decode_stats;

typedef struct tide_decoder tide_decoder;

/* The schema is borrowed (must outlive the decoder); opts is copied, but
 * opts->source and opts->ctx stay borrowed.  0, TIDE_EINVAL, TIDE_ENOMEM. */
int tide_decoder_create(tide_decoder **out, const tide_schema *schema, const tide_decode_opts *opts,
                        tide_err *e);
/* NULL is a no-op. */
void tide_decoder_free(tide_decoder *d);

/* Decode records of buf[*pos, len) into `out` (a batch of the decoder's
 * schema, or of one with the same column types), appending after its
 * current rows, until it is full or the input is used up.  Returns
 *   1            out is full; *pos is past the last record consumed
 *   0            eof and every record consumed
 *   TIDE_EAGAIN  !eof and buf[*pos, len) holds no complete record: keep
 *                those bytes, append more input after them, call again
 *   < 0          a fatal error (TIDE_ENOMEM, TIDE_EINVAL for a batch of
 *                another shape); e says why.
 * Strings are copied into `out`; buf is not referenced after the call. */
int tide_decoder_decode(tide_decoder *d, const char *buf, size_t len, size_t *pos, bool eof,
                        tide_cbatch *out, tide_err *e);

/* tide_decoder_decode for the records of buf[*pos, len) that start before
 * offset `stop` of buf (see "Byte ranges"); the first record of an input
 * with opts.header (the header) is decoded wherever it starts.  Returns 1
 * (out is full), TIDE_EAGAIN (a record that starts before stop is not
 * complete in buf and !eof), < 0 as tide_decoder_decode, or 0: every record
 * that starts before stop is decoded, *pos is where the next one starts
 * (>= stop), or, at eof, len.  stop = SIZE_MAX is tide_decoder_decode. */
int tide_decoder_decode_range(tide_decoder *d, const char *buf, size_t len, size_t *pos, size_t stop,
                              bool eof, tide_cbatch *out, tide_err *e);

void tide_decoder_stats(const tide_decoder *d, tide_decode_stats *st);

typedef struct tide_encode_opts {
    tide_format format;
    char delim;     /* CSV delimiter; 0 = ',' */
    bool header;    /* CSV: write a header line before the first row */
    bool op_first;  /* every row starts with its op ("op" column / field) */
    bool op_in_col; /* column op_col (a STRING) holds the row's op, not the batch's cell */
    uint32_t op_col;
} tide_encode_opts;

typedef struct tide_encoder tide_encoder;

/* The schema is borrowed.  0, TIDE_EINVAL, TIDE_ENOMEM. */
int tide_encoder_create(tide_encoder **out, const tide_schema *schema, const tide_encode_opts *opts,
                        tide_err *e);
void tide_encoder_free(tide_encoder *enc);
/* Append the rows of b to out (the CSV header first, on the first call, when
 * asked; it names "op" first when the rows lead with their op).  0 or
 * TIDE_ENOMEM (out may then hold part of the batch). */
int tide_encoder_encode(tide_encoder *enc, const tide_cbatch *b, tide_buf *out, tide_err *e);
/* The same for rows sel[0..n) of b, in that order (sel NULL: rows 0..n-1). */
int tide_encoder_encode_sel(tide_encoder *enc, const tide_cbatch *b, const uint32_t *sel, uint32_t n,
                            tide_buf *out, tide_err *e);

/* Append the shortest text that strtod reads back as exactly v ("nan",
 * "inf", "-inf" for non-finite values), in the C locale.  0 or TIDE_ENOMEM. */
int tide_codec_write_double(tide_buf *out, double v);

#endif
