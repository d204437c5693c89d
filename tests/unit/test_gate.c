/* lp_gate: message-at-a-time forwarding that never loses or changes a byte
 * it cannot parse; id rewriting; the id set used for remapping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inspect/li_msg.h"
#include "resume/lp_gate.h"

/* What the gate handed out: "F<bytes>" per frame, "R<bytes>" per raw run,
 * concatenated, plus the plain concatenation to compare with the input. */
struct seen {
    char log[8192];
    size_t loglen;
    char all[8192];
    size_t alllen;
    int frames;
};

static void add(struct seen *s, char tag, const char *d, size_t n)
{
    s->log[s->loglen++] = tag;
    memcpy(s->log + s->loglen, d, n);
    s->loglen += n;
    s->log[s->loglen++] = '|';
    memcpy(s->all + s->alllen, d, n);
    s->alllen += n;
}

static void on_frame(void *ud, const char *f, size_t n, size_t hdr)
{
    struct seen *s = ud;
    assert_true(hdr > 0 && hdr < n + 1);
    s->frames++;
    add(s, 'F', f, n);
}

static void on_raw(void *ud, const char *d, size_t n)
{
    add(ud, 'R', d, n);
}

static void feed_split(const char *in, size_t len, size_t split, struct seen *s)
{
    struct lp_gate g = {0};
    memset(s, 0, sizeof *s);
    lp_gate_feed(&g, in, split, on_frame, on_raw, s);
    lp_gate_feed(&g, in + split, len - split, on_frame, on_raw, s);
    lp_gate_flush(&g, on_raw, s);
    lp_gate_free(&g);
}

static void frames_come_out_whole_at_every_split(void **state)
{
    (void)state;
    const char in[] = "Content-Length: 2\r\n\r\n{}Content-Length: 7\r\n\r\n{\"a\":1}";
    size_t len = sizeof in - 1;
    for (size_t split = 0; split <= len; split++) {
        struct seen s;
        feed_split(in, len, split, &s);
        assert_int_equal(s.frames, 2);
        assert_int_equal(s.alllen, len);
        assert_memory_equal(s.all, in, len);
        assert_memory_equal(s.log, "FContent-Length: 2\r\n\r\n{}|F", 26);
    }
}

static void garbage_passes_through_unchanged(void **state)
{
    (void)state;
    const char in[] = "hello\r\nContent-Length: x\r\n\r\nzzContent-Length: 2\r\n\r\n{}tail";
    size_t len = sizeof in - 1;
    for (size_t split = 0; split <= len; split++) {
        struct seen s;
        feed_split(in, len, split, &s);
        /* Every byte comes out once, in order, framed or not. */
        assert_int_equal(s.alllen, len);
        assert_memory_equal(s.all, in, len);
        assert_int_equal(s.frames, 1);
    }
}

static void a_cut_short_frame_is_flushed_raw(void **state)
{
    (void)state;
    const char in[] = "Content-Length: 10\r\n\r\n{\"a\"";
    struct seen s;
    feed_split(in, sizeof in - 1, 5, &s);
    assert_int_equal(s.frames, 0);
    assert_int_equal(s.alllen, sizeof in - 1);
    assert_memory_equal(s.log, "R", 1);
}

struct count {
    size_t bytes;
    int frames;
};

static void count_frame(void *ud, const char *f, size_t n, size_t hdr)
{
    struct count *c = ud;
    (void)f;
    (void)hdr;
    c->frames++;
    c->bytes += n;
}

static void count_raw(void *ud, const char *d, size_t n)
{
    struct count *c = ud;
    (void)d;
    c->bytes += n;
}

static void an_oversized_frame_streams_through_raw(void **state)
{
    (void)state;
    size_t body = LP_GATE_MAX_FRAME + 10;
    char hdr[64];
    int h = snprintf(hdr, sizeof hdr, "Content-Length: %zu\r\n\r\n", body);
    size_t len = (size_t)h + body + 23;
    char *in = malloc(len);
    assert_non_null(in);
    memcpy(in, hdr, (size_t)h);
    memset(in + h, 'x', body);
    memcpy(in + h + body, "Content-Length: 2\r\n\r\n{}", 23);
    struct lp_gate g = {0};
    struct count c = {0};
    /* Fed in 1 MiB pieces, the gate never holds the big frame whole. */
    for (size_t off = 0; off < len; off += 1 << 20) {
        size_t n = len - off < (1 << 20) ? len - off : (1 << 20);
        lp_gate_feed(&g, in + off, n, count_frame, count_raw, &c);
        assert_true(g.buf.cap <= 4u << 20);
    }
    assert_int_equal(c.frames, 1); /* the small frame after it */
    assert_int_equal(c.bytes, len);
    lp_gate_free(&g);
    free(in);
}

