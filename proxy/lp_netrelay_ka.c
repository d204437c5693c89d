/*
 * Keep-alive for `lsptap relay --connect` with this process's stdio
 * (lp_netrelay_int.h says what the relay and this file ask of each other).
 *
 * After the handshake, a dropped connection does not end the session: the
 * editor's stdio stays open, the target is reconnected with backoff, and
 * lp_keepalive brings the new server to where the lost one was
 * (docs/keep-alive.md). From the first loss on, the editor's bytes go
 * through the engine (the c2s pump's filter) and each new connection's
 * output too (its own pump, `rd`); the engine writes to the editor through
 * c->s2c, whose source, the first connection, has ended.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "env/lp_diag.h"
#include "inspect/li_say.h"
#include "inspect/li_state.h"
#include "proxy/lp_netrelay_int.h"
#include "resume/lp_gate.h"
#include "resume/lp_keepalive.h"

#define KA_BACKOFF_FIRST_MS 100
#define KA_BACKOFF_MAX_MS 5000
#define KA_DIAG_KINDS 8

struct ka_link {
    struct lp_nr_conn *c; /* NULL once the link is abandoned */
    union lp_nr_stream s; /* plain TCP or unix; with TLS the socket is tls's */
    struct lp_tls *tls;
    uv_connect_t creq;
    struct lp_pump rd; /* the server's output into the engine */
    int up;            /* connected (and through TLS): rd is reading */
};

/* Keep-alive's side of one connection (lp_nr_conn.ka). */
struct lp_nr_ka {
    struct li_state *st;
    struct lp_ka *ka;
    /* The editor's stream from the first loss on, framed once here for the
     * session (li_session_feed_frame) and the engine (lp_ka_editor_piece). */
    struct lp_gate ed_gate;
    int ed_tail;          /* lp_nr_ka_editor_tail ran: the gate is done with */
    int engaged;          /* the server was lost at least once */
    struct ka_link *link; /* the current new server; NULL while lost */
    uv_timer_t timer;     /* the next reconnection attempt */
    int timer_init;
    uint64_t lost_ms; /* loop time of the loss */
    uint64_t delay_ms;
    unsigned attempts;
    int diag_done[KA_DIAG_KINDS]; /* failure kinds netcheck already ran for */
    int ndiag;
    char last_error[256];
    char ending[700]; /* set: the session ends with this */
    int exit_code;
};

struct lp_ka *lp_nr_ka_engine(struct lp_nr_conn *c)
{
    return c->ka->ka;
}

static uv_stream_t *ka_editor_out(struct lp_nr_conn *c)
{
    return c->ed_split ? &c->ed_out.s : &c->ed.s;
}

static void ka_to_server(void *ud, const char *d, size_t n)
{
    struct lp_nr_conn *c = ud;
    if (c->ka->link && c->ka->link->up) lp_pump_write(&c->c2s, d, n);
}

static void ka_to_editor(void *ud, const char *d, size_t n)
{
    struct lp_nr_conn *c = ud;
    lp_pump_write(&c->s2c, d, n);
    li_session_feed(c->sess.li, LI_S2C, d, n, lp_nr_now(c));
}

/* A whole frame the engine framed (or remapped): recorded as the editor
 * gets it, without framing it again. */
static void ka_to_editor_frame(void *ud, const char *frame, size_t len, size_t hdr,
                               const struct li_msg *m)
{
    struct lp_nr_conn *c = ud;
    lp_pump_write(&c->s2c, frame, len);
    li_session_feed_frame(c->sess.li, LI_S2C, frame, len, hdr, lp_nr_now(c), m);
}

static void ka_event(void *ud, enum li_event ev, json_t *f)
{
    lp_nr_event(ud, ev, f);
}

static void ka_say(void *ud, const char *line)
{
    (void)ud;
    li_say("%s", line);
}

static void ka_lost_again(struct lp_nr_conn *c, const char *why);

static void ka_drop(void *ud, const char *why)
{
    ka_lost_again(ud, why);
}

static const struct lp_ka_cb ka_cb = {ka_to_server, ka_to_editor, ka_event,
                                      ka_say,       ka_drop,      ka_to_editor_frame};

