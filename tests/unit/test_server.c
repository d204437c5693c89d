/*
 * io/lp_server on a real libuv loop with /bin/sh servers: the exit status,
 * a spawn that fails, the grace time then SIGTERM, SIGKILL for a server
 * that ignores SIGTERM, the group kill reaching a process the server
 * started, the drain after an exit while such a process holds stdout, and
 * the signals passed on.
 *
 * Each server writes "ready" on its stdout (a socketpair the test reads)
 * once its traps are set, so no signal can come before them. Nothing here
 * waits for time: each test runs the loop until a condition holds, and a
 * deadline timer fails it instead of hanging if it never comes. The grace
 * and kill times are short so that the tests are quick, but no assertion
 * depends on how long anything took.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "io/lp_server.h"
#include "uvtest.h"

#define DEADLINE_MS 20000 /* 9 tests stay under run-unit.sh's 120 s */
#define GRACE_MS 50
#define KILL_MS 200
#define DRAIN_MS 100

/* ---- one observed server ---- */

#define MAX_EVENTS 8

struct obs {
    struct lp_server srv;
    uv_pipe_t out; /* the server's stdout, the test's end */
    char got[256];
    size_t got_len;
    int out_eof;
    int out_eof_seen_at_drain; /* stdout had ended when LP_SERVER_DRAIN came */
    struct lp_server_event ev[MAX_EVENTS];
    int nev;
    int closed;
};

static struct obs o;

static void on_event(struct lp_server *s, const struct lp_server_event *ev)
{
    struct obs *b = s->data;
    assert_true(b->nev < MAX_EVENTS);
    b->ev[b->nev++] = *ev;
    if (ev->type == LP_SERVER_DRAIN) b->out_eof_seen_at_drain = b->out_eof;
}

static void out_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct obs *b = h->data;
    *buf = uv_buf_init(b->got + b->got_len, (unsigned)(sizeof b->got - 1 - b->got_len));
}

static void out_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    (void)buf;
    struct obs *b = s->data;
    if (n > 0) {
        b->got_len += (size_t)n;
        b->got[b->got_len] = '\0';
    } else if (n < 0) {
        b->out_eof = 1;
        uv_read_stop(s);
    }
}

static int ready(void)
{
    return strstr(o.got, "ready\n") != NULL;
}

/* Starts `sh -c script` with /dev/null as stdin, a socketpair as stdout
 * (read into o.got) and the test's stderr. Returns lp_server_spawn's. */
static int start(const char *file, const char *script)
{
    char *argv[] = {(char *)file, "-c", (char *)script, NULL};
    int in = open("/dev/null", O_RDONLY | O_CLOEXEC), out;
    assert_true(in >= 0);
    assert_int_equal(uv_pipe_init(&uvtest_loop, &o.out, 0), 0);
    o.out.data = &o;
    assert_int_equal(lp_server_stdio(&o.out, &out), 0);
    struct lp_server_opts so = {
        .child = {.file = file, .args = argv, .fd = {in, out, 2}},
        .grace_ms = GRACE_MS,
        .kill_ms = KILL_MS,
        .drain_ms = DRAIN_MS,
        .cb = on_event,
    };
    o.srv.data = &o;
    int rc = lp_server_spawn(&uvtest_loop, &o.srv, &so);
    close(in);
    close(out);
    assert_int_equal(uv_read_start((uv_stream_t *)&o.out, out_alloc, out_read), 0);
    return rc;
}

static int count(enum lp_server_ev type)
{
    int n = 0;
    for (int i = 0; i < o.nev; i++)
        n += o.ev[i].type == type;
    return n;
}

static const struct lp_server_event *nth(int i)
{
    assert_true(i < o.nev);
    return &o.ev[i];
}

static void on_closed(struct lp_server *s)
{
    ((struct obs *)s->data)->closed++;
}

