/*
 * lp_keepalive — keeping an LSP session alive when its server is lost after
 * the handshake (docs/keep-alive.md): the engine between the editor, the
 * state tracker (inspect/li_state.h) and a new server.
 *
 * It does no I/O and knows no relay: the relay gives it bytes and it answers
 * through callbacks (send to the server, send to the editor, write an event,
 * say a line on stderr), so `relay --connect` and the stdio relay share it.
 *
 * Life of a session:
 *   1. Before any loss the relay forwards bytes itself and feeds every
 *      classified message to lp_ka_on_msg (it feeds the tracker).
 *   2. The server is lost: lp_ka_lost() says whether to keep the session
 *      (the tracker is usable, the editor has not said shutdown/exit, the
 *      crash-loop budget is not spent, the editor's stream is between
 *      frames). From then on the relay frames the editor's stream (once,
 *      for its inspector too) and hands every piece of it to
 *      lp_ka_editor_piece(), and every byte of a new server goes to
 *      lp_ka_server(); the engine decides what is forwarded.
 *   3. A new server is up: lp_ka_resume() sends it `initialize` with the
 *      editor's params and an id of lsptap's own. The new server's result is
 *      swallowed; then the rest of the replay (initialized, folders,
 *      configuration, didOpen of every open document with its current text)
 *      goes out, the editor's safe requests in flight are resent with their
 *      ids, the unsafe ones answered with ContentModified (-32801, or
 *      RequestFailed -32803 for workspace/executeCommand), cancelled ones
 *      with RequestCancelled (-32800), and what the editor sent meanwhile
 *      follows. The user is told (window/showMessage type 2 and stderr) and
 *      a `replayed` event is written.
 *   4. Afterwards the editor's replies to requests of a lost server are
 *      dropped, and while the editor may still answer one of those, the new
 *      server's request ids are remapped ("lsptap-kN:n:ID") so they never
 *      collide; once none is left, bytes pass through unchanged (chunks, not
 *      frames: lp_ka_passthrough()).
 *
 * Frames lsptap adds are written between frames: the editor's stream is
 * only written whole frames by the engine, and a loss with the editor's
 * stream cut inside a frame is refused (keep-alive cannot repair it).
 * Not thread-safe; one engine per session, fed from one thread.
 */
#ifndef LSPTAP_RESUME_LP_KEEPALIVE_H
#define LSPTAP_RESUME_LP_KEEPALIVE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "inspect/li_events.h"
#include "inspect/li_msg.h"
#include "inspect/li_state.h"

struct lp_ka_cb {
    /* Bytes for the current server: whole frames, or chunks as read in
     * passthrough. data is only valid during the call. */
    void (*to_server)(void *ud, const char *data, size_t len);
    /* Bytes for the editor (frames lsptap makes, the new server's frames,
     * chunks in passthrough). The relay writes them and feeds them to the
     * session as s2c, so the record and the tracker see what the editor
     * sees. Only valid during the call. */
    void (*to_editor)(void *ud, const char *data, size_t len);
    /* A session event; takes the reference to fields (may be NULL). */
    void (*event)(void *ud, enum li_event ev, json_t *fields);
    /* One line for stderr, "lsptap: ..." with its newline; the relay passes
     * it through li_say (redaction, terminal escaping). */
    void (*say)(void *ud, const char *line);
    /* The new server failed the resume (it answered initialize with an
     * error, or sent something lsptap cannot follow): the relay drops it and
     * treats that as another loss. why is one sentence. May be NULL. */
    void (*drop)(void *ud, const char *why);
    /* One whole frame for the editor out of the new server's output (as
     * framed here, or with its id remapped); hdr: its header block's
     * length; m: its body classified (li_classify, LI_LSP, not truncated;
     * kind LI_K_INVALID when it is no message), or NULL when the engine
     * has no classification of these bytes (a remapped frame). For a relay
     * whose inspector can take the frame without framing or classifying it
     * again (lp_relay_forward_msg, li_session_feed_frame). frame and m are
     * only valid during the call. May be NULL: to_editor. */
    void (*to_editor_frame)(void *ud, const char *frame, size_t len, size_t hdr,
                            const struct li_msg *m);
};

struct lp_ka_opts {
    unsigned restart_max; /* losses survived within window_us; 0: none */
    uint64_t window_us;   /* the crash-loop window */
    const char *again;    /* what was done, for the user: "reconnected", "restarted" */
    const char *server;   /* the server's name in sentences: "gopls", "the server" */
};

struct lp_ka;

