/*
 * io.c - file I/O with fault injection.  See io.h for the contract.
 *
 * Every operation starts with io_enter(), which counts the call and decides
 * whether this call fails (an injected errno), whether the power fails at it
 * (a step: a call that changes the disk), or whether the simulated machine
 * is already down (TIDE_ECRASH).  While faults are installed, two tables
 * record what a power loss could still take away:
 *   - file data: per file written, how many bytes were fsynced;
 *   - the namespace: every create, rename and remove whose directory (both
 *     directories for a rename) has not been fsynced since, oldest first,
 *     with what it replaced or removed (the bytes of a file, a whole tree).
 * tide_io_powerloss rewinds both: each file keeps its fsynced bytes plus a
 * seed-chosen prefix of the rest, and the pending namespace operations keep
 * a seed-chosen prefix (a journaling file system commits metadata in order);
 * the others are undone, newest first.  An operation under a directory that
 * is renamed while the operation is still pending is not rewound (tide's
 * primitives fsync the directory before returning, so this does not arise).
 */
#include "base/io.h"

#include "base/fault.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

struct tide_file {
    int fd;
    int failed;   /* sticky error after a failed fsync or write, 0 if none */
    char path[];
};

/* ---- fault state ---- */

typedef struct tracked {
    char *path;
    uint64_t synced; /* bytes known durable */
} tracked;

/* A file or directory as it was before an operation removed or replaced it:
 * entries in walk order (a directory before what it holds), paths relative
 * to the saved root ("" is the root itself). */
typedef struct saved_ent {
    char *rel;
    bool is_dir;
    char *data;
    size_t len;
    uint64_t synced; /* of data, the bytes known durable */
} saved_ent;

typedef struct saved_tree {
    saved_ent *v;
    size_t n, cap;
} saved_tree;

enum { DOP_CREATE, DOP_RENAME, DOP_REMOVE };

/* A namespace operation not yet durable. */
typedef struct dirop {
    int kind;
    char *path;        /* CREATE: what was made; RENAME: the new name; REMOVE: what went */
    char *from;        /* RENAME: the old name */
    char *dirs[2];     /* directories still to be fsynced (canonical); NULL once done */
    saved_tree *old;   /* REMOVE: what was removed; RENAME: the target it replaced */
} dirop;

static pthread_mutex_t fault_mu = PTHREAD_MUTEX_INITIALIZER;
static tide_io_faults faults;
static bool faults_on;
static long n_calls, n_writes, n_steps;
static bool crashed;
static tracked *trk;
static size_t trk_n, trk_cap;
static dirop *dops;
static size_t dop_n, dop_cap;
static uint64_t rng_state;

static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void trk_clear(void)
{
    for (size_t i = 0; i < trk_n; i++)
        free(trk[i].path);
    free(trk);
    trk = NULL;
    trk_n = trk_cap = 0;
}

static tracked *trk_find(const char *path)
{
    for (size_t i = 0; i < trk_n; i++)
        if (strcmp(trk[i].path, path) == 0)
            return &trk[i];
    return NULL;
}

/* Start tracking `path` with `synced` durable bytes, unless tracked already. */
static void trk_add(const char *path, uint64_t synced)
{
    if (trk_find(path))
        return;
    if (trk_n == trk_cap) {
        size_t cap = trk_cap ? trk_cap * 2 : 16;
        tracked *t = realloc(trk, cap * sizeof *t);
        if (!t)
            return; /* tests only: losing tracking just weakens the simulation */
        trk = t;
        trk_cap = cap;
    }
    char *p = strdup(path);
    if (!p)
        return;
    trk[trk_n++] = (tracked){p, synced};
}

/* True when `path` is `root` or lies under it. */
static bool path_under(const char *path, const char *root)
{
    size_t n = strlen(root);
    return !strncmp(path, root, n) && (path[n] == '\0' || path[n] == '/');
}

/* Stop tracking `root` and everything under it (it was removed). */
static void trk_remove_under(const char *root)
{
    for (size_t i = 0; i < trk_n;) {
        if (path_under(trk[i].path, root)) {
            free(trk[i].path);
            trk[i] = trk[--trk_n];
        } else {
            i++;
        }
    }
}

/* `from` (a file or a directory) is now `to`: so is what is tracked under it. */
static void trk_rename(const char *from, const char *to)
{
    trk_remove_under(to);
    size_t nf = strlen(from);
    for (size_t i = 0; i < trk_n; i++) {
        if (!path_under(trk[i].path, from))
            continue;
        size_t len = strlen(to) + strlen(trk[i].path + nf) + 1;
        char *p = malloc(len);
        if (!p)
            continue; /* tests only: losing tracking just weakens the simulation */
        snprintf(p, len, "%s%s", to, trk[i].path + nf);
        free(trk[i].path);
        trk[i].path = p;
    }
}

/* ---- the namespace journal ---- */

static int parent_of(const char *path, char *out, size_t cap)
{
    const char *slash = strrchr(path, '/');
    if (!slash) {
        snprintf(out, cap, ".");
        return 0;
    }
    size_t n = (size_t)(slash - path);
    if (n == 0)
        n = 1;
    if (n >= cap)
        return -1;
    memcpy(out, path, n);
    out[n] = '\0';
    return 0;
}

/* The canonical name of directory `dir` (realpath), or a copy of it. */
static char *dir_canon(const char *dir)
{
    char *r = realpath(dir, NULL);
    return r ? r : strdup(dir);
}

static char *parent_canon(const char *path)
{
    char dir[PATH_MAX];
    if (parent_of(path, dir, sizeof dir))
        return NULL;
    return dir_canon(dir);
}

static void saved_free(saved_tree *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++) {
        free(t->v[i].rel);
        free(t->v[i].data);
    }
    free(t->v);
    free(t);
}

