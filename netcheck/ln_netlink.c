/*
 * rtnetlink requests: one request, one reply, on a socket opened per call.
 */
#include "netcheck/ln_netlink.h"

#include <assert.h>
#include <errno.h>
#include <linux/if.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#define NL_BUF 16384

/* The one reply to a request: its fixed header (struct rtmsg, struct
 * ifinfomsg, ...) and the attributes after it, all inside the caller's
 * buffer. */
struct nl_reply {
    void *fixed;
    struct rtattr *rta;
    int rta_len;
};

/* Sends one request of `type`, its body the fixed header (`fixed` bytes)
 * and any attributes after it (`blen` bytes in all), and reads the reply
 * into buf. Returns 0 with *rep filled, or a negative errno: the kernel's,
 * for an NLMSG_ERROR answer; -EPROTO for a reply that is not one message of
 * type `want` holding at least the fixed header. */
static int nl_ask(unsigned short type, const void *body, size_t blen, size_t fixed,
                  unsigned short want, char *buf, size_t cap, struct nl_reply *rep)
{
    struct {
        struct nlmsghdr h;
        char body[128];
    } req = {.h = {.nlmsg_len = (unsigned)NLMSG_LENGTH(blen),
                   .nlmsg_type = type,
                   .nlmsg_flags = NLM_F_REQUEST}};
    *rep = (struct nl_reply){0};
    if (blen > sizeof req.body) return -EINVAL;
    memcpy(NLMSG_DATA(&req.h), body, blen);
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) return -errno;
    struct timeval tv = {.tv_sec = 2};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    int rc;
    if (sendto(fd, &req, req.h.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0) {
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
    if (h->nlmsg_type != want || h->nlmsg_len < NLMSG_LENGTH(fixed)) {
        rc = -EPROTO;
        goto out;
    }
    rep->fixed = NLMSG_DATA(h);
    rep->rta = (struct rtattr *)((char *)NLMSG_DATA(h) + NLMSG_ALIGN(fixed));
    rep->rta_len = (int)NLMSG_PAYLOAD(h, fixed);
    rc = 0;
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
    /* rtmsg, then one RTA_DST attribute: the address asked about. */
    struct {
        struct rtmsg m;
        struct rtattr dst;
        unsigned char addr[16];
    } q = {.m = {.rtm_family = (unsigned char)family, .rtm_dst_len = (unsigned char)(alen * 8)},
           .dst = {.rta_len = (unsigned short)RTA_LENGTH(alen), .rta_type = RTA_DST}};
    memcpy(q.addr, a, (size_t)alen);
    char buf[NL_BUF] = {0};
    struct nl_reply rep;
    int rc = nl_ask(RTM_GETROUTE, &q, sizeof q.m + RTA_LENGTH(alen), sizeof q.m, RTM_NEWROUTE, buf,
                    sizeof buf, &rep);
    if (rc) return rc;
    assert(rep.fixed); /* nl_ask's 0 */
    r->type = ((struct rtmsg *)rep.fixed)->rtm_type;
    for (struct rtattr *rta = rep.rta; RTA_OK(rta, rep.rta_len); rta = RTA_NEXT(rta, rep.rta_len)) {
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
    memset(li, 0, sizeof(*li));
    li->mtu = -1;
    li->operstate = -1;
    struct ifinfomsg q = {.ifi_family = AF_UNSPEC, .ifi_index = ifindex};
    char buf[NL_BUF] = {0};
    struct nl_reply rep;
    int rc = nl_ask(RTM_GETLINK, &q, sizeof q, sizeof q, RTM_NEWLINK, buf, sizeof buf, &rep);
    if (rc) return rc;
    assert(rep.fixed); /* nl_ask's 0 */
    li->flags = ((struct ifinfomsg *)rep.fixed)->ifi_flags;
    for (struct rtattr *rta = rep.rta; RTA_OK(rta, rep.rta_len); rta = RTA_NEXT(rta, rep.rta_len)) {
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
