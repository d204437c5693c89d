/* lp_keepalive: what a new server is sent after a loss, what the editor is
 * answered, which of the editor's messages are held, dropped or forwarded,
 * id remapping, the crash-loop budget and the cases keep-alive refuses.
 * No processes: the callbacks write into buffers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inspect/li_msg.h"
#include "inspect/li_state.h"
#include "resume/lp_gate.h"
#include "resume/lp_keepalive.h"

#define CAP (1 << 16)

struct rig {
    struct li_state *st;
    struct lp_ka *ka;
    struct lp_gate ed_gate; /* frames the editor's stream once, as the relays do */
    char srv[CAP], ed[CAP], events[4096], said[CAP], dropped[512];
    size_t srv_len, ed_len;
    int drops;
    int as_read; /* the editor gets chunks as read: not tracked frame by frame */
    int no_msg;  /* the editor's frames reach the engine unclassified (m NULL) */
    /* The engine's frames for the editor (to_editor_frame), with and
     * without the body's classification. */
    unsigned with_msg, without_msg;
};

static void append(char *buf, size_t *len, const char *d, size_t n)
{
    assert_true(*len + n < CAP);
    memcpy(buf + *len, d, n);
    *len += n;
    buf[*len] = '\0';
}

/* Each whole frame of data, classified and fed to the tracker as the
 * session would. */
static void track_frames(struct rig *r, enum li_dir dir, const char *d, size_t n)
{
    while (n) {
        const char *sep = memmem(d, n, "\r\n\r\n", 4);
        assert_non_null(sep);
        size_t blen = (size_t)strtoul(d + strlen("Content-Length: "), NULL, 10);
        const char *body = sep + 4;
        struct li_msg m;
        assert_int_equal(li_classify(LI_LSP, body, blen, 0, &m), 0);
        lp_ka_on_msg(r->ka, dir, &m, body, blen, 0);
        n -= (size_t)(body + blen - d);
        d = body + blen;
    }
}

static void to_server(void *ud, const char *d, size_t n)
{
    struct rig *r = ud;
    append(r->srv, &r->srv_len, d, n);
}

static void to_editor(void *ud, const char *d, size_t n)
{
    struct rig *r = ud;
    append(r->ed, &r->ed_len, d, n);
    if (!r->as_read) track_frames(r, LI_S2C, d, n);
}

static void on_event(void *ud, enum li_event ev, json_t *f)
{
    struct rig *r = ud;
    size_t l = strlen(r->events);
    snprintf(r->events + l, sizeof r->events - l, "%s ", li_event_name(ev));
    json_decref(f);
}

static void on_say(void *ud, const char *line)
{
    struct rig *r = ud;
    size_t l = strlen(r->said);
    snprintf(r->said + l, sizeof r->said - l, "%s", line);
}

static void on_drop(void *ud, const char *why)
{
    struct rig *r = ud;
    r->drops++;
    snprintf(r->dropped, sizeof r->dropped, "%s", why);
}

/* A frame for the editor: m, when given, must be what li_classify makes of
 * the body (the relay records it with m instead of classifying it). */
static void to_editor_frame(void *ud, const char *f, size_t len, size_t hdr, const struct li_msg *m)
{
    struct rig *r = ud;
    if (m) {
        struct li_msg own;
        li_classify(LI_LSP, f + hdr, len - hdr, 0, &own);
        assert_int_equal(m->kind, own.kind);
        assert_ptr_equal(m->id.p, own.id.p);
        assert_int_equal(m->id.len, own.id.len);
        assert_ptr_equal(m->method.p, own.method.p);
        assert_int_equal(m->is_error, own.is_error);
        r->with_msg++;
    } else {
        r->without_msg++;
    }
    to_editor(ud, f, len);
}

static const struct lp_ka_cb cbs = {to_server, to_editor, on_event,
                                    on_say,    on_drop,   to_editor_frame};

/* Without to_editor_frame: the engine hands every frame for the editor to
 * to_editor as bytes, as it does for a relay that records none. */
static const struct lp_ka_cb cbs_bytes = {to_server, to_editor, on_event, on_say, on_drop, NULL};

