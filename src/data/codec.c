/*
 * codec.c - CSV / JSON Lines <-> column batches.
 *
 * The decoder is a loop over records handed out by the lexers; for each
 * record it appends a row to the batch, converts field by field, and on the
 * first field that does not fit drops the row again (tide_cbatch_drop_last)
 * and reports the record as a dead letter.  Nothing is allocated per record:
 * the lexers reuse their buffers, strings are copied into the batch's arena,
 * and the reason text of a dead letter is built in the decoder's own buffer.
 *
 * Numbers are read without the C library except DOUBLE (strtod_l in a "C"
 * locale object owned by the decoder, so a process locale with a decimal
 * comma cannot change what "1.5" means).
 */
#include "data/codec.h"

#include "data/csv.h"
#include "data/decimal.h"
#include "data/json.h"
#include "data/timefmt.h"

#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define REASON_MAX TIDE_DEAD_REASON_MAX
#define VALUE_SHOW_MAX 64 /* bytes of a bad value quoted in a reason */
#define DOUBLE_TEXT_MAX 512

struct tide_decoder {
    const tide_schema *schema;
    tide_decode_opts o;
    uint32_t ncols;
    uint32_t nfields; /* CSV fields per record: ncols (+1 with the op column) */
    tide_type *types;
    bool *nullable;
    tide_csv csv;
    tide_json json;
    bool header_done;
    bool started;  /* past the optional byte order mark */
    uint64_t line; /* JSONL: line of the next record */
    tide_decode_stats st;
    locale_t cloc;
    tide_err lexerr; /* the lexers' errors land here */
    char reason[REASON_MAX];
};

/* Why a value did not convert: code, static reason, 0-based byte offset in
 * the value's text. */
typedef struct fault {
    int code;
    const char *why;
    size_t off;
} fault;

static inline bool is_digit(unsigned char c)
{
    return (unsigned)(c - '0') < 10u;
}

static inline unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

static bool ieq(const char *s, size_t n, const char *lit)
{
    size_t i = 0;
    for (; i < n && lit[i]; i++)
        if (lower((unsigned char)s[i]) != (unsigned char)lit[i])
            return false;
    return i == n && lit[i] == '\0';
}

/* ---- value parsing ---- */

static bool parse_i64(const char *s, size_t n, int64_t *out, fault *f)
{
    size_t i = 0;
    bool neg = false;
    if (n && (s[0] == '-' || s[0] == '+')) {
        neg = s[0] == '-';
        i = 1;
    }
    if (i == n) {
        *f = (fault){TIDE_EPARSE, "expected digits", i};
        return false;
    }
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    uint64_t v = 0;
    for (; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!is_digit(c)) {
            *f = (fault){TIDE_EPARSE, "not an integer", i};
            return false;
        }
        unsigned d = (unsigned)(c - '0');
        if (v > (limit - d) / 10) {
            *f = (fault){TIDE_ERANGE, "out of range for BIGINT", 0};
            return false;
        }
        v = v * 10 + d;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return true;
}

static bool parse_f64(locale_t loc, const char *s, size_t n, double *out, fault *f)
{
    char tmp[DOUBLE_TEXT_MAX];
    if (n == 0 || n >= sizeof tmp) {
        *f = (fault){TIDE_EPARSE, n ? "number too long" : "empty number", 0};
        return false;
    }
    if (!(is_digit((unsigned char)s[0]) || s[0] == '-' || s[0] == '+' || s[0] == '.' ||
          lower((unsigned char)s[0]) == 'i' || lower((unsigned char)s[0]) == 'n')) {
        *f = (fault){TIDE_EPARSE, "not a number", 0};
        return false;
    }
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    char *end;
    double v = strtod_l(tmp, &end, loc);
    if (end != tmp + n) {
        *f = (fault){TIDE_EPARSE, "not a number", (size_t)(end - tmp)};
        return false;
    }
    *out = v;
    return true;
}

static bool parse_bool(const char *s, size_t n, bool *out, fault *f)
{
    if (n == 1 && (s[0] == '1' || s[0] == '0')) {
        *out = s[0] == '1';
        return true;
    }
    if (ieq(s, n, "true")) {
        *out = true;
        return true;
    }
    if (ieq(s, n, "false")) {
        *out = false;
        return true;
    }
    *f = (fault){TIDE_EPARSE, "expected true, false, 1 or 0", 0};
    return false;
}

/* ---- dead letters ---- */

/* Report one bad record: reason = "SOURCE:LINE[:COL]: " + message. */
static void dead(tide_decoder *d, uint64_t line, uint64_t col, int code, const char *raw, size_t raw_len,
                 const char *fmt, ...) __attribute__((format(printf, 7, 8)));

