/*
 * test_file_split.c - connect/file_split.h: a file parsed in byte-range
 * chunks, put back in order by the reader, gives exactly what the
 * sequential file source (tide_src_next) gives.
 *
 * The reference is the sequential source itself (its own tests, in
 * test_connect.c and test_codec.c, check it against models).  Both runs
 * are written to the same log: every row (position and values) and every
 * dead letter (position, reason, raw bytes), compared byte for byte; the
 * interleaving of dead letters and batches is checked on its own (a dead
 * letter comes after every batch of earlier rows and right before the
 * batch of the next row).
 *
 * Random files: CSV with quoted fields holding delimiters, "" escapes,
 * LFs and CRLFs (some that look like records, so guessed chunk starts land
 * inside records), CRLF line ends, blank lines, bad rows of every kind, an
 * optional header and byte order mark, sometimes no final newline or an
 * unclosed quote at the end; JSON Lines with bad lines.  Chunk sizes go
 * down to 1 byte.  Parsers also run on 2..4 threads (test_threads; run it
 * under ASan and TSan), and every file operation is failed in turn
 * (test_io_faults).  A property failure prints its case's seed;
 * TIDE_SEED=N runs that case alone.
 */
#include "base/buf.h"
#include "base/io.h"
#include "connect/file_split.h"
#include "connect/source.h"
#include "data/timefmt.h"
#include "tt.h"

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Property cases: case k of a test runs from seed base + k (tt_seed; a
 * failure prints it); with TIDE_SEED=N each test runs only the case of seed N. */
static bool replaying(void) { return tt_replaying(); }

static uint64_t case_seed(uint64_t base, uint64_t k) { return tt_seed(base + k); }

static uint64_t case_count(uint64_t n)
{
    return replaying() ? 1 : n;
}

static tide_schema *test_schema(void)
{
    tide_schema *s = NULL;
    tide_err e = {0};
    if (tide_schema_create(&s, &e) || tide_schema_add(s, "ts", TIDE_TYPE_TIMESTAMP, true, &e) ||
        tide_schema_add(s, "id", TIDE_TYPE_BIGINT, false, &e) ||
        tide_schema_add(s, "name", TIDE_TYPE_STRING, true, &e) ||
        tide_schema_add(s, "score", TIDE_TYPE_DOUBLE, true, &e) ||
        tide_schema_add(s, "ok", TIDE_TYPE_BOOLEAN, true, &e)) {
        tide_schema_free(s);
        return NULL;
    }
    return s;
}

static int write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = n ? fwrite(p, 1, n, f) : 0;
    return fclose(f) == 0 && w == n ? 0 : -1;
}

/* ---- what a run delivered ---- */

typedef struct run_log {
    tide_buf rows;      /* per row: "pos|v|v|...\n", strings length-prefixed */
    tide_buf dead;      /* per dead letter: "position\treason\tlen:raw\n" */
    uint64_t nrows, ndead;
    uint64_t *row_pos;  /* [nrows] */
    size_t row_cap;
    uint64_t *batch_end; /* [nbatch]: rows delivered up to and with batch k */
    size_t nbatch, batch_cap;
    struct dl_at {
        uint64_t line;    /* of the dead letter */
        uint64_t batches; /* delivered before it */
    } *dl;                /* [ndead] */
    size_t dl_cap;
    size_t path_len;    /* of the file's path, which starts every position */
    int oom;
} run_log;

static void log_free(run_log *l)
{
    tide_buf_free(&l->rows);
    tide_buf_free(&l->dead);
    free(l->row_pos);
    free(l->batch_end);
    free(l->dl);
    memset(l, 0, sizeof *l);
}

static void on_dead(void *ctx, const tide_src_dead *dl)
{
    run_log *l = ctx;
    if (tide_array_grow((void **)&l->dl, &l->dl_cap, l->ndead + 1, sizeof *l->dl)) {
        l->oom = 1;
        return;
    }
    /* "path:line[:col]" */
    l->dl[l->ndead].line = strtoull(dl->position + l->path_len + 1, NULL, 10);
    l->dl[l->ndead].batches = l->nbatch;
    l->ndead++;
    tide_buf_printf(&l->dead, "%s\t%s\t%zu:", dl->position, dl->reason, dl->raw_len);
    tide_buf_append(&l->dead, dl->raw, dl->raw_len);
    tide_buf_putc(&l->dead, '\n');
}

static void log_batch(run_log *l, const tide_cbatch *b)
{
    uint32_t n = tide_cbatch_rows(b);
    if (tide_array_grow((void **)&l->row_pos, &l->row_cap, l->nrows + n, sizeof *l->row_pos) ||
        tide_array_grow((void **)&l->batch_end, &l->batch_cap, l->nbatch + 1, sizeof *l->batch_end)) {
        l->oom = 1;
        return;
    }
    for (uint32_t r = 0; r < n; r++) {
        tide_buf *o = &l->rows;
        l->row_pos[l->nrows++] = tide_cbatch_pos(b, r);
        tide_buf_printf(o, "%" PRIu64, tide_cbatch_pos(b, r));
        for (uint32_t c = 0; c < tide_cbatch_ncols(b); c++) {
            if (tide_cbatch_is_null(b, c, r)) {
                tide_buf_append(o, "|N", 2);
                continue;
            }
            switch (tide_cbatch_type(b, c)) {
            case TIDE_TYPE_BIGINT:
            case TIDE_TYPE_TIMESTAMP:
                tide_buf_printf(o, "|%" PRId64, tide_cbatch_i64(b, c, r));
                break;
            case TIDE_TYPE_DOUBLE: {
                double v = tide_cbatch_f64(b, c, r);
                uint64_t bits;
                memcpy(&bits, &v, sizeof bits);
                tide_buf_printf(o, "|%016" PRIx64, isnan(v) ? (uint64_t)0x7ff8000000000000ull : bits);
                break;
            }
            case TIDE_TYPE_BOOLEAN:
                tide_buf_printf(o, "|%d", (int)tide_cbatch_bool(b, c, r));
                break;
            case TIDE_TYPE_STRING: {
                tide_str s = tide_cbatch_str(b, c, r);
                tide_buf_printf(o, "|%zu:", (size_t)s.len);
                tide_buf_append(o, s.ptr, s.len);
                break;
            }
            default:
                tide_buf_append(o, "|?", 2);
            }
        }
        tide_buf_putc(o, '\n');
    }
    l->batch_end[l->nbatch] = l->nrows;
    l->nbatch++;
}

/* Where two logs first differ, for the failure message. */
static size_t first_diff(const tide_buf *a, const tide_buf *b)
{
    size_t n = a->len < b->len ? a->len : b->len, i = 0;
    while (i < n && a->data[i] == b->data[i])
        i++;
    return i;
}

/* The interleaving rule: a dead letter on line L comes after every
 * delivered row that starts before L (none after it was delivered before)
 * and right before the batch that holds the first row after L. */
