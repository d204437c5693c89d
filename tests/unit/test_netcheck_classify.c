/*
 * netcheck/ln_classify: each errno, ICMP type/code, getaddrinfo code,
 * OpenSSL verify error and probe reply maps to its class and words.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <netdb.h>
#include <openssl/x509_vfy.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "netcheck/ln_classify.h"
#include "netcheck/ln_netlink.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static void test_connect_errno(void **state)
{
    (void)state;
    static const struct {
        int err;
        enum ln_conn_class want;
    } cases[] = {
        {0, LN_CONN_OK},
        {ECONNREFUSED, LN_CONN_REFUSED},
        {ETIMEDOUT, LN_CONN_FILTERED},
        {ENETUNREACH, LN_CONN_NOROUTE},
        {EHOSTUNREACH, LN_CONN_UNREACHABLE},
        {EHOSTDOWN, LN_CONN_UNREACHABLE},
        {EPERM, LN_CONN_POLICY},
        {EACCES, LN_CONN_POLICY},
        {EADDRNOTAVAIL, LN_CONN_NOSRC},
        {ECONNRESET, LN_CONN_OTHER},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        enum ln_conn_class got = ln_classify_connect(cases[i].err, NULL);
        if (got != cases[i].want)
            fail_msg("errno %d: got %s, want %s", cases[i].err, ln_conn_class_name(got),
                     ln_conn_class_name(cases[i].want));
    }
}

static void test_connect_icmp_wins_over_errno(void **state)
{
    (void)state;
    struct ln_icmp host = {1, AF_INET, 3, 1, "10.99.2.1", 0};
    struct ln_icmp admin = {1, AF_INET, 3, 13, "10.99.2.1", 0};
    struct ln_icmp admin6 = {1, AF_INET6, 1, 1, "fd00::1", 0};
    struct ln_icmp port6 = {1, AF_INET6, 1, 4, "", 0};
    assert_int_equal(ln_classify_connect(EHOSTUNREACH, &host), LN_CONN_UNREACHABLE);
    assert_int_equal(ln_classify_connect(EHOSTUNREACH, &admin), LN_CONN_PROHIBITED);
    assert_int_equal(ln_classify_connect(EACCES, &admin6), LN_CONN_PROHIBITED);
    assert_int_equal(ln_classify_connect(ECONNREFUSED, &port6), LN_CONN_UNREACHABLE);
}

static void test_icmp_text(void **state)
{
    (void)state;
    static const struct {
        int family, type, code;
        const char *want;
        int prohibited;
    } cases[] = {
        {AF_INET, 3, 0, "network unreachable", 0},
        {AF_INET, 3, 1, "host unreachable", 0},
        {AF_INET, 3, 3, "port unreachable", 0},
        {AF_INET, 3, 4, "fragmentation needed", 0},
        {AF_INET, 3, 9, "network administratively prohibited", 1},
        {AF_INET, 3, 10, "host administratively prohibited", 1},
        {AF_INET, 3, 13, "communication administratively prohibited", 1},
        {AF_INET, 3, 99, "destination unreachable", 0},
        {AF_INET, 11, 0, "TTL exceeded in transit", 0},
        {AF_INET6, 1, 0, "no route to destination", 0},
        {AF_INET6, 1, 1, "communication administratively prohibited", 1},
        {AF_INET6, 1, 3, "address unreachable", 0},
        {AF_INET6, 1, 4, "port unreachable", 0},
        {AF_INET6, 1, 6, "reject route to destination", 1},
        {AF_INET6, 3, 0, "hop limit exceeded in transit", 0},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        assert_string_equal(ln_icmp_text(cases[i].family, cases[i].type, cases[i].code),
                            cases[i].want);
        assert_int_equal(ln_icmp_prohibited(cases[i].family, cases[i].type, cases[i].code),
                         cases[i].prohibited);
    }
}

static void explain(enum ln_conn_class c, int err, const struct ln_icmp *ic, int syns, char *s,
                    char *h)
{
    ln_explain_connect(c, err, ic, "127.0.0.1:41234", LN_PROBE_DAP, syns, 3000, s, LN_TEXT_MAX, h,
                       LN_TEXT_MAX);
}

static void test_explain_words(void **state)
{
    (void)state;
    char s[LN_TEXT_MAX], h[LN_TEXT_MAX];
    explain(LN_CONN_REFUSED, ECONNREFUSED, NULL, 1, s, h);
    assert_non_null(strstr(s, "connection refused by 127.0.0.1:41234"));
    assert_string_equal(h, "nothing listens on 127.0.0.1:41234 — the dlv DAP server is not "
                           "running or listens on another port");
    explain(LN_CONN_FILTERED, ETIMEDOUT, NULL, 3, s, h);
    assert_non_null(strstr(s, "3 SYNs went out unanswered in 3.0 s"));
    assert_non_null(strstr(h, "firewall"));
    struct ln_icmp admin = {1, AF_INET, 3, 13, "10.99.2.1", 0};
    explain(LN_CONN_PROHIBITED, EHOSTUNREACH, &admin, 1, s, h);
    assert_non_null(strstr(s, "communication administratively prohibited (type 3 code 13) from "
                              "10.99.2.1"));
    assert_non_null(strstr(h, "a firewall on 10.99.2.1"));
    struct ln_icmp self = {1, AF_INET, 3, 13, "10.99.1.2", 1};
    explain(LN_CONN_PROHIBITED, EHOSTUNREACH, &self, 1, s, h);
    assert_non_null(strstr(s, "from 10.99.1.2 (this host)"));
    assert_non_null(strstr(h, "this host's own firewall"));
    struct ln_icmp host = {1, AF_INET, 3, 1, "10.99.2.1", 0};
    explain(LN_CONN_UNREACHABLE, EHOSTUNREACH, &host, 1, s, h);
    assert_non_null(strstr(s, "host unreachable (type 3 code 1) from 10.99.2.1"));
    assert_non_null(strstr(h, "router 10.99.2.1"));
    explain(LN_CONN_POLICY, EPERM, NULL, 0, s, h);
    assert_non_null(strstr(s, "forbidden on this host (EPERM)"));
    explain(LN_CONN_LOCALDROP, ETIMEDOUT, NULL, 2, s, h);
    assert_non_null(strstr(s, "dropped on this host: 2 SYNs sent, none reached the interface"));
    assert_non_null(strstr(h, "output chain"));
    explain(LN_CONN_NONEIGH, ETIMEDOUT, NULL, 1, s, h);
    assert_non_null(strstr(s, "ARP / neighbour solicitations for the next hop went unanswered"));
    assert_non_null(strstr(h, "does not answer ARP"));
    explain(LN_CONN_NOSRC, EADDRNOTAVAIL, NULL, 0, s, h);
    assert_non_null(strstr(s, "EADDRNOTAVAIL"));
    explain(LN_CONN_NOROUTE, ENETUNREACH, NULL, 0, s, h);
    assert_non_null(strstr(s, "no route to 127.0.0.1:41234"));
}

static void test_gai(void **state)
{
    (void)state;
    assert_int_equal(ln_classify_gai(0), LN_DNS_OK);
    assert_int_equal(ln_classify_gai(EAI_NONAME), LN_DNS_NXDOMAIN);
    assert_int_equal(ln_classify_gai(EAI_AGAIN), LN_DNS_TEMPFAIL);
    assert_int_equal(ln_classify_gai(EAI_FAIL), LN_DNS_FAIL);
    assert_int_equal(ln_classify_gai(EAI_NODATA), LN_DNS_NODATA);
    assert_int_equal(ln_classify_gai(EAI_MEMORY), LN_DNS_OTHER);
}

static enum ln_tls_class verify(int a, int b)
{
    int errs[2] = {a, b};
    return ln_classify_verify(errs, b < 0 ? 1 : 2);
}

static void test_verify_errors(void **state)
{
    (void)state;
    assert_int_equal(ln_classify_verify(NULL, 0), LN_TLS_OK);
    assert_int_equal(verify(X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, -1), LN_TLS_UNKNOWN_CA);
    assert_int_equal(verify(X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE, -1), LN_TLS_UNKNOWN_CA);
    assert_int_equal(verify(X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, -1), LN_TLS_SELF_SIGNED);
    assert_int_equal(verify(X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN, -1), LN_TLS_UNKNOWN_CA);
    assert_int_equal(verify(X509_V_ERR_CERT_HAS_EXPIRED, -1), LN_TLS_EXPIRED);
    assert_int_equal(verify(X509_V_ERR_CERT_NOT_YET_VALID, -1), LN_TLS_NOT_YET_VALID);
    assert_int_equal(verify(X509_V_ERR_HOSTNAME_MISMATCH, -1), LN_TLS_NAME_MISMATCH);
    assert_int_equal(verify(X509_V_ERR_IP_ADDRESS_MISMATCH, -1), LN_TLS_NAME_MISMATCH);
    assert_int_equal(verify(X509_V_ERR_CERT_REVOKED, -1), LN_TLS_OTHER);
    /* Several at once: trust first, then dates, then the name. */
    assert_int_equal(verify(X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_CERT_HAS_EXPIRED),
                     LN_TLS_EXPIRED);
    assert_int_equal(verify(X509_V_ERR_CERT_HAS_EXPIRED, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT),
                     LN_TLS_UNKNOWN_CA);
    assert_int_equal(verify(X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT),
                     LN_TLS_SELF_SIGNED);
    for (int c = LN_TLS_NOT_TLS; c <= LN_TLS_OTHER; c++)
        assert_true(strlen(ln_tls_hint((enum ln_tls_class)c)) > 20);
    assert_non_null(strstr(ln_tls_hint(LN_TLS_UNKNOWN_CA), "--ca"));
    assert_non_null(strstr(ln_tls_hint(LN_TLS_NAME_MISMATCH), "--sni"));
}