int lp_nr_ka_open(struct lp_nr_conn *c)
{
    const struct lp_config *cfg = &c->nr->cfg;
    struct lp_nr_ka *k = calloc(1, sizeof *k);
    if (!k) return -1;
    k->st = li_state_new((size_t)cfg->keepalive_max);
    struct lp_ka_opts o = {(unsigned)cfg->restart_max, cfg->restart_window_s * 1000000,
                           "reconnected", "the server"};
    k->ka = k->st ? lp_ka_new(k->st, &o, &ka_cb, c) : NULL;
    if (!k->ka) {
        li_state_free(k->st);
        free(k);
        return -1;
    }
    c->ka = k;
    return 0;
}

static void ka_link_closed(uv_handle_t *h)
{
    free((struct ka_link *)((char *)h - offsetof(struct ka_link, s)));
}

static void ka_link_tls_closed(void *arg)
{
    free(arg);
}

/* Abandons the current link: its handles close, its memory goes with
 * them; a connect still pending ends with UV_ECANCELED first. */
static void ka_link_drop(struct lp_nr_conn *c)
{
    struct ka_link *ln = c->ka->link;
    if (!ln) return;
    c->ka->link = NULL;
    ln->c = NULL;
    /* Until the next link is up, the editor's pump points at the editor's
     * own output: nothing is written there (ka_to_server needs a link),
     * and the pump's backpressure check reads a live handle. */
    lp_pump_set_dst(&c->c2s, ka_editor_out(c));
    if (ln->tls)
        lp_tls_close(ln->tls, ka_link_tls_closed, ln);
    else if (ln->s.h.loop)
        uv_close(&ln->s.h, ka_link_closed);
    else
        free(ln);
}

static void ka_free(struct lp_nr_ka *k)
{
    lp_gate_free(&k->ed_gate);
    lp_ka_free(k->ka);
    li_state_free(k->st);
    free(k);
}

static void ka_timer_closed(uv_handle_t *h)
{
    ka_free(h->data);
}

/* The session is closed (or never opened): nothing calls the engine any
 * more. The side is freed with its timer. */
void lp_nr_ka_close(struct lp_nr_conn *c)
{
    struct lp_nr_ka *k = c->ka;
    if (!k) return;
    ka_link_drop(c);
    c->ka = NULL;
    if (!k->timer_init) {
        ka_free(k);
        return;
    }
    k->timer.data = k;
    uv_close((uv_handle_t *)&k->timer, ka_timer_closed);
}

/* The session ends (as it would have without keep-alive): the editor's
 * output is shut after what is queued, then conn_check ends it. */
static void ka_finish(struct lp_nr_conn *c, const char *ending, int exit_code)
{
    struct lp_nr_ka *k = c->ka;
    if (*k->ending) return;
    snprintf(k->ending, sizeof k->ending, "%s", ending);
    k->exit_code = exit_code;
    if (k->timer_init) uv_timer_stop(&k->timer);
    ka_link_drop(c);
    li_session_eof(c->sess.li, LI_S2C, lp_nr_now(c));
    lp_pump_shutdown_dst(&c->s2c);
    c->check(c);
}

int lp_nr_ka_holds(struct lp_nr_conn *c, char *ending, size_t cap)
{
    struct lp_nr_ka *k = c->ka;
    *ending = '\0';
    if (!k->engaged) return 0;
    if (!*k->ending) return 1;
    snprintf(ending, cap, "%s", k->ending);
    if (c->nr->stdio_mode) c->nr->exit_code = k->exit_code;
    return 0;
}

static void ka_attempt(uv_timer_t *t);

static void ka_schedule(struct lp_nr_conn *c, uint64_t ms)
{
    struct lp_nr_ka *k = c->ka;
    if (!k->timer_init) {
        uv_timer_init(c->nr->loop, &k->timer);
        k->timer.data = c;
        k->timer_init = 1;
    }
    uv_timer_start(&k->timer, ka_attempt, ms, 0);
}

/* The server was lost (its connection ended, or the new one failed the
 * resume). Returns 0 when keep-alive goes on. */
