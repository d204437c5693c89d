/*
 * lp_netenv — the network as go sees it from the environment: the host and
 * port of a GOPROXY/GOSUMDB URL, the HTTP proxy go's net/http would use for
 * it (HTTP(S)_PROXY, NO_PROXY), and what a host is to go. Shared by the
 * relay's netwatch and `lsptap doctor --net`. Reads getenv only.
 */
#ifndef LSPTAP_ENV_LP_NETENV_H
#define LSPTAP_ENV_LP_NETENV_H

#include <stddef.h>
#include <stdint.h>

/* The host and port of a URL's authority h (what follows "scheme://"; it
 * ends at '/', '?' or '#'): userinfo skipped, IPv6 brackets removed, the
 * port 443 or 80 (tls) when none is given (ln_hostport_parse with the port
 * optional). 1, or 0 when there is no host, it does not fit in cap, or the
 * port is not a number from 1 to 65535 (go refuses such a URL too). */
int lp_net_authority(const char *h, int tls, char *host, size_t cap, uint16_t *port);

/* The HTTP proxy go's net/http would use for a URL of that scheme and host
 * (HTTPS_PROXY / HTTP_PROXY, lower case too; NO_PROXY; never for localhost
 * or a loopback address). Returns 1 and fills host, port (default 80, 443
 * for an https:// proxy) and *tls, or 0 for a direct connection. */
int lp_net_proxy_for(int https, const char *host, char *phost, size_t cap, uint16_t *pport,
                     int *ptls);

/* The credentials in the HTTP proxy URL go uses for that scheme's requests
 * (HTTPS_PROXY / HTTP_PROXY, lower case too; "http://USER:PASSWORD@HOST"):
 * "USER:PASSWORD" percent-decoded into out, as net/http sends it in
 * Proxy-Authorization ("USER:" for a user name alone). Returns 1, or 0 when
 * the URL has none or they do not fit in cap. out holds a secret: the caller
 * never prints it and clears it after use. */
int lp_net_proxy_userinfo(int https, char *out, size_t cap);

/* The name of the variable go's net/http takes the proxy for that scheme's
 * requests from, as httpproxy.FromEnvironment reads them: "HTTPS_PROXY",
 * else "https_proxy" (https), "HTTP_PROXY", else "http_proxy" (http), the
 * first set and not empty; NULL when neither is. What a message about the
 * proxy names, so that the user finds the setting they made. */
const char *lp_net_proxy_variable(int https);

/* What host is to go: "module proxy (GOPROXY)", "checksum database
 * (GOSUMDB)", "HTTP proxy", or "server". */
const char *lp_net_role(const char *host, int is_proxy);

#endif
