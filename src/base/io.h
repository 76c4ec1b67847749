/*
 * io.h - every file operation of tide's durable formats goes through here.
 *
 * One small module, so tests can inject faults into the real code:
 *   - fail the Nth call (counting every operation below) with EIO or ENOSPC;
 *   - simulate a power loss at the Nth write, or at the Nth step (any call
 *     that changes the disk: write, fsync, truncate, create, mkdir, rename,
 *     unlink, remove, directory fsync): a write is torn (only a prefix
 *     reaches the file), any other step does not happen; every later call
 *     fails with TIDE_ECRASH as if the process were gone, and
 *     tide_io_powerloss() then rewinds the disk to what it could hold after
 *     losing power: each file written since the last reset keeps its fsynced
 *     bytes plus some prefix of the rest, and of the creates, renames and
 *     removes that no fsync of their directory followed, some prefix (in
 *     the order they were made) survives; the others are undone.
 * The fault state is process-wide (like SQLite's VFS registration) and is
 * meant for tests only; production code never sets it.
 *
 * Durability rules the callers rely on:
 *   - tide_io_open with TIDE_IO_CREATE fsyncs the parent directory when it
 *     created the file; tide_io_mkdir, tide_io_rename and tide_io_unlink fsync
 *     the parent directory too.
 *   - A failed fsync is reported and the handle is marked failed: every later
 *     write or fsync on it returns the same error.  Never retry an fsync (the
 *     kernel may already have dropped the dirty pages).
 *
 * Errors carry the path: "tide-data/topics/t/0/00000000000000000000.log:
 * write: No space left on device".  Handles are not thread-safe; distinct
 * handles may be used from different threads.
 */
#ifndef TIDE_BASE_IO_H
#define TIDE_BASE_IO_H

#include "base/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tide_file tide_file;

enum {
    TIDE_IO_READ = 1,    /* open for reading */
    TIDE_IO_WRITE = 2,   /* open for reading and writing */
    TIDE_IO_CREATE = 4,  /* create if missing (fsyncs the directory) */
    TIDE_IO_EXCL = 8,    /* with CREATE: fail with TIDE_EEXIST if it exists */
};

int tide_io_open(tide_file **out, const char *path, int flags, tide_err *e);
/* Closes and frees; NULL is a no-op.  Does not fsync. */
void tide_io_close(tide_file *f);

/* Read up to `len` bytes at `off`; *nread < len only at end of file. */
int tide_io_pread(tide_file *f, void *buf, size_t len, uint64_t off, size_t *nread, tide_err *e);
/* Write all `len` bytes at `off` (a short write is retried, then an error). */
int tide_io_pwrite(tide_file *f, const void *buf, size_t len, uint64_t off, tide_err *e);
int tide_io_fsync(tide_file *f, tide_err *e);
int tide_io_truncate(tide_file *f, uint64_t size, tide_err *e);
int tide_io_size(tide_file *f, uint64_t *size, tide_err *e);
/* Size and link count of the open file (0 links: it was unlinked since it
 * was opened). */
int tide_io_fstat(tide_file *f, uint64_t *size, uint64_t *links, tide_err *e);
/* Advisory lock on the file (flock: per open file, so two handles of one
 * process exclude each other too), held until tide_io_unlock or close.
 * `how`: TIDE_IO_LOCK_EX or TIDE_IO_LOCK_SH, plus TIDE_IO_LOCK_WAIT to block
 * until it is free; without WAIT a lock held elsewhere is TIDE_ELOCKED. */
enum { TIDE_IO_LOCK_EX = 0, TIDE_IO_LOCK_SH = 1, TIDE_IO_LOCK_WAIT = 2 };
int tide_io_lock(tide_file *f, int how, tide_err *e);
int tide_io_unlock(tide_file *f, tide_err *e);

int tide_io_fd(const tide_file *f);
const char *tide_io_path(const tide_file *f);

/* What a path names.  tide_io_stat: `follow` false looks at a symlink
 * itself (lstat), true at its target (stat).  Nothing there is not an
 * error: kind NONE.  dev/ino identify a file (two paths of one file have
 * the same pair). */
typedef enum tide_io_kind {
    TIDE_IO_NONE,
    TIDE_IO_REGULAR,
    TIDE_IO_DIRECTORY,
    TIDE_IO_SYMLINK,
    TIDE_IO_FIFO,
    TIDE_IO_DEVICE,
    TIDE_IO_SOCKET,
} tide_io_kind;
typedef struct tide_io_info {
    tide_io_kind kind;
    uint64_t dev, ino;
} tide_io_info;
int tide_io_stat(const char *path, bool follow, tide_io_info *out, tide_err *e);
/* "a regular file", "a directory", "a symbolic link", "a FIFO", "a device",
 * "a socket", "nothing". */
