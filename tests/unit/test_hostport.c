/*
 * The one HOST:PORT parser (netcheck/ln_hostport.h) under each caller's
 * flags, and `lsptap relay`'s addresses on top of it (lp_addr_parse).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env/lp_netenv.h"
#include "inspect/li_redact.h"
#include "netcheck/ln_hostport.h"
#include "proxy/lp_addr.h"

enum { LISTEN = LN_HP_EMPTY_HOST | LN_HP_PORT_ZERO };

static int parse(const char *s, unsigned flags, char *host, uint16_t *port, char *err)
{
    return ln_hostport_parse(s, strlen(s), flags, host, 64, port, err, 200);
}

static void test_accepts(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        unsigned flags;
        const char *host;
        unsigned port;
    } cases[] = {
        {"127.0.0.1:4389", 0, "127.0.0.1", 4389},
        {"[::1]:65535", 0, "::1", 65535},
        {"[fe80::1%eth0]:22", 0, "fe80::1%eth0", 22},
        {":0", LISTEN, "", 0},
        {"[::]:0", LISTEN, "::", 0},
        {"proxy.example", LN_HP_PORT_OPTIONAL, "proxy.example", 7},
        {"proxy.example:", LN_HP_PORT_OPTIONAL, "proxy.example", 7},
        {"[::1]", LN_HP_PORT_OPTIONAL, "::1", 7},
        {"[::1]:8443", LN_HP_PORT_OPTIONAL, "::1", 8443},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char host[64] = "?", err[200] = "";
        uint16_t port = 7;
        if (parse(cases[i].in, cases[i].flags, host, &port, err))
            fail_msg("%s: refused: %s", cases[i].in, err);
        assert_string_equal(host, cases[i].host);
        assert_int_equal(port, cases[i].port);
    }
}

static void test_refuses_with_a_reason(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        unsigned flags;
        const char *words;
    } cases[] = {
        {"host:0", 0, "\"host:0\": port must be a number from 1 to 65535"},
        {"host:65536", LISTEN, "port must be a number from 0 to 65535"},
        {"host: 80", LISTEN, "port must be"},
        {":80", 0, "\":80\": empty host"},
        {"::1:80", LISTEN, "an IPv6 address needs brackets"},
        {"::1", LN_HP_PORT_OPTIONAL, "an IPv6 address needs brackets"},
        {"[::1", LN_HP_PORT_OPTIONAL, "'[' without ']'"},
        {"[::1]x", LN_HP_PORT_OPTIONAL, "expected [ADDRESS]:PORT"},
        {"nohost", LISTEN, "\"nohost\": expected HOST:PORT"},
        {"a-host-name-longer-than-the-sixty-three-bytes-this-test-gives-it.example:1", 0,
         "host name too long"},
        /* What is typed for HOST:PORT but is not: named, with the HOST:PORT to
         * give instead, and nothing before the '@' repeated outside the quote. */
        {"u:x@h:1", 0,
         "\"u:x@h:1\": a user name and password before '@' are not part of HOST:PORT; give the "
         "host and port alone: h:1"},
        {"user@host:1", 0,
         "\"user@host:1\": a user name before '@' is not part of HOST:PORT; give the host and "
         "port alone: host:1"},
        {"u:p@ss@h:1", LISTEN,
         "password before '@' are not part of HOST:PORT; give the host and port alone: h:1"},
        {"u@[::1]:80", LISTEN, "give the host and port alone: [::1]:80"},
        {"http://u:p@h:1", 0,
         "\"http://u:p@h:1\": a URL (\"http://\"), not HOST:PORT; give the host and port alone: "
         "h:1"},
        {"https://proxy.example/mod@v1", LN_HP_PORT_OPTIONAL,
         "a URL (\"https://\"), not HOST:PORT; give the host and port alone: proxy.example:443 "
         "(443 is https's default port)"},
        {"https://[::1]/x", 0, "give the host and port alone: [::1]:443 (443 is https's"},
        {"http://h.example", 0, "give the host and port alone: h.example:80"},
        {"ftp://h.example", 0, "give the host and port alone: h.example:PORT"},
        /* netcheck has --tls: a TLS URL is answered with it. */
        {"tls://h:1", LN_HP_TLS_OPTION,
         "\"tls://h:1\": a URL (\"tls://\"), not HOST:PORT; give the host and port alone: h:1 "
         "--tls"},
        {"HTTPS://u:p@h.example/x", LN_HP_TLS_OPTION,
         "give the host and port alone: h.example:443 --tls (443 is https's default port)"},
        {"https://h:8443", LN_HP_TLS_OPTION, "give the host and port alone: h:8443 --tls"},
        {"tls://", LN_HP_TLS_OPTION, "give the host and port alone, with --tls"},
        {"u:pw://h:1", 0,
         "\"u:pw://h:1\": a URL, not HOST:PORT; give the host and port alone: h:1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char host[64] = "", err[200] = "";
        uint16_t port = 7;
        assert_int_equal(parse(cases[i].in, cases[i].flags, host, &port, err), -EINVAL);
        if (!strstr(err, cases[i].words))
            fail_msg("%s: \"%s\" lacks \"%s\"", cases[i].in, err, cases[i].words);
        const char *after_quote = err + strlen(cases[i].in) + 2;
        assert_null(strstr(after_quote, "u:"));
        assert_int_equal(port, 7); /* untouched on error */
    }
}

