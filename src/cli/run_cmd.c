/*
 * run_cmd.c - `tide run FILE.sql` and `tide explain FILE.sql`.
 *
 * run: compile the script (sql/binder.h), plan each INSERT / bare query
 * (sql/physical.h) and run it as a job (job/job.h), one after the other;
 * a named job (--job) plans all of them into one graph, one job
 * (tide_sql_physical_set).  SQL errors are printed with the caret and exit 1; runtime errors
 * exit 2.  After each query a summary goes to stderr:
 *   records in N, out N, late N, bad N
 * Ctrl-C (SIGINT) or SIGTERM stops the running query cleanly: the signal
 * handler writes a byte to a self-pipe; a watcher thread reads it and calls
 * tide_job_cancel.  The output written so far is committed and the
 * remaining queries are skipped.
 *
 * Relative 'path' options of the script's tables resolve against the
 * directory of the .sql file.
 */
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/produce.h"
#include "connect/sink.h"
#include "log/topic.h"
#include "job/coord.h"
#include "job/job.h"
#include "job/progress.h"
#include "data/timefmt.h"
#include "sql/binder.h"
#include "sql/catalog.h"
#include "sql/physical.h"
#include "sql/parser.h"
#include "sql/plan.h"
#include "tide.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <time.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char run_usage[] =
    "Usage: tide run FILE.sql [--parallelism P] [--format table|csv|jsonl]\n"
    "                [--dead-letter FILE|topic:NAME]\n"
    "                [--job NAME [--checkpoint-interval DUR]]\n"
    "\n"
    "Compile a SQL script and run its INSERT statements and queries, one after\n"
    "the other.  A bare SELECT prints its rows on stdout: an aligned table on a\n"
    "terminal, CSV with a header otherwise (or as --format says); a changelog\n"
    "(early or late firings, GROUP BY without a window) gets an 'op' column\n"
    "first: +I, -U, +U, -D.  Relative 'path' options resolve against the\n"
    "directory of FILE.sql.  With bounded sources (files, the logins generator)\n"
    "the run ends after the last result; Ctrl-C stops an unbounded one.  A\n"
    "summary line goes to stderr per query:\n"
    "  records in N, out N, late N, bad N\n"
    "Each bad record of a source (undecodable, without an event time or one\n"
    "outside the TIMESTAMP range) is reported on stderr as \"tide: WHERE: why\"\n"
    "(the first 10 of a run; the rest are counted), and with --dead-letter, or a\n"
    "table's 'dead-letter' option (a file or topic:NAME), all of them are kept\n"
    "there as JSON lines {\"reason\", \"position\", \"raw\"}.\n"
    "\n"
    "Options:\n"
    "  --parallelism P     aggregation instances (default: number of cores)\n"
    "  --format F          table, csv or jsonl (for queries printed on stdout)\n"
    "  --dead-letter DEST  also write every bad record to DEST: a file (appended\n"
    "                      to) or topic:NAME (created if missing)\n"
    "  --job NAME          run the script as the named job NAME: its statements\n"
    "                      (INSERTs and at most one bare query) run together as\n"
    "                      one graph, a table read by several scanned once; its\n"
    "                      checkpoints live in DATA/jobs/NAME; running NAME again\n"
    "                      resumes from its newest checkpoint (one run at a time)\n"
    "  --checkpoint-interval DUR\n"
    "                      a named job's checkpoint period (default 1s; 0: only\n"
    "                      the final checkpoint, at the end of the input or on\n"
    "                      Ctrl-C / SIGTERM)\n"
    "\n"
    "Exit status: 0 success, 1 SQL or usage error, 2 runtime error.\n";

static const char explain_usage[] =
    "Usage: tide explain FILE.sql\n"
    "\n"
    "Compile a SQL script and print, for each INSERT statement and query, its\n"
    "logical plan and the physical graph it runs as: the nodes (with their\n"
    "parallelism) and the edges between them (chained into one task, or a\n"
    "forward, hash, broadcast or gather exchange).\n"
    "\n"
    "Exit status: 0 success, 1 SQL or usage error, 2 runtime error.\n";

