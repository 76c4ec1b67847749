/*
 * test_gen_logins.c - the logins generator: determinism, the exact
 * out-of-order bound and the share of late events, Zipf skew against the
 * exact model, span and count, per-user countries, devices, the daily cycle,
 * the rate limit with a fake clock, and the CSV form (checked with libc's
 * gmtime_r, an independent formatter).
 */
#include "connect/gen_logins.h"
#include "data/types.h"

#include "tt.h"

#include <math.h>
#include <time.h>

typedef struct events {
    int64_t *ts, *user;
    uint8_t *country, *device;
    size_t n;
} events;

static void events_free(events *ev)
{
    free(ev->ts);
    free(ev->user);
    free(ev->country);
    free(ev->device);
    memset(ev, 0, sizeof *ev);
}

/* Generate every event of cfg in chunks of `chunk`. */
static int gen_all(const tide_gen_logins_cfg *cfg, size_t chunk, events *ev)
{
    tide_gen_logins *g = NULL;
    tide_err e = {0};
    int rc = tide_gen_logins_create(&g, cfg, &e);
    if (rc)
        return rc;
    size_t cap = (size_t)cfg->events + 1;
    ev->ts = malloc(cap * 8);
    ev->user = malloc(cap * 8);
    ev->country = malloc(cap);
    ev->device = malloc(cap);
    ev->n = 0;
    while (!tide_gen_logins_done(g)) {
        tide_gen_logins_cols c = {ev->ts + ev->n, ev->user + ev->n, ev->country + ev->n,
                                  ev->device + ev->n, cap - ev->n};
        size_t n = 0;
        if ((rc = tide_gen_logins_next(g, &c, chunk, 0, &n, &e)) != 0)
            break;
        if (n == 0) {
            rc = TIDE_EIO; /* no progress before done */
            break;
        }
        ev->n += n;
    }
    tide_gen_logins_free(g);
    return rc;
}

static tide_gen_logins_cfg base_cfg(void)
{
    tide_gen_logins_cfg c;
    tide_gen_logins_cfg_default(&c);
    c.events = 200000;
    c.users = 20000;
    return c;
}

static void test_determinism(void)
{
    tide_gen_logins_cfg c = base_cfg();
    events a = {0}, b = {0}, d = {0};
    TT_OK(gen_all(&c, 4096, &a));
    TT_OK(gen_all(&c, 777, &b)); /* chunking must not matter */
    TT_ASSERT_EQ_INT(a.n, c.events);
    TT_ASSERT_EQ_INT(b.n, c.events);
    TT_ASSERT(memcmp(a.ts, b.ts, a.n * 8) == 0);
    TT_ASSERT(memcmp(a.user, b.user, a.n * 8) == 0);
    TT_ASSERT(memcmp(a.country, b.country, a.n) == 0);
    TT_ASSERT(memcmp(a.device, b.device, a.n) == 0);
    c.seed = 2;
    TT_OK(gen_all(&c, 4096, &d));
    size_t same_user = 0, same_ts = 0;
    for (size_t i = 0; i < a.n; i++) {
        same_user += a.user[i] == d.user[i];
        same_ts += a.ts[i] == d.ts[i];
    }
    /* Different seed: a different stream (coincidences only). */
    TT_ASSERT(same_user < a.n / 10);
    TT_ASSERT(same_ts < a.n / 2);
    events_free(&a);
    events_free(&b);
    events_free(&d);
}

/* One chunk of 1 event at a time also gives the same stream. */
static void test_single_steps_match(void)
{
    tide_gen_logins_cfg c = base_cfg();
    c.events = 20000;
    c.late_share = 0.5;
    c.max_delay_ms = 20000;
    events a = {0}, b = {0};
    TT_OK(gen_all(&c, 1, &a));
    TT_OK(gen_all(&c, 100000, &b));
    TT_ASSERT(memcmp(a.ts, b.ts, a.n * 8) == 0);
    TT_ASSERT(memcmp(a.user, b.user, a.n * 8) == 0);
    events_free(&a);
    events_free(&b);
}

/* cols.country == NULL skips the countries only: the same events, and a
 * later call that wants countries (for events held back as late while an
 * earlier call did not) gets the right ones. */
