/*
 * lf — Content-Length framing. See lf.h for the contract and
 * docs/framing.md for the rules and the error table.
 *
 * lf_parse is a pure function of the bytes it is given: `last_len` only
 * saves work. A block is decided by the first "stop" byte in it: the end of
 * the block, a bare '\n', a '\r' not followed by '\n', or the 8 KiB limit.
 * Until then the answer is LF_PARTIAL; after it, the whole block up to the
 * stop is parsed line by line and the first problem in order wins. Because
 * the answer never depends on how the bytes were split, the stream framer
 * reports the same callbacks for any chunking of the same stream.
 */
#include "framing/lf.h"

#include <string.h>

#define LF__STR(x) #x
#define LF__XSTR(x) LF__STR(x)

static const char lf__pattern[] = "content-length:";
#define LF__PATTERN_LEN (sizeof(lf__pattern) - 1)

static inline unsigned char lf__lower(unsigned char c)
{
    return (unsigned char)(c - 'A') < 26 ? (unsigned char)(c | 0x20) : c;
}

/* RFC 9110 token characters: what a header name may contain. */
static int lf__is_tchar(unsigned char c)
{
    if ((unsigned char)((c | 0x20) - 'a') < 26 || (unsigned char)(c - '0') < 10)
        return 1;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Compares s[0..n) with the lowercase literal lit, ignoring ASCII case. */
static int lf__ieq(const char *s, size_t n, const char *lit, size_t lit_len)
{
    if (n != lit_len)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (lf__lower((unsigned char)s[i]) != (unsigned char)lit[i])
            return 0;
    return 1;
}

static int lf__fail(size_t *err_off, size_t off, int code)
{
    if (err_off)
        *err_off = off;
    return code;
}

/* ---- the stop scan: only new bytes are looked at ---- */

enum lf__stop { LF__MORE, LF__DECIDED, LF__LIMIT };

/* Looks for the first stop byte at or after `from`; *upto is set to the
 * number of bytes the line parser needs to see to decide the block. */
static enum lf__stop lf__scan(const char *buf, size_t len, size_t from, size_t *upto)
{
    const unsigned char *b = (const unsigned char *)buf;
    size_t lim = len < LF_MAX_HEADER_BLOCK ? len : LF_MAX_HEADER_BLOCK;

    for (size_t i = from; i < lim; i++) {
        if (b[i] > '\r')
            continue;
        if (b[i] == '\r') {
            if (i + 1 < lim && b[i + 1] != '\n') {
                *upto = i + 2;
                return LF__DECIDED;
            }
        } else if (b[i] == '\n') {
            /* A bare '\n', or the "\r\n" that ends an empty line. */
            if (i < 2 || b[i - 1] != '\r' || b[i - 2] == '\n') {
                *upto = i + 1;
                return LF__DECIDED;
            }
        }
    }
    if (len >= LF_MAX_HEADER_BLOCK) {
        *upto = LF_MAX_HEADER_BLOCK;
        return LF__LIMIT;
    }
    return LF__MORE;
}

/* ---- the line parser: runs once per block, on a decided prefix ---- */

static int lf__parse_length(const char *v, size_t n, size_t v_off, uint64_t max_len,
                            uint64_t *out, size_t *err_off)
{
    uint64_t x = 0;
    int too_big = 0;

    if (n == 0)
        return lf__fail(err_off, v_off, LF_EBADLEN);
    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned)((unsigned char)v[i] - '0');
        if (d > 9)
            return lf__fail(err_off, v_off + i, LF_EBADLEN);
        if (x > (UINT64_MAX - d) / 10)
            too_big = 1;
        else
            x = x * 10 + d;
    }
    if (too_big || x > max_len)
        return lf__fail(err_off, v_off, LF_EBADLEN);
    *out = x;
    return 0;
}

static int lf__is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* Offset in v of a charset parameter that is not utf-8/utf8, or n when
 * every charset parameter is acceptable (or there is none). The media type
 * itself is not judged: LSP clients send several spellings of it. */
