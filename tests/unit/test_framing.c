/*
 * framing/lf: parser, resync, writer and stream framer.
 *
 * Every parse case is fed whole, as every prefix, split at every point
 * (with last_len), byte at a time, and through the stream framer; every
 * input sits at the end of a page followed by a PROT_NONE page, so a
 * one-byte over-read crashes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "framing/lf.h"
#include "guard_page.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define GUARD_CAP (64 * 1024)

static struct guard_page guard;

static int setup(void **state)
{
    (void)state;
    return guard_page_init(&guard, GUARD_CAP);
}

static int teardown(void **state)
{
    (void)state;
    guard_page_free(&guard);
    return 0;
}

/* Printable form of test input, for failure messages. */
static const char *show(const char *s, size_t n)
{
    static char out[200];
    size_t o = 0;

    for (size_t i = 0; i < n && o < sizeof(out) - 8; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\r')
            o += (size_t)snprintf(out + o, sizeof(out) - o, "\\r");
        else if (c == '\n')
            o += (size_t)snprintf(out + o, sizeof(out) - o, "\\n");
        else if (c < 0x20 || c >= 0x7f)
            o += (size_t)snprintf(out + o, sizeof(out) - o, "\\x%02x", c);
        else
            out[o++] = (char)c;
    }
    if (o >= sizeof(out) - 8) o += (size_t)snprintf(out + o, sizeof(out) - o, "...");
    out[o] = '\0';
    return out;
}

/* ==== lf_parse cases ==== */

struct pcase {
    const char *in;
    size_t len;
    int want;    /* header bytes, or the LF_E* code */
    size_t at;   /* error offset */
    uint64_t cl; /* Content-Length */
    size_t headers, unknown;
    const char *type; /* Content-Type value, NULL when absent */
};

/* clang-format off */
#define OK(s, cl, nh, nu, type) {s, sizeof(s) - 1, (int)(sizeof(s) - 1), 0, cl, nh, nu, type}
#define BAD(s, code, at) {s, sizeof(s) - 1, code, at, 0, 0, 0, NULL}
/* clang-format on */

static const struct pcase cases[] = {
    OK("Content-Length: 5\r\n\r\n", 5, 1, 0, NULL),
    OK("Content-Length: 52\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n", 52,
       2, 0, "application/vscode-jsonrpc; charset=utf-8"),
    OK("Content-Length: 52\r\nContent-Type: application/vscode-jsonrpc; charset=utf8\r\n\r\n", 52,
       2, 0, "application/vscode-jsonrpc; charset=utf8"),
    OK("Content-Type: application/vscode-jsonrpc; charset=\"UTF-8\"\r\nContent-Length: 2\r\n\r\n",
       2, 2, 0, "application/vscode-jsonrpc; charset=\"UTF-8\""),
    OK("Content-Type: application/vscode-jsonrpc; a=b; charset=utf-8\r\nContent-Length: 1\r\n\r\n",
       1, 2, 0, "application/vscode-jsonrpc; a=b; charset=utf-8"),
    OK("CONTENT-LENGTH: 7\r\ncontent-type: application/json\r\n\r\n", 7, 2, 0, "application/json"),
    OK("Content-Length: 1\r\nContent-Type: a/b; x; charset = \"utf-8\" ; y=z\r\n\r\n", 1, 2, 0,
       "a/b; x; charset = \"utf-8\" ; y=z"),
    OK("Content-Type: a/b\r\nContent-Type: c/d; charset=utf8\r\nContent-Length: 1\r\n\r\n", 1, 3, 0,
       "a/b"),
    OK("content-length: 7\r\n\r\n", 7, 1, 0, NULL),
    OK("Content-Length: 3\r\nX-Trace: abc\r\n\r\n", 3, 2, 1, NULL),
    OK("X-Trace: a:b:c\r\nContent-Length: 1\r\n\r\n", 1, 2, 1, NULL),
    OK("Content-Length: 4\r\nX-Empty:\r\n\r\n", 4, 2, 1, NULL),
    OK("Content-Length: 1\r\nX!#$%&'*+-.^_`|~9z: v\r\n\r\n", 1, 2, 1, NULL),
    OK("Content-Length: 1\r\nX-Name: caf\xc3\xa9\t\r\n\r\n", 1, 2, 1, NULL),
    OK("Content-Length:   12 \t\r\n\r\n", 12, 1, 0, NULL),
    OK("Content-Length:12\r\n\r\n", 12, 1, 0, NULL),
    OK("Content-Length: 007\r\n\r\n", 7, 1, 0, NULL),
    OK("Content-Length: 0\r\n\r\n", 0, 1, 0, NULL),
    OK("Content-Length: 1099511627776\r\n\r\n", (uint64_t)1 << 40, 1, 0, NULL),

    BAD("Content-Length: -5\r\n\r\n", LF_EBADLEN, 16),
    BAD("Content-Length: +5\r\n\r\n", LF_EBADLEN, 16),
    BAD("Content-Length: 1 2\r\n\r\n", LF_EBADLEN, 18),
    BAD("Content-Length: 12a\r\n\r\n", LF_EBADLEN, 18),
    BAD("Content-Length: 0x1F\r\n\r\n", LF_EBADLEN, 17),
    BAD("Content-Length: \r\n\r\n", LF_EBADLEN, 16),
    BAD("Content-Length: 18446744073709551616\r\n\r\n", LF_EBADLEN, 16),
    BAD("Content-Length: 1099511627777\r\n\r\n", LF_EBADLEN, 16),
    BAD("\r\n", LF_ENOLEN, 0),
    BAD("X-Trace: 1\r\n\r\n", LF_ENOLEN, 0),
    BAD("Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n", LF_ENOLEN, 0),
    BAD("Content-Length: 5\n\n", LF_EBADHDR, 17),
    BAD("Content-Length: 5\r\n\n", LF_EBADHDR, 19),
    BAD("Content-Length: 5\r\r\n\r\n", LF_EBADHDR, 17),
    BAD("Content-Length: 5\rX\n\r\n", LF_EBADHDR, 17),
    BAD("Content-Length: 5\rX", LF_EBADHDR, 17),
    BAD("Content-Length: 5\rContent-Type: x\r\r", LF_EBADHDR, 17),
    BAD("Content-Length 5\r\n\r\n", LF_EBADHDR, 14),
    BAD(": 5\r\nContent-Length: 5\r\n\r\n", LF_EBADHDR, 0),
    BAD("Content Length: 5\r\n\r\n", LF_EBADHDR, 7),
    BAD(" Content-Length: 5\r\n\r\n", LF_EBADHDR, 0),
    BAD("Content-Length: 5\r\nX-A\r\n\r\n", LF_EBADHDR, 22),
    BAD("Content-Length: 1\r\nX(: v\r\n\r\n", LF_EBADHDR, 20),
    BAD("Content-Length: 1\r\nX\x80: v\r\n\r\n", LF_EBADHDR, 20),
    BAD("Content-Length: 5\x01\r\n\r\n", LF_EBADLEN, 17),
    BAD("Content-Length: 5\r\nX: a\x01\r\n\r\n", LF_EBADHDR, 23),
    BAD("Content-Length: 5\r\nX: \x7f\r\n\r\n", LF_EBADHDR, 22),
    BAD("{\"jsonrpc\":\"2.0\"}Content-Length: 2\r\n\r\n", LF_EBADHDR, 0),
    BAD("X-A\r\nContent-Length: -1\r\n\r\n", LF_EBADHDR, 3),
    BAD("Content-Length: 5\r\nContent-Length: 5\r\n\r\n", LF_EDUPLEN, 19),
    BAD("Content-Length: 5\r\ncontent-length: 6\r\n\r\n", LF_EDUPLEN, 19),
    BAD("Content-Length: 5\r\nContent-Type: application/vscode-jsonrpc; charset=latin1\r\n\r\n",
        LF_EBADTYPE, 69),
    BAD("Content-Type: text/plain; charset=\"utf-16\"\r\nContent-Length: 5\r\n\r\n", LF_EBADTYPE,
        34),
};

