/*
 * relay --connect keep-alive (proxy/lp_netrelay_ka.c) frames each byte
 * once after a loss:
 *
 * - the editor's stream goes through keep-alive's one gate, whose frames
 *   reach the session (li_session_feed_frame) and the engine
 *   (lp_ka_editor_piece): no frame of it goes to li_session_feed, and no
 *   other gate frames it again;
 * - the new server's frames reach the session as frames (the engine's
 *   to_editor_frame), never through li_session_feed;
 * - each frame's body, either way, is classified once: by the relay for
 *   the editor's (the session and the engine take that li_msg), by the
 *   engine for the server's (the session takes the engine's);
 * - the session records the same message lines as when the same bytes are
 *   fed to li_session_feed, in pieces of every size, with a cut-short frame
 *   at the editor's end recorded too.
 *
 * The connection is built by hand (no dial): the editor's side is a
 * socketpair the test never reads from the relay's side of, the first
 * server a TCP handle that was never connected. li_session_feed,
 * lp_gate_feed and li_classify are wrapped (-Wl,--wrap) to see who frames
 * and classifies what.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "inspect/li_buf.h"
#include "inspect/li_session.h"
#include "proxy/lp_netrelay_int.h"
#include "resume/lp_gate.h"
#include "resume/lp_keepalive.h"
#include "tests/unit/wrap_session.h"

/* ---- who frames what ---- */

static int counting;       /* the wraps record only from the loss on */
static size_t fed_markers; /* li_session_feed calls whose bytes hold a message of the test's */
static size_t gate_calls;  /* lp_gate_feed calls, any gate */
static size_t gate_bytes;
static size_t classified_ed, classified_srv; /* li_classify calls on the test's bodies */

void __wrap_li_session_feed(struct li_session *s, enum li_dir dir, const char *buf, size_t len,
                            uint64_t t_us)
{
    if (counting && (memmem(buf, len, "test/ed", 7) || memmem(buf, len, "test/srv", 8)))
        fed_markers++;
    __real_li_session_feed(s, dir, buf, len, t_us);
}

size_t __real_lp_gate_feed(struct lp_gate *g, const char *data, size_t len,
                           lp_gate_frame_fn on_frame, lp_gate_raw_fn on_raw, void *ud);
size_t __wrap_lp_gate_feed(struct lp_gate *g, const char *data, size_t len,
                           lp_gate_frame_fn on_frame, lp_gate_raw_fn on_raw, void *ud);
size_t __wrap_lp_gate_feed(struct lp_gate *g, const char *data, size_t len,
                           lp_gate_frame_fn on_frame, lp_gate_raw_fn on_raw, void *ud)
{
    if (counting) {
        gate_calls++;
        gate_bytes += len;
    }
    return __real_lp_gate_feed(g, data, len, on_frame, on_raw, ud);
}

int __real_li_classify(enum li_proto proto, const char *body, size_t len, int truncated,
                       struct li_msg *m);
int __wrap_li_classify(enum li_proto proto, const char *body, size_t len, int truncated,
                       struct li_msg *m);
int __wrap_li_classify(enum li_proto proto, const char *body, size_t len, int truncated,
                       struct li_msg *m)
{
    if (counting && memmem(body, len, "\"test/ed\"", 9)) classified_ed++;
    if (counting && memmem(body, len, "\"test/srv\"", 10)) classified_srv++;
    return __real_li_classify(proto, body, len, truncated, m);
}

/* ---- streams ---- */

static void frame(struct li_buf *b, const char *body)
{
    char h[64];
    int n = snprintf(h, sizeof h, "Content-Length: %zu\r\n\r\n", strlen(body));
    li_buf_put(b, h, (size_t)n);
    li_buf_put(b, body, strlen(body));
}

