/* The library's assert()s are on in this build (the Makefile passes
 * -UNDEBUG): a call that breaks a stated precondition aborts instead of
 * reading or writing out of bounds. Each case runs in a child process. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "env/lp_run.h"
#include "inspect/li_escape.h"
#include "inspect/li_stats.h"

#include "fixture.h"

/* Runs fn in a child with stderr on /dev/null; the child's wait status. */
static int in_child(void (*fn)(void))
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        fixture_child_default_signals(); /* a crash ends the child */
        if (!freopen("/dev/null", "w", stderr)) _exit(3);
        fn();
        _exit(0);
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    return st;
}

static void assert_aborts(void (*fn)(void))
{
    int st = in_child(fn);
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGABRT);
}

static void percentile_over_100(void)
{
    const int64_t v[3] = {1, 2, 3};
    printf("%lld\n", (long long)li_percentile(v, 3, 101)); /* rank 4 of 3 */
}

static void percentile_unsorted(void)
{
    const int64_t v[3] = {3, 2, 1};
    printf("%lld\n", (long long)li_percentile(v, 3, 50));
}

static void escape_size_without_buffer(void)
{
    li_escape("abc", 3, 0, NULL, 8);
}

static void run_without_argv(void)
{
    struct lp_run_result r;
    lp_run(NULL, NULL, NULL, 1000, &r);
}

static void percentile_in_range(void)
{
    const int64_t v[3] = {1, 2, 3};
    if (li_percentile(v, 3, 100) != 3 || li_percentile(v, 0, 50) != -1) _exit(1);
}

static void test_percentile_rank_past_the_end_aborts(void **state)
{
    (void)state;
    assert_aborts(percentile_over_100);
}

static void test_percentile_of_unsorted_values_aborts(void **state)
{
    (void)state;
    assert_aborts(percentile_unsorted);
}

static void test_escape_with_a_size_but_no_buffer_aborts(void **state)
{
    (void)state;
    assert_aborts(escape_size_without_buffer);
}

static void test_run_without_argv_aborts(void **state)
{
    (void)state;
    assert_aborts(run_without_argv);
}

static void test_calls_within_the_contract_do_not_abort(void **state)
{
    (void)state;
    int st = in_child(percentile_in_range);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_percentile_rank_past_the_end_aborts),
        cmocka_unit_test(test_percentile_of_unsorted_values_aborts),
        cmocka_unit_test(test_escape_with_a_size_but_no_buffer_aborts),
        cmocka_unit_test(test_run_without_argv_aborts),
        cmocka_unit_test(test_calls_within_the_contract_do_not_abort),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
