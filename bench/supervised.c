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
 *   supervised BODY COUNT
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
}

static void on_raw(void *ud, const char *d, size_t n)
{
    struct run *r = ud;
    li_session_feed(r->s, LI_S2C, d, n, 1);
}

int main(int argc, char **argv)
{
    long body = argc == 3 ? atol(argv[1]) : 0, count = argc == 3 ? atol(argv[2]) : -1;
    if (body < 64 || count < 0) {
        fprintf(stderr, "usage: supervised BODY COUNT (BODY >= 64)\n");
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
    struct run r = {0};
    struct li_opts o = {LI_LSP, LI_REC_FULL, 0, 0, sink, &r, NULL, NULL, sinkv};
    r.s = li_session_new(&o);
    if (!r.s) return 1;
    struct lp_gate g = {0};
    for (size_t off = 0; off < len; off += PIECE)
        lp_gate_feed(&g, in + off, len - off < PIECE ? len - off : PIECE, on_frame, on_raw, &r);
    lp_gate_free(&g);
    li_session_free(r.s);
    free(in);
    printf("result mode=supervised body=%ld count=%ld line_bytes=%llu\n", body, count,
           r.line_bytes);
    return 0;
}
