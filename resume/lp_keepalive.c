#include "resume/lp_keepalive.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "framing/lf.h"
#include "resume/lp_gate.h"

#define LAST_MSGS 12                      /* messages kept for the forensics */
#define LAST_LEN 160                      /* characters of each */
#define MAX_LOSSES 1001                   /* restart_max's range is 0 to 1000 */
#define LP_KA_MAX_HELD ((size_t)16 << 20) /* editor messages held while no server listens */
#define ERR_MODIFIED -32801
#define ERR_FAILED -32803
#define ERR_CANCELLED -32800

struct held {
    char *data;
    size_t len;
    int raw; /* bytes that did not frame */
};

struct lp_ka {
    struct li_state *st;
    struct lp_ka_cb cb;
    void *ud;
    unsigned restart_max;
    uint64_t window_us;
    char again[64], server[64];
    enum lp_ka_phase phase;
    unsigned gen; /* losses so far: names lsptap's ids */
    char init_id[64];
    size_t init_id_len;
    struct li_state_replay rp;
    int have_rp;
    struct lp_gate srv_gate;   /* the editor's stream is framed by the relay */
    struct lp_idset forgotten; /* ids (as the editor saw them) of lost servers' requests */
    struct lp_idset remap;     /* the editor's id -> the new server's id */
    struct held *q;
    size_t qn, qcap;
    size_t held_bytes; /* in q */
    int held_said;
    uint64_t loss_at[MAX_LOSSES]; /* ring of loss times within the window */
    unsigned nloss;
    uint64_t lost_at;
    char why[512];
    int off_said;
    struct last_msg {
        unsigned char dir, kind, mlen, ilen;
        char method[80], id[40];
    } last[LAST_MSGS]; /* copied, not formatted: this runs for every message */
    unsigned last_n;
    struct lp_ka_stats s;
};

static void say(struct lp_ka *ka, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct lp_ka *ka, const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (ka->cb.say) ka->cb.say(ka->ud, line);
}

static void event(struct lp_ka *ka, enum li_event ev, json_t *f)
{
    if (ka->cb.event)
        ka->cb.event(ka->ud, ev, f);
    else
        json_decref(f);
}

/* Frames body and hands it to send. */
static void send_framed(struct lp_ka *ka, void (*send)(void *, const char *, size_t),
                        const char *body, size_t len)
{
    char *f = malloc(LF_HEADER_MAX_OUT + len);
    if (!f) return;
    size_t h = lf_write_header(f, LF_HEADER_MAX_OUT, len);
    memcpy(f + h, body, len);
    send(ka->ud, f, h + len);
    free(f);
}

static void send_json(struct lp_ka *ka, void (*send)(void *, const char *, size_t), json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!s) return;
    send_framed(ka, send, s, strlen(s));
    free(s);
}

/* An error reply to the editor's request `id` (JSON text). */
static void answer_error(struct lp_ka *ka, const char *id, int code, const char *msg)
{
    json_t *js = json_string(msg);
    char *m = js ? json_dumps(js, JSON_ENCODE_ANY) : NULL;
    json_decref(js);
    if (!m) return;
    size_t cap = strlen(id) + strlen(m) + 96;
    char *b = malloc(cap);
    if (b) {
        int n = snprintf(b, cap,
                         "{\"jsonrpc\":\"2.0\",\"id\":%s,\"error\":{\"code\":%d,\"message\":%s}}",
                         id, code, m);
        send_framed(ka, ka->cb.to_editor, b, (size_t)n);
        free(b);
    }
    free(m);
}

static int span_is(struct li_span s, const char *lit)
{
    size_t n = strlen(lit);
    return s.p && s.len == n + 2 && s.p[0] == '"' && !memcmp(s.p + 1, lit, n);
}

struct lp_ka *lp_ka_new(struct li_state *st, const struct lp_ka_opts *o, const struct lp_ka_cb *cb,
                        void *ud)
{
    struct lp_ka *ka = calloc(1, sizeof *ka);
    if (!ka) return NULL;
    ka->st = st;
    ka->cb = *cb;
    ka->ud = ud;
    ka->restart_max = o->restart_max < MAX_LOSSES ? o->restart_max : MAX_LOSSES - 1;
    ka->window_us = o->window_us;
    snprintf(ka->again, sizeof ka->again, "%s", o->again ? o->again : "restarted");
    snprintf(ka->server, sizeof ka->server, "%s", o->server ? o->server : "the server");
    return ka;
}

