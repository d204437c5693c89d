/* li_scrub: every LSP and DAP message kind it knows, unknown fields, the
 * session's own lines, and the consistency of placeholders. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cmocka.h>

#include "inspect/li_scrub.h"

static int secret_name(const char *name)
{
    return strcasestr(name, "token") != NULL || strcasestr(name, "password") != NULL;
}

/* A scrubber that learned the root /home/alice/zanzibar from an initialize. */
static struct li_scrub *fresh(void)
{
    struct li_scrub *s = li_scrub_new(secret_name);
    assert_non_null(s);
    json_t *init = json_loads(
        "{\"t_us\":1,\"dir\":\"c2s\",\"bytes\":1,\"kind\":\"request\",\"method\":\"initialize\","
        "\"id\":0,\"body\":{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"
        "\"rootUri\":\"file:///home/alice/zanzibar\"}}}",
        0, NULL);
    li_scrub_learn(s, init);
    json_decref(init);
    return s;
}

/* Scrubs one line given as JSON text; returns the line (caller decrefs). */
static json_t *scrub(struct li_scrub *s, const char *text)
{
    json_error_t e;
    json_t *line = json_loads(text, JSON_ALLOW_NUL, &e);
    if (!line) fail_msg("bad test JSON at %d: %s\n%s", e.position, e.text, text);
    assert_int_equal(li_scrub_line(s, line), 0);
    return line;
}

/* The value at a dotted path ("body.result.0.uri"; numbers index arrays). */
static json_t *at(json_t *v, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *save = NULL, *k = strtok_r(buf, ".", &save); k && v; k = strtok_r(NULL, ".", &save))
        v = json_is_array(v) ? json_array_get(v, (size_t)atoi(k)) : json_object_get(v, k);
    if (!v) fail_msg("no %s", path);
    return v;
}

static const char *str(json_t *v, const char *path)
{
    const char *s = json_string_value(at(v, path));
    if (!s) fail_msg("%s is not a string", path);
    return s;
}

static void lacks(json_t *v, const char *word)
{
    char *d = json_dumps(v, JSON_COMPACT);
    if (strcasestr(d, word)) fail_msg("\"%s\" survived in %s", word, d);
    free(d);
}

static void has(json_t *v, const char *text)
{
    char *d = json_dumps(v, JSON_COMPACT);
    if (!strstr(d, text)) fail_msg("\"%s\" missing in %s", text, d);
    free(d);
}

#define MSG(dir, kind, method, body)                                                               \
    "{\"t_us\":7,\"dir\":\"" dir "\",\"bytes\":999,\"kind\":\"" kind "\",\"method\":\"" method     \
    "\",\"id\":3,\"latency_us\":5,\"body\":" body "}"

static void didopen_keeps_lengths_and_keywords(void **state)
{
    (void)state;
    struct li_scrub *s = fresh();
    json_t *l =
        scrub(s, MSG("c2s", "notification", "textDocument/didOpen",
                     "{\"jsonrpc\":\"2.0\",\"method\":\"textDocument/didOpen\",\"params\":{"
                     "\"textDocument\":{\"uri\":\"file:///home/alice/zanzibar/wobble/a.go\","
                     "\"languageId\":\"go\",\"version\":4,\"text\":\"package quux\\n\\n"
                     "func Frobnicate(s string) string { return \\\"xylo-secret\\\" + s "
                     "}\\n\"}}}"));
    const char *text = str(l, "body.params.textDocument.text");
    assert_string_equal(text, "package v001\n\nfunc V000000002(v string) string { return "
                              "\"v004-v00005\" + v }\n");
    assert_string_equal(str(l, "body.params.textDocument.uri"), "file:///<root>/dir1/file1.go");
    assert_string_equal(str(l, "body.params.textDocument.languageId"), "go");
    assert_int_equal(json_integer_value(at(l, "body.params.textDocument.version")), 4);
    assert_int_equal(json_integer_value(at(l, "bytes")), 999); /* the recorded size stays */
    assert_string_equal(str(l, "method"), "textDocument/didOpen");
    lacks(l, "alice");
    lacks(l, "zanzibar");
    json_decref(l);
    li_scrub_free(s);
}