static const char *case_name;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            print_error("case \"%s\": ", case_name);                                               \
            fail_msg(__VA_ARGS__);                                                                 \
        }                                                                                          \
    } while (0)

/* The outcome of parsing all of c->in, whatever the path that led there. */
static void expect_outcome(const struct pcase *c, int r, const struct lf_frame *f, size_t at,
                           const char *how)
{
    CHECK(r == c->want, "%s: returned %d (%s), want %d (%s)", how, r, lf_errname(r), c->want,
          lf_errname(c->want));
    if (c->want < 0) {
        CHECK(at == c->at, "%s: error at %zu, want %zu", how, at, c->at);
        return;
    }
    CHECK(f->header_len == (size_t)c->want, "%s: header_len %zu", how, f->header_len);
    CHECK(f->content_length == c->cl, "%s: Content-Length %llu, want %llu", how,
          (unsigned long long)f->content_length, (unsigned long long)c->cl);
    CHECK(f->num_headers == c->headers, "%s: %zu headers, want %zu", how, f->num_headers,
          c->headers);
    CHECK(f->num_unknown == c->unknown, "%s: %zu unknown, want %zu", how, f->num_unknown,
          c->unknown);
    if (c->type == NULL) {
        CHECK(f->content_type == NULL, "%s: unexpected Content-Type", how);
    } else {
        CHECK(f->content_type != NULL && f->content_type_len == strlen(c->type) &&
                  memcmp(f->content_type, c->type, f->content_type_len) == 0,
              "%s: Content-Type differs", how);
    }
}

static int parse_at_guard(const char *in, size_t n, size_t last_len, struct lf_frame *f, size_t *at)
{
    const char *p = guard_page_place(&guard, in, n);
    *at = (size_t)-1;
    return lf_parse(p, n, last_len, 0, f, at);
}

static void check_whole(const struct pcase *c)
{
    struct lf_frame f;
    size_t at;
    int r = parse_at_guard(c->in, c->len, 0, &f, &at);
    expect_outcome(c, r, &f, at, "whole");
}

/* Every prefix is LF_PARTIAL until the block is decided, and the same
 * outcome from then on; a valid block is decided only by its last byte. */
static void check_prefixes(const struct pcase *c)
{
    int decided = 0;

    for (size_t n = 0; n < c->len; n++) {
        struct lf_frame f;
        size_t at;
        int r = parse_at_guard(c->in, n, 0, &f, &at);
        if (r == LF_PARTIAL) {
            CHECK(!decided, "prefix %zu is partial after a shorter one was decided", n);
            continue;
        }
        CHECK(c->want < 0, "prefix %zu of a valid block returned %d", n, r);
        decided = 1;
        expect_outcome(c, r, &f, at, "prefix");
    }
}

/* Split at every point: the first part, then the whole with last_len. */
static void check_splits(const struct pcase *c)
{
    for (size_t k = 0; k < c->len; k++) {
        struct lf_frame f;
        size_t at;
        int r = parse_at_guard(c->in, k, 0, &f, &at);
        if (r != LF_PARTIAL) continue;
        r = parse_at_guard(c->in, c->len, k, &f, &at);
        expect_outcome(c, r, &f, at, "split");
    }
}

static void check_byte_at_a_time(const struct pcase *c)
{
    size_t last = 0;

    for (size_t n = 1; n <= c->len; n++) {
        struct lf_frame f;
        size_t at;
        int r = parse_at_guard(c->in, n, last, &f, &at);
        if (r == LF_PARTIAL) {
            CHECK(n < c->len, "whole input still partial byte at a time");
            last = n;
            continue;
        }
        expect_outcome(c, r, &f, at, "byte at a time");
        return;
    }
}

