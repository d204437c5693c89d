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

#include "netcheck/ln.h"
#include "netcheck/ln_connect.h"

struct proxy {
    int lfd;
    uint16_t port;
    const char *answer;
    int reset;          /* close with a reset (SO_LINGER 0) after reading the request */
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
    if (p->reset) {
        struct linger l = {1, 0};
        setsockopt(c, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
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
                               status, sizeof status, NULL);
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
        ln_http_connect("127.0.0.1", p.port, "::1", 8443, NULL, 10000, status, sizeof status, NULL);
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
    assert_int_equal(
        ln_http_connect("127.0.0.1", 1, "h", 443, big, 1000, status, sizeof status, NULL), -EINVAL);
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
    int code =
        ln_http_connect("127.0.0.1", p.port, "h", 443, NULL, 10000, status, sizeof status, NULL);
    proxy_stop(&p);
    assert_int_equal(code, -EPROTO);
    assert_string_equal(status, "HTTP/1.1 2000 Connection established");
}

/* A proxy that takes the connection and hangs up without a word (EOF, or
 * a reset): reached, and the status says it closed; it used to say "no
 * answer within N ms" for a reset, as if the proxy had been silent. */
static void test_a_close_without_a_reply_is_reached_and_named(void **state)
{
    (void)state;
    for (int reset = 0; reset <= 1; reset++) {
        struct proxy p;
        char status[160];
        int reached = -1;
        proxy_start(&p, "");
        p.reset = reset;
        int code = ln_http_connect("127.0.0.1", p.port, "h", 443, NULL, 10000, status,
                                   sizeof status, &reached);
        proxy_stop(&p);
        assert_int_equal(code, -ECONNRESET);
        assert_int_equal(reached, 1);
        static const char said[] = "the proxy closed the connection without answering";
        if (strncmp(status, said, sizeof said - 1)) fail_msg("reset %d: %s", reset, status);
        /* Each took its own path: the reset reached us as one. */
        if (!strstr(status, "reset by peer") != !reset) fail_msg("reset %d: %s", reset, status);
    }
    /* Nothing listens (a port bound and closed, never listening): not
     * reached, the network's failure. */
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    getsockname(fd, (struct sockaddr *)&a, &len);
    uint16_t port = ntohs(a.sin_port);
    close(fd);
    char status[160];
    int reached = -1;
    assert_int_equal(
        ln_http_connect("127.0.0.1", port, "h", 443, NULL, 10000, status, sizeof status, &reached),
        -ECONNREFUSED);
    assert_int_equal(reached, 0);
}

/* ln_connect_explain: each answer its own words and layer. */
static void test_explain_each_answer(void **state)
{
    (void)state;
    static const struct {
        int code, reached;
        const char *status, *said;
        int layer;
    } cases[] = {
        {403, 1, "HTTP/1.1 403 Forbidden",
         "it answers CONNECT h:443 with \"HTTP/1.1 403 Forbidden\": the proxy refuses this "
         "destination (its allow list)",
         LN_APP},
        {404, 1, "HTTP/1.1 404 Not Found",
         "it answers CONNECT h:443 with \"HTTP/1.1 404 Not Found\": the proxy refuses this "
         "destination (its allow list)",
         LN_APP},
        {502, 1, "HTTP/1.1 502 Bad Gateway",
         "it answers CONNECT h:443 with \"HTTP/1.1 502 Bad Gateway\": the proxy could not reach "
         "h:443 itself (its own connection failed)",
         LN_APP},
        {504, 1, "HTTP/1.1 504 Gateway Timeout",
         "it answers CONNECT h:443 with \"HTTP/1.1 504 Gateway Timeout\": the proxy could not "
         "reach h:443 itself in time (its own connection timed out)",
         LN_APP},
        {503, 1, "HTTP/1.1 503 Service Unavailable",
         "it answers CONNECT h:443 with \"HTTP/1.1 503 Service Unavailable\": the proxy failed: "
         "it is unavailable or overloaded (some, Squid among them, answer 503 when their own "
         "connection to h:443 failed)",
         LN_APP},
        {500, 1, "HTTP/1.1 500 Oops",
         "it answers CONNECT h:443 with \"HTTP/1.1 500 Oops\": the proxy failed (an error of its "
         "own, not this destination's)",
         LN_APP},
        {301, 1, "HTTP/1.1 301 Moved",
         "it answers CONNECT h:443 with \"HTTP/1.1 301 Moved\": the proxy redirects CONNECT, "
         "which go does not follow: it wants 200",
         LN_APP},
        {204, 1, "HTTP/1.1 204 No Content",
         "it answers CONNECT h:443 with \"HTTP/1.1 204 No Content\": not an open tunnel: go "
         "wants 200",
         LN_APP},
        /* Status 000 is an answer too (ln_connect_reply reads it as 0). */
        {0, 1, "HTTP/1.1 000 Service Unavailable",
         "it answers CONNECT h:443 with \"HTTP/1.1 000 Service Unavailable\": not an open "
         "tunnel: go wants 200",
         LN_APP},
        {-EPROTO, 1, "SSH-2.0-OpenSSH_9.6",
         "it answers CONNECT h:443 with something that is not HTTP (\"SSH-2.0-OpenSSH_9.6\"): "
         "check that https_proxy names an HTTP proxy",
         LN_APP},
        {-ETIMEDOUT, 1, "no answer to CONNECT within 3000 ms",
         "it accepted the connection but did not answer CONNECT h:443 within 3.0 s", LN_APP},
        {-ECONNRESET, 1, "the proxy closed the connection without answering",
         "it accepted the connection and closed it without answering CONNECT h:443", LN_APP},
        {-EIO, 1, "sending CONNECT to the proxy failed: Broken pipe",
         "it accepted the connection and closed it without answering CONNECT h:443", LN_APP},
        {-ETIMEDOUT, 0, "cannot connect to the proxy p:3128: Connection timed out",
         "it could not be reached to ask for CONNECT h:443 (cannot connect to the proxy p:3128: "
         "Connection timed out)",
         LN_TRANSPORT},
        {200, 1, "HTTP/1.1 200 OK", "it opens a tunnel to h:443 (\"HTTP/1.1 200 OK\")", -1},
        /* Nothing was sent (credentials over the limit): no layer failed. */
        {-EINVAL, 0, "the proxy credentials are longer than 1024 bytes",
         "it was not asked for CONNECT h:443: the proxy credentials are longer than 1024 bytes",
         -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[600] = "?";
        int layer = ln_connect_explain(cases[i].code, cases[i].reached, "it", "h:443",
                                       cases[i].status, "https_proxy", 3000, out, sizeof out);
        if (strcmp(out, cases[i].said)) fail_msg("%d: %s", cases[i].code, out);
        if (layer != cases[i].layer) fail_msg("%d: layer %d", cases[i].code, layer);
    }
    /* No destination named (the doctor's check is the destination's). */
    char out[600], small[12];
    ln_connect_explain(403, 1, "the HTTP proxy p:1", NULL, "HTTP/1.1 403 Forbidden", "X", 3000, out,
                       sizeof out);
    assert_string_equal(out, "the HTTP proxy p:1 answers CONNECT with \"HTTP/1.1 403 Forbidden\": "
                             "the proxy refuses this destination (its allow list)");
    ln_connect_explain(-ECONNRESET, 1, "it", NULL, "", "X", 3000, out, sizeof out);
    assert_string_equal(out, "it accepted the connection and closed it without answering CONNECT");
    ln_connect_explain(502, 1, "it", NULL, "x", "X", 3000, out, sizeof out);
    assert_non_null(strstr(out, "could not reach the destination itself"));
    ln_connect_explain(403, 1, "it", "h:443", "x", "X", 3000, small, sizeof small);
    assert_int_equal(strlen(small), sizeof small - 1); /* cut, terminated */
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
        cmocka_unit_test(test_a_close_without_a_reply_is_reached_and_named),
        cmocka_unit_test(test_explain_each_answer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
