#include "replay/lp_replay.h"

#include <assert.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "framing/lf.h"
#include "inspect/li_buf.h"
#include "inspect/li_frames.h"
#include "inspect/li_redact.h"
#include "inspect/li_stats.h"
#include "io/lp_server.h"
#include "replay/li_replay.h"

#define GRACE_MS 3000 /* after the last message, before SIGTERM */
#define KILL_MS 2000  /* after SIGTERM, before SIGKILL */
#define MAX_BODY ((size_t)256 << 20)
#define DIFF_SHOWN 6 /* differences shown per reply */

/* What happened to one recorded message during the replay. */
struct slot {
    uint64_t sent_hr; /* 0: not sent */
    uint64_t reply_hr;
    json_t *reply; /* the replayed server's reply (owned) */
    int gave_up;   /* a causality wait for its reply timed out */
};

/* Server requests, notifications: counted per method. */
struct tally {
    char *method; /* first: a per_method() table */
    size_t recorded, replayed, from_rec;
};

struct tallies {
    struct tally *t;
    size_t n;
};

struct rp {
    const struct lp_replay_opts *o;
    struct li_rec rec;
    struct slot *s;
    uv_loop_t *loop;
    struct lp_server srv; /* the server under test (io/lp_server.h) */
    uv_pipe_t in, out, err;
    uv_timer_t tick;
    uv_signal_t sig[LP_SERVER_NSIGNALS];
    struct li_frames frames; /* the server's output */
    size_t next;             /* next message to consider */
    size_t settled;          /* messages before this one hold nothing back and
                                await no reply: scans start here */
    uint64_t wait_since;     /* a causality or final wait began (hrtime), 0 none */
    uint64_t last_hr;        /* when the last message was sent */
    int64_t last_t;          /* its recorded t_us */
    int all_sent, closing, exited, out_eof, err_eof, killed, write_failed;
    int interrupted;  /* the signal lsptap got and passed on to the server, 0 none */
    size_t exited_at; /* session position when the server exited early, 0 none */
    struct tallies sreq, notes;
    json_t *events;         /* timeouts and other happenings, in order */
    struct li_rewrite back; /* server -> recording terms */
};

static uint64_t now_ms(struct rp *r)
{
    (void)r;
    return uv_hrtime() / 1000000;
}

/* The entry of `method` in a per-method table: `*v` is the table's array
 * (any entry type; passed as the address of its pointer and moved by
 * memcpy, so no pointer is read through another type), *n entries of `size`
 * bytes, each beginning with its `char *method` (owned). Appended zeroed
 * with a copy of the name when absent, so the table keeps first-seen order.
 * NULL when out of memory. */
static void *per_method(void *v, size_t *n, size_t size, const char *method)
{
    char *a;
    memcpy(&a, v, sizeof a);
    for (size_t i = 0; i < *n; i++) {
        char *name;
        memcpy(&name, a + i * size, sizeof name);
        if (!strcmp(name, method)) return a + i * size;
    }
    char *name = strdup(method);
    char *p = name ? realloc(a, (*n + 1) * size) : NULL;
    if (!p) return free(name), NULL;
    memcpy(v, &p, sizeof p);
    char *e = p + (*n)++ * size;
    memset(e, 0, size);
    memcpy(e, &name, sizeof name);
    return e;
}

static struct tally *tally_get(struct tallies *ts, const char *method)
{
    return per_method(&ts->t, &ts->n, sizeof *ts->t, method);
}

static void tallies_free(struct tallies *ts)
{
    for (size_t i = 0; i < ts->n; i++)
        free(ts->t[i].method);
    free(ts->t);
}