static void queue_clear(struct lp_ka *ka)
{
    for (size_t i = 0; i < ka->qn; i++)
        free(ka->q[i].data);
    ka->qn = 0;
    ka->held_bytes = 0;
}

void lp_ka_free(struct lp_ka *ka)
{
    if (!ka) return;
    queue_clear(ka);
    free(ka->q);
    if (ka->have_rp) li_state_replay_free(&ka->rp);
    lp_gate_free(&ka->srv_gate);
    lp_idset_free(&ka->forgotten);
    lp_idset_free(&ka->remap);
    free(ka);
}

enum lp_ka_phase lp_ka_phase(const struct lp_ka *ka)
{
    return ka->phase;
}

void lp_ka_stats(const struct lp_ka *ka, struct lp_ka_stats *out)
{
    *out = ka->s;
    out->forgotten = ka->forgotten.n;
}

/* Nothing left to remap or drop: the editor's pieces pass as they come,
 * and the server's bytes may pass as read from the next frame boundary
 * (even inside a chunk: a stream of large frames may never end one at a
 * boundary). */
static int clear(const struct lp_ka *ka)
{
    return ka->phase == LP_KA_LIVE && !ka->forgotten.n && !ka->remap.n;
}

static int srv_passthrough(const struct lp_ka *ka)
{
    return clear(ka) && lp_gate_idle(&ka->srv_gate);
}

int lp_ka_passthrough(const struct lp_ka *ka)
{
    return clear(ka) && srv_passthrough(ka);
}

/* ---- what the tracker sees ---- */

static void keep_last(struct lp_ka *ka, enum li_dir dir, const struct li_msg *m)
{
    struct last_msg *l = &ka->last[ka->last_n++ % LAST_MSGS];
    l->dir = (unsigned char)dir;
    l->kind = (unsigned char)m->kind;
    l->mlen = (unsigned char)(m->method.p ? (m->method.len < 80 ? m->method.len : 80) : 0);
    l->ilen = (unsigned char)(m->id.p ? (m->id.len < 40 ? m->id.len : 40) : 0);
    if (m->method.p && l->mlen) memcpy(l->method, m->method.p, l->mlen);
    if (m->id.p && l->ilen) memcpy(l->id, m->id.p, l->ilen);
}

/* The i-th kept message (0: the oldest kept) as "c2s request METHOD id ID". */
static void last_text(const struct lp_ka *ka, unsigned i, char *out, size_t cap)
{
    const struct last_msg *l = &ka->last[i % LAST_MSGS];
    int n = snprintf(out, cap, "%s %s", li_dir_name((enum li_dir)l->dir),
                     li_kind_name((enum li_kind)l->kind));
    if (l->mlen && n > 0 && (size_t)n < cap)
        n += snprintf(out + n, cap - (size_t)n, " %.*s", (int)l->mlen, l->method);
    if (l->ilen && n > 0 && (size_t)n < cap)
        snprintf(out + n, cap - (size_t)n, " id %.*s", (int)l->ilen, l->id);
}

/* Keep-alive stops for good (once): when the tracker stops, ahead of any
 * loss; or at a loss it cannot take over. */
static void say_off(struct lp_ka *ka, const char *reason, int at_loss)
{
    if (ka->off_said) return;
    ka->off_said = 1;
    if (at_loss)
        say(ka, "lsptap: keep-alive cannot keep this session: %s.\n", reason);
    else
        say(ka, "lsptap: keep-alive is off for this session: %s; a lost %s will end it.\n", reason,
            ka->server);
    event(ka, LI_EV_KEEPALIVE_OFF, json_pack("{s:s}", "reason", reason));
}

void lp_ka_on_msg(void *ud, enum li_dir dir, const struct li_msg *m, const char *body, size_t len,
                  int64_t latency_us)
{
    struct lp_ka *ka = ud;
    (void)latency_us;
    keep_last(ka, dir, m);
    if (ka->off_said) return;
    if (li_state_feed(ka->st, dir, m, body, len) == -ENOTRECOVERABLE) {
        struct li_state_info in;
        li_state_info(ka->st, &in);
        say_off(ka, in.reason, 0);
    }
}

/* ---- the editor's side ---- */