static struct rig *rig_new_cb(unsigned restart_max, const struct lp_ka_cb *cb)
{
    struct rig *r = calloc(1, sizeof *r);
    assert_non_null(r);
    r->st = li_state_new(0);
    struct lp_ka_opts o = {restart_max, 300 * 1000000ull, "reconnected", "gopls"};
    r->ka = lp_ka_new(r->st, &o, cb, r);
    assert_non_null(r->ka);
    return r;
}

static struct rig *rig_new(unsigned restart_max)
{
    return rig_new_cb(restart_max, &cbs);
}

static void rig_free(struct rig *r)
{
    lp_gate_free(&r->ed_gate);
    lp_ka_free(r->ka);
    li_state_free(r->st);
    free(r);
}

static char *frame(const char *body)
{
    static char buf[8][4096];
    static int i;
    char *f = buf[i++ % 8];
    snprintf(f, 4096, "Content-Length: %zu\r\n\r\n%s", strlen(body), body);
    return f;
}

/* The editor sent body while the server was up: the relay forwarded it
 * itself; the engine only sees it through the tracker. */
static void ed_live(struct rig *r, const char *body)
{
    char *f = frame(body);
    track_frames(r, LI_C2S, f, strlen(f));
}

static void srv_live(struct rig *r, const char *body)
{
    char *f = frame(body);
    track_frames(r, LI_S2C, f, strlen(f));
}

/* A whole frame out of the rig's gate: the session sees it (classified
 * once, fed to the tracker), then the engine, as the relays do. */
static void ed_frame(void *ud, const char *f, size_t len, size_t hdr)
{
    struct rig *r = ud;
    struct li_msg m;
    li_classify(LI_LSP, f + hdr, len - hdr, 0, &m);
    lp_ka_on_msg(r->ka, LI_C2S, &m, f + hdr, len - hdr, 0);
    lp_ka_editor_piece(r->ka, f, len, hdr, r->no_msg ? NULL : &m);
}

static void ed_raw(void *ud, const char *d, size_t len)
{
    struct rig *r = ud;
    lp_ka_editor_piece(r->ka, d, len, 0, NULL);
}

/* Bytes from the editor after a loss, in any pieces: the rig's gate frames
 * them and hands each frame or raw run to the engine. */
static void ed_bytes(struct rig *r, const char *d, size_t n)
{
    assert_int_equal(lp_gate_feed(&r->ed_gate, d, n, ed_frame, ed_raw, r), n);
}

/* The editor sends body after a loss: the session sees it, then the engine. */
static void ed_sends(struct rig *r, const char *body)
{
    char *f = frame(body);
    ed_bytes(r, f, strlen(f));
}

static void srv_sends(struct rig *r, const char *body, uint64_t now)
{
    char *f = frame(body);
    lp_ka_server(r->ka, f, strlen(f), now);
}

static void clear(struct rig *r)
{
    r->srv_len = r->ed_len = 0;
    r->srv[0] = r->ed[0] = r->events[0] = r->said[0] = '\0';
}

#define INIT                                                                                       \
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"processId\":7,"         \
    "\"rootUri\":\"file:///w\",\"capabilities\":{}}}"
#define INITIALIZED "{\"jsonrpc\":\"2.0\",\"method\":\"initialized\",\"params\":{}}"
#define DIDOPEN                                                                                    \
    "{\"jsonrpc\":\"2.0\",\"method\":\"textDocument/didOpen\",\"params\":{\"textDocument\":{"      \
    "\"uri\":\"file:///w/a.go\",\"languageId\":\"go\",\"version\":1,\"text\":\"package a\\n\"}}}"
#define HOVER(id)                                                                                  \
    "{\"jsonrpc\":\"2.0\",\"id\":" id ",\"method\":\"textDocument/hover\",\"params\":{"            \
    "\"textDocument\":{\"uri\":\"file:///w/a.go\"},\"position\":{\"line\":0,\"character\":9}}}"
#define CHANGE(v, text)                                                                            \
    "{\"jsonrpc\":\"2.0\",\"method\":\"textDocument/didChange\",\"params\":{\"textDocument\":{"    \
    "\"uri\":\"file:///w/a.go\",\"version\":" v "},\"contentChanges\":[{\"text\":\"" text "\"}]}}"

