/* Unit tests of base/: crc32c, hashing, varints, buffers, arenas, the I/O
 * module and its fault injection. */
#include "base/arena.h"
#include "base/buf.h"
#include "base/bytes.h"
#include "base/crc32c.h"
#include "base/hash.h"
#include "base/io.h"
#include "tt.h"

#include <errno.h>

static void test_crc32c_vectors(void)
{
    TT_ASSERT_EQ_INT(tide_crc32c(0, "123456789", 9), 0xE3069283u);
    TT_ASSERT_EQ_INT(tide_crc32c_sw(0, "123456789", 9), 0xE3069283u);
    unsigned char zeros[32] = {0};
    TT_ASSERT_EQ_INT(tide_crc32c(0, zeros, 32), 0x8A9136AAu); /* RFC 3720 B.4 */
    /* hardware and software agree, and chaining equals one pass */
    uint64_t s = 7;
    unsigned char buf[1000];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)tt_rand(&s);
    for (size_t n = 0; n < sizeof buf; n += 37) {
        uint32_t a = tide_crc32c(0, buf, n), b = tide_crc32c_sw(0, buf, n);
        TT_ASSERT_EQ_INT(a, b);
        TT_ASSERT_EQ_INT(tide_crc32c(tide_crc32c(0, buf, n / 3), buf + n / 3, n - n / 3), a);
    }
}

/* Independent model: the CRC-32C definition, one bit at a time. */
static uint32_t crc32c_bitwise(uint32_t crc, const unsigned char *p, size_t len)
{
    crc = ~crc;
    for (size_t i = 0; i < len; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = (crc & 1) ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
    }
    return ~crc;
}

/* Every length 0..20000 at a random alignment: dispatched (three-lane
 * hardware where present) == portable, chained at random split points ==
 * one pass, and a sample of lengths (all up to 800, every 61st beyond, and
 * the lane-block edges) against the bitwise model. */
static void test_crc32c_lengths_and_splits(void)
{
    enum { MAXLEN = 20000, SLACK = 64 };
    uint64_t seed = tt_seed(0x5eedc4c32cull), s = seed;
    unsigned char *buf = malloc(MAXLEN + SLACK);
    TT_ASSERT(buf);
    for (size_t i = 0; i < MAXLEN + SLACK; i++)
        buf[i] = (unsigned char)tt_rand(&s);
    static const size_t edges[] = {239, 240, 241, 1535, 1536, 1537, 1776, 12287, 12288,
                                   12289, 13824, 14063, 14064, 14065, 20000};
    int ok = 1;
    for (size_t n = 0; n <= MAXLEN && ok; n++) {
        const unsigned char *p = buf + tt_rand(&s) % SLACK;
        uint32_t init = (n % 3 == 0) ? 0 : (uint32_t)tt_rand(&s);
        uint32_t one = tide_crc32c(init, p, n);
        if (one != tide_crc32c_sw(init, p, n)) {
            fprintf(stderr, "  hw != sw at len %zu\n", n);
            ok = 0;
        }
        size_t k1 = n ? tt_rand(&s) % (n + 1) : 0;
        size_t k2 = k1 + (n - k1 ? tt_rand(&s) % (n - k1 + 1) : 0);
        uint32_t ch = tide_crc32c(init, p, k1);
        ch = tide_crc32c(ch, p + k1, k2 - k1);
        ch = tide_crc32c(ch, p + k2, n - k2);
        uint32_t chsw = tide_crc32c_sw(tide_crc32c_sw(init, p, k1), p + k1, n - k1);
        if (ch != one || chsw != one) {
            fprintf(stderr, "  chained != one pass at len %zu split %zu/%zu\n", n, k1, k2);
            ok = 0;
        }
        int model = n <= 800 || n % 61 == 0;
        for (size_t j = 0; j < sizeof edges / sizeof edges[0]; j++)
            model |= n == edges[j];
        if (model && crc32c_bitwise(init, p, n) != one) {
            fprintf(stderr, "  != bitwise model at len %zu\n", n);
            ok = 0;
        }
    }
    free(buf);
    if (!ok)
        TT_SEED(seed);
    TT_ASSERT(ok);
}

static void test_murmur2_matches_kafka(void)
{
    /* Values from Kafka's own partitioner tests (as signed ints). */
    TT_ASSERT_EQ_INT((int32_t)tide_hash_murmur2("21", 2), -973932308);
    TT_ASSERT_EQ_INT((int32_t)tide_hash_murmur2("foobar", 6), -790332482);
    TT_ASSERT_EQ_INT((int32_t)tide_hash_murmur2("a-little-bit-long-string", 24), -985981536);
    TT_ASSERT_EQ_INT((int32_t)tide_hash_murmur2("a-little-bit-longer-string", 26), -1486304829);
    TT_ASSERT_EQ_INT((int32_t)tide_hash_murmur2("abc", 3), 479470107);
    TT_ASSERT(tide_hash_partition("foobar", 6, 4) < 4);
}

