/* test_server.c - the tide server (server/server.h) driven through its
 * handler, without a network client: deploy (bad SQL and names refused),
 * the results of a version against a brute-force count of the input,
 * promote refused before a version caught up and accepted after (the older
 * version's output gone), stop, the routes' status codes, a second server
 * on the data directory refused, and a restart resuming the versions. */
#include "base/io.h"
#include "data/json.h"
#include "job/status.h"
#include "job/version.h"
#include "log/topic.h"
#include "log/writer.h"
#include "server/server.h"
#include "tt.h"

#include <signal.h>
#include <time.h>

static void quiet(void *ctx, const char *msg)
{
    (void)ctx;
    (void)msg;
}

static void nap_ms(int ms)
{
    struct timespec d = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&d, NULL);
}

/* n logins "ts,user" at 1 s of event time each from 2026-01-01, users
 * i % users; appended to topic `t`. */
static int produce(const char *dir, uint32_t from, uint32_t n, uint32_t users)
{
    tide_err e = {0};
    tide_log_writer *w = NULL;
    tide_log_writer_opts wo = {0};
    int rc = tide_log_writer_open(&w, dir, "t", &wo, &e);
    char vals[64][48];
    tide_record recs[64];
    for (uint32_t i = from; rc == 0 && i < from + n;) {
        uint32_t k = 0;
        for (; k < 64 && i < from + n; k++, i++) {
            snprintf(vals[k], sizeof vals[k], "2026-01-01 %02u:%02u:%02u.000,%u", i / 3600, i / 60 % 60, i % 60,
                     (i * 7u) % users);
            memset(&recs[k], 0, sizeof recs[k]);
            recs[k].timestamp = 1000 + i;
            recs[k].value = vals[k];
            recs[k].value_len = strlen(vals[k]);
        }
        rc = tide_log_append(w, 0, recs, k, NULL, &e);
    }
    int rc2 = tide_log_writer_close(w, &e);
    return rc ? rc : rc2;
}

static const char *sql_of(bool distinct)
{
    return distinct ? "CREATE TABLE t (ts TIMESTAMP(3), u BIGINT, WATERMARK FOR ts AS ts) WITH ('connector' = 'topic', "
                      "'topic' = 't', 'format' = 'csv');\n"
                      "SELECT window_start, window_end, COUNT(DISTINCT u) AS n FROM TABLE(TUMBLE(TABLE t, "
                      "DESCRIPTOR(ts), INTERVAL '1' MINUTE)) GROUP BY window_start, window_end;\n"
                    : "CREATE TABLE t (ts TIMESTAMP(3), u BIGINT, WATERMARK FOR ts AS ts) WITH ('connector' = 'topic', "
                      "'topic' = 't', 'format' = 'csv');\n"
                      "SELECT window_start, window_end, COUNT(u) AS n FROM TABLE(TUMBLE(TABLE t, "
                      "DESCRIPTOR(ts), INTERVAL '1' MINUTE)) GROUP BY window_start, window_end;\n";
}

static int call(tide_srv *s, const char *method, const char *path, const char *query, const char *body,
                tide_buf *out)
{
    tide_http_req req = {.method = method, .path = path, .query = query ? query : "", .body = body ? body : "",
                         .body_len = body ? strlen(body) : 0};
    tide_http_resp resp = {.status = 200};
    tide_err e = {0};
    int rc = tide_srv_handle(s, &req, &resp, &e);
    if (rc)
        resp.status = 500;
    tide_buf_reset(out);
    if (resp.body.len)
        tide_buf_append(out, resp.body.data, resp.body.len);
    tide_buf_putc(out, '\0');
    out->len--;
    tide_buf_free(&resp.body);
    return resp.status;
}

/* Rows of a results answer whose n column equals brute[minute]. */
static bool results_match(const char *json, const uint32_t *brute, uint32_t nwin, uint32_t *rows)
{
    const char *p = strstr(json, "\"rows\":[");
    if (!p)
        return false;
    p += 8;
    *rows = 0;
    while (*p == '[' || *p == ',') {
        if (*p == ',')
            p++;
        unsigned hh, mm, n;
        if (sscanf(p, "[\"2026-01-01 %u:%u:00.000\",\"%*[^\"]\",%u]", &hh, &mm, &n) != 3)
            return false;
        uint32_t w = hh * 60 + mm;
        if (w >= nwin || brute[w] != n)
            return false;
        (*rows)++;
        p = strchr(p, ']') + 1;
    }
    return true;
}