const char *tide_io_kind_name(tide_io_kind k);

/* Whether paths a and b name the same file: by device and inode when both
 * exist, else by their normalized absolute paths (the existing directory
 * part resolved by realpath, "." and ".." and repeated '/' folded). */
int tide_io_same_file(const char *a, const char *b, bool *same, tide_err *e);

/* mkdir (ok if it exists as a directory), then fsync the parent. */
int tide_io_mkdir(const char *path, tide_err *e);
/* mkdir -p, fsyncing each parent it created an entry in. */
int tide_io_mkdirs(const char *path, tide_err *e);
int tide_io_fsync_dir(const char *path, tide_err *e);
/* rename(2), then fsync the directory of `to` (and of `from` if different).
 * Fault point io.rename (base/fault.h): right after rename(2) (before its
 * journal line and the directory fsyncs). */
int tide_io_rename(const char *from, const char *to, tide_err *e);
/* unlink(2), then fsync the parent directory. */
int tide_io_unlink(const char *path, tide_err *e);
/* Remove a directory tree (files first), fsyncing the parent at the end. */
int tide_io_rmtree(const char *path, tide_err *e);

/* Replace `path` atomically with `len` bytes: write `path`.tmp, fsync,
 * rename over `path`, fsync the directory. */
int tide_io_write_atomic(const char *path, const void *buf, size_t len, tide_err *e);
/* Read a whole (small) file into a malloc'd buffer, NUL-terminated. */
int tide_io_read_all(const char *path, char **buf, size_t *len, tide_err *e);

/* ---- fault injection, for tests ---- */

typedef struct tide_io_faults {
    long fail_at;        /* fail the Nth counted call (1-based); 0: never */
    int fail_errno;      /* errno for it: EIO (default) or ENOSPC */
    bool fail_sticky;    /* keep failing every call after the Nth too */
    long crash_at_write; /* power loss at the Nth write call (1-based); 0: never */
    long crash_at_step;  /* power loss at the Nth step (see above; 1-based); 0: never */
    uint64_t seed;       /* chooses how much of torn/unsynced data survives */
} tide_io_faults;

/* Install `f` (NULL: no faults), reset the counters and the tracking of
 * written files. */
void tide_io_faults_set(const tide_io_faults *f);
long tide_io_calls(void);   /* counted calls since the last faults_set */
long tide_io_writes(void);  /* pwrite calls since the last faults_set */
long tide_io_steps(void);   /* steps (calls that change the disk) since then */
bool tide_io_crashed(void); /* the simulated power loss has happened */

/* After a simulated crash: cut every file written since tide_io_faults_set
 * to its fsynced size plus a seed-chosen prefix of its unsynced bytes, undo
 * a seed-chosen suffix of the namespace operations no directory fsync made
 * durable (newest first: a created file or directory goes, a renamed one
 * goes back and what it replaced returns, a removed one returns), then
 * clear the fault state (I/O works again, as after a reboot).  With
 * keep_unsynced the unsynced bytes and operations all survive (only the
 * torn write is torn). */
int tide_io_powerloss(bool keep_unsynced, tide_err *e);

/* ---- power loss across processes, for end-to-end tests ----
 *
 * With $TIDE_IO_JOURNAL set to a file name (read once, at the first call
 * that needs it), every process appends to that file a line for each
 * change of what is durable: a file opened for writing (its size then
 * counts as durable, the first time the file is seen), an fsync (its size
 * now), a truncate, a rename (what is recorded under the old name moves;
 * journaled before and after rename(2): one a kill interrupted is decided
 * at the rewind by the disk, done when the old name is gone),
 * an unlink or a tree removed.  After the processes are killed (kill -9),
 * tide_io_journal_rewind cuts every file recorded to its durable size plus,
 * with a seed, a seed-chosen prefix of the rest, as a power loss would
 * ("tide debug powerloss JOURNAL"), then empties the journal (the reboot).
 * Only file data is rewound: every namespace operation of io.c fsyncs its
 * directory before it returns, so at most the operations in flight at the
 * kill would differ (the in-process simulator above covers those).  Lines
 * are written with one write(2) each, appended: processes and threads may
 * share one journal.  Not for production: it costs a write per fsync. */
typedef struct tide_io_rewind_stats {
    uint64_t files;   /* files recorded and still there */
    uint64_t cut;     /* of those, files cut */
    uint64_t dropped; /* bytes dropped */
} tide_io_rewind_stats;
int tide_io_journal_rewind(const char *journal, uint64_t seed, tide_io_rewind_stats *st, tide_err *e);

#endif
