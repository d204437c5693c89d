/*
 * inspect: lsptap's inspection path alone, without pipes or processes. It
 * reads a stream of frames from stdin (say, `driver frame 1024`), then
 * feeds it ROUNDS times to one li_session in 64 KiB pieces, as the relay's
 * reads deliver it, alternating the direction, with the given recording
 * mode and a sink that counts the lines and drops them (taking message
 * lines in pieces, as lsptap's session writer does). Run it under
 * `valgrind --tool=callgrind` for instruction counts that other load on the
 * machine does not change (docs/performance.md).
 *
 *   inspect ROUNDS full|meta|off < FRAMES
 *
 * Prints one line, `result mode=inspect record=... mib=... seconds=...
 * mib_s=... lines=... line_mib=...`. Exit 0, or 2 for a usage error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "inspect/li_session.h"

#define PIECE (64 * 1024)

struct tally {
    unsigned long long lines, bytes;
};

static void count_line(void *ud, const char *line, size_t len)
{
    struct tally *t = ud;
    (void)line;
    t->lines++;
    t->bytes += len;
}

static void count_pieces(void *ud, const struct li_piece *v, int n)
{
    struct tally *t = ud;
    t->lines++;
    for (int i = 0; i < n; i++)
        t->bytes += v[i].len;
}

static char *read_all(size_t *len)
{
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap);
    for (size_t r; buf && (r = fread(buf + n, 1, cap - n, stdin)) > 0;) {
        n += r;
        if (n == cap) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb) free(buf);
            buf = nb;
        }
    }
    *len = n;
    return buf;
}

int main(int argc, char **argv)
{
    long rounds = argc == 3 ? strtol(argv[1], NULL, 10) : 0;
    enum li_record rec = LI_REC_FULL;
    if (argc == 3 && strcmp(argv[2], "meta") == 0)
        rec = LI_REC_META;
    else if (argc == 3 && strcmp(argv[2], "off") == 0)
        rec = LI_REC_OFF;
    else if (argc == 3 && strcmp(argv[2], "full") != 0)
        rounds = 0;
    if (rounds <= 0) {
        fprintf(stderr, "usage: inspect ROUNDS full|meta|off < FRAMES\n");
        return 2;
    }
    size_t len;
    char *in = read_all(&len);
    if (!in || !len) {
        fprintf(stderr, "inspect: nothing on stdin\n");
        return 2;
    }
    struct tally t = {0, 0};
    struct li_opts o = {LI_LSP, rec, 0, 0, count_line, &t, NULL, NULL, count_pieces};
    struct li_session *s = li_session_new(&o);
    if (!s) return 1;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long r = 0; r < rounds; r++)
        for (size_t off = 0; off < len; off += PIECE)
            li_session_feed(s, r % 2 ? LI_S2C : LI_C2S, in + off,
                            len - off < PIECE ? len - off : PIECE, (uint64_t)r);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    double mib = (double)len * (double)rounds / (1024.0 * 1024.0);
    printf("result mode=inspect record=%s mib=%.1f seconds=%.3f mib_s=%.1f lines=%llu "
           "line_mib=%.1f\n",
           argv[2], mib, secs, secs > 0 ? mib / secs : 0, t.lines,
           (double)t.bytes / (1024.0 * 1024.0));
    li_session_free(s);
    free(in);
    return 0;
}
