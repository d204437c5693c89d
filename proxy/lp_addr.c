/* The relay's ADDR syntax (proxy/lp_addr.h). */
#include "proxy/lp_addr.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "netcheck/ln_hostport.h"

int lp_addr_parse(const char *s, struct lp_addr *a, char *err, size_t errlen)
{
    memset(a, 0, sizeof *a);
    snprintf(a->text, sizeof a->text, "%s", s);
    if (!strncmp(s, "unix:", 5)) {
        a->kind = LP_ADDR_UNIX;
        if (!s[5] || strlen(s + 5) >= sizeof a->path) {
            snprintf(err, errlen, "\"%s\": a unix socket path must be 1 to %zu bytes", s,
                     sizeof a->path - 1);
            return -EINVAL;
        }
        strcpy(a->path, s + 5);
        return 0;
    }
    /* ln_hostport_parse skips the tcp:// or tls:// itself (LN_HP_TLS_SCHEME),
     * so that its sentences quote the address as typed and a suggestion for
     * "tls://user:pw@h:1" is "tls://h:1", not plain-TCP "h:1". */
    a->kind = strncmp(s, "tls://", 6) ? LP_ADDR_TCP : LP_ADDR_TLS;
    int scheme = a->kind == LP_ADDR_TLS || !strncmp(s, "tcp://", 6);
    if (!strchr(s + (scheme ? 6 : 0), ':')) {
        snprintf(err, errlen, "\"%s\" is not HOST:PORT, [IPV6]:PORT or unix:PATH", a->text);
        return -EINVAL;
    }
    uint16_t port;
    int r = ln_hostport_parse(s, strlen(s), LN_HP_EMPTY_HOST | LN_HP_PORT_ZERO | LN_HP_TLS_SCHEME,
                              a->host, sizeof a->host, &port, err, errlen);
    if (r) return r;
    snprintf(a->port, sizeof a->port, "%u", port);
    return 0;
}
