/*
 * sink.c - the STDOUT, FILE and TOPIC sinks and the dead-letter sink.
 *
 * STDOUT and FILE share `outfile`: an encoder (data/codec.h for CSV and
 * JSON Lines, the table writer below for TABLE) appends to one buffer,
 * which is written out (write(2) to a descriptor, or tide_io_pwrite to the
 * temp file) when it holds flush_bytes.  TOPIC encodes a whole batch, cuts the
 * text back into one value per row (the CSV lexer finds the row boundaries,
 * so quoted LFs stay inside their value; JSON Lines objects never hold a raw
 * LF), groups the rows by partition with a counting sort, and appends one
 * run per partition.  All scratch arrays are reused across batches.
 */
#include "connect/sink.h"

#include "base/fault.h"
#include "base/io.h"
#include "data/csv.h"
#include "data/decimal.h"
#include "data/json.h"
#include "data/timefmt.h"
#include "log/producer.h"
#include "log/topic.h"
#include "log/writer.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- an output file or descriptor ---- */

typedef struct outfile {
    int fd;          /* >= 0: a descriptor (not owned) */
    tide_file *f;    /* else the temp file */
    char *path, *tmp;
    uint64_t off;
} outfile;

/* The file sink writes PATH.tide-tmp and renames it over PATH at commit
 * (DESIGN.md 5), so it refuses a PATH that exists and is not a regular
 * file: the rename would replace a device, a FIFO, a symlink (not its
 * target) or fail on a directory.  A PATH.tide-tmp left by a killed run is
 * removed first (unlinked: if it is a symlink, never its target), then the
 * temp is created anew, exclusively. */
#define OUT_TMP_SUFFIX ".tide-tmp"

static int out_open_path(outfile *o, const char *path, tide_err *e)
{
    int rc;
    size_t n = strlen(path), sn = sizeof OUT_TMP_SUFFIX;
    o->fd = -1;
    tide_io_info at;
    if ((rc = tide_io_stat(path, false, &at, e)))
        return rc;
    if (at.kind != TIDE_IO_NONE && at.kind != TIDE_IO_REGULAR)
        return tide_err_set(e, TIDE_EINVAL,
                            "file sink %s: the path exists and is %s, not a regular file (the sink writes a new "
                            "file and renames it over the path, which would replace it)",
                            path, tide_io_kind_name(at.kind));
    o->path = malloc(n + 1);
    o->tmp = malloc(n + sn);
    if (!o->path || !o->tmp)
        return tide_err_set(e, TIDE_ENOMEM, "%s: out of memory", path);
    memcpy(o->path, path, n + 1);
    memcpy(o->tmp, path, n);
    memcpy(o->tmp + n, OUT_TMP_SUFFIX, sn);
    tide_io_info stale;
    if ((rc = tide_io_stat(o->tmp, false, &stale, e)))
        return rc;
    if (stale.kind == TIDE_IO_DIRECTORY)
        return tide_err_set(e, TIDE_EINVAL, "file sink %s: its temporary %s is a directory", path, o->tmp);
    if (stale.kind != TIDE_IO_NONE && (rc = tide_io_unlink(o->tmp, e)))
        return rc;
    return tide_io_open(&o->f, o->tmp, TIDE_IO_WRITE | TIDE_IO_CREATE | TIDE_IO_EXCL, e);
}

/* Append to `path` itself: created if missing, written from its end; a
 * last line without its LF (a write cut short by a crash) is ended first
 * so the next line starts clean.  o->tmp stays NULL: commit only fsyncs. */
static int out_open_append(outfile *o, const char *path, tide_err *e)
{
    int rc;
    size_t n = strlen(path);
    char last = '\n';
    size_t got = 0;
    o->fd = -1;
    o->path = malloc(n + 1);
    if (!o->path)
        return tide_err_set(e, TIDE_ENOMEM, "%s: out of memory", path);
    memcpy(o->path, path, n + 1);
    if ((rc = tide_io_open(&o->f, path, TIDE_IO_WRITE | TIDE_IO_CREATE, e)) ||
        (rc = tide_io_size(o->f, &o->off, e)))
        return rc;
    if (o->off > 0 && (rc = tide_io_pread(o->f, &last, 1, o->off - 1, &got, e)))
        return rc;
    if (got == 1 && last != '\n' && (rc = tide_io_pwrite(o->f, "\n", 1, o->off, e)) == 0)
        o->off++;
    return rc;
}

