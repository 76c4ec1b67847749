/*
 * parser.c - recursive descent over the tokens of sql/lexer.h.
 *
 * One function per grammar rule (parser.h has the grammar); expressions use
 * precedence climbing (parse_expr_prec).  Grammar actions only call the
 * builders of sql/ast.h.  Every rule returns its node, or NULL after
 * recording the first error in p->err; callers just propagate the NULL.
 *
 * The parser keeps the current token and up to two tokens of lookahead
 * (`name . *` in a select list needs two).  A lexical error is an ERROR
 * token: it matches no rule, and the first rule that trips over it reports
 * the lexer's message at the token's position.
 */
#include "sql/parser.h"

#include "sql/lexer.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct parser {
    const char *src;
    size_t len;
    tide_sql_lexer lx;
    tide_sql_token tok;   /* the current token */
    tide_sql_token la[2]; /* lookahead */
    int nla;
    size_t prev_end; /* byte offset just past the last consumed token */
    int depth;       /* nesting of parentheses, prefixes, subqueries */
    tide_sql_script *s;
    tide_sql_error *err;
} parser;

/* ---- tokens --------------------------------------------------------- */

static void advance(parser *p)
{
    p->prev_end = p->tok.off + p->tok.len;
    if (p->tok.kind == TIDE_SQL_TOK_EOF)
        return;
    if (p->nla) {
        p->tok = p->la[0];
        p->la[0] = p->la[1];
        p->nla--;
    } else {
        tide_sql_lex_next(&p->lx, &p->tok);
    }
}

/* The token `n` (1 or 2) places after the current one. */
static const tide_sql_token *peek(parser *p, int n)
{
    if (n < 1 || n > 2)
        n = 1;
    while (p->nla < n) {
        const tide_sql_token *last = p->nla > 0 ? &p->la[p->nla - 1] : &p->tok;
        if (last->kind == TIDE_SQL_TOK_EOF) {
            p->la[p->nla] = *last;
        } else {
            tide_sql_lex_next(&p->lx, &p->la[p->nla]);
        }
        p->nla++;
    }
    return &p->la[n - 1];
}

static bool is(const parser *p, tide_sql_tok_kind k)
{
    return p->tok.kind == k;
}
static bool is_kw(const parser *p, tide_sql_kw kw)
{
    return p->tok.kind == TIDE_SQL_TOK_WORD && p->tok.kw == kw;
}
static bool tok_is_kw(const tide_sql_token *t, tide_sql_kw kw)
{
    return t->kind == TIDE_SQL_TOK_WORD && t->kw == kw;
}

static bool accept(parser *p, tide_sql_tok_kind k)
{
    if (!is(p, k))
        return false;
    advance(p);
    return true;
}

static bool accept_kw(parser *p, tide_sql_kw kw)
{
    if (!is_kw(p, kw))
        return false;
    advance(p);
    return true;
}

/* Whether the token can be a name: a quoted identifier or a word that is
 * not a reserved keyword. */
static bool tok_is_name(const tide_sql_token *t)
{
    return t->kind == TIDE_SQL_TOK_QUOTED_IDENT ||
           (t->kind == TIDE_SQL_TOK_WORD && !tide_sql_lex_kw_reserved(t->kw));
}

/* Whether the current word is `w` (case-insensitive): for the names the
 * grammar knows that are not keywords (types, window functions). */
static bool word_is(const tide_sql_token *t, const char *src, const char *w)
{
    size_t n = strlen(w);
    return t->kind == TIDE_SQL_TOK_WORD && t->len == n && strncasecmp(src + t->off, w, n) == 0;
}

/* ---- errors --------------------------------------------------------- */

