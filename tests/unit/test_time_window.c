/* Unit tests of time/window.h: the assigners against a brute-force scan of
 * candidate windows, negative timestamps, and the ends of the int64 range. */
#include "data/types.h"
#include "time/window.h"
#include "tt.h"

/* Brute force: every window of the spec that contains ts, found by scanning
 * window starts near ts one by one (no floor division).  `off` is the
 * offset as written (any sign, any size): a window start is off plus a
 * multiple of the alignment (Flink's getWindowStartWithOffset). */
static size_t brute_windows(const tide_win_spec *s, int64_t off, int64_t ts, tide_win_range *out)
{
    size_t n = 0;
    switch (s->kind) {
    case TIDE_WIN_TUMBLE:
    case TIDE_WIN_HOP: {
        int64_t slide = s->kind == TIDE_WIN_TUMBLE ? s->size : s->slide;
        /* candidate starts: multiples of slide in [ts - size, ts] */
        for (int64_t st = ts - s->size - slide; st <= ts; st++) {
            if ((st - off) % slide != 0)
                continue;
            if (st <= ts && ts < st + s->size)
                out[n++] = (tide_win_range){st, st + s->size};
        }
        return n;
    }
    case TIDE_WIN_CUMULATE:
        for (int64_t s0 = ts - s->size; s0 <= ts; s0++) {
            if ((s0 - off) % s->size != 0)
                continue;
            for (int64_t e = s0 + s->slide; e <= s0 + s->size; e += s->slide)
                if (s0 <= ts && ts < e)
                    out[n++] = (tide_win_range){s0, e};
        }
        return n;
    case TIDE_WIN_SESSION:
        out[0] = (tide_win_range){ts, ts + s->gap};
        return 1;
    case TIDE_WIN_GLOBAL:
        out[0] = (tide_win_range){TIDE_TS_MIN, TIDE_TS_MAX};
        return 1;
    }
    return 0;
}

static void test_assign_matches_brute_force(void)
{
    uint64_t seed = tt_seed(42);
    tide_win_range got[64], want[64];
    for (int iter = 0; iter < 3000; iter++) {
        uint64_t s0 = seed;
        tide_win_spec s;
        int64_t a = 1 + (int64_t)(tt_rand(&seed) % 12), b = 1 + (int64_t)(tt_rand(&seed) % 5);
        switch (tt_rand(&seed) % 5) {
        case 0: s = tide_win_tumble(a); break;
        case 1: s = tide_win_hop(b, b * (1 + a % 5)); break;
        case 2: s = tide_win_cumulate(b, b * (1 + (int64_t)(tt_rand(&seed) % 5))); break;
        case 3: s = tide_win_session(a); break;
        default: s = tide_win_global(); break;
        }
        /* an offset, as written: none, small of either sign, or far beyond the size */
        int64_t off = 0;
        switch (tt_rand(&seed) % 4) {
        case 0: break;
        case 1: off = (int64_t)(tt_rand(&seed) % 41) - 20; break;
        case 2: off = (int64_t)(tt_rand(&seed) % 2000001) - 1000000; break;
        default: off = 1 + (int64_t)(tt_rand(&seed) % 11); break;
        }
        bool offsets = s.kind == TIDE_WIN_TUMBLE || s.kind == TIDE_WIN_HOP || s.kind == TIDE_WIN_CUMULATE;
        if (!offsets)
            off = 0;
        tide_win_set_offset(&s, off);
        TT_ASSERT(s.offset >= 0 && (s.offset == 0 || s.offset < tide_win_alignment(&s)));
        TT_OK(tide_win_spec_check(&s, NULL));
        /* around 0, and at both ends of the TIMESTAMP range */
        static const int64_t base[3] = {0, TIDE_TS_VALID_MIN + 100, TIDE_TS_VALID_MAX - 99};
        int64_t ts = base[iter % 3] + (int64_t)(tt_rand(&seed) % 200) - 100;
        size_t n = tide_win_assign(&s, ts, got);
        size_t m = brute_windows(&s, off, ts, want);
        if (n != m)
            TT_SEED(s0);
        TT_ASSERT_MSG(n == m, "%s offset %lld ts=%lld: %zu windows, want %zu", tide_win_kind_name(s.kind),
                      (long long)off, (long long)ts, n, m);
        TT_ASSERT(n <= tide_win_max_windows(&s));
        TT_ASSERT_MSG(n >= 1, "%s ts=%lld: in no window", tide_win_kind_name(s.kind), (long long)ts);
        for (size_t i = 0; i < n; i++) {
            if (got[i].start != want[i].start || got[i].end != want[i].end)
                TT_SEED(s0);
            TT_ASSERT_EQ_INT(got[i].start, want[i].start);
            TT_ASSERT_EQ_INT(got[i].end, want[i].end);
        }
    }
}