static void didchange_and_hover_share_placeholders(void **state)
{
    (void)state;
    struct li_scrub *s = fresh();
    json_t *c = scrub(s, MSG("c2s", "notification", "textDocument/didChange",
                             "{\"params\":{\"textDocument\":{\"uri\":\"file:///home/alice/zanzibar/"
                             "m.go\",\"version\":2},\"contentChanges\":[{\"range\":{\"start\":{"
                             "\"line\":3,\"character\":1},\"end\":{\"line\":3,\"character\":9}},"
                             "\"text\":\"Frobnicate()\"}]}}"));
    assert_string_equal(str(c, "body.params.contentChanges.0.text"), "V000000001()");
    assert_int_equal(json_integer_value(at(c, "body.params.contentChanges.0.range.end.character")),
                     9);
    json_t *h =
        scrub(s, MSG("s2c", "response", "textDocument/hover",
                     "{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{\"contents\":{\"kind\":"
                     "\"markdown\",\"value\":\"```go\\nfunc Frobnicate()\\n```\\n\\n"
                     "Frobnicate adds [docs](https://pkg.go.dev/example.com/zanzibar)\"},"
                     "\"range\":{\"start\":{\"line\":1,\"character\":2},\"end\":{\"line\":1,"
                     "\"character\":12}}}}"));
    const char *v = str(h, "body.result.contents.value");
    assert_non_null(strstr(v, "func V000000001()"));
    assert_string_equal(str(h, "body.result.contents.kind"), "markdown");
    assert_int_equal(json_integer_value(at(h, "body.result.range.end.character")), 12);
    assert_int_equal(json_integer_value(at(h, "latency_us")), 5);
    lacks(h, "frobnicate");
    lacks(h, "zanzibar");
    json_decref(c);
    json_decref(h);
    li_scrub_free(s);
}

static void completion_and_symbols(void **state)
{
    (void)state;
    struct li_scrub *s = fresh();
    json_t *c = scrub(s, MSG("s2c", "response", "textDocument/completion",
                             "{\"result\":{\"isIncomplete\":true,\"items\":[{\"label\":\"Zorbify\","
                             "\"kind\":3,\"detail\":\"func(widget string) int\",\"documentation\":{"
                             "\"kind\":\"markdown\",\"value\":\"Zorbify zorbs.\"},\"sortText\":"
                             "\"00001\",\"filterText\":\"Zorbify\",\"insertTextFormat\":1,"
                             "\"textEdit\":{\"range\":{\"start\":{\"line\":1,\"character\":1},"
                             "\"end\":{\"line\":1,\"character\":2}},\"newText\":\"Zorbify\"}}]}}"));
    const char *label = str(c, "body.result.items.0.label");
    assert_string_equal(label, "V000001");
    assert_string_equal(str(c, "body.result.items.0.filterText"), label);
    assert_string_equal(str(c, "body.result.items.0.textEdit.newText"), label);
    assert_string_equal(str(c, "body.result.items.0.detail"), "func(v00002 string) int");
    assert_string_equal(str(c, "body.result.items.0.sortText"), "00001");
    assert_true(json_is_true(at(c, "body.result.isIncomplete")));
    lacks(c, "zorb");
    json_t *y =
        scrub(s, MSG("s2c", "response", "textDocument/documentSymbol",
                     "{\"result\":[{\"name\":\"Zorbify\",\"detail\":\"func()\",\"kind\":12,"
                     "\"range\":{\"start\":{\"line\":5,\"character\":0},\"end\":{\"line\":7,"
                     "\"character\":1}},\"children\":[{\"name\":\"snarf\",\"kind\":13}]}]}"));
    assert_string_equal(str(y, "body.result.0.name"), label);
    assert_int_equal(json_integer_value(at(y, "body.result.0.kind")), 12);
    assert_int_equal(json_integer_value(at(y, "body.result.0.range.end.line")), 7);
    lacks(y, "snarf");
    json_decref(c);
    json_decref(y);
    li_scrub_free(s);
}

static void definition_paths_match_plain_paths(void **state)
{
    (void)state;
    struct li_scrub *s = fresh();
    json_t *d = scrub(s, MSG("s2c", "response", "textDocument/definition",
                             "{\"result\":[{\"uri\":\"file:///home/alice/zanzibar/caf%C3%A9/"
                             "quux.go\",\"range\":{\"start\":{\"line\":25,\"character\":5},"
                             "\"end\":{\"line\":25,\"character\":8}}}]}"));
    assert_string_equal(str(d, "body.result.0.uri"), "file:///<root>/dir1/file1.go");
    json_t *g = scrub(s, MSG("s2c", "notification", "window/logMessage",
                             "{\"params\":{\"type\":3,\"message\":\"loading /home/alice/zanzibar/"
                             "café/quux.go: no package metadata for file:///tmp/x.go.\"}}"));
    assert_string_equal(str(g, "body.params.message"),
                        "loading /<root>/dir1/file1.go: no package metadata for "
                        "file:///tmp/file2.go.");
    assert_int_equal(json_integer_value(at(g, "body.params.type")), 3);
    json_decref(d);
    json_decref(g);
    li_scrub_free(s);
}

