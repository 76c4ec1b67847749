/*
 * http.c - HTTP/1.1 for the tide server: parser, listener, client.
 *
 * The listener: one acceptor thread polls the listening socket and a wake
 * pipe, and hands accepted sockets to TIDE_HTTP_WORKERS workers through a
 * bounded queue (full: the acceptor answers 503 itself).  A worker reads
 * until the parser has a whole request (or a verdict), checks the token,
 * calls the handler, writes the response with "Connection: close", half
 * closes and drains what the client still sends (so an early 413 reaches a
 * client that is still writing its body instead of a reset), and closes.
 * Stopping writes one byte to the wake pipe and never reads it: every poll
 * of every thread sees it from then on, so the acceptor leaves, a worker
 * blocked on a slow client gives up, and a handler that runs finishes its
 * request.  Queued sockets are closed unanswered.
 *
 * The parser restarts from the first byte on every call: requests are small
 * (a 16 KiB head), and a restart keeps it free of resumable state that a
 * fuzzer would have to reach.
 */
#include "server/http.h"

#include "data/json.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TIDE_HTTP_WORKERS 4
#define TIDE_HTTP_QUEUE 64
#define TIDE_HTTP_TARGET_MAX 8192       /* request target (414) */
#define TIDE_HTTP_REQUEST_MS 10000      /* to send one whole request (408) */
#define TIDE_HTTP_DRAIN_MS 500          /* reading what a client still sends after the response */
#define TIDE_HTTP_RESP_MAX (512u << 20) /* the client's limit on a response */

/* ------------------------------------------------------------------ */
/* the parser                                                          */
/* ------------------------------------------------------------------ */

static bool is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int bad(tide_http_parsed *p, int status, tide_err *e, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int bad(tide_http_parsed *p, int status, tide_err *e, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    p->status = status;
    return tide_err_set(e, TIDE_EPARSE, "%s", msg);
}

/* The next line of data[*pos, len): sets the line and its length without its CR LF (or a
 * lone LF) and advances `pos`.  false when no LF is in the input yet. */
static bool next_line(const char *data, size_t len, size_t *pos, const char **line, size_t *n)
{
    const char *s = data + *pos;
    const char *lf = memchr(s, '\n', len - *pos);
    if (!lf)
        return false;
    size_t l = (size_t)(lf - s);
    *line = s;
    *n = l && s[l - 1] == '\r' ? l - 1 : l;
    *pos += l + 1;
    return true;
}

static bool ieq(const char *a, size_t an, const char *b)
{
    return strlen(b) == an && strncasecmp(a, b, an) == 0;
}

/* Whether a comma-separated header value lists `tok` (case-insensitive). */
static bool has_token(const char *v, size_t n, const char *tok)
{
    size_t i = 0;
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t st = i;
        while (i < n && v[i] != ',')
            i++;
        size_t en = i;
        while (en > st && (v[en - 1] == ' ' || v[en - 1] == '\t'))
            en--;
        if (en > st && ieq(v + st, en - st, tok))
            return true;
    }
    return false;
}

/* The request line: METHOD SP TARGET SP HTTP/D.D, single spaces. */
static int parse_request_line(tide_http_parsed *p, const char *l, size_t n, size_t *mlen, const char **target,
                              size_t *tlen, int *minor, tide_err *e)
{
    size_t i = 0;
    while (i < n && is_tchar((unsigned char)l[i]))
        i++;
    if (i == 0 || i >= n || l[i] != ' ')
        return bad(p, 400, e, "bad request line: expected METHOD SP TARGET SP HTTP-VERSION");
    *mlen = i;
    size_t ts = ++i;
    while (i < n && (unsigned char)l[i] > 0x20 && (unsigned char)l[i] < 0x7f)
        i++;
    if (i - ts > TIDE_HTTP_TARGET_MAX)
        return bad(p, 414, e, "request target longer than %d bytes", TIDE_HTTP_TARGET_MAX);
    if (i == ts || i >= n || l[i] != ' ')
        return bad(p, 400, e, "bad request line: the target must be printable ASCII followed by one space");
    *target = l + ts;
    *tlen = i - ts;
    if ((*target)[0] != '/')
        return bad(p, 400, e, "bad request target: it must start with '/'");
    const char *v = l + i + 1;
    size_t vn = n - i - 1;
    if (vn != 8 || memcmp(v, "HTTP/", 5) != 0 || v[5] < '0' || v[5] > '9' || v[6] != '.' || v[7] < '0' ||
        v[7] > '9')
        return bad(p, 400, e, "bad request line: the version must be HTTP/1.0 or HTTP/1.1");
    if (v[5] != '1' || v[7] > '1')
        return bad(p, 505, e, "HTTP version %.8s is not supported (HTTP/1.0 and HTTP/1.1 are)", v);
    *minor = v[7] - '0';
    return 0;
}

