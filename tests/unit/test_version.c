/* test_version.c - job versions (job/version.h): deploy numbers versions
 * 1, 2, ... and never reuses one, the first becomes live, the promote rule
 * (each refusal), promote retires older versions and deletes their output
 * topics and state (or keeps them), a promote interrupted after the alias
 * switch is finished by recover, a deploy interrupted before its rename
 * leaves nothing, damaged files are refused naming them. */
#include "base/fault.h"
#include "base/io.h"
#include "job/version.h"
#include "log/topic.h"
#include "tt.h"

#include <sys/stat.h>

static bool exists(const char *dir, const char *rel)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    struct stat sb;
    return stat(p, &sb) == 0;
}

static void make_topic(const char *dir, const char *name)
{
    tide_topic_config c;
    tide_topic_config_default(&c);
    tide_err e = {0};
    if (tide_topic_create(dir, name, &c, &e) != 0)
        fprintf(stderr, "topic %s: %s\n", name, e.msg);
}

/* A version's named job directory, as coord makes it. */
static void make_unit_dir(const char *dir, const char *unit)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/jobs/%s/checkpoints", dir, unit);
    tide_err e = {0};
    tide_io_mkdirs(p, &e);
}

static void test_names_and_from(void)
{
    TT_ASSERT(tide_ver_name_valid("dau"));
    TT_ASSERT(tide_ver_name_valid("dau.v"));
    TT_ASSERT(tide_ver_name_valid("dau.v2x"));
    TT_ASSERT(!tide_ver_name_valid("dau.v2"));
    TT_ASSERT(!tide_ver_name_valid("../x"));
    TT_ASSERT(!tide_ver_name_valid(""));
    char unit[64];
    tide_ver_unit_name("dau", 12, unit, sizeof unit);
    TT_ASSERT_EQ_STR(unit, "dau.v12");
    tide_ver_from f;
    tide_err e = {0};
    TT_OK(tide_ver_from_parse("earliest", &f, &e));
    TT_ASSERT_EQ_INT(f.kind, TIDE_VER_FROM_EARLIEST);
    TT_OK(tide_ver_from_parse("latest", &f, &e));
    TT_ASSERT_EQ_INT(f.kind, TIDE_VER_FROM_LATEST);
    TT_OK(tide_ver_from_parse("@1700000000000", &f, &e));
    TT_ASSERT_EQ_INT(f.kind, TIDE_VER_FROM_TIME);
    TT_ASSERT_EQ_INT(f.ms, 1700000000000LL);
    TT_OK(tide_ver_from_parse("@2024-01-02 00:00:00", &f, &e));
    TT_ASSERT_EQ_INT(f.ms, 1704153600000LL);
    char buf[64];
    tide_ver_from_format(&f, buf, sizeof buf);
    TT_ASSERT_EQ_STR(buf, "@1704153600000");
    TT_ASSERT_EQ_INT(tide_ver_from_parse("yesterday", &f, &e), TIDE_EINVAL);
    TT_ASSERT(strstr(e.msg, "yesterday") != NULL);
    e = (tide_err){0};
    TT_ASSERT_EQ_INT(tide_ver_from_parse("@2024-13-01", &f, &e), TIDE_EINVAL);
}

