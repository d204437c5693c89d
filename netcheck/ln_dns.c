/*
 * dns layer: getaddrinfo, timed, with its own timeout (a resolver that
 * never answers must not hang netcheck: the lookup runs on a thread that is
 * abandoned when the time is up). /etc/hosts and resolv.conf are read to
 * say where an answer came from and which servers were asked.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "netcheck/ln_classify.h"
#include "netcheck/ln_layers.h"

struct lookup {
    pthread_mutex_t mu;
    pthread_cond_t done_cv;
    int done, abandoned;
    char host[LN_HOST_MAX];
    int eai, err;
    struct addrinfo *res;
};

static void lookup_free(struct lookup *lk)
{
    if (lk->res) freeaddrinfo(lk->res);
    pthread_mutex_destroy(&lk->mu);
    pthread_cond_destroy(&lk->done_cv);
    free(lk);
}

/* Resolves and publishes the answer. Returns whether the waiter had given
 * up by then, read under the same lock: after the unlock, lk belongs to the
 * waiter unless it gave up. */
static int resolve(struct lookup *lk)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = 0};
    struct addrinfo *res = NULL;
    int eai = getaddrinfo(lk->host, NULL, &hints, &res);
    int err = errno;
    pthread_mutex_lock(&lk->mu);
    lk->eai = eai;
    lk->err = err;
    lk->res = res;
    lk->done = 1;
    int abandoned = lk->abandoned;
    pthread_cond_signal(&lk->done_cv);
    pthread_mutex_unlock(&lk->mu);
    return abandoned;
}

/* The lookup thread: whoever is last, the waiter or this thread, frees. */
static void *lookup_main(void *arg)
{
    struct lookup *lk = arg;
    if (resolve(lk)) lookup_free(lk);
    return NULL;
}

/* Names /etc/hosts gives `host`, appended to `out`; returns how many. */
static int hosts_entries(const char *host, json_t *out)
{
    FILE *f = fopen("/etc/hosts", "r");
    if (!f) return 0;
    char line[512];
    int n = 0;
    while (fgets(line, sizeof(line), f)) {
        char *hash = strchr(line, '#');
        if (hash) *hash = '\0';
        char *save = NULL, *addr = strtok_r(line, " \t\n", &save), *name;
        if (!addr) continue;
        while ((name = strtok_r(NULL, " \t\n", &save)))
            if (!strcasecmp(name, host)) {
                json_array_append_new(out, json_string(addr));
                n++;
                break;
            }
    }
    fclose(f);
    return n;
}

static void nameservers(json_t *out)
{
    FILE *f = fopen("/etc/resolv.conf", "r");
    if (!f) return;
    char line[512], ns[128];
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, " nameserver %127s", ns) == 1) json_array_append_new(out, json_string(ns));
    fclose(f);
}

/* When the resolver fails, how this host would reach the first nameserver:
 * appended to `desc` ("10.0.0.53 via 10.0.0.1 dev eth0", "10.0.0.53: no
 * route") and set as evidence. */
static void nameserver_route(json_t *ns, json_t *ev, char *desc, size_t len)
{
    const char *first = json_string_value(json_array_get(ns, 0));
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    if (!first) return;
    if (inet_pton(AF_INET, first, &s4->sin_addr) == 1)
        ss.ss_family = AF_INET;
    else if (inet_pton(AF_INET6, first, &s6->sin6_addr) == 1)
        ss.ss_family = AF_INET6;
    else
        return;
    struct ln_route r;
    int rc = ln_route_get((struct sockaddr *)&ss, &r);
    char gw[64] = "", route[160];
    if (rc < 0)
        snprintf(route, sizeof(route), "no route (%s)", strerror(-rc));
    else if (r.gateway.ss_family)
        snprintf(route, sizeof(route), "via %s dev %s",
                 ln_addr_str((struct sockaddr *)&r.gateway, gw, sizeof(gw)), r.ifname);
    else
        snprintf(route, sizeof(route), "on-link dev %s", r.ifname);
    json_object_set_new(ev, "nameserver_route", json_string(route));
    size_t l = strlen(desc);
    snprintf(desc + l, len - l, "; route to %s: %s", first, route);
}

static int is_literal(const char *host)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

static void add_addr(struct ln_ctx *c, const struct sockaddr *sa, socklen_t len, uint16_t port)
{
    if (c->naddrs >= LN_MAX_ADDRS) return;
    for (int i = 0; i < c->naddrs; i++)
        if (c->addrlens[i] == len && !memcmp(&c->addrs[i], sa, len)) return;
    struct sockaddr_storage *ss = &c->addrs[c->naddrs];
    memcpy(ss, sa, len);
    if (sa->sa_family == AF_INET6)
        ((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
    else
        ((struct sockaddr_in *)ss)->sin_port = htons(port);
    c->addrlens[c->naddrs++] = len;
}

/* Runs the lookup with a deadline. Returns 0 with lk done, or -ETIMEDOUT
 * (lk then belongs to its thread). */
static int timed_lookup(struct lookup *lk, int timeout_ms)
{
    pthread_t th;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&th, &attr, lookup_main, lk);
    pthread_attr_destroy(&attr);
    if (rc) {
        (void)resolve(lk); /* no thread: resolve here, without a deadline */
        return 0;
    }
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += timeout_ms / 1000;
    dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&lk->mu);
    while (!lk->done)
        if (pthread_cond_timedwait(&lk->done_cv, &lk->mu, &dl) == ETIMEDOUT) break;
    int done = lk->done;
    if (!done) lk->abandoned = 1;
    pthread_mutex_unlock(&lk->mu);
    return done ? 0 : -ETIMEDOUT;
}

