/* li_stats on fixture sessions (the reader's own cases are in
 * test_reader_hostile.c, cmd_stats's exit codes in test_cmd_stats.c).
 * Percentiles in the expectations are worked out by hand with the
 * nearest-rank rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <jansson.h>

#include "fixture.h"
#include "inspect/li_session.h"
#include "inspect/li_stats.h"

static char fixture[1024];
static char tmpdir[] = "/tmp/lsptap-test-stats-XXXXXX";

static int setup(void **state)
{
    (void)state;
    snprintf(fixture, sizeof fixture, "%s", fixture_session());
    assert_non_null(mkdtemp(tmpdir));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Writes the first `keep` lines of the fixture plus `tail` to a new file. */
static const char *variant(const char *name, int keep, const char *insert_at3, const char *tail)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    return fixture_variant(path, keep, insert_at3, tail);
}

static json_t *method(json_t *report, const char *name)
{
    json_t *rows = json_object_get(report, "methods"), *r;
    size_t i;
    json_array_foreach(rows, i, r)
    {
        if (strcmp(json_string_value(json_object_get(r, "method")), name) == 0) return r;
    }
    fail_msg("no row for %s", name);
    return NULL;
}

static json_int_t num(json_t *o, const char *path)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *v = o;
    for (char *k = strtok(buf, "."); k; k = strtok(NULL, "."))
        v = json_object_get(v, k);
    if (!json_is_integer(v)) fail_msg("%s is not an integer", path);
    return json_integer_value(v);
}

/* What li_stats_print writes for st (the caller frees it). */
static char *printed(const struct li_stats *st)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    assert_non_null(mem);
    li_stats_print(st, mem);
    fclose(mem);
    /* A copy: gcc takes the buffer open_memstream filled for one that
     * lives in this frame (-Wdangling-pointer). */
    char *copy = strdup(text);
    free(text);
    assert_non_null(copy);
    return copy;
}

static void test_percentile_nearest_rank(void **state)
{
    (void)state;
    int64_t v[] = {10, 20, 30, 40, 50, 60, 70, 80, 90, 100};
    assert_int_equal(li_percentile(v, 10, 50), 50);
    assert_int_equal(li_percentile(v, 10, 90), 90);
    assert_int_equal(li_percentile(v, 10, 99), 100);
    assert_int_equal(li_percentile(v, 1, 50), 10);
    assert_int_equal(li_percentile(v, 3, 50), 20);
    assert_int_equal(li_percentile(v, 0, 50), -1);
}