static void happen(struct rp *r, json_t *ev, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A happening worth reporting: on stderr now (unless --json) and in the report. */
static void happen(struct rp *r, json_t *ev, const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    json_object_set_new(ev, "message", json_string(text));
    json_array_append_new(r->events, ev);
    fprintf(stderr, "lsptap replay: %s\n", text);
}

/* ---- writing to the server ---- */

static void write_done(uv_write_t *req, int status)
{
    struct rp *r = req->data;
    free(req);
    if (status && status != UV_ECANCELED && !r->write_failed) {
        r->write_failed = 1;
        fprintf(stderr, "lsptap replay: cannot write to the server: %s\n", uv_strerror(status));
    }
}

static int send_json(struct rp *r, json_t *msg)
{
    char *text = json_dumps(msg, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!text) return -ENOMEM;
    size_t len = strlen(text);
    uv_write_t *req = malloc(sizeof *req + LF_HEADER_MAX_OUT + len);
    if (!req) {
        free(text);
        return -ENOMEM;
    }
    char *p = (char *)(req + 1);
    size_t h = lf_write_header(p, LF_HEADER_MAX_OUT, len);
    assert(h > 0); /* LF_HEADER_MAX_OUT always suffices */
    memcpy(p + h, text, len);
    free(text);
    uv_buf_t b = uv_buf_init(p, (unsigned)(h + len));
    req->data = r;
    int rc = r->closing ? UV_EPIPE : uv_write(req, (uv_stream_t *)&r->in, &b, 1, write_done);
    if (rc) free(req);
    return rc;
}

/* ---- the editor's side ---- */

static void schedule(struct rp *r);

static int is_sendable(const struct li_rmsg *m)
{
    return m->dir == LI_C2S && (m->kind == LI_K_REQUEST || m->kind == LI_K_NOTIFICATION);
}

/* Message j was sent and needs nothing more: not a request, answered, or
 * given up on. Once true it stays true. */
static int settled(struct rp *r, size_t j)
{
    const struct li_rmsg *q = &r->rec.m[j];
    if (!is_sendable(q)) return 1;
    if (!r->s[j].sent_hr) return 0;
    return q->kind != LI_K_REQUEST || r->s[j].reply || r->s[j].gave_up;
}

/* The first earlier editor request whose recorded reply came before m was
 * sent and that the replayed server has not answered: m must wait for it. */
static long blocker(struct rp *r, size_t i)
{
    const struct li_rmsg *m = &r->rec.m[i];
    while (r->settled < i && settled(r, r->settled))
        r->settled++;
    for (size_t j = r->settled; j < i; j++) {
        const struct li_rmsg *q = &r->rec.m[j];
        if (q->dir != LI_C2S || q->kind != LI_K_REQUEST || q->reply < 0) continue;
        assert((size_t)q->reply < r->rec.n); /* li_rec pairs within the recording */
        if (r->rec.m[q->reply].t_us > m->t_us || (size_t)q->reply > i) continue;
        if (!r->s[j].reply && !r->s[j].gave_up && !r->exited) return (long)j;
    }
    return -1;
}

static void send_one(struct rp *r, size_t i)
{
    assert(i < r->rec.n && !r->s[i].sent_hr); /* each editor message goes once */
    const struct li_rmsg *m = &r->rec.m[i];
    json_t *msg = li_rewrite_json(m->body, &r->o->rw);
    /* The recorded editor is long gone: a server that watches its editor's
     * process (LSP initialize processId) watches lsptap instead. */
    json_t *params = json_object_get(msg, "params");
    if (m->method && !strcmp(m->method, "initialize") &&
        json_is_integer(json_object_get(params, "processId")))
        json_object_set_new(params, "processId", json_integer(getpid()));
    if (!msg || send_json(r, msg) != 0)
        fprintf(stderr, "lsptap replay: could not send message %zu (%s)\n", m->pos,
                m->method ? m->method : "?");
    json_decref(msg);
    r->s[i].sent_hr = uv_hrtime();
    r->last_hr = r->s[i].sent_hr;
    r->last_t = m->t_us;
}

static size_t unanswered(struct rp *r)
{
    size_t n = 0;
    for (size_t i = r->settled; i < r->next; i++)
        if (r->s[i].sent_hr && r->rec.m[i].kind == LI_K_REQUEST && !r->s[i].reply &&
            !r->s[i].gave_up)
            n++;
    return n;
}

/* Everything sent and answered (or given up): the server's stdin is closed
 * and it gets GRACE_MS to exit on its own, then SIGTERM and SIGKILL to its
 * process group (lp_server). */
static void wind_down(struct rp *r)
{
    if (r->closing) return;
    r->closing = 1;
    uv_timer_stop(&r->tick);
    if (!uv_is_closing((uv_handle_t *)&r->in)) uv_close((uv_handle_t *)&r->in, NULL);
    lp_server_input_closed(&r->srv);
}

static void tick(uv_timer_t *t)
{
    schedule(t->data);
}

static void arm(struct rp *r, uint64_t ms)
{
    uv_timer_start(&r->tick, tick, ms ? ms : 1, 0);
}

static void schedule(struct rp *r)
{
    if (r->closing) return;
    const struct lp_replay_opts *o = r->o;
    while (r->next < r->rec.n && !r->exited) {
        size_t i = r->next;
        const struct li_rmsg *m = &r->rec.m[i];
        if (!is_sendable(m)) {
            r->next++;
            continue;
        }
        long b = blocker(r, i);
        if (b >= 0) {
            uint64_t now = now_ms(r);
            if (!r->wait_since) r->wait_since = now;
            if (now - r->wait_since < (uint64_t)o->timeout_ms) {
                arm(r, r->wait_since + (uint64_t)o->timeout_ms - now);
                return;
            }
            const struct li_rmsg *q = &r->rec.m[b];
            char *id = json_dumps(q->id, JSON_ENCODE_ANY);
            happen(r,
                   json_pack("{s:s, s:s, s:s?, s:I, s:s?, s:I}", "what", "causality_timeout",
                             "waited_for", q->method, "id", id, "waited_for_position",
                             (json_int_t)q->pos, "sending", m->method, "position",
                             (json_int_t)m->pos),
                   "no reply to %s (id %s, message %zu) after %d ms; sending %s (message %zu) "
                   "anyway",
                   q->method ? q->method : "?", id ? id : "?", q->pos, o->timeout_ms,
                   m->method ? m->method : "?", m->pos);
            free(id);
            r->s[b].gave_up = 1;
            r->wait_since = 0;
            continue;
        }
        r->wait_since = 0;
        if (o->speed_original && r->last_hr && m->t_us > r->last_t) {
            uint64_t due = r->last_hr + (uint64_t)(m->t_us - r->last_t) * 1000;
            uint64_t now = uv_hrtime();
            if (now < due) {
                arm(r, (due - now + 999999) / 1000000);
                return;
            }
        }
        send_one(r, i);
        r->next++;
    }
    r->all_sent = 1;
    if (r->exited || !unanswered(r)) {
        wind_down(r);
        return;
    }
    uint64_t now = now_ms(r);
    if (!r->wait_since) r->wait_since = now;
    if (now - r->wait_since < (uint64_t)o->timeout_ms) {
        arm(r, r->wait_since + (uint64_t)o->timeout_ms - now);
        return;
    }
    happen(
        r,
        json_pack("{s:s, s:I}", "what", "final_timeout", "unanswered", (json_int_t)unanswered(r)),
        "%zu request(s) still unanswered %d ms after the last message; ending the replay",
        unanswered(r), o->timeout_ms);
    wind_down(r);
}

/* ---- the server's side ---- */

static void answer_request(struct rp *r, json_t *msg, const char *method)
{
    struct tally *t = tally_get(&r->sreq, method);
    size_t k = t ? t->replayed++ : 0;
    json_t *params = json_object_get(msg, "params");
    json_t *rec = li_rec_editor_reply(&r->rec, method, k);
    json_t *reply = json_pack("{s:s, s:O}", "jsonrpc", "2.0", "id", json_object_get(msg, "id"));
    if (rec && json_object_get(rec, "error")) {
        json_object_set_new(reply, "error",
                            li_rewrite_json(json_object_get(rec, "error"), &r->o->rw));
    } else if (rec) {
        json_t *res = li_rewrite_json(json_object_get(rec, "result"), &r->o->rw);
        size_t want = json_array_size(json_object_get(params, "items"));
        if (!strcmp(method, "workspace/configuration") && json_is_array(res)) {
            /* One entry per item asked, whatever the recording had. */
            while (json_array_size(res) > want)
                json_array_remove(res, json_array_size(res) - 1);
            while (json_array_size(res) < want)
                json_array_append_new(res, json_object());
        }
        json_object_set_new(reply, "result", res ? res : json_null());
    } else {
        json_object_set_new(reply, "result", li_default_reply(method, params));
    }
    if (t && rec) t->from_rec++;
    send_json(r, reply);
    json_decref(reply);
}

static void take_reply(struct rp *r, json_t *msg)
{
    json_t *id = json_object_get(msg, "id");
    for (size_t i = r->settled; i < r->next; i++) {
        const struct li_rmsg *q = &r->rec.m[i];
        if (q->dir != LI_C2S || q->kind != LI_K_REQUEST || !r->s[i].sent_hr || r->s[i].reply)
            continue;
        if (q->id && json_equal(q->id, id)) {
            r->s[i].reply = json_incref(msg);
            r->s[i].reply_hr = uv_hrtime();
            return;
        }
    }
    char *text = json_dumps(id, JSON_ENCODE_ANY);
    happen(r, json_pack("{s:s, s:s?}", "what", "unexpected_reply", "id", text),
           "the server answered id %s, which the replay never sent (or answered twice)",
           text ? text : "?");
    free(text);
}

static void on_message(void *ud, const char *body, size_t len)
{
    struct rp *r = ud;
    json_error_t je;
    json_t *msg = json_loadb(body, len, JSON_ALLOW_NUL, &je);
    if (!json_is_object(msg)) {
        happen(r, json_pack("{s:s}", "what", "invalid_message"),
               "the server sent a body that is not a JSON object (%s)", je.text);
        json_decref(msg);
        return;
    }
    const char *method = json_string_value(json_object_get(msg, "method"));
    if (method && json_object_get(msg, "id"))
        answer_request(r, msg, method);
    else if (method) {
        struct tally *t = tally_get(&r->notes, method);
        if (t) t->replayed++;
    } else
        take_reply(r, msg);
    json_decref(msg);
    schedule(r);
}

static void lf_error(void *ud, int code, uint64_t off)
{
    struct rp *r = ud;
    happen(r,
           json_pack("{s:s, s:s, s:I}", "what", "framing_error", "code", lf_errname(code), "offset",
                     (json_int_t)off),
           "the server's output does not frame at byte %llu: %s", (unsigned long long)off,
           lf_strerror(code));
}

static void alloc_cb(uv_handle_t *h, size_t want, uv_buf_t *b)
{
    (void)h;
    b->base = malloc(want);
    b->len = b->base ? want : 0;
}

static void close_if_open(uv_handle_t *h)
{
    if (h->loop && !uv_is_closing(h)) uv_close(h, NULL);
}

/* Closes every handle of the replay, so that uv_run returns. */
static void close_all(struct rp *r)
{
    uv_timer_stop(&r->tick);
    close_if_open((uv_handle_t *)&r->tick);
    close_if_open((uv_handle_t *)&r->in);
    close_if_open((uv_handle_t *)&r->out);
    close_if_open((uv_handle_t *)&r->err);
    for (int i = 0; i < LP_SERVER_NSIGNALS; i++)
        close_if_open((uv_handle_t *)&r->sig[i]);
    lp_server_close(&r->srv, NULL);
}

static void maybe_stop(struct rp *r)
{
    if (r->exited && r->out_eof && r->err_eof) close_all(r);
}

static void out_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct rp *r = s->data;
    if (n > 0) li_frames_feed(&r->frames, b->base, (size_t)n);
    free(b->base);
    if (n < 0) {
        li_frames_finish(&r->frames);
        uv_close((uv_handle_t *)s, NULL);
        r->out_eof = 1;
        maybe_stop(r);
    }
}