/* Before the loss: the handshake, so the tracker can resume. */
static void handshake(struct li_buf *ed, struct li_buf *srv)
{
    frame(ed, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{"
              "\"processId\":null,\"rootUri\":null,\"capabilities\":{}}}");
    frame(srv, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"capabilities\":{}}}");
    frame(ed, "{\"jsonrpc\":\"2.0\",\"method\":\"initialized\",\"params\":{}}");
}

/* After the loss: the editor's notifications, n of them, with bytes that
 * do not frame in the middle when garbage is set. */
static void editor_after(struct li_buf *ed, int n, int garbage)
{
    for (int i = 0; i < n; i++) {
        char body[200];
        snprintf(
            body, sizeof body,
            "{\"jsonrpc\":\"2.0\",\"method\":\"test/ed\",\"params\":{\"n\":%d,\"pad\":\"%.*s\"}}",
            i, i * 7 % 90,
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
            "xxxxxxxxxxxxxxxxxxxxxxxxx");
        frame(ed, body);
        if (garbage && i == n / 2) li_buf_put(ed, "not a header\r\n", 14);
    }
}

/* ---- the session's lines, without their times ---- */

static void sink(void *ud, const char *line, size_t len)
{
    li_buf_put(ud, line, len);
}

/* The message lines of one direction ("dir":"c2s"), each with its "t_us"
 * member removed (the relay dates lines by its clock, the reference by
 * the test's), joined. Event and summary lines are left out: keep-alive's
 * events are not the reference's. */
static char *message_lines(const struct li_buf *b, const char *dir)
{
    char want[32];
    snprintf(want, sizeof want, "\"dir\":\"%s\"", dir);
    char *out = calloc(1, b->len + 1);
    assert_non_null(out);
    size_t o = 0;
    const char *p = b->p, *end = b->p + b->len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
        if (memmem(p, n, want, strlen(want)) && !memmem(p, n, "\"event\"", 7)) {
            for (size_t i = 0; i < n; i++) {
                if (!strncmp(p + i, "\"t_us\":", 7)) {
                    i += 7;
                    while (i < n && p[i] >= '0' && p[i] <= '9')
                        i++;
                    if (i < n && p[i] == ',') continue;
                    i--;
                    continue;
                }
                out[o++] = p[i];
            }
        }
        p += n;
    }
    out[o] = '\0';
    return out;
}

/* ---- the connection, by hand ---- */

struct rig {
    uv_loop_t loop;
    struct lp_nr nr;
    struct lp_nr_conn *c;
    int fds[2];
    struct li_buf rec;
};

static const struct lp_pump_cb no_cb = {NULL, NULL, NULL, NULL};

static void rig_check(struct lp_nr_conn *c)
{
    (void)c;
}

static void msg_cb(void *ud, enum li_dir dir, const struct li_msg *m, const char *body, size_t len,
                   int64_t latency_us)
{
    lp_ka_on_msg(ud, dir, m, body, len, latency_us);
}

static void rig_open(struct rig *r)
{
    memset(r, 0, sizeof *r);
    assert_int_equal(uv_loop_init(&r->loop), 0);
    char warn[256];
    lp_config_load(&r->nr.cfg, warn, sizeof warn);
    r->nr.loop = &r->loop;
    r->nr.proto = LI_LSP;
    r->nr.stdio_mode = 1;
    snprintf(r->nr.connect.text, sizeof r->nr.connect.text, "127.0.0.1:9");
    struct lp_nr_conn *c = calloc(1, sizeof *c);
    assert_non_null(c);
    r->c = c;
    c->nr = &r->nr;
    c->check = rig_check;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, r->fds), 0);
    assert_int_equal(uv_pipe_init(&r->loop, &c->ed.pipe, 0), 0);
    assert_int_equal(uv_pipe_open(&c->ed.pipe, r->fds[0]), 0);
    assert_int_equal(uv_tcp_init(&r->loop, &c->srv.tcp), 0);
    lp_pump_init(&c->c2s, &c->ed.s, &c->srv.s, r->nr.cfg.high_mark, r->nr.cfg.low_mark, &no_cb, c);
    lp_pump_init(&c->s2c, &c->srv.s, &c->ed.s, r->nr.cfg.high_mark, r->nr.cfg.low_mark, &no_cb, c);
    c->s2c.close_src = c->s2c.close_dst = c->c2s.close_src = c->c2s.close_dst = 0;
    c->ed.h.data = c;
    assert_int_equal(lp_nr_ka_open(c), 0);
    struct li_opts o = {LI_LSP, LI_REC_FULL, 0, 0, sink, &r->rec, msg_cb, lp_nr_ka_engine(c), NULL};
    c->sess.li = li_session_new(&o);
    assert_non_null(c->sess.li);
    c->sess.hr_start = uv_hrtime();
}

