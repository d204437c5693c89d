#include "proxy/lp_netrelay.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <uv.h>

#include "env/lp_config.h"
#include "env/lp_diag.h"
#include "inspect/li_say.h"
#include "io/lp_pump.h"
#include "io/lp_server.h"
#include "io/lp_stdio.h"
#include "io/lp_tls.h"
#include "netcheck/ln_hostport.h"
#include "proxy/lp_serve.h"
#include "proxy/lp_server_event.h"
#include "resume/lp_keepalive.h"

#define DEFAULT_MAX_CONNS 16
#define TLS_HANDSHAKE_MS 10000 /* a silent client must not hold a connection slot */
#define TLS_CONFIRM_MS 1000    /* TLS 1.3: wait for the server's word on our certificate */

/* ---- addresses ---- */

int lp_addr_parse(const char *s, struct lp_addr *a, char *err, size_t errlen)
{
    memset(a, 0, sizeof *a);
    snprintf(a->text, sizeof a->text, "%s", s);
    if (!strncmp(s, "unix:", 5)) {
        a->kind = LP_ADDR_UNIX;
        if (!s[5] || strlen(s + 5) >= sizeof a->path) {
            snprintf(err, errlen, "\"%s\": a unix socket path must be 1 to %zu bytes", s,
                     sizeof a->path - 1);
            return -EINVAL;
        }
        strcpy(a->path, s + 5);
        return 0;
    }
    a->kind = LP_ADDR_TCP;
    if (!strncmp(s, "tls://", 6)) {
        a->kind = LP_ADDR_TLS;
        s += 6;
    } else if (!strncmp(s, "tcp://", 6)) {
        s += 6;
    }
    if (!strchr(s, ':')) {
        snprintf(err, errlen, "\"%s\" is not HOST:PORT, [IPV6]:PORT or unix:PATH", a->text);
        return -EINVAL;
    }
    uint16_t port;
    int r = ln_hostport_parse(s, strlen(s), LN_HP_EMPTY_HOST | LN_HP_PORT_ZERO, a->host,
                              sizeof a->host, &port, err, errlen);
    if (r) return r;
    snprintf(a->port, sizeof a->port, "%u", port);
    return 0;
}

static int resolve(const struct lp_addr *a, int passive, struct addrinfo **res)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = passive ? AI_PASSIVE : 0};
    return getaddrinfo(*a->host ? a->host : NULL, a->port, &hints, res);
}

/* 1 when every address host resolves to is loopback (127/8, ::1); unix
 * sockets count as local. 0 otherwise or when it does not resolve. */
static int lp_addr_is_local(const struct lp_addr *a)
{
    if (a->kind == LP_ADDR_UNIX) return 1;
    if (!*a->host) return 0; /* ":PORT" means every interface */
    struct addrinfo *res, *ai;
    if (resolve(a, 1, &res)) return 0;
    int local = 1;
    for (ai = res; ai; ai = ai->ai_next)
        local &= ln_sockaddr_is_loopback(ai->ai_addr);
    freeaddrinfo(res);
    return local;
}

/* ---- one relayed connection ---- */

struct netrelay;

union stream {
    uv_handle_t h;
    uv_stream_t s;
    uv_tcp_t tcp;
    uv_pipe_t pipe;
};

struct conn {
    struct netrelay *nr;
    int id;
    union stream ed, ed_out; /* ed_out used only for stdio (stdin/stdout differ) */
    struct lp_tls *ed_tls;   /* a tls:// listener's connection: owns the socket, not ed */
    struct lp_tls *srv_tls;  /* a tls:// server: owns the socket, not srv */
    int ed_split;            /* editor side is two handles */
    union stream srv;        /* the connected server, or the child's stdin */
    union stream srv_out;    /* the child's stdout */
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
    struct ka_side *ka; /* keep-alive (--connect with stdio, LSP); NULL when off */
};

struct netrelay {
    struct lp_config cfg;
    uv_loop_t *loop;
    struct lp_addr listen, connect;
    int has_listen, has_connect;
    struct lp_tls_files listen_files, connect_files;
    struct ssl_ctx_st *listen_ctx, *connect_ctx;
    char **cmd;
    enum li_proto proto;
    int max_conns, active, next_id;
    union stream listener;
    dev_t sock_dev; /* our unix socket's file, to remove it at exit (0: none) */
    ino_t sock_ino;
    struct lp_bridge in_bridge, out_bridge;
    int exit_code;
    int stdio_mode;
    char why[4096]; /* stdio mode: why the server is unavailable */
};

static uint64_t now(struct conn *c)
{
    return lp_session_now(&c->sess);
}

static void event(struct conn *c, enum li_event ev, json_t *f)
{
    lp_session_event(&c->sess, ev, f);
}

static void conn_check(struct conn *c);

/* Keep-alive's side of a connection, defined with its functions below. */
static int ka_open(struct conn *c);
static void ka_close(struct conn *c);
static struct lp_ka *ka_engine(struct conn *c);
static int ka_server_ended(struct conn *c, int status, const char *error);
static int ka_editor_ended(struct conn *c);
static int ka_holds(struct conn *c, char *ending, size_t cap);

static void handle_closed(uv_handle_t *h)
{
    struct conn *c = h->data;
    if (--c->open_handles == 0) {
        struct netrelay *nr = c->nr;
        nr->active--;
        free(c);
    }
}

static void tls_closed(void *arg)
{
    struct conn *c = arg;
    if (--c->open_handles == 0) {
        c->nr->active--;
        free(c);
    }
}

static void proc_closed(struct lp_server *s)
{
    tls_closed(s->data); /* the same release of c */
}

static void close_tls(struct conn *c, struct lp_tls *t)
{
    if (!t) return;
    c->open_handles++;
    lp_tls_close(t, tls_closed, c);
}

static void close_h(struct conn *c, uv_handle_t *h)
{
    if (!h->loop || uv_is_closing(h)) return;
    h->data = c;
    c->open_handles++;
    uv_close(h, handle_closed);
}