static void err_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct rp *r = s->data;
    if (n > 0) fwrite(b->base, 1, (size_t)n, stderr);
    free(b->base);
    if (n < 0) {
        uv_close((uv_handle_t *)s, NULL);
        r->err_eof = 1;
        maybe_stop(r);
    }
}

/* The server exited but something it started still holds its stdout or
 * stderr open LP_SERVER_DRAIN_MS later: what is left of its process group
 * is killed (nothing outlives the replay, as with the relays) and the
 * replay stops waiting for those streams. */
static void drain_over(struct rp *r, const struct lp_server_event *ev)
{
    if (r->out_eof && r->err_eof) return;
    happen(r, json_pack("{s:s, s:i}", "what", "orphans_killed", "pgid", ev->pid),
           "the server exited but its %s still open %d ms later (a process it started holds "
           "%s); killing what is left of its process group",
           !r->out_eof && !r->err_eof ? "stdout and stderr are"
                                      : (!r->out_eof ? "stdout is" : "stderr is"),
           LP_SERVER_DRAIN_MS, !r->out_eof && !r->err_eof ? "them" : "it");
    lp_server_kill_group(&r->srv, SIGKILL);
    if (!r->out_eof) {
        li_frames_finish(&r->frames);
        uv_close((uv_handle_t *)&r->out, NULL);
        r->out_eof = 1;
    }
    if (!r->err_eof) {
        uv_close((uv_handle_t *)&r->err, NULL);
        r->err_eof = 1;
    }
    maybe_stop(r);
}

