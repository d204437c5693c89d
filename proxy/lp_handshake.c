/*
 * The handshake supervision of the gopls stand-in (docs/repair.md): the
 * gate on the server's output, the editor's messages kept for a replay,
 * the environment check, the restart with id remapping, and giving up.
 * Its contract with the relay is proxy/lp_relay_int.h.
 */
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
#include "io/lp_pump.h"
#include "netcheck/ln_gofail.h"
#include "proxy/lp_gate.h"
#include "proxy/lp_relay_int.h"

#define REPLAY_MAX ((size_t)8 << 20) /* editor bytes kept for a restart */
#define HELD_MAX ((size_t)1 << 20)   /* server bytes held while repairing */

extern char **environ;

void lp_hs_init(struct relay *r)
{
    r->sv.state = r->o->supervise ? HS_WAIT_INIT : HS_DONE;
    if (!getcwd(r->sv.cwd, sizeof r->sv.cwd)) r->sv.cwd[0] = '\0';
    uv_timer_init(r->loop, &r->sv.init_timer);
    uv_timer_init(r->loop, &r->sv.window);
    uv_timer_init(r->loop, &r->sv.eof_wait);
    r->sv.init_timer.data = r->sv.window.data = r->sv.eof_wait.data = r;
}

void lp_hs_free(struct relay *r)
{
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
}

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
        lp_hs_failure(r, "%s did not answer initialize within %llu ms", r->o->argv[0],
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
void lp_hs_end(struct relay *r, const char *why)
{
    struct super *sv = &r->sv;
    if (sv->held_len) { /* held while repairing: it goes on as it was */
        lp_rl_forward(lp_rl_cur(r), sv->held, sv->held_len);
        free(sv->held);
        sv->held = NULL;
        sv->held_len = 0;
    }
    sv->state = HS_DONE;
    uv_timer_stop(&sv->init_timer);
    uv_timer_stop(&sv->window);
    uv_timer_stop(&sv->eof_wait);
    lp_rl_event(r, LI_EV_SUPERVISION_OFF, json_pack("{s:s}", "reason", why));
}

static void seen_c2s_frame(void *ud, const char *frame, size_t len, size_t hdr)
{
    struct relay *r = ud;
    struct super *sv = &r->sv;
    struct li_msg m;
    int ok = !li_classify(LI_LSP, frame + hdr, len - hdr, 0, &m);
    if (sv->state == HS_WAIT_INIT &&
        !(ok && m.kind == LI_K_REQUEST && method_is(&m, "initialize"))) {
        lp_hs_end(r, "the editor's first message is not initialize");
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
        if (sv->state < HS_REPAIRING) lp_hs_end(r, "the editor ended the session");
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
    if (r->sv.state == HS_WAIT_INIT) lp_hs_end(r, "the editor sent bytes that do not frame");
}

/* Before a restart: every byte the editor sends is kept for the replay,
 * and its messages are watched for initialize and replies. */
void lp_hs_watch_c2s(struct relay *r, const char *data, size_t len)
{
    struct super *sv = &r->sv;
    if (sv->replay_len + len > REPLAY_MAX) {
        lp_rl_say(r,
                  "lsptap: the editor sent more than %zu MiB during the handshake; a restart "
                  "could not replay it, so handshake supervision is off for this session.\n",
                  REPLAY_MAX >> 20);
        lp_rl_event(r, LI_EV_SUPERVISION_OFF, json_pack("{s:s}", "reason", "replay buffer full"));
        sv->state = HS_DONE;
        return;
    }
    if (sv->replay_len + len > sv->replay_cap) {
        size_t nc = sv->replay_cap ? sv->replay_cap * 2 : 65536;
        while (nc < sv->replay_len + len)
            nc *= 2;
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
static enum load_verdict load_failure(struct relay *r, const char *body, size_t len, int is_log,
                                      char *msg, size_t msglen)
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
                   : matches_failure(r, t, n))
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
        lp_rl_forward_msg(g, frame, len, hdr, &m);
        return;
    }
    if (m.kind == LI_K_RESPONSE && is_init_id(sv, &m) && sv->init_by_lsptap) {
        lp_rl_event(r, LI_EV_DROPPED,
                    json_pack("{s:s, s:s}", "what", "late initialize result", "why",
                              "lsptap already answered initialize with the diagnosis"));
        return;
    }
    if (m.kind == LI_K_RESPONSE && is_init_id(sv, &m) && sv->state <= HS_LOADING) {
        if (sv->init_answered) { /* the restarted server's: the editor has one */
            lp_rl_event(r, LI_EV_DROPPED,
                        json_pack("{s:s, s:s}", "what", "initialize result", "why",
                                  "the editor already has one"));
        } else if (m.is_error && sv->state < HS_DONE) {
            hold(g, frame, len);
            char text[600] = "";
            json_error_t e;
            json_t *err = m.error.p ? json_loadb(m.error.p, m.error.len, 0, &e) : NULL;
            snprintf(text, sizeof text, "%s",
                     json_string_value(json_object_get(err, "message"))
                         ? json_string_value(json_object_get(err, "message"))
                         : "no message");
            json_decref(err);
            lp_hs_failure(r, "%s answered initialize with an error: %s", r->o->argv[0], text);
            return;
        } else {
            lp_rl_forward_msg(g, frame, len, hdr, &m);
            sv->init_answered = 1;
        }
        uv_timer_stop(&sv->init_timer);
        sv->state = HS_LOADING;
        restart_window(r);
        return;
    }
    if (g->idx == 1 && m.kind == LI_K_RESPONSE && m.id.p &&
        lp_idset_del(&sv->answered, m.id.p, m.id.len)) {
        lp_rl_event(r, LI_EV_DROPPED,
                    json_pack("{s:s, s:s%}", "what", "duplicate reply", "id", m.id.p, m.id.len));
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
            nlen = (size_t)snprintf(nid, sizeof nid, "\"lsptap-2:n:%.*s\"", (int)m.id.len, m.id.p);
        if (nlen < sizeof nid && !lp_idset_add(&sv->remap, nid, nlen, m.id.p, m.id.len)) {
            size_t olen;
            char *out = lp_rewrite_id(body, blen, m.id, nid, nlen, &olen);
            if (out) {
                lp_rl_forward(g, out, olen);
                free(out);
                return;
            }
        }
        lp_rl_forward_msg(g, frame, len, hdr, &m);
        return;
    }
    if (g->idx == 0 && m.kind == LI_K_RESPONSE && m.id.p)
        lp_idset_add(&sv->answered, m.id.p, m.id.len, NULL, 0);
    if (g->idx == 0 && m.kind == LI_K_REQUEST && m.id.p)
        lp_idset_add(&sv->pending0, m.id.p, m.id.len, NULL, 0);
    char text[900];
    int is_log = method_is(&m, "window/logMessage");
    enum load_verdict lv = LOAD_OK;
    if (m.kind == LI_K_NOTIFICATION && (is_log || method_is(&m, "window/showMessage")) &&
        sv->state < HS_DONE)
        lv = load_failure(r, body, blen, is_log, text, sizeof text);
    if (lv == LOAD_FAILED) {
        hold(g, frame, len);
        lp_hs_failure(r, "%s reported: %s", r->o->argv[0], text);
        return;
    }
    if (lv == LOAD_NETWORK && !sv->network_said) {
        /* Restarting with another environment would fail the same way. */
        sv->network_said = 1;
        lp_rl_say(r,
                  "lsptap: %s's workspace load failed because go could not connect; that is "
                  "the network, not the environment: no restart (netcheck's diagnosis "
                  "follows).\n",
                  r->o->argv[0]);
        lp_rl_event(r, LI_EV_LOAD_FAILED_NETWORK,
                    json_pack("{s:s, s:s}", "source",
                              is_log ? "window/logMessage" : "window/showMessage", "message",
                              text));
    }
    lp_rl_forward_msg(g, frame, len, hdr, &m);
}

void lp_hs_s2c_filter(struct lp_pump *p, const char *data, size_t len)
{
    struct relay *r = p->data;
    struct gen *g = lp_rl_gen_of(r, p);
    if (g->retired) return;
    lp_gate_feed(&g->gate, data, len, s2c_frame, lp_rl_forward_raw, g);
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
        lp_hs_end(r, "the editor ended the session");
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
            lp_rl_event(r, LI_EV_DROPPED,
                        json_pack("{s:s, s:s%}", "what", "reply to the first server", "id", m.id.p,
                                  m.id.len));
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

void lp_hs_c2s_end(struct relay *r)
{
    if (!r->c2s.filter) return;
    r->c2s.filter = NULL;
    lp_gate_flush(&r->sv.c2s_gate, c2s_raw, r);
}

static void c2s_filter(struct lp_pump *p, const char *data, size_t len)
{
    struct relay *r = p->data;
    li_session_feed(r->o->sess, LI_C2S, data, len, lp_rl_now_us(r));
    lp_gate_feed(&r->sv.c2s_gate, data, len, c2s_frame, c2s_raw, r);
}

/* ---- handshake supervision: deciding ---- */

static void window_fired(uv_timer_t *t)
{
    struct relay *r = t->data;
    struct super *sv = &r->sv;
    if (sv->state != HS_LOADING) return;
    sv->state = HS_DONE;
    lp_rl_event(r, LI_EV_HANDSHAKE_OK, json_pack("{s:i}", "server", r->cur + 1));
    struct gen *g = lp_rl_cur(r);
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
    lp_rl_finish_output(r, g);
    lp_rl_maybe_finish(r);
}

static void lsp_write(struct gen *g, json_t *msg)
{
    char *body = json_dumps(msg, JSON_COMPACT);
    if (!body) return;
    size_t blen = strlen(body);
    char hdr[LF_HEADER_MAX_OUT];
    size_t hlen = lf_write_header(hdr, sizeof hdr, blen);
    lp_rl_forward(g, hdr, hlen);
    lp_rl_forward(g, body, blen);
    free(body);
}

/* What lsptap tells the editor quotes the environment and the server:
 * redacted like everything lsptap says. */
static void show_message(struct gen *g, int type, const char *text)
{
    char red[4600];
    li_redact_value(NULL, text, environ, red, sizeof red);
    json_t *m = json_pack("{s:s, s:s, s:{s:i, s:s}}", "jsonrpc", "2.0", "method",
                          "window/showMessage", "params", "type", type, "message", red);
    lsp_write(g, m);
    json_decref(m);
}

static void give_up(struct relay *r, const char *found)
{
    struct super *sv = &r->sv;
    struct gen *g = lp_rl_cur(r);
    char text[4096];
    snprintf(text, sizeof text, "lsptap: %.1000s. %.3000s", sv->reason, found);
    li_redact_buf(text, sizeof text, environ); /* it goes to the editor too */
    lp_rl_say(r, "%s\n", text);
    lp_rl_event(r, LI_EV_GAVE_UP,
                json_pack("{s:s, s:s}", "reason", sv->reason, "diagnosis", found));
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
    if (sv->held_len)
        lp_rl_forward(g, sv->held, sv->held_len); /* the server's own words, unchanged */
    free(sv->held);
    sv->held = NULL;
    sv->held_len = 0;
    if (lp_gate_idle(&g->gate) && r->cur == 0 && !sv->init_by_lsptap) g->s2c.filter = NULL;
    if (g->exited && (!g->s2c.src_eof || !g->errp.src_eof)) lp_server_drain(&g->proc);
    lp_rl_finish_output(r, g);
    if (g->s2c.src_eof) li_session_eof(r->o->sess, LI_S2C, lp_rl_now_us(r));
    lp_rl_maybe_finish(r);
}

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
        lp_gate_feed(&sv->c2s_gate, sv->replay + off, sv->replay_len - off, c2s_frame, c2s_raw, r);
    lp_rl_event(r, LI_EV_REPLAYED,
                json_pack("{s:I, s:I}", "messages", (json_int_t)sent, "bytes", (json_int_t)off));
}

static void restart(struct relay *r)
{
    struct super *sv = &r->sv;
    struct gen *old = lp_rl_cur(r), *g = &r->gen[1];
    char summary[4096];
    lp_env_summary(sv->report, summary, sizeof summary);
    for (char *c = summary; *c; c++)
        if (*c == '\n') *c = ';';
    int rc = lp_rl_spawn_gen(r, g, sv->report->envp);
    if (rc) {
        char found[600];
        snprintf(found, sizeof found, "A repaired gopls could not be started: %s", uv_strerror(rc));
        give_up(r, found);
        return;
    }
    old->retired = 1;
    lp_rl_kill_group(old);
    lp_pump_stop_src(&old->s2c);
    lp_pump_stop_src(&old->errp);
    lp_close_once((uv_handle_t *)&old->in);
    if (sv->held_dropped || sv->held_len)
        lp_rl_event(r, LI_EV_DROPPED,
                    json_pack("{s:s, s:I}", "what", "the first server's held messages", "bytes",
                              (json_int_t)sv->held_len));
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
    if (r->c2s.src_eof) {
        lp_hs_c2s_end(r); /* a partial last frame will not be completed now */
        lp_pump_shutdown_dst(&r->c2s);
    }
    free(sv->replay);
    sv->replay = NULL;
    sv->replay_len = sv->replay_cap = 0;
    lp_gate_free(&sv->c2s_seen);

    char text[4500];
    snprintf(text, sizeof text,
             "lsptap restarted gopls with a repaired environment after: %.1000s. Changed: "
             "%.3000s. Run `lsptap doctor` for details.",
             sv->reason, summary);
    lp_rl_say(r, "lsptap: %s\n", text + strlen("lsptap "));
    lp_rl_event(
        r, LI_EV_REPAIR,
        json_pack("{s:s, s:o}", "reason", sv->reason, "changes", lp_env_changes_json(sv->report)));
    show_message(g, 2, text);
    sv->state = sv->init_id_len ? HS_WAIT_RESULT : HS_WAIT_INIT;
    if (sv->init_id_len)
        uv_timer_start(&sv->init_timer, init_timeout, r->o->cfg->init_timeout_ms, 0);
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
        if (sv->state == HS_REPAIRING) lp_hs_end(r, "the editor closed its side");
        lp_rl_maybe_finish(r);
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
            snprintf(
                found, sizeof found, "No environment problem lsptap can fix was found%s%.3000s",
                sv->report->n_problems ? "; found: " : ".", sv->report->n_problems ? summary : "");
        else if (!r->o->cfg->repair)
            snprintf(found, sizeof found,
                     "LSPTAP_REPAIR=off, so nothing was changed; the "
                     "environment has: %.3000s",
                     summary);
        else
            snprintf(found, sizeof found,
                     "The repaired environment failed too; it changed: %.3000s", summary);
        give_up(r, found);
        return;
    }
    restart(r);
}

