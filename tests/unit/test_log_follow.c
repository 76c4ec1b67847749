/*
 * A reader in another process follows a topic while it is written.
 *
 * The child process appends M records (from the deterministic generator of
 * log_gen.h) to three partitions in many small batches and a few large ones,
 * with a segment size small enough to roll many times.  Half-way it waits
 * until the parent has read everything so far and seen TIDE_EAGAIN (so the
 * "end, then more arrives" path is certain to run), then writes the rest
 * while the parent keeps polling.  The parent must see every record exactly
 * once, in offset order per partition, bit-exact, and nothing more; it
 * polls with ~1 ms naps between empty rounds under a hard deadline.
 */
#include "base/err.h"
#include "log/reader.h"
#include "log/topic.h"
#include "log/writer.h"
#include "log_gen.h"
#include "tt.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#define TOPIC "follow"
#define PARTS 3
#define M 30000
#define VAL_MAX 160
#define BIG_BATCH 600
#define SEED 20261125u
#define DEADLINE_S 60

typedef struct step {
    uint32_t part, n;
} step;

static step g_plan[M];
static size_t g_nsteps, g_half_steps;
static uint64_t g_half_count[PARTS], g_total[PARTS];

/* The append plan, computed identically in both processes. */
static void make_plan(uint64_t seed)
{
    uint64_t s = seed;
    uint64_t total = 0;
    g_nsteps = 0;
    g_half_steps = 0;
    memset(g_half_count, 0, sizeof g_half_count);
    memset(g_total, 0, sizeof g_total);
    while (total < M) {
        uint64_t r = tt_rand(&s);
        uint32_t n = r % 97 == 0 ? BIG_BATCH : 1 + (uint32_t)((r >> 8) % 16);
        if (n > M - total)
            n = (uint32_t)(M - total);
        uint32_t p = (uint32_t)((r >> 32) % PARTS);
        g_plan[g_nsteps++] = (step){p, n};
        total += n;
        g_total[p] += n;
        if (!g_half_steps && total >= M / 2) {
            g_half_steps = g_nsteps;
            memcpy(g_half_count, g_total, sizeof g_half_count);
        }
    }
}

