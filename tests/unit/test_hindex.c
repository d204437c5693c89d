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
    int key;
    struct li_hlink link;
};

static uint32_t hash_int(int k)
{
    return li_hash((const char *)&k, sizeof k);
}

static struct item *find(const struct li_hindex *ix, int key)
{
    uint32_t h = hash_int(key);
    for (struct li_hlink *l = li_hindex_chain(ix, h); l; l = l->next) {
        struct item *it = LI_HENTRY(l, struct item, link);
        if (l->hash == h && it->key == key) return it;
    }
    return NULL;
}

static void test_grow_find_remove(void **state)
{
    (void)state;
    static struct item items[300];
    struct li_hindex ix = {0};
    assert_null(find(&ix, 1)); /* no buckets yet */
    for (int i = 0; i < 300; i++) {
        assert_int_equal(li_hindex_reserve(&ix, (size_t)i), 0);
        assert_true(ix.n > (size_t)i && (ix.n & (ix.n - 1)) == 0);
        items[i].key = i;
        items[i].link.hash = hash_int(i);
        li_hindex_add(&ix, &items[i].link);
    }
    assert_int_equal(ix.n, 512); /* 64, doubled at 64, 128 and 256 entries */
    for (int i = 0; i < 300; i++)
        assert_ptr_equal(find(&ix, i), &items[i]);
    for (int i = 0; i < 300; i += 2)
        li_hindex_remove(&ix, &items[i].link);
    for (int i = 0; i < 300; i++)
        assert_ptr_equal(find(&ix, i), i % 2 ? &items[i] : NULL);
    assert_null(find(&ix, 300));
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
