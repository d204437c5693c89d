#include "proxy/lp_relay.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "framing/lf.h"
#include "io/lp_pump.h"
#include "io/lp_server.h"
#include "io/lp_stdio.h"
#include "proxy/lp_netwatch.h"
#include "proxy/lp_relay_int.h"
#include "proxy/lp_server_event.h"

/* Generation slots: the current server and retired ones whose handles are
 * still closing. A retired slot is reused once nothing points into it
 * (gen_reusable), so a supervisor may restart the server any number of
 * times; more than this many at once only when servers are replaced faster
 * than a loop iteration closes the old one's pipes. */
#define GEN_SLOTS 4

/* A server that dies closes its stdout a moment before its exit status
 * arrives: how long the end of its stdout waits for the status before the
 * supervisor is asked about it (out_closed). */
#define EOF_WAIT_MS 300

/* One server process and its two output directions. The process's own
 * state (pid, running, exited, exit status, signal) is read from proc, its
 * one source: the generation keeps only what lp_server does not know. */
struct lp_relay_gen {
    struct lp_relay *r;
    unsigned seq;          /* start order: 0 is the session's first server */
    int used;              /* the slot holds a generation (live or still closing) */
    struct lp_server proc; /* a group leader in our session (io/lp_child.h says why) */
    uv_pipe_t in, out, err;
    struct lp_pump s2c, errp;
    /* Closed last of the generation's handles, once it is retired and
     * reaped: its close callback (closed = 1) means every other handle's
     * close callback ran too (libuv runs one iteration's together). */
    uv_timer_t closer;
    int closed;
    int retired; /* replaced by a later generation (lp_relay_restart) */
};

struct lp_relay {
    const struct lp_relay_opts *o;
    struct lp_relay_result *res;
    const struct lp_relay_super_ops *so; /* NULL: no supervisor */
    void *sctx;
    uv_loop_t *loop;
    uv_pipe_t ed_in, ed_out, ed_err;
    struct lp_pump c2s;
    struct lp_relay_gen gen[GEN_SLOTS];
    struct lp_relay_gen *cur;
    unsigned next_seq;
    uint64_t s2c_read, s2c_written; /* of generations whose slot was reused */
    uv_signal_t sig[LP_SERVER_NSIGNALS];
    struct lp_bridge in_bridge, out_bridge, err_bridge;
    struct lp_relay_stderr err_lines; /* lsptap's lines between the server's */
    int grace_started;                /* the editor's input ended: each server's grace time runs */
    int finishing;
    size_t tail_len; /* ring position in res->stderr_tail */
    /* The current generation's stdout ended and its supervisor has not been
     * told: it is told after the exit, or when eof_wait fires. */
    int out_held;
    uv_timer_t eof_wait;
    /* The editor's stream framed once, while a supervisor watches or
     * filters it: pieces go to the inspector and then to the supervisor. */
    struct lp_relay_c2s c2s_frames;
    /* lsptap's own messages for the editor waiting for the end of the
     * frame the server is in the middle of (lp_relay_show). */
    char *show_wait;
    size_t show_wait_len;
};

static void maybe_finish(struct lp_relay *r);
static void finish_output(struct lp_relay *r, struct lp_relay_gen *g);
static void out_closed(struct lp_relay *r, struct lp_relay_gen *g);
static int unhold_output(struct lp_relay *r);
static void eof_waited(uv_timer_t *t);
static void gen_retire_done(struct lp_relay_gen *g);
static void c2s_end(struct lp_relay *r);
static enum lp_relay_verdict ask_super(struct lp_relay *r, struct lp_relay_gen *g,
                                       enum lp_relay_end what);

static unsigned holds(const struct lp_relay *r)
{
    return r->so && r->so->holds ? r->so->holds(r->sctx) : 0;
}

uint64_t lp_relay_now_us(const struct lp_relay *r)
{
    return (uv_hrtime() - r->o->hr_start) / 1000;
}

uv_loop_t *lp_relay_loop(struct lp_relay *r)
{
    return r->loop;
}

struct lp_relay_gen *lp_relay_current(struct lp_relay *r)
{
    return r->cur;
}