/* Decode the path part of the target (%XX; a decoded NUL is refused) into store. */
static int decode_path(tide_http_parsed *p, const char *s, size_t n, tide_err *e)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            int hi = i + 1 < n ? hexval((unsigned char)s[i + 1]) : -1;
            int lo = i + 2 < n ? hexval((unsigned char)s[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return bad(p, 400, e, "bad %%-escape in the request path at byte %zu", i + 1);
            c = (unsigned char)(hi * 16 + lo);
            if (c == 0)
                return bad(p, 400, e, "the request path contains %%00");
            i += 2;
        }
        if (tide_buf_putc(&p->store, c) != 0)
            return TIDE_ENOMEM;
    }
    return tide_buf_putc(&p->store, 0) != 0 ? TIDE_ENOMEM : 0;
}

int tide_http_parse(tide_http_parsed *p, const char *data, size_t len, tide_err *e)
{
    tide_buf_reset(&p->store);
    p->req = (tide_http_req){0};
    p->auth = "";
    p->keep_alive = false;
    p->consumed = 0;
    p->status = 0;

    size_t pos = 0, n = 0;
    const char *l = NULL;
    /* RFC 9112 2.2: ignore empty lines before the request line */
    for (;;) {
        size_t at = pos;
        if (!next_line(data, len, &pos, &l, &n)) {
            pos = at;
            break;
        }
        if (n != 0) {
            pos = at;
            break;
        }
        if (pos > 64)
            return bad(p, 400, e, "bad request: empty lines instead of a request line");
    }
    size_t head_start = pos;
    if (!next_line(data, len, &pos, &l, &n)) {
        if (len - head_start > TIDE_HTTP_HEAD_MAX)
            return bad(p, 414, e, "request line longer than %d bytes", TIDE_HTTP_HEAD_MAX);
        /* an early verdict on a line that can never become valid */
        size_t i = head_start;
        while (i < len && is_tchar((unsigned char)data[i]))
            i++;
        if (i < len && data[i] != ' ' && data[i] != '\r')
            return bad(p, 400, e, "bad request line: expected METHOD SP TARGET SP HTTP-VERSION");
        return TIDE_EAGAIN;
    }
    if (memchr(l, '\r', n) || memchr(l, 0, n))
        return bad(p, 400, e, "bad request line: it contains a CR or NUL byte");
    size_t mlen = 0, tlen = 0;
    const char *target = NULL;
    int minor = 0, rc;
    if ((rc = parse_request_line(p, l, n, &mlen, &target, &tlen, &minor, e)) != 0)
        return rc;
    const char *method = l;
    bool keep = minor >= 1;

    bool host = false, have_cl = false, conn_close = false, conn_keep = false;
    uint64_t cl = 0;
    const char *auth = NULL;
    size_t auth_n = 0;
    int nheaders = 0;
    for (;;) {
        if (!next_line(data, len, &pos, &l, &n)) {
            if (len - head_start > TIDE_HTTP_HEAD_MAX)
                return bad(p, 431, e, "request headers longer than %d bytes", TIDE_HTTP_HEAD_MAX);
            return TIDE_EAGAIN;
        }
        if (pos - head_start > TIDE_HTTP_HEAD_MAX)
            return bad(p, 431, e, "request headers longer than %d bytes", TIDE_HTTP_HEAD_MAX);
        if (n == 0)
            break;
        if (++nheaders > TIDE_HTTP_HEADERS_MAX)
            return bad(p, 431, e, "more than %d header lines", TIDE_HTTP_HEADERS_MAX);
        if (l[0] == ' ' || l[0] == '\t')
            return bad(p, 400, e, "header line %d: folded header lines are not accepted", nheaders);
        size_t i = 0;
        while (i < n && is_tchar((unsigned char)l[i]))
            i++;
        if (i == 0 || i >= n || l[i] != ':')
            return bad(p, 400, e, "header line %d: expected NAME: VALUE", nheaders);
        size_t name_n = i;
        i++;
        while (i < n && (l[i] == ' ' || l[i] == '\t'))
            i++;
        size_t vend = n;
        while (vend > i && (l[vend - 1] == ' ' || l[vend - 1] == '\t'))
            vend--;
        const char *v = l + i;
        size_t vn = vend - i;
        for (size_t k = 0; k < vn; k++) {
            unsigned char c = (unsigned char)v[k];
            if ((c < 0x20 && c != '\t') || c == 0x7f)
                return bad(p, 400, e, "header %.*s: control character in the value", (int)name_n, l);
        }
        if (ieq(l, name_n, "content-length")) {
            uint64_t x = 0;
            if (vn == 0)
                return bad(p, 400, e, "Content-Length is empty");
            for (size_t k = 0; k < vn; k++) {
                if (v[k] < '0' || v[k] > '9')
                    return bad(p, 400, e, "Content-Length is not a number: %.*s", (int)(vn > 40 ? 40 : vn), v);
                if (x > TIDE_HTTP_BODY_MAX)
                    break;
                x = x * 10 + (uint64_t)(v[k] - '0');
            }
            if (x > TIDE_HTTP_BODY_MAX)
                return bad(p, 413, e, "request body larger than %d bytes", TIDE_HTTP_BODY_MAX);
            if (have_cl && x != cl)
                return bad(p, 400, e, "two Content-Length headers that differ");
            have_cl = true;
            cl = x;
        } else if (ieq(l, name_n, "transfer-encoding")) {
            return bad(p, 501, e, "Transfer-Encoding is not supported: send the body with Content-Length");
        } else if (ieq(l, name_n, "host")) {
            if (host)
                return bad(p, 400, e, "two Host headers");
            host = true;
        } else if (ieq(l, name_n, "authorization")) {
            if (auth)
                return bad(p, 400, e, "two Authorization headers");
            auth = v;
            auth_n = vn;
        } else if (ieq(l, name_n, "connection")) {
            conn_close |= has_token(v, vn, "close");
            conn_keep |= has_token(v, vn, "keep-alive");
        }
    }
    if (minor >= 1 && !host)
        return bad(p, 400, e, "an HTTP/1.1 request needs a Host header");
    if (len - pos < cl)
        return TIDE_EAGAIN;
    p->consumed = pos + (size_t)cl;
    p->keep_alive = conn_close ? false : conn_keep ? true : keep;

    /* store: method \0 path \0 query \0 auth \0 body \0 */
    const char *q = memchr(target, '?', tlen);
    size_t path_n = q ? (size_t)(q - target) : tlen;
    size_t off_path, off_query, off_auth, off_body;
    if (tide_buf_append(&p->store, method, mlen) != 0 || tide_buf_putc(&p->store, 0) != 0)
        return TIDE_ENOMEM;
    off_path = p->store.len;
    if ((rc = decode_path(p, target, path_n, e)) != 0)
        return rc;
    off_query = p->store.len;
    if ((q && tide_buf_append(&p->store, q + 1, tlen - path_n - 1) != 0) || tide_buf_putc(&p->store, 0) != 0)
        return TIDE_ENOMEM;
    off_auth = p->store.len;
    if ((auth_n && tide_buf_append(&p->store, auth, auth_n) != 0) || tide_buf_putc(&p->store, 0) != 0)
        return TIDE_ENOMEM;
    off_body = p->store.len;
    if ((cl && tide_buf_append(&p->store, data + pos, (size_t)cl) != 0) || tide_buf_putc(&p->store, 0) != 0)
        return TIDE_ENOMEM;
    const char *s = (const char *)p->store.data;
    p->req.method = s;
    p->req.path = s + off_path;
    p->req.query = s + off_query;
    p->auth = s + off_auth;
    p->req.body = s + off_body;
    p->req.body_len = (size_t)cl;
    return 0;
}

