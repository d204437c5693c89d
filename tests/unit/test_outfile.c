/*
 * inspect/li_outfile: an output that is one of the inputs (directly, by a
 * symbolic link, by a hard link) is refused and left untouched; a failed
 * command (abort) leaves an existing output as it was; a commit replaces it
 * whole, keeping its mode; no temporary file is left behind either way.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "inspect/li_outfile.h"
#include "tmpdir.h"

static char dir[256];

static int setup(void **state)
{
    (void)state;
    return tmpdir_make(dir, sizeof dir, "outfile");
}

static int teardown(void **state)
{
    (void)state;
    return tmpdir_remove(dir);
}

static const char *at(const char *name)
{
    static char buf[16][512];
    static int next;
    char *p = buf[next++ % 16];
    snprintf(p, 512, "%s/%s", dir, name);
    return p;
}

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void expect(const char *path, const char *text)
{
    char buf[256] = "";
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    assert_string_equal(buf, text);
}

/* Nothing but the named files: no ".NAME.XXXXXX" left over. */
static int entries(void)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

static void test_output_is_input_refused(void **state)
{
    (void)state;
    const char *s = at("s.jsonl");
    put(s, "{\"lsptap\":1}\n");
    assert_int_equal(symlink(s, at("link.jsonl")), 0);
    assert_int_equal(link(s, at("hard.jsonl")), 0);
    const char *inputs[] = {s, NULL};
    const char *outs[] = {s, at("link.jsonl"), at("hard.jsonl")};
    for (int i = 0; i < 3; i++) {
        struct li_outfile o;
        char err[512];
        assert_int_equal(li_outfile_open(&o, outs[i], inputs, err, sizeof err), -EINVAL);
        assert_non_null(strstr(err, "refusing to write"));
        assert_non_null(strstr(err, "it is the input"));
        expect(s, "{\"lsptap\":1}\n");
    }
    assert_int_equal(entries(), 3);
    unlink(at("link.jsonl"));
    unlink(at("hard.jsonl"));
    unlink(s);
}

static void test_abort_keeps_existing_commit_replaces(void **state)
{
    (void)state;
    const char *out = at("out.txt");
    put(out, "old\n");
    chmod(out, 0640);
    struct li_outfile o;
    char err[512];
    assert_int_equal(li_outfile_open(&o, out, NULL, err, sizeof err), 0);
    fputs("half", o.f);
    li_outfile_abort(&o);
    expect(out, "old\n");
    assert_int_equal(entries(), 1);

    assert_int_equal(li_outfile_open(&o, out, NULL, err, sizeof err), 0);
    fputs("new\n", o.f);
    expect(out, "old\n"); /* nothing visible before the commit */
    assert_int_equal(li_outfile_commit(&o, err, sizeof err), 0);
    expect(out, "new\n");
    struct stat st;
    assert_int_equal(stat(out, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640);
    assert_int_equal(entries(), 1);
    unlink(out);
}

static void test_link_target_replaced_not_link(void **state)
{
    (void)state;
    const char *target = at("target.txt"), *ln = at("ln.txt");
    put(target, "old\n");
    assert_int_equal(symlink(target, ln), 0);
    struct li_outfile o;
    char err[512];
    assert_int_equal(li_outfile_open(&o, ln, NULL, err, sizeof err), 0);
    fputs("new\n", o.f);
    assert_int_equal(li_outfile_commit(&o, err, sizeof err), 0);
    struct stat st;
    assert_int_equal(lstat(ln, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    expect(target, "new\n");
    unlink(ln);
    unlink(target);
}

static void test_new_file_and_missing_dir(void **state)
{
    (void)state;
    struct li_outfile o;
    char err[512];
    assert_int_equal(li_outfile_open(&o, at("fresh.txt"), NULL, err, sizeof err), 0);
    fputs("x", o.f);
    assert_int_equal(li_outfile_commit(&o, err, sizeof err), 0);
    expect(at("fresh.txt"), "x");
    unlink(at("fresh.txt"));
    assert_int_equal(li_outfile_open(&o, at("no/such/dir.txt"), NULL, err, sizeof err), -ENOENT);
    assert_non_null(strstr(err, "no/such/dir.txt"));
    assert_int_equal(entries(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_output_is_input_refused),
        cmocka_unit_test(test_abort_keeps_existing_commit_replaces),
        cmocka_unit_test(test_link_target_replaced_not_link),
        cmocka_unit_test(test_new_file_and_missing_dir),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
