/*
 * server_cmd.c - `tide server` and the commands that talk to it: `tide
 * deploy`, `tide promote`, `tide query`, `tide verify`, and `tide job stop`
 * (server/server.h has the behaviour; this file parses argv, makes one
 * HTTP request per action with server/http.h's client, and prints).
 *
 * Which server: --server ADDR, else the address the server of the data
 * directory recorded in DATA/server.addr.  The token: --token T, else
 * $TIDE_TOKEN.
 */
#include "base/io.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "data/json.h"
#include "data/timefmt.h"
#include "job/version.h"
#include "server/http.h"
#include "server/server.h"
#include "server/view.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the client side ---- */

typedef struct conn {
    const char *datadir, *server, *token;
    char addr[256];
} conn;

static int conn_resolve(conn *c)
{
    if (!c->token)
        c->token = getenv("TIDE_TOKEN");
    if (c->server) {
        snprintf(c->addr, sizeof c->addr, "%s", c->server);
        return 0;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/server.addr", c->datadir);
    char *text = NULL;
    size_t len = 0;
    tide_err e = {0};
    if (tide_io_read_all(path, &text, &len, &e) != 0) {
        tide_cli_error("no tide server for data directory %s (%s): start one with `tide --data %s server`, or "
                       "give --server ADDR",
                       c->datadir, e.code == TIDE_ENOENT ? "no server.addr" : e.msg, c->datadir);
        return TIDE_CLI_RUNTIME;
    }
    text[strcspn(text, "\r\n")] = '\0';
    snprintf(c->addr, sizeof c->addr, "%s", text);
    free(text);
    return 0;
}

/* One request; on an HTTP error prints the server's message and returns
 * TIDE_CLI_RUNTIME (*status says which). */
static int conn_call(conn *c, const char *method, const char *path, const char *body, size_t len, int *status,
                     tide_buf *out)
{
    tide_err e = {0};
    if (tide_http_call(c->addr, c->token, method, path, body, len, status, out, &e) != 0) {
        tide_cli_error("%s (is `tide server` running for %s?)", e.msg, c->datadir);
        return TIDE_CLI_RUNTIME;
    }
    if (*status >= 200 && *status < 300)
        return 0;
    tide_json j;
    tide_json_init(&j);
    const tide_json_value *m = NULL;
    if (out->len && tide_json_parse_object(&j, (const char *)out->data, out->len, NULL, &e) == 0)
        m = tide_json_get(&j, "error", 5);
    if (m && m->type == TIDE_JSON_STRING)
        tide_cli_error("%.*s", (int)m->len, m->text);
    else
        tide_cli_error("the server answered %d: %.*s", *status, (int)(out->len > 300 ? 300 : out->len),
                       out->data ? (const char *)out->data : "");
    tide_json_free(&j);
    return TIDE_CLI_RUNTIME;
}

static void urlencode(tide_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
            ch == '_' || ch == '.' || ch == '~') {
            tide_buf_putc(b, ch);
        } else {
            tide_buf_putc(b, '%');
            tide_buf_putc(b, hex[ch >> 4]);
            tide_buf_putc(b, hex[ch & 15]);
        }
    }
}

/* The options every client command takes. */
#define CONN_OPTS(c) {"--server", &(c).server, NULL}, {"--token", &(c).token, NULL}

/* ---- tide server ---- */

static const char server_usage[] =
    "Usage: tide server [--listen ADDR:PORT] [--token T] [--checkpoint-interval DUR]\n"
    "                   [--parallelism P] [--max-restarts N] [--restart-backoff DUR]\n"
    "\n"
    "Run every deployed job version of the data directory (tide deploy), each in\n"
    "a process of its own with checkpoints, restart a failed (or killed) one\n"
    "from its last checkpoint (with backoff; failed after 5 failures in a row),\n"
    "and serve the HTTP API the other commands use (tide deploy, promote, query,\n"
    "verify, job stop), the Prometheus metrics at /metrics and the dashboard at\n"
    "/.  One server per data directory.  SIGTERM or Ctrl-C stops every version\n"
    "with a final checkpoint; the next server resumes them (a second one: at\n"
    "once, the versions resume from their last checkpoints).\n"
    "\n"
    "Options:\n"
    "  --listen ADDR:PORT   default 127.0.0.1:7600 (port 0: any free port); an\n"
    "                       address other than loopback needs --token\n"
    "  --token T            every request must carry 'Authorization: Bearer T'\n"
    "                       (default: $TIDE_TOKEN)\n"
    "  --checkpoint-interval DUR  the versions' checkpoints (default 1s)\n"
    "  --parallelism P      aggregation instances per version (default: cores)\n"
    "  --max-restarts N     failures in a row before a version is failed (default 5;\n"
    "                       a run that completed a checkpoint resets the count)\n"
    "  --restart-backoff DUR  the first restart's delay, doubling up to 30 s\n"
    "                       (default 500ms)\n"
    "\n"
    "Exit status: 0 stopped cleanly, 1 usage error, 2 runtime error.\n";

