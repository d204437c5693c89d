#include "inspect/li_session.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "framing/lf.h"
#include "inspect/li_buf.h"
#include "inspect/li_json.h"
#include "inspect/li_pair.h"
#include "inspect/li_redact.h"

/* Buffers above this size are released after use, so one huge message
 * does not pin its memory for the rest of the session; below it they are
 * reused, so a stream of MiB-sized messages does not allocate per message. */
#define KEEP_BUF (4u << 20)

/* The end of an oversized body kept to find an "id" written last, as
 * gopls's encoder does ({"jsonrpc":"2.0","result":...,"id":7}). */
#define TAIL_KEEP 64

struct dirstate {
    struct li_session *s;
    enum li_dir dir;
    struct lf_stream lf;
    uint64_t t_us;      /* time of the feed being processed */
    uint64_t frame_off; /* stream offset of the current frame's header */
    uint64_t header_len;
    uint64_t content_length;
    uint64_t body_seen;
    int in_frame;         /* a header was parsed and its message not yet handled */
    int over;             /* content_length > max_inspect: keep a prefix only */
    const char *direct;   /* the whole body, when it came in one piece */
    struct li_buf acc;    /* the body (or its prefix), when it came in pieces */
    char tail[TAIL_KEEP]; /* the last bytes of an oversized body */
    size_t tail_len;
    const struct li_msg *hint; /* li_session_feed_frame: hint_body's classification */
    const char *hint_body;
    size_t hint_len;
};

struct li_session {
    struct li_opts o;
    struct dirstate d[2];
    struct li_pair_table pend[2]; /* requests that travelled in each direction */
    struct li_counts c;
    struct li_buf line;
    struct li_secrets *secrets; /* li_session_redact_with; NULL: the rules alone */
};

/* ---- lines are built in li_bufs ------------------------------------------ */

/* li_buf_reserve for a line: a failure drops the line (`oom`). */
static int buf_reserve(struct li_buf *b, size_t more)
{
    if (li_buf_reserve(b, more) == 0) return 0;
    b->oom = 1;
    return -1;
}

#define PUT_LIT(b, lit) li_buf_put((b), lit, sizeof(lit) - 1)

static void buf_u64(struct li_buf *b, uint64_t v)
{
    char tmp[24];
    size_t i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    li_buf_put(b, tmp + i, sizeof tmp - i);
}

/* Ready for the next line or body; storage a huge one grew is given back. */
static void buf_reset(struct li_buf *b)
{
    if (b->cap > KEEP_BUF)
        li_buf_free(b);
    else
        li_buf_reset(b);
}

/* A JSON string of arbitrary bytes: valid UTF-8 is kept, an invalid byte is
 * written as \u00XX of its value (docs/session-format.md). */
static void buf_json_string(struct li_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    if (buf_reserve(b, n + 2) < 0) return;
    PUT_LIT(b, "\"");
    while (p < end) {
        const unsigned char *run = p;
        while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
            p++;
        li_buf_put(b, (const char *)run, (size_t)(p - run));
        if (p >= end) break;
        unsigned c = *p;
        if (c >= 0x80) {
            size_t ok = li_utf8_valid_prefix((const char *)p,
                                             (size_t)(end - p) < 4 ? (size_t)(end - p) : 4);
            if (ok) {
                /* copy the one valid sequence that starts here */
                size_t k = 1;
                while (k < ok && (p[k] & 0xC0) == 0x80)
                    k++;
                li_buf_put(b, (const char *)p, k);
                p += k;
                continue;
            }
        }
        char esc[6];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            li_buf_put(b, esc, 2);
        } else if (c == '\n') {
            PUT_LIT(b, "\\n");
        } else if (c == '\r') {
            PUT_LIT(b, "\\r");
        } else if (c == '\t') {
            PUT_LIT(b, "\\t");
        } else {
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            li_buf_put(b, esc, 6);
        }
        p++;
    }
    PUT_LIT(b, "\"");
}