static void hold(struct lp_ka *ka, const char *data, size_t len, int raw)
{
    if (ka->qn == ka->qcap) {
        size_t nc = ka->qcap ? ka->qcap * 2 : 16;
        struct held *nq = realloc(ka->q, nc * sizeof *nq);
        if (!nq) return;
        ka->q = nq;
        ka->qcap = nc;
    }
    if (ka->held_bytes + len > LP_KA_MAX_HELD) {
        ka->s.dropped++;
        if (!ka->held_said)
            say(ka,
                "lsptap: the editor sent more than %d MiB while %s was away; what does not fit "
                "is dropped.\n",
                (int)(LP_KA_MAX_HELD >> 20), ka->server);
        ka->held_said = 1;
        return;
    }
    struct held *h = &ka->q[ka->qn];
    h->data = malloc(len ? len : 1);
    if (!h->data) return;
    memcpy(h->data, data, len);
    h->len = len;
    h->raw = raw;
    ka->held_bytes += len;
    ka->qn++;
    ka->s.held++;
}

/* Whether the replay covers this editor message (the tracker has it, or it
 * only meant something to the lost server): then it is not sent again. */
static int covered(const struct li_msg *m)
{
    if (m->kind == LI_K_REQUEST || m->kind == LI_K_RESPONSE) return 1;
    if (m->kind != LI_K_NOTIFICATION) return 0;
    static const char *const notes[] = {"initialized",
                                        "exit",
                                        "textDocument/didOpen",
                                        "textDocument/didChange",
                                        "textDocument/didClose",
                                        "workspace/didChangeConfiguration",
                                        "workspace/didChangeWorkspaceFolders",
                                        "$/cancelRequest",
                                        "window/workDoneProgress/cancel",
                                        NULL};
    for (const char *const *n = notes; *n; n++)
        if (span_is(m->method, *n)) return 1;
    return 0;
}

/* The server is gone: requests wait for the replay, replies go nowhere,
 * notifications the replay does not cover are held. `shutdown` is answered
 * at once: there is no server to shut down. */
static void lost_frame(struct lp_ka *ka, const char *frame, size_t len, const struct li_msg *m)
{
    if (m->kind == LI_K_RESPONSE && m->id.p) lp_idset_del(&ka->forgotten, m->id.p, m->id.len);
    if (m->kind == LI_K_REQUEST && span_is(m->method, "shutdown") && m->id.p) {
        char b[256];
        if (m->id.len < 160) {
            int n = snprintf(b, sizeof b, "{\"jsonrpc\":\"2.0\",\"id\":%.*s,\"result\":null}",
                             (int)m->id.len, m->id.p);
            send_framed(ka, ka->cb.to_editor, b, (size_t)n);
        }
    }
    if (covered(m)) { /* never one that is no message (LI_K_INVALID): held */
        ka->s.dropped++;
        return;
    }
    hold(ka, frame, len, 0);
}

/* Live after a loss: replies to a lost server are dropped, replies to a
 * remapped request get the server's id back. */
static void live_frame(struct lp_ka *ka, const char *frame, size_t len, size_t hdr,
                       const struct li_msg *m)
{
    const char *send;
    size_t slen;
    char *fresh;
    if (lp_idset_route_reply(&ka->forgotten, &ka->remap, frame, len, hdr, m, &send, &slen,
                             &fresh)) {
        ka->s.dropped++;
        event(ka, LI_EV_DROPPED,
              json_pack("{s:s, s:s%}", "what", "reply to a lost server's request", "id", m->id.p,
                        m->id.len));
        return;
    }
    ka->cb.to_server(ka->ud, send, slen);
    free(fresh);
}

static void ed_frame(struct lp_ka *ka, const char *frame, size_t len, size_t hdr,
                     const struct li_msg *m)
{
    if (ka->phase == LP_KA_RESUMING) {
        hold(ka, frame, len, 0); /* decided when it is sent, after the replay */
        return;
    }
    struct li_msg own;
    if (!m) {
        li_classify(LI_LSP, frame + hdr, len - hdr, 0, &own);
        m = &own;
    }
    if (ka->phase == LP_KA_LOST)
        lost_frame(ka, frame, len, m);
    else
        live_frame(ka, frame, len, hdr, m);
}

