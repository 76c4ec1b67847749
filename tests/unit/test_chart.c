/*
 * test_chart.c - the terminal chart (data/chart.h): grouping, scaling,
 * rounding, number format, label widths, and whole charts compared with
 * outputs worked out by hand from the rules in chart.h.
 */
#include "data/chart.h"
#include "tt.h"

#include <math.h>

static const char *fmt(double v, bool percent)
{
    static char s[64];
    tide_buf b = {0};
    if (tide_chart_fmt(&b, v, percent) || b.len >= sizeof s) {
        tide_buf_free(&b);
        return "<error>";
    }
    memcpy(s, b.data, b.len);
    s[b.len] = '\0';
    tide_buf_free(&b);
    return s;
}

static void test_group(void)
{
    TT_ASSERT_EQ_INT(tide_chart_group(0, 5), 1);
    TT_ASSERT_EQ_INT(tide_chart_group(10, 10), 1);
    TT_ASSERT_EQ_INT(tide_chart_group(11, 10), 2);
    TT_ASSERT_EQ_INT(tide_chart_group(91, 73), 2);
    TT_ASSERT_EQ_INT(tide_chart_group(100, 7), 15); /* 100/7 = 14.3 */
    TT_ASSERT_EQ_INT(tide_chart_group(146, 73), 2);
    TT_ASSERT_EQ_INT(tide_chart_group(147, 73), 3);
}

static void test_level(void)
{
    /* 1 + round((v - lo) / (hi - lo) * (levels - 1)), half up */
    TT_ASSERT_EQ_INT(tide_chart_level(0, 0, 10, 32), 1);
    TT_ASSERT_EQ_INT(tide_chart_level(10, 0, 10, 32), 32);
    TT_ASSERT_EQ_INT(tide_chart_level(5, 0, 10, 32), 17); /* 15.5 -> 16 */
    TT_ASSERT_EQ_INT(tide_chart_level(2, 0, 4, 16), 9);   /* 7.5 -> 8 */
    TT_ASSERT_EQ_INT(tide_chart_level(1, 0, 3, 8), 3);    /* 2.33 -> 2 */
    TT_ASSERT_EQ_INT(tide_chart_level(2, 0, 3, 8), 6);    /* 4.67 -> 5 */
    TT_ASSERT_EQ_INT(tide_chart_level(-1, 0, 10, 8), 1);  /* clamped */
    TT_ASSERT_EQ_INT(tide_chart_level(11, 0, 10, 8), 8);  /* clamped */
    TT_ASSERT_EQ_INT(tide_chart_level(7, 7, 7, 24), 24);  /* flat: full */
    TT_ASSERT_EQ_INT(tide_chart_level(-5, -10, 0, 9), 5); /* 4 -> 4 */
    /* every level is reached exactly once over an even ramp */
    for (uint32_t L = 1; L <= 40; L++)
        TT_ASSERT_EQ_INT(tide_chart_level((double)(L - 1), 0, 39, 40), L);
}

static void test_fmt(void)
{
    TT_ASSERT_EQ_STR(fmt(0, false), "0");
    TT_ASSERT_EQ_STR(fmt(7, false), "7");
    TT_ASSERT_EQ_STR(fmt(999, false), "999");
    TT_ASSERT_EQ_STR(fmt(2513, false), "2,513");
    TT_ASSERT_EQ_STR(fmt(1234567, false), "1,234,567");
    TT_ASSERT_EQ_STR(fmt(-1234, false), "-1,234");
    TT_ASSERT_EQ_STR(fmt(1000000, false), "1,000,000");
    TT_ASSERT_EQ_STR(fmt(1000.4, false), "1,000"); /* >= 1000: integer */
    TT_ASSERT_EQ_STR(fmt(2513.5, false), "2,514"); /* half away from zero */
    TT_ASSERT_EQ_STR(fmt(999.5, false), "999.5");
    TT_ASSERT_EQ_STR(fmt(12.34, false), "12.3");
    TT_ASSERT_EQ_STR(fmt(2.5, false), "2.5");
    TT_ASSERT_EQ_STR(fmt(2.126, false), "2.13"); /* 2 decimals under 10 */
    TT_ASSERT_EQ_STR(fmt(0.125, false), "0.125");
    TT_ASSERT_EQ_STR(fmt(0.5, false), "0.5");
    TT_ASSERT_EQ_STR(fmt(-0.25, false), "-0.25");
    TT_ASSERT_EQ_STR(fmt(-0.0001, false), "0");
    TT_ASSERT_EQ_STR(fmt(0.1234, true), "12.3%");
    TT_ASSERT_EQ_STR(fmt(0.5, true), "50%");
    TT_ASSERT_EQ_STR(fmt(1, true), "100%");
    TT_ASSERT_EQ_STR(fmt(0, true), "0%");
    TT_ASSERT_EQ_STR(fmt(0.0626, true), "6.3%");
}

