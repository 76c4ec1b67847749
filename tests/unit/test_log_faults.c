/*
 * Adversarial tests of the embedded log under injected I/O faults
 * (base/io.h): a simulated power loss at every step of a produce run, and
 * a failed I/O call (EIO, ENOSPC, sticky EIO) at every call of a small run
 * covering topic creation, writer open, appends across segment rolls,
 * retention, a group commit and close.
 *
 * What is checked is recomputed independently: the records come from the
 * deterministic generator of log_gen.h, and the test keeps its own account
 * of what each partition acknowledged, what it attempted and what the writer
 * said was synced.  The scratch directories live on /dev/shm when it is
 * there (fsync is the simulation's business, not the disk's; a tmpfs keeps
 * the thousands of runs fast); $TIDE_FAULT_TMP overrides.
 */
#include "base/clock.h"
#include "base/err.h"
#include "base/io.h"
#include "log/group.h"
#include "log/reader.h"
#include "log/topic.h"
#include "log/writer.h"
#include "log_gen.h"
#include "tt.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>

#define TOPIC "t"
#define MSG_MAX 1024

/* ---- scratch directories ---- */

static char g_base[2048];
static unsigned g_dir_seq;

static int scratch_init(void)
{
    const char *env = getenv("TIDE_FAULT_TMP");
    if (env && *env)
        snprintf(g_base, sizeof g_base, "%s/test_log_faults.%d", env, (int)getpid());
    else if (access("/dev/shm", W_OK) == 0)
        snprintf(g_base, sizeof g_base, "/dev/shm/test_log_faults.%d", (int)getpid());
    else {
        const char *t = tt_tmpdir("test_log_faults");
        if (!t)
            return -1;
        snprintf(g_base, sizeof g_base, "%s", t);
    }
    /* a leftover of a killed run whose pid was reused would otherwise be
     * read as this run's data (cp -a into an existing directory nests) */
    tide_io_rmtree(g_base, NULL);
    mkdir(g_base, 0755);
    return 0;
}

/* A fresh, empty directory for one run. */
static const char *scratch_dir(char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/d%u", g_base, g_dir_seq++);
    return buf;
}

static void scratch_remove(const char *dir)
{
    tide_io_faults_set(NULL);
    tide_io_rmtree(dir, NULL);
}

static void quiet_report(void *ctx, const char *msg)
{
    (void)msg;
    if (ctx)
        (*(int *)ctx)++;
}

static void note(char *why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(char *why, const char *fmt, ...)
{
    if (why[0])
        return; /* keep the first */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, MSG_MAX, fmt, ap);
    va_end(ap);
}

/* Bytes and number of the segment files of partition p (0, 0 if none). */
static uint64_t part_bytes(const char *dir, uint32_t p, long *nseg)
{
    char part[2400];
    snprintf(part, sizeof part, "%s/topics/%s/%u", dir, TOPIC, p);
    uint64_t bytes = 0;
    *nseg = 0;
    DIR *d = opendir(part);
    if (!d)
        return 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (len != 24 || strcmp(de->d_name + 20, ".log") != 0)
            continue;
        char path[2700];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", part, de->d_name);
        if (stat(path, &st) == 0) {
            bytes += (uint64_t)st.st_size;
            (*nseg)++;
        }
    }
    closedir(d);
    return bytes;
}

static const char *mode_name(tide_fsync_mode m)
{
    return m == TIDE_FSYNC_ALWAYS ? "always" : m == TIDE_FSYNC_INTERVAL ? "interval:100" : "never";
}

/* ====================================================================== */
/* Power loss at every write                                               */
/* ====================================================================== */

#define PL_PARTS 3
#define PL_RECORDS 300 /* in small appends, plus two large ones */
#define PL_SMALL_MAX 25
#define PL_BIG 1500 /* ~100 KB: two batches of the writer's ~64 KB */
#define PL_BATCH_MAX PL_BIG
#define PL_VAL_MAX 120
#define PL_MAX_STEPS (PL_RECORDS + 4)

typedef struct pl_step {
    uint32_t part, n;
} pl_step;

typedef struct pl_case {
    tide_fsync_mode mode;
    uint64_t seed;
    pl_step steps[PL_MAX_STEPS];
    size_t nsteps;
} pl_case;

typedef struct pl_state {
    int rc;                            /* the producer's first error */
    uint64_t acked[PL_PARTS];          /* records acknowledged */
    uint64_t attempted[PL_PARTS];      /* acked + a failed append's records */
    uint64_t synced[PL_PARTS];         /* highest tide_log_writer_synced seen */
    bool synced_before_close;          /* some sync happened before close */
    char why[MSG_MAX];                 /* a contract violation seen while producing */
} pl_state;

static void pl_plan(pl_case *c, tide_fsync_mode mode, uint64_t seed)
{
    c->mode = mode;
    c->seed = seed;
    c->nsteps = 0;
    uint64_t s = seed * 7919;
    uint32_t total = 0;
    while (total < PL_RECORDS && c->nsteps < PL_MAX_STEPS) {
        uint32_t n = 1 + (uint32_t)(tt_rand(&s) % PL_SMALL_MAX);
        if (n > PL_RECORDS - total)
            n = PL_RECORDS - total;
        c->steps[c->nsteps++] = (pl_step){(uint32_t)(tt_rand(&s) % PL_PARTS), n};
        total += n;
        /* twice, one large append: several batches in one write, each
         * larger than a segment */
        if (c->nsteps == 4 || c->nsteps == 14)
            c->steps[c->nsteps++] = (pl_step){(uint32_t)(tt_rand(&s) % PL_PARTS), PL_BIG};
    }
}

static int pl_create_topic(const char *dir, tide_fsync_mode mode, tide_err *e)
{
    tide_topic_config cfg;
    tide_topic_config_default(&cfg);
    cfg.partitions = PL_PARTS;
    cfg.segment_bytes = 4096; /* several rolls per partition */
    cfg.fsync = mode;
    cfg.fsync_interval_ms = 100;
    return tide_topic_create(dir, TOPIC, &cfg, e);
}

/* Append the plan until an error; record acked/attempted/synced. */
static void pl_produce(const char *dir, const pl_case *c, pl_state *st)
{
    memset(st, 0, sizeof *st);
    tide_clock_manual clk;
    tide_clock_manual_init(&clk, 1700000000000);
    tide_log_writer_opts o = {.clock = &clk.clock, .report = quiet_report, .report_ctx = NULL};
    tide_err e = {0};
    tide_log_writer *w = NULL;
    int rc = tide_log_writer_open(&w, dir, TOPIC, &o, &e);
    if (rc) {
        st->rc = rc;
        return;
    }
    static log_gen_rec g[PL_BATCH_MAX];
    tide_record recs[PL_BATCH_MAX];
    for (size_t k = 0; k < c->nsteps; k++) {
        uint32_t p = c->steps[k].part, n = c->steps[k].n;
        for (uint32_t j = 0; j < n; j++) {
            log_gen(p, st->acked[p] + j, PL_VAL_MAX, &g[j]);
            recs[j] = log_gen_record(&g[j]);
        }
        uint64_t first = UINT64_MAX;
        tide_err_clear(&e);
        rc = tide_log_append(w, p, recs, n, &first, &e);
        if (rc) {
            st->attempted[p] = st->acked[p] + n;
            break;
        }
        if (first != st->acked[p])
            note(st->why, "append to partition %u returned first offset %llu, expected %llu", p,
                 (unsigned long long)first, (unsigned long long)st->acked[p]);
        st->acked[p] += n;
        st->attempted[p] = st->acked[p];
        for (uint32_t q = 0; q < PL_PARTS; q++) {
            uint64_t sy = tide_log_writer_synced(w, q), nx = tide_log_writer_next(w, q);
            if (nx != st->acked[q])
                note(st->why, "partition %u: writer_next %llu, acknowledged %llu", q,
                     (unsigned long long)nx, (unsigned long long)st->acked[q]);
            if (sy > nx)
                note(st->why, "partition %u: synced %llu beyond next %llu", q,
                     (unsigned long long)sy, (unsigned long long)nx);
            if (sy < st->synced[q])
                note(st->why, "partition %u: synced went back from %llu to %llu", q,
                     (unsigned long long)st->synced[q], (unsigned long long)sy);
            if (sy > st->synced[q]) {
                st->synced[q] = sy;
                st->synced_before_close = true;
            }
        }
        if (c->mode == TIDE_FSYNC_ALWAYS && st->synced[p] != st->acked[p])
            note(st->why, "fsync=always: partition %u synced %llu after an append acknowledged %llu",
                 p, (unsigned long long)st->synced[p], (unsigned long long)st->acked[p]);
        clk.now_ms += 30; /* interval:100 syncs every few appends */
    }
    tide_err_clear(&e);
    int crc = tide_log_writer_close(w, &e);
    if (!rc) {
        rc = crc;
        if (!rc && c->mode != TIDE_FSYNC_NEVER)
            memcpy(st->synced, st->acked, sizeof st->synced); /* close syncs */
    }
    st->rc = rc;
}

/* Read partition p from the start; every record must be the generator's.
 * Returns the number read before the end (or -1 and `why` on a violation);
 * *end_rc is what ended the read (TIDE_EAGAIN or an error). */