static size_t lf__bad_charset(const char *v, size_t n)
{
    const char *semi = memchr(v, ';', n);
    size_t i = semi ? (size_t)(semi - v) : n;

    while (i < n) {
        size_t p = ++i, end, eq, vs, ve;
        while (i < n && v[i] != ';')
            i++;
        end = i;
        while (p < end && lf__is_space(v[p]))
            p++;
        for (eq = p; eq < end && v[eq] != '='; eq++)
            ;
        if (eq == end)
            continue;
        ve = eq;
        while (ve > p && lf__is_space(v[ve - 1]))
            ve--;
        if (!lf__ieq(v + p, ve - p, "charset", 7))
            continue;
        vs = eq + 1;
        ve = end;
        while (vs < ve && lf__is_space(v[vs]))
            vs++;
        while (ve > vs && lf__is_space(v[ve - 1]))
            ve--;
        size_t qs = vs, qe = ve;
        if (qe - qs >= 2 && v[qs] == '"' && v[qe - 1] == '"') {
            qs++;
            qe--;
        }
        if (!lf__ieq(v + qs, qe - qs, "utf-8", 5) && !lf__ieq(v + qs, qe - qs, "utf8", 4))
            return vs;
    }
    return n;
}

/* Parses one header line buf[ls..le) (without its "\r\n") into f. */
static int lf__line(const char *buf, size_t ls, size_t le, uint64_t max_len, struct lf_frame *f,
                    int *have_len, size_t *err_off)
{
    const char *colon = memchr(buf + ls, ':', le - ls);
    size_t c, vs, ve;

    if (f->num_headers == LF_MAX_HEADERS)
        return lf__fail(err_off, ls, LF_ETOOMANY);
    if (colon == NULL || colon == buf + ls)
        return lf__fail(err_off, ls, LF_EBADHDR);
    c = (size_t)(colon - buf);
    for (size_t i = ls; i < c; i++)
        if (!lf__is_tchar((unsigned char)buf[i]))
            return lf__fail(err_off, i, LF_EBADHDR);
    for (size_t i = c + 1; i < le; i++) {
        unsigned char ch = (unsigned char)buf[i];
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
            return lf__fail(err_off, i, LF_EBADHDR);
    }
    vs = c + 1;
    ve = le;
    while (vs < ve && lf__is_space(buf[vs]))
        vs++;
    while (ve > vs && lf__is_space(buf[ve - 1]))
        ve--;

    struct lf_header *h = &f->headers[f->num_headers++];
    h->name = buf + ls;
    h->name_len = c - ls;
    h->value = buf + vs;
    h->value_len = ve - vs;

    if (lf__ieq(h->name, h->name_len, "content-length", 14)) {
        if (*have_len)
            return lf__fail(err_off, ls, LF_EDUPLEN);
        *have_len = 1;
        return lf__parse_length(h->value, h->value_len, vs, max_len, &f->content_length, err_off);
    }
    if (lf__ieq(h->name, h->name_len, "content-type", 12)) {
        size_t bad = lf__bad_charset(h->value, h->value_len);
        if (bad != h->value_len)
            return lf__fail(err_off, vs + bad, LF_EBADTYPE);
        if (f->content_type == NULL) {
            f->content_type = h->value;
            f->content_type_len = h->value_len;
        }
        return 0;
    }
    f->num_unknown++;
    return 0;
}

/* Parses buf[0..upto), which the scan has shown to hold a stop byte (or
 * the whole 8 KiB), so the block is decided: a length or an error. */
