#include "replay/li_replay.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inspect/li_buf.h"
#include "inspect/li_reader.h"

static int kind_of(const char *s, enum li_kind *k)
{
    static const struct {
        const char *name;
        enum li_kind kind;
    } t[] = {{"request", LI_K_REQUEST},
             {"response", LI_K_RESPONSE},
             {"notification", LI_K_NOTIFICATION}};
    for (size_t i = 0; s && i < sizeof t / sizeof t[0]; i++)
        if (!strcmp(s, t[i].name)) return *k = t[i].kind, 0;
    return -1;
}

static int push(struct li_rec *rec, size_t *cap, const struct li_rmsg *m)
{
    struct li_rmsg *p = li_grow(rec->m, cap, rec->n + 1, sizeof *p);
    if (!p) return -1;
    rec->m = p;
    rec->m[rec->n++] = *m;
    return 0;
}

/* Pairs each request with the reply that answers it: the next reply
 * travelling the other way with an equal id. */
static void pair(struct li_rec *rec)
{
    for (size_t i = 0; i < rec->n; i++) {
        struct li_rmsg *q = &rec->m[i];
        q->reply = -1;
        if (q->kind != LI_K_REQUEST || !q->id) continue;
        for (size_t j = i + 1; j < rec->n; j++) {
            struct li_rmsg *r = &rec->m[j];
            if (r->kind == LI_K_RESPONSE && r->dir != q->dir && r->id && json_equal(r->id, q->id)) {
                q->reply = (long)j;
                break;
            }
            if (r->kind == LI_K_REQUEST && r->dir == q->dir && r->id && json_equal(r->id, q->id))
                break; /* the id was reused: the first one went unanswered */
        }
    }
}

static int header_check(json_t *h, const char *path, char *err, size_t errlen)
{
    if (!json_is_object(h) || !json_object_get(h, "lsptap")) {
        snprintf(err, errlen, "%s: not a session file (line 1 has no \"lsptap\" key)", path);
        return -1;
    }
    const char *proto = json_string_value(json_object_get(h, "protocol"));
    if (proto && strcmp(proto, "lsp") != 0) {
        snprintf(err, errlen, "%s: a %s session; replay plays LSP sessions only", path, proto);
        return -1;
    }
    const char *mode = json_string_value(json_object_get(h, "record"));
    if (mode && strcmp(mode, "full") != 0) {
        snprintf(err, errlen,
                 "%s was recorded with LSPTAP_RECORD=%s: it has no message bodies to replay "
                 "(record with LSPTAP_RECORD=full, the default)",
                 path, mode);
        return -1;
    }
    return 0;
}

static void to_msg(json_t *line, size_t lineno, struct li_rmsg *m)
{
    memset(m, 0, sizeof *m);
    m->line = line;
    m->lineno = lineno;
    m->t_us = json_integer_value(json_object_get(line, "t_us"));
    m->dir = !strcmp(json_string_value(json_object_get(line, "dir")), "s2c") ? LI_S2C : LI_C2S;
    m->method = json_string_value(json_object_get(line, "method"));
    m->id = json_object_get(line, "id");
    m->body = json_object_get(line, "body");
    json_t *lat = json_object_get(line, "latency_us");
    m->latency_us = json_is_integer(lat) ? json_integer_value(lat) : -1;
    m->cancelled = json_is_true(json_object_get(line, "cancelled"));
    m->reply = -1;
}

int li_rec_load(const char *path, struct li_rec *rec, char *err, size_t errlen)
{
    memset(rec, 0, sizeof *rec);
    struct li_reader *r = li_reader_open(path, err, errlen);
    if (!r) return -1;
    size_t cap = 0, lineno, messages = 0, bodies = 0;
    json_t *line;
    int rc, fail = 0;
    char lerr[512];
    while (!fail && (rc = li_reader_next(r, &line, &lineno, lerr, sizeof lerr)) != LI_READ_EOF) {
        if (rc == LI_READ_ERROR) {
            snprintf(err, errlen, "%s", lerr);
            fail = 1;
            break;
        }
        if (rc == LI_READ_BAD) {
            if (lineno == 1) {
                snprintf(err, errlen, "%s: not a session file (%s)", path, lerr);
                fail = 1;
            }
            rec->bad_lines++;
            continue;
        }
        if (!rec->header) {
            rec->header = line;
            fail = header_check(line, path, err, errlen) != 0;
            continue;
        }
        const char *dir = json_string_value(json_object_get(line, "dir"));
        enum li_kind k;
        if (!dir) {
            json_decref(line);
            continue;
        }
        messages++;
        json_t *body = json_object_get(line, "body");
        if (kind_of(json_string_value(json_object_get(line, "kind")), &k) ||
            !json_is_object(body)) {
            json_decref(line);
            continue;
        }
        bodies++;
        struct li_rmsg m;
        to_msg(line, lineno, &m);
        m.kind = k;
        m.pos = messages;
        if (push(rec, &cap, &m)) {
            json_decref(line);
            snprintf(err, errlen, "%s: out of memory", path);
            fail = 1;
        }
    }
    rec->truncated = li_reader_truncated(r);
    li_reader_close(r);
    if (!fail && !rec->header) {
        snprintf(err, errlen, "%s: empty file, not a session", path);
        fail = 1;
    }
    if (!fail && messages && !bodies) {
        snprintf(err, errlen,
                 "%s has no message bodies (recorded with LSPTAP_RECORD=meta?): nothing to replay",
                 path);
        fail = 1;
    }
    if (fail) {
        li_rec_free(rec);
        return -1;
    }
    pair(rec);
    return 0;
}