static void test_deploy_numbers(void)
{
    const char *dir = tt_tmpdir("ver_deploy");
    tide_err e = {0};
    tide_ver_from from = {.kind = TIDE_VER_FROM_EARLIEST};
    int64_t v = 0;
    TT_ASSERT_EQ_INT(tide_ver_deploy(dir, "bad.v1", "x", 1, &from, &v, &e), TIDE_EINVAL);
    e = (tide_err){0};
    tide_ver_alias a;
    TT_OK(tide_ver_alias_read(dir, "dau", &a, &e));
    TT_ASSERT_EQ_INT(a.live, 0);
    TT_OK(tide_ver_deploy(dir, "dau", "SELECT 1;", 9, &from, &v, &e));
    TT_ASSERT_EQ_INT(v, 1);
    TT_OK(tide_ver_alias_read(dir, "dau", &a, &e));
    TT_ASSERT_EQ_INT(a.live, 1); /* the first version is live at once */
    from = (tide_ver_from){.kind = TIDE_VER_FROM_TIME, .ms = 42};
    TT_OK(tide_ver_deploy(dir, "dau", "SELECT 2;", 9, &from, &v, &e));
    TT_ASSERT_EQ_INT(v, 2);
    TT_OK(tide_ver_alias_read(dir, "dau", &a, &e));
    TT_ASSERT_EQ_INT(a.live, 1); /* later ones only by promote */
    char *sql = NULL;
    size_t len = 0;
    TT_OK(tide_ver_sql(dir, "dau", 2, &sql, &len, &e));
    TT_ASSERT_EQ_STR(sql, "SELECT 2;");
    free(sql);
    tide_ver_info *vs = NULL;
    size_t n = 0;
    TT_OK(tide_ver_list(dir, "dau", &vs, &n, &e));
    TT_ASSERT_EQ_INT(n, 2);
    TT_ASSERT_EQ_INT(vs[1].version, 2);
    TT_ASSERT_EQ_INT(vs[1].from.kind, TIDE_VER_FROM_TIME);
    TT_ASSERT_EQ_INT(vs[1].from.ms, 42);
    TT_ASSERT_EQ_INT(vs[1].state, TIDE_VER_DEPLOYED);
    free(vs);
    /* state changes persist, with the error of a failed one */
    TT_OK(tide_ver_set_state(dir, "dau", 2, TIDE_VER_FAILED, "boom\nagain", &e));
    tide_ver_info one;
    TT_OK(tide_ver_read(dir, "dau", 2, &one, &e));
    TT_ASSERT_EQ_INT(one.state, TIDE_VER_FAILED);
    TT_ASSERT_EQ_STR(one.error, "boom again");
    /* a state change that fails leaves the record as it was */
    tide_fault_set("ver.meta:eio");
    TT_ASSERT_EQ_INT(tide_ver_set_state(dir, "dau", 2, TIDE_VER_STOPPED, NULL, &e), TIDE_EIO);
    tide_fault_set(NULL);
    e = (tide_err){0};
    TT_OK(tide_ver_read(dir, "dau", 2, &one, &e));
    TT_ASSERT_EQ_INT(one.state, TIDE_VER_FAILED);
    TT_ASSERT_EQ_INT(tide_ver_read(dir, "dau", 7, &one, &e), TIDE_ENOENT);
    TT_ASSERT(strstr(e.msg, "no version 7") != NULL);
    /* a deploy that dies before its rename leaves no version; the number is
     * taken by the next deploy, and recover removes the leftover */
    e = (tide_err){0};
    tide_fault_set("ver.deploy:eio");
    TT_ASSERT_EQ_INT(tide_ver_deploy(dir, "dau", "SELECT 3;", 9, &from, &v, &e), TIDE_EIO);
    tide_fault_set(NULL);
    TT_ASSERT(!exists(dir, "jobs/dau/versions/v3"));
    /* a leftover as a killed deploy leaves it */
    char p[4096];
    snprintf(p, sizeof p, "%s/jobs/dau/versions/.v9.tmp", dir);
    mkdir(p, 0755);
    e = (tide_err){0};
    TT_OK(tide_ver_recover(dir, "dau", NULL, NULL, NULL, NULL, &e));
    TT_ASSERT(!exists(dir, "jobs/dau/versions/.v9.tmp"));
    TT_OK(tide_ver_deploy(dir, "dau", "SELECT 3;", 9, &from, &v, &e));
    TT_ASSERT_EQ_INT(v, 3);
    /* the jobs with versions; a plain named job's directory is not one */
    make_unit_dir(dir, "dau.v1");
    char **names = NULL;
    TT_OK(tide_ver_jobs(dir, &names, &n, &e));
    TT_ASSERT_EQ_INT(n, 1);
    TT_ASSERT_EQ_STR(names[0], "dau");
    tide_ver_names_free(names, n);
    TT_ASSERT(tide_ver_is_deployed(dir, "dau"));
    TT_ASSERT(!tide_ver_is_deployed(dir, "dau.v1"));
}

