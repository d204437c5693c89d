/* li_ls: the sessions of a directory in brief, oldest first; files that
 * are not sessions left out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "inspect/li_ls.h"

static char tmpdir[] = "/tmp/lsptap-test-ls-XXXXXX";

static void put(const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup(void **state)
{
    (void)state;
    assert_non_null(mkdtemp(tmpdir));
    put("b.jsonl", "{\"lsptap\":1,\"protocol\":\"lsp\",\"start\":\"2026-11-28T02:00:00Z\","
                   "\"argv\":[\"/usr/bin/gopls\",\"serve\"]}\n"
                   "{\"t_us\":10,\"dir\":\"c2s\",\"bytes\":9,\"kind\":\"request\",\"method\":"
                   "\"shutdown\",\"id\":1}\n"
                   "{\"t_us\":20,\"dir\":\"c2s\",\"bytes\":9,\"kind\":\"notification\",\"method\":"
                   "\"exit\"}\n"
                   "{\"t_us\":2500000,\"event\":\"exit\",\"status\":0,\"signal\":null}\n"
                   "{\"t_us\":2500000,\"event\":\"summary\"}\n");
    put("a.jsonl", "{\"lsptap\":1,\"protocol\":\"dap\",\"start\":\"2026-11-28T01:00:00Z\","
                   "\"argv\":[\"dlv\",\"dap\"]}\n"
                   "{\"t_us\":5,\"dir\":\"c2s\",\"bytes\":9,\"kind\":\"request\",\"command\":"
                   "\"launch\",\"id\":1}\n");
    put("notes.jsonl", "{\"hello\":1}\n");
    put("readme.txt", "not a session\n");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *str(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static void test_lists_sessions_oldest_first(void **state)
{
    (void)state;
    char err[512];
    json_t *l = li_ls(tmpdir, NULL, err, sizeof err);
    assert_non_null(l);
    assert_int_equal(json_array_size(l), 2);
    json_t *a = json_array_get(l, 0), *b = json_array_get(l, 1);
    assert_non_null(strstr(str(a, "session"), "/a.jsonl"));
    assert_string_equal(str(a, "protocol"), "dap");
    assert_string_equal(str(a, "ended"), "unfinished");
    assert_int_equal(json_integer_value(json_object_get(a, "pending")), 1);
    assert_string_equal(str(b, "ended"), "normal");
    assert_int_equal(json_integer_value(json_object_get(b, "messages")), 2);
    assert_int_equal(json_integer_value(json_object_get(b, "duration_us")), 2500000);

    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    li_ls_print(l, mem);
    fclose(mem);
    assert_non_null(strstr(text, "START "));
    assert_non_null(strstr(text, "gopls serve"));
    assert_non_null(strstr(text, "2.50s"));
    assert_non_null(strstr(text, " normal "));
    assert_non_null(strstr(text, "b.jsonl\n"));
    free(text);
    json_decref(l);
}

static void test_missing_directory(void **state)
{
    (void)state;
    char err[512];
    assert_null(li_ls("/nonexistent/lsptap", NULL, err, sizeof err));
    assert_string_equal(err, "cannot open /nonexistent/lsptap: No such file or directory");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lists_sessions_oldest_first),
        cmocka_unit_test(test_missing_directory),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
