/*
 * lp_relay_int — the contract between the relay (lp_relay.c) and the
 * handshake supervision (lp_handshake.c). Private to those two files.
 *
 * lp_relay.c owns the process-wide state: the loop, the editor's streams,
 * the pumps, each server generation's process and pipes, lsptap's own
 * stderr lines (say), the session's events, each server's lifecycle (io/lp_server),
 * signals, the notify async, and the end (maybe_finish). It calls into the
 * supervision at four points: lp_hs_watch_c2s for every chunk the editor
 * sends, lp_hs_s2c_filter as the server's stdout filter while supervising,
 * lp_hs_failure / lp_hs_end when the server ends during the handshake.
 *
 * lp_handshake.c owns r->sv (struct super: its timers, gates, id sets, the
 * replay and held buffers, the environment report) and every generation's
 * `gate` (the relay only flushes a gate, in lp_rl_finish_output); lp_hs_init
 * sets them up and lp_hs_free releases them. It decides what of the
 * server's output reaches the editor, and starts generation 1 (through
 * lp_rl_spawn_gen) when a repair is possible.
 *
 * Names: lp_rl_* are the relay's services, lp_hs_* the supervision's. They
 * return nothing, except lp_rl_spawn_gen: 0 or a negative errno. Pointers
 * passed in are borrowed for the call. Everything runs on the loop's thread
 * except lp_handshake.c's environment check, a uv_work_t that reads r->o
 * and r->sv.cwd and writes only r->sv.report and r->sv.report_ok.
 */
#ifndef LSPTAP_PROXY_LP_RELAY_INT_H
#define LSPTAP_PROXY_LP_RELAY_INT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "env/lp_env.h"
#include "inspect/li_events.h"
#include "io/lp_pump.h"
#include "io/lp_server.h"
#include "io/lp_stdio.h"
#include "proxy/lp_gate.h"
#include "proxy/lp_relay.h"

struct relay;

/* One server process and its two output directions. A failed handshake
 * retires generation 0 and starts generation 1 behind the same editor. */
struct gen {
    struct relay *r;
    int idx;
    struct lp_server proc; /* a group leader in our session (io/lp_child.h says why) */
    uv_pipe_t in, out, err;
    struct lp_pump s2c, errp;
    struct lp_gate gate; /* message-at-a-time forwarding while s2c.filter is set */
    int pid, running, exited, retired;
    int exit_status, term_signal;
};

/* Handshake states (docs/repair.md). */
enum hs {
    HS_WAIT_INIT,   /* the editor has not sent initialize yet */
    HS_WAIT_RESULT, /* initialize sent, no answer yet */
    HS_LOADING,     /* answered; a load failure may still come within the window */
    HS_REPAIRING,   /* failed; the environment is being checked */
    HS_DONE,        /* the handshake succeeded (or supervision is off) */
    HS_GAVE_UP,     /* failed and could not be repaired; the editor was told */
};

struct super {
    enum hs state;
    char init_id[128]; /* the editor's initialize id, as JSON text */
    size_t init_id_len;
    int init_answered;  /* the editor has an initialize result */
    int init_by_lsptap; /* ... and it is lsptap's error: any late result is dropped */
    uv_timer_t init_timer, window;
    uv_timer_t eof_wait;     /* stdout closed: a moment for the exit status (lp_hs_output_closed) */
    struct lp_gate c2s_seen; /* frames the editor sent, watched (not forwarded) */
    struct lp_gate c2s_gate; /* after a restart: editor frames forwarded one by one */
    char *replay;            /* everything the editor sent, for a restart */
    size_t replay_len, replay_cap;
    struct lp_idset answered; /* editor requests generation 0 answered */
    struct lp_idset pending0; /* generation 0's requests the editor has not answered */
    struct lp_idset remap;    /* generation 1's request ids as the editor sees them */
    char *held;               /* generation 0's frames held while repairing */
    size_t held_len;
    uint64_t held_dropped;
    char reason[1024];
    uv_work_t work;
    struct lp_env_report *report;
    int report_ok;
    char cwd[4096];
    int network_said; /* a load failure was the network's: said once */
};

struct relay {
    const struct lp_relay_opts *o;
    struct lp_relay_result *res;
    uv_loop_t *loop;
    uv_pipe_t ed_in, ed_out, ed_err;
    struct lp_pump c2s;
    struct gen gen[2];
    int cur;
    uv_signal_t sig[LP_SERVER_NSIGNALS];
    struct lp_bridge in_bridge, out_bridge, err_bridge;
    size_t say_writes; /* lsptap's own stderr lines in flight */
    char *say_wait;    /* lsptap's lines waiting for the server's stderr to end a line */
    size_t say_wait_len;
    int err_mid_line; /* the server's stderr so far ends inside a line */
    uv_timer_t say_timer;
    int grace_started; /* the editor's input ended: each server's grace time runs */
    int finishing;
    size_t tail_len; /* ring position in res->stderr_tail */
    struct super sv;
    uv_async_t notify;
    /* lsptap's own messages for the editor waiting for the end of the
     * frame the server is in the middle of (lp_rl_show). */
    char *show_wait;
    size_t show_wait_len;
};

