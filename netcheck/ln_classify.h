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

enum ln_conn_class {
    LN_CONN_OK,
    LN_CONN_REFUSED,     /* RST: nothing listens */
    LN_CONN_FILTERED,    /* SYNs unanswered until the timeout */
    LN_CONN_UNREACHABLE, /* ICMP unreachable, or no neighbour answer */
    LN_CONN_PROHIBITED,  /* ICMP administratively prohibited */
    LN_CONN_NOROUTE,     /* ENETUNREACH with no ICMP: no route here */
    LN_CONN_POLICY,      /* EPERM / EACCES: this host's own policy */
    LN_CONN_LOCALDROP,   /* SYNs sent (TCP_INFO) but none on the wire (pcap) */
    LN_CONN_NONEIGH,     /* ARP / neighbour solicitations unanswered (pcap) */
    LN_CONN_NOSRC,       /* EADDRNOTAVAIL */
    LN_CONN_OTHER,
};

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

enum ln_dns_class {
    LN_DNS_OK,
    LN_DNS_NXDOMAIN, /* the name does not exist */
    LN_DNS_NODATA,   /* it exists but has no address */
    LN_DNS_TEMPFAIL, /* resolver unreachable or SERVFAIL: try again */
    LN_DNS_FAIL,     /* a permanent resolver error */
    LN_DNS_TIMEOUT,  /* no answer within netcheck's timeout */
    LN_DNS_OTHER,
};
enum ln_dns_class ln_classify_gai(int eai);
const char *ln_dns_class_name(enum ln_dns_class c);

/* ---- tls ---- */

enum ln_tls_class {
    LN_TLS_OK,
    LN_TLS_NOT_TLS,
    LN_TLS_UNKNOWN_CA,
    LN_TLS_SELF_SIGNED,
    LN_TLS_EXPIRED,
    LN_TLS_NOT_YET_VALID,
    LN_TLS_NAME_MISMATCH,
    LN_TLS_HANDSHAKE, /* an alert or another handshake failure */
    LN_TLS_OTHER,     /* another verification error */
    LN_TLS_CLIENT_CERT_REQUIRED, /* the server wants a client certificate; none given */
    LN_TLS_CLIENT_CERT_REJECTED, /* the server refused the one given */
};
/* The verdict for every X509_V_ERR_* collected during the handshake. Trust
 * (unknown CA, self-signed) comes first, then dates, then the name: the most
 * fundamental problem is the one to fix first. */
enum ln_tls_class ln_classify_verify(const int *errs, size_t n);
const char *ln_tls_class_name(enum ln_tls_class c);
const char *ln_tls_hint(enum ln_tls_class c);

/* ---- application ---- */

enum ln_app_class {
    LN_APP_MORE,      /* no decision yet: read more */
    LN_APP_SPEAKS,    /* answered the probe's initialize */
    LN_APP_OTHER_RPC, /* framed, but the other protocol (DAP for an LSP probe...) */
    LN_APP_NO_ANSWER, /* framed messages, but no reply to initialize */
    LN_APP_HTTP,
    LN_APP_GARBAGE, /* something else */
    LN_APP_CLOSED,  /* closed before sending anything */
    LN_APP_SILENT,  /* nothing until the timeout */
};
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