static int64_t pl_read_all(const char *dir, uint32_t p, size_t val_max, uint64_t limit,
                           int *end_rc, char *why)
{
    tide_log_reader *r = NULL;
    tide_err e = {0};
    int rc = tide_log_reader_open(&r, dir, TOPIC, p, &e);
    if (rc) {
        *end_rc = rc;
        return 0;
    }
    int64_t n = 0;
    for (;;) {
        tide_record rec;
        tide_err_clear(&e);
        rc = tide_log_reader_next(r, &rec, &e);
        if (rc)
            break;
        char m[300];
        if ((uint64_t)n >= limit) {
            note(why, "partition %u: reader served offset %llu, but only %llu records were ever "
                      "appended", p, (unsigned long long)rec.offset, (unsigned long long)limit);
            n = -1;
            break;
        }
        if (rec.partition != p || !log_gen_check(&rec, p, (uint64_t)n, val_max, m, sizeof m)) {
            note(why, "reader served a wrong record: %s (partition field %u)", m, rec.partition);
            n = -1;
            break;
        }
        n++;
    }
    *end_rc = rc;
    tide_log_reader_close(r);
    return n;
}

/* What the crash runs covered, per mode; each run adds to it.  The counts
 * are asserted (pl_assert_coverage): a simulator that stopped losing data,
 * tearing writes or losing directory entries fails the test. */
static struct {
    long runs, reported, kept_unsynced;
    long lost_acked;    /* partitions that lost acknowledged (unsynced) records */
    long lost_attempted;/* partitions that recovered fewer records than attempted */
    long shrank;        /* power losses that cut a partition's segment bytes */
    long segs_lost;     /* power losses after which a partition had fewer segments */
    long torn_cut;      /* recoveries that cut a torn tail a reader had stopped at */
} g_pl;

/* Segment bytes and counts per partition, before the power loss (pl_before)
 * and before recovery (pl_verify), to see what each of them took away. */
typedef struct pl_disk {
    uint64_t bytes[PL_PARTS];
    long nseg[PL_PARTS];
} pl_disk;

static void pl_disk_take(const char *dir, pl_disk *d)
{
    for (uint32_t p = 0; p < PL_PARTS; p++)
        d->bytes[p] = part_bytes(dir, p, &d->nseg[p]);
}

/* After the power loss: readers of the un-recovered log, then the writer's
 * recovery, then the full check and one more append per partition.
 * `before` is the disk as the crash left it, before the power loss. */
static bool pl_verify(const char *dir, const pl_state *st, const pl_disk *before, char *why)
{
    pl_disk after;
    pl_disk_take(dir, &after);
    for (uint32_t p = 0; p < PL_PARTS; p++) {
        if (after.bytes[p] < before->bytes[p])
            g_pl.shrank++;
        if (after.nseg[p] < before->nseg[p])
            g_pl.segs_lost++;
    }
    /* A reader before recovery serves only valid records and stops with
     * EAGAIN at a torn tail.  Never ECORRUPT: older segments are fsynced
     * before the next one is created, so a power loss leaves no hole. */
    int64_t served[PL_PARTS];
    for (uint32_t p = 0; p < PL_PARTS; p++) {
        int end_rc = 0;
        int64_t n = pl_read_all(dir, p, PL_VAL_MAX, st->attempted[p], &end_rc, why);
        if (n < 0)
            return false;
        served[p] = n;
        if (end_rc != TIDE_EAGAIN) {
            note(why, "un-recovered partition %u: reader ended with %s after %lld records", p,
                 tide_err_name(end_rc), (long long)n);
            return false;
        }
    }

    int reports = 0;
    tide_log_writer_opts o = {.clock = NULL, .report = quiet_report, .report_ctx = &reports};
    tide_log_writer *w = NULL;
    tide_err e = {0};
    bool ok = false;
    int rc = tide_log_writer_open(&w, dir, TOPIC, &o, &e);
    if (rc) {
        note(why, "writer open (recovery) failed: %s: %s", tide_err_name(rc), e.msg);
        return false;
    }
    for (uint32_t p = 0; p < PL_PARTS; p++) {
        uint64_t next = tide_log_writer_next(w, p);
        if (next < st->synced[p]) {
            note(why, "partition %u: %llu records after recovery, but %llu were synced", p,
                 (unsigned long long)next, (unsigned long long)st->synced[p]);
            goto done;
        }
        if (next > st->attempted[p]) {
            note(why, "partition %u: %llu records after recovery, only %llu ever appended", p,
                 (unsigned long long)next, (unsigned long long)st->attempted[p]);
            goto done;
        }
        if ((uint64_t)served[p] > next) {
            note(why, "partition %u: a reader served %lld records before recovery, but recovery "
                      "kept only %llu", p, (long long)served[p], (unsigned long long)next);
            goto done;
        }
        long nseg;
        if (part_bytes(dir, p, &nseg) < after.bytes[p])
            g_pl.torn_cut++;
        if (next < st->attempted[p])
            g_pl.lost_attempted++;
        if (next < st->acked[p])
            g_pl.lost_acked++;
        if (next > st->synced[p])
            g_pl.kept_unsynced++;
        int end_rc = 0;
        int64_t n = pl_read_all(dir, p, PL_VAL_MAX, st->attempted[p], &end_rc, why);
        if (n < 0)
            goto done;
        if (end_rc != TIDE_EAGAIN || (uint64_t)n != next) {
            note(why, "partition %u after recovery: reader read %lld records ending with %s, "
                      "writer says next offset %llu", p, (long long)n, tide_err_name(end_rc),
                 (unsigned long long)next);
            goto done;
        }
        /* the next append continues exactly there, and is readable */
        log_gen_rec g;
        log_gen(p, next, PL_VAL_MAX, &g);
        tide_record rec = log_gen_record(&g);
        uint64_t first = UINT64_MAX;
        tide_err_clear(&e);
        rc = tide_log_append(w, p, &rec, 1, &first, &e);
        if (rc || first != next) {
            note(why, "partition %u: append after recovery: %s (%s), first offset %llu, "
                      "expected %llu", p, tide_err_name(rc), e.msg, (unsigned long long)first,
                 (unsigned long long)next);
            goto done;
        }
        n = pl_read_all(dir, p, PL_VAL_MAX, next + 1, &end_rc, why);
        if (n < 0)
            goto done;
        if ((uint64_t)n != next + 1) {
            note(why, "partition %u: %lld records readable after one more append, expected %llu",
                 p, (long long)n, (unsigned long long)next + 1);
            goto done;
        }
    }
    ok = true;
    g_pl.runs++;
    if (reports)
        g_pl.reported++;
done:
    tide_err_clear(&e);
    rc = tide_log_writer_close(w, &e);
    if (ok && rc) {
        note(why, "writer close after recovery: %s: %s", tide_err_name(rc), e.msg);
        ok = false;
    }
    if (!ok)
        return false;
    /* Recovered and appended to, the log is clean: a second open repairs
     * nothing and finds every partition where the first left it. */
    reports = 0;
    w = NULL;
    tide_err_clear(&e);
    rc = tide_log_writer_open(&w, dir, TOPIC, &o, &e);
    if (rc) {
        note(why, "second writer open: %s: %s", tide_err_name(rc), e.msg);
        return false;
    }
    for (uint32_t p = 0; p < PL_PARTS && ok; p++) {
        int end_rc = 0;
        int64_t n = pl_read_all(dir, p, PL_VAL_MAX, UINT64_MAX, &end_rc, why);
        if (n < 0 || end_rc != TIDE_EAGAIN || (uint64_t)n != tide_log_writer_next(w, p)) {
            note(why, "partition %u on the second open: %lld records readable (%s), next %llu", p,
                 (long long)n, tide_err_name(end_rc),
                 (unsigned long long)tide_log_writer_next(w, p));
            ok = false;
        }
    }
    if (ok && reports) {
        note(why, "the second open after recovery repaired something again (%d reports)", reports);
        ok = false;
    }
    tide_err_clear(&e);
    rc = tide_log_writer_close(w, &e);
    return ok && rc == 0;
}

typedef struct pl_cov {
    long runs, reported, kept_unsynced, lost_acked, lost_attempted,
        shrank, segs_lost, torn_cut;
} pl_cov;

static void pl_cov_add(pl_cov *c)
{
    c->runs += g_pl.runs;
    c->reported += g_pl.reported;
    c->kept_unsynced += g_pl.kept_unsynced;
    c->lost_acked += g_pl.lost_acked;
    c->lost_attempted += g_pl.lost_attempted;
    c->shrank += g_pl.shrank;
    c->segs_lost += g_pl.segs_lost;
    c->torn_cut += g_pl.torn_cut;
    memset(&g_pl, 0, sizeof g_pl);
}

/* The crash runs of one policy must have exercised the simulator: with the
 * unsynced bytes cut (keep 0), a power loss cut segment bytes and lost a
 * segment file whose creation no directory fsync had made durable, and
 * (unless fsync=always) lost acknowledged records; with them kept (keep 1),
 * it cut nothing; either way, some recovery cut a torn tail (a write torn by
 * the crash) that an un-recovered reader had stopped at.  Returns the first
 * gap in `why`. */
