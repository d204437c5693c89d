/* libFuzzer: li_state fed a random sequence of LSP messages built from the
 * input (opens, incremental and full changes, closes, requests, replies,
 * cancellations, configuration, folders, initialize with each encoding,
 * messages over the inspection cap, and raw input bytes as a body).
 *
 * Invariants checked after every message: li_state_check holds (tracked
 * bytes recounted, never over the cap; every document's line cache equals a
 * fresh scan); every open document's text is valid UTF-8 and equals a shadow
 * copy edited through li_edit_offset from scratch; once untrackable, it
 * stays so with nothing tracked. At the end, a replay succeeds when
 * tracking did, every body it gives loads with jansson, and every replayed
 * didOpen carries exactly the tracked text. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inspect/li_edit.h"
#include "inspect/li_json.h"
#include "inspect/li_state.h"

#define NURI 3
#define BODY_MAX 4096

struct in {
    const uint8_t *p;
    size_t n;
};

static unsigned next(struct in *in)
{
    if (!in->n) return 0;
    in->n--;
    return *in->p++;
}

/* Shadow copies of the documents, edited the slow way. */
struct shadow {
    int open;
    char *text;
    size_t len;
};
static struct shadow sh[NURI];
/* Set while a raw message and the closes after it pass: the shadows cannot
 * follow them. */
static int resyncing;

static const char *const uris[NURI] = {"file:///w/a.go", "file:///w/b.go", "file:///w/c%20d.go"};

/* Pieces of text, as JSON string content and as the bytes they decode to. */
static const char *const piece_json[] = {
    "a",   "\\n",     "\\r", "\\r\\n", "\xC3\xA9", "\xF0\x9F\x98\x80", "\\ud834\\udd1e",
    "\\t", "\\u0000", "zz"};
static const char *const piece_raw[] = {
    "a", "\n", "\r", "\r\n", "\xC3\xA9", "\xF0\x9F\x98\x80", "\xF0\x9D\x84\x9E", "\t", "", "zz"};
static const size_t piece_rawlen[] = {1, 1, 1, 2, 2, 4, 4, 1, 1, 2};
#define NPIECE (sizeof piece_json / sizeof piece_json[0])

/* A text of up to 15 pieces: its JSON content into js, its bytes into raw. */
static void gen_text(struct in *in, char *js, size_t jcap, char *raw, size_t *rlen)
{
    unsigned k = next(in) % 16;
    size_t j = 0, r = 0;
    for (unsigned i = 0; i < k; i++) {
        unsigned c = next(in) % NPIECE;
        size_t jl = strlen(piece_json[c]);
        if (j + jl + 1 > jcap) break;
        memcpy(js + j, piece_json[c], jl);
        j += jl;
        memcpy(raw + r, piece_raw[c], piece_rawlen[c]);
        r += piece_rawlen[c];
    }
    js[j] = '\0';
    *rlen = r;
}

static void shadow_set(int u, const char *raw, size_t n)
{
    free(sh[u].text);
    sh[u].text = malloc(n ? n : 1);
    if (n) memcpy(sh[u].text, raw, n);
    sh[u].len = n;
    sh[u].open = 1;
}

static void shadow_splice(int u, size_t a, size_t b, const char *raw, size_t n)
{
    if (b < a) b = a;
    char *t = malloc(sh[u].len - (b - a) + n + 1);
    memcpy(t, sh[u].text, a);
    memcpy(t + a, raw, n);
    memcpy(t + a + n, sh[u].text + b, sh[u].len - b);
    sh[u].len = sh[u].len - (b - a) + n;
    free(sh[u].text);
    sh[u].text = t;
}

static void check(struct li_state *st)
{
    struct li_state_info i;
    li_state_info(st, &i);
    if (li_state_check(st) != 0) abort();
    if (i.bytes > i.max_bytes) abort();
    if (i.untrackable) {
        if (i.bytes || i.documents || i.inflight || i.pending_s2c || !i.reason[0]) abort();
        return;
    }
    for (int u = 0; u < NURI && !resyncing; u++) {
        struct li_state_doc d;
        int rc = li_state_doc(st, uris[u], &d);
        if ((rc == 0) != sh[u].open) abort();
        if (rc != 0) continue;
        if (d.len != sh[u].len || (d.len && memcmp(d.text, sh[u].text, d.len) != 0)) abort();
        if (li_utf8_valid_prefix(d.text, d.len) != d.len) abort();
    }
}

