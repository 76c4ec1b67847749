/*
 * tt.h - the tiny test harness of tide's unit tests.
 *
 * A test program is a main() that calls TT_RUN(fn) for each test function.
 * TT_ASSERT and friends report file:line and the failing expression, mark the
 * program failed and return from the test function.  Property tests print
 * their seed with TT_SEED so a failure can be replayed.  The closing line is
 * "N passed, N failed, N skipped", and the exit status is non-zero on any
 * failure (TT_SKIP_CODE when some test skipped and none failed).
 */
#ifndef TIDE_TESTS_TT_H
#define TIDE_TESTS_TT_H

#include <dirent.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* TT_ASAN: 1 in an AddressSanitizer build.  Its allocator keeps freed
 * blocks in a quarantine, so the process's RSS says little about what the
 * code holds: memory bounds are then checked structurally only. */
#if defined(__SANITIZE_ADDRESS__)
#define TT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TT_ASAN 1
#endif
#endif
#ifndef TT_ASAN
#define TT_ASAN 0
#endif

/* TT_SANITIZED: 1 under AddressSanitizer or ThreadSanitizer, where code runs
 * several times slower: a long test may cover less there (and says so). */
#if TT_ASAN || defined(__SANITIZE_THREAD__)
#define TT_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TT_SANITIZED 1
#endif
#endif
#ifndef TT_SANITIZED
#define TT_SANITIZED 0
#endif

static int tt_failed_now;
static int tt_pass, tt_fail, tt_skip;

/* ---- replayable seeds ----
 * A randomised test never seeds from the clock.  It takes its seed from
 * tt_seed(default), or loops over cases with TT_FOR_SEEDS(seed, first,
 * last); with $TIDE_SEED=N set, tt_seed returns N and each such loop runs
 * only the case of seed N.  The seed in use is remembered, and a failing
 * test prints how to replay it:
 *   replay: TIDE_TEST=test_name TIDE_SEED=N ./test_prog
 * ($TIDE_TEST=name makes TT_RUN run only that test.)  Coverage assertions
 * over a whole seed range hold only when not replaying (tt_replaying). */
static uint64_t tt_seed_cur;
static int tt_seed_used;

static inline int tt_replaying(void)
{
    const char *s = getenv("TIDE_SEED");
    return s && *s;
}

static inline uint64_t tt_seed_note(uint64_t seed)
{
    tt_seed_cur = seed;
    tt_seed_used = 1;
    return seed;
}

static inline uint64_t tt_seed(uint64_t dflt)
{
    return tt_seed_note(tt_replaying() ? strtoull(getenv("TIDE_SEED"), NULL, 0) : dflt);
}

/* Whether a TT_FOR_SEEDS loop runs `seed`: not after a failure (a helper's
 * failed assertion returns from the helper only), so the seed noted is the
 * failing one. */
static inline int tt_seed_more(uint64_t seed, uint64_t last)
{
    if (tt_failed_now ||
        (tt_replaying() ? seed != strtoull(getenv("TIDE_SEED"), NULL, 0) : seed > last))
        return 0;
    tt_seed_note(seed);
    return 1;
}

#define TT_FOR_SEEDS(var, first, last)                                                      \
    for (uint64_t var = tt_seed(first); tt_seed_more(var, (last)); var++)

#define TT_ASSERT(cond)                                                                     \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            fprintf(stderr, "%s:%d: assertion failed: %s\n", __FILE__, __LINE__, #cond);    \
            tt_failed_now = 1;                                                              \
            return;                                                                         \
        }                                                                                   \
    } while (0)

#define TT_ASSERT_MSG(cond, ...)                                                            \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            fprintf(stderr, "%s:%d: assertion failed: %s: ", __FILE__, __LINE__, #cond);    \
            fprintf(stderr, __VA_ARGS__);                                                   \
            fputc('\n', stderr);                                                            \
            tt_failed_now = 1;                                                              \
            return;                                                                         \
        }                                                                                   \
    } while (0)