static int read_file(const char *path, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        tide_cli_error("%s: %s", path, strerror(errno));
        return TIDE_CLI_RUNTIME;
    }
    size_t cap = 4096, n = 0;
    char *b = malloc(cap);
    while (b) {
        size_t r = fread(b + n, 1, cap - n, f);
        n += r;
        if (n < cap)
            break;
        char *nb = realloc(b, cap * 2);
        if (!nb) {
            free(b);
            b = NULL;
            break;
        }
        b = nb;
        cap *= 2;
    }
    bool bad = ferror(f);
    fclose(f);
    if (!b || bad) {
        free(b);
        tide_cli_error("%s: %s", path, b ? "read failed" : "out of memory");
        return TIDE_CLI_RUNTIME;
    }
    *out = b;
    *len = n;
    return 0;
}

static void print_sql_error(const tide_sql_error *err, const char *src, size_t len)
{
    tide_buf b = {0};
    if (tide_sql_error_render(err, src, len, &b) == 0 && b.len)
        fwrite(b.data, 1, b.len, stderr);
    else
        fprintf(stderr, "%s:%u:%u: %s\n", err->file, err->line, err->col, err->msg);
    tide_buf_free(&b);
}

typedef struct script {
    char *src;
    size_t len;
    tide_sql_catalog *cat;
    tide_sql_program *prog;
} script;

static void script_free(script *s)
{
    tide_sql_program_free(s->prog);
    tide_sql_catalog_free(s->cat);
    free(s->src);
}

static int compile(const char *path, script *s)
{
    memset(s, 0, sizeof *s);
    int rc = read_file(path, &s->src, &s->len);
    if (rc)
        return rc;
    if (tide_sql_catalog_create(&s->cat)) {
        tide_cli_error("out of memory");
        return TIDE_CLI_RUNTIME;
    }
    tide_sql_error err;
    memset(&err, 0, sizeof err);
    snprintf(err.file, sizeof err.file, "%s", path);
    if (tide_sql_compile(s->cat, path, s->src, s->len, &s->prog, &err)) {
        print_sql_error(&err, s->src, s->len);
        return err.code == TIDE_ENOMEM ? TIDE_CLI_RUNTIME : TIDE_CLI_USAGE;
    }
    return 0;
}

/* ---- bad records ---- */

#define DEAD_SHOWN 10 /* bad records a run reports in full on stderr */

typedef struct dead_out {
    pthread_mutex_t mu; /* scans call from their own threads */
    tide_sink_dead *sink; /* --dead-letter, or NULL */
    uint64_t n;
} dead_out;

static void on_dead(void *ctx, const char *position, const char *reason, const void *raw,
                    size_t raw_len)
{
    dead_out *d = ctx;
    pthread_mutex_lock(&d->mu);
    if (d->n < DEAD_SHOWN)
        fprintf(stderr, "tide: %s: %s\n", position, reason);
    else if (d->n == DEAD_SHOWN)
        fprintf(stderr, "tide: more bad records: counted (in the summary)%s\n",
                d->sink ? ", and kept by --dead-letter" : "; --dead-letter or a table's 'dead-letter' option keeps them all");
    d->n++;
    if (d->sink) /* a failure there sticks and is reported at close */
        tide_sink_dead_write(d->sink, reason, position, raw, raw_len, NULL);
    pthread_mutex_unlock(&d->mu);
}

/* ---- cancellation ---- */

static int sig_pipe[2] = {-1, -1};

static void on_signal(int sig)
{
    (void)sig;
    int saved = errno;
    char c = 'c';
    if (sig_pipe[1] >= 0 && write(sig_pipe[1], &c, 1) < 0) {
        /* nothing to do in a handler */
    }
    errno = saved;
}

typedef struct watcher {
    tide_job *job;
    tide_coord *coord; /* a named job: a checkpoint first, then the stop */
    atomic_bool cancelled;
} watcher;