static bool pl_covered(tide_fsync_mode mode, int keep, const pl_cov *c, char *why)
{
    if (c->torn_cut == 0)
        note(why, "no recovery cut a torn tail: the crash never tore a batch");
    else if (keep == 0 && c->shrank == 0)
        note(why, "no power loss cut any segment bytes: unsynced data always survived");
    else if (keep == 0 && c->segs_lost == 0)
        note(why, "no power loss took a segment file away: creates are durable at once");
    else if (keep == 0 && mode != TIDE_FSYNC_ALWAYS && c->lost_acked == 0)
        note(why, "no acknowledged unsynced record was ever lost");
    else if (keep == 1 && (c->shrank || c->segs_lost))
        note(why, "with unsynced data kept, %ld power losses cut bytes and %ld lost segments",
             c->shrank, c->segs_lost);
    return !why[0];
}

static void powerloss_at_every_step(tide_fsync_mode mode)
{
    static pl_case c;
    static pl_state st;
    char dirbuf[2200], why[MSG_MAX];
    memset(&g_pl, 0, sizeof g_pl);
    pl_cov cov[2];
    memset(cov, 0, sizeof cov);
    long total_steps = 0;
    TT_FOR_SEEDS(seed, 1, 3) {
        pl_plan(&c, mode, seed);

        /* The fault-free run: how many steps, and it must be complete. */
        const char *dir = scratch_dir(dirbuf, sizeof dirbuf);
        tide_err e = {0};
        TT_OK(pl_create_topic(dir, mode, &e));
        tide_io_faults_set(&(tide_io_faults){.seed = seed});
        pl_produce(dir, &c, &st);
        long steps = tide_io_steps();
        tide_io_faults_set(NULL);
        TT_ASSERT_MSG(st.rc == 0, "fsync=%s seed %llu: fault-free run failed: %s", mode_name(mode),
                      (unsigned long long)seed, tide_err_name(st.rc));
        TT_ASSERT_MSG(!st.why[0], "fsync=%s seed %llu: %s", mode_name(mode),
                      (unsigned long long)seed, st.why);
        if (mode == TIDE_FSYNC_INTERVAL)
            TT_ASSERT_MSG(st.synced_before_close,
                          "fsync=interval:100 with a clock advancing 30 ms per append never synced "
                          "before close");
        why[0] = '\0';
        pl_disk disk;
        pl_disk_take(dir, &disk);
        TT_ASSERT_MSG(pl_verify(dir, &st, &disk, why), "fsync=%s seed %llu fault-free: %s",
                      mode_name(mode), (unsigned long long)seed, why);
        memset(&g_pl, 0, sizeof g_pl);
        scratch_remove(dir);
        TT_ASSERT(steps > 0);
        total_steps += steps;

        for (int keep = 0; keep <= 1; keep++) {
            for (long k = 1; k <= steps; k++) {
                dir = scratch_dir(dirbuf, sizeof dirbuf);
                tide_err_clear(&e);
                TT_OK(pl_create_topic(dir, mode, &e));
                uint64_t fseed = seed * 1000003u + (uint64_t)k;
                tide_io_faults_set(&(tide_io_faults){.crash_at_step = k, .seed = fseed});
                pl_produce(dir, &c, &st);
                bool crashed = tide_io_crashed();
                pl_disk_take(dir, &disk);
                int prc = tide_io_powerloss(keep, &e);
                if (!crashed || st.rc == 0 || st.why[0] || prc)
                    TT_SEED(fseed);
                TT_ASSERT_MSG(prc == 0, "powerloss: %s", e.msg);
                TT_ASSERT_MSG(crashed, "fsync=%s seed %llu: no crash at step %ld of %ld "
                              "(the step sequence is not deterministic)", mode_name(mode),
                              (unsigned long long)seed, k, steps);
                TT_ASSERT_MSG(st.rc != 0, "fsync=%s seed %llu crash at step %ld: the producer "
                              "saw no error", mode_name(mode), (unsigned long long)seed, k);
                TT_ASSERT_MSG(!st.why[0], "fsync=%s seed %llu crash at step %ld: %s",
                              mode_name(mode), (unsigned long long)seed, k, st.why);
                why[0] = '\0';
                bool ok = pl_verify(dir, &st, &disk, why);
                if (!ok) {
                    TT_SEED(fseed);
                    fprintf(stderr, "  dir kept: %s\n", dir);
                }
                TT_ASSERT_MSG(ok, "fsync=%s seed %llu, power loss at step %ld of %ld (%s): %s",
                              mode_name(mode), (unsigned long long)seed, k, steps,
                              keep ? "unsynced bytes kept" : "unsynced bytes cut", why);
                pl_cov_add(&cov[keep]);
                scratch_remove(dir);
            }
        }
    }
    for (int keep = 0; keep <= 1; keep++) {
        const pl_cov *v = &cov[keep];
        fprintf(stderr, "  fsync=%s, unsynced %s: %ld crash points; %ld recoveries "
                "reported a repair and %ld cut a torn tail; power losses cut bytes of %ld and "
                "segments of %ld partitions; partitions that lost acknowledged records %ld, "
                "attempted ones %ld, kept records beyond the synced offset %ld\n", mode_name(mode), keep ? "kept" : "cut",
                total_steps, v->reported, v->torn_cut, v->shrank, v->segs_lost, v->lost_acked,
                v->lost_attempted, v->kept_unsynced);
        why[0] = '\0';
        TT_ASSERT_MSG(tt_replaying() || pl_covered(mode, keep, v, why), "fsync=%s, unsynced %s: the simulator did "
                      "not simulate: %s", mode_name(mode), keep ? "kept" : "cut", why);
    }
}

static void test_powerloss_always(void) { powerloss_at_every_step(TIDE_FSYNC_ALWAYS); }
static void test_powerloss_interval(void) { powerloss_at_every_step(TIDE_FSYNC_INTERVAL); }
static void test_powerloss_never(void) { powerloss_at_every_step(TIDE_FSYNC_NEVER); }

/* ====================================================================== */
/* Fail the Nth I/O call                                                   */
/* ====================================================================== */

#define FN_PARTS 2
#define FN_APPENDS 16
#define FN_VAL_MAX 100
#define FN_GROUP "g"

typedef struct fn_result {
    int expect;                    /* the TIDE_E* code the injected errno maps to */
    int first_rc;                  /* the run's first error */
    const char *first_stage;
    bool created;                  /* tide_topic_create returned 0 */
    uint64_t acked[FN_PARTS], attempted[FN_PARTS];
    bool commit_tried, commit_ok;
    uint64_t committed[FN_PARTS];
    char why[MSG_MAX];             /* a contract violation */
} fn_result;

static void fn_error(fn_result *r, const char *stage, int rc, const tide_err *e)
{
    if (e->code != rc || !e->msg[0])
        note(r->why, "%s: returned %s but the error holds %s \"%s\"", stage, tide_err_name(rc),
             tide_err_name(e->code), e->msg);
    if (!r->first_rc) {
        r->first_rc = rc;
        r->first_stage = stage;
        if (rc != r->expect)
            note(r->why, "%s: first error is %s (%s), expected %s from the injected fault", stage,
                 tide_err_name(rc), e->msg, tide_err_name(r->expect));
    }
}

static void fn_config(tide_topic_config *cfg, tide_fsync_mode mode)
{
    tide_topic_config_default(cfg);
    cfg->partitions = FN_PARTS;
    cfg->segment_bytes = 1024;
    cfg->retention_bytes = 2048;
    cfg->fsync = mode;
    cfg->fsync_interval_ms = 100;
}