static void run_case(const struct pcase *c)
{
    case_name = show(c->in, c->len);
    check_whole(c);
    check_prefixes(c);
    check_splits(c);
    check_byte_at_a_time(c);
}

static void test_parse_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++)
        run_case(&cases[i]);
}

/* Builds "Content-Length: 1\r\nX-Pad: aaa...\r\n\r\n" of exactly `total` bytes. */
static char *padded_block(size_t total)
{
    static const char head[] = "Content-Length: 1\r\nX-Pad: ";
    char *b = malloc(total + 1);
    size_t pad = total - (sizeof(head) - 1) - 4;

    memcpy(b, head, sizeof(head) - 1);
    memset(b + sizeof(head) - 1, 'a', pad);
    memcpy(b + total - 4, "\r\n\r\n", 4);
    b[total] = '\0';
    return b;
}

static void test_parse_block_of_8192_bytes_is_allowed(void **state)
{
    (void)state;
    char *b = padded_block(LF_MAX_HEADER_BLOCK);
    struct pcase c = {b, LF_MAX_HEADER_BLOCK, LF_MAX_HEADER_BLOCK, 0, 1, 2, 1, NULL};
    run_case(&c);
    free(b);
}

static void test_parse_block_of_8193_bytes_is_too_big(void **state)
{
    (void)state;
    char *b = padded_block(LF_MAX_HEADER_BLOCK + 1);
    struct pcase c = {b, LF_MAX_HEADER_BLOCK + 1, LF_EHDRTOOBIG, 0, 0, 0, 0, NULL};
    struct lf_frame f;
    size_t at;

    run_case(&c);
    assert_int_equal(parse_at_guard(b, LF_MAX_HEADER_BLOCK - 1, 0, &f, &at), LF_PARTIAL);
    assert_int_equal(parse_at_guard(b, LF_MAX_HEADER_BLOCK, 0, &f, &at), LF_EHDRTOOBIG);
    free(b);
}

static void test_parse_8192_bytes_without_line_end_is_too_big(void **state)
{
    (void)state;
    char *b = malloc(LF_MAX_HEADER_BLOCK);
    struct lf_frame f;
    size_t at;

    memset(b, 'a', LF_MAX_HEADER_BLOCK);
    assert_int_equal(parse_at_guard(b, LF_MAX_HEADER_BLOCK - 1, 0, &f, &at), LF_PARTIAL);
    assert_int_equal(parse_at_guard(b, LF_MAX_HEADER_BLOCK, 0, &f, &at), LF_EHDRTOOBIG);
    assert_int_equal(at, 0);
    free(b);
}

/* Blocks whose 8192nd byte falls at every awkward place: inside a line's
 * "\r\n", right after a line, inside the blank line, inside a value. */
static void test_parse_limit_inside_a_line_end(void **state)
{
    (void)state;
    for (size_t total = LF_MAX_HEADER_BLOCK + 1; total <= LF_MAX_HEADER_BLOCK + 4; total++) {
        char *b = padded_block(total);
        struct pcase c = {b, total, LF_EHDRTOOBIG, 0, 0, 0, 0, NULL};
        run_case(&c);
        free(b);
    }
}

static void test_parse_limit_inside_a_value(void **state)
{
    (void)state;
    static const char *const heads[] = {"Content-Length: 1\r\nX-Pad: a", "Content-Length: 0",
                                        "Content-Length: 1 ", "Content-Length: 1\r\nX:  "};
    char *b = malloc(LF_MAX_HEADER_BLOCK + 1);

    for (size_t i = 0; i < ARRAY_LEN(heads); i++) {
        size_t n = strlen(heads[i]);
        struct pcase c = {b, LF_MAX_HEADER_BLOCK + 1, LF_EHDRTOOBIG, 0, 0, 0, 0, NULL};
        memset(b, heads[i][n - 1], LF_MAX_HEADER_BLOCK + 1);
        memcpy(b, heads[i], n);
        run_case(&c);
    }
    free(b);
}

static void test_parse_last_len_past_the_end_is_ignored(void **state)
{
    (void)state;
    static const char in[] = "Content-Length: 5\r\n\r\n";
    struct lf_frame f;

    assert_int_equal(lf_parse(in, sizeof(in) - 1, 1000, 0, &f, NULL), sizeof(in) - 1);
    assert_int_equal(lf_parse(in, sizeof(in) - 1, sizeof(in) - 1, 0, &f, NULL), sizeof(in) - 1);
}

static void test_parse_error_before_the_limit_wins(void **state)
{
    (void)state;
    char *b = padded_block(LF_MAX_HEADER_BLOCK + 100);
    struct pcase c = {b, LF_MAX_HEADER_BLOCK + 100, LF_EBADLEN, 16, 0, 0, 0, NULL};

    b[16] = 'x';
    run_case(&c);
    free(b);
}

/* "Content-Length: 1\r\n" followed by n-1 lines "X-N: v\r\n" and the blank line. */
static size_t many_headers(char *b, size_t n)
{
    size_t o = (size_t)sprintf(b, "Content-Length: 1\r\n");
    for (size_t i = 1; i < n; i++)
        o += (size_t)sprintf(b + o, "X-%02zu: v\r\n", i);
    return o + (size_t)sprintf(b + o, "\r\n");
}

static void test_parse_32_headers_are_allowed(void **state)
{
    (void)state;
    char b[1024];
    size_t n = many_headers(b, LF_MAX_HEADERS);
    struct pcase c = {b, n, (int)n, 0, 1, LF_MAX_HEADERS, LF_MAX_HEADERS - 1, NULL};
    run_case(&c);
}

