/*
 * node_scan.h - the source node: column batches from a source, with
 * event-time watermarks that are exact per record.
 *
 * A poll reads up to cfg.batch_rows rows of one source partition:
 *   fill    - the logins generator, a connect/ source (file, stdin, topic,
 *             generator) or a caller's callback fills the node's batch (a
 *             file parsed by several threads lends its own instead:
 *             tide_src_next_lend, no copy; its positions stay hidden
 *             unless cfg.positions).
 *   clean   - rows with a NULL event time, one outside the TIMESTAMP
 *             range (TIDE_TS_VALID_MIN..MAX, data/types.h: a BIGINT time
 *             column, a callback source), or (future_bound_ms > 0) one
 *             beyond processing now + bound, are dead letters: counted
 *             (TIDE_NODE_BAD), handed to cfg.on_dead, dropped, before any
 *             watermark sees them.  So are the records the connect source
 *             could not decode (counted; its own on_dead saw them).
 *   time    - a watermark generator per partition (W_p = max ts - B) and a
 *             combiner over them (min; a partition idle for idle_timeout_ms
 *             does not hold it back; with quiet_advance_ms the watermark
 *             follows processing time while the whole input is quiet; every
 *             partition ended: +infinity).  Processing time is the flow's
 *             clock (tide_node_clock).
 *   emit    - the rows go out on port 0, then the new watermark
 *             (tide_node_emit_watermark).  A record is judged against the
 *             watermark that holds just before it (DESIGN.md 4): when the
 *             batch holds a record with ts < W, W including every earlier
 *             record of the batch and not sent yet, the batch is cut there:
 *             the rows before it, then W, then the rest (TIDE_NODE_WM_CUTS
 *             counts the cuts).  In-order data is never cut: the whole batch
 *             goes in one emit (selection NULL) and the watermark after it.
 *   Accepted rows are counted (TIDE_NODE_IN).
 * "Nothing now" from the source ticks the combiner (idleness, quiet
 * advance) and may send a watermark; the poll then returns TIDE_EAGAIN.
 * The end of the source ends the node (the runtime sends +infinity).
 *
 * Output port 0: the source's schema (tide_node_scan_schema), its rows
 * carrying their source positions (TIDE_CBATCH_POS) when cfg.positions is
 * set (tide_node_scan_flags gives the port's flags).
 *
 * Snapshot (at a barrier, between two polls): per partition the source
 * position (connect: tide_src_position; generator: events delivered;
 * callback: cfg.position) and the watermark generator (max ts, W, ended),
 * the combined watermark and the last watermark sent.  Restore seeks the
 * source: the generator skips the delivered events (it is deterministic
 * from its seed); a connect source seeks each partition (tide_src_seek:
 * a file to its byte offset and line, a topic to its offsets, the
 * generator to its event count; stdin only where it stands); a callback
 * source is asked to seek (cfg.seek).  The rows after the barrier, their
 * watermarks and the dead letters are then those of the run that wrote
 * the snapshot.  The combiner's idleness and quiet-advance clocks are not
 * in the snapshot (time/watermark.h has no snapshot of them yet): a
 * restored combiner starts from the partitions' watermarks, and the node
 * never sends a watermark below the one it had sent.
 *
 * Pausing (tests): cfg.pause, when set, is asked before each read whether
 * the scan holds where it is; a barrier injected while it holds lands
 * exactly there (the runtime emits barriers between polls), which is how a
 * test places a checkpoint at a chosen point of the input.
 *
 * Parallelism 1 (one reader; the partitions are read in turn).
 */
#ifndef TIDE_EXEC_NODE_SCAN_H
#define TIDE_EXEC_NODE_SCAN_H

#include "base/err.h"
#include "connect/gen_logins.h"
#include "connect/source.h"
#include "data/batch.h"
#include "data/schema.h"
#include "exec/expr.h"
#include "exec/node.h"

#include <stdbool.h>
#include <stdint.h>

typedef enum tide_node_scan_kind {
    TIDE_NODE_SCAN_GEN_LOGINS, /* the logins generator (connect/gen_logins.h), one partition */
    TIDE_NODE_SCAN_CONNECT,    /* a connect/ source (file, stdin, topic, generator) */
    TIDE_NODE_SCAN_CALLBACK,   /* tide_node_scan_next_fn */
} tide_node_scan_kind;

