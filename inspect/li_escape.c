#include "inspect/li_escape.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The code point of the UTF-8 sequence at s[0..n) and its length, or 0 when
 * it is not well-formed (overlong, surrogate, cut short, past U+10FFFF). */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t v, min;
    if (c < 0x80) return *cp = c, 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2, v = c & 0x1f, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, v = c & 0x0f, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, v = c & 0x07, min = 0x10000;
    else
        return 0;
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        v = v << 6 | (s[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return 0;
    *cp = v;
    return len;
}

static int invisible(uint32_t cp)
{
    return (cp >= 0x80 && cp <= 0x9f) || cp == 0x200e || cp == 0x200f ||
           (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 ||
           cp == 0x2029 || cp == 0xfeff;
}

size_t li_escape(const char *s, size_t n, int flags, char *out, size_t cap)
{
    assert(out || !cap); /* measuring only: no buffer, no size */
    const unsigned char *u = (const unsigned char *)s;
    size_t o = 0, total = 0;
    int full = 0;
    for (size_t i = 0; i < n;) {
        char tmp[8];
        size_t tl;
        uint32_t cp;
        size_t l = utf8_next(u + i, n - i, &cp);
        if (!l) {
            tl = (size_t)snprintf(tmp, sizeof tmp, "\\x%02x", u[i]);
            l = 1;
        } else if (cp < 0x20 || cp == 0x7f) {
            int crlf = cp == '\r' && i + 1 < n && s[i + 1] == '\n';
            if ((flags & LI_ESC_KEEP_NL) && (cp == '\n' || cp == '\t' || crlf)) {
                tmp[0] = (char)cp;
                tl = 1;
            } else {
                tl = (size_t)snprintf(tmp, sizeof tmp, "\\x%02x", (unsigned)cp);
            }
        } else if (invisible(cp)) {
            tl = (size_t)snprintf(tmp, sizeof tmp, "\\u%04x", (unsigned)cp);
        } else {
            memcpy(tmp, s + i, l);
            tl = l;
        }
        if (!full && out && o + tl < cap) {
            memcpy(out + o, tmp, tl);
            o += tl;
        } else {
            full = 1;
        }
        total += tl;
        i += l;
    }
    assert(!cap || o < cap); /* room left for the NUL */
    if (cap) out[o] = '\0';
    return total;
}

char *li_escape_dup(const char *s, size_t n, int flags)
{
    size_t need = li_escape(s, n, flags, NULL, 0) + 1;
    char *out = malloc(need);
    if (out) li_escape(s, n, flags, out, need);
    return out;
}

int li_escape_write(const char *s, size_t n, int flags, FILE *f)
{
    char *e = li_escape_dup(s, n, flags);
    if (!e) return EOF;
    int r = fputs(e, f);
    free(e);
    return r < 0 ? EOF : 0;
}

void li_escape_nuls(json_t *line)
{
    const char *k;
    json_t *m;
    json_object_foreach(line, k, m)
    {
        if (!json_is_string(m)) continue;
        const char *v = json_string_value(m);
        size_t n = json_string_length(m);
        if (strlen(v) == n) continue;
        char *t = malloc(n * 4 + 1);
        if (!t) continue;
        size_t o = 0;
        for (size_t i = 0; i < n; i++) {
            if (v[i]) {
                t[o++] = v[i];
            } else {
                memcpy(t + o, "\\x00", 4);
                o += 4;
            }
        }
        json_string_setn(m, t, o);
        free(t);
    }
}
