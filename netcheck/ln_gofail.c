#include "netcheck/ln_gofail.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The phrases, exactly as printed. Go: net (syscall errno texts, the DNS
 * resolver's errors, net.OpError's "i/o timeout"), net/http ("Client.Timeout
 * exceeded", "TLS handshake timeout"), context ("context deadline
 * exceeded"), crypto/x509 and crypto/tls; Windows: the FormatMessage texts
 * of WSAECONNREFUSED (10061), WSAETIMEDOUT (10060), WSAECONNRESET (10054),
 * WSAENETUNREACH (10051), WSAEHOSTUNREACH (10065), WSAHOST_NOT_FOUND
 * (11001); git (curl) and ssh for direct VCS fetches. Matching is
 * case-sensitive, so each casing that is printed is listed. */
struct phrase {
    const char *s;
    enum ln_gofail_class cls;
};

/* In precedence order: a certificate problem is named before the handshake
 * it broke, a lookup failure before the timeout it may print, and the
 * socket's own error before a generic timeout around it. */
static const struct phrase PHRASES[] = {
    {"certificate has expired or is not yet valid", LN_GOFAIL_X509_EXPIRED},
    {"certificate has expired", LN_GOFAIL_X509_EXPIRED}, /* curl */
    {"certificate is not yet valid", LN_GOFAIL_X509_EXPIRED},
    {"certificate signed by unknown authority", LN_GOFAIL_X509_UNKNOWN_CA},
    {"unable to get local issuer certificate", LN_GOFAIL_X509_UNKNOWN_CA}, /* curl */
    {"self-signed certificate", LN_GOFAIL_X509_UNKNOWN_CA},                /* curl */
    {"self signed certificate", LN_GOFAIL_X509_UNKNOWN_CA},
    {"x509: certificate is valid for ", LN_GOFAIL_X509_NAME},
    {"x509: certificate is not valid for any names", LN_GOFAIL_X509_NAME},
    {"because it doesn't contain any IP SANs", LN_GOFAIL_X509_NAME},
    {"x509: certificate relies on legacy Common Name field", LN_GOFAIL_X509_NAME},
    {"no alternative certificate subject name matches", LN_GOFAIL_X509_NAME}, /* curl */
    {"x509: ", LN_GOFAIL_X509_OTHER},
    {"SSL certificate problem", LN_GOFAIL_X509_OTHER}, /* curl */
    {"tls: first record does not look like a TLS handshake", LN_GOFAIL_TLS},
    {"server gave HTTP response to HTTPS client", LN_GOFAIL_TLS},
    {"remote error: tls: ", LN_GOFAIL_TLS},
    {"tls: ", LN_GOFAIL_TLS},
    {"no such host", LN_GOFAIL_DNS},
    {"No such host is known", LN_GOFAIL_DNS},
    {"server misbehaving", LN_GOFAIL_DNS},
    {"Temporary failure in name resolution", LN_GOFAIL_DNS},
    {"Name or service not known", LN_GOFAIL_DNS},
    {"Could not resolve host", LN_GOFAIL_DNS},         /* curl */
    {"Could not resolve hostname", LN_GOFAIL_DNS},     /* ssh */
    {"nodename nor servname provided", LN_GOFAIL_DNS}, /* macOS */
    {"connection refused", LN_GOFAIL_REFUSED},
    {"Connection refused", LN_GOFAIL_REFUSED},
    {"target machine actively refused it", LN_GOFAIL_REFUSED},
    {"no route to host", LN_GOFAIL_UNREACHABLE},
    {"No route to host", LN_GOFAIL_UNREACHABLE},
    {"network is unreachable", LN_GOFAIL_UNREACHABLE},
    {"Network is unreachable", LN_GOFAIL_UNREACHABLE},
    {"attempted to an unreachable network", LN_GOFAIL_UNREACHABLE},
    {"attempted to an unreachable host", LN_GOFAIL_UNREACHABLE},
    {"host is down", LN_GOFAIL_UNREACHABLE},
    {"i/o timeout", LN_GOFAIL_TIMEOUT},
    {"context deadline exceeded", LN_GOFAIL_TIMEOUT},
    {"Client.Timeout exceeded", LN_GOFAIL_TIMEOUT},
    {"TLS handshake timeout", LN_GOFAIL_TIMEOUT},
    {"timeout awaiting response headers", LN_GOFAIL_TIMEOUT},
    {"did not properly respond after a period of time", LN_GOFAIL_TIMEOUT},
    {"connection timed out", LN_GOFAIL_TIMEOUT},
    {"Connection timed out", LN_GOFAIL_TIMEOUT},
    {"operation timed out", LN_GOFAIL_TIMEOUT},
    {"Operation timed out", LN_GOFAIL_TIMEOUT},
    {"connection reset by peer", LN_GOFAIL_RESET},
    {"Connection reset by peer", LN_GOFAIL_RESET},
    {"existing connection was forcibly closed", LN_GOFAIL_RESET},
    {"unexpected EOF", LN_GOFAIL_RESET},
    {": EOF", LN_GOFAIL_RESET},
};

/* What names a target; a text without any of these is not parsed further.
 * go fetches with GET ("Get \"URL\"", also as raw JSON), dials ("dial tcp"),
 * resolves ("lookup"); git and ssh say "unable to access", "connect to",
 * "resolve host". A bare URL is not enough: diagnostics carry links. */
static const char *const TARGET_MARKS[] = {
    "dial ", "lookup ", "Get \"", "Get \\\"", "unable to access", "connect to ", "resolve host"};

static const char *find(const char *s, size_t n, const char *what)
{
    return memmem(s, n, what, strlen(what));
}

/* ": EOF" must end a word: not ": EOFError". */
static int phrase_ok(const char *s, size_t n, const char *at, const struct phrase *p)
{
    size_t pl = strlen(p->s);
    if (strcmp(p->s, ": EOF") != 0) return 1;
    size_t off = (size_t)(at - s) + pl;
    return off >= n || !isalnum((unsigned char)s[off]);
}

static const struct phrase *find_class(const char *s, size_t n, const char **where)
{
    for (size_t i = 0; i < sizeof PHRASES / sizeof PHRASES[0]; i++) {
        const char *at = s, *end = s + n;
        while (at < end && (at = find(at, (size_t)(end - at), PHRASES[i].s))) {
            if (phrase_ok(s, n, at, &PHRASES[i])) {
                *where = at;
                return &PHRASES[i];
            }
            at++;
        }
    }
    return NULL;
}

static int has_target_mark(const char *s, size_t n)
{
    for (size_t i = 0; i < sizeof TARGET_MARKS / sizeof TARGET_MARKS[0]; i++)
        if (find(s, n, TARGET_MARKS[i])) return 1;
    return 0;
}

static const struct phrase *proxy_status(const char *s, size_t n, const char **where);

int ln_gofail_maybe(const char *text, size_t len)
{
    const char *where;
    return has_target_mark(text, len) &&
           (find_class(text, len, &where) != NULL || proxy_status(text, len, &where) != NULL);
}

static int parse_port(const char *p, const char *end, uint16_t *port)
{
    unsigned long v = 0;
    const char *q = p;
    while (q < end && isdigit((unsigned char)*q) && v <= 65535)
        v = v * 10 + (unsigned long)(*q++ - '0');
    if (q == p || v == 0 || v > 65535) return 0;
    *port = (uint16_t)v;
    return (int)(q - p);
}

static void copy_span(char *dst, size_t cap, const char *p, size_t n)
{
    if (n >= cap) n = cap - 1;
    memcpy(dst, p, n);
    dst[n] = 0;
}

static int host_char(char c)
{
    return isalnum((unsigned char)c) || c == '.' || c == '-' || c == '_';
}

/* "HOST:PORT" or "[V6]:PORT" at p. Returns 1 and fills host/port. */
static int parse_hostport(const char *p, const char *end, char *host, size_t hcap, uint16_t *port)
{
    const char *h = p, *he;
    if (p < end && *p == '[') {
        h = p + 1;
        he = memchr(h, ']', (size_t)(end - h));
        if (!he || he + 1 >= end || he[1] != ':') return 0;
        p = he + 2;
    } else {
        he = p;
        while (he < end && (host_char(*he) || *he == ':'))
            he++;
        /* The port is after the last colon of the run ("127.0.0.1:1:"
         * ends with the colon Go puts before the cause). */
        while (he > p && he[-1] == ':')
            he--;
        const char *colon = NULL;
        for (const char *q = p; q < he; q++)
            if (*q == ':') colon = q;
        if (!colon || colon == p) return 0;
        p = colon + 1;
        he = colon;
    }
    if (!parse_port(p, end, port)) return 0;
    copy_span(host, hcap, h, (size_t)(he - h));
    return 1;
}

/* A name after "lookup " (or curl's "resolve host: "), up to a space or
 * colon. */
static int parse_name(const char *p, const char *end, char *out, size_t cap)
{
    const char *q = p;
    if (q < end && *q == '[') return 0;
    while (q < end && host_char(*q))
        q++;
    while (q > p && q[-1] == '.')
        q--;
    if (q == p) return 0;
    copy_span(out, cap, p, (size_t)(q - p));
    return 1;
}

/* The URL: the first one after a quote (Get "URL", git's 'URL'), else the
 * first at all (cmd/go's "reading URL: ..."). */
static void parse_url(const char *s, size_t n, struct ln_gofail *g)
{
    const char *end = s + n, *best = NULL;
    for (const char *at = s; at < end && (at = find(at, (size_t)(end - at), "://")); at += 3) {
        const char *b = at;
        while (b > s && isalpha((unsigned char)b[-1]))
            b--;
        size_t sl = (size_t)(at - b);
        if (!((sl == 4 && !strncmp(b, "http", 4)) || (sl == 5 && !strncmp(b, "https", 5))))
            continue;
        if (b > s && (b[-1] == '"' || b[-1] == '\'')) {
            best = b;
            break;
        }
        if (!best) best = b;
    }
    if (!best) return;
    const char *u = best, *ue = u;
    while (ue < end && !isspace((unsigned char)*ue) && *ue != '"' && *ue != '\'')
        ue++;
    /* cmd/go's "reading URL: 404" leaves the colon on the URL. */
    while (ue > u && ue[-1] == ':')
        ue--;
    copy_span(g->url, sizeof g->url, u, (size_t)(ue - u));
    g->url_https = u[4] == 's';
    const char *h = strstr(g->url, "://") + 3;
    const char *path = h + strcspn(h, "/?#");
    const char *at = memchr(h, '@', (size_t)(path - h));
    if (at) h = at + 1; /* userinfo never leaves this function */
    const char *he;
    if (*h == '[') {
        he = memchr(h, ']', (size_t)(path - h));
        if (!he) return;
        copy_span(g->url_host, sizeof g->url_host, h + 1, (size_t)(he - h - 1));
        he++;
    } else {
        he = h;
        while (he < path && *he != ':')
            he++;
        copy_span(g->url_host, sizeof g->url_host, h, (size_t)(he - h));
    }
    g->url_port = g->url_https ? 443 : 80;
    if (he < path && *he == ':') parse_port(he + 1, path, &g->url_port);
}

/* "dial tcp H:P", "proxyconnect tcp: dial tcp H:P", curl's "Failed to
 * connect to H port P", ssh's "connect to host H port P". */
static void parse_dial(const char *s, size_t n, struct ln_gofail *g)
{
    const char *end = s + n;
    g->via_proxy = find(s, n, "proxyconnect tcp: ") != NULL;
    static const char *const dials[] = {"dial tcp ", "dial tcp4 ", "dial tcp6 "};
    for (size_t i = 0; i < sizeof dials / sizeof dials[0]; i++) {
        const char *at = find(s, n, dials[i]);
        if (at && parse_hostport(at + strlen(dials[i]), end, g->dial_host, sizeof g->dial_host,
                                 &g->dial_port))
            return;
    }
    static const char *const curl[] = {"Failed to connect to ", "connect to host "};
    for (size_t i = 0; i < sizeof curl / sizeof curl[0]; i++) {
        const char *at = find(s, n, curl[i]);
        if (!at) continue;
        const char *h = at + strlen(curl[i]);
        if (!parse_name(h, end, g->dial_host, sizeof g->dial_host)) continue;
        const char *p = find(h, (size_t)(end - h), " port ");
        if (p && p - h <= (long)strlen(g->dial_host) + 2 && parse_port(p + 6, end, &g->dial_port))
            return;
        g->dial_host[0] = 0;
    }
}

static void parse_lookup(const char *s, size_t n, struct ln_gofail *g)
{
    static const char *const marks[] = {"lookup ",
                                        "Could not resolve host: ", "Could not resolve hostname "};
    for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++) {
        const char *at = find(s, n, marks[i]);
        if (at && parse_name(at + strlen(marks[i]), s + n, g->lookup, sizeof g->lookup)) return;
    }
}