/* "Content-Length: N\r\n\r\n" + body, in one of a few static buffers. */
static const char *frame(const char *body)
{
    static char bufs[4][512];
    static int next;
    char *b = bufs[next++ % 4];
    snprintf(b, sizeof(bufs[0]), "Content-Length: %zu\r\n\r\n%s", strlen(body), body);
    return b;
}

static enum ln_app_class reply(enum ln_probe p, const char *s, enum ln_app_end end,
                               struct ln_app_info *info)
{
    return ln_classify_reply(p, s, strlen(s), end, info);
}

static void test_reply_lsp(void **state)
{
    (void)state;
    struct ln_app_info in;
    const char *ok =
        frame("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"capabilities\":{\"hoverProvider\":"
              "true},\"serverInfo\":{\"name\":\"gopls\"}}}");
    assert_int_equal(reply(LN_PROBE_LSP, ok, LN_END_NONE, &in), LN_APP_SPEAKS);
    assert_string_equal(in.name, "gopls");
    assert_int_equal(in.capabilities, 1);
    /* Every strict prefix asks for more. */
    for (size_t n = 1; n < strlen(ok); n++)
        assert_int_equal(ln_classify_reply(LN_PROBE_LSP, ok, n, LN_END_NONE, &in), LN_APP_MORE);
    const char *err =
        frame("{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32600,\"message\":\"no "
              "workspace\"}}");
    assert_int_equal(reply(LN_PROBE_LSP, err, LN_END_NONE, &in), LN_APP_SPEAKS);
    assert_true(in.error);
    assert_string_equal(in.error_msg, "no workspace");
    const char *gv =
        frame("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"serverInfo\":{\"name\":\"gopls\","
              "\"version\":\"{\\\"GoVersion\\\":\\\"go1.19.5\\\"}\"}}}");
    assert_int_equal(reply(LN_PROBE_LSP, gv, LN_END_NONE, &in), LN_APP_SPEAKS);
    assert_string_equal(in.version, "(devel, go1.19.5)");
    /* A server's name, version and error are its words: escaped for the
     * terminal netcheck prints to (issue 15). */
    const char *evil = frame("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"serverInfo\":{\"name\":"
                             "\"\\u001b]0;x\\u0007\",\"version\":\"v\\u001b[2J\"}}}");
    assert_int_equal(reply(LN_PROBE_LSP, evil, LN_END_NONE, &in), LN_APP_SPEAKS);
    assert_string_equal(in.name, "\\x1b]0;x\\x07");
    assert_string_equal(in.version, "v\\x1b[2J");
}

