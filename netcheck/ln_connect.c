#include "netcheck/ln_connect.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netcheck/ln.h"
#include "netcheck/ln_classify.h"

/* The status code of an HTTP status line ("HTTP/1.1 403 Forbidden" -> 403),
 * or -1 when it is not one, as go's http.ReadResponse reads the line: the
 * version up to the first space is HTTP/X.Y (one digit each,
 * http.ParseHTTPVersion), blanks, then the code is three digits ended by a
 * space or the line's end. "HTTP/1.1 2000" is no 200: go refuses it. */
static int ln_http_status(const char *line, size_t len)
{
    const char *sp = memchr(line, ' ', len), *end = line + len;
    if (!sp || sp - line != 8 || memcmp(line, "HTTP/", 5) || line[6] != '.' || line[5] < '0' ||
        line[5] > '9' || line[7] < '0' || line[7] > '9')
        return -1;
    while (sp < end && *sp == ' ')
        sp++;
    if (end - sp < 3 || (end - sp > 3 && sp[3] != ' ')) return -1;
    int code = 0;
    for (int i = 0; i < 3; i++) {
        if (sp[i] < '0' || sp[i] > '9') return -1;
        code = code * 10 + (sp[i] - '0');
    }
    return code;
}

int ln_connect_reply(const char *buf, size_t n, char *status, size_t cap)
{
    size_t ll = 0;
    while (ll < n && buf[ll] != '\r' && buf[ll] != '\n')
        ll++;
    if (!n) {
        snprintf(status, cap, "the proxy closed the connection without answering");
        return -ECONNRESET;
    }
    ln_escape(buf, ll, 120, status, cap);
    int rc = ln_http_status(buf, ll);
    return rc < 0 ? -EPROTO : rc;
}

/* A non-blocking connect with its own timeout. Returns the fd or -errno. */
/* poll, again when a signal handled elsewhere in the process (libuv's
 * SIGCHLD, when netwatch runs this on a worker thread) interrupts it: an
 * interruption is neither the proxy's silence nor its hang-up. */
static int poll_one(struct pollfd *p, int timeout_ms)
{
    int r;
    do
        r = poll(p, 1, timeout_ms);
    while (r < 0 && errno == EINTR);
    return r;
}

static int dial(const struct addrinfo *ai, int timeout_ms)
{
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return -errno;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) && errno != EINPROGRESS) {
        int e = errno;
        close(fd);
        return -e;
    }
    struct pollfd p = {fd, POLLOUT, 0};
    int r = poll_one(&p, timeout_ms);
    int err = 0;
    socklen_t el = sizeof err;
    if (r <= 0)
        err = r == 0 ? ETIMEDOUT : errno;
    else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el))
        err = errno;
    if (err) {
        close(fd);
        return -err;
    }
    return fd;
}

/* Reads up to the end of the status line. Returns bytes read or -errno. */
static int read_line(int fd, char *buf, size_t cap, int timeout_ms)
{
    size_t n = 0;
    while (n + 1 < cap && !memchr(buf, '\n', n)) {
        struct pollfd p = {fd, POLLIN, 0};
        int r = poll_one(&p, timeout_ms);
        if (r == 0) return n ? (int)n : -ETIMEDOUT;
        if (r < 0) return -errno;
        ssize_t k = recv(fd, buf + n, cap - 1 - n, 0);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) return -errno;
        if (k == 0) break;
        n += (size_t)k;
    }
    return (int)n;
}