/* An editor that initialized, opened a document, and has a hover and a
 * command in flight and one server request unanswered. */
static void session_up(struct rig *r)
{
    ed_live(r, INIT);
    srv_live(r, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"capabilities\":{}}}");
    ed_live(r, INITIALIZED);
    ed_live(r, DIDOPEN);
    ed_live(r, HOVER("2"));
    ed_live(r, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"workspace/executeCommand\","
               "\"params\":{\"command\":\"gopls.tidy\"}}");
    srv_live(r, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"window/workDoneProgress/create\","
                "\"params\":{\"token\":\"t\"}}");
}

/* An editor that initialized and opened a.go, with nothing in flight. */
static void opened(struct rig *r)
{
    ed_live(r, INIT);
    ed_live(r, INITIALIZED);
    ed_live(r, DIDOPEN);
}

/* The server is lost (at time 0, between frames), and keep-alive keeps the
 * session. */
static void lose(struct rig *r)
{
    assert_int_equal(lp_ka_lost(r->ka, 0, 1, "lost"), 0);
}

/* ... and a new server is started at once. */
static void lose_and_resume(struct rig *r)
{
    lose(r);
    assert_int_equal(lp_ka_resume(r->ka, 0), 0);
}

/* The new server of the k-th resume answers its initialize. */
static void srv_initialized(struct rig *r, int k, uint64_t now)
{
    char body[128];
    snprintf(body, sizeof body,
             "{\"jsonrpc\":\"2.0\",\"id\":\"lsptap-k%d:initialize\",\"result\":{}}", k);
    srv_sends(r, body, now);
}

/* Most tests have one rig with restart_max 5, made and freed around them. */
static int rig_setup(void **state)
{
    *state = rig_new(5);
    return 0;
}

/* The same, the editor's frames given to the engine without their
 * classification (m NULL): the engine classifies them itself, alike. */
static int rig_setup_no_msg(void **state)
{
    struct rig *r = rig_new(5);
    r->no_msg = 1;
    *state = r;
    return 0;
}

/* The same, with the engine's frames for the editor going as bytes. */
static int rig_setup_bytes(void **state)
{
    *state = rig_new_cb(5, &cbs_bytes);
    return 0;
}

/* ...and at the end no frame went through to_editor_frame. */
static int rig_teardown_bytes(void **state)
{
    struct rig *r = *state;
    assert_int_equal(r->with_msg + r->without_msg, 0);
    rig_free(r);
    return 0;
}

static int rig_teardown(void **state)
{
    rig_free(*state);
    return 0;
}