/* Feeds `in` in pieces of `step` bytes (the last one shorter). */
static void feed_steps(const char *in, size_t len, size_t step, struct seen *s)
{
    struct lp_gate g = {0};
    memset(s, 0, sizeof *s);
    for (size_t off = 0; off < len; off += step)
        lp_gate_feed(&g, in + off, len - off < step ? len - off : step, on_frame, on_raw, s);
    lp_gate_flush(&g, on_raw, s);
    lp_gate_free(&g);
}

static void several_frames_and_a_partial_one_in_one_chunk(void **state)
{
    (void)state;
    const char in[] =
        "Content-Length: 2\r\n\r\n{}Content-Length: 2\r\n\r\n[]Content-Length: 5\r\n\r\n{\"a";
    struct lp_gate g = {0};
    struct seen s = {0};
    lp_gate_feed(&g, in, sizeof in - 1, on_frame, on_raw, &s);
    assert_int_equal(s.frames, 2);
    assert_memory_equal(s.log, "FContent-Length: 2\r\n\r\n{}|FContent-Length: 2\r\n\r\n[]|", 50);
    /* Only the frame the chunk ends inside is kept. */
    assert_int_equal(g.buf.len, 24);
    assert_false(lp_gate_idle(&g));
    lp_gate_feed(&g, "\"}Content-Length: 0\r\n\r\n", 23, on_frame, on_raw, &s);
    assert_int_equal(s.frames, 4);
    assert_true(lp_gate_idle(&g));
    assert_memory_equal(s.log + 50, "FContent-Length: 5\r\n\r\n{\"a\"}|FContent-Length: 0\r\n\r\n|",
                        48);
    lp_gate_free(&g);
}

static void a_frame_completed_across_many_chunks(void **state)
{
    (void)state;
    const char in[] = "Content-Length: 12\r\nContent-Type: application/vscode-jsonrpc; "
                      "charset=utf-8\r\n\r\n{\"id\":12345}Content-Length: 2\r\n\r\n{}";
    size_t len = sizeof in - 1;
    for (size_t step = 1; step <= len; step++) {
        struct seen s;
        feed_steps(in, len, step, &s);
        assert_int_equal(s.frames, 2);
        assert_int_equal(s.alllen, len);
        assert_memory_equal(s.all, in, len);
        assert_int_equal(s.log[0], 'F');
        assert_int_equal(s.log[len - 23 + 1], '|');
        assert_int_equal(s.loglen, len + 4); /* two "F...|" pieces, no raw run */
    }
}

static void raw_bytes_between_frames_come_out_alone(void **state)
{
    (void)state;
    const char in[] = "Content-Length: 2\r\n\r\n{}junk Content-Lx content-lengthContent-Length: "
                      "1\r\n\r\nxbad\r\n\r\nContent-Length: 2\r\n\r\n[]";
    size_t len = sizeof in - 1;
    struct seen whole;
    feed_steps(in, len, len, &whole);
    assert_int_equal(whole.frames, 3);
    const char want[] = "FContent-Length: 2\r\n\r\n{}|Rjunk Content-Lx content-length|"
                        "FContent-Length: 1\r\n\r\nx|Rbad\r\n\r\n|FContent-Length: 2\r\n\r\n[]|";
    assert_int_equal(whole.loglen, sizeof want - 1);
    assert_memory_equal(whole.log, want, sizeof want - 1);
    /* However the stream is cut, the same frames come out, and every byte
     * once, in order; raw runs may come in more pieces. */
    for (size_t step = 1; step < len; step++) {
        struct seen s;
        feed_steps(in, len, step, &s);
        assert_int_equal(s.frames, 3);
        assert_int_equal(s.alllen, len);
        assert_memory_equal(s.all, in, len);
    }
}

/* A callback asking lp_gate_idle: 1 only when nothing follows the piece. */
struct idle_seen {
    struct lp_gate *g;
    char idle[16];
    int n;
};

static void idle_frame(void *ud, const char *f, size_t n, size_t hdr)
{
    struct idle_seen *s = ud;
    (void)f, (void)n, (void)hdr;
    s->idle[s->n++] = lp_gate_idle(s->g) ? 'I' : 'b';
}

static void idle_raw(void *ud, const char *d, size_t n)
{
    struct idle_seen *s = ud;
    (void)d, (void)n;
    s->idle[s->n++] = lp_gate_idle(s->g) ? 'i' : 'r';
}