static void dead(tide_decoder *d, uint64_t line, uint64_t col, int code, const char *raw, size_t raw_len,
                 const char *fmt, ...)
{
    d->st.dead++;
    if (!d->o.on_dead)
        return;
    int n;
    if (col)
        n = snprintf(d->reason, sizeof d->reason, "%s:%llu:%llu: ", d->o.source, (unsigned long long)line,
                     (unsigned long long)col);
    else
        n = snprintf(d->reason, sizeof d->reason, "%s:%llu: ", d->o.source, (unsigned long long)line);
    if (n < 0)
        n = 0;
    if ((size_t)n < sizeof d->reason) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(d->reason + n, sizeof d->reason - (size_t)n, fmt, ap);
        va_end(ap);
    } else {
        n = (int)sizeof d->reason - 1; /* the prefix alone filled it */
    }
    tide_dead_letter dl = {d->o.source, line, col, code, d->reason, d->reason + n, raw, raw_len};
    d->o.on_dead(d->o.ctx, &dl);
}

/* `s` shortened for quoting in a reason. */
static int show_len(size_t n)
{
    return n > VALUE_SHOW_MAX ? VALUE_SHOW_MAX : (int)n;
}
static const char *show_more(size_t n)
{
    return n > VALUE_SHOW_MAX ? "..." : "";
}

static void dead_value(tide_decoder *d, uint64_t line, uint64_t col, const char *raw, size_t raw_len,
                       uint32_t c, const char *s, size_t n, const fault *f)
{
    const tide_column *cd = tide_schema_col(d->schema, c);
    dead(d, line, col + f->off, f->code, raw, raw_len, "column %s: bad %s \"%.*s%s\": %s", cd->name,
         tide_type_name(cd->type), show_len(n), s, show_more(n), f->why);
}

static void dead_null(tide_decoder *d, uint64_t line, uint64_t col, const char *raw, size_t raw_len, uint32_t c)
{
    dead(d, line, col, TIDE_EPARSE, raw, raw_len, "column %s: NULL in a NOT NULL column",
         tide_schema_col(d->schema, c)->name);
}

/* ---- create / free ---- */

int tide_decoder_create(tide_decoder **out, const tide_schema *schema, const tide_decode_opts *opts,
                        tide_err *e)
{
    int rc;
    tide_decoder *d = calloc(1, sizeof *d);
    if (!d)
        goto nomem;
    d->schema = schema;
    d->o = *opts;
    if (!d->o.source)
        d->o.source = "input";
    if (!d->o.delim)
        d->o.delim = ',';
    if (opts->format != TIDE_FORMAT_CSV && opts->format != TIDE_FORMAT_JSONL) {
        rc = tide_err_set(e, TIDE_EINVAL, "decoder: unknown format %d", (int)opts->format);
        goto fail;
    }
    if (d->o.delim == '"' || d->o.delim == '\n' || d->o.delim == '\r') {
        rc = tide_err_set(e, TIDE_EINVAL, "decoder: bad CSV delimiter");
        goto fail;
    }
    d->ncols = (uint32_t)tide_schema_ncols(schema);
    d->nfields = d->ncols + (d->o.op_column ? 1 : 0);
    d->types = malloc((d->ncols + 1) * sizeof *d->types);
    d->nullable = malloc((d->ncols + 1) * sizeof *d->nullable);
    if (!d->types || !d->nullable)
        goto nomem;
    for (uint32_t c = 0; c < d->ncols; c++) {
        d->types[c] = tide_schema_col(schema, c)->type;
        d->nullable[c] = tide_schema_col(schema, c)->nullable;
    }
    d->cloc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    if (!d->cloc)
        goto nomem;
    tide_csv_init(&d->csv, d->o.source, d->o.delim);
    tide_json_init(&d->json);
    if (d->o.mid_input) {
        d->started = true;
        d->header_done = true;
    }
    d->line = d->o.first_line ? d->o.first_line : 1;
    tide_csv_set_line(&d->csv, d->line);
    *out = d;
    return 0;
nomem:
    rc = tide_err_set(e, TIDE_ENOMEM, "decoder: out of memory");
fail:
    if (d) {
        free(d->types);
        free(d->nullable);
    }
    free(d);
    return rc;
}

void tide_decoder_free(tide_decoder *d)
{
    if (!d)
        return;
    tide_csv_free(&d->csv);
    tide_json_free(&d->json);
    if (d->cloc)
        freelocale(d->cloc);
    free(d->types);
    free(d->nullable);
    free(d);
}

void tide_decoder_stats(const tide_decoder *d, tide_decode_stats *st)
{
    *st = d->st;
}

static int check_batch(const tide_decoder *d, const tide_cbatch *b, tide_err *e)
{
    if (tide_cbatch_ncols(b) != d->ncols)
        return tide_err_set(e, TIDE_EINVAL, "%s: batch has %u columns, schema %u", d->o.source,
                            tide_cbatch_ncols(b), d->ncols);
    for (uint32_t c = 0; c < d->ncols; c++)
        if (tide_cbatch_type(b, c) != d->types[c])
            return tide_err_set(e, TIDE_EINVAL, "%s: batch column %u is not %s", d->o.source, c,
                                tide_type_name(d->types[c]));
    return 0;
}

/* ---- CSV ---- */

/* Convert CSV/text field s[0..n) into cell (c, r).  0 = stored, 1 = bad
 * value (*f says why), < 0 = fatal. */