static void server_report(void *ctx, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "tide server: %s\n", msg);
}

static void *stop_on_signal(void *arg)
{
    tide_srv_version *x = arg;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    for (;;) { /* the first: a final checkpoint; the next: at once */
        int sig;
        if (sigwait(&set, &sig) == 0)
            tide_srv_version_stop(x);
    }
    return NULL;
}

/* While the server stops: a second SIGTERM or Ctrl-C ends it at once (the
 * versions' processes die with it and resume from their last checkpoints
 * with the next server: nothing committed is lost). */
static void *exit_on_signal(void *arg)
{
    sigset_t *set = arg;
    int sig;
    while (sigwait(set, &sig) != 0) {
    }
    fprintf(stderr, "tide server: %s again: exiting at once (the versions resume from their last checkpoints)\n",
            sig == SIGINT ? "SIGINT" : "SIGTERM");
    _exit(TIDE_CLI_RUNTIME);
    return NULL;
}

/* `tide server --run-version JOB@vN`: the process the server starts for a
 * version (server/server.h).  Its error, if it fails, is its last line on
 * stdout (the server reads it); its messages go to stderr. */
static int run_version(const tide_srv_cfg *cfg, const char *at)
{
    const char *v = strrchr(at, '@');
    uint64_t n = 0;
    if (!v || v == at || v[1] != 'v' || !tide_cli_parse_u64(v + 2, &n) || n < 1)
        return tide_cli_usage_error("server", "--run-version: '%s' is not JOB@vN", at);
    char job[TIDE_VER_NAME_MAX + 1];
    snprintf(job, sizeof job, "%.*s", (int)(v - at), at);
    tide_srv_version *x = NULL;
    tide_err e = {0};
    int rc = tide_srv_version_open(&x, cfg, job, (int64_t)n, &e);
    pthread_t th;
    if (rc == 0 && pthread_create(&th, NULL, stop_on_signal, x) == 0)
        pthread_detach(th);
    if (rc == 0)
        rc = tide_srv_version_run(x, &e);
    if (rc) {
        printf("%s\n", e.msg);
        fflush(stdout);
    }
    tide_srv_version_free(x); /* (the signal thread is blocked in sigwait: exit ends it) */
    return rc ? TIDE_CLI_RUNTIME : TIDE_CLI_OK;
}