void tide_http_parsed_free(tide_http_parsed *p)
{
    if (!p)
        return;
    tide_buf_free(&p->store);
    p->req = (tide_http_req){0};
    p->auth = "";
}

/* ------------------------------------------------------------------ */
/* helpers                                                             */
/* ------------------------------------------------------------------ */

const char *tide_http_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}

static int json_error_body(tide_buf *b, const char *msg)
{
    tide_buf_reset(b);
    if (tide_buf_append(b, "{\"error\": ", 10) != 0 || tide_json_write_string(b, msg, strlen(msg)) != 0 ||
        tide_buf_append(b, "}\n", 2) != 0)
        return TIDE_ENOMEM;
    return 0;
}

int tide_http_error(tide_http_resp *resp, int status, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    resp->status = status;
    resp->content_type = "application/json";
    return json_error_body(&resp->body, msg);
}

int tide_http_query_get(const char *query, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    const char *s = query ? query : "";
    while (*s) {
        const char *amp = strchr(s, '&');
        size_t seg = amp ? (size_t)(amp - s) : strlen(s);
        const char *eq = memchr(s, '=', seg);
        size_t kn = eq ? (size_t)(eq - s) : seg;
        if (kn == nl && memcmp(s, name, nl) == 0) {
            const char *v = eq ? eq + 1 : s + seg;
            size_t vn = (size_t)(s + seg - v), o = 0;
            for (size_t i = 0; i < vn; i++) {
                unsigned char c = (unsigned char)v[i];
                if (c == '+') {
                    c = ' ';
                } else if (c == '%') {
                    int hi = i + 1 < vn ? hexval((unsigned char)v[i + 1]) : -1;
                    int lo = i + 2 < vn ? hexval((unsigned char)v[i + 2]) : -1;
                    if (hi < 0 || lo < 0)
                        return TIDE_EPARSE;
                    c = (unsigned char)(hi * 16 + lo);
                    if (!c)
                        return TIDE_EPARSE;
                    i += 2;
                }
                if (o + 1 >= cap)
                    return TIDE_ERANGE;
                out[o++] = (char)c;
            }
            if (cap == 0)
                return TIDE_ERANGE;
            out[o] = 0;
            return 0;
        }
        s += seg;
        if (*s == '&')
            s++;
    }
    return TIDE_ENOENT;
}