static void test_ratio(void)
{
    double a[] = {0.1, 0.5, 0.0};
    TT_ASSERT(tide_chart_is_ratio(a, NULL, 3));
    double b[] = {0, 1, 1};
    TT_ASSERT(!tide_chart_is_ratio(b, NULL, 3)); /* integers: counts, not shares */
    double c[] = {0.5, 2};
    TT_ASSERT(!tide_chart_is_ratio(c, NULL, 2));
    bool pres[] = {true, false};
    TT_ASSERT(tide_chart_is_ratio(c, pres, 2)); /* the 2 is missing */
    double d[] = {-0.1, 0.5};
    TT_ASSERT(!tide_chart_is_ratio(d, NULL, 2));
    TT_ASSERT(!tide_chart_is_ratio(d, NULL, 0));
}

static void test_suffix_and_width(void)
{
    const char *days[] = {"2024-01-01 00:00:00.000", "2024-01-02 00:00:00.000"};
    TT_ASSERT_EQ_INT(tide_chart_common_suffix(days, 2), strlen(" 00:00:00.000"));
    const char *iso[] = {"2024-01-01T00:00:00", "2024-01-02T00:00:00"};
    TT_ASSERT_EQ_INT(tide_chart_common_suffix(iso, 2), strlen("T00:00:00"));
    const char *mixed[] = {"2024-01-01 00:00:00.000", "2024-01-02 12:00:00.000"};
    TT_ASSERT_EQ_INT(tide_chart_common_suffix(mixed, 2), 0); /* ":00:00.000" starts at no blank */
    const char *words[] = {"a b", "c b"};
    TT_ASSERT_EQ_INT(tide_chart_common_suffix(words, 2), 2);
    const char *whole[] = {" b", "a b"};
    TT_ASSERT_EQ_INT(tide_chart_common_suffix(whole, 2), 0); /* would empty " b" */
    const char *one[] = {"x"};
    TT_ASSERT_EQ_INT(tide_chart_common_suffix(one, 1), 0);
    TT_ASSERT_EQ_INT(tide_chart_display_width("abc"), 3);
    TT_ASSERT_EQ_INT(tide_chart_display_width("\u2588\u2581x"), 3);
    TT_ASSERT_EQ_INT(tide_chart_display_width(""), 0);
}

static int render(const char *const *x, size_t n, const tide_chart_series *s, size_t ns,
                  const tide_chart_opts *o, tide_buf *out)
{
    tide_err e = {0};
    tide_buf_reset(out);
    int rc = tide_chart_render(x, n, s, ns, o, out, &e);
    if (!rc)
        rc = tide_buf_putc(out, '\0');
    return rc;
}

static void test_render_one_row(void)
{
    /* lo 0, hi 3, 8 steps: 0 -> 1, 1 -> 1 + round(2.33) = 3, 2 -> 1 + round(4.67) = 6, 3 -> 8 */
    const char *x[] = {"a", "b", "c", "d"};
    double v[] = {0, 1, 2, 3};
    tide_chart_series s = {.name = "y", .v = v};
    tide_chart_opts o = {.width = 24, .height = 1};
    tide_buf out = {0};
    TT_ASSERT_EQ_INT(render(x, 4, &s, 1, &o, &out), 0);
    TT_ASSERT_EQ_STR((const char *)out.data, "y  min 0  max 3  last 3\n"
                                             "3 \u2524\u2581\u2583\u2586\u2588\n"
                                             "  \u2514\u2500\u2500\u2500\u2500\n"
                                             "   a  d\n");
    o.ascii = true;
    TT_ASSERT_EQ_INT(render(x, 4, &s, 1, &o, &out), 0);
    TT_ASSERT_EQ_STR((const char *)out.data, "y  min 0  max 3  last 3\n"
                                             "3 +.:=#\n"
                                             "  +----\n"
                                             "   a  d\n");
    tide_buf_free(&out);
}

