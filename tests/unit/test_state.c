/* li_state: the editor's state a restarted server is rebuilt from. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "inspect/li_session.h"
#include "inspect/li_state.h"

static struct li_state_info info_of(struct li_state *st);

/* What li_state_feed returned must say what li_state_info says. */
static void assert_feed_rc(struct li_state *st, int rc)
{
    assert_int_equal(rc, info_of(st).untrackable ? -ENOTRECOVERABLE : 0);
}

/* Feeds one whole message, classified as li_session would. */
static void feed(struct li_state *st, enum li_dir dir, const char *fmt, ...)
{
    char body[8192];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    assert_true(n > 0 && (size_t)n < sizeof body);
    struct li_msg m;
    assert_int_equal(li_classify(LI_LSP, body, (size_t)n, 0, &m), 0);
    assert_feed_rc(st, li_state_feed(st, dir, &m, body, (size_t)n));
    assert_int_equal(li_state_check(st), 0);
}

/* A message over the inspection cap: only its first `keep` bytes were
 * classified, and no body is passed. */
static void feed_over(struct li_state *st, enum li_dir dir, const char *body, size_t keep)
{
    struct li_msg m;
    li_classify(LI_LSP, body, keep, 1, &m);
    assert_feed_rc(st, li_state_feed(st, dir, &m, NULL, 0));
    assert_int_equal(li_state_check(st), 0);
}

#define URI "file:///w/a.go"

static void open_doc(struct li_state *st, const char *text_json, int version)
{
    feed(st, LI_C2S,
         "{\"jsonrpc\":\"2.0\",\"method\":\"textDocument/didOpen\",\"params\":{\"textDocument\":"
         "{\"uri\":\"" URI "\",\"languageId\":\"go\",\"version\":%d,\"text\":%s}}}",
         version, text_json);
}

/* One incremental change of URI: range (l1,c1)-(l2,c2) replaced by text. */
static void edit(struct li_state *st, int version, int l1, int c1, int l2, int c2,
                 const char *text_json)
{
    feed(st, LI_C2S,
         "{\"jsonrpc\":\"2.0\",\"method\":\"textDocument/didChange\",\"params\":{\"textDocument\":"
         "{\"uri\":\"" URI "\",\"version\":%d},\"contentChanges\":[{\"range\":{\"start\":"
         "{\"line\":%d,\"character\":%d},\"end\":{\"line\":%d,\"character\":%d}},\"text\":%s}]}}",
         version, l1, c1, l2, c2, text_json);
}

static void assert_text(struct li_state *st, const char *want)
{
    struct li_state_doc d;
    assert_int_equal(li_state_doc(st, URI, &d), 0);
    if (d.len != strlen(want)) print_error("text is \"%.*s\"\n", (int)d.len, d.text);
    assert_int_equal(d.len, strlen(want));
    assert_memory_equal(d.text, want, d.len);
}

static void initialize(struct li_state *st, const char *encodings)
{
    feed(st, LI_C2S,
         "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"processId\":1,"
         "\"rootUri\":\"file:///w\",\"capabilities\":{\"general\":{\"positionEncodings\":%s}}}}",
         encodings);
}

static void initialize_result(struct li_state *st, const char *chosen)
{
    if (chosen)
        feed(st, LI_S2C,
             "{\"jsonrpc\":\"2.0\",\"id\":0,\"result\":{\"capabilities\":{\"positionEncoding\":"
             "\"%s\"}}}",
             chosen);
    else
        feed(st, LI_S2C, "{\"jsonrpc\":\"2.0\",\"id\":0,\"result\":{\"capabilities\":{}}}");
}

/* The configuration answers as "ITEMS=RESULT;" for each. */
static const char *answers_text(struct li_state *st)
{
    static char out[8192];
    const struct li_state_answer *v;
    size_t n = li_state_config_answers(st, &v), o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++)
        o += (size_t)snprintf(out + o, sizeof out - o, "%s=%s;", v[i].items, v[i].result);
    return out;
}

/* The folders as "URI NAME;" for each. */
static const char *folders_text(struct li_state *st)
{
    static char out[1024];
    const struct li_state_folder *v;
    size_t n = li_state_folders(st, &v), o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++)
        o += (size_t)snprintf(out + o, sizeof out - o, "%s %s;", v[i].uri, v[i].name);
    return out;
}

#define ITEMS(s) (s), strlen(s)

static struct li_state_info info_of(struct li_state *st)
{
    struct li_state_info i;
    li_state_info(st, &i);
    return i;
}

static void test_incremental_edits(void **state)
{
    (void)state;
    struct li_state *st = li_state_new(0);
    open_doc(st, "\"package a\\n\\nfunc f() {}\\n\"", 1);
    edit(st, 2, 2, 10, 2, 10, "\"return \""); /* insert */
    assert_text(st, "package a\n\nfunc f() {return }\n");
    edit(st, 3, 2, 10, 2, 17, "\"\""); /* delete */
    assert_text(st, "package a\n\nfunc f() {}\n");
    edit(st, 4, 0, 8, 0, 9, "\"main\""); /* replace */
    assert_text(st, "package main\n\nfunc f() {}\n");
    edit(st, 5, 0, 7, 2, 4, "\" b\\n\\nvar\""); /* across lines */
    assert_text(st, "package b\n\nvar f() {}\n");
    edit(st, 6, 2, 9, 2, 9, "\"\\n\\tx := 1\\n\""); /* inserts lines */
    assert_text(st, "package b\n\nvar f() {\n\tx := 1\n}\n");
    /* Several changes in one didChange apply in order, each on the text the
     * one before left. */
    feed(st, LI_C2S,
         "{\"jsonrpc\":\"2.0\",\"method\":\"textDocument/didChange\",\"params\":{\"textDocument\":"
         "{\"uri\":\"" URI "\",\"version\":7},\"contentChanges\":["
         "{\"range\":{\"start\":{\"line\":3,\"character\":6},\"end\":{\"line\":3,\"character\":7}},"
         "\"text\":\"2\"},"
         "{\"range\":{\"start\":{\"line\":0,\"character\":0},\"end\":{\"line\":2,\"character\":0}},"
         "\"text\":\"\"},"
         "{\"range\":{\"start\":{\"line\":0,\"character\":0},\"end\":{\"line\":0,\"character\":3}},"
         "\"text\":\"func\"}]}}");
    assert_text(st, "func f() {\n\tx := 2\n}\n");
    /* A character past the line's end is the line's end; a line past the
     * last is the end of the text. */
    edit(st, 8, 0, 99, 0, 99, "\"//\"");
    edit(st, 9, 40, 0, 40, 0, "\"end\"");
    assert_text(st, "func f() {//\n\tx := 2\n}\nend");
    /* An end before the start deletes nothing. */
    edit(st, 10, 1, 2, 0, 0, "\"y\"");
    assert_text(st, "func f() {//\n\txy := 2\n}\nend");
    struct li_state_doc d;
    li_state_doc(st, URI, &d);
    assert_int_equal(d.version, 10);
    assert_string_equal(d.language, "go");
    assert_int_equal(info_of(st).out_of_order, 0);
    li_state_free(st);
}