int tide_http_append_escaped(tide_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                     c == '.' || c == '_' || c == '~';
        if (plain) {
            if (tide_buf_putc(b, c) != 0)
                return TIDE_ENOMEM;
        } else {
            char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
            if (tide_buf_append(b, esc, 3) != 0)
                return TIDE_ENOMEM;
        }
    }
    return 0;
}

/* "host:port" or "[v6]:port" into host and port strings. */
static int split_addr(const char *addr, char *host, size_t hcap, char *port, size_t pcap, tide_err *e)
{
    const char *colon = strrchr(addr, ':');
    const char *h = addr;
    size_t hn;
    if (addr[0] == '[') {
        const char *close = strchr(addr, ']');
        if (!close || close[1] != ':')
            return tide_err_set(e, TIDE_EINVAL, "address '%s': expected [IPv6]:PORT", addr);
        h = addr + 1;
        hn = (size_t)(close - h);
        colon = close + 1;
    } else {
        if (!colon || colon == addr)
            return tide_err_set(e, TIDE_EINVAL, "address '%s': expected HOST:PORT (e.g. 127.0.0.1:7600)", addr);
        hn = (size_t)(colon - addr);
        if (memchr(addr, ':', hn))
            return tide_err_set(e, TIDE_EINVAL, "address '%s': write an IPv6 host in brackets, [::1]:PORT", addr);
    }
    const char *pt = colon + 1;
    size_t pn = strlen(pt);
    if (pn == 0 || pn >= pcap || strspn(pt, "0123456789") != pn || atol(pt) > 65535)
        return tide_err_set(e, TIDE_EINVAL, "address '%s': the port must be a number from 0 to 65535", addr);
    if (hn == 0 || hn >= hcap)
        return tide_err_set(e, TIDE_EINVAL, "address '%s': missing or too long host", addr);
    memcpy(host, h, hn);
    host[hn] = 0;
    memcpy(port, pt, pn + 1);
    return 0;
}

static bool sa_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
            return true;
        return IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && in6->sin6_addr.s6_addr[12] == 127;
    }
    return false;
}

