/*
 * libFuzzer target for framing/lf. Runs lf_parse on the input, and the
 * stream framer over the input whole, cut at a point taken from its first
 * bytes, byte at a time, and in pieces of pseudo-random sizes. Inputs
 * whose first byte is a multiple of 16 are also repeated past 8 KiB, so
 * the header-size limit is reached without slowing every run down.
 * abort()s when an invariant breaks:
 *   - lf_parse never claims more bytes than it was given, nor more than
 *     LF_MAX_HEADER_BLOCK, and its result does not depend on last_len;
 *   - every byte fed is reported exactly once, in order, as header, body or
 *     skipped, and body bytes are the input's bytes, passed in place;
 *   - the callbacks (with bodies merged) do not depend on the chunking.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "framing/lf.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_framing: %s:%d: %s\n", __FILE__, __LINE__, #cond);               \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

enum { EV_HEADER = 1, EV_BODY, EV_END, EV_ERROR, EV_SKIP, EV_FINISH };

struct ev {
    int kind, code;
    uint64_t off, n;
};

struct rec {
    const uint8_t *in;
    size_t in_len;
    const char *chunk;
    size_t chunk_len;
    uint64_t cursor;
    struct ev *ev;
    size_t n, cap;
};

static void add(struct rec *r, int kind, int code, uint64_t off, uint64_t n)
{
    if (kind == EV_BODY && r->n > 0 && r->ev[r->n - 1].kind == EV_BODY) {
        r->ev[r->n - 1].n += n;
        return;
    }
    CHECK(r->n < r->cap);
    r->ev[r->n++] = (struct ev){kind, code, off, n};
}

static void on_header(void *ud, const struct lf_frame *f, uint64_t off)
{
    struct rec *r = ud;
    CHECK(off == r->cursor);
    CHECK(f->header_len > 0 && f->header_len <= LF_MAX_HEADER_BLOCK);
    CHECK(off + f->header_len <= r->in_len);
    CHECK(f->num_headers >= 1 && f->num_headers <= LF_MAX_HEADERS);
    add(r, EV_HEADER, (int)f->header_len, off, f->content_length);
    r->cursor += f->header_len;
}

static void on_body(void *ud, const char *data, size_t len)
{
    struct rec *r = ud;
    CHECK(len > 0);
    CHECK(data >= r->chunk && data + len <= r->chunk + r->chunk_len);
    CHECK(r->cursor + len <= r->in_len);
    CHECK(memcmp(data, r->in + r->cursor, len) == 0);
    add(r, EV_BODY, 0, r->cursor, len);
    r->cursor += len;
}

static void on_end(void *ud)
{
    add(ud, EV_END, 0, 0, 0);
}

static void on_error(void *ud, int code, uint64_t off)
{
    struct rec *r = ud;
    CHECK(code < 0 && strcmp(lf_errname(code), "LF_EUNKNOWN") != 0);
    if (code != LF_PARTIAL) CHECK(off >= r->cursor && off < r->in_len);
    add(r, EV_ERROR, code, off, 0);
}

static void on_skip(void *ud, uint64_t off, uint64_t n)
{
    struct rec *r = ud;
    CHECK(off == r->cursor && n > 0);
    add(r, EV_SKIP, 0, off, n);
    r->cursor += n;
}

static const struct lf_stream_cb cb = {on_header, on_body, on_end, on_error, on_skip};
static struct lf_stream stream;

/* Feeds the input in pieces: the first ends at `cut`; the others are
 * `step` bytes, or of pseudo-random sizes from `seed` when step is 0. */
static void run(struct rec *r, const uint8_t *in, size_t len, size_t cut, size_t step,
                uint32_t seed, uint64_t max_len)
{
    r->in = in;
    r->in_len = len;
    r->cursor = 0;
    r->n = 0;
    lf_stream_init(&stream, max_len, &cb, r);
    for (size_t from = 0; from < len;) {
        size_t n = step;
        if (n == 0) {
            seed = seed * 1103515245u + 12345u;
            n = 1 + (seed >> 16) % 64;
        }
        size_t to = from == 0 && cut > 0 ? cut : from + n;
        if (to > len) to = len;
        r->chunk = (const char *)in + from;
        r->chunk_len = to - from;
        lf_stream_feed(&stream, r->chunk, r->chunk_len);
        CHECK(stream.offset == to);
        from = to;
    }
    add(r, EV_FINISH, lf_stream_finish(&stream), 0, 0);
    CHECK(r->cursor == len);
}

static void same_events(const struct rec *a, const struct rec *b)
{
    CHECK(a->n == b->n);
    for (size_t i = 0; i < a->n; i++)
        CHECK(a->ev[i].kind == b->ev[i].kind && a->ev[i].code == b->ev[i].code &&
              a->ev[i].off == b->ev[i].off && a->ev[i].n == b->ev[i].n);
}

