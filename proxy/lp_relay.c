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
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "framing/lf.h"
#include "proxy/lp_env.h"
#include "proxy/lp_gate.h"
#include "proxy/lp_pump.h"
#include "proxy/lp_stdio.h"

#define DRAIN_AFTER_EXIT_MS 2000
#define REPLAY_MAX ((size_t)8 << 20) /* editor bytes kept for a restart */
#define HELD_MAX ((size_t)1 << 20)   /* server bytes held while repairing */

extern char **environ;

struct relay;

/* One server process and its two output directions. A failed handshake
 * retires generation 0 and starts generation 1 behind the same editor. */
struct gen {
    struct relay *r;
    int idx;
    uv_process_t proc;
    uv_pipe_t in, out, err;
    struct lp_pump s2c, errp;
    struct lp_gate gate; /* message-at-a-time forwarding while s2c.filter is set */
    int pid, running, exited, retired;
    int exit_status, term_signal;
};

/* Handshake states (docs/repair.md). */
enum hs {
    HS_WAIT_INIT,   /* the editor has not sent initialize yet */
    HS_WAIT_RESULT, /* initialize sent, no answer yet */
    HS_LOADING,     /* answered; a load failure may still come within the window */
    HS_REPAIRING,   /* failed; the environment is being checked */
    HS_DONE,        /* the handshake succeeded (or supervision is off) */
    HS_GAVE_UP,     /* failed and could not be repaired; the editor was told */
};

struct super {
    enum hs state;
    char init_id[128]; /* the editor's initialize id, as JSON text */
    size_t init_id_len;
    int init_answered; /* the editor has an initialize result */
    int init_by_lsptap; /* ... and it is lsptap's error: any late result is dropped */
    uv_timer_t init_timer, window;
    struct lp_gate c2s_seen; /* frames the editor sent, watched (not forwarded) */
    struct lp_gate c2s_gate; /* after a restart: editor frames forwarded one by one */
    char *replay;            /* everything the editor sent, for a restart */
    size_t replay_len, replay_cap;
    struct lp_idset answered; /* editor requests generation 0 answered */
    struct lp_idset pending0; /* generation 0's requests the editor has not answered */
    struct lp_idset remap;    /* generation 1's request ids as the editor sees them */
    char *held;               /* generation 0's frames held while repairing */
    size_t held_len;
    uint64_t held_dropped;
    char reason[1024];
    uv_work_t work;
    struct lp_env_report *report;
    int report_ok;
    char cwd[4096];
};

/* One line from another thread (the session writer) for stderr. */
static pthread_mutex_t notify_mu = PTHREAD_MUTEX_INITIALIZER;
static uv_async_t *notify_async; /* NULL when no relay loop runs */
static char notify_line[4096];
static int notify_pending;

struct relay {
    const struct lp_relay_opts *o;
    struct lp_relay_result *res;
    uv_loop_t *loop;
    uv_pipe_t ed_in, ed_out, ed_err;
    struct lp_pump c2s;
    struct gen gen[2];
    int cur;
    uv_signal_t sig[3];
    uv_timer_t grace, drain;
    struct lp_bridge in_bridge, out_bridge, err_bridge;
    size_t say_writes; /* lsptap's own stderr lines in flight */
    char *say_wait;    /* lsptap's lines waiting for the server's stderr to end a line */
    size_t say_wait_len;
    int err_mid_line;  /* the server's stderr so far ends inside a line */
    uv_timer_t say_timer;
    int grace_started, term_sent, kill_sent;
    int finishing;
    size_t tail_len; /* ring position in res->stderr_tail */
    struct super sv;
    uv_async_t notify;
};

static uint64_t now_us(struct relay *r)
{
    return (uv_hrtime() - r->o->hr_start) / 1000;
}

static struct gen *cur(struct relay *r)
{
    return &r->gen[r->cur];
}

static void maybe_finish(struct relay *r);
static void say_write(struct relay *r, const char *line, size_t len);

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
    maybe_finish(r);
}

/* lsptap's own line on stderr, through the same stream as the server's
 * stderr so the two never interleave inside a write. */
static void say(struct relay *r, const char *fmt, ...)
{
    char line[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    if (r->err_mid_line && r->say_timer.loop) {
        /* Never inside one of the server's lines: wait for its end. */
        char *nw = realloc(r->say_wait, r->say_wait_len + len);
        if (nw) {
            r->say_wait = nw;
            memcpy(r->say_wait + r->say_wait_len, line, len);
            r->say_wait_len += len;
            if (!uv_is_active((uv_handle_t *)&r->say_timer))
                uv_timer_start(&r->say_timer, say_timeout, 200, 0);
            return;
        }
    }
    say_write(r, line, len);
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
    if (have) say(r, "%s", line);
}

static void event(struct relay *r, const char *name, json_t *fields)
{
    li_session_event(r->o->sess, now_us(r), name, fields);
    json_decref(fields);
}

/* ---- the server's lifecycle ---- */

static void kill_child(struct relay *r, int sig)
{
    struct gen *g = cur(r);
    if (g->running) uv_process_kill(&g->proc, sig);
}

/* The server runs as a process group leader, so SIGKILL can reach what it
 * started too: nothing may outlive the session (DESIGN.md principle 4). */
static void kill_group(struct gen *g)
{
    if (g->pid > 0) kill(-g->pid, SIGKILL);
}

static void grace_fired(uv_timer_t *t)
{
    struct relay *r = t->data;
    if (!cur(r)->running) return;
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
        kill_group(cur(r));
    }
}

