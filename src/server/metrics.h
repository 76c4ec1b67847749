/*
 * metrics.h - what the server knows about its jobs and topics at one
 * moment (tide_srv_snapshot), rendered in the Prometheus text exposition
 * format (version 0.0.4) for GET /metrics.
 *
 * The server (server.c) fills a snapshot; this module only reads it.  All
 * pointers in a snapshot are borrowed from whoever filled it and must stay
 * valid for the call.  Metric names follow Prometheus' conventions: base
 * units (seconds, bytes), counters end in _total, every metric of a job
 * version has the labels job="NAME",version="N", every metric of a topic
 * partition topic="NAME",partition="P".  Label values are escaped (\\, \",
 * \n), so any job or topic name renders as valid text.
 *
 * The metrics (HELP lines say the same):
 *   tide_up                                  1
 *   tide_job_live_version{job}               the version readers see (0: none)
 *   tide_version_state{job,version,state}    1 for the version's state
 *   tide_records_in_total / _out_total / _late_total / _bad_total {job,version}
 *   tide_records_per_second{job,version}     throughput now
 *   tide_lag_records{job,version}            records behind the end of the input
 *   tide_lag_seconds{job,version}            event time behind the input's newest
 *   tide_watermark_seconds{job,version}      the watermark (absent: none yet)
 *   tide_watermark_delay_seconds{job,version} processing time minus the watermark
 *   tide_checkpoint_id / _timestamp_seconds / _duration_seconds / _size_bytes {job,version}
 *                                            the last completed checkpoint (absent: none)
 *   tide_state_size_bytes{job,version}       keyed state held
 *   tide_restarts_total{job,version}         restarts after failures
 *   tide_topic_start_offset / _end_offset / _size_bytes {topic,partition}
 */
#ifndef TIDE_SERVER_METRICS_H
#define TIDE_SERVER_METRICS_H

#include "base/buf.h"
#include "base/err.h"

#include <stddef.h>
#include <stdint.h>

/* A value that is not known (no watermark yet, no lag measured). */
#define TIDE_SRV_UNKNOWN INT64_MIN

typedef struct tide_srv_version_snap {
    int version;              /* 1, 2, ... */
    const char *state;        /* "catching-up" | "live" | "retired" | "failed" | "stopped" */
    uint64_t records_in, records_out, late, bad;
    double rate;              /* records in per second, now */
    int64_t lag_records;      /* TIDE_SRV_UNKNOWN when not known */
    int64_t lag_ms;           /* TIDE_SRV_UNKNOWN when not known */
    int64_t watermark_ms;     /* TIDE_SRV_UNKNOWN when none yet */
    int64_t ckpt_id;          /* 0: no checkpoint yet (the other ckpt_ fields are then ignored) */
    int64_t ckpt_time_ms;     /* wall clock when it completed */
    int64_t ckpt_duration_ms;
    uint64_t ckpt_bytes;
    uint64_t state_bytes;
    uint64_t restarts;
} tide_srv_version_snap;

typedef struct tide_srv_job_snap {
    const char *name;
    int live;                 /* the live version (0: none) */
    const tide_srv_version_snap *versions;
    size_t nversions;
} tide_srv_job_snap;

typedef struct tide_srv_partition_snap {
    int partition;
    int64_t start_offset;     /* the first offset kept */
    int64_t end_offset;       /* the next offset to be written */
    uint64_t bytes;
} tide_srv_partition_snap;

typedef struct tide_srv_topic_snap {
    const char *name;
    const tide_srv_partition_snap *parts;
    size_t nparts;
} tide_srv_topic_snap;

typedef struct tide_srv_snapshot {
    int64_t now_ms;           /* wall clock of the snapshot (watermark delay is measured against it) */
    const tide_srv_job_snap *jobs;
    size_t njobs;
    const tide_srv_topic_snap *topics;
    size_t ntopics;
} tide_srv_snapshot;

/* The content type GET /metrics answers with. */
#define TIDE_SRV_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Append the snapshot in the Prometheus text format to *out.  TIDE_ENOMEM
 * leaves *out as it was. */
int tide_srv_metrics(const tide_srv_snapshot *snap, tide_buf *out, tide_err *e);

/* Every topic of a data directory with its partitions' offsets and bytes
 * (log/topic.h), for a snapshot's topics: *out has *n entries, names and
 * arrays owned by it; free with tide_srv_topics_free.  A topic deleted
 * while this runs is left out. */
int tide_srv_topics_load(const char *datadir, tide_srv_topic_snap **out, size_t *n, tide_err *e);
void tide_srv_topics_free(tide_srv_topic_snap *t, size_t n);

#endif
