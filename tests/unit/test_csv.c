/* Unit tests of data/csv: the RFC 4180 lexer (fields, raw spans, line
 * numbers, errors with positions, streaming over blocks) and the writer.
 * The property test encodes random records with its own small encoder and
 * checks that lexing gives back exactly those fields, spans and lines. */
#include "data/csv.h"
#include "tt.h"

#include <time.h>

/* Lex `text` as one buffer; returns the first record's rc. */
static int lex_one(tide_csv *c, const char *text, size_t *pos, tide_csv_record *r, tide_err *e)
{
    return tide_csv_next(c, text, strlen(text), pos, true, r, e);
}

static bool field_is(const tide_csv_record *r, size_t i, const char *s)
{
    return i < r->nfields && r->fields[i].len == strlen(s) && memcmp(r->fields[i].ptr, s, r->fields[i].len) == 0;
}

static void test_basic_records(void)
{
    const char *text = "a,b,c\r\n1,,3\n\n\"x,y\",\"he said \"\"hi\"\"\",z\nlast,line";
    tide_csv c;
    tide_csv_init(&c, "t.csv", ',');
    tide_err e = {0};
    size_t pos = 0;
    tide_csv_record r;

    TT_ASSERT_EQ_INT(lex_one(&c, text, &pos, &r, &e), 1);
    TT_ASSERT_EQ_INT(r.nfields, 3);
    TT_ASSERT(field_is(&r, 0, "a") && field_is(&r, 1, "b") && field_is(&r, 2, "c"));
    TT_ASSERT_EQ_INT(r.raw_len, 5); /* CRLF not in the span */
    TT_ASSERT_EQ_INT(r.line, 1);

    TT_ASSERT_EQ_INT(lex_one(&c, text, &pos, &r, &e), 1);
    TT_ASSERT_EQ_INT(r.nfields, 3);
    TT_ASSERT(field_is(&r, 0, "1") && field_is(&r, 1, "") && field_is(&r, 2, "3"));
    TT_ASSERT_EQ_INT(r.line, 2);

    TT_ASSERT_EQ_INT(lex_one(&c, text, &pos, &r, &e), 1); /* empty line */
    TT_ASSERT_EQ_INT(r.nfields, 1);
    TT_ASSERT_EQ_INT(r.raw_len, 0);
    TT_ASSERT_EQ_INT(r.line, 3);

    TT_ASSERT_EQ_INT(lex_one(&c, text, &pos, &r, &e), 1);
    TT_ASSERT_EQ_INT(r.nfields, 3);
    TT_ASSERT(field_is(&r, 0, "x,y"));
    TT_ASSERT(field_is(&r, 1, "he said \"hi\""));
    TT_ASSERT(field_is(&r, 2, "z"));
    TT_ASSERT(r.fields[0].quoted && r.fields[1].quoted && !r.fields[2].quoted);
    TT_ASSERT(r.raw_len == strlen("\"x,y\",\"he said \"\"hi\"\"\",z"));
    TT_ASSERT(memcmp(r.raw, "\"x,y\",", 6) == 0);
    TT_ASSERT_EQ_INT(r.line, 4);
    uint64_t line, col;
    tide_csv_field_pos(&r, 2, &line, &col);
    TT_ASSERT_EQ_INT(line, 4);
    TT_ASSERT_EQ_INT(col, 24);

    TT_ASSERT_EQ_INT(lex_one(&c, text, &pos, &r, &e), 1); /* no terminator at the end */
    TT_ASSERT(field_is(&r, 0, "last") && field_is(&r, 1, "line"));
    TT_ASSERT_EQ_INT(r.line, 5);
    TT_ASSERT_EQ_INT(lex_one(&c, text, &pos, &r, &e), 0);
    TT_ASSERT_EQ_INT(lex_one(&c, text, &pos, &r, &e), 0);
    TT_ASSERT_EQ_INT(tide_csv_find(&r, "line", 4), 1);
    TT_ASSERT_EQ_INT(tide_csv_find(&r, "nope", 4), -1);
    tide_csv_free(&c);
}

