/* li_classify: every kind of LSP and DAP message, and what is not one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "inspect/li_msg.h"

static struct li_msg m;

static int lsp(const char *s)
{
    return li_classify(LI_LSP, s, strlen(s), 0, &m);
}

static int dap(const char *s)
{
    return li_classify(LI_DAP, s, strlen(s), 0, &m);
}

static void assert_span(struct li_span sp, const char *want)
{
    if (!want) {
        assert_null(sp.p);
        return;
    }
    assert_non_null(sp.p);
    char got[256];
    snprintf(got, sizeof got, "%.*s", (int)sp.len, sp.p);
    assert_string_equal(got, want);
}

static void test_lsp_request(void **state)
{
    (void)state;
    assert_int_equal(lsp("{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"textDocument/hover\","
                         "\"params\":{\"position\":{\"line\":1}}}"),
                     0);
    assert_int_equal(m.kind, LI_K_REQUEST);
    assert_span(m.id, "3");
    assert_span(m.method, "\"textDocument/hover\"");
    assert_span(m.params, "{\"position\":{\"line\":1}}");
    assert_int_equal(m.is_error, 0);
    assert_int_equal(m.json_ok, 1);
    assert_int_equal(lsp("{\"method\":\"workspace/configuration\",\"id\":\"s-1\"}"), 0);
    assert_int_equal(m.kind, LI_K_REQUEST);
    assert_span(m.id, "\"s-1\"");
}

static void test_lsp_notification(void **state)
{
    (void)state;
    assert_int_equal(lsp("{\"jsonrpc\":\"2.0\",\"method\":\"initialized\",\"params\":{}}"), 0);
    assert_int_equal(m.kind, LI_K_NOTIFICATION);
    assert_span(m.method, "\"initialized\"");
    assert_span(m.id, NULL);
}

static void test_lsp_response(void **state)
{
    (void)state;
    /* gopls writes the id after the result. */
    assert_int_equal(lsp("{\"jsonrpc\":\"2.0\",\"result\":{\"contents\":[]},\"id\":3}"), 0);
    assert_int_equal(m.kind, LI_K_RESPONSE);
    assert_span(m.id, "3");
    assert_int_equal(m.is_error, 0);
    assert_int_equal(lsp("{\"jsonrpc\":\"2.0\",\"id\":\"7\",\"result\":null}"), 0);
    assert_int_equal(m.kind, LI_K_RESPONSE);
    assert_span(m.id, "\"7\"");
}

static void test_lsp_error_response(void **state)
{
    (void)state;
    assert_int_equal(
        lsp("{\"jsonrpc\":\"2.0\",\"id\":4,\"error\":{\"code\":-32800,\"message\":\"cancelled\"}}"),
        0);
    assert_int_equal(m.kind, LI_K_RESPONSE);
    assert_int_equal(m.is_error, 1);
    assert_span(m.error, "{\"code\":-32800,\"message\":\"cancelled\"}");
    /* A null id is allowed on an error (the request could not be read). */
    assert_int_equal(lsp("{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700}}"), 0);
    assert_int_equal(m.kind, LI_K_RESPONSE);
    assert_span(m.id, "null");
}

static void assert_lsp_invalid(const char *s, size_t off, const char *why, int json_ok)
{
    assert_int_equal(lsp(s), -1);
    assert_int_equal(m.kind, LI_K_INVALID);
    assert_string_equal(m.why, why);
    assert_int_equal(m.err_off, off);
    assert_int_equal(m.json_ok, json_ok);
}

static void test_lsp_invalid(void **state)
{
    (void)state;
    assert_lsp_invalid("", 0, "empty body", 0);
    assert_lsp_invalid("{\"id\":1,", 8, "unexpected end of input", 0);
    assert_lsp_invalid("[1,2]", 0, "not a JSON object", 1);
    assert_lsp_invalid("{\"jsonrpc\":\"2.0\"}", 0, "no \"method\", \"result\" or \"error\"", 1);
    assert_lsp_invalid("{\"id\":1,\"method\":5}", 17, "\"method\" is not a string", 1);
    assert_lsp_invalid("{\"id\":[1],\"method\":\"m\"}", 6,
                       "request \"id\" is not a number or string", 1);
    assert_lsp_invalid("{\"id\":null,\"method\":\"m\"}", 6,
                       "request \"id\" is not a number or string", 1);
    assert_lsp_invalid("{\"id\":null,\"result\":1}", 6, "response \"id\" is not a number or string",
                       1);
    assert_lsp_invalid("{\"result\":1}", 0, "response without \"id\"", 1);
    assert_lsp_invalid("{\"id\":1,\"result\":1,\"error\":{}}", 27,
                       "response has both \"result\" and \"error\"", 1);
    assert_lsp_invalid("{\"id\":1,\"error\":\"bad\"}", 16, "\"error\" is not an object", 1);
}