static void send(struct li_state *st, enum li_dir dir, const char *body, size_t n)
{
    struct li_msg m;
    if (li_classify(LI_LSP, body, n, 0, &m) != 0) return;
    li_state_feed(st, dir, &m, body, n);
    check(st);
}

static void send_over(struct li_state *st, enum li_dir dir, const char *body, size_t keep)
{
    struct li_msg m;
    li_classify(LI_LSP, body, keep, 1, &m);
    li_state_feed(st, dir, &m, NULL, 0);
    check(st);
}

/* After a didOpen the tracker took in, its text and URI are what jansson
 * decodes from the same body (the tracker reads them without a tree). */
static void against_jansson(struct li_state *st, const char *body, size_t n)
{
    struct li_state_info i;
    li_state_info(st, &i);
    json_t *v = json_loadb(body, n, JSON_ALLOW_NUL, NULL);
    const char *method = json_string_value(json_object_get(v, "method"));
    json_t *td = json_object_get(json_object_get(v, "params"), "textDocument");
    json_t *uri = json_object_get(td, "uri"), *text = json_object_get(td, "text");
    if (!i.untrackable && method && strcmp(method, "textDocument/didOpen") == 0 &&
        json_is_string(uri) && json_is_string(text) && !json_object_get(v, "id") &&
        memchr(json_string_value(uri), 0, json_string_length(uri)) == NULL) {
        struct li_state_doc doc;
        if (li_state_doc(st, json_string_value(uri), &doc) != 0) abort();
        if (doc.len != json_string_length(text) ||
            memcmp(doc.text, json_string_value(text), doc.len) != 0)
            abort();
    }
    json_decref(v);
}

static const char *const methods[] = {"textDocument/hover", "workspace/executeCommand",
                                      "textDocument/completion", "shutdown", "x/y"};
static const char *const encs[] = {"utf-16", "utf-8", "utf-32", "bogus"};

static void gen_id(struct in *in, char *id, size_t cap)
{
    unsigned v = next(in);
    if (v & 1)
        snprintf(id, cap, "%u", v % 8);
    else
        snprintf(id, cap, "\"s%u\"", v % 8);
}

static unsigned pos(struct in *in)
{
    unsigned v = next(in);
    return v < 240 ? v % 6 : v * 1000u;
}

