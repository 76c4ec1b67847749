/*
 * csv.c - the RFC 4180 record lexer (see csv.h for the grammar).
 *
 * Two paths.  The fast path handles a line without any '"': find the LF
 * with memchr, then the delimiters with memchr; every field points into the
 * caller's buffer.  Any '"' in the line sends the record to the slow path, a
 * small state machine that may run over several lines (quoted newlines).
 * The slow path appends the unescaped text of fields with "" escapes to the
 * scratch buffer; since that buffer may move while it grows, such fields are
 * recorded with ptr == NULL and pointed into the scratch buffer once the
 * record is complete (they were appended in field order, back to back).
 *
 * Line numbers are counted only per record (one LF) and, in the slow path,
 * by counting the LFs of the record; error positions are computed from the
 * record's start when an error happens.
 */
#include "data/csv.h"

#include <stdlib.h>
#include <string.h>

void tide_csv_init(tide_csv *c, const char *name, char delim)
{
    memset(c, 0, sizeof *c);
    c->delim = delim;
    c->name = name;
    c->line = 1;
}

void tide_csv_free(tide_csv *c)
{
    if (!c)
        return;
    free(c->fields);
    tide_buf_free(&c->scratch);
    c->fields = NULL;
    c->fields_cap = 0;
}

void tide_csv_set_line(tide_csv *c, uint64_t line) { c->line = line; }

void tide_csv_error_pos(const tide_csv *c, uint64_t *line, uint64_t *col)
{
    *line = c->err_line;
    *col = c->err_col;
}

static uint64_t count_lf(const char *p, const char *end)
{
    uint64_t n = 0;
    while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        n++;
        p++;
    }
    return n;
}

/* Line and column of `at`, in a text that starts at `start` on line `line`. */
static void position_of(const char *start, const char *at, uint64_t line, uint64_t *out_line,
                        uint64_t *out_col)
{
    const char *bol = start;
    for (const char *p = start; p < at; p++) {
        if (*p == '\n') {
            line++;
            bol = p + 1;
        }
    }
    *out_line = line;
    *out_col = (uint64_t)(at - bol) + 1;
}

static int grow_fields(tide_csv *c, size_t need)
{
    if (need <= c->fields_cap)
        return 0;
    size_t cap = c->fields_cap ? c->fields_cap * 2 : 16;
    while (cap < need)
        cap *= 2;
    tide_csv_field *f = realloc(c->fields, cap * sizeof *f);
    if (!f)
        return TIDE_ENOMEM;
    c->fields = f;
    c->fields_cap = cap;
    return 0;
}

static int add_field(tide_csv *c, size_t *n, const char *ptr, size_t len, size_t raw_off, bool quoted)
{
    if (*n >= c->fields_cap && grow_fields(c, *n + 1) != 0)
        return TIDE_ENOMEM;
    tide_csv_field *f = &c->fields[(*n)++];
    f->ptr = ptr;
    f->len = len;
    f->raw_off = (uint32_t)raw_off;
    f->quoted = quoted;
    return 0;
}

/* Report a parse error at `at` in the record starting at `rs`, and skip to
 * the end of the line holding `at` (TIDE_EAGAIN if that line is not complete
 * yet and more input may come). */
static int fail_at(tide_csv *c, const char *buf, size_t len, size_t *pos, bool eof,
                   const char *rs, const char *at, const char *why, tide_err *e)
{
    const char *end = buf + len;
    const char *skip_to;
    const char *nl = at < end ? memchr(at, '\n', (size_t)(end - at)) : NULL;
    if (nl)
        skip_to = nl + 1;
    else if (eof)
        skip_to = end;
    else
        return TIDE_EAGAIN;
    position_of(rs, at, c->line, &c->err_line, &c->err_col);
    c->line += count_lf(rs, skip_to);
    *pos = (size_t)(skip_to - buf);
    return tide_err_set(e, TIDE_EPARSE, "%s:%llu:%llu: %s", c->name ? c->name : "csv",
                        (unsigned long long)c->err_line, (unsigned long long)c->err_col, why);
}

