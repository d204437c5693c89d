/*
 * netcheck/ln_gofail: the texts gopls relays from go (and git, ssh) when a
 * connection fails, each to its class and target; and the texts that name a
 * server but report its answer, not a network failure, to none.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "netcheck/ln_gofail.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

struct gcase {
    const char *text;
    enum ln_gofail_class cls;
    const char *host; /* the target to check */
    unsigned port;
    int tls;
    int via_proxy;
};

static const struct gcase CASES[] = {
    /* gopls's logMessage as the stand-in sees it (Debian's gopls, go 1.19). */
    {"2026/12/06 10:52:13 initial workspace load failed: 1 modules have errors:\n"
     "\texample.com/app:example.org/dep@v1.0.0: Get "
     "\"http://127.0.0.1:1/example.org/dep/@v/v1.0.0.mod\": dial tcp 127.0.0.1:1: connect: "
     "connection refused\n\n",
     LN_GOFAIL_REFUSED, "127.0.0.1", 1, 0, 0},
    {"-: example.org/dep@v1.0.0: Get \"https://proxy.golang.org/example.org/dep/@v/v1.0.0.mod\": "
     "dial tcp 142.250.1.1:443: i/o timeout",
     LN_GOFAIL_TIMEOUT, "proxy.golang.org", 443, 1, 0},
    {"Get \"https://proxy.golang.org/x/@v/list\": dial tcp: lookup proxy.golang.org on "
     "127.0.0.53:53: no such host",
     LN_GOFAIL_DNS, "proxy.golang.org", 443, 1, 0},
    {"Get \"https://proxy.lab:8443/x/@v/list\": dial tcp: lookup proxy.lab on 10.0.0.1:53: "
     "server misbehaving",
     LN_GOFAIL_DNS, "proxy.lab", 8443, 1, 0},
    {"Get \"http://goproxy.corp/x/@v/list\": dial tcp: lookup goproxy.corp: Temporary failure in "
     "name resolution",
     LN_GOFAIL_DNS, "goproxy.corp", 80, 0, 0},
    {"Get \"https://sum.golang.org/lookup/x@v1.0.0\": dial tcp: lookup sum.golang.org on "
     "10.0.0.1:53: read udp 10.0.0.2:41234->10.0.0.1:53: i/o timeout",
     LN_GOFAIL_DNS, "sum.golang.org", 443, 1, 0},
    {"Get \"https://proxy.golang.org/x/@v/list\": proxyconnect tcp: dial tcp 10.9.9.9:3128: "
     "connect: connection refused",
     LN_GOFAIL_REFUSED, "10.9.9.9", 3128, 0, 1},
    {"Get \"https://proxy.golang.org/x/@v/list\": proxyconnect tcp: dial tcp: lookup squid.corp "
     "on 10.0.0.1:53: no such host",
     LN_GOFAIL_DNS, "squid.corp", 0, 0, 1},
    {"Get \"http://10.1.2.3:4000/x/@v/v1.0.0.mod\": dial tcp 10.1.2.3:4000: connect: no route to "
     "host",
     LN_GOFAIL_UNREACHABLE, "10.1.2.3", 4000, 0, 0},
    {"Get \"https://[fd00::5]:8443/x/@v/list\": dial tcp [fd00::5]:8443: connect: network is "
     "unreachable",
     LN_GOFAIL_UNREACHABLE, "fd00::5", 8443, 1, 0},
    {"Get \"https://proxy.golang.org/x/@v/list\": context deadline exceeded (Client.Timeout "
     "exceeded while awaiting headers)",
     LN_GOFAIL_TIMEOUT, "proxy.golang.org", 443, 1, 0},
    {"Get \"https://proxy.golang.org/x/@v/list\": net/http: TLS handshake timeout",
     LN_GOFAIL_TIMEOUT, "proxy.golang.org", 443, 1, 0},
    {"Get \"https://proxy.lab/x/@v/v1.0.0.mod\": x509: certificate has expired or is not yet "
     "valid: current time 2026-12-06T10:00:00Z is after 2026-01-01T00:00:00Z",
     LN_GOFAIL_X509_EXPIRED, "proxy.lab", 443, 1, 0},
    {"Get \"https://proxy.lab/x/@v/list\": tls: failed to verify certificate: x509: certificate "
     "signed by unknown authority",
     LN_GOFAIL_X509_UNKNOWN_CA, "proxy.lab", 443, 1, 0},
    {"Get \"https://10.0.0.5/x/@v/list\": x509: certificate is valid for proxy.lab, not "
     "goproxy.lab",
     LN_GOFAIL_X509_NAME, "10.0.0.5", 443, 1, 0},
    {"Get \"https://10.0.0.5/x/@v/list\": x509: cannot validate certificate for 10.0.0.5 because "
     "it doesn't contain any IP SANs",
     LN_GOFAIL_X509_NAME, "10.0.0.5", 443, 1, 0},
    {"Get \"https://127.0.0.1:18404/x/@v/v1.0.0.mod\": tls: first record does not look like a TLS "
     "handshake",
     LN_GOFAIL_TLS, "127.0.0.1", 18404, 1, 0},
    {"Get \"https://proxy.lab/x/@v/list\": remote error: tls: handshake failure", LN_GOFAIL_TLS,
     "proxy.lab", 443, 1, 0},
    {"Get \"https://proxy.lab/x/@v/list\": read tcp 10.0.0.2:5555->10.0.0.5:443: read: "
     "connection reset by peer",
     LN_GOFAIL_RESET, "proxy.lab", 443, 1, 0},
    {"Get \"https://proxy.lab/x/@v/list\": EOF", LN_GOFAIL_RESET, "proxy.lab", 443, 1, 0},
    {"Get \"https://proxy.lab/x/@v/list\": unexpected EOF", LN_GOFAIL_RESET, "proxy.lab", 443, 1,
     0},
    /* Windows: syscall.Errno prints FormatMessage's text. */
    {"Get \"https://proxy.golang.org/x/@v/list\": dial tcp 142.250.204.49:443: connectex: A "
     "connection attempt failed because the connected party did not properly respond after a "
     "period of time, or established connection failed because connected host has failed to "
     "respond.",
     LN_GOFAIL_TIMEOUT, "proxy.golang.org", 443, 1, 0},
    {"Get \"http://127.0.0.1:3000/x/@v/list\": dial tcp 127.0.0.1:3000: connectex: No connection "
     "could be made because the target machine actively refused it.",
     LN_GOFAIL_REFUSED, "127.0.0.1", 3000, 0, 0},
    {"Get \"https://proxy.golang.org/x/@v/list\": read tcp 192.168.1.5:50000->142.250.1.1:443: "
     "wsarecv: An existing connection was forcibly closed by the remote host.",
     LN_GOFAIL_RESET, "proxy.golang.org", 443, 1, 0},
    {"dial tcp 10.0.0.9:443: connectex: A socket operation was attempted to an unreachable "
     "network.",
     LN_GOFAIL_UNREACHABLE, "10.0.0.9", 443, 0, 0},
    {"Get \"https://proxy.lab/x\": dial tcp: lookup proxy.lab: No such host is known.",
     LN_GOFAIL_DNS, "proxy.lab", 443, 1, 0},
    /* Direct VCS fetches (GOPROXY=direct): git through curl, git over ssh. */
    {"git ls-remote -q origin in /root/go/pkg/mod/cache/vcs/abc: exit status 128:\n\tfatal: "
     "unable to access 'https://github.com/x/y/': Could not resolve host: github.com",
     LN_GOFAIL_DNS, "github.com", 443, 1, 0},
    {"fatal: unable to access 'https://git.corp:8443/x/': Failed to connect to git.corp port 8443 "
     "after 3 ms: Connection refused",
     LN_GOFAIL_REFUSED, "git.corp", 8443, 1, 0},
    {"ssh: connect to host github.com port 22: Connection timed out", LN_GOFAIL_TIMEOUT,
     "github.com", 22, 0, 0},
    {"fatal: unable to access 'https://git.corp/x/': SSL certificate problem: certificate has "
     "expired",
     LN_GOFAIL_X509_EXPIRED, "git.corp", 443, 1, 0},
    /* The HTTP proxy refused CONNECT: net/http gives its status text alone. */
    {"Get \"https://proxy.golang.org/example.org/dep/@v/v1.0.0.mod\": Forbidden",
     LN_GOFAIL_PROXY_STATUS, "proxy.golang.org", 443, 1, 1},
    {"example.com/app:example.org/dep@v1.0.0: Get \"https://proxy.golang.org/x/@v/list\": Proxy "
     "Authentication Required\n",
     LN_GOFAIL_PROXY_STATUS, "proxy.golang.org", 443, 1, 1},
    /* Not network failures: the server answered, or there is no target. */
    {"example.com/app:example.org/dep@v1.0.0: reading "
     "http://127.0.0.1:18404/example.org/dep/@v/v1.0.0.mod: 404 Not Found",
     LN_GOFAIL_NONE, NULL, 0, 0, 0},
    {"reading https://proxy.golang.org/x/@v/v1.0.0.zip: 410 Gone\n\tserver response: not found",
     LN_GOFAIL_NONE, NULL, 0, 0, 0},
    {"verifying example.org/dep@v1.0.0/go.mod: checksum mismatch\n\tdownloaded: h1:abc=\n\tgo.sum:"
     "     h1:def=\n\nSECURITY ERROR",
     LN_GOFAIL_NONE, NULL, 0, 0, 0},
    {"go: updates to go.mod needed; to update it:\n\tgo mod tidy", LN_GOFAIL_NONE, NULL, 0, 0, 0},
    {"err: exit status 1: stderr: go: cannot find GOROOT directory: /nonexistent", LN_GOFAIL_NONE,
     NULL, 0, 0, 0},
    {"context deadline exceeded", LN_GOFAIL_NONE, NULL, 0, 0, 0},
    {"reading https://proxy.golang.org/x/@v/list: 403 Forbidden", LN_GOFAIL_NONE, NULL, 0, 0, 0},
    {"Get \"https://proxy.golang.org/x/@v/list\": Forbidden fruit", LN_GOFAIL_NONE, NULL, 0, 0, 0},
    {"Get \"https://proxy.lab/x/@v/list\": EOFError in a made-up wrapper", LN_GOFAIL_NONE, NULL, 0,
     0, 0},
    {"", LN_GOFAIL_NONE, NULL, 0, 0, 0},
};

