/* test_ckpt.c - a job's checkpoints on disk (state/ckpt.h), against a model
 * of which checkpoints exist:
 *
 *   test_write_keep_latest   ids increase, the newest `keep` stay, the
 *                            newest comes back byte for byte
 *   test_damage_falls_back   a damaged state or manifest of the newest is
 *                            reported and skipped: the one before it counts
 *   test_other_plan_refused  a checkpoint of another plan is refused,
 *                            naming both fingerprints
 *   test_leftovers           temporaries and states without a manifest are
 *                            removed at open, and reported
 *   test_fault_points        each step failing (EIO, ENOSPC) or killing the
 *                            process (SIGKILL in a child): the newest
 *                            complete checkpoint is the one before, or the
 *                            new one once its manifest is written; none is
 *                            deleted before a newer one is complete
 *   test_fault_spec          base/fault.h's TIDE_FAULT list
 *   test_power_loss          a power loss at every write of a checkpoint
 *                            (base/io.h's simulator): after it, the newest
 *                            checkpoint is complete and verifies, and it is
 *                            the previous or the new one */
#include "base/fault.h"
#include "base/io.h"
#include "state/ckpt.h"
#include "tt.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static char g_base[4096];

typedef struct reports {
    int n;
    char last[1024];
} reports;

static void on_report(void *ctx, const char *msg)
{
    reports *r = ctx;
    r->n++;
    snprintf(r->last, sizeof r->last, "%s", msg);
}

/* The state of checkpoint id: bytes a function of it. */
static size_t state_of(int64_t id, unsigned char *buf)
{
    size_t n = 100 + (size_t)(id * 37 % 900);
    for (size_t i = 0; i < n; i++)
        buf[i] = (unsigned char)(id * 131 + (int64_t)i * 7);
    return n;
}

static int write_id(tide_ckpt_dir *d, int64_t id, uint64_t plan, tide_err *e)
{
    unsigned char buf[1100];
    size_t n = state_of(id, buf);
    tide_ckpt_meta m = {.id = id, .plan = plan};
    snprintf(m.info, sizeof m.info, "positions: in 0:%lld; watermark %lld", (long long)id * 10,
             (long long)id * 1000);
    return tide_ckpt_write(d, &m, buf, n, e);
}

/* The newest checkpoint is `id` with its exact state. */
static bool latest_is(tide_ckpt_dir *d, int64_t id)
{
    tide_ckpt_meta m;
    tide_buf b = {0};
    tide_err e = {0};
    unsigned char want[1100];
    size_t n = state_of(id, want);
    int rc = tide_ckpt_latest(d, 0, &m, &b, &e);
    bool ok = rc == 0 && m.id == id && b.len == n && memcmp(b.data, want, n) == 0 &&
              m.state_bytes == n && m.time_ms > 0 && strstr(m.info, "positions: in 0:");
    if (!ok)
        fprintf(stderr, "  latest: rc %d id %lld (want %lld) %s\n", rc, (long long)m.id,
                (long long)id, e.msg);
    tide_buf_free(&b);
    return ok;
}

static void test_write_keep_latest(void)
{
    tide_ckpt_dir *d = NULL;
    tide_err e = {0};
    TT_OK(tide_ckpt_open(&d, g_base, "keep", 3, NULL, NULL, &e));
    tide_ckpt_meta m;
    TT_ASSERT_EQ_INT(tide_ckpt_latest(d, 0, &m, NULL, &e), TIDE_ENOENT);
    for (int64_t id = 1; id <= 5; id++) {
        TT_OK(write_id(d, id, 0xabcull, &e));
        TT_ASSERT(latest_is(d, id));
    }
    tide_ckpt_meta *v = NULL;
    size_t n = 0;
    TT_OK(tide_ckpt_list(d, &v, &n, &e));
    TT_ASSERT(n == 3 && v[0].id == 3 && v[1].id == 4 && v[2].id == 5 && v[2].plan == 0xabcull);
    free(v);
    tide_err we = {0};
    TT_ASSERT_EQ_INT(write_id(d, 5, 0xabcull, &we), TIDE_EINVAL); /* not newer */
    TT_ASSERT_MSG(strstr(we.msg, "not newer"), "%s", we.msg);
    TT_ASSERT_EQ_INT(write_id(d, 2, 0xabcull, &we), TIDE_EINVAL);
    TT_OK(write_id(d, 9, 0xabcull, &e)); /* gaps are fine */
    TT_ASSERT(latest_is(d, 9));
    tide_ckpt_close(d);
    TT_ASSERT_EQ_INT(tide_ckpt_open(&d, g_base, "a/b", 3, NULL, NULL, &we), TIDE_EINVAL);
    TT_ASSERT_EQ_INT(tide_ckpt_open(&d, g_base, "..", 3, NULL, NULL, &we), TIDE_EINVAL);
}