int tide_cli_server(int argc, char **argv, const char *datadir)
{
    const char *listen = NULL, *token = NULL, *interval = NULL, *par = NULL, *maxr = NULL, *backoff = NULL,
               *runv = NULL;
    bool help = false;
    int npos = 0;
    tide_cli_opt opts[] = {{"--listen", &listen, NULL},
                           {"--token", &token, NULL},
                           {"--checkpoint-interval", &interval, NULL},
                           {"--parallelism", &par, NULL},
                           {"--max-restarts", &maxr, NULL},
                           {"--restart-backoff", &backoff, NULL},
                           {"--run-version", &runv, NULL}};
    int rc = tide_cli_parse("server", argc, argv, opts, 7, NULL, 0, &npos, &help);
    if (rc)
        return rc;
    if (help)
        return tide_cli_help(server_usage);
    tide_srv_cfg cfg = {.datadir = datadir, .listen = listen, .token = token ? token : getenv("TIDE_TOKEN"),
                        .report = server_report};
    if (cfg.token && !*cfg.token)
        cfg.token = NULL;
    if (interval && (tide_ts_duration_parse(interval, &cfg.checkpoint_ms) != 0 || cfg.checkpoint_ms <= 0))
        return tide_cli_usage_error("server", "--checkpoint-interval: '%s' is not a positive duration", interval);
    if (par) {
        uint64_t v;
        if (!tide_cli_parse_u64(par, &v) || v < 1 || v > 256)
            return tide_cli_usage_error("server", "--parallelism must be 1..256, not '%s'", par);
        cfg.parallelism = (uint32_t)v;
    }
    if (maxr) {
        uint64_t v;
        if (!tide_cli_parse_u64(maxr, &v) || v < 1 || v > 1000)
            return tide_cli_usage_error("server", "--max-restarts must be 1..1000, not '%s'", maxr);
        cfg.max_restarts = (int)v;
    }
    if (backoff && (tide_ts_duration_parse(backoff, &cfg.backoff_ms) != 0 || cfg.backoff_ms <= 0))
        return tide_cli_usage_error("server", "--restart-backoff: '%s' is not a positive duration", backoff);
    /* the signals go to one thread alone (sigwait): every thread started
     * later inherits the mask */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (runv) /* (the server's own use: a version's process) */
        return run_version(&cfg, runv);
    /* the versions' processes run this program */
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
        tide_cli_error("cannot find this program (/proc/self/exe) to run the job versions with");
        return TIDE_CLI_RUNTIME;
    }
    exe[n] = '\0';
    cfg.exe = exe;
    tide_srv *s = NULL;
    tide_err e = {0};
    if (tide_srv_open(&s, &cfg, &e) != 0) {
        tide_cli_error("%s", e.msg);
        return TIDE_CLI_RUNTIME;
    }
    fprintf(stderr, "tide server: serving %s at http://%s/\n", datadir, tide_srv_addr(s));
    int sig = 0;
    while (sigwait(&set, &sig) != 0) {
    }
    fprintf(stderr, "tide server: %s: stopping every job version with a final checkpoint (again: at once)\n",
            sig == SIGINT ? "SIGINT" : "SIGTERM");
    pthread_t th;
    if (pthread_create(&th, NULL, exit_on_signal, &set) == 0)
        pthread_detach(th);
    tide_srv_stop(s);
    fprintf(stderr, "tide server: stopped\n");
    return TIDE_CLI_OK;
}

/* ---- tide deploy ---- */

static const char deploy_usage[] =
    "Usage: tide deploy FILE.sql --job NAME [--from earliest|latest|@TIME]\n"
    "                   [--server ADDR] [--token T]\n"
    "\n"
    "Start the next version (v1, v2, ...) of job NAME on the data directory's\n"
    "server, running FILE.sql: one query, a bare SELECT, whose rows go to the\n"
    "version's own output, topic NAME.vN (JSON Lines, each row with its\n"
    "changelog op).  The first version of a job is live at once; later ones\n"
    "replay their input into their own output until `tide promote` switches\n"
    "the job to them.  --from says where the version starts reading its topics:\n"
    "earliest (default: from the start of the log), latest (only what comes\n"
    "from now on), or @TIME (the first record at or after TIME: epoch ms or\n"
    "'YYYY-MM-DD HH:MM:SS').\n"
    "\n"
    "Exit status: 0 deployed, 1 usage or SQL error, 2 runtime error.\n";

