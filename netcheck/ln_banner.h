/*
 * ln_banner — who answers, when it is not the LSP or DAP server the probe
 * expected: the first bytes a peer sent, named (an HTTP status line, a TLS
 * record, an SSH, SMTP, FTP, POP3 or IMAP greeting, a Redis or MySQL
 * reply...). Pure; tested in tests/unit/test_banner.c.
 */
#ifndef LSPTAP_NETCHECK_LN_BANNER_H
#define LSPTAP_NETCHECK_LN_BANNER_H

#include <stddef.h>

enum ln_banner {
    LN_BANNER_UNKNOWN,
    LN_BANNER_HTTP,  /* "HTTP/1.1 404 Not Found" */
    LN_BANNER_HTTP2, /* an HTTP/2 frame (a server that speaks h2c only) */
    LN_BANNER_TLS,   /* a TLS record: handshake (0x16 0x03) or alert (0x15 0x03) */
    LN_BANNER_SSH,   /* "SSH-2.0-OpenSSH_9.2" */
    LN_BANNER_SMTP,  /* "220 host ESMTP ..." */
    LN_BANNER_FTP,   /* "220 (vsFTPd 3.0.3)" */
    LN_BANNER_220,   /* "220 ..." that says neither */
    LN_BANNER_POP3,  /* "+OK ..." */
    LN_BANNER_IMAP,  /* "* OK ..." */
    LN_BANNER_REDIS, /* "-ERR ..." */
    LN_BANNER_MYSQL, /* a MySQL / MariaDB handshake packet */
};

/* Names what buf[0..len) is. `line` gets the printable first line of a
 * text banner (escaped, at most about 80 characters; "" for a binary one).
 * Returns the kind; ln_banner_what() words it. */
enum ln_banner ln_banner_identify(const char *buf, size_t len, char *line, size_t cap);

/* "an HTTP server", "a TLS server", "an SSH server", ... ("" for unknown). */
const char *ln_banner_what(enum ln_banner b);

#endif
