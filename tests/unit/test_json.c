/* Unit tests of data/json: the JSON object lexer (types, values, escapes,
 * surrogate pairs, numbers, nested spans, errors with columns) and the
 * string writer (escaping, invalid UTF-8 replaced, round trip). */
#include "data/json.h"
#include "tt.h"

#include <math.h>
#include <time.h>

static bool text_is(const tide_json_value *v, const char *s)
{
    return v && v->len == strlen(s) && memcmp(v->text, s, v->len) == 0;
}

static int parse(tide_json *j, const char *s, tide_err *e)
{
    tide_err_clear(e);
    return tide_json_parse_object(j, s, strlen(s), NULL, e);
}

static void test_fields_and_types(void)
{
    tide_json j;
    tide_json_init(&j);
    tide_err e = {0};
    const char *line = " {\"user\":\"ann\", \"n\": -42, \"x\":1.5e3,\"t\":true,\"f\":false,\"z\":null,"
                       "\"o\":{\"a\":[1,2,{\"b\":\"}\"}]},\"arr\":[ ],\"e\":{}}  ";
    TT_OK(parse(&j, line, &e));
    TT_ASSERT_EQ_INT(tide_json_count(&j), 9);
    const tide_json_value *v = tide_json_get(&j, "user", 4);
    TT_ASSERT(v && v->type == TIDE_JSON_STRING && text_is(v, "ann"));
    TT_ASSERT_EQ_INT(v->col, 10);
    TT_ASSERT(v->raw_len == 5 && v->raw[0] == '"');
    v = tide_json_get(&j, "n", 1);
    TT_ASSERT(v && v->type == TIDE_JSON_NUMBER && v->is_int && v->i == -42 && text_is(v, "-42"));
    v = tide_json_get(&j, "x", 1);
    TT_ASSERT(v && v->type == TIDE_JSON_NUMBER && !v->is_int && v->d == 1500.0 && text_is(v, "1.5e3"));
    TT_ASSERT(tide_json_get(&j, "t", 1)->type == TIDE_JSON_TRUE);
    TT_ASSERT(tide_json_get(&j, "f", 1)->type == TIDE_JSON_FALSE);
    TT_ASSERT(tide_json_get(&j, "z", 1)->type == TIDE_JSON_NULL);
    v = tide_json_get(&j, "o", 1);
    TT_ASSERT(v && v->type == TIDE_JSON_OBJECT && text_is(v, "{\"a\":[1,2,{\"b\":\"}\"}]}"));
    v = tide_json_get(&j, "arr", 3);
    TT_ASSERT(v && v->type == TIDE_JSON_ARRAY && text_is(v, "[ ]"));
    TT_ASSERT(text_is(tide_json_get(&j, "e", 1), "{}"));
    TT_ASSERT(tide_json_get(&j, "missing", 7) == NULL);
    TT_ASSERT(tide_json_get(&j, "us", 2) == NULL);

    TT_OK(parse(&j, "{}", &e));
    TT_ASSERT_EQ_INT(tide_json_count(&j), 0);
    TT_OK(parse(&j, "{\"k\":1,\"k\":2}", &e)); /* duplicates: the last wins */
    TT_ASSERT_EQ_INT(tide_json_get(&j, "k", 1)->i, 2);
    tide_json_free(&j);
}