static void *watch(void *arg)
{
    watcher *w = arg;
    for (;;) {
        char c;
        ssize_t n = read(sig_pipe[0], &c, 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || c == 'q')
            return NULL;
        atomic_store(&w->cancelled, true);
        if (w->coord)
            tide_coord_stop(w->coord);
        else
            tide_job_cancel(w->job);
    }
}

/* ---- the progress line (job/progress.h): a bounded run, stderr a terminal ---- */

typedef struct progress_ui {
    tide_job *job;
    tide_progress p;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
} progress_ui;

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Redraws the line in place every 250 ms from 300 ms on; clears it at the end. */
static void *progress_main(void *arg)
{
    progress_ui *u = arg;
    int64_t start = mono_ms();
    bool drawn = false;
    pthread_mutex_lock(&u->mu);
    while (!u->done) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += 250 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&u->cv, &u->mu, &ts);
        int64_t el = mono_ms() - start;
        if (u->done || el < 300)
            continue;
        tide_job_counts c;
        tide_job_counts_get(u->job, &c);
        char line[256];
        tide_progress_line(&u->p, c.in, el, line, sizeof line);
        struct winsize ws;
        if (ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1 && strlen(line) >= ws.ws_col)
            line[ws.ws_col - 1] = 0; /* never wrap: \r would not go back */
        fprintf(stderr, "\r\033[K%s", line);
        fflush(stderr);
        drawn = true;
    }
    if (drawn) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
    pthread_mutex_unlock(&u->mu);
    return NULL;
}

/* The sources the plans scan, counted into p (false: none counted, or one
 * could not be read: no line). */
static bool progress_sources(const tide_sql_plan *pl, const tide_sql_phys_opts *o, tide_progress *p)
{
    if (!pl)
        return true;
    if (pl->kind == TIDE_SQL_PLAN_SCAN) {
        tide_err e = {0};
        return tide_progress_add_source(p, &pl->u.scan.cfg, o->base_dir, o->datadir, &e) == 0;
    }
    return progress_sources(pl->input, o, p) && progress_sources(pl->right, o, p);
}

/* A named job (--job). */
typedef struct named_opts {
    const char *name;
    int64_t interval_ms;
    const char *datadir;
} named_opts;

static void report_line(void *ctx, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "tide: %s\n", msg);
}

