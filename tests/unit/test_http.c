/* Unit tests of server/http: the request parser (valid requests, every
 * prefix of one is "read more", malformed ones get the right 4xx/5xx), the
 * query and escape helpers (round trip over random strings), and the
 * listener and client over real sockets: routing of method/path/query/body,
 * malformed bytes answered with 4xx + a JSON message, requests sent a byte
 * at a time, the token on loopback and non-loopback listeners, handler
 * errors as 500, many concurrent clients, and stopping with an idle client
 * connected. */
#include "data/json.h"
#include "server/http.h"
#include "tt.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

/* ---- the parser ---- */

static int parse_str(tide_http_parsed *p, const char *s, tide_err *e)
{
    tide_err_clear(e);
    return tide_http_parse(p, s, strlen(s), e);
}

static void test_parse_valid(void)
{
    tide_http_parsed p = {0};
    tide_err e = {0};
    const char *r = "GET /jobs/d%61u/results?where=n%3E1&x HTTP/1.1\r\nHost: a\r\n"
                    "Authorization: Bearer s3cret  \r\nX-Other:v\r\n\r\n";
    TT_OK(parse_str(&p, r, &e));
    TT_ASSERT_EQ_STR(p.req.method, "GET");
    TT_ASSERT_EQ_STR(p.req.path, "/jobs/dau/results");
    TT_ASSERT_EQ_STR(p.req.query, "where=n%3E1&x");
    TT_ASSERT_EQ_STR(p.req.body, "");
    TT_ASSERT_EQ_INT(p.req.body_len, 0);
    TT_ASSERT_EQ_STR(p.auth, "Bearer s3cret");
    TT_ASSERT_EQ_INT(p.consumed, strlen(r));
    TT_ASSERT(p.keep_alive);

    /* a body, LF-only line ends, empty lines before, HTTP/1.0 needs no Host,
     * trailing bytes after the body are not consumed */
    const char *r2 = "\r\n\nPOST /jobs HTTP/1.0\nContent-Length: 11\nContent-Length: 11\n\n{\"a\": \"b\"}EXTRA";
    TT_OK(parse_str(&p, r2, &e));
    TT_ASSERT_EQ_STR(p.req.method, "POST");
    TT_ASSERT_EQ_STR(p.req.path, "/jobs");
    TT_ASSERT_EQ_STR(p.req.query, "");
    TT_ASSERT_EQ_INT(p.req.body_len, 11);
    TT_ASSERT_EQ_STR(p.req.body, "{\"a\": \"b\"}E");
    TT_ASSERT_EQ_INT(p.consumed, strlen(r2) - 4);
    TT_ASSERT(!p.keep_alive);
    TT_ASSERT_EQ_STR(p.auth, "");

    TT_OK(parse_str(&p, "DELETE / HTTP/1.1\r\nhost: x\r\nConnection: Upgrade, close\r\n\r\n", &e));
    TT_ASSERT(!p.keep_alive);
    TT_ASSERT_EQ_STR(p.req.path, "/");
    tide_http_parsed_free(&p);
}

/* Every proper prefix of a valid request is a valid prefix: "read more". */
static void test_parse_prefixes(void)
{
    tide_http_parsed p = {0};
    tide_err e = {0};
    const char *r = "PUT /a/b%20c?q=1 HTTP/1.1\r\nHost: h:1\r\nContent-Length: 5\r\nAuthorization: x\r\n\r\nhello";
    size_t n = strlen(r);
    for (size_t i = 0; i < n; i++) {
        tide_err_clear(&e);
        int rc = tide_http_parse(&p, r, i, &e);
        TT_ASSERT_MSG(rc == TIDE_EAGAIN, "prefix of %zu bytes: rc %d (%s)", i, rc, e.msg);
    }
    TT_OK(tide_http_parse(&p, r, n, &e));
    TT_ASSERT_EQ_STR(p.req.path, "/a/b c");
    TT_ASSERT_EQ_STR(p.req.body, "hello");
    tide_http_parsed_free(&p);
}