static void test_parse_33_headers_are_too_many(void **state)
{
    (void)state;
    char b[1024];
    size_t n = many_headers(b, LF_MAX_HEADERS + 1);
    size_t line33 = 19 + (LF_MAX_HEADERS - 1) * 9; /* each "X-NN: v\r\n" is 9 bytes */
    struct pcase c = {b, n, LF_ETOOMANY, line33, 0, 0, 0, NULL};

    assert_memory_equal(b + line33, "X-32: v\r\n", 9);
    run_case(&c);
}

static void test_parse_header_fields_point_into_the_buffer(void **state)
{
    (void)state;
    static const char in[] = "Content-Length:   12 \t\r\nX-Trace:  a b \r\n\r\n";
    const char *p = guard_page_place(&guard, in, sizeof(in) - 1);
    struct lf_frame f;

    assert_int_equal(lf_parse(p, sizeof(in) - 1, 0, 0, &f, NULL), sizeof(in) - 1);
    assert_int_equal(f.num_headers, 2);
    assert_ptr_equal(f.headers[0].name, p);
    assert_int_equal(f.headers[0].name_len, 14);
    assert_ptr_equal(f.headers[0].value, p + 18);
    assert_int_equal(f.headers[0].value_len, 2);
    assert_ptr_equal(f.headers[1].name, p + 24);
    assert_int_equal(f.headers[1].name_len, 7);
    assert_memory_equal(f.headers[1].value, "a b", 3);
    assert_int_equal(f.headers[1].value_len, 3);
}

static void test_parse_max_len_is_inclusive(void **state)
{
    (void)state;
    static const char in[] = "Content-Length: 100\r\n\r\n";
    struct lf_frame f;
    size_t at = 0;

    assert_int_equal(lf_parse(in, sizeof(in) - 1, 0, 100, &f, NULL), sizeof(in) - 1);
    assert_int_equal(lf_parse(in, sizeof(in) - 1, 0, 99, &f, &at), LF_EBADLEN);
    assert_int_equal(at, 16);
}

static void test_parse_empty_input_is_partial(void **state)
{
    (void)state;
    struct lf_frame f;
    assert_int_equal(lf_parse("", 0, 0, 0, &f, NULL), LF_PARTIAL);
}

/* ==== errors, resync, writer ==== */

static void test_every_code_has_a_name_and_a_message(void **state)
{
    (void)state;
    static const struct {
        int code;
        const char *name;
    } codes[] = {
        {LF_PARTIAL, "LF_PARTIAL"},       {LF_EBADLEN, "LF_EBADLEN"},   {LF_ENOLEN, "LF_ENOLEN"},
        {LF_EHDRTOOBIG, "LF_EHDRTOOBIG"}, {LF_EBADHDR, "LF_EBADHDR"},   {LF_EDUPLEN, "LF_EDUPLEN"},
        {LF_EBADTYPE, "LF_EBADTYPE"},     {LF_ETOOMANY, "LF_ETOOMANY"},
    };
    for (size_t i = 0; i < ARRAY_LEN(codes); i++) {
        assert_string_equal(lf_errname(codes[i].code), codes[i].name);
        assert_true(strlen(lf_strerror(codes[i].code)) > 10);
        assert_null(strchr(lf_strerror(codes[i].code), '\n'));
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(lf_strerror(codes[i].code), lf_strerror(codes[j].code));
    }
    assert_string_equal(lf_errname(-100), "LF_EUNKNOWN");
    assert_non_null(lf_strerror(-100));
    assert_non_null(strstr(lf_strerror(LF_EHDRTOOBIG), "8192"));
}

static void test_resync(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int found;
        size_t at;
    } rs[] = {
        {"Content-Length: 5", 1, 0},
        {"xxContent-Length: 5", 1, 2},
        {"}CONTENT-LENGTH:", 1, 1},
        {"ccontent-length:", 1, 1},
        {"Content-Lengthcontent-length:", 1, 14},
        {"", 0, 0},
        {"abc", 0, 2},
        {"abcC", 0, 3},
        {"abcConte", 0, 3},
        {"Content-Length", 0, 0},
        {"Content-Lengthx", 0, 15},
        {"Content-Length :", 0, 16},
        {"Content\rLength:", 0, 15},
        {"Content-Length\x1a", 0, 15},
    };
    for (size_t i = 0; i < ARRAY_LEN(rs); i++) {
        size_t n = strlen(rs[i].in);
        const char *p = guard_page_place(&guard, rs[i].in, n);
        int found = -1;
        size_t at = lf_resync(p, n, &found);
        case_name = rs[i].in;
        CHECK(found == rs[i].found && at == rs[i].at, "found %d at %zu, want %d at %zu", found, at,
              rs[i].found, rs[i].at);
    }
}

static void test_write_header_round_trips(void **state)
{
    (void)state;
    static const uint64_t lens[] = {0, 1, 9, 10, 12345, (uint64_t)1 << 40, UINT64_MAX};
    for (size_t i = 0; i < ARRAY_LEN(lens); i++) {
        char out[LF_HEADER_MAX_OUT];
        struct lf_frame f;
        size_t n = lf_write_header(out, sizeof(out), lens[i]);
        assert_true(n > 0);
        assert_int_equal(lf_write_header(out, n - 1, lens[i]), 0);
        assert_int_equal(lf_parse(guard_page_place(&guard, out, n), n, 0, UINT64_MAX, &f, NULL), n);
        assert_int_equal(f.content_length, lens[i]);
        assert_int_equal(f.num_headers, 1);
    }
    char out[LF_HEADER_MAX_OUT];
    assert_int_equal(lf_write_header(out, sizeof(out), 42), 22);
    assert_memory_equal(out, "Content-Length: 42\r\n\r\n", 22);
}

/* ==== stream framer ==== */

enum { EV_HEADER = 1, EV_BODY, EV_END, EV_ERROR, EV_SKIP, EV_FINISH };