/* Run plans[0..n) as one job (n > 1: a named job's statement set). */
static int run_one(const tide_sql_plan *const *plans, uint32_t n, const tide_sql_phys_opts *o, const script *s,
                   const char *path, const named_opts *named, bool *stop)
{
    tide_sql_error serr;
    memset(&serr, 0, sizeof serr);
    snprintf(serr.file, sizeof serr.file, "%s", path);
    tide_err e = {0};
    tide_job_spec *spec = NULL;
    tide_job *job = NULL;
    tide_sql_phys_info info;
    if (tide_job_spec_create(&spec, &e)) {
        tide_cli_error("%s", e.msg);
        return TIDE_CLI_RUNTIME;
    }
    if (tide_sql_physical_set(plans, n, o, spec, &info, &serr)) {
        print_sql_error(&serr, s->src, s->len);
        tide_job_spec_free(spec);
        return serr.code == TIDE_ENOMEM ? TIDE_CLI_RUNTIME : TIDE_CLI_USAGE;
    }
    tide_coord *coord = NULL;
    tide_job_cfg jc = {0};
    if (named) {
        tide_coord_cfg cc = {.datadir = named->datadir,
                             .job = named->name,
                             .interval_ms = named->interval_ms,
                             .report = report_line};
        if (tide_sql_fingerprint(plans, n, spec, &cc.plan) != 0) {
            tide_cli_error("out of memory");
            tide_job_spec_free(spec);
            return TIDE_CLI_RUNTIME;
        }
        if (tide_coord_open(&coord, &cc, &e)) {
            tide_cli_error("%s", e.msg);
            tide_job_spec_free(spec);
            return TIDE_CLI_RUNTIME;
        }
        const tide_ckpt_meta *m;
        /* a finished job still runs, restored: every source is at its end,
         * so nothing new comes, but its sink recovers (commits what the
         * final checkpoint pre-committed if a kill came before the commit) */
        if (tide_coord_latest(coord, &m) && m->finished)
            fprintf(stderr,
                    "job %s finished at checkpoint %lld (%s): nothing new to run; `tide job reset %s` runs it "
                    "again from the start\n",
                    named->name, (long long)m->id, m->info, named->name);
        else if (m)
            fprintf(stderr, "resumed %s from checkpoint %lld (%s)\n", named->name, (long long)m->id, m->info);
        jc.flow.barrier_base = tide_coord_barrier_base(coord);
    }
    if (tide_job_create(&job, spec, &jc, &e)) {
        tide_cli_error("%s", e.msg);
        tide_coord_close(coord);
        tide_job_spec_free(spec);
        return TIDE_CLI_RUNTIME;
    }
    int status = TIDE_CLI_OK;
    watcher w = {.job = job, .coord = coord};
    atomic_init(&w.cancelled, false);
    pthread_t th;
    bool have_th = pthread_create(&th, NULL, watch, &w) == 0;
    progress_ui pu = {.job = job, .mu = PTHREAD_MUTEX_INITIALIZER};
    pthread_t pth;
    bool have_pth = false;
    if (info.bounded && isatty(2) && !getenv("TIDE_NO_PROGRESS")) {
        tide_progress_init(&pu.p);
        bool ok = true;
        for (uint32_t i = 0; i < n && ok; i++)
            ok = progress_sources(plans[i], o, &pu.p);
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&pu.cv, &ca);
        pthread_condattr_destroy(&ca);
        have_pth = ok && pthread_create(&pth, NULL, progress_main, &pu) == 0;
        if (!have_pth)
            pthread_cond_destroy(&pu.cv);
    }
    int rc = coord ? tide_coord_run(coord, job, &e) : tide_job_run(job, &e);
    if (have_pth) {
        pthread_mutex_lock(&pu.mu);
        pu.done = true;
        pthread_cond_signal(&pu.cv);
        pthread_mutex_unlock(&pu.mu);
        pthread_join(pth, NULL);
        pthread_cond_destroy(&pu.cv);
    }
    if (have_th) {
        char q = 'q';
        while (write(sig_pipe[1], &q, 1) < 0 && errno == EINTR) {
        }
        pthread_join(th, NULL);
    }
    bool cancelled = atomic_load(&w.cancelled);
    if (coord && rc != 0 && cancelled && !tide_coord_stopped(coord) && e.code != TIDE_EFAILED)
        cancelled = false; /* the stop's checkpoint failed: an error */
    if (rc != 0 && !cancelled) {
        tide_cli_error("%s", e.msg[0] ? e.msg : "run failed");
        status = TIDE_CLI_RUNTIME;
    }
    tide_job_counts c;
    tide_job_counts_get(job, &c);
    fflush(stdout);
    fprintf(stderr, "records in %llu, out %llu, late %llu, bad %llu%s\n", (unsigned long long)c.in,
            (unsigned long long)c.out, (unsigned long long)c.late, (unsigned long long)c.bad,
            cancelled ? " (stopped)" : "");
    if (cancelled)
        *stop = true;
    if (coord) {
        tide_coord_stats st;
        tide_coord_stats_get(coord, &st);
        if (st.last_id)
            fprintf(stderr, "job %s: checkpoint %lld%s\n", named->name, (long long)st.last_id,
                    status == TIDE_CLI_OK && !cancelled ? " (finished)" : "");
    }
    tide_job_free(job);
    tide_coord_close(coord);
    tide_job_spec_free(spec);
    return status;
}

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