void li_rec_free(struct li_rec *rec)
{
    for (size_t i = 0; i < rec->n; i++)
        json_decref(rec->m[i].line);
    free(rec->m);
    json_decref(rec->header);
    memset(rec, 0, sizeof *rec);
}

const char **li_rec_argv(const struct li_rec *rec)
{
    json_t *av = json_object_get(rec->header, "argv");
    size_t n = json_array_size(av);
    if (!n) return NULL;
    const char **out = calloc(n + 1, sizeof *out);
    if (!out) return NULL;
    for (size_t i = 0; i < n; i++) {
        out[i] = json_string_value(json_array_get(av, i));
        if (!out[i]) {
            free(out);
            return NULL;
        }
    }
    return out;
}

json_t *li_rec_editor_reply(const struct li_rec *rec, const char *method, size_t k)
{
    for (size_t i = 0; i < rec->n; i++) {
        const struct li_rmsg *q = &rec->m[i];
        if (q->dir != LI_S2C || q->kind != LI_K_REQUEST || !q->method || strcmp(q->method, method))
            continue;
        if (k--) continue;
        return q->reply >= 0 ? rec->m[q->reply].body : NULL;
    }
    return NULL;
}

json_t *li_default_reply(const char *method, const json_t *params)
{
    if (!strcmp(method, "workspace/configuration")) {
        json_t *a = json_array();
        size_t n = json_array_size(json_object_get(params, "items"));
        for (size_t i = 0; i < n; i++)
            json_array_append_new(a, json_object());
        return a;
    }
    if (!strcmp(method, "workspace/applyEdit")) return json_pack("{s:b}", "applied", 0);
    return json_null();
}

/* ---- normalisation ---- */

static int digits(const char *s, int n)
{
    for (int i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i])) return 0;
    return 1;
}

/* Length of a timestamp starting at s ("2026-11-28T01:48:50.12Z",
 * "2026/11/28 01:48:50"), 0 when there is none. */
static size_t stamp_len(const char *s, size_t len)
{
    if (len < 19 || !digits(s, 4) || (s[4] != '-' && s[4] != '/') || !digits(s + 5, 2) ||
        s[7] != s[4] || !digits(s + 8, 2) || (s[10] != 'T' && s[10] != ' ') || !digits(s + 11, 2) ||
        s[13] != ':' || !digits(s + 14, 2) || s[16] != ':' || !digits(s + 17, 2))
        return 0;
    size_t i = 19;
    if (i < len && (s[i] == '.' || s[i] == ','))
        for (i++; i < len && isdigit((unsigned char)s[i]); i++)
            ;
    if (i < len && s[i] == 'Z')
        i++;
    else if (i + 5 < len && (s[i] == '+' || s[i] == '-') && digits(s + i + 1, 2) &&
             s[i + 3] == ':' && digits(s + i + 4, 2))
        i += 6;
    return i;
}

static json_t *norm_string(const json_t *v)
{
    const char *s = json_string_value(v);
    size_t len = json_string_length(v), i = 0, copied = 0;
    struct li_buf out = {0};
    while (i < len) {
        size_t n = stamp_len(s + i, len - i);
        if (!n) {
            i++;
            continue;
        }
        li_buf_put(&out, s + copied, i - copied);
        li_buf_put(&out, "<time>", 6);
        i += n;
        copied = i;
    }
    if (!out.p) return json_deep_copy(v);
    li_buf_put(&out, s + copied, len - copied);
    json_t *r = out.oom ? NULL : json_stringn_nocheck(out.p, out.len);
    li_buf_free(&out);
    return r;
}

static int dropped_key(const char *k)
{
    return !strcmp(k, "workDoneToken") || !strcmp(k, "partialResultToken") || !strcmp(k, "token");
}

static json_t *norm(const json_t *v)
{
    if (json_is_string(v)) return norm_string(v);
    if (json_is_array(v)) {
        json_t *a = json_array();
        for (size_t i = 0; i < json_array_size(v); i++)
            json_array_append_new(a, norm(json_array_get(v, i)));
        return a;
    }
    if (json_is_object(v)) {
        json_t *o = json_object();
        int has_uri = json_object_get(v, "uri") != NULL;
        const char *k;
        json_t *e;
        json_object_foreach((json_t *)v, k, e)
        {
            if (dropped_key(k) || (has_uri && !strcmp(k, "version"))) continue;
            json_object_set_new(o, k, norm(e));
        }
        return o;
    }
    return json_deep_copy(v);
}

