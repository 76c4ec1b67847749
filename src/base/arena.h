/*
 * arena.h - region allocation.
 *
 * An arena hands out memory from large blocks and frees it all at once
 * (tide_arena_reset keeps the first block for reuse, so a batch or a window
 * pane that is refilled over and over allocates nothing in steady state).
 * Not thread-safe: an arena belongs to one owner.
 */
#ifndef TIDE_BASE_ARENA_H
#define TIDE_BASE_ARENA_H

#include <stddef.h>

typedef struct tide_arena_block tide_arena_block;

typedef struct tide_arena {
    tide_arena_block *head;  /* current block; older ones follow via next */
    size_t block_size;       /* default size of a new block */
    size_t used_total;       /* bytes handed out since the last reset */
} tide_arena;

void tide_arena_init(tide_arena *a, size_t block_size);
/* NULL on allocation failure.  Memory is 16-byte aligned, not zeroed. */
void *tide_arena_alloc(tide_arena *a, size_t n);
void *tide_arena_memdup(tide_arena *a, const void *p, size_t n);
/* Forget every allocation; keep one block for reuse. */
void tide_arena_reset(tide_arena *a);
void tide_arena_free(tide_arena *a);

#endif