static void test_fixture_report(void **state)
{
    (void)state;
    struct li_stats *st;
    char err[512];
    assert_int_equal(li_stats_load(fixture, &st, NULL, err, sizeof err), 0);
    json_t *o = li_stats_json(st);

    json_t *h = method(o, "textDocument/hover");
    assert_int_equal(num(h, "requests"), 10);
    assert_int_equal(num(h, "replies"), 10);
    assert_int_equal(num(h, "latency_us.count"), 10);
    assert_int_equal(num(h, "latency_us.p50"), 500);  /* rank ceil(5.0) = 5 */
    assert_int_equal(num(h, "latency_us.p90"), 900);  /* rank 9 */
    assert_int_equal(num(h, "latency_us.p99"), 1000); /* rank ceil(9.9) = 10 */
    assert_int_equal(num(h, "latency_us.max"), 1000);
    assert_int_equal(num(h, "bytes"), 3000);

    json_t *c = method(o, "textDocument/completion");
    assert_int_equal(num(c, "requests"), 3);
    assert_int_equal(num(c, "latency_us.p50"), 20); /* 10,20,30: rank ceil(1.5) = 2 */
    assert_int_equal(num(c, "latency_us.p90"), 30);
    assert_int_equal(num(c, "latency_us.p99"), 30);
    assert_int_equal(num(c, "errors"), 1);
    assert_int_equal(num(c, "cancelled"), 1);
    assert_int_equal(num(c, "bytes"), 3 * 150 + 2 * 1000 + 90);

    json_t *d = method(o, "textDocument/didOpen");
    assert_int_equal(num(d, "notifications"), 2);
    assert_int_equal(num(d, "bytes"), 10000);
    assert_true(json_is_null(json_object_get(d, "latency_us")));

    json_t *wc = method(o, "workspace/configuration");
    assert_int_equal(num(wc, "requests"), 1);
    assert_int_equal(num(wc, "latency_us.p99"), 50);
    assert_int_equal(num(wc, "bytes"), 180);
    assert_int_equal(num(method(o, "(unmatched reply)"), "replies"), 1);

    /* Busiest first. */
    json_t *first = json_array_get(json_object_get(o, "methods"), 0);
    assert_string_equal(json_string_value(json_object_get(first, "method")), "textDocument/hover");

    assert_int_equal(num(o, "messages.c2s"), 19);
    assert_int_equal(num(o, "messages.s2c"), 15);
    assert_int_equal(num(o, "invalid"), 1);
    json_t *p = json_object_get(o, "pending");
    assert_int_equal(json_array_size(p), 1);
    json_t *p0 = json_array_get(p, 0);
    assert_string_equal(json_string_value(json_object_get(p0, "method")),
                        "textDocument/definition");
    assert_int_equal(num(p0, "id"), 14);
    assert_int_equal(num(p0, "age_us"), 100000);
    assert_int_equal(num(o, "exit.status"), 0);
    assert_true(json_is_null(json_object_get(json_object_get(o, "exit"), "signal")));
    assert_true(json_is_true(json_object_get(o, "complete")));
    json_decref(o);

    char *text = printed(st);
    assert_non_null(strstr(
        text, "ended    The server exited with status 0 while the editor was still connected.\n"));
    assert_non_null(strstr(text, "pending  1 request unanswered at the end (listed below)\n"));
    assert_non_null(strstr(text, "last     editor->server:\n"));
    assert_non_null(strstr(text, "textDocument/definition  id 14\n"));
    assert_non_null(strstr(text, "textDocument/hover"));
    assert_non_null(strstr(text, "pending at end: 1\n"));
    /* Aligned: every table row is as wide as the heading. */
    char *head = strstr(text, "METHOD");
    size_t width = strcspn(head, "\n");
    char *row = strstr(text, "\ntextDocument/completion") + 1;
    assert_int_equal(strcspn(row, "\n"), width);
    free(text);
    li_stats_free(st);
}

static void test_truncated_last_line(void **state)
{
    (void)state;
    const char *path = variant("crash.jsonl", 36, NULL, "{\"t_us\":400010,\"dir\":\"s2c\",\"by");
    char err[256];
    struct li_stats *st;
    assert_int_equal(li_stats_load(path, &st, NULL, err, sizeof err), 0);
    json_t *o = li_stats_json(st);
    assert_true(json_is_false(json_object_get(o, "complete")));
    json_t *p = json_object_get(o, "pending");
    assert_int_equal(json_array_size(p), 1); /* worked out from the lines */
    assert_int_equal(num(json_array_get(p, 0), "id"), 14);
    assert_true(json_is_null(json_object_get(o, "exit")));
    char *w = json_dumps(json_object_get(o, "warnings"), 0);
    assert_non_null(strstr(w, "crash.jsonl:37: the last line is cut short"));
    free(w);
    json_decref(o);
    li_stats_free(st);
}

static void test_malformed_middle_line(void **state)
{
    (void)state;
    const char *path = variant("bad.jsonl", 100, "{\"t_us\": oops}\n", "");
    char err[256];
    struct li_stats *st;
    assert_int_equal(li_stats_load(path, &st, NULL, err, sizeof err), 0);
    json_t *o = li_stats_json(st);
    assert_int_equal(num(method(o, "textDocument/hover"), "requests"), 10);
    json_decref(o);
    li_stats_free(st);
}

