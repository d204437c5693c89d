/* li_edit: Positions in each encoding, splices, and the line cache. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "inspect/li_edit.h"

/* A text under edit holding a copy of s. */
static void text_of(struct li_edit_text *t, const char *s)
{
    size_t n = strlen(s);
    char *p = malloc(n ? n : 1);
    assert_non_null(p);
    memcpy(p, s, n);
    li_edit_text_init(t, p, n);
    assert_int_equal(li_edit_check(t), 0);
}

static void assert_text(const struct li_edit_text *t, const char *want)
{
    assert_int_equal(t->len, strlen(want));
    assert_memory_equal(t->p, want, t->len);
    assert_int_equal(li_edit_check(t), 0);
}

/* Replaces the range (al, ac)-(bl, bc) as a didChange would. */
static void edit(struct li_edit_text *t, enum li_edit_enc enc, uint64_t al, uint64_t ac,
                 uint64_t bl, uint64_t bc, const char *s)
{
    size_t a = li_edit_locate(t, al, ac, enc, 1);
    size_t b = li_edit_locate(t, bl, bc, enc, 0);
    assert_true(a <= b);
    assert_int_equal(li_edit_splice(t, a, b, s, strlen(s)), 0);
    assert_int_equal(li_edit_check(t), 0);
}

static void test_offset_each_encoding(void **state)
{
    (void)state;
    /* "é" is 2 bytes, 1 UTF-16 unit; "😀" 4 bytes, 2 UTF-16 units. */
    const char t[] = "a\xC3\xA9\xF0\x9F\x98\x80z\nb";
    size_t n = sizeof t - 1;
    assert_int_equal(li_edit_offset(t, n, 0, 2, LI_ENC_UTF16), 3);
    assert_int_equal(li_edit_offset(t, n, 0, 4, LI_ENC_UTF16), 7);
    assert_int_equal(li_edit_offset(t, n, 0, 3, LI_ENC_UTF16), 3); /* inside the pair */
    assert_int_equal(li_edit_offset(t, n, 0, 3, LI_ENC_UTF32), 7);
    assert_int_equal(li_edit_offset(t, n, 0, 3, LI_ENC_UTF8), 3);
    assert_int_equal(li_edit_offset(t, n, 0, 2, LI_ENC_UTF8), 1); /* inside é */
    assert_int_equal(li_edit_offset(t, n, 1, 1, LI_ENC_UTF8), 10);
}

static void test_offset_invalid_utf8(void **state)
{
    (void)state;
    /* Bytes that begin no valid sequence count one unit each; a sequence
     * cut by the end is its bytes, one unit each. */
    const char t[] = "\xff\xfe"
                     "a\xC3\n\xE2\x82";
    size_t n = sizeof t - 1;
    for (int e = 0; e < 3; e++) {
        assert_int_equal(li_edit_offset(t, n, 0, 1, e), 1);
        assert_int_equal(li_edit_offset(t, n, 0, 3, e), 3);
        assert_int_equal(li_edit_offset(t, n, 0, 9, e), 4);
        assert_int_equal(li_edit_offset(t, n, 1, 1, e), 6);
        assert_int_equal(li_edit_offset(t, n, 1, 9, e), 7);
        assert_int_equal(li_edit_offset(t, n, 2, 0, e), 7);
    }
    /* Overlong and surrogate encodings are invalid too. */
    assert_int_equal(li_edit_offset("\xC0\x80x", 3, 0, 2, LI_ENC_UTF16), 2);
    assert_int_equal(li_edit_offset("\xED\xA0\x80x", 4, 0, 3, LI_ENC_UTF16), 3);
    assert_int_equal(li_edit_offset("", 0, 5, 5, LI_ENC_UTF8), 0);
}