int tide_cli_deploy(int argc, char **argv, const char *datadir)
{
    conn c = {.datadir = datadir};
    const char *job = NULL, *from = NULL, *pos[1] = {0};
    bool help = false;
    int npos = 0;
    tide_cli_opt opts[] = {{"--job", &job, NULL}, {"--from", &from, NULL}, CONN_OPTS(c)};
    int rc = tide_cli_parse("deploy", argc, argv, opts, 4, pos, 1, &npos, &help);
    if (rc)
        return rc;
    if (help)
        return tide_cli_help(deploy_usage);
    if (npos != 1 || !job)
        return tide_cli_usage_error("deploy", "expected FILE.sql and --job NAME");
    char *sql = NULL;
    size_t len = 0;
    tide_err e = {0};
    if (tide_io_read_all(pos[0], &sql, &len, &e) != 0) {
        tide_cli_error("%s", e.msg);
        return TIDE_CLI_RUNTIME;
    }
    if ((rc = conn_resolve(&c)) != 0) {
        free(sql);
        return rc;
    }
    tide_buf body = {0}, out = {0};
    tide_buf_printf(&body, "{\"name\":");
    tide_json_write_string(&body, job, strlen(job));
    tide_buf_printf(&body, ",\"sql\":");
    tide_json_write_string(&body, sql, len);
    if (from) {
        tide_buf_printf(&body, ",\"from\":");
        tide_json_write_string(&body, from, strlen(from));
    }
    tide_buf_putc(&body, '}');
    free(sql);
    int status = 0;
    rc = conn_call(&c, "POST", "/jobs", (const char *)body.data, body.len, &status, &out);
    if (rc && status == 400)
        rc = TIDE_CLI_USAGE;
    if (rc == 0) {
        tide_json j;
        tide_json_init(&j);
        const tide_json_value *v = NULL;
        if (tide_json_parse_object(&j, (const char *)out.data, out.len, NULL, &e) == 0)
            v = tide_json_get(&j, "version", 7);
        if (v && v->is_int)
            printf("deployed %s v%" PRId64 ": its output is topic %s.v%" PRId64 " (from %s)\n", job, v->i, job, v->i,
                   from ? from : "earliest");
        else
            printf("%.*s\n", (int)out.len, (const char *)out.data);
        tide_json_free(&j);
    }
    tide_buf_free(&body);
    tide_buf_free(&out);
    return rc;
}

/* ---- tide promote ---- */

static const char promote_usage[] =
    "Usage: tide promote NAME vN [--wait] [--keep] [--server ADDR] [--token T]\n"
    "\n"
    "Make version N of job NAME the live one: `tide query NAME` then reads its\n"
    "results.  Refused for a version that has not caught up with its input\n"
    "(records of its input topics beyond its last checkpoint; with --wait,\n"
    "wait until it has), and for one that failed, was stopped or retired.  The\n"
    "older versions are stopped (final checkpoint) and retired, and their\n"
    "outputs (topics NAME.vK) and state are deleted, unless --keep.\n"
    "\n"
    "Exit status: 0 promoted, 1 usage error or refused, 2 runtime error.\n";

int tide_cli_promote(int argc, char **argv, const char *datadir)
{
    conn c = {.datadir = datadir};
    const char *pos[2] = {0};
    bool help = false, wait = false, keep = false;
    int npos = 0;
    tide_cli_opt opts[] = {{"--wait", NULL, &wait}, {"--keep", NULL, &keep}, CONN_OPTS(c)};
    int rc = tide_cli_parse("promote", argc, argv, opts, 4, pos, 2, &npos, &help);
    if (rc)
        return rc;
    if (help)
        return tide_cli_help(promote_usage);
    int64_t v = 0;
    if (npos != 2 || pos[1][0] != 'v' || !tide_cli_parse_i64(pos[1] + 1, &v) || v < 1)
        return tide_cli_usage_error("promote", "expected NAME vN (e.g. dau v2)");
    if (!tide_ver_name_valid(pos[0]))
        return tide_cli_usage_error("promote", "'%s': invalid job name", pos[0]);
    if ((rc = conn_resolve(&c)) != 0)
        return rc;
    tide_buf path = {0}, out = {0};
    tide_buf_printf(&path, "/jobs/%s/promote?version=%" PRId64 "%s%s", pos[0], v, wait ? "&wait=1" : "",
                    keep ? "&keep=1" : "");
    tide_buf_putc(&path, '\0');
    int status = 0;
    for (;;) {
        tide_buf_reset(&out);
        rc = conn_call(&c, "POST", (const char *)path.data, NULL, 0, &status, &out);
        if (!(rc && wait && status == 409))
            break;
        /* the server waited its while: ask again */
    }
    if (rc && (status == 409 || status == 400))
        rc = TIDE_CLI_USAGE;
    if (rc == 0)
        printf("%s: v%" PRId64 " is live%s\n", pos[0], v,
               keep ? " (older versions kept)" : "; older versions retired, their outputs and state deleted");
    tide_buf_free(&path);
    tide_buf_free(&out);
    return rc;
}

/* ---- tide query ---- */

