/*
 * agg.h - aggregate functions: step / retract / merge / result.
 *
 * An aggregate is bound once (SQL name + DISTINCT + input type) into a
 * `tide_agg`, a small descriptor the operator keeps per output column.  Its
 * per-group state lives in a caller-provided slot of a->state_size bytes
 * (8-byte aligned; e.g. a region of a tide_table value), and some
 * aggregates keep more state out of line (malloc'd, owned by the slot):
 * COUNT(DISTINCT), APPROX_COUNT_DISTINCT, MIN/MAX bound retractable, and
 * MIN/MAX of STRING (a copy of the current extreme).  a->has_free says so;
 * then tide_agg_free must be called before the slot is dropped.
 *
 * Life of a slot: tide_agg_init (never allocates) -> any number of step /
 * retract / merge -> result (any number of times) -> tide_agg_free (leaves
 * the slot initialised again, so a slot can be reused; free twice is safe).
 *
 * Semantics (SQL):
 *   - NULL inputs are ignored by every aggregate except COUNT(*), which
 *     counts rows (pass any value, NULL included).
 *   - SUM(DECIMAL(p, s)) -> DECIMAL(38, s), AVG -> DECIMAL(38, max(s, 6))
 *     (the exact sum divided by the count, HALF_UP), as Flink's: exact under
 *     any order of steps and retractions; NULL when the result does not fit
 *     38 digits.  MIN/MAX and COUNT(DISTINCT) of DECIMAL as of any type.
 *   - COUNT -> BIGINT, 0 over no rows.  SUM keeps the input type (BIGINT or
 *     DOUBLE); AVG too, as Flink's (AVG(BIGINT) is the exact sum divided by
 *     the count, truncated toward zero: AVG of 1 and 2 is 1; cast to DOUBLE
 *     for a fraction); MIN/MAX keep the input type.  SUM, AVG, MIN,
 *     MAX over no (non-NULL) rows are NULL.
 *   - SUM(BIGINT) accumulates exactly in 128 bits, so intermediate overflow
 *     (also under retraction) never matters; if the final sum does not fit
 *     in a BIGINT, tide_agg_result returns TIDE_ERANGE ("SUM(BIGINT)
 *     overflow").  Not promoted, never wrapped silently.
 *   - SUM/AVG(DOUBLE): compensated (Neumaier) summation of the finite
 *     inputs; +inf, -inf and NaN inputs are counted separately so that
 *     retracting them restores the finite sum exactly (+inf with -inf, or any
 *     NaN, gives NaN).  Retraction of finite values is exact only up to
 *     floating-point rounding (~1e-15 relative to the largest magnitude).
 *   - MIN/MAX order: BIGINT/TIMESTAMP numerically, BOOLEAN false < true,
 *     STRING by bytes (memcmp, shorter first), DOUBLE numerically with NaN
 *     greater than everything and -0.0 == 0.0 (MIN/MAX store doubles
 *     canonically: -0.0 comes back as 0.0, any NaN as the one quiet NaN).
 *   - COUNT(DISTINCT x) is exact: a counted hash set of the distinct values
 *     per group (DOUBLE -0.0 and 0.0 are one value; all NaNs are one value).
 *   - APPROX_COUNT_DISTINCT(x): HyperLogLog with p = 14 (m = 16384 one-byte
 *     registers, 16 KiB per group, allocated on the first non-NULL step),
 *     64-bit hash; standard error 1.04/sqrt(m) ~ 0.81%.  Estimator: Ertl's
 *     "improved raw estimator" (2017) over the register histogram; its sigma
 *     term over the empty registers is the small-range correction (it
 *     behaves like linear counting while registers are empty) and, unlike
 *     the classic switch to linear counting at 2.5 m, it has no bias bump
 *     there (the classic form measured +2.5% at n ~ 41k); no large-range
 *     correction is needed with a 64-bit hash.  Mergeable
 *     (register-wise max), not retractable.
 *
 * Invertibility: a->invertible says whether tide_agg_retract works
 * (COUNT, SUM, AVG, COUNT(DISTINCT) always; MIN/MAX only when bound with
 * TIDE_AGG_RETRACTABLE, which selects the counted ordered multiset form: a
 * treap of (value, count), O(log d) per step/retract, exact under any
 * retraction order; APPROX_COUNT_DISTINCT never).  Retracting a value that
 * was never stepped is a caller bug: COUNT-like states then go negative;
 * MIN/MAX and COUNT(DISTINCT) return TIDE_EINVAL.
 *
 * Every aggregate is mergeable: merge(dst, src) folds src into dst (src is
 * unchanged), so partial aggregates (panes, parallel partitions) combine to
 * the one-pass result.
 *
 * Borrowed results: a STRING result points into the state and stays valid
 * until the next step / retract / merge / free of that slot.
 *
 * Adding an aggregate: one line in TIDE_AGG_MAP below plus its functions in
 * agg.c (the registry row binds input types and gives the vtable).
 *
 * Threads: descriptors are immutable after binding and may be shared; a
 * state slot belongs to one thread.
 */
