/*
 * ln_classify — the pure decisions behind the verdicts: which failure class
 * an errno, an ICMP error, a getaddrinfo code, a set of OpenSSL verify
 * errors or a probe's reply is, and the words for each. No I/O, so every
 * case is unit-tested (tests/unit/test_netcheck_classify.c).
 */
#ifndef LSPTAP_NETCHECK_LN_CLASSIFY_H
#define LSPTAP_NETCHECK_LN_CLASSIFY_H

#include <stddef.h>

#include "netcheck/ln.h"

/* ---- transport ---- */

/* Each enum below is one X-macro list of (value, name): the enum and its
 * name table are generated from the same list, so they cannot drift apart.
 * The names are stable: they are the `class` in netcheck's JSON evidence. */
#define LN_CONN_CLASSES(X)                                                                         \
    X(LN_CONN_OK, "ok")                                                                            \
    X(LN_CONN_REFUSED, "refused")         /* RST: nothing listens */                               \
    X(LN_CONN_FILTERED, "filtered")       /* SYNs unanswered until the timeout */                  \
    X(LN_CONN_UNREACHABLE, "unreachable") /* ICMP unreachable, or no neighbour answer */           \
    X(LN_CONN_PROHIBITED, "prohibited")   /* ICMP administratively prohibited */                   \
    X(LN_CONN_NOROUTE, "no-route")        /* ENETUNREACH with no ICMP: no route here */            \
    X(LN_CONN_POLICY, "policy")           /* EPERM / EACCES: this host's own policy */             \
    X(LN_CONN_LOCALDROP, "local-drop")    /* SYNs sent (TCP_INFO), none on the wire */             \
    X(LN_CONN_NONEIGH, "no-neighbour")    /* ARP / ND solicitations unanswered (pcap) */           \
    X(LN_CONN_NOSRC, "no-source-address") /* EADDRNOTAVAIL */                                      \
    X(LN_CONN_OTHER, "other")

enum ln_conn_class { LN_CONN_CLASSES(LN_ENUM_VALUE) };
enum { LN_CONN_NCLASSES = 0 LN_CONN_CLASSES(LN_ENUM_COUNT) };

/* An ICMP error the kernel queued for the socket (IP_RECVERR). */
struct ln_icmp {
    int present;
    int family; /* AF_INET (ICMP) or AF_INET6 (ICMPv6) */
    int type, code;
    char from[64]; /* the reporting router, "" when unknown */
    int local;     /* `from` is an address of this host: its own firewall */
};

/* err: the connect's errno (positive; ETIMEDOUT for netcheck's own timeout),
 * 0 on success. */
enum ln_conn_class ln_classify_connect(int err, const struct ln_icmp *icmp);
/* The class's stable name; "?" for a value outside the enum. */
const char *ln_conn_class_name(enum ln_conn_class c);
/* One-line summary and hint for the class. `addr` is "host:port" as dialled,
 * `syns` the SYNs sent (TCP_INFO; <= 0 unknown). */
void ln_explain_connect(enum ln_conn_class c, int err, const struct ln_icmp *icmp, const char *addr,
                        enum ln_probe probe, int syns, int timeout_ms, char *summary, size_t slen,
                        char *hint, size_t hlen);
/* "port unreachable", "communication administratively prohibited", ... */
const char *ln_icmp_text(int family, int type, int code);
int ln_icmp_prohibited(int family, int type, int code);

/* ---- dns ---- */

#define LN_DNS_CLASSES(X)                                                                          \
    X(LN_DNS_OK, "ok")                                                                             \
    X(LN_DNS_NXDOMAIN, "nxdomain") /* the name does not exist */                                   \
    X(LN_DNS_NODATA, "nodata")     /* it exists but has no address */                              \
    X(LN_DNS_TEMPFAIL, "tempfail") /* resolver unreachable or SERVFAIL */                          \
    X(LN_DNS_FAIL, "fail")         /* a permanent resolver error */                                \
    X(LN_DNS_TIMEOUT, "timeout")   /* no answer within netcheck's timeout */                       \
    X(LN_DNS_OTHER, "other")