static void sa_format(const struct sockaddr *sa, char *out, size_t cap)
{
    char h[INET6_ADDRSTRLEN] = "?";
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, h, sizeof h);
        snprintf(out, cap, "%s:%u", h, (unsigned)ntohs(in->sin_port));
    } else {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, h, sizeof h);
        snprintf(out, cap, "[%s]:%u", h, (unsigned)ntohs(in6->sin6_port));
    }
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int send_all(int fd, const void *p, size_t n)
{
    const char *s = p;
    while (n) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* the listener                                                        */
/* ------------------------------------------------------------------ */

struct tide_http_server {
    int lfd;
    int wake[2]; /* a byte in wake[0]: stop */
    char addr[INET6_ADDRSTRLEN + 16];
    char *token;
    tide_http_handler handler;
    void *ctx;
    pthread_t acceptor;
    pthread_t workers[TIDE_HTTP_WORKERS];
    int nworkers;
    bool acceptor_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int queue[TIDE_HTTP_QUEUE];
    int qhead, qlen;
    bool stopping;
};

static bool token_ok(const char *token, const char *given, size_t given_n)
{
    size_t tn = strlen(token);
    unsigned char diff = (unsigned char)(tn != given_n);
    for (size_t i = 0; i < tn; i++)
        diff |= (unsigned char)(token[i] ^ (i < given_n ? given[i] : 0));
    return diff == 0;
}

static bool authorized(const tide_http_server *s, const tide_http_parsed *p)
{
    if (!s->token)
        return true;
    const char *a = p->auth;
    if (strncasecmp(a, "Bearer ", 7) == 0) {
        a += 7;
        while (*a == ' ')
            a++;
        return token_ok(s->token, a, strlen(a));
    }
    char q[512];
    if (!*a && tide_http_query_get(p->req.query, "token", q, sizeof q) == 0)
        return token_ok(s->token, q, strlen(q));
    return false;
}

static void write_response(int fd, int status, const char *ctype, const tide_buf *body, bool head_only,
                           bool auth_hdr)
{
    char h[512];
    int n = snprintf(h, sizeof h,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n"
                     "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n%s\r\n",
                     status, tide_http_reason(status), ctype, body->len,
                     auth_hdr ? "WWW-Authenticate: Bearer realm=\"tide\"\r\n" : "");
    if (n < 0 || (size_t)n >= sizeof h)
        return;
    if (send_all(fd, h, (size_t)n) != 0)
        return;
    if (!head_only && body->len)
        send_all(fd, body->data, body->len);
}

static void write_error(int fd, int status, const char *msg)
{
    tide_buf b = {0};
    if (json_error_body(&b, msg) == 0)
        write_response(fd, status, "application/json", &b, false, status == 401);
    tide_buf_free(&b);
}

/* Wait until fd is readable, the server stops, or the deadline: 1, 0 (stop
 * or deadline), -1 (error). */
static int wait_readable(tide_http_server *s, int fd, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - now_ms();
        if (left <= 0)
            return 0;
        struct pollfd pf[2] = {{.fd = fd, .events = POLLIN}, {.fd = s->wake[0], .events = POLLIN}};
        int r = poll(pf, 2, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (pf[1].revents)
            return 0;
        if (pf[0].revents)
            return 1;
    }
}

/* After the response: no more writing, read (and drop) what the client
 * still sends for a moment, so closing does not reset the connection
 * before the client has read the response. */
static void linger_close(tide_http_server *s, int fd)
{
    shutdown(fd, SHUT_WR);
    int64_t deadline = now_ms() + TIDE_HTTP_DRAIN_MS;
    char junk[4096];
    for (size_t total = 0; total < (1u << 20);) {
        if (wait_readable(s, fd, deadline) != 1)
            break;
        ssize_t r = recv(fd, junk, sizeof junk, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        total += (size_t)r;
    }
    close(fd);
}

static void serve_conn(tide_http_server *s, int fd)
{
    struct timeval tv = {.tv_sec = TIDE_HTTP_REQUEST_MS / 1000};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    tide_buf in = {0};
    tide_http_parsed p = {0};
    tide_http_resp resp = {.status = 200, .content_type = "application/json"};
    tide_err e = {0};
    int64_t deadline = now_ms() + TIDE_HTTP_REQUEST_MS;
    int rc = TIDE_EAGAIN;
    while (rc == TIDE_EAGAIN) {
        int w = wait_readable(s, fd, deadline);
        if (w == 0 && now_ms() >= deadline && in.len) {
            write_error(fd, 408, "the request did not arrive in time");
            goto out;
        }
        if (w != 1)
            goto out;
        if (tide_buf_reserve(&in, 16384) != 0)
            goto out;
        ssize_t r = recv(fd, in.data + in.len, in.cap - in.len, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (r == 0 && in.len)
                write_error(fd, 400, "the connection was closed in the middle of the request");
            goto out;
        }
        in.len += (size_t)r;
        tide_err_clear(&e);
        rc = tide_http_parse(&p, (const char *)in.data, in.len, &e);
    }
    if (rc == TIDE_EPARSE) {
        write_error(fd, p.status ? p.status : 400, e.msg);
        goto out;
    }
    if (rc != 0) {
        write_error(fd, 500, tide_strerror(rc));
        goto out;
    }
    bool head = strcmp(p.req.method, "HEAD") == 0;
    if (!authorized(s, &p)) {
        write_error(fd, 401, "missing or wrong token: send the header 'Authorization: Bearer TOKEN'");
        goto out;
    }
    tide_err_clear(&e);
    rc = s->handler(s->ctx, &p.req, &resp, &e);
    if (rc != 0) {
        write_error(fd, 500, e.msg[0] ? e.msg : tide_strerror(rc));
        goto out;
    }
    write_response(fd, resp.status ? resp.status : 200, resp.content_type ? resp.content_type : "application/json",
                   &resp.body, head, resp.status == 401);
out:
    tide_buf_free(&resp.body);
    tide_http_parsed_free(&p);
    tide_buf_free(&in);
    linger_close(s, fd);
}

static void *worker_main(void *arg)
{
    tide_http_server *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        while (!s->stopping && s->qlen == 0)
            pthread_cond_wait(&s->cv, &s->mu);
        if (s->stopping) {
            pthread_mutex_unlock(&s->mu);
            return NULL;
        }
        int fd = s->queue[s->qhead];
        s->qhead = (s->qhead + 1) % TIDE_HTTP_QUEUE;
        s->qlen--;
        pthread_mutex_unlock(&s->mu);
        serve_conn(s, fd);
    }
}

static void *acceptor_main(void *arg)
{
    tide_http_server *s = arg;
    for (;;) {
        struct pollfd pf[2] = {{.fd = s->lfd, .events = POLLIN}, {.fd = s->wake[0], .events = POLLIN}};
        int r = poll(pf, 2, -1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 || pf[1].revents)
            return NULL;
        int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                /* out of descriptors: back off instead of spinning */
                struct pollfd w = {.fd = s->wake[0], .events = POLLIN};
                poll(&w, 1, 100);
            }
            continue;
        }
        pthread_mutex_lock(&s->mu);
        bool queued = false;
        if (!s->stopping && s->qlen < TIDE_HTTP_QUEUE) {
            s->queue[(s->qhead + s->qlen) % TIDE_HTTP_QUEUE] = fd;
            s->qlen++;
            queued = true;
            pthread_cond_signal(&s->cv);
        }
        pthread_mutex_unlock(&s->mu);
        if (!queued) {
            struct timeval tv = {.tv_usec = 100000};
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
            write_error(fd, 503, "the server is busy: too many connections waiting");
            close(fd);
        }
    }
}