static void resume_replays_state_and_requests(void **state)
{
    struct rig *r = *state;
    session_up(r);
    assert_int_equal(lp_ka_lost(r->ka, 1000000, 1, "the connection to h:1 dropped"), 0);
    assert_non_null(strstr(r->events, "server_lost"));
    assert_non_null(strstr(r->said, "the connection to h:1 dropped; keeping"));
    assert_int_equal(lp_ka_phase(r->ka), LP_KA_LOST);
    /* While lost: an edit (covered by the replay), a save (held), a new
     * hover (covered: resent from the tracker), a cancel of nothing. */
    ed_sends(r, CHANGE("2", "package a\\n\\nfunc F() {}\\n"));
    ed_sends(r, "{\"jsonrpc\":\"2.0\",\"method\":\"textDocument/didSave\",\"params\":{"
                "\"textDocument\":{\"uri\":\"file:///w/a.go\"}}}");
    ed_sends(r, HOVER("4"));
    assert_int_equal(r->srv_len, 0);
    assert_int_equal(r->ed_len, 0);

    assert_int_equal(lp_ka_resume(r->ka, 1100000), 0);
    assert_int_equal(lp_ka_phase(r->ka), LP_KA_RESUMING);
    assert_non_null(strstr(r->srv, "\"id\":\"lsptap-k1:initialize\",\"method\":\"initialize\","
                                   "\"params\":{\"processId\":7,"));
    assert_null(strstr(r->srv, "didOpen"));
    /* Before its result the new server may talk: that reaches the editor. */
    srv_sends(r,
              "{\"jsonrpc\":\"2.0\",\"method\":\"window/logMessage\",\"params\":{\"type\":3,"
              "\"message\":\"hi\"}}",
              1150000);
    assert_non_null(strstr(r->ed, "window/logMessage"));
    size_t before = r->srv_len;
    srv_sends(r,
              "{\"jsonrpc\":\"2.0\",\"id\":\"lsptap-k1:initialize\",\"result\":{"
              "\"capabilities\":{}}}",
              1340000);
    assert_int_equal(lp_ka_phase(r->ka), LP_KA_LIVE);
    /* The result was swallowed. */
    assert_null(strstr(r->ed, "lsptap-k1:initialize"));
    const char *after = r->srv + before;
    const char *ini = strstr(after, "\"method\":\"initialized\"");
    const char *open = strstr(after, "\"method\":\"textDocument/didOpen\"");
    const char *h2 = strstr(after, "\"id\":2,\"method\":\"textDocument/hover\"");
    const char *h4 = strstr(after, "\"id\":4,\"method\":\"textDocument/hover\"");
    const char *save = strstr(after, "didSave");
    assert_true(ini && open && h2 && h4 && save);
    assert_true(ini < open && open < h2 && h2 < h4 && h4 < save);
    /* The document as the editor has it now, edit included. */
    assert_non_null(strstr(open, "\"version\":2,\"text\":\"package a\\n\\nfunc F() {}\\n\""));
    /* Neither the edit nor the command went to the new server. */
    assert_null(strstr(after, "didChange"));
    assert_null(strstr(after, "executeCommand"));
    /* The command got RequestFailed, the editor a showMessage. */
    assert_non_null(strstr(r->ed, "{\"jsonrpc\":\"2.0\",\"id\":3,\"error\":{\"code\":-32803,"
                                  "\"message\":\"lsptap: gopls was lost while running"));
    const char *sm = strstr(r->ed, "window/showMessage");
    assert_non_null(sm);
    assert_non_null(strstr(sm, "\"type\":2"));
    assert_non_null(strstr(sm, "\"message\":\"lsptap: the connection to h:1 dropped; "
                               "reconnected and reopened 1 document in 340 ms"));
    assert_non_null(strstr(r->said, "reconnected and reopened 1 document in 340 ms"));
    assert_non_null(strstr(r->events, "replayed"));
    /* The answers to the resent hovers pass unchanged. */
    struct li_state_info in;
    li_state_info(r->st, &in);
    assert_int_equal(in.inflight, 2);
}

static void lost_servers_requests_are_forgotten_and_ids_remapped(void **state)
{
    struct rig *r = *state;
    session_up(r);
    lose_and_resume(r);
    srv_initialized(r, 1, 1);
    struct lp_ka_stats s;
    lp_ka_stats(r->ka, &s);
    assert_int_equal(s.forgotten, 1);
    assert_false(lp_ka_passthrough(r->ka));
    /* The new server's request 1 would collide with the lost one's. */
    clear(r);
    unsigned with = r->with_msg;
    srv_sends(r,
              "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"workspace/configuration\","
              "\"params\":{\"items\":[]}}",
              2);
    assert_non_null(strstr(r->ed, "\"id\":\"lsptap-k1:n:1\""));
    /* Renamed, it goes without the classification of the old body. */
    assert_int_equal(r->without_msg, 1);
    assert_int_equal(r->with_msg, with);
    /* The editor's late reply to the lost server: dropped. */
    ed_sends(r, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":null}");
    assert_int_equal(r->srv_len, 0);
    assert_non_null(strstr(r->events, "dropped"));
    /* Its reply to the new server's request: the server's id again. */
    ed_sends(r, "{\"jsonrpc\":\"2.0\",\"id\":\"lsptap-k1:n:1\",\"result\":[]}");
    assert_string_equal(r->srv, "Content-Length: 36\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":1,"
                                "\"result\":[]}");
    /* Nothing outstanding: bytes pass unchanged, ids too. */
    assert_true(lp_ka_passthrough(r->ka));
    clear(r);
    srv_sends(r, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"workspace/configuration\"}", 3);
    assert_non_null(strstr(r->ed, "\"id\":2,"));
}

