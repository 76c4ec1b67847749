/*
 * sink.h - sinks: where column batches go, and the dead-letter sink.
 *
 * Kinds:
 *   STDOUT  CSV (optional header), JSON Lines or an aligned TABLE to a file
 *           descriptor (1 by default), written whenever cfg.flush_bytes are
 *           buffered, and on flush/close.
 *   FILE    the same text into cfg.path, written through base/io.h to
 *           "<path>.tide-tmp" and renamed over <path> by tide_sink_close
 *           (after an fsync), so readers see either the old file or the
 *           whole new one.  tide_sink_abort (or a failed close) removes the
 *           temp file; one left by a killed run is removed at the next open
 *           of the same path.  A <path> that exists and is not a regular
 *           file (a device, FIFO, symlink, directory) is refused at open.
 *   TOPIC   one log record per row: the value is the row encoded per format
 *           (one CSV line without its LF, or one JSON object); the key is
 *           the text of cfg.key_column (NULL cell: no key; STRING as is,
 *           BIGINT as decimal, TIMESTAMP as "YYYY-MM-DD HH:MM:SS.mmm",
 *           DOUBLE shortest round-trip, BOOLEAN true/false), or none; the
 *           partition is the writer's route (key hash, else round robin);
 *           the timestamp is the schema's time column when set and not
 *           NULL, else cfg.clock's now.  Each tide_sink_write appends its
 *           rows before it returns (durability per the topic's fsync
 *           policy; close syncs).
 *
 *   tide_sink_config c;  tide_sink_config_init(&c);
 *   c.kind = TIDE_SINK_FILE; c.path = "out.csv"; c.schema = s; c.header = true;
 *   tide_sink *k;  tide_sink_open(&k, &c, &err);
 *   ... tide_sink_write(k, batch, &err) ...
 *   tide_sink_close(k, &err);      (commit; always frees)
 *
 * Formats (cfg.format):
 *   CSV     RFC 4180 rows, a header line of the column names first when
 *           cfg.header (STDOUT, FILE); values as data/codec.h encodes them.
 *   JSONL   one object per row, fields in schema order (data/codec.h).
 *   TABLE   (STDOUT, FILE) aligned columns for a terminal: a header line of
 *           the column names, written at open (STDOUT: at once), then one
 *           line per row.  Each column is as wide as the larger of its name
 *           and its type's usual text (TIMESTAMP 23, BIGINT and DOUBLE 8,
 *           BOOLEAN 5, STRING 10; an `op` column 2); cells are padded to
 *           that width (a wider value pushes the rest of its line right),
 *           BIGINT and DOUBLE right-aligned, the others left-aligned, two
 *           spaces between columns, the last column unpadded.  Cells: NULL,
 *           TRUE / FALSE, decimal integers, DOUBLE shortest round-trip (nan,
 *           inf), TIMESTAMP "YYYY-MM-DD HH:MM:SS.mmm" UTC, strings as they
 *           are.
 *
 * The changelog op of each row (the batch's tide_op, data/types.h; +I when
 * the batch keeps none), as the text "+I", "-U", "+U" or "-D" (cfg.op):
 *   TIDE_SINK_OP_BATCH   (the default) CSV and JSON lead with an "op"
 *                        column / field exactly when the batch keeps ops
 *                        (data/codec.h); TABLE writes no op.
 *   TIDE_SINK_OP_LEAD    every row leads with it: a first column named "op"
 *                        (TABLE and the CSV header name it) or a first JSON
 *                        field "op".  A changelog on stdout.
 *   TIDE_SINK_OP_COLUMN  schema column cfg.op_col (a STRING) holds it in
 *                        place of the batch's cell.  An INSERT target's
 *                        `op` column.
 *
 * Flushing: tide_sink_flush writes out what is buffered (a job calls it at
 * each watermark step); with cfg.prompt every write is flushed before it
 * returns (unbounded runs: live rows appear at once).
 *
 * Batches must have the sink's schema (or the same column types).  A failed
 * sink stays failed: later writes return its first error; close then aborts.
 *
 * The dead-letter sink receives {"reason", "position", "raw"} objects as
 * JSON Lines (raw bytes that are not UTF-8 become U+FFFD), into a file
 * (temp + rename on close, like FILE; or, with cfg.append, appended to the
 * file itself, each letter written before tide_sink_dead_write returns and
 * fsynced on close, so a killed process loses none it has written) or a
 * topic (one record per letter, appended at once, no key; a letter about a
 * raw record too large for one record of the log keeps its first 4 MiB and
 * adds "raw_bytes" (the whole length) and "raw_truncated": true).  tide_sink_dead_fn plugs it into a source's
 * cfg.on_dead; an error there sticks in the dead sink and is returned by
 * tide_sink_dead_close.
 *
 * Transactions (cfg.txn: two-phase commit with a job's checkpoints,
 * DESIGN.md 5).  A transaction's id is the id of the checkpoint that
 * pre-commits it (>= 1, increasing; ids may skip).  The rows written after
 * the pre-commit of transaction m (or after recover) and up to the
 * pre-commit of n form transaction n.  The calls, in a job's order:
 *
 *   tide_sink_txn_recover(k, p)    once, right after open and before any
 *       write: p is the transaction the newest complete checkpoint recorded
 *       as pre-committed (0: none).  Every pre-committed transaction of this
 *       sink's producer with id <= p is committed (p's own, and earlier ones
 *       whose checkpoints never completed: their rows came before p's
 *       barrier), oldest first; every one with id > p is aborted, and so are
 *       rows written but never pre-committed.  Output committed with an id
 *       > p (the checkpoint is older than output already visible: resuming
 *       would repeat rows) is TIDE_EINVAL naming both ids.
 *   tide_sink_txn_precommit(k, n)  at checkpoint n's barrier: every row
 *       written since the last pre-commit is flushed and made durable under
 *       id n, not yet visible.  n must exceed every id pre-committed or
 *       committed before (TIDE_EINVAL).  A transaction may hold no rows.
 *   tide_sink_txn_commit(k, n)     when checkpoint n is complete: every
 *       pre-committed transaction with id <= n becomes visible, oldest
 *       first.  Idempotent: n equal to the last id committed is a no-op.  An
 *       id older than the last one committed is refused (TIDE_EINVAL: a
 *       delayed commit never lands on a later transaction), and so is one
 *       newer than the last pre-committed.
 *
 * tide_sink_close and tide_sink_abort of a transactional sink commit
 * nothing: rows not pre-committed are discarded (STDOUT: close flushes
 * them, as at-least-once allows), pre-committed transactions stay for the
 * next recover (the job's final checkpoint commits the last rows of a run
 * that ends).  After a failure the job aborts the sink and recovers from its
 * last complete checkpoint.
 * Per kind:
 *   FILE    cfg.path is a directory (created if missing; exclusively locked
 *           through its ".lock" file while the sink is open: TIDE_ELOCKED
 *           for a second sink).  Rows of the open transaction go to
 *           ".part.open"; the pre-commit fsyncs it and renames it to
 *           ".part-<n>.inprogress" (n in 20 digits), the commit renames that
 *           to "part-<n>.<ext>" (ext: csv or jsonl), each rename durable
 *           (directory fsynced) before the call returns.  Readers take the
 *           part-* files in name order and ignore dot-files.  Each part is a
 *           whole file (CSV: its own header line when cfg.header; a
 *           transaction with no rows has no part).  TABLE is refused.
 *           Fault points (base/fault.h): sink.file.precommit (before the
 *           fsync), sink.file.precommit.rename, sink.file.commit (before each
 *           rename), sink.file.recover (before each rename or removal).
 *   STDOUT  at-least-once: rows are written as they come (nothing can take
 *           them back), the pre-commit flushes, commit and recover only
 *           check ids.  After a failure, the rows written since the last
 *           checkpoint are written again by the resumed run.
 *   TOPIC   a transactional producer of the topic (log/producer.h) named
 *           cfg.producer: rows are appended at once as transactional
 *           batches, invisible to read-committed readers; the pre-commit
 *           fsyncs them, the commit appends a COMMIT marker to each
 *           partition written, recover commits or aborts what the last run
 *           left open.  A second sink with the same producer name is
 *           TIDE_ELOCKED.  Fault points log.txn.* (see there).
 *
 * Threads: a sink belongs to one thread at a time.
 */
