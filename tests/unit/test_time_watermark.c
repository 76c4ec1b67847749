/* Unit tests of time/watermark.h: the bounded out-of-orderness generator, the
 * future check, the combiner (min, idleness, no regression, end of input)
 * and the quiet-advance policy, all driven by a fake processing clock. */
#include "snap_tt.h"
#include "time/watermark.h"
#include "tt.h"

static void test_generator_bound(void)
{
    tide_wm_gen g;
    tide_wm_gen_init(&g, 5, -1);
    TT_ASSERT_EQ_INT(tide_wm_gen_current(&g), TIDE_TS_MIN);
    TT_ASSERT(tide_wm_gen_accept(&g, 100, 0));
    TT_ASSERT_EQ_INT(tide_wm_gen_current(&g), 95);
    /* 95 is on time (ts >= W), 94 is late */
    TT_ASSERT(tide_wm_on_time(95, tide_wm_gen_current(&g)));
    TT_ASSERT(!tide_wm_on_time(94, tide_wm_gen_current(&g)));
    TT_ASSERT(tide_wm_gen_accept(&g, 90, 0)); /* older: W does not move back */
    TT_ASSERT_EQ_INT(tide_wm_gen_current(&g), 95);
    TT_ASSERT(tide_wm_gen_accept(&g, 110, 0));
    TT_ASSERT_EQ_INT(tide_wm_gen_current(&g), 105);
    /* a window [100, 105) fires at W >= 105: Flink emits 104 and fires at 104 >= 105 - 1 */
    tide_wm_gen_end(&g);
    TT_ASSERT_EQ_INT(tide_wm_gen_current(&g), TIDE_TS_MAX);
    /* saturation at the bottom */
    tide_wm_gen_init(&g, 10, -1);
    TT_ASSERT(tide_wm_gen_accept(&g, TIDE_TS_MIN + 3, 0));
    TT_ASSERT_EQ_INT(tide_wm_gen_current(&g), TIDE_TS_MIN);
}

static void test_generator_random_matches_model(void)
{
    uint64_t seed = tt_seed(7);
    for (int run = 0; run < 200; run++) {
        uint64_t s0 = seed;
        int64_t b = (int64_t)(tt_rand(&seed) % 50);
        tide_wm_gen g;
        tide_wm_gen_init(&g, b, -1);
        int64_t mx = TIDE_TS_MIN, prev = TIDE_TS_MIN;
        for (int i = 0; i < 100; i++) {
            int64_t ts = (int64_t)(tt_rand(&seed) % 1000) - 500;
            TT_ASSERT(tide_wm_gen_accept(&g, ts, 0));
            if (ts > mx)
                mx = ts;
            int64_t w = tide_wm_gen_current(&g);
            if (w != mx - b || w < prev)
                TT_SEED(s0);
            TT_ASSERT_EQ_INT(w, mx - b);
            prev = w;
        }
    }
}

static void test_future_records(void)
{
    tide_wm_gen g;
    tide_wm_gen_init(&g, 0, 1000);
    TT_ASSERT(tide_wm_too_far_future(5001, 4000, 1000));
    TT_ASSERT(!tide_wm_too_far_future(5000, 4000, 1000));
    TT_ASSERT(!tide_wm_too_far_future(TIDE_TS_MAX, TIDE_TS_MAX - 1, 1000)); /* saturates */
    TT_ASSERT(tide_wm_gen_accept(&g, 4500, 4000));
    TT_ASSERT_EQ_INT(tide_wm_gen_current(&g), 4500);
    /* implausible: rejected, and W does not move */
    TT_ASSERT(!tide_wm_gen_accept(&g, 999999, 4000));
    TT_ASSERT_EQ_INT(tide_wm_gen_current(&g), 4500);
    TT_ASSERT(tide_wm_gen_accept(&g, 4900, 4000));
    TT_ASSERT_EQ_INT(tide_wm_gen_current(&g), 4900);
}

