#include "inspect/li_msg.h"

#include <string.h>

#include "inspect/li_json.h"

const char *li_kind_name(enum li_kind k)
{
    switch (k) {
    case LI_K_REQUEST:
        return "request";
    case LI_K_RESPONSE:
        return "response";
    case LI_K_NOTIFICATION:
        return "notification";
    case LI_K_EVENT:
        return "event";
    case LI_K_INVALID:
        break;
    }
    return "invalid";
}

const char *li_dir_name(enum li_dir d)
{
    return d == LI_C2S ? "c2s" : "s2c";
}

/* The top-level members a classification looks at. Keys are compared as
 * written: a key spelled with escapes ("\u0069d") is not recognised. */
enum field {
    F_JSONRPC,
    F_ID,
    F_METHOD,
    F_RESULT,
    F_ERROR,
    F_PARAMS,
    F_TYPE,
    F_SEQ,
    F_COMMAND,
    F_EVENT,
    F_REQUEST_SEQ,
    F_SUCCESS,
    F_MESSAGE,
    F_ARGUMENTS,
    F_COUNT,
};

struct seen {
    struct li_json_member f[F_COUNT]; /* key.p == NULL: absent */
    enum li_proto proto;
};

static int key_is(const struct li_span *k, const char *quoted, size_t n)
{
    return k->len == n && memcmp(k->p, quoted, n) == 0;
}

#define KEY(k, lit) key_is((k), "\"" lit "\"", sizeof(lit) + 1)

static int field_of(enum li_proto proto, const struct li_span *k)
{
    if (proto == LI_LSP) {
        if (KEY(k, "id")) return F_ID;
        if (KEY(k, "method")) return F_METHOD;
        if (KEY(k, "params")) return F_PARAMS;
        if (KEY(k, "result")) return F_RESULT;
        if (KEY(k, "error")) return F_ERROR;
        if (KEY(k, "jsonrpc")) return F_JSONRPC;
        return -1;
    }
    if (KEY(k, "seq")) return F_SEQ;
    if (KEY(k, "type")) return F_TYPE;
    if (KEY(k, "command")) return F_COMMAND;
    if (KEY(k, "event")) return F_EVENT;
    if (KEY(k, "request_seq")) return F_REQUEST_SEQ;
    if (KEY(k, "success")) return F_SUCCESS;
    if (KEY(k, "message")) return F_MESSAGE;
    if (KEY(k, "arguments")) return F_ARGUMENTS;
    return -1;
}

static void on_member(void *ud, const struct li_json_member *m)
{
    struct seen *s = ud;
    int f = field_of(s->proto, &m->key);
    if (f >= 0) s->f[f] = *m; /* a repeated key: the last wins, as in jansson */
}

static int present(const struct seen *s, int f)
{
    return s->f[f].key.p != NULL;
}

/* A member whose value is complete and of one of the given types. */
static int complete(const struct seen *s, int f, enum li_jtype t1, enum li_jtype t2)
{
    const struct li_json_member *m = &s->f[f];
    return m->key.p && !m->partial && (m->type == t1 || m->type == t2);
}

static struct li_span span_of(const struct seen *s, int f)
{
    struct li_span sp = {NULL, 0};
    if (present(s, f) && !s->f[f].partial) sp = s->f[f].val;
    return sp;
}

static int invalid(struct li_msg *m, size_t off, const char *why)
{
    m->kind = LI_K_INVALID;
    m->err_off = off;
    m->why = why;
    return -1;
}

/* Offset of a member's value in the body, for err_off. */
static size_t off_of(const struct seen *s, int f, const char *body)
{
    return present(s, f) ? (size_t)(s->f[f].val.p - body) : 0;
}

static int is_id(const struct seen *s, int f)
{
    return complete(s, f, LI_J_NUMBER, LI_J_STRING);
}

static int classify_lsp(const struct seen *s, const char *body, int truncated, struct li_msg *m)
{
    m->id = span_of(s, F_ID);
    m->params = span_of(s, F_PARAMS);
    if (present(s, F_METHOD)) {
        if (!complete(s, F_METHOD, LI_J_STRING, LI_J_STRING))
            return truncated && s->f[F_METHOD].partial
                       ? invalid(m, off_of(s, F_METHOD, body), "message truncated in its method")
                       : invalid(m, off_of(s, F_METHOD, body), "\"method\" is not a string");
        m->method = s->f[F_METHOD].val;
        if (!present(s, F_ID)) {
            m->kind = LI_K_NOTIFICATION;
            return 0;
        }
        if (!is_id(s, F_ID))
            return invalid(m, off_of(s, F_ID, body), "request \"id\" is not a number or string");
        m->kind = LI_K_REQUEST;
        return 0;
    }
    int has_result = present(s, F_RESULT), has_error = present(s, F_ERROR);
    if (has_result && has_error)
        return invalid(m, off_of(s, F_ERROR, body), "response has both \"result\" and \"error\"");
    if (!has_result && !has_error)
        return invalid(m, truncated ? 0 : off_of(s, F_ID, body),
                       truncated ? "message truncated before its kind is known"
                                 : "no \"method\", \"result\" or \"error\"");
    if (has_error) {
        if (!s->f[F_ERROR].partial && s->f[F_ERROR].type != LI_J_OBJECT)
            return invalid(m, off_of(s, F_ERROR, body), "\"error\" is not an object");
        m->is_error = 1;
        m->error = span_of(s, F_ERROR);
    }
    if (!present(s, F_ID)) {
        if (!truncated) return invalid(m, 0, "response without \"id\"");
    } else if (!is_id(s, F_ID) && !(has_error && complete(s, F_ID, LI_J_NULL, LI_J_NULL))) {
        return invalid(m, off_of(s, F_ID, body), "response \"id\" is not a number or string");
    }
    m->kind = LI_K_RESPONSE;
    return 0;
}