static int out_write(outfile *o, const void *p, size_t len, tide_err *e)
{
    if (o->fd < 0) {
        int rc = tide_io_pwrite(o->f, p, len, o->off, e);
        if (rc == 0)
            o->off += len;
        return rc;
    }
    const char *c = p;
    while (len) {
        ssize_t w = write(o->fd, c, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return tide_err_sys(e, errno, "write to descriptor %d", o->fd);
        c += w;
        len -= (size_t)w;
    }
    return 0;
}

/* fsync, close and rename the temp file over the path. */
static int out_commit(outfile *o, tide_err *e)
{
    if (o->fd >= 0 || !o->f)
        return 0;
    int rc = tide_io_fsync(o->f, e);
    tide_io_close(o->f);
    o->f = NULL;
    if (rc == 0 && o->tmp) /* NULL tmp: appended in place */
        rc = tide_io_rename(o->tmp, o->path, e);
    return rc;
}

static void out_free(outfile *o, bool remove_tmp)
{
    if (o->f) {
        tide_io_close(o->f);
        o->f = NULL;
    }
    if (remove_tmp && o->tmp && o->fd < 0)
        tide_io_unlink(o->tmp, NULL); /* best effort: nothing durable depends on it */
    free(o->path);
    free(o->tmp);
    o->path = o->tmp = NULL;
}

/* ---- the sink ---- */

struct tide_sink {
    tide_sink_config cfg;
    tide_err err; /* sticky */
    tide_encoder *enc; /* CSV, JSONL */
    tide_buf buf;
    /* TABLE: each column's width and alignment, a cell's text */
    size_t *widths;
    bool *right;
    tide_buf cell;
    uint64_t rows;
    bool wrote; /* a batch went through the encoder */
    /* STDOUT, FILE */
    outfile out;
    bool opened;
    /* TOPIC */
    tide_log_writer *w;
    int key_col, time_col;
    tide_buf keys;
    tide_record *recs, *sorted;
    uint32_t *part;
    size_t *key_off;
    uint32_t *count; /* per partition */
    size_t rcap;
    /* transactions (cfg.txn) */
    tide_encode_opts eo;  /* FILE: a fresh encoder per part (its own header) */
    bool recovered;
    int64_t last_pre, last_commit;
    int64_t *pend;        /* FILE: pre-committed ids with a part file, ascending */
    size_t npend, pend_cap;
    tide_file *lock;      /* FILE: <dir>/.lock, held exclusive */
    tide_log_producer *prod; /* TOPIC: the producer; w is then its writer (borrowed) */
};

void tide_sink_config_init(tide_sink_config *c)
{
    memset(c, 0, sizeof *c);
    c->kind = TIDE_SINK_STDOUT;
    c->format = TIDE_FORMAT_CSV;
    c->fd = 1;
}

static void sink_free(tide_sink *k, bool remove_tmp)
{
    tide_encoder_free(k->enc);
    tide_buf_free(&k->buf);
    free(k->widths);
    free(k->right);
    tide_buf_free(&k->cell);
    out_free(&k->out, remove_tmp);
    if (k->prod)
        tide_log_producer_close(k->prod, NULL); /* commits nothing; closes k->w */
    else
        tide_log_writer_close(k->w, NULL);
    tide_buf_free(&k->keys);
    free(k->recs);
    free(k->sorted);
    free(k->part);
    free(k->key_off);
    free(k->count);
    free(k->pend);
    tide_io_close(k->lock);
    free(k);
}

int tide_sink_config_set(tide_sink_config *c, const char *key, const char *value, tide_err *e)
{
    int bad = 0;
    if (!key || !value)
        return tide_err_set(e, TIDE_EINVAL, "sink option: missing key or value");
    if (!strcmp(key, "format") && !strcmp(value, "table")) {
        c->format = TIDE_FORMAT_TABLE;
        return 0;
    }
    int fmt = tide_codec_option(key, value, &c->format, &c->header, &c->delim);
    if (fmt < 0)
        return tide_err_set(e, TIDE_EINVAL, "sink option '%s': bad value '%s'", key, value);
    if (fmt > 0)
        return 0;
    if (!strcmp(key, "connector")) {
        if (!strcmp(value, "stdout") || !strcmp(value, "print"))
            c->kind = TIDE_SINK_STDOUT;
        else if (!strcmp(value, "file") || !strcmp(value, "filesystem"))
            c->kind = TIDE_SINK_FILE;
        else if (!strcmp(value, "topic"))
            c->kind = TIDE_SINK_TOPIC;
        else
            bad = 1;
    } else if (!strcmp(key, "path")) {
        c->path = value;
    } else if (!strcmp(key, "topic")) {
        c->topic = value;
    } else if (!strcmp(key, "data")) {
        c->datadir = value;
    } else if (!strcmp(key, "key.column")) {
        c->key_column = value;
    } else {
        return tide_err_set(e, TIDE_EINVAL, "sink option '%s': unknown option", key);
    }
    if (bad)
        return tide_err_set(e, TIDE_EINVAL, "sink option '%s': bad value '%s'", key, value);
    return 0;
}

/* ---- the aligned table ---- */

static size_t table_type_width(tide_type t)
{
    switch (tide_type_base(t)) {
    case TIDE_TYPE_TIMESTAMP:
        return 23;
    case TIDE_TYPE_BIGINT:
    case TIDE_TYPE_DOUBLE:
    case TIDE_TYPE_DECIMAL:
        return 8;
    case TIDE_TYPE_BOOLEAN:
        return 5;
    default:
        return 10;
    }
}

/* One cell padded to w (right: before the text); the last one unpadded and
 * without the two spaces that separate cells. */
static int table_cell(tide_buf *b, const char *s, size_t len, size_t w, bool right, bool last)
{
    int rc = 0;
    if (right)
        for (size_t i = len; i < w && !rc; i++)
            rc = tide_buf_putc(b, ' ');
    if (!rc)
        rc = tide_buf_append(b, s, len);
    if (!right && !last)
        for (size_t i = len; i < w && !rc; i++)
            rc = tide_buf_putc(b, ' ');
    if (!rc && !last)
        rc = tide_buf_append(b, "  ", 2);
    return rc;
}

/* The text of cell (c, r) of b into t (reset first). */
static int table_text(tide_buf *t, const tide_cbatch *b, uint32_t c, uint32_t r)
{
    char ts[TIDE_TS_FORMAT_MAX];
    tide_buf_reset(t);
    if (tide_cbatch_is_null(b, c, r))
        return tide_buf_append(t, "NULL", 4);
    switch (tide_type_base(tide_cbatch_type(b, c))) {
    case TIDE_TYPE_DECIMAL: {
        char d[TIDE_DEC_TEXT_MAX];
        return tide_buf_append(t, d, tide_dec_format(tide_cbatch_dec(b, c, r), tide_dec_scale(tide_cbatch_type(b, c)), d));
    }
    case TIDE_TYPE_BOOLEAN:
        return tide_cbatch_bool(b, c, r) ? tide_buf_append(t, "TRUE", 4) : tide_buf_append(t, "FALSE", 5);
    case TIDE_TYPE_BIGINT:
        return tide_buf_printf(t, "%" PRId64, tide_cbatch_i64(b, c, r));
    case TIDE_TYPE_DOUBLE:
        return tide_codec_write_double(t, tide_cbatch_f64(b, c, r));
    case TIDE_TYPE_TIMESTAMP:
        return tide_buf_append(t, ts, tide_ts_format(tide_cbatch_i64(b, c, r), ts));
    case TIDE_TYPE_STRING: {
        tide_str s = tide_cbatch_str(b, c, r);
        return tide_buf_append(t, s.ptr, s.len);
    }
    default:
        return tide_buf_putc(t, '?');
    }
}

static bool table_op_leads(const tide_sink *k) { return k->cfg.op == TIDE_SINK_OP_LEAD; }

static int table_init(tide_sink *k, tide_err *e)
{
    const tide_schema *s = k->cfg.schema;
    size_t n = tide_schema_ncols(s);
    k->widths = calloc(n + 1, sizeof *k->widths);
    k->right = calloc(n + 1, sizeof *k->right);
    if (!k->widths || !k->right)
        return tide_err_set(e, TIDE_ENOMEM, "table sink: out of memory");
    int rc = 0;
    if (table_op_leads(k))
        rc = table_cell(&k->buf, "op", 2, 2, false, n == 0);
    for (size_t i = 0; i < n && !rc; i++) {
        const tide_column *c = tide_schema_col(s, i);
        size_t w = table_type_width(c->type);
        k->widths[i] = c->name_len > w ? c->name_len : w;
        k->right[i] = c->type == TIDE_TYPE_BIGINT || c->type == TIDE_TYPE_DOUBLE || tide_type_is_decimal(c->type);
        rc = table_cell(&k->buf, c->name, c->name_len, k->widths[i], k->right[i], i + 1 == n);
    }
    if (!rc)
        rc = tide_buf_putc(&k->buf, '\n');
    if (rc)
        return tide_err_set(e, TIDE_ENOMEM, "table sink: out of memory");
    return 0;
}

static int table_rows(tide_sink *k, const tide_cbatch *b, const uint32_t *sel, uint32_t n, tide_err *e)
{
    uint32_t ncols = (uint32_t)tide_schema_ncols(k->cfg.schema);
    bool in_col = k->cfg.op == TIDE_SINK_OP_COLUMN;
    int rc = 0;
    for (uint32_t i = 0; i < n && !rc; i++) {
        uint32_t r = sel ? sel[i] : i;
        const char *op = tide_op_name(tide_cbatch_op(b, r));
        if (table_op_leads(k))
            rc = table_cell(&k->buf, op, 2, 2, false, ncols == 0);
        for (uint32_t c = 0; c < ncols && !rc; c++) {
            bool last = c + 1 == ncols;
            if (in_col && c == k->cfg.op_col) {
                rc = table_cell(&k->buf, op, 2, k->widths[c], k->right[c], last);
                continue;
            }
            if ((rc = table_text(&k->cell, b, c, r)) != 0)
                break;
            rc = table_cell(&k->buf, k->cell.len ? (const char *)k->cell.data : "", k->cell.len, k->widths[c],
                            k->right[c], last);
        }
        if (!rc)
            rc = tide_buf_putc(&k->buf, '\n');
    }
    if (rc)
        return tide_err_set(e, TIDE_ENOMEM, "table sink: out of memory");
    return 0;
}

static int flush_buf(tide_sink *k, tide_err *e);
static int txn_file_open(tide_sink *k, tide_err *e);

int tide_sink_open(tide_sink **out, const tide_sink_config *cfg, tide_err *e)
{
    int rc;
    *out = NULL;
    tide_sink *k = calloc(1, sizeof *k);
    if (!k)
        return tide_err_set(e, TIDE_ENOMEM, "sink: out of memory");
    k->cfg = *cfg;
    k->out.fd = cfg->fd;
    k->key_col = k->time_col = -1;
    if (!k->cfg.flush_bytes)
        k->cfg.flush_bytes = 64u << 10;
    if (!cfg->schema) {
        rc = tide_err_set(e, TIDE_EINVAL, "sink: no schema");
        goto fail;
    }
    if (cfg->op == TIDE_SINK_OP_COLUMN &&
        (cfg->op_col >= tide_schema_ncols(cfg->schema) ||
         tide_schema_col(cfg->schema, cfg->op_col)->type != TIDE_TYPE_STRING)) {
        rc = tide_err_set(e, TIDE_EINVAL, "sink: op column %u is not a STRING column of the schema", cfg->op_col);
        goto fail;
    }
    if (cfg->format == TIDE_FORMAT_TABLE) {
        if (cfg->kind == TIDE_SINK_TOPIC) {
            rc = tide_err_set(e, TIDE_EINVAL, "topic sink %s: the table format is for stdout and files",
                              cfg->topic ? cfg->topic : "?");
            goto fail;
        }
        if ((rc = table_init(k, e)))
            goto fail;
    } else {
        k->eo = (tide_encode_opts){.format = cfg->format,
                                   .delim = cfg->delim,
                                   .header = cfg->header && cfg->kind != TIDE_SINK_TOPIC,
                                   .op_first = cfg->op == TIDE_SINK_OP_LEAD,
                                   .op_in_col = cfg->op == TIDE_SINK_OP_COLUMN,
                                   .op_col = cfg->op_col};
        if ((rc = tide_encoder_create(&k->enc, cfg->schema, &k->eo, e)))
            goto fail;
    }
    switch (cfg->kind) {
    case TIDE_SINK_STDOUT:
        if (k->out.fd < 0) {
            rc = tide_err_set(e, TIDE_EINVAL, "stdout sink: bad descriptor %d", k->out.fd);
            goto fail;
        }
        break;
    case TIDE_SINK_FILE:
        if (!cfg->path) {
            rc = tide_err_set(e, TIDE_EINVAL, "file sink: no path");
            goto fail;
        }
        if ((rc = cfg->txn ? txn_file_open(k, e) : out_open_path(&k->out, cfg->path, e)))
            goto fail;
        break;
    case TIDE_SINK_TOPIC: {
        k->out.fd = -1;
        if (!cfg->topic) {
            rc = tide_err_set(e, TIDE_EINVAL, "topic sink: no topic");
            goto fail;
        }
        if (!k->cfg.clock)
            k->cfg.clock = tide_clock_system();
        if (cfg->key_column) {
            k->key_col = tide_schema_find(cfg->schema, cfg->key_column, strlen(cfg->key_column));
            if (k->key_col < 0) {
                rc = tide_err_set(e, TIDE_EINVAL, "topic sink %s: key column %s is not in the schema",
                                  cfg->topic, cfg->key_column);
                goto fail;
            }
        }
        k->time_col = tide_schema_time_column(cfg->schema);
        const char *dir = tide_data_dir(cfg->datadir);
        if (!tide_topic_exists(dir, cfg->topic)) {
            rc = tide_err_set(e, TIDE_ENOENT, "topic %s does not exist (in %s)", cfg->topic, dir);
            goto fail;
        }
        tide_log_writer_opts wo = {.clock = cfg->clock, .report = cfg->report, .report_ctx = cfg->report_ctx};
        if (cfg->txn) {
            if ((rc = tide_log_producer_open(&k->prod, dir, cfg->topic, cfg->producer ? cfg->producer : "tide", &wo,
                                             e)))
                goto fail;
            k->w = tide_log_producer_writer(k->prod);
        } else if ((rc = tide_log_writer_open(&k->w, dir, cfg->topic, &wo, e))) {
            goto fail;
        }
        k->count = calloc(tide_log_writer_partitions(k->w), sizeof *k->count);
        if (!k->count) {
            rc = tide_err_set(e, TIDE_ENOMEM, "sink: out of memory");
            goto fail;
        }
        break;
    }
    default:
        rc = tide_err_set(e, TIDE_EINVAL, "sink: unknown kind %d", (int)cfg->kind);
        goto fail;
    }
    /* a terminal sees the table's column names before the first row */
    if (cfg->format == TIDE_FORMAT_TABLE && cfg->kind == TIDE_SINK_STDOUT && (rc = flush_buf(k, e)))
        goto fail;
    *out = k;
    return 0;
fail:
    sink_free(k, true);
    return rc;
}

static int flush_buf(tide_sink *k, tide_err *e)
{
    if (!k->buf.len)
        return 0;
    int rc = out_write(&k->out, k->buf.data, k->buf.len, e);
    tide_buf_reset(&k->buf);
    return rc;
}

static int grow_recs(tide_sink *k, size_t n, tide_err *e)
{
    if (n <= k->rcap)
        return 0;
    tide_record *r = realloc(k->recs, n * sizeof *r);
    if (r)
        k->recs = r;
    tide_record *s = realloc(k->sorted, n * sizeof *s);
    if (s)
        k->sorted = s;
    uint32_t *p = realloc(k->part, n * sizeof *p);
    if (p)
        k->part = p;
    size_t *ko = realloc(k->key_off, n * sizeof *ko);
    if (ko)
        k->key_off = ko;
    if (!r || !s || !p || !ko)
        return tide_err_set(e, TIDE_ENOMEM, "topic sink %s: out of memory", k->cfg.topic);
    k->rcap = n;
    return 0;
}

/* Append the key text of row r to k->keys; false for a NULL key. */
static int key_text(tide_sink *k, const tide_cbatch *b, uint32_t r, bool *has, tide_err *e)
{
    uint32_t c = (uint32_t)k->key_col;
    int rc = 0;
    *has = !tide_cbatch_is_null(b, c, r);
    if (!*has)
        return 0;
    switch (tide_type_base(tide_cbatch_type(b, c))) {
    case TIDE_TYPE_STRING: {
        tide_str s = tide_cbatch_str(b, c, r);
        rc = tide_buf_append(&k->keys, s.ptr, s.len);
        break;
    }
    case TIDE_TYPE_DECIMAL: {
        char d[TIDE_DEC_TEXT_MAX];
        rc = tide_buf_append(&k->keys, d, tide_dec_format(tide_cbatch_dec(b, c, r), tide_dec_scale(tide_cbatch_type(b, c)), d));
        break;
    }
    case TIDE_TYPE_BIGINT:
        rc = tide_buf_printf(&k->keys, "%" PRId64, tide_cbatch_i64(b, c, r));
        break;
    case TIDE_TYPE_TIMESTAMP: {
        char t[TIDE_TS_FORMAT_MAX];
        size_t n = tide_ts_format(tide_cbatch_i64(b, c, r), t);
        rc = tide_buf_append(&k->keys, t, n);
        break;
    }
    case TIDE_TYPE_DOUBLE:
        rc = tide_codec_write_double(&k->keys, tide_cbatch_f64(b, c, r));
        break;
    case TIDE_TYPE_BOOLEAN:
        rc = tide_buf_printf(&k->keys, "%s", tide_cbatch_bool(b, c, r) ? "true" : "false");
        break;
    default:
        *has = false;
        break;
    }
    if (rc)
        return tide_err_set(e, rc, "topic sink %s: out of memory", k->cfg.topic);
    return 0;
}

static int write_topic(tide_sink *k, const tide_cbatch *b, const uint32_t *sel, uint32_t n, tide_err *e)
{
    uint32_t np = tide_log_writer_partitions(k->w);
    int rc;
    if (n == 0)
        return 0;
    if ((rc = grow_recs(k, n, e)))
        return rc;
    tide_buf_reset(&k->buf);
    tide_buf_reset(&k->keys);
    if ((rc = tide_encoder_encode_sel(k->enc, b, sel, n, &k->buf, e)))
        return rc;
    /* cut the text into one value per row (i: the i-th selected row, r) */
    const char *text = (const char *)k->buf.data;
    size_t pos = 0;
    tide_csv lex;
    tide_csv_init(&lex, k->cfg.topic, k->cfg.delim ? k->cfg.delim : ',');
    int64_t now = k->time_col >= 0 ? 0 : tide_clock_now_ms(k->cfg.clock);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t r = sel ? sel[i] : i;
        const char *v;
        size_t vlen;
        if (k->cfg.format == TIDE_FORMAT_CSV) {
            tide_csv_record rec;
            rc = tide_csv_next(&lex, text, k->buf.len, &pos, true, &rec, e);
            if (rc != 1) {
                rc = tide_err_set(e, rc < 0 ? rc : TIDE_EINVAL, "topic sink %s: cannot cut row %" PRIu32,
                                  k->cfg.topic, i);
                break;
            }
            v = rec.raw;
            vlen = rec.raw_len;
        } else {
            const char *nl = memchr(text + pos, '\n', k->buf.len - pos);
            if (!nl) {
                rc = tide_err_set(e, TIDE_EINVAL, "topic sink %s: cannot cut row %" PRIu32, k->cfg.topic, i);
                break;
            }
            v = text + pos;
            vlen = (size_t)(nl - v);
            pos += vlen + 1;
        }
        rc = 0;
        tide_record *rec = &k->recs[i];
        memset(rec, 0, sizeof *rec);
        rec->value = v;
        rec->value_len = vlen;
        rec->timestamp = (k->time_col >= 0 && !tide_cbatch_is_null(b, (uint32_t)k->time_col, r))
                             ? tide_cbatch_i64(b, (uint32_t)k->time_col, r)
                             : (k->time_col >= 0 ? tide_clock_now_ms(k->cfg.clock) : now);
        k->key_off[i] = SIZE_MAX;
        if (k->key_col >= 0) {
            size_t at = k->keys.len;
            bool has;
            if ((rc = key_text(k, b, r, &has, e)))
                break;
            if (has) {
                k->key_off[i] = at;
                rec->key_len = k->keys.len - at;
            }
        }
    }
    tide_csv_free(&lex);
    if (rc)
        return rc;
    /* keys are stable now: set pointers and route */
    memset(k->count, 0, np * sizeof *k->count);
    for (uint32_t r = 0; r < n; r++) {
        tide_record *rec = &k->recs[r];
        if (k->key_off[r] != SIZE_MAX)
            rec->key = k->keys.len ? (const char *)k->keys.data + k->key_off[r] : "";
        k->part[r] = tide_log_writer_route(k->w, rec->key, rec->key_len);
        k->count[k->part[r]]++;
    }
    /* counting sort by partition, stable */
    size_t start = 0;
    for (uint32_t p = 0; p < np; p++) {
        size_t c = k->count[p];
        k->count[p] = (uint32_t)start;
        start += c;
    }
    for (uint32_t r = 0; r < n; r++)
        k->sorted[k->count[k->part[r]]++] = k->recs[r];
    start = 0;
    for (uint32_t p = 0; p < np; p++) {
        size_t end = k->count[p];
        if (end > start && (rc = k->prod ? tide_log_producer_append(k->prod, p, k->sorted + start, end - start, e)
                                         : tide_log_append(k->w, p, k->sorted + start, end - start, NULL, e)))
            return rc;
        start = end;
    }
    return 0;
}

