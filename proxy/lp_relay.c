#include "proxy/lp_relay.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
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
#include "inspect/li_escape.h"
#include "inspect/li_redact.h"
#include "io/lp_pump.h"
#include "io/lp_stdio.h"
#include "proxy/lp_gate.h"
#include "proxy/lp_netwatch.h"
#include "proxy/lp_relay_int.h"
#include "proxy/lp_server_event.h"

/* One line from another thread (the session writer) for stderr. */
static pthread_mutex_t notify_mu = PTHREAD_MUTEX_INITIALIZER;
static uv_async_t *notify_async; /* NULL when no relay loop runs */
static char notify_line[4096];
static int notify_pending;

uint64_t lp_rl_now_us(struct relay *r)
{
    return (uv_hrtime() - r->o->hr_start) / 1000;
}

struct gen *lp_rl_cur(struct relay *r)
{
    return &r->gen[r->cur];
}

static void say_write(struct relay *r, const char *line, size_t len);
static void show_flush(struct relay *r);

static void say_flush(struct relay *r)
{
    if (!r->say_wait_len) return;
    say_write(r, r->say_wait, r->say_wait_len);
    free(r->say_wait);
    r->say_wait = NULL;
    r->say_wait_len = 0;
    uv_timer_stop(&r->say_timer);
}

/* The server left a line unfinished for a while: lsptap's lines go anyway,
 * on a line of their own. Not while lsptap itself holds the server's stderr
 * back (the editor is behind): the rest of that line is already waiting. */
static void say_timeout(uv_timer_t *t)
{
    struct relay *r = t->data;
    struct lp_pump *err = &r->gen[r->cur].errp;
    if (err->paused && !err->src_eof) {
        uv_timer_start(&r->say_timer, say_timeout, 200, 0);
        return;
    }
    if (r->err_mid_line) {
        say_write(r, "\n", 1);
        r->err_mid_line = 0;
    }
    say_flush(r);
}

static void say_done(uv_write_t *req, int status)
{
    struct relay *r = req->data;
    (void)status;
    free(req);
    r->say_writes--;
    lp_rl_maybe_finish(r);
}

/* lsptap's own line on stderr, through the same stream as the server's
 * stderr so the two never interleave inside a write. */