static const char query_usage[] =
    "Usage: tide query NAME [--where EXPR] [--format table|csv|json]\n"
    "                  [--server ADDR] [--token T]\n"
    "\n"
    "The current results of job NAME's live version, materialised from its\n"
    "committed changelog output: every row added and not retracted since (one\n"
    "row per window and key for a windowed aggregation).  A query reads one\n"
    "version, the live one when it starts: never a mix of two.  --where keeps\n"
    "the rows matching conditions joined by AND: COLUMN OP VALUE (OP = <> != <\n"
    "<= > >=; VALUE a number, 'text' or NULL) or COLUMN IS [NOT] NULL, e.g.\n"
    "  --where \"window_start >= '2026-01-01' AND dau > 100\"\n"
    "Output: an aligned table on a terminal, CSV with a header otherwise (or as\n"
    "--format says; json: one object per line).\n"
    "\n"
    "Exit status: 0 success, 1 usage error, 2 runtime error.\n";

/* The text of JSON value cell[0..len) (a string unescaped; null: "",
 * *is_null set). */
static void cell_plain(const char *cell, size_t len, tide_buf *out, bool *is_null)
{
    tide_buf_reset(out);
    *is_null = len == 4 && memcmp(cell, "null", 4) == 0;
    if (*is_null)
        return;
    if (len && cell[0] == '"') {
        tide_buf wrap = {0};
        tide_buf_printf(&wrap, "{\"v\":%.*s}", (int)len, cell);
        tide_json j;
        tide_json_init(&j);
        tide_err e = {0};
        const tide_json_value *v = NULL;
        if (tide_json_parse_object(&j, (const char *)wrap.data, wrap.len, NULL, &e) == 0)
            v = tide_json_get(&j, "v", 1);
        if (v)
            tide_buf_append(out, v->text, v->len);
        tide_json_free(&j);
        tide_buf_free(&wrap);
        return;
    }
    tide_buf_append(out, cell, len);
}

static void csv_cell(const tide_buf *t)
{
    bool q = false;
    for (size_t i = 0; i < t->len; i++)
        if (t->data[i] == ',' || t->data[i] == '"' || t->data[i] == '\n' || t->data[i] == '\r')
            q = true;
    if (!q) {
        fwrite(t->data, 1, t->len, stdout);
        return;
    }
    putchar('"');
    for (size_t i = 0; i < t->len; i++) {
        if (t->data[i] == '"')
            putchar('"');
        putchar(t->data[i]);
    }
    putchar('"');
}

