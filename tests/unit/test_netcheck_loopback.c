/*
 * netcheck against real servers on 127.0.0.1, no root needed: a closed
 * port, a server that speaks HTTP, one that closes at once, one that stays
 * silent, a live `gopls serve -listen` and `dlv dap --listen` (each skipped
 * when /usr/bin/gopls or /usr/bin/dlv is missing). Each asserts the failing layer and the key
 * words.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "netcheck/ln.h"

enum behaviour { HTTP, CLOSE, SILENT };

struct server {
    int lfd;
    uint16_t port;
    enum behaviour how;
    pthread_t th;
};

static int listen_any(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 4), 0);
    getsockname(fd, (struct sockaddr *)&a, &len);
    *port = ntohs(a.sin_port);
    return fd;
}

static void *serve_one(void *arg)
{
    struct server *s = arg;
    int c = accept(s->lfd, NULL, NULL);
    if (c < 0) return NULL;
    char buf[4096];
    if (s->how == HTTP) {
        (void)!recv(c, buf, sizeof(buf), 0);
        static const char r[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
        (void)!send(c, r, sizeof(r) - 1, MSG_NOSIGNAL);
    } else if (s->how == SILENT) {
        while (recv(c, buf, sizeof(buf), 0) > 0) /* until netcheck gives up and closes */
            ;
    }
    close(c);
    return NULL;
}

static void server_start(struct server *s, enum behaviour how)
{
    s->how = how;
    s->lfd = listen_any(&s->port);
    assert_int_equal(pthread_create(&s->th, NULL, serve_one, s), 0);
}

static void server_stop(struct server *s)
{
    pthread_join(s->th, NULL);
    close(s->lfd);
}

static void run(struct ln_report *rep, uint16_t port, enum ln_probe probe, int timeout_ms)
{
    struct ln_target t;
    ln_target_init(&t);
    snprintf(t.host, sizeof(t.host), "127.0.0.1");
    t.port = port;
    t.probe = probe;
    t.timeout_ms = timeout_ms;
    assert_int_equal(ln_run(&t, rep, NULL), 0);
}

static void expect(const struct ln_report *rep, int layer, const char *summary_words,
                   const char *hint_words)
{
    if (rep->failed != layer)
        fail_msg("failed layer %s, want %s (verdict: %s)",
                 rep->failed < 0 ? "none" : ln_layer_name(rep->failed),
                 layer < 0 ? "none" : ln_layer_name(layer), rep->verdict);
    if (summary_words && !strstr(rep->verdict, summary_words))
        fail_msg("verdict \"%s\" lacks \"%s\"", rep->verdict, summary_words);
    if (hint_words && !strstr(rep->hint, hint_words))
        fail_msg("hint \"%s\" lacks \"%s\"", rep->hint, hint_words);
    assert_int_equal(rep->layers[LN_LINK].status, LN_OK);
    assert_int_not_equal(rep->layers[LN_NETWORK].status, LN_FAIL);
    assert_int_equal(rep->layers[LN_DNS].status, LN_SKIPPED);
}

static void test_closed_port_is_refused(void **state)
{
    (void)state;
    uint16_t port;
    close(listen_any(&port)); /* a port that was free a moment ago */
    struct ln_report rep;
    run(&rep, port, LN_PROBE_DAP, 2000);
    char want[80];
    snprintf(want, sizeof(want), "nothing listens on 127.0.0.1:%u — the dlv DAP server", port);
    expect(&rep, LN_TRANSPORT, "connection refused", want);
    assert_int_equal(ln_exit_code(&rep), LN_EXIT_TRANSPORT);
    assert_int_equal(rep.layers[LN_APP].status, LN_SKIPPED);
    ln_report_free(&rep);
}

static void test_closed_port_v6_is_refused(void **state)
{
    (void)state;
    int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    socklen_t len = sizeof(a);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        if (fd >= 0) close(fd);
        skip(); /* no IPv6 loopback here */
    }
    getsockname(fd, (struct sockaddr *)&a, &len);
    close(fd);
    struct ln_target t;
    char hp[64], err[200];
    ln_target_init(&t);
    snprintf(hp, sizeof(hp), "[::1]:%u", ntohs(a.sin6_port));
    assert_int_equal(ln_target_parse(&t, hp, err, sizeof(err)), 0);
    t.probe = LN_PROBE_NONE;
    struct ln_report rep;
    assert_int_equal(ln_run(&t, &rep, NULL), 0);
    char want[80];
    snprintf(want, sizeof(want), "nothing listens on [::1]:%u", ntohs(a.sin6_port));
    expect(&rep, LN_TRANSPORT, "connection refused by [::1]", want);
    ln_report_free(&rep);
}

struct trace {
    char log[256];
};

static void trace_start(void *ud, enum ln_layer l)
{
    struct trace *tr = ud;
    size_t n = strlen(tr->log);
    snprintf(tr->log + n, sizeof(tr->log) - n, "+%s ", ln_layer_name(l));
}

static void trace_layer(void *ud, const struct ln_report *rep, enum ln_layer l)
{
    struct trace *tr = ud;
    size_t n = strlen(tr->log);
    snprintf(tr->log + n, sizeof(tr->log) - n, "%s=%s ", ln_layer_name(l),
             ln_status_name(rep->layers[l].status));
}

/* The observer hears each layer start and end; results come in display
 * order although dns runs first. */
