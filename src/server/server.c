/*
 * server.c - `tide server`: the supervisor of a data directory's job
 * versions and the HTTP API.  See server.h for what it promises.
 *
 * Structure.  The server holds its jobs (srv_job: a name, a rwlock taken
 * for writing by a promote and for reading by results and verify) and their
 * running versions (vrun: one thread each).  s->mu guards the lists; a
 * vrun's own mutex guards what its thread publishes (the coordinator and
 * job of the current run, the last counts, the last error).
 *
 * A vrun thread: run the version in a child process (run_child: this
 * program again, as `tide server --run-version NAME@vN`, which plans the
 * SQL, opens its coordinator (job NAME.vN) and runs: run_once); when the
 * run fails (the child exits with an error, or is killed), wait (backoff,
 * interruptible by a stop) and run again from the last checkpoint; after
 * too many failures in a row, mark the version failed and end.  A stop
 * (promote, `tide job stop`, SIGTERM) sets stop_req and sends the child
 * SIGTERM (its coordinator takes a checkpoint and stops), and joins the
 * thread.  The child dies with the thread that started it
 * (PR_SET_PDEATHSIG): a server killed leaves no version running.
 *
 * What the server shows of a running version comes from the child's
 * files: its counters and checkpoint stats from its status file
 * (job/status.h, rewritten every second), its lag and input positions from
 * its newest checkpoint (a watcher: tide_coord_watch, with the SQL planned
 * here the same way).
 */
#include "server/server.h"

#include "base/fault.h"
#include "base/io.h"
#include "data/json.h"
#include "data/timefmt.h"
#include "job/coord.h"
#include "job/job.h"
#include "job/status.h"
#include "job/version.h"
#include "log/reader.h"
#include "log/topic.h"
#include "server/dashboard.h"
#include "server/metrics.h"
#include "server/view.h"
#include "sql/binder.h"
#include "sql/catalog.h"
#include "sql/parser.h"
#include "sql/physical.h"
#include "sql/plan.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PATH_CAP 4096
#define UNIT_CAP (TIDE_VER_NAME_MAX + 32)
#define BACKOFF_MAX_MS 30000

typedef struct tide_srv tide_srv;

typedef struct vrun {
    tide_srv *srv;
    char job[TIDE_VER_NAME_MAX + 1];
    char unit[UNIT_CAP];
    int64_t version;
    pthread_t th;
    bool th_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop_req;         /* under mu */
    /* in the version's process (run_once) */
    tide_coord *coord;     /* under mu: the current run's, or NULL */
    /* in the server (run_child) */
    pid_t pid;             /* under mu: the child running it, or 0 */
    tide_coord *watch;     /* under mu: its checkpoints (tide_coord_watch), or NULL */
    bool running;          /* under mu: a run is in progress */
    bool ended;            /* under mu: the thread is done */
    uint64_t restarts;     /* under mu */
    char error[TIDE_ERR_MSG_MAX]; /* under mu: the last run's error */
    tide_job_counts counts; /* under mu: the last counts seen */
    int64_t rate_t, rate_in; /* under mu: the last rate sample */
    double rate;
    tide_coord_stats st;   /* under mu: the last checkpoint stats seen */
} vrun;

typedef struct srv_job {
    char name[TIDE_VER_NAME_MAX + 1];
    pthread_rwlock_t rw;
} srv_job;