/* --tls is suggested only to a caller that has it (netcheck): lsptap relay's
 * addresses take tls:// themselves. */
static void test_tls_hint_only_with_the_option(void **state)
{
    (void)state;
    char host[64], err[200] = "";
    uint16_t port = 7;
    assert_int_equal(parse("tls://h:1", 0, host, &port, err), -EINVAL);
    assert_null(strstr(err, "--tls"));
    assert_int_equal(parse("https://h", LISTEN, host, &port, err), -EINVAL);
    assert_null(strstr(err, "--tls"));
    assert_int_equal(parse("http://h:1", LN_HP_TLS_OPTION, host, &port, err), -EINVAL);
    assert_null(strstr(err, "--tls"));
}

/* A caller whose addresses take tls:// (lsptap relay) is told to write it:
 * HOST:PORT alone would connect without TLS. */
static void test_tls_scheme_hint(void **state)
{
    (void)state;
    char host[64], err[200] = "";
    uint16_t port = 7;
    assert_int_equal(parse("https://h.example/x", LN_HP_TLS_SCHEME, host, &port, err), -EINVAL);
    assert_string_equal(err, "\"https://h.example/x\": a URL (\"https://\"), not HOST:PORT; give "
                             "tls:// and the host and port: tls://h.example:443 (443 is https's "
                             "default port)");
    assert_int_equal(parse("HTTPS://[::1]:8443", LN_HP_TLS_SCHEME, host, &port, err), -EINVAL);
    assert_non_null(strstr(err, "give tls:// and the host and port: tls://[::1]:8443"));
    assert_int_equal(parse("https://", LN_HP_TLS_SCHEME, host, &port, err), -EINVAL);
    assert_non_null(strstr(err, "give the host and port alone, after tls://"));
    /* Plain http stays plain. */
    assert_int_equal(parse("http://h", LN_HP_TLS_SCHEME, host, &port, err), -EINVAL);
    assert_non_null(strstr(err, "give the host and port alone: h:80"));
    assert_null(strstr(err, "tls://"));
    /* Both TLS flags: the address syntax's own tls:// wins, quoted or not. */
    const unsigned both = LN_HP_TLS_SCHEME | LN_HP_TLS_OPTION;
    assert_int_equal(parse("https://h.example", both, host, &port, err), -EINVAL);
    assert_non_null(strstr(err, "tls://h.example:443"));
    assert_null(strstr(err, "--tls"));
    assert_int_equal(parse("https://", both, host, &port, err), -EINVAL);
    assert_non_null(strstr(err, "give the host and port alone, after tls://"));
    assert_null(strstr(err, "--tls"));
}

/* Only the first len bytes count: a URL's authority ends at its path. */
static void test_length_bounds_the_input(void **state)
{
    (void)state;
    char host[64], err[200];
    uint16_t port = 0;
    assert_int_equal(
        ln_hostport_parse("example.org:8080/x:9", 16, 0, host, sizeof host, &port, err, sizeof err),
        0);
    assert_string_equal(host, "example.org");
    assert_int_equal(port, 8080);
}

static void test_format_brackets_v6(void **state)
{
    (void)state;
    char buf[64];
    ln_hostport_format(buf, sizeof buf, "::1", 80);
    assert_string_equal(buf, "[::1]:80");
    ln_hostport_format(buf, sizeof buf, "example.org", 443);
    assert_string_equal(buf, "example.org:443");
}

static void test_url_authority(void **state)
{
    (void)state;
    char host[64];
    uint16_t port;
    assert_int_equal(lp_net_authority("user:pw@proxy.example:3128/", 0, host, sizeof host, &port),
                     1);
    assert_string_equal(host, "proxy.example");
    assert_int_equal(port, 3128);
    assert_int_equal(lp_net_authority("[2001:db8::1]/mod", 1, host, sizeof host, &port), 1);
    assert_string_equal(host, "2001:db8::1");
    assert_int_equal(port, 443);
    assert_int_equal(lp_net_authority("/path", 1, host, sizeof host, &port), 0);
    /* A password with a raw '@' in it: the host is after the last one, as go's
     * url.Parse has it. */
    assert_int_equal(lp_net_authority("u:p@ss@proxy.example:3128", 0, host, sizeof host, &port), 1);
    assert_string_equal(host, "proxy.example");
    assert_int_equal(port, 3128);
}