#define TT_ASSERT_EQ_INT(a, b)                                                              \
    do {                                                                                    \
        long long tt_a = (long long)(a), tt_b = (long long)(b);                             \
        if (tt_a != tt_b) {                                                                 \
            fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", __FILE__, __LINE__,   \
                    #a, #b, tt_a, tt_b);                                                    \
            tt_failed_now = 1;                                                              \
            return;                                                                         \
        }                                                                                   \
    } while (0)

#define TT_ASSERT_EQ_STR(a, b)                                                              \
    do {                                                                                    \
        const char *tt_a = (a), *tt_b = (b);                                                \
        if (strcmp(tt_a, tt_b) != 0) {                                                      \
            fprintf(stderr, "%s:%d: %s == %s failed: \"%s\" != \"%s\"\n", __FILE__,         \
                    __LINE__, #a, #b, tt_a, tt_b);                                          \
            tt_failed_now = 1;                                                              \
            return;                                                                         \
        }                                                                                   \
    } while (0)

/* Call an action returning a tide error code and assert it succeeded. */
#define TT_OK(expr)                                                                         \
    do {                                                                                    \
        int tt_rc = (expr);                                                                 \
        if (tt_rc != 0) {                                                                   \
            fprintf(stderr, "%s:%d: %s failed: %d\n", __FILE__, __LINE__, #expr, tt_rc);    \
            tt_failed_now = 1;                                                              \
            return;                                                                         \
        }                                                                                   \
    } while (0)

#define TT_SEED(seed) fprintf(stderr, "  (seed %" PRIu64 ")\n", (uint64_t)(seed))

/* ---- skips ----
 * A test that cannot run here calls TT_SKIP("why") and returns: it counts
 * as skipped, not passed, and a program whose tests all passed or skipped,
 * with at least one skipped, exits with TT_SKIP_CODE, which CMake declares
 * as the test's SKIP_RETURN_CODE, so ctest shows it as skipped. */
#define TT_SKIP_CODE 77
static int tt_skipped_now;

#define TT_SKIP(...)                                                                        \
    do {                                                                                    \
        fprintf(stderr, "  skipped: ");                                                     \
        fprintf(stderr, __VA_ARGS__);                                                       \
        fputc('\n', stderr);                                                                \
        tt_skipped_now = 1;                                                                 \
        return;                                                                             \
    } while (0)

/* Whether TT_RUN runs test `name`: $TIDE_TEST=name runs that one alone;
 * else every test not named in $TIDE_TEST_EXCLUDE (a comma list: tests
 * CMake runs as entries of their own). */
static inline int tt_selected(const char *name)
{
    const char *only = getenv("TIDE_TEST");
    if (only && *only)
        return strcmp(only, name) == 0;
    const char *ex = getenv("TIDE_TEST_EXCLUDE");
    size_t n = strlen(name);
    for (const char *p = ex ? ex : ""; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0)
            return 0;
        p += len + (end ? 1 : 0);
    }
    return 1;
}

#define TT_RUN(fn)                                                                          \
    do {                                                                                    \
        if (!tt_selected(#fn))                                                              \
            break;                                                                          \
        tt_failed_now = tt_skipped_now = tt_seed_used = 0;                                  \
        fn();                                                                               \
        if (tt_failed_now) {                                                                \
            tt_fail++;                                                                      \
            fprintf(stderr, "FAIL %s\n", #fn);                                              \
            if (tt_seed_used)                                                               \
                fprintf(stderr, "  replay: TIDE_TEST=%s TIDE_SEED=%" PRIu64 "\n", #fn,       \
                        tt_seed_cur);                                                       \
        } else if (tt_skipped_now) {                                                        \
            tt_skip++;                                                                      \
            fprintf(stderr, "skip %s\n", #fn);                                              \
        } else {                                                                            \
            tt_pass++;                                                                      \
            fprintf(stderr, "ok   %s\n", #fn);                                              \
        }                                                                                   \
    } while (0)

#define TT_DONE()                                                                           \
    do {                                                                                    \
        printf("%d passed, %d failed, %d skipped\n", tt_pass, tt_fail, tt_skip);            \
        return tt_fail ? 1 : tt_skip ? TT_SKIP_CODE : 0;                                    \
    } while (0)

/* A fresh, empty scratch directory for this test program: $TIDE_TEST_TMP (or
 * /tmp) / <name>.<pid>.  Returns a static buffer. */
static inline const char *tt_tmpdir(const char *name)
{
    static char path[4096];
    const char *base = getenv("TIDE_TEST_TMP");
    if (!base || !*base)
        base = "/tmp";
    mkdir(base, 0755);
    snprintf(path, sizeof path, "%s/%s.%d", base, name, (int)getpid());
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0)
        return NULL;
    mkdir(path, 0755);
    return path;
}

/* A small deterministic PRNG (splitmix64) for property tests. */
static inline uint64_t tt_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}


/* The process's threads (from /proc/self/task).  The first call starts and
 * joins a thread, so that helpers a sanitizer starts with the first thread
 * (TSan's background thread) are there before anything is counted. */
static inline void *tt_noop_thread(void *arg) { return arg; }
static inline int tt_thread_count(void)
{
    static bool warm;
    if (!warm) {
        pthread_t th;
        if (pthread_create(&th, NULL, tt_noop_thread, NULL) == 0)
            pthread_join(th, NULL);
        warm = true;
    }
    DIR *d = opendir("/proc/self/task");
    int n = 0;
    if (!d)
        return -1;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        n += de->d_name[0] != '.';
    closedir(d);
    return n;
}

#endif
