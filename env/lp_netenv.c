#include "env/lp_netenv.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "inspect/li_text.h"
#include "netcheck/ln.h"
#include "netcheck/ln_hostport.h"

/* The first of upper, lower that is set and not empty, as httpproxy's
 * getEnvAny reads them; *name (when not NULL) says which. */
static const char *env2_named(const char *upper, const char *lower, const char **name)
{
    const char *v = getenv(upper), *n = upper;
    if (!v || !*v) v = getenv(n = lower);
    if (name) *name = v && *v ? n : NULL;
    return v && *v ? v : NULL;
}

static const char *env2(const char *upper, const char *lower)
{
    return env2_named(upper, lower, NULL);
}

const char *lp_net_proxy_variable(int https)
{
    const char *name;
    if (https)
        env2_named("HTTPS_PROXY", "https_proxy", &name);
    else
        env2_named("HTTP_PROXY", "http_proxy", &name);
    return name;
}

/* NO_PROXY as golang.org/x/net/http/httpproxy reads it: "*", a domain
 * (matching itself and its subdomains; a leading dot: subdomains only), an
 * address; a ":port" suffix is ignored here (the rule matches any port).
 * CIDR entries match nothing here: they are rare for module proxies. */
static int no_proxy_matches(const char *host)
{
    const char *np = env2("NO_PROXY", "no_proxy");
    if (!np) return 0;
    size_t hl = strlen(host);
    for (const char *p = np; *p;) {
        while (*p == ',' || *p == ' ')
            p++;
        size_t n = strcspn(p, ", ");
        char e[LN_HOST_MAX];
        if (n && n < sizeof e) {
            memcpy(e, p, n);
            e[n] = 0;
            char *colon = strrchr(e, ':');
            if (colon && !strchr(e, ']') && strchr(e, ':') == colon) *colon = 0;
            if (!strcmp(e, "*")) return 1;
            int dot = e[0] == '.';
            const char *d = e + dot;
            size_t dl = strlen(d);
            if (!strcasecmp(host, d) && !dot) return 1;
            if (hl > dl && !strcasecmp(host + hl - dl, d) && host[hl - dl - 1] == '.') return 1;
        }
        p += n;
    }
    return 0;
}

int lp_net_authority(const char *h, int tls, char *host, size_t cap, uint16_t *port)
{
    const char *end = h + strcspn(h, "/?#");
    const char *at = memrchr(h, '@', (size_t)(end - h)); /* the last, as go's url.Parse */
    if (at) h = at + 1;                                  /* credentials never leave this function */
    char err[160];
    *port = tls ? 443 : 80;
    return !ln_hostport_parse(h, (size_t)(end - h), LN_HP_PORT_OPTIONAL, host, cap, port, err,
                              sizeof err);
}

/* The proxy URL's authority for that scheme's requests (what follows
 * "http(s)://", or the whole value: go takes "host:port" without a scheme as
 * http://host:port); NULL when none is set or it is not an HTTP proxy
 * (socks5://: not checked here). *tls: an https:// proxy. */
static const char *proxy_authority(int https, int *tls)
{
    const char *v = https ? env2("HTTPS_PROXY", "https_proxy") : env2("HTTP_PROXY", "http_proxy");
    if (!v) return NULL;
    const char *h = strstr(v, "://");
    *tls = h && !strncasecmp(v, "https", 5);
    if (h && strncasecmp(v, "http", 4)) return NULL;
    return h ? h + 3 : v;
}

int lp_net_proxy_for(int https, const char *host, char *phost, size_t cap, uint16_t *pport,
                     int *ptls)
{
    const char *h = proxy_authority(https, ptls);
    if (!h || ln_host_is_loopback(host) || no_proxy_matches(host)) return 0;
    return lp_net_authority(h, *ptls, phost, cap, pport);
}

int lp_net_proxy_userinfo(int https, char *out, size_t cap)
{
    int tls;
    const char *h = proxy_authority(https, &tls);
    if (!h || !cap) return 0;
    const char *end = h + strcspn(h, "/?#");
    const char *at = memrchr(h, '@', (size_t)(end - h));
    if (!at) return 0;
    /* go's url.User: the user name and password percent-decoded; a user
     * name alone is sent as "user:" (net/http's basicAuth). */
    size_t n = 0;
    int colon = 0;
    for (const char *p = h; p < at; p++) {
        int c = (unsigned char)*p, hi, lo;
        if (c == '%' && p + 2 < at && (hi = li_hexval((unsigned char)p[1])) >= 0 &&
            (lo = li_hexval((unsigned char)p[2])) >= 0) {
            c = hi * 16 + lo;
            p += 2;
        } else if (c == ':' && !colon) {
            colon = 1;
        }
        if (n + 2 >= cap) return 0; /* too long to send: none rather than a cut one */
        out[n++] = (char)c;
    }
    if (!colon) out[n++] = ':';
    out[n] = '\0';
    return 1;
}

/* host appears as a URL's host in a list-valued variable (GOPROXY's
 * entries, GOSUMDB's "name+key url"). */
static int names_host(const char *value, const char *host)
{
    size_t hl = strlen(host);
    for (const char *p = value; p && (p = strstr(p, host)); p += hl) {
        char before = p == value ? ' ' : p[-1];
        char after = p[hl];
        if ((before == '/' || before == ' ' || before == ',' || before == '|' || before == '@') &&
            (after == 0 || after == ':' || after == '/' || after == ',' || after == '|' ||
             after == ' '))
            return 1;
    }
    return 0;
}

const char *lp_net_role(const char *host, int is_proxy)
{
    if (is_proxy) return "HTTP proxy";
    const char *gp = getenv("GOPROXY");
    if (!gp || !*gp) gp = "https://proxy.golang.org,direct";
    if (names_host(gp, host)) return "module proxy (GOPROXY)";
    const char *sd = getenv("GOSUMDB");
    if (!sd || !*sd) sd = "sum.golang.org";
    if (names_host(sd, host) || (!strcmp(sd, "sum.golang.org") && !strcmp(host, "sum.golang.org")))
        return "checksum database (GOSUMDB)";
    return "server";
}
