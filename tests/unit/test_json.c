/* li_json: the validating top-level scanner. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "inspect/li_json.h"
#include "tests/unit/guard_page.h"

static int scan(const char *s, struct li_json_result *r)
{
    return li_json_scan(s, strlen(s), 0, NULL, NULL, r);
}

static void assert_valid(const char *s)
{
    struct li_json_result r;
    if (scan(s, &r) != 0) fail_msg("expected valid: %s (got '%s' at %zu)", s, r.why, r.err_off);
    assert_int_equal(r.ok, 1);
}

static void assert_invalid_at(const char *s, size_t off, const char *why)
{
    struct li_json_result r;
    if (scan(s, &r) == 0) fail_msg("expected invalid: %s", s);
    assert_int_equal(r.ok, 0);
    if (r.err_off != off) fail_msg("%s: err_off %zu, expected %zu (%s)", s, r.err_off, off, r.why);
    assert_string_equal(r.why, why);
}

static void test_valid_values(void **state)
{
    (void)state;
    assert_valid("{}");
    assert_valid("[]");
    assert_valid(" {\"a\" : [1, 2.5, -0, -0.0e+1, 1E9, true, false, null, \"x\"]} \r\n");
    assert_valid("\"just a string\"");
    assert_valid("0");
    assert_valid("-12.5e-3");
    assert_valid("null");
    assert_valid("{\"a\":{\"b\":{\"c\":[[],[{}]]}}}");
    assert_valid("\"esc \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\uD83D\\uDE00\"");
    assert_valid("\"utf8 \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
    assert_valid("\"a long plain string that crosses several sixteen byte blocks!!\"");
}

static void test_invalid_values(void **state)
{
    (void)state;
    assert_invalid_at("", 0, "empty body");
    assert_invalid_at("  \r\n", 4, "no JSON value, only whitespace");
    assert_invalid_at("{\"a\" 1}", 5, "expected ':'");
    assert_invalid_at("{\"a\":1,}", 7, "expected a string key");
    assert_invalid_at("{a:1}", 1, "expected a string key");
    assert_invalid_at("[1 2]", 3, "expected ',' or ']'");
    assert_invalid_at("{\"a\":1 \"b\":2}", 7, "expected ',' or '}'");
    assert_invalid_at("[1,]", 3, "expected a value");
    assert_invalid_at("{\"a\":1}x", 7, "trailing bytes after the JSON value");
    assert_invalid_at("{} {}", 3, "trailing bytes after the JSON value");
    assert_invalid_at("{\"a\":", 5, "unexpected end of input");
    assert_invalid_at("\"abc", 4, "unexpected end of input");
    assert_invalid_at("[tru]", 1, "invalid literal");
    assert_invalid_at("[nul", 4, "unexpected end of input");
    assert_invalid_at("01", 1, "invalid number: leading zero");
    assert_invalid_at("-", 1, "unexpected end of input");
    assert_invalid_at("-a", 1, "invalid number");
    assert_invalid_at("[1.]", 3, "invalid number: digit expected after '.'");
    assert_invalid_at("[1e]", 3, "invalid number: digit expected in exponent");
    assert_invalid_at("[+1]", 1, "expected a value");
    assert_invalid_at("[.5]", 1, "expected a value");
    assert_invalid_at("\"a\\x\"", 2, "invalid escape in string");
    assert_invalid_at("\"\\u12G4\"", 5, "invalid \\u escape");
    assert_invalid_at("\"ab\\uDC00\"", 3, "unpaired surrogate in \\u escape");
    assert_invalid_at("\"ab\\uD800x\"", 3, "unpaired surrogate in \\u escape");
    assert_invalid_at("\"ab\\uD800\\u0041\"", 3, "unpaired surrogate in \\u escape");
    assert_invalid_at("\"tab\there\"", 4, "control character in string");
    assert_invalid_at("\"nl\nhere\"", 3, "control character in string");
}

static void test_invalid_utf8(void **state)
{
    (void)state;
    assert_invalid_at("\"a\x80\"", 2, "invalid UTF-8 in string");
    assert_invalid_at("\"a\xc0\xaf\"", 2, "invalid UTF-8 in string");         /* overlong '/' */
    assert_invalid_at("\"a\xe0\x80\xaf\"", 2, "invalid UTF-8 in string");     /* overlong */
    assert_invalid_at("\"a\xed\xa0\x80\"", 2, "invalid UTF-8 in string");     /* surrogate */
    assert_invalid_at("\"a\xf4\x90\x80\x80\"", 2, "invalid UTF-8 in string"); /* > U+10FFFF */
    assert_invalid_at("\"a\xff\"", 2, "invalid UTF-8 in string");
    assert_invalid_at("\"a\xc3\"", 2, "invalid UTF-8 in string");
    assert_invalid_at("\"a\xc3", 3, "unexpected end of input");
    /* Found by the vector path too: the bad byte sits after a 16-byte run. */
    assert_invalid_at("\"0123456789abcdefghij\xfe\"", 21, "invalid UTF-8 in string");
    assert_int_equal(li_utf8_valid_prefix("ab\xc3\xa9z\xff", 6), 5);
}