static void test_promote_check(void)
{
    tide_ver_info v = {.version = 2, .state = TIDE_VER_DEPLOYED};
    snprintf(v.job, sizeof v.job, "dau");
    tide_ver_alias a = {.live = 1};
    tide_ver_progress p = {.running = true, .lag_known = true, .lag = 0};
    tide_err e = {0};
    TT_OK(tide_ver_promote_check(&v, &a, &p, &e));
    p.lag = 5;
    TT_ASSERT_EQ_INT(tide_ver_promote_check(&v, &a, &p, &e), TIDE_EAGAIN);
    TT_ASSERT(strstr(e.msg, "not caught up") && strstr(e.msg, "5 input records"));
    e = (tide_err){0};
    p.lag = 1; /* one record behind is not caught up */
    TT_ASSERT_EQ_INT(tide_ver_promote_check(&v, &a, &p, &e), TIDE_EAGAIN);
    e = (tide_err){0};
    p.lag = 0;
    p.lag_known = false;
    TT_ASSERT_EQ_INT(tide_ver_promote_check(&v, &a, &p, &e), TIDE_EAGAIN);
    e = (tide_err){0};
    p.lag_known = true;
    p.running = false;
    TT_ASSERT_EQ_INT(tide_ver_promote_check(&v, &a, &p, &e), TIDE_EAGAIN);
    e = (tide_err){0};
    p.running = true;
    v.state = TIDE_VER_FAILED;
    snprintf(v.error, sizeof v.error, "disk full");
    TT_ASSERT_EQ_INT(tide_ver_promote_check(&v, &a, &p, &e), TIDE_EINVAL);
    TT_ASSERT(strstr(e.msg, "failed (disk full)") != NULL);
    e = (tide_err){0};
    v.state = TIDE_VER_STOPPED;
    TT_ASSERT_EQ_INT(tide_ver_promote_check(&v, &a, &p, &e), TIDE_EINVAL);
    e = (tide_err){0};
    v.state = TIDE_VER_RETIRED;
    TT_ASSERT_EQ_INT(tide_ver_promote_check(&v, &a, &p, &e), TIDE_EINVAL);
    e = (tide_err){0};
    v.state = TIDE_VER_DEPLOYED;
    a.live = 2;
    TT_ASSERT_EQ_INT(tide_ver_promote_check(&v, &a, &p, &e), TIDE_EINVAL);
    TT_ASSERT(strstr(e.msg, "live already") != NULL);
}

typedef struct stops {
    int64_t seen[8];
    int n;
    int fail_at; /* version whose stop fails, or 0 */
} stops;

static int on_stop(void *ctx, const char *job, int64_t version, tide_err *e)
{
    stops *s = ctx;
    (void)job;
    if (version == s->fail_at)
        return tide_err_set(e, TIDE_EIO, "cannot stop v%lld", (long long)version);
    if (s->n < 8)
        s->seen[s->n++] = version;
    return 0;
}

/* Three versions with outputs and state; promote v3. */
static void setup3(const char *dir)
{
    tide_err e = {0};
    tide_ver_from from = {.kind = TIDE_VER_FROM_EARLIEST};
    int64_t v;
    for (int i = 1; i <= 3; i++) {
        tide_ver_deploy(dir, "dau", "SELECT 1;", 9, &from, &v, &e);
        char unit[64];
        tide_ver_unit_name("dau", i, unit, sizeof unit);
        make_topic(dir, unit);
        make_unit_dir(dir, unit);
    }
}

