/*
 * ln_hostport — the one HOST:PORT parser and printer.
 *
 * Every address lsptap reads goes through ln_hostport_parse: netcheck's
 * target, `lsptap relay`'s --listen/--connect (lp_addr_parse adds unix: and
 * tls://), the dlv stand-in's --listen and dlv's "listening at" line, and
 * the authority of a GOPROXY/GOSUMDB/HTTP proxy URL (lp_net_authority). The
 * grammar is one; what a caller may leave out is a flag. No I/O, no
 * allocation.
 */
#ifndef LSPTAP_NETCHECK_LN_HOSTPORT_H
#define LSPTAP_NETCHECK_LN_HOSTPORT_H

#include <stddef.h>
#include <stdint.h>

/* What a caller accepts beyond the strict "HOST:PORT" / "[V6]:PORT" with a
 * non-empty host and a port from 1 to 65535. */
enum {
    LN_HP_EMPTY_HOST = 1 << 0,    /* ":PORT": no host (a listener's every interface) */
    LN_HP_PORT_ZERO = 1 << 1,     /* port 0: the system picks one (a listener) */
    LN_HP_PORT_OPTIONAL = 1 << 2, /* "HOST", "[V6]", "HOST:" (a URL's authority): *port
                                     is left as the caller set it */
    LN_HP_TLS_OPTION = 1 << 3,    /* the caller has a --tls option (netcheck): a tls:// or
                                     https:// URL's suggestion is "HOST:PORT --tls" */
    LN_HP_TLS_SCHEME = 1 << 4,    /* the caller's addresses take a tcp:// or tls:// prefix
                                     (lsptap relay's ADDR): it is skipped (the caller reads
                                     which), the sentences quote it with the rest, and a
                                     suggestion for an https:// URL or for what follows
                                     tls:// is "tls://HOST:PORT" (with LN_HP_TLS_OPTION
                                     too, this one wins) */
};

/* Parses the first len bytes of s (which need not be NUL-terminated there).
 * An IPv6 address must be in brackets. host receives the name or address
 * without brackets, NUL-terminated. Returns 0, or -EINVAL with a sentence in
 * err that quotes the input and says what is wrong with it: no ':PORT',
 * '[' without ']', an IPv6 address without brackets, an empty host, a host
 * longer than cap - 1 bytes, a port that is not a number in range. A URL
 * or user information before '@' is named, with the HOST:PORT inside it to
 * give instead (an http:// or https:// URL without a port: its default, 80
 * or 443), a TLS URL's in the caller's way of asking for TLS (the flags
 * above). */
int ln_hostport_parse(const char *s, size_t len, unsigned flags, char *host, size_t cap,
                      uint16_t *port, char *err, size_t errlen);

/* "HOST:PORT", or "[HOST]:PORT" when host is an IPv6 address, into buf
 * (snprintf's truncation and return value). */
int ln_hostport_format(char *buf, size_t len, const char *host, unsigned port);

struct sockaddr;

/* 1 when sa is a loopback address (127.0.0.0/8, ::1), 0 for anything else
 * (other families included). */
int ln_sockaddr_is_loopback(const struct sockaddr *sa);

/* An AF_INET or AF_INET6 address's host into buf: "127.0.0.1", "::1" (no
 * port, no brackets); "?" when it cannot be printed (another family, buf
 * too small). Returns buf. */
const char *ln_addr_str(const struct sockaddr *sa, char *buf, size_t len);

/* An AF_INET or AF_INET6 address as HOST:PORT into buf: "127.0.0.1:4389",
 * "[::1]:4389", the form ln_hostport_parse reads back (snprintf's
 * truncation). Returns buf. */
const char *ln_addrport_str(const struct sockaddr *sa, char *buf, size_t len);

/* 1 when host is "localhost" (any case) or a loopback address literal. */
int ln_host_is_loopback(const char *host);

#endif
