/* libFuzzer: ln_gofail_parse and ln_gofail_maybe (netcheck's recogniser of
 * go's words for a failed connection) and ln_banner_identify on any bytes,
 * whole and as every prefix length the input's first byte picks. Every
 * string in the result is terminated inside its array; a match has a class,
 * a host and a cause, and the pre-filter never skips what the parser
 * matches. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "netcheck/ln_banner.h"
#include "netcheck/ln_gofail.h"

static void terminated(const char *s, size_t cap)
{
    if (!memchr(s, 0, cap)) abort();
}

static void one(const char *buf, size_t len)
{
    struct ln_gofail g;
    int m = ln_gofail_parse(buf, len, &g);
    terminated(g.url, sizeof g.url);
    terminated(g.url_host, sizeof g.url_host);
    terminated(g.dial_host, sizeof g.dial_host);
    terminated(g.lookup, sizeof g.lookup);
    terminated(g.host, sizeof g.host);
    terminated(g.cause, sizeof g.cause);
    if (m != (g.cls != LN_GOFAIL_NONE)) abort();
    if (m && (!g.host[0] || !g.cause[0] || g.cls >= LN_GOFAIL_NCLASSES)) abort();
    if (m && !ln_gofail_maybe(buf, len)) abort();
    if ((unsigned)ln_gofail_layer(g.cls) >= LN_NLAYERS) abort();
    char line[96];
    enum ln_banner b = ln_banner_identify(buf, len, line, sizeof line);
    terminated(line, sizeof line);
    if (b > LN_BANNER_MYSQL) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly size bytes: ASan catches a read past the end. */
    char *buf = malloc(size ? size : 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    one(buf, size);
    if (size) one(buf, data[0] % size);
    free(buf);
    return 0;
}
