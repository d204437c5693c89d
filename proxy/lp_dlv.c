#include "proxy/lp_dlv.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "env/lp_config.h"
#include "env/lp_diag.h"
#include "env/lp_find.h"
#include "framing/lf.h"
#include "inspect/li_buf.h"
#include "inspect/li_escape.h"
#include "inspect/li_redact.h"
#include "io/lp_pump.h"
#include "io/lp_server.h"
#include "io/lp_stdio.h"
#include "netcheck/ln_hostport.h"
#include "proxy/lp_dlv_args.h"
#include "proxy/lp_gopls.h"
#include "proxy/lp_serve.h"
#include "proxy/lp_server_event.h"

#define ANNOUNCE "DAP server listening at: "
#define NO_CLIENT_MS 30000 /* vscode-go's own wait for the listening line */

/* ---- the session ---- */

enum state { ST_STARTING, ST_LISTENING, ST_RELAYING, ST_UNAVAILABLE };

/* One of our own output streams: a libuv pipe when the fd is pollable, else
 * plain blocking writes (files, terminals: small volumes here). */
struct out {
    uv_pipe_t h;
    int fd; /* for blocking writes; -1 when h is used */
    int open;
};

struct dlv {
    struct lp_config cfg;
    struct lp_dlv_args a;
    struct lp_session sess;
    char **child_argv;
    uv_loop_t *loop;
    enum state state;
    struct lp_server srv; /* dlv: its lifecycle (io/lp_server.h) */
    uv_pipe_t ch_out, ch_err, ch_log;
    int has_log_pipe;
    int ch_open; /* child streams not yet at EOF */
    struct out out, err, log;
    int log_file; /* --log-dest=PATH: we write dlv's log there */
    uv_tcp_t listener, editor, server;
    int listening, editor_open, server_open;
    uv_connect_t conn;
    uv_timer_t start_timer, no_client;
    int drained; /* the drain time after dlv's exit has passed */
    struct lp_pump c2s, s2c;
    char line[4096];
    size_t line_len;
    int announced;
    char dlv_addr[300];
    char our_addr[300];
    size_t writes; /* our own writes in flight */
    char err_tail[2048];
    size_t err_tail_len;
    char why[2048];
    char rev_arg[320]; /* reverse mode: "--client-addr=127.0.0.1:PORT" for dlv */
    uv_tcp_t rev_listener;
    uv_connect_t ed_conn;
    int reverse_failed;
    int editor_connecting; /* reverse mode: the connect to the editor is under way */
    struct li_buf replies; /* unavailable mode: responses waiting to be written */
    int64_t reply_seq;
    int finishing;
    int listen_failed; /* lsptap could not listen where the editor asked */
    uv_signal_t sig[LP_SERVER_NSIGNALS];
    int stopping; /* a signal asked us to end: listen no more */
};

static struct dlv D;

static uint64_t now_us(struct dlv *d)
{
    return lp_session_now(&d->sess);
}

static void event(struct dlv *d, enum li_event ev, json_t *fields)
{
    lp_session_event(&d->sess, ev, fields);
}

static void maybe_finish(struct dlv *d);

static void out_open(struct dlv *d, struct out *o, int fd)
{
    o->fd = -1;
    uv_handle_type t = uv_guess_handle(fd);
    if (t == UV_NAMED_PIPE || t == UV_TCP) {
        int dupfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (dupfd >= 0 && !uv_pipe_init(d->loop, &o->h, 0) && !uv_pipe_open(&o->h, dupfd)) {
            o->open = 1;
            return;
        }
    }
    o->fd = fd;
    o->open = 1;
}

static void out_done(uv_write_t *req, int status)
{
    (void)status;
    free(req);
    D.writes--;
    maybe_finish(&D);
}

static void emit(struct dlv *d, struct out *o, const char *p, size_t n)
{
    if (!o->open || !n) return;
    if (o->fd >= 0) {
        (void)lp_write_all(o->fd, p, n); /* lsptap's and dlv's lines: a failure drops the rest */
        return;
    }
    uv_write_t *req = malloc(sizeof *req + n);
    if (!req) return;
    memcpy(req + 1, p, n);
    uv_buf_t b = uv_buf_init((char *)(req + 1), (unsigned)n);
    if (uv_write(req, (uv_stream_t *)&o->h, &b, 1, out_done))
        free(req);
    else
        d->writes++;
}

static void say(struct dlv *d, const char *fmt, ...)
{
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n <= 0) return;
    /* lsptap's lines quote dlv and the client: redacted and escaped. */
    size_t rl = 0;
    char *red = li_redact(buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1, environ, &rl);
    char *line = red ? li_escape_dup(red, rl, LI_ESC_KEEP_NL) : NULL;
    if (line) emit(d, &d->err, line, strlen(line));
    free(line);
    free(red);
}

/* dlv's log (or stdout) goes where the editor asked, minus the real
 * listening line: ours replaces it. */
