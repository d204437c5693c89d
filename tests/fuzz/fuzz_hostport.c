/* libFuzzer: ln_hostport_parse, the one HOST:PORT parser (netcheck's target,
 * relay addresses, dlv's --listen and listening line, proxy URLs), on an
 * exact-size copy of any bytes, under every combination of its flags and
 * into a full-size and a 4-byte host buffer. It reads only the len bytes it
 * is given (ASan sees past them); a success leaves a host that fits with a
 * port the flags allow; a refusal is -EINVAL with a sentence, the port
 * untouched. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "netcheck/ln_hostport.h"

static int parse(const char *buf, size_t len, unsigned flags, size_t cap, char *host,
                 uint16_t *port)
{
    char err[200] = "";
    int r = ln_hostport_parse(buf, len, flags, host, cap, port, err, sizeof err);
    if (r != 0 && (r != -EINVAL || !err[0] || !memchr(err, 0, sizeof err))) abort();
    return r;
}

/* Twice, with the port preset to 1 and to 2: what the parser wrote shows. */
static void one(const char *buf, size_t len, unsigned flags, size_t cap)
{
    char h1[256], h2[256];
    uint16_t p1 = 1, p2 = 2;
    int r = parse(buf, len, flags, cap, h1, &p1);
    if (parse(buf, len, flags, cap, h2, &p2) != r) abort();
    if (r) {
        if (p1 != 1 || p2 != 2) abort(); /* untouched on error */
        return;
    }
    if (!memchr(h1, 0, cap) || strcmp(h1, h2)) abort();
    if (!h1[0] && !(flags & LN_HP_EMPTY_HOST) && !memchr(buf, 0, len)) abort();
    int kept = p1 == 1 && p2 == 2; /* no port given */
    if (kept ? !(flags & LN_HP_PORT_OPTIONAL) : p1 != p2) abort();
    if (!kept && p1 == 0 && !(flags & LN_HP_PORT_ZERO)) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly size bytes: ASan catches a read past the end. */
    char *buf = malloc(size ? size : 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    for (unsigned flags = 0; flags < 32; flags++) {
        one(buf, size, flags, 256);
        one(buf, size, flags, 4);
    }
    free(buf);
    return 0;
}
