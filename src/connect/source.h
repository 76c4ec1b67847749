/*
 * source.h - sources: where column batches come from.
 *
 * One interface, several kinds (one .c per kind behind a small vtable,
 * connect/source_int.h):
 *   FILE        a CSV or JSON Lines file; bounded.  One partition.
 *   STDIN       CSV or JSON Lines from a file descriptor (0 by default);
 *               ends at EOF.  One partition.  next() returns the rows it
 *               has as soon as the descriptor has nothing more to read right
 *               now, and blocks in read(2) only when it has no row at all
 *               (run it on its own thread).
 *   TOPIC       a topic of the embedded log; one input partition per topic
 *               partition.  Unbounded by default (follows new records);
 *               bounded at the end offsets taken at open with
 *               cfg.bounded ("scan.bounded.mode" = "latest-offset").
 *   GEN_LOGINS  the `logins` generator (connect/gen_logins.h); bounded by
 *               its event count; optionally rate-limited by an injected clock.
 *
 *   tide_src_config c;
 *   tide_src_config_init(&c);
 *   c.kind = TIDE_SRC_FILE; c.path = "logins.csv"; c.schema = s; c.header = true;
 *   c.on_dead = tide_sink_dead_fn; c.dead_ctx = dead_sink;     (connect/sink.h)
 *   tide_src *src;  tide_src_open(&src, &c, &err);
 *   for (;;) {
 *       tide_src_batch info;
 *       int rc = tide_src_next(src, batch, &info, &err);
 *       if (rc == TIDE_SRC_READY)        batch holds 1..capacity rows of partition info.partition
 *       else if (rc == TIDE_SRC_NOTHING) nothing now: try again later (unbounded sources only)
 *       else if (rc == TIDE_SRC_END)     no more rows, ever
 *       else                             an error (negative TIDE_E*), err says where
 *   }
 *   tide_src_free(src);
 *
 * Rows.  tide_src_next RESETS `batch` and fills it with up to its capacity
 * rows, all from ONE input partition (info.partition), so the runtime can
 * keep a watermark per partition.  The batch must have the source's schema
 * (tide_src_schema) or the same column types.  When the batch keeps positions
 * (TIDE_CBATCH_POS) each row gets its position: the line where the record
 * starts (file, stdin), the record's offset (topic), the event's sequence
 * number, from 0 (generator).
 *
 * Event time.  The schema's time column is decoded like any other column;
 * for a topic, cfg.rowtime_column names a TIMESTAMP column that is NOT in the
 * record's value but filled from the log record's timestamp (Flink's
 * `METADATA FROM 'timestamp'`): the value is then decoded against the other
 * columns (CSV positionally, JSON by name).
 *
 * Positions, for checkpoints (tide_src_position): file/stdin give the byte
 * offset of the first record not yet returned and its line; a topic gives,
 * per partition, the offset of the next record it will read; the generator
 * gives the number of events delivered.  A position is taken between two
 * calls of tide_src_next and covers everything returned and every dead
 * letter delivered so far.  tide_src_seek takes a new source back to one:
 * what it returns from there (rows, their positions, dead letters) is what
 * the source that gave the position returned after it.
 *
 * Idle partitions (tide_src_idle): a topic partition whose reader has caught
 * up with the end of the log (its last read found nothing new) is idle until
 * a record arrives; an idle partition must not hold back the watermark.  A
 * partition that has ended (bounded) is idle too.  File, stdin and generator
 * partitions are never idle before they end.
 *
 * Dead letters.  A record that does not fit the schema is not returned; it
 * goes to cfg.on_dead with its position ("logins.csv:17:9" for files and
 * stdin, "logins/2/1041" = topic/partition/offset for topics), a reason
 * that starts with that position, and its raw bytes.  Without on_dead bad
 * records are only counted (tide_src_stats).
 *
 * Threads: a source belongs to one thread at a time.
 */
#ifndef TIDE_CONNECT_SOURCE_H
#define TIDE_CONNECT_SOURCE_H

#include "base/clock.h"
#include "base/err.h"
#include "connect/gen_logins.h"
#include "data/batch.h"
#include "data/codec.h"
#include "data/schema.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum tide_src_kind {
    TIDE_SRC_FILE,
    TIDE_SRC_STDIN,
    TIDE_SRC_TOPIC,
    TIDE_SRC_GEN_LOGINS,
} tide_src_kind;