static void emit_log(struct dlv *d, const char *p, size_t n)
{
    if (d->log_file >= 0) {
        (void)lp_write_all(d->log_file, p, n);
    } else if (d->a.log_fd == 2) {
        emit(d, &d->err, p, n);
        lp_tail_keep(d->err_tail, sizeof d->err_tail, &d->err_tail_len, p, n);
    } else if (d->a.log_fd > 2) {
        emit(d, &d->log, p, n);
    } else {
        emit(d, &d->out, p, n);
    }
}

/* ---- the child ---- */

static void go_listen(struct dlv *d);
static void reach_editor(struct dlv *d);

static void unavailable(struct dlv *d, const char *fmt, ...)
{
    if (d->state == ST_UNAVAILABLE) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->why, sizeof d->why, fmt, ap);
    va_end(ap);
    li_redact_buf(d->why, sizeof d->why, environ); /* it goes to the editor too */
    say(d, "lsptap: %s\n", d->why);
    event(d, LI_EV_UNAVAILABLE, json_pack("{s:s}", "reason", d->why));
    int was_listening = d->state != ST_STARTING;
    d->state = ST_UNAVAILABLE;
    uv_timer_stop(&d->start_timer);
    if (d->a.client_addr) {
        if (!d->editor_open) reach_editor(d);
    } else if (!was_listening) {
        go_listen(d);
    }
}

static void last_err_line(struct dlv *d, char *out, size_t len)
{
    size_t end = d->err_tail_len;
    while (end && (d->err_tail[end - 1] == '\n' || d->err_tail[end - 1] == '\r'))
        end--;
    size_t start = end;
    while (start && d->err_tail[start - 1] != '\n')
        start--;
    size_t n = end - start < len - 1 ? end - start : len - 1;
    memcpy(out, d->err_tail + start, n);
    out[n] = '\0';
}

static void child_stream_ended(struct dlv *d, uv_stream_t *s);
static void on_announce_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b);

static void child_exited(struct dlv *d, int64_t status, int sig)
{
    const char *where = d->a.client_addr ? "dialed lsptap" : "said where it listens";
    if (d->state == ST_STARTING && !d->announced) {
        char last[512];
        last_err_line(d, last, sizeof last);
        if (sig)
            unavailable(d, "dlv was killed by signal %d before it %s%s%s", sig, where,
                        *last ? ": " : "", last);
        else
            unavailable(d, "dlv exited with status %d before it %s%s%s", (int)status, where,
                        *last ? ": " : "", last);
    }
    if (d->state == ST_LISTENING)
        unavailable(d, "dlv %s %d before the editor connected",
                    sig ? "was killed by signal" : "exited with status", sig ? sig : (int)status);
    lp_server_drain(&d->srv);
    maybe_finish(d);
}

/* The drain time after dlv's exit: an editor that keeps its socket open waits no
 * longer (maybe_finish), and a process dlv started that still holds its
 * output is killed with what is left of dlv's process group, as the relay
 * does for gopls. */
static void drain_over(struct dlv *d, const struct lp_server_event *ev)
{
    d->drained = 1;
    if (d->ch_open > 0) {
        say(d,
            "lsptap: dlv exited but its output is still open %d ms later (a process it "
            "started holds it); killing what is left of its process group.\n",
            LP_SERVER_DRAIN_MS);
        enum li_event name;
        json_t *f = lp_server_event_fields(ev, &name);
        event(d, name, f);
        lp_server_kill_group(&d->srv, SIGKILL);
        uv_stream_t *mine[3] = {(uv_stream_t *)&d->ch_out, (uv_stream_t *)&d->ch_err,
                                (uv_stream_t *)&d->ch_log};
        for (int i = 0; i < 3; i++) {
            if ((i == 2 && !d->has_log_pipe) || uv_is_closing((uv_handle_t *)mine[i])) continue;
            uv_read_stop(mine[i]);
            if (mine[i]->read_cb == on_announce_read && d->line_len) {
                emit_log(d, d->line, d->line_len);
                d->line_len = 0;
            }
            child_stream_ended(d, mine[i]);
        }
    }
    maybe_finish(d);
}

static void server_event(struct lp_server *s, const struct lp_server_event *ev)
{
    struct dlv *d = s->data;
    enum li_event name;
    switch (ev->type) {
    case LP_SERVER_EXIT:
        event(d, LI_EV_EXIT, lp_server_event_fields(ev, &name));
        child_exited(d, ev->status, ev->signal);
        break;
    case LP_SERVER_TERMINATE:
        if (ev->why == LP_SERVER_GRACE)
            say(d,
                "lsptap: dlv did not exit %llu ms after the editor disconnected; sending "
                "SIGTERM.\n",
                (unsigned long long)ev->after_ms);
        else if (ev->why == LP_SERVER_IGNORED)
            say(d, "lsptap: dlv ignored SIGTERM; sending SIGKILL.\n");
        event(d, LI_EV_TERMINATE, lp_server_event_fields(ev, &name));
        break;
    case LP_SERVER_DRAIN:
        drain_over(d, ev);
        break;
    }
}

static void start_timeout(uv_timer_t *t)
{
    struct dlv *d = t->data;
    if (d->announced) return;
    lp_server_kill_group(&d->srv, SIGKILL);
    unavailable(d, "dlv did not say where it listens within %llu ms, so it was stopped",
                (unsigned long long)d->cfg.dlv_start_ms);
}

