/*
 * li_proc_stat (inspect/li_proc.h): /proc/PID/stat for a live process, one
 * that does not exist, a zombie, and texts a read could leave: a command
 * name holding ") ", a line cut short.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "inspect/li_proc.h"
#include "tests/unit/fixture.h"

/* A real line (cat's), fields 14, 15 and 22 changed to tell them apart. */
#define LINE_HEAD "12851 (a) b) S) R 12847 12847 6627 0 -1 4194304 100 0 0 0 "
#define LINE_TIMES "7 9 "
#define LINE_TO_22 "0 0 20 0 1 0 "
#define LINE_START "3389182"
#define LINE_TAIL " 3133440 360 18446744073709551615 0\n"
#define LINE LINE_HEAD LINE_TIMES LINE_TO_22 LINE_START LINE_TAIL

static void test_parse_fields_after_the_last_paren(void **state)
{
    (void)state;
    struct li_proc_stat st;
    assert_int_equal(li_proc_stat_parse(LINE, &st), 0);
    assert_int_equal(st.state, 'R');
    assert_int_equal(st.utime, 7);
    assert_int_equal(st.stime, 9);
    assert_int_equal(st.starttime, 3389182);
}

static void test_parse_short_or_malformed(void **state)
{
    (void)state;
    struct li_proc_stat st;
    /* Cut short anywhere before field 23 begins: never a smaller number. */
    const char *line = LINE;
    size_t whole = strlen(LINE_HEAD LINE_TIMES LINE_TO_22 LINE_START);
    char cut[sizeof LINE];
    for (size_t n = 0; n <= whole; n++) {
        memcpy(cut, line, n);
        cut[n] = '\0';
        assert_int_equal(li_proc_stat_parse(cut, &st), -EINVAL);
    }
    assert_int_equal(li_proc_stat_parse(LINE_HEAD LINE_TIMES LINE_TO_22 LINE_START "\n", &st), 0);
    assert_int_equal(li_proc_stat_parse("12851 cat R 1 2 3", &st), -EINVAL);
    assert_int_equal(li_proc_stat_parse(LINE_HEAD "x 9 " LINE_TO_22 LINE_START LINE_TAIL, &st),
                     -EINVAL);
    assert_int_equal(li_proc_stat_parse(LINE_HEAD "-7 9 " LINE_TO_22 LINE_START LINE_TAIL, &st),
                     -EINVAL);
    assert_int_equal(li_proc_stat_parse(LINE_HEAD "7  9 " LINE_TO_22 LINE_START LINE_TAIL, &st),
                     -EINVAL);
}

static void test_live_process(void **state)
{
    (void)state;
    struct li_proc_stat me, child;
    assert_int_equal(li_proc_stat(getpid(), &me), 0);
    assert_int_equal(me.state, 'R'); /* it is running: reading its own file */
    assert_true(me.starttime > 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (!pid) {
        pause();
        _exit(0);
    }
    assert_int_equal(li_proc_stat(pid, &child), 0);
    assert_true(child.starttime >= me.starttime);
    kill(pid, SIGKILL);
    assert_int_equal(waitpid(pid, NULL, 0), pid);
}

static void test_zombie_then_gone(void **state)
{
    (void)state;
    pid_t pid = fixture_zombie(); /* not waited for: polled until its state is 'Z' */
    struct li_proc_stat st;
    assert_int_equal(li_proc_stat(pid, &st), 0);
    assert_int_equal(st.state, 'Z');
    assert_int_equal(waitpid(pid, NULL, 0), pid);
    assert_int_equal(li_proc_stat(pid, &st), -ENOENT); /* reaped: no such process */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_fields_after_the_last_paren),
        cmocka_unit_test(test_parse_short_or_malformed),
        cmocka_unit_test(test_live_process),
        cmocka_unit_test(test_zombie_then_gone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