static void fn_run(const char *dir, tide_fsync_mode mode, fn_result *r)
{
    tide_topic_config cfg;
    fn_config(&cfg, mode);
    tide_err e = {0};
    tide_log_writer *w = NULL;
    tide_log_reader *rd = NULL;
    int rc = tide_topic_create(dir, TOPIC, &cfg, &e);
    if (rc) {
        fn_error(r, "topic create", rc, &e);
        return;
    }
    r->created = true;

    tide_clock_manual clk;
    tide_clock_manual_init(&clk, 1700000000000);
    tide_log_writer_opts o = {.clock = &clk.clock, .report = quiet_report, .report_ctx = NULL};
    tide_err_clear(&e);
    rc = tide_log_writer_open(&w, dir, TOPIC, &o, &e);
    if (rc) {
        fn_error(r, "writer open", rc, &e);
        if (w)
            note(r->why, "writer open failed but returned a handle");
        return;
    }

    int wfail = 0; /* the writer's first error */
    static log_gen_rec g[16];
    tide_record recs[16];
    for (int i = 0; i < FN_APPENDS && !wfail; i++) {
        uint32_t p = (uint32_t)i % FN_PARTS, n = 1 + (uint32_t)(i * 7) % 12;
        for (uint32_t j = 0; j < n; j++) {
            log_gen(p, r->acked[p] + j, FN_VAL_MAX, &g[j]);
            recs[j] = log_gen_record(&g[j]);
        }
        uint64_t first = UINT64_MAX;
        tide_err_clear(&e);
        rc = tide_log_append(w, p, recs, n, &first, &e);
        if (rc) {
            fn_error(r, "append", rc, &e);
            r->attempted[p] = r->acked[p] + n;
            wfail = rc;
            break;
        }
        if (first != r->acked[p])
            note(r->why, "append: first offset %llu, expected %llu", (unsigned long long)first,
                 (unsigned long long)r->acked[p]);
        r->acked[p] += n;
        r->attempted[p] = r->acked[p];
        clk.now_ms += 40;
    }
    if (!wfail) {
        tide_err_clear(&e);
        rc = tide_log_writer_retain(w, &e);
        if (rc)
            fn_error(r, "retain", rc, &e);
    }
    if (!wfail) {
        tide_err_clear(&e);
        rc = tide_log_writer_sync(w, &e);
        if (rc) {
            fn_error(r, "sync", rc, &e);
            wfail = rc;
        }
    }
    if (wfail) {
        /* A failed writer stays failed: later calls return the first error,
         * even though the injected fault (unless sticky) is over. */
        log_gen(0, r->acked[0], FN_VAL_MAX, &g[0]);
        recs[0] = log_gen_record(&g[0]);
        tide_err_clear(&e);
        rc = tide_log_append(w, 0, recs, 1, NULL, &e);
        if (rc != wfail)
            note(r->why, "append after the writer failed with %s returned %s", tide_err_name(wfail),
                 tide_err_name(rc));
        if (rc == 0) /* it wrote after all: the record may be there */
            r->acked[0] = r->attempted[0] = r->acked[0] + 1;
        tide_err_clear(&e);
        rc = tide_log_writer_sync(w, &e);
        if (rc != wfail)
            note(r->why, "sync after the writer failed with %s returned %s", tide_err_name(wfail),
                 tide_err_name(rc));
    }

    /* A reader in the middle of it all: a valid prefix or a clean error. */
    tide_err_clear(&e);
    rc = tide_log_reader_open(&rd, dir, TOPIC, 0, &e);
    if (rc) {
        fn_error(r, "reader open", rc, &e);
    } else {
        uint64_t expect_off = tide_log_reader_position(rd);
        for (int guard = 0; guard < 10000; guard++) {
            tide_record rec;
            tide_err_clear(&e);
            rc = tide_log_reader_next(rd, &rec, &e);
            if (rc == TIDE_EAGAIN)
                break;
            if (rc) {
                fn_error(r, "reader next", rc, &e);
                break;
            }
            char m[300];
            if (!log_gen_check(&rec, 0, expect_off, FN_VAL_MAX, m, sizeof m)) {
                note(r->why, "reader during the run: %s", m);
                break;
            }
            expect_off++;
        }
        tide_log_reader_close(rd);
    }

    r->commit_tried = true;
    memcpy(r->committed, r->acked, sizeof r->committed);
    tide_err_clear(&e);
    rc = tide_group_commit(dir, FN_GROUP, TOPIC, r->committed, FN_PARTS, &e);
    if (rc)
        fn_error(r, "group commit", rc, &e);
    else
        r->commit_ok = true;

    tide_err_clear(&e);
    rc = tide_log_writer_close(w, &e);
    if (wfail && rc != wfail)
        note(r->why, "close of a writer failed with %s returned %s", tide_err_name(wfail),
             tide_err_name(rc));
    if (rc && !wfail)
        fn_error(r, "close", rc, &e);
}

/* With faults off: the data directory left by the run must open cleanly
 * and hold a valid prefix of what was appended. */
static bool fn_verify(const char *dir, tide_fsync_mode mode, fn_result *r, char *why)
{
    tide_err e = {0};
    tide_log_writer *w = NULL;
    tide_partition_info *parts = NULL;
    uint32_t nparts = 0;
    bool ok = false;
    int rc;

    /* Listing must work whatever state the run left. */
    char **names = NULL;
    size_t nnames = 0;
    rc = tide_topic_list(dir, &names, &nnames, &e);
    if (rc && rc != TIDE_ENOENT) {
        note(why, "topic list: %s: %s", tide_err_name(rc), e.msg);
        return false;
    }
    tide_topic_names_free(names, nnames);

    if (!r->created) {
        /* Decided behaviour for a topic whose creation failed half-way: it
         * is never a trap.  Creating it again either succeeds (the debris
         * is invisible or completed) or says EEXIST, and then the topic is
         * complete and opens cleanly below. */
        tide_topic_config cfg;
        fn_config(&cfg, mode);
        tide_err_clear(&e);
        rc = tide_topic_create(dir, TOPIC, &cfg, &e);
        if (rc != 0 && rc != TIDE_EEXIST) {
            note(why, "re-creating a topic whose creation failed: %s: %s", tide_err_name(rc), e.msg);
            return false;
        }
        tide_topic_config got;
        tide_err_clear(&e);
        rc = tide_topic_config_load(dir, TOPIC, &got, &e);
        if (rc || got.partitions != FN_PARTS || got.segment_bytes != cfg.segment_bytes) {
            note(why, "config of a topic whose first creation failed: %s: %s (partitions %u)",
                 tide_err_name(rc), e.msg, rc ? 0 : got.partitions);
            return false;
        }
    }

    tide_err_clear(&e);
    rc = tide_log_writer_open(&w, dir, TOPIC, &(tide_log_writer_opts){.report = quiet_report}, &e);
    if (rc) {
        note(why, "writer open with faults off: %s: %s", tide_err_name(rc), e.msg);
        return false;
    }
    tide_err_clear(&e);
    rc = tide_topic_describe(dir, TOPIC, &parts, &nparts, &e);
    if (rc || nparts != FN_PARTS) {
        note(why, "describe: %s: %s (%u partitions)", tide_err_name(rc), e.msg, nparts);
        goto done;
    }
    for (uint32_t p = 0; p < FN_PARTS; p++) {
        uint64_t next = tide_log_writer_next(w, p);
        if (next < r->acked[p] || next > r->attempted[p]) {
            note(why, "partition %u: next offset %llu, acknowledged %llu, attempted %llu", p,
                 (unsigned long long)next, (unsigned long long)r->acked[p],
                 (unsigned long long)r->attempted[p]);
            goto done;
        }
        tide_log_reader *rd = NULL;
        tide_err_clear(&e);
        rc = tide_log_reader_open(&rd, dir, TOPIC, p, &e);
        if (rc) {
            note(why, "partition %u: reader open: %s: %s", p, tide_err_name(rc), e.msg);
            goto done;
        }
        uint64_t first = 0, rnext = 0;
        tide_err_clear(&e);
        rc = tide_log_reader_bounds(rd, &first, &rnext, &e);
        if (rc || rnext != next || first > next || tide_log_reader_position(rd) != first) {
            note(why, "partition %u: reader bounds %s [%llu, %llu) position %llu, writer next %llu",
                 p, tide_err_name(rc), (unsigned long long)first, (unsigned long long)rnext,
                 (unsigned long long)tide_log_reader_position(rd), (unsigned long long)next);
            tide_log_reader_close(rd);
            goto done;
        }
        if (parts[p].partition != p || parts[p].first_offset != first ||
            parts[p].next_offset != next) {
            note(why, "partition %u: describe says [%llu, %llu), reader [%llu, %llu)", p,
                 (unsigned long long)parts[p].first_offset,
                 (unsigned long long)parts[p].next_offset, (unsigned long long)first,
                 (unsigned long long)next);
            tide_log_reader_close(rd);
            goto done;
        }
        uint64_t off = first;
        for (;;) {
            tide_record rec;
            tide_err_clear(&e);
            rc = tide_log_reader_next(rd, &rec, &e);
            if (rc)
                break;
            char m[300];
            if (!log_gen_check(&rec, p, off, FN_VAL_MAX, m, sizeof m)) {
                note(why, "after the run: %s", m);
                break;
            }
            off++;
        }
        tide_log_reader_close(rd);
        if (why[0])
            goto done;
        if (rc != TIDE_EAGAIN || off != next) {
            note(why, "partition %u: read [%llu, %llu) ending with %s (%s), expected up to %llu", p,
                 (unsigned long long)first, (unsigned long long)off, tide_err_name(rc), e.msg,
                 (unsigned long long)next);
            goto done;
        }
    }

    if (r->created) {
        uint64_t got[FN_PARTS];
        tide_err_clear(&e);
        rc = tide_group_fetch(dir, FN_GROUP, TOPIC, got, FN_PARTS, &e);
        if (rc) {
            note(why, "group fetch: %s: %s", tide_err_name(rc), e.msg);
            goto done;
        }
        bool none = got[0] == TIDE_GROUP_NONE && got[1] == TIDE_GROUP_NONE;
        bool same = r->commit_tried && got[0] == r->committed[0] && got[1] == r->committed[1];
        if (!(same || (none && !r->commit_ok))) {
            note(why, "group offsets %llu/%llu: neither the old state nor the commit (%llu/%llu, %s)",
                 (unsigned long long)got[0], (unsigned long long)got[1],
                 (unsigned long long)r->committed[0], (unsigned long long)r->committed[1],
                 r->commit_ok ? "acknowledged" : "failed");
            goto done;
        }
    }
    ok = true;
done:
    free(parts);
    tide_err_clear(&e);
    rc = tide_log_writer_close(w, &e);
    if (ok && rc) {
        note(why, "writer close with faults off: %s: %s", tide_err_name(rc), e.msg);
        ok = false;
    }
    return ok;
}

