/*
 * After lp_log_eager (the editor said shutdown or exit), each line is in the
 * file when lp_log_line returns, together with what was queued before it,
 * in order: a SIGKILL right after cannot lose it. Before eager mode a line
 * waited for the writer thread's next wake-up (up to 50 ms).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "env/lp_config.h"
#include "proxy/lp_log.h"

static size_t read_back(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    ssize_t n = read(fd, buf, cap - 1);
    close(fd);
    assert_true(n >= 0);
    buf[n] = '\0';
    return (size_t)n;
}

static void test_lines_on_disk_at_once_after_eager(void **state)
{
    (void)state;
    char dir[] = "/tmp/lsptap-test-log-eager.XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct lp_config c;
    memset(&c, 0, sizeof c);
    snprintf(c.dir, sizeof c.dir, "%s", dir);
    c.max_total = UINT64_MAX;
    c.log_buffer = 1 << 20;
    char err[4600], buf[256];
    struct lp_log *l = NULL;
    if (lp_log_open(&c, "gopls", &l, err, sizeof err)) fail_msg("%s", err);
    lp_log_line(l, "{\"a\":1}\n", 8); /* queued, batched */
    lp_log_eager(l);                  /* writes the queue now */
    assert_string_equal((read_back(lp_log_path(l), buf, sizeof buf), buf), "{\"a\":1}\n");
    struct li_piece v[] = {{"{\"b\":", 5}, {"2}\n", 3}};
    lp_log_linev(l, v, 2);
    assert_string_equal((read_back(lp_log_path(l), buf, sizeof buf), buf),
                        "{\"a\":1}\n{\"b\":2}\n");
    lp_log_line(l, "{\"c\":3}\n", 8);
    assert_int_equal(read_back(lp_log_path(l), buf, sizeof buf), 24);
    assert_int_equal(lp_log_close(l), 0);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_lines_on_disk_at_once_after_eager)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
