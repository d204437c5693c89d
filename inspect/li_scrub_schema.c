/*
 * li_scrub_schema — see li_scrub.h. What a JSON member is, by what its key
 * means in the LSP and DAP schemas: enum-like members keep their value, text
 * members lose their words (li_scrub.c), anything unknown is treated as
 * text. Also the session file's own lines (header, messages, events), the
 * roots learned from them, and the two passes over a whole file.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "inspect/li_buf.h"
#include "inspect/li_reader.h"
#include "inspect/li_scrub.h"
#include "inspect/li_scrub_int.h"
#include "inspect/li_text.h"

/* ---- JSON by schema ---------------------------------------------------------- */

enum mode {
    M_DEFAULT,  /* text: every word but Go's, paths and URIs */
    M_PROSE,    /* text: common words kept too */
    M_CODE,     /* source text: words only, lengths kept */
    M_ENUM,     /* a string kept when it looks like a protocol enum, else M_DEFAULT;
                 * an object under such a key follows the usual rules */
    M_ENUMTREE, /* M_ENUM for every string under it (capabilities) */
    M_VERBATIM, /* kept, with everything under it */
    M_ENVMAP,   /* an object of environment variables */
    M_ENV,      /* an environment value */
    M_SECRET,   /* a secret's value */
    M_NAME,     /* a file name (DAP Source.name) */
    M_ARGV,     /* a command line: NAME=VALUE and --NAME=VALUE with secret names */
};

struct ctx {
    enum mode mode;  /* of this value */
    int prose;       /* unknown strings are M_PROSE (lsptap's own lines) */
    int top;         /* this object is a message body */
    const char *key; /* the member name this value is under ("" in an array's top) */
};

static int is_key(const char *k, const char *const *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(k, v[i]) == 0) return 1;
    return 0;
}

/* Members whose string values are protocol enums or generated ids. */
/* clang-format off */
static const char *const enum_keys[] = {
    "jsonrpc", "method", "kind", "languageId", "trace", "locale", "positionEncoding",
    "positionEncodings", "command", "commands", "id", "token", "section", "triggerCharacters",
    "allCommitCharacters", "retriggerCharacters", "commitCharacters", "contentFormat",
    "documentationFormat", "codeActionKinds", "only", "tokenTypes", "tokenModifiers",
    "changeNotifications", "code", "source", "severity", "scheme", "event", "category",
    "presentationHint", "request", "startMethod", "adapterID", "pathFormat", "clientID",
    "clientName", "context", "filter", "filters", "logOutput", "layer", "status", "result", "class",
    "interface", "device", "operstate", "found_in", "tool", "probe", "protocol", "role", "record",
    "stream", "dir", "start", "lsptap_version", "ended", "resolveSupport", "failureHandling",
    "resourceOperations", "valueSet", "properties", "markupKind", "supportedChecksumAlgorithms",
    "exceptionOptions", "breakMode", "mode", "backend", "stopReason", "triggerKind", "encoding",
    "format_kind", "GOOS", "GOARCH", "GOVERSION", "CGO_ENABLED", "GO111MODULE", "GOTOOLCHAIN",
    "GOAMD64",
};
/* clang-format on */

/* clang-format off */
static const char *const prose_keys[] = {
    "message", "title", "why", "body_error", "ending", "summary", "hint", "verdict", "errno",
    "reason", "error", "format", "description", "version", "sentence", "text_reason",
};
/* clang-format on */

static const char *const code_keys[] = {"text", "newText", "insertText"};

static const char *const verbatim_keys[] = {"serverInfo", "clientInfo", "clientName"};

/* Subtrees that describe what a side supports: enums and booleans. */
static const char *const enum_tree_keys[] = {"capabilities", "registerOptions"};

static const char *const argv_keys[] = {"argv", "args", "buildFlags", "flags", "dlvFlags"};