static void unsafe_and_cancelled_requests_are_answered(void **state)
{
    struct rig *r = *state;
    ed_live(r, INIT);
    ed_live(r, INITIALIZED);
    ed_live(r, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"gopls/custom\",\"params\":{}}");
    ed_live(r, HOVER("6"));
    ed_live(r, "{\"jsonrpc\":\"2.0\",\"method\":\"$/cancelRequest\",\"params\":{\"id\":6}}");
    lose_and_resume(r);
    srv_initialized(r, 1, 1);
    assert_non_null(strstr(r->ed, "{\"jsonrpc\":\"2.0\",\"id\":5,\"error\":{\"code\":-32801,"
                                  "\"message\":\"lsptap: gopls was lost before answering "
                                  "gopls/custom; reconnected; ask again\"}}"));
    assert_non_null(strstr(r->ed, "{\"jsonrpc\":\"2.0\",\"id\":6,\"error\":{\"code\":-32800,"));
    assert_null(strstr(r->srv, "hover"));
    assert_null(strstr(r->srv, "gopls/custom"));
    struct li_state_info in;
    li_state_info(r->st, &in);
    assert_int_equal(in.inflight, 0); /* every request got its one answer */
}

static void editor_messages_while_resuming_follow_the_replay(void **state)
{
    struct rig *r = *state;
    opened(r);
    lose_and_resume(r);
    /* Built into no replay: sent as it is, after the replay. */
    ed_sends(r, CHANGE("2", "package b\\n"));
    ed_sends(r, HOVER("7"));
    assert_null(strstr(r->srv, "didChange"));
    srv_initialized(r, 1, 1);
    const char *open = strstr(r->srv, "didOpen");
    const char *chg = strstr(r->srv, "didChange");
    const char *h = strstr(r->srv, "\"id\":7,");
    assert_true(open && chg && h && open < chg && chg < h);
    assert_non_null(strstr(open, "\"text\":\"package a\\n\""));
}

static void crash_loop_ends_with_forensics(void **state)
{
    (void)state;
    struct rig *r = rig_new(2);
    session_up(r);
    uint64_t s = 1000000;
    assert_int_equal(lp_ka_lost(r->ka, 1 * s, 1, "lost"), 0);
    assert_int_equal(lp_ka_lost(r->ka, 2 * s, 1, "lost"), 0);
    clear(r);
    assert_int_equal(lp_ka_lost(r->ka, 3 * s, 1, "the connection to h:1 dropped"), -ELOOP);
    assert_non_null(strstr(r->events, "crash_loop"));
    assert_non_null(strstr(r->said, "the connection to h:1 dropped, the 3rd time within 300 s "
                                    "(restart_max is 2); the session ends."));
    assert_non_null(strstr(r->said, "lsptap:   textDocument/hover (id 2)"));
    assert_non_null(
        strstr(r->said, "lsptap:   s2c request \"window/workDoneProgress/create\" id 1"));
    /* Every request in flight gets its answer before the session ends. */
    assert_non_null(strstr(r->ed, "{\"jsonrpc\":\"2.0\",\"id\":2,\"error\":{\"code\":-32803,"
                                  "\"message\":\"lsptap: gopls was lost too often; the session "
                                  "ends\"}}"));
    assert_non_null(strstr(r->ed, "\"id\":3,\"error\":{\"code\":-32803,"));
    rig_free(r);
    /* Losses older than the window no longer count. */
    r = rig_new(2);
    session_up(r);
    assert_int_equal(lp_ka_lost(r->ka, 1 * s, 1, "lost"), 0);
    assert_int_equal(lp_ka_lost(r->ka, 2 * s, 1, "lost"), 0);
    assert_int_equal(lp_ka_lost(r->ka, 302 * s, 1, "lost"), 0);
    assert_int_equal(lp_ka_lost(r->ka, 303 * s, 1, "lost"), 0);
    assert_int_equal(lp_ka_lost(r->ka, 304 * s, 1, "lost"), -ELOOP);
    rig_free(r);
}