static void test_not_a_session(void **state)
{
    (void)state;
    char err[512], path[512];
    struct li_stats *st;
    snprintf(path, sizeof path, "%s/other.jsonl", tmpdir);
    FILE *f = fopen(path, "w");
    fputs("{\"name\":\"x\"}\n", f);
    fclose(f);
    assert_int_equal(li_stats_load(path, &st, NULL, err, sizeof err), 2);
    assert_non_null(
        strstr(err, "other.jsonl:1: not a session file (first line has no \"lsptap\" key)"));
    snprintf(path, sizeof path, "%s/missing.jsonl", tmpdir);
    assert_int_equal(li_stats_load(path, &st, NULL, err, sizeof err), 2);
    assert_non_null(strstr(err, "cannot open "));
    assert_non_null(strstr(err, "missing.jsonl: No such file or directory"));
    snprintf(path, sizeof path, "%s/empty.jsonl", tmpdir);
    fclose(fopen(path, "w"));
    assert_int_equal(li_stats_load(path, &st, NULL, err, sizeof err), 2);
    assert_non_null(strstr(err, "empty.jsonl: not a session file (it is empty)"));
}

static void to_stats(void *ud, const char *line, size_t len)
{
    json_t *v = json_loadb(line, len, JSON_ALLOW_NUL, NULL);
    assert_non_null(v);
    li_stats_add(ud, v);
    json_decref(v);
}

static void feed(struct li_session *s, enum li_dir dir, const char *body, uint64_t t)
{
    char buf[512];
    int n = snprintf(buf, sizeof buf, "Content-Length: %zu\r\n\r\n%s", strlen(body), body);
    li_session_feed(s, dir, buf, (size_t)n, t);
}

/* What li_session writes, li_stats reads: a DAP session end to end. */
static void test_session_lines_to_stats(void **state)
{
    (void)state;
    struct li_stats *st = li_stats_new("live");
    struct li_opts o = {LI_DAP, LI_REC_META, 0, 0, to_stats, st, NULL, NULL, NULL};
    struct li_session *s = li_session_new(&o);
    li_session_write_header(s, NULL);
    feed(s, LI_C2S, "{\"seq\":1,\"type\":\"request\",\"command\":\"threads\"}", 100);
    feed(s, LI_S2C, "{\"seq\":1,\"type\":\"event\",\"event\":\"stopped\"}", 150);
    feed(s, LI_S2C,
         "{\"seq\":2,\"type\":\"response\",\"request_seq\":1,\"success\":true,"
         "\"command\":\"threads\"}",
         400);
    feed(s, LI_C2S, "{\"seq\":2,\"type\":\"request\",\"command\":\"threads\"}", 500);
    feed(s, LI_S2C,
         "{\"seq\":3,\"type\":\"response\",\"request_seq\":2,\"success\":false,"
         "\"command\":\"threads\",\"message\":\"busy\"}",
         600);
    feed(s, LI_C2S, "{\"seq\":3,\"type\":\"request\",\"command\":\"continue\"}", 700);
    li_session_write_summary(s, 1000, NULL);
    li_session_free(s);
    li_stats_finish(st);

    json_t *o2 = li_stats_json(st);
    json_t *t = method(o2, "threads");
    assert_int_equal(num(t, "requests"), 2);
    assert_int_equal(num(t, "replies"), 2);
    assert_int_equal(num(t, "errors"), 1);
    assert_int_equal(num(t, "latency_us.p50"), 100); /* 100, 300: rank ceil(1.0) = 1 */
    assert_int_equal(num(t, "latency_us.max"), 300);
    json_t *ev = method(o2, "stopped");
    assert_true(json_is_true(json_object_get(ev, "event")));
    assert_int_equal(num(ev, "notifications"), 1);
    json_t *p = json_object_get(o2, "pending");
    assert_int_equal(json_array_size(p), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(p, 0), "method")),
                        "continue");
    assert_int_equal(num(json_array_get(p, 0), "age_us"), 300);
    assert_true(json_is_true(json_object_get(o2, "complete")));
    json_decref(o2);
    li_stats_free(st);
}