static void test_promote_retires(void)
{
    const char *dir = tt_tmpdir("ver_promote");
    setup3(dir);
    tide_err e = {0};
    stops s = {0};
    TT_OK(tide_ver_promote(dir, "dau", 3, false, on_stop, &s, &e));
    tide_ver_alias a;
    TT_OK(tide_ver_alias_read(dir, "dau", &a, &e));
    TT_ASSERT_EQ_INT(a.live, 3);
    TT_ASSERT_EQ_INT(s.n, 2);
    TT_ASSERT_EQ_INT(s.seen[0], 1);
    TT_ASSERT_EQ_INT(s.seen[1], 2);
    tide_ver_info v;
    TT_OK(tide_ver_read(dir, "dau", 1, &v, &e));
    TT_ASSERT_EQ_INT(v.state, TIDE_VER_RETIRED);
    TT_OK(tide_ver_read(dir, "dau", 3, &v, &e));
    TT_ASSERT_EQ_INT(v.state, TIDE_VER_DEPLOYED);
    TT_ASSERT(!tide_topic_exists(dir, "dau.v1"));
    TT_ASSERT(!tide_topic_exists(dir, "dau.v2"));
    TT_ASSERT(tide_topic_exists(dir, "dau.v3"));
    TT_ASSERT(!exists(dir, "jobs/dau.v1"));
    TT_ASSERT(!exists(dir, "jobs/dau.v2"));
    TT_ASSERT(exists(dir, "jobs/dau.v3/checkpoints"));
    /* a recover after a finished promote has nothing to do */
    s.n = 0;
    TT_OK(tide_ver_recover(dir, "dau", on_stop, &s, NULL, NULL, &e));
    TT_ASSERT_EQ_INT(s.n, 0);
    /* the records of retired versions stay: numbers are not reused */
    tide_ver_from from = {.kind = TIDE_VER_FROM_EARLIEST};
    int64_t nv;
    TT_OK(tide_ver_deploy(dir, "dau", "SELECT 4;", 9, &from, &nv, &e));
    TT_ASSERT_EQ_INT(nv, 4);
}

static void test_promote_keep(void)
{
    const char *dir = tt_tmpdir("ver_keep");
    setup3(dir);
    tide_err e = {0};
    stops s = {0};
    TT_OK(tide_ver_promote(dir, "dau", 2, true, on_stop, &s, &e));
    TT_ASSERT_EQ_INT(s.n, 1);
    tide_ver_info v;
    TT_OK(tide_ver_read(dir, "dau", 1, &v, &e));
    TT_ASSERT_EQ_INT(v.state, TIDE_VER_RETIRED);
    TT_ASSERT(tide_topic_exists(dir, "dau.v1"));
    TT_ASSERT(exists(dir, "jobs/dau.v1/checkpoints"));
    /* v3 is newer: untouched */
    TT_OK(tide_ver_read(dir, "dau", 3, &v, &e));
    TT_ASSERT_EQ_INT(v.state, TIDE_VER_DEPLOYED);
    /* recover with the alias's keep: nothing deleted */
    TT_OK(tide_ver_recover(dir, "dau", on_stop, &s, NULL, NULL, &e));
    TT_ASSERT(tide_topic_exists(dir, "dau.v1"));
}