static void conn_end(struct conn *c, const char *ending)
{
    if (c->done) return;
    c->done = 1;
    struct li_counts k;
    li_session_counts(c->sess.li, &k);
    json_t *extra = json_pack("{s:s, s:i}", "ending", ending, "connection", c->id);
    char role[32];
    snprintf(role, sizeof role, "relay #%d", c->id);
    lp_session_close(&c->sess, role, extra, ending, 0);
    json_decref(extra);
    c->open_handles++; /* hold c until every close below has run */
    close_tls(c, c->ed_tls);
    close_h(c, &c->ed.h);
    if (c->ed_split) close_h(c, &c->ed_out.h);
    close_tls(c, c->srv_tls);
    close_h(c, &c->srv.h);
    if (c->srv_split) close_h(c, &c->srv_out.h);
    if (c->proc_init) {
        c->open_handles++;
        lp_server_close(&c->proc, proc_closed);
    }
    ka_close(c);
    c->open_handles--;
    if (c->open_handles == 0) {
        c->nr->active--;
        free(c);
    }
}

static void conn_check(struct conn *c)
{
    /* The connection is over when the server is: it closed its side and
     * everything it said reached the editor (and, for CMD, it exited). The
     * editor's side may stay open — nothing is left to read what it sends,
     * as with the stdio relay. */
    if (c->done || !c->pumping) return;
    if (!c->s2c.src_eof || c->s2c.writes) return;
    if (c->has_proc && c->proc.running) return;
    char ending[700];
    if (c->ka && ka_holds(c, ending, sizeof ending)) return;
    if (c->ka && *ending) {
        conn_end(c, ending);
        return;
    }
    int sig = c->proc.term_signal, status = (int)c->proc.exit_status;
    if (c->has_proc && sig)
        snprintf(ending, sizeof ending, "server killed by signal %d", sig);
    else if (c->has_proc)
        snprintf(ending, sizeof ending, "server exited with status %d", status);
    else
        snprintf(ending, sizeof ending, "both sides closed");
    if (c->nr->stdio_mode) c->nr->exit_code = c->has_proc ? (sig ? 128 + sig : status) : 0;
    conn_end(c, ending);
}

static void on_bytes(struct lp_pump *p, const char *data, size_t len)
{
    struct conn *c = p->data;
    li_session_feed(c->sess.li, p == &c->c2s ? LI_C2S : LI_S2C, data, len, now(c));
}

static void on_src_end(struct lp_pump *p, int status)
{
    struct conn *c = p->data;
    struct lp_tls *t = p == &c->c2s ? c->ed_tls : c->srv_tls;
    const char *why = t && *lp_tls_error(t) ? lp_tls_error(t) : uv_strerror(status);
    if (c->ka && p == &c->s2c && ka_server_ended(c, status, why)) return;
    if (c->ka && p == &c->c2s && ka_editor_ended(c)) return;
    li_session_eof(c->sess.li, p == &c->c2s ? LI_C2S : LI_S2C, now(c));
    if (status != UV_EOF)
        fprintf(stderr, "lsptap: relay #%d: reading from the %s failed: %s\n", c->id,
                p == &c->c2s ? "editor" : "server", why);
    event(c, p == &c->c2s ? LI_EV_EDITOR_EOF : LI_EV_SERVER_EOF,
          status == UV_EOF ? NULL : json_pack("{s:s}", "error", why));
    lp_pump_shutdown_dst(p);
    if (p == &c->c2s && c->has_proc) lp_server_input_closed(&c->proc);
}

static void on_dst_error(struct lp_pump *p, int status)
{
    struct conn *c = p->data;
    fprintf(stderr, "lsptap: relay #%d: writing to the %s failed: %s\n", c->id,
            p == &c->c2s ? "server" : "editor", uv_strerror(status));
}

static void on_progress(struct lp_pump *p)
{
    conn_check(p->data);
}

static const struct lp_pump_cb pump_cb = {on_bytes, on_src_end, on_dst_error, on_progress};

static void start_pumps(struct conn *c)
{
    struct netrelay *nr = c->nr;
    uv_stream_t *ed_in = &c->ed.s, *ed_out = c->ed_split ? &c->ed_out.s : &c->ed.s;
    uv_stream_t *srv_in = &c->srv.s, *srv_out = c->srv_split ? &c->srv_out.s : &c->srv.s;
    if (c->ed_tls) ed_in = ed_out = lp_tls_stream(c->ed_tls);
    if (c->srv_tls) srv_in = srv_out = lp_tls_stream(c->srv_tls);
    lp_pump_init(&c->c2s, ed_in, srv_in, nr->cfg.high_mark, nr->cfg.low_mark, &pump_cb, c);
    lp_pump_init(&c->s2c, srv_out, ed_out, nr->cfg.high_mark, nr->cfg.low_mark, &pump_cb, c);
    if (c->ed_tls) {
        lp_pump_src_ops(&c->c2s, &lp_tls_ops, c->ed_tls);
        lp_pump_dst_ops(&c->s2c, &lp_tls_ops, c->ed_tls);
    }
    if (c->srv_tls) {
        lp_pump_src_ops(&c->s2c, &lp_tls_ops, c->srv_tls);
        lp_pump_dst_ops(&c->c2s, &lp_tls_ops, c->srv_tls);
    }
    /* Handles are closed by conn_end, never by one direction's EOF: a
     * socket is one pump's source and the other's destination. */
    c->c2s.close_src = c->c2s.close_dst = c->s2c.close_src = c->s2c.close_dst = 0;
    c->pumping = 1;
    lp_pump_start(&c->c2s);
    lp_pump_start(&c->s2c);
}

/* The drain time after the server's exit passed and its stdout is still open: a
 * process it started holds it. What is left of its process group is
 * killed and the connection ends, as the stdio relay does. */
static void drain_over(struct conn *c, const struct lp_server_event *ev)
{
    if (c->s2c.src_eof) return;
    fprintf(stderr,
            "lsptap: relay #%d: %s exited but its stdout is still open %d ms later (a process it "
            "started holds it); killing what is left of its process group.\n",
            c->id, c->nr->cmd[0], LP_SERVER_DRAIN_MS);
    enum li_event name;
    json_t *f = lp_server_event_fields(ev, &name);
    event(c, name, f);
    lp_server_kill_group(&c->proc, SIGKILL);
    lp_pump_stop_src(&c->s2c);
    li_session_eof(c->sess.li, LI_S2C, now(c));
    lp_pump_shutdown_dst(&c->s2c);
    conn_check(c);
}