static int saved_push(saved_tree *t, const char *rel, bool is_dir, char *data, size_t len,
                      uint64_t synced)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 8;
        saved_ent *v = realloc(t->v, cap * sizeof *v);
        if (!v)
            return -1;
        t->v = v;
        t->cap = cap;
    }
    char *r = strdup(rel);
    if (!r)
        return -1;
    t->v[t->n++] = (saved_ent){r, is_dir, data, len, synced};
    return 0;
}

/* Read what is at `root`/`rel` (and below) into t.  The mutex is held. */
static int saved_walk(saved_tree *t, const char *root, const char *rel)
{
    char path[PATH_MAX];
    if ((size_t)snprintf(path, sizeof path, "%s%s%s", root, *rel ? "/" : "", rel) >= sizeof path)
        return -1;
    struct stat st;
    if (lstat(path, &st) != 0)
        return -1;
    if (!S_ISDIR(st.st_mode)) {
        FILE *fp = fopen(path, "rb");
        if (!fp)
            return -1;
        size_t len = (size_t)st.st_size;
        char *data = malloc(len ? len : 1);
        size_t got = data ? fread(data, 1, len, fp) : 0;
        fclose(fp);
        if (!data || got != len) {
            free(data);
            return -1;
        }
        tracked *k = trk_find(path);
        uint64_t synced = k && k->synced < len ? k->synced : len;
        if (saved_push(t, rel, false, data, len, synced)) {
            free(data);
            return -1;
        }
        return 0;
    }
    if (saved_push(t, rel, true, NULL, 0, 0))
        return -1;
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int rc = 0;
    struct dirent *de;
    while (!rc && (de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char sub[PATH_MAX];
        if ((size_t)snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", de->d_name) >=
            sizeof sub)
            rc = -1;
        else
            rc = saved_walk(t, root, sub);
    }
    closedir(d);
    return rc;
}

/* What is at `path` now, or NULL (nothing there, or out of memory: tests
 * only, losing it weakens the simulation). */
static saved_tree *saved_take(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return NULL;
    saved_tree *t = calloc(1, sizeof *t);
    if (t && saved_walk(t, path, "") != 0) {
        saved_free(t);
        t = NULL;
    }
    return t;
}

/* Put a saved tree back at `path`; each file gets its durable bytes plus a
 * seed-chosen prefix of the rest. */
static int saved_restore(const saved_tree *t, const char *path, tide_err *e)
{
    for (size_t i = 0; i < t->n; i++) {
        const saved_ent *s = &t->v[i];
        char p[PATH_MAX];
        if ((size_t)snprintf(p, sizeof p, "%s%s%s", path, *s->rel ? "/" : "", s->rel) >= sizeof p)
            return tide_err_set(e, TIDE_EINVAL, "%s: path too long", path);
        if (s->is_dir) {
            if (mkdir(p, 0755) != 0 && errno != EEXIST)
                return tide_err_sys(e, errno, "%s: restore directory", p);
            continue;
        }
        size_t keep = s->synced + (size_t)(rng_next() % (s->len - s->synced + 1));
        FILE *fp = fopen(p, "wb");
        if (!fp || fwrite(s->data, 1, keep, fp) != keep) {
            int err = errno;
            if (fp)
                fclose(fp);
            return tide_err_sys(e, err, "%s: restore file", p);
        }
        if (fclose(fp) != 0)
            return tide_err_sys(e, errno, "%s: restore file", p);
    }
    return 0;
}

static void dop_free(dirop *d)
{
    free(d->path);
    free(d->from);
    free(d->dirs[0]);
    free(d->dirs[1]);
    saved_free(d->old);
}

static void dop_clear(void)
{
    for (size_t i = 0; i < dop_n; i++)
        dop_free(&dops[i]);
    free(dops);
    dops = NULL;
    dop_n = dop_cap = 0;
}

/* Journal a namespace operation; takes `old`.  The mutex is held.  Out of
 * memory only weakens the simulation (the operation counts as durable). */
static void dop_add(int kind, const char *path, const char *from, saved_tree *old)
{
    if (dop_n == dop_cap) {
        size_t cap = dop_cap ? dop_cap * 2 : 16;
        dirop *v = realloc(dops, cap * sizeof *v);
        if (!v) {
            saved_free(old);
            return;
        }
        dops = v;
        dop_cap = cap;
    }
    dirop d = {kind, strdup(path), from ? strdup(from) : NULL,
               {parent_canon(path), from ? parent_canon(from) : NULL}, old};
    if (d.dirs[1] && d.dirs[0] && !strcmp(d.dirs[0], d.dirs[1])) {
        free(d.dirs[1]);
        d.dirs[1] = NULL;
    }
    if (!d.path || (from && !d.from) || !d.dirs[0]) {
        dop_free(&d);
        return;
    }
    dops[dop_n++] = d;
}

/* Directory `dir` was fsynced: what it was waiting for is durable. */
static void dop_synced(const char *dir)
{
    char *c = dir_canon(dir);
    if (!c)
        return;
    size_t k = 0;
    for (size_t i = 0; i < dop_n; i++) {
        dirop *d = &dops[i];
        for (int j = 0; j < 2; j++)
            if (d->dirs[j] && !strcmp(d->dirs[j], c)) {
                free(d->dirs[j]);
                d->dirs[j] = NULL;
            }
        if (!d->dirs[0] && !d->dirs[1])
            dop_free(d);
        else
            dops[k++] = *d;
    }
    dop_n = k;
    free(c);
}

static int rmtree_rec(const char *path, tide_err *e);

/* Undo one namespace operation the power loss took away. */
static int dop_undo(const dirop *d, tide_err *e)
{
    struct stat st;
    switch (d->kind) {
    case DOP_CREATE:
        if (lstat(d->path, &st) != 0)
            return 0;
        if (S_ISDIR(st.st_mode))
            return rmtree_rec(d->path, e); /* what it held goes with it */
        if (unlink(d->path) != 0)
            return tide_err_sys(e, errno, "%s: undo create", d->path);
        return 0;
    case DOP_RENAME:
        if (lstat(d->path, &st) != 0)
            return 0;
        if (rename(d->path, d->from) != 0)
            return tide_err_sys(e, errno, "undo rename %s to %s", d->from, d->path);
        return d->old ? saved_restore(d->old, d->path, e) : 0;
    default:
        return d->old ? saved_restore(d->old, d->path, e) : 0;
    }
}

/* ---- the fault state ---- */

void tide_io_faults_set(const tide_io_faults *f)
{
    pthread_mutex_lock(&fault_mu);
    faults_on = f != NULL;
    if (f)
        faults = *f;
    else
        memset(&faults, 0, sizeof faults);
    if (!faults.fail_errno)
        faults.fail_errno = EIO;
    rng_state = faults.seed;
    n_calls = n_writes = n_steps = 0;
    crashed = false;
    trk_clear();
    dop_clear();
    pthread_mutex_unlock(&fault_mu);
}

long tide_io_calls(void)
{
    pthread_mutex_lock(&fault_mu);
    long n = n_calls;
    pthread_mutex_unlock(&fault_mu);
    return n;
}

long tide_io_writes(void)
{
    pthread_mutex_lock(&fault_mu);
    long n = n_writes;
    pthread_mutex_unlock(&fault_mu);
    return n;
}

long tide_io_steps(void)
{
    pthread_mutex_lock(&fault_mu);
    long n = n_steps;
    pthread_mutex_unlock(&fault_mu);
    return n;
}

bool tide_io_crashed(void)
{
    pthread_mutex_lock(&fault_mu);
    bool c = crashed;
    pthread_mutex_unlock(&fault_mu);
    return c;
}

enum { IO_READ, IO_STEP, IO_WRITE };

/* Count a call of `kind`.  Returns 0 to proceed, an errno to inject, or -1
 * when the simulated machine is down (the power failed at this step, or
 * before).  The power failing at a write sets *torn instead: the caller
 * writes part of it and then fails. */
static int io_enter(int kind, bool *torn)
{
    if (!__atomic_load_n(&faults_on, __ATOMIC_RELAXED)) {
        __atomic_add_fetch(&n_calls, 1, __ATOMIC_RELAXED);
        if (kind != IO_READ)
            __atomic_add_fetch(&n_steps, 1, __ATOMIC_RELAXED);
        if (kind == IO_WRITE)
            __atomic_add_fetch(&n_writes, 1, __ATOMIC_RELAXED);
        return 0;
    }
    int r = 0;
    pthread_mutex_lock(&fault_mu);
    n_calls++;
    if (crashed) {
        r = -1;
    } else if (faults.fail_at && (n_calls == faults.fail_at ||
                                  (faults.fail_sticky && n_calls > faults.fail_at))) {
        r = faults.fail_errno;
    } else if (kind != IO_READ) {
        n_steps++;
        if (kind == IO_WRITE)
            n_writes++;
        bool now = (faults.crash_at_step && n_steps == faults.crash_at_step) ||
                   (kind == IO_WRITE && faults.crash_at_write && n_writes == faults.crash_at_write);
        if (now) {
            crashed = true;
            if (kind == IO_WRITE)
                *torn = true;
            else
                r = -1;
        }
    }
    pthread_mutex_unlock(&fault_mu);
    return r;
}

static bool journaling(void) { return __atomic_load_n(&faults_on, __ATOMIC_RELAXED); }

/* ---- the journal ($TIDE_IO_JOURNAL; see io.h) ---- */

static int j_fd = -1;
static pthread_once_t j_once = PTHREAD_ONCE_INIT;

static void j_init(void)
{
    const char *p = getenv("TIDE_IO_JOURNAL");
    if (p && *p)
        j_fd = open(p, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}

/* An absolute form of path (the journal outlives the process's cwd). */
static bool j_abs(const char *path, char *out, size_t cap)
{
    if (path[0] == '/')
        return (size_t)snprintf(out, cap, "%s", path) < cap;
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd))
        return false;
    return (size_t)snprintf(out, cap, "%s/%s", cwd, path) < cap;
}

