/*
 * The gopls stand-in's supervisor (proxy/lp_revive.h): the handshake
 * supervision first, keep-alive after it. Until a loss is taken every
 * callback goes to lp_handshake_ops unchanged; from the first loss kept
 * alive on, the editor's bytes go to the engine (the relay's c2s filter),
 * each new server's output too (its s2c filter) until the engine says
 * bytes may pass through again, and the engine writes to the editor
 * through the current generation (lp_relay_forward feeds the session).
 */
#include "proxy/lp_revive.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "inspect/li_state.h"
#include "resume/lp_keepalive.h"

/* The server's stderr lines kept in the forensics of a crash loop. */
#define FORENSIC_LINES 40

struct lp_revive {
    const struct lp_config *cfg;
    const char *argv0;
    struct lp_handshake *hs;
    const struct lp_relay_result *res;
    struct li_session *sess;
    li_msg_fn next;
    void *next_ud;
    struct li_state *st;
    struct lp_ka *ka;
    struct lp_relay *r;
    int ended;          /* the session ends as without keep-alive: every end passes */
    int engaged;        /* keep-alive took a loss: the handshake supervision is behind */
    int took_out;       /* the current generation's stdout end was taken */
    int deciding;       /* a loss was taken; the relay must not end (HOLD_END) */
    int server_up;      /* the current generation was restarted and resumed */
    unsigned cur_seq;   /* the generation a loss is being decided for */
    uint64_t err_mark;  /* res->stderr_bytes when the current generation started */
    uint64_t lost_us;   /* when the server was lost, for the restart event */
    char drop_why[512]; /* the engine dropped the new server: why */
    uv_timer_t again;   /* the restart, outside the relay's callbacks */
};

static const struct lp_ka_cb ka_cb;

struct lp_revive *lp_revive_new(const struct lp_config *cfg, const char *argv0,
                                struct lp_handshake *hs, const struct lp_relay_result *res)
{
    struct lp_revive *v = calloc(1, sizeof *v);
    if (!v) return NULL;
    v->cfg = cfg;
    v->argv0 = argv0;
    v->hs = hs;
    v->res = res;
    v->st = li_state_new((size_t)cfg->keepalive_max);
    struct lp_ka_opts o = {(unsigned)cfg->restart_max, cfg->restart_window_s * 1000000, "restarted",
                           argv0};
    v->ka = v->st ? lp_ka_new(v->st, &o, &ka_cb, v) : NULL;
    if (!v->ka) {
        lp_revive_free(v);
        return NULL;
    }
    return v;
}

void lp_revive_chain(struct lp_revive *v, li_msg_fn next, void *next_ud)
{
    v->next = next;
    v->next_ud = next_ud;
}

void lp_revive_attach(struct lp_revive *v, struct li_session *sess)
{
    v->sess = sess;
}

void lp_revive_free(struct lp_revive *v)
{
    if (!v) return;
    lp_ka_free(v->ka);
    li_state_free(v->st);
    free(v);
}

void lp_revive_on_msg(void *ud, enum li_dir dir, const struct li_msg *m, const char *body,
                      size_t len, int64_t latency_us)
{
    struct lp_revive *v = ud;
    if (v->ka) lp_ka_on_msg(v->ka, dir, m, body, len, latency_us);
    if (v->next) v->next(v->next_ud, dir, m, body, len, latency_us);
}

/* ---- the server's stderr ---- */

/* The current generation's part of the relay's stderr tail: the tail keeps
 * the last bytes of every generation's stderr together. */
static const char *gen_stderr(const struct lp_revive *v)
{
    const char *t = v->res->stderr_tail;
    size_t have = strlen(t);
    uint64_t mine = v->res->stderr_bytes - v->err_mark;
    if (mine < have) t += have - mine;
    return t;
}

/* The first line of a Go panic ("panic: ..." or "fatal error: ...") in the
 * current generation's stderr, into out; 0 when there is none. */