static void test_utf16_astral(void **state)
{
    (void)state;
    struct li_state *st = li_state_new(0);
    initialize(st, "[\"utf-16\"]");
    initialize_result(st, NULL);
    assert_int_equal(info_of(st).enc, LI_ENC_UTF16);
    /* "a😀b𝄞c": 😀 (U+1F600) and 𝄞 (U+1D11E) are two UTF-16 units each,
     * sent once raw and once as escaped surrogate pairs. */
    open_doc(st,
             "\"a\xF0\x9F\x98\x80"
             "b\\ud834\\udd1ec\\nz\"",
             1);
    edit(st, 2, 0, 3, 0, 3, "\"X\""); /* after the emoji */
    assert_text(st, "a\xF0\x9F\x98\x80Xb\xF0\x9D\x84\x9E"
                    "c\nz");
    edit(st, 3, 0, 5, 0, 7, "\"\""); /* delete 𝄞 */
    assert_text(st, "a\xF0\x9F\x98\x80Xbc\nz");
    /* Inside the surrogate pair: the emoji's start. */
    edit(st, 4, 0, 2, 0, 2, "\"|\"");
    assert_text(st, "a|\xF0\x9F\x98\x80Xbc\nz");
    edit(st, 5, 0, 2, 0, 4, "\"\\ud83d\\ude00\\ud83d\\ude00\""); /* 😀 by 😀😀 */
    assert_text(st, "a|\xF0\x9F\x98\x80\xF0\x9F\x98\x80Xbc\nz");
    edit(st, 6, 0, 6, 0, 7, "\"Y\"");
    assert_text(st, "a|\xF0\x9F\x98\x80\xF0\x9F\x98\x80Ybc\nz");
    li_state_free(st);
}

static void test_utf8_negotiated(void **state)
{
    (void)state;
    struct li_state *st = li_state_new(0);
    initialize(st, "[\"utf-8\",\"utf-16\"]");
    initialize_result(st, "utf-8");
    assert_int_equal(info_of(st).enc, LI_ENC_UTF8);
    open_doc(st, "\"\xC3\xA9\xF0\x9F\x98\x80x\"", 1); /* é (2 bytes), 😀 (4) */
    edit(st, 2, 0, 6, 0, 7, "\"y\"");
    assert_text(st, "\xC3\xA9\xF0\x9F\x98\x80y");
    edit(st, 3, 0, 2, 0, 6, "\"\""); /* the emoji's 4 bytes */
    assert_text(st, "\xC3\xA9y");
    edit(st, 4, 0, 1, 0, 1, "\"|\""); /* inside é: before it */
    assert_text(st, "|\xC3\xA9y");
    li_state_free(st);
}

static void test_utf32_negotiated(void **state)
{
    (void)state;
    struct li_state *st = li_state_new(0);
    initialize(st, "[\"utf-32\"]");
    initialize_result(st, "utf-32");
    assert_int_equal(info_of(st).enc, LI_ENC_UTF32);
    open_doc(st, "\"\xF0\x9F\x98\x80\xF0\x9D\x84\x9Ex\"", 1);
    edit(st, 2, 0, 1, 0, 2, "\"-\""); /* 𝄞 is one code point */
    assert_text(st, "\xF0\x9F\x98\x80-x");
    li_state_free(st);
}

static void test_encoding_not_offered(void **state)
{
    (void)state;
    struct li_state *st = li_state_new(0);
    initialize(st, "[\"utf-16\"]");
    initialize_result(st, "utf-8");
    struct li_state_info i = info_of(st);
    assert_true(i.untrackable);
    assert_non_null(strstr(i.reason, "utf-8"));
    li_state_free(st);
}

static void test_crlf_and_cr(void **state)
{
    (void)state;
    struct li_state *st = li_state_new(0);
    open_doc(st, "\"one\\r\\ntwo\\r\\nthree\\rfour\\n\"", 1);
    edit(st, 2, 1, 99, 1, 99, "\"!\""); /* past the end: before \r\n */
    assert_text(st, "one\r\ntwo!\r\nthree\rfour\n");
    edit(st, 3, 3, 0, 3, 4, "\"FOUR\""); /* after a lone \r */
    assert_text(st, "one\r\ntwo!\r\nthree\rFOUR\n");
    edit(st, 4, 0, 3, 1, 0, "\" \""); /* the \r\n break itself */
    assert_text(st, "one two!\r\nthree\rFOUR\n");
    edit(st, 5, 1, 5, 1, 5, "\"\\r\\n\""); /* a new CRLF line */
    assert_text(st, "one two!\r\nthree\r\n\rFOUR\n");
    edit(st, 6, 3, 0, 3, 0, "\"4:\"");
    assert_text(st, "one two!\r\nthree\r\n\r4:FOUR\n");
    edit(st, 7, 4, 0, 4, 0, "\"eof\"");
    assert_text(st, "one two!\r\nthree\r\n\r4:FOUR\neof");
    li_state_free(st);
}

/* The tracker remembers where the last edited line starts. An edit before
 * that line, starting after a lone \r (a place it does not remember), must
 * not leave it pointing at the old offset. */
static void test_line_cache_after_lone_cr(void **state)
{
    (void)state;
    struct li_state *st = li_state_new(0);
    open_doc(st, "\"a\\rb\\nc\\nd\\ne\"", 1);
    edit(st, 2, 3, 0, 3, 0, "\"X\"");
    assert_text(st, "a\rb\nc\nXd\ne");
    edit(st, 3, 1, 0, 2, 0, "\"\"");
    assert_text(st, "a\rc\nXd\ne");
    edit(st, 4, 3, 0, 3, 0, "\"Y\"");
    assert_text(st, "a\rc\nXd\nYe");
    li_state_free(st);
}