/* st is borrowed (the caller frees it after lp_ka_free); opts' strings are
 * copied. Returns NULL when out of memory. */
struct lp_ka *lp_ka_new(struct li_state *st, const struct lp_ka_opts *o, const struct lp_ka_cb *cb,
                        void *ud);
void lp_ka_free(struct lp_ka *ka);

/* li_msg_fn for li_session (or called from the relay's own on_msg): feeds
 * the tracker, keeps the last messages for the forensics, and, the first
 * time the tracker stops tracking, says so on stderr and writes
 * `keepalive_off`. ud is the struct lp_ka. */
void lp_ka_on_msg(void *ud, enum li_dir dir, const struct li_msg *m, const char *body, size_t len,
                  int64_t latency_us);

/* The server was lost at now_us (microseconds on any monotonic clock the
 * caller keeps using). why: what happened, for the user, e.g. "the
 * connection to 127.0.0.1:4389 dropped (connection reset by peer)".
 * editor_at_boundary: 1 when nothing of a frame is half-written to the
 * editor. Returns
 *   0                  keep the session: get a new server, then lp_ka_resume;
 *                      a `server_lost` event was written;
 *   -ENOTRECOVERABLE   keep-alive does not apply (tracker untrackable or
 *                      without initialize, the editor sent shutdown/exit,
 *                      the editor's stream is inside a frame): end as
 *                      without keep-alive; `keepalive_off` written when it
 *                      was not already;
 *   -ELOOP             more than restart_max losses within the window:
 *                      `crash_loop` written with the forensics, which were
 *                      also said on stderr, and every editor request still
 *                      in flight answered with RequestFailed (-32803); end
 *                      the session. */
int lp_ka_lost(struct lp_ka *ka, uint64_t now_us, int editor_at_boundary, const char *why);

/* A new server is connected: sends it the replayed `initialize`. Returns
 * 0; -ECANCELED when the editor ended the session meanwhile (shutdown or
 * exit: close the new server and end); -ENOTRECOVERABLE when the tracker
 * stopped tracking meanwhile; -ENOMEM. */
int lp_ka_resume(struct lp_ka *ka, uint64_t now_us);

/* The editor's bytes, from the first loss on, as the relay framed them
 * (lp_gate: the engine does not frame the editor's stream itself): one
 * piece at a time, in stream order, a whole frame (hdr: its header block's
 * length) or bytes that do not frame (hdr 0). m: a frame's body as the
 * relay classified it for its inspector (li_classify(LI_LSP, data + hdr,
 * len - hdr, 0, m), whatever it returned), so the engine does not
 * classify it again; NULL: the engine classifies it itself (and for bytes
 * that do not frame, where it is not read). data and m are only valid
 * during the call. */
void lp_ka_editor_piece(struct lp_ka *ka, const char *data, size_t len, size_t hdr,
                        const struct li_msg *m);

/* Bytes from the current (new) server, from lp_ka_resume on. now_us dates
 * the end of the resume. */
void lp_ka_server(struct lp_ka *ka, const char *data, size_t len, uint64_t now_us);

/* Gives up reconnecting (the relay's retry time ran out): writes
 * `crash_loop` with why and the forensics, says them on stderr, and answers
 * the editor's requests in flight with RequestFailed, as -ELOOP does. */
void lp_ka_give_up(struct lp_ka *ka, const char *why);

enum lp_ka_phase { LP_KA_LIVE, LP_KA_LOST, LP_KA_RESUMING };
enum lp_ka_phase lp_ka_phase(const struct lp_ka *ka);

/* 1 when bytes pass through unchanged: live, no request of a lost server
 * left for the editor to answer, no remapped id outstanding, no partial
 * frame of the server's held (a partial frame of the editor's is the
 * relay's, in its own gate). */
int lp_ka_passthrough(const struct lp_ka *ka);

/* Counts, for tests and the relay's messages. */
struct lp_ka_stats {
    unsigned losses;  /* in the session */
    unsigned resumes; /* completed */
    uint64_t held;    /* editor messages held (lost or resuming) to follow the replay */
    uint64_t
        dropped; /* editor messages dropped (covered by the replay, or replies to a lost server) */
    uint64_t remapped; /* server requests whose id was remapped */
    size_t forgotten;  /* lost servers' requests the editor may still answer */
};
void lp_ka_stats(const struct lp_ka *ka, struct lp_ka_stats *out);

/* The forensics as text lines ("lsptap: ..." each), for stderr: the
 * editor's requests in flight and the last messages. Returns a malloc'd
 * string or NULL. */
char *lp_ka_forensics(const struct lp_ka *ka);

#endif
