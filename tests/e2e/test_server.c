/* test_server.c - a stand-in for `tide server` in the dashboard and metrics
 * tests: the real HTTP listener (server/http.h), the real dashboard
 * (server/dashboard.h) and /metrics rendering (server/metrics.h), with
 * jobs whose counters grow with the wall clock (two jobs; dau has v1 live
 * and v2 catching up) and the real topics of a data directory.
 *
 *   tide_test_server DATADIR ADDR-FILE [TOKEN]
 *
 * Listens on 127.0.0.1:0 (with TOKEN: 0.0.0.0:0), writes its address to
 * ADDR-FILE (atomically), serves until SIGTERM or SIGINT.  Routes: GET /jobs, GET
 * /jobs/NAME, GET /jobs/NAME/results, GET /metrics, the dashboard. */
#include "base/clock.h"
#include "data/json.h"
#include "server/dashboard.h"
#include "server/http.h"
#include "server/metrics.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct ctx {
    const char *datadir;
    int64_t start_ms;
} ctx;

static const char *jobs_names[2] = {"per_country", "dau"};

/* The versions of job j at time now: counters grow 1000 records/s (v2 of
 * dau 2500/s, catching up). */
static size_t versions_of(const ctx *c, int j, int64_t now, tide_srv_version_snap v[2])
{
    int64_t el = now - c->start_ms;
    uint64_t n = (uint64_t)el; /* 1 record per ms */
    v[0] = (tide_srv_version_snap){.version = 1,
                                   .state = "live",
                                   .records_in = n,
                                   .records_out = n / 100,
                                   .late = 3,
                                   .bad = 1,
                                   .rate = 1000.0 + (double)(el / 1000 % 5) * 50.0,
                                   .lag_records = 20 + (el / 1000) % 30,
                                   .lag_ms = 1200,
                                   .watermark_ms = now - 2000,
                                   .ckpt_id = el / 1000 + 1,
                                   .ckpt_time_ms = now - el % 1000,
                                   .ckpt_duration_ms = 3,
                                   .ckpt_bytes = 4096 + (uint64_t)(el / 100),
                                   .state_bytes = 4096 + (uint64_t)(el / 100),
                                   .restarts = 0};
    if (j == 0)
        return 1;
    int64_t behind = 60000 - el * 2 > 0 ? 60000 - el * 2 : 0;
    v[1] = (tide_srv_version_snap){.version = 2,
                                   .state = behind ? "catching-up" : "caught-up",
                                   .records_in = n * 5 / 2,
                                   .records_out = n / 40,
                                   .rate = 2500.0,
                                   .lag_records = behind * 3,
                                   .lag_ms = behind,
                                   .watermark_ms = now - 2000 - behind,
                                   .restarts = 1};
    return 2;
}

static void version_json(tide_buf *b, const tide_srv_version_snap *v, const char *job)
{
    tide_buf_printf(b,
                    "{\"version\":%d,\"state\":\"%s\",\"error\":null,\"from\":\"earliest\",\"output\":\"%s.v%d\","
                    "\"running\":true,\"records_in\":%llu,\"records_out\":%llu,\"late\":%llu,\"bad\":%llu,"
                    "\"lag_records\":%lld,\"lag_ms\":%lld,\"watermark\":%lld,\"rate\":%.1f,\"restarts\":%llu,"
                    "\"checkpoint\":",
                    v->version, v->state, job, v->version, (unsigned long long)v->records_in,
                    (unsigned long long)v->records_out, (unsigned long long)v->late, (unsigned long long)v->bad,
                    (long long)v->lag_records, (long long)v->lag_ms, (long long)v->watermark_ms, v->rate,
                    (unsigned long long)v->restarts);
    if (v->ckpt_id)
        tide_buf_printf(b, "{\"id\":%lld,\"time\":%lld,\"bytes\":%llu,\"duration_ms\":%lld}}",
                        (long long)v->ckpt_id, (long long)v->ckpt_time_ms, (unsigned long long)v->ckpt_bytes,
                        (long long)v->ckpt_duration_ms);
    else
        tide_buf_printf(b, "null}");
}

