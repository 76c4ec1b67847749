/*
 * server.h - `tide server`: one process that runs the deployed job versions
 * of a data directory (job/version.h), supervises them, and serves the HTTP
 * API (server/http.h) that the CLI uses.
 *
 *   tide_srv *s;  tide_srv_open(&s, &cfg, &e);   -- lock, listen, start the versions
 *   ... requests are served on the listener's threads ...
 *   tide_srv_stop(s);                            -- SIGTERM: final checkpoints, free
 *
 * One server per data directory: tide_srv_open takes <data>/server.lock
 * (flock; it holds "pid N addr HOST:PORT") and refuses a second server
 * with TIDE_ELOCKED naming the first one's pid and address.  Once
 * listening it writes its address to <data>/server.addr (atomically), where
 * the CLI finds it; a clean stop removes it (a killed server leaves it:
 * the CLI then fails to connect and says so).
 *
 * Versions.  Every version whose record says "deployed" runs in a process
 * of its own (cfg.exe run as `tide server --run-version NAME@vN`:
 * tide_srv_version_* below; it dies with the server) as the named job
 * NAME.vN (job/coord.h: checkpoints every
 * cfg.checkpoint_ms, resumed from the newest one), its SQL planned with its
 * own output (sql/physical.h sink_topic: topic NAME.vN, JSON Lines, each
 * row leading with its changelog op) and its start (topic_start from the
 * version's --from).  A run that fails is restarted from its last
 * checkpoint after a backoff (cfg.backoff_ms, doubling up to 30 s), and
 * so is one whose process was killed; after
 * cfg.max_restarts failures in a row (a run that completed a checkpoint
 * resets the count) the version's record says failed, with the error.
 * tide_srv_stop stops every version through a final checkpoint (their
 * records stay "deployed": the next server resumes them).
 *
 * States shown (GET /jobs): live (the alias's version), catching-up (not
 * live, its lag not 0 or not known yet), caught-up (not live, lag 0),
 * stopped, retired, failed.  Lag: the records of the version's input topics
 * beyond its last checkpoint's positions, and in event time the newest
 * timestamp of those topics minus the newest the checkpoint had read
 * (job/coord.h tide_coord_lag_get).
 *
 * Promote (tide_ver_promote_check): a version that has not caught up (lag
 * > 0 or unknown, or not running) is refused with TIDE_EAGAIN (HTTP 409;
 * wait=1 waits for it, up to timeout_ms), a failed, stopped or retired one
 * with TIDE_EINVAL (HTTP 400).  The switch and the retirement of older
 * versions run with the job's lock held for writing.
 *
 * Results (GET /jobs/NAME/results, tide query): the job's lock is taken for
 * reading, the alias read once, and the live version's committed output
 * (read-committed: only transactions its checkpoints committed) read from
 * its start and materialised: each row "+I"/"+U" adds a row, each
 * "-U"/"-D" removes an equal one (a row is its cells; in the order rows
 * were last added).  So a reader sees exactly one version's committed
 * results, never a mix: a promote waits for the results being read, and a
 * read started after the switch reads the new version.  `where` filters
 * the rows: conditions `COLUMN OP VALUE` joined by AND (OP one of = <> !=
 * < <= > >=; VALUE a number, 'text' or NULL; numbers compare as numbers,
 * the rest as text, so timestamps 'YYYY-MM-DD HH:MM:SS.mmm' compare in
 * time order; `COLUMN IS [NOT] NULL`).
 *
 * Verify (POST /jobs/NAME/verify, tide verify): with the job's lock held
 * for reading, takes the live version's newest checkpoint (its input
 * positions and watermark W), runs the version's SQL again as a bounded
 * job over its input topics from the same start up to those positions
 * (into a scratch topic, deleted after), and compares the rows of every
 * window the live version's watermark has closed (window_end - 1 <= W) in
 * both: identical, or the rows only one of them has.  Needs a window_end
 * column and a version started from earliest or a time (not latest).
 *
 * Routes (JSON; errors are {"error": "..."} with 400 bad request, 404 no
 * such job or version, 409 not caught up, 500 otherwise):
 *   GET  /jobs                          every job (tide_srv_jobs_json)
 *   GET  /jobs/NAME                     one job, the same object
 *   POST /jobs                          deploy: {"name","sql","from"} -> {"name","version"}
 *   POST /jobs/NAME/stop[?version=N]    stop one version (default: every running one)
 *   POST /jobs/NAME/promote?version=N[&wait=1][&keep=1][&timeout_ms=T]
 *   GET  /jobs/NAME/results[?where=EXPR]  {"columns":[...],"rows":[[...],...],"version":N}
 *   POST /jobs/NAME/verify              {"identical":bool,"rows":N,"only_live":[..],"only_rerun":[..]}
 *   GET  /metrics, GET / and the dashboard's files: server/metrics.h and
 *                                       server/dashboard.h
 *
 * Threads: tide_srv_handle and the tide_srv_* actions from any thread
 * (the listener's workers); open and stop from one.
 */
