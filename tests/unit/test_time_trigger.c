/* Unit tests of time/trigger.h: firing, lateness placement, cleanup, the
 * early-firing clock and the changelog ops of each accumulation mode. */
#include "time/trigger.h"
#include "tt.h"

static void test_placement_and_cleanup(void)
{
    /* window [0, 100), lateness 20: it fires at its last millisecond, 99
     * (Flink's isWindowFired), is updated by late records while W < 119
     * and gone from W = 119 = 99 + 20 on */
    TT_ASSERT_EQ_INT(tide_trig_fire_time(100), 99);
    TT_ASSERT(!tide_trig_due(100, 98));
    TT_ASSERT(tide_trig_due(100, 99));
    TT_ASSERT(tide_trig_due(100, 100));
    TT_ASSERT_EQ_INT(tide_trig_place_record(100, 20, 98), TIDE_TRIG_OPEN);
    TT_ASSERT_EQ_INT(tide_trig_place_record(100, 20, 99), TIDE_TRIG_LATE_FIRING);
    TT_ASSERT_EQ_INT(tide_trig_place_record(100, 20, 118), TIDE_TRIG_LATE_FIRING);
    TT_ASSERT_EQ_INT(tide_trig_place_record(100, 20, 119), TIDE_TRIG_DROPPED);
    TT_ASSERT_EQ_INT(tide_trig_cleanup_time(100, 20), 119);
    TT_ASSERT(!tide_trig_expired(100, 20, 118));
    TT_ASSERT(tide_trig_expired(100, 20, 119));
    /* lateness 0: late as soon as the window fired, at W = end - 1 */
    TT_ASSERT_EQ_INT(tide_trig_place_record(100, 0, 98), TIDE_TRIG_OPEN);
    TT_ASSERT_EQ_INT(tide_trig_place_record(100, 0, 99), TIDE_TRIG_DROPPED);
    /* a window of one millisecond [7, 8) fires when W reaches its start */
    TT_ASSERT(!tide_trig_due(8, 6));
    TT_ASSERT(tide_trig_due(8, 7));
    /* negative times */
    TT_ASSERT(!tide_trig_due(-10, -12));
    TT_ASSERT(tide_trig_due(-10, -11));
    /* saturation: the global window only fires and expires at +infinity */
    TT_ASSERT_EQ_INT(tide_trig_fire_time(TIDE_TS_MAX), TIDE_TS_MAX);
    TT_ASSERT(!tide_trig_due(TIDE_TS_MAX, TIDE_TS_MAX - 1));
    TT_ASSERT(tide_trig_due(TIDE_TS_MAX, TIDE_TS_MAX));
    TT_ASSERT(!tide_trig_expired(TIDE_TS_MAX, 1000, TIDE_TS_MAX - 1));
    TT_ASSERT(tide_trig_expired(TIDE_TS_MAX, 1000, TIDE_TS_MAX));
    TT_ASSERT_EQ_INT(tide_trig_cleanup_time(TIDE_TS_MAX - 5, 1000), TIDE_TS_MAX);
}

static void test_early_clock(void)
{
    tide_trig_clock c;
    tide_trig_clock_init(&c, 100);
    TT_ASSERT(!tide_trig_clock_due(&c, 1000)); /* starts the clock */
    TT_ASSERT(!tide_trig_clock_due(&c, 1099));
    TT_ASSERT(tide_trig_clock_due(&c, 1100));
    TT_ASSERT(!tide_trig_clock_due(&c, 1150));
    TT_ASSERT(tide_trig_clock_due(&c, 5000));
    TT_ASSERT(!tide_trig_clock_due(&c, 5099));
    tide_trig_clock_init(&c, 0);
    TT_ASSERT(!tide_trig_clock_due(&c, 1000));
    TT_ASSERT(!tide_trig_clock_due(&c, 100000));
}

static void test_firing_ops(void)
{
    tide_op ops[2];
    TT_ASSERT_EQ_INT(tide_trig_firing_ops(TIDE_TRIG_RETRACTING, false, ops), 1);
    TT_ASSERT_EQ_INT(ops[0], TIDE_OP_INSERT);
    TT_ASSERT_EQ_INT(tide_trig_firing_ops(TIDE_TRIG_RETRACTING, true, ops), 2);
    TT_ASSERT_EQ_INT(ops[0], TIDE_OP_UPDATE_BEFORE);
    TT_ASSERT_EQ_INT(ops[1], TIDE_OP_UPDATE_AFTER);
    TT_ASSERT_EQ_INT(tide_trig_firing_ops(TIDE_TRIG_ACCUMULATING, true, ops), 1);
    TT_ASSERT_EQ_INT(ops[0], TIDE_OP_UPDATE_AFTER);
    TT_ASSERT_EQ_INT(tide_trig_firing_ops(TIDE_TRIG_DISCARDING, true, ops), 1);
    TT_ASSERT_EQ_INT(ops[0], TIDE_OP_INSERT);
    TT_ASSERT_EQ_STR(tide_op_name(TIDE_OP_UPDATE_BEFORE), "-U");
    TT_ASSERT_EQ_STR(tide_op_name(TIDE_OP_DELETE), "-D");
    TT_ASSERT_EQ_INT(tide_op_sign(TIDE_OP_DELETE), -1);
    TT_ASSERT_EQ_INT(tide_op_sign(TIDE_OP_UPDATE_AFTER), 1);
    TT_ASSERT_EQ_STR(tide_trig_mode_name(TIDE_TRIG_RETRACTING), "retracting");
}

/* The clock inside an owner's snapshot section: the deadline round-trips,
 * and a started deadline for a clock that never runs is malformed. */
static void test_clock_snapshot(void)
{
    tide_trig_clock c, d;
    tide_trig_clock_init(&c, 100);
    TT_ASSERT(!tide_trig_clock_due(&c, 1000));
    tide_buf b = {0};
    tide_snap_w w;
    tide_snap_begin(&w, &b, "owner", 1);
    tide_trig_clock_snap_put(&c, &w);
    TT_OK(tide_snap_end(&w, NULL));
    tide_snap_r r;
    TT_OK(tide_snap_open(&r, b.data, b.len, "owner", 1, NULL, NULL));
    tide_trig_clock_init(&d, 100);
    tide_trig_clock_snap_get(&d, &r);
    TT_OK(tide_snap_close(&r, NULL));
    for (int64_t t = 1000; t < 1500; t += 7)
        TT_ASSERT_EQ_INT(tide_trig_clock_due(&c, t), tide_trig_clock_due(&d, t));
    TT_OK(tide_snap_open(&r, b.data, b.len, "owner", 1, NULL, NULL));
    tide_trig_clock_init(&d, 0);
    tide_trig_clock_snap_get(&d, &r);
    tide_err e = {0};
    TT_ASSERT_EQ_INT(tide_snap_close(&r, &e), TIDE_ECORRUPT);
    TT_ASSERT_EQ_INT(d.next, TIDE_TS_MIN);
    tide_buf_free(&b);
}

int main(void)
{
    TT_RUN(test_placement_and_cleanup);
    TT_RUN(test_early_clock);
    TT_RUN(test_firing_ops);
    TT_RUN(test_clock_snapshot);
    TT_DONE();
}