/* One callback. Consecutive on_body calls are merged: how a body is cut
 * into pieces depends on the chunking, the bytes do not. */
struct ev {
    int kind;
    uint64_t off; /* HEADER, BODY, ERROR, SKIP */
    uint64_t n;   /* HEADER: Content-Length; BODY, SKIP: bytes */
    int code;     /* HEADER: header bytes; ERROR: code; FINISH: lf_stream_finish's result */
};

/* clang-format off */
#define HDR(off, hl, cl) {EV_HEADER, off, cl, hl}
#define BODY(off, n) {EV_BODY, off, n, 0}
#define END {EV_END, 0, 0, 0}
#define ERR(code, off) {EV_ERROR, off, 0, code}
#define SKIP(off, n) {EV_SKIP, off, n, 0}
#define FIN(rc) {EV_FINISH, 0, 0, rc}
/* clang-format on */

#define MAX_EV 2048

struct rec {
    const char *in; /* the whole stream */
    size_t in_len;
    const char *chunk; /* what lf_stream_feed is being given */
    size_t chunk_len;
    uint64_t cursor; /* bytes reported so far as header, body or skipped */
    struct ev ev[MAX_EV];
    size_t n;
};

static void add(struct rec *r, struct ev e)
{
    if (e.kind == EV_BODY && r->n > 0 && r->ev[r->n - 1].kind == EV_BODY) {
        r->ev[r->n - 1].n += e.n;
        return;
    }
    assert_true(r->n < MAX_EV);
    r->ev[r->n++] = e;
}

static void on_header(void *ud, const struct lf_frame *f, uint64_t off)
{
    struct rec *r = ud;
    assert_int_equal(off, r->cursor);
    assert_true(f->header_len > 0);
    add(r, (struct ev)HDR(off, (int)f->header_len, f->content_length));
    r->cursor += f->header_len;
}

static void on_body(void *ud, const char *data, size_t len)
{
    struct rec *r = ud;
    assert_true(len > 0);
    assert_true(data >= r->chunk && data + len <= r->chunk + r->chunk_len);
    assert_memory_equal(data, r->in + r->cursor, len);
    add(r, (struct ev)BODY(r->cursor, len));
    r->cursor += len;
}

static void on_end(void *ud)
{
    add(ud, (struct ev)END);
}

static void on_error(void *ud, int code, uint64_t off)
{
    struct rec *r = ud;
    if (code != LF_PARTIAL) assert_true(off >= r->cursor && off < r->in_len);
    add(r, (struct ev)ERR(code, off));
}

static void on_skip(void *ud, uint64_t off, uint64_t n)
{
    struct rec *r = ud;
    assert_int_equal(off, r->cursor);
    assert_true(n > 0);
    add(r, (struct ev)SKIP(off, n));
    r->cursor += n;
}

static const struct lf_stream_cb rec_cb = {on_header, on_body, on_end, on_error, on_skip};
static struct lf_stream stream;

/* Feeds in[0..len) cut at cuts[] (ascending), then finishes. */
static void run_stream(struct rec *r, const char *in, size_t len, const size_t *cuts, size_t ncuts,
                       uint64_t max_len)
{
    size_t from = 0;

    memset(r, 0, sizeof(*r));
    r->in = in;
    r->in_len = len;
    lf_stream_init(&stream, max_len, &rec_cb, r);
    for (size_t i = 0; i <= ncuts; i++) {
        size_t to = i < ncuts ? cuts[i] : len;
        r->chunk_len = to - from;
        r->chunk = guard_page_place(&guard, in + from, r->chunk_len);
        lf_stream_feed(&stream, r->chunk, r->chunk_len);
        from = to;
    }
    add(r, (struct ev)FIN(lf_stream_finish(&stream)));
    assert_int_equal(r->cursor, len);
}

static void print_events(const char *title, const struct ev *ev, size_t n)
{
    print_error("%s:\n", title);
    for (size_t i = 0; i < n; i++)
        print_error("  kind %d off %llu n %llu code %d\n", ev[i].kind,
                    (unsigned long long)ev[i].off, (unsigned long long)ev[i].n, ev[i].code);
}

static void expect_events(const struct rec *r, const struct ev *want, size_t n, const char *how)
{
    int same = r->n == n;
    for (size_t i = 0; same && i < n; i++)
        same = r->ev[i].kind == want[i].kind && r->ev[i].off == want[i].off &&
               r->ev[i].n == want[i].n && r->ev[i].code == want[i].code;
    if (!same) {
        print_events("want", want, n);
        print_events("got", r->ev, r->n);
        print_error("case \"%s\": ", case_name);
        fail_msg("%s: callbacks differ", how);
    }
}

static struct rec got;

/* The stream gives `want` however the input is cut: whole, byte at a
 * time, at every single point, and (for short inputs) at every pair. */
static void expect_stream(const char *in, size_t len, uint64_t max_len, const struct ev *want,
                          size_t nwant)
{
    static size_t cuts[GUARD_CAP];
    char how[64];

    assert_true(len <= GUARD_CAP);
    case_name = show(in, len);
    run_stream(&got, in, len, NULL, 0, max_len);
    expect_events(&got, want, nwant, "whole");
    for (size_t i = 0; i + 1 < len; i++)
        cuts[i] = i + 1;
    run_stream(&got, in, len, cuts, len > 0 ? len - 1 : 0, max_len);
    expect_events(&got, want, nwant, "byte at a time");
    for (size_t i = 0; i <= len; i++) {
        cuts[0] = i;
        run_stream(&got, in, len, cuts, 1, max_len);
        snprintf(how, sizeof(how), "cut at %zu", i);
        expect_events(&got, want, nwant, how);
    }
    for (size_t i = 1; len <= 200 && i < len; i++) {
        for (size_t j = i + 1; j < len; j++) {
            cuts[0] = i;
            cuts[1] = j;
            run_stream(&got, in, len, cuts, 2, max_len);
            snprintf(how, sizeof(how), "cut at %zu and %zu", i, j);
            expect_events(&got, want, nwant, how);
        }
    }
}

