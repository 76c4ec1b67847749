/*
 * catalog.c - tables, views, connectors' option names, suggestions.
 */
#include "sql/catalog.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct tide_sql_catalog {
    tide_arena arena;
    tide_sql_table *tables;
    uint32_t n, cap;
    tide_sql_script **scripts;
    uint32_t nscripts, capscripts;
};

/* ---- connectors ---- */

static const char *const conn_names[] = {"file", "topic", "stdin", "stdout", "logins"};

/* The watermark policy options every source takes (connect/source.h). */
#define WM_OPTS                                                                                        \
    "scan.watermark.idle-timeout", "source.idle-timeout", "scan.watermark.quiet-advance",               \
        "scan.watermark.future-bound"

static const char *const opts_file[] = {"connector",     "path",      "format", "csv.header",
                                        "csv.delimiter", "dead-letter", WM_OPTS, NULL};
static const char *const opts_topic[] = {"connector",         "topic",
                                         "data",              "format",
                                         "csv.header",        "csv.delimiter",
                                         "scan.bounded.mode", "scan.startup.mode",
                                         "rowtime.column",    "key.column",
                                         "dead-letter",       WM_OPTS,
                                         NULL};
static const char *const opts_stdin[] = {"connector",   "format", "csv.header", "csv.delimiter",
                                         "dead-letter", WM_OPTS,  NULL};
static const char *const opts_stdout[] = {"connector", "format", "csv.header", "csv.delimiter", NULL};
static const char *const opts_logins[] = {"connector", "seed",       "events",    "count", "users", "span", "start",
                                          "end",       "late.share", "max.delay", "rate",  "zipf",  WM_OPTS, NULL};

static const char *const req_file[] = {"path", NULL};
static const char *const req_topic[] = {"topic", NULL};
static const char *const req_none[] = {NULL};

const char *tide_sql_connector_name(tide_sql_connector c)
{
    return (unsigned)c < sizeof conn_names / sizeof conn_names[0] ? conn_names[c] : "?";
}

bool tide_sql_connector_is_source(tide_sql_connector c) { return c != TIDE_SQL_CONN_STDOUT; }

bool tide_sql_connector_is_sink(tide_sql_connector c)
{
    return c == TIDE_SQL_CONN_FILE || c == TIDE_SQL_CONN_TOPIC || c == TIDE_SQL_CONN_STDOUT;
}

bool tide_sql_connector_parse(const char *s, tide_sql_connector *out)
{
    for (unsigned i = 0; i < sizeof conn_names / sizeof conn_names[0]; i++)
        if (strcasecmp(s, conn_names[i]) == 0) {
            *out = (tide_sql_connector)i;
            return true;
        }
    return false;
}

const char *const *tide_sql_connector_options(tide_sql_connector c)
{
    switch (c) {
    case TIDE_SQL_CONN_FILE: return opts_file;
    case TIDE_SQL_CONN_TOPIC: return opts_topic;
    case TIDE_SQL_CONN_STDIN: return opts_stdin;
    case TIDE_SQL_CONN_STDOUT: return opts_stdout;
    case TIDE_SQL_CONN_LOGINS: return opts_logins;
    }
    return req_none;
}

const char *const *tide_sql_connector_required(tide_sql_connector c)
{
    switch (c) {
    case TIDE_SQL_CONN_FILE: return req_file;
    case TIDE_SQL_CONN_TOPIC: return req_topic;
    default: return req_none;
    }
}

bool tide_sql_connector_has_option(tide_sql_connector c, const char *key)
{
    for (const char *const *o = tide_sql_connector_options(c); *o; o++)
        if (strcasecmp(*o, key) == 0)
            return true;
    return false;
}

/* ---- suggestions ---- */

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

