/* li_json: the string fast paths of the library's scanner (SSE2 where the
 * compiler has it) give exactly the byte-at-a-time reference's answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tests/unit/json_ref.h"

static void test_sweep(void **state)
{
    (void)state;
    assert_int_equal(json_ref_sweep(li_json_scan), 0);
}

/* Strings of every length up to three blocks, plain and escape-dense,
 * closed and cut: where the 64-byte, 16-byte and byte loops hand over. */
static void test_lengths(void **state)
{
    (void)state;
    char buf[256];
    static const char *const units[] = {"a", "\\n", "\\\\", "\xc3\xa9", "\\u00e9"};
    for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) {
        size_t ul = strlen(units[u]);
        for (size_t n = 0; 2 + n * ul < sizeof buf; n++) {
            size_t o = 0;
            buf[o++] = '"';
            for (size_t i = 0; i < n; i++, o += ul)
                memcpy(buf + o, units[u], ul);
            buf[o++] = '"';
            assert_int_equal(json_ref_compare(li_json_scan, buf, o), 0);
            assert_int_equal(json_ref_compare(li_json_scan, buf, o - 1), 0);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sweep),
        cmocka_unit_test(test_lengths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