/* SIGINT, SIGTERM, SIGHUP are passed on to dlv, which cleans up its
 * debuggee: vscode-go sends SIGINT to a dlv that has not exited 1 s after
 * the session ended. lsptap then stops listening and ends with dlv, without
 * waiting out the drain for an editor that keeps its socket open. */
static void on_signal(uv_signal_t *s, int signum)
{
    struct dlv *d = s->data;
    d->stopping = 1;
    event(d, LI_EV_SIGNAL,
          json_pack("{s:i, s:s}", "signal", signum, "action",
                    d->srv.running ? "passed on" : "ending"));
    lp_server_signal(&d->srv, signum);
    uv_timer_stop(&d->no_client);
    if (d->listening) {
        lp_close_once((uv_handle_t *)&d->listener);
        d->listening = 0;
    }
    if (d->state == ST_UNAVAILABLE && d->editor_open) {
        lp_close_once((uv_handle_t *)&d->editor);
        d->editor_open = 0;
    }
    maybe_finish(d);
}

static void on_alloc(uv_handle_t *h, size_t s, uv_buf_t *b)
{
    (void)h;
    (void)s;
    /* Stored straight into *b (not through uv_buf_init) so that the static
     * analyzer sees the buffer handed over: the read callbacks free it. */
    b->base = malloc(65536);
    b->len = b->base ? 65536 : 0;
}

/* HOST:PORT as dlv takes it for --listen and prints it when listening (an
 * empty host and port 0 allowed); port as text, for getaddrinfo. */
static int parse_hostport(const char *s, char *host, size_t hlen, char *port, size_t plen,
                          char *err, size_t errlen)
{
    uint16_t p;
    int r = ln_hostport_parse(s, strlen(s), LN_HP_EMPTY_HOST | LN_HP_PORT_ZERO, host, hlen, &p, err,
                              errlen);
    if (!r) snprintf(port, plen, "%u", p);
    return r;
}

static void announce_line(struct dlv *d, const char *line, size_t len)
{
    size_t k = sizeof ANNOUNCE - 1;
    if (!d->announced && len >= k && !memcmp(line, ANNOUNCE, k)) {
        size_t n = len - k;
        while (n && (line[k + n - 1] == '\n' || line[k + n - 1] == '\r'))
            n--;
        if (n >= sizeof d->dlv_addr) n = sizeof d->dlv_addr - 1;
        memcpy(d->dlv_addr, line + k, n);
        d->dlv_addr[n] = '\0';
        d->announced = 1;
        uv_timer_stop(&d->start_timer);
        event(d, LI_EV_DLV_LISTENING, json_pack("{s:s}", "addr", d->dlv_addr));
        if (d->state == ST_STARTING) go_listen(d);
        return;
    }
    emit_log(d, line, len);
}

/* One of dlv's output streams reached EOF. */
static void child_stream_ended(struct dlv *d, uv_stream_t *s)
{
    lp_close_once((uv_handle_t *)s);
    d->ch_open--;
    maybe_finish(d);
}

/* Reads the stream that carries dlv's listening line (stdout, or the
 * --log-dest fd), line by line until that line is seen, then passes bytes
 * through. */
static void on_announce_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct dlv *d = s->data;
    if (n > 0) {
        const char *p = b->base, *end = b->base + n;
        while (p < end && !d->announced) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t take = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
            if (d->line_len + take > sizeof d->line) { /* not the line we want */
                emit_log(d, d->line, d->line_len);
                d->line_len = 0;
                if (take > sizeof d->line) {
                    emit_log(d, p, take);
                    p += take;
                    continue;
                }
            }
            memcpy(d->line + d->line_len, p, take);
            d->line_len += take;
            p += take;
            if (nl) {
                announce_line(d, d->line, d->line_len);
                d->line_len = 0;
            }
        }
        if (p < end) emit_log(d, p, (size_t)(end - p));
    } else if (n < 0) {
        if (d->line_len) emit_log(d, d->line, d->line_len);
        d->line_len = 0;
        child_stream_ended(d, s);
    }
    free(b->base);
}

static void on_out_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct dlv *d = s->data;
    if (n > 0)
        emit(d, &d->out, b->base, (size_t)n);
    else if (n < 0)
        child_stream_ended(d, s);
    free(b->base);
}

static void on_err_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct dlv *d = s->data;
    if (n > 0) {
        emit(d, &d->err, b->base, (size_t)n);
        lp_tail_keep(d->err_tail, sizeof d->err_tail, &d->err_tail_len, b->base, (size_t)n);
    } else if (n < 0) {
        child_stream_ended(d, s);
    }
    free(b->base);
}

/* ---- the editor's side ---- */

static int resolve(const char *hostport, struct sockaddr_storage *ss, char *err, size_t errlen)
{
    char host[256], port[32];
    int r = parse_hostport(hostport, host, sizeof host, port, sizeof port, err, errlen);
    if (r) return r;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *res;
    r = getaddrinfo(*host ? host : NULL, port, &hints, &res);
    if (r) {
        snprintf(err, errlen, "cannot resolve \"%s\": %s", hostport, gai_strerror(r));
        return -1;
    }
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return 0;
}

