/*
 * supervised: the supervised path alone, without pipes or processes: a
 * stream of COUNT notifications of BODY bytes goes through an lp_gate in
 * 64 KiB pieces, as the handshake supervision (or the relay, for the
 * editor's side) frames a direction; each frame is classified, as the
 * supervision does to decide about it, and recorded with
 * li_session_feed_frame (full recording, a sink that counts and drops).
 * Run it under `valgrind --tool=callgrind` for instruction counts
 * (docs/performance.md, session 5).
 *
 *   supervised BODY COUNT [ka | ka-twice]
 *
 * ka: `relay --connect`'s keep-alive after a loss as it is: the same, and
 * each frame classified once more, as the engine does with the piece it
 * gets (lp_ka_editor_piece). ka-twice: that path as it was before, for
 * comparison: each piece fed to li_session_feed (the session frames it),
 * then framed again by a gate whose frames are classified (the engine's
 * lp_ka_editor, since removed).
 *
 * Prints one line, `result mode=supervised body=... count=... line_bytes=...`.
 * Exit 0, or 2 for a usage error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inspect/li_session.h"
#include "resume/lp_gate.h"

#define PIECE (64 * 1024)

struct run {
    struct li_session *s;
    unsigned long long line_bytes;
    int engine; /* classify each frame once more, as keep-alive's engine does */
};

static void sink(void *ud, const char *line, size_t len)
{
    struct run *r = ud;
    (void)line;
    r->line_bytes += len;
}

static void sinkv(void *ud, const struct li_piece *v, int n)
{
    struct run *r = ud;
    for (int i = 0; i < n; i++)
        r->line_bytes += v[i].len;
}

static void on_frame(void *ud, const char *f, size_t n, size_t hdr)
{
    struct run *r = ud;
    struct li_msg m;
    li_classify(LI_LSP, f + hdr, n - hdr, 0, &m);
    li_session_feed_frame(r->s, LI_S2C, f, n, hdr, 1, &m);
    if (r->engine) li_classify(LI_LSP, f + hdr, n - hdr, 0, &m);
}

/* ka-twice: the engine's former own gate, after the session framed the piece. */
static void engine_frame(void *ud, const char *f, size_t n, size_t hdr)
{
    struct li_msg m;
    (void)ud;
    li_classify(LI_LSP, f + hdr, n - hdr, 0, &m);
}

static void engine_raw(void *ud, const char *d, size_t n)
{
    (void)ud, (void)d, (void)n;
}

static void on_raw(void *ud, const char *d, size_t n)
{
    struct run *r = ud;
    li_session_feed(r->s, LI_S2C, d, n, 1);
}

int main(int argc, char **argv)
{
    const char *mode = argc == 4 ? argv[3] : "supervised";
    int ok_args = argc == 3 || (argc == 4 && (!strcmp(mode, "ka") || !strcmp(mode, "ka-twice")));
    long body = ok_args ? atol(argv[1]) : 0, count = ok_args ? atol(argv[2]) : -1;
    if (body < 64 || count < 0) {
        fprintf(stderr, "usage: supervised BODY COUNT [ka | ka-twice] (BODY >= 64)\n");
        return 2;
    }
    static const char head[] = "{\"jsonrpc\":\"2.0\",\"method\":\"x\",\"params\":{\"s\":\"";
    char hdr[64];
    int h = snprintf(hdr, sizeof hdr, "Content-Length: %ld\r\n\r\n", body);
    size_t frame = (size_t)h + (size_t)body, len = frame * (size_t)count;
    char *in = malloc(len ? len : 1);
    if (!in) return 1;
    for (long i = 0; i < count; i++) {
        char *f = in + (size_t)i * frame;
        memcpy(f, hdr, (size_t)h);
        memcpy(f + h, head, sizeof head - 1);
        memset(f + h + sizeof head - 1, 'a', (size_t)body - (sizeof head - 1) - 3);
        memcpy(f + frame - 3, "\"}}", 3);
    }
    struct run r = {.engine = !strcmp(mode, "ka")};
    struct li_opts o = {LI_LSP, LI_REC_FULL, 0, 0, sink, &r, NULL, NULL, sinkv};
    r.s = li_session_new(&o);
    if (!r.s) return 1;
    struct lp_gate g = {0};
    for (size_t off = 0; off < len; off += PIECE) {
        size_t n = len - off < PIECE ? len - off : PIECE;
        if (!strcmp(mode, "ka-twice")) {
            li_session_feed(r.s, LI_S2C, in + off, n, 1);
            lp_gate_feed(&g, in + off, n, engine_frame, engine_raw, &r);
        } else {
            lp_gate_feed(&g, in + off, n, on_frame, on_raw, &r);
        }
    }
    lp_gate_free(&g);
    li_session_free(r.s);
    free(in);
    printf("result mode=%s body=%ld count=%ld line_bytes=%llu\n", mode, body, count, r.line_bytes);
    return 0;
}