static int conv_text(tide_decoder *d, tide_cbatch *b, uint32_t c, uint32_t r, const char *s, size_t n,
                     fault *f, tide_err *e)
{
    switch (tide_type_base(d->types[c])) {
    case TIDE_TYPE_DECIMAL: {
        tide_i128 v;
        const char *why;
        int rc = tide_dec_parse(s, n, d->types[c], &v, &why);
        if (rc) {
            *f = (fault){rc == TIDE_ERANGE ? TIDE_ERANGE : TIDE_EPARSE, why, 0};
            return 1;
        }
        tide_cbatch_set_dec(b, c, r, v);
        return 0;
    }
    case TIDE_TYPE_BIGINT: {
        int64_t v;
        if (!parse_i64(s, n, &v, f))
            return 1;
        tide_cbatch_set_i64(b, c, r, v);
        return 0;
    }
    case TIDE_TYPE_TIMESTAMP: {
        int64_t v;
        tide_ts_error te;
        if (tide_ts_parse(s, n, &v, &te) != 0) {
            *f = (fault){TIDE_EPARSE, te.reason, te.column - 1};
            return 1;
        }
        if (!tide_ts_valid(v)) {
            *f = (fault){TIDE_ERANGE, TIDE_TS_RANGE_WHY, 0};
            return 1;
        }
        tide_cbatch_set_i64(b, c, r, v);
        return 0;
    }
    case TIDE_TYPE_DOUBLE: {
        double v;
        if (!parse_f64(d->cloc, s, n, &v, f))
            return 1;
        tide_cbatch_set_f64(b, c, r, v);
        return 0;
    }
    case TIDE_TYPE_BOOLEAN: {
        bool v;
        if (!parse_bool(s, n, &v, f))
            return 1;
        tide_cbatch_set_bool(b, c, r, v);
        return 0;
    }
    case TIDE_TYPE_STRING:
        return tide_cbatch_set_str(b, c, r, s, n, e);
    default:
        *f = (fault){TIDE_EPARSE, "unsupported column type", 0};
        return 1;
    }
}

static const char *trim_eol(const char *raw, size_t *len)
{
    while (*len && (raw[*len - 1] == '\n' || raw[*len - 1] == '\r'))
        (*len)--;
    return raw;
}

/* One lexed record into the batch, or into the dead letters.  0 or fatal. */
static int csv_record(tide_decoder *d, const tide_csv_record *rec, tide_cbatch *b, tide_err *e)
{
    uint64_t line, col;
    d->st.records++;
    if (rec->nfields != d->nfields) {
        if (rec->nfields > d->nfields) {
            tide_csv_field_pos(rec, d->nfields, &line, &col);
            dead(d, line, col, TIDE_EPARSE, rec->raw, rec->raw_len, "expected %u fields, found %zu",
                 d->nfields, rec->nfields);
        } else {
            dead(d, rec->line, 0, TIDE_EPARSE, rec->raw, rec->raw_len, "expected %u fields, found %zu",
                 d->nfields, rec->nfields);
        }
        return 0;
    }
    uint32_t r;
    if (tide_cbatch_add_row(b, &r) != 0)
        return tide_err_set(e, TIDE_ERANGE, "%s: batch full", d->o.source); /* not reached: caller checks */
    size_t f0 = 0;
    if (d->o.op_column) {
        const tide_csv_field *fl = &rec->fields[0];
        tide_op op;
        if (tide_op_parse(fl->ptr, fl->len, &op) != 0) {
            tide_csv_field_pos(rec, 0, &line, &col);
            dead(d, line, col, TIDE_EPARSE, rec->raw, rec->raw_len,
                 "bad op \"%.*s%s\": expected +I, -U, +U or -D", show_len(fl->len), fl->ptr,
                 show_more(fl->len));
            goto drop;
        }
        tide_cbatch_set_op(b, r, op);
        f0 = 1;
    }
    for (uint32_t c = 0; c < d->ncols; c++) {
        const tide_csv_field *fl = &rec->fields[f0 + c];
        if (fl->len == 0 && (!fl->quoted || d->types[c] != TIDE_TYPE_STRING)) {
            if (!d->nullable[c]) {
                tide_csv_field_pos(rec, f0 + c, &line, &col);
                dead_null(d, line, col, rec->raw, rec->raw_len, c);
                goto drop;
            }
            continue; /* add_row left it NULL */
        }
        fault f = {TIDE_EPARSE, NULL, 0};
        int rc = conv_text(d, b, c, r, fl->ptr, fl->len, &f, e);
        if (rc < 0) {
            tide_cbatch_drop_last(b);
            return rc;
        }
        if (rc) {
            tide_csv_field_pos(rec, f0 + c, &line, &col);
            dead_value(d, line, col + (fl->quoted ? 1 : 0), rec->raw, rec->raw_len, c, fl->ptr, fl->len, &f);
            goto drop;
        }
    }
    tide_cbatch_set_pos(b, r, rec->line);
    d->st.rows++;
    return 0;
drop:
    tide_cbatch_drop_last(b);
    return 0;
}

/* The CSV lexer's message is "SOURCE:LINE:COL: why"; dead() adds that
 * prefix itself, so take the text after it. */