/* The proxy URL's credentials as net/http sends them: percent-decoded, the
 * user name and password split at the first raw ':', the last '@' ending
 * them; none for a URL without them or a proxy that is not HTTP. */
static void test_proxy_userinfo(void **state)
{
    (void)state;
    static const struct {
        const char *https_proxy, *want; /* want NULL: none */
    } cases[] = {
        {"http://alice:s3cr%40t@proxy.example:3128", "alice:s3cr@t"},
        {"http://u:p@ss@proxy.example:3128/x@y", "u:p@ss"},
        {"bob@proxy.example:3128", "bob:"},
        {"http://a%3Ab:c:d@proxy.example", "a:b:c:d"},
        {"http://proxy.example:3128", NULL},
        {"socks5://u:p@proxy.example:1080", NULL},
    };
    unsetenv("https_proxy");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[64] = "";
        setenv("HTTPS_PROXY", cases[i].https_proxy, 1);
        int r = lp_net_proxy_userinfo(1, out, sizeof out);
        if (!cases[i].want) {
            assert_int_equal(r, 0);
            continue;
        }
        assert_int_equal(r, 1);
        assert_string_equal(out, cases[i].want);
    }
    char small[4];
    setenv("HTTPS_PROXY", "http://alice:s3cret@proxy.example", 1);
    assert_int_equal(lp_net_proxy_userinfo(1, small, sizeof small), 0); /* never cut */
    unsetenv("HTTPS_PROXY");
}

/* The variable go's httpproxy.FromEnvironment takes the proxy from: upper
 * case first, then lower case, an empty value counting as unset; no
 * fallback from https to HTTP_PROXY. */
static void test_proxy_variable(void **state)
{
    (void)state;
    static const char *const vars[] = {"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"};
    for (size_t i = 0; i < 4; i++)
        unsetenv(vars[i]);
    assert_null(lp_net_proxy_variable(1));
    setenv("HTTP_PROXY", "http://p:1", 1);
    assert_null(lp_net_proxy_variable(1));
    assert_string_equal(lp_net_proxy_variable(0), "HTTP_PROXY");
    setenv("https_proxy", "http://p:1", 1);
    assert_string_equal(lp_net_proxy_variable(1), "https_proxy");
    setenv("HTTPS_PROXY", "", 1);
    assert_string_equal(lp_net_proxy_variable(1), "https_proxy");
    setenv("HTTPS_PROXY", "http://q:1", 1);
    assert_string_equal(lp_net_proxy_variable(1), "HTTPS_PROXY");
    unsetenv("HTTP_PROXY");
    setenv("http_proxy", "http://p:1", 1);
    assert_string_equal(lp_net_proxy_variable(0), "http_proxy");
    for (size_t i = 0; i < 4; i++)
        unsetenv(vars[i]);
}

