/*
 * Fault injection: reading a session file (li_reader) whose nth
 * allocation fails, for every n the reading makes, once and from then on:
 * li_reader_open returns NULL with an error that names the file, a line
 * that cannot be loaded is reported as bad with its line number (or, for
 * the last line, as cut short), reading goes on, and, once closed, nothing
 * it allocated is left. (getline's own buffer is libc's, not counted.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fault/fail_alloc.h"
#include "inspect/li_reader.h"

static const char session[] =
    "{\"lsptap\":1,\"protocol\":\"lsp\",\"argv\":[\"gopls\"],\"env\":{\"HOME\":\"/root\"}}\n"
    "{\"t_us\":1,\"dir\":\"c2s\",\"bytes\":60,\"kind\":\"request\",\"method\":\"initialize\","
    "\"id\":1,\"body\":{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{}}}\n"
    "not json\n"
    "\n"
    "{\"t_us\":2,\"dir\":\"s2c\",\"bytes\":40,\"kind\":\"response\",\"id\":1,\"latency_us\":1}\n"
    "{\"t_us\":3,\"event\":\"summary\",\"messages\":{\"c2s\":1,\"s2c\":1}}\n"
    "{\"t_us\":4,\"event\":\"exi";

static char path[] = "/tmp/lsptap-test-alloc-reader-XXXXXX";

struct result {
    int opened, lines, bad;
    size_t truncated;
};

static void read_all(struct result *res)
{
    char err[512] = "";
    memset(res, 0, sizeof *res);
    struct li_reader *r = li_reader_open(path, err, sizeof err);
    if (!r) {
        assert_non_null(strstr(err, path));
        return;
    }
    res->opened = 1;
    for (;;) {
        json_t *v;
        size_t lineno = 0;
        err[0] = '\0';
        int rc = li_reader_next(r, &v, &lineno, err, sizeof err);
        if (rc == LI_READ_EOF) break;
        assert_true(rc == LI_READ_LINE || rc == LI_READ_BAD);
        assert_true(lineno >= 1 && lineno <= 7);
        if (rc == LI_READ_LINE) {
            res->lines++;
            json_decref(v);
        } else {
            char where[128];
            snprintf(where, sizeof where, "%s:%zu: ", path, lineno);
            assert_memory_equal(err, where, strlen(where));
            res->bad++;
        }
    }
    res->truncated = li_reader_truncated(r);
    li_reader_close(r);
}

static void check_failures(int persistent)
{
    struct result clean, res;
    fail_alloc_arm(0, 0);
    read_all(&clean);
    unsigned long total = fail_alloc_calls();
    assert_int_equal(clean.lines, 4);
    assert_int_equal(clean.bad, 1);
    assert_int_equal(clean.truncated, 7);
    assert_int_equal(fail_alloc_live(), 0);
    for (unsigned long n = 1; n <= total; n++) {
        fail_alloc_arm(n, persistent);
        read_all(&res);
        fail_alloc_arm(0, 0);
        assert_int_equal(fail_alloc_live(), 0);
        if (!res.opened) continue;
        /* A line lost to memory is reported, never silently skipped. */
        assert_true(res.lines <= clean.lines);
        assert_true(res.lines + res.bad + (res.truncated != 0) >=
                    clean.lines + clean.bad + (clean.truncated != 0));
    }
}

static int setup(void **state)
{
    (void)state;
    int fd = mkstemp(path);
    if (fd < 0) return -1;
    ssize_t n = write(fd, session, sizeof session - 1);
    close(fd);
    return n == (ssize_t)(sizeof session - 1) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    return 0;
}

FAIL_ALLOC_MAIN(check_failures, setup, teardown)
