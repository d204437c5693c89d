#include "inspect/li_json.h"

#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "inspect/li_text.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* The per-token helpers sit in the scanner's innermost loop. */
#if defined(__GNUC__)
#define HOT static inline __attribute__((always_inline))
#else
#define HOT static inline
#endif

/* Scanner state. `eof` distinguishes "ran out of bytes" (fine for a prefix)
 * from a real error; both stop the scan. */
struct scan {
    const unsigned char *base;
    const unsigned char *end;
    const char *why;
    size_t err_off;
    int eof;
    unsigned flags;
    int in_member; /* inside the value of a top-level member (mem) */
    struct li_json_member mem;
};

static const unsigned char *fail(struct scan *s, const unsigned char *at, const char *why)
{
    s->why = why;
    s->err_off = (size_t)(at - s->base);
    return NULL;
}

static const unsigned char *out_of_input(struct scan *s)
{
    s->eof = 1;
    return fail(s, s->end, "unexpected end of input");
}

/* Whitespace between tokens. Most tokens follow each other directly: one
 * compare rejects them. Noting CR/LF here spares the session a search for
 * them when it puts the body on one line. */
HOT const unsigned char *skip_ws(struct scan *s, const unsigned char *p)
{
    const unsigned char *end = s->end;
    while (p < end && *p <= ' ') {
        if (*p == '\n' || *p == '\r')
            s->flags |= LI_JSON_F_NEWLINE;
        else if (*p != ' ' && *p != '\t')
            break;
        p++;
    }
    return p;
}

/* Length of the UTF-8 sequence at p (p[0] >= 0x80), 0 when it is invalid,
 * or -1 when it is cut by the end of the buffer. Table 3-7 of the Unicode
 * standard: no overlong forms, no surrogates, nothing above U+10FFFF. */
static int utf8_seq(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    unsigned lo = 0x80, hi = 0xBF;
    int n;
    if (c < 0xC2) return 0;
    if (c < 0xE0) {
        n = 2;
    } else if (c < 0xF0) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c < 0xF5) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else {
        return 0;
    }
    if (end - p < 2) return -1;
    if (p[1] < lo || p[1] > hi) return 0;
    for (int i = 2; i < n; i++) {
        if (end - p <= i) return -1;
        if ((p[i] & 0xC0) != 0x80) return 0;
    }
    return n;
}

size_t li_utf8_valid_prefix(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    while (p < end) {
        if (*p < 0x80) {
            p++;
            continue;
        }
        int n = utf8_seq(p, end);
        if (n <= 0) break;
        p += n;
    }
    return (size_t)(p - (const unsigned char *)s);
}

/* Reads the 4 hex digits after "\u" at p; returns the code unit or -1. */
static long hex4(struct scan *s, const unsigned char *p)
{
    long v = 0;
    for (int i = 0; i < 4; i++) {
        if (p + i >= s->end) {
            out_of_input(s);
            return -1;
        }
        int h = li_hexval(p[i]);
        if (h < 0) {
            fail(s, p + i, "invalid \\u escape");
            return -1;
        }
        v = v * 16 + h;
    }
    return v;
}

/* p is just after a backslash; returns the byte after the escape. */
static const unsigned char *scan_escape(struct scan *s, const unsigned char *p)
{
    if (p >= s->end) return out_of_input(s);
    switch (*p) {
    case '"':
    case '\\':
    case '/':
    case 'b':
    case 'f':
    case 'n':
    case 'r':
    case 't':
        return p + 1;
    case 'u':
        break;
    default:
        return fail(s, p - 1, "invalid escape in string");
    }
    long u = hex4(s, p + 1);
    if (u < 0) return NULL;
    if (u == 0) s->flags |= LI_JSON_F_NUL_ESCAPE;
    p += 5;
    if (u >= 0xDC00 && u <= 0xDFFF) return fail(s, p - 6, "unpaired surrogate in \\u escape");
    if (u < 0xD800 || u > 0xDBFF) return p;
    if (s->end - p < 2) return out_of_input(s);
    if (p[0] != '\\' || p[1] != 'u') return fail(s, p - 6, "unpaired surrogate in \\u escape");
    long lo = hex4(s, p + 2);
    if (lo < 0) return NULL;
    if (lo < 0xDC00 || lo > 0xDFFF) return fail(s, p - 6, "unpaired surrogate in \\u escape");
    return p + 6;
}