/* A session file made of `body` after a header line. */
static const char *session_of(const char *name, const char *body)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"lsptap\":1,\"protocol\":\"lsp\"}\n", f);
    fputs(body, f);
    fclose(f);
    return path;
}

static json_t *ending_of(const char *path)
{
    struct li_stats *st;
    char err[512];
    if (li_stats_load(path, &st, NULL, err, sizeof err) != 0) fail_msg("%s", err);
    json_t *o = li_stats_json(st);
    json_t *e = json_incref(json_object_get(o, "ending"));
    json_decref(o);
    li_stats_free(st);
    return e;
}

static const char *how(json_t *e)
{
    return json_string_value(json_object_get(e, "how"));
}

static const char *said(json_t *e)
{
    return json_string_value(json_object_get(e, "summary"));
}

#define SUMMARY "{\"t_us\":900,\"event\":\"summary\",\"messages\":{\"c2s\":2,\"s2c\":1}}\n"

static void test_ending_normal_shutdown(void **state)
{
    (void)state;
    json_t *e = ending_of(session_of(
        "normal.jsonl",
        "{\"t_us\":1,\"dir\":\"c2s\",\"bytes\":50,\"kind\":\"request\",\"method\":\"shutdown\","
        "\"id\":9}\n"
        "{\"t_us\":5,\"dir\":\"s2c\",\"bytes\":50,\"kind\":\"response\",\"method\":\"shutdown\","
        "\"id\":9,\"latency_us\":4}\n"
        "{\"t_us\":6,\"dir\":\"c2s\",\"bytes\":40,\"kind\":\"notification\",\"method\":\"exit\"}\n"
        "{\"t_us\":7,\"event\":\"editor_eof\"}\n"
        "{\"t_us\":8,\"event\":\"exit\",\"status\":0,\"signal\":null}\n" SUMMARY));
    assert_string_equal(how(e), "normal");
    assert_string_equal(said(e), "Normal shutdown: the editor sent shutdown and exit; the server "
                                 "exited with status 0.");
    assert_true(json_is_false(json_object_get(e, "abnormal")));
    json_t *last = json_object_get(json_object_get(e, "last"), "c2s");
    assert_int_equal(json_array_size(last), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(last, 1), "method")),
                        "exit");
    json_decref(e);
}

static void test_ending_editor_gone_then_sigterm(void **state)
{
    (void)state;
    json_t *e = ending_of(session_of(
        "gone.jsonl",
        "{\"t_us\":1,\"dir\":\"c2s\",\"bytes\":50,\"kind\":\"request\",\"method\":\"x\",\"id\":1}\n"
        "{\"t_us\":7,\"event\":\"editor_eof\"}\n"
        "{\"t_us\":8,\"event\":\"terminate\",\"signal\":\"SIGTERM\",\"after_ms\":2000}\n"
        "{\"t_us\":9,\"event\":\"exit\",\"status\":0,\"signal\":15,\"signal_name\":\"Terminated\"}"
        "\n"
        "{\"t_us\":10,\"event\":\"pending\",\"stream\":\"c2s\",\"method\":\"x\",\"id\":1,"
        "\"age_us\":9,\"cancelled\":false}\n" SUMMARY));
    assert_string_equal(how(e), "editor_gone");
    assert_string_equal(said(e), "The editor went away (it closed its end without shutdown); the "
                                 "server did not exit by itself, lsptap sent it SIGTERM, and it "
                                 "was killed by signal 15 (Terminated).");
    assert_int_equal(json_integer_value(json_object_get(e, "pending")), 1);
    json_decref(e);
}