static void test_quoted_newlines_and_lines(void)
{
    const char *text = "k,\"multi\nline\r\nfield\"\nnext,\"\"\n\"\",x\r\n";
    tide_csv c;
    tide_csv_init(&c, NULL, ',');
    tide_err e = {0};
    size_t pos = 0;
    tide_csv_record r;
    TT_ASSERT_EQ_INT(lex_one(&c, text, &pos, &r, &e), 1);
    TT_ASSERT_EQ_INT(r.nfields, 2);
    TT_ASSERT(field_is(&r, 1, "multi\nline\r\nfield"));
    TT_ASSERT_EQ_INT(r.line, 1);
    TT_ASSERT(r.raw_len == strlen("k,\"multi\nline\r\nfield\""));
    TT_ASSERT_EQ_INT(lex_one(&c, text, &pos, &r, &e), 1);
    TT_ASSERT_EQ_INT(r.line, 4);
    TT_ASSERT(field_is(&r, 0, "next") && field_is(&r, 1, ""));
    TT_ASSERT(r.fields[1].quoted);
    TT_ASSERT_EQ_INT(lex_one(&c, text, &pos, &r, &e), 1);
    TT_ASSERT_EQ_INT(r.line, 5);
    TT_ASSERT(field_is(&r, 0, "") && field_is(&r, 1, "x"));
    TT_ASSERT_EQ_INT(r.raw_len, 4);
    TT_ASSERT_EQ_INT(lex_one(&c, text, &pos, &r, &e), 0);
    tide_csv_free(&c);
}

static void test_errors_and_recovery(void)
{
    const char *text = "ok,1\nbad\"quote,2\n\"a\"b,3\n\"x\ny\"z,4\nfine,5\n\"never\nclosed,6\n";
    tide_csv c;
    tide_csv_init(&c, "in.csv", ',');
    size_t pos = 0;
    tide_csv_record r;
    uint64_t line, col;
    tide_err e = {0};

    TT_ASSERT_EQ_INT(lex_one(&c, text, &pos, &r, &e), 1);
    TT_ASSERT_EQ_INT(lex_one(&c, text, &pos, &r, &e), TIDE_EPARSE);
    tide_csv_error_pos(&c, &line, &col);
    TT_ASSERT_EQ_INT(line, 2);
    TT_ASSERT_EQ_INT(col, 4);
    TT_ASSERT_EQ_STR(e.msg, "in.csv:2:4: stray quote in an unquoted field");

    tide_err_clear(&e);
    TT_ASSERT_EQ_INT(lex_one(&c, text, &pos, &r, &e), TIDE_EPARSE);
    tide_csv_error_pos(&c, &line, &col);
    TT_ASSERT_EQ_INT(line, 3);
    TT_ASSERT_EQ_INT(col, 4);

    tide_err_clear(&e); /* error on the second line of a multi-line record */
    TT_ASSERT_EQ_INT(lex_one(&c, text, &pos, &r, &e), TIDE_EPARSE);
    tide_csv_error_pos(&c, &line, &col);
    TT_ASSERT_EQ_INT(line, 5);
    TT_ASSERT_EQ_INT(col, 3);

    tide_err_clear(&e);
    TT_ASSERT_EQ_INT(lex_one(&c, text, &pos, &r, &e), 1);
    TT_ASSERT(field_is(&r, 0, "fine"));
    TT_ASSERT_EQ_INT(r.line, 6);

    TT_ASSERT_EQ_INT(lex_one(&c, text, &pos, &r, &e), TIDE_EPARSE);
    tide_csv_error_pos(&c, &line, &col);
    TT_ASSERT_EQ_INT(line, 7);
    TT_ASSERT_EQ_INT(col, 1);
    TT_ASSERT(strstr(e.msg, "unterminated") != NULL);
    TT_ASSERT_EQ_INT(pos, strlen(text));
    TT_ASSERT_EQ_INT(lex_one(&c, text, &pos, &r, &e), 0);
    tide_csv_free(&c);
}

static void test_streaming_eagain(void)
{
    /* Incomplete input is never guessed at: without eof, EAGAIN. */
    tide_csv c;
    tide_csv_init(&c, NULL, ',');
    tide_err e = {0};
    tide_csv_record r;
    size_t pos = 0;
    TT_ASSERT_EQ_INT(tide_csv_next(&c, "a,b", 3, &pos, false, &r, &e), TIDE_EAGAIN);
    TT_ASSERT_EQ_INT(pos, 0);
    TT_ASSERT_EQ_INT(tide_csv_next(&c, "\"a\n", 3, &pos, false, &r, &e), TIDE_EAGAIN);
    TT_ASSERT_EQ_INT(tide_csv_next(&c, "\"a\"", 3, &pos, false, &r, &e), TIDE_EAGAIN);
    TT_ASSERT_EQ_INT(tide_csv_next(&c, "\"a\"\r", 4, &pos, false, &r, &e), TIDE_EAGAIN);
    TT_ASSERT_EQ_INT(tide_csv_next(&c, "\"a\"\r", 4, &pos, true, &r, &e), 1);
    TT_ASSERT(field_is(&r, 0, "a"));
    TT_ASSERT_EQ_INT(r.raw_len, 3);
    TT_ASSERT_EQ_INT(tide_csv_next(&c, "", 0, &(size_t){0}, false, &r, &e), TIDE_EAGAIN);
    tide_csv_free(&c);
}