/* Which string scanner is compiled. LI_JSON_SCALAR: one byte at a time,
 * the plain statement of the rules, kept as the reference the fast paths are
 * tested against (tests/unit/test_json_paths.c, tests/fuzz/fuzz_json_paths.c).
 * LI_JSON_NO_SIMD: the portable fast path (SWAR on 64-bit words) even where
 * SSE2 exists, so that path is tested on x86_64 too. */
#if defined(__SSE2__) && !defined(LI_JSON_NO_SIMD) && !defined(LI_JSON_SCALAR)
#define USE_SSE2 1
#else
#define USE_SSE2 0
#endif
/* AVX2, where the CPU has it (checked at run time), for the 64-byte blocks
 * of long strings; LI_JSON_NO_AVX2 leaves them to SSE2, so that path is
 * tested on machines with AVX2 too. */
#if USE_SSE2 && defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) &&                \
    !defined(LI_JSON_NO_AVX2)
#define USE_AVX2 1
#include <immintrin.h>
#else
#define USE_AVX2 0
#endif

/* A byte inside a string that needs a look: returns the byte after what it
 * starts (an escape, a UTF-8 sequence), or NULL on an error. Sets *closed
 * when it is the closing quote. */
static const unsigned char *special(struct scan *s, const unsigned char *p, int *closed)
{
    unsigned c = *p;
    if (c == '"') {
        *closed = 1;
        return p + 1;
    }
    if (c == '\\') return scan_escape(s, p + 1);
    if (c < 0x20) return fail(s, p, "control character in string");
    int n = utf8_seq(p, s->end);
    if (n < 0) return out_of_input(s);
    if (n == 0) return fail(s, p, "invalid UTF-8 in string");
    return p + n;
}

#if defined(LI_JSON_SCALAR)

/* p is just after the opening quote; returns the byte after the closing
 * quote. */
static const unsigned char *scan_string(struct scan *s, const unsigned char *p)
{
    int closed = 0;
    for (;;) {
        if (p >= s->end) return out_of_input(s);
        if (*p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\') {
            p++;
            continue;
        }
        p = special(s, p, &closed);
        if (!p || closed) return p;
    }
}

#else

/* Offset of the first byte in p[0..n) that needs a look inside a string:
 * '"', '\\', a control byte or a non-ASCII byte. n when there is none. */
static size_t plain_run(const unsigned char *p, size_t n)
{
    size_t i = 0;
#if USE_SSE2
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i bslash = _mm_set1_epi8('\\');
    const __m128i ctl = _mm_set1_epi8(0x1F);
    for (; i + 16 <= n; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
        __m128i hit = _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash));
        hit = _mm_or_si128(hit, _mm_cmpeq_epi8(_mm_max_epu8(v, ctl), ctl));
        unsigned mask = (unsigned)_mm_movemask_epi8(hit) | (unsigned)_mm_movemask_epi8(v);
        if (mask) return i + (size_t)__builtin_ctz(mask);
    }
#else
    /* SWAR on 8 bytes: flags bytes that are '"', '\\', < 0x20 or >= 0x80. */
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');
        uint64_t t = ((q - ones) & ~q) | ((b - ones) & ~b) | (w - ones * 0x20) | w;
        if (t & highs) break;
    }
#endif
    while (i < n && p[i] >= 0x20 && p[i] < 0x80 && p[i] != '"' && p[i] != '\\')
        i++;
    return i;
}

/* Escapes that are two bytes and always valid: handled in the loops. */
static const unsigned char simple_escape[256] = {
    ['"'] = 1, ['\\'] = 1, ['/'] = 1, ['b'] = 1, ['f'] = 1, ['n'] = 1, ['r'] = 1, ['t'] = 1,
};