static void test_reply_other(void **state)
{
    (void)state;
    struct ln_app_info in;
    assert_int_equal(reply(LN_PROBE_LSP, "HTTP/1.1 400 Bad Request\r\n\r\n", LN_END_EOF, &in),
                     LN_APP_HTTP);
    assert_int_equal(reply(LN_PROBE_LSP, "HTT", LN_END_NONE, &in), LN_APP_MORE);
    assert_int_equal(reply(LN_PROBE_LSP, "SSH-2.0-OpenSSH_9.2\r\n", LN_END_NONE, &in),
                     LN_APP_GARBAGE);
    assert_string_equal(in.first, "SSH-2.0-OpenSSH_9.2\\r\\n");
    assert_int_equal(reply(LN_PROBE_LSP, "", LN_END_EOF, &in), LN_APP_CLOSED);
    assert_int_equal(reply(LN_PROBE_LSP, "", LN_END_TIMEOUT, &in), LN_APP_SILENT);
    assert_int_equal(reply(LN_PROBE_LSP, "", LN_END_NONE, &in), LN_APP_MORE);
    assert_int_equal(reply(LN_PROBE_LSP, "Content-Len", LN_END_EOF, &in), LN_APP_GARBAGE);
    const char *dap =
        frame("{\"seq\":1,\"type\":\"response\",\"command\":\"initialize\",\"body\":{}}");
    assert_int_equal(reply(LN_PROBE_LSP, dap, LN_END_NONE, &in), LN_APP_OTHER_RPC);
    const char *log = frame("{\"jsonrpc\":\"2.0\",\"method\":\"window/logMessage\",\"x\":1}");
    assert_int_equal(reply(LN_PROBE_LSP, log, LN_END_NONE, &in), LN_APP_MORE);
    assert_int_equal(reply(LN_PROBE_LSP, log, LN_END_TIMEOUT, &in), LN_APP_NO_ANSWER);
    char bin[] = "\x16\x03\x01\x02\x00\x01";
    assert_int_equal(ln_classify_reply(LN_PROBE_LSP, bin, 6, LN_END_NONE, &in), LN_APP_GARBAGE);
    assert_string_equal(in.first, "\\x16\\x03\\x01\\x02\\x00\\x01");
}