static int ka_loss(struct lp_nr_conn *c, const char *why)
{
    struct lp_nr_ka *k = c->ka;
    int r = lp_ka_lost(k->ka, lp_nr_now(c), li_session_at_boundary(c->sess.li, LI_S2C), why);
    if (r) return r;
    if (!k->engaged) {
        k->engaged = 1;
        /* The first connection: closed here, not by conn_end. */
        if (c->srv_tls) {
            lp_tls_close(c->srv_tls, NULL, NULL);
            c->srv_tls = NULL;
        } else {
            lp_close_once(&c->srv.h);
        }
        lp_pump_set_dst(&c->c2s, ka_editor_out(c));
    }
    ka_link_drop(c);
    k->lost_ms = uv_now(c->nr->loop);
    k->delay_ms = KA_BACKOFF_FIRST_MS;
    k->attempts = 0;
    ka_schedule(c, 0);
    return 0;
}

/* One piece of the editor's stream: the session first (the tracker must
 * have every message before the engine builds a replay from it), then the
 * engine, both without framing it again. */
static void ka_ed_frame(void *ud, const char *frame, size_t len, size_t hdr)
{
    struct lp_nr_conn *c = ud;
    struct li_msg m;
    li_classify(LI_LSP, frame + hdr, len - hdr, 0, &m); /* keep-alive is for LSP sessions */
    li_session_feed_frame(c->sess.li, LI_C2S, frame, len, hdr, lp_nr_now(c), &m);
    if (c->ka) lp_ka_editor_piece(c->ka->ka, frame, len, hdr, &m); /* NULL: the session closed */
}

static void ka_ed_raw(void *ud, const char *data, size_t len)
{
    struct lp_nr_conn *c = ud;
    li_session_feed(c->sess.li, LI_C2S, data, len, lp_nr_now(c));
    if (c->ka) lp_ka_editor_piece(c->ka->ka, data, len, 0, NULL);
}

static void ka_c2s_filter(struct lp_pump *p, const char *d, size_t n)
{
    struct lp_nr_conn *c = p->data;
    if (c->ka && !c->ka->ed_tail)
        lp_gate_feed(&c->ka->ed_gate, d, n, ka_ed_frame, ka_ed_raw, c);
    else /* the session is ending: it records what still comes */
        li_session_feed(c->sess.li, LI_C2S, d, n, lp_nr_now(c));
}

void lp_nr_ka_editor_tail(struct lp_nr_conn *c)
{
    if (!c->ka || c->ka->ed_tail) return;
    c->ka->ed_tail = 1; /* the gate itself goes with the side (ka_free) */
    size_t n;
    const char *held = lp_gate_pending(&c->ka->ed_gate, &n);
    if (n) li_session_feed(c->sess.li, LI_C2S, held, n, lp_nr_now(c));
}

int lp_nr_ka_server_ended(struct lp_nr_conn *c, int status, const char *error)
{
    struct lp_nr_ka *k = c->ka;
    if (c->c2s.src_eof || *k->ending) return 0;
    char why[600];
    snprintf(why, sizeof why, "the connection to %s dropped%s%s%s", c->nr->connect.text,
             status == UV_EOF ? "" : " (", status == UV_EOF ? "" : error,
             status == UV_EOF ? "" : ")");
    int r = ka_loss(c, why);
    if (!r) {
        lp_nr_event(c, LI_EV_SERVER_EOF,
                    status == UV_EOF ? NULL : json_pack("{s:s}", "error", error));
        c->c2s.filter = ka_c2s_filter;
        return 1;
    }
    if (r == -ELOOP) { /* said and recorded; the session ends as it would have */
        k->engaged = 1;
        k->exit_code = 1;
        snprintf(k->ending, sizeof k->ending, "crash loop: %s", why);
    }
    return 0; /* not kept: on_src_end goes on as without keep-alive */
}

int lp_nr_ka_editor_ended(struct lp_nr_conn *c)
{
    struct lp_nr_ka *k = c->ka;
    lp_nr_ka_editor_tail(c);
    if (!k->engaged || (k->link && k->link->up) || *k->ending) return 0;
    li_session_eof(c->sess.li, LI_C2S, lp_nr_now(c));
    lp_nr_event(c, LI_EV_EDITOR_EOF, NULL);
    ka_finish(c, "the editor closed its side while the server was away", 0);
    return 1;
}

