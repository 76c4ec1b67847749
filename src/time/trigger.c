/*
 * trigger.c - trigger decisions (see trigger.h).
 */
#include "time/trigger.h"

const char *tide_trig_mode_name(tide_trig_mode m)
{
    switch (m) {
#define TIDE__TRIG_MODE_NAME(name, s) case TIDE_TRIG_##name: return s;
        TIDE_TRIG_MODE_MAP(TIDE__TRIG_MODE_NAME)
#undef TIDE__TRIG_MODE_NAME
    }
    return "?";
}

void tide_trig_clock_init(tide_trig_clock *c, int64_t every_ms)
{
    c->every_ms = every_ms;
    c->next = TIDE_TS_MIN;
}

bool tide_trig_clock_due(tide_trig_clock *c, int64_t proc_now)
{
    if (c->every_ms <= 0)
        return false;
    if (c->next == TIDE_TS_MIN) {
        c->next = tide_wm_sat_add(proc_now, c->every_ms);
        return false;
    }
    if (proc_now < c->next)
        return false;
    c->next = tide_wm_sat_add(proc_now, c->every_ms);
    return true;
}

int tide_trig_firing_ops(tide_trig_mode m, bool fired, tide_op ops[2])
{
    if (!fired || m == TIDE_TRIG_DISCARDING) {
        ops[0] = TIDE_OP_INSERT;
        return 1;
    }
    if (m == TIDE_TRIG_ACCUMULATING) {
        ops[0] = TIDE_OP_UPDATE_AFTER;
        return 1;
    }
    ops[0] = TIDE_OP_UPDATE_BEFORE;
    ops[1] = TIDE_OP_UPDATE_AFTER;
    return 2;
}

/* ---- checkpoints -------------------------------------------------------- */

void tide_trig_clock_snap_put(const tide_trig_clock *c, tide_snap_w *w)
{
    tide_snap_put_i64(w, c->next);
}

void tide_trig_clock_snap_get(tide_trig_clock *c, tide_snap_r *r)
{
    int64_t next = tide_snap_get_i64(r);
    if (c->every_ms <= 0 && next != TIDE_TS_MIN)
        tide_snap_fail(r);
    else
        c->next = next;
}