void lp_relay_gen_info(const struct lp_relay_gen *g, struct lp_relay_gen_info *out)
{
    *out = (struct lp_relay_gen_info){
        .seq = g->seq,
        .pid = g->proc.child.pid,
        .running = g->proc.running,
        .exited = g->proc.exited,
        .exit_status = (int)g->proc.exit_status,
        .term_signal = g->proc.term_signal,
        .out_eof = g->s2c.src_eof && !(g == g->r->cur && g->r->out_held),
        .err_eof = g->errp.src_eof,
        .retired = g->retired,
    };
}

int lp_relay_editor_left(const struct lp_relay *r)
{
    return r->c2s.src_eof || r->res->editor_gone || r->finishing;
}

static void show_flush(struct lp_relay *r);

/* lsptap's own line on stderr, through the same stream as the server's
 * stderr (lp_relay_stderr.c). */
void lp_relay_say(struct lp_relay *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    lp_relay_stderr_say(&r->err_lines, fmt, ap);
    va_end(ap);
}

void lp_relay_event(struct lp_relay *r, enum li_event ev, json_t *fields)
{
    li_session_event(r->o->sess, lp_relay_now_us(r), ev, fields);
    json_decref(fields);
}

/* ---- the server's lifecycle (io/lp_server.h) ---- */

/* SIGKILL to the generation's process group: nothing may outlive the
 * session (docs/design.md principle 4). */
void lp_relay_kill_group(struct lp_relay_gen *g)
{
    lp_server_kill_group(&g->proc, SIGKILL);
}

/* The editor's input ended: the current server's grace time starts (and a
 * server started after this, by a restart, gets its own). */
static void start_grace(struct lp_relay *r)
{
    r->grace_started = 1;
    lp_server_input_closed(&lp_relay_current(r)->proc);
}

static void terminating(struct lp_relay *r, const struct lp_server_event *ev)
{
    if (ev->signal == SIGTERM)
        lp_relay_say(r,
                     "lsptap: %s did not exit %llu ms after the editor closed its input; "
                     "sending SIGTERM.\n",
                     r->o->argv[0], (unsigned long long)ev->after_ms);
    else
        lp_relay_say(r, "lsptap: %s ignored SIGTERM for %llu ms; sending SIGKILL.\n", r->o->argv[0],
                     (unsigned long long)ev->after_ms);
    enum li_event name;
    json_t *f = lp_server_event_fields(ev, &name);
    lp_relay_event(r, name, f);
}

static void drain_over(struct lp_relay *r, struct lp_relay_gen *g, const struct lp_server_event *ev)
{
    struct lp_pump *out = &g->s2c, *err = &g->errp;
    if (out->src_eof && err->src_eof) return;
    if ((out->paused && !out->src_eof) || (err->paused && !err->src_eof)) {
        /* lsptap stopped reading because the editor is behind: the EOF is
         * still in the pipe, behind data the editor will want. */
        lp_server_drain(&g->proc);
        return;
    }
    lp_relay_say(r,
                 "lsptap: %s exited but its %s still open %d ms later (a process it started "
                 "holds %s); finishing without waiting.\n",
                 r->o->argv[0],
                 !out->src_eof && !err->src_eof ? "stdout and stderr are"
                                                : (!out->src_eof ? "stdout is" : "stderr is"),
                 LP_SERVER_DRAIN_MS, !out->src_eof && !err->src_eof ? "them" : "it");
    lp_relay_say(r, "lsptap: killing what is left of %s's process group.\n", r->o->argv[0]);
    enum li_event name;
    json_t *f = lp_server_event_fields(ev, &name);
    lp_relay_event(r, name, f);
    lp_relay_kill_group(g);
    if (!err->src_eof) lp_pump_stop_src(err);
    if (!out->src_eof) {
        lp_pump_stop_src(out);
        finish_output(r, g);
        li_session_eof(r->o->sess, LI_S2C, lp_relay_now_us(r));
    }
    maybe_finish(r);
}

