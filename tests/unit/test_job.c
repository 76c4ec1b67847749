/* test_job.c - a job's resources (job/job.h): opened in order before the
 * run, finished in reverse after it, told whether the run succeeded (a
 * sink commits only then), and a failing finish is the run's error; a
 * spec's checks and its explain text (what `tide explain` prints). */
#include "base/buf.h"
#include "data/schema.h"
#include "job/job.h"
#include "tt.h"

typedef struct res {
    int id;
    int fail_open, fail_finish; /* error codes to return, or 0 */
    int *log, *nlog;            /* shared: +id opened, -id finished ok, -(100 + id) finished not ok */
} res;

static int res_open(void *ctx, tide_err *e)
{
    res *r = ctx;
    if (r->fail_open)
        return tide_err_set(e, r->fail_open, "resource %d: open failed", r->id);
    r->log[(*r->nlog)++] = r->id;
    return 0;
}

static int res_finish(void *ctx, bool ok, tide_err *e)
{
    res *r = ctx;
    r->log[(*r->nlog)++] = ok ? -r->id : -(100 + r->id);
    if (r->fail_finish)
        return tide_err_set(e, r->fail_finish, "resource %d: commit failed", r->id);
    return 0;
}

/* Runs a job of no nodes with three resources; fills log. */
static int run3(res r[3], int *log, int *nlog, tide_err *e)
{
    tide_job_spec *s = NULL;
    tide_job *j = NULL;
    *nlog = 0;
    int rc = tide_job_spec_create(&s, e);
    for (int i = 0; i < 3 && !rc; i++) {
        r[i].id = i + 1;
        r[i].log = log;
        r[i].nlog = nlog;
        rc = tide_job_spec_resource(s, res_open, res_finish, &r[i], e);
    }
    if (!rc)
        rc = tide_job_create(&j, s, NULL, e);
    if (!rc)
        rc = tide_job_run(j, e);
    tide_job_free(j);
    tide_job_spec_free(s);
    return rc;
}

static void test_resources(void)
{
    int log[8], n;
    tide_err e = {0};
    /* success: opened 1 2 3, finished 3 2 1 as a success */
    res r[3] = {{0}};
    TT_OK(run3(r, log, &n, &e));
    int want_ok[6] = {1, 2, 3, -3, -2, -1};
    TT_ASSERT_EQ_INT(n, 6);
    for (int i = 0; i < 6; i++)
        TT_ASSERT_EQ_INT(log[i], want_ok[i]);
    /* the second fails to open: the first is finished as a failure, the
     * third never opened; the error is the open's */
    res r2[3] = {{0}};
    r2[1].fail_open = TIDE_EIO;
    tide_err e2 = {0};
    TT_ASSERT_EQ_INT(run3(r2, log, &n, &e2), TIDE_EIO);
    TT_ASSERT_MSG(strstr(e2.msg, "resource 2: open failed"), "%s", e2.msg);
    TT_ASSERT_EQ_INT(n, 2);
    TT_ASSERT_EQ_INT(log[0], 1);
    TT_ASSERT_EQ_INT(log[1], -101);
    /* the run succeeded but a commit fails: the run fails with its error,
     * and every resource is still finished */
    res r3[3] = {{0}};
    r3[1].fail_finish = TIDE_ENOSPC;
    tide_err e3 = {0};
    TT_ASSERT_EQ_INT(run3(r3, log, &n, &e3), TIDE_ENOSPC);
    TT_ASSERT_MSG(strstr(e3.msg, "resource 2: commit failed"), "%s", e3.msg);
    TT_ASSERT_EQ_INT(n, 6);
    TT_ASSERT_EQ_INT(log[3], -3);
    TT_ASSERT_EQ_INT(log[5], -1);
    /* two commits fail: the first error (in finish order) is the run's */
    res r4[3] = {{0}};
    r4[0].fail_finish = TIDE_EIO;
    r4[2].fail_finish = TIDE_ENOSPC;
    tide_err e4 = {0};
    TT_ASSERT_EQ_INT(run3(r4, log, &n, &e4), TIDE_ENOSPC);
    TT_ASSERT_MSG(strstr(e4.msg, "resource 3"), "%s", e4.msg);
}