static void idle_from_a_callback_means_nothing_follows(void **state)
{
    (void)state;
    struct lp_gate g = {0};
    struct idle_seen s = {&g, {0}, 0};
    const char a[] = "Content-Length: 2\r\n\r\n{}xContent-Length: 2\r\n\r\n{}";
    lp_gate_feed(&g, a, sizeof a - 1, idle_frame, idle_raw, &s);
    const char b[] = "Content-Length: 2\r\n\r\n{}Content-Length: 2\r\n\r\n{";
    lp_gate_feed(&g, b, sizeof b - 1, idle_frame, idle_raw, &s);
    lp_gate_feed(&g, "}", 1, idle_frame, idle_raw, &s);
    assert_int_equal(s.n, 5);
    assert_memory_equal(s.idle, "brIbI", 5);
    lp_gate_free(&g);
}

/* lp_gate_stop: the feed returns at the next frame boundary, the rest of
 * the chunk left to the caller. */
struct stopper {
    struct lp_gate *g;
    int frames, stop_after;
};

static void stop_frame(void *ud, const char *f, size_t n, size_t hdr)
{
    struct stopper *s = ud;
    (void)f, (void)n, (void)hdr;
    if (++s->frames == s->stop_after) lp_gate_stop(s->g, 1);
}

static void stop_raw(void *ud, const char *d, size_t n)
{
    (void)ud, (void)d, (void)n;
    fail_msg("no raw bytes in this stream");
}

static void stop_returns_at_the_next_frame_boundary(void **state)
{
    (void)state;
    const char in[] =
        "Content-Length: 2\r\n\r\n{}Content-Length: 2\r\n\r\n[]Content-Length: 2\r\n\r\n{}";
    struct lp_gate g = {0};
    struct stopper s = {&g, 0, 1};
    /* Asked from the first frame's callback: the other two are the caller's. */
    assert_int_equal(lp_gate_feed(&g, in, sizeof in - 1, stop_frame, stop_raw, &s), 23);
    assert_int_equal(s.frames, 1);
    assert_true(lp_gate_idle(&g));
    /* Asked while a frame is held: it is completed first. */
    s = (struct stopper){&g, 0, 0};
    assert_int_equal(lp_gate_feed(&g, in, 30, stop_frame, stop_raw, &s), 30);
    lp_gate_stop(&g, 1);
    assert_int_equal(lp_gate_feed(&g, in + 30, sizeof in - 1 - 30, stop_frame, stop_raw, &s), 16);
    assert_int_equal(s.frames, 2);
    /* Asked with nothing held: nothing is taken. */
    lp_gate_stop(&g, 1);
    assert_int_equal(lp_gate_feed(&g, in, 23, stop_frame, stop_raw, &s), 0);
    /* Withdrawn: everything is taken again. */
    lp_gate_stop(&g, 0);
    assert_int_equal(lp_gate_feed(&g, in, sizeof in - 1, stop_frame, stop_raw, &s), sizeof in - 1);
    assert_int_equal(s.frames, 5);
    lp_gate_free(&g);
}

static void rewrite_id_replaces_only_the_top_level_id(void **state)
{
    (void)state;
    const char body[] = "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"workspace/configuration\","
                        "\"params\":{\"id\":7}}";
    struct li_msg m;
    assert_int_equal(li_classify(LI_LSP, body, sizeof body - 1, 0, &m), 0);
    size_t len;
    char *out = lp_rewrite_id(body, sizeof body - 1, m.id, "\"lsptap-2:n:7\"", 14, &len);
    assert_non_null(out);
    const char want[] = "{\"jsonrpc\":\"2.0\",\"id\":\"lsptap-2:n:7\",\"method\":\"workspace/"
                        "configuration\",\"params\":{\"id\":7}}";
    char hdr[64];
    int h = snprintf(hdr, sizeof hdr, "Content-Length: %zu\r\n\r\n", sizeof want - 1);
    assert_int_equal(len, (size_t)h + sizeof want - 1);
    assert_memory_equal(out, hdr, (size_t)h);
    assert_memory_equal(out + h, want, sizeof want - 1);
    free(out);
}

