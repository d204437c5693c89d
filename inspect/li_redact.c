#include "inspect/li_redact.h"

#include <assert.h>
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "inspect/li_buf.h"
#include "inspect/li_escape.h"

static const char *const secret_words[] = {
    "TOKEN", "SECRET", "PASSWORD", "PASSWD", "KEY", "CREDENTIAL", "AUTH", "COOKIE", NULL,
};

/* Query parameters that hold credentials without a secret-looking name. */
static const char *const query_words[] = {"sig", "signature", "pass", "pwd", "code", NULL};

static int secret_name_n(const char *name, size_t n)
{
    char up[256];
    size_t k = 0;
    for (; k < n && name[k] && name[k] != '=' && k + 1 < sizeof up; k++)
        up[k] = (char)toupper((unsigned char)name[k]);
    up[k] = '\0';
    for (const char *const *w = secret_words; *w; w++)
        if (strstr(up, *w)) return 1;
    return 0;
}

int li_redact_is_secret_name(const char *name)
{
    return secret_name_n(name, SIZE_MAX);
}

/* ---- spans to mask ------------------------------------------------------ */

struct spans {
    size_t (*v)[2];
    size_t n, cap;
    int oom;
};

static void add(struct spans *s, size_t from, size_t to)
{
    if (from >= to) return;
    void *nv = li_grow(s->v, &s->cap, s->n + 1, sizeof *s->v);
    if (!nv) {
        s->oom = 1;
        return;
    }
    s->v = nv;
    s->v[s->n][0] = from;
    s->v[s->n][1] = to;
    s->n++;
}

static int by_start(const void *a, const void *b)
{
    const size_t *x = a, *y = b;
    return x[0] < y[0] ? -1 : x[0] > y[0];
}

/* How far a rule looks from where it stands, so that a text built to make
 * every position start a candidate ("a@a@a@...", "://://...") costs
 * O(length * MAX_SCAN), not O(length^2). A userinfo, a name or a value
 * longer than this is not recognised by the rules (the last pass still masks
 * the environment's secrets of any length). */
#define MAX_SCAN 1024

static size_t lim(size_t from, size_t len)
{
    return len - from > MAX_SCAN ? from + MAX_SCAN : len;
}

