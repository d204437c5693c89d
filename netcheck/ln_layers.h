/*
 * The layer units behind ln_run() and the context they share.
 *
 * Each ln_layer_X fills `res` (status, summary, hint, evidence; ln_run sets
 * layer and ms) and returns 0, or a negative errno when it could not run.
 * A layer reads what earlier layers left in the context and may leave
 * something for later ones (the addresses, the route's device, the
 * connected socket, the TLS session). The context owns what it holds;
 * ln_ctx_close releases it.
 */
#ifndef LSPTAP_NETCHECK_LN_LAYERS_H
#define LSPTAP_NETCHECK_LN_LAYERS_H

#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "netcheck/ln.h"
#include "netcheck/ln_hostport.h" /* ln_addr_str, ln_addrport_str */
#include "netcheck/ln_netlink.h"

#define LN_MAX_ADDRS 8

struct ln_pcap;
struct ssl_st;
struct ssl_ctx_st;

struct ln_ctx {
    struct sockaddr_storage addrs[LN_MAX_ADDRS]; /* port filled in */
    socklen_t addrlens[LN_MAX_ADDRS];
    int naddrs;
    int literal; /* host is an address literal */
    int dns_failed;

    int route_err; /* 0, or the negative errno of the route lookup */
    struct ln_route route;
    int link_down;                 /* the output interface is down or has no carrier */
    char down_ifname[IF_NAMESIZE]; /* that interface */

    int fd; /* the connected socket, or -1 */
    struct sockaddr_storage peer;
    socklen_t peerlen;
    struct ssl_st *ssl;
    struct ssl_ctx_st *sslctx;
    int tls_failed;

    struct ln_pcap *pcap;
};

void ln_ctx_init(struct ln_ctx *c);
void ln_ctx_close(struct ln_ctx *c);

int ln_layer_dns(const struct ln_target *t, struct ln_ctx *c, struct ln_layer_result *res);
int ln_layer_link(const struct ln_target *t, struct ln_ctx *c, struct ln_layer_result *res);
int ln_layer_network(const struct ln_target *t, struct ln_ctx *c, struct ln_layer_result *res);
int ln_layer_transport(const struct ln_target *t, struct ln_ctx *c, struct ln_layer_result *res);
int ln_layer_tls(const struct ln_target *t, struct ln_ctx *c, struct ln_layer_result *res);
int ln_layer_app(const struct ln_target *t, struct ln_ctx *c, struct ln_layer_result *res);

/* Helpers the units share. */
void ln_set(struct ln_layer_result *res, enum ln_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void ln_hint(struct ln_layer_result *res, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The layers that need an address: when the name resolved to none, the
 * result is "skipped, no address to WHAT" and 1 is returned; else 0. */
int ln_skip_unresolved(const struct ln_ctx *c, struct ln_layer_result *res, const char *what);
/* The ICMP error the kernel queued for fd (IP_RECVERR, IPV6_RECVERR), read
 * without waiting: 1 with ic filled (from: the reporting router, "" when
 * unknown; local: that router is this host), 0 when there is none. The
 * transport layer's connect and ln_ping's ping socket both read it. */
struct ln_icmp;
int ln_icmp_from_errqueue(int fd, struct ln_icmp *ic);
double ln_now_ms(void);
double ln_round_ms(double ms); /* to the microsecond, for evidence */

#endif
