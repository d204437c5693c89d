/*
 * cli_args — the argument loop the session-reading commands share (ls,
 * stats, report, scrub, export, tail, doctor): options from a table, -h and
 * --help, and the positional argument(s), with one wording for every
 * command's usage errors.
 */
#ifndef LSPTAP_CLI_CLI_ARGS_H
#define LSPTAP_CLI_CLI_ARGS_H

#include <stdio.h>

/* One option: a flag (sets *flag to 1) or one that takes the next argument
 * (*value; `needs` names it in the error when it is missing: "a file"). */
struct cli_opt {
    const char *name, *alias; /* "--output", "-o"; alias may be NULL */
    int *flag;
    const char **value;
    const char *needs;
};

/* A command's arguments. The options end with a zeroed entry. At most one
 * positional argument goes to *one (`one_what` names it: "lsptap ls: one
 * directory at a time"); with one NULL, any number are allowed and counted
 * in *many (the command walks argv again for them). */
struct cli_args {
    const char *cmd;   /* "ls": every message starts "lsptap ls: " */
    const char *usage; /* the whole --help text */
    const struct cli_opt *opts;
    const char **one;
    const char *one_what;
    int *many;
};

/* Parses argv[1..argc). Returns -1 when the command goes on; otherwise the
 * exit code, having printed why: the usage on stdout after -h/--help (0);
 * "unknown option X" or "one WHAT at a time" then the usage on stderr (2);
 * "X needs WHAT" (2). */
int cli_parse(const struct cli_args *a, int argc, char **argv);

/* Prints the usage on f; returns the exit code that goes with it (0 on
 * stdout, after --help; 2 otherwise, a usage error). */
int cli_usage(const struct cli_args *a, FILE *f);

/* SESSION [-o|--output FILE]: the commands that read one session file and
 * write one file (report, scrub). As cli_parse, and a missing SESSION (or a
 * missing -o when need_out) is a usage error too. */
struct cli_session_out {
    const char *session, *out; /* out NULL when not given */
    struct cli_opt opts[2];
    struct cli_args args;
};
int cli_parse_session_out(struct cli_session_out *a, const char *cmd, const char *usage,
                          int need_out, int argc, char **argv);

/* 1 when arg is an option word ("-x", "--x"); "-" alone is a file name. */
int cli_is_option(const char *arg);

#endif