struct tide_srv {
    tide_srv_cfg cfg;
    char *datadir, *listen, *token;
    tide_file *lock;
    tide_http_server *http;
    char addr[256];
    pthread_mutex_t mu;
    srv_job **jobs;
    size_t njobs, jobs_cap;
    vrun **runs;
    size_t nruns, runs_cap;
    bool stopping;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void say(tide_srv *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(tide_srv *s, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (s->cfg.report)
        s->cfg.report(s->cfg.report_ctx, msg);
    else
        fprintf(stderr, "tide server: %s\n", msg);
}

static void coord_report(void *ctx, const char *msg)
{
    vrun *r = ctx;
    say(r->srv, "%s: %s", r->unit, msg);
}

/* ---- compiling a version's SQL ---- */

typedef struct compiled {
    char *src;
    size_t len;
    tide_sql_catalog *cat;
    tide_sql_program *prog;
    tide_job_spec *spec;
} compiled;

static void compiled_free(compiled *c)
{
    tide_job_spec_free(c->spec);
    tide_sql_program_free(c->prog);
    tide_sql_catalog_free(c->cat);
    free(c->src);
    memset(c, 0, sizeof *c);
}

static void sql_err(const tide_sql_error *serr, const char *src, size_t len, tide_err *e)
{
    tide_buf b = {0};
    if (tide_sql_error_render(serr, src, len, &b) == 0 && b.len) {
        while (b.len && b.data[b.len - 1] == '\n')
            b.len--;
        tide_err_set(e, serr->code == TIDE_ENOMEM ? TIDE_ENOMEM : TIDE_EINVAL, "%.*s", (int)b.len,
                     (const char *)b.data);
    } else {
        tide_err_set(e, serr->code == TIDE_ENOMEM ? TIDE_ENOMEM : TIDE_EINVAL, "%s:%u:%u: %s", serr->file, serr->line,
                     serr->col, serr->msg);
    }
    tide_buf_free(&b);
}

/* Compile src (taken over) and plan its one statement with o.  name: the
 * file name in errors. */
static int compile_plan(compiled *c, char *src, size_t len, const char *name, const tide_sql_phys_opts *o,
                        tide_err *e)
{
    memset(c, 0, sizeof *c);
    c->src = src;
    c->len = len;
    if (tide_sql_catalog_create(&c->cat) != 0)
        return tide_err_set(e, TIDE_ENOMEM, "out of memory");
    tide_sql_error serr;
    memset(&serr, 0, sizeof serr);
    snprintf(serr.file, sizeof serr.file, "%s", name);
    if (tide_sql_compile(c->cat, name, src, len, &c->prog, &serr) != 0) {
        sql_err(&serr, src, len, e);
        return e->code;
    }
    if (c->prog->nplans != 1)
        return tide_err_set(e, TIDE_EINVAL, "%s: %u statements to run; a deployed job runs one query (a bare SELECT)",
                            name, c->prog->nplans);
    int rc = tide_job_spec_create(&c->spec, e);
    if (rc)
        return rc;
    memset(&serr, 0, sizeof serr);
    snprintf(serr.file, sizeof serr.file, "%s", name);
    tide_sql_phys_info info;
    if (tide_sql_physical(c->prog->plans[0], o, c->spec, &info, &serr) != 0) {
        sql_err(&serr, src, len, e);
        return e->code;
    }
    return 0;
}

static void phys_opts(tide_srv *s, const tide_ver_info *v, const char *unit, const char *sink, tide_sql_phys_opts *o)
{
    memset(o, 0, sizeof *o);
    o->datadir = s->datadir;
    o->format = TIDE_SQL_OUT_JSONL;
    o->out_fd = -1;
    o->parallelism = s->cfg.parallelism;
    o->job = unit;
    o->sink_topic = sink;
    o->topic_start = v->from.kind == TIDE_VER_FROM_LATEST ? TIDE_SQL_START_LATEST
                     : v->from.kind == TIDE_VER_FROM_TIME ? TIDE_SQL_START_TIME
                                                          : TIDE_SQL_START_EARLIEST;
    o->topic_start_ms = v->from.ms;
}

static int ensure_topic(const char *datadir, const char *name, tide_err *e)
{
    if (tide_topic_exists(datadir, name))
        return 0;
    tide_topic_config tc;
    tide_topic_config_default(&tc);
    tc.partitions = 1;
    int rc = tide_topic_create(datadir, name, &tc, e);
    if (rc == TIDE_EEXIST && tide_topic_exists(datadir, name)) {
        *e = (tide_err){0};
        return 0;
    }
    return rc;
}

/* ---- a version's thread ---- */

static bool stop_asked(vrun *r)
{
    pthread_mutex_lock(&r->mu);
    bool q = r->stop_req;
    pthread_mutex_unlock(&r->mu);
    return q;
}

/* The version's SQL compiled and planned with its own output and start,
 * as its process runs it (the server plans it too, for its watcher);
 * `out`: create its output topic first.  On an error *c is freed. */
static int plan_version(vrun *r, bool out, compiled *c, tide_err *e)
{
    tide_srv *s = r->srv;
    memset(c, 0, sizeof *c);
    tide_ver_info v;
    int rc = tide_ver_read(s->datadir, r->job, r->version, &v, e);
    char *sql = NULL;
    size_t len = 0;
    if (rc || (rc = tide_ver_sql(s->datadir, r->job, r->version, &sql, &len, e)) != 0)
        return rc;
    if (out && (rc = ensure_topic(s->datadir, r->unit, e)) != 0) {
        free(sql);
        return rc;
    }
    tide_sql_phys_opts o;
    phys_opts(s, &v, r->unit, r->unit, &o);
    char name[UNIT_CAP + 8];
    snprintf(name, sizeof name, "%s.sql", r->unit);
    if ((rc = compile_plan(c, sql, len, name, &o, e)) != 0)
        compiled_free(c);
    return rc;
}

/* One run: 0 when it ended (input ended or stopped), else its error.
 * (The version's process: its server reads its progress from its files.) */
static int run_once(vrun *r, tide_err *e)
{
    tide_srv *s = r->srv;
    compiled c;
    int rc = plan_version(r, true, &c, e);
    if (rc)
        return rc;
    tide_coord_cfg cc = {.datadir = s->datadir,
                         .job = r->unit,
                         .interval_ms = s->cfg.checkpoint_ms,
                         .report = coord_report,
                         .report_ctx = r};
    tide_coord *coord = NULL;
    tide_job *job = NULL;
    if ((rc = tide_sql_fingerprint((const tide_sql_plan *const *)c.prog->plans, 1, c.spec, &cc.plan)) != 0) {
        tide_err_set(e, rc, "out of memory");
        goto done;
    }
    if ((rc = tide_coord_open(&coord, &cc, e)) != 0)
        goto done;
    const tide_ckpt_meta *m;
    if (tide_coord_latest(coord, &m))
        say(s, "%s: resumed from checkpoint %" PRId64 " (%s)", r->unit, m->id, m->info);
    else
        say(s, "%s: started", r->unit);
    tide_job_cfg jc = {0};
    jc.flow.barrier_base = tide_coord_barrier_base(coord);
    if ((rc = tide_job_create(&job, c.spec, &jc, e)) != 0)
        goto done;
    pthread_mutex_lock(&r->mu);
    bool stop = r->stop_req;
    if (!stop)
        r->coord = coord;
    pthread_mutex_unlock(&r->mu);
    if (stop)
        goto done;
    rc = tide_coord_run(coord, job, e);
    pthread_mutex_lock(&r->mu);
    r->coord = NULL;
    bool stopped = r->stop_req;
    pthread_mutex_unlock(&r->mu);
    if (rc != 0 && stopped && tide_coord_stopped(coord)) {
        rc = 0; /* stopped through its checkpoint */
        *e = (tide_err){0};
    }
done:
    tide_job_free(job);
    tide_coord_close(coord);
    compiled_free(&c);
    return rc;
}

static void refresh(vrun *r);

/* One run in a child process: 0 when it ended (input ended or stopped),
 * else its error (its last line on stdout, or how it died).  *progressed:
 * it completed a checkpoint. */
static int run_child(vrun *r, bool *progressed, tide_err *e)
{
    tide_srv *s = r->srv;
    *progressed = false;
    /* the SQL planned here too, as the child plans it: the watcher's map
     * from checkpoint to sources */
    compiled c;
    tide_coord *w = NULL;
    int rc = plan_version(r, false, &c, e);
    if (rc)
        return rc;
    if ((rc = tide_coord_watch(&w, s->datadir, r->unit, c.spec, e)) != 0) {
        compiled_free(&c);
        return rc;
    }
    char at[UNIT_CAP + 8], every[32], par[16];
    snprintf(at, sizeof at, "%s@v%" PRId64, r->job, r->version);
    snprintf(every, sizeof every, "%" PRId64 "ms", s->cfg.checkpoint_ms);
    snprintf(par, sizeof par, "%u", s->cfg.parallelism);
    char *argv[] = {(char *)s->cfg.exe, "--data", s->datadir, "server", "--run-version", at,
                    "--checkpoint-interval", every, s->cfg.parallelism ? "--parallelism" : NULL, par, NULL};
    int pfd[2] = {-1, -1};
    pid_t parent = getpid(), pid = -1;
    pthread_mutex_lock(&r->mu);
    bool stop = r->stop_req;
    if (!stop && pipe2(pfd, O_CLOEXEC) == 0 && (pid = fork()) == 0) {
        /* the child: only async-signal-safe calls until exec */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        setpgid(0, 0); /* the terminal's Ctrl-C goes to the server, which stops it */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        if (dup2(pfd[1], 1) < 0)
            _exit(127);
        execv(s->cfg.exe, argv);
        _exit(127);
    }
    int fork_errno = errno;
    if (pid > 0) {
        r->pid = pid;
        r->watch = w;
        r->running = true;
        r->rate_t = 0;
        r->st = (tide_coord_stats){0}; /* this run's checkpoints, from its status file */
    }
    pthread_mutex_unlock(&r->mu);
    if (pfd[1] >= 0)
        close(pfd[1]);
    char msg[TIDE_ERR_MSG_MAX];
    size_t got = 0;
    if (pid > 0) {
        /* its stdout until it exits (a line when it failed) */
        for (;;) {
            char tmp[512];
            ssize_t k = read(pfd[0], tmp, sizeof tmp);
            if (k < 0 && errno == EINTR)
                continue;
            if (k <= 0)
                break;
            size_t take = (size_t)k < sizeof msg - 1 - got ? (size_t)k : sizeof msg - 1 - got;
            memcpy(msg + got, tmp, take);
            got += take;
        }
        /* wait without reaping, so that its pid is not reused while a stop
         * may still signal it */
        siginfo_t si;
        while (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) != 0 && errno == EINTR) {
        }
    }
    if (pfd[0] >= 0)
        close(pfd[0]);
    pthread_mutex_lock(&r->mu);
    refresh(r); /* its last counts */
    *progressed = r->st.last_id != 0;
    r->pid = 0;
    r->watch = NULL;
    r->running = false;
    pthread_mutex_unlock(&r->mu);
    int status = 0;
    if (pid > 0)
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
    tide_coord_close(w);
    compiled_free(&c);
    if (stop)
        return 0;
    if (pid < 0)
        return tide_err_set(e, TIDE_ENOMEM, "cannot start a process for it: %s", strerror(fork_errno));
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    while (got && (msg[got - 1] == '\n' || msg[got - 1] == '\r'))
        got--;
    msg[got] = '\0';
    char *last = strrchr(msg, '\n');
    if (got)
        return tide_err_set(e, TIDE_EFAILED, "%s", last ? last + 1 : msg);
    if (WIFSIGNALED(status))
        return tide_err_set(e, TIDE_EFAILED, "its process was killed by signal %d (%s)", WTERMSIG(status),
                            strsignal(WTERMSIG(status)));
    return tide_err_set(e, TIDE_EFAILED, "its process exited with status %d", WEXITSTATUS(status));
}

static void *vrun_main(void *arg)
{
    vrun *r = arg;
    tide_srv *s = r->srv;
    int fails = 0;
    int64_t backoff = s->cfg.backoff_ms;
    while (!stop_asked(r)) {
        tide_err e = {0};
        bool progressed = false;
        int rc = run_child(r, &progressed, &e);
        if (stop_asked(r))
            break;
        if (rc == 0) {
            say(s, "%s: its input ended (finished)", r->unit);
            break;
        }
        if (progressed) {
            fails = 0;
            backoff = s->cfg.backoff_ms;
        }
        fails++;
        pthread_mutex_lock(&r->mu);
        snprintf(r->error, sizeof r->error, "%s", e.msg);
        pthread_mutex_unlock(&r->mu);
        if (fails > s->cfg.max_restarts) {
            say(s, "%s: failed %d times in a row, given up: %s", r->unit, fails, e.msg);
            tide_err we = {0};
            if (tide_ver_set_state(s->datadir, r->job, r->version, TIDE_VER_FAILED, e.msg, &we) != 0)
                say(s, "%s: cannot record the failure: %s", r->unit, we.msg);
            break;
        }
        say(s, "%s: failed (%s); restarting from its last checkpoint in %" PRId64 " ms", r->unit, e.msg, backoff);
        pthread_mutex_lock(&r->mu);
        int64_t until = mono_ms() + backoff;
        while (!r->stop_req && mono_ms() < until) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            int64_t w = until - mono_ms();
            if (w < 1)
                w = 1;
            ts.tv_sec += w / 1000;
            ts.tv_nsec += (w % 1000) * 1000000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&r->cv, &r->mu, &ts);
        }
        r->restarts++;
        pthread_mutex_unlock(&r->mu);
        backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
    }
    pthread_mutex_lock(&r->mu);
    r->ended = true;
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

static void vrun_free(vrun *r)
{
    if (!r)
        return;
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    free(r);
}

