/*
 * link layer: the interface the route to the target leaves by, and whether
 * it can carry anything (admin up, carrier), as `ip link` and ethtool say.
 * When there is no route, an interface that is down but whose address
 * covers the target is named as the cause: bringing an interface down
 * removes its connected route, so the route lookup alone only says
 * "no route".
 */
#include <errno.h>
#include <ifaddrs.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "netcheck/ln_layers.h"

#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP 0x10000
#endif

static int sysfs_read(const char *ifname, const char *attr, char *buf, size_t len)
{
    char path[128];
    snprintf(path, sizeof(path), "/sys/class/net/%s/%s", ifname, attr);
    FILE *f = fopen(path, "r");
    if (!f) return -errno;
    int ok = fgets(buf, (int)len, f) != NULL;
    fclose(f);
    if (!ok) return -EIO; /* e.g. speed of an interface without carrier: EINVAL */
    buf[strcspn(buf, "\n")] = '\0';
    return 0;
}

static int driver_name(const char *ifname, char *buf, size_t len)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    struct ethtool_drvinfo info = {.cmd = ETHTOOL_GDRVINFO};
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
    ifr.ifr_data = (void *)&info;
    int rc = ioctl(fd, SIOCETHTOOL, &ifr) < 0 ? -errno : 0;
    close(fd);
    if (rc == 0) snprintf(buf, len, "%s", info.driver);
    return rc;
}

static int prefix_covers(const struct sockaddr *addr, const struct sockaddr *mask,
                         const struct sockaddr *target)
{
    if (!addr || !mask || addr->sa_family != target->sa_family) return 0;
    const unsigned char *a, *m, *t;
    size_t n;
    if (target->sa_family == AF_INET) {
        a = (const unsigned char *)&((const struct sockaddr_in *)addr)->sin_addr;
        m = (const unsigned char *)&((const struct sockaddr_in *)mask)->sin_addr;
        t = (const unsigned char *)&((const struct sockaddr_in *)target)->sin_addr;
        n = 4;
    } else {
        a = (const unsigned char *)&((const struct sockaddr_in6 *)addr)->sin6_addr;
        m = (const unsigned char *)&((const struct sockaddr_in6 *)mask)->sin6_addr;
        t = (const unsigned char *)&((const struct sockaddr_in6 *)target)->sin6_addr;
        n = 16;
    }
    for (size_t i = 0; i < n; i++)
        if ((a[i] & m[i]) != (t[i] & m[i])) return 0;
    return 1;
}

static int mask_bits(const struct sockaddr *mask)
{
    const unsigned char *m =
        mask->sa_family == AF_INET
            ? (const unsigned char *)&((const struct sockaddr_in *)mask)->sin_addr
            : (const unsigned char *)&((const struct sockaddr_in6 *)mask)->sin6_addr;
    int n = mask->sa_family == AF_INET ? 4 : 16, bits = 0;
    for (int i = 0; i < n; i++)
        bits += __builtin_popcount(m[i]);
    return bits;
}

/* No route: is there a down interface whose address covers the target? */
static int down_cover(const struct ln_target *t, struct ln_ctx *c, struct ln_layer_result *res)
{
    struct ifaddrs *ifa0;
    if (getifaddrs(&ifa0) < 0) return 0;
    int found = 0;
    const struct sockaddr *target = (const struct sockaddr *)&c->addrs[0];
    for (struct ifaddrs *ifa = ifa0; ifa && !found; ifa = ifa->ifa_next) {
        if (!prefix_covers(ifa->ifa_addr, ifa->ifa_netmask, target)) continue;
        if ((ifa->ifa_flags & IFF_UP) && (ifa->ifa_flags & IFF_LOWER_UP)) continue;
        char a[64], ta[64];
        ln_addr_str(ifa->ifa_addr, a, sizeof(a));
        ln_addr_str(target, ta, sizeof(ta));
        json_object_set_new(res->evidence, "interface", json_string(ifa->ifa_name));
        json_object_set_new(res->evidence, "admin_up", json_boolean(ifa->ifa_flags & IFF_UP));
        json_object_set_new(res->evidence, "carrier", json_boolean(ifa->ifa_flags & IFF_LOWER_UP));
        json_object_set_new(res->evidence, "covering_address", json_string(a));
        json_object_set_new(res->evidence, "prefix_len", json_integer(mask_bits(ifa->ifa_netmask)));
        if (!(ifa->ifa_flags & IFF_UP)) {
            ln_set(res, LN_FAIL, "%s is administratively down; its address %s/%d covers %s",
                   ifa->ifa_name, a, mask_bits(ifa->ifa_netmask), ta);
            ln_hint(res, "bring the interface up: ip link set %s up", ifa->ifa_name);
        } else {
            ln_set(res, LN_FAIL, "%s has no carrier; its address %s/%d covers %s", ifa->ifa_name, a,
                   mask_bits(ifa->ifa_netmask), ta);
            ln_hint(res,
                    "%s has no link: check the cable, the switch port or the peer of "
                    "this virtual interface",
                    ifa->ifa_name);
        }
        c->link_down = 1;
        snprintf(c->down_ifname, sizeof(c->down_ifname), "%s", ifa->ifa_name);
        found = 1;
    }
    freeifaddrs(ifa0);
    (void)t;
    return found;
}

