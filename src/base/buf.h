/*
 * buf.h - a growable byte buffer.  Zero-initialise (`tide_buf b = {0};`),
 * append, and tide_buf_free.  Appends return TIDE_ENOMEM on allocation
 * failure and leave the buffer as it was.
 */
#ifndef TIDE_BASE_BUF_H
#define TIDE_BASE_BUF_H

#include <stddef.h>
#include <string.h>

typedef struct tide_buf {
    unsigned char *data;
    size_t len;
    size_t cap;
} tide_buf;

int tide_buf_reserve(tide_buf *b, size_t extra); /* room for `extra` more bytes */
int tide_buf_append_slow(tide_buf *b, const void *p, size_t n);

/* Appends are inline when the room is there (encoders call them per field
 * and per delimiter); the slow path grows the buffer. */
static inline int tide_buf_append(tide_buf *b, const void *p, size_t n)
{
    if (b->cap - b->len < n || !n)
        return tide_buf_append_slow(b, p, n);
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

static inline int tide_buf_putc(tide_buf *b, int c)
{
    if (b->len == b->cap) {
        unsigned char ch = (unsigned char)c;
        return tide_buf_append_slow(b, &ch, 1);
    }
    b->data[b->len++] = (unsigned char)c;
    return 0;
}

int tide_buf_printf(tide_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline void tide_buf_reset(tide_buf *b) { b->len = 0; }
void tide_buf_free(tide_buf *b);

/* Grow a malloc'd array `*p` of `*cap` elements of `elem` bytes so it holds
 * at least `need` elements (capacity doubles, from 16).  On TIDE_ENOMEM the
 * array and *cap are unchanged. */
int tide_array_grow(void **p, size_t *cap, size_t need, size_t elem);

#endif