int tide_sink_write(tide_sink *k, const tide_cbatch *b, tide_err *e)
{
    return tide_sink_write_sel(k, b, NULL, tide_cbatch_rows(b), e);
}

static int txn_part_begin(tide_sink *k, tide_err *e);

int tide_sink_write_sel(tide_sink *k, const tide_cbatch *b, const uint32_t *sel, uint32_t n, tide_err *e)
{
    int rc;
    if (k->err.code)
        return tide_err_set(e, k->err.code, "%s", k->err.msg);
    if (k->cfg.txn && !k->recovered)
        return tide_err_set(e, TIDE_EINVAL, "transactional sink: write before tide_sink_txn_recover");
    if (k->cfg.txn && k->cfg.kind == TIDE_SINK_FILE && !k->out.f && (rc = txn_part_begin(k, &k->err)))
        return tide_err_set(e, rc, "%s", k->err.msg);
    if (k->cfg.kind == TIDE_SINK_TOPIC) {
        rc = write_topic(k, b, sel, n, &k->err);
    } else {
        if (k->enc)
            rc = tide_encoder_encode_sel(k->enc, b, sel, n, &k->buf, &k->err);
        else
            rc = table_rows(k, b, sel, n, &k->err);
        k->wrote = true;
        if (rc == 0 && (k->cfg.prompt || k->buf.len >= k->cfg.flush_bytes))
            rc = flush_buf(k, &k->err);
    }
    if (rc)
        return tide_err_set(e, rc, "%s", k->err.msg);
    k->rows += n;
    return 0;
}