static int lf__block(const char *buf, size_t upto, uint64_t max_len, struct lf_frame *f,
                     size_t *err_off)
{
    size_t pos = 0;
    int have_len = 0;

    f->content_length = 0;
    f->content_type = NULL;
    f->content_type_len = 0;
    f->num_headers = 0;
    f->num_unknown = 0;
    f->header_len = 0;

    for (;;) {
        size_t eol = pos;
        while (eol < upto && buf[eol] != '\r' && buf[eol] != '\n')
            eol++;
        /* A line still open at the limit can only end past it. */
        if (eol == upto || (buf[eol] == '\r' && eol + 1 == upto))
            return lf__fail(err_off, 0, LF_EHDRTOOBIG);
        if (buf[eol] == '\n' || buf[eol + 1] != '\n')
            return lf__fail(err_off, eol, LF_EBADHDR);
        if (eol == pos) {
            if (!have_len)
                return lf__fail(err_off, 0, LF_ENOLEN);
            f->header_len = eol + 2;
            return (int)f->header_len;
        }
        int rc = lf__line(buf, pos, eol, max_len, f, &have_len, err_off);
        if (rc != 0)
            return rc;
        pos = eol + 2;
    }
}

int lf_parse(const char *buf, size_t len, size_t last_len, uint64_t max_len,
             struct lf_frame *frame, size_t *err_off)
{
    size_t upto = 0;

    if (max_len == 0)
        max_len = LF_DEFAULT_MAX_LEN;
    /* The byte before the new ones is looked at again: a '\r' there is
     * decided by the first new byte. */
    size_t from = last_len > 0 && last_len <= len ? last_len - 1 : 0;
    if (lf__scan(buf, len, from, &upto) == LF__MORE)
        return LF_PARTIAL;
    return lf__block(buf, upto, max_len, frame, err_off);
}

/* ---- errors ---- */

static const struct {
    int code;
    const char *name;
    const char *msg;
} lf__errors[] = {
    {LF_PARTIAL, "LF_PARTIAL", "stream ended inside a frame"},
    {LF_EBADLEN, "LF_EBADLEN", "Content-Length is not a decimal number within the maximum"},
    {LF_ENOLEN, "LF_ENOLEN", "header block has no Content-Length"},
    {LF_EHDRTOOBIG, "LF_EHDRTOOBIG",
     "header block longer than " LF__XSTR(LF_MAX_HEADER_BLOCK) " bytes"},
    {LF_EBADHDR, "LF_EBADHDR",
     "malformed header line (not \"Name: value\" ending in \\r\\n)"},
    {LF_EDUPLEN, "LF_EDUPLEN", "more than one Content-Length header"},
    {LF_EBADTYPE, "LF_EBADTYPE", "Content-Type charset is not utf-8"},
    {LF_ETOOMANY, "LF_ETOOMANY", "more than " LF__XSTR(LF_MAX_HEADERS) " header lines"},
};

const char *lf_strerror(int code)
{
    if (code >= 0)
        return "success";
    for (size_t i = 0; i < sizeof(lf__errors) / sizeof(lf__errors[0]); i++)
        if (lf__errors[i].code == code)
            return lf__errors[i].msg;
    return "unknown framing error";
}

const char *lf_errname(int code)
{
    if (code >= 0)
        return "LF_OK";
    for (size_t i = 0; i < sizeof(lf__errors) / sizeof(lf__errors[0]); i++)
        if (lf__errors[i].code == code)
            return lf__errors[i].name;
    return "LF_EUNKNOWN";
}

/* ---- resynchronisation and writing ---- */

/* The pattern has a single 'c', so no proper prefix of it is also a
 * suffix of a partial match: after a mismatch the search restarts at the
 * mismatching byte, never earlier. */
size_t lf_resync(const char *buf, size_t len, int *found)
{
    const unsigned char *b = (const unsigned char *)buf;

    for (size_t i = 0; i < len; i++) {
        if ((b[i] | 0x20) != 'c')
            continue;
        size_t j = 1;
        while (j < LF__PATTERN_LEN && i + j < len &&
               lf__lower(b[i + j]) == (unsigned char)lf__pattern[j])
            j++;
        if (j == LF__PATTERN_LEN) {
            *found = 1;
            return i;
        }
        if (i + j == len) {
            *found = 0;
            return i;
        }
        i += j - 1;
    }
    *found = 0;
    return len;
}

