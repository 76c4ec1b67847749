#include "base/buf.h"

#include "tide.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int tide_buf_reserve(tide_buf *b, size_t extra)
{
    if (b->cap - b->len >= extra)
        return 0;
    size_t need = b->len + extra;
    if (need < b->len)
        return TIDE_ENOMEM;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    unsigned char *p = realloc(b->data, cap);
    if (!p)
        return TIDE_ENOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

int tide_buf_append_slow(tide_buf *b, const void *p, size_t n)
{
    int rc = tide_buf_reserve(b, n);
    if (rc)
        return rc;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

int tide_buf_printf(tide_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return TIDE_EINVAL;
    int rc = tide_buf_reserve(b, (size_t)n + 1);
    if (rc)
        return rc;
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void tide_buf_free(tide_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

int tide_array_grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 16;
    while (n < need) {
        if (n > SIZE_MAX / 2)
            return TIDE_ENOMEM;
        n *= 2;
    }
    if (elem && n > SIZE_MAX / elem)
        return TIDE_ENOMEM;
    void *q = realloc(*p, n * elem);
    if (!q)
        return TIDE_ENOMEM;
    *p = q;
    *cap = n;
    return 0;
}
