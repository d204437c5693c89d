/*
 * state: what li_state (the keep-alive tracker, docs/keep-alive.md) costs per
 * didChange on a large document, without pipes or processes. It opens one
 * document of LINES lines of Go-like text (about 40 bytes each), then feeds
 * CHANGES incremental didChange messages, each classified with li_classify
 * as the relay's inspector does and then given to li_state_feed. Three
 * patterns:
 *
 *   typing   one character inserted after the previous one, in the middle
 *            of the document (the line cache makes this cheap);
 *   jumping  alternately near the top and near the end (every edit before
 *            the cached line rescans from the start);
 *   full     the whole text replaced each time (a client without
 *            incremental sync).
 *
 *   state LINES CHANGES
 *
 * Prints one line per pattern, `result mode=state pattern=... lines=...
 * doc_kib=... changes=... classify_ns=... feed_ns=...`: the mean time per
 * message to classify it and to track it. Informational; not part of
 * scripts/bench.sh. Exit 0, or 2 for a usage error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "inspect/li_state.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The document's text as the content of a JSON string. */
static char *make_text(long lines, size_t *len)
{
    const char *line = "\\tfmt.Println(\\\"hello, world\\\", x, y)\\n";
    size_t ll = strlen(line);
    char *t = malloc(ll * (size_t)lines + 1);
    if (!t) return NULL;
    for (long i = 0; i < lines; i++)
        memcpy(t + ll * (size_t)i, line, ll);
    *len = ll * (size_t)lines;
    t[*len] = '\0';
    return t;
}

static int feed(struct li_state *st, const char *body, size_t n, double *classify, double *track)
{
    struct li_msg m;
    double a = now();
    if (li_classify(LI_LSP, body, n, 0, &m) != 0) return -1;
    double b = now();
    li_state_feed(st, LI_C2S, &m, body, n);
    double c = now();
    *classify += b - a;
    *track += c - b;
    return 0;
}

/* One pattern on a tracker that holds nothing yet; body has room for cap
 * bytes, text is the document's text as JSON string content. */
static int drive(struct li_state *st, char *body, size_t cap, const char *text, const char *pattern,
                 long lines, long changes)
{
    double cl = 0, tr = 0;
    int n = snprintf(body, cap,
                     "{\"jsonrpc\":\"2.0\",\"method\":\"textDocument/didOpen\",\"params\":{"
                     "\"textDocument\":{\"uri\":\"file:///w/big.go\",\"languageId\":\"go\","
                     "\"version\":1,\"text\":\"%s\"}}}",
                     text);
    if (feed(st, body, (size_t)n, &cl, &tr) < 0) return 1;
    cl = tr = 0;
    for (long i = 0; i < changes; i++) {
        long line = lines / 2, ch = 1 + i % 30;
        if (strcmp(pattern, "jumping") == 0) line = i % 2 ? lines - 2 - i % 7 : 1 + i % 7;
        if (strcmp(pattern, "full") == 0)
            n = snprintf(body, cap,
                         "{\"jsonrpc\":\"2.0\",\"method\":\"textDocument/didChange\",\"params\":"
                         "{\"textDocument\":{\"uri\":\"file:///w/big.go\",\"version\":%ld},"
                         "\"contentChanges\":[{\"text\":\"%s\"}]}}",
                         i + 2, text);
        else
            n = snprintf(body, cap,
                         "{\"jsonrpc\":\"2.0\",\"method\":\"textDocument/didChange\",\"params\":"
                         "{\"textDocument\":{\"uri\":\"file:///w/big.go\",\"version\":%ld},"
                         "\"contentChanges\":[{\"range\":{\"start\":{\"line\":%ld,\"character\":"
                         "%ld},\"end\":{\"line\":%ld,\"character\":%ld}},\"text\":\"x\"}]}}",
                         i + 2, line, ch, line, ch);
        if (feed(st, body, (size_t)n, &cl, &tr) < 0) return 1;
    }
    struct li_state_info info;
    li_state_info(st, &info);
    if (info.untrackable) {
        fprintf(stderr, "state: tracking stopped: %s\n", info.reason);
        return 1;
    }
    printf("result mode=state pattern=%s lines=%ld doc_kib=%zu changes=%ld classify_ns=%.0f "
           "feed_ns=%.0f\n",
           pattern, lines, info.bytes / 1024, changes, cl / (double)changes * 1e9,
           tr / (double)changes * 1e9);
    return 0;
}

static int run(const char *pattern, long lines, long changes)
{
    size_t tlen = 0;
    char *text = make_text(lines, &tlen);
    size_t cap = tlen + 512;
    char *body = malloc(cap);
    struct li_state *st = li_state_new(0);
    int rc = 1;
    if (text && body && st)
        rc = drive(st, body, cap, text, pattern, lines, changes);
    else
        fprintf(stderr, "state: out of memory\n");
    li_state_free(st);
    free(body);
    free(text);
    return rc;
}

int main(int argc, char **argv)
{
    long lines = argc == 3 ? strtol(argv[1], NULL, 10) : 0;
    long changes = argc == 3 ? strtol(argv[2], NULL, 10) : 0;
    if (lines < 4 || changes <= 0) {
        fprintf(stderr, "usage: state LINES CHANGES\n");
        return 2;
    }
    int rc = run("typing", lines, changes);
    if (!rc) rc = run("jumping", lines, changes);
    if (!rc) rc = run("full", lines, changes / 100 > 0 ? changes / 100 : 1);
    return rc;
}
