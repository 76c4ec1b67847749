/*
 * job_cmd.c - `tide job list`, `tide job status NAME`, `tide job reset NAME`:
 * the named jobs of a data directory (job/coord.h, job/status.h).
 */
#include "base/io.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "data/timefmt.h"
#include "job/coord.h"
#include "job/status.h"
#include "job/version.h"
#include "log/topic.h"
#include "state/ckpt.h"
#include "tide.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char job_usage[] =
    "Usage: tide job list\n"
    "       tide job status NAME\n"
    "       tide job reset NAME\n"
    "       tide job stop NAME[@vN] [--server ADDR] [--token T]\n"
    "\n"
    "The named jobs of the data directory (tide run FILE.sql --job NAME).\n"
    "  list          each job: running or stopped, its last checkpoint\n"
    "  status NAME   running or stopped (and why), the last checkpoint (id,\n"
    "                time, size, how long it took), the sources' positions\n"
    "                at it and their lag behind the end of the input, the\n"
    "                watermark, records in, out, late and bad (a running job\n"
    "                rewrites its status about every second)\n"
    "  status NAME   of a deployed job (tide deploy): every version with its\n"
    "                state (live, catching-up, caught-up, stopped, retired,\n"
    "                failed), lag, counts, rate and last checkpoint, from the\n"
    "                server\n"
    "  stop NAME[@vN]  a deployed job's version N (or every running one):\n"
    "                stopped by the server through a final checkpoint\n"
    "  reset NAME    remove the job's checkpoints and state, so that the next\n"
    "                run starts from the beginning (refused while it runs; its\n"
    "                output is not touched)\n"
    "\n"
    "Exit status: 0 success, 1 usage error, 2 runtime error (no such job).\n";

static void fmt_time(int64_t ms, char *buf)
{
    if (ms == TIDE_TS_MIN)
        strcpy(buf, "none");
    else if (ms == TIDE_TS_MAX)
        strcpy(buf, "end of input");
    else
        buf[tide_ts_format(ms, buf)] = '\0';
}

static bool job_exists(const char *datadir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/jobs/%s", datadir, name);
    tide_io_info info;
    tide_err e = {0};
    return tide_io_stat(path, true, &info, &e) == 0 && info.kind == TIDE_IO_DIRECTORY;
}

/* "running", or "stopped (why)". */
static void describe_state(const char *datadir, const char *name, bool running, const tide_jstatus *st,
                           bool have_st, char *out, size_t cap)
{
    if (running) {
        snprintf(out, cap, "running (pid %" PRId64 ")", have_st ? st->pid : (int64_t)0);
    } else if (!have_st) {
        snprintf(out, cap, "stopped");
    } else if (strcmp(st->state, "running") == 0) {
        snprintf(out, cap, "stopped (the last run, pid %" PRId64 ", died without finishing: killed?)", st->pid);
    } else if (strcmp(st->state, "failed") == 0) {
        snprintf(out, cap, "stopped (failed: %s)", st->error);
    } else if (strcmp(st->state, "finished") == 0) {
        snprintf(out, cap, "stopped (finished: its input ended)");
    } else {
        snprintf(out, cap, "stopped (by a signal)");
    }
    (void)datadir;
    (void)name;
}