static void rig_close(struct rig *r)
{
    struct lp_nr_conn *c = r->c;
    lp_nr_ka_close(c);
    li_session_free(c->sess.li);
    lp_close_once(&c->ed.h);
    lp_close_once(&c->srv.h);
    uv_run(&r->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&r->loop), 0);
    close(r->fds[1]);
    free(c);
    li_buf_free(&r->rec);
}

/* The same bytes through li_session_feed alone, in one piece per side. */
static struct li_buf reference(const struct li_buf *ed0, const struct li_buf *srv0,
                               const struct li_buf *ed1, const struct li_buf *srv1)
{
    struct li_buf out = {0};
    struct li_opts o = {LI_LSP, LI_REC_FULL, 0, 0, sink, &out, NULL, NULL, NULL};
    struct li_session *s = li_session_new(&o);
    assert_non_null(s);
    __real_li_session_feed(s, LI_C2S, ed0->p, ed0->len, 1);
    __real_li_session_feed(s, LI_S2C, srv0->p, srv0->len, 2);
    __real_li_session_feed(s, LI_C2S, ed1->p, ed1->len, 3);
    if (srv1) __real_li_session_feed(s, LI_S2C, srv1->p, srv1->len, 4);
    li_session_eof(s, LI_C2S, 5);
    li_session_free(s);
    return out;
}

/* The handshake as the relay records it before the loss (on_bytes), then
 * the loss: keep-alive takes the session and the editor's stream. */
static void rig_lose(struct rig *r, const struct li_buf *ed0, const struct li_buf *srv0)
{
    struct lp_nr_conn *c = r->c;
    __real_li_session_feed(c->sess.li, LI_C2S, ed0->p, ed0->len, lp_nr_now(c));
    __real_li_session_feed(c->sess.li, LI_S2C, srv0->p, srv0->len, lp_nr_now(c));
    assert_int_equal(lp_nr_ka_server_ended(c, UV_EOF, "end of file"), 1);
    assert_non_null(c->c2s.filter);
}

/* The editor's stream after the loss, in pieces of every size from 1 to
 * 97 bytes, with garbage and a frame cut short at its end: the message
 * lines are the reference's, none of its frames went through
 * li_session_feed, and one gate framed it, once. */
static void editor_stream_framed_once(void **state)
{
    (void)state;
    for (size_t step = 1; step <= 97; step += step < 8 ? 1 : 13) {
        struct li_buf ed0 = {0}, srv0 = {0}, ed1 = {0};
        handshake(&ed0, &srv0);
        editor_after(&ed1, 20, 1);
        /* Cut short, with a marker: keep-alive's gate holds it, and the
         * editor's end hands it to li_session_feed (lp_nr_ka_editor_tail). */
        static const char cut[] =
            "Content-Length: 80\r\n\r\n{\"jsonrpc\":\"2.0\",\"method\":\"test/ed";
        li_buf_put(&ed1, cut, sizeof cut - 1);
        struct li_buf ref = reference(&ed0, &srv0, &ed1, NULL);

        struct rig r;
        rig_open(&r);
        rig_lose(&r, &ed0, &srv0);
        counting = 1;
        fed_markers = gate_calls = gate_bytes = classified_ed = 0;
        size_t pieces = 0;
        for (size_t off = 0; off < ed1.len; off += step, pieces++)
            r.c->c2s.filter(&r.c->c2s, ed1.p + off, ed1.len - off < step ? ed1.len - off : step);
        assert_int_equal(fed_markers, 0);                /* no frame went to li_session_feed */
        assert_int_equal(lp_nr_ka_editor_ended(r.c), 1); /* no server: keep-alive ends it */
        counting = 0;
        /* The count can count: the held, cut-short tail did go there, from
         * keep-alive's code through the wrap. */
        assert_int_equal(fed_markers, 1);
        assert_int_equal(gate_calls, pieces); /* keep-alive's gate only: framed once */
        assert_int_equal(gate_bytes, ed1.len);
        assert_int_equal(classified_ed, 20); /* once a frame: the relay's li_msg is passed on */

        char *want = message_lines(&ref, "c2s"), *got = message_lines(&r.rec, "c2s");
        assert_string_equal(got, want);
        assert_non_null(strstr(got, "\"test/ed\""));
        free(want);
        free(got);
        rig_close(&r);
        li_buf_free(&ed0);
        li_buf_free(&srv0);
        li_buf_free(&ed1);
        li_buf_free(&ref);
    }
}