static int unclosed(tide_csv *c, const char *buf, size_t len, size_t *pos, const char *rs,
                    const char *quote, tide_err *e)
{
    position_of(rs, quote, c->line, &c->err_line, &c->err_col);
    c->line += count_lf(rs, buf + len);
    *pos = len;
    return tide_err_set(e, TIDE_EPARSE, "%s:%llu:%llu: unterminated quoted field",
                        c->name ? c->name : "csv", (unsigned long long)c->err_line,
                        (unsigned long long)c->err_col);
}

/* The slow path: a record with quotes somewhere, starting at buf[*pos]. */
static int lex_quoted(tide_csv *c, const char *buf, size_t len, size_t *pos, bool eof,
                      tide_csv_record *rec, tide_err *e)
{
    const char *rs = buf + *pos, *end = buf + len;
    const char *q = rs;
    const char *rec_end;  /* end of the raw span */
    const char *next;     /* first byte after the terminator */
    const char delim = c->delim;
    size_t n = 0;
    tide_buf_reset(&c->scratch);

    for (;;) {
        const char *fstart = q;
        if (q < end && *q == '"') {
            const char *s = q + 1, *content = q + 1, *close;
            bool copying = false;
            size_t soff = c->scratch.len;
            for (;;) {
                const char *qq = memchr(s, '"', (size_t)(end - s));
                if (!qq)
                    return eof ? unclosed(c, buf, len, pos, rs, fstart, e) : TIDE_EAGAIN;
                if (qq + 1 >= end && !eof)
                    return TIDE_EAGAIN; /* a "" escape may straddle the block */
                if (qq + 1 < end && qq[1] == '"') {
                    copying = true;
                    if (tide_buf_append(&c->scratch, s, (size_t)(qq + 1 - s)) != 0)
                        return tide_err_set(e, TIDE_ENOMEM, "%s: out of memory", c->name ? c->name : "csv");
                    s = qq + 2;
                    continue;
                }
                close = qq;
                break;
            }
            if (copying) {
                if (tide_buf_append(&c->scratch, s, (size_t)(close - s)) != 0)
                    return tide_err_set(e, TIDE_ENOMEM, "%s: out of memory", c->name ? c->name : "csv");
                if (add_field(c, &n, NULL, c->scratch.len - soff, (size_t)(fstart - rs), true) != 0)
                    return tide_err_set(e, TIDE_ENOMEM, "%s: out of memory", c->name ? c->name : "csv");
            } else if (add_field(c, &n, content, (size_t)(close - content), (size_t)(fstart - rs), true) != 0) {
                return tide_err_set(e, TIDE_ENOMEM, "%s: out of memory", c->name ? c->name : "csv");
            }
            q = close + 1;
            if (q >= end) {
                if (!eof)
                    return TIDE_EAGAIN;
                rec_end = next = end;
                break;
            }
            if (*q == delim) {
                q++;
                continue;
            }
            if (*q == '\n') {
                rec_end = q;
                next = q + 1;
                break;
            }
            if (*q == '\r') {
                if (q + 1 < end && q[1] == '\n') {
                    rec_end = q;
                    next = q + 2;
                    break;
                }
                if (q + 1 >= end) {
                    if (!eof)
                        return TIDE_EAGAIN;
                    rec_end = q;
                    next = end;
                    break;
                }
            }
            return fail_at(c, buf, len, pos, eof, rs, q, "unexpected character after a closing quote", e);
        } else {
            const char *s = q;
            while (s < end && *s != delim && *s != '\n' && *s != '"')
                s++;
            if (s < end && *s == '"')
                return fail_at(c, buf, len, pos, eof, rs, s, "stray quote in an unquoted field", e);
            if (s >= end && !eof)
                return TIDE_EAGAIN;
            const char *fe = s;
            if ((s >= end || *s == '\n') && fe > q && fe[-1] == '\r')
                fe--;
            if (add_field(c, &n, q, (size_t)(fe - q), (size_t)(fstart - rs), false) != 0)
                return tide_err_set(e, TIDE_ENOMEM, "%s: out of memory", c->name ? c->name : "csv");
            if (s < end && *s == delim) {
                q = s + 1;
                continue;
            }
            rec_end = fe;
            next = s < end ? s + 1 : end;
            break;
        }
    }

    /* Point the unescaped fields into the (now stable) scratch buffer. */
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        if (!c->fields[i].ptr) {
            c->fields[i].ptr = (const char *)c->scratch.data + off;
            off += c->fields[i].len;
        }
    }
    rec->fields = c->fields;
    rec->nfields = n;
    rec->raw = rs;
    rec->raw_len = (size_t)(rec_end - rs);
    rec->line = c->line;
    c->line += count_lf(rs, next);
    if (next == end && (next == rs || next[-1] != '\n'))
        c->line++; /* the last line had no terminator: count it anyway */
    *pos = (size_t)(next - buf);
    return 1;
}

