#include "inspect/li_escape.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "inspect/li_text.h"

static int invisible(uint32_t cp)
{
    return (cp >= 0x80 && cp <= 0x9f) || cp == 0x200e || cp == 0x200f ||
           (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 ||
           cp == 0x2029 || cp == 0xfeff;
}

/* The escaped form of the character at s[0..n) into tmp (8 bytes, *tl
 * long). Returns the bytes of s it stands for; *cp is its code point when
 * it stays as it is, else LI_ESCAPED. */
#define LI_ESCAPED UINT32_MAX
static size_t escape_one(const char *s, size_t n, int flags, char *tmp, size_t *tl, uint32_t *cp)
{
    const unsigned char *u = (const unsigned char *)s;
    uint32_t c;
    size_t l = li_utf8_decode(u, n, &c);
    *cp = LI_ESCAPED;
    if (!l) {
        *tl = (size_t)snprintf(tmp, 8, "\\x%02x", u[0]);
        return 1;
    }
    if (c < 0x20 || c == 0x7f) {
        int crlf = c == '\r' && n > 1 && s[1] == '\n';
        if ((flags & LI_ESC_KEEP_NL) && (c == '\n' || c == '\t' || crlf)) {
            tmp[0] = (char)c;
            *tl = 1;
            *cp = c;
        } else {
            *tl = (size_t)snprintf(tmp, 8, "\\x%02x", (unsigned)c);
        }
        return l;
    }
    if (invisible(c)) {
        *tl = (size_t)snprintf(tmp, 8, "\\u%04x", (unsigned)c);
        return l;
    }
    memcpy(tmp, s, l);
    *tl = l;
    *cp = c;
    return l;
}

/* Columns a printable code point takes on a terminal: 2 for the East Asian
 * wide and fullwidth blocks and the emoji pictographs, 0 for combining marks
 * and the zero-width joiners, else 1 (the common ranges of wcwidth, without
 * the locale it depends on). */
static size_t columns(uint32_t cp)
{
    static const struct {
        uint32_t lo, hi;
        unsigned char w;
    } ranges[] = {
        {0x0300, 0x036f, 0},   {0x1100, 0x115f, 2}, {0x1ab0, 0x1aff, 0},   {0x1dc0, 0x1dff, 0},
        {0x200b, 0x200d, 0},   {0x20d0, 0x20ff, 0}, {0x2e80, 0x303e, 2},   {0x3041, 0x33ff, 2},
        {0x3400, 0x4dbf, 2},   {0x4e00, 0x9fff, 2}, {0xa000, 0xa4cf, 2},   {0xac00, 0xd7a3, 2},
        {0xf900, 0xfaff, 2},   {0xfe00, 0xfe0f, 0}, {0xfe20, 0xfe2f, 0},   {0xfe30, 0xfe4f, 2},
        {0xff00, 0xff60, 2},   {0xffe0, 0xffe6, 2}, {0x1f300, 0x1f64f, 2}, {0x1f900, 0x1f9ff, 2},
        {0x20000, 0x3fffd, 2},
    };
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++)
        if (cp >= ranges[i].lo && cp <= ranges[i].hi) return ranges[i].w;
    return 1;
}

/* Escapes s[0..n) into out (cap bytes; see li_escape) and, when cols is
 * set, adds the columns the escaped form takes. Returns its length. */
static size_t escape(const char *s, size_t n, int flags, char *out, size_t cap, size_t *cols)
{
    assert(out || !cap); /* measuring only: no buffer, no size */
    size_t o = 0, total = 0;
    int full = 0;
    for (size_t i = 0; i < n;) {
        char tmp[8];
        size_t tl;
        uint32_t cp;
        i += escape_one(s + i, n - i, flags, tmp, &tl, &cp);
        if (cols) *cols += cp == LI_ESCAPED ? tl : cp < 0x80 ? 1 : columns(cp);
        if (!full && out && o + tl < cap) {
            memcpy(out + o, tmp, tl);
            o += tl;
        } else {
            full = 1;
        }
        total += tl;
    }
    assert(!cap || o < cap); /* room left for the NUL */
    if (cap) out[o] = '\0';
    return total;
}

size_t li_escape(const char *s, size_t n, int flags, char *out, size_t cap)
{
    return escape(s, n, flags, out, cap, NULL);
}

size_t li_escape_width(const char *s, size_t n, int flags)
{
    size_t w = 0;
    escape(s, n, flags, NULL, 0, &w);
    return w;
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
