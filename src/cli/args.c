/* args.c - option parsing and error printing for the tide command. */
#include "cli/args.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tide_cli_error(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fputs("tide: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int tide_cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fprintf(stderr, "tide %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'tide %s --help'.\n", cmd);
    return TIDE_CLI_USAGE;
}

int tide_cli_help(const char *text)
{
    fputs(text, stdout);
    return TIDE_CLI_OK;
}

static const tide_cli_opt *find_opt(const tide_cli_opt *opts, size_t nopts, const char *arg, size_t len)
{
    for (size_t i = 0; i < nopts; i++)
        if (strlen(opts[i].name) == len && memcmp(opts[i].name, arg, len) == 0)
            return &opts[i];
    return NULL;
}

int tide_cli_parse(const char *cmd, int argc, char **argv, const tide_cli_opt *opts, size_t nopts,
                   const char **pos, int max_pos, int *npos, bool *help)
{
    bool options_done = false;
    *npos = 0;
    *help = false;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!options_done && strcmp(a, "--") == 0) {
            options_done = true;
            continue;
        }
        if (!options_done && (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)) {
            *help = true;
            return 0;
        }
        if (!options_done && a[0] == '-' && a[1] != '\0' && !(a[1] >= '0' && a[1] <= '9')) {
            const char *eq = strchr(a, '=');
            size_t len = eq ? (size_t)(eq - a) : strlen(a);
            const tide_cli_opt *o = find_opt(opts, nopts, a, len);
            if (!o)
                return tide_cli_usage_error(cmd, "unknown option '%.*s'", (int)len, a);
            if (o->flag) {
                if (eq)
                    return tide_cli_usage_error(cmd, "option '%s' takes no value", o->name);
                *o->flag = true;
                continue;
            }
            if (eq) {
                *o->value = eq + 1;
            } else {
                if (i + 1 >= argc)
                    return tide_cli_usage_error(cmd, "option '%s' needs a value", o->name);
                *o->value = argv[++i];
            }
            continue;
        }
        if (*npos >= max_pos)
            return tide_cli_usage_error(cmd, "unexpected argument '%s'", a);
        pos[(*npos)++] = a;
    }
    return 0;
}

bool tide_cli_parse_u64(const char *s, uint64_t *out)
{
    if (!s || *s < '0' || *s > '9')
        return false;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

bool tide_cli_parse_i64(const char *s, int64_t *out)
{
    if (!s || !*s)
        return false;
    const char *d = (*s == '-' || *s == '+') ? s + 1 : s;
    if (*d < '0' || *d > '9')
        return false;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}
