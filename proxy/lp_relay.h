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
 *
 * A supervisor may sit on the relay (struct lp_relay_super_ops below): it
 * watches or filters both directions, is asked before a server's end ends
 * the session, and may replace the server with a new one (a "generation")
 * behind the same editor. The gopls stand-in's handshake supervision
 * (proxy/lp_handshake.h) is one; the relay knows nothing of what a
 * supervisor decides or why.
 */
#ifndef LSPTAP_PROXY_LP_RELAY_H
#define LSPTAP_PROXY_LP_RELAY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "env/lp_config.h"
#include "inspect/li_events.h"
#include "inspect/li_msg.h"
#include "inspect/li_session.h"

struct lp_relay;     /* the running relay (one per process) */
struct lp_relay_gen; /* one server process of the session: a generation */

/* ---- the supervision hook ---- */

/* What ended, when the relay asks the supervisor (on_server_end). */
enum lp_relay_end {
    LP_RELAY_EXITED,     /* the current server's process ended */
    LP_RELAY_OUT_CLOSED, /* the current server's stdout reached EOF (or failed) */
};

/* The supervisor's answer. */
enum lp_relay_verdict {
    LP_RELAY_PASS,  /* the relay goes on as without a supervisor: draining, ending
                       the editor's stdout, finishing with this server's status */
    LP_RELAY_TAKEN, /* the supervisor deals with it: it starts a new generation
                       (lp_relay_restart) or later calls lp_relay_release */
};

/* Bits of ops->holds(): what the relay must not do yet. LP_RELAY_HOLD_OUTPUT:
 * end the editor's stdout when the server's ends (another server may
 * follow). LP_RELAY_HOLD_END: end the session although its server is gone
 * (the supervisor is deciding what comes next). */
#define LP_RELAY_HOLD_OUTPUT 1u
#define LP_RELAY_HOLD_END 2u

/* A generation as the supervisor may see it. */
struct lp_relay_gen_info {
    unsigned seq;    /* 0: the session's first server; then 1, 2, ... in start order */
    int pid;         /* also its process group id */
    int running;     /* started and not yet reaped */
    int exited;      /* reaped: exit_status / term_signal are valid */
    int exit_status; /* 0 when killed */
    int term_signal; /* 0 unless killed by a signal */
    int out_eof;     /* its stdout reached EOF, and the supervisor was told (a held
                        end is not told yet: see on_server_end) */
    int err_eof;     /* its stderr reached EOF */
    int retired;     /* replaced by a later generation: its output no longer read */
};

/*
 * The supervision hook: callbacks with their own context (lp_relay_opts's
 * super_ctx), the way lp_stream_ops puts TLS under a pump.
 *
 * Threading: every callback runs on the relay's loop thread, from inside
 * the relay's own callbacks; the relay services below may be called from
 * them (but start, which may call only lp_relay_loop), and from the
 * supervisor's own handles (timers, uv_work_t completions) on that loop,
 * until stop. Nothing of the relay may be touched from another thread
 * (lp_relay_notify excepted, proxy/lp_relay_stderr.h): a uv_work_t's work function reads only the
 * supervisor's own data.
 *
 * Ownership: the relay borrows ops and ctx for lp_relay_run; the caller of
 * lp_relay_run creates and frees ctx. Data pointers passed to callbacks
 * are valid only during the call. Generations belong to the relay, in a
 * few slots that live until stop; a retired generation's slot is reused
 * for a later one once its process was reaped and its handles closed, so
 * a supervisor keeps no pointer to a retired generation and tells
 * generations apart by seq.
 *
 * Every callback may be NULL, except that c2s_filter is required once the
 * supervisor calls lp_relay_filter_c2s. One table per relay: a supervisor
 * made of two (the handshake's and a keep-alive's, issue 18) dispatches
 * between them itself.
 *
 * Restarts: the relay starts a new generation only when the supervisor
 * asks (lp_relay_restart), as often as it asks. The handshake supervision
 * does it once, after a failed handshake; a keep-alive would answer
 * LP_RELAY_TAKEN when the server is lost later, restart it, replay the
 * editor's state with lp_relay_to_server and filter the new server's
 * output (s2c_filter) until it has swallowed what the editor must not see.
 */
