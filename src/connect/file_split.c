/*
 * file_split.c - a file source parsed in chunks (see file_split.h for the
 * contract: chunks, alignment, line numbers, dead letters, threads).
 *
 * A parse keeps a window on the file: buf[0, len) holds the bytes
 * [base, base + len) and buf[pos] is where decoding stands.  The first read
 * takes the chunk and some slack, so a chunk is normally one pread and one
 * pass of the decoder; when the record that straddles the chunk's end is
 * longer than the slack, the decoder says TIDE_EAGAIN and the window slides
 * (the unconsumed tail moves to the front) and reads on, twice as much each
 * time.  The buffer is kept from parse to parse.  Guessing the start of
 * chunk i > 0 reads from offset i * size - 1 into the same window, so the
 * search for the first LF costs no second read.
 *
 * Each parse creates its decoder (chunk 0 like the sequential source, the
 * others with mid_input) numbering lines from 1, and records per batch the
 * offset after its last record and the LFs up to there (for the reader's
 * position), and per dead letter its relative line, column, the reason's
 * text after the position, the raw bytes (in one text buffer) and the batch
 * it goes before.  The reader turns relative lines into absolute ones once,
 * when it begins the chunk: a row position is one addition per row.
 */
#include "connect/file_split.h"

#include "base/buf.h"
#include "base/io.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WINDOW_SLACK ((size_t)64 << 10) /* bytes read past a chunk's nominal end */

struct tide_fsplit {
    tide_src_config cfg; /* cfg.path, cfg.schema borrowed */
    uint64_t size;
    uint64_t chunk_size;
    uint32_t nchunks;
};

/* One batch of a chunk's parse, and where it ends (for the reader's position). */
typedef struct split_batch {
    tide_cbatch *b;
    uint64_t end;         /* file offset after its last record */
    uint64_t lfs;         /* LFs in [chunk start, end) */
} split_batch;

typedef struct split_dead {
    uint64_t line, col;  /* line relative to the chunk's start until a reader begins it */
    size_t why_off, why_len, raw_off, raw_len; /* in the chunk's dead-letter text */
    size_t batch;        /* delivered before batches[batch] (nbatches: after the last) */
} split_dead;

struct tide_fsplit_chunk {
    const tide_fsplit *fs;
    tide_file *f;         /* this work area's own handle, opened at the first parse */
    uint32_t batch_rows;
    /* the window */
    char *buf;
    size_t cap, len;
    uint64_t base;
    size_t step;          /* bytes the next read takes */
    /* the parse */
    uint32_t index;
    uint64_t start, end;  /* true start (or the guess), true end */
    uint64_t lfs;         /* LFs in [start, end) */
    uint64_t rows;
    int rc;               /* the parse's error, 0 if none */
    tide_err err;
    bool absolute;        /* a reader made its lines absolute */
    split_batch *batches;
    size_t nbatches;      /* in use: batches[0, nbatches) */
    size_t batches_made;  /* batches[k].b created, reused from parse to parse */
    size_t batches_cap;
    split_dead *dead;
    size_t ndead, dead_cap;
    tide_buf dtext;
    bool dead_nomem;      /* a dead letter could not be stored */
};

struct tide_fsplit_reader {
    const tide_fsplit *fs;
    uint32_t want;        /* the chunk begin takes next */
    uint64_t next_start;  /* where it must start: the end of the previous chunk */
    uint64_t next_line;   /* the line of next_start */
    tide_fsplit_chunk *cur;
    uint64_t cur_line;    /* line of cur's start */
    size_t cur_batch, cur_dead;
    tide_src_pos pos;
    tide_src_stats st;
    uint32_t reparsed;
    bool begun;           /* a chunk was begun (no seek any more) */
    tide_err err;         /* the first error; sticky */
    char position[600];
    char reason[TIDE_DEAD_REASON_MAX];
};

/* ---- the split ---- */