/* Nodes are only described here (never run): explain lists them with
 * their parallelism and notes, then the edges, a forward edge into a node
 * of one input as chained, a hash edge with its key columns by name. */
static void test_spec_explain_and_checks(void)
{
    tide_err e = {0};
    tide_job_spec *s = NULL;
    tide_schema *sc = NULL;
    TT_OK(tide_job_spec_create(&s, &e));
    TT_OK(tide_schema_create(&sc, &e));
    TT_OK(tide_schema_add(sc, "ts", TIDE_TYPE_TIMESTAMP, false, &e));
    TT_OK(tide_schema_add(sc, "user", TIDE_TYPE_BIGINT, true, &e));
    TT_OK(tide_schema_add(sc, "country", TIDE_TYPE_STRING, true, &e));
    tide_flow_node n = {.name = "scan", .parallelism = 1, .n_out = 1, .out_schema = {sc}};
    int a, b, c;
    TT_OK(tide_job_spec_node(s, &n, &a, &e));
    n.name = "calc";
    TT_OK(tide_job_spec_node(s, &n, &b, &e));
    n.name = "agg";
    n.parallelism = 4;
    TT_OK(tide_job_spec_node(s, &n, &c, &e));
    TT_ASSERT_EQ_INT(tide_job_spec_node_count(s), 3);
    TT_ASSERT(tide_job_spec_get_node(s, c) && tide_job_spec_get_node(s, c)->parallelism == 4);
    TT_ASSERT(tide_job_spec_get_node(s, 3) == NULL && tide_job_spec_get_node(s, -1) == NULL);
    TT_OK(tide_job_spec_note(s, c, "TUMBLE(1 h) COUNT(*)", &e));
    uint32_t keys[2] = {2, 1};
    TT_OK(tide_job_spec_edge(s, a, 0, b, TIDE_FLOW_FORWARD, NULL, 0, &e));
    TT_OK(tide_job_spec_edge(s, b, 0, c, TIDE_FLOW_HASH, keys, 2, &e));
    keys[0] = 0; /* the spec holds its own copy */
    tide_buf out = {0};
    TT_OK(tide_job_spec_explain(s, &out));
    TT_OK(tide_buf_append(&out, "", 1));
    TT_ASSERT_EQ_STR((const char *)out.data, "  0 scan  x1\n"
                                             "  1 calc  x1\n"
                                             "  2 agg  x4  TUMBLE(1 h) COUNT(*)\n"
                                             "  0 scan -> 1 calc  chained (one task)\n"
                                             "  1 calc -> 2 agg  hash by [country, user]\n");
    tide_buf_free(&out);
    /* what the spec refuses, naming it */
    tide_err e1 = {0}, e2 = {0};
    TT_ASSERT_EQ_INT(tide_job_spec_note(s, 3, "x", &e1), TIDE_EINVAL);
    TT_ASSERT_MSG(strstr(e1.msg, "no node 3"), "%s", e1.msg);
    TT_ASSERT_EQ_INT(tide_job_spec_edge(s, 0, 0, 7, TIDE_FLOW_FORWARD, NULL, 0, &e2), TIDE_EINVAL);
    TT_ASSERT_MSG(strstr(e2.msg, "edge 0 -> 7"), "%s", e2.msg);
    tide_job_spec_free(s);
    tide_schema_free(sc);
    /* a job runs once */
    TT_OK(tide_job_spec_create(&s, &e));
    tide_job *j = NULL;
    TT_OK(tide_job_create(&j, s, NULL, &e));
    TT_OK(tide_job_run(j, &e));
    tide_err e3 = {0};
    TT_ASSERT_EQ_INT(tide_job_run(j, &e3), TIDE_EINVAL);
    TT_ASSERT_MSG(strstr(e3.msg, "run twice"), "%s", e3.msg);
    tide_job_free(j);
    tide_job_spec_free(s);
}

int main(void)
{
    TT_RUN(test_resources);
    TT_RUN(test_spec_explain_and_checks);
    TT_DONE();
}
