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

#include <assert.h>
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
/* clang-format off */
static const unsigned char lf__tchar[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 1, 0, 1, 1, 1, 1, 1, 0, 0, 1, 1, 0, 1, 1, 0,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0,
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 1, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};
/* clang-format on */

/* Compares s[0..n) with the lowercase literal lit, ignoring ASCII case. */
static int lf__ieq(const char *s, size_t n, const char *lit, size_t lit_len)
{
    if (n != lit_len) return 0;
    for (size_t i = 0; i < n; i++)
        if (lf__lower((unsigned char)s[i]) != (unsigned char)lit[i]) return 0;
    return 1;
}

static int lf__fail(size_t *err_off, size_t off, int code)
{
    if (err_off) *err_off = off;
    return code;
}

/* ---- the stop scan: only new bytes are looked at ---- */

/* Looks for the first stop byte at or after `from`. Returns 1 when the
 * block is decided, with *upto set to the number of bytes the line parser
 * needs to decide it; 0 when more bytes are needed. */
static int lf__scan(const char *buf, size_t len, size_t from, size_t *upto)
{
    const unsigned char *b = (const unsigned char *)buf;
    size_t lim = len < LF_MAX_HEADER_BLOCK ? len : LF_MAX_HEADER_BLOCK;

    for (size_t i = from; i < lim; i++) {
        if (b[i] > '\r') continue;
        if (b[i] == '\r') {
            if (i + 1 < lim && b[i + 1] != '\n') {
                *upto = i + 2;
                return 1;
            }
        } else if (b[i] == '\n') {
            /* A bare '\n', or the "\r\n" that ends an empty line. */
            if (i < 2 || b[i - 1] != '\r' || b[i - 2] == '\n') {
                *upto = i + 1;
                return 1;
            }
        }
    }
    if (len >= LF_MAX_HEADER_BLOCK) {
        *upto = LF_MAX_HEADER_BLOCK;
        return 1;
    }
    return 0;
}

/* ---- the line parser: runs once per block, on a decided prefix ---- */

/* Single pass, left to right: each line is read only as far as its first
 * bad byte. A Content-Length value stops at its first non-digit, so a run
 * of "Content-Length:Content-Length:..." costs the stream framer constant
 * work per resynchronisation, not a scan to the end of the line. */

static int lf__is_space(unsigned char c)
{
    return c == ' ' || c == '\t';
}