#ifndef TIDE_SERVER_SERVER_H
#define TIDE_SERVER_SERVER_H

#include "base/buf.h"
#include "base/err.h"
#include "server/http.h"

#include <stdbool.h>
#include <stdint.h>

#define TIDE_SRV_DEFAULT_LISTEN "127.0.0.1:7600"

typedef struct tide_srv_cfg {
    const char *datadir;      /* required */
    const char *exe;          /* the tide program that runs the versions (required by tide_srv_open) */
    const char *listen;       /* NULL: TIDE_SRV_DEFAULT_LISTEN; port 0 picks one */
    const char *token;        /* NULL: none (loopback only: http.h) */
    int64_t checkpoint_ms;    /* the versions' checkpoint interval; 0: 1000 */
    uint32_t parallelism;     /* keyed nodes' instances; 0: cores */
    int max_restarts;         /* failures in a row before failed; 0: 5 */
    int64_t backoff_ms;       /* the first restart's delay; 0: 500 */
    /* a line for each event (a version started, failed, restarted, ...);
     * NULL: stderr */
    void (*report)(void *ctx, const char *msg);
    void *report_ctx;
} tide_srv_cfg;

typedef struct tide_srv tide_srv;

int tide_srv_open(tide_srv **out, const tide_srv_cfg *cfg, tide_err *e);
/* The bound "host:port". */
const char *tide_srv_addr(const tide_srv *s);
/* Stop every version with a final checkpoint, stop the listener, remove
 * server.addr, release the lock, free.  NULL is a no-op. */
void tide_srv_stop(tide_srv *s);

/* The one HTTP handler (ctx: the tide_srv). */
int tide_srv_handle(void *ctx, const tide_http_req *req, tide_http_resp *resp, tide_err *e);

/* ---- the actions behind the routes ---- */

/* Deploy `sql` as the next version of `job` (from: "earliest", "latest",
 * "@TIME"; NULL: earliest).  The script must compile and plan (a SQL error
 * is TIDE_EINVAL with its line, column and caret) and end in one bare
 * SELECT.  *version gets the new version's number; it starts at once. */
int tide_srv_deploy(tide_srv *s, const char *job, const char *sql, size_t len, const char *from, int64_t *version,
                    tide_err *e);
/* Stop version `version` of `job` (0: every running one) through a final
 * checkpoint; its record says stopped. */
int tide_srv_stop_version(tide_srv *s, const char *job, int64_t version, tide_err *e);
/* Promote (see above); wait: retry for up to timeout_ms (0: 60 s). */
int tide_srv_promote(tide_srv *s, const char *job, int64_t version, bool wait, bool keep, int64_t timeout_ms,
                     tide_err *e);
/* GET /jobs (job NULL) or GET /jobs/NAME's JSON, appended to out. */
int tide_srv_jobs_json(tide_srv *s, const char *job, tide_buf *out, tide_err *e);
/* GET /jobs/NAME/results's JSON (where: NULL or "" for all rows). */
int tide_srv_results(tide_srv *s, const char *job, const char *where, tide_buf *out, tide_err *e);
/* POST /jobs/NAME/verify's JSON; *identical says the outcome. */
int tide_srv_verify(tide_srv *s, const char *job, bool *identical, tide_buf *out, tide_err *e);

/* A version's own process: run version `version` of `job` once, as
 * tide_srv_open's children do, until its input ends (0), it fails (its
 * error), or tide_srv_version_stop (any thread, e.g. on SIGTERM: a final
 * checkpoint, then 0; a second stop: at once). */
typedef struct tide_srv_version tide_srv_version;
int tide_srv_version_open(tide_srv_version **out, const tide_srv_cfg *cfg, const char *job, int64_t version,
                          tide_err *e);
int tide_srv_version_run(tide_srv_version *x, tide_err *e);
void tide_srv_version_stop(tide_srv_version *x);
void tide_srv_version_free(tide_srv_version *x);

#endif
