/*
 * One ICMP echo. With a ping socket the kernel matches replies and queues
 * ICMP errors (IP_RECVERR); with a raw socket every ICMP packet arrives and
 * ours are recognised by identifier and sequence, in the reply itself or in
 * the header an ICMP error quotes.
 */
#include "netcheck/ln_ping.h"

#include <errno.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "netcheck/ln_layers.h"

#define PING_SEQ 1

static uint16_t checksum(const void *data, size_t len)
{
    const uint8_t *p = data;
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < len; i += 2)
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (len & 1) sum += (uint32_t)p[len - 1] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return htons((uint16_t)~sum);
}

static void fill_icmp(struct ln_icmp *ic, int family, int type, int code,
                      const struct sockaddr *from)
{
    ic->present = 1;
    ic->family = family;
    ic->type = type;
    ic->code = code;
    if (from) ln_addr_str(from, ic->from, sizeof(ic->from));
}

/* A raw packet: 1 our reply, 2 an error about our echo, 0 not ours. */
static int raw_match(int family, const uint8_t *p, size_t n, uint16_t id, struct ln_icmp *ic,
                     const struct sockaddr *from)
{
    if (family == AF_INET) {
        if (n < 20) return 0;
        size_t hl = (size_t)(p[0] & 0x0f) * 4;
        if (n < hl + 8) return 0;
        const uint8_t *icmp = p + hl;
        if (icmp[0] == ICMP_ECHOREPLY)
            return (icmp[4] << 8 | icmp[5]) == id && (icmp[6] << 8 | icmp[7]) == PING_SEQ;
        if (icmp[0] != ICMP_DEST_UNREACH && icmp[0] != ICMP_TIME_EXCEEDED) return 0;
        const uint8_t *inner = icmp + 8;
        if (n < hl + 8 + 20) return 0;
        size_t ihl = (size_t)(inner[0] & 0x0f) * 4;
        if (n < hl + 8 + ihl + 8 || inner[9] != IPPROTO_ICMP) return 0;
        const uint8_t *echo = inner + ihl;
        if (echo[0] != ICMP_ECHO || (echo[4] << 8 | echo[5]) != id) return 0;
        fill_icmp(ic, AF_INET, icmp[0], icmp[1], from);
        return 2;
    }
    if (n < 8) return 0;
    if (p[0] == ICMP6_ECHO_REPLY) return (p[4] << 8 | p[5]) == id;
    if (p[0] != ICMP6_DST_UNREACH && p[0] != ICMP6_TIME_EXCEEDED) return 0;
    if (n < 8 + 40 + 8 || p[8 + 6] != IPPROTO_ICMPV6) return 0;
    const uint8_t *echo = p + 8 + 40;
    if (echo[0] != ICMP6_ECHO_REQUEST || (echo[4] << 8 | echo[5]) != id) return 0;
    fill_icmp(ic, AF_INET6, p[0], p[1], from);
    return 2;
}

void ln_ping(const struct sockaddr *dst, int timeout_ms, struct ln_ping_result *r)
{
    memset(r, 0, sizeof(*r));
    int family = dst->sa_family;
    int proto = family == AF_INET6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
    int raw = 0;
    int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, proto);
    if (fd < 0) {
        fd = socket(family, SOCK_RAW | SOCK_CLOEXEC, proto);
        raw = 1;
    }
    if (fd < 0) {
        r->outcome = LN_PING_NOPERM;
        r->err = errno;
        return;
    }
    r->method = raw ? "raw socket" : "ping socket";
    int on = 1;
    if (!raw) {
        if (family == AF_INET6)
            setsockopt(fd, SOL_IPV6, IPV6_RECVERR, &on, sizeof(on));
        else
            setsockopt(fd, SOL_IP, IP_RECVERR, &on, sizeof(on));
    }
    uint16_t id = (uint16_t)(getpid() ^ 0x4c4e);
    uint8_t pkt[64];
    memset(pkt, 0, sizeof(pkt));
    pkt[0] = family == AF_INET6 ? ICMP6_ECHO_REQUEST : ICMP_ECHO;
    pkt[4] = (uint8_t)(id >> 8);
    pkt[5] = (uint8_t)id;
    pkt[7] = PING_SEQ;
    memcpy(pkt + 8, "lsptap netcheck", 15);
    if (family == AF_INET) {
        uint16_t ck = checksum(pkt, sizeof(pkt));
        memcpy(pkt + 2, &ck, 2);
    }
    struct sockaddr_storage to;
    socklen_t tolen = family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    memcpy(&to, dst, tolen);
    if (family == AF_INET6)
        ((struct sockaddr_in6 *)&to)->sin6_port = 0;
    else
        ((struct sockaddr_in *)&to)->sin_port = 0;
    double t0 = ln_now_ms();
    if (sendto(fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&to, tolen) < 0) {
        r->err = errno;
        r->outcome = (errno == EPERM || errno == EACCES) && raw ? LN_PING_NOPERM : LN_PING_SENDERR;
        close(fd);
        return;
    }
    r->outcome = LN_PING_NOREPLY;
    for (;;) {
        int left = (int)(timeout_ms - (ln_now_ms() - t0));
        if (left <= 0) break;
        struct pollfd pfd = {fd, POLLIN, 0};
        if (poll(&pfd, 1, left) <= 0) break;
        if (!raw && (pfd.revents & POLLERR)) {
            if (ln_icmp_from_errqueue(fd, &r->icmp)) {
                r->outcome = LN_PING_ICMPERR;
                break;
            }
            continue;
        }
        uint8_t buf[1500];
        struct sockaddr_storage from;
        socklen_t fl = sizeof(from);
        ssize_t n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
        if (n < 0) continue;
        if (!raw) {
            /* ping sockets deliver only our replies (the kernel owns the id). */
            r->outcome = LN_PING_REPLY;
            break;
        }
        int m = raw_match(family, buf, (size_t)n, id, &r->icmp, (struct sockaddr *)&from);
        if (m == 1) {
            r->outcome = LN_PING_REPLY;
            break;
        }
        if (m == 2) {
            r->outcome = LN_PING_ICMPERR;
            break;
        }
    }
    r->rtt_ms = ln_now_ms() - t0;
    close(fd);
}
