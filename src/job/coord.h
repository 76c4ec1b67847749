/*
 * coord.h - a named job: its directory, its lock, the checkpoint
 * coordinator and recovery (DESIGN.md 5).
 *
 *   tide_coord *c;  tide_coord_open(&c, &cfg, &e);    -- lock, newest checkpoint
 *   tide_job_cfg jc = {.flow.barrier_base = tide_coord_barrier_base(c)};
 *   tide_job_create(&j, spec, &jc, &e);
 *   tide_coord_run(c, j, &e);     -- restore, run with checkpoints, final one
 *   tide_coord_close(c);
 *
 * Layout, under the data directory:
 *
 *   jobs/<job>/lock           flock'd by the process running the job (holds
 *                             its pid, for the refusal message)
 *   jobs/<job>/ids            the checkpoint ids handed out so far (below)
 *   jobs/<job>/checkpoints/   the checkpoints (state/ckpt.h)
 *
 * A checkpoint, every cfg.interval_ms of processing time:
 *   1. barrier n is injected at every source (exec/flow.h); each node
 *      instance snapshots when its task aligned it (sinks pre-commit there:
 *      exec/node_write.h); instances of tasks that already ended snapshot
 *      on the coordinator's thread (tide_flow_snapshot_ended).  A node
 *      with big state (exec/node.h freeze: the group aggregate) only
 *      copies it at the barrier, so its task's data path stops for that
 *      copy and no longer;
 *   2. once every instance's snapshot is in, the coordinator's thread
 *      serialises the frozen copies (tide_flow_snapshot; fault point
 *      flow.snapshot.write) while the tasks go on, and the store is
 *      written with state/ckpt.h (temp, fsync, rename, manifest last; its
 *      fault points ckpt.*).  The manifest's info line says where the
 *      sources were and the watermark they had sent;
 *   3. only after the manifest is durable: complete(n) on every node
 *      instance, on its task's own thread (tide_flow_complete; sinks commit
 *      transaction n there), and the coordinator waits until every task
 *      served it before it injects barrier n+1, so a node sees snapshot(n),
 *      complete(n), snapshot(n+1), ... in that order.
 * A checkpoint that cannot be written (an I/O error at any step, a frozen
 * snapshot that cannot be serialised) fails the
 * job: it stops with that error and a rerun resumes from the newest
 * complete checkpoint (its sinks abort what was pre-committed after it).
 * When the input ends, a final checkpoint (manifest "finished 1") is taken
 * after the flow ended and before the job's resources are finished, so it
 * commits everything.  tide_coord_stop (SIGINT, SIGTERM) takes a checkpoint
 * through a barrier and then stops the job: a rerun resumes there.
 *
 * Ids.  Checkpoint n is transaction n of the job's sinks, and a sink
 * refuses an id older than one it applied (aborts included).  A run that
 * died after barrier n reached a sink but before checkpoint n was complete
 * leaves transaction n aborted, so ids must never be reused: the ids file
 * reserves blocks of TIDE_COORD_ID_BLOCK ids ahead (rewritten atomically
 * before an id beyond the block is handed out), and a run starts after
 * everything reserved before (so after a crash the ids jump).  File
 * (version 1): "tide-ids 1\nnext N\ncrc32c X\n", X the CRC-32C of the lines
 * before; a damaged file is reported and the ids continue 2^20 past the
 * newest checkpoint.
 *
 * Status.  While it runs, the coordinator rewrites jobs/<job>/status
 * (job/status.h) about every second, and once more when the run ends
 * (finished, stopped or failed, with the error).  A status that cannot be
 * written is reported once on stderr; the job goes on.
 *
 * Fault points (base/fault.h), besides state/ckpt.h's: job.barrier (before
 * a barrier is injected), job.ids (before the ids file is rewritten),
 * job.complete (after the manifest is durable, before complete(n)).
 *
 * Threads: open, run and close from one thread; stop from any (a signal
 * watcher).  The coordinator runs on a thread of its own during run.
 */
#ifndef TIDE_JOB_COORD_H
#define TIDE_JOB_COORD_H

#include "base/buf.h"
#include "base/err.h"
#include "job/job.h"
#include "state/ckpt.h"

#include <stdbool.h>
#include <stdint.h>

#define TIDE_COORD_ID_BLOCK 1024

typedef struct tide_coord_cfg {
    const char *datadir;  /* copied */
    const char *job;      /* copied; the topic rules (state/ckpt.h) */
    uint64_t plan;        /* the plan's fingerprint: a checkpoint of another is refused */
    int64_t interval_ms;  /* between checkpoints; 0: only the final one */
    uint32_t keep;        /* complete checkpoints kept; 0: 3 */
    /* reports (a leftover removed, a damaged checkpoint skipped, ...); NULL: stderr */
    void (*report)(void *ctx, const char *msg);
    void *report_ctx;
} tide_coord_cfg;

typedef struct tide_coord tide_coord;