static void refused_cases_say_why_once(void **state)
{
    (void)state;
    /* No initialize seen. */
    struct rig *r = rig_new(5);
    assert_int_equal(lp_ka_lost(r->ka, 0, 1, "lost"), -ENOTRECOVERABLE);
    assert_non_null(strstr(r->said, "lsptap: keep-alive cannot keep this session: the server was "
                                    "lost before the handshake was over"));
    assert_non_null(strstr(r->events, "keepalive_off"));
    rig_free(r);
    /* initialize sent but the handshake not over: the editor still waits
     * for its initialize result, which only the lost server could give. */
    r = rig_new(5);
    ed_live(r, INIT);
    assert_int_equal(lp_ka_lost(r->ka, 0, 1, "lost"), -ENOTRECOVERABLE);
    assert_non_null(strstr(r->said, "before the handshake was over"));
    rig_free(r);
    /* The editor's stream cut inside a frame. */
    r = rig_new(5);
    session_up(r);
    assert_int_equal(lp_ka_lost(r->ka, 0, 0, "lost"), -ENOTRECOVERABLE);
    assert_non_null(strstr(r->said, "cut in the middle"));
    rig_free(r);
    /* The editor said shutdown: nothing to keep, nothing said. */
    r = rig_new(5);
    session_up(r);
    ed_live(r, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"shutdown\"}");
    assert_int_equal(lp_ka_lost(r->ka, 0, 1, "lost"), -ENOTRECOVERABLE);
    assert_string_equal(r->said, "");
    rig_free(r);
    /* The tracker's cap: said when it happens, once. */
    r = calloc(1, sizeof *r);
    r->st = li_state_new(1024);
    struct lp_ka_opts o = {5, 1, "reconnected", "gopls"};
    r->ka = lp_ka_new(r->st, &o, &cbs, r);
    ed_live(r, INIT);
    char big[3000] = "{\"jsonrpc\":\"2.0\",\"method\":\"textDocument/didOpen\",\"params\":{"
                     "\"textDocument\":{\"uri\":\"file:///w/b.go\",\"languageId\":\"go\","
                     "\"version\":1,\"text\":\"";
    size_t l = strlen(big);
    memset(big + l, 'x', 2000);
    strcpy(big + l + 2000, "\"}}}");
    ed_live(r, big);
    assert_non_null(strstr(r->said, "keep-alive is off for this session"));
    size_t said = strlen(r->said);
    ed_live(r, DIDOPEN);
    assert_int_equal(lp_ka_lost(r->ka, 0, 1, "lost"), -ENOTRECOVERABLE);
    assert_int_equal(strlen(r->said), said);
    rig_free(r);
}

static void shutdown_while_lost_is_answered(void **state)
{
    struct rig *r = *state;
    session_up(r);
    lose(r);
    ed_sends(r, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"shutdown\"}");
    assert_non_null(strstr(r->ed, "{\"jsonrpc\":\"2.0\",\"id\":9,\"result\":null}"));
    assert_int_equal(lp_ka_resume(r->ka, 0), -ECANCELED);
}

static void initialize_error_drops_the_new_server(void **state)
{
    struct rig *r = *state;
    session_up(r);
    lose_and_resume(r);
    srv_sends(r,
              "{\"jsonrpc\":\"2.0\",\"id\":\"lsptap-k1:initialize\",\"error\":{\"code\":1,"
              "\"message\":\"no\"}}",
              1);
    assert_int_equal(r->drops, 1);
    assert_non_null(strstr(r->dropped, "answered initialize with an error"));
    /* The relay treats it as a loss; the next resume uses a new id and
     * still has the editor's requests. */
    assert_int_equal(lp_ka_lost(r->ka, 2, 1, "lost"), 0);
    clear(r);
    assert_int_equal(lp_ka_resume(r->ka, 3), 0);
    assert_non_null(strstr(r->srv, "lsptap-k2:initialize"));
    srv_initialized(r, 2, 4);
    assert_non_null(strstr(r->srv, "\"id\":2,\"method\":\"textDocument/hover\""));
}

/* Lost again before the new server answered initialize: what the editor
 * sent meanwhile is not sent twice (the next replay has the edit, the
 * request comes from the tracker), what no replay covers is kept. */
