/*
 * Session readers against hostile files: a FIFO named *.jsonl is refused at
 * once (it blocked every reader forever), by li_reader_open, li_tail_file
 * and li_ls (which leaves it out with a note); a line longer than the
 * reader's cap is reported with its number and skipped, the lines after it
 * read; `tail` stops following a session whose writer is gone (its pid dead,
 * or reused by a process that started after the session). And li_reader on
 * the fixture session cut short in its last line (the complete lines read,
 * the cut one's number given) and with a malformed line in the middle
 * (named with its number, the lines after it read).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"
#include "inspect/li_ls.h"
#include "inspect/li_reader.h"
#include "inspect/li_tail.h"
#include "tmpdir.h"

static char dir[256];

static int setup(void **state)
{
    (void)state;
    /* A reader that blocks on a FIFO would hang the test: end it instead. */
    alarm(60);
    return tmpdir_make(dir, sizeof dir, "reader-hostile");
}

static int teardown(void **state)
{
    (void)state;
    return tmpdir_remove(dir);
}

static const char *at(const char *name)
{
    static char buf[8][512];
    static int next;
    char *p = buf[next++ % 8];
    snprintf(p, 512, "%s/%s", dir, name);
    return p;
}

/* Writes the first `keep` lines of the fixture session (tests/unit/data/),
 * `insert_at3` before its third line, then `tail`, to a new file in dir. */
static const char *variant(const char *name, int keep, const char *insert_at3, const char *tail)
{
    return fixture_variant(at(name), keep, insert_at3, tail);
}

static void test_truncated_last_line(void **state)
{
    (void)state;
    const char *path = variant("crash.jsonl", 36, NULL, "{\"t_us\":400010,\"dir\":\"s2c\",\"by");
    struct li_reader *r = li_reader_open(path, NULL, 0);
    assert_non_null(r);
    json_t *line;
    size_t lineno = 0, n = 0;
    char err[256];
    int rc;
    while ((rc = li_reader_next(r, &line, &lineno, err, sizeof err)) == LI_READ_LINE) {
        n++;
        json_decref(line);
    }
    assert_int_equal(rc, LI_READ_EOF);
    assert_int_equal(n, 36);
    assert_int_equal(li_reader_truncated(r), 37);
    li_reader_close(r);
    unlink(path);
}

static void test_malformed_middle_line(void **state)
{
    (void)state;
    const char *path = variant("bad.jsonl", 100, "{\"t_us\": oops}\n", "");
    struct li_reader *r = li_reader_open(path, NULL, 0);
    json_t *line;
    size_t lineno = 0;
    char err[256];
    assert_int_equal(li_reader_next(r, &line, &lineno, err, sizeof err), LI_READ_LINE);
    json_decref(line);
    assert_int_equal(li_reader_next(r, &line, &lineno, err, sizeof err), LI_READ_LINE);
    json_decref(line);
    assert_int_equal(li_reader_next(r, &line, &lineno, err, sizeof err), LI_READ_BAD);
    assert_int_equal(lineno, 3);
    assert_non_null(strstr(err, "bad.jsonl:3: malformed line"));
    assert_int_equal(li_reader_next(r, &line, &lineno, err, sizeof err), LI_READ_LINE);
    assert_int_equal(lineno, 4);
    json_decref(line);
    li_reader_close(r);
    unlink(path);
}

static void test_fifo_refused(void **state)
{
    (void)state;
    const char *fifo = at("fifo.jsonl");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    char err[1024];
    assert_null(li_reader_open(fifo, err, sizeof err));
    assert_non_null(strstr(err, "fifo.jsonl is not a regular file (a FIFO)"));
    err[0] = '\0';
    assert_int_equal(li_tail_file(fifo, NULL, 1, NULL, NULL, NULL, stdout, err, sizeof err), 2);
    assert_non_null(strstr(err, "is not a regular file (a FIFO)"));

    FILE *good = fopen(at("good.jsonl"), "w");
    fputs("{\"lsptap\":1,\"protocol\":\"lsp\",\"start\":\"2026-01-01T00:00:00Z\"}\n"
          "{\"t_us\":9,\"event\":\"summary\",\"messages\":{\"c2s\":0,\"s2c\":0}}\n",
          good);
    fclose(good);
    char *notes = NULL;
    size_t nlen = 0;
    FILE *warn = open_memstream(&notes, &nlen);
    json_t *list = li_ls(dir, warn, err, sizeof err);
    fclose(warn);
    assert_non_null(list);
    assert_int_equal(json_array_size(list), 1);
    assert_non_null(strstr(notes, "fifo.jsonl is not a regular file (a FIFO)"));
    json_decref(list);
    free(notes);
    unlink(fifo);
    unlink(at("good.jsonl"));
}