static int panic_line(const struct lp_revive *v, char *out, size_t cap)
{
    const char *t = gen_stderr(v);
    for (const char *p = t; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        if ((n > 7 && !strncmp(p, "panic: ", 7)) || (n > 13 && !strncmp(p, "fatal error: ", 13))) {
            if (n > 300) n = 300;
            snprintf(out, cap, "%.*s", (int)n, p);
            return 1;
        }
        if (!nl) break;
        p = nl + 1;
    }
    return 0;
}

/* The current generation's last stderr lines, from a panic's first line
 * when there is one in them: a JSON array, and said on stderr. */
static json_t *stderr_forensics(struct lp_revive *v)
{
    const char *t = gen_stderr(v);
    const char *lines[FORENSIC_LINES];
    size_t lens[FORENSIC_LINES], n = 0;
    int from_panic = 0;
    for (const char *p = t; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (!from_panic && (!strncmp(p, "panic: ", 7) || !strncmp(p, "fatal error: ", 13))) {
            n = 0; /* the panic starts what is kept */
            from_panic = 1;
        }
        if (n == FORENSIC_LINES) { /* the panic's first lines, or the last lines */
            if (from_panic) break;
            memmove(lines, lines + 1, sizeof lines[0] * (FORENSIC_LINES - 1));
            memmove(lens, lens + 1, sizeof lens[0] * (FORENSIC_LINES - 1));
            n--;
        }
        lines[n] = p;
        lens[n++] = len;
        if (!nl) break;
        p = nl + 1;
    }
    json_t *a = json_array();
    if (!n) return a;
    lp_relay_say(v->r, "lsptap: %s's last stderr lines:\n", v->argv0);
    for (size_t i = 0; i < n; i++) {
        char line[600];
        size_t len = lens[i] > 500 ? 500 : lens[i];
        snprintf(line, sizeof line, "%.*s", (int)len, lines[i]);
        json_array_append_new(a, json_string(line));
        lp_relay_say(v->r, "lsptap:   %s\n", line);
    }
    return a;
}

/* ---- the engine's callbacks ---- */

static void ka_to_server(void *ud, const char *d, size_t n)
{
    struct lp_revive *v = ud;
    if (v->server_up) lp_relay_to_server(v->r, d, n);
}

static void ka_to_editor(void *ud, const char *d, size_t n)
{
    struct lp_revive *v = ud;
    lp_relay_forward(lp_relay_current(v->r), d, n); /* feeds the session as s2c too */
}

static void ka_to_editor_frame(void *ud, const char *frame, size_t len, size_t hdr,
                               const struct li_msg *m)
{
    struct lp_revive *v = ud;
    lp_relay_forward_msg(lp_relay_current(v->r), frame, len, hdr, m);
}

static void ka_event(void *ud, enum li_event ev, json_t *f)
{
    struct lp_revive *v = ud;
    if (ev == LI_EV_CRASH_LOOP) {
        if (!f) f = json_object();
        json_object_set_new(f, "stderr", stderr_forensics(v));
    }
    lp_relay_event(v->r, ev, f);
}

static void ka_say(void *ud, const char *line)
{
    struct lp_revive *v = ud;
    lp_relay_say(v->r, "%s", line);
}

/* The new server failed the resume: it is killed, and its end is the next
 * loss (on_server_end), never a resume from inside this call. */
static void ka_drop(void *ud, const char *why)
{
    struct lp_revive *v = ud;
    snprintf(v->drop_why, sizeof v->drop_why, "%s", why);
    v->server_up = 0;
    lp_relay_kill_group(lp_relay_current(v->r));
}

static const struct lp_ka_cb ka_cb = {ka_to_server, ka_to_editor, ka_event,
                                      ka_say,       ka_drop,      ka_to_editor_frame};

/* ---- losses ---- */

/* The editor finished the handshake (initialize, initialized) and has not
 * said shutdown: before it, a loss is the handshake supervision's, and
 * after shutdown the server is expected to go; either way keep-alive
 * stays silent. An untrackable session still goes to lp_ka_lost, which
 * says why keep-alive cannot act. */
static int handshake_over(const struct lp_revive *v)
{
    struct li_state_info in;
    li_state_info(v->st, &in);
    return in.untrackable || (in.have_initialize && in.initialized && !in.shutdown);
}

