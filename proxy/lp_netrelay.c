#include "proxy/lp_netrelay.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <uv.h>

#include "env/lp_diag.h"
#include "inspect/li_say.h"
#include "netcheck/ln_hostport.h"
#include "proxy/lp_netrelay_int.h"
#include "proxy/lp_server_event.h"
#include "resume/lp_keepalive.h"

#define DEFAULT_MAX_CONNS 16

/* ---- addresses ---- */

/* 1 when every address host resolves to is loopback (127/8, ::1); unix
 * sockets count as local. 0 otherwise or when it does not resolve. */
static int lp_addr_is_local(const struct lp_addr *a)
{
    if (a->kind == LP_ADDR_UNIX) return 1;
    if (!*a->host) return 0; /* ":PORT" means every interface */
    struct addrinfo *res, *ai;
    if (lp_nr_resolve(a, 1, &res)) return 0;
    int local = 1;
    for (ai = res; ai; ai = ai->ai_next)
        local &= ln_sockaddr_is_loopback(ai->ai_addr);
    freeaddrinfo(res);
    return local;
}

/* ---- one relayed connection ---- */

static void handle_closed(uv_handle_t *h)
{
    struct lp_nr_conn *c = h->data;
    if (--c->open_handles == 0) {
        struct lp_nr *nr = c->nr;
        nr->active--;
        free(c);
    }
}

static void tls_closed(void *arg)
{
    struct lp_nr_conn *c = arg;
    if (--c->open_handles == 0) {
        c->nr->active--;
        free(c);
    }
}

static void proc_closed(struct lp_server *s)
{
    tls_closed(s->data); /* the same release of c */
}

static void close_tls(struct lp_nr_conn *c, struct lp_tls *t)
{
    if (!t) return;
    c->open_handles++;
    lp_tls_close(t, tls_closed, c);
}

static void close_h(struct lp_nr_conn *c, uv_handle_t *h)
{
    if (!h->loop || uv_is_closing(h)) return;
    h->data = c;
    c->open_handles++;
    uv_close(h, handle_closed);
}

static void conn_end(struct lp_nr_conn *c, const char *ending)
{
    if (c->done) return;
    c->done = 1;
    lp_nr_ka_editor_tail(c); /* every byte the editor sent is in the record */
    struct li_counts k;
    li_session_counts(c->sess.li, &k);
    json_t *extra = json_pack("{s:s, s:i}", "ending", ending, "connection", c->id);
    char role[32];
    snprintf(role, sizeof role, "relay #%d", c->id);
    c->open_handles++; /* hold c until every close below has run */
    /* The file is completed off the loop; c is held until it is. */
    if (lp_session_close_async(&c->sess, c->nr->loop, role, extra, ending, 0, tls_closed, c))
        c->open_handles++;
    json_decref(extra);
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
    lp_nr_ka_close(c);
    c->open_handles--;
    if (c->open_handles == 0) {
        c->nr->active--;
        free(c);
    }
}

static void conn_check(struct lp_nr_conn *c)
{
    /* The connection is over when the server is: it closed its side and
     * everything it said reached the editor (and, for CMD, it exited). The
     * editor's side may stay open — nothing is left to read what it sends,
     * as with the stdio relay. */
    if (c->done || !c->pumping) return;
    if (!c->s2c.src_eof || c->s2c.writes) return;
    if (c->has_proc && c->proc.running) return;
    char ending[700];
    if (c->ka && lp_nr_ka_holds(c, ending, sizeof ending)) return;
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
    struct lp_nr_conn *c = p->data;
    li_session_feed(c->sess.li, p == &c->c2s ? LI_C2S : LI_S2C, data, len, lp_nr_now(c));
}

static void on_src_end(struct lp_pump *p, int status)
{
    struct lp_nr_conn *c = p->data;
    struct lp_tls *t = p == &c->c2s ? c->ed_tls : c->srv_tls;
    const char *why = t && *lp_tls_error(t) ? lp_tls_error(t) : uv_strerror(status);
    if (c->ka && p == &c->s2c && lp_nr_ka_server_ended(c, status, why)) return;
    if (c->ka && p == &c->c2s && lp_nr_ka_editor_ended(c)) return;
    li_session_eof(c->sess.li, p == &c->c2s ? LI_C2S : LI_S2C, lp_nr_now(c));
    if (status != UV_EOF)
        fprintf(stderr, "lsptap: relay #%d: reading from the %s failed: %s\n", c->id,
                p == &c->c2s ? "editor" : "server", why);
    lp_nr_event(c, p == &c->c2s ? LI_EV_EDITOR_EOF : LI_EV_SERVER_EOF,
                status == UV_EOF ? NULL : json_pack("{s:s}", "error", why));
    lp_pump_shutdown_dst(p);
    if (p == &c->c2s && c->has_proc) lp_server_input_closed(&c->proc);
}

