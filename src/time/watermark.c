/*
 * watermark.c - watermark generator and combiner (see watermark.h).
 *
 * The combiner keeps, per input, the highest watermark it reported, the
 * processing time of its last data and whether it ended.  Its output is
 *     combined = max(previous combined, min over active inputs)
 * where "active" means not ended and not idle.  Ended inputs count as
 * +infinity; when every input ended the output is +infinity.  When every
 * remaining input is idle, none holds the output back: it goes to the max
 * of their watermarks (Flink's StatusWatermarkValve does the same), and
 * the quiet policy, if enabled, advances it further with processing time.
 */
#include "time/watermark.h"

#include "state/snap.h"

#include <stdlib.h>

int64_t tide_wm_sat_add(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r))
        return b > 0 ? TIDE_TS_MAX : TIDE_TS_MIN;
    return r;
}

int64_t tide_wm_sat_sub(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_sub_overflow(a, b, &r))
        return b < 0 ? TIDE_TS_MAX : TIDE_TS_MIN;
    return r;
}

void tide_wm_gen_init(tide_wm_gen *g, int64_t bound, int64_t future_bound)
{
    g->bound = bound < 0 ? 0 : bound;
    g->future_bound = future_bound;
    g->max_ts = TIDE_TS_MIN;
    g->wm = TIDE_TS_MIN;
    g->ended = false;
}

bool tide_wm_too_far_future(int64_t ts, int64_t proc_now, int64_t bound)
{
    return ts > tide_wm_sat_add(proc_now, bound);
}

bool tide_wm_gen_accept(tide_wm_gen *g, int64_t ts, int64_t proc_now)
{
    if (g->future_bound >= 0 && tide_wm_too_far_future(ts, proc_now, g->future_bound))
        return false;
    if (ts > g->max_ts) {
        g->max_ts = ts;
        int64_t w = tide_wm_sat_sub(ts, g->bound);
        /* TS_MIN means "no watermark"; a real one starts just above it. */
        if (w > g->wm && !g->ended)
            g->wm = w;
    }
    return true;
}

void tide_wm_gen_end(tide_wm_gen *g)
{
    g->ended = true;
    g->wm = TIDE_TS_MAX;
}

/* ---- combiner ----------------------------------------------------------- */

typedef struct wm_input {
    int64_t wm;        /* highest reported, TIDE_TS_MIN if none */
    int64_t last_data; /* processing time of the last data (or of creation) */
    bool ended;
} wm_input;

struct tide_wm_comb {
    size_t n;
    int64_t idle_timeout;  /* <= 0: never idle */
    int64_t quiet_timeout; /* <= 0: off */
    int64_t now;           /* latest processing time seen (monotone) */
    int64_t combined;
    int64_t t_last;        /* processing time of the last data on any input */
    int64_t w_last;        /* combined right after that data */
    wm_input in[];
};

int tide_wm_comb_create(size_t n_inputs, int64_t idle_timeout, int64_t proc_now,
                        tide_wm_comb **out, tide_err *e)
{
    *out = NULL;
    if (n_inputs == 0 || n_inputs > (SIZE_MAX - sizeof(tide_wm_comb)) / sizeof(wm_input))
        return tide_err_set(e, TIDE_EINVAL, "watermark combiner: bad input count %zu", n_inputs);
    tide_wm_comb *c = malloc(sizeof *c + n_inputs * sizeof(wm_input));
    if (!c)
        return tide_err_set(e, TIDE_ENOMEM, "watermark combiner: %zu inputs", n_inputs);
    c->n = n_inputs;
    c->idle_timeout = idle_timeout;
    c->quiet_timeout = 0;
    c->now = proc_now;
    c->combined = TIDE_TS_MIN;
    c->t_last = proc_now;
    c->w_last = TIDE_TS_MIN;
    for (size_t i = 0; i < n_inputs; i++)
        c->in[i] = (wm_input){.wm = TIDE_TS_MIN, .last_data = proc_now, .ended = false};
    *out = c;
    return 0;
}

void tide_wm_comb_free(tide_wm_comb *c) { free(c); }

void tide_wm_comb_set_quiet_advance(tide_wm_comb *c, int64_t quiet_timeout)
{
    c->quiet_timeout = quiet_timeout;
}

