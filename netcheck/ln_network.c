/*
 * network layer: the route the kernel would use (or why there is none) and
 * one ICMP echo. A missing echo reply is a warning, never a failure: many
 * networks drop ICMP. An ICMP "network/host unreachable" answering the echo
 * is a failure, named with the router that sent it.
 */
#include <errno.h>
#include <ifaddrs.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>

#include "netcheck/ln_layers.h"
#include "netcheck/ln_ping.h"

static void route_evidence(struct ln_ctx *c, json_t *ev, char *desc, size_t len)
{
    char gw[64] = "", src[64] = "";
    json_t *r = json_object();
    json_object_set_new(r, "type", json_string(ln_route_type_name(c->route.type)));
    if (c->route.ifindex) json_object_set_new(r, "device", json_string(c->route.ifname));
    if (c->route.gateway.ss_family) {
        ln_addr_str((struct sockaddr *)&c->route.gateway, gw, sizeof(gw));
        json_object_set_new(r, "gateway", json_string(gw));
    }
    if (c->route.src.ss_family) {
        ln_addr_str((struct sockaddr *)&c->route.src, src, sizeof(src));
        json_object_set_new(r, "source", json_string(src));
    }
    json_object_set_new(ev, "route", r);
    if (c->route.type == RTN_LOCAL)
        snprintf(desc, len, "local address (dev %s)", c->route.ifname);
    else if (gw[0])
        snprintf(desc, len, "via %s dev %s src %s", gw, c->route.ifname, src[0] ? src : "?");
    else
        snprintf(desc, len, "on-link dev %s src %s", c->route.ifname, src[0] ? src : "?");
}

static const char *route_err_words(int err)
{
    switch (err) {
    case -ENETUNREACH:
        return "no route (ENETUNREACH)";
    case -EHOSTUNREACH:
        return "an unreachable route (EHOSTUNREACH)";
    case -EACCES:
        return "a prohibit route (EACCES)";
    case -EINVAL:
        return "a blackhole route (EINVAL)";
    default:
        return strerror(-err);
    }
}

/* Whether interface `ifindex` has an address of `family`. */
static int has_address(int ifindex, int family)
{
    struct ifaddrs *ifa0;
    if (getifaddrs(&ifa0) < 0) return 1; /* cannot tell: assume it has */
    char name[IF_NAMESIZE] = "";
    if_indextoname((unsigned)ifindex, name);
    int found = 0;
    for (struct ifaddrs *ifa = ifa0; ifa && !found; ifa = ifa->ifa_next)
        found = ifa->ifa_addr && ifa->ifa_addr->sa_family == family && !strcmp(ifa->ifa_name, name);
    freeifaddrs(ifa0);
    return found;
}