int ln_layer_link(const struct ln_target *t, struct ln_ctx *c, struct ln_layer_result *res)
{
    json_t *ev = res->evidence;
    if (ln_skip_unresolved(c, res, "route to")) return 0;
    c->route_err = ln_route_get((const struct sockaddr *)&c->addrs[0], &c->route);
    if (c->route_err < 0 || !c->route.ifindex) {
        if (down_cover(t, c, res)) return 0;
        ln_set(res, LN_SKIPPED, "no output interface: there is no route (see network)");
        return 0;
    }
    struct ln_linkinfo li;
    const char *ifn = c->route.ifname;
    json_object_set_new(ev, "interface", json_string(ifn));
    int rc = ln_link_get(c->route.ifindex, &li);
    if (rc < 0) {
        ln_set(res, LN_WARN, "%s: cannot read its state (%s)", ifn, strerror(-rc));
        return 0;
    }
    int up = !!(li.flags & IFF_UP), lower = !!(li.flags & IFF_LOWER_UP);
    int loop = !!(li.flags & IFF_LOOPBACK);
    json_object_set_new(ev, "admin_up", json_boolean(up));
    json_object_set_new(ev, "running", json_boolean(li.flags & IFF_RUNNING));
    json_object_set_new(ev, "carrier", json_boolean(lower));
    json_object_set_new(ev, "loopback", json_boolean(loop));
    json_object_set_new(ev, "operstate", json_string(ln_operstate_name(li.operstate)));
    if (li.mtu > 0) json_object_set_new(ev, "mtu", json_integer(li.mtu));
    char buf[64] = "", drv[64] = "", extra[160] = "";
    if (!loop && sysfs_read(ifn, "carrier", buf, sizeof(buf)) == 0)
        json_object_set_new(ev, "sysfs_carrier", json_string(buf));
    if (!loop && sysfs_read(ifn, "speed", buf, sizeof(buf)) == 0 && buf[0] != '-') {
        json_object_set_new(ev, "speed_mbps", json_integer(atoi(buf)));
        snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra), ", %s Mb/s", buf);
    }
    if (!loop && sysfs_read(ifn, "duplex", buf, sizeof(buf)) == 0 && strcmp(buf, "unknown")) {
        json_object_set_new(ev, "duplex", json_string(buf));
        snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra), " %s duplex", buf);
    }
    if (driver_name(ifn, drv, sizeof(drv)) == 0 && drv[0]) {
        json_object_set_new(ev, "driver", json_string(drv));
        snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra), ", driver %s", drv);
    }
    if (!up || (!lower && !loop)) snprintf(c->down_ifname, sizeof(c->down_ifname), "%s", ifn);
    if (!up) {
        c->link_down = 1;
        ln_set(res, LN_FAIL, "%s is administratively down", ifn);
        ln_hint(res, "bring the interface up: ip link set %s up", ifn);
    } else if (!lower && !loop) {
        c->link_down = 1;
        ln_set(res, LN_FAIL, "%s is up but has no carrier (operstate %s)", ifn,
               ln_operstate_name(li.operstate));
        ln_hint(res,
                "%s has no link: check the cable, the switch port or the peer of this "
                "virtual interface",
                ifn);
    } else if (loop) {
        ln_set(res, LN_OK, "%s is up (loopback), mtu %d", ifn, li.mtu);
    } else {
        ln_set(res, LN_OK, "%s is up with carrier, mtu %d%s", ifn, li.mtu, extra);
    }
    return 0;
}