static void child_exited(struct lp_relay_gen *g, const struct lp_server_event *ev)
{
    struct lp_relay *r = g->r;
    int64_t status = ev->status;
    int term_signal = ev->signal;
    enum li_event name;
    json_t *f = lp_server_event_fields(ev, &name);
    if (g->retired) {
        json_object_set_new(f, "retired", json_true());
        lp_relay_event(r, name, f);
        gen_retire_done(g);
        maybe_finish(r);
        return;
    }
    r->res->exited = 1;
    r->res->exit_status = (int)status;
    r->res->term_signal = term_signal;
    lp_relay_event(r, name, f);
    /* The exit is the judged end: asked first (the stdout's end still held,
     * so it looks as when the exit comes first), then the stdout's end,
     * unless a restart or a release made it moot meanwhile. */
    uv_timer_stop(&r->eof_wait);
    int passed = ask_super(r, g, LP_RELAY_EXITED) != LP_RELAY_TAKEN;
    if (passed && (!g->s2c.src_eof || !g->errp.src_eof)) lp_server_drain(&g->proc);
    if (unhold_output(r)) out_closed(r, g);
    /* After the stdout's end: ending the editor's stdout may be all that
     * was left (a dead editor's is done at once, with no progress to come). */
    if (passed) maybe_finish(r);
}

static void server_event(struct lp_server *s, const struct lp_server_event *ev)
{
    struct lp_relay_gen *g = s->data;
    switch (ev->type) {
    case LP_SERVER_EXIT:
        child_exited(g, ev);
        break;
    case LP_SERVER_TERMINATE:
        terminating(g->r, ev);
        break;
    case LP_SERVER_DRAIN:
        drain_over(g->r, g, ev);
        break;
    }
}

/* The server's stderr: its tail kept for the result, then forwarded as
 * read with lsptap's waiting lines after its last complete line. */
static void err_filter(struct lp_pump *p, const char *data, size_t len)
{
    struct lp_relay *r = p->data;
    r->res->stderr_bytes += len;
    lp_tail_keep(r->res->stderr_tail, sizeof r->res->stderr_tail - 1, &r->tail_len, data, len);
    r->res->stderr_tail[r->tail_len] = '\0';
    lp_relay_stderr_server(&r->err_lines, p, data, len);
}

/* lp_relay_stderr's questions and news (struct lp_relay_stderr). */
static int err_held(void *ud)
{
    struct lp_relay *r = ud;
    const struct lp_pump *err = &r->cur->errp;
    return err->paused && !err->src_eof;
}

static void err_written(void *ud)
{
    maybe_finish(ud);
}

static void close_walk(uv_handle_t *h, void *arg);

static void signal_cb(uv_signal_t *s, int signum)
{
    struct lp_relay *r = s->data;
    if (lp_relay_current(r)->proc.running) {
        lp_relay_event(r, LI_EV_SIGNAL,
                       json_pack("{s:i, s:s}", "signal", signum, "action", "passed on"));
        /* A SIGTERM passed on is followed by SIGKILL after kill_ms if the
         * server ignores it (lp_server_signal). */
        lp_server_signal(&lp_relay_current(r)->proc, signum);
        return;
    }
    /* The server is gone and something still holds the relay open (an
     * editor that stopped reading): the signal ends lsptap. */
    lp_relay_event(r, LI_EV_SIGNAL,
                   json_pack("{s:i, s:s}", "signal", signum, "action", "ended lsptap"));
    r->finishing = 1;
    uv_walk(r->loop, close_walk, NULL);
}

/* ---- pumps ---- */

static struct lp_relay_gen *gen_of(struct lp_relay *r, const struct lp_pump *p)
{
    for (int i = 0; i < GEN_SLOTS; i++)
        if (p == &r->gen[i].s2c || p == &r->gen[i].errp) return &r->gen[i];
    return NULL;
}

static void editor_went_away(struct lp_relay *r, int err)
{
    if (r->res->editor_gone) return;
    r->res->editor_gone = 1;
    if (r->out_bridge.err) /* a file: its own error, not the pipe's */
        lp_relay_say(r, "lsptap: writing to the editor failed (%s); closing %s's input.\n",
                     strerror(r->out_bridge.err), r->o->argv[0]);
    else
        lp_relay_say(r, "lsptap: the editor stopped reading (%s); closing %s's input.\n",
                     uv_strerror(err), r->o->argv[0]);
    if (r->out_bridge.err) err = -r->out_bridge.err;
    lp_relay_event(r, LI_EV_EDITOR_GONE, json_pack("{s:s}", "error", uv_strerror(err)));
    lp_pump_shutdown_dst(&r->c2s);
    start_grace(r);
}

