/*
 * rows.h - a pool of buffered rows for the operators that keep input rows
 * (OVER, Top-N): each row is `ncols` boxed values plus optional extra bytes
 * (the caller's encoded keys), all owned by the pool.
 *
 * A row is a number (stable until released).  Its string values and its
 * extra bytes live in one buffer of its own, kept when the row is released
 * and reused by the next row in that slot, so a steady state allocates
 * nothing per row.  Internal to exec/.
 */
#ifndef TIDE_EXEC_ROWS_H
#define TIDE_EXEC_ROWS_H

#include "base/err.h"
#include "data/types.h"

#include <stddef.h>
#include <stdint.h>

typedef struct tide_rows_slot {
    char *buf; /* the row's string bytes, then its extra bytes */
    size_t cap;
    size_t extra_at, extra_len;
    uint32_t next_free;
} tide_rows_slot;

typedef struct tide_rows {
    size_t ncols;
    tide_rows_slot *slots;
    tide_value *vals; /* ncols per slot */
    size_t cap;
    uint32_t hi, free_head, live;
} tide_rows;

void tide_rows_init(tide_rows *p, size_t ncols);
/* Frees every row and buffer. */
void tide_rows_destroy(tide_rows *p);
/* A new row: copies of v[0..ncols) (strings copied) and of extra[0..len).
 * *id gets its number.  0 or TIDE_ENOMEM (nothing added). */
int tide_rows_add(tide_rows *p, const tide_value *v, const void *extra, size_t len, uint32_t *id,
                  tide_err *e);
void tide_rows_release(tide_rows *p, uint32_t id);

/* Valid until the row is released. */
static inline const tide_value *tide_rows_vals(const tide_rows *p, uint32_t id)
{
    return p->vals + (size_t)id * p->ncols;
}
static inline const uint8_t *tide_rows_extra(const tide_rows *p, uint32_t id, size_t *len)
{
    *len = p->slots[id].extra_len;
    return (const uint8_t *)p->slots[id].buf + p->slots[id].extra_at;
}
/* One past the highest row number ever given (for per-row side arrays). */
static inline uint32_t tide_rows_span(const tide_rows *p) { return p->hi; }

#endif
