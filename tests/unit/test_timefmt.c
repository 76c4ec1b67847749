/*
 * test_timefmt.c - timestamp parse/format/floor against independent models:
 * libc's gmtime_r/timegm (a different implementation of the same calendar),
 * a day-by-day calendar walk, and hand-checked values.
 */
#include "data/timefmt.h"
#include "tide.h"
#include "tt.h"

#include <stdbool.h>

#include <time.h>

static const int64_t DAY = 86400000LL;

/* libc reference: fields of `ms` (year >= 0 range only). */
static void ref_fields(int64_t ms, struct tm *tm, int *milli)
{
    int64_t sec = ms / 1000, r = ms % 1000;
    if (r < 0) {
        r += 1000;
        sec--;
    }
    time_t t = (time_t)sec;
    gmtime_r(&t, tm);
    *milli = (int)r;
}

static void test_hand_checked(void)
{
    int64_t v;
    TT_OK(tide_ts_parse("1970-01-01", 10, &v, NULL));
    TT_ASSERT_EQ_INT(v, 0);
    TT_OK(tide_ts_parse("1970-01-01 00:00:00.000", 23, &v, NULL));
    TT_ASSERT_EQ_INT(v, 0);
    TT_OK(tide_ts_parse("1969-12-31 23:59:59.999", 23, &v, NULL));
    TT_ASSERT_EQ_INT(v, -1);
    TT_OK(tide_ts_parse("2000-03-01", 10, &v, NULL));
    TT_ASSERT_EQ_INT(v, 951868800000LL);
    TT_OK(tide_ts_parse("2000-02-29", 10, &v, NULL)); /* 2000 is leap (div by 400) */
    TT_ASSERT_EQ_INT(v, 951868800000LL - DAY);
    TT_OK(tide_ts_parse("2024-02-29T12:00:00Z", 20, &v, NULL));
    TT_ASSERT_EQ_INT(v, 1709208000000LL);
    TT_OK(tide_ts_parse("2024-02-29T14:30:00+02:30", 25, &v, NULL));
    TT_ASSERT_EQ_INT(v, 1709208000000LL);
    TT_OK(tide_ts_parse("2024-02-29T07:00:00-0500", 24, &v, NULL));
    TT_ASSERT_EQ_INT(v, 1709208000000LL);
    TT_OK(tide_ts_parse("2024-02-29T13:00:00+01", 22, &v, NULL));
    TT_ASSERT_EQ_INT(v, 1709208000000LL);
    TT_OK(tide_ts_parse("2024-02-29t12:00z", 17, &v, NULL));
    TT_ASSERT_EQ_INT(v, 1709208000000LL);
    TT_OK(tide_ts_parse("2100-03-01 00:00:00", 19, &v, NULL)); /* 2100 not leap */
    TT_ASSERT_EQ_INT(v, 4107542400000LL);
    TT_OK(tide_ts_parse("0000-01-01", 10, &v, NULL));
    TT_ASSERT_EQ_INT(v, -62167219200000LL);
    TT_OK(tide_ts_parse("9999-12-31 23:59:59.999", 23, &v, NULL));
    TT_ASSERT_EQ_INT(v, 253402300799999LL);
    /* fractions: 1-3 digits scale, more digits truncate */
    TT_OK(tide_ts_parse("1970-01-01 00:00:01.5", 21, &v, NULL));
    TT_ASSERT_EQ_INT(v, 1500);
    TT_OK(tide_ts_parse("1970-01-01 00:00:01.05", 22, &v, NULL));
    TT_ASSERT_EQ_INT(v, 1050);
    TT_OK(tide_ts_parse("1970-01-01 00:00:01.123999", 26, &v, NULL));
    TT_ASSERT_EQ_INT(v, 1123);
    TT_OK(tide_ts_parse("1969-12-31 23:59:59.9999", 24, &v, NULL));
    TT_ASSERT_EQ_INT(v, -1);
    TT_OK(tide_ts_parse("1970-01-01 00:01", 16, &v, NULL));
    TT_ASSERT_EQ_INT(v, 60000);
    /* epoch ms */
    TT_OK(tide_ts_parse("1700000000000", 13, &v, NULL));
    TT_ASSERT_EQ_INT(v, 1700000000000LL);
    TT_OK(tide_ts_parse("-1", 2, &v, NULL));
    TT_ASSERT_EQ_INT(v, -1);
    TT_OK(tide_ts_parse("+42", 3, &v, NULL));
    TT_ASSERT_EQ_INT(v, 42);
    TT_OK(tide_ts_parse("2024", 4, &v, NULL));
    TT_ASSERT_EQ_INT(v, 2024);
    TT_OK(tide_ts_parse("9223372036854775807", 19, &v, NULL));
    TT_ASSERT(v == INT64_MAX);
    TT_OK(tide_ts_parse("-9223372036854775808", 20, &v, NULL));
    TT_ASSERT(v == INT64_MIN);

    char buf[TIDE_TS_FORMAT_MAX];
    TT_ASSERT_EQ_INT(tide_ts_format(0, buf), 23);
    TT_ASSERT_EQ_STR(buf, "1970-01-01 00:00:00.000");
    tide_ts_format(-1, buf);
    TT_ASSERT_EQ_STR(buf, "1969-12-31 23:59:59.999");
    tide_ts_format(-DAY, buf);
    TT_ASSERT_EQ_STR(buf, "1969-12-31 00:00:00.000");
    tide_ts_format(951868800000LL - 1, buf);
    TT_ASSERT_EQ_STR(buf, "2000-02-29 23:59:59.999");
    tide_ts_format(4107542400000LL - 1, buf);
    TT_ASSERT_EQ_STR(buf, "2100-02-28 23:59:59.999");
    tide_ts_format(-62167219200000LL - 1, buf);
    TT_ASSERT_EQ_STR(buf, "-0001-12-31 23:59:59.999");
    tide_ts_format(253402300800000LL, buf);
    TT_ASSERT_EQ_STR(buf, "+10000-01-01 00:00:00.000");
    /* java.time.Instant.ofEpochMilli(Long.MAX_VALUE / MIN_VALUE) */
    tide_ts_format(INT64_MAX, buf);
    TT_ASSERT_EQ_STR(buf, "+292278994-08-17 07:12:55.807");
    tide_ts_format(INT64_MIN, buf);
    TT_ASSERT_EQ_STR(buf, "-292275055-05-16 16:47:04.192");

    /* floor by hand */
    int64_t t;
    TT_OK(tide_ts_parse("2024-05-15 13:45:12.345", 23, &t, NULL));
    int64_t w;
    TT_OK(tide_ts_parse("2024-05-13", 10, &w, NULL)); /* the Monday before */
    TT_ASSERT_EQ_INT(tide_ts_floor(t, TIDE_TS_UNIT_WEEK), w);
    TT_OK(tide_ts_parse("2024-04-01", 10, &w, NULL));
    TT_ASSERT_EQ_INT(tide_ts_floor(t, TIDE_TS_UNIT_QUARTER), w);
    TT_ASSERT_EQ_INT(tide_ts_floor(-1, TIDE_TS_UNIT_SECOND), -1000);
    TT_ASSERT_EQ_INT(tide_ts_floor(-1, TIDE_TS_UNIT_DAY), -DAY);
    TT_ASSERT_EQ_INT(tide_ts_floor(-1, TIDE_TS_UNIT_YEAR), -365 * DAY);
    TT_ASSERT_EQ_INT(tide_ts_floor(0, TIDE_TS_UNIT_WEEK), -3 * DAY); /* Mon 1969-12-29 */
    TT_ASSERT(tide_ts_floor(INT64_MIN, TIDE_TS_UNIT_DAY) == INT64_MIN);
    TT_ASSERT(tide_ts_floor(INT64_MAX, TIDE_TS_UNIT_DAY) == INT64_MAX);
    TT_ASSERT(tide_ts_floor(INT64_MIN + 1, TIDE_TS_UNIT_DAY) == INT64_MIN); /* saturates */
    TT_ASSERT(tide_ts_floor(INT64_MIN + 1, TIDE_TS_UNIT_YEAR) == INT64_MIN);
    TT_ASSERT(tide_ts_floor(INT64_MAX - 1, TIDE_TS_UNIT_SECOND) == INT64_MAX - 807);
}