struct lp_relay_super_ops {
    /* Once, before the first server starts: the supervisor sets up its
     * handles on the relay's loop (lp_relay_loop, the only service it may
     * call here: nothing runs yet). The relay closes every handle on its
     * loop when it ends (uv_walk), the supervisor's too. */
    void (*start)(void *ctx, struct lp_relay *r);
    /* While the supervisor watches the editor's stream (lp_relay_watch_c2s)
     * and does not filter it: the stream piece by piece, after it was
     * forwarded to the current server (as read) and inspected. A piece is a
     * whole frame (hdr: its header block's length; m: its body classified,
     * li_classify with LI_LSP) or a run of bytes that do not frame (hdr 0,
     * m NULL). The relay frames the stream once (resume/lp_gate.h), for the
     * inspector and the supervisor alike. */
    void (*on_c2s)(void *ctx, const char *data, size_t len, size_t hdr, const struct li_msg *m);
    /* After lp_relay_filter_c2s: the editor's stream piece by piece, as for
     * on_c2s, inspected but not forwarded. The supervisor forwards what it
     * decides with lp_relay_to_server. */
    void (*c2s_filter)(void *ctx, const char *data, size_t len, size_t hdr, const struct li_msg *m);
    /* The editor's input ended while c2s_filter was on: a frame it cut
     * short went to c2s_filter as bytes (hdr 0), and the filter is off now.
     * The supervisor sends on what it still holds (lp_relay_to_server); the
     * server's stdin is shut down right after. */
    void (*on_c2s_end)(void *ctx);
    /* A new generation's stdout starts filtered when this is set: every
     * chunk the server writes comes here instead of going to the editor
     * (never for a retired generation). The supervisor forwards what it
     * decides with lp_relay_forward / lp_relay_forward_msg, and ends the
     * filtering with lp_relay_gen_raw (at a frame boundary). It must not
     * feed the inspector itself: the forward services do. */
    void (*s2c_filter)(void *ctx, struct lp_relay_gen *g, const char *data, size_t len);
    /* g's stdout ended while filtered and the editor's stdout ends next
     * (the filter is off now): the supervisor forwards what it still holds
     * of g's output, unchanged (lp_relay_forward). */
    void (*on_s2c_end)(void *ctx, struct lp_relay_gen *g);
    /* The current generation's process ended or its stdout closed (never
     * asked for a retired one). A server that dies closes its stdout a
     * moment before its exit status arrives, and the status says more:
     * so a stdout's end is held until the exit (then the exit is asked
     * first, the stdout's end right after, unless the answer retired the
     * generation or released its end) or for 300 ms (then it is asked
     * alone, the exit later). LP_RELAY_PASS: the relay handles it as
     * without a supervisor. LP_RELAY_TAKEN: the relay does nothing more
     * about it, until the supervisor starts a new generation or calls
     * lp_relay_release. */
    enum lp_relay_verdict (*on_server_end)(void *ctx, struct lp_relay_gen *g,
                                           enum lp_relay_end what);
    /* LP_RELAY_HOLD_* bits for now. Called often: cheap, no side effects. */
    unsigned (*holds)(void *ctx);
    /* Once, after the relay's loop ended (all handles closed): the
     * supervisor releases what it holds for the session. No relay service
     * may be called from here on. */
    void (*stop)(void *ctx);
};

/* ---- the relay's services for a supervisor (loop thread only) ---- */

uv_loop_t *lp_relay_loop(struct lp_relay *r);
/* Microseconds since the session started (the session file's t_us). */
uint64_t lp_relay_now_us(const struct lp_relay *r);
/* The generation the editor is talking to. */
struct lp_relay_gen *lp_relay_current(struct lp_relay *r);
void lp_relay_gen_info(const struct lp_relay_gen *g, struct lp_relay_gen_info *out);
/* 1 once the editor closed its input or stopped reading, or the relay is
 * ending: nobody is left to supervise for. */
int lp_relay_editor_left(const struct lp_relay *r);
/* lsptap's own line on stderr (printf format; the line ends in '\n'),
 * redacted and escaped; never inside one of the server's stderr lines. */
