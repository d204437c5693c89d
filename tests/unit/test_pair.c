/* li_pair: the pending-request table of one direction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "inspect/li_pair.h"

#define ADD(t, key, method, ts) li_pair_add((t), key, strlen(key), method, strlen(method), ts)

static void test_numeric_and_string_ids_differ(void **state)
{
    (void)state;
    struct li_pair_table t;
    struct li_pair_hit hit;
    li_pair_init(&t, 16);
    assert_int_equal(ADD(&t, "1", "\"a\"", 10), 0);
    assert_int_equal(ADD(&t, "\"1\"", "\"b\"", 20), 0);
    assert_int_equal(t.count, 2);
    assert_int_equal(li_pair_take(&t, "\"1\"", 3, &hit), 0);
    assert_int_equal(hit.t_us, 20);
    assert_memory_equal(hit.method, "\"b\"", 3);
    assert_int_equal(li_pair_take(&t, "\"1\"", 3, &hit), -1);
    assert_int_equal(li_pair_take(&t, "1", 1, &hit), 0);
    assert_int_equal(hit.t_us, 10);
    assert_int_equal(t.count, 0);
    li_pair_free(&t);
}

static void test_cancel(void **state)
{
    (void)state;
    struct li_pair_table t;
    struct li_pair_hit hit;
    li_pair_init(&t, 16);
    ADD(&t, "5", "\"textDocument/completion\"", 1);
    assert_int_equal(li_pair_cancel(&t, "5", 1), 0);
    assert_int_equal(li_pair_cancel(&t, "5", 1), 1);
    assert_int_equal(li_pair_cancel(&t, "6", 1), -1);
    assert_int_equal(li_pair_take(&t, "5", 1, &hit), 0);
    assert_int_equal(hit.cancelled, 1);
    li_pair_free(&t);
}

static int collect(void *ud, const char *key, size_t klen, const char *method, size_t mlen,
                   uint64_t t_us, int cancelled)
{
    (void)method;
    (void)mlen;
    (void)t_us;
    (void)cancelled;
    strncat(ud, key, klen);
    strcat(ud, " ");
    return 0;
}

static void test_eviction_oldest_first(void **state)
{
    (void)state;
    struct li_pair_table t;
    struct li_pair_hit hit;
    char order[64] = "";
    li_pair_init(&t, 3);
    ADD(&t, "1", "", 1);
    ADD(&t, "2", "", 2);
    ADD(&t, "3", "", 3);
    ADD(&t, "4", "", 4);
    assert_int_equal(t.evicted, 1);
    assert_int_equal(t.count, 3);
    assert_int_equal(li_pair_take(&t, "1", 1, &hit), -1);
    li_pair_each(&t, collect, order);
    assert_string_equal(order, "2 3 4 ");
    /* Re-adding a pending id replaces it and moves it to the young end. */
    ADD(&t, "2", "", 9);
    order[0] = 0;
    li_pair_each(&t, collect, order);
    assert_string_equal(order, "3 4 2 ");
    assert_int_equal(t.evicted, 1);
    li_pair_free(&t);
}

static void test_many_entries_grow(void **state)
{
    (void)state;
    struct li_pair_table t;
    struct li_pair_hit hit;
    char key[32];
    li_pair_init(&t, 100000);
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof key, "%d", i);
        assert_int_equal(ADD(&t, key, "\"m\"", (uint64_t)i), 0);
    }
    for (int i = 4999; i >= 0; i--) {
        snprintf(key, sizeof key, "%d", i);
        assert_int_equal(li_pair_take(&t, key, strlen(key), &hit), 0);
        assert_int_equal(hit.t_us, (uint64_t)i);
    }
    assert_int_equal(t.count, 0);
    li_pair_free(&t);
}

static void test_long_key_not_tracked(void **state)
{
    (void)state;
    struct li_pair_table t;
    struct li_pair_hit hit;
    char key[LI_PAIR_MAX_KEY + 2];
    memset(key, 'x', sizeof key - 1);
    key[sizeof key - 1] = 0;
    li_pair_init(&t, 4);
    assert_int_equal(ADD(&t, key, "\"m\"", 1), 1);
    assert_int_equal(t.count, 0);
    assert_int_equal(li_pair_take(&t, key, strlen(key), &hit), -1);
    li_pair_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numeric_and_string_ids_differ),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_eviction_oldest_first),
        cmocka_unit_test(test_many_entries_grow),
        cmocka_unit_test(test_long_key_not_tracked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
