/*
 * src_file.c - the FILE and STDIN sources: blocks of text through the
 * decoder (data/codec.h) into column batches.
 *
 * The input is read in blocks of cfg.read_size bytes into one buffer;
 * buf[pos, len) is what the decoder has not consumed yet.  Before a read the
 * unconsumed tail moves to the front; the buffer doubles only when one record
 * is larger than it.  `consumed` and `line` follow the decoder's position
 * (line = 1 + the LFs consumed), which is the source position of a checkpoint.
 *
 * FILE: batches are cut where the records of a new chunk (connect/
 * file_split.h: those that start at or after a multiple of chunk_size)
 * begin, as well as when full, so that a file parsed by several threads
 * (src_file_par.c, whose work areas end their batches at chunk ends) gives
 * the same batches: the watermark steps of a query over a file do not
 * depend on its parallelism.  The dead letters of one call are held until
 * it returns, and those after the last row of a batch cut at a chunk
 * boundary wait for the next call, as the split source delivers them:
 * right before the batch that holds the next row.  Meanwhile the position
 * is where the record after that row starts, not past them (found by
 * decoding the batch's bytes again: rare, bad records at a chunk's end).
 *
 * STDIN: a read blocks, so when the batch already has rows and the descriptor
 * has nothing to read right now (poll with timeout 0), the partial batch is
 * returned first.
 *
 * Seek (FILE): the position is a record boundary, so a decoder made there
 * with mid_input (no byte order mark, no header) and the position's line
 * cuts the records the first one cut after it; reading restarts at the
 * offset with an empty buffer.
 */
#include "connect/file_split.h"
#include "connect/source_int.h"

#include "base/buf.h"
#include "base/io.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct file_src {
    tide_src *s;
    tide_decoder *dec;
    tide_file *f;        /* FILE */
    int fd;              /* STDIN */
    const char *name;
    char *buf;
    size_t cap, len, pos;
    uint64_t read_off;   /* input offset of buf[len] */
    uint64_t consumed;   /* input offset of buf[pos] */
    uint64_t line;       /* line of buf[pos] */
    bool eof, done;
    uint64_t chunk;    /* FILE: cut batches at chunks of this size; 0: never (STDIN) */
    uint64_t next_cut; /* the end of the chunk being decoded */
    /* dead letters held (see the top): their text in `held_text` */
    struct held_dead {
        uint64_t rows; /* rows decoded before it (the decoder's count) */
        size_t off, pos_len, why_len, raw_len; /* position, reason, raw, in held_text */
    } *held;
    size_t nheld, held_cap, held_next; /* held_next: the first not delivered */
    tide_buf held_text;
    bool held_nomem;
    tide_src_pos held_pos; /* while some are held: the position, before them */
    char position[600];
} file_src;

static void on_dead(void *ctx, const tide_dead_letter *dl)
{
    file_src *fs = ctx;
    if (dl->col)
        snprintf(fs->position, sizeof fs->position, "%s:%llu:%llu", fs->name, (unsigned long long)dl->line,
                 (unsigned long long)dl->col);
    else
        snprintf(fs->position, sizeof fs->position, "%s:%llu", fs->name, (unsigned long long)dl->line);
    size_t pl = strlen(fs->position), wl = strlen(dl->reason), rl = dl->raw ? dl->raw_len : 0;
    if (fs->held_nomem ||
        tide_array_grow((void **)&fs->held, &fs->held_cap, fs->nheld + 1, sizeof *fs->held) != 0 ||
        tide_buf_reserve(&fs->held_text, pl + wl + rl + 2) != 0) {
        fs->held_nomem = true;
        return;
    }
    struct held_dead *h = &fs->held[fs->nheld++];
    tide_decode_stats st;
    tide_decoder_stats(fs->dec, &st);
    h->rows = st.rows;
    h->off = fs->held_text.len;
    h->pos_len = pl;
    h->why_len = wl;
    h->raw_len = rl;
    tide_buf_append(&fs->held_text, fs->position, pl);
    tide_buf_putc(&fs->held_text, 0);
    tide_buf_append(&fs->held_text, dl->reason, wl);
    tide_buf_putc(&fs->held_text, 0);
    if (rl)
        tide_buf_append(&fs->held_text, dl->raw, rl);
}