static void lost_again_while_resuming(void **state)
{
    struct rig *r = *state;
    opened(r);
    lose_and_resume(r);
    ed_sends(r, CHANGE("2", "package b\\n"));
    ed_sends(r, HOVER("7"));
    ed_sends(r, "{\"jsonrpc\":\"2.0\",\"method\":\"$/setTrace\",\"params\":{\"value\":\"off\"}}");
    assert_int_equal(lp_ka_lost(r->ka, 1, 1, "lost again"), 0);
    clear(r);
    assert_int_equal(lp_ka_resume(r->ka, 2), 0);
    srv_initialized(r, 2, 3);
    assert_null(strstr(r->srv, "didChange"));
    const char *open = strstr(r->srv, "\"text\":\"package b\\n\"");
    const char *h = strstr(r->srv, "\"id\":7,");
    const char *tr = strstr(r->srv, "$/setTrace");
    assert_true(open && h && tr && open < h && h < tr);
    assert_null(strstr(h + 1, "\"id\":7,")); /* once */
}

/* Bytes arrive in any pieces: frames are rebuilt before they are judged,
 * and a frame's tail left from before the loss is not sent anywhere. */
static void pieces_and_a_cut_frame(void **state)
{
    struct rig *r = *state;
    session_up(r);
    lose(r);
    /* The end of a frame the lost server got the start of. */
    ed_bytes(r, "\"params\":{}}", 12);
    const char *save = frame("{\"jsonrpc\":\"2.0\",\"method\":\"textDocument/didSave\",\"params\":{"
                             "\"textDocument\":{\"uri\":\"file:///w/a.go\"}}}");
    size_t n = strlen(save);
    for (size_t i = 0; i < n; i += 7)
        ed_bytes(r, save + i, n - i < 7 ? n - i : 7);
    assert_int_equal(lp_ka_resume(r->ka, 0), 0);
    const char *res = frame("{\"jsonrpc\":\"2.0\",\"id\":\"lsptap-k1:initialize\",\"result\":{}}");
    for (size_t i = 0; i < strlen(res); i++)
        lp_ka_server(r->ka, res + i, 1, 1);
    assert_int_equal(lp_ka_phase(r->ka), LP_KA_LIVE);
    assert_memory_equal(r->srv, "Content-Length: ", 16); /* the tail went nowhere */
    const char *sv = strstr(r->srv, save);
    assert_non_null(sv);
    assert_null(strstr(r->ed, "lsptap-k1:initialize"));
    /* A server request cut in pieces is remapped whole (the lost server's
     * request 1 is still open at the editor). */
    clear(r);
    const char *q = frame("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"client/registerCapability\","
                          "\"params\":{}}");
    lp_ka_server(r->ka, q, 10, 2);
    assert_int_equal(r->ed_len, 0);
    lp_ka_server(r->ka, q + 10, strlen(q) - 10, 2);
    assert_non_null(strstr(r->ed, "\"id\":\"lsptap-k1:n:1\""));
}

/* Once nothing is left to drop or remap, the new server's bytes pass as
 * read from the next frame boundary, inside the chunk that got there: a
 * frame cut by the chunk's end is not held for its end. */
static void passthrough_from_a_boundary_inside_a_chunk(void **state)
{
    (void)state;
    struct rig *r = rig_new(5);
    ed_live(r, INIT);
    srv_live(r, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"capabilities\":{}}}");
    ed_live(r, INITIALIZED);
    ed_live(r, DIDOPEN);
    assert_int_equal(lp_ka_lost(r->ka, 0, 1, "lost"), 0);
    assert_int_equal(lp_ka_resume(r->ka, 0), 0);
    clear(r);
    char chunk[1024];
    const char *note = "{\"jsonrpc\":\"2.0\",\"method\":\"window/logMessage\",\"params\":{}}";
    int n = snprintf(chunk, sizeof chunk, "%s%s",
                     frame("{\"jsonrpc\":\"2.0\",\"id\":"
                           "\"lsptap-k1:initialize\",\"result\":{}}"),
                     frame(note));
    size_t cut = (size_t)n - 10; /* the notification's last 10 bytes come later */
    r->as_read = 1;
    lp_ka_server(r->ka, chunk, cut, 1);
    assert_int_equal(lp_ka_phase(r->ka), LP_KA_LIVE);
    assert_true(lp_ka_passthrough(r->ka));
    const char *nf = frame(note);
    size_t nlen = strlen(nf);
    /* The cut frame went on as read. */
    assert_non_null(memmem(r->ed, r->ed_len, nf, nlen - 10));
    assert_null(strstr(r->ed, nf));
    lp_ka_server(r->ka, chunk + cut, 10, 1);
    assert_non_null(strstr(r->ed, nf));
    rig_free(r);
}