static void test_other_delimiter(void)
{
    tide_csv c;
    tide_csv_init(&c, NULL, ';');
    tide_err e = {0};
    tide_csv_record r;
    size_t pos = 0;
    TT_ASSERT_EQ_INT(lex_one(&c, "a,b;\"c;d\";e\n", &pos, &r, &e), 1);
    TT_ASSERT_EQ_INT(r.nfields, 3);
    TT_ASSERT(field_is(&r, 0, "a,b") && field_is(&r, 1, "c;d") && field_is(&r, 2, "e"));
    tide_csv_free(&c);
}

/* ---- property test: random records through an independent encoder ---- */

typedef struct model_rec {
    char f[8][24];
    size_t flen[8];
    size_t nf;
    size_t raw_start, raw_len; /* in the encoded text */
    uint64_t line;
} model_rec;

static const char alphabet[] = "ab,\"\r\n x;";

static void gen_records(uint64_t *seed, model_rec *recs, size_t n, tide_buf *text)
{
    uint64_t line = 1;
    for (size_t i = 0; i < n; i++) {
        model_rec *m = &recs[i];
        m->nf = 1 + tt_rand(seed) % 8;
        m->raw_start = text->len;
        m->line = line;
        for (size_t k = 0; k < m->nf; k++) {
            m->flen[k] = tt_rand(seed) % 6;
            for (size_t b = 0; b < m->flen[k]; b++)
                m->f[k][b] = alphabet[tt_rand(seed) % (sizeof alphabet - 1)];
            /* a one-field record that is empty would read as an empty line:
             * that is fine (one empty field) */
            bool special = false;
            for (size_t b = 0; b < m->flen[k]; b++)
                if (m->f[k][b] == ',' || m->f[k][b] == '"' || m->f[k][b] == '\r' || m->f[k][b] == '\n')
                    special = true;
            /* a trailing CR in an unquoted last field would merge with the
             * terminator: quote fields ending in CR as well */
            if (m->flen[k] && m->f[k][m->flen[k] - 1] == '\r')
                special = true;
            if (k)
                tide_buf_putc(text, ',');
            if (special || tt_rand(seed) % 4 == 0) {
                tide_buf_putc(text, '"');
                for (size_t b = 0; b < m->flen[k]; b++) {
                    if (m->f[k][b] == '"')
                        tide_buf_putc(text, '"');
                    if (m->f[k][b] == '\n')
                        line++;
                    tide_buf_putc(text, m->f[k][b]);
                }
                tide_buf_putc(text, '"');
            } else {
                tide_buf_append(text, m->f[k], m->flen[k]);
            }
        }
        m->raw_len = text->len - m->raw_start;
        if (tt_rand(seed) % 2)
            tide_buf_append(text, "\r\n", 2);
        else
            tide_buf_putc(text, '\n');
        line++;
    }
}

static bool same_record(const tide_csv_record *r, const model_rec *m, const char *text)
{
    if (r->nfields != m->nf || r->raw_len != m->raw_len || r->line != m->line)
        return false;
    if (memcmp(r->raw, text + m->raw_start, m->raw_len) != 0)
        return false;
    for (size_t k = 0; k < m->nf; k++)
        if (r->fields[k].len != m->flen[k] || memcmp(r->fields[k].ptr, m->f[k], m->flen[k]) != 0)
            return false;
    return true;
}

