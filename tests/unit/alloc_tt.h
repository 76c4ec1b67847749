/* alloc_tt.h - allocation failures on demand, for the tests that check
 * every allocation point of a module or of a whole SQL run.
 *
 * tide allocates with the C library's malloc, calloc, realloc,
 * aligned_alloc, posix_memalign and free,
 * which a program may replace (C and POSIX let glibc's be interposed): a
 * test that includes this header (one translation unit per program)
 * replaces them with wrappers over glibc's own that
 *   - count allocations and fail the Nth one (alloc_tt_fail_at(n); -1: none),
 *     from any thread;
 *   - count live blocks (alloc_tt_live()), so a run that ends with more
 *     blocks than it began with leaked.
 * Under AddressSanitizer or ThreadSanitizer (which own malloc) the hook is
 * not built:
 * ALLOC_TT_HOOKED is 0 and the tests skip. */
#ifndef TIDE_TESTS_ALLOC_TT_H
#define TIDE_TESTS_ALLOC_TT_H

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define ALLOC_TT_NO_HOOK 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define ALLOC_TT_NO_HOOK 1
#endif

#ifdef ALLOC_TT_NO_HOOK
#define ALLOC_TT_HOOKED 0
static inline void alloc_tt_fail_at(long n) { (void)n; }
static inline long alloc_tt_count(void) { return 0; }
static inline long alloc_tt_live(void) { return 0; }
#else
#define ALLOC_TT_HOOKED 1
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);

static _Atomic long alloc_tt_at = -1, alloc_tt_n, alloc_tt_blocks;

/* Fail the allocation numbered n (counted from this call, 0 first); -1:
 * fail none. */
static inline void alloc_tt_fail_at(long n)
{
    atomic_store(&alloc_tt_n, 0);
    atomic_store(&alloc_tt_at, n);
}
/* Allocations since the last alloc_tt_fail_at. */
static inline long alloc_tt_count(void) { return atomic_load(&alloc_tt_n); }
static inline long alloc_tt_live(void) { return atomic_load(&alloc_tt_blocks); }

/* (a failing allocation sets errno, as the C library's does) */
static inline bool alloc_tt_fail_now(void)
{
    long at = atomic_load(&alloc_tt_at);
    long k = atomic_fetch_add(&alloc_tt_n, 1);
    if (at < 0 || k != at)
        return false;
    errno = ENOMEM;
    return true;
}

void *malloc(size_t n)
{
    void *p = alloc_tt_fail_now() ? NULL : __libc_malloc(n);
    if (p)
        atomic_fetch_add(&alloc_tt_blocks, 1);
    return p;
}
void *calloc(size_t a, size_t b)
{
    void *p = alloc_tt_fail_now() ? NULL : __libc_calloc(a, b);
    if (p)
        atomic_fetch_add(&alloc_tt_blocks, 1);
    return p;
}
void *realloc(void *q, size_t n)
{
    if (alloc_tt_fail_now())
        return NULL;
    void *p = __libc_realloc(q, n);
    if (!q && p)
        atomic_fetch_add(&alloc_tt_blocks, 1);
    else if (q && !p && n == 0)
        atomic_fetch_sub(&alloc_tt_blocks, 1);
    return p;
}
void *aligned_alloc(size_t align, size_t n)
{
    void *p = alloc_tt_fail_now() ? NULL : __libc_memalign(align, n);
    if (p)
        atomic_fetch_add(&alloc_tt_blocks, 1);
    return p;
}
int posix_memalign(void **out, size_t align, size_t n)
{
    void *p = alloc_tt_fail_now() ? NULL : __libc_memalign(align, n);
    if (!p)
        return 12; /* ENOMEM */
    atomic_fetch_add(&alloc_tt_blocks, 1);
    *out = p;
    return 0;
}
void free(void *p)
{
    if (p)
        atomic_fetch_sub(&alloc_tt_blocks, 1);
    __libc_free(p);
}
#endif

#endif