uint32_t tide_sql_edit_distance(const char *a, size_t alen, const char *b, size_t blen, uint32_t cap)
{
    /* Optimal string alignment (Levenshtein + adjacent transpositions), three
     * rows.  Names longer than 64 bytes are never offered as suggestions. */
    uint32_t r0[65], r1[65], r2[65];
    uint32_t *pp = r0, *prev = r1, *cur = r2;
    if (alen > 64 || blen > 64)
        return cap;
    if ((alen > blen ? alen - blen : blen - alen) >= cap)
        return cap;
    for (size_t j = 0; j <= blen; j++)
        prev[j] = (uint32_t)j;
    for (size_t i = 1; i <= alen; i++) {
        cur[0] = (uint32_t)i;
        int ca = lower((unsigned char)a[i - 1]);
        for (size_t j = 1; j <= blen; j++) {
            int cb = lower((unsigned char)b[j - 1]);
            uint32_t sub = prev[j - 1] + (ca != cb);
            uint32_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            uint32_t m = sub < del ? sub : del;
            m = m < ins ? m : ins;
            if (i > 1 && j > 1 && ca == lower((unsigned char)b[j - 2]) &&
                lower((unsigned char)a[i - 2]) == cb && pp[j - 2] + 1 < m)
                m = pp[j - 2] + 1;
            cur[j] = m;
        }
        uint32_t *t = pp;
        pp = prev;
        prev = cur;
        cur = t;
    }
    return prev[blen] < cap ? prev[blen] : cap;
}

void tide_sql_suggest_init(tide_sql_suggest *s, const char *name, size_t len)
{
    s->name = name;
    s->len = len;
    s->best = NULL;
    /* accept distance 1 for names up to 3 bytes, 2 up to 8, else 3 */
    uint32_t lim = len <= 3 ? 1 : len <= 8 ? 2 : 3;
    s->best_d = lim + 1;
}

void tide_sql_suggest_offer(tide_sql_suggest *s, const char *cand)
{
    if (!cand)
        return;
    size_t cl = strlen(cand);
    uint32_t d = tide_sql_edit_distance(s->name, s->len, cand, cl, s->best_d);
    /* never suggest a name that shares nothing with the one written */
    if (d < s->best_d && d > 0 && d < s->len && d < cl) {
        s->best_d = d;
        s->best = cand;
    }
}

const char *tide_sql_suggest_best(const tide_sql_suggest *s) { return s->best; }

/* ---- the catalog ---- */

int tide_sql_catalog_create(tide_sql_catalog **out)
{
    tide_sql_catalog *c = calloc(1, sizeof *c);
    *out = c;
    if (!c)
        return TIDE_ENOMEM;
    tide_arena_init(&c->arena, 4096);
    return 0;
}

void tide_sql_catalog_free(tide_sql_catalog *c)
{
    if (!c)
        return;
    for (uint32_t i = 0; i < c->nscripts; i++)
        tide_sql_script_free(c->scripts[i]);
    free(c->scripts);
    free(c->tables);
    tide_arena_free(&c->arena);
    free(c);
}

const tide_sql_table *tide_sql_catalog_find(const tide_sql_catalog *c, const char *name)
{
    for (uint32_t i = 0; c && i < c->n; i++)
        if (strcasecmp(c->tables[i].name, name) == 0)
            return &c->tables[i];
    return NULL;
}

uint32_t tide_sql_catalog_count(const tide_sql_catalog *c) { return c ? c->n : 0; }

const tide_sql_table *tide_sql_catalog_at(const tide_sql_catalog *c, uint32_t i)
{
    return i < c->n ? &c->tables[i] : NULL;
}

int tide_sql_catalog_add(tide_sql_catalog *c, const tide_sql_table *t)
{
    if (tide_sql_catalog_find(c, t->name))
        return TIDE_EEXIST;
    if (c->n == c->cap) {
        uint32_t ncap = c->cap ? c->cap * 2 : 8;
        tide_sql_table *nt = realloc(c->tables, ncap * sizeof *nt);
        if (!nt)
            return TIDE_ENOMEM;
        c->tables = nt;
        c->cap = ncap;
    }
    c->tables[c->n++] = *t;
    return 0;
}

void tide_sql_catalog_truncate(tide_sql_catalog *c, uint32_t n)
{
    if (n < c->n)
        c->n = n;
}

int tide_sql_catalog_keep(tide_sql_catalog *c, tide_sql_script *s)
{
    if (c->nscripts == c->capscripts) {
        uint32_t ncap = c->capscripts ? c->capscripts * 2 : 4;
        tide_sql_script **ns = realloc(c->scripts, ncap * sizeof *ns);
        if (!ns)
            return TIDE_ENOMEM;
        c->scripts = ns;
        c->capscripts = ncap;
    }
    c->scripts[c->nscripts++] = s;
    return 0;
}

void *tide_sql_catalog_alloc(tide_sql_catalog *c, size_t n)
{
    void *p = tide_arena_alloc(&c->arena, n ? n : 1);
    if (p)
        memset(p, 0, n ? n : 1);
    return p;
}