/* The masks of a 64-byte block, bit i for byte i: the backslashes; the
 * bytes other than a backslash that end a plain run ('"', control bytes,
 * non-ASCII); and bytes known to be in simple_escape (0 when the block's
 * function does not look, so that the table decides). */
struct blk {
    uint64_t bs, sp, ok;
};

#if USE_SSE2
/* Bit i set when p[i] is '"', '\\', a control byte or non-ASCII. */
static unsigned special_mask(const unsigned char *p)
{
    const __m128i ctl = _mm_set1_epi8(0x1F);
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i hit =
        _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\')));
    hit = _mm_or_si128(hit, _mm_cmpeq_epi8(_mm_max_epu8(v, ctl), ctl));
    return (unsigned)_mm_movemask_epi8(hit) | (unsigned)_mm_movemask_epi8(v);
}

/* The two masks of the 16 bytes at p: backslashes, and the other bytes
 * that end a plain run ('"', control bytes, non-ASCII). */
HOT void masks16(const unsigned char *p, unsigned *bs, unsigned *sp)
{
    const __m128i ctl = _mm_set1_epi8(0x1F);
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i q = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), v); /* v: top bit, non-ASCII */
    q = _mm_or_si128(q, _mm_cmpeq_epi8(_mm_max_epu8(v, ctl), ctl));
    *bs = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('\\')));
    *sp = (unsigned)_mm_movemask_epi8(q);
}

HOT void block_masks(const unsigned char *p, struct blk *m)
{
    unsigned b0, b1, b2, b3, s0, s1, s2, s3;
    masks16(p, &b0, &s0);
    masks16(p + 16, &b1, &s1);
    masks16(p + 32, &b2, &s2);
    masks16(p + 48, &b3, &s3);
    m->bs = b0 | (uint64_t)b1 << 16 | (uint64_t)b2 << 32 | (uint64_t)b3 << 48;
    m->sp = s0 | (uint64_t)s1 << 16 | (uint64_t)s2 << 32 | (uint64_t)s3 << 48;
    m->ok = 0;
}
#else
/* The top bit of each byte of t, gathered into the low 8 bits. */
HOT unsigned gather_tops(uint64_t t)
{
    return (unsigned)(((t & 0x8080808080808080ull) >> 7) * 0x0102040810204080ull >> 56);
}

/* 8 bytes at a time. The zero-byte tests are the exact form (no borrow
 * between bytes), since every bit is used. */
HOT void block_masks(const unsigned char *p, struct blk *m)
{
    const uint64_t ones = 0x0101010101010101ull, low7 = 0x7F7F7F7F7F7F7F7Full;
    uint64_t b = 0, o = 0, any = 0;
    /* First plain_run's cheaper test, which may flag a byte too many but
     * never misses one: most blocks of most strings have nothing to see. */
    for (int k = 0; k < 8; k++) {
        uint64_t w;
        memcpy(&w, p + 8 * k, 8);
        uint64_t q = w ^ (ones * '"'), x = w ^ (ones * '\\');
        any |= ((q - ones) & ~q) | ((x - ones) & ~x) | (w - ones * 0x20) | w;
    }
    m->ok = 0;
    if (!(any & 0x8080808080808080ull)) {
        m->bs = m->sp = 0;
        return;
    }
    for (int k = 0; k < 8; k++) {
        uint64_t w;
        memcpy(&w, p + 8 * k, 8);
        uint64_t x = w ^ (ones * '\\'), q = w ^ (ones * '"');
        uint64_t isb = ~(((x & low7) + low7) | x);         /* top bit: byte is '\\' */
        uint64_t isq = ~(((q & low7) + low7) | q);         /* top bit: byte is '"' */
        uint64_t ge20 = (w & low7) + ones * (0x80 - 0x20); /* top bit: low 7 bits >= 0x20 */
        uint64_t t = isq | ~ge20 | w;                      /* '"', < 0x20 (or >= 0x80), >= 0x80 */
        b |= (uint64_t)gather_tops(isb) << (8 * k);
        o |= (uint64_t)gather_tops(t) << (8 * k);
    }
    m->bs = b;
    m->sp = o;
}
#endif