/* Take the job's lock (TIDE_ELOCKED "job NAME is running (pid N)" when
 * another process holds it), open its checkpoints, load the newest complete
 * one (TIDE_EINVAL naming both fingerprints and `tide job reset NAME` when
 * it is of another plan) and reserve ids. */
int tide_coord_open(tide_coord **out, const tide_coord_cfg *cfg, tide_err *e);
/* Releases the lock.  NULL is a no-op. */
void tide_coord_close(tide_coord *c);

/* The newest complete checkpoint (false: none, a fresh job).  Borrowed
 * until close. */
bool tide_coord_latest(const tide_coord *c, const tide_ckpt_meta **m);
/* The flow's barrier base for this run (tide_flow_cfg.barrier_base). */
int64_t tide_coord_barrier_base(const tide_coord *c);

/* Run job `j` (made from the job's spec with tide_coord_barrier_base):
 * restored from the newest checkpoint when there is one (a finished one
 * too: every source is at its end, nothing new comes, but the sinks
 * recover, committing what its final checkpoint pre-committed),
 * with checkpoints every interval, and the final one at the end of the
 * input.  0, the job's error, or the first checkpoint error (which stopped
 * the job).  A job stopped with tide_coord_stop returns TIDE_EFAILED
 * "cancelled" like tide_job_cancel (tide_coord_stopped says so). */
int tide_coord_run(tide_coord *c, tide_job *j, tide_err *e);
/* Any thread, during run: take a checkpoint, then stop the job.  A second
 * call stops it at once (no checkpoint). */
void tide_coord_stop(tide_coord *c);
bool tide_coord_stopped(const tide_coord *c);

/* The last checkpoint this run wrote: id (0: none), its size and how long
 * it took from the barrier to the durable manifest. */
typedef struct tide_coord_stats {
    int64_t last_id;
    uint64_t last_bytes;
    int64_t last_ms;
    int64_t last_time_ms; /* wall clock when it was written */
    uint64_t checkpoints; /* written by this run */
} tide_coord_stats;
void tide_coord_stats_get(tide_coord *c, tide_coord_stats *out);

/* The inputs' progress at the newest complete checkpoint (this run's, or
 * the one it resumed from) and their lag behind the input now: for each
 * scan of a topic, the records its topic holds beyond the checkpoint's
 * positions (summed over scans and partitions), and in time the newest
 * record's timestamp (the log's: tide produce stamps the time it appended)
 * minus that of the first record not in the checkpoint (0 when caught up).  Any
 * thread, after tide_coord_run started (before: nothing known). */
typedef struct tide_coord_lag {
    bool known;          /* a checkpoint exists (else the rest is 0) */
    bool all_topics;     /* every scan reads a topic (else only they count) */
    bool finished;       /* the checkpoint is a finished job's final one */
    int64_t ckpt_id;
    uint64_t records;
    int64_t ms;
    int64_t watermark;   /* the checkpoint's watermark (min over its scans) */
} tide_coord_lag;
int tide_coord_lag_get(tide_coord *c, tide_coord_lag *out, tide_err *e);
/* The positions of the scans of topic `topic` at that checkpoint (next
 * offset per partition, malloc'd into *offs; free()): TIDE_ENOENT when no
 * scan reads it or no checkpoint exists, TIDE_EINVAL when two scans of it
 * stand at different positions.  *ckpt_id gets the checkpoint. */
int tide_coord_topic_positions(tide_coord *c, const char *topic, uint64_t **offs, uint32_t *n, int64_t *ckpt_id,
                               tide_err *e);

/* A watcher: tide_coord_lag_get and tide_coord_topic_positions for a job
 * that another process runs (tide server's versions), from its checkpoints
 * on disk: no lock taken, nothing written.  `spec` (the job's, as that
 * process planned it; borrowed) maps the checkpoint's scan nodes to their
 * sources.  Free with tide_coord_close. */
int tide_coord_watch(tide_coord **out, const char *datadir, const char *job, const tide_job_spec *spec,
                     tide_err *e);
/* Read the newest complete checkpoint when the watcher holds none, or the
 * job reported a newer one, `seen_id` (0: none reported yet), than the one
 * it holds: the answers above then come from it.  A checkpoint that cannot be read now (pruned meanwhile) leaves
 * the older answers; TIDE_ENOMEM only. */
int tide_coord_watch_refresh(tide_coord *c, int64_t seen_id, tide_err *e);

/* Is job `job` running (another process holds its lock)?  A job without
 * a lock file is not.  0 or an I/O error. */
int tide_coord_probe(const char *datadir, const char *job, bool *running, tide_err *e);
/* Remove job `job`'s directory (checkpoints, ids, status), holding its
 * lock: TIDE_ELOCKED "job NAME is running (pid N)" while a run holds it.
 * The job's output is not touched. */
int tide_coord_reset(const char *datadir, const char *job, tide_err *e);

/* The info line of a store: "sources: <each scan's position>, watermark
 * <time>" (node_scan.h's words).  Appended to `out`. */
int tide_coord_describe(const tide_job_spec *spec, const tide_buf *store, tide_buf *out, tide_err *e);

#endif
