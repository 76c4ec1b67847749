/*
 * test_io_journal.c - power loss across processes (base/io.h,
 * $TIDE_IO_JOURNAL and tide_io_journal_rewind): files written through
 * base/io.c are cut back to what an fsync made durable, following renames
 * (of files and of directories), removals, truncations and relative paths;
 * a file opened for writing counts its size then as durable; the journal is
 * emptied; with a seed a prefix of the unsynced bytes stays.  The expected
 * sizes are worked out here from the writes the test makes.  A rename a
 * kill interrupted (after rename(2), before its journal line: fault point
 * io.rename in a child process) keeps the new, whole file; one the kill
 * came before (only its 'P' line) keeps the old one whole.
 */
#include "base/err.h"
#include "base/fault.h"
#include "base/io.h"
#include "tt.h"

#include <signal.h>
#include <sys/wait.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmp[8192], journal[8400];

static long size_of(const char *dir, const char *name)
{
    char p[16900];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    struct stat st;
    return stat(p, &st) == 0 ? (long)st.st_size : -1;
}

static int put(tide_file *f, uint64_t off, size_t n, tide_err *e)
{
    char buf[256];
    memset(buf, 'x', sizeof buf);
    return tide_io_pwrite(f, buf, n, off, e);
}

static int make(const char *dir, const char *name, tide_file **f, tide_err *e)
{
    char p[16900];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return tide_io_open(f, p, TIDE_IO_WRITE | TIDE_IO_CREATE, e);
}

/* Write the scenario into dir; returns 0. */
static int scenario(const char *dir, tide_err *e)
{
    tide_file *f = NULL;
    char p[16900], q[16900];
    int rc;
    /* a: 100 synced, 50 not */
    if ((rc = make(dir, "a", &f, e)) || (rc = put(f, 0, 100, e)) || (rc = tide_io_fsync(f, e)) ||
        (rc = put(f, 100, 50, e)))
        return rc;
    tide_io_close(f);
    /* b: 10 synced, 10 not, then renamed to c */
    if ((rc = make(dir, "b", &f, e)) || (rc = put(f, 0, 10, e)) || (rc = tide_io_fsync(f, e)) ||
        (rc = put(f, 10, 10, e)))
        return rc;
    tide_io_close(f);
    snprintf(p, sizeof p, "%s/b", dir);
    snprintf(q, sizeof q, "%s/c", dir);
    if ((rc = tide_io_rename(p, q, e)))
        return rc;
    /* d: written and removed; then a new d, never synced */
    if ((rc = make(dir, "d", &f, e)) || (rc = put(f, 0, 20, e)) || (rc = tide_io_fsync(f, e)))
        return rc;
    tide_io_close(f);
    snprintf(p, sizeof p, "%s/d", dir);
    if ((rc = tide_io_unlink(p, e)) || (rc = make(dir, "d", &f, e)) || (rc = put(f, 0, 30, e)))
        return rc;
    tide_io_close(f);
    /* e: 30 bytes before (not through io.c), opened for writing, 20 more */
    snprintf(p, sizeof p, "%s/e", dir);
    FILE *fp = fopen(p, "w");
    if (!fp)
        return TIDE_EIO;
    fprintf(fp, "%030d", 0);
    fclose(fp);
    if ((rc = tide_io_open(&f, p, TIDE_IO_WRITE, e)) || (rc = put(f, 30, 20, e)))
        return rc;
    tide_io_close(f);
    /* f: 40 synced, truncated to 10, 5 more */
    if ((rc = make(dir, "f", &f, e)) || (rc = put(f, 0, 40, e)) || (rc = tide_io_fsync(f, e)) ||
        (rc = tide_io_truncate(f, 10, e)) || (rc = put(f, 10, 5, e)))
        return rc;
    tide_io_close(f);
    /* x/y: 7 synced, 3 not; then directory x renamed to z */
    snprintf(p, sizeof p, "%s/x", dir);
    if ((rc = tide_io_mkdir(p, e)) || (rc = make(p, "y", &f, e)) || (rc = put(f, 0, 7, e)) ||
        (rc = tide_io_fsync(f, e)) || (rc = put(f, 7, 3, e)))
        return rc;
    tide_io_close(f);
    snprintf(q, sizeof q, "%s/z", dir);
    if ((rc = tide_io_rename(p, q, e)))
        return rc;
    /* rel: a relative path (the journal keeps it absolute): 4 synced, 4 not */
    char cwd[4096];
    if (!getcwd(cwd, sizeof cwd) || chdir(dir) != 0)
        return TIDE_EIO;
    rc = tide_io_open(&f, "rel", TIDE_IO_WRITE | TIDE_IO_CREATE, e);
    if (!rc && !(rc = put(f, 0, 4, e)) && !(rc = tide_io_fsync(f, e)))
        rc = put(f, 4, 4, e);
    tide_io_close(f);
    if (chdir(cwd) != 0 && !rc)
        rc = TIDE_EIO;
    return rc;
}