/* The phrase and what follows it on its line, for the words. */
static void set_cause(struct ln_gofail *g, const char *at, const char *end)
{
    const char *e = at;
    while (e < end && *e != '\n' && *e != '"' && e - at < 200)
        e++;
    if (*at == ':') at += 2; /* ": EOF" */
    copy_span(g->cause, sizeof g->cause, at, (size_t)(e - at));
}

/* net/http's answer when the proxy refuses CONNECT: the status text alone
 * after the URL (`Get "https://h/p": Forbidden`), ending the line (or, in
 * the raw JSON ln_gofail_maybe sees, followed by an escape); cmd/go's own
 * HTTP errors carry the code ("reading URL: 403 Forbidden") and do not
 * match. */
static const char *const PROXY_STATUS[] = {
    "Forbidden",
    "Bad Gateway",
    "Service Unavailable",
    "Gateway Timeout",
    "Proxy Authentication Required",
    "Bad Request",
    "Method Not Allowed",
    "Not Found",
    "Unauthorized",
    "Internal Server Error",
};

static const struct phrase *proxy_status(const char *s, size_t n, const char **where)
{
    static const struct phrase ps = {"", LN_GOFAIL_PROXY_STATUS};
    const char *end = s + n;
    for (const char *at = s; at < end && (at = find(at, (size_t)(end - at), "https://")); at++) {
        if (at == s || at[-1] != '"') continue;
        const char *q = memchr(at, '"', (size_t)(end - at));
        if (!q || end - q < 3 || memcmp(q, "\": ", 3)) continue;
        q += 3;
        for (size_t i = 0; i < sizeof PROXY_STATUS / sizeof PROXY_STATUS[0]; i++) {
            size_t l = strlen(PROXY_STATUS[i]);
            if ((size_t)(end - q) >= l && !memcmp(q, PROXY_STATUS[i], l) &&
                (q + l == end || q[l] == '\n' || q[l] == '\r' || q[l] == '\\')) {
                *where = q;
                return &ps;
            }
        }
    }
    return NULL;
}

