/*
 * Fault injection: an li_state (the keep-alive tracker) whose nth
 * allocation fails, for every n a whole session makes, once and from then
 * on. The tracker is never silently wrong: it either ends with exactly the
 * state it has with all the memory it wants (the same replay), or it says
 * it is untrackable for want of memory, or li_state_new / li_state_replay
 * return their errors. Once freed, nothing it allocated is left.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault/fail_alloc.h"
#include "inspect/li_state.h"

/* One session's messages: every kind the tracker keeps. */
static const struct {
    enum li_dir dir;
    const char *body;
} msgs[] = {
    {LI_C2S, "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"rootUri\":"
             "\"file:///w\",\"workspaceFolders\":[{\"uri\":\"file:///w\",\"name\":\"w\"}],"
             "\"capabilities\":{\"general\":{\"positionEncodings\":[\"utf-8\",\"utf-16\"]}}}}"},
    {LI_S2C, "{\"jsonrpc\":\"2.0\",\"id\":0,\"result\":{\"capabilities\":{\"positionEncoding\":"
             "\"utf-8\"}}}"},
    {LI_C2S, "{\"jsonrpc\":\"2.0\",\"method\":\"initialized\",\"params\":{}}"},
    {LI_S2C, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"workspace/configuration\",\"params\":"
             "{\"items\":[{\"section\":\"gopls\"}]}}"},
    {LI_C2S, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":[{\"a\":1}]}"},
    {LI_C2S, "{\"jsonrpc\":\"2.0\",\"method\":\"workspace/didChangeConfiguration\",\"params\":"
             "{\"settings\":{}}}"},
    {LI_C2S, "{\"jsonrpc\":\"2.0\",\"method\":\"workspace/didChangeWorkspaceFolders\",\"params\":"
             "{\"event\":{\"added\":[{\"uri\":\"file:///v\",\"name\":\"v\"}],\"removed\":[]}}}"},
    {LI_C2S, "{\"jsonrpc\":\"2.0\",\"method\":\"textDocument/didOpen\",\"params\":{"
             "\"textDocument\":{\"uri\":\"file:///w/a.go\",\"languageId\":\"go\",\"version\":1,"
             "\"text\":\"package a\\n\\nfunc f() {}\\n\"}}}"},
    {LI_C2S, "{\"jsonrpc\":\"2.0\",\"method\":\"textDocument/didOpen\",\"params\":{"
             "\"textDocument\":{\"uri\":\"file:///w/b.go\",\"languageId\":\"go\",\"version\":1,"
             "\"text\":\"package a\\r\\n\"}}}"},
    {LI_C2S, "{\"jsonrpc\":\"2.0\",\"method\":\"textDocument/didChange\",\"params\":{"
             "\"textDocument\":{\"uri\":\"file:///w/a.go\",\"version\":2},\"contentChanges\":["
             "{\"range\":{\"start\":{\"line\":2,\"character\":10},\"end\":{\"line\":2,"
             "\"character\":10}},\"text\":\"return \\u00e9\"},"
             "{\"range\":{\"start\":{\"line\":0,\"character\":8},\"end\":{\"line\":0,"
             "\"character\":9}},\"text\":\"main\"}]}}"},
    {LI_C2S, "{\"jsonrpc\":\"2.0\",\"method\":\"textDocument/didChange\",\"params\":{"
             "\"textDocument\":{\"uri\":\"file:///w/b.go\",\"version\":2},\"contentChanges\":["
             "{\"text\":\"package b\\n\"}]}}"},
    {LI_C2S, "{\"jsonrpc\":\"2.0\",\"method\":\"textDocument/didClose\",\"params\":{"
             "\"textDocument\":{\"uri\":\"file:///w/b.go\"}}}"},
    {LI_C2S, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"textDocument/hover\",\"params\":{}}"},
    {LI_C2S, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"workspace/executeCommand\"}"},
    {LI_C2S, "{\"jsonrpc\":\"2.0\",\"method\":\"$/cancelRequest\",\"params\":{\"id\":3}}"},
    {LI_S2C, "{\"jsonrpc\":\"2.0\",\"id\":\"p\",\"method\":\"window/workDoneProgress/create\"}"},
    {LI_S2C, "{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":null}"},
    {LI_C2S, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"textDocument/definition\"}"},
};

static unsigned long calls_made;

/* Runs the session; returns what it ended with, as text (malloc'd with the
 * allocator disarmed, so the caller frees it). */