void lp_relay_say(struct lp_relay *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* An event line in the session file; takes the reference to `fields`
 * (may be NULL). */
void lp_relay_event(struct lp_relay *r, enum li_event ev, json_t *fields);
/* A window/showMessage of lsptap's own to the editor, between frames: now
 * when the editor's stream is at a frame boundary, else right after the
 * frame in progress. Recorded like the server's messages. */
void lp_relay_show(struct lp_relay *r, int type, const char *text);
/* Bytes to the editor from g, then to the inspector (forward first).
 * `data` is copied before the call returns. From a filter these must keep
 * the editor's stream whole: whole frames, or bytes passed on as received. */
void lp_relay_forward(struct lp_relay_gen *g, const char *data, size_t len);
/* lp_relay_forward of one whole frame the caller framed (hdr: its header
 * block's length), whose body it classified as m (li_classify, LI_LSP; NULL
 * when it did not): the inspector records the frame without framing it, or
 * classifying its body, again (li_session_feed_frame). */
void lp_relay_forward_msg(struct lp_relay_gen *g, const char *frame, size_t len, size_t hdr,
                          const struct li_msg *m);
/* Bytes to the current server's stdin (copied). 0 or a libuv error. */
int lp_relay_to_server(struct lp_relay *r, const char *data, size_t len);
/* on: the editor's stream goes to ops->on_c2s piece by piece from now on
 * (framed once, for the inspector too); off: it goes by as read again
 * from the next frame boundary. May be called from ops->start. */
void lp_relay_watch_c2s(struct lp_relay *r, int on);
/* The editor's bytes go to ops->c2s_filter from now on (see there). When
 * the editor's input has ended already, ops->on_c2s_end is called at once
 * and the server's stdin shut down. */
void lp_relay_filter_c2s(struct lp_relay *r);
/* g's stdout goes straight to the editor from now on: s2c_filter is no
 * longer called for it. Call it at a frame boundary. */
void lp_relay_gen_raw(struct lp_relay_gen *g);
/* Starts a new generation with `env` (NULL: lsptap's) and makes it the
 * current one: the old one is retired (its process group gets SIGKILL, its
 * output is no longer read, its stdin is closed), the editor's bytes go to
 * the new server, the result's pid is the new one's and `restarts` counts
 * it. Returns 0, or a negative errno when it could not start (the
 * spawn_failed event is written; nothing else changed). When the editor's
 * input has ended already, the new server's stdin stays open for what the
 * supervisor replays (lp_relay_to_server) until lp_relay_filter_c2s. */
int lp_relay_restart(struct lp_relay *r, char **env);
/* SIGKILL to g's process group. */
void lp_relay_kill_group(struct lp_relay_gen *g);
/* The supervisor gives the current generation's end back after it took it
 * (LP_RELAY_TAKEN): the relay does now what it would have done without a
 * supervisor (waits for its pipes, ends the editor's stdout after the
 * server's, finishes), as far as holds() lets it. */
void lp_relay_release(struct lp_relay *r);

/* ---- running the relay ---- */

struct lp_relay_opts {
    char **argv;             /* argv[0]: path of the server to run */
    const char *cwd;         /* NULL: ours */
    char **env;              /* NULL: ours */
    struct li_session *sess; /* required; fed both directions */
    uint64_t hr_start;       /* uv_hrtime() when the session started */
    const struct lp_config *cfg;
    /* A supervisor (the gopls stand-in's handshake supervision:
     * proxy/lp_handshake.h, docs/repair.md); NULL: none. */
    const struct lp_relay_super_ops *super;
    void *super_ctx;
    /* Watches the server's messages for connections it failed to make and
     * reports them (proxy/lp_netwatch.h); NULL: none. The session must have
     * been opened with lp_netwatch_on_msg on it. */
    struct lp_netwatch *netwatch;
};

struct lp_relay_result {
    int spawn_error; /* negative errno when the child could not start */
    int pid;         /* the current (last) server's */
    int exit_status; /* valid when exited */
    int term_signal; /* 0 unless killed by a signal */
    int exited;
    int editor_gone;     /* writing to the editor failed */
    int restarts;        /* servers started after the first (lp_relay_restart) */
    uint64_t read[2];    /* bytes read per li_dir */
    uint64_t written[2]; /* bytes written per li_dir */
    uint64_t stderr_bytes;
    int stderr_mid_line;     /* lsptap's stderr is still inside one of a server's lines
                                (one whose stderr's end the relay did not see) */
    char stderr_tail[65536]; /* the last bytes of the child's stderr (NUL-terminated) */
};

/* Runs the relay to its end. Returns 0, or the negative errno of a failure
 * to set up (then r->spawn_error tells whether the child was the problem).
 * `r` must not be NULL. */
int lp_relay_run(const struct lp_relay_opts *o, struct lp_relay_result *r);

/* The process exit code for a result: the child's status, 128+N for signal
 * N, 127 when it could not be started. */
int lp_relay_exit_code(const struct lp_relay_result *r);

#endif