int tide_cli_run(int argc, char **argv, const char *datadir)
{
    const char *par = NULL, *fmt = NULL, *dead = NULL, *jobname = NULL, *interval = NULL, *pos[1] = {0};
    bool help = false;
    int npos = 0;
    tide_cli_opt opts[] = {{"--parallelism", &par, NULL},
                           {"--format", &fmt, NULL},
                           {"--dead-letter", &dead, NULL},
                           {"--job", &jobname, NULL},
                           {"--checkpoint-interval", &interval, NULL}};
    int rc = tide_cli_parse("run", argc, argv, opts, 5, pos, 1, &npos, &help);
    if (rc)
        return rc;
    if (help)
        return tide_cli_help(run_usage);
    if (npos != 1)
        return tide_cli_usage_error("run", "expected one FILE.sql");
    tide_sql_phys_opts o = {.datadir = datadir, .out_fd = 1};
    o.format = isatty(1) ? TIDE_SQL_OUT_TABLE : TIDE_SQL_OUT_CSV;
    if (fmt) {
        if (strcmp(fmt, "table") == 0)
            o.format = TIDE_SQL_OUT_TABLE;
        else if (strcmp(fmt, "csv") == 0)
            o.format = TIDE_SQL_OUT_CSV;
        else if (strcmp(fmt, "jsonl") == 0 || strcmp(fmt, "json") == 0)
            o.format = TIDE_SQL_OUT_JSONL;
        else
            return tide_cli_usage_error("run", "--format must be table, csv or jsonl, not '%s'", fmt);
    }
    if (par) {
        uint64_t v;
        if (!tide_cli_parse_u64(par, &v) || v < 1 || v > 256)
            return tide_cli_usage_error("run", "--parallelism must be 1..256, not '%s'", par);
        o.parallelism = (uint32_t)v;
    }
    named_opts named = {.name = jobname, .interval_ms = 1000, .datadir = datadir};
    o.job = jobname;
    if (interval && !jobname)
        return tide_cli_usage_error("run", "--checkpoint-interval needs --job NAME");
    if (interval && tide_ts_duration_parse(interval, &named.interval_ms) != 0)
        return tide_cli_usage_error("run", "--checkpoint-interval: '%s' is not a duration (e.g. 500ms, 1s, 0)",
                                    interval);
    if (jobname && !tide_topic_name_valid(jobname))
        return tide_cli_usage_error("run", "--job: '%s': invalid name (letters, digits, '.', '_', '-')", jobname);
    const char *dead_topic = NULL;
    if (dead && strncmp(dead, "topic:", 6) == 0) {
        dead_topic = dead + 6;
        if (!tide_topic_name_valid(dead_topic))
            return tide_cli_usage_error("run", "--dead-letter: topic '%s': invalid name", dead_topic);
    } else if (dead && !*dead) {
        return tide_cli_usage_error("run", "--dead-letter needs a file or topic:NAME");
    }
    script s;
    if ((rc = compile(pos[0], &s)) != 0) {
        script_free(&s);
        return rc;
    }
    uint32_t bare = 0;
    for (uint32_t i = 0; i < s.prog->nplans; i++)
        bare += s.prog->plans[i]->kind == TIDE_SQL_PLAN_SINK && !s.prog->plans[i]->u.sink.table;
    if (jobname && (s.prog->nplans == 0 || bare > 1)) {
        tide_cli_error("--job: %s has %u statements to run, %u of them queries printed on stdout; a named job "
                       "runs its INSERTs and at most one such query, as one graph (put the others in a script "
                       "of their own, under its own name)", pos[0], s.prog->nplans, bare);
        script_free(&s);
        return TIDE_CLI_USAGE;
    }
    dead_out dout = {.mu = PTHREAD_MUTEX_INITIALIZER};
    tide_err de = {0};
    if (dead && tide_cli_dead_open(&dout.sink, datadir, dead, dead_topic, &de) != 0) {
        tide_cli_error("%s", de.msg);
        script_free(&s);
        return TIDE_CLI_RUNTIME;
    }
    o.on_dead = on_dead;
    o.dead_ctx = &dout;
    char *dir = dir_of(pos[0]);
    if (!dir) {
        script_free(&s);
        tide_cli_error("out of memory");
        return TIDE_CLI_RUNTIME;
    }
    o.base_dir = dir;
    struct sigaction sa, old_int, old_term;
    bool sig = pipe(sig_pipe) == 0;
    if (sig) {
        fcntl(sig_pipe[1], F_SETFL, O_NONBLOCK);
        fcntl(sig_pipe[0], F_SETFD, FD_CLOEXEC);
        fcntl(sig_pipe[1], F_SETFD, FD_CLOEXEC);
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, &old_int);
        sigaction(SIGTERM, &sa, &old_term);
    } else {
        tide_cli_error("pipe: %s", strerror(errno));
        rc = TIDE_CLI_RUNTIME;
    }
    bool stop = false;
    if (sig && jobname) {
        rc = run_one((const tide_sql_plan *const *)s.prog->plans, s.prog->nplans, &o, &s, pos[0], &named, &stop);
    } else {
        for (uint32_t i = 0; sig && i < s.prog->nplans && !stop; i++) {
            rc = run_one((const tide_sql_plan *const *)&s.prog->plans[i], 1, &o, &s, pos[0], NULL, &stop);
            if (rc)
                break;
        }
    }
    if (sig) {
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
        close(sig_pipe[0]);
        close(sig_pipe[1]);
        sig_pipe[0] = sig_pipe[1] = -1;
    }
    if (dout.sink) {
        uint64_t kept = tide_sink_dead_count(dout.sink);
        if (tide_sink_dead_close(dout.sink, &de) != 0) {
            tide_cli_error("dead letters: %s", de.msg);
            rc = TIDE_CLI_RUNTIME;
        } else if (dout.n) {
            fprintf(stderr, "wrote %llu dead letter%s to %s %s\n", (unsigned long long)kept,
                    kept == 1 ? "" : "s", dead_topic ? "topic" : "file", dead_topic ? dead_topic : dead);
        }
    }
    free(dir);
    script_free(&s);
    return rc;
}