/* Deliver the held dead letters decoded before row `rows` of the input
 * (all: UINT64_MAX), in order. */
static void release_dead(file_src *fs, uint64_t rows)
{
    for (; fs->held_next < fs->nheld && fs->held[fs->held_next].rows < rows; fs->held_next++) {
        const struct held_dead *h = &fs->held[fs->held_next];
        const char *t = (const char *)fs->held_text.data + h->off;
        tide_src__dead(fs->s, 0, t, t + h->pos_len + 1, t + h->pos_len + h->why_len + 2, h->raw_len);
    }
    if (fs->held_next == fs->nheld) {
        fs->nheld = fs->held_next = 0;
        tide_buf_reset(&fs->held_text);
    }
}

static int read_more(file_src *fs, tide_err *e)
{
    if (fs->pos > 0) {
        memmove(fs->buf, fs->buf + fs->pos, fs->len - fs->pos);
        fs->len -= fs->pos;
        fs->pos = 0;
    }
    if (fs->len == fs->cap) {
        size_t ncap = fs->cap * 2;
        char *nb = realloc(fs->buf, ncap);
        if (!nb)
            return tide_err_set(e, TIDE_ENOMEM, "%s: out of memory for a %zu-byte record", fs->name, fs->len);
        fs->buf = nb;
        fs->cap = ncap;
    }
    size_t n = 0;
    if (fs->f) {
        int rc = tide_io_pread(fs->f, fs->buf + fs->len, fs->cap - fs->len, fs->read_off, &n, e);
        if (rc)
            return rc;
    } else {
        for (;;) {
            ssize_t r = read(fs->fd, fs->buf + fs->len, fs->cap - fs->len);
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0)
                return tide_err_sys(e, errno, "%s: read", fs->name);
            n = (size_t)r;
            break;
        }
    }
    if (n == 0)
        fs->eof = true;
    fs->len += n;
    fs->read_off += n;
    return 0;
}

static bool stdin_ready(const file_src *fs)
{
    struct pollfd p = {.fd = fs->fd, .events = POLLIN};
    return poll(&p, 1, 0) > 0;
}

static void advance(file_src *fs, size_t old_pos)
{
    const unsigned char *p = (const unsigned char *)fs->buf;
    uint64_t lf = 0;
    for (size_t i = old_pos; i < fs->pos; i++) /* a plain loop: the compiler vectorises it */
        lf += p[i] == '\n';
    fs->consumed += (uint64_t)(fs->pos - old_pos);
    fs->line += lf;
}

/* decode_range's stop for the chunk being decoded (relative to buf). */
static size_t cut_stop(const file_src *fs)
{
    if (!fs->chunk)
        return SIZE_MAX;
    uint64_t base = fs->consumed - fs->pos; /* the input offset of buf[0] */
    uint64_t rel = fs->next_cut > base ? fs->next_cut - base : 0;
    return rel < SIZE_MAX ? (size_t)rel : SIZE_MAX;
}

static int decode_next(file_src *fs, tide_cbatch *b, tide_err *e)
{
    for (;;) {
        size_t old = fs->pos;
        int rc = tide_decoder_decode_range(fs->dec, fs->buf, fs->len, &fs->pos, cut_stop(fs), fs->eof, b, e);
        advance(fs, old);
        if (rc == 1)
            return TIDE_SRC_READY;
        if (rc == 0 && fs->eof && fs->pos == fs->len) {
            fs->done = true;
            return tide_cbatch_rows(b) ? TIDE_SRC_READY : TIDE_SRC_END;
        }
        if (rc == 0) { /* at the first record of a later chunk */
            fs->next_cut = (fs->consumed / fs->chunk + 1) * fs->chunk;
            if (tide_cbatch_rows(b))
                return TIDE_SRC_READY;
            continue;
        }
        if (rc != TIDE_EAGAIN)
            return rc;
        /* stdin: never wait in read(2) for input (a worker of the pool would
         * wait with it): what is decoded goes now, and with nothing there the
         * scan asks again after a tick */
        if (!fs->f && !stdin_ready(fs))
            return tide_cbatch_rows(b) ? TIDE_SRC_READY : TIDE_SRC_NOTHING;
        rc = read_more(fs, e);
        if (rc)
            return rc;
    }
}

