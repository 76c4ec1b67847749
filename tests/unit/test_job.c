/* test_job.c - a job's resources (job/job.h): opened in order before the
 * run, finished in reverse after it, told whether the run succeeded (a
 * sink commits only then), and a failing finish is the run's error. */
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

int main(void)
{
    TT_RUN(test_resources);
    TT_DONE();
}