static void ed_raw(struct lp_ka *ka, const char *data, size_t len)
{
    if (ka->phase == LP_KA_LOST) return; /* the tail of a frame the old server had */
    if (ka->phase == LP_KA_RESUMING)
        hold(ka, data, len, 1);
    else
        ka->cb.to_server(ka->ud, data, len);
}

void lp_ka_editor_piece(struct lp_ka *ka, const char *data, size_t len, size_t hdr,
                        const struct li_msg *m)
{
    if (clear(ka))
        ka->cb.to_server(ka->ud, data, len);
    else if (hdr)
        ed_frame(ka, data, len, hdr, m);
    else
        ed_raw(ka, data, len);
}

/* ---- the loss ---- */

/* Drops held messages the next replay will cover (they were held while
 * resuming, after the last replay was built). */
static void requeue_lost(struct lp_ka *ka)
{
    size_t keep = 0;
    for (size_t i = 0; i < ka->qn; i++) {
        struct held *h = &ka->q[i];
        struct li_msg m;
        size_t hdr = 0;
        const char *sep = h->raw ? NULL : memmem(h->data, h->len, "\r\n\r\n", 4);
        int drop = h->raw;
        if (sep && (size_t)(sep - h->data) + 4 <= h->len) {
            hdr = (size_t)(sep - h->data) + 4;
            drop = !li_classify(LI_LSP, h->data + hdr, h->len - hdr, 0, &m) && covered(&m);
        }
        if (drop) {
            ka->held_bytes -= h->len;
            free(h->data);
            continue;
        }
        ka->q[keep++] = *h;
    }
    ka->qn = keep;
}

static void forensics_into(const struct lp_ka *ka, json_t *f)
{
    json_t *last = json_array();
    unsigned n = ka->last_n < LAST_MSGS ? ka->last_n : LAST_MSGS;
    for (unsigned i = 0; i < n; i++) {
        char text[LAST_LEN];
        last_text(ka, ka->last_n - n + i, text, sizeof text);
        json_array_append_new(last, json_string(text));
    }
    json_object_set_new(f, "last_messages", last);
    json_t *inflight = json_array();
    struct li_state_replay r;
    if (!li_state_replay(ka->st, "0", &r)) {
        for (size_t i = 0; i < r.n_inflight; i++)
            json_array_append_new(inflight, json_pack("{s:s, s:s}", "method", r.inflight[i].method,
                                                      "id", r.inflight[i].id));
        li_state_replay_free(&r);
    }
    json_object_set_new(f, "inflight", inflight);
}

char *lp_ka_forensics(const struct lp_ka *ka)
{
    json_t *f = json_object();
    forensics_into(ka, f);
    size_t cap = 4096, len = 0;
    char *out = malloc(cap);
    if (!out) {
        json_decref(f);
        return NULL;
    }
    out[0] = '\0';
    json_t *inf = json_object_get(f, "inflight"), *v;
    size_t i;
    if (json_array_size(inf))
        len += (size_t)snprintf(out + len, cap - len,
                                "lsptap: requests still waiting for an answer:\n");
    json_array_foreach(inf, i, v)
    {
        if (len + 300 >= cap) break;
        len += (size_t)snprintf(out + len, cap - len, "lsptap:   %s (id %s)\n",
                                json_string_value(json_object_get(v, "method")),
                                json_string_value(json_object_get(v, "id")));
    }
    json_t *last = json_object_get(f, "last_messages");
    if (json_array_size(last) && len + 80 < cap)
        len += (size_t)snprintf(out + len, cap - len, "lsptap: the last messages, oldest first:\n");
    json_array_foreach(last, i, v)
    {
        if (len + LAST_LEN + 20 >= cap) break;
        len += (size_t)snprintf(out + len, cap - len, "lsptap:   %s\n", json_string_value(v));
    }
    json_decref(f);
    return out;
}

/* The session ends: every request of the editor still in flight gets its
 * one answer now (RequestFailed), so nothing waits on a closed stream. */
static void fail_inflight(struct lp_ka *ka)
{
    struct li_state_replay r;
    if (li_state_replay(ka->st, "0", &r)) return;
    char msg[300];
    snprintf(msg, sizeof msg, "lsptap: %s was lost too often; the session ends", ka->server);
    for (size_t i = 0; i < r.n_inflight; i++)
        answer_error(ka, r.inflight[i].id, r.inflight[i].cancelled ? ERR_CANCELLED : ERR_FAILED,
                     msg);
    li_state_replay_free(&r);
}

