/*
 * json.c - the JSON object lexer and the string writer (see json.h).
 *
 * A recursive-descent parser over [p, end).  The top-level object's fields
 * are collected into j->fields; nested objects and arrays are only
 * validated (skip_value) and kept as raw spans.  Strings with escapes are
 * unescaped into j->scratch, which is reserved to the input's length before
 * parsing: unescaping never makes a string longer, so the buffer never
 * moves during a parse and pointers into it stay valid.
 */
#include "data/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_MAX_DEPTH 256

typedef struct parser {
    const char *start, *p, *end;
    tide_json *j;
    const char *where;
    tide_err *e;
} parser;

void tide_json_init(tide_json *j) { memset(j, 0, sizeof *j); }

void tide_json_free(tide_json *j)
{
    if (!j)
        return;
    free(j->fields);
    tide_buf_free(&j->scratch);
    memset(j, 0, sizeof *j);
}

uint64_t tide_json_error_col(const tide_json *j) { return j->err_col; }

static int fail(parser *ps, const char *at, const char *why)
{
    uint64_t col = (uint64_t)(at - ps->start) + 1;
    ps->j->err_col = col;
    if (ps->where)
        return tide_err_set(ps->e, TIDE_EPARSE, "%s:%llu: %s", ps->where, (unsigned long long)col, why);
    return tide_err_set(ps->e, TIDE_EPARSE, "column %llu: %s", (unsigned long long)col, why);
}

static inline void skip_ws(parser *ps)
{
    const char *p = ps->p, *end = ps->end;
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    ps->p = p;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Four hex digits at p (p + 4 <= end checked by the caller); -1 if bad. */
static long hex4(const char *p)
{
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval((unsigned char)p[i]);
        if (h < 0)
            return -1;
        v = v << 4 | h;
    }
    return v;
}

static size_t put_utf8(unsigned char *o, unsigned long cp)
{
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | cp >> 6);
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | cp >> 12);
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | cp >> 18);
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* A string at ps->p (on its opening quote).  With `out` non-NULL, the
 * unescaped text is returned there (pointing into the input when there are
 * no escapes, else into the scratch buffer); with NULL it is only checked. */
static int parse_string(parser *ps, const char **out, size_t *out_len)
{
    const char *p = ps->p + 1, *end = ps->end;
    const char *run = p;
    unsigned char *o = NULL; /* write position in scratch once an escape was seen */
    unsigned char *o_start = NULL;
    for (;;) {
        while (p < end && *p != '"' && *p != '\\' && (unsigned char)*p >= 0x20)
            p++;
        if (p >= end)
            return fail(ps, ps->p, "unterminated string");
        if (*p == '"')
            break;
        if ((unsigned char)*p < 0x20)
            return fail(ps, p, "control character in a string (must be escaped)");
        /* a backslash */
        if (out && !o) {
            o_start = o = ps->j->scratch.data + ps->j->scratch.len;
        }
        if (o) {
            memcpy(o, run, (size_t)(p - run));
            o += p - run;
        }
        if (p + 1 >= end)
            return fail(ps, p, "unterminated string");
        char c = p[1];
        unsigned char ch;
        switch (c) {
        case '"': ch = '"'; break;
        case '\\': ch = '\\'; break;
        case '/': ch = '/'; break;
        case 'b': ch = '\b'; break;
        case 'f': ch = '\f'; break;
        case 'n': ch = '\n'; break;
        case 'r': ch = '\r'; break;
        case 't': ch = '\t'; break;
        case 'u': {
            if (end - p < 6)
                return fail(ps, p, "truncated \\u escape");
            long cp = hex4(p + 2);
            if (cp < 0)
                return fail(ps, p, "bad \\u escape (needs four hex digits)");
            const char *esc = p;
            p += 6;
            if (cp >= 0xDC00 && cp <= 0xDFFF)
                return fail(ps, esc, "unpaired low surrogate in \\u escape");
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (end - p < 6 || p[0] != '\\' || p[1] != 'u')
                    return fail(ps, esc, "unpaired high surrogate in \\u escape");
                long lo = hex4(p + 2);
                if (lo < 0xDC00 || lo > 0xDFFF)
                    return fail(ps, esc, "unpaired high surrogate in \\u escape");
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                p += 6;
            }
            if (o)
                o += put_utf8(o, (unsigned long)cp);
            run = p;
            continue;
        }
        default:
            return fail(ps, p, "bad escape in a string");
        }
        if (o)
            *o++ = ch;
        p += 2;
        run = p;
    }
    if (out) {
        if (o) {
            memcpy(o, run, (size_t)(p - run));
            o += p - run;
            *out = (const char *)o_start;
            *out_len = (size_t)(o - o_start);
            ps->j->scratch.len += *out_len;
        } else {
            *out = ps->p + 1;
            *out_len = (size_t)(p - (ps->p + 1));
        }
    }
    ps->p = p + 1;
    return 0;
}

