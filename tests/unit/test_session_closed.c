/*
 * After lp_session_close the session is over (proxy/lp_serve.h): the
 * inspector is freed and s->li and s->log are NULL, the file's last line is
 * the summary, and feeding the closed session (li_session_feed,
 * li_session_feed_frame, li_session_eof, lp_session_event) stops on an
 * assert() that names the bug, in a child process here. Before, the feed
 * dereferenced the NULL inspector: SIGSEGV with no word of what was wrong.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "env/lp_config.h"
#include "proxy/lp_serve.h"
#include "tests/unit/fdread.h"
#include "tests/unit/fixture.h"
#include "tests/unit/tmpdir.h"

static const char frame[] = "Content-Length: 40\r\n\r\n"
                            "{\"jsonrpc\":\"2.0\",\"method\":\"initialized\"}";

static char dir[256];
static struct lp_session sess;
static char path[4096];

static int setup(void **state)
{
    (void)state;
    if (tmpdir_make(dir, sizeof dir, "session-closed")) return -1;
    static struct lp_config c;
    if (fixture_session_open(&sess, &c, dir, 1 << 20) || !sess.log) return -1;
    snprintf(path, sizeof path, "%s", lp_log_path(sess.log));
    li_session_feed(sess.li, LI_C2S, frame, sizeof frame - 1, lp_session_now(&sess));
    json_t *extra = json_pack("{s:s}", "ending", "test over");
    lp_session_close(&sess, "test", extra, "test over", 0);
    json_decref(extra);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return tmpdir_remove(dir);
}

static void test_close_clears_the_pointers_and_completes_the_file(void **state)
{
    (void)state;
    assert_null(sess.li);
    assert_null(sess.log);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[8192], last[8192] = "";
    int lines = 0;
    while (fgets(line, sizeof line, f)) {
        snprintf(last, sizeof last, "%s", line);
        lines++;
    }
    fclose(f);
    assert_int_equal(lines, 3); /* header, the message, the summary */
    assert_non_null(strstr(last, "test over"));
    assert_non_null(strstr(last, "\"dropped_lines\":0"));
}

enum after { FEED, FEED_FRAME, EOF_, EVENT };

/* Runs one use of the closed session in a child; returns its stderr and
 * how it ended. */
static int in_child(enum after what, char *err, size_t cap)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        fixture_child_default_signals(); /* a crash ends the child */
        dup2(p[1], 2);
        close(p[0]);
        close(p[1]);
        switch (what) {
        case FEED:
            li_session_feed(sess.li, LI_C2S, frame, sizeof frame - 1, 1);
            break;
        case FEED_FRAME:
            li_session_feed_frame(sess.li, LI_S2C, frame, sizeof frame - 1, 22, 1, NULL);
            break;
        case EOF_:
            li_session_eof(sess.li, LI_C2S, 1);
            break;
        case EVENT:
            lp_session_event(&sess, LI_EV_SPAWN, NULL);
            break;
        }
        _exit(0);
    }
    close(p[1]);
    fdread_until(p[0], err, cap, 0, NULL);
    close(p[0]);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    return st;
}

static void test_a_feed_after_close_stops_on_the_assert(void **state)
{
    (void)state;
    static const char *const names[] = {"li_session_feed", "li_session_feed_frame",
                                        "li_session_eof", "li_session_event"};
    for (enum after a = FEED; a <= EVENT; a++) {
        char err[4096] = "";
        int st = in_child(a, err, sizeof err);
        if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGABRT)
            fail_msg("%s after close: status 0x%x, not SIGABRT; stderr: %s", names[a], st, err);
        assert_non_null(strstr(err, names[a]));
        assert_non_null(strstr(err, "fed after close"));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_close_clears_the_pointers_and_completes_the_file),
        cmocka_unit_test(test_a_feed_after_close_stops_on_the_assert),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