static void idset_keeps_exact_tokens(void **state)
{
    (void)state;
    struct lp_idset s = {0};
    assert_int_equal(lp_idset_add(&s, "1", 1, NULL, 0), 0);
    assert_int_equal(lp_idset_add(&s, "\"lsptap-2:n:1\"", 14, "1", 1), 0);
    assert_non_null(lp_idset_get(&s, "1", 1));
    assert_null(lp_idset_get(&s, "\"1\"", 3)); /* 1 and "1" are different ids */
    assert_string_equal(lp_idset_get(&s, "\"lsptap-2:n:1\"", 14), "1");
    assert_int_equal(lp_idset_del(&s, "1", 1), 1);
    assert_int_equal(lp_idset_del(&s, "1", 1), 0);
    assert_null(lp_idset_get(&s, "1", 1));
    for (int i = 0; i < 100; i++) {
        char k[16];
        int n = snprintf(k, sizeof k, "%d", i + 10);
        assert_int_equal(lp_idset_add(&s, k, (size_t)n, NULL, 0), 0);
    }
    assert_int_equal(s.n, 101);
    lp_idset_free(&s);
}

/* A frame's body after lp_idset_remap / lp_idset_restore: checks the header
 * block it was given and returns the body, NUL-terminated (caller frees). */
static char *body_of(const char *frame, size_t len, size_t hdr)
{
    char want[64];
    int h = snprintf(want, sizeof want, "Content-Length: %zu\r\n\r\n", len - hdr);
    assert_int_equal(hdr, (size_t)h);
    assert_memory_equal(frame, want, hdr);
    char *b = strndup(frame + hdr, len - hdr);
    assert_non_null(b);
    return b;
}

/* lp_idset_remap: a string id and a number get their own kind of new id;
 * a second request with an id already renamed and not yet answered (the
 * server sent id 7 twice) goes on as it is, and the editor's replies give
 * the server 7 both times: the first through the entry, the second as it
 * was sent. Renamed twice, the second reply would have reached the server
 * as "lsptap-2:n:7". */
static void remap_renames_once_per_outstanding_id(void **state)
{
    (void)state;
    struct lp_idset remap = {0};
    const char num[] = "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"workspace/configuration\"}";
    const char str[] = "{\"jsonrpc\":\"2.0\",\"id\":\"cfg-a\",\"method\":\"x\"}";
    struct li_msg m;
    size_t len, hdr;

    assert_int_equal(li_classify(LI_LSP, str, sizeof str - 1, 0, &m), 0);
    char *out = lp_idset_remap(&remap, "lsptap-k3:", str, sizeof str - 1, m.id, &len, &hdr);
    assert_non_null(out);
    char *b = body_of(out, len, hdr);
    assert_string_equal(b, "{\"jsonrpc\":\"2.0\",\"id\":\"lsptap-k3:s:cfg-a\",\"method\":\"x\"}");
    free(b), free(out);
    assert_string_equal(lp_idset_get(&remap, "\"lsptap-k3:s:cfg-a\"", 19), "\"cfg-a\"");

    assert_int_equal(li_classify(LI_LSP, num, sizeof num - 1, 0, &m), 0);
    out = lp_idset_remap(&remap, "lsptap-2:", num, sizeof num - 1, m.id, &len, &hdr);
    assert_non_null(out);
    b = body_of(out, len, hdr);
    assert_string_equal(
        b, "{\"jsonrpc\":\"2.0\",\"id\":\"lsptap-2:n:7\",\"method\":\"workspace/configuration\"}");
    free(b), free(out);
    assert_int_equal(remap.n, 2);

    /* The same id again before the editor answered: not renamed. */
    assert_null(lp_idset_remap(&remap, "lsptap-2:", num, sizeof num - 1, m.id, &len, &hdr));
    assert_int_equal(remap.n, 2);
    assert_string_equal(lp_idset_get(&remap, "\"lsptap-2:n:7\"", 14), "7");

    /* The editor answers what it saw: "lsptap-2:n:7", then 7. */
    const char r1[] = "{\"jsonrpc\":\"2.0\",\"id\":\"lsptap-2:n:7\",\"result\":[{}]}";
    const char r2[] = "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":[{}]}";
    assert_int_equal(li_classify(LI_LSP, r1, sizeof r1 - 1, 0, &m), 0);
    out = lp_idset_restore(&remap, r1, sizeof r1 - 1, m.id, &len);
    assert_non_null(out);
    b = body_of(out, len, len - (sizeof r2 - 1));
    assert_string_equal(b, r2);
    free(b), free(out);
    assert_int_equal(li_classify(LI_LSP, r2, sizeof r2 - 1, 0, &m), 0);
    assert_null(lp_idset_restore(&remap, r2, sizeof r2 - 1, m.id, &len)); /* goes on as it is */
    assert_int_equal(remap.n, 1);

    /* Too long for a new id: not renamed, nothing added. */
    char big[LP_IDSET_REMAP_MAX + 64];
    int n = snprintf(big, sizeof big, "{\"jsonrpc\":\"2.0\",\"id\":\"%0*d\",\"method\":\"x\"}",
                     LP_IDSET_REMAP_MAX, 0);
    assert_int_equal(li_classify(LI_LSP, big, (size_t)n, 0, &m), 0);
    assert_null(lp_idset_remap(&remap, "lsptap-2:", big, (size_t)n, m.id, &len, &hdr));
    assert_int_equal(remap.n, 1);
    lp_idset_free(&remap);
}