static void eof_waited(uv_timer_t *t)
{
    struct relay *r = t->data;
    lp_hs_failure(r, "%s closed its output before the handshake completed", r->o->argv[0]);
}

void lp_hs_output_closed(struct relay *r)
{
    /* A server that dies closes its stdout a moment before its exit status
     * arrives; "was killed by signal 9" tells the user more than "closed
     * its output", so the judgement waits for the status, briefly (the
     * exit handler then judges, and this timer is stopped). */
    uv_timer_start(&r->sv.eof_wait, eof_waited, EOF_WAIT_MS, 0);
}

void lp_hs_failure(struct relay *r, const char *fmt, ...)
{
    struct super *sv = &r->sv;
    if (!lp_hs_supervising(r) || sv->state == HS_REPAIRING) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sv->reason, sizeof sv->reason, fmt, ap);
    va_end(ap);
    /* gopls's messages span lines; the reason is one. */
    for (char *c = sv->reason; *c; c++)
        if (*c == '\n' || *c == '\r' || *c == '\t') *c = ' ';
    for (size_t n = strlen(sv->reason); n && sv->reason[n - 1] == ' ';)
        sv->reason[--n] = '\0';
    sv->state = HS_REPAIRING;
    uv_timer_stop(&sv->init_timer);
    uv_timer_stop(&sv->window);
    uv_timer_stop(&sv->eof_wait);
    lp_rl_say(r, "lsptap: the handshake failed: %s; checking the environment.\n", sv->reason);
    lp_rl_event(r, LI_EV_HANDSHAKE_FAILED,
                json_pack("{s:s, s:i}", "reason", sv->reason, "server", r->cur + 1));
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