static void test_parse_errors(void)
{
    static const struct {
        const char *text;
        const char *reason;
        unsigned column;
    } cases[] = {
        {"", "empty timestamp", 1},
        {"2024-13-01", "month out of range", 6},
        {"2024-00-01", "month out of range", 6},
        {"2023-02-29", "day out of range for the month", 9},
        {"2024-02-30", "day out of range for the month", 9},
        {"1900-02-29", "day out of range for the month", 9},
        {"2100-02-29 00:00:00", "day out of range for the month", 9},
        {"2024-04-31", "day out of range for the month", 9},
        {"2024-01-32", "day out of range", 9},
        {"2024-01-00", "day out of range", 9},
        {"2024-01-01 24:00:00", "hour out of range", 12},
        {"2024-01-01 23:60:00", "minute out of range", 15},
        {"2024-01-01 23:59:60", "second out of range", 18},
        {"2024-01-01T00:00:00+24:00", "zone hour out of range", 21},
        {"2024-01-01T00:00:00+01:60", "zone minute out of range", 24},
        {"2024-01-01T00:00:00+1", "expected a 2-digit zone hour", 21},
        {"2024-01-01T00:00:00.", "expected a digit after '.'", 21},
        {"2024-01-01X00:00:00", "expected 'T' or ' ' after the date", 11},
        {"2024-1-01", "expected a 2-digit month", 6},
        {"2024-01/01", "expected '-' after the month", 8},
        {"2024-01-1", "expected a 2-digit day", 9},
        {"2024-01-01 1:00:00", "expected a 2-digit hour", 12},
        {"2024-01-01 10-00", "expected ':' after the hour", 14},
        {"2024-01-01 10:00:00 ", "expected ':', '.', 'Z' or a zone offset", 20},
        {"2024-01-01 10:00:00Zx", "unexpected text after the timestamp", 21},
        {"2024-01-01 ", "expected a 2-digit hour", 12},
        {"12a4", "expected a digit (epoch milliseconds or YYYY-MM-DD...)", 3},
        {"abc", "expected a digit (epoch milliseconds or YYYY-MM-DD...)", 1},
        {"-", "expected digits after the sign", 2},
        {"9223372036854775808", "epoch milliseconds out of range", 1},
        {"-9223372036854775809", "epoch milliseconds out of range", 1},
        {" 2024-01-01", "expected a digit (epoch milliseconds or YYYY-MM-DD...)", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t v = 12345;
        tide_ts_error err = {0};
        int rc = tide_ts_parse(cases[i].text, strlen(cases[i].text), &v, &err);
        TT_ASSERT_MSG(rc == TIDE_EPARSE, "\"%s\" parsed", cases[i].text);
        TT_ASSERT_EQ_INT(v, 12345);
        TT_ASSERT_MSG(strcmp(err.reason, cases[i].reason) == 0, "\"%s\": reason \"%s\"",
                      cases[i].text, err.reason);
        TT_ASSERT_MSG(err.column == cases[i].column, "\"%s\": column %u, want %u", cases[i].text,
                      err.column, cases[i].column);
    }
}

/* Every int64 formats to a text that parses back to it. */
static void test_format_parse_all_int64(void)
{
    uint64_t seed = tt_seed(0xa11b175ull);
    static const int64_t edges[] = {INT64_MIN, INT64_MIN + 1, INT64_MAX, INT64_MAX - 1, 0, -1,
                                    253402300800000LL, -62167219200001LL, -62167219200000LL};
    for (int it = 0; it < 300000; it++) {
        int64_t ms;
        if (it < (int)(sizeof edges / sizeof edges[0]))
            ms = edges[it];
        else if (it % 2)
            ms = (int64_t)tt_rand(&seed);
        else
            ms = (int64_t)tt_rand(&seed) >> (tt_rand(&seed) % 64);
        char buf[TIDE_TS_FORMAT_MAX];
        size_t n = tide_ts_format(ms, buf);
        int64_t back;
        tide_ts_error err = {0};
        int rc = tide_ts_parse(buf, n, &back, &err);
        if (rc != 0 || back != ms) {
            TT_SEED(seed);
            TT_ASSERT_MSG(0, "%lld -> %s -> rc %d (%s) %lld", (long long)ms, buf, rc, rc ? err.reason : "",
                          (long long)back);
        }
    }
    /* expanded years by hand */
    int64_t v;
    TT_OK(tide_ts_parse("+10000-01-01", 12, &v, NULL));
    TT_ASSERT_EQ_INT(v, 253402300800000LL);
    TT_OK(tide_ts_parse("-0001-12-31 23:59:59.999", 24, &v, NULL));
    TT_ASSERT_EQ_INT(v, -62167219200001LL);
    TT_OK(tide_ts_parse("+2024-02-29", 11, &v, NULL));
    TT_ASSERT_EQ_INT(v, 1709164800000LL);
    /* one past the ends */
    tide_ts_error err;
    TT_ASSERT_EQ_INT(tide_ts_parse("+292278994-08-17 07:12:55.808", 29, &v, &err), TIDE_EPARSE);
    TT_ASSERT_EQ_STR(err.reason, "timestamp out of range");
    TT_ASSERT_EQ_INT(tide_ts_parse("-292275055-05-16 16:47:04.191", 29, &v, &err), TIDE_EPARSE);
    TT_ASSERT_EQ_STR(err.reason, "timestamp out of range");
    TT_ASSERT_EQ_INT(tide_ts_parse("+292278994-08-17T09:12:55.807+02:00", 35, &v, NULL), 0);
    TT_ASSERT(v == INT64_MAX);
    TT_ASSERT_EQ_INT(tide_ts_parse("+1234567890-01-01", 17, &v, &err), TIDE_EPARSE);
    TT_ASSERT_EQ_STR(err.reason, "year out of range");
    TT_ASSERT_EQ_INT(tide_ts_parse("12345-01-01", 11, &v, &err), TIDE_EPARSE); /* 5 digits need a sign */
}

/* Walk day by day with a naive calendar; compare both conversions. */
static void test_civil_walk(void)
{
    int64_t y = 1600;
    unsigned m = 1, d = 1;
    int64_t day = tide_ts_days_from_civil(1600, 1, 1);
    /* 1600-01-01 .. 2400-12-31 contains every leap rule twice */
    for (; y <= 2400; day++) {
        int64_t yy;
        unsigned mm, dd;
        tide_ts_civil_from_days(day, &yy, &mm, &dd);
        TT_ASSERT_MSG(yy == y && mm == m && dd == d, "day %lld", (long long)day);
        TT_ASSERT_EQ_INT(tide_ts_days_from_civil(y, m, d), day);
        bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        unsigned len = m == 2 ? (leap ? 29 : 28) : (m == 4 || m == 6 || m == 9 || m == 11) ? 30 : 31;
        TT_ASSERT_EQ_INT(tide_ts_days_in_month(y, m), len);
        if (++d > len) {
            d = 1;
            if (++m > 12) {
                m = 1;
                y++;
            }
        }
    }
    TT_ASSERT_EQ_INT(tide_ts_days_from_civil(1970, 1, 1), 0);
}

/* Random instants: format must equal a libc-built string, parse of several
 * libc-built spellings must give the instant back. */
static void test_random_vs_libc(void)
{
    uint64_t seed = tt_seed(0x7153a11ull);
    const int64_t lo = -62167219200000LL;      /* 0000-01-01 */
    const int64_t span = 253402300800000LL - lo; /* .. 9999-12-31 */
    for (int it = 0; it < 200000; it++) {
        uint64_t r = tt_rand(&seed);
        int64_t ms;
        switch (it % 4) {
        case 0: ms = lo + (int64_t)(r % (uint64_t)span); break;
        case 1: ms = (int64_t)(r % 8000000000000ULL) - 4000000000000LL; break; /* 1843..2096 */
        case 2: ms = (int64_t)(r % 200000) - 100000; break;                   /* around 1970 */
        default: ms = lo + (int64_t)(r % (uint64_t)span) / DAY * DAY; break;  /* midnights */
        }
        struct tm tm;
        int milli;
        ref_fields(ms, &tm, &milli);
        char want[64], got[TIDE_TS_FORMAT_MAX];
        snprintf(want, sizeof want, "%04d-%02d-%02d %02d:%02d:%02d.%03d", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, milli);
        size_t n = tide_ts_format(ms, got);
        if (strcmp(want, got) != 0 || n != strlen(want)) {
            TT_SEED(seed);
            TT_ASSERT_MSG(0, "ms %lld: got %s want %s", (long long)ms, got, want);
        }
        int64_t back;
        TT_OK(tide_ts_parse(got, n, &back, NULL));
        TT_ASSERT_EQ_INT(back, ms);

        /* ISO with a random zone: local wall time = utc + offset */
        int off_min = (int)(tt_rand(&seed) % (2 * 14 * 60 + 1)) - 14 * 60;
        int64_t local = ms + (int64_t)off_min * 60000;
        struct tm lt;
        int lmilli;
        ref_fields(local, &lt, &lmilli);
        if (lt.tm_year + 1900 < 0 || lt.tm_year + 1900 > 9999)
            continue;
        int ndig = (int)(tt_rand(&seed) % 7); /* 0 = no fraction */
        char frac[16] = "";
        if (ndig) {
            /* digits past 3 are noise, to be truncated */
            snprintf(frac, sizeof frac, ".%03d%03d", lmilli, (int)(tt_rand(&seed) % 1000));
            frac[1 + ndig] = '\0';
        }
        int64_t expect = local - lmilli - (int64_t)off_min * 60000;
        if (ndig == 1)
            expect += lmilli / 100 * 100;
        else if (ndig == 2)
            expect += lmilli / 10 * 10;
        else if (ndig >= 3)
            expect += lmilli;
        char zone[16];
        int aoff = off_min < 0 ? -off_min : off_min;
        if (off_min == 0 && it % 2)
            snprintf(zone, sizeof zone, "Z");
        else
            snprintf(zone, sizeof zone, "%c%02d:%02d", off_min < 0 ? '-' : '+', aoff / 60, aoff % 60);
        char iso[96];
        int len = snprintf(iso, sizeof iso, "%04d-%02d-%02dT%02d:%02d:%02d%s%s", lt.tm_year + 1900,
                           lt.tm_mon + 1, lt.tm_mday, lt.tm_hour, lt.tm_min, lt.tm_sec, frac, zone);
        int64_t parsed;
        tide_ts_error err = {0};
        int rc = tide_ts_parse(iso, (size_t)len, &parsed, &err);
        if (rc != 0 || parsed != expect) {
            TT_SEED(seed);
            TT_ASSERT_MSG(0, "%s: rc %d (%s) got %lld want %lld", iso, rc, rc ? err.reason : "",
                          (long long)parsed, (long long)expect);
        }
        /* epoch ms spelled as an integer */
        char num[32];
        len = snprintf(num, sizeof num, "%lld", (long long)ms);
        TT_OK(tide_ts_parse(num, (size_t)len, &parsed, NULL));
        TT_ASSERT_EQ_INT(parsed, ms);
    }
}

/* Floor to every unit against timegm() of zeroed gmtime_r() fields. */
static void test_floor_vs_libc(void)
{
    uint64_t seed = tt_seed(0xf100full);
    for (int it = 0; it < 100000; it++) {
        uint64_t r = tt_rand(&seed);
        int64_t ms = (int64_t)(r % 400000000000000ULL) - 200000000000000ULL; /* ~1632..8307 */
        struct tm tm;
        int milli;
        ref_fields(ms, &tm, &milli);
        int64_t sec = (ms - milli) / 1000;
        struct tm z = tm;
        int64_t want[TIDE_TS_UNIT_COUNT];
        want[TIDE_TS_UNIT_MILLISECOND] = ms;
        want[TIDE_TS_UNIT_SECOND] = sec * 1000;
        want[TIDE_TS_UNIT_MINUTE] = (sec - tm.tm_sec) * 1000;
        z.tm_sec = 0;
        z.tm_min = 0;
        want[TIDE_TS_UNIT_HOUR] = (int64_t)timegm(&z) * 1000;
        z = tm;
        z.tm_sec = z.tm_min = z.tm_hour = 0;
        int64_t day0 = (int64_t)timegm(&z) * 1000;
        want[TIDE_TS_UNIT_DAY] = day0;
        want[TIDE_TS_UNIT_WEEK] = day0 - (int64_t)((tm.tm_wday + 6) % 7) * DAY;
        z = tm;
        z.tm_sec = z.tm_min = z.tm_hour = 0;
        z.tm_mday = 1;
        want[TIDE_TS_UNIT_MONTH] = (int64_t)timegm(&z) * 1000;
        z.tm_mon = z.tm_mon / 3 * 3;
        want[TIDE_TS_UNIT_QUARTER] = (int64_t)timegm(&z) * 1000;
        z.tm_mon = 0;
        want[TIDE_TS_UNIT_YEAR] = (int64_t)timegm(&z) * 1000;
        for (int u = 0; u < TIDE_TS_UNIT_COUNT; u++) {
            int64_t got = tide_ts_floor(ms, (tide_ts_unit)u);
            if (got != want[u]) {
                TT_SEED(seed);
                TT_ASSERT_MSG(0, "floor(%lld TO %s) = %lld, want %lld", (long long)ms,
                              tide_ts_unit_name((tide_ts_unit)u), (long long)got, (long long)want[u]);
            }
        }
    }
}

static void test_units(void)
{
    tide_ts_unit u;
    TT_OK(tide_ts_unit_parse("day", 3, &u));
    TT_ASSERT_EQ_INT(u, TIDE_TS_UNIT_DAY);
    TT_OK(tide_ts_unit_parse("Month", 5, &u));
    TT_ASSERT_EQ_INT(u, TIDE_TS_UNIT_MONTH);
    TT_ASSERT_EQ_INT(tide_ts_unit_parse("days", 4, &u), TIDE_ENOENT);
    TT_ASSERT_EQ_INT(tide_ts_unit_parse("da", 2, &u), TIDE_ENOENT);
    TT_ASSERT_EQ_STR(tide_ts_unit_name(TIDE_TS_UNIT_WEEK), "WEEK");
}

int main(void)
{
    TT_RUN(test_hand_checked);
    TT_RUN(test_parse_errors);
    TT_RUN(test_civil_walk);
    TT_RUN(test_format_parse_all_int64);
    TT_RUN(test_random_vs_libc);
    TT_RUN(test_floor_vs_libc);
    TT_RUN(test_units);
    TT_DONE();
}