static void server_event(struct lp_server *s, const struct lp_server_event *ev)
{
    struct conn *c = s->data;
    enum li_event name;
    json_t *f;
    switch (ev->type) {
    case LP_SERVER_EXIT:
    case LP_SERVER_TERMINATE:
        f = lp_server_event_fields(ev, &name);
        event(c, name, f);
        if (ev->type == LP_SERVER_EXIT) {
            if (!c->s2c.src_eof) lp_server_drain(s);
            conn_check(c);
        }
        break;
    case LP_SERVER_DRAIN:
        drain_over(c, ev);
        break;
    }
}

static struct conn *conn_new(struct netrelay *nr, char **argv)
{
    struct conn *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->nr = nr;
    c->id = ++nr->next_id;
    nr->active++;
    if (nr->stdio_mode && nr->proto == LI_LSP && nr->cfg.keepalive && ka_open(c)) {
        nr->active--;
        free(c);
        return NULL;
    }
    if (lp_session_open(&c->sess, &nr->cfg, "relay", nr->proto, argv, c->ka ? lp_ka_on_msg : NULL,
                        c->ka ? (void *)ka_engine(c) : NULL)) {
        ka_close(c);
        nr->active--;
        free(c);
        return NULL;
    }
    return c;
}

static int spawn_cmd(struct conn *c)
{
    struct netrelay *nr = c->nr;
    uv_pipe_init(nr->loop, &c->srv.pipe, 0);
    uv_pipe_init(nr->loop, &c->srv_out.pipe, 0);
    c->srv_split = 1;
    int in = -1, out = -1;
    int r = lp_server_stdio(&c->srv.pipe, &in);
    if (!r) r = lp_server_stdio(&c->srv_out.pipe, &out);
    if (!r) {
        struct lp_server_opts so = {
            .child = {.file = nr->cmd[0], .args = nr->cmd, .fd = {in, out, 2}},
            .grace_ms = nr->cfg.grace_ms,
            .kill_ms = nr->cfg.kill_ms,
            .drain_ms = LP_SERVER_DRAIN_MS,
            .cb = server_event,
        };
        c->proc.data = c;
        c->proc_init = 1;
        r = lp_server_spawn(nr->loop, &c->proc, &so);
    }
    if (in >= 0) close(in); /* the server has its copies */
    if (out >= 0) close(out);
    if (r) return r;
    c->has_proc = 1;
    json_t *av = json_array();
    for (char **a = nr->cmd; *a; a++)
        json_array_append_new(av, json_string(*a));
    event(c, LI_EV_SPAWN, json_pack("{s:i, s:o}", "pid", c->proc.child.pid, "argv", av));
    return 0;
}

/* A connect failed: netcheck says which layer broke and why; its report
 * goes to stderr and the session, its verdict into nr->why. */
static void diagnose(struct conn *c)
{
    struct netrelay *nr = c->nr;
    if (nr->connect.kind == LP_ADDR_UNIX) return;
    struct lp_diag d;
    struct lp_diag_tls tls = {nr->connect.kind == LP_ADDR_TLS, nr->connect_files.ca,
                              nr->connect_files.cert, nr->connect_files.key};
    lp_diagnose_tls(nr->connect.host, nr->connect.port,
                    nr->proto == LI_DAP ? LN_PROBE_DAP : LN_PROBE_LSP, &tls, &d);
    if (d.report) event(c, LI_EV_NETCHECK, d.report);
    size_t n = strlen(nr->why);
    snprintf(nr->why + n, sizeof nr->why - n, ". netcheck: %s%s%s", d.verdict,
             *d.layers ? "\n" : "", d.layers);
}

/* The server side is ready (connected, and through TLS when asked). */
static void server_ready(struct conn *c)
{
    struct netrelay *nr = c->nr;
    event(c, LI_EV_CONNECTED, json_pack("{s:s}", "target", nr->connect.text));
    if (nr->stdio_mode) {
        /* Only now are stdin and stdout taken over: had the connect failed,
         * they stay as they are for the answer inside the protocol. */
        int r = lp_stdio_open(nr->loop, &c->ed.pipe, 0, 1, &nr->in_bridge);
        if (!r) r = lp_stdio_open(nr->loop, &c->ed_out.pipe, 1, 0, &nr->out_bridge);
        if (r) {
            fprintf(stderr, "lsptap: cannot use this process's standard streams: %s\n",
                    uv_strerror(r));
            conn_end(c, "stdio unusable");
            return;
        }
        c->ed_split = 1;
    }
    start_pumps(c);
}

static void tls_event(struct conn *c, struct lp_tls *t, const char *side)
{
    char how[128], subj[256];
    lp_tls_describe(t, how, sizeof how);
    lp_tls_peer_subject(t, subj, sizeof subj);
    json_t *f = json_pack("{s:s, s:s}", "side", side, "protocol", how);
    if (*subj) json_object_set_new(f, "peer_certificate", json_string(subj));
    event(c, LI_EV_TLS, f);
}

/* The one way a connection to the server fails: the reason on stderr and
 * in the session, netcheck on the target, and (stdio mode) the answer
 * inside the protocol once the loop is over. */
static void server_failed(struct conn *c, enum li_event ev, const char *what, const char *error,
                          const char *ending)
{
    struct netrelay *nr = c->nr;
    snprintf(nr->why, sizeof nr->why, "%s %s: %s", what, nr->connect.text, error);
    fprintf(stderr, "lsptap: relay #%d: %s\n", c->id, nr->why);
    event(c, ev, json_pack("{s:s, s:s}", "target", nr->connect.text, "error", error));
    diagnose(c);
    if (nr->stdio_mode) nr->exit_code = -1;
    conn_end(c, ending);
}

static void server_tls_done(struct lp_tls *t, int status)
{
    struct conn *c = lp_tls_data(t);
    if (status) {
        server_failed(c, LI_EV_TLS_FAILED, "TLS handshake failed with", lp_tls_error(t),
                      "TLS handshake failed");
        return;
    }
    tls_event(c, t, "server");
    server_ready(c);
}

static void on_connected(uv_connect_t *req, int status)
{
    struct conn *c = req->data;
    if (status) {
        server_failed(c, LI_EV_CONNECT_FAILED, "cannot connect to", uv_strerror(status),
                      "connect failed");
        return;
    }
    if (c->srv_tls) {
        int r = lp_tls_handshake(c->srv_tls, TLS_HANDSHAKE_MS, TLS_CONFIRM_MS, server_tls_done, c);
        if (r) {
            fprintf(stderr, "lsptap: relay #%d: cannot start TLS: %s\n", c->id, uv_strerror(r));
            conn_end(c, "TLS unavailable");
        }
        return;
    }
    server_ready(c);
}