static void test_render_two_rows_missing(void)
{
    /* lo 0, hi 4, 16 steps: 4 -> 16, 0 -> 1, 2 -> 1 + round(7.5) = 9.
     * Top row (steps 9..16): 8, -, 0, 1; bottom row (1..8): 8, -, 1, 8. */
    const char *x[] = {"a", "b", "c", "d"};
    double v[] = {4, 99, 0, 2};
    bool pres[] = {true, false, true, true};
    tide_chart_series s = {.name = "s", .v = v, .present = pres};
    tide_chart_opts o = {.width = 24, .height = 2};
    tide_buf out = {0};
    TT_ASSERT_EQ_INT(render(x, 4, &s, 1, &o, &out), 0);
    TT_ASSERT_EQ_STR((const char *)out.data, "s  min 0  max 4  last 2\n"
                                             "4 \u2524\u2588  \u2581\n"
                                             "0 \u2524\u2588 \u2581\u2588\n"
                                             "  \u2514\u2500\u2500\u2500\u2500\n"
                                             "   a  d\n");
    tide_buf_free(&out);
}

static void test_render_grouped(void)
{
    /* 30 values 1..30, width 24.  One column each: labels "1"/"30" (2 wide)
     * leave 24 - 2 - 2 = 20 columns < 30, so k = 2: 15 columns of means
     * 1.5, 3.5, .., 29.5; labels "29.5"/"1.5" (4 wide) leave 18 >= 15.
     * Column c: 1 + round(c / 14 * 7) = 1 + floor(c / 2 + 0.5). */
    const char *x[30];
    char names[30][4];
    double v[30];
    for (int i = 0; i < 30; i++) {
        snprintf(names[i], sizeof names[i], "%d", i + 1);
        x[i] = names[i];
        v[i] = i + 1;
    }
    const char *bars[9] = {"",       "\u2581", "\u2582", "\u2583", "\u2584",
                           "\u2585", "\u2586", "\u2587", "\u2588"};
    char want[1024];
    /* the title drops "  last 30": it would make 25 columns */
    int n = snprintf(want, sizeof want, "v  min 1  max 30\n29.5 \u2524");
    for (int c = 0; c < 15; c++)
        n += snprintf(want + n, sizeof want - (size_t)n, "%s", bars[1 + (int)floor(c / 2.0 + 0.5)]);
    n += snprintf(want + n, sizeof want - (size_t)n, "\n     \u2514");
    for (int c = 0; c < 15; c++)
        n += snprintf(want + n, sizeof want - (size_t)n, "\u2500");
    /* labels: "1" at column 0, x[7 * 2] = "15" at the middle column 7,
     * x[14 * 2] = "29" ending at column 14 */
    snprintf(want + n, sizeof want - (size_t)n,
             "\n      1      15    29\n(30 rows, 2 to a column: each column is their mean)\n");
    tide_chart_series s = {.name = "v", .v = v};
    tide_chart_opts o = {.width = 24, .height = 1};
    tide_buf out = {0};
    TT_ASSERT_EQ_INT(render(x, 30, &s, 1, &o, &out), 0);
    TT_ASSERT_EQ_STR((const char *)out.data, want);
    tide_buf_free(&out);
}