static void test_hash64_spreads(void)
{
    /* Sequential integer keys fill 1024 buckets evenly (chi-square-ish bound). */
    int buckets[1024] = {0};
    for (uint64_t i = 0; i < 1024 * 64; i++) {
        char key[32];
        int n = snprintf(key, sizeof key, "user-%llu", (unsigned long long)i);
        buckets[tide_hash64(key, (size_t)n, 0) & 1023]++;
    }
    for (int i = 0; i < 1024; i++)
        TT_ASSERT_MSG(buckets[i] > 20 && buckets[i] < 120, "bucket %d has %d", i, buckets[i]);
    TT_ASSERT(tide_hash64("a", 1, 0) != tide_hash64("b", 1, 0));
    TT_ASSERT(tide_hash64("a", 1, 0) != tide_hash64("a", 1, 1));
}

static void test_varint_roundtrip(void)
{
    uint64_t s = 1;
    unsigned char b[10];
    for (int i = 0; i < 10000; i++) {
        uint64_t v = tt_rand(&s) >> (tt_rand(&s) % 64);
        size_t n = tide_varint_put(b, v);
        uint64_t w = 0;
        TT_ASSERT_EQ_INT(tide_varint_get(b, b + n, &w), n);
        TT_ASSERT(v == w);
        TT_ASSERT_EQ_INT(tide_varint_get(b, b + n - 1, &w), 0); /* truncated */
        int64_t z = (int64_t)v;
        TT_ASSERT(tide_unzigzag(tide_zigzag(z)) == z);
        TT_ASSERT(tide_unzigzag(tide_zigzag(-z)) == -z);
    }
}

static void test_buf_and_arena(void)
{
    tide_buf b = {0};
    for (int i = 0; i < 1000; i++)
        TT_OK(tide_buf_printf(&b, "%d,", i));
    TT_ASSERT(b.len > 1000 && memcmp(b.data, "0,1,2,", 6) == 0);
    tide_buf_free(&b);
    tide_arena a;
    tide_arena_init(&a, 1024);
    for (int round = 0; round < 3; round++) {
        char *p[100];
        for (int i = 0; i < 100; i++) {
            p[i] = tide_arena_alloc(&a, 40);
            TT_ASSERT(p[i] && ((uintptr_t)p[i] & 15) == 0);
            memset(p[i], i, 40);
        }
        for (int i = 0; i < 100; i++)
            TT_ASSERT(p[i][39] == (char)i);
        TT_ASSERT(tide_arena_alloc(&a, 5000) != NULL); /* bigger than a block */
        tide_arena_reset(&a);
    }
    tide_arena_free(&a);
}

static void test_io_basic_and_atomic(void)
{
    const char *dir = tt_tmpdir("base_io");
    TT_ASSERT(dir);
    char path[4200];
    snprintf(path, sizeof path, "%s/a/b/c", dir);
    tide_err e = {0};
    TT_OK(tide_io_mkdirs(path, &e));
    snprintf(path, sizeof path, "%s/a/b/c/file", dir);
    TT_OK(tide_io_write_atomic(path, "hello", 5, &e));
    TT_OK(tide_io_write_atomic(path, "world!", 6, &e));
    char *data = NULL;
    size_t len = 0;
    TT_OK(tide_io_read_all(path, &data, &len, &e));
    TT_ASSERT_EQ_INT(len, 6);
    TT_ASSERT_EQ_STR(data, "world!");
    free(data);
    tide_file *f = NULL, *g = NULL;
    TT_OK(tide_io_open(&f, path, TIDE_IO_WRITE, &e));
    TT_OK(tide_io_lock(f, TIDE_IO_LOCK_EX, &e));
    TT_OK(tide_io_open(&g, path, TIDE_IO_WRITE, &e));
    TT_ASSERT_EQ_INT(tide_io_lock(g, TIDE_IO_LOCK_EX, &e), TIDE_ELOCKED);
    TT_ASSERT(strstr(e.msg, "locked") != NULL);
    TT_ASSERT_EQ_INT(tide_io_lock(g, TIDE_IO_LOCK_SH, &e), TIDE_ELOCKED);
    /* unlocked, the other handle gets it, shared with a third */
    TT_OK(tide_io_unlock(f, &e));
    TT_OK(tide_io_lock(g, TIDE_IO_LOCK_SH | TIDE_IO_LOCK_WAIT, &e));
    tide_file *h = NULL;
    TT_OK(tide_io_open(&h, path, TIDE_IO_READ, &e));
    TT_OK(tide_io_lock(h, TIDE_IO_LOCK_SH, &e));
    TT_ASSERT_EQ_INT(tide_io_lock(f, TIDE_IO_LOCK_EX, &e), TIDE_ELOCKED);
    tide_io_close(h);
    TT_OK(tide_io_unlock(g, &e));
    TT_OK(tide_io_lock(f, TIDE_IO_LOCK_EX | TIDE_IO_LOCK_WAIT, &e));
    TT_ASSERT_EQ_INT(tide_io_lock(g, TIDE_IO_LOCK_EX, &e), TIDE_ELOCKED);
    tide_io_close(g);
    tide_io_close(f);
    tide_err_clear(&e);
    TT_ASSERT_EQ_INT(tide_io_open(&f, "/nonexistent/x", TIDE_IO_READ, &e), TIDE_ENOENT);
    TT_ASSERT(strstr(e.msg, "/nonexistent/x") != NULL);
}