static void check_parse(const char *buf, size_t len, size_t cut, uint64_t max_len)
{
    static struct lf_frame f, g;
    size_t at = (size_t)-1, at2 = (size_t)-1;
    int r = lf_parse(buf, len, 0, max_len, &f, &at);

    if (r > 0) {
        CHECK((size_t)r <= len && r <= LF_MAX_HEADER_BLOCK && f.header_len == (size_t)r);
        CHECK(f.num_headers >= 1 && f.num_headers <= LF_MAX_HEADERS);
        CHECK(f.num_unknown < f.num_headers);
        for (size_t i = 0; i < f.num_headers; i++) {
            const struct lf_header *h = &f.headers[i];
            CHECK(h->name >= buf && h->name + h->name_len <= buf + r && h->name_len > 0);
            CHECK(h->value >= buf && h->value + h->value_len <= buf + r);
        }
        CHECK(max_len == 0 || f.content_length <= max_len);
    } else if (r != LF_PARTIAL) {
        CHECK(strcmp(lf_errname(r), "LF_EUNKNOWN") != 0);
        CHECK(at < len && at < LF_MAX_HEADER_BLOCK);
    } else {
        CHECK(len < LF_MAX_HEADER_BLOCK);
    }

    /* A prefix is partial or already decided the same way; the whole with
     * last_len = that prefix gives the same answer as without it. */
    int p = lf_parse(buf, cut, 0, max_len, &g, &at2);
    if (p != LF_PARTIAL) {
        CHECK(p == r);
        if (r < 0) CHECK(at2 == at);
        return;
    }
    int q = lf_parse(buf, len, cut, max_len, &g, &at2);
    CHECK(q == r);
    if (r < 0 && r != LF_PARTIAL) CHECK(at2 == at);
    if (r > 0) CHECK(g.content_length == f.content_length && g.num_headers == f.num_headers);
}

/* Whether buf[0..n) matches the first n bytes of "content-length:",
 * ignoring case: a second, naive implementation to check lf_resync by. */
static int is_pattern_prefix(const char *buf, size_t n)
{
    static const char pat[] = "content-length:";
    for (size_t i = 0; i < n; i++) {
        char c = buf[i];
        if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
        if (c != pat[i]) return 0;
    }
    return 1;
}

static void check_resync(const char *buf, size_t len)
{
    int found = -1;
    size_t at = lf_resync(buf, len, &found), first = len;

    for (size_t i = 0; i + 15 <= len && first == len; i++)
        if (is_pattern_prefix(buf + i, 15)) first = i;
    CHECK(at <= len);
    if (found) {
        CHECK(first == at);
        return;
    }
    CHECK(found == 0 && first == len && len - at < 15);
    CHECK(is_pattern_prefix(buf + at, len - at));
    for (size_t i = len > 14 ? len - 14 : 0; i < at; i++)
        CHECK(!is_pattern_prefix(buf + i, len - i));
}

/* Event arrays grow and are kept: allocating them per run dominated. */
static void reserve(struct rec *r, size_t cap)
{
    if (r->cap >= cap) return;
    free(r->ev);
    r->ev = malloc(cap * sizeof(struct ev));
    CHECK(r->ev != NULL);
    r->cap = cap;
}

static void check_stream(const uint8_t *data, size_t size, size_t at, uint64_t max_len,
                         int byte_at_a_time)
{
    static struct rec whole, cut, bytes, pieces;
    size_t cap = 2 * size + 8;

    reserve(&whole, cap);
    reserve(&cut, cap);
    reserve(&bytes, cap);
    reserve(&pieces, cap);
    run(&whole, data, size, 0, size, 0, max_len);
    run(&cut, data, size, at, size, 0, max_len);
    run(&pieces, data, size, 0, 0, (uint32_t)size ^ (uint32_t)at, max_len);
    same_events(&whole, &cut);
    same_events(&whole, &pieces);
    if (byte_at_a_time) {
        run(&bytes, data, size, 0, 1, 0, max_len);
        same_events(&whole, &bytes);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t at = size >= 2 ? ((size_t)data[0] | (size_t)data[1] << 8) % (size + 1) : 0;
    uint64_t max_len = size > 0 && (data[0] & 0x80) ? 64 : 0;

    check_parse((const char *)data, size, at, max_len);
    check_resync((const char *)data, size);
    check_stream(data, size, at, max_len, 1);

    if (size > 0 && (data[0] & 0x0f) == 0) {
        size_t big_len = (LF_MAX_HEADER_BLOCK + 2 * size) / size * size;
        uint8_t *big = malloc(big_len);
        CHECK(big != NULL);
        for (size_t i = 0; i < big_len; i += size)
            memcpy(big + i, data, size);
        check_parse((const char *)big, big_len, big_len / 2, max_len);
        check_stream(big, big_len, big_len / 2 + 1, max_len, 0);
        free(big);
    }
    return 0;
}
