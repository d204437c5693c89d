/*
 * The handshake supervision of the gopls stand-in (docs/repair.md): the
 * gate on the server's output, the editor's messages kept for a replay,
 * the environment check, the restart with id remapping, and giving up. It
 * sits on the relay through the relay's supervision hook (proxy/lp_relay.h)
 * and uses only the relay's public services.
 */
#include "proxy/lp_handshake.h"

#include <assert.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "env/lp_env.h"
#include "framing/lf.h"
#include "inspect/li_redact.h"
#include "netcheck/ln_gofail.h"
#include "proxy/lp_relay.h"
#include "resume/lp_gate.h"

#define REPLAY_MAX ((size_t)8 << 20) /* editor bytes kept for a restart */
#define HELD_MAX ((size_t)1 << 20)   /* server bytes held while repairing */

extern char **environ;

/* Handshake states (docs/repair.md). */
enum hs {
    HS_WAIT_INIT,   /* the editor has not sent initialize yet */
    HS_WAIT_RESULT, /* initialize sent, no answer yet */
    HS_LOADING,     /* answered; a load failure may still come within the window */
    HS_REPAIRING,   /* failed; the environment is being checked */
    HS_DONE,        /* the handshake succeeded (or supervision ended) */
    HS_GAVE_UP,     /* failed and could not be repaired; the editor was told */
};

struct lp_handshake {
    const struct lp_config *cfg;
    const char *argv0;
    char **env; /* the server's first environment; NULL: lsptap's */
    struct lp_relay *r;
    enum hs state;
    char init_id[128]; /* the editor's initialize id, as JSON text */
    size_t init_id_len;
    int init_answered;  /* the editor has an initialize result */
    int init_by_lsptap; /* ... and it is lsptap's error: any late result is dropped */
    int restarted;      /* the second server runs (at most one repair per session) */
    int gave_up;
    uv_timer_t init_timer, window;
    /* The editor's stream comes framed by the relay (once, for the
     * inspector too): before a restart its frames are watched and kept for
     * the replay, after it they are forwarded one by one (a frame cut
     * short by the restart is completed in the relay's framer). */
    struct lp_gate s2c[2]; /* each server's output, by generation seq */
    uint64_t c2s_bytes;    /* what the editor sent while watched (REPLAY_MAX) */
    char *replay;          /* the editor's frames but its replies, and bytes that do
                              not frame, for a restart */
    size_t replay_len, replay_cap;
    uint64_t replay_msgs, replay_framed; /* frames kept; bytes framed or passed raw */
    struct lp_idset answered;            /* editor requests generation 0 answered */
    struct lp_idset pending0;            /* generation 0's requests the editor has not answered */
    struct lp_idset remap;               /* generation 1's request ids as the editor sees them */
    char *held;                          /* generation 0's frames held while repairing */
    size_t held_len;
    struct held_frame { /* each held frame's length and header block's, in order */
        size_t len, hdr;
    } * held_frames;
    size_t held_n, held_cap;
    uint64_t held_dropped;
    char reason[1024];
    uv_work_t work; /* the environment check: reads env and cwd, writes report */
    struct lp_env_report *report;
    int report_ok;
    char cwd[4096];
    int network_said; /* a load failure was the network's: said once */
};

