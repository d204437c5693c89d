/*
 * application layer: speak first and listen. An LSP or DAP initialize
 * request goes out framed (framing/); the answer, the first bytes, an EOF
 * or silence until the timeout tell what listens (ln_classify_reply).
 */
#include <assert.h>
#include <errno.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "framing/lf.h"
#include "netcheck/ln_banner.h"
#include "netcheck/ln_classify.h"
#include "netcheck/ln_layers.h"

#define PROBE_BUF 65536

static const char lsp_init[] =
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"processId\":null,"
    "\"clientInfo\":{\"name\":\"lsptap-netcheck\",\"version\":\"" LSPTAP_VERSION "\"},"
    "\"rootUri\":null,\"capabilities\":{}}}";
static const char dap_init[] =
    "{\"seq\":1,\"type\":\"request\",\"command\":\"initialize\",\"arguments\":{"
    "\"clientID\":\"lsptap-netcheck\",\"clientName\":\"lsptap netcheck\",\"adapterID\":\"go\","
    "\"linesStartAt1\":true,\"columnsStartAt1\":true,\"pathFormat\":\"path\"}}";

/* Writes all of buf. Returns 0 or a negative errno. */
static int conn_write(struct ln_ctx *c, const char *buf, size_t len, int timeout_ms)
{
    if (c->ssl) return SSL_write(c->ssl, buf, (int)len) == (int)len ? 0 : -EIO;
    size_t off = 0;
    while (off < len) {
        ssize_t n = send(c->fd, buf + off, len - off, MSG_NOSIGNAL);
        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR) return -errno;
        struct pollfd p = {c->fd, POLLOUT, 0};
        if (poll(&p, 1, timeout_ms) <= 0) return -ETIMEDOUT;
    }
    return 0;
}

/* Reads some bytes. Returns the count, 0 at EOF, -ETIMEDOUT, or -errno. */
static int conn_read(struct ln_ctx *c, char *buf, size_t len, int timeout_ms)
{
    if (c->ssl) {
        if (SSL_pending(c->ssl) == 0) {
            struct pollfd p = {c->fd, POLLIN, 0};
            if (poll(&p, 1, timeout_ms) <= 0) return -ETIMEDOUT;
        }
        int n = SSL_read(c->ssl, buf, (int)len);
        if (n > 0) return n;
        int e = SSL_get_error(c->ssl, n);
        return e == SSL_ERROR_ZERO_RETURN || e == SSL_ERROR_SYSCALL ? 0 : -EIO;
    }
    struct pollfd p = {c->fd, POLLIN, 0};
    int r = poll(&p, 1, timeout_ms);
    if (r == 0) return -ETIMEDOUT;
    if (r < 0) return -errno;
    ssize_t n = recv(c->fd, buf, len, 0);
    if (n < 0) return errno == ECONNRESET ? 0 : -errno;
    return (int)n;
}

/* Something that is not the expected server answered: name it
 * (ln_banner) in the summary and the hint. Returns 0 when it has no name. */
static int judge_other(const struct ln_target *t, enum ln_banner b, const char *line,
                       const char *addr, struct ln_layer_result *res)
{
    const char *proto = t->probe == LN_PROBE_DAP ? "DAP" : "LSP";
    const char *what = ln_banner_what(b);
    if (b == LN_BANNER_UNKNOWN) return 0;
    if (line[0])
        ln_set(res, LN_FAIL, "answered by %s, not %s: \"%s\"", what, proto, line);
    else
        ln_set(res, LN_FAIL, "answered by %s, not %s", what, proto);
    if (b == LN_BANNER_TLS)
        ln_hint(res, "%s speaks TLS: connect with TLS (--tls, or tls:// in the address)", addr);
    else if (b == LN_BANNER_HTTP || b == LN_BANNER_HTTP2)
        ln_hint(res, "a web server listens on %s: check the port the %s server was given", addr,
                proto);
    else
        ln_hint(res, "%s listens on %s, not the %s server: check the port", what, addr, proto);
    return 1;
}