/* The signal lsptap got, as a user knows it: Ctrl-C is SIGINT. */
static const char *signal_words(int sig)
{
    return sig == SIGINT    ? "SIGINT (Ctrl-C)"
           : sig == SIGTERM ? "SIGTERM"
           : sig == SIGHUP  ? "SIGHUP"
                            : "a signal";
}

static void server_exited(struct rp *r, int64_t status, int sig)
{
    r->exited = 1;
    if (!r->all_sent && !r->killed) {
        size_t at = r->next < r->rec.n ? r->rec.m[r->next].pos : 0;
        r->exited_at = at ? at : 1;
        /* Ended by what lsptap passed on: the user stopped the replay; the
         * server did not fail. Said so, not as a crash by signal number. */
        if (r->interrupted && sig == r->interrupted)
            happen(r, json_pack("{s:s, s:i}", "what", "server_exit", "signal", sig),
                   "the replay was interrupted at message %zu: lsptap got %s and passed it on to "
                   "the server, which ended",
                   at, signal_words(r->interrupted));
        else if (r->interrupted && sig)
            happen(r, json_pack("{s:s, s:i}", "what", "server_exit", "signal", sig),
                   "the replay was interrupted at message %zu: lsptap got %s and passed it on to "
                   "the server, which was then killed by signal %d",
                   at, signal_words(r->interrupted), sig);
        else if (r->interrupted)
            happen(r, json_pack("{s:s, s:I}", "what", "server_exit", "status", (json_int_t)status),
                   "the replay was interrupted at message %zu: lsptap got %s and passed it on to "
                   "the server, which exited with status %lld",
                   at, signal_words(r->interrupted), (long long)status);
        else if (sig)
            happen(r, json_pack("{s:s, s:i}", "what", "server_exit", "signal", sig),
                   "the server was killed by signal %d before the replay ended (at message %zu)",
                   sig, at);
        else
            happen(r, json_pack("{s:s, s:I}", "what", "server_exit", "status", (json_int_t)status),
                   "the server exited with status %lld before the replay ended (at message %zu)",
                   (long long)status, at);
    }
    if (!r->closing) wind_down(r);
    if (!r->out_eof || !r->err_eof) lp_server_drain(&r->srv);
    maybe_stop(r);
}