static void flush_replies(struct dlv *d)
{
    if (!d->replies.len || !d->editor_open) return;
    uv_write_t *req = malloc(sizeof *req + d->replies.len);
    if (req) {
        memcpy(req + 1, d->replies.p, d->replies.len);
        uv_buf_t b = uv_buf_init((char *)(req + 1), (unsigned)d->replies.len);
        if (uv_write(req, (uv_stream_t *)&d->editor, &b, 1, out_done))
            free(req);
        else
            d->writes++;
        li_session_feed(d->sess.li, LI_S2C, d->replies.p, d->replies.len, now_us(d));
    }
    li_buf_reset(&d->replies);
}

static void queue_reply(struct dlv *d, json_t *msg)
{
    json_object_set_new(msg, "seq", json_integer((json_int_t)++d->reply_seq));
    char *body = json_dumps(msg, JSON_COMPACT);
    if (!body) return;
    size_t blen = strlen(body);
    char hdr[LF_HEADER_MAX_OUT];
    size_t hlen = lf_write_header(hdr, sizeof hdr, blen);
    if (li_buf_reserve(&d->replies, hlen + blen) == 0) { /* the whole reply or none */
        li_buf_put(&d->replies, hdr, hlen);
        li_buf_put(&d->replies, body, blen);
    }
    free(body);
}

/* Unavailable mode: every request fails with the reason; disconnect
 * succeeds, so the client can end cleanly. */
static void on_msg(void *ud, enum li_dir dir, const struct li_msg *m, const char *body, size_t len,
                   int64_t latency_us)
{
    struct dlv *d = ud;
    (void)body;
    (void)len;
    (void)latency_us;
    if (d->state != ST_UNAVAILABLE || dir != LI_C2S || m->kind != LI_K_REQUEST) return;
    json_error_t e;
    json_t *seq = json_loadb(m->id.p, m->id.len, JSON_DECODE_ANY, &e);
    json_t *cmd =
        m->method.p ? json_loadb(m->method.p, m->method.len, JSON_DECODE_ANY, &e) : json_string("");
    int disconnect = json_is_string(cmd) && !strcmp(json_string_value(cmd), "disconnect");
    json_t *r = json_pack("{s:s, s:o, s:o, s:b}", "type", "response", "request_seq",
                          seq ? seq : json_null(), "command", cmd ? cmd : json_string(""),
                          "success", disconnect);
    if (!disconnect) {
        char msg[2200];
        snprintf(msg, sizeof msg, "lsptap: %s", d->why);
        json_object_set_new(r, "message", json_string(msg));
    }
    queue_reply(d, r);
    json_decref(r);
}

static void on_unavailable_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct dlv *d = s->data;
    if (n > 0) {
        li_session_feed(d->sess.li, LI_C2S, b->base, (size_t)n, now_us(d));
        flush_replies(d);
    } else if (n < 0) {
        li_session_eof(d->sess.li, LI_C2S, now_us(d));
        d->editor_open = 0;
        lp_close_once((uv_handle_t *)s);
        lp_server_input_closed(&d->srv); /* a dlv we could not reach may still run */
        maybe_finish(d);
    }
    free(b->base);
}

static void pump_bytes(struct lp_pump *p, const char *data, size_t len)
{
    struct dlv *d = p->data;
    li_session_feed(d->sess.li, p == &d->c2s ? LI_C2S : LI_S2C, data, len, now_us(d));
}

static void pump_end(struct lp_pump *p, int status)
{
    struct dlv *d = p->data;
    int c2s = p == &d->c2s;
    li_session_eof(d->sess.li, c2s ? LI_C2S : LI_S2C, now_us(d));
    event(d, c2s ? LI_EV_EDITOR_EOF : LI_EV_DLV_EOF,
          status == UV_EOF ? NULL : json_pack("{s:s}", "error", uv_strerror(status)));
    if (c2s) lp_server_input_closed(&d->srv);
    lp_pump_shutdown_dst(p);
}

static void pump_dst_error(struct lp_pump *p, int status)
{
    struct dlv *d = p->data;
    say(d, "lsptap: writing to %s failed: %s\n", p == &d->c2s ? "dlv" : "the editor",
        uv_strerror(status));
}

static void pump_progress(struct lp_pump *p)
{
    maybe_finish(p->data);
}

static const struct lp_pump_cb pump_cb = {
    .on_bytes = pump_bytes,
    .on_src_end = pump_end,
    .on_dst_error = pump_dst_error,
    .on_progress = pump_progress,
};

/* dlv said where it listens but cannot be reached there: netcheck says
 * which layer broke; its report goes to stderr and the session. */
static void diagnose_dlv(struct dlv *d, char *verdict, size_t len)
{
    char host[256], port[32], err[256];
    verdict[0] = '\0';
    if (parse_hostport(d->dlv_addr, host, sizeof host, port, sizeof port, err, sizeof err)) return;
    struct lp_diag g;
    lp_diagnose(host, port, LN_PROBE_DAP, &g);
    if (g.report) event(d, LI_EV_NETCHECK, g.report);
    snprintf(verdict, len, ". netcheck: %s", g.verdict);
}

