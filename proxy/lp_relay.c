#include "proxy/lp_relay.h"

#include "proxy/lp_pump.h"
#include "proxy/lp_stdio.h"

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

#define DRAIN_AFTER_EXIT_MS 2000

enum { P_C2S, P_S2C, P_ERR, NPUMPS };

static const int pump_dir[NPUMPS] = {LI_C2S, LI_S2C, -1};

struct relay {
    const struct lp_relay_opts *o;
    struct lp_relay_result *res;
    uv_loop_t *loop;
    uv_pipe_t ed_in, ed_out, ed_err, ch_in, ch_out, ch_err;
    uv_process_t proc;
    uv_signal_t sig[3];
    uv_timer_t grace, drain;
    struct lp_pump pump[NPUMPS];
    struct lp_bridge in_bridge, out_bridge, err_bridge;
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

static void drain_fired(uv_timer_t *t)
{
    struct relay *r = t->data;
    struct lp_pump *out = &r->pump[P_S2C], *err = &r->pump[P_ERR];
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
        struct lp_pump *p = &r->pump[i];
        if (p->src_eof) continue;
        lp_pump_stop_src(p);
        if (pump_dir[i] >= 0) li_session_eof(r->o->sess, (enum li_dir)pump_dir[i], now_us(r));
        lp_pump_shutdown_dst(p);
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
    lp_close_once((uv_handle_t *)proc);
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

static int which(const struct lp_pump *p)
{
    struct relay *r = p->data;
    return (int)(p - r->pump);
}

static void editor_went_away(struct relay *r, int err)
{
    if (r->res->editor_gone) return;
    r->res->editor_gone = 1;
    say(r, "lsptap: the editor stopped reading (%s); closing %s's input.\n", uv_strerror(err),
        r->o->argv[0]);
    event(r, "editor_gone", json_pack("{s:s}", "error", uv_strerror(err)));
    lp_pump_shutdown_dst(&r->pump[P_C2S]);
    start_grace(r);
}

static void on_bytes(struct lp_pump *p, const char *data, size_t len)
{
    struct relay *r = p->data;
    int dir = pump_dir[which(p)];
    if (dir >= 0) {
        li_session_feed(r->o->sess, (enum li_dir)dir, data, len, now_us(r));
    } else {
        r->res->stderr_bytes += len;
        lp_tail_keep(r->res->stderr_tail, sizeof r->res->stderr_tail - 1, &r->tail_len, data,
                     len);
        r->res->stderr_tail[r->tail_len] = '\0';
    }
}

static void on_dst_error(struct lp_pump *p, int status)
{
    struct relay *r = p->data;
    int i = which(p);
    if (i == P_S2C) editor_went_away(r, status);
    else if (i == P_C2S && r->child_running)
        say(r, "lsptap: writing to %s failed (%s); its input is lost from here.\n", r->o->argv[0],
            uv_strerror(status));
}

static void on_src_end(struct lp_pump *p, int status)
{
    struct relay *r = p->data;
    int i = which(p);
    /* EOF or a read error: either way this direction has ended. */
    if (status != UV_EOF && i != P_C2S)
        say(r, "lsptap: reading %s's %s failed: %s\n", r->o->argv[0],
            i == P_S2C ? "stdout" : "stderr", uv_strerror(status));
    if (pump_dir[i] >= 0) li_session_eof(r->o->sess, (enum li_dir)pump_dir[i], now_us(r));
    if (i == P_C2S) {
        event(r, "editor_eof",
              status == UV_EOF ? NULL : json_pack("{s:s}", "error", uv_strerror(status)));
        start_grace(r);
    }
    lp_pump_shutdown_dst(p);
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

/* ---- the end ---- */

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    lp_close_once(h);
}

static void maybe_finish(struct relay *r)
{
    struct lp_pump *out = &r->pump[P_S2C], *err = &r->pump[P_ERR];
    if (r->finishing || r->child_running || !r->res->exited) return;
    if (!out->src_eof || !err->src_eof) return;
    if (out->writes || err->writes || r->say_writes || !out->dst_done) return;
    r->finishing = 1;
    /* The editor's input no longer matters: nobody is left to read it. */
    uv_walk(r->loop, close_walk, NULL);
}

/* ---- setup ---- */

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

    if ((rc = lp_stdio_open(r->loop, &r->ed_in, 0, 1, &r->in_bridge)) ||
        (rc = lp_stdio_open(r->loop, &r->ed_out, 1, 0, &r->out_bridge)) ||
        (rc = lp_stdio_open(r->loop, &r->ed_err, 2, 0, &r->err_bridge))) {
        fprintf(stderr, "lsptap: cannot use this process's standard streams: %s\n",
                uv_strerror(rc));
        kill_child(r, SIGKILL);
    }

    size_t hi = o->cfg->high_mark, lo = o->cfg->low_mark;
    lp_pump_init(&r->pump[P_C2S], (uv_stream_t *)&r->ed_in, (uv_stream_t *)&r->ch_in, hi, lo,
                 &pump_cb, r);
    lp_pump_init(&r->pump[P_S2C], (uv_stream_t *)&r->ch_out, (uv_stream_t *)&r->ed_out, hi, lo,
                 &pump_cb, r);
    lp_pump_init(&r->pump[P_ERR], (uv_stream_t *)&r->ch_err, (uv_stream_t *)&r->ed_err, hi, lo,
                 &pump_cb, r);
    r->pump[P_ERR].keep_dst_open = 1; /* our stderr outlives gopls's, for lsptap's own lines */

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

    for (int i = 0; i < NPUMPS; i++) lp_pump_start(&r->pump[i]);

    uv_run(r->loop, UV_RUN_DEFAULT);

    res->read[LI_C2S] = r->pump[P_C2S].read;
    res->read[LI_S2C] = r->pump[P_S2C].read;
    res->written[LI_C2S] = r->pump[P_C2S].written;
    res->written[LI_S2C] = r->pump[P_S2C].written;
    lp_bridge_join(&r->out_bridge);
    lp_bridge_join(&r->err_bridge);
    for (int fd = 0; fd < 3; fd++)
        if (saved_fl[fd] >= 0) fcntl(fd, F_SETFL, saved_fl[fd]);
    return 0;
}
