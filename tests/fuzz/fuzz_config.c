/* libFuzzer: lsptap's config file (config.json) of any bytes, parsed over
 * the defaults with a warning buffer of a size taken from the first byte.
 * Never a crash; the warnings stay inside their buffer and every path
 * setting stays NUL-terminated; the record mode is one of the three. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env/lp_config.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_config: %s:%d: %s\n", __FILE__, __LINE__, #cond);                \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define TERMINATED(a) (memchr((a), '\0', sizeof(a)) != NULL)

static struct lp_config c;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t wcap = size ? 1 + data[0] % 2 * 1023 + data[0] / 2 % 64 : 1024;
    char *warn = malloc(wcap);
    CHECK(warn != NULL);
    warn[0] = '\0';
    memset(&c, 0, sizeof c);
    snprintf(c.config_path, sizeof c.config_path, "/home/u/.config/lsptap/config.json");
    c.record = LI_REC_FULL;
    c.high_mark = 1 << 20;
    c.low_mark = 256 << 10;
    lp_config_parse(&c, (const char *)data, size, warn, wcap);
    CHECK(strlen(warn) < wcap);
    CHECK(TERMINATED(c.gopls) && TERMINATED(c.dlv) && TERMINATED(c.dir) &&
          TERMINATED(c.fail_patterns));
    CHECK(c.record == LI_REC_FULL || c.record == LI_REC_META || c.record == LI_REC_OFF);
    CHECK(c.repair == 0 || c.repair == 1);
    free(warn);
    return 0;
}