static int check_interleave(const run_log *l, char *why, size_t cap)
{
    size_t g = 0;
    for (uint64_t k = 0; k < l->ndead; k++) {
        uint64_t line = l->dl[k].line;
        while (g < l->nrows && l->row_pos[g] <= line)
            g++;
        uint64_t nb = l->dl[k].batches;
        uint64_t before = nb ? l->batch_end[nb - 1] : 0;
        if (before > g) {
            snprintf(why, cap, "dead letter %" PRIu64 " (line %" PRIu64 ") after %" PRIu64 " rows, only %zu precede it",
                     k, line, before, g);
            return -1;
        }
        if (g < l->nrows && (nb >= l->nbatch || l->batch_end[nb] <= g)) {
            snprintf(why, cap, "dead letter %" PRIu64 " (line %" PRIu64 ") not right before the batch of row %zu", k,
                     line, g);
            return -1;
        }
    }
    return 0;
}

/* ---- the two runs ---- */

static bool g_quiet; /* failures are expected: do not print them */

typedef struct file_case {
    const char *path;
    const tide_schema *schema;
    tide_format format;
    bool header;
} file_case;

static void case_cfg(const file_case *fc, tide_src_config *c, run_log *l)
{
    tide_src_config_init(c);
    c->kind = TIDE_SRC_FILE;
    c->path = fc->path;
    c->schema = fc->schema;
    c->format = fc->format;
    c->header = fc->header;
    c->on_dead = on_dead;
    c->dead_ctx = l;
    l->path_len = strlen(fc->path);
}

/* chunk: the source's chunk_size (where it cuts batches; 0: the default). */
static int run_sequential(const file_case *fc, uint32_t batch_rows, size_t read_size, size_t chunk, run_log *l,
                          tide_src_pos *end)
{
    tide_src_config c;
    case_cfg(fc, &c, l);
    c.read_size = read_size;
    c.chunk_size = chunk;
    tide_err e = {0};
    tide_src *src = NULL;
    tide_cbatch *b = NULL;
    int rc = tide_src_open(&src, &c, &e);
    if (!rc)
        rc = tide_cbatch_create(&b, fc->schema, batch_rows, TIDE_CBATCH_POS, &e);
    while (!rc) {
        tide_src_batch info;
        rc = tide_src_next(src, b, &info, &e);
        if (rc == TIDE_SRC_READY) {
            log_batch(l, b);
            rc = 0;
        } else if (rc == TIDE_SRC_END) {
            tide_src_position(src, 0, end);
            break;
        }
    }
    if (rc < 0)
        fprintf(stderr, "  sequential: %s\n", e.msg);
    tide_cbatch_free(b);
    tide_src_free(src);
    return rc < 0 ? rc : 0;
}

/* The FILE source with parse_threads (src_file_par.c): a plain
 * tide_src_next loop, as any user of a source runs it (lend: a
 * tide_src_next_lend loop, taking the source's own batches). */
static int run_par_source(const file_case *fc, uint32_t threads, size_t chunk, uint32_t batch_rows, bool lend,
                          run_log *l, tide_src_pos *end)
{
    tide_src_config c;
    case_cfg(fc, &c, l);
    c.parse_threads = threads;
    c.chunk_size = chunk;
    tide_err e = {0};
    tide_src *src = NULL;
    tide_cbatch *b = NULL;
    int rc = tide_src_open(&src, &c, &e);
    if (!rc)
        rc = tide_cbatch_create(&b, fc->schema, batch_rows, TIDE_CBATCH_POS, &e);
    while (!rc) {
        tide_src_batch info;
        tide_cbatch *got = b;
        rc = lend ? tide_src_next_lend(src, b, &got, &info, &e) : tide_src_next(src, b, &info, &e);
        if (rc == TIDE_SRC_READY) {
            log_batch(l, got);
            rc = 0;
        } else if (rc == TIDE_SRC_END) {
            tide_src_position(src, 0, end);
            break;
        }
    }
    if (rc < 0)
        fprintf(stderr, "  parse_threads %u: %s\n", threads, e.msg);
    tide_cbatch_free(b);
    tide_src_free(src);
    return rc < 0 ? rc : 0;
}

/* Deliver chunk c (the parse of the reader's wanted chunk) into the log. */
static int deliver(tide_fsplit_reader *r, tide_fsplit_chunk *c, run_log *l, tide_err *e)
{
    int rc = tide_fsplit_reader_begin(r, c, e);
    if (rc)
        return rc;
    tide_cbatch *b;
    while ((rc = tide_fsplit_reader_next(r, &b, e)) == TIDE_SRC_READY)
        log_batch(l, b);
    return rc < 0 ? rc : 0;
}

typedef struct split_stats {
    uint32_t chunks, reparsed;
} split_stats;

/* Split run on one thread: W work areas, chunk i parsed W - 1 chunks
 * before the reader takes it (so areas are reused and parses run ahead). */
static int run_split(const file_case *fc, size_t chunk, uint32_t batch_rows, uint32_t areas, run_log *l,
                     tide_src_pos *end, split_stats *st)
{
    tide_src_config c;
    case_cfg(fc, &c, l);
    tide_err e = {0};
    tide_fsplit *fs = NULL;
    tide_fsplit_reader *r = NULL;
    tide_fsplit_chunk *w[8] = {0};
    int rc = tide_fsplit_open(&fs, &c, chunk, &e);
    if (!rc)
        rc = tide_fsplit_reader_create(&r, fs, &e);
    for (uint32_t k = 0; k < areas && !rc; k++)
        rc = tide_fsplit_chunk_create(&w[k], fs, batch_rows, &e);
    uint32_t n = rc ? 0 : tide_fsplit_chunks(fs);
    for (uint32_t i = 0; i < n && i < areas - 1 && !rc; i++)
        rc = tide_fsplit_parse(fs, i, w[i % areas], &e);
    for (uint32_t i = 0; i < n && !rc; i++) {
        if (i + areas - 1 < n)
            rc = tide_fsplit_parse(fs, i + areas - 1, w[(i + areas - 1) % areas], &e);
        if (!rc)
            rc = deliver(r, w[i % areas], l, &e);
    }
    if (!rc) {
        tide_cbatch *b;
        rc = tide_fsplit_reader_next(r, &b, &e) == TIDE_SRC_END ? 0 : TIDE_EINVAL;
        tide_fsplit_reader_position(r, end);
        st->chunks = n;
        st->reparsed = tide_fsplit_reader_reparsed(r);
    }
    if (rc && !g_quiet)
        fprintf(stderr, "  split: %s\n", e.msg);
    for (uint32_t k = 0; k < areas; k++)
        tide_fsplit_chunk_free(w[k]);
    tide_fsplit_reader_free(r);
    tide_fsplit_free(fs);
    return rc;
}

/* ---- the threaded run: P parsers, one reader, a ring of work areas ---- */

#define RING 6

typedef struct ring {
    const tide_fsplit *fs;
    tide_fsplit_chunk *slot[RING];
    int state[RING];         /* 0 free, 1 being parsed, 2 parsed */
    uint32_t next_claim;     /* next chunk a parser takes */
    bool stop;               /* the reader is done (or failed) */
    pthread_mutex_t mu;
    pthread_cond_t cv;
} ring;