/* The position after the last of `rows` rows decoded from `from` (a record
 * boundary): the decoder says a batch of exactly `rows` rows is full right
 * after its last one. */
static int row_end(tide_src *s, file_src *fs, const tide_src_pos *from, uint32_t rows, tide_src_pos *out,
                   tide_err *e)
{
    const tide_src_config *c = &s->cfg;
    size_t len = (size_t)(fs->consumed - from->offset), got = 0, pos = 0;
    tide_decode_opts o = {.format = c->format, .source = fs->name, .delim = c->delim, .header = c->header,
                          .mid_input = from->offset > 0};
    tide_decoder *d = NULL;
    tide_cbatch *b = NULL;
    char *buf = malloc(len ? len : 1);
    int rc = buf ? 0 : tide_err_set(e, TIDE_ENOMEM, "%s: out of memory", fs->name);
    if (!rc && (rc = tide_io_pread(fs->f, buf, len, from->offset, &got, e)) == 0 && got < len)
        rc = tide_err_set(e, TIDE_EIO, "%s: the file shrank while it was read", fs->name);
    if (!rc)
        rc = tide_decoder_create(&d, s->schema, &o, e);
    if (!rc)
        rc = tide_cbatch_create(&b, s->schema, rows, 0, e);
    if (!rc) {
        rc = tide_decoder_decode(d, buf, len, &pos, true, b, e);
        if (rc == 1 || (rc == 0 && tide_cbatch_rows(b) == rows)) {
            uint64_t lf = 0;
            for (size_t i = 0; i < pos; i++)
                lf += buf[i] == '\n';
            out->offset = from->offset + pos;
            out->line = from->line + lf;
            rc = 0;
        } else if (rc >= 0) {
            rc = tide_err_set(e, TIDE_EIO, "%s: the bytes at offset %llu decode differently the second time",
                              fs->name, (unsigned long long)from->offset);
        }
    }
    tide_cbatch_free(b);
    tide_decoder_free(d);
    free(buf);
    return rc;
}

static int file_next(tide_src *s, tide_cbatch *b, tide_src_batch *info, tide_err *e)
{
    file_src *fs = s->impl;
    info->partition = 0;
    release_dead(fs, UINT64_MAX); /* those after the last row of a cut batch */
    if (fs->done)
        return TIDE_SRC_END;
    tide_src_pos from = {.offset = fs->consumed, .line = fs->line};
    int rc = decode_next(fs, b, e);
    /* a batch cut at a chunk boundary keeps the dead letters after its last
     * row for the next call */
    bool cut = rc == TIDE_SRC_READY && fs->chunk && !fs->done && !tide_cbatch_full(b);
    tide_decode_stats st;
    tide_decoder_stats(fs->dec, &st);
    release_dead(fs, cut ? st.rows : UINT64_MAX);
    if (fs->held_nomem && rc >= 0)
        return tide_err_set(e, TIDE_ENOMEM, "%s: out of memory for a dead letter", fs->name);
    if (fs->held_next < fs->nheld) {
        int prc = row_end(s, fs, &from, tide_cbatch_rows(b), &fs->held_pos, e);
        if (prc)
            return prc;
    }
    return rc;
}

static bool file_idle(const tide_src *s, uint32_t p)
{
    (void)p;
    return ((const file_src *)s->impl)->done;
}

static void file_position(const tide_src *s, uint32_t p, tide_src_pos *pos)
{
    (void)p;
    const file_src *fs = s->impl;
    if (fs->held_next < fs->nheld) {
        *pos = fs->held_pos;
        return;
    }
    pos->offset = fs->consumed;
    pos->line = fs->line;
}