static void test_out_of_order_versions(void **state)
{
    (void)state;
    struct li_state *st = li_state_new(0);
    open_doc(st, "\"abc\"", 5);
    edit(st, 3, 0, 0, 0, 0, "\"x\"");
    edit(st, 3, 0, 0, 0, 0, "\"y\"");
    assert_text(st, "yxabc");
    struct li_state_doc d;
    li_state_doc(st, URI, &d);
    assert_int_equal(d.version, 3);
    assert_int_equal(info_of(st).out_of_order, 2);
    edit(st, 4, 0, 0, 0, 1, "\"\"");
    assert_int_equal(info_of(st).out_of_order, 2);
    li_state_free(st);
}

static void test_full_replacement_and_close(void **state)
{
    (void)state;
    struct li_state *st = li_state_new(0);
    open_doc(st, "\"old\\ntext\"", 1);
    edit(st, 2, 1, 0, 1, 0, "\"x\""); /* moves the line cache to line 1 */
    feed(st, LI_C2S,
         "{\"jsonrpc\":\"2.0\",\"method\":\"textDocument/didChange\",\"params\":{\"textDocument\":"
         "{\"uri\":\"" URI "\",\"version\":3},\"contentChanges\":[{\"text\":\"new\"}]}}");
    assert_text(st, "new");
    edit(st, 4, 1, 0, 1, 0, "\"!\"");
    assert_text(st, "new!");
    assert_int_equal(info_of(st).documents, 1);
    size_t before = info_of(st).bytes;
    assert_true(before > 0);
    feed(st, LI_C2S,
         "{\"jsonrpc\":\"2.0\",\"method\":\"textDocument/didClose\",\"params\":{\"textDocument\":"
         "{\"uri\":\"" URI "\"}}}");
    struct li_state_doc d;
    assert_int_equal(li_state_doc(st, URI, &d), -ENOENT);
    assert_int_equal(info_of(st).documents, 0);
    assert_int_equal(info_of(st).bytes, 0);
    /* Changes and closes of a document that is not open are counted and
     * change nothing. */
    edit(st, 5, 0, 0, 0, 0, "\"x\"");
    feed(st, LI_C2S,
         "{\"jsonrpc\":\"2.0\",\"method\":\"textDocument/didClose\",\"params\":{\"textDocument\":"
         "{\"uri\":\"" URI "\"}}}");
    assert_int_equal(info_of(st).unknown_docs, 2);
    assert_false(info_of(st).untrackable);
    /* Opening an open document replaces it. */
    open_doc(st, "\"a\"", 1);
    open_doc(st, "\"b\"", 7);
    assert_text(st, "b");
    assert_int_equal(info_of(st).reopened, 1);
    assert_int_equal(info_of(st).documents, 1);
    li_state_free(st);
}