int tide_cli_query(int argc, char **argv, const char *datadir)
{
    conn c = {.datadir = datadir};
    const char *where = NULL, *fmt = NULL, *pos[1] = {0};
    bool help = false;
    int npos = 0;
    tide_cli_opt opts[] = {{"--where", &where, NULL}, {"--format", &fmt, NULL}, CONN_OPTS(c)};
    int rc = tide_cli_parse("query", argc, argv, opts, 4, pos, 1, &npos, &help);
    if (rc)
        return rc;
    if (help)
        return tide_cli_help(query_usage);
    if (npos != 1)
        return tide_cli_usage_error("query", "expected a job NAME");
    int format = isatty(1) ? 0 : 1; /* 0 table, 1 csv, 2 json */
    if (fmt && strcmp(fmt, "table") == 0)
        format = 0;
    else if (fmt && strcmp(fmt, "csv") == 0)
        format = 1;
    else if (fmt && (strcmp(fmt, "json") == 0 || strcmp(fmt, "jsonl") == 0))
        format = 2;
    else if (fmt)
        return tide_cli_usage_error("query", "--format must be table, csv or json, not '%s'", fmt);
    if (!tide_ver_name_valid(pos[0]))
        return tide_cli_usage_error("query", "'%s': invalid job name", pos[0]);
    if ((rc = conn_resolve(&c)) != 0)
        return rc;
    tide_buf path = {0}, out = {0};
    tide_buf_printf(&path, "/jobs/%s/results", pos[0]);
    if (where) {
        tide_buf_printf(&path, "?where=");
        urlencode(&path, where);
    }
    tide_buf_putc(&path, '\0');
    int status = 0;
    rc = conn_call(&c, "GET", (const char *)path.data, NULL, 0, &status, &out);
    if (rc && status == 400)
        rc = TIDE_CLI_USAGE;
    tide_json j;
    tide_json_init(&j);
    tide_err e = {0};
    const tide_json_value *cols = NULL, *rows = NULL;
    if (rc == 0 && tide_json_parse_object(&j, (const char *)out.data, out.len, "the server's answer", &e) == 0) {
        cols = tide_json_get(&j, "columns", 7);
        rows = tide_json_get(&j, "rows", 4);
    }
    if (rc == 0 && (!cols || cols->type != TIDE_JSON_ARRAY || !rows || rows->type != TIDE_JSON_ARRAY)) {
        tide_cli_error("the server's answer has no columns and rows: %s", e.msg);
        rc = TIDE_CLI_RUNTIME;
    }
    if (rc == 0) {
        /* the cells as text, for widths and CSV */
        size_t ncols = 0, nrows = 0;
        const char *cell;
        size_t cl;
        while (tide_view_cell(cols->raw, cols->raw_len, ncols, &cell, &cl))
            ncols++;
        while (tide_view_cell(rows->raw, rows->raw_len, nrows, &cell, &cl))
            nrows++;
        size_t *width = calloc(ncols ? ncols : 1, sizeof *width);
        tide_buf t = {0};
        bool nul;
        for (size_t k = 0; width && k < ncols; k++) {
            tide_view_cell(cols->raw, cols->raw_len, k, &cell, &cl);
            cell_plain(cell, cl, &t, &nul);
            width[k] = t.len;
        }
        for (size_t r = 0; format == 0 && width && r < nrows; r++) {
            const char *row;
            size_t rl;
            tide_view_cell(rows->raw, rows->raw_len, r, &row, &rl);
            for (size_t k = 0; k < ncols && tide_view_cell(row, rl, k, &cell, &cl); k++) {
                cell_plain(cell, cl, &t, &nul);
                size_t w = nul ? 4 : t.len;
                if (w > width[k])
                    width[k] = w;
            }
        }
        if (format != 2) { /* the header */
            for (size_t k = 0; width && k < ncols; k++) {
                tide_view_cell(cols->raw, cols->raw_len, k, &cell, &cl);
                cell_plain(cell, cl, &t, &nul);
                if (k)
                    fputs(format == 0 ? "  " : ",", stdout);
                if (format == 0)
                    printf("%-*.*s", k + 1 < ncols ? (int)width[k] : 0, (int)t.len, (const char *)t.data);
                else
                    csv_cell(&t);
            }
            putchar('\n');
        }
        for (size_t r = 0; width && r < nrows; r++) {
            const char *row;
            size_t rl;
            tide_view_cell(rows->raw, rows->raw_len, r, &row, &rl);
            if (format == 2)
                putchar('{');
            for (size_t k = 0; k < ncols && tide_view_cell(row, rl, k, &cell, &cl); k++) {
                if (format == 2) {
                    const char *name;
                    size_t nl;
                    tide_view_cell(cols->raw, cols->raw_len, k, &name, &nl);
                    printf("%s%.*s:%.*s", k ? "," : "", (int)nl, name, (int)cl, cell);
                    continue;
                }
                cell_plain(cell, cl, &t, &nul);
                if (k)
                    fputs(format == 0 ? "  " : ",", stdout);
                if (format == 0) {
                    bool num = !nul && cl && cell[0] != '"';
                    int w = k + 1 < ncols || num ? (int)width[k] : 0;
                    if (nul)
                        printf("%-*s", w, "NULL");
                    else if (num)
                        printf("%*.*s", w, (int)t.len, (const char *)t.data);
                    else
                        printf("%-*.*s", w, (int)t.len, (const char *)t.data);
                } else if (!nul) {
                    csv_cell(&t);
                }
            }
            puts(format == 2 ? "}" : "");
        }
        tide_buf_free(&t);
        free(width);
    }
    tide_json_free(&j);
    tide_buf_free(&path);
    tide_buf_free(&out);
    return rc;
}

/* ---- tide verify ---- */

static const char verify_usage[] =
    "Usage: tide verify NAME [--server ADDR] [--token T]\n"
    "\n"
    "Check that job NAME's live version, run continuously, gives the answer a\n"
    "bounded run gives: its SQL is run again as a bounded job over its input\n"
    "topics, from where the version started up to the positions of its newest\n"
    "checkpoint, and the rows of every window the version's watermark has\n"
    "closed (window_end - 1 <= the checkpoint's watermark) are compared.\n"
    "Prints `identical (N rows)`, or the rows only one side has.\n"
    "\n"
    "Exit status: 0 identical, 1 different (or a usage error), 2 runtime error.\n";

