/*
 * li_frames: whole bodies out of a stream fed in any pieces, the cap on a
 * body, and a framing error dropping the partial body.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "inspect/li_frames.h"

struct got {
    char bodies[4][64];
    int n, errors;
};

static void on_message(void *ud, const char *body, size_t len)
{
    struct got *g = ud;
    assert_true(g->n < 4 && len < sizeof g->bodies[0]);
    memcpy(g->bodies[g->n], body, len);
    g->bodies[g->n++][len] = '\0';
}

static void on_error(void *ud, int code, uint64_t off)
{
    (void)code;
    (void)off;
    ((struct got *)ud)->errors++;
}

static const char two[] = "Content-Length: 7\r\n\r\n{\"a\":1}Content-Length: 2\r\n\r\n{}";

static void test_byte_at_a_time(void **state)
{
    (void)state;
    struct got g = {0};
    struct li_frames f;
    li_frames_init(&f, 1024, on_message, on_error, &g);
    for (size_t i = 0; i < sizeof two - 1; i++)
        li_frames_feed(&f, two + i, 1);
    li_frames_finish(&f);
    li_frames_free(&f);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.bodies[0], "{\"a\":1}");
    assert_string_equal(g.bodies[1], "{}");
    assert_int_equal(g.errors, 0);
}

static void test_body_over_the_cap_is_passed_over(void **state)
{
    (void)state;
    struct got g = {0};
    struct li_frames f;
    li_frames_init(&f, 6, on_message, on_error, &g);
    li_frames_feed(&f, two, sizeof two - 1);
    li_frames_free(&f);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.bodies[0], "{}");
}

static void test_error_drops_the_partial_body(void **state)
{
    (void)state;
    static const char in[] = "Content-Length: 9\r\n\r\n{\"a\"";
    struct got g = {0};
    struct li_frames f;
    li_frames_init(&f, 1024, on_message, on_error, &g);
    li_frames_feed(&f, in, sizeof in - 1);
    li_frames_finish(&f); /* cut short: LF_PARTIAL */
    li_frames_feed(&f, two, sizeof two - 1);
    li_frames_free(&f);
    assert_int_equal(g.errors, 1);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.bodies[0], "{\"a\":1}");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_byte_at_a_time),
        cmocka_unit_test(test_body_over_the_cap_is_passed_over),
        cmocka_unit_test(test_error_drops_the_partial_body),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