/* One line: "<op> <n> <path>[\t<path2>]".  Paths holding a tab or a
 * newline are not journaled (tide makes none). */
static void j_line(char op, uint64_t n, const char *a, const char *b)
{
    pthread_once(&j_once, j_init);
    if (j_fd < 0)
        return;
    char pa[PATH_MAX], pb[PATH_MAX], line[2 * PATH_MAX + 48];
    if (!j_abs(a, pa, sizeof pa) || (b && !j_abs(b, pb, sizeof pb)) || strpbrk(pa, "\t\n") ||
        (b && strpbrk(pb, "\t\n")))
        return;
    int len = snprintf(line, sizeof line, "%c %llu %s%s%s\n", op, (unsigned long long)n, pa, b ? "\t" : "",
                       b ? pb : "");
    if (len > 0 && (size_t)len < sizeof line) {
        ssize_t w = write(j_fd, line, (size_t)len);
        (void)w; /* tests only: a lost line weakens the simulation */
    }
}

static bool j_on(void)
{
    pthread_once(&j_once, j_init);
    return j_fd >= 0;
}

static int io_fault(tide_err *e, int r, const char *path, const char *op)
{
    if (r < 0)
        return tide_err_set(e, TIDE_ECRASH, "%s: %s: simulated power loss", path, op);
    return tide_err_sys(e, r, "%s: %s (injected fault)", path, op);
}

/* ---- files ---- */

