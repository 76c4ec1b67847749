/*
 * timefmt.c - timestamp parsing, formatting and flooring.
 *
 * The calendar conversions are the classic era-based formulas for the
 * proleptic Gregorian calendar: a 400-year era has exactly 146097 days, and
 * shifting the year to start on March 1st puts the leap day at the end of
 * the (shifted) year, so day-of-year -> month is a linear formula.
 */
#include "data/timefmt.h"

#include "tide.h"

#include <stdbool.h>
#include <string.h>

int64_t tide_ts_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;                                      /* [0, 399] */
    int64_t doy = (153 * (int64_t)(m > 2 ? m - 3 : m + 9) + 2) / 5 + (int64_t)d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;              /* [0, 146096] */
    return era * 146097 + doe - 719468;
}

void tide_ts_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    unsigned mm = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *m = mm;
    *y = yoe + era * 400 + (mm <= 2);
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

unsigned tide_ts_days_in_month(int64_t y, unsigned m)
{
    static const unsigned char dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12)
        return 0;
    return dim[m - 1] + (m == 2 && is_leap(y));
}

/* ---- parsing ---- */

static inline bool is_digit(unsigned char c)
{
    return (unsigned)(c - '0') < 10u;
}

/* Two digits at s[i], s[i+1] (bounds checked). */
static inline bool two_digits(const char *s, size_t len, size_t i, unsigned *v)
{
    if (i + 2 > len || !is_digit((unsigned char)s[i]) || !is_digit((unsigned char)s[i + 1]))
        return false;
    *v = (unsigned)(s[i] - '0') * 10 + (unsigned)(s[i + 1] - '0');
    return true;
}

static int parse_epoch(const char *s, size_t len, int64_t *out_ms, tide_ts_error *err)
{
    size_t i = 0;
    bool neg = false;
    const char *why;
    if (s[0] == '+' || s[0] == '-') {
        neg = s[0] == '-';
        i = 1;
    }
    if (i == len) {
        why = "expected digits after the sign";
        goto fail;
    }
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    uint64_t v = 0;
    for (; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!is_digit(c)) {
            why = "expected a digit (epoch milliseconds or YYYY-MM-DD...)";
            goto fail;
        }
        unsigned dd = (unsigned)(c - '0');
        if (v > (limit - dd) / 10) {
            why = "epoch milliseconds out of range";
            i = 0;
            goto fail;
        }
        v = v * 10 + dd;
    }
    *out_ms = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
fail:
    if (err) {
        err->reason = why;
        err->column = (uint32_t)i + 1;
    }
    return TIDE_EPARSE;
}