static void crash_loop(struct lp_ka *ka, const char *why)
{
    json_t *f = json_pack("{s:s, s:i, s:I}", "why", why, "losses", (int)ka->nloss, "window_s",
                          (json_int_t)(ka->window_us / 1000000));
    forensics_into(ka, f);
    event(ka, LI_EV_CRASH_LOOP, f);
    say(ka, "lsptap: %s; the session ends.\n", why);
    char *fx = lp_ka_forensics(ka);
    if (fx && *fx) say(ka, "%s", fx);
    free(fx);
    fail_inflight(ka);
}

void lp_ka_give_up(struct lp_ka *ka, const char *why)
{
    crash_loop(ka, why);
}

int lp_ka_lost(struct lp_ka *ka, uint64_t now_us, int editor_at_boundary, const char *why)
{
    struct li_state_info in;
    li_state_info(ka->st, &in);
    const char *off = NULL;
    if (in.untrackable)
        off = in.reason;
    else if (!in.have_initialize || (!in.initialized && !in.shutdown))
        off = "the server was lost before the handshake was over (the editor had not sent "
              "initialized)";
    else if (in.shutdown)
        off = NULL; /* the editor is ending the session: nothing to keep */
    else if (!editor_at_boundary)
        off = "the lost server's last message to the editor was cut in the middle";
    else if (!ka->restart_max)
        off = "restart_max is 0";
    if (off || in.shutdown) {
        if (off) say_off(ka, off, 1);
        return -ENOTRECOVERABLE;
    }
    /* The crash-loop window: losses older than it no longer count. */
    unsigned keep = 0;
    for (unsigned i = 0; i < ka->nloss; i++)
        if (now_us - ka->loss_at[i] <= ka->window_us) ka->loss_at[keep++] = ka->loss_at[i];
    ka->nloss = keep;
    if (ka->nloss < MAX_LOSSES) ka->loss_at[ka->nloss++] = now_us;
    ka->s.losses++;
    ka->gen++;
    snprintf(ka->why, sizeof ka->why, "%s", why);
    if (ka->nloss > ka->restart_max) {
        char w[700];
        snprintf(w, sizeof w, "%s, the %u%s time within %llu s (restart_max is %u)", why, ka->nloss,
                 ka->nloss % 10 == 1 && ka->nloss % 100 != 11   ? "st"
                 : ka->nloss % 10 == 2 && ka->nloss % 100 != 12 ? "nd"
                 : ka->nloss % 10 == 3 && ka->nloss % 100 != 13 ? "rd"
                                                                : "th",
                 (unsigned long long)(ka->window_us / 1000000), ka->restart_max);
        crash_loop(ka, w);
        return -ELOOP;
    }
    /* The lost server's requests still open at the editor: their late
     * replies must not reach the next server. */
    struct li_state_replay r;
    if (li_state_replay(ka->st, "0", &r)) return -ENOTRECOVERABLE;
    for (size_t i = 0; i < r.n_s2c; i++)
        lp_idset_add(&ka->forgotten, r.s2c_ids[i], strlen(r.s2c_ids[i]), NULL, 0);
    li_state_replay_free(&r);
    /* Remapped ids the editor still owes are the lost server's too. */
    for (size_t i = 0; i < ka->remap.n; i++)
        lp_idset_add(&ka->forgotten, ka->remap.e[i].key, strlen(ka->remap.e[i].key), NULL, 0);
    lp_idset_free(&ka->remap);
    if (ka->phase == LP_KA_RESUMING) requeue_lost(ka);
    if (ka->have_rp) li_state_replay_free(&ka->rp);
    ka->have_rp = 0;
    ka->phase = LP_KA_LOST; /* the server's gate is emptied by the next resume */
    ka->lost_at = now_us;
    say(ka,
        "lsptap: %s; keeping the editor's session (%zu open document%s, %zu request%s in "
        "flight).\n",
        why, in.documents, in.documents == 1 ? "" : "s", in.inflight, in.inflight == 1 ? "" : "s");
    event(ka, LI_EV_SERVER_LOST,
          json_pack("{s:s, s:I, s:I, s:I, s:i}", "why", why, "documents", (json_int_t)in.documents,
                    "inflight", (json_int_t)in.inflight, "pending_s2c", (json_int_t)in.pending_s2c,
                    "losses", (int)ka->nloss));
    return 0;
}