static void test_rewind(void)
{
    char dir[8400];
    snprintf(dir, sizeof dir, "%s/s1", tmp);
    mkdir(dir, 0755);
    tide_err e = {0};
    TT_OK(scenario(dir, &e));
    TT_ASSERT_EQ_INT(size_of(dir, "a"), 150);
    tide_io_rewind_stats st;
    TT_OK(tide_io_journal_rewind(journal, 0, &st, &e));
    TT_ASSERT_EQ_INT(size_of(dir, "a"), 100);
    TT_ASSERT_EQ_INT(size_of(dir, "c"), 10);
    TT_ASSERT_EQ_INT(size_of(dir, "d"), 0);
    TT_ASSERT_EQ_INT(size_of(dir, "e"), 30);
    TT_ASSERT_EQ_INT(size_of(dir, "f"), 10);
    TT_ASSERT_EQ_INT(size_of(dir, "z/y"), 7);
    TT_ASSERT_EQ_INT(size_of(dir, "rel"), 4);
    TT_ASSERT_EQ_INT(st.files, 7);
    TT_ASSERT_EQ_INT(st.cut, 7);
    TT_ASSERT_EQ_INT(st.dropped, 50 + 10 + 30 + 20 + 5 + 3 + 4);
    /* the journal is empty: a second rewind changes nothing */
    struct stat js;
    TT_ASSERT(stat(journal, &js) == 0 && js.st_size == 0);
    TT_OK(tide_io_journal_rewind(journal, 0, &st, &e));
    TT_ASSERT_EQ_INT(st.files, 0);
}

static void test_rewind_seeded(void)
{
    long kept_some = 0, kept_all = 0, kept_none = 0;
    for (uint64_t seed = 1; seed <= 20; seed++) {
        char dir[8400];
        snprintf(dir, sizeof dir, "%s/seed%llu", tmp, (unsigned long long)seed);
        mkdir(dir, 0755);
        tide_err e = {0};
        TT_OK(scenario(dir, &e));
        tide_io_rewind_stats st;
        TT_OK(tide_io_journal_rewind(journal, seed, &st, &e));
        long a = size_of(dir, "a");
        TT_ASSERT_MSG(a >= 100 && a <= 150, "a is %ld", a);
        kept_none += a == 100;
        kept_all += a == 150;
        kept_some += a > 100 && a < 150;
        long y = size_of(dir, "z/y");
        TT_ASSERT(y >= 7 && y <= 10);
    }
    TT_ASSERT(kept_some > 0);
    (void)kept_all;
    (void)kept_none;
}

/* The content of dir/name (malloc'd, NUL-terminated) or NULL. */
static char *content(const char *dir, const char *name)
{
    char p[16900], *buf = NULL;
    size_t len = 0;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    tide_err e = {0};
    return tide_io_read_all(p, &buf, &len, &e) == 0 ? buf : NULL;
}