/* The editor's and dlv's sockets are both open: relay them. Each socket is
 * the source of one pump and the destination of the other, so only the
 * session's end closes them. */
static void start_relaying(struct dlv *d)
{
    d->state = ST_RELAYING;
    size_t hi = d->cfg.high_mark, lo = d->cfg.low_mark;
    lp_pump_init(&d->c2s, (uv_stream_t *)&d->editor, (uv_stream_t *)&d->server, hi, lo, &pump_cb,
                 d);
    lp_pump_init(&d->s2c, (uv_stream_t *)&d->server, (uv_stream_t *)&d->editor, hi, lo, &pump_cb,
                 d);
    d->c2s.close_dst = d->s2c.close_dst = d->c2s.close_src = d->s2c.close_src = 0;
    lp_pump_start(&d->c2s);
    lp_pump_start(&d->s2c);
}

static void on_server_connect(uv_connect_t *req, int status)
{
    struct dlv *d = req->data;
    if (status) {
        char verdict[800];
        diagnose_dlv(d, verdict, sizeof verdict);
        unavailable(d, "cannot connect to dlv at %s: %s%s", d->dlv_addr, uv_strerror(status),
                    verdict);
        lp_close_once((uv_handle_t *)&d->server);
        uv_read_start((uv_stream_t *)&d->editor, on_alloc, on_unavailable_read);
        return;
    }
    d->server_open = 1;
    event(d, LI_EV_CONNECTED, json_pack("{s:s}", "dlv", d->dlv_addr));
    start_relaying(d);
}

/* Accepts one connection from l into t (closed again on failure). 0 or
 * the libuv error. */
static int accept_tcp(struct dlv *d, uv_stream_t *l, uv_tcp_t *t)
{
    uv_tcp_init(d->loop, t);
    uv_tcp_nodelay(t, 1); /* DAP frames are small: no delayed-ACK waits */
    t->data = d;
    int rc = uv_accept(l, (uv_stream_t *)t);
    if (rc) lp_close_once((uv_handle_t *)t);
    return rc;
}

static void on_connection(uv_stream_t *l, int status)
{
    struct dlv *d = l->data;
    if (status || d->editor_open || accept_tcp(d, l, &d->editor)) return;
    d->editor_open = 1;
    uv_timer_stop(&d->no_client);
    struct sockaddr_storage peer;
    int plen = sizeof peer;
    char who[300] = "?";
    if (!uv_tcp_getpeername(&d->editor, (struct sockaddr *)&peer, &plen))
        ln_addrport_str((const struct sockaddr *)&peer, who, sizeof who);
    event(d, LI_EV_ACCEPTED, json_pack("{s:s}", "peer", who));
    /* dlv dap serves one client; so does its stand-in. */
    lp_close_once((uv_handle_t *)l);
    d->listening = 0;
    if (d->state == ST_UNAVAILABLE) {
        uv_read_start((uv_stream_t *)&d->editor, on_alloc, on_unavailable_read);
        return;
    }
    struct sockaddr_storage ss;
    char err[512];
    if (resolve(d->dlv_addr, &ss, err, sizeof err)) {
        unavailable(d, "dlv announced an address lsptap cannot use: %s", err);
        uv_read_start((uv_stream_t *)&d->editor, on_alloc, on_unavailable_read);
        return;
    }
    uv_tcp_init(d->loop, &d->server);
    uv_tcp_nodelay(&d->server, 1); /* DAP frames are small: no delayed-ACK waits */
    d->server.data = d;
    d->conn.data = d;
    int r = uv_tcp_connect(&d->conn, &d->server, (struct sockaddr *)&ss, on_server_connect);
    if (r) {
        unavailable(d, "cannot connect to dlv at %s: %s", d->dlv_addr, uv_strerror(r));
        lp_close_once((uv_handle_t *)&d->server);
        uv_read_start((uv_stream_t *)&d->editor, on_alloc, on_unavailable_read);
    }
}

/* ---- reverse mode: dlv dials lsptap, lsptap dials the editor ---- */

static void on_editor_reached(uv_connect_t *req, int status)
{
    struct dlv *d = req->data;
    d->editor_connecting = 0;
    if (status) {
        say(d, "lsptap: cannot reach the editor at %s: %s\n", d->a.client_addr,
            uv_strerror(status));
        event(d, LI_EV_CONNECT_FAILED,
              json_pack("{s:s, s:s}", "target", d->a.client_addr, "error", uv_strerror(status)));
        d->reverse_failed = 1;
        lp_close_once((uv_handle_t *)&d->editor);
        if (d->server_open) lp_close_once((uv_handle_t *)&d->server);
        lp_server_terminate(&d->srv);
        maybe_finish(d);
        return;
    }
    d->editor_open = 1;
    event(d, LI_EV_CONNECTED, json_pack("{s:s}", "editor", d->a.client_addr));
    if (d->state == ST_UNAVAILABLE) {
        uv_read_start((uv_stream_t *)&d->editor, on_alloc, on_unavailable_read);
        return;
    }
    d->server_open = 1;
    start_relaying(d);
}