static void test_country_not_wanted(void)
{
    tide_gen_logins_cfg c = base_cfg();
    c.events = 50000;
    c.late_share = 0.3;
    c.max_delay_ms = 20000;
    events a = {0};
    TT_OK(gen_all(&c, 4096, &a));
    tide_gen_logins *g = NULL;
    TT_OK(tide_gen_logins_create(&g, &c, NULL));
    size_t cap = (size_t)c.events;
    int64_t *ts = malloc(cap * 8), *user = malloc(cap * 8);
    uint8_t *country = malloc(cap), *device = malloc(cap), *wanted = calloc(cap, 1);
    size_t n = 0;
    for (int call = 0; !tide_gen_logins_done(g); call++) {
        bool want = call % 3 == 1;
        tide_gen_logins_cols cols = {ts + n, user + n, want ? country + n : NULL, device + n,
                                     cap - n};
        size_t got = 0;
        TT_OK(tide_gen_logins_next(g, &cols, 777, 0, &got, NULL));
        TT_ASSERT(got > 0);
        memset(wanted + n, want, got);
        n += got;
    }
    tide_gen_logins_free(g);
    TT_ASSERT_EQ_INT(n, a.n);
    bool ok = memcmp(ts, a.ts, n * 8) == 0 && memcmp(user, a.user, n * 8) == 0 &&
              memcmp(device, a.device, n) == 0;
    size_t checked = 0;
    for (size_t i = 0; ok && i < n; i++) {
        if (!wanted[i])
            continue;
        ok = country[i] == a.country[i];
        checked++;
    }
    TT_ASSERT(ok && checked > n / 4);
    free(ts);
    free(user);
    free(country);
    free(device);
    free(wanted);
    events_free(&a);
}

static void test_out_of_order_bound_and_share(void)
{
    static const struct {
        double share;
        int64_t delay;
        double amp;
        bool check_share;
    } cases[] = {
        {0.0, 0, 0.0, true},    {0.05, 5000, 0.0, true}, {0.3, 100, 0.0, true}, {0.3, 1000, 0.0, true},
        {0.2, 2000, 0.8, true}, {1.0, 3000, 0.0, false}, {0.7, 1, 0.5, false},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        tide_gen_logins_cfg c = base_cfg();
        c.seed = 100 + k;
        c.events = 1000000;
        c.end_ms = c.start_ms + 3600000; /* dense: 3.6 ms apart on average */
        c.late_share = cases[k].share;
        c.max_delay_ms = cases[k].delay;
        c.daily_amplitude = cases[k].amp;
        events ev = {0};
        TT_OK(gen_all(&c, 4096, &ev));
        TT_ASSERT_EQ_INT(ev.n, c.events);
        int64_t max_seen = INT64_MIN, worst = 0;
        size_t late = 0;
        bool in_span = true;
        for (size_t i = 0; i < ev.n; i++) {
            int64_t t = ev.ts[i];
            in_span &= t >= c.start_ms && t < c.end_ms;
            if (max_seen != INT64_MIN && t < max_seen) {
                late++;
                if (max_seen - t > worst)
                    worst = max_seen - t;
            }
            if (t > max_seen)
                max_seen = t;
        }
        events_free(&ev);
        TT_ASSERT_MSG(in_span, "case %zu", k);
        TT_ASSERT_MSG(worst <= c.max_delay_ms, "case %zu: %lld > %lld", k, (long long)worst,
                      (long long)c.max_delay_ms);
        double share = (double)late / (double)c.events;
        fprintf(stderr, "  case %zu: late share %.4f (asked %.2f), worst delay %lld ms (max %lld)\n", k,
                share, c.late_share, (long long)worst, (long long)c.max_delay_ms);
        if (cases[k].check_share) {
            /* A delayed event is late unless no other event falls within its
             * delay d: with events a Poisson-like stream of mean spacing m,
             * P(none) = exp(-d/m), averaged over d uniform in [1, D]:
             * about (m/D)(1 - exp(-D/m)). */
            double m = 3600000.0 / (double)c.events, D = (double)(c.max_delay_ms ? c.max_delay_ms : 1);
            double want = c.late_share * (1 - m / D * (1 - exp(-D / m)));
            TT_ASSERT_MSG(fabs(share - want) <= 0.02 * want + 0.001, "case %zu: %.4f vs model %.4f", k,
                          share, want);
        } else {
            TT_ASSERT(share > 0);
        }
        if (c.late_share == 0)
            TT_ASSERT_EQ_INT(late, 0);
    }
}