static void test_relay_addresses(void **state)
{
    (void)state;
    struct lp_addr a;
    char err[300] = "";
    assert_int_equal(lp_addr_parse("tls://[::1]:0", &a, err, sizeof err), 0);
    assert_int_equal(a.kind, LP_ADDR_TLS);
    assert_string_equal(a.host, "::1");
    assert_string_equal(a.port, "0");
    assert_string_equal(a.text, "tls://[::1]:0");
    assert_int_equal(lp_addr_parse(":4389", &a, err, sizeof err), 0);
    assert_int_equal(a.kind, LP_ADDR_TCP);
    assert_string_equal(a.host, "");
    assert_string_equal(a.port, "4389");
    assert_int_equal(lp_addr_parse("unix:/tmp/s", &a, err, sizeof err), 0);
    assert_int_equal(a.kind, LP_ADDR_UNIX);
    assert_string_equal(a.path, "/tmp/s");

    assert_int_equal(lp_addr_parse("nohost", &a, err, sizeof err), -EINVAL);
    assert_string_equal(err, "\"nohost\" is not HOST:PORT, [IPV6]:PORT or unix:PATH");
    assert_int_equal(lp_addr_parse("tcp://h:99999", &a, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "port must be a number from 0 to 65535"));
    assert_int_equal(lp_addr_parse("unix:", &a, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "a unix socket path must be"));
    assert_int_equal(lp_addr_parse("tcp://u:x@h:1", &a, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "a user name and password before '@'"));
    /* Credentials after tls://: the hint keeps the scheme (h:1 alone would
     * be plain TCP), the quote is the address as typed, and the credentials
     * are gone once the message is redacted on its way out (li_say). */
    assert_int_equal(lp_addr_parse("tls://u:x@h:1", &a, err, sizeof err), -EINVAL);
    assert_string_equal(err, "\"tls://u:x@h:1\": a user name and password before '@' are not "
                             "part of HOST:PORT; give tls:// and the host and port: tls://h:1");
    char red[300];
    li_redact_value(NULL, err, NULL, red, sizeof red);
    assert_string_equal(red, "\"tls://u:REDACTED@h:1\": a user name and password before '@' are "
                             "not part of HOST:PORT; give tls:// and the host and port: tls://h:1");
    assert_int_equal(lp_addr_parse("tls://s3cret@[::1]:5", &a, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "a user name before '@' is not part of HOST:PORT; give tls:// and "
                                "the host and port: tls://[::1]:5"));
    li_redact_value(NULL, err, NULL, red, sizeof red);
    assert_null(strstr(red, "s3cret"));
    /* Secrets too long for the quote: cut, the quote would lose the '@'
     * that tells the redactor what they are; they are masked before the cut. */
    char longpw[200], longtok[200];
    snprintf(longpw, sizeof longpw, "tls://user:%0*d@h.invalid:1", 90, 7);
    assert_int_equal(lp_addr_parse(longpw, &a, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "\"tls://user:REDACTED@h.invalid:1\": a user name and password"));
    assert_null(strstr(err, "0000"));
    snprintf(longtok, sizeof longtok, "tls://ghp_%0*d@h.invalid:1", 90, 7);
    assert_int_equal(lp_addr_parse(longtok, &a, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "\"tls://REDACTED@h.invalid:1\": a user name before '@'"));
    assert_null(strstr(err, "ghp_"));
    /* Without tls:// the address is plain TCP, and so is the hint. */
    assert_int_equal(lp_addr_parse("u:x@h:1", &a, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "give the host and port alone: h:1"));
    /* The scheme is quoted with the rest in the other sentences too. */
    assert_int_equal(lp_addr_parse("tls://nohost", &a, err, sizeof err), -EINVAL);
    assert_string_equal(err, "\"tls://nohost\" is not HOST:PORT, [IPV6]:PORT or unix:PATH");
    assert_int_equal(lp_addr_parse("tls://h:x", &a, err, sizeof err), -EINVAL);
    assert_string_equal(err, "\"tls://h:x\": port must be a number from 0 to 65535");
    assert_int_equal(lp_addr_parse("tls://https://h", &a, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "give tls:// and the host and port: tls://h:443"));
    /* An https URL for ADDR: relay says TLS with tls://, not --tls, and
     * h:443 alone would be plain TCP. */
    assert_int_equal(lp_addr_parse("https://h", &a, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "give tls:// and the host and port: tls://h:443"));
    assert_null(strstr(err, "--tls"));
}

static void test_loopback(void **state)
{
    (void)state;
    struct sockaddr_in a4 = {.sin_family = AF_INET};
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6};
    inet_pton(AF_INET, "127.8.9.10", &a4.sin_addr);
    assert_int_equal(ln_sockaddr_is_loopback((struct sockaddr *)&a4), 1);
    inet_pton(AF_INET, "128.0.0.1", &a4.sin_addr);
    assert_int_equal(ln_sockaddr_is_loopback((struct sockaddr *)&a4), 0);
    inet_pton(AF_INET6, "::1", &a6.sin6_addr);
    assert_int_equal(ln_sockaddr_is_loopback((struct sockaddr *)&a6), 1);
    inet_pton(AF_INET6, "::ffff:127.0.0.1", &a6.sin6_addr); /* mapped: not ::1 */
    assert_int_equal(ln_sockaddr_is_loopback((struct sockaddr *)&a6), 0);
    struct sockaddr su = {.sa_family = AF_UNIX};
    assert_int_equal(ln_sockaddr_is_loopback(&su), 0);

    assert_int_equal(ln_host_is_loopback("LocalHost"), 1);
    assert_int_equal(ln_host_is_loopback("127.0.0.1"), 1);
    assert_int_equal(ln_host_is_loopback("::1"), 1);
    assert_int_equal(ln_host_is_loopback("localhost.example.org"), 0);
    assert_int_equal(ln_host_is_loopback("10.0.0.1"), 0);
    assert_int_equal(ln_host_is_loopback("[::1]"), 0); /* a host, not an authority */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepts),
        cmocka_unit_test(test_refuses_with_a_reason),
        cmocka_unit_test(test_tls_hint_only_with_the_option),
        cmocka_unit_test(test_tls_scheme_hint),
        cmocka_unit_test(test_length_bounds_the_input),
        cmocka_unit_test(test_format_brackets_v6),
        cmocka_unit_test(test_url_authority),
        cmocka_unit_test(test_proxy_userinfo),
        cmocka_unit_test(test_proxy_variable),
        cmocka_unit_test(test_relay_addresses),
        cmocka_unit_test(test_loopback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
