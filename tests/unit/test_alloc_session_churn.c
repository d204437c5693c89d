/*
 * Fault injection: 10,000 short li_session lifecycles in a row (new,
 * header, one request and its reply each way, a framing error, an event,
 * eof, summary, free) leave no memory behind: every block allocated is
 * freed (counted by the wrapping allocator), and the C library's count of
 * bytes in use (mallinfo2) does not grow. The sanitizer build replaces
 * malloc, so there the first check stands alone (and LSan checks at exit).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <malloc.h>
#include <string.h>

#include "fault/fail_alloc.h"
#include "inspect/li_session.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

static const char c2s[] = "Content-Length: 58\r\n\r\n"
                          "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{}}"
                          "Content-Length: 2x\r\n\r\n";

static const char c2s_reply[] = "Content-Length: 37\r\n\r\n"
                                "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":[1]}";

static const char s2c[] =
    "Content-Length: 71\r\n\r\n"
    "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"workspace/configuration\",\"params\":{}}"
    "Content-Length: 65\r\n\r\n"
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"serverInfo\":{\"name\":\"gopls\"}}}";

static size_t lines;

static void sink(void *ud, const char *line, size_t len)
{
    (void)ud;
    (void)line;
    (void)len;
    lines++;
}

static void one_session(void)
{
    struct li_opts o = {LI_LSP, LI_REC_FULL, 0, 0, sink, NULL, NULL, NULL, NULL};
    struct li_session *s = li_session_new(&o);
    assert_non_null(s);
    json_t *fields = json_pack("{s:s,s:i}", "cwd", "/w", "pid", 42);
    li_session_write_header(s, fields);
    json_decref(fields);
    li_session_feed(s, LI_C2S, c2s, sizeof c2s - 1, 1);
    li_session_feed(s, LI_S2C, s2c, sizeof s2c - 1, 2);
    li_session_feed(s, LI_C2S, c2s_reply, sizeof c2s_reply - 1, 3);
    li_session_event(s, 3, LI_EV_EXIT, NULL);
    li_session_eof(s, LI_C2S, 4);
    li_session_eof(s, LI_S2C, 4);
    li_session_write_summary(s, 5, NULL);
    struct li_counts c;
    li_session_counts(s, &c);
    assert_int_equal(c.messages[LI_C2S], 2);
    assert_int_equal(c.messages[LI_S2C], 2);
    assert_int_equal(c.framing_errors[LI_C2S], 1);
    assert_int_equal(c.pending[LI_C2S] + c.pending[LI_S2C], 0);
    li_session_free(s);
}

static void test_ten_thousand_sessions(void **state)
{
    (void)state;
    for (int i = 0; i < 100; i++)
        one_session(); /* warm-up: the allocator's own pools */
    size_t live = fail_alloc_live();
    struct mallinfo2 before = mallinfo2();
    lines = 0;
    for (int i = 0; i < 10000; i++)
        one_session();
    struct mallinfo2 after = mallinfo2();
    assert_int_equal(lines, 10000 * 9);
    assert_int_equal(fail_alloc_live(), live);
#ifndef UNDER_ASAN
    /* A leak of even one byte per session would be 10,000 bytes. */
    assert_true(after.uordblks <= before.uordblks + 4096);
#else
    (void)before;
    (void)after;
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ten_thousand_sessions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
