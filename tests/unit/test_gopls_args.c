/* Which gopls invocations are server sessions (relayed) and which are
 * exec'ed unchanged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "proxy/lp_gopls.h"

#define IS_SERVER(...)                                                                             \
    do {                                                                                           \
        char *argv[] = {"gopls", __VA_ARGS__};                                                     \
        assert_int_equal(lp_gopls_is_server((int)(sizeof argv / sizeof *argv), argv), 1);          \
    } while (0)
#define NOT_SERVER(...)                                                                            \
    do {                                                                                           \
        char *argv[] = {"gopls", __VA_ARGS__};                                                     \
        assert_int_equal(lp_gopls_is_server((int)(sizeof argv / sizeof *argv), argv), 0);          \
    } while (0)

static void no_arguments_is_a_server(void **state)
{
    (void)state;
    char *argv[] = {"gopls"};
    assert_int_equal(lp_gopls_is_server(1, argv), 1);
}

static void server_flags_alone_are_a_server(void **state)
{
    (void)state;
    IS_SERVER("-mode=stdio");
    IS_SERVER("-rpc.trace");
    IS_SERVER("-rpc.trace", "-logfile=/tmp/gopls.log");
    IS_SERVER("-logfile", "/tmp/gopls.log");
    IS_SERVER("--logfile", "auto", "-v");
    IS_SERVER("-remote=auto");
    IS_SERVER("-remote", "localhost:4389", "-rpc.trace");
}

static void serve_subcommand_is_a_server(void **state)
{
    (void)state;
    IS_SERVER("serve");
    IS_SERVER("-rpc.trace", "serve");
    IS_SERVER("serve", "-rpc.trace", "-logfile", "x");
    IS_SERVER("-v", "serve", "-mode=stdio");
}

static void subcommands_are_exec_ed(void **state)
{
    (void)state;
    NOT_SERVER("version");
    NOT_SERVER("version", "-json");
    NOT_SERVER("help");
    NOT_SERVER("api-json");
    NOT_SERVER("vulncheck", "./...");
    NOT_SERVER("stats", "-anon");
    NOT_SERVER("bogus");
    NOT_SERVER("-rpc.trace", "check", "main.go");
    /* A value flag consumes its value: "serve" here is the log file name. */
    NOT_SERVER("-logfile", "serve", "version");
}

static void help_is_exec_ed(void **state)
{
    (void)state;
    NOT_SERVER("-h");
    NOT_SERVER("--help");
    NOT_SERVER("serve", "-help");
}

/* -listen serves a socket: lsptap listens itself (lsptap relay). */
static void listen_is_a_server_lsptap_serves(void **state)
{
    (void)state;
    IS_SERVER("-listen=:4389");
    IS_SERVER("serve", "-listen", "unix;/tmp/gopls.sock");
}

static void remote_and_listen_values_are_found(void **state)
{
    (void)state;
    int i, in;
    const char *v;
    char *a1[] = {"gopls", "-rpc.trace", "-remote=localhost:4389"};
    assert_int_equal(lp_gopls_flag(3, a1, "remote", &i, &in, &v), 1);
    assert_int_equal(i, 2);
    assert_int_equal(in, 1);
    assert_string_equal(v, "localhost:4389");
    char *a2[] = {"gopls", "-logfile", "-remote", "serve", "--remote", "unix;/tmp/s"};
    assert_int_equal(lp_gopls_flag(6, a2, "remote", &i, &in, &v), 1);
    assert_int_equal(i, 4); /* "-remote" at 2 is -logfile's value */
    assert_int_equal(in, 0);
    assert_string_equal(v, "unix;/tmp/s");
    char *a3[] = {"gopls", "serve", "-listen", "127.0.0.1:0"};
    assert_int_equal(lp_gopls_flag(4, a3, "listen", &i, &in, &v), 1);
    assert_string_equal(v, "127.0.0.1:0");
    assert_int_equal(lp_gopls_flag(4, a3, "remote", &i, &in, &v), 0);
}

static void double_dash_ends_flags(void **state)
{
    (void)state;
    IS_SERVER("-rpc.trace", "--");
    NOT_SERVER("--", "version");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(no_arguments_is_a_server),
        cmocka_unit_test(server_flags_alone_are_a_server),
        cmocka_unit_test(serve_subcommand_is_a_server),
        cmocka_unit_test(subcommands_are_exec_ed),
        cmocka_unit_test(help_is_exec_ed),
        cmocka_unit_test(listen_is_a_server_lsptap_serves),
        cmocka_unit_test(remote_and_listen_values_are_found),
        cmocka_unit_test(double_dash_ends_flags),
    };
    return cmocka_run_group_tests_name("gopls_args", tests, NULL, NULL);
}
