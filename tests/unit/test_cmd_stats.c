/* cmd_stats (cli/cmd_stats.c, `lsptap stats`): its exit codes on a good
 * session, --json, a missing file, no file, an unknown option, two
 * sessions and one bad among them. What it prints is li_stats's
 * (test_stats.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli/cli_args.c"
#include "cli/cmd_stats.c"
#include "fixture.h"
#include "tmpdir.h"

static char fixture[1024];
static char tmpdir[256];

static int setup(void **state)
{
    (void)state;
    snprintf(fixture, sizeof fixture, "%s", fixture_session());
    return tmpdir_make(tmpdir, sizeof tmpdir, "test-cmd-stats");
}

static int teardown(void **state)
{
    (void)state;
    return tmpdir_remove(tmpdir);
}

/* Runs cmd_stats with stdout and stderr sent to /dev/null. */
static int run_stats(int argc, char **argv)
{
    fflush(stdout);
    fflush(stderr);
    int o = dup(1), e = dup(2);
    FILE *null = fopen("/dev/null", "w");
    dup2(fileno(null), 1);
    dup2(fileno(null), 2);
    int rc = cmd_stats(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(o, 1);
    dup2(e, 2);
    close(o);
    close(e);
    fclose(null);
    return rc;
}

static void test_cmd_stats_exit_codes(void **state)
{
    (void)state;
    char missing[512];
    snprintf(missing, sizeof missing, "%s/nope.jsonl", tmpdir);
    char *ok[] = {"stats", fixture, NULL};
    char *js[] = {"stats", fixture, "--json", NULL};
    char *bad[] = {"stats", missing, NULL};
    char *none[] = {"stats", NULL};
    char *opt[] = {"stats", "--frobnicate", fixture, NULL};
    char *two[] = {"stats", fixture, fixture, "--json", NULL};
    char *one_bad[] = {"stats", fixture, missing, NULL};
    assert_int_equal(run_stats(4, two), 0);
    assert_int_equal(run_stats(3, one_bad), 2);
    assert_int_equal(run_stats(2, ok), 0);
    assert_int_equal(run_stats(3, js), 0);
    assert_int_equal(run_stats(2, bad), 2);
    assert_int_equal(run_stats(1, none), 2);
    assert_int_equal(run_stats(3, opt), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cmd_stats_exit_codes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
