/*
 * catalog.h - the tables and views a SQL session knows, and name
 * suggestions ("did you mean ...?").
 *
 * Entries come from CREATE TABLE / CREATE VIEW statements, registered by the
 * binder (sql/binder.h) in script order.  The catalog keeps the scripts
 * they came from alive (it takes them over from the binder), so an entry's
 * names, expressions and option strings are borrowed from those scripts and
 * stay valid until tide_sql_catalog_free.
 *
 * Connectors and their WITH options (the names connect/source.h and
 * connect/sink.h accept):
 *   file    path (required), format, csv.header, csv.delimiter    source, sink
 *   topic   topic (required), data, format, csv.header, csv.delimiter,
 *           scan.bounded.mode, scan.startup.mode, rowtime.column,
 *           key.column                                             source, sink
 *   stdin   format, csv.header, csv.delimiter                      source
 *   stdout  format, csv.header, csv.delimiter                      sink
 *   logins  seed, events (or count), users, span (ms), start / end (a
 *           timestamp or epoch ms), late.share, max.delay, rate,
 *           zipf                                                   source
 * `connector` itself is required.  Unknown names are errors with the
 * closest known name suggested.
 *
 * Not thread-safe while being added to; read-only use is.
 */
#ifndef TIDE_SQL_CATALOG_H
#define TIDE_SQL_CATALOG_H

#include "sql/ast.h"
#include "sql/plan.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum tide_sql_connector {
    TIDE_SQL_CONN_FILE,
    TIDE_SQL_CONN_TOPIC,
    TIDE_SQL_CONN_STDIN,
    TIDE_SQL_CONN_STDOUT,
    TIDE_SQL_CONN_LOGINS,
} tide_sql_connector;

const char *tide_sql_connector_name(tide_sql_connector c); /* "file", ... */
bool tide_sql_connector_is_source(tide_sql_connector c);
bool tide_sql_connector_is_sink(tide_sql_connector c);

/* One column of a table. */
typedef struct tide_sql_table_col {
    const char *name;
    tide_type type;
    bool nullable;
    const tide_sql_expr *computed; /* NULL: physical */
    uint32_t phys;                 /* physical: index among the physical columns */
} tide_sql_table_col;

/* A table or a view.  Read-only outside the catalog. */
struct tide_sql_table {
    const char *name;
    tide_sql_pos pos;         /* of its CREATE statement's name */
    bool is_view;
    const tide_sql_query *view; /* view: its query (bound again where used) */
    /* tables: */
    tide_sql_table_col *cols;
    uint32_t ncols, nphys;
    int time_col;             /* index in cols of the WATERMARK column, or -1 */
    int64_t wm_bound;         /* ms subtracted from max(ts) */
    tide_sql_connector connector;
    const tide_sql_option *options;
    uint32_t noptions;
};

typedef struct tide_sql_catalog tide_sql_catalog;

/* 0 or TIDE_ENOMEM. */
int tide_sql_catalog_create(tide_sql_catalog **out);
/* Frees every entry and the scripts they borrow from.  NULL is a no-op. */
void tide_sql_catalog_free(tide_sql_catalog *c);

/* Look a table or view up by name (case-insensitive); NULL if none. */
const tide_sql_table *tide_sql_catalog_find(const tide_sql_catalog *c, const char *name);
uint32_t tide_sql_catalog_count(const tide_sql_catalog *c);
const tide_sql_table *tide_sql_catalog_at(const tide_sql_catalog *c, uint32_t i);

/* ---- for the binder ---- */

/* Add an entry (the struct is copied; its pointers stay borrowed).
 * TIDE_EEXIST if the name is taken, TIDE_ENOMEM. */
int tide_sql_catalog_add(tide_sql_catalog *c, const tide_sql_table *t);
/* Remove the entries added after the first `n` (a failed script's). */
void tide_sql_catalog_truncate(tide_sql_catalog *c, uint32_t n);
/* Take ownership of a script (freed with the catalog).  0 or TIDE_ENOMEM
 * (then the caller still owns it). */
int tide_sql_catalog_keep(tide_sql_catalog *c, tide_sql_script *s);

/* Memory for entries' arrays (lives as long as the catalog); NULL on ENOMEM. */
void *tide_sql_catalog_alloc(tide_sql_catalog *c, size_t n);

/* Connector by name (case-insensitive); false if unknown. */
bool tide_sql_connector_parse(const char *s, tide_sql_connector *out);
/* Whether `key` is an option of connector c (`connector` is of every one). */
bool tide_sql_connector_has_option(tide_sql_connector c, const char *key);
/* The options connector c requires, NULL-terminated. */
const char *const *tide_sql_connector_required(tide_sql_connector c);
/* The options connector c knows, NULL-terminated. */
const char *const *tide_sql_connector_options(tide_sql_connector c);

/* ---- suggestions ---- */

/* Edit distance between a and b (insertions, deletions, substitutions and
 * swaps of adjacent characters, each 1), ASCII case-insensitive, capped at
 * `cap` (returns cap when the distance is >= cap, or a name is over 64 bytes). */
uint32_t tide_sql_edit_distance(const char *a, size_t alen, const char *b, size_t blen, uint32_t cap);

/* Pick the best candidate for a misspelt `name`: the smallest non-zero
 * distance, accepted when it is at most 1 (names of up to 3 bytes), 2 (up
 * to 8) or 3, and smaller than both names' lengths (so 'x' never
 * suggests 'l'); ties go to the first offered.  Call tide_sql_suggest_offer
 * for each candidate. */
typedef struct tide_sql_suggest {
    const char *name;
    size_t len;
    const char *best;
    uint32_t best_d;
} tide_sql_suggest;

void tide_sql_suggest_init(tide_sql_suggest *s, const char *name, size_t len);
void tide_sql_suggest_offer(tide_sql_suggest *s, const char *cand);
/* The suggestion or NULL. */
const char *tide_sql_suggest_best(const tide_sql_suggest *s);

#endif