/* The decoder for input starting at a record boundary on `line` (mid) or
 * at the start of the input. */
static int make_decoder(tide_src *s, file_src *fs, bool mid, uint64_t line, tide_err *e)
{
    const tide_src_config *c = &s->cfg;
    tide_decode_opts o = {.format = c->format, .source = fs->name, .delim = c->delim, .header = c->header,
                          .mid_input = mid, .first_line = line, .on_dead = on_dead, .ctx = fs};
    tide_decoder *d = NULL;
    int rc = tide_decoder_create(&d, s->schema, &o, e);
    if (rc)
        return rc;
    tide_decoder_free(fs->dec);
    fs->dec = d;
    return 0;
}

static int file_seek(tide_src *s, uint32_t p, const tide_src_pos *pos, tide_err *e)
{
    (void)p;
    file_src *fs = s->impl;
    tide_src_pos now;
    file_position(s, 0, &now);
    if (pos->offset == now.offset && pos->line == now.line)
        return 0;
    if (!fs->f)
        return tide_err_set(e, TIDE_EUNSUPPORTED,
                            "stdin: cannot go to offset %llu (line %llu): a pipe does not go back",
                            (unsigned long long)pos->offset, (unsigned long long)pos->line);
    uint64_t size;
    int rc = tide_io_size(fs->f, &size, e);
    if (rc)
        return rc;
    if (pos->offset == 0 || pos->offset > size || pos->line == 0)
        return tide_err_set(e, TIDE_EINVAL, "%s: cannot seek to offset %llu, line %llu (the file has %llu bytes)",
                            fs->name, (unsigned long long)pos->offset, (unsigned long long)pos->line,
                            (unsigned long long)size);
    if ((rc = make_decoder(s, fs, true, pos->line, e)) != 0)
        return rc;
    fs->len = fs->pos = 0;
    fs->read_off = fs->consumed = pos->offset;
    fs->line = pos->line;
    fs->eof = fs->done = false;
    fs->next_cut = (pos->offset / fs->chunk + 1) * fs->chunk;
    fs->nheld = fs->held_next = 0; /* decoded again after the position */
    tide_buf_reset(&fs->held_text);
    return 0;
}

static void file_free(tide_src *s)
{
    file_src *fs = s->impl;
    if (!fs)
        return;
    tide_decoder_free(fs->dec);
    tide_io_close(fs->f);
    free(fs->buf);
    free(fs->held);
    tide_buf_free(&fs->held_text);
    free(fs);
    s->impl = NULL;
}

static const tide_src_ops file_ops = {file_next, file_idle, file_idle, file_position, file_seek, file_free, NULL};

int tide_src__file_open(tide_src *s, tide_err *e)
{
    int rc;
    const tide_src_config *c = &s->cfg;
    file_src *fs = calloc(1, sizeof *fs);
    if (!fs)
        return tide_err_set(e, TIDE_ENOMEM, "source: out of memory");
    s->impl = fs;
    s->ops = &file_ops;
    s->bounded = true;
    fs->s = s;
    fs->line = 1;
    fs->cap = c->read_size ? c->read_size : (1u << 20);
    fs->buf = malloc(fs->cap);
    if (!fs->buf)
        return tide_err_set(e, TIDE_ENOMEM, "source: out of memory");
    if (c->kind == TIDE_SRC_FILE) {
        if (!c->path)
            return tide_err_set(e, TIDE_EINVAL, "file source: no path");
        fs->name = c->path;
        fs->chunk = c->chunk_size ? c->chunk_size : TIDE_FSPLIT_DEFAULT_CHUNK;
        fs->next_cut = fs->chunk;
        rc = tide_io_open(&fs->f, c->path, TIDE_IO_READ, e);
        if (rc)
            return rc;
    } else {
        fs->name = "stdin";
        fs->fd = c->fd;
    }
    return make_decoder(s, fs, false, 1, e);
}