static void test_combiner_min_and_end(void)
{
    tide_wm_comb *c;
    TT_OK(tide_wm_comb_create(3, 0, 0, &c, NULL));
    TT_ASSERT_EQ_INT(tide_wm_comb_current(c), TIDE_TS_MIN);
    TT_ASSERT_EQ_INT(tide_wm_comb_update(c, 0, 100, 1), TIDE_TS_MIN); /* others have none */
    TT_ASSERT_EQ_INT(tide_wm_comb_update(c, 1, 50, 2), TIDE_TS_MIN);
    TT_ASSERT_EQ_INT(tide_wm_comb_update(c, 2, 70, 3), 50);
    TT_ASSERT_EQ_INT(tide_wm_comb_update(c, 1, 200, 4), 70);
    TT_ASSERT_EQ_INT(tide_wm_comb_update(c, 1, 10, 5), 70); /* lower report ignored */
    TT_ASSERT_EQ_INT(tide_wm_comb_end(c, 2, 6), 100);       /* ended = +infinity */
    TT_ASSERT_EQ_INT(tide_wm_comb_end(c, 0, 7), 200);
    TT_ASSERT_EQ_INT(tide_wm_comb_end(c, 1, 8), TIDE_TS_MAX);
    TT_ASSERT_EQ_INT(tide_wm_comb_tick(c, 1000000), TIDE_TS_MAX);
    tide_wm_comb_free(c);
    tide_wm_comb_free(NULL);
    TT_ASSERT_EQ_INT(tide_wm_comb_create(0, 0, 0, &c, NULL), TIDE_EINVAL);
}

static void test_combiner_idleness(void)
{
    tide_wm_comb *c;
    int64_t now = 1000;
    TT_OK(tide_wm_comb_create(2, 100, now, &c, NULL));
    TT_ASSERT_EQ_INT(tide_wm_comb_update(c, 0, 500, now), TIDE_TS_MIN);
    /* input 1 never sends; after the idle timeout it stops holding input 0 back */
    TT_ASSERT_EQ_INT(tide_wm_comb_tick(c, now + 99), TIDE_TS_MIN);
    TT_ASSERT(!tide_wm_comb_input_idle(c, 1));
    /* at +100 both inputs are idle (input 0 was last heard at `now`): none
     * holds the output back, it goes to the max of theirs */
    TT_ASSERT_EQ_INT(tide_wm_comb_tick(c, now + 100), 500);
    TT_ASSERT(tide_wm_comb_all_idle(c));
    now += 150;
    TT_ASSERT_EQ_INT(tide_wm_comb_update(c, 0, 600, now), 600); /* 1 idle, 0 active */
    TT_ASSERT(tide_wm_comb_input_idle(c, 1));
    TT_ASSERT(!tide_wm_comb_all_idle(c));
    TT_ASSERT_EQ_INT(tide_wm_comb_update(c, 0, 700, now + 10), 700);
    /* input 1 rejoins behind: the combined watermark does not regress ... */
    TT_ASSERT_EQ_INT(tide_wm_comb_update(c, 1, 300, now + 20), 700);
    TT_ASSERT(!tide_wm_comb_input_idle(c, 1));
    /* ... and holds until input 1 catches up */
    TT_ASSERT_EQ_INT(tide_wm_comb_update(c, 0, 900, now + 30), 700);
    TT_ASSERT_EQ_INT(tide_wm_comb_update(c, 1, 800, now + 40), 800);
    TT_ASSERT_EQ_INT(tide_wm_comb_update(c, 1, 1000, now + 50), 900);
    /* input 0 goes quiet: after the timeout input 1 alone drives */
    TT_ASSERT_EQ_INT(tide_wm_comb_update(c, 1, 1200, now + 129), 900);
    TT_ASSERT_EQ_INT(tide_wm_comb_update(c, 1, 1300, now + 131), 1300);
    tide_wm_comb_free(c);
}

/* Random operations: the combined watermark never regresses, equals the
 * running max of the min over inputs when nothing is idle, and is +infinity
 * once all ended. */
