/*
 * ln_ping — one ICMP echo, through an unprivileged ping socket when the
 * system allows it (net.ipv4.ping_group_range), else a raw socket when
 * permitted (CAP_NET_RAW), else "not permitted".
 */
#ifndef LSPTAP_NETCHECK_LN_PING_H
#define LSPTAP_NETCHECK_LN_PING_H

#include <sys/socket.h>

#include "netcheck/ln_classify.h"

enum ln_ping_outcome {
    LN_PING_REPLY,
    LN_PING_NOREPLY, /* nothing within the time */
    LN_PING_ICMPERR, /* an ICMP error came back instead (icmp filled) */
    LN_PING_NOPERM,  /* neither socket kind is permitted */
    LN_PING_SENDERR, /* sendto failed (err) */
};

struct ln_ping_result {
    enum ln_ping_outcome outcome;
    double rtt_ms;
    const char *method; /* "ping socket" / "raw socket" / NULL */
    int err;            /* errno for NOPERM / SENDERR */
    struct ln_icmp icmp;
};

void ln_ping(const struct sockaddr *dst, int timeout_ms, struct ln_ping_result *r);

#endif