static void test_string_escapes(void)
{
    tide_json j;
    tide_json_init(&j);
    tide_err e = {0};
    TT_OK(parse(&j, "{\"a\\nb\":\"q\\\"\\\\\\/\\b\\f\\n\\r\\t\",\"u\":\"\\u00e9\\u20AC\\ud83d\\ude00x\"}", &e));
    const tide_json_field *f = tide_json_field_at(&j, 0);
    TT_ASSERT(f->name_len == 3 && memcmp(f->name, "a\nb", 3) == 0);
    TT_ASSERT(text_is(&f->value, "q\"\\/\b\f\n\r\t"));
    const tide_json_value *v = tide_json_get(&j, "u", 1);
    TT_ASSERT(text_is(v, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80x"));
    TT_OK(parse(&j, "{\"nul\":\"a\\u0000b\"}", &e));
    v = tide_json_get(&j, "nul", 3);
    TT_ASSERT(v->len == 3 && memcmp(v->text, "a\0b", 3) == 0);
    tide_json_free(&j);
}

static void test_numbers(void)
{
    tide_json j;
    tide_json_init(&j);
    tide_err e = {0};
    TT_OK(parse(&j, "{\"max\":9223372036854775807,\"min\":-9223372036854775808,\"big\":9223372036854775808,"
                    "\"zero\":-0,\"frac\":0.25,\"exp\":-2E-2,\"huge\":123456789012345678901234567890}", &e));
    const tide_json_value *v = tide_json_get(&j, "max", 3);
    TT_ASSERT(v->is_int && v->i == INT64_MAX);
    v = tide_json_get(&j, "min", 3);
    TT_ASSERT(v->is_int && v->i == INT64_MIN);
    v = tide_json_get(&j, "big", 3);
    TT_ASSERT(!v->is_int && v->d == 9223372036854775808.0);
    v = tide_json_get(&j, "zero", 4);
    TT_ASSERT(v->is_int && v->i == 0);
    TT_ASSERT(tide_json_get(&j, "frac", 4)->d == 0.25);
    TT_ASSERT(fabs(tide_json_get(&j, "exp", 3)->d - -0.02) < 1e-15);
    v = tide_json_get(&j, "huge", 4);
    TT_ASSERT(!v->is_int && fabs(v->d / 1.2345678901234568e29 - 1) < 1e-12);

    const char *bad[] = {"{\"a\":01}", "{\"a\":1.}", "{\"a\":-}", "{\"a\":1e}", "{\"a\":.5}", "{\"a\":+1}",
                         "{\"a\":1e+}", "{\"a\":0x10}", "{\"a\":NaN}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        TT_ASSERT_MSG(parse(&j, bad[i], &e) == TIDE_EPARSE, "%s", bad[i]);
    tide_json_free(&j);
}

static void test_errors_with_columns(void)
{
    static const struct {
        const char *text;
        uint64_t col;
    } cases[] = {
        {"", 1},
        {"[1]", 1},
        {"{\"a\" 1}", 6},
        {"{\"a\":}", 6},
        {"{\"a\":1,}", 8},
        {"{\"a\":1 \"b\":2}", 8},
        {"{\"a\":\"x}", 6},
        {"{\"a\":\"\\x\"}", 7},
        {"{\"a\":\"\\u12g4\"}", 7},
        {"{\"a\":\"\\udc00\"}", 7},
        {"{\"a\":\"\\ud800x\"}", 7},
        {"{\"a\":tru}", 6},
        {"{\"a\":[1,]}", 9},
        {"{\"a\":{\"b\" 1}}", 11},
        {"{\"a\":1}x", 8},
        {"{\"a\":1", 7},
        {"{\"a\":\"tab\there\"}", 10},
        {"{a:1}", 2},
    };
    tide_json j;
    tide_json_init(&j);
    tide_err e = {0};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = parse(&j, cases[i].text, &e);
        TT_ASSERT_MSG(rc == TIDE_EPARSE, "case %zu (%s) rc %d", i, cases[i].text, rc);
        TT_ASSERT_MSG(tide_json_error_col(&j) == cases[i].col, "case %zu (%s): col %llu, msg %s", i,
                      cases[i].text, (unsigned long long)tide_json_error_col(&j), e.msg);
        TT_ASSERT_EQ_INT(tide_json_count(&j), 0);
    }
    tide_err_clear(&e);
    TT_ASSERT_EQ_INT(tide_json_parse_object(&j, "{\"a\":}", 6, "stdin:7", &e), TIDE_EPARSE);
    TT_ASSERT(strncmp(e.msg, "stdin:7:6: ", 11) == 0);

    /* nesting deeper than the limit is an error, not a stack overflow */
    tide_buf deep = {0};
    tide_buf_append(&deep, "{\"a\":", 5);
    for (int i = 0; i < 100000; i++)
        tide_buf_putc(&deep, '[');
    tide_err_clear(&e);
    TT_ASSERT_EQ_INT(tide_json_parse_object(&j, (const char *)deep.data, deep.len, NULL, &e), TIDE_EPARSE);
    TT_ASSERT(strstr(e.msg, "deep") != NULL);
    tide_buf_free(&deep);
    tide_json_free(&j);
}

/* An independent UTF-8 encoder for the property test. */
static size_t enc_utf8(uint32_t cp, unsigned char *o)
{
    if (cp <= 0x7F) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp <= 0x7FF) {
        o[0] = (unsigned char)(0xC0 + cp / 64);
        o[1] = (unsigned char)(0x80 + cp % 64);
        return 2;
    }
    if (cp <= 0xFFFF) {
        o[0] = (unsigned char)(0xE0 + cp / 4096);
        o[1] = (unsigned char)(0x80 + cp / 64 % 64);
        o[2] = (unsigned char)(0x80 + cp % 64);
        return 3;
    }
    o[0] = (unsigned char)(0xF0 + cp / 262144);
    o[1] = (unsigned char)(0x80 + cp / 4096 % 64);
    o[2] = (unsigned char)(0x80 + cp / 64 % 64);
    o[3] = (unsigned char)(0x80 + cp % 64);
    return 4;
}

static uint32_t rand_cp(uint64_t *s)
{
    for (;;) {
        uint32_t cp;
        switch (tt_rand(s) % 4) {
        case 0: cp = (uint32_t)(tt_rand(s) % 0x80); break;
        case 1: cp = (uint32_t)(tt_rand(s) % 0x800); break;
        case 2: cp = (uint32_t)(tt_rand(s) % 0x10000); break;
        default: cp = (uint32_t)(0x10000 + tt_rand(s) % 0x100000); break;
        }
        if (cp < 0xD800 || cp > 0xDFFF)
            return cp;
    }
}

static void test_unicode_escapes_property(void)
{
    uint64_t seed = tt_seed(4242), s = seed;
    tide_json j;
    tide_json_init(&j);
    for (int round = 0; round < 3000; round++) {
        tide_buf in = {0}, want = {0};
        tide_buf_append(&in, "{\"s\":\"", 6);
        int n = (int)(tt_rand(&s) % 12);
        for (int i = 0; i < n; i++) {
            uint32_t cp = rand_cp(&s);
            unsigned char u[4];
            tide_buf_append(&want, u, enc_utf8(cp, u));
            if (cp >= 0x20 && cp != '"' && cp != '\\' && tt_rand(&s) % 2) {
                tide_buf_append(&in, u, enc_utf8(cp, u)); /* literally */
            } else if (cp >= 0x10000) {
                uint32_t v = cp - 0x10000;
                tide_buf_printf(&in, "\\u%04X\\u%04x", 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF));
            } else {
                tide_buf_printf(&in, "\\u%04x", cp);
            }
        }
        tide_buf_append(&in, "\"}", 2);
        tide_err e = {0};
        int rc = tide_json_parse_object(&j, (const char *)in.data, in.len, NULL, &e);
        if (rc != 0) {
            TT_SEED(seed);
            TT_ASSERT_MSG(0, "round %d: %s", round, e.msg);
        }
        const tide_json_value *v = tide_json_get(&j, "s", 1);
        if (!v || v->len != want.len || (want.len && memcmp(v->text, want.data, want.len) != 0)) {
            TT_SEED(seed);
            TT_ASSERT_MSG(0, "round %d: unescaped text differs", round);
        }
        tide_buf_free(&in);
        tide_buf_free(&want);
    }
    tide_json_free(&j);
}

