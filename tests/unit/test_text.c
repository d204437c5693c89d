/* li_text: the shared hex digit and UTF-8 decoder contracts, byte class by
 * byte class, every cut of every good sequence, and the two callers that
 * report a bad byte their own way (li_edit counts it as one unit, li_escape
 * writes it as \xNN). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "inspect/li_edit.h"
#include "inspect/li_escape.h"
#include "inspect/li_text.h"

static void test_hexval(void **state)
{
    (void)state;
    for (int c = 0; c < 256; c++) {
        int want = c >= '0' && c <= '9'   ? c - '0'
                   : c >= 'a' && c <= 'f' ? c - 'a' + 10
                   : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                          : -1;
        assert_int_equal(li_hexval((unsigned char)c), want);
    }
    /* The neighbours that the case fold would catch if it folded too much. */
    assert_int_equal(li_hexval('G'), -1);
    assert_int_equal(li_hexval('g'), -1);
    assert_int_equal(li_hexval('@'), -1);
    assert_int_equal(li_hexval('`'), -1);
    assert_int_equal(li_hexval('/'), -1);
    assert_int_equal(li_hexval(':'), -1);
    assert_int_equal(li_hexval((unsigned char)(char)-0x3a), -1); /* 0xc6: 'F' | 0x80 */
}

/* s decodes to (len, cp). */
static void decodes(const char *s, size_t n, size_t len, uint32_t cp)
{
    uint32_t got = 0x12345678;
    assert_int_equal(li_utf8_decode((const unsigned char *)s, n, &got), len);
    assert_int_equal(got, cp);
}

static void bad(const char *s, size_t n)
{
    decodes(s, n, 0, LI_UTF8_BAD);
}

static void test_decode_good(void **state)
{
    (void)state;
    decodes("\x00", 1, 1, 0);
    decodes("\x7f", 1, 1, 0x7f);
    decodes("\xc2\x80", 2, 2, 0x80); /* the smallest of each length */
    decodes("\xdf\xbf", 2, 2, 0x7ff);
    decodes("\xe0\xa0\x80", 3, 3, 0x800);
    decodes("\xed\x9f\xbf", 3, 3, 0xd7ff); /* just below the surrogates */
    decodes("\xee\x80\x80", 3, 3, 0xe000); /* just above them */
    decodes("\xef\xbf\xbf", 3, 3, 0xffff);
    decodes("\xf0\x90\x80\x80", 4, 4, 0x10000);
    decodes("\xf4\x8f\xbf\xbf", 4, 4, 0x10ffff);
    decodes("\xc3\xa9zz", 4, 2, 0xe9); /* only the first character */
}

static void test_decode_bad_classes(void **state)
{
    (void)state;
    /* A continuation byte first, and the bytes no sequence starts with. */
    bad("\x80", 1);
    bad("\xbf\x80", 2);
    bad("\xf5\x80\x80\x80", 4);
    bad("\xff", 1);
    /* Overlong: 0xC0/0xC1 always, E0 80-9F, F0 80-8F. */
    bad("\xc0\x80", 2);
    bad("\xc1\xbf", 2);
    bad("\xe0\x80\x80", 3);
    bad("\xe0\x9f\xbf", 3);
    bad("\xf0\x80\x80\x80", 4);
    bad("\xf0\x8f\xbf\xbf", 4);
    /* Surrogates: ED A0-BF. */
    bad("\xed\xa0\x80", 3);
    bad("\xed\xbf\xbf", 3);
    /* Past U+10FFFF: F4 90-BF. */
    bad("\xf4\x90\x80\x80", 4);
    bad("\xf4\xbf\xbf\xbf", 4);
    /* A continuation byte missing or replaced, at each place. */
    bad("\xc3"
        "a",
        2);
    bad("\xe2"
        "a\x82",
        3);
    bad("\xe2\x82"
        "a",
        3);
    bad("\xf0\x9f"
        "a\x80",
        4);
    bad("\xf0\x9f\x98"
        "a",
        4);
    bad("\xf0\x9f\x98\xc3", 4); /* a lead byte where a continuation belongs */
}

/* Every proper prefix of a good sequence is cut short: 0, not a read past n
 * (n is all the caller has; the bytes after it are never looked at). */
static void test_decode_truncated(void **state)
{
    (void)state;
    const char *good[] = {"\xc3\xa9", "\xe2\x82\xac", "\xed\x9f\xbf", "\xf0\x9f\x98\x80",
                          "\xf4\x8f\xbf\xbf"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        size_t len = strlen(good[i]);
        for (size_t n = 1; n < len; n++) {
            unsigned char buf[4];
            memcpy(buf, good[i], len); /* whole, so only n can make it short */
            uint32_t cp;
            assert_int_equal(li_utf8_decode(buf, n, &cp), 0);
            assert_int_equal(cp, LI_UTF8_BAD);
        }
        uint32_t cp;
        assert_int_equal(li_utf8_decode((const unsigned char *)good[i], len, &cp), len);
    }
}

/* li_edit takes a bad byte as one unit in every encoding, and goes on with
 * the next byte: a good character right after a bad lead byte counts. */
static void test_edit_counts_bad_bytes(void **state)
{
    (void)state;
    const char *cases[] = {"\xc0\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xf0\x9f\x98",
                           "\xe0\x9f\xbf"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = strlen(cases[i]);
        for (enum li_edit_enc e = LI_ENC_UTF16; e <= LI_ENC_UTF32; e++) {
            for (size_t k = 0; k <= n; k++)
                assert_int_equal(li_edit_offset(cases[i], n, 0, k, e), k);
        }
    }
    /* A lead byte cut short by a good character: one unit, then the é. */
    assert_int_equal(li_edit_offset("\xe2\xc3\xa9x", 4, 0, 2, LI_ENC_UTF16), 3);
    assert_int_equal(li_edit_offset("\xe2\xc3\xa9x", 4, 0, 3, LI_ENC_UTF8), 3);
}

/* li_escape writes each bad byte as \xNN and a good character after it as
 * it is. */
static void test_escape_writes_bad_bytes(void **state)
{
    (void)state;
    char out[64];
    li_escape("\xc0\x80", 2, 0, out, sizeof out);
    assert_string_equal(out, "\\xc0\\x80");
    li_escape("\xed\xa0\x80", 3, 0, out, sizeof out);
    assert_string_equal(out, "\\xed\\xa0\\x80");
    li_escape("\xf4\x90\x80\x80", 4, 0, out, sizeof out);
    assert_string_equal(out, "\\xf4\\x90\\x80\\x80");
    li_escape("\xf0\x9f\x98", 3, 0, out, sizeof out); /* cut by the end */
    assert_string_equal(out, "\\xf0\\x9f\\x98");
    li_escape("\xe2\xc3\xa9", 3, 0, out, sizeof out);
    assert_string_equal(out, "\\xe2\xc3\xa9");
    li_escape("\xf4\x8f\xbf\xbf", 4, 0, out, sizeof out); /* U+10FFFF is printable */
    assert_string_equal(out, "\xf4\x8f\xbf\xbf");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hexval),
        cmocka_unit_test(test_decode_good),
        cmocka_unit_test(test_decode_bad_classes),
        cmocka_unit_test(test_decode_truncated),
        cmocka_unit_test(test_edit_counts_bad_bytes),
        cmocka_unit_test(test_escape_writes_bad_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