static void on_bytes(struct lp_pump *p, const char *data, size_t len)
{
    struct lp_relay *r = p->data;
    if (p == &r->c2s) {
        lp_relay_c2s_bytes(&r->c2s_frames, data, len);
        return;
    }
    /* The server's stdout; its stderr always goes through err_filter. */
    li_session_feed(r->o->sess, LI_S2C, data, len, lp_relay_now_us(r));
    if (r->show_wait_len) show_flush(r);
}

static void on_dst_error(struct lp_pump *p, int status)
{
    struct lp_relay *r = p->data;
    if (p == &r->c2s) {
        if (lp_relay_current(r)->proc.running)
            lp_relay_say(r, "lsptap: writing to %s failed (%s); its input is lost from here.\n",
                         r->o->argv[0], uv_strerror(status));
        return;
    }
    struct lp_relay_gen *g = gen_of(r, p);
    if (p == &g->s2c) editor_went_away(r, status);
}

/* g's stdout ended and its supervisor is told now: unless it takes the
 * end, the editor's stdout ends after it. */
static void out_closed(struct lp_relay *r, struct lp_relay_gen *g)
{
    if (ask_super(r, g, LP_RELAY_OUT_CLOSED) == LP_RELAY_TAKEN) return;
    finish_output(r, g); /* a frame the supervisor held, cut short, reaches the inspector first */
    li_session_eof(r->o->sess, LI_S2C, lp_relay_now_us(r));
}

/* A held stdout end is no longer held (the exit came, a restart or the
 * supervisor's release made it moot). Returns 1 when one was held. */
static int unhold_output(struct lp_relay *r)
{
    int held = r->out_held;
    r->out_held = 0;
    if (held) uv_timer_stop(&r->eof_wait);
    return held;
}

/* No exit status within EOF_WAIT_MS: the stdout's end is told alone. */
static void eof_waited(uv_timer_t *t)
{
    struct lp_relay *r = t->data;
    if (unhold_output(r)) out_closed(r, r->cur);
}

/* The editor's stdout gets EOF once the current server's stdout has ended
 * and no other server can follow. */
static void finish_output(struct lp_relay *r, struct lp_relay_gen *g)
{
    if (g->retired || (holds(r) & LP_RELAY_HOLD_OUTPUT) || !g->s2c.src_eof) return;
    if (g->s2c.filter) {
        assert(r->so);        /* only a supervisor filters */
        g->s2c.filter = NULL; /* what the supervisor holds is a cut-short frame: pass it on */
        if (r->so->on_s2c_end) r->so->on_s2c_end(r->sctx, g);
    }
    lp_pump_shutdown_dst(&g->s2c);
}

static void on_src_end(struct lp_pump *p, int status)
{
    struct lp_relay *r = p->data;
    if (p == &r->c2s) {
        lp_relay_c2s_input_end(&r->c2s_frames);
        li_session_eof(r->o->sess, LI_C2S, lp_relay_now_us(r));
        lp_relay_event(r, LI_EV_EDITOR_EOF,
                       status == UV_EOF ? NULL : json_pack("{s:s}", "error", uv_strerror(status)));
        start_grace(r);
        c2s_end(r); /* what the supervisor holds goes out before EOF */
        lp_pump_shutdown_dst(p);
        return;
    }
    struct lp_relay_gen *g = gen_of(r, p);
    if (g->retired) return;
    if (status != UV_EOF)
        lp_relay_say(r, "lsptap: reading %s's %s failed: %s\n", r->o->argv[0],
                     p == &g->s2c ? "stdout" : "stderr", uv_strerror(status));
    if (p != &g->s2c) { /* our stderr stays open for lsptap's own lines */
        lp_relay_stderr_server_end(&r->err_lines);
        return;
    }
    if (r->so && r->so->on_server_end && !g->proc.exited) {
        r->out_held = 1; /* until the exit status is known, briefly */
        uv_timer_start(&r->eof_wait, eof_waited, EOF_WAIT_MS, 0);
        return;
    }
    out_closed(r, g);
}

static void on_progress(struct lp_pump *p)
{
    maybe_finish(p->data);
}

static const struct lp_pump_cb pump_cb = {
    .on_bytes = on_bytes,
    .on_src_end = on_src_end,
    .on_dst_error = on_dst_error,
    .on_progress = on_progress,
};

/* ---- the server's output, message by message ---- */

/* lsptap's waiting messages go out once the editor's stream is between
 * frames again; never after its end. */