static void test_parse_malformed(void)
{
    static char big_head[TIDE_HTTP_HEAD_MAX + 200], long_target[9000 + 64], many[TIDE_HTTP_HEADERS_MAX * 8 + 64];
    memset(big_head, 0, sizeof big_head);
    strcpy(big_head, "GET / HTTP/1.1\r\nHost: a\r\nX-Big: ");
    memset(big_head + strlen(big_head), 'a', TIDE_HTTP_HEAD_MAX);
    strcpy(long_target, "GET /");
    memset(long_target + 5, 'a', 9000);
    strcat(long_target, " HTTP/1.1\r\n\r\n");
    strcpy(many, "GET / HTTP/1.1\r\nHost: a\r\n");
    for (int i = 0; i < TIDE_HTTP_HEADERS_MAX; i++)
        strcat(many, "A: b\r\n");
    strcat(many, "\r\n");
    static const struct {
        const char *req;
        int status;
        const char *msg; /* a part of the message */
    } cases[] = {
        {"GARBAGE\r\n\r\n", 400, "request line"},
        {"GET\r\n\r\n", 400, "request line"},
        {"G(T / HTTP/1.1\r\n", 400, "request line"},
        {"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "target"},
        {"GET jobs HTTP/1.1\r\nHost: a\r\n\r\n", 400, "start with '/'"},
        {"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505, "not supported"},
        {"GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400, "version"},
        {"GET / HTTX/1.1\r\nHost: a\r\n\r\n", 400, "version"},
        {"GET / HTTP/1.1\r\n\r\n", 400, "Host"},
        {"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", 400, "folded"},
        {"GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", 400, "NAME: VALUE"},
        {"GET / HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n", 400, "NAME: VALUE"},
        {"GET / HTTP/1.1\r\nHost: a\r\nX: a\001b\r\n\r\n", 400, "control character"},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n", 400, "not a number"},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400, "not a number"},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", 400, "empty"},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400, "differ"},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n", 413, "larger"},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 8388609\r\n\r\n", 413, "larger"},
        {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", 501, "Content-Length"},
        {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "two Host"},
        {"GET / HTTP/1.1\r\nHost: a\r\nAuthorization: a\r\nAuthorization: b\r\n\r\n", 400, "two Authorization"},
        {"GET /a%zz HTTP/1.1\r\nHost: a\r\n\r\n", 400, "%-escape"},
        {"GET /a%4 HTTP/1.1\r\nHost: a\r\n\r\n", 400, "%-escape"},
        {"GET /a%00b HTTP/1.1\r\nHost: a\r\n\r\n", 400, "%00"},
        {"GET /a\rb HTTP/1.1\r\nHost: a\r\n\r\n", 400, "CR"},
        {big_head, 431, "longer"},
        {long_target, 414, "longer"},
        {many, 431, "header lines"},
    };
    tide_http_parsed p = {0};
    tide_err e = {0};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = parse_str(&p, cases[i].req, &e);
        TT_ASSERT_MSG(rc == TIDE_EPARSE, "case %zu: rc %d", i, rc);
        TT_ASSERT_MSG(p.status == cases[i].status, "case %zu: status %d, want %d (%s)", i, p.status,
                      cases[i].status, e.msg);
        TT_ASSERT_MSG(strstr(e.msg, cases[i].msg) != NULL, "case %zu: message '%s' lacks '%s'", i, e.msg,
                      cases[i].msg);
    }
    tide_http_parsed_free(&p);
}

/* ---- helpers ---- */