json_t *li_normalize_reply(const char *method, const json_t *body)
{
    json_t *err = json_object_get(body, "error");
    if (err) {
        json_t *e = json_object();
        json_object_set_new(e, "code", json_deep_copy(json_object_get(err, "code")));
        json_object_set_new(e, "message", norm(json_object_get(err, "message")));
        return json_pack("{s:o}", "error", e);
    }
    json_t *res = json_object_get(body, "result");
    json_t *r = res ? norm(res) : json_null();
    json_t *si = json_object_get(r, "serverInfo");
    if (method && !strcmp(method, "initialize") && json_is_object(si))
        json_object_del(si, "version");
    return json_pack("{s:o}", "result", r);
}

/* li_normalize_reply for request params (for li_rec_match_request). New
 * reference. */
static json_t *li_normalize_params(const json_t *params)
{
    return params ? norm(params) : json_null();
}

long li_rec_match_request(const struct li_rec *rec, const char *method, const json_t *params,
                          unsigned char *used)
{
    json_t *want = li_normalize_params(params);
    long eq_unused = -1, unused = -1, eq_last = -1, last = -1;
    for (size_t i = 0; i < rec->n; i++) {
        const struct li_rmsg *q = &rec->m[i];
        if (q->dir != LI_C2S || q->kind != LI_K_REQUEST || q->reply < 0 || !q->method ||
            strcmp(q->method, method))
            continue;
        json_t *p = li_normalize_params(json_object_get(q->body, "params"));
        int eq = json_equal(p, want);
        json_decref(p);
        if (eq && !used[i] && eq_unused < 0) eq_unused = (long)i;
        if (!used[i] && unused < 0) unused = (long)i;
        if (eq) eq_last = (long)i;
        last = (long)i;
    }
    json_decref(want);
    long pick = eq_unused >= 0 ? eq_unused : unused >= 0 ? unused : eq_last >= 0 ? eq_last : last;
    if (pick >= 0) used[pick] = 1;
    return pick;
}

/* ---- diff ---- */

struct diff {
    json_t *out;
    size_t max, n;
};

static void note(struct diff *d, const char *path, const json_t *a, const json_t *b)
{
    if (d->n++ >= d->max) return;
    json_t *e = json_pack("{s:s}", "path", *path ? path : "/");
    if (a) json_object_set(e, "recorded", (json_t *)a);
    if (b) json_object_set(e, "replayed", (json_t *)b);
    json_array_append_new(d->out, e);
}

/* JSON Pointer escaping (RFC 6901): "~" as "~0", "/" as "~1". */
static char *child_path(const char *path, const char *key)
{
    size_t n = strlen(path), k = strlen(key), extra = 0;
    for (size_t i = 0; i < k; i++)
        extra += key[i] == '~' || key[i] == '/';
    char *p = malloc(n + 1 + k + extra + 1);
    if (!p) return NULL;
    memcpy(p, path, n);
    char *w = p + n;
    *w++ = '/';
    for (size_t i = 0; i < k; i++) {
        if (key[i] == '~' || key[i] == '/') {
            *w++ = '~';
            *w++ = key[i] == '~' ? '0' : '1';
        } else {
            *w++ = key[i];
        }
    }
    *w = '\0';
    return p;
}

static void diff(struct diff *d, const char *path, const json_t *a, const json_t *b)
{
    if (json_equal((json_t *)a, (json_t *)b)) return;
    if (json_is_object(a) && json_is_object(b)) {
        const char *k;
        json_t *va;
        json_object_foreach((json_t *)a, k, va)
        {
            char *p = child_path(path, k);
            if (!p) return;
            diff(d, p, va, json_object_get(b, k));
            free(p);
        }
        json_object_foreach((json_t *)b, k, va)
        {
            if (json_object_get(a, k)) continue;
            char *p = child_path(path, k);
            if (!p) return;
            note(d, p, NULL, va);
            free(p);
        }
        return;
    }
    if (json_is_array(a) && json_is_array(b)) {
        size_t na = json_array_size(a), nb = json_array_size(b);
        for (size_t i = 0; i < na || i < nb; i++) {
            char key[32];
            snprintf(key, sizeof key, "%zu", i);
            char *p = child_path(path, key);
            if (!p) return;
            const json_t *x = i < na ? json_array_get(a, i) : NULL;
            const json_t *y = i < nb ? json_array_get(b, i) : NULL;
            if (x && y)
                diff(d, p, x, y);
            else
                note(d, p, x, y);
            free(p);
        }
        return;
    }
    note(d, path, a, b);
}

size_t li_json_diff(const json_t *a, const json_t *b, json_t *out, size_t max)
{
    struct diff d = {out, max, 0};
    if (!a || !b) {
        if (a != b) note(&d, "", a, b);
        return d.n;
    }
    diff(&d, "", a, b);
    return d.n;
}