static void test_combiner_random_invariants(void)
{
    uint64_t seed = tt_seed(99);
    for (int run = 0; run < 300; run++) {
        uint64_t s0 = seed;
        size_t n = 1 + tt_rand(&seed) % 4;
        bool use_idle = tt_rand(&seed) % 2;
        tide_wm_comb *c;
        TT_OK(tide_wm_comb_create(n, use_idle ? 50 : 0, 0, &c, NULL));
        int64_t wm[4], model = TIDE_TS_MIN, prev = TIDE_TS_MIN, now = 0;
        bool ended[4] = {0};
        for (size_t i = 0; i < n; i++)
            wm[i] = TIDE_TS_MIN;
        for (int step = 0; step < 200; step++) {
            size_t i = tt_rand(&seed) % n;
            now += (int64_t)(tt_rand(&seed) % 30);
            int64_t got;
            if (tt_rand(&seed) % 40 == 0) {
                got = tide_wm_comb_end(c, i, now);
                ended[i] = true;
                wm[i] = TIDE_TS_MAX;
            } else if (!ended[i]) {
                int64_t w = (int64_t)(tt_rand(&seed) % 1000);
                got = tide_wm_comb_update(c, i, w, now);
                if (w > wm[i])
                    wm[i] = w;
            } else {
                got = tide_wm_comb_tick(c, now);
            }
            int64_t mn = TIDE_TS_MAX;
            bool all_ended = true;
            for (size_t k = 0; k < n; k++) {
                if (wm[k] < mn)
                    mn = wm[k];
                all_ended &= ended[k];
            }
            if (mn > model)
                model = mn;
            if (got < prev)
                TT_SEED(s0);
            TT_ASSERT_MSG(got >= prev, "regressed %lld -> %lld", (long long)prev, (long long)got);
            if (!use_idle) {
                if (got != model)
                    TT_SEED(s0);
                TT_ASSERT_EQ_INT(got, model);
            } else {
                TT_ASSERT(got >= model); /* idleness only lets it go faster */
            }
            if (all_ended)
                TT_ASSERT_EQ_INT(got, TIDE_TS_MAX);
            prev = got;
        }
        tide_wm_comb_free(c);
    }
}

static void test_quiet_advance(void)
{
    tide_wm_comb *c;
    int64_t now = 0;
    TT_OK(tide_wm_comb_create(2, 1000, now, &c, NULL));
    tide_wm_comb_set_quiet_advance(c, 5000);
    /* no watermark yet: quiet time alone does nothing */
    TT_ASSERT_EQ_INT(tide_wm_comb_tick(c, 100000), TIDE_TS_MIN);
    now = 100000;
    TT_ASSERT_EQ_INT(tide_wm_comb_update(c, 0, 86395000, now), 86395000); /* 1 is idle */
    TT_ASSERT_EQ_INT(tide_wm_comb_update(c, 1, 86390000, now), 86395000);
    TT_ASSERT_EQ_INT(tide_wm_comb_update(c, 1, 86396000, now + 5), 86395000);
    TT_ASSERT_EQ_INT(tide_wm_comb_update(c, 0, 86397000, now + 10), 86396000);
    /* nobody sends after "midnight": after the idle timeout both inputs are
     * idle (W = max of theirs), then within the quiet timeout W holds */
    TT_ASSERT_EQ_INT(tide_wm_comb_tick(c, now + 10 + 1000), 86397000);
    TT_ASSERT_EQ_INT(tide_wm_comb_tick(c, now + 10 + 4999), 86397000);
    /* at the timeout it jumps by the elapsed processing time ... */
    TT_ASSERT_EQ_INT(tide_wm_comb_tick(c, now + 10 + 5000), 86396000 + 5000);
    /* ... and follows the clock: the day window [0, 86400000) closes */
    TT_ASSERT_EQ_INT(tide_wm_comb_tick(c, now + 10 + 6000), 86402000);
    TT_ASSERT(tide_wm_comb_current(c) >= 86400000);
    /* data again: no regression; the clock restarts from the new data */
    TT_ASSERT_EQ_INT(tide_wm_comb_update(c, 0, 86401000, now + 10 + 7000), 86402000);
    TT_ASSERT_EQ_INT(tide_wm_comb_tick(c, now + 10 + 7000 + 4000), 86402000);
    TT_ASSERT_EQ_INT(tide_wm_comb_tick(c, now + 10 + 7000 + 5000), 86402000 + 5000);
    tide_wm_comb_free(c);
}

