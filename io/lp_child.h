/*
 * lp_child — a server process that leads its own process group inside
 * lsptap's session, watched from a libuv loop.
 *
 * Why not uv_spawn: libuv can make a child a group leader only with
 * UV_PROCESS_DETACHED, which calls setsid(). A new session is also a new
 * scheduler autogroup on Linux (kernel.sched_autogroup_enabled, the
 * default on desktop distributions): gopls then competed for the CPU as a
 * group of its own instead of with the editor that started lsptap, and on
 * a busy machine its wakeups waited longer than a gopls the editor runs
 * directly (docs/performance.md, "Stand-in latency"). setpgid() gives the
 * process group that the SIGKILL stage needs (kill(-pid)) and leaves the
 * session, and so the autogroup, as a direct gopls would have it.
 *
 * The child gets what uv_spawn gave it: the three fds as its stdin,
 * stdout and stderr (and one more fd when asked; nothing else: every other fd of lsptap is
 * close-on-exec), signals 1..31 at their default disposition and none
 * blocked (lsptap ignores SIGPIPE; gopls must not), the environment and
 * working directory asked for. An exec failure is the spawn's error (the
 * child told it through a close-on-exec pipe, as libuv does).
 *
 * It dies with lsptap: PR_SET_PDEATHSIG(SIGKILL) is set in the child, so a
 * server that does not read its stdin (and so never sees EOF) is not left
 * behind when lsptap is SIGKILLed (docs/design.md principle 4, no orphans).
 *
 * Its end is noticed through SIGCHLD (a uv_signal_t, as libuv's own child
 * watcher does) and waitpid on this child's pid only, so other children of
 * lsptap (lp_run's) are reaped by whoever started them.
 */
#ifndef LSPTAP_IO_LP_CHILD_H
#define LSPTAP_IO_LP_CHILD_H

#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

struct lp_child;

/* The child ended: exit_status when it exited (0 if killed), term_signal
 * when a signal killed it (0 if it exited); uv_process_t's exit_cb
 * convention. Called once, on the loop's thread. */
typedef void (*lp_child_exit_cb)(struct lp_child *c, int64_t exit_status, int term_signal);

struct lp_child {
    uv_signal_t sigchld; /* active (keeps the loop alive) until the child is reaped */
    pid_t pid;           /* also its process group id; 0 before a spawn succeeded */
    int running;         /* spawned and not yet reaped */
    lp_child_exit_cb exit_cb;
    void *data;         /* the owner's; kept by lp_child_spawn */
    uv_close_cb closed; /* the owner's, kept by lp_child_spawn: sigchld's close callback */
};

struct lp_child_opts {
    const char *file; /* a path (with '/'); a bare name is searched in lsptap's PATH */
    char **args;      /* argv, NULL-terminated */
    char **env;       /* NULL: lsptap's environment */
    const char *cwd;  /* NULL: lsptap's */
    int fd[3];        /* the child's stdin, stdout, stderr; lsptap keeps (and closes) them */
    /* With extra_as > 2, extra_fd becomes the child's fd extra_as too (dlv's
     * --log-dest pipe); lsptap keeps (and closes) it. 0: none. */
    int extra_fd, extra_as;
    lp_child_exit_cb exit_cb;
};

/* Called in a freshly forked child, before exec: the child gets SIGKILL
 * when `parent` (the forking thread's process) dies, and exits 127 at once
 * when it already died between fork and this call (getppid() no longer
 * `parent`). Async-signal-safe. */
void lp_child_die_with_parent(pid_t parent);

/* Starts the child. Returns 0, or a negative errno (from setting up, or
 * from the exec) with nothing left running; c->sigchld is then closing
 * (with c->closed) unless it could not even be initialised (then
 * c->sigchld.loop is NULL). */
int lp_child_spawn(uv_loop_t *loop, struct lp_child *c, const struct lp_child_opts *o);

/* kill(2) to the child while it runs; 0 or a negative errno (-ESRCH once
 * it was reaped). */
int lp_child_kill(struct lp_child *c, int sig);

/* Closes c->sigchld (idempotent; with c->closed). After this no exit_cb
 * comes: the child, if still running, is left to its process group's fate. */
void lp_child_close(struct lp_child *c);

#endif