int tide_sink_flush(tide_sink *k, tide_err *e)
{
    if (k->err.code)
        return tide_err_set(e, k->err.code, "%s", k->err.msg);
    if (k->cfg.kind == TIDE_SINK_TOPIC)
        return 0;
    int rc = flush_buf(k, &k->err);
    if (rc)
        return tide_err_set(e, rc, "%s", k->err.msg);
    return 0;
}

/* A CSV header is written with the first batch; with no batch at all, an
 * empty one makes the encoder write it. */
static int header_only(tide_sink *k, tide_err *e)
{
    tide_cbatch *b = NULL;
    int rc = tide_cbatch_create(&b, k->cfg.schema, 1, 0, e);
    if (rc == 0)
        rc = tide_encoder_encode(k->enc, b, &k->buf, e);
    tide_cbatch_free(b);
    return rc;
}

int tide_sink_close(tide_sink *k, tide_err *e)
{
    if (!k)
        return 0;
    int rc = 0;
    if (k->cfg.txn && k->cfg.kind != TIDE_SINK_STDOUT) {
        /* commits nothing: FILE: the open part goes, pre-committed ones
         * stay; TOPIC: the open transaction stays open until the next
         * recover decides it */
        int rc2 = 0;
        if (k->prod) {
            tide_log_producer *p = k->prod;
            k->prod = NULL;
            k->w = NULL;
            rc2 = tide_log_producer_close(p, e);
        }
        sink_free(k, true);
        return rc2;
    }
    if (!k->err.code && !k->wrote && k->cfg.kind != TIDE_SINK_TOPIC && k->cfg.header &&
        k->cfg.format == TIDE_FORMAT_CSV && (rc = header_only(k, &k->err)))
        tide_err_set(e, rc, "%s", k->err.msg);
    if (rc == 0)
        rc = tide_sink_flush(k, e);
    if (rc == 0 && k->cfg.kind == TIDE_SINK_FILE)
        rc = out_commit(&k->out, e);
    if (rc == 0 && k->cfg.kind == TIDE_SINK_TOPIC) {
        tide_log_writer *w = k->w;
        k->w = NULL;
        rc = tide_log_writer_close(w, e);
    }
    sink_free(k, rc != 0);
    return rc;
}