static void server_free(tide_http_server *s)
{
    if (s->lfd >= 0)
        close(s->lfd);
    if (s->wake[0] >= 0)
        close(s->wake[0]);
    if (s->wake[1] >= 0)
        close(s->wake[1]);
    for (int i = 0; i < s->qlen; i++)
        close(s->queue[(s->qhead + i) % TIDE_HTTP_QUEUE]);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s->token);
    free(s);
}

void tide_http_stop(tide_http_server *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    char b = 1;
    while (write(s->wake[1], &b, 1) < 0 && errno == EINTR)
        ;
    if (s->acceptor_started)
        pthread_join(s->acceptor, NULL);
    for (int i = 0; i < s->nworkers; i++)
        pthread_join(s->workers[i], NULL);
    server_free(s);
}

int tide_http_serve(tide_http_server **out, const char *addr, const char *token, tide_http_handler h, void *ctx,
                    tide_err *e)
{
    *out = NULL;
    char host[256], port[16];
    int rc = split_addr(addr, host, sizeof host, port, sizeof port, e);
    if (rc != 0)
        return rc;
    if (token && (!*token || strpbrk(token, "\r\n ")))
        return tide_err_set(e, TIDE_EINVAL, "the token must be non-empty, without spaces or line breaks");
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *ai = NULL;
    int g = getaddrinfo(host, port, &hints, &ai);
    if (g != 0)
        return tide_err_set(e, TIDE_EINVAL, "address '%s': cannot resolve host '%s': %s", addr, host,
                            gai_strerror(g));
    for (struct addrinfo *a = ai; a; a = a->ai_next) {
        if (!token && !sa_loopback(a->ai_addr)) {
            freeaddrinfo(ai);
            return tide_err_set(e, TIDE_EINVAL,
                                "listening on %s (not a loopback address) needs a token (--token), so that "
                                "only who knows it can use the server",
                                addr);
        }
    }
    tide_http_server *s = calloc(1, sizeof *s);
    if (!s) {
        freeaddrinfo(ai);
        return tide_err_set(e, TIDE_ENOMEM, "http: out of memory");
    }
    s->lfd = s->wake[0] = s->wake[1] = -1;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->handler = h;
    s->ctx = ctx;
    if (token && !(s->token = strdup(token))) {
        rc = tide_err_set(e, TIDE_ENOMEM, "http: out of memory");
        goto fail;
    }
    int err = 0;
    for (struct addrinfo *a = ai; a && s->lfd < 0; a = a->ai_next) {
        int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, a->ai_addr, a->ai_addrlen) != 0 || listen(fd, 128) != 0) {
            err = errno;
            close(fd);
            continue;
        }
        s->lfd = fd;
    }
    if (s->lfd < 0) {
        rc = tide_err_sys(e, err, "http: cannot listen on %s", addr);
        goto fail;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(s->lfd, (struct sockaddr *)&ss, &sl) != 0) {
        rc = tide_err_sys(e, errno, "http: getsockname");
        goto fail;
    }
    sa_format((struct sockaddr *)&ss, s->addr, sizeof s->addr);
    if (pipe2(s->wake, O_CLOEXEC) != 0) {
        rc = tide_err_sys(e, errno, "http: pipe");
        goto fail;
    }
    for (int i = 0; i < TIDE_HTTP_WORKERS; i++) {
        if (pthread_create(&s->workers[i], NULL, worker_main, s) != 0) {
            rc = tide_err_set(e, TIDE_ENOMEM, "http: cannot start a worker thread");
            goto fail_threads;
        }
        s->nworkers++;
    }
    if (pthread_create(&s->acceptor, NULL, acceptor_main, s) != 0) {
        rc = tide_err_set(e, TIDE_ENOMEM, "http: cannot start the acceptor thread");
        goto fail_threads;
    }
    s->acceptor_started = true;
    freeaddrinfo(ai);
    *out = s;
    return 0;