static void test_random_roundtrip(void)
{
    enum { N = 400 };
    static model_rec recs[N];
    for (uint64_t round = 0; round < 60; round++) {
        uint64_t seed = 1000 + round, s = seed;
        tide_buf text = {0};
        gen_records(&s, recs, N, &text);

        /* whole buffer */
        tide_csv c;
        tide_csv_init(&c, NULL, ',');
        tide_err e = {0};
        size_t pos = 0;
        tide_csv_record r;
        for (size_t i = 0; i < N; i++) {
            int rc = tide_csv_next(&c, (const char *)text.data, text.len, &pos, true, &r, &e);
            if (rc != 1 || !same_record(&r, &recs[i], (const char *)text.data)) {
                TT_SEED(seed);
                TT_ASSERT_MSG(0, "record %zu: rc %d %s", i, rc, e.msg);
            }
        }
        TT_ASSERT_EQ_INT(tide_csv_next(&c, (const char *)text.data, text.len, &pos, true, &r, &e), 0);
        tide_csv_free(&c);

        /* streamed in random blocks, the way a reader of stdin does it:
         * unconsumed bytes move to the front, more input goes after them */
        tide_csv_init(&c, NULL, ',');
        char *win = malloc(text.len + 1);
        size_t have = 0, fed = 0, got = 0;
        pos = 0;
        for (;;) {
            bool eof = fed == text.len;
            int rc = tide_csv_next(&c, win, have, &pos, eof, &r, &e);
            if (rc == 1) {
                /* raw spans refer to the window, compare with the text */
                if (got >= N || r.raw_len != recs[got].raw_len || r.line != recs[got].line ||
                    r.nfields != recs[got].nf) {
                    TT_SEED(seed);
                    TT_ASSERT_MSG(0, "streamed record %zu differs", got);
                }
                for (size_t k = 0; k < r.nfields; k++)
                    if (r.fields[k].len != recs[got].flen[k] ||
                        memcmp(r.fields[k].ptr, recs[got].f[k], r.fields[k].len) != 0) {
                        TT_SEED(seed);
                        TT_ASSERT_MSG(0, "streamed record %zu field %zu differs", got, k);
                    }
                got++;
                continue;
            }
            if (rc == 0)
                break;
            if (rc != TIDE_EAGAIN) {
                TT_SEED(seed);
                TT_ASSERT_MSG(0, "streaming: rc %d %s", rc, e.msg);
            }
            memmove(win, win + pos, have - pos);
            have -= pos;
            pos = 0;
            size_t chunk = 1 + tt_rand(&s) % 17;
            if (chunk > text.len - fed)
                chunk = text.len - fed;
            memcpy(win + have, text.data + fed, chunk);
            have += chunk;
            fed += chunk;
        }
        free(win);
        tide_csv_free(&c);
        TT_ASSERT_EQ_INT(got, N);
        tide_buf_free(&text);
    }
}

static void test_writer_roundtrip(void)
{
    uint64_t s = 77;
    tide_csv c;
    tide_csv_init(&c, NULL, ',');
    for (int round = 0; round < 2000; round++) {
        char f[3][16];
        size_t fl[3];
        tide_buf out = {0};
        for (int k = 0; k < 3; k++) {
            fl[k] = tt_rand(&s) % 10;
            for (size_t b = 0; b < fl[k]; b++)
                f[k][b] = alphabet[tt_rand(&s) % (sizeof alphabet - 1)];
            if (k)
                tide_buf_putc(&out, ',');
            TT_OK(tide_csv_write_field(&out, f[k], fl[k], ','));
        }
        tide_buf_putc(&out, '\n');
        tide_err e = {0};
        tide_csv_record r;
        size_t pos = 0;
        TT_ASSERT_EQ_INT(tide_csv_next(&c, (const char *)out.data, out.len, &pos, true, &r, &e), 1);
        TT_ASSERT_EQ_INT(r.nfields, 3);
        for (int k = 0; k < 3; k++)
            TT_ASSERT(r.fields[k].len == fl[k] && memcmp(r.fields[k].ptr, f[k], fl[k]) == 0);
        TT_ASSERT_EQ_INT(pos, out.len);
        tide_buf_free(&out);
    }
    tide_csv_free(&c);
    TT_ASSERT(!tide_csv_needs_quotes("plain text", 10, ','));
    TT_ASSERT(tide_csv_needs_quotes("a\"b", 3, ','));
}

static void test_throughput(void)
{
    /* Not a benchmark gate: prints the lexing speed of login-like rows. */
    tide_buf text = {0};
    uint64_t s = 5;
    while (text.len < (8u << 20))
        tide_buf_printf(&text, "2024-05-01 12:%02d:%02d.%03d,user%llu,%s\n", (int)(tt_rand(&s) % 60),
                        (int)(tt_rand(&s) % 60), (int)(tt_rand(&s) % 1000),
                        (unsigned long long)(tt_rand(&s) % 100000), tt_rand(&s) % 2 ? "DE" : "FR");
    tide_csv c;
    tide_csv_init(&c, NULL, ',');
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    size_t recs = 0, fields = 0;
    for (int rep = 0; rep < 4; rep++) {
        size_t pos = 0;
        tide_csv_record r;
        tide_err e = {0};
        while (tide_csv_next(&c, (const char *)text.data, text.len, &pos, true, &r, &e) == 1) {
            recs++;
            fields += r.nfields;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double sec = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    fprintf(stderr, "  csv: %.0f MB/s (%zu records)\n", 4.0 * (double)text.len / 1e6 / sec, recs);
    TT_ASSERT_EQ_INT(fields, recs * 3);
    tide_csv_free(&c);
    tide_buf_free(&text);
}

int main(void)
{
    TT_RUN(test_basic_records);
    TT_RUN(test_quoted_newlines_and_lines);
    TT_RUN(test_errors_and_recovery);
    TT_RUN(test_streaming_eagain);
    TT_RUN(test_other_delimiter);
    TT_RUN(test_random_roundtrip);
    TT_RUN(test_writer_roundtrip);
    TT_RUN(test_throughput);
    TT_DONE();
}