static void job_json(const ctx *c, int j, int64_t now, tide_buf *b)
{
    tide_srv_version_snap v[2];
    size_t n = versions_of(c, j, now, v);
    tide_buf_printf(b, "{\"name\":\"%s\",\"live\":1,\"versions\":[", jobs_names[j]);
    for (size_t k = 0; k < n; k++) {
        if (k)
            tide_buf_putc(b, ',');
        version_json(b, &v[k], jobs_names[j]);
    }
    tide_buf_printf(b, "]}");
}

static int handle(void *arg, const tide_http_req *req, tide_http_resp *resp, tide_err *e)
{
    const ctx *c = arg;
    int64_t now = tide_clock_now_ms(tide_clock_system());
    const char *p = req->path;
    if (strcmp(req->method, "GET") != 0)
        return tide_http_error(resp, 405, "%s %s: the test server only answers GET", req->method, p);
    if (tide_srv_dashboard_path(p))
        return tide_srv_dashboard(p, resp, e);
    if (strcmp(p, "/jobs") == 0) {
        tide_buf_printf(&resp->body, "{\"jobs\":[");
        for (int j = 0; j < 2; j++) {
            if (j)
                tide_buf_putc(&resp->body, ',');
            job_json(c, j, now, &resp->body);
        }
        tide_buf_printf(&resp->body, "]}");
        return 0;
    }
    for (int j = 0; j < 2; j++) {
        char base[64], res[80];
        snprintf(base, sizeof base, "/jobs/%s", jobs_names[j]);
        snprintf(res, sizeof res, "/jobs/%s/results", jobs_names[j]);
        if (strcmp(p, base) == 0) {
            job_json(c, j, now, &resp->body);
            return 0;
        }
        if (strcmp(p, res) == 0) {
            static const char *countries[] = {"DE", "FR", "US", "JP", "BR"};
            tide_buf_printf(&resp->body, "{\"columns\":[\"window_start\",\"window_end\",\"country\",\"logins\"],"
                                         "\"version\":1,\"rows\":[");
            for (int i = 0; i < 10; i++)
                tide_buf_printf(&resp->body, "%s[\"2026-01-01 00:%02d:00.000\",\"2026-01-01 00:%02d:00.000\",\"%s\",%d]",
                                i ? "," : "", i / 5, i / 5 + 1, countries[i % 5], 100 + i * 7);
            tide_buf_printf(&resp->body, "]}");
            return 0;
        }
    }
    if (strcmp(p, "/metrics") == 0) {
        tide_srv_version_snap v[2][2];
        tide_srv_job_snap jobs[2];
        for (int j = 0; j < 2; j++) {
            size_t n = versions_of(c, j, now, v[j]);
            jobs[j] = (tide_srv_job_snap){.name = jobs_names[j], .live = 1, .versions = v[j], .nversions = n};
        }
        tide_srv_topic_snap *topics = NULL;
        size_t nt = 0;
        int rc = tide_srv_topics_load(c->datadir, &topics, &nt, e);
        if (rc != 0)
            return rc;
        tide_srv_snapshot snap = {.now_ms = now, .jobs = jobs, .njobs = 2, .topics = topics, .ntopics = nt};
        rc = tide_srv_metrics(&snap, &resp->body, e);
        resp->content_type = TIDE_SRV_METRICS_CONTENT_TYPE;
        tide_srv_topics_free(topics, nt);
        return rc;
    }
    return tide_http_error(resp, 404, "%s: no such route", p);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: tide_test_server DATADIR ADDR-FILE [TOKEN]\n");
        return 1;
    }
    ctx c = {.datadir = argv[1], .start_ms = tide_clock_now_ms(tide_clock_system())};
    const char *token = argc > 3 ? argv[3] : NULL;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* the listener's threads inherit it */
    tide_http_server *s = NULL;
    tide_err e = {0};
    if (tide_http_serve(&s, token ? "0.0.0.0:0" : "127.0.0.1:0", token, handle, &c, &e) != 0) {
        fprintf(stderr, "tide_test_server: %s\n", e.msg);
        return 2;
    }
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", argv[2]);
    FILE *f = fopen(tmp, "w");
    if (!f || fprintf(f, "%s\n", tide_http_addr(s)) < 0 || fclose(f) != 0 || rename(tmp, argv[2]) != 0) {
        fprintf(stderr, "tide_test_server: cannot write %s\n", argv[2]);
        tide_http_stop(s);
        return 2;
    }
    int sig = 0;
    sigwait(&set, &sig);
    tide_http_stop(s);
    return 0;
}