void lp_rl_say(struct relay *r, const char *fmt, ...)
{
    char raw[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    /* lsptap's lines quote the server (its errors, its method names): they
     * are redacted and escaped like every text lsptap prints. */
    size_t rl = 0;
    char *red = li_redact(raw, (size_t)n < sizeof raw ? (size_t)n : sizeof raw - 1, environ, &rl);
    char *line = red ? li_escape_dup(red, rl, LI_ESC_KEEP_NL) : NULL;
    free(red);
    if (!line) return;
    size_t len = strlen(line);
    if (r->err_mid_line && r->say_timer.loop) {
        /* Never inside one of the server's lines: wait for its end. */
        char *nw = realloc(r->say_wait, r->say_wait_len + len);
        if (nw) {
            r->say_wait = nw;
            memcpy(r->say_wait + r->say_wait_len, line, len);
            r->say_wait_len += len;
            if (!uv_is_active((uv_handle_t *)&r->say_timer))
                uv_timer_start(&r->say_timer, say_timeout, 200, 0);
            free(line);
            return;
        }
    }
    say_write(r, line, len);
    free(line);
}

static void say_write(struct relay *r, const char *line, size_t len)
{
    uv_write_t *req = malloc(sizeof *req + len);
    if (!req) return;
    char *copy = (char *)(req + 1);
    memcpy(copy, line, len);
    uv_buf_t b = uv_buf_init(copy, (unsigned)len);
    req->data = r;
    if (!r->ed_err.loop || uv_write(req, (uv_stream_t *)&r->ed_err, &b, 1, say_done))
        free(req);
    else
        r->say_writes++;
}

int lp_relay_notify(const char *line)
{
    int taken = -1;
    pthread_mutex_lock(&notify_mu);
    if (notify_async && !notify_pending) {
        snprintf(notify_line, sizeof notify_line, "%s", line);
        notify_pending = 1;
        uv_async_send(notify_async);
        taken = 0;
    }
    pthread_mutex_unlock(&notify_mu);
    return taken;
}

static void notified(uv_async_t *a)
{
    struct relay *r = a->data;
    char line[sizeof notify_line];
    pthread_mutex_lock(&notify_mu);
    int have = notify_pending;
    if (have) memcpy(line, notify_line, sizeof line);
    notify_pending = 0;
    pthread_mutex_unlock(&notify_mu);
    if (have) lp_rl_say(r, "%s", line);
}

void lp_rl_event(struct relay *r, enum li_event ev, json_t *fields)
{
    li_session_event(r->o->sess, lp_rl_now_us(r), ev, fields);
    json_decref(fields);
}

/* ---- the server's lifecycle (io/lp_server.h) ---- */

/* SIGKILL to the generation's process group: nothing may outlive the
 * session (docs/design.md principle 4). */
void lp_rl_kill_group(struct gen *g)
{
    lp_server_kill_group(&g->proc, SIGKILL);
}

/* The editor's input ended: the current server's grace time starts (and a
 * server started after this, by a repair, gets its own). */
static void start_grace(struct relay *r)
{
    r->grace_started = 1;
    lp_server_input_closed(&lp_rl_cur(r)->proc);
}

static void terminating(struct relay *r, const struct lp_server_event *ev)
{
    if (ev->signal == SIGTERM)
        lp_rl_say(r,
                  "lsptap: %s did not exit %llu ms after the editor closed its input; "
                  "sending SIGTERM.\n",
                  r->o->argv[0], (unsigned long long)ev->after_ms);
    else
        lp_rl_say(r, "lsptap: %s ignored SIGTERM for %llu ms; sending SIGKILL.\n", r->o->argv[0],
                  (unsigned long long)ev->after_ms);
    enum li_event name;
    json_t *f = lp_server_event_fields(ev, &name);
    lp_rl_event(r, name, f);
}

static void drain_over(struct relay *r, struct gen *g, const struct lp_server_event *ev)
{
    struct lp_pump *out = &g->s2c, *err = &g->errp;
    if (out->src_eof && err->src_eof) return;
    if ((out->paused && !out->src_eof) || (err->paused && !err->src_eof)) {
        /* lsptap stopped reading because the editor is behind: the EOF is
         * still in the pipe, behind data the editor will want. */
        lp_server_drain(&g->proc);
        return;
    }
    lp_rl_say(r,
              "lsptap: %s exited but its %s still open %d ms later (a process it started "
              "holds %s); finishing without waiting.\n",
              r->o->argv[0],
              !out->src_eof && !err->src_eof ? "stdout and stderr are"
                                             : (!out->src_eof ? "stdout is" : "stderr is"),
              LP_SERVER_DRAIN_MS, !out->src_eof && !err->src_eof ? "them" : "it");
    lp_rl_say(r, "lsptap: killing what is left of %s's process group.\n", r->o->argv[0]);
    enum li_event name;
    json_t *f = lp_server_event_fields(ev, &name);
    lp_rl_event(r, name, f);
    lp_rl_kill_group(g);
    if (!err->src_eof) lp_pump_stop_src(err);
    if (!out->src_eof) {
        lp_pump_stop_src(out);
        lp_rl_finish_output(r, g);
        li_session_eof(r->o->sess, LI_S2C, lp_rl_now_us(r));
    }
    lp_rl_maybe_finish(r);
}

static void child_exited(struct gen *g, const struct lp_server_event *ev)
{
    struct relay *r = g->r;
    int64_t status = ev->status;
    int term_signal = ev->signal;
    g->running = 0;
    g->exited = 1;
    g->exit_status = (int)status;
    g->term_signal = term_signal;
    enum li_event name;
    json_t *f = lp_server_event_fields(ev, &name);
    if (g->retired) {
        json_object_set_new(f, "retired", json_true());
        lp_rl_event(r, name, f);
        lp_rl_maybe_finish(r);
        return;
    }
    r->res->exited = 1;
    r->res->exit_status = (int)status;
    r->res->term_signal = term_signal;
    lp_rl_event(r, name, f);
    if (lp_hs_supervising(r) && (r->c2s.src_eof || r->res->editor_gone || !lp_hs_judging(r)))
        lp_hs_end(r, r->sv.state == HS_WAIT_INIT ? "the server ended before initialize"
                                                 : "the editor closed its side");
    if (lp_hs_supervising(r)) {
        if (term_signal)
            lp_hs_failure(r, "%s was killed by signal %d (%s) before the handshake completed",
                          r->o->argv[0], term_signal, strsignal(term_signal));
        else
            lp_hs_failure(r, "%s exited with status %d before the handshake completed",
                          r->o->argv[0], (int)status);
        return;
    }
    if (!g->s2c.src_eof || !g->errp.src_eof) lp_server_drain(&g->proc);
    lp_rl_maybe_finish(r);
}

static void server_event(struct lp_server *s, const struct lp_server_event *ev)
{
    struct gen *g = s->data;
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

/* The server's stderr, forwarded as read, except that lsptap's waiting
 * lines go in right after the last complete line. */
static void err_filter(struct lp_pump *p, const char *data, size_t len)
{
    struct relay *r = p->data;
    r->res->stderr_bytes += len;
    lp_tail_keep(r->res->stderr_tail, sizeof r->res->stderr_tail - 1, &r->tail_len, data, len);
    r->res->stderr_tail[r->tail_len] = '\0';
    const char *nl = r->say_wait_len ? memrchr(data, '\n', len) : NULL;
    if (nl) {
        size_t head = (size_t)(nl + 1 - data);
        lp_pump_write(p, data, head);
        say_flush(r);
        lp_pump_write(p, data + head, len - head);
    } else {
        lp_pump_write(p, data, len);
    }
    r->err_mid_line = len && data[len - 1] != '\n';
    if (!r->err_mid_line) say_flush(r);
}

static void close_walk(uv_handle_t *h, void *arg);

static void signal_cb(uv_signal_t *s, int signum)
{
    struct relay *r = s->data;
    if (lp_rl_cur(r)->running) {
        lp_rl_event(r, LI_EV_SIGNAL,
                    json_pack("{s:i, s:s}", "signal", signum, "action", "passed on"));
        /* A SIGTERM passed on is followed by SIGKILL after kill_ms if the
         * server ignores it (lp_server_signal). */
        lp_server_signal(&lp_rl_cur(r)->proc, signum);
        return;
    }
    /* The server is gone and something still holds the relay open (an
     * editor that stopped reading): the signal ends lsptap. */
    lp_rl_event(r, LI_EV_SIGNAL,
                json_pack("{s:i, s:s}", "signal", signum, "action", "ended lsptap"));
    r->finishing = 1;
    uv_walk(r->loop, close_walk, NULL);
}

/* ---- pumps ---- */

struct gen *lp_rl_gen_of(struct relay *r, const struct lp_pump *p)
{
    for (int i = 0; i < 2; i++)
        if (p == &r->gen[i].s2c || p == &r->gen[i].errp) return &r->gen[i];
    return NULL;
}

static void editor_went_away(struct relay *r, int err)
{
    if (r->res->editor_gone) return;
    r->res->editor_gone = 1;
    if (r->out_bridge.err) /* a file: its own error, not the pipe's */
        lp_rl_say(r, "lsptap: writing to the editor failed (%s); closing %s's input.\n",
                  strerror(r->out_bridge.err), r->o->argv[0]);
    else
        lp_rl_say(r, "lsptap: the editor stopped reading (%s); closing %s's input.\n",
                  uv_strerror(err), r->o->argv[0]);
    if (r->out_bridge.err) err = -r->out_bridge.err;
    lp_rl_event(r, LI_EV_EDITOR_GONE, json_pack("{s:s}", "error", uv_strerror(err)));
    lp_pump_shutdown_dst(&r->c2s);
    start_grace(r);
}

static void on_bytes(struct lp_pump *p, const char *data, size_t len)
{
    struct relay *r = p->data;
    if (p == &r->c2s) {
        li_session_feed(r->o->sess, LI_C2S, data, len, lp_rl_now_us(r));
        if (lp_hs_supervising(r)) lp_hs_watch_c2s(r, data, len);
        return;
    }
    /* The server's stdout; its stderr always goes through err_filter. */
    li_session_feed(r->o->sess, LI_S2C, data, len, lp_rl_now_us(r));
    if (r->show_wait_len) show_flush(r);
}

static void on_dst_error(struct lp_pump *p, int status)
{
    struct relay *r = p->data;
    if (p == &r->c2s) {
        if (lp_rl_cur(r)->running)
            lp_rl_say(r, "lsptap: writing to %s failed (%s); its input is lost from here.\n",
                      r->o->argv[0], uv_strerror(status));
        return;
    }
    struct gen *g = lp_rl_gen_of(r, p);
    if (p == &g->s2c) editor_went_away(r, status);
}

/* The editor's stdout gets EOF once the current server's stdout has ended
 * and no restart can follow. */

void lp_rl_finish_output(struct relay *r, struct gen *g)
{
    if (g->retired || lp_hs_supervising(r) || !g->s2c.src_eof) return;
    if (g->s2c.filter) {
        g->s2c.filter = NULL; /* what the gate holds is a cut-short frame: pass it on */
        lp_gate_flush(&g->gate, lp_rl_forward_raw, g);
    }
    lp_pump_shutdown_dst(&g->s2c);
}

static void on_src_end(struct lp_pump *p, int status)
{
    struct relay *r = p->data;
    if (p == &r->c2s) {
        li_session_eof(r->o->sess, LI_C2S, lp_rl_now_us(r));
        lp_rl_event(r, LI_EV_EDITOR_EOF,
                    status == UV_EOF ? NULL : json_pack("{s:s}", "error", uv_strerror(status)));
        start_grace(r);
        lp_hs_c2s_end(r); /* what a restart's gate holds goes out before EOF */
        lp_pump_shutdown_dst(p);
        return;
    }
    struct gen *g = lp_rl_gen_of(r, p);
    if (g->retired) return;
    if (status != UV_EOF)
        lp_rl_say(r, "lsptap: reading %s's %s failed: %s\n", r->o->argv[0],
                  p == &g->s2c ? "stdout" : "stderr", uv_strerror(status));
    if (p != &g->s2c) { /* our stderr stays open for lsptap's own lines */
        r->err_mid_line = 0;
        say_flush(r);
        return;
    }
    if (lp_hs_supervising(r) && (r->c2s.src_eof || r->res->editor_gone || !lp_hs_judging(r)))
        lp_hs_end(r, r->sv.state == HS_WAIT_INIT ? "the server ended before initialize"
                                                 : "the editor closed its side");
    if (lp_hs_supervising(r)) {
        lp_hs_output_closed(r);
        return;
    }
    lp_rl_finish_output(r, g); /* a frame the gate held, cut short, reaches the inspector first */
    li_session_eof(r->o->sess, LI_S2C, lp_rl_now_us(r));
}

static void on_progress(struct lp_pump *p)
{
    lp_rl_maybe_finish(p->data);
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
static void show_flush(struct relay *r)
{
    struct gen *g = lp_rl_cur(r);
    if (!r->show_wait_len || !li_session_at_boundary(r->o->sess, LI_S2C)) return;
    char *w = r->show_wait;
    size_t n = r->show_wait_len;
    r->show_wait = NULL;
    r->show_wait_len = 0;
    if (!g->s2c.dst_shut && !g->s2c.dst_done) {
        lp_pump_write(&g->s2c, w, n);
        li_session_feed(r->o->sess, LI_S2C, w, n, lp_rl_now_us(r));
    }
    free(w);
}

void lp_rl_show(struct relay *r, int type, const char *text)
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

void lp_rl_forward(struct gen *g, const char *data, size_t len)
{
    struct relay *r = g->r;
    lp_pump_write(&g->s2c, data, len);
    li_session_feed(r->o->sess, LI_S2C, data, len, lp_rl_now_us(r));
    show_flush(r);
}

void lp_rl_forward_raw(void *ud, const char *data, size_t len)
{
    lp_rl_forward(ud, data, len);
}

void lp_rl_forward_msg(struct gen *g, const char *frame, size_t len, size_t hdr,
                       const struct li_msg *m)
{
    struct relay *r = g->r;
    lp_pump_write(&g->s2c, frame, len);
    li_session_feed_classified(r->o->sess, LI_S2C, frame, len, lp_rl_now_us(r), frame + hdr,
                               len - hdr, m);
    show_flush(r);
}

/* ---- the end ---- */

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (h->type == UV_ASYNC) { /* no more lines from other threads */
        pthread_mutex_lock(&notify_mu);
        notify_async = NULL;
        pthread_mutex_unlock(&notify_mu);
    }
    lp_close_once(h);
}

void lp_rl_maybe_finish(struct relay *r)
{
    struct gen *g = lp_rl_cur(r);
    if (r->finishing || g->running || !g->exited) return;
    if (r->sv.state == HS_REPAIRING) return;
    if (!g->s2c.src_eof || !g->errp.src_eof) return;
    if (g->s2c.writes || g->errp.writes || r->say_writes || !g->s2c.dst_done) return;
    for (int i = 0; i < 2; i++)
        if (r->gen[i].retired && (r->gen[i].running || r->gen[i].s2c.writes)) return;
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
static int server_fds(struct gen *g, int child[3])
{
    uv_pipe_t *mine[3] = {&g->in, &g->out, &g->err};
    int rc = 0;
    for (int i = 0; i < 3; i++)
        child[i] = -1;
    for (int i = 0; i < 3 && !rc; i++)
        rc = lp_server_stdio(mine[i], &child[i]);
    return rc;
}

int lp_rl_spawn_gen(struct relay *r, struct gen *g, char **env)
{
    const struct lp_relay_opts *o = r->o;
    int rc, child[3];
    g->r = r;
    g->idx = (int)(g - r->gen);
    if ((rc = uv_pipe_init(r->loop, &g->in, 0)) || (rc = uv_pipe_init(r->loop, &g->out, 0)) ||
        (rc = uv_pipe_init(r->loop, &g->err, 0)))
        return rc;
    g->proc.data = g;
    rc = server_fds(g, child);
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
        lp_rl_event(r, LI_EV_SPAWN_FAILED,
                    json_pack("{s:s, s:o, s:s}", "path", o->argv[0], "argv", argv_json(o->argv),
                              "error", uv_strerror(rc)));
        lp_close_once((uv_handle_t *)&g->in);
        lp_close_once((uv_handle_t *)&g->out);
        lp_close_once((uv_handle_t *)&g->err);
        return rc;
    }
    g->running = 1;
    g->pid = g->proc.child.pid;
    if (r->grace_started) lp_server_input_closed(&g->proc); /* the editor's input ended */
    json_t *f =
        json_pack("{s:i, s:s, s:o}", "pid", g->pid, "path", o->argv[0], "argv", argv_json(o->argv));
    if (g->idx) json_object_set_new(f, "restart", json_true());
    lp_rl_event(r, LI_EV_SPAWN, f);
    size_t hi = o->cfg->high_mark, lo = o->cfg->low_mark;
    lp_pump_init(&g->s2c, (uv_stream_t *)&g->out, (uv_stream_t *)&r->ed_out, hi, lo, &pump_cb, r);
    lp_pump_init(&g->errp, (uv_stream_t *)&g->err, (uv_stream_t *)&r->ed_err, hi, lo, &pump_cb, r);
    g->errp.keep_dst_open = 1; /* our stderr outlives the server's, for lsptap's own lines */
    g->errp.filter = err_filter;
    if (o->supervise) g->s2c.filter = lp_hs_s2c_filter;
    if (r->ed_out.loop) {
        lp_pump_start(&g->s2c);
        lp_pump_start(&g->errp);
    }
    return 0;
}

/* What lp_netwatch may do through the relay (lp_netwatch_hooks). */
static void nw_say(void *ud, const char *line)
{
    lp_rl_say(ud, "%s", line);
}

static void lp_nw_show(void *ud, int type, const char *text)
{
    lp_rl_show(ud, type, text);
}

static void nw_event(void *ud, enum li_event ev, json_t *fields)
{
    lp_rl_event(ud, ev, fields);
}

int lp_relay_run(const struct lp_relay_opts *o, struct lp_relay_result *res)
{
    static struct relay rs; /* one relay per process; static keeps handles out of the stack */
    struct relay *r = &rs;
    memset(r, 0, sizeof *r);
    memset(res, 0, sizeof *res);
    r->o = o;
    r->res = res;
    r->loop = uv_default_loop();
    /* A closed editor or server must be an EPIPE on the write, handled as
     * "gone", not a signal that kills the relay. libuv resets signal
     * dispositions in the child, so gopls keeps the default. */
    signal(SIGPIPE, SIG_IGN);
    int saved_fl[3];
    for (int fd = 0; fd < 3; fd++)
        saved_fl[fd] = fcntl(fd, F_GETFL);

    lp_hs_init(r);
    uv_timer_init(r->loop, &r->say_timer);
    r->say_timer.data = r;
    if (o->netwatch) {
        static const struct lp_netwatch_hooks hooks = {nw_say, lp_nw_show, nw_event, NULL};
        struct lp_netwatch_hooks h = hooks;
        h.ud = r;
        lp_netwatch_bind(o->netwatch, r->loop, &h);
    }
    uv_async_init(r->loop, &r->notify, notified);
    r->notify.data = r;
    uv_unref((uv_handle_t *)&r->notify);
    pthread_mutex_lock(&notify_mu);
    notify_async = &r->notify;
    pthread_mutex_unlock(&notify_mu);

    int rc = lp_rl_spawn_gen(r, &r->gen[0], o->env);
    if (rc) {
        res->spawn_error = rc;
        uv_walk(r->loop, close_walk, NULL);
        uv_run(r->loop, UV_RUN_DEFAULT);
        return rc;
    }
    res->pid = r->gen[0].pid;

    if ((rc = lp_stdio_open(r->loop, &r->ed_in, 0, 1, &r->in_bridge)) ||
        (rc = lp_stdio_open(r->loop, &r->ed_out, 1, 0, &r->out_bridge)) ||
        (rc = lp_stdio_open(r->loop, &r->ed_err, 2, 0, &r->err_bridge))) {
        fprintf(stderr, "lsptap: cannot use this process's standard streams: %s\n",
                uv_strerror(rc));
        lp_rl_kill_group(&r->gen[0]);
    }

    size_t hi = o->cfg->high_mark, lo = o->cfg->low_mark;
    lp_pump_init(&r->c2s, (uv_stream_t *)&r->ed_in, (uv_stream_t *)&r->gen[0].in, hi, lo, &pump_cb,
                 r);

    lp_server_watch_signals(r->loop, r->sig, signal_cb, r);

    lp_pump_start(&r->c2s);
    lp_pump_start(&r->gen[0].s2c);
    lp_pump_start(&r->gen[0].errp);

    uv_run(r->loop, UV_RUN_DEFAULT);
    for (int fd = 0; fd < 3; fd++)
        if (saved_fl[fd] >= 0) fcntl(fd, F_SETFL, saved_fl[fd]);
    /* Lines that could not go out through the loop go out now. */
    int mid = r->err_mid_line;
    pthread_mutex_lock(&notify_mu);
    notify_async = NULL;
    if ((notify_pending || r->say_wait_len) && mid) {
        fputc('\n', stderr); /* the server's last line was unfinished */
        mid = 0;
    }
    if (notify_pending) fputs(notify_line, stderr);
    notify_pending = 0;
    pthread_mutex_unlock(&notify_mu);
    if (r->say_wait_len) fwrite(r->say_wait, 1, r->say_wait_len, stderr);
    free(r->say_wait);
    free(r->show_wait); /* the stream ended inside a frame: nowhere to put them */
    res->stderr_mid_line = mid;

    res->read[LI_C2S] = r->c2s.read;
    res->written[LI_C2S] = r->c2s.written;
    for (int i = 0; i < 2; i++) {
        res->read[LI_S2C] += r->gen[i].s2c.read;
        res->written[LI_S2C] += r->gen[i].s2c.written;
    }
    lp_bridge_join(&r->out_bridge);
    lp_bridge_join(&r->err_bridge);
    for (int fd = 0; fd < 3; fd++)
        if (saved_fl[fd] >= 0) fcntl(fd, F_SETFL, saved_fl[fd]);
    lp_hs_free(r);
    return 0;
}