static void test_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(CASES); i++) {
        const struct gcase *c = &CASES[i];
        struct ln_gofail g;
        int got = ln_gofail_parse(c->text, strlen(c->text), &g);
        int maybe = ln_gofail_maybe(c->text, strlen(c->text));
        if (got != (c->cls != LN_GOFAIL_NONE) || g.cls != c->cls)
            fail_msg("case %zu: class %s, want %s: %s", i, ln_gofail_class_name(g.cls),
                     ln_gofail_class_name(c->cls), c->text);
        if (got && !maybe) fail_msg("case %zu: the pre-filter would have skipped it", i);
        if (!c->host) continue;
        if (strcmp(g.host, c->host) || g.port != c->port || g.tls != c->tls ||
            g.via_proxy != c->via_proxy)
            fail_msg("case %zu: target %s:%u tls=%d proxy=%d, want %s:%u tls=%d proxy=%d", i,
                     g.host, g.port, g.tls, g.via_proxy, c->host, c->port, c->tls, c->via_proxy);
        if (!g.cause[0]) fail_msg("case %zu: no cause", i);
    }
}

static void test_fields(void **state)
{
    (void)state;
    const char *t = "Get \"https://user:pw@proxy.lab:8443/x/@v/list\": proxyconnect tcp: dial tcp "
                    "10.9.9.9:3128: connect: connection refused";
    struct ln_gofail g;
    assert_int_equal(ln_gofail_parse(t, strlen(t), &g), 1);
    assert_string_equal(g.url_host, "proxy.lab");
    assert_int_equal(g.url_port, 8443);
    assert_int_equal(g.url_https, 1);
    assert_string_equal(g.dial_host, "10.9.9.9");
    assert_int_equal(g.dial_port, 3128);
    assert_int_equal(g.via_proxy, 1);
    assert_string_equal(g.cause, "connection refused");
    assert_int_equal(ln_gofail_layer(g.cls), LN_TRANSPORT);
    assert_int_equal(ln_gofail_layer(LN_GOFAIL_DNS), LN_DNS);
    assert_int_equal(ln_gofail_layer(LN_GOFAIL_X509_NAME), LN_TLS);
    assert_int_equal(ln_gofail_layer(LN_GOFAIL_PROXY_STATUS), LN_APP);
    assert_string_equal(ln_gofail_class_name(LN_GOFAIL_PROXY_STATUS), "proxy-status");
    assert_string_equal(ln_gofail_class_name(LN_GOFAIL_RESET), "reset");
}