int ln_layer_network(const struct ln_target *t, struct ln_ctx *c, struct ln_layer_result *res)
{
    json_t *ev = res->evidence;
    if (ln_skip_unresolved(c, res, "route to")) return 0;
    char ta[64];
    const struct sockaddr *dst = (const struct sockaddr *)&c->addrs[0];
    ln_addr_str(dst, ta, sizeof(ta));
    json_object_set_new(ev, "address", json_string(ta));
    if (c->route_err < 0) {
        json_object_set_new(ev, "route_error", json_string(strerror(-c->route_err)));
        const char *down = c->down_ifname;
        if (c->link_down && down[0])
            ln_set(res, LN_FAIL, "no usable route to %s: the kernel answers %s, as %s is down", ta,
                   route_err_words(c->route_err), down);
        else
            ln_set(res, LN_FAIL, "no usable route to %s: the kernel answers %s", ta,
                   route_err_words(c->route_err));
        if (c->route_err == -ENETUNREACH)
            ln_hint(res,
                    "this host has no route to %s: add one (ip route add ...) or bring up "
                    "the interface that should reach it",
                    ta);
        else
            ln_hint(res, "a route on this host deliberately refuses %s: see ip route get %s", ta,
                    ta);
        return 0;
    }
    char desc[200];
    route_evidence(c, ev, desc, sizeof(desc));
    if (c->link_down) {
        ln_set(res, LN_FAIL, "route: %s, but the interface cannot carry traffic", desc);
        ln_hint(res, "see the link layer");
        return 0;
    }
    struct ln_ping_result p;
    int wait = t->timeout_ms < 1000 ? t->timeout_ms : 1000;
    ln_ping(dst, wait, &p);
    json_t *pe = json_object();
    if (p.method) json_object_set_new(pe, "method", json_string(p.method));
    json_object_set_new(ev, "echo", pe);
    /* An interface without an address of the family (a lost DHCP lease):
     * Linux borrows a source address from another interface, which the
     * other side may not route back. */
    int noaddr = c->route.type == RTN_UNICAST && c->route.ifindex &&
                 !has_address(c->route.ifindex, dst->sa_family);
    if (noaddr) json_object_set_new(ev, "interface_has_address", json_false());
    switch (p.outcome) {
    case LN_PING_REPLY:
        json_object_set_new(pe, "reply", json_true());
        json_object_set_new(pe, "rtt_ms", json_real(ln_round_ms(p.rtt_ms)));
        ln_set(res, LN_OK, "route: %s; echo reply in %.2f ms", desc, p.rtt_ms);
        break;
    case LN_PING_NOREPLY:
        json_object_set_new(pe, "reply", json_false());
        if (noaddr) {
            ln_set(res, LN_WARN,
                   "route: %s; %s has no %s address (source borrowed from another interface); "
                   "no echo reply within %d ms",
                   desc, c->route.ifname, dst->sa_family == AF_INET6 ? "IPv6" : "IPv4", wait);
            ln_hint(res, "give %s an address (a lost DHCP lease?) or fix the route",
                    c->route.ifname);
            break;
        }
        ln_set(res, LN_WARN, "route: %s; no echo reply within %d ms (ICMP may be filtered)", desc,
               wait);
        ln_hint(res, "the host did not answer ping: harmless if ICMP is filtered, otherwise the "
                     "host may be down");
        break;
    case LN_PING_ICMPERR: {
        const char *what = ln_icmp_text(p.icmp.family, p.icmp.type, p.icmp.code);
        json_object_set_new(pe, "icmp_type", json_integer(p.icmp.type));
        json_object_set_new(pe, "icmp_code", json_integer(p.icmp.code));
        json_object_set_new(pe, "icmp_text", json_string(what));
        if (p.icmp.from[0]) json_object_set_new(pe, "icmp_from", json_string(p.icmp.from));
        if (ln_icmp_prohibited(p.icmp.family, p.icmp.type, p.icmp.code)) {
            ln_set(res, LN_WARN, "route: %s; echo answered by ICMP %s from %s (ICMP filtered)",
                   desc, what, p.icmp.from[0] ? p.icmp.from : "?");
            ln_hint(res, "ICMP echo is rejected on the way; the transport test says more");
        } else {
            ln_set(res, LN_FAIL, "%s unreachable: ICMP %s (type %d code %d) from %s", ta, what,
                   p.icmp.type, p.icmp.code, p.icmp.from[0] ? p.icmp.from : "?");
            ln_hint(res,
                    "router %s cannot reach %s (%s): check the routes beyond it, or "
                    "whether the host is up",
                    p.icmp.from[0] ? p.icmp.from : "on the path", ta, what);
        }
        break;
    }
    case LN_PING_NOPERM:
        json_object_set_new(pe, "permitted", json_false());
        ln_set(res, LN_WARN, "route: %s; ICMP not permitted here (%s)", desc, strerror(p.err));
        ln_hint(res, "no ping socket (net.ipv4.ping_group_range) and no CAP_NET_RAW: the route "
                     "was checked, reachability was not");
        break;
    case LN_PING_SENDERR:
        json_object_set_new(pe, "error", json_string(strerror(p.err)));
        ln_set(res, LN_WARN, "route: %s; echo could not be sent (%s)", desc, strerror(p.err));
        ln_hint(res, "sending ICMP failed (%s): a local firewall may drop it", strerror(p.err));
        break;
    }
    return 0;
}
