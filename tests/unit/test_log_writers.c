/*
 * Several writers append to one topic at once, from several processes.
 *
 * The model: writer k appends to partition p the records of its own stream
 * (k, p), in order: record j of it is log_gen(stream, j) (log_gen.h) with a
 * 12-byte value prefix naming k and j, so every record read says which
 * writer appended it and where in that writer's sequence it belongs, and its
 * bytes are checked against an independent recomputation.  Each writer logs
 * every acknowledged append (partition, first offset, count, first j) to a
 * file of its own.  Checked against the model:
 *   - a partition's offsets are dense (from its first retained offset);
 *   - each stream appears in order, each record once: j = 0, 1, 2, ...; a
 *     writer that finished has all its records there, one killed mid-run a
 *     prefix holding at least every append it had acknowledged;
 *   - every acknowledged append is at the offsets it was acknowledged with;
 *   - a reader following the topic meanwhile saw exactly the final log's
 *     records, in offset order, each once;
 *   - a torn tail left by a writer that died mid-append is cut and reported by
 *     the next writer that touches the partition (a live one or a new one).
 */
#include "base/err.h"
#include "base/io.h"
#include "log/reader.h"
#include "log/segment.h"
#include "log/topic.h"
#include "log/writer.h"
#include "log_gen.h"
#include "log_tt.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#define VAL_MAX 120
#define TAG 12 /* value prefix: writer (u32), j (u64) */
#define MAXW 8
#define MAXP 4
#define BIG 300
#define DEADLINE_S 300

/* ---- the model ---- */

static uint32_t stream_of(uint32_t k, uint32_t p) { return k * MAXP + p; }

typedef struct mrec {
    log_gen_rec g;
    unsigned char val[TAG + LOG_GEN_VAL_MAX];
} mrec;

/* Record j of writer k's stream into partition p. */
static tide_record model(uint32_t k, uint32_t p, uint64_t j, mrec *m)
{
    log_gen(stream_of(k, p), j, VAL_MAX, &m->g);
    memcpy(m->val, &k, 4);
    memcpy(m->val + 4, &j, 8);
    memcpy(m->val + TAG, m->g.val, m->g.val_len);
    tide_record r = log_gen_record(&m->g);
    r.value = m->val;
    r.value_len = TAG + m->g.val_len;
    return r;
}

/* Which writer and j a record read from partition p claims, checked
 * against the model; false with why on any difference. */
static bool identify(const tide_record *r, uint32_t p, uint32_t *k, uint64_t *j, char *why, size_t cap)
{
    if (r->value_len < TAG) {
        snprintf(why, cap, "partition %u offset %llu: value of %zu bytes has no tag", p,
                 (unsigned long long)r->offset, r->value_len);
        return false;
    }
    memcpy(k, r->value, 4);
    memcpy(j, (const unsigned char *)r->value + 4, 8);
    if (*k >= MAXW) {
        snprintf(why, cap, "partition %u offset %llu: writer %u", p, (unsigned long long)r->offset, *k);
        return false;
    }
    mrec m;
    tide_record x = model(*k, p, *j, &m);
    if (r->timestamp != x.timestamp || (r->key != NULL) != (x.key != NULL) || r->key_len != x.key_len ||
        (x.key_len && memcmp(r->key, x.key, x.key_len)) || r->value_len != x.value_len ||
        memcmp(r->value, x.value, x.value_len)) {
        snprintf(why, cap, "partition %u offset %llu: record differs from writer %u's record %llu", p,
                 (unsigned long long)r->offset, *k, (unsigned long long)*j);
        return false;
    }
    return true;
}

/* Writer k's plan: a list of (partition, count), the same in every process. */
typedef struct step {
    uint32_t part, n;
} step;

static size_t make_plan(uint64_t seed, uint32_t k, uint32_t parts, size_t steps, step *out,
                        uint64_t total[MAXP])
{
    uint64_t s = seed * 7919 + k;
    memset(total, 0, MAXP * sizeof *total);
    for (size_t i = 0; i < steps; i++) {
        uint64_t r = tt_rand(&s);
        uint32_t n = r % 61 == 0 ? BIG : 1 + (uint32_t)((r >> 8) % 16);
        uint32_t p = (uint32_t)((r >> 32) % parts);
        out[i] = (step){p, n};
        total[p] += n;
    }
    return steps;
}

/* One acknowledged append, as a writer logs it. */
typedef struct ack {
    uint32_t part, n;
    uint64_t first, j0;
} ack;

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

