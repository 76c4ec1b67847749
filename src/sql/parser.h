/*
 * parser.h - tide's SQL parser: a script's text to a tree (sql/ast.h).
 *
 * The dialect is Flink SQL's wherever Flink has an answer, plus an EMIT
 * clause for triggers and lateness.  Keywords and unquoted identifiers are
 * case-insensitive (identifiers fold to lowercase); `backticks` or "double
 * quotes" keep a name's case and let it be a keyword.
 *
 * The grammar (brackets: optional; braces: repeated; | : alternatives):
 *
 *   script     := [stmt] { ';' [stmt] }
 *   stmt       := create_table | create_view | insert | query
 *   create_table := CREATE TABLE [IF NOT EXISTS] name '(' element {',' element} ')'
 *                   [WITH '(' 'key' '=' 'value' {',' 'key' '=' 'value'} ')']
 *   element    := name type [NOT NULL]                    -- a physical column
 *               | name AS expr                            -- a computed column
 *               | WATERMARK FOR name AS expr              -- at most one
 *   type       := BOOLEAN | BIGINT | INT | INTEGER | DOUBLE | STRING
 *               | VARCHAR ['(' n ')'] | TIMESTAMP ['(' 3 ')'] | TIMESTAMP_LTZ ['(' 3 ')']
 *               | (DECIMAL | DEC | NUMERIC) ['(' p [',' s] ')']   (1 <= p <= 38, 0 <= s <= p;
 *                 default (10, 0))
 *   create_view := CREATE VIEW name AS query
 *   insert     := INSERT INTO name query
 *
 *   query      := [WITH name AS '(' query ')' {',' name AS '(' query ')'}]
 *                 term { UNION [ALL | DISTINCT] term }
 *                 [ORDER BY expr [ASC | DESC] {',' ...}] [LIMIT integer]
 *   term       := select | '(' query ')'
 *   select     := SELECT [DISTINCT | ALL] item {',' item}
 *                 [FROM from] [WHERE expr] [GROUP BY expr {',' expr}]
 *                 [HAVING expr] [emit]
 *   item       := '*' | name '.' '*' | expr [[AS] alias]
 *   from       := from_item { (',' | [INNER] JOIN | LEFT [OUTER] JOIN | RIGHT [OUTER] JOIN
 *                              | FULL [OUTER] JOIN | CROSS JOIN) from_item [ON expr] }
 *                 -- ON is required after (INNER/LEFT/RIGHT/FULL) JOIN, absent otherwise;
 *                 -- joins and commas associate to the left
 *   from_item  := name [[AS] alias] | '(' query ')' [[AS] alias]
 *               | TABLE '(' window ')' [[AS] alias]
 *   window     := TUMBLE   '(' input ',' descr ',' size [',' offset] ')'
 *               | HOP      '(' input ',' descr ',' slide ',' size [',' offset] ')'
 *               | CUMULATE '(' input ',' descr ',' step ',' max [',' offset] ')'
 *               | SESSION  '(' input [PARTITION BY (col | '(' col {',' col} ')')] ','
 *                              descr ',' gap ')'
 *   descr      := DESCRIPTOR '(' col ')'         -- the event-time column
 *   input      := TABLE name | TABLE '(' query ')' | '(' query ')'
 *
 *   emit       := EMIT emit_part {emit_part}     -- each part at most once, any order
 *   emit_part  := EARLY EVERY (INTERVAL 'n' unit | n ROWS)   -- early (speculative) firings
 *               | ALLOW LATENESS INTERVAL 'n' unit           -- late firings until end + lateness
 *               | [MODE] (ACCUMULATING | DISCARDING | RETRACTING)
 *     Without EMIT a window fires once, when the watermark passes its end, and
 *     late records go to the late-data output; ACCUMULATING re-emits the whole
 *     result on every firing, DISCARDING only what changed since the last one,
 *     RETRACTING emits -U old / +U new pairs.  The printer writes the parts in
 *     the order above, without MODE.
 *
 *   expr       := literal | name ['.' name] | func | '(' expr ')'
 *               | CAST '(' expr AS type ')'
 *               | FLOOR '(' expr TO unit ')' | CEIL '(' expr TO unit ')'
 *               | CASE [expr] WHEN expr THEN expr {WHEN expr THEN expr} [ELSE expr] END
 *               | (- | +) expr | NOT expr | expr op expr
 *               | expr IS [NOT] NULL | expr [NOT] BETWEEN expr AND expr
 *               | expr [NOT] IN '(' expr {',' expr} ')' | expr [NOT] LIKE expr [ESCAPE expr]
 *   func       := name '(' [[DISTINCT | ALL] expr {',' expr} | '*'] ')'
 *   op         := OR | AND | = | <> | != | < | <= | > | >= | + | - | * | / | % | '||'
 *   literal    := integer | decimal | 'string' | TRUE | FALSE | NULL
 *               | TIMESTAMP 'yyyy-mm-dd hh:mm:ss[.fff]' | INTERVAL 'n' unit
 *   unit       := SECOND | MINUTE | HOUR | DAY | MONTH | YEAR  (plural forms accepted)
 *
 * Precedence: see ast.h (`||` binds like `*`, as in Flink).  Nesting
 * (parentheses, prefix operators, subqueries) deeper than TIDE_SQL_MAX_DEPTH
 * and trees taller than TIDE_SQL_MAX_HEIGHT are errors, so no input can
 * exhaust the stack.
 *
 * The parser only checks syntax.  Names, types, which connectors exist and
 * what a streaming plan can execute are the binder's and planner's business.
 */
#ifndef TIDE_SQL_PARSER_H
#define TIDE_SQL_PARSER_H

#include "base/buf.h"
#include "base/err.h"
#include "sql/ast.h"

#include <stddef.h>
#include <stdint.h>

#define TIDE_SQL_MAX_DEPTH 200

/* A parse error: where and what.  `line`/`col` are 1-based (col counts
 * code points); `off` is the byte offset of the offending token. */
typedef struct tide_sql_error {
    int code;       /* 0, TIDE_EPARSE, or TIDE_ENOMEM */
    char file[256]; /* the name given to tide_sql_parse (truncated) */
    uint32_t line, col;
    size_t off;
    char msg[256]; /* "expected ')' after function arguments, found 'FROM'" */
} tide_sql_error;

/* Parse a script.  `file` names the source in errors (NULL: "<input>");
 * src[0, len) need not be NUL-terminated and is not kept.  On success
 * returns 0 and *out is a script the caller frees with tide_sql_script_free.
 * On failure returns TIDE_EPARSE (or TIDE_ENOMEM), *out is NULL and `err`
 * (if not NULL) says where and why; the first error stops the parse. */
int tide_sql_parse(const char *file, const char *src, size_t len, tide_sql_script **out,
                   tide_sql_error *err);

/* Append the error as a compiler would show it:
 *
 *   file.sql:3:14: expected ')' after function arguments, found 'FROM'
 *     SELECT COUNT(x FROM t
 *                    ^
 *
 * i.e. "file:LINE:COL: message\n", then the source line indented by two
 * spaces and a caret under the column (tabs in the line are kept so the
 * caret lines up; control characters show as '?').  `src`/`len` must be
 * the text that was parsed.  0 or TIDE_ENOMEM. */
int tide_sql_error_render(const tide_sql_error *err, const char *src, size_t len, tide_buf *out);

/* Record the error in a tide_err as "file:LINE:COL: message". */
int tide_sql_error_to_err(const tide_sql_error *err, tide_err *e);

#endif
