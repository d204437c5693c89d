/* Helper commands: output captured, time limit enforced on the whole
 * process group, and the login shell's PATH read past whatever a profile
 * prints. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "env/lp_find.h"
#include "env/lp_run.h"
#include "tests/unit/tmpdir.h"

static char dir[256];

static int setup(void **state)
{
    (void)state;
    assert_int_equal(tmpdir_make(dir, sizeof dir, "run"), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return tmpdir_remove(dir);
}

static void script(const char *name, const char *body, char *path, size_t cap)
{
    snprintf(path, cap, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "#!/bin/sh\n%s\n", body);
    fclose(f);
    assert_int_equal(chmod(path, 0755), 0);
}

static long ms_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

static void stdout_stderr_and_status_are_captured(void **state)
{
    (void)state;
    char *argv[] = {"/bin/sh", "-c", "printf out; printf err >&2; exit 3", NULL};
    struct lp_run_result r;
    assert_int_equal(lp_run(argv, NULL, NULL, 5000, &r), 0);
    assert_string_equal(r.out, "out");
    assert_string_equal(r.err, "err");
    assert_int_equal(r.status, 3);
    assert_false(lp_run_ok(&r));
    lp_run_free(&r);
}

static void environment_and_directory_are_the_callers(void **state)
{
    (void)state;
    char *argv[] = {"/bin/sh", "-c", "printf '%s %s' \"$X\" \"$(pwd)\"", NULL};
    char *envp[] = {"X=1", "PATH=/usr/bin:/bin", NULL};
    struct lp_run_result r;
    assert_int_equal(lp_run(argv, envp, "/", 5000, &r), 0);
    assert_string_equal(r.out, "1 /");
    assert_true(lp_run_ok(&r));
    lp_run_free(&r);
}

static void a_missing_program_says_so(void **state)
{
    (void)state;
    char *argv[] = {"/nonexistent/go", "version", NULL};
    struct lp_run_result r;
    assert_int_equal(lp_run(argv, NULL, NULL, 5000, &r), 0);
    assert_int_equal(r.status, 127);
    assert_string_equal(r.err, "cannot run /nonexistent/go: No such file or directory");
    lp_run_free(&r);
}

static void the_time_limit_kills_the_whole_group(void **state)
{
    (void)state;
    /* The grandchild keeps the pipe open: only killing the group ends it. */
    char *argv[] = {"/bin/sh", "-c", "sleep 30 & sleep 30", NULL};
    struct lp_run_result r;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(lp_run(argv, NULL, NULL, 300, &r), 0);
    assert_true(ms_since(&t0) < 5000);
    assert_int_equal(r.timed_out, 1);
    assert_int_equal(r.signal, 9);
    assert_false(lp_run_ok(&r));
    lp_run_free(&r);
}

static void a_child_that_closes_its_output_and_runs_on_is_killed(void **state)
{
    (void)state;
    char *argv[] = {"/bin/sh", "-c", "exec >/dev/null 2>&1; sleep 30", NULL};
    struct lp_run_result r;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(lp_run(argv, NULL, NULL, 300, &r), 0);
    assert_true(ms_since(&t0) < 5000);
    assert_int_equal(r.timed_out, 1);
    lp_run_free(&r);
}

static void login_path_is_read_past_a_banner(void **state)
{
    (void)state;
    char sh[512], shell_var[600];
    script("chatty-sh",
           "echo 'Welcome!'; PATH=/opt/go/bin:/usr/bin; export PATH; shift; "
           "eval \"$2\"",
           sh, sizeof sh);
    snprintf(shell_var, sizeof shell_var, "SHELL=%s", sh);
    char *envp[] = {shell_var, "HOME=/", NULL};
    char err[256] = "";
    char *p = lp_find_login_path(envp, 3000, err, sizeof err);
    assert_non_null(p);
    assert_string_equal(p, "/opt/go/bin:/usr/bin");
    free(p);
}

static void a_login_shell_that_hangs_is_given_up(void **state)
{
    (void)state;
    char sh[512], shell_var[600];
    script("hanging-sh", "sleep 30", sh, sizeof sh);
    snprintf(shell_var, sizeof shell_var, "SHELL=%s", sh);
    char *envp[] = {shell_var, "HOME=/", NULL};
    char err[256] = "";
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_null(lp_find_login_path(envp, 300, err, sizeof err));
    assert_true(ms_since(&t0) < 5000);
    assert_non_null(strstr(err, "did not finish within 300 ms"));
}

static void the_users_shell_gives_a_path(void **state)
{
    (void)state;
    char *envp[] = {"SHELL=/bin/sh", NULL};
    char err[256] = "";
    char *p = lp_find_login_path(envp, 3000, err, sizeof err);
    assert_non_null(p);
    assert_non_null(strstr(p, "/bin"));
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stdout_stderr_and_status_are_captured),
        cmocka_unit_test(environment_and_directory_are_the_callers),
        cmocka_unit_test(a_missing_program_says_so),
        cmocka_unit_test(the_time_limit_kills_the_whole_group),
        cmocka_unit_test(a_child_that_closes_its_output_and_runs_on_is_killed),
        cmocka_unit_test(login_path_is_read_past_a_banner),
        cmocka_unit_test(a_login_shell_that_hangs_is_given_up),
        cmocka_unit_test(the_users_shell_gives_a_path),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