/* The pre-filter runs on the raw JSON body: escaped quotes and newlines. */
static void test_maybe_raw_json(void **state)
{
    (void)state;
    static const char *const raw[] = {
        "{\"params\":{\"type\":1,\"message\":\"x: Get \\\"https://proxy.golang.org/x/@v/"
        "list\\\": Forbidden\\n\\n\"}}",
        "{\"params\":{\"type\":1,\"message\":\"x: Get \\\"http://127.0.0.1:1/x\\\": dial tcp "
        "127.0.0.1:1: connect: connection refused\\n\"}}",
    };
    for (size_t i = 0; i < ARRAY_LEN(raw); i++)
        if (!ln_gofail_maybe(raw[i], strlen(raw[i]))) fail_msg("raw %zu skipped: %s", i, raw[i]);
    static const char not_net[] = "{\"params\":{\"type\":1,\"message\":\"reading "
                                  "https://proxy.golang.org/x/@v/list: 404 Not Found\\n\"}}";
    assert_int_equal(ln_gofail_maybe(not_net, strlen(not_net)), 0);
}

/* The parser never reads past len: the text ends mid-address. */
static void test_prefixes(void **state)
{
    (void)state;
    const char *t = CASES[0].text;
    size_t n = strlen(t);
    for (size_t k = 0; k <= n; k++) {
        char buf[1024];
        memcpy(buf, t, k);
        memset(buf + k, 'x', sizeof buf - k);
        struct ln_gofail g;
        if (ln_gofail_parse(buf, k, &g) && g.cls == LN_GOFAIL_NONE)
            fail_msg("prefix %zu: a match without a class", k);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_maybe_raw_json),
        cmocka_unit_test(test_prefixes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
