/*
 * lp_relay_int — private to the stdio relay (proxy/lp_relay.c): two parts
 * of it that are each one thing, in files of their own.
 *
 * - lp_relay_stderr.c: this process's stderr, shared by lsptap's own lines
 *   and the server's stderr, so that lsptap's lines never land inside one
 *   of the server's (and lp_relay_notify, for lines from other threads).
 * - lp_relay_c2s.c: the editor's stream framed once, while a supervisor
 *   watches or filters it: each piece goes to the session and then to the
 *   supervisor (lp_relay_watch_c2s, lp_relay_filter_c2s in lp_relay.h).
 *
 * Calls go one way: lp_relay.c owns both structs (inside struct lp_relay)
 * and calls in; neither part calls lp_relay.c, nor the other part. What
 * they need of the relay is given to them as data or as callbacks with the
 * relay's own context. Everything runs on the relay's loop thread
 * (lp_relay_notify excepted, which says so).
 */
#ifndef LSPTAP_PROXY_LP_RELAY_INT_H
#define LSPTAP_PROXY_LP_RELAY_INT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "inspect/li_msg.h"
#include "inspect/li_session.h"
#include "io/lp_pump.h"
#include "resume/lp_gate.h"

/* ---- this process's stderr (lp_relay_stderr.c) ---- */

struct lp_relay_stderr {
    /* Set by the relay before lp_relay_stderr_open: */
    uv_stream_t *out; /* our stderr; lsptap's lines go out once it is open (out->loop) */
    /* 1 while lsptap itself holds the current server's stderr back (the
     * editor is behind): the rest of its unfinished line is already
     * waiting, so lsptap's lines keep waiting for it. */
    int (*held)(void *ud);
    /* One of lsptap's lines was written (or failed): the relay may be able
     * to finish now. */
    void (*written)(void *ud);
    void *ud;
    /* Read-only for the relay: */
    size_t writes; /* lsptap's lines in flight */
    /* Private: */
    uv_timer_t timer; /* the server's unfinished line has waited long enough */
    uv_async_t notify;
    char *wait; /* lsptap's lines waiting for the server's stderr to end a line */
    size_t wait_len;
    int mid_line; /* the server's stderr so far ends inside a line */
};

/* Sets up the timer and lp_relay_notify's async handle on `loop` (the
 * relay's walk closes them at its end). */
void lp_relay_stderr_open(struct lp_relay_stderr *e, uv_loop_t *loop);

/* lsptap's own line (printf format, ending in '\n'): redacted and escaped,
 * then written now, or after the server's stderr ends the line it is in. */
void lp_relay_stderr_say(struct lp_relay_stderr *e, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* A chunk of the server's stderr, written through p (whose dst is `out`)
 * as read, with lsptap's waiting lines right after its last complete
 * line. */
void lp_relay_stderr_server(struct lp_relay_stderr *e, struct lp_pump *p, const char *data,
                            size_t len);

/* The server's stderr ended: a line it left unfinished is ended with a
 * newline (lsptap's lines start lines), and lsptap's waiting lines go now. */
void lp_relay_stderr_server_end(struct lp_relay_stderr *e);

/* The relay's loop is closing its handles: lp_relay_notify takes no more
 * lines. */
void lp_relay_stderr_detach(void);

/* After the relay's loop ended: what could not go out through it (a line
 * from another thread, lsptap's waiting lines) goes straight to stderr, on
 * a line of its own. Returns 1 when the server's stderr still ended inside
 * a line. */
int lp_relay_stderr_close(struct lp_relay_stderr *e);

/* ---- the editor's stream, framed once for a supervisor (lp_relay_c2s.c) ---- */

struct lp_relay_c2s {
    /* Set by the relay before use: */
    struct li_session *sess; /* fed the editor's stream (LI_C2S) while framing */
    uint64_t hr_start;       /* the session's start (lp_relay_opts), for t_us */
    /* The supervisor's on_c2s, c2s_filter and on_c2s_end (lp_relay.h),
     * with its context; NULL where it has none: */
    void (*watched)(void *ud, const char *data, size_t len, size_t hdr, const struct li_msg *m);
    void (*filtered)(void *ud, const char *data, size_t len, size_t hdr, const struct li_msg *m);
    void (*ended)(void *ud);
    void *ud;
    /* Read-only for the relay: */
    int filtering; /* lp_relay_c2s_filter on, until lp_relay_c2s_end */
    /* Private: */
    struct lp_gate gate;
    int watch;     /* lp_relay_c2s_watch */
    int framing;   /* the editor's bytes go through gate */
    int tail_seen; /* what gate held at the editor's EOF was inspected */
};

/* The editor's bytes, after they were forwarded to the server (or instead,
 * while filtering): to the session, and piece by piece to watched or
 * filtered while someone wants them. */
void lp_relay_c2s_bytes(struct lp_relay_c2s *c, const char *data, size_t len);

/* lp_relay_watch_c2s (lp_relay.h). */
void lp_relay_c2s_watch(struct lp_relay_c2s *c, int on);

/* Filtering starts: the bytes go to filtered from the next
 * lp_relay_c2s_bytes. The relay stops forwarding them itself. */
void lp_relay_c2s_filter(struct lp_relay_c2s *c);

/* The editor's input ended: a frame it cut short reaches the session as
 * bytes. Call before the session records the editor's EOF. */
void lp_relay_c2s_input_end(struct lp_relay_c2s *c);

/* After the editor's EOF was recorded, or filtering started after it:
 * while filtering, what the gate held goes to filtered as bytes,
 * filtering ends and ended is called. Nothing otherwise. */
void lp_relay_c2s_end(struct lp_relay_c2s *c);

/* Frees what the gate holds. */
void lp_relay_c2s_free(struct lp_relay_c2s *c);

#endif