static void test_io_fail_nth(void)
{
    const char *dir = tt_tmpdir("base_io_fail");
    TT_ASSERT(dir);
    char path[4200];
    snprintf(path, sizeof path, "%s/f", dir);
    for (long n = 1; n <= 8; n++) {
        tide_io_faults fl = {.fail_at = n, .fail_errno = ENOSPC};
        tide_io_faults_set(&fl);
        tide_err e = {0};
        int rc = tide_io_write_atomic(path, "abc", 3, &e);
        long calls = tide_io_calls();
        tide_io_faults_set(NULL);
        if (n <= calls) {
            TT_ASSERT_MSG(rc == TIDE_ENOSPC, "call %ld: rc %d", n, rc);
            TT_ASSERT(strstr(e.msg, "injected") != NULL);
        } else {
            TT_ASSERT_EQ_INT(rc, 0);
        }
    }
}

static void test_io_powerloss(void)
{
    const char *dir = tt_tmpdir("base_io_power");
    TT_ASSERT(dir);
    char path[4200];
    snprintf(path, sizeof path, "%s/log", dir);
    TT_FOR_SEEDS(seed, 1, 20) {
        unlink(path);
        tide_io_faults fl = {.crash_at_write = 3, .seed = seed};
        tide_io_faults_set(&fl);
        tide_err e = {0};
        tide_file *f = NULL;
        TT_OK(tide_io_open(&f, path, TIDE_IO_WRITE | TIDE_IO_CREATE, &e));
        TT_OK(tide_io_pwrite(f, "AAAA", 4, 0, &e));
        TT_OK(tide_io_fsync(f, &e));
        TT_OK(tide_io_pwrite(f, "BBBB", 4, 4, &e));
        TT_ASSERT_EQ_INT(tide_io_pwrite(f, "CCCC", 4, 8, &e), TIDE_ECRASH);
        TT_ASSERT(tide_io_crashed());
        TT_ASSERT_EQ_INT(tide_io_fsync(f, &e), TIDE_ECRASH);
        tide_io_close(f);
        TT_OK(tide_io_powerloss(false, &e));
        char *data = NULL;
        size_t len = 0;
        TT_OK(tide_io_read_all(path, &data, &len, &e));
        /* synced bytes survive; what follows is some prefix of what was written */
        TT_ASSERT(len >= 4 && len <= 11);
        TT_ASSERT(memcmp(data, "AAAABBBBCCC", len) == 0);
        free(data);
    }
}

/* ---- the namespace under power loss ---- */

/* Small helpers over raw syscalls: the test's own view of the disk. */
static int put_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t n = strlen(text);
    int rc = fwrite(text, 1, n, f) == n ? 0 : -1;
    return fclose(f) == 0 ? rc : -1;
}