/* Ask the thread to stop (a checkpoint first), without waiting. */
static void vrun_ask_stop(vrun *r)
{
    pthread_mutex_lock(&r->mu);
    r->stop_req = true;
    if (r->coord)
        tide_coord_stop(r->coord);
    if (r->pid > 0)
        kill(r->pid, SIGTERM);
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

static void vrun_join(vrun *r)
{
    if (r->th_started) {
        pthread_join(r->th, NULL);
        r->th_started = false;
    }
}

/* Under s->mu: the run of (job, version), or NULL. */
static vrun *find_run(tide_srv *s, const char *job, int64_t version, size_t *at)
{
    for (size_t i = 0; i < s->nruns; i++)
        if (s->runs[i]->version == version && strcmp(s->runs[i]->job, job) == 0) {
            if (at)
                *at = i;
            return s->runs[i];
        }
    return NULL;
}

static void vrun_init(vrun *r, tide_srv *s, const char *job, int64_t version)
{
    r->srv = s;
    snprintf(r->job, sizeof r->job, "%s", job);
    r->version = version;
    tide_ver_unit_name(job, version, r->unit, sizeof r->unit);
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    r->counts.watermark = TIDE_TS_MIN;
}

static int start_run(tide_srv *s, const char *job, int64_t version, tide_err *e)
{
    vrun *r = calloc(1, sizeof *r);
    if (!r)
        return tide_err_set(e, TIDE_ENOMEM, "out of memory");
    vrun_init(r, s, job, version);
    pthread_mutex_lock(&s->mu);
    if (s->stopping || find_run(s, job, version, NULL)) {
        pthread_mutex_unlock(&s->mu);
        vrun_free(r);
        return 0;
    }
    int rc = tide_array_grow((void **)&s->runs, &s->runs_cap, s->nruns + 1, sizeof *s->runs);
    if (rc == 0 && pthread_create(&r->th, NULL, vrun_main, r) != 0)
        rc = TIDE_ENOMEM;
    if (rc == 0) {
        r->th_started = true;
        s->runs[s->nruns++] = r;
    }
    pthread_mutex_unlock(&s->mu);
    if (rc) {
        vrun_free(r);
        return tide_err_set(e, rc, "%s.v%" PRId64 ": cannot start its thread", job, version);
    }
    return 0;
}

/* Stop and forget the run of (job, version), if any: a final checkpoint. */
static void stop_run(tide_srv *s, const char *job, int64_t version)
{
    pthread_mutex_lock(&s->mu);
    size_t at;
    vrun *r = find_run(s, job, version, &at);
    if (r)
        s->runs[at] = s->runs[--s->nruns];
    pthread_mutex_unlock(&s->mu);
    if (!r)
        return;
    vrun_ask_stop(r);
    vrun_join(r);
    say(s, "%s: stopped", r->unit);
    vrun_free(r);
}

/* ---- jobs ---- */

static srv_job *get_job(tide_srv *s, const char *name, bool create)
{
    pthread_mutex_lock(&s->mu);
    srv_job *j = NULL;
    for (size_t i = 0; i < s->njobs && !j; i++)
        if (strcmp(s->jobs[i]->name, name) == 0)
            j = s->jobs[i];
    if (!j && create && tide_array_grow((void **)&s->jobs, &s->jobs_cap, s->njobs + 1, sizeof *s->jobs) == 0 &&
        (j = calloc(1, sizeof *j)) != NULL) {
        snprintf(j->name, sizeof j->name, "%s", name);
        pthread_rwlock_init(&j->rw, NULL);
        s->jobs[s->njobs++] = j;
    }
    pthread_mutex_unlock(&s->mu);
    return j;
}

static int stop_cb(void *ctx, const char *job, int64_t version, tide_err *e)
{
    (void)e;
    stop_run(ctx, job, version);
    return 0;
}

/* Load a job at open: recover its records, start its deployed versions. */
static int load_job(tide_srv *s, const char *name, tide_err *e)
{
    if (!get_job(s, name, true))
        return tide_err_set(e, TIDE_ENOMEM, "out of memory");
    int rc = tide_ver_recover(s->datadir, name, stop_cb, s, s->cfg.report, s->cfg.report_ctx, e);
    if (rc)
        return rc;
    tide_ver_info *vs = NULL;
    size_t n = 0;
    if ((rc = tide_ver_list(s->datadir, name, &vs, &n, e)) != 0)
        return rc;
    for (size_t i = 0; i < n && rc == 0; i++)
        if (vs[i].state == TIDE_VER_DEPLOYED)
            rc = start_run(s, name, vs[i].version, e);
    free(vs);
    return rc;
}

/* ---- open / stop ---- */

static int take_lock(tide_srv *s, tide_err *e)
{
    char path[PATH_CAP];
    snprintf(path, sizeof path, "%s/server.lock", s->datadir);
    int rc = tide_io_open(&s->lock, path, TIDE_IO_READ | TIDE_IO_WRITE | TIDE_IO_CREATE, e);
    if (rc)
        return rc;
    tide_err le = {0};
    rc = tide_io_lock(s->lock, TIDE_IO_LOCK_EX, &le);
    if (rc == TIDE_ELOCKED) {
        char who[256] = {0};
        size_t got = 0;
        tide_err pe = {0};
        if (tide_io_pread(s->lock, who, sizeof who - 1, 0, &got, &pe) != 0)
            got = 0;
        who[got] = '\0';
        who[strcspn(who, "\n")] = '\0';
        tide_io_close(s->lock);
        s->lock = NULL;
        return tide_err_set(e, TIDE_ELOCKED, "data directory %s is served by another tide server (%s): one server per "
                                             "data directory",
                            s->datadir, got ? who : "pid unknown");
    }
    if (rc)
        return tide_err_set(e, rc, "%s", le.msg);
    return 0;
}

static int write_who(tide_srv *s, tide_err *e)
{
    char who[300];
    int n = snprintf(who, sizeof who, "pid %ld, address %s\n", (long)getpid(), s->addr);
    int rc = tide_io_truncate(s->lock, 0, e);
    return rc ? rc : tide_io_pwrite(s->lock, who, (size_t)n, 0, e);
}

int tide_srv_open(tide_srv **out, const tide_srv_cfg *cfg, tide_err *e)
{
    *out = NULL;
    if (!cfg->datadir)
        return tide_err_set(e, TIDE_EINVAL, "server: no data directory");
    if (!cfg->exe || access(cfg->exe, X_OK) != 0)
        return tide_err_set(e, TIDE_EINVAL, "server: no program to run the job versions with (%s)",
                            cfg->exe ? cfg->exe : "none given");
    tide_srv *s = calloc(1, sizeof *s);
    if (!s)
        return tide_err_set(e, TIDE_ENOMEM, "out of memory");
    s->cfg = *cfg;
    s->datadir = strdup(cfg->datadir);
    s->listen = strdup(cfg->listen ? cfg->listen : TIDE_SRV_DEFAULT_LISTEN);
    s->token = cfg->token ? strdup(cfg->token) : NULL;
    pthread_mutex_init(&s->mu, NULL);
    if (s->cfg.checkpoint_ms <= 0)
        s->cfg.checkpoint_ms = 1000;
    if (s->cfg.max_restarts <= 0)
        s->cfg.max_restarts = 5;
    if (s->cfg.backoff_ms <= 0)
        s->cfg.backoff_ms = 500;
    int rc = 0;
    if (!s->datadir || !s->listen || (cfg->token && !s->token))
        rc = tide_err_set(e, TIDE_ENOMEM, "out of memory");
    if (rc == 0)
        rc = tide_io_mkdirs(s->datadir, e);
    if (rc == 0)
        rc = take_lock(s, e);
    if (rc == 0)
        rc = tide_http_serve(&s->http, s->listen, s->token, tide_srv_handle, s, e);
    if (rc == 0) {
        snprintf(s->addr, sizeof s->addr, "%s", tide_http_addr(s->http));
        rc = write_who(s, e);
    }
    if (rc == 0) {
        char path[PATH_CAP], text[300];
        snprintf(path, sizeof path, "%s/server.addr", s->datadir);
        int n = snprintf(text, sizeof text, "%s\n", s->addr);
        rc = tide_io_write_atomic(path, text, (size_t)n, e);
    }
    char **names = NULL;
    size_t n = 0;
    if (rc == 0)
        rc = tide_ver_jobs(s->datadir, &names, &n, e);
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = load_job(s, names[i], e);
    tide_ver_names_free(names, n);
    if (rc) {
        tide_srv_stop(s);
        return rc;
    }
    *out = s;
    return 0;
}

const char *tide_srv_addr(const tide_srv *s) { return s->addr; }

void tide_srv_stop(tide_srv *s)
{
    if (!s)
        return;
    /* the listener first: no new requests start a version meanwhile */
    tide_http_stop(s->http);
    s->http = NULL;
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    pthread_mutex_unlock(&s->mu);
    for (size_t i = 0; i < s->nruns; i++) /* all at once: their checkpoints in parallel */
        vrun_ask_stop(s->runs[i]);
    for (size_t i = 0; i < s->nruns; i++) {
        vrun_join(s->runs[i]);
        vrun_free(s->runs[i]);
    }
    free(s->runs);
    for (size_t i = 0; i < s->njobs; i++) {
        pthread_rwlock_destroy(&s->jobs[i]->rw);
        free(s->jobs[i]);
    }
    free(s->jobs);
    if (s->lock && s->addr[0]) {
        char path[PATH_CAP];
        snprintf(path, sizeof path, "%s/server.addr", s->datadir);
        tide_err ue = {0};
        tide_io_unlink(path, &ue);
    }
    tide_io_close(s->lock);
    pthread_mutex_destroy(&s->mu);
    free(s->datadir);
    free(s->listen);
    free(s->token);
    free(s);
}

/* ---- deploy, stop ---- */

int tide_srv_deploy(tide_srv *s, const char *job, const char *sql, size_t len, const char *from, int64_t *version,
                    tide_err *e)
{
    if (!tide_ver_name_valid(job))
        return tide_err_set(e, TIDE_EINVAL,
                            "job name '%s': invalid (letters, digits, '.', '_', '-', at most %d characters, not "
                            "ending in .v<digits>)",
                            job, TIDE_VER_NAME_MAX);
    tide_ver_info v = {0};
    int rc = tide_ver_from_parse(from && *from ? from : "earliest", &v.from, e);
    if (rc)
        return rc;
    /* it must plan, with its own output (a scratch name: nothing is opened) */
    char *copy = malloc(len + 1);
    if (!copy)
        return tide_err_set(e, TIDE_ENOMEM, "out of memory");
    memcpy(copy, sql, len);
    copy[len] = '\0';
    tide_sql_phys_opts o;
    char unit[UNIT_CAP], name[UNIT_CAP + 8];
    tide_ver_unit_name(job, 0, unit, sizeof unit);
    snprintf(name, sizeof name, "%s.sql", job);
    phys_opts(s, &v, unit, unit, &o);
    compiled c;
    rc = compile_plan(&c, copy, len, name, &o, e);
    compiled_free(&c);
    if (rc)
        return rc;
    srv_job *j = get_job(s, job, true);
    if (!j)
        return tide_err_set(e, TIDE_ENOMEM, "out of memory");
    pthread_rwlock_wrlock(&j->rw);
    rc = tide_ver_deploy(s->datadir, job, sql, len, &v.from, version, e);
    pthread_rwlock_unlock(&j->rw);
    if (rc)
        return rc;
    say(s, "%s: deployed v%" PRId64, job, *version);
    return start_run(s, job, *version, e);
}

int tide_srv_stop_version(tide_srv *s, const char *job, int64_t version, tide_err *e)
{
    srv_job *j = get_job(s, job, false);
    if (!j)
        return tide_err_set(e, TIDE_ENOENT, "no job %s", job);
    tide_ver_info *vs = NULL;
    size_t n = 0;
    pthread_rwlock_wrlock(&j->rw);
    int rc = tide_ver_list(s->datadir, job, &vs, &n, e);
    bool found = false;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (version && vs[i].version != version)
            continue;
        found = true;
        if (vs[i].state != TIDE_VER_DEPLOYED)
            continue;
        stop_run(s, job, vs[i].version);
        rc = tide_ver_set_state(s->datadir, job, vs[i].version, TIDE_VER_STOPPED, NULL, e);
    }
    pthread_rwlock_unlock(&j->rw);
    free(vs);
    if (rc == 0 && version && !found)
        rc = tide_err_set(e, TIDE_ENOENT, "job %s has no version %" PRId64, job, version);
    return rc;
}