/* ---- snapshot / restore ------------------------------------------------------
 *
 * The generator and the combiner, cut anywhere by a snapshot and a restore
 * into a fresh one: every watermark (and idleness) they report afterwards
 * is the uninterrupted run's. */

/* A generator's run: accepts (some too far in the future), an end; the
 * watermark after each call goes to the log. */
static const char *gen_drive(uint64_t seed, const int *cuts, int ncuts, bool do_cut, tide_buf *log)
{
    uint64_t s = seed;
    int64_t bound = (int64_t)(tt_rand(&s) % 50), future = tt_rand(&s) % 2 ? -1 : 300;
    tide_wm_gen g;
    tide_wm_gen_init(&g, bound, future);
    int ci = 0, n = 200;
    for (int i = 0; i <= n; i++) {
        for (; ci < ncuts && cuts[ci] == i; ci++) {
            if (!do_cut)
                continue;
            tide_buf a = {0}, b = {0};
            tide_wm_gen fresh;
            tide_wm_gen_init(&fresh, bound, future);
            const char *why = NULL;
            if (tide_wm_gen_snapshot(&g, &a, NULL) || tide_wm_gen_restore(&fresh, a.data, a.len, NULL) ||
                tide_wm_gen_snapshot(&fresh, &b, NULL))
                why = "snapshot / restore failed";
            else if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
                why = "the restored generator snapshots to other bytes";
            g = fresh;
            memset(&fresh, 0xee, sizeof fresh); /* the copy alone carries on */
            tide_buf_free(&a);
            tide_buf_free(&b);
            if (why)
                return why;
        }
        if (i == n)
            break;
        int64_t now = 1000 + i * 3;
        if (tt_rand(&s) % 97 == 0)
            tide_wm_gen_end(&g);
        else
            slog_i64(log, tide_wm_gen_accept(&g, now - 200 + (int64_t)(tt_rand(&s) % 600), now));
        slog_i64(log, tide_wm_gen_current(&g));
    }
    return NULL;
}

/* A combiner's run: updates, ends and ticks over a fake clock, idleness and
 * the quiet policy on or off; after each call the combined watermark and
 * every input's idleness go to the log. */
static const char *comb_drive(uint64_t seed, const int *cuts, int ncuts, bool do_cut, tide_buf *log)
{
    uint64_t s = seed;
    size_t n = 1 + tt_rand(&s) % 4;
    int64_t idle = tt_rand(&s) % 2 ? 0 : 20 + (int64_t)(tt_rand(&s) % 60);
    int64_t quiet = tt_rand(&s) % 2 ? 0 : 30 + (int64_t)(tt_rand(&s) % 100);
    int64_t now = 0;
    tide_wm_comb *c;
    if (tide_wm_comb_create(n, idle, now, &c, NULL))
        return "create failed";
    tide_wm_comb_set_quiet_advance(c, quiet);
    const char *why = NULL;
    int ci = 0, steps = 300;
    for (int k = 0; k <= steps && !why; k++) {
        for (; ci < ncuts && cuts[ci] == k && !why; ci++) {
            if (!do_cut)
                continue;
            tide_buf a = {0}, b = {0};
            tide_wm_comb *fresh = NULL;
            if (tide_wm_comb_create(n, idle, -12345, &fresh, NULL))
                why = "create failed";
            else
                tide_wm_comb_set_quiet_advance(fresh, quiet);
            if (!why && (tide_wm_comb_snapshot(c, &a, NULL) ||
                         tide_wm_comb_restore(fresh, a.data, a.len, NULL) ||
                         tide_wm_comb_snapshot(fresh, &b, NULL)))
                why = "snapshot / restore failed";
            else if (!why && (a.len != b.len || memcmp(a.data, b.data, a.len) != 0))
                why = "the restored combiner snapshots to other bytes";
            if (!why) {
                tide_wm_comb_free(c);
                c = fresh;
            } else {
                tide_wm_comb_free(fresh);
            }
            tide_buf_free(&a);
            tide_buf_free(&b);
        }
        if (why || k == steps)
            break;
        size_t i = tt_rand(&s) % n;
        now += (int64_t)(tt_rand(&s) % 40);
        uint64_t what = tt_rand(&s) % 50;
        int64_t got;
        if (what == 0)
            got = tide_wm_comb_end(c, i, now);
        else if (what < 15)
            got = tide_wm_comb_tick(c, now);
        else
            got = tide_wm_comb_update(c, i, (int64_t)(tt_rand(&s) % 2000), now);
        slog_i64(log, got);
        for (size_t j = 0; j < n; j++)
            slog_i64(log, tide_wm_comb_input_idle(c, j));
        slog_i64(log, tide_wm_comb_all_idle(c));
    }
    tide_wm_comb_free(c);
    return why;
}

