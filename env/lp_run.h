/*
 * lp_run — run a short-lived helper command (go env, go version, a login
 * shell) without a shell, with a time limit, and capture what it prints.
 */
#ifndef LSPTAP_ENV_LP_RUN_H
#define LSPTAP_ENV_LP_RUN_H

#include <stddef.h>

struct lp_run_result {
    int status;    /* exit status, or -1 when killed by a signal or not started */
    int signal;    /* the signal that ended it, 0 if none */
    int timed_out; /* 1 when the limit passed and the process group was killed */
    char *out;     /* stdout, NUL-terminated, at most LP_RUN_MAX bytes; owned, free() */
    char *err;     /* stderr, likewise */
};

#define LP_RUN_MAX (1 << 20)

/* Runs argv[0] (an absolute path; no PATH search, no shell) with envp (NULL:
 * this process's environment) in cwd (NULL: unchanged), stdin on /dev/null,
 * in its own process group. After timeout_ms (> 0) the whole group gets
 * SIGKILL.
 * Returns 0 when it ran (look at r->status), or a negative errno when it
 * could not be started (r->err then says why); r->out and r->err are always
 * allocated on return 0 or -errno except -ENOMEM. */
int lp_run(char *const argv[], char *const envp[], const char *cwd, int timeout_ms,
           struct lp_run_result *r);

void lp_run_free(struct lp_run_result *r);

/* 1 when the run exited with status 0. */
int lp_run_ok(const struct lp_run_result *r);

#endif