static int fsync_parent(const char *path, tide_err *e)
{
    char dir[PATH_MAX];
    if (parent_of(path, dir, sizeof dir))
        return tide_err_set(e, TIDE_EINVAL, "%s: path too long", path);
    return tide_io_fsync_dir(dir, e);
}

int tide_io_open(tide_file **out, const char *path, int flags, tide_err *e)
{
    *out = NULL;
    int r = io_enter((flags & TIDE_IO_CREATE) ? IO_STEP : IO_READ, NULL);
    if (r)
        return io_fault(e, r, path, "open");
    int oflags = O_CLOEXEC | ((flags & TIDE_IO_WRITE) ? O_RDWR : O_RDONLY);
    bool created = false;
    int fd = -1;
    if (flags & TIDE_IO_CREATE) {
        fd = open(path, oflags | O_CREAT | O_EXCL, 0644);
        if (fd >= 0)
            created = true;
        else if (errno == EEXIST && !(flags & TIDE_IO_EXCL))
            fd = open(path, oflags);
    } else {
        fd = open(path, oflags);
    }
    if (fd < 0)
        return tide_err_sys(e, errno, "%s: open", path);
    size_t plen = strlen(path);
    tide_file *f = malloc(sizeof *f + plen + 1);
    if (!f) {
        close(fd);
        return tide_err_set(e, TIDE_ENOMEM, "%s: open: out of memory", path);
    }
    f->fd = fd;
    f->failed = 0;
    memcpy(f->path, path, plen + 1);
    if (created && journaling()) {
        pthread_mutex_lock(&fault_mu);
        dop_add(DOP_CREATE, path, NULL, NULL);
        pthread_mutex_unlock(&fault_mu);
    }
    if (created) {
        int rc = fsync_parent(path, e);
        if (rc) {
            tide_io_close(f);
            return rc;
        }
    }
    if ((flags & TIDE_IO_WRITE) && j_on()) {
        struct stat st;
        j_line('O', created ? 0 : fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0, path, NULL);
    }
    if ((flags & TIDE_IO_WRITE) && __atomic_load_n(&faults_on, __ATOMIC_RELAXED)) {
        struct stat st;
        uint64_t size = fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
        pthread_mutex_lock(&fault_mu);
        trk_add(path, created ? 0 : size);
        pthread_mutex_unlock(&fault_mu);
    }
    *out = f;
    return 0;
}

void tide_io_close(tide_file *f)
{
    if (!f)
        return;
    close(f->fd);
    free(f);
}

int tide_io_fd(const tide_file *f) { return f->fd; }
const char *tide_io_path(const tide_file *f) { return f->path; }

int tide_io_pread(tide_file *f, void *buf, size_t len, uint64_t off, size_t *nread, tide_err *e)
{
    *nread = 0;
    int r = io_enter(IO_READ, NULL);
    if (r)
        return io_fault(e, r, f->path, "read");
    size_t done = 0;
    while (done < len) {
        ssize_t n = pread(f->fd, (char *)buf + done, len - done, (off_t)(off + done));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return tide_err_sys(e, errno, "%s: read at %llu", f->path,
                                (unsigned long long)(off + done));
        }
        if (n == 0)
            break;
        done += (size_t)n;
    }
    *nread = done;
    return 0;
}

int tide_io_pwrite(tide_file *f, const void *buf, size_t len, uint64_t off, tide_err *e)
{
    if (f->failed)
        return tide_err_set(e, f->failed, "%s: write after a failed write or fsync", f->path);
    bool torn = false;
    int r = io_enter(IO_WRITE, &torn);
    if (r) {
        f->failed = r < 0 ? TIDE_ECRASH : tide_err_from_errno(r);
        return io_fault(e, r, f->path, "write");
    }
    size_t tear = len;
    if (torn) {
        pthread_mutex_lock(&fault_mu);
        tear = len ? (size_t)(rng_next() % len) : 0;
        pthread_mutex_unlock(&fault_mu);
    }
    size_t done = 0;
    while (done < tear) {
        ssize_t n = pwrite(f->fd, (const char *)buf + done, tear - done, (off_t)(off + done));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            f->failed = tide_err_from_errno(errno);
            return tide_err_sys(e, errno, "%s: write at %llu", f->path,
                                (unsigned long long)(off + done));
        }
        done += (size_t)n;
    }
    if (tear < len) {
        f->failed = TIDE_ECRASH;
        return tide_err_set(e, TIDE_ECRASH, "%s: write: simulated power loss", f->path);
    }
    return 0;
}

int tide_io_fsync(tide_file *f, tide_err *e)
{
    if (f->failed)
        return tide_err_set(e, f->failed, "%s: fsync after a failed write or fsync", f->path);
    int r = io_enter(IO_STEP, NULL);
    if (r) {
        f->failed = r < 0 ? TIDE_ECRASH : tide_err_from_errno(r);
        return io_fault(e, r, f->path, "fsync");
    }
    if (fdatasync(f->fd) != 0) {
        f->failed = tide_err_from_errno(errno);
        return tide_err_sys(e, errno, "%s: fsync", f->path);
    }
    if (j_on()) {
        struct stat st;
        if (fstat(f->fd, &st) == 0)
            j_line('S', (uint64_t)st.st_size, f->path, NULL);
    }
    if (__atomic_load_n(&faults_on, __ATOMIC_RELAXED)) {
        struct stat st;
        if (fstat(f->fd, &st) == 0) {
            pthread_mutex_lock(&fault_mu);
            tracked *t = trk_find(f->path);
            if (t)
                t->synced = (uint64_t)st.st_size;
            pthread_mutex_unlock(&fault_mu);
        }
    }
    return 0;
}

