/*
 * Fault injection: a frame header whose Content-Length is 2^63 or 2^64
 * (and 2^64 - 1, 2^63 - 1) is rejected with LF_EBADLEN, pointing at the
 * value, under the default cap and under no cap at all (UINT64_MAX) for the
 * one that overflows; the stream keeps going, and the frame after it is
 * framed and classified as usual, by the framer and by an li_session.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "framing/lf.h"
#include "inspect/li_session.h"

static const char *const huge[] = {
    "9223372036854775808",  /* 2^63 */
    "18446744073709551616", /* 2^64 */
    "18446744073709551615", /* 2^64 - 1 */
    "9223372036854775807",  /* 2^63 - 1 */
    "99999999999999999999999999999999999999",
};

static const char next[] = "Content-Length: 40\r\n\r\n"
                           "{\"jsonrpc\":\"2.0\",\"method\":\"initialized\"}";

struct seen {
    int errors, first_error, headers, ends;
    uint64_t last_len;
};

static void on_header(void *ud, const struct lf_frame *f, uint64_t off)
{
    (void)off;
    struct seen *s = ud;
    s->headers++;
    s->last_len = f->content_length;
}

static void on_end(void *ud)
{
    ((struct seen *)ud)->ends++;
}

static void on_error(void *ud, int code, uint64_t off)
{
    (void)off;
    struct seen *s = ud;
    if (!s->errors++) s->first_error = code;
}

static const struct lf_stream_cb cb = {on_header, NULL, on_end, on_error, NULL};

static size_t build(char *buf, size_t cap, const char *len)
{
    int n = snprintf(buf, cap, "Content-Length: %s\r\n\r\n%s", len, next);
    assert_true(n > 0 && (size_t)n < cap);
    return (size_t)n;
}

static void test_parse_rejects(void **state)
{
    (void)state;
    char buf[256];
    for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
        size_t n = build(buf, sizeof buf, huge[i]);
        struct lf_frame f;
        size_t at = 0;
        assert_int_equal(lf_parse(buf, n, 0, 0, &f, &at), LF_EBADLEN);
        assert_int_equal(at, strlen("Content-Length: "));
    }
    /* Over the default cap but inside uint64: only the cap rejects 2^63;
     * 2^64 overflows whatever the cap. */
    struct lf_frame f;
    size_t n = build(buf, sizeof buf, "9223372036854775808");
    assert_int_equal(lf_parse(buf, n, 0, UINT64_MAX, &f, NULL), (int)(n - (sizeof next - 1)));
    assert_int_equal(f.content_length, (uint64_t)1 << 63);
    n = build(buf, sizeof buf, "18446744073709551616");
    assert_int_equal(lf_parse(buf, n, 0, UINT64_MAX, &f, NULL), LF_EBADLEN);
}

static void test_stream_keeps_going(void **state)
{
    (void)state;
    char buf[256];
    for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
        size_t n = build(buf, sizeof buf, huge[i]);
        for (size_t step = 1; step <= n; step += n - 1) {
            struct seen s = {0};
            struct lf_stream st;
            lf_stream_init(&st, 0, &cb, &s);
            for (size_t at = 0; at < n; at += step)
                lf_stream_feed(&st, buf + at, n - at < step ? n - at : step);
            assert_int_equal(lf_stream_finish(&st), 0);
            assert_int_equal(s.errors, 1);
            assert_int_equal(s.first_error, LF_EBADLEN);
            assert_int_equal(s.headers, 1);
            assert_int_equal(s.ends, 1);
            assert_int_equal(s.last_len, 40);
        }
    }
}

static void test_session_records_error_and_next(void **state)
{
    (void)state;
    char buf[256];
    size_t n = build(buf, sizeof buf, "9223372036854775808");
    struct li_opts o = {LI_LSP, LI_REC_OFF, 0, 0, NULL, NULL, NULL, NULL, NULL};
    struct li_session *s = li_session_new(&o);
    assert_non_null(s);
    li_session_feed(s, LI_C2S, buf, n, 1);
    li_session_eof(s, LI_C2S, 2);
    struct li_counts c;
    li_session_counts(s, &c);
    assert_int_equal(c.framing_errors[LI_C2S], 1);
    assert_int_equal(c.messages[LI_C2S], 1);
    assert_int_equal(c.invalid[LI_C2S], 0);
    assert_int_equal(c.bytes[LI_C2S], n);
    li_session_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_stream_keeps_going),
        cmocka_unit_test(test_session_records_error_and_next),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
