/*
 * binder.h - from a parsed script to logical plans (sql/plan.h).
 *
 * The binder walks a script's statements in order:
 *   CREATE TABLE   checks columns (unique names, computed columns typed over
 *                  the physical ones), the WATERMARK (`col` or `col -
 *                  INTERVAL ...` on a TIMESTAMP column: event-time column +
 *                  bound in ms) and the WITH options (connector known, option
 *                  names known for it, required ones present, values
 *                  accepted by connect/source.h or sink.h), then adds the
 *                  table to the catalog;
 *   CREATE VIEW    binds the query (to check it) and adds the view;
 *   INSERT INTO    binds the query and plans it into a Sink on the target,
 *                  checking the column count and types (a changelog query
 *                  needs an `op` STRING column in the target);
 *   query          binds and plans it into a Sink on stdout.
 * Name resolution: qualified and unqualified columns (ambiguity is an
 * error), aliases, subqueries, CTEs, views, window TVFs (DESCRIPTOR must
 * name the input's event-time column), UNION ALL, GROUP BY / HAVING /
 * aggregates (exec/agg.h's registry decides what an aggregate accepts and
 * returns), the EMIT clause.  Unknown names get "did you mean" suggestions.
 * Event-time columns (what DESCRIPTOR accepts): a table's WATERMARK column
 * and the window_time of a window TVF or window aggregation (so windows
 * cascade), kept through plain column references, a UNION ALL (when every
 * branch has it), an interval join, and a join per window (ON equating two
 * windowed sides' window_end: Flink keeps a window join's time attributes);
 * other joins and unwindowed aggregations drop them.
 *
 * Errors are tide_sql_error (sql/parser.h) with the position of the
 * offending node: code TIDE_EPARSE for a syntax error, TIDE_EINVAL for a
 * name/type/semantic error, TIDE_EUNSUPPORTED for valid SQL tide cannot
 * run (ORDER BY, UNION without ALL, ...), TIDE_ENOMEM.  Render them with
 * tide_sql_error_render.
 */
#ifndef TIDE_SQL_BINDER_H
#define TIDE_SQL_BINDER_H

#include "sql/ast.h"
#include "sql/catalog.h"
#include "sql/parser.h"
#include "sql/plan.h"

#include <stddef.h>

/* Bind a parsed script against `cat`.  Takes ownership of `script` in every
 * case (the catalog keeps it: its DDL entries borrow from it).  On success
 * *out is the program (one plan per INSERT / query statement; free with
 * tide_sql_program_free, before the catalog).  On failure *out is NULL, the
 * catalog is as it was before the call and `err` says where and why
 * (err->file is left as the caller set it; "<input>" if empty). */
int tide_sql_bind(tide_sql_catalog *cat, tide_sql_script *script, tide_sql_program **out,
                  tide_sql_error *err);

/* Parse (sql/parser.h) and bind.  `file` names the text in errors. */
int tide_sql_compile(tide_sql_catalog *cat, const char *file, const char *src, size_t len,
                     tide_sql_program **out, tide_sql_error *err);

#endif
