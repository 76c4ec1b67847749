/*
 * args.h - the command line toolkit shared by tide's commands: option
 * parsing, number parsing, and error printing in the one format the CLI
 * uses ("tide: <what>: <why>" on stderr).
 *
 * Exit statuses of every command: TIDE_CLI_OK (0) success, TIDE_CLI_USAGE
 * (1) a usage error (bad option, bad argument), TIDE_CLI_RUNTIME (2) a
 * runtime error (missing topic, I/O, corrupt data).
 */
#ifndef TIDE_CLI_ARGS_H
#define TIDE_CLI_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { TIDE_CLI_OK = 0, TIDE_CLI_USAGE = 1, TIDE_CLI_RUNTIME = 2 };

/* One option of a command.  `name` is the long form with its dashes
 * ("--partitions").  An option with `value` takes an argument (given as
 * "--name VALUE" or "--name=VALUE"; the last one given wins); an option
 * with `flag` takes none and sets *flag. */
typedef struct tide_cli_opt {
    const char *name;
    const char **value;
    bool *flag;
} tide_cli_opt;

/* Parse argv[0..argc) of command `cmd` ("topic create", "consume").
 * "--help"/"-h" sets *help and stops.  Positional arguments go to
 * pos[0..max_pos); "--" ends the options.  On a usage error (unknown
 * option, missing value, too many arguments) prints it with a hint to try
 * --help and returns TIDE_CLI_USAGE; else 0. */
int tide_cli_parse(const char *cmd, int argc, char **argv, const tide_cli_opt *opts, size_t nopts,
                   const char **pos, int max_pos, int *npos, bool *help);

/* Print "tide: <formatted message>\n" on stderr. */
void tide_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print a usage error for `cmd` with the hint "Try 'tide CMD --help'." and
 * return TIDE_CLI_USAGE. */
int tide_cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Whole-string decimal numbers; false if s is not one (or out of range). */
bool tide_cli_parse_u64(const char *s, uint64_t *out);
bool tide_cli_parse_i64(const char *s, int64_t *out);

/* Print a command's usage text on stdout and return TIDE_CLI_OK. */
int tide_cli_help(const char *text);

#endif