/* ---- progress ---- */

/* Under the run's lock: the child's counts and checkpoint stats (its
 * status file, when it is this child's), its newest checkpoint into the
 * watcher, the rate. */
static void refresh(vrun *r)
{
    if (!r->pid)
        return;
    tide_jstatus st;
    tide_err e = {0};
    if (tide_jstatus_read(r->srv->datadir, r->unit, &st, &e) == 0 && st.pid == (int64_t)r->pid) {
        r->counts.in = st.in;
        r->counts.out = st.out;
        r->counts.late = st.late;
        r->counts.bad = st.bad;
        r->counts.watermark = st.watermark;
        r->st.last_id = st.ckpt_id;
        r->st.last_bytes = st.ckpt_bytes;
        r->st.last_ms = st.ckpt_took_ms;
        r->st.last_time_ms = st.ckpt_time_ms;
    }
    if (r->watch)
        tide_coord_watch_refresh(r->watch, r->st.last_id, &e);
    int64_t now = mono_ms();
    if (r->rate_t == 0) {
        r->rate_t = now;
        r->rate_in = (int64_t)r->counts.in;
    } else if (now - r->rate_t >= 1000) {
        r->rate = (double)((int64_t)r->counts.in - r->rate_in) * 1000.0 / (double)(now - r->rate_t);
        r->rate_t = now;
        r->rate_in = (int64_t)r->counts.in;
    }
}

typedef struct vview {
    bool have_run, running;
    tide_coord_lag lag;
    tide_job_counts counts;
    tide_coord_stats st;
    uint64_t restarts;
    double rate;
    char error[TIDE_ERR_MSG_MAX];
} vview;

static void view_of(tide_srv *s, const char *job, int64_t version, vview *out)
{
    memset(out, 0, sizeof *out);
    out->counts.watermark = TIDE_TS_MIN;
    pthread_mutex_lock(&s->mu);
    vrun *r = find_run(s, job, version, NULL);
    if (r) {
        out->have_run = true;
        pthread_mutex_lock(&r->mu);
        refresh(r);
        out->running = r->running;
        out->counts = r->counts;
        out->st = r->st;
        out->restarts = r->restarts;
        out->rate = r->rate;
        snprintf(out->error, sizeof out->error, "%s", r->error);
        if (r->watch) {
            tide_err le = {0};
            if (tide_coord_lag_get(r->watch, &out->lag, &le) != 0)
                out->lag.known = false;
        }
        pthread_mutex_unlock(&r->mu);
    }
    pthread_mutex_unlock(&s->mu);
}

static const char *state_shown(const tide_ver_info *v, const tide_ver_alias *a, const vview *vv)
{
    if (v->state != TIDE_VER_DEPLOYED)
        return tide_ver_state_name(v->state);
    if (a->live == v->version)
        return "live";
    if (vv->running && vv->lag.known && vv->lag.records == 0)
        return "caught-up";
    return "catching-up";
}

static void put_str(tide_buf *b, const char *s) { tide_json_write_string(b, s, strlen(s)); }

static int job_json(tide_srv *s, const char *job, tide_buf *b, tide_err *e)
{
    tide_ver_alias a;
    int rc = tide_ver_alias_read(s->datadir, job, &a, e);
    tide_ver_info *vs = NULL;
    size_t n = 0;
    if (rc || (rc = tide_ver_list(s->datadir, job, &vs, &n, e)) != 0)
        return rc;
    tide_buf_printf(b, "{\"name\":");
    put_str(b, job);
    if (a.live)
        tide_buf_printf(b, ",\"live\":%" PRId64 ",\"versions\":[", a.live);
    else
        tide_buf_printf(b, ",\"live\":null,\"versions\":[");
    for (size_t i = 0; i < n; i++) {
        vview vv;
        view_of(s, job, vs[i].version, &vv);
        char from[64], unit[UNIT_CAP];
        tide_ver_from_format(&vs[i].from, from, sizeof from);
        tide_ver_unit_name(job, vs[i].version, unit, sizeof unit);
        tide_buf_printf(b, "%s{\"version\":%" PRId64 ",\"state\":\"%s\",\"error\":", i ? "," : "", vs[i].version,
                        state_shown(&vs[i], &a, &vv));
        const char *err = vs[i].state == TIDE_VER_FAILED ? vs[i].error : vv.error;
        if (err[0])
            put_str(b, err);
        else
            tide_buf_printf(b, "null");
        tide_buf_printf(b, ",\"from\":\"%s\",\"output\":", from);
        put_str(b, unit);
        tide_buf_printf(b,
                        ",\"running\":%s,\"records_in\":%" PRIu64 ",\"records_out\":%" PRIu64 ",\"late\":%" PRIu64
                        ",\"bad\":%" PRIu64,
                        vv.running ? "true" : "false", vv.counts.in, vv.counts.out, vv.counts.late, vv.counts.bad);
        if (vv.lag.known)
            tide_buf_printf(b, ",\"lag_records\":%" PRIu64 ",\"lag_ms\":%" PRId64, vv.lag.records, vv.lag.ms);
        else
            tide_buf_printf(b, ",\"lag_records\":null,\"lag_ms\":null");
        int64_t wm = vv.counts.watermark;
        if (vv.have_run && wm != TIDE_TS_MIN && wm != TIDE_TS_MAX)
            tide_buf_printf(b, ",\"watermark\":%" PRId64, wm);
        else
            tide_buf_printf(b, ",\"watermark\":null");
        tide_buf_printf(b, ",\"rate\":%.1f,\"restarts\":%" PRIu64 ",\"checkpoint\":", vv.rate, vv.restarts);
        if (vv.st.last_id)
            tide_buf_printf(b,
                            "{\"id\":%" PRId64 ",\"time\":%" PRId64 ",\"bytes\":%" PRIu64 ",\"duration_ms\":%" PRId64
                            "}}",
                            vv.st.last_id, vv.st.last_time_ms, vv.st.last_bytes, vv.st.last_ms);
        else
            tide_buf_printf(b, "null}");
    }
    free(vs);
    if (tide_buf_printf(b, "]}") != 0)
        return tide_err_set(e, TIDE_ENOMEM, "out of memory");
    return 0;
}