int ln_http_connect(const char *proxy, uint16_t pport, const char *host, uint16_t port,
                    const char *userinfo, int timeout_ms, char *status, size_t cap, int *reached)
{
    if (reached) *reached = 0;
    size_t ul = userinfo ? strlen(userinfo) : 0;
    if (ul > LN_CONNECT_USERINFO_MAX) {
        snprintf(status, cap, "the proxy credentials are longer than %d bytes",
                 LN_CONNECT_USERINFO_MAX);
        return -EINVAL;
    }
    char ps[8];
    snprintf(ps, sizeof ps, "%u", pport);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    int g = getaddrinfo(proxy, ps, &hints, &res);
    if (g) {
        snprintf(status, cap, "cannot resolve the proxy %s: %s", proxy, gai_strerror(g));
        return -EHOSTUNREACH;
    }
    int fd = -ECONNREFUSED;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next)
        fd = dial(ai, timeout_ms);
    freeaddrinfo(res);
    if (fd < 0) {
        snprintf(status, cap, "cannot connect to the proxy %s:%u: %s", proxy, pport, strerror(-fd));
        return fd;
    }
    if (reached) *reached = 1;
    /* The request line, Host, and what net/http adds for a proxy URL with
     * credentials: Proxy-Authorization: Basic base64(USER:PASSWORD). */
    char auth[4 * ((LN_CONNECT_USERINFO_MAX + 2) / 3) + 1] = "";
    if (userinfo) EVP_EncodeBlock((unsigned char *)auth, (const unsigned char *)userinfo, (int)ul);
    char req[640 + sizeof auth];
    int rl = snprintf(req, sizeof req,
                      strchr(host, ':') ? "CONNECT [%s]:%u HTTP/1.1\r\nHost: [%s]:%u\r\n%s%s%s\r\n"
                                        : "CONNECT %s:%u HTTP/1.1\r\nHost: %s:%u\r\n%s%s%s\r\n",
                      host, port, host, port, userinfo ? "Proxy-Authorization: Basic " : "", auth,
                      userinfo ? "\r\n" : "");
    int sent =
        rl >= 0 && (size_t)rl < sizeof req ? (int)send(fd, req, (size_t)rl, MSG_NOSIGNAL) : -1;
    int e = errno;
    OPENSSL_cleanse(auth, sizeof auth);
    OPENSSL_cleanse(req, sizeof req);
    int rc;
    if (sent != rl || rl < 0) {
        snprintf(status, cap, "sending CONNECT to the proxy failed: %s", strerror(e));
        rc = -EIO;
    } else {
        char buf[512] = "";
        int n = read_line(fd, buf, sizeof buf, timeout_ms);
        if (n == -ETIMEDOUT) {
            snprintf(status, cap, "no answer to CONNECT within %d ms", timeout_ms);
            rc = n;
        } else if (n < 0) {
            /* A reset before any reply: the proxy hung up, as with EOF. */
            snprintf(status, cap, "the proxy closed the connection without answering (%s)",
                     strerror(-n));
            rc = n;
        } else {
            rc = ln_connect_reply(buf, (size_t)n, status, cap);
        }
    }
    close(fd);
    return rc;
}

/* What a status code means for a CONNECT, after "with \"<status>\": ". go
 * takes exactly 200 as an open tunnel (net/http's Transport). */
static void meaning(int code, const char *dest, char *out, size_t cap)
{
    const char *d = dest ? dest : "the destination";
    if (code == 407)
        snprintf(out, cap, "the proxy wants credentials");
    else if (code == 405)
        snprintf(out, cap, "the proxy does not allow CONNECT at all (it does not tunnel https)");
    else if (code >= 400 && code < 500)
        snprintf(out, cap, "the proxy refuses this destination (its allow list)");
    else if (code == 502)
        snprintf(out, cap, "the proxy could not reach %s itself (its own connection failed)", d);
    else if (code == 504)
        snprintf(out, cap,
                 "the proxy could not reach %s itself in time (its own connection timed out)", d);
    else if (code == 503)
        snprintf(out, cap,
                 "the proxy failed: it is unavailable or overloaded (some, Squid among them, "
                 "answer 503 when their own connection to %s failed)",
                 d);
    else if (code >= 500 && code < 600)
        snprintf(out, cap, "the proxy failed (an error of its own, not this destination's)");
    else if (code >= 300 && code < 400)
        snprintf(out, cap, "the proxy redirects CONNECT, which go does not follow: it wants 200");
    else
        snprintf(out, cap, "not an open tunnel: go wants 200");
}

int ln_connect_explain(int code, int reached, const char *who, const char *dest, const char *status,
                       const char *var, int timeout_ms, char *out, size_t cap)
{
    char sp_dest[LN_HOST_MAX + 16] = "";
    if (dest) snprintf(sp_dest, sizeof sp_dest, " %s", dest);
    if (code == 200) {
        snprintf(out, cap, "%s opens a tunnel%s%s (\"%s\")", who, dest ? " to " : "",
                 dest ? dest : "", status);
        return -1;
    }
    if (code >= 0) {               /* a status line, "000" too */
        char m[LN_HOST_MAX + 200]; /* dest is named in some */
        meaning(code, dest, m, sizeof m);
        snprintf(out, cap, "%s answers CONNECT%s with \"%s\": %s", who, sp_dest, status, m);
        return LN_APP;
    }
    if (code == -EPROTO) {
        snprintf(out, cap,
                 "%s answers CONNECT%s with something that is not HTTP (\"%s\"): check that %s "
                 "names an HTTP proxy",
                 who, sp_dest, status, var);
        return LN_APP;
    }
    if (code == -EINVAL) { /* nothing was sent: the request could not be made */
        snprintf(out, cap, "%s was not asked for CONNECT%s: %s", who, sp_dest, status);
        return -1;
    }
    if (!reached) {
        snprintf(out, cap, "%s could not be reached to ask for CONNECT%s (%s)", who, sp_dest,
                 status);
        return LN_TRANSPORT;
    }
    if (code == -ETIMEDOUT)
        snprintf(out, cap, "%s accepted the connection but did not answer CONNECT%s within %.1f s",
                 who, sp_dest, timeout_ms / 1000.0);
    else
        snprintf(out, cap, "%s accepted the connection and closed it without answering CONNECT%s",
                 who, sp_dest);
    return LN_APP;
}