void tide_sink_abort(tide_sink *k)
{
    if (k)
        sink_free(k, true);
}

uint64_t tide_sink_rows(const tide_sink *k) { return k->rows; }

/* ---- transactions ----
 *
 * FILE: the directory holds ".lock", ".part.open" (the open transaction),
 * ".part-<id>.inprogress" (pre-committed) and "part-<id>.<ext>"
 * (committed), <id> in 20 digits so that name order is id order.  Every
 * rename goes through tide_io_rename, which fsyncs the directory before it
 * returns, so each step is durable in order: a power loss leaves the files
 * of the last step that returned, or of the one before. */

#define TXN_OPEN ".part.open"
#define TXN_ID_DIGITS 20

static const char *txn_ext(const tide_sink *k) { return k->cfg.format == TIDE_FORMAT_JSONL ? "jsonl" : "csv"; }

static int txn_path(const tide_sink *k, char *out, size_t cap, bool committed, int64_t id, tide_err *e)
{
    int n = committed ? snprintf(out, cap, "%s/part-%020" PRId64 ".%s", k->cfg.path, id, txn_ext(k))
                      : snprintf(out, cap, "%s/.part-%020" PRId64 ".inprogress", k->cfg.path, id);
    if (n < 0 || (size_t)n >= cap)
        return tide_err_set(e, TIDE_EINVAL, "file sink %s: path too long", k->cfg.path);
    return 0;
}

