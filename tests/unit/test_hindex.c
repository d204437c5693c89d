/* li_hindex: entries found by hash through growth and removal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "inspect/li_hindex.h"

struct item {
    char key[16];
    struct li_hlink link;
};

static struct item *find(const struct li_hindex *ix, const char *key)
{
    struct li_hlink *l = li_hindex_find(ix, key, strlen(key));
    return l ? LI_HENTRY(l, struct item, link) : NULL;
}

static void test_grow_find_remove(void **state)
{
    (void)state;
    static struct item items[300];
    char k[16];
    struct li_hindex ix = {0};
    assert_null(find(&ix, "0")); /* no buckets yet */
    for (int i = 0; i < 300; i++) {
        assert_int_equal(li_hindex_reserve(&ix, (size_t)i), 0);
        assert_true(ix.n > (size_t)i && (ix.n & (ix.n - 1)) == 0);
        snprintf(items[i].key, sizeof items[i].key, "%d", i);
        li_hindex_add(&ix, &items[i].link, items[i].key, strlen(items[i].key));
    }
    assert_int_equal(ix.n, 512); /* 64, doubled at 64, 128 and 256 entries */
    for (int i = 0; i < 300; i++) {
        snprintf(k, sizeof k, "%d", i);
        assert_ptr_equal(find(&ix, k), &items[i]);
    }
    for (int i = 0; i < 300; i += 2)
        li_hindex_remove(&ix, &items[i].link);
    for (int i = 0; i < 300; i++) {
        snprintf(k, sizeof k, "%d", i);
        assert_ptr_equal(find(&ix, k), i % 2 ? &items[i] : NULL);
    }
    /* Keys are compared whole: a longer key is another key. */
    assert_null(find(&ix, "300"));
    assert_null(find(&ix, "2999"));
    assert_ptr_equal(find(&ix, "299"), &items[299]);
    li_hindex_free(&ix);
    assert_null(ix.bucket);
    assert_int_equal(ix.n, 0);
}

/* FNV-1a's published values. */
static void test_hash(void **state)
{
    (void)state;
    assert_int_equal(li_hash("", 0), 2166136261u);
    assert_int_equal(li_hash("a", 1), 0xe40c292cu);
    assert_int_equal(li_hash("foobar", 6), 0xbf9cf968u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grow_find_remove),
        cmocka_unit_test(test_hash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
