/*
 * Fault injection: classifying a message allocates nothing. With every
 * allocation failing, li_classify gives each body (LSP and DAP, valid,
 * invalid, nested, cut short) the same answer as with memory to spare, and
 * no allocation is even attempted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "fault/fail_alloc.h"
#include "inspect/li_msg.h"

static const struct {
    enum li_proto proto;
    const char *body;
    enum li_kind kind;
} cases[] = {
    {LI_LSP, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"a\":[1,{}]}}",
     LI_K_REQUEST},
    {LI_LSP, "{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"error\":{\"code\":1,\"message\":\"m\"}}",
     LI_K_RESPONSE},
    {LI_LSP, "{\"jsonrpc\":\"2.0\",\"method\":\"$/cancelRequest\",\"params\":{\"id\":1}}",
     LI_K_NOTIFICATION},
    {LI_LSP, "{\"jsonrpc\":\"2.0\",\"id\":1e400,\"result\":\"\\u0000\"}", LI_K_RESPONSE},
    {LI_LSP, "[1,2", LI_K_INVALID},
    {LI_DAP,
     "{\"seq\":3,\"type\":\"response\",\"request_seq\":1,\"success\":false,"
     "\"command\":\"launch\",\"message\":\"no\"}",
     LI_K_RESPONSE},
    {LI_DAP, "{\"seq\":4,\"type\":\"event\",\"event\":\"output\",\"body\":{}}", LI_K_EVENT},
};

static void test_classify_never_allocates(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len = strlen(cases[i].body);
        for (int truncated = 0; truncated <= 1; truncated++) {
            struct li_msg clean, m;
            memset(&clean, 0, sizeof clean);
            memset(&m, 0, sizeof m);
            fail_alloc_arm(0, 0);
            int rc = li_classify(cases[i].proto, cases[i].body, len, truncated, &clean);
            fail_alloc_arm(1, 1);
            int rc2 = li_classify(cases[i].proto, cases[i].body, len, truncated, &m);
            unsigned long calls = fail_alloc_calls();
            fail_alloc_arm(0, 0);
            assert_int_equal(calls, 0);
            assert_int_equal(rc2, rc);
            assert_memory_equal(&m, &clean, sizeof m);
            if (!truncated) assert_int_equal(clean.kind, cases[i].kind);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classify_never_allocates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
