/*
 * ln_banner — who answers, when it is not the LSP or DAP server the probe
 * expected: the first bytes a peer sent, named (an HTTP status line, a TLS
 * record, an SSH, SMTP, FTP, POP3 or IMAP greeting, a Redis or MySQL
 * reply...). Pure; tested in tests/unit/test_banner.c.
 */
#ifndef LSPTAP_NETCHECK_LN_BANNER_H
#define LSPTAP_NETCHECK_LN_BANNER_H

#include <stddef.h>

#include "netcheck/ln.h"

/* What can answer, and how ln_banner_what words it. */
#define LN_BANNERS(X)                                                                              \
    X(LN_BANNER_UNKNOWN, "")                                                                       \
    X(LN_BANNER_HTTP, "an HTTP server")                          /* "HTTP/1.1 404 Not Found" */    \
    X(LN_BANNER_HTTP2, "an HTTP/2 server")                       /* an HTTP/2 frame (h2c only) */  \
    X(LN_BANNER_TLS, "a TLS server")                             /* a handshake or alert record */ \
    X(LN_BANNER_SSH, "an SSH server")                            /* "SSH-2.0-OpenSSH_9.2" */       \
    X(LN_BANNER_SMTP, "a mail (SMTP) server")                    /* "220 host ESMTP ..." */        \
    X(LN_BANNER_FTP, "an FTP server")                            /* "220 (vsFTPd 3.0.3)" */        \
    X(LN_BANNER_220, "a server greeting with 220 (SMTP or FTP)") /* "220 ..." saying neither */    \
    X(LN_BANNER_POP3, "a POP3 server")                           /* "+OK ..." */                   \
    X(LN_BANNER_IMAP, "an IMAP server")                          /* "* OK ..." */                  \
    X(LN_BANNER_REDIS, "a Redis server")                         /* "-ERR ..." */                  \
    X(LN_BANNER_MYSQL, "a MySQL or MariaDB server") /* a MySQL / MariaDB handshake packet */

enum ln_banner { LN_BANNERS(LN_ENUM_VALUE) };

/* Names what buf[0..len) is. `line` gets the printable first line of a
 * text banner (escaped, at most about 80 characters; "" for a binary one).
 * Returns the kind; ln_banner_what() words it. */
enum ln_banner ln_banner_identify(const char *buf, size_t len, char *line, size_t cap);

/* "an HTTP server", "a TLS server", "an SSH server", ... ("" for unknown). */
const char *ln_banner_what(enum ln_banner b);

#endif