/* What a member under key k of a value in mode parent becomes. */
static enum mode child_mode(const struct li_scrub *s, const struct ctx *parent, const char *k,
                            const json_t *v)
{
    if (parent->mode == M_VERBATIM) return M_VERBATIM;
    if (parent->mode == M_ENVMAP) {
        if (s->is_secret && s->is_secret(k)) return M_SECRET;
        return is_key(k, enum_keys, LI_SCRUB_COUNT(enum_keys)) ? M_ENUM : M_ENV;
    }
    if (parent->mode == M_ENUMTREE) return M_ENUMTREE;
    if (is_key(k, verbatim_keys, LI_SCRUB_COUNT(verbatim_keys))) return M_VERBATIM;
    if (is_key(k, enum_tree_keys, LI_SCRUB_COUNT(enum_tree_keys))) return M_ENUMTREE;
    if ((strcmp(k, "env") == 0 || strcmp(k, "environment") == 0) && json_is_object(v))
        return M_ENVMAP;
    if (strcmp(k, "type") == 0 && parent->top) return M_ENUM;
    if (strcmp(k, "name") == 0 && strcmp(parent->key, "source") == 0) return M_NAME;
    if (is_key(k, enum_keys, LI_SCRUB_COUNT(enum_keys))) return M_ENUM;
    if (is_key(k, code_keys, LI_SCRUB_COUNT(code_keys))) return M_CODE;
    if (is_key(k, prose_keys, LI_SCRUB_COUNT(prose_keys))) return M_PROSE;
    if (is_key(k, argv_keys, LI_SCRUB_COUNT(argv_keys))) return M_ARGV;
    return parent->prose ? M_PROSE : M_DEFAULT;
}

static int enum_like(const char *v, size_t n)
{
    if (n > 128 || (n && v[0] == '/')) return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (!isalnum(c) && !strchr("_.$/:-", c)) return 0;
        if (c == '/' && i + 1 < n && v[i + 1] == '/') return 0;
    }
    return 1;
}

/* Puts o's text in v and frees it. */
static int set_string(json_t *v, struct li_buf *o)
{
    int rc = o->oom || json_string_setn(v, o->p ? o->p : "", o->len) ? -ENOMEM : 0;
    free(o->p);
    return rc;
}

/* NAME=VALUE or -NAME=VALUE or --NAME=VALUE whose NAME is a secret's. */
static int argv_secret(struct li_scrub *s, const char *v, size_t n, size_t *eq)
{
    const char *e = memchr(v, '=', n);
    if (!e || !s->is_secret) return 0;
    const char *nm = v;
    while (nm < e && *nm == '-')
        nm++;
    char name[128];
    size_t nl = (size_t)(e - nm);
    if (nl == 0 || nl >= sizeof name) return 0;
    memcpy(name, nm, nl);
    name[nl] = '\0';
    *eq = (size_t)(e - v);
    return s->is_secret(name);
}

static int scrub_string(struct li_scrub *s, json_t *v, enum mode m)
{
    const char *p = json_string_value(v);
    size_t n = json_string_length(v);
    struct li_buf o = {0};
    size_t eq;
    switch (m) {
    case M_VERBATIM:
        return 0;
    case M_ENUM:
    case M_ENUMTREE:
        if (enum_like(p, n)) return 0;
        li_scrub_put_text(s, &o, p, n, LI_SCRUB_T_PATHS);
        break;
    case M_CODE:
        li_scrub_put_text(s, &o, p, n, 0);
        break;
    case M_PROSE:
        li_scrub_put_text(s, &o, p, n, LI_SCRUB_T_PATHS | LI_SCRUB_T_KEEP_WORDS);
        break;
    case M_ENV:
        if (n == 0) return 0;
        li_scrub_count_value(s, LI_SCRUB_ENV, p, n);
        li_scrub_put_text(s, &o, p, n, LI_SCRUB_T_PATHS | LI_SCRUB_T_KEEP_WORDS);
        break;
    case M_SECRET:
        if (n == 0) return 0;
        li_scrub_put_secret(s, &o, p, n);
        break;
    case M_NAME:
        li_scrub_put_name(s, &o, p, n, 1);
        break;
    case M_ARGV:
        if (argv_secret(s, p, n, &eq)) {
            li_buf_put(&o, p, eq + 1);
            li_scrub_put_secret(s, &o, p + eq + 1, n - eq - 1);
        } else {
            li_scrub_put_text(s, &o, p, n, LI_SCRUB_T_PATHS | LI_SCRUB_T_KEEP_WORDS);
        }
        break;
    default:
        li_scrub_put_text(s, &o, p, n, LI_SCRUB_T_PATHS);
        break;
    }
    return set_string(v, &o);
}