static void hs_failure(struct lp_handshake *h, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The handshake is still being judged. */
static int supervising(const struct lp_handshake *h)
{
    return h->state < HS_DONE;
}

/* A failure counts once the editor has sent initialize: before that there
 * is no handshake to judge (and no LSP session, for all lsptap knows). */
static int judging(const struct lp_handshake *h)
{
    return supervising(h) && h->state != HS_WAIT_INIT;
}

static struct lp_gate *gate_of(struct lp_handshake *h, const struct lp_relay_gen *g)
{
    struct lp_relay_gen_info gi;
    lp_relay_gen_info(g, &gi);
    assert(gi.seq < 2); /* this supervisor restarts once */
    return &h->s2c[gi.seq & 1];
}

static unsigned seq_of(const struct lp_relay_gen *g)
{
    struct lp_relay_gen_info gi;
    lp_relay_gen_info(g, &gi);
    return gi.seq;
}

struct lp_handshake *lp_handshake_new(const struct lp_config *cfg, const char *argv0, char **env)
{
    struct lp_handshake *h = calloc(1, sizeof *h);
    if (!h) return NULL;
    h->cfg = cfg;
    h->argv0 = argv0;
    h->env = env;
    return h;
}

int lp_handshake_gave_up(const struct lp_handshake *h)
{
    return h->gave_up;
}

char **lp_handshake_env(const struct lp_handshake *h)
{
    return h->restarted && h->report ? h->report->envp : h->env;
}

/* The held frames go (a restart replaced the server that sent them). */
static void drop_held(struct lp_handshake *h)
{
    free(h->held);
    h->held = NULL;
    h->held_len = 0;
    free(h->held_frames);
    h->held_frames = NULL;
    h->held_n = h->held_cap = 0;
}

/* The held frames go to the editor as they came, each as the frame it was
 * held as: the inspector records them without framing them again
 * (lp_relay_forward_msg). */
static void release_held(struct lp_handshake *h, struct lp_relay_gen *g)
{
    size_t off = 0;
    for (size_t i = 0; i < h->held_n; i++) {
        const struct held_frame *f = &h->held_frames[i];
        lp_relay_forward_msg(g, h->held + off, f->len, f->hdr, NULL);
        off += f->len;
    }
    drop_held(h);
}

void lp_handshake_free(struct lp_handshake *h)
{
    free(h);
}

static void hs_start(void *ctx, struct lp_relay *r)
{
    struct lp_handshake *h = ctx;
    uv_loop_t *loop = lp_relay_loop(r);
    h->r = r;
    h->state = HS_WAIT_INIT;
    if (!getcwd(h->cwd, sizeof h->cwd)) h->cwd[0] = '\0';
    uv_timer_init(loop, &h->init_timer);
    uv_timer_init(loop, &h->window);
    h->init_timer.data = h->window.data = h;
    lp_relay_watch_c2s(r, 1);
}

static void hs_stop(void *ctx)
{
    struct lp_handshake *h = ctx;
    lp_gate_free(&h->s2c[0]);
    lp_gate_free(&h->s2c[1]);
    lp_idset_free(&h->answered);
    lp_idset_free(&h->pending0);
    lp_idset_free(&h->remap);
    free(h->replay);
    h->replay = NULL;
    drop_held(h);
    if (h->report) lp_env_report_free(h->report);
    h->report = NULL;
    h->r = NULL;
}

/* ---- handshake supervision: what the editor sends ---- */

static int method_is(const struct li_msg *m, const char *name)
{
    size_t n = strlen(name);
    return m->method.p && m->method.len == n + 2 && !memcmp(m->method.p + 1, name, n);
}

static void window_fired(uv_timer_t *t);

static void restart_window(struct lp_handshake *h)
{
    uv_timer_start(&h->window, window_fired, h->cfg->handshake_ms, 0);
}

static void init_timeout(uv_timer_t *t)
{
    struct lp_handshake *h = t->data;
    if (h->state == HS_WAIT_RESULT)
        hs_failure(h, "%s did not answer initialize within %llu ms", h->argv0,
                   (unsigned long long)h->cfg->init_timeout_ms);
}

/* The environment is judged where gopls works: the first workspace folder
 * (or rootUri) of initialize, when it is a local directory; else our cwd. */
static void workspace_of(struct lp_handshake *h, const char *body, size_t len)
{
    json_error_t e;
    json_t *j = json_loadb(body, len, 0, &e);
    json_t *params = json_object_get(j, "params");
    json_t *folders = json_object_get(params, "workspaceFolders");
    const char *uri = json_string_value(json_object_get(json_array_get(folders, 0), "uri"));
    if (!uri) uri = json_string_value(json_object_get(params, "rootUri"));
    if (uri && !strncmp(uri, "file://", 7)) {
        char path[sizeof h->cwd];
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
        if (!stat(path, &st) && S_ISDIR(st.st_mode)) memcpy(h->cwd, path, n + 1);
    }
    json_decref(j);
}

/* Supervision ends without a verdict: back to plain relaying. */
static void hs_end(struct lp_handshake *h, const char *why)
{
    release_held(h, lp_relay_current(h->r)); /* held while repairing: it goes on as it was */
    h->state = HS_DONE;
    uv_timer_stop(&h->init_timer);
    uv_timer_stop(&h->window);
    lp_relay_watch_c2s(h->r, 0);
    lp_relay_event(h->r, LI_EV_SUPERVISION_OFF, json_pack("{s:s}", "reason", why));
}

/* Kept for a restart's replay (the editor's replies are not: they were
 * for the first server). Out of memory, supervision ends quietly: no
 * restart could replay what was lost. */
static void keep(struct lp_handshake *h, const char *data, size_t len, int is_msg)
{
    h->replay_framed += len;
    if (h->replay_len + len > h->replay_cap) {
        size_t nc = h->replay_cap ? h->replay_cap * 2 : 65536;
        while (nc < h->replay_len + len)
            nc *= 2;
        char *nb = realloc(h->replay, nc);
        if (!nb) {
            h->state = HS_DONE;
            return;
        }
        h->replay = nb;
        h->replay_cap = nc;
    }
    memcpy(h->replay + h->replay_len, data, len);
    h->replay_len += len;
    h->replay_msgs += is_msg;
}

/* Before a restart: the editor's frames are watched for initialize and
 * replies, and kept for a replay. */
static void seen_c2s_frame(struct lp_handshake *h, const char *frame, size_t len, size_t hdr,
                           const struct li_msg *m)
{
    int ok = m->kind != LI_K_INVALID;
    if (h->state == HS_WAIT_INIT &&
        !(ok && m->kind == LI_K_REQUEST && method_is(m, "initialize"))) {
        hs_end(h, "the editor's first message is not initialize");
        return;
    }
    if (!ok || m->kind != LI_K_RESPONSE)
        keep(h, frame, len, 1);
    else
        h->replay_framed += len;
    if (!ok) return;
    if (m->kind == LI_K_REQUEST && method_is(m, "initialize") && !h->init_id_len &&
        m->id.len < sizeof h->init_id) {
        workspace_of(h, frame + hdr, len - hdr);
        memcpy(h->init_id, m->id.p, m->id.len);
        h->init_id_len = m->id.len;
        if (h->state == HS_WAIT_INIT) h->state = HS_WAIT_RESULT;
        uv_timer_start(&h->init_timer, init_timeout, h->cfg->init_timeout_ms, 0);
    } else if ((m->kind == LI_K_REQUEST && method_is(m, "shutdown")) ||
               (m->kind == LI_K_NOTIFICATION && method_is(m, "exit"))) {
        /* The editor is ending the session: whatever follows is no failure. */
        if (h->state < HS_REPAIRING) hs_end(h, "the editor ended the session");
    } else if (m->kind == LI_K_NOTIFICATION && method_is(m, "initialized")) {
        /* gopls loads the workspace after initialized: the window counts from here. */
        if (h->state == HS_LOADING) restart_window(h);
    } else if (m->kind == LI_K_RESPONSE && m->id.p) {
        lp_idset_del(&h->pending0, m->id.p, m->id.len);
    }
}

/* Garbage the first server got: a new one gets it too. */
static void seen_c2s_raw(struct lp_handshake *h, const char *data, size_t len)
{
    if (h->state == HS_WAIT_INIT) {
        hs_end(h, "the editor sent bytes that do not frame");
        return;
    }
    keep(h, data, len, 0);
}

/* The editor's stream, piece by piece (forwarded and inspected already),
 * while the handshake is judged and before a restart. */
static void hs_on_c2s(void *ctx, const char *data, size_t len, size_t hdr, const struct li_msg *m)
{
    struct lp_handshake *h = ctx;
    if (!supervising(h)) {
        lp_relay_watch_c2s(h->r, 0);
        return;
    }
    if (h->c2s_bytes + len > REPLAY_MAX) {
        lp_relay_say(h->r,
                     "lsptap: the editor sent more than %zu MiB during the handshake; a restart "
                     "could not replay it, so handshake supervision is off for this session.\n",
                     REPLAY_MAX >> 20);
        lp_relay_event(h->r, LI_EV_SUPERVISION_OFF,
                       json_pack("{s:s}", "reason", "replay buffer full"));
        h->state = HS_DONE;
        lp_relay_watch_c2s(h->r, 0);
        return;
    }
    h->c2s_bytes += len;
    if (hdr)
        seen_c2s_frame(h, data, len, hdr, m);
    else
        seen_c2s_raw(h, data, len);
}

/* ---- handshake supervision: what the server sends ---- */

/* A whole frame (hdr: its header block's length) held until the repair
 * is decided. Its bounds are kept with it, so releasing it frames nothing
 * again (release_held). */
static void hold(struct lp_handshake *h, const char *frame, size_t len, size_t hdr)
{
    if (h->held_n == h->held_cap) {
        size_t nc = h->held_cap ? h->held_cap * 2 : 16;
        struct held_frame *nf = realloc(h->held_frames, nc * sizeof *nf);
        if (!nf) {
            h->held_dropped++;
            return;
        }
        h->held_frames = nf;
        h->held_cap = nc;
    }
    char *nh = h->held_len + len <= HELD_MAX ? realloc(h->held, h->held_len + len) : NULL;
    if (!nh) {
        h->held_dropped++;
        return;
    }
    h->held = nh;
    memcpy(h->held + h->held_len, frame, len);
    h->held_len += len;
    h->held_frames[h->held_n++] = (struct held_frame){len, hdr};
}

static int matches_failure(struct lp_handshake *h, const char *text, size_t len)
{
    const char *pat = h->cfg->fail_patterns;
    while (*pat) {
        size_t n = strcspn(pat, "|");
        if (n && n <= len && memmem(text, len, pat, n)) return 1;
        pat += n + (pat[n] == '|');
    }
    return 0;
}

/* What a window/showMessage or window/logMessage says about the load. */
enum load_verdict {
    LOAD_OK,      /* not a load failure */
    LOAD_FAILED,  /* a load failure: the environment may be why */
    LOAD_NETWORK, /* a load failure because go could not connect: not the environment */
};

/* A message of type Error (1) whose text names a load failure. gopls says
 * some only in window/logMessage ("initial workspace load failed: ...",
 * e.g. GOROOT without a Go installation, GOOS/GOARCH go does not know, a
 * missing GOWORK file): those count too. A failure in go's words for a
 * connection (ln_gofail) is the network's, which lp_netwatch diagnoses. */
static enum load_verdict load_failure(struct lp_handshake *h, const char *body, size_t len,
                                      int is_log, char *msg, size_t msglen)
{
    json_error_t e;
    json_t *j = json_loadb(body, len, 0, &e);
    json_t *params = json_object_get(j, "params");
    json_t *type = json_object_get(params, "type");
    json_t *text = json_object_get(params, "message");
    enum load_verdict v = LOAD_OK;
    if (json_is_integer(type) && json_integer_value(type) == 1 && json_is_string(text)) {
        const char *t = json_string_value(text);
        size_t n = json_string_length(text);
        struct ln_gofail g;
        if (is_log ? memmem(t, n, "initial workspace load failed", 29) != NULL
                   : matches_failure(h, t, n))
            v = ln_gofail_parse(t, n, &g) ? LOAD_NETWORK : LOAD_FAILED;
        /* gopls's log lines start with the time ("2026/12/06 10:52:13 "):
         * the reason is the words after it. */
        if (v != LOAD_OK && is_log && n > 20 && t[4] == '/' && t[7] == '/' && t[10] == ' ' &&
            t[13] == ':' && t[19] == ' ')
            t += 20;
        if (v != LOAD_OK) snprintf(msg, msglen, "%s", t);
    }
    json_decref(j);
    return v;
}

static int is_init_id(const struct lp_handshake *h, const struct li_msg *m)
{
    return h->init_id_len && m->id.len == h->init_id_len && !memcmp(m->id.p, h->init_id, m->id.len);
}

/* A generation's output being fed through its gate. */
struct s2c_feed {
    struct lp_handshake *h;
    struct lp_relay_gen *g;
    unsigned seq;
};

static void s2c_frame(void *ud, const char *frame, size_t len, size_t hdr)
{
    struct s2c_feed *fd = ud;
    struct lp_handshake *h = fd->h;
    struct lp_relay_gen *g = fd->g;
    const char *body = frame + hdr;
    size_t blen = len - hdr;
    struct li_msg m;
    if (h->state == HS_REPAIRING) { /* decided once the environment is checked */
        hold(h, frame, len, hdr);
        return;
    }
    if (li_classify(LI_LSP, body, blen, 0, &m)) {
        lp_relay_forward_msg(g, frame, len, hdr, &m);
        return;
    }
    if (m.kind == LI_K_RESPONSE && is_init_id(h, &m) && h->init_by_lsptap) {
        lp_relay_event(h->r, LI_EV_DROPPED,
                       json_pack("{s:s, s:s}", "what", "late initialize result", "why",
                                 "lsptap already answered initialize with the diagnosis"));
        return;
    }
    if (m.kind == LI_K_RESPONSE && is_init_id(h, &m) && h->state <= HS_LOADING) {
        if (h->init_answered) { /* the restarted server's: the editor has one */
            lp_relay_event(h->r, LI_EV_DROPPED,
                           json_pack("{s:s, s:s}", "what", "initialize result", "why",
                                     "the editor already has one"));
        } else if (m.is_error && h->state < HS_DONE) {
            hold(h, frame, len, hdr);
            char text[600] = "";
            json_error_t e;
            json_t *err = m.error.p ? json_loadb(m.error.p, m.error.len, 0, &e) : NULL;
            snprintf(text, sizeof text, "%s",
                     json_string_value(json_object_get(err, "message"))
                         ? json_string_value(json_object_get(err, "message"))
                         : "no message");
            json_decref(err);
            hs_failure(h, "%s answered initialize with an error: %s", h->argv0, text);
            return;
        } else {
            lp_relay_forward_msg(g, frame, len, hdr, &m);
            h->init_answered = 1;
        }
        uv_timer_stop(&h->init_timer);
        h->state = HS_LOADING;
        restart_window(h);
        return;
    }
    if (fd->seq == 1 && m.kind == LI_K_RESPONSE && m.id.p &&
        lp_idset_del(&h->answered, m.id.p, m.id.len)) {
        lp_relay_event(h->r, LI_EV_DROPPED,
                       json_pack("{s:s, s:s%}", "what", "duplicate reply", "id", m.id.p, m.id.len));
        return;
    }
    if (fd->seq == 1 && m.kind == LI_K_REQUEST && m.id.p) {
        /* Its ids could collide with the first server's: the editor sees
         * "lsptap-2:<id>", and the reply is mapped back in the c2s path. */
        size_t olen, ohdr;
        char *out = lp_idset_remap(&h->remap, "lsptap-2:", body, blen, m.id, &olen, &ohdr);
        if (out) {
            lp_relay_forward_msg(g, out, olen, ohdr, NULL);
            free(out);
            return;
        }
        lp_relay_forward_msg(g, frame, len, hdr, &m);
        return;
    }
    if (fd->seq == 0 && m.kind == LI_K_RESPONSE && m.id.p)
        lp_idset_add(&h->answered, m.id.p, m.id.len, NULL, 0);
    if (fd->seq == 0 && m.kind == LI_K_REQUEST && m.id.p)
        lp_idset_add(&h->pending0, m.id.p, m.id.len, NULL, 0);
    char text[900];
    int is_log = method_is(&m, "window/logMessage");
    enum load_verdict lv = LOAD_OK;
    if (m.kind == LI_K_NOTIFICATION && (is_log || method_is(&m, "window/showMessage")) &&
        h->state < HS_DONE)
        lv = load_failure(h, body, blen, is_log, text, sizeof text);
    if (lv == LOAD_FAILED) {
        hold(h, frame, len, hdr);
        hs_failure(h, "%s reported: %s", h->argv0, text);
        return;
    }
    if (lv == LOAD_NETWORK && !h->network_said) {
        /* Restarting with another environment would fail the same way. */
        h->network_said = 1;
        lp_relay_say(h->r,
                     "lsptap: %s's workspace load failed because go could not connect; that is "
                     "the network, not the environment: no restart (netcheck's diagnosis "
                     "follows).\n",
                     h->argv0);
        lp_relay_event(h->r, LI_EV_LOAD_FAILED_NETWORK,
                       json_pack("{s:s, s:s}", "source",
                                 is_log ? "window/logMessage" : "window/showMessage", "message",
                                 text));
    }
    lp_relay_forward_msg(g, frame, len, hdr, &m);
}

static void forward_raw(void *ud, const char *data, size_t len)
{
    lp_relay_forward(ud, data, len);
}

static void s2c_raw(void *ud, const char *data, size_t len)
{
    struct s2c_feed *fd = ud;
    lp_relay_forward(fd->g, data, len);
}

/* The server's output, message by message: forwarded, held or dropped. */
/* The first server's output goes straight through again once its
 * handshake is over (nothing was changed), from a frame boundary. */
static int raw_again(const struct lp_handshake *h, unsigned seq)
{
    return seq == 0 && h->state >= HS_DONE && h->state != HS_REPAIRING && !h->init_by_lsptap;
}

static void s2c_frame_gated(void *ud, const char *frame, size_t len, size_t hdr)
{
    struct s2c_feed *fd = ud;
    s2c_frame(ud, frame, len, hdr);
    if (raw_again(fd->h, fd->seq)) lp_gate_stop(gate_of(fd->h, fd->g), 1);
}

static void s2c_raw_gated(void *ud, const char *data, size_t len)
{
    struct s2c_feed *fd = ud;
    s2c_raw(ud, data, len);
    if (raw_again(fd->h, fd->seq)) lp_gate_stop(gate_of(fd->h, fd->g), 1);
}

/* The server's output, message by message: forwarded, held or dropped.
 * When the handshake ends inside a chunk, the rest of it from the next
 * frame boundary goes on as it is (a stream of large frames may never
 * reach a boundary at a chunk's end). */
static void hs_s2c_filter(void *ctx, struct lp_relay_gen *g, const char *data, size_t len)
{
    struct lp_handshake *h = ctx;
    struct s2c_feed fd = {h, g, seq_of(g)};
    struct lp_gate *gate = gate_of(h, g);
    if (raw_again(h, fd.seq)) lp_gate_stop(gate, 1);
    size_t n = lp_gate_feed(gate, data, len, s2c_frame_gated, s2c_raw_gated, &fd);
    if (n < len || (raw_again(h, fd.seq) && lp_gate_idle(gate))) {
        lp_gate_stop(gate, 0);
        lp_relay_gen_raw(g);
        if (n < len) lp_relay_forward(g, data + n, len - n);
    }
}

static void hs_on_s2c_end(void *ctx, struct lp_relay_gen *g)
{
    struct lp_handshake *h = ctx;
    lp_gate_flush(gate_of(h, g), forward_raw, g); /* a frame cut short: passed on as it is */
}

/* After a restart, the editor's replies to the first server are dropped
 * and replies to remapped requests get their original id back. */
static void fwd_c2s_frame(struct lp_handshake *h, const char *frame, size_t len, size_t hdr,
                          const struct li_msg *m)
{
    int ok = m->kind != LI_K_INVALID;
    if (ok && h->state < HS_REPAIRING &&
        ((m->kind == LI_K_REQUEST && method_is(m, "shutdown")) ||
         (m->kind == LI_K_NOTIFICATION && method_is(m, "exit"))))
        hs_end(h, "the editor ended the session");
    if (ok && m->kind == LI_K_REQUEST && method_is(m, "initialize") && !h->init_id_len &&
        m->id.len < sizeof h->init_id) {
        memcpy(h->init_id, m->id.p, m->id.len);
        h->init_id_len = m->id.len;
        if (h->state == HS_WAIT_INIT) {
            h->state = HS_WAIT_RESULT;
            uv_timer_start(&h->init_timer, init_timeout, h->cfg->init_timeout_ms, 0);
        }
    }
    const char *send = frame;
    size_t slen = len;
    char *fresh = NULL;
    if (ok &&
        lp_idset_route_reply(&h->pending0, &h->remap, frame, len, hdr, m, &send, &slen, &fresh)) {
        lp_relay_event(h->r, LI_EV_DROPPED,
                       json_pack("{s:s, s:s%}", "what", "reply to the first server", "id", m->id.p,
                                 m->id.len));
        return;
    }
    lp_relay_to_server(h->r, send, slen);
    free(fresh);
}

/* The editor's stream after a restart, piece by piece (inspected
 * already): what does not frame goes on as it is, as it would have
 * without a restart. */
static void hs_c2s_filter(void *ctx, const char *data, size_t len, size_t hdr,
                          const struct li_msg *m)
{
    struct lp_handshake *h = ctx;
    if (hdr)
        fwd_c2s_frame(h, data, len, hdr, m);
    else
        lp_relay_to_server(h->r, data, len);
}

/* ---- handshake supervision: deciding ---- */

static void window_fired(uv_timer_t *t)
{
    struct lp_handshake *h = t->data;
    if (h->state != HS_LOADING) return;
    h->state = HS_DONE;
    lp_relay_event(h->r, LI_EV_HANDSHAKE_OK, json_pack("{s:i}", "server", h->restarted + 1));
    struct lp_relay_gen *g = lp_relay_current(h->r);
    if (!h->restarted) {
        /* Nothing was changed: back to forwarding bytes as they come. */
        if (lp_gate_idle(gate_of(h, g))) lp_relay_gen_raw(g);
        free(h->replay);
        h->replay = NULL;
        h->replay_len = h->replay_cap = 0;
        lp_relay_watch_c2s(h->r, 0);
    }
    lp_relay_release(h->r);
}

static void lsp_write(struct lp_relay_gen *g, json_t *msg)
{
    char *body = json_dumps(msg, JSON_COMPACT);
    if (!body) return;
    size_t blen = strlen(body);
    char hdr[LF_HEADER_MAX_OUT];
    size_t hlen = lf_write_header(hdr, sizeof hdr, blen);
    lp_relay_forward(g, hdr, hlen);
    lp_relay_forward(g, body, blen);
    free(body);
}

/* What lsptap tells the editor quotes the environment and the server:
 * redacted like everything lsptap says. */
static void show_message(struct lp_relay_gen *g, int type, const char *text)
{
    char red[4600];
    li_redact_value(NULL, text, environ, red, sizeof red);
    json_t *m = json_pack("{s:s, s:s, s:{s:i, s:s}}", "jsonrpc", "2.0", "method",
                          "window/showMessage", "params", "type", type, "message", red);
    lsp_write(g, m);
    json_decref(m);
}

static void give_up(struct lp_handshake *h, const char *found)
{
    struct lp_relay_gen *g = lp_relay_current(h->r);
    char text[4096];
    snprintf(text, sizeof text, "lsptap: %.1000s. %.3000s", h->reason, found);
    li_redact_buf(text, sizeof text, environ); /* it goes to the editor too */
    lp_relay_say(h->r, "%s\n", text);
    lp_relay_event(h->r, LI_EV_GAVE_UP,
                   json_pack("{s:s, s:s}", "reason", h->reason, "diagnosis", found));
    h->gave_up = 1;
    h->state = HS_GAVE_UP;
    if (!h->init_answered && h->init_id_len && !h->held_len) {
        /* initialize is still waiting: it gets the diagnosis as its error. */
        json_error_t e;
        json_t *id = json_loadb(h->init_id, h->init_id_len, JSON_DECODE_ANY, &e);
        json_t *m = json_pack("{s:s, s:o, s:{s:i, s:s, s:{s:b}}}", "jsonrpc", "2.0", "id",
                              id ? id : json_null(), "error", "code", -32603, "message", text,
                              "data", "retry", 0);
        lsp_write(g, m);
        json_decref(m);
        h->init_answered = 1;
        h->init_by_lsptap = 1;
    } else {
        show_message(g, 1, text);
    }
    release_held(h, g); /* the server's own words, unchanged */
    if (lp_gate_idle(gate_of(h, g)) && !h->restarted && !h->init_by_lsptap) lp_relay_gen_raw(g);
    lp_relay_release(h->r); /* the server's end, taken while judging, is the session's */
}

/* The editor's messages so far, minus its replies to the first server,
 * go to the new one; a frame cut short is still in the relay's framer of
 * the editor's stream, which completes it with what follows (hs_c2s_filter). */
static void replay(struct lp_handshake *h)
{
    if (h->replay_len) lp_relay_to_server(h->r, h->replay, h->replay_len);
    lp_relay_event(h->r, LI_EV_REPLAYED,
                   json_pack("{s:I, s:I}", "messages", (json_int_t)h->replay_msgs, "bytes",
                             (json_int_t)h->replay_framed));
    free(h->replay);
    h->replay = NULL;
    h->replay_len = h->replay_cap = 0;
}

static void restart(struct lp_handshake *h)
{
    char summary[4096];
    lp_env_summary(h->report, summary, sizeof summary);
    for (char *c = summary; *c; c++)
        if (*c == '\n') *c = ';';
    int rc = lp_relay_restart(h->r, h->report->envp);
    if (rc) {
        char found[600];
        snprintf(found, sizeof found, "A repaired gopls could not be started: %s", uv_strerror(rc));
        give_up(h, found);
        return;
    }
    struct lp_relay_gen *g = lp_relay_current(h->r);
    h->restarted = 1; /* the editor's frames are forwarded from here (hs_c2s_filter) */
    if (h->held_dropped || h->held_len)
        lp_relay_event(h->r, LI_EV_DROPPED,
                       json_pack("{s:s, s:I}", "what", "the first server's held messages", "bytes",
                                 (json_int_t)h->held_len));
    drop_held(h);
    replay(h);
    lp_relay_filter_c2s(h->r);

    char text[4500];
    snprintf(text, sizeof text,
             "lsptap restarted gopls with a repaired environment after: %.1000s. Changed: "
             "%.3000s. Run `lsptap doctor` for details.",
             h->reason, summary);
    lp_relay_say(h->r, "lsptap: %s\n", text + strlen("lsptap "));
    lp_relay_event(
        h->r, LI_EV_REPAIR,
        json_pack("{s:s, s:o}", "reason", h->reason, "changes", lp_env_changes_json(h->report)));
    show_message(g, 2, text);
    h->state = h->init_id_len ? HS_WAIT_RESULT : HS_WAIT_INIT;
    if (h->init_id_len) uv_timer_start(&h->init_timer, init_timeout, h->cfg->init_timeout_ms, 0);
}

static void check_env(uv_work_t *w)
{
    struct lp_handshake *h = w->data;
    struct lp_env_opts opts = {.login_shell = 1};
    h->report_ok =
        !lp_env_check(h->env ? h->env : environ, h->cwd[0] ? h->cwd : NULL, &opts, &h->report);
}

static void env_checked(uv_work_t *w, int status)
{
    struct lp_handshake *h = w->data;
    if (h->state != HS_REPAIRING || lp_relay_editor_left(h->r)) {
        /* The editor left while the environment was checked: nobody to
         * repair for. What the old server said goes on as it was. */
        if (h->state == HS_REPAIRING) hs_end(h, "the editor closed its side");
        lp_relay_release(h->r);
        return;
    }
    if (status || !h->report_ok) {
        give_up(h, "lsptap could not check the environment.");
        return;
    }
    size_t changes = lp_env_changes(h->report);
    char summary[3000];
    lp_env_summary(h->report, summary, sizeof summary);
    for (char *c = summary; *c; c++)
        if (*c == '\n') *c = ';';
    if (!changes || h->restarted || !h->cfg->repair) {
        char found[3400];
        if (!changes)
            snprintf(
                found, sizeof found, "No environment problem lsptap can fix was found%s%.3000s",
                h->report->n_problems ? "; found: " : ".", h->report->n_problems ? summary : "");
        else if (!h->cfg->repair)
            snprintf(found, sizeof found,
                     "LSPTAP_REPAIR=off, so nothing was changed; the "
                     "environment has: %.3000s",
                     summary);
        else
            snprintf(found, sizeof found,
                     "The repaired environment failed too; it changed: %.3000s", summary);
        give_up(h, found);
        return;
    }
    restart(h);
}

/* The handshake failed (printf format for the reason): checks the
 * environment and then restarts the server or gives up. Ignored when not
 * supervising or already repairing. */
static void hs_failure(struct lp_handshake *h, const char *fmt, ...)
{
    if (!supervising(h) || h->state == HS_REPAIRING) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(h->reason, sizeof h->reason, fmt, ap);
    va_end(ap);
    /* gopls's messages span lines; the reason is one. */
    for (char *c = h->reason; *c; c++)
        if (*c == '\n' || *c == '\r' || *c == '\t') *c = ' ';
    for (size_t n = strlen(h->reason); n && h->reason[n - 1] == ' ';)
        h->reason[--n] = '\0';
    h->state = HS_REPAIRING;
    uv_timer_stop(&h->init_timer);
    uv_timer_stop(&h->window);
    lp_relay_say(h->r, "lsptap: the handshake failed: %s; checking the environment.\n", h->reason);
    lp_relay_event(h->r, LI_EV_HANDSHAKE_FAILED,
                   json_pack("{s:s, s:i}", "reason", h->reason, "server", h->restarted + 1));
    if (h->restarted) { /* at most one repair per session */
        char summary[3000] = "", found[3400];
        if (h->report) lp_env_summary(h->report, summary, sizeof summary);
        for (char *c = summary; *c; c++)
            if (*c == '\n') *c = ';';
        snprintf(found, sizeof found, "The repaired environment failed too (it changed: %.3000s)",
                 summary);
        give_up(h, found);
        return;
    }
    h->work.data = h;
    if (uv_queue_work(lp_relay_loop(h->r), &h->work, check_env, env_checked))
        give_up(h, "lsptap could not check the environment.");
}

/* ---- the hook ---- */

/* The server ended while the handshake is judged: a failure, unless the
 * editor is the one leaving or never started a handshake. */
static enum lp_relay_verdict hs_on_server_end(void *ctx, struct lp_relay_gen *g,
                                              enum lp_relay_end what)
{
    struct lp_handshake *h = ctx;
    if (supervising(h) && (lp_relay_editor_left(h->r) || !judging(h)))
        hs_end(h, h->state == HS_WAIT_INIT ? "the server ended before initialize"
                                           : "the editor closed its side");
    if (!supervising(h)) return LP_RELAY_PASS;
    if (what == LP_RELAY_OUT_CLOSED) {
        /* The relay asks about a stdout's end once the exit status is in
         * (then the exit was judged first) or did not come in time. */
        hs_failure(h, "%s closed its output before the handshake completed", h->argv0);
        return LP_RELAY_TAKEN;
    }
    struct lp_relay_gen_info gi;
    lp_relay_gen_info(g, &gi);
    if (gi.term_signal)
        hs_failure(h, "%s was killed by signal %d (%s) before the handshake completed", h->argv0,
                   gi.term_signal, strsignal(gi.term_signal));
    else
        hs_failure(h, "%s exited with status %d before the handshake completed", h->argv0,
                   gi.exit_status);
    return LP_RELAY_TAKEN;
}

static unsigned hs_holds(void *ctx)
{
    const struct lp_handshake *h = ctx;
    return (supervising(h) ? LP_RELAY_HOLD_OUTPUT : 0u) |
           (h->state == HS_REPAIRING ? LP_RELAY_HOLD_END : 0u);
}

const struct lp_relay_super_ops lp_handshake_ops = {
    .start = hs_start,
    .on_c2s = hs_on_c2s,
    .c2s_filter = hs_c2s_filter,
    .s2c_filter = hs_s2c_filter,
    .on_s2c_end = hs_on_s2c_end,
    .on_server_end = hs_on_server_end,
    .holds = hs_holds,
    .stop = hs_stop,
};
