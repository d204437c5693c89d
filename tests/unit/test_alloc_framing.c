/*
 * Fault injection: the framing path allocates nothing. With every
 * allocation failing, lf_parse and lf_stream frame a stream of good frames,
 * bad headers and a frame cut short exactly as with memory to spare, and no
 * allocation is even attempted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "fault/fail_alloc.h"
#include "framing/lf.h"

static const char input[] = "Content-Length: 2\r\n\r\n{}"
                            "Content-Length: -1\r\n\r\n"
                            "Content-Length: 2\r\n"
                            "Content-Type: application/vscode-jsonrpc; charset=latin1\r\n\r\n[]"
                            "content-length: 3\r\nX-Extra: yes\r\n\r\n123"
                            "Content-Length: 10\r\n\r\n{\"a\"";

struct tally {
    int headers, ends, errors;
    uint64_t body;
};

static void on_header(void *ud, const struct lf_frame *f, uint64_t off)
{
    (void)f;
    (void)off;
    ((struct tally *)ud)->headers++;
}

static void on_body(void *ud, const char *data, size_t len)
{
    (void)data;
    ((struct tally *)ud)->body += len;
}

static void on_end(void *ud)
{
    ((struct tally *)ud)->ends++;
}

static void on_error(void *ud, int code, uint64_t off)
{
    (void)code;
    (void)off;
    ((struct tally *)ud)->errors++;
}

static const struct lf_stream_cb cb = {on_header, on_body, on_end, on_error, NULL};

static struct tally frame_all(void)
{
    struct tally t = {0};
    struct lf_stream s;
    lf_stream_init(&s, 0, &cb, &t);
    for (size_t i = 0; i < sizeof input - 1; i++)
        lf_stream_feed(&s, input + i, 1);
    lf_stream_finish(&s);
    struct lf_frame f;
    assert_int_equal(lf_parse(input, sizeof input - 1, 0, 0, &f, NULL), 21);
    return t;
}

static void test_framing_never_allocates(void **state)
{
    (void)state;
    fail_alloc_arm(0, 0);
    struct tally clean = frame_all();
    assert_int_equal(fail_alloc_calls(), 0);
    fail_alloc_arm(1, 1);
    struct tally t = frame_all();
    assert_int_equal(fail_alloc_calls(), 0);
    fail_alloc_arm(0, 0);
    assert_int_equal(clean.headers, 3);
    assert_int_equal(clean.ends, 2);
    assert_int_equal(clean.errors, 3); /* EBADLEN, EBADTYPE, cut short */
    assert_memory_equal(&t, &clean, sizeof t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_framing_never_allocates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