static void judge(const struct ln_target *t, enum ln_app_class cls, const struct ln_app_info *in,
                  const char *addr, enum ln_banner banner, const char *line,
                  struct ln_layer_result *res)
{
    if ((cls == LN_APP_HTTP || cls == LN_APP_GARBAGE) && judge_other(t, banner, line, addr, res))
        return;
    const char *proto = t->probe == LN_PROBE_DAP ? "DAP" : "LSP";
    const char *other = t->probe == LN_PROBE_DAP ? "LSP" : "DAP";
    double secs = t->timeout_ms / 1000.0;
    switch (cls) {
    case LN_APP_SPEAKS:
        if (in->error) {
            ln_set(res, LN_FAIL, "speaks %s, but initialize failed: %s", proto,
                   in->error_msg[0] ? in->error_msg : "(no message)");
            ln_hint(res, "the server rejected initialize: read its message and the server's log");
        } else if (in->name[0]) {
            ln_set(res, LN_OK, "speaks %s: %s %s (%d capabilities)", proto, in->name,
                   in->version[0] ? in->version : "(no version)", in->capabilities);
        } else {
            ln_set(res, LN_OK, "speaks %s: initialize answered with %d capabilities%s", proto,
                   in->capabilities, t->probe == LN_PROBE_LSP ? " (no serverInfo)" : "");
        }
        break;
    case LN_APP_OTHER_RPC:
        ln_set(res, LN_FAIL, "speaks %s, not %s", other, proto);
        ln_hint(res, "%s is a %s; probe it with --probe %s, or point the editor at the %s", addr,
                t->probe == LN_PROBE_DAP ? "language server" : "debug adapter (dlv dap)",
                t->probe == LN_PROBE_DAP ? "lsp" : "dap",
                t->probe == LN_PROBE_DAP ? "debug adapter's port" : "language server's port");
        break;
    case LN_APP_NO_ANSWER:
        ln_set(res, LN_FAIL, "sends framed messages but did not answer initialize within %.1f s",
               secs);
        ln_hint(res, "the server speaks the framing but not this request: is it busy or another "
                     "JSON-RPC service?");
        break;
    case LN_APP_HTTP:
        ln_set(res, LN_FAIL, "speaks HTTP, not %s: \"%s\"", proto, in->first);
        ln_hint(res, "a web server listens on %s: check the port the %s server was given", addr,
                proto);
        break;
    case LN_APP_GARBAGE:
        ln_set(res, LN_FAIL, "speaks something else, not %s: \"%s\"", proto, in->first);
        ln_hint(res,
                "another service listens on %s: check the port (or add --tls if it speaks TLS)",
                addr);
        break;
    case LN_APP_CLOSED:
        ln_set(res, LN_FAIL, "closes the connection at once, without a reply");
        ln_hint(res,
                "the service on %s accepts and hangs up: it may refuse this client, expect "
                "TLS (--tls), or serve one connection only and have one already",
                addr);
        break;
    case LN_APP_SILENT:
    case LN_APP_MORE:
        ln_set(res, LN_FAIL, "silent: no reply to initialize within %.1f s", secs);
        ln_hint(res,
                "the service on %s accepts connections but never answers: it may be hung, "
                "expect TLS (--tls), or speak a protocol where the server talks second",
                addr);
        break;
    }
}

int ln_layer_app(const struct ln_target *t, struct ln_ctx *c, struct ln_layer_result *res)
{
    json_t *ev = res->evidence;
    if (t->probe == LN_PROBE_NONE) {
        ln_set(res, LN_SKIPPED, "not requested (--probe none)");
        return 0;
    }
    if (c->fd < 0) {
        ln_set(res, LN_SKIPPED, "no connection to probe (transport did not connect)");
        return 0;
    }
    if (c->tls_failed) {
        ln_set(res, LN_SKIPPED, "no trusted connection to probe (tls failed)");
        return 0;
    }
    const char *body = t->probe == LN_PROBE_DAP ? dap_init : lsp_init;
    char hdr[LF_HEADER_MAX_OUT], addr[80];
    ln_addrport_str((struct sockaddr *)&c->peer, addr, sizeof(addr));
    size_t hl = lf_write_header(hdr, sizeof(hdr), strlen(body));
    assert(hl > 0); /* LF_HEADER_MAX_OUT always suffices */
    json_object_set_new(ev, "probe", json_string(t->probe == LN_PROBE_DAP ? "dap" : "lsp"));
    int rc = conn_write(c, hdr, hl, t->timeout_ms);
    if (rc == 0) rc = conn_write(c, body, strlen(body), t->timeout_ms);
    char *buf = malloc(PROBE_BUF);
    if (!buf) return -ENOMEM;
    size_t len = 0;
    double t0 = ln_now_ms();
    /* A peer that hung up at once makes the write fail (EPIPE, ECONNRESET);
     * whatever it sent before closing is still worth reading. */
    enum ln_app_end end = LN_END_NONE;
    if (rc < 0) {
        json_object_set_new(ev, "write_error", json_string(strerror(-rc)));
        int n = conn_read(c, buf, PROBE_BUF, 0);
        if (n > 0) len = (size_t)n;
        end = LN_END_EOF;
    }
    enum ln_app_class cls;
    struct ln_app_info info;
    for (;;) {
        cls = ln_classify_reply(t->probe, buf, len, end, &info);
        if (cls != LN_APP_MORE || end != LN_END_NONE || len == PROBE_BUF) break;
        int left = (int)(t->timeout_ms - (ln_now_ms() - t0));
        int n = left > 0 ? conn_read(c, buf + len, PROBE_BUF - len, left) : -ETIMEDOUT;
        if (n > 0)
            len += (size_t)n;
        else if (n == 0 || (n < 0 && n != -ETIMEDOUT))
            end = LN_END_EOF;
        else
            end = LN_END_TIMEOUT;
    }
    if (cls == LN_APP_MORE) cls = ln_classify_reply(t->probe, buf, len, LN_END_TIMEOUT, &info);
    json_object_set_new(ev, "class", json_string(ln_app_class_name(cls)));
    json_object_set_new(ev, "bytes_received", json_integer((json_int_t)len));
    json_object_set_new(ev, "reply_ms", json_real(ln_round_ms(ln_now_ms() - t0)));
    if (len) json_object_set_new(ev, "first_bytes", json_string(info.first));
    if (info.name[0]) json_object_set_new(ev, "server_name", json_string(info.name));
    if (info.version[0]) json_object_set_new(ev, "server_version", json_string(info.version));
    char line[128] = "";
    enum ln_banner banner = ln_banner_identify(buf, len, line, sizeof line);
    if (banner != LN_BANNER_UNKNOWN)
        json_object_set_new(ev, "answered_by", json_string(ln_banner_what(banner)));
    judge(t, cls, &info, addr, banner, line, res);
    free(buf);
    return 0;
}