/* What tide_src_next says (errors are negative TIDE_E* codes). */
enum {
    TIDE_SRC_END = 0,     /* no more rows, ever */
    TIDE_SRC_READY = 1,   /* the batch holds >= 1 rows */
    TIDE_SRC_NOTHING = 2, /* nothing now; an unbounded source may have more later */
};

/* A bad record handed to cfg.on_dead.  Pointers are valid during the call only. */
typedef struct tide_src_dead {
    const char *position; /* "path:line:col" / "path:line", or "topic/partition/offset" */
    const char *reason;   /* "<position>: why" */
    const char *raw;      /* the record's bytes (a topic record's value) */
    size_t raw_len;
    uint32_t partition;
} tide_src_dead;

typedef void (*tide_src_dead_fn)(void *ctx, const tide_src_dead *dl);

typedef struct tide_src_config {
    tide_src_kind kind;
    const tide_schema *schema; /* borrowed, outlives the source; NULL for GEN_LOGINS means its own */
    tide_format format;        /* FILE, STDIN, TOPIC */
    bool header;               /* CSV: the first record is a header (files, stdin) */
    char delim;                /* CSV delimiter; 0 = ',' */
    const char *path;          /* FILE */
    int fd;                    /* STDIN: the descriptor to read; default 0 */
    const char *datadir;       /* TOPIC: data directory; NULL = tide_data_dir(NULL) */
    const char *topic;         /* TOPIC */
    bool bounded;              /* TOPIC: stop at the end offsets taken at open */
    bool start_latest;         /* TOPIC: start at the end (default: the first retained offset) */
    bool start_time;           /* TOPIC: start at the first record with a timestamp >= start_time_ms */
    int64_t start_time_ms;
    /* TOPIC, bounded: stop at these offsets (per partition; partitions
     * beyond n_end_offsets at the end taken at open) instead of the end
     * taken at open.  Borrowed. */
    const uint64_t *end_offsets;
    uint32_t n_end_offsets;
    const char *rowtime_column; /* TOPIC: TIMESTAMP column filled from the record timestamp */
    tide_gen_logins_cfg gen;   /* GEN_LOGINS */
    const tide_clock *clock;   /* GEN_LOGINS rate; NULL = system clock */
    size_t read_size;          /* FILE/STDIN read block; 0 = 1 MiB */
    /* FILE: parse with this many threads (> 1): the one that reads and
     * parse_threads - 1 of the source's own (the reading thread parses a
     * chunk itself while the one it needs next is not ready), in chunks of
     * chunk_size bytes (0 = 1 MiB), put back in file order
     * (connect/file_split.h): the same rows, positions and dead letters as
     * one thread.  Batches end when full and where a chunk's records begin
     * (the first record that starts at or after a multiple of chunk_size),
     * with one thread as with several, so both give the same batches. */
    uint32_t parse_threads;
    size_t chunk_size;
    /* Watermark policy of a job reading this source (exec/node_scan.h's fields
     * of the same names; 0: off): a partition with nothing for
     * idle_timeout_ms stops holding the watermark back; when the whole input
     * is quiet for quiet_advance_ms the watermark advances with processing
     * time; a record more than future_bound_ms ahead of the processing clock
     * is a dead letter. */
    int64_t idle_timeout_ms;
    int64_t quiet_advance_ms;
    int64_t future_bound_ms;
    tide_src_dead_fn on_dead;  /* NULL: bad records are only counted */
    void *dead_ctx;
} tide_src_config;

/* Defaults: FILE, CSV, no header, ',', fd 0, unbounded, generator defaults. */
void tide_src_config_init(tide_src_config *c);

/* Set one option by its SQL WITH name (strings are borrowed, not copied):
 *   connector = file | stdin | topic | logins     path = P      topic = T
 *   format = csv | json | jsonl                   csv.header = true|false
 *   csv.delimiter = C                             data = DIR
 *   scan.bounded.mode = latest-offset | unbounded
 *   scan.startup.mode = earliest-offset | latest-offset | timestamp
 *   scan.startup.timestamp-millis = MS  (mode timestamp: the first record with a timestamp >= MS)
 *   rowtime.column = NAME
 *   scan.watermark.idle-timeout = D   (also source.idle-timeout)
 *   scan.watermark.quiet-advance = D  scan.watermark.future-bound = D
 *     (D: a duration, e.g. '500', '500 ms', '10 s', '2 min', '1 h', '1 d';
 *      a bare number is milliseconds)
 *   logins: seed, events, users, span (ms), start (ms), late.share (0..1),
 *           max.delay (ms), rate (events/s), zipf
 * TIDE_EINVAL naming the key for an unknown key or a bad value. */