static int wcmp_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

static void test_snapshot_cut_anywhere(void)
{
    int count = 400;
    uint64_t first = snap_tt_seeds(1, &count);
    for (int iter = 0; iter < count; iter++) {
        uint64_t seed = first + (uint64_t)iter, s = seed * 31 + 7;
        for (int which = 0; which < 2; which++) {
            int cuts[5], ncuts = 1 + (int)(tt_rand(&s) % 5);
            for (int i = 0; i < ncuts; i++)
                cuts[i] = (int)(tt_rand(&s) % (which ? 301 : 201));
            qsort(cuts, (size_t)ncuts, sizeof *cuts, wcmp_int);
            tide_buf whole = {0}, cut = {0};
            const char *why = which ? comb_drive(seed, cuts, ncuts, false, &whole)
                                    : gen_drive(seed, cuts, ncuts, false, &whole);
            if (!why)
                why = which ? comb_drive(seed, cuts, ncuts, true, &cut)
                            : gen_drive(seed, cuts, ncuts, true, &cut);
            long at = why ? -1 : slog_diff(&whole, &cut);
            if (why || at >= 0)
                SNAP_TT_FAILED(seed, "%s: %s; differs at byte %ld", which ? "combiner" : "generator",
                               why ? why : "ok", at);
            tide_buf_free(&whole);
            tide_buf_free(&cut);
            TT_ASSERT(!why && at < 0);
        }
    }
}

static int gen_restore_fn(void *ctx, const void *buf, size_t len, tide_err *e)
{
    tide_wm_gen *g = ctx, before = *g;
    int rc = tide_wm_gen_restore(g, buf, len, e);
    if (rc && memcmp(&before, g, sizeof before) != 0)
        return TIDE_EFAILED; /* a refused restore changed the generator */
    *g = before;
    return rc;
}

static int comb_restore_fn(void *ctx, const void *buf, size_t len, tide_err *e)
{
    tide_wm_comb *c = ctx;
    tide_buf before = {0}, after = {0};
    tide_wm_comb_snapshot(c, &before, NULL);
    int rc = tide_wm_comb_restore(c, buf, len, e);
    tide_wm_comb_snapshot(c, &after, NULL);
    if (rc && (before.len != after.len || memcmp(before.data, after.data, before.len) != 0))
        rc = TIDE_EFAILED; /* a refused restore changed the combiner */
    tide_buf_free(&before);
    tide_buf_free(&after);
    return rc;
}

/* Damage (every byte, every truncation) refused and leaves the target as it
 * was; another config or kind refused with a message naming it. */