/* shutdown and exit sent, but the server had to be killed: still the
 * editor's ending, not a crash, and not clean. */
static void test_ending_exit_then_sigkill(void **state)
{
    (void)state;
    json_t *e = ending_of(session_of(
        "stuck.jsonl",
        "{\"t_us\":1,\"dir\":\"c2s\",\"bytes\":50,\"kind\":\"request\",\"method\":\"shutdown\","
        "\"id\":9}\n"
        "{\"t_us\":6,\"dir\":\"c2s\",\"bytes\":40,\"kind\":\"notification\",\"method\":\"exit\"}\n"
        "{\"t_us\":7,\"event\":\"editor_eof\"}\n"
        "{\"t_us\":8,\"event\":\"terminate\",\"signal\":\"SIGKILL\",\"after_ms\":2000}\n"
        "{\"t_us\":9,\"event\":\"exit\",\"status\":0,\"signal\":9,\"signal_name\":\"Killed\"}"
        "\n" SUMMARY));
    assert_string_equal(how(e), "normal");
    assert_true(json_is_true(json_object_get(e, "abnormal")));
    assert_string_equal(said(e), "Shutdown: the editor sent shutdown and exit, but the server did "
                                 "not exit by itself; lsptap sent it SIGKILL, and it was killed "
                                 "by signal 9 (Killed).");
    json_decref(e);
    e = ending_of(session_of(
        "noexit.jsonl", "{\"t_us\":1,\"dir\":\"c2s\",\"bytes\":50,\"kind\":\"request\",\"method\":"
                        "\"shutdown\",\"id\":9}\n"
                        "{\"t_us\":7,\"event\":\"editor_eof\"}\n"
                        "{\"t_us\":9,\"event\":\"exit\",\"status\":1,\"signal\":null}\n" SUMMARY));
    assert_string_equal(how(e), "editor_gone");
    assert_string_equal(said(e), "The editor went away (it closed its end after shutdown, without "
                                 "exit); the server then exited with status 1.");
    json_decref(e);
}

static void test_ending_server_crash_keeps_stderr_tail(void **state)
{
    (void)state;
    char body[4096], tail[2048] = "";
    for (int i = 1; i <= 25; i++)
        snprintf(tail + strlen(tail), sizeof tail - strlen(tail), "line %d\\n", i);
    snprintf(body, sizeof body,
             "{\"t_us\":1,\"dir\":\"c2s\",\"bytes\":50,\"kind\":\"request\",\"method\":\"x\","
             "\"id\":1}\n"
             "{\"t_us\":9,\"event\":\"exit\",\"status\":2,\"signal\":null}\n"
             "{\"t_us\":900,\"event\":\"summary\",\"stderr_tail\":\"panic: boom\\n%s\"}\n",
             tail);
    json_t *e = ending_of(session_of("crash2.jsonl", body));
    assert_string_equal(how(e), "server_exited");
    assert_string_equal(said(e),
                        "The server exited with status 2 while the editor was still connected.");
    assert_true(json_is_true(json_object_get(e, "abnormal")));
    json_t *lines = json_object_get(e, "stderr_tail");
    assert_int_equal(json_array_size(lines), 20);
    assert_string_equal(json_string_value(json_array_get(lines, 0)), "line 6");
    assert_string_equal(json_string_value(json_array_get(lines, 19)), "line 25");
    json_decref(e);

    e = ending_of(session_of("short-tail.jsonl",
                             "{\"t_us\":9,\"event\":\"exit\",\"status\":0,\"signal\":9}\n"
                             "{\"t_us\":900,\"event\":\"summary\",\"stderr_tail\":\"only\"}\n"));
    assert_string_equal(how(e), "server_killed");
    lines = json_object_get(e, "stderr_tail");
    assert_int_equal(json_array_size(lines), 1);
    assert_string_equal(json_string_value(json_array_get(lines, 0)), "only");
    json_decref(e);
}