/* A failed dial of the server: nr->why says why (the editor's error in
 * stdio mode), on stderr too. */
static void connect_failed(struct conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void connect_failed(struct conn *c, const char *fmt, ...)
{
    struct netrelay *nr = c->nr;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(nr->why, sizeof nr->why, fmt, ap);
    va_end(ap);
    fprintf(stderr, "lsptap: relay #%d: %s\n", c->id, nr->why);
    if (nr->stdio_mode) nr->exit_code = -1;
}

/* Starts the server side of c: a connection to --connect, or CMD. */
static int open_server(struct conn *c)
{
    struct netrelay *nr = c->nr;
    if (nr->cmd) {
        int r = spawn_cmd(c);
        if (r) {
            fprintf(stderr, "lsptap: relay #%d: cannot start %s: %s\n", c->id, nr->cmd[0],
                    uv_strerror(r));
            return r;
        }
        start_pumps(c);
        return 0;
    }
    c->creq.data = c;
    if (nr->connect.kind == LP_ADDR_UNIX) {
        uv_pipe_init(nr->loop, &c->srv.pipe, 0);
        uv_pipe_connect(&c->creq, &c->srv.pipe, nr->connect.path, on_connected);
        return 0;
    }
    struct addrinfo *res;
    int g = resolve(&nr->connect, 0, &res);
    if (g) {
        connect_failed(c, "cannot resolve %s: %s", nr->connect.host, gai_strerror(g));
        return UV_EAI_NONAME;
    }
    uv_tcp_t *tcp = &c->srv.tcp;
    if (nr->connect.kind == LP_ADDR_TLS) {
        c->srv_tls = lp_tls_new(nr->loop, nr->connect_ctx, 0, nr->connect.host);
        if (!c->srv_tls) {
            freeaddrinfo(res);
            return UV_ENOMEM;
        }
        tcp = (uv_tcp_t *)lp_tls_stream(c->srv_tls);
    } else {
        uv_tcp_init(nr->loop, tcp);
    }
    /* LSP frames are small and answered one at a time: without NODELAY, a
     * frame that arrives in two reads (gopls writes its header and body
     * separately) waits for the peer's delayed ACK, 40 ms on Linux. */
    uv_tcp_nodelay(tcp, 1);
    int r = uv_tcp_connect(&c->creq, tcp, res->ai_addr, on_connected);
    freeaddrinfo(res);
    if (r) connect_failed(c, "cannot connect to %s: %s", nr->connect.text, uv_strerror(r));
    return r;
}

/* ---- keep-alive: relay --connect with this process's stdio ----
 *
 * After the handshake, a dropped connection does not end the session: the
 * editor's stdio stays open, the target is reconnected with backoff, and
 * lp_keepalive brings the new server to where the lost one was
 * (docs/keep-alive.md). From the first loss on, the editor's bytes go
 * through the engine (the c2s pump's filter) and each new connection's
 * output too (its own pump, `rd`); the engine writes to the editor through
 * c->s2c, whose source, the first connection, has ended. */

#define KA_BACKOFF_FIRST_MS 100
#define KA_BACKOFF_MAX_MS 5000
#define KA_DIAG_KINDS 8

struct ka_link {
    struct conn *c; /* NULL once the link is abandoned */
    union stream s; /* plain TCP or unix; with TLS the socket is tls's */
    struct lp_tls *tls;
    uv_connect_t creq;
    struct lp_pump rd; /* the server's output into the engine */
    int up;            /* connected (and through TLS): rd is reading */
};

struct ka_side {
    struct li_state *st;
    struct lp_ka *ka;
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

static struct lp_ka *ka_engine(struct conn *c)
{
    return c->ka->ka;
}

static uv_stream_t *ka_editor_out(struct conn *c)
{
    return c->ed_split ? &c->ed_out.s : &c->ed.s;
}

static void ka_to_server(void *ud, const char *d, size_t n)
{
    struct conn *c = ud;
    if (c->ka->link && c->ka->link->up) lp_pump_write(&c->c2s, d, n);
}

static void ka_to_editor(void *ud, const char *d, size_t n)
{
    struct conn *c = ud;
    lp_pump_write(&c->s2c, d, n);
    li_session_feed(c->sess.li, LI_S2C, d, n, now(c));
}

static void ka_event(void *ud, enum li_event ev, json_t *f)
{
    event(ud, ev, f);
}

static void ka_say(void *ud, const char *line)
{
    (void)ud;
    li_say("%s", line);
}

static void ka_lost_again(struct conn *c, const char *why);

static void ka_drop(void *ud, const char *why)
{
    ka_lost_again(ud, why);
}

static const struct lp_ka_cb ka_cb = {ka_to_server, ka_to_editor, ka_event, ka_say, ka_drop, NULL};

static int ka_open(struct conn *c)
{
    const struct lp_config *cfg = &c->nr->cfg;
    struct ka_side *k = calloc(1, sizeof *k);
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
static void ka_link_drop(struct conn *c)
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

static void ka_free(struct ka_side *k)
{
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
static void ka_close(struct conn *c)
{
    struct ka_side *k = c->ka;
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
static void ka_finish(struct conn *c, const char *ending, int exit_code)
{
    struct ka_side *k = c->ka;
    if (*k->ending) return;
    snprintf(k->ending, sizeof k->ending, "%s", ending);
    k->exit_code = exit_code;
    if (k->timer_init) uv_timer_stop(&k->timer);
    ka_link_drop(c);
    li_session_eof(c->sess.li, LI_S2C, now(c));
    lp_pump_shutdown_dst(&c->s2c);
    conn_check(c);
}

static int ka_holds(struct conn *c, char *ending, size_t cap)
{
    struct ka_side *k = c->ka;
    *ending = '\0';
    if (!k->engaged) return 0;
    if (!*k->ending) return 1;
    snprintf(ending, cap, "%s", k->ending);
    if (c->nr->stdio_mode) c->nr->exit_code = k->exit_code;
    return 0;
}

static void ka_attempt(uv_timer_t *t);

static void ka_schedule(struct conn *c, uint64_t ms)
{
    struct ka_side *k = c->ka;
    if (!k->timer_init) {
        uv_timer_init(c->nr->loop, &k->timer);
        k->timer.data = c;
        k->timer_init = 1;
    }
    uv_timer_start(&k->timer, ka_attempt, ms, 0);
}

/* The server was lost (its connection ended, or the new one failed the
 * resume). Returns 0 when keep-alive goes on. */
static int ka_loss(struct conn *c, const char *why)
{
    struct ka_side *k = c->ka;
    int r = lp_ka_lost(k->ka, now(c), li_session_at_boundary(c->sess.li, LI_S2C), why);
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

static void ka_c2s_filter(struct lp_pump *p, const char *d, size_t n)
{
    struct conn *c = p->data;
    /* The session first: the tracker must have every message before the
     * engine builds a replay from it. */
    li_session_feed(c->sess.li, LI_C2S, d, n, now(c));
    if (c->ka) lp_ka_editor(c->ka->ka, d, n);
}

static int ka_server_ended(struct conn *c, int status, const char *error)
{
    struct ka_side *k = c->ka;
    if (c->c2s.src_eof || *k->ending) return 0;
    char why[600];
    snprintf(why, sizeof why, "the connection to %s dropped%s%s%s", c->nr->connect.text,
             status == UV_EOF ? "" : " (", status == UV_EOF ? "" : error,
             status == UV_EOF ? "" : ")");
    int r = ka_loss(c, why);
    if (!r) {
        event(c, LI_EV_SERVER_EOF, status == UV_EOF ? NULL : json_pack("{s:s}", "error", error));
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

static int ka_editor_ended(struct conn *c)
{
    struct ka_side *k = c->ka;
    if (!k->engaged || (k->link && k->link->up) || *k->ending) return 0;
    li_session_eof(c->sess.li, LI_C2S, now(c));
    event(c, LI_EV_EDITOR_EOF, NULL);
    ka_finish(c, "the editor closed its side while the server was away", 0);
    return 1;
}

/* A later loss: the current link ended or failed the resume. */
static void ka_lost_again(struct conn *c, const char *why)
{
    struct ka_side *k = c->ka;
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
    struct conn *c = p->data;
    if (c->ka && c->ka->link && &c->ka->link->rd == p) lp_ka_server(c->ka->ka, d, n, now(c));
}

static void ka_rd_end(struct lp_pump *p, int status)
{
    struct conn *c = p->data;
    if (!c->ka || !c->ka->link || &c->ka->link->rd != p) return;
    struct ka_link *ln = c->ka->link;
    const char *e = ln->tls && *lp_tls_error(ln->tls) ? lp_tls_error(ln->tls) : uv_strerror(status);
    char why[600];
    snprintf(why, sizeof why, "the connection to %s dropped again%s%s%s", c->nr->connect.text,
             status == UV_EOF ? "" : " (", status == UV_EOF ? "" : e, status == UV_EOF ? "" : ")");
    event(c, LI_EV_SERVER_EOF, status == UV_EOF ? NULL : json_pack("{s:s}", "error", e));
    ka_lost_again(c, why);
}

static void ka_rd_progress(struct lp_pump *p)
{
    conn_check(p->data);
}

static const struct lp_pump_cb ka_rd_cb = {NULL, ka_rd_end, NULL, ka_rd_progress};

/* Whether netcheck already ran for this kind of failure; marks it. */
static int ka_diag_once(struct ka_side *k, int kind)
{
    for (int i = 0; i < k->ndiag; i++)
        if (k->diag_done[i] == kind) return 0;
    if (k->ndiag < KA_DIAG_KINDS) k->diag_done[k->ndiag++] = kind;
    return 1;
}

/* An attempt failed: say why (with netcheck, once per kind of failure),
 * then try again after the backoff, or give up once reconnect_ms passed. */
static void ka_attempt_failed(struct conn *c, int kind, const char *error)
{
    struct ka_side *k = c->ka;
    struct netrelay *nr = c->nr;
    snprintf(k->last_error, sizeof k->last_error, "%s", error);
    event(c, LI_EV_CONNECT_FAILED,
          json_pack("{s:s, s:s, s:i}", "target", nr->connect.text, "error", error, "attempt",
                    (int)k->attempts));
    if (ka_diag_once(k, kind)) {
        li_say("lsptap: relay #%d: reconnecting to %s failed: %s; retrying for up to %llu ms\n",
               c->id, nr->connect.text, error, (unsigned long long)nr->cfg.reconnect_ms);
        if (nr->connect.kind != LP_ADDR_UNIX) {
            struct lp_diag d;
            struct lp_diag_tls tls = {nr->connect.kind == LP_ADDR_TLS, nr->connect_files.ca,
                                      nr->connect_files.cert, nr->connect_files.key};
            lp_diagnose_tls(nr->connect.host, nr->connect.port, LN_PROBE_LSP, &tls, &d);
            if (d.report) event(c, LI_EV_NETCHECK, d.report);
            uv_update_time(nr->loop); /* netcheck blocked the loop for a while */
        }
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
    struct conn *c = ln->c;
    struct ka_side *k = c->ka;
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
    event(c, LI_EV_RECONNECT,
          json_pack("{s:s, s:i, s:I}", "target", c->nr->connect.text, "attempts", (int)k->attempts,
                    "ms", (json_int_t)ms));
    int r = lp_ka_resume(k->ka, now(c));
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
    struct conn *c = ln->c;
    if (status) {
        char e[300];
        snprintf(e, sizeof e, "TLS handshake failed: %s", lp_tls_error(t));
        ka_link_drop(c);
        ka_attempt_failed(c, 1, e);
        return;
    }
    tls_event(c, t, "server");
    ka_link_up(ln);
}

static void ka_connected(uv_connect_t *req, int status)
{
    struct ka_link *ln = req->data;
    if (!ln->c) return; /* abandoned (UV_ECANCELED) */
    struct conn *c = ln->c;
    if (status) {
        ka_link_drop(c);
        ka_attempt_failed(c, status, uv_strerror(status));
        return;
    }
    if (ln->tls) {
        int r = lp_tls_handshake(ln->tls, TLS_HANDSHAKE_MS, TLS_CONFIRM_MS, ka_link_tls_done, ln);
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
    struct conn *c = t->data;
    struct ka_side *k = c->ka;
    struct netrelay *nr = c->nr;
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
    if (nr->connect.kind == LP_ADDR_UNIX) {
        uv_pipe_init(nr->loop, &ln->s.pipe, 0);
        uv_pipe_connect(&ln->creq, &ln->s.pipe, nr->connect.path, ka_connected);
        return;
    }
    struct addrinfo *res;
    int g = resolve(&nr->connect, 0, &res);
    if (g) {
        char e[300];
        snprintf(e, sizeof e, "cannot resolve %s: %s", nr->connect.host, gai_strerror(g));
        ka_link_drop(c);
        ka_attempt_failed(c, UV_EAI_NONAME, e);
        return;
    }
    uv_tcp_t *tcp = &ln->s.tcp;
    if (nr->connect.kind == LP_ADDR_TLS) {
        ln->tls = lp_tls_new(nr->loop, nr->connect_ctx, 0, nr->connect.host);
        if (!ln->tls) {
            freeaddrinfo(res);
            ka_link_drop(c);
            ka_attempt_failed(c, UV_ENOMEM, uv_strerror(UV_ENOMEM));
            return;
        }
        tcp = (uv_tcp_t *)lp_tls_stream(ln->tls);
    } else {
        uv_tcp_init(nr->loop, tcp);
    }
    uv_tcp_nodelay(tcp, 1); /* see open_server */
    int r = uv_tcp_connect(&ln->creq, tcp, res->ai_addr, ka_connected);
    freeaddrinfo(res);
    if (r) {
        ka_link_drop(c);
        ka_attempt_failed(c, r, uv_strerror(r));
    }
}

/* The editor's side passed the TLS handshake (its certificate, when the
 * listener asks for one, is valid): only now does a server start. */
static void editor_tls_done(struct lp_tls *t, int status)
{
    struct conn *c = lp_tls_data(t);
    if (status) {
        fprintf(stderr, "lsptap: relay #%d: refused: %s\n", c->id, lp_tls_error(t));
        event(c, LI_EV_TLS_REFUSED, json_pack("{s:s}", "error", lp_tls_error(t)));
        conn_end(c, "TLS handshake failed");
        return;
    }
    char how[128], subj[256];
    lp_tls_peer_subject(t, subj, sizeof subj);
    li_say("lsptap: relay #%d: %s, client certificate %s\n", c->id,
           lp_tls_describe(t, how, sizeof how), *subj ? subj : "none");
    tls_event(c, t, "editor");
    if (open_server(c)) conn_end(c, "server unavailable");
}

static void on_connection(uv_stream_t *l, int status)
{
    struct netrelay *nr = l->data;
    if (status) return;
    char *argv[] = {nr->cmd ? nr->cmd[0] : nr->connect.text, NULL};
    struct conn *c = conn_new(nr, nr->cmd ? nr->cmd : argv);
    if (!c) return;
    uv_stream_t *ed = &c->ed.s;
    if (nr->listen.kind == LP_ADDR_TLS) {
        c->ed_tls = lp_tls_new(nr->loop, nr->listen_ctx, 1, NULL);
        if (!c->ed_tls) {
            conn_end(c, "out of memory");
            return;
        }
        ed = lp_tls_stream(c->ed_tls);
    } else if (nr->listen.kind == LP_ADDR_UNIX) {
        uv_pipe_init(nr->loop, &c->ed.pipe, 0);
    } else {
        uv_tcp_init(nr->loop, &c->ed.tcp);
    }
    if (uv_accept(l, ed)) {
        conn_end(c, "accept failed");
        return;
    }
    if (nr->listen.kind != LP_ADDR_UNIX) uv_tcp_nodelay((uv_tcp_t *)ed, 1); /* see open_server */
    char peer[INET6_ADDRSTRLEN + 16] = "local";
    if (nr->listen.kind != LP_ADDR_UNIX) {
        struct sockaddr_storage ss;
        int len = sizeof ss;
        if (!uv_tcp_getpeername((uv_tcp_t *)ed, (struct sockaddr *)&ss, &len)) {
            char ip[INET6_ADDRSTRLEN] = "?";
            int port = 0;
            if (ss.ss_family == AF_INET6) {
                uv_ip6_name((struct sockaddr_in6 *)&ss, ip, sizeof ip);
                port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
            } else {
                uv_ip4_name((struct sockaddr_in *)&ss, ip, sizeof ip);
                port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
            }
            snprintf(peer, sizeof peer, "%s:%d", ip, port);
        }
    }
    fprintf(stderr, "lsptap: relay #%d: accepted %s on %s\n", c->id, peer, nr->listen.text);
    event(c, LI_EV_ACCEPTED, json_pack("{s:s, s:s}", "peer", peer, "listen", nr->listen.text));
    if (nr->active > nr->max_conns) {
        fprintf(stderr,
                "lsptap: relay #%d: refused: %d connections are open, the limit is %d "
                "(--max-conns)\n",
                c->id, nr->active - 1, nr->max_conns);
        conn_end(c, "too many connections");
        return;
    }
    if (c->ed_tls) {
        if (lp_tls_handshake(c->ed_tls, TLS_HANDSHAKE_MS, 0, editor_tls_done, c))
            conn_end(c, "TLS unavailable");
        return;
    }
    if (open_server(c)) conn_end(c, "server unavailable");
}

/* Whether /proc/net/unix lists a listening socket bound to path: asking
 * the kernel first spares a live listener the connection below. */
static int unix_listed(const char *path)
{
    FILE *f = fopen("/proc/net/unix", "r");
    if (!f) return 0;
    char line[4352];
    int found = 0;
    size_t plen = strlen(path);
    while (!found && fgets(line, sizeof line, f)) {
        unsigned long flags;
        char *p;
        size_t len = strcspn(line, "\n");
        if (sscanf(line, "%*s %*s %*s %lx", &flags) != 1 || !(flags & 0x10000)) continue;
        p = len > plen ? line + len - plen : NULL; /* the path ends the line */
        found = p && p[-1] == ' ' && strncmp(p, path, plen) == 0;
    }
    fclose(f);
    return found;
}

/* Whether a process accepts connections on the unix socket at path. */
static int unix_live(const char *path)
{
    if (unix_listed(path)) return 1;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path) return 0;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return 0;
    /* A full backlog (EAGAIN) still means someone listens. */
    int live = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 || errno == EAGAIN;
    close(fd);
    return live;
}

/* Removes our unix socket's file at exit, unless another file has taken
 * its name meanwhile. */
static void remove_socket(struct netrelay *nr)
{
    struct stat st;
    if (!nr->sock_ino || lstat(nr->listen.path, &st)) return;
    if (st.st_dev == nr->sock_dev && st.st_ino == nr->sock_ino) unlink(nr->listen.path);
}

static int start_listener(struct netrelay *nr, char *err, size_t errlen)
{
    int r;
    uv_stream_t *l = &nr->listener.s;
    if (nr->listen.kind == LP_ADDR_UNIX) {
        /* The socket is created 0600 inside a 0700 directory. */
        char dir[sizeof nr->listen.path];
        strcpy(dir, nr->listen.path);
        char *slash = strrchr(dir, '/');
        if (slash && slash != dir) {
            *slash = '\0';
            if (mkdir(dir, 0700) && errno != EEXIST) {
                snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
                return -1;
            }
        }
        struct stat st;
        if (!lstat(nr->listen.path, &st) && S_ISSOCK(st.st_mode)) {
            /* Someone may still listen there: replacing the socket would cut
             * them off from every new client without a word. */
            if (unix_live(nr->listen.path)) {
                snprintf(err, errlen,
                         "cannot listen on %s: another process is listening on that socket; "
                         "stop it first or choose another path",
                         nr->listen.text);
                return -1;
            }
            unlink(nr->listen.path); /* stale: its listener is gone */
        }
        uv_pipe_init(nr->loop, &nr->listener.pipe, 0);
        mode_t old = umask(0177);
        r = uv_pipe_bind(&nr->listener.pipe, nr->listen.path);
        umask(old);
        if (!r && !lstat(nr->listen.path, &st)) {
            nr->sock_dev = st.st_dev;
            nr->sock_ino = st.st_ino;
        }
    } else {
        struct addrinfo *res;
        int g = resolve(&nr->listen, 1, &res);
        if (g) {
            snprintf(err, errlen, "cannot resolve %s: %s", nr->listen.text, gai_strerror(g));
            return -1;
        }
        uv_tcp_init(nr->loop, &nr->listener.tcp);
        r = uv_tcp_bind(&nr->listener.tcp, res->ai_addr, 0);
        freeaddrinfo(res);
    }
    nr->listener.h.data = nr;
    if (!r) r = uv_listen(l, 64, on_connection);
    if (r) {
        snprintf(err, errlen, "cannot listen on %s: %s", nr->listen.text, uv_strerror(r));
        return -1;
    }
    char shown[400] = "";
    if (nr->listen.kind != LP_ADDR_UNIX) {
        struct sockaddr_storage ss;
        int len = sizeof ss;
        char ip[INET6_ADDRSTRLEN] = "?";
        uv_tcp_getsockname(&nr->listener.tcp, (struct sockaddr *)&ss, &len);
        if (ss.ss_family == AF_INET6) {
            uv_ip6_name((struct sockaddr_in6 *)&ss, ip, sizeof ip);
            snprintf(shown, sizeof shown, "[%s]:%d", ip,
                     ntohs(((struct sockaddr_in6 *)&ss)->sin6_port));
        } else {
            uv_ip4_name((struct sockaddr_in *)&ss, ip, sizeof ip);
            snprintf(shown, sizeof shown, "%s:%d", ip,
                     ntohs(((struct sockaddr_in *)&ss)->sin_port));
        }
    } else {
        snprintf(shown, sizeof shown, "unix:%s", nr->listen.path);
    }
    /* One line on stdout that scripts can read, like dlv's. */
    printf("lsptap relay listening at: %s\n", shown);
    fflush(stdout);
    return 0;
}

/* Which side --cert/--key belong to, the LSPTAP_TLS_* defaults, and the
 * OpenSSL contexts. Returns 0, or -1 with err set (a usage error) or
 * empty (a file problem, already said on stderr). */
static int tls_setup(struct netrelay *nr, const char *cert, const char *key, char *err,
                     size_t errlen)
{
    int tls_listen = nr->has_listen && nr->listen.kind == LP_ADDR_TLS;
    int tls_connect = nr->has_connect && nr->connect.kind == LP_ADDR_TLS;
    *err = '\0';
    if ((cert || key) && !tls_listen && !tls_connect) {
        snprintf(err, errlen, "--cert and --key need a tls:// address");
        return -1;
    }
    if (nr->listen_files.client_ca && !tls_listen) {
        snprintf(err, errlen, "--client-ca goes with --listen tls://HOST:PORT");
        return -1;
    }
    if (nr->connect_files.ca && !tls_connect) {
        snprintf(err, errlen, "--ca goes with --connect tls://HOST:PORT");
        return -1;
    }
    /* --cert/--key are the listener's when it is tls://; the connection
     * out then takes its certificate from LSPTAP_TLS_CERT/KEY. */
    struct lp_tls_files *mine = tls_listen ? &nr->listen_files : &nr->connect_files;
    mine->cert = cert;
    mine->key = key;
    if (tls_connect) {
        struct lp_tls_files *f = &nr->connect_files;
        const char *e;
        if (!f->ca && (e = getenv("LSPTAP_TLS_CA")) && *e) f->ca = e;
        if (!f->cert && !f->key && (e = getenv("LSPTAP_TLS_CERT")) && *e) {
            f->cert = e;
            f->key = getenv("LSPTAP_TLS_KEY");
            if (f->key && !*f->key) f->key = NULL;
        }
    }
    char why[1024];
    if (tls_listen && !(nr->listen_ctx = lp_tls_ctx_new(1, &nr->listen_files, why, sizeof why))) {
        fprintf(stderr, "lsptap relay: %s\n", why);
        return -1;
    }
    if (tls_connect &&
        !(nr->connect_ctx = lp_tls_ctx_new(0, &nr->connect_files, why, sizeof why))) {
        fprintf(stderr, "lsptap relay: %s\n", why);
        return -1;
    }
    return 0;
}

static void usage(void)
{
    fputs("usage: lsptap relay --connect ADDR [--ca FILE] [--cert FILE --key FILE] "
          "[--protocol lsp|dap]\n"
          "       lsptap relay --listen ADDR [--cert FILE --key FILE] [--client-ca FILE] "
          "[--insecure]\n"
          "                    [--max-conns N] [--protocol lsp|dap] -- CMD [ARGS...]\n"
          "       lsptap relay --listen ADDR --connect ADDR [...]\n"
          "ADDR is HOST:PORT, [IPV6]:PORT, tls://HOST:PORT or unix:PATH\n",
          stderr);
}

static void on_signal(uv_signal_t *s, int sig)
{
    (void)sig;
    uv_stop(s->loop);
}

int lp_netrelay_main(int argc, char **argv)
{
    static struct netrelay n;
    struct netrelay *nr = &n;
    memset(nr, 0, sizeof *nr);
    char warn[4096], err[1024];
    lp_config_load(&nr->cfg, warn, sizeof warn);
    if (*warn) fprintf(stderr, "lsptap: %s\n", warn);
    nr->max_conns = DEFAULT_MAX_CONNS;
    nr->proto = LI_LSP;
    int insecure = 0;
    const char *cert = NULL, *key = NULL;
    for (int i = 1; i < argc && argv[i]; i++) { /* argv[i] for the analyzer */
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--")) {
            nr->cmd = argv + i + 1;
            if (!*nr->cmd) nr->cmd = NULL;
            break;
        } else if (!strcmp(a, "--listen") && v) {
            if (lp_addr_parse(v, &nr->listen, err, sizeof err)) goto bad;
            nr->has_listen = 1;
            i++;
        } else if (!strcmp(a, "--connect") && v) {
            if (lp_addr_parse(v, &nr->connect, err, sizeof err)) goto bad;
            nr->has_connect = 1;
            i++;
        } else if (!strcmp(a, "--protocol") && v) {
            if (!strcmp(v, "lsp"))
                nr->proto = LI_LSP;
            else if (!strcmp(v, "dap"))
                nr->proto = LI_DAP;
            else {
                snprintf(err, sizeof err, "--protocol is lsp or dap, not \"%s\"", v);
                goto bad;
            }
            i++;
        } else if (!strcmp(a, "--max-conns") && v) {
            nr->max_conns = atoi(v);
            if (nr->max_conns < 1) {
                snprintf(err, sizeof err, "--max-conns must be at least 1");
                goto bad;
            }
            i++;
        } else if (!strcmp(a, "--insecure")) {
            insecure = 1;
        } else if (!strcmp(a, "--cert") && v) {
            cert = v;
            i++;
        } else if (!strcmp(a, "--key") && v) {
            key = v;
            i++;
        } else if (!strcmp(a, "--ca") && v) {
            nr->connect_files.ca = v;
            i++;
        } else if (!strcmp(a, "--client-ca") && v) {
            nr->listen_files.client_ca = v;
            i++;
        } else if (!strcmp(a, "--tls")) {
            snprintf(err, sizeof err, "--tls: write the address as tls://HOST:PORT");
            goto bad;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage();
            return 0;
        } else {
            snprintf(err, sizeof err, "unknown or incomplete option \"%s\"", a);
            goto bad;
        }
    }
    if (!nr->has_listen && !nr->has_connect) {
        snprintf(err, sizeof err, "give --listen, --connect, or both");
        goto bad;
    }
    if (nr->has_listen && !nr->has_connect && !nr->cmd) {
        snprintf(err, sizeof err, "--listen needs a server: -- CMD... or --connect ADDR");
        goto bad;
    }
    if (!nr->has_listen && nr->cmd) {
        snprintf(err, sizeof err,
                 "-- CMD goes with --listen (with --connect alone, lsptap "
                 "relays its own stdin and stdout)");
        goto bad;
    }
    if (nr->has_connect && nr->cmd) {
        snprintf(err, sizeof err, "give either --connect or -- CMD as the server, not both");
        goto bad;
    }
    if (tls_setup(nr, cert, key, err, sizeof err)) {
        if (*err) goto bad;
        return 2;
    }
    if (nr->has_listen && !insecure && !lp_addr_is_local(&nr->listen)) {
        if (nr->listen.kind != LP_ADDR_TLS)
            fprintf(stderr,
                    "lsptap: refusing to listen on %s without TLS: anyone who can reach it "
                    "could drive the server (and gopls runs go commands). Listen on "
                    "127.0.0.1, [::1] or unix:PATH, use tls:// with --client-ca, or pass "
                    "--insecure to accept that risk.\n",
                    nr->listen.text);
        else if (!nr->listen_files.client_ca)
            fprintf(stderr,
                    "lsptap: refusing to listen on %s without --client-ca: TLS alone encrypts, "
                    "but anyone who can reach it could still drive the server. Give "
                    "--client-ca FILE so that only clients with a certificate it signed get "
                    "in, or pass --insecure to accept that risk.\n",
                    nr->listen.text);
        if (nr->listen.kind != LP_ADDR_TLS || !nr->listen_files.client_ca) return 2;
    }

    signal(SIGPIPE, SIG_IGN);
    nr->loop = uv_default_loop();
    uv_signal_t sigs[2];
    int signums[2] = {SIGINT, SIGTERM};
    for (int i = 0; i < 2; i++) {
        uv_signal_init(nr->loop, &sigs[i]);
        uv_signal_start(&sigs[i], on_signal, signums[i]);
        uv_unref((uv_handle_t *)&sigs[i]);
    }

    if (nr->has_listen) {
        if (start_listener(nr, err, sizeof err)) {
            fprintf(stderr, "lsptap: %s\n", err);
            return 1;
        }
        uv_run(nr->loop, UV_RUN_DEFAULT);
        remove_socket(nr); /* SIGINT, SIGTERM or the end of the loop */
        return 0;
    }

    /* --connect alone: this process's stdio is the editor. */
    nr->stdio_mode = 1;
    char *argv1[] = {nr->connect.text, NULL};
    struct conn *c = conn_new(nr, argv1);
    if (!c) return 70;
    if (open_server(c)) conn_end(c, "server unavailable");
    uv_run(nr->loop, UV_RUN_DEFAULT);
    lp_bridge_join(&nr->out_bridge);
    for (int fd = 0; fd < 3; fd++)
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    if (nr->exit_code == -1 && nr->proto == LI_LSP) {
        /* The editor is still waiting: it gets the reason as the answer to
         * initialize rather than a closed pipe. */
        char why[sizeof nr->why + 16];
        snprintf(why, sizeof why, "lsptap: %s", nr->why);
        char *av[] = {nr->connect.text, NULL};
        lp_serve_unavailable(&nr->cfg, "relay", av, why);
        return 1;
    }
    return nr->exit_code < 0 ? 1 : nr->exit_code;
bad:
    fprintf(stderr, "lsptap relay: %s\n", err);
    usage();
    return 2;
}