static void *parser_main(void *arg)
{
    ring *g = arg;
    uint32_t n = tide_fsplit_chunks(g->fs);
    pthread_mutex_lock(&g->mu);
    for (;;) {
        uint32_t i = g->next_claim;
        if (i >= n || g->stop)
            break;
        /* chunk i's slot is free once the reader is done with chunk i - RING */
        while (!g->stop && g->state[i % RING] != 0)
            pthread_cond_wait(&g->cv, &g->mu);
        if (g->stop || g->next_claim != i)
            continue;
        g->next_claim++;
        g->state[i % RING] = 1;
        pthread_mutex_unlock(&g->mu);
        tide_err e = {0};
        int rc = tide_fsplit_parse(g->fs, i, g->slot[i % RING], &e); /* a failure is the reader's to report */
        (void)rc;
        pthread_mutex_lock(&g->mu);
        g->state[i % RING] = 2;
        pthread_cond_broadcast(&g->cv);
    }
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

static int run_threads(const file_case *fc, size_t chunk, uint32_t batch_rows, int threads, run_log *l,
                       split_stats *st)
{
    tide_src_config c;
    case_cfg(fc, &c, l);
    tide_err e = {0};
    tide_fsplit *fs = NULL;
    tide_fsplit_reader *r = NULL;
    ring g = {0};
    pthread_t th[4];
    int started = 0;
    pthread_mutex_init(&g.mu, NULL);
    pthread_cond_init(&g.cv, NULL);
    int rc = tide_fsplit_open(&fs, &c, chunk, &e);
    if (!rc)
        rc = tide_fsplit_reader_create(&r, fs, &e);
    for (int k = 0; k < RING && !rc; k++)
        rc = tide_fsplit_chunk_create(&g.slot[k], fs, batch_rows, &e);
    g.fs = fs;
    for (; started < threads && !rc; started++) {
        if (pthread_create(&th[started], NULL, parser_main, &g) != 0) {
            rc = TIDE_EINVAL;
            break;
        }
    }
    uint32_t n = rc ? 0 : tide_fsplit_chunks(fs);
    for (uint32_t i = 0; i < n && !rc; i++) {
        pthread_mutex_lock(&g.mu);
        while (g.state[i % RING] != 2)
            pthread_cond_wait(&g.cv, &g.mu);
        pthread_mutex_unlock(&g.mu);
        rc = deliver(r, g.slot[i % RING], l, &e);
        pthread_mutex_lock(&g.mu);
        g.state[i % RING] = 0;
        pthread_cond_broadcast(&g.cv);
        pthread_mutex_unlock(&g.mu);
    }
    pthread_mutex_lock(&g.mu);
    g.stop = true;
    pthread_cond_broadcast(&g.cv);
    pthread_mutex_unlock(&g.mu);
    for (int k = 0; k < started; k++)
        pthread_join(th[k], NULL);
    if (!rc) {
        st->chunks = n;
        st->reparsed = tide_fsplit_reader_reparsed(r);
    }
    if (rc)
        fprintf(stderr, "  threads: %s\n", e.msg);
    for (int k = 0; k < RING; k++)
        tide_fsplit_chunk_free(g.slot[k]);
    tide_fsplit_reader_free(r);
    tide_fsplit_free(fs);
    pthread_cond_destroy(&g.cv);
    pthread_mutex_destroy(&g.mu);
    return rc;
}

/* Compare two logs; 0 when equal, else print where and return -1. */
static int same_logs(const run_log *a, const run_log *b, const char *what)
{
    char why[256];
    if (a->oom || b->oom) {
        fprintf(stderr, "  %s: out of memory in the test\n", what);
        return -1;
    }
    if (a->nrows != b->nrows || a->rows.len != b->rows.len ||
        (a->rows.len && memcmp(a->rows.data, b->rows.data, a->rows.len))) {
        size_t at = first_diff(&a->rows, &b->rows);
        fprintf(stderr, "  %s: rows differ (%" PRIu64 " vs %" PRIu64 ") at byte %zu: ...%.60s... vs ...%.60s...\n",
                what, a->nrows, b->nrows, at, at < a->rows.len ? (const char *)a->rows.data + at : "",
                at < b->rows.len ? (const char *)b->rows.data + at : "");
        return -1;
    }
    if (a->ndead != b->ndead || a->dead.len != b->dead.len ||
        (a->dead.len && memcmp(a->dead.data, b->dead.data, a->dead.len))) {
        size_t at = first_diff(&a->dead, &b->dead);
        fprintf(stderr, "  %s: dead letters differ (%" PRIu64 " vs %" PRIu64 ") at byte %zu: ...%.80s... vs ...%.80s...\n",
                what, a->ndead, b->ndead, at, at < a->dead.len ? (const char *)a->dead.data + at : "",
                at < b->dead.len ? (const char *)b->dead.data + at : "");
        return -1;
    }
    if (check_interleave(a, why, sizeof why)) {
        fprintf(stderr, "  sequential: %s\n", why);
        return -1;
    }
    if (check_interleave(b, why, sizeof why)) {
        fprintf(stderr, "  %s: %s\n", what, why);
        return -1;
    }
    return 0;
}

/* ---- random files ---- */

static uint64_t rnd(uint64_t *s, uint64_t n) { return n ? tt_rand(s) % n : 0; }

static const char *eol(uint64_t *s) { return rnd(s, 3) == 0 ? "\r\n" : "\n"; }

/* A CSV field, quoted (with "" escapes) when it must be or when asked. */
static void csv_field(tide_buf *o, const char *v, bool quote)
{
    if (!quote && !strpbrk(v, ",\"\r\n")) {
        tide_buf_append(o, v, strlen(v));
        return;
    }
    tide_buf_putc(o, '"');
    for (const char *p = v; *p; p++) {
        if (*p == '"')
            tide_buf_putc(o, '"');
        tide_buf_putc(o, *p);
    }
    tide_buf_putc(o, '"');
}

static void gen_ts(char *out, size_t cap, uint64_t *s)
{
    int64_t ms = 1704067200000 + (int64_t)rnd(s, 86400000ull * 30);
    char t[TIDE_TS_FORMAT_MAX];
    tide_ts_format(ms, t);
    switch (rnd(s, 4)) {
    case 0:
        snprintf(out, cap, "%" PRId64, ms);
        break;
    case 1:
        t[10] = 'T';
        snprintf(out, cap, "%sZ", t);
        break;
    default:
        snprintf(out, cap, "%s", t);
    }
}

/* A name made of pieces that matter to the lexer: delimiters, quotes,
 * LFs and CRLFs, and text after a newline that looks like a record. */
static void gen_name(char *out, size_t cap, uint64_t *s)
{
    static const char *const pieces[] = {"a", "bob", " ", ",", "\"", "\n", "\r\n", "x\n2024-01-01 00:00:00,1,b,2,true\n",
                                         "\n\"", "\xc3\xa9", "q,\"\n", "\n,\n", "z\r"};
    size_t n = 0, k = 1 + rnd(s, 4);
    out[0] = '\0';
    for (size_t i = 0; i < k; i++) {
        const char *p = pieces[rnd(s, sizeof pieces / sizeof pieces[0])];
        size_t pl = strlen(p);
        if (n + pl + 1 > cap)
            break;
        memcpy(out + n, p, pl + 1);
        n += pl;
    }
}

/* nrec records of every kind, good and bad (see the top of the file). */
static void gen_csv(tide_buf *o, uint64_t *s, bool header, size_t nrec)
{
    if (rnd(s, 6) == 0)
        tide_buf_append(o, "\xEF\xBB\xBF", 3);
    if (header) {
        tide_buf_printf(o, "ts,id,\"na\nme\",score,ok%s", eol(s));
    }
    for (size_t r = 0; r < nrec; r++) {
        char f[5][256];
        bool quote[5] = {false};
        gen_ts(f[0], sizeof f[0], s);
        if (rnd(s, 10) == 0)
            f[0][0] = '\0';
        snprintf(f[1], sizeof f[1], "%" PRId64, (int64_t)rnd(s, 2000000) - 1000000);
        gen_name(f[2], sizeof f[2], s);
        if (rnd(s, 7) == 0)
            f[2][0] = '\0';
        quote[2] = rnd(s, 5) == 0;
        double v = (double)(int64_t)rnd(s, 1u << 30) / 1024.0 - 4096.0;
        snprintf(f[3], sizeof f[3], "%.17g", v);
        if (rnd(s, 10) == 0)
            snprintf(f[3], sizeof f[3], "%s", rnd(s, 2) ? "nan" : "-inf");
        if (rnd(s, 10) == 0)
            f[3][0] = '\0';
        static const char *const oks[] = {"true", "false", "1", "0", "TRUE", ""};
        snprintf(f[4], sizeof f[4], "%s", oks[rnd(s, 6)]);
        int nf = 5;
        const char *e = eol(s);
        uint64_t k = rnd(s, 100);
        if (k < 4) { /* blank line */
            tide_buf_append(o, e, strlen(e));
            continue;
        }
        if (k < 7) /* too few fields */
            nf = 2 + (int)rnd(s, 3);
        else if (k < 10) /* bad timestamp */
            snprintf(f[0], sizeof f[0], "2024-%02d-01 00:00:00", 13 + (int)rnd(s, 5));
        else if (k < 13) /* bad BIGINT */
            snprintf(f[1], sizeof f[1], "%dx", (int)rnd(s, 100));
        else if (k < 15) /* bad DOUBLE */
            snprintf(f[3], sizeof f[3], "1.5.%d", (int)rnd(s, 10));
        else if (k < 17) /* bad BOOLEAN */
            snprintf(f[4], sizeof f[4], "maybe");
        else if (k < 19) /* NULL in NOT NULL */
            f[1][0] = '\0';
        else if (k < 20) /* out of range */
            snprintf(f[1], sizeof f[1], "99999999999999999999");
        for (int i = 0; i < nf; i++) {
            if (i)
                tide_buf_putc(o, ',');
            if (k >= 20 && k < 22 && i == 2) { /* a stray quote in an unquoted field */
                tide_buf_printf(o, "ab\"c%d", (int)rnd(s, 10));
                continue;
            }
            if (k >= 22 && k < 24 && i == 2) { /* text after a closing quote */
                tide_buf_append(o, "\"ab\"x", 5);
                continue;
            }
            csv_field(o, f[i], quote[i]);
        }
        if (k >= 24 && k < 27) /* too many fields */
            tide_buf_append(o, ",extra", 6);
        tide_buf_append(o, e, strlen(e));
    }
    if (rnd(s, 15) == 0) /* a quote never closed: the rest of the file is one bad record */
        tide_buf_printf(o, "2024-01-01 00:00:00,7,\"never closed\n2024-01-01 00:00:00,8,x,1,true\n");
    if (rnd(s, 3) == 0) { /* no final newline */
        while (o->len && (o->data[o->len - 1] == '\n' || o->data[o->len - 1] == '\r'))
            o->len--;
    }
}

/* A JSON string literal, escaped by hand. */
static void json_str(tide_buf *o, const char *v)
{
    tide_buf_putc(o, '"');
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if (*p == '"' || *p == '\\')
            tide_buf_printf(o, "\\%c", *p);
        else if (*p == '\n')
            tide_buf_append(o, "\\n", 2);
        else if (*p == '\r')
            tide_buf_append(o, "\\r", 2);
        else if (*p < 0x20)
            tide_buf_printf(o, "\\u%04x", *p);
        else
            tide_buf_putc(o, *p);
    }
    tide_buf_putc(o, '"');
}

