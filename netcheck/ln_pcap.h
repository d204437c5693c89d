/*
 * ln_pcap — packet evidence for the transport layer: libpcap captures the
 * connection attempt (SYN, SYN-ACK, RST, ICMP) on the route's interface.
 * Needs CAP_NET_RAW; without it ln_pcap_open returns NULL and says why.
 */
#ifndef LSPTAP_NETCHECK_LN_PCAP_H
#define LSPTAP_NETCHECK_LN_PCAP_H

#include <jansson.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct ln_pcap;

/* Starts capturing TCP to/from the `ndst` addresses `dsts` on `port`, and
 * ICMP errors and neighbour resolution, on `ifname` ("any" when NULL or empty). Returns NULL with
 * err filled when it cannot. */
struct ln_pcap *ln_pcap_open(const char *ifname, const struct sockaddr_storage *dsts, int ndst,
                             uint16_t port, char *err, size_t errlen);
/* Reads what was captured so far: appends one line per packet to
 * `packets` ("+0.123 ms 10.0.0.1:4321 > 10.0.0.2:22 SYN") and, when `path`
 * is not NULL, writes the packets as a pcap file. Returns the packet count,
 * or a negative errno when the file cannot be written (err filled). */
int ln_pcap_collect(struct ln_pcap *p, json_t *packets, const char *path, char *err, size_t errlen);
/* SYNs (without ACK) to the port that ln_pcap_collect saw on the wire. */
int ln_pcap_syns(const struct ln_pcap *p);
/* The next hop (the gateway, or the target when on-link) whose neighbour
 * resolution ln_pcap_neighbour counts. */
void ln_pcap_set_nexthop(struct ln_pcap *p, const struct sockaddr *hop);
/* Neighbour resolution for the next hop seen on the wire: ARP requests and
 * replies, IPv6 neighbour solicitations and advertisements. */
void ln_pcap_neighbour(const struct ln_pcap *p, int *requests, int *replies);
void ln_pcap_close(struct ln_pcap *p); /* NULL is fine */

#endif