/* A new server: its frames reach the session as the engine framed them
 * (to_editor_frame), never through li_session_feed, and are recorded as
 * the reference records the same bytes. */
static void new_server_frames_recorded_once(void **state)
{
    (void)state;
    struct li_buf ed0 = {0}, srv0 = {0}, ed1 = {0}, srv1 = {0};
    handshake(&ed0, &srv0);
    editor_after(&ed1, 3, 0);
    for (int i = 0; i < 10; i++) {
        char body[120];
        snprintf(body, sizeof body,
                 "{\"jsonrpc\":\"2.0\",\"method\":\"test/srv\",\"params\":{\"n\":%d}}", i);
        frame(&srv1, body);
    }
    struct rig r;
    rig_open(&r);
    rig_lose(&r, &ed0, &srv0);
    r.c->c2s.filter(&r.c->c2s, ed1.p, ed1.len);
    struct lp_ka *ka = lp_nr_ka_engine(r.c);
    assert_int_equal(lp_ka_resume(ka, lp_nr_now(r.c)), 0);
    /* The new server answers the replayed initialize (id as the engine
     * sent it: the first one's), then says its own. */
    struct li_buf init = {0};
    frame(&init, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"capabilities\":{}}}");
    lp_ka_server(ka, init.p, init.len, lp_nr_now(r.c));
    counting = 1;
    fed_markers = classified_srv = 0;
    for (size_t off = 0; off < srv1.len; off += 29)
        lp_ka_server(ka, srv1.p + off, srv1.len - off < 29 ? srv1.len - off : 29, lp_nr_now(r.c));
    counting = 0;
    assert_int_equal(fed_markers, 0);
    assert_int_equal(classified_srv, 10); /* the engine's, which the session takes */

    struct li_buf ref = reference(&ed0, &srv0, &ed1, &srv1);
    char *want = message_lines(&ref, "s2c"), *got = message_lines(&r.rec, "s2c");
    /* The reference has no lsptap messages: compare the server's own. */
    const char *from = strstr(got, "\"test/srv\"");
    assert_non_null(from);
    while (from > got && from[-1] != '\n')
        from--;
    const char *wfrom = strstr(want, "\"test/srv\"");
    assert_non_null(wfrom);
    while (wfrom > want && wfrom[-1] != '\n')
        wfrom--;
    assert_string_equal(from, wfrom);
    free(want);
    free(got);
    /* The count can count: bytes that do not frame reach the editor raw
     * (to_editor), which keep-alive records through the wrapped
     * li_session_feed. */
    counting = 1;
    static const char raw[] = "test/srv, not a frame\r\n\r\n";
    lp_ka_server(ka, raw, sizeof raw - 1, lp_nr_now(r.c));
    counting = 0;
    assert_int_equal(fed_markers, 1);
    rig_close(&r);
    li_buf_free(&ed0);
    li_buf_free(&srv0);
    li_buf_free(&ed1);
    li_buf_free(&srv1);
    li_buf_free(&init);
    li_buf_free(&ref);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(editor_stream_framed_once),
        cmocka_unit_test(new_server_frames_recorded_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