static void test_query_and_escape(void)
{
    char v[64];
    const char *q = "a=1&where=n+%3E+1&empty=&flag&x=%zz&big=0123456789";
    TT_OK(tide_http_query_get(q, "a", v, sizeof v));
    TT_ASSERT_EQ_STR(v, "1");
    TT_OK(tide_http_query_get(q, "where", v, sizeof v));
    TT_ASSERT_EQ_STR(v, "n > 1");
    TT_OK(tide_http_query_get(q, "empty", v, sizeof v));
    TT_ASSERT_EQ_STR(v, "");
    TT_OK(tide_http_query_get(q, "flag", v, sizeof v));
    TT_ASSERT_EQ_STR(v, "");
    TT_ASSERT_EQ_INT(tide_http_query_get(q, "fla", v, sizeof v), TIDE_ENOENT);
    TT_ASSERT_EQ_INT(tide_http_query_get(q, "x", v, sizeof v), TIDE_EPARSE);
    TT_ASSERT_EQ_INT(tide_http_query_get(q, "big", v, 10), TIDE_ERANGE);
    TT_ASSERT_EQ_INT(tide_http_query_get("", "a", v, sizeof v), TIDE_ENOENT);

    /* random strings: escaped, then read back as a query value */
    uint64_t seed = tt_seed(7);
    for (int round = 0; round < 500; round++) {
        char s[40];
        size_t n = tt_rand(&seed) % (sizeof s - 1);
        for (size_t i = 0; i < n; i++)
            s[i] = (char)(1 + tt_rand(&seed) % 255);
        s[n] = 0;
        tide_buf b = {0};
        TT_OK(tide_buf_printf(&b, "k0=z&k="));
        TT_OK(tide_http_append_escaped(&b, s));
        TT_OK(tide_buf_putc(&b, 0));
        for (size_t i = 7; i < b.len - 1; i++)
            TT_ASSERT(isalnum(b.data[i]) || strchr("-._~%", b.data[i]));
        char back[160];
        TT_OK(tide_http_query_get((const char *)b.data, "k", back, sizeof back));
        TT_ASSERT_EQ_STR(back, s);
        tide_buf_free(&b);
    }
}

/* ---- the listener ---- */

/* Answers with a JSON description of the request; "/fail" returns an
 * error, "/status/N" answers N, "/big/N" an N-byte text body. */
static int echo_handler(void *ctx, const tide_http_req *req, tide_http_resp *resp, tide_err *e)
{
    int *calls = ctx;
    __atomic_fetch_add(calls, 1, __ATOMIC_RELAXED);
    if (strcmp(req->path, "/fail") == 0)
        return tide_err_set(e, TIDE_EIO, "disk \"on fire\"");
    if (strncmp(req->path, "/status/", 8) == 0)
        return tide_http_error(resp, atoi(req->path + 8), "status %s", req->path + 8);
    if (strncmp(req->path, "/big/", 5) == 0) {
        resp->content_type = "text/plain";
        size_t n = (size_t)atol(req->path + 5);
        for (size_t i = 0; i < n; i++)
            if (tide_buf_putc(&resp->body, 'a' + (int)(i % 26)) != 0)
                return TIDE_ENOMEM;
        return 0;
    }
    tide_buf *b = &resp->body;
    if (tide_buf_printf(b, "{\"method\":") || tide_json_write_string(b, req->method, strlen(req->method)) ||
        tide_buf_printf(b, ",\"path\":") || tide_json_write_string(b, req->path, strlen(req->path)) ||
        tide_buf_printf(b, ",\"query\":") || tide_json_write_string(b, req->query, strlen(req->query)) ||
        tide_buf_printf(b, ",\"body\":") || tide_json_write_string(b, req->body, req->body_len) ||
        tide_buf_printf(b, ",\"len\":%zu}", req->body_len))
        return TIDE_ENOMEM;
    return 0;
}

static bool json_str_is(tide_json *j, const char *key, const char *want)
{
    const tide_json_value *v = tide_json_get(j, key, strlen(key));
    return v && v->type == TIDE_JSON_STRING && v->len == strlen(want) && memcmp(v->text, want, v->len) == 0;
}