static int type_is(const struct seen *s, const char *quoted)
{
    const struct li_json_member *t = &s->f[F_TYPE];
    size_t n = strlen(quoted);
    return t->key.p && !t->partial && t->val.len == n && memcmp(t->val.p, quoted, n) == 0;
}

/* A required member of a DAP message: missing or of the wrong type makes
 * the message invalid, except in a prefix where it may simply be cut. */
static int need(const struct seen *s, int f, enum li_jtype t1, enum li_jtype t2, int truncated)
{
    if (complete(s, f, t1, t2)) return 1;
    if (truncated && (!present(s, f) || s->f[f].partial)) return 1;
    return 0;
}

static int classify_dap(const struct seen *s, const char *body, int truncated, struct li_msg *m)
{
    m->id = span_of(s, F_SEQ);
    m->params = span_of(s, F_ARGUMENTS);
    if (!need(s, F_SEQ, LI_J_NUMBER, LI_J_NUMBER, truncated))
        return invalid(m, off_of(s, F_SEQ, body), "\"seq\" is missing or not a number");
    if (type_is(s, "\"request\"")) {
        if (!need(s, F_COMMAND, LI_J_STRING, LI_J_STRING, truncated))
            return invalid(m, off_of(s, F_COMMAND, body),
                           "request \"command\" missing or not a string");
        m->method = span_of(s, F_COMMAND);
        m->kind = LI_K_REQUEST;
        return 0;
    }
    if (type_is(s, "\"response\"")) {
        if (!need(s, F_REQUEST_SEQ, LI_J_NUMBER, LI_J_NUMBER, truncated))
            return invalid(m, off_of(s, F_REQUEST_SEQ, body),
                           "response \"request_seq\" missing or not a number");
        if (!need(s, F_SUCCESS, LI_J_TRUE, LI_J_FALSE, truncated))
            return invalid(m, off_of(s, F_SUCCESS, body),
                           "response \"success\" missing or not a boolean");
        if (!need(s, F_COMMAND, LI_J_STRING, LI_J_STRING, truncated))
            return invalid(m, off_of(s, F_COMMAND, body),
                           "response \"command\" missing or not a string");
        m->request_seq = span_of(s, F_REQUEST_SEQ);
        m->method = span_of(s, F_COMMAND);
        if (complete(s, F_SUCCESS, LI_J_FALSE, LI_J_FALSE)) {
            m->is_error = 1;
            if (complete(s, F_MESSAGE, LI_J_STRING, LI_J_STRING)) m->error = s->f[F_MESSAGE].val;
        }
        m->kind = LI_K_RESPONSE;
        return 0;
    }
    if (type_is(s, "\"event\"")) {
        if (!need(s, F_EVENT, LI_J_STRING, LI_J_STRING, truncated))
            return invalid(m, off_of(s, F_EVENT, body), "event \"event\" missing or not a string");
        m->method = span_of(s, F_EVENT);
        m->kind = LI_K_EVENT;
        return 0;
    }
    if (!present(s, F_TYPE) || s->f[F_TYPE].partial)
        return invalid(m, 0,
                       truncated ? "message truncated before its kind is known" : "no \"type\"");
    return invalid(m, off_of(s, F_TYPE, body),
                   "\"type\" is not \"request\", \"response\" or \"event\"");
}

int li_classify(enum li_proto proto, const char *body, size_t len, int truncated, struct li_msg *m)
{
    struct seen s;
    struct li_json_result r;
    memset(m, 0, sizeof *m);
    memset(&s, 0, sizeof s);
    s.proto = proto;
    li_json_scan(body, len, truncated, on_member, &s, &r);
    m->json_ok = r.ok;
    m->wide_numbers = (r.flags & LI_JSON_F_WIDE_NUMBER) != 0;
    m->nul_escape = (r.flags & LI_JSON_F_NUL_ESCAPE) != 0;
    m->raw_newlines = (r.flags & LI_JSON_F_NEWLINE) != 0;
    if (!r.ok && !truncated) return invalid(m, r.err_off, r.why);
    if (r.top != LI_J_OBJECT)
        return invalid(m, 0, r.top == LI_J_NONE ? r.why : "not a JSON object");
    int rc = proto == LI_LSP ? classify_lsp(&s, body, truncated, m)
                             : classify_dap(&s, body, truncated, m);
    if (rc == 0) {
        m->err_off = 0;
        m->why = NULL;
    }
    return rc;
}
