/*
 * li_text — the byte-level pieces of reading text that several parts
 * need: a hex digit's value (percent-escapes in URIs and proxy user
 * names, \u escapes in JSON) and one UTF-8 character decoded.
 *
 * Header-only and inline: both sit in per-byte loops (a document's
 * characters counted for every edit, every byte of text escaped for a
 * terminal), where a call would cost more than the work. No state, no
 * allocation, thread-safe.
 *
 * li_json's validator does not use li_utf8_decode: it only measures, and
 * must tell a sequence cut by the end of a prefix from a bad one.
 */
#ifndef LSPTAP_INSPECT_LI_TEXT_H
#define LSPTAP_INSPECT_LI_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* The value of the hex digit c ('0'-'9', 'a'-'f', 'A'-'F'), or -1 for any
 * other byte (a byte >= 0x80 from a signed char included). */
static inline int li_hexval(unsigned char c)
{
    unsigned v = c;
    if (v - '0' < 10u) return (int)(v - '0');
    v |= 0x20; /* 'A'-'F' to 'a'-'f'; no other byte lands in 'a'-'f' */
    if (v - 'a' < 6u) return (int)(v - 'a' + 10);
    return -1;
}

/* The replacement character, what a byte that begins no character stands for. */
#define LI_UTF8_BAD 0xFFFDu

/* Decodes the UTF-8 character at s[0..n) (n >= 1). Returns its length
 * (1-4) and sets *cp to its code point; returns 0 and sets *cp to
 * LI_UTF8_BAD when s does not begin a well-formed sequence (Unicode Table
 * 3-7): a continuation byte or 0xF5-0xFF first; an overlong form (0xC0,
 * 0xC1, 0xE0 0x80-0x9F, 0xF0 0x80-0x8F); a surrogate (0xED 0xA0-0xBF); past
 * U+10FFFF (0xF4 0x90-0xBF); a lead byte whose continuation bytes are
 * missing, wrong, or cut short by n. A caller that goes on after a bad
 * sequence takes one byte: the next may begin a good one. */
static inline size_t li_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    *cp = LI_UTF8_BAD;
    if (c >= 0xC2 && c <= 0xDF) {
        if (n < 2 || (s[1] & 0xC0) != 0x80) return 0;
        *cp = ((uint32_t)(c & 0x1F) << 6) | (s[1] & 0x3F);
        return 2;
    }
    if (c >= 0xE0 && c <= 0xEF) {
        unsigned char lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
        if (n < 3 || s[1] < lo || s[1] > hi || (s[2] & 0xC0) != 0x80) return 0;
        *cp = ((uint32_t)(c & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        unsigned char lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
        if (n < 4 || s[1] < lo || s[1] > hi || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
            return 0;
        *cp = ((uint32_t)(c & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12) |
              ((uint32_t)(s[2] & 0x3F) << 6) | (s[3] & 0x3F);
        return 4;
    }
    return 0;
}

#endif
