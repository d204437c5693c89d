/*
 * lp_env — the environment rules: what in the environment the editor gave
 * gopls stops gopls or `go` from working, why, the fix, and a sanitized
 * environment with the fixes applied.
 *
 * Used twice: by `lsptap doctor` (report only) and by the gopls stand-in's
 * handshake supervision (start a new gopls with report->envp). Wherever it
 * can, a rule asks the installed Go itself: `go env -json` and
 * `go list -e ... unsafe` (which parses $GOFLAGS, GOWORK, GOPATH,
 * GO111MODULE and GOROOT as every build command does) run under the
 * candidate environment, in the workspace, without a shell, with a time
 * limit. The rules are listed in docs/doctor.md.
 */
#ifndef LSPTAP_ENV_LP_ENV_H
#define LSPTAP_ENV_LP_ENV_H

#include <jansson.h>
#include <stddef.h>

enum lp_env_severity {
    LP_ENV_ERROR,  /* gopls or go fails, or works on the wrong thing */
    LP_ENV_WARNING /* works, but not as the user meant */
};

enum lp_env_action {
    LP_ENV_KEEP,  /* no automatic fix: only the user can (the fix says how) */
    LP_ENV_SET,   /* the sanitized environment sets variable=value */
    LP_ENV_UNSET, /* the sanitized environment leaves variable out */
};

struct lp_env_problem {
    const char *check;    /* stable id: "goflags", "goroot", ... (docs/doctor.md) */
    const char *variable; /* "GOFLAGS", "PATH", ... */
    enum lp_env_severity severity;
    enum lp_env_action action;
    char message[1024]; /* what is wrong and why, one or two sentences; secrets redacted */
    char fix[1024];     /* what lsptap does / the user should do; secrets redacted */
    char *value;        /* LP_ENV_SET: the new value, NOT redacted (it goes into envp);
                           print it only through li_redact_value(variable, ...) */
};

struct lp_env_opts {
    int go_timeout_ms;          /* each go invocation; 0: 10000 */
    int login_shell;            /* 1: when go is not on PATH, ask the login shell */
    int shell_timeout_ms;       /* 0: 3000 */
    const char *login_path;     /* non-NULL: the login shell's PATH, already known */
    const char *const *go_dirs; /* NULL: the well-known places (lp_find_go_dirs) */
};

struct lp_env_report {
    struct lp_env_problem *problems; /* in the order the rules ran */
    size_t n_problems;
    char **envp;       /* the sanitized environment, NULL-terminated; owned */
    char go[4096];     /* the go used as the oracle, "" when none was found */
    char go_from[256]; /* where it was found: "PATH", "the login shell's PATH", a dir */
    char *login_path;  /* the login shell's PATH when it was asked; owned; may be NULL */
    int verified;      /* 1: go accepted the sanitized environment in the workspace */
};

/* Runs every rule on envp (NULL-terminated "NAME=value" strings; not
 * modified) for the workspace dir (NULL: the current directory). opts may
 * be NULL. Returns 0 with *out set (free with lp_env_report_free), or
 * -ENOMEM. Problems never make it fail: they are in the report. Takes up to
 * a few go invocations (about 20 ms each) plus, when go is not on PATH and
 * opts->login_shell, the login shell's start-up. Not thread-safe (fork). */
int lp_env_check(char *const envp[], const char *workspace, const struct lp_env_opts *opts,
                 struct lp_env_report **out);
void lp_env_report_free(struct lp_env_report *r);

/* How many problems change the environment (action SET or UNSET). */
size_t lp_env_changes(const struct lp_env_report *r);

/* The problems in docs/design.md's doctor shape: a new array of
 * {"check", "variable", "severity", "message", "fix"}; NULL when out of
 * memory. */
json_t *lp_env_problems_json(const struct lp_env_report *r);

/* What the sanitized environment changes, for a session file's
 * repair event (its "changes"): a new array of {"check", "variable", "action": "set" |
 * "unset", "value": the redacted new value or null, "why": the message}. */
json_t *lp_env_changes_json(const struct lp_env_report *r);

/* One line per change, for stderr and window/showMessage:
 * "GOFLAGS unset: GOFLAGS has a flag that go rejects (-mod=bogus); ...".
 * Secrets redacted. Always NUL-terminates out (truncating). */
void lp_env_summary(const struct lp_env_report *r, char *out, size_t outlen);

/* "error" / "warning" */
const char *lp_env_severity_name(enum lp_env_severity s);

/* The value of name in envp, or NULL. */
const char *lp_env_get(char *const envp[], const char *name);

#endif