static void test_observer_order(void **state)
{
    (void)state;
    uint16_t port;
    close(listen_any(&port));
    struct ln_target t;
    char hp[64], err[200];
    ln_target_init(&t);
    snprintf(hp, sizeof(hp), "localhost:%u", port);
    assert_int_equal(ln_target_parse(&t, hp, err, sizeof(err)), 0);
    struct trace tr = {""};
    struct ln_observer obs = {trace_start, trace_layer, &tr};
    struct ln_report rep;
    assert_int_equal(ln_run(&t, &rep, &obs), 0);
    /* network warns where ICMP is not permitted (unprivileged). */
    char want[256];
    snprintf(want, sizeof(want),
             "+dns +link link=ok +network network=%s dns=ok +transport transport=fail +tls "
             "tls=skipped +application application=skipped ",
             ln_status_name(rep.layers[LN_NETWORK].status));
    assert_string_equal(tr.log, want);
    ln_report_free(&rep);
}

static void test_http_server(void **state)
{
    (void)state;
    struct server s;
    server_start(&s, HTTP);
    struct ln_report rep;
    run(&rep, s.port, LN_PROBE_LSP, 2000);
    server_stop(&s);
    expect(&rep, LN_APP, "answered by an HTTP server, not LSP: \"HTTP/1.1 400 Bad Request\"",
           "web server");
    assert_int_equal(rep.layers[LN_TRANSPORT].status, LN_OK);
    assert_int_equal(ln_exit_code(&rep), LN_EXIT_APP);
    ln_report_free(&rep);
}

static void test_closes_at_once(void **state)
{
    (void)state;
    struct server s;
    server_start(&s, CLOSE);
    struct ln_report rep;
    run(&rep, s.port, LN_PROBE_LSP, 2000);
    server_stop(&s);
    expect(&rep, LN_APP, "closes the connection at once", "hangs up");
    ln_report_free(&rep);
}

static void test_silent(void **state)
{
    (void)state;
    struct server s;
    server_start(&s, SILENT);
    struct ln_report rep;
    run(&rep, s.port, LN_PROBE_DAP, 500);
    server_stop(&s);
    expect(&rep, LN_APP, "silent: no reply to initialize within 0.5 s", "never answers");
    ln_report_free(&rep);
}

/* Starts argv (stdout and stderr to /dev/null) and waits up to 20 s until
 * something listens on 127.0.0.1:port. Returns the pid, or -1 (skip). */
static pid_t spawn_listening(char *const argv[], uint16_t port)
{
    if (access(argv[0], X_OK) != 0) return -1;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    for (int i = 0; i < 200; i++) {
        /* Probing with connect would use up dlv's single session: ask the
         * kernel instead, by trying to bind the port ourselves. */
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET,
                                .sin_port = htons(port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        int taken = bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 && errno == EADDRINUSE;
        close(fd);
        if (taken) return pid;
        usleep(100000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    fail_msg("%s did not listen on 127.0.0.1:%u within 20 s", argv[0], port);
    return -1;
}

static void stop(pid_t pid)
{
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

static void test_live_gopls(void **state)
{
    (void)state;
    uint16_t port;
    close(listen_any(&port));
    char listen_arg[64];
    snprintf(listen_arg, sizeof(listen_arg), "-listen=127.0.0.1:%u", port);
    char *argv[] = {"/usr/bin/gopls", "serve", listen_arg, NULL};
    pid_t pid = spawn_listening(argv, port);
    if (pid < 0) skip();
    struct ln_report rep;
    run(&rep, port, LN_PROBE_LSP, 5000);
    stop(pid);
    expect(&rep, -1, "speaks LSP: gopls", NULL);
    assert_int_equal(rep.layers[LN_TRANSPORT].status, LN_OK);
    assert_int_equal(rep.layers[LN_APP].status, LN_OK);
    assert_string_equal(
        json_string_value(json_object_get(rep.layers[LN_APP].evidence, "server_name")), "gopls");
    assert_int_equal(ln_exit_code(&rep), 0);
    ln_report_free(&rep);
}

/* dlv dap serves one client and exits: one process per probe. */
static void dlv_probe(struct ln_report *rep, enum ln_probe probe)
{
    uint16_t port;
    close(listen_any(&port));
    char listen_arg[64];
    snprintf(listen_arg, sizeof(listen_arg), "--listen=127.0.0.1:%u", port);
    char *argv[] = {"/usr/bin/dlv", "dap", listen_arg, NULL};
    pid_t pid = spawn_listening(argv, port);
    if (pid < 0) skip();
    run(rep, port, probe, 5000);
    stop(pid);
}

static void test_live_dlv_dap(void **state)
{
    (void)state;
    struct ln_report rep;
    dlv_probe(&rep, LN_PROBE_DAP);
    expect(&rep, -1, "speaks DAP: initialize answered", NULL);
    ln_report_free(&rep);
}

static void test_lsp_probe_on_dlv_says_dap(void **state)
{
    (void)state;
    struct ln_report rep;
    dlv_probe(&rep, LN_PROBE_LSP);
    expect(&rep, LN_APP, "speaks DAP, not LSP", "--probe dap");
    ln_report_free(&rep);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_closed_port_is_refused),
        cmocka_unit_test(test_closed_port_v6_is_refused),
        cmocka_unit_test(test_observer_order),
        cmocka_unit_test(test_http_server),
        cmocka_unit_test(test_closes_at_once),
        cmocka_unit_test(test_silent),
        cmocka_unit_test(test_live_gopls),
        cmocka_unit_test(test_live_dlv_dap),
        cmocka_unit_test(test_lsp_probe_on_dlv_says_dap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