static bool input_idle(const tide_wm_comb *c, const wm_input *in)
{
    return !in->ended && c->idle_timeout > 0 &&
           tide_wm_sat_sub(c->now, in->last_data) >= c->idle_timeout;
}

static void set_now(tide_wm_comb *c, int64_t proc_now)
{
    if (proc_now > c->now)
        c->now = proc_now;
}

static void recompute(tide_wm_comb *c)
{
    bool all_ended = true, any_active = false;
    int64_t m = TIDE_TS_MAX;
    for (size_t i = 0; i < c->n; i++) {
        const wm_input *in = &c->in[i];
        if (in->ended)
            continue;
        all_ended = false;
        if (input_idle(c, in))
            continue;
        any_active = true;
        if (in->wm < m)
            m = in->wm;
    }
    if (all_ended) {
        c->combined = TIDE_TS_MAX;
        return;
    }
    if (!any_active) {
        /* Every remaining input is idle: none holds the output back, so it
         * may go to the highest of their watermarks (as Flink's valve does
         * when its last active channel turns idle). */
        m = TIDE_TS_MIN;
        for (size_t i = 0; i < c->n; i++)
            if (!c->in[i].ended && c->in[i].wm > m)
                m = c->in[i].wm;
    }
    if (m > c->combined)
        c->combined = m;
    if (c->quiet_timeout > 0 && c->w_last > TIDE_TS_MIN) {
        int64_t quiet = tide_wm_sat_sub(c->now, c->t_last);
        if (quiet >= c->quiet_timeout) {
            int64_t w = tide_wm_sat_add(c->w_last, quiet);
            if (w == TIDE_TS_MAX) /* +infinity only means "ended" */
                w = TIDE_TS_MAX - 1;
            if (w > c->combined)
                c->combined = w;
        }
    }
}

int64_t tide_wm_comb_update(tide_wm_comb *c, size_t i, int64_t wm, int64_t proc_now)
{
    if (i >= c->n || c->in[i].ended)
        return c->combined;
    set_now(c, proc_now);
    wm_input *in = &c->in[i];
    if (wm > in->wm)
        in->wm = wm;
    in->last_data = c->now;
    c->t_last = c->now;
    recompute(c);
    c->w_last = c->combined;
    return c->combined;
}

int64_t tide_wm_comb_end(tide_wm_comb *c, size_t i, int64_t proc_now)
{
    if (i < c->n) {
        set_now(c, proc_now);
        c->in[i].ended = true;
        c->in[i].wm = TIDE_TS_MAX;
        recompute(c);
    }
    return c->combined;
}

int64_t tide_wm_comb_tick(tide_wm_comb *c, int64_t proc_now)
{
    set_now(c, proc_now);
    recompute(c);
    return c->combined;
}

int64_t tide_wm_comb_current(const tide_wm_comb *c) { return c->combined; }

bool tide_wm_comb_input_idle(const tide_wm_comb *c, size_t i)
{
    return i < c->n && input_idle(c, &c->in[i]);
}

bool tide_wm_comb_all_idle(const tide_wm_comb *c)
{
    bool any = false;
    for (size_t i = 0; i < c->n; i++) {
        if (c->in[i].ended)
            continue;
        if (!input_idle(c, &c->in[i]))
            return false;
        any = true;
    }
    return any;
}

/* ---- checkpoints (see watermark.h) ----------------------------------------- */

#define GEN_SNAP_KIND "wm_gen"
#define COMB_SNAP_KIND "wm_comb"
#define WM_SNAP_VERSION 1

/* A config field of the snapshot against the target's: TIDE_EINVAL naming
 * both when they differ (*rc keeps the first). */
static void snap_same(int *rc, const char *what, const char *field, int64_t snap, int64_t here,
                      tide_err *e)
{
    if (!*rc && snap != here)
        *rc = tide_err_set(e, TIDE_EINVAL,
                           "snapshot of %s: taken with %s %lld, this one has %lld", what, field,
                           (long long)snap, (long long)here);
}