int tide_cli_explain(int argc, char **argv, const char *datadir)
{
    const char *pos[1] = {0};
    bool help = false;
    int npos = 0;
    int rc = tide_cli_parse("explain", argc, argv, NULL, 0, pos, 1, &npos, &help);
    if (rc)
        return rc;
    if (help)
        return tide_cli_help(explain_usage);
    if (npos != 1)
        return tide_cli_usage_error("explain", "expected one FILE.sql");
    script s;
    if ((rc = compile(pos[0], &s)) != 0) {
        script_free(&s);
        return rc;
    }
    tide_buf b = {0};
    for (uint32_t i = 0; i < s.prog->nplans && !rc; i++) {
        tide_buf_reset(&b);
        if (tide_sql_explain(s.prog->plans[i], &b)) {
            tide_cli_error("out of memory");
            rc = TIDE_CLI_RUNTIME;
            break;
        }
        /* the physical graph (nothing is opened) */
        tide_job_spec *spec = NULL;
        tide_err e = {0};
        tide_sql_error serr;
        memset(&serr, 0, sizeof serr);
        snprintf(serr.file, sizeof serr.file, "%s", pos[0]);
        tide_sql_phys_opts o = {.datadir = datadir, .out_fd = 1, .format = TIDE_SQL_OUT_CSV};
        tide_sql_phys_info info;
        if (tide_job_spec_create(&spec, &e)) {
            tide_cli_error("%s", e.msg);
            rc = TIDE_CLI_RUNTIME;
            break;
        }
        if (tide_sql_physical(s.prog->plans[i], &o, spec, &info, &serr) == 0) {
            tide_buf_printf(&b, "physical graph (node, parallelism; edges):\n");
            tide_job_spec_explain(spec, &b);
        } else {
            tide_buf_printf(&b, "physical graph: %s\n", serr.msg);
        }
        tide_job_spec_free(spec);
        if (i > 0)
            fputc('\n', stdout);
        fwrite(b.data, 1, b.len, stdout);
    }
    tide_buf_free(&b);
    script_free(&s);
    return rc;
}