static void fail_every_call(tide_fsync_mode mode)
{
    static const struct {
        int err;
        bool sticky;
    } kinds[] = {{EIO, false}, {ENOSPC, false}, {EIO, true}};
    char dirbuf[2200], why[MSG_MAX];
    static fn_result r;

    /* The fault-free run counts the calls and must be clean. */
    const char *dir = scratch_dir(dirbuf, sizeof dirbuf);
    memset(&r, 0, sizeof r);
    tide_io_faults_set(&(tide_io_faults){.seed = 1});
    fn_run(dir, mode, &r);
    long calls = tide_io_calls();
    tide_io_faults_set(NULL);
    TT_ASSERT_MSG(r.first_rc == 0 && !r.why[0], "fsync=%s fault-free run: %s at %s; %s",
                  mode_name(mode), tide_err_name(r.first_rc),
                  r.first_stage ? r.first_stage : "-", r.why);
    why[0] = '\0';
    TT_ASSERT_MSG(fn_verify(dir, mode, &r, why), "fsync=%s fault-free run: %s", mode_name(mode), why);
    /* The run must have rolled and retained: partition 0 starts past 0. */
    {
        tide_log_reader *rd = NULL;
        tide_err e = {0};
        uint64_t first = 0, next = 0;
        TT_OK(tide_log_reader_open(&rd, dir, TOPIC, 0, &e));
        int rc = tide_log_reader_bounds(rd, &first, &next, &e);
        tide_log_reader_close(rd);
        TT_OK(rc);
        TT_ASSERT_MSG(first > 0, "retention deleted nothing (first %llu next %llu): the run does "
                      "not cover it", (unsigned long long)first, (unsigned long long)next);
    }
    scratch_remove(dir);
    TT_ASSERT(calls > 10);

    long failures_swallowed = 0;
    /* sticky failures once (fsync=always): they mostly end like EIO */
    size_t nkinds = mode == TIDE_FSYNC_ALWAYS ? 3 : 2;
    for (size_t ki = 0; ki < nkinds; ki++) {
        for (long n = 1; n <= calls; n++) {
            dir = scratch_dir(dirbuf, sizeof dirbuf);
            memset(&r, 0, sizeof r);
            r.expect = tide_err_from_errno(kinds[ki].err);
            tide_io_faults_set(&(tide_io_faults){
                .fail_at = n, .fail_errno = kinds[ki].err, .fail_sticky = kinds[ki].sticky});
            fn_run(dir, mode, &r);
            tide_io_faults_set(NULL);
            if (!r.first_rc)
                failures_swallowed++;
            TT_ASSERT_MSG(!r.why[0], "fsync=%s, call %ld of %ld fails with %s%s: %s",
                          mode_name(mode), n, calls, strerror(kinds[ki].err),
                          kinds[ki].sticky ? " (sticky)" : "", r.why);
            why[0] = '\0';
            bool ok = fn_verify(dir, mode, &r, why);
            if (!ok)
                fprintf(stderr, "  dir kept: %s\n", dir);
            TT_ASSERT_MSG(ok, "fsync=%s, call %ld of %ld fails with %s%s (first error at %s): %s",
                          mode_name(mode), n, calls, strerror(kinds[ki].err),
                          kinds[ki].sticky ? " (sticky)" : "", r.first_stage ? r.first_stage : "-",
                          why);
            scratch_remove(dir);
        }
    }
    fprintf(stderr, "  fsync=%s: %ld calls per run; %ld injected failures ended without an error "
            "(tolerated, and verified complete)\n", mode_name(mode), calls, failures_swallowed);
}

static void test_fail_every_call_always(void) { fail_every_call(TIDE_FSYNC_ALWAYS); }
static void test_fail_every_call_interval(void) { fail_every_call(TIDE_FSYNC_INTERVAL); }

/* ====================================================================== */
/* Fail the Nth I/O call of a recovery                                     */
/* ====================================================================== */

/* A log left by a crash (a torn tail in partition 0, a lost index of an
 * older segment in partition 1) is recovered, appended to and closed while
 * call N fails.  Afterwards, with faults off, it must open and read as the
 * valid prefix plus, at most, the appended record. */
#define RF_PARTS 2

static int copy_tree(const char *from, const char *to)
{
    char cmd[5000];
    snprintf(cmd, sizeof cmd, "cp -a '%s' '%s'", from, to);
    return system(cmd);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The bases of the segments in a partition directory, ascending. */
static size_t list_segments(const char *part, uint64_t *bases, size_t cap)
{
    size_t n = 0;
    DIR *d = opendir(part);
    if (!d)
        return 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < cap) {
        size_t len = strlen(de->d_name);
        if (len == 24 && strcmp(de->d_name + 20, ".log") == 0)
            bases[n++] = strtoull(de->d_name, NULL, 10);
    }
    closedir(d);
    qsort(bases, n, sizeof *bases, cmp_u64);
    return n;
}

static void rf_run(const char *dir, bool appended[RF_PARTS], const uint64_t valid[RF_PARTS],
                   char *why)
{
    tide_err e = {0};
    tide_log_writer *w = NULL;
    int rc = tide_log_writer_open(&w, dir, TOPIC, &(tide_log_writer_opts){.report = quiet_report},
                                  &e);
    if (rc) {
        if (e.code != rc || !e.msg[0])
            note(why, "writer open: %s without a message", tide_err_name(rc));
        return;
    }
    for (uint32_t p = 0; p < RF_PARTS; p++) {
        if (tide_log_writer_next(w, p) != valid[p])
            note(why, "partition %u: recovered next offset %llu, expected %llu", p,
                 (unsigned long long)tide_log_writer_next(w, p), (unsigned long long)valid[p]);
        log_gen_rec g;
        log_gen(p, valid[p], FN_VAL_MAX, &g);
        tide_record rec = log_gen_record(&g);
        uint64_t first = 0;
        tide_err_clear(&e);
        rc = tide_log_append(w, p, &rec, 1, &first, &e);
        appended[p] = true; /* attempted: may be there even when it failed */
        if (rc)
            break;
        if (first != valid[p])
            note(why, "partition %u: append after recovery at %llu, expected %llu", p,
                 (unsigned long long)first, (unsigned long long)valid[p]);
    }
    tide_err_clear(&e);
    tide_log_writer_close(w, &e);
}

static bool rf_verify(const char *dir, const bool appended[RF_PARTS], const uint64_t valid[RF_PARTS],
                      char *why)
{
    tide_err e = {0};
    tide_log_writer *w = NULL;
    int rc = tide_log_writer_open(&w, dir, TOPIC, &(tide_log_writer_opts){.report = quiet_report},
                                  &e);
    if (rc) {
        note(why, "writer open with faults off: %s: %s", tide_err_name(rc), e.msg);
        return false;
    }
    bool ok = true;
    for (uint32_t p = 0; p < RF_PARTS && ok; p++) {
        uint64_t next = tide_log_writer_next(w, p);
        if (next < valid[p] || next > valid[p] + (appended[p] ? 1 : 0)) {
            note(why, "partition %u: next offset %llu, expected %llu%s", p,
                 (unsigned long long)next, (unsigned long long)valid[p],
                 appended[p] ? " or one more" : "");
            ok = false;
            break;
        }
        int end_rc = 0;
        int64_t n = pl_read_all(dir, p, FN_VAL_MAX, next, &end_rc, why);
        if (n < 0 || (uint64_t)n != next || end_rc != TIDE_EAGAIN) {
            /* say what is on disk now: the segments the reader should have
             * found (a scratch tree removed under the test shows as none) */
            char part[2400], segs[200] = "";
            uint64_t bases[16];
            snprintf(part, sizeof part, "%s/topics/%s/%u", dir, TOPIC, p);
            size_t nb = list_segments(part, bases, 16);
            for (size_t i = 0, at = 0; i < nb && at < sizeof segs - 24; i++)
                at += (size_t)snprintf(segs + at, sizeof segs - at, " %llu",
                                       (unsigned long long)bases[i]);
            note(why, "partition %u: read %lld records ending with %s, expected %llu "
                      "(segments now:%s%s)", p, (long long)n, tide_err_name(end_rc),
                 (unsigned long long)next, nb ? segs : " none",
                 access(part, F_OK) == 0 ? "" : ", the partition directory is gone");
            ok = false;
        }
    }
    tide_err_clear(&e);
    rc = tide_log_writer_close(w, &e);
    if (ok && rc) {
        note(why, "writer close: %s: %s", tide_err_name(rc), e.msg);
        ok = false;
    }
    return ok;
}