static void server_event(struct lp_server *s, const struct lp_server_event *ev)
{
    struct rp *r = s->data;
    switch (ev->type) {
    case LP_SERVER_EXIT:
        server_exited(r, ev->status, ev->signal);
        break;
    case LP_SERVER_TERMINATE: {
        r->killed = 1;
        int hard = ev->why == LP_SERVER_IGNORED;
        happen(r,
               json_pack("{s:s, s:s, s:I}", "what", "terminate", "signal",
                         hard ? "SIGKILL" : "SIGTERM", "after_ms", (json_int_t)ev->after_ms),
               hard ? "the server ignored SIGTERM for %llu ms; sending SIGKILL to its process group"
                    : "the server still runs %llu ms after its stdin was closed; sending SIGTERM "
                      "to its process group",
               (unsigned long long)ev->after_ms);
        break;
    }
    case LP_SERVER_DRAIN:
        drain_over(r, ev);
        break;
    }
}

/* SIGINT, SIGTERM or SIGHUP to lsptap: passed on to the server (as the
 * relays do), and the replay ends: nothing more is sent, the server's stdin
 * is closed, and one that does not end gets SIGTERM and SIGKILL to its
 * process group. The server is no longer in the terminal's foreground
 * group, so lsptap is the one that tells it. */
static void on_signal(uv_signal_t *h, int signum)
{
    struct rp *r = h->data;
    if (!r->interrupted)
        happen(r, json_pack("{s:s, s:i}", "what", "signal", "signal", signum),
               "signal %d: passed on to the server; ending the replay", signum);
    if (!r->interrupted) r->interrupted = signum;
    lp_server_signal(&r->srv, signum);
    wind_down(r);
}

static int start(struct rp *r, char **argv, const char *cwd)
{
    uv_pipe_t *mine[3] = {&r->in, &r->out, &r->err};
    int rc = 0, theirs[3] = {-1, -1, -1};
    for (int i = 0; i < 3 && !rc; i++)
        rc = uv_pipe_init(r->loop, mine[i], 0);
    /* Socketpairs, as the relays give their servers (lp_server_stdio). */
    for (int i = 0; i < 3 && !rc; i++)
        rc = lp_server_stdio(mine[i], &theirs[i]);
    if (!rc) {
        struct lp_server_opts so = {
            .child = {.file = argv[0],
                      .args = argv,
                      .cwd = cwd,
                      .fd = {theirs[0], theirs[1], theirs[2]}},
            .grace_ms = GRACE_MS,
            .kill_ms = KILL_MS,
            .drain_ms = LP_SERVER_DRAIN_MS,
            .cb = server_event,
        };
        r->srv.data = r;
        rc = lp_server_spawn(r->loop, &r->srv, &so);
    }
    for (int i = 0; i < 3; i++)
        if (theirs[i] >= 0) close(theirs[i]); /* the server has its copies */
    if (rc) return rc;
    r->out.data = r->err.data = r;
    uv_read_start((uv_stream_t *)&r->out, alloc_cb, out_read);
    uv_read_start((uv_stream_t *)&r->err, alloc_cb, err_read);
    return lp_server_watch_signals(r->loop, r->sig, on_signal, r);
}

/* ---- the report ---- */

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Latencies of one method's requests, recorded and replayed (µs). */
struct row {
    char *method; /* first: a per_method() table */
    size_t count, differ, missing;
    int64_t *lat[2]; /* 0 recorded, 1 replayed */
    size_t n[2], cap[2];
};

struct rows {
    struct row *v;
    size_t n;
};

static struct row *row_get(struct rows *rs, const char *method)
{
    return per_method(&rs->v, &rs->n, sizeof *rs->v, method);
}

static void row_add(struct row *w, int which, int64_t us)
{
    int64_t *p = li_grow(w->lat[which], &w->cap[which], w->n[which] + 1, sizeof *p);
    if (!p) return;
    w->lat[which] = p;
    w->lat[which][w->n[which]++] = us;
}

static void rows_free(struct rows *rs)
{
    for (size_t i = 0; i < rs->n; i++) {
        free(rs->v[i].method);
        free(rs->v[i].lat[0]);
        free(rs->v[i].lat[1]);
    }
    free(rs->v);
}

/* Nearest-rank median, -1 when there is nothing. Sorts v. */
static int64_t p50(int64_t *v, size_t n)
{
    if (!n || !v) return -1;
    qsort(v, n, sizeof *v, cmp_i64);
    return li_percentile(v, n, 50);
}

