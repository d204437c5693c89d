/* li_jval: members, elements, strings and integers read in place from
 * validated JSON, as li_state reads didOpen/didChange. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "inspect/li_jval.h"

static struct li_jval val(const char *json)
{
    struct li_json_result r;
    assert_int_equal(li_json_scan(json, strlen(json), 0, NULL, NULL, &r), 0); /* the contract */
    return li_jval_top(json, strlen(json));
}

static void assert_text(const struct li_jval *v, const char *want)
{
    assert_non_null(v->s.p);
    assert_int_equal(v->s.len, strlen(want));
    assert_memory_equal(v->s.p, want, v->s.len);
}

static void test_top_and_of(void **state)
{
    (void)state;
    struct li_jval v = li_jval_top(" \r\n\t{\"a\":1} ", 12);
    assert_int_equal(v.t, LI_J_OBJECT);
    assert_text(&v, "{\"a\":1} "); /* the rest of the body, from the value on */
    v = li_jval_top("   ", 3);
    assert_int_equal(v.t, LI_J_NONE);
    struct li_span none = {NULL, 0}, num = {"-3", 2};
    v = li_jval_of(none);
    assert_null(v.s.p);
    assert_int_equal(v.t, LI_J_NONE);
    assert_int_equal(li_jval_of(num).t, LI_J_NUMBER);
}

static void test_members(void **state)
{
    (void)state;
    static const char *const k[] = {"uri", "text", "gone"};
    struct li_jval f[3];
    struct li_jval o = val("{\"text\":\"x\",\"uri\":{\"uri\":1},\"text\":[1],\"\\u0067one\":2}");
    li_jval_members(&o, k, 3, f);
    assert_int_equal(f[0].t, LI_J_OBJECT);
    assert_text(&f[0], "{\"uri\":1}"); /* a nested key of the same name is not it */
    assert_int_equal(f[1].t, LI_J_ARRAY);
    assert_text(&f[1], "[1]"); /* written twice: the last */
    assert_null(f[2].s.p);     /* spelled with an escape: not found */
    assert_int_equal(f[2].t, LI_J_NONE);

    struct li_jval a = val("[{\"uri\":1}]");
    f[0].s.p = "stale";
    li_jval_members(&a, k, 1, f); /* not an object: every key absent */
    assert_null(f[0].s.p);
}

static void test_elements(void **state)
{
    (void)state;
    struct li_jval a = val("[ \"a]\\\"\" , {\"x\":[1,{}]},[],-1.5e3,true , null,\"\\\\\"]"), el;
    const char *want[] = {"\"a]\\\"\"", "{\"x\":[1,{}]}", "[]",      "-1.5e3",
                          "true",       "null",           "\"\\\\\""};
    enum li_jtype types[] = {LI_J_STRING, LI_J_OBJECT, LI_J_ARRAY, LI_J_NUMBER,
                             LI_J_TRUE,   LI_J_NULL,   LI_J_STRING};
    struct li_jval_iter it;
    size_t n = 0;
    for (li_jval_elements(&a, &it); li_jval_next(&it, &el); n++) {
        assert_true(n < 7);
        assert_text(&el, want[n]);
        assert_int_equal(el.t, types[n]);
    }
    assert_int_equal(n, 7);
    assert_int_equal(li_jval_next(&it, &el), 0); /* stays done */

    struct li_jval empty = val(" [ ] ");
    li_jval_elements(&empty, &it);
    assert_int_equal(li_jval_next(&it, &el), 0);
    struct li_jval obj = val("{\"a\":[1]}"), absent = {{NULL, 0}, LI_J_NONE};
    li_jval_elements(&obj, &it); /* not an array: nothing */
    assert_int_equal(li_jval_next(&it, &el), 0);
    li_jval_elements(&absent, &it);
    assert_int_equal(li_jval_next(&it, &el), 0);
}

static void decodes(const char *json, const char *want, size_t want_len)
{
    struct li_jval v = val(json);
    char out[64];
    assert_true(v.s.len <= sizeof out);
    size_t n = li_jval_decode_into(&v, out);
    assert_int_equal(n, want_len);
    assert_memory_equal(out, want, n);
    size_t m = 99;
    char *s = li_jval_string(&v, &m);
    assert_non_null(s);
    assert_int_equal(m, want_len);
    assert_memory_equal(s, want, m);
    assert_int_equal(s[m], '\0');
    free(s);
}

static void test_strings(void **state)
{
    (void)state;
    decodes("\"\"", "", 0);
    decodes("\"plain\"", "plain", 5);
    decodes("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\/\b\f\n\r\t", 8);
    decodes("\"a\\u00e9b\"",
            "a\xc3\xa9"
            "b",
            4);
    decodes("\"\\u20AC\"", "\xe2\x82\xac", 3);            /* upper-case hex */
    decodes("\"\\uD83D\\uDE00\"", "\xf0\x9f\x98\x80", 4); /* a pair: one character */
    decodes("\"x\\u0000y\"", "x\0y", 3);                  /* a NUL stays, counted */
    decodes("\"\xc3\xa9\"", "\xc3\xa9", 2);               /* raw UTF-8 copied */

    /* A lone surrogate, which li_json_scan rejects, still decodes to
     * something well-formed. */
    struct li_jval lone = {{"\"\\uD800x\"", 9}, LI_J_STRING};
    char out[16];
    assert_int_equal(li_jval_decode_into(&lone, out), 4);
    assert_memory_equal(out, "\xef\xbf\xbdx", 4);

    struct li_jval num = val("12");
    size_t n;
    assert_null(li_jval_string(&num, &n));
    struct li_jval absent = {{NULL, 0}, LI_J_NONE};
    assert_null(li_jval_string(&absent, &n));
}

static void ints(const char *json, int neg, int ok_want, int64_t want)
{
    struct li_jval v = val(json);
    int ok = -7;
    int64_t x = li_jval_int(&v, neg, &ok);
    assert_int_equal(ok, ok_want);
    assert_int_equal(x, ok_want ? want : -1);
}

static void test_ints(void **state)
{
    (void)state;
    ints("0", 0, 1, 0);
    ints("42", 0, 1, 42);
    ints("-5", 1, 1, -5);
    ints("-5", 0, 0, 0); /* negative where a count is expected */
    ints("9223372036854775807", 0, 1, INT64_MAX);
    ints("-9223372036854775808", 1, 1, INT64_MIN);
    ints("9223372036854775808", 0, 0, 0); /* out of range */
    ints("1.0", 0, 0, 0);
    ints("1e3", 0, 0, 0);
    ints("1E3", 0, 0, 0);
    ints("100000000000000000000000", 0, 0, 0); /* too long to be one */
    ints("\"1\"", 0, 0, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_top_and_of), cmocka_unit_test(test_members),
        cmocka_unit_test(test_elements),   cmocka_unit_test(test_strings),
        cmocka_unit_test(test_ints),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