static void gen_jsonl(tide_buf *o, uint64_t *s, size_t nrec)
{
    if (rnd(s, 6) == 0)
        tide_buf_append(o, "\xEF\xBB\xBF", 3);
    static const char *const bad[] = {"{\"id\": 1,", "nope", "{\"id\":1}}", "{\"id\": 01}", "[1,2]",
                                      "{\"id\": \"7\"}", "{\"name\": \"no id\"}", "{\"id\": 1.5}",
                                      "{\"ts\": \"2024-02-30 00:00:00\", \"id\": 3}", "{\"id\": 4, \"ok\": 1}",
                                      "{\"id\": 99999999999999999999}", "{\"id\": 5, \"name\": \"a\tb\"}"};
    for (size_t r = 0; r < nrec; r++) {
        const char *e = eol(s);
        uint64_t k = rnd(s, 100);
        if (k < 5) {
            tide_buf_append(o, k < 2 ? " \t" : "", k < 2 ? 2 : 0);
        } else if (k < 25) {
            const char *b = bad[rnd(s, sizeof bad / sizeof bad[0])];
            tide_buf_append(o, b, strlen(b));
        } else {
            char ts[64], name[256];
            gen_ts(ts, sizeof ts, s);
            gen_name(name, sizeof name, s);
            tide_buf_putc(o, '{');
            if (rnd(s, 5) == 0)
                tide_buf_append(o, "\"x\": {\"n\": [1, {\"a\": \"}\"}]}, ", 30);
            if (rnd(s, 8) == 0)
                tide_buf_append(o, "\"ts\": null", 10);
            else if (ts[0] >= '0' && ts[0] <= '9' && !strchr(ts, '-'))
                tide_buf_printf(o, "\"ts\": %s", ts);
            else {
                tide_buf_append(o, "\"ts\": ", 6);
                json_str(o, ts);
            }
            tide_buf_printf(o, ", \"ID\": %" PRId64 ", \"name\": ", (int64_t)rnd(s, 2000000) - 1000000);
            json_str(o, name);
            if (rnd(s, 4))
                tide_buf_printf(o, ", \"score\": %.17g", (double)(int64_t)rnd(s, 1u << 30) / 512.0);
            else
                tide_buf_append(o, ", \"score\": \"NaN\"", 16);
            tide_buf_printf(o, ", \"ok\": %s}", rnd(s, 2) ? "true" : "null");
        }
        tide_buf_append(o, e, strlen(e));
    }
    if (rnd(s, 3) == 0) {
        while (o->len && (o->data[o->len - 1] == '\n' || o->data[o->len - 1] == '\r'))
            o->len--;
    }
}