int tide_ts_parse(const char *s, size_t len, int64_t *out_ms, tide_ts_error *err)
{
    const char *why;
    size_t col; /* 0-based position of the fault */
    unsigned mo, dd, hh = 0, mi = 0, ss = 0, frac = 0;
    int64_t offset_ms = 0;

    if (len == 0) {
        why = "empty timestamp";
        col = 0;
        goto fail;
    }
    /* A date starts with [+-]YYYY (4 digits, more only after a sign) and a
     * '-'; anything else is epoch milliseconds. */
    size_t y0 = (s[0] == '+' || s[0] == '-') ? 1 : 0, j = y0;
    while (j < len && is_digit((unsigned char)s[j]))
        j++;
    if (!(j < len && s[j] == '-' && (j - y0 == 4 || (y0 && j - y0 > 4))))
        return parse_epoch(s, len, out_ms, err);
    if (j - y0 > 9) {
        why = "year out of range";
        col = 0;
        goto fail;
    }
    int64_t year = 0;
    for (size_t k = y0; k < j; k++)
        year = year * 10 + (s[k] - '0');
    if (s[0] == '-')
        year = -year;
    size_t i = j + 1; /* the month */
    if (!two_digits(s, len, i, &mo)) {
        why = "expected a 2-digit month";
        col = i;
        goto fail;
    }
    if (mo < 1 || mo > 12) {
        why = "month out of range";
        col = i;
        goto fail;
    }
    i += 2;
    if (i >= len || s[i] != '-') {
        why = "expected '-' after the month";
        col = i;
        goto fail;
    }
    i++;
    if (!two_digits(s, len, i, &dd)) {
        why = "expected a 2-digit day";
        col = i;
        goto fail;
    }
    if (dd < 1 || dd > 31) {
        why = "day out of range";
        col = i;
        goto fail;
    }
    if (dd > tide_ts_days_in_month(year, mo)) {
        why = "day out of range for the month";
        col = i;
        goto fail;
    }
    i += 2;
    if (i == len)
        goto done;
    if (s[i] != 'T' && s[i] != 't' && s[i] != ' ') {
        why = "expected 'T' or ' ' after the date";
        col = i;
        goto fail;
    }
    i++;
    if (!two_digits(s, len, i, &hh)) {
        why = "expected a 2-digit hour";
        col = i;
        goto fail;
    }
    if (hh > 23) {
        why = "hour out of range";
        col = i;
        goto fail;
    }
    i += 2;
    if (i >= len || s[i] != ':') {
        why = "expected ':' after the hour";
        col = i;
        goto fail;
    }
    i++;
    if (!two_digits(s, len, i, &mi)) {
        why = "expected a 2-digit minute";
        col = i;
        goto fail;
    }
    if (mi > 59) {
        why = "minute out of range";
        col = i;
        goto fail;
    }
    i += 2;
    if (i < len && s[i] == ':') {
        i++;
        if (!two_digits(s, len, i, &ss)) {
            why = "expected a 2-digit second";
            col = i;
            goto fail;
        }
        if (ss > 59) {
            why = "second out of range";
            col = i;
            goto fail;
        }
        i += 2;
        if (i < len && s[i] == '.') {
            i++;
            if (i >= len || !is_digit((unsigned char)s[i])) {
                why = "expected a digit after '.'";
                col = i;
                goto fail;
            }
            unsigned n = 0;
            for (; i < len && is_digit((unsigned char)s[i]); i++, n++)
                if (n < 3)
                    frac = frac * 10 + (unsigned)(s[i] - '0');
            for (; n < 3; n++)
                frac *= 10;
        }
    }
    if (i < len) {
        char c = s[i];
        if (c == 'Z' || c == 'z') {
            i++;
        } else if (c == '+' || c == '-') {
            unsigned oh, om = 0;
            size_t start = i;
            i++;
            if (!two_digits(s, len, i, &oh)) {
                why = "expected a 2-digit zone hour";
                col = i;
                goto fail;
            }
            if (oh > 23) {
                why = "zone hour out of range";
                col = i;
                goto fail;
            }
            i += 2;
            if (i < len) {
                if (s[i] == ':')
                    i++;
                if (!two_digits(s, len, i, &om)) {
                    why = "expected a 2-digit zone minute";
                    col = i;
                    goto fail;
                }
                if (om > 59) {
                    why = "zone minute out of range";
                    col = i;
                    goto fail;
                }
                i += 2;
            }
            offset_ms = (int64_t)oh * TIDE_TS_MS_PER_HOUR + (int64_t)om * TIDE_TS_MS_PER_MINUTE;
            if (s[start] == '-')
                offset_ms = -offset_ms;
        } else {
            why = "expected ':', '.', 'Z' or a zone offset";
            col = i;
            goto fail;
        }
    }
    if (i != len) {
        why = "unexpected text after the timestamp";
        col = i;
        goto fail;
    }
done:;
    /* days * DAY + tod, checked: with a 9-digit year the product can leave
     * int64 even when the sum does not (TIDE_TS_MIN's own text), so step
     * one day towards zero first when needed. */
    int64_t days = tide_ts_days_from_civil(year, mo, dd);
    int64_t tod = (int64_t)hh * TIDE_TS_MS_PER_HOUR + (int64_t)mi * TIDE_TS_MS_PER_MINUTE +
                  (int64_t)ss * TIDE_TS_MS_PER_SECOND + frac - offset_ms;
    int64_t base, total;
    if (__builtin_mul_overflow(days, TIDE_TS_MS_PER_DAY, &base)) {
        int64_t step = days < 0 ? 1 : -1;
        if (__builtin_mul_overflow(days + step, TIDE_TS_MS_PER_DAY, &base))
            goto range;
        tod -= step * TIDE_TS_MS_PER_DAY;
    }
    if (__builtin_add_overflow(base, tod, &total))
        goto range;
    *out_ms = total;
    return 0;
range:
    why = "timestamp out of range";
    col = 0;
fail:
    if (err) {
        err->reason = why;
        err->column = (uint32_t)col + 1;
    }
    return TIDE_EPARSE;
}

/* ---- formatting ---- */

static inline int64_t floor_div(int64_t a, int64_t b, int64_t *rem)
{
    int64_t q = a / b, r = a % b;
    if (r < 0) {
        r += b;
        q--;
    }
    *rem = r;
    return q;
}

static inline char *put2(char *p, unsigned v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
    return p + 2;
}

size_t tide_ts_format(int64_t ms, char *buf)
{
    int64_t r;
    int64_t days = floor_div(ms, TIDE_TS_MS_PER_DAY, &r);
    int64_t y;
    unsigned m, d;
    tide_ts_civil_from_days(days, &y, &m, &d);
    unsigned msod = (unsigned)r;
    char *p = buf;
    uint64_t uy;
    if (y < 0) {
        *p++ = '-';
        uy = (uint64_t)0 - (uint64_t)y;
    } else {
        if (y > 9999)
            *p++ = '+';
        uy = (uint64_t)y;
    }
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + uy % 10);
        uy /= 10;
    } while (uy);
    while (n < 4)
        tmp[n++] = '0';
    while (n)
        *p++ = tmp[--n];
    *p++ = '-';
    p = put2(p, m);
    *p++ = '-';
    p = put2(p, d);
    *p++ = ' ';
    unsigned sec = msod / 1000, milli = msod % 1000;
    p = put2(p, sec / 3600);
    *p++ = ':';
    p = put2(p, sec / 60 % 60);
    *p++ = ':';
    p = put2(p, sec % 60);
    *p++ = '.';
    *p++ = (char)('0' + milli / 100);
    p = put2(p, milli % 100);
    *p = '\0';
    return (size_t)(p - buf);
}

