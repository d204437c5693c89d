/* li_json: the portable string fast path (SWAR on 64-bit words, what a
 * machine without SSE2 runs) gives exactly the byte-at-a-time reference's
 * answers. Built here from the scanner's source with LI_JSON_NO_SIMD, under
 * other names, so it is tested on x86_64 too. */
/* Before cmocka.h, whose fail() macro would rename the scanner's. */
#define LI_JSON_NO_SIMD 1
#define li_json_scan li_json_scan_swar
#define li_utf8_valid_prefix li_utf8_valid_prefix_swar
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
    assert_int_equal(json_ref_sweep(li_json_scan_swar), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sweep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
