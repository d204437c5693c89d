/* li_tail_format: one readable line per session line, and the filters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "inspect/li_tail.h"

static const char *fmt(const char *line, const char *method, int dir)
{
    static char out[2048];
    struct li_tail_filter f = {method, dir};
    json_t *v = json_loads(line, JSON_ALLOW_NUL, NULL);
    assert_non_null(v);
    int shown = li_tail_format(v, &f, out, sizeof out);
    json_decref(v);
    return shown ? out : NULL;
}

static const char reply[] = "{\"t_us\":1730000,\"dir\":\"s2c\",\"bytes\":371,\"kind\":\"response\","
                            "\"method\":\"textDocument/hover\",\"id\":1,\"latency_us\":1590000,"
                            "\"error\":{\"code\":1}}";

static void test_message_line(void **state)
{
    (void)state;
    assert_string_equal(fmt(reply, NULL, -1),
                        "+1.73s     s->c  reply (error) textDocument/hover                 id 1"
                        "             1.59s      371 B");
    assert_string_equal(fmt("{\"t_us\":5,\"dir\":\"c2s\",\"bytes\":80,\"kind\":\"notification\","
                            "\"method\":\"initialized\"}",
                            NULL, -1),
                        "+5us       c->s  notification  initialized                                "
                        "                     80 B");
    assert_null(fmt("{\"lsptap\":1,\"protocol\":\"lsp\"}", NULL, -1));
}

static void test_filters(void **state)
{
    (void)state;
    assert_non_null(fmt(reply, "hover", -1));
    assert_non_null(fmt(reply, NULL, 1));
    assert_null(fmt(reply, "completion", -1));
    assert_null(fmt(reply, NULL, 0));
    /* events: shown, unless a method is asked for */
    const char *exit_ev = "{\"t_us\":9,\"event\":\"exit\",\"status\":0,\"signal\":9,"
                          "\"signal_name\":\"Killed\"}";
    assert_string_equal(fmt(exit_ev, NULL, -1),
                        "+9us       ----  event         exit killed by signal 9 (Killed)");
    assert_null(fmt(exit_ev, "hover", -1));
    assert_string_equal(
        fmt("{\"t_us\":1,\"event\":\"restart\",\"reason\":\"bad GOROOT\"}", NULL, -1),
        "+1us       ----  event         restart {\"reason\":\"bad GOROOT\"}");
}

/* Found by fuzz_reader (corpus/reader/tail-newline-in-method): a method
 * name or exit reason with a newline or an escape sequence was printed raw,
 * breaking the one-line-per-message output and reaching the terminal. */
/* The line tail prints for a c2s message at t of `size`: name, which takes
 * name_cols columns, and id (id_cols), each padded to its column. */
static const char *line_of(const char *t, const char *kind, const char *name, int name_cols,
                           const char *id, int id_cols, const char *size)
{
    static char exp[512];
    snprintf(exp, sizeof exp, "+%-9s c->s  %-13s %s%*s %s%*s %9s %10s", t, kind, name,
             34 - name_cols, "", id, 12 - id_cols, "", "", size);
    return exp;
}

/* The same for a notification whose (escaped) name is ASCII. */
static const char *notif_line(const char *t, const char *name, const char *size)
{
    return line_of(t, "notification", name, (int)strlen(name), "", 0, size);
}

static void test_control_bytes_stay_out(void **state)
{
    (void)state;
    assert_string_equal(fmt("{\"t_us\":5,\"dir\":\"c2s\",\"bytes\":80,\"kind\":\"notification\","
                            "\"method\":\"a\\nb\\u001b[2Jc\\td\"}",
                            NULL, -1),
                        notif_line("5us", "a\\x0ab\\x1b[2Jc\\x09d", "80 B"));
    assert_string_equal(
        fmt("{\"t_us\":9,\"event\":\"summary\",\"ending\":\"gone\\r\\nlsptap: fake\"}", NULL, -1),
        "+9us       ----  event         summary: session ended: gone\\x0d\\x0alsptap: fake");
    /* A NUL is shown, and what follows it too. */
    assert_string_equal(fmt("{\"t_us\":5,\"dir\":\"c2s\",\"bytes\":8,\"kind\":\"notification\","
                            "\"method\":\"x\\u0000\\u001b]0;t\\u0007y\"}",
                            NULL, -1),
                        notif_line("5us", "x\\x00\\x1b]0;t\\x07y", "8 B"));
}

/* Names are padded by the columns they take once escaped, not by their
 * bytes: "é" (2 bytes) is one column, a CJK character two, so the id and
 * size columns start where they do for an ASCII name. */
static void test_columns_hold_for_any_name(void **state)
{
    (void)state;
    assert_string_equal(fmt("{\"t_us\":5,\"dir\":\"c2s\",\"bytes\":80,\"kind\":\"notification\","
                            "\"method\":\"caf\u00e9\"}",
                            NULL, -1),
                        line_of("5us", "notification", "caf\xc3\xa9", 4, "", 0, "80 B"));
    assert_string_equal(
        fmt("{\"t_us\":5,\"dir\":\"c2s\",\"bytes\":80,\"kind\":\"request\","
            "\"method\":\"\u8abf\u8a66\",\"id\":\"\u00e9\"}",
            NULL, -1),
        line_of("5us", "request", "\xe8\xaa\xbf\xe8\xa9\xa6", 4, "id \"\xc3\xa9\"", 6, "80 B"));
    /* An invisible control in an id is escaped before the padding too. */
    assert_string_equal(fmt("{\"t_us\":5,\"dir\":\"c2s\",\"bytes\":80,\"kind\":\"request\","
                            "\"method\":\"m\",\"id\":\"\u202e\"}",
                            NULL, -1),
                        line_of("5us", "request", "m", 1, "id \"\\u202e\"", 11, "80 B"));
}

/* A name or id holding a secret of the environment: the file's lines are
 * redacted before they are laid out, so the padding is that of REDACTED and
 * the id and size columns stay where they are for any other name. */
static void test_columns_hold_for_redacted_names(void **state)
{
    (void)state;
    char path[] = "/tmp/lsptap-test-tail-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("{\"lsptap\":1,\"protocol\":\"lsp\"}\n"
          "{\"t_us\":5,\"dir\":\"c2s\",\"bytes\":80,\"kind\":\"request\","
          "\"method\":\"x/k7Qz93longsecretvalue\",\"id\":\"k7Qz93longsecretvalue\"}\n",
          f);
    fclose(f);
    setenv("LSPTAP_TEST_TOKEN", "k7Qz93longsecretvalue", 1);
    char *text = NULL, err[256] = "";
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    int rc = li_tail_file(path, NULL, 0, NULL, NULL, NULL, mem, err, sizeof err);
    fclose(mem);
    unsetenv("LSPTAP_TEST_TOKEN");
    unlink(path);
    assert_int_equal(rc, 0);
    char want[600];
    snprintf(want, sizeof want, "%s\n",
             line_of("5us", "request", "x/REDACTED", 10, "id \"REDACTED\"", 12 /* 13: no pad */,
                     "80 B"));
    assert_string_equal(text, want);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_message_line),
        cmocka_unit_test(test_filters),
        cmocka_unit_test(test_control_bytes_stay_out),
        cmocka_unit_test(test_columns_hold_for_any_name),
        cmocka_unit_test(test_columns_hold_for_redacted_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