/* The session ends as it would have without keep-alive. */
static void end_session(struct lp_revive *v)
{
    v->ended = 1;
    v->deciding = 0;
    v->server_up = 0;
    uv_timer_stop(&v->again);
    lp_relay_release(v->r);
}

static void restart_now(uv_timer_t *t)
{
    struct lp_revive *v = t->data;
    if (!v->deciding) return;
    if (lp_relay_editor_left(v->r) || !handshake_over(v)) {
        end_session(v); /* the editor left or said shutdown/exit: no new gopls for it */
        return;
    }
    int rc = lp_relay_restart(v->r, lp_handshake_env(v->hs));
    if (rc) {
        char why[300];
        snprintf(why, sizeof why, "%s could not be started again: %s", v->argv0, uv_strerror(rc));
        lp_ka_give_up(v->ka, why);
        end_session(v);
        return;
    }
    struct lp_relay_gen_info gi;
    lp_relay_gen_info(lp_relay_current(v->r), &gi);
    v->cur_seq = gi.seq;
    v->err_mark = v->res->stderr_bytes;
    v->took_out = 0;
    v->deciding = 0;
    v->server_up = 1;
    v->drop_why[0] = '\0';
    lp_relay_event(v->r, LI_EV_RESTART,
                   json_pack("{s:i, s:s, s:I}", "pid", gi.pid, "path", v->argv0, "ms",
                             (json_int_t)((lp_relay_now_us(v->r) - v->lost_us) / 1000)));
    rc = lp_ka_resume(v->ka, lp_relay_now_us(v->r));
    if (rc) {
        /* The editor ended the session meanwhile, or the tracker gave up:
         * the new server goes, and its end is the session's. */
        v->server_up = 0;
        lp_relay_kill_group(lp_relay_current(v->r));
    }
}

/* What happened to generation g, for the user. */
static void loss_why(struct lp_revive *v, struct lp_relay_gen *g, char *why, size_t cap)
{
    struct lp_relay_gen_info gi;
    lp_relay_gen_info(g, &gi);
    char panic[320];
    if (*v->drop_why)
        snprintf(why, cap, "the restarted %s failed: %s", v->argv0, v->drop_why);
    else if (panic_line(v, panic, sizeof panic))
        snprintf(why, cap, "%s crashed (%s)", v->argv0, panic);
    else if (!gi.exited)
        snprintf(why, cap, "%s closed its output", v->argv0);
    else if (gi.term_signal)
        snprintf(why, cap, "%s was killed by signal %d (%s)", v->argv0, gi.term_signal,
                 strsignal(gi.term_signal));
    else
        snprintf(why, cap, "%s exited with status %d", v->argv0, gi.exit_status);
}

/* The current server is lost: keep the session (restart soon) or end it. */
static void lost(struct lp_revive *v, struct lp_relay_gen *g)
{
    char why[800];
    if (lp_relay_editor_left(v->r) || !handshake_over(v)) {
        end_session(v); /* the editor left, or said shutdown, meanwhile */
        return;
    }
    loss_why(v, g, why, sizeof why);
    v->server_up = 0;
    int at_boundary = !v->sess || li_session_at_boundary(v->sess, LI_S2C);
    int rc = lp_ka_lost(v->ka, lp_relay_now_us(v->r), at_boundary, why);
    if (rc) {
        end_session(v);
        return;
    }
    if (!v->engaged) {
        v->engaged = 1;
        lp_relay_filter_c2s(v->r); /* the editor's bytes go to the engine from now on */
    }
    v->deciding = 1;
    v->lost_us = lp_relay_now_us(v->r);
    uv_timer_start(&v->again, restart_now, 0, 0);
}

/* ---- the hook ---- */

static void rv_start(void *ctx, struct lp_relay *r)
{
    struct lp_revive *v = ctx;
    v->r = r;
    uv_timer_init(lp_relay_loop(r), &v->again);
    v->again.data = v;
    lp_handshake_ops.start(v->hs, r);
}

static void rv_stop(void *ctx)
{
    struct lp_revive *v = ctx;
    lp_handshake_ops.stop(v->hs);
    v->r = NULL;
}