static int txn_file_open(tide_sink *k, tide_err *e)
{
    int rc;
    const char *dir = k->cfg.path;
    char p[PATH_MAX];
    k->out.fd = -1;
    if (k->cfg.format == TIDE_FORMAT_TABLE)
        return tide_err_set(e, TIDE_EINVAL,
                            "file sink %s: the table format is for terminals; a transactional file sink writes "
                            "csv or json",
                            dir);
    tide_io_info at;
    if ((rc = tide_io_stat(dir, true, &at, e)))
        return rc;
    if (at.kind != TIDE_IO_NONE && at.kind != TIDE_IO_DIRECTORY)
        return tide_err_set(e, TIDE_EINVAL,
                            "file sink %s: the path is %s; a transactional file sink writes a directory of part "
                            "files",
                            dir, tide_io_kind_name(at.kind));
    if ((rc = tide_io_mkdirs(dir, e)))
        return rc;
    int n = snprintf(p, sizeof p, "%s/.lock", dir);
    if (n < 0 || (size_t)n >= sizeof p)
        return tide_err_set(e, TIDE_EINVAL, "file sink %s: path too long", dir);
    if ((rc = tide_io_open(&k->lock, p, TIDE_IO_WRITE | TIDE_IO_CREATE, e)))
        return rc;
    tide_err le = {0};
    rc = tide_io_lock(k->lock, TIDE_IO_LOCK_EX, &le);
    if (rc == TIDE_ELOCKED)
        return tide_err_set(e, rc, "file sink %s: another transactional sink has this directory open", dir);
    return rc ? tide_err_set(e, rc, "%s", le.msg) : 0;
}

/* Open ".part.open" for the rows of a new transaction, with a fresh encoder
 * (so a CSV part gets its own header). */
static int txn_part_begin(tide_sink *k, tide_err *e)
{
    int rc;
    char p[PATH_MAX];
    int n = snprintf(p, sizeof p, "%s/" TXN_OPEN, k->cfg.path);
    if (n < 0 || (size_t)n >= sizeof p)
        return tide_err_set(e, TIDE_EINVAL, "file sink %s: path too long", k->cfg.path);
    tide_encoder_free(k->enc);
    k->enc = NULL;
    if ((rc = tide_encoder_create(&k->enc, k->cfg.schema, &k->eo, e)))
        return rc;
    k->out.tmp = strdup(p);
    if (!k->out.tmp)
        return tide_err_set(e, TIDE_ENOMEM, "file sink %s: out of memory", k->cfg.path);
    k->out.off = 0;
    return tide_io_open(&k->out.f, p, TIDE_IO_WRITE | TIDE_IO_CREATE | TIDE_IO_EXCL, e);
}

static int txn_check(tide_sink *k, const char *what, tide_err *e)
{
    if (!k->cfg.txn)
        return tide_err_set(e, TIDE_EINVAL, "sink: %s on a sink opened without txn", what);
    if (k->err.code)
        return tide_err_set(e, k->err.code, "%s", k->err.msg);
    if (!k->recovered)
        return tide_err_set(e, TIDE_EINVAL, "transactional sink: %s before tide_sink_txn_recover", what);
    return 0;
}

/* Fail the sink with the error in k->err and copy it to e. */
static int txn_fail(tide_sink *k, int rc, tide_err *e) { return tide_err_set(e, rc, "%s", k->err.msg); }

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The id of "<prefix><20 digits><suffix>" (suffix NULL: '.' and anything),
 * or -1. */
static int64_t txn_name_id(const char *name, const char *prefix, const char *suffix)
{
    size_t pl = strlen(prefix);
    if (strncmp(name, prefix, pl) != 0)
        return -1;
    const char *d = name + pl;
    int64_t id = 0;
    for (int i = 0; i < TXN_ID_DIGITS; i++) {
        if (d[i] < '0' || d[i] > '9' || id > (INT64_MAX - 9) / 10)
            return -1;
        id = id * 10 + (d[i] - '0');
    }
    const char *rest = d + TXN_ID_DIGITS;
    if (suffix ? strcmp(rest, suffix) != 0 : rest[0] != '.')
        return -1;
    return id;
}

static int pend_push(tide_sink *k, int64_t id, tide_err *e)
{
    if (k->npend == k->pend_cap) {
        size_t cap = k->pend_cap ? 2 * k->pend_cap : 8;
        int64_t *v = realloc(k->pend, cap * sizeof *v);
        if (!v)
            return tide_err_set(e, TIDE_ENOMEM, "file sink %s: out of memory", k->cfg.path);
        k->pend = v;
        k->pend_cap = cap;
    }
    k->pend[k->npend++] = id;
    return 0;
}

/* Rename ".part-<id>.inprogress" to "part-<id>.<ext>". */
static int txn_file_commit_one(tide_sink *k, int64_t id, const char *point, tide_err *e)
{
    char from[PATH_MAX], to[PATH_MAX];
    int rc;
    if ((rc = txn_path(k, from, sizeof from, false, id, e)) || (rc = txn_path(k, to, sizeof to, true, id, e)) ||
        (rc = tide_fault(point, e)))
        return rc;
    return tide_io_rename(from, to, e);
}

