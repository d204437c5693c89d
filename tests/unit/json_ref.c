#include "tests/unit/json_ref.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tests/unit/guard_page.h"

/* The reference: the scanner itself, with its string fast paths compiled
 * out, under other names. */
#define LI_JSON_SCALAR 1
#define li_json_scan li_json_scan_ref
#define li_utf8_valid_prefix li_utf8_valid_prefix_ref
#include "inspect/li_json.c"
#undef li_json_scan
#undef li_utf8_valid_prefix

#define MAX_MEMBERS 16
#define MAX_CASE 4096

struct members {
    const char *base;
    int n;
    struct {
        size_t key_off, key_len, val_off, val_len;
        enum li_jtype type;
        int partial;
    } m[MAX_MEMBERS];
};

static void record(void *ud, const struct li_json_member *mem)
{
    struct members *ms = ud;
    if (ms->n >= MAX_MEMBERS) return;
    ms->m[ms->n].key_off = (size_t)(mem->key.p - ms->base);
    ms->m[ms->n].key_len = mem->key.len;
    ms->m[ms->n].val_off = (size_t)(mem->val.p - ms->base);
    ms->m[ms->n].val_len = mem->val.len;
    ms->m[ms->n].type = mem->type;
    ms->m[ms->n].partial = mem->partial;
    ms->n++;
}

static int same(const struct li_json_result *a, const struct li_json_result *b)
{
    if (a->ok != b->ok || a->top != b->top || a->flags != b->flags) return 0;
    if (a->ok) return 1;
    return a->err_off == b->err_off && a->why && b->why && strcmp(a->why, b->why) == 0;
}

static void show(const char *buf, size_t len)
{
    fprintf(stderr, "  case (%zu bytes): \"", len);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (c >= 0x20 && c < 0x7f && c != '\\')
            fputc(c, stderr);
        else
            fprintf(stderr, "\\x%02x", c);
    }
    fprintf(stderr, "\"\n");
}

static int compare_one(json_scan_fn fn, const char *buf, size_t len, int partial)
{
    struct li_json_result a, b;
    struct members ma = {buf, 0, {{0}}}, mb = {buf, 0, {{0}}};
    int ra = fn(buf, len, partial, record, &ma, &a);
    int rb = li_json_scan_ref(buf, len, partial, record, &mb, &b);
    if (ra == rb && same(&a, &b) && ma.n == mb.n && memcmp(ma.m, mb.m, sizeof ma.m) == 0) return 0;
    fprintf(stderr, "json_ref: fast path and reference differ (partial=%d)\n", partial);
    show(buf, len);
    fprintf(stderr, "  fast: rc %d ok %d flags %u at %zu: %s; %d members\n", ra, a.ok, a.flags,
            a.err_off, a.ok ? "-" : a.why, ma.n);
    fprintf(stderr, "  ref:  rc %d ok %d flags %u at %zu: %s; %d members\n", rb, b.ok, b.flags,
            b.err_off, b.ok ? "-" : b.why, mb.n);
    return -1;
}

static struct guard_page guard;
static int guard_ready;

int json_ref_compare(json_scan_fn fn, const char *buf, size_t len)
{
    if (!guard_ready) {
        if (guard_page_init(&guard, MAX_CASE) != 0) return -1;
        guard_ready = 1;
    }
    const char *p = len <= MAX_CASE ? guard_page_place(&guard, buf, len) : buf;
    return compare_one(fn, p, len, 0) | compare_one(fn, p, len, 1);
}

/* What goes at the probed offset: each kind of byte the string scanner
 * treats apart. */
static const char *const probes[] = {
    "\"",
    "\\\"",
    "\\\\",
    "\\/",
    "\\b",
    "\\f",
    "\\n",
    "\\r",
    "\\t",
    "\\u0041",
    "\\u00e9",
    "\\u0000",
    "\\uD83D\\uDE00",
    "\\uDE00",
    "\\uD83Dx",
    "\\uD83D\\u0041",
    "\\u12G4",
    "\\x",
    "\\\x01",
    "\\\xc3\xa9",
    "\\\\\\",
    "\\\\\\\\",
    "\\\\\\\\\\n",
    "\xc3\xa9",
    "\xe2\x82\xac",
    "\xf0\x9f\x98\x80",
    "\xed\xa0\x80",
    "\xc0\xaf",
    "\x80",
    "\xff",
    "\xc3",
    "\xe2\x82",
    "\x01",
    "\n",
    "\x1f",
    "\x7f",
    "\\",
};