static void diagnostics_keep_common_words_and_enums(void **state)
{
    (void)state;
    struct li_scrub *s = fresh();
    json_t *p = scrub(
        s,
        MSG("s2c", "notification", "textDocument/publishDiagnostics",
            "{\"params\":{\"uri\":\"file:///home/alice/zanzibar/a.go\",\"version\":3,"
            "\"diagnostics\":[{\"range\":{\"start\":{\"line\":1,\"character\":2},\"end\":{"
            "\"line\":1,\"character\":5}},\"severity\":1,\"code\":\"UndeclaredName\","
            "\"codeDescription\":{\"href\":\"https://pkg.go.dev/golang.org/x/tools#Undeclared\"},"
            "\"source\":\"compiler\",\"message\":\"undefined: Frobnicate\",\"relatedInformation\":"
            "[{\"location\":{\"uri\":\"file:///home/alice/zanzibar/b.go\"},\"message\":\"see "
            "wibble here\"}]}]}}"));
    /* The identifier's placeholder: as long as the original, a capital kept. */
    const char *msg = str(p, "body.params.diagnostics.0.message");
    assert_int_equal(strlen(msg), strlen("undefined: Frobnicate"));
    assert_int_equal(strncmp(msg, "undefined: V0", 13), 0);
    assert_string_equal(str(p, "body.params.diagnostics.0.code"), "UndeclaredName");
    assert_string_equal(str(p, "body.params.diagnostics.0.source"), "compiler");
    assert_int_equal(json_integer_value(at(p, "body.params.diagnostics.0.severity")), 1);
    assert_string_equal(str(p, "body.params.uri"), "file:///<root>/file1.go");
    lacks(p, "wibble");
    json_decref(p);
    li_scrub_free(s);
}

static void code_actions_rename_uri_keys(void **state)
{
    (void)state;
    struct li_scrub *s = fresh();
    json_t *a = scrub(s, MSG("s2c", "response", "textDocument/codeAction",
                             "{\"result\":[{\"title\":\"Extract function Frobnicate\",\"kind\":"
                             "\"refactor.extract\",\"edit\":{\"changes\":{\"file:///home/alice/"
                             "zanzibar/a.go\":[{\"range\":{\"start\":{\"line\":0,\"character\":0},"
                             "\"end\":{\"line\":0,\"character\":1}},\"newText\":\"Frobnicate\"}]}},"
                             "\"command\":{\"title\":\"Apply\",\"command\":\"gopls.apply_fix\","
                             "\"arguments\":[{\"URI\":\"file:///home/alice/zanzibar/a.go\","
                             "\"Fix\":\"zanzi_fix\"}]}}]}"));
    assert_string_equal(str(a, "body.result.0.kind"), "refactor.extract");
    assert_string_equal(str(a, "body.result.0.command.command"), "gopls.apply_fix");
    assert_string_equal(str(a, "body.result.0.title"), "Extract function V000000001");
    json_t *edit = json_array_get(
        json_object_get(at(a, "body.result.0.edit.changes"), "file:///<root>/file1.go"), 0);
    assert_string_equal(str(edit, "newText"), "V000000001");
    json_t *changes = at(a, "body.result.0.edit.changes");
    assert_non_null(json_object_get(changes, "file:///<root>/file1.go"));
    assert_string_equal(str(a, "body.result.0.command.arguments.0.URI"), "file:///<root>/file1.go");
    lacks(a, "zanzi");
    lacks(a, "alice");
    json_decref(a);
    li_scrub_free(s);
}

static void error_reply_keeps_code(void **state)
{
    (void)state;
    struct li_scrub *s = fresh();
    json_t *e =
        scrub(s, "{\"t_us\":7,\"dir\":\"s2c\",\"bytes\":9,\"kind\":\"response\",\"method\":"
                 "\"textDocument/rename\",\"id\":\"r-1\",\"latency_us\":3,\"error\":{"
                 "\"code\":-32803,\"message\":\"cannot rename Frobnicate\"},\"body\":{"
                 "\"jsonrpc\":\"2.0\",\"id\":\"r-1\",\"error\":{\"code\":-32803,\"message\":"
                 "\"cannot rename Frobnicate\",\"data\":\"Frobnicate\"}}}");
    assert_int_equal(json_integer_value(at(e, "error.code")), -32803);
    assert_string_equal(str(e, "error.message"), "cannot rename V000000001");
    assert_string_equal(str(e, "body.error.message"), "cannot rename V000000001");
    assert_string_equal(str(e, "body.error.data"), "V000000001");
    assert_string_equal(str(e, "id"), "r-1");
    assert_string_equal(str(e, "body.id"), "r-1");
    json_decref(e);
    li_scrub_free(s);
}