static void test_fail_every_call_in_recovery(void)
{
    char tmpl[2200], dirbuf[2200], why[MSG_MAX];
    scratch_dir(tmpl, sizeof tmpl);
    tide_topic_config cfg;
    tide_topic_config_default(&cfg);
    cfg.partitions = RF_PARTS;
    cfg.segment_bytes = 1024;
    cfg.fsync = TIDE_FSYNC_ALWAYS;
    tide_err e = {0};
    TT_OK(tide_topic_create(tmpl, TOPIC, &cfg, &e));
    tide_log_writer *w = NULL;
    TT_OK(tide_log_writer_open(&w, tmpl, TOPIC, &(tide_log_writer_opts){.report = quiet_report}, &e));
    uint64_t acked[RF_PARTS] = {0}, last_n[RF_PARTS] = {0};
    static log_gen_rec g[12];
    tide_record recs[12];
    for (int i = 0; i < 14; i++) {
        uint32_t p = (uint32_t)i % RF_PARTS, n = 1 + (uint32_t)(i * 5) % 12;
        for (uint32_t j = 0; j < n; j++) {
            log_gen(p, acked[p] + j, FN_VAL_MAX, &g[j]);
            recs[j] = log_gen_record(&g[j]);
        }
        TT_OK(tide_log_append(w, p, recs, n, NULL, &e));
        acked[p] += n;
        last_n[p] = n;
    }
    TT_OK(tide_log_writer_close(w, &e));

    /* partition 0: tear its last batch; partition 1: lose an older index */
    char part[2400], path[2600];
    uint64_t valid[RF_PARTS] = {acked[0] - last_n[0], acked[1]};
    for (uint32_t p = 0; p < RF_PARTS; p++) {
        snprintf(part, sizeof part, "%s/topics/%s/%u", tmpl, TOPIC, p);
        uint64_t bases[64];
        size_t nb = list_segments(part, bases, 64);
        TT_ASSERT_MSG(nb >= 3, "partition %u has %zu segments; the setup wants several", p, nb);
        if (p == 0) {
            snprintf(path, sizeof path, "%s/%020llu.log", part, (unsigned long long)bases[nb - 1]);
            struct stat st;
            TT_ASSERT(stat(path, &st) == 0 && st.st_size > 8);
            TT_ASSERT(truncate(path, st.st_size - 5) == 0);
        } else {
            snprintf(path, sizeof path, "%s/%020llu.idx", part, (unsigned long long)bases[1]);
            TT_ASSERT(unlink(path) == 0);
        }
    }

    /* count the calls of a fault-free recovery */
    const char *dir = scratch_dir(dirbuf, sizeof dirbuf);
    TT_ASSERT(copy_tree(tmpl, dir) == 0);
    bool appended[RF_PARTS] = {false, false};
    why[0] = '\0';
    tide_io_faults_set(&(tide_io_faults){.seed = 1});
    rf_run(dir, appended, valid, why);
    long calls = tide_io_calls();
    tide_io_faults_set(NULL);
    TT_ASSERT_MSG(!why[0], "fault-free recovery: %s", why);
    TT_ASSERT_MSG(rf_verify(dir, appended, valid, why), "fault-free recovery: %s", why);
    scratch_remove(dir);

    static const int errs[] = {EIO, ENOSPC};
    for (size_t ei = 0; ei < 2; ei++) {
        for (long n = 1; n <= calls; n++) {
            dir = scratch_dir(dirbuf, sizeof dirbuf);
            TT_ASSERT(copy_tree(tmpl, dir) == 0);
            appended[0] = appended[1] = false;
            why[0] = '\0';
            tide_io_faults_set(&(tide_io_faults){.fail_at = n, .fail_errno = errs[ei]});
            rf_run(dir, appended, valid, why);
            tide_io_faults_set(NULL);
            TT_ASSERT_MSG(!why[0], "recovery with call %ld of %ld failing (%s): %s", n, calls,
                          strerror(errs[ei]), why);
            bool ok = rf_verify(dir, appended, valid, why);
            if (!ok)
                fprintf(stderr, "  dir kept: %s\n", dir);
            TT_ASSERT_MSG(ok, "after a recovery with call %ld of %ld failing (%s): %s", n, calls,
                          strerror(errs[ei]), why);
            scratch_remove(dir);
        }
    }
    scratch_remove(tmpl);
    fprintf(stderr, "  %ld calls per recovery run\n", calls);
}

/* ====================================================================== */
/* A torn tail whose payload happens to hold a valid batch                 */
/* ====================================================================== */

/* A record value may be any bytes, including the encoding of a batch (a
 * topic that archives raw segments, or a hostile producer).  When the write
 * of the batch carrying it is torn after the embedded bytes, the tail is
 * still just torn: recovery must truncate it and open, not call it
 * corruption in the middle (which leaves the topic unopenable after an
 * ordinary crash). */
static void test_torn_tail_payload_holds_a_batch(void)
{
    char dirbuf[2200];
    const char *dir = scratch_dir(dirbuf, sizeof dirbuf);
    tide_err e = {0};
    tide_topic_config cfg;
    tide_topic_config_default(&cfg);
    cfg.fsync = TIDE_FSYNC_NEVER;
    TT_OK(tide_topic_create(dir, TOPIC, &cfg, &e));

    tide_log_writer *w = NULL;
    tide_log_writer_opts o = {.report = quiet_report};
    TT_OK(tide_log_writer_open(&w, dir, TOPIC, &o, &e));
    log_gen_rec g[3];
    tide_record recs[3];
    for (int i = 0; i < 3; i++) {
        log_gen(0, (uint64_t)i, 40, &g[i]);
        recs[i] = log_gen_record(&g[i]);
    }
    TT_OK(tide_log_append(w, 0, recs, 3, NULL, &e));
    /* the payload: valid batches with later base offsets (one of them the
     * exact continuation of the batch carrying them, 3 + 1), then padding */
    tide_buf inner = {0};
    tide_record ir = {.timestamp = 5, .key = "k", .key_len = 1, .value = "v", .value_len = 1};
    TT_OK(tide_batch_encode(&inner, 1000, &ir, 1));
    TT_OK(tide_batch_encode(&inner, 4, &ir, 1));
    TT_OK(tide_buf_append(&inner, "padding!", 8));
    tide_record outer = {.timestamp = 6, .value = inner.data, .value_len = inner.len};
    uint64_t first = 0;
    TT_OK(tide_log_append(w, 0, &outer, 1, &first, &e));
    TT_ASSERT_EQ_INT(first, 3);
    TT_OK(tide_log_writer_close(w, &e));
    tide_buf_free(&inner);

    /* tear the last write 4 bytes short: inside the padding */
    char seg[2400];
    snprintf(seg, sizeof seg, "%s/topics/%s/0/%020d.log", dir, TOPIC, 0);
    struct stat st;
    TT_ASSERT(stat(seg, &st) == 0);
    TT_ASSERT(truncate(seg, st.st_size - 4) == 0);

    int reports = 0;
    o.report_ctx = &reports;
    tide_err_clear(&e);
    int rc = tide_log_writer_open(&w, dir, TOPIC, &o, &e);
    TT_ASSERT_MSG(rc == 0, "recovery of a torn tail failed: %s: %s", tide_err_name(rc), e.msg);
    TT_ASSERT_EQ_INT(tide_log_writer_next(w, 0), 3);
    TT_ASSERT_EQ_INT(reports, 1);
    TT_OK(tide_log_writer_close(w, &e));
    scratch_remove(dir);
}

/* ====================================================================== */
/* A reader whose data vanishes or has a hole never says "nothing new yet"  */
/* ====================================================================== */

/* A topic of one partition in several small segments (fsync=never); fills
 * bases[] with its segments and returns how many, 0 on failure. */
static size_t small_segments(const char *dir, uint64_t *bases, size_t cap, uint64_t *total)
{
    tide_err e = {0};
    tide_topic_config cfg;
    tide_topic_config_default(&cfg);
    cfg.segment_bytes = 1024;
    cfg.fsync = TIDE_FSYNC_NEVER;
    if (tide_topic_create(dir, TOPIC, &cfg, &e))
        return 0;
    tide_log_writer *w = NULL;
    if (tide_log_writer_open(&w, dir, TOPIC, &(tide_log_writer_opts){.report = quiet_report}, &e))
        return 0;
    log_gen_rec g;
    uint64_t n = 0;
    for (; n < 40; n++) {
        log_gen(0, n, FN_VAL_MAX, &g);
        tide_record rec = log_gen_record(&g);
        if (tide_log_append(w, 0, &rec, 1, NULL, &e))
            break;
    }
    tide_log_writer_close(w, &e);
    *total = n;
    char part[2400];
    snprintf(part, sizeof part, "%s/topics/%s/0", dir, TOPIC);
    return n == 40 ? list_segments(part, bases, cap) : 0;
}

/* Read records 0, 1, ... while they are below `stop`; the count read. */
static uint64_t read_until(tide_log_reader *rd, uint64_t stop, char *why)
{
    uint64_t off = 0;
    while (off < stop) {
        tide_record rec;
        tide_err e = {0};
        int rc = tide_log_reader_next(rd, &rec, &e);
        char m[300];
        if (rc || !log_gen_check(&rec, 0, off, FN_VAL_MAX, m, sizeof m)) {
            note(why, "record %llu: %s: %s", (unsigned long long)off, tide_err_name(rc),
                 rc ? e.msg : m);
            break;
        }
        off++;
    }
    return off;
}

/* The data directory is removed while a reader is part-way through a
 * partition (the topic deleted, or a scratch tree cleaned up under a test):
 * the reader has the first segment open and reads it to its end, but then
 * it must say the partition is gone, not TIDE_EAGAIN ("nothing new yet",
 * which a follower would wait on forever and a check reads as data lost). */