/* Where a token of free text ends: a URL or a value never spans these. */
static int ends_token(char c)
{
    return c == '\n' || c == '\r' || c == '"' || c == '\'' || c == '`' || c == '<' || c == '>' ||
           c == '\0';
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static int host_start(char c)
{
    return isalnum((unsigned char)c) || c == '[';
}

static const char *find(const char *p, const char *end, const char *needle)
{
    size_t nl = strlen(needle);
    if ((size_t)(end - p) < nl) return NULL;
    return memmem(p, (size_t)(end - p), needle, nl);
}

/* The userinfo t[a, at): its password when it has one, else all of it (a
 * token used as the user name). */
static void add_userinfo(struct spans *s, const char *t, size_t a, size_t at)
{
    const char *colon = memchr(t + a, ':', at - a);
    add(s, colon ? (size_t)(colon - t) + 1 : a, at);
}

/* 1 when [p, e) is a port: host:PORT then a path that holds an '@'
 * (http://127.0.0.1:3000/example.org/dep/@v/v1.0.0.mod, a module proxy's
 * URL) is no password with a raw '/'. */
static int port_only(const char *p, const char *e)
{
    if (p >= e) return 0;
    for (; p < e; p++)
        if (!isdigit((unsigned char)*p)) return 0;
    return 1;
}

/* scheme://userinfo@host: the authority ends at the first '/', '?', '#' or
 * blank; its userinfo at the last '@' in it (net/url). A password typed with
 * a raw '/', '?', '#' or blank puts its '@' after that: then the first '@'
 * of the token, when what precedes it reads user:password. */
static void rule_scheme_urls(struct spans *s, const char *t, size_t len)
{
    const char *end = t + len;
    for (const char *p = t; (p = find(p, end, "://"));) {
        size_t a = (size_t)(p - t) + 3;
        p += 3;
        /* Up to the next URL at most: a text of "://" repeated costs
         * linear time. */
        size_t line = a, stop = lim(a, len);
        while (line < stop && !ends_token(t[line]) &&
               !(t[line] == ':' && line + 2 < len && t[line + 1] == '/' && t[line + 2] == '/'))
            line++;
        size_t e = a;
        while (e < line && !strchr("/?#", t[e]) && !is_space(t[e]))
            e++;
        const char *at = NULL;
        for (size_t i = a; i < e; i++)
            if (t[i] == '@') at = t + i;
        if (!at) {
            const char *q = memchr(t + a, '@', line - a);
            if (!q || find(t + a, q, "://") || q + 1 >= end || !host_start(q[1])) continue;
            const char *colon = memchr(t + a, ':', (size_t)(q - (t + a)));
            if (!colon || colon == t + a) continue;
            for (const char *u = t + a; u < colon; u++)
                if (is_space(*u) || *u == '/') colon = NULL;
            if (!colon || port_only(colon + 1, t + e)) continue;
            at = q;
        }
        add_userinfo(s, t, a, (size_t)(at - t));
    }
}

/* user:password@host.name with no scheme: go's proxy settings take it. The
 * host must look like one (a dot, a port or a bracket) so that prose such as
 * "mailto:x@y" is left alone. One pass: the token's start, its first ':' and
 * '/', and whether it holds a "://" are carried along, so the cost stays
 * linear however many '@' a text has. */
static int token_break(char c)
{
    return ends_token(c) || is_space(c) || strchr("(){}[],|;=", c);
}

static void rule_bare_userinfo(struct spans *s, const char *t, size_t len)
{
    size_t tok = 0, colon = SIZE_MAX, slash = SIZE_MAX;
    int scheme = 0;
    for (size_t i = 0; i < len; i++) {
        char c = t[i];
        if (token_break(c)) {
            tok = i + 1;
            colon = slash = SIZE_MAX;
            scheme = 0;
            continue;
        }
        if (c == ':' && i + 2 < len && t[i + 1] == '/' && t[i + 2] == '/') scheme = 1;
        if (c == ':' && colon == SIZE_MAX) colon = i;
        if (c == '/' && slash == SIZE_MAX) slash = i;
        if (c != '@' || scheme || i + 1 >= len || !host_start(t[i + 1])) continue;
        if (i - tok > MAX_SCAN || colon == SIZE_MAX || colon == tok || colon + 1 == i) continue;
        if (slash < colon) continue;
        size_t h = i + 1;
        int hosty = t[h] == '[';
        for (size_t hs = lim(h, len); h < hs && !token_break(t[h]) && !strchr("/@", t[h]); h++)
            if (t[h] == '.' || t[h] == ':') hosty = 1;
        if (hosty) add(s, colon + 1, i);
    }
}

static int name_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '.' || c == '-';
}

/* A query parameter named one of query_words, or ending in one
 * (X-Amz-Signature). */
static int query_word(const char *name, size_t n)
{
    for (const char *const *w = query_words; *w; w++) {
        size_t wl = strlen(*w);
        if (wl <= n && !strncasecmp(name + n - wl, *w, wl)) return 1;
    }
    return 0;
}

/* NAME=VALUE with a secret's NAME, anywhere (GOFLAGS=-ldflags=-X=main.token=V,
 * API_TOKEN=V, --api-key=V, ?access_token=V), and the credential query
 * parameters. The value ends at a blank, a quote, '&' or ';' (a query's, a
 * list's); a value in quotes at its closing quote. */