static void quiet_report(void *ctx, const char *msg)
{
    (void)ctx;
    (void)msg;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void nap_1ms(void)
{
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
}

/* The child: append the plan, pausing half-way for the parent's go. */
static int child_main(const char *dir, int go_fd)
{
    tide_err e = {0};
    tide_log_writer *w = NULL;
    int rc = tide_log_writer_open(&w, dir, TOPIC,
                                  &(tide_log_writer_opts){.report = quiet_report}, &e);
    if (rc) {
        fprintf(stderr, "child: writer open: %s\n", e.msg);
        return 1;
    }
    static log_gen_rec g[BIG_BATCH];
    static tide_record recs[BIG_BATCH];
    uint64_t next[PARTS] = {0};
    for (size_t k = 0; k < g_nsteps && !rc; k++) {
        if (k == g_half_steps) {
            char c;
            ssize_t got;
            do
                got = read(go_fd, &c, 1);
            while (got < 0 && errno == EINTR);
            if (got != 1) {
                fprintf(stderr, "child: no go from the parent\n");
                rc = 1;
                break;
            }
        }
        uint32_t p = g_plan[k].part, n = g_plan[k].n;
        for (uint32_t j = 0; j < n; j++) {
            log_gen(p, next[p] + j, VAL_MAX, &g[j]);
            recs[j] = log_gen_record(&g[j]);
        }
        uint64_t first = UINT64_MAX;
        rc = tide_log_append(w, p, recs, n, &first, &e);
        if (rc) {
            fprintf(stderr, "child: append: %s\n", e.msg);
            break;
        }
        if (first != next[p]) {
            fprintf(stderr, "child: partition %u: first offset %llu, expected %llu\n", p,
                    (unsigned long long)first, (unsigned long long)next[p]);
            rc = 1;
            break;
        }
        next[p] += n;
    }
    int crc = tide_log_writer_close(w, &e);
    if (crc && !rc)
        fprintf(stderr, "child: close: %s\n", e.msg);
    return rc || crc ? 1 : 0;
}

static void follow(uint64_t segment_bytes)
{
    const char *dir = tt_tmpdir("test_log_follow");
    TT_ASSERT(dir != NULL);
    make_plan(SEED);
    TT_ASSERT(g_half_steps > 0 && g_half_steps < g_nsteps);

    tide_topic_config cfg;
    tide_topic_config_default(&cfg);
    cfg.partitions = PARTS;
    cfg.segment_bytes = segment_bytes;
    cfg.fsync = TIDE_FSYNC_NEVER;
    tide_err e = {0};
    TT_OK(tide_topic_create(dir, TOPIC, &cfg, &e));

    int go[2];
    TT_ASSERT(pipe(go) == 0);
    fflush(NULL);
    pid_t pid = fork();
    TT_ASSERT(pid >= 0);
    if (pid == 0) {
        close(go[1]);
        _exit(child_main(dir, go[0]));
    }
    close(go[0]);

    tide_log_reader *r[PARTS] = {0};
    uint64_t count[PARTS] = {0};
    uint64_t total = 0;
    bool go_sent = false, child_done = false, ok = true;
    int child_status = 0;
    int64_t deadline = mono_ms() + DEADLINE_S * 1000;
    char why[1200] = "";
    long empty_polls = 0;

    for (uint32_t p = 0; p < PARTS && ok; p++) {
        int rc = tide_log_reader_open(&r[p], dir, TOPIC, p, &e);
        if (rc) {
            snprintf(why, sizeof why, "reader open partition %u: %s", p, e.msg);
            ok = false;
        }
    }
    while (ok && total < M) {
        bool any = false, all_eagain = true;
        for (uint32_t p = 0; p < PARTS && ok; p++) {
            for (int burst = 0; burst < 512; burst++) {
                tide_record rec;
                tide_err_clear(&e);
                int rc = tide_log_reader_next(r[p], &rec, &e);
                if (rc == TIDE_EAGAIN)
                    break;
                if (rc) {
                    snprintf(why, sizeof why, "partition %u after %llu records: %s: %s", p,
                             (unsigned long long)count[p], tide_err_name(rc), e.msg);
                    ok = false;
                    break;
                }
                char m[300];
                if (count[p] >= g_total[p]) {
                    snprintf(why, sizeof why, "partition %u: record at offset %llu beyond the %llu "
                             "appended", p, (unsigned long long)rec.offset,
                             (unsigned long long)g_total[p]);
                    ok = false;
                    break;
                }
                if (rec.partition != p || !log_gen_check(&rec, p, count[p], VAL_MAX, m, sizeof m)) {
                    snprintf(why, sizeof why, "%s (partition field %u)", m, rec.partition);
                    ok = false;
                    break;
                }
                count[p]++;
                total++;
                any = true;
                if (burst == 511)
                    all_eagain = false;
            }
        }
        if (!ok)
            break;
        if (!go_sent && all_eagain) {
            bool half = true;
            for (uint32_t p = 0; p < PARTS; p++)
                half = half && count[p] == g_half_count[p];
            if (half) {
                if (write(go[1], "g", 1) != 1) {
                    snprintf(why, sizeof why, "cannot signal the child");
                    ok = false;
                    break;
                }
                go_sent = true;
                continue;
            }
        }
        if (any)
            continue;
        empty_polls++;
        if (!child_done) {
            pid_t wp = waitpid(pid, &child_status, WNOHANG);
            if (wp == pid) {
                child_done = true;
                continue; /* drain once more before judging */
            }
        } else {
            snprintf(why, sizeof why, "the child exited (status %d) and only %llu of %d records "
                     "are readable", child_status, (unsigned long long)total, M);
            ok = false;
            break;
        }
        if (mono_ms() > deadline) {
            snprintf(why, sizeof why, "deadline: %llu of %d records after %d s",
                     (unsigned long long)total, M, DEADLINE_S);
            ok = false;
            break;
        }
        if (empty_polls % 64 == 0)
            sched_yield();
        else
            nap_1ms();
    }
    close(go[1]);

    /* Reap the child (bounded), then nothing more may be readable. */
    while (!child_done) {
        pid_t wp = waitpid(pid, &child_status, WNOHANG);
        if (wp == pid) {
            child_done = true;
            break;
        }
        if (mono_ms() > deadline + 5000) {
            kill(pid, SIGKILL);
            waitpid(pid, &child_status, 0);
            child_done = true;
            if (ok)
                snprintf(why, sizeof why, "the child did not finish in time");
            ok = false;
            break;
        }
        nap_1ms();
    }
    if (ok && !(WIFEXITED(child_status) && WEXITSTATUS(child_status) == 0)) {
        snprintf(why, sizeof why, "the child failed (status %d)", child_status);
        ok = false;
    }
    for (uint32_t p = 0; p < PARTS && ok; p++) {
        tide_record rec;
        int rc = tide_log_reader_next(r[p], &rec, &e);
        if (rc != TIDE_EAGAIN || count[p] != g_total[p]) {
            snprintf(why, sizeof why, "partition %u: %llu records read of %llu, then %s", p,
                     (unsigned long long)count[p], (unsigned long long)g_total[p],
                     tide_err_name(rc));
            ok = false;
        }
    }
    for (uint32_t p = 0; p < PARTS; p++)
        tide_log_reader_close(r[p]);
    if (!ok)
        TT_SEED(SEED);
    TT_ASSERT_MSG(ok, "%s", why);
    TT_ASSERT(go_sent);
    fprintf(stderr, "  segments of %llu bytes: %d records in %zu appends, %ld empty polls\n",
            (unsigned long long)segment_bytes, M, g_nsteps, empty_polls);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    TT_ASSERT(system(cmd) == 0);
}

/* ~1 MB per partition: dozens of rolls; the large batches exceed a segment */
static void test_follow_from_another_process(void) { follow(32 * 1024); }
/* hundreds of rolls: most reads race with one */
static void test_follow_tiny_segments(void) { follow(4 * 1024); }

int main(void)
{
    TT_RUN(test_follow_from_another_process);
    TT_RUN(test_follow_tiny_segments);
    TT_DONE();
}