/* ---- the new server ---- */

int lp_ka_resume(struct lp_ka *ka, uint64_t now_us)
{
    (void)now_us;
    struct li_state_info in;
    li_state_info(ka->st, &in);
    if (in.shutdown) return -ECANCELED;
    if (in.untrackable) {
        say_off(ka, in.reason, 1);
        return -ENOTRECOVERABLE;
    }
    ka->init_id_len =
        (size_t)snprintf(ka->init_id, sizeof ka->init_id, "\"lsptap-k%u:initialize\"", ka->gen);
    if (ka->have_rp) li_state_replay_free(&ka->rp);
    ka->have_rp = 0;
    int r = li_state_replay(ka->st, ka->init_id, &ka->rp);
    if (r) return r;
    ka->have_rp = 1;
    lp_gate_free(&ka->srv_gate);
    ka->phase = LP_KA_RESUMING;
    send_framed(ka, ka->cb.to_server, ka->rp.bodies[0], ka->rp.lens[0]);
    return 0;
}

/* The new server answered initialize: the rest of the replay, the requests
 * in flight, then what the editor sent meanwhile. */
static void finish_resume(struct lp_ka *ka, uint64_t now_us)
{
    struct li_state_replay *rp = &ka->rp;
    size_t docs = 0, resent = 0, failed = 0, cancelled = 0;
    for (size_t i = 1; i < rp->n; i++) {
        send_framed(ka, ka->cb.to_server, rp->bodies[i], rp->lens[i]);
        docs += strstr(rp->bodies[i], "\"method\":\"textDocument/didOpen\"") != NULL;
    }
    char msg[600];
    for (size_t i = 0; i < rp->n_inflight; i++) {
        struct li_state_req *q = &rp->inflight[i];
        if (q->cancelled) {
            answer_error(ka, q->id, ERR_CANCELLED, "lsptap: cancelled");
            cancelled++;
        } else if (q->safe && q->body) {
            send_framed(ka, ka->cb.to_server, q->body, q->len);
            resent++;
        } else if (!strcmp(q->method, "workspace/executeCommand")) {
            snprintf(msg, sizeof msg,
                     "lsptap: %s was lost while running the command; %s; run it again", ka->server,
                     ka->again);
            answer_error(ka, q->id, ERR_FAILED, msg);
            failed++;
        } else {
            snprintf(msg, sizeof msg, "lsptap: %s was lost before answering %s; %s; ask again",
                     ka->server, *q->method ? q->method : "the request", ka->again);
            answer_error(ka, q->id, ERR_MODIFIED, msg);
            failed++;
        }
    }
    size_t forgotten = ka->forgotten.n, bodies = rp->n;
    li_state_replay_free(rp);
    ka->have_rp = 0;
    ka->phase = LP_KA_LIVE;
    ka->s.resumes++;
    /* What the editor sent while the server was away, in order. */
    size_t qn = ka->qn;
    struct held *q = ka->q;
    ka->q = NULL;
    ka->qn = ka->qcap = ka->held_bytes = 0;
    for (size_t i = 0; i < qn; i++) {
        if (q[i].raw) {
            ka->cb.to_server(ka->ud, q[i].data, q[i].len);
        } else {
            const char *sep = memmem(q[i].data, q[i].len, "\r\n\r\n", 4);
            size_t hdr = sep ? (size_t)(sep - q[i].data) + 4 : 0;
            if (sep && hdr <= q[i].len) {
                /* Held as bytes: the relay's classification is gone. */
                struct li_msg m;
                li_classify(LI_LSP, q[i].data + hdr, q[i].len - hdr, 0, &m);
                live_frame(ka, q[i].data, q[i].len, hdr, &m);
            } else
                ka->cb.to_server(ka->ud, q[i].data, q[i].len);
        }
        free(q[i].data);
    }
    free(q);
    uint64_t ms = (now_us - ka->lost_at) / 1000;
    char text[1200];
    int n = snprintf(text, sizeof text, "lsptap: %s; %s and reopened %zu document%s in %llu ms",
                     ka->why, ka->again, docs, docs == 1 ? "" : "s", (unsigned long long)ms);
    if (n > 0 && (size_t)n < sizeof text && (resent || failed))
        snprintf(text + n, sizeof text - (size_t)n, " (%zu request%s sent again, %zu to ask again)",
                 resent, resent == 1 ? "" : "s", failed);
    send_json(ka, ka->cb.to_editor,
              json_pack("{s:s, s:s, s:{s:i, s:s}}", "jsonrpc", "2.0", "method",
                        "window/showMessage", "params", "type", 2, "message", text));
    say(ka, "%s.\n", text);
    event(ka, LI_EV_REPLAYED,
          json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "bodies", (json_int_t)bodies,
                    "documents", (json_int_t)docs, "resent", (json_int_t)resent, "failed",
                    (json_int_t)failed, "cancelled", (json_int_t)cancelled, "forgotten",
                    (json_int_t)forgotten, "held", (json_int_t)qn, "ms", (json_int_t)ms));
}