static void rv_on_c2s(void *ctx, const char *data, size_t len, size_t hdr, const struct li_msg *m)
{
    struct lp_revive *v = ctx;
    lp_handshake_ops.on_c2s(v->hs, data, len, hdr, m);
}

static void rv_c2s_filter(void *ctx, const char *data, size_t len, size_t hdr,
                          const struct li_msg *m)
{
    struct lp_revive *v = ctx;
    if (v->engaged)
        lp_ka_editor_piece(v->ka, data, len, hdr, m);
    else
        lp_handshake_ops.c2s_filter(v->hs, data, len, hdr, m);
}

static void rv_on_c2s_end(void *ctx)
{
    struct lp_revive *v = ctx;
    if (!v->engaged) {
        if (lp_handshake_ops.on_c2s_end) lp_handshake_ops.on_c2s_end(v->hs);
        return;
    }
    /* The editor left while no server runs: nothing is left to keep. With
     * a server, its stdin is shut next and its end is the session's. */
    if (v->deciding) end_session(v);
}

static void rv_s2c_filter(void *ctx, struct lp_relay_gen *g, const char *data, size_t len)
{
    struct lp_revive *v = ctx;
    if (!v->engaged) {
        lp_handshake_ops.s2c_filter(v->hs, g, data, len);
        return;
    }
    struct lp_relay_gen_info gi;
    lp_relay_gen_info(g, &gi);
    if (gi.seq != v->cur_seq || !v->server_up) return; /* a lost server's last words */
    lp_ka_server(v->ka, data, len, lp_relay_now_us(v->r));
    if (v->server_up && lp_ka_passthrough(v->ka)) lp_relay_gen_raw(g);
}

static void rv_on_s2c_end(void *ctx, struct lp_relay_gen *g)
{
    struct lp_revive *v = ctx;
    /* After a loss the engine frames the new servers' output; a frame one
     * of them cut short is not passed on (the editor's stream stays whole). */
    if (!v->engaged) lp_handshake_ops.on_s2c_end(v->hs, g);
}

/* The server's end is the session's, as without keep-alive. When an earlier
 * end of this generation (its stdout) was taken, the relay only finishes
 * once it is given back. */
static enum lp_relay_verdict pass_on(struct lp_revive *v)
{
    if (v->took_out || v->engaged) {
        end_session(v);
        return LP_RELAY_TAKEN;
    }
    v->ended = 1;
    return LP_RELAY_PASS;
}

static enum lp_relay_verdict rv_on_server_end(void *ctx, struct lp_relay_gen *g,
                                              enum lp_relay_end what)
{
    struct lp_revive *v = ctx;
    if (v->ended) return LP_RELAY_PASS;
    if (!v->engaged && lp_handshake_ops.on_server_end(v->hs, g, what) == LP_RELAY_TAKEN)
        return LP_RELAY_TAKEN;
    if ((!v->engaged && lp_handshake_gave_up(v->hs)) || lp_relay_editor_left(v->r) ||
        !handshake_over(v))
        return pass_on(v);
    struct lp_relay_gen_info gi;
    lp_relay_gen_info(g, &gi);
    if (!v->engaged) v->cur_seq = gi.seq;
    if (v->deciding) return LP_RELAY_TAKEN; /* the loss is being dealt with */
    /* A stdout's end comes once the exit status is known, or did not come
     * in time (the relay waits for it): a loss either way. */
    if (what == LP_RELAY_OUT_CLOSED && !gi.exited) v->took_out = 1;
    lost(v, g);
    return LP_RELAY_TAKEN;
}

static unsigned rv_holds(void *ctx)
{
    const struct lp_revive *v = ctx;
    unsigned h = v->engaged ? 0u : lp_handshake_ops.holds(v->hs);
    return h | (v->deciding ? LP_RELAY_HOLD_END : 0u);
}

const struct lp_relay_super_ops lp_revive_ops = {
    .start = rv_start,
    .on_c2s = rv_on_c2s,
    .c2s_filter = rv_c2s_filter,
    .on_c2s_end = rv_on_c2s_end,
    .s2c_filter = rv_s2c_filter,
    .on_s2c_end = rv_on_s2c_end,
    .on_server_end = rv_on_server_end,
    .holds = rv_holds,
    .stop = rv_stop,
};