static void rule_secret_assignments(struct spans *s, const char *t, size_t len)
{
    size_t masked_to = 0; /* a '=' inside a value already masked has the same end */
    for (size_t e = 1; e < len; e++) {
        if (t[e] != '=' || e < masked_to) continue;
        size_t n = e, floor = e > MAX_SCAN ? e - MAX_SCAN : 0;
        while (n > floor && name_char(t[n - 1]))
            n--;
        if (n == e) continue;
        int query = n > 0 && (t[n - 1] == '?' || t[n - 1] == '&');
        if (!secret_name_n(t + n, e - n) && !(query && query_word(t + n, e - n))) continue;
        size_t v = e + 1, w;
        if (v < len && (t[v] == '"' || t[v] == '\'')) {
            size_t stop = lim(v + 1, len);
            const char *close = v + 1 < stop ? memchr(t + v + 1, t[v], stop - v - 1) : NULL;
            w = close ? (size_t)(close - t) : stop;
            v++;
        } else {
            w = v;
            size_t stop = lim(v, len);
            while (w < stop && !ends_token(t[w]) && !is_space(t[w]) && t[w] != '&' && t[w] != ';' &&
                   !(query && (t[w] == '#' || t[w] == ',' || t[w] == '|')))
                w++;
        }
        add(s, v, w);
        if (w > masked_to) masked_to = w;
    }
}

static void free_text_rules(struct spans *s, const char *t, size_t len)
{
    rule_scheme_urls(s, t, len);
    rule_bare_userinfo(s, t, len);
    rule_secret_assignments(s, t, len);
}

/* ---- a variable's value, read as go reads it ---------------------------- */

/* One proxy URL t[a, b) as net/http's ProxyFromEnvironment reads it: a
 * missing scheme gets "http://", the authority ends at the first '/', its
 * userinfo at its last '@' (or, a raw '/' in the password, at the first '@'
 * after it). A user name alone is masked too: go sends it as the token. */
static void one_proxy_url(struct spans *s, const char *t, size_t a, size_t b)
{
    const char *sch = find(t + a, t + b, "://");
    if (sch) a = (size_t)(sch - t) + 3;
    const char *first = memchr(t + a, '@', b - a);
    if (!first) return;
    size_t e = a;
    while (e < b && t[e] != '/' && t[e] != '?' && t[e] != '#')
        e++;
    size_t at = (size_t)(first - t);
    for (size_t i = a; i < e; i++)
        if (t[i] == '@') at = i;
    if (at >= e) {
        const char *colon = memchr(t + a, ':', e - a);
        if (colon && port_only(colon + 1, t + e)) return;
    }
    add_userinfo(s, t, a, at);
}

static int is_proxy_var(const char *name)
{
    char up[64];
    size_t k = 0;
    for (; name[k] && k + 1 < sizeof up; k++)
        up[k] = (char)toupper((unsigned char)name[k]);
    up[k] = '\0';
    return strstr(up, "PROXY") && !strstr(up, "NO_PROXY") && strcmp(up, "GONOPROXY") != 0;
}

static void value_rules(struct spans *s, const char *name, const char *v, size_t len)
{
    free_text_rules(s, v, len);
    if (!name || !is_proxy_var(name)) return;
    /* The whole value as one URL (HTTPS_PROXY), and each item of a list
     * (GOPROXY, split on ',' and '|' as go does): both, so that a password
     * holding ',' goes whole either way. */
    one_proxy_url(s, v, 0, len);
    for (size_t i = 0; i < len;) {
        size_t j = i;
        while (j < len && v[j] != ',' && v[j] != '|')
            j++;
        while (i < j && is_space(v[i]))
            i++;
        one_proxy_url(s, v, i, j);
        i = j + 1;
    }
}

/* ---- the last pass: secrets the environment holds ----------------------- */

#define MIN_SCRUB 4

static void add_known(struct spans *s, const char *t, size_t len, const char *secret, size_t sl)
{
    if (sl < MIN_SCRUB) return;
    const char *q;
    for (const char *p = t;
         (size_t)(t + len - p) >= sl && (q = memmem(p, (size_t)(t + len - p), secret, sl));
         p = q + sl)
        add(s, (size_t)(q - t), (size_t)(q - t) + sl);
}

