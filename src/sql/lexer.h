/*
 * lexer.h - the tokenizer of tide's SQL dialect.
 *
 * The lexer turns a script (bytes, not necessarily NUL-terminated) into
 * tokens, one call at a time.  A token is a span of the source (byte offset
 * and length) plus its 1-based line and column; columns count UTF-8 code
 * points, so a caret drawn under a column lines up with what an editor shows.
 *
 * Words are one token kind, TIDE_SQL_TOK_WORD, with `kw` set when the word
 * (case-insensitively) is one of the keywords below.  Reserved keywords can
 * never be identifiers; non-reserved ones (DAY, ROWS, DESCRIPTOR, ...) are
 * keywords only where the grammar expects them and names everywhere else.
 * `quoted` and "quoted" identifiers are TIDE_SQL_TOK_QUOTED_IDENT: never
 * keywords, case preserved, a doubled quote character stands for itself.
 *
 * Whitespace, `-- line` comments and block comments (slash-star to
 * star-slash, not nested) are skipped.
 * Lexical errors (an unterminated string, a stray character) come back as a
 * TIDE_SQL_TOK_ERROR token whose `err` names the problem; the position is
 * where the bad token starts.  The lexer never reads past `len`.
 */
#ifndef TIDE_SQL_LEXER_H
#define TIDE_SQL_LEXER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum tide_sql_tok_kind {
    TIDE_SQL_TOK_EOF,
    TIDE_SQL_TOK_ERROR,
    TIDE_SQL_TOK_WORD,         /* identifier or keyword */
    TIDE_SQL_TOK_QUOTED_IDENT, /* `name` or "name" */
    TIDE_SQL_TOK_INTEGER,      /* 123 */
    TIDE_SQL_TOK_DECIMAL,      /* 1.5  .5  1e3  2.5E-3 */
    TIDE_SQL_TOK_STRING,       /* 'it''s' (span includes the quotes) */
    TIDE_SQL_TOK_LPAREN,
    TIDE_SQL_TOK_RPAREN,
    TIDE_SQL_TOK_COMMA,
    TIDE_SQL_TOK_DOT,
    TIDE_SQL_TOK_SEMI,
    TIDE_SQL_TOK_PLUS,
    TIDE_SQL_TOK_MINUS,
    TIDE_SQL_TOK_STAR,
    TIDE_SQL_TOK_SLASH,
    TIDE_SQL_TOK_PERCENT,
    TIDE_SQL_TOK_CONCAT, /* || */
    TIDE_SQL_TOK_EQ,     /* = */
    TIDE_SQL_TOK_NE,     /* <> or != */
    TIDE_SQL_TOK_LT,
    TIDE_SQL_TOK_LE,
    TIDE_SQL_TOK_GT,
    TIDE_SQL_TOK_GE,
} tide_sql_tok_kind;

/* The keywords: X(name, reserved).  Reserved words cannot name a column,
 * table or alias unless quoted. */