/* Integer arrays take a fast path; it must judge exactly as the slow one. */
static void test_integer_arrays(void **state)
{
    (void)state;
    struct li_json_result r;
    assert_valid("[0,-0,10,-25,7,123456789012345678]");
    assert_valid("{\"data\":[1,2,3],\"x\":[4 ,5, 6],\"y\":[7,8.5,9e1,-1]}");
    assert_int_equal(scan("[1,2,1234567890123456789]", &r), 0);
    assert_int_equal(r.flags, LI_JSON_F_WIDE_NUMBER);
    assert_invalid_at("[1,2,03]", 6, "invalid number: leading zero");
    assert_invalid_at("[1,-,2]", 4, "invalid number");
    assert_invalid_at("[1,2", 4, "unexpected end of input");
    assert_invalid_at("[1,2,", 5, "unexpected end of input");
    assert_invalid_at("[1,2}", 4, "expected ',' or ']'");
    assert_invalid_at("[1,2,]", 5, "expected a value");
    assert_invalid_at("[1,2x]", 4, "expected ',' or ']'");
}

static void test_nesting(void **state)
{
    (void)state;
    char buf[2 * (LI_JSON_MAX_DEPTH + 2) + 1];
    size_t n = LI_JSON_MAX_DEPTH;
    memset(buf, '[', n);
    memset(buf + n, ']', n);
    buf[2 * n] = 0;
    assert_valid(buf);
    n = LI_JSON_MAX_DEPTH + 1;
    memset(buf, '[', n);
    memset(buf + n, ']', n);
    buf[2 * n] = 0;
    assert_invalid_at(buf, LI_JSON_MAX_DEPTH, "nesting too deep");
    /* Alternating objects and arrays exercise the bit stack across words. */
    char deep[8 * 200 + 1];
    size_t k = 0;
    for (int i = 0; i < 100; i++) {
        memcpy(deep + k, "{\"a\":[", 6);
        k += 6;
    }
    for (int i = 0; i < 100; i++) {
        memcpy(deep + k, "]}", 2);
        k += 2;
    }
    deep[k] = 0;
    assert_valid(deep);
    deep[k - 1] = ']';
    assert_invalid_at(deep, k - 1, "expected ',' or '}'");
}

struct seen {
    int n;
    char keys[8][32];
    char vals[8][64];
    enum li_jtype types[8];
    int partial[8];
};

static void collect(void *ud, const struct li_json_member *m)
{
    struct seen *s = ud;
    if (s->n >= 8) return;
    snprintf(s->keys[s->n], sizeof s->keys[0], "%.*s", (int)m->key.len, m->key.p);
    snprintf(s->vals[s->n], sizeof s->vals[0], "%.*s", (int)m->val.len, m->val.p);
    s->types[s->n] = m->type;
    s->partial[s->n] = m->partial;
    s->n++;
}