static void test_long_line_skipped(void **state)
{
    (void)state;
    const char *path = at("long.jsonl");
    FILE *f = fopen(path, "w");
    fputs("{\"lsptap\":1}\n", f);
    fputc('"', f);
    for (int i = 0; i < 10000; i++)
        fputc('x', f);
    fputs("\"\n{\"t_us\":3}\n", f);
    fclose(f);
    char err[1024];
    struct li_reader *r = li_reader_open(path, err, sizeof err);
    assert_non_null(r);
    li_reader_set_line_max(r, 1024);
    json_t *v;
    size_t lineno;
    assert_int_equal(li_reader_next(r, &v, &lineno, err, sizeof err), LI_READ_LINE);
    json_decref(v);
    assert_int_equal(li_reader_next(r, &v, &lineno, err, sizeof err), LI_READ_BAD);
    assert_int_equal(lineno, 2);
    assert_non_null(strstr(err, "long.jsonl:2: line of 10003 bytes is longer than the reader's "
                                "limit of 1024 bytes; skipped"));
    assert_int_equal(li_reader_next(r, &v, &lineno, err, sizeof err), LI_READ_LINE);
    assert_int_equal(lineno, 3);
    assert_int_equal(json_integer_value(json_object_get(v, "t_us")), 3);
    json_decref(v);
    assert_int_equal(li_reader_next(r, &v, &lineno, err, sizeof err), LI_READ_EOF);
    li_reader_close(r);
    unlink(path);
}

/* The header of an unfinished session written by `pid`, started at `start`. */
static const char *unfinished(const char *name, long pid, const char *start)
{
    const char *path = at(name);
    FILE *f = fopen(path, "w");
    fprintf(f, "{\"lsptap\":1,\"protocol\":\"lsp\",\"start\":\"%s\",\"pid\":%ld}\n", start, pid);
    fputs("{\"t_us\":1,\"dir\":\"c2s\",\"bytes\":50,\"kind\":\"request\",\"method\":\"x\",\"id\":1}"
          "\n",
          f);
    fclose(f);
    return path;
}

static void test_tail_stops_when_writer_gone(void **state)
{
    (void)state;
    pid_t child = fork();
    if (child == 0) _exit(0);
    assert_true(child > 0);
    waitpid(child, NULL, 0); /* reaped: the pid names no process now */
    char now[32];
    time_t t = time(NULL);
    strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
    const char *dead = unfinished("dead.jsonl", (long)child, now);
    char err[1024] = "";
    char *out = NULL;
    size_t olen = 0;
    FILE *o = open_memstream(&out, &olen);
    assert_int_equal(li_tail_file(dead, NULL, 1, NULL, NULL, NULL, o, err, sizeof err), 1);
    fclose(o);
    assert_non_null(strstr(out, "x")); /* what was there was printed first */
    free(out);
    assert_non_null(strstr(err, "is gone and the session has no summary line"));

    /* This process is alive but started long after this session: its pid
     * was reused, it is not the writer. */
    const char *reused = unfinished("reused.jsonl", (long)getpid(), "2001-01-01T00:00:00Z");
    o = fopen("/dev/null", "w");
    assert_int_equal(li_tail_file(reused, NULL, 1, NULL, NULL, NULL, o, err, sizeof err), 1);
    fclose(o);
    assert_true(li_tail_writer_alive((long)getpid(), (long long)time(NULL)));
    assert_false(li_tail_writer_alive((long)child, -1));
    unlink(dead);
    unlink(reused);
}

/* An lsptap that exited but was not reaped (its parent does not wait) is
 * a zombie: kill(pid, 0) still succeeds on it, yet it writes nothing more.
 * tail -f must stop, not follow it forever. */
static void test_zombie_writer_is_gone(void **state)
{
    (void)state;
    pid_t child = fixture_zombie();
    assert_int_equal(kill(child, 0), 0); /* what kill() alone would believe */
    assert_false(li_tail_writer_alive((long)child, -1));
    assert_int_equal(waitpid(child, NULL, 0), child);
}

/* /proc that cannot see the writer (not mounted, hidepid) says nothing
 * about it: kill() found it, so it is alive, and tail -f goes on. Needs
 * a mount namespace (root); skipped without one. */
static void test_writer_alive_when_proc_cannot_tell(void **state)
{
    (void)state;
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (!pid) {
        if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
            mount("none", "/proc", "tmpfs", 0, NULL))
            _exit(77);
        _exit(li_tail_writer_alive((long)getpid(), (long long)time(NULL)) == 1 ? 0 : 1);
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    if (WEXITSTATUS(st) == 77) skip();
    assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fifo_refused),
        cmocka_unit_test(test_long_line_skipped),
        cmocka_unit_test(test_tail_stops_when_writer_gone),
        cmocka_unit_test(test_zombie_writer_is_gone),
        cmocka_unit_test(test_writer_alive_when_proc_cannot_tell),
        cmocka_unit_test(test_truncated_last_line),
        cmocka_unit_test(test_malformed_middle_line),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