static void show_flush(struct lp_relay *r)
{
    struct lp_relay_gen *g = lp_relay_current(r);
    if (!r->show_wait_len || !li_session_at_boundary(r->o->sess, LI_S2C)) return;
    char *w = r->show_wait;
    size_t n = r->show_wait_len;
    r->show_wait = NULL;
    r->show_wait_len = 0;
    if (!g->s2c.dst_shut && !g->s2c.dst_done) {
        lp_pump_write(&g->s2c, w, n);
        li_session_feed(r->o->sess, LI_S2C, w, n, lp_relay_now_us(r));
    }
    free(w);
}

void lp_relay_show(struct lp_relay *r, int type, const char *text)
{
    json_t *m = json_pack("{s:s, s:s, s:{s:i, s:s}}", "jsonrpc", "2.0", "method",
                          "window/showMessage", "params", "type", type, "message", text);
    char *body = m ? json_dumps(m, JSON_COMPACT) : NULL;
    json_decref(m);
    if (!body) return;
    size_t blen = strlen(body);
    char hdr[LF_HEADER_MAX_OUT];
    size_t hlen = lf_write_header(hdr, sizeof hdr, blen);
    char *nw = realloc(r->show_wait, r->show_wait_len + hlen + blen);
    if (nw) {
        r->show_wait = nw;
        memcpy(nw + r->show_wait_len, hdr, hlen);
        memcpy(nw + r->show_wait_len + hlen, body, blen);
        r->show_wait_len += hlen + blen;
    }
    free(body);
    show_flush(r);
}

void lp_relay_forward(struct lp_relay_gen *g, const char *data, size_t len)
{
    struct lp_relay *r = g->r;
    lp_pump_write(&g->s2c, data, len);
    li_session_feed(r->o->sess, LI_S2C, data, len, lp_relay_now_us(r));
    show_flush(r);
}

void lp_relay_forward_msg(struct lp_relay_gen *g, const char *frame, size_t len, size_t hdr,
                          const struct li_msg *m)
{
    struct lp_relay *r = g->r;
    lp_pump_write(&g->s2c, frame, len);
    li_session_feed_frame(r->o->sess, LI_S2C, frame, len, hdr, lp_relay_now_us(r), m);
    show_flush(r);
}

/* ---- the end ---- */

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (h->type == UV_ASYNC) lp_relay_stderr_detach(); /* no more lines from other threads */
    lp_close_once(h);
}

static void maybe_finish(struct lp_relay *r)
{
    struct lp_relay_gen *g = lp_relay_current(r);
    if (r->finishing || g->proc.running || !g->proc.exited) return;
    if (holds(r) & LP_RELAY_HOLD_END) return;
    if (!g->s2c.src_eof || !g->errp.src_eof) return;
    if (g->s2c.writes || g->errp.writes || r->err_lines.writes || !g->s2c.dst_done) return;
    for (int i = 0; i < GEN_SLOTS; i++)
        if (r->gen[i].used && r->gen[i].retired && (r->gen[i].proc.running || r->gen[i].s2c.writes))
            return;
    r->finishing = 1;
    /* The editor's input no longer matters: nobody is left to read it. */
    uv_walk(r->loop, close_walk, NULL);
}

/* ---- setup ---- */

static json_t *argv_json(char **argv)
{
    json_t *a = json_array();
    for (char **v = argv; *v; v++)
        json_array_append_new(a, json_string(*v));
    return a;
}

int lp_relay_exit_code(const struct lp_relay_result *r)
{
    if (r->spawn_error) return 127;
    if (r->term_signal) return 128 + r->term_signal;
    return r->exit_status;
}

/* A socketpair for each of the server's standard streams (lp_server_stdio);
 * lsptap's ends become g->in, g->out and g->err (initialised by the
 * caller). child[] gets the server's ends, -1 where there is none. */
static int server_fds(struct lp_relay_gen *g, int child[3])
{
    uv_pipe_t *mine[3] = {&g->in, &g->out, &g->err};
    int rc = 0;
    for (int i = 0; i < 3; i++)
        child[i] = -1;
    for (int i = 0; i < 3 && !rc; i++)
        rc = lp_server_stdio(mine[i], &child[i]);
    return rc;
}

