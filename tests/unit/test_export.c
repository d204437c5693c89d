/* li_export: gopls's -rpc.trace text and the reframed stream, byte for byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "inspect/li_export.h"

static char path[] = "/tmp/lsptap-test-export-XXXXXX";

static const char session[] =
    "{\"lsptap\":1,\"protocol\":\"lsp\",\"start\":\"2026-11-28T13:04:05.120Z\"}\n"
    "{\"t_us\":1000,\"dir\":\"c2s\",\"bytes\":60,\"kind\":\"request\",\"method\":\"shutdown\","
    "\"id\":"
    "\"s-1\",\"body\":{\"jsonrpc\":\"2.0\",\"id\":\"s-1\",\"method\":\"shutdown\"}}\n"
    "{\"t_us\":2000,\"event\":\"framing_error\",\"stream\":\"c2s\"}\n"
    "{\"t_us\":5400,\"dir\":\"s2c\",\"bytes\":40,\"kind\":\"response\",\"method\":\"shutdown\","
    "\"id\":"
    "\"s-1\",\"latency_us\":4400,\"body\":{\"jsonrpc\":\"2.0\",\"id\":\"s-1\",\"result\":null}}\n"
    "{\"t_us\":6000,\"dir\":\"s2c\",\"bytes\":40,\"kind\":\"request\",\"method\":\"workspace/"
    "configuration\",\"id\":7,\"body\":{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"workspace/"
    "configuration\",\"params\":{\"items\":[]}}}\n"
    "{\"t_us\":6500,\"dir\":\"c2s\",\"bytes\":40,\"kind\":\"response\",\"method\":\"workspace/"
    "configuration\",\"id\":7,\"latency_us\":500,\"body\":{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":"
    "null}}\n"
    "{\"t_us\":7000,\"dir\":\"c2s\",\"bytes\":9,\"kind\":\"invalid\",\"why\":\"x\",\"body\":\"{"
    "bad\","
    "\"body_error\":\"x\"}\n"
    "{\"t_us\":90000000,\"dir\":\"s2c\",\"bytes\":40,\"kind\":\"response\",\"method\":\"x\",\"id\":"
    "9,\"latency_us\":12345,\"error\":{},\"body\":{\"jsonrpc\":\"2.0\",\"id\":9,\"error\":{"
    "\"code\":"
    "-32800,\"message\":\"cancelled\"}}}\n";

static int setup(void **state)
{
    (void)state;
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, session, sizeof session - 1), (ssize_t)(sizeof session - 1));
    close(fd);
    setenv("TZ", "UTC", 1);
    tzset();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return unlink(path);
}

static char *run(int jsonrpc, int s2c, int *rc)
{
    char *buf = NULL, err[256];
    size_t n = 0;
    FILE *out = open_memstream(&buf, &n);
    FILE *warn = fopen("/dev/null", "w");
    *rc = jsonrpc ? li_export_jsonrpc(path, s2c, out, warn, err, sizeof err)
                  : li_export_inspector(path, out, warn, err, sizeof err);
    fclose(warn);
    fclose(out);
    return buf;
}

static void test_inspector_text(void **state)
{
    (void)state;
    int rc;
    char *text = run(0, 0, &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(
        text,
        "[Trace - 13:04:05.121 PM] Sending request 'shutdown - (s-1)'.\nParams: \r\n\r\n\r\n"
        "[Trace - 13:04:05.125 PM] Received response 'shutdown - (s-1)' in 4ms.\nResult: "
        "null\r\n\r\n\r\n"
        "[Trace - 13:04:05.126 PM] Received request 'workspace/configuration - (7)'.\nParams: "
        "{\"items\":[]}\r\n\r\n\r\n"
        "[Trace - 13:04:05.126 PM] Sending response 'workspace/configuration - (7)' in 0ms.\n"
        "Result: \r\n\r\n\r\n"
        "[Trace - 13:05:35.120 PM] Received response 'x - (9)' in 12ms. Request failed: "
        "cancelled (-32800).\r\n\r\n\r\n");
    free(text);
}

static void test_jsonrpc_frames(void **state)
{
    (void)state;
    int rc;
    char *c2s = run(1, 0, &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(c2s,
                        "Content-Length: 48\r\n\r\n"
                        "{\"jsonrpc\":\"2.0\",\"id\":\"s-1\",\"method\":\"shutdown\"}"
                        "Content-Length: 38\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":null}"
                        "Content-Length: 4\r\n\r\n{bad");
    free(c2s);
    char *s2c = run(1, 1, &rc);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(s2c, "Content-Length: 42\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":\"s-1\","
                                "\"result\":null}Content-Length: "));
    free(s2c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inspector_text),
        cmocka_unit_test(test_jsonrpc_frames),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