int tide_fsplit_open(tide_fsplit **out, const tide_src_config *cfg, size_t chunk_size, tide_err *e)
{
    int rc;
    tide_file *f = NULL;
    tide_decoder *d = NULL;
    *out = NULL;
    if (cfg->kind != TIDE_SRC_FILE || !cfg->path || !cfg->schema)
        return tide_err_set(e, TIDE_EINVAL, "file split: needs a file source with a path and a schema");
    tide_fsplit *fs = calloc(1, sizeof *fs);
    if (!fs)
        return tide_err_set(e, TIDE_ENOMEM, "%s: out of memory", cfg->path);
    fs->cfg = *cfg;
    fs->chunk_size = chunk_size ? chunk_size : TIDE_FSPLIT_DEFAULT_CHUNK;
    /* the decoder checks the format options once, here */
    tide_decode_opts o = {.format = cfg->format, .source = cfg->path, .delim = cfg->delim, .header = cfg->header};
    if ((rc = tide_decoder_create(&d, cfg->schema, &o, e)) != 0)
        goto fail;
    if ((rc = tide_io_open(&f, cfg->path, TIDE_IO_READ, e)) != 0)
        goto fail;
    if ((rc = tide_io_size(f, &fs->size, e)) != 0)
        goto fail;
    uint64_t n = fs->size ? (fs->size - 1) / fs->chunk_size + 1 : 1;
    if (n > UINT32_MAX) {
        rc = tide_err_set(e, TIDE_EINVAL, "%s: %" PRIu64 " chunks of %" PRIu64 " bytes are too many", cfg->path,
                          n, fs->chunk_size);
        goto fail;
    }
    fs->nchunks = (uint32_t)n;
    tide_io_close(f);
    tide_decoder_free(d);
    *out = fs;
    return 0;
fail:
    tide_io_close(f);
    tide_decoder_free(d);
    free(fs);
    return rc;
}

void tide_fsplit_free(tide_fsplit *fs) { free(fs); }
uint32_t tide_fsplit_chunks(const tide_fsplit *fs) { return fs->nchunks; }
uint64_t tide_fsplit_size(const tide_fsplit *fs) { return fs->size; }
const tide_schema *tide_fsplit_schema(const tide_fsplit *fs) { return fs->cfg.schema; }

/* Where chunk i's nominal range ends; UINT64_MAX for the last chunk. */
static uint64_t nominal_end(const tide_fsplit *fs, uint32_t i)
{
    return i + 1 < fs->nchunks ? ((uint64_t)i + 1) * fs->chunk_size : UINT64_MAX;
}

/* ---- work areas ---- */

int tide_fsplit_chunk_create(tide_fsplit_chunk **out, const tide_fsplit *fs, uint32_t batch_rows, tide_err *e)
{
    *out = NULL;
    if (batch_rows == 0 || batch_rows > TIDE_CBATCH_MAX_CAPACITY)
        return tide_err_set(e, TIDE_EINVAL, "file split: bad batch size %u", batch_rows);
    tide_fsplit_chunk *c = calloc(1, sizeof *c);
    if (!c)
        return tide_err_set(e, TIDE_ENOMEM, "%s: out of memory", fs->cfg.path);
    c->fs = fs;
    c->batch_rows = batch_rows;
    c->rc = TIDE_EINVAL;
    tide_err_set(&c->err, TIDE_EINVAL, "%s: work area holds no parse", fs->cfg.path);
    *out = c;
    return 0;
}

void tide_fsplit_chunk_free(tide_fsplit_chunk *c)
{
    if (!c)
        return;
    tide_io_close(c->f);
    free(c->buf);
    for (size_t k = 0; k < c->batches_made; k++)
        tide_cbatch_free(c->batches[k].b);
    free(c->batches);
    free(c->dead);
    tide_buf_free(&c->dtext);
    free(c);
}

uint32_t tide_fsplit_chunk_index(const tide_fsplit_chunk *c) { return c->index; }
uint64_t tide_fsplit_chunk_start(const tide_fsplit_chunk *c) { return c->start; }
uint64_t tide_fsplit_chunk_end(const tide_fsplit_chunk *c) { return c->end; }
uint64_t tide_fsplit_chunk_rows(const tide_fsplit_chunk *c) { return c->rows; }
uint64_t tide_fsplit_chunk_dead(const tide_fsplit_chunk *c) { return c->ndead; }