int tide_cli_verify(int argc, char **argv, const char *datadir)
{
    conn c = {.datadir = datadir};
    const char *pos[1] = {0};
    bool help = false;
    int npos = 0;
    tide_cli_opt opts[] = {CONN_OPTS(c)};
    int rc = tide_cli_parse("verify", argc, argv, opts, 2, pos, 1, &npos, &help);
    if (rc)
        return rc;
    if (help)
        return tide_cli_help(verify_usage);
    if (npos != 1 || !tide_ver_name_valid(pos[0]))
        return tide_cli_usage_error("verify", "expected a job NAME");
    if ((rc = conn_resolve(&c)) != 0)
        return rc;
    tide_buf path = {0}, out = {0};
    tide_buf_printf(&path, "/jobs/%s/verify", pos[0]);
    tide_buf_putc(&path, '\0');
    int status = 0;
    rc = conn_call(&c, "POST", (const char *)path.data, NULL, 0, &status, &out);
    tide_json j;
    tide_json_init(&j);
    tide_err e = {0};
    if (rc == 0 && tide_json_parse_object(&j, (const char *)out.data, out.len, "the server's answer", &e) == 0) {
        const tide_json_value *same = tide_json_get(&j, "identical", 9), *n = tide_json_get(&j, "rows", 4),
                              *ol = tide_json_get(&j, "only_live", 9), *orr = tide_json_get(&j, "only_rerun", 10),
                              *wm = tide_json_get(&j, "watermark", 9), *ck = tide_json_get(&j, "checkpoint", 10);
        if (same && same->type == TIDE_JSON_TRUE && n) {
            printf("identical (%.*s rows)\n", (int)n->len, n->text);
        } else if (same && ol && orr) {
            printf("different: the live output and the rerun disagree");
            if (wm && ck)
                printf(" (windows closed by watermark %.*s, checkpoint %.*s)", (int)wm->len, wm->text, (int)ck->len,
                       ck->text);
            printf(":\n");
            const char *cell;
            size_t cl;
            for (size_t i = 0; tide_view_cell(ol->raw, ol->raw_len, i, &cell, &cl); i++)
                printf("  only live:  %.*s\n", (int)cl, cell);
            for (size_t i = 0; tide_view_cell(orr->raw, orr->raw_len, i, &cell, &cl); i++)
                printf("  only rerun: %.*s\n", (int)cl, cell);
            rc = TIDE_CLI_USAGE; /* exit 1: different */
        } else {
            tide_cli_error("the server's answer is not a verify result");
            rc = TIDE_CLI_RUNTIME;
        }
    } else if (rc == 0) {
        tide_cli_error("%s", e.msg);
        rc = TIDE_CLI_RUNTIME;
    }
    tide_json_free(&j);
    tide_buf_free(&path);
    tide_buf_free(&out);
    return rc;
}

/* ---- tide job stop ---- */

int tide_cli_job_stop(const char *datadir, const char *target, int argc, char **argv)
{
    conn c = {.datadir = datadir};
    bool help = false;
    int npos = 0;
    tide_cli_opt opts[] = {CONN_OPTS(c)};
    int rc = tide_cli_parse("job stop", argc, argv, opts, 2, NULL, 0, &npos, &help);
    if (rc || help)
        return rc;
    char name[256];
    int64_t v = 0;
    const char *at = strchr(target, '@');
    snprintf(name, sizeof name, "%.*s", at ? (int)(at - target) : (int)strlen(target), target);
    if (at && (at[1] != 'v' || !tide_cli_parse_i64(at + 2, &v) || v < 1))
        return tide_cli_usage_error("job stop", "expected NAME or NAME@vN, not '%s'", target);
    if (!tide_ver_name_valid(name))
        return tide_cli_usage_error("job stop", "'%s': invalid job name", name);
    if ((rc = conn_resolve(&c)) != 0)
        return rc;
    tide_buf path = {0}, out = {0};
    tide_buf_printf(&path, "/jobs/%s/stop", name);
    if (v)
        tide_buf_printf(&path, "?version=%" PRId64, v);
    tide_buf_putc(&path, '\0');
    int status = 0;
    rc = conn_call(&c, "POST", (const char *)path.data, NULL, 0, &status, &out);
    if (rc == 0 && v)
        printf("stopped %s v%" PRId64 " (final checkpoint taken)\n", name, v);
    else if (rc == 0)
        printf("stopped every running version of %s (final checkpoints taken)\n", name);
    tide_buf_free(&path);
    tide_buf_free(&out);
    return rc;
}

