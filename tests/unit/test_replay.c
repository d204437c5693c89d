/* The pure parts of lsptap replay: root rewrite (percent-encoding
 * included), normalisation, the editor's recorded answers to server
 * requests, --serve's request matching, the JSON diff, and loading. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "replay/li_replay.h"
#include "replay/li_rewrite.h"

/* rewrite(s) with OLD=NEW, or s itself when nothing matched. */
static char out[4096];
static const char *rw(const char *s, const char *from, const char *to)
{
    char *r = li_rewrite_str(s, strlen(s), from, to, NULL);
    snprintf(out, sizeof out, "%s", r ? r : s);
    free(r);
    return out;
}

static void rewrite_plain_paths(void **state)
{
    (void)state;
    assert_string_equal(rw("/home/ann/w/main.go", "/home/ann/w", "/tmp/x"), "/tmp/x/main.go");
    assert_string_equal(rw("/home/ann/w", "/home/ann/w", "/tmp/x"), "/tmp/x");
    assert_string_equal(rw("go env for /home/ann/w\n(root /home/ann/w)", "/home/ann/w", "/t"),
                        "go env for /t\n(root /t)");
    /* Not a whole path prefix: left alone. */
    assert_string_equal(rw("/home/ann/work/a.go", "/home/ann/w", "/t"), "/home/ann/work/a.go");
    assert_string_equal(rw("/srv/home/ann/w/a.go", "/home/ann/w", "/t"), "/srv/home/ann/w/a.go");
    assert_string_equal(rw("x/home/ann/w", "/home/ann/w", "/t"), "x/home/ann/w");
}

static void rewrite_file_uris(void **state)
{
    (void)state;
    assert_string_equal(rw("file:///home/ann/w/main.go", "/home/ann/w", "/tmp/x"),
                        "file:///tmp/x/main.go");
    /* The old root percent-encoded, in either hex case. */
    assert_string_equal(rw("file:///home/ann/my%20w/a.go", "/home/ann/my w", "/tmp/x"),
                        "file:///tmp/x/a.go");
    assert_string_equal(rw("file:///home/ann/c%2b%2B/a.go", "/home/ann/c++", "/t"),
                        "file:///t/a.go");
    /* A new root with a space is encoded inside a URI, literal in a path. */
    assert_string_equal(rw("file:///w/a.go", "/w", "/tmp/other copy"),
                        "file:///tmp/other%20copy/a.go");
    assert_string_equal(rw("/w/a.go", "/w", "/tmp/other copy"), "/tmp/other copy/a.go");
    /* And back again. */
    assert_string_equal(rw("file:///tmp/other%20copy/a.go", "/tmp/other copy", "/w"),
                        "file:///w/a.go");
}

static void rewrite_json_keys_and_values(void **state)
{
    (void)state;
    struct li_rewrite r;
    char err[256];
    assert_int_equal(li_rewrite_parse("/old/=/new dir", &r, err, sizeof err), 0);
    assert_string_equal(r.from, "/old");
    assert_string_equal(r.to, "/new dir");
    json_t *v = json_loads("{\"changes\":{\"file:///old/a.go\":[{\"newText\":\"/old\"}]},\"n\":1}",
                           0, NULL);
    json_t *w = li_rewrite_json(v, &r);
    json_t *want = json_loads(
        "{\"changes\":{\"file:///new%20dir/a.go\":[{\"newText\":\"/new dir\"}]},\"n\":1}", 0, NULL);
    assert_true(json_equal(w, want));
    struct li_rewrite back = li_rewrite_reverse(&r);
    json_t *again = li_rewrite_json(w, &back);
    assert_true(json_equal(again, v));
    json_decref(again);
    json_decref(want);
    json_decref(w);
    json_decref(v);
    li_rewrite_free(&r);
    assert_int_equal(li_rewrite_parse("relative=/x", &r, err, sizeof err), -1);
    assert_non_null(strstr(err, "OLD=NEW"));
    assert_int_equal(li_rewrite_parse("/only", &r, err, sizeof err), -1);
}

static json_t *J(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &e);
    if (!v) fail_msg("bad JSON in test: %s: %s", text, e.text);
    return v;
}