/* The LFs in p[0, n), eight bytes a step: x = word ^ LFs has a zero byte
 * where the word has a LF; ~((x & 7F..) + 7F.. | x | 7F..) has exactly
 * those bytes' high bits set (no carry crosses a byte); shifted down to
 * one bit a byte, a multiplication adds them up in the top byte.  (gcc -O2
 * does not vectorise the plain byte loop.) */
static uint64_t count_lf(const char *p, size_t n)
{
    const uint64_t lfs = 0x0A0A0A0A0A0A0A0Aull, low7 = 0x7F7F7F7F7F7F7F7Full, ones = 0x0101010101010101ull;
    uint64_t lf = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        uint64_t x = w ^ lfs;
        uint64_t z = ~(((x & low7) + low7) | x | low7);
        lf += ((z >> 7) * ones) >> 56;
    }
    for (; i < n; i++)
        lf += p[i] == '\n';
    return lf;
}

/* Make batches[nbatches] the (empty) batch being filled. */
static int next_batch(tide_fsplit_chunk *c, tide_err *e)
{
    if (tide_array_grow((void **)&c->batches, &c->batches_cap, c->nbatches + 1, sizeof *c->batches) != 0)
        return tide_err_set(e, TIDE_ENOMEM, "%s: out of memory", c->fs->cfg.path);
    split_batch *sb = &c->batches[c->nbatches];
    if (c->nbatches == c->batches_made) {
        int rc = tide_cbatch_create(&sb->b, c->fs->cfg.schema, c->batch_rows, TIDE_CBATCH_POS, e);
        if (rc)
            return rc;
        c->batches_made++;
    } else {
        tide_cbatch_reset(sb->b);
    }
    sb->end = sb->lfs = 0;
    c->nbatches++;
    return 0;
}

/* The decoder's dead letters: kept with the batch being filled. */
static void keep_dead(void *ctx, const tide_dead_letter *dl)
{
    tide_fsplit_chunk *c = ctx;
    if (c->dead_nomem)
        return;
    size_t why_len = strlen(dl->why);
    if (tide_array_grow((void **)&c->dead, &c->dead_cap, c->ndead + 1, sizeof *c->dead) != 0 ||
        tide_buf_reserve(&c->dtext, why_len + dl->raw_len + 1) != 0) {
        c->dead_nomem = true;
        return;
    }
    split_dead *x = &c->dead[c->ndead++];
    x->line = dl->line;
    x->col = dl->col;
    x->why_off = c->dtext.len;
    x->why_len = why_len;
    tide_buf_append(&c->dtext, dl->why, why_len);
    x->raw_off = c->dtext.len;
    x->raw_len = dl->raw_len;
    if (dl->raw_len)
        tide_buf_append(&c->dtext, dl->raw, dl->raw_len);
    x->batch = c->nbatches - 1;
}

/* The dead letters after the last row of the chunk's last batch go after
 * that batch (before the next chunk's first), not before it.  They are
 * those on a line past the row's: records start on distinct lines, and a
 * dead letter's line is within its record.  Returns how many moved. */
static size_t move_tail_dead(tide_fsplit_chunk *c)
{
    size_t last = c->nbatches - 1, moved = 0;
    const tide_cbatch *b = c->batches[last].b;
    uint64_t row_line = tide_cbatch_rows(b) ? tide_cbatch_pos(b, tide_cbatch_rows(b) - 1) : 0;
    for (size_t k = c->ndead; k-- > 0 && c->dead[k].batch == last && c->dead[k].line > row_line; moved++)
        c->dead[k].batch = c->nbatches;
    return moved;
}

/* Slide the window past buf[0, *pos) and read the next c->step bytes of
 * the file into it; the step doubles from read to read, so a record much
 * longer than a chunk is read (and re-lexed from its start) a logarithmic
 * number of times.  Reading less than asked before the size taken at open
 * is an error (the file shrank). */
