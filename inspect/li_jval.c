#include "inspect/li_jval.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "inspect/li_text.h"

struct li_jval li_jval_of(struct li_span span)
{
    struct li_jval v = {span, span.p ? li_json_type_of((unsigned char)span.p[0]) : LI_J_NONE};
    return v;
}

struct want {
    const char *const *keys;
    int n;
    struct li_jval *out;
};

static void want_member(void *ud, const struct li_json_member *mb)
{
    struct want *w = ud;
    for (int i = 0; i < w->n; i++) {
        size_t kl = strlen(w->keys[i]);
        if (mb->key.len == kl + 2 && memcmp(mb->key.p + 1, w->keys[i], kl) == 0) {
            w->out[i].s = mb->val;
            w->out[i].t = mb->type;
        }
    }
}

void li_jval_members(const struct li_jval *obj, const char *const *keys, int n, struct li_jval *out)
{
    struct want w = {keys, n, out};
    struct li_json_result r;
    static const struct li_jval absent;
    for (int i = 0; i < n; i++) /* n is a handful: a call to memset costs more */
        out[i] = absent;
    if (obj->t == LI_J_OBJECT) li_json_scan(obj->s.p, obj->s.len, 0, want_member, &w, &r);
}

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

struct li_jval li_jval_top(const char *body, size_t len)
{
    const char *p = skip_ws(body, body + len);
    struct li_jval v = {{p, len - (size_t)(p - body)},
                        p < body + len ? li_json_type_of((unsigned char)*p) : LI_J_NONE};
    return v;
}

/* p at the opening quote of a valid string: just past its closing quote. */
static const char *skip_string(const char *p, const char *end)
{
    const char *from = p + 1;
    for (;;) {
        const char *q = memchr(from, '"', (size_t)(end - from));
        if (!q) return end;
        size_t bs = 0;
        while (q - bs > from && q[-1 - (ptrdiff_t)bs] == '\\')
            bs++;
        if (bs % 2 == 0) return q + 1;
        from = q + 1;
    }
}

/* p at the start of a valid value: just past it. */
static const char *skip_value(const char *p, const char *end)
{
    if (*p == '"') return skip_string(p, end);
    if (*p != '{' && *p != '[') {
        while (p < end && *p != ',' && *p != ']' && *p != '}' && *p != ' ' && *p != '\t' &&
               *p != '\n' && *p != '\r')
            p++;
        return p;
    }
    int depth = 0;
    while (p < end) {
        if (*p == '"') {
            p = skip_string(p, end);
            continue;
        }
        if (*p == '{' || *p == '[') depth++;
        if ((*p == '}' || *p == ']') && --depth == 0) return p + 1;
        p++;
    }
    return end;
}

void li_jval_elements(const struct li_jval *arr, struct li_jval_iter *it)
{
    if (arr->t == LI_J_ARRAY && arr->s.len >= 2) {
        it->p = arr->s.p + 1; /* past the '[' */
        it->end = arr->s.p + arr->s.len;
    } else {
        it->p = it->end = NULL;
    }
}

int li_jval_next(struct li_jval_iter *it, struct li_jval *el)
{
    if (!it->p) return 0;
    const char *p = skip_ws(it->p, it->end), *end = it->end;
    if (p < end && *p == ',') p = skip_ws(p + 1, end);
    if (p >= end || *p == ']') return 0;
    const char *q = skip_value(p, end);
    el->s.p = p;
    el->s.len = (size_t)(q - p);
    el->t = li_json_type_of((unsigned char)*p);
    it->p = q;
    return 1;
}

/* The 4 hex digits of a \u escape (a digit that is not one counts 0: the
 * text was validated, this only keeps the value a UTF-16 unit). */
static unsigned hex4(const char *p)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int h = li_hexval((unsigned char)p[i]);
        v = v * 16 + (unsigned)(h < 0 ? 0 : h);
    }
    return v;
}

static size_t put_utf8(char *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12);
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | cp >> 18);
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Decodes the valid JSON string v (a string, at least its two quotes) into
 * out, which has room for v->s.len bytes: a decoded string is never longer
 * than its JSON text. Returns the decoded length. */
size_t li_jval_decode_into(const struct li_jval *v, char *out)
{
    const char *p = v->s.p + 1, *end = v->s.p + v->s.len - 1;
    char *o = out;
    while (p < end) {
        const char *bs = memchr(p, '\\', (size_t)(end - p));
        size_t run = (size_t)((bs ? bs : end) - p);
        memcpy(o, p, run);
        o += run;
        p += run;
        if (!bs || p + 1 >= end) break;
        char c = p[1];
        p += 2;
        switch (c) {
        case 'b':
            *o++ = '\b';
            break;
        case 'f':
            *o++ = '\f';
            break;
        case 'n':
            *o++ = '\n';
            break;
        case 'r':
            *o++ = '\r';
            break;
        case 't':
            *o++ = '\t';
            break;
        case 'u': {
            if (end - p < 4) break;
            uint32_t cp = hex4(p);
            p += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF && end - p >= 6 && p[0] == '\\' && p[1] == 'u') {
                uint32_t lo = hex4(p + 2);
                if (lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    p += 6;
                }
            }
            if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD; /* the scanner lets none through */
            o += put_utf8(o, cp);
            break;
        }
        default: /* '"', '\\', '/' */
            *o++ = c;
        }
    }
    return (size_t)(o - out);
}

/* v decoded into a new buffer (NUL-terminated; *n without it). NULL when v
 * is no string or out of memory. */
char *li_jval_string(const struct li_jval *v, size_t *n)
{
    if (v->t != LI_J_STRING || v->s.len < 2) return NULL;
    char *out = malloc(v->s.len);
    if (!out) return NULL;
    *n = li_jval_decode_into(v, out);
    out[*n] = '\0';
    return out;
}

/* A JSON integer (non-negative unless neg is set). *ok says whether v was
 * one in range; the value is -1 otherwise. */
int64_t li_jval_int(const struct li_jval *v, int neg, int *ok)
{
    char buf[24];
    *ok = 0;
    if (v->t != LI_J_NUMBER || v->s.len == 0 || v->s.len >= sizeof buf) return -1;
    memcpy(buf, v->s.p, v->s.len);
    buf[v->s.len] = '\0';
    if (strpbrk(buf, ".eE") || (!neg && buf[0] == '-')) return -1;
    errno = 0;
    char *e;
    long long x = strtoll(buf, &e, 10);
    if (errno || *e) return -1;
    *ok = 1;
    return x;
}