static const char *lexer_why(tide_decoder *d, uint64_t line, uint64_t col)
{
    char prefix[REASON_MAX];
    int n = snprintf(prefix, sizeof prefix, "%s:%llu:%llu: ", d->o.source, (unsigned long long)line,
                     (unsigned long long)col);
    if (n > 0 && (size_t)n < sizeof prefix && strncmp(d->lexerr.msg, prefix, (size_t)n) == 0)
        return d->lexerr.msg + n;
    return d->lexerr.msg;
}

static int decode_csv(tide_decoder *d, const char *buf, size_t len, size_t *pos, size_t stop, bool eof,
                      tide_cbatch *b, tide_err *e)
{
    while (!tide_cbatch_full(b)) {
        if (*pos >= stop && (d->header_done || !d->o.header))
            return 0;
        size_t start = *pos;
        tide_csv_record rec;
        int rc = tide_csv_next(&d->csv, buf, len, pos, eof, &rec, &d->lexerr);
        if (rc == 1) {
            if (d->o.header && !d->header_done) {
                d->header_done = true;
                continue;
            }
            if (rec.raw_len == 0 && d->nfields != 1)
                continue; /* blank line */
            rc = csv_record(d, &rec, b, e);
            if (rc)
                return rc;
            continue;
        }
        if (rc == 0 || rc == TIDE_EAGAIN)
            return rc;
        if (rc == TIDE_EPARSE) {
            uint64_t line, col;
            tide_csv_error_pos(&d->csv, &line, &col);
            size_t raw_len = *pos - start;
            const char *raw = trim_eol(buf + start, &raw_len);
            d->st.records++;
            d->header_done = true;
            dead(d, line, col, TIDE_EPARSE, raw, raw_len, "%s", lexer_why(d, line, col));
            tide_err_clear(&d->lexerr);
            continue;
        }
        rc = tide_err_set(e, rc, "%s", d->lexerr.msg);
        tide_err_clear(&d->lexerr);
        return rc;
    }
    return 1;
}


/* ---- JSON Lines ---- */

static const char *json_type_name(tide_json_type t)
{
    switch (t) {
    case TIDE_JSON_NULL: return "null";
    case TIDE_JSON_FALSE:
    case TIDE_JSON_TRUE: return "a boolean";
    case TIDE_JSON_NUMBER: return "a number";
    case TIDE_JSON_STRING: return "a string";
    case TIDE_JSON_OBJECT: return "an object";
    case TIDE_JSON_ARRAY: return "an array";
    }
    return "?";
}

static const tide_json_value *json_lookup(tide_json *j, const char *name, size_t len)
{
    const tide_json_value *v = tide_json_get(j, name, len);
    if (v)
        return v;
    for (size_t i = tide_json_count(j); i-- > 0;) {
        const tide_json_field *f = tide_json_field_at(j, i);
        if (f->name_len == len) {
            size_t k = 0;
            while (k < len && lower((unsigned char)f->name[k]) == lower((unsigned char)name[k]))
                k++;
            if (k == len)
                return &f->value;
        }
    }
    return NULL;
}

/* Convert a JSON value into cell (c, r): 0 stored, 1 bad (*f, with
 * f->why possibly a mismatch), < 0 fatal. */
static int conv_json(tide_decoder *d, tide_cbatch *b, uint32_t c, uint32_t r, const tide_json_value *v,
                     fault *f, tide_err *e)
{
    tide_type t = d->types[c];
    switch (tide_type_base(t)) {
    case TIDE_TYPE_DECIMAL: {
        if (v->type != TIDE_JSON_NUMBER && v->type != TIDE_JSON_STRING)
            break;
        tide_i128 x;
        const char *why;
        int rc = tide_dec_parse(v->text, v->len, t, &x, &why);
        if (rc) {
            *f = (fault){rc == TIDE_ERANGE ? TIDE_ERANGE : TIDE_EPARSE, why, 0};
            return 1;
        }
        tide_cbatch_set_dec(b, c, r, x);
        return 0;
    }
    case TIDE_TYPE_BIGINT:
        if (v->type != TIDE_JSON_NUMBER)
            break;
        if (!v->is_int) {
            bool frac = memchr(v->text, '.', v->len) || memchr(v->text, 'e', v->len) ||
                        memchr(v->text, 'E', v->len);
            *f = frac ? (fault){TIDE_EPARSE, "not an integer", 0}
                      : (fault){TIDE_ERANGE, "out of range for BIGINT", 0};
            return 1;
        }
        tide_cbatch_set_i64(b, c, r, v->i);
        return 0;
    case TIDE_TYPE_DOUBLE:
        if (v->type == TIDE_JSON_NUMBER) {
            double x = v->d;
            if (x == 0 && v->len && v->text[0] == '-')
                x = -0.0; /* the lexer reads an integer -0 as +0 */
            tide_cbatch_set_f64(b, c, r, x);
            return 0;
        }
        if (v->type == TIDE_JSON_STRING) {
            if (v->len == 3 && memcmp(v->text, "NaN", 3) == 0)
                tide_cbatch_set_f64(b, c, r, NAN);
            else if (v->len == 8 && memcmp(v->text, "Infinity", 8) == 0)
                tide_cbatch_set_f64(b, c, r, INFINITY);
            else if (v->len == 9 && memcmp(v->text, "-Infinity", 9) == 0)
                tide_cbatch_set_f64(b, c, r, -INFINITY);
            else
                break;
            return 0;
        }
        break;
    case TIDE_TYPE_BOOLEAN:
        if (v->type != TIDE_JSON_TRUE && v->type != TIDE_JSON_FALSE)
            break;
        tide_cbatch_set_bool(b, c, r, v->type == TIDE_JSON_TRUE);
        return 0;
    case TIDE_TYPE_STRING:
        if (v->type != TIDE_JSON_STRING)
            break;
        return tide_cbatch_set_str(b, c, r, v->text, v->len, e);
    case TIDE_TYPE_TIMESTAMP:
        if (v->type == TIDE_JSON_NUMBER) {
            if (!v->is_int) {
                *f = (fault){TIDE_EPARSE, "expected epoch milliseconds (an integer)", 0};
                return 1;
            }
            if (!tide_ts_valid(v->i)) {
                *f = (fault){TIDE_ERANGE, TIDE_TS_RANGE_WHY, 0};
                return 1;
            }
            tide_cbatch_set_i64(b, c, r, v->i);
            return 0;
        }
        if (v->type == TIDE_JSON_STRING) {
            int64_t ms;
            tide_ts_error te;
            if (tide_ts_parse(v->text, v->len, &ms, &te) != 0) {
                *f = (fault){TIDE_EPARSE, te.reason, te.column}; /* +1 for the opening quote */
                return 1;
            }
            if (!tide_ts_valid(ms)) {
                *f = (fault){TIDE_ERANGE, TIDE_TS_RANGE_WHY, 0};
                return 1;
            }
            tide_cbatch_set_i64(b, c, r, ms);
            return 0;
        }
        break;
    default:
        break;
    }
    *f = (fault){TIDE_EPARSE, NULL, 0}; /* type mismatch */
    return 1;
}