static int window_more(tide_fsplit_chunk *c, size_t *pos, tide_err *e)
{
    const tide_fsplit *fs = c->fs;
    if (*pos > 0) {
        memmove(c->buf, c->buf + *pos, c->len - *pos);
        c->len -= *pos;
        c->base += *pos;
        *pos = 0;
    }
    uint64_t at = c->base + c->len;
    uint64_t left = fs->size > at ? fs->size - at : 0;
    size_t want = c->step < left ? c->step : (size_t)left;
    if (want == 0)
        return 0;
    if (c->cap - c->len < want) {
        size_t ncap = c->len + want;
        char *nb = realloc(c->buf, ncap);
        if (!nb)
            return tide_err_set(e, TIDE_ENOMEM, "%s: out of memory for a %zu-byte record", fs->cfg.path,
                                c->len + want);
        c->buf = nb;
        c->cap = ncap;
    }
    size_t got = 0;
    int rc = tide_io_pread(c->f, c->buf + c->len, want, at, &got, e);
    if (rc)
        return rc;
    if (got < want)
        return tide_err_set(e, TIDE_EIO, "%s: the file shrank while it was read (%" PRIu64 " bytes at open)",
                            fs->cfg.path, fs->size);
    c->len += got;
    if (c->step <= SIZE_MAX / 4)
        c->step *= 2;
    return 0;
}

static bool window_at_eof(const tide_fsplit_chunk *c)
{
    return c->base + c->len >= c->fs->size;
}

/* Point the window at `off`, empty; its first read takes a chunk and some
 * slack (for the record that straddles the chunk's end). */
static void window_reset(tide_fsplit_chunk *c, uint64_t off)
{
    uint64_t span = c->fs->chunk_size < c->fs->size ? c->fs->chunk_size : c->fs->size;
    c->step = (size_t)span + (span < WINDOW_SLACK ? (size_t)span : WINDOW_SLACK) + 256;
    c->base = off;
    c->len = 0;
}

/* The chunk's last batch has rows and dead letters after them (delivered
 * once the chunk is used up): the position after the batch is where the
 * record after its last row starts, not the chunk's end (see "Positions").
 * Decode the batch's bytes again into a batch of exactly its rows: the
 * decoder says it is full right after the last one.  Rare (bad records at
 * the end of a chunk), and one batch's worth of work. */
static int last_row_end(tide_fsplit_chunk *c, tide_err *e)
{
    const tide_fsplit *fs = c->fs;
    const tide_src_config *cfg = &fs->cfg;
    size_t last = c->nbatches - 1;
    split_batch *sb = &c->batches[last];
    uint64_t from = last ? c->batches[last - 1].end : c->start;
    uint64_t lfs = last ? c->batches[last - 1].lfs : 0;
    size_t len = (size_t)(c->end - from), got = 0, pos = 0;
    tide_decoder *d = NULL;
    tide_cbatch *b = NULL;
    char *buf = malloc(len ? len : 1);
    if (!buf)
        return tide_err_set(e, TIDE_ENOMEM, "%s: out of memory", cfg->path);
    tide_decode_opts o = {.format = cfg->format, .source = cfg->path, .delim = cfg->delim, .header = cfg->header,
                          .mid_input = from > 0};
    int rc = tide_io_pread(c->f, buf, len, from, &got, e);
    if (!rc && got < len)
        rc = tide_err_set(e, TIDE_EIO, "%s: the file shrank while it was read", cfg->path);
    if (!rc)
        rc = tide_decoder_create(&d, cfg->schema, &o, e);
    if (!rc)
        rc = tide_cbatch_create(&b, cfg->schema, tide_cbatch_rows(sb->b), 0, e);
    if (!rc) {
        rc = tide_decoder_decode(d, buf, len, &pos, true, b, e);
        if (rc == 1 || (rc == 0 && tide_cbatch_rows(b) == tide_cbatch_rows(sb->b))) {
            sb->end = from + pos;
            sb->lfs = lfs + count_lf(buf, pos);
            rc = 0;
        } else if (rc >= 0) {
            rc = tide_err_set(e, TIDE_EIO, "%s: the bytes at offset %" PRIu64 " decode differently the second time",
                              cfg->path, from);
        }
    }
    tide_cbatch_free(b);
    tide_decoder_free(d);
    free(buf);
    return rc;
}