static int parse_number(parser *ps, tide_json_value *v)
{
    const char *s = ps->p, *p = s, *end = ps->end;
    bool neg = false, is_int = true, overflow = false;
    uint64_t mag = 0;
    if (p < end && *p == '-') {
        neg = true;
        p++;
    }
    if (p >= end || *p < '0' || *p > '9')
        return fail(ps, s, "bad number");
    if (*p == '0') {
        p++;
        if (p < end && *p >= '0' && *p <= '9')
            return fail(ps, s, "bad number (leading zero)");
    } else {
        while (p < end && *p >= '0' && *p <= '9') {
            unsigned d = (unsigned)(*p - '0');
            if (mag > (UINT64_MAX - d) / 10)
                overflow = true;
            else
                mag = mag * 10 + d;
            p++;
        }
    }
    if (p < end && *p == '.') {
        is_int = false;
        p++;
        if (p >= end || *p < '0' || *p > '9')
            return fail(ps, p, "bad number (digits expected after '.')");
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        is_int = false;
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p >= end || *p < '0' || *p > '9')
            return fail(ps, p, "bad number (digits expected in the exponent)");
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    if (is_int && !overflow && (neg ? mag <= (uint64_t)INT64_MAX + 1 : mag <= (uint64_t)INT64_MAX)) {
        v->is_int = true;
        v->i = neg ? (int64_t)(0 - mag) : (int64_t)mag;
        v->d = (double)v->i;
    } else {
        v->is_int = false;
        v->i = 0;
        char tmp[64];
        size_t n = (size_t)(p - s);
        if (n < sizeof tmp) {
            memcpy(tmp, s, n);
            tmp[n] = '\0';
            v->d = strtod(tmp, NULL);
        } else {
            char *big = malloc(n + 1);
            if (!big)
                return tide_err_set(ps->e, TIDE_ENOMEM, "out of memory");
            memcpy(big, s, n);
            big[n] = '\0';
            v->d = strtod(big, NULL);
            free(big);
        }
    }
    v->type = TIDE_JSON_NUMBER;
    v->text = s;
    v->len = (size_t)(p - s);
    ps->p = p;
    return 0;
}

static int expect_literal(parser *ps, const char *lit, size_t n)
{
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, lit, n) != 0)
        return fail(ps, ps->p, "unexpected character (expected a value)");
    ps->p += n;
    return 0;
}