/* A later loss: the current link ended or failed the resume. */
static void ka_lost_again(struct lp_nr_conn *c, const char *why)
{
    struct lp_nr_ka *k = c->ka;
    if (*k->ending) return;
    if (c->c2s.src_eof) {
        ka_finish(c, "both sides closed", 0);
        return;
    }
    int r = ka_loss(c, why);
    struct li_state_info in;
    li_state_info(k->st, &in);
    if (r == -ELOOP)
        ka_finish(c, "crash loop: the server was lost too often", 1);
    else if (r && in.shutdown)
        ka_finish(c, "both sides closed", 0);
    else if (r)
        ka_finish(c, "the server was lost and keep-alive could not go on", 1);
}

static void ka_rd_filter(struct lp_pump *p, const char *d, size_t n)
{
    struct lp_nr_conn *c = p->data;
    if (c->ka && c->ka->link && &c->ka->link->rd == p) lp_ka_server(c->ka->ka, d, n, lp_nr_now(c));
}

static void ka_rd_end(struct lp_pump *p, int status)
{
    struct lp_nr_conn *c = p->data;
    if (!c->ka || !c->ka->link || &c->ka->link->rd != p) return;
    struct ka_link *ln = c->ka->link;
    const char *e = ln->tls && *lp_tls_error(ln->tls) ? lp_tls_error(ln->tls) : uv_strerror(status);
    char why[600];
    snprintf(why, sizeof why, "the connection to %s dropped again%s%s%s", c->nr->connect.text,
             status == UV_EOF ? "" : " (", status == UV_EOF ? "" : e, status == UV_EOF ? "" : ")");
    lp_nr_event(c, LI_EV_SERVER_EOF, status == UV_EOF ? NULL : json_pack("{s:s}", "error", e));
    ka_lost_again(c, why);
}

static void ka_rd_progress(struct lp_pump *p)
{
    struct lp_nr_conn *c = p->data;
    c->check(c);
}

static const struct lp_pump_cb ka_rd_cb = {NULL, ka_rd_end, NULL, ka_rd_progress};

/* Whether netcheck already ran for this kind of failure; marks it. */
static int ka_diag_once(struct lp_nr_ka *k, int kind)
{
    for (int i = 0; i < k->ndiag; i++)
        if (k->diag_done[i] == kind) return 0;
    if (k->ndiag < KA_DIAG_KINDS) k->diag_done[k->ndiag++] = kind;
    return 1;
}

/* An attempt failed: say why (with netcheck, once per kind of failure),
 * then try again after the backoff, or give up once reconnect_ms passed. */
static void ka_attempt_failed(struct lp_nr_conn *c, int kind, const char *error)
{
    struct lp_nr_ka *k = c->ka;
    struct lp_nr *nr = c->nr;
    snprintf(k->last_error, sizeof k->last_error, "%s", error);
    lp_nr_event(c, LI_EV_CONNECT_FAILED,
                json_pack("{s:s, s:s, s:i}", "target", nr->connect.text, "error", error, "attempt",
                          (int)k->attempts));
    if (ka_diag_once(k, kind)) {
        li_say("lsptap: relay #%d: reconnecting to %s failed: %s; retrying for up to %llu ms\n",
               c->id, nr->connect.text, error, (unsigned long long)nr->cfg.reconnect_ms);
        struct lp_diag d;
        lp_nr_netcheck(c, &d);
    }
    uint64_t spent = uv_now(nr->loop) - k->lost_ms;
    if (spent >= nr->cfg.reconnect_ms) {
        char why[700];
        snprintf(why, sizeof why,
                 "could not reconnect to %s within %llu ms (%u attempts; last: %s)",
                 nr->connect.text, (unsigned long long)nr->cfg.reconnect_ms, k->attempts, error);
        lp_ka_give_up(k->ka, why);
        ka_finish(c, "reconnecting failed", 1);
        return;
    }
    uint64_t d = k->delay_ms;
    if (d > nr->cfg.reconnect_ms - spent) d = nr->cfg.reconnect_ms - spent;
    k->delay_ms = k->delay_ms * 2 > KA_BACKOFF_MAX_MS ? KA_BACKOFF_MAX_MS : k->delay_ms * 2;
    ka_schedule(c, d);
}