/* ---- units and floor ---- */

const char *tide_ts_unit_name(tide_ts_unit u)
{
    switch (u) {
#define TIDE__TS_UNIT_NAME(name, str) \
    case TIDE_TS_UNIT_##name:         \
        return str;
        TIDE_TS_UNIT_MAP(TIDE__TS_UNIT_NAME)
#undef TIDE__TS_UNIT_NAME
    case TIDE_TS_UNIT_COUNT:
        break;
    }
    return "?";
}

int tide_ts_unit_parse(const char *s, size_t len, tide_ts_unit *out)
{
    for (int u = 0; u < TIDE_TS_UNIT_COUNT; u++) {
        const char *name = tide_ts_unit_name((tide_ts_unit)u);
        size_t i = 0;
        for (; i < len && name[i]; i++) {
            char c = s[i];
            if (c >= 'a' && c <= 'z')
                c = (char)(c - 'a' + 'A');
            if (c != name[i])
                break;
        }
        if (i == len && name[i] == '\0') {
            *out = (tide_ts_unit)u;
            return 0;
        }
    }
    return TIDE_ENOENT;
}

/* q * unit, saturating to INT64_MIN when it would underflow (q <= 0 here
 * only matters; results above the input cannot happen for a floor). */
static inline int64_t scale_sat(int64_t q, int64_t unit)
{
    if (q < INT64_MIN / unit)
        return INT64_MIN;
    return q * unit;
}

int64_t tide_ts_floor(int64_t ms, tide_ts_unit unit)
{
    if (ms == INT64_MIN || ms == INT64_MAX)
        return ms;
    int64_t r;
    switch (unit) {
    case TIDE_TS_UNIT_MILLISECOND:
        return ms;
    case TIDE_TS_UNIT_SECOND:
        return scale_sat(floor_div(ms, TIDE_TS_MS_PER_SECOND, &r), TIDE_TS_MS_PER_SECOND);
    case TIDE_TS_UNIT_MINUTE:
        return scale_sat(floor_div(ms, TIDE_TS_MS_PER_MINUTE, &r), TIDE_TS_MS_PER_MINUTE);
    case TIDE_TS_UNIT_HOUR:
        return scale_sat(floor_div(ms, TIDE_TS_MS_PER_HOUR, &r), TIDE_TS_MS_PER_HOUR);
    case TIDE_TS_UNIT_DAY:
        return scale_sat(floor_div(ms, TIDE_TS_MS_PER_DAY, &r), TIDE_TS_MS_PER_DAY);
    case TIDE_TS_UNIT_WEEK: {
        int64_t days = floor_div(ms, TIDE_TS_MS_PER_DAY, &r);
        int64_t dow;
        floor_div(days + 3, 7, &dow); /* 1970-01-01 is a Thursday: Monday = 0 */
        return scale_sat(days - dow, TIDE_TS_MS_PER_DAY);
    }
    case TIDE_TS_UNIT_MONTH:
    case TIDE_TS_UNIT_QUARTER:
    case TIDE_TS_UNIT_YEAR: {
        int64_t days = floor_div(ms, TIDE_TS_MS_PER_DAY, &r), y;
        unsigned m, d;
        tide_ts_civil_from_days(days, &y, &m, &d);
        if (unit == TIDE_TS_UNIT_YEAR)
            m = 1;
        else if (unit == TIDE_TS_UNIT_QUARTER)
            m = (m - 1) / 3 * 3 + 1;
        return scale_sat(tide_ts_days_from_civil(y, m, 1), TIDE_TS_MS_PER_DAY);
    }
    case TIDE_TS_UNIT_COUNT:
        break;
    }
    return ms;
}

int tide_ts_duration_parse(const char *v, int64_t *out)
{
    static const struct {
        const char *name;
        int64_t ms;
    } units[] = {{"ms", 1},           {"milliseconds", 1}, {"s", 1000},      {"sec", 1000},
                 {"second", 1000},    {"seconds", 1000},   {"min", 60000},   {"minute", 60000},
                 {"minutes", 60000},  {"h", 3600000},      {"hour", 3600000}, {"hours", 3600000},
                 {"d", 86400000},     {"day", 86400000},   {"days", 86400000}};
    const char *p = v;
    int64_t n = 0;
    if (*p < '0' || *p > '9')
        return -1;
    while (*p >= '0' && *p <= '9') {
        if (n > (INT64_MAX - 9) / 10)
            return -1;
        n = n * 10 + (*p++ - '0');
    }
    while (*p == ' ')
        p++;
    int64_t mul = 1;
    if (*p) {
        size_t i, nu = sizeof units / sizeof units[0];
        for (i = 0; i < nu && strcmp(p, units[i].name) != 0; i++)
            ;
        if (i == nu)
            return -1;
        mul = units[i].ms;
    }
    if (n > INT64_MAX / mul)
        return -1;
    *out = n * mul;
    return 0;
}
