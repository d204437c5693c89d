/*
 * transport layer: a non-blocking TCP connect to each address, each with
 * its own timeout. The kernel says how it ended: SO_ERROR for the errno,
 * the error queue (IP_RECVERR) for an ICMP error and the router that sent
 * it, TCP_INFO for how many SYNs went out before the time was up. With
 * CAP_NET_RAW, libpcap shows the packets themselves.
 */
#include <time.h> /* before linux/errqueue.h, which needs struct timespec */

#include <errno.h>
#include <linux/errqueue.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "netcheck/ln_classify.h"
#include "netcheck/ln_layers.h"
#include "netcheck/ln_pcap.h"

struct attempt {
    int fd; /* connected socket, or -1 */
    int err;
    int syns;
    double ms;
    struct ln_icmp icmp;
};

int ln_icmp_from_errqueue(int fd, struct ln_icmp *ic)
{
    char cbuf[512], data[64];
    struct iovec iov = {data, sizeof(data)};
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
    if (recvmsg(fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) return 0;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
        if (!((cm->cmsg_level == SOL_IP && cm->cmsg_type == IP_RECVERR) ||
              (cm->cmsg_level == SOL_IPV6 && cm->cmsg_type == IPV6_RECVERR)))
            continue;
        struct sock_extended_err *ee = (struct sock_extended_err *)CMSG_DATA(cm);
        if (ee->ee_origin != SO_EE_ORIGIN_ICMP && ee->ee_origin != SO_EE_ORIGIN_ICMP6) continue;
        ic->present = 1;
        ic->family = ee->ee_origin == SO_EE_ORIGIN_ICMP6 ? AF_INET6 : AF_INET;
        ic->type = ee->ee_type;
        ic->code = ee->ee_code;
        ic->from[0] = '\0';
        struct sockaddr *off = SO_EE_OFFENDER(ee);
        if (off->sa_family == AF_INET || off->sa_family == AF_INET6) {
            ln_addr_str(off, ic->from, sizeof(ic->from));
            struct ln_route r;
            ic->local = ln_route_get(off, &r) == 0 && r.type == RTN_LOCAL;
        }
        return 1;
    }
    return 0;
}

static int syns_sent(int fd)
{
    struct tcp_info ti;
    socklen_t len = sizeof(ti);
    memset(&ti, 0, sizeof(ti));
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0) return -1;
    return 1 + (int)ti.tcpi_total_retrans;
}

static void try_connect(const struct sockaddr *sa, socklen_t len, int timeout_ms, struct attempt *a)
{
    memset(a, 0, sizeof(*a));
    a->fd = -1;
    double t0 = ln_now_ms();
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        a->err = errno;
        return;
    }
    int on = 1;
    if (sa->sa_family == AF_INET6)
        setsockopt(fd, SOL_IPV6, IPV6_RECVERR, &on, sizeof(on));
    else
        setsockopt(fd, SOL_IP, IP_RECVERR, &on, sizeof(on));
    if (connect(fd, sa, len) == 0) goto connected;
    if (errno != EINPROGRESS) {
        a->err = errno;
        goto failed;
    }
    for (;;) {
        int left = (int)(timeout_ms - (ln_now_ms() - t0));
        struct pollfd pfd = {fd, POLLOUT, 0};
        int n = left > 0 ? poll(&pfd, 1, left) : 0;
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            a->err = ETIMEDOUT;
            a->syns = syns_sent(fd);
            goto failed;
        }
        int err = 0;
        socklen_t el = sizeof(err);
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
        if (err == 0) goto connected;
        a->err = err;
        a->syns = syns_sent(fd);
        goto failed;
    }
connected:
    a->ms = ln_now_ms() - t0;
    a->fd = fd;
    return;
failed:
    ln_icmp_from_errqueue(fd, &a->icmp);
    a->ms = ln_now_ms() - t0;
    close(fd);
}