/* ---- checks ---- */

typedef struct totals {
    uint64_t runs, chunks, reparsed, rows, dead;
} totals;

/* Sequential vs split over text, for each chunk size in sizes[0..n);
 * seed names the case in a failure message. */
static int check_equal(const char *path, const tide_schema *schema, tide_format fmt, bool header, const void *text,
                       size_t len, const size_t *sizes, size_t nsizes, uint64_t *s, uint64_t seed, totals *tot)
{
    if (write_file(path, text, len) != 0) {
        fprintf(stderr, "  cannot write %s\n", path);
        return -1;
    }
    file_case fc = {path, schema, fmt, header};
    run_log seq = {0};
    tide_src_pos seq_end = {0};
    int rc = run_sequential(&fc, 1 + (uint32_t)rnd(s, 40), 16 + (size_t)rnd(s, 4096), 0, &seq, &seq_end);
    for (size_t k = 0; k < nsizes && !rc; k++) {
        run_log sp = {0};
        tide_src_pos sp_end = {0};
        split_stats st = {0};
        uint32_t areas = 1 + (uint32_t)rnd(s, 3);
        rc = run_split(&fc, sizes[k], 1 + (uint32_t)rnd(s, 40), areas, &sp, &sp_end, &st);
        if (!rc)
            rc = same_logs(&seq, &sp, "split");
        if (!rc && (seq_end.offset != sp_end.offset || seq_end.line != sp_end.line)) {
            fprintf(stderr, "  end position %" PRIu64 ":%" PRIu64 " vs %" PRIu64 ":%" PRIu64 "\n", seq_end.offset,
                    seq_end.line, sp_end.offset, sp_end.line);
            rc = -1;
        }
        if (rc) {
            fprintf(stderr, "  %s, %zu bytes, chunk size %zu, %u work areas\n", fmt == TIDE_FORMAT_CSV ? "CSV" : "JSONL",
                    len, sizes[k], areas);
            TT_SEED(seed);
        }
        tot->runs++;
        tot->chunks += st.chunks;
        tot->reparsed += st.reparsed;
        tot->rows += seq.nrows;
        tot->dead += seq.ndead;
        log_free(&sp);
    }
    log_free(&seq);
    return rc;
}

/* ---- tests ---- */

static tide_schema *g_schema;
static char g_path[4200];

static void test_random_csv(void)
{
    totals tot = {0};
    for (uint64_t it = 0; it < case_count(150); it++) {
        uint64_t seed = case_seed(20240917000, it), s = seed;
        tide_buf text = {0};
        bool header = rnd(&s, 2);
        gen_csv(&text, &s, header, (size_t)rnd(&s, rnd(&s, 10) == 0 ? 3 : 120));
        size_t sizes[3] = {1 + (size_t)rnd(&s, 8), 1 + (size_t)rnd(&s, 200), 1 + (size_t)rnd(&s, text.len + 20)};
        int rc = check_equal(g_path, g_schema, TIDE_FORMAT_CSV, header, text.data, text.len, sizes, 3, &s, seed, &tot);
        tide_buf_free(&text);
        TT_ASSERT(rc == 0);
    }
    fprintf(stderr, "  %" PRIu64 " split runs, %" PRIu64 " chunks, %" PRIu64 " re-parsed, %" PRIu64 " rows, %" PRIu64
                    " dead letters\n",
            tot.runs, tot.chunks, tot.reparsed, tot.rows, tot.dead);
    if (!replaying()) {
        TT_ASSERT(tot.reparsed > 0); /* guesses inside quoted newlines were caught */
        TT_ASSERT(tot.rows > 0 && tot.dead > 0);
    }
}

static void test_random_jsonl(void)
{
    totals tot = {0};
    for (uint64_t it = 0; it < case_count(100); it++) {
        uint64_t seed = case_seed(20240917500, it), s = seed;
        tide_buf text = {0};
        gen_jsonl(&text, &s, (size_t)rnd(&s, rnd(&s, 10) == 0 ? 3 : 120));
        size_t sizes[3] = {1 + (size_t)rnd(&s, 8), 1 + (size_t)rnd(&s, 300), 1 + (size_t)rnd(&s, text.len + 20)};
        int rc = check_equal(g_path, g_schema, TIDE_FORMAT_JSONL, false, text.data, text.len, sizes, 3, &s, seed, &tot);
        tide_buf_free(&text);
        TT_ASSERT(rc == 0);
    }
    TT_ASSERT(replaying() || (tot.rows > 0 && tot.dead > 0));
}

/* Every chunk size from 1 to past the end, on small files at the edges. */
static void test_edge_files(void)
{
    static const struct {
        const char *text;
        tide_format fmt;
        bool header;
    } cases[] = {
        {"", TIDE_FORMAT_CSV, false},
        {"", TIDE_FORMAT_CSV, true},
        {"ts,id,name,score,ok\n", TIDE_FORMAT_CSV, true},
        {"ts,id,name,score,ok", TIDE_FORMAT_CSV, true},
        {"ts,id,name,score,ok\r\n", TIDE_FORMAT_CSV, true},
        {"\xEF\xBB\xBFts,id,name,score,ok\n", TIDE_FORMAT_CSV, true},
        {"\xEF\xBB\xBF\"ts\nx\",id,name,score,ok\n1,2,a,3,true\n", TIDE_FORMAT_CSV, true},
        {"\xEF\xBB\xBF" "1,2,a,3,true\n", TIDE_FORMAT_CSV, false},
        {"\xEF\xBB", TIDE_FORMAT_CSV, false},
        {"1,2,a,3,true", TIDE_FORMAT_CSV, false},
        {"1,2,a,3,true\r\n4,5,b,6,false\r\n", TIDE_FORMAT_CSV, false},
        {"\n\n\n1,2,a,3,true\n\n", TIDE_FORMAT_CSV, false},
        {"1,2,\"a\n4,5,b,6,false\n\",3,true\n7,8,c,9,true\n", TIDE_FORMAT_CSV, false},
        {"1,2,\"a\r\n\"\"4,5\"\"\r\n\",3,true\r\n7,8,c,9,true", TIDE_FORMAT_CSV, false},
        {"1,2,\"never closed\n4,5,b,6,false\n", TIDE_FORMAT_CSV, false},
        {"1,x,a,3,true\n1,2,\"\n\n\",3,true\n1,2,a,zz,true\n", TIDE_FORMAT_CSV, false},
        {"", TIDE_FORMAT_JSONL, false},
        {"{\"id\": 1}", TIDE_FORMAT_JSONL, false},
        {"{\"id\": 1}\r\n\r\n{\"id\": \"x\"}\r\n{\"id\": 3}\r\n", TIDE_FORMAT_JSONL, false},
        {"\xEF\xBB\xBF{\"id\": 1}\n{\"id\":", TIDE_FORMAT_JSONL, false},
    };
    totals tot = {0};
    uint64_t s = 7;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        size_t len = strlen(cases[k].text);
        size_t sizes[64], n = 0;
        for (size_t c = 1; c <= len + 2 && n < 64; c++)
            sizes[n++] = c;
        sizes[n++] = 1 << 20;
        int rc = check_equal(g_path, g_schema, cases[k].fmt, cases[k].header, cases[k].text, len, sizes, n, &s, k, &tot);
        TT_ASSERT_MSG(rc == 0, "case %zu", k);
    }
    TT_ASSERT(tot.reparsed > 0);
}

