/*
 * supervised: the supervised path alone, without pipes or processes: a
 * stream of COUNT notifications of BODY bytes goes through an lp_gate in
 * 64 KiB pieces, as the handshake supervision (or the relay, for the
 * editor's side) frames a direction; each frame is classified, as the
 * supervision does to decide about it, and recorded with
 * li_session_feed_frame (full recording, a sink that counts and drops).
 * Run it under `valgrind --tool=callgrind` for instruction counts
 * (docs/performance.md, session 5).
 *
 *   supervised BODY COUNT [ka | ka-twice | ka-live | ka-srv]
 *
 * ka: `relay --connect`'s keep-alive after a loss as it was after session
 * 5: the same, and each frame classified once more, as the engine did with
 * the piece it got (lp_ka_editor_piece, before it took the relay's li_msg;
 * ka-live runs the engine as it is). ka-twice: that path as it was before, for
 * comparison: each piece fed to li_session_feed (the session frames it),
 * then framed again by a gate whose frames are classified (the engine's
 * lp_ka_editor, since removed).
 *
 * ka-live and ka-srv run the real engine (resume/lp_keepalive) live after
 * a loss while the editor still owes the lost server a reply, so nothing
 * passes through unframed: ka-live the editor's stream (the gate, one
 * classification, li_session_feed_frame, lp_ka_editor_piece with that
 * classification, the engine's to_server counting), ka-srv the new
 * server's (lp_ka_server in 64 KiB pieces, the engine's to_editor_frame
 * recording each frame with li_session_feed_frame). The session feeds the
 * engine's tracker (lp_ka_on_msg), as in the relays.
 *
 * Prints one line, `result mode=supervised body=... count=... line_bytes=...
 * to_server=...` (to_server: the bytes the engine sent on, ka-live).
 * Exit 0, or 2 for a usage error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inspect/li_session.h"
#include "inspect/li_state.h"
#include "resume/lp_gate.h"
#include "resume/lp_keepalive.h"

#define PIECE (64 * 1024)

struct run {
    struct li_session *s;
    unsigned long long line_bytes;
    int engine; /* classify each frame once more, as keep-alive's engine did */
    struct lp_ka *ka;
    unsigned long long to_server;
};

static void sink(void *ud, const char *line, size_t len)
{
    struct run *r = ud;
    (void)line;
    r->line_bytes += len;
}

static void sinkv(void *ud, const struct li_piece *v, int n)
{
    struct run *r = ud;
    for (int i = 0; i < n; i++)
        r->line_bytes += v[i].len;
}

static void on_frame(void *ud, const char *f, size_t n, size_t hdr)
{
    struct run *r = ud;
    struct li_msg m;
    li_classify(LI_LSP, f + hdr, n - hdr, 0, &m);
    li_session_feed_frame(r->s, LI_S2C, f, n, hdr, 1, &m);
    if (r->engine) li_classify(LI_LSP, f + hdr, n - hdr, 0, &m);
}

/* ka-twice: the engine's former own gate, after the session framed the piece. */
static void engine_frame(void *ud, const char *f, size_t n, size_t hdr)
{
    struct li_msg m;
    (void)ud;
    li_classify(LI_LSP, f + hdr, n - hdr, 0, &m);
}

static void engine_raw(void *ud, const char *d, size_t n)
{
    (void)ud, (void)d, (void)n;
}

/* ---- ka-live, ka-srv: the real engine ---- */

static void ka_ed_frame(void *ud, const char *f, size_t n, size_t hdr)
{
    struct run *r = ud;
    struct li_msg m;
    li_classify(LI_LSP, f + hdr, n - hdr, 0, &m);
    li_session_feed_frame(r->s, LI_C2S, f, n, hdr, 1, &m);
    lp_ka_editor_piece(r->ka, f, n, hdr, &m);
}

static void ka_ed_raw(void *ud, const char *d, size_t n)
{
    struct run *r = ud;
    li_session_feed(r->s, LI_C2S, d, n, 1);
    lp_ka_editor_piece(r->ka, d, n, 0, NULL);
}

static void ka_to_server(void *ud, const char *d, size_t n)
{
    struct run *r = ud;
    (void)d;
    r->to_server += n;
}

static void ka_to_editor(void *ud, const char *d, size_t n)
{
    struct run *r = ud;
    li_session_feed(r->s, LI_S2C, d, n, 1);
}

static void ka_to_editor_frame(void *ud, const char *f, size_t n, size_t hdr,
                               const struct li_msg *m)
{
    struct run *r = ud;
    li_session_feed_frame(r->s, LI_S2C, f, n, hdr, 1, m);
}

static void ka_event(void *ud, enum li_event ev, json_t *f)
{
    (void)ud, (void)ev;
    json_decref(f);
}

static void ka_say(void *ud, const char *line)
{
    (void)ud, (void)line;
}

static const struct lp_ka_cb ka_cb = {ka_to_server, ka_to_editor, ka_event,
                                      ka_say,       NULL,         ka_to_editor_frame};