int tide_io_truncate(tide_file *f, uint64_t size, tide_err *e)
{
    if (f->failed)
        return tide_err_set(e, f->failed, "%s: truncate after a failed write or fsync", f->path);
    int r = io_enter(IO_STEP, NULL);
    if (r)
        return io_fault(e, r, f->path, "truncate");
    if (ftruncate(f->fd, (off_t)size) != 0)
        return tide_err_sys(e, errno, "%s: truncate to %llu", f->path, (unsigned long long)size);
    if (j_on())
        j_line('T', size, f->path, NULL);
    if (__atomic_load_n(&faults_on, __ATOMIC_RELAXED)) {
        pthread_mutex_lock(&fault_mu);
        tracked *t = trk_find(f->path);
        if (t && t->synced > size)
            t->synced = size;
        pthread_mutex_unlock(&fault_mu);
    }
    return 0;
}

int tide_io_size(tide_file *f, uint64_t *size, tide_err *e)
{
    uint64_t links;
    return tide_io_fstat(f, size, &links, e);
}

int tide_io_fstat(tide_file *f, uint64_t *size, uint64_t *links, tide_err *e)
{
    int r = io_enter(IO_READ, NULL);
    if (r)
        return io_fault(e, r, f->path, "stat");
    struct stat st;
    if (fstat(f->fd, &st) != 0)
        return tide_err_sys(e, errno, "%s: stat", f->path);
    *size = (uint64_t)st.st_size;
    *links = (uint64_t)st.st_nlink;
    return 0;
}

int tide_io_lock(tide_file *f, int how, tide_err *e)
{
    int r = io_enter(IO_READ, NULL);
    if (r)
        return io_fault(e, r, f->path, "lock");
    int op = (how & TIDE_IO_LOCK_SH ? LOCK_SH : LOCK_EX) | (how & TIDE_IO_LOCK_WAIT ? 0 : LOCK_NB);
    int rc;
    while ((rc = flock(f->fd, op)) != 0 && errno == EINTR)
        ;
    if (rc != 0) {
        if (errno == EWOULDBLOCK)
            return tide_err_set(e, TIDE_ELOCKED, "%s: locked by another writer", f->path);
        return tide_err_sys(e, errno, "%s: lock", f->path);
    }
    return 0;
}

int tide_io_unlock(tide_file *f, tide_err *e)
{
    int r = io_enter(IO_READ, NULL);
    if (r)
        return io_fault(e, r, f->path, "unlock");
    if (flock(f->fd, LOCK_UN) != 0)
        return tide_err_sys(e, errno, "%s: unlock", f->path);
    return 0;
}

/* ---- directories ---- */

int tide_io_fsync_dir(const char *path, tide_err *e)
{
    int r = io_enter(IO_STEP, NULL);
    if (r)
        return io_fault(e, r, path, "fsync directory");
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return tide_err_sys(e, errno, "%s: open directory", path);
    int rc = 0;
    if (fsync(fd) != 0)
        rc = tide_err_sys(e, errno, "%s: fsync directory", path);
    close(fd);
    if (!rc && journaling()) {
        pthread_mutex_lock(&fault_mu);
        dop_synced(path);
        pthread_mutex_unlock(&fault_mu);
    }
    return rc;
}

int tide_io_mkdir(const char *path, tide_err *e)
{
    int r = io_enter(IO_STEP, NULL);
    if (r)
        return io_fault(e, r, path, "mkdir");
    if (mkdir(path, 0755) != 0) {
        struct stat st;
        if (errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
            return 0;
        return tide_err_sys(e, errno, "%s: mkdir", path);
    }
    if (journaling()) {
        pthread_mutex_lock(&fault_mu);
        dop_add(DOP_CREATE, path, NULL, NULL);
        pthread_mutex_unlock(&fault_mu);
    }
    return fsync_parent(path, e);
}

int tide_io_mkdirs(const char *path, tide_err *e)
{
    char tmp[PATH_MAX];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof tmp)
        return tide_err_set(e, TIDE_EINVAL, "%s: bad directory path", path);
    memcpy(tmp, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (tmp[i] != '/' && tmp[i] != '\0')
            continue;
        char c = tmp[i];
        tmp[i] = '\0';
        struct stat st;
        if (stat(tmp, &st) != 0) {
            int rc = tide_io_mkdir(tmp, e);
            if (rc)
                return rc;
        } else if (!S_ISDIR(st.st_mode)) {
            return tide_err_set(e, TIDE_EEXIST, "%s: exists and is not a directory", tmp);
        }
        tmp[i] = c;
    }
    return 0;
}

int tide_io_rename(const char *from, const char *to, tide_err *e)
{
    int r = io_enter(IO_STEP, NULL);
    if (r)
        return io_fault(e, r, to, "rename");
    saved_tree *old = NULL;
    if (journaling()) {
        pthread_mutex_lock(&fault_mu);
        old = saved_take(to);
        pthread_mutex_unlock(&fault_mu);
    }
    /* Journaled in two lines, 'P' before rename(2) and 'R' after it: with
     * one line after it, a kill in between left the renamed file judged at
     * the rewind by the durable size of the file it replaced (a whole,
     * fsynced new file cut to the old one's length: a torn file no power
     * loss makes; found by tests/e2e/crash.sh), with one line before it the
     * old file by the new one's.  A 'P' without its 'R' is decided at the
     * rewind by the disk: done when `from` is gone. */
    if (j_on())
        j_line('P', 0, from, to);
    if (rename(from, to) != 0) {
        int err = errno;
        saved_free(old);
        return tide_err_sys(e, err, "rename %s to %s", from, to);
    }
    int frc = tide_fault("io.rename", e);
    if (j_on())
        j_line('R', 0, from, to);
    if (journaling()) {
        pthread_mutex_lock(&fault_mu);
        trk_rename(from, to);
        dop_add(DOP_RENAME, to, from, old);
        pthread_mutex_unlock(&fault_mu);
    }
    if (frc)
        return frc;
    char a[PATH_MAX], b[PATH_MAX];
    if (parent_of(from, a, sizeof a) || parent_of(to, b, sizeof b))
        return tide_err_set(e, TIDE_EINVAL, "%s: path too long", to);
    int rc = tide_io_fsync_dir(b, e);
    if (!rc && strcmp(a, b) != 0)
        rc = tide_io_fsync_dir(a, e);
    return rc;
}