static int walk(struct li_scrub *s, json_t *v, const struct ctx *c);

/* Environment variable names kept in an environment map: the ones Go, the
 * shell and lsptap define. A name of the user's own (ACME_DEPLOY_KEY) may
 * say whose machine it is, so it is scrubbed as a word. */
static int known_env_name(const char *k)
{
    /* clang-format off */
    static const char *const names[] = {
        "PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "TERM", "TMPDIR", "PWD", "HTTP_PROXY",
        "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy", "ALL_PROXY",
        "SSL_CERT_FILE", "SSL_CERT_DIR", "NETRC", "GITHUB_TOKEN", "GH_TOKEN", "GITLAB_TOKEN",
    };
    /* clang-format on */
    static const char *const prefixes[] = {"GO", "CGO_", "LSPTAP_", "XDG_", "LC_"};
    if (is_key(k, names, LI_SCRUB_COUNT(names))) return 1;
    for (size_t i = 0; i < LI_SCRUB_COUNT(prefixes); i++)
        if (strncmp(k, prefixes[i], strlen(prefixes[i])) == 0) return 1;
    return 0;
}

/* Object keys are names from the schema and are kept, except keys that are
 * themselves URIs or paths (WorkspaceEdit.changes is keyed by URI) and the
 * user's own environment variable names. */
static int walk_object(struct li_scrub *s, json_t *v, const struct ctx *c)
{
    const char *k;
    json_t *m;
    int rename = 0;
    json_object_foreach(v, k, m)
    {
        struct ctx cc = {child_mode(s, c, k, m), c->prose, 0, k};
        int rc = walk(s, m, &cc);
        if (rc) return rc;
        if ((c->mode != M_VERBATIM &&
             (k[0] == '/' || li_scrub_starts_ci(k, strlen(k), "file://"))) ||
            (c->mode == M_ENVMAP && !known_env_name(k)))
            rename = 1;
    }
    if (!rename) return 0;
    json_t *copy = json_object();
    if (!copy) return -ENOMEM;
    json_object_foreach(v, k, m)
    {
        struct li_buf o = {0};
        if (c->mode == M_ENVMAP && known_env_name(k))
            li_buf_str(&o, k);
        else
            li_scrub_put_text(s, &o, k, strlen(k), LI_SCRUB_T_PATHS);
        int bad = o.oom || json_object_set(copy, o.p ? o.p : "", m);
        free(o.p);
        if (bad) {
            json_decref(copy);
            return -ENOMEM;
        }
    }
    int rc = json_object_clear(v) || json_object_update(v, copy) ? -ENOMEM : 0;
    json_decref(copy);
    return rc;
}

static int walk(struct li_scrub *s, json_t *v, const struct ctx *c)
{
    switch (json_typeof(v)) {
    case JSON_STRING:
        return scrub_string(s, v, c->mode);
    case JSON_ARRAY: {
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            int rc = walk(s, e, c);
            if (rc) return rc;
        }
        return 0;
    }
    case JSON_OBJECT:
        return walk_object(s, v, c);
    default:
        return 0;
    }
}