/* The secrets of an environment, gathered once: the value of each
 * secret-named variable, and what the value rules mask in every other
 * variable's value. Copies: the environment may change afterwards. */
struct li_secrets {
    char **v;
    size_t *len;
    size_t n, cap;
    int oom;
};

static void keep(struct li_secrets *k, const char *p, size_t n)
{
    if (n < MIN_SCRUB || k->oom) return;
    if (k->n == k->cap) {
        size_t nc = k->cap ? k->cap * 2 : 8;
        char **nv = realloc(k->v, nc * sizeof *nv);
        if (nv) k->v = nv;
        size_t *nl = nv ? realloc(k->len, nc * sizeof *nl) : NULL;
        if (nl) k->len = nl;
        if (!nv || !nl) {
            k->oom = 1;
            return;
        }
        k->cap = nc;
    }
    if (!(k->v[k->n] = malloc(n))) {
        k->oom = 1;
        return;
    }
    memcpy(k->v[k->n], p, n);
    k->len[k->n++] = n;
}

struct li_secrets *li_secrets_new(char *const envp[])
{
    struct li_secrets *k = calloc(1, sizeof *k);
    if (!k) return NULL;
    for (char *const *e = envp; e && *e; e++) {
        const char *eq = strchr(*e, '=');
        if (!eq) continue;
        const char *v = eq + 1;
        size_t vl = strlen(v);
        if (li_redact_is_secret_name(*e)) {
            keep(k, v, vl);
            continue;
        }
        if (!vl) continue;
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)(eq - *e), *e);
        struct spans in = {0};
        value_rules(&in, name, v, vl);
        for (size_t i = 0; i < in.n; i++)
            keep(k, v + in.v[i][0], in.v[i][1] - in.v[i][0]);
        k->oom |= in.oom;
        free(in.v);
    }
    if (k->oom) {
        li_secrets_free(k);
        return NULL;
    }
    return k;
}

void li_secrets_free(struct li_secrets *k)
{
    if (!k) return;
    for (size_t i = 0; i < k->n; i++)
        free(k->v[i]);
    free(k->v);
    free(k->len);
    free(k);
}

static void rule_known(struct spans *s, const char *t, size_t len, const struct li_secrets *k)
{
    for (size_t i = 0; k && !s->oom && i < k->n; i++)
        add_known(s, t, len, k->v[i], k->len[i]);
}

/* ---- masking ------------------------------------------------------------ */

/* text with every span replaced by LI_REDACTED; NULL when out of memory (or
 * a span list could not be built: nothing half-masked is ever returned). */
static char *mask(const char *t, size_t len, struct spans *s, size_t *outlen)
{
    if (s->oom) {
        free(s->v);
        return NULL;
    }
    if (s->n) qsort(s->v, s->n, sizeof *s->v, by_start);
    size_t ml = sizeof LI_REDACTED - 1;
    char *out = malloc(len + s->n * ml + 1);
    if (!out) {
        free(s->v);
        return NULL;
    }
    size_t o = 0, from = 0;
    for (size_t i = 0; i < s->n;) {
        size_t a = s->v[i][0], b = s->v[i][1];
        for (i++; i < s->n && s->v[i][0] <= b; i++)
            if (s->v[i][1] > b) b = s->v[i][1];
        if (a < from) a = from;
        assert(a <= b && b <= len); /* a rule's span lies inside the text */
        memcpy(out + o, t + from, a - from);
        o += a - from;
        memcpy(out + o, LI_REDACTED, ml);
        o += ml;
        from = b;
    }
    assert(from <= len);
    memcpy(out + o, t + from, len - from);
    o += len - from;
    assert(o <= len + s->n * ml); /* what was allocated */
    out[o] = '\0';
    if (outlen) *outlen = o;
    free(s->v);
    return out;
}

