#include "replay/li_rewrite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inspect/li_buf.h"
#include "inspect/li_text.h"

static int name_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

/* The byte at s[i] (decoding a %XX escape): sets *w to its width. */
static int byte_at(const char *s, size_t len, size_t i, size_t *w)
{
    if (s[i] == '%' && i + 2 < len) {
        int h = li_hexval((unsigned char)s[i + 1]), l = li_hexval((unsigned char)s[i + 2]);
        if (h >= 0 && l >= 0) {
            *w = 3;
            return h * 16 + l;
        }
    }
    *w = 1;
    return (unsigned char)s[i];
}

static int starts_ok(const char *s, size_t i)
{
    if (i == 0) return 1;
    unsigned char p = (unsigned char)s[i - 1];
    if (p == '/') return i >= 7 && memcmp(s + i - 7, "file://", 7) == 0;
    return !name_byte(p) && p != '%';
}

/* Length of the match of `from` at s[i], 0 when none; *escaped says whether
 * an escape took part. */
static size_t match_at(const char *s, size_t len, size_t i, const char *from, int *escaped)
{
    size_t j = i, k = 0, flen = strlen(from);
    *escaped = 0;
    while (k < flen) {
        if (j >= len) return 0;
        size_t w;
        int b = byte_at(s, len, j, &w);
        if (b != (unsigned char)from[k]) return 0;
        if (w == 3) *escaped = 1;
        j += w;
        k++;
    }
    if (j < len && strcmp(from, "/") != 0) {
        size_t w;
        int b = byte_at(s, len, j, &w);
        if (name_byte((unsigned char)b)) return 0;
    }
    return j - i;
}

static void put_encoded(struct li_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (name_byte(c) || c == '/') {
            li_buf_put(b, (const char *)&c, 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            li_buf_put(b, e, 3);
        }
    }
}

char *li_rewrite_str(const char *s, size_t len, const char *from, const char *to, size_t *out_len)
{
    if (!from || !*from) return NULL;
    struct li_buf b = {0};
    size_t i = 0, copied = 0;
    int any = 0;
    while (i < len) {
        int esc;
        size_t m = starts_ok(s, i) ? match_at(s, len, i, from, &esc) : 0;
        if (!m) {
            i++;
            continue;
        }
        li_buf_put(&b, s + copied, i - copied);
        int in_uri = i >= 7 && memcmp(s + i - 7, "file://", 7) == 0;
        if (esc || in_uri)
            put_encoded(&b, to);
        else
            li_buf_put(&b, to, strlen(to));
        i += m;
        copied = i;
        any = 1;
    }
    if (!any || b.oom) {
        free(b.p);
        return NULL;
    }
    li_buf_put(&b, s + copied, len - copied);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    if (out_len) *out_len = b.len;
    return b.p;
}

static json_t *rewrite_string(const char *s, size_t len, const struct li_rewrite *rw)
{
    size_t n;
    char *r = rw ? li_rewrite_str(s, len, rw->from, rw->to, &n) : NULL;
    if (!r) return json_stringn_nocheck(s, len);
    json_t *v = json_stringn_nocheck(r, n);
    free(r);
    return v;
}

json_t *li_rewrite_json(const json_t *v, const struct li_rewrite *rw)
{
    if (!v) return NULL;
    if (json_is_string(v)) return rewrite_string(json_string_value(v), json_string_length(v), rw);
    if (json_is_array(v)) {
        json_t *a = json_array();
        for (size_t i = 0; i < json_array_size(v); i++)
            json_array_append_new(a, li_rewrite_json(json_array_get(v, i), rw));
        return a;
    }
    if (json_is_object(v)) {
        json_t *o = json_object();
        const char *k;
        json_t *e;
        json_object_foreach((json_t *)v, k, e)
        {
            size_t n;
            char *nk = rw ? li_rewrite_str(k, strlen(k), rw->from, rw->to, &n) : NULL;
            json_object_set_new(o, nk ? nk : k, li_rewrite_json(e, rw));
            free(nk);
        }
        return o;
    }
    return json_deep_copy(v);
}

static char *trimmed(const char *s, size_t n)
{
    while (n > 1 && s[n - 1] == '/')
        n--;
    return strndup(s, n);
}

int li_rewrite_parse(const char *spec, struct li_rewrite *rw, char *err, size_t errlen)
{
    memset(rw, 0, sizeof *rw);
    const char *eq = NULL;
    for (const char *p = spec; (p = strchr(p, '=')) != NULL; p++)
        if (p[1] == '/') {
            eq = p;
            break;
        }
    if (spec[0] != '/' || !eq) {
        snprintf(err, errlen, "--rewrite-root wants OLD=NEW, two absolute paths, not \"%s\"", spec);
        return -1;
    }
    rw->from = trimmed(spec, (size_t)(eq - spec));
    rw->to = trimmed(eq + 1, strlen(eq + 1));
    if (!rw->from || !rw->to) {
        li_rewrite_free(rw);
        snprintf(err, errlen, "--rewrite-root: out of memory");
        return -1;
    }
    return 0;
}

void li_rewrite_free(struct li_rewrite *rw)
{
    free(rw->from);
    free(rw->to);
    rw->from = rw->to = NULL;
}

struct li_rewrite li_rewrite_reverse(const struct li_rewrite *rw)
{
    struct li_rewrite r = {rw->to, rw->from};
    return r;
}
