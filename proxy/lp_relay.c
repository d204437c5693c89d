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
#include <unistd.h>
#include <uv.h>

#define CHUNK_SIZE (64 * 1024)
#define DRAIN_AFTER_EXIT_MS 2000

enum { P_C2S, P_S2C, P_ERR, NPUMPS };

struct relay;

/* One direction: bytes read from src are written to dst unchanged. */
struct pump {
    struct relay *r;
    int dir;              /* li_dir, or -1 for the child's stderr */
    uv_stream_t *src, *dst;
    int src_eof;          /* src reached EOF or failed */
    int paused;           /* reading stopped for backpressure */
    int dst_dead;         /* writing to dst failed: bytes are counted and dropped */
    int dst_shut;         /* shutdown of dst requested */
    int dst_done;         /* dst finished: shutdown completed or dead */
    size_t writes;        /* writes in flight */
    uint64_t read, written, discarded;
};

/* A read buffer travels on as the write request that forwards it. */
struct chunk {
    uv_write_t req;
    struct pump *p;
    size_t len;
    char data[CHUNK_SIZE];
};

/* Files and terminals cannot be polled: a thread copies between the fd and
 * a pipe that libuv can drive. */
struct bridge {
    pthread_t thread;
    int from, to;
    int started;
};

struct relay {
    const struct lp_relay_opts *o;
    struct lp_relay_result *res;
    uv_loop_t *loop;
    uv_pipe_t ed_in, ed_out, ed_err, ch_in, ch_out, ch_err;
    uv_process_t proc;
    uv_signal_t sig[3];
    uv_timer_t grace, drain;
    struct pump pump[NPUMPS];
    struct bridge in_bridge, out_bridge, err_bridge;
    size_t say_writes; /* lsptap's own stderr lines in flight */
    int child_running;
    int grace_started, term_sent, kill_sent;
    int finishing;
    size_t tail_len; /* ring position in res->stderr_tail */
};

static uint64_t now_us(struct relay *r)
{
    return (uv_hrtime() - r->o->hr_start) / 1000;
}

static void maybe_finish(struct relay *r);

static void say_done(uv_write_t *req, int status)
{
    struct relay *r = req->data;
    (void)status;
    free(req);
    r->say_writes--;
    maybe_finish(r);
}

/* lsptap's own line on stderr, through the same stream as the child's
 * stderr so the two never interleave inside a write. */
static void say(struct relay *r, const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    uv_write_t *req = malloc(sizeof *req + len);
    if (!req) return;
    char *copy = (char *)(req + 1);
    memcpy(copy, line, len);
    uv_buf_t b = uv_buf_init(copy, (unsigned)len);
    req->data = r;
    if (r->pump[P_ERR].dst_dead || uv_write(req, (uv_stream_t *)&r->ed_err, &b, 1, say_done))
        free(req);
    else
        r->say_writes++;
}

static void event(struct relay *r, const char *name, json_t *fields)
{
    li_session_event(r->o->sess, now_us(r), name, fields);
    json_decref(fields);
}

static void close_once(uv_handle_t *h)
{
    if (!uv_is_closing(h)) uv_close(h, NULL);
}

/* ---- the child's lifecycle ---- */

static void kill_child(struct relay *r, int sig)
{
    if (!r->child_running) return;
    uv_process_kill(&r->proc, sig);
}

/* The server runs as a process group leader, so SIGKILL can reach what it
 * started too: nothing may outlive the session (DESIGN.md principle 4). */
static void kill_group(struct relay *r)
{
    if (r->res->pid > 0) kill(-r->res->pid, SIGKILL);
}

