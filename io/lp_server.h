/*
 * lp_server — one server process's lifecycle on a libuv loop: started
 * through lp_child (a process group leader in lsptap's session, dying with
 * lsptap), its exit, the grace time after its input ended, SIGTERM and then
 * SIGKILL to its process group, the signals lsptap passes on, and the drain
 * time after its exit for a process it started that still holds its output.
 * The gopls relay, the dlv stand-in and `relay --listen ADDR -- CMD` each
 * run their server through it (docs/decisions.md, "The server's process
 * group" and "One server lifecycle").
 *
 * The escalation: lp_server_input_closed starts the grace time; when the
 * server still runs grace_ms later, SIGTERM goes to its process group, and
 * when it still runs kill_ms after that, SIGKILL goes to the group.
 * lp_server_terminate skips the grace time (SIGTERM now), and a SIGTERM
 * passed on (lp_server_signal) is followed by SIGKILL kill_ms later as well.
 *
 * What happens is reported through the owner's callback (lp_server_cb), so
 * that the owner writes its session events ("exit", "terminate",
 * "orphans_killed", docs/session-format.md) and its own stderr lines in its
 * own words: this module writes nothing.
 *
 * Ownership: struct lp_server lives in the owner's memory, which must stay
 * valid until the close callback of lp_server_close ran (the module's two
 * handles, a SIGCHLD watcher and a timer, are closing until then). All
 * calls and callbacks are on the loop's thread. Errors are negative errnos
 * (libuv's UV_E* values); a call that fails runs no callback.
 */
#ifndef LSPTAP_IO_LP_SERVER_H
#define LSPTAP_IO_LP_SERVER_H

#include <stdint.h>
#include <uv.h>

#include "io/lp_child.h"

struct lp_server;

/* The drain time lsptap's relays give: how long after the server's exit a
 * process it started may hold its output open before what is left of its
 * process group is killed. */
#define LP_SERVER_DRAIN_MS 2000

enum lp_server_ev {
    LP_SERVER_EXIT,      /* it ended: status, or the signal that killed it */
    LP_SERVER_TERMINATE, /* SIGTERM or SIGKILL to its group: sent as the callback returns */
    LP_SERVER_DRAIN,     /* drain_ms passed since lp_server_drain (after its exit) */
};

/* Why lsptap sent a TERMINATE's signal. */
enum lp_server_why {
    LP_SERVER_GRACE,   /* SIGTERM: its input ended grace_ms ago and it still ran */
    LP_SERVER_ASKED,   /* SIGTERM: the owner called lp_server_terminate */
    LP_SERVER_IGNORED, /* SIGKILL: it still ran kill_ms after a SIGTERM */
};

struct lp_server_event {
    enum lp_server_ev type;
    int pid;                /* the server's pid, also its process group id */
    int64_t status;         /* EXIT: its exit status (0 when a signal killed it) */
    int signal;             /* EXIT: the signal that killed it (0: it exited);
                               TERMINATE: SIGTERM or SIGKILL */
    enum lp_server_why why; /* TERMINATE */
    uint64_t after_ms;      /* TERMINATE: how long lsptap waited before sending it
                               (grace_ms, kill_ms; 0 for LP_SERVER_ASKED) */
};

/* Called on the loop's thread; `ev` is borrowed for the call. The owner
 * may call any lp_server_* function from it, lp_server_close included. */
typedef void (*lp_server_cb)(struct lp_server *s, const struct lp_server_event *ev);

struct lp_server_opts {
    struct lp_child_opts child; /* what to run, and its fds (exit_cb is the module's) */
    uint64_t grace_ms;          /* input closed -> SIGTERM */
    uint64_t kill_ms;           /* SIGTERM -> SIGKILL */
    uint64_t drain_ms;          /* exit -> LP_SERVER_DRAIN (lp_server_drain) */
    lp_server_cb cb;            /* required */
};