/* Columns of the logins generator's rows. */
enum {
    TIDE_NODE_SCAN_LOGINS_TS = 0,      /* TIMESTAMP(3), the time column */
    TIDE_NODE_SCAN_LOGINS_USER_ID = 1, /* BIGINT */
    TIDE_NODE_SCAN_LOGINS_COUNTRY = 2, /* STRING */
    TIDE_NODE_SCAN_LOGINS_DEVICE = 3,  /* STRING */
};

/* A caller's source: reset and fill `batch` (the schema cfg.schema,
 * capacity cfg.batch_rows) with rows of one partition (*partition <
 * cfg.partitions).  TIDE_SRC_READY, TIDE_SRC_NOTHING, TIDE_SRC_END
 * (connect/source.h) or a negative TIDE_E* code with `e` filled.  Called on
 * the node's thread. */
typedef int (*tide_node_scan_next_fn)(void *ctx, tide_cbatch *batch, uint32_t *partition, tide_err *e);
/* Checkpoints of a callback source: the position of `partition` now (what
 * the next row is), and going back to such a position on restore (0 or a
 * TIDE_E* code). */
typedef void (*tide_node_scan_pos_fn)(void *ctx, uint32_t partition, tide_src_pos *pos);
typedef int (*tide_node_scan_seek_fn)(void *ctx, uint32_t partition, const tide_src_pos *pos,
                                      tide_err *e);

/* One dead letter: a row without an event time, or one too far ahead of
 * processing time, or whose computed columns failed.  Borrowed for the
 * call: `batch` is the batch of the row (the source's, or of cfg.computed),
 * `row` its row. */
typedef struct tide_node_scan_dead {
    const tide_cbatch *batch;
    uint32_t row;
    uint32_t partition;
    int64_t ts;         /* the event time (0 when NULL) */
    const char *reason; /* names the timestamp and the bound */
} tide_node_scan_dead;

/* 0, or a negative TIDE_E* code to fail the job. */
typedef int (*tide_node_scan_dead_fn)(void *ctx, const tide_node_scan_dead *d);

/* Asked before each read, with the number of reads that returned rows so
 * far: true holds the scan (the poll reads nothing and returns
 * TIDE_EAGAIN; nothing else moves: no watermark, no idleness tick).
 * Called on the node's thread. */
typedef bool (*tide_node_scan_pause_fn)(void *ctx, uint64_t reads);

/* Computed columns (CREATE TABLE ... c AS expr): make the instance's
 * trees, exprs[j] over a source row giving column j of cfg.computed (the
 * instance owns them from then on, also on failure).  0 or a TIDE_E* code. */
typedef int (*tide_node_scan_build_fn)(void *ctx, tide_expr **exprs, tide_err *e);

/* Borrowed by the instance: must outlive the flow (and so must everything
 * it points to). */
typedef struct tide_node_scan_cfg {
    tide_node_scan_kind kind;
    tide_gen_logins_cfg gen;     /* GEN_LOGINS (its rate runs on the flow's clock) */
    const tide_src_config *conn; /* CONNECT */
    const tide_schema *schema;   /* CALLBACK: the rows' schema */
    uint32_t partitions;         /* CALLBACK: >= 1 */
    tide_node_scan_next_fn next; /* CALLBACK */
    tide_node_scan_pos_fn position; /* CALLBACK, may be NULL (snapshot: position 0) */
    tide_node_scan_seek_fn seek;    /* CALLBACK, may be NULL (restore: TIDE_EUNSUPPORTED) */
    void *ctx;                      /* of next, position and seek */
    int time_col; /* the event-time column (TIMESTAMP or BIGINT); < 0: the schema's */
    /* Computed columns, so that the event time may be one: when `computed`
     * is set, each source row becomes a row of that schema (build's trees),
     * time_col indexes it, and it is what port 0 carries.  A row whose
     * trees fail (exec/expr.h: an overflow, a TIMESTAMP out of range) is a
     * dead letter ("computed column c: why"), as is one whose computed
     * event time is NULL. */
    const tide_schema *computed;
    tide_node_scan_build_fn build;
    void *build_ctx;
    bool positions; /* rows keep their source positions (TIDE_CBATCH_POS) */
    /* GEN_LOGINS: bit c set when no node reads column c (its cells may be
     * left NULL: the string columns cost most of the generator's fill).
     * The dead-letter callback sees the batch as it is. */
    uint64_t unread_cols;
    int64_t wm_bound;         /* B >= 0, ms: W = max ts - B per partition */
    int64_t idle_timeout_ms;  /* <= 0: partitions never idle */
    int64_t quiet_advance_ms; /* <= 0: off (time/watermark.h) */
    int64_t future_bound_ms;  /* <= 0: off */
    tide_node_scan_dead_fn on_dead; /* NULL: dead letters only counted */
    void *dead_ctx;
    uint32_t batch_rows; /* rows per poll; 0: 4096 */
    tide_node_scan_pause_fn pause; /* NULL: never holds (see "Pausing") */
    void *pause_ctx;
} tide_node_scan_cfg;