/* Without quoted newlines every guessed chunk start is right (the first
 * record starting at or after i * size, found from the LF before it), so
 * no chunk is parsed twice: every chunk size over files whose records
 * start at each offset modulo small sizes, and whose empty ranges (no
 * record starts in them) are many. */
static void test_plain_guesses_right(void)
{
    static const char *texts[] = {
        "1,2,a,3,true\n4,5,b,6,false\n7,8,c,9,true\n",
        "1,2,a,3,true\n44,5,bb,6,false\n777,8,ccc,9,true\n1,2,a,3,true\n",
        "1,2,aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa,3,true\n4,5,b,6,false\n\n\n7,8,c,9,true",
        "ts,id,name,score,ok\n1,2,a,3,true\n4,5,b,6,false\n",
    };
    totals tot = {0};
    uint64_t s = 11;
    for (size_t k = 0; k < sizeof texts / sizeof texts[0]; k++) {
        size_t len = strlen(texts[k]);
        size_t sizes[128], n = 0;
        for (size_t c = 1; c <= len + 2 && n < 128; c++)
            sizes[n++] = c;
        int rc = check_equal(g_path, g_schema, TIDE_FORMAT_CSV, k == 3, texts[k], len, sizes, n, &s, k, &tot);
        TT_ASSERT_MSG(rc == 0, "text %zu", k);
    }
    TT_ASSERT(tot.chunks > 1000);
    TT_ASSERT_EQ_INT(tot.reparsed, 0);
}

/* A chunk boundary inside a quoted field whose next line looks like a
 * record: rows and positions as the text says, whatever the chunk size. */
static void test_quoted_newline(void)
{
    const char *text = "ts,id,name,score,ok\n"                               /* line 1 */
                       "2024-01-01 00:00:00,1,\"a\n"                         /* 2 */
                       "2024-01-01 00:00:00,2,b,1,true\n"                    /* 3: inside the field */
                       "c\",1,true\n"                                        /* 4 */
                       "2024-01-01 00:00:01,3,d,2,false\n"                   /* 5 */
                       "2024-01-01 00:00:02,x4,e,2,false\n"                  /* 6: bad id */
                       "2024-01-01 00:00:03,5,f,2,false\n";                  /* 7 */
    size_t len = strlen(text);
    TT_ASSERT(write_file(g_path, text, len) == 0);
    file_case fc = {g_path, g_schema, TIDE_FORMAT_CSV, true};
    uint32_t reparsed = 0;
    for (size_t chunk = 1; chunk <= len + 1; chunk++) {
        run_log l = {0};
        tide_src_pos end;
        split_stats st = {0};
        TT_OK(run_split(&fc, chunk, 2, 2, &l, &end, &st));
        reparsed += st.reparsed;
        TT_ASSERT_EQ_INT(l.nrows, 3);
        TT_ASSERT_EQ_INT(l.row_pos[0], 2);
        TT_ASSERT_EQ_INT(l.row_pos[1], 5);
        TT_ASSERT_EQ_INT(l.row_pos[2], 7);
        TT_ASSERT_EQ_INT(l.ndead, 1);
        char want[9000];
        snprintf(want, sizeof want, "%s:6:21\t%s:6:21: column id: bad BIGINT \"x4\": not an integer\t", g_path, g_path);
        TT_ASSERT_MSG(l.dead.len > strlen(want) && memcmp(l.dead.data, want, strlen(want)) == 0, "chunk %zu: %.*s",
                      chunk, (int)l.dead.len, (const char *)l.dead.data);
        TT_ASSERT_EQ_INT(end.offset, len);
        TT_ASSERT_EQ_INT(end.line, 8);
        log_free(&l);
    }
    TT_ASSERT(reparsed > 0);
}

/* Parsers on 2..4 threads, the reader on this one. */
static void test_threads(void)
{
    for (uint64_t it = 0; it < case_count(6); it++) {
        uint64_t seed = case_seed(20240917900, it), s = seed;
        tide_buf text = {0};
        bool csv = rnd(&s, 3) != 2, header = csv && rnd(&s, 2);
        if (csv)
            gen_csv(&text, &s, header, 3000);
        else
            gen_jsonl(&text, &s, 3000);
        TT_ASSERT(write_file(g_path, text.data, text.len) == 0);
        file_case fc = {g_path, g_schema, csv ? TIDE_FORMAT_CSV : TIDE_FORMAT_JSONL, header};
        run_log seq = {0};
        tide_src_pos end;
        TT_OK(run_sequential(&fc, 1024, 0, 0, &seq, &end));
        static const size_t sizes[] = {61, 997, 8192, 65536};
        for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
            int threads = 2 + (int)rnd(&s, 3);
            run_log par = {0};
            split_stats st = {0};
            int rc = run_threads(&fc, sizes[k], 1 + (uint32_t)rnd(&s, 300), threads, &par, &st);
            if (!rc)
                rc = same_logs(&seq, &par, "threads");
            if (rc) {
                fprintf(stderr, "  %zu bytes, chunk size %zu, %d threads\n", text.len, sizes[k], threads);
                TT_SEED(seed);
            }
            log_free(&par);
            TT_ASSERT(rc == 0);
            TT_ASSERT(st.chunks > 1);
        }
        log_free(&seq);
        tide_buf_free(&text);
    }
}

/* Fail the Nth file operation, for every N: the split run ends with the
 * injected error (the reader reports a parse's failure) or, once N is past
 * its last operation, gives the sequential result; no leak either way. */
static void test_io_faults(void)
{
    uint64_t s = 11;
    tide_buf text = {0};
    gen_csv(&text, &s, true, 200);
    TT_ASSERT(write_file(g_path, text.data, text.len) == 0);
    file_case fc = {g_path, g_schema, TIDE_FORMAT_CSV, true};
    run_log seq = {0};
    tide_src_pos end;
    TT_OK(run_sequential(&fc, 64, 0, 0, &seq, &end));
    bool passed = false;
    for (long n = 1; n < 1000 && !passed; n++) {
        tide_io_faults f = {.fail_at = n};
        run_log sp = {0};
        split_stats st = {0};
        tide_io_faults_set(&f);
        g_quiet = true;
        int rc = run_split(&fc, 700, 50, 2, &sp, &end, &st);
        g_quiet = false;
        tide_io_faults_set(NULL);
        if (rc == 0) {
            passed = true;
            TT_ASSERT(same_logs(&seq, &sp, "after faults") == 0);
        } else {
            TT_ASSERT_MSG(rc == TIDE_EIO, "fault at call %ld: %d", n, rc);
        }
        log_free(&sp);
    }
    TT_ASSERT(passed);
    log_free(&seq);
    tide_buf_free(&text);
}

