/* test_log_reader.c - what a reader (and `topic describe --verify`) makes
 * of damage it cannot wait out, and of a topic replaced under it:
 *
 *   test_damaged_length_in_active   a batch in the active segment whose
 *                                   length field points past the end of the
 *                                   file, valid batches after it: the reader
 *                                   returns every record before it, then
 *                                   TIDE_ECORRUPT naming the position and
 *                                   where valid data resumes (not EAGAIN)
 *   test_torn_tail_waits            the same batch cut short (a torn write,
 *                                   nothing valid after it): EAGAIN, and the
 *                                   records once the writer recovers and
 *                                   appends again
 *   test_verify                     tide_topic_verify over a whole topic, a
 *                                   torn tail (not damage), damage in the
 *                                   active segment and in a sealed one
 *   test_incarnation                a topic deleted and created again under
 *                                   a reader: TIDE_ENOENT naming it, where a
 *                                   reader of the first topic would have
 *                                   read the second's records; a version 1
 *                                   meta file still loads (incarnation 0)
 * Records are checked against the model of log_tt.h. */
#include "log_tt.h"

#include "base/crc32c.h"
#include "base/io.h"

#include <inttypes.h>

#define SEED 77

static char base_dir[1024];

static void put_u32(const char *path, uint64_t at, uint32_t v)
{
    size_t len = 0;
    unsigned char *b = (unsigned char *)lt_read_file(path, &len);
    TT_ASSERT(b && at + 4 <= len);
    for (int i = 0; i < 4; i++)
        b[at + (uint64_t)i] = (unsigned char)(v >> (8 * i));
    TT_OK(lt_write_file(path, b, len));
    free(b);
}

/* Read from offset 0 until an error: the records read (checked against
 * the model) and the final code. */
static long read_until(const char *topic, int *code, tide_err *e)
{
    tide_log_reader *r = NULL;
    *code = tide_log_reader_open(&r, base_dir, topic, 0, e);
    if (*code)
        return 0;
    long n = 0;
    tide_record rec;
    while ((*code = tide_log_reader_next(r, &rec, e)) == 0) {
        if (!lt_equal(&rec, SEED, (uint64_t)n)) {
            *code = -1000;
            break;
        }
        n++;
    }
    tide_log_reader_close(r);
    return n;
}

static void test_damaged_length_in_active(void)
{
    char seg[4096];
    uint64_t pos[11];
    lt_write_batches(base_dir, "dlen", 10, 100, 1 << 30, SEED, seg, pos);
    /* batch 3's length now points far past the end of the file */
    put_u32(seg, pos[3], (uint32_t)(pos[10] * 4));
    int code;
    tide_err e = {0};
    long n = read_until("dlen", &code, &e);
    TT_ASSERT_EQ_INT(n, 300);
    TT_ASSERT_EQ_INT(code, TIDE_ECORRUPT);
    char want[128];
    snprintf(want, sizeof want, "position %" PRIu64 " (offset 300)", pos[3]);
    TT_ASSERT_MSG(strstr(e.msg, want) && strstr(e.msg, "valid data resumes"), "%s", e.msg);
    snprintf(want, sizeof want, "resumes at position %" PRIu64, pos[4]);
    TT_ASSERT_MSG(strstr(e.msg, want), "%s", e.msg);
    /* describe counts the valid batches after the damage (a bounded read
     * aims there, so it meets the damage instead of stopping short) */
    tide_partition_info *parts = NULL;
    uint32_t np = 0;
    TT_OK(tide_topic_describe(base_dir, "dlen", &parts, &np, &e));
    TT_ASSERT(np == 1 && parts[0].next_offset == 1000);
    free(parts);
    /* and so does the writer's open: damage in the middle, nothing changed */
    tide_log_writer *w = NULL;
    tide_err we = {0};
    TT_ASSERT_EQ_INT(tide_log_writer_open(&w, base_dir, "dlen", NULL, &we), TIDE_ECORRUPT);
    TT_ASSERT_EQ_INT((long)lt_size(seg), (long)pos[10]);
}