static void test_reply_dap(void **state)
{
    (void)state;
    struct ln_app_info in;
    const char *ok = frame("{\"seq\":1,\"type\":\"response\",\"request_seq\":1,\"success\":true,"
                           "\"command\":\"initialize\",\"body\":{}}");
    assert_int_equal(reply(LN_PROBE_DAP, ok, LN_END_NONE, &in), LN_APP_SPEAKS);
    const char *bad =
        frame("{\"seq\":1,\"type\":\"response\",\"success\":false,\"command\":\"initialize\""
              ",\"message\":\"not supported\"}");
    assert_int_equal(reply(LN_PROBE_DAP, bad, LN_END_NONE, &in), LN_APP_SPEAKS);
    assert_true(in.error);
    assert_string_equal(in.error_msg, "not supported");
    const char *lsp = frame("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":null}");
    assert_int_equal(reply(LN_PROBE_DAP, lsp, LN_END_NONE, &in), LN_APP_OTHER_RPC);
}

/* Found by fuzz_probe (corpus/probe/escape-small-buffer): with room for
 * fewer than four bytes, "..." was copied whole past the buffer's end. */
static void test_escape_small_buffer(void **state)
{
    (void)state;
    static const char *want[] = {"", ".", "..", "..."};
    for (size_t outlen = 1; outlen <= 4; outlen++) {
        char *out = malloc(outlen);
        assert_non_null(out);
        ln_escape("\x16\x03", 2, 2, out, outlen);
        assert_string_equal(out, want[outlen - 1]);
        free(out);
    }
    char out[8];
    ln_escape("abcdefgh", 8, 8, out, sizeof out);
    assert_string_equal(out, "abc...");
}