/* The file's text ("" if empty), or NULL when it does not exist. */
static char *get_file(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* One namespace operation, then the power fails at the directory fsync that
 * follows it (step 2).  With the unsynced state cut, some seeds keep the
 * operation and some lose it; with it kept, every seed keeps it; and an
 * operation whose directory fsync completed survives every seed. */
enum { NS_CREATE, NS_MKDIR, NS_RENAME_OVER, NS_UNLINK, NS_RMTREE, NS_NKINDS };

static const char *ns_name(int k)
{
    static const char *n[] = {"create", "mkdir", "rename over a file", "unlink", "remove a tree"};
    return n[k];
}

/* Set up, run the operation with the power failing at `crash_step`, and
 * lose power.  *done: the disk shows the operation; *undone: it shows the
 * state before it; neither: a state no file system could show. */
static int ns_run(const char *dir, int kind, long crash_step, uint64_t seed, bool keep,
                  bool *done, bool *undone)
{
    char a[4300], b[4300], c[4300], buf[64];
    snprintf(a, sizeof a, "%s/a", dir);
    snprintf(b, sizeof b, "%s/b", dir);
    snprintf(c, sizeof c, "%s/b/c", dir);
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s/a' '%s/b'", dir, dir);
    if (system(cmd) != 0)
        return -1;
    if (kind == NS_RENAME_OVER && (put_file(a, "new") || put_file(b, "old")))
        return -1;
    if (kind == NS_UNLINK && put_file(a, "old"))
        return -1;
    if (kind == NS_RMTREE && (mkdir(b, 0755) || put_file(c, "deep")))
        return -1;
    tide_io_faults_set(&(tide_io_faults){.crash_at_step = crash_step, .seed = seed});
    tide_err e = {0};
    tide_file *f = NULL;
    int rc = 0;
    switch (kind) {
    case NS_CREATE:
        rc = tide_io_open(&f, a, TIDE_IO_WRITE | TIDE_IO_CREATE, &e);
        tide_io_close(f);
        break;
    case NS_MKDIR: rc = tide_io_mkdir(b, &e); break;
    case NS_RENAME_OVER: rc = tide_io_rename(a, b, &e); break;
    case NS_UNLINK: rc = tide_io_unlink(a, &e); break;
    default: rc = tide_io_rmtree(b, &e); break;
    }
    /* a later step, where the power fails when it did not already */
    if (!rc)
        rc = tide_io_fsync_dir(dir, &e);
    if (rc != TIDE_ECRASH || !tide_io_crashed())
        return -1;
    if (tide_io_powerloss(keep, &e))
        return -1;
    switch (kind) {
    case NS_CREATE:
        *done = exists(a);
        *undone = !exists(a);
        break;
    case NS_MKDIR:
        *done = exists(b);
        *undone = !exists(b);
        break;
    case NS_RENAME_OVER: {
        char *x = get_file(b, buf, sizeof buf);
        *done = !exists(a) && x && !strcmp(x, "new");
        char ob[64];
        char *y = get_file(a, ob, sizeof ob);
        *undone = y && !strcmp(y, "new") && x && !strcmp(x, "old");
        break;
    }
    case NS_UNLINK: {
        char *x = get_file(a, buf, sizeof buf);
        *done = !x;
        *undone = x && !strcmp(x, "old");
        break;
    }
    default: {
        char *x = get_file(c, buf, sizeof buf);
        *done = !exists(b);
        *undone = x && !strcmp(x, "deep");
        break;
    }
    }
    return 0;
}

static void test_io_powerloss_namespace(void)
{
    const char *dir = tt_tmpdir("base_io_ns");
    TT_ASSERT(dir);
    for (int kind = 0; kind < NS_NKINDS; kind++) {
        int seen_done = 0, seen_undone = 0;
        TT_FOR_SEEDS(seed, 1, 24) {
            for (int keep = 0; keep <= 1; keep++) {
                for (long step = 2; step <= 3; step++) {
                    bool done = false, undone = false;
                    int rc = ns_run(dir, kind, step, seed, keep, &done, &undone);
                    tide_io_faults_set(NULL);
                    TT_ASSERT_MSG(rc == 0, "%s: setup or crash failed (seed %" PRIu64 ")",
                                  ns_name(kind), seed);
                    TT_ASSERT_MSG(done != undone, "%s, seed %" PRIu64 ": neither before nor after "
                                  "the operation", ns_name(kind), seed);
                    /* step 3: the fsync of the directory completed */
                    TT_ASSERT_MSG(done || (!keep && step == 2), "%s, seed %" PRIu64 ", power "
                                  "lost at step %ld, unsynced %s: the operation was lost",
                                  ns_name(kind), seed, step, keep ? "kept" : "cut");
                    if (!keep && step == 2) {
                        seen_done += done;
                        seen_undone += undone;
                    }
                }
            }
        }
        TT_ASSERT_MSG(tt_replaying() || (seen_done && seen_undone), "%s with no directory fsync after it: kept %d "
                      "times, lost %d times over 24 seeds (both must happen)", ns_name(kind),
                      seen_done, seen_undone);
    }
}

int main(void)
{
    TT_RUN(test_crc32c_vectors);
    TT_RUN(test_crc32c_lengths_and_splits);
    TT_RUN(test_murmur2_matches_kafka);
    TT_RUN(test_hash64_spreads);
    TT_RUN(test_varint_roundtrip);
    TT_RUN(test_buf_and_arena);
    TT_RUN(test_io_basic_and_atomic);
    TT_RUN(test_io_fail_nth);
    TT_RUN(test_io_powerloss);
    TT_RUN(test_io_powerloss_namespace);
    TT_DONE();
}