static void gen_closed(uv_handle_t *h)
{
    struct lp_relay_gen *g = h->data;
    g->closed = 1;
}

/* A retired generation that was reaped has every handle closing (its stdin
 * at retirement, its stdout and stderr when their pumps stopped, its
 * SIGCHLD watcher at the exit): the closer goes last. */
static void gen_retire_done(struct lp_relay_gen *g)
{
    if (!g->retired || g->proc.running || uv_is_closing((uv_handle_t *)&g->closer)) return;
    lp_server_close(&g->proc, NULL);
    uv_close((uv_handle_t *)&g->closer, gen_closed);
}

/* A slot nothing points into any more: never used, or retired with its
 * handles closed and its writes to the editor done. */
static int gen_reusable(const struct lp_relay_gen *g)
{
    return !g->used || (g->closed && !g->s2c.writes && !g->errp.writes);
}

static void s2c_filter(struct lp_pump *p, const char *data, size_t len)
{
    struct lp_relay *r = p->data;
    struct lp_relay_gen *g = gen_of(r, p);
    if (!g->retired) r->so->s2c_filter(r->sctx, g, data, len);
}

/* Starts a server generation with `env` (NULL: ours) in a free slot and
 * starts its pumps once the editor's streams are open. Returns 0 and the
 * generation in *out, or a negative errno (the spawn_failed event is
 * written, the slot's handles are closing). */
static int spawn_gen(struct lp_relay *r, char **env, struct lp_relay_gen **out)
{
    const struct lp_relay_opts *o = r->o;
    struct lp_relay_gen *g = NULL;
    for (int i = 0; i < GEN_SLOTS && !g; i++)
        if (gen_reusable(&r->gen[i])) g = &r->gen[i];
    if (!g) return UV_EBUSY; /* GEN_SLOTS servers replaced within one loop iteration */
    r->s2c_read += g->s2c.read;
    r->s2c_written += g->s2c.written;
    memset(g, 0, sizeof *g);
    g->r = r;
    g->used = 1;
    g->seq = r->next_seq;
    int rc, child[3] = {-1, -1, -1};
    uv_timer_init(r->loop, &g->closer);
    g->closer.data = g;
    if (!(rc = uv_pipe_init(r->loop, &g->in, 0)) && !(rc = uv_pipe_init(r->loop, &g->out, 0)) &&
        !(rc = uv_pipe_init(r->loop, &g->err, 0))) {
        g->proc.data = g;
        rc = server_fds(g, child);
    }
    if (!rc) {
        struct lp_server_opts so = {
            .child = {.file = o->argv[0],
                      .args = o->argv,
                      .env = env,
                      .cwd = o->cwd,
                      .fd = {child[0], child[1], child[2]}},
            .grace_ms = o->cfg->grace_ms,
            .kill_ms = o->cfg->kill_ms,
            .drain_ms = LP_SERVER_DRAIN_MS,
            .cb = server_event,
        };
        rc = lp_server_spawn(r->loop, &g->proc, &so);
    }
    for (int i = 0; i < 3; i++)
        if (child[i] >= 0) close(child[i]); /* the server has its copies */
    if (rc) {
        lp_relay_event(r, LI_EV_SPAWN_FAILED,
                       json_pack("{s:s, s:o, s:s}", "path", o->argv[0], "argv", argv_json(o->argv),
                                 "error", uv_strerror(rc)));
        uv_handle_t *h[3] = {(uv_handle_t *)&g->in, (uv_handle_t *)&g->out, (uv_handle_t *)&g->err};
        for (int i = 0; i < 3; i++)
            if (h[i]->loop) lp_close_once(h[i]);
        g->retired = 1;
        gen_retire_done(g);
        return rc;
    }
    r->next_seq++;
    if (r->grace_started) lp_server_input_closed(&g->proc); /* the editor's input ended */
    json_t *f = json_pack("{s:i, s:s, s:o}", "pid", g->proc.child.pid, "path", o->argv[0], "argv",
                          argv_json(o->argv));
    if (g->seq) json_object_set_new(f, "restart", json_true());
    lp_relay_event(r, LI_EV_SPAWN, f);
    size_t hi = o->cfg->high_mark, lo = o->cfg->low_mark;
    lp_pump_init(&g->s2c, (uv_stream_t *)&g->out, (uv_stream_t *)&r->ed_out, hi, lo, &pump_cb, r);
    lp_pump_init(&g->errp, (uv_stream_t *)&g->err, (uv_stream_t *)&r->ed_err, hi, lo, &pump_cb, r);
    g->errp.keep_dst_open = 1; /* our stderr outlives the server's, for lsptap's own lines */
    g->errp.filter = err_filter;
    if (r->so && r->so->s2c_filter) g->s2c.filter = s2c_filter;
    if (r->ed_out.loop) {
        lp_pump_start(&g->s2c);
        lp_pump_start(&g->errp);
    }
    *out = g;
    return 0;
}