enum ln_dns_class { LN_DNS_CLASSES(LN_ENUM_VALUE) };
enum { LN_DNS_NCLASSES = 0 LN_DNS_CLASSES(LN_ENUM_COUNT) };
enum ln_dns_class ln_classify_gai(int eai);
const char *ln_dns_class_name(enum ln_dns_class c);

/* ---- tls ---- */

#define LN_TLS_CLASSES(X)                                                                          \
    X(LN_TLS_OK, "ok")                                                                             \
    X(LN_TLS_NOT_TLS, "not-tls")                                                                   \
    X(LN_TLS_UNKNOWN_CA, "unknown-ca")                                                             \
    X(LN_TLS_SELF_SIGNED, "self-signed")                                                           \
    X(LN_TLS_EXPIRED, "expired")                                                                   \
    X(LN_TLS_NOT_YET_VALID, "not-yet-valid")                                                       \
    X(LN_TLS_NAME_MISMATCH, "name-mismatch")                                                       \
    X(LN_TLS_HANDSHAKE, "handshake-failed") /* an alert or another handshake failure */            \
    X(LN_TLS_OTHER, "verify-failed")        /* another verification error */                       \
    X(LN_TLS_CLIENT_CERT_REQUIRED, "client-cert-required") /* wanted one; none given */            \
    X(LN_TLS_CLIENT_CERT_REJECTED, "client-cert-rejected") /* refused the one given */
enum ln_tls_class { LN_TLS_CLASSES(LN_ENUM_VALUE) };
enum { LN_TLS_NCLASSES = 0 LN_TLS_CLASSES(LN_ENUM_COUNT) };
/* The verdict for every X509_V_ERR_* collected during the handshake. Trust
 * (unknown CA, self-signed) comes first, then dates, then the name: the most
 * fundamental problem is the one to fix first. */
enum ln_tls_class ln_classify_verify(const int *errs, size_t n);
const char *ln_tls_class_name(enum ln_tls_class c);
const char *ln_tls_hint(enum ln_tls_class c);

/* ---- application ---- */

#define LN_APP_CLASSES(X)                                                                          \
    X(LN_APP_MORE, "more")                /* no decision yet: read more */                         \
    X(LN_APP_SPEAKS, "speaks")            /* answered the probe's initialize */                    \
    X(LN_APP_OTHER_RPC, "other-protocol") /* framed, but the other protocol (DAP for LSP) */       \
    X(LN_APP_NO_ANSWER, "no-answer")      /* framed messages, but no reply to initialize */        \
    X(LN_APP_HTTP, "http")                                                                         \
    X(LN_APP_GARBAGE, "other") /* something else */                                                \
    X(LN_APP_CLOSED, "closed") /* closed before sending anything */                                \
    X(LN_APP_SILENT, "silent") /* nothing until the timeout */
enum ln_app_class { LN_APP_CLASSES(LN_ENUM_VALUE) };
enum { LN_APP_NCLASSES = 0 LN_APP_CLASSES(LN_ENUM_COUNT) };
enum ln_app_end { LN_END_NONE, LN_END_EOF, LN_END_TIMEOUT };

struct ln_app_info {
    char name[128];    /* serverInfo.name, or "" */
    char version[128]; /* serverInfo.version, or "" */
    int error;         /* initialize answered with an error */
    char error_msg[160];
    int capabilities; /* keys in result.capabilities (LSP) or body (DAP) */
    char first[160];  /* first bytes, escaped */
};
/* Decides what the bytes received so far say, `end` telling whether the
 * peer closed or the timeout passed. */
enum ln_app_class ln_classify_reply(enum ln_probe probe, const char *buf, size_t len,
                                    enum ln_app_end end, struct ln_app_info *info);
const char *ln_app_class_name(enum ln_app_class c);
/* Printable form of bytes: \r \n \t \xNN, at most `max` input bytes. */
void ln_escape(const char *s, size_t n, size_t max, char *out, size_t outlen);

#endif
