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
 * STDIN: a read blocks, so when the batch already has rows and the descriptor
 * has nothing to read right now (poll with timeout 0), the partial batch is
 * returned first.
 *
 * Seek (FILE): the position is a record boundary, so a decoder made there
 * with mid_input (no byte order mark, no header) and the position's line
 * cuts the records the first one cut after it; reading restarts at the
 * offset with an empty buffer.
 */
#include "connect/source_int.h"

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
    tide_src__dead(fs->s, 0, fs->position, dl->reason, dl->raw, dl->raw_len);
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

static int file_next(tide_src *s, tide_cbatch *b, tide_src_batch *info, tide_err *e)
{
    file_src *fs = s->impl;
    info->partition = 0;
    if (fs->done)
        return TIDE_SRC_END;
    for (;;) {
        size_t old = fs->pos;
        int rc = tide_decoder_decode(fs->dec, fs->buf, fs->len, &fs->pos, fs->eof, b, e);
        advance(fs, old);
        if (rc == 1)
            return TIDE_SRC_READY;
        if (rc == 0) {
            fs->done = true;
            return tide_cbatch_rows(b) ? TIDE_SRC_READY : TIDE_SRC_END;
        }
        if (rc != TIDE_EAGAIN)
            return rc;
        if (!fs->f && tide_cbatch_rows(b) && !stdin_ready(fs))
            return TIDE_SRC_READY;
        rc = read_more(fs, e);
        if (rc)
            return rc;
    }
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
    if (pos->offset == fs->consumed && pos->line == fs->line)
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
    free(fs);
    s->impl = NULL;
}

static const tide_src_ops file_ops = {file_next, file_idle, file_idle, file_position, file_seek, file_free};

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
        rc = tide_io_open(&fs->f, c->path, TIDE_IO_READ, e);
        if (rc)
            return rc;
    } else {
        fs->name = "stdin";
        fs->fd = c->fd;
    }
    return make_decoder(s, fs, false, 1, e);
}
