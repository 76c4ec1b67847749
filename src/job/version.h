/*
 * version.h - job versions (the Kappa architecture, DESIGN.md 1 and 8):
 * what `tide deploy` records, the alias that names the live version, and
 * the promote rule.  The records only: the server (server/server.h) runs
 * the versions and calls these functions, one caller at a time per job.
 *
 * Layout, under the data directory, for deployed job NAME:
 *
 *   jobs/NAME/versions/vN/query.sql   the SQL of version N, as deployed
 *   jobs/NAME/versions/vN/meta        its record (below)
 *   jobs/NAME/alias                   the live version (below)
 *   jobs/NAME.vN/                     version N's named job (job/coord.h:
 *                                     lock, checkpoints, status)
 *   topics/NAME.vN/                   version N's output (log/topic.h)
 *
 * Deploy writes jobs/NAME/versions/.vN.tmp/ (query.sql, meta, each fsynced)
 * and renames it to vN (the directory fsynced): a version exists whole or
 * not at all; N is one more than the largest version ever deployed (records
 * of retired versions stay, so a number is never reused).  Recovery rule: a
 * leftover .vN.tmp directory (a deploy that died) is removed by
 * tide_ver_recover.
 *
 * meta (version 1), text, rewritten atomically (temp, fsync, rename, fsync
 * the directory) when the state changes:
 *
 *   tide-version 1
 *   job dau
 *   version 2
 *   from earliest           earliest | latest | @<epoch ms>
 *   created_ms 1765000000000
 *   state deployed          deployed | stopped | retired | failed
 *   error <one line>        why it failed (state failed), else empty
 *   crc32c 0123abcd         CRC-32C of every byte before this line
 *
 * "deployed" means: the server runs it.  stopped: `tide job stop` (it keeps
 * its state and output; a new deploy is the way forward).  retired: an older
 * version after a promote.  failed: it failed repeatedly (the error says
 * why).
 *
 * alias (version 1), rewritten atomically the same way; the rename is the
 * switch:
 *
 *   tide-alias 1
 *   job dau
 *   live 2                  the live version
 *   keep 0                  1: the promote kept older outputs and state
 *   switched_ms 1765000000000
 *   crc32c 0123abcd
 *
 * The first version deployed becomes live at once (there is nothing to
 * replace); later ones only by promote.  A promote of version N writes the
 * alias first (the commit point) and then retires every older version not
 * retired yet: its meta says retired, and unless keep, its output topic and
 * its named job's directory are deleted.  A crash in between leaves the new
 * alias and older versions not retired: tide_ver_recover finishes the
 * promote (the alias's keep says how).  A file that does not verify is
 * TIDE_ECORRUPT naming it and the line, never guessed at.
 *
 * Fault points (base/fault.h): ver.deploy (before the rename of the new
 * version's directory), ver.alias (before the alias is rewritten), ver.meta
 * (before a meta is rewritten), ver.retire (before an older version's
 * output and state are deleted).
 */
#ifndef TIDE_JOB_VERSION_H
#define TIDE_JOB_VERSION_H

#include "base/buf.h"
#include "base/err.h"

#include <stdbool.h>
#include <stdint.h>

#define TIDE_VER_LINE_MAX 1024
/* A deployed job's name: the topic rules, at most this long (room for
 * ".vN" in the names of its versions' jobs and topics). */
#define TIDE_VER_NAME_MAX 180

typedef enum tide_ver_state {
    TIDE_VER_DEPLOYED,
    TIDE_VER_STOPPED,
    TIDE_VER_RETIRED,
    TIDE_VER_FAILED,
} tide_ver_state;

const char *tide_ver_state_name(tide_ver_state s);

/* Where a version starts reading its topic inputs. */
typedef enum tide_ver_from_kind {
    TIDE_VER_FROM_EARLIEST, /* the first retained offset */
    TIDE_VER_FROM_LATEST,   /* the end of the input when it first starts */
    TIDE_VER_FROM_TIME,     /* the first record with a timestamp >= from_ms */
} tide_ver_from_kind;

typedef struct tide_ver_from {
    tide_ver_from_kind kind;
    int64_t ms; /* TIDE_VER_FROM_TIME */
} tide_ver_from;

/* "earliest", "latest" or "@TIME" (TIME: epoch milliseconds or a
 * timestamp as data/timefmt.h reads it).  TIDE_EINVAL naming the text. */