static void reach_editor(struct dlv *d)
{
    struct sockaddr_storage ss;
    char err[512];
    uv_tcp_init(d->loop, &d->editor);
    uv_tcp_nodelay(&d->editor, 1); /* DAP frames are small: no delayed-ACK waits */
    d->editor.data = d;
    d->ed_conn.data = d;
    d->editor_connecting = 1;
    int r = resolve(d->a.client_addr, &ss, err, sizeof err);
    if (!r)
        r = uv_tcp_connect(&d->ed_conn, &d->editor, (struct sockaddr *)&ss, on_editor_reached);
    else
        say(d, "lsptap: --client-addr: %s\n", err);
    if (r) {
        d->editor_connecting = 0;
        d->reverse_failed = 1;
        lp_close_once((uv_handle_t *)&d->editor);
        lp_server_terminate(&d->srv);
    }
}

static void on_dlv_dialed(uv_stream_t *l, int status)
{
    struct dlv *d = l->data;
    if (status || d->server_open || accept_tcp(d, l, &d->server)) return;
    d->server_open = 1;
    d->announced = 1;
    uv_timer_stop(&d->start_timer);
    lp_close_once((uv_handle_t *)l);
    event(d, LI_EV_DLV_DIALED, NULL);
    reach_editor(d);
}

/* Listens on a free loopback port for dlv to dial, and points dlv there. */
static int start_reverse(struct dlv *d)
{
    struct sockaddr_in sin;
    uv_ip4_addr("127.0.0.1", 0, &sin);
    uv_tcp_init(d->loop, &d->rev_listener);
    d->rev_listener.data = d;
    int r = uv_tcp_bind(&d->rev_listener, (struct sockaddr *)&sin, 0);
    if (!r) r = uv_listen((uv_stream_t *)&d->rev_listener, 1, on_dlv_dialed);
    if (r) return r;
    struct sockaddr_storage bound;
    int blen = sizeof bound;
    uv_tcp_getsockname(&d->rev_listener, (struct sockaddr *)&bound, &blen);
    ln_addrport_str((const struct sockaddr *)&bound, d->dlv_addr, sizeof d->dlv_addr);
    snprintf(d->rev_arg, sizeof d->rev_arg, "--client-addr=%s", d->dlv_addr);
    return 0;
}

static void no_client(uv_timer_t *t)
{
    struct dlv *d = t->data;
    if (d->editor_open) return;
    say(d, "lsptap: no client connected to %s within %d s; giving up.\n", d->our_addr,
        NO_CLIENT_MS / 1000);
    if (d->listening) lp_close_once((uv_handle_t *)&d->listener);
    d->listening = 0;
    lp_server_terminate(&d->srv);
    maybe_finish(d);
}

static void go_listen(struct dlv *d)
{
    struct sockaddr_storage ss;
    char err[512];
    if (d->stopping) return;
    if (resolve(d->a.listen, &ss, err, sizeof err)) {
        say(d, "lsptap: cannot listen on --listen=%s: %s\n", d->a.listen, err);
        d->listen_failed = 1;
        lp_server_terminate(&d->srv);
        return;
    }
    uv_tcp_init(d->loop, &d->listener);
    d->listener.data = d;
    int r = uv_tcp_bind(&d->listener, (struct sockaddr *)&ss, 0);
    if (!r) r = uv_listen((uv_stream_t *)&d->listener, 1, on_connection);
    if (r) {
        say(d, "lsptap: cannot listen on %s: %s\n", d->a.listen, uv_strerror(r));
        d->listen_failed = 1;
        event(d, LI_EV_LISTEN_FAILED,
              json_pack("{s:s, s:s}", "addr", d->a.listen, "error", uv_strerror(r)));
        lp_close_once((uv_handle_t *)&d->listener);
        lp_server_terminate(&d->srv);
        return;
    }
    d->listening = 1;
    if (d->state == ST_STARTING) d->state = ST_LISTENING;
    struct sockaddr_storage bound;
    int blen = sizeof bound;
    uv_tcp_getsockname(&d->listener, (struct sockaddr *)&bound, &blen);
    ln_addrport_str((const struct sockaddr *)&bound, d->our_addr, sizeof d->our_addr);
    char line[400];
    int n = snprintf(line, sizeof line, ANNOUNCE "%s\n", d->our_addr);
    emit(d, &d->out, line, (size_t)n);
    if (d->a.log_fd >= 2 || d->log_file >= 0) emit_log(d, line, (size_t)n);
    event(d, LI_EV_LISTENING,
          json_pack("{s:s, s:s}", "addr", d->our_addr, "dlv", d->announced ? d->dlv_addr : ""));
    uv_timer_start(&d->no_client, no_client, NO_CLIENT_MS, 0);
}

/* ---- the end ---- */

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    lp_close_once(h);
}