static void test_ending_unfinished_and_spawn_failed(void **state)
{
    (void)state;
    json_t *e = ending_of(session_of(
        "unfinished.jsonl",
        "{\"t_us\":1,\"dir\":\"c2s\",\"bytes\":50,\"kind\":\"request\",\"method\":\"x\",\"id\":1}\n"
        "{\"t_us\":2,\"dir\":\"s2c\",\"by"));
    assert_string_equal(how(e), "unfinished");
    assert_string_equal(said(e), "The session file ends without a summary: lsptap itself was "
                                 "killed or crashed.");
    json_decref(e);
    /* eglot's ending: shutdown, its reply, exit, then SIGKILL to lsptap. */
    e = ending_of(session_of(
        "eglot.jsonl",
        "{\"t_us\":1,\"dir\":\"c2s\",\"bytes\":50,\"kind\":\"request\",\"method\":\"shutdown\","
        "\"id\":9}\n"
        "{\"t_us\":2,\"dir\":\"s2c\",\"bytes\":40,\"kind\":\"response\",\"method\":\"shutdown\","
        "\"id\":9,\"latency_us\":1}\n"
        "{\"t_us\":3,\"dir\":\"c2s\",\"bytes\":40,\"kind\":\"notification\",\"method\":\"exit\"}"
        "\n"));
    assert_string_equal(how(e), "killed_after_exit");
    assert_true(json_is_false(json_object_get(e, "abnormal")));
    assert_string_equal(said(e), "Killed right after a clean ending: the editor sent shutdown and "
                                 "exit, then lsptap was killed before it could write the summary "
                                 "(as editors that kill the server's process group after exit "
                                 "do); every message relayed is in the file.");
    json_decref(e);
    e = ending_of(session_of("nospawn.jsonl",
                             "{\"t_us\":1,\"event\":\"spawn_failed\",\"error\":\"no such file or "
                             "directory\"}\n" SUMMARY));
    assert_string_equal(how(e), "spawn_failed");
    assert_string_equal(said(e), "The server could not be started: no such file or directory.");
    json_decref(e);
}

/* Two sessions make one report: counts add up, latencies are pooled. */
static void test_merge_sessions(void **state)
{
    (void)state;
    struct li_stats *a, *b;
    char err[512];
    assert_int_equal(li_stats_load(fixture, &a, NULL, err, sizeof err), 0);
    const char *crash = variant("merge-crash.jsonl", 36, NULL, "");
    assert_int_equal(li_stats_load(crash, &b, NULL, err, sizeof err), 0);
    struct li_stats *parts[] = {a, b};
    struct li_stats *m = li_stats_merge(parts, 2);
    li_stats_free(a); /* the merged report does not depend on its parts */
    li_stats_free(b);
    json_t *o = li_stats_json(m);
    json_t *h = method(o, "textDocument/hover");
    assert_int_equal(num(h, "requests"), 20);
    assert_int_equal(num(h, "latency_us.count"), 20);
    assert_int_equal(num(h, "latency_us.p50"), 500); /* 100,100,...,1000,1000: rank 10 */
    assert_int_equal(num(h, "latency_us.p90"), 900); /* rank 18 */
    assert_int_equal(num(o, "messages.c2s"), 38);
    json_t *p = json_object_get(o, "pending");
    assert_int_equal(json_array_size(p), 2);
    assert_non_null(strstr(json_string_value(json_object_get(json_array_get(p, 1), "session")),
                           "merge-crash.jsonl"));
    json_t *sessions = json_object_get(o, "sessions");
    assert_int_equal(json_array_size(sessions), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(sessions, 1), "ended")),
                        "unfinished");
    assert_true(json_is_false(json_object_get(o, "complete")));
    json_decref(o);

    char *text = printed(m);
    assert_non_null(strstr(text, "session  2 sessions\n"));
    assert_non_null(strstr(text, "merge-crash.jsonl: 34 messages, 400.0ms; The session file ends "
                                 "without a summary"));
    assert_non_null(strstr(text, "CANCELLED  SESSION\n"));
    free(text);
    li_stats_free(m);
}

