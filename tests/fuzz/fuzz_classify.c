/* libFuzzer: li_classify on any bytes (LSP and DAP, whole and as a prefix),
 * and li_session in FULL mode on the same bytes as a raw stream and as one
 * framed body, with and without a piece sink. Every line the session writes
 * (joined, when it comes in pieces) must be exactly one line and
 * load with jansson, and the scanner must agree with jansson on what is
 * valid JSON (jansson, unlike RFC 8259, ends the text at a raw NUL). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inspect/li_json.h"
#include "inspect/li_session.h"

static void check_line(void *ud, const char *line, size_t len)
{
    (void)ud;
    if (len == 0 || line[len - 1] != '\n' || memchr(line, '\n', len - 1)) abort();
    json_error_t err;
    json_t *v = json_loadb(line, len, JSON_ALLOW_NUL, &err);
    if (!v) {
        fprintf(stderr, "unloadable line (%s): %.*s\n", err.text, (int)len, line);
        abort();
    }
    json_decref(v);
}

/* Lines that come in pieces are joined and checked the same way. */
static void check_pieces(void *ud, const struct li_piece *v, int n)
{
    static char *buf;
    static size_t cap;
    size_t len = 0;
    (void)ud;
    for (int i = 0; i < n; i++)
        len += v[i].len;
    if (len > cap) {
        free(buf);
        buf = malloc(cap = len);
        if (!buf) abort();
    }
    for (size_t i = 0, o = 0; i < (size_t)n; o += v[i].len, i++)
        memcpy(buf + o, v[i].p, v[i].len);
    check_line(NULL, buf, len);
}

static void check_msg(const uint8_t *data, size_t size, const struct li_msg *m, int rc)
{
    const char *lo = (const char *)data, *hi = lo + size;
    const struct li_span *spans[] = {&m->id, &m->method, &m->request_seq, &m->error, &m->params};
    if ((rc == 0) != (m->kind != LI_K_INVALID)) abort();
    for (size_t i = 0; i < sizeof spans / sizeof spans[0]; i++)
        if (spans[i]->p && (spans[i]->p < lo || spans[i]->p + spans[i]->len > hi)) abort();
    if (m->kind == LI_K_INVALID && (!m->why || m->err_off > size)) abort();
}

static void run_session(enum li_proto proto, uint64_t max_inspect, int pieces, const uint8_t *data,
                        size_t size)
{
    struct li_opts o = {proto, LI_REC_FULL, max_inspect,
                        4,     check_line,  NULL,
                        NULL,  NULL,        pieces ? check_pieces : NULL};
    struct li_session *s = li_session_new(&o);
    if (!s) return;
    li_session_write_header(s, NULL);
    /* The raw bytes as a stream, cut where the first byte says. */
    size_t cut = size ? data[0] % (size + 1) : 0;
    li_session_feed(s, LI_C2S, (const char *)data, cut, 1);
    li_session_feed(s, LI_C2S, (const char *)data + cut, size - cut, 2);
    /* The same bytes as the body of one frame. */
    char hdr[64];
    int n = snprintf(hdr, sizeof hdr, "Content-Length: %zu\r\n\r\n", size);
    li_session_feed(s, LI_S2C, hdr, (size_t)n, 3);
    li_session_feed(s, LI_S2C, (const char *)data, size, 4);
    li_session_eof(s, LI_C2S, 5);
    li_session_eof(s, LI_S2C, 5);
    li_session_write_summary(s, 6, NULL);
    li_session_free(s);
}

/* The scanner and jansson must agree on validity, except where the scanner
 * says why they may not: numbers jansson cannot hold, \u0000 (refused in
 * keys), nesting over 512. */
static void check_against_jansson(const uint8_t *data, size_t size)
{
    struct li_json_result r;
    li_json_scan((const char *)data, size, 0, NULL, NULL, &r);
    json_t *v = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (r.ok && !v && !(r.flags & (LI_JSON_F_WIDE_NUMBER | LI_JSON_F_NUL_ESCAPE))) abort();
    /* jansson stops at a raw NUL byte and accepts what came before it. */
    int nul = memchr(data, 0, size) != NULL;
    if (!r.ok && v && !nul && strcmp(r.why, "nesting too deep") != 0) abort();
    json_decref(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_against_jansson(data, size);
    struct li_msg m;
    for (int proto = LI_LSP; proto <= LI_DAP; proto++) {
        for (int truncated = 0; truncated <= 1; truncated++) {
            int rc = li_classify((enum li_proto)proto, (const char *)data, size, truncated, &m);
            check_msg(data, size, &m, rc);
        }
        run_session((enum li_proto)proto, 0, proto == LI_DAP, data, size);
        run_session((enum li_proto)proto, size / 2 + 1, 0, data, size);
    }
    return 0;
}