#ifndef TIDE_CONNECT_SINK_H
#define TIDE_CONNECT_SINK_H

#include "base/clock.h"
#include "base/err.h"
#include "connect/source.h"
#include "data/batch.h"
#include "data/codec.h"
#include "data/schema.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum tide_sink_kind {
    TIDE_SINK_STDOUT,
    TIDE_SINK_FILE,
    TIDE_SINK_TOPIC,
} tide_sink_kind;

typedef enum tide_sink_op {
    TIDE_SINK_OP_BATCH,  /* CSV / JSON: leading "op" when the batch keeps ops */
    TIDE_SINK_OP_LEAD,   /* a leading "op" column on every row */
    TIDE_SINK_OP_COLUMN, /* the op in schema column op_col */
} tide_sink_op;

typedef struct tide_sink_config {
    tide_sink_kind kind;
    const tide_schema *schema; /* borrowed; outlives the sink */
    tide_format format;        /* CSV, JSONL, TABLE (not TOPIC) */
    tide_sink_op op;           /* the changelog op (above) */
    uint32_t op_col;           /* TIDE_SINK_OP_COLUMN: a STRING column of the schema */
    bool prompt;               /* flush every write before it returns */
    bool header;               /* CSV: a header line first (STDOUT, FILE) */
    char delim;                /* CSV delimiter; 0 = ',' */
    const char *path;          /* FILE */
    int fd;                    /* STDOUT: default 1 */
    const char *datadir;       /* TOPIC: NULL = tide_data_dir(NULL) */
    const char *topic;         /* TOPIC: must exist */
    const char *key_column;    /* TOPIC: NULL = no key */
    const tide_clock *clock;   /* TOPIC timestamps without a time column; NULL = system */
    size_t flush_bytes;        /* STDOUT/FILE buffer; 0 = 64 KiB */
    bool txn;                  /* transactional (see Transactions above) */
    const char *producer;      /* txn: the producer, "<job>.<sink index>"; NULL = "tide" */
    /* TOPIC: the log writer's recovery reports (log/writer.h); NULL = its default */
    void (*report)(void *ctx, const char *msg);
    void *report_ctx;
} tide_sink_config;