static int lf__is_ctl(unsigned char c)
{
    return (c < 0x20 && c != '\t') || c == 0x7f;
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
        while (p < end && lf__is_space((unsigned char)v[p]))
            p++;
        for (eq = p; eq < end && v[eq] != '='; eq++)
            ;
        if (eq == end) continue;
        ve = eq;
        while (ve > p && lf__is_space((unsigned char)v[ve - 1]))
            ve--;
        if (!lf__ieq(v + p, ve - p, "charset", 7)) continue;
        vs = eq + 1;
        ve = end;
        while (vs < ve && lf__is_space((unsigned char)v[vs]))
            vs++;
        while (ve > vs && lf__is_space((unsigned char)v[ve - 1]))
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

/* The line end at b[i]: "\r\n" is fine (returns 0); anything else is an
 * error at i, or, when the bytes run out at the limit, LF_EHDRTOOBIG. */
static int lf__eol(const unsigned char *b, size_t i, size_t upto, int code, size_t *err_off)
{
    if (i == upto || (b[i] == '\r' && i + 1 == upto)) return lf__fail(err_off, 0, LF_EHDRTOOBIG);
    if (b[i] == '\r' && b[i + 1] == '\n') return 0;
    if (b[i] == '\r' || b[i] == '\n') return lf__fail(err_off, i, LF_EBADHDR);
    return lf__fail(err_off, i, code);
}

/* The Content-Length value from b[vs]: digits, then optional blanks, then
 * the line end. Sets *ve to the end of the digits, *eol to the '\r'. */
static int lf__length_value(const unsigned char *b, size_t vs, size_t upto, uint64_t max_len,
                            uint64_t *out, size_t *ve, size_t *eol, size_t *err_off)
{
    uint64_t x = 0;
    int too_big = 0;
    size_t i = vs;

    for (; i < upto && (unsigned)(b[i] - '0') < 10; i++) {
        unsigned d = (unsigned)(b[i] - '0');
        if (x > (UINT64_MAX - d) / 10)
            too_big = 1;
        else
            x = x * 10 + d;
    }
    *ve = i;
    while (i < upto && lf__is_space(b[i]))
        i++;
    int rc = lf__eol(b, i, upto, LF_EBADLEN, err_off);
    if (rc != 0) return rc;
    if (*ve == vs || too_big || x > max_len) return lf__fail(err_off, vs, LF_EBADLEN);
    *out = x;
    *eol = i;
    return 0;
}

/* Parses the header line at b[ls]; sets *next to the start of the next. */
static int lf__line(const char *buf, size_t ls, size_t upto, uint64_t max_len, struct lf_frame *f,
                    int *have_len, size_t *next, size_t *err_off)
{
    const unsigned char *b = (const unsigned char *)buf;
    size_t i = ls, colon, vs, ve;
    int rc;

    if (f->num_headers == LF_MAX_HEADERS) return lf__fail(err_off, ls, LF_ETOOMANY);
    while (i < upto && lf__tchar[b[i]])
        i++;
    if (i == upto) return lf__fail(err_off, 0, LF_EHDRTOOBIG);
    if (b[i] != ':' || i == ls) return lf__fail(err_off, i, LF_EBADHDR);
    colon = i++;
    while (i < upto && lf__is_space(b[i]))
        i++;
    vs = i;

    struct lf_header *h = &f->headers[f->num_headers++];
    h->name = buf + ls;
    h->name_len = colon - ls;
    h->value = buf + vs;

    if (lf__ieq(h->name, h->name_len, "content-length", 14)) {
        if (*have_len) return lf__fail(err_off, ls, LF_EDUPLEN);
        *have_len = 1;
        rc = lf__length_value(b, vs, upto, max_len, &f->content_length, &ve, &i, err_off);
        if (rc != 0) return rc;
        h->value_len = ve - vs;
        *next = i + 2;
        return 0;
    }

    while (i < upto && !lf__is_ctl(b[i]))
        i++;
    rc = lf__eol(b, i, upto, LF_EBADHDR, err_off);
    if (rc != 0) return rc;
    *next = i + 2;
    ve = i;
    while (ve > vs && lf__is_space(b[ve - 1]))
        ve--;
    h->value_len = ve - vs;

    if (lf__ieq(h->name, h->name_len, "content-type", 12)) {
        size_t bad = lf__bad_charset(h->value, h->value_len);
        if (bad != h->value_len) return lf__fail(err_off, vs + bad, LF_EBADTYPE);
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
    const unsigned char *b = (const unsigned char *)buf;
    size_t pos = 0;
    int have_len = 0;

    f->content_length = 0;
    f->content_type = NULL;
    f->content_type_len = 0;
    f->num_headers = 0;
    f->num_unknown = 0;
    f->header_len = 0;

    for (;;) {
        if (pos < upto && b[pos] == '\r') {
            int rc = lf__eol(b, pos, upto, LF_EBADHDR, err_off);
            if (rc != 0) return rc;
            if (!have_len) return lf__fail(err_off, 0, LF_ENOLEN);
            f->header_len = pos + 2;
            return (int)f->header_len;
        }
        if (pos == upto) return lf__fail(err_off, 0, LF_EHDRTOOBIG);
        int rc = lf__line(buf, pos, upto, max_len, f, &have_len, &pos, err_off);
        if (rc != 0) return rc;
    }
}

/* lf_parse, also telling how many leading bytes are known to hold no stop
 * byte; the stream framer reuses that for blocks that start inside them. */
static int lf__parse(const char *buf, size_t len, size_t last_len, uint64_t max_len,
                     struct lf_frame *frame, size_t *err_off, size_t *clean)
{
    size_t upto = 0;
    /* The byte before the new ones is looked at again: a '\r' there is
     * decided by the first new byte. */
    size_t from = last_len > 0 && last_len <= len ? last_len - 1 : 0;

    if (!lf__scan(buf, len, from, &upto)) {
        *clean = len;
        return LF_PARTIAL;
    }
    /* The stop byte is at upto - 1 or upto - 2; a '\r' at the limit is
     * still undecided. */
    *clean = upto >= 2 ? upto - 2 : 0;
    return lf__block(buf, upto, max_len ? max_len : LF_DEFAULT_MAX_LEN, frame, err_off);
}

int lf_parse(const char *buf, size_t len, size_t last_len, uint64_t max_len, struct lf_frame *frame,
             size_t *err_off)
{
    size_t clean;
    return lf__parse(buf, len, last_len, max_len, frame, err_off, &clean);
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
    {LF_EBADHDR, "LF_EBADHDR", "malformed header line (not \"Name: value\" ending in \\r\\n)"},
    {LF_EDUPLEN, "LF_EDUPLEN", "more than one Content-Length header"},
    {LF_EBADTYPE, "LF_EBADTYPE", "Content-Type charset is not utf-8"},
    {LF_ETOOMANY, "LF_ETOOMANY", "more than " LF__XSTR(LF_MAX_HEADERS) " header lines"},
};

const char *lf_strerror(int code)
{
    if (code >= 0) return "success";
    for (size_t i = 0; i < sizeof(lf__errors) / sizeof(lf__errors[0]); i++)
        if (lf__errors[i].code == code) return lf__errors[i].msg;
    return "unknown framing error";
}

const char *lf_errname(int code)
{
    if (code >= 0) return "LF_OK";
    for (size_t i = 0; i < sizeof(lf__errors) / sizeof(lf__errors[0]); i++)
        if (lf__errors[i].code == code) return lf__errors[i].name;
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
        if ((b[i] | 0x20) != 'c') continue;
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
    if (cap < n) return 0;
    memcpy(out, head, sizeof(head) - 1);
    for (size_t i = 0; i < nd; i++)
        out[sizeof(head) - 1 + i] = digits[nd - 1 - i];
    memcpy(out + n - 4, "\r\n\r\n", 4);
    return n;
}

/* ---- stream framer ---- */

/* After an error the next block starts at a "Content-Length:" found inside
 * bytes the failed block's scan has already passed. Those bytes hold no
 * stop byte for the new block either (a stop depends only on the two bytes
 * before it, and the new block starts with two letters), so scan_end lets
 * the new block skip them: without it a run of "Content-Length:" with no
 * line end would cost a fresh 8 KiB scan every 15 bytes. */

static const struct lf_stream_cb lf__no_cb;

/* The stream at a frame boundary at `offset`: nothing buffered or pending. */
static void lf__boundary(struct lf_stream *s)
{
    s->state = LF_ST_HEADER;
    s->block_off = s->offset;
    s->body_left = 0;
    s->scan_end = 0;
    s->hdr_len = 0;
    s->last_len = 0;
}

void lf_stream_init(struct lf_stream *s, uint64_t max_len, const struct lf_stream_cb *cb, void *ud)
{
    s->cb = cb ? cb : &lf__no_cb;
    s->ud = ud;
    s->max_len = max_len ? max_len : LF_DEFAULT_MAX_LEN;
    s->offset = 0;
    s->skip_off = 0;
    lf__boundary(s);
}

static void lf__error(struct lf_stream *s, int code, uint64_t off)
{
    if (s->cb->on_error) s->cb->on_error(s->ud, code, off);
}

/* Reports the error of the block at block_off and starts skipping. */
static void lf__bad_block(struct lf_stream *s, int code, size_t err_off, size_t clean)
{
    lf__error(s, code, s->block_off + err_off);
    if (s->block_off + clean > s->scan_end) s->scan_end = s->block_off + clean;
    s->skip_off = s->block_off;
    s->state = LF_ST_RESYNC;
    s->hdr_len = 0;
}

/* A "Content-Length:" was found at stream offset `off`, `buffered` bytes of
 * it already in hdr: report the skipped bytes and start a block there. */
static void lf__found(struct lf_stream *s, uint64_t off, size_t buffered)
{
    if (s->cb->on_skip) s->cb->on_skip(s->ud, s->skip_off, off - s->skip_off);
    s->state = LF_ST_HEADER;
    s->block_off = off;
    s->hdr_len = buffered;
    s->last_len = s->scan_end > off ? (size_t)(s->scan_end - off) : 0;
    if (s->last_len < buffered) s->last_len = buffered;
}

/* The header block at block_off was parsed: report it and enter its body. */
static void lf__frame(struct lf_stream *s, const struct lf_frame *f)
{
    if (s->cb->on_header) s->cb->on_header(s->ud, f, s->block_off);
    s->scan_end = 0;
    s->hdr_len = 0;
    s->last_len = 0;
    s->body_left = f->content_length;
    if (s->body_left > 0) {
        s->state = LF_ST_BODY;
        return;
    }
    if (s->cb->on_end) s->cb->on_end(s->ud);
    s->state = LF_ST_HEADER;
    s->block_off += f->header_len;
}

static size_t lf__feed_body(struct lf_stream *s, const char *buf, size_t len)
{
    size_t n = s->body_left < len ? (size_t)s->body_left : len;

    if (s->cb->on_body) s->cb->on_body(s->ud, buf, n);
    s->body_left -= n;
    if (s->body_left == 0) {
        if (s->cb->on_end) s->cb->on_end(s->ud);
        s->state = LF_ST_HEADER;
        s->block_off = s->offset + n;
    }
    return n;
}

static size_t lf__min(size_t a, size_t b)
{
    return a < b ? a : b;
}

/* Nothing buffered: parse in place, copy only an unfinished block. */
static size_t lf__feed_direct(struct lf_stream *s, const char *buf, size_t len)
{
    struct lf_frame f;
    size_t eo = 0, clean;
    int r = lf__parse(buf, len, lf__min(s->last_len, len), s->max_len, &f, &eo, &clean);

    s->block_off = s->offset;
    if (r > 0) {
        lf__frame(s, &f);
        return (size_t)r;
    }
    if (r == LF_PARTIAL) {
        assert(len < LF_MAX_HEADER_BLOCK); /* a longer block is decided (LF_EHDRTOOBIG) */
        memcpy(s->hdr, buf, len);
        s->hdr_len = len;
        s->last_len = len;
        return len;
    }
    lf__bad_block(s, r, eo, clean);
    return 1; /* the bad block's first byte is never a new start */
}

/* A block began in an earlier chunk: hdr[0..pre) holds its bytes. This
 * chunk's bytes are appended; when the block turns out bad, the next start
 * is looked for in hdr, and blocks found there are parsed in place (at
 * hdr + base) until one succeeds, needs more bytes, or the search runs into
 * this chunk's bytes, which are then handed back to be fed in place. */
static size_t lf__feed_buffered(struct lf_stream *s, const char *buf, size_t len)
{
    struct lf_frame f;
    size_t pre = s->hdr_len, base = 0, m = lf__min(len, LF_MAX_HEADER_BLOCK - pre);
    size_t have = pre + m;

    memcpy(s->hdr + pre, buf, m);
    for (;;) {
        size_t eo = 0, clean, n = have - base;
        int found;
        int r = lf__parse(s->hdr + base, n, lf__min(s->last_len, n), s->max_len, &f, &eo, &clean);

        if (r > 0) {
            lf__frame(s, &f);
            /* The block's stop byte is never in hdr[0..pre): that was looked
             * at when it came and did not end a block. */
            assert(base + (size_t)r > pre && base + (size_t)r - pre <= m);
            return base + (size_t)r - pre;
        }
        if (r == LF_PARTIAL) {
            memmove(s->hdr, s->hdr + base, n);
            s->hdr_len = n;
            s->last_len = n;
            return m;
        }
        lf__bad_block(s, r, eo, clean);
        size_t at = base + 1 + lf_resync(s->hdr + base + 1, n - 1, &found);
        if (at >= pre) {
            if (found) lf__found(s, s->skip_off + (at - base), 0);
            return at - pre;
        }
        if (!found) {
            memmove(s->hdr, s->hdr + at, have - at);
            s->hdr_len = have - at;
            return m;
        }
        lf__found(s, s->block_off + (at - base), 0);
        base = at;
    }
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
            lf__found(s, s->offset - k, k);
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
        lf__found(s, s->offset + x, 0);
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
        assert(used <= len); /* a step takes only bytes it was given */
        buf += used;
        len -= used;
        s->offset += used;
    }
}

int lf_stream_pass(struct lf_stream *s, const char *frame, size_t len, uint64_t *off)
{
    if (s->state == LF_ST_RESYNC) {
        /* A "Content-Length:" partly buffered cannot go on into another
         * one (the pattern has a single 'c'), so the skip ends at frame[0]. */
        int found;
        if (len < LF__PATTERN_LEN || lf_resync(frame, LF__PATTERN_LEN, &found) != 0 || !found)
            return -1;
        if (s->cb->on_skip) s->cb->on_skip(s->ud, s->skip_off, s->offset - s->skip_off);
    } else if (s->state != LF_ST_HEADER || s->hdr_len > 0) {
        return -1;
    }
    *off = s->offset;
    s->offset += len;
    lf__boundary(s);
    return 0;
}

int lf_stream_finish(struct lf_stream *s)
{
    int rc = LF_PARTIAL;

    if (s->state == LF_ST_BODY) {
        lf__error(s, LF_PARTIAL, s->block_off);
    } else if (s->state == LF_ST_RESYNC) {
        if (s->cb->on_skip) s->cb->on_skip(s->ud, s->skip_off, s->offset - s->skip_off);
    } else if (s->hdr_len > 0) {
        lf__error(s, LF_PARTIAL, s->block_off);
        if (s->cb->on_skip) s->cb->on_skip(s->ud, s->block_off, s->hdr_len);
    } else {
        rc = 0;
    }
    lf__boundary(s);
    return rc;
}