static void assert_json(json_t *got, const char *want)
{
    json_t *w = J(want);
    char *g = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    char *x = json_dumps(w, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    if (!json_equal(got, w)) fail_msg("got  %s\nwant %s", g, x);
    free(g);
    free(x);
    json_decref(w);
    json_decref(got);
}

static void normalize_reply(void **state)
{
    (void)state;
    json_t *b = J("{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{\"workDoneToken\":\"5577\","
                  "\"at\":\"built 2026-11-28T01:48:50.123Z ok\",\"log\":\"2026/11/28 01:48:50 x\","
                  "\"textDocument\":{\"uri\":\"file:///w/a.go\",\"version\":7}}}");
    assert_json(li_normalize_reply("x/y", b),
                "{\"result\":{\"at\":\"built <time> ok\",\"log\":\"<time> x\","
                "\"textDocument\":{\"uri\":\"file:///w/a.go\"}}}");
    json_decref(b);
    b = J("{\"id\":0,\"result\":{\"capabilities\":{},\"serverInfo\":{\"name\":\"gopls\","
          "\"version\":\"v0.11.0\"}}}");
    assert_json(li_normalize_reply("initialize", b),
                "{\"result\":{\"capabilities\":{},\"serverInfo\":{\"name\":\"gopls\"}}}");
    json_decref(b);
    b = J("{\"id\":1,\"error\":{\"code\":-32800,\"message\":\"cancelled\",\"data\":1}}");
    assert_json(li_normalize_reply("textDocument/hover", b),
                "{\"error\":{\"code\":-32800,\"message\":\"cancelled\"}}");
    json_decref(b);
    b = J("{\"id\":1,\"result\":null}");
    assert_json(li_normalize_reply("shutdown", b), "{\"result\":null}");
    json_decref(b);
}

static void diff_paths(void **state)
{
    (void)state;
    json_t *a = J("{\"result\":{\"contents\":{\"value\":\"old\"},\"same\":1,\"gone\":2,"
                  "\"list\":[1,2,3],\"a/b~\":true}}");
    json_t *b = J("{\"result\":{\"contents\":{\"value\":\"new\"},\"same\":1,\"added\":3,"
                  "\"list\":[1,5],\"a/b~\":false}}");
    json_t *d = json_array();
    assert_int_equal(li_json_diff(a, b, d, 10), 6);
    assert_json(d,
                "[{\"path\":\"/result/contents/value\",\"recorded\":\"old\",\"replayed\":\"new\"},"
                "{\"path\":\"/result/gone\",\"recorded\":2},"
                "{\"path\":\"/result/list/1\",\"recorded\":2,\"replayed\":5},"
                "{\"path\":\"/result/list/2\",\"recorded\":3},"
                "{\"path\":\"/result/a~1b~0\",\"recorded\":true,\"replayed\":false},"
                "{\"path\":\"/result/added\",\"replayed\":3}]");
    d = json_array();
    assert_int_equal(li_json_diff(a, b, d, 2), 6);
    assert_int_equal(json_array_size(d), 2);
    json_decref(d);
    d = json_array();
    assert_int_equal(li_json_diff(a, a, d, 10), 0);
    assert_int_equal(json_array_size(d), 0);
    json_decref(d);
    d = json_array();
    json_t *nul = J("null");
    assert_int_equal(li_json_diff(nul, b, d, 10), 1);
    json_decref(nul);
    assert_string_equal(json_string_value(json_object_get(json_array_get(d, 0), "path")), "/");
    json_decref(d);
    json_decref(a);
    json_decref(b);
}

/* A session file in a temp dir from lines. */
static char path[256];
static const char *session(const char *const *lines)
{
    snprintf(path, sizeof path, "/tmp/lsptap-test-replay-%d.jsonl", (int)getpid());
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (; *lines; lines++)
        fputs(*lines, f);
    fclose(f);
    return path;
}

#define HDR                                                                                        \
    "{\"lsptap\":1,\"protocol\":\"lsp\",\"argv\":[\"/usr/bin/"                                     \
    "gopls\",\"serve\"],\"record\":\"full\"}\n"
static const char *const lines[] = {
    HDR,
    "{\"t_us\":10,\"dir\":\"c2s\",\"bytes\":1,\"kind\":\"request\",\"method\":\"initialize\","
    "\"id\":0,"
    "\"body\":{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{}}}\n",
    "{\"t_us\":20,\"dir\":\"s2c\",\"bytes\":1,\"kind\":\"response\",\"method\":\"initialize\","
    "\"id\":0,"
    "\"latency_us\":10,\"body\":{\"jsonrpc\":\"2.0\",\"id\":0,\"result\":{\"capabilities\":{}}}}\n",
    "{\"t_us\":30,\"dir\":\"s2c\",\"bytes\":1,\"kind\":\"request\",\"method\":\"workspace/"
    "configuration\","
    "\"id\":1,\"body\":{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"workspace/configuration\","
    "\"params\":{\"items\":[{\"section\":\"gopls\"}]}}}\n",
    "{\"t_us\":31,\"dir\":\"c2s\",\"bytes\":1,\"kind\":\"response\",\"method\":\"workspace/"
    "configuration\","
    "\"id\":1,\"body\":{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":[{\"a\":1}]}}\n",
    "{\"t_us\":40,\"dir\":\"s2c\",\"bytes\":1,\"kind\":\"request\",\"method\":\"workspace/"
    "configuration\","
    "\"id\":2,\"body\":{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"workspace/configuration\","
    "\"params\":{\"items\":[{\"section\":\"gopls\"}]}}}\n",
    "{\"t_us\":41,\"dir\":\"c2s\",\"bytes\":1,\"kind\":\"response\",\"method\":\"workspace/"
    "configuration\","
    "\"id\":2,\"body\":{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":[{\"a\":2}]}}\n",
    "{\"t_us\":50,\"dir\":\"c2s\",\"bytes\":1,\"kind\":\"request\",\"method\":\"textDocument/"
    "hover\",\"id\":5,"
    "\"body\":{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"textDocument/"
    "hover\",\"params\":{\"p\":1}}}\n",
    "{\"t_us\":60,\"dir\":\"c2s\",\"bytes\":1,\"kind\":\"request\",\"method\":\"textDocument/"
    "hover\",\"id\":6,"
    "\"body\":{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"textDocument/hover\",\"params\":{\"p\":2,"
    "\"workDoneToken\":\"t9\"}}}\n",
    "{\"t_us\":70,\"dir\":\"s2c\",\"bytes\":1,\"kind\":\"response\",\"method\":\"textDocument/"
    "hover\",\"id\":6,"
    "\"latency_us\":10,\"body\":{\"jsonrpc\":\"2.0\",\"id\":6,\"result\":\"two\"}}\n",
    "{\"t_us\":80,\"dir\":\"s2c\",\"bytes\":1,\"kind\":\"response\",\"method\":\"textDocument/"
    "hover\",\"id\":5,"
    "\"latency_us\":30,\"body\":{\"jsonrpc\":\"2.0\",\"id\":5,\"result\":\"one\"}}\n",
    "{\"t_us\":90,\"event\":\"exit\",\"status\":0,\"signal\":null}\n",
    NULL,
};

static void load_and_pair(void **state)
{
    (void)state;
    struct li_rec rec;
    char err[512];
    assert_int_equal(li_rec_load(session(lines), &rec, err, sizeof err), 0);
    assert_int_equal(rec.n, 10);
    assert_int_equal(rec.truncated, 0);
    assert_int_equal(rec.m[0].reply, 1); /* initialize */
    assert_int_equal(rec.m[6].reply, 9); /* hover 5, answered last */
    assert_int_equal(rec.m[7].reply, 8); /* hover 6 */
    assert_int_equal(rec.m[6].pos, 7);
    assert_int_equal(rec.m[6].lineno, 8);
    const char **av = li_rec_argv(&rec);
    assert_string_equal(av[0], "/usr/bin/gopls");
    assert_string_equal(av[1], "serve");
    assert_null(av[2]);
    free(av);
    li_rec_free(&rec);
    unlink(path);
}

static void editor_replies_by_method_and_order(void **state)
{
    (void)state;
    struct li_rec rec;
    char err[512];
    assert_int_equal(li_rec_load(session(lines), &rec, err, sizeof err), 0);
    assert_json(json_incref(json_object_get(li_rec_editor_reply(&rec, "workspace/configuration", 0),
                                            "result")),
                "[{\"a\":1}]");
    assert_json(json_incref(json_object_get(li_rec_editor_reply(&rec, "workspace/configuration", 1),
                                            "result")),
                "[{\"a\":2}]");
    assert_null(li_rec_editor_reply(&rec, "workspace/configuration", 2));
    assert_null(li_rec_editor_reply(&rec, "client/registerCapability", 0));
    json_t *p = J("{\"items\":[{},{},{}]}");
    assert_json(li_default_reply("workspace/configuration", p), "[{},{},{}]");
    assert_json(li_default_reply("window/workDoneProgress/create", p), "null");
    assert_json(li_default_reply("workspace/applyEdit", p), "{\"applied\":false}");
    json_decref(p);
    li_rec_free(&rec);
    unlink(path);
}

static void serve_matches_params_then_order(void **state)
{
    (void)state;
    struct li_rec rec;
    char err[512];
    assert_int_equal(li_rec_load(session(lines), &rec, err, sizeof err), 0);
    unsigned char used[16] = {0};
    /* Equal params (a progress token does not count) wins over order. */
    json_t *p2 = J("{\"p\":2,\"workDoneToken\":\"other\"}");
    assert_int_equal(li_rec_match_request(&rec, "textDocument/hover", p2, used), 7);
    /* Unknown params: the next unused one of the method. */
    json_t *p9 = J("{\"p\":9}");
    assert_int_equal(li_rec_match_request(&rec, "textDocument/hover", p9, used), 6);
    /* All used: the last with equal params, else the last of the method. */
    assert_int_equal(li_rec_match_request(&rec, "textDocument/hover", p2, used), 7);
    json_t *p1 = J("{\"p\":1}");
    assert_int_equal(li_rec_match_request(&rec, "textDocument/hover", p1, used), 6);
    assert_int_equal(li_rec_match_request(&rec, "textDocument/hover", p9, used), 7);
    assert_int_equal(li_rec_match_request(&rec, "textDocument/definition", p1, used), -1);
    json_decref(p1);
    json_decref(p2);
    json_decref(p9);
    li_rec_free(&rec);
    unlink(path);
}

static void refused_and_truncated(void **state)
{
    (void)state;
    struct li_rec rec;
    char err[512];
    const char *meta[] = {"{\"lsptap\":1,\"protocol\":\"lsp\",\"record\":\"meta\"}\n", NULL};
    assert_int_equal(li_rec_load(session(meta), &rec, err, sizeof err), -1);
    assert_non_null(strstr(err, "LSPTAP_RECORD=meta"));
    const char *nobody[] = {
        "{\"lsptap\":1,\"protocol\":\"lsp\"}\n",
        "{\"t_us\":1,\"dir\":\"c2s\",\"bytes\":1,\"kind\":\"request\",\"method\":\"x\",\"id\":1}\n",
        NULL};
    assert_int_equal(li_rec_load(session(nobody), &rec, err, sizeof err), -1);
    assert_non_null(strstr(err, "no message bodies"));
    const char *dap[] = {"{\"lsptap\":1,\"protocol\":\"dap\",\"record\":\"full\"}\n", NULL};
    assert_int_equal(li_rec_load(session(dap), &rec, err, sizeof err), -1);
    assert_non_null(strstr(err, "dap session"));
    const char *notone[] = {"{\"t_us\":1}\n", NULL};
    assert_int_equal(li_rec_load(session(notone), &rec, err, sizeof err), -1);
    assert_non_null(strstr(err, "not a session file"));
    const char *cut[] = {lines[0], lines[1], lines[2],
                         "{\"t_us\":30,\"dir\":\"s2c\",\"bytes\":1,\"ki", NULL};
    assert_int_equal(li_rec_load(session(cut), &rec, err, sizeof err), 0);
    assert_int_equal(rec.n, 2);
    assert_int_equal(rec.truncated, 4);
    li_rec_free(&rec);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rewrite_plain_paths),
        cmocka_unit_test(rewrite_file_uris),
        cmocka_unit_test(rewrite_json_keys_and_values),
        cmocka_unit_test(normalize_reply),
        cmocka_unit_test(diff_paths),
        cmocka_unit_test(load_and_pair),
        cmocka_unit_test(editor_replies_by_method_and_order),
        cmocka_unit_test(serve_matches_params_then_order),
        cmocka_unit_test(refused_and_truncated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