/* One message as a frame, through the session (and so the tracker). */
static void ka_msg(struct run *r, enum li_dir dir, const char *body)
{
    char f[512];
    int n = snprintf(f, sizeof f, "Content-Length: %zu\r\n\r\n%s", strlen(body), body);
    li_session_feed(r->s, dir, f, (size_t)n, 1);
}

/* An initialized session with a server request the editor has not
 * answered, lost and resumed: the engine is live and not clear. */
static int ka_up(struct run *r)
{
    ka_msg(r, LI_C2S,
           "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{"
           "\"processId\":7,\"rootUri\":\"file:///w\",\"capabilities\":{}}}");
    ka_msg(r, LI_S2C, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"capabilities\":{}}}");
    ka_msg(r, LI_C2S, "{\"jsonrpc\":\"2.0\",\"method\":\"initialized\",\"params\":{}}");
    ka_msg(r, LI_S2C,
           "{\"jsonrpc\":\"2.0\",\"id\":99,\"method\":\"workspace/configuration\","
           "\"params\":{\"items\":[]}}");
    if (lp_ka_lost(r->ka, 1, 1, "bench") || lp_ka_resume(r->ka, 2)) return -1;
    static const char res[] = "{\"jsonrpc\":\"2.0\",\"id\":\"lsptap-k1:initialize\","
                              "\"result\":{\"capabilities\":{}}}";
    char f[256];
    int n = snprintf(f, sizeof f, "Content-Length: %zu\r\n\r\n%s", sizeof res - 1, res);
    lp_ka_server(r->ka, f, (size_t)n, 3);
    struct lp_ka_stats st;
    lp_ka_stats(r->ka, &st);
    return lp_ka_phase(r->ka) == LP_KA_LIVE && st.forgotten == 1 ? 0 : -1;
}

static void on_raw(void *ud, const char *d, size_t n)
{
    struct run *r = ud;
    li_session_feed(r->s, LI_S2C, d, n, 1);
}

int main(int argc, char **argv)
{
    const char *mode = argc == 4 ? argv[3] : "supervised";
    int live = !strcmp(mode, "ka-live"), srv = !strcmp(mode, "ka-srv");
    int ok_args = argc == 3 ||
                  (argc == 4 && (!strcmp(mode, "ka") || !strcmp(mode, "ka-twice") || live || srv));
    long body = ok_args ? atol(argv[1]) : 0, count = ok_args ? atol(argv[2]) : -1;
    if (body < 64 || count < 0) {
        fprintf(stderr,
                "usage: supervised BODY COUNT [ka | ka-twice | ka-live | ka-srv] (BODY >= 64)\n");
        return 2;
    }
    static const char head[] = "{\"jsonrpc\":\"2.0\",\"method\":\"x\",\"params\":{\"s\":\"";
    char hdr[64];
    int h = snprintf(hdr, sizeof hdr, "Content-Length: %ld\r\n\r\n", body);
    size_t frame = (size_t)h + (size_t)body, len = frame * (size_t)count;
    char *in = malloc(len ? len : 1);
    if (!in) return 1;
    for (long i = 0; i < count; i++) {
        char *f = in + (size_t)i * frame;
        memcpy(f, hdr, (size_t)h);
        memcpy(f + h, head, sizeof head - 1);
        memset(f + h + sizeof head - 1, 'a', (size_t)body - (sizeof head - 1) - 3);
        memcpy(f + frame - 3, "\"}}", 3);
    }
    struct run r = {.engine = !strcmp(mode, "ka")};
    struct li_state *st = NULL;
    if (live || srv) {
        struct lp_ka_opts ko = {5, 300 * 1000000ull, "restarted", "gopls"};
        st = li_state_new(0);
        r.ka = st ? lp_ka_new(st, &ko, &ka_cb, &r) : NULL;
        if (!r.ka) return 1;
    }
    struct li_opts o = {LI_LSP, LI_REC_FULL, 0, 0, sink, &r, r.ka ? lp_ka_on_msg : NULL,
                        r.ka,   sinkv};
    r.s = li_session_new(&o);
    if (!r.s) return 1;
    if (r.ka && ka_up(&r)) {
        fprintf(stderr, "supervised: keep-alive did not resume\n");
        return 1;
    }
    struct lp_gate g = {0};
    for (size_t off = 0; off < len; off += PIECE) {
        size_t n = len - off < PIECE ? len - off : PIECE;
        if (live) {
            lp_gate_feed(&g, in + off, n, ka_ed_frame, ka_ed_raw, &r);
        } else if (srv) {
            lp_ka_server(r.ka, in + off, n, 4);
        } else if (!strcmp(mode, "ka-twice")) {
            li_session_feed(r.s, LI_S2C, in + off, n, 1);
            lp_gate_feed(&g, in + off, n, engine_frame, engine_raw, &r);
        } else {
            lp_gate_feed(&g, in + off, n, on_frame, on_raw, &r);
        }
    }
    lp_gate_free(&g);
    li_session_free(r.s);
    if (r.ka) lp_ka_free(r.ka);
    li_state_free(st);
    free(in);
    printf("result mode=%s body=%ld count=%ld line_bytes=%llu to_server=%llu\n", mode, body, count,
           r.line_bytes, r.to_server);
    return 0;
}
