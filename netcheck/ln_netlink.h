/*
 * ln_netlink — the two rtnetlink questions netcheck asks: which route the
 * kernel would use for an address (RTM_GETROUTE, as `ip route get`), and
 * the state of an interface (RTM_GETLINK, as `ip link show`).
 * Both return 0 or a negative errno; for a route that is the kernel's own
 * answer (-ENETUNREACH: no route, -EHOSTUNREACH, -EACCES: a prohibit route).
 */
#ifndef LSPTAP_NETCHECK_LN_NETLINK_H
#define LSPTAP_NETCHECK_LN_NETLINK_H

#include <net/if.h>
#include <sys/socket.h>

struct ln_route {
    int type;    /* RTN_UNICAST, RTN_LOCAL, RTN_UNREACHABLE, ... */
    int ifindex; /* 0 when none */
    char ifname[IF_NAMESIZE];
    struct sockaddr_storage gateway; /* ss_family 0 when on-link */
    struct sockaddr_storage src;     /* preferred source; ss_family 0 when none */
};

struct ln_linkinfo {
    unsigned flags; /* IFF_UP, IFF_RUNNING, IFF_LOWER_UP, IFF_LOOPBACK ... */
    int mtu;        /* -1 when not reported */
    int operstate;  /* IF_OPER_*, -1 when not reported */
    char name[IF_NAMESIZE];
};

int ln_route_get(const struct sockaddr *dst, struct ln_route *r);
int ln_link_get(int ifindex, struct ln_linkinfo *li);
const char *ln_route_type_name(int type);
const char *ln_operstate_name(int operstate);

#endif