int ln_layer_dns(const struct ln_target *t, struct ln_ctx *c, struct ln_layer_result *res)
{
    json_t *ev = res->evidence;
    json_object_set_new(ev, "name", json_string(t->host));
    if (is_literal(t->host)) {
        c->literal = 1;
        struct addrinfo hints = {.ai_flags = AI_NUMERICHOST, .ai_socktype = SOCK_STREAM};
        struct addrinfo *ai = NULL;
        if (getaddrinfo(t->host, NULL, &hints, &ai) == 0) {
            add_addr(c, ai->ai_addr, ai->ai_addrlen, t->port);
            freeaddrinfo(ai);
        }
        ln_set(res, LN_SKIPPED, "%s is an address: nothing to resolve", t->host);
        return 0;
    }
    json_t *hosts = json_array(), *ns = json_array(), *addrs = json_array();
    json_object_set_new(ev, "nameservers", ns);
    nameservers(ns);
    if (hosts_entries(t->host, hosts))
        json_object_set_new(ev, "etc_hosts", hosts);
    else
        json_decref(hosts);

    struct lookup *lk = calloc(1, sizeof(*lk));
    if (!lk) return -ENOMEM;
    pthread_mutex_init(&lk->mu, NULL);
    pthread_cond_init(&lk->done_cv, NULL);
    snprintf(lk->host, sizeof(lk->host), "%s", t->host);
    char nsl[200] = "";
    for (size_t i = 0; i < json_array_size(ns) && strlen(nsl) < 150; i++)
        snprintf(nsl + strlen(nsl), sizeof(nsl) - strlen(nsl), "%s%s", i ? ", " : "",
                 json_string_value(json_array_get(ns, i)));
    if (!nsl[0]) snprintf(nsl, sizeof(nsl), "none in /etc/resolv.conf");

    if (timed_lookup(lk, t->timeout_ms) < 0) {
        nameserver_route(ns, ev, nsl, sizeof(nsl));
        c->dns_failed = 1;
        json_object_set_new(ev, "class", json_string("timeout"));
        json_decref(addrs);
        ln_set(res, LN_FAIL, "no answer for %s within %.1f s (nameservers: %s)", t->host,
               t->timeout_ms / 1000.0, nsl);
        ln_hint(res,
                "the resolver does not answer: check that the nameservers (%s) are "
                "reachable from here, or use the address instead of the name",
                nsl);
        return 0;
    }
    enum ln_dns_class cls = ln_classify_gai(lk->eai);
    json_object_set_new(ev, "class", json_string(ln_dns_class_name(cls)));
    for (struct addrinfo *ai = lk->res; ai; ai = ai->ai_next) {
        char a[64];
        add_addr(c, ai->ai_addr, ai->ai_addrlen, t->port);
        json_t *s = json_string(ln_addr_str(ai->ai_addr, a, sizeof(a)));
        size_t i;
        json_t *v;
        int dup = 0;
        json_array_foreach(addrs, i, v) dup |= json_equal(v, s);
        if (dup)
            json_decref(s);
        else
            json_array_append_new(addrs, s);
    }
    json_object_set_new(ev, "addresses", addrs);
    const char *src = json_object_get(ev, "etc_hosts") ? " (from /etc/hosts)" : "";
    char list[160] = "";
    for (size_t i = 0; i < json_array_size(addrs) && strlen(list) < 120; i++)
        snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "",
                 json_string_value(json_array_get(addrs, i)));
    switch (cls) {
    case LN_DNS_OK:
        ln_set(res, LN_OK, "%s is %s%s", t->host, list, src);
        break;
    case LN_DNS_NXDOMAIN:
        ln_set(res, LN_FAIL, "%s does not exist (NXDOMAIN; nameservers: %s)", t->host, nsl);
        ln_hint(res,
                "the name %s is not known to DNS: check its spelling, the search domain, "
                "or add it to /etc/hosts",
                t->host);
        break;
    case LN_DNS_NODATA:
        ln_set(res, LN_FAIL, "%s exists but has no address (NODATA)", t->host);
        ln_hint(res, "the name has no A/AAAA record usable here: check the DNS zone");
        break;
    case LN_DNS_TEMPFAIL:
        nameserver_route(ns, ev, nsl, sizeof(nsl));
        ln_set(res, LN_FAIL,
               "temporary failure resolving %s: resolver unreachable or SERVFAIL (nameservers: "
               "%s)",
               t->host, nsl);
        ln_hint(res,
                "the resolver could not answer now: check that the nameservers (%s) are "
                "reachable and working",
                nsl);
        break;
    default:
        ln_set(res, LN_FAIL, "resolving %s failed: %s", t->host,
               lk->eai == EAI_SYSTEM ? strerror(lk->err) : gai_strerror(lk->eai));
        ln_hint(res, "the resolver failed permanently: check /etc/resolv.conf and nsswitch.conf");
        break;
    }
    if (cls != LN_DNS_OK) c->dns_failed = 1;
    lookup_free(lk);
    return 0;
}