/* ---- the relay's services (lp_relay.c) ---- */

/* Microseconds since the session started (the session file's t_us). */
uint64_t lp_rl_now_us(struct relay *r);
/* The generation the editor is talking to. */
struct gen *lp_rl_cur(struct relay *r);
/* The generation whose s2c or errp pump is p; NULL for the editor's c2s. */
struct gen *lp_rl_gen_of(struct relay *r, const struct lp_pump *p);
/* lsptap's own line on stderr (printf format; the line ends in '\n').
 * Never inside one of the server's stderr lines. */
void lp_rl_say(struct relay *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* An event line in the session file; takes the reference to `fields`
 * (may be NULL). */
void lp_rl_event(struct relay *r, enum li_event ev, json_t *fields);
/* The server's output to the editor, then to the inspector (forward
 * first). `data` is copied before the call returns. lp_rl_forward_raw is
 * the same as an lp_gate raw callback, `ud` being the struct gen. */
void lp_rl_forward(struct gen *g, const char *data, size_t len);
void lp_rl_forward_raw(void *ud, const char *data, size_t len);
/* lp_rl_forward of one whole frame (hdr: its header's length) whose body
 * the caller has classified as m (li_classify, LI_LSP): the inspector takes
 * m instead of classifying the body again (li_session_feed_classified). */
void lp_rl_forward_msg(struct gen *g, const char *frame, size_t len, size_t hdr,
                       const struct li_msg *m);
/* A window/showMessage of lsptap's own to the editor, between frames: now
 * when the editor's stream is at a frame boundary, else right after the
 * frame in progress. Recorded like the server's messages. */
void lp_rl_show(struct relay *r, int type, const char *text);
/* SIGKILL to the generation's process group. */
void lp_rl_kill_group(struct gen *g);
/* Ends the editor's stdout once the current server's stdout has ended and
 * no restart can follow (flushing what g->gate holds, as raw). */
void lp_rl_finish_output(struct relay *r, struct gen *g);
/* Ends the relay when everything it waits for is done; safe to call
 * anytime. */
void lp_rl_maybe_finish(struct relay *r);
/* Starts a server generation with `env` (NULL: ours) and starts its pumps.
 * Returns 0 or a negative errno (from libuv; the spawn_failed event is
 * written, the pipes are closed). */
int lp_rl_spawn_gen(struct relay *r, struct gen *g, char **env);

/* ---- the handshake supervision (lp_handshake.c) ---- */

/* The handshake is still being judged (docs/repair.md). */
static inline int lp_hs_supervising(const struct relay *r)
{
    return r->o->supervise && r->sv.state < HS_DONE;
}

/* A failure counts once the editor has sent initialize: before that there
 * is no handshake to judge (and no LSP session, for all lsptap knows). */
static inline int lp_hs_judging(const struct relay *r)
{
    return lp_hs_supervising(r) && r->sv.state != HS_WAIT_INIT;
}

/* Sets up r->sv (state, cwd, its timers with data = r) on r->loop. */
void lp_hs_init(struct relay *r);
/* Releases what r->sv and the generations' gates hold, after the loop
 * ended. */
void lp_hs_free(struct relay *r);
/* The handshake failed (printf format for the reason): checks the
 * environment and then restarts the server or gives up. Ignored when not
 * supervising or already repairing. */
void lp_hs_failure(struct relay *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The server closed its stdout during the handshake: judged as a failure
 * after EOF_WAIT_MS unless its exit (named with its status or signal)
 * is judged first. */
#define EOF_WAIT_MS 300
void lp_hs_output_closed(struct relay *r);
/* Supervision ends without a verdict: what was held goes to the editor,
 * and the session is plain relaying from here. `why` goes to the event. */
void lp_hs_end(struct relay *r, const char *why);
/* Every chunk the editor sends, after it was forwarded and inspected,
 * while supervising: kept for a replay and watched. */
void lp_hs_watch_c2s(struct relay *r, const char *data, size_t len);

/* The editor's input ended (the relay calls it before shutting the server's
 * stdin down): after a restart the editor's bytes go through sv.c2s_gate,
 * and what it holds then (junk, a frame cut short) goes to the server as it
 * is, as it would have without a restart. */
void lp_hs_c2s_end(struct relay *r);
/* The pump filter of a generation's s2c while supervising: forwards the
 * server's output message by message (lp_rl_forward), or holds or drops
 * it. The filter resets p->filter itself once bytes may flow raw again. */
void lp_hs_s2c_filter(struct lp_pump *p, const char *data, size_t len);

#endif
