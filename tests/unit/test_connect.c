/*
 * ln_http_connect (netcheck/ln_connect.h) against a stand-in proxy on
 * 127.0.0.1 that records the request and answers with a chosen status
 * line: the exact bytes of the CONNECT, with and without the proxy URL's
 * credentials, and the status code and line handed back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netcheck/ln_connect.h"

struct proxy {
    int lfd;
    uint16_t port;
    const char *answer;
    char request[4096]; /* what the one client sent, up to the blank line */
    pthread_t th;
};

static void *serve_one(void *arg)
{
    struct proxy *p = arg;
    int c = accept(p->lfd, NULL, NULL);
    if (c < 0) return NULL;
    size_t n = 0;
    while (n + 1 < sizeof p->request && !strstr(p->request, "\r\n\r\n")) {
        ssize_t k = recv(c, p->request + n, sizeof p->request - 1 - n, 0);
        if (k <= 0) break;
        n += (size_t)k;
        p->request[n] = '\0';
    }
    (void)!send(c, p->answer, strlen(p->answer), MSG_NOSIGNAL);
    close(c);
    return NULL;
}

static void proxy_start(struct proxy *p, const char *answer)
{
    memset(p, 0, sizeof *p);
    p->answer = answer;
    p->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(p->lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(p->lfd, 4), 0);
    getsockname(p->lfd, (struct sockaddr *)&a, &len);
    p->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&p->th, NULL, serve_one, p), 0);
}

static void proxy_stop(struct proxy *p)
{
    pthread_join(p->th, NULL);
    close(p->lfd);
}

static void test_credentials_go_in_proxy_authorization(void **state)
{
    (void)state;
    struct proxy p;
    char status[160];
    proxy_start(&p, "HTTP/1.1 200 Connection established\r\n\r\n");
    int code = ln_http_connect("127.0.0.1", p.port, "proxy.golang.org", 443, "alice:s3cr@t", 10000,
                               status, sizeof status);
    proxy_stop(&p);
    assert_int_equal(code, 200);
    assert_string_equal(status, "HTTP/1.1 200 Connection established");
    /* base64("alice:s3cr@t"), as net/http's basicAuth makes it */
    assert_string_equal(p.request, "CONNECT proxy.golang.org:443 HTTP/1.1\r\n"
                                   "Host: proxy.golang.org:443\r\n"
                                   "Proxy-Authorization: Basic YWxpY2U6czNjckB0\r\n"
                                   "\r\n");
}

static void test_no_credentials_no_header_and_407_is_the_code(void **state)
{
    (void)state;
    struct proxy p;
    char status[160];
    proxy_start(&p, "HTTP/1.1 407 Proxy Authentication Required\r\n"
                    "Proxy-Authenticate: Basic realm=\"lab\"\r\n\r\n");
    int code =
        ln_http_connect("127.0.0.1", p.port, "::1", 8443, NULL, 10000, status, sizeof status);
    proxy_stop(&p);
    assert_int_equal(code, 407);
    assert_string_equal(status, "HTTP/1.1 407 Proxy Authentication Required");
    assert_string_equal(p.request, "CONNECT [::1]:8443 HTTP/1.1\r\nHost: [::1]:8443\r\n\r\n");
}

static void test_credentials_too_long_are_refused_unsent(void **state)
{
    (void)state;
    char big[LN_CONNECT_USERINFO_MAX + 2], status[160];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    /* Port 1 on loopback: nothing is dialled before the refusal. */
    assert_int_equal(ln_http_connect("127.0.0.1", 1, "h", 443, big, 1000, status, sizeof status),
                     -EINVAL);
    assert_non_null(strstr(status, "credentials are longer than"));
    assert_null(strstr(status, "aaaa"));
}

/* A reply that go's http.ReadResponse refuses is no status: "HTTP/1.1
 * 2000" was read as 200 (the tunnel open) while go fails the CONNECT with
 * "malformed HTTP status code". Through the stand-in, the whole path. */
static void test_a_reply_go_refuses_is_not_a_status(void **state)
{
    (void)state;
    struct proxy p;
    char status[160];
    proxy_start(&p, "HTTP/1.1 2000 Connection established\r\n\r\n");
    int code = ln_http_connect("127.0.0.1", p.port, "h", 443, NULL, 10000, status, sizeof status);
    proxy_stop(&p);
    assert_int_equal(code, -EPROTO);
    assert_string_equal(status, "HTTP/1.1 2000 Connection established");
}

/* ln_connect_reply on its own: what a status line is, as go reads one. */
static void test_reply_status_lines(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int code;
        const char *status;
    } cases[] = {
        {"HTTP/1.1 200 Connection established\r\n\r\n", 200, "HTTP/1.1 200 Connection established"},
        {"HTTP/1.0 407 Proxy Authentication Required\r\n", 407,
         "HTTP/1.0 407 Proxy Authentication Required"},
        {"HTTP/1.1 200\r\n", 200, "HTTP/1.1 200"},
        {"HTTP/1.1   403 Forbidden\n", 403, "HTTP/1.1   403 Forbidden"}, /* blanks trimmed */
        {"HTTP/2.0 502 Bad Gateway\r\n", 502, "HTTP/2.0 502 Bad Gateway"},
        {"HTTP/1.1 2000 OK\r\n", -EPROTO, "HTTP/1.1 2000 OK"},
        {"HTTP/1.1 20\r\n", -EPROTO, "HTTP/1.1 20"},
        {"HTTP/1.1 2x0 OK\r\n", -EPROTO, "HTTP/1.1 2x0 OK"},
        {"HTTP/2 200 OK\r\n", -EPROTO, "HTTP/2 200 OK"},       /* go: malformed version */
        {"HTTP/1.11 200 OK\r\n", -EPROTO, "HTTP/1.11 200 OK"}, /* go: malformed version */
        {"HTTP/1.1\r\n", -EPROTO, "HTTP/1.1"},
        {"SSH-2.0-OpenSSH_9.6\r\n", -EPROTO, "SSH-2.0-OpenSSH_9.6"},
        {"HTTP/1.1 200 \x1b[2J\r\n", 200, "HTTP/1.1 200 \\x1b[2J"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char status[160] = "?";
        int code = ln_connect_reply(cases[i].in, strlen(cases[i].in), status, sizeof status);
        if (code != cases[i].code) fail_msg("%s: %d, not %d", cases[i].in, code, cases[i].code);
        assert_string_equal(status, cases[i].status);
    }
    char status[8];
    assert_int_equal(ln_connect_reply("", 0, status, sizeof status), -ECONNRESET);
    assert_int_equal(strlen(status), sizeof status - 1); /* cut, terminated */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_credentials_go_in_proxy_authorization),
        cmocka_unit_test(test_no_credentials_no_header_and_407_is_the_code),
        cmocka_unit_test(test_credentials_too_long_are_refused_unsent),
        cmocka_unit_test(test_a_reply_go_refuses_is_not_a_status),
        cmocka_unit_test(test_reply_status_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
