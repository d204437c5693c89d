/* li_session_feed_frame: a stream framed once by lp_gate (whole frames to
 * li_session_feed_frame, the bytes between them to li_session_feed) is
 * recorded line for line as the same bytes fed to li_session_feed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "inspect/li_buf.h"
#include "inspect/li_session.h"
#include "resume/lp_gate.h"

/* Every line the session wrote, joined. */
static void sink(void *ud, const char *line, size_t len)
{
    li_buf_put(ud, line, len);
}

static struct li_session *new_session(struct li_buf *out)
{
    /* A small max_inspect: a frame over it is recorded from its prefix. */
    struct li_opts o = {LI_LSP, LI_REC_FULL, 64, 0, sink, out, NULL, NULL, NULL};
    struct li_session *s = li_session_new(&o);
    assert_non_null(s);
    return s;
}

static void finish(struct li_session *s, struct li_buf *out)
{
    li_session_eof(s, LI_S2C, 9);
    li_session_write_summary(s, 9, NULL);
    li_session_free(s);
    assert_false(out->oom);
}

/* The stream fed to li_session_feed in pieces of `step` bytes. */
static void record_fed(const char *in, size_t len, size_t step, struct li_buf *out)
{
    struct li_session *s = new_session(out);
    for (size_t off = 0; off < len; off += step)
        li_session_feed(s, LI_S2C, in + off, len - off < step ? len - off : step, 7);
    finish(s, out);
}

struct framed {
    struct li_session *s;
    int classify;
    int frames;
};

static void on_frame(void *ud, const char *f, size_t n, size_t hdr)
{
    struct framed *fr = ud;
    struct li_msg m;
    const struct li_msg *mp = NULL;
    if (fr->classify && !li_classify(LI_LSP, f + hdr, n - hdr, 0, &m)) mp = &m;
    fr->frames++;
    li_session_feed_frame(fr->s, LI_S2C, f, n, hdr, 7, mp);
}

static void on_raw(void *ud, const char *d, size_t n)
{
    struct framed *fr = ud;
    li_session_feed(fr->s, LI_S2C, d, n, 7);
}

/* The stream through a gate in pieces of `step` bytes, as a supervisor
 * forwards it: frames recorded whole, raw runs as bytes. */
static int record_gated(const char *in, size_t len, size_t step, int classify, struct li_buf *out)
{
    struct framed fr = {new_session(out), classify, 0};
    struct lp_gate g = {0};
    for (size_t off = 0; off < len; off += step)
        lp_gate_feed(&g, in + off, len - off < step ? len - off : step, on_frame, on_raw, &fr);
    lp_gate_flush(&g, on_raw, &fr);
    lp_gate_free(&g);
    finish(fr.s, out);
    return fr.frames;
}

static void same_lines_both_ways(const char *in, size_t len, int want_frames)
{
    struct li_buf want = {0};
    record_fed(in, len, len, &want);
    for (size_t step = 1; step <= len; step++) {
        for (int classify = 0; classify < 2; classify++) {
            struct li_buf fed = {0}, got = {0};
            record_fed(in, len, step, &fed);
            int frames = record_gated(in, len, step, classify, &got);
            assert_int_equal(frames, want_frames);
            if (got.len != want.len || memcmp(got.p, want.p, want.len) || fed.len != want.len ||
                memcmp(fed.p, want.p, want.len))
                fail_msg("step %zu: the lines differ:\n%s\nwant:\n%s", step, got.p, want.p);
            li_buf_free(&fed);
            li_buf_free(&got);
        }
    }
    li_buf_free(&want);
}

#define REPLY "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"contents\":\"Content-Length: 9\"}}"
#define NOTE "{\"jsonrpc\":\"2.0\",\"method\":\"window/logMessage\",\"params\":{\"type\":3}}"
#define BIG                                                                                        \
    "{\"jsonrpc\":\"2.0\",\"method\":\"$/progress\",\"params\":{\"value\":\"0123456789abcdef\","   \
    "\"more\":\"0123456789abcdef\"}}"