int tide_io_stat(const char *path, bool follow, tide_io_info *out, tide_err *e)
{
    struct stat st;
    memset(out, 0, sizeof *out);
    if ((follow ? stat(path, &st) : lstat(path, &st)) != 0) {
        if (errno == ENOENT)
            return 0;
        return tide_err_sys(e, errno, "%s: stat", path);
    }
    out->dev = (uint64_t)st.st_dev;
    out->ino = (uint64_t)st.st_ino;
    out->kind = S_ISREG(st.st_mode)    ? TIDE_IO_REGULAR
                : S_ISDIR(st.st_mode)  ? TIDE_IO_DIRECTORY
                : S_ISLNK(st.st_mode)  ? TIDE_IO_SYMLINK
                : S_ISFIFO(st.st_mode) ? TIDE_IO_FIFO
                : S_ISSOCK(st.st_mode) ? TIDE_IO_SOCKET
                                       : TIDE_IO_DEVICE;
    return 0;
}

/* The normalized absolute form of `path` into out[PATH_MAX]: the longest
 * existing directory prefix through realpath, the rest folded lexically.
 * False when it does not fit. */
static bool normalize_path(const char *path, char *out)
{
    char buf[PATH_MAX * 2];
    if (path[0] == '/') {
        if (strlen(path) >= sizeof buf)
            return false;
        strcpy(buf, path);
    } else {
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof cwd) || (size_t)snprintf(buf, sizeof buf, "%s/%s", cwd, path) >= sizeof buf)
            return false;
    }
    /* fold "//", "/./" and "/x/../" lexically */
    char res[PATH_MAX * 2];
    size_t n = 0;
    for (const char *p = buf; *p;) {
        while (*p == '/')
            p++;
        const char *q = p;
        while (*q && *q != '/')
            q++;
        size_t len = (size_t)(q - p);
        if (len == 0 || (len == 1 && p[0] == '.')) {
        } else if (len == 2 && p[0] == '.' && p[1] == '.') {
            while (n > 0 && res[n - 1] != '/')
                n--;
            if (n > 0)
                n--;
        } else {
            if (n + 1 + len >= sizeof res)
                return false;
            res[n++] = '/';
            memcpy(res + n, p, len);
            n += len;
        }
        p = q;
    }
    res[n] = 0;
    if (n == 0)
        strcpy(res, "/");
    /* resolve the longest prefix that exists (symlinks, bind mounts) */
    char head[PATH_MAX * 2];
    strcpy(head, res);
    for (;;) {
        char real[PATH_MAX];
        if (realpath(head, real)) {
            size_t hn = strlen(head);
            if ((size_t)snprintf(out, PATH_MAX, "%s%s", strcmp(real, "/") == 0 && res[hn] ? "" : real,
                                 res + hn) >= PATH_MAX)
                return false;
            return true;
        }
        char *slash = strrchr(head, '/');
        if (!slash || slash == head) {
            if (strlen(res) >= PATH_MAX)
                return false;
            strcpy(out, res);
            return true;
        }
        *slash = 0;
    }
}

int tide_io_same_file(const char *a, const char *b, bool *same, tide_err *e)
{
    tide_io_info ia, ib;
    int rc;
    *same = false;
    if ((rc = tide_io_stat(a, true, &ia, e)) || (rc = tide_io_stat(b, true, &ib, e)))
        return rc;
    if (ia.kind != TIDE_IO_NONE && ib.kind != TIDE_IO_NONE) {
        *same = ia.dev == ib.dev && ia.ino == ib.ino;
        return 0;
    }
    char na[PATH_MAX], nb[PATH_MAX];
    if (!normalize_path(a, na) || !normalize_path(b, nb))
        return tide_err_set(e, TIDE_ERANGE, "%s or %s: path too long", a, b);
    *same = strcmp(na, nb) == 0;
    return 0;
}

const char *tide_io_kind_name(tide_io_kind k)
{
    switch (k) {
    case TIDE_IO_NONE: return "nothing";
    case TIDE_IO_REGULAR: return "a regular file";
    case TIDE_IO_DIRECTORY: return "a directory";
    case TIDE_IO_SYMLINK: return "a symbolic link";
    case TIDE_IO_FIFO: return "a FIFO";
    case TIDE_IO_DEVICE: return "a device";
    case TIDE_IO_SOCKET: return "a socket";
    }
    return "?";
}

int tide_io_unlink(const char *path, tide_err *e)
{
    int r = io_enter(IO_STEP, NULL);
    if (r)
        return io_fault(e, r, path, "unlink");
    saved_tree *old = NULL;
    if (journaling()) {
        pthread_mutex_lock(&fault_mu);
        old = saved_take(path);
        pthread_mutex_unlock(&fault_mu);
    }
    if (unlink(path) != 0) {
        int err = errno;
        saved_free(old);
        return tide_err_sys(e, err, "%s: unlink", path);
    }
    if (j_on())
        j_line('D', 0, path, NULL);
    if (journaling()) {
        pthread_mutex_lock(&fault_mu);
        trk_remove_under(path);
        dop_add(DOP_REMOVE, path, NULL, old);
        pthread_mutex_unlock(&fault_mu);
    }
    return fsync_parent(path, e);
}