/* A summary that counts dropped lines is a warning, in the text and the
 * JSON: the pending list and the counts cannot be trusted in full. */
static void test_dropped_lines_warn(void **state)
{
    (void)state;
    const char *path = session_of(
        "dropped.jsonl",
        "{\"t_us\":1,\"dir\":\"c2s\",\"bytes\":50,\"kind\":\"request\",\"method\":\"x\",\"id\":1}\n"
        "{\"t_us\":900,\"event\":\"summary\",\"messages\":{\"c2s\":3,\"s2c\":2},\"pending\":0,"
        "\"dropped_lines\":3}\n");
    struct li_stats *st;
    char err[256];
    assert_int_equal(li_stats_load(path, &st, NULL, err, sizeof err), 0);
    json_t *o = li_stats_json(st);
    char *w = json_dumps(json_object_get(o, "warnings"), 0);
    assert_non_null(strstr(w, "3 session lines were dropped while recording"));
    free(w);
    json_decref(o);
    char *text = printed(st);
    assert_non_null(strstr(text, "note: 3 session lines were dropped"));
    free(text);
    li_stats_free(st);
}

/* Keep-alive's events (docs/keep-alive.md) are shown by the table and kept
 * in the JSON; handshake supervision's `replayed` (no documents) is not. */
static void test_keepalive_events(void **state)
{
    (void)state;
    const char *path = variant(
        "kept.jsonl", 3,
        "{\"t_us\":5,\"event\":\"replayed\",\"messages\":3,\"bytes\":900}\n"
        "{\"t_us\":10,\"event\":\"server_lost\",\"why\":\"the connection to h:1 dropped\","
        "\"documents\":2,\"inflight\":1,\"pending_s2c\":0,\"losses\":1}\n"
        "{\"t_us\":20,\"event\":\"reconnect\",\"target\":\"h:1\",\"attempts\":3,\"ms\":240}\n"
        "{\"t_us\":30,\"event\":\"replayed\",\"bodies\":4,\"documents\":2,\"resent\":1,"
        "\"failed\":0,\"cancelled\":0,\"forgotten\":0,\"held\":0,\"ms\":260}\n"
        "{\"t_us\":40,\"event\":\"crash_loop\",\"why\":\"lost too often\",\"losses\":6,"
        "\"window_s\":300,\"inflight\":[],\"last_messages\":[]}\n",
        "");
    struct li_stats *st;
    char err[256];
    assert_int_equal(li_stats_load(path, &st, NULL, err, sizeof err), 0);
    json_t *o = li_stats_json(st);
    assert_int_equal(json_array_size(json_object_get(o, "keepalive")), 4);
    json_decref(o);
    char *text = printed(st);
    assert_non_null(strstr(text,
                           "kept     lost: the connection to h:1 dropped (2 documents open, "
                           "1 requests in flight)\n"
                           "         reconnected after 240 ms, 3 attempts\n"
                           "         replayed 2 documents; 1 requests resent, 0 answered with "
                           "an error, 0 cancelled; back after 260 ms\n"
                           "         gave up: lost too often\n"));
    free(text);
    li_stats_free(st);
}

/* A name with a control byte is printed escaped (\x1b: four columns) and
 * "é" takes one column for its two bytes: the table pads by the columns of
 * what it prints, so the counts line up under REQ. */
