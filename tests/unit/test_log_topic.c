/* test_log_topic.c - topic names and meta files, the writer lock, routing,
 * durability bookkeeping, describe, and consumer groups. */
#include "log_tt.h"

#include "base/clock.h"
#include "base/hash.h"

#define SEED 3

static char base_dir[1024];

static void test_names(void)
{
    const char *good[] = {"a", "logins", "A.b_c-9", "...", ".x", "x..y"};
    const char *bad[] = {"", ".", "..", "a/b", "a b", "../x", "x\n", "é", "a\\b", "a:b"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        TT_ASSERT_MSG(tide_topic_name_valid(good[i]), "%s", good[i]);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        TT_ASSERT_MSG(!tide_topic_name_valid(bad[i]), "%s", bad[i]);
    char longn[202];
    memset(longn, 'x', 201);
    longn[201] = '\0';
    TT_ASSERT(!tide_topic_name_valid(longn));
    longn[200] = '\0';
    TT_ASSERT(tide_topic_name_valid(longn));
    tide_topic_config c;
    tide_topic_config_default(&c);
    tide_err e = {0};
    TT_ASSERT_EQ_INT(tide_topic_create(base_dir, "../evil", &c, &e), TIDE_EINVAL);
}

static void test_fsync_policy(void)
{
    tide_topic_config c;
    tide_topic_config_default(&c);
    tide_err e = {0};
    char buf[64];
    TT_OK(tide_fsync_parse("always", &c, &e));
    TT_ASSERT_EQ_INT(c.fsync, TIDE_FSYNC_ALWAYS);
    tide_fsync_format(&c, buf, sizeof buf);
    TT_ASSERT_EQ_STR(buf, "always");
    TT_OK(tide_fsync_parse("interval:250", &c, &e));
    TT_ASSERT(c.fsync == TIDE_FSYNC_INTERVAL && c.fsync_interval_ms == 250);
    tide_fsync_format(&c, buf, sizeof buf);
    TT_ASSERT_EQ_STR(buf, "interval:250");
    TT_OK(tide_fsync_parse("never", &c, &e));
    TT_ASSERT_EQ_INT(c.fsync, TIDE_FSYNC_NEVER);
    const char *bad[] = {"", "sometimes", "interval:", "interval:-1", "interval:5x", "Always"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        tide_err be = {0};
        TT_ASSERT_EQ_INT(tide_fsync_parse(bad[i], &c, &be), TIDE_EINVAL);
    }
}

static void test_create_list_delete_meta(void)
{
    tide_topic_config c, got;
    tide_topic_config_default(&c);
    c.partitions = 3;
    c.retention_ms = 86400000;
    c.retention_bytes = 123456789;
    c.segment_bytes = 4096;
    c.fsync = TIDE_FSYNC_ALWAYS;
    tide_err e = {0};
    TT_OK(tide_topic_create(base_dir, "meta-t", &c, &e));
    TT_ASSERT(tide_topic_exists(base_dir, "meta-t"));
    TT_ASSERT(!tide_topic_exists(base_dir, "nope"));
    tide_err e2 = {0};
    TT_ASSERT_EQ_INT(tide_topic_create(base_dir, "meta-t", &c, &e2), TIDE_EEXIST);
    TT_ASSERT_MSG(strstr(e2.msg, "meta-t"), "%s", e2.msg);
    TT_OK(tide_topic_config_load(base_dir, "meta-t", &got, &e));
    TT_ASSERT(got.partitions == 3 && got.retention_ms == 86400000 && got.retention_bytes == 123456789 &&
              got.segment_bytes == 4096 && got.fsync == TIDE_FSYNC_ALWAYS);
    /* the file's text: a version line first, a checksum line last */
    char p[2048];
    snprintf(p, sizeof p, "%s/topics/meta-t/meta", base_dir);
    size_t len;
    char *text = lt_read_file(p, &len);
    TT_ASSERT(text && !strncmp(text, "tide-topic 2\n", 13) && strstr(text, "\nincarnation ") && strstr(text, "\ncrc32c "));
    /* any flipped bit is detected */
    for (size_t i = 0; i < len * 8; i += 5) {
        lt_flip(p, i / 8, (unsigned)(i % 8));
        tide_err ce = {0};
        int rc = tide_topic_config_load(base_dir, "meta-t", &got, &ce);
        TT_ASSERT_MSG(rc == TIDE_ECORRUPT || rc == TIDE_EUNSUPPORTED, "bit %zu rc %d", i, rc);
        TT_ASSERT_MSG(strstr(ce.msg, p), "%s", ce.msg);
        lt_flip(p, i / 8, (unsigned)(i % 8));
    }
    free(text);
    TT_OK(tide_topic_config_load(base_dir, "meta-t", &got, &e));
    /* list is sorted, only topics */
    TT_OK(lt_topic(base_dir, "a-first", 1, 1 << 20, NULL));
    char **names;
    size_t n;
    TT_OK(tide_topic_list(base_dir, &names, &n, &e));
    bool saw_a = false, saw_m = false;
    for (size_t i = 0; i < n; i++) {
        if (i)
            TT_ASSERT(strcmp(names[i - 1], names[i]) < 0);
        saw_a |= !strcmp(names[i], "a-first");
        saw_m |= !strcmp(names[i], "meta-t");
    }
    tide_topic_names_free(names, n);
    TT_ASSERT(saw_a && saw_m);
    TT_OK(tide_topic_delete(base_dir, "meta-t", &e));
    TT_ASSERT(!tide_topic_exists(base_dir, "meta-t"));
    tide_err de = {0};
    TT_ASSERT_EQ_INT(tide_topic_delete(base_dir, "meta-t", &de), TIDE_ENOENT);
    TT_ASSERT_MSG(strstr(de.msg, "meta-t"), "%s", de.msg);
    tide_log_writer *w = NULL;
    tide_err oe = {0};
    TT_ASSERT_EQ_INT(tide_log_writer_open(&w, base_dir, "meta-t", NULL, &oe), TIDE_ENOENT);
}

static void test_second_writer_locked(void)
{
    TT_OK(lt_topic(base_dir, "locked", 2, 1 << 20, "never"));
    tide_err e = {0};
    tide_log_writer *w = NULL, *w2 = NULL;
    TT_OK(tide_log_writer_open(&w, base_dir, "locked", NULL, &e));
    tide_err le = {0};
    TT_ASSERT_EQ_INT(tide_log_writer_open(&w2, base_dir, "locked", NULL, &le), TIDE_ELOCKED);
    TT_ASSERT(w2 == NULL);
    TT_ASSERT_EQ_STR(le.msg, "topic locked is being written by another process");
    tide_err de = {0};
    TT_ASSERT_EQ_INT(tide_topic_delete(base_dir, "locked", &de), TIDE_ELOCKED);
    /* readers are welcome meanwhile */
    tide_log_reader *r = NULL;
    TT_OK(tide_log_reader_open(&r, base_dir, "locked", 1, &e));
    TT_OK(lt_append(w, 1, SEED, 0, 5, &e));
    tide_record rec;
    for (uint64_t i = 0; i < 5; i++) {
        TT_OK(tide_log_reader_next(r, &rec, &e));
        TT_ASSERT(lt_equal(&rec, SEED, i) && rec.partition == 1);
    }
    TT_ASSERT_EQ_INT(tide_log_reader_next(r, &rec, &e), TIDE_EAGAIN);
    tide_log_reader_close(r);
    TT_OK(tide_log_writer_close(w, &e));
    TT_OK(tide_log_writer_open(&w2, base_dir, "locked", NULL, &e));
    TT_ASSERT_EQ_INT(tide_log_writer_next(w2, 1), 5);
    TT_ASSERT_EQ_INT(tide_log_writer_next(w2, 0), 0);
    TT_OK(tide_log_writer_close(w2, &e));
    TT_OK(tide_log_writer_close(NULL, &e));
}

static void test_route(void)
{
    TT_OK(lt_topic(base_dir, "route", 7, 1 << 20, "never"));
    tide_err e = {0};
    tide_log_writer *w = NULL;
    TT_OK(tide_log_writer_open(&w, base_dir, "route", NULL, &e));
    TT_ASSERT_EQ_INT(tide_log_writer_partitions(w), 7);
    for (int i = 0; i < 100; i++) {
        char k[16];
        int n = snprintf(k, sizeof k, "user%d", i);
        TT_ASSERT_EQ_INT(tide_log_writer_route(w, k, (size_t)n), tide_hash_partition(k, (size_t)n, 7));
    }
    /* unkeyed: round robin, every partition once per 7 */
    int seen[7] = {0};
    for (int i = 0; i < 70; i++)
        seen[tide_log_writer_route(w, NULL, 0)]++;
    for (int p = 0; p < 7; p++)
        TT_ASSERT_EQ_INT(seen[p], 10);
    tide_err pe = {0};
    tide_record rec = {0};
    rec.value = "x";
    rec.value_len = 1;
    TT_ASSERT_EQ_INT(tide_log_append(w, 7, &rec, 1, NULL, &pe), TIDE_EINVAL);
    tide_record big = rec;
    big.value_len = (size_t)TIDE_BATCH_MAX; /* checked before anything is read */
    tide_err be = {0};
    TT_ASSERT_EQ_INT(tide_log_append(w, 6, &big, 1, NULL, &be), TIDE_ERANGE);
    TT_OK(tide_log_append(w, 6, &rec, 1, NULL, &e)); /* a bad argument does not fail the writer */
    TT_ASSERT_EQ_INT(tide_log_writer_next(w, 6), 1);
    TT_OK(tide_log_writer_close(w, &e));
}

/* synced(): always -> everything; never -> only what rolls or sync() made
 * durable; interval -> after the interval passed (fake clock). */
static void test_synced(void)
{
    tide_err e = {0};
    tide_clock_manual clk;
    tide_clock_manual_init(&clk, 5000);
    tide_log_writer_opts o = {0};
    o.clock = &clk.clock;
    const char *pol[] = {"always", "never", "interval:100"};
    const char *names[] = {"sync-a", "sync-n", "sync-i"};
    for (int k = 0; k < 3; k++) {
        TT_OK(lt_topic(base_dir, names[k], 1, 1 << 20, pol[k]));
        tide_log_writer *w = NULL;
        TT_OK(tide_log_writer_open(&w, base_dir, names[k], &o, &e));
        TT_ASSERT_EQ_INT(tide_log_writer_synced(w, 0), 0);
        uint64_t last_sync_at = (uint64_t)clk.now_ms, synced = 0; /* open fsyncs */
        for (uint64_t i = 0; i < 40; i += 2) {
            TT_OK(lt_append(w, 0, SEED, i, i + 2, &e));
            if (k == 0)
                synced = i + 2;
            if (k == 2 && clk.now_ms - (int64_t)last_sync_at >= 100) {
                synced = i + 2;
                last_sync_at = (uint64_t)clk.now_ms;
            }
            TT_ASSERT_EQ_INT(tide_log_writer_synced(w, 0), synced);
            TT_ASSERT_EQ_INT(tide_log_writer_next(w, 0), i + 2);
            clk.now_ms += 30;
        }
        TT_OK(tide_log_writer_sync(w, &e));
        TT_ASSERT_EQ_INT(tide_log_writer_synced(w, 0), 40);
        TT_OK(tide_log_writer_close(w, &e));
    }
}

static void test_describe(void)
{
    TT_OK(lt_topic(base_dir, "desc", 3, 900, "never"));
    tide_err e = {0};
    tide_log_writer *w = NULL;
    TT_OK(tide_log_writer_open(&w, base_dir, "desc", NULL, &e));
    uint64_t counts[3] = {0, 37, 5};
    for (uint32_t p = 0; p < 3; p++)
        for (uint64_t i = 0; i < counts[p]; i += 4)
            TT_OK(lt_append(w, p, SEED, i, i + 4 < counts[p] ? i + 4 : counts[p], &e));
    tide_partition_info *info = NULL;
    uint32_t n = 0;
    TT_OK(tide_topic_describe(base_dir, "desc", &info, &n, &e));
    TT_ASSERT_EQ_INT(n, 3);
    for (uint32_t p = 0; p < 3; p++) {
        int64_t lo = INT64_MAX, hi = INT64_MIN;
        for (uint64_t i = 0; i < counts[p]; i++) {
            lt_rec m;
            lt_model(SEED, i, &m);
            lo = m.ts < lo ? m.ts : lo;
            hi = m.ts > hi ? m.ts : hi;
        }
        char pdir[2048];
        snprintf(pdir, sizeof pdir, "%s/topics/desc/%u", base_dir, p);
        uint64_t segs[64];
        size_t ns = lt_segments(pdir, segs, 64);
        TT_ASSERT_EQ_INT(info[p].partition, p);
        TT_ASSERT_EQ_INT(info[p].first_offset, 0);
        TT_ASSERT_EQ_INT(info[p].next_offset, counts[p]);
        TT_ASSERT_EQ_INT(info[p].segments, ns);
        TT_ASSERT_EQ_INT(info[p].min_ts, lo);
        TT_ASSERT_EQ_INT(info[p].max_ts, hi);
        uint64_t bytes = 0;
        for (size_t k = 0; k < ns; k++) {
            char sp[4200];
            snprintf(sp, sizeof sp, "%s/%020" PRIu64 ".log", pdir, segs[k]);
            bytes += lt_size(sp);
        }
        TT_ASSERT_EQ_INT(info[p].bytes, bytes);
    }
    TT_ASSERT(info[1].segments > 1);
    free(info);
    TT_OK(tide_log_writer_close(w, &e));
}

static void test_groups(void)
{
    tide_err e = {0};
    uint64_t got[6];
    /* never committed: all none */
    TT_OK(tide_group_fetch(base_dir, "g1", "t", got, 6, &e));
    for (int i = 0; i < 6; i++)
        TT_ASSERT(got[i] == TIDE_GROUP_NONE);
    uint64_t seed = 77;
    for (int round = 0; round < 30; round++) {
        uint64_t want[6];
        for (int i = 0; i < 6; i++)
            want[i] = tt_rand(&seed) % 4 == 0 ? TIDE_GROUP_NONE : tt_rand(&seed) >> (tt_rand(&seed) % 64);
        if (want[0] == TIDE_GROUP_NONE)
            want[0] = 0;
        TT_OK(tide_group_commit(base_dir, "g1", "t", want, 6, &e));
        TT_OK(tide_group_fetch(base_dir, "g1", "t", got, 6, &e));
        for (int i = 0; i < 6; i++)
            TT_ASSERT_EQ_INT(got[i], want[i]);
        /* fewer partitions asked: a prefix */
        uint64_t few[2];
        TT_OK(tide_group_fetch(base_dir, "g1", "t", few, 2, &e));
        TT_ASSERT(few[0] == want[0] && few[1] == want[1]);
    }
    /* groups and topics are separate files */
    TT_OK(tide_group_fetch(base_dir, "g2", "t", got, 6, &e));
    TT_ASSERT(got[0] == TIDE_GROUP_NONE);
    /* a corrupt file is detected and named */
    char p[2048];
    snprintf(p, sizeof p, "%s/groups/g1/t.offsets", base_dir);
    size_t len;
    char *text = lt_read_file(p, &len);
    TT_ASSERT(text && !strncmp(text, "tide-offsets 1\n", 15));
    free(text);
    for (size_t bit = 0; bit < len * 8; bit += 3) {
        lt_flip(p, bit / 8, (unsigned)(bit % 8));
        tide_err ce = {0};
        TT_ASSERT_EQ_INT(tide_group_fetch(base_dir, "g1", "t", got, 6, &ce), TIDE_ECORRUPT);
        TT_ASSERT_MSG(strstr(ce.msg, p), "%s", ce.msg);
        lt_flip(p, bit / 8, (unsigned)(bit % 8));
    }
    TT_OK(tide_group_fetch(base_dir, "g1", "t", got, 6, &e));
    tide_err ne = {0};
    TT_ASSERT_EQ_INT(tide_group_commit(base_dir, "../x", "t", got, 6, &ne), TIDE_EINVAL);
}

int main(void)
{
    const char *d = tt_tmpdir("test_log_topic");
    if (!d)
        return 1;
    snprintf(base_dir, sizeof base_dir, "%s", d);
    TT_RUN(test_names);
    TT_RUN(test_fsync_policy);
    TT_RUN(test_create_list_delete_meta);
    TT_RUN(test_second_writer_locked);
    TT_RUN(test_route);
    TT_RUN(test_synced);
    TT_RUN(test_describe);
    TT_RUN(test_groups);
    TT_DONE();
}