static void initialize_keeps_versions_and_capabilities(void **state)
{
    (void)state;
    struct li_scrub *s = fresh();
    json_t *i = scrub(
        s,
        MSG("c2s", "request", "initialize",
            "{\"params\":{\"processId\":42,\"clientInfo\":{\"name\":\"Visual Studio Code\","
            "\"version\":\"1.85.1\"},\"rootPath\":\"/home/alice/zanzibar\",\"rootUri\":"
            "\"file:///home/alice/zanzibar\",\"workspaceFolders\":[{\"uri\":\"file:///home/alice/"
            "zanzibar\",\"name\":\"zanzibar\"}],\"capabilities\":{\"textDocument\":{\"hover\":{"
            "\"contentFormat\":[\"markdown\",\"plaintext\"]}},\"general\":{"
            "\"positionEncodings\":[\"utf-16\"]}},\"initializationOptions\":{\"env\":{"
            "\"GITHUB_TOKEN\":\"ghp_abcdef\",\"GOFLAGS\":\"-tags=zanzi\",\"ACME_HOME\":\"/srv/"
            "acme\"},\"local\":\"example.com/"
            "zanzibar\",\"ui.completion.usePlaceholders\":true}}}"));
    assert_string_equal(str(i, "body.params.clientInfo.name"), "Visual Studio Code");
    assert_string_equal(str(i, "body.params.rootUri"), "file:///<root>");
    assert_string_equal(str(i, "body.params.rootPath"), "/<root>");
    assert_string_equal(str(i, "body.params.capabilities.textDocument.hover.contentFormat.1"),
                        "plaintext");
    assert_string_equal(str(i, "body.params.capabilities.general.positionEncodings.0"), "utf-16");
    json_t *env = at(i, "body.params.initializationOptions.env");
    assert_string_equal(json_string_value(json_object_get(env, "GITHUB_TOKEN")), "<secret>");
    assert_non_null(json_object_get(env, "GOFLAGS"));
    assert_null(json_object_get(env, "ACME_HOME")); /* a name of the user's own */
    assert_true(json_is_true(json_object_get(at(i, "body.params.initializationOptions"),
                                             "ui.completion.usePlaceholders")));
    lacks(i, "zanzi");
    lacks(i, "ghp_");
    lacks(i, "acme");
    json_t *r =
        scrub(s, MSG("s2c", "response", "initialize",
                     "{\"result\":{\"capabilities\":{\"completionProvider\":{"
                     "\"triggerCharacters\":[\".\"]},\"executeCommandProvider\":{"
                     "\"commands\":[\"gopls.tidy\"]}},\"serverInfo\":{\"name\":\"gopls\","
                     "\"version\":\"{\\\"GoVersion\\\":\\\"go1.21.5\\\",\\\"Path\\\":"
                     "\\\"golang.org/x/tools/gopls\\\",\\\"Version\\\":\\\"v0.14.2\\\"}\"}}}"));
    assert_string_equal(str(r, "body.result.serverInfo.version"),
                        "{\"GoVersion\":\"go1.21.5\",\"Path\":\"golang.org/x/tools/gopls\","
                        "\"Version\":\"v0.14.2\"}");
    assert_string_equal(str(r, "body.result.capabilities.executeCommandProvider.commands.0"),
                        "gopls.tidy");
    json_decref(i);
    json_decref(r);
    li_scrub_free(s);
}

static void server_requests_and_progress(void **state)
{
    (void)state;
    struct li_scrub *s = fresh();
    json_t *p = scrub(s, MSG("s2c", "notification", "$/progress",
                             "{\"params\":{\"token\":\"5577006791947779410\",\"value\":{\"kind\":"
                             "\"begin\",\"title\":\"Setting up workspace\",\"message\":\"Loading "
                             "packages...\",\"percentage\":10}}}"));
    assert_string_equal(str(p, "body.params.token"), "5577006791947779410");
    assert_string_equal(str(p, "body.params.value.kind"), "begin");
    assert_string_equal(str(p, "body.params.value.title"), "Setting up workspace");
    assert_string_equal(str(p, "body.params.value.message"), "Loading packages...");
    json_t *c =
        scrub(s, MSG("s2c", "request", "workspace/configuration",
                     "{\"params\":{\"items\":[{\"scopeUri\":\"file:///home/alice/zanzibar\","
                     "\"section\":\"gopls\"}]}}"));
    assert_string_equal(str(c, "body.params.items.0.scopeUri"), "file:///<root>");
    assert_string_equal(str(c, "body.params.items.0.section"), "gopls");
    json_t *m =
        scrub(s, MSG("s2c", "request", "window/showMessageRequest",
                     "{\"params\":{\"type\":1,\"message\":\"Error loading workspace: "
                     "zanzibar/go.mod: failed\",\"actions\":[{\"title\":\"Open zanzibar\"}]}}"));
    lacks(m, "zanzibar");
    has(m, "Error loading workspace: ");
    json_decref(p);
    json_decref(c);
    json_decref(m);
    li_scrub_free(s);
}