static void test_reader_partition_removed_under_it(void)
{
    char dirbuf[2200], why[MSG_MAX] = "";
    const char *dir = scratch_dir(dirbuf, sizeof dirbuf);
    uint64_t bases[16], total = 0;
    size_t nb = small_segments(dir, bases, 16, &total);
    TT_ASSERT_MSG(nb >= 3, "setup: %zu segments", nb);
    tide_log_reader *rd = NULL;
    tide_err e = {0};
    TT_OK(tide_log_reader_open(&rd, dir, TOPIC, 0, &e));
    /* read into the first segment, so the reader holds it open */
    TT_ASSERT_EQ_INT(read_until(rd, bases[1] - 1, why), bases[1] - 1);
    TT_ASSERT_MSG(!why[0], "%s", why);
    char topics[2400];
    snprintf(topics, sizeof topics, "%s/topics", dir);
    TT_OK(tide_io_rmtree(topics, &e));
    tide_record rec;
    int rc = tide_log_reader_next(rd, &rec, &e); /* the last record of the open segment */
    TT_ASSERT_MSG(rc == 0 && rec.offset == bases[1] - 1, "%s: %s", tide_err_name(rc), e.msg);
    tide_err_clear(&e);
    rc = tide_log_reader_next(rd, &rec, &e);
    TT_ASSERT_MSG(rc == TIDE_ENOENT && strstr(e.msg, "no longer exists"),
                  "reader past the end of a segment whose partition was removed: %s (%s), "
                  "want TIDE_ENOENT", tide_err_name(rc), e.msg);
    /* and a reader positioned afresh says so too */
    tide_err_clear(&e);
    rc = tide_log_reader_seek(rd, 0, &e);
    if (rc == 0) {
        tide_err_clear(&e);
        rc = tide_log_reader_next(rd, &rec, &e);
    }
    TT_ASSERT_MSG(rc == TIDE_ENOENT, "seek/next in a removed partition: %s (%s)", tide_err_name(rc),
                  e.msg);
    tide_log_reader_close(rd);
    scratch_remove(dir);
}

/* A segment that is not the last one is empty (a hole: its records are
 * lost).  The reader must report corruption naming it, not TIDE_EAGAIN,
 * which would silently end every read at the hole. */
static void test_reader_empty_middle_segment(void)
{
    char dirbuf[2200], why[MSG_MAX] = "", path[2600];
    const char *dir = scratch_dir(dirbuf, sizeof dirbuf);
    uint64_t bases[16], total = 0;
    size_t nb = small_segments(dir, bases, 16, &total);
    TT_ASSERT_MSG(nb >= 3, "setup: %zu segments", nb);
    snprintf(path, sizeof path, "%s/topics/%s/0/%020llu.log", dir, TOPIC,
             (unsigned long long)bases[1]);
    TT_ASSERT(truncate(path, 0) == 0);
    tide_log_reader *rd = NULL;
    tide_err e = {0};
    TT_OK(tide_log_reader_open(&rd, dir, TOPIC, 0, &e));
    TT_ASSERT_EQ_INT(read_until(rd, bases[1], why), bases[1]);
    TT_ASSERT_MSG(!why[0], "%s", why);
    tide_record rec;
    for (int k = 0; k < 2; k++) { /* and again: the reader stays where it was */
        tide_err_clear(&e);
        int rc = tide_log_reader_next(rd, &rec, &e);
        TT_ASSERT_MSG(rc == TIDE_ECORRUPT && strstr(e.msg, path),
                      "reader at an empty segment %llu followed by others: %s (%s), want "
                      "TIDE_ECORRUPT naming it", (unsigned long long)bases[1], tide_err_name(rc),
                      e.msg);
        TT_ASSERT_EQ_INT(tide_log_reader_position(rd), bases[1]);
    }
    tide_log_reader_close(rd);
    scratch_remove(dir);
}

/* ====================================================================== */
/* Power loss at every step of the administrative life of a topic          */
/* ====================================================================== */

/* A topic is created, written across segment rolls with retention deleting
 * old segments, its consumer group commits three times, and the writer
 * closes (fsync=always), while the power fails at step N, for every N.
 * After the power loss, a model of what each call acknowledged says what
 * the disk must show:
 *   - a topic whose creation returned is there, with its configuration; one
 *     whose creation did not return is absent or complete (never a trap:
 *     creating it again works or says it exists, and then it opens);
 *   - recovery opens it; every acknowledged record is there, nothing beyond
 *     what was attempted, every record served is the generator's;
 *   - the group's offsets are those of the last acknowledged commit or of a
 *     later attempted one (none if no commit returned and none was made);
 *   - a second open repairs nothing (recovery is idempotent).
 * Then a second power loss during that recovery (at every step of it, for a
 * sampled set of first crash points: $TIDE_SEED replays the sample) must
 * leave a disk for which all of the above still holds. */

#define PA_PARTS 2
#define PA_APPENDS 14
#define PA_VAL_MAX 100
#define PA_GROUP "g"
#define PA_COMMITS 3

typedef struct pa_model {
    bool created;                       /* tide_topic_create returned 0 */
    uint64_t acked[PA_PARTS], attempted[PA_PARTS];
    int commits_tried, commits_acked;   /* commits [0, acked) returned 0 */
    uint64_t committed[PA_COMMITS][PA_PARTS];
    char why[MSG_MAX];
} pa_model;

static void pa_config(tide_topic_config *cfg)
{
    tide_topic_config_default(cfg);
    cfg->partitions = PA_PARTS;
    cfg->segment_bytes = 1024;
    cfg->retention_bytes = 2048;
    cfg->fsync = TIDE_FSYNC_ALWAYS;
}

static bool pa_commit(const char *dir, pa_model *m)
{
    int j = m->commits_tried++;
    memcpy(m->committed[j], m->acked, sizeof m->committed[j]);
    tide_err e = {0};
    if (tide_group_commit(dir, PA_GROUP, TOPIC, m->committed[j], PA_PARTS, &e))
        return false;
    m->commits_acked = j + 1;
    return true;
}

/* The administrative run, until its first error. */
static void pa_run(const char *dir, pa_model *m)
{
    memset(m, 0, sizeof *m);
    tide_topic_config cfg;
    pa_config(&cfg);
    tide_err e = {0};
    if (tide_topic_create(dir, TOPIC, &cfg, &e))
        return;
    m->created = true;
    tide_clock_manual clk;
    tide_clock_manual_init(&clk, 1700000000000);
    tide_log_writer_opts o = {.clock = &clk.clock, .report = quiet_report};
    tide_log_writer *w = NULL;
    if (tide_log_writer_open(&w, dir, TOPIC, &o, &e))
        return;
    static log_gen_rec g[16];
    tide_record recs[16];
    bool ok = true;
    for (int i = 0; i < PA_APPENDS && ok; i++) {
        uint32_t p = (uint32_t)i % PA_PARTS, n = 1 + (uint32_t)(i * 7) % 12;
        for (uint32_t j = 0; j < n; j++) {
            log_gen(p, m->acked[p] + j, PA_VAL_MAX, &g[j]);
            recs[j] = log_gen_record(&g[j]);
        }
        uint64_t first = UINT64_MAX;
        tide_err_clear(&e);
        m->attempted[p] = m->acked[p] + n;
        if (tide_log_append(w, p, recs, n, &first, &e)) {
            ok = false;
            break;
        }
        if (first != m->acked[p])
            note(m->why, "append to partition %u at %llu, expected %llu", p,
                 (unsigned long long)first, (unsigned long long)m->acked[p]);
        m->acked[p] += n;
        if (i == 4 || i == 9)
            ok = pa_commit(dir, m);
    }
    tide_err_clear(&e);
    if (ok && tide_log_writer_retain(w, &e) == 0)
        pa_commit(dir, m);
    tide_err_clear(&e);
    tide_log_writer_close(w, &e);
}

/* Recovery as a restarted producer does it: open, one more record per
 * partition, close.  extra[p] says which appends were attempted. */
static void pa_recover(const char *dir, uint64_t extra[PA_PARTS])
{
    tide_err e = {0};
    tide_log_writer *w = NULL;
    if (tide_log_writer_open(&w, dir, TOPIC, &(tide_log_writer_opts){.report = quiet_report}, &e))
        return;
    for (uint32_t p = 0; p < PA_PARTS; p++) {
        log_gen_rec g;
        log_gen(p, tide_log_writer_next(w, p), PA_VAL_MAX, &g);
        tide_record rec = log_gen_record(&g);
        extra[p] = 1;
        tide_err_clear(&e);
        if (tide_log_append(w, p, &rec, 1, NULL, &e))
            break;
    }
    tide_err_clear(&e);
    tide_log_writer_close(w, &e);
}

/* With faults off: the disk keeps every promise of the model; extra[p]
 * records beyond the attempted ones may have been appended by a recovery. */
