/*
 * rows.c - a pool of buffered rows.  See rows.h.
 */
#include "exec/rows.h"

#include "base/buf.h"

#include <stdlib.h>
#include <string.h>

#define NIL UINT32_MAX

void tide_rows_init(tide_rows *p, size_t ncols)
{
    memset(p, 0, sizeof *p);
    p->ncols = ncols;
    p->free_head = NIL;
}

void tide_rows_destroy(tide_rows *p)
{
    for (uint32_t i = 0; i < p->hi; i++)
        free(p->slots[i].buf);
    free(p->slots);
    free(p->vals);
    tide_rows_init(p, p->ncols);
}

int tide_rows_add(tide_rows *p, const tide_value *v, const void *extra, size_t len, uint32_t *id,
                  tide_err *e)
{
    uint32_t i;
    if (p->free_head != NIL) {
        i = p->free_head;
    } else {
        if (p->hi == NIL - 1)
            return tide_err_set(e, TIDE_ENOMEM, "too many buffered rows");
        if (p->hi + 1u > p->cap) {
            size_t c1 = p->cap, c2 = p->cap * p->ncols;
            if (tide_array_grow((void **)&p->slots, &c1, p->hi + 1u, sizeof *p->slots) != 0 ||
                (p->ncols && tide_array_grow((void **)&p->vals, &c2, c1 * p->ncols, sizeof *p->vals) != 0))
                return tide_err_set(e, TIDE_ENOMEM, "out of memory for buffered rows");
            for (size_t k = p->cap; k < c1; k++)
                p->slots[k] = (tide_rows_slot){0};
            p->cap = c1;
        }
        i = p->hi;
    }
    tide_rows_slot *s = &p->slots[i];
    size_t bytes = len;
    for (size_t c = 0; c < p->ncols; c++)
        if (!v[c].is_null && v[c].type == TIDE_TYPE_STRING)
            bytes += v[c].u.s.len;
    if (bytes > s->cap) {
        char *nb = realloc(s->buf, bytes);
        if (!nb)
            return tide_err_set(e, TIDE_ENOMEM, "out of memory for a buffered row");
        s->buf = nb;
        s->cap = bytes;
    }
    tide_value *dst = p->vals + (size_t)i * p->ncols;
    size_t at = 0;
    for (size_t c = 0; c < p->ncols; c++) {
        dst[c] = v[c];
        if (!v[c].is_null && v[c].type == TIDE_TYPE_STRING) {
            if (v[c].u.s.len)
                memcpy(s->buf + at, v[c].u.s.ptr, v[c].u.s.len);
            dst[c].u.s.ptr = s->buf + at;
            at += v[c].u.s.len;
        }
    }
    if (len)
        memcpy(s->buf + at, extra, len);
    s->extra_at = at;
    s->extra_len = len;
    if (i == p->free_head)
        p->free_head = s->next_free;
    else
        p->hi++;
    p->live++;
    *id = i;
    return 0;
}

void tide_rows_release(tide_rows *p, uint32_t id)
{
    p->slots[id].next_free = p->free_head;
    p->free_head = id;
    p->live--;
}
