/*
 * Fault injection: an li_session (the relay's inspection path: framing,
 * classification, pairing, session lines) whose nth allocation fails, for
 * every n the scenario makes, once and from then on. li_session_new returns
 * NULL (its error); otherwise the session carries on: the same frames,
 * bytes and framing errors are counted as with all the memory it wants,
 * and, once freed, nothing it allocated is left.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "fault/fail_alloc.h"
#include "inspect/li_session.h"

static const char c2s[] =
    "Content-Length: 58\r\n\r\n"
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{}}"
    "Content-Length: 55\r\n\r\n"
    "{\"jsonrpc\":\"2.0\",\"id\":\"b\",\"method\":\"hover\",\"params\":{}}"
    "Content-Length: 67\r\n\r\n"
    "{\"jsonrpc\":\"2.0\",\"method\":\"$/cancelRequest\",\"params\":{\"id\":\"b\"}}   "
    "Content-Length: 37\r\n\r\n"
    "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":[1]}"
    "Content-Length: x\r\n\r\n"
    "garbage"
    "Content-Length: 9\r\n\r\n"
    "not json!"
    "Content-Length: 100\r\n\r\n{\"jsonrpc\"";

static const char s2c[] =
    "Content-Length: 71\r\n\r\n"
    "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"workspace/configuration\",\"params\":{}}"
    "Content-Length: 65\r\n\r\n"
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"serverInfo\":{\"name\":\"gopls\"}}}"
    "Content-Length: 72\r\n\r\n"
    "{\"jsonrpc\":\"2.0\",\"id\":\"b\",\"error\":{\"code\":-32800,\"message\":\"cancelled\"}}";

struct run {
    int created;
    size_t lines;
    struct li_counts c;
};

static void sink(void *ud, const char *line, size_t len)
{
    struct run *r = ud;
    assert_true(len > 0 && line[len - 1] == '\n');
    r->lines++;
}

/* The scenario: every kind of line the session writes. */
static void scenario(struct run *r)
{
    memset(r, 0, sizeof *r);
    struct li_opts o = {LI_LSP, LI_REC_FULL, 0, 0, sink, r, NULL, NULL, NULL};
    struct li_session *s = li_session_new(&o);
    if (!s) return;
    r->created = 1;
    li_session_write_header(s, NULL);
    for (size_t i = 0; i < sizeof c2s - 1; i += 13) {
        size_t n = sizeof c2s - 1 - i < 13 ? sizeof c2s - 1 - i : 13;
        li_session_feed(s, LI_C2S, c2s + i, n, i);
        if (i < sizeof s2c - 1)
            li_session_feed(s, LI_S2C, s2c + i, sizeof s2c - 1 - i < 13 ? sizeof s2c - 1 - i : 13,
                            i);
    }
    li_session_event(s, 900, LI_EV_EXIT, NULL);
    li_session_eof(s, LI_C2S, 1000);
    li_session_eof(s, LI_S2C, 1000);
    li_session_write_summary(s, 1001, NULL);
    li_session_counts(s, &r->c);
    li_session_free(s);
}

static void check_failures(int persistent)
{
    struct run clean, r;
    fail_alloc_arm(0, 0);
    scenario(&clean);
    unsigned long total = fail_alloc_calls();
    assert_true(clean.created);
    assert_true(total >= 5);
    assert_int_equal(fail_alloc_live(), 0);

    for (unsigned long n = 1; n <= total; n++) {
        fail_alloc_arm(n, persistent);
        scenario(&r);
        fail_alloc_arm(0, 0);
        assert_int_equal(fail_alloc_live(), 0);
        if (n == 1) {
            assert_false(r.created); /* li_session_new's one allocation */
            continue;
        }
        assert_true(r.created);
        for (int d = 0; d < 2; d++) {
            assert_int_equal(r.c.messages[d], clean.c.messages[d]);
            assert_int_equal(r.c.bytes[d], clean.c.bytes[d]);
            assert_int_equal(r.c.framing_errors[d], clean.c.framing_errors[d]);
        }
        assert_true(r.lines <= clean.lines);
    }
}

FAIL_ALLOC_MAIN(check_failures, NULL, NULL)