/* Backgrounds: what fills the string around the probe. */
static const char *const fills[] = {
    ("func (s *server) handle(ctx context.Context) error {\\n\\tif err := s.check(ctx, "
     "\\\"hover\\\"); err != nil {\\n\\t\\treturn fmt.Errorf(\\\"x: %w\\\", err)\\n\\t}\\n"),
    "abcdefghijklmnopqrstuvwxyz0123456789 ABCDEFGHIJKLMNOPQRSTUVWXYZ-_.,;:!?",
    "\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\",
    "\xc3\xa9t\xc3\xa9 \xe2\x82\xac\xf0\x9f\x98\x80 \\n",
};

/* Length of the token of a (valid) fill at p: an escape, a UTF-8
 * sequence or one byte. */
static size_t token_len(const char *p)
{
    unsigned char c = (unsigned char)*p;
    if (c == '\\') return 2;
    return c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
}

/* A member whose string value has `probe` at offset k of its contents,
 * after `lead` spaces so the string starts at every alignment. The fill
 * before the probe is whole tokens, padded with 'a'; after it come 'x's up
 * to n bytes of contents, then, with `close`, the closing quote and one
 * more member. */
static size_t build(char *out, size_t lead, const char *fill, size_t k, const char *probe, size_t n,
                    int close)
{
    size_t o = 5, fl = strlen(fill);
    memcpy(out, "{\"k\":", 5);
    for (size_t i = 0; i < lead; i++)
        out[o++] = ' ';
    out[o++] = '"';
    size_t start = o;
    for (size_t i = 0;;) {
        size_t t = token_len(fill + i);
        if (o - start + t > k) break;
        memcpy(out + o, fill + i, t);
        o += t;
        i = (i + t) % fl;
    }
    while (o - start < k)
        out[o++] = 'a';
    size_t pl = strlen(probe);
    memcpy(out + o, probe, pl);
    o += pl;
    while (o - start < n)
        out[o++] = 'x';
    if (close) {
        memcpy(out + o, "\",\"z\":[1,2]}", 12);
        o += 12;
    }
    return o;
}

int json_ref_sweep(json_scan_fn fn)
{
    static char buf[MAX_CASE];
    int bad = 0;
    for (size_t f = 0; f < sizeof fills / sizeof fills[0]; f++)
        for (size_t pr = 0; pr < sizeof probes / sizeof probes[0]; pr++)
            for (size_t lead = 0; lead < 3; lead++)
                for (size_t k = 0; k < 200; k++) {
                    size_t n = build(buf, lead, fills[f], k, probes[pr], 260, 1);
                    if (json_ref_compare(fn, buf, n)) bad++;
                    /* cut: the end of input falls inside or right after */
                    size_t cut = n - 12 - (k % 7);
                    if (json_ref_compare(fn, buf, cut)) bad++;
                }
    /* A backslash before every byte value, at every offset of a block. */
    for (unsigned c = 0; c < 256; c++)
        for (size_t k = 0; k < 80; k++) {
            size_t lead = k % 3, n = build(buf, lead, fills[0], k, "\\x", 160, 1);
            buf[5 + lead + 1 + k + 1] = (char)c; /* the byte after the backslash */
            if (json_ref_compare(fn, buf, n)) bad++;
        }
    /* Pseudo-random strings of tokens, mostly valid, so that errors fall
     * anywhere in a long string. */
    static const char *const toks[] = {
        "a",
        "b",
        " ",
        "a",
        "\\n",
        "\\t",
        "\\\"",
        "\\\\",
        "\\/",
        "\xc3\xa9",
        "\xe2\x82\xac",
        "\xf0\x9f\x98\x80",
        "\\u00e9",
        "\\uD83D\\uDE00",
        "\\u0000",
    };
    uint64_t seed = 0x9E3779B97F4A7C15ull;
    for (int c = 0; c < 20000; c++) {
        size_t o = 0, len = 1 + (size_t)(seed % 400);
        buf[o++] = '"';
        while (o < len) {
            seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
            const char *t = seed % 97 == 0
                                ? probes[(seed >> 8) % (sizeof probes / sizeof probes[0])]
                                : toks[(seed >> 8) % (sizeof toks / sizeof toks[0])];
            size_t tl = strlen(t);
            memcpy(buf + o, t, tl);
            o += tl;
        }
        buf[o++] = '"';
        if (json_ref_compare(fn, buf, o)) bad++;
        if (json_ref_compare(fn, buf, o - 1 - (size_t)(seed % 5))) bad++;
    }
    return bad;
}