static void test_render_panels_percent_zero(void)
{
    /* Two panels share the label width (the widest of "1,200", "1,000",
     * "50%", "25%" = 5) and the x axis; the percent panel labels as percent. */
    const char *x[] = {"2024-01-01 00:00:00.000", "2024-01-02 00:00:00.000",
                       "2024-01-03 00:00:00.000"};
    double users[] = {1000, 1200, 1100}, churn[] = {0.25, 0.5, 0.375};
    tide_chart_series s[2] = {{.name = "users", .v = users},
                              {.name = "churn", .v = churn, .percent = true}};
    tide_chart_opts o = {.width = 40, .height = 1};
    tide_buf out = {0};
    /* users: lo 1000 hi 1200: 1, 8, 1 + round(3.5) = 5; churn: lo .25 hi .5: 1, 8, 5 */
    TT_ASSERT_EQ_INT(render(x, 3, s, 2, &o, &out), 0);
    TT_ASSERT_EQ_STR((const char *)out.data, "users  min 1,000  max 1,200  last 1,100\n"
                                             "1,200 \u2524\u2581\u2588\u2585\n"
                                             "churn  min 25%  max 50%  last 37.5%\n"
                                             "  50% \u2524\u2581\u2588\u2585\n"
                                             "      \u2514\u2500\u2500\u2500\n"
                                             "       2024-01-01\n");
    /* zero: the axis is 0..1200: 1000 -> 1 + round(5.83) = 7, 1200 -> 8,
     * 1100 -> 1 + round(6.42) = 7 */
    o.zero = true;
    TT_ASSERT_EQ_INT(render(x, 3, s, 1, &o, &out), 0);
    TT_ASSERT_EQ_STR((const char *)out.data, "users  min 1,000  max 1,200  last 1,100\n"
                                             "1,200 \u2524\u2587\u2588\u2587\n"
                                             "      \u2514\u2500\u2500\u2500\n"
                                             "       2024-01-01\n");
    tide_buf_free(&out);
}

static void test_render_widths(void)
{
    /* every line fits the width, for many sizes */
    double v[500];
    const char *x[500];
    for (int i = 0; i < 500; i++) {
        v[i] = (i * 7919) % 1000 * 12.5;
        x[i] = "2024-01-01";
    }
    tide_chart_series s = {.name = "v", .v = v};
    tide_buf out = {0};
    for (uint32_t w = 24; w <= 120; w += 7)
        for (size_t n = 1; n <= 500; n = n * 3 + 1) {
            tide_chart_opts o = {.width = w, .height = 3};
            TT_ASSERT_EQ_INT(render(x, n, &s, 1, &o, &out), 0);
            const char *p = (const char *)out.data;
            while (*p) {
                const char *nl = strchr(p, '\n');
                TT_ASSERT(nl);
                char line[4096];
                size_t len = (size_t)(nl - p);
                TT_ASSERT(len < sizeof line);
                memcpy(line, p, len);
                line[len] = '\0';
                TT_ASSERT_MSG(tide_chart_display_width(line) <= w || line[0] == '(',
                              "width %u n %zu: '%s'", w, n, line);
                p = nl + 1;
            }
        }
    tide_buf_free(&out);
}

static void test_render_errors(void)
{
    const char *x[] = {"a"};
    double v[] = {1};
    tide_chart_series s = {.name = "v", .v = v};
    tide_buf out = {0};
    tide_err e = {0};
    tide_chart_opts o = {.width = 10};
    TT_ASSERT_EQ_INT(tide_chart_render(x, 1, &s, 1, &o, &out, &e), TIDE_EINVAL);
    TT_ASSERT(strstr(e.msg, "width 10"));
    o.width = 80;
    o.height = 41;
    TT_ASSERT_EQ_INT(tide_chart_render(x, 1, &s, 1, &o, &out, &e), TIDE_EINVAL);
    o.height = 0;
    TT_ASSERT_EQ_INT(tide_chart_render(x, 1, &s, 0, &o, &out, &e), TIDE_EINVAL);
    double big[] = {1e17};
    tide_chart_series sb = {.name = "v", .v = big};
    o.width = 24; /* "100,000,000,000,000,000" leaves no room */
    TT_ASSERT_EQ_INT(tide_chart_render(x, 1, &sb, 1, &o, &out, &e), TIDE_EINVAL);
    tide_buf_reset(&out);
    TT_ASSERT_EQ_INT(render(x, 0, &s, 1, &o, &out), 0);
    TT_ASSERT_EQ_STR((const char *)out.data, "v  (no rows)\n");
    tide_buf_free(&out);
}

int main(void)
{
    TT_RUN(test_group);
    TT_RUN(test_level);
    TT_RUN(test_fmt);
    TT_RUN(test_ratio);
    TT_RUN(test_suffix_and_width);
    TT_RUN(test_render_one_row);
    TT_RUN(test_render_two_rows_missing);
    TT_RUN(test_render_grouped);
    TT_RUN(test_render_panels_percent_zero);
    TT_RUN(test_render_widths);
    TT_RUN(test_render_errors);
    TT_DONE();
}