static void grace_fired(uv_timer_t *t)
{
    struct relay *r = t->data;
    if (!r->child_running) return;
    if (!r->term_sent) {
        r->term_sent = 1;
        say(r, "lsptap: %s did not exit %llu ms after the editor closed its input; "
               "sending SIGTERM.\n",
            r->o->argv[0], (unsigned long long)r->o->cfg->grace_ms);
        event(r, "terminate", json_pack("{s:s, s:I}", "signal", "SIGTERM", "after_ms",
                                        (json_int_t)r->o->cfg->grace_ms));
        kill_child(r, SIGTERM);
        uv_timer_start(&r->grace, grace_fired, r->o->cfg->kill_ms, 0);
    } else if (!r->kill_sent) {
        r->kill_sent = 1;
        say(r, "lsptap: %s ignored SIGTERM for %llu ms; sending SIGKILL.\n", r->o->argv[0],
            (unsigned long long)r->o->cfg->kill_ms);
        event(r, "terminate", json_pack("{s:s, s:I}", "signal", "SIGKILL", "after_ms",
                                        (json_int_t)r->o->cfg->kill_ms));
        kill_child(r, SIGKILL);
        kill_group(r);
    }
}

static void start_grace(struct relay *r)
{
    if (r->grace_started || !r->child_running) return;
    r->grace_started = 1;
    uv_timer_start(&r->grace, grace_fired, r->o->cfg->grace_ms, 0);
}

static void pump_shutdown_dst(struct pump *p);

static void drain_fired(uv_timer_t *t)
{
    struct relay *r = t->data;
    struct pump *out = &r->pump[P_S2C], *err = &r->pump[P_ERR];
    say(r, "lsptap: %s exited but its %s still open %d ms later (a process it started "
           "holds %s); finishing without waiting.\n",
        r->o->argv[0],
        !out->src_eof && !err->src_eof ? "stdout and stderr are"
                                       : (!out->src_eof ? "stdout is" : "stderr is"),
        DRAIN_AFTER_EXIT_MS, !out->src_eof && !err->src_eof ? "them" : "it");
    say(r, "lsptap: killing what is left of %s's process group.\n", r->o->argv[0]);
    event(r, "orphans_killed", json_pack("{s:i}", "pgid", r->res->pid));
    kill_group(r);
    for (int i = P_S2C; i <= P_ERR; i++) {
        struct pump *p = &r->pump[i];
        if (p->src_eof) continue;
        p->src_eof = 1;
        uv_read_stop(p->src);
        close_once((uv_handle_t *)p->src);
        if (p->dir >= 0) li_session_eof(r->o->sess, (enum li_dir)p->dir, now_us(r));
        pump_shutdown_dst(p);
    }
    maybe_finish(r);
}

static void child_exited(uv_process_t *proc, int64_t status, int term_signal)
{
    struct relay *r = proc->data;
    r->child_running = 0;
    r->res->exited = 1;
    r->res->exit_status = (int)status;
    r->res->term_signal = term_signal;
    uv_timer_stop(&r->grace);
    json_t *f = json_pack("{s:I, s:I}", "pid", (json_int_t)r->res->pid, "status",
                          (json_int_t)status);
    if (term_signal) {
        json_object_set_new(f, "signal", json_integer(term_signal));
        json_object_set_new(f, "signal_name", json_string(strsignal(term_signal)));
    } else {
        json_object_set_new(f, "signal", json_null());
    }
    event(r, "exit", f);
    close_once((uv_handle_t *)proc);
    if (!r->pump[P_S2C].src_eof || !r->pump[P_ERR].src_eof)
        uv_timer_start(&r->drain, drain_fired, DRAIN_AFTER_EXIT_MS, 0);
    maybe_finish(r);
}

static void signal_cb(uv_signal_t *s, int signum)
{
    struct relay *r = s->data;
    if (r->child_running) {
        event(r, "signal", json_pack("{s:i, s:s}", "signal", signum, "action", "passed on"));
        kill_child(r, signum);
    }
}

/* ---- pumps ---- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void resume(struct pump *p)
{
    if (p->paused && !p->src_eof && p->dst->write_queue_size < p->r->o->cfg->low_mark) {
        p->paused = 0;
        uv_read_start(p->src, on_alloc, on_read);
    }
}

static void shutdown_done(uv_shutdown_t *req, int status)
{
    struct pump *p = req->data;
    (void)status;
    free(req);
    p->dst_done = 1;
    if (p->dir >= 0) close_once((uv_handle_t *)p->dst);
    maybe_finish(p->r);
}

/* Passes EOF on: after the queued writes, the destination's write side is
 * shut down (the child or the editor reads EOF). */