/* Validate and skip one value (any type); used for nested values. */
static int skip_value(parser *ps, int depth)
{
    skip_ws(ps);
    if (ps->p >= ps->end)
        return fail(ps, ps->p, "unexpected end (expected a value)");
    switch (*ps->p) {
    case '"':
        return parse_string(ps, NULL, NULL);
    case 't':
        return expect_literal(ps, "true", 4);
    case 'f':
        return expect_literal(ps, "false", 5);
    case 'n':
        return expect_literal(ps, "null", 4);
    case '{':
    case '[': {
        char close = *ps->p == '{' ? '}' : ']';
        bool obj = close == '}';
        if (depth >= JSON_MAX_DEPTH)
            return fail(ps, ps->p, "nesting too deep");
        ps->p++;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == close) {
            ps->p++;
            return 0;
        }
        for (;;) {
            int rc;
            if (obj) {
                skip_ws(ps);
                if (ps->p >= ps->end || *ps->p != '"')
                    return fail(ps, ps->p, "expected a field name string");
                if ((rc = parse_string(ps, NULL, NULL)) != 0)
                    return rc;
                skip_ws(ps);
                if (ps->p >= ps->end || *ps->p != ':')
                    return fail(ps, ps->p, "expected ':' after a field name");
                ps->p++;
            }
            if ((rc = skip_value(ps, depth + 1)) != 0)
                return rc;
            skip_ws(ps);
            if (ps->p < ps->end && *ps->p == ',') {
                ps->p++;
                continue;
            }
            if (ps->p < ps->end && *ps->p == close) {
                ps->p++;
                return 0;
            }
            return fail(ps, ps->p, obj ? "expected ',' or '}'" : "expected ',' or ']'");
        }
    }
    default: {
        tide_json_value v;
        if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9'))
            return parse_number(ps, &v);
        return fail(ps, ps->p, "unexpected character (expected a value)");
    }
    }
}

static int parse_value(parser *ps, tide_json_value *v)
{
    const char *s = ps->p;
    int rc = 0;
    memset(v, 0, sizeof *v);
    v->col = (uint32_t)(s - ps->start) + 1;
    switch (*s) {
    case '"':
        v->type = TIDE_JSON_STRING;
        rc = parse_string(ps, &v->text, &v->len);
        break;
    case '{':
    case '[':
        v->type = *s == '{' ? TIDE_JSON_OBJECT : TIDE_JSON_ARRAY;
        rc = skip_value(ps, 1);
        v->text = s;
        v->len = (size_t)(ps->p - s);
        break;
    case 't':
        v->type = TIDE_JSON_TRUE;
        rc = expect_literal(ps, "true", 4);
        v->text = s;
        v->len = 4;
        break;
    case 'f':
        v->type = TIDE_JSON_FALSE;
        rc = expect_literal(ps, "false", 5);
        v->text = s;
        v->len = 5;
        break;
    case 'n':
        v->type = TIDE_JSON_NULL;
        rc = expect_literal(ps, "null", 4);
        v->text = s;
        v->len = 4;
        break;
    default:
        if (*s == '-' || (*s >= '0' && *s <= '9'))
            rc = parse_number(ps, v);
        else
            rc = fail(ps, s, "unexpected character (expected a value)");
    }
    v->raw = s;
    v->raw_len = (size_t)(ps->p - s);
    return rc;
}

static int add_field(tide_json *j, tide_json_field **out)
{
    if (j->nfields == j->cap) {
        size_t cap = j->cap ? j->cap * 2 : 16;
        tide_json_field *f = realloc(j->fields, cap * sizeof *f);
        if (!f)
            return TIDE_ENOMEM;
        j->fields = f;
        j->cap = cap;
    }
    *out = &j->fields[j->nfields++];
    return 0;
}