static int rmtree_rec(const char *path, tide_err *e)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : tide_err_sys(e, errno, "%s: stat", path);
    if (!S_ISDIR(st.st_mode)) {
        if (unlink(path) != 0)
            return tide_err_sys(e, errno, "%s: unlink", path);
        return 0;
    }
    DIR *d = opendir(path);
    if (!d)
        return tide_err_sys(e, errno, "%s: opendir", path);
    int rc = 0;
    struct dirent *de;
    while (!rc && (de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char sub[PATH_MAX];
        if ((size_t)snprintf(sub, sizeof sub, "%s/%s", path, de->d_name) >= sizeof sub)
            rc = tide_err_set(e, TIDE_EINVAL, "%s/%s: path too long", path, de->d_name);
        else
            rc = rmtree_rec(sub, e);
    }
    closedir(d);
    if (!rc && rmdir(path) != 0)
        rc = tide_err_sys(e, errno, "%s: rmdir", path);
    return rc;
}

int tide_io_rmtree(const char *path, tide_err *e)
{
    int r = io_enter(IO_STEP, NULL);
    if (r)
        return io_fault(e, r, path, "remove");
    saved_tree *old = NULL;
    if (journaling()) {
        pthread_mutex_lock(&fault_mu);
        old = saved_take(path);
        pthread_mutex_unlock(&fault_mu);
    }
    int rc = rmtree_rec(path, e);
    if (j_on())
        j_line('D', 0, path, NULL);
    if (journaling() && old) {
        /* even a partial removal is journaled: undoing it restores the whole
         * tree, which is at least what a file system could hold */
        pthread_mutex_lock(&fault_mu);
        trk_remove_under(path);
        dop_add(DOP_REMOVE, path, NULL, old);
        pthread_mutex_unlock(&fault_mu);
    } else {
        saved_free(old);
    }
    return rc ? rc : fsync_parent(path, e);
}

/* ---- whole files ---- */

int tide_io_write_atomic(const char *path, const void *buf, size_t len, tide_err *e)
{
    char tmp[PATH_MAX];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
        return tide_err_set(e, TIDE_EINVAL, "%s: path too long", path);
    tide_file *f = NULL;
    unlink(tmp); /* a leftover of an interrupted rewrite is garbage */
    int rc = tide_io_open(&f, tmp, TIDE_IO_WRITE | TIDE_IO_CREATE, e);
    if (rc)
        return rc;
    rc = tide_io_truncate(f, 0, e);
    if (!rc)
        rc = tide_io_pwrite(f, buf, len, 0, e);
    if (!rc)
        rc = tide_io_fsync(f, e);
    tide_io_close(f);
    if (!rc)
        rc = tide_io_rename(tmp, path, e);
    return rc;
}

int tide_io_read_all(const char *path, char **buf, size_t *len, tide_err *e)
{
    *buf = NULL;
    *len = 0;
    tide_file *f = NULL;
    int rc = tide_io_open(&f, path, TIDE_IO_READ, e);
    if (rc)
        return rc;
    uint64_t size = 0;
    char *p = NULL;
    size_t n = 0;
    rc = tide_io_size(f, &size, e);
    if (rc)
        goto done;
    if (size > (64u << 20)) {
        rc = tide_err_set(e, TIDE_ERANGE, "%s: file too large (%llu bytes)", path,
                          (unsigned long long)size);
        goto done;
    }
    p = malloc((size_t)size + 1);
    if (!p) {
        rc = tide_err_set(e, TIDE_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    rc = tide_io_pread(f, p, (size_t)size, 0, &n, e);
    if (rc) {
        free(p);
        goto done;
    }
    p[n] = '\0';
    *buf = p;
    *len = n;
done:
    tide_io_close(f);
    return rc;
}

/* ---- power loss ---- */

int tide_io_powerloss(bool keep_unsynced, tide_err *e)
{
    int rc = 0;
    pthread_mutex_lock(&fault_mu);
    /* file data first, at the paths the files have now */
    for (size_t i = 0; i < trk_n && !rc; i++) {
        struct stat st;
        if (stat(trk[i].path, &st) != 0)
            continue;
        uint64_t size = (uint64_t)st.st_size;
        if (size <= trk[i].synced)
            continue;
        uint64_t keep = keep_unsynced ? size - trk[i].synced
                                      : rng_next() % (size - trk[i].synced + 1);
        if (truncate(trk[i].path, (off_t)(trk[i].synced + keep)) != 0)
            rc = tide_err_sys(e, errno, "%s: truncate", trk[i].path);
    }
    /* then the namespace: a prefix of the pending operations survives */
    size_t kept = keep_unsynced ? dop_n : (size_t)(rng_next() % (dop_n + 1));
    for (size_t i = dop_n; i > kept && !rc; i--)
        rc = dop_undo(&dops[i - 1], e);
    faults_on = false;
    memset(&faults, 0, sizeof faults);
    crashed = false;
    n_calls = n_writes = n_steps = 0;
    trk_clear();
    dop_clear();
    pthread_mutex_unlock(&fault_mu);
    return rc;
}

/* ---- rewinding a journal ---- */

typedef struct j_ent {
    char *path;
    uint64_t synced;
} j_ent;

static j_ent *j_find(j_ent *v, size_t n, const char *path)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].path && strcmp(v[i].path, path) == 0)
            return &v[i];
    return NULL;
}

/* A rename pending in the journal ('P' without its 'R' yet). */
typedef struct j_pend {
    char *from, *to;
} j_pend;

/* Apply 'R' (what was under `a` is now under `b`; what `b` held goes) or
 * 'D' (what was under `a` goes) to the records. */