static void pump_shutdown_dst(struct pump *p)
{
    if (p->dst_shut) return;
    p->dst_shut = 1;
    if (p->dir < 0) { /* our stderr stays open for lsptap's own lines */
        p->dst_done = 1;
        return;
    }
    if (p->dst_dead) {
        p->dst_done = 1;
        close_once((uv_handle_t *)p->dst);
        return;
    }
    uv_shutdown_t *req = malloc(sizeof *req);
    if (req) {
        req->data = p;
        if (!uv_shutdown(req, p->dst, shutdown_done)) return;
        free(req);
    }
    p->dst_done = 1;
    close_once((uv_handle_t *)p->dst);
}

static void editor_went_away(struct relay *r, int err)
{
    if (r->res->editor_gone) return;
    r->res->editor_gone = 1;
    say(r, "lsptap: the editor stopped reading (%s); closing %s's input.\n", uv_strerror(err),
        r->o->argv[0]);
    event(r, "editor_gone", json_pack("{s:s}", "error", uv_strerror(err)));
    pump_shutdown_dst(&r->pump[P_C2S]);
    start_grace(r);
}

static void on_write(uv_write_t *req, int status)
{
    struct chunk *c = (struct chunk *)req;
    struct pump *p = c->p;
    p->writes--;
    if (status == 0) {
        p->written += c->len;
    } else {
        p->discarded += c->len;
        if (!p->dst_dead && status != UV_ECANCELED) {
            p->dst_dead = 1;
            if (p->dir == LI_S2C) editor_went_away(p->r, status);
            else if (p->dir == LI_C2S && p->r->child_running)
                say(p->r, "lsptap: writing to %s failed (%s); its input is lost from here.\n",
                    p->r->o->argv[0], uv_strerror(status));
        }
    }
    free(c);
    resume(p);
    maybe_finish(p->r);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    struct chunk *c = malloc(sizeof *c);
    *buf = c ? uv_buf_init(c->data, CHUNK_SIZE) : uv_buf_init(NULL, 0);
}

static void keep_tail(struct relay *r, const char *data, size_t len)
{
    char *t = r->res->stderr_tail;
    size_t cap = sizeof r->res->stderr_tail - 1;
    if (len >= cap) {
        memcpy(t, data + len - cap, cap);
        r->tail_len = cap;
    } else {
        if (r->tail_len + len > cap) {
            size_t drop = r->tail_len + len - cap;
            memmove(t, t + drop, r->tail_len - drop);
            r->tail_len -= drop;
        }
        memcpy(t + r->tail_len, data, len);
        r->tail_len += len;
    }
    t[r->tail_len] = '\0';
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct pump *p = s->data;
    struct relay *r = p->r;
    struct chunk *c = buf->base ? (struct chunk *)(buf->base - offsetof(struct chunk, data)) : NULL;
    if (nread > 0) {
        size_t n = (size_t)nread;
        p->read += n;
        /* Forward first: the write is queued before anything looks at the bytes. */
        c->p = p;
        c->len = n;
        int queued = 0;
        if (!p->dst_dead) {
            uv_buf_t b = uv_buf_init(c->data, (unsigned)n);
            if (uv_write(&c->req, p->dst, &b, 1, on_write) == 0) {
                queued = 1;
                p->writes++;
            } else {
                p->dst_dead = 1;
                if (p->dir == LI_S2C) editor_went_away(r, UV_EPIPE);
            }
        }
        if (!queued) p->discarded += n;
        if (p->dir >= 0)
            li_session_feed(r->o->sess, (enum li_dir)p->dir, c->data, n, now_us(r));
        else {
            r->res->stderr_bytes += n;
            keep_tail(r, c->data, n);
        }
        if (!queued) free(c);
        if (!p->paused && p->dst->write_queue_size > r->o->cfg->high_mark) {
            p->paused = 1;
            uv_read_stop(s);
        }
        return;
    }
    free(c);
    if (nread == 0) return;
    /* EOF or a read error: either way this direction has ended. */
    if (nread != UV_EOF && p->dir != LI_C2S)
        say(r, "lsptap: reading %s's %s failed: %s\n", r->o->argv[0],
            p->dir == LI_S2C ? "stdout" : "stderr", uv_strerror((int)nread));
    p->src_eof = 1;
    uv_read_stop(s);
    close_once((uv_handle_t *)s);
    if (p->dir >= 0) li_session_eof(r->o->sess, (enum li_dir)p->dir, now_us(r));
    if (p->dir == LI_C2S) {
        event(r, "editor_eof", nread == UV_EOF ? NULL
                                                : json_pack("{s:s}", "error",
                                                            uv_strerror((int)nread)));
        start_grace(r);
    }
    pump_shutdown_dst(p);
    maybe_finish(r);
}

