/*
 * lp_netrelay_int — private to lp_netrelay.c (`lsptap relay`: listen,
 * connect, TLS, CMD, one recorded session per connection) and
 * lp_netrelay_ka.c (keep-alive's reconnection for --connect with this
 * process's stdio), the way lp_revive supervises the stdio relay.
 *
 * Calls go one way: the relay (lp_netrelay.c) owns the connection
 * (struct lp_nr_conn) and its one close path, which keep-alive reaches
 * through the connection's `check` callback; it opens keep-alive's side
 * for a connection, lends it the first server's end
 * (lp_nr_ka_server_ended, _editor_ended) and asks it whether the session
 * may end (lp_nr_ka_holds). Both reach the --connect target through
 * lp_nr_target.c: dial it (lp_nr_dial), say how (lp_nr_tls_event) and
 * netcheck it (lp_nr_netcheck). Everything runs on the loop.
 */
#ifndef LSPTAP_PROXY_LP_NETRELAY_INT_H
#define LSPTAP_PROXY_LP_NETRELAY_INT_H

#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "env/lp_config.h"
#include "io/lp_pump.h"
#include "io/lp_server.h"
#include "io/lp_stdio.h"
#include "io/lp_tls.h"
#include "proxy/lp_addr.h"
#include "proxy/lp_serve.h"

#define LP_NR_TLS_HANDSHAKE_MS 10000 /* a silent client must not hold a connection slot */
#define LP_NR_TLS_CONFIRM_MS 1000    /* TLS 1.3: wait for the server's word on our certificate */

struct addrinfo;
struct lp_diag;
struct lp_nr;
struct lp_nr_ka;

union lp_nr_stream {
    uv_handle_t h;
    uv_stream_t s;
    uv_tcp_t tcp;
    uv_pipe_t pipe;
};

/* One relayed connection (or, with --connect alone, this process's stdio
 * and the target). Freed by the relay once every handle it holds closed. */
struct lp_nr_conn {
    struct lp_nr *nr;
    int id;
    union lp_nr_stream ed, ed_out; /* ed_out used only for stdio (stdin/stdout differ) */
    struct lp_tls *ed_tls;         /* a tls:// listener's connection: owns the socket, not ed */
    struct lp_tls *srv_tls;        /* a tls:// server: owns the socket, not srv */
    int ed_split;                  /* editor side is two handles */
    union lp_nr_stream srv;        /* the connected server, or the child's stdin */
    union lp_nr_stream srv_out;    /* the child's stdout */
    int srv_split;
    struct lp_server proc; /* CMD (io/lp_server.h) */
    int has_proc;          /* CMD started */
    int proc_init;         /* proc needs lp_server_close */
    uv_connect_t creq;
    struct lp_pump c2s, s2c;
    int pumping;
    struct lp_session sess;
    int open_handles;
    int done;
    struct lp_nr_ka *ka; /* keep-alive (--connect with stdio, LSP); NULL when off */
    /* The relay's "is the connection over?", for keep-alive to call once it
     * set its ending or wrote a new server's output; c may be freed on return. */
    void (*check)(struct lp_nr_conn *c);
};

/* The relay: its settings, addresses, listener and, in stdio mode, the
 * exit code and why the server is unavailable. */
struct lp_nr {
    struct lp_config cfg;
    uv_loop_t *loop;
    struct lp_addr listen, connect;
    int has_listen, has_connect;
    struct lp_tls_files listen_files, connect_files;
    struct ssl_ctx_st *listen_ctx, *connect_ctx;
    char **cmd;
    enum li_proto proto;
    int max_conns, active, next_id;
    union lp_nr_stream listener;
    dev_t sock_dev; /* our unix socket's file, to remove it at exit (0: none) */
    ino_t sock_ino;
    struct lp_bridge in_bridge, out_bridge;
    int exit_code;
    int stdio_mode;
    char why[4096]; /* stdio mode: why the server is unavailable */
};

static inline uint64_t lp_nr_now(struct lp_nr_conn *c)
{
    return lp_session_now(&c->sess);
}

static inline void lp_nr_event(struct lp_nr_conn *c, enum li_event ev, json_t *f)
{
    lp_session_event(&c->sess, ev, f);
}

/* ---- the --connect target, for both (lp_nr_target.c) ---- */

/* getaddrinfo for a (AI_PASSIVE when passive; a NULL host for ""). */
int lp_nr_resolve(const struct lp_addr *a, int passive, struct addrinfo **res);

/* Starts a connection to --connect on s (plain TCP or unix) or, for
 * tls://, on a new *tls (which then owns the socket; s is unused). cb runs
 * with req->data as the caller set it. Returns 0, or a libuv error with a
 * sentence in err (what could not be resolved or connected, and why); the
 * handle may be initialised then and is the caller's to close. */
int lp_nr_dial(struct lp_nr *nr, union lp_nr_stream *s, struct lp_tls **tls, uv_connect_t *req,
               uv_connect_cb cb, char *err, size_t errlen);

/* The "tls" session event: the protocol and the peer's certificate. */
void lp_nr_tls_event(struct lp_nr_conn *c, struct lp_tls *t, const char *side);

/* netcheck on the --connect target, its report as a "netcheck" event, d
 * the rest (lp_diag.h). It blocks the loop while it runs; the loop's time
 * is updated after. Returns 0, or -1 for a unix: target (not checked). */
int lp_nr_netcheck(struct lp_nr_conn *c, struct lp_diag *d);

/* ---- keep-alive's, for the relay (lp_netrelay_ka.c) ---- */

/* Gives c its keep-alive side (c->ka). Returns 0, or -1 out of memory. */
int lp_nr_ka_open(struct lp_nr_conn *c);

/* The session is closed (or never opened): the side, its link and timer
 * go; nothing calls the engine any more. No-op when c->ka is NULL. */
void lp_nr_ka_close(struct lp_nr_conn *c);

/* The engine that watches the session's messages (lp_session_open's
 * lp_ka_on_msg context). */
struct lp_ka *lp_nr_ka_engine(struct lp_nr_conn *c);

/* The first server's output ended (status, error as on_src_end has them).
 * 1: keep-alive took it (reconnecting); 0: the relay goes on as without. */
int lp_nr_ka_server_ended(struct lp_nr_conn *c, int status, const char *error);

/* The editor's input ended (what keep-alive's framer held of it reaches
 * the session first, as lp_nr_ka_editor_tail). 1: keep-alive ended the
 * session itself. */
int lp_nr_ka_editor_ended(struct lp_nr_conn *c);

/* The start of a frame keep-alive's framer of the editor's stream holds
 * (from the first loss on, the editor's bytes are framed there once for
 * the session and the engine) goes to the session as bytes, as if it had
 * framed them itself, and what the editor still sends goes to the session
 * as read: before the editor's end or the session's close, so the record
 * has every byte. The engine never gets that tail (the server gets no half
 * frame). Once only; no-op when c->ka is NULL. */
void lp_nr_ka_editor_tail(struct lp_nr_conn *c);

/* 1 while keep-alive holds the session open. 0 otherwise, with the
 * ending to write in ending ("" when keep-alive never engaged), and the
 * exit code set in stdio mode. */
int lp_nr_ka_holds(struct lp_nr_conn *c, char *ending, size_t cap);

#endif