static void start_grace(struct relay *r)
{
    if (r->grace_started || !cur(r)->running) return;
    r->grace_started = 1;
    uv_timer_start(&r->grace, grace_fired, r->o->cfg->grace_ms, 0);
}

static int supervising(const struct relay *r)
{
    return r->o->supervise && r->sv.state < HS_DONE;
}

/* A failure counts once the editor has sent initialize: before that there
 * is no handshake to judge (and no LSP session, for all lsptap knows). */
static int judging(const struct relay *r)
{
    return supervising(r) && r->sv.state != HS_WAIT_INIT;
}

static void failure(struct relay *r, const char *fmt, ...);
static void finish_output(struct relay *r, struct gen *g);
static void end_supervision(struct relay *r, const char *why);
static void forward(struct gen *g, const char *data, size_t len);

static void drain_fired(uv_timer_t *t)
{
    struct relay *r = t->data;
    struct gen *g = cur(r);
    struct lp_pump *out = &g->s2c, *err = &g->errp;
    if ((out->paused && !out->src_eof) || (err->paused && !err->src_eof)) {
        /* lsptap stopped reading because the editor is behind: the EOF is
         * still in the pipe, behind data the editor will want. */
        uv_timer_start(&r->drain, drain_fired, DRAIN_AFTER_EXIT_MS, 0);
        return;
    }
    say(r, "lsptap: %s exited but its %s still open %d ms later (a process it started "
           "holds %s); finishing without waiting.\n",
        r->o->argv[0],
        !out->src_eof && !err->src_eof ? "stdout and stderr are"
                                       : (!out->src_eof ? "stdout is" : "stderr is"),
        DRAIN_AFTER_EXIT_MS, !out->src_eof && !err->src_eof ? "them" : "it");
    say(r, "lsptap: killing what is left of %s's process group.\n", r->o->argv[0]);
    event(r, "orphans_killed", json_pack("{s:i}", "pgid", g->pid));
    kill_group(g);
    if (!err->src_eof) lp_pump_stop_src(err);
    if (!out->src_eof) {
        lp_pump_stop_src(out);
        finish_output(r, g);
        li_session_eof(r->o->sess, LI_S2C, now_us(r));
    }
    maybe_finish(r);
}

static void child_exited(uv_process_t *proc, int64_t status, int term_signal)
{
    struct gen *g = proc->data;
    struct relay *r = g->r;
    g->running = 0;
    g->exited = 1;
    g->exit_status = (int)status;
    g->term_signal = term_signal;
    lp_close_once((uv_handle_t *)proc);
    json_t *f = json_pack("{s:I, s:I}", "pid", (json_int_t)g->pid, "status", (json_int_t)status);
    json_object_set_new(f, "signal", term_signal ? json_integer(term_signal) : json_null());
    if (term_signal) json_object_set_new(f, "signal_name", json_string(strsignal(term_signal)));
    if (g->retired) {
        json_object_set_new(f, "retired", json_true());
        event(r, "exit", f);
        maybe_finish(r);
        return;
    }
    r->res->exited = 1;
    r->res->exit_status = (int)status;
    r->res->term_signal = term_signal;
    uv_timer_stop(&r->grace);
    event(r, "exit", f);
    if (supervising(r) && (r->c2s.src_eof || r->res->editor_gone || !judging(r)))
        end_supervision(r, r->sv.state == HS_WAIT_INIT ? "the server ended before initialize"
                                                        : "the editor closed its side");
    if (supervising(r)) {
        if (term_signal)
            failure(r, "%s was killed by signal %d (%s) before the handshake completed",
                    r->o->argv[0], term_signal, strsignal(term_signal));
        else
            failure(r, "%s exited with status %d before the handshake completed", r->o->argv[0],
                    (int)status);
        return;
    }
    if (!g->s2c.src_eof || !g->errp.src_eof)
        uv_timer_start(&r->drain, drain_fired, DRAIN_AFTER_EXIT_MS, 0);
    maybe_finish(r);
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
    if (cur(r)->running) {
        event(r, "signal", json_pack("{s:i, s:s}", "signal", signum, "action", "passed on"));
        kill_child(r, signum);
        return;
    }
    /* The server is gone and something still holds the relay open (an
     * editor that stopped reading): the signal ends lsptap. */
    event(r, "signal", json_pack("{s:i, s:s}", "signal", signum, "action", "ended lsptap"));
    r->finishing = 1;
    uv_walk(r->loop, close_walk, NULL);
}

/* ---- pumps ---- */

static struct gen *gen_of(struct relay *r, const struct lp_pump *p)
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
        say(r, "lsptap: writing to the editor failed (%s); closing %s's input.\n",
            strerror(r->out_bridge.err), r->o->argv[0]);
    else
        say(r, "lsptap: the editor stopped reading (%s); closing %s's input.\n",
            uv_strerror(err), r->o->argv[0]);
    if (r->out_bridge.err) err = -r->out_bridge.err;
    event(r, "editor_gone", json_pack("{s:s}", "error", uv_strerror(err)));
    lp_pump_shutdown_dst(&r->c2s);
    start_grace(r);
}

static void watch_c2s(struct relay *r, const char *data, size_t len);

static void on_bytes(struct lp_pump *p, const char *data, size_t len)
{
    struct relay *r = p->data;
    if (p == &r->c2s) {
        li_session_feed(r->o->sess, LI_C2S, data, len, now_us(r));
        if (supervising(r)) watch_c2s(r, data, len);
        return;
    }
    /* The server's stdout; its stderr always goes through err_filter. */
    li_session_feed(r->o->sess, LI_S2C, data, len, now_us(r));
}