/* Defaults: STDOUT, CSV, no header, ',', fd 1, op from the batch, not prompt. */
void tide_sink_config_init(tide_sink_config *c);

/* Set one option by its SQL WITH name (strings borrowed):
 *   connector = stdout | print | file | filesystem | topic   path = P
 *   topic = T   data = DIR   format = csv | json | jsonl | table   csv.header = true|false
 *   csv.delimiter = C   key.column = NAME
 * TIDE_EINVAL naming the key for an unknown key or a bad value. */
int tide_sink_config_set(tide_sink_config *c, const char *key, const char *value, tide_err *e);

typedef struct tide_sink tide_sink;

int tide_sink_open(tide_sink **out, const tide_sink_config *cfg, tide_err *e);
/* Encode and write (or buffer) every row of b. */
int tide_sink_write(tide_sink *k, const tide_cbatch *b, tide_err *e);
/* The same for rows sel[0..n) of b, in that order (sel NULL: rows 0..n-1). */
int tide_sink_write_sel(tide_sink *k, const tide_cbatch *b, const uint32_t *sel, uint32_t n, tide_err *e);
/* Write out what is buffered (STDOUT, FILE: to the temp file). */
int tide_sink_flush(tide_sink *k, tide_err *e);
/* Flush and commit (FILE: fsync, rename; TOPIC: sync), then free.  Always
 * frees; on error nothing is committed (FILE: the temp file is removed).
 * NULL is a no-op returning 0. */
int tide_sink_close(tide_sink *k, tide_err *e);
/* Discard and free (FILE: remove the temp file).  NULL is a no-op. */
void tide_sink_abort(tide_sink *k);
uint64_t tide_sink_rows(const tide_sink *k); /* rows written so far */

/* ---- transactions (cfg.txn; see Transactions above) ----
 * Each returns 0 or an error.  TIDE_EINVAL for a call out of turn (on a
 * sink opened without cfg.txn; a write, precommit or commit before recover;
 * recover twice) or an id out of order: it changes nothing and does not
 * fail the sink.  Any other error (I/O, an injected fault) fails it. */
int tide_sink_txn_recover(tide_sink *k, int64_t pending_id, tide_err *e);
int tide_sink_txn_precommit(tide_sink *k, int64_t id, tide_err *e);
int tide_sink_txn_commit(tide_sink *k, int64_t id, tide_err *e);
/* The last transaction id committed (by commit or recover; 0: none). */
int64_t tide_sink_txn_committed(const tide_sink *k);

/* ---- dead letters ---- */

typedef struct tide_sink_dead_config {
    const char *path;        /* a file, or: */
    bool append;             /* file: append to it in place (created if missing) instead of temp + rename;
                                a last line cut short by a crash is ended with LF first */
    const char *datadir;     /* a topic (NULL datadir = tide_data_dir(NULL)) */
    const char *topic;
    bool create;             /* topic: create it (one partition, default config) when missing */
    const tide_clock *clock; /* topic record timestamps; NULL = system */
    void (*report)(void *ctx, const char *msg); /* topic: writer recovery reports; NULL = its default */
    void *report_ctx;
} tide_sink_dead_config;

typedef struct tide_sink_dead tide_sink_dead;

int tide_sink_dead_open(tide_sink_dead **out, const tide_sink_dead_config *cfg, tide_err *e);
int tide_sink_dead_write(tide_sink_dead *d, const char *reason, const char *position, const void *raw,
                         size_t raw_len, tide_err *e);
/* For tide_src_config.on_dead with dead_ctx = the tide_sink_dead. */
void tide_sink_dead_fn(void *ctx, const tide_src_dead *dl);
uint64_t tide_sink_dead_count(const tide_sink_dead *d);
/* Commit (file: fsync + rename, or fsync when appending; topic: sync) and
 * free; returns the first
 * error, including one met in tide_sink_dead_fn.  NULL is a no-op. */
int tide_sink_dead_close(tide_sink_dead *d, tide_err *e);
void tide_sink_dead_abort(tide_sink_dead *d);

#endif
