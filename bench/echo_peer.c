/*
 * echo_peer: the cheapest possible LSP "server", the far end of every
 * benchmark and a peer for tests.
 *
 * It reads Content-Length frames from stdin and writes each frame back to
 * stdout byte for byte (its header block as received, then its body). Bodies
 * are streamed, never held whole, so any frame size works in constant memory.
 * A frame's header is written only once it is complete; body bytes are
 * written as soon as they are read, so a small frame that arrives in one read
 * goes back in one write.
 *
 * Exit status: 0 on stdin EOF at a frame boundary, 1 on an I/O error,
 * 2 on a framing error (bad or missing Content-Length, header block over
 * 8 KiB, EOF inside a frame), each with one line on stderr saying where.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

enum {
    EP_BUF_SIZE = 1 << 20, /* one read: large, so bulk transfers cost few syscalls */
    EP_HDR_MAX = 8 * 1024, /* same cap as framing/ (docs/design.md) */
};

static unsigned char ep_buf[EP_BUF_SIZE];

static int ep_write_all(const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(STDOUT_FILENO, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            fprintf(stderr, "echo_peer: write stdout: %s\n", strerror(errno));
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Parses the header block hdr[0..len) (ending in the blank line). Returns the
 * Content-Length, or -1 when it is missing or not a plain decimal number. */
static int64_t ep_content_length(const unsigned char *hdr, size_t len)
{
    static const char name[] = "content-length:";
    const size_t nlen = sizeof(name) - 1;
    size_t i = 0;
    while (i < len) {
        const unsigned char *line = hdr + i;
        const unsigned char *eol = memchr(line, '\n', len - i);
        size_t llen = eol ? (size_t)(eol - line) + 1 : len - i;
        if (llen > nlen && strncasecmp((const char *)line, name, nlen) == 0) {
            size_t j = nlen;
            int64_t v = 0;
            int digits = 0;
            while (j < llen && (line[j] == ' ' || line[j] == '\t'))
                j++;
            for (; j < llen && line[j] >= '0' && line[j] <= '9'; j++, digits++) {
                if (v > (INT64_MAX - 9) / 10) return -1;
                v = v * 10 + (line[j] - '0');
            }
            while (j < llen && (line[j] == ' ' || line[j] == '\t'))
                j++;
            if (digits == 0 || j + 2 != llen || line[j] != '\r') return -1;
            return v;
        }
        i += llen;
    }
    return -1;
}

/* Finds the end of a header block ("\r\n\r\n") in p[0..n); returns the
 * length including it, or 0. `from` lets a rescan skip bytes already seen. */
static size_t ep_header_end(const unsigned char *p, size_t n, size_t from)
{
    size_t i = from > 3 ? from - 3 : 0;
    for (; i + 4 <= n; i++) {
        const unsigned char *cr = memchr(p + i, '\r', n - i);
        if (!cr) return 0;
        i = (size_t)(cr - p);
        if (i + 4 <= n && memcmp(cr, "\r\n\r\n", 4) == 0) return i + 4;
    }
    return 0;
}

int main(int argc, char **argv)
{
    (void)argv;
    if (argc > 1) {
        fprintf(stderr, "usage: echo_peer  (echoes Content-Length frames from stdin to stdout)\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);

    uint64_t offset = 0; /* stream offset of ep_buf[0], for error messages */
    size_t have = 0;     /* bytes kept in ep_buf: an unfinished header block */
    size_t scanned = 0;  /* of those, how many were already searched for its end */
    int64_t body_left = 0;

    for (;;) {
        ssize_t r = read(STDIN_FILENO, ep_buf + have, sizeof(ep_buf) - have);
        if (r < 0) {
            if (errno == EINTR) continue;
            fprintf(stderr, "echo_peer: read stdin: %s\n", strerror(errno));
            return 1;
        }
        if (r == 0) {
            if (body_left > 0 || have > 0) {
                fprintf(stderr, "echo_peer: EOF inside a frame at offset %llu\n",
                        (unsigned long long)(offset + have));
                return 2;
            }
            return 0;
        }
        size_t end = have + (size_t)r;
        size_t pos = 0; /* ep_buf[0..pos) is complete: whole headers and body bytes */
        while (pos < end) {
            if (body_left > 0) {
                size_t take = (uint64_t)body_left < end - pos ? (size_t)body_left : end - pos;
                pos += take;
                body_left -= (int64_t)take;
                continue;
            }
            size_t hlen = ep_header_end(ep_buf + pos, end - pos, scanned);
            if (hlen == 0 && end - pos <= EP_HDR_MAX) {
                scanned = end - pos;
                break;
            }
            if (hlen == 0 || hlen > EP_HDR_MAX) {
                fprintf(stderr, "echo_peer: header block over %d bytes at offset %llu\n",
                        EP_HDR_MAX, (unsigned long long)(offset + pos));
                return 2;
            }
            body_left = ep_content_length(ep_buf + pos, hlen);
            if (body_left < 0) {
                fprintf(stderr, "echo_peer: bad or missing Content-Length at offset %llu\n",
                        (unsigned long long)(offset + pos));
                return 2;
            }
            pos += hlen;
            scanned = 0;
        }
        if (ep_write_all(ep_buf, pos) < 0) return 1;
        have = end - pos;
        memmove(ep_buf, ep_buf + pos, have);
        offset += pos;
    }
}