static void step(struct li_state *st, struct in *in)
{
    char b[BODY_MAX], js[512], raw[512], id[16];
    size_t rl;
    int n = 0, u = (int)(next(in) % NURI), enc;
    struct li_state_info info;
    li_state_info(st, &info);
    enc = info.enc;
    switch (next(in) % 15) {
    case 0:
        gen_text(in, js, sizeof js, raw, &rl);
        n = snprintf(b, sizeof b,
                     "{\"jsonrpc\":\"2.0\",\"method\":\"textDocument/didOpen\",\"params\":{"
                     "\"textDocument\":{\"uri\":\"%s\",\"languageId\":\"go\",\"version\":%u,"
                     "\"text\":\"%s\"}}}",
                     uris[u], next(in), js);
        if (!info.untrackable) shadow_set(u, raw, rl);
        send(st, LI_C2S, b, (size_t)n);
        return;
    case 1: {
        unsigned l1 = pos(in), c1 = pos(in), l2 = pos(in), c2 = pos(in);
        gen_text(in, js, sizeof js, raw, &rl);
        n = snprintf(b, sizeof b,
                     "{\"jsonrpc\":\"2.0\",\"method\":\"textDocument/didChange\",\"params\":{"
                     "\"textDocument\":{\"uri\":\"%s\",\"version\":%u},\"contentChanges\":[{"
                     "\"range\":{\"start\":{\"line\":%u,\"character\":%u},\"end\":{\"line\":%u,"
                     "\"character\":%u}},\"text\":\"%s\"}]}}",
                     uris[u], next(in), l1, c1, l2, c2, js);
        if (!info.untrackable && sh[u].open) {
            size_t a = li_edit_offset(sh[u].text, sh[u].len, l1, c1, enc);
            size_t z = li_edit_offset(sh[u].text, sh[u].len, l2, c2, enc);
            shadow_splice(u, a, z, raw, rl);
        }
        send(st, LI_C2S, b, (size_t)n);
        return;
    }
    case 2:
        gen_text(in, js, sizeof js, raw, &rl);
        n = snprintf(b, sizeof b,
                     "{\"jsonrpc\":\"2.0\",\"method\":\"textDocument/didChange\",\"params\":{"
                     "\"textDocument\":{\"uri\":\"%s\",\"version\":%u},\"contentChanges\":[{"
                     "\"text\":\"%s\"}]}}",
                     uris[u], next(in), js);
        if (!info.untrackable && sh[u].open) shadow_set(u, raw, rl);
        send(st, LI_C2S, b, (size_t)n);
        return;
    case 3:
        n = snprintf(b, sizeof b,
                     "{\"jsonrpc\":\"2.0\",\"method\":\"textDocument/didClose\",\"params\":{"
                     "\"textDocument\":{\"uri\":\"%s\"}}}",
                     uris[u]);
        sh[u].open = 0;
        send(st, LI_C2S, b, (size_t)n);
        return;
    case 4:
        gen_id(in, id, sizeof id);
        n = snprintf(b, sizeof b, "{\"jsonrpc\":\"2.0\",\"id\":%s,\"method\":\"%s\"}", id,
                     methods[next(in) % 5]);
        send(st, LI_C2S, b, (size_t)n);
        return;
    case 5:
    case 8:
        gen_id(in, id, sizeof id);
        n = snprintf(b, sizeof b, "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":[{\"k\":%u}]}", id,
                     next(in));
        send(st, next(in) & 1 ? LI_S2C : LI_C2S, b, (size_t)n);
        return;
    case 6:
        gen_id(in, id, sizeof id);
        n = snprintf(b, sizeof b,
                     "{\"jsonrpc\":\"2.0\",\"method\":\"$/cancelRequest\",\"params\":{\"id\":%s}}",
                     id);
        send(st, next(in) & 1 ? LI_S2C : LI_C2S, b, (size_t)n);
        return;
    case 7:
        gen_id(in, id, sizeof id);
        n = snprintf(b, sizeof b,
                     "{\"jsonrpc\":\"2.0\",\"id\":%s,\"method\":\"workspace/configuration\","
                     "\"params\":{\"items\":[{\"section\":\"s%u\"}]}}",
                     id, next(in) % 3);
        send(st, LI_S2C, b, (size_t)n);
        return;
    case 9:
        /* A new initialize may change the encoding: documents stay, and the
         * shadow follows whatever encoding the tracker then reports. */
        n = snprintf(b, sizeof b,
                     "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"
                     "\"rootUri\":\"file:///w\",\"capabilities\":{\"general\":{"
                     "\"positionEncodings\":[\"%s\",\"%s\"]}}}}",
                     encs[next(in) % 4], encs[next(in) % 4]);
        send(st, LI_C2S, b, (size_t)n);
        return;
    case 10:
        n = snprintf(b, sizeof b,
                     "{\"jsonrpc\":\"2.0\",\"id\":0,\"result\":{\"capabilities\":{"
                     "\"positionEncoding\":\"%s\"}}}",
                     encs[next(in) % 4]);
        send(st, LI_S2C, b, (size_t)n);
        return;
    case 11:
        n = snprintf(b, sizeof b,
                     "{\"jsonrpc\":\"2.0\",\"method\":\"workspace/didChangeWorkspaceFolders\","
                     "\"params\":{\"event\":{\"added\":[{\"uri\":\"file:///f%u\",\"name\":\"f\"}],"
                     "\"removed\":[{\"uri\":\"file:///f%u\",\"name\":\"f\"}]}}}",
                     next(in) % 4, next(in) % 4);
        send(st, LI_C2S, b, (size_t)n);
        return;
    case 12:
        gen_text(in, js, sizeof js, raw, &rl);
        n = snprintf(b, sizeof b,
                     "{\"jsonrpc\":\"2.0\",\"method\":\"workspace/didChangeConfiguration\","
                     "\"params\":{\"settings\":\"%s\"}}",
                     js);
        send(st, LI_C2S, b, (size_t)n);
        return;
    case 13: {
        /* Some message over the inspection cap, cut after `keep` bytes. */
        static const char *const over[] = {
            "{\"jsonrpc\":\"2.0\",\"method\":\"textDocument/didChange\",\"params\":{",
            "{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{\"items\":[",
            "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"textDocument/hover\",\"params\":{",
            "{\"jsonrpc\":\"2.0\",\"method\":\"window/logMessage\",\"params\":{"};
        /* Mostly harmless ones: a lost didChange ends tracking. */
        unsigned k = next(in) % 16;
        const char *o = over[k == 0 ? 0 : 1 + k % 3];
        size_t keep = strlen(o) - next(in) % 8;
        enum li_dir d = next(in) & 1 ? LI_S2C : LI_C2S;
        send_over(st, d, o, keep);
        return;
    }
    default: {
        /* Raw input as one body, in either direction. */
        size_t k = next(in);
        enum li_dir d = next(in) & 1 ? LI_S2C : LI_C2S;
        if (k > in->n) k = in->n;
        char *body = malloc(k ? k : 1);
        memcpy(body, in->p, k);
        in->p += k;
        in->n -= k;
        /* The shadow cannot follow a change it did not build. */
        for (int i = 0; i < NURI; i++) {
            free(sh[i].text);
            sh[i].text = NULL;
            sh[i].open = 0;
        }
        struct li_msg m;
        resyncing = 1;
        if (li_classify(LI_LSP, body, k, 0, &m) == 0) {
            li_state_feed(st, d, &m, body, k);
            if (d == LI_C2S) against_jansson(st, body, k);
        }
        check(st);
        /* Resynchronise: close what the raw message may have opened. */
        for (int i = 0; i < NURI; i++) {
            n = snprintf(b, sizeof b,
                         "{\"jsonrpc\":\"2.0\",\"method\":\"textDocument/didClose\",\"params\":{"
                         "\"textDocument\":{\"uri\":\"%s\"}}}",
                         uris[i]);
            send(st, LI_C2S, b, (size_t)n);
        }
        resyncing = 0;
        check(st);
        free(body);
        return;
    }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct in in = {data, size};
    size_t cap = 256 + (size_t)next(&in) * 64;
    struct li_state *st = li_state_new(cap);
    if (!st) return 0;
    for (int i = 0; i < NURI; i++)
        sh[i].open = 0;
    while (in.n)
        step(st, &in);
    struct li_state_replay r;
    struct li_state_info info;
    li_state_info(st, &info);
    int rc = li_state_replay(st, "1", &r);
    if (!info.untrackable && info.have_initialize && rc != 0) abort();
    if (rc == 0) {
        for (size_t i = 0; i < r.n; i++) {
            json_t *v = json_loadb(r.bodies[i], r.lens[i], JSON_ALLOW_NUL, NULL);
            if (!v || strlen(r.bodies[i]) != r.lens[i]) abort();
            /* A replayed didOpen carries exactly the tracked text. */
            json_t *td = json_object_get(json_object_get(v, "params"), "textDocument");
            json_t *uri = json_object_get(td, "uri"), *text = json_object_get(td, "text");
            if (json_is_string(text) && json_is_string(uri) &&
                !memchr(json_string_value(uri), 0, json_string_length(uri))) {
                struct li_state_doc d;
                if (li_state_doc(st, json_string_value(uri), &d) != 0 ||
                    d.len != json_string_length(text) ||
                    memcmp(d.text, json_string_value(text), d.len) != 0)
                    abort();
            }
            json_decref(v);
        }
        if (r.n_inflight != info.inflight || r.n_s2c != info.pending_s2c) abort();
        li_state_replay_free(&r);
    }
    li_state_free(st);
    for (int i = 0; i < NURI; i++) {
        free(sh[i].text);
        sh[i].text = NULL;
    }
    return 0;
}