static void flip(const char *path, long at)
{
    FILE *f = fopen(path, "r+b");
    TT_ASSERT(f);
    if (at < 0) {
        fseek(f, 0, SEEK_END);
        at += ftell(f);
    }
    fseek(f, at, SEEK_SET);
    int c = fgetc(f);
    fseek(f, at, SEEK_SET);
    fputc(c ^ 0x10, f);
    fclose(f);
}

static void test_damage_falls_back(void)
{
    tide_ckpt_dir *d = NULL;
    tide_err e = {0};
    reports r = {0};
    TT_OK(tide_ckpt_open(&d, g_base, "damage", 5, on_report, &r, &e));
    for (int64_t id = 1; id <= 4; id++)
        TT_OK(write_id(d, id, 7, &e));
    char p[8192];
    snprintf(p, sizeof p, "%s/jobs/damage/checkpoints/%020d.state", g_base, 4);
    flip(p, 50);
    TT_ASSERT(latest_is(d, 3));
    TT_ASSERT_MSG(r.n == 1 && strstr(r.last, "skipping checkpoint 4") &&
                      strstr(r.last, "checksum mismatch"),
                  "%s", r.last);
    snprintf(p, sizeof p, "%s/jobs/damage/checkpoints/%020d.manifest", g_base, 3);
    flip(p, 20);
    TT_ASSERT(latest_is(d, 2));
    TT_ASSERT_MSG(strstr(r.last, "skipping checkpoint 3") && strstr(r.last, "manifest"), "%s",
                  r.last);
    snprintf(p, sizeof p, "%s/jobs/damage/checkpoints/%020d.state", g_base, 2);
    TT_ASSERT_EQ_INT(truncate(p, 10), 0);
    TT_ASSERT(latest_is(d, 1));
    tide_ckpt_meta *v = NULL;
    size_t n = 0;
    TT_OK(tide_ckpt_list(d, &v, &n, &e));
    TT_ASSERT(n == 1 && v[0].id == 1);
    free(v);
    /* a new checkpoint goes after the damaged ones */
    tide_err we = {0};
    TT_ASSERT_EQ_INT(write_id(d, 4, 7, &we), TIDE_EINVAL);
    TT_OK(write_id(d, 5, 7, &e));
    TT_ASSERT(latest_is(d, 5));
    tide_ckpt_close(d);
}

static void test_other_plan_refused(void)
{
    tide_ckpt_dir *d = NULL;
    tide_err e = {0};
    TT_OK(tide_ckpt_open(&d, g_base, "plan", 2, NULL, NULL, &e));
    TT_OK(write_id(d, 1, 0x1111, &e));
    tide_ckpt_meta m;
    TT_OK(tide_ckpt_latest(d, 0x1111, &m, NULL, &e));
    tide_err pe = {0};
    tide_buf b = {0};
    TT_ASSERT_EQ_INT(tide_ckpt_latest(d, 0x2222, &m, &b, &pe), TIDE_EINVAL);
    TT_ASSERT_MSG(strstr(pe.msg, "another plan") && strstr(pe.msg, "0000000000001111") &&
                      strstr(pe.msg, "0000000000002222") && b.len == 0,
                  "%s", pe.msg);
    tide_ckpt_close(d);
}

static void touch(const char *path)
{
    FILE *f = fopen(path, "w");
    TT_ASSERT(f);
    fputs("partial", f);
    fclose(f);
}

