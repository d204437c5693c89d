/*
 * ln_gofail — recognise a network failure in a text gopls sent (a
 * window/logMessage, a showMessage, a diagnostic, an error reply), the way
 * `go` and net/http word it, and extract what it failed to reach.
 *
 * Pure: no I/O, no allocation; the input is the decoded text (not JSON).
 * The wording comes from Go's own sources (net, net/http, crypto/x509,
 * crypto/tls, cmd/go) and the Windows system messages Go's syscall.Errno
 * prints; git's and ssh's words for direct VCS fetches are recognised too.
 * The table is in tests/unit/test_gofail.c.
 *
 * A text is a network failure only when it names a target (a dialed
 * address, a URL, a proxy or a looked-up name) AND a failure class: an
 * answer from the server (`404 Not Found`, `checksum mismatch`) names a
 * target but no class, so it is not one.
 */
#ifndef LSPTAP_NETCHECK_LN_GOFAIL_H
#define LSPTAP_NETCHECK_LN_GOFAIL_H

#include <stddef.h>
#include <stdint.h>

#include "netcheck/ln.h"

enum ln_gofail_class {
    LN_GOFAIL_NONE,            /* not a network failure */
    LN_GOFAIL_REFUSED,         /* connection refused: nothing listens */
    LN_GOFAIL_TIMEOUT,         /* i/o timeout, context deadline exceeded, ... */
    LN_GOFAIL_UNREACHABLE,     /* no route to host, network is unreachable */
    LN_GOFAIL_DNS,             /* no such host, server misbehaving, temporary failure */
    LN_GOFAIL_TLS,             /* a TLS handshake failure (not a certificate) */
    LN_GOFAIL_X509_EXPIRED,    /* certificate has expired or is not yet valid */
    LN_GOFAIL_X509_UNKNOWN_CA, /* certificate signed by unknown authority */
    LN_GOFAIL_X509_NAME,       /* certificate is valid for X, not Y */
    LN_GOFAIL_X509_OTHER,      /* another x509 failure */
    LN_GOFAIL_RESET,           /* connection reset, forcibly closed, EOF */
    LN_GOFAIL_PROXY_STATUS,    /* Get "https://...": Forbidden: the HTTP proxy refused CONNECT */
    LN_GOFAIL_NCLASSES
};

/* Where the failure was seen, for the words. */
struct ln_gofail {
    enum ln_gofail_class cls;
    /* What the text names; "" / 0 when absent. */
    char url[LN_TEXT_MAX]; /* the URL fetched (Get "URL", reading URL, unable to access 'URL') */
    char url_host[LN_HOST_MAX];
    uint16_t url_port; /* explicit, or 443 / 80 by scheme */
    int url_https;
    char dial_host[LN_HOST_MAX]; /* dial tcp HOST:PORT */
    uint16_t dial_port;
    int via_proxy;            /* proxyconnect tcp: the dial was to the HTTP proxy */
    char lookup[LN_HOST_MAX]; /* lookup NAME */
    /* The target to check: the proxy when the proxy failed, else the URL's
     * host, else the dialed address, else the looked-up name. */
    char host[LN_HOST_MAX];
    uint16_t port; /* 0 only for a proxy whose name failed to resolve: the
                    * text does not say its port; the proxy setting does */
    int tls;       /* the target speaks TLS (https URL, or a certificate failure) */
    /* The failing phrase as found in the text, e.g. "connection refused". */
    char cause[LN_TEXT_MAX];
};

/* Parses text[0..len). Returns 1 and fills *g when the text reports a
 * network failure with a target, 0 otherwise (then g->cls is NONE). */
int ln_gofail_parse(const char *text, size_t len, struct ln_gofail *g);

/* "refused", "timeout", "unreachable", "dns", "tls", "x509-expired",
 * "x509-unknown-ca", "x509-name", "x509", "reset", "proxy-status", "none". */
const char *ln_gofail_class_name(enum ln_gofail_class c);

/* The netcheck layer where this class shows: transport for refused,
 * timeout, unreachable and reset; dns; tls for TLS and x509; application
 * for a proxy's refusal. */
enum ln_layer ln_gofail_layer(enum ln_gofail_class c);

/* Cheap pre-filter on raw (possibly JSON-escaped) bytes: 0 when the text
 * certainly holds no failure ln_gofail_parse would recognise. */
int ln_gofail_maybe(const char *text, size_t len);

#endif