int li_scrub_json(struct li_scrub *s, json_t *v)
{
    struct ctx c = {M_PROSE, 1, 0, ""};
    int rc = walk(s, v, &c);
    return rc ? rc : s->oom ? -ENOMEM : 0;
}

/* Message line members lsptap wrote from the classification: no user data. */
/* clang-format off */
static const char *const line_keys[] = {
    "t_us", "dir", "bytes", "kind", "method", "command", "event", "id", "request_seq", "latency_us",
    "unmatched", "cancelled", "truncated",
};
/* clang-format on */

/* clang-format off */
static const char *const header_keys[] = {
    "lsptap", "protocol", "role", "start", "lsptap_version", "record", "pid", "version",
};
/* clang-format on */

/* clang-format off */
static const char *const event_keys[] = {
    "t_us", "event", "stream", "code", "offset", "skipped", "method", "command", "id", "age_us",
    "cancelled", "status", "signal", "pid",
};
/* clang-format on */

int li_scrub_line(struct li_scrub *s, json_t *line)
{
    if (!json_is_object(line)) return 0;
    int header = json_object_get(line, "lsptap") != NULL;
    int msg = !header && json_object_get(line, "dir") != NULL;
    const char *k;
    json_t *m;
    json_object_foreach(line, k, m)
    {
        struct ctx c = {M_DEFAULT, !msg, 0, k};
        if (header && is_key(k, header_keys, LI_SCRUB_COUNT(header_keys))) continue;
        if (!header && !msg && is_key(k, event_keys, LI_SCRUB_COUNT(event_keys)))
            c.mode = M_ENUM;
        else if (msg && is_key(k, line_keys, LI_SCRUB_COUNT(line_keys)))
            continue;
        else if (msg && strcmp(k, "body") == 0)
            c.top = json_is_object(m);
        else if (msg && (strcmp(k, "why") == 0 || strcmp(k, "body_error") == 0 ||
                         (strcmp(k, "error") == 0 && json_is_string(m))))
            c.mode = M_PROSE;
        else {
            struct ctx root = {M_DEFAULT, !msg, 0, ""};
            c.mode = child_mode(s, &root, k, m);
        }
        int rc = walk(s, m, &c);
        if (rc) return rc;
    }
    if (header) {
        json_t *by = json_pack("{s:s}", "by", "lsptap " LSPTAP_VERSION);
        if (!by || json_object_set_new(line, "scrubbed", by)) return -ENOMEM;
    }
    return s->oom ? -ENOMEM : 0;
}

/* ---- learning roots -------------------------------------------------------- */

static void root_from_uri(struct li_scrub *s, const json_t *u)
{
    const char *p = json_string_value(u);
    if (!p || !li_scrub_starts_ci(p, strlen(p), "file://")) return;
    p += 7;
    while (*p && *p != '/')
        p++;
    struct li_buf dec = {0};
    for (; *p && *p != '?' && *p != '#'; p++) {
        int h, l;
        if (*p == '%' && p[1] && p[2] && (h = li_hexval((unsigned char)p[1])) >= 0 &&
            (l = li_hexval((unsigned char)p[2])) >= 0) {
            li_buf_ch(&dec, (char)(h * 16 + l));
            p += 2;
        } else {
            li_buf_ch(&dec, *p);
        }
    }
    if (dec.p && !dec.oom && li_scrub_add_root(s, dec.p) == -ENOMEM) s->oom = 1;
    free(dec.p);
}

static void root_from_path(struct li_scrub *s, const json_t *p)
{
    if (json_is_string(p) && li_scrub_add_root(s, json_string_value(p)) == -ENOMEM) s->oom = 1;
}