#define EXPECT_STREAM(in, ...)                                                                     \
    do {                                                                                           \
        static const struct ev want_[] = {__VA_ARGS__};                                            \
        expect_stream(in, sizeof(in) - 1, 0, want_, ARRAY_LEN(want_));                             \
    } while (0)

/* Each parse case as a stream: a valid block with its body gives one
 * frame; an invalid one starts with its error. */
static void test_stream_parse_cases(void **state)
{
    (void)state;
    static char in[256];
    static struct rec whole;

    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        const struct pcase *c = &cases[i];
        size_t body = c->want > 0 && c->cl <= 64 ? (size_t)c->cl : 0;
        size_t len = c->len + body;

        memcpy(in, c->in, c->len);
        memset(in + c->len, 'x', body);
        if (c->want > 0 && body == c->cl) {
            struct ev want[] = {HDR(0, c->want, c->cl), BODY(c->len, body), END, FIN(0)};
            struct ev want0[] = {HDR(0, c->want, 0), END, FIN(0)};
            if (body > 0)
                expect_stream(in, len, 0, want, ARRAY_LEN(want));
            else
                expect_stream(in, len, 0, want0, ARRAY_LEN(want0));
            continue;
        }
        if (c->want > 0) {
            struct ev want[] = {HDR(0, c->want, c->cl), ERR(LF_PARTIAL, 0), FIN(LF_PARTIAL)};
            expect_stream(in, len, 0, want, ARRAY_LEN(want));
            continue;
        }
        run_stream(&whole, in, len, NULL, 0, 0);
        case_name = show(in, len);
        CHECK(whole.ev[0].kind == EV_ERROR && whole.ev[0].code == c->want &&
                  whole.ev[0].off == c->at,
              "first callback is not the error");
        expect_stream(in, len, 0, whole.ev, whole.n);
    }
}

#define F2 "Content-Length: 2\r\n\r\n{}" /* 21 header bytes, 23 in all */

static void test_stream_frames_back_to_back(void **state)
{
    (void)state;
    EXPECT_STREAM(F2 F2 F2, HDR(0, 21, 2), BODY(21, 2), END, HDR(23, 21, 2), BODY(44, 2), END,
                  HDR(46, 21, 2), BODY(67, 2), END, FIN(0));
}

static void test_stream_realistic_session(void **state)
{
    (void)state;
#define INIT "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{}}"
#define INITD "{\"jsonrpc\":\"2.0\",\"method\":\"initialized\",\"params\":{}}"
#define TYPE "Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n"
    static const char in[] = "Content-Length: 58\r\n\r\n" INIT "Content-Length: 52\r\n" TYPE
                             "\r\n" INITD "content-length: 0\r\n\r\n";
    /* 22 + 58 = 80; 80 + 20 + 57 + 2 = 159; 159 + 52 = 211 */
    assert_int_equal(sizeof(INIT) - 1, 58);
    assert_int_equal(sizeof(INITD) - 1, 52);
    EXPECT_STREAM(in, HDR(0, 22, 58), BODY(22, 58), END, HDR(80, 79, 52), BODY(159, 52), END,
                  HDR(211, 21, 0), END, FIN(0));
}

static void test_stream_zero_length_frames_have_no_body(void **state)
{
    (void)state;
    EXPECT_STREAM("Content-Length: 0\r\n\r\nContent-Length: 0\r\n\r\n", HDR(0, 21, 0), END,
                  HDR(21, 21, 0), END, FIN(0));
}

static void test_stream_empty_stream_ends_on_a_boundary(void **state)
{
    (void)state;
    EXPECT_STREAM("", FIN(0));
}

static void test_stream_log_line_between_frames(void **state)
{
    (void)state;
    EXPECT_STREAM(F2 "garbage\n" F2, HDR(0, 21, 2), BODY(21, 2), END, ERR(LF_EBADHDR, 30),
                  SKIP(23, 8), HDR(31, 21, 2), BODY(52, 2), END, FIN(0));
    EXPECT_STREAM(F2 "Connecting to gopls\n" F2, HDR(0, 21, 2), BODY(21, 2), END,
                  ERR(LF_EBADHDR, 33), SKIP(23, 20), HDR(43, 21, 2), BODY(64, 2), END, FIN(0));
}

static void test_stream_body_without_header(void **state)
{
    (void)state;
#define EXIT "{\"jsonrpc\":\"2.0\",\"method\":\"exit\"}" /* 33 bytes */
    EXPECT_STREAM(F2 EXIT F2, HDR(0, 21, 2), BODY(21, 2), END, ERR(LF_EBADHDR, 23), SKIP(23, 33),
                  HDR(56, 21, 2), BODY(77, 2), END, FIN(0));
}

static void test_stream_length_too_short(void **state)
{
    (void)state;
    EXPECT_STREAM("Content-Length: 1\r\n\r\n{}" F2, HDR(0, 21, 1), BODY(21, 1), END,
                  ERR(LF_EBADHDR, 22), SKIP(22, 1), HDR(23, 21, 2), BODY(44, 2), END, FIN(0));
}

static void test_stream_blank_line_after_body(void **state)
{
    (void)state;
    EXPECT_STREAM(F2 "\r\n" F2, HDR(0, 21, 2), BODY(21, 2), END, ERR(LF_ENOLEN, 23), SKIP(23, 2),
                  HDR(25, 21, 2), BODY(46, 2), END, FIN(0));
}