static int json_record(tide_decoder *d, const char *p, size_t n, uint64_t line, tide_cbatch *b, tide_err *e)
{
    d->st.records++;
    int rc = tide_json_parse_object(&d->json, p, n, NULL, &d->lexerr);
    if (rc == TIDE_EPARSE) {
        const char *why = strstr(d->lexerr.msg, ": ");
        dead(d, line, tide_json_error_col(&d->json), TIDE_EPARSE, p, n, "bad JSON: %s",
             why ? why + 2 : d->lexerr.msg);
        tide_err_clear(&d->lexerr);
        return 0;
    }
    if (rc) {
        rc = tide_err_set(e, rc, "%s:%llu: %s", d->o.source, (unsigned long long)line, d->lexerr.msg);
        tide_err_clear(&d->lexerr);
        return rc;
    }
    uint32_t r;
    if (tide_cbatch_add_row(b, &r) != 0)
        return tide_err_set(e, TIDE_ERANGE, "%s: batch full", d->o.source);
    if (d->o.op_column) {
        const tide_json_value *v = tide_json_get(&d->json, "op", 2);
        if (v && v->type != TIDE_JSON_NULL) {
            tide_op op;
            if (v->type != TIDE_JSON_STRING || tide_op_parse(v->text, v->len, &op) != 0) {
                dead(d, line, v->col, TIDE_EPARSE, p, n, "bad op %.*s%s: expected \"+I\", \"-U\", \"+U\" or \"-D\"",
                     show_len(v->raw_len), v->raw, show_more(v->raw_len));
                goto drop;
            }
            tide_cbatch_set_op(b, r, op);
        }
    }
    for (uint32_t c = 0; c < d->ncols; c++) {
        const tide_column *cd = tide_schema_col(d->schema, c);
        const tide_json_value *v = json_lookup(&d->json, cd->name, cd->name_len);
        if (!v || v->type == TIDE_JSON_NULL) {
            if (!d->nullable[c]) {
                dead_null(d, line, v ? v->col : 0, p, n, c);
                goto drop;
            }
            continue;
        }
        fault f = {TIDE_EPARSE, NULL, 0};
        rc = conv_json(d, b, c, r, v, &f, e);
        if (rc < 0) {
            tide_cbatch_drop_last(b);
            return rc;
        }
        if (rc) {
            if (!f.why)
                dead(d, line, v->col, TIDE_EPARSE, p, n, "column %s: expected %s, found %s %.*s%s", cd->name,
                     tide_type_name(cd->type), json_type_name(v->type), show_len(v->raw_len), v->raw,
                     show_more(v->raw_len));
            else
                dead(d, line, v->col + f.off, f.code, p, n, "column %s: bad %s %.*s%s: %s", cd->name,
                     tide_type_name(cd->type), show_len(v->raw_len), v->raw, show_more(v->raw_len), f.why);
            goto drop;
        }
    }
    tide_cbatch_set_pos(b, r, line);
    d->st.rows++;
    return 0;
drop:
    tide_cbatch_drop_last(b);
    return 0;
}

static bool blank(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
            return false;
    return true;
}