static void on_dst_error(struct lp_pump *p, int status)
{
    struct relay *r = p->data;
    if (p == &r->c2s) {
        if (cur(r)->running)
            say(r, "lsptap: writing to %s failed (%s); its input is lost from here.\n",
                r->o->argv[0], uv_strerror(status));
        return;
    }
    struct gen *g = gen_of(r, p);
    if (p == &g->s2c) editor_went_away(r, status);
}

/* The editor's stdout gets EOF once the current server's stdout has ended
 * and no restart can follow. */
static void forward_raw(void *ud, const char *data, size_t len);

static void finish_output(struct relay *r, struct gen *g)
{
    if (g->retired || supervising(r) || !g->s2c.src_eof) return;
    if (g->s2c.filter) {
        g->s2c.filter = NULL; /* what the gate holds is a cut-short frame: pass it on */
        lp_gate_flush(&g->gate, forward_raw, g);
    }
    lp_pump_shutdown_dst(&g->s2c);
}

static void on_src_end(struct lp_pump *p, int status)
{
    struct relay *r = p->data;
    if (p == &r->c2s) {
        li_session_eof(r->o->sess, LI_C2S, now_us(r));
        event(r, "editor_eof",
              status == UV_EOF ? NULL : json_pack("{s:s}", "error", uv_strerror(status)));
        start_grace(r);
        lp_pump_shutdown_dst(p);
        return;
    }
    struct gen *g = gen_of(r, p);
    if (g->retired) return;
    if (status != UV_EOF)
        say(r, "lsptap: reading %s's %s failed: %s\n", r->o->argv[0],
            p == &g->s2c ? "stdout" : "stderr", uv_strerror(status));
    if (p != &g->s2c) { /* our stderr stays open for lsptap's own lines */
        r->err_mid_line = 0;
        say_flush(r);
        return;
    }
    if (supervising(r) && (r->c2s.src_eof || r->res->editor_gone || !judging(r)))
        end_supervision(r, r->sv.state == HS_WAIT_INIT ? "the server ended before initialize"
                                                        : "the editor closed its side");
    if (supervising(r)) {
        failure(r, "%s closed its output before the handshake completed", r->o->argv[0]);
        return;
    }
    finish_output(r, g); /* a frame the gate held, cut short, reaches the inspector first */
    li_session_eof(r->o->sess, LI_S2C, now_us(r));
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

/* ---- handshake supervision: what the editor sends ---- */

static int method_is(const struct li_msg *m, const char *name)
{
    size_t n = strlen(name);
    return m->method.p && m->method.len == n + 2 && !memcmp(m->method.p + 1, name, n);
}

static void window_fired(uv_timer_t *t);

static void restart_window(struct relay *r)
{
    uv_timer_start(&r->sv.window, window_fired, r->o->cfg->handshake_ms, 0);
}

static void init_timeout(uv_timer_t *t)
{
    struct relay *r = t->data;
    if (r->sv.state == HS_WAIT_RESULT)
        failure(r, "%s did not answer initialize within %llu ms", r->o->argv[0],
                (unsigned long long)r->o->cfg->init_timeout_ms);
}

/* The environment is judged where gopls works: the first workspace folder
 * (or rootUri) of initialize, when it is a local directory; else our cwd. */
static void workspace_of(struct relay *r, const char *body, size_t len)
{
    json_error_t e;
    json_t *j = json_loadb(body, len, 0, &e);
    json_t *params = json_object_get(j, "params");
    json_t *folders = json_object_get(params, "workspaceFolders");
    const char *uri = json_string_value(json_object_get(json_array_get(folders, 0), "uri"));
    if (!uri) uri = json_string_value(json_object_get(params, "rootUri"));
    if (uri && !strncmp(uri, "file://", 7)) {
        char path[sizeof r->sv.cwd];
        size_t n = 0;
        for (const char *c = uri + 7; *c && n + 1 < sizeof path; c++) {
            unsigned v;
            if (*c == '%' && sscanf(c + 1, "%2x", &v) == 1) {
                path[n++] = (char)v;
                c += 2;
            } else {
                path[n++] = *c;
            }
        }
        path[n] = '\0';
        struct stat st;
        if (!stat(path, &st) && S_ISDIR(st.st_mode)) memcpy(r->sv.cwd, path, n + 1);
    }
    json_decref(j);
}

/* Supervision ends without a verdict: back to plain relaying. */
static void end_supervision(struct relay *r, const char *why)
{
    struct super *sv = &r->sv;
    if (sv->held_len) { /* held while repairing: it goes on as it was */
        forward(cur(r), sv->held, sv->held_len);
        free(sv->held);
        sv->held = NULL;
        sv->held_len = 0;
    }
    sv->state = HS_DONE;
    uv_timer_stop(&sv->init_timer);
    uv_timer_stop(&sv->window);
    event(r, "supervision_off", json_pack("{s:s}", "reason", why));
}

static void seen_c2s_frame(void *ud, const char *frame, size_t len, size_t hdr)
{
    struct relay *r = ud;
    struct super *sv = &r->sv;
    struct li_msg m;
    int ok = !li_classify(LI_LSP, frame + hdr, len - hdr, 0, &m);
    if (sv->state == HS_WAIT_INIT && !(ok && m.kind == LI_K_REQUEST && method_is(&m, "initialize"))) {
        end_supervision(r, "the editor's first message is not initialize");
        return;
    }
    if (!ok) return;
    if (m.kind == LI_K_REQUEST && method_is(&m, "initialize") && !sv->init_id_len &&
        m.id.len < sizeof sv->init_id) {
        workspace_of(r, frame + hdr, len - hdr);
        memcpy(sv->init_id, m.id.p, m.id.len);
        sv->init_id_len = m.id.len;
        if (sv->state == HS_WAIT_INIT) sv->state = HS_WAIT_RESULT;
        uv_timer_start(&sv->init_timer, init_timeout, r->o->cfg->init_timeout_ms, 0);
    } else if ((m.kind == LI_K_REQUEST && method_is(&m, "shutdown")) ||
               (m.kind == LI_K_NOTIFICATION && method_is(&m, "exit"))) {
        /* The editor is ending the session: whatever follows is no failure. */
        if (sv->state < HS_REPAIRING) end_supervision(r, "the editor ended the session");
    } else if (m.kind == LI_K_NOTIFICATION && method_is(&m, "initialized")) {
        /* gopls loads the workspace after initialized: the window counts from here. */
        if (sv->state == HS_LOADING) restart_window(r);
    } else if (m.kind == LI_K_RESPONSE && m.id.p) {
        lp_idset_del(&sv->pending0, m.id.p, m.id.len);
    }
}

static void seen_c2s_raw(void *ud, const char *data, size_t len)
{
    struct relay *r = ud;
    (void)data;
    (void)len;
    if (r->sv.state == HS_WAIT_INIT) end_supervision(r, "the editor sent bytes that do not frame");
}

/* Before a restart: every byte the editor sends is kept for the replay,
 * and its messages are watched for initialize and replies. */
static void watch_c2s(struct relay *r, const char *data, size_t len)
{
    struct super *sv = &r->sv;
    if (sv->replay_len + len > REPLAY_MAX) {
        say(r, "lsptap: the editor sent more than %zu MiB during the handshake; a restart "
               "could not replay it, so handshake supervision is off for this session.\n",
            REPLAY_MAX >> 20);
        event(r, "supervision_off", json_pack("{s:s}", "reason", "replay buffer full"));
        sv->state = HS_DONE;
        return;
    }
    if (sv->replay_len + len > sv->replay_cap) {
        size_t nc = sv->replay_cap ? sv->replay_cap * 2 : 65536;
        while (nc < sv->replay_len + len) nc *= 2;
        char *nb = realloc(sv->replay, nc);
        if (!nb) {
            sv->state = HS_DONE;
            return;
        }
        sv->replay = nb;
        sv->replay_cap = nc;
    }
    memcpy(sv->replay + sv->replay_len, data, len);
    sv->replay_len += len;
    lp_gate_feed(&sv->c2s_seen, data, len, seen_c2s_frame, seen_c2s_raw, r);
}

/* ---- handshake supervision: what the server sends ---- */

static void forward(struct gen *g, const char *data, size_t len)
{
    struct relay *r = g->r;
    lp_pump_write(&g->s2c, data, len);
    li_session_feed(r->o->sess, LI_S2C, data, len, now_us(r));
}

static void forward_raw(void *ud, const char *data, size_t len)
{
    forward(ud, data, len);
}

static void hold(struct gen *g, const char *frame, size_t len)
{
    struct super *sv = &g->r->sv;
    char *nh = sv->held_len + len <= HELD_MAX ? realloc(sv->held, sv->held_len + len) : NULL;
    if (!nh) {
        sv->held_dropped++;
        return;
    }
    sv->held = nh;
    memcpy(sv->held + sv->held_len, frame, len);
    sv->held_len += len;
}

static int matches_failure(struct relay *r, const char *text, size_t len)
{
    const char *pat = r->o->cfg->fail_patterns;
    while (*pat) {
        size_t n = strcspn(pat, "|");
        if (n && n <= len && memmem(text, len, pat, n)) return 1;
        pat += n + (pat[n] == '|');
    }
    return 0;
}

/* A window/showMessage of type Error (1) whose text names a load failure. */
static int load_failure(struct relay *r, const char *body, size_t len, char *msg, size_t msglen)
{
    json_error_t e;
    json_t *j = json_loadb(body, len, 0, &e);
    json_t *params = json_object_get(j, "params");
    json_t *type = json_object_get(params, "type");
    json_t *text = json_object_get(params, "message");
    int hit = json_is_integer(type) && json_integer_value(type) == 1 && json_is_string(text) &&
              matches_failure(r, json_string_value(text), json_string_length(text));
    if (hit) snprintf(msg, msglen, "%s", json_string_value(text));
    json_decref(j);
    return hit;
}

static int is_init_id(struct super *sv, const struct li_msg *m)
{
    return sv->init_id_len && m->id.len == sv->init_id_len &&
           !memcmp(m->id.p, sv->init_id, m->id.len);
}

static void s2c_frame(void *ud, const char *frame, size_t len, size_t hdr)
{
    struct gen *g = ud;
    struct relay *r = g->r;
    struct super *sv = &r->sv;
    const char *body = frame + hdr;
    size_t blen = len - hdr;
    struct li_msg m;
    if (g->retired) return;
    if (sv->state == HS_REPAIRING) { /* decided once the environment is checked */
        hold(g, frame, len);
        return;
    }
    if (li_classify(LI_LSP, body, blen, 0, &m)) {
        forward(g, frame, len);
        return;
    }
    if (m.kind == LI_K_RESPONSE && is_init_id(sv, &m) && sv->init_by_lsptap) {
        event(r, "dropped", json_pack("{s:s, s:s}", "what", "late initialize result", "why",
                                      "lsptap already answered initialize with the diagnosis"));
        return;
    }
    if (m.kind == LI_K_RESPONSE && is_init_id(sv, &m) && sv->state <= HS_LOADING) {
        if (sv->init_answered) { /* the restarted server's: the editor has one */
            event(r, "dropped", json_pack("{s:s, s:s}", "what", "initialize result",
                                          "why", "the editor already has one"));
        } else if (m.is_error && sv->state < HS_DONE) {
            hold(g, frame, len);
            char text[600] = "";
            json_error_t e;
            json_t *err = m.error.p ? json_loadb(m.error.p, m.error.len, 0, &e) : NULL;
            snprintf(text, sizeof text, "%s", json_string_value(json_object_get(err, "message"))
                                                  ? json_string_value(json_object_get(err, "message"))
                                                  : "no message");
            json_decref(err);
            failure(r, "%s answered initialize with an error: %s", r->o->argv[0], text);
            return;
        } else {
            forward(g, frame, len);
            sv->init_answered = 1;
        }
        uv_timer_stop(&sv->init_timer);
        sv->state = HS_LOADING;
        restart_window(r);
        return;
    }
    if (g->idx == 1 && m.kind == LI_K_RESPONSE && m.id.p &&
        lp_idset_del(&sv->answered, m.id.p, m.id.len)) {
        event(r, "dropped", json_pack("{s:s, s:s%}", "what", "duplicate reply", "id", m.id.p,
                                      m.id.len));
        return;
    }
    if (g->idx == 1 && m.kind == LI_K_REQUEST && m.id.p) {
        /* Its ids could collide with the first server's: the editor sees
         * "lsptap-2:<id>", and the reply is mapped back below. */
        char nid[200];
        size_t nlen;
        if (m.id.p[0] == '"')
            nlen = (size_t)snprintf(nid, sizeof nid, "\"lsptap-2:s:%.*s", (int)(m.id.len - 1),
                                    m.id.p + 1);
        else
            nlen = (size_t)snprintf(nid, sizeof nid, "\"lsptap-2:n:%.*s\"", (int)m.id.len,
                                    m.id.p);
        if (nlen < sizeof nid && !lp_idset_add(&sv->remap, nid, nlen, m.id.p, m.id.len)) {
            size_t olen;
            char *out = lp_rewrite_id(body, blen, m.id, nid, nlen, &olen);
            if (out) {
                forward(g, out, olen);
                free(out);
                return;
            }
        }
        forward(g, frame, len);
        return;
    }
    if (g->idx == 0 && m.kind == LI_K_RESPONSE && m.id.p)
        lp_idset_add(&sv->answered, m.id.p, m.id.len, NULL, 0);
    if (g->idx == 0 && m.kind == LI_K_REQUEST && m.id.p)
        lp_idset_add(&sv->pending0, m.id.p, m.id.len, NULL, 0);
    char text[900];
    if (m.kind == LI_K_NOTIFICATION && method_is(&m, "window/showMessage") &&
        sv->state < HS_DONE && load_failure(r, body, blen, text, sizeof text)) {
        hold(g, frame, len);
        failure(r, "%s reported: %s", r->o->argv[0], text);
        return;
    }
    forward(g, frame, len);
}

static void s2c_filter(struct lp_pump *p, const char *data, size_t len)
{
    struct relay *r = p->data;
    struct gen *g = gen_of(r, p);
    if (g->retired) return;
    lp_gate_feed(&g->gate, data, len, s2c_frame, forward_raw, g);
    /* Once the first server's handshake is over, bytes go straight through
     * again, from the first frame boundary. */
    if (g->idx == 0 && r->sv.state >= HS_DONE && r->sv.state != HS_REPAIRING &&
        !r->sv.init_by_lsptap && lp_gate_idle(&g->gate))
        p->filter = NULL;
}

/* After a restart, the editor's replies to the first server are dropped
 * and replies to remapped requests get their original id back. */
static void c2s_frame(void *ud, const char *frame, size_t len, size_t hdr)
{
    struct relay *r = ud;
    struct super *sv = &r->sv;
    struct li_msg m;
    int ok = !li_classify(LI_LSP, frame + hdr, len - hdr, 0, &m);
    if (ok && sv->state < HS_REPAIRING &&
        ((m.kind == LI_K_REQUEST && method_is(&m, "shutdown")) ||
         (m.kind == LI_K_NOTIFICATION && method_is(&m, "exit"))))
        end_supervision(r, "the editor ended the session");
    if (ok && m.kind == LI_K_REQUEST && method_is(&m, "initialize") && !sv->init_id_len &&
        m.id.len < sizeof sv->init_id) {
        memcpy(sv->init_id, m.id.p, m.id.len);
        sv->init_id_len = m.id.len;
        if (sv->state == HS_WAIT_INIT) {
            sv->state = HS_WAIT_RESULT;
            uv_timer_start(&sv->init_timer, init_timeout, r->o->cfg->init_timeout_ms, 0);
        }
    }
    if (ok && m.kind == LI_K_RESPONSE && m.id.p) {
        if (lp_idset_del(&sv->pending0, m.id.p, m.id.len)) {
            event(r, "dropped", json_pack("{s:s, s:s%}", "what", "reply to the first server",
                                          "id", m.id.p, m.id.len));
            return;
        }
        const char *orig = lp_idset_get(&sv->remap, m.id.p, m.id.len);
        if (orig) {
            size_t olen;
            char *out = lp_rewrite_id(frame + hdr, len - hdr, m.id, orig, strlen(orig), &olen);
            lp_idset_del(&sv->remap, m.id.p, m.id.len);
            if (out) {
                lp_pump_write(&r->c2s, out, olen);
                free(out);
                return;
            }
        }
    }
    lp_pump_write(&r->c2s, frame, len);
}

static void c2s_raw(void *ud, const char *data, size_t len)
{
    struct relay *r = ud;
    lp_pump_write(&r->c2s, data, len);
}

static void c2s_filter(struct lp_pump *p, const char *data, size_t len)
{
    struct relay *r = p->data;
    li_session_feed(r->o->sess, LI_C2S, data, len, now_us(r));
    lp_gate_feed(&r->sv.c2s_gate, data, len, c2s_frame, c2s_raw, r);
}

/* ---- handshake supervision: deciding ---- */

static void window_fired(uv_timer_t *t)
{
    struct relay *r = t->data;
    struct super *sv = &r->sv;
    if (sv->state != HS_LOADING) return;
    sv->state = HS_DONE;
    event(r, "handshake_ok", json_pack("{s:i}", "server", r->cur + 1));
    struct gen *g = cur(r);
    if (r->cur == 0) {
        /* Nothing was changed: back to forwarding bytes as they come. */
        if (lp_gate_idle(&g->gate)) {
            g->s2c.filter = NULL;
        }
        free(sv->replay);
        sv->replay = NULL;
        sv->replay_len = sv->replay_cap = 0;
        lp_gate_free(&sv->c2s_seen);
    }
    finish_output(r, g);
    maybe_finish(r);
}

static void lsp_write(struct gen *g, json_t *msg)
{
    char *body = json_dumps(msg, JSON_COMPACT);
    if (!body) return;
    size_t blen = strlen(body);
    char hdr[LF_HEADER_MAX_OUT];
    size_t hlen = lf_write_header(hdr, sizeof hdr, blen);
    forward(g, hdr, hlen);
    forward(g, body, blen);
    free(body);
}

static void show_message(struct gen *g, int type, const char *text)
{
    json_t *m = json_pack("{s:s, s:s, s:{s:i, s:s}}", "jsonrpc", "2.0", "method",
                          "window/showMessage", "params", "type", type, "message", text);
    lsp_write(g, m);
    json_decref(m);
}

static void give_up(struct relay *r, const char *found)
{
    struct super *sv = &r->sv;
    struct gen *g = cur(r);
    char text[4096];
    snprintf(text, sizeof text, "lsptap: %.1000s. %.3000s", sv->reason, found);
    say(r, "%s\n", text);
    event(r, "gave_up", json_pack("{s:s, s:s}", "reason", sv->reason, "diagnosis", found));
    r->res->gave_up = 1;
    sv->state = HS_GAVE_UP;
    if (!sv->init_answered && sv->init_id_len && !sv->held_len) {
        /* initialize is still waiting: it gets the diagnosis as its error. */
        json_error_t e;
        json_t *id = json_loadb(sv->init_id, sv->init_id_len, JSON_DECODE_ANY, &e);
        json_t *m = json_pack("{s:s, s:o, s:{s:i, s:s, s:{s:b}}}", "jsonrpc", "2.0", "id",
                              id ? id : json_null(), "error", "code", -32603, "message", text,
                              "data", "retry", 0);
        lsp_write(g, m);
        json_decref(m);
        sv->init_answered = 1;
        sv->init_by_lsptap = 1;
    } else {
        show_message(g, 1, text);
    }
    if (sv->held_len) forward(g, sv->held, sv->held_len); /* the server's own words, unchanged */
    free(sv->held);
    sv->held = NULL;
    sv->held_len = 0;
    if (lp_gate_idle(&g->gate) && r->cur == 0 && !sv->init_by_lsptap) g->s2c.filter = NULL;
    if (g->exited && (!g->s2c.src_eof || !g->errp.src_eof))
        uv_timer_start(&r->drain, drain_fired, DRAIN_AFTER_EXIT_MS, 0);
    finish_output(r, g);
    if (g->s2c.src_eof) li_session_eof(r->o->sess, LI_S2C, now_us(r));
    maybe_finish(r);
}

static int spawn_gen(struct relay *r, struct gen *g, char **env);

/* The editor's messages so far, minus its replies to the first server,
 * go to the new one; a partial last frame is completed by what follows. */
static void replay(struct relay *r)
{
    struct super *sv = &r->sv;
    size_t off = 0, sent = 0;
    while (off < sv->replay_len) {
        struct lf_frame f;
        int h = lf_parse(sv->replay + off, sv->replay_len - off, 0, 0, &f, NULL);
        if (h == LF_PARTIAL || (h > 0 && off + (size_t)h + f.content_length > sv->replay_len))
            break;
        if (h < 0) { /* garbage the first server got: the new one gets it too */
            int found;
            size_t skip = 1 + lf_resync(sv->replay + off + 1, sv->replay_len - off - 1, &found);
            lp_pump_write(&r->c2s, sv->replay + off, skip);
            off += skip;
            continue;
        }
        size_t total = (size_t)h + f.content_length;
        struct li_msg m;
        int ok = !li_classify(LI_LSP, sv->replay + off + h, f.content_length, 0, &m);
        if (!ok || m.kind != LI_K_RESPONSE) {
            lp_pump_write(&r->c2s, sv->replay + off, total);
            sent++;
        }
        off += total;
    }
    /* The rest of a frame cut short arrives later: the gate completes it. */
    if (off < sv->replay_len)
        lp_gate_feed(&sv->c2s_gate, sv->replay + off, sv->replay_len - off, c2s_frame, c2s_raw,
                     r);
    event(r, "replayed", json_pack("{s:I, s:I}", "messages", (json_int_t)sent, "bytes",
                                   (json_int_t)off));
}

static void restart(struct relay *r)
{
    struct super *sv = &r->sv;
    struct gen *old = cur(r), *g = &r->gen[1];
    char summary[4096];
    lp_env_summary(sv->report, summary, sizeof summary);
    for (char *c = summary; *c; c++)
        if (*c == '\n') *c = ';';
    int rc = spawn_gen(r, g, sv->report->envp);
    if (rc) {
        char found[600];
        snprintf(found, sizeof found, "A repaired gopls could not be started: %s",
                 uv_strerror(rc));
        give_up(r, found);
        return;
    }
    old->retired = 1;
    kill_group(old);
    lp_pump_stop_src(&old->s2c);
    lp_pump_stop_src(&old->errp);
    lp_close_once((uv_handle_t *)&old->in);
    if (sv->held_dropped || sv->held_len)
        event(r, "dropped", json_pack("{s:s, s:I}", "what", "the first server's held messages",
                                      "bytes", (json_int_t)sv->held_len));
    free(sv->held);
    sv->held = NULL;
    sv->held_len = 0;
    r->cur = 1;
    r->res->restarts++;
    r->res->pid = g->pid;
    r->res->exited = 0;
    lp_pump_set_dst(&r->c2s, (uv_stream_t *)&g->in);
    replay(r);
    r->c2s.filter = c2s_filter;
    if (r->c2s.src_eof) lp_pump_shutdown_dst(&r->c2s);
    free(sv->replay);
    sv->replay = NULL;
    sv->replay_len = sv->replay_cap = 0;
    lp_gate_free(&sv->c2s_seen);

    char text[4500];
    snprintf(text, sizeof text,
             "lsptap restarted gopls with a repaired environment after: %.1000s. Changed: "
             "%.3000s. Run `lsptap doctor` for details.",
             sv->reason, summary);
    say(r, "lsptap: %s\n", text + strlen("lsptap "));
    event(r, "repair", json_pack("{s:s, s:o}", "reason", sv->reason, "changes",
                                 lp_env_changes_json(sv->report)));
    show_message(g, 2, text);
    sv->state = sv->init_id_len ? HS_WAIT_RESULT : HS_WAIT_INIT;
    if (sv->init_id_len) uv_timer_start(&sv->init_timer, init_timeout, r->o->cfg->init_timeout_ms, 0);
}

static void check_env(uv_work_t *w)
{
    struct relay *r = w->data;
    struct lp_env_opts opts = {.login_shell = 1};
    r->sv.report_ok = !lp_env_check(r->o->env ? r->o->env : environ,
                                    r->sv.cwd[0] ? r->sv.cwd : NULL, &opts, &r->sv.report);
}

static void env_checked(uv_work_t *w, int status)
{
    struct relay *r = w->data;
    struct super *sv = &r->sv;
    if (sv->state != HS_REPAIRING || r->finishing || r->c2s.src_eof || r->res->editor_gone) {
        /* The editor left while the environment was checked: nobody to
         * repair for. What the old server said goes on as it was. */
        if (sv->state == HS_REPAIRING) end_supervision(r, "the editor closed its side");
        maybe_finish(r);
        return;
    }
    if (status || !sv->report_ok) {
        give_up(r, "lsptap could not check the environment.");
        return;
    }
    size_t changes = lp_env_changes(sv->report);
    char summary[3000];
    lp_env_summary(sv->report, summary, sizeof summary);
    for (char *c = summary; *c; c++)
        if (*c == '\n') *c = ';';
    if (!changes || r->gen[1].pid || !r->o->cfg->repair) {
        char found[3400];
        if (!changes)
            snprintf(found, sizeof found, "No environment problem lsptap can fix was found%s%.3000s",
                     sv->report->n_problems ? "; found: " : ".",
                     sv->report->n_problems ? summary : "");
        else if (!r->o->cfg->repair)
            snprintf(found, sizeof found, "LSPTAP_REPAIR=off, so nothing was changed; the "
                                          "environment has: %.3000s",
                     summary);
        else
            snprintf(found, sizeof found, "The repaired environment failed too; it changed: %.3000s",
                     summary);
        give_up(r, found);
        return;
    }
    restart(r);
}

static void failure(struct relay *r, const char *fmt, ...)
{
    struct super *sv = &r->sv;
    if (!supervising(r) || sv->state == HS_REPAIRING) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sv->reason, sizeof sv->reason, fmt, ap);
    va_end(ap);
    /* gopls's messages span lines; the reason is one. */
    for (char *c = sv->reason; *c; c++)
        if (*c == '\n' || *c == '\r') *c = ' ';
    for (size_t n = strlen(sv->reason); n && sv->reason[n - 1] == ' ';) sv->reason[--n] = '\0';
    sv->state = HS_REPAIRING;
    uv_timer_stop(&sv->init_timer);
    uv_timer_stop(&sv->window);
    say(r, "lsptap: the handshake failed: %s; checking the environment.\n", sv->reason);
    event(r, "handshake_failed", json_pack("{s:s, s:i}", "reason", sv->reason, "server",
                                           r->cur + 1));
    if (r->gen[1].pid) { /* at most one repair per session */
        char summary[3000] = "", found[3400];
        if (sv->report) lp_env_summary(sv->report, summary, sizeof summary);
        for (char *c = summary; *c; c++)
            if (*c == '\n') *c = ';';
        snprintf(found, sizeof found, "The repaired environment failed too (it changed: %.3000s)",
                 summary);
        give_up(r, found);
        return;
    }
    sv->work.data = r;
    if (uv_queue_work(r->loop, &sv->work, check_env, env_checked))
        give_up(r, "lsptap could not check the environment.");
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

static void maybe_finish(struct relay *r)
{
    struct gen *g = cur(r);
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
    for (char **v = argv; *v; v++) json_array_append_new(a, json_string(*v));
    return a;
}

int lp_relay_exit_code(const struct lp_relay_result *r)
{
    if (r->spawn_error) return 127;
    if (r->term_signal) return 128 + r->term_signal;
    return r->exit_status;
}

static int spawn_gen(struct relay *r, struct gen *g, char **env)
{
    const struct lp_relay_opts *o = r->o;
    int rc;
    g->r = r;
    g->idx = (int)(g - r->gen);
    if ((rc = uv_pipe_init(r->loop, &g->in, 0)) || (rc = uv_pipe_init(r->loop, &g->out, 0)) ||
        (rc = uv_pipe_init(r->loop, &g->err, 0)))
        return rc;
    uv_stdio_container_t stdio[3] = {
        {.flags = UV_CREATE_PIPE | UV_READABLE_PIPE, .data.stream = (uv_stream_t *)&g->in},
        {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&g->out},
        {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&g->err},
    };
    uv_process_options_t po = {
        .exit_cb = child_exited,
        .file = o->argv[0],
        .args = o->argv,
        .env = env,
        .cwd = o->cwd,
        .stdio_count = 3,
        .stdio = stdio,
        .flags = UV_PROCESS_DETACHED,
    };
    g->proc.data = g;
    rc = uv_spawn(r->loop, &g->proc, &po);
    if (rc) {
        event(r, "spawn_failed", json_pack("{s:s, s:o, s:s}", "path", o->argv[0], "argv",
                                           argv_json(o->argv), "error", uv_strerror(rc)));
        lp_close_once((uv_handle_t *)&g->in);
        lp_close_once((uv_handle_t *)&g->out);
        lp_close_once((uv_handle_t *)&g->err);
        return rc;
    }
    g->running = 1;
    g->pid = g->proc.pid;
    json_t *f = json_pack("{s:i, s:s, s:o}", "pid", g->pid, "path", o->argv[0], "argv",
                          argv_json(o->argv));
    if (g->idx) json_object_set_new(f, "restart", json_true());
    event(r, "spawn", f);
    size_t hi = o->cfg->high_mark, lo = o->cfg->low_mark;
    lp_pump_init(&g->s2c, (uv_stream_t *)&g->out, (uv_stream_t *)&r->ed_out, hi, lo, &pump_cb,
                 r);
    lp_pump_init(&g->errp, (uv_stream_t *)&g->err, (uv_stream_t *)&r->ed_err, hi, lo, &pump_cb,
                 r);
    g->errp.keep_dst_open = 1; /* our stderr outlives the server's, for lsptap's own lines */
    g->errp.filter = err_filter;
    if (o->supervise) g->s2c.filter = s2c_filter;
    if (r->ed_out.loop) {
        lp_pump_start(&g->s2c);
        lp_pump_start(&g->errp);
    }
    return 0;
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
    r->sv.state = o->supervise ? HS_WAIT_INIT : HS_DONE;
    if (!getcwd(r->sv.cwd, sizeof r->sv.cwd)) r->sv.cwd[0] = '\0';

    uv_timer_init(r->loop, &r->grace);
    uv_timer_init(r->loop, &r->drain);
    uv_timer_init(r->loop, &r->sv.init_timer);
    uv_timer_init(r->loop, &r->sv.window);
    r->grace.data = r->drain.data = r->sv.init_timer.data = r->sv.window.data = r;
    uv_unref((uv_handle_t *)&r->drain);
    uv_timer_init(r->loop, &r->say_timer);
    r->say_timer.data = r;
    uv_async_init(r->loop, &r->notify, notified);
    r->notify.data = r;
    uv_unref((uv_handle_t *)&r->notify);
    pthread_mutex_lock(&notify_mu);
    notify_async = &r->notify;
    pthread_mutex_unlock(&notify_mu);

    int rc = spawn_gen(r, &r->gen[0], o->env);
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
        kill_child(r, SIGKILL);
    }

    size_t hi = o->cfg->high_mark, lo = o->cfg->low_mark;
    lp_pump_init(&r->c2s, (uv_stream_t *)&r->ed_in, (uv_stream_t *)&r->gen[0].in, hi, lo,
                 &pump_cb, r);

    static const int sigs[3] = {SIGINT, SIGTERM, SIGHUP};
    for (int i = 0; i < 3; i++) {
        uv_signal_init(r->loop, &r->sig[i]);
        r->sig[i].data = r;
        uv_signal_start(&r->sig[i], signal_cb, sigs[i]);
        uv_unref((uv_handle_t *)&r->sig[i]);
    }

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
    lp_gate_free(&r->gen[0].gate);
    lp_gate_free(&r->gen[1].gate);
    lp_gate_free(&r->sv.c2s_seen);
    lp_gate_free(&r->sv.c2s_gate);
    lp_idset_free(&r->sv.answered);
    lp_idset_free(&r->sv.pending0);
    lp_idset_free(&r->sv.remap);
    free(r->sv.replay);
    free(r->sv.held);
    if (r->sv.report) lp_env_report_free(r->sv.report);
    return 0;
}
