/*
 * HOST:PORT parsing and the target's defaults.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netcheck/ln.h"

void ln_target_init(struct ln_target *t)
{
    memset(t, 0, sizeof(*t));
    t->probe = LN_PROBE_LSP;
    t->timeout_ms = 3000;
}

static int bad(char *err, size_t len, const char *fmt, const char *arg)
{
    snprintf(err, len, fmt, arg);
    return -EINVAL;
}

int ln_target_parse(struct ln_target *t, const char *hp, char *err, size_t errlen)
{
    const char *host, *colon;
    size_t hlen;
    if (hp[0] == '[') {
        const char *close = strchr(hp, ']');
        if (!close) return bad(err, errlen, "\"%s\": '[' without ']'", hp);
        if (close[1] != ':') return bad(err, errlen, "\"%s\": expected [ADDRESS]:PORT", hp);
        host = hp + 1;
        hlen = (size_t)(close - host);
        colon = close + 1;
    } else {
        colon = strrchr(hp, ':');
        if (!colon) return bad(err, errlen, "\"%s\": expected HOST:PORT", hp);
        if (memchr(hp, ':', (size_t)(colon - hp)))
            return bad(err, errlen, "\"%s\": an IPv6 address needs brackets: [ADDRESS]:PORT", hp);
        host = hp;
        hlen = (size_t)(colon - hp);
    }
    if (hlen == 0) return bad(err, errlen, "\"%s\": empty host", hp);
    if (hlen >= sizeof(t->host)) return bad(err, errlen, "\"%.40s...\": host name too long", hp);
    const char *p = colon + 1;
    char *end;
    errno = 0;
    long port = strtol(p, &end, 10);
    if (!*p || *end || errno || port < 1 || port > 65535 || *p == '+' || *p == '-')
        return bad(err, errlen, "\"%s\": port must be a number from 1 to 65535", hp);
    memcpy(t->host, host, hlen);
    t->host[hlen] = '\0';
    t->port = (uint16_t)port;
    return 0;
}