static int decode_jsonl(tide_decoder *d, const char *buf, size_t len, size_t *pos, size_t stop, bool eof,
                        tide_cbatch *b, tide_err *e)
{
    while (!tide_cbatch_full(b)) {
        if (*pos >= stop)
            return 0;
        if (*pos >= len)
            return eof ? 0 : TIDE_EAGAIN;
        const char *p = buf + *pos;
        const char *nl = memchr(p, '\n', len - *pos);
        size_t n;
        if (nl) {
            n = (size_t)(nl - p);
            *pos += n + 1;
        } else {
            if (!eof)
                return TIDE_EAGAIN;
            n = len - *pos;
            *pos = len;
        }
        uint64_t line = d->line++;
        if (n && p[n - 1] == '\r')
            n--;
        if (blank(p, n))
            continue;
        int rc = json_record(d, p, n, line, b, e);
        if (rc)
            return rc;
    }
    return 1;
}

int tide_decoder_decode(tide_decoder *d, const char *buf, size_t len, size_t *pos, bool eof,
                        tide_cbatch *out, tide_err *e)
{
    return tide_decoder_decode_range(d, buf, len, pos, SIZE_MAX, eof, out, e);
}

int tide_decoder_decode_range(tide_decoder *d, const char *buf, size_t len, size_t *pos, size_t stop,
                              bool eof, tide_cbatch *out, tide_err *e)
{
    int rc = check_batch(d, out, e);
    if (rc)
        return rc;
    if (!d->started) {
        /* skip a UTF-8 byte order mark at the very start of the input */
        size_t avail = len - *pos, k = avail < 3 ? avail : 3;
        bool prefix = k == 0 || memcmp(buf + *pos, "\xEF\xBB\xBF", k) == 0;
        if (prefix && k < 3 && !eof)
            return TIDE_EAGAIN; /* could still be a BOM */
        if (prefix && k == 3)
            *pos += 3;
        d->started = true;
    }
    if (d->o.format == TIDE_FORMAT_CSV)
        return decode_csv(d, buf, len, pos, stop, eof, out, e);
    return decode_jsonl(d, buf, len, pos, stop, eof, out, e);
}

/* ---- encoding ---- */

struct tide_encoder {
    const tide_schema *schema;
    tide_encode_opts o;
    uint32_t ncols;
    bool header_done;
    tide_buf keys;    /* JSON: "name": of every column, back to back */
    size_t *key_off;  /* [ncols + 1] offsets into keys */
    locale_t cloc;
    /* the last timestamp formatted (result rows repeat their window's
     * bounds row after row) */
    bool ts_have;
    int64_t ts_ms;
    size_t ts_len;
    char ts_txt[TIDE_TS_FORMAT_MAX + 2]; /* with room for the quotes */
};

int tide_encoder_create(tide_encoder **out, const tide_schema *schema, const tide_encode_opts *opts,
                        tide_err *e)
{
    int rc;
    tide_encoder *enc = calloc(1, sizeof *enc);
    if (!enc)
        goto nomem;
    enc->schema = schema;
    enc->o = *opts;
    if (!enc->o.delim)
        enc->o.delim = ',';
    if (opts->format != TIDE_FORMAT_CSV && opts->format != TIDE_FORMAT_JSONL) {
        rc = tide_err_set(e, TIDE_EINVAL, "encoder: unknown format %d", (int)opts->format);
        goto fail;
    }
    if (enc->o.delim == '"' || enc->o.delim == '\n' || enc->o.delim == '\r') {
        rc = tide_err_set(e, TIDE_EINVAL, "encoder: bad CSV delimiter");
        goto fail;
    }
    enc->ncols = (uint32_t)tide_schema_ncols(schema);
    if (opts->op_in_col && (opts->op_col >= enc->ncols ||
                            tide_schema_col(schema, opts->op_col)->type != TIDE_TYPE_STRING)) {
        rc = tide_err_set(e, TIDE_EINVAL, "encoder: op column %u is not a STRING column of the schema",
                          opts->op_col);
        goto fail;
    }
    enc->key_off = malloc((enc->ncols + 1) * sizeof *enc->key_off);
    if (!enc->key_off)
        goto nomem;
    for (uint32_t c = 0; c < enc->ncols; c++) {
        const tide_column *cd = tide_schema_col(schema, c);
        enc->key_off[c] = enc->keys.len;
        if (tide_json_write_string(&enc->keys, cd->name, cd->name_len) || tide_buf_putc(&enc->keys, ':'))
            goto nomem;
    }
    enc->key_off[enc->ncols] = enc->keys.len;
    enc->cloc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    if (!enc->cloc)
        goto nomem;
    *out = enc;
    return 0;
nomem:
    rc = tide_err_set(e, TIDE_ENOMEM, "encoder: out of memory");
fail:
    tide_encoder_free(enc);
    return rc;
}

void tide_encoder_free(tide_encoder *enc)
{
    if (!enc)
        return;
    if (enc->cloc)
        freelocale(enc->cloc);
    tide_buf_free(&enc->keys);
    free(enc->key_off);
    free(enc);
}

