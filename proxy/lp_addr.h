/*
 * lp_addr — the address syntax of `lsptap relay` (--listen / --connect ADDR)
 * and LSPTAP_REMOTE: HOST:PORT, [IPV6]:PORT, tcp:// or tls:// before them,
 * or unix:PATH. HOST:PORT itself is read by netcheck's one parser
 * (netcheck/ln_hostport.h); this adds the schemes and unix sockets.
 */
#ifndef LSPTAP_PROXY_LP_ADDR_H
#define LSPTAP_PROXY_LP_ADDR_H

#include <stddef.h>
#include <sys/socket.h>

enum lp_addr_kind { LP_ADDR_TCP, LP_ADDR_TLS, LP_ADDR_UNIX };

struct lp_addr {
    enum lp_addr_kind kind;
    char host[256]; /* without brackets */
    char port[16];
    char path[108]; /* unix */
    char text[400]; /* as given */
};

/* Parses ADDR: unix:PATH, or [tcp://|tls://] then HOST:PORT with an empty
 * host (every interface) and port 0 allowed (ln_hostport_parse). Returns 0,
 * or -EINVAL with a sentence in err quoting ADDR. */
int lp_addr_parse(const char *s, struct lp_addr *a, char *err, size_t errlen);

#endif