static void maybe_finish(struct dlv *d)
{
    if (d->finishing || d->srv.running || d->ch_open > 0 || d->writes) return;
    if (d->state == ST_RELAYING) {
        /* A signal ends the drain: vscode-go sends SIGINT 1 s after
         * disconnect to an adapter still running, and dlv alone would be
         * gone by then. */
        int drained = d->stopping || d->drained;
        int done =
            d->c2s.src_eof && d->s2c.src_eof && lp_pump_idle(&d->c2s) && lp_pump_idle(&d->s2c);
        /* dlv is gone; an editor that keeps its socket open gets LP_SERVER_DRAIN_MS. */
        if (!done && !(drained && d->s2c.src_eof && d->s2c.writes == 0)) return;
    } else if (d->state == ST_UNAVAILABLE) {
        /* Wait for a client to hear why, and for it to hang up. */
        if (d->listening || d->editor_open || d->editor_connecting) return;
    }
    d->finishing = 1;
    uv_walk(d->loop, close_walk, NULL);
}

static int spawn_dlv(struct dlv *d, const char *path)
{
    /* dlv's fds: our stdin, a pipe for stdout and for stderr, and with a
     * --log-dest a pipe at the fd dlv logs to (3 when lsptap writes the
     * file); the fds between are closed in dlv. */
    int nfd = d->a.log_fd > 2 ? d->a.log_fd + 1 : (d->log_file >= 0 ? 4 : 3);
    int theirs[3] = {-1, -1, -1}, r;
    uv_pipe_init(d->loop, &d->ch_out, 0);
    uv_pipe_init(d->loop, &d->ch_err, 0);
    if (nfd > 3) {
        uv_pipe_init(d->loop, &d->ch_log, 0);
        d->has_log_pipe = 1;
    }
    if (!(r = lp_server_stdio(&d->ch_out, &theirs[0])) &&
        !(r = lp_server_stdio(&d->ch_err, &theirs[1])) && d->has_log_pipe)
        r = lp_server_stdio(&d->ch_log, &theirs[2]);
    if (!r) {
        struct lp_server_opts so = {
            .child = {.file = path,
                      .args = d->child_argv,
                      .fd = {0, theirs[0], theirs[1]},
                      .extra_fd = theirs[2],
                      .extra_as = d->has_log_pipe ? nfd - 1 : 0},
            .grace_ms = d->cfg.grace_ms,
            .kill_ms = d->cfg.kill_ms,
            .drain_ms = LP_SERVER_DRAIN_MS,
            .cb = server_event,
        };
        d->srv.data = d;
        r = lp_server_spawn(d->loop, &d->srv, &so);
    }
    for (int i = 0; i < 3; i++)
        if (theirs[i] >= 0) close(theirs[i]); /* dlv has its copies */
    if (r) return r;
    d->ch_out.data = d->ch_err.data = d->ch_log.data = d;
    d->ch_open = 2 + d->has_log_pipe;
    /* The listening line comes on the stream dlv logs to. */
    if (d->has_log_pipe) {
        uv_read_start((uv_stream_t *)&d->ch_log, on_alloc, on_announce_read);
        uv_read_start((uv_stream_t *)&d->ch_out, on_alloc, on_out_read);
        uv_read_start((uv_stream_t *)&d->ch_err, on_alloc, on_err_read);
    } else if (d->a.log_fd == 2) {
        uv_read_start((uv_stream_t *)&d->ch_out, on_alloc, on_out_read);
        uv_read_start((uv_stream_t *)&d->ch_err, on_alloc, on_announce_read);
    } else {
        uv_read_start((uv_stream_t *)&d->ch_out, on_alloc, on_announce_read);
        uv_read_start((uv_stream_t *)&d->ch_err, on_alloc, on_err_read);
    }
    return 0;
}

/* The child's command line: the editor's, with --listen pointed at a free
 * loopback port and a --log-dest file replaced by a pipe lsptap copies to
 * that file (so the listening line can be read). */
static char **child_args(struct dlv *d, int argc, char **argv, const char *path)
{
    char **v = calloc((size_t)argc + 3, sizeof *v);
    if (!v) return NULL;
    int n = 0;
    v[n++] = (char *)path;
    for (int i = 1; i < argc; i++) {
        if (i == d->a.listen_arg) {
            v[n++] = "--listen=127.0.0.1:0";
            if (!d->a.listen_inline) i++;
        } else if (i == d->a.client_arg) {
            v[n++] = d->rev_arg;
            if (!d->a.client_inline) i++;
        } else if (i == d->a.log_arg && d->log_file >= 0) {
            v[n++] = "--log-dest=3";
            if (!d->a.log_inline) i++;
        } else {
            v[n++] = argv[i];
        }
    }
    v[n] = NULL;
    return v;
}

/* The relay's rule (docs/design.md principle 6): the stand-in listens on
 * loopback unless told otherwise. The real dlv then listens on loopback
 * too, so its own warning about remote connections never comes: when the
 * user allowed it, lsptap gives that warning itself. Returns 0 to go on, -1
 * when refused (said on stderr; dlv itself exits 1 when it cannot listen). */