/* ---- the supervisor's services ---- */

static enum lp_relay_verdict ask_super(struct lp_relay *r, struct lp_relay_gen *g,
                                       enum lp_relay_end what)
{
    return r->so && r->so->on_server_end ? r->so->on_server_end(r->sctx, g, what) : LP_RELAY_PASS;
}

/* ---- the editor's stream, framed once for a supervisor (lp_relay_c2s.c) ---- */

static void c2s_filter(struct lp_pump *p, const char *data, size_t len)
{
    struct lp_relay *r = p->data;
    lp_relay_c2s_bytes(&r->c2s_frames, data, len);
}

/* The editor's input ended: while filtered, what the supervisor holds goes
 * out before EOF. c2s_frames.filtering is the state; the pump's filter is
 * only how the relay stops forwarding, and the pump reads nothing more. */
static void c2s_end(struct lp_relay *r)
{
    r->c2s.filter = NULL;
    lp_relay_c2s_end(&r->c2s_frames);
}

void lp_relay_watch_c2s(struct lp_relay *r, int on)
{
    lp_relay_c2s_watch(&r->c2s_frames, on);
}

int lp_relay_to_server(struct lp_relay *r, const char *data, size_t len)
{
    return lp_pump_write(&r->c2s, data, len);
}

void lp_relay_filter_c2s(struct lp_relay *r)
{
    r->c2s.filter = c2s_filter;
    lp_relay_c2s_filter(&r->c2s_frames);
    if (r->c2s.src_eof) { /* a partial last frame will not be completed now */
        c2s_end(r);
        lp_pump_shutdown_dst(&r->c2s);
    }
}

void lp_relay_gen_raw(struct lp_relay_gen *g)
{
    g->s2c.filter = NULL;
}

int lp_relay_restart(struct lp_relay *r, char **env)
{
    struct lp_relay_gen *old = r->cur, *g;
    int rc = spawn_gen(r, env, &g);
    if (rc) return rc;
    unhold_output(r); /* the old server's stdout end is moot now */
    old->retired = 1;
    lp_relay_kill_group(old);
    lp_pump_stop_src(&old->s2c);
    lp_pump_stop_src(&old->errp);
    lp_close_once((uv_handle_t *)&old->in);
    gen_retire_done(old);
    r->cur = g;
    r->res->restarts++;
    r->res->pid = g->proc.child.pid;
    r->res->exited = 0;
    lp_pump_set_dst(&r->c2s, (uv_stream_t *)&g->in);
    return 0;
}

void lp_relay_release(struct lp_relay *r)
{
    struct lp_relay_gen *g = r->cur;
    if (r->finishing) return;
    unhold_output(r); /* the end is the relay's: nobody is asked about it */
    if (g->proc.exited && (!g->s2c.src_eof || !g->errp.src_eof)) lp_server_drain(&g->proc);
    finish_output(r, g);
    if (g->s2c.src_eof) li_session_eof(r->o->sess, LI_S2C, lp_relay_now_us(r));
    maybe_finish(r);
}

/* What lp_netwatch may do through the relay (lp_netwatch_hooks). */
static void nw_say(void *ud, const char *line)
{
    lp_relay_say(ud, "%s", line);
}

static void lp_nw_show(void *ud, int type, const char *text)
{
    lp_relay_show(ud, type, text);
}

static void nw_event(void *ud, enum li_event ev, json_t *fields)
{
    lp_relay_event(ud, ev, fields);
}