/* Compares one replayed reply with the recorded one. Returns a new
 * "difference" object, or NULL when they agree. */
static json_t *compare_one(struct rp *r, size_t i)
{
    const struct li_rmsg *q = &r->rec.m[i];
    const struct li_rmsg *rec = &r->rec.m[q->reply];
    json_t *d = json_array();
    size_t n;
    if (!r->s[i].reply) {
        n = 1;
        json_array_append_new(d, json_pack("{s:s, s:s}", "path", "/", "replayed", "(no reply)"));
    } else {
        json_t *back = li_rewrite_json(r->s[i].reply, &r->back);
        json_t *a = li_normalize_reply(q->method, rec->body);
        json_t *b = li_normalize_reply(q->method, back);
        n = li_json_diff(a, b, d, DIFF_SHOWN);
        json_decref(a);
        json_decref(b);
        json_decref(back);
    }
    if (!n) {
        json_decref(d);
        return NULL;
    }
    return json_pack("{s:s?, s:O?, s:I, s:I, s:I, s:o}", "method", q->method, "id", q->id,
                     "position", (json_int_t)q->pos, "line", (json_int_t)q->lineno, "differences",
                     (json_int_t)n, "diff", d);
}

/* What the report is made of, gathered once. */
struct outcome {
    struct rows rows;
    size_t sent, compared, differing;
    json_t *diffs;
};

static void count_recorded(struct rp *r, const struct li_rmsg *q)
{
    if (q->dir != LI_S2C || !q->method) return;
    struct tally *t = NULL;
    if (q->kind == LI_K_NOTIFICATION) t = tally_get(&r->notes, q->method);
    if (q->kind == LI_K_REQUEST) t = tally_get(&r->sreq, q->method);
    if (t) t->recorded++;
}

static void gather(struct rp *r, struct outcome *oc)
{
    memset(oc, 0, sizeof *oc);
    oc->diffs = json_array();
    for (size_t i = 0; i < r->rec.n; i++) {
        const struct li_rmsg *q = &r->rec.m[i];
        count_recorded(r, q);
        if (!r->s[i].sent_hr) continue;
        oc->sent++;
        if (q->kind != LI_K_REQUEST || !q->method) continue;
        struct row *w = row_get(&oc->rows, q->method);
        if (!w) continue;
        w->count++;
        if (q->reply >= 0) {
            const struct li_rmsg *a = &r->rec.m[q->reply];
            row_add(w, 0, a->latency_us >= 0 ? a->latency_us : a->t_us - q->t_us);
        }
        if (r->s[i].reply)
            row_add(w, 1, (int64_t)(r->s[i].reply_hr - r->s[i].sent_hr) / 1000);
        else
            w->missing++;
        /* A reply to a request the editor cancelled is a race, not a result. */
        if (q->reply < 0 || r->rec.m[q->reply].cancelled) continue;
        oc->compared++;
        json_t *d = compare_one(r, i);
        if (d) {
            w->differ++;
            oc->differing++;
            json_array_append_new(oc->diffs, d);
        }
    }
}

static json_t *methods_json(struct rows *rs)
{
    json_t *methods = json_array();
    for (size_t i = 0; i < rs->n; i++) {
        struct row *w = &rs->v[i];
        int64_t a = p50(w->lat[0], w->n[0]), b = p50(w->lat[1], w->n[1]);
        json_t *m =
            json_pack("{s:s, s:I, s:I, s:I}", "method", w->method, "count", (json_int_t)w->count,
                      "differ", (json_int_t)w->differ, "missing", (json_int_t)w->missing);
        json_object_set_new(m, "recorded_p50_us", a >= 0 ? json_integer(a) : json_null());
        json_object_set_new(m, "replayed_p50_us", b >= 0 ? json_integer(b) : json_null());
        json_object_set_new(m, "ratio",
                            a > 0 && b >= 0 ? json_real((double)b / (double)a) : json_null());
        json_array_append_new(methods, m);
    }
    return methods;
}

static json_t *tallies_json(const struct tallies *ts, int with_source)
{
    json_t *a = json_array();
    for (size_t i = 0; i < ts->n; i++) {
        const struct tally *t = &ts->t[i];
        json_t *o = json_pack("{s:s, s:I, s:I}", "method", t->method, "recorded",
                              (json_int_t)t->recorded, "replayed", (json_int_t)t->replayed);
        if (with_source)
            json_object_set_new(o, "from_recording", json_integer((json_int_t)t->from_rec));
        json_array_append_new(a, o);
    }
    return a;
}

/* The whole report as one object (the --json output; the text is printed
 * from it too). */