/* Every value of every netcheck enum has a name, and no two values of one
 * enum share a name (a table shorter than its enum read past its end and
 * shifted the names of the classes after the gap). */
static void check_names(const char *what, const char *(*name)(int), int n)
{
    for (int i = 0; i < n; i++) {
        const char *a = name(i);
        if (!a || !*a || strcmp(a, "?") == 0) fail_msg("%s %d has no name", what, i);
        for (int j = 0; j < i; j++)
            if (strcmp(a, name(j)) == 0) fail_msg("%s %d and %d are both \"%s\"", what, j, i, a);
    }
    assert_string_equal(name(n), "?");
}

static const char *conn_name(int c)
{
    return ln_conn_class_name((enum ln_conn_class)c);
}
static const char *dns_name(int c)
{
    return ln_dns_class_name((enum ln_dns_class)c);
}
static const char *tls_name(int c)
{
    return ln_tls_class_name((enum ln_tls_class)c);
}
static const char *app_name(int c)
{
    return ln_app_class_name((enum ln_app_class)c);
}
static const char *layer_name(int c)
{
    return ln_layer_name((enum ln_layer)c);
}
static const char *status_name(int c)
{
    return ln_status_name((enum ln_status)c);
}

static void test_enum_names(void **state)
{
    (void)state;
    check_names("conn class", conn_name, LN_CONN_NCLASSES);
    check_names("dns class", dns_name, LN_DNS_NCLASSES);
    check_names("tls class", tls_name, LN_TLS_NCLASSES);
    check_names("app class", app_name, LN_APP_NCLASSES);
    check_names("layer", layer_name, LN_NLAYERS);
    check_names("status", status_name, LN_NSTATUSES);
    /* The names the docs and the JSON evidence use for the classes at the
     * end of each list, where a short table goes wrong first. */
    assert_string_equal(ln_conn_class_name(LN_CONN_LOCALDROP), "local-drop");
    assert_string_equal(ln_conn_class_name(LN_CONN_NONEIGH), "no-neighbour");
    assert_string_equal(ln_conn_class_name(LN_CONN_NOSRC), "no-source-address");
    assert_string_equal(ln_conn_class_name(LN_CONN_OTHER), "other");
    assert_string_equal(ln_tls_class_name(LN_TLS_CLIENT_CERT_REJECTED), "client-cert-rejected");
    assert_string_equal(ln_app_class_name(LN_APP_SILENT), "silent");
    assert_string_equal(ln_layer_name(LN_APP), "application");
    assert_string_equal(ln_status_name(LN_SKIPPED), "skipped");
    static const int oper[] = {0, 1, 2, 3, 4, 5, 6};
    static const char *const want[] = {"unknown", "notpresent", "down", "lowerlayerdown",
                                       "testing", "dormant",    "up"};
    for (size_t i = 0; i < ARRAY_LEN(oper); i++)
        assert_string_equal(ln_operstate_name(oper[i]), want[i]);
    assert_string_equal(ln_operstate_name(-1), "unknown");
    assert_string_equal(ln_operstate_name(99), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_enum_names),
        cmocka_unit_test(test_connect_errno),
        cmocka_unit_test(test_connect_icmp_wins_over_errno),
        cmocka_unit_test(test_icmp_text),
        cmocka_unit_test(test_explain_words),
        cmocka_unit_test(test_gai),
        cmocka_unit_test(test_verify_errors),
        cmocka_unit_test(test_reply_lsp),
        cmocka_unit_test(test_reply_other),
        cmocka_unit_test(test_reply_dap),
        cmocka_unit_test(test_escape_small_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