static void test_members(void **state)
{
    (void)state;
    const char *s =
        "{ \"id\" : 7, \"method\":\"a/b\",\"params\":{\"id\":9,\"x\":[1,{}]} ,\"e\":null}";
    struct seen seen = {0};
    struct li_json_result r;
    assert_int_equal(li_json_scan(s, strlen(s), 0, collect, &seen, &r), 0);
    assert_int_equal(r.top, LI_J_OBJECT);
    assert_int_equal(seen.n, 4);
    assert_string_equal(seen.keys[0], "\"id\"");
    assert_string_equal(seen.vals[0], "7");
    assert_int_equal(seen.types[0], LI_J_NUMBER);
    assert_string_equal(seen.keys[1], "\"method\"");
    assert_string_equal(seen.vals[1], "\"a/b\"");
    assert_string_equal(seen.vals[2], "{\"id\":9,\"x\":[1,{}]}");
    assert_int_equal(seen.types[2], LI_J_OBJECT);
    assert_string_equal(seen.vals[3], "null");
    assert_int_equal(seen.types[3], LI_J_NULL);
}

static void test_partial_prefix(void **state)
{
    (void)state;
    const char *s = "{\"jsonrpc\":\"2.0\",\"id\":12,\"result\":{\"contents\":\"abc";
    struct seen seen = {0};
    struct li_json_result r;
    assert_int_equal(li_json_scan(s, strlen(s), 1, collect, &seen, &r), -1);
    assert_int_equal(r.ok, 0);
    assert_string_equal(r.why, "message truncated");
    assert_int_equal(seen.n, 3);
    assert_string_equal(seen.vals[1], "12");
    assert_string_equal(seen.keys[2], "\"result\"");
    assert_int_equal(seen.partial[2], 1);
    assert_int_equal(seen.partial[1], 0);
    /* A complete value is still reported as complete in partial mode. */
    memset(&seen, 0, sizeof seen);
    assert_int_equal(li_json_scan("{\"a\":1}", 7, 1, collect, &seen, &r), 0);
    assert_int_equal(r.ok, 1);
}

static void test_wide_numbers(void **state)
{
    (void)state;
    struct li_json_result r;
    assert_int_equal(scan("[123456789012345678, 1.5, -3]", &r), 0);
    assert_int_equal(r.flags, 0);
    assert_int_equal(scan("[1234567890123456789]", &r), 0);
    assert_int_equal(r.flags, LI_JSON_F_WIDE_NUMBER);
    assert_int_equal(scan("[1e5]", &r), 0);
    assert_int_equal(r.flags, LI_JSON_F_WIDE_NUMBER);
}

static void test_newline_flag(void **state)
{
    (void)state;
    struct li_json_result r;
    assert_int_equal(scan("{\"a\":\"x\\r\\ny\"}\t ", &r), 0);
    assert_int_equal(r.flags, 0);
    assert_int_equal(scan("{\r\n\"a\": 1}", &r), 0);
    assert_int_equal(r.flags, LI_JSON_F_NEWLINE);
    assert_int_equal(scan("[1]\n", &r), 0);
    assert_int_equal(r.flags, LI_JSON_F_NEWLINE);
}

/* Every prefix of each case, ending exactly at a PROT_NONE page: any read
 * past its last byte faults. */
static void test_guard_page(void **state)
{
    (void)state;
    struct guard_page g;
    assert_int_equal(guard_page_init(&g, 4096), 0);
    const char *cases[] = {
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\",\"params\":{\"t\":\"0123456789abcdef\"}}",
        "\"\\uD83D\\uDE00 \xf0\x9f\x98\x80 tail of some length\"",
        "[true,false,null,-1.5e+10,{\"k\":[]}]",
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        size_t n = strlen(cases[c]);
        for (size_t k = 0; k <= n; k++) {
            char *p = guard_page_place(&g, cases[c], k);
            struct li_json_result r;
            int rc = li_json_scan(p, k, 0, NULL, NULL, &r);
            assert_int_equal(rc == 0, k == n);
            li_json_scan(p, k, 1, NULL, NULL, &r);
        }
    }
    guard_page_free(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_values),   cmocka_unit_test(test_invalid_values),
        cmocka_unit_test(test_invalid_utf8),   cmocka_unit_test(test_integer_arrays),
        cmocka_unit_test(test_nesting),        cmocka_unit_test(test_members),
        cmocka_unit_test(test_partial_prefix), cmocka_unit_test(test_wide_numbers),
        cmocka_unit_test(test_newline_flag),   cmocka_unit_test(test_guard_page),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