#ifndef TIDE_EXEC_AGG_H
#define TIDE_EXEC_AGG_H

#include "base/buf.h"
#include "base/err.h"
#include "data/types.h"
#include "state/snap.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The registry: kind, SQL name, star (takes `*`), distinct (DISTINCT form). */
// clang-format off
#define TIDE_AGG_MAP(X)                                        \
    X(COUNT_STAR, "COUNT", true, false)                        \
    X(COUNT, "COUNT", false, false)                            \
    X(SUM, "SUM", false, false)                                \
    X(MIN, "MIN", false, false)                                \
    X(MAX, "MAX", false, false)                                \
    X(AVG, "AVG", false, false)                                \
    X(COUNT_DISTINCT, "COUNT", false, true)                    \
    X(APPROX_COUNT_DISTINCT, "APPROX_COUNT_DISTINCT", false, false)

typedef enum tide_agg_kind {
#define TIDE__AGG_ENUM(kind, name, star, distinct) TIDE_AGG_##kind,
    TIDE_AGG_MAP(TIDE__AGG_ENUM)
#undef TIDE__AGG_ENUM
    TIDE_AGG_KIND_COUNT
} tide_agg_kind;
// clang-format on

/* Bind flags. */
enum {
    TIDE_AGG_RETRACTABLE = 1, /* the caller will retract: choose an invertible form */
};

typedef struct tide_agg_vtable tide_agg_vtable; /* private to agg.c */

/* A bound aggregate.  Read the fields; build only with tide_agg_bind. */
typedef struct tide_agg {
    tide_agg_kind kind;
    const char *name;  /* "COUNT", "SUM", ... (for messages) */
    tide_type in_type; /* TIDE_TYPE_NULL for COUNT(*) */
    tide_type out_type;
    size_t state_size; /* bytes of the caller's slot, a multiple of 8 */
    bool invertible;   /* tide_agg_retract is supported */
    bool has_free;     /* may hold out-of-line state: call tide_agg_free */
    unsigned flags;
    const tide_agg_vtable *vt;
} tide_agg;

/* Largest state_size of any aggregate (for callers sizing slots statically). */
#define TIDE_AGG_STATE_MAX 48

/* Bind `name` (case-insensitive, `len` bytes) for input type `in`:
 * star = COUNT(*) (then `in` is ignored), distinct = the DISTINCT form.
 * Errors: TIDE_ENOENT for an unknown function, TIDE_EUNSUPPORTED for a
 * known one that does not take this type / DISTINCT / `*` (the message
 * names function and type, e.g. "SUM(STRING) is not supported"). */
int tide_agg_bind(tide_agg *a, const char *name, size_t len, bool star, bool distinct, tide_type in,
                  unsigned flags, tide_err *e);
/* Bind by kind (no name lookup). */
int tide_agg_bind_kind(tide_agg *a, tide_agg_kind kind, tide_type in, unsigned flags, tide_err *e);

/* The SQL name of a kind ("COUNT" for COUNT, COUNT(*) and COUNT DISTINCT). */
const char *tide_agg_kind_name(tide_agg_kind kind);

void tide_agg_init(const tide_agg *a, void *state);
/* Fold one input in.  NULLs are skipped (counted by COUNT(*)).  A non-NULL
 * value must have type a->in_type (else TIDE_EINVAL).  TIDE_ENOMEM from the
 * out-of-line forms leaves the state as it was. */
int tide_agg_step(const tide_agg *a, void *state, const tide_value *v, tide_err *e);
/* Take one earlier input out (a->invertible only, else TIDE_EUNSUPPORTED). */
int tide_agg_retract(const tide_agg *a, void *state, const tide_value *v, tide_err *e);
/* Typed fast paths for non-NULL BIGINT/TIMESTAMP and DOUBLE inputs (the
 * bound in_type must match; COUNT(*) accepts any). */
