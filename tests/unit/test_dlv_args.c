/* Which dlv invocations the stand-in relays (`dlv dap` servers) and which it
 * exec'ed unchanged, and what it reads from a dap command line: the address
 * the editor asked for, --log-dest, and where each sits in argv (the child's
 * command line is rewritten at those indexes). dlv parses with cobra: flags
 * anywhere, "--flag=value" or "--flag value", shorthands such as -l. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "proxy/lp_dlv_args.h"

#define PARSE(a, ...)                                                                              \
    do {                                                                                           \
        char *argv_[] = {"dlv", __VA_ARGS__};                                                      \
        lp_dlv_parse((int)(sizeof argv_ / sizeof *argv_), argv_, (a));                             \
    } while (0)
#define IS_DAP(...)                                                                                \
    do {                                                                                           \
        struct lp_dlv_args a_;                                                                     \
        PARSE(&a_, __VA_ARGS__);                                                                   \
        assert_int_equal(a_.is_dap, 1);                                                            \
    } while (0)
#define NOT_DAP(...)                                                                               \
    do {                                                                                           \
        struct lp_dlv_args a_;                                                                     \
        PARSE(&a_, __VA_ARGS__);                                                                   \
        assert_int_equal(a_.is_dap, 0);                                                            \
    } while (0)

static void no_arguments_is_not_dap(void **state)
{
    (void)state;
    struct lp_dlv_args a;
    char *argv[] = {"dlv"};
    lp_dlv_parse(1, argv, &a);
    assert_int_equal(a.is_dap, 0);
}

/* vscode-go's own command line. */
static void vscode_go_command_line(void **state)
{
    (void)state;
    struct lp_dlv_args a;
    PARSE(&a, "dap", "--listen=127.0.0.1:41233", "--log-dest=3");
    assert_int_equal(a.is_dap, 1);
    assert_string_equal(a.listen, "127.0.0.1:41233");
    assert_int_equal(a.listen_arg, 2);
    assert_int_equal(a.listen_inline, 1);
    assert_string_equal(a.log_dest, "3");
    assert_int_equal(a.log_arg, 3);
    assert_int_equal(a.log_inline, 1);
    assert_int_equal(a.log_fd, 3);
    assert_null(a.client_addr);
}

static void listen_in_every_spelling(void **state)
{
    (void)state;
    struct lp_dlv_args a;
    PARSE(&a, "dap", "--listen", "127.0.0.1:4000");
    assert_int_equal(a.is_dap, 1);
    assert_string_equal(a.listen, "127.0.0.1:4000");
    assert_int_equal(a.listen_arg, 2);
    assert_int_equal(a.listen_inline, 0);

    PARSE(&a, "dap", "-l", "localhost:4001");
    assert_int_equal(a.is_dap, 1);
    assert_string_equal(a.listen, "localhost:4001");
    assert_int_equal(a.listen_arg, 2);
    assert_int_equal(a.listen_inline, 0);

    PARSE(&a, "dap", "-l=[::1]:4002");
    assert_int_equal(a.is_dap, 1);
    assert_string_equal(a.listen, "[::1]:4002");
    assert_int_equal(a.listen_inline, 1);

    /* A value that looks like a subcommand is still the value. */
    PARSE(&a, "--listen", "dap", "dap");
    assert_int_equal(a.is_dap, 1);
    assert_string_equal(a.listen, "dap");
    assert_int_equal(a.listen_arg, 1);
}

static void no_listen_means_dlv_default(void **state)
{
    (void)state;
    struct lp_dlv_args a;
    PARSE(&a, "dap");
    assert_int_equal(a.is_dap, 1);
    assert_string_equal(a.listen, "127.0.0.1:0");
    assert_int_equal(a.listen_arg, -1);
    assert_int_equal(a.log_arg, -1);
    assert_null(a.log_dest);
    assert_int_equal(a.log_fd, -1);
}

static void log_dest_fd_or_file(void **state)
{
    (void)state;
    struct lp_dlv_args a;
    PARSE(&a, "dap", "--log-dest", "7", "--listen=127.0.0.1:0");
    assert_int_equal(a.is_dap, 1);
    assert_string_equal(a.log_dest, "7");
    assert_int_equal(a.log_fd, 7);
    assert_int_equal(a.log_arg, 2);
    assert_int_equal(a.log_inline, 0);
    assert_int_equal(a.listen_arg, 4);

    PARSE(&a, "dap", "--log", "--log-output=dap,debugger", "--log-dest=/tmp/dlv.log");
    assert_int_equal(a.is_dap, 1);
    assert_string_equal(a.log_dest, "/tmp/dlv.log");
    assert_int_equal(a.log_fd, -1);
    assert_int_equal(a.log_arg, 4);
    assert_int_equal(a.log_inline, 1);

    /* Not a number: a file name, even when it starts with digits. */
    PARSE(&a, "dap", "--log-dest=3.log");
    assert_string_equal(a.log_dest, "3.log");
    assert_int_equal(a.log_fd, -1);
    /* 1 and 2 are dlv's own stdout and stderr, as dlv reads them. */
    PARSE(&a, "dap", "--log-dest=2");
    assert_int_equal(a.log_fd, 2);
    PARSE(&a, "dap", "--log-dest=1");
    assert_int_equal(a.log_fd, 1);
}

