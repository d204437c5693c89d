#include "io/lp_server.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

const int lp_server_signals[LP_SERVER_NSIGNALS] = {SIGINT, SIGTERM, SIGHUP};

static void emit(struct lp_server *s, const struct lp_server_event *ev)
{
    if (!s->closing) s->cb(s, ev);
}

static void closed_one(struct lp_server *s)
{
    if (--s->open == 0 && s->closed) s->closed(s);
}

static void timer_closed(uv_handle_t *h)
{
    closed_one(h->data);
}

static void sigchld_closed(uv_handle_t *h)
{
    struct lp_child *c = h->data;
    closed_one(c->data);
}

/* ---- the escalation ---- */

static void send_term(struct lp_server *s, int sig, enum lp_server_why why, uint64_t after_ms)
{
    struct lp_server_event ev = {
        .type = LP_SERVER_TERMINATE,
        .pid = s->child.pid,
        .signal = sig,
        .why = why,
        .after_ms = after_ms,
    };
    /* The event first: the owner's line says what is about to happen, and
     * the exit it causes is reported after it. */
    emit(s, &ev);
    lp_server_kill_group(s, sig);
}

static void kill_fired(uv_timer_t *t)
{
    struct lp_server *s = t->data;
    if (!s->running || s->kill_sent) return;
    s->kill_sent = 1;
    send_term(s, SIGKILL, LP_SERVER_IGNORED, s->kill_ms);
}

/* SIGTERM went (or was passed on): SIGKILL follows unless it ends first. */
static void arm_kill(struct lp_server *s)
{
    s->term_sent = s->grace_started = 1;
    uv_ref((uv_handle_t *)&s->timer);
    uv_timer_start(&s->timer, kill_fired, s->kill_ms, 0);
}

static void grace_fired(uv_timer_t *t)
{
    struct lp_server *s = t->data;
    if (!s->running || s->term_sent) return;
    arm_kill(s);
    send_term(s, SIGTERM, LP_SERVER_GRACE, s->grace_ms);
}

void lp_server_input_closed(struct lp_server *s)
{
    if (s->grace_started || !s->running || s->closing) return;
    s->grace_started = 1;
    uv_ref((uv_handle_t *)&s->timer);
    uv_timer_start(&s->timer, grace_fired, s->grace_ms, 0);
}

void lp_server_terminate(struct lp_server *s)
{
    if (s->term_sent || !s->running || s->closing) return;
    arm_kill(s);
    send_term(s, SIGTERM, LP_SERVER_ASKED, 0);
}

int lp_server_signal(struct lp_server *s, int signum)
{
    if (!s->running) return 0;
    lp_child_kill(&s->child, signum);
    /* Whoever sent SIGTERM wants the server gone: one that ignores it gets
     * SIGKILL after kill_ms, as at the end of the grace time. */
    if (signum == SIGTERM && !s->term_sent && !s->closing) arm_kill(s);
    return 1;
}

int lp_server_kill_group(struct lp_server *s, int sig)
{
    if (s->child.pid <= 0) return -ESRCH;
    return kill(-s->child.pid, sig) ? -errno : 0;
}

/* ---- the end ---- */

static void drain_fired(uv_timer_t *t)
{
    struct lp_server *s = t->data;
    struct lp_server_event ev = {.type = LP_SERVER_DRAIN, .pid = s->child.pid};
    emit(s, &ev);
}

void lp_server_drain(struct lp_server *s)
{
    if (!s->exited || s->closing) return;
    uv_timer_start(&s->timer, drain_fired, s->drain_ms, 0);
    uv_unref((uv_handle_t *)&s->timer);
}

static void child_exited(struct lp_child *c, int64_t status, int term_signal)
{
    struct lp_server *s = c->data;
    s->running = 0;
    s->exited = 1;
    s->exit_status = status;
    s->term_signal = term_signal;
    uv_timer_stop(&s->timer); /* no SIGTERM or SIGKILL for a pid that is gone */
    struct lp_server_event ev = {
        .type = LP_SERVER_EXIT,
        .pid = c->pid,
        .status = status,
        .signal = term_signal,
    };
    emit(s, &ev);
}

int lp_server_spawn(uv_loop_t *loop, struct lp_server *s, const struct lp_server_opts *o)
{
    void *data = s->data;
    memset(s, 0, sizeof *s);
    s->data = data;
    s->cb = o->cb;
    s->grace_ms = o->grace_ms;
    s->kill_ms = o->kill_ms;
    s->drain_ms = o->drain_ms;
    int rc = uv_timer_init(loop, &s->timer);
    if (rc) return rc; /* nothing open: lp_server_close calls back at once */
    s->timer.data = s;
    s->open = 1;
    s->child.data = s;
    s->child.closed = sigchld_closed;
    struct lp_child_opts co = o->child;
    co.exit_cb = child_exited;
    rc = lp_child_spawn(loop, &s->child, &co);
    if (s->child.sigchld.loop) s->open++; /* open, or closing after a failed spawn */
    if (rc) {
        s->closing = 1; /* no callback: the call failed */
        uv_close((uv_handle_t *)&s->timer, timer_closed);
        return rc;
    }
    s->running = 1;
    return 0;
}

void lp_server_close(struct lp_server *s, void (*closed)(struct lp_server *s))
{
    int again = s->close_asked;
    s->close_asked = 1;
    s->closed = closed;
    s->closing = 1;
    uv_handle_t *t = (uv_handle_t *)&s->timer;
    if (t->loop && !uv_is_closing(t)) uv_close(t, timer_closed);
    lp_child_close(&s->child);
    if (s->open == 0 && closed && !again) closed(s);
}

/* ---- helpers for the owner ---- */

int lp_server_stdio(uv_pipe_t *mine, int *theirs)
{
    int sv[2];
    *theirs = -1;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) return -errno;
    int rc = uv_pipe_open(mine, sv[0]);
    if (rc) {
        close(sv[0]);
        close(sv[1]);
        return rc;
    }
    *theirs = sv[1];
    return 0;
}

int lp_server_watch_signals(uv_loop_t *loop, uv_signal_t sig[LP_SERVER_NSIGNALS], uv_signal_cb cb,
                            void *data)
{
    for (int i = 0; i < LP_SERVER_NSIGNALS; i++) {
        int rc = uv_signal_init(loop, &sig[i]);
        if (rc) return rc;
        sig[i].data = data;
        if ((rc = uv_signal_start(&sig[i], cb, lp_server_signals[i]))) return rc;
        uv_unref((uv_handle_t *)&sig[i]);
    }
    return 0;
}