static void test_configuration_answers(void **state)
{
    (void)state;
    struct li_state *st = li_state_new(0);
    feed(st, LI_S2C,
         "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"workspace/configuration\",\"params\":"
         "{\"items\":[{\"section\":\"gopls\"}]}}");
    feed(st, LI_S2C,
         "{\"jsonrpc\":\"2.0\",\"id\":\"c1\",\"method\":\"workspace/configuration\",\"params\":"
         "{\"items\":[{\"section\":\"go\",\"scopeUri\":\"file:///w\"}]}}");
    assert_int_equal(info_of(st).pending_s2c, 2);
    /* "7" is not 7: no answer paired. */
    feed(st, LI_C2S, "{\"jsonrpc\":\"2.0\",\"id\":\"7\",\"result\":[{\"wrong\":true}]}");
    assert_string_equal(answers_text(st), "");
    feed(st, LI_C2S, "{\"jsonrpc\":\"2.0\",\"id\":\"c1\",\"result\":[{\"goroot\":\"/go\"}]}");
    feed(st, LI_C2S, "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":[{\"staticcheck\":true}]}");
    assert_int_equal(info_of(st).pending_s2c, 0);
    assert_string_equal(answers_text(st),
                        "[{\"section\":\"go\",\"scopeUri\":\"file:///w\"}]=[{\"goroot\":\"/go\"}];"
                        "[{\"section\":\"gopls\"}]=[{\"staticcheck\":true}];");
    /* Asked again, answered anew: the answer replaces the older one. */
    feed(st, LI_S2C,
         "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"workspace/configuration\",\"params\":"
         "{\"items\":[{\"section\":\"gopls\"}]}}");
    feed(st, LI_C2S, "{\"jsonrpc\":\"2.0\",\"id\":8,\"result\":[{\"staticcheck\":false}]}");
    const struct li_state_answer *a =
        li_state_config_answer(st, ITEMS("[{\"section\":\"gopls\"}]"));
    assert_non_null(a);
    assert_string_equal(a->result, "[{\"staticcheck\":false}]");
    assert_int_equal(a->result_len, strlen(a->result));
    assert_string_equal(answers_text(st),
                        "[{\"section\":\"go\",\"scopeUri\":\"file:///w\"}]=[{\"goroot\":\"/go\"}];"
                        "[{\"section\":\"gopls\"}]=[{\"staticcheck\":false}];");
    /* An error answer is not kept. */
    feed(st, LI_S2C,
         "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"workspace/configuration\",\"params\":"
         "{\"items\":[{\"section\":\"x\"}]}}");
    feed(st, LI_C2S,
         "{\"jsonrpc\":\"2.0\",\"id\":9,\"error\":{\"code\":-32603,\"message\":\"no\"}}");
    assert_null(li_state_config_answer(st, ITEMS("[{\"section\":\"x\"}]")));
    /* A request without items is answered for items null. */
    feed(st, LI_S2C, "{\"jsonrpc\":\"2.0\",\"id\":10,\"method\":\"workspace/configuration\"}");
    feed(st, LI_C2S, "{\"jsonrpc\":\"2.0\",\"id\":10,\"result\":[]}");
    assert_string_equal(li_state_config_answer(st, ITEMS("null"))->result, "[]");
    /* didChangeConfiguration: the last params, kept as sent. */
    feed(st, LI_C2S,
         "{\"jsonrpc\":\"2.0\",\"method\":\"workspace/didChangeConfiguration\",\"params\":"
         "{\"settings\":1}}");
    feed(st, LI_C2S,
         "{\"jsonrpc\":\"2.0\",\"method\":\"workspace/didChangeConfiguration\",\"params\":"
         "{ \"settings\" : null }}");
    initialize(st, "[]");
    struct li_state_replay r;
    assert_int_equal(li_state_replay(st, "1", &r), 0);
    assert_int_equal(r.n, 2);
    assert_string_equal(r.bodies[1],
                        "{\"jsonrpc\":\"2.0\",\"method\":\"workspace/"
                        "didChangeConfiguration\",\"params\":{ \"settings\" : null }}");
    li_state_replay_free(&r);
    li_state_free(st);
}

static void test_configuration_answers_limit(void **state)
{
    (void)state;
    struct li_state *st = li_state_new(0);
    for (int i = 0; i <= LI_STATE_MAX_ANSWERS; i++) {
        feed(st, LI_S2C,
             "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"workspace/configuration\",\"params\":"
             "{\"items\":[{\"section\":\"s%d\"}]}}",
             i, i);
        feed(st, LI_C2S, "{\"jsonrpc\":\"2.0\",\"id\":%d,\"result\":[%d]}", i, i);
    }
    const struct li_state_answer *v;
    assert_int_equal(li_state_config_answers(st, &v), LI_STATE_MAX_ANSWERS);
    assert_null(li_state_config_answer(st, ITEMS("[{\"section\":\"s0\"}]")));
    assert_string_equal(li_state_config_answer(st, ITEMS("[{\"section\":\"s1\"}]"))->result, "[1]");
    assert_false(info_of(st).untrackable);
    li_state_free(st);
}

static void test_workspace_folders(void **state)
{
    (void)state;
    struct li_state *st = li_state_new(0);
    /* rootUri alone gives one folder named by its last segment. */
    initialize(st, "[]");
    assert_string_equal(folders_text(st), "file:///w w;");
    feed(st, LI_C2S,
         "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"rootUri\":"
         "\"file:///a\",\"workspaceFolders\":[{\"uri\":\"file:///a\",\"name\":\"A\"},{\"uri\":"
         "\"file:///b\",\"name\":\"B\"}]}}");
    feed(st, LI_C2S, "{\"jsonrpc\":\"2.0\",\"method\":\"initialized\",\"params\":{}}");
    feed(st, LI_C2S,
         "{\"jsonrpc\":\"2.0\",\"method\":\"workspace/didChangeWorkspaceFolders\",\"params\":"
         "{\"event\":{\"added\":[{\"uri\":\"file:///c\",\"name\":\"C\"}],\"removed\":[{\"uri\":"
         "\"file:///a\",\"name\":\"A\"}]}}}");
    assert_string_equal(folders_text(st), "file:///b B;file:///c C;");
    struct li_state_replay r;
    assert_int_equal(li_state_replay(st, "1", &r), 0);
    assert_int_equal(r.n, 3);
    assert_string_equal(r.bodies[2],
                        "{\"jsonrpc\":\"2.0\",\"method\":\"workspace/didChangeWorkspaceFolders\","
                        "\"params\":{\"event\":{\"added\":[{\"uri\":\"file:///c\",\"name\":\"C\"}],"
                        "\"removed\":[{\"uri\":\"file:///a\",\"name\":\"A\"}]}}}");
    li_state_replay_free(&r);
    /* Back to the initial folders: nothing to replay for them. */
    feed(st, LI_C2S,
         "{\"jsonrpc\":\"2.0\",\"method\":\"workspace/didChangeWorkspaceFolders\",\"params\":"
         "{\"event\":{\"added\":[{\"uri\":\"file:///a\",\"name\":\"A\"}],\"removed\":[{\"uri\":"
         "\"file:///c\",\"name\":\"C\"}]}}}");
    assert_int_equal(li_state_replay(st, "1", &r), 0);
    assert_int_equal(r.n, 2);
    li_state_replay_free(&r);
    li_state_free(st);
}

/* Hundreds of documents: each found again after the table grew, closes
 * in the middle, and the replay reopens the rest oldest first. */
static void test_many_documents(void **state)
{
    (void)state;
    struct li_state *st = li_state_new(0);
    initialize(st, "[]");
    for (int i = 0; i < 300; i++)
        feed(st, LI_C2S,
             "{\"jsonrpc\":\"2.0\",\"method\":\"textDocument/didOpen\",\"params\":{"
             "\"textDocument\":{\"uri\":\"file:///w/%d.go\",\"languageId\":\"go\",\"version\":1,"
             "\"text\":\"%d\"}}}",
             i, i);
    for (int i = 0; i < 300; i += 2)
        feed(st, LI_C2S,
             "{\"jsonrpc\":\"2.0\",\"method\":\"textDocument/didClose\",\"params\":{"
             "\"textDocument\":{\"uri\":\"file:///w/%d.go\"}}}",
             i);
    assert_int_equal(info_of(st).documents, 150);
    struct li_state_doc d;
    assert_int_equal(li_state_doc(st, "file:///w/0.go", &d), -ENOENT);
    assert_int_equal(li_state_doc(st, "file:///w/299.go", &d), 0);
    assert_memory_equal(d.text, "299", 3);
    struct li_state_replay r;
    assert_int_equal(li_state_replay(st, "1", &r), 0);
    assert_int_equal(r.n, 151);
    assert_non_null(strstr(r.bodies[1], "\"uri\":\"file:///w/1.go\""));
    assert_non_null(strstr(r.bodies[150], "\"uri\":\"file:///w/299.go\""));
    li_state_replay_free(&r);
    li_state_free(st);
}

static void test_folder_limit(void **state)
{
    (void)state;
    struct li_state *st = li_state_new(0);
    initialize(st, "[]");
    for (int i = 0; i < LI_STATE_MAX_FOLDERS && !info_of(st).untrackable; i++)
        feed(st, LI_C2S,
             "{\"jsonrpc\":\"2.0\",\"method\":\"workspace/didChangeWorkspaceFolders\",\"params\":"
             "{\"event\":{\"added\":[{\"uri\":\"file:///f%d\",\"name\":\"f\"}],\"removed\":[]}}}",
             i);
    assert_true(info_of(st).untrackable);
    assert_non_null(strstr(info_of(st).reason, "more than 1024 workspace folders"));
    li_state_free(st);
}

static void test_memory_cap(void **state)
{
    (void)state;
    struct li_state *st = li_state_new(1024);
    assert_int_equal(info_of(st).max_bytes, 1024);
    initialize(st, "[]");
    open_doc(st, "\"small\"", 1);
    assert_false(info_of(st).untrackable);
    /* Edits that grow the text past the cap. */
    char big[400];
    memset(big, 'x', sizeof big - 1);
    big[0] = '"';
    big[sizeof big - 2] = '"';
    big[sizeof big - 1] = '\0';
    int v = 2;
    while (!info_of(st).untrackable && v < 10)
        edit(st, v++, 0, 0, 0, 0, big);
    struct li_state_info i = info_of(st);
    assert_true(i.untrackable);
    assert_non_null(strstr(i.reason, "cap of 1024 bytes"));
    assert_int_equal(i.bytes, 0);
    assert_int_equal(i.documents, 0);
    /* Nothing more is tracked, and there is nothing to replay. */
    open_doc(st, "\"again\"", 1);
    assert_int_equal(info_of(st).documents, 0);
    struct li_state_replay r;
    assert_int_equal(li_state_replay(st, "1", &r), -ENOTRECOVERABLE);
    li_state_free(st);

    /* One didOpen over the cap at once. */
    st = li_state_new(256);
    open_doc(st, big, 1);
    assert_true(info_of(st).untrackable);
    li_state_free(st);
}

static void test_inflight_requests(void **state)
{
    (void)state;
    struct li_state *st = li_state_new(0);
    const char *hover = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"textDocument/hover\","
                        "\"params\":{\"position\":{\"line\":0,\"character\":0}}}";
    feed(st, LI_C2S, "%s", hover);
    feed(st, LI_C2S,
         "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"workspace/executeCommand\",\"params\":"
         "{\"command\":\"gopls.tidy\"}}");
    feed(st, LI_C2S, "{\"jsonrpc\":\"2.0\",\"id\":\"r3\",\"method\":\"textDocument/rename\"}");
    feed(st, LI_C2S, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"gopls/unknownThing\"}");
    feed(st, LI_C2S, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"textDocument/completion\"}");
    feed(st, LI_C2S,
         "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"textDocument/willSaveWaitUntil\"}");
    assert_int_equal(info_of(st).inflight, 6);
    /* Answered: gone. Cancelled: marked, gone once answered. */
    feed(st, LI_S2C, "{\"jsonrpc\":\"2.0\",\"id\":4,\"result\":null}");
    feed(st, LI_C2S, "{\"jsonrpc\":\"2.0\",\"method\":\"$/cancelRequest\",\"params\":{\"id\":5}}");
    feed(st, LI_C2S, "{\"jsonrpc\":\"2.0\",\"method\":\"$/cancelRequest\",\"params\":{\"id\":6}}");
    feed(st, LI_S2C,
         "{\"jsonrpc\":\"2.0\",\"id\":6,\"error\":{\"code\":-32800,\"message\":\"cancelled\"}}");
    /* A reply to an id that is not in flight changes nothing. */
    feed(st, LI_S2C, "{\"jsonrpc\":\"2.0\",\"id\":99,\"result\":null}");
    /* A request over the inspection cap is tracked, but not for resending. */
    const char *huge = "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"textDocument/hover\",\"params\":"
                       "{\"x\":\"...";
    feed_over(st, LI_C2S, huge, strlen(huge));
    initialize(st, "[]");
    struct li_state_replay r;
    assert_int_equal(li_state_replay(st, "1", &r), 0);
    assert_int_equal(r.n_inflight, 5);
    const char *ids[] = {"1", "2", "\"r3\"", "5", "7"};
    const int safe[] = {1, 0, 1, 1, 0}, cancelled[] = {0, 0, 0, 1, 0};
    for (size_t i = 0; i < 5; i++) {
        assert_string_equal(r.inflight[i].id, ids[i]);
        assert_int_equal(r.inflight[i].safe, safe[i]);
        assert_int_equal(r.inflight[i].cancelled, cancelled[i]);
    }
    assert_string_equal(r.inflight[0].method, "textDocument/hover");
    assert_string_equal(r.inflight[0].body, hover);
    assert_int_equal(r.inflight[0].len, strlen(hover));
    assert_null(r.inflight[4].body);
    li_state_replay_free(&r);
    li_state_free(st);
}

static void test_safe_methods(void **state)
{
    (void)state;
    const char *safe[] = {"textDocument/hover",
                          "textDocument/definition",
                          "textDocument/completion",
                          "textDocument/documentSymbol",
                          "textDocument/semanticTokens/full",
                          "textDocument/codeLens",
                          "textDocument/foldingRange",
                          "textDocument/rename",
                          "textDocument/codeAction",
                          "workspace/symbol"};
    const char *unsafe[] = {"workspace/executeCommand",
                            "textDocument/willSaveWaitUntil",
                            "shutdown",
                            "initialize",
                            "codeAction/resolve",
                            "workspace/willRenameFiles",
                            "gopls/anything",
                            "",
                            "TEXTDOCUMENT/HOVER"};
    for (size_t i = 0; i < sizeof safe / sizeof *safe; i++)
        assert_int_equal(li_state_method_safe(safe[i]), 1);
    for (size_t i = 0; i < sizeof unsafe / sizeof *unsafe; i++)
        assert_int_equal(li_state_method_safe(unsafe[i]), 0);
}

static void test_server_requests(void **state)
{
    (void)state;
    struct li_state *st = li_state_new(0);
    feed(st, LI_S2C,
         "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"window/workDoneProgress/create\","
         "\"params\":{\"token\":\"t\"}}");
    feed(st, LI_S2C,
         "{\"jsonrpc\":\"2.0\",\"id\":\"s2\",\"method\":\"client/registerCapability\","
         "\"params\":{\"registrations\":[]}}");
    feed(st, LI_S2C,
         "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"window/showMessageRequest\",\"params\":{}}");
    feed(st, LI_C2S, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":null}");
    feed(st, LI_S2C, "{\"jsonrpc\":\"2.0\",\"method\":\"$/cancelRequest\",\"params\":{\"id\":3}}");
    assert_int_equal(info_of(st).pending_s2c, 2);
    initialize(st, "[]");
    struct li_state_replay r;
    assert_int_equal(li_state_replay(st, "1", &r), 0);
    assert_int_equal(r.n_s2c, 2);
    assert_string_equal(r.s2c_ids[0], "\"s2\"");
    assert_string_equal(r.s2c_ids[1], "3");
    li_state_replay_free(&r);
    li_state_free(st);
}

static void test_over_inspection_cap(void **state)
{
    (void)state;
    /* A didChange whose body was not kept: the text is unknown from now. */
    struct li_state *st = li_state_new(0);
    open_doc(st, "\"abc\"", 1);
    const char *change = "{\"jsonrpc\":\"2.0\",\"method\":\"textDocument/didChange\",\"params\":"
                         "{\"textDocument\":{\"uri\":\"" URI "\",\"version\":2},\"contentCh";
    feed_over(st, LI_C2S, change, strlen(change));
    struct li_state_info i = info_of(st);
    assert_true(i.untrackable);
    assert_non_null(strstr(i.reason, "textDocument/didChange"));
    assert_non_null(strstr(i.reason, "inspection cap"));
    li_state_free(st);

    /* A large reply whose id shows early removes its request; large server
     * notifications and replies change nothing else. */
    st = li_state_new(0);
    feed(st, LI_C2S, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"textDocument/completion\"}");
    const char *reply = "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"items\":[";
    feed_over(st, LI_S2C, reply, strlen(reply));
    const char *note = "{\"jsonrpc\":\"2.0\",\"method\":\"textDocument/publishDiagnostics\"";
    feed_over(st, LI_S2C, note, strlen(note));
    i = info_of(st);
    assert_false(i.untrackable);
    assert_int_equal(i.inflight, 0);
    /* A large reply whose id is not in its first bytes, with requests in
     * flight: which one it answered is unknown. */
    feed(st, LI_C2S, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"textDocument/completion\"}");
    const char *late = "{\"jsonrpc\":\"2.0\",\"result\":{\"items\":[";
    feed_over(st, LI_S2C, late, strlen(late));
    assert_true(info_of(st).untrackable);
    li_state_free(st);

    /* An initialize too large to keep. */
    st = li_state_new(0);
    const char *init = "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{";
    feed_over(st, LI_C2S, init, strlen(init));
    assert_true(info_of(st).untrackable);
    assert_non_null(strstr(info_of(st).reason, "initialize"));
    li_state_free(st);
}

static void test_malformed_change(void **state)
{
    (void)state;
    struct li_state *st = li_state_new(0);
    open_doc(st, "\"abc\"", 1);
    feed(st, LI_C2S,
         "{\"jsonrpc\":\"2.0\",\"method\":\"textDocument/didChange\",\"params\":{\"textDocument\":"
         "{\"uri\":\"" URI "\",\"version\":2},\"contentChanges\":[{\"range\":{\"start\":"
         "{\"line\":-1,\"character\":0},\"end\":{\"line\":0,\"character\":0}},\"text\":\"x\"}]}}");
    assert_true(info_of(st).untrackable);
    assert_non_null(strstr(info_of(st).reason, "contentChanges[0] has a malformed range"));
    li_state_free(st);
}

/* Every request in flight is found by its id whatever the order of the
 * replies: a full table answered in a shuffled order, ids of both types. */
static void test_many_inflight_found(void **state)
{
    (void)state;
    struct li_state *st = li_state_new(0);
    for (int i = 0; i < LI_STATE_MAX_REQUESTS; i++) {
        if (i % 2)
            feed(st, LI_C2S, "{\"jsonrpc\":\"2.0\",\"id\":\"s%d\",\"method\":\"x/y\"}", i);
        else
            feed(st, LI_C2S, "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"x/y\"}", i);
    }
    assert_int_equal(info_of(st).inflight, LI_STATE_MAX_REQUESTS);
    /* 7 and the table size are coprime: every index once. */
    for (int k = 0; k < LI_STATE_MAX_REQUESTS; k++) {
        int i = (k * 7) % LI_STATE_MAX_REQUESTS;
        if (i % 2)
            feed(st, LI_S2C, "{\"jsonrpc\":\"2.0\",\"id\":\"s%d\",\"result\":null}", i);
        else
            feed(st, LI_S2C, "{\"jsonrpc\":\"2.0\",\"id\":%d,\"result\":null}", i);
        assert_int_equal(info_of(st).inflight, (size_t)(LI_STATE_MAX_REQUESTS - k - 1));
    }
    /* 1 and "1" are different requests. */
    feed(st, LI_C2S, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x/y\"}");
    feed(st, LI_S2C, "{\"jsonrpc\":\"2.0\",\"id\":\"1\",\"result\":null}");
    assert_int_equal(info_of(st).inflight, 1);
    assert_false(info_of(st).untrackable);
    li_state_free(st);
}

static void test_request_limit(void **state)
{
    (void)state;
    struct li_state *st = li_state_new(0);
    for (int i = 0; i < LI_STATE_MAX_REQUESTS; i++)
        feed(st, LI_C2S, "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"textDocument/hover\"}", i);
    assert_false(info_of(st).untrackable);
    /* The same id again replaces its entry. */
    feed(st, LI_C2S, "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"textDocument/hover\"}");
    assert_int_equal(info_of(st).inflight, LI_STATE_MAX_REQUESTS);
    feed(st, LI_C2S, "{\"jsonrpc\":\"2.0\",\"id\":-1,\"method\":\"textDocument/hover\"}");
    assert_true(info_of(st).untrackable);
    assert_non_null(strstr(info_of(st).reason, "requests from the editor"));
    li_state_free(st);
}

static void test_replay_exact(void **state)
{
    (void)state;
    struct li_state *st = li_state_new(0);
    struct li_state_replay r;
    assert_int_equal(li_state_replay(st, "1", &r), -ENOTRECOVERABLE); /* no initialize yet */
    const char *params = "{\"processId\": 42, \"rootUri\": \"file:///w\", \"capabilities\": {}}";
    feed(st, LI_C2S, "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":%s}",
         params);
    initialize_result(st, NULL);
    feed(st, LI_C2S, "{\"jsonrpc\":\"2.0\",\"method\":\"initialized\",\"params\":{}}");
    feed(st, LI_C2S,
         "{\"jsonrpc\":\"2.0\",\"method\":\"workspace/didChangeConfiguration\",\"params\":"
         "{\"settings\":{\"gopls\":{\"ui.semanticTokens\":true}}}}");
    feed(st, LI_C2S,
         "{\"jsonrpc\":\"2.0\",\"method\":\"textDocument/didOpen\",\"params\":{\"textDocument\":"
         "{\"uri\":\"file:///w/go.mod\",\"languageId\":\"go.mod\",\"version\":1,\"text\":"
         "\"module m\\n\"}}}");
    open_doc(st, "\"package a\\n\"", 1);
    edit(st, 2, 1, 0, 1, 0, "\"\\u0000\\\"\\t\xC3\xA9\\n\"");
    feed(st, LI_C2S, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"textDocument/hover\"}");
    assert_int_equal(li_state_replay(st, "\"x\"y", &r), -EINVAL);
    assert_int_equal(li_state_replay(st, "{}", &r), -EINVAL);
    assert_int_equal(li_state_replay(st, "\"lsptap-1\"", &r), 0);
    const char *want[] = {
        "{\"jsonrpc\":\"2.0\",\"id\":\"lsptap-1\",\"method\":\"initialize\",\"params\":{"
        "\"processId\": 42, \"rootUri\": \"file:///w\", \"capabilities\": {}}}",
        "{\"jsonrpc\":\"2.0\",\"method\":\"initialized\",\"params\":{}}",
        "{\"jsonrpc\":\"2.0\",\"method\":\"workspace/didChangeConfiguration\",\"params\":"
        "{\"settings\":{\"gopls\":{\"ui.semanticTokens\":true}}}}",
        "{\"jsonrpc\":\"2.0\",\"method\":\"textDocument/didOpen\",\"params\":{\"textDocument\":"
        "{\"uri\":\"file:///w/go.mod\",\"languageId\":\"go.mod\",\"version\":1,\"text\":"
        "\"module m\\n\"}}}",
        "{\"jsonrpc\":\"2.0\",\"method\":\"textDocument/didOpen\",\"params\":{\"textDocument\":"
        "{\"uri\":\"" URI "\",\"languageId\":\"go\",\"version\":2,\"text\":"
        "\"package a\\n\\u0000\\\"\\t\xC3\xA9\\n\"}}}",
    };
    assert_int_equal(r.n, 5);
    for (size_t i = 0; i < r.n; i++) {
        assert_string_equal(r.bodies[i], want[i]);
        assert_int_equal(r.lens[i], strlen(want[i]));
    }
    assert_int_equal(r.n_inflight, 1);
    assert_string_equal(r.inflight[0].id, "5");
    assert_int_equal(r.n_s2c, 0);
    li_state_replay_free(&r);
    assert_false(info_of(st).shutdown);
    feed(st, LI_C2S, "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"shutdown\"}");
    assert_true(info_of(st).shutdown);
    li_state_free(st);
    st = li_state_new(0);
    feed(st, LI_C2S, "{\"jsonrpc\":\"2.0\",\"method\":\"exit\"}");
    assert_true(info_of(st).shutdown);
    li_state_free(st);
}

/* li_state_feed itself says when tracking stopped: 0 before, then
 * -ENOTRECOVERABLE for the message that stopped it and every later one. */
static void test_feed_reports_untrackable(void **state)
{
    (void)state;
    struct li_state *st = li_state_new(0);
    const char open_ok[] = "{\"jsonrpc\":\"2.0\",\"method\":\"textDocument/didOpen\",\"params\":"
                           "{\"textDocument\":{\"uri\":\"" URI "\",\"languageId\":\"go\","
                           "\"version\":1,\"text\":\"x\"}}}";
    const char open_bad[] = "{\"jsonrpc\":\"2.0\",\"method\":\"textDocument/didOpen\",\"params\":"
                            "{\"textDocument\":{\"uri\":\"" URI "\",\"text\":7}}}";
    struct li_msg m;
    assert_int_equal(li_classify(LI_LSP, open_ok, sizeof open_ok - 1, 0, &m), 0);
    assert_int_equal(li_state_feed(st, LI_C2S, &m, open_ok, sizeof open_ok - 1), 0);
    assert_int_equal(li_classify(LI_LSP, open_bad, sizeof open_bad - 1, 0, &m), 0);
    assert_int_equal(li_state_feed(st, LI_C2S, &m, open_bad, sizeof open_bad - 1),
                     -ENOTRECOVERABLE);
    assert_int_equal(li_classify(LI_LSP, open_ok, sizeof open_ok - 1, 0, &m), 0);
    assert_int_equal(li_state_feed(st, LI_C2S, &m, open_ok, sizeof open_ok - 1), -ENOTRECOVERABLE);
    assert_int_equal(li_state_feed(st, LI_C2S, NULL, open_ok, sizeof open_ok - 1), -EINVAL);
    assert_int_equal(li_state_feed(NULL, LI_C2S, &m, open_ok, sizeof open_ok - 1), -EINVAL);
    li_state_free(st);
}

/* Texts are decoded in place, not through a tree: every escape, and
 * contentChanges written with spaces, newlines and members the tracker
 * skips (strings with brackets, quotes and backslashes, nested arrays). */
static void test_escapes_and_layout(void **state)
{
    (void)state;
    struct li_state *st = li_state_new(0);
    feed(st, LI_C2S,
         "{\"jsonrpc\":\"2.0\",\"method\":\"textDocument/didOpen\",\"params\":{\"textDocument\":"
         "{\"text\":\"\\/\\b\\f\\\\\\\"\\u00e9\\u20AC\\ud83d\\ude00\\n\",\"version\":1,"
         "\"uri\":\"file:\\/\\/\\/w\\/a.go\",\"languageId\":\"go\"}}}");
    assert_text(st, "/\b\f\\\"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\n");
    feed(st, LI_C2S,
         "{ \"jsonrpc\" : \"2.0\" ,\n \"method\" : \"textDocument/didChange\" ,\r\n"
         " \"params\" : { \"contentChanges\" : [\n"
         "  { \"x\" : [ \"]\\\"\\\\\" , { \"y\" : [ [ ] , \"}\" ] } ] ,\n"
         "    \"range\" : { \"end\" : { \"character\" : 0 , \"line\" : 1 } ,"
         " \"start\" : { \"line\" : 1 , \"character\" : 0 } } , \"text\" : \"end\" } ,\n"
         "  { \"text\" : \"full\\r\\nx\" , \"range\" : null }\n"
         " ] , \"textDocument\" : { \"version\" : 2 , \"uri\" : \"" URI "\" } } }");
    assert_text(st, "full\r\nx");
    edit(st, 3, 1, 1, 1, 1, "\"y\"");
    assert_text(st, "full\r\nxy");
    struct li_state_doc d;
    li_state_doc(st, URI, &d);
    assert_int_equal(d.version, 3);
    /* A version that is no integer leaves the version as it was. */
    feed(st, LI_C2S,
         "{\"jsonrpc\":\"2.0\",\"method\":\"textDocument/didChange\",\"params\":{\"textDocument\":"
         "{\"uri\":\"" URI "\",\"version\":4.5},\"contentChanges\":[]}}");
    li_state_doc(st, URI, &d);
    assert_int_equal(d.version, 3);
    assert_false(info_of(st).untrackable);
    /* A didOpen without a text is a shape the tracker cannot follow. */
    feed(st, LI_C2S,
         "{\"jsonrpc\":\"2.0\",\"method\":\"textDocument/didOpen\",\"params\":{\"textDocument\":"
         "{\"uri\":\"file:///w/b.go\",\"languageId\":\"go\",\"version\":1,\"text\":7}}}");
    assert_true(info_of(st).untrackable);
    assert_non_null(strstr(info_of(st).reason, "textDocument/didOpen"));
    li_state_free(st);
}

/* Appends one frame of body to buf at *o. */
static void frame(char *buf, size_t cap, size_t *o, const char *body)
{
    int n = snprintf(buf + *o, cap - *o, "Content-Length: %zu\r\n\r\n%s", strlen(body), body);
    assert_true(n > 0 && (size_t)n < cap - *o);
    *o += (size_t)n;
}

/* The tracker as li_session's on_msg, fed the bytes of a stream in 7-byte
 * pieces, with a 600-byte inspection cap: a large didOpen reaches it with
 * no body, as it would in the relay, and the tracker stops. */
static void test_as_session_callback(void **state)
{
    (void)state;
    struct li_state *st = li_state_new(0);
    struct li_opts o = {LI_LSP, LI_REC_OFF, 600, 0, NULL, NULL, li_state_on_msg, st, NULL};
    struct li_session *s = li_session_new(&o);
    assert_non_null(s);
    char c2s[4096], s2c[1024], big[1024];
    size_t nc = 0, ns = 0;
    frame(c2s, sizeof c2s, &nc,
          "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"rootUri\":"
          "\"file:///w\"}}");
    frame(c2s, sizeof c2s, &nc, "{\"jsonrpc\":\"2.0\",\"method\":\"initialized\",\"params\":{}}");
    frame(c2s, sizeof c2s, &nc,
          "{\"jsonrpc\":\"2.0\",\"method\":\"textDocument/didOpen\",\"params\":{\"textDocument\":"
          "{\"uri\":\"" URI "\",\"languageId\":\"go\",\"version\":1,\"text\":\"ab\\r\\ncd\"}}}");
    frame(c2s, sizeof c2s, &nc,
          "{\"jsonrpc\":\"2.0\",\"method\":\"textDocument/didChange\",\"params\":{\"textDocument\":"
          "{\"uri\":\"" URI "\",\"version\":2},\"contentChanges\":[{\"range\":{\"start\":{\"line\":"
          "1,\"character\":1},\"end\":{\"line\":1,\"character\":1}},\"text\":\"X\"}]}}");
    frame(c2s, sizeof c2s, &nc, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"textDocument/hover\"}");
    frame(s2c, sizeof s2c, &ns, "{\"jsonrpc\":\"2.0\",\"id\":0,\"result\":{\"capabilities\":{}}}");
    for (size_t i = 0; i < nc; i += 7)
        li_session_feed(s, LI_C2S, c2s + i, nc - i < 7 ? nc - i : 7, i);
    for (size_t i = 0; i < ns; i += 7)
        li_session_feed(s, LI_S2C, s2c + i, ns - i < 7 ? ns - i : 7, i);
    assert_text(st, "ab\r\ncXd");
    struct li_state_info i = info_of(st);
    assert_true(i.initialized);
    assert_int_equal(i.inflight, 1);
    assert_int_equal(li_state_check(st), 0);
    /* A didOpen of 800 bytes: over the session's 600-byte cap. */
    snprintf(
        big, sizeof big,
        "{\"jsonrpc\":\"2.0\",\"method\":\"textDocument/didOpen\",\"params\":{\"textDocument\":"
        "{\"uri\":\"file:///w/b.go\",\"languageId\":\"go\",\"version\":1,\"text\":\"%0700d\"}}}",
        0);
    nc = 0;
    frame(c2s, sizeof c2s, &nc, big);
    li_session_feed(s, LI_C2S, c2s, nc, 100);
    i = info_of(st);
    assert_true(i.untrackable);
    assert_non_null(strstr(i.reason, "textDocument/didOpen is over the inspection cap"));
    li_session_free(s);
    li_state_free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_incremental_edits),
        cmocka_unit_test(test_utf16_astral),
        cmocka_unit_test(test_utf8_negotiated),
        cmocka_unit_test(test_utf32_negotiated),
        cmocka_unit_test(test_encoding_not_offered),
        cmocka_unit_test(test_crlf_and_cr),
        cmocka_unit_test(test_line_cache_after_lone_cr),
        cmocka_unit_test(test_out_of_order_versions),
        cmocka_unit_test(test_full_replacement_and_close),
        cmocka_unit_test(test_configuration_answers),
        cmocka_unit_test(test_configuration_answers_limit),
        cmocka_unit_test(test_workspace_folders),
        cmocka_unit_test(test_many_documents),
        cmocka_unit_test(test_folder_limit),
        cmocka_unit_test(test_memory_cap),
        cmocka_unit_test(test_inflight_requests),
        cmocka_unit_test(test_many_inflight_found),
        cmocka_unit_test(test_safe_methods),
        cmocka_unit_test(test_server_requests),
        cmocka_unit_test(test_over_inspection_cap),
        cmocka_unit_test(test_malformed_change),
        cmocka_unit_test(test_request_limit),
        cmocka_unit_test(test_replay_exact),
        cmocka_unit_test(test_feed_reports_untrackable),
        cmocka_unit_test(test_escapes_and_layout),
        cmocka_unit_test(test_as_session_callback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