/* Forget the previous parse. */
static void chunk_clear(tide_fsplit_chunk *c, uint32_t i)
{
    c->index = i;
    c->start = c->end = 0;
    c->lfs = c->rows = 0;
    c->rc = 0;
    tide_err_clear(&c->err);
    c->absolute = false;
    c->nbatches = 0;
    c->ndead = 0;
    tide_buf_reset(&c->dtext);
    c->dead_nomem = false;
}

/* Decode chunk i from `start` (a record start, or the guess), whose bytes
 * from buf[*pos] on may already be in the window.  Sets end, lfs, rows. */
static int decode_chunk(tide_fsplit_chunk *c, uint32_t i, size_t *pos, tide_err *e)
{
    const tide_fsplit *fs = c->fs;
    const tide_src_config *cfg = &fs->cfg;
    tide_decoder *d = NULL;
    uint64_t nend = nominal_end(fs, i);
    int rc = next_batch(c, e);
    if (rc)
        return rc;
    if (i > 0 && c->start >= nend) { /* no record starts in the range */
        c->end = c->start;
        c->batches[0].end = c->end;
        return 0;
    }
    tide_decode_opts o = {.format = cfg->format, .source = cfg->path, .delim = cfg->delim, .header = cfg->header,
                          .mid_input = c->start > 0, .first_line = 1, .on_dead = keep_dead, .ctx = c};
    if ((rc = tide_decoder_create(&d, cfg->schema, &o, e)) != 0)
        return rc;
    for (;;) {
        /* the window's base passes nend only while chunk 0 reads a long header */
        size_t stop = nend == UINT64_MAX ? SIZE_MAX : nend > c->base ? (size_t)(nend - c->base) : 0;
        size_t old = *pos;
        split_batch *sb = &c->batches[c->nbatches - 1];
        tide_cbatch *b = sb->b;
        rc = tide_decoder_decode_range(d, c->buf, c->len, pos, stop, window_at_eof(c), b, e);
        c->lfs += count_lf(c->buf + old, *pos - old);
        if (c->dead_nomem) {
            rc = tide_err_set(e, TIDE_ENOMEM, "%s: out of memory for a dead letter", cfg->path);
            break;
        }
        if (rc == 1) {
            c->rows += tide_cbatch_rows(b);
            sb->end = c->base + *pos;
            sb->lfs = c->lfs;
            if ((rc = next_batch(c, e)) != 0)
                break;
            continue;
        }
        if (rc == 0) {
            c->rows += tide_cbatch_rows(b);
            c->end = c->base + *pos;
            sb->end = c->end;
            sb->lfs = c->lfs;
            if (move_tail_dead(c) && tide_cbatch_rows(b))
                rc = last_row_end(c, e);
            break;
        }
        if (rc != TIDE_EAGAIN)
            break;
        if ((rc = window_more(c, pos, e)) != 0)
            break;
    }
    tide_decoder_free(d);
    return rc;
}

/* Parse chunk i into c from `start` (when guess is false) or from the first
 * LF at or after i * size - 1 (when guess is true). */
static int parse_chunk(const tide_fsplit *fs, uint32_t i, bool guess, uint64_t start, tide_fsplit_chunk *c,
                       tide_err *out_err)
{
    int rc;
    size_t pos = 0;
    tide_err err = {0}, *e = &err;
    chunk_clear(c, i);
    if (i >= fs->nchunks || c->fs != fs) {
        rc = tide_err_set(e, TIDE_EINVAL, "%s: no chunk %u of %u in this work area", fs->cfg.path, i, fs->nchunks);
        goto fail;
    }
    if (!c->f && (rc = tide_io_open(&c->f, fs->cfg.path, TIDE_IO_READ, e)) != 0)
        goto fail;
    if (guess)
        start = i ? (uint64_t)i * fs->chunk_size - 1 : 0;
    window_reset(c, start);
    if (guess && i > 0) {
        for (;;) {
            const char *nl = pos < c->len ? memchr(c->buf + pos, '\n', c->len - pos) : NULL;
            if (nl) {
                pos = (size_t)(nl - c->buf) + 1;
                break;
            }
            pos = c->len;
            if (window_at_eof(c))
                break; /* no LF: no record starts after the guess */
            if ((rc = window_more(c, &pos, e)) != 0)
                goto fail;
        }
        start = c->base + pos;
    }
    c->start = start;
    if ((rc = decode_chunk(c, i, &pos, e)) != 0)
        goto fail;
    return 0;
fail:
    if (!err.code)
        tide_err_set(&err, rc, "%s: chunk %u: %s", fs->cfg.path, i, tide_strerror(rc));
    c->rc = rc;
    c->err = err;
    return tide_err_set(out_err, rc, "%s", err.msg);
}