static json_t *report_json(struct rp *r, struct outcome *oc, char **argv, int code)
{
    json_t *av = json_array();
    for (char **a = argv; *a; a++)
        json_array_append_new(av, json_string(*a));
    json_t *doc = json_pack(
        "{s:s, s:o, s:I, s:I, s:b, s:o, s:I, s:I, s:O, s:o, s:o, s:O, s:i}", "session",
        r->o->session, "server", av, "messages", (json_int_t)r->rec.n, "sent", (json_int_t)oc->sent,
        "truncated", r->rec.truncated != 0, "methods", methods_json(&oc->rows), "compared",
        (json_int_t)oc->compared, "differing", (json_int_t)oc->differing, "differences", oc->diffs,
        "server_requests", tallies_json(&r->sreq, 1), "notifications", tallies_json(&r->notes, 0),
        "events", r->events, "exit_code", code);
    json_object_set_new(doc, "server_exit",
                        r->exited
                            ? json_pack("{s:I, s:i}", "status", (json_int_t)r->srv.exit_status,
                                        "signal", r->srv.term_signal)
                            : json_null());
    return doc;
}

static void fmt_us(char *out, size_t cap, const json_t *v)
{
    if (!json_is_integer(v)) {
        snprintf(out, cap, "-");
        return;
    }
    json_int_t us = json_integer_value(v);
    if (us < 1000)
        snprintf(out, cap, "%lldus", (long long)us);
    else if (us < 10000000)
        snprintf(out, cap, "%.1fms", (double)us / 1000.0);
    else
        snprintf(out, cap, "%.1fs", (double)us / 1e6);
}

static long long num(const json_t *o, const char *key)
{
    return (long long)json_integer_value(json_object_get(o, key));
}

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "?";
}

static void print_value(FILE *f, const char *label, json_t *v)
{
    char *text = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    if (!text) {
        fprintf(f, "    %s: (absent)\n", label);
        return;
    }
    size_t len = strlen(text);
    if (len > 160)
        fprintf(f, "    %s: %.150s... (%zu bytes)\n", label, text, len);
    else
        fprintf(f, "    %s: %s\n", label, text);
    free(text);
}

/* A tallies_json() array under its heading (nothing when it is empty). */
static void print_tallies(FILE *f, const json_t *a, const char *heading, int with_source)
{
    if (json_array_size(a)) fprintf(f, "%s:\n", heading);
    for (size_t i = 0; i < json_array_size(a); i++) {
        const json_t *m = json_array_get(a, i);
        fprintf(f, "  %-34s %6lld %6lld", str(m, "method"), num(m, "recorded"), num(m, "replayed"));
        if (with_source) fprintf(f, " %6lld", num(m, "from_recording"));
        fputc('\n', f);
    }
}

static void print_diff(FILE *f, json_t *d)
{
    char *id = json_dumps(json_object_get(d, "id"), JSON_ENCODE_ANY);
    fprintf(f, "differs: %s id %s (message %lld of the session, line %lld)\n", str(d, "method"),
            id ? id : "?", num(d, "position"), num(d, "line"));
    free(id);
    json_t *list = json_object_get(d, "diff");
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *e = json_array_get(list, i);
        fprintf(f, "  %s\n", str(e, "path"));
        print_value(f, "recorded", json_object_get(e, "recorded"));
        print_value(f, "replayed", json_object_get(e, "replayed"));
    }
    if ((size_t)num(d, "differences") > json_array_size(list))
        fprintf(f, "  ... %lld differences in all\n", num(d, "differences"));
}

static void print_text(FILE *f, const json_t *doc, int compare)
{
    const json_t *a = json_object_get(doc, "methods");
    fprintf(f, "replayed %s: %lld editor messages (of %lld in the session) sent to %s%s\n",
            str(doc, "session"), num(doc, "sent"), num(doc, "messages"),
            json_string_value(json_array_get(json_object_get(doc, "server"), 0)),
            json_is_true(json_object_get(doc, "truncated"))
                ? " (the session was cut short: replayed up to its last complete line)"
                : "");
    fprintf(f, "%-36s %6s %10s %10s %7s %7s\n", "method", "count", "rec p50", "replay p50", "ratio",
            "differ");
    for (size_t i = 0; i < json_array_size(a); i++) {
        const json_t *m = json_array_get(a, i);
        char x[32], y[32], ratio[32] = "-";
        fmt_us(x, sizeof x, json_object_get(m, "recorded_p50_us"));
        fmt_us(y, sizeof y, json_object_get(m, "replayed_p50_us"));
        if (json_is_real(json_object_get(m, "ratio")))
            snprintf(ratio, sizeof ratio, "%.2f", json_real_value(json_object_get(m, "ratio")));
        fprintf(f, "%-36s %6lld %10s %10s %7s %7lld\n", str(m, "method"), num(m, "count"), x, y,
                ratio, num(m, "differ"));
    }
    print_tallies(f, json_object_get(doc, "server_requests"),
                  "server requests answered (recorded / replayed / from the recording)", 1);
    print_tallies(f, json_object_get(doc, "notifications"),
                  "server notifications, not compared (recorded / replayed)", 0);
    a = json_object_get(doc, "differences");
    for (size_t i = 0; compare && i < json_array_size(a); i++)
        print_diff(f, json_array_get(a, i));
    long long c = num(doc, "compared"), d = num(doc, "differing");
    fprintf(f, "%lld repl%s compared, %lld differ%s\n", c, c == 1 ? "y" : "ies", d,
            d == 1 ? "s" : "");
}