/* A whole frame for the editor: as a frame when the relay takes one, with
 * its body's classification when m is not NULL. */
static void editor_frame(struct lp_ka *ka, const char *frame, size_t len, size_t hdr,
                         const struct li_msg *m)
{
    if (ka->cb.to_editor_frame)
        ka->cb.to_editor_frame(ka->ud, frame, len, hdr, m);
    else
        ka->cb.to_editor(ka->ud, frame, len);
}

static void srv_frame_at(struct lp_ka *ka, const char *frame, size_t len, size_t hdr,
                         uint64_t now_us)
{
    struct li_msg m;
    int ok = !li_classify(LI_LSP, frame + hdr, len - hdr, 0, &m);
    if (ok && m.kind == LI_K_RESPONSE && ka->phase == LP_KA_RESUMING && m.id.p &&
        m.id.len == ka->init_id_len && !memcmp(m.id.p, ka->init_id, m.id.len)) {
        if (m.is_error) {
            char why[600];
            snprintf(why, sizeof why, "the new %s answered initialize with an error: %.*s",
                     ka->server, (int)(m.error.len < 400 ? m.error.len : 400),
                     m.error.p ? m.error.p : "");
            say(ka, "lsptap: %s.\n", why);
            if (ka->cb.drop) ka->cb.drop(ka->ud, why);
            return;
        }
        finish_resume(ka, now_us);
        return;
    }
    if (ok && m.kind == LI_K_REQUEST && m.id.p && ka->forgotten.n) {
        /* The editor may still answer a lost server's request with this id:
         * it sees "lsptap-kN:<id>" instead, mapped back in live_frame. */
        char prefix[32];
        snprintf(prefix, sizeof prefix, "lsptap-k%u:", ka->gen);
        size_t olen, ohdr;
        char *out = lp_idset_remap(&ka->remap, prefix, frame + hdr, len - hdr, m.id, &olen, &ohdr);
        if (out) {
            ka->s.remapped++;
            editor_frame(ka, out, olen, ohdr, NULL); /* m's spans are the old body's */
            free(out);
            return;
        }
    }
    editor_frame(ka, frame, len, hdr, &m);
}

struct srv_ctx {
    struct lp_ka *ka;
    uint64_t now_us;
};

static void srv_frame(void *ud, const char *frame, size_t len, size_t hdr)
{
    struct srv_ctx *c = ud;
    if (c->ka->phase == LP_KA_LOST) return; /* dropped during this chunk */
    srv_frame_at(c->ka, frame, len, hdr, c->now_us);
    lp_gate_stop(&c->ka->srv_gate, clear(c->ka));
}

static void srv_raw(void *ud, const char *data, size_t len)
{
    struct srv_ctx *c = ud;
    if (c->ka->phase == LP_KA_LOST) return;
    c->ka->cb.to_editor(c->ka->ud, data, len);
    lp_gate_stop(&c->ka->srv_gate, clear(c->ka));
}

void lp_ka_server(struct lp_ka *ka, const char *data, size_t len, uint64_t now_us)
{
    if (ka->phase == LP_KA_LOST) return;
    if (srv_passthrough(ka)) {
        ka->cb.to_editor(ka->ud, data, len);
        return;
    }
    struct srv_ctx c = {ka, now_us};
    lp_gate_stop(&ka->srv_gate, clear(ka));
    size_t n = lp_gate_feed(&ka->srv_gate, data, len, srv_frame, srv_raw, &c);
    lp_gate_stop(&ka->srv_gate, 0);
    if (n < len && ka->phase != LP_KA_LOST) ka->cb.to_editor(ka->ud, data + n, len - n);
}