/* A file replaced atomically (tide_io_write_atomic: temp, fsync, rename)
 * by a process killed right after rename(2), before the rename's journal
 * line: the rewind keeps the new content whole (it was fsynced), never the
 * new file cut to the old one's length. */
static void test_rename_interrupted(void)
{
    char dir[8400], p[16900];
    snprintf(dir, sizeof dir, "%s/ri", tmp);
    mkdir(dir, 0755);
    snprintf(p, sizeof p, "%s/state", dir);
    const char *old_text = "committed 10\n", *new_text = "committed 1025\n";
    pid_t pid = fork();
    TT_ASSERT(pid >= 0);
    if (pid == 0) {
        tide_err e = {0};
        tide_fault_set("io.rename:kill@2");
        if (tide_io_write_atomic(p, old_text, strlen(old_text), &e) == 0)
            tide_io_write_atomic(p, new_text, strlen(new_text), &e);
        _exit(3); /* not reached: killed in the second rename */
    }
    int status = 0;
    TT_ASSERT(waitpid(pid, &status, 0) == pid);
    TT_ASSERT_MSG(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "child status %d", status);
    tide_io_rewind_stats st;
    tide_err e = {0};
    TT_OK(tide_io_journal_rewind(journal, 0, &st, &e));
    char *got = content(dir, "state");
    TT_ASSERT_MSG(got && strcmp(got, new_text) == 0, "state is '%s'", got ? got : "(none)");
    free(got);
}

/* A rename the kill came before: the journal has only its 'P' line, the
 * disk the old file (whole, fsynced, longer than the new one) and the temp
 * file.  The rewind cuts neither. */
static void test_rename_not_done(void)
{
    char dir[8400], p[16900], q[16900];
    snprintf(dir, sizeof dir, "%s/rn", tmp);
    mkdir(dir, 0755);
    snprintf(p, sizeof p, "%s/state", dir);
    snprintf(q, sizeof q, "%s/state.tmp", dir);
    tide_err e = {0};
    tide_file *f = NULL;
    /* the old file: 40 bytes, fsynced */
    TT_OK(make(dir, "state", &f, &e));
    TT_OK(put(f, 0, 40, &e));
    TT_OK(tide_io_fsync(f, &e));
    tide_io_close(f);
    /* the new one: 25 bytes, fsynced, then the journal says a rename began */
    TT_OK(make(dir, "state.tmp", &f, &e));
    TT_OK(put(f, 0, 25, &e));
    TT_OK(tide_io_fsync(f, &e));
    tide_io_close(f);
    FILE *j = fopen(journal, "a");
    TT_ASSERT(j != NULL);
    fprintf(j, "P 0 %s\t%s\n", q, p);
    fclose(j);
    tide_io_rewind_stats st;
    TT_OK(tide_io_journal_rewind(journal, 0, &st, &e));
    TT_ASSERT_EQ_INT(size_of(dir, "state"), 40);
    TT_ASSERT_EQ_INT(size_of(dir, "state.tmp"), 25);
    TT_ASSERT_EQ_INT(st.cut, 0);
}

int main(void)
{
    const char *t = tt_tmpdir("test_io_journal");
    if (!t)
        return 1;
    /* absolute, so the relative-path case can chdir */
    if (t[0] == '/')
        snprintf(tmp, sizeof tmp, "%s", t);
    else {
        char cwd[4096];
        if (!getcwd(cwd, sizeof cwd))
            return 1;
        snprintf(tmp, sizeof tmp, "%s/%s", cwd, t);
    }
    snprintf(journal, sizeof journal, "%s/journal", tmp);
    setenv("TIDE_IO_JOURNAL", journal, 1); /* before the first call of io.c that reads it */
    TT_RUN(test_rewind);
    TT_RUN(test_rewind_seeded);
    TT_RUN(test_rename_interrupted);
    TT_RUN(test_rename_not_done);
    TT_DONE();
}