struct printed {
    const json_t *doc;
    int compare;
};

static void print_printed(const void *ud, FILE *f)
{
    const struct printed *p = ud;
    print_text(f, p->doc, p->compare);
}

static int report(struct rp *r, char **argv)
{
    struct outcome oc;
    gather(r, &oc);
    int code = LP_REPLAY_OK;
    if (r->o->compare && oc.differing) code = LP_REPLAY_DIFFER;
    if (r->exited_at) code = LP_REPLAY_SERVER;
    json_t *doc = report_json(r, &oc, argv, code);
    if (r->o->json) {
        json_dumpf(doc, r->o->out, JSON_INDENT(2));
        fputc('\n', r->o->out);
    } else {
        /* Method names and the servers' answers are peers' words: printed
         * escaped (and redacted), as every reader prints them. */
        struct printed p = {doc, r->o->compare};
        li_redact_printed(print_printed, &p, environ, r->o->out);
    }
    json_decref(doc);
    json_decref(oc.diffs);
    rows_free(&oc.rows);
    return code;
}

/* The directory the recorded server ran in, moved by the rewrite, when it
 * exists here; else NULL (ours). */
static char *server_cwd(struct rp *r)
{
    const char *cwd = json_string_value(json_object_get(r->rec.header, "cwd"));
    if (!cwd) return NULL;
    char *moved =
        r->o->rw.from ? li_rewrite_str(cwd, strlen(cwd), r->o->rw.from, r->o->rw.to, NULL) : NULL;
    char *dir = moved ? moved : strdup(cwd);
    struct stat st;
    if (dir && (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))) {
        free(dir);
        dir = NULL;
    }
    return dir;
}

int lp_replay_load(const struct lp_replay_opts *o, struct li_rec *rec)
{
    char err[1024];
    if (!li_rec_load(o->session, rec, err, sizeof err)) return LP_REPLAY_OK;
    fprintf(stderr, "lsptap replay: %s\n", err);
    return LP_REPLAY_USAGE;
}

int lp_replay_run(const struct lp_replay_opts *o)
{
    struct rp r = {.o = o};
    int lrc = lp_replay_load(o, &r.rec);
    if (lrc) return lrc;
    if (r.rec.truncated)
        fprintf(stderr,
                "lsptap replay: %s: line %zu is cut short (the session did not end cleanly); "
                "replaying the messages before it\n",
                o->session, r.rec.truncated);
    const char **recorded = NULL;
    char **argv = o->server;
    if (!argv) {
        recorded = li_rec_argv(&r.rec);
        argv = (char **)recorded;
    }
    if (!argv) {
        fprintf(stderr,
                "lsptap replay: %s does not name its server (no \"argv\" in the header); "
                "give one after --\n",
                o->session);
        li_rec_free(&r.rec);
        return LP_REPLAY_USAGE;
    }
    if (o->rw.from) r.back = li_rewrite_reverse(&o->rw);
    r.s = calloc(r.rec.n ? r.rec.n : 1, sizeof *r.s);
    r.events = json_array();
    r.loop = uv_default_loop();
    li_frames_init(&r.frames, MAX_BODY, on_message, lf_error, &r);
    uv_timer_init(r.loop, &r.tick);
    r.tick.data = &r;
    signal(SIGPIPE, SIG_IGN);
    char *cwd = server_cwd(&r);
    int rc = r.s ? start(&r, argv, cwd) : UV_ENOMEM;
    free(cwd);
    int code;
    if (rc) {
        fprintf(stderr, "lsptap replay: cannot start %s: %s\n", argv[0], uv_strerror(rc));
        if (r.srv.running)
            lp_server_kill_group(&r.srv, SIGKILL); /* started, then a later step failed */
        close_all(&r);
        uv_run(r.loop, UV_RUN_DEFAULT);
        code = LP_REPLAY_SERVER;
    } else {
        schedule(&r);
        uv_run(r.loop, UV_RUN_DEFAULT);
        code = report(&r, argv);
    }
    uv_loop_close(r.loop);
    for (size_t i = 0; i < r.rec.n; i++)
        json_decref(r.s[i].reply);
    free(r.s);
    li_frames_free(&r.frames);
    tallies_free(&r.sreq);
    tallies_free(&r.notes);
    json_decref(r.events);
    free(recorded);
    li_rec_free(&r.rec);
    return code;
}