static void test_writer(void)
{
    tide_buf out = {0};
    TT_OK(tide_json_write_string(&out, "a\"b\\c\n\t\x01\x7f\xc3\xa9", 11));
    TT_ASSERT(out.len == strlen("\"a\\\"b\\\\c\\n\\t\\u0001\x7f\xc3\xa9\""));
    TT_ASSERT(memcmp(out.data, "\"a\\\"b\\\\c\\n\\t\\u0001\x7f\xc3\xa9\"", out.len) == 0);
    tide_buf_reset(&out);
    /* invalid UTF-8: a lone continuation byte, a truncated sequence, an
     * overlong encoding and an encoded surrogate each become U+FFFD */
    TT_OK(tide_json_write_string(&out, "\x80|\xe2\x82|\xc0\xaf|\xed\xa0\x80", 11));
    const char *want = "\"\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd|"
                       "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"";
    TT_ASSERT(out.len == strlen(want) && memcmp(out.data, want, out.len) == 0);
    tide_buf_free(&out);

    /* Round trip: any valid UTF-8 string written and parsed back is equal;
     * any bytes at all give text that parses. */
    uint64_t seed = tt_seed(99), s = seed;
    tide_json j;
    tide_json_init(&j);
    for (int round = 0; round < 3000; round++) {
        unsigned char str[64];
        size_t len = 0;
        bool valid = round % 2 == 0;
        int n = (int)(tt_rand(&s) % 12);
        for (int i = 0; i < n; i++) {
            if (valid)
                len += enc_utf8(tt_rand(&s) % 3 ? (uint32_t)(tt_rand(&s) % 0x80) : rand_cp(&s), str + len);
            else
                str[len++] = (unsigned char)tt_rand(&s);
        }
        tide_buf line = {0};
        tide_buf_append(&line, "{\"v\":", 5);
        TT_OK(tide_json_write_string(&line, str, len));
        tide_buf_putc(&line, '}');
        tide_err e = {0};
        if (tide_json_parse_object(&j, (const char *)line.data, line.len, NULL, &e) != 0) {
            TT_SEED(seed);
            TT_ASSERT_MSG(0, "round %d: written string does not parse: %s", round, e.msg);
        }
        const tide_json_value *v = tide_json_get(&j, "v", 1);
        if (valid && (v->len != len || (len && memcmp(v->text, str, len) != 0))) {
            TT_SEED(seed);
            TT_ASSERT_MSG(0, "round %d: round trip differs", round);
        }
        tide_buf_free(&line);
    }
    tide_json_free(&j);
}

