/*
 * Lines larger than the session queue's cap (a 5 MiB message and its 5 MiB
 * reply with the default 4 MiB queue) are written to the session file even
 * when other lines wait in the queue: on an idle, fast disk nothing may be
 * dropped. Before
 * the fix such a line was taken only by an empty queue, so a big message
 * arriving right after any other line was lost.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env/lp_config.h"
#include "proxy/lp_log.h"

#define CAP (4u << 20)
#define BIG (5u << 20)

static void test_big_line_behind_small_ones(void **state)
{
    (void)state;
    char dir[] = "/tmp/lsptap-test-log-big.XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct lp_config c;
    memset(&c, 0, sizeof c);
    snprintf(c.dir, sizeof c.dir, "%s", dir);
    c.max_total = UINT64_MAX;
    c.log_buffer = CAP;
    c.max_inspect = 64u << 20;
    char err[4600];
    struct lp_log *l = NULL;
    if (lp_log_open(&c, "gopls", &l, err, sizeof err)) fail_msg("%s", err);
    char *big = malloc(BIG);
    assert_non_null(big);
    memset(big, 'x', BIG - 1);
    big[BIG - 1] = '\n';
    lp_log_line(l, "{\"n\":1}\n", 8);
    lp_log_line(l, big, BIG);
    lp_log_line(l, big, BIG);
    lp_log_line(l, "{\"n\":4}\n", 8);
    assert_int_equal(lp_log_dropped(l), 0);
    char path[4700];
    snprintf(path, sizeof path, "%s", lp_log_path(l));
    assert_int_equal(lp_log_close(l), 0);

    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    size_t lens[5] = {0};
    int lines = 0;
    while ((n = getline(&line, &cap, f)) > 0 && lines < 5)
        lens[lines++] = (size_t)n;
    fclose(f);
    free(line);
    assert_int_equal(lines, 4);
    assert_int_equal(lens[0], 8);
    assert_int_equal(lens[1], BIG);
    assert_int_equal(lens[2], BIG);
    assert_int_equal(lens[3], 8);
    free(big);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_big_line_behind_small_ones)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