/* A short description of a token for "found ...". */
static void describe(const parser *p, const tide_sql_token *t, char *buf, size_t cap)
{
    const char *text = p->src + t->off;
    size_t n = t->len;
    const char *prefix = "";
    if (t->kind == TIDE_SQL_TOK_EOF) {
        snprintf(buf, cap, "end of input");
        return;
    }
    if (t->kind == TIDE_SQL_TOK_STRING)
        prefix = "string ";
    bool cut = n > 40;
    if (cut)
        n = 37;
    /* do not cut a UTF-8 sequence in half */
    while (cut && n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
        n--;
    if (t->kind == TIDE_SQL_TOK_STRING)
        snprintf(buf, cap, "%s%.*s%s", prefix, (int)n, text, cut ? "..." : "");
    else
        snprintf(buf, cap, "'%.*s%s'", (int)n, text, cut ? "..." : "");
}

static void *fail_at(parser *p, const tide_sql_token *t, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void *fail_at(parser *p, const tide_sql_token *t, int code, const char *fmt, ...)
{
    tide_sql_error *e = p->err;
    if (e->code)
        return NULL;
    e->code = code;
    e->line = t->line;
    e->col = t->col;
    e->off = t->off;
    if (t->kind == TIDE_SQL_TOK_ERROR && code == TIDE_EPARSE) {
        /* the lexer's complaint is the real one */
        unsigned char c = t->len ? (unsigned char)p->src[t->off] : 0;
        if (t->len == 0 || strcmp(t->err, "unexpected character") != 0)
            snprintf(e->msg, sizeof e->msg, "%s", t->err);
        else if (c < 0x20 || c == 0x7f)
            snprintf(e->msg, sizeof e->msg, "%s (byte 0x%02X)", t->err, c);
        else
            snprintf(e->msg, sizeof e->msg, "%s '%.*s'", t->err, (int)t->len, p->src + t->off);
        return NULL;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return NULL;
}

#define fail(p, ...) fail_at((p), &(p)->tok, TIDE_EPARSE, __VA_ARGS__)

/* "expected <what>, found <current token>" */
static void *expected(parser *p, const char *what)
{
    char found[64];
    describe(p, &p->tok, found, sizeof found);
    return fail(p, "expected %s, found %s", what, found);
}

static void *oom(parser *p)
{
    return fail_at(p, &p->tok, TIDE_ENOMEM, "out of memory");
}

static bool expect(parser *p, tide_sql_tok_kind k, const char *what)
{
    if (accept(p, k))
        return true;
    expected(p, what);
    return false;
}

static bool expect_kw(parser *p, tide_sql_kw kw, const char *what)
{
    if (accept_kw(p, kw))
        return true;
    expected(p, what);
    return false;
}

static bool push(parser *p, tide_sql_vec *v, void *item)
{
    if (!item)
        return false; /* error already recorded */
    if (tide_sql_vec_push(p->s, v, item) != 0) {
        oom(p);
        return false;
    }
    return true;
}

/* Enter / leave a nesting construct. */
static bool enter(parser *p, const char *what)
{
    if (++p->depth > TIDE_SQL_MAX_DEPTH) {
        fail(p, "%s nested too deeply (more than %d levels)", what, TIDE_SQL_MAX_DEPTH);
        return false;
    }
    return true;
}
static void leave(parser *p)
{
    p->depth--;
}

/* ---- positions ------------------------------------------------------ */

static tide_sql_pos tok_pos(const tide_sql_token *t)
{
    return (tide_sql_pos){t->line, t->col, t->off, t->len};
}

/* From `start` to the end of the last consumed token. */
static tide_sql_pos span(const parser *p, tide_sql_pos start)
{
    start.len = p->prev_end > start.off ? p->prev_end - start.off : 0;
    return start;
}

/* Builders return NULL when out of memory; checks the height bound too. */
static tide_sql_expr *chk_expr(parser *p, tide_sql_expr *e)
{
    if (!e)
        return p->err->code ? NULL : oom(p);
    if (e->height > TIDE_SQL_MAX_HEIGHT)
        return fail_at(p, &p->tok, TIDE_EPARSE, "expression too complex (more than %d levels)",
                       TIDE_SQL_MAX_HEIGHT);
    return e;
}

static tide_sql_from *chk_from(parser *p, tide_sql_from *f)
{
    if (!f)
        return p->err->code ? NULL : oom(p);
    if (f->height > TIDE_SQL_MAX_HEIGHT)
        return fail_at(p, &p->tok, TIDE_EPARSE, "query too complex (more than %d levels)",
                       TIDE_SQL_MAX_HEIGHT);
    return f;
}

static tide_sql_query *chk_query(parser *p, tide_sql_query *q)
{
    if (!q)
        return p->err->code ? NULL : oom(p);
    if (q->height > TIDE_SQL_MAX_HEIGHT)
        return fail_at(p, &p->tok, TIDE_EPARSE, "query too complex (more than %d levels)",
                       TIDE_SQL_MAX_HEIGHT);
    return q;
}

static void *chk(parser *p, void *node)
{
    return node ? node : (p->err->code ? NULL : oom(p));
}

/* ---- names and literals --------------------------------------------- */

/* Decode the current token as a name (folded to lowercase unless quoted)
 * and consume it.  `what` names the expected thing for the error. */
static bool parse_name(parser *p, tide_sql_name *out, const char *what)
{
    const tide_sql_token *t = &p->tok;
    if (!tok_is_name(t)) {
        expected(p, what);
        return false;
    }
    const char *text = p->src + t->off;
    char *buf;
    size_t n = 0;
    if (t->kind == TIDE_SQL_TOK_WORD) {
        buf = tide_sql_ast_strdup(p->s, text, t->len);
        if (!buf)
            goto nomem;
        for (n = 0; n < t->len; n++)
            if (buf[n] >= 'A' && buf[n] <= 'Z')
                buf[n] = (char)(buf[n] + 32);
    } else {
        char q = text[0];
        buf = tide_sql_ast_strdup(p->s, text + 1, t->len - 2);
        if (!buf)
            goto nomem;
        for (size_t i = 1; i + 1 < t->len; i++) {
            buf[n++] = text[i];
            if (text[i] == q)
                i++; /* a doubled quote */
        }
        buf[n] = '\0';
    }
    if (n > UINT32_MAX)
        goto nomem;
    *out = (tide_sql_name){buf, (uint32_t)n, t->kind == TIDE_SQL_TOK_QUOTED_IDENT, tok_pos(t)};
    advance(p);
    return true;
nomem:
    oom(p);
    return false;
}

/* Decode a string literal token ('it''s' -> it's) into the arena. */
static char *decode_string(parser *p, const tide_sql_token *t, size_t *len)
{
    const char *text = p->src + t->off;
    char *buf = tide_sql_ast_strdup(p->s, text + 1, t->len - 2);
    size_t n = 0;
    if (!buf)
        return oom(p);
    for (size_t i = 1; i + 1 < t->len; i++) {
        buf[n++] = text[i];
        if (text[i] == '\'')
            i++;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* Parse decimal digits s[0, n) with an optional sign into *v; false on
 * overflow or a character that is not a digit. */
static bool parse_i64(const char *s, size_t n, int64_t *v)
{
    bool neg = false;
    size_t i = 0;
    if (n && (s[0] == '-' || s[0] == '+')) {
        neg = s[0] == '-';
        i = 1;
    }
    if (i == n)
        return false;
    uint64_t acc = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        unsigned d = (unsigned)(s[i] - '0');
        if (acc > (limit - d) / 10)
            return false;
        acc = acc * 10 + d;
    }
    *v = neg ? (int64_t)(0 - acc) : (int64_t)acc;
    return true;
}

static bool parse_unit(parser *p, tide_sql_unit *u, const char *after)
{
    static const struct {
        tide_sql_kw one, many;
        tide_sql_unit unit;
    } units[] = {
        {TIDE_SQL_KW_SECOND, TIDE_SQL_KW_SECONDS, TIDE_SQL_UNIT_SECOND},
        {TIDE_SQL_KW_MINUTE, TIDE_SQL_KW_MINUTES, TIDE_SQL_UNIT_MINUTE},
        {TIDE_SQL_KW_HOUR, TIDE_SQL_KW_HOURS, TIDE_SQL_UNIT_HOUR},
        {TIDE_SQL_KW_DAY, TIDE_SQL_KW_DAYS, TIDE_SQL_UNIT_DAY},
        {TIDE_SQL_KW_MONTH, TIDE_SQL_KW_MONTHS, TIDE_SQL_UNIT_MONTH},
        {TIDE_SQL_KW_YEAR, TIDE_SQL_KW_YEARS, TIDE_SQL_UNIT_YEAR},
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (is_kw(p, units[i].one) || is_kw(p, units[i].many)) {
            *u = units[i].unit;
            advance(p);
            return true;
        }
    }
    char what[96];
    snprintf(what, sizeof what, "a time unit (SECOND, MINUTE, HOUR, DAY, MONTH or YEAR) %s", after);
    expected(p, what);
    return false;
}

/* The unit of EXTRACT, TIMESTAMPADD/DIFF, FLOOR/CEIL: parse_unit's, or
 * MILLISECOND, WEEK, QUARTER, DOW, DOY. */
static bool parse_time_unit(parser *p, tide_sql_unit *u, const char *after)
{
    static const struct {
        const char *w;
        tide_sql_unit unit;
    } more[] = {
        {"MILLISECOND", TIDE_SQL_UNIT_MILLISECOND}, {"WEEK", TIDE_SQL_UNIT_WEEK}, {"QUARTER", TIDE_SQL_UNIT_QUARTER},
        {"DOW", TIDE_SQL_UNIT_DOW},                 {"DOY", TIDE_SQL_UNIT_DOY},
    };
    for (size_t i = 0; i < sizeof more / sizeof more[0]; i++)
        if (word_is(&p->tok, p->src, more[i].w)) {
            *u = more[i].unit;
            advance(p);
            return true;
        }
    static const tide_sql_kw kws[] = {TIDE_SQL_KW_SECOND,  TIDE_SQL_KW_SECONDS, TIDE_SQL_KW_MINUTE, TIDE_SQL_KW_MINUTES,
                                      TIDE_SQL_KW_HOUR,    TIDE_SQL_KW_HOURS,   TIDE_SQL_KW_DAY,    TIDE_SQL_KW_DAYS,
                                      TIDE_SQL_KW_MONTH,   TIDE_SQL_KW_MONTHS,  TIDE_SQL_KW_YEAR,   TIDE_SQL_KW_YEARS};
    for (size_t i = 0; i < sizeof kws / sizeof kws[0]; i++)
        if (is_kw(p, kws[i]))
            return parse_unit(p, u, after);
    char what[160];
    snprintf(what, sizeof what,
             "a time unit (MILLISECOND, SECOND, MINUTE, HOUR, DAY, WEEK, MONTH, QUARTER, YEAR, DOW or DOY) %s",
             after);
    expected(p, what);
    return false;
}

/* The optional precision after an interval's unit, as Flink (Calcite)
 * writes it: DAY(4), SECOND(3), SECOND(2, 3).  The leading precision
 * bounds the digits of the value (`digits` of it); without one tide takes
 * any value (Flink's default, DAY(2), would refuse INTERVAL '3650' DAY). */
static bool parse_interval_precision(parser *p, int digits)
{
    if (!accept(p, TIDE_SQL_TOK_LPAREN))
        return true;
    for (int i = 0;; i++) {
        tide_sql_token t = p->tok;
        int64_t v;
        if (t.kind != TIDE_SQL_TOK_INTEGER || !parse_i64(p->src + t.off, t.len, &v) || v < 1 || v > 18) {
            expected(p, "an interval precision (1 to 18)");
            return false;
        }
        if (i == 0 && digits > v) {
            fail(p, "interval value of %d digits exceeds the precision %lld of its unit", digits, (long long)v);
            return false;
        }
        advance(p);
        if (i == 1 || !accept(p, TIDE_SQL_TOK_COMMA))
            break;
    }
    if (!accept(p, TIDE_SQL_TOK_RPAREN)) {
        expected(p, "')' after the interval precision");
        return false;
    }
    return true;
}

/* Digits of |v| (1 for 0). */
static int ndigits(int64_t v)
{
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    int n = 1;
    while (u >= 10)
        u /= 10, n++;
    return n;
}

/* INTERVAL 'n' unit [(precision)] (the current token is INTERVAL). */
static tide_sql_expr *parse_interval(parser *p)
{
    tide_sql_pos start = tok_pos(&p->tok);
    if (!expect_kw(p, TIDE_SQL_KW_INTERVAL, "INTERVAL"))
        return NULL;
    tide_sql_token vt = p->tok;
    int64_t count;
    if (vt.kind == TIDE_SQL_TOK_STRING) {
        size_t n = 0;
        const char *v = decode_string(p, &vt, &n);
        if (!v)
            return NULL;
        /* allow surrounding spaces: '  5 ' */
        while (n && *v == ' ')
            v++, n--;
        while (n && v[n - 1] == ' ')
            n--;
        const char *dot = memchr(v, '.', n);
        if (dot) {
            /* a fraction of a second: INTERVAL '1.5' SECOND, '0.001' SECOND (milliseconds) */
            size_t ip = (size_t)(dot - v), fl = n - ip - 1;
            int64_t whole = 0, frac = 0;
            bool neg = ip > 0 && v[0] == '-';
            bool ok = fl > 0 && (ip == 0 || (ip == 1 && (v[0] == '-' || v[0] == '+')) || parse_i64(v, ip, &whole));
            for (size_t i = 0; ok && i < fl; i++) {
                ok = dot[1 + i] >= '0' && dot[1 + i] <= '9';
                if (ok && i < 3)
                    frac = frac * 10 + (dot[1 + i] - '0');
                else if (ok && dot[1 + i] != '0')
                    return fail(p, "interval %.*s is finer than a millisecond (tide counts time in milliseconds)",
                                vt.len > 40 ? 40 : (int)vt.len, p->src + vt.off);
            }
            for (size_t i = fl; i < 3; i++)
                frac *= 10;
            if (!ok)
                return fail(p, "invalid interval value %.*s (expected a number)", vt.len > 40 ? 40 : (int)vt.len,
                            p->src + vt.off);
            advance(p);
            tide_sql_unit unit;
            tide_sql_token ut = p->tok;
            if (!parse_unit(p, &unit, "after the interval value"))
                return NULL;
            if (unit != TIDE_SQL_UNIT_SECOND)
                return fail_at(p, &ut, TIDE_EPARSE, "a fractional interval must be in SECOND (INTERVAL '1.5' SECOND)");
            if (whole > INT64_MAX / 1000 - 1 || whole < -(INT64_MAX / 1000 - 1))
                return fail(p, "interval value out of range");
            count = whole * 1000 + (neg ? -frac : frac);
            return chk_expr(p, tide_sql_ast_interval(p->s, count, TIDE_SQL_UNIT_MILLISECOND, span(p, start)));
        }
        if (!parse_i64(v, n, &count))
            return fail(p, "invalid interval value %.*s (expected a whole number)",
                        vt.len > 40 ? 40 : (int)vt.len, p->src + vt.off);
    } else if (vt.kind == TIDE_SQL_TOK_INTEGER) {
        if (!parse_i64(p->src + vt.off, vt.len, &count))
            return fail(p, "interval value out of range");
    } else {
        return expected(p, "a quoted number after INTERVAL");
    }
    advance(p);
    tide_sql_unit unit;
    if (!parse_unit(p, &unit, "after the interval value") || !parse_interval_precision(p, ndigits(count)))
        return NULL;
    return chk_expr(p, tide_sql_ast_interval(p->s, count, unit, span(p, start)));
}

static bool parse_type(parser *p, tide_sql_type *out)
{
    const tide_sql_token t = p->tok;
    tide_sql_type ty = {TIDE_TYPE_NULL, -1, tok_pos(&t)};
    bool ts = false, varchar = false;
    if (word_is(&t, p->src, "BOOLEAN") || word_is(&t, p->src, "BOOL"))
        ty.type = TIDE_TYPE_BOOLEAN;
    else if (word_is(&t, p->src, "BIGINT") || word_is(&t, p->src, "INT") ||
             word_is(&t, p->src, "INTEGER"))
        ty.type = TIDE_TYPE_BIGINT;
    else if (word_is(&t, p->src, "DOUBLE") || word_is(&t, p->src, "FLOAT") || word_is(&t, p->src, "REAL"))
        ty.type = TIDE_TYPE_DOUBLE; /* FLOAT and REAL: stored and computed as DOUBLE (README) */
    else if (word_is(&t, p->src, "DECIMAL") || word_is(&t, p->src, "DEC") || word_is(&t, p->src, "NUMERIC")) {
        /* DECIMAL [(p [, s])], Flink's default DECIMAL(10, 0) */
        int64_t prec = 10, scale = 0;
        advance(p);
        if (accept(p, TIDE_SQL_TOK_LPAREN)) {
            tide_sql_token pt = p->tok;
            if (pt.kind != TIDE_SQL_TOK_INTEGER || !parse_i64(p->src + pt.off, pt.len, &prec)) {
                expected(p, "a precision (1 to 38)");
                return false;
            }
            if (prec < 1 || prec > TIDE_DEC_MAX_PRECISION) {
                fail(p, "DECIMAL precision must be 1 to 38, found %lld", (long long)prec);
                return false;
            }
            advance(p);
            if (accept(p, TIDE_SQL_TOK_COMMA)) {
                tide_sql_token st = p->tok;
                if (st.kind != TIDE_SQL_TOK_INTEGER || !parse_i64(p->src + st.off, st.len, &scale)) {
                    expected(p, "a scale (0 to the precision)");
                    return false;
                }
                if (scale < 0 || scale > prec) {
                    fail(p, "DECIMAL scale must be 0 to the precision (%lld), found %lld", (long long)prec,
                         (long long)scale);
                    return false;
                }
                advance(p);
            }
            if (!expect(p, TIDE_SQL_TOK_RPAREN, "')' after the DECIMAL's precision and scale"))
                return false;
        }
        ty.type = tide_type_decimal((unsigned)prec, (unsigned)scale);
        ty.pos = span(p, ty.pos);
        *out = ty;
        return true;
    }
    else if (word_is(&t, p->src, "STRING"))
        ty.type = TIDE_TYPE_STRING;
    else if (word_is(&t, p->src, "VARCHAR"))
        ty.type = TIDE_TYPE_STRING, varchar = true;
    else if (word_is(&t, p->src, "TIMESTAMP") || word_is(&t, p->src, "TIMESTAMP_LTZ"))
        ty.type = TIDE_TYPE_TIMESTAMP, ts = true;
    if (ty.type == TIDE_TYPE_NULL) {
        char d[64];
        describe(p, &t, d, sizeof d);
        fail(p,
             "expected a type (BOOLEAN, BIGINT, DOUBLE, DECIMAL(p, s), STRING, VARCHAR or TIMESTAMP(3)), found %s",
             d);
        return false;
    }
    advance(p);
    if ((ts || varchar) && accept(p, TIDE_SQL_TOK_LPAREN)) {
        int64_t n;
        tide_sql_token nt = p->tok;
        if (nt.kind != TIDE_SQL_TOK_INTEGER || !parse_i64(p->src + nt.off, nt.len, &n) ||
            n > INT32_MAX) {
            expected(p, ts ? "a precision" : "a length");
            return false;
        }
        if (ts && n != 3) {
            fail(p, "only TIMESTAMP(3) (milliseconds) is supported");
            return false;
        }
        advance(p);
        if (!expect(p, TIDE_SQL_TOK_RPAREN, "')' after the type's length"))
            return false;
        if (varchar)
            ty.length = (int32_t)n;
    }
    ty.pos = span(p, ty.pos);
    *out = ty;
    return true;
}

/* ---- expressions ---------------------------------------------------- */

enum { PREC_OR = 1, PREC_AND, PREC_NOT, PREC_CMP, PREC_ADD, PREC_MUL, PREC_UNARY };

static tide_sql_expr *parse_expr_prec(parser *p, int min_prec);
static tide_sql_expr *parse_expr(parser *p)
{
    return parse_expr_prec(p, 0);
}
static tide_sql_query *parse_query(parser *p);

/* The binary operator of the current token, if any. */
static bool binop_of(const parser *p, tide_sql_binop *op, int *prec)
{
    switch (p->tok.kind) {
    case TIDE_SQL_TOK_EQ:
        *op = TIDE_SQL_OP_EQ;
        *prec = PREC_CMP;
        return true;
    case TIDE_SQL_TOK_NE:
        *op = TIDE_SQL_OP_NE;
        *prec = PREC_CMP;
        return true;
    case TIDE_SQL_TOK_LT:
        *op = TIDE_SQL_OP_LT;
        *prec = PREC_CMP;
        return true;
    case TIDE_SQL_TOK_LE:
        *op = TIDE_SQL_OP_LE;
        *prec = PREC_CMP;
        return true;
    case TIDE_SQL_TOK_GT:
        *op = TIDE_SQL_OP_GT;
        *prec = PREC_CMP;
        return true;
    case TIDE_SQL_TOK_GE:
        *op = TIDE_SQL_OP_GE;
        *prec = PREC_CMP;
        return true;
    case TIDE_SQL_TOK_PLUS:
        *op = TIDE_SQL_OP_ADD;
        *prec = PREC_ADD;
        return true;
    case TIDE_SQL_TOK_MINUS:
        *op = TIDE_SQL_OP_SUB;
        *prec = PREC_ADD;
        return true;
    case TIDE_SQL_TOK_STAR:
        *op = TIDE_SQL_OP_MUL;
        *prec = PREC_MUL;
        return true;
    case TIDE_SQL_TOK_SLASH:
        *op = TIDE_SQL_OP_DIV;
        *prec = PREC_MUL;
        return true;
    case TIDE_SQL_TOK_PERCENT:
        *op = TIDE_SQL_OP_MOD;
        *prec = PREC_MUL;
        return true;
    case TIDE_SQL_TOK_CONCAT:
        *op = TIDE_SQL_OP_CONCAT;
        *prec = PREC_MUL;
        return true;
    case TIDE_SQL_TOK_WORD:
        if (p->tok.kw == TIDE_SQL_KW_OR) {
            *op = TIDE_SQL_OP_OR;
            *prec = PREC_OR;
            return true;
        }
        if (p->tok.kw == TIDE_SQL_KW_AND) {
            *op = TIDE_SQL_OP_AND;
            *prec = PREC_AND;
            return true;
        }
        return false;
    default:
        return false;
    }
}

/* Comma-separated expressions up to (not including) ')'. */
static bool parse_expr_list(parser *p, tide_sql_vec *v)
{
    do {
        if (!push(p, v, parse_expr(p)))
            return false;
    } while (accept(p, TIDE_SQL_TOK_COMMA));
    return true;
}

/* The frame's start: UNBOUNDED PRECEDING, CURRENT ROW, or n / INTERVAL ...
 * PRECEDING (FOLLOWING is refused: a frame ends at the current row). */
static bool parse_frame_bound(parser *p, tide_sql_over *o, bool start)
{
    if (word_is(&p->tok, p->src, "unbounded")) {
        advance(p);
        if (!start || !word_is(&p->tok, p->src, "preceding")) {
            expected(p, start ? "PRECEDING after UNBOUNDED" : "CURRENT ROW (a frame ends at the current row)");
            return false;
        }
        advance(p);
        o->unbounded = true;
        return true;
    }
    if (word_is(&p->tok, p->src, "current")) {
        advance(p);
        if (!word_is(&p->tok, p->src, "row")) {
            expected(p, "ROW after CURRENT");
            return false;
        }
        advance(p);
        if (start)
            o->current = true;
        return true;
    }
    if (!start) {
        expected(p, "CURRENT ROW (a frame ends at the current row)");
        return false;
    }
    tide_sql_expr *n = parse_expr_prec(p, PREC_ADD);
    if (!n)
        return false;
    if (word_is(&p->tok, p->src, "following")) {
        fail(p, "FOLLOWING is not supported: a frame ends at the current row");
        return false;
    }
    if (!word_is(&p->tok, p->src, "preceding")) {
        expected(p, "PRECEDING");
        return false;
    }
    advance(p);
    o->preceding = n;
    return true;
}

/* '(' [PARTITION BY exprs] [ORDER BY items] [frame] ')' of OVER or WINDOW. */
static tide_sql_over *parse_over_spec(parser *p)
{
    tide_sql_pos start = tok_pos(&p->tok);
    tide_sql_over *o = chk(p, tide_sql_ast_over(p->s, start));
    tide_sql_vec part = {0}, order = {0};
    if (!o || !expect(p, TIDE_SQL_TOK_LPAREN, "'('"))
        return NULL;
    if (accept_kw(p, TIDE_SQL_KW_PARTITION)) {
        if (!expect_kw(p, TIDE_SQL_KW_BY, "BY after PARTITION") || !parse_expr_list(p, &part))
            return NULL;
    }
    if (accept_kw(p, TIDE_SQL_KW_ORDER)) {
        if (!expect_kw(p, TIDE_SQL_KW_BY, "BY after ORDER"))
            return NULL;
        do {
            tide_sql_expr *e = parse_expr(p);
            bool desc = false;
            if (!e)
                return NULL;
            if (accept_kw(p, TIDE_SQL_KW_DESC))
                desc = true;
            else
                accept_kw(p, TIDE_SQL_KW_ASC);
            if (!push(p, &order, chk(p, tide_sql_ast_order_item(p->s, e, desc))))
                return NULL;
        } while (accept(p, TIDE_SQL_TOK_COMMA));
    }
    if (is_kw(p, TIDE_SQL_KW_ROWS) || word_is(&p->tok, p->src, "range")) {
        tide_sql_pos fpos = tok_pos(&p->tok);
        o->unit = is_kw(p, TIDE_SQL_KW_ROWS) ? TIDE_SQL_FRAME_ROWS : TIDE_SQL_FRAME_RANGE;
        advance(p);
        if (accept_kw(p, TIDE_SQL_KW_BETWEEN)) {
            if (!parse_frame_bound(p, o, true) || !expect_kw(p, TIDE_SQL_KW_AND, "AND in the frame") ||
                !parse_frame_bound(p, o, false))
                return NULL;
        } else if (!parse_frame_bound(p, o, true)) {
            return NULL;
        }
        o->frame_pos = span(p, fpos);
    }
    if (!expect(p, TIDE_SQL_TOK_RPAREN, "')' to close the window"))
        return NULL;
    if (tide_sql_ast_over_finish(p->s, o, part, order) != 0)
        return oom(p);
    o->pos = span(p, start);
    return o;
}

/* '(' [expr, ...] ')' of a grouping set (the current token is '('): a SET
 * node, () the empty set. */
static tide_sql_expr *parse_grouping_set(parser *p)
{
    tide_sql_pos start = tok_pos(&p->tok);
    tide_sql_vec items = {0};
    advance(p); /* '(' */
    if (!is(p, TIDE_SQL_TOK_RPAREN) && !parse_expr_list(p, &items))
        return NULL;
    if (!expect(p, TIDE_SQL_TOK_RPAREN, "')' to close the grouping set"))
        return NULL;
    return chk_expr(p, tide_sql_ast_grouping(p->s, TIDE_SQL_GROUPING_SET, items, span(p, start)));
}

/* One GROUP BY item: an expression, GROUPING SETS (...), ROLLUP (...),
 * CUBE (...) or () (the empty set). */
static tide_sql_expr *parse_group_item(parser *p)
{
    tide_sql_pos start = tok_pos(&p->tok);
    const tide_sql_token *next = peek(p, 1);
    tide_sql_vec items = {0};
    if (word_is(&p->tok, p->src, "GROUPING") && word_is(next, p->src, "SETS")) {
        advance(p);
        advance(p);
        if (!expect(p, TIDE_SQL_TOK_LPAREN, "'(' after GROUPING SETS"))
            return NULL;
        do {
            tide_sql_expr *it;
            if (is(p, TIDE_SQL_TOK_LPAREN))
                it = parse_grouping_set(p);
            else if ((word_is(&p->tok, p->src, "ROLLUP") || word_is(&p->tok, p->src, "CUBE") ||
                      word_is(&p->tok, p->src, "GROUPING")) &&
                     (peek(p, 1)->kind == TIDE_SQL_TOK_LPAREN || word_is(peek(p, 1), p->src, "SETS")))
                return fail(p, "ROLLUP, CUBE and GROUPING SETS inside GROUPING SETS are not supported");
            else
                it = parse_expr(p);
            if (!push(p, &items, it))
                return NULL;
        } while (accept(p, TIDE_SQL_TOK_COMMA));
        if (!expect(p, TIDE_SQL_TOK_RPAREN, "')' to close GROUPING SETS"))
            return NULL;
        return chk_expr(p, tide_sql_ast_grouping(p->s, TIDE_SQL_GROUPING_SETS, items, span(p, start)));
    }
    bool rollup = word_is(&p->tok, p->src, "ROLLUP"), cube = word_is(&p->tok, p->src, "CUBE");
    if ((rollup || cube) && next->kind == TIDE_SQL_TOK_LPAREN) {
        advance(p);
        advance(p);
        if (!parse_expr_list(p, &items) || !expect(p, TIDE_SQL_TOK_RPAREN, "')' to close ROLLUP or CUBE"))
            return NULL;
        return chk_expr(p, tide_sql_ast_grouping(p->s, rollup ? TIDE_SQL_GROUPING_ROLLUP : TIDE_SQL_GROUPING_CUBE,
                                                 items, span(p, start)));
    }
    if (is(p, TIDE_SQL_TOK_LPAREN) && next->kind == TIDE_SQL_TOK_RPAREN)
        return parse_grouping_set(p); /* GROUP BY () */
    return parse_expr(p);
}

static bool parse_group_list(parser *p, tide_sql_vec *v)
{
    do {
        if (!push(p, v, parse_group_item(p)))
            return false;
    } while (accept(p, TIDE_SQL_TOK_COMMA));
    return true;
}

/* name '(' ... ')': the name is consumed; the current token is '('. */
static tide_sql_expr *parse_call(parser *p, tide_sql_name name)
{
    tide_sql_pos start = name.pos;
    tide_sql_vec args = {0};
    bool distinct = false;
    advance(p); /* '(' */
    bool floor = !name.quoted && (strcmp(name.str, "floor") == 0 || strcmp(name.str, "ceil") == 0 ||
                                  strcmp(name.str, "ceiling") == 0);
    bool extract = !name.quoted && strcmp(name.str, "extract") == 0;
    if (extract || (!name.quoted && (strcmp(name.str, "timestampadd") == 0 || strcmp(name.str, "timestampdiff") == 0))) {
        /* EXTRACT(unit FROM x), TIMESTAMPADD(unit, n, ts), TIMESTAMPDIFF(unit, a, b) */
        tide_sql_unit unit;
        if (!parse_time_unit(p, &unit, extract ? "in EXTRACT" : "as the first argument"))
            return NULL;
        if (extract ? !expect_kw(p, TIDE_SQL_KW_FROM, "FROM after the time unit")
                    : !expect(p, TIDE_SQL_TOK_COMMA, "',' after the time unit"))
            return NULL;
        if (!parse_expr_list(p, &args) || !expect(p, TIDE_SQL_TOK_RPAREN, "')' after function arguments"))
            return NULL;
        return chk_expr(p, tide_sql_ast_call_unit(p->s, name, unit, args, span(p, start)));
    }
    if (is(p, TIDE_SQL_TOK_STAR) && peek(p, 1)->kind == TIDE_SQL_TOK_RPAREN) {
        if (!push(p, &args,
                  chk_expr(p, tide_sql_ast_star(p->s, (tide_sql_name){0}, tok_pos(&p->tok)))))
            return NULL;
        advance(p);
    } else if (!is(p, TIDE_SQL_TOK_RPAREN)) {
        if (accept_kw(p, TIDE_SQL_KW_DISTINCT))
            distinct = true;
        else
            accept_kw(p, TIDE_SQL_KW_ALL);
        tide_sql_expr *first = parse_expr(p);
        if (!first)
            return NULL;
        if (floor && !distinct && is_kw(p, TIDE_SQL_KW_TO)) {
            advance(p);
            tide_sql_unit unit;
            if (!parse_time_unit(p, &unit, "after TO"))
                return NULL;
            if (!expect(p, TIDE_SQL_TOK_RPAREN, "')' after the time unit"))
                return NULL;
            return chk_expr(
                p, tide_sql_ast_floor(p->s, name.str[0] == 'c', first, unit, span(p, start)));
        }
        if (!push(p, &args, first))
            return NULL;
        if (accept(p, TIDE_SQL_TOK_COMMA) && !parse_expr_list(p, &args))
            return NULL;
    }
    if (!expect(p, TIDE_SQL_TOK_RPAREN, "')' after function arguments"))
        return NULL;
    tide_sql_over *over = NULL;
    if (accept_kw(p, TIDE_SQL_KW_OVER)) {
        tide_sql_pos opos = tok_pos(&p->tok);
        if (is(p, TIDE_SQL_TOK_LPAREN)) {
            if (!(over = parse_over_spec(p)))
                return NULL;
        } else {
            if (!(over = chk(p, tide_sql_ast_over(p->s, opos))) ||
                !parse_name(p, &over->ref, "a window name or '(' after OVER"))
                return NULL;
            over->pos = span(p, opos);
        }
    }
    tide_sql_expr *e = tide_sql_ast_call(p->s, name, distinct, args, span(p, start));
    if (e && over)
        tide_sql_ast_call_over(e, over);
    return chk_expr(p, e);
}

static tide_sql_expr *parse_case(parser *p)
{
    tide_sql_pos start = tok_pos(&p->tok);
    tide_sql_expr *operand = NULL, *else_ = NULL;
    tide_sql_vec whens = {0};
    advance(p); /* CASE */
    if (!is_kw(p, TIDE_SQL_KW_WHEN) && !(operand = parse_expr(p)))
        return NULL;
    if (!is_kw(p, TIDE_SQL_KW_WHEN))
        return expected(p, "WHEN in CASE");
    while (accept_kw(p, TIDE_SQL_KW_WHEN)) {
        tide_sql_expr *w = parse_expr(p), *t;
        if (!w || !expect_kw(p, TIDE_SQL_KW_THEN, "THEN after WHEN condition") ||
            !(t = parse_expr(p)))
            return NULL;
        if (!push(p, &whens, chk(p, tide_sql_ast_when(p->s, w, t))))
            return NULL;
    }
    if (accept_kw(p, TIDE_SQL_KW_ELSE) && !(else_ = parse_expr(p)))
        return NULL;
    if (!expect_kw(p, TIDE_SQL_KW_END, "END to close CASE"))
        return NULL;
    return chk_expr(p, tide_sql_ast_case(p->s, operand, whens, else_, span(p, start)));
}

static tide_sql_expr *parse_primary(parser *p)
{
    const tide_sql_token t = p->tok;
    tide_sql_pos pos = tok_pos(&t);
    switch (t.kind) {
    case TIDE_SQL_TOK_INTEGER: {
        int64_t v;
        if (!parse_i64(p->src + t.off, t.len, &v))
            return fail(p, "integer literal out of range");
        advance(p);
        return chk_expr(p, tide_sql_ast_int(p->s, v, pos));
    }
    case TIDE_SQL_TOK_DECIMAL: {
        char tmp[64];
        double v;
        if (t.len < sizeof tmp) {
            memcpy(tmp, p->src + t.off, t.len);
            tmp[t.len] = '\0';
            v = strtod(tmp, NULL);
        } else {
            char *big = malloc(t.len + 1);
            if (!big)
                return oom(p);
            memcpy(big, p->src + t.off, t.len);
            big[t.len] = '\0';
            v = strtod(big, NULL);
            free(big);
        }
        advance(p);
        return chk_expr(p, tide_sql_ast_decimal(p->s, v, p->src + t.off, t.len, pos));
    }
    case TIDE_SQL_TOK_STRING: {
        size_t n = 0;
        char *str = decode_string(p, &t, &n);
        if (!str)
            return NULL;
        advance(p);
        return chk_expr(p, tide_sql_ast_string(p->s, TIDE_SQL_EXPR_STRING, str, n, pos));
    }
    case TIDE_SQL_TOK_LPAREN: {
        const tide_sql_token *next = peek(p, 1);
        if (tok_is_kw(next, TIDE_SQL_KW_SELECT) || tok_is_kw(next, TIDE_SQL_KW_WITH))
            return fail_at(p, next, TIDE_EPARSE, "subqueries in expressions are not supported");
        advance(p);
        tide_sql_expr *e = parse_expr(p);
        if (!e || !expect(p, TIDE_SQL_TOK_RPAREN, "')' to close '('"))
            return NULL;
        return e;
    }
    case TIDE_SQL_TOK_WORD:
        switch (t.kw) {
        case TIDE_SQL_KW_NULL:
            advance(p);
            return chk_expr(p, tide_sql_ast_null(p->s, pos));
        case TIDE_SQL_KW_TRUE:
            advance(p);
            return chk_expr(p, tide_sql_ast_bool(p->s, true, pos));
        case TIDE_SQL_KW_FALSE:
            advance(p);
            return chk_expr(p, tide_sql_ast_bool(p->s, false, pos));
        case TIDE_SQL_KW_INTERVAL:
            return parse_interval(p);
        case TIDE_SQL_KW_CASE:
            return parse_case(p);
        case TIDE_SQL_KW_EXISTS: {
            advance(p);
            tide_sql_query *q;
            if (!expect(p, TIDE_SQL_TOK_LPAREN, "'(' after EXISTS") || !(q = parse_query(p)) ||
                !expect(p, TIDE_SQL_TOK_RPAREN, "')' after the EXISTS subquery"))
                return NULL;
            return chk_expr(p, tide_sql_ast_subquery(p->s, false, NULL, q, span(p, pos)));
        }
        case TIDE_SQL_KW_CAST: {
            tide_sql_expr *arg;
            tide_sql_type ty;
            advance(p);
            if (!expect(p, TIDE_SQL_TOK_LPAREN, "'(' after CAST") || !(arg = parse_expr(p)) ||
                !expect_kw(p, TIDE_SQL_KW_AS, "AS in CAST") || !parse_type(p, &ty) ||
                !expect(p, TIDE_SQL_TOK_RPAREN, "')' to close CAST"))
                return NULL;
            return chk_expr(p, tide_sql_ast_cast(p->s, arg, ty, span(p, pos)));
        }
        case TIDE_SQL_KW_TIMESTAMP: {
            const tide_sql_token *next = peek(p, 1);
            if (next->kind != TIDE_SQL_TOK_STRING)
                break; /* a column named timestamp */
            tide_sql_token st = *next;
            size_t n = 0;
            char *str = decode_string(p, &st, &n);
            if (!str)
                return NULL;
            advance(p);
            advance(p);
            return chk_expr(
                p, tide_sql_ast_string(p->s, TIDE_SQL_EXPR_TIMESTAMP, str, n, span(p, pos)));
        }
        default:
            break;
        }
        break;
    default:
        break;
    }
    if (!tok_is_name(&t))
        return expected(p, "an expression");
    if ((word_is(&t, p->src, "DATE") || word_is(&t, p->src, "TIME")) && peek(p, 1)->kind == TIDE_SQL_TOK_STRING) {
        if (word_is(&t, p->src, "TIME"))
            return fail(p, "TIME literals are not supported (tide has no TIME type; use a TIMESTAMP)");
        tide_sql_token st = *peek(p, 1);
        size_t n = 0;
        char *str = decode_string(p, &st, &n);
        if (!str)
            return NULL;
        advance(p);
        advance(p);
        return chk_expr(p, tide_sql_ast_string(p->s, TIDE_SQL_EXPR_DATE, str, n, span(p, pos)));
    }
    tide_sql_name first, second = {0};
    if (!parse_name(p, &first, "a name"))
        return NULL;
    if (is(p, TIDE_SQL_TOK_LPAREN))
        return parse_call(p, first);
    if (accept(p, TIDE_SQL_TOK_DOT)) {
        if (!parse_name(p, &second, "a column name after '.'"))
            return NULL;
        if (is(p, TIDE_SQL_TOK_DOT))
            return fail(p, "too many name parts (expected column or table.column)");
        return chk_expr(p, tide_sql_ast_column(p->s, first, second, span(p, pos)));
    }
    return chk_expr(p, tide_sql_ast_column(p->s, (tide_sql_name){0}, first, pos));
}

/* A prefix (NOT, -, +) or a primary. */
static tide_sql_expr *parse_prefix(parser *p)
{
    tide_sql_pos start = tok_pos(&p->tok);
    tide_sql_unop op;
    int prec;
    if (is_kw(p, TIDE_SQL_KW_NOT)) {
        op = TIDE_SQL_OP_NOT;
        prec = PREC_NOT;
    } else if (is(p, TIDE_SQL_TOK_MINUS)) {
        op = TIDE_SQL_OP_NEG;
        prec = PREC_UNARY;
        /* -9223372036854775808 is a literal: its digits alone overflow */
        const tide_sql_token *n = peek(p, 1);
        if (n->kind == TIDE_SQL_TOK_INTEGER && n->len == 19 &&
            memcmp(p->src + n->off, "9223372036854775808", 19) == 0) {
            advance(p);
            advance(p);
            return chk_expr(p, tide_sql_ast_int(p->s, INT64_MIN, span(p, start)));
        }
    } else if (is(p, TIDE_SQL_TOK_PLUS)) {
        op = TIDE_SQL_OP_PLUS;
        prec = PREC_UNARY;
    } else {
        return parse_primary(p);
    }
    advance(p);
    tide_sql_expr *arg = parse_expr_prec(p, prec);
    if (!arg)
        return NULL;
    return chk_expr(p, tide_sql_ast_unary(p->s, op, arg, span(p, start)));
}

/* Precedence climbing: an expression whose operators all bind at least as
 * tightly as `min_prec`.  Left-associative throughout.  Every recursion of
 * the expression grammar (parentheses, prefixes, arguments) comes through
 * here, so this is where nesting is bounded. */
static tide_sql_expr *parse_expr_prec_body(parser *p, int min_prec);

static tide_sql_expr *parse_expr_prec(parser *p, int min_prec)
{
    if (!enter(p, "expression"))
        return NULL;
    tide_sql_expr *e = parse_expr_prec_body(p, min_prec);
    leave(p);
    return e;
}

static tide_sql_expr *parse_expr_prec_body(parser *p, int min_prec)
{
    tide_sql_expr *lhs = parse_prefix(p);
    if (!lhs)
        return NULL;
    for (;;) {
        tide_sql_pos start = lhs->pos;
        tide_sql_binop op;
        int prec;
        if (binop_of(p, &op, &prec)) {
            if (prec < min_prec)
                break;
            advance(p);
            tide_sql_expr *rhs = parse_expr_prec(p, prec + 1);
            if (!rhs)
                return NULL;
            lhs = chk_expr(p, tide_sql_ast_binary(p->s, op, lhs, rhs, span(p, start)));
            if (!lhs)
                return NULL;
            continue;
        }
        /* the postfix forms, all at comparison level */
        bool negated = false;
        if (is_kw(p, TIDE_SQL_KW_IS)) {
            if (PREC_CMP < min_prec)
                break;
            advance(p);
            negated = accept_kw(p, TIDE_SQL_KW_NOT);
            if (accept_kw(p, TIDE_SQL_KW_DISTINCT)) { /* IS [NOT] DISTINCT FROM */
                if (!expect_kw(p, TIDE_SQL_KW_FROM, "FROM after IS DISTINCT"))
                    return NULL;
                tide_sql_expr *rhs = parse_expr_prec(p, PREC_CMP + 1);
                if (!rhs)
                    return NULL;
                lhs = chk_expr(p, tide_sql_ast_binary(p->s, negated ? TIDE_SQL_OP_IS_NOT_DISTINCT : TIDE_SQL_OP_IS_DISTINCT,
                                                      lhs, rhs, span(p, start)));
                if (!lhs)
                    return NULL;
                continue;
            }
            if (!expect_kw(p, TIDE_SQL_KW_NULL,
                           negated ? "NULL or DISTINCT FROM after IS NOT" : "NULL, NOT NULL or DISTINCT FROM after IS"))
                return NULL;
            lhs = chk_expr(p, tide_sql_ast_is_null(p->s, negated, lhs, span(p, start)));
            if (!lhs)
                return NULL;
            continue;
        }
        const tide_sql_token *kwt = &p->tok;
        if (is_kw(p, TIDE_SQL_KW_NOT)) {
            kwt = peek(p, 1);
            negated = true;
        }
        tide_sql_kw kw = kwt->kind == TIDE_SQL_TOK_WORD ? kwt->kw : TIDE_SQL_KW_NONE;
        if (kw != TIDE_SQL_KW_BETWEEN && kw != TIDE_SQL_KW_IN && kw != TIDE_SQL_KW_LIKE)
            break;
        if (PREC_CMP < min_prec)
            break;
        if (negated)
            advance(p);
        advance(p);
        if (kw == TIDE_SQL_KW_BETWEEN) {
            tide_sql_expr *lo = parse_expr_prec(p, PREC_ADD), *hi;
            if (!lo || !expect_kw(p, TIDE_SQL_KW_AND, "AND in BETWEEN") ||
                !(hi = parse_expr_prec(p, PREC_ADD)))
                return NULL;
            lhs = tide_sql_ast_between(p->s, negated, lhs, lo, hi, span(p, start));
        } else if (kw == TIDE_SQL_KW_IN) {
            tide_sql_vec list = {0};
            if (!expect(p, TIDE_SQL_TOK_LPAREN, "'(' after IN"))
                return NULL;
            if (tok_is_kw(&p->tok, TIDE_SQL_KW_SELECT) || tok_is_kw(&p->tok, TIDE_SQL_KW_WITH)) {
                tide_sql_query *q = parse_query(p);
                if (!q || !expect(p, TIDE_SQL_TOK_RPAREN, "')' after the IN subquery"))
                    return NULL;
                if (!(lhs = chk_expr(p, tide_sql_ast_subquery(p->s, negated, lhs, q, span(p, start)))))
                    return NULL;
                continue;
            }
            if (!parse_expr_list(p, &list) || !expect(p, TIDE_SQL_TOK_RPAREN, "')' after IN list"))
                return NULL;
            lhs = tide_sql_ast_in(p->s, negated, lhs, list, span(p, start));
        } else {
            tide_sql_expr *pat = parse_expr_prec(p, PREC_ADD), *esc = NULL;
            if (!pat)
                return NULL;
            if (accept_kw(p, TIDE_SQL_KW_ESCAPE) && !(esc = parse_expr_prec(p, PREC_ADD)))
                return NULL;
            lhs = tide_sql_ast_like(p->s, negated, lhs, pat, esc, span(p, start));
        }
        if (!(lhs = chk_expr(p, lhs)))
            return NULL;
    }
    return lhs;
}

/* ---- FROM ----------------------------------------------------------- */

/* The WINDOW clause starts here: `WINDOW name AS` (WINDOW is not a
 * keyword, so `FROM t window` still names t "window"). */
static bool at_window_clause(parser *p)
{
    return word_is(&p->tok, p->src, "window") && tok_is_name(peek(p, 1)) &&
           peek(p, 2)->kind == TIDE_SQL_TOK_WORD && peek(p, 2)->kw == TIDE_SQL_KW_AS;
}

/* [[AS] alias] after a FROM item */
static bool parse_opt_alias(parser *p, tide_sql_from *f)
{
    tide_sql_name alias;
    if (at_window_clause(p))
        return true;
    if (accept_kw(p, TIDE_SQL_KW_AS)) {
        if (!parse_name(p, &alias, "an alias after AS"))
            return false;
    } else if (tok_is_name(&p->tok)) {
        if (!parse_name(p, &alias, "an alias"))
            return false;
    } else {
        return true;
    }
    tide_sql_ast_set_alias(f, alias);
    return true;
}

/* '(' query ')' as a FROM item; the current token is '('. */
static tide_sql_from *parse_subquery(parser *p)
{
    tide_sql_pos start = tok_pos(&p->tok);
    advance(p);
    tide_sql_query *q = parse_query(p);
    if (!q || !expect(p, TIDE_SQL_TOK_RPAREN, "')' after subquery"))
        return NULL;
    return chk_from(p, tide_sql_ast_from_subquery(p->s, q, span(p, start)));
}

/* TABLE '(' window ')' (the current token is TABLE). */
static tide_sql_from *parse_window(parser *p)
{
    static const struct {
        const char *name;
        tide_sql_window_kind kind;
        uint32_t min, max;
        const char *args;
    } fns[] = {
        {"TUMBLE", TIDE_SQL_WINDOW_TUMBLE, 1, 2, "a size (and an optional offset)"},
        {"HOP", TIDE_SQL_WINDOW_HOP, 2, 3, "a slide and a size (and an optional offset)"},
        {"CUMULATE", TIDE_SQL_WINDOW_CUMULATE, 2, 3,
         "a step and a max size (and an optional offset)"},
        {"SESSION", TIDE_SQL_WINDOW_SESSION, 1, 1, "a gap"},
    };
    tide_sql_pos start = tok_pos(&p->tok);
    advance(p); /* TABLE */
    if (!expect(p, TIDE_SQL_TOK_LPAREN, "'(' after TABLE"))
        return NULL;
    size_t fi = 0;
    while (fi < sizeof fns / sizeof fns[0] && !word_is(&p->tok, p->src, fns[fi].name))
        fi++;
    if (fi == sizeof fns / sizeof fns[0])
        return expected(p, "a window function (TUMBLE, HOP, CUMULATE or SESSION)");
    const char *fname = fns[fi].name;
    advance(p);
    if (!expect(p, TIDE_SQL_TOK_LPAREN, "'(' after the window function"))
        return NULL;

    tide_sql_from *input;
    if (accept_kw(p, TIDE_SQL_KW_TABLE)) {
        if (is(p, TIDE_SQL_TOK_LPAREN)) {
            input = parse_subquery(p);
        } else {
            tide_sql_name name;
            tide_sql_pos ipos = tok_pos(&p->tok);
            if (!parse_name(p, &name, "a table name after TABLE"))
                return NULL;
            input = chk_from(p, tide_sql_ast_from_table(p->s, name, ipos));
        }
    } else if (is(p, TIDE_SQL_TOK_LPAREN)) {
        input = parse_subquery(p);
    } else {
        char what[64];
        snprintf(what, sizeof what, "TABLE <name> as the first argument of %s", fname);
        return expected(p, what);
    }
    if (!input)
        return NULL;

    tide_sql_vec keys = {0};
    if (is_kw(p, TIDE_SQL_KW_PARTITION)) {
        if (fns[fi].kind != TIDE_SQL_WINDOW_SESSION)
            return fail(p, "PARTITION BY is only allowed in SESSION windows");
        advance(p);
        if (!expect_kw(p, TIDE_SQL_KW_BY, "BY after PARTITION"))
            return NULL;
        bool paren = accept(p, TIDE_SQL_TOK_LPAREN);
        do {
            tide_sql_name k;
            tide_sql_pos kpos = tok_pos(&p->tok);
            if (!parse_name(p, &k, "a partition column"))
                return NULL;
            if (!push(p, &keys,
                      chk_expr(p, tide_sql_ast_column(p->s, (tide_sql_name){0}, k, kpos))))
                return NULL;
        } while (paren && accept(p, TIDE_SQL_TOK_COMMA));
        if (paren && !expect(p, TIDE_SQL_TOK_RPAREN, "')' after partition columns"))
            return NULL;
    }
    tide_sql_name col;
    if (!expect(p, TIDE_SQL_TOK_COMMA, "',' after the window's input table") ||
        !expect_kw(p, TIDE_SQL_KW_DESCRIPTOR, "DESCRIPTOR(<time column>)") ||
        !expect(p, TIDE_SQL_TOK_LPAREN, "'(' after DESCRIPTOR") ||
        !parse_name(p, &col, "a time column") ||
        !expect(p, TIDE_SQL_TOK_RPAREN, "')' after the time column"))
        return NULL;
    tide_sql_vec args = {0};
    while (accept(p, TIDE_SQL_TOK_COMMA)) {
        if (args.n == fns[fi].max)
            return fail(p, "too many arguments to %s: expected %s after DESCRIPTOR", fname,
                        fns[fi].args);
        if (!push(p, &args, parse_expr(p)))
            return NULL;
    }
    if (args.n < fns[fi].min) {
        if (!is(p, TIDE_SQL_TOK_RPAREN))
            return expected(p, "',' or ')' in window function");
        return fail(p, "too few arguments to %s: expected %s after DESCRIPTOR", fname,
                    fns[fi].args);
    }
    if (!expect(p, TIDE_SQL_TOK_RPAREN, "')' after window function arguments") ||
        !expect(p, TIDE_SQL_TOK_RPAREN, "')' to close TABLE("))
        return NULL;
    return chk_from(
        p, tide_sql_ast_from_window(p->s, fns[fi].kind, input, keys, col, args, span(p, start)));
}

static tide_sql_from *parse_from_item(parser *p)
{
    tide_sql_from *f;
    if (is_kw(p, TIDE_SQL_KW_TABLE)) {
        f = parse_window(p);
    } else if (is(p, TIDE_SQL_TOK_LPAREN)) {
        f = parse_subquery(p);
    } else {
        tide_sql_name name;
        tide_sql_pos pos = tok_pos(&p->tok);
        if (!parse_name(p, &name, "a table name, '(' or TABLE(...)"))
            return NULL;
        if (is(p, TIDE_SQL_TOK_DOT))
            return fail(p, "qualified table names (catalog.db.table) are not supported");
        f = chk_from(p, tide_sql_ast_from_table(p->s, name, pos));
    }
    if (!f || !parse_opt_alias(p, f))
        return NULL;
    return f;
}

static tide_sql_from *parse_from(parser *p)
{
    tide_sql_from *left = parse_from_item(p);
    while (left) {
        /* a join's position is its keyword (JOIN, LEFT, CROSS, ','), so an
         * error about the join points at the join, not at its left side */
        tide_sql_pos start = tok_pos(&p->tok);
        tide_sql_join_kind kind;
        bool needs_on = true;
        if (accept(p, TIDE_SQL_TOK_COMMA)) {
            kind = TIDE_SQL_JOIN_COMMA;
            needs_on = false;
        } else if (accept_kw(p, TIDE_SQL_KW_CROSS)) {
            if (!expect_kw(p, TIDE_SQL_KW_JOIN, "JOIN after CROSS"))
                return NULL;
            kind = TIDE_SQL_JOIN_CROSS;
            needs_on = false;
        } else if (is_kw(p, TIDE_SQL_KW_JOIN) || is_kw(p, TIDE_SQL_KW_INNER)) {
            kind = TIDE_SQL_JOIN_INNER;
            if (accept_kw(p, TIDE_SQL_KW_INNER) && !is_kw(p, TIDE_SQL_KW_JOIN))
                return expected(p, "JOIN after INNER");
            advance(p);
        } else if (is_kw(p, TIDE_SQL_KW_LEFT) || is_kw(p, TIDE_SQL_KW_RIGHT) ||
                   is_kw(p, TIDE_SQL_KW_FULL)) {
            kind = is_kw(p, TIDE_SQL_KW_LEFT)    ? TIDE_SQL_JOIN_LEFT
                   : is_kw(p, TIDE_SQL_KW_RIGHT) ? TIDE_SQL_JOIN_RIGHT
                                                 : TIDE_SQL_JOIN_FULL;
            advance(p);
            accept_kw(p, TIDE_SQL_KW_OUTER);
            if (!expect_kw(p, TIDE_SQL_KW_JOIN, "JOIN"))
                return NULL;
        } else {
            break;
        }
        tide_sql_from *right = parse_from_item(p);
        tide_sql_expr *on = NULL;
        if (!right)
            return NULL;
        if (needs_on &&
            (!expect_kw(p, TIDE_SQL_KW_ON, "ON after the joined table") || !(on = parse_expr(p))))
            return NULL;
        left = chk_from(p, tide_sql_ast_join(p->s, kind, left, right, on, span(p, start)));
    }
    return left;
}

/* ---- SELECT --------------------------------------------------------- */

static tide_sql_emit *parse_emit(parser *p)
{
    tide_sql_pos start = tok_pos(&p->tok);
    tide_sql_emit *em = chk(p, tide_sql_ast_emit(p->s, start));
    bool early = false, late = false;
    int nparts = 0;
    if (!em)
        return NULL;
    advance(p); /* EMIT */
    for (;; nparts++) {
        if (is_kw(p, TIDE_SQL_KW_EARLY)) {
            if (early)
                return fail(p, "duplicate EARLY in EMIT clause");
            early = true;
            advance(p);
            if (!expect_kw(p, TIDE_SQL_KW_EVERY, "EVERY after EARLY"))
                return NULL;
            if (is_kw(p, TIDE_SQL_KW_INTERVAL)) {
                if (!(em->early_interval = parse_interval(p)))
                    return NULL;
            } else if (is(p, TIDE_SQL_TOK_INTEGER)) {
                int64_t n;
                if (!parse_i64(p->src + p->tok.off, p->tok.len, &n) || n <= 0)
                    return fail(p, "EARLY EVERY n ROWS needs a row count n > 0");
                advance(p);
                if (!expect_kw(p, TIDE_SQL_KW_ROWS, "ROWS after the row count"))
                    return NULL;
                em->early_rows = n;
            } else {
                return expected(p, "INTERVAL '...' <unit> or <n> ROWS after EARLY EVERY");
            }
        } else if (is_kw(p, TIDE_SQL_KW_ALLOW)) {
            if (late)
                return fail(p, "duplicate ALLOW LATENESS in EMIT clause");
            late = true;
            advance(p);
            if (!expect_kw(p, TIDE_SQL_KW_LATENESS, "LATENESS after ALLOW"))
                return NULL;
            if (!is_kw(p, TIDE_SQL_KW_INTERVAL))
                return expected(p, "INTERVAL after ALLOW LATENESS");
            if (!(em->lateness = parse_interval(p)))
                return NULL;
        } else if (is_kw(p, TIDE_SQL_KW_MODE) || is_kw(p, TIDE_SQL_KW_ACCUMULATING) ||
                   is_kw(p, TIDE_SQL_KW_DISCARDING) || is_kw(p, TIDE_SQL_KW_RETRACTING)) {
            if (em->mode != TIDE_SQL_ACC_DEFAULT)
                return fail(p, "duplicate accumulation mode in EMIT clause");
            bool mode_kw = accept_kw(p, TIDE_SQL_KW_MODE);
            if (accept_kw(p, TIDE_SQL_KW_ACCUMULATING))
                em->mode = TIDE_SQL_ACC_ACCUMULATING;
            else if (accept_kw(p, TIDE_SQL_KW_DISCARDING))
                em->mode = TIDE_SQL_ACC_DISCARDING;
            else if (accept_kw(p, TIDE_SQL_KW_RETRACTING))
                em->mode = TIDE_SQL_ACC_RETRACTING;
            else
                return expected(p, mode_kw ? "ACCUMULATING, DISCARDING or RETRACTING after MODE"
                                           : "a mode");
        } else {
            break;
        }
    }
    if (nparts == 0)
        return expected(p, "EARLY EVERY, ALLOW LATENESS or an accumulation mode after EMIT");
    em->pos = span(p, start);
    return em;
}

static tide_sql_select_item *parse_select_item(parser *p)
{
    tide_sql_pos start = tok_pos(&p->tok);
    tide_sql_expr *e;
    tide_sql_name alias = {0};
    if (is(p, TIDE_SQL_TOK_STAR)) {
        advance(p);
        return chk(p, tide_sql_ast_select_item(
                          p->s, chk_expr(p, tide_sql_ast_star(p->s, alias, start)), alias));
    }
    if (tok_is_name(&p->tok) && peek(p, 1)->kind == TIDE_SQL_TOK_DOT &&
        peek(p, 2)->kind == TIDE_SQL_TOK_STAR) {
        tide_sql_name q;
        if (!parse_name(p, &q, "a table name"))
            return NULL;
        advance(p); /* . */
        advance(p); /* * */
        e = chk_expr(p, tide_sql_ast_star(p->s, q, span(p, start)));
        return e ? chk(p, tide_sql_ast_select_item(p->s, e, alias)) : NULL;
    }
    if (!(e = parse_expr(p)))
        return NULL;
    if (accept_kw(p, TIDE_SQL_KW_AS)) {
        if (!parse_name(p, &alias, "an alias after AS"))
            return NULL;
    } else if (tok_is_name(&p->tok)) {
        if (!parse_name(p, &alias, "an alias"))
            return NULL;
    }
    return chk(p, tide_sql_ast_select_item(p->s, e, alias));
}

static tide_sql_query *parse_select(parser *p)
{
    tide_sql_pos start = tok_pos(&p->tok);
    tide_sql_vec items = {0}, group_by = {0};
    tide_sql_from *from = NULL;
    tide_sql_expr *where = NULL, *having = NULL;
    tide_sql_emit *emit = NULL;
    bool distinct = false;
    if (!expect_kw(p, TIDE_SQL_KW_SELECT, "SELECT"))
        return NULL;
    if (accept_kw(p, TIDE_SQL_KW_DISTINCT))
        distinct = true;
    else
        accept_kw(p, TIDE_SQL_KW_ALL);
    do {
        if (!push(p, &items, parse_select_item(p)))
            return NULL;
    } while (accept(p, TIDE_SQL_TOK_COMMA));
    if (accept_kw(p, TIDE_SQL_KW_FROM) && !(from = parse_from(p)))
        return NULL;
    if (accept_kw(p, TIDE_SQL_KW_WHERE) && !(where = parse_expr(p)))
        return NULL;
    if (accept_kw(p, TIDE_SQL_KW_GROUP)) {
        if (!expect_kw(p, TIDE_SQL_KW_BY, "BY after GROUP") || !parse_group_list(p, &group_by))
            return NULL;
    }
    if (accept_kw(p, TIDE_SQL_KW_HAVING) && !(having = parse_expr(p)))
        return NULL;
    tide_sql_vec windows = {0};
    if (at_window_clause(p)) {
        advance(p); /* WINDOW */
        do {
            tide_sql_name wname;
            tide_sql_over *spec;
            if (!parse_name(p, &wname, "a window name") ||
                !expect_kw(p, TIDE_SQL_KW_AS, "AS after the window name") || !(spec = parse_over_spec(p)))
                return NULL;
            if (!push(p, &windows, chk(p, tide_sql_ast_named_window(p->s, wname, spec))))
                return NULL;
        } while (accept(p, TIDE_SQL_TOK_COMMA));
    }
    if (is_kw(p, TIDE_SQL_KW_EMIT) && !(emit = parse_emit(p)))
        return NULL;
    tide_sql_select *sel = chk(p, tide_sql_ast_select(p->s, distinct, items, from, where, group_by,
                                                      having, emit, span(p, start)));
    if (sel && tide_sql_ast_select_windows(p->s, sel, windows) != 0)
        return oom(p);
    return sel ? chk_query(p, tide_sql_ast_query_select(p->s, sel, span(p, start))) : NULL;
}

/* ---- queries -------------------------------------------------------- */

static tide_sql_query *parse_term(parser *p)
{
    if (is(p, TIDE_SQL_TOK_LPAREN)) {
        advance(p);
        tide_sql_query *q = parse_query(p);
        if (!q || !expect(p, TIDE_SQL_TOK_RPAREN, "')' to close the query"))
            return NULL;
        return q;
    }
    if (!is_kw(p, TIDE_SQL_KW_SELECT))
        return expected(p, "SELECT");
    return parse_select(p);
}

static tide_sql_query *parse_query_body(parser *p)
{
    tide_sql_pos start = tok_pos(&p->tok);
    tide_sql_vec ctes = {0}, order = {0};
    tide_sql_expr *limit = NULL;
    if (accept_kw(p, TIDE_SQL_KW_WITH)) {
        do {
            tide_sql_name name;
            tide_sql_query *cq;
            if (!parse_name(p, &name, "a name for the WITH query") ||
                !expect_kw(p, TIDE_SQL_KW_AS, "AS after the WITH query's name") ||
                !expect(p, TIDE_SQL_TOK_LPAREN, "'(' before the WITH query") ||
                !(cq = parse_query(p)) ||
                !expect(p, TIDE_SQL_TOK_RPAREN, "')' after the WITH query"))
                return NULL;
            if (!push(p, &ctes, chk(p, tide_sql_ast_cte(p->s, name, cq))))
                return NULL;
        } while (accept(p, TIDE_SQL_TOK_COMMA));
    }
    tide_sql_query *q = parse_term(p);
    while (q && is_kw(p, TIDE_SQL_KW_UNION)) {
        tide_sql_pos kw = tok_pos(&p->tok); /* a UNION's position is its keyword */
        advance(p);
        bool all = accept_kw(p, TIDE_SQL_KW_ALL);
        if (!all)
            accept_kw(p, TIDE_SQL_KW_DISTINCT);
        tide_sql_query *r = parse_term(p);
        if (!r)
            return NULL;
        q = chk_query(p, tide_sql_ast_query_union(p->s, all, q, r, span(p, kw)));
    }
    if (!q)
        return NULL;
    if (is_kw(p, TIDE_SQL_KW_INTERSECT) || is_kw(p, TIDE_SQL_KW_EXCEPT))
        return fail(p, "INTERSECT and EXCEPT are not supported");
    if (accept_kw(p, TIDE_SQL_KW_ORDER)) {
        if (!expect_kw(p, TIDE_SQL_KW_BY, "BY after ORDER"))
            return NULL;
        do {
            tide_sql_expr *e = parse_expr(p);
            bool desc = false;
            if (!e)
                return NULL;
            if (accept_kw(p, TIDE_SQL_KW_DESC))
                desc = true;
            else
                accept_kw(p, TIDE_SQL_KW_ASC);
            if (!push(p, &order, chk(p, tide_sql_ast_order_item(p->s, e, desc))))
                return NULL;
        } while (accept(p, TIDE_SQL_TOK_COMMA));
    }
    if (accept_kw(p, TIDE_SQL_KW_LIMIT)) {
        int64_t n;
        if (!is(p, TIDE_SQL_TOK_INTEGER))
            return expected(p, "a row count after LIMIT");
        if (!parse_i64(p->src + p->tok.off, p->tok.len, &n))
            return fail(p, "integer literal out of range");
        limit = chk_expr(p, tide_sql_ast_int(p->s, n, tok_pos(&p->tok)));
        if (!limit)
            return NULL;
        advance(p);
    }
    if (ctes.n || order.n || limit) {
        if (tide_sql_ast_query_has_extras(q) &&
            !(q = chk_query(p, tide_sql_ast_query_nested(p->s, q, start))))
            return NULL;
        if (tide_sql_ast_query_finish(p->s, q, ctes, order, limit) != 0)
            return oom(p);
        q->pos = span(p, start);
    }
    return chk_query(p, q);
}

static tide_sql_query *parse_query(parser *p)
{
    if (!enter(p, "query"))
        return NULL;
    tide_sql_query *q = parse_query_body(p);
    leave(p);
    return q;
}

/* ---- statements ----------------------------------------------------- */

static tide_sql_stmt *parse_create_table(parser *p, tide_sql_pos start)
{
    tide_sql_name name, wm_col = {0};
    tide_sql_expr *wm = NULL;
    tide_sql_vec cols = {0}, opts = {0};
    bool if_not_exists = false;
    advance(p); /* TABLE */
    if (is_kw(p, TIDE_SQL_KW_IF) && tok_is_kw(peek(p, 1), TIDE_SQL_KW_NOT)) {
        advance(p);
        advance(p);
        if (!expect_kw(p, TIDE_SQL_KW_EXISTS, "EXISTS after IF NOT"))
            return NULL;
        if_not_exists = true;
    }
    if (!parse_name(p, &name, "a table name") ||
        !expect(p, TIDE_SQL_TOK_LPAREN, "'(' before the column list"))
        return NULL;
    do {
        if (is_kw(p, TIDE_SQL_KW_WATERMARK) && tok_is_kw(peek(p, 1), TIDE_SQL_KW_FOR)) {
            if (wm)
                return fail(p, "only one WATERMARK per table");
            advance(p);
            advance(p);
            if (!parse_name(p, &wm_col, "the event-time column after WATERMARK FOR") ||
                !expect_kw(p, TIDE_SQL_KW_AS, "AS after the watermark's column") ||
                !(wm = parse_expr(p)))
                return NULL;
            continue;
        }
        tide_sql_name col;
        tide_sql_type ty = {TIDE_TYPE_NULL, -1, {0}};
        tide_sql_expr *computed = NULL;
        bool not_null = false;
        if (!parse_name(p, &col, "a column name or WATERMARK"))
            return NULL;
        if (accept_kw(p, TIDE_SQL_KW_AS)) {
            if (!(computed = parse_expr(p)))
                return NULL;
        } else {
            if (!parse_type(p, &ty))
                return NULL;
            if (accept_kw(p, TIDE_SQL_KW_NOT)) {
                if (!expect_kw(p, TIDE_SQL_KW_NULL, "NULL after NOT"))
                    return NULL;
                not_null = true;
            }
        }
        if (!push(p, &cols, chk(p, tide_sql_ast_column_def(p->s, col, ty, not_null, computed))))
            return NULL;
    } while (accept(p, TIDE_SQL_TOK_COMMA));
    if (!expect(p, TIDE_SQL_TOK_RPAREN, "',' or ')' in the column list"))
        return NULL;
    if (accept_kw(p, TIDE_SQL_KW_WITH)) {
        if (!expect(p, TIDE_SQL_TOK_LPAREN, "'(' after WITH"))
            return NULL;
        do {
            tide_sql_token kt = p->tok, vt;
            size_t kn, vn;
            char *k, *v;
            if (kt.kind != TIDE_SQL_TOK_STRING)
                return expected(p, "an option name in quotes");
            if (!(k = decode_string(p, &kt, &kn)))
                return NULL;
            for (uint32_t i = 0; i < opts.n; i++) {
                const tide_sql_option *o = opts.items[i];
                if (o->key_len == kn && memcmp(o->key, k, kn) == 0)
                    return fail(p, "duplicate option '%s'", k);
            }
            advance(p);
            if (!expect(p, TIDE_SQL_TOK_EQ, "'=' after the option name"))
                return NULL;
            vt = p->tok;
            if (vt.kind != TIDE_SQL_TOK_STRING)
                return expected(p, "an option value in quotes");
            if (!(v = decode_string(p, &vt, &vn)))
                return NULL;
            advance(p);
            tide_sql_pos opos = span(p, tok_pos(&kt));
            if (!push(p, &opts, chk(p, tide_sql_ast_option(p->s, k, kn, v, vn, opos))))
                return NULL;
        } while (accept(p, TIDE_SQL_TOK_COMMA));
        if (!expect(p, TIDE_SQL_TOK_RPAREN, "',' or ')' in the WITH options"))
            return NULL;
    }
    return chk(p, tide_sql_ast_create_table(p->s, name, if_not_exists, cols, wm_col, wm, opts,
                                            span(p, start)));
}

static tide_sql_stmt *parse_stmt(parser *p)
{
    tide_sql_pos start = tok_pos(&p->tok);
    tide_sql_name name;
    tide_sql_query *q;
    if (accept_kw(p, TIDE_SQL_KW_CREATE)) {
        if (is_kw(p, TIDE_SQL_KW_TABLE))
            return parse_create_table(p, start);
        if (!accept_kw(p, TIDE_SQL_KW_VIEW))
            return expected(p, "TABLE or VIEW after CREATE");
        if (!parse_name(p, &name, "a view name") ||
            !expect_kw(p, TIDE_SQL_KW_AS, "AS after the view name") || !(q = parse_query(p)))
            return NULL;
        return chk(p, tide_sql_ast_create_view(p->s, name, q, span(p, start)));
    }
    if (accept_kw(p, TIDE_SQL_KW_INSERT)) {
        if (!expect_kw(p, TIDE_SQL_KW_INTO, "INTO after INSERT") ||
            !parse_name(p, &name, "a table name") || !(q = parse_query(p)))
            return NULL;
        return chk(p, tide_sql_ast_insert(p->s, name, q, span(p, start)));
    }
    if (is_kw(p, TIDE_SQL_KW_SELECT) || is_kw(p, TIDE_SQL_KW_WITH) || is(p, TIDE_SQL_TOK_LPAREN)) {
        if (!(q = parse_query(p)))
            return NULL;
        return chk(p, tide_sql_ast_query_stmt(p->s, q, span(p, start)));
    }
    if (accept_kw(p, TIDE_SQL_KW_SET)) { /* SET 'key' = 'value' */
        tide_sql_token kt = p->tok, vt;
        size_t kn = 0, vn = 0;
        char *k, *v;
        if (kt.kind != TIDE_SQL_TOK_STRING)
            return expected(p, "a setting's name in quotes after SET");
        if (!(k = decode_string(p, &kt, &kn)))
            return NULL;
        advance(p);
        if (!expect(p, TIDE_SQL_TOK_EQ, "'=' after the setting's name"))
            return NULL;
        vt = p->tok;
        if (vt.kind != TIDE_SQL_TOK_STRING)
            return expected(p, "a setting's value in quotes");
        if (!(v = decode_string(p, &vt, &vn)))
            return NULL;
        advance(p);
        tide_sql_option *kv = chk(p, tide_sql_ast_option(p->s, k, kn, v, vn, span(p, tok_pos(&kt))));
        return kv ? chk(p, tide_sql_ast_set(p->s, kv, span(p, start))) : NULL;
    }
    return expected(p, "a statement (CREATE, INSERT, SELECT, WITH or SET)");
}

int tide_sql_parse(const char *file, const char *src, size_t len, tide_sql_script **out,
                   tide_sql_error *err)
{
    tide_sql_error local;
    parser p = {0};
    tide_sql_vec stmts = {0};
    if (!err)
        err = &local;
    memset(err, 0, sizeof *err);
    snprintf(err->file, sizeof err->file, "%s", file ? file : "<input>");
    *out = NULL;
    p.src = src ? src : "";
    p.len = src ? len : 0;
    p.err = err;
    tide_sql_lex_init(&p.lx, p.src, p.len);
    tide_sql_lex_next(&p.lx, &p.tok);
    if (!(p.s = tide_sql_script_create())) {
        err->code = TIDE_ENOMEM;
        err->line = err->col = 1;
        snprintf(err->msg, sizeof err->msg, "out of memory");
        return TIDE_ENOMEM;
    }
    for (;;) {
        while (accept(&p, TIDE_SQL_TOK_SEMI))
            ;
        if (is(&p, TIDE_SQL_TOK_EOF))
            break;
        if (!push(&p, &stmts, parse_stmt(&p)))
            goto fail;
        if (!is(&p, TIDE_SQL_TOK_SEMI) && !is(&p, TIDE_SQL_TOK_EOF)) {
            expected(&p, "';' or end of input after the statement");
            goto fail;
        }
    }
    tide_sql_ast_set_stmts(p.s, stmts);
    *out = p.s;
    return 0;
fail:
    if (!err->code) { /* a rule returned NULL without saying why: a bug, but never crash */
        err->code = TIDE_EPARSE;
        snprintf(err->msg, sizeof err->msg, "syntax error");
    }
    tide_sql_script_free(p.s);
    return err->code;
}

/* ---- error rendering ------------------------------------------------ */

#define ERR_EXCERPT 60

int tide_sql_error_render(const tide_sql_error *err, const char *src, size_t len, tide_buf *out)
{
    int rc = tide_buf_printf(out, "%s:%u:%u: %s\n", err->file, err->line, err->col, err->msg);
    if (rc || !src)
        return rc;
    size_t off = err->off <= len ? err->off : len;
    size_t begin = off, end = off;
    while (begin > 0 && src[begin - 1] != '\n')
        begin--;
    while (end < len && src[end] != '\n')
        end++;
    if (end > begin && src[end - 1] == '\r' && end - 1 >= off)
        end--;
    /* at most an excerpt of ERR_EXCERPT bytes each side of the column (a
     * generated script can be one line of megabytes), cut at UTF-8
     * character starts and marked with "..." */
    bool cut_left = off - begin > ERR_EXCERPT, cut_right = end - off > ERR_EXCERPT;
    if (cut_left) {
        begin = off - ERR_EXCERPT;
        while (begin < off && ((unsigned char)src[begin] & 0xC0) == 0x80)
            begin++;
    }
    if (cut_right) {
        end = off + ERR_EXCERPT;
        while (end > off && ((unsigned char)src[end] & 0xC0) == 0x80)
            end--;
    }
    rc = tide_buf_append(out, cut_left ? "  ..." : "  ", cut_left ? 5 : 2);
    for (size_t i = begin; i < end && !rc; i++) {
        unsigned char c = (unsigned char)src[i];
        rc = tide_buf_putc(out, (c < 0x20 && c != '\t') || c == 0x7f ? '?' : c);
    }
    if (!rc && cut_right)
        rc = tide_buf_append(out, "...", 3);
    if (!rc)
        rc = tide_buf_append(out, cut_left ? "\n     " : "\n  ", cut_left ? 6 : 3);
    for (size_t i = begin; i < off && !rc; i++) {
        unsigned char c = (unsigned char)src[i];
        if ((c & 0xC0) != 0x80)
            rc = tide_buf_putc(out, c == '\t' ? '\t' : ' ');
    }
    if (!rc)
        rc = tide_buf_append(out, "^\n", 2);
    return rc;
}

int tide_sql_error_to_err(const tide_sql_error *err, tide_err *e)
{
    return tide_err_set(e, err->code ? err->code : TIDE_EPARSE, "%s:%u:%u: %s", err->file,
                        err->line, err->col, err->msg);
}