static void test_negative_timestamps(void)
{
    tide_win_range r[8];
    tide_win_spec t = tide_win_tumble(10);
    TT_ASSERT_EQ_INT(tide_win_assign(&t, -1, r), 1);
    TT_ASSERT_EQ_INT(r[0].start, -10);
    TT_ASSERT_EQ_INT(r[0].end, 0);
    TT_ASSERT_EQ_INT(tide_win_assign(&t, -10, r), 1);
    TT_ASSERT_EQ_INT(r[0].start, -10);
    TT_ASSERT_EQ_INT(tide_win_assign(&t, 0, r), 1);
    TT_ASSERT_EQ_INT(r[0].start, 0);
    TT_ASSERT_EQ_INT(tide_win_floor_div(-7, 2), -4);
    TT_ASSERT_EQ_INT(tide_win_floor_mod(-7, 2), 1);
    tide_win_spec c = tide_win_cumulate(5, 20);
    TT_ASSERT_EQ_INT(tide_win_assign(&c, -3, r), 1); /* [-20,-15) .. [-20,0): only the last */
    TT_ASSERT_EQ_INT(r[0].start, -20);
    TT_ASSERT_EQ_INT(r[0].end, 0);
}

static void test_extreme_timestamps(void)
{
    tide_win_range r[8];
    tide_win_spec t = tide_win_tumble(1000);
    /* near +max the end saturates at TIDE_TS_MAX */
    TT_ASSERT_EQ_INT(tide_win_assign(&t, TIDE_TS_MAX - 1, r), 1);
    TT_ASSERT(r[0].start <= TIDE_TS_MAX - 1);
    TT_ASSERT_EQ_INT(r[0].end, TIDE_TS_MAX);
    /* near min the start saturates at TIDE_TS_MIN, no UB */
    TT_ASSERT_EQ_INT(tide_win_assign(&t, TIDE_TS_MIN, r), 1);
    TT_ASSERT_EQ_INT(r[0].start, TIDE_TS_MIN);
    TT_ASSERT(r[0].end > TIDE_TS_MIN);
    tide_win_spec h = tide_win_hop(3, 9);
    size_t n = tide_win_assign(&h, TIDE_TS_MAX - 2, r);
    TT_ASSERT(n >= 1 && n <= 3);
    for (size_t i = 0; i < n; i++)
        TT_ASSERT(r[i].start <= TIDE_TS_MAX - 2 && r[i].end > TIDE_TS_MAX - 2);
    n = tide_win_assign(&h, TIDE_TS_MIN + 1, r);
    TT_ASSERT(n >= 1 && n <= 3);
    tide_win_spec c = tide_win_cumulate(4, 8);
    n = tide_win_assign(&c, TIDE_TS_MAX, r);
    TT_ASSERT(n >= 1 && n <= 2);
    tide_win_spec s = tide_win_session(100);
    TT_ASSERT_EQ_INT(tide_win_assign(&s, TIDE_TS_MAX - 5, r), 1);
    TT_ASSERT_EQ_INT(r[0].end, TIDE_TS_MAX);
}