static void dap_messages(void **state)
{
    (void)state;
    struct li_scrub *s = li_scrub_new(secret_name);
    json_t *launch = json_loads(
        "{\"t_us\":1,\"dir\":\"c2s\",\"bytes\":91,\"kind\":\"request\",\"command\":\"launch\","
        "\"id\":"
        "1,\"body\":{\"seq\":1,\"type\":\"request\",\"command\":\"launch\",\"arguments\":{\"name\":"
        "\"Launch zanzibar\",\"type\":\"go\",\"request\":\"launch\",\"mode\":\"debug\",\"program\":"
        "\"/home/alice/zanzibar/cmd/zz\",\"cwd\":\"/home/alice/zanzibar\",\"args\":[\"--api-token="
        "hunter2\",\"-v\",\"frobfile.txt\"],\"env\":{\"API_TOKEN\":\"hunter2\",\"GOFLAGS\":\"-"
        "race\"},"
        "\"stopOnEntry\":false}}}",
        0, NULL);
    li_scrub_learn(s, launch);
    assert_int_equal(li_scrub_line(s, launch), 0);
    assert_string_equal(str(launch, "body.type"), "request");
    assert_string_equal(str(launch, "body.command"), "launch");
    assert_string_equal(str(launch, "body.arguments.mode"), "debug");
    assert_string_equal(str(launch, "body.arguments.request"), "launch");
    assert_string_equal(str(launch, "body.arguments.program"), "/<root>/cmd/dir1");
    assert_string_equal(str(launch, "body.arguments.cwd"), "/<root>");
    assert_string_equal(str(launch, "body.arguments.args.0"), "--api-token=<secret>");
    /* A secret's value goes whatever its name; a name of the user's own too. */
    json_t *env = at(launch, "body.arguments.env");
    assert_null(json_object_get(env, "API_TOKEN"));
    const char *k;
    json_t *v;
    int secrets = 0;
    json_object_foreach(env, k, v) secrets += strcmp(json_string_value(v), "<secret>") == 0;
    assert_int_equal(secrets, 1);
    assert_string_equal(str(launch, "body.arguments.env.GOFLAGS"), "-race");
    assert_true(json_is_false(at(launch, "body.arguments.stopOnEntry")));
    lacks(launch, "hunter2");
    lacks(launch, "zanzibar");
    lacks(launch, "frobfile");

    json_t *st = scrub(s, "{\"t_us\":2,\"dir\":\"s2c\",\"bytes\":88,\"kind\":\"event\",\"event\":"
                          "\"stopped\",\"id\":3,\"body\":{\"seq\":3,\"type\":\"event\",\"event\":"
                          "\"stopped\",\"body\":{\"reason\":\"breakpoint\",\"threadId\":1,"
                          "\"allThreadsStopped\":true}}}");
    assert_string_equal(str(st, "body.body.reason"), "breakpoint");
    assert_string_equal(str(st, "event"), "stopped");
    json_t *tr =
        scrub(s, "{\"t_us\":3,\"dir\":\"s2c\",\"bytes\":9,\"kind\":\"response\",\"command\":"
                 "\"stackTrace\",\"id\":4,\"request_seq\":2,\"latency_us\":5,\"body\":{"
                 "\"seq\":4,\"type\":\"response\",\"request_seq\":2,\"success\":true,"
                 "\"command\":\"stackTrace\",\"body\":{\"stackFrames\":[{\"id\":1000,"
                 "\"name\":\"main.Frobnicate\",\"source\":{\"name\":\"frob.go\",\"path\":"
                 "\"/home/alice/zanzibar/frob.go\"},\"line\":12,\"column\":0,"
                 "\"presentationHint\":\"normal\"}],\"totalFrames\":1}}}");
    assert_string_equal(str(tr, "body.body.stackFrames.0.name"), "main.V000000007");
    assert_string_equal(str(tr, "body.body.stackFrames.0.source.name"), "file1.go");
    assert_string_equal(str(tr, "body.body.stackFrames.0.source.path"), "/<root>/file1.go");
    assert_string_equal(str(tr, "body.body.stackFrames.0.presentationHint"), "normal");
    assert_int_equal(json_integer_value(at(tr, "body.body.stackFrames.0.line")), 12);
    assert_int_equal(json_integer_value(at(tr, "request_seq")), 2);
    json_t *vars =
        scrub(s, "{\"t_us\":4,\"dir\":\"s2c\",\"bytes\":9,\"kind\":\"response\","
                 "\"command\":\"variables\",\"body\":{\"type\":\"response\",\"command\":"
                 "\"variables\",\"success\":true,\"body\":{\"variables\":[{\"name\":"
                 "\"secretThing\",\"value\":\"\\\"xylophone-secret\\\"\",\"type\":"
                 "\"string\",\"evaluateName\":\"secretThing\",\"variablesReference\":0}]}}}");
    assert_string_equal(str(vars, "body.body.variables.0.type"), "string");
    lacks(vars, "xylophone");
    lacks(vars, "secretThing");
    json_t *out =
        scrub(s, "{\"t_us\":5,\"dir\":\"s2c\",\"bytes\":9,\"kind\":\"event\",\"event\":"
                 "\"output\",\"body\":{\"type\":\"event\",\"event\":\"output\",\"body\":{"
                 "\"category\":\"stdout\",\"output\":\"hello alice from /home/alice\\n\"}}}");
    assert_string_equal(str(out, "body.body.category"), "stdout");
    lacks(out, "alice");
    json_t *fail = scrub(s, "{\"t_us\":6,\"dir\":\"s2c\",\"bytes\":9,\"kind\":\"response\","
                            "\"command\":\"evaluate\",\"error\":\"could not find symbol value for "
                            "zanzibar\",\"body\":{\"type\":\"response\",\"command\":\"evaluate\","
                            "\"success\":false,\"message\":\"could not find symbol value for "
                            "zanzibar\",\"body\":{\"error\":{\"id\":2000,\"format\":\"{e}\"}}}}");
    assert_string_equal(str(fail, "error"), "could not find symbol value for v0000002");
    assert_string_equal(str(fail, "body.message"), "could not find symbol value for v0000002");
    assert_true(json_is_false(at(fail, "body.success")));
    assert_int_equal(json_integer_value(at(fail, "body.body.error.id")), 2000);
    json_decref(launch);
    json_decref(st);
    json_decref(tr);
    json_decref(vars);
    json_decref(out);
    json_decref(fail);
    li_scrub_free(s);
}

