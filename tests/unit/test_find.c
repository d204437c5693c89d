/* Finding the real gopls: configured path, PATH (skipping lsptap itself),
 * and a not-found error that names every place searched. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "env/lp_find.h"
#include "tests/unit/tmpdir.h"

static char dir[256];

static void make_exe(const char *path)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("#!/bin/sh\n", f);
    fclose(f);
    assert_int_equal(chmod(path, 0755), 0);
}

static int setup(void **state)
{
    (void)state;
    assert_int_equal(tmpdir_make(dir, sizeof dir, "find"), 0);
    char p[512];
    snprintf(p, sizeof p, "%s/a", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/b", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/home", dir);
    mkdir(p, 0755);
    setenv("HOME", p, 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return tmpdir_remove(dir);
}

static void configured_path_wins(void **state)
{
    (void)state;
    char exe[512], out[4096], err[8192];
    snprintf(exe, sizeof exe, "%s/b/gopls", dir);
    make_exe(exe);
    setenv("PATH", "/nonexistent", 1);
    assert_int_equal(lp_find_tool("gopls", exe, "LSPTAP_GOPLS", out, sizeof out, err, sizeof err),
                     0);
    assert_string_equal(out, exe);
}

static void configured_path_not_executable_is_an_error(void **state)
{
    (void)state;
    char out[4096], err[8192];
    int r = lp_find_tool("gopls", "/nonexistent/gopls", "LSPTAP_GOPLS", out, sizeof out, err,
                         sizeof err);
    assert_int_equal(r, -EACCES);
    assert_non_null(strstr(err, "LSPTAP_GOPLS=/nonexistent/gopls: not an executable file"));
}

static void path_is_searched_in_order(void **state)
{
    (void)state;
    char a[512], b[512], path[1200], out[4096], err[8192];
    snprintf(a, sizeof a, "%s/a/gopls", dir);
    snprintf(b, sizeof b, "%s/b/gopls", dir);
    make_exe(a);
    make_exe(b);
    snprintf(path, sizeof path, "/nonexistent:%s/a:%s/b", dir, dir);
    setenv("PATH", path, 1);
    assert_int_equal(lp_find_tool("gopls", "", "LSPTAP_GOPLS", out, sizeof out, err, sizeof err),
                     0);
    assert_string_equal(out, a);
    unlink(a);
}

static void lsptap_itself_is_skipped(void **state)
{
    (void)state;
    char self[4096], link[512], b[512], path[1200], out[4096], err[8192];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    assert_true(n > 0);
    self[n] = '\0';
    snprintf(link, sizeof link, "%s/a/gopls", dir);
    unlink(link);
    assert_int_equal(symlink(self, link), 0);
    snprintf(b, sizeof b, "%s/b/gopls", dir);
    make_exe(b);
    snprintf(path, sizeof path, "%s/a:%s/b", dir, dir);
    setenv("PATH", path, 1);
    assert_int_equal(lp_find_tool("gopls", "", "LSPTAP_GOPLS", out, sizeof out, err, sizeof err),
                     0);
    assert_string_equal(out, b);
    assert_int_equal(lp_is_self(link), 1);
    assert_int_equal(lp_is_self(b), 0);
    unlink(link);
}

static void not_found_names_every_place(void **state)
{
    (void)state;
    char out[4096], err[8192], path[600];
    snprintf(path, sizeof path, "/nonexistent:%s/a", dir);
    setenv("PATH", path, 1);
    int r = lp_find_tool("dlv", "", "LSPTAP_DLV", out, sizeof out, err, sizeof err);
    assert_int_equal(r, -ENOENT);
    assert_non_null(strstr(err, "the real dlv was not found"));
    assert_non_null(strstr(err, "LSPTAP_DLV"));
    assert_non_null(strstr(err, "PATH: /nonexistent/dlv (no such executable)"));
    assert_non_null(strstr(err, "go env GOBIN"));
    assert_non_null(strstr(err, "~/go/bin"));
    assert_non_null(strstr(err, "go install github.com/go-delve/delve/cmd/dlv@latest"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(configured_path_wins),
        cmocka_unit_test(configured_path_not_executable_is_an_error),
        cmocka_unit_test(path_is_searched_in_order),
        cmocka_unit_test(lsptap_itself_is_skipped),
        cmocka_unit_test(not_found_names_every_place),
    };
    return cmocka_run_group_tests_name("find", tests, setup, teardown);
}