int tide_codec_write_double(tide_buf *out, double v)
{
    char tmp[40];
    int n = 0;
    if (isnan(v))
        n = snprintf(tmp, sizeof tmp, "nan");
    else if (isinf(v))
        n = snprintf(tmp, sizeof tmp, v < 0 ? "-inf" : "inf");
    else {
        /* %.Pg at the smallest P in 15..17 that reads back: any double whose
         * shortest form has <= 15 digits prints as that form at P = 15
         * (DBL_DIG), and at 16 or 17 the correctly rounded form is the
         * nearest, so it reads back whenever any form of that length does. */
        for (int prec = 15; prec <= 17; prec++) {
            n = snprintf(tmp, sizeof tmp, "%.*g", prec, v);
            if (prec == 17 || strtod(tmp, NULL) == v)
                break;
        }
    }
    return tide_buf_append(out, tmp, (size_t)n);
}

static int put_i64(tide_buf *out, int64_t v)
{
    /* two digits a step: "00" .. "99" */
    static const char pairs[201] = "00010203040506070809101112131415161718192021222324"
                                   "25262728293031323334353637383940414243444546474849"
                                   "50515253545556575859606162636465666768697071727374"
                                   "75767778798081828384858687888990919293949596979899";
    char tmp[24];
    char *p = tmp + sizeof tmp;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    while (u >= 100) {
        unsigned d = (unsigned)(u % 100) * 2;
        u /= 100;
        *--p = pairs[d + 1];
        *--p = pairs[d];
    }
    if (u >= 10) {
        *--p = pairs[u * 2 + 1];
        *--p = pairs[u * 2];
    } else {
        *--p = (char)('0' + u);
    }
    if (v < 0)
        *--p = '-';
    return tide_buf_append(out, p, (size_t)(tmp + sizeof tmp - p));
}

static int put_ts(tide_encoder *enc, tide_buf *out, int64_t ms, bool quoted)
{
    char *tmp = enc->ts_txt;
    if (!enc->ts_have || enc->ts_ms != ms) {
        enc->ts_len = tide_ts_format(ms, tmp + 1);
        enc->ts_ms = ms;
        enc->ts_have = true;
    }
    size_t n = enc->ts_len;
    if (!quoted)
        return tide_buf_append(out, tmp + 1, n);
    tmp[0] = '"';
    tmp[n + 1] = '"';
    return tide_buf_append(out, tmp, n + 2);
}

/* Whether the rows of b start with their op (see codec.h). */
static bool op_leads(const tide_encoder *enc, const tide_cbatch *b)
{
    return enc->o.op_first || (!enc->o.op_in_col && tide_cbatch_has_ops(b));
}

/* Column c holds the row's op instead of its cell. */
static bool op_here(const tide_encoder *enc, uint32_t c) { return enc->o.op_in_col && c == enc->o.op_col; }

static int csv_header(tide_encoder *enc, const tide_cbatch *b, tide_buf *out)
{
    int rc = 0;
    if (op_leads(enc, b))
        rc |= tide_csv_write_field(out, "op", 2, enc->o.delim) | tide_buf_putc(out, enc->o.delim);
    for (uint32_t c = 0; c < enc->ncols; c++) {
        const tide_column *cd = tide_schema_col(enc->schema, c);
        if (c)
            rc |= tide_buf_putc(out, enc->o.delim);
        rc |= tide_csv_write_field(out, cd->name, cd->name_len, enc->o.delim);
    }
    rc |= tide_buf_putc(out, '\n');
    return rc ? TIDE_ENOMEM : 0;
}

static int csv_row(tide_encoder *enc, const tide_cbatch *b, uint32_t r, tide_buf *out)
{
    int rc = 0;
    char delim = enc->o.delim;
    if (op_leads(enc, b))
        rc |= tide_buf_append(out, tide_op_name(tide_cbatch_op(b, r)), 2) | tide_buf_putc(out, delim);
    for (uint32_t c = 0; c < enc->ncols; c++) {
        if (c)
            rc |= tide_buf_putc(out, delim);
        if (op_here(enc, c)) {
            rc |= tide_buf_append(out, tide_op_name(tide_cbatch_op(b, r)), 2);
            continue;
        }
        if (tide_cbatch_is_null(b, c, r))
            continue;
        switch (tide_type_base(tide_cbatch_type(b, c))) {
        case TIDE_TYPE_DECIMAL: {
            char t[TIDE_DEC_TEXT_MAX];
            size_t l = tide_dec_format(tide_cbatch_dec(b, c, r), tide_dec_scale(tide_cbatch_type(b, c)), t);
            rc |= tide_buf_append(out, t, l);
            break;
        }
        case TIDE_TYPE_BOOLEAN:
            rc |= tide_cbatch_bool(b, c, r) ? tide_buf_append(out, "true", 4) : tide_buf_append(out, "false", 5);
            break;
        case TIDE_TYPE_BIGINT:
            rc |= put_i64(out, tide_cbatch_i64(b, c, r));
            break;
        case TIDE_TYPE_TIMESTAMP:
            rc |= put_ts(enc, out, tide_cbatch_i64(b, c, r), false);
            break;
        case TIDE_TYPE_DOUBLE:
            rc |= tide_codec_write_double(out, tide_cbatch_f64(b, c, r));
            break;
        case TIDE_TYPE_STRING: {
            tide_str s = tide_cbatch_str(b, c, r);
            if (s.len == 0)
                rc |= tide_buf_append(out, "\"\"", 2); /* not NULL */
            else
                rc |= tide_csv_write_field(out, s.ptr, s.len, delim);
            break;
        }
        default:
            break;
        }
    }
    rc |= tide_buf_putc(out, '\n');
    return rc ? TIDE_ENOMEM : 0;
}

