/*
 * rtnetlink requests: one request, one reply, on a socket opened per call.
 */
#include "netcheck/ln_netlink.h"

#include <errno.h>
#include <linux/if.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#define NL_BUF 16384

/* Sends `req` and reads the reply into buf. Returns the reply's length, or
 * a negative errno: the kernel's, for an NLMSG_ERROR answer; -EPROTO for a
 * reply that is not one message of type `want`. */
static int nl_ask(struct nlmsghdr *req, int want, char *buf, size_t cap)
{
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) return -errno;
    struct timeval tv = {.tv_sec = 2};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    int rc;
    if (sendto(fd, req, req->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0) {
        rc = -errno;
        goto out;
    }
    ssize_t n = recv(fd, buf, cap, 0);
    if (n < 0) {
        rc = -errno;
        goto out;
    }
    struct nlmsghdr *h = (struct nlmsghdr *)buf;
    if (!NLMSG_OK(h, (unsigned)n)) {
        rc = -EPROTO;
        goto out;
    }
    if (h->nlmsg_type == NLMSG_ERROR) {
        struct nlmsgerr *e = NLMSG_DATA(h);
        rc = e->error ? e->error : -EPROTO;
        goto out;
    }
    rc = h->nlmsg_type == want ? (int)n : -EPROTO;
out:
    close(fd);
    return rc;
}

static void put_addr(struct sockaddr_storage *ss, int family, const void *data)
{
    memset(ss, 0, sizeof(*ss));
    if (family == AF_INET) {
        struct sockaddr_in *s = (struct sockaddr_in *)ss;
        s->sin_family = AF_INET;
        memcpy(&s->sin_addr, data, 4);
    } else {
        struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;
        s->sin6_family = AF_INET6;
        memcpy(&s->sin6_addr, data, 16);
    }
}

int ln_route_get(const struct sockaddr *dst, struct ln_route *r)
{
    struct {
        struct nlmsghdr h;
        struct rtmsg m;
        char attrs[64];
    } req;
    memset(&req, 0, sizeof(req));
    memset(r, 0, sizeof(*r));
    int family = dst->sa_family;
    const void *a;
    int alen;
    if (family == AF_INET) {
        a = &((const struct sockaddr_in *)dst)->sin_addr;
        alen = 4;
    } else if (family == AF_INET6) {
        a = &((const struct sockaddr_in6 *)dst)->sin6_addr;
        alen = 16;
    } else {
        return -EAFNOSUPPORT;
    }
    req.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
    req.h.nlmsg_type = RTM_GETROUTE;
    req.h.nlmsg_flags = NLM_F_REQUEST;
    req.m.rtm_family = (unsigned char)family;
    req.m.rtm_dst_len = (unsigned char)(alen * 8);
    struct rtattr *rta = (struct rtattr *)((char *)&req + NLMSG_ALIGN(req.h.nlmsg_len));
    rta->rta_type = RTA_DST;
    rta->rta_len = (unsigned short)RTA_LENGTH(alen);
    memcpy(RTA_DATA(rta), a, (size_t)alen);
    req.h.nlmsg_len = NLMSG_ALIGN(req.h.nlmsg_len) + RTA_ALIGN(rta->rta_len);

    char buf[NL_BUF] = {0};
    int n = nl_ask(&req.h, RTM_NEWROUTE, buf, sizeof(buf));
    if (n < 0) return n;
    struct nlmsghdr *h = (struct nlmsghdr *)buf;
    struct rtmsg *m = NLMSG_DATA(h);
    r->type = m->rtm_type;
    int len = (int)RTM_PAYLOAD(h);
    for (rta = RTM_RTA(m); RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
        switch (rta->rta_type) {
        case RTA_OIF:
            r->ifindex = *(int *)RTA_DATA(rta);
            break;
        case RTA_GATEWAY:
            put_addr(&r->gateway, family, RTA_DATA(rta));
            break;
        case RTA_PREFSRC:
            put_addr(&r->src, family, RTA_DATA(rta));
            break;
        }
    }
    if (r->ifindex && !if_indextoname((unsigned)r->ifindex, r->ifname)) strcpy(r->ifname, "?");
    return 0;
}

int ln_link_get(int ifindex, struct ln_linkinfo *li)
{
    struct {
        struct nlmsghdr h;
        struct ifinfomsg i;
    } req;
    memset(&req, 0, sizeof(req));
    memset(li, 0, sizeof(*li));
    li->mtu = -1;
    li->operstate = -1;
    req.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
    req.h.nlmsg_type = RTM_GETLINK;
    req.h.nlmsg_flags = NLM_F_REQUEST;
    req.i.ifi_family = AF_UNSPEC;
    req.i.ifi_index = ifindex;
    char buf[NL_BUF] = {0};
    int n = nl_ask(&req.h, RTM_NEWLINK, buf, sizeof(buf));
    if (n < 0) return n;
    struct nlmsghdr *h = (struct nlmsghdr *)buf;
    struct ifinfomsg *ifi = NLMSG_DATA(h);
    li->flags = ifi->ifi_flags;
    int len = (int)IFLA_PAYLOAD(h);
    for (struct rtattr *rta = IFLA_RTA(ifi); RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
        switch (rta->rta_type) {
        case IFLA_MTU:
            li->mtu = (int)*(unsigned *)RTA_DATA(rta);
            break;
        case IFLA_OPERSTATE:
            li->operstate = *(unsigned char *)RTA_DATA(rta);
            break;
        case IFLA_IFNAME:
            strncpy(li->name, RTA_DATA(rta), sizeof(li->name) - 1);
            break;
        }
    }
    return 0;
}

const char *ln_route_type_name(int type)
{
    switch (type) {
    case RTN_UNICAST:
        return "unicast";
    case RTN_LOCAL:
        return "local";
    case RTN_BROADCAST:
        return "broadcast";
    case RTN_MULTICAST:
        return "multicast";
    case RTN_BLACKHOLE:
        return "blackhole";
    case RTN_UNREACHABLE:
        return "unreachable";
    case RTN_PROHIBIT:
        return "prohibit";
    case RTN_THROW:
        return "throw";
    default:
        return "other";
    }
}

const char *ln_operstate_name(int s)
{
    /* Named by the kernel's constants, not by position, so a table cannot
     * fall out of step with <linux/if.h>. */
    switch (s) {
    case IF_OPER_NOTPRESENT:
        return "notpresent";
    case IF_OPER_DOWN:
        return "down";
    case IF_OPER_LOWERLAYERDOWN:
        return "lowerlayerdown";
    case IF_OPER_TESTING:
        return "testing";
    case IF_OPER_DORMANT:
        return "dormant";
    case IF_OPER_UP:
        return "up";
    default:
        return "unknown";
    }
}