static bool write_all(int fd, const void *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p = (const char *)p + w;
        n -= (size_t)w;
    }
    return true;
}

/* Reports of a writer in a child go to a file (one line each). */
static void report_to_fd(void *ctx, const char *msg)
{
    int fd = *(int *)ctx;
    char line[600];
    int n = snprintf(line, sizeof line, "%s\n", msg);
    if (n > 0)
        write_all(fd, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

/* A writer process: append the plan, log each acknowledged append to
 * ack_fd; after `signal_after` acks write one byte to sig_fd (-1: never). */
static int writer_main(const char *dir, const char *topic, uint32_t k, const step *plan, size_t nsteps,
                       int ack_fd, int rep_fd, int sig_fd, size_t signal_after)
{
    tide_err e = {0};
    tide_log_writer *w = NULL;
    tide_log_writer_opts o = {.report = report_to_fd, .report_ctx = &rep_fd};
    if (tide_log_writer_open(&w, dir, topic, &o, &e)) {
        fprintf(stderr, "writer %u: open: %s\n", k, e.msg);
        return 1;
    }
    static mrec m[BIG];
    static tide_record recs[BIG];
    uint64_t next[MAXP] = {0};
    int rc = 0;
    for (size_t i = 0; i < nsteps && !rc; i++) {
        uint32_t p = plan[i].part, n = plan[i].n;
        for (uint32_t x = 0; x < n; x++)
            recs[x] = model(k, p, next[p] + x, &m[x]);
        uint64_t first = 0;
        if ((rc = tide_log_append(w, p, recs, n, &first, &e))) {
            fprintf(stderr, "writer %u: append: %s\n", k, e.msg);
            break;
        }
        ack a = {p, n, first, next[p]};
        if (!write_all(ack_fd, &a, sizeof a))
            rc = 1;
        next[p] += n;
        if (sig_fd >= 0 && i + 1 == signal_after && !write_all(sig_fd, "k", 1))
            rc = 1;
    }
    if (tide_log_writer_close(w, &e) && !rc) {
        fprintf(stderr, "writer %u: close: %s\n", k, e.msg);
        rc = 1;
    }
    return rc ? 1 : 0;
}

static ack *read_acks(const char *path, size_t *n)
{
    size_t len = 0;
    char *data = lt_read_file(path, &len);
    *n = data ? len / sizeof(ack) : 0; /* a killed writer may leave a partial one */
    return (ack *)data;
}

/* What one partition holds: (writer, j) per offset from `first`. */
typedef struct seen {
    uint64_t first, n, cap;
    uint32_t *k;
    uint64_t *j;
} seen;

static bool seen_push(seen *s, uint32_t k, uint64_t j)
{
    if (s->n == s->cap) {
        uint64_t nc = s->cap ? s->cap * 2 : 1024;
        uint32_t *nk = realloc(s->k, nc * sizeof *nk);
        if (!nk)
            return false;
        s->k = nk;
        uint64_t *nj = realloc(s->j, nc * sizeof *nj);
        if (!nj)
            return false;
        s->j = nj;
        s->cap = nc;
    }
    s->k[s->n] = k;
    s->j[s->n++] = j;
    return true;
}

static void seen_free(seen *s)
{
    free(s->k);
    free(s->j);
    memset(s, 0, sizeof *s);
}

/* Take in the next record of partition p: offsets dense, each stream in
 * order from where it was (`expect_j`; a stream first seen after retention
 * may start anywhere when `loose`). */
static bool take(seen *s, const tide_record *r, uint32_t p, uint64_t expect_j[MAXW], bool loose[MAXW],
                 char *why, size_t cap)
{
    if (r->offset != s->first + s->n) {
        snprintf(why, cap, "partition %u: offset %llu, expected %llu (offsets not dense)", p,
                 (unsigned long long)r->offset, (unsigned long long)(s->first + s->n));
        return false;
    }
    uint32_t k;
    uint64_t j;
    if (!identify(r, p, &k, &j, why, cap))
        return false;
    if (loose && loose[k]) {
        loose[k] = false;
        expect_j[k] = j;
    }
    if (j != expect_j[k]) {
        snprintf(why, cap,
                 "partition %u offset %llu: writer %u's record %llu, expected its record %llu "
                 "(lost, repeated or out of order)",
                 p, (unsigned long long)r->offset, k, (unsigned long long)j,
                 (unsigned long long)expect_j[k]);
        return false;
    }
    expect_j[k]++;
    if (!seen_push(s, k, j)) {
        snprintf(why, cap, "out of memory");
        return false;
    }
    return true;
}

/* Read partition p from `from` to its end into s (a fresh reader). */
static bool read_all(const char *dir, const char *topic, uint32_t p, uint64_t from, seen *s,
                     uint64_t expect_j[MAXW], bool loose[MAXW], char *why, size_t cap)
{
    tide_err e = {0};
    tide_log_reader *r = NULL;
    s->first = from;
    if (tide_log_reader_open(&r, dir, topic, p, &e) || tide_log_reader_seek(r, from, &e)) {
        snprintf(why, cap, "reader of partition %u: %s", p, e.msg);
        tide_log_reader_close(r);
        return false;
    }
    bool ok = true;
    for (;;) {
        tide_record rec;
        tide_err_clear(&e);
        int rc = tide_log_reader_next(r, &rec, &e);
        if (rc == TIDE_EAGAIN)
            break;
        if (rc) {
            snprintf(why, cap, "partition %u: %s", p, e.msg);
            ok = false;
            break;
        }
        if (!(ok = take(s, &rec, p, expect_j, loose, why, cap)))
            break;
    }
    tide_log_reader_close(r);
    return ok;
}

/* Every acknowledged append of writer k is where it was acknowledged. */
static bool acks_present(const seen *parts, uint32_t k, const ack *a, size_t na, char *why, size_t cap)
{
    for (size_t i = 0; i < na; i++) {
        const seen *s = &parts[a[i].part];
        for (uint32_t x = 0; x < a[i].n; x++) {
            uint64_t off = a[i].first + x;
            if (off < s->first)
                continue; /* removed by retention */
            if (off - s->first >= s->n || s->k[off - s->first] != k || s->j[off - s->first] != a[i].j0 + x) {
                snprintf(why, cap,
                         "writer %u: acknowledged record %llu at partition %u offset %llu is not there", k,
                         (unsigned long long)(a[i].j0 + x), a[i].part, (unsigned long long)off);
                return false;
            }
        }
    }
    return true;
}

static int reports_matching(const char *path, const char *what)
{
    size_t len = 0;
    char *d = lt_read_file(path, &len);
    if (d)
        d[len] = '\0'; /* lt_read_file leaves room for it */
    int n = 0;
    for (char *q = d; q && (q = strstr(q, what)); q += strlen(what))
        n++;
    free(d);
    return n;
}

/* ---- several writers at once, one killed, a reader following ---- */

#define W 4        /* writer processes; the last is killed */
#define PARTS 3
#define STEPS 900
#define KILL_AFTER 150
#define VSTEPS (STEPS * 40) /* the victim's plan: far more than it gets to do */

static step g_plan[W - 1][STEPS], g_vplan[VSTEPS];
static uint64_t g_total[W][MAXP];

static void test_concurrent(void)
{
    const char *dir = tt_tmpdir("test_log_writers");
    TT_ASSERT(dir != NULL);
    const char *topic = "many";
    const uint64_t seed = 20261207;
    TT_SEED(seed);
    TT_OK(lt_topic(dir, topic, PARTS, 48 << 10, "interval:20"));
    for (uint32_t k = 0; k + 1 < W; k++)
        make_plan(seed, k, PARTS, STEPS, g_plan[k], g_total[k]);
    make_plan(seed, W - 1, PARTS, VSTEPS, g_vplan, g_total[W - 1]);

    char ackp[W][4300], repp[W][4300];
    pid_t pid[W];
    int sig[2];
    TT_ASSERT(pipe(sig) == 0);
    fflush(NULL);
    for (uint32_t k = 0; k < W; k++) {
        snprintf(ackp[k], sizeof ackp[k], "%s/acks.%u", dir, k);
        snprintf(repp[k], sizeof repp[k], "%s/reports.%u", dir, k);
        pid[k] = fork();
        TT_ASSERT(pid[k] >= 0);
        if (pid[k] == 0) {
            close(sig[0]);
            int afd = open(ackp[k], O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
            int rfd = open(repp[k], O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
            if (afd < 0 || rfd < 0)
                _exit(1);
            if (k == W - 1)
                _exit(writer_main(dir, topic, k, g_vplan, VSTEPS, afd, rfd, sig[1], KILL_AFTER));
            _exit(writer_main(dir, topic, k, g_plan[k], STEPS, afd, rfd, -1, 0));
        }
    }
    close(sig[1]);
    fcntl(sig[0], F_SETFL, O_NONBLOCK);

    /* follow every partition while they write */
    tide_err e = {0};
    tide_log_reader *r[PARTS] = {0};
    seen fol[PARTS] = {{0}};
    uint64_t fj[PARTS][MAXW] = {{0}};
    char why[600] = "";
    bool ok = true, killed = false;
    int status[W] = {0};
    bool done[W] = {0};
    uint32_t ndone = 0;
    uint64_t end[PARTS] = {0};
    bool have_end = false;
    int64_t deadline = mono_ms() + DEADLINE_S * 1000;
    for (uint32_t p = 0; p < PARTS && ok; p++)
        if (tide_log_reader_open(&r[p], dir, topic, p, &e)) {
            snprintf(why, sizeof why, "reader open: %s", e.msg);
            ok = false;
        }
    while (ok) {
        bool any = false;
        for (uint32_t p = 0; p < PARTS && ok; p++)
            for (int burst = 0; burst < 256 && ok; burst++) {
                tide_record rec;
                tide_err_clear(&e);
                int rc = tide_log_reader_next(r[p], &rec, &e);
                if (rc == TIDE_EAGAIN)
                    break;
                if (rc) {
                    snprintf(why, sizeof why, "follower, partition %u: %s: %s", p, tide_err_name(rc), e.msg);
                    ok = false;
                    break;
                }
                ok = take(&fol[p], &rec, p, fj[p], NULL, why, sizeof why);
                any = true;
            }
        char c;
        if (!killed && read(sig[0], &c, 1) == 1) {
            kill(pid[W - 1], SIGKILL);
            killed = true;
        }
        for (uint32_t k = 0; k < W; k++)
            if (!done[k] && waitpid(pid[k], &status[k], WNOHANG) == pid[k]) {
                done[k] = true;
                ndone++;
            }
        if (ndone == W && !have_end) {
            /* a new writer continues the log after all of them */
            tide_log_writer *y = NULL;
            lt_reports rep = {0};
            tide_log_writer_opts o = {.report = lt_report, .report_ctx = &rep};
            if (tide_log_writer_open(&y, dir, topic, &o, &e)) {
                snprintf(why, sizeof why, "new writer: %s", e.msg);
                ok = false;
                break;
            }
            for (uint32_t p = 0; p < PARTS && ok; p++) {
                mrec m[5];
                tide_record rs[5];
                for (uint32_t x = 0; x < 5; x++)
                    rs[x] = model(W, p, x, &m[x]);
                uint64_t first = 0;
                if (tide_log_append(y, p, rs, 5, &first, &e)) {
                    snprintf(why, sizeof why, "new writer: append: %s", e.msg);
                    ok = false;
                }
                end[p] = first + 5;
            }
            if (tide_log_writer_close(y, &e) && ok) {
                snprintf(why, sizeof why, "new writer: close: %s", e.msg);
                ok = false;
            }
            have_end = true;
        }
        if (have_end) {
            bool all = true;
            for (uint32_t p = 0; p < PARTS; p++)
                all &= fol[p].n == end[p];
            if (all)
                break;
        }
        if (mono_ms() > deadline) {
            snprintf(why, sizeof why, "deadline: %u writers done", ndone);
            ok = false;
        }
        if (!any)
            nap_1ms();
    }
    for (uint32_t p = 0; p < PARTS; p++)
        tide_log_reader_close(r[p]);
    close(sig[0]);
    for (uint32_t k = 0; k < W; k++)
        if (!done[k]) {
            kill(pid[k], SIGKILL);
            waitpid(pid[k], &status[k], 0);
        }
    TT_ASSERT_MSG(ok, "%s", why);
    TT_ASSERT(killed);
    for (uint32_t k = 0; k + 1 < W; k++)
        TT_ASSERT_MSG(WIFEXITED(status[k]) && WEXITSTATUS(status[k]) == 0, "writer %u failed", k);
    TT_ASSERT_MSG(WIFSIGNALED(status[W - 1]), "the victim was not killed");

    /* the final log, read again from the start, is what the follower saw */
    seen fin[PARTS] = {{0}};
    uint64_t have[PARTS][MAXW] = {{0}};
    for (uint32_t p = 0; p < PARTS; p++) {
        TT_ASSERT_MSG(read_all(dir, topic, p, 0, &fin[p], have[p], NULL, why, sizeof why), "%s", why);
        TT_ASSERT_EQ_INT(fin[p].n, end[p]);
        TT_ASSERT_EQ_INT(fol[p].n, fin[p].n);
        TT_ASSERT(!memcmp(fol[p].k, fin[p].k, fin[p].n * sizeof *fin[p].k));
        TT_ASSERT(!memcmp(fol[p].j, fin[p].j, fin[p].n * sizeof *fin[p].j));
        for (uint32_t k = 0; k + 1 < W; k++)
            TT_ASSERT_MSG(have[p][k] == g_total[k][p], "partition %u: writer %u has %llu records of %llu", p,
                          k, (unsigned long long)have[p][k], (unsigned long long)g_total[k][p]);
        TT_ASSERT(have[p][W - 1] <= g_total[W - 1][p]);
        TT_ASSERT_EQ_INT(have[p][W], 5);
    }
    /* acknowledged appends are where they were acknowledged; the victim's too */
    size_t acked = 0;
    for (uint32_t k = 0; k < W; k++) {
        size_t na = 0;
        ack *a = read_acks(ackp[k], &na);
        acked += na;
        bool good = acks_present(fin, k, a, na, why, sizeof why);
        free(a);
        TT_ASSERT_MSG(good, "%s", why);
        if (k + 1 < W)
            TT_ASSERT_EQ_INT(na, STEPS);
        else
            TT_ASSERT(na >= KILL_AFTER && na < VSTEPS);
    }
    /* how much the writers interleaved (not asserted: it depends on timing) */
    uint64_t switches = 0;
    for (uint32_t p = 0; p < PARTS; p++)
        for (uint64_t i = 1; i < fin[p].n; i++)
            switches += fin[p].k[i] != fin[p].k[i - 1];
    int torn = 0;
    for (uint32_t k = 0; k + 1 < W; k++)
        torn += reports_matching(repp[k], "truncated a torn tail");
    fprintf(stderr,
            "  %zu appends acknowledged; %llu+%llu+%llu records; %llu changes of writer between "
            "neighbouring records; torn tails cut by live writers: %d\n",
            acked, (unsigned long long)end[0], (unsigned long long)end[1], (unsigned long long)end[2],
            (unsigned long long)switches, torn);
    for (uint32_t p = 0; p < PARTS; p++) {
        seen_free(&fol[p]);
        seen_free(&fin[p]);
    }
}

/* ---- a writer dies at each write of an append that rolls ---- */

/* Append writer k's records [from, from + n) of partition 0; the first offset. */
static int append_k(tide_log_writer *w, uint32_t k, uint64_t from, uint32_t n, uint64_t *first, tide_err *e)
{
    static mrec m[BIG];
    static tide_record rs[BIG];
    for (uint32_t x = 0; x < n; x++)
        rs[x] = model(k, 0, from + x, &m[x]);
    return tide_log_append(w, 0, rs, n, first, e);
}

/* Does the last segment of `pdir` end in an incomplete or bad batch? */
static bool torn_now(const char *pdir)
{
    uint64_t bases[256];
    size_t nb = lt_segments(pdir, bases, 256);
    char path[TIDE_SEG_PATH_MAX];
    tide_err e = {0};
    tide_file *f = NULL;
    if (!nb || tide_seg_path(path, pdir, bases[nb - 1], ".log", &e) || tide_io_open(&f, path, TIDE_IO_READ, &e))
        return false;
    tide_seg_index ix;
    tide_seg_index_init(&ix, false);
    tide_buf buf = {0};
    tide_seg_scan sc;
    bool torn = !tide_seg_scan_file(f, 0, bases[nb - 1], &ix, &buf, &sc, &e) && sc.tail != TIDE_SEG_CLEAN;
    tide_buf_free(&buf);
    tide_io_close(f);
    return torn;
}

/* Writer X (here) fills most of a segment; writer V (a child) appends a batch
 * that makes the segment roll, and fails at a step of that append, for each
 * step in turn until the append completes:
 *   - crash: its process dies at its n-th write (tide_io's simulated crash:
 *     that write is torn, nothing after it happens): a torn seal, a new
 *     segment with a torn index, a torn batch in the new segment;
 *   - fail: its n-th I/O call fails (EIO) and it exits at once: a seal with
 *     no next segment, a new segment without an index, ...
 * X appends on (catching up with whatever V left), rolls again, and a new
 * writer opens: nothing to repair by then, the log dense and every record of
 * X's in order, V's a prefix of its append. */
static void dead_writer(bool crash)
{
    const char *dir = tt_tmpdir("test_log_writers_torn");
    TT_ASSERT(dir != NULL);
    int tears = 0;
    bool completed = false;
    for (long n = 1; n <= 60 && !completed; n++) {
        char topic[32], pdir[4300], why[600] = "";
        snprintf(topic, sizeof topic, "%s%ld", crash ? "crash" : "fail", n);
        snprintf(pdir, sizeof pdir, "%s/topics/%s/0", dir, topic);
        TT_OK(lt_topic(dir, topic, 1, 32 << 10, "never"));
        tide_err e = {0};
        tide_log_writer *x = NULL;
        lt_reports rx = {0};
        TT_OK(tide_log_writer_open(&x, dir, topic, &(tide_log_writer_opts){.report = lt_report, .report_ctx = &rx},
                                   &e));
        uint64_t xj = 0, first = 0, expect = 0, bases[64];
        char seg0[4400];
        snprintf(seg0, sizeof seg0, "%s/%020d.log", pdir, 0);
        while (lt_size(seg0) < (24u << 10)) { /* V's 120 records will not fit */
            TT_OK(append_k(x, 0, xj, 20, &first, &e));
            TT_ASSERT_EQ_INT(first, expect);
            expect += 20;
            xj += 20;
        }
        TT_ASSERT_EQ_INT(lt_segments(pdir, bases, 64), 1);
        fflush(NULL);
        pid_t pid = fork();
        TT_ASSERT(pid >= 0);
        if (pid == 0) {
            tide_log_writer *v = NULL;
            tide_err ve = {0};
            int devnull = open("/dev/null", O_WRONLY);
            tide_log_writer_opts o = {.report = report_to_fd, .report_ctx = &devnull};
            if (tide_log_writer_open(&v, dir, topic, &o, &ve))
                _exit(1);
            if (crash)
                tide_io_faults_set(&(tide_io_faults){.crash_at_write = n, .seed = (uint64_t)n});
            else
                tide_io_faults_set(&(tide_io_faults){.fail_at = n});
            int rc = append_k(v, 1, 0, 120, NULL, &ve);
            _exit(rc == 0 ? 0 : rc == (crash ? TIDE_ECRASH : TIDE_EIO) ? 3 : 1); /* no close: gone */
        }
        int st = 0;
        TT_ASSERT(waitpid(pid, &st, 0) == pid && WIFEXITED(st));
        TT_ASSERT_MSG(WEXITSTATUS(st) == 0 || WEXITSTATUS(st) == 3, "writer V failed otherwise (%d)",
                      WEXITSTATUS(st));
        completed = WEXITSTATUS(st) == 0;
        bool torn = torn_now(pdir);
        tears += torn;
        /* X goes on, and rolls at least once more */
        size_t segs = lt_segments(pdir, bases, 64);
        TT_ASSERT(segs <= 2);
        while (lt_segments(pdir, bases, 64) < 3) {
            TT_OK(append_k(x, 0, xj, 20, &first, &e));
            TT_ASSERT(first >= expect);
            expect = first + 20;
            xj += 20;
        }
        fprintf(stderr, "  V %s at %s %ld: %s; X reported: %s\n", crash ? "dies" : "fails",
                crash ? "write" : "I/O call", n,
                completed ? "the append completed" : torn ? "a torn batch" : "no torn batch",
                rx.n ? rx.last : "nothing");
        if (torn)
            TT_ASSERT_MSG(rx.n >= 1 && strstr(rx.last, "truncated a torn tail"), "n=%ld: %d reports: %s", n,
                          rx.n, rx.last);
        TT_OK(tide_log_writer_close(x, &e));
        tide_log_writer *z = NULL;
        lt_reports rz = {0};
        TT_OK(tide_log_writer_open(&z, dir, topic, &(tide_log_writer_opts){.report = lt_report, .report_ctx = &rz},
                                   &e));
        TT_ASSERT_MSG(rz.n == 0, "n=%ld: %s", n, rz.last);
        TT_OK(append_k(z, 2, 0, 5, &first, &e));
        TT_OK(tide_log_writer_close(z, &e));
        seen s = {0};
        uint64_t have[MAXW] = {0};
        bool good = read_all(dir, topic, 0, 0, &s, have, NULL, why, sizeof why);
        seen_free(&s);
        TT_ASSERT_MSG(good, "n=%ld: %s", n, why);
        TT_ASSERT_EQ_INT(have[0], xj);
        TT_ASSERT(have[1] <= 120 && (!completed || have[1] == 120));
        TT_ASSERT_EQ_INT(have[2], 5);
    }
    TT_ASSERT_MSG(completed, "writer V's append never completed");
    TT_ASSERT_MSG(!crash || tears >= 1, "no n tore a batch of the segment");
}

static void test_writer_dies_mid_append(void) { dead_writer(true); }
static void test_writer_fails_mid_append(void) { dead_writer(false); }

/* ---- rolls and retention by several writers ---- */

#define RW 3
#define RSTEPS 600
#define RPARTS 2
#define RET_BYTES (256u << 10)
#define RSEG (16u << 10)

static step g_rplan[RW][RSTEPS];
static uint64_t g_rtotal[RW][MAXP];

static void test_retention(void)
{
    const char *dir = tt_tmpdir("test_log_writers_ret");
    TT_ASSERT(dir != NULL);
    const char *topic = "ret";
    const uint64_t seed = 77;
    TT_SEED(seed);
    tide_topic_config c;
    tide_topic_config_default(&c);
    c.partitions = RPARTS;
    c.segment_bytes = RSEG;
    c.retention_bytes = RET_BYTES;
    c.fsync = TIDE_FSYNC_NEVER;
    tide_err e = {0};
    TT_OK(tide_topic_create(dir, topic, &c, &e));
    char ackp[RW][4300];
    pid_t pid[RW];
    fflush(NULL);
    for (uint32_t k = 0; k < RW; k++) {
        make_plan(seed, k, RPARTS, RSTEPS, g_rplan[k], g_rtotal[k]);
        snprintf(ackp[k], sizeof ackp[k], "%s/acks.%u", dir, k);
        pid[k] = fork();
        TT_ASSERT(pid[k] >= 0);
        if (pid[k] == 0) {
            int afd = open(ackp[k], O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
            int rfd = open("/dev/null", O_WRONLY);
            _exit(afd < 0 ? 1 : writer_main(dir, topic, k, g_rplan[k], RSTEPS, afd, rfd, -1, 0));
        }
    }
    for (uint32_t k = 0; k < RW; k++) {
        int st = 0;
        TT_ASSERT(waitpid(pid[k], &st, 0) == pid[k]);
        TT_ASSERT_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "writer %u failed", k);
    }
    /* a new writer's open checks every segment's continuity */
    tide_log_writer *z = NULL;
    lt_reports rz = {0};
    TT_OK(tide_log_writer_open(&z, dir, topic, &(tide_log_writer_opts){.report = lt_report, .report_ctx = &rz}, &e));
    TT_ASSERT_MSG(rz.n == 0, "%s", rz.last);
    uint64_t next[RPARTS];
    for (uint32_t p = 0; p < RPARTS; p++)
        next[p] = tide_log_writer_next(z, p);
    TT_OK(tide_log_writer_close(z, &e));
    seen s[RPARTS] = {{0}};
    char why[600] = "";
    for (uint32_t p = 0; p < RPARTS; p++) {
        char pdir[4300], path[4400];
        snprintf(pdir, sizeof pdir, "%s/topics/%s/%u", dir, topic, p);
        uint64_t bases[4096];
        size_t nb = lt_segments(pdir, bases, 4096);
        TT_ASSERT(nb >= 1 && nb < 4096);
        uint64_t sealed = 0, all = 0, expect_total = 0;
        for (size_t i = 0; i < nb; i++) {
            snprintf(path, sizeof path, "%s/%020llu.log", pdir, (unsigned long long)bases[i]);
            all += lt_size(path);
            if (i + 1 < nb)
                sealed += lt_size(path);
        }
        for (uint32_t k = 0; k < RW; k++)
            expect_total += g_rtotal[k][p];
        /* retention ran after the last roll: the sealed segments fit, and it
         * did not delete more than one segment too many */
        TT_ASSERT_MSG(nb == 1 || sealed <= RET_BYTES, "partition %u: %llu bytes sealed", p,
                      (unsigned long long)sealed);
        TT_ASSERT_MSG(bases[0] > 0 && sealed + RSEG + (64u << 10) + 4096 > RET_BYTES,
                      "partition %u: %llu bytes sealed from offset %llu", p, (unsigned long long)sealed,
                      (unsigned long long)bases[0]);
        TT_ASSERT_EQ_INT(next[p], expect_total);
        /* what is left: dense from the first retained offset, every stream in order */
        uint64_t have[MAXW] = {0};
        bool loose[MAXW];
        for (int k = 0; k < MAXW; k++)
            loose[k] = true;
        TT_ASSERT_MSG(read_all(dir, topic, p, bases[0], &s[p], have, loose, why, sizeof why), "%s", why);
        TT_ASSERT_EQ_INT(s[p].first + s[p].n, next[p]);
        (void)all;
    }
    for (uint32_t k = 0; k < RW; k++) {
        size_t na = 0;
        ack *a = read_acks(ackp[k], &na);
        bool good = na == RSTEPS && acks_present(s, k, a, na, why, sizeof why);
        free(a);
        TT_ASSERT_MSG(good, "writer %u: %zu acks: %s", k, na, why);
    }
    for (uint32_t p = 0; p < RPARTS; p++)
        seen_free(&s[p]);
}

/* ---- the index, written by several writers ---- */

/* Two writers (handles of one process: the locks exclude them as they would
 * two processes) append alternately to one large segment, each call a few
 * batches of more than the index interval, so both buffer entries, flush
 * them (every 64) and catch up with the other's; one also syncs, both close.
 * The index file must then be exactly the index a scan of the segment
 * derives: every entry once, in order, none missing, the file clean. */
static void test_index_by_two_writers(void)
{
    const char *dir = tt_tmpdir("test_log_writers_idx");
    TT_ASSERT(dir != NULL);
    TT_OK(lt_topic(dir, "idx", 1, 1u << 30, "never"));
    tide_err e = {0};
    tide_log_writer *w[2] = {0};
    TT_OK(tide_log_writer_open(&w[0], dir, "idx", NULL, &e));
    TT_OK(tide_log_writer_open(&w[1], dir, "idx", NULL, &e));
    uint64_t j[2] = {0}, s = 99;
    for (int call = 0; call < 300; call++) {
        uint32_t k = (uint32_t)(tt_rand(&s) % 3 != 0 ? call % 2 : (call + 1) % 2);
        uint32_t n = BIG - (uint32_t)(tt_rand(&s) % 100);
        TT_OK(append_k(w[k], k, j[k], n, NULL, &e));
        j[k] += n;
        if (call == 150)
            TT_OK(tide_log_writer_sync(w[1], &e));
    }
    TT_OK(tide_log_writer_close(w[0], &e));
    TT_OK(tide_log_writer_close(w[1], &e));
    char seg[4300], idx[4300];
    snprintf(seg, sizeof seg, "%s/topics/idx/0/%020d.log", dir, 0);
    snprintf(idx, sizeof idx, "%s/topics/idx/0/%020d.idx", dir, 0);
    tide_file *f = NULL;
    TT_OK(tide_io_open(&f, seg, TIDE_IO_READ, &e));
    tide_seg_index ix;
    tide_seg_index_init(&ix, true);
    tide_buf buf = {0};
    tide_seg_scan sc;
    int rc = tide_seg_scan_file(f, 0, 0, &ix, &buf, &sc, &e);
    tide_buf_free(&buf);
    tide_io_close(f);
    tide_seg_idx_file file = {0};
    if (!rc)
        rc = tide_seg_idx_load(idx, 0, &file, &e);
    bool same = !rc && sc.tail == TIDE_SEG_CLEAN && file.clean && !file.sealed && file.n == ix.n &&
                ix.n > 2 * 64 && !memcmp(file.v, ix.v, ix.n * sizeof *ix.v);
    fprintf(stderr, "  %llu records in %u batches; %zu index entries derived, %zu in the file (%s)\n",
            (unsigned long long)sc.next_offset, sc.batches, ix.n, file.n, file.clean ? "clean" : "not clean");
    tide_seg_idx_file_free(&file);
    tide_seg_index_free(&ix);
    TT_ASSERT(same);
    seen sn = {0};
    uint64_t have[MAXW] = {0};
    char why[600] = "";
    bool good = read_all(dir, "idx", 0, 0, &sn, have, NULL, why, sizeof why);
    seen_free(&sn);
    TT_ASSERT_MSG(good, "%s", why);
    TT_ASSERT(have[0] == j[0] && have[1] == j[1]);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    TT_RUN(test_concurrent);
    TT_RUN(test_writer_dies_mid_append);
    TT_RUN(test_writer_fails_mid_append);
    TT_RUN(test_retention);
    TT_RUN(test_index_by_two_writers);
    TT_DONE();
}