struct lp_server {
    struct lp_child child; /* child.pid: the server's pid and process group id */
    uv_timer_t timer;      /* the grace time, then kill_ms; after the exit, the drain */
    lp_server_cb cb;
    uint64_t grace_ms, kill_ms, drain_ms;
    /* Read-only for the owner: */
    int running;         /* spawned and not yet reaped */
    int exited;          /* reaped: exit_status and term_signal hold */
    int64_t exit_status; /* 0 when killed */
    int term_signal;     /* 0 when it exited */
    int grace_started, term_sent, kill_sent;
    /* Private: */
    int open; /* of the two handles, those not yet closed */
    int closing, close_asked;
    void (*closed)(struct lp_server *s);
    void *data; /* the owner's; kept by lp_server_spawn */
};

/* Starts the server. Returns 0, or a negative errno (the exec's, e.g.
 * UV_ENOENT, or from setting up) with nothing running and no callback to
 * come; s must then still be closed with lp_server_close. */
int lp_server_spawn(uv_loop_t *loop, struct lp_server *s, const struct lp_server_opts *o);

/* The server's input ended (the editor closed it, or went away): the grace
 * time starts. Idempotent; nothing when it is not running, or when a
 * SIGTERM was already sent. */
void lp_server_input_closed(struct lp_server *s);

/* SIGTERM to the process group now (LP_SERVER_TERMINATE, LP_SERVER_ASKED),
 * SIGKILL kill_ms later if it still runs. Nothing when it is not running or
 * a SIGTERM was already sent. */
void lp_server_terminate(struct lp_server *s);

/* Passes a signal lsptap received on to the server (its pid only: the
 * server decides for what it started). A SIGTERM passed on counts as the
 * SIGTERM stage: SIGKILL follows kill_ms later if it still runs. Returns 1
 * when passed on, 0 when the server no longer runs; the owner records the
 * "signal" event with its action. */
int lp_server_signal(struct lp_server *s, int signum);

/* kill(2) to the server's process group, with no event: for the owner's own
 * reasons (a start timeout, or what is left of the group when the drain
 * ran out). Also after the exit, for those orphans. 0 or a negative errno
 * (-ESRCH: nobody left in the group). */
int lp_server_kill_group(struct lp_server *s, int sig);

/* After the exit: LP_SERVER_DRAIN drain_ms from now (again, when called
 * again). The owner calls it when the server's output did not end with it;
 * from LP_SERVER_DRAIN it either waits again (lp_server_drain) or kills
 * what is left (lp_server_kill_group(s, SIGKILL)) and stops reading. The
 * drain does not keep the loop alive. Nothing before the exit. */
void lp_server_drain(struct lp_server *s);

/* Stops everything: no callback comes after this. A server still running is
 * left to its process group's fate (it dies with lsptap: lp_child.h).
 * `closed` (may be NULL) runs once the module's handles are closed, from
 * the loop, or at once when none was open; s may be freed from then on.
 * Idempotent; a second call replaces `closed` only while still closing. */
void lp_server_close(struct lp_server *s, void (*closed)(struct lp_server *s));

/* One end of a fresh socketpair for one of the server's standard streams,
 * as uv_spawn's UV_CREATE_PIPE makes them (so the server sees the same kind
 * of fd): `mine` (uv_pipe_init'ed by the caller) is opened on lsptap's end,
 * *theirs is the server's end (close-on-exec; the caller closes it once
 * the server was spawned). 0 or a negative errno (*theirs is -1 then). */
int lp_server_stdio(uv_pipe_t *mine, int *theirs);

/* The signals lsptap passes on to its server: SIGINT, SIGTERM, SIGHUP. */
#define LP_SERVER_NSIGNALS 3
extern const int lp_server_signals[LP_SERVER_NSIGNALS];

/* Watches those signals with `cb` (sig[i].data = data), unreferenced so
 * that they do not keep the loop alive. 0 or a negative errno. */
int lp_server_watch_signals(uv_loop_t *loop, uv_signal_t sig[LP_SERVER_NSIGNALS], uv_signal_cb cb,
                            void *data);

#endif