static int job_list(const char *datadir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/jobs", datadir);
    DIR *d = opendir(path);
    if (!d) {
        if (errno == ENOENT)
            return TIDE_CLI_OK; /* no jobs */
        tide_cli_error("%s: %s", path, strerror(errno));
        return TIDE_CLI_RUNTIME;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    for (struct dirent *de; (de = readdir(d));) {
        if (!tide_topic_name_valid(de->d_name))
            continue;
        if (tide_ver_is_deployed(datadir, de->d_name))
            continue; /* a deployed job: its versions NAME.vN are the named jobs */
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn)
                break;
            names = nn;
        }
        if (!(names[n] = strdup(de->d_name)))
            break;
        n++;
    }
    closedir(d);
    for (size_t i = 1; i < n; i++) /* sorted by name */
        for (size_t k = i; k > 0 && strcmp(names[k - 1], names[k]) > 0; k--) {
            char *t = names[k];
            names[k] = names[k - 1];
            names[k - 1] = t;
        }
    int rc = TIDE_CLI_OK;
    for (size_t i = 0; i < n; i++) {
        tide_err e = {0};
        bool running = false;
        if (tide_coord_probe(datadir, names[i], &running, &e) != 0) {
            tide_cli_error("%s", e.msg);
            rc = TIDE_CLI_RUNTIME;
        }
        tide_jstatus st;
        bool have = tide_jstatus_read(datadir, names[i], &st, &e) == 0;
        char state[TIDE_JSTATUS_LINE_MAX + 128], when[64] = "";
        describe_state(datadir, names[i], running, &st, have, state, sizeof state);
        if (have && st.ckpt_id) {
            fmt_time(st.ckpt_time_ms, when);
            printf("%s  %s  checkpoint %" PRId64 " at %s\n", names[i], state, st.ckpt_id, when);
        } else {
            printf("%s  %s  no checkpoint\n", names[i], state);
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

static int job_status(const char *datadir, const char *name)
{
    if (tide_ver_is_deployed(datadir, name))
        return tide_cli_job_versions(datadir, name);
    if (!job_exists(datadir, name)) {
        tide_cli_error("job %s: no such job", name);
        return TIDE_CLI_RUNTIME;
    }
    tide_err e = {0};
    bool running = false;
    if (tide_coord_probe(datadir, name, &running, &e) != 0) {
        tide_cli_error("%s", e.msg);
        return TIDE_CLI_RUNTIME;
    }
    tide_jstatus st;
    tide_err se = {0};
    int src = tide_jstatus_read(datadir, name, &st, &se);
    if (src != 0 && src != TIDE_ENOENT)
        tide_cli_error("%s", se.msg); /* damaged: never shown */
    bool have = src == 0;
    char state[TIDE_JSTATUS_LINE_MAX + 128];
    describe_state(datadir, name, running, &st, have, state, sizeof state);
    printf("job %s: %s\n", name, state);
    if (!have)
        return src == TIDE_ENOENT ? TIDE_CLI_OK : TIDE_CLI_RUNTIME;
    char t1[64], t2[64];
    fmt_time(st.started_ms, t1);
    fmt_time(st.updated_ms, t2);
    printf("  run started %s, status as of %s\n", t1, t2);
    if (st.ckpt_id) {
        fmt_time(st.ckpt_time_ms, t1);
        printf("  last checkpoint %" PRId64 " at %s: %" PRIu64 " bytes, took %" PRId64 " ms\n", st.ckpt_id, t1,
               st.ckpt_bytes, st.ckpt_took_ms);
        printf("  %s\n", st.sources);
    } else {
        printf("  no checkpoint yet\n");
    }
    fmt_time(st.watermark, t1);
    printf("  watermark %s\n", t1);
    printf("  records in %" PRIu64 ", out %" PRIu64 ", late %" PRIu64 ", bad %" PRIu64 "\n", st.in, st.out, st.late,
           st.bad);
    return TIDE_CLI_OK;
}

static int job_reset(const char *datadir, const char *name)
{
    if (!job_exists(datadir, name)) {
        tide_cli_error("job %s: no such job", name);
        return TIDE_CLI_RUNTIME;
    }
    tide_err e = {0};
    if (tide_coord_reset(datadir, name, &e) != 0) {
        tide_cli_error("%s", e.msg);
        return TIDE_CLI_RUNTIME;
    }
    printf("reset job %s: its checkpoints and state are gone; the next run starts from the beginning (its "
           "output was not touched)\n",
           name);
    return TIDE_CLI_OK;
}

int tide_cli_job(int argc, char **argv, const char *datadir)
{
    const char *pos[2] = {0};
    bool help = false;
    int npos = 0;
    if (argc >= 2 && strcmp(argv[0], "stop") == 0 && argv[1][0] != '-')
        return tide_cli_job_stop(datadir, argv[1], argc - 2, argv + 2);
    int rc = tide_cli_parse("job", argc, argv, NULL, 0, pos, 2, &npos, &help);
    if (rc)
        return rc;
    if (help)
        return tide_cli_help(job_usage);
    if (npos == 0)
        return tide_cli_usage_error("job", "expected list, status NAME or reset NAME");
    if (strcmp(pos[0], "list") == 0) {
        if (npos != 1)
            return tide_cli_usage_error("job list", "takes no argument");
        return job_list(datadir);
    }
    bool status = strcmp(pos[0], "status") == 0, reset = strcmp(pos[0], "reset") == 0;
    if (!status && !reset)
        return tide_cli_usage_error("job", "unknown subcommand '%s' (list, status, reset, stop)", pos[0]);
    if (npos != 2)
        return tide_cli_usage_error(status ? "job status" : "job reset", "expected a job NAME");
    if (!tide_topic_name_valid(pos[1]))
        return tide_cli_usage_error(status ? "job status" : "job reset", "'%s': invalid job name", pos[1]);
    return status ? job_status(datadir, pos[1]) : job_reset(datadir, pos[1]);
}
