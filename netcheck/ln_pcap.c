/*
 * libpcap capture of one connection attempt. Packets stay in the kernel's
 * buffer while the attempt runs; ln_pcap_collect drains them afterwards in
 * non-blocking mode, so no capture thread is needed.
 */
#include "netcheck/ln_pcap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "netcheck/ln_classify.h"

#define LN_PCAP_MAX_PACKETS 64
#define LN_PCAP_FILTER_MAX 1024

struct pkt {
    struct pcap_pkthdr h;
    unsigned char data[256];
};

struct ln_pcap {
    pcap_t *pc;
    int linktype;
    uint16_t port;
    int syns;                    /* SYNs (without ACK) to the port, seen by ln_pcap_collect */
    int nd_requests, nd_replies; /* ARP requests/replies, IPv6 NS/NA, for the next hop */
    unsigned char nexthop[16];   /* its address (4 or 16 bytes) */
    int nexthop_len;             /* 0: count none */
    struct pkt pkts[LN_PCAP_MAX_PACKETS];
    int n;
};

struct ln_pcap *ln_pcap_open(const char *ifname, const struct sockaddr_storage *dsts, int ndst,
                             uint16_t port, char *err, size_t errlen)
{
    char ebuf[PCAP_ERRBUF_SIZE] = "";
    const char *dev = ifname && ifname[0] ? ifname : "any";
    pcap_t *pc = pcap_create(dev, ebuf);
    if (!pc) {
        snprintf(err, errlen, "%s", ebuf);
        return NULL;
    }
    pcap_set_snaplen(pc, 256);
    pcap_set_immediate_mode(pc, 1);
    pcap_set_timeout(pc, 10);
    int rc = pcap_activate(pc);
    if (rc < 0) {
        if (rc == PCAP_ERROR_PERM_DENIED)
            snprintf(err, errlen, "no packet evidence (needs CAP_NET_RAW)");
        else
            snprintf(err, errlen, "no packet evidence (%s)", pcap_geterr(pc));
        pcap_close(pc);
        return NULL;
    }
    /* Every address that will be tried; ICMP errors only (unreachable, time
     * exceeded, parameter problem), not echo or neighbour discovery. */
    char hosts[LN_PCAP_FILTER_MAX] = "", filter[LN_PCAP_FILTER_MAX + 200];
    for (int i = 0; i < ndst; i++) {
        char addr[64];
        const struct sockaddr *dst = (const struct sockaddr *)&dsts[i];
        const void *a = dst->sa_family == AF_INET6
                            ? (const void *)&((const struct sockaddr_in6 *)dst)->sin6_addr
                            : (const void *)&((const struct sockaddr_in *)dst)->sin_addr;
        if (!inet_ntop(dst->sa_family, a, addr, sizeof(addr))) continue;
        size_t l = strlen(hosts);
        snprintf(hosts + l, sizeof(hosts) - l, "%shost %s", l ? " or " : "", addr);
    }
    snprintf(filter, sizeof(filter),
             "(tcp and port %u and (%s)) or (icmp and (icmp[0] = 3 or icmp[0] = 11 or "
             "icmp[0] = 12)) or (icmp6 and (ip6[40] < 128 or ip6[40] = 135 or ip6[40] = 136)) or "
             "arp",
             port, hosts);
    struct bpf_program prog;
    if (pcap_compile(pc, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) < 0 ||
        pcap_setfilter(pc, &prog) < 0) {
        snprintf(err, errlen, "no packet evidence (filter: %s)", pcap_geterr(pc));
        pcap_close(pc);
        return NULL;
    }
    pcap_freecode(&prog);
    pcap_setnonblock(pc, 1, ebuf);
    struct ln_pcap *p = calloc(1, sizeof(*p));
    if (!p) {
        pcap_close(pc);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    p->pc = pc;
    p->linktype = pcap_datalink(pc);
    p->port = port;
    return p;
}

static void on_packet(u_char *ud, const struct pcap_pkthdr *h, const u_char *bytes)
{
    struct ln_pcap *p = (struct ln_pcap *)ud;
    if (p->n >= LN_PCAP_MAX_PACKETS) return;
    struct pkt *k = &p->pkts[p->n++];
    k->h = *h;
    k->h.caplen = h->caplen < sizeof(k->data) ? h->caplen : (bpf_u_int32)sizeof(k->data);
    memcpy(k->data, bytes, k->h.caplen);
}

/* Offset of the IP header and its version, by link type; -1 when unknown. */
static int ip_offset(int linktype, const unsigned char *d, size_t n)
{
    size_t off;
    unsigned et;
    switch (linktype) {
    case DLT_EN10MB:
        if (n < 14) return -1;
        off = 14;
        et = (unsigned)(d[12] << 8 | d[13]);
        break;
    case DLT_LINUX_SLL:
        if (n < 16) return -1;
        off = 16;
        et = (unsigned)(d[14] << 8 | d[15]);
        break;
    case DLT_RAW:
        return 0;
    default:
        return -1;
    }
    if (et != 0x0800 && et != 0x86dd) return -1;
    return (int)off;
}

static void describe(struct ln_pcap *p, const struct pkt *k, double t0, char *out, size_t len)
{
    int linktype = p->linktype;
    const unsigned char *d = k->data;
    size_t n = k->h.caplen;
    double t = k->h.ts.tv_sec * 1e3 + k->h.ts.tv_usec / 1e3 - t0;
    if (linktype == DLT_EN10MB && n >= 14 + 28 && d[12] == 0x08 && d[13] == 0x06) {
        const unsigned char *arp = d + 14;
        char sa[16], ta[16];
        inet_ntop(AF_INET, arp + 14, sa, sizeof(sa));
        inet_ntop(AF_INET, arp + 24, ta, sizeof(ta));
        int hop4 = p->nexthop_len == 4;
        if (arp[7] == 1) {
            if (hop4 && !memcmp(arp + 24, p->nexthop, 4)) p->nd_requests++;
            snprintf(out, len, "+%.3f ms ARP who-has %s tell %s", t, ta, sa);
        } else {
            if (hop4 && !memcmp(arp + 14, p->nexthop, 4)) p->nd_replies++;
            snprintf(out, len, "+%.3f ms ARP reply %s is-at %02x:%02x:%02x:%02x:%02x:%02x", t, sa,
                     arp[8], arp[9], arp[10], arp[11], arp[12], arp[13]);
        }
        return;
    }
    int off = ip_offset(linktype, d, n);
    if (off < 0 || (size_t)off >= n) {
        snprintf(out, len, "+%.3f ms (not IP)", t);
        return;
    }
    const unsigned char *ip = d + off;
    size_t left = n - (size_t)off;
    char src[64], dstr[64];
    int proto;
    const unsigned char *l4;
    int v6 = (ip[0] >> 4) == 6;
    if (!v6) {
        size_t hl = (size_t)(ip[0] & 15) * 4;
        if (left < hl + 8) goto short_pkt;
        inet_ntop(AF_INET, ip + 12, src, sizeof(src));
        inet_ntop(AF_INET, ip + 16, dstr, sizeof(dstr));
        proto = ip[9];
        l4 = ip + hl;
        left -= hl;
    } else {
        if (left < 48) goto short_pkt;
        inet_ntop(AF_INET6, ip + 8, src, sizeof(src));
        inet_ntop(AF_INET6, ip + 24, dstr, sizeof(dstr));
        proto = ip[6];
        l4 = ip + 40;
        left -= 40;
    }
    if (proto == IPPROTO_TCP && left >= 14) {
        unsigned sp = (unsigned)(l4[0] << 8 | l4[1]), dp = (unsigned)(l4[2] << 8 | l4[3]);
        unsigned f = l4[13];
        if ((f & 0x02) && !(f & 0x10) && dp == p->port) p->syns++;
        char flags[40] = "";
        if (f & 0x02) strcat(flags, "SYN");
        if ((f & 0x10) && (f & 0x02)) strcat(flags, "-ACK");
        if (f & 0x04) strcat(flags, flags[0] ? " RST" : "RST");
        if (f & 0x01) strcat(flags, flags[0] ? " FIN" : "FIN");
        if (!flags[0] && (f & 0x10)) strcat(flags, "ACK");
        snprintf(out, len, v6 ? "+%.3f ms [%s]:%u > [%s]:%u %s" : "+%.3f ms %s:%u > %s:%u %s", t,
                 src, sp, dstr, dp, flags);
    } else if (proto == IPPROTO_ICMPV6 && left >= 2 && (l4[0] == 135 || l4[0] == 136)) {
        int hop = p->nexthop_len == 16 && left >= 24 && !memcmp(l4 + 8, p->nexthop, 16);
        if (hop && l4[0] == 135) p->nd_requests++;
        if (hop && l4[0] == 136) p->nd_replies++;
        snprintf(out, len, "+%.3f ms %s > %s neighbour %s", t, src, dstr,
                 l4[0] == 135 ? "solicitation" : "advertisement");
    } else if ((proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6) && left >= 2) {
        snprintf(out, len, "+%.3f ms %s > %s ICMP%s %s (type %d code %d)", t, src, dstr,
                 v6 ? "v6" : "", ln_icmp_text(v6 ? AF_INET6 : AF_INET, l4[0], l4[1]), l4[0], l4[1]);
    } else {
        snprintf(out, len, "+%.3f ms %s > %s protocol %d", t, src, dstr, proto);
    }
    return;
short_pkt:
    snprintf(out, len, "+%.3f ms (truncated)", t);
}

int ln_pcap_collect(struct ln_pcap *p, json_t *packets, const char *path, char *err, size_t errlen)
{
    /* Give the last packets (an RST just sent) a moment to reach the buffer. */
    for (int round = 0; round < 5; round++) {
        int got = pcap_dispatch(p->pc, -1, on_packet, (u_char *)p);
        if (got <= 0) usleep(10000);
    }
    double t0 = p->n ? p->pkts[0].h.ts.tv_sec * 1e3 + p->pkts[0].h.ts.tv_usec / 1e3 : 0;
    for (int i = 0; i < p->n; i++) {
        char line[200];
        describe(p, &p->pkts[i], t0, line, sizeof(line));
        json_array_append_new(packets, json_string(line));
    }
    if (path) {
        pcap_dumper_t *dump = pcap_dump_open(p->pc, path);
        if (!dump) {
            snprintf(err, errlen, "cannot write %s: %s", path, pcap_geterr(p->pc));
            return -EIO;
        }
        for (int i = 0; i < p->n; i++)
            pcap_dump((u_char *)dump, &p->pkts[i].h, p->pkts[i].data);
        pcap_dump_close(dump);
    }
    return p->n;
}

int ln_pcap_syns(const struct ln_pcap *p)
{
    return p->syns;
}

void ln_pcap_set_nexthop(struct ln_pcap *p, const struct sockaddr *hop)
{
    if (hop->sa_family == AF_INET) {
        memcpy(p->nexthop, &((const struct sockaddr_in *)hop)->sin_addr, 4);
        p->nexthop_len = 4;
    } else if (hop->sa_family == AF_INET6) {
        memcpy(p->nexthop, &((const struct sockaddr_in6 *)hop)->sin6_addr, 16);
        p->nexthop_len = 16;
    }
}

void ln_pcap_neighbour(const struct ln_pcap *p, int *requests, int *replies)
{
    *requests = p->nd_requests;
    *replies = p->nd_replies;
}

void ln_pcap_close(struct ln_pcap *p)
{
    if (!p) return;
    pcap_close(p->pc);
    free(p);
}