int tide_srv_jobs_json(tide_srv *s, const char *job, tide_buf *out, tide_err *e)
{
    if (job) {
        if (!tide_ver_name_valid(job) || !tide_ver_is_deployed(s->datadir, job))
            return tide_err_set(e, TIDE_ENOENT, "no job %s", job);
        return job_json(s, job, out, e);
    }
    char **names = NULL;
    size_t n = 0;
    int rc = tide_ver_jobs(s->datadir, &names, &n, e);
    tide_buf_printf(out, "{\"jobs\":[");
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (i)
            tide_buf_putc(out, ',');
        rc = job_json(s, names[i], out, e);
    }
    tide_ver_names_free(names, n);
    if (rc == 0 && tide_buf_printf(out, "]}") != 0)
        rc = tide_err_set(e, TIDE_ENOMEM, "out of memory");
    return rc;
}

/* ---- promote ---- */

static int promote_once(tide_srv *s, srv_job *j, int64_t version, bool keep, tide_err *e)
{
    pthread_rwlock_wrlock(&j->rw);
    tide_ver_info v;
    tide_ver_alias a;
    int rc = tide_ver_read(s->datadir, j->name, version, &v, e);
    if (rc == 0)
        rc = tide_ver_alias_read(s->datadir, j->name, &a, e);
    if (rc == 0) {
        vview vv;
        view_of(s, j->name, version, &vv);
        tide_ver_progress p = {.running = vv.running, .lag_known = vv.lag.known, .lag = vv.lag.records};
        rc = tide_ver_promote_check(&v, &a, &p, e);
    }
    if (rc == 0)
        rc = tide_ver_promote(s->datadir, j->name, version, keep, stop_cb, s, e);
    pthread_rwlock_unlock(&j->rw);
    if (rc == 0)
        say(s, "%s: v%" PRId64 " is live%s", j->name, version, keep ? " (older versions kept)" : "");
    return rc;
}

int tide_srv_promote(tide_srv *s, const char *job, int64_t version, bool wait, bool keep, int64_t timeout_ms,
                     tide_err *e)
{
    srv_job *j = tide_ver_name_valid(job) && tide_ver_is_deployed(s->datadir, job) ? get_job(s, job, true) : NULL;
    if (!j)
        return tide_err_set(e, TIDE_ENOENT, "no job %s", job);
    int64_t until = mono_ms() + (timeout_ms > 0 ? timeout_ms : 60000);
    for (;;) {
        tide_err pe = {0};
        int rc = promote_once(s, j, version, keep, &pe);
        if (rc != TIDE_EAGAIN || !wait || mono_ms() >= until) {
            if (rc)
                tide_err_set(e, rc, "%s", pe.msg);
            return rc;
        }
        struct timespec d = {0, 50 * 1000000};
        nanosleep(&d, NULL);
    }
}

/* ---- results ---- */

/* Read topic `topic` (read-committed) into a view: every partition from its
 * start to where it stands now. */
static int read_view(tide_srv *s, const char *topic, tide_view *v, tide_err *e)
{
    tide_topic_config tc;
    int rc = tide_topic_config_load(s->datadir, topic, &tc, e);
    for (uint32_t p = 0; p < tc.partitions && rc == 0; p++) {
        tide_log_reader *rd = NULL;
        if ((rc = tide_log_reader_open(&rd, s->datadir, topic, p, e)) != 0)
            break;
        for (;;) {
            tide_record rec;
            tide_err re = {0};
            int r = tide_log_reader_next(rd, &rec, &re);
            if (r == TIDE_EAGAIN)
                break;
            if (r) {
                rc = tide_err_set(e, r, "%s", re.msg);
                break;
            }
            char where[UNIT_CAP + 64];
            snprintf(where, sizeof where, "%s/%u/%" PRIu64, topic, p, rec.offset);
            if ((rc = tide_view_apply(v, rec.value, rec.value_len, where, e)) != 0)
                break;
        }
        tide_log_reader_close(rd);
    }
    return rc;
}

/* The column names of a version's results, when its output is empty. */
static int columns_of(tide_srv *s, const char *job, int64_t version, char ***cols, size_t *n, tide_err *e)
{
    *cols = NULL;
    *n = 0;
    tide_ver_info v;
    char *sql = NULL;
    size_t len = 0;
    int rc = tide_ver_read(s->datadir, job, version, &v, e);
    if (rc || (rc = tide_ver_sql(s->datadir, job, version, &sql, &len, e)) != 0)
        return rc;
    compiled c;
    memset(&c, 0, sizeof c);
    c.src = sql;
    tide_sql_error serr;
    memset(&serr, 0, sizeof serr);
    if (tide_sql_catalog_create(&c.cat) != 0 || tide_sql_compile(c.cat, job, sql, len, &c.prog, &serr) != 0 ||
        c.prog->nplans != 1) {
        compiled_free(&c);
        return 0; /* (it compiled at deploy: no names is all that is lost) */
    }
    const tide_sql_plan *in = c.prog->plans[0]->input;
    *cols = calloc(in->ncols ? in->ncols : 1, sizeof **cols);
    for (uint32_t i = 0; *cols && i < in->ncols; i++)
        if (((*cols)[i] = strdup(in->cols[i].name)) != NULL)
            *n = i + 1;
    compiled_free(&c);
    return *cols ? 0 : tide_err_set(e, TIDE_ENOMEM, "out of memory");
}

static int row_out(void *ctx, const char *row, size_t len, tide_err *e)
{
    tide_buf *b = ctx;
    int rc = 0;
    if (b->data[b->len - 1] != '[')
        rc = tide_buf_putc(b, ',');
    if (rc == 0)
        rc = tide_buf_append(b, row, len);
    return rc ? tide_err_set(e, TIDE_ENOMEM, "out of memory") : 0;
}

int tide_srv_results(tide_srv *s, const char *job, const char *where, tide_buf *out, tide_err *e)
{
    srv_job *j = tide_ver_name_valid(job) && tide_ver_is_deployed(s->datadir, job) ? get_job(s, job, true) : NULL;
    if (!j)
        return tide_err_set(e, TIDE_ENOENT, "no job %s", job);
    pthread_rwlock_rdlock(&j->rw);
    tide_ver_alias a;
    tide_view *v = NULL;
    tide_view_filter *f = NULL;
    char **cols = NULL;
    size_t ncols = 0;
    char unit[UNIT_CAP];
    int rc = tide_ver_alias_read(s->datadir, job, &a, e);
    if (rc == 0 && a.live == 0)
        rc = tide_err_set(e, TIDE_ENOENT, "job %s has no live version", job);
    if (rc == 0) {
        tide_ver_unit_name(job, a.live, unit, sizeof unit);
        rc = tide_view_create(&v, e);
    }
    if (rc == 0 && tide_topic_exists(s->datadir, unit))
        rc = read_view(s, unit, v, e);
    const char **names = NULL;
    if (rc == 0 && tide_view_ncols(v) == 0)
        rc = columns_of(s, job, a.live, &cols, &ncols, e);
    else if (rc == 0)
        ncols = tide_view_ncols(v);
    if (rc == 0 && !(names = calloc(ncols ? ncols : 1, sizeof *names)))
        rc = tide_err_set(e, TIDE_ENOMEM, "out of memory");
    for (size_t i = 0; rc == 0 && i < ncols; i++)
        names[i] = cols ? cols[i] : tide_view_col(v, i);
    if (rc == 0 && where && *where)
        rc = tide_view_filter_parse(where, names, ncols, &f, e);
    if (rc == 0) {
        tide_buf_printf(out, "{\"job\":");
        put_str(out, job);
        tide_buf_printf(out, ",\"version\":%" PRId64 ",\"columns\":[", a.live);
        for (size_t i = 0; i < ncols; i++) {
            if (i)
                tide_buf_putc(out, ',');
            put_str(out, names[i]);
        }
        tide_buf_printf(out, "],\"rows\":[");
        rc = tide_view_each(v, f, row_out, out, e);
        if (rc == 0 && tide_buf_printf(out, "],\"unmatched_retractions\":%" PRIu64 "}", tide_view_unmatched(v)) != 0)
            rc = tide_err_set(e, TIDE_ENOMEM, "out of memory");
    }
    pthread_rwlock_unlock(&j->rw);
    free(names);
    for (size_t i = 0; i < ncols && cols; i++)
        free(cols[i]);
    free(cols);
    tide_view_filter_free(f);
    tide_view_free(v);
    return rc;
}