int tide_csv_next(tide_csv *c, const char *buf, size_t len, size_t *pos, bool eof,
                  tide_csv_record *rec, tide_err *e)
{
    size_t start = *pos;
    if (start >= len)
        return eof ? 0 : TIDE_EAGAIN;
    const char *p = buf + start, *end = buf + len;
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *le;
    if (nl)
        le = nl;
    else if (eof)
        le = end;
    else
        return TIDE_EAGAIN;
    if (memchr(p, '"', (size_t)(le - p)))
        return lex_quoted(c, buf, len, pos, eof, rec, e);

    const char *re = le;
    if (re > p && re[-1] == '\r')
        re--;
    const char delim = c->delim;
    size_t n = 0;
    const char *f = p;
    for (;;) {
        const char *d = memchr(f, delim, (size_t)(re - f));
        const char *fe = d ? d : re;
        if (n >= c->fields_cap && grow_fields(c, n + 1) != 0)
            return tide_err_set(e, TIDE_ENOMEM, "%s: out of memory", c->name ? c->name : "csv");
        tide_csv_field *fl = &c->fields[n++];
        fl->ptr = f;
        fl->len = (size_t)(fe - f);
        fl->raw_off = (uint32_t)(f - p);
        fl->quoted = false;
        if (!d)
            break;
        f = d + 1;
    }
    rec->fields = c->fields;
    rec->nfields = n;
    rec->raw = p;
    rec->raw_len = (size_t)(re - p);
    rec->line = c->line++;
    *pos = nl ? (size_t)(nl + 1 - buf) : len;
    return 1;
}

void tide_csv_field_pos(const tide_csv_record *rec, size_t i, uint64_t *line, uint64_t *col)
{
    const char *at = rec->raw + (i < rec->nfields ? rec->fields[i].raw_off : rec->raw_len);
    position_of(rec->raw, at, rec->line, line, col);
}

long tide_csv_find(const tide_csv_record *rec, const char *name, size_t len)
{
    for (size_t i = 0; i < rec->nfields; i++)
        if (rec->fields[i].len == len && memcmp(rec->fields[i].ptr, name, len) == 0)
            return (long)i;
    return -1;
}

bool tide_csv_needs_quotes(const void *s, size_t len, char delim)
{
    const unsigned char *p = s;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = p[i];
        if (ch == (unsigned char)delim || ch == '"' || ch == '\n' || ch == '\r')
            return true;
    }
    return false;
}

int tide_csv_write_field(tide_buf *out, const void *s, size_t len, char delim)
{
    if (!tide_csv_needs_quotes(s, len, delim))
        return tide_buf_append(out, s, len);
    const char *p = s, *end = p + len;
    if (tide_buf_reserve(out, len + 2 + 8) != 0)
        return TIDE_ENOMEM;
    if (tide_buf_putc(out, '"') != 0)
        return TIDE_ENOMEM;
    while (p < end) {
        const char *qq = memchr(p, '"', (size_t)(end - p));
        const char *stop = qq ? qq + 1 : end;
        if (tide_buf_append(out, p, (size_t)(stop - p)) != 0)
            return TIDE_ENOMEM;
        if (qq && tide_buf_putc(out, '"') != 0)
            return TIDE_ENOMEM;
        p = stop;
    }
    return tide_buf_putc(out, '"');
}
