/*
 * A burst of session files from one process within one second (a
 * `relay --listen` taking many short connections): every lp_log_open
 * succeeds and gets a file of its own. Names carry the second, the pid and
 * the role, so files of the same second need a suffix; 250 opens in a row
 * put at least 125 into one second (they take far less than a second).
 * Before the fix the 101st file of a second failed with EEXIST and that
 * session went unrecorded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "env/lp_config.h"
#include "proxy/lp_log.h"

#define OPENS 250

static int count_jsonl(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len > 6 && !strcmp(e->d_name + len - 6, ".jsonl")) n++;
    }
    closedir(d);
    return n;
}

static void test_burst_of_sessions(void **state)
{
    (void)state;
    char dir[] = "/tmp/lsptap-test-log-burst.XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct lp_config c;
    memset(&c, 0, sizeof c);
    snprintf(c.dir, sizeof c.dir, "%s", dir);
    c.max_total = UINT64_MAX;
    c.log_buffer = 1 << 16;
    char err[4600];
    for (int i = 0; i < OPENS; i++) {
        struct lp_log *l = NULL;
        int r = lp_log_open(&c, "relay", &l, err, sizeof err);
        if (r) fail_msg("open %d of %d: %s", i + 1, OPENS, err);
        lp_log_line(l, "{}\n", 3);
        assert_int_equal(lp_log_close(l), 0);
    }
    assert_int_equal(count_jsonl(dir), OPENS);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_burst_of_sessions)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
