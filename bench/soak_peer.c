/*
 * soak_peer: the server's side of the soak (scripts/soak.sh). It plays back
 * the server's half of a recorded session, in a loop: the script (the
 * directory $SOAK_SCRIPT, made by scripts/soak.sh from a session file) holds
 * the editor's messages in order (c2s.bin) and, for each, the frames the
 * server sent after it and before the editor's next message (s2c.bin); the
 * lengths are in index (one line "C2S_BYTES S2C_BYTES S2C_FRAMES" per editor
 * message).
 *
 * For the k-th complete frame it reads on stdin it writes block k mod n of
 * s2c.bin to stdout, so what comes back is what the recorded gopls said, at
 * the editor's pace. It checks nothing of what it reads but its framing (a
 * Content-Length header, then that many bytes). Exit 0 at EOF on stdin,
 * 1 on an I/O or framing error, 2 when the script cannot be read.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

enum { SP_BUF = 1 << 20, SP_HDR_MAX = 8 * 1024 };

struct sp_script {
    char *s2c;   /* every block, back to back */
    size_t *off; /* block k is s2c[off[k] .. off[k + 1]) */
    size_t n;    /* number of blocks (editor messages) */
};

static char *sp_slurp(const char *dir, const char *name, size_t *len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    for (size_t r; buf && (r = fread(buf + n, 1, cap - n, f)) > 0;) {
        n += r;
        if (n == cap) {
            char *nb = realloc(buf, cap * 2 + 1);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf) buf[n] = '\0';
    *len = n;
    return buf;
}

static int sp_load(const char *dir, struct sp_script *s)
{
    size_t len, ilen;
    s->s2c = sp_slurp(dir, "s2c.bin", &len);
    char *idx = sp_slurp(dir, "index", &ilen);
    if (!s->s2c || !idx) return -1;
    size_t lines = 0;
    for (size_t i = 0; i < ilen; i++)
        lines += idx[i] == '\n';
    s->off = calloc(lines + 1, sizeof *s->off);
    if (!s->off) return -1;
    char *p = idx;
    for (s->n = 0; s->n < lines; s->n++) {
        char *end;
        strtoull(p, &end, 10); /* the editor message's bytes: not needed here */
        unsigned long long s2c = strtoull(end, &end, 10);
        if (end == p) break;
        s->off[s->n + 1] = s->off[s->n] + (size_t)s2c;
        p = strchr(end, '\n');
        if (!p) break;
        p++;
    }
    free(idx);
    return s->n && s->off[s->n] == len ? 0 : -1;
}

static int sp_write_all(const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(STDOUT_FILENO, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            fprintf(stderr, "soak_peer: write stdout: %s\n", strerror(errno));
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The Content-Length of the header block hdr[0..len), or -1. */
static int64_t sp_content_length(const char *hdr, size_t len)
{
    static const char name[] = "content-length:";
    for (size_t i = 0; i < len;) {
        const char *eol = memchr(hdr + i, '\n', len - i);
        size_t llen = eol ? (size_t)(eol - (hdr + i)) + 1 : len - i;
        if (llen > sizeof name - 1 && !strncasecmp(hdr + i, name, sizeof name - 1)) {
            const char *v = hdr + i + sizeof name - 1;
            while (*v == ' ')
                v++;
            char *end;
            long long n = strtoll(v, &end, 10);
            return end == v || n < 0 ? -1 : n;
        }
        i += llen;
    }
    return -1;
}

int main(void)
{
    const char *dir = getenv("SOAK_SCRIPT");
    struct sp_script s = {0};
    if (!dir || sp_load(dir, &s)) {
        fprintf(stderr, "soak_peer: cannot read the script in $SOAK_SCRIPT (%s)\n",
                dir ? dir : "unset");
        return 2;
    }
    static char buf[SP_BUF];
    size_t have = 0, k = 0;
    int64_t body_left = -1; /* -1: reading a header */
    for (;;) {
        ssize_t r = read(STDIN_FILENO, buf + have, sizeof buf - have);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            fprintf(stderr, "soak_peer: read stdin: %s\n", strerror(errno));
            return 1;
        }
        if (r == 0) return have || body_left > 0 ? 1 : 0;
        have += (size_t)r;
        size_t pos = 0;
        for (;;) {
            if (body_left < 0) {
                char *end = memmem(buf + pos, have - pos, "\r\n\r\n", 4);
                if (!end) {
                    if (have - pos > SP_HDR_MAX) {
                        fprintf(stderr, "soak_peer: header over %d bytes\n", SP_HDR_MAX);
                        return 1;
                    }
                    break;
                }
                size_t hlen = (size_t)(end - (buf + pos)) + 4;
                body_left = sp_content_length(buf + pos, hlen);
                if (body_left < 0) {
                    fprintf(stderr, "soak_peer: a header without Content-Length\n");
                    return 1;
                }
                pos += hlen;
            }
            size_t take = have - pos < (uint64_t)body_left ? have - pos : (size_t)body_left;
            pos += take;
            body_left -= (int64_t)take;
            if (body_left > 0) break;
            body_left = -1;
            size_t b = k++ % s.n;
            if (sp_write_all(s.s2c + s.off[b], s.off[b + 1] - s.off[b])) return 1;
        }
        memmove(buf, buf + pos, have - pos);
        have -= pos;
    }
}
