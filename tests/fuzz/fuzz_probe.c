/* libFuzzer: netcheck's application probe reply classifier on any bytes a
 * server might answer with. The first byte picks the probe (LSP, DAP) and
 * whether the peer closed, timed out or may send more; the rest is the
 * reply. Never a crash; the class is one of the enum's; every string in the
 * info is NUL-terminated inside its array; a reply starting "HTTP/" is HTTP.
 * ln_escape is run with output buffers of every small size (allocated to the
 * exact size, so ASan sees a byte written past it). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netcheck/ln_classify.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_probe: %s:%d: %s\n", __FILE__, __LINE__, #cond);                 \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define TERMINATED(a) (memchr((a), '\0', sizeof(a)) != NULL)

static void check_reply(enum ln_probe probe, const char *buf, size_t len, enum ln_app_end end)
{
    struct ln_app_info info;
    enum ln_app_class c = ln_classify_reply(probe, buf, len, end, &info);
    CHECK(c >= LN_APP_MORE && c <= LN_APP_SILENT);
    CHECK(ln_app_class_name(c) != NULL);
    CHECK(TERMINATED(info.name) && TERMINATED(info.version) && TERMINATED(info.error_msg) &&
          TERMINATED(info.first));
    if (len == 0)
        CHECK(c == (end == LN_END_EOF       ? LN_APP_CLOSED
                    : end == LN_END_TIMEOUT ? LN_APP_SILENT
                                            : LN_APP_MORE));
    if (len >= 5 && !memcmp(buf, "HTTP/", 5)) CHECK(c == LN_APP_HTTP);
    if (end != LN_END_NONE) CHECK(c != LN_APP_MORE);
    if (c == LN_APP_SPEAKS || c == LN_APP_OTHER_RPC || c == LN_APP_NO_ANSWER) CHECK(len > 0);
}

static void check_escape(const char *buf, size_t len)
{
    for (size_t outlen = 1; outlen <= 12; outlen++) {
        char *out = malloc(outlen);
        CHECK(out != NULL);
        ln_escape(buf, len, len % 7, out, outlen);
        CHECK(memchr(out, '\0', outlen) != NULL);
        ln_escape(buf, len, len, out, outlen);
        CHECK(memchr(out, '\0', outlen) != NULL);
        free(out);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    enum ln_probe probe = data[0] & 1 ? LN_PROBE_DAP : LN_PROBE_LSP;
    const char *buf = (const char *)data + 1;
    size_t len = size - 1;
    for (int end = LN_END_NONE; end <= LN_END_TIMEOUT; end++)
        check_reply(probe, buf, len, (enum ln_app_end)end);
    /* A prefix, as a reply still arriving. */
    check_reply(probe, buf, len / 2, LN_END_NONE);
    check_escape(buf, len);
    return 0;
}
