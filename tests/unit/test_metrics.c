/* Unit tests of server/metrics: the Prometheus text rendering of a snapshot.
 * The expected sample lines are written out by hand from the format's
 * specification (names, labels, escaping, exact seconds); a structural
 * check walks every line: each sample's family was announced by HELP and
 * TYPE just before its group, no family appears in two groups, every label
 * value is a well-escaped string.  (tests/e2e/metrics.sh parses a real
 * server's output with prometheus_client's parser.) */
#include "log_tt.h"
#include "server/metrics.h"
#include "tt.h"

static bool has_line(const tide_buf *b, const char *line)
{
    size_t n = strlen(line);
    const char *s = (const char *)b->data, *end = s + b->len;
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        size_t ln = nl ? (size_t)(nl - s) : (size_t)(end - s);
        if (ln == n && memcmp(s, line, n) == 0)
            return true;
        s += ln + 1;
    }
    return false;
}

static bool has_prefix_line(const tide_buf *b, const char *prefix)
{
    size_t n = strlen(prefix);
    const char *s = (const char *)b->data, *end = s + b->len;
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        size_t ln = nl ? (size_t)(nl - s) : (size_t)(end - s);
        if (ln >= n && memcmp(s, prefix, n) == 0)
            return true;
        s += ln + 1;
    }
    return false;
}

/* The structure of the exposition: returns NULL or what is wrong. */
static const char *check_structure(const tide_buf *b, int *nsamples)
{
    static char why[512];
    char families[64][64];
    int nfam = 0;
    char cur[64] = "";
    bool typed = false;
    *nsamples = 0;
    const char *s = (const char *)b->data, *end = s + b->len;
    if (b->len == 0 || end[-1] != '\n')
        return "does not end with a newline";
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        size_t ln = (size_t)(nl - s);
        char line[1024];
        if (ln >= sizeof line)
            return "line too long";
        memcpy(line, s, ln);
        line[ln] = 0;
        s = nl + 1;
        char name[64];
        if (strncmp(line, "# HELP ", 7) == 0) {
            if (sscanf(line + 7, "%63s", name) != 1)
                return "bad HELP";
            for (int i = 0; i < nfam; i++)
                if (strcmp(families[i], name) == 0) {
                    snprintf(why, sizeof why, "family %s announced twice", name);
                    return why;
                }
            if (nfam == 64)
                return "too many families";
            snprintf(families[nfam++], 64, "%s", name);
            snprintf(cur, sizeof cur, "%s", name);
            typed = false;
            continue;
        }
        if (strncmp(line, "# TYPE ", 7) == 0) {
            char type[32];
            if (sscanf(line + 7, "%63s %31s", name, type) != 2 || strcmp(name, cur) != 0)
                return "TYPE does not follow its HELP";
            if (strcmp(type, "counter") && strcmp(type, "gauge"))
                return "unknown TYPE";
            if (strcmp(type, "counter") == 0 && (strlen(name) < 6 || strcmp(name + strlen(name) - 6, "_total")))
                return "a counter not named *_total";
            typed = true;
            continue;
        }
        if (line[0] == '#')
            return "unexpected comment";
        /* a sample: name[{k="v",...}] value */
        size_t i = strspn(line, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_:");
        if (i == 0 || i >= sizeof name)
            return "a sample without a name";
        memcpy(name, line, i);
        name[i] = 0;
        if (strcmp(name, cur) != 0 || !typed) {
            snprintf(why, sizeof why, "sample of %s outside its family's group: %.120s", name, line);
            return why;
        }
        if (line[i] == '{') {
            i++;
            while (line[i] != '}') {
                size_t k = strspn(line + i, "abcdefghijklmnopqrstuvwxyz_");
                if (k == 0 || line[i + k] != '=' || line[i + k + 1] != '"')
                    return "bad label";
                i += k + 2;
                while (line[i] != '"') {
                    if (!line[i] || line[i] == '\n')
                        return "unterminated label value";
                    if (line[i] == '\\') {
                        if (!strchr("\\\"n", line[i + 1]))
                            return "bad escape in a label value";
                        i++;
                    }
                    i++;
                }
                i++;
                if (line[i] == ',')
                    i++;
                else if (line[i] != '}')
                    return "bad label list";
            }
            i++;
        }
        if (line[i] != ' ')
            return "no space before the value";
        char *endp;
        const char *val = line + i + 1;
        if (strcmp(val, "NaN") && strcmp(val, "+Inf") && strcmp(val, "-Inf")) {
            strtod(val, &endp);
            if (endp == val || *endp)
                return "value is not a number";
        }
        (*nsamples)++;
    }
    return NULL;
}