static void test_torn_tail_waits(void)
{
    char seg[4096];
    uint64_t pos[11];
    lt_write_batches(base_dir, "torn", 10, 100, 1 << 30, SEED, seg, pos);
    /* cut inside batch 9: a torn write, nothing valid follows */
    TT_ASSERT_EQ_INT(truncate(seg, (off_t)(pos[9] + (pos[10] - pos[9]) / 2)), 0);
    int code;
    tide_err e = {0};
    long n = read_until("torn", &code, &e);
    TT_ASSERT_EQ_INT(n, 900);
    TT_ASSERT_MSG(code == TIDE_EAGAIN, "%d %s", code, e.msg);
    /* a reader waiting there sees the records once a writer cut the tail
     * and appended again */
    tide_log_reader *r = NULL;
    TT_OK(tide_log_reader_open(&r, base_dir, "torn", 0, &e));
    tide_record rec;
    long got = 0;
    while (tide_log_reader_next(r, &rec, &e) == 0)
        got++;
    TT_ASSERT_EQ_INT(got, 900);
    tide_log_writer *w = NULL;
    TT_OK(tide_log_writer_open(&w, base_dir, "torn", NULL, &e));
    TT_OK(lt_append(w, 0, SEED, 900, 1000, &e));
    TT_OK(tide_log_writer_close(w, &e));
    int rc;
    while ((rc = tide_log_reader_next(r, &rec, &e)) == 0) {
        TT_ASSERT(lt_equal(&rec, SEED, (uint64_t)got));
        got++;
    }
    TT_ASSERT_EQ_INT(rc, TIDE_EAGAIN);
    TT_ASSERT_EQ_INT(got, 1000);
    tide_log_reader_close(r);
}

typedef struct lines {
    char text[8192];
    int n;
} lines;

static void collect(void *ctx, const char *line)
{
    lines *l = ctx;
    size_t used = strlen(l->text);
    snprintf(l->text + used, sizeof l->text - used, "%s\n", line);
    l->n++;
}

static void test_verify(void)
{
    char seg[4096];
    uint64_t pos[41], damaged, segments; /* lt_write_batches fills calls + 1 */
    tide_err e = {0};
    lines l = {0};
    /* whole */
    lt_write_batches(base_dir, "v-ok", 10, 100, 1 << 30, SEED, seg, pos);
    TT_OK(tide_topic_verify(base_dir, "v-ok", collect, &l, &damaged, &segments, &e));
    TT_ASSERT(damaged == 0 && segments == 1 && l.n == 0);
    /* a torn tail: reported, not damage */
    lt_write_batches(base_dir, "v-torn", 10, 100, 1 << 30, SEED, seg, pos);
    TT_ASSERT_EQ_INT(truncate(seg, (off_t)(pos[10] - 3)), 0);
    TT_OK(tide_topic_verify(base_dir, "v-torn", collect, &l, &damaged, &segments, &e));
    TT_ASSERT_MSG(damaged == 0 && l.n == 1 && strstr(l.text, "torn tail"), "%s", l.text);
    /* a damaged length in the active segment, valid data after */
    memset(&l, 0, sizeof l);
    lt_write_batches(base_dir, "v-mid", 10, 100, 1 << 30, SEED, seg, pos);
    put_u32(seg, pos[5], 0x7fffffu);
    TT_OK(tide_topic_verify(base_dir, "v-mid", collect, &l, &damaged, &segments, &e));
    char want[128];
    snprintf(want, sizeof want, "position %" PRIu64 " (offset 500)", pos[5]);
    TT_ASSERT_MSG(damaged == 1 && strstr(l.text, want) && strstr(l.text, "resumes"), "%s",
                  l.text);
    /* a flipped bit in a sealed segment (the index's seal would hide it
     * from describe: verify reads the batches) */
    memset(&l, 0, sizeof l);
    lt_write_batches(base_dir, "v-sealed", 40, 100, 16 * 1024, SEED, seg, pos);
    char pdir[4200];
    snprintf(pdir, sizeof pdir, "%s/topics/v-sealed/0", base_dir);
    uint64_t bases[64];
    size_t nb = lt_segments(pdir, bases, 64);
    TT_ASSERT(nb >= 3);
    char first[4400];
    snprintf(first, sizeof first, "%s/%020" PRIu64 ".log", pdir, bases[0]);
    lt_flip(first, lt_size(first) / 2, 3);
    TT_OK(tide_topic_verify(base_dir, "v-sealed", collect, &l, &damaged, &segments, &e));
    TT_ASSERT_MSG(damaged == 1 && segments == nb && strstr(l.text, first) &&
                      strstr(l.text, "sealed segment"),
                  "%s", l.text);
}