static void test_lsp_truncated(void **state)
{
    (void)state;
    const char *s =
        "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"textDocument/didOpen\",\"params\":{\"te";
    assert_int_equal(li_classify(LI_LSP, s, strlen(s), 1, &m), 0);
    assert_int_equal(m.kind, LI_K_REQUEST);
    assert_span(m.id, "9");
    assert_span(m.method, "\"textDocument/didOpen\"");
    assert_span(m.params, NULL); /* cut: never handed out partially */
    assert_int_equal(m.json_ok, 0);
    /* gopls's result-first response: the kind is known, the id is not. */
    s = "{\"jsonrpc\":\"2.0\",\"result\":{\"items\":[1,2";
    assert_int_equal(li_classify(LI_LSP, s, strlen(s), 1, &m), 0);
    assert_int_equal(m.kind, LI_K_RESPONSE);
    assert_span(m.id, NULL);
    s = "{\"jsonrpc\":\"2.0\",\"par";
    assert_int_equal(li_classify(LI_LSP, s, strlen(s), 1, &m), -1);
    assert_string_equal(m.why, "message truncated before its kind is known");
}

static void test_dap_request(void **state)
{
    (void)state;
    assert_int_equal(dap("{\"seq\":1,\"type\":\"request\",\"command\":\"initialize\","
                         "\"arguments\":{\"adapterID\":\"go\"}}"),
                     0);
    assert_int_equal(m.kind, LI_K_REQUEST);
    assert_span(m.id, "1");
    assert_span(m.method, "\"initialize\"");
    assert_span(m.params, "{\"adapterID\":\"go\"}");
}

static void test_dap_response(void **state)
{
    (void)state;
    assert_int_equal(dap("{\"seq\":2,\"type\":\"response\",\"request_seq\":1,\"success\":true,"
                         "\"command\":\"initialize\",\"body\":{}}"),
                     0);
    assert_int_equal(m.kind, LI_K_RESPONSE);
    assert_span(m.id, "2");
    assert_span(m.request_seq, "1");
    assert_span(m.method, "\"initialize\"");
    assert_int_equal(m.is_error, 0);
    assert_int_equal(dap("{\"seq\":5,\"type\":\"response\",\"request_seq\":4,\"success\":false,"
                         "\"command\":\"launch\",\"message\":\"could not launch process\"}"),
                     0);
    assert_int_equal(m.is_error, 1);
    assert_span(m.error, "\"could not launch process\"");
}

static void test_dap_event(void **state)
{
    (void)state;
    assert_int_equal(dap("{\"seq\":9,\"type\":\"event\",\"event\":\"stopped\",\"body\":"
                         "{\"reason\":\"breakpoint\",\"threadId\":1}}"),
                     0);
    assert_int_equal(m.kind, LI_K_EVENT);
    assert_span(m.id, "9");
    assert_span(m.method, "\"stopped\"");
}

static void assert_dap_invalid(const char *s, const char *why)
{
    assert_int_equal(dap(s), -1);
    assert_int_equal(m.kind, LI_K_INVALID);
    assert_string_equal(m.why, why);
}

static void test_dap_invalid(void **state)
{
    (void)state;
    assert_dap_invalid("{\"seq\":1}", "no \"type\"");
    assert_dap_invalid("{\"type\":\"request\",\"command\":\"x\"}",
                       "\"seq\" is missing or not a number");
    assert_dap_invalid("{\"seq\":1,\"type\":\"reply\"}",
                       "\"type\" is not \"request\", \"response\" or \"event\"");
    assert_dap_invalid("{\"seq\":1,\"type\":\"request\"}",
                       "request \"command\" missing or not a string");
    assert_dap_invalid("{\"seq\":1,\"type\":\"response\",\"success\":true,\"command\":\"x\"}",
                       "response \"request_seq\" missing or not a number");
    assert_dap_invalid("{\"seq\":1,\"type\":\"response\",\"request_seq\":1,\"success\":1,"
                       "\"command\":\"x\"}",
                       "response \"success\" missing or not a boolean");
    assert_dap_invalid("{\"seq\":1,\"type\":\"event\"}", "event \"event\" missing or not a string");
    assert_dap_invalid("Content-Length: 5", "expected a value");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lsp_request),  cmocka_unit_test(test_lsp_notification),
        cmocka_unit_test(test_lsp_response), cmocka_unit_test(test_lsp_error_response),
        cmocka_unit_test(test_lsp_invalid),  cmocka_unit_test(test_lsp_truncated),
        cmocka_unit_test(test_dap_request),  cmocka_unit_test(test_dap_response),
        cmocka_unit_test(test_dap_event),    cmocka_unit_test(test_dap_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