/* ---- the end ---- */

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    close_once(h);
}

static void maybe_finish(struct relay *r)
{
    struct pump *out = &r->pump[P_S2C], *err = &r->pump[P_ERR];
    if (r->finishing || r->child_running || !r->res->exited) return;
    if (!out->src_eof || !err->src_eof) return;
    if (out->writes || err->writes || r->say_writes || !out->dst_done) return;
    r->finishing = 1;
    /* The editor's input no longer matters: nobody is left to read it. */
    uv_walk(r->loop, close_walk, NULL);
}

/* ---- setup ---- */

static void *copy_thread(void *arg)
{
    struct bridge *b = arg;
    char buf[65536];
    for (;;) {
        ssize_t n = read(b->from, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(b->to, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) goto out;
            off += w;
        }
    }
out:
    close(b->to);
    return NULL;
}

/* Opens fd as a libuv pipe handle, bridging through a thread when fd is
 * not something epoll can watch. `reading` says which way the bytes go. */
static int open_stdio(struct relay *r, uv_pipe_t *h, int fd, int reading, struct bridge *b)
{
    int rc = uv_pipe_init(r->loop, h, 0);
    if (rc) return rc;
    uv_handle_type t = uv_guess_handle(fd);
    if (t == UV_NAMED_PIPE || t == UV_TCP || t == UV_UDP) {
        int dupfd = fd;
        if (fd == 2) dupfd = fcntl(2, F_DUPFD_CLOEXEC, 3); /* fd 2 stays ours for the end */
        if (dupfd < 0) return -errno;
        return uv_pipe_open(h, dupfd);
    }
    int fds[2];
    if (pipe2(fds, O_CLOEXEC)) return -errno;
    if (reading) {
        b->from = fd == 2 ? fcntl(2, F_DUPFD_CLOEXEC, 3) : fd;
        b->to = fds[1];
    } else {
        b->from = fds[0];
        b->to = fd == 2 ? fcntl(2, F_DUPFD_CLOEXEC, 3) : dup(fd);
    }
    if (pthread_create(&b->thread, NULL, copy_thread, b)) {
        close(fds[0]);
        close(fds[1]);
        return UV_EAGAIN;
    }
    b->started = 1;
    if (reading) pthread_detach(b->thread); /* may block on a terminal forever */
    return uv_pipe_open(h, reading ? fds[0] : fds[1]);
}

static void pump_init(struct relay *r, int i, int dir, uv_pipe_t *src, uv_pipe_t *dst)
{
    struct pump *p = &r->pump[i];
    memset(p, 0, sizeof *p);
    p->r = r;
    p->dir = dir;
    p->src = (uv_stream_t *)src;
    p->dst = (uv_stream_t *)dst;
    src->data = p;
    dst->data = p;
}

static json_t *argv_json(char **argv)
{
    json_t *a = json_array();
    for (char **v = argv; *v; v++) json_array_append_new(a, json_string(*v));
    return a;
}