static int j_move(j_ent *v, size_t n, char op, const char *a, const char *b, const char *journal, tide_err *e)
{
    size_t al = strlen(a);
    if (op == 'R' && b) /* what the target was goes */
        for (size_t i = 0; i < n; i++)
            if (v[i].path && path_under(v[i].path, b)) {
                free(v[i].path);
                v[i].path = NULL;
            }
    for (size_t i = 0; i < n; i++) {
        if (!v[i].path || !path_under(v[i].path, a))
            continue;
        if (op == 'D' || !b) {
            free(v[i].path);
            v[i].path = NULL;
            continue;
        }
        size_t need = strlen(b) + strlen(v[i].path + al) + 1;
        char *p = malloc(need);
        if (!p)
            return tide_err_set(e, TIDE_ENOMEM, "%s: out of memory", journal);
        snprintf(p, need, "%s%s", b, v[i].path + al);
        free(v[i].path);
        v[i].path = p;
    }
    return 0;
}

int tide_io_journal_rewind(const char *journal, uint64_t seed, tide_io_rewind_stats *st, tide_err *e)
{
    memset(st, 0, sizeof *st);
    char *text = NULL;
    size_t len = 0;
    int rc = tide_io_read_all(journal, &text, &len, e);
    if (rc)
        return rc;
    j_ent *v = NULL;
    size_t n = 0, cap = 0, np = 0, pcap = 0;
    j_pend *pend = NULL;
    uint64_t rng = seed;
    for (char *l = text; l < text + len && !rc;) {
        char *nl = memchr(l, '\n', (size_t)(text + len - l));
        if (!nl)
            break; /* a line cut by the kill: nothing after it */
        *nl = '\0';
        char op = l[0];
        char *sp = strchr(l + 2, ' ');
        if (!sp || l[1] != ' ') {
            rc = tide_err_set(e, TIDE_ECORRUPT, "%s: bad line at byte %zu", journal, (size_t)(l - text));
            break;
        }
        uint64_t num = strtoull(l + 2, NULL, 10);
        char *a = sp + 1, *b = strchr(a, '\t');
        if (b)
            *b++ = '\0';
        j_ent *x = j_find(v, n, a);
        if (op == 'O' || op == 'S' || op == 'T') {
            if (!x) {
                if (n == cap) {
                    size_t nc = cap ? 2 * cap : 64;
                    j_ent *nv = realloc(v, nc * sizeof *nv);
                    if (!nv) {
                        rc = tide_err_set(e, TIDE_ENOMEM, "%s: out of memory", journal);
                        break;
                    }
                    v = nv;
                    cap = nc;
                }
                v[n] = (j_ent){strdup(a), num};
                if (!v[n].path) {
                    rc = tide_err_set(e, TIDE_ENOMEM, "%s: out of memory", journal);
                    break;
                }
                x = &v[n++];
            } else if (op == 'S') {
                x->synced = num; /* an fsync through any handle */
            } else if (op == 'T' && x->synced > num) {
                x->synced = num;
            }
            /* 'O' of a file already seen: its size now may hold another
             * writer's unsynced bytes, so what is durable stays as it was */
        } else if (op == 'P' && b) {
            /* a rename about to happen: pending until its 'R' */
            if (np == pcap) {
                size_t nc = pcap ? 2 * pcap : 8;
                j_pend *nv = realloc(pend, nc * sizeof *nv);
                if (!nv) {
                    rc = tide_err_set(e, TIDE_ENOMEM, "%s: out of memory", journal);
                    break;
                }
                pend = nv;
                pcap = nc;
            }
            pend[np].from = strdup(a);
            pend[np].to = strdup(b);
            if (!pend[np].from || !pend[np].to) {
                free(pend[np].from);
                free(pend[np].to);
                rc = tide_err_set(e, TIDE_ENOMEM, "%s: out of memory", journal);
                break;
            }
            np++;
        } else if (op == 'R' || op == 'D') {
            if (op == 'R' && b)
                for (size_t i = np; i-- > 0;)
                    if (strcmp(pend[i].from, a) == 0 && strcmp(pend[i].to, b) == 0) {
                        free(pend[i].from);
                        free(pend[i].to);
                        pend[i] = pend[--np];
                        break;
                    }
            rc = j_move(v, n, op, a, b, journal, e);
        } else {
            rc = tide_err_set(e, TIDE_ECORRUPT, "%s: unknown operation '%c' at byte %zu", journal, op,
                              (size_t)(l - text));
        }
        l = nl + 1;
    }
    /* renames a kill interrupted: done when `from` is gone (rename(2) is
     * atomic; nothing ran after the kill) */
    for (size_t i = 0; i < np && !rc; i++) {
        struct stat sb;
        if (lstat(pend[i].from, &sb) != 0)
            rc = j_move(v, n, 'R', pend[i].from, pend[i].to, journal, e);
    }
    for (size_t i = 0; i < np; i++) {
        free(pend[i].from);
        free(pend[i].to);
    }
    free(pend);
    for (size_t i = 0; i < n && !rc; i++) {
        struct stat sb;
        if (!v[i].path || stat(v[i].path, &sb) != 0 || !S_ISREG(sb.st_mode))
            continue;
        st->files++;
        uint64_t size = (uint64_t)sb.st_size;
        if (size <= v[i].synced)
            continue;
        uint64_t keep = 0;
        if (seed) {
            rng += 0x9e3779b97f4a7c15ull;
            uint64_t z = rng;
            z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
            z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
            keep = (z ^ (z >> 31)) % (size - v[i].synced + 1);
        }
        if (keep == size - v[i].synced)
            continue;
        if (truncate(v[i].path, (off_t)(v[i].synced + keep)) != 0) {
            rc = tide_err_sys(e, errno, "%s: truncate", v[i].path);
            break;
        }
        st->cut++;
        st->dropped += size - v[i].synced - keep;
    }
    for (size_t i = 0; i < n; i++)
        free(v[i].path);
    free(v);
    free(text);
    if (!rc && truncate(journal, 0) != 0) /* the reboot: a fresh journal */
        rc = tide_err_sys(e, errno, "%s: truncate", journal);
    return rc;
}