/* Route `body` (framed here) as an editor's frame after a replacement. */
static int route(struct lp_idset *gone, struct lp_idset *remap, const char *body, const char **send,
                 size_t *slen, char **fresh, char *frame, size_t cap)
{
    int hdr = snprintf(frame, cap, "Content-Length: %zu\r\n\r\n", strlen(body));
    int len = snprintf(frame + hdr, cap - (size_t)hdr, "%s", body) + hdr;
    struct li_msg m;
    assert_int_equal(li_classify(LI_LSP, frame + hdr, (size_t)(len - hdr), 0, &m), 0);
    return lp_idset_route_reply(gone, remap, frame, (size_t)len, (size_t)hdr, &m, send, slen,
                                fresh);
}

/* An editor's frame after a server was replaced: a reply to the gone
 * server's request is dropped (once), a reply to a renamed request gets
 * the server's id back, anything else goes on as it is, same bytes. */
static void a_reply_is_dropped_restored_or_passed(void **state)
{
    (void)state;
    struct lp_idset gone = {0}, remap = {0};
    assert_int_equal(lp_idset_add(&gone, "3", 1, NULL, 0), 0);
    assert_int_equal(lp_idset_add(&remap, "\"lsptap-2:n:7\"", 14, "7", 1), 0);
    char frame[256];
    const char *send;
    size_t slen;
    char *fresh;

    const char *r3 = "{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":null}";
    assert_int_equal(route(&gone, &remap, r3, &send, &slen, &fresh, frame, sizeof frame), 1);
    assert_int_equal(gone.n, 0);
    /* Its id is forgotten now: the same reply again goes on. */
    assert_int_equal(route(&gone, &remap, r3, &send, &slen, &fresh, frame, sizeof frame), 0);
    assert_ptr_equal(send, frame);
    assert_int_equal(slen, strlen(frame));
    assert_null(fresh);

    const char *rn = "{\"jsonrpc\":\"2.0\",\"id\":\"lsptap-2:n:7\",\"result\":[{}]}";
    assert_int_equal(route(&gone, &remap, rn, &send, &slen, &fresh, frame, sizeof frame), 0);
    assert_non_null(fresh);
    assert_ptr_equal(send, fresh);
    char *b = body_of(send, slen, slen - strlen("{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":[{}]}"));
    assert_string_equal(b, "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":[{}]}");
    free(b), free(fresh);
    assert_int_equal(remap.n, 0);

    const char *req = "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"shutdown\"}";
    assert_int_equal(lp_idset_add(&gone, "3", 1, NULL, 0), 0);
    assert_int_equal(route(&gone, &remap, req, &send, &slen, &fresh, frame, sizeof frame), 0);
    assert_ptr_equal(send, frame); /* a request with that id is no reply: it goes on */
    assert_null(fresh);
    assert_int_equal(gone.n, 1);
    lp_idset_free(&gone);
    lp_idset_free(&remap);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(frames_come_out_whole_at_every_split),
        cmocka_unit_test(garbage_passes_through_unchanged),
        cmocka_unit_test(a_cut_short_frame_is_flushed_raw),
        cmocka_unit_test(an_oversized_frame_streams_through_raw),
        cmocka_unit_test(several_frames_and_a_partial_one_in_one_chunk),
        cmocka_unit_test(a_frame_completed_across_many_chunks),
        cmocka_unit_test(raw_bytes_between_frames_come_out_alone),
        cmocka_unit_test(idle_from_a_callback_means_nothing_follows),
        cmocka_unit_test(stop_returns_at_the_next_frame_boundary),
        cmocka_unit_test(rewrite_id_replaces_only_the_top_level_id),
        cmocka_unit_test(idset_keeps_exact_tokens),
        cmocka_unit_test(remap_renames_once_per_outstanding_id),
        cmocka_unit_test(a_reply_is_dropped_restored_or_passed),
    };
    return cmocka_run_group_tests_name("gate", tests, NULL, NULL);
}