/* The new connection is up: its output into the engine, the editor's
 * bytes to it, and the replay. */
static void ka_link_up(struct ka_link *ln)
{
    struct lp_nr_conn *c = ln->c;
    struct lp_nr_ka *k = c->ka;
    ln->up = 1;
    uv_stream_t *s = ln->tls ? lp_tls_stream(ln->tls) : &ln->s.s;
    lp_pump_init(&ln->rd, s, ka_editor_out(c), c->nr->cfg.high_mark, c->nr->cfg.low_mark, &ka_rd_cb,
                 c);
    ln->rd.close_src = ln->rd.close_dst = 0;
    ln->rd.filter = ka_rd_filter;
    lp_pump_set_dst(&c->c2s, s);
    if (ln->tls) {
        lp_pump_src_ops(&ln->rd, &lp_tls_ops, ln->tls);
        lp_pump_dst_ops(&c->c2s, &lp_tls_ops, ln->tls);
    }
    uint64_t ms = uv_now(c->nr->loop) - k->lost_ms;
    lp_nr_event(c, LI_EV_RECONNECT,
                json_pack("{s:s, s:i, s:I}", "target", c->nr->connect.text, "attempts",
                          (int)k->attempts, "ms", (json_int_t)ms));
    int r = lp_ka_resume(k->ka, lp_nr_now(c));
    if (r) {
        ka_finish(c,
                  r == -ECANCELED ? "the editor ended the session while the server was away"
                                  : "keep-alive could not replay the session",
                  0);
        return;
    }
    lp_pump_start(&ln->rd);
}

static void ka_link_tls_done(struct lp_tls *t, int status)
{
    struct ka_link *ln = lp_tls_data(t);
    if (!ln->c) return;
    struct lp_nr_conn *c = ln->c;
    if (status) {
        char e[300];
        snprintf(e, sizeof e, "TLS handshake failed: %s", lp_tls_error(t));
        ka_link_drop(c);
        ka_attempt_failed(c, 1, e);
        return;
    }
    lp_nr_tls_event(c, t, "server");
    ka_link_up(ln);
}

static void ka_connected(uv_connect_t *req, int status)
{
    struct ka_link *ln = req->data;
    if (!ln->c) return; /* abandoned (UV_ECANCELED) */
    struct lp_nr_conn *c = ln->c;
    if (status) {
        ka_link_drop(c);
        ka_attempt_failed(c, status, uv_strerror(status));
        return;
    }
    if (ln->tls) {
        int r = lp_tls_handshake(ln->tls, LP_NR_TLS_HANDSHAKE_MS, LP_NR_TLS_CONFIRM_MS,
                                 ka_link_tls_done, ln);
        if (r) {
            ka_link_drop(c);
            ka_attempt_failed(c, r, uv_strerror(r));
        }
        return;
    }
    ka_link_up(ln);
}

static void ka_attempt(uv_timer_t *t)
{
    struct lp_nr_conn *c = t->data;
    struct lp_nr_ka *k = c->ka;
    struct lp_nr *nr = c->nr;
    if (!k || *k->ending || k->link) return;
    k->attempts++;
    struct ka_link *ln = calloc(1, sizeof *ln);
    if (!ln) {
        ka_attempt_failed(c, UV_ENOMEM, uv_strerror(UV_ENOMEM));
        return;
    }
    ln->c = c;
    ln->creq.data = ln;
    k->link = ln;
    char e[600];
    int r = lp_nr_dial(nr, &ln->s, &ln->tls, &ln->creq, ka_connected, e, sizeof e);
    if (r) {
        /* An attempt's error is the cause alone, the target being said once
         * with it; a name that did not resolve says which name. */
        ka_link_drop(c);
        ka_attempt_failed(c, r, r == UV_EAI_NONAME ? e : uv_strerror(r));
    }
}