#define DAP(dir, kind, command, body)                                                              \
    "{\"t_us\":7,\"dir\":\"" dir "\",\"bytes\":99,\"kind\":\"" kind "\",\"command\":\"" command    \
    "\",\"id\":5,\"body\":" body "}"

static void dap_breakpoints_evaluate_threads_initialize(void **state)
{
    (void)state;
    struct li_scrub *s = li_scrub_new(secret_name);
    json_t *i =
        scrub(s, DAP("c2s", "request", "initialize",
                     "{\"seq\":1,\"type\":\"request\",\"command\":\"initialize\","
                     "\"arguments\":{\"clientID\":\"vscode\",\"clientName\":\"Visual Studio "
                     "Code\",\"adapterID\":\"go\",\"pathFormat\":\"path\",\"linesStartAt1\":"
                     "true,\"locale\":\"en\"}}"));
    assert_string_equal(str(i, "body.arguments.clientID"), "vscode");
    assert_string_equal(str(i, "body.arguments.adapterID"), "go");
    assert_string_equal(str(i, "body.arguments.pathFormat"), "path");
    assert_true(json_is_true(at(i, "body.arguments.linesStartAt1")));
    json_t *c =
        scrub(s, DAP("s2c", "response", "initialize",
                     "{\"seq\":2,\"type\":\"response\",\"request_seq\":1,\"success\":true,"
                     "\"command\":\"initialize\",\"body\":{\"supportsConditionalBreakpoints\":"
                     "true,\"exceptionBreakpointFilters\":[{\"filter\":\"panic\",\"label\":"
                     "\"Panics\",\"default\":true}]}}"));
    assert_true(json_is_true(at(c, "body.body.supportsConditionalBreakpoints")));
    assert_string_equal(str(c, "body.body.exceptionBreakpointFilters.0.filter"), "panic");
    json_t *b = scrub(s, DAP("c2s", "request", "setBreakpoints",
                             "{\"seq\":3,\"type\":\"request\",\"command\":\"setBreakpoints\","
                             "\"arguments\":{\"source\":{\"name\":\"zorb.go\",\"path\":\"/srv/quux/"
                             "zorb.go\"},\"breakpoints\":[{\"line\":12,\"condition\":\"snarf == "
                             "\\\"xylo\\\"\",\"logMessage\":\"hit {snarf}\"}],\"lines\":[12]}}"));
    assert_string_equal(str(b, "body.arguments.source.name"), "file1.go");
    assert_string_equal(str(b, "body.arguments.source.path"), "/dir1/dir2/file1.go");
    assert_int_equal(json_integer_value(at(b, "body.arguments.breakpoints.0.line")), 12);
    assert_int_equal(json_integer_value(at(b, "body.arguments.lines.0")), 12);
    const char *cond = str(b, "body.arguments.breakpoints.0.condition");
    assert_int_equal(strlen(cond), strlen("snarf == \"xylo\""));
    json_t *e =
        scrub(s, DAP("c2s", "request", "evaluate",
                     "{\"seq\":4,\"type\":\"request\",\"command\":\"evaluate\",\"arguments\":"
                     "{\"expression\":\"snarf.Len\",\"frameId\":1000,\"context\":\"hover\"}}"));
    assert_string_equal(str(e, "body.arguments.context"), "hover");
    assert_int_equal(json_integer_value(at(e, "body.arguments.frameId")), 1000);
    /* The same variable, the same placeholder as in the condition. */
    char want[64];
    snprintf(want, sizeof want, "%.5s.", cond);
    assert_int_equal(strncmp(str(e, "body.arguments.expression"), want, 6), 0);
    json_t *t = scrub(s, DAP("s2c", "response", "threads",
                             "{\"seq\":5,\"type\":\"response\",\"request_seq\":4,\"success\":true,"
                             "\"command\":\"threads\",\"body\":{\"threads\":[{\"id\":1,\"name\":"
                             "\"main.zorbulate\"}]}}"));
    assert_int_equal(json_integer_value(at(t, "body.body.threads.0.id")), 1);
    assert_string_equal(str(i, "body.arguments.clientName"), "Visual Studio Code");
    lacks(b, "snarf");
    lacks(b, "xylo");
    lacks(b, "quux");
    lacks(e, "snarf");
    lacks(t, "zorbulate");
    json_decref(i);
    json_decref(c);
    json_decref(b);
    json_decref(e);
    json_decref(t);
    li_scrub_free(s);
}

