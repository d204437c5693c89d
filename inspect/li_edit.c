#include "inspect/li_edit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "inspect/li_text.h"

const char *li_edit_enc_name(enum li_edit_enc e)
{
    return e == LI_ENC_UTF8 ? "utf-8" : e == LI_ENC_UTF32 ? "utf-32" : "utf-16";
}

/* From the start of line *l at off, walks to the start of `line`. Returns
 * that offset, or len when the text has fewer lines (*past set). */
static size_t walk_lines(const char *t, size_t len, size_t *l, size_t off, uint64_t line, int *past,
                         int has_cr)
{
    *past = 0;
    while (!has_cr && *l < line) {
        const char *q = memchr(t + off, '\n', len - off);
        if (!q) {
            *past = 1;
            return len;
        }
        off = (size_t)(q - t) + 1;
        (*l)++;
    }
    while (*l < line) {
        while (off < len && t[off] != '\n' && t[off] != '\r')
            off++;
        if (off == len) {
            *past = 1;
            return len;
        }
        off += (t[off] == '\r' && off + 1 < len && t[off + 1] == '\n') ? 2 : 1;
        (*l)++;
    }
    return off;
}

/* From a line's start, the offset `character` units in, clamped to the
 * line's end and rounded down to the start of the character it falls in. */
static size_t walk_chars(const char *t, size_t len, size_t off, uint64_t character,
                         enum li_edit_enc enc)
{
    uint64_t units = 0;
    while (off < len && units < character && t[off] != '\n' && t[off] != '\r') {
        uint32_t cp;
        size_t n = li_utf8_decode((const unsigned char *)t + off, len - off, &cp);
        if (!n) n = 1; /* a bad byte is one unit in every encoding, as U+FFFD */
        unsigned u = enc == LI_ENC_UTF8                       ? (unsigned)n
                     : (enc == LI_ENC_UTF16 && cp >= 0x10000) ? 2
                                                              : 1;
        if (units + u > character) break;
        units += u;
        off += n;
    }
    return off;
}

size_t li_edit_offset(const char *text, size_t len, uint64_t line, uint64_t character,
                      enum li_edit_enc enc)
{
    size_t l = 0;
    int past;
    size_t off = walk_lines(text, len, &l, 0, line, &past, 1);
    return past ? len : walk_chars(text, len, off, character, enc);
}

void li_edit_text_init(struct li_edit_text *t, char *p, size_t len)
{
    memset(t, 0, sizeof *t);
    t->p = p;
    t->len = t->cap = len;
    t->has_cr = len && memchr(p, '\r', len) != NULL;
}

void li_edit_text_free(struct li_edit_text *t)
{
    free(t->p);
    memset(t, 0, sizeof *t);
}

size_t li_edit_locate(struct li_edit_text *t, uint64_t line, uint64_t character,
                      enum li_edit_enc enc, int keep_cache)
{
    size_t l = 0, off = 0;
    int past;
    if (t->cache_line <= line) {
        l = t->cache_line;
        off = t->cache_off;
    }
    off = walk_lines(t->p, t->len, &l, off, line, &past, t->has_cr);
    if (past) return t->len;
    if (keep_cache && (off == 0 || t->p[off - 1] == '\n')) {
        t->cache_line = l;
        t->cache_off = off;
    }
    return walk_chars(t->p, t->len, off, character, enc);
}

int li_edit_splice(struct li_edit_text *t, size_t a, size_t b, const char *s, size_t n)
{
    size_t del = b - a, nlen = t->len - del + n;
    if (nlen > t->cap) {
        size_t cap = t->cap + t->cap / 2;
        if (cap < nlen) cap = nlen;
        char *p = realloc(t->p, cap);
        if (!p) return -ENOMEM;
        t->p = p;
        t->cap = cap;
    }
    /* A whole new text: whether it has a '\r' is known again. */
    if (a == 0 && b == t->len) t->has_cr = 0;
    if (t->len > b) memmove(t->p + a + n, t->p + b, t->len - b);
    if (n) memcpy(t->p + a, s, n);
    if (n && !t->has_cr && memchr(s, '\r', n)) t->has_cr = 1;
    t->len = nlen;
    if (t->cache_off > a) t->cache_line = t->cache_off = 0;
    return 0;
}

int li_edit_check(const struct li_edit_text *t)
{
    if (t->len > t->cap || t->cache_off > t->len) return -1;
    if (!t->has_cr && t->len && memchr(t->p, '\r', t->len)) return -1;
    size_t l = 0;
    int past;
    size_t off = walk_lines(t->p, t->len, &l, 0, t->cache_line, &past, 1);
    return past || off != t->cache_off ? -1 : 0;
}