/* A hint before tide_agg_step(a, state, v) is called a little later: an
 * aggregate whose step probes a table of its own (COUNT(DISTINCT) of
 * numbers) asks the cache for the slot, so callers stepping many states
 * overlap the misses.  Changes nothing; cheap for every other aggregate. */
void tide_agg_prefetch(const tide_agg *a, const void *state, const tide_value *v);

int tide_agg_step_i64(const tide_agg *a, void *state, int64_t x, tide_err *e);
int tide_agg_step_f64(const tide_agg *a, void *state, double x, tide_err *e);
int tide_agg_retract_i64(const tide_agg *a, void *state, int64_t x, tide_err *e);
int tide_agg_retract_f64(const tide_agg *a, void *state, double x, tide_err *e);
/* dst := dst (+) src.  src is unchanged. */
int tide_agg_merge(const tide_agg *a, void *dst, const void *src, tide_err *e);
/* The current result (type a->out_type, is_null per the SQL rules above).
 * TIDE_ERANGE for SUM(BIGINT) overflow. */
int tide_agg_result(const tide_agg *a, const void *state, tide_value *out, tide_err *e);
/* Release out-of-line state and re-initialise the slot. */
void tide_agg_free(const tide_agg *a, void *state);

/* Checkpoint codec of one state: append a self-delimiting encoding to `out`
 * / rebuild a slot from it (*used gets the bytes consumed).  decode
 * overwrites the slot: it must hold no out-of-line state (freshly
 * initialised or freed).  On error (TIDE_ECORRUPT naming the byte offset,
 * TIDE_ENOMEM) the slot is left initialised.
 * The encoding is canonical: equal states encode to equal bytes (ordered
 * sets are written sorted), so tests may compare encodings. */
int tide_agg_encode(const tide_agg *a, const void *state, tide_buf *out, tide_err *e);
int tide_agg_decode(const tide_agg *a, void *state, const unsigned char *p, size_t n, size_t *used,
                    tide_err *e);

/* The same codec inside an operator's snapshot section (state/snap.h), as
 * the operators' snapshots use it.  tide_agg_snap_put appends the state's
 * encoding to the section `w` is writing (an allocation failure is kept by
 * the writer and reported by tide_snap_end).  tide_agg_snap_get reads one
 * back into a slot holding no out-of-line state (freshly initialised or
 * freed): 0, or TIDE_ENOMEM (with `e`); a malformed state, like any other
 * malformed field, marks the reader failed (tide_snap_close reports it) and
 * leaves the slot initialised.  Every state is exact: a restored slot gives
 * the same results as the original under any further step / retract /
 * merge (SUM's 128-bit or compensated sums and its inf/NaN counts, the
 * distinct sets and their counts, the HLL registers), though out-of-line
 * forms may be laid out differently in memory. */
void tide_agg_snap_put(const tide_agg *a, const void *state, tide_snap_w *w);
int tide_agg_snap_get(const tide_agg *a, void *state, tide_snap_r *r, tide_err *e);

/* ---- what the aggregating operators share ----------------------------------
 *
 * The window, session and group aggregates (exec/winagg.h, exec/sessagg.h,
 * exec/groupagg.h) keep, per group, the states of their aggregates packed
 * in one region (aggregate i's slot at offset off[i]) and, when they emit a
 * changelog, the results they emitted last: to retract them (-U, -D) and to
 * skip a firing that changes nothing.  These functions are that mechanism,
 * once. */

/* One aggregate of an operator's config: its kind, the index of its
 * argument in the pushed values (not used by COUNT(*)), and the argument's
 * type. */
typedef struct tide_agg_call {
    tide_agg_kind kind;
    uint32_t arg;
    tide_type type;
} tide_agg_call;

/* Bind calls[0, n) into aggs[0, n) (flags as tide_agg_bind_kind's) and lay
 * their slots out back to back: off[i] gets slot i's offset, from *size on,
 * and *size grows by each slot's state_size.  0, or the first failed
 * bind's error. */
int tide_agg_bind_calls(const tide_agg_call *calls, size_t n, unsigned flags, tide_agg *aggs,
                        size_t *off, size_t *size, tide_err *e);

/* Whether a result of calls[0, n) borrows its state (MIN or MAX of a
 * STRING): results kept past the next step need a buffer then
 * (tide_agg_results_keep). */
bool tide_agg_calls_borrow(const tide_agg_call *calls, size_t n);