static int setup(void **state)
{
    (void)state;
    memset(&o, 0, sizeof o);
    assert_int_equal(uvtest_open(DEADLINE_MS), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (o.srv.child.pid > 0) kill(-o.srv.child.pid, SIGKILL); /* whatever a failure left */
    lp_server_close(&o.srv, on_closed);
    int rc = uvtest_close();
    assert_int_equal(o.closed, 1);
    assert_int_equal(rc, 0);
    return 0;
}

/* ---- the tests ---- */

/* A server that exits: one EXIT with its pid and status, and nothing else. */
static void test_exit_status(void **state)
{
    (void)state;
    assert_int_equal(start("/bin/sh", "echo ready; exit 3"), 0);
    int pid = o.srv.child.pid;
    assert_true(pid > 0);
    WAIT_FOR(o.srv.exited && o.out_eof);
    assert_int_equal(o.nev, 1);
    assert_int_equal(nth(0)->type, LP_SERVER_EXIT);
    assert_int_equal(nth(0)->pid, pid);
    assert_int_equal(nth(0)->status, 3);
    assert_int_equal(nth(0)->signal, 0);
    assert_false(o.srv.running);
    assert_int_equal(o.srv.exit_status, 3);
    assert_int_equal(lp_server_signal(&o.srv, SIGTERM), 0); /* gone: nothing passed on */
}

/* A server that cannot be started: the exec's errno, no callback, and the
 * handles still close with the close callback. */
static void test_spawn_fails(void **state)
{
    (void)state;
    assert_int_equal(start("/nonexistent/lsptap-test-server", "true"), UV_ENOENT);
    assert_false(o.srv.running);
    lp_server_input_closed(&o.srv);
    lp_server_terminate(&o.srv);
    WAIT_FOR(o.out_eof); /* the server's end of stdout is closed: nobody holds it */
    assert_int_equal(o.nev, 0);
}

/* Input closed: after the grace time SIGTERM goes, and a server that obeys
 * it ends by it; no SIGKILL follows. */
static void test_grace_then_sigterm(void **state)
{
    (void)state;
    assert_int_equal(start("/bin/sh", "echo ready; while :; do sleep 1; done"), 0);
    WAIT_FOR(ready());
    lp_server_input_closed(&o.srv);
    WAIT_FOR(o.srv.exited);
    assert_int_equal(o.nev, 2);
    assert_int_equal(nth(0)->type, LP_SERVER_TERMINATE);
    assert_int_equal(nth(0)->signal, SIGTERM);
    assert_int_equal(nth(0)->why, LP_SERVER_GRACE);
    assert_int_equal(nth(0)->after_ms, GRACE_MS);
    assert_int_equal(nth(1)->type, LP_SERVER_EXIT);
    assert_int_equal(nth(1)->signal, SIGTERM);
    assert_int_equal(nth(1)->status, 0);
}

/* A server that ignores SIGTERM gets SIGKILL kill_ms later. */
static void test_ignored_sigterm_gets_sigkill(void **state)
{
    (void)state;
    assert_int_equal(start("/bin/sh", "trap '' TERM; echo ready; while :; do sleep 1; done"), 0);
    WAIT_FOR(ready());
    lp_server_input_closed(&o.srv);
    WAIT_FOR(o.srv.exited);
    assert_int_equal(o.nev, 3);
    assert_int_equal(nth(0)->signal, SIGTERM);
    assert_int_equal(nth(1)->type, LP_SERVER_TERMINATE);
    assert_int_equal(nth(1)->signal, SIGKILL);
    assert_int_equal(nth(1)->why, LP_SERVER_IGNORED);
    assert_int_equal(nth(1)->after_ms, KILL_MS);
    assert_int_equal(nth(2)->type, LP_SERVER_EXIT);
    assert_int_equal(nth(2)->signal, SIGKILL);
}

/* lp_server_terminate skips the grace time; the signal goes to the whole
 * process group, so a process the server started (which holds stdout) dies
 * with it and stdout ends. Sent to the server's pid alone, the sleep would
 * keep stdout open. */
static void test_group_kill_reaches_grandchild(void **state)
{
    (void)state;
    assert_int_equal(start("/bin/sh", "sleep 1000 & echo ready; wait"), 0);
    WAIT_FOR(ready());
    lp_server_terminate(&o.srv);
    WAIT_FOR(o.srv.exited && o.out_eof);
    assert_int_equal(count(LP_SERVER_TERMINATE), 1);
    assert_int_equal(nth(0)->why, LP_SERVER_ASKED);
    assert_int_equal(nth(0)->after_ms, 0);
    assert_int_equal(o.srv.term_signal, SIGTERM);
}

/* The server exits while a process it started holds its stdout: the drain
 * comes drain_ms later with stdout still open, and killing the group then
 * ends stdout. */
static void test_drain_when_grandchild_holds_stdout(void **state)
{
    (void)state;
    assert_int_equal(start("/bin/sh", "sleep 1000 & echo ready; exit 0"), 0);
    WAIT_FOR(o.srv.exited);
    assert_int_equal(o.nev, 1);
    assert_int_equal(nth(0)->status, 0);
    lp_server_drain(&o.srv);
    WAIT_FOR(count(LP_SERVER_DRAIN) == 1);
    assert_false(o.out_eof_seen_at_drain);
    assert_int_equal(lp_server_kill_group(&o.srv, SIGKILL), 0);
    WAIT_FOR(o.out_eof);
    assert_int_equal(o.nev, 2);
}

/* A signal lsptap received goes to the server's pid: here SIGINT, which
 * the server's trap turns into its exit status. */
static void test_signal_passed_on(void **state)
{
    (void)state;
    assert_int_equal(start("/bin/sh", "trap 'exit 7' INT; echo ready; while :; do sleep 1; done"),
                     0);
    WAIT_FOR(ready());
    assert_int_equal(lp_server_signal(&o.srv, SIGINT), 1);
    WAIT_FOR(o.srv.exited);
    assert_int_equal(o.nev, 1);
    assert_int_equal(nth(0)->status, 7);
}

/* A SIGTERM passed on to a server that ignores it is followed by SIGKILL
 * kill_ms later, as at the end of the grace time. */
static void test_passed_sigterm_escalates(void **state)
{
    (void)state;
    assert_int_equal(start("/bin/sh", "trap '' TERM; echo ready; while :; do sleep 1; done"), 0);
    WAIT_FOR(ready());
    assert_int_equal(lp_server_signal(&o.srv, SIGTERM), 1);
    WAIT_FOR(o.srv.exited);
    assert_int_equal(o.nev, 2);
    assert_int_equal(nth(0)->type, LP_SERVER_TERMINATE);
    assert_int_equal(nth(0)->signal, SIGKILL);
    assert_int_equal(nth(0)->why, LP_SERVER_IGNORED);
    assert_int_equal(nth(1)->signal, SIGKILL);
}

/* After lp_server_close no callback comes, even when the server ends. */
static void test_no_event_after_close(void **state)
{
    (void)state;
    assert_int_equal(start("/bin/sh", "echo ready; while :; do sleep 1; done"), 0);
    WAIT_FOR(ready());
    int pid = o.srv.child.pid;
    lp_server_input_closed(&o.srv);
    lp_server_close(&o.srv, on_closed);
    WAIT_FOR(o.closed == 1);
    kill(-pid, SIGKILL);
    WAIT_FOR(o.out_eof);
    assert_int_equal(o.nev, 0);
    o.closed = 0; /* teardown closes again: its callback must run once more */
    memset(&o.srv, 0, sizeof o.srv);
    o.srv.data = &o;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_exit_status, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spawn_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_grace_then_sigterm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ignored_sigterm_gets_sigkill, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_kill_reaches_grandchild, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drain_when_grandchild_holds_stdout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signal_passed_on, setup, teardown),
        cmocka_unit_test_setup_teardown(test_passed_sigterm_escalates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_event_after_close, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