static int txn_file_recover(tide_sink *k, int64_t pending, tide_err *e)
{
    int rc = 0;
    const char *dir = k->cfg.path;
    int64_t committed = 0;
    bool open_part = false;
    DIR *d = opendir(dir);
    if (!d)
        return tide_err_sys(e, errno, "file sink %s: opendir", dir);
    struct dirent *de;
    while (!rc && (de = readdir(d))) {
        int64_t id;
        if (strcmp(de->d_name, TXN_OPEN) == 0)
            open_part = true;
        else if ((id = txn_name_id(de->d_name, ".part-", ".inprogress")) >= 0)
            rc = pend_push(k, id, e);
        else if ((id = txn_name_id(de->d_name, "part-", NULL)) > committed)
            committed = id;
    }
    closedir(d);
    if (rc)
        return rc;
    if (committed > pending)
        return tide_err_set(e, TIDE_EINVAL,
                            "file sink %s: part %" PRId64 " is committed, but the checkpoint being resumed "
                            "pre-committed only up to %" PRId64 " (resuming would repeat rows; use a new directory "
                            "or restore a newer checkpoint)",
                            dir, committed, pending);
    if (k->npend)
        qsort(k->pend, k->npend, sizeof *k->pend, cmp_i64);
    for (size_t i = 0; i < k->npend && !rc; i++) {
        if (k->pend[i] <= pending) {
            rc = txn_file_commit_one(k, k->pend[i], "sink.file.recover", e);
        } else {
            char p[PATH_MAX];
            if (!(rc = txn_path(k, p, sizeof p, false, k->pend[i], e)) && !(rc = tide_fault("sink.file.recover", e)))
                rc = tide_io_unlink(p, e);
        }
    }
    k->npend = 0;
    if (!rc && open_part) {
        char p[PATH_MAX];
        int n = snprintf(p, sizeof p, "%s/" TXN_OPEN, dir);
        if (n < 0 || (size_t)n >= sizeof p)
            return tide_err_set(e, TIDE_EINVAL, "file sink %s: path too long", dir);
        if (!(rc = tide_fault("sink.file.recover", e)))
            rc = tide_io_unlink(p, e);
    }
    return rc;
}

int tide_sink_txn_recover(tide_sink *k, int64_t pending_id, tide_err *e)
{
    int rc;
    if (!k->cfg.txn)
        return tide_err_set(e, TIDE_EINVAL, "sink: recover on a sink opened without txn");
    if (k->err.code)
        return tide_err_set(e, k->err.code, "%s", k->err.msg);
    if (k->recovered)
        return tide_err_set(e, TIDE_EINVAL, "transactional sink: recovered twice");
    if (pending_id < 0)
        return tide_err_set(e, TIDE_EINVAL, "transactional sink: bad pending transaction id %" PRId64, pending_id);
    tide_err fe = {0};
    if ((k->cfg.kind == TIDE_SINK_FILE && (rc = txn_file_recover(k, pending_id, &fe))) ||
        (k->prod && (rc = tide_log_producer_recover(k->prod, pending_id, &fe)))) {
        if (rc != TIDE_EINVAL) /* the output ahead of the checkpoint changes nothing */
            k->err = fe;
        return tide_err_set(e, rc, "%s", fe.msg);
    }
    k->recovered = true;
    k->last_pre = k->last_commit = pending_id;
    return 0;
}

int tide_sink_txn_precommit(tide_sink *k, int64_t id, tide_err *e)
{
    int rc;
    if ((rc = txn_check(k, "precommit", e)))
        return rc;
    if (id <= k->last_pre)
        return tide_err_set(e, TIDE_EINVAL,
                            "transactional sink: pre-commit of transaction %" PRId64 " after %" PRId64
                            " (ids must increase)",
                            id, k->last_pre);
    if (k->cfg.kind != TIDE_SINK_TOPIC && (rc = flush_buf(k, &k->err)))
        return txn_fail(k, rc, e);
    if (k->prod && (rc = tide_log_producer_precommit(k->prod, id, &k->err)))
        return txn_fail(k, rc, e);
    if (k->cfg.kind == TIDE_SINK_FILE && k->out.f) {
        char to[PATH_MAX];
        if ((rc = tide_fault("sink.file.precommit", &k->err)) || (rc = tide_io_fsync(k->out.f, &k->err)))
            return txn_fail(k, rc, e);
        tide_io_close(k->out.f);
        k->out.f = NULL;
        if ((rc = txn_path(k, to, sizeof to, false, id, &k->err)) ||
            (rc = tide_fault("sink.file.precommit.rename", &k->err)) ||
            (rc = tide_io_rename(k->out.tmp, to, &k->err)) || (rc = pend_push(k, id, &k->err)))
            return txn_fail(k, rc, e);
        free(k->out.tmp);
        k->out.tmp = NULL;
    }
    k->last_pre = id;
    return 0;
}

int tide_sink_txn_commit(tide_sink *k, int64_t id, tide_err *e)
{
    int rc;
    if ((rc = txn_check(k, "commit", e)))
        return rc;
    if (id == k->last_commit)
        return 0;
    if (id < k->last_commit)
        return tide_err_set(e, TIDE_EINVAL,
                            "transactional sink: commit of transaction %" PRId64 " refused: transaction %" PRId64
                            " is already committed (a delayed commit never lands on a later transaction)",
                            id, k->last_commit);
    if (id > k->last_pre)
        return tide_err_set(e, TIDE_EINVAL,
                            "transactional sink: commit of transaction %" PRId64
                            ", which was not pre-committed (the last pre-committed is %" PRId64 ")",
                            id, k->last_pre);
    size_t i = 0;
    for (; i < k->npend && k->pend[i] <= id; i++)
        if ((rc = txn_file_commit_one(k, k->pend[i], "sink.file.commit", &k->err)))
            break;
    if (i)
        memmove(k->pend, k->pend + i, (k->npend - i) * sizeof *k->pend);
    k->npend -= i;
    if (!rc && k->prod)
        rc = tide_log_producer_commit(k->prod, id, &k->err);
    if (rc)
        return txn_fail(k, rc, e);
    k->last_commit = id;
    return 0;
}