/* ---- verify ---- */

typedef struct ends {
    tide_srv *s;
    vrun *r; /* the live version's run (its coordinator under r->mu) */
    int64_t ckpt;
    int rc;
    tide_err err;
    uint64_t *offs[16];
    uint32_t n[16];
    char *topics[16];
    int ntopics;
} ends;

/* topic_end: the live version's checkpoint positions for `topic`. */
static int end_of(void *ctx, const char *topic, const uint64_t **offs, uint32_t *n)
{
    ends *x = ctx;
    for (int i = 0; i < x->ntopics; i++)
        if (strcmp(x->topics[i], topic) == 0) {
            *offs = x->offs[i];
            *n = x->n[i];
            return 1;
        }
    if (x->ntopics == 16) {
        if (!x->rc)
            x->rc = tide_err_set(&x->err, TIDE_EUNSUPPORTED, "verify: more than 16 input topics");
        return 0;
    }
    int64_t id = 0;
    int rc = TIDE_ENOENT;
    pthread_mutex_lock(&x->r->mu);
    if (x->r->watch)
        rc = tide_coord_topic_positions(x->r->watch, topic, &x->offs[x->ntopics], &x->n[x->ntopics], &id, &x->err);
    else
        tide_err_set(&x->err, TIDE_EAGAIN, "verify: %s is not running", x->r->unit);
    pthread_mutex_unlock(&x->r->mu);
    if (rc == 0 && id != x->ckpt)
        rc = tide_err_set(&x->err, TIDE_EAGAIN, "verify: a checkpoint completed meanwhile");
    if (rc) {
        free(x->offs[x->ntopics]);
        if (!x->rc)
            x->rc = rc;
        return 0;
    }
    x->topics[x->ntopics] = strdup(topic);
    if (!x->topics[x->ntopics]) {
        free(x->offs[x->ntopics]);
        if (!x->rc)
            x->rc = tide_err_set(&x->err, TIDE_ENOMEM, "out of memory");
        return 0;
    }
    *offs = x->offs[x->ntopics];
    *n = x->n[x->ntopics];
    x->ntopics++;
    return 1;
}

static void ends_free(ends *x)
{
    for (int i = 0; i < x->ntopics; i++) {
        free(x->offs[i]);
        free(x->topics[i]);
    }
    x->ntopics = 0;
}

typedef struct closed_rows {
    size_t col;    /* window_end's cell */
    int64_t wm;    /* rows of windows with end - 1 <= wm */
    char **rows;
    size_t n, cap;
    int rc;
} closed_rows;

static int keep_closed(void *ctx, const char *row, size_t len, tide_err *e)
{
    closed_rows *c = ctx;
    const char *cell;
    size_t cl;
    if (!tide_view_cell(row, len, c->col, &cell, &cl) || cl < 2 || cell[0] != '"')
        return tide_err_set(e, TIDE_EINVAL, "verify: a row without a window_end timestamp: %.*s", (int)len, row);
    int64_t end;
    if (tide_ts_parse(cell + 1, cl - 2, &end, NULL) != 0)
        return tide_err_set(e, TIDE_EINVAL, "verify: window_end '%.*s' is not a timestamp", (int)cl, cell);
    if (end - 1 > c->wm)
        return 0;
    char *t = strndup(row, len);
    if (!t || tide_array_grow((void **)&c->rows, &c->cap, c->n + 1, sizeof *c->rows) != 0) {
        free(t);
        return tide_err_set(e, TIDE_ENOMEM, "out of memory");
    }
    c->rows[c->n++] = t;
    return 0;
}

static void closed_free(closed_rows *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->rows[i]);
    free(c->rows);
}

