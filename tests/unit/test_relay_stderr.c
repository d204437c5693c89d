/*
 * proxy/lp_relay_stderr (proxy/lp_relay_int.h): this process's stderr shared
 * by the server's stderr and lsptap's own lines, on a real libuv loop over a
 * socketpair. lsptap's line goes at once at a line boundary; while the
 * server is inside a line it waits and goes right after the server's next
 * newline, or on a line of its own when the server leaves its line
 * unfinished (but not while lsptap itself holds the server's stderr back);
 * lines are escaped; lp_relay_notify hands one line from another thread,
 * and none after detach.
 *
 * Nothing waits for time: each test runs the loop until what it expects
 * was written, and a deadline fails it instead of hanging.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "io/lp_pump.h"
#include "proxy/lp_relay_int.h"
#include "proxy/lp_relay_stderr.h"
#include "uvtest.h"

#define DEADLINE_MS 20000

struct fixture {
    struct lp_relay_stderr e;
    uv_pipe_t out;    /* our stderr: one end of the socketpair */
    uv_pipe_t src;    /* the server's stderr pipe: never read, the test writes for it */
    struct lp_pump p; /* the server's stderr pump, writing to out */
    int peer;         /* the other end: what reached "stderr" */
    int held, held_asked, written;
    char got[4096];
    size_t got_len;
};

static struct fixture fx;

static int held(void *ud)
{
    struct fixture *f = ud;
    f->held_asked++;
    return f->held;
}

static void written(void *ud)
{
    struct fixture *f = ud;
    f->written++;
}

static const struct lp_pump_cb no_cb = {0};

static int setup(void **state)
{
    (void)state;
    memset(&fx, 0, sizeof fx);
    int sv[2];
    assert_int_equal(uvtest_open(DEADLINE_MS), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    assert_int_equal(uv_pipe_init(&uvtest_loop, &fx.out, 0), 0);
    assert_int_equal(uv_pipe_open(&fx.out, sv[0]), 0);
    assert_int_equal(uv_pipe_init(&uvtest_loop, &fx.src, 0), 0);
    fx.peer = sv[1];
    assert_int_equal(fcntl(fx.peer, F_SETFL, O_NONBLOCK), 0);
    lp_pump_init(&fx.p, (uv_stream_t *)&fx.src, (uv_stream_t *)&fx.out, 1 << 20, 1 << 19, &no_cb,
                 NULL);
    fx.e = (struct lp_relay_stderr){
        .out = (uv_stream_t *)&fx.out, .held = held, .written = written, .ud = &fx};
    lp_relay_stderr_open(&fx.e, &uvtest_loop);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    lp_relay_stderr_detach();
    assert_int_equal(uvtest_close(), 0);
    lp_relay_stderr_close(&fx.e);
    close(fx.peer);
    return 0;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    lp_relay_stderr_say(&fx.e, fmt, ap);
    va_end(ap);
}

static void server(const char *text)
{
    lp_relay_stderr_server(&fx.e, &fx.p, text, strlen(text));
}

/* Reads what reached the other end so far (every completed write is in
 * the socket buffer already). */
static const char *got(void)
{
    for (;;) {
        ssize_t n = read(fx.peer, fx.got + fx.got_len, sizeof fx.got - 1 - fx.got_len);
        if (n <= 0) break;
        fx.got_len += (size_t)n;
    }
    fx.got[fx.got_len] = '\0';
    return fx.got;
}

/* Nothing of lsptap's waits and every write completed. */
#define ALL_OUT (!fx.e.wait_len && !fx.e.writes && !fx.p.writes)

static void test_line_at_a_line_boundary_goes_at_once(void **state)
{
    (void)state;
    server("server: done\n");
    say("lsptap: %s\n", "hello");
    assert_int_equal(fx.e.wait_len, 0);
    assert_int_equal(fx.e.writes, 1);
    WAIT_FOR(ALL_OUT);
    assert_string_equal(got(), "server: done\nlsptap: hello\n");
    assert_int_equal(fx.written, 1);
}

static void test_line_waits_for_the_servers_newline(void **state)
{
    (void)state;
    server("server: part");
    say("lsptap: hello\n");
    assert_int_equal(fx.e.writes, 0); /* waiting, not written */
    server(" one\nserver: two");
    WAIT_FOR(ALL_OUT);
    assert_string_equal(got(), "server: part one\nlsptap: hello\nserver: two");
}

static void test_unfinished_server_line_gets_a_newline_first(void **state)
{
    (void)state;
    server("server: no end");
    say("lsptap: hello\n");
    WAIT_FOR(ALL_OUT);
    assert_string_equal(got(), "server: no end\nlsptap: hello\n");
    /* The server's next bytes start a line of their own now. */
    assert_int_equal(fx.e.mid_line, 0);
}

/* The server's stderr ends inside a line (it exited mid-write): lsptap's
 * waiting line must not be glued to it. */
static void test_server_end_inside_a_line_ends_the_line(void **state)
{
    (void)state;
    server("server: unfinished");
    say("lsptap: reading gopls's stderr failed\n");
    lp_relay_stderr_server_end(&fx.e);
    WAIT_FOR(ALL_OUT);
    assert_string_equal(got(), "server: unfinished\nlsptap: reading gopls's stderr failed\n");
    say("lsptap: gopls exited\n"); /* a later line goes at once, on its own line */
    assert_int_equal(fx.e.wait_len, 0);
    WAIT_FOR(ALL_OUT);
    assert_string_equal(got(), "server: unfinished\nlsptap: reading gopls's stderr failed\n"
                               "lsptap: gopls exited\n");
}

static void test_line_keeps_waiting_while_lsptap_holds_the_servers_stderr(void **state)
{
    (void)state;
    fx.held = 1;
    server("server: held");
    say("lsptap: hello\n");
    WAIT_FOR(fx.held_asked >= 2);
    assert_true(fx.e.wait_len > 0);
    assert_int_equal(fx.e.writes, 0);
    fx.held = 0;
    WAIT_FOR(ALL_OUT);
    assert_string_equal(got(), "server: held\nlsptap: hello\n");
}

static void test_lines_are_escaped(void **state)
{
    (void)state;
    say("lsptap: gopls said \x1b[31mred\n");
    WAIT_FOR(ALL_OUT);
    assert_string_equal(got(), "lsptap: gopls said \\x1b[31mred\n");
}

static void test_notify_hands_one_line_until_detach(void **state)
{
    (void)state;
    assert_int_equal(lp_relay_notify("lsptap: from a thread\n"), 0);
    assert_int_equal(lp_relay_notify("lsptap: a second one\n"), -1); /* one waits already */
    WAIT_FOR(fx.written == 1 && ALL_OUT);
    assert_string_equal(got(), "lsptap: from a thread\n");
    lp_relay_stderr_detach();
    assert_int_equal(lp_relay_notify("lsptap: too late\n"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_line_at_a_line_boundary_goes_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_line_waits_for_the_servers_newline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_end_inside_a_line_ends_the_line, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_unfinished_server_line_gets_a_newline_first, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_line_keeps_waiting_while_lsptap_holds_the_servers_stderr, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lines_are_escaped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_notify_hands_one_line_until_detach, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