static void unknown_fields_lose_every_word(void **state)
{
    (void)state;
    struct li_scrub *s = fresh();
    json_t *u = scrub(s, MSG("c2s", "request", "acme/frobnicate",
                             "{\"jsonrpc\":\"2.0\",\"method\":\"acme/frobnicate\",\"params\":{"
                             "\"note\":\"the server frobnicates 1234567890\",\"deep\":{\"list\":["
                             "\"Quuxify\",7,true,null,{\"x\":\"10.20.30.40 and 127.0.0.1\"}]}}}"));
    /* The method is the schema's, whatever it says. */
    assert_string_equal(str(u, "method"), "acme/frobnicate");
    assert_string_equal(str(u, "body.method"), "acme/frobnicate");
    /* An unknown string loses even common words ("the", "server"). */
    assert_string_equal(str(u, "body.params.note"), "v01 v00002 v0000000003 9000000001");
    assert_string_equal(str(u, "body.params.deep.list.0"), "V000004");
    assert_int_equal(json_integer_value(at(u, "body.params.deep.list.1")), 7);
    assert_true(json_is_true(at(u, "body.params.deep.list.2")));
    assert_true(json_is_null(at(u, "body.params.deep.list.3")));
    assert_string_equal(str(u, "body.params.deep.list.4.x"), "192.0.2.1 v05 127.0.0.1");
    json_decref(u);
    li_scrub_free(s);
}

static void header_and_events(void **state)
{
    (void)state;
    struct li_scrub *s = li_scrub_new(secret_name);
    assert_int_equal(li_scrub_add_sensitive(s, "server"), 0);
    json_t *h =
        json_loads("{\"lsptap\":1,\"protocol\":\"lsp\",\"role\":\"gopls\",\"start\":"
                   "\"2026-12-06T10:52:59.457Z\",\"lsptap_version\":\"0.1.0\",\"server\":"
                   "\"/home/alice/go/bin/gopls\",\"argv\":[\"gopls\",\"-logfile=/home/alice/"
                   "g.log\",\"--auth-token=zz9\"],\"pid\":4242,\"cwd\":\"/home/alice/proj\","
                   "\"record\":\"full\",\"env\":{\"PATH\":\"/home/alice/bin:/usr/bin\","
                   "\"GOPROXY\":\"https://alice:pw99@proxy.corp,direct\",\"HOME\":"
                   "\"/home/alice\",\"GOOS\":\"linux\",\"GITHUB_TOKEN\":\"ghp_x\"}}",
                   0, NULL);
    li_scrub_learn(s, h);
    assert_int_equal(li_scrub_line(s, h), 0);
    assert_int_equal(json_integer_value(at(h, "lsptap")), 1);
    assert_string_equal(str(h, "start"), "2026-12-06T10:52:59.457Z");
    assert_string_equal(str(h, "lsptap_version"), "0.1.0");
    assert_string_equal(str(h, "server"), "/home/dir1/go/bin/gopls");
    assert_string_equal(str(h, "cwd"), "/<root>");
    assert_string_equal(str(h, "argv.1"), "-logfile=/home/dir1/file1.log");
    assert_string_equal(str(h, "argv.2"), "--auth-token=<secret>");
    assert_string_equal(str(h, "env.PATH"), "/home/dir1/bin:/usr/bin");
    assert_string_equal(str(h, "env.GOPROXY"), "https://<secret>@proxy.v001,direct");
    assert_string_equal(str(h, "env.GOOS"), "linux");
    assert_string_equal(str(h, "env.GITHUB_TOKEN"), "<secret>");
    assert_int_equal(json_integer_value(at(h, "pid")), 4242);
    assert_non_null(strstr(str(h, "scrubbed.by"), "lsptap "));
    lacks(h, "alice");

    json_t *e = scrub(s, "{\"t_us\":9,\"event\":\"restart\",\"reason\":\"the server failed to "
                         "load /home/alice/proj/go.mod\",\"attempt\":1}");
    assert_string_equal(str(e, "reason"), "the v00002 failed to load /<root>/go.mod");
    assert_int_equal(json_integer_value(at(e, "attempt")), 1);
    json_t *n =
        scrub(s, "{\"t_us\":10,\"event\":\"netcheck\",\"report\":{\"target\":{\"host\":"
                 "\"gopls.acme.internal\",\"port\":37374},\"layers\":[{\"layer\":"
                 "\"transport\",\"status\":\"fail\",\"summary\":\"connection refused by "
                 "10.9.8.7:37374 (RST)\",\"evidence\":{\"class\":\"refused\"},\"ms\":0.5}]}}");
    assert_string_equal(str(n, "event"), "netcheck");
    assert_string_equal(str(n, "report.layers.0.layer"), "transport");
    assert_string_equal(str(n, "report.layers.0.status"), "fail");
    assert_string_equal(str(n, "report.layers.0.evidence.class"), "refused");
    assert_string_equal(str(n, "report.layers.0.summary"),
                        "connection refused by 192.0.2.1:37374 (RST)");
    assert_string_equal(str(n, "report.target.host"), "gopls.v003.internal");
    json_t *sum =
        scrub(s, "{\"t_us\":11,\"event\":\"summary\",\"messages\":{\"c2s\":19,\"s2c\":15},"
                 "\"ending\":\"gopls exited with status 0\",\"exit_code\":0}");
    assert_string_equal(str(sum, "ending"), "gopls exited with status 0");
    assert_int_equal(json_integer_value(at(sum, "messages.c2s")), 19);
    json_t *c = li_scrub_counts(s);
    assert_true(json_integer_value(at(c, "secrets.occurrences")) >= 3);
    assert_int_equal(json_integer_value(at(c, "roots.distinct")), 1);
    assert_int_equal(json_integer_value(at(c, "addresses.distinct")), 1);
    json_decref(c);
    json_decref(h);
    json_decref(e);
    json_decref(n);
    json_decref(sum);
    li_scrub_free(s);
}