static void test_throughput(void)
{
    /* Not a benchmark gate: prints the parsing speed of event-like lines. */
    tide_buf text = {0};
    uint64_t s = 3;
    size_t lines = 0;
    while (text.len < (4u << 20)) {
        tide_buf_printf(&text, "{\"user\":\"u%llu\",\"ts\":\"2024-05-01T12:00:%02d.%03dZ\",\"n\":%d,"
                               "\"tags\":[\"a\",{\"b\":1}],\"ok\":true}\n",
                        (unsigned long long)(tt_rand(&s) % 100000), (int)(tt_rand(&s) % 60),
                        (int)(tt_rand(&s) % 1000), (int)(tt_rand(&s) % 1000));
        lines++;
    }
    tide_json j;
    tide_json_init(&j);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    size_t fields = 0;
    for (int rep = 0; rep < 4; rep++) {
        const char *p = (const char *)text.data, *end = p + text.len;
        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            tide_err e = {0};
            TT_OK(tide_json_parse_object(&j, p, (size_t)(nl - p), NULL, &e));
            fields += tide_json_count(&j);
            p = nl + 1;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double sec = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    fprintf(stderr, "  json: %.0f MB/s (%zu lines)\n", 4.0 * (double)text.len / 1e6 / sec, 4 * lines);
    TT_ASSERT_EQ_INT(fields, 4 * lines * 5);
    tide_json_free(&j);
    tide_buf_free(&text);
}

int main(void)
{
    TT_RUN(test_fields_and_types);
    TT_RUN(test_string_escapes);
    TT_RUN(test_numbers);
    TT_RUN(test_errors_with_columns);
    TT_RUN(test_unicode_escapes_property);
    TT_RUN(test_writer);
    TT_RUN(test_throughput);
    TT_DONE();
}
