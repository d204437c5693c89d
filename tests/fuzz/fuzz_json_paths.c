/* libFuzzer: the library's JSON scanner, with its string fast paths (SSE2
 * on x86_64), must give exactly the answers of the same scanner built to
 * read strings one byte at a time (LI_JSON_SCALAR): result, error offset
 * and text, flags and members, whole and as a prefix. The comparison is
 * the unit tests' (tests/unit/json_ref.c). */
#include <stdint.h>
#include <stdlib.h>

#include "tests/unit/guard_page.c"
#include "tests/unit/json_ref.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (json_ref_compare(li_json_scan, (const char *)data, size) != 0) abort();
    return 0;
}