/* The slots of aggs[0, n) in the region at `base`, slot i at base + off[i]:
 * initialise them (never allocates) / release their out-of-line state and
 * initialise them again (tide_agg_free) / compute their results into
 * out[0, n) (0, or the first error, e.g. TIDE_ERANGE; STRING results
 * borrow the slots, as tide_agg_result's).  (These and
 * tide_agg_results_same run per window, session row or key change: inline,
 * as the loops they replaced in the operators were; as calls they cost
 * bench_groupagg ~4% more instructions, measured with callgrind.) */
static inline void tide_agg_slots_init(const tide_agg *aggs, const size_t *off, size_t n,
                                       void *base)
{
    for (size_t i = 0; i < n; i++)
        tide_agg_init(&aggs[i], (unsigned char *)base + off[i]);
}
static inline void tide_agg_slots_reset(const tide_agg *aggs, const size_t *off, size_t n,
                                        void *base)
{
    for (size_t i = 0; i < n; i++) {
        if (aggs[i].has_free)
            tide_agg_free(&aggs[i], (unsigned char *)base + off[i]); /* re-initialises */
        else
            tide_agg_init(&aggs[i], (unsigned char *)base + off[i]);
    }
}
static inline int tide_agg_slots_result(const tide_agg *aggs, const size_t *off, size_t n,
                                        const void *base, tide_value *out, tide_err *e)
{
    for (size_t i = 0; i < n; i++) {
        int rc = tide_agg_result(&aggs[i], (const unsigned char *)base + off[i], &out[i], e);
        if (rc)
            return rc;
    }
    return 0;
}

/* Whether results a[0, n) and b[0, n) are the same: the same types and
 * NULLs and equal values (a DOUBLE bit for bit, a STRING byte for byte). */
static inline bool tide_agg_results_same(const tide_value *a, const tide_value *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (a[i].is_null != b[i].is_null || a[i].type != b[i].type)
            return false;
        if (a[i].is_null)
            continue;
        switch (tide_type_base(a[i].type)) {
        case TIDE_TYPE_DOUBLE:
            if (memcmp(&a[i].u.f64, &b[i].u.f64, sizeof(double)) != 0)
                return false;
            break;
        case TIDE_TYPE_BOOLEAN:
            if (a[i].u.b != b[i].u.b)
                return false;
            break;
        case TIDE_TYPE_DECIMAL:
            if (a[i].u.d != b[i].u.d)
                return false;
            break;
        case TIDE_TYPE_STRING:
            if (a[i].u.s.len != b[i].u.s.len ||
                (a[i].u.s.len && memcmp(a[i].u.s.ptr, b[i].u.s.ptr, a[i].u.s.len) != 0))
                return false;
            break;
        default: /* BIGINT, TIMESTAMP */
            if (a[i].u.i64 != b[i].u.i64)
                return false;
        }
    }
    return true;
}

/* Keep results src[0, n) in prev[0, n), past the slots they borrow from:
 * the bytes of the STRING results are copied into the buffer *buf (*cap
 * bytes, malloc'd and grown here, owned and freed by the caller; one per
 * kept row), which prev's strings then point into, so they stay valid until
 * the next keep into that buffer.  buf NULL: no result is a STRING, a plain
 * copy.  0, or TIDE_ENOMEM with prev and the buffer unchanged. */
int tide_agg_results_keep(tide_value *prev, const tide_value *src, size_t n, char **buf,
                          size_t *cap);

/* Kept results in an operator's snapshot section: put v[0, n) / read them
 * back into out[0, n), each checked to be of its aggregate's out_type (a
 * STRING borrows the reader's buffer: keep it with tide_agg_results_keep).
 * A malformed or mistyped value marks the reader failed (tide_snap_close
 * reports it) and leaves out[0, n) the NULLs of those types. */
void tide_agg_results_snap_put(const tide_value *v, size_t n, tide_snap_w *w);
void tide_agg_results_snap_get(const tide_agg *aggs, size_t n, tide_snap_r *r, tide_value *out);

/* A call's fingerprint in a snapshot section (its kind, argument and
 * argument type; COUNT(*)'s as argument 0 of type NULL) / read one back and
 * check it is call `i`, `c`: 0; TIDE_EINVAL "<who>: the snapshot is of
 * another config: aggregate i is ..." naming both; a malformed section
 * gives tide_snap_close's error. */
void tide_agg_call_snap_put(const tide_agg_call *c, tide_snap_w *w);
int tide_agg_call_snap_check(const tide_agg_call *c, size_t i, const char *who, tide_snap_r *r,
                             tide_err *e);

#endif