static void test_spec_check(void)
{
    tide_err e = {0};
    tide_win_spec bad[] = {tide_win_tumble(0), tide_win_hop(0, 10), tide_win_hop(5, -1),
                           tide_win_cumulate(3, 10), tide_win_session(0),
                           tide_win_hop(1, TIDE_WIN_MAX_PER_RECORD + 1),
                           /* Flink's rules: size a multiple of slide (so slide <= size) */
                           tide_win_hop(3, 10), tide_win_hop(10, 5),
                           /* longer than the TIMESTAMP range */
                           tide_win_tumble(TIDE_TS_VALID_SPAN + 1), tide_win_session(INT64_MAX),
                           tide_win_hop(TIDE_TS_VALID_SPAN + 1, 2 * (TIDE_TS_VALID_SPAN + 1)),
                           tide_win_cumulate(1000, (TIDE_TS_VALID_SPAN / 1000 + 1) * 1000)};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tide_err_clear(&e);
        TT_ASSERT_EQ_INT(tide_win_spec_check(&bad[i], &e), TIDE_EINVAL);
        TT_ASSERT(e.msg[0] != 0);
    }
    tide_win_spec ok = tide_win_cumulate(5, 20);
    TT_OK(tide_win_spec_check(&ok, NULL));
    TT_ASSERT_EQ_INT(tide_win_max_windows(&ok), 4);
    tide_win_spec h = tide_win_hop(3, 12);
    TT_OK(tide_win_spec_check(&h, NULL));
    TT_ASSERT_EQ_INT(tide_win_max_windows(&h), 4);
    tide_win_spec longest = tide_win_tumble(TIDE_TS_VALID_SPAN);
    TT_OK(tide_win_spec_check(&longest, NULL));
}

/* Flink's examples: TUMBLE(1 day, offset 8 h) and -16 h give the same
 * windows; a bad stored offset is refused. */
static void test_offsets(void)
{
    tide_win_range r[8];
    const int64_t H = 3600000, D = 24 * H;
    tide_win_spec a = tide_win_tumble(D), b = tide_win_tumble(D);
    tide_win_set_offset(&a, 8 * H);
    tide_win_set_offset(&b, -16 * H);
    TT_ASSERT_EQ_INT(a.offset, 8 * H);
    TT_ASSERT_EQ_INT(b.offset, 8 * H);
    TT_ASSERT_EQ_INT(tide_win_assign(&a, 7 * H, r), 1); /* 1970-01-01 07:00 in [12-31 08:00, 01-01 08:00) */
    TT_ASSERT_EQ_INT(r[0].start, -16 * H);
    TT_ASSERT_EQ_INT(r[0].end, 8 * H);
    TT_ASSERT_EQ_INT(tide_win_assign(&a, 8 * H, r), 1);
    TT_ASSERT_EQ_INT(r[0].start, 8 * H);
    tide_win_spec h = tide_win_hop(10, 30);
    tide_win_set_offset(&h, -3); /* starts 7 + 10k */
    TT_ASSERT_EQ_INT(h.offset, 7);
    TT_ASSERT_EQ_INT(tide_win_assign(&h, 7, r), 3);
    TT_ASSERT_EQ_INT(r[0].start, -13);
    TT_ASSERT_EQ_INT(r[2].start, 7);
    tide_win_spec bad = tide_win_tumble(10);
    bad.offset = 10;
    TT_ASSERT(tide_win_spec_check(&bad, NULL) == TIDE_EINVAL);
    tide_win_spec sess = tide_win_session(10);
    tide_win_set_offset(&sess, 5);
    TT_ASSERT_EQ_INT(sess.offset, 0);
}

static void test_session_intersects_like_flink(void)
{
    TT_ASSERT(tide_win_intersects((tide_win_range){0, 10}, (tide_win_range){10, 20}));
    TT_ASSERT(tide_win_intersects((tide_win_range){5, 15}, (tide_win_range){0, 10}));
    TT_ASSERT(!tide_win_intersects((tide_win_range){0, 10}, (tide_win_range){11, 21}));
}

int main(void)
{
    TT_RUN(test_assign_matches_brute_force);
    TT_RUN(test_negative_timestamps);
    TT_RUN(test_extreme_timestamps);
    TT_RUN(test_spec_check);
    TT_RUN(test_offsets);
    TT_RUN(test_session_intersects_like_flink);
    TT_DONE();
}