static char *scenario(unsigned long nth, int persistent)
{
    char *out = malloc(1 << 14);
    assert_non_null(out);
    fail_alloc_arm(nth, persistent);
    struct li_state *st = li_state_new(0);
    struct li_state_replay r;
    int rc = -1;
    if (st) {
        for (size_t i = 0; i < sizeof msgs / sizeof msgs[0]; i++) {
            struct li_msg m;
            size_t n = strlen(msgs[i].body);
            assert_int_equal(li_classify(LI_LSP, msgs[i].body, n, 0, &m), 0);
            li_state_feed(st, msgs[i].dir, &m, msgs[i].body, n);
        }
        rc = li_state_replay(st, "9", &r);
    }
    calls_made = fail_alloc_calls();
    fail_alloc_arm(0, 0);
    if (!st) {
        strcpy(out, "no tracker");
        return out;
    }
    struct li_state_info info;
    li_state_info(st, &info);
    assert_int_equal(li_state_check(st), 0);
    if (info.untrackable) {
        assert_int_equal(rc, -ENOTRECOVERABLE);
        assert_non_null(strstr(info.reason, "memory"));
        strcpy(out, "untrackable");
    } else if (rc != 0) {
        assert_int_equal(rc, -ENOMEM);
        strcpy(out, "replay failed");
    } else {
        size_t o = 0;
        for (size_t i = 0; i < r.n; i++)
            o += (size_t)snprintf(out + o, (1 << 14) - o, "%s\n", r.bodies[i]);
        for (size_t i = 0; i < r.n_inflight; i++)
            o += (size_t)snprintf(out + o, (1 << 14) - o, "%s %s %d %d %s\n", r.inflight[i].id,
                                  r.inflight[i].method, r.inflight[i].safe, r.inflight[i].cancelled,
                                  r.inflight[i].body ? r.inflight[i].body : "-");
        for (size_t i = 0; i < r.n_s2c; i++)
            o += (size_t)snprintf(out + o, (1 << 14) - o, "s2c %s\n", r.s2c_ids[i]);
        const struct li_state_answer *a;
        size_t na = li_state_config_answers(st, &a);
        for (size_t i = 0; i < na; i++)
            o += (size_t)snprintf(out + o, (1 << 14) - o, "%s=%s\n", a[i].items, a[i].result);
        const struct li_state_folder *f;
        size_t nf = li_state_folders(st, &f);
        for (size_t i = 0; i < nf; i++)
            o += (size_t)snprintf(out + o, (1 << 14) - o, "%s %s\n", f[i].uri, f[i].name);
        snprintf(out + o, (1 << 14) - o, "enc=%d bytes=%zu\n", info.enc, info.bytes);
        li_state_replay_free(&r);
    }
    li_state_free(st);
    return out;
}

static void check_failures(int persistent)
{
    fail_alloc_arm(0, 0);
    char *clean = scenario(0, 0);
    unsigned long total = calls_made;
    assert_true(total >= 20);
    /* The clean run is the whole session: utf-8 chosen, a.go edited,
     * b.go closed, both requests in flight, the progress request pending. */
    assert_non_null(strstr(clean, "package main\\n\\nfunc f() {return \xC3\xA9}\\n"));
    assert_null(strstr(clean, "b.go"));
    assert_non_null(strstr(clean, "3 workspace/executeCommand 0 1"));
    assert_non_null(strstr(clean, "4 textDocument/definition 1 0"));
    assert_non_null(strstr(clean, "s2c \"p\""));
    assert_non_null(strstr(clean, "enc=1"));
    free(clean);
    clean = scenario(0, 0);
    assert_int_equal(fail_alloc_live(), 1); /* clean itself */

    unsigned long outcomes[3] = {0, 0, 0};
    for (unsigned long n = 1; n <= total; n++) {
        char *got = scenario(n, persistent);
        if (strcmp(got, "no tracker") == 0)
            outcomes[0]++;
        else if (strcmp(got, "untrackable") == 0 || strcmp(got, "replay failed") == 0)
            outcomes[1]++;
        else {
            if (strcmp(got, clean) != 0) print_error("n=%lu persistent=%d\n", n, persistent);
            assert_string_equal(got, clean);
            outcomes[2]++;
        }
        free(got);
        if (fail_alloc_live() != 1) print_error("n=%lu persistent=%d leaks\n", n, persistent);
        assert_int_equal(fail_alloc_live(), 1);
    }
    assert_true(outcomes[0] >= 1 && outcomes[1] >= 1);
    free(clean);
}

FAIL_ALLOC_MAIN(check_failures, NULL, NULL)
