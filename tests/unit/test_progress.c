/* Unit tests of job/progress: the records a bounded run will read (a small
 * file exactly, with and without a header and a final newline; a large
 * file estimated within 1% of the lines the test wrote; a topic's records
 * exactly; stdin unknown) and the progress line (numbers worked out by
 * hand: rate, percentage, ETA, an estimate that was too low). */
#include "job/progress.h"
#include "log_tt.h"
#include "tt.h"

static void write_lines(const char *path, uint64_t n, bool final_newline, uint64_t *seed)
{
    FILE *f = fopen(path, "w");
    for (uint64_t i = 0; i < n; i++)
        fprintf(f, "2026-01-01 00:00:%02u.%03u,%" PRIu64 ",%s%s", (unsigned)(i % 60), (unsigned)(i % 1000),
                tt_rand(seed) % 100000, i % 3 ? "DE" : "somewhere-else",
                i + 1 < n || final_newline ? "\n" : "");
    fclose(f);
}

static void test_sources(void)
{
    const char *dir = tt_tmpdir("test_progress");
    TT_ASSERT(dir);
    char small[4200], big[4200];
    snprintf(small, sizeof small, "%s/small.csv", dir);
    snprintf(big, sizeof big, "%s/big.csv", dir);
    uint64_t seed = tt_seed(11);
    tide_err e = {0};
    tide_src_config c;
    tide_src_config_init(&c);
    c.kind = TIDE_SRC_FILE;

    static const struct {
        uint64_t n;
        bool newline, header;
        uint64_t want;
    } small_cases[] = {{100, true, false, 100}, {100, false, false, 100}, {100, true, true, 99}, {0, true, false, 0}};
    for (size_t i = 0; i < sizeof small_cases / sizeof small_cases[0]; i++) {
        write_lines(small, small_cases[i].n, small_cases[i].newline, &seed);
        tide_progress p;
        tide_progress_init(&p);
        c.path = "small.csv"; /* relative: against base_dir */
        c.header = small_cases[i].header;
        TT_OK(tide_progress_add_source(&p, &c, dir, NULL, &e));
        TT_ASSERT_MSG(p.total == small_cases[i].want && p.known && !p.estimated, "case %zu: %" PRIu64, i, p.total);
    }

    const uint64_t n = 200000;
    write_lines(big, n, true, &seed);
    tide_progress p;
    tide_progress_init(&p);
    c.path = big;
    c.header = false;
    TT_OK(tide_progress_add_source(&p, &c, "/nonexistent", NULL, &e));
    TT_ASSERT(p.known && p.estimated);
    TT_ASSERT_MSG(p.total > n * 99 / 100 && p.total < n * 101 / 100, "estimate %" PRIu64 " for %" PRIu64, p.total, n);

    /* a topic: exact, added to the file's estimate */
    TT_OK(lt_topic(dir, "t", 2, 1 << 20, NULL));
    tide_log_writer *w = NULL;
    TT_OK(tide_log_writer_open(&w, dir, "t", NULL, &e));
    TT_OK(lt_append(w, 0, 1, 0, 30, &e));
    TT_OK(lt_append(w, 1, 1, 0, 12, &e));
    TT_OK(tide_log_writer_close(w, &e));
    tide_src_config tc;
    tide_src_config_init(&tc);
    tc.kind = TIDE_SRC_TOPIC;
    tc.topic = "t";
    uint64_t before = p.total;
    TT_OK(tide_progress_add_source(&p, &tc, NULL, dir, &e));
    TT_ASSERT_EQ_INT(p.total - before, 42);

    /* stdin: unknown; a missing file: an error naming it */
    tide_src_config sc;
    tide_src_config_init(&sc);
    sc.kind = TIDE_SRC_STDIN;
    TT_OK(tide_progress_add_source(&p, &sc, NULL, NULL, &e));
    TT_ASSERT(!p.known);
    c.path = "missing.csv";
    TT_ASSERT(tide_progress_add_source(&p, &c, dir, NULL, &e) != 0);
    TT_ASSERT(strstr(e.msg, "missing.csv") != NULL);
}

static void test_line(void)
{
    char line[128];
    tide_progress p = {.total = 2469134, .known = true};
    tide_progress_line(&p, 1234567, 3000, line, sizeof line);
    TT_ASSERT_EQ_STR(line, "1,234,567 records  411,522/s  50%  ETA 0:03");
    p.estimated = true;
    tide_progress_line(&p, 1234567, 3000, line, sizeof line);
    TT_ASSERT_EQ_STR(line, "1,234,567 records  411,522/s  ~50%  ETA 0:03");
    /* an estimate below what was read: 100%, nothing left */
    tide_progress_line(&p, 3000000, 3000, line, sizeof line);
    TT_ASSERT_EQ_STR(line, "3,000,000 records  1,000,000/s  ~100%  ETA 0:00");
    /* hours */
    tide_progress q = {.total = 10, .known = true};
    tide_progress_line(&q, 1, 3600000, line, sizeof line);
    TT_ASSERT_EQ_STR(line, "1 records  0/s  10%  ETA 9:00:00");
    /* nothing read yet: no rate, no ETA */
    tide_progress_line(&q, 0, 0, line, sizeof line);
    TT_ASSERT_EQ_STR(line, "0 records  0/s  0%  ETA --:--");
    /* unknown total */
    q.known = false;
    tide_progress_line(&q, 999, 1000, line, sizeof line);
    TT_ASSERT_EQ_STR(line, "999 records  999/s");
    /* a short buffer: cut, still a string */
    char tiny[8];
    tide_progress_line(&p, 1234567, 3000, tiny, sizeof tiny);
    TT_ASSERT(strlen(tiny) < sizeof tiny);
}

int main(void)
{
    TT_RUN(test_sources);
    TT_RUN(test_line);
    TT_DONE();
}
