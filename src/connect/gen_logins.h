/*
 * gen_logins.h - the `logins` generator: a deterministic stream of login
 * events for the demo, the tests and the benchmarks.
 *
 * Each event: ts (TIMESTAMP ms, UTC), user_id (BIGINT, 1..users), country
 * (STRING, fixed per user), device (STRING: "ios", "android", "web").
 *
 * Determinism: everything follows from cfg.seed through the generator's own
 * counter-based PRNG (four draws per event), so the same configuration
 * gives the same events in the same order on every machine; chunk sizes do
 * not matter.
 *
 * The model:
 *   - Popularity: user of rank k (1 = most popular) is picked with weight
 *     k^-s (Zipf-like; s = 0 is uniform).  One alias table (O(1) per draw,
 *     a few thousand entries, cache-resident) holds ranks 1..4096 exactly and
 *     the tail as buckets of ranks [lo, lo + lo/64) weighted by the integral
 *     of x^-s; inside a bucket the rank is uniform (the true weight varies by
 *     < 2% there).  Ranks map to user ids through a fixed permutation
 *     (rank 1 is not user 1).
 *   - Event times: the i-th event (in event-time order) has time F^-1((i+u)/N)
 *     over [start_ms, end_ms), u uniform in [0,1): a uniform rate, or, with
 *     daily_amplitude a in (0,1), a rate proportional to
 *     1 + a*cos(2*pi*(t - 20:00 UTC)/day) (busiest at 20:00 UTC).
 *   - Disorder: each event is picked with probability late_share and its
 *     delivery is delayed by d, uniform in [1, max_delay_ms] ms of event time:
 *     it is delivered just before the first event with time > ts + d (or at
 *     the end).  Hence every delivered event has ts >= (max ts delivered
 *     before it) - max_delay_ms, exactly.
 *   - Rate (live runs): with cfg.rate > 0, at most floor(elapsed * rate) events
 *     are delivered by processing time now_ms, elapsed counted from the first
 *     call.  The caller passes the clock reading, so tests use a fake clock.
 *
 * Output goes into caller-provided columns (struct of arrays), so a column
 * batch can be filled without per-event allocation.  The generator keeps a
 * small heap of delayed events (about late_share * events per max_delay).
 */
#ifndef TIDE_CONNECT_GEN_LOGINS_H
#define TIDE_CONNECT_GEN_LOGINS_H

#include "base/buf.h"
#include "base/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TIDE_GEN_LOGINS_COUNTRIES 12
#define TIDE_GEN_LOGINS_DEVICES 3

typedef struct tide_gen_logins_cfg {
    uint64_t seed;
    uint64_t events;         /* exact number of events */
    uint64_t users;          /* user ids 1..users; 1..2^31 */
    double zipf_s;           /* popularity exponent, 0..10 (e.g. 1.1) */
    int64_t start_ms;        /* event times in [start_ms, end_ms) */
    int64_t end_ms;
    double daily_amplitude;  /* 0 (uniform) .. 0.95 */
    double late_share;       /* 0..1: share of events delivered late */
    int64_t max_delay_ms;    /* >= 1 when late_share > 0 */
    double rate;             /* events per second of processing time; 0: as fast as asked */
} tide_gen_logins_cfg;

/* seed 1, 1e6 events, 100000 users, s 1.1, one day from 2024-01-01 00:00 UTC,
 * no daily cycle, 5% late by up to 5 s, no rate limit. */
void tide_gen_logins_cfg_default(tide_gen_logins_cfg *cfg);

/* Where events go: four arrays with room for `cap` events each. */
typedef struct tide_gen_logins_cols {
    int64_t *ts;
    int64_t *user_id;
    uint8_t *country; /* index for tide_gen_logins_country_name; NULL: not wanted */
    uint8_t *device;  /* index for tide_gen_logins_device_name */
    size_t cap;
} tide_gen_logins_cols;

typedef struct tide_gen_logins tide_gen_logins;

/* Check a configuration: 0, or TIDE_EINVAL with a message naming the SQL
 * option of the 'logins' connector at fault ('users', 'zipf', 'start',
 * 'span', 'late.share', 'max.delay', 'rate'), which *option (may be NULL)
 * gets (static; NULL when the configuration is good).  Event times must
 * stay inside the TIMESTAMP range (data/types.h). */
int tide_gen_logins_cfg_check(const tide_gen_logins_cfg *c, const char **option, tide_err *e);

/* TIDE_EINVAL (bad configuration: tide_gen_logins_cfg_check), TIDE_ENOMEM. */
int tide_gen_logins_create(tide_gen_logins **out, const tide_gen_logins_cfg *cfg, tide_err *e);
void tide_gen_logins_free(tide_gen_logins *g); /* NULL is a no-op */

/* Deliver up to min(max, cols->cap) events (fewer when the rate limit says
 * so, or at the end), in delivery order, into cols[0..*n).  now_ms is the
 * processing clock (ignored when cfg.rate == 0).  0 or TIDE_ENOMEM (the
 * delay heap could not grow; nothing was lost: call again). */
int tide_gen_logins_next(tide_gen_logins *g, const tide_gen_logins_cols *cols, size_t max,
                         int64_t now_ms, size_t *n, tide_err *e);
/* Deliver the next n events nowhere, at once (no rate limit; skipped
 * before the first tide_gen_logins_next, they do not count against the
 * rate): a generator made from the same configuration and skipped by k
 * continues as the one that delivered k events.  0, TIDE_EINVAL (fewer than
 * n events left), TIDE_ENOMEM. */
int tide_gen_logins_skip(tide_gen_logins *g, uint64_t n, tide_err *e);
/* Every event was delivered. */
bool tide_gen_logins_done(const tide_gen_logins *g);
/* Events delivered so far. */
uint64_t tide_gen_logins_delivered(const tide_gen_logins *g);

/* "US", "IN", ...; "?" out of range. */
const char *tide_gen_logins_country_name(uint8_t idx);
/* "ios", "android", "web"; "?" out of range. */
const char *tide_gen_logins_device_name(uint8_t idx);
/* The country of a user (what the generator gives every event of it). */
uint8_t tide_gen_logins_user_country(const tide_gen_logins *g, int64_t user_id);

/* CSV: "ts,user_id,country,device\n" */
int tide_gen_logins_csv_header(tide_buf *out);
/* Append up to `max` events as CSV rows ("2024-01-01 00:00:00.123,42,US,ios\n",
 * ts in UTC) to out; *n gets how many.  Same rate rule as next. */
int tide_gen_logins_csv(tide_gen_logins *g, tide_buf *out, size_t max, int64_t now_ms, size_t *n,
                        tide_err *e);
/* The whole stream of `cfg` (rate ignored) as a CSV file with a header,
 * written through base/io.h (created or truncated; not fsynced). */
int tide_gen_logins_write_csv(const tide_gen_logins_cfg *cfg, const char *path, tide_err *e);

#endif