static void test_leftovers(void)
{
    tide_ckpt_dir *d = NULL;
    tide_err e = {0};
    reports r = {0};
    TT_OK(tide_ckpt_open(&d, g_base, "left", 2, NULL, NULL, &e));
    TT_OK(write_id(d, 1, 1, &e));
    tide_ckpt_close(d);
    char p[8192];
    snprintf(p, sizeof p, "%s/jobs/left/checkpoints/%020d.state", g_base, 2);
    touch(p);
    snprintf(p, sizeof p, "%s/jobs/left/checkpoints/%020d.state.tmp", g_base, 3);
    touch(p);
    snprintf(p, sizeof p, "%s/jobs/left/checkpoints/%020d.manifest.tmp", g_base, 2);
    touch(p);
    TT_OK(tide_ckpt_open(&d, g_base, "left", 2, on_report, &r, &e));
    TT_ASSERT_EQ_INT(r.n, 3);
    TT_ASSERT(access(p, F_OK) != 0);
    snprintf(p, sizeof p, "%s/jobs/left/checkpoints/%020d.state", g_base, 2);
    TT_ASSERT(access(p, F_OK) != 0);
    TT_ASSERT(latest_is(d, 1));
    TT_OK(write_id(d, 2, 1, &e));
    TT_ASSERT(latest_is(d, 2));
    tide_ckpt_close(d);
}

/* The complete checkpoints of job `job` (a fresh open): their ids, as a
 * bit set. */
static unsigned complete_set(const char *job)
{
    tide_ckpt_dir *d = NULL;
    tide_err e = {0};
    reports r = {0};
    if (tide_ckpt_open(&d, g_base, job, 2, on_report, &r, &e))
        return 0x80000000u;
    tide_ckpt_meta *v = NULL;
    size_t n = 0;
    unsigned set = 0;
    if (tide_ckpt_list(d, &v, &n, &e) == 0)
        for (size_t i = 0; i < n; i++)
            set |= 1u << v[i].id;
    free(v);
    tide_ckpt_close(d);
    return set;
}

static void test_fault_points(void)
{
    static const char *const points[] = {"ckpt.state.write", "ckpt.state.fsync",
                                         "ckpt.state.rename", "ckpt.manifest.write",
                                         "ckpt.prune"};
    for (size_t i = 0; i < sizeof points / sizeof points[0]; i++) {
        bool after = i >= 4; /* the manifest is written: the new one is complete */
        for (int kill_it = 0; kill_it < 2; kill_it++) {
            char job[64], spec[96];
            snprintf(job, sizeof job, "f%zu-%d", i, kill_it);
            tide_ckpt_dir *d = NULL;
            tide_err e = {0};
            TT_OK(tide_ckpt_open(&d, g_base, job, 2, NULL, NULL, &e));
            TT_OK(write_id(d, 1, 5, &e));
            TT_OK(write_id(d, 2, 5, &e));
            snprintf(spec, sizeof spec, "%s:%s", points[i], kill_it ? "kill" : (i % 2 ? "enospc" : "eio"));
            if (!kill_it) {
                tide_fault_set(spec);
                tide_err fe = {0};
                int rc = write_id(d, 3, 5, &fe);
                long hits = tide_fault_hits();
                tide_fault_set(NULL);
                TT_ASSERT_MSG(hits == 1 && rc == (i % 2 ? TIDE_ENOSPC : TIDE_EIO) &&
                                  strstr(fe.msg, points[i]),
                              "%s: rc %d hits %ld: %s", spec, rc, hits, fe.msg);
            } else {
                fflush(NULL);
                pid_t pid = fork();
                if (pid == 0) {
                    tide_fault_set(spec);
                    tide_err ce = {0};
                    write_id(d, 3, 5, &ce);
                    _exit(3); /* not reached */
                }
                int st = 0;
                waitpid(pid, &st, 0);
                TT_ASSERT_MSG(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "%s: status %d", spec, st);
            }
            tide_ckpt_close(d);
            /* before the manifest: 1 and 2 complete; after it: 2 and 3, or,
             * with pruning interrupted, all three (never fewer than 2) */
            unsigned set = complete_set(job);
            unsigned want = after ? (1u << 1 | 1u << 2 | 1u << 3) : (1u << 1 | 1u << 2);
            TT_ASSERT_MSG(set == want, "%s: complete set 0x%x, want 0x%x", spec, set, want);
            /* and the next checkpoint is written and pruned as usual */
            TT_OK(tide_ckpt_open(&d, g_base, job, 2, NULL, NULL, &e));
            TT_OK(write_id(d, 4, 5, &e));
            TT_ASSERT(latest_is(d, 4));
            tide_ckpt_close(d);
            TT_ASSERT_EQ_INT((int)complete_set(job), (int)((after ? 1u << 3 : 1u << 2) | 1u << 4));
        }
    }
}