/* Valid JSON has '\r' and '\n' only as whitespace between tokens, so
 * turning them into spaces keeps the value and the line one line. The
 * search is skipped when the scanner saw none (`newlines` 0). */
static void buf_json_oneline(struct li_buf *b, const char *s, size_t n, int newlines)
{
    if (buf_reserve(b, n) < 0) return;
    char *dst = b->p + b->len;
    memcpy(dst, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    if (!newlines) return;
    for (char *q = dst, *e = dst + n; (q = memchr(q, '\n', (size_t)(e - q))) != NULL; q++)
        *q = ' ';
    for (char *q = dst, *e = dst + n; (q = memchr(q, '\r', (size_t)(e - q))) != NULL; q++)
        *q = ' ';
}

/* A number a reader holds in an int64 is written as is; anything else
 * (fraction, exponent, more digits) as a string of its text. */
static void buf_json_id(struct li_buf *b, struct li_span sp)
{
    if (sp.len && sp.p[0] != '"' && sp.p[0] != 'n') {
        size_t i = sp.p[0] == '-';
        int plain = sp.len - i <= 18 && sp.len > i;
        for (; plain && i < sp.len; i++)
            plain = sp.p[i] >= '0' && sp.p[i] <= '9';
        if (!plain) {
            buf_json_string(b, sp.p, sp.len);
            return;
        }
    }
    li_buf_put(b, sp.p, sp.len);
}

/* ---- lines ---------------------------------------------------------------- */

static void emit(struct li_session *s, struct li_buf *b)
{
    if (b->oom || !s->o.sink) return;
    s->o.sink(s->o.sink_ud, b->p, b->len);
}

/* jansson for the rare lines: compact, and it escapes every control
 * character, so no raw newline gets in. */
static void emit_json_raw(struct li_session *s, json_t *obj)
{
    if (s->o.record == LI_REC_OFF || !s->o.sink || !obj) return;
    size_t n = json_dumpb(obj, NULL, 0, JSON_COMPACT);
    if (!n) return;
    /* Its own buffer, not s->line: a sink may write an event line (say,
     * about a line it dropped) while a message line is being handed over. */
    char *line = malloc(n + 1);
    if (!line) return;
    json_dumpb(obj, line, n, JSON_COMPACT);
    line[n] = '\n';
    s->o.sink(s->o.sink_ud, line, n + 1);
    free(line);
}

/* A line with what lsptap's callers say (the header, events, the summary):
 * redacted, on a copy (the members may be the caller's). The lines made of
 * the recording's own data (a pending request's method, a framing error)
 * go out as emit_json_raw: the message lines hold the same words. */
static void emit_json(struct li_session *s, json_t *orig)
{
    if (s->o.record == LI_REC_OFF || !s->o.sink || !orig) return;
    json_t *obj = json_deep_copy(orig);
    if (!obj) return;
    if (s->secrets)
        li_redact_json_with(obj, s->secrets);
    else
        li_redact_json(obj, NULL);
    emit_json_raw(s, obj);
    json_decref(obj);
}

static json_t *event_obj(uint64_t t_us, enum li_event ev)
{
    json_t *o = json_object();
    json_object_set_new(o, "t_us", json_integer((json_int_t)t_us));
    json_object_set_new(o, "event", json_string(li_event_name(ev)));
    return o;
}

static void copy_members(json_t *dst, json_t *src, const char *skip1, const char *skip2)
{
    const char *k;
    json_t *v;
    if (!json_is_object(src)) return;
    json_object_foreach(src, k, v)
    {
        if (strcmp(k, skip1) != 0 && strcmp(k, skip2) != 0) json_object_set(dst, k, v);
    }
}

void li_session_event(struct li_session *s, uint64_t t_us, enum li_event ev, json_t *fields)
{
    assert(s && "fed after close: lp_session_close and li_session_free end the feeding");
    if (s->o.record == LI_REC_OFF || !s->o.sink) return;
    json_t *o = event_obj(t_us, ev);
    copy_members(o, fields, "t_us", "event");
    emit_json(s, o);
    json_decref(o);
}

int li_session_redact_with(struct li_session *s, char *const envp[])
{
    struct li_secrets *k = li_secrets_new(envp);
    if (!k) return -ENOMEM;
    li_secrets_free(s->secrets);
    s->secrets = k;
    return 0;
}

void li_session_write_header(struct li_session *s, json_t *fields)
{
    if (s->o.record == LI_REC_OFF || !s->o.sink) return;
    json_t *o = json_object();
    json_object_set_new(o, "lsptap", json_integer(LI_FORMAT_VERSION));
    json_object_set_new(o, "protocol", json_string(s->o.proto == LI_LSP ? "lsp" : "dap"));
    copy_members(o, fields, "lsptap", "protocol");
    emit_json(s, o);
    json_decref(o);
}

/* ---- messages ------------------------------------------------------------- */

struct reply {
    int paired;
    int cancelled;
    int64_t latency_us;
    struct li_span method; /* of the paired request (into hit) */
    struct li_pair_hit hit;
};

static void key_of_id(void *ud, const struct li_json_member *mem)
{
    struct li_span *id = ud;
    if (!mem->partial && (mem->type == LI_J_NUMBER || mem->type == LI_J_STRING) &&
        ((mem->key.len == 4 && memcmp(mem->key.p, "\"id\"", 4) == 0) ||
         (mem->key.len == 11 && memcmp(mem->key.p, "\"requestId\"", 11) == 0)))
        *id = mem->val;
}

static int span_is(struct li_span sp, const char *quoted)
{
    size_t n = strlen(quoted);
    return sp.len == n && memcmp(sp.p, quoted, n) == 0;
}

/* $/cancelRequest (LSP, params.id) and cancel (DAP, arguments.requestId)
 * name a request that travelled in the same direction. */
static void note_cancel(struct li_session *s, enum li_dir dir, const struct li_msg *m)
{
    const char *name = s->o.proto == LI_LSP ? "\"$/cancelRequest\"" : "\"cancel\"";
    if (!m->method.p || !m->params.p || !span_is(m->method, name)) return;
    struct li_span id = {NULL, 0};
    struct li_json_result r;
    li_json_scan(m->params.p, m->params.len, 0, key_of_id, &id, &r);
    if (id.p && li_pair_cancel(&s->pend[dir], id.p, id.len) == 0) s->c.cancelled++;
}

static void pair(struct li_session *s, enum li_dir dir, const struct li_msg *m, uint64_t t_us,
                 struct reply *rp)
{
    rp->paired = 0;
    rp->cancelled = 0;
    rp->latency_us = -1;
    rp->method.p = NULL;
    rp->method.len = 0;
    if (m->kind == LI_K_REQUEST && m->id.p) {
        li_pair_add(&s->pend[dir], m->id.p, m->id.len, m->method.p, m->method.len, t_us);
    } else if (m->kind == LI_K_RESPONSE) {
        struct li_span key = s->o.proto == LI_LSP ? m->id : m->request_seq;
        if (key.p && li_pair_take(&s->pend[!dir], key.p, key.len, &rp->hit) == 0) {
            rp->paired = 1;
            rp->cancelled = rp->hit.cancelled;
            rp->latency_us = t_us >= rp->hit.t_us ? (int64_t)(t_us - rp->hit.t_us) : 0;
            rp->method.p = rp->hit.method_len ? rp->hit.method : NULL;
            rp->method.len = rp->hit.method_len;
        }
    }
    if (m->kind == LI_K_REQUEST || m->kind == LI_K_NOTIFICATION) note_cancel(s, dir, m);
}

static void invalid_text(char *out, size_t cap, const struct li_msg *m, int truncated)
{
    if (!m->json_ok && !truncated)
        snprintf(out, cap, "invalid JSON at byte %zu: %s", m->err_off, m->why);
    else
        snprintf(out, cap, "%s", m->why ? m->why : "invalid message");
}

/* A body jansson would refuse although it is valid JSON (a number out of
 * int64/double range, a key with \u0000) is stored as a string, so every
 * line stays loadable. */
static int loadable(const struct li_msg *m, const char *body, size_t len, char *why, size_t cap)
{
    if (!m->wide_numbers && !m->nul_escape) return 1;
    json_error_t err;
    json_t *v = json_loadb(body, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    if (v) {
        json_decref(v);
        return 1;
    }
    snprintf(why, cap, "valid JSON that readers cannot load at byte %d: %s", err.position,
             err.text);
    return 0;
}

static void write_message(struct li_session *s, struct dirstate *d, const struct li_msg *m,
                          const char *body, size_t len, const struct reply *rp)
{
    struct li_buf *b = &s->line;
    int dap = s->o.proto == LI_DAP;
    char why_load[256], why[256];
    int raw_ok = m->json_ok && loadable(m, body, len, why_load, sizeof why_load);
    /* Members of a prefix were scanned whole, so they are valid JSON too. */
    int spans_ok = raw_ok || (d->over && !m->wide_numbers && !m->nul_escape);
    buf_reset(b);
    PUT_LIT(b, "{\"t_us\":");
    buf_u64(b, d->t_us);
    PUT_LIT(b, ",\"dir\":\"");
    li_buf_str(b, li_dir_name(d->dir));
    PUT_LIT(b, "\",\"bytes\":");
    buf_u64(b, d->header_len + d->content_length);
    PUT_LIT(b, ",\"kind\":\"");
    li_buf_str(b, li_kind_name(m->kind));
    PUT_LIT(b, "\"");
    if (m->kind != LI_K_INVALID) {
        struct li_span method = m->method;
        if (!dap && m->kind == LI_K_RESPONSE) method = rp->method;
        if (method.p) {
            if (!dap)
                PUT_LIT(b, ",\"method\":");
            else if (m->kind == LI_K_EVENT)
                PUT_LIT(b, ",\"event\":");
            else
                PUT_LIT(b, ",\"command\":");
            li_buf_put(b, method.p, method.len);
        }
        if (m->id.p) {
            PUT_LIT(b, ",\"id\":");
            buf_json_id(b, m->id);
        }
        if (m->request_seq.p) {
            PUT_LIT(b, ",\"request_seq\":");
            buf_json_id(b, m->request_seq);
        }
        if (rp->paired) {
            PUT_LIT(b, ",\"latency_us\":");
            buf_u64(b, (uint64_t)rp->latency_us);
        } else if (m->kind == LI_K_RESPONSE) {
            PUT_LIT(b, ",\"unmatched\":true");
        }
        if (m->is_error) {
            PUT_LIT(b, ",\"error\":");
            if (!m->error.p)
                PUT_LIT(b, "\"\"");
            else if (spans_ok)
                buf_json_oneline(b, m->error.p, m->error.len, 1);
            else
                buf_json_string(b, m->error.p, m->error.len);
        }
        if (rp->cancelled) PUT_LIT(b, ",\"cancelled\":true");
    } else {
        invalid_text(why, sizeof why, m, d->over);
        PUT_LIT(b, ",\"why\":");
        buf_json_string(b, why, strlen(why));
    }
    if (d->over) {
        PUT_LIT(b, ",\"truncated\":true");
    } else if (s->o.record == LI_REC_FULL) {
        PUT_LIT(b, ",\"body\":");
        if (raw_ok && !m->raw_newlines && s->o.sinkv) {
            /* Valid JSON on one line already: the sink takes it from here. */
            if (b->oom) return;
            struct li_piece v[3] = {{b->p, b->len}, {body, len}, {"}\n", 2}};
            s->o.sinkv(s->o.sink_ud, v, 3);
            return;
        }
        if (raw_ok) {
            buf_json_oneline(b, body, len, m->raw_newlines);
        } else {
            buf_json_string(b, body, len);
            if (!m->json_ok) invalid_text(why_load, sizeof why_load, m, 0);
            PUT_LIT(b, ",\"body_error\":");
            buf_json_string(b, why_load, strlen(why_load));
        }
    }
    PUT_LIT(b, "}\n");
    emit(s, b);
}

static const char *skip_ws_back(const char *p, const char *start)
{
    while (p > start && (p[-1] == ' ' || p[-1] == '\t' || p[-1] == '\r' || p[-1] == '\n'))
        p--;
    return p;
}

/* The id of a reply whose prefix did not show it, read backwards from the
 * end of the body: `,"id":N}` or `,"id":"S"}` (S without escapes). A value
 * ending the body right before its last '}' belongs to the last member of
 * the top-level object, so this cannot pick up a nested "id". */
static struct li_span id_from_tail(const char *t, size_t n)
{
    struct li_span none = {NULL, 0}, id;
    const char *p = skip_ws_back(t + n, t);
    if (p == t || *--p != '}') return none;
    const char *end = skip_ws_back(p, t), *q = end;
    if (q > t && q[-1] == '"') {
        for (q--; q > t && q[-1] != '"'; q--)
            if (q[-1] == '\\' || (unsigned char)q[-1] < 0x20) return none;
        if (q == t) return none;
        q--;
    } else {
        while (q > t && q[-1] >= '0' && q[-1] <= '9')
            q--;
        const char *digits = q;
        if (q > t && q[-1] == '-') q--;
        /* It goes into the line as a number: JSON allows no leading zero,
         * and a line with one would not load. */
        if (digits == end || (end - digits > 1 && *digits == '0')) return none;
    }
    id.p = q;
    id.len = (size_t)(end - q);
    if (li_utf8_valid_prefix(id.p, id.len) != id.len) return none; /* the line must stay UTF-8 */
    p = skip_ws_back(q, t);
    if (p == t || *--p != ':') return none;
    p = skip_ws_back(p, t);
    if (p - t < 5 || memcmp(p - 4, "\"id\"", 4) != 0) return none;
    p = skip_ws_back(p - 4, t);
    if (p == t || p[-1] != ',') return none;
    return id;
}

static void keep_tail(struct dirstate *d, const char *data, size_t len)
{
    if (len >= TAIL_KEEP) {
        memcpy(d->tail, data + len - TAIL_KEEP, TAIL_KEEP);
        d->tail_len = TAIL_KEEP;
        return;
    }
    size_t keep = d->tail_len + len > TAIL_KEEP ? TAIL_KEEP - len : d->tail_len;
    memmove(d->tail, d->tail + d->tail_len - keep, keep);
    memcpy(d->tail + keep, data, len);
    d->tail_len = keep + len;
}

static void handle_message(struct dirstate *d, const char *body, size_t len)
{
    struct li_session *s = d->s;
    struct li_msg m;
    struct reply rp;
    if (d->hint && body == d->hint_body && len == d->hint_len && !d->over)
        m = *d->hint; /* the caller classified these very bytes */
    else
        li_classify(s->o.proto, body, len, d->over, &m);
    if (d->over && s->o.proto == LI_LSP && m.kind == LI_K_RESPONSE && !m.id.p)
        m.id = id_from_tail(d->tail, d->tail_len);
    s->c.messages[d->dir]++;
    if (m.kind == LI_K_INVALID) s->c.invalid[d->dir]++;
    if (m.kind == LI_K_RESPONSE && m.is_error) s->c.error_replies++;
    if (d->over) s->c.truncated++;
    pair(s, d->dir, &m, d->t_us, &rp);
    if (s->o.on_msg)
        s->o.on_msg(s->o.msg_ud, d->dir, &m, d->over ? NULL : body, d->over ? 0 : len,
                    rp.latency_us);
    if (s->o.record != LI_REC_OFF && s->o.sink) write_message(s, d, &m, body, len, &rp);
}

/* ---- framing callbacks ------------------------------------------------------ */

static void end_frame(struct dirstate *d)
{
    d->in_frame = 0;
    d->direct = NULL;
    buf_reset(&d->acc);
}

static void on_header(void *ud, const struct lf_frame *f, uint64_t off)
{
    struct dirstate *d = ud;
    d->frame_off = off;
    d->header_len = f->header_len;
    d->content_length = f->content_length;
    d->body_seen = 0;
    d->in_frame = 1;
    d->over = f->content_length > d->s->o.max_inspect;
    d->tail_len = 0;
    d->direct = NULL;
    buf_reset(&d->acc);
}

static void finish_message(struct dirstate *d)
{
    if (!d->in_frame) return;
    if (d->direct)
        handle_message(d, d->direct, (size_t)d->content_length);
    else
        handle_message(d, d->acc.p ? d->acc.p : "", d->acc.len);
    end_frame(d);
}

static void on_body(void *ud, const char *data, size_t len)
{
    struct dirstate *d = ud;
    if (!d->in_frame || !len) return;
    if (d->body_seen == 0 && len == d->content_length && !d->over) {
        d->direct = data; /* zero copy: the frame lies in this chunk */
    } else {
        uint64_t keep = d->over ? LI_PREFIX_KEEP : d->content_length;
        if (d->body_seen < keep) {
            size_t n = (size_t)(keep - d->body_seen < len ? keep - d->body_seen : len);
            if (d->acc.len == 0 && buf_reserve(&d->acc, (size_t)keep) < 0) {
                /* No memory for the whole body: record it as an oversized
                 * message (metadata from a prefix) rather than lose it. */
                d->acc.oom = 0;
                d->over = 1;
                keep = LI_PREFIX_KEEP;
                n = (size_t)(keep - d->body_seen < len ? keep - d->body_seen : len);
                buf_reserve(&d->acc, (size_t)keep);
            }
            li_buf_put(&d->acc, data, n);
            assert(d->acc.len <= keep); /* at most one message (or its prefix) a direction */
        }
    }
    if (d->over) keep_tail(d, data, len);
    d->body_seen += len;
    /* Handled here, while `data` is still valid, rather than in on_end. */
    if (d->body_seen >= d->content_length) finish_message(d);
}

static void on_end(void *ud)
{
    const struct dirstate *d = ud;
    /* Only a zero-length body is still open here: on_body finished the rest. */
    assert(!d->in_frame || d->content_length == 0);
    finish_message(ud);
}

static void on_error(void *ud, int code, uint64_t off)
{
    struct dirstate *d = ud;
    struct li_session *s = d->s;
    s->c.framing_errors[d->dir]++;
    end_frame(d);
    if (s->o.record == LI_REC_OFF || !s->o.sink) return;
    json_t *o = event_obj(d->t_us, LI_EV_FRAMING_ERROR);
    json_object_set_new(o, "stream", json_string(li_dir_name(d->dir)));
    json_object_set_new(o, "offset", json_integer((json_int_t)off));
    json_object_set_new(o, "code", json_string(lf_errname(code)));
    json_object_set_new(o, "message", json_string(lf_strerror(code)));
    emit_json_raw(s, o);
    json_decref(o);
}

static void on_skip(void *ud, uint64_t off, uint64_t skipped)
{
    struct dirstate *d = ud;
    struct li_session *s = d->s;
    if (s->o.record == LI_REC_OFF || !s->o.sink) return;
    json_t *o = event_obj(d->t_us, LI_EV_FRAMING_SKIP);
    json_object_set_new(o, "stream", json_string(li_dir_name(d->dir)));
    json_object_set_new(o, "offset", json_integer((json_int_t)off));
    json_object_set_new(o, "skipped", json_integer((json_int_t)skipped));
    emit_json_raw(s, o);
    json_decref(o);
}

static const struct lf_stream_cb stream_cb = {on_header, on_body, on_end, on_error, on_skip};

/* ---- public ------------------------------------------------------------------- */

struct li_session *li_session_new(const struct li_opts *o)
{
    struct li_session *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->o = *o;
    if (!s->o.max_inspect) s->o.max_inspect = LI_DEFAULT_MAX_INSPECT;
    if (!s->o.max_pending) s->o.max_pending = LI_DEFAULT_MAX_PENDING;
    for (int i = 0; i < 2; i++) {
        s->d[i].s = s;
        s->d[i].dir = (enum li_dir)i;
        /* The framer enforces no cap: an oversized message is still relayed
         * and recorded as metadata, never a framing error. */
        lf_stream_init(&s->d[i].lf, 0, &stream_cb, &s->d[i]);
        li_pair_init(&s->pend[i], s->o.max_pending);
    }
    return s;
}

void li_session_free(struct li_session *s)
{
    if (!s) return;
    for (int i = 0; i < 2; i++) {
        li_buf_free(&s->d[i].acc);
        li_pair_free(&s->pend[i]);
    }
    li_buf_free(&s->line);
    li_secrets_free(s->secrets);
    free(s);
}

void li_session_feed(struct li_session *s, enum li_dir dir, const char *buf, size_t len,
                     uint64_t t_us)
{
    assert(s && "fed after close: lp_session_close and li_session_free end the feeding");
    struct dirstate *d = &s->d[dir];
    d->t_us = t_us;
    s->c.bytes[dir] += len;
    lf_stream_feed(&d->lf, buf, len);
}

void li_session_feed_frame(struct li_session *s, enum li_dir dir, const char *frame, size_t len,
                           size_t hdr_len, uint64_t t_us, const struct li_msg *m)
{
    assert(s && "fed after close: lp_session_close and li_session_free end the feeding");
    struct dirstate *d = &s->d[dir];
    uint64_t off;
    assert(hdr_len > 0 && hdr_len <= len); /* the caller's frame has a header block */
    d->t_us = t_us;
    d->hint = m;
    d->hint_body = frame + hdr_len;
    d->hint_len = len - hdr_len;
    if (lf_stream_pass(&d->lf, frame, len, &off) == 0) {
        /* What the framer's callbacks would have been given for it. */
        struct lf_frame f = {.content_length = len - hdr_len, .header_len = hdr_len};
        s->c.bytes[dir] += len;
        on_header(d, &f, off);
        if (len > hdr_len) on_body(d, frame + hdr_len, len - hdr_len);
        on_end(d);
    } else {
        li_session_feed(s, dir, frame, len, t_us);
    }
    d->hint = NULL;
}

int li_session_at_boundary(const struct li_session *s, enum li_dir dir)
{
    const struct lf_stream *lf = &s->d[dir].lf;
    return lf->state == LF_ST_HEADER && lf->hdr_len == 0;
}

void li_session_eof(struct li_session *s, enum li_dir dir, uint64_t t_us)
{
    assert(s && "fed after close: lp_session_close and li_session_free end the feeding");
    struct dirstate *d = &s->d[dir];
    d->t_us = t_us;
    lf_stream_finish(&d->lf);
    end_frame(d);
}

void li_session_counts(const struct li_session *s, struct li_counts *c)
{
    *c = s->c;
    c->evicted = s->pend[0].evicted + s->pend[1].evicted;
    c->pending[0] = s->pend[0].count;
    c->pending[1] = s->pend[1].count;
}

/* Pending requests of both directions, oldest first. Pointers stay valid
 * until the tables change. */
struct pend_ref {
    enum li_dir dir;
    const char *key, *method;
    size_t klen, mlen;
    uint64_t t_us;
    int cancelled;
};

struct gather {
    struct pend_ref *v;
    size_t n;
    enum li_dir dir;
};

static int gather_one(void *ud, const char *key, size_t klen, const char *method, size_t mlen,
                      uint64_t t_us, int cancelled)
{
    struct gather *g = ud;
    g->v[g->n++] = (struct pend_ref){g->dir, key, method, klen, mlen, t_us, cancelled};
    return 0;
}

static int by_time(const void *a, const void *b)
{
    const struct pend_ref *x = a, *y = b;
    if (x->t_us != y->t_us) return x->t_us < y->t_us ? -1 : 1;
    return (int)x->dir - (int)y->dir;
}

static struct pend_ref *gather_pending(const struct li_session *s, size_t *n)
{
    size_t total = s->pend[0].count + s->pend[1].count;
    struct gather g = {calloc(total ? total : 1, sizeof(struct pend_ref)), 0, LI_C2S};
    if (!g.v) {
        *n = 0;
        return NULL;
    }
    li_pair_each(&s->pend[0], gather_one, &g);
    g.dir = LI_S2C;
    li_pair_each(&s->pend[1], gather_one, &g);
    if (g.n > 1) qsort(g.v, g.n, sizeof *g.v, by_time);
    *n = g.n;
    return g.v;
}

/* A JSON text we produced ourselves (an id or method span), as a value. */
static json_t *json_of(const char *p, size_t n)
{
    json_t *v = n ? json_loadb(p, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL) : NULL;
    if (!v) v = json_stringn_nocheck(p, n);
    return v;
}

size_t li_session_pending(const struct li_session *s, struct li_pending *out, size_t max)
{
    size_t n;
    struct pend_ref *v = gather_pending(s, &n);
    for (size_t i = 0; i < n && i < max; i++) {
        struct li_pending *p = &out[i];
        memset(p, 0, sizeof *p);
        p->dir = v[i].dir;
        p->t_us = v[i].t_us;
        p->cancelled = v[i].cancelled;
        size_t k = v[i].klen < sizeof p->id - 1 ? v[i].klen : sizeof p->id - 1;
        memcpy(p->id, v[i].key, k);
        json_t *m = v[i].mlen ? json_of(v[i].method, v[i].mlen) : NULL;
        if (json_is_string(m)) {
            size_t mlen = json_string_length(m);
            if (mlen > sizeof p->method - 1)
                mlen = li_utf8_valid_prefix(json_string_value(m), sizeof p->method - 1);
            memcpy(p->method, json_string_value(m), mlen);
            p->method_len = mlen;
        }
        json_decref(m);
    }
    free(v);
    return s->pend[0].count + s->pend[1].count;
}

static json_t *per_dir(const uint64_t v[2])
{
    return json_pack("{s:I,s:I}", "c2s", (json_int_t)v[0], "s2c", (json_int_t)v[1]);
}

void li_session_write_summary(struct li_session *s, uint64_t t_us, json_t *extra)
{
    if (s->o.record == LI_REC_OFF || !s->o.sink) return;
    size_t n;
    struct pend_ref *v = gather_pending(s, &n);
    for (size_t i = 0; i < n; i++) {
        json_t *o = event_obj(t_us, LI_EV_PENDING);
        /* "stream", not "dir": a line with "dir" is a message line. */
        json_object_set_new(o, "stream", json_string(li_dir_name(v[i].dir)));
        if (v[i].mlen)
            json_object_set_new(o, s->o.proto == LI_LSP ? "method" : "command",
                                json_of(v[i].method, v[i].mlen));
        json_object_set_new(o, "id", json_of(v[i].key, v[i].klen));
        json_object_set_new(o, "age_us",
                            json_integer((json_int_t)(t_us > v[i].t_us ? t_us - v[i].t_us : 0)));
        json_object_set_new(o, "cancelled", json_boolean(v[i].cancelled));
        emit_json_raw(s, o);
        json_decref(o);
    }
    free(v);

    struct li_counts c;
    li_session_counts(s, &c);
    uint64_t pending[2] = {c.pending[0], c.pending[1]};
    json_t *o = event_obj(t_us, LI_EV_SUMMARY);
    json_object_set_new(o, "messages", per_dir(c.messages));
    json_object_set_new(o, "bytes", per_dir(c.bytes));
    json_object_set_new(o, "errors", json_integer((json_int_t)c.error_replies));
    json_object_set_new(o, "invalid", per_dir(c.invalid));
    json_object_set_new(o, "framing_errors", per_dir(c.framing_errors));
    json_object_set_new(o, "cancelled", json_integer((json_int_t)c.cancelled));
    json_object_set_new(o, "pending", json_integer((json_int_t)(pending[0] + pending[1])));
    json_object_set_new(o, "evicted", json_integer((json_int_t)c.evicted));
    json_object_set_new(o, "truncated", json_integer((json_int_t)c.truncated));
    copy_members(o, extra, "t_us", "event");
    emit_json(s, o);
    json_decref(o);
}