int lp_relay_run(const struct lp_relay_opts *o, struct lp_relay_result *res)
{
    static struct lp_relay rs; /* one relay per process; static keeps handles out of the stack */
    struct lp_relay *r = &rs;
    memset(r, 0, sizeof *r);
    memset(res, 0, sizeof *res);
    r->o = o;
    r->res = res;
    r->so = o->super;
    r->sctx = o->super_ctx;
    r->loop = uv_default_loop();
    const struct lp_relay_super_ops *so = r->so;
    r->c2s_frames = (struct lp_relay_c2s){.sess = o->sess,
                                          .hr_start = o->hr_start,
                                          .watched = so ? so->on_c2s : NULL,
                                          .filtered = so ? so->c2s_filter : NULL,
                                          .ended = so ? so->on_c2s_end : NULL,
                                          .ud = r->sctx};
    r->err_lines = (struct lp_relay_stderr){
        .out = (uv_stream_t *)&r->ed_err, .held = err_held, .written = err_written, .ud = r};
    /* A closed editor or server must be an EPIPE on the write, handled as
     * "gone", not a signal that kills the relay. libuv resets signal
     * dispositions in the child, so gopls keeps the default. */
    signal(SIGPIPE, SIG_IGN);
    int saved_fl[3];
    for (int fd = 0; fd < 3; fd++)
        saved_fl[fd] = fcntl(fd, F_GETFL);

    if (r->so && r->so->start) r->so->start(r->sctx, r);
    lp_relay_stderr_open(&r->err_lines, r->loop);
    uv_timer_init(r->loop, &r->eof_wait);
    r->eof_wait.data = r;
    if (o->netwatch) {
        static const struct lp_netwatch_hooks hooks = {nw_say, lp_nw_show, nw_event, NULL};
        struct lp_netwatch_hooks h = hooks;
        h.ud = r;
        lp_netwatch_bind(o->netwatch, r->loop, &h);
    }

    int rc = spawn_gen(r, o->env, &r->cur);
    if (rc) {
        res->spawn_error = rc;
        uv_walk(r->loop, close_walk, NULL);
        uv_run(r->loop, UV_RUN_DEFAULT);
        if (r->so && r->so->stop) r->so->stop(r->sctx);
        return rc;
    }
    res->pid = r->cur->proc.child.pid;

    if ((rc = lp_stdio_open(r->loop, &r->ed_in, 0, 1, &r->in_bridge)) ||
        (rc = lp_stdio_open(r->loop, &r->ed_out, 1, 0, &r->out_bridge)) ||
        (rc = lp_stdio_open(r->loop, &r->ed_err, 2, 0, &r->err_bridge))) {
        fprintf(stderr, "lsptap: cannot use this process's standard streams: %s\n",
                uv_strerror(rc));
        lp_relay_kill_group(r->cur);
    }

    size_t hi = o->cfg->high_mark, lo = o->cfg->low_mark;
    lp_pump_init(&r->c2s, (uv_stream_t *)&r->ed_in, (uv_stream_t *)&r->cur->in, hi, lo, &pump_cb,
                 r);

    lp_server_watch_signals(r->loop, r->sig, signal_cb, r);

    lp_pump_start(&r->c2s);
    lp_pump_start(&r->cur->s2c);
    lp_pump_start(&r->cur->errp);

    uv_run(r->loop, UV_RUN_DEFAULT);
    for (int fd = 0; fd < 3; fd++)
        if (saved_fl[fd] >= 0) fcntl(fd, F_SETFL, saved_fl[fd]);
    /* Lines that could not go out through the loop go out now. */
    res->stderr_mid_line = lp_relay_stderr_close(&r->err_lines);
    free(r->show_wait); /* the stream ended inside a frame: nowhere to put them */
    lp_relay_c2s_free(&r->c2s_frames);

    res->read[LI_C2S] = r->c2s.read;
    res->written[LI_C2S] = r->c2s.written;
    res->read[LI_S2C] = r->s2c_read;
    res->written[LI_S2C] = r->s2c_written;
    for (int i = 0; i < GEN_SLOTS; i++) {
        res->read[LI_S2C] += r->gen[i].s2c.read;
        res->written[LI_S2C] += r->gen[i].s2c.written;
    }
    lp_bridge_join(&r->out_bridge);
    lp_bridge_join(&r->err_bridge);
    for (int fd = 0; fd < 3; fd++)
        if (saved_fl[fd] >= 0) fcntl(fd, F_SETFL, saved_fl[fd]);
    if (r->so && r->so->stop) r->so->stop(r->sctx);
    return 0;
}