int tide_fsplit_parse(const tide_fsplit *fs, uint32_t i, tide_fsplit_chunk *c, tide_err *e)
{
    return parse_chunk(fs, i, true, 0, c, e);
}

/* ---- the reader ---- */

int tide_fsplit_reader_create(tide_fsplit_reader **out, const tide_fsplit *fs, tide_err *e)
{
    tide_fsplit_reader *r = calloc(1, sizeof *r);
    *out = NULL;
    if (!r)
        return tide_err_set(e, TIDE_ENOMEM, "%s: out of memory", fs->cfg.path);
    r->fs = fs;
    r->next_line = 1;
    r->pos.line = 1;
    *out = r;
    return 0;
}

void tide_fsplit_reader_free(tide_fsplit_reader *r) { free(r); }
uint32_t tide_fsplit_reader_want(const tide_fsplit_reader *r) { return r->want; }
void tide_fsplit_reader_position(const tide_fsplit_reader *r, tide_src_pos *pos) { *pos = r->pos; }

int tide_fsplit_reader_seek(tide_fsplit_reader *r, const tide_src_pos *pos, tide_err *e)
{
    const tide_fsplit *fs = r->fs;
    if (r->err.code)
        return tide_err_set(e, r->err.code, "%s", r->err.msg);
    if (r->begun)
        return tide_err_set(e, TIDE_EINVAL, "%s: seek after a chunk was begun", fs->cfg.path);
    if (pos->line == 0 || pos->offset > fs->size)
        return tide_err_set(e, TIDE_EINVAL, "%s: cannot seek to offset %" PRIu64 ", line %" PRIu64
                                            " (the file has %" PRIu64 " bytes)",
                            fs->cfg.path, pos->offset, pos->line, fs->size);
    r->want = pos->offset == fs->size && fs->size ? fs->nchunks : (uint32_t)(pos->offset / fs->chunk_size);
    r->next_start = pos->offset;
    r->next_line = pos->line;
    r->pos = *pos;
    return 0;
}
void tide_fsplit_reader_stats(const tide_fsplit_reader *r, tide_src_stats *st) { *st = r->st; }
uint32_t tide_fsplit_reader_reparsed(const tide_fsplit_reader *r) { return r->reparsed; }

/* Report the reader's first (sticky) error to e and return its code. */
static int reader_fail(tide_fsplit_reader *r, tide_err *e)
{
    return tide_err_set(e, r->err.code, "%s", r->err.msg);
}

/* Make c's lines absolute: its start is on line `line`. */
static void make_absolute(tide_fsplit_chunk *c, uint64_t line)
{
    uint64_t add = line - 1;
    for (size_t k = 0; k < c->nbatches; k++) {
        tide_cbatch *b = c->batches[k].b;
        uint32_t n = tide_cbatch_rows(b);
        for (uint32_t row = 0; row < n; row++)
            tide_cbatch_set_pos(b, row, tide_cbatch_pos(b, row) + add);
    }
    for (size_t k = 0; k < c->ndead; k++)
        c->dead[k].line += add;
    c->absolute = true;
}