static void test_api(void)
{
    tide_err e = {0};
    tide_src_config c;
    tide_fsplit *fs = NULL;
    tide_src_config_init(&c);
    c.kind = TIDE_SRC_STDIN;
    c.schema = g_schema;
    TT_ASSERT_EQ_INT(tide_fsplit_open(&fs, &c, 0, &e), TIDE_EINVAL);
    c.kind = TIDE_SRC_FILE;
    char missing[4300];
    snprintf(missing, sizeof missing, "%s.missing", g_path);
    c.path = missing;
    tide_err_clear(&e);
    TT_ASSERT_EQ_INT(tide_fsplit_open(&fs, &c, 0, &e), TIDE_ENOENT);
    c.path = g_path;
    c.delim = '"';
    tide_err_clear(&e);
    TT_ASSERT_EQ_INT(tide_fsplit_open(&fs, &c, 0, &e), TIDE_EINVAL);
    c.delim = 0;

    const char *text = "1,2,a,3,true\n4,5,b,6,false\n7,8,c,9,true\n";
    TT_ASSERT(write_file(g_path, text, strlen(text)) == 0);
    tide_err_clear(&e);
    TT_OK(tide_fsplit_open(&fs, &c, 10, &e));
    TT_ASSERT_EQ_INT(tide_fsplit_chunks(fs), 4);
    TT_ASSERT_EQ_INT(tide_fsplit_size(fs), strlen(text));
    tide_fsplit_chunk *a = NULL, *b = NULL;
    tide_fsplit_reader *r = NULL;
    TT_OK(tide_fsplit_chunk_create(&a, fs, 2, &e));
    TT_OK(tide_fsplit_chunk_create(&b, fs, 2, &e));
    TT_OK(tide_fsplit_reader_create(&r, fs, &e));
    /* chunk 1: nominal [10, 20), starts after the LF at 12, ends at 27 */
    TT_OK(tide_fsplit_parse(fs, 1, b, &e));
    TT_ASSERT_EQ_INT(tide_fsplit_chunk_index(b), 1);
    TT_ASSERT_EQ_INT(tide_fsplit_chunk_start(b), 13);
    TT_ASSERT_EQ_INT(tide_fsplit_chunk_end(b), 27);
    TT_ASSERT_EQ_INT(tide_fsplit_chunk_rows(b), 1);
    TT_ASSERT_EQ_INT(tide_fsplit_reader_begin(r, b, &e), TIDE_EINVAL); /* not the chunk it wants */
    tide_err_clear(&e);
    TT_OK(tide_fsplit_parse(fs, 0, a, &e));
    TT_ASSERT_EQ_INT(tide_fsplit_chunk_end(a), 13);
    TT_OK(tide_fsplit_reader_begin(r, a, &e));
    TT_ASSERT_EQ_INT(tide_fsplit_reader_begin(r, b, &e), TIDE_EINVAL); /* a is not used up */
    tide_err_clear(&e);
    tide_cbatch *batch;
    TT_ASSERT_EQ_INT(tide_fsplit_reader_next(r, &batch, &e), TIDE_SRC_READY);
    TT_ASSERT_EQ_INT(tide_cbatch_i64(batch, 1, 0), 2);
    tide_src_pos pos;
    tide_fsplit_reader_position(r, &pos);
    TT_ASSERT_EQ_INT(pos.offset, 13);
    TT_ASSERT_EQ_INT(pos.line, 2);
    TT_ASSERT_EQ_INT(tide_fsplit_reader_next(r, &batch, &e), TIDE_SRC_NOTHING);
    TT_ASSERT_EQ_INT(tide_fsplit_reader_want(r), 1);
    TT_OK(tide_fsplit_reader_begin(r, b, &e));
    TT_ASSERT_EQ_INT(tide_fsplit_reader_next(r, &batch, &e), TIDE_SRC_READY);
    TT_ASSERT_EQ_INT(tide_cbatch_pos(batch, 0), 2);
    TT_ASSERT_EQ_INT(tide_fsplit_reader_next(r, &batch, &e), TIDE_SRC_NOTHING);
    /* chunk 2 holds the last row, 3 is empty */
    uint32_t rows = 0;
    for (uint32_t i = 2; i < 4; i++) {
        TT_OK(tide_fsplit_parse(fs, i, a, &e));
        TT_OK(tide_fsplit_reader_begin(r, a, &e));
        int rc;
        while ((rc = tide_fsplit_reader_next(r, &batch, &e)) == TIDE_SRC_READY)
            rows += tide_cbatch_rows(batch);
        TT_ASSERT_EQ_INT(rc, i == 3 ? TIDE_SRC_END : TIDE_SRC_NOTHING);
    }
    TT_ASSERT_EQ_INT(rows, 1);
    TT_ASSERT_EQ_INT(tide_fsplit_reader_next(r, &batch, &e), TIDE_SRC_END);
    tide_src_stats st;
    tide_fsplit_reader_stats(r, &st);
    TT_ASSERT_EQ_INT(st.rows, 3);
    TT_ASSERT_EQ_INT(tide_fsplit_reader_reparsed(r), 0);
    tide_fsplit_reader_free(r);

    /* a work area that holds no parse fails the reader, which stays failed */
    tide_fsplit_chunk *fresh = NULL;
    TT_OK(tide_fsplit_chunk_create(&fresh, fs, 2, &e));
    TT_OK(tide_fsplit_reader_create(&r, fs, &e));
    TT_ASSERT(tide_fsplit_reader_begin(r, fresh, &e) == TIDE_EINVAL);
    tide_err_clear(&e);
    TT_OK(tide_fsplit_parse(fs, 0, a, &e));
    TT_ASSERT(tide_fsplit_reader_begin(r, a, &e) == TIDE_EINVAL);
    tide_fsplit_reader_free(r);
    tide_fsplit_chunk_free(fresh);
    tide_fsplit_chunk_free(a);
    tide_fsplit_chunk_free(b);
    tide_fsplit_free(fs);
}

/* tide_src_open with parse_threads > 1: the same rows, positions, dead
 * letters, batches and end position as one thread with the same chunk size
 * (both cut batches at chunk boundaries), read with tide_src_next or with
 * tide_src_next_lend, for random CSV and JSON Lines files and chunk sizes
 * down to a few bytes. */
