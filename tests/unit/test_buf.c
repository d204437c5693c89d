/*
 * li_buf (inspect/li_buf.h), the one growable buffer: text with unchecked
 * appends, queues with reserve and consume, steal, and li_grow for arrays.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "inspect/li_buf.h"

static void test_text(void **state)
{
    (void)state;
    struct li_buf b = {0};
    assert_null(b.p);
    li_buf_str(&b, "ab");
    li_buf_ch(&b, 'c');
    li_buf_put(&b, "d\0e", 3);
    assert_int_equal(b.len, 6);
    assert_memory_equal(b.p, "abcd\0e", 7); /* NUL-terminated past the NUL inside */
    assert_false(b.oom);
    li_buf_free(&b);
    assert_null(b.p);
    assert_int_equal(b.len, 0);
    li_buf_put(&b, "", 0); /* an empty append still gives a text */
    assert_non_null(b.p);
    assert_string_equal(b.p, "");
    li_buf_free(&b);
}

static void test_grows_past_many_doublings(void **state)
{
    (void)state;
    struct li_buf b = {0};
    char chunk[1000];
    for (size_t i = 0; i < sizeof chunk; i++)
        chunk[i] = (char)('a' + i % 26);
    for (int i = 0; i < 300; i++)
        li_buf_put(&b, chunk, sizeof chunk);
    assert_int_equal(b.len, 300 * sizeof chunk);
    assert_true(b.cap > b.len);
    for (int i = 0; i < 300; i++)
        assert_memory_equal(b.p + (size_t)i * sizeof chunk, chunk, sizeof chunk);
    assert_int_equal(b.p[b.len], '\0');
    li_buf_free(&b);
}

static void test_reserve(void **state)
{
    (void)state;
    struct li_buf b = {0};
    assert_int_equal(li_buf_reserve(&b, 100), 0);
    assert_non_null(b.p);
    assert_true(b.cap >= 101);
    assert_string_equal(b.p, "");
    char *before = b.p;
    for (int i = 0; i < 100; i++) /* what was reserved fits without moving */
        li_buf_ch(&b, 'x');
    assert_ptr_equal(b.p, before);
    assert_int_equal(b.len, 100);
    /* An impossible size: refused, the buffer as it was, `oom` not set. */
    assert_int_equal(li_buf_reserve(&b, SIZE_MAX - 10), -ENOMEM);
    assert_int_equal(b.len, 100);
    assert_false(b.oom);
    li_buf_put(&b, "y", 1);
    assert_int_equal(b.len, 101);
    li_buf_free(&b);
}

static void test_oom_is_sticky_until_reset(void **state)
{
    (void)state;
    struct li_buf b = {0};
    li_buf_str(&b, "kept");
    volatile size_t huge = SIZE_MAX - 8; /* volatile: not a constant the compiler checks */
    li_buf_put(&b, "x", huge);           /* cannot be held: sets oom */
    assert_true(b.oom);
    li_buf_str(&b, "more"); /* ignored: the text is cut short, not corrupt */
    assert_string_equal(b.p, "kept");
    assert_int_equal(li_buf_reserve(&b, 1), -ENOMEM);
    char *storage = b.p;
    li_buf_reset(&b);
    assert_false(b.oom);
    assert_int_equal(b.len, 0);
    assert_ptr_equal(b.p, storage); /* the storage is kept for reuse */
    li_buf_str(&b, "again");
    assert_string_equal(b.p, "again");
    li_buf_free(&b);
}

static void test_consume_as_queue(void **state)
{
    (void)state;
    struct li_buf b = {0};
    li_buf_str(&b, "frame1frame2");
    li_buf_consume(&b, 6);
    assert_int_equal(b.len, 6);
    assert_string_equal(b.p, "frame2");
    li_buf_str(&b, "frame3");
    li_buf_consume(&b, 0);
    assert_string_equal(b.p, "frame2frame3");
    li_buf_consume(&b, b.len);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.p, "");
    li_buf_free(&b);
}

static void test_steal(void **state)
{
    (void)state;
    struct li_buf b = {0};
    size_t len = 99;
    assert_null(li_buf_steal(&b, &len)); /* nothing appended: nothing to hand over */
    assert_int_equal(len, 0);
    li_buf_put(&b, "a\0b", 3);
    char *p = li_buf_steal(&b, &len);
    assert_int_equal(len, 3);
    assert_memory_equal(p, "a\0b", 4);
    assert_null(b.p);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    li_buf_str(&b, "new"); /* the emptied buffer is usable again */
    assert_string_equal(b.p, "new");
    li_buf_free(&b);
    free(p);
}

static void test_grow_array(void **state)
{
    (void)state;
    int *v = NULL;
    size_t cap = 0;
    for (size_t n = 0; n < 1000; n++) {
        int *nv = li_grow(v, &cap, n + 1, sizeof *v);
        assert_non_null(nv);
        v = nv;
        assert_true(cap >= n + 1);
        v[n] = (int)n;
    }
    for (size_t n = 0; n < 1000; n++)
        assert_int_equal(v[n], (int)n);
    size_t before = cap;
    assert_ptr_equal(li_grow(v, &cap, 3, sizeof *v), v); /* already enough */
    assert_int_equal(cap, before);
    /* need * elem overflows size_t: refused, the array and cap untouched. */
    assert_null(li_grow(v, &cap, SIZE_MAX / 2, sizeof *v));
    assert_null(li_grow(v, &cap, SIZE_MAX, 1));
    assert_int_equal(cap, before);
    for (size_t n = 0; n < 1000; n++)
        assert_int_equal(v[n], (int)n);
    free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text),
        cmocka_unit_test(test_grows_past_many_doublings),
        cmocka_unit_test(test_reserve),
        cmocka_unit_test(test_oom_is_sticky_until_reset),
        cmocka_unit_test(test_consume_as_queue),
        cmocka_unit_test(test_steal),
        cmocka_unit_test(test_grow_array),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