static void test_promote_interrupted(void)
{
    const char *dir = tt_tmpdir("ver_crash");
    setup3(dir);
    tide_err e = {0};
    stops s = {0};
    /* the alias switched, then the deletion failed: the alias stands */
    tide_fault_set("ver.retire:eio");
    TT_ASSERT_EQ_INT(tide_ver_promote(dir, "dau", 3, false, on_stop, &s, &e), TIDE_EIO);
    tide_fault_set(NULL);
    tide_ver_alias a;
    e = (tide_err){0};
    TT_OK(tide_ver_alias_read(dir, "dau", &a, &e));
    TT_ASSERT_EQ_INT(a.live, 3);
    TT_ASSERT(tide_topic_exists(dir, "dau.v1"));
    /* a stop that fails stops the retirement there */
    s.fail_at = 1;
    TT_ASSERT_EQ_INT(tide_ver_recover(dir, "dau", on_stop, &s, NULL, NULL, &e), TIDE_EIO);
    TT_ASSERT(strstr(e.msg, "cannot stop v1") != NULL);
    e = (tide_err){0};
    s.fail_at = 0;
    /* recover finishes it: v1 (retired, not deleted) and v2 (not retired) */
    TT_OK(tide_ver_recover(dir, "dau", on_stop, &s, NULL, NULL, &e));
    TT_ASSERT(!tide_topic_exists(dir, "dau.v1"));
    TT_ASSERT(!tide_topic_exists(dir, "dau.v2"));
    TT_ASSERT(!exists(dir, "jobs/dau.v2"));
    tide_ver_info v;
    TT_OK(tide_ver_read(dir, "dau", 2, &v, &e));
    TT_ASSERT_EQ_INT(v.state, TIDE_VER_RETIRED);
    TT_ASSERT(tide_topic_exists(dir, "dau.v3"));
    /* an alias switch that failed changes nothing */
    tide_ver_from from = {.kind = TIDE_VER_FROM_EARLIEST};
    int64_t nv;
    TT_OK(tide_ver_deploy(dir, "dau", "SELECT 4;", 9, &from, &nv, &e));
    tide_fault_set("ver.alias:eio");
    TT_ASSERT_EQ_INT(tide_ver_promote(dir, "dau", 4, false, on_stop, &s, &e), TIDE_EIO);
    tide_fault_set(NULL);
    e = (tide_err){0};
    TT_OK(tide_ver_alias_read(dir, "dau", &a, &e));
    TT_ASSERT_EQ_INT(a.live, 3);
    TT_ASSERT(tide_topic_exists(dir, "dau.v3"));
}

/* Flip one byte of a file. */
static void damage(const char *dir, const char *rel, long at)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    FILE *f = fopen(p, "r+b");
    if (!f)
        return;
    fseek(f, at, SEEK_SET);
    int c = fgetc(f);
    fseek(f, at, SEEK_SET);
    fputc(c ^ 0x01, f);
    fclose(f);
}

static void test_damaged(void)
{
    const char *dir = tt_tmpdir("ver_damaged");
    tide_err e = {0};
    tide_ver_from from = {.kind = TIDE_VER_FROM_EARLIEST};
    int64_t v;
    TT_OK(tide_ver_deploy(dir, "dau", "SELECT 1;", 9, &from, &v, &e));
    TT_OK(tide_ver_deploy(dir, "dau", "SELECT 1;", 9, &from, &v, &e));
    damage(dir, "jobs/dau/alias", 20);
    tide_ver_alias a;
    TT_ASSERT_EQ_INT(tide_ver_alias_read(dir, "dau", &a, &e), TIDE_ECORRUPT);
    TT_ASSERT(strstr(e.msg, "alias") && strstr(e.msg, "damaged"));
    /* a deploy does not guess at a damaged alias */
    e = (tide_err){0};
    TT_ASSERT_EQ_INT(tide_ver_deploy(dir, "dau", "SELECT 1;", 9, &from, &v, &e), TIDE_ECORRUPT);
    e = (tide_err){0};
    damage(dir, "jobs/dau/versions/v2/meta", 30);
    tide_ver_info *vs = NULL;
    size_t n = 0;
    TT_ASSERT_EQ_INT(tide_ver_list(dir, "dau", &vs, &n, &e), TIDE_ECORRUPT);
    TT_ASSERT(strstr(e.msg, "v2/meta") != NULL);
}

int main(void)
{
    TT_RUN(test_names_and_from);
    TT_RUN(test_deploy_numbers);
    TT_RUN(test_promote_check);
    TT_RUN(test_promote_retires);
    TT_RUN(test_promote_keep);
    TT_RUN(test_promote_interrupted);
    TT_RUN(test_damaged);
    TT_DONE();
}