/* A version 1 meta file (before incarnations) for topic `name`. */
static void write_v1_meta(const char *name)
{
    char body[256], text[300], path[4200];
    int n = snprintf(body, sizeof body,
                     "tide-topic 1\npartitions 1\nretention_ms -1\nretention_bytes -1\n"
                     "segment_bytes 1073741824\nfsync never\n");
    snprintf(text, sizeof text, "%scrc32c %08" PRIx32 "\n", body,
             tide_crc32c(0, body, (size_t)n));
    snprintf(path, sizeof path, "%s/topics/%s/meta", base_dir, name);
    TT_OK(lt_write_file(path, text, strlen(text)));
}

static void test_incarnation(void)
{
    tide_err e = {0};
    tide_topic_config c1, c2;
    char seg[4096];
    uint64_t pos[9]; /* lt_write_batches fills calls + 1 */
    lt_write_batches(base_dir, "inc", 5, 100, 1 << 30, SEED, seg, pos);
    TT_OK(tide_topic_config_load(base_dir, "inc", &c1, &e));
    TT_ASSERT(c1.incarnation != 0);
    tide_log_reader *r = NULL;
    TT_OK(tide_log_reader_open(&r, base_dir, "inc", 0, &e));
    tide_record rec;
    long got = 0;
    int rc;
    while ((rc = tide_log_reader_next(r, &rec, &e)) == 0)
        got++;
    TT_ASSERT(rc == TIDE_EAGAIN && got == 500);
    /* deleted and created again with more records than the reader read:
     * offsets 500.. exist in the new topic, and are not the reader's */
    TT_OK(tide_topic_delete(base_dir, "inc", &e));
    lt_write_batches(base_dir, "inc", 8, 100, 1 << 30, SEED, seg, pos);
    TT_OK(tide_topic_config_load(base_dir, "inc", &c2, &e));
    TT_ASSERT(c2.incarnation != 0 && c2.incarnation != c1.incarnation);
    tide_err re = {0};
    rc = tide_log_reader_next(r, &rec, &re);
    TT_ASSERT_MSG(rc == TIDE_ENOENT && strstr(re.msg, "created again") &&
                      strstr(re.msg, "offset 500"),
                  "%d %s", rc, re.msg);
    tide_log_reader_close(r);
    /* a version 1 meta file loads with incarnation 0, and its readers work */
    lt_write_batches(base_dir, "old", 2, 100, 1 << 30, SEED, seg, pos);
    write_v1_meta("old");
    tide_topic_config c;
    TT_OK(tide_topic_config_load(base_dir, "old", &c, &e));
    TT_ASSERT(c.incarnation == 0 && c.fsync == TIDE_FSYNC_NEVER);
    int code;
    TT_ASSERT_EQ_INT(read_until("old", &code, &e), 200);
    TT_ASSERT_EQ_INT(code, TIDE_EAGAIN);
    /* an incarnation line in a version 1 file is refused, as is version 3 */
    char path[4200];
    snprintf(path, sizeof path, "%s/topics/old/meta", base_dir);
    static const char *const bad[] = {
        "tide-topic 1\npartitions 1\nretention_ms -1\nretention_bytes -1\n"
        "segment_bytes 1073741824\nfsync never\nincarnation 00000000000000aa\n",
        "tide-topic 2\npartitions 1\nretention_ms -1\nretention_bytes -1\n"
        "segment_bytes 1073741824\nfsync never\n",
        "tide-topic 2\npartitions 1\nretention_ms -1\nretention_bytes -1\n"
        "segment_bytes 1073741824\nfsync never\nincarnation 0000000000000000\n",
        "tide-topic 3\npartitions 1\nretention_ms -1\nretention_bytes -1\n"
        "segment_bytes 1073741824\nfsync never\nincarnation 00000000000000aa\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[400];
        snprintf(text, sizeof text, "%scrc32c %08" PRIx32 "\n", bad[i],
                 tide_crc32c(0, bad[i], strlen(bad[i])));
        TT_OK(lt_write_file(path, text, strlen(text)));
        tide_err le = {0};
        rc = tide_topic_config_load(base_dir, "old", &c, &le);
        TT_ASSERT_MSG(rc == (i == 3 ? TIDE_EUNSUPPORTED : TIDE_ECORRUPT) && strstr(le.msg, path),
                      "case %zu: %d %s", i, rc, le.msg);
    }
}

int main(void)
{
    snprintf(base_dir, sizeof base_dir, "%s", tt_tmpdir("test_log_reader"));
    TT_RUN(test_damaged_length_in_active);
    TT_RUN(test_torn_tail_waits);
    TT_RUN(test_verify);
    TT_RUN(test_incarnation);
    TT_DONE();
}
