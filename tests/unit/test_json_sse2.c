/* li_json: the SSE2 string blocks (what an x86_64 without AVX2 runs) give
 * exactly the byte-at-a-time reference's answers. Built here from the
 * scanner's source with LI_JSON_NO_AVX2, under other names, so they are
 * tested on machines with AVX2 too (where the library takes AVX2). */
/* Before cmocka.h, whose fail() macro would rename the scanner's. */
#define LI_JSON_NO_AVX2 1
#define li_json_scan li_json_scan_sse2
#define li_utf8_valid_prefix li_utf8_valid_prefix_sse2
#include "inspect/li_json.c"
#undef li_json_scan
#undef li_utf8_valid_prefix

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
    assert_int_equal(json_ref_sweep(li_json_scan_sse2), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sweep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