static void test_power_loss(void)
{
    int crashes = 0, newer = 0;
    for (long at = 1;; at++) {
        char job[64];
        snprintf(job, sizeof job, "pl%ld", at);
        tide_ckpt_dir *d = NULL;
        tide_err e = {0};
        tide_io_faults_set(NULL);
        TT_OK(tide_ckpt_open(&d, g_base, job, 2, NULL, NULL, &e));
        TT_OK(write_id(d, 1, 9, &e));
        TT_OK(write_id(d, 2, 9, &e));
        tide_io_faults f = {.crash_at_write = at, .seed = (uint64_t)at * 7919};
        tide_io_faults_set(&f);
        tide_err we = {0};
        int rc = write_id(d, 3, 9, &we);
        bool crashed = tide_io_crashed();
        tide_ckpt_close(d);
        if (!crashed) {
            tide_io_faults_set(NULL);
            TT_OK(rc);
            break;
        }
        crashes++;
        TT_OK(tide_io_powerloss(false, &e));
        /* after the reboot: the newest complete checkpoint verifies, and
         * it is 2 or 3; 1 may be gone only if 3 is complete */
        reports r = {0};
        TT_OK(tide_ckpt_open(&d, g_base, job, 2, on_report, &r, &e));
        tide_ckpt_meta m;
        TT_OK(tide_ckpt_latest(d, 9, &m, NULL, &e));
        TT_ASSERT_MSG(m.id == 2 || m.id == 3, "crash at write %ld: latest %lld", at, (long long)m.id);
        TT_ASSERT(latest_is(d, m.id));
        newer += m.id == 3;
        tide_ckpt_close(d);
        unsigned set = complete_set(job);
        TT_ASSERT_MSG((set & (1u << 2)) || (set & (1u << 3)), "crash at write %ld: set 0x%x", at,
                      set);
    }
    fprintf(stderr, "  %d power losses, %d of them after the new checkpoint was complete\n",
            crashes, newer);
    TT_ASSERT(crashes >= 2); /* the state's write and the manifest's */
}

/* base/fault.h itself: "@N" takes the Nth time only; bad items are
 * ignored (and said on stderr), the good ones around them kept. */
static void test_fault_spec(void)
{
    tide_err e = {0};
    tide_fault_set("x.a:eio@2,bogus,y.b:nope,z.c:enospc");
    TT_OK(tide_fault("x.a", &e));
    TT_ASSERT_EQ_INT(tide_fault("x.a", &e), TIDE_EIO);
    TT_ASSERT(strstr(e.msg, "x.a: injected fault"));
    tide_err_clear(&e);
    TT_OK(tide_fault("x.a", &e));
    TT_OK(tide_fault("y.b", &e));
    TT_OK(tide_fault("bogus", &e));
    TT_ASSERT_EQ_INT(tide_fault("z.c", &e), TIDE_ENOSPC);
    tide_err_clear(&e);
    TT_ASSERT_EQ_INT(tide_fault("z.c", &e), TIDE_ENOSPC);
    TT_ASSERT_EQ_INT((int)tide_fault_hits(), 3);
    tide_fault_set(NULL);
    tide_err_clear(&e);
    TT_OK(tide_fault("z.c", &e));
    TT_ASSERT_EQ_INT((int)tide_fault_hits(), 0);
}

int main(void)
{
    snprintf(g_base, sizeof g_base, "%s", tt_tmpdir("test_ckpt"));
    TT_RUN(test_fault_spec);
    TT_RUN(test_write_keep_latest);
    TT_RUN(test_damage_falls_back);
    TT_RUN(test_other_plan_refused);
    TT_RUN(test_leftovers);
    TT_RUN(test_fault_points);
    TT_RUN(test_power_loss);
    TT_DONE();
}