#define TIDE_SQL_KEYWORD_MAP(X)                                                                    \
    X(ACCUMULATING, 0)                                                                             \
    X(ALL, 1)                                                                                      \
    X(ALLOW, 0)                                                                                    \
    X(AND, 1)                                                                                      \
    X(AS, 1)                                                                                       \
    X(ASC, 1)                                                                                      \
    X(BETWEEN, 1)                                                                                  \
    X(BY, 1)                                                                                       \
    X(CASE, 1)                                                                                     \
    X(CAST, 1)                                                                                     \
    X(CREATE, 1)                                                                                   \
    X(CROSS, 1)                                                                                    \
    X(DAY, 0)                                                                                      \
    X(DAYS, 0)                                                                                     \
    X(DESC, 1)                                                                                     \
    X(DESCRIPTOR, 0)                                                                               \
    X(DISCARDING, 0)                                                                               \
    X(DISTINCT, 1)                                                                                 \
    X(EARLY, 0)                                                                                    \
    X(ELSE, 1)                                                                                     \
    X(EMIT, 1)                                                                                     \
    X(END, 1)                                                                                      \
    X(ESCAPE, 0)                                                                                   \
    X(EVERY, 0)                                                                                    \
    X(EXCEPT, 1)                                                                                   \
    X(EXISTS, 1)                                                                                   \
    X(FALSE, 1)                                                                                    \
    X(FOR, 1)                                                                                      \
    X(FROM, 1)                                                                                     \
    X(FULL, 1)                                                                                     \
    X(GROUP, 1)                                                                                    \
    X(HAVING, 1)                                                                                   \
    X(HOUR, 0)                                                                                     \
    X(HOURS, 0)                                                                                    \
    X(IF, 0)                                                                                       \
    X(IN, 1)                                                                                       \
    X(INNER, 1)                                                                                    \
    X(INSERT, 1)                                                                                   \
    X(INTERSECT, 1)                                                                                \
    X(INTERVAL, 1)                                                                                 \
    X(INTO, 1)                                                                                     \
    X(IS, 1)                                                                                       \
    X(JOIN, 1)                                                                                     \
    X(LATENESS, 0)                                                                                 \
    X(LEFT, 1)                                                                                     \
    X(LIKE, 1)                                                                                     \
    X(LIMIT, 1)                                                                                    \
    X(MINUTE, 0)                                                                                   \
    X(MINUTES, 0)                                                                                  \
    X(MODE, 0)                                                                                     \
    X(MONTH, 0)                                                                                    \
    X(MONTHS, 0)                                                                                   \
    X(NOT, 1)                                                                                      \
    X(NULL, 1)                                                                                     \
    X(ON, 1)                                                                                       \
    X(OR, 1)                                                                                       \
    X(ORDER, 1)                                                                                    \
    X(OUTER, 1)                                                                                    \
    X(OVER, 1)                                                                                     \
    X(PARTITION, 0)                                                                                \
    X(RETRACTING, 0)                                                                               \
    X(RIGHT, 1)                                                                                    \
    X(ROWS, 0)                                                                                     \
    X(SECOND, 0)                                                                                   \
    X(SECONDS, 0)                                                                                  \
    X(SELECT, 1)                                                                                   \
    X(SET, 0)                                                                                      \
    X(TABLE, 1)                                                                                    \
    X(THEN, 1)                                                                                     \
    X(TIMESTAMP, 0)                                                                                \
    X(TO, 0)                                                                                       \
    X(TRUE, 1)                                                                                     \
    X(UNION, 1)                                                                                    \
    X(VIEW, 0)                                                                                     \
    X(WATERMARK, 0)                                                                                \
    X(WHEN, 1)                                                                                     \
    X(WHERE, 1)                                                                                    \
    X(WITH, 1)                                                                                     \
    X(YEAR, 0)                                                                                     \
    X(YEARS, 0)

typedef enum tide_sql_kw {
    TIDE_SQL_KW_NONE = 0,
#define TIDE__SQL_KW_ENUM(name, reserved) TIDE_SQL_KW_##name,
    TIDE_SQL_KEYWORD_MAP(TIDE__SQL_KW_ENUM)
#undef TIDE__SQL_KW_ENUM
        TIDE_SQL_KW_COUNT
} tide_sql_kw;

typedef struct tide_sql_token {
    tide_sql_tok_kind kind;
    tide_sql_kw kw;     /* for TIDE_SQL_TOK_WORD, else TIDE_SQL_KW_NONE */
    uint32_t line, col; /* 1-based; col counts code points */
    size_t off, len;    /* the token's bytes in the source */
    const char *err;    /* TIDE_SQL_TOK_ERROR: static message */
} tide_sql_token;

typedef struct tide_sql_lexer {
    const char *src;
    size_t len;
    size_t pos;
    uint32_t line, col;
} tide_sql_lexer;

/* Start lexing src[0, len).  The source is borrowed and must outlive the
 * lexer and its tokens. */
void tide_sql_lex_init(tide_sql_lexer *lx, const char *src, size_t len);

/* The next token.  After EOF every call returns EOF again.  After an ERROR
 * token the lexer has skipped the offending byte(s), so a caller may go on. */
void tide_sql_lex_next(tide_sql_lexer *lx, tide_sql_token *t);

/* The keyword spelled by s[0, n) (any case), or TIDE_SQL_KW_NONE. */
tide_sql_kw tide_sql_lex_keyword(const char *s, size_t n);
/* "SELECT", ...; "" for TIDE_SQL_KW_NONE. */
const char *tide_sql_lex_kw_name(tide_sql_kw kw);
bool tide_sql_lex_kw_reserved(tide_sql_kw kw);
/* A word that must be quoted to be read back as an identifier: a reserved
 * keyword, or not of the form [a-z_][a-z0-9_]* (lowercase). */
bool tide_sql_lex_needs_quotes(const char *s, size_t n);

#endif