int lp_relay_exit_code(const struct lp_relay_result *r)
{
    if (r->spawn_error) return 127;
    if (r->term_signal) return 128 + r->term_signal;
    return r->exit_status;
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
    for (int fd = 0; fd < 3; fd++) saved_fl[fd] = fcntl(fd, F_GETFL);

    int rc;
    if ((rc = uv_pipe_init(r->loop, &r->ch_in, 0)) || (rc = uv_pipe_init(r->loop, &r->ch_out, 0)) ||
        (rc = uv_pipe_init(r->loop, &r->ch_err, 0)))
        return rc;

    uv_stdio_container_t stdio[3] = {
        {.flags = UV_CREATE_PIPE | UV_READABLE_PIPE, .data.stream = (uv_stream_t *)&r->ch_in},
        {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&r->ch_out},
        {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&r->ch_err},
    };
    uv_process_options_t po = {
        .exit_cb = child_exited,
        .file = o->argv[0],
        .args = o->argv,
        .env = o->env,
        .cwd = o->cwd,
        .stdio_count = 3,
        .stdio = stdio,
        .flags = UV_PROCESS_DETACHED,
    };
    r->proc.data = r;
    rc = uv_spawn(r->loop, &r->proc, &po);
    if (rc) {
        res->spawn_error = rc;
        event(r, "spawn_failed", json_pack("{s:s, s:o, s:s}", "path", o->argv[0], "argv",
                                           argv_json(o->argv), "error", uv_strerror(rc)));
        uv_walk(r->loop, close_walk, NULL);
        uv_run(r->loop, UV_RUN_DEFAULT);
        return rc;
    }
    r->child_running = 1;
    res->pid = r->proc.pid;
    event(r, "spawn", json_pack("{s:i, s:s, s:o}", "pid", r->proc.pid, "path", o->argv[0],
                                "argv", argv_json(o->argv)));

    if ((rc = open_stdio(r, &r->ed_in, 0, 1, &r->in_bridge)) ||
        (rc = open_stdio(r, &r->ed_out, 1, 0, &r->out_bridge)) ||
        (rc = open_stdio(r, &r->ed_err, 2, 0, &r->err_bridge))) {
        fprintf(stderr, "lsptap: cannot use this process's standard streams: %s\n",
                uv_strerror(rc));
        kill_child(r, SIGKILL);
    }

    pump_init(r, P_C2S, LI_C2S, &r->ed_in, &r->ch_in);
    pump_init(r, P_S2C, LI_S2C, &r->ch_out, &r->ed_out);
    pump_init(r, P_ERR, -1, &r->ch_err, &r->ed_err);
    /* ed_err is written by lsptap's own lines too; its data points at the stderr pump. */

    static const int sigs[3] = {SIGINT, SIGTERM, SIGHUP};
    for (int i = 0; i < 3; i++) {
        uv_signal_init(r->loop, &r->sig[i]);
        r->sig[i].data = r;
        uv_signal_start(&r->sig[i], signal_cb, sigs[i]);
        uv_unref((uv_handle_t *)&r->sig[i]);
    }
    uv_timer_init(r->loop, &r->grace);
    uv_timer_init(r->loop, &r->drain);
    r->grace.data = r->drain.data = r;
    uv_unref((uv_handle_t *)&r->drain);

    for (int i = 0; i < NPUMPS; i++) uv_read_start(r->pump[i].src, on_alloc, on_read);

    uv_run(r->loop, UV_RUN_DEFAULT);

    res->read[LI_C2S] = r->pump[P_C2S].read;
    res->read[LI_S2C] = r->pump[P_S2C].read;
    res->written[LI_C2S] = r->pump[P_C2S].written;
    res->written[LI_S2C] = r->pump[P_S2C].written;
    if (r->out_bridge.started) pthread_join(r->out_bridge.thread, NULL);
    if (r->err_bridge.started) pthread_join(r->err_bridge.thread, NULL);
    for (int fd = 0; fd < 3; fd++)
        if (saved_fl[fd] >= 0) fcntl(fd, F_SETFL, saved_fl[fd]);
    return 0;
}