int tide_src_config_set(tide_src_config *c, const char *key, const char *value, tide_err *e);

typedef struct tide_src tide_src;

/* Open per cfg (copied; its strings and schema stay borrowed).  For a
 * topic: TIDE_ENOENT if it does not exist.  0 or a TIDE_E* code. */
int tide_src_open(tide_src **out, const tide_src_config *cfg, tide_err *e);
/* NULL is a no-op. */
void tide_src_free(tide_src *s);

/* The schema of the rows (cfg.schema, or the generator's own). */
const tide_schema *tide_src_schema(const tide_src *s);
uint32_t tide_src_partitions(const tide_src *s);
/* True for FILE, STDIN, GEN_LOGINS and a bounded TOPIC. */
bool tide_src_bounded(const tide_src *s);

typedef struct tide_src_batch {
    uint32_t partition; /* the input partition every row of the batch came from */
} tide_src_batch;

/* Fill `batch` (reset first); see the top of this file.  A failed source
 * stays failed: later calls return the first error. */
int tide_src_next(tide_src *s, tide_cbatch *batch, tide_src_batch *info, tide_err *e);

/* The same rows as tide_src_next, without copying them where the source
 * can lend a batch of its own (a FILE parsed by several threads lends the
 * batches its threads parsed into).  *out gets either `batch`, filled as
 * tide_src_next fills it, or the source's batch: borrowed until the next
 * call on s (or tide_src_free); the caller may change its rows (e.g.
 * tide_cbatch_compact) but not add any.  A lent batch has the source's
 * column types, at most tide_cbatch_capacity(batch) rows, and keeps
 * positions (TIDE_CBATCH_POS) whether `batch` does or not.  Returns as
 * tide_src_next (*out is set for TIDE_SRC_READY only). */
int tide_src_next_lend(tide_src *s, tide_cbatch *batch, tide_cbatch **out, tide_src_batch *info,
                       tide_err *e);

/* The partition has caught up with what there is (see "Idle partitions"). */
bool tide_src_idle(const tide_src *s, uint32_t partition);
/* The partition has ended (bounded sources); every partition ended => END. */
bool tide_src_ended(const tide_src *s, uint32_t partition);

typedef struct tide_src_pos {
    uint64_t offset; /* byte offset (file, stdin), next record offset (topic), events delivered (gen) */
    uint64_t line;   /* file, stdin: line of the next record; 0 otherwise */
    bool turn;       /* topic: the next tide_src_next serves this partition first (round robin) */
} tide_src_pos;

void tide_src_position(const tide_src *s, uint32_t partition, tide_src_pos *pos);

/* Go to `pos`, a tide_src_position of `partition` taken from a source of
 * the same configuration over the same data (a checkpoint's), before this
 * source returned anything (call it right after open, once per partition
 * to move).  By kind:
 *   FILE        the record that starts at byte pos->offset, on line
 *               pos->line (rows keep their true lines); past offset 0 no
 *               header is skipped and no byte order mark looked for.  The
 *               same with parse_threads > 1 (the chunk holding the offset
 *               is parsed from there).
 *   TOPIC       the partition's next offset (TIDE_ERANGE when retention
 *               removed it), and the round robin's turn when pos->turn.  A
 *               bounded topic keeps the end offsets it took at open.
 *   GEN_LOGINS  the event count: the generator, deterministic from its
 *               seed, skips that many events (a rate limit counts from the
 *               seek).
 *   STDIN       only where it stands (offset 0, line 1): a pipe cannot go
 *               back (TIDE_EUNSUPPORTED).
 * A position where the source already is needs no work.  0; TIDE_EINVAL
 * (no such partition, the source has returned something, a position past
 * the end of the file or of the generator); TIDE_EUNSUPPORTED; an I/O
 * error.  A failed seek fails the source (later calls return its error). */
int tide_src_seek(tide_src *s, uint32_t partition, const tide_src_pos *pos, tide_err *e);

typedef struct tide_src_stats {
    uint64_t rows; /* rows returned */
    uint64_t dead; /* records sent to the dead letters */
} tide_src_stats;

void tide_src_stats_get(const tide_src *s, tide_src_stats *st);

#endif