size_t lf_write_header(char *out, size_t cap, uint64_t content_length)
{
    static const char head[] = "Content-Length: ";
    char digits[20];
    size_t nd = 0, n;

    do {
        digits[nd++] = (char)('0' + content_length % 10);
        content_length /= 10;
    } while (content_length != 0);
    n = sizeof(head) - 1 + nd + 4;
    if (cap < n)
        return 0;
    memcpy(out, head, sizeof(head) - 1);
    for (size_t i = 0; i < nd; i++)
        out[sizeof(head) - 1 + i] = digits[nd - 1 - i];
    memcpy(out + n - 4, "\r\n\r\n", 4);
    return n;
}

/* ---- stream framer ---- */

static const struct lf_stream_cb lf__no_cb;

void lf_stream_init(struct lf_stream *s, uint64_t max_len, const struct lf_stream_cb *cb,
                    void *ud)
{
    s->cb = cb ? cb : &lf__no_cb;
    s->ud = ud;
    s->max_len = max_len ? max_len : LF_DEFAULT_MAX_LEN;
    s->offset = 0;
    s->state = LF_ST_HEADER;
    s->body_left = 0;
    s->block_off = 0;
    s->skip_off = 0;
    s->hdr_len = 0;
    s->last_len = 0;
}

static void lf__error(struct lf_stream *s, int code, uint64_t off)
{
    if (s->cb->on_error)
        s->cb->on_error(s->ud, code, off);
}

static void lf__skip(struct lf_stream *s, uint64_t off, uint64_t n)
{
    if (s->cb->on_skip)
        s->cb->on_skip(s->ud, off, n);
}

/* A header block starts at stream offset `off` with hdr[0..hdr_len) in it. */
static void lf__start_block(struct lf_stream *s, uint64_t off, size_t buffered)
{
    s->state = LF_ST_HEADER;
    s->block_off = off;
    s->hdr_len = buffered;
    s->last_len = buffered;
}

/* The header block at block_off was parsed: report it and enter its body. */
static void lf__frame(struct lf_stream *s, const struct lf_frame *f)
{
    if (s->cb->on_header)
        s->cb->on_header(s->ud, f, s->block_off);
    s->hdr_len = 0;
    s->last_len = 0;
    s->body_left = f->content_length;
    if (s->body_left > 0) {
        s->state = LF_ST_BODY;
        return;
    }
    if (s->cb->on_end)
        s->cb->on_end(s->ud);
    lf__start_block(s, s->block_off + f->header_len, 0);
}

static size_t lf__feed_body(struct lf_stream *s, const char *buf, size_t len)
{
    size_t n = s->body_left < len ? (size_t)s->body_left : len;

    if (s->cb->on_body)
        s->cb->on_body(s->ud, buf, n);
    s->body_left -= n;
    if (s->body_left == 0) {
        if (s->cb->on_end)
            s->cb->on_end(s->ud);
        lf__start_block(s, s->offset + n, 0);
    }
    return n;
}

/* Nothing buffered: parse in place, copy only an unfinished block. */
static size_t lf__feed_direct(struct lf_stream *s, const char *buf, size_t len)
{
    struct lf_frame f;
    size_t eo = 0;
    int r = lf_parse(buf, len, 0, s->max_len, &f, &eo);

    s->block_off = s->offset;
    if (r > 0) {
        lf__frame(s, &f);
        return (size_t)r;
    }
    if (r == LF_PARTIAL) {
        memcpy(s->hdr, buf, len); /* len < LF_MAX_HEADER_BLOCK, or it would be decided */
        s->hdr_len = len;
        s->last_len = len;
        return len;
    }
    lf__error(s, r, s->block_off + eo);
    s->state = LF_ST_RESYNC;
    s->skip_off = s->block_off;
    s->hdr_len = 0;
    return 1; /* the bad block's first byte is never a new start */
}

