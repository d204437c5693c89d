/*
 * lp_relay — relay this process's stdio to a child server, byte for byte.
 *
 * editor stdin -> child stdin, child stdout -> editor stdout, child stderr ->
 * our stderr, with the inspector fed after each chunk is queued for writing
 * (forward first). Backpressure with hysteresis: a source stops being read
 * when its destination's write queue passes cfg->high_mark and resumes below
 * cfg->low_mark. Half-close: editor EOF is passed on as EOF on the child's
 * stdin while the other direction keeps flowing. The relay ends only when
 * the child has exited and its stdout and stderr reached EOF (or 2 s after
 * the exit, when a grandchild holds them open — said on stderr). Editor
 * EOF starts the grace timer: SIGTERM to the server's process group after
 * cfg->grace_ms, SIGKILL cfg->kill_ms later (io/lp_server.h). SIGINT,
 * SIGTERM and SIGHUP are passed to the child.
 *
 * stdin/stdout that are pipes or sockets are driven by libuv directly;
 * files and terminals go through a copying thread and a pipe.
 */
#ifndef LSPTAP_PROXY_LP_RELAY_H
#define LSPTAP_PROXY_LP_RELAY_H

#include <stdint.h>

#include "env/lp_config.h"
#include "inspect/li_session.h"

struct lp_relay_opts {
    char **argv;             /* argv[0]: path of the server to run */
    const char *cwd;         /* NULL: ours */
    char **env;              /* NULL: ours */
    struct li_session *sess; /* required; fed both directions */
    uint64_t hr_start;       /* uv_hrtime() when the session started */
    const struct lp_config *cfg;
    /* Supervise the LSP handshake (the gopls stand-in): on a failed
     * handshake, check the environment and restart the server with a
     * repaired one (docs/design.md proxy/, docs/repair.md). */
    int supervise;
    /* Watches the server's messages for connections it failed to make and
     * reports them (proxy/lp_netwatch.h); NULL: none. The session must have
     * been opened with lp_netwatch_on_msg on it. */
    struct lp_netwatch *netwatch;
};

struct lp_relay_result {
    int spawn_error; /* negative errno when the child could not start */
    int pid;
    int exit_status; /* valid when exited */
    int term_signal; /* 0 unless killed by a signal */
    int exited;
    int editor_gone;     /* writing to the editor failed */
    int restarts;        /* servers started after a failed handshake */
    int gave_up;         /* a failed handshake that could not be repaired */
    uint64_t read[2];    /* bytes read per li_dir */
    uint64_t written[2]; /* bytes written per li_dir */
    uint64_t stderr_bytes;
    int stderr_mid_line;     /* the server's stderr ended inside a line */
    char stderr_tail[65536]; /* the last bytes of the child's stderr (NUL-terminated) */
};

/* Runs the relay to its end. Returns 0, or the negative errno of a failure
 * to set up (then r->spawn_error tells whether the child was the problem).
 * `r` must not be NULL. */
int lp_relay_run(const struct lp_relay_opts *o, struct lp_relay_result *r);

/* Thread-safe: hands one line for stderr to the running relay's loop, so
 * it goes out with lsptap's other lines. Returns 0 when taken, -1 when no
 * relay is running or a line is already waiting. */
int lp_relay_notify(const char *line);

/* The process exit code for a result: the child's status, 128+N for signal
 * N, 127 when it could not be started. */
int lp_relay_exit_code(const struct lp_relay_result *r);

#endif