int ln_gofail_parse(const char *text, size_t len, struct ln_gofail *g)
{
    memset(g, 0, sizeof *g);
    if (!text || !has_target_mark(text, len)) return 0;
    const char *where = NULL;
    const struct phrase *p = find_class(text, len, &where);
    if (!p) p = proxy_status(text, len, &where);
    if (!p) return 0;
    parse_url(text, len, g);
    parse_dial(text, len, g);
    parse_lookup(text, len, g);
    enum ln_gofail_class cls = p->cls;
    /* "lookup X on R:53: read udp ...: i/o timeout": the resolver timed out. */
    if (g->lookup[0] && (cls == LN_GOFAIL_TIMEOUT || cls == LN_GOFAIL_REFUSED)) {
        const char *lk = find(text, len, "lookup ");
        if (lk && lk < where) cls = LN_GOFAIL_DNS;
    }
    if (g->via_proxy) {
        /* The proxy's address, or its name when looking it up failed (then
         * the port is the proxy setting's). */
        snprintf(g->host, sizeof g->host, "%s", g->dial_host[0] ? g->dial_host : g->lookup);
        g->port = g->dial_host[0] ? g->dial_port : 0;
    } else if (g->url_host[0]) {
        snprintf(g->host, sizeof g->host, "%s", g->url_host);
        g->port = g->url_port;
        g->tls = g->url_https;
    } else if (g->dial_host[0]) {
        snprintf(g->host, sizeof g->host, "%s", g->dial_host);
        g->port = g->dial_port;
    } else if (g->lookup[0]) {
        snprintf(g->host, sizeof g->host, "%s", g->lookup);
        g->port = 443;
        g->tls = 1;
    }
    if (!g->host[0]) {
        memset(g, 0, sizeof *g);
        return 0;
    }
    if (cls >= LN_GOFAIL_TLS && cls <= LN_GOFAIL_X509_OTHER && !g->via_proxy) g->tls = 1;
    if (cls == LN_GOFAIL_PROXY_STATUS) g->via_proxy = 1; /* the proxy's port: its setting's */
    g->cls = cls;
    set_cause(g, where, text + len);
    return 1;
}

const char *ln_gofail_class_name(enum ln_gofail_class c)
{
    static const char *const n[LN_GOFAIL_NCLASSES] = {
        "none",         "refused",         "timeout",   "unreachable", "dns",   "tls",
        "x509-expired", "x509-unknown-ca", "x509-name", "x509",        "reset", "proxy-status",
    };
    return (unsigned)c < LN_GOFAIL_NCLASSES ? n[c] : "none";
}

enum ln_layer ln_gofail_layer(enum ln_gofail_class c)
{
    switch (c) {
    case LN_GOFAIL_DNS:
        return LN_DNS;
    case LN_GOFAIL_PROXY_STATUS:
        return LN_APP;
    case LN_GOFAIL_TLS:
    case LN_GOFAIL_X509_EXPIRED:
    case LN_GOFAIL_X509_UNKNOWN_CA:
    case LN_GOFAIL_X509_NAME:
    case LN_GOFAIL_X509_OTHER:
        return LN_TLS;
    default:
        return LN_TRANSPORT;
    }
}