int tide_ver_from_parse(const char *text, tide_ver_from *out, tide_err *e);
/* As the meta file and the API show it: "earliest", "latest", "@<ms>". */
void tide_ver_from_format(const tide_ver_from *f, char *buf, size_t cap);

typedef struct tide_ver_info {
    char job[TIDE_VER_NAME_MAX + 1];
    int64_t version;
    tide_ver_from from;
    int64_t created_ms;
    tide_ver_state state;
    char error[TIDE_VER_LINE_MAX];
} tide_ver_info;

/* A name a job may be deployed under: the topic rules, at most
 * TIDE_VER_NAME_MAX characters, and not itself a version's name (ending in
 * ".v<digits>"). */
bool tide_ver_name_valid(const char *name);
/* "NAME.vN": the named job (job/coord.h) and output topic of version N. */
void tide_ver_unit_name(const char *job, int64_t version, char *buf, size_t cap);

/* Record version N+1 of job `job` with `sql` (len bytes) and `from`; the
 * first version of a job also becomes its live version.  *version gets N+1.
 * Refused (TIDE_EINVAL) for an invalid name. */
int tide_ver_deploy(const char *datadir, const char *job, const char *sql, size_t len, const tide_ver_from *from,
                    int64_t *version, tide_err *e);

/* The jobs that have versions, sorted by name (free with
 * tide_ver_names_free). */
int tide_ver_jobs(const char *datadir, char ***names, size_t *n, tide_err *e);
void tide_ver_names_free(char **names, size_t n);
/* Is `job` a deployed job (it has versions)? */
bool tide_ver_is_deployed(const char *datadir, const char *job);

/* Every version of `job`, by version number (malloc'd; free()).  A version
 * whose meta does not verify is an error naming it. */
int tide_ver_list(const char *datadir, const char *job, tide_ver_info **out, size_t *n, tide_err *e);
/* One version: TIDE_ENOENT "job NAME has no version N". */
int tide_ver_read(const char *datadir, const char *job, int64_t version, tide_ver_info *out, tide_err *e);
/* Its SQL (malloc'd, NUL-terminated). */
int tide_ver_sql(const char *datadir, const char *job, int64_t version, char **sql, size_t *len, tide_err *e);
/* Rewrite its state (and error: NULL or "" when not failed). */
int tide_ver_set_state(const char *datadir, const char *job, int64_t version, tide_ver_state st,
                       const char *error, tide_err *e);

typedef struct tide_ver_alias {
    int64_t live; /* 0: none (no version deployed yet) */
    bool keep;
    int64_t switched_ms;
} tide_ver_alias;

/* The alias; a job without one has live = 0.  TIDE_ECORRUPT for a damaged
 * file. */
int tide_ver_alias_read(const char *datadir, const char *job, tide_ver_alias *out, tide_err *e);

/* What a promote needs to know about the version to promote. */
typedef struct tide_ver_progress {
    bool running;       /* the server runs it now */
    bool lag_known;     /* its inputs' lag is known (a checkpoint exists) */
    uint64_t lag;       /* records of its inputs beyond its last checkpoint */
} tide_ver_progress;

/* The promote rule, without side effects: 0 when `v` may become live;
 * TIDE_EAGAIN "not caught up" (lag > 0 or unknown: --wait waits for it);
 * TIDE_EINVAL for a version that failed, was stopped or retired, or is live
 * already.  The message says which and why. */
int tide_ver_promote_check(const tide_ver_info *v, const tide_ver_alias *alias, const tide_ver_progress *p,
                           tide_err *e);

/* Called by promote and recover for each older version to retire, before
 * its records change: stop it (the server stops its run with a final
 * checkpoint) and return 0, or an error that stops the retirement there. */
typedef int (*tide_ver_stop_fn)(void *ctx, const char *job, int64_t version, tide_err *e);

/* Switch the alias to `version` (the caller checked tide_ver_promote_check),
 * then retire every older version (stop, meta retired, and unless keep
 * delete its output topic and its named job's directory). */
int tide_ver_promote(const char *datadir, const char *job, int64_t version, bool keep, tide_ver_stop_fn stop,
                     void *ctx, tide_err *e);

/* Recovery of job `job` (at server start): remove leftover .vN.tmp
 * directories and finish an interrupted promote (retire the versions older
 * than the live one that are not retired).  `report` gets a line for each
 * thing done (NULL: stderr). */
int tide_ver_recover(const char *datadir, const char *job, tide_ver_stop_fn stop, void *ctx,
                     void (*report)(void *ctx, const char *msg), void *report_ctx, tide_err *e);

#endif
