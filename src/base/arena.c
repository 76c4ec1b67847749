#include "base/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct tide_arena_block {
    tide_arena_block *next;
    size_t size; /* usable bytes in data */
    size_t used;
    _Alignas(16) unsigned char data[];
};

void tide_arena_init(tide_arena *a, size_t block_size)
{
    a->head = NULL;
    a->block_size = block_size ? block_size : 64 * 1024;
    a->used_total = 0;
}

void *tide_arena_alloc(tide_arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    tide_arena_block *b = a->head;
    if (!b || b->size - b->used < n) {
        size_t size = n > a->block_size ? n : a->block_size;
        b = malloc(sizeof *b + size);
        if (!b)
            return NULL;
        b->size = size;
        b->used = 0;
        b->next = a->head;
        a->head = b;
    }
    void *p = b->data + b->used;
    b->used += n;
    a->used_total += n;
    return p;
}

void *tide_arena_memdup(tide_arena *a, const void *p, size_t n)
{
    void *q = tide_arena_alloc(a, n ? n : 1);
    if (q && n)
        memcpy(q, p, n);
    return q;
}

void tide_arena_reset(tide_arena *a)
{
    tide_arena_block *keep = NULL;
    for (tide_arena_block *b = a->head, *next; b; b = next) {
        next = b->next;
        if (!keep && b->size == a->block_size) {
            keep = b;
            continue;
        }
        free(b);
    }
    if (keep) {
        keep->next = NULL;
        keep->used = 0;
    }
    a->head = keep;
    a->used_total = 0;
}

void tide_arena_free(tide_arena *a)
{
    for (tide_arena_block *b = a->head, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    a->head = NULL;
    a->used_total = 0;
}