static void test_columns_hold_for_escaped_names(void **state)
{
    (void)state;
    const char *path = session_of(
        "names.jsonl",
        "{\"t_us\":1,\"dir\":\"c2s\",\"bytes\":50,\"kind\":\"request\",\"method\":\"caf\\u00e9\","
        "\"id\":1}\n"
        "{\"t_us\":2,\"dir\":\"c2s\",\"bytes\":50,\"kind\":\"request\",\"method\":"
        "\"esc\\u001bape\",\"id\":\"\\u00e9\\u00e9\\u00e9\"}\n");
    struct li_stats *st;
    char err[256];
    assert_int_equal(li_stats_load(path, &st, NULL, err, sizeof err), 0);
    char *text = printed(st);
    /* The widest name, "esc\x1bape", is ten columns. */
    assert_non_null(strstr(text, "\nMETHOD        REQ "));
    assert_non_null(strstr(text, "\ncaf\xc3\xa9            1 "));
    assert_non_null(strstr(text, "\nesc\\x1bape      1 "));
    /* The pending table: methods to ten columns, ids to five ("éé" and its
     * quotes, the widest). */
    assert_non_null(strstr(text, "\nDIR  METHOD      ID     "));
    assert_non_null(strstr(text, "\nc2s  caf\xc3\xa9        1      "));
    assert_non_null(strstr(text, "\nc2s  esc\\x1bape  \"\xc3\xa9\xc3\xa9\xc3\xa9\"  "));
    free(text);
    li_stats_free(st);
}

/* A name holding a secret of the environment is shown with REDACTED in its
 * place, and the table is padded by what is shown: the widest name is
 * "x/REDACTED" (ten columns), not the 23 bytes of the name as recorded, and
 * the counts stay under REQ. */
static void test_columns_hold_for_redacted_names(void **state)
{
    (void)state;
    setenv("LSPTAP_TEST_TOKEN", "k7Qz93longsecretvalue", 1);
    const char *path = session_of(
        "redacted.jsonl",
        "{\"t_us\":1,\"dir\":\"c2s\",\"bytes\":50,\"kind\":\"request\",\"method\":\"short\","
        "\"id\":1}\n"
        "{\"t_us\":2,\"dir\":\"c2s\",\"bytes\":50,\"kind\":\"request\",\"method\":"
        "\"x/k7Qz93longsecretvalue\",\"id\":\"k7Qz93longsecretvalue\"}\n");
    struct li_stats *st;
    char err[256];
    assert_int_equal(li_stats_load(path, &st, NULL, err, sizeof err), 0);
    char *text = printed(st);
    unsetenv("LSPTAP_TEST_TOKEN");
    assert_null(strstr(text, "k7Qz93"));
    assert_non_null(strstr(text, "\nMETHOD        REQ "));
    assert_non_null(strstr(text, "\nshort           1 "));
    assert_non_null(strstr(text, "\nx/REDACTED      1 "));
    /* The pending table: methods to ten columns, ids to ten ("REDACTED" and
     * its quotes). */
    assert_non_null(strstr(text, "\nDIR  METHOD      ID          "));
    assert_non_null(strstr(text, "\nc2s  short       1           "));
    assert_non_null(strstr(text, "\nc2s  x/REDACTED  \"REDACTED\"  "));
    free(text);
    li_stats_free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_percentile_nearest_rank),
        cmocka_unit_test(test_fixture_report),
        cmocka_unit_test(test_truncated_last_line),
        cmocka_unit_test(test_malformed_middle_line),
        cmocka_unit_test(test_not_a_session),
        cmocka_unit_test(test_session_lines_to_stats),
        cmocka_unit_test(test_merge_sessions),
        cmocka_unit_test(test_ending_normal_shutdown),
        cmocka_unit_test(test_ending_editor_gone_then_sigterm),
        cmocka_unit_test(test_ending_exit_then_sigkill),
        cmocka_unit_test(test_ending_server_crash_keeps_stderr_tail),
        cmocka_unit_test(test_ending_unfinished_and_spawn_failed),
        cmocka_unit_test(test_dropped_lines_warn),
        cmocka_unit_test(test_keepalive_events),
        cmocka_unit_test(test_columns_hold_for_escaped_names),
        cmocka_unit_test(test_columns_hold_for_redacted_names),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
