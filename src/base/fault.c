/*
 * fault.c - named fault points (see fault.h).
 *
 * The list is parsed into at most FAULT_MAX entries; each keeps the times
 * its point was reached (atomic: points are reached from any thread).
 */
#include "base/fault.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FAULT_MAX 16
#define FAULT_NAME 64

enum { ACT_EIO, ACT_ENOSPC, ACT_KILL };

typedef struct fault {
    char name[FAULT_NAME];
    int action;
    long nth; /* 0: every time */
    _Atomic long seen;
} fault;

static fault g_faults[FAULT_MAX];
static _Atomic int g_n = -1; /* -1: TIDE_FAULT not read yet */
static _Atomic long g_hits;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static int parse_one(const char *s, size_t len, fault *f)
{
    char item[FAULT_NAME + 32];
    if (len == 0 || len >= sizeof item)
        return -1;
    memcpy(item, s, len);
    item[len] = '\0';
    char *colon = strrchr(item, ':');
    if (!colon || colon == item || (size_t)(colon - item) >= FAULT_NAME)
        return -1;
    *colon = '\0';
    char *act = colon + 1, *at = strchr(act, '@');
    f->nth = 0;
    if (at) {
        *at = '\0';
        char *end;
        long n = strtol(at + 1, &end, 10);
        if (*end || n < 1)
            return -1;
        f->nth = n;
    }
    if (strcmp(act, "eio") == 0)
        f->action = ACT_EIO;
    else if (strcmp(act, "enospc") == 0)
        f->action = ACT_ENOSPC;
    else if (strcmp(act, "kill") == 0)
        f->action = ACT_KILL;
    else
        return -1;
    memcpy(f->name, item, (size_t)(colon - item) + 1); /* < FAULT_NAME, checked above */
    atomic_store(&f->seen, 0);
    return 0;
}

static void parse(const char *spec)
{
    int n = 0;
    atomic_store(&g_hits, 0);
    for (const char *p = spec; p && *p && n < FAULT_MAX;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (parse_one(p, len, &g_faults[n]) == 0)
            n++;
        else
            fprintf(stderr, "tide: TIDE_FAULT: ignoring '%.*s' (want POINT:eio|enospc|kill[@N])\n",
                    (int)len, p);
        p = comma ? comma + 1 : NULL;
    }
    atomic_store(&g_n, n);
}

static void parse_env(void) { parse(getenv("TIDE_FAULT")); }

void tide_fault_set(const char *spec)
{
    pthread_once(&g_once, parse_env);
    parse(spec);
}

long tide_fault_hits(void) { return atomic_load(&g_hits); }

int tide_fault(const char *name, tide_err *e)
{
    if (atomic_load_explicit(&g_n, memory_order_acquire) == 0)
        return 0;
    pthread_once(&g_once, parse_env);
    int n = atomic_load(&g_n);
    for (int i = 0; i < n; i++) {
        fault *f = &g_faults[i];
        if (strcmp(f->name, name) != 0)
            continue;
        long k = atomic_fetch_add(&f->seen, 1) + 1;
        if (f->nth && k != f->nth)
            continue;
        atomic_fetch_add(&g_hits, 1);
        if (f->action == ACT_KILL) {
            fprintf(stderr, "tide: %s: injected kill (TIDE_FAULT)\n", name);
            kill(getpid(), SIGKILL);
            pause();
        }
        return tide_err_set(e, f->action == ACT_ENOSPC ? TIDE_ENOSPC : TIDE_EIO,
                            "%s: injected fault (TIDE_FAULT)", name);
    }
    return 0;
}