/* li_redact with a gathered set. k NULL (li_secrets_new ran out of memory):
 * NULL, as when out of memory, so that nothing goes out half-redacted. */
static char *li_redact_with(const struct li_secrets *k, const char *text, size_t len,
                            size_t *outlen)
{
    struct spans s = {.oom = !k};
    free_text_rules(&s, text, len);
    rule_known(&s, text, len, k);
    return mask(text, len, &s, outlen);
}

char *li_redact(const char *text, size_t len, char *const envp[], size_t *outlen)
{
    struct li_secrets *k = li_secrets_new(envp);
    char *r = li_redact_with(k, text, len, outlen);
    li_secrets_free(k);
    return r;
}

/* A fixed buffer that cannot hold the result gets what fits of it; when even
 * that cannot be computed (no memory), a text that cannot leak. */
static void put(char *out, size_t cap, char *r, size_t rl)
{
    if (!cap) {
        free(r);
        return;
    }
    if (!r) {
        snprintf(out, cap, "%s", "(text withheld: no memory to redact it)");
        return;
    }
    size_t n = rl < cap - 1 ? rl : cap - 1;
    memmove(out, r, n);
    out[n] = '\0';
    free(r);
}

void li_redact_buf_with(char *buf, size_t cap, const struct li_secrets *k)
{
    if (!cap) return;
    size_t rl = 0;
    char *r = li_redact_with(k, buf, strnlen(buf, cap), &rl);
    put(buf, cap, r, rl);
}

void li_redact_buf(char *buf, size_t cap, char *const envp[])
{
    struct li_secrets *k = li_secrets_new(envp);
    li_redact_buf_with(buf, cap, k);
    li_secrets_free(k);
}

void li_redact_value(const char *name, const char *value, char *const envp[], char *out,
                     size_t outlen)
{
    if (!outlen) return;
    if (name && li_redact_is_secret_name(name)) {
        snprintf(out, outlen, "%s", LI_REDACTED);
        return;
    }
    size_t len = strlen(value), rl = 0;
    struct li_secrets *k = li_secrets_new(envp);
    struct spans s = {.oom = !k};
    value_rules(&s, name, value, len);
    rule_known(&s, value, len, k);
    li_secrets_free(k);
    char *r = mask(value, len, &s, &rl);
    put(out, outlen, r, rl);
}

void li_redact_json_with(json_t *v, const struct li_secrets *k)
{
    if (json_is_string(v)) {
        size_t rl;
        char *r = li_redact_with(k, json_string_value(v), json_string_length(v), &rl);
        int same = r && rl == json_string_length(v) && !memcmp(r, json_string_value(v), rl);
        if (!same && (!r || json_string_setn(v, r, rl)))
            json_string_set(v, "(text withheld: no memory to redact it)");
        free(r);
    } else if (json_is_object(v)) {
        const char *key;
        json_t *m;
        json_object_foreach(v, key, m)
        {
            li_redact_json_with(m, k);
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *m;
        json_array_foreach(v, i, m)
        {
            li_redact_json_with(m, k);
        }
    }
}

void li_redact_json(json_t *v, char *const envp[])
{
    struct li_secrets *k = li_secrets_new(envp);
    li_redact_json_with(v, k); /* no memory for k: every string withheld */
    li_secrets_free(k);
}

int li_redact_printed(void (*print)(const void *ud, FILE *f), const void *ud, char *const envp[],
                      FILE *out)
{
    char *text = NULL;
    size_t len = 0, rl = 0;
    FILE *m = open_memstream(&text, &len);
    if (!m) return EOF;
    print(ud, m);
    if (fclose(m)) {
        free(text);
        return EOF;
    }
    char *red = li_redact(text, len, envp, &rl);
    free(text);
    if (!red) return EOF;
    int r = li_escape_write(red, rl, LI_ESC_KEEP_NL, out);
    free(red);
    return r;
}