static void test_stream_bad_block_is_not_found_again_at_its_start(void **state)
{
    (void)state;
    EXPECT_STREAM("Content-Length: x\r\n\r\n" F2, ERR(LF_EBADLEN, 16), SKIP(0, 21), HDR(21, 21, 2),
                  BODY(42, 2), END, FIN(0));
}

static void test_stream_resync_inside_a_bad_line(void **state)
{
    (void)state;
    EXPECT_STREAM("Content-Length: Content-Length: 3\r\n\r\nabc", ERR(LF_EBADLEN, 16), SKIP(0, 16),
                  HDR(16, 21, 3), BODY(37, 3), END, FIN(0));
}

static void test_stream_bare_lf_framing(void **state)
{
    (void)state;
    EXPECT_STREAM("Content-Length: 2\n\n{}" F2, ERR(LF_EBADHDR, 17), SKIP(0, 21), HDR(21, 21, 2),
                  BODY(42, 2), END, FIN(0));
    EXPECT_STREAM("\n\n" F2, ERR(LF_EBADHDR, 0), SKIP(0, 2), HDR(2, 21, 2), BODY(23, 2), END,
                  FIN(0));
}

static void test_stream_body_is_never_searched(void **state)
{
    (void)state;
    EXPECT_STREAM("Content-Length: 22\r\n\r\nContent-Length: 99\r\n\r\n", HDR(0, 22, 22),
                  BODY(22, 22), END, FIN(0));
}

static void test_stream_truncated_body(void **state)
{
    (void)state;
    EXPECT_STREAM(F2 "Content-Length: 10\r\n\r\n{}", HDR(0, 21, 2), BODY(21, 2), END,
                  HDR(23, 22, 10), BODY(45, 2), ERR(LF_PARTIAL, 23), FIN(LF_PARTIAL));
}

static void test_stream_truncated_header(void **state)
{
    (void)state;
    EXPECT_STREAM(F2 "Content-Length: 2\r\n", HDR(0, 21, 2), BODY(21, 2), END, ERR(LF_PARTIAL, 23),
                  SKIP(23, 19), FIN(LF_PARTIAL));
    EXPECT_STREAM(F2 "junk", HDR(0, 21, 2), BODY(21, 2), END, ERR(LF_PARTIAL, 23), SKIP(23, 4),
                  FIN(LF_PARTIAL));
}

static void test_stream_trailing_garbage(void **state)
{
    (void)state;
    EXPECT_STREAM(F2 "oops\n", HDR(0, 21, 2), BODY(21, 2), END, ERR(LF_EBADHDR, 27), SKIP(23, 5),
                  FIN(LF_PARTIAL));
    EXPECT_STREAM(F2 "x\nContent-Len", HDR(0, 21, 2), BODY(21, 2), END, ERR(LF_EBADHDR, 24),
                  SKIP(23, 13), FIN(LF_PARTIAL));
}

static void test_stream_length_over_max(void **state)
{
    (void)state;
    static const char in[] = "Content-Length: 11\r\n\r\n" F2;
    static const struct ev want[] = {ERR(LF_EBADLEN, 16), SKIP(0, 22), HDR(22, 21, 2),
                                     BODY(43, 2),         END,         FIN(0)};
    expect_stream(in, sizeof(in) - 1, 10, want, ARRAY_LEN(want));
}

static void test_stream_header_too_big(void **state)
{
    (void)state;
    static char in[9000 + 23];
    memset(in, 'a', 9000);
    memcpy(in + 9000, F2, 23);
    static const struct ev want[] = {ERR(LF_EHDRTOOBIG, 0), SKIP(0, 9000), HDR(9000, 21, 2),
                                     BODY(9021, 2),         END,           FIN(0)};
    expect_stream(in, sizeof(in), 0, want, ARRAY_LEN(want));
}

static void test_stream_runs_of_content_length(void **state)
{
    (void)state;
    EXPECT_STREAM("Content-Length:Content-Length:" F2, ERR(LF_EBADLEN, 15), SKIP(0, 15),
                  ERR(LF_EBADLEN, 30), SKIP(15, 15), HDR(30, 21, 2), BODY(51, 2), END, FIN(0));
}

/* The second block starts inside bytes the first one's scan passed; its
 * own stop (the stray '\r') must still be seen. */
static void test_stream_block_found_inside_a_scanned_block(void **state)
{
    (void)state;
    EXPECT_STREAM("Content-Length: x\r\nContent-Length: 2\rX", ERR(LF_EBADLEN, 16), SKIP(0, 19),
                  ERR(LF_EBADHDR, 36), SKIP(19, 19), FIN(LF_PARTIAL));
}

/* 600 "Content-Length:" with no line end: each is a block decided only by
 * the 8 KiB limit, each fails at its value, and the frame after them is
 * still found. */
static void test_stream_long_run_of_content_length(void **state)
{
    (void)state;
    enum { RUN = 600, PAT = 15 };
    static char in[RUN * PAT + 23];
    static struct ev want[2 * RUN + 4];
    size_t n = 0;

    for (size_t i = 0; i < RUN; i++) {
        memcpy(in + i * PAT, "Content-Length:", PAT);
        want[n++] = (struct ev)ERR(LF_EBADLEN, (i + 1) * PAT);
        want[n++] = (struct ev)SKIP(i * PAT, PAT);
    }
    memcpy(in + RUN * PAT, F2, 23);
    want[n++] = (struct ev)HDR(RUN * PAT, 21, 2);
    want[n++] = (struct ev)BODY(RUN * PAT + 21, 2);
    want[n++] = (struct ev)END;
    want[n++] = (struct ev)FIN(0);
    expect_stream(in, sizeof(in), 0, want, n);
}

/* After a too-big block, the next "Content-Length:" straddles the 8 KiB
 * that were buffered. */