int64_t tide_sink_txn_committed(const tide_sink *k) { return k->last_commit; }

/* ---- dead letters ---- */

struct tide_sink_dead {
    tide_sink_dead_config cfg;
    tide_err err;
    outfile out;
    tide_log_writer *w;
    tide_buf buf;
    uint64_t count;
};

static void dead_free(tide_sink_dead *d, bool remove_tmp)
{
    out_free(&d->out, remove_tmp);
    tide_log_writer_close(d->w, NULL);
    tide_buf_free(&d->buf);
    free(d);
}

int tide_sink_dead_open(tide_sink_dead **out, const tide_sink_dead_config *cfg, tide_err *e)
{
    int rc;
    *out = NULL;
    tide_sink_dead *d = calloc(1, sizeof *d);
    if (!d)
        return tide_err_set(e, TIDE_ENOMEM, "dead-letter sink: out of memory");
    d->cfg = *cfg;
    d->out.fd = -1;
    if (!d->cfg.clock)
        d->cfg.clock = tide_clock_system();
    if (cfg->path && !cfg->topic) {
        if ((rc = cfg->append ? out_open_append(&d->out, cfg->path, e) : out_open_path(&d->out, cfg->path, e)))
            goto fail;
    } else if (cfg->topic && !cfg->path) {
        const char *dir = tide_data_dir(cfg->datadir);
        if (cfg->create && tide_topic_exists(dir, cfg->topic) <= 0) {
            tide_topic_config tc;
            tide_topic_config_default(&tc);
            tc.partitions = 1;
            rc = tide_topic_create(dir, cfg->topic, &tc, e);
            if (rc == TIDE_EEXIST) /* created meanwhile by someone else */
                tide_err_clear(e);
            else if (rc != 0)
                goto fail;
        }
        if (tide_topic_exists(dir, cfg->topic) <= 0) {
            rc = tide_err_set(e, TIDE_ENOENT, "topic %s does not exist (in %s)", cfg->topic, dir);
            goto fail;
        }
        tide_log_writer_opts wo = {.clock = cfg->clock, .report = cfg->report, .report_ctx = cfg->report_ctx};
        if ((rc = tide_log_writer_open(&d->w, dir, cfg->topic, &wo, e)))
            goto fail;
    } else {
        rc = tide_err_set(e, TIDE_EINVAL, "dead-letter sink: give a path or a topic");
        goto fail;
    }
    *out = d;
    return 0;
fail:
    dead_free(d, true);
    return rc;
}

#define DEAD_RAW_KEEP ((size_t)(4u << 20))

int tide_sink_dead_write(tide_sink_dead *d, const char *reason, const char *position, const void *raw,
                         size_t raw_len, tide_err *e)
{
    int rc;
    if (d->err.code)
        return tide_err_set(e, d->err.code, "%s", d->err.msg);
    tide_buf_reset(&d->buf);
    if (!reason)
        reason = "";
    if (!position)
        position = "";
    /* A topic record holds at most TIDE_RECORD_MAX bytes: a letter about a
     * larger raw record keeps its first DEAD_RAW_KEEP bytes (escaped, at
     * most 6 times that) and says so, with the whole length. */
    size_t keep = raw_len;
    for (int pass = 0; pass < 2; pass++) {
        tide_buf_reset(&d->buf);
        char tail[64] = "}\n";
        if (keep < raw_len)
            snprintf(tail, sizeof tail, ",\"raw_bytes\":%zu,\"raw_truncated\":true}\n", raw_len);
        if ((rc = tide_buf_append(&d->buf, "{\"reason\":", 10)) ||
            (rc = tide_json_write_string(&d->buf, reason, strlen(reason))) ||
            (rc = tide_buf_append(&d->buf, ",\"position\":", 12)) ||
            (rc = tide_json_write_string(&d->buf, position, strlen(position))) ||
            (rc = tide_buf_append(&d->buf, ",\"raw\":", 7)) ||
            (rc = tide_json_write_string(&d->buf, keep ? raw : "", keep)) ||
            (rc = tide_buf_append(&d->buf, tail, strlen(tail)))) {
            tide_err_set(&d->err, rc, "dead-letter sink: out of memory");
            goto done;
        }
        if (!d->w || d->buf.len - 1 <= TIDE_RECORD_MAX)
            break;
        keep = DEAD_RAW_KEEP;
        while (keep > 0 && (((const unsigned char *)raw)[keep] & 0xc0) == 0x80)
            keep--; /* not inside a UTF-8 sequence */
    }
    if (d->w) {
        tide_record rec = {.timestamp = tide_clock_now_ms(d->cfg.clock), .value = d->buf.data,
                           .value_len = d->buf.len - 1};
        uint32_t p = tide_log_writer_route(d->w, NULL, 0);
        rc = tide_log_append(d->w, p, &rec, 1, NULL, &d->err);
    } else {
        rc = out_write(&d->out, d->buf.data, d->buf.len, &d->err);
    }
done:
    if (rc)
        return tide_err_set(e, rc, "%s", d->err.msg);
    d->count++;
    return 0;
}

void tide_sink_dead_fn(void *ctx, const tide_src_dead *dl)
{
    tide_sink_dead_write(ctx, dl->reason, dl->position, dl->raw, dl->raw_len, NULL);
}

uint64_t tide_sink_dead_count(const tide_sink_dead *d) { return d->count; }

int tide_sink_dead_close(tide_sink_dead *d, tide_err *e)
{
    if (!d)
        return 0;
    int rc = d->err.code ? tide_err_set(e, d->err.code, "%s", d->err.msg) : 0;
    if (rc == 0 && d->w) {
        tide_log_writer *w = d->w;
        d->w = NULL;
        rc = tide_log_writer_close(w, e);
    }
    if (rc == 0)
        rc = out_commit(&d->out, e);
    dead_free(d, rc != 0);
    return rc;
}

void tide_sink_dead_abort(tide_sink_dead *d)
{
    if (d)
        dead_free(d, true);
}