fail_threads:
    freeaddrinfo(ai);
    tide_http_stop(s);
    return rc;
fail:
    freeaddrinfo(ai);
    server_free(s);
    return rc;
}

const char *tide_http_addr(const tide_http_server *s) { return s->addr; }

/* ------------------------------------------------------------------ */
/* the client                                                          */
/* ------------------------------------------------------------------ */

static int connect_to(const char *addr, tide_err *e)
{
    char host[256], port[16];
    int rc = split_addr(addr, host, sizeof host, port, sizeof port, e);
    if (rc != 0)
        return rc;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *ai = NULL;
    int g = getaddrinfo(host, port, &hints, &ai);
    if (g != 0)
        return tide_err_set(e, TIDE_EIO, "tide server %s: cannot resolve '%s': %s", addr, host, gai_strerror(g));
    int fd = -1, err = 0;
    for (struct addrinfo *a = ai; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        struct timeval tv = {.tv_sec = 10}; /* on Linux also bounds connect() */
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
            err = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(ai);
    if (fd < 0)
        return tide_err_sys(e, err, "cannot reach the tide server at %s", addr);
    return fd;
}

/* Parse a whole response (read to EOF): status and body. */
static int parse_response(const char *addr, const unsigned char *d, size_t n, int *status, tide_buf *out,
                          tide_err *e)
{
    const char *s = (const char *)d;
    size_t pos = 0, ln;
    const char *l;
    if (!next_line(s, n, &pos, &l, &ln) || ln < 12 || memcmp(l, "HTTP/1.", 7) != 0 || l[8] != ' ' ||
        l[9] < '1' || l[9] > '5' || l[10] < '0' || l[10] > '9' || l[11] < '0' || l[11] > '9')
        return tide_err_set(e, TIDE_EPARSE, "tide server %s: the response is not HTTP/1.x", addr);
    *status = (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
    bool have_cl = false;
    uint64_t cl = 0;
    for (;;) {
        if (!next_line(s, n, &pos, &l, &ln))
            return tide_err_set(e, TIDE_EIO, "tide server %s: the response ended inside its headers", addr);
        if (ln == 0)
            break;
        const char *colon = memchr(l, ':', ln);
        if (!colon)
            return tide_err_set(e, TIDE_EPARSE, "tide server %s: bad response header line", addr);
        size_t nn = (size_t)(colon - l);
        if (ieq(l, nn, "content-length")) {
            const char *v = colon + 1;
            while (v < l + ln && *v == ' ')
                v++;
            have_cl = true;
            cl = 0;
            for (; v < l + ln && *v >= '0' && *v <= '9' && cl < TIDE_HTTP_RESP_MAX; v++)
                cl = cl * 10 + (uint64_t)(*v - '0');
        } else if (ieq(l, nn, "transfer-encoding")) {
            return tide_err_set(e, TIDE_EPARSE, "tide server %s: chunked responses are not supported", addr);
        }
    }
    size_t avail = n - pos;
    if (have_cl && avail < cl)
        return tide_err_set(e, TIDE_EIO, "tide server %s: the response was cut short (%zu of %llu body bytes)",
                            addr, avail, (unsigned long long)cl);
    size_t take = have_cl ? (size_t)cl : avail;
    if (tide_buf_append(out, s + pos, take) != 0)
        return tide_err_set(e, TIDE_ENOMEM, "out of memory");
    return 0;
}

int tide_http_call(const char *addr, const char *token, const char *method, const char *path, const char *body,
                   size_t body_len, int *status, tide_buf *out, tide_err *e)
{
    *status = 0;
    if (strpbrk(method, " \r\n") || strpbrk(path, " \r\n") || path[0] != '/' ||
        (token && strpbrk(token, "\r\n")))
        return tide_err_set(e, TIDE_EINVAL, "http: bad request '%s %s' (spaces or line breaks)", method, path);
    int fd = connect_to(addr, e);
    if (fd < 0)
        return fd;
    tide_buf req = {0}, in = {0};
    int rc;
    if (tide_buf_printf(&req, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: tide/%s\r\nAccept: */*\r\n"
                              "Connection: close\r\nContent-Length: %zu\r\n",
                        method, path, addr, TIDE_VERSION_STRING, body_len) != 0 ||
        (token && tide_buf_printf(&req, "Authorization: Bearer %s\r\n", token) != 0) ||
        (body_len && tide_buf_printf(&req, "Content-Type: application/json\r\n") != 0) ||
        tide_buf_append(&req, "\r\n", 2) != 0 || (body_len && tide_buf_append(&req, body, body_len) != 0)) {
        rc = tide_err_set(e, TIDE_ENOMEM, "out of memory");
        goto out;
    }
    if (send_all(fd, req.data, req.len) != 0) {
        rc = tide_err_sys(e, errno, "tide server %s: sending the request", addr);
        goto out;
    }
    for (;;) {
        if (in.len >= TIDE_HTTP_RESP_MAX) {
            rc = tide_err_set(e, TIDE_ERANGE, "tide server %s: response larger than %u bytes", addr,
                              TIDE_HTTP_RESP_MAX);
            goto out;
        }
        if (tide_buf_reserve(&in, 65536) != 0) {
            rc = tide_err_set(e, TIDE_ENOMEM, "out of memory");
            goto out;
        }
        ssize_t r = recv(fd, in.data + in.len, in.cap - in.len, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = tide_err_sys(e, errno, "tide server %s: reading the response", addr);
            goto out;
        }
        if (r == 0)
            break;
        in.len += (size_t)r;
    }
    rc = parse_response(addr, in.data, in.len, status, out, e);
out:
    close(fd);
    tide_buf_free(&req);
    tide_buf_free(&in);
    return rc;
}