void li_scrub_learn(struct li_scrub *s, const json_t *line)
{
    if (json_object_get(line, "lsptap")) {
        root_from_path(s, json_object_get(line, "cwd"));
        return;
    }
    const json_t *body = json_object_get(line, "body");
    const char *method = json_string_value(json_object_get(line, "method"));
    const char *command = json_string_value(json_object_get(line, "command"));
    const char *dir = json_string_value(json_object_get(line, "dir"));
    if (!json_is_object(body) || !dir || strcmp(dir, "c2s") != 0) return;
    if (method && strcmp(method, "initialize") == 0) {
        const json_t *pr = json_object_get(body, "params");
        root_from_uri(s, json_object_get(pr, "rootUri"));
        root_from_path(s, json_object_get(pr, "rootPath"));
        const json_t *folders = json_object_get(pr, "workspaceFolders");
        for (size_t i = 0; i < json_array_size(folders); i++)
            root_from_uri(s, json_object_get(json_array_get(folders, i), "uri"));
    } else if (method && strcmp(method, "workspace/didChangeWorkspaceFolders") == 0) {
        const json_t *ev = json_object_get(json_object_get(body, "params"), "event");
        const json_t *added = json_object_get(ev, "added");
        for (size_t i = 0; i < json_array_size(added); i++)
            root_from_uri(s, json_object_get(json_array_get(added, i), "uri"));
    } else if (command && (strcmp(command, "launch") == 0 || strcmp(command, "attach") == 0)) {
        root_from_path(s, json_object_get(json_object_get(body, "arguments"), "cwd"));
    }
}

/* ---- a whole file ----------------------------------------------------------- */

/* One pass over a session file: learning (out NULL) or writing. */
static int file_pass(struct li_scrub *s, const char *in, FILE *out, FILE *warn, char *err,
                     size_t errlen)
{
    struct li_reader *r = li_reader_open(in, err, errlen);
    if (!r) return 2;
    json_t *line;
    size_t no;
    char lerr[512];
    int rc, first = 1, res = 0;
    while (!res && (rc = li_reader_next(r, &line, &no, lerr, sizeof lerr)) != LI_READ_EOF) {
        if (rc == LI_READ_ERROR) {
            snprintf(err, errlen, "%s", lerr);
            res = 2;
        } else if (rc == LI_READ_BAD && first) {
            snprintf(err, errlen, "%s: not a session file (line %zu: %s)", in, no, lerr);
            res = 2;
        } else if (rc == LI_READ_BAD) {
            if (out && warn) fprintf(warn, "lsptap scrub: %s: left out (%s)\n", in, lerr);
        } else if (first && !json_object_get(line, "lsptap")) {
            snprintf(err, errlen, "%s: not a session file (line %zu has no \"lsptap\" key)", in,
                     no);
            json_decref(line);
            res = 2;
        } else {
            first = 0;
            int bad = 0;
            if (!out)
                li_scrub_learn(s, line);
            else if ((bad = li_scrub_line(s, line)) != 0)
                snprintf(err, errlen, "out of memory");
            else if (json_dumpf(line, out, JSON_COMPACT) || fputc('\n', out) == EOF)
                snprintf(err, errlen, "cannot write: %s", strerror(errno)), bad = 1;
            json_decref(line);
            if (bad) res = 1;
        }
    }
    if (!res && out && li_reader_truncated(r) && warn)
        fprintf(warn, "lsptap scrub: %s: last line %zu is cut short; left out\n", in,
                li_reader_truncated(r));
    li_reader_close(r);
    if (!res && first) snprintf(err, errlen, "%s: empty, not a session file", in), res = 2;
    if (!res && s->oom) snprintf(err, errlen, "out of memory"), res = 1;
    return res;
}

int li_scrub_learn_file(struct li_scrub *s, const char *in, char *err, size_t errlen)
{
    return file_pass(s, in, NULL, NULL, err, errlen);
}

int li_scrub_file(struct li_scrub *s, const char *in, FILE *out, FILE *warn, char *err,
                  size_t errlen)
{
    int rc = file_pass(s, in, NULL, NULL, err, errlen);
    return rc ? rc : file_pass(s, in, out, warn, err, errlen);
}
