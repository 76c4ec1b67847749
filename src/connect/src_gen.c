/*
 * src_gen.c - the GEN_LOGINS source: connect/gen_logins.h behind the source
 * interface.  Rows: ts TIMESTAMP(3) (the time column), user_id BIGINT,
 * country STRING, device STRING.  One partition; bounded by cfg.gen.events.
 * With cfg.gen.rate > 0 the generator releases events by the injected clock;
 * when it has none to give now, next() says TIDE_SRC_NOTHING.  A seek skips
 * events (the generator is deterministic from its seed).
 */
#include "connect/source_int.h"

#include <stdlib.h>
#include <string.h>

typedef struct gen_src {
    tide_gen_logins *g;
    tide_schema *own; /* the schema when cfg.schema is NULL */
    int64_t *ts, *user;
    uint8_t *country, *device;
    size_t cap;
    const tide_clock *clock;
} gen_src;

static int grow(gen_src *gs, size_t cap, tide_err *e)
{
    if (cap <= gs->cap)
        return 0;
    int64_t *ts = realloc(gs->ts, cap * sizeof *ts);
    if (ts)
        gs->ts = ts;
    int64_t *user = realloc(gs->user, cap * sizeof *user);
    if (user)
        gs->user = user;
    uint8_t *country = realloc(gs->country, cap);
    if (country)
        gs->country = country;
    uint8_t *device = realloc(gs->device, cap);
    if (device)
        gs->device = device;
    if (!ts || !user || !country || !device)
        return tide_err_set(e, TIDE_ENOMEM, "logins source: out of memory");
    gs->cap = cap;
    return 0;
}

static int gen_next(tide_src *s, tide_cbatch *b, tide_src_batch *info, tide_err *e)
{
    gen_src *gs = s->impl;
    int rc;
    info->partition = 0;
    if (tide_gen_logins_done(gs->g))
        return TIDE_SRC_END;
    if (tide_cbatch_ncols(b) != 4 || tide_cbatch_type(b, 0) != TIDE_TYPE_TIMESTAMP ||
        tide_cbatch_type(b, 1) != TIDE_TYPE_BIGINT || tide_cbatch_type(b, 2) != TIDE_TYPE_STRING ||
        tide_cbatch_type(b, 3) != TIDE_TYPE_STRING)
        return tide_err_set(e, TIDE_EINVAL, "logins source: the batch does not have the logins columns");
    uint32_t cap = tide_cbatch_capacity(b);
    if ((rc = grow(gs, cap, e)))
        return rc;
    uint64_t seq = tide_gen_logins_delivered(gs->g);
    tide_gen_logins_cols cols = {gs->ts, gs->user, gs->country, gs->device, cap};
    size_t n = 0;
    int64_t now = gs->clock ? tide_clock_now_ms(gs->clock) : 0;
    if ((rc = tide_gen_logins_next(gs->g, &cols, cap, now, &n, e)))
        return rc;
    if (n == 0)
        return tide_gen_logins_done(gs->g) ? TIDE_SRC_END : TIDE_SRC_NOTHING;
    for (size_t i = 0; i < n; i++) {
        uint32_t row = 0;
        if (tide_cbatch_add_row(b, &row))
            break; /* cannot happen: n <= capacity */
        tide_cbatch_set_i64(b, 0, row, gs->ts[i]);
        tide_cbatch_set_i64(b, 1, row, gs->user[i]);
        const char *c = tide_gen_logins_country_name(gs->country[i]);
        const char *d = tide_gen_logins_device_name(gs->device[i]);
        if ((rc = tide_cbatch_set_str(b, 2, row, c, strlen(c), e)) ||
            (rc = tide_cbatch_set_str(b, 3, row, d, strlen(d), e)))
            return rc; /* the events are lost; the source fails for good */
        tide_cbatch_set_pos(b, row, seq + i);
    }
    return TIDE_SRC_READY;
}

static bool gen_idle(const tide_src *s, uint32_t p)
{
    (void)p;
    return tide_gen_logins_done(((const gen_src *)s->impl)->g);
}

static void gen_position(const tide_src *s, uint32_t p, tide_src_pos *pos)
{
    (void)p;
    pos->offset = tide_gen_logins_delivered(((const gen_src *)s->impl)->g);
}

static int gen_seek(tide_src *s, uint32_t p, const tide_src_pos *pos, tide_err *e)
{
    (void)p;
    gen_src *gs = s->impl;
    uint64_t at = tide_gen_logins_delivered(gs->g);
    if (pos->offset < at)
        return tide_err_set(e, TIDE_EINVAL, "logins source: cannot go back to event %llu",
                            (unsigned long long)pos->offset);
    return tide_gen_logins_skip(gs->g, pos->offset - at, e);
}

static void gen_free(tide_src *s)
{
    gen_src *gs = s->impl;
    if (!gs)
        return;
    tide_gen_logins_free(gs->g);
    tide_schema_free(gs->own);
    free(gs->ts);
    free(gs->user);
    free(gs->country);
    free(gs->device);
    free(gs);
    s->impl = NULL;
}

static const tide_src_ops gen_ops = {gen_next, gen_idle, gen_idle, gen_position, gen_seek, gen_free, NULL};

static const tide_type gen_types[4] = {TIDE_TYPE_TIMESTAMP, TIDE_TYPE_BIGINT, TIDE_TYPE_STRING,
                                       TIDE_TYPE_STRING};

int tide_src__gen_open(tide_src *s, tide_err *e)
{
    int rc;
    gen_src *gs = calloc(1, sizeof *gs);
    if (!gs)
        return tide_err_set(e, TIDE_ENOMEM, "logins source: out of memory");
    s->impl = gs;
    s->ops = &gen_ops;
    s->bounded = true;
    gs->clock = s->cfg.gen.rate > 0 ? (s->cfg.clock ? s->cfg.clock : tide_clock_system()) : NULL;
    if (s->schema) {
        if (tide_schema_ncols(s->schema) != 4)
            return tide_err_set(e, TIDE_EINVAL, "logins source: the schema must have 4 columns "
                                                "(ts TIMESTAMP(3), user_id BIGINT, country STRING, device STRING)");
        for (size_t i = 0; i < 4; i++)
            if (tide_schema_col(s->schema, i)->type != gen_types[i])
                return tide_err_set(e, TIDE_EINVAL, "logins source: column %zu (%s) must be %s", i + 1,
                                    tide_schema_col(s->schema, i)->name, tide_type_name(gen_types[i]));
    } else {
        static const char *const names[4] = {"ts", "user_id", "country", "device"};
        if ((rc = tide_schema_create(&gs->own, e)))
            return rc;
        for (size_t i = 0; i < 4; i++)
            if ((rc = tide_schema_add(gs->own, names[i], gen_types[i], i >= 2, e)))
                return rc;
        if ((rc = tide_schema_set_time_column(gs->own, 0, e)))
            return rc;
        s->schema = gs->own;
    }
    return tide_gen_logins_create(&gs->g, &s->cfg.gen, e);
}