static void test_source_parse_threads(void)
{
    for (uint64_t it = 0; it < case_count(60); it++) {
        uint64_t seed = case_seed(20261207000, it), s = seed;
        tide_buf text = {0};
        bool json = rnd(&s, 3) == 0;
        bool header = !json && rnd(&s, 2);
        if (json)
            gen_jsonl(&text, &s, (size_t)rnd(&s, 200));
        else
            gen_csv(&text, &s, header, (size_t)rnd(&s, 200));
        TT_ASSERT(write_file(g_path, text.data, text.len) == 0);
        file_case fc = {.path = g_path,
                        .schema = g_schema,
                        .format = json ? TIDE_FORMAT_JSONL : TIDE_FORMAT_CSV,
                        .header = header};
        run_log a = {0}, b = {0};
        tide_src_pos ea = {0}, eb = {0};
        uint32_t rows = 1 + (uint32_t)rnd(&s, 64), threads = 2 + (uint32_t)rnd(&s, 3);
        size_t chunk = 1 + (size_t)rnd(&s, rnd(&s, 2) ? 16 : text.len + 10);
        bool lend = rnd(&s, 2);
        TT_ASSERT(run_sequential(&fc, rows, 0, chunk, &a, &ea) == 0);
        TT_ASSERT(run_par_source(&fc, threads, chunk, rows, lend, &b, &eb) == 0);
        char what[128];
        snprintf(what, sizeof what, "seed %" PRIu64 " threads %u chunk %zu%s", seed, threads, chunk,
                 lend ? " (lent batches)" : "");
        int same = same_logs(&a, &b, what);
        if (same == 0 && (a.nbatch != b.nbatch ||
                          (a.nbatch && memcmp(a.batch_end, b.batch_end, a.nbatch * sizeof *a.batch_end)))) {
            fprintf(stderr, "  %s: %zu vs %zu batches\n", what, a.nbatch, b.nbatch);
            same = -1;
        }
        log_free(&a);
        log_free(&b);
        tide_buf_free(&text);
        TT_ASSERT_MSG(same == 0, "%s", what);
        TT_ASSERT(ea.offset == eb.offset && ea.line == eb.line);
    }
}

/* Seeking: a source (one thread or several) reads k batches, a new one
 * (either kind) seeks to its position and reads the rest; together they
 * deliver the sequential run's rows, positions and dead letters, in the
 * same interleaving, for random files, chunk sizes and cuts. */
static int read_part(const file_case *fc, uint32_t threads, size_t chunk, uint32_t batch_rows,
                     const tide_src_pos *from, size_t batches, run_log *l, tide_src_pos *at)
{
    tide_src_config c;
    case_cfg(fc, &c, l);
    c.parse_threads = threads;
    c.chunk_size = chunk;
    tide_err e = {0};
    tide_src *src = NULL;
    tide_cbatch *b = NULL;
    int rc = tide_src_open(&src, &c, &e);
    if (!rc)
        rc = tide_cbatch_create(&b, fc->schema, batch_rows, TIDE_CBATCH_POS, &e);
    if (!rc && from)
        rc = tide_src_seek(src, 0, from, &e);
    for (size_t k = 0; !rc && k < batches; k++) {
        tide_src_batch info;
        rc = tide_src_next(src, b, &info, &e);
        if (rc == TIDE_SRC_READY) {
            log_batch(l, b);
            rc = 0;
        } else if (rc == TIDE_SRC_END) {
            rc = 0;
            break;
        }
    }
    if (!rc && at)
        tide_src_position(src, 0, at);
    if (rc < 0)
        fprintf(stderr, "  read_part (threads %u): %s\n", threads, e.msg);
    tide_cbatch_free(b);
    tide_src_free(src);
    return rc < 0 ? rc : 0;
}

static void test_seek(void)
{
    uint64_t cuts = 0;
    for (uint64_t it = 0; it < case_count(80); it++) {
        uint64_t seed = case_seed(20270301000, it), s = seed;
        tide_buf text = {0};
        bool json = rnd(&s, 3) == 0;
        bool header = !json && rnd(&s, 2);
        if (json)
            gen_jsonl(&text, &s, (size_t)rnd(&s, 150));
        else
            gen_csv(&text, &s, header, (size_t)rnd(&s, 150));
        TT_ASSERT(write_file(g_path, text.data, text.len) == 0);
        file_case fc = {.path = g_path,
                        .schema = g_schema,
                        .format = json ? TIDE_FORMAT_JSONL : TIDE_FORMAT_CSV,
                        .header = header};
        run_log all = {0};
        tide_src_pos end = {0};
        uint32_t rows = 1 + (uint32_t)rnd(&s, 24);
        TT_ASSERT(run_sequential(&fc, rows, 0, 0, &all, &end) == 0);
        for (int cut = 0; cut < 6; cut++) {
            uint32_t ta = rnd(&s, 2) ? 1 : 2 + (uint32_t)rnd(&s, 3), tb = rnd(&s, 2) ? 1 : 2 + (uint32_t)rnd(&s, 3);
            size_t ca = 1 + (size_t)rnd(&s, rnd(&s, 2) ? 16 : text.len + 10);
            size_t cb = 1 + (size_t)rnd(&s, rnd(&s, 2) ? 16 : text.len + 10);
            size_t k = (size_t)rnd(&s, all.nbatch + 2);
            run_log two = {0};
            tide_src_pos at = {0}, fin = {0};
            int rc = read_part(&fc, ta, ca, rows, NULL, k, &two, &at);
            if (!rc)
                rc = read_part(&fc, tb, cb, rows, &at, SIZE_MAX, &two, &fin);
            char what[160];
            snprintf(what, sizeof what,
                     "seed %" PRIu64 ": %zu batches on %u threads (chunk %zu), the rest on %u (chunk %zu)", seed, k,
                     ta, ca, tb, cb);
            int same = rc ? -1 : same_logs(&all, &two, what);
            log_free(&two);
            if (same == 0 && (fin.offset != end.offset || fin.line != end.line))
                same = -1;
            if (same)
                fprintf(stderr, "  %s: rc %d, end %" PRIu64 ":%" PRIu64 " vs %" PRIu64 ":%" PRIu64 "\n", what, rc,
                        fin.offset, fin.line, end.offset, end.line);
            TT_ASSERT(same == 0);
            cuts++;
        }
        log_free(&all);
        tide_buf_free(&text);
    }
    fprintf(stderr, "  %" PRIu64 " cuts\n", cuts);
}

int main(void)
{
    const char *dir = tt_tmpdir("test_file_split");
    if (!dir)
        return 1;
    snprintf(g_path, sizeof g_path, "%s/in.txt", dir);
    g_schema = test_schema();
    if (!g_schema)
        return 1;
    TT_RUN(test_api);
    TT_RUN(test_source_parse_threads);
    TT_RUN(test_seek);
    TT_RUN(test_edge_files);
    TT_RUN(test_quoted_newline);
    TT_RUN(test_plain_guesses_right);
    TT_RUN(test_random_csv);
    TT_RUN(test_random_jsonl);
    TT_RUN(test_threads);
    TT_RUN(test_io_faults);
    tide_schema_free(g_schema);
    remove(g_path);
    rmdir(dir);
    TT_DONE();
}