static int listen_policy(struct dlv *d)
{
    struct sockaddr_storage ss;
    char err[512];
    if (resolve(d->a.listen, &ss, err, sizeof err) ||
        ln_sockaddr_is_loopback((const struct sockaddr *)&ss))
        return 0; /* an unusable address fails later, with dlv's wording */
    if (!d->cfg.dlv_allow_remote) {
        /* Before the loop: straight to fd 2, nothing else is queued yet. */
        fprintf(stderr,
                "lsptap: refusing to listen on --listen=%s: it is not a loopback address, and the "
                "DAP connection is neither authenticated nor encrypted, so anyone who can reach it "
                "could run code as you. Listen on 127.0.0.1 or [::1] (and tunnel, e.g. ssh -L), "
                "or set LSPTAP_DLV_ALLOW_REMOTE=on to accept that risk.\n",
                d->a.listen);
        return -1;
    }
    say(d,
        "lsptap: warning: listening for remote connections on %s (connections are not "
        "authenticated nor encrypted; LSPTAP_DLV_ALLOW_REMOTE is on)\n",
        d->a.listen);
    return 0;
}

int lp_dlv_main(int argc, char **argv)
{
    struct dlv *d = &D;
    memset(d, 0, sizeof *d);
    char warn[4096];
    lp_config_load(&d->cfg, warn, sizeof warn);
    lp_dlv_parse(argc, argv, &d->a);
    if (!d->a.is_dap) return lp_exec_tool("dlv", d->cfg.dlv, "LSPTAP_DLV", argv);

    signal(SIGPIPE, SIG_IGN);
    d->loop = uv_default_loop();
    d->log_file = -1;
    out_open(d, &d->out, 1);
    out_open(d, &d->err, 2);
    if (d->a.log_fd > 2) {
        if (fcntl(d->a.log_fd, F_GETFD) < 0)
            d->a.log_fd = -1; /* not inherited: dlv's own error */
        else
            out_open(d, &d->log, d->a.log_fd);
    } else if (d->a.log_fd < 0 && d->a.log_dest && *d->a.log_dest) {
        d->log_file = open(d->a.log_dest, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    }
    if (*warn) say(d, "lsptap: %s\n", warn);
    if (!d->a.client_addr && listen_policy(d)) return 1;

    if (d->a.client_addr) {
        int r = start_reverse(d);
        if (r) {
            say(d, "lsptap: cannot listen on a loopback port for dlv to dial: %s\n",
                uv_strerror(r));
            return 1;
        }
    }
    char path[4096], err[16384];
    int found = lp_find_tool("dlv", d->cfg.dlv, "LSPTAP_DLV", path, sizeof path, err, sizeof err);
    d->child_argv = child_args(d, argc, argv, found ? argv[0] : path);
    if (!d->child_argv) return 70;
    if (lp_session_open(&d->sess, &d->cfg, "dlv", LI_DAP, d->child_argv, on_msg, d)) return 70;
    uv_timer_init(d->loop, &d->start_timer);
    uv_timer_init(d->loop, &d->no_client);
    d->start_timer.data = d->no_client.data = d;
    lp_server_watch_signals(d->loop, d->sig, on_signal, d);

    if (found) {
        unavailable(d, "%s", err);
    } else {
        int r = spawn_dlv(d, path);
        if (r) {
            unavailable(d, "cannot start %s: %s", path, uv_strerror(r));
        } else {
            event(d, LI_EV_SPAWN, json_pack("{s:i, s:s}", "pid", d->srv.child.pid, "path", path));
            uv_timer_start(&d->start_timer, start_timeout, d->cfg.dlv_start_ms, 0);
        }
    }
    uv_run(d->loop, UV_RUN_DEFAULT);

    int code;
    char ending[3000];
    if (d->reverse_failed && (!d->srv.exited || d->srv.term_signal)) {
        code = 1; /* as dlv itself, which could not dial the editor */
        snprintf(ending, sizeof ending, "could not reach the editor at %s", d->a.client_addr);
    } else if (d->listen_failed && d->announced) {
        /* dlv was fine and was stopped because lsptap could not listen:
         * fail as dlv alone fails then ("couldn't start listener"). */
        code = 1;
        snprintf(ending, sizeof ending, "lsptap could not listen on %s", d->a.listen);
    } else if (!d->srv.exited) {
        code = 127;
        snprintf(ending, sizeof ending, "dlv did not run: %.2900s", d->why);
    } else if (d->srv.term_signal) {
        code = 128 + d->srv.term_signal;
        snprintf(ending, sizeof ending, "dlv killed by signal %d (%s)", d->srv.term_signal,
                 strsignal(d->srv.term_signal));
    } else {
        code = (int)d->srv.exit_status;
        snprintf(ending, sizeof ending, "dlv exited with status %d", (int)d->srv.exit_status);
    }
    json_t *extra = json_pack("{s:s, s:i, s:s, s:s}", "ending", ending, "exit_code", code, "listen",
                              d->our_addr, "dlv", d->dlv_addr);
    if (d->state == ST_UNAVAILABLE) json_object_set_new(extra, "unavailable", json_string(d->why));
    if (d->err_tail_len)
        json_object_set_new(extra, "stderr_tail", json_stringn(d->err_tail, d->err_tail_len));
    if (d->log_file >= 0) close(d->log_file);
    for (int fd = 0; fd < 3; fd++)
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    lp_session_close(&d->sess, "dlv", extra, ending, d->srv.exited && (d->srv.term_signal || code));
    json_decref(extra);
    free(d->child_argv);
    li_buf_free(&d->replies);
    return code;
}