static void test_render(void)
{
    tide_srv_version_snap dau[2] = {
        {.version = 1,
         .state = "retired",
         .records_in = 1000,
         .records_out = 12,
         .late = 3,
         .bad = 1,
         .rate = 0,
         .lag_records = 0,
         .lag_ms = 0,
         .watermark_ms = 1704067200123,
         .ckpt_id = 17,
         .ckpt_time_ms = 1765000000001,
         .ckpt_duration_ms = 42,
         .ckpt_bytes = 4096,
         .state_bytes = 1 << 20,
         .restarts = 2},
        {.version = 2,
         .state = "catching-up",
         .records_in = 18446744073709551615ull,
         .rate = 2500.5,
         .lag_records = 77,
         .lag_ms = 1500,
         .watermark_ms = TIDE_SRV_UNKNOWN,
         .ckpt_id = 0,
         .ckpt_bytes = 999},
    };
    tide_srv_version_snap odd[1] = {
        {.version = 1, .state = "failed", .lag_records = TIDE_SRV_UNKNOWN, .lag_ms = -1500,
         .watermark_ms = -1, .rate = 0.1},
    };
    tide_srv_job_snap jobs[2] = {
        {.name = "dau", .live = 1, .versions = dau, .nversions = 2},
        {.name = "we\"ird\\job\nx", .live = 0, .versions = odd, .nversions = 1},
    };
    tide_srv_partition_snap parts[2] = {{0, 0, 500, 65536}, {1, 10, 499, 60000}};
    tide_srv_topic_snap topics[1] = {{.name = "logins", .parts = parts, .nparts = 2}};
    tide_srv_snapshot snap = {.now_ms = 1704067260123, .jobs = jobs, .njobs = 2, .topics = topics, .ntopics = 1};

    tide_buf b = {0};
    tide_err e = {0};
    TT_OK(tide_buf_printf(&b, "PREFIX"));
    tide_buf_reset(&b);
    TT_OK(tide_srv_metrics(&snap, &b, &e));
    int n;
    const char *why = check_structure(&b, &n);
    TT_ASSERT_MSG(why == NULL, "%s\n%.*s", why, (int)b.len, (const char *)b.data);

    static const char *want[] = {
        "tide_up 1",
        "tide_job_live_version{job=\"dau\"} 1",
        "tide_job_live_version{job=\"we\\\"ird\\\\job\\nx\"} 0",
        "tide_version_state{job=\"dau\",version=\"1\",state=\"retired\"} 1",
        "tide_version_state{job=\"dau\",version=\"2\",state=\"catching-up\"} 1",
        "tide_version_state{job=\"we\\\"ird\\\\job\\nx\",version=\"1\",state=\"failed\"} 1",
        "tide_records_in_total{job=\"dau\",version=\"1\"} 1000",
        "tide_records_in_total{job=\"dau\",version=\"2\"} 18446744073709551615",
        "tide_records_out_total{job=\"dau\",version=\"1\"} 12",
        "tide_records_late_total{job=\"dau\",version=\"1\"} 3",
        "tide_records_bad_total{job=\"dau\",version=\"1\"} 1",
        "tide_records_per_second{job=\"dau\",version=\"2\"} 2500.5",
        "tide_lag_records{job=\"dau\",version=\"2\"} 77",
        "tide_lag_seconds{job=\"dau\",version=\"2\"} 1.500",
        "tide_lag_seconds{job=\"we\\\"ird\\\\job\\nx\",version=\"1\"} -1.500",
        "tide_watermark_seconds{job=\"dau\",version=\"1\"} 1704067200.123",
        "tide_watermark_seconds{job=\"we\\\"ird\\\\job\\nx\",version=\"1\"} -0.001",
        "tide_watermark_delay_seconds{job=\"dau\",version=\"1\"} 60",
        "tide_checkpoint_id{job=\"dau\",version=\"1\"} 17",
        "tide_checkpoint_timestamp_seconds{job=\"dau\",version=\"1\"} 1765000000.001",
        "tide_checkpoint_duration_seconds{job=\"dau\",version=\"1\"} 0.042",
        "tide_checkpoint_size_bytes{job=\"dau\",version=\"1\"} 4096",
        "tide_state_size_bytes{job=\"dau\",version=\"1\"} 1048576",
        "tide_restarts_total{job=\"dau\",version=\"1\"} 2",
        "tide_topic_start_offset{topic=\"logins\",partition=\"1\"} 10",
        "tide_topic_end_offset{topic=\"logins\",partition=\"0\"} 500",
        "tide_topic_size_bytes{topic=\"logins\",partition=\"1\"} 60000",
        "# TYPE tide_records_in_total counter",
        "# TYPE tide_lag_records gauge",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        TT_ASSERT_MSG(has_line(&b, want[i]), "missing line: %s\n%.*s", want[i], (int)b.len, (const char *)b.data);
    /* unknown values have no sample at all */
    static const char *absent[] = {
        "tide_watermark_seconds{job=\"dau\",version=\"2\"}",
        "tide_watermark_delay_seconds{job=\"dau\",version=\"2\"}",
        "tide_lag_records{job=\"we",
        "tide_checkpoint_id{job=\"dau\",version=\"2\"}",
        "tide_checkpoint_size_bytes{job=\"dau\",version=\"2\"}",
    };
    for (size_t i = 0; i < sizeof absent / sizeof absent[0]; i++)
        TT_ASSERT_MSG(!has_prefix_line(&b, absent[i]), "unexpected sample: %s", absent[i]);
    /* the always-known families (in, out, late, bad, rate, state size,
     * restarts) for 3 versions, then states 3, live 2, up 1, lag_records 2,
     * lag_seconds 3, watermark 2, delay 2, checkpoint 4, topics 3 x 2 */
    TT_ASSERT_EQ_INT(n, 3 * 7 + 3 + 2 + 1 + 2 + 3 + 2 + 2 + 4 + 6);

    /* an empty server still renders valid text */
    tide_srv_snapshot empty = {.now_ms = 1};
    tide_buf_reset(&b);
    TT_OK(tide_srv_metrics(&empty, &b, &e));
    TT_ASSERT(check_structure(&b, &n) == NULL);
    TT_ASSERT_EQ_INT(n, 1);
    tide_buf_free(&b);
}

/* The topics of a data directory: offsets and bytes as written (the counts
 * the test appended), a deleted topic left out. */
static void test_topics_load(void)
{
    const char *dir = tt_tmpdir("test_metrics_topics");
    TT_ASSERT(dir);
    TT_OK(lt_topic(dir, "a", 3, 1 << 20, NULL));
    TT_OK(lt_topic(dir, "b", 1, 1 << 20, NULL));
    TT_OK(lt_topic(dir, "gone", 1, 1 << 20, NULL));
    tide_err e = {0};
    tide_log_writer *w = NULL;
    TT_OK(tide_log_writer_open(&w, dir, "a", NULL, &e));
    static const uint64_t counts[3] = {10, 0, 257};
    for (uint32_t p = 0; p < 3; p++)
        if (counts[p])
            TT_OK(lt_append(w, p, 1, 0, counts[p], &e));
    TT_OK(tide_log_writer_close(w, &e));
    TT_OK(tide_topic_delete(dir, "gone", &e));

    tide_srv_topic_snap *t = NULL;
    size_t n = 0;
    TT_OK(tide_srv_topics_load(dir, &t, &n, &e));
    TT_ASSERT_EQ_INT(n, 2);
    const tide_srv_topic_snap *a = strcmp(t[0].name, "a") == 0 ? &t[0] : &t[1];
    const tide_srv_topic_snap *b = a == &t[0] ? &t[1] : &t[0];
    TT_ASSERT_EQ_STR(a->name, "a");
    TT_ASSERT_EQ_STR(b->name, "b");
    TT_ASSERT_EQ_INT(a->nparts, 3);
    TT_ASSERT_EQ_INT(b->nparts, 1);
    for (uint32_t p = 0; p < 3; p++) {
        TT_ASSERT_EQ_INT(a->parts[p].partition, p);
        TT_ASSERT_EQ_INT(a->parts[p].start_offset, 0);
        TT_ASSERT_EQ_INT(a->parts[p].end_offset, counts[p]);
        TT_ASSERT(counts[p] ? a->parts[p].bytes > counts[p] * 8 : true);
    }
    TT_ASSERT_EQ_INT(b->parts[0].end_offset, 0);
    /* rendered */
    tide_srv_snapshot snap = {.now_ms = 0, .topics = t, .ntopics = n};
    tide_buf out = {0};
    TT_OK(tide_srv_metrics(&snap, &out, &e));
    TT_ASSERT(has_line(&out, "tide_topic_end_offset{topic=\"a\",partition=\"2\"} 257"));
    tide_buf_free(&out);
    tide_srv_topics_free(t, n);
}

int main(void)
{
    TT_RUN(test_render);
    TT_RUN(test_topics_load);
    TT_DONE();
}