int ln_layer_transport(const struct ln_target *t, struct ln_ctx *c, struct ln_layer_result *res)
{
    json_t *ev = res->evidence;
    if (ln_skip_unresolved(c, res, "connect to")) return 0;
    char perr[160] = "";
    struct ln_pcap *pc = ln_pcap_open(c->route_err == 0 ? c->route.ifname : NULL, c->addrs,
                                      c->naddrs, t->port, perr, sizeof(perr));
    if (pc && c->route_err == 0)
        ln_pcap_set_nexthop(pc, c->route.gateway.ss_family
                                    ? (const struct sockaddr *)&c->route.gateway
                                    : (const struct sockaddr *)&c->addrs[0]);
    json_t *tries = json_array();
    json_object_set_new(ev, "attempts", tries);
    int first_fail = -1, ok = -1, wire_syns = -1, nd_req = 0, nd_rep = 0;
    struct attempt first = {.fd = -1};
    char firstaddr[80] = "", okaddr[80] = "", others[200] = "";
    for (int i = 0; i < c->naddrs && ok < 0; i++) {
        const struct sockaddr *sa = (const struct sockaddr *)&c->addrs[i];
        struct attempt a;
        char ap[80];
        ln_addrport_str(sa, ap, sizeof(ap));
        try_connect(sa, c->addrlens[i], t->timeout_ms, &a);
        enum ln_conn_class cls = ln_classify_connect(a.fd >= 0 ? 0 : a.err, &a.icmp);
        json_t *o = json_object();
        json_object_set_new(o, "address", json_string(ap));
        json_object_set_new(o, "result", json_string(ln_conn_class_name(cls)));
        if (a.err) json_object_set_new(o, "errno", json_string(strerror(a.err)));
        if (a.syns > 0) json_object_set_new(o, "syns_sent", json_integer(a.syns));
        if (a.icmp.present) {
            json_object_set_new(o, "icmp_type", json_integer(a.icmp.type));
            json_object_set_new(o, "icmp_code", json_integer(a.icmp.code));
            json_object_set_new(o, "icmp_text",
                                json_string(ln_icmp_text(a.icmp.family, a.icmp.type, a.icmp.code)));
            if (a.icmp.from[0]) json_object_set_new(o, "icmp_from", json_string(a.icmp.from));
        }
        json_object_set_new(o, "ms", json_real(ln_round_ms(a.ms)));
        json_array_append_new(tries, o);
        if (a.fd >= 0) {
            ok = i;
            c->fd = a.fd;
            memcpy(&c->peer, sa, c->addrlens[i]);
            c->peerlen = c->addrlens[i];
            snprintf(okaddr, sizeof(okaddr), "%s", ap);
            first.ms = a.ms;
        } else if (first_fail < 0) {
            first_fail = i;
            first = a;
            snprintf(firstaddr, sizeof(firstaddr), "%s", ap);
        } else {
            snprintf(others + strlen(others), sizeof(others) - strlen(others), "%s%s %s",
                     others[0] ? ", " : "", ap, ln_conn_class_name(cls));
        }
    }
    if (pc) {
        json_t *pk = json_array();
        int n = ln_pcap_collect(pc, pk, t->pcap_path, perr, sizeof(perr));
        json_object_set_new(ev, "packets", pk);
        if (n < 0)
            json_object_set_new(ev, "pcap_error", json_string(perr));
        else if (t->pcap_path)
            json_object_set_new(ev, "pcap_file", json_string(t->pcap_path));
        wire_syns = ln_pcap_syns(pc);
        ln_pcap_neighbour(pc, &nd_req, &nd_rep);
        json_object_set_new(ev, "syns_on_wire", json_integer(wire_syns));
        ln_pcap_close(pc);
    } else {
        json_object_set_new(ev, "packets", json_string(perr));
    }
    if (ok >= 0) {
        if (first_fail >= 0)
            ln_set(res, LN_OK, "connected to %s in %.2f ms (%s failed first: %s)", okaddr, first.ms,
                   firstaddr, strerror(first.err));
        else
            ln_set(res, LN_OK, "connected to %s in %.2f ms", okaddr, first.ms);
        return 0;
    }
    enum ln_conn_class cls = ln_classify_connect(first.err, &first.icmp);
    /* TCP_INFO counted SYNs, but none reached the interface: either the
     * next hop never answered ARP (the SYN waits for it), or this host's
     * own firewall (an output chain) dropped them. */
    if (cls == LN_CONN_FILTERED && wire_syns == 0 && first.syns > 0 && c->naddrs == 1 &&
        !c->link_down)
        cls = nd_req > 0 && nd_rep == 0 ? LN_CONN_NONEIGH : LN_CONN_LOCALDROP;
    ln_explain_connect(cls, first.err, &first.icmp, firstaddr, t->probe, first.syns, t->timeout_ms,
                       res->summary, sizeof(res->summary), res->hint, sizeof(res->hint));
    if (others[0]) {
        size_t l = strlen(res->summary);
        snprintf(res->summary + l, sizeof(res->summary) - l, " (also tried: %s)", others);
    }
    res->status = LN_FAIL;
    json_object_set_new(ev, "class", json_string(ln_conn_class_name(cls)));
    return 0;
}