#if USE_AVX2
#define AVX2 __attribute__((target("avx2")))

/* block_masks for 32 bytes, with the bytes of the simple-escape table found
 * by two nibble lookups: each high nibble that occurs in the table has a
 * bit, and the low-nibble table holds, for each low nibble, the bits of the
 * high nibbles it pairs with ('"' 22, '/' 2F, '\\' 5C, 'b' 62, 'f' 66,
 * 'n' 6E, 'r' 72, 't' 74). */
HOT AVX2 void masks32(const unsigned char *p, uint32_t *bs, uint32_t *sp, uint32_t *ok)
{
    const __m256i ctl = _mm256_set1_epi8(0x1F), nib = _mm256_set1_epi8(0x0F);
    const __m256i lo_tbl = _mm256_setr_epi8(0, 0, 0x0D, 0, 8, 0, 4, 0, 0, 0, 0, 0, 2, 0, 4, 1, 0, 0,
                                            0x0D, 0, 8, 0, 4, 0, 0, 0, 0, 0, 2, 0, 4, 1);
    const __m256i hi_tbl = _mm256_setr_epi8(0, 0, 1, 0, 0, 2, 4, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
                                            0, 0, 2, 4, 8, 0, 0, 0, 0, 0, 0, 0, 0);
    __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)p);
    __m256i q = _mm256_or_si256(_mm256_cmpeq_epi8(v, _mm256_set1_epi8('"')), v);
    q = _mm256_or_si256(q, _mm256_cmpeq_epi8(_mm256_max_epu8(v, ctl), ctl));
    __m256i lo = _mm256_shuffle_epi8(lo_tbl, _mm256_and_si256(v, nib));
    __m256i hi = _mm256_shuffle_epi8(hi_tbl, _mm256_and_si256(_mm256_srli_epi16(v, 4), nib));
    __m256i not_esc = _mm256_cmpeq_epi8(_mm256_and_si256(lo, hi), _mm256_setzero_si256());
    *bs = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, _mm256_set1_epi8('\\')));
    *sp = (uint32_t)_mm256_movemask_epi8(q);
    *ok = ~(uint32_t)_mm256_movemask_epi8(not_esc);
}

HOT AVX2 void block_masks_avx2(const unsigned char *p, struct blk *m)
{
    uint32_t b0, b1, s0, s1, k0, k1;
    masks32(p, &b0, &s0, &k0);
    masks32(p + 32, &b1, &s1, &k1);
    m->bs = b0 | (uint64_t)b1 << 32;
    m->sp = s0 | (uint64_t)s1 << 32;
    m->ok = k0 | (uint64_t)k1 << 32;
}
#endif

/* The bytes of a 64-byte block that a backslash escapes, given the mask of
 * its backslashes and that the block does not start inside an escape: the
 * byte after each odd-length run of backslashes, and every second
 * backslash within a run. *carry is set when the last byte escapes the byte
 * after the block. simdjson's branch-free method: adding the runs that
 * start on an odd bit to the backslash mask carries each of them out of
 * its run, which flips the parity that marks the escaped bytes. */
HOT uint64_t escaped_bytes(uint64_t bs, int *carry)
{
    const uint64_t even = 0x5555555555555555ull;
    uint64_t follows = bs << 1;
    uint64_t odd_starts = bs & ~even & ~follows;
    uint64_t even_seqs;
    *carry = __builtin_add_overflow(odd_starts, bs, &even_seqs);
    return (even ^ (even_seqs << 1)) & follows;
}

/* The 64-byte blocks of a long string, p just after the opening quote or at
 * any byte that does not continue an escape or a UTF-8 sequence. One pass
 * over each block finds its escaped bytes; what remains is checked bit by
 * bit: each escaped byte not known to be good in the simple-escape table,
 * the first unescaped quote, control or non-ASCII byte handed to special().
 * Any other escape (\u, or invalid) goes to scan_escape(), so errors and
 * flags come from the same code as in the byte-at-a-time scanner. Returns
 * where the rest of the string starts (fewer than 64 bytes before the end),
 * or NULL with *closed 0 on an error, or the byte after the closing quote
 * with *closed set. `masks` is a block_masks function: this is inlined
 * into one function per instruction set. */