static int cmp_desc(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* Sorted per-user counts against the exact Zipf model sum(k^-s). */
static void check_skew(double s, uint64_t users, uint64_t n_events, double *top1_out)
{
    tide_gen_logins_cfg c = base_cfg();
    c.zipf_s = s;
    c.users = users;
    c.events = n_events;
    c.late_share = 0;
    events ev = {0};
    if (gen_all(&c, 8192, &ev) != 0)
        return;
    uint32_t *cnt = calloc(users + 1, sizeof *cnt);
    for (size_t i = 0; i < ev.n; i++)
        if (ev.user[i] >= 1 && (uint64_t)ev.user[i] <= users)
            cnt[ev.user[i]]++;
    qsort(cnt + 1, users, sizeof *cnt, cmp_desc);
    uint64_t top = users / 100, top_sum = 0;
    for (uint64_t k = 1; k <= top; k++)
        top_sum += cnt[k];
    free(cnt);
    events_free(&ev);
    *top1_out = (double)top_sum / (double)n_events;
}

static double exact_top_share(double s, uint64_t users, uint64_t top)
{
    double all = 0, head = 0;
    for (uint64_t k = 1; k <= users; k++) {
        double w = pow((double)k, -s);
        all += w;
        if (k <= top)
            head += w;
    }
    return head / all;
}

static void test_popularity_skew(void)
{
    static const struct {
        double s;
        uint64_t users;
    } cases[] = {{1.1, 100000}, {1.0, 50000}, {0.8, 200000}, {1.1, 2000}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        double got = -1, want = exact_top_share(cases[k].s, cases[k].users, cases[k].users / 100);
        check_skew(cases[k].s, cases[k].users, 1000000, &got);
        fprintf(stderr, "  s=%.1f users=%llu: top 1%% of users have %.3f of events (model %.3f)\n",
                cases[k].s, (unsigned long long)cases[k].users, got, want);
        TT_ASSERT(got > 0.2);                     /* much more than 1% */
        TT_ASSERT_MSG(fabs(got - want) < 0.02, "case %zu: %.4f vs %.4f", k, got, want);
    }
    double uni = -1;
    check_skew(0.0, 10000, 1000000, &uni);
    TT_ASSERT(uni > 0.009 && uni < 0.013); /* uniform: ~1% (plus sampling noise at the top) */
}

static void test_countries_devices(void)
{
    tide_gen_logins_cfg c = base_cfg();
    events ev = {0};
    TT_OK(gen_all(&c, 4096, &ev));
    tide_gen_logins *g = NULL;
    tide_err e = {0};
    TT_OK(tide_gen_logins_create(&g, &c, &e));
    int8_t *country_of = malloc(c.users + 1);
    memset(country_of, -1, c.users + 1);
    uint64_t dev[3] = {0, 0, 0};
    bool per_user = true, known = true;
    for (size_t i = 0; i < ev.n; i++) {
        int64_t u = ev.user[i];
        if (country_of[u] < 0)
            country_of[u] = (int8_t)ev.country[i];
        per_user &= country_of[u] == (int8_t)ev.country[i];
        per_user &= tide_gen_logins_user_country(g, u) == ev.country[i];
        known &= ev.country[i] < TIDE_GEN_LOGINS_COUNTRIES && ev.device[i] < 3;
        if (ev.device[i] < 3)
            dev[ev.device[i]]++;
    }
    free(country_of);
    tide_gen_logins_free(g);
    events_free(&ev);
    TT_ASSERT(per_user);
    TT_ASSERT(known);
    double n = (double)c.events;
    TT_ASSERT(fabs(dev[0] / n - 51.0 / 128) < 0.01);
    TT_ASSERT(fabs(dev[1] / n - 58.0 / 128) < 0.01);
    TT_ASSERT(fabs(dev[2] / n - 19.0 / 128) < 0.01);
    TT_ASSERT_EQ_STR(tide_gen_logins_device_name(1), "android");
    TT_ASSERT_EQ_STR(tide_gen_logins_country_name(0), "US");
    TT_ASSERT_EQ_STR(tide_gen_logins_country_name(200), "?");
}

static void test_daily_cycle(void)
{
    tide_gen_logins_cfg c = base_cfg();
    c.events = 500000;
    c.end_ms = c.start_ms + 10 * 86400000LL;
    c.daily_amplitude = 0.8;
    c.late_share = 0;
    events ev = {0};
    TT_OK(gen_all(&c, 4096, &ev));
    uint64_t hour[24] = {0};
    for (size_t i = 0; i < ev.n; i++)
        hour[(ev.ts[i] / 3600000) % 24]++;
    events_free(&ev);
    /* Model: rate 1 + 0.8 cos(2 pi (t - 20h) / 24h): about 9x at 20:00 vs 08:00. */
    double ratio = (double)hour[20] / (double)hour[8];
    fprintf(stderr, "  daily cycle: 20:00 %llu events, 08:00 %llu events (x%.1f)\n",
            (unsigned long long)hour[20], (unsigned long long)hour[8], ratio);
    TT_ASSERT(ratio > 6 && ratio < 12);
    /* The mean over the day is the uniform rate: 0:00-24:00 sums up. */
    uint64_t total = 0;
    for (int h = 0; h < 24; h++)
        total += hour[h];
    TT_ASSERT_EQ_INT(total, c.events);
}

static void test_rate_fake_clock(void)
{
    tide_gen_logins_cfg c = base_cfg();
    c.events = 5000;
    c.rate = 1000; /* per second */
    tide_gen_logins *g = NULL;
    tide_err e = {0};
    TT_OK(tide_gen_logins_create(&g, &c, &e));
    static int64_t ts[8192], us[8192];
    static uint8_t co[8192], de[8192];
    tide_gen_logins_cols cols = {ts, us, co, de, 8192};
    size_t n;
    int64_t t0 = 1000000;
    TT_OK(tide_gen_logins_next(g, &cols, 8192, t0, &n, &e));
    TT_ASSERT_EQ_INT(n, 0);
    TT_OK(tide_gen_logins_next(g, &cols, 8192, t0 + 500, &n, &e));
    TT_ASSERT_EQ_INT(n, 500);
    TT_OK(tide_gen_logins_next(g, &cols, 8192, t0 + 500, &n, &e));
    TT_ASSERT_EQ_INT(n, 0);
    TT_OK(tide_gen_logins_next(g, &cols, 100, t0 + 2000, &n, &e));
    TT_ASSERT_EQ_INT(n, 100); /* max wins */
    TT_OK(tide_gen_logins_next(g, &cols, 8192, t0 + 2000, &n, &e));
    TT_ASSERT_EQ_INT(n, 1400);
    TT_OK(tide_gen_logins_next(g, &cols, 8192, t0 + 60000, &n, &e));
    TT_ASSERT_EQ_INT(n, 3000); /* only what is left */
    TT_ASSERT(tide_gen_logins_done(g));
    TT_ASSERT_EQ_INT(tide_gen_logins_delivered(g), 5000);
    TT_OK(tide_gen_logins_next(g, &cols, 8192, t0 + 90000, &n, &e));
    TT_ASSERT_EQ_INT(n, 0);
    tide_gen_logins_free(g);
}

static void test_bad_config(void)
{
    tide_gen_logins_cfg c = base_cfg();
    tide_gen_logins *g = NULL;
    tide_err e = {0};
    c.end_ms = c.start_ms;
    TT_ASSERT_EQ_INT(tide_gen_logins_create(&g, &c, &e), TIDE_EINVAL);
    TT_ASSERT(strstr(e.msg, "'span'") != NULL);
    const char *opt = NULL;
    TT_ASSERT_EQ_INT(tide_gen_logins_cfg_check(&c, &opt, NULL), TIDE_EINVAL);
    TT_ASSERT_EQ_STR(opt, "span");
    /* event times stay inside the TIMESTAMP range (data/types.h) */
    c = base_cfg();
    c.start_ms = TIDE_TS_VALID_MIN - 1;
    c.end_ms = c.start_ms + 1000;
    TT_ASSERT_EQ_INT(tide_gen_logins_cfg_check(&c, &opt, NULL), TIDE_EINVAL);
    TT_ASSERT_EQ_STR(opt, "start");
    c.start_ms = TIDE_TS_VALID_MAX - 999;
    c.end_ms = TIDE_TS_VALID_MAX + 1; /* the last event at VALID_MAX: fine */
    TT_OK(tide_gen_logins_cfg_check(&c, &opt, NULL));
    TT_ASSERT(opt == NULL);
    c.end_ms++;
    TT_ASSERT_EQ_INT(tide_gen_logins_cfg_check(&c, &opt, NULL), TIDE_EINVAL);
    TT_ASSERT_EQ_STR(opt, "span");
    c = base_cfg();
    c.users = 0;
    tide_err_clear(&e);
    TT_ASSERT_EQ_INT(tide_gen_logins_create(&g, &c, &e), TIDE_EINVAL);
    TT_ASSERT(strstr(e.msg, "users") != NULL);
    c = base_cfg();
    c.late_share = 0.1;
    c.max_delay_ms = 0;
    TT_ASSERT_EQ_INT(tide_gen_logins_create(&g, &c, &e), TIDE_EINVAL);
    TT_ASSERT(g == NULL);
    tide_gen_logins_free(NULL);
}

/* The CSV file: header, exact row count, and each row equal to the column
 * output formatted independently (gmtime_r). */
static void test_csv(void)
{
    const char *dir = tt_tmpdir("gen_logins");
    TT_ASSERT(dir != NULL);
    char path[4200];
    snprintf(path, sizeof path, "%s/logins.csv", dir);
    tide_gen_logins_cfg c = base_cfg();
    c.events = 30000;
    c.start_ms = 1709164800000LL; /* 2024-02-29 00:00 UTC (leap day) */
    c.end_ms = c.start_ms + 3 * 86400000LL;
    tide_err e = {0};
    TT_OK(tide_gen_logins_write_csv(&c, path, &e));
    events ev = {0};
    TT_OK(gen_all(&c, 4096, &ev));
    FILE *f = fopen(path, "r");
    TT_ASSERT(f != NULL);
    char line[256];
    TT_ASSERT(fgets(line, sizeof line, f) != NULL);
    TT_ASSERT_EQ_STR(line, "ts,user_id,country,device\n");
    size_t rows = 0;
    bool ok = true;
    char want[256];
    while (fgets(line, sizeof line, f)) {
        if (rows < ev.n) {
            time_t secs = (time_t)(ev.ts[rows] / 1000);
            struct tm tm;
            gmtime_r(&secs, &tm);
            snprintf(want, sizeof want, "%04d-%02d-%02d %02d:%02d:%02d.%03d,%lld,%s,%s\n",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     (int)(ev.ts[rows] % 1000), (long long)ev.user[rows],
                     tide_gen_logins_country_name(ev.country[rows]),
                     tide_gen_logins_device_name(ev.device[rows]));
            if (strcmp(line, want) != 0) {
                if (ok)
                    fprintf(stderr, "  row %zu: %s  want %s", rows, line, want);
                ok = false;
            }
        }
        rows++;
    }
    fclose(f);
    events_free(&ev);
    TT_ASSERT(ok);
    TT_ASSERT_EQ_INT(rows, c.events);

    /* In-memory CSV with a row limit. */
    tide_gen_logins *g = NULL;
    tide_buf b = {0};
    size_t n = 0;
    TT_OK(tide_gen_logins_create(&g, &c, &e));
    TT_OK(tide_gen_logins_csv(g, &b, 10, 0, &n, &e));
    TT_ASSERT_EQ_INT(n, 10);
    size_t lines = 0;
    for (size_t i = 0; i < b.len; i++)
        lines += b.data[i] == '\n';
    TT_ASSERT_EQ_INT(lines, 10);
    TT_ASSERT(memcmp(b.data, "2024-0", 6) == 0);
    tide_buf_free(&b);
    tide_gen_logins_free(g);
}

int main(void)
{
    TT_RUN(test_determinism);
    TT_RUN(test_single_steps_match);
    TT_RUN(test_country_not_wanted);
    TT_RUN(test_out_of_order_bound_and_share);
    TT_RUN(test_popularity_skew);
    TT_RUN(test_countries_devices);
    TT_RUN(test_daily_cycle);
    TT_RUN(test_rate_fake_clock);
    TT_RUN(test_bad_config);
    TT_RUN(test_csv);
    TT_DONE();
}