static void words_keep_utf16_length_and_runs_are_deterministic(void **state)
{
    (void)state;
    const char *src = "{\"lsptap\":1,\"protocol\":\"lsp\"}";
    (void)src;
    struct li_scrub *a = li_scrub_new(NULL), *b = li_scrub_new(NULL);
    /* é is one UTF-16 unit, 𝄞 two: the placeholder has as many. */
    char *t =
        li_scrub_text(a, "caf\xc3\xa9 \xf0\x9d\x84\x9ex", strlen("caf\xc3\xa9 \xf0\x9d\x84\x9ex"));
    assert_string_equal(t, "v001 v02");
    free(t);
    const char *in = "Frobnicate the quux at /srv/zz/a.go and https://u:p@h.example/x";
    char *x = li_scrub_text(a, in, strlen(in)),
         *y = li_scrub_text(b, "caf\xc3\xa9 \xf0\x9d\x84\x9ex", 11);
    free(y);
    y = li_scrub_text(b, in, strlen(in));
    assert_string_equal(x, y);
    assert_string_equal(
        x, "V000000003 the v004 at /dir1/dir2/file1.go and https://<secret>@v.v000006/x");
    free(x);
    free(y);
    li_scrub_free(a);
    li_scrub_free(b);
}

static void file_errors(void **state)
{
    (void)state;
    char path[] = "/tmp/lsptap-test-scrub-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char bad[] = "{\"hello\":1}\n";
    assert_int_equal(write(fd, bad, sizeof bad - 1), (ssize_t)(sizeof bad - 1));
    close(fd);
    struct li_scrub *s = li_scrub_new(NULL);
    char err[512];
    FILE *out = tmpfile();
    assert_int_equal(li_scrub_file(s, path, out, NULL, err, sizeof err), 2);
    assert_non_null(strstr(err, "not a session file (line 1"));
    /* A good session with a cut last line: everything before it comes out. */
    FILE *f = fopen(path, "w");
    fputs("{\"lsptap\":1,\"protocol\":\"lsp\",\"cwd\":\"/w/zz\"}\n"
          "{\"t_us\":1,\"event\":\"exit\",\"status\":0,\"signal\":null}\n"
          "{\"t_us\":2,\"dir\":\"c2s\",\"byt",
          f);
    fclose(f);
    char *warn_text = NULL;
    size_t warn_len = 0;
    FILE *warn = open_memstream(&warn_text, &warn_len);
    rewind(out);
    assert_int_equal(li_scrub_file(s, path, out, warn, err, sizeof err), 0);
    fclose(warn);
    assert_non_null(strstr(warn_text, "cut short"));
    free(warn_text);
    fflush(out);
    rewind(out);
    char line[512];
    assert_non_null(fgets(line, sizeof line, out));
    assert_non_null(strstr(line, "\"cwd\":\"/<root>\""));
    assert_non_null(fgets(line, sizeof line, out));
    assert_string_equal(line, "{\"t_us\":1,\"event\":\"exit\",\"status\":0,\"signal\":null}\n");
    fclose(out);
    unlink(path);
    assert_int_equal(li_scrub_file(s, path, stdout, NULL, err, sizeof err), 2);
    assert_non_null(strstr(err, "cannot open"));
    li_scrub_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(didopen_keeps_lengths_and_keywords),
        cmocka_unit_test(didchange_and_hover_share_placeholders),
        cmocka_unit_test(completion_and_symbols),
        cmocka_unit_test(definition_paths_match_plain_paths),
        cmocka_unit_test(diagnostics_keep_common_words_and_enums),
        cmocka_unit_test(code_actions_rename_uri_keys),
        cmocka_unit_test(error_reply_keeps_code),
        cmocka_unit_test(initialize_keeps_versions_and_capabilities),
        cmocka_unit_test(server_requests_and_progress),
        cmocka_unit_test(dap_messages),
        cmocka_unit_test(dap_breakpoints_evaluate_threads_initialize),
        cmocka_unit_test(unknown_fields_lose_every_word),
        cmocka_unit_test(header_and_events),
        cmocka_unit_test(words_keep_utf16_length_and_runs_are_deterministic),
        cmocka_unit_test(file_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