int tide_fsplit_reader_begin(tide_fsplit_reader *r, tide_fsplit_chunk *c, tide_err *e)
{
    const tide_fsplit *fs = r->fs;
    if (r->err.code)
        return reader_fail(r, e);
    if (r->cur)
        return tide_err_set(e, TIDE_EINVAL, "%s: chunk %u is not used up", fs->cfg.path, r->cur->index);
    if (r->want >= fs->nchunks)
        return tide_err_set(e, TIDE_EINVAL, "%s: every chunk was read", fs->cfg.path);
    if (c->fs != fs || c->index != r->want || c->absolute)
        return tide_err_set(e, TIDE_EINVAL, "%s: begin wants a fresh parse of chunk %u", fs->cfg.path, r->want);
    if (c->rc) {
        tide_err_set(&r->err, c->rc, "%s", c->err.msg);
        return reader_fail(r, e);
    }
    if (c->start != r->next_start) {
        /* the guess fell inside a record: parse again from the true start */
        if (parse_chunk(fs, r->want, false, r->next_start, c, &r->err) != 0)
            return reader_fail(r, e);
        r->reparsed++;
    }
    make_absolute(c, r->next_line);
    r->begun = true;
    r->cur = c;
    r->cur_line = r->next_line;
    r->cur_batch = r->cur_dead = 0;
    r->next_start = c->end;
    r->next_line += c->lfs;
    r->want++;
    return 0;
}

/* Hand the dead letters that go before batch k to cfg.on_dead, as
 * src_file.c does: the position as it prints it, the reason as the decoder
 * builds it (cut at TIDE_DEAD_REASON_MAX - 1 bytes). */
static void deliver_dead(tide_fsplit_reader *r, size_t k)
{
    const tide_src_config *cfg = &r->fs->cfg;
    tide_fsplit_chunk *c = r->cur;
    for (; r->cur_dead < c->ndead && c->dead[r->cur_dead].batch <= k; r->cur_dead++) {
        const split_dead *x = &c->dead[r->cur_dead];
        r->st.dead++;
        if (!cfg->on_dead)
            continue;
        const char *why = (const char *)c->dtext.data + x->why_off;
        int wl = (int)x->why_len;
        if (x->col) {
            snprintf(r->position, sizeof r->position, "%s:%" PRIu64 ":%" PRIu64, cfg->path, x->line, x->col);
            snprintf(r->reason, sizeof r->reason, "%s:%" PRIu64 ":%" PRIu64 ": %.*s", cfg->path, x->line, x->col,
                     wl, why);
        } else {
            snprintf(r->position, sizeof r->position, "%s:%" PRIu64, cfg->path, x->line);
            snprintf(r->reason, sizeof r->reason, "%s:%" PRIu64 ": %.*s", cfg->path, x->line, wl, why);
        }
        const char *raw = x->raw_len ? (const char *)c->dtext.data + x->raw_off : "";
        tide_src_dead dl = {r->position, r->reason, raw, x->raw_len, 0};
        cfg->on_dead(cfg->dead_ctx, &dl);
    }
}

int tide_fsplit_reader_next(tide_fsplit_reader *r, tide_cbatch **batch, tide_err *e)
{
    *batch = NULL;
    if (r->err.code)
        return reader_fail(r, e);
    tide_fsplit_chunk *c = r->cur;
    if (!c)
        return r->want >= r->fs->nchunks ? TIDE_SRC_END : TIDE_SRC_NOTHING;
    while (r->cur_batch < c->nbatches) {
        size_t k = r->cur_batch++;
        deliver_dead(r, k);
        r->pos.offset = c->batches[k].end;
        r->pos.line = r->cur_line + c->batches[k].lfs;
        tide_cbatch *b = c->batches[k].b;
        if (tide_cbatch_rows(b)) {
            r->st.rows += tide_cbatch_rows(b);
            *batch = b;
            return TIDE_SRC_READY;
        }
    }
    deliver_dead(r, SIZE_MAX); /* those after the chunk's last row */
    r->pos.offset = c->end;
    r->pos.line = r->cur_line + c->lfs;
    r->cur = NULL;
    return r->want >= r->fs->nchunks ? TIDE_SRC_END : TIDE_SRC_NOTHING;
}