HOT const unsigned char *scan_blocks_with(struct scan *s, const unsigned char *p, int *closed,
                                          void (*masks)(const unsigned char *, struct blk *))
{
    while (s->end - p >= 64) {
        struct blk m;
        masks(p, &m);
        if (!(m.bs | m.sp)) {
            p += 64;
            continue;
        }
        int carry = 0;
        uint64_t esc = m.bs ? escaped_bytes(m.bs, &carry) : 0;
        uint64_t stop = m.sp & ~esc; /* an escaped '"' or non-ASCII byte is the escape's business */
        uint64_t check = esc & ~m.ok;
        const unsigned char *next = p + 64 - carry;
        uint64_t live = ~0ull; /* bits not yet consumed */
        for (;;) {
            uint64_t st = stop & live;
            uint64_t e = check & live & (st ? (st & -st) - 1 : ~0ull);
            unsigned i;
            for (; e; e &= e - 1) {
                i = (unsigned)__builtin_ctzll(e);
                if (!simple_escape[p[i]]) break;
            }
            const unsigned char *q;
            if (e)
                q = scan_escape(s, p + i); /* \u, or an error at the backslash */
            else if (st)
                q = special(s, p + __builtin_ctzll(st), closed);
            else
                break;
            if (!q || *closed) return q;
            if (q - p >= 64) {
                next = q;
                break;
            }
            live = ~0ull << (q - p);
        }
        p = next;
    }
    return p;
}

#if USE_AVX2
static AVX2 const unsigned char *scan_blocks_avx2(struct scan *s, const unsigned char *p,
                                                  int *closed)
{
    return scan_blocks_with(s, p, closed, block_masks_avx2);
}
#endif

static const unsigned char *scan_blocks(struct scan *s, const unsigned char *p, int *closed)
{
#if USE_AVX2
    if (__builtin_cpu_supports("avx2")) return scan_blocks_avx2(s, p, closed);
#endif
    return scan_blocks_with(s, p, closed, block_masks);
}

/* p is just after the opening quote; returns the byte after the closing
 * quote. Source text in a body is dense with escapes ("\\n", "\\t"): long
 * strings go by 64-byte blocks, and the last 63 bytes by 16-byte blocks
 * where every special byte is handled from one mask rather than reloading
 * the block after each. */
static const unsigned char *scan_string(struct scan *s, const unsigned char *p)
{
    int closed = 0;
    p = scan_blocks(s, p, &closed);
    if (!p || closed) return p;
#if USE_SSE2
    while (s->end - p >= 16) {
        unsigned mask = special_mask(p);
        const unsigned char *resume = p + 16;
        while (mask) {
            const unsigned char *q = p + __builtin_ctz(mask), *next;
            if (*q == '"') return q + 1;
            if (*q == '\\' && s->end - q > 1 && simple_escape[q[1]]) {
                next = q + 2;
            } else {
                next = special(s, q, &closed);
                if (!next) return NULL;
            }
            if (next >= p + 16) {
                resume = next;
                break;
            }
            mask &= ~0u << (next - p);
        }
        p = resume;
    }
#endif
    for (;;) {
        p += plain_run(p, (size_t)(s->end - p));
        if (p >= s->end) return out_of_input(s);
        p = special(s, p, &closed);
        if (!p || closed) return p;
    }
}

#endif

HOT int is_digit(const unsigned char *p, const unsigned char *end)
{
    return p < end && (unsigned)(*p - '0') < 10u;
}

HOT const unsigned char *digits(const unsigned char *p, const unsigned char *end)
{
    while (p < end && (unsigned)(*p - '0') < 10u)
        p++;
    return p;
}