static void frames_only(void **state)
{
    (void)state;
    char in[1024];
    int n = snprintf(in, sizeof in,
                     "Content-Length: %zu\r\n\r\n%sContent-Length: %zu\r\nContent-Type: "
                     "application/vscode-jsonrpc; charset=utf-8\r\n\r\n%sContent-Length: "
                     "%zu\r\n\r\n%sContent-Length: 0\r\n\r\n",
                     strlen(REPLY), REPLY, strlen(NOTE), NOTE, strlen(BIG), BIG);
    same_lines_both_ways(in, (size_t)n, 4);
}

/* Bytes that do not frame: garbage, a bad length, a partial
 * "Content-Length:" among them, a header that is not one. */
static void garbage_between_frames(void **state)
{
    (void)state;
    char in[1024];
    int n = snprintf(in, sizeof in,
                     "junk\r\nContent-Length: %zu\r\n\r\n%sContent-Length: -1\r\n\r\n{}content-le"
                     "ngth Content-Lx Content-Length: %zu\r\n\r\n%sX: y\r\n\r\nContent-Length: "
                     "%zu\r\n\r\n%s",
                     strlen(NOTE), NOTE, strlen(REPLY), REPLY, strlen(NOTE), NOTE);
    same_lines_both_ways(in, (size_t)n, 3);
}

/* The stream ends inside a frame, and after garbage. */
static void a_cut_short_end(void **state)
{
    (void)state;
    char in[512];
    int n =
        snprintf(in, sizeof in, "Content-Length: %zu\r\n\r\n%sContent-Length: 40\r\n\r\n{\"id\"",
                 strlen(NOTE), NOTE);
    same_lines_both_ways(in, (size_t)n, 1);
    n = snprintf(in, sizeof in, "Content-Length: %zu\r\n\r\n%sgarbage at the end", strlen(NOTE),
                 NOTE);
    same_lines_both_ways(in, (size_t)n, 1);
    n = snprintf(in, sizeof in, "Content-Length: %zu\r\n\r\n%sContent-Len", strlen(NOTE), NOTE);
    same_lines_both_ways(in, (size_t)n, 1);
}

/* A frame that does not start where the session's stream can start one
 * (the gate began inside a frame) is framed as li_session_feed frames it. */
static void a_gate_started_inside_a_frame(void **state)
{
    (void)state;
    char in[512];
    int n = snprintf(in, sizeof in, "Content-Length: %zu\r\n\r\n%sContent-Length: %zu\r\n\r\n%s",
                     strlen(REPLY), REPLY, strlen(NOTE), NOTE);
    /* The inner "Content-Length: 9" of REPLY's body looks like a frame to
     * a gate that starts there. */
    const char *inner = strstr(in + 20, "Content-Length: 9");
    assert_non_null(inner);
    struct li_buf want = {0}, got = {0};
    record_fed(in, (size_t)n, (size_t)n, &want);
    struct framed fr = {new_session(&got), 1, 0};
    li_session_feed(fr.s, LI_S2C, in, (size_t)(inner - in), 7);
    struct lp_gate g = {0};
    lp_gate_feed(&g, inner, (size_t)n - (size_t)(inner - in), on_frame, on_raw, &fr);
    lp_gate_flush(&g, on_raw, &fr);
    lp_gate_free(&g);
    finish(fr.s, &got);
    assert_int_equal(got.len, want.len);
    assert_memory_equal(got.p, want.p, want.len);
    li_buf_free(&want);
    li_buf_free(&got);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(frames_only),
        cmocka_unit_test(garbage_between_frames),
        cmocka_unit_test(a_cut_short_end),
        cmocka_unit_test(a_gate_started_inside_a_frame),
    };
    return cmocka_run_group_tests_name("session_frame", tests, NULL, NULL);
}