static bool pa_verify(const char *dir, const pa_model *m, const uint64_t extra[PA_PARTS],
                      char *why)
{
    tide_err e = {0};
    char **names = NULL;
    size_t nnames = 0;
    int rc = tide_topic_list(dir, &names, &nnames, &e);
    tide_topic_names_free(names, nnames);
    if (rc) {
        note(why, "topic list: %s: %s", tide_err_name(rc), e.msg);
        return false;
    }
    tide_topic_config cfg, got;
    pa_config(&cfg);
    if (!m->created) {
        tide_err_clear(&e);
        rc = tide_topic_create(dir, TOPIC, &cfg, &e);
        if (rc != 0 && rc != TIDE_EEXIST) {
            note(why, "re-creating a topic whose creation did not return: %s: %s",
                 tide_err_name(rc), e.msg);
            return false;
        }
    }
    tide_err_clear(&e);
    rc = tide_topic_config_load(dir, TOPIC, &got, &e);
    if (rc || got.partitions != PA_PARTS || got.segment_bytes != cfg.segment_bytes ||
        got.retention_bytes != cfg.retention_bytes || got.fsync != cfg.fsync) {
        note(why, "%s topic: config %s: %s", m->created ? "a created" : "a re-created",
             tide_err_name(rc), e.msg);
        return false;
    }
    int reports = 0;
    tide_log_writer_opts o = {.report = quiet_report, .report_ctx = &reports};
    uint64_t next[PA_PARTS];
    for (int open = 0; open < 2; open++) {
        tide_log_writer *w = NULL;
        reports = 0;
        tide_err_clear(&e);
        rc = tide_log_writer_open(&w, dir, TOPIC, &o, &e);
        if (rc) {
            note(why, "writer open (%s): %s: %s", open ? "second" : "recovery", tide_err_name(rc),
                 e.msg);
            return false;
        }
        bool ok = true;
        for (uint32_t p = 0; p < PA_PARTS && ok; p++) {
            uint64_t nx = tide_log_writer_next(w, p);
            if (open == 0)
                next[p] = nx;
            if (nx != next[p]) {
                note(why, "partition %u: the second open finds next %llu, the first %llu", p,
                     (unsigned long long)nx, (unsigned long long)next[p]);
                ok = false;
            } else if (nx < m->acked[p] || nx > m->attempted[p] + extra[p]) {
                note(why, "partition %u: next offset %llu; acknowledged %llu, attempted %llu%s", p,
                     (unsigned long long)nx, (unsigned long long)m->acked[p],
                     (unsigned long long)m->attempted[p], extra[p] ? " + 1 by a recovery" : "");
                ok = false;
            }
        }
        tide_err_clear(&e);
        tide_log_writer_close(w, &e);
        if (!ok)
            return false;
        if (open == 1 && reports) {
            note(why, "the second open repaired something again (%d reports)", reports);
            return false;
        }
    }
    for (uint32_t p = 0; p < PA_PARTS; p++) {
        tide_log_reader *rd = NULL;
        tide_err_clear(&e);
        rc = tide_log_reader_open(&rd, dir, TOPIC, p, &e);
        if (rc) {
            note(why, "partition %u: reader open: %s: %s", p, tide_err_name(rc), e.msg);
            return false;
        }
        uint64_t off = tide_log_reader_position(rd);
        for (;;) {
            tide_record rec;
            tide_err_clear(&e);
            rc = tide_log_reader_next(rd, &rec, &e);
            if (rc)
                break;
            char msg[300];
            if (!log_gen_check(&rec, p, off, PA_VAL_MAX, msg, sizeof msg)) {
                note(why, "partition %u: %s", p, msg);
                break;
            }
            off++;
        }
        tide_log_reader_close(rd);
        if (why[0])
            return false;
        if (rc != TIDE_EAGAIN || off != next[p]) {
            note(why, "partition %u: read up to %llu ending with %s (%s), next offset %llu", p,
                 (unsigned long long)off, tide_err_name(rc), e.msg, (unsigned long long)next[p]);
            return false;
        }
    }
    uint64_t off[PA_PARTS];
    tide_err_clear(&e);
    rc = tide_group_fetch(dir, PA_GROUP, TOPIC, off, PA_PARTS, &e);
    if (rc) {
        note(why, "group fetch: %s: %s", tide_err_name(rc), e.msg);
        return false;
    }
    bool match = m->commits_acked == 0 && off[0] == TIDE_GROUP_NONE && off[1] == TIDE_GROUP_NONE;
    int from = m->commits_acked ? m->commits_acked - 1 : 0;
    for (int j = from; j < m->commits_tried && !match; j++)
        match = !memcmp(off, m->committed[j], sizeof off);
    if (!match) {
        note(why, "group offsets %llu/%llu: not the last acknowledged commit (%d of %d) or a later "
                  "attempted one", (unsigned long long)off[0], (unsigned long long)off[1],
             m->commits_acked, m->commits_tried);
        return false;
    }
    return true;
}

static void test_powerloss_admin(void)
{
    uint64_t seed = tt_seed(1);
    char dirbuf[2200], tmpl[2200], why[MSG_MAX];
    static pa_model m;
    static const uint64_t none[PA_PARTS];

    /* the fault-free run: its steps, and everything done */
    const char *dir = scratch_dir(dirbuf, sizeof dirbuf);
    tide_io_faults_set(&(tide_io_faults){.seed = seed});
    pa_run(dir, &m);
    long steps = tide_io_steps();
    tide_io_faults_set(NULL);
    TT_ASSERT_MSG(m.created && m.commits_acked == PA_COMMITS && !m.why[0],
                  "fault-free run: created %d, %d commits: %s", m.created, m.commits_acked, m.why);
    why[0] = '\0';
    TT_ASSERT_MSG(pa_verify(dir, &m, none, why), "fault-free run: %s", why);
    {
        tide_log_reader *rd = NULL;
        tide_err e = {0};
        uint64_t first = 0, next = 0;
        TT_OK(tide_log_reader_open(&rd, dir, TOPIC, 0, &e));
        int rc = tide_log_reader_bounds(rd, &first, &next, &e);
        tide_log_reader_close(rd);
        TT_OK(rc);
        TT_ASSERT_MSG(first > 0, "retention deleted nothing: the run does not cover it");
    }
    scratch_remove(dir);

    long second_runs = 0, second_points = 0;
    for (int keep = 0; keep <= 1; keep++) {
        for (long k = 1; k <= steps; k++) {
            uint64_t fseed = seed * 1000003u + (uint64_t)k * 2 + (uint64_t)keep;
            dir = scratch_dir(dirbuf, sizeof dirbuf);
            tide_io_faults_set(&(tide_io_faults){.crash_at_step = k, .seed = fseed});
            pa_run(dir, &m);
            bool crashed = tide_io_crashed();
            tide_err e = {0};
            int prc = tide_io_powerloss(keep, &e);
            TT_ASSERT_MSG(crashed && prc == 0 && !m.why[0], "seed %" PRIu64 " crash at step %ld "
                          "of %ld: crashed %d, power loss %s, %s", fseed, k, steps, crashed,
                          e.msg, m.why);

            /* a second power loss at every step of the recovery, for a
             * sample of the first crash points */
            if (keep == 0 && (uint64_t)k % 9 == seed % 9) {
                second_points++;
                snprintf(tmpl, sizeof tmpl, "%s", dir);
                long rsteps = 0;
                for (long k2 = 0; k2 == 0 || k2 <= rsteps; k2++) {
                    char d2buf[2200];
                    const char *d2 = scratch_dir(d2buf, sizeof d2buf);
                    /* (a crash before anything was made leaves no directory) */
                    TT_ASSERT(access(tmpl, F_OK) == 0 ? copy_tree(tmpl, d2) == 0
                                                      : mkdir(d2, 0755) == 0);
                    uint64_t extra[PA_PARTS] = {0};
                    uint64_t f2 = fseed * 31 + (uint64_t)k2;
                    if (!m.created) {
                        /* the restarted producer re-creates its topic first */
                        tide_topic_config cfg;
                        pa_config(&cfg);
                        tide_io_faults_set(&(tide_io_faults){.crash_at_step = k2, .seed = f2});
                        if (tide_topic_create(d2, TOPIC, &cfg, &e) == 0 || e.code == TIDE_EEXIST)
                            pa_recover(d2, extra);
                    } else {
                        tide_io_faults_set(&(tide_io_faults){.crash_at_step = k2, .seed = f2});
                        pa_recover(d2, extra);
                    }
                    if (k2 == 0) {
                        rsteps = tide_io_steps();
                        tide_io_faults_set(NULL);
                    } else {
                        TT_ASSERT_MSG(tide_io_crashed(), "second crash at step %ld of %ld did "
                                      "not happen", k2, rsteps);
                        TT_OK(tide_io_powerloss(false, &e));
                        second_runs++;
                    }
                    why[0] = '\0';
                    bool ok = pa_verify(d2, &m, extra, why);
                    if (!ok) {
                        TT_SEED(seed);
                        fprintf(stderr, "  dirs kept: %s (after the first crash), %s\n", tmpl, d2);
                    }
                    TT_ASSERT_MSG(ok, "first power loss at step %ld of %ld, second at step %ld "
                                  "of %ld of the recovery: %s", k, steps, k2, rsteps, why);
                    scratch_remove(d2);
                }
            }
            why[0] = '\0';
            bool ok = pa_verify(dir, &m, none, why);
            if (!ok) {
                TT_SEED(seed);
                fprintf(stderr, "  dir kept: %s\n", dir);
            }
            TT_ASSERT_MSG(ok, "power loss at step %ld of %ld (unsynced %s): %s", k, steps,
                          keep ? "kept" : "cut", why);
            scratch_remove(dir);
        }
    }
    fprintf(stderr, "  %ld steps per run, each a crash point (x2: unsynced cut, kept); a second "
            "power loss at each of the recovery steps of %ld sampled points (%ld runs)\n", steps,
            second_points, second_runs);
    TT_ASSERT_MSG(second_runs > 0, "no second power loss was simulated");
}

int main(void)
{
    if (scratch_init() != 0) {
        fprintf(stderr, "no scratch directory\n");
        return 1;
    }
    TT_RUN(test_torn_tail_payload_holds_a_batch);
    TT_RUN(test_reader_partition_removed_under_it);
    TT_RUN(test_reader_empty_middle_segment);
    TT_RUN(test_fail_every_call_in_recovery);
    TT_RUN(test_fail_every_call_always);
    TT_RUN(test_fail_every_call_interval);
    TT_RUN(test_powerloss_always);
    TT_RUN(test_powerloss_interval);
    TT_RUN(test_powerloss_never);
    TT_RUN(test_powerloss_admin);
    tide_io_faults_set(NULL);
    if (!tt_fail)
        tide_io_rmtree(g_base, NULL);
    TT_DONE();
}