static int json_row(tide_encoder *enc, const tide_cbatch *b, uint32_t r, tide_buf *out)
{
    int rc = tide_buf_putc(out, '{');
    bool first = true;
    if (op_leads(enc, b)) {
        rc |= tide_buf_append(out, "\"op\":\"", 6) | tide_buf_append(out, tide_op_name(tide_cbatch_op(b, r)), 2) |
              tide_buf_putc(out, '"');
        first = false;
    }
    for (uint32_t c = 0; c < enc->ncols; c++) {
        if (!first)
            rc |= tide_buf_putc(out, ',');
        first = false;
        rc |= tide_buf_append(out, enc->keys.data + enc->key_off[c], enc->key_off[c + 1] - enc->key_off[c]);
        if (op_here(enc, c)) {
            rc |= tide_buf_putc(out, '"') | tide_buf_append(out, tide_op_name(tide_cbatch_op(b, r)), 2) |
                  tide_buf_putc(out, '"');
            continue;
        }
        if (tide_cbatch_is_null(b, c, r)) {
            rc |= tide_buf_append(out, "null", 4);
            continue;
        }
        switch (tide_type_base(tide_cbatch_type(b, c))) {
        case TIDE_TYPE_DECIMAL: {
            char t[TIDE_DEC_TEXT_MAX];
            size_t l = tide_dec_format(tide_cbatch_dec(b, c, r), tide_dec_scale(tide_cbatch_type(b, c)), t);
            rc |= tide_buf_append(out, t, l);
            break;
        }
        case TIDE_TYPE_BOOLEAN:
            rc |= tide_cbatch_bool(b, c, r) ? tide_buf_append(out, "true", 4) : tide_buf_append(out, "false", 5);
            break;
        case TIDE_TYPE_BIGINT:
            rc |= put_i64(out, tide_cbatch_i64(b, c, r));
            break;
        case TIDE_TYPE_TIMESTAMP:
            rc |= put_ts(enc, out, tide_cbatch_i64(b, c, r), true);
            break;
        case TIDE_TYPE_DOUBLE: {
            double v = tide_cbatch_f64(b, c, r);
            if (isnan(v))
                rc |= tide_buf_append(out, "\"NaN\"", 5);
            else if (isinf(v))
                rc |= v > 0 ? tide_buf_append(out, "\"Infinity\"", 10) : tide_buf_append(out, "\"-Infinity\"", 11);
            else
                rc |= tide_codec_write_double(out, v);
            break;
        }
        case TIDE_TYPE_STRING: {
            tide_str s = tide_cbatch_str(b, c, r);
            rc |= tide_json_write_string(out, s.ptr, s.len);
            break;
        }
        default:
            break;
        }
    }
    rc |= tide_buf_append(out, "}\n", 2);
    return rc ? TIDE_ENOMEM : 0;
}

int tide_encoder_encode(tide_encoder *enc, const tide_cbatch *b, tide_buf *out, tide_err *e)
{
    return tide_encoder_encode_sel(enc, b, NULL, tide_cbatch_rows(b), out, e);
}

int tide_encoder_encode_sel(tide_encoder *enc, const tide_cbatch *b, const uint32_t *sel, uint32_t n,
                            tide_buf *out, tide_err *e)
{
    int rc = 0;
    locale_t old = uselocale(enc->cloc);
    if (enc->o.format == TIDE_FORMAT_CSV && enc->o.header && !enc->header_done) {
        rc = csv_header(enc, b, out);
        if (rc)
            goto done;
        enc->header_done = true;
    }
    for (uint32_t i = 0; i < n && !rc; i++) {
        uint32_t r = sel ? sel[i] : i;
        rc = enc->o.format == TIDE_FORMAT_CSV ? csv_row(enc, b, r, out) : json_row(enc, b, r, out);
    }
done:
    uselocale(old);
    if (rc)
        return tide_err_set(e, rc, "encoder: out of memory");
    return 0;
}

int tide_codec_option(const char *key, const char *value, tide_format *format, bool *header,
                      char *delim)
{
    if (!strcmp(key, "format")) {
        if (!strcmp(value, "csv"))
            *format = TIDE_FORMAT_CSV;
        else if (!strcmp(value, "json") || !strcmp(value, "jsonl"))
            *format = TIDE_FORMAT_JSONL;
        else
            return TIDE_EINVAL;
        return 1;
    }
    if (!strcmp(key, "csv.header")) {
        if (!strcasecmp(value, "true") || !strcmp(value, "1"))
            *header = true;
        else if (!strcasecmp(value, "false") || !strcmp(value, "0"))
            *header = false;
        else
            return TIDE_EINVAL;
        return 1;
    }
    if (!strcmp(key, "csv.delimiter")) {
        if (strlen(value) != 1)
            return TIDE_EINVAL;
        *delim = value[0];
        return 1;
    }
    return 0;
}