static int cmp_text(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int verify_locked(tide_srv *s, const char *job, int64_t live, bool *identical, tide_buf *out, tide_err *e)
{
    char unit[UNIT_CAP], scratch[UNIT_CAP + 16];
    tide_ver_unit_name(job, live, unit, sizeof unit);
    snprintf(scratch, sizeof scratch, "%s.verify", unit);
    tide_ver_info v;
    int rc = tide_ver_read(s->datadir, job, live, &v, e);
    if (rc)
        return rc;
    if (v.from.kind == TIDE_VER_FROM_LATEST)
        return tide_err_set(e, TIDE_EUNSUPPORTED,
                            "verify: %s started from latest: where it started is not recorded, so it cannot be "
                            "rerun (deploy from earliest or @TIME)",
                            unit);
    pthread_mutex_lock(&s->mu);
    vrun *r = find_run(s, job, live, NULL);
    pthread_mutex_unlock(&s->mu);
    if (!r)
        return tide_err_set(e, TIDE_EINVAL, "verify: %s is not running (stopped?)", unit);
    /* the newest checkpoint: its watermark and id */
    tide_coord_lag lag = {0};
    pthread_mutex_lock(&r->mu);
    refresh(r);
    if (r->watch)
        rc = tide_coord_lag_get(r->watch, &lag, e);
    pthread_mutex_unlock(&r->mu);
    if (rc == 0 && !lag.known)
        return tide_err_set(e, TIDE_EAGAIN, "verify: %s has no checkpoint yet (starting?)", unit);
    if (rc)
        return rc;
    /* the rerun: the same SQL, bounded at the checkpoint's positions, into
     * a scratch topic */
    char *sql = NULL;
    size_t len = 0;
    if ((rc = tide_ver_sql(s->datadir, job, live, &sql, &len, e)) != 0)
        return rc;
    tide_err de = {0};
    if (tide_topic_exists(s->datadir, scratch))
        tide_topic_delete(s->datadir, scratch, &de);
    if ((rc = ensure_topic(s->datadir, scratch, e)) != 0) {
        free(sql);
        return rc;
    }
    ends x = {.s = s, .r = r, .ckpt = lag.ckpt_id};
    tide_sql_phys_opts o;
    phys_opts(s, &v, NULL, scratch, &o);
    o.topic_end = end_of;
    o.topic_end_ctx = &x;
    compiled c;
    char name[UNIT_CAP + 16];
    snprintf(name, sizeof name, "%s.sql", unit);
    tide_job *jh = NULL;
    tide_view *lv = NULL, *rv = NULL;
    closed_rows cl = {0}, cr = {0};
    rc = compile_plan(&c, sql, len, name, &o, e);
    if (rc == 0 && x.rc)
        rc = tide_err_set(e, x.rc, "%s", x.err.msg);
    if (rc == 0)
        rc = tide_job_create(&jh, c.spec, NULL, e);
    if (rc == 0)
        rc = tide_job_run(jh, e);
    if (rc == 0 && (rc = tide_view_create(&lv, e)) == 0 && (rc = tide_view_create(&rv, e)) == 0 &&
        (rc = read_view(s, unit, lv, e)) == 0)
        rc = read_view(s, scratch, rv, e);
    /* the windows the live watermark closed, in both */
    size_t wcol = SIZE_MAX;
    for (size_t i = 0; rc == 0 && i < tide_view_ncols(rv); i++)
        if (strcmp(tide_view_col(rv, i), "window_end") == 0)
            wcol = i;
    if (rc == 0 && wcol == SIZE_MAX && tide_view_rows(rv) > 0)
        rc = tide_err_set(e, TIDE_EUNSUPPORTED, "verify: %s's results have no window_end column: which rows are "
                                                "final cannot be told",
                          unit);
    if (rc == 0) {
        cl = (closed_rows){.col = wcol, .wm = lag.watermark};
        cr = cl;
        if (tide_view_rows(lv) && (wcol >= tide_view_ncols(lv) || strcmp(tide_view_col(lv, wcol), "window_end") != 0))
            rc = tide_err_set(e, TIDE_EINVAL, "verify: the live output's columns differ from the rerun's");
    }
    if (rc == 0 && wcol != SIZE_MAX)
        rc = tide_view_each(lv, NULL, keep_closed, &cl, e);
    if (rc == 0 && wcol != SIZE_MAX)
        rc = tide_view_each(rv, NULL, keep_closed, &cr, e);
    if (rc == 0) {
        if (cl.n > 1)
            qsort(cl.rows, cl.n, sizeof *cl.rows, cmp_text);
        if (cr.n > 1)
            qsort(cr.rows, cr.n, sizeof *cr.rows, cmp_text);
        tide_buf ol = {0}, orr = {0};
        size_t i = 0, k = 0, nl = 0, nr = 0;
        while (i < cl.n || k < cr.n) {
            int d = i == cl.n ? 1 : k == cr.n ? -1 : strcmp(cl.rows[i], cr.rows[k]);
            if (d == 0) {
                i++;
                k++;
            } else if (d < 0) {
                tide_buf_printf(&ol, "%s%s", nl++ ? "," : "", cl.rows[i++]);
            } else {
                tide_buf_printf(&orr, "%s%s", nr++ ? "," : "", cr.rows[k++]);
            }
        }
        *identical = nl == 0 && nr == 0;
        char wm[TIDE_TS_FORMAT_MAX];
        wm[tide_ts_format(lag.watermark, wm)] = '\0';
        tide_buf_printf(out,
                        "{\"job\":\"%s\",\"version\":%" PRId64 ",\"checkpoint\":%" PRId64
                        ",\"watermark\":\"%s\",\"identical\":%s,\"rows\":%zu,\"only_live\":[%.*s],\"only_rerun\":[%.*s]}",
                        job, live, lag.ckpt_id, wm, *identical ? "true" : "false", cl.n, (int)ol.len,
                        ol.data ? (const char *)ol.data : "", (int)orr.len, orr.data ? (const char *)orr.data : "");
        tide_buf_free(&ol);
        tide_buf_free(&orr);
    }
    closed_free(&cl);
    closed_free(&cr);
    tide_view_free(lv);
    tide_view_free(rv);
    tide_job_free(jh);
    compiled_free(&c);
    ends_free(&x);
    de = (tide_err){0};
    tide_topic_delete(s->datadir, scratch, &de);
    return rc;
}

int tide_srv_verify(tide_srv *s, const char *job, bool *identical, tide_buf *out, tide_err *e)
{
    *identical = false;
    srv_job *j = tide_ver_name_valid(job) && tide_ver_is_deployed(s->datadir, job) ? get_job(s, job, true) : NULL;
    if (!j)
        return tide_err_set(e, TIDE_ENOENT, "no job %s", job);
    /* a checkpoint may complete while the positions are taken, and a
     * version just (re)started has no run or checkpoint yet: try again for
     * a while */
    int64_t until = mono_ms() + 10000;
    for (;;) {
        pthread_rwlock_rdlock(&j->rw);
        tide_ver_alias a;
        tide_err ve = {0};
        int rc = tide_ver_alias_read(s->datadir, job, &a, &ve);
        if (rc == 0 && a.live == 0)
            rc = tide_err_set(&ve, TIDE_ENOENT, "job %s has no live version", job);
        size_t mark = out->len;
        if (rc == 0)
            rc = verify_locked(s, job, a.live, identical, out, &ve);
        pthread_rwlock_unlock(&j->rw);
        if (rc != TIDE_EAGAIN || mono_ms() >= until) {
            if (rc)
                tide_err_set(e, rc, "%s", ve.msg);
            return rc;
        }
        out->len = mark;
        struct timespec d = {0, 50 * 1000000};
        nanosleep(&d, NULL);
    }
}

/* ---- metrics ---- */

static int64_t wall_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* GET /metrics: a snapshot of every job version and topic, rendered by
 * server/metrics.h. */
static int metrics(tide_srv *s, tide_buf *out, tide_err *e)
{
    char **names = NULL, **tnames = NULL;
    size_t n = 0, nt = 0;
    tide_srv_job_snap *jobs = NULL;
    tide_srv_topic_snap *topics = NULL;
    tide_ver_info **infos = NULL;
    int rc = tide_ver_jobs(s->datadir, &names, &n, e);
    if (rc == 0 && n && (!(jobs = calloc(n, sizeof *jobs)) || !(infos = calloc(n, sizeof *infos))))
        rc = tide_err_set(e, TIDE_ENOMEM, "out of memory");
    for (size_t i = 0; i < n && rc == 0; i++) {
        tide_ver_alias a;
        size_t nv = 0;
        if ((rc = tide_ver_alias_read(s->datadir, names[i], &a, e)) != 0 ||
            (rc = tide_ver_list(s->datadir, names[i], &infos[i], &nv, e)) != 0)
            break;
        tide_srv_version_snap *vs = calloc(nv ? nv : 1, sizeof *vs);
        if (!vs) {
            rc = tide_err_set(e, TIDE_ENOMEM, "out of memory");
            break;
        }
        jobs[i] = (tide_srv_job_snap){.name = names[i], .live = (int)a.live, .versions = vs, .nversions = nv};
        for (size_t k = 0; k < nv; k++) {
            vview vv;
            view_of(s, names[i], infos[i][k].version, &vv);
            int64_t wm = vv.counts.watermark;
            vs[k] = (tide_srv_version_snap){
                .version = (int)infos[i][k].version,
                .state = state_shown(&infos[i][k], &a, &vv),
                .records_in = vv.counts.in,
                .records_out = vv.counts.out,
                .late = vv.counts.late,
                .bad = vv.counts.bad,
                .rate = vv.rate,
                .lag_records = vv.lag.known ? (int64_t)vv.lag.records : TIDE_SRV_UNKNOWN,
                .lag_ms = vv.lag.known ? vv.lag.ms : TIDE_SRV_UNKNOWN,
                .watermark_ms = vv.have_run && wm != TIDE_TS_MIN && wm != TIDE_TS_MAX ? wm : TIDE_SRV_UNKNOWN,
                .ckpt_id = vv.st.last_id,
                .ckpt_time_ms = vv.st.last_time_ms,
                .ckpt_duration_ms = vv.st.last_ms,
                .ckpt_bytes = vv.st.last_bytes,
                .state_bytes = vv.st.last_bytes, /* the state a checkpoint holds */
                .restarts = vv.restarts,
            };
        }
    }
    if (rc == 0)
        rc = tide_topic_list(s->datadir, &tnames, &nt, e);
    if (rc == 0 && nt && !(topics = calloc(nt, sizeof *topics)))
        rc = tide_err_set(e, TIDE_ENOMEM, "out of memory");
    for (size_t i = 0; i < nt && rc == 0; i++) {
        tide_partition_info *pi = NULL;
        uint32_t np = 0;
        tide_err te = {0};
        topics[i].name = tnames[i];
        if (tide_topic_describe(s->datadir, tnames[i], &pi, &np, &te) != 0)
            continue; /* (deleted meanwhile) */
        tide_srv_partition_snap *ps = calloc(np ? np : 1, sizeof *ps);
        if (!ps) {
            free(pi);
            rc = tide_err_set(e, TIDE_ENOMEM, "out of memory");
            break;
        }
        for (uint32_t p = 0; p < np; p++)
            ps[p] = (tide_srv_partition_snap){.partition = (int)pi[p].partition,
                                              .start_offset = (int64_t)pi[p].first_offset,
                                              .end_offset = (int64_t)pi[p].next_offset,
                                              .bytes = pi[p].bytes};
        free(pi);
        topics[i].parts = ps;
        topics[i].nparts = np;
    }
    if (rc == 0) {
        tide_srv_snapshot snap = {.now_ms = wall_now_ms(), .jobs = jobs, .njobs = n, .topics = topics, .ntopics = nt};
        rc = tide_srv_metrics(&snap, out, e);
    }
    for (size_t i = 0; i < n; i++) {
        if (jobs)
            free((void *)jobs[i].versions);
        if (infos)
            free(infos[i]);
    }
    for (size_t i = 0; i < nt && topics; i++)
        free((void *)topics[i].parts);
    free(jobs);
    free(infos);
    free(topics);
    tide_ver_names_free(names, n);
    if (tnames)
        tide_topic_names_free(tnames, nt);
    return rc;
}

/* ---- HTTP ---- */

static int http_status_of(int rc)
{
    switch (rc) {
    case TIDE_ENOENT:
        return 404;
    case TIDE_EAGAIN:
        return 409;
    case TIDE_EINVAL:
    case TIDE_EPARSE:
    case TIDE_EUNSUPPORTED:
    case TIDE_EEXIST:
        return 400;
    default:
        return 500;
    }
}

static int fail(tide_http_resp *resp, int rc, const tide_err *e)
{
    return tide_http_error(resp, http_status_of(rc), "%s", e->msg[0] ? e->msg : "failed");
}

static bool qbool(const char *query, const char *name)
{
    char v[16];
    return tide_http_query_get(query, name, v, sizeof v) == 0 && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0 || !v[0]);
}