/* ---- tide job status of a deployed job ---- */

int tide_cli_job_versions(const char *datadir, const char *name)
{
    conn c = {.datadir = datadir};
    int rc = conn_resolve(&c);
    if (rc)
        return rc;
    tide_buf path = {0}, out = {0};
    tide_buf_printf(&path, "/jobs/%s", name);
    tide_buf_putc(&path, '\0');
    int status = 0;
    rc = conn_call(&c, "GET", (const char *)path.data, NULL, 0, &status, &out);
    tide_json j, vj;
    tide_json_init(&j);
    tide_json_init(&vj);
    tide_err e = {0};
    const tide_json_value *vs = NULL, *live = NULL;
    if (rc == 0 && tide_json_parse_object(&j, (const char *)out.data, out.len, "the server's answer", &e) == 0) {
        vs = tide_json_get(&j, "versions", 8);
        live = tide_json_get(&j, "live", 4);
    }
    if (rc == 0 && (!vs || vs->type != TIDE_JSON_ARRAY)) {
        tide_cli_error("the server's answer has no versions");
        rc = TIDE_CLI_RUNTIME;
    }
    if (rc == 0) {
        printf("job %s: live version %.*s\n", name, live ? (int)live->len : 4, live ? live->text : "none");
        const char *obj;
        size_t ol;
        for (size_t i = 0; tide_view_cell(vs->raw, vs->raw_len, i, &obj, &ol); i++) {
            if (tide_json_parse_object(&vj, obj, ol, NULL, &e) != 0)
                continue;
            const char *keys[] = {"version", "state", "from", "output", "lag_records", "lag_ms", "records_in",
                                  "records_out", "late", "bad", "rate", "restarts", "watermark", "error"};
            char txt[14][256];
            for (int k = 0; k < 14; k++) {
                const tide_json_value *x = tide_json_get(&vj, keys[k], strlen(keys[k]));
                snprintf(txt[k], sizeof txt[k], "%.*s", x ? (int)(x->len > 200 ? 200 : x->len) : 1, x ? x->text : "?");
            }
            char wm[TIDE_TS_FORMAT_MAX] = "none";
            char *end;
            long long w = strtoll(txt[12], &end, 10);
            if (end != txt[12] && !*end)
                wm[tide_ts_format(w, wm)] = '\0';
            printf("  v%s  %-11s from %s, output %s, lag %s records / %s ms, watermark %s\n", txt[0], txt[1],
                   txt[2], txt[3], txt[4], txt[5], wm);
            printf("       records in %s, out %s, late %s, bad %s; %s records/s; restarts %s%s%s\n", txt[6], txt[7],
                   txt[8], txt[9], txt[10], txt[11],
                   !strcmp(txt[13], "null")  ? ""
                   : !strcmp(txt[1], "failed") ? "; error: "
                                               : "; last error: ", /* (restarted since) */
                   strcmp(txt[13], "null") ? txt[13] : "");
            const tide_json_value *ck = tide_json_get(&vj, "checkpoint", 10);
            if (ck && ck->type == TIDE_JSON_OBJECT) {
                tide_json cj;
                tide_json_init(&cj);
                if (tide_json_parse_object(&cj, ck->raw, ck->raw_len, NULL, &e) == 0) {
                    const tide_json_value *id = tide_json_get(&cj, "id", 2), *b = tide_json_get(&cj, "bytes", 5),
                                          *d = tide_json_get(&cj, "duration_ms", 11);
                    if (id && b && d)
                        printf("       last checkpoint %.*s: %.*s bytes, took %.*s ms\n", (int)id->len, id->text,
                               (int)b->len, b->text, (int)d->len, d->text);
                }
                tide_json_free(&cj);
            }
        }
    }
    tide_json_free(&vj);
    tide_json_free(&j);
    tide_buf_free(&path);
    tide_buf_free(&out);
    return rc;
}
