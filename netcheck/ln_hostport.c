/*
 * HOST:PORT parsing (ln_hostport.h): the one grammar, its error sentences.
 */
#include "netcheck/ln_hostport.h"

#include <arpa/inet.h>
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

/* The input is quoted in every sentence, cut at 80 bytes (a host name can be
 * 255) so that the sentence still says what is wrong. */
#define QUOTE_MAX 80

static int bad(char *err, size_t errlen, const char *s, size_t len, const char *what)
{
    int q = len > QUOTE_MAX ? QUOTE_MAX : (int)len;
    snprintf(err, errlen, "\"%.*s%s\": %s", q, s, len > QUOTE_MAX ? "..." : "", what);
    return -EINVAL;
}

static int parse_port(const char *p, const char *end, unsigned flags, uint16_t *port)
{
    if (p == end) return flags & LN_HP_PORT_OPTIONAL ? 0 : -1;
    unsigned long v = 0;
    for (const char *q = p; q < end; q++) {
        if (*q < '0' || *q > '9') return -1;
        v = v * 10 + (unsigned long)(*q - '0');
        if (v > 65535) return -1;
    }
    if (v == 0 && !(flags & LN_HP_PORT_ZERO)) return -1;
    *port = (uint16_t)v;
    return 0;
}

/* A URL scheme as RFC 3986 writes it (a letter, then letters, digits, '+',
 * '-', '.'), short enough to quote: only such a text is repeated outside the
 * quote. */
static int is_scheme(const char *p, size_t n)
{
    if (!n || n > 16 || !isalpha((unsigned char)p[0])) return 0;
    for (size_t i = 1; i < n; i++)
        if (!isalnum((unsigned char)p[i]) && p[i] != '+' && p[i] != '-' && p[i] != '.') return 0;
    return 1;
}

/* What a person may type for HOST:PORT that is something else: a URL, or
 * user information before the host (u:TOKEN@host:443). Either is named,
 * with the HOST:PORT inside it to give instead; what precedes the '@' is
 * never repeated (the quote is the caller's to redact). 0 when s is
 * neither. */
static int not_hostport(const char *s, size_t len, unsigned flags, int after_tls, const char *quote,
                        size_t qlen, char *err, size_t errlen)
{
    const char *end = s + len, *a = s, *scheme = NULL;
    for (const char *q = s; q + 2 < end && *q != '/'; q++)
        if (q[0] == ':' && q[1] == '/' && q[2] == '/') {
            scheme = q;
            break;
        }
    if (scheme) { /* the authority: after "//", up to the path, query or fragment */
        a = scheme + 3;
        for (const char *q = a; q < end; q++)
            if (*q == '/' || *q == '?' || *q == '#') {
                end = q;
                break;
            }
    }
    const char *at = NULL;
    for (const char *q = a; q < end && *a != '['; q++)
        if (*q == '@') at = q;
    if (!scheme && !at) return 0;
    const char *hp = at ? at + 1 : a, *tail = hp; /* tail: after an IPv6 address's ']' */
    for (const char *q = hp; q < end; q++)
        if (*q == ']') tail = q;
    int n = (int)(end - hp), has_port = memchr(tail, ':', (size_t)(end - tail)) != NULL;
    /* The scheme says what the port is when the URL leaves it out (https: 443,
     * http: 80, as a browser and go's net/http dial), and whether the
     * connection is TLS: a caller with a --tls option is answered with it. */
    size_t sl = scheme ? (size_t)(scheme - s) : 0;
    int https = sl == 5 && !strncasecmp(s, "https", 5),
        http = sl == 4 && !strncasecmp(s, "http", 4),
        tls = https || after_tls || (sl == 3 && !strncasecmp(s, "tls", 3));
    const char *port = has_port ? "" : https ? ":443" : http ? ":80" : ":PORT";
    const char *opt = tls && (flags & LN_HP_TLS_OPTION) ? " --tls" : "";
    /* A caller whose addresses say TLS themselves (tls://) is answered in
     * that syntax: HOST:PORT alone would connect in plain TCP (so the tls://
     * the user typed before user information is kept too). */
    const char *pre = tls && (flags & LN_HP_TLS_SCHEME) ? "tls://" : "";
    char what[200];
    if (scheme && is_scheme(s, (size_t)(scheme - s)))
        snprintf(what, sizeof what, "a URL (\"%.*s://\"), not HOST:PORT", (int)(scheme - s), s);
    else if (scheme)
        snprintf(what, sizeof what, "a URL, not HOST:PORT");
    else
        snprintf(what, sizeof what, "%s before '@' %s not part of HOST:PORT",
                 memchr(a, ':', (size_t)(at - a)) ? "a user name and password" : "a user name",
                 memchr(a, ':', (size_t)(at - a)) ? "are" : "is");
    char msg[400];
    if (n <= 0 || n > QUOTE_MAX)
        snprintf(msg, sizeof msg, "%s; give the host and port alone%s", what,
                 *pre   ? ", after tls://"
                 : *opt ? ", with --tls"
                        : "");
    else if (*pre)
        snprintf(msg, sizeof msg, "%s; give tls:// and the host and port: tls://%.*s%s%s", what, n,
                 hp, port, has_port || !https ? "" : " (443 is https's default port)");
    else
        snprintf(msg, sizeof msg, "%s; give the host and port alone: %.*s%s%s%s", what, n, hp, port,
                 opt, has_port || !https ? "" : " (443 is https's default port)");
    /* The caller redacts what it prints, and user information is
     * recognised by the '@' after it: a quote cut before the '@' would show
     * a password (or a token given as the user name) whole. So when the cut
     * would drop the '@', the secret is masked here, as the redactor writes
     * it: "user:REDACTED@", or "REDACTED@" for a user name alone. */
    char masked[QUOTE_MAX + 16];
    if (at && (size_t)(at - quote) >= QUOTE_MAX) {
        const char *colon = memchr(a, ':', (size_t)(at - a));
        const char *secret = colon ? colon + 1 : a;
        int m = snprintf(masked, sizeof masked, "%.*sREDACTED%.*s", (int)(secret - quote), quote,
                         (int)(quote + qlen - at), at);
        quote = masked;
        qlen = m < 0 ? 0 : (size_t)m < sizeof masked ? (size_t)m : sizeof masked - 1;
    }
    return bad(err, errlen, quote, qlen, msg);
}