static int qint(const char *query, const char *name, int64_t *out, bool *present)
{
    char v[32];
    *present = false;
    int rc = tide_http_query_get(query, name, v, sizeof v);
    if (rc == TIDE_ENOENT)
        return 0;
    char *end;
    errno = 0;
    long long x = rc == 0 ? strtoll(v, &end, 10) : 0;
    if (rc || errno || end == v || *end)
        return TIDE_EINVAL;
    *out = x;
    *present = true;
    return 0;
}

/* POST /jobs: {"name": .., "sql": .., "from": ..} */
static int route_deploy(tide_srv *s, const tide_http_req *req, tide_http_resp *resp)
{
    tide_json j;
    tide_json_init(&j);
    tide_err e = {0};
    int rc = tide_json_parse_object(&j, req->body, req->body_len, "request body", &e);
    if (rc) {
        tide_json_free(&j);
        return tide_http_error(resp, 400, "%s", e.msg);
    }
    const tide_json_value *n = tide_json_get(&j, "name", 4), *q = tide_json_get(&j, "sql", 3),
                          *f = tide_json_get(&j, "from", 4);
    if (!n || n->type != TIDE_JSON_STRING || !q || q->type != TIDE_JSON_STRING ||
        (f && f->type != TIDE_JSON_STRING && f->type != TIDE_JSON_NULL)) {
        tide_json_free(&j);
        return tide_http_error(resp, 400, "deploy: the body must be {\"name\": string, \"sql\": string, \"from\": "
                                          "string (optional)}");
    }
    char *name = strndup(n->text, n->len), *sql = strndup(q->text, q->len);
    char *from = f && f->type == TIDE_JSON_STRING ? strndup(f->text, f->len) : NULL;
    size_t sql_len = q->len, name_len = n->len;
    tide_json_free(&j);
    int64_t v = 0;
    if (!name || !sql)
        rc = tide_err_set(&e, TIDE_ENOMEM, "out of memory");
    else if (strlen(name) != name_len)
        rc = tide_err_set(&e, TIDE_EINVAL, "deploy: a NUL in the job name");
    else
        rc = tide_srv_deploy(s, name, sql, sql_len, from, &v, &e);
    if (rc == 0) {
        tide_buf_printf(&resp->body, "{\"name\":");
        put_str(&resp->body, name);
        tide_buf_printf(&resp->body, ",\"version\":%" PRId64 ",\"output\":\"%s.v%" PRId64 "\"}", v, name, v);
        resp->status = 201;
    }
    free(name);
    free(sql);
    free(from);
    return rc ? fail(resp, rc, &e) : 0;
}

int tide_srv_handle(void *ctx, const tide_http_req *req, tide_http_resp *resp, tide_err *e)
{
    (void)e;
    tide_srv *s = ctx;
    const char *p = req->path;
    bool get = strcmp(req->method, "GET") == 0, post = strcmp(req->method, "POST") == 0;
    tide_err ae = {0};
    int rc;
    if (strcmp(p, "/metrics") == 0 && get) {
        resp->content_type = TIDE_SRV_METRICS_CONTENT_TYPE;
        rc = metrics(s, &resp->body, &ae);
        return rc ? fail(resp, rc, &ae) : 0;
    }
    if (get && tide_srv_dashboard_path(p))
        return tide_srv_dashboard(p, resp, e);
    if (strcmp(p, "/jobs") == 0) {
        if (get) {
            rc = tide_srv_jobs_json(s, NULL, &resp->body, &ae);
            return rc ? fail(resp, rc, &ae) : 0;
        }
        if (post)
            return route_deploy(s, req, resp);
        return tide_http_error(resp, 405, "%s %s: use GET or POST", req->method, p);
    }
    if (strncmp(p, "/jobs/", 6) == 0) {
        char name[TIDE_VER_NAME_MAX + 1];
        const char *rest = strchr(p + 6, '/');
        size_t nl = rest ? (size_t)(rest - (p + 6)) : strlen(p + 6);
        if (nl == 0 || nl > TIDE_VER_NAME_MAX)
            return tide_http_error(resp, 404, "%s: no such job", p);
        memcpy(name, p + 6, nl);
        name[nl] = '\0';
        if (!tide_ver_name_valid(name))
            return tide_http_error(resp, 404, "%s: no such job", p);
        if (!rest) {
            if (!get)
                return tide_http_error(resp, 405, "%s %s: use GET", req->method, p);
            rc = tide_srv_jobs_json(s, name, &resp->body, &ae);
            return rc ? fail(resp, rc, &ae) : 0;
        }
        int64_t version = 0;
        bool has_v = false;
        if (qint(req->query, "version", &version, &has_v) != 0 || (has_v && version < 1))
            return tide_http_error(resp, 400, "version: expected a number >= 1");
        if (strcmp(rest, "/stop") == 0 && post) {
            rc = tide_srv_stop_version(s, name, has_v ? version : 0, &ae);
            if (rc == 0)
                tide_buf_printf(&resp->body, "{\"stopped\":true}");
            return rc ? fail(resp, rc, &ae) : 0;
        }
        if (strcmp(rest, "/promote") == 0 && post) {
            if (!has_v)
                return tide_http_error(resp, 400, "promote: version=N is required");
            int64_t timeout = 0;
            bool has_t;
            if (qint(req->query, "timeout_ms", &timeout, &has_t) != 0)
                return tide_http_error(resp, 400, "timeout_ms: expected a number");
            rc = tide_srv_promote(s, name, version, qbool(req->query, "wait"), qbool(req->query, "keep"), timeout,
                                  &ae);
            if (rc == 0)
                tide_buf_printf(&resp->body, "{\"live\":%" PRId64 "}", version);
            return rc ? fail(resp, rc, &ae) : 0;
        }
        if (strcmp(rest, "/results") == 0 && get) {
            char where[4096];
            int wr = tide_http_query_get(req->query, "where", where, sizeof where);
            if (wr != 0 && wr != TIDE_ENOENT)
                return tide_http_error(resp, 400, "where: malformed or too long");
            rc = tide_srv_results(s, name, wr == 0 ? where : NULL, &resp->body, &ae);
            return rc ? fail(resp, rc, &ae) : 0;
        }
        if (strcmp(rest, "/verify") == 0 && post) {
            bool same;
            rc = tide_srv_verify(s, name, &same, &resp->body, &ae);
            return rc ? fail(resp, rc, &ae) : 0;
        }
        return tide_http_error(resp, 404, "%s %s: no such route", req->method, p);
    }
    return tide_http_error(resp, 404, "%s %s: no such route", req->method, p);
}

/* ---- a version's own process ---- */

struct tide_srv_version {
    tide_srv srv; /* datadir and cfg only */
    vrun run;
};

int tide_srv_version_open(tide_srv_version **out, const tide_srv_cfg *cfg, const char *job, int64_t version,
                          tide_err *e)
{
    *out = NULL;
    if (!cfg->datadir)
        return tide_err_set(e, TIDE_EINVAL, "server: no data directory");
    if (!tide_ver_name_valid(job) || version < 1)
        return tide_err_set(e, TIDE_EINVAL, "server: '%s' v%" PRId64 " is not a job version", job, version);
    tide_srv_version *x = calloc(1, sizeof *x);
    if (!x || !(x->srv.datadir = strdup(cfg->datadir))) {
        free(x);
        return tide_err_set(e, TIDE_ENOMEM, "out of memory");
    }
    x->srv.cfg = *cfg;
    if (x->srv.cfg.checkpoint_ms <= 0)
        x->srv.cfg.checkpoint_ms = 1000;
    pthread_mutex_init(&x->srv.mu, NULL);
    vrun_init(&x->run, &x->srv, job, version);
    *out = x;
    return 0;
}

int tide_srv_version_run(tide_srv_version *x, tide_err *e)
{
    return run_once(&x->run, e);
}

void tide_srv_version_stop(tide_srv_version *x) { vrun_ask_stop(&x->run); }

void tide_srv_version_free(tide_srv_version *x)
{
    if (!x)
        return;
    pthread_mutex_destroy(&x->run.mu);
    pthread_cond_destroy(&x->run.cv);
    pthread_mutex_destroy(&x->srv.mu);
    free(x->srv.datadir);
    free(x);
}