/* Held messages are bounded (16 MiB): past it they are dropped, said once,
 * and what was held still follows the replay. */
static void held_messages_are_bounded(void **state)
{
    struct rig *r = *state;
    ed_live(r, INIT);
    ed_live(r, INITIALIZED);
    lose(r);
    size_t big = 1 << 20;
    char *body = malloc(big + 100), *f = malloc(big + 200);
    int n = snprintf(body, 100, "{\"jsonrpc\":\"2.0\",\"method\":\"x/custom\",\"params\":\"");
    memset(body + n, 'a', big);
    strcpy(body + n + big, "\"}");
    int fl = snprintf(f, big + 200, "Content-Length: %zu\r\n\r\n%s", strlen(body), body);
    for (int i = 0; i < 20; i++)
        ed_bytes(r, f, (size_t)fl);
    assert_non_null(strstr(r->said, "more than 16 MiB"));
    assert_null(strstr(strstr(r->said, "more than 16 MiB") + 1, "more than 16 MiB"));
    struct lp_ka_stats st;
    lp_ka_stats(r->ka, &st);
    assert_int_equal(st.held, 15);
    assert_int_equal(st.dropped, 5);
    free(body);
    free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(resume_replays_state_and_requests, rig_setup, rig_teardown),
        cmocka_unit_test_setup_teardown(lost_servers_requests_are_forgotten_and_ids_remapped,
                                        rig_setup, rig_teardown),
        /* The engine classifying the editor's frames itself (m NULL). */
        {"lost_servers_requests_are_forgotten_and_ids_remapped, m NULL",
         lost_servers_requests_are_forgotten_and_ids_remapped, rig_setup_no_msg, rig_teardown,
         NULL},
        {"resume_replays_state_and_requests, m NULL", resume_replays_state_and_requests,
         rig_setup_no_msg, rig_teardown, NULL},
        {"shutdown_while_lost_is_answered, m NULL", shutdown_while_lost_is_answered,
         rig_setup_no_msg, rig_teardown, NULL},
        /* The engine's frames for the editor as bytes (no to_editor_frame). */
        {"resume_replays_state_and_requests, bytes", resume_replays_state_and_requests,
         rig_setup_bytes, rig_teardown_bytes, NULL},
        {"shutdown_while_lost_is_answered, bytes", shutdown_while_lost_is_answered, rig_setup_bytes,
         rig_teardown_bytes, NULL},
        cmocka_unit_test_setup_teardown(unsafe_and_cancelled_requests_are_answered, rig_setup,
                                        rig_teardown),
        cmocka_unit_test_setup_teardown(editor_messages_while_resuming_follow_the_replay, rig_setup,
                                        rig_teardown),
        cmocka_unit_test(crash_loop_ends_with_forensics),
        cmocka_unit_test(refused_cases_say_why_once),
        cmocka_unit_test_setup_teardown(shutdown_while_lost_is_answered, rig_setup, rig_teardown),
        cmocka_unit_test_setup_teardown(initialize_error_drops_the_new_server, rig_setup,
                                        rig_teardown),
        cmocka_unit_test_setup_teardown(lost_again_while_resuming, rig_setup, rig_teardown),
        cmocka_unit_test_setup_teardown(pieces_and_a_cut_frame, rig_setup, rig_teardown),
        cmocka_unit_test_setup_teardown(held_messages_are_bounded, rig_setup, rig_teardown),
        cmocka_unit_test(passthrough_from_a_boundary_inside_a_chunk),
    };
    return cmocka_run_group_tests_name("keepalive", tests, NULL, NULL);
}