HOT const unsigned char *scan_number(struct scan *s, const unsigned char *p)
{
    const unsigned char *end = s->end;
    if (*p == '-') p++;
    if (p >= end) return out_of_input(s);
    const unsigned char *int_start = p;
    if (*p == '0') {
        p++;
        if (is_digit(p, end)) return fail(s, p, "invalid number: leading zero");
    } else if ((unsigned)(*p - '1') < 9u) {
        p = digits(p, end);
    } else {
        return fail(s, p, "invalid number");
    }
    size_t int_digits = (size_t)(p - int_start);
    int real = 0;
    if (p < end && *p == '.') {
        real = 1;
        p++;
        if (p >= end) return out_of_input(s);
        if (!is_digit(p, end)) return fail(s, p, "invalid number: digit expected after '.'");
        p = digits(p, end);
    }
    if (p < end && (*p | 0x20) == 'e') {
        s->flags |= LI_JSON_F_WIDE_NUMBER;
        p++;
        if (p < end && (*p == '+' || *p == '-')) p++;
        if (p >= end) return out_of_input(s);
        if (!is_digit(p, end)) return fail(s, p, "invalid number: digit expected in exponent");
        p = digits(p, end);
    }
    if ((!real && int_digits > 18) || int_digits > 300) s->flags |= LI_JSON_F_WIDE_NUMBER;
    return p;
}

static const unsigned char *scan_literal(struct scan *s, const unsigned char *p, const char *lit,
                                         size_t n)
{
    size_t avail = (size_t)(s->end - p);
    size_t k = avail < n ? avail : n;
    if (memcmp(p, lit, k) != 0) return fail(s, p, "invalid literal");
    if (k < n) return out_of_input(s);
    return p + n;
}

/* In an array at p (a ','): skips every following ",N" where N is a plain
 * integer of at most 18 digits ended by ',' or ']' and stops at the ','
 * or ']' after the last. Anything else is left to the general path.
 * Semantic tokens and other position arrays are long runs of these. */
HOT const unsigned char *int_run(const unsigned char *p, const unsigned char *end)
{
    while (p < end && *p == ',') {
        const unsigned char *q = p + 1, *r = q;
        if (r < end && *r == '-') r++;
        const unsigned char *d = r;
        if (r < end && *r == '0')
            r++;
        else
            while (r < end && (unsigned)(*r - '0') < 10u)
                r++;
        if (r == d || r - d > 18 || r >= end || (*r != ',' && *r != ']')) break;
        p = r;
    }
    return p;
}

/* The nesting stack: one bit per level, 1 for an object. */
struct stack {
    uint64_t bits[LI_JSON_MAX_DEPTH / 64];
    unsigned depth;
};

static int push(struct stack *st, int is_obj)
{
    if (st->depth >= LI_JSON_MAX_DEPTH) return -1;
    uint64_t m = (uint64_t)1 << (st->depth % 64);
    if (is_obj)
        st->bits[st->depth / 64] |= m;
    else
        st->bits[st->depth / 64] &= ~m;
    st->depth++;
    return 0;
}

static int top_is_obj(const struct stack *st)
{
    assert(st->depth > 0); /* only asked inside a container */
    unsigned d = st->depth - 1;
    return (int)((st->bits[d / 64] >> (d % 64)) & 1);
}

/* Expects a member key at p (after '{' or ','): the key string, ':' and the
 * whitespace before the value. Returns the start of the value. */
static const unsigned char *scan_key(struct scan *s, const unsigned char *p, struct li_span *key)
{
    const unsigned char *end = s->end;
    if (p >= end) return out_of_input(s);
    if (*p != '"') return fail(s, p, "expected a string key");
    const unsigned char *k = p;
    p = scan_string(s, p + 1);
    if (!p) return NULL;
    key->p = (const char *)k;
    key->len = (size_t)(p - k);
    p = skip_ws(s, p);
    if (p >= end) return out_of_input(s);
    if (*p != ':') return fail(s, p, "expected ':'");
    return skip_ws(s, p + 1);
}

/* The grammar as a loop: "value" scans one value (opening a container
 * pushes and goes on to its first element); "after" handles what follows a
 * complete value at the current depth. Members of the top-level object are
 * reported when their value completes at depth 1. */