static void test_server(void)
{
    const char *dir = tt_tmpdir("server");
    tide_err e = {0};
    tide_topic_config tc;
    tide_topic_config_default(&tc);
    tc.partitions = 1;
    TT_OK(tide_topic_create(dir, "t", &tc, &e));
    const uint32_t N = 600, USERS = 23;
    TT_OK(produce(dir, 0, N, USERS));
    /* brute force: distinct and all users per minute, for the 9 closed
     * minutes (W = 599 s closes minutes 0..8) */
    uint32_t distinct[10] = {0}, all[10] = {0};
    for (uint32_t w = 0; w < 10; w++) {
        bool seen[64] = {false};
        for (uint32_t i = w * 60; i < w * 60 + 60; i++) {
            all[w]++;
            if (!seen[(i * 7u) % USERS]) {
                seen[(i * 7u) % USERS] = true;
                distinct[w]++;
            }
        }
    }
    /* the versions run in processes of the tide program (ctest gives its path) */
    const char *exe = getenv("TIDE_BIN");
    TT_ASSERT_MSG(exe != NULL, "TIDE_BIN must name the tide program");
    tide_srv_cfg cfg = {.datadir = dir, .exe = exe, .listen = "127.0.0.1:0", .checkpoint_ms = 100, .backoff_ms = 20,
                        .max_restarts = 1, .report = quiet};
    tide_srv *s = NULL;
    TT_OK(tide_srv_open(&s, &cfg, &e));
    tide_srv *s2 = NULL;
    TT_ASSERT_EQ_INT(tide_srv_open(&s2, &cfg, &e), TIDE_ELOCKED);
    TT_ASSERT(strstr(e.msg, "another tide server (pid ") != NULL);
    e = (tide_err){0};
    tide_buf out = {0}, body = {0};
    /* deploy: bad SQL, a bad name, a bad body, then v1 and v2 */
    TT_ASSERT_EQ_INT(call(s, "POST", "/jobs", NULL, "{\"name\":\"dau\",\"sql\":\"SELEC 1\"}", &out), 400);
    TT_ASSERT(strstr(out.data ? (char *)out.data : "", "SELEC") != NULL);
    TT_ASSERT_EQ_INT(call(s, "POST", "/jobs", NULL, "{\"name\":\"dau.v1\",\"sql\":\"x\"}", &out), 400);
    TT_ASSERT_EQ_INT(call(s, "POST", "/jobs", NULL, "{\"name\":3}", &out), 400);
    TT_ASSERT_EQ_INT(call(s, "POST", "/jobs", NULL, "not json", &out), 400);
    int64_t v = 0;
    TT_OK(tide_srv_deploy(s, "dau", sql_of(false), strlen(sql_of(false)), NULL, &v, &e));
    TT_ASSERT_EQ_INT(v, 1);
    tide_buf_printf(&body, "{\"name\":\"dau\",\"sql\":");
    tide_json_write_string(&body, sql_of(true), strlen(sql_of(true)));
    tide_buf_printf(&body, ",\"from\":\"earliest\"}");
    tide_buf_putc(&body, '\0');
    /* v1's results: COUNT */
    uint32_t rows = 0;
    bool good = false;
    for (int i = 0; i < 400 && !good; i++, nap_ms(10)) {
        call(s, "GET", "/jobs/dau/results", NULL, NULL, &out);
        good = results_match((char *)out.data, all, 10, &rows) && rows == 9;
    }
    TT_ASSERT_MSG(good, "v1 results: %s", (char *)out.data);
    /* v2: an immediate promote is refused (no checkpoint yet), then --wait */
    TT_ASSERT_EQ_INT(call(s, "POST", "/jobs", NULL, (char *)body.data, &out), 201);
    TT_ASSERT(strstr((char *)out.data, "\"version\":2") != NULL);
    int st = call(s, "POST", "/jobs/dau/promote", "version=2", NULL, &out);
    TT_ASSERT_MSG(st == 409 || st == 200, "%d %s", st, (char *)out.data);
    if (st == 409)
        TT_ASSERT(strstr((char *)out.data, "not") != NULL);
    TT_ASSERT_EQ_INT(call(s, "POST", "/jobs/dau/promote", "version=7", NULL, &out), 404);
    TT_ASSERT_EQ_INT(call(s, "POST", "/jobs/dau/promote", "version=x", NULL, &out), 400);
    if (st == 409)
        TT_ASSERT_EQ_INT(call(s, "POST", "/jobs/dau/promote", "version=2&wait=1", NULL, &out), 200);
    TT_ASSERT(!tide_topic_exists(dir, "dau.v1"));
    TT_ASSERT(tide_topic_exists(dir, "dau.v2"));
    good = false;
    for (int i = 0; i < 400 && !good; i++, nap_ms(10)) {
        call(s, "GET", "/jobs/dau/results", NULL, NULL, &out);
        good = results_match((char *)out.data, distinct, 10, &rows) && rows == 9;
    }
    TT_ASSERT_MSG(good, "v2 results: %s", (char *)out.data);
    TT_ASSERT_EQ_INT(call(s, "GET", "/jobs/dau/results", "where=n%20%3E%3D%20100", NULL, &out), 200);
    TT_ASSERT(strstr((char *)out.data, "\"rows\":[]") != NULL);
    TT_ASSERT_EQ_INT(call(s, "GET", "/jobs/dau/results", "where=m%20%3E%201", NULL, &out), 400);
    TT_ASSERT_EQ_INT(call(s, "GET", "/jobs", NULL, NULL, &out), 200);
    TT_ASSERT(strstr((char *)out.data, "\"live\":2") && strstr((char *)out.data, "\"state\":\"retired\""));
    TT_ASSERT_EQ_INT(call(s, "GET", "/jobs/nosuch", NULL, NULL, &out), 404);
    TT_ASSERT_EQ_INT(call(s, "GET", "/nowhere", NULL, NULL, &out), 404);
    TT_ASSERT_EQ_INT(call(s, "DELETE", "/jobs", NULL, NULL, &out), 405);
    /* verify: identical */
    TT_ASSERT_EQ_INT(call(s, "POST", "/jobs/dau/verify", NULL, NULL, &out), 200);
    TT_ASSERT_MSG(strstr((char *)out.data, "\"identical\":true,\"rows\":9") != NULL, "%s", (char *)out.data);
    /* SIGKILL of v2's process: the server restarts it from its last
     * checkpoint (a new process), and the results stay v2's */
    tide_jstatus js;
    TT_OK(tide_jstatus_read(dir, "dau.v2", &js, &e));
    int64_t pid1 = js.pid;
    TT_ASSERT(pid1 > 0 && pid1 != (int64_t)getpid());
    TT_ASSERT_EQ_INT(kill((pid_t)pid1, SIGKILL), 0);
    good = false;
    for (int i = 0; i < 1000 && !good; i++, nap_ms(10)) {
        e = (tide_err){0};
        good = tide_jstatus_read(dir, "dau.v2", &js, &e) == 0 && js.pid != pid1 && strcmp(js.state, "running") == 0;
    }
    TT_ASSERT_MSG(good, "no new process for v2 after the SIGKILL (pid %lld)", (long long)js.pid);
    TT_ASSERT_EQ_INT(call(s, "GET", "/jobs/dau", NULL, NULL, &out), 200);
    TT_ASSERT_MSG(strstr((char *)out.data, "\"restarts\":1") != NULL, "%s", (char *)out.data);
    TT_ASSERT_MSG(strstr((char *)out.data, "killed by signal 9") != NULL, "%s", (char *)out.data);
    good = false;
    for (int i = 0; i < 400 && !good; i++, nap_ms(10)) {
        call(s, "GET", "/jobs/dau/results", NULL, NULL, &out);
        good = results_match((char *)out.data, distinct, 10, &rows) && rows == 9;
    }
    TT_ASSERT_MSG(good, "v2 results after its SIGKILL: %s", (char *)out.data);
    /* more input, a restart: the version resumes and counts it once */
    tide_srv_stop(s);
    TT_OK(produce(dir, N, 120, USERS));
    TT_OK(tide_srv_open(&s, &cfg, &e));
    uint32_t d2[12] = {0};
    memcpy(d2, distinct, sizeof distinct);
    for (uint32_t w = 9; w < 11; w++) {
        bool seen[64] = {false};
        d2[w] = 0;
        for (uint32_t i = w * 60; i < w * 60 + 60; i++)
            if (!seen[(i * 7u) % USERS]) {
                seen[(i * 7u) % USERS] = true;
                d2[w]++;
            }
    }
    good = false;
    for (int i = 0; i < 400 && !good; i++, nap_ms(10)) {
        call(s, "GET", "/jobs/dau/results", NULL, NULL, &out);
        good = results_match((char *)out.data, d2, 12, &rows) && rows == 11;
    }
    TT_ASSERT_MSG(good, "after the restart: %s", (char *)out.data);
    /* stop */
    TT_ASSERT_EQ_INT(call(s, "POST", "/jobs/dau/stop", "version=2", NULL, &out), 200);
    tide_ver_info vi;
    TT_OK(tide_ver_read(dir, "dau", 2, &vi, &e));
    TT_ASSERT_EQ_INT(vi.state, TIDE_VER_STOPPED);
    TT_ASSERT_EQ_INT(call(s, "POST", "/jobs/dau/promote", "version=2", NULL, &out), 400);
    tide_srv_stop(s);
    tide_buf_free(&out);
    tide_buf_free(&body);
}

int main(void)
{
    TT_RUN(test_server);
    TT_DONE();
}