int tide_wm_gen_snapshot(const tide_wm_gen *g, tide_buf *out, tide_err *e)
{
    tide_snap_w w;
    tide_snap_begin(&w, out, GEN_SNAP_KIND, WM_SNAP_VERSION);
    tide_snap_put_i64(&w, g->bound);
    tide_snap_put_i64(&w, g->future_bound);
    tide_snap_put_i64(&w, g->max_ts);
    tide_snap_put_i64(&w, g->wm);
    tide_snap_put_bool(&w, g->ended);
    return tide_snap_end(&w, e);
}

int tide_wm_gen_restore(tide_wm_gen *g, const void *buf, size_t len, tide_err *e)
{
    tide_snap_r r;
    int rc = tide_snap_open(&r, buf, len, GEN_SNAP_KIND, WM_SNAP_VERSION, NULL, e);
    if (rc)
        return rc;
    int64_t bound = tide_snap_get_i64(&r), future = tide_snap_get_i64(&r);
    int64_t max_ts = tide_snap_get_i64(&r), wm = tide_snap_get_i64(&r);
    bool ended = tide_snap_get_bool(&r);
    if ((rc = tide_snap_close(&r, e)))
        return rc;
    snap_same(&rc, GEN_SNAP_KIND, "bound", bound, g->bound, e);
    snap_same(&rc, GEN_SNAP_KIND, "future bound", future, g->future_bound, e);
    if (rc)
        return rc;
    g->max_ts = max_ts;
    g->wm = wm;
    g->ended = ended;
    return 0;
}

int tide_wm_comb_snapshot(const tide_wm_comb *c, tide_buf *out, tide_err *e)
{
    tide_snap_w w;
    tide_snap_begin(&w, out, COMB_SNAP_KIND, WM_SNAP_VERSION);
    tide_snap_put_u64(&w, c->n);
    tide_snap_put_i64(&w, c->idle_timeout);
    tide_snap_put_i64(&w, c->quiet_timeout);
    tide_snap_put_i64(&w, c->now);
    tide_snap_put_i64(&w, c->combined);
    tide_snap_put_i64(&w, c->t_last);
    tide_snap_put_i64(&w, c->w_last);
    for (size_t i = 0; i < c->n; i++) {
        tide_snap_put_i64(&w, c->in[i].wm);
        tide_snap_put_i64(&w, c->in[i].last_data);
        tide_snap_put_bool(&w, c->in[i].ended);
    }
    return tide_snap_end(&w, e);
}

int tide_wm_comb_restore(tide_wm_comb *c, const void *buf, size_t len, tide_err *e)
{
    tide_snap_r r;
    int rc = tide_snap_open(&r, buf, len, COMB_SNAP_KIND, WM_SNAP_VERSION, NULL, e);
    if (rc)
        return rc;
    uint64_t n = tide_snap_get_u64(&r);
    int64_t idle = tide_snap_get_i64(&r), quiet = tide_snap_get_i64(&r);
    if (tide_snap_failed(&r))
        return tide_snap_close(&r, e); /* too short for the config: damage, not a mismatch */
    /* the config first: the inputs are only read into a combiner of as many */
    snap_same(&rc, COMB_SNAP_KIND, "input count", (int64_t)n, (int64_t)c->n, e);
    snap_same(&rc, COMB_SNAP_KIND, "idle timeout", idle, c->idle_timeout, e);
    snap_same(&rc, COMB_SNAP_KIND, "quiet timeout", quiet, c->quiet_timeout, e);
    if (rc)
        return rc;
    int64_t now = tide_snap_get_i64(&r), combined = tide_snap_get_i64(&r);
    int64_t t_last = tide_snap_get_i64(&r), w_last = tide_snap_get_i64(&r);
    /* a first pass over the inputs on a copy of the reader: a damaged tail
     * is refused before the combiner changes */
    tide_snap_r pass = r;
    for (size_t i = 0; i < c->n && !tide_snap_failed(&pass); i++) {
        tide_snap_get_i64(&pass);
        tide_snap_get_i64(&pass);
        tide_snap_get_bool(&pass);
    }
    if ((rc = tide_snap_close(&pass, e)))
        return rc;
    for (size_t i = 0; i < c->n; i++) {
        c->in[i].wm = tide_snap_get_i64(&r);
        c->in[i].last_data = tide_snap_get_i64(&r);
        c->in[i].ended = tide_snap_get_bool(&r);
    }
    c->now = now;
    c->combined = combined;
    c->t_last = t_last;
    c->w_last = w_last;
    return 0;
}