static const unsigned char *scan_value(struct scan *s, const unsigned char *p, li_json_member_fn fn,
                                       void *ud, enum li_jtype *top)
{
    const unsigned char *end = s->end;
    struct stack st = {{0}, 0};
    struct li_json_member *mem = &s->mem;
    int top_obj = 0;
    int in_obj = 0; /* the innermost open container is an object */

    for (;;) {
        /* value: */
        if (p >= end) return out_of_input(s);
        unsigned c = *p;
        if (st.depth == 0) *top = li_json_type_of(c);
        if (st.depth == 1 && top_obj) {
            mem->val.p = (const char *)p;
            mem->type = li_json_type_of(c);
            s->in_member = 1;
        }
        if (c == '{' || c == '[') {
            if (push(&st, c == '{') < 0) return fail(s, p, "nesting too deep");
            in_obj = c == '{';
            if (st.depth == 1) top_obj = in_obj;
            p = skip_ws(s, p + 1);
            if (p >= end) return out_of_input(s);
            if (*p != (c == '{' ? '}' : ']')) {
                if (c == '{') {
                    p = scan_key(s, p, st.depth == 1 ? &mem->key : &(struct li_span){0});
                    if (!p) return NULL;
                }
                continue;
            }
            st.depth--;
            if (st.depth) in_obj = top_is_obj(&st);
            p++;
        } else if (c == '"') {
            p = scan_string(s, p + 1);
        } else if (c == '-' || c - '0' < 10u) {
            p = scan_number(s, p);
        } else if (c == 't') {
            p = scan_literal(s, p, "true", 4);
        } else if (c == 'f') {
            p = scan_literal(s, p, "false", 5);
        } else if (c == 'n') {
            p = scan_literal(s, p, "null", 4);
        } else {
            return fail(s, p, "expected a value");
        }
        if (!p) return NULL;

        /* after: */
        for (;;) {
            if (st.depth == 0) return p;
            if (st.depth == 1 && top_obj) {
                mem->val.len = (size_t)(p - (const unsigned char *)mem->val.p);
                s->in_member = 0;
                if (fn) fn(ud, mem);
            }
            p = skip_ws(s, p);
            if (!in_obj) p = int_run(p, end);
            if (p >= end) return out_of_input(s);
            int obj = in_obj;
            if (*p == ',') {
                p = skip_ws(s, p + 1);
                if (obj) {
                    p = scan_key(s, p, st.depth == 1 ? &mem->key : &(struct li_span){0});
                    if (!p) return NULL;
                }
                break;
            }
            if (*p != (obj ? '}' : ']'))
                return fail(s, p, obj ? "expected ',' or '}'" : "expected ',' or ']'");
            st.depth--;
            if (st.depth) in_obj = top_is_obj(&st);
            p++;
        }
    }
}

int li_json_scan(const char *buf, size_t len, int partial, li_json_member_fn fn, void *ud,
                 struct li_json_result *r)
{
    struct scan s;
    memset(&s, 0, sizeof s);
    s.base = (const unsigned char *)buf;
    s.end = s.base + len;
    r->ok = 0;
    r->top = LI_J_NONE;
    r->flags = 0;
    const unsigned char *p = skip_ws(&s, s.base);
    if (p >= s.end) {
        r->err_off = len;
        r->why = len ? "no JSON value, only whitespace" : "empty body";
        return -1;
    }
    p = scan_value(&s, p, fn, ud, &r->top);
    r->flags = s.flags;
    if (!p) {
        if (s.eof && partial && s.in_member && fn) {
            s.mem.val.len = (size_t)(s.end - (const unsigned char *)s.mem.val.p);
            s.mem.partial = 1;
            fn(ud, &s.mem);
        }
        r->err_off = s.err_off;
        r->why = s.eof && partial ? "message truncated" : s.why;
        return -1;
    }
    p = skip_ws(&s, p);
    r->flags = s.flags;
    if (p < s.end) {
        r->err_off = (size_t)(p - s.base);
        r->why = "trailing bytes after the JSON value";
        return -1;
    }
    r->ok = 1;
    r->err_off = 0;
    r->why = NULL;
    return 0;
}