static void on_dst_error(struct lp_pump *p, int status)
{
    struct lp_nr_conn *c = p->data;
    fprintf(stderr, "lsptap: relay #%d: writing to the %s failed: %s\n", c->id,
            p == &c->c2s ? "server" : "editor", uv_strerror(status));
}

static void on_progress(struct lp_pump *p)
{
    conn_check(p->data);
}

static const struct lp_pump_cb pump_cb = {on_bytes, on_src_end, on_dst_error, on_progress};

static void start_pumps(struct lp_nr_conn *c)
{
    struct lp_nr *nr = c->nr;
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
static void drain_over(struct lp_nr_conn *c, const struct lp_server_event *ev)
{
    if (c->s2c.src_eof) return;
    fprintf(stderr,
            "lsptap: relay #%d: %s exited but its stdout is still open %d ms later (a process it "
            "started holds it); killing what is left of its process group.\n",
            c->id, c->nr->cmd[0], LP_SERVER_DRAIN_MS);
    enum li_event name;
    json_t *f = lp_server_event_fields(ev, &name);
    lp_nr_event(c, name, f);
    lp_server_kill_group(&c->proc, SIGKILL);
    lp_pump_stop_src(&c->s2c);
    li_session_eof(c->sess.li, LI_S2C, lp_nr_now(c));
    lp_pump_shutdown_dst(&c->s2c);
    conn_check(c);
}

static void server_event(struct lp_server *s, const struct lp_server_event *ev)
{
    struct lp_nr_conn *c = s->data;
    enum li_event name;
    json_t *f;
    switch (ev->type) {
    case LP_SERVER_EXIT:
    case LP_SERVER_TERMINATE:
        f = lp_server_event_fields(ev, &name);
        lp_nr_event(c, name, f);
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

static struct lp_nr_conn *conn_new(struct lp_nr *nr, char **argv)
{
    struct lp_nr_conn *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->nr = nr;
    c->check = conn_check;
    c->id = ++nr->next_id;
    nr->active++;
    if (nr->stdio_mode && nr->proto == LI_LSP && nr->cfg.keepalive && lp_nr_ka_open(c)) {
        nr->active--;
        free(c);
        return NULL;
    }
    if (lp_session_open(&c->sess, &nr->cfg, "relay", nr->proto, argv, c->ka ? lp_ka_on_msg : NULL,
                        c->ka ? (void *)lp_nr_ka_engine(c) : NULL)) {
        lp_nr_ka_close(c);
        nr->active--;
        free(c);
        return NULL;
    }
    c->sess.lazy = !nr->stdio_mode; /* the listener outlives its editors: no disk on the loop */
    return c;
}

static int spawn_cmd(struct lp_nr_conn *c)
{
    struct lp_nr *nr = c->nr;
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
    lp_nr_event(c, LI_EV_SPAWN, json_pack("{s:i, s:o}", "pid", c->proc.child.pid, "argv", av));
    return 0;
}

/* A connect failed: netcheck says which layer broke and why; its report
 * goes to stderr and the session, its verdict into nr->why. */
static void diagnose(struct lp_nr_conn *c)
{
    struct lp_nr *nr = c->nr;
    struct lp_diag d;
    if (lp_nr_netcheck(c, &d)) return;
    size_t n = strlen(nr->why);
    snprintf(nr->why + n, sizeof nr->why - n, ". netcheck: %s%s%s", d.verdict,
             *d.layers ? "\n" : "", d.layers);
}

/* The server side is ready (connected, and through TLS when asked). */
static void server_ready(struct lp_nr_conn *c)
{
    struct lp_nr *nr = c->nr;
    lp_nr_event(c, LI_EV_CONNECTED, json_pack("{s:s}", "target", nr->connect.text));
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

/* The one way a connection to the server fails: the reason on stderr and
 * in the session, netcheck on the target, and (stdio mode) the answer
 * inside the protocol once the loop is over. */
static void server_failed(struct lp_nr_conn *c, enum li_event ev, const char *what,
                          const char *error, const char *ending)
{
    struct lp_nr *nr = c->nr;
    snprintf(nr->why, sizeof nr->why, "%s %s: %s", what, nr->connect.text, error);
    fprintf(stderr, "lsptap: relay #%d: %s\n", c->id, nr->why);
    lp_nr_event(c, ev, json_pack("{s:s, s:s}", "target", nr->connect.text, "error", error));
    diagnose(c);
    if (nr->stdio_mode) nr->exit_code = -1;
    conn_end(c, ending);
}

static void server_tls_done(struct lp_tls *t, int status)
{
    struct lp_nr_conn *c = lp_tls_data(t);
    if (status) {
        server_failed(c, LI_EV_TLS_FAILED, "TLS handshake failed with", lp_tls_error(t),
                      "TLS handshake failed");
        return;
    }
    lp_nr_tls_event(c, t, "server");
    server_ready(c);
}

static void on_connected(uv_connect_t *req, int status)
{
    struct lp_nr_conn *c = req->data;
    if (status) {
        server_failed(c, LI_EV_CONNECT_FAILED, "cannot connect to", uv_strerror(status),
                      "connect failed");
        return;
    }
    if (c->srv_tls) {
        int r = lp_tls_handshake(c->srv_tls, LP_NR_TLS_HANDSHAKE_MS, LP_NR_TLS_CONFIRM_MS,
                                 server_tls_done, c);
        if (r) {
            fprintf(stderr, "lsptap: relay #%d: cannot start TLS: %s\n", c->id, uv_strerror(r));
            conn_end(c, "TLS unavailable");
        }
        return;
    }
    server_ready(c);
}

/* Starts the server side of c: a connection to --connect, or CMD. A failed
 * dial is said on stderr and kept in nr->why (the editor's answer in stdio
 * mode). */
static int open_server(struct lp_nr_conn *c)
{
    struct lp_nr *nr = c->nr;
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
    int r = lp_nr_dial(nr, &c->srv, &c->srv_tls, &c->creq, on_connected, nr->why, sizeof nr->why);
    if (r) {
        fprintf(stderr, "lsptap: relay #%d: %s\n", c->id, nr->why);
        if (nr->stdio_mode) nr->exit_code = -1;
    }
    return r;
}

/* The editor's side passed the TLS handshake (its certificate, when the
 * listener asks for one, is valid): only now does a server start. */
static void editor_tls_done(struct lp_tls *t, int status)
{
    struct lp_nr_conn *c = lp_tls_data(t);
    if (status) {
        fprintf(stderr, "lsptap: relay #%d: refused: %s\n", c->id, lp_tls_error(t));
        lp_nr_event(c, LI_EV_TLS_REFUSED, json_pack("{s:s}", "error", lp_tls_error(t)));
        conn_end(c, "TLS handshake failed");
        return;
    }
    char how[128], subj[256];
    lp_tls_peer_subject(t, subj, sizeof subj);
    li_say("lsptap: relay #%d: %s, client certificate %s\n", c->id,
           lp_tls_describe(t, how, sizeof how), *subj ? subj : "none");
    lp_nr_tls_event(c, t, "editor");
    if (open_server(c)) conn_end(c, "server unavailable");
}

static void on_connection(uv_stream_t *l, int status)
{
    struct lp_nr *nr = l->data;
    if (status) return;
    char *argv[] = {nr->cmd ? nr->cmd[0] : nr->connect.text, NULL};
    struct lp_nr_conn *c = conn_new(nr, nr->cmd ? nr->cmd : argv);
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
        if (!uv_tcp_getpeername((uv_tcp_t *)ed, (struct sockaddr *)&ss, &len))
            ln_addrport_str((struct sockaddr *)&ss, peer, sizeof peer); /* [v6]:port */
    }
    fprintf(stderr, "lsptap: relay #%d: accepted %s on %s\n", c->id, peer, nr->listen.text);
    lp_nr_event(c, LI_EV_ACCEPTED,
                json_pack("{s:s, s:s}", "peer", peer, "listen", nr->listen.text));
    if (nr->active > nr->max_conns) {
        fprintf(stderr,
                "lsptap: relay #%d: refused: %d connections are open, the limit is %d "
                "(--max-conns)\n",
                c->id, nr->active - 1, nr->max_conns);
        conn_end(c, "too many connections");
        return;
    }
    if (c->ed_tls) {
        if (lp_tls_handshake(c->ed_tls, LP_NR_TLS_HANDSHAKE_MS, 0, editor_tls_done, c))
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
static void remove_socket(struct lp_nr *nr)
{
    struct stat st;
    if (!nr->sock_ino || lstat(nr->listen.path, &st)) return;
    if (st.st_dev == nr->sock_dev && st.st_ino == nr->sock_ino) unlink(nr->listen.path);
}

static int start_listener(struct lp_nr *nr, char *err, size_t errlen)
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
        int g = lp_nr_resolve(&nr->listen, 1, &res);
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
        uv_tcp_getsockname(&nr->listener.tcp, (struct sockaddr *)&ss, &len);
        ln_addrport_str((const struct sockaddr *)&ss, shown, sizeof shown);
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
static int tls_setup(struct lp_nr *nr, const char *cert, const char *key, char *err, size_t errlen)
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
    static struct lp_nr n;
    struct lp_nr *nr = &n;
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
        lp_session_wait_closes(); /* a session closing at SIGINT still gets its whole file */
        remove_socket(nr);        /* SIGINT, SIGTERM or the end of the loop */
        return 0;
    }

    /* --connect alone: this process's stdio is the editor. */
    nr->stdio_mode = 1;
    char *argv1[] = {nr->connect.text, NULL};
    struct lp_nr_conn *c = conn_new(nr, argv1);
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
    li_say("lsptap relay: %s\n", err); /* it may quote an address typed with a credential */
    usage();
    return 2;
}