/* The "error" of a JSON error body, or NULL. */
static bool is_json_error(const tide_buf *b, const char *part)
{
    tide_json j;
    tide_json_init(&j);
    tide_err e = {0};
    bool ok = tide_json_parse_object(&j, (const char *)b->data, b->len, NULL, &e) == 0;
    const tide_json_value *v = ok ? tide_json_get(&j, "error", 5) : NULL;
    ok = v && v->type == TIDE_JSON_STRING && (!part || memmem(v->text, v->len, part, strlen(part)));
    tide_json_free(&j);
    return ok;
}

static int connect_addr(const char *addr)
{
    char host[64];
    const char *colon = strrchr(addr, ':');
    snprintf(host, sizeof host, "%.*s", (int)(colon - addr), addr);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai;
    if (getaddrinfo(host, colon + 1, &hints, &ai) != 0)
        return -1;
    int fd = socket(ai->ai_family, SOCK_STREAM, 0);
    if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    return fd;
}

/* Send raw bytes (in pieces of `step` bytes when step > 0), half-close,
 * read the whole response; returns its status (-1 on socket trouble) and
 * the body in *body. */
static int raw_request(const char *addr, const char *req, size_t n, size_t step, tide_buf *body)
{
    int fd = connect_addr(addr);
    if (fd < 0)
        return -1;
    for (size_t i = 0; i < n;) {
        size_t k = step && step < n - i ? step : n - i;
        ssize_t w = send(fd, req + i, k, MSG_NOSIGNAL);
        if (w <= 0)
            break; /* the server may answer and close early */
        i += (size_t)w;
    }
    shutdown(fd, SHUT_WR);
    tide_buf in = {0};
    char chunk[4096];
    ssize_t r;
    while ((r = recv(fd, chunk, sizeof chunk, 0)) > 0)
        tide_buf_append(&in, chunk, (size_t)r);
    close(fd);
    int status = -1;
    tide_buf_putc(&in, 0);
    const char *s = (const char *)in.data;
    if (in.len > 12 && strncmp(s, "HTTP/1.1 ", 9) == 0)
        status = atoi(s + 9);
    const char *sep = s ? strstr(s, "\r\n\r\n") : NULL;
    tide_buf_reset(body);
    if (sep)
        tide_buf_append(body, sep + 4, strlen(sep + 4));
    tide_buf_free(&in);
    return status;
}

