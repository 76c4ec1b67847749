#include "sql/lexer.h"

#include <string.h>

static const struct {
    const char *name;
    bool reserved;
} kw_table[] = {{"", false},
#define TIDE__SQL_KW_ROW(name, reserved) {#name, reserved},
                TIDE_SQL_KEYWORD_MAP(TIDE__SQL_KW_ROW)
#undef TIDE__SQL_KW_ROW
};

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}
static bool is_digit(int c)
{
    return c >= '0' && c <= '9';
}
static bool is_word_start(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}
static bool is_word_char(int c)
{
    return is_word_start(c) || is_digit(c);
}

tide_sql_kw tide_sql_lex_keyword(const char *s, size_t n)
{
    /* the table is sorted by name: binary search, case-insensitive */
    size_t lo = 1, hi = TIDE_SQL_KW_COUNT;
    if (n == 0 || n > 16)
        return TIDE_SQL_KW_NONE;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *k = kw_table[mid].name;
        int cmp = 0;
        size_t i = 0;
        for (; i < n && k[i]; i++) {
            cmp = lower((unsigned char)s[i]) - lower((unsigned char)k[i]);
            if (cmp)
                break;
        }
        if (!cmp)
            cmp = i < n ? 1 : (k[i] ? -1 : 0);
        if (cmp == 0)
            return (tide_sql_kw)mid;
        if (cmp < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return TIDE_SQL_KW_NONE;
}

const char *tide_sql_lex_kw_name(tide_sql_kw kw)
{
    return (unsigned)kw < TIDE_SQL_KW_COUNT ? kw_table[kw].name : "";
}

bool tide_sql_lex_kw_reserved(tide_sql_kw kw)
{
    return (unsigned)kw < TIDE_SQL_KW_COUNT && kw_table[kw].reserved;
}

bool tide_sql_lex_needs_quotes(const char *s, size_t n)
{
    if (n == 0 || !((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
        return true;
    for (size_t i = 1; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '_' || is_digit((unsigned char)s[i])))
            return true;
    return tide_sql_lex_kw_reserved(tide_sql_lex_keyword(s, n));
}

void tide_sql_lex_init(tide_sql_lexer *lx, const char *src, size_t len)
{
    lx->src = src;
    lx->len = len;
    lx->pos = 0;
    lx->line = 1;
    lx->col = 1;
}

/* Advance one byte, keeping line and column (code points) up to date. */
static void bump(tide_sql_lexer *lx)
{
    unsigned char c = (unsigned char)lx->src[lx->pos++];
    if (c == '\n') {
        lx->line++;
        lx->col = 1;
    } else if ((c & 0xC0) != 0x80) {
        lx->col++;
    }
}

static int peek(const tide_sql_lexer *lx, size_t ahead)
{
    return lx->pos + ahead < lx->len ? (unsigned char)lx->src[lx->pos + ahead] : -1;
}

/* Skip whitespace and comments.  Returns an error message for an
 * unterminated block comment (t positioned at its start), else NULL. */
static const char *skip_space(tide_sql_lexer *lx, tide_sql_token *t)
{
    for (;;) {
        int c = peek(lx, 0);
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
            bump(lx);
        } else if (c == '-' && peek(lx, 1) == '-') {
            while (lx->pos < lx->len && lx->src[lx->pos] != '\n')
                bump(lx);
        } else if (c == '/' && peek(lx, 1) == '*') {
            t->line = lx->line;
            t->col = lx->col;
            t->off = lx->pos;
            bump(lx);
            bump(lx);
            for (;;) {
                if (lx->pos >= lx->len)
                    return "unterminated comment";
                if (peek(lx, 0) == '*' && peek(lx, 1) == '/') {
                    bump(lx);
                    bump(lx);
                    break;
                }
                bump(lx);
            }
        } else {
            return NULL;
        }
    }
}

/* A quoted run ending at `q`; a doubled `q` is an escaped quote.  Returns
 * false when the input ends first.  A NUL byte inside (which would cut a
 * path or a name where C strings take over) moves t's position to the
 * first one and sets t->err. */
static bool quoted_run(tide_sql_lexer *lx, int q, tide_sql_token *t)
{
    bump(lx); /* opening quote */
    for (;;) {
        int c = peek(lx, 0);
        if (c < 0)
            return false;
        if (c == 0 && !t->err) {
            t->line = lx->line;
            t->col = lx->col;
            t->off = lx->pos;
            t->err = q == '\'' ? "a NUL byte inside a string literal" : "a NUL byte inside a quoted identifier";
        }
        bump(lx);
        if (c == q) {
            if (peek(lx, 0) != q)
                return true;
            bump(lx);
        }
    }
}

void tide_sql_lex_next(tide_sql_lexer *lx, tide_sql_token *t)
{
    memset(t, 0, sizeof *t);
    const char *err = skip_space(lx, t);
    if (err) {
        t->kind = TIDE_SQL_TOK_ERROR;
        t->err = err;
        t->len = lx->pos - t->off;
        return;
    }
    t->line = lx->line;
    t->col = lx->col;
    t->off = lx->pos;
    int c = peek(lx, 0);
    if (c < 0) {
        t->kind = TIDE_SQL_TOK_EOF;
        return;
    }
    int c1 = peek(lx, 1);
    if (is_word_start(c)) {
        while (lx->pos < lx->len && is_word_char((unsigned char)lx->src[lx->pos]))
            bump(lx);
        t->kind = TIDE_SQL_TOK_WORD;
        t->kw = tide_sql_lex_keyword(lx->src + t->off, lx->pos - t->off);
    } else if (is_digit(c) || (c == '.' && is_digit(c1))) {
        bool dec = false;
        while (is_digit(peek(lx, 0)))
            bump(lx);
        if (peek(lx, 0) == '.') {
            dec = true;
            bump(lx);
            while (is_digit(peek(lx, 0)))
                bump(lx);
        }
        int e = peek(lx, 0);
        if (e == 'e' || e == 'E') {
            int s = peek(lx, 1);
            size_t k = (s == '+' || s == '-') ? 2 : 1;
            if (is_digit(peek(lx, k))) {
                dec = true;
                while (k--)
                    bump(lx);
                while (is_digit(peek(lx, 0)))
                    bump(lx);
            }
        }
        t->kind = dec ? TIDE_SQL_TOK_DECIMAL : TIDE_SQL_TOK_INTEGER;
        if (is_word_start(peek(lx, 0))) {
            while (lx->pos < lx->len && is_word_char((unsigned char)lx->src[lx->pos]))
                bump(lx);
            t->kind = TIDE_SQL_TOK_ERROR;
            t->err = "invalid number";
        }
    } else if (c == '\'') {
        t->kind = TIDE_SQL_TOK_STRING;
        if (!quoted_run(lx, '\'', t)) {
            t->kind = TIDE_SQL_TOK_ERROR;
            t->err = "unterminated string literal";
        } else if (t->err) {
            t->kind = TIDE_SQL_TOK_ERROR;
        }
    } else if (c == '`' || c == '"') {
        t->kind = TIDE_SQL_TOK_QUOTED_IDENT;
        if (!quoted_run(lx, c, t)) {
            t->kind = TIDE_SQL_TOK_ERROR;
            t->err = "unterminated quoted identifier";
        } else if (t->err) {
            t->kind = TIDE_SQL_TOK_ERROR;
        } else if (lx->pos - t->off == 2) {
            t->kind = TIDE_SQL_TOK_ERROR;
            t->err = "empty quoted identifier";
        }
    } else {
        tide_sql_tok_kind k;
        size_t n = 1;
        switch (c) {
        case '(':
            k = TIDE_SQL_TOK_LPAREN;
            break;
        case ')':
            k = TIDE_SQL_TOK_RPAREN;
            break;
        case ',':
            k = TIDE_SQL_TOK_COMMA;
            break;
        case '.':
            k = TIDE_SQL_TOK_DOT;
            break;
        case ';':
            k = TIDE_SQL_TOK_SEMI;
            break;
        case '+':
            k = TIDE_SQL_TOK_PLUS;
            break;
        case '-':
            k = TIDE_SQL_TOK_MINUS;
            break;
        case '*':
            k = TIDE_SQL_TOK_STAR;
            break;
        case '/':
            k = TIDE_SQL_TOK_SLASH;
            break;
        case '%':
            k = TIDE_SQL_TOK_PERCENT;
            break;
        case '=':
            k = TIDE_SQL_TOK_EQ;
            n = c1 == '=' ? 2 : 1;
            break;
        case '|':
            k = c1 == '|' ? TIDE_SQL_TOK_CONCAT : TIDE_SQL_TOK_ERROR;
            n = c1 == '|' ? 2 : 1;
            break;
        case '!':
            k = c1 == '=' ? TIDE_SQL_TOK_NE : TIDE_SQL_TOK_ERROR;
            n = c1 == '=' ? 2 : 1;
            break;
        case '<':
            k = c1 == '=' ? TIDE_SQL_TOK_LE : c1 == '>' ? TIDE_SQL_TOK_NE : TIDE_SQL_TOK_LT;
            n = (c1 == '=' || c1 == '>') ? 2 : 1;
            break;
        case '>':
            k = c1 == '=' ? TIDE_SQL_TOK_GE : TIDE_SQL_TOK_GT;
            n = c1 == '=' ? 2 : 1;
            break;
        default:
            k = TIDE_SQL_TOK_ERROR;
            break;
        }
        t->kind = k;
        if (k == TIDE_SQL_TOK_ERROR) {
            t->err = "unexpected character";
            /* skip a whole UTF-8 sequence so the error shows one character */
            bump(lx);
            while (lx->pos < lx->len && ((unsigned char)lx->src[lx->pos] & 0xC0) == 0x80)
                bump(lx);
            n = 0;
        }
        while (n--)
            bump(lx);
    }
    t->len = lx->pos - t->off;
}