/* After an error in a buffered block: look for the next start in what was
 * buffered before this chunk (minus the block's first byte). The chunk
 * itself is then fed again from its start. */
static void lf__resync_buffered(struct lf_stream *s, size_t old)
{
    int found;
    size_t at = 1 + lf_resync(s->hdr + 1, old - 1, &found);

    memmove(s->hdr, s->hdr + at, old - at);
    if (found) {
        lf__skip(s, s->skip_off, at);
        /* Those bytes held no stop byte before, so they hold none now. */
        lf__start_block(s, s->skip_off + at, old - at);
        return;
    }
    s->state = LF_ST_RESYNC;
    s->hdr_len = old - at;
}

static size_t lf__feed_buffered(struct lf_stream *s, const char *buf, size_t len)
{
    struct lf_frame f;
    size_t eo = 0, old = s->hdr_len;
    size_t m = LF_MAX_HEADER_BLOCK - old;

    if (m > len)
        m = len;
    memcpy(s->hdr + old, buf, m);
    int r = lf_parse(s->hdr, old + m, s->last_len, s->max_len, &f, &eo);
    if (r > 0) {
        lf__frame(s, &f);
        return (size_t)r - old;
    }
    if (r == LF_PARTIAL) {
        s->hdr_len = old + m;
        s->last_len = old + m;
        return m;
    }
    lf__error(s, r, s->block_off + eo);
    s->skip_off = s->block_off;
    lf__resync_buffered(s, old);
    return 0;
}

/* Skipping: hdr[0..hdr_len) holds the start of a possible "Content-Length:"
 * that the previous chunk ended in. */
static size_t lf__feed_resync(struct lf_stream *s, const char *buf, size_t len)
{
    size_t k = s->hdr_len;
    int found;

    if (k > 0) {
        size_t j = 0;
        while (k + j < LF__PATTERN_LEN && j < len &&
               lf__lower((unsigned char)buf[j]) == (unsigned char)lf__pattern[k + j])
            j++;
        if (k + j == LF__PATTERN_LEN) {
            lf__skip(s, s->skip_off, s->offset - k - s->skip_off);
            lf__start_block(s, s->offset - k, k);
            return 0;
        }
        if (j == len) {
            memcpy(s->hdr + k, buf, len);
            s->hdr_len = k + len;
            return len;
        }
        s->hdr_len = 0;
        return j;
    }
    size_t x = lf_resync(buf, len, &found);
    if (found) {
        lf__skip(s, s->skip_off, s->offset + x - s->skip_off);
        lf__start_block(s, s->offset + x, 0);
        return x;
    }
    memcpy(s->hdr, buf + x, len - x);
    s->hdr_len = len - x;
    return len;
}

void lf_stream_feed(struct lf_stream *s, const char *buf, size_t len)
{
    while (len > 0) {
        size_t used;
        if (s->state == LF_ST_BODY)
            used = lf__feed_body(s, buf, len);
        else if (s->state == LF_ST_RESYNC)
            used = lf__feed_resync(s, buf, len);
        else if (s->hdr_len > 0)
            used = lf__feed_buffered(s, buf, len);
        else
            used = lf__feed_direct(s, buf, len);
        buf += used;
        len -= used;
        s->offset += used;
    }
}

int lf_stream_finish(struct lf_stream *s)
{
    int rc = LF_PARTIAL;

    if (s->state == LF_ST_BODY) {
        lf__error(s, LF_PARTIAL, s->block_off);
    } else if (s->state == LF_ST_RESYNC) {
        lf__skip(s, s->skip_off, s->offset - s->skip_off);
    } else if (s->hdr_len > 0) {
        lf__error(s, LF_PARTIAL, s->block_off);
        lf__skip(s, s->block_off, s->hdr_len);
    } else {
        rc = 0;
    }
    lf__start_block(s, s->offset, 0);
    s->body_left = 0;
    return rc;
}