static void test_serve_and_call(void)
{
    int calls = 0;
    tide_http_server *s = NULL;
    tide_err e = {0};
    TT_OK(tide_http_serve(&s, "127.0.0.1:0", NULL, echo_handler, &calls, &e));
    const char *addr = tide_http_addr(s);
    TT_ASSERT(strncmp(addr, "127.0.0.1:", 10) == 0 && atoi(addr + 10) > 0);

    tide_buf out = {0};
    int status = 0;
    const char *body = "{\"name\":\"dau\",\"sql\":\"SELECT 1\"}";
    TT_OK(tide_http_call(addr, NULL, "POST", "/jobs/a%2Fb?x=1&y=%20", body, strlen(body), &status, &out, &e));
    TT_ASSERT_EQ_INT(status, 200);
    tide_json j;
    tide_json_init(&j);
    TT_OK(tide_json_parse_object(&j, (const char *)out.data, out.len, NULL, &e));
    TT_ASSERT(json_str_is(&j, "method", "POST"));
    TT_ASSERT(json_str_is(&j, "path", "/jobs/a/b"));
    TT_ASSERT(json_str_is(&j, "query", "x=1&y=%20"));
    TT_ASSERT(json_str_is(&j, "body", body));

    /* a status and an error body set by the handler */
    tide_buf_reset(&out);
    TT_OK(tide_http_call(addr, NULL, "GET", "/status/404", NULL, 0, &status, &out, &e));
    TT_ASSERT_EQ_INT(status, 404);
    TT_ASSERT(is_json_error(&out, "status 404"));

    /* a handler error: 500 with its message */
    tide_buf_reset(&out);
    TT_OK(tide_http_call(addr, NULL, "GET", "/fail", NULL, 0, &status, &out, &e));
    TT_ASSERT_EQ_INT(status, 500);
    TT_ASSERT(is_json_error(&out, "disk \"on fire\""));

    /* a large body both ways */
    size_t bign = 3u << 20;
    char *big = malloc(bign);
    TT_ASSERT(big);
    for (size_t i = 0; i < bign; i++)
        big[i] = (char)('0' + i % 10);
    tide_buf_reset(&out);
    TT_OK(tide_http_call(addr, NULL, "POST", "/echo", big, bign, &status, &out, &e));
    free(big);
    TT_ASSERT_EQ_INT(status, 200);
    tide_json_free(&j);
    tide_json_init(&j);
    TT_OK(tide_json_parse_object(&j, (const char *)out.data, out.len, NULL, &e));
    const tide_json_value *len = tide_json_get(&j, "len", 3);
    TT_ASSERT(len && len->is_int && len->i == (int64_t)bign);
    tide_buf_reset(&out);
    TT_OK(tide_http_call(addr, NULL, "GET", "/big/1000000", NULL, 0, &status, &out, &e));
    TT_ASSERT_EQ_INT(out.len, 1000000);
    for (size_t i = 0; i < out.len; i += 9973)
        TT_ASSERT(out.data[i] == 'a' + i % 26);

    /* a request a byte at a time */
    const char *slow = "GET /slow?q HTTP/1.1\r\nHost: x\r\n\r\n";
    TT_ASSERT_EQ_INT(raw_request(addr, slow, strlen(slow), 1, &out), 200);
    tide_json_free(&j);
    tide_json_init(&j);
    TT_OK(tide_json_parse_object(&j, (const char *)out.data, out.len, NULL, &e));
    TT_ASSERT(json_str_is(&j, "path", "/slow"));

    /* HEAD: headers only */
    TT_ASSERT_EQ_INT(raw_request(addr, "HEAD /x HTTP/1.0\r\n\r\n", 20, 0, &out), 200);
    TT_ASSERT_EQ_INT(out.len, 0);

    int before = calls;
    /* malformed requests: 4xx with a JSON message, the handler never called */
    static const struct {
        const char *req;
        int status;
        const char *part;
    } bad[] = {
        {"NOT HTTP AT ALL\r\n\r\n", 400, "target"},
        {"GET / HTTP/1.1\r\n\r\n", 400, "Host"},
        {"GET / HTTP/3.0\r\nHost: a\r\n\r\n", 505, "HTTP/3.0"},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nshort", 400, "closed in the middle"},
        {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501, "Transfer-Encoding"},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100000000\r\n\r\n", 413, "larger"},
        {"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400, "request line"}, /* a TLS hello */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int st = raw_request(addr, bad[i].req, strlen(bad[i].req), 0, &out);
        TT_ASSERT_MSG(st == bad[i].status, "case %zu: status %d, want %d", i, st, bad[i].status);
        TT_ASSERT_MSG(is_json_error(&out, bad[i].part), "case %zu: body %.*s", i, (int)out.len,
                      (const char *)out.data);
    }
    TT_ASSERT_EQ_INT(calls, before);
    /* the server still serves after all that */
    tide_buf_reset(&out);
    TT_OK(tide_http_call(addr, NULL, "GET", "/ok", NULL, 0, &status, &out, &e));
    TT_ASSERT_EQ_INT(status, 200);

    tide_json_free(&j);
    tide_buf_free(&out);
    tide_http_stop(s);
}

static void test_token(void)
{
    int calls = 0;
    tide_http_server *s = NULL;
    tide_err e = {0};
    tide_buf out = {0};
    int status;

    /* non-loopback without a token is refused */
    int rc = tide_http_serve(&s, "0.0.0.0:0", NULL, echo_handler, &calls, &e);
    TT_ASSERT_EQ_INT(rc, TIDE_EINVAL);
    TT_ASSERT(s == NULL && strstr(e.msg, "token") && strstr(e.msg, "0.0.0.0:0"));
    for (int i = 0; i < 2; i++) {
        /* a non-loopback listener (reached through loopback) and a loopback one */
        tide_err_clear(&e);
        TT_OK(tide_http_serve(&s, i == 0 ? "0.0.0.0:0" : "127.0.0.1:0", "s3cret", echo_handler, &calls, &e));
        char addr[64];
        snprintf(addr, sizeof addr, "127.0.0.1:%s", strrchr(tide_http_addr(s), ':') + 1);
        if (i == 0)
            TT_ASSERT(strncmp(tide_http_addr(s), "0.0.0.0:", 8) == 0);
        tide_buf_reset(&out);
        TT_OK(tide_http_call(addr, NULL, "GET", "/jobs", NULL, 0, &status, &out, &e));
        TT_ASSERT_EQ_INT(status, 401);
        TT_ASSERT(is_json_error(&out, "token"));
        TT_OK(tide_http_call(addr, "wrong", "GET", "/jobs", NULL, 0, &status, &out, &e));
        TT_ASSERT_EQ_INT(status, 401);
        TT_OK(tide_http_call(addr, "s3cre", "GET", "/jobs", NULL, 0, &status, &out, &e));
        TT_ASSERT_EQ_INT(status, 401);
        TT_OK(tide_http_call(addr, "s3cret", "GET", "/jobs", NULL, 0, &status, &out, &e));
        TT_ASSERT_EQ_INT(status, 200);
        /* a browser link: ?token= */
        TT_OK(tide_http_call(addr, NULL, "GET", "/?token=s3cret", NULL, 0, &status, &out, &e));
        TT_ASSERT_EQ_INT(status, 200);
        TT_OK(tide_http_call(addr, NULL, "GET", "/?token=s3cretX", NULL, 0, &status, &out, &e));
        TT_ASSERT_EQ_INT(status, 401);
        /* the WWW-Authenticate header comes with a 401 */
        const char *raw = "GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Basic czNjcmV0\r\n\r\n";
        int fd = connect_addr(addr);
        TT_ASSERT(fd >= 0);
        TT_ASSERT(send(fd, raw, strlen(raw), MSG_NOSIGNAL) == (ssize_t)strlen(raw));
        char resp[1024] = {0};
        size_t got = 0;
        ssize_t r;
        while (got < sizeof resp - 1 && (r = recv(fd, resp + got, sizeof resp - 1 - got, 0)) > 0)
            got += (size_t)r;
        close(fd);
        TT_ASSERT(strncmp(resp, "HTTP/1.1 401 ", 13) == 0 && strstr(resp, "WWW-Authenticate: Bearer"));
        tide_http_stop(s);
        s = NULL;
    }
    /* bad tokens and addresses */
    static const char *bad_addr[] = {"127.0.0.1", "127.0.0.1:99999", ":80", "127.0.0.1:x", "::1:80",
                                     "no-such-host.invalid:80"};
    for (size_t i = 0; i < sizeof bad_addr / sizeof bad_addr[0]; i++) {
        tide_err_clear(&e);
        TT_ASSERT_EQ_INT(tide_http_serve(&s, bad_addr[i], NULL, echo_handler, &calls, &e), TIDE_EINVAL);
        TT_ASSERT(strstr(e.msg, bad_addr[i]) != NULL);
    }
    tide_err_clear(&e);
    TT_ASSERT_EQ_INT(tide_http_serve(&s, "127.0.0.1:0", "a b", echo_handler, &calls, &e), TIDE_EINVAL);
    tide_buf_free(&out);
}

static void test_ipv6_and_client_errors(void)
{
    int calls = 0;
    tide_http_server *s = NULL;
    tide_err e = {0};
    tide_buf out = {0};
    int status;
    if (tide_http_serve(&s, "[::1]:0", NULL, echo_handler, &calls, &e) == 0) {
        TT_ASSERT(strncmp(tide_http_addr(s), "[::1]:", 6) == 0);
        TT_OK(tide_http_call(tide_http_addr(s), NULL, "GET", "/v6", NULL, 0, &status, &out, &e));
        TT_ASSERT_EQ_INT(status, 200);
        tide_http_stop(s);
    }
    /* a port nobody listens on: take a free one, then stop */
    tide_err_clear(&e);
    TT_OK(tide_http_serve(&s, "127.0.0.1:0", NULL, echo_handler, &calls, &e));
    char addr[64];
    snprintf(addr, sizeof addr, "%s", tide_http_addr(s));
    tide_http_stop(s);
    int rc = tide_http_call(addr, NULL, "GET", "/", NULL, 0, &status, &out, &e);
    TT_ASSERT_EQ_INT(rc, TIDE_EIO);
    TT_ASSERT(strstr(e.msg, addr) != NULL);
    tide_err_clear(&e);
    TT_ASSERT_EQ_INT(tide_http_call(addr, NULL, "GET", "/a b", NULL, 0, &status, &out, &e), TIDE_EINVAL);
    tide_buf_free(&out);
}

/* ---- concurrency and stop ---- */

typedef struct {
    const char *addr;
    int ok;
} client_arg;

static void *client_main(void *arg)
{
    client_arg *c = arg;
    for (int i = 0; i < 40; i++) {
        char path[64], want[64];
        snprintf(path, sizeof path, "/c/%d", i);
        snprintf(want, sizeof want, "\"path\":\"/c/%d\"", i);
        tide_buf out = {0};
        tide_err e = {0};
        int status = 0;
        if (tide_http_call(c->addr, NULL, "GET", path, NULL, 0, &status, &out, &e) == 0 && status == 200 &&
            memmem(out.data, out.len, want, strlen(want)))
            c->ok++;
        tide_buf_free(&out);
    }
    return NULL;
}

static void test_concurrent_and_stop(void)
{
    int calls = 0;
    tide_http_server *s = NULL;
    tide_err e = {0};
    TT_OK(tide_http_serve(&s, "127.0.0.1:0", NULL, echo_handler, &calls, &e));
    enum { N = 8 };
    pthread_t th[N];
    client_arg args[N];
    for (int i = 0; i < N; i++) {
        args[i] = (client_arg){tide_http_addr(s), 0};
        TT_ASSERT(pthread_create(&th[i], NULL, client_main, &args[i]) == 0);
    }
    int ok = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        ok += args[i].ok;
    }
    TT_ASSERT_EQ_INT(ok, N * 40);
    TT_ASSERT_EQ_INT(__atomic_load_n(&calls, __ATOMIC_RELAXED), N * 40);

    /* idle clients that never send a byte, more than there are workers:
     * stop must not wait for them */
    int idle[8];
    for (int i = 0; i < 8; i++)
        TT_ASSERT((idle[i] = connect_addr(tide_http_addr(s))) >= 0);
    int threads_before = tt_thread_count();
    TT_ASSERT(threads_before >= 5); /* the acceptor and the workers */
    tide_http_stop(s);
    TT_ASSERT_EQ_INT(tt_thread_count(), threads_before - 5);
    for (int i = 0; i < 8; i++) {
        char c;
        /* closed by the server: EOF (or a reset), never a hang */
        TT_ASSERT(recv(idle[i], &c, 1, 0) <= 0);
        close(idle[i]);
    }
}

int main(void)
{
    TT_RUN(test_parse_valid);
    TT_RUN(test_parse_prefixes);
    TT_RUN(test_parse_malformed);
    TT_RUN(test_query_and_escape);
    TT_RUN(test_serve_and_call);
    TT_RUN(test_token);
    TT_RUN(test_ipv6_and_client_errors);
    TT_RUN(test_concurrent_and_stop);
    TT_DONE();
}