static void test_stream_header_across_the_limit(void **state)
{
    (void)state;
    enum { AT = LF_MAX_HEADER_BLOCK - 7 };
    static char in[AT + 23];
    static const char head[] = "Content-Length: 1\r\nX: ";
    static const struct ev want[] = {ERR(LF_EHDRTOOBIG, 0), SKIP(0, AT), HDR(AT, 21, 2),
                                     BODY(AT + 21, 2),      END,         FIN(0)};

    memset(in, 'a', AT);
    memcpy(in, head, sizeof(head) - 1);
    memcpy(in + AT, F2, 23);
    expect_stream(in, sizeof(in), 0, want, ARRAY_LEN(want));
}

/* lf_stream_pass: a frame the caller framed is stepped over where a frame
 * can start (a boundary; skipping, when it starts with "Content-Length:",
 * and the skip is reported as feeding it would), refused elsewhere. */
static void test_stream_pass_only_where_a_frame_can_start(void **state)
{
    (void)state;
    static const char in[] = F2 "junk\nContent-Le" F2 F2;
    uint64_t off = 99;
    memset(&got, 0, sizeof got);
    got.in = in;
    got.in_len = sizeof in - 1;
    got.chunk = in;
    got.chunk_len = sizeof in - 1;
    lf_stream_init(&stream, 0, &rec_cb, &got);
    assert_int_equal(lf_stream_pass(&stream, in, 23, &off), 0);
    assert_int_equal(off, 0);
    got.cursor = 23;
    lf_stream_feed(&stream, in + 23, 15); /* an error, then skipping */
    assert_int_equal(lf_stream_pass(&stream, "{}", 2, &off), -1);
    assert_int_equal(lf_stream_pass(&stream, in + 38, 23, &off), 0);
    assert_int_equal(off, 38);
    got.cursor += 23;
    lf_stream_feed(&stream, in + 61, 19); /* inside a header block */
    assert_int_equal(lf_stream_pass(&stream, in, 23, &off), -1);
    lf_stream_feed(&stream, in + 80, 3); /* inside a body */
    assert_int_equal(lf_stream_pass(&stream, in, 23, &off), -1);
    lf_stream_feed(&stream, in + 83, 1);
    const struct ev want[] = {ERR(LF_EBADHDR, 27), SKIP(23, 15), HDR(61, 21, 2), BODY(82, 2), END};
    expect_events(&got, want, ARRAY_LEN(want), "passed");
    assert_int_equal(stream.offset, sizeof in - 1);
    assert_int_equal(lf_stream_finish(&stream), 0);
}

static void test_stream_works_without_callbacks(void **state)
{
    (void)state;
    static const char *const ins[] = {
        F2 "garbage\n" F2 "Content-Length: 0\r\n\r\nContent-Length: 9\r\n\r\n",
        F2 "garbage\n",
        F2 "Content-Len",
    };
    for (size_t i = 0; i < ARRAY_LEN(ins); i++) {
        lf_stream_init(&stream, 0, NULL, NULL);
        lf_stream_feed(&stream, ins[i], strlen(ins[i]));
        assert_int_equal(lf_stream_finish(&stream), LF_PARTIAL);
        assert_int_equal(stream.offset, strlen(ins[i]));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_cases),
        cmocka_unit_test(test_parse_block_of_8192_bytes_is_allowed),
        cmocka_unit_test(test_parse_block_of_8193_bytes_is_too_big),
        cmocka_unit_test(test_parse_8192_bytes_without_line_end_is_too_big),
        cmocka_unit_test(test_parse_limit_inside_a_line_end),
        cmocka_unit_test(test_parse_limit_inside_a_value),
        cmocka_unit_test(test_parse_last_len_past_the_end_is_ignored),
        cmocka_unit_test(test_parse_error_before_the_limit_wins),
        cmocka_unit_test(test_parse_32_headers_are_allowed),
        cmocka_unit_test(test_parse_33_headers_are_too_many),
        cmocka_unit_test(test_parse_header_fields_point_into_the_buffer),
        cmocka_unit_test(test_parse_max_len_is_inclusive),
        cmocka_unit_test(test_parse_empty_input_is_partial),
        cmocka_unit_test(test_every_code_has_a_name_and_a_message),
        cmocka_unit_test(test_resync),
        cmocka_unit_test(test_write_header_round_trips),
        cmocka_unit_test(test_stream_parse_cases),
        cmocka_unit_test(test_stream_frames_back_to_back),
        cmocka_unit_test(test_stream_realistic_session),
        cmocka_unit_test(test_stream_zero_length_frames_have_no_body),
        cmocka_unit_test(test_stream_empty_stream_ends_on_a_boundary),
        cmocka_unit_test(test_stream_log_line_between_frames),
        cmocka_unit_test(test_stream_body_without_header),
        cmocka_unit_test(test_stream_length_too_short),
        cmocka_unit_test(test_stream_blank_line_after_body),
        cmocka_unit_test(test_stream_bad_block_is_not_found_again_at_its_start),
        cmocka_unit_test(test_stream_resync_inside_a_bad_line),
        cmocka_unit_test(test_stream_bare_lf_framing),
        cmocka_unit_test(test_stream_body_is_never_searched),
        cmocka_unit_test(test_stream_truncated_body),
        cmocka_unit_test(test_stream_truncated_header),
        cmocka_unit_test(test_stream_trailing_garbage),
        cmocka_unit_test(test_stream_length_over_max),
        cmocka_unit_test(test_stream_header_too_big),
        cmocka_unit_test(test_stream_runs_of_content_length),
        cmocka_unit_test(test_stream_block_found_inside_a_scanned_block),
        cmocka_unit_test(test_stream_long_run_of_content_length),
        cmocka_unit_test(test_stream_header_across_the_limit),
        cmocka_unit_test(test_stream_works_without_callbacks),
        cmocka_unit_test(test_stream_pass_only_where_a_frame_can_start),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