static void flags_before_the_subcommand(void **state)
{
    (void)state;
    struct lp_dlv_args a;
    PARSE(&a, "--log-dest=3", "--listen=127.0.0.1:5000", "dap");
    assert_int_equal(a.is_dap, 1);
    assert_string_equal(a.listen, "127.0.0.1:5000");
    assert_int_equal(a.listen_arg, 2);
    assert_int_equal(a.log_fd, 3);
    assert_int_equal(a.log_arg, 1);

    /* Boolean flags take no value; value flags take the next word. */
    IS_DAP("--log", "dap");
    IS_DAP("--check-go-version=false", "--only-same-user=false", "dap");
    IS_DAP("--log-output", "dap", "dap");
    IS_DAP("--build-flags", "-tags=x", "dap", "--listen=:0");
    NOT_DAP("--wd", "dap", "version");
    NOT_DAP("--log-output", "dap");
}

static void client_addr_is_relayed_in_reverse(void **state)
{
    (void)state;
    struct lp_dlv_args a;
    PARSE(&a, "dap", "--client-addr=127.0.0.1:6000");
    assert_int_equal(a.is_dap, 1);
    assert_string_equal(a.client_addr, "127.0.0.1:6000");
    assert_int_equal(a.client_inline, 1);

    PARSE(&a, "dap", "--client-addr", "127.0.0.1:6001", "--log-dest=3");
    assert_int_equal(a.is_dap, 1);
    assert_string_equal(a.client_addr, "127.0.0.1:6001");
    assert_int_equal(a.client_arg, 2);
    assert_int_equal(a.client_inline, 0);
    assert_int_equal(a.log_fd, 3);
}

static void help_is_exec_ed(void **state)
{
    (void)state;
    NOT_DAP("dap", "--help");
    NOT_DAP("dap", "-h");
    NOT_DAP("--help", "dap");
    NOT_DAP("dap", "--listen=127.0.0.1:0", "-h");
    NOT_DAP("help", "dap");
}

static void other_commands_are_exec_ed(void **state)
{
    (void)state;
    NOT_DAP("version");
    NOT_DAP("version", "-v");
    NOT_DAP("substitute-path-guess-helper");
    NOT_DAP("debug", "./cmd", "--headless", "--listen=127.0.0.1:0");
    NOT_DAP("exec", "./bin", "--", "dap");
    NOT_DAP("test", "./pkg");
    NOT_DAP("attach", "1234", "--headless", "--listen=:2345");
    NOT_DAP("connect", "127.0.0.1:2345");
    NOT_DAP("--headless", "--listen=:2345", "debug");
    NOT_DAP("trace", "dap");
    /* After "--" everything belongs to the debuggee. */
    NOT_DAP("--", "dap");
}

/* cobra/pflag also accept a shorthand with its value attached: `-l127.0.0.1:4000`
 * makes dlv listen on 4000. Read as an unknown flag, the stand-in would
 * listen on 127.0.0.1:0 and pass -l127.0.0.1:4000 to the real dlv, which
 * would then take the editor's port itself: the editor would bypass lsptap. */
static void shorthand_with_attached_value(void **state)
{
    (void)state;
    struct lp_dlv_args a;
    PARSE(&a, "dap", "-l127.0.0.1:4000");
    assert_int_equal(a.is_dap, 1);
    assert_int_equal(a.listen_arg, 2);
    assert_int_equal(a.listen_inline, 1);
    assert_string_equal(a.listen, "127.0.0.1:4000");

    /* -r takes a value too: an attached one does not eat "dap". */
    IS_DAP("-rstdin:/dev/null", "dap");
    IS_DAP("-r", "stdin:/dev/null", "dap");
}

/* dlv takes every integer --log-dest as a file descriptor (strconv.Atoi,
 * then os.NewFile), 1 and 2 included: `--log-dest=2` logs to stderr. */
static void log_dest_low_fds_are_fds(void **state)
{
    (void)state;
    struct lp_dlv_args a;
    PARSE(&a, "dap", "--log-dest=2");
    assert_string_equal(a.log_dest, "2");
    assert_int_equal(a.log_fd, 2);
    PARSE(&a, "dap", "--log-dest=1");
    assert_int_equal(a.log_fd, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(no_arguments_is_not_dap),
        cmocka_unit_test(vscode_go_command_line),
        cmocka_unit_test(listen_in_every_spelling),
        cmocka_unit_test(no_listen_means_dlv_default),
        cmocka_unit_test(log_dest_fd_or_file),
        cmocka_unit_test(flags_before_the_subcommand),
        cmocka_unit_test(client_addr_is_relayed_in_reverse),
        cmocka_unit_test(help_is_exec_ed),
        cmocka_unit_test(other_commands_are_exec_ed),
        cmocka_unit_test(shorthand_with_attached_value),
        cmocka_unit_test(log_dest_low_fds_are_fds),
    };
    return cmocka_run_group_tests_name("dlv_args", tests, NULL, NULL);
}