static void test_line_breaks(void **state)
{
    (void)state;
    const char t[] = "a\r\nb\rc\nd";
    size_t n = sizeof t - 1;
    assert_int_equal(li_edit_offset(t, n, 1, 0, LI_ENC_UTF16), 3);
    assert_int_equal(li_edit_offset(t, n, 2, 0, LI_ENC_UTF16), 5);
    assert_int_equal(li_edit_offset(t, n, 3, 0, LI_ENC_UTF16), 7);
    assert_int_equal(li_edit_offset(t, n, 0, 5, LI_ENC_UTF16), 1); /* before \r\n */
    assert_int_equal(li_edit_offset(t, n, 9, 0, LI_ENC_UTF16), n);
}

/* Typing along one line, then an edit before the cached line and one after
 * a lone \r (where the cache must not stay). */
static void test_splice_and_cache(void **state)
{
    (void)state;
    struct li_edit_text t;
    text_of(&t, "a\rb\nc\nd\ne");
    edit(&t, LI_ENC_UTF16, 3, 0, 3, 0, "X");
    assert_text(&t, "a\rb\nc\nXd\ne");
    assert_int_equal(t.cache_line, 3);
    edit(&t, LI_ENC_UTF16, 3, 1, 3, 1, "Y");
    assert_text(&t, "a\rb\nc\nXYd\ne");
    edit(&t, LI_ENC_UTF16, 1, 0, 2, 0, "");
    assert_text(&t, "a\rc\nXYd\ne");
    assert_int_equal(t.cache_line, 0); /* the edit was before it */
    edit(&t, LI_ENC_UTF16, 3, 0, 3, 0, "Z");
    assert_text(&t, "a\rc\nXYd\nZe");
    /* A '\n' inserted after the lone '\r' makes one "\r\n" break. */
    edit(&t, LI_ENC_UTF16, 1, 0, 1, 0, "\n");
    assert_text(&t, "a\r\nc\nXYd\nZe");
    assert_int_equal(li_edit_locate(&t, 3, 0, LI_ENC_UTF16, 0), 9);
    li_edit_text_free(&t);
    assert_null(t.p);
}

/* Replacing the whole text forgets the '\r' the old text had; growing past
 * the capacity keeps the bytes. */
static void test_whole_replacement(void **state)
{
    (void)state;
    struct li_edit_text t;
    text_of(&t, "x\ry");
    assert_true(t.has_cr);
    assert_int_equal(li_edit_splice(&t, 0, t.len, "line one\nline two\n", 18), 0);
    assert_text(&t, "line one\nline two\n");
    assert_false(t.has_cr);
    assert_int_equal(li_edit_splice(&t, 4, 4, "\r", 1), 0);
    assert_true(t.has_cr);
    assert_text(&t, "line\r one\nline two\n");
    li_edit_text_free(&t);
    text_of(&t, "");
    assert_int_equal(li_edit_locate(&t, 2, 2, LI_ENC_UTF8, 1), 0);
    assert_int_equal(li_edit_splice(&t, 0, 0, "ab", 2), 0);
    assert_text(&t, "ab");
    li_edit_text_free(&t);
}

/* The check notices a cache that does not start its line and a '\r' the
 * flag does not know of. */
static void test_check(void **state)
{
    (void)state;
    struct li_edit_text t;
    text_of(&t, "ab\ncd");
    t.cache_line = 1;
    t.cache_off = 2;
    assert_int_equal(li_edit_check(&t), -1);
    t.cache_off = 3;
    assert_int_equal(li_edit_check(&t), 0);
    t.p[0] = '\r';
    assert_int_equal(li_edit_check(&t), -1);
    li_edit_text_free(&t);
}

/* The names LSP gives the encodings, which li_state matches
 * positionEncodings against. */
static void test_enc_name(void **state)
{
    (void)state;
    assert_string_equal(li_edit_enc_name(LI_ENC_UTF16), "utf-16");
    assert_string_equal(li_edit_enc_name(LI_ENC_UTF8), "utf-8");
    assert_string_equal(li_edit_enc_name(LI_ENC_UTF32), "utf-32");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_offset_each_encoding),
        cmocka_unit_test(test_offset_invalid_utf8),
        cmocka_unit_test(test_line_breaks),
        cmocka_unit_test(test_splice_and_cache),
        cmocka_unit_test(test_whole_replacement),
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_enc_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