static void test_snapshot_refusals(void)
{
    tide_wm_gen g, h;
    tide_wm_gen_init(&g, 10, 500);
    TT_ASSERT(tide_wm_gen_accept(&g, 1234, 1000));
    tide_buf a = {0}, b = {0};
    TT_OK(tide_wm_gen_snapshot(&g, &a, NULL));
    tide_wm_gen_init(&h, 10, 500);
    size_t where = 0;
    const char *why = snap_tt_damage(a.data, a.len, 1000, 1, gen_restore_fn, &h, &where);
    TT_ASSERT_MSG(why == NULL, "%s at byte %zu", why, where);
    tide_err e = {0};
    tide_wm_gen_init(&h, 11, 500);
    TT_ASSERT_EQ_INT(tide_wm_gen_restore(&h, a.data, a.len, &e), TIDE_EINVAL);
    TT_ASSERT(strstr(e.msg, "bound 10") && strstr(e.msg, "11"));
    tide_wm_gen_init(&h, 10, -1);
    tide_err_clear(&e);
    TT_ASSERT_EQ_INT(tide_wm_gen_restore(&h, a.data, a.len, &e), TIDE_EINVAL);
    TT_ASSERT(strstr(e.msg, "future bound") != NULL);
    tide_wm_gen_init(&h, 10, 500);
    TT_OK(tide_wm_gen_restore(&h, a.data, a.len, &e));
    TT_ASSERT_EQ_INT(tide_wm_gen_current(&h), 1224);

    tide_wm_comb *c, *d;
    TT_OK(tide_wm_comb_create(3, 100, 0, &c, NULL));
    tide_wm_comb_set_quiet_advance(c, 250);
    tide_wm_comb_update(c, 1, 77, 10);
    tide_wm_comb_end(c, 2, 20);
    TT_OK(tide_wm_comb_snapshot(c, &b, NULL));
    TT_OK(tide_wm_comb_create(3, 100, 5, &d, NULL));
    tide_wm_comb_set_quiet_advance(d, 250);
    why = snap_tt_damage(b.data, b.len, 200, 2, comb_restore_fn, d, &where);
    TT_ASSERT_MSG(why == NULL, "%s at byte %zu", why, where);
    /* a generator's snapshot is not a combiner's */
    tide_err_clear(&e);
    TT_ASSERT_EQ_INT(tide_wm_comb_restore(d, a.data, a.len, &e), TIDE_ECORRUPT);
    TT_ASSERT(strstr(e.msg, "wm_gen") != NULL);
    tide_err_clear(&e);
    TT_ASSERT_EQ_INT(tide_wm_gen_restore(&h, b.data, b.len, &e), TIDE_ECORRUPT);
    TT_OK(tide_wm_comb_restore(d, b.data, b.len, &e));
    TT_ASSERT_EQ_INT(tide_wm_comb_current(d), tide_wm_comb_current(c));
    tide_wm_comb_free(d);
    static const struct {
        size_t n;
        int64_t idle, quiet;
        const char *field;
    } other[3] = {{2, 100, 250, "input count"}, {3, 0, 250, "idle timeout"},
                  {3, 100, 0, "quiet timeout"}};
    for (int i = 0; i < 3; i++) {
        TT_OK(tide_wm_comb_create(other[i].n, other[i].idle, 0, &d, NULL));
        tide_wm_comb_set_quiet_advance(d, other[i].quiet);
        tide_err_clear(&e);
        TT_ASSERT_EQ_INT(tide_wm_comb_restore(d, b.data, b.len, &e), TIDE_EINVAL);
        TT_ASSERT_MSG(strstr(e.msg, other[i].field) != NULL, "%s", e.msg);
        tide_wm_comb_free(d);
    }
    tide_wm_comb_free(c);
    tide_buf_free(&a);
    tide_buf_free(&b);
}

int main(void)
{
    TT_RUN(test_generator_bound);
    TT_RUN(test_generator_random_matches_model);
    TT_RUN(test_future_records);
    TT_RUN(test_combiner_min_and_end);
    TT_RUN(test_combiner_idleness);
    TT_RUN(test_combiner_random_invariants);
    TT_RUN(test_quiet_advance);
    TT_RUN(test_snapshot_cut_anywhere);
    TT_RUN(test_snapshot_refusals);
    TT_DONE();
}