/* Zero everything, then: GEN_LOGINS with its defaults, time_col -1, one
 * partition, B = 5 s. */
void tide_node_scan_cfg_init(tide_node_scan_cfg *c);

/* The schema of output `port` (0 only): cfg.computed, else the source's (a
 * connect source without a configured schema is opened to ask).  The
 * caller frees it. */
int tide_node_scan_schema(const tide_node_scan_cfg *c, uint32_t port, tide_schema **out, tide_err *e);
/* The flags of output 0 (tide_flow_node.out_flags): TIDE_CBATCH_POS with
 * cfg.positions, else 0. */
unsigned tide_node_scan_flags(const tide_node_scan_cfg *c);

extern const tide_node_vt tide_node_scan_vt;
/* cfg: a tide_node_scan_cfg.  Opens the source.  Parallelism must be 1. */
int tide_node_scan_make(void *cfg, uint32_t instance, uint32_t parallelism, void **self, tide_err *e);

/* A snapshot this node wrote (tide_flow_store_find), in words, appended
 * to `out`: the source and its position per partition ("logins.csv byte
 * 1234 line 56", "topic t [0@120, 1@98]", "logins generator event 5000";
 * "(ended)" after an ended partition); *wm gets the watermark the scan had
 * sent.  TIDE_ECORRUPT for another kind of snapshot. */
int tide_node_scan_describe(const tide_node_scan_cfg *c, const void *snap, size_t len, tide_buf *out,
                            int64_t *wm, tide_err *e);

/* A snapshot this node wrote, as numbers: per partition (up to cap) the
 * source position (a topic: the next offset; a file: the byte offset; the
 * generator: events delivered) into offs[i]; *n the partitions in the
 * snapshot, *max_ts the largest event time read over them (TIDE_TS_MIN:
 * none), *wm the watermark the scan had sent.  TIDE_ECORRUPT for another
 * kind of snapshot. */
int tide_node_scan_positions(const void *snap, size_t len, uint64_t *offs, uint32_t cap, uint32_t *n,
                             int64_t *max_ts, int64_t *wm, tide_err *e);

/* ---- a scan driven step by step (the node's own poll, and tests) ---- */

/* Where a step's rows, watermarks and counts go.  rows: rows sel[0..n) of
 * the scan's batch (valid until the next step), always one run: sel NULL
 * (the whole batch) or sel[i] = sel[0] + i. */
typedef struct tide_node_scan_out {
    int (*rows)(void *ctx, const tide_cbatch *b, const uint32_t *sel, uint32_t n, tide_err *e);
    int (*watermark)(void *ctx, int64_t wm, tide_err *e);
    void (*count)(void *ctx, tide_node_counter c, uint64_t n);
    void *ctx;
} tide_node_scan_out;

/* One poll of an instance made by tide_node_scan_make, at processing time
 * `now`: 1 (did work), 0 (the source ended), TIDE_EAGAIN (nothing now) or a
 * TIDE_E* code.  The node's poll is this with the flow's outputs. */
int tide_node_scan_step(void *self, int64_t now, const tide_node_scan_out *out, tide_err *e);
/* The schema of the instance's batches (the source's own). */
const tide_schema *tide_node_scan_batch_schema(const void *self);

#endif