static int parse_top(tide_json *j, const char *s, size_t len, const char *where, tide_err *e)
{
    parser ps = {s, s, s + len, j, where, e};
    int rc;
    skip_ws(&ps);
    if (ps.p >= ps.end || *ps.p != '{')
        return fail(&ps, ps.p, ps.p >= ps.end ? "empty input (expected an object)" : "expected '{'");
    ps.p++;
    skip_ws(&ps);
    if (ps.p < ps.end && *ps.p == '}') {
        ps.p++;
        goto trailing;
    }
    for (;;) {
        tide_json_field *f;
        skip_ws(&ps);
        if (ps.p >= ps.end || *ps.p != '"')
            return fail(&ps, ps.p, "expected a field name string");
        if (add_field(j, &f) != 0)
            return tide_err_set(e, TIDE_ENOMEM, "out of memory");
        if ((rc = parse_string(&ps, &f->name, &f->name_len)) != 0)
            return rc;
        skip_ws(&ps);
        if (ps.p >= ps.end || *ps.p != ':') {
            return fail(&ps, ps.p, "expected ':' after a field name");
        }
        ps.p++;
        skip_ws(&ps);
        if (ps.p >= ps.end) {
            return fail(&ps, ps.p, "unexpected end (expected a value)");
        }
        if ((rc = parse_value(&ps, &f->value)) != 0)
            return rc;
        skip_ws(&ps);
        if (ps.p < ps.end && *ps.p == ',') {
            ps.p++;
            continue;
        }
        if (ps.p < ps.end && *ps.p == '}') {
            ps.p++;
            break;
        }
        return fail(&ps, ps.p, ps.p >= ps.end ? "unexpected end (expected ',' or '}')" : "expected ',' or '}'");
    }
trailing:
    skip_ws(&ps);
    if (ps.p < ps.end)
        return fail(&ps, ps.p, "unexpected text after the object");
    return 0;
}

int tide_json_parse_object(tide_json *j, const char *s, size_t len, const char *where, tide_err *e)
{
    j->nfields = 0;
    j->err_col = 0;
    tide_buf_reset(&j->scratch);
    if (tide_buf_reserve(&j->scratch, len + 1) != 0)
        return tide_err_set(e, TIDE_ENOMEM, "out of memory");
    int rc = parse_top(j, s, len, where, e);
    if (rc != 0)
        j->nfields = 0; /* a failed parse leaves no fields behind */
    return rc;
}

const tide_json_value *tide_json_get(const tide_json *j, const char *name, size_t len)
{
    for (size_t i = j->nfields; i-- > 0;) {
        const tide_json_field *f = &j->fields[i];
        if (f->name_len == len && memcmp(f->name, name, len) == 0)
            return &f->value;
    }
    return NULL;
}

/* Length of the valid UTF-8 sequence at p (1..4), or 0 if invalid. */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end)
{
    unsigned char c = p[0];
    size_t n;
    unsigned long cp;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if ((size_t)(end - p) < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

int tide_json_write_string(tide_buf *out, const void *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = s, *end = p + len, *run = p;
    if (tide_buf_reserve(out, len + 2) != 0 || tide_buf_putc(out, '"') != 0)
        return TIDE_ENOMEM;
    while (p < end) {
        unsigned char c = *p;
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            p++;
            continue;
        }
        size_t seq = 0;
        if (c >= 0x80 && (seq = utf8_seq(p, end)) != 0) {
            p += seq;
            continue;
        }
        if (tide_buf_append(out, run, (size_t)(p - run)) != 0)
            return TIDE_ENOMEM;
        char esc[8];
        size_t n = 2;
        esc[0] = '\\';
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        default:
            if (c < 0x20) {
                esc[1] = 'u';
                esc[2] = '0';
                esc[3] = '0';
                esc[4] = hex[c >> 4];
                esc[5] = hex[c & 15];
                n = 6;
            } else { /* not valid UTF-8: U+FFFD */
                esc[0] = (char)0xEF;
                esc[1] = (char)0xBF;
                esc[2] = (char)0xBD;
                n = 3;
            }
        }
        if (tide_buf_append(out, esc, n) != 0)
            return TIDE_ENOMEM;
        p++;
        run = p;
    }
    if (tide_buf_append(out, run, (size_t)(p - run)) != 0 || tide_buf_putc(out, '"') != 0)
        return TIDE_ENOMEM;
    return 0;
}