int ln_hostport_parse(const char *s, size_t len, unsigned flags, char *host, size_t cap,
                      uint16_t *port, char *err, size_t errlen)
{
    assert(cap > 0); /* room for the terminating NUL at least */
    /* Every sentence quotes the input as given, the caller's scheme too. */
    const char *quote = s;
    size_t qlen = len;
    int after_tls = 0;
    if ((flags & LN_HP_TLS_SCHEME) && len >= 6 &&
        (!strncmp(s, "tls://", 6) || !strncmp(s, "tcp://", 6))) {
        after_tls = !strncmp(s, "tls://", 6);
        s += 6;
        len -= 6;
    }
    if (not_hostport(s, len, flags, after_tls, quote, qlen, err, errlen)) return -EINVAL;
    const char *end = s + len, *h, *he, *colon;
    if (len && s[0] == '[') {
        h = s + 1;
        he = memchr(h, ']', len - 1);
        if (!he) return bad(err, errlen, quote, qlen, "'[' without ']'");
        colon = he + 1;
        if (colon == end && (flags & LN_HP_PORT_OPTIONAL))
            colon = NULL;
        else if (colon == end || *colon != ':')
            return bad(err, errlen, quote, qlen, "expected [ADDRESS]:PORT");
    } else {
        h = s;
        colon = NULL;
        for (const char *q = s; q < end; q++)
            if (*q == ':') colon = q;
        if (!colon && !(flags & LN_HP_PORT_OPTIONAL))
            return bad(err, errlen, quote, qlen, "expected HOST:PORT");
        he = colon ? colon : end;
        if (memchr(h, ':', (size_t)(he - h)))
            return bad(err, errlen, quote, qlen, "an IPv6 address needs brackets: [ADDRESS]:PORT");
    }
    size_t n = (size_t)(he - h);
    if (!n && !(flags & LN_HP_EMPTY_HOST)) return bad(err, errlen, quote, qlen, "empty host");
    if (n >= cap) return bad(err, errlen, quote, qlen, "host name too long");
    if (colon && parse_port(colon + 1, end, flags, port))
        return bad(err, errlen, quote, qlen,
                   flags & LN_HP_PORT_ZERO ? "port must be a number from 0 to 65535"
                                           : "port must be a number from 1 to 65535");
    memcpy(host, h, n);
    host[n] = '\0';
    return 0;
}

int ln_hostport_format(char *buf, size_t len, const char *host, unsigned port)
{
    return snprintf(buf, len, strchr(host, ':') ? "[%s]:%u" : "%s:%u", host, port);
}

const char *ln_addr_str(const struct sockaddr *sa, char *buf, size_t len)
{
    const void *a = sa->sa_family == AF_INET6
                        ? (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr
                        : (const void *)&((const struct sockaddr_in *)sa)->sin_addr;
    if (!inet_ntop(sa->sa_family, a, buf, (socklen_t)len)) snprintf(buf, len, "?");
    return buf;
}

const char *ln_addrport_str(const struct sockaddr *sa, char *buf, size_t len)
{
    char a[64];
    ln_addr_str(sa, a, sizeof(a));
    if (sa->sa_family == AF_INET6)
        snprintf(buf, len, "[%s]:%u", a, ntohs(((const struct sockaddr_in6 *)sa)->sin6_port));
    else
        snprintf(buf, len, "%s:%u", a, ntohs(((const struct sockaddr_in *)sa)->sin_port));
    return buf;
}

int ln_sockaddr_is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->sa_family == AF_INET6)
        return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)sa)->sin6_addr);
    return 0;
}

int ln_host_is_loopback(const char *host)
{
    if (!strcasecmp(host, "localhost")) return 1;
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, host, &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1) return IN6_IS_ADDR_LOOPBACK(&a6);
    return 0;
}
