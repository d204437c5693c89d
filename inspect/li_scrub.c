/*
 * li_scrub — see li_scrub.h. This file is the scrubber itself: the maps
 * from originals to placeholders, and free text scanned word by word.
 *
 * A word (a run of letters, digits, '_' and non-ASCII) is kept when it is a
 * Go keyword or predeclared name, or, in free-text messages only, one of the
 * common English and Go-tooling words below; every other word becomes a
 * placeholder of the same length in UTF-16 code units (what LSP positions
 * count), so a range in source text still covers the same columns. Outside
 * source text, paths, file URIs, URL credentials and IPv4 addresses are
 * recognised first and replaced as wholes (paths name by name).
 *
 * What a JSON member is (source text, prose, an enum, an environment value)
 * is decided by li_scrub_schema.c, which calls in here; nothing here calls
 * out.
 */
#include "inspect/li_scrub.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "inspect/li_buf.h"
#include "inspect/li_scrub_int.h"
#include "inspect/li_text.h"

/* clang-format off */
static const char *const kind_names[LI_SCRUB_KINDS] = {
    "words", "numbers", "roots", "directories", "files", "hosts", "addresses", "env_values",
    "secrets",
};
/* clang-format on */

const char *li_scrub_kind_name(enum li_scrub_kind k)
{
    return k < LI_SCRUB_KINDS ? kind_names[k] : "?";
}

/* Go's keywords, predeclared names and the standard packages most code
 * imports: kept everywhere, since they say nothing about whose code it is
 * and keep scrubbed code readable. */
/* clang-format off */
static const char *const go_words[] = {
    "break", "case", "chan", "const", "continue", "default", "defer", "else", "fallthrough", "for",
    "func", "go", "goto", "if", "import", "interface", "map", "package", "range", "return",
    "select", "struct", "switch", "type", "var", "bool", "byte", "complex64", "complex128", "error",
    "float32", "float64", "int", "int8", "int16", "int32", "int64", "rune", "string", "uint",
    "uint8", "uint16", "uint32", "uint64", "uintptr", "any", "comparable", "true", "false", "iota",
    "nil", "append", "cap", "clear", "close", "complex", "copy", "delete", "imag", "len", "make",
    "max", "min", "new", "panic", "print", "println", "real", "recover", "main", "init", "_",
    "Error", "String", "fmt", "os", "io", "strings", "strconv", "errors", "context", "time", "sync",
    "bytes", "bufio", "sort", "math", "http", "net", "json", "log", "testing", "filepath", "path",
    "reflect", "unsafe", "runtime", "atomic", "regexp", "flag", "exec", "Println", "Printf",
    "Sprintf", "Errorf", "Fprintf", "Sprint", "Print", "Fprintln", "Context", "Background", "New",
    "T", "B", "Run", "Fatal", "Fatalf",
};
/* clang-format on */

/* Words kept in free-text messages (log lines, errors, progress, lsptap's
 * own events), compared without regard to case: enough of English and of
 * gopls's, go's and Delve's vocabulary that their messages stay readable. */
/* clang-format off */
static const char *const common_words[] = {
    "a", "about", "above", "access", "action", "active", "add", "added", "adding", "address",
    "after", "again", "all", "already", "also", "amd64", "an", "analysis", "and", "another",
    "answer", "api", "are", "arg", "args", "argument", "arguments", "arm64", "as", "at", "attach",
    "attempt", "attempts", "available", "bad", "be", "because", "been", "before", "begin", "being",
    "bin", "binary", "breakpoint", "broken", "build", "builtin", "but", "by", "cache", "call",
    "called", "can", "cancel", "canceled", "cancelled", "cannot", "cause", "changed", "changes",
    "check", "checking", "cgo", "client", "closed", "code", "column", "com", "command", "compile",
    "compiler", "completed", "config", "configuration", "connect", "connection", "could", "count",
    "create", "created", "current", "darwin", "data", "deadline", "debug", "debugger", "declared",
    "definition", "deprecated", "detected", "dev", "diagnostics", "did", "direct", "directory",
    "disabled", "dlv", "dns", "do", "does", "done", "down", "during", "each", "edit", "empty",
    "enabled", "end", "ended", "entry", "env", "environment", "equal", "event", "exceeded",
    "exception", "exist", "exists", "exit", "exited", "expected", "failed", "failure", "fetching",
    "field", "file", "files", "finished", "first", "flags", "found", "from", "function", "gc",
    "get", "github", "given", "golang", "gopath", "gopls", "goproxy", "goroot", "gosum", "gowork",
    "had", "handshake", "has", "have", "host", "how", "http", "https", "id", "in", "info",
    "initialize", "initialized", "install", "instead", "internal", "into", "invalid", "is", "it",
    "its", "known", "last", "launch", "layer", "line", "linux", "list", "listen", "listening",
    "listens", "load", "loaded", "loading", "local", "localhost", "lsp", "lsptap", "memory",
    "message", "metadata", "method", "missing", "mod", "mode", "module", "modules", "more", "ms",
    "must", "name", "need", "needs", "network", "no", "nodejs", "normal", "not", "nothing", "now",
    "of", "off", "ok", "on", "one", "only", "open", "opened", "or", "org", "other", "out", "output",
    "over", "packages", "panic", "parse", "path", "pause", "pending", "pkg", "port", "position",
    "process", "program", "proxy", "query", "read", "reading", "ready", "reason", "received",
    "refused", "reload", "remote", "replaced", "reply", "request", "requests", "require",
    "required", "reset", "response", "restart", "restarted", "result", "returned", "returns",
    "root", "route", "running", "same", "second", "seconds", "see", "sent", "server", "session",
    "set", "setting", "settings", "setting", "setup", "should", "shutdown", "signal", "since",
    "skipped", "snapshot", "so", "source", "src", "start", "started", "starting", "state", "status",
    "step", "still", "stopped", "sum", "supervision", "supported", "symbol", "syntax", "system",
    "tcp", "test", "tests", "than", "that", "the", "then", "there", "this", "thread", "timeout",
    "timed", "tls", "to", "tool", "tools", "too", "type", "unable", "undefined", "unknown",
    "unused", "up", "update", "updating", "use", "used", "uses", "using", "valid", "value",
    "version", "view", "views", "want", "warning", "was", "watch", "were", "what", "when", "where",
    "which", "while", "why", "windows", "with", "without", "workspace", "would", "write", "wrong",
    "x", "yet", "you", "your", "goos", "goarch", "gomodcache", "gocache", "goflags", "goprivate",
    "gonosumdb", "gonoproxy", "gosumdb", "goinsecure", "goenv", "gotoolchain", "go111module",
    "cgo_enabled", "goversion", "gomod", "gobin", "goexperiment", "home", "tmp", "usr", "lib",
    "editor", "exited", "killed", "gone", "ending", "status", "verdict", "summary", "syn", "rst",
    "icmp", "ack", "echo", "raw", "socket", "reply", "resolved", "resolve", "nxdomain", "carrier",
    "loopback", "mtu", "unreachable", "filtered", "probe", "probed", "closes", "silent", "speaks",
    "verify", "verified", "certificate", "expired", "self", "signed", "hostname", "mismatch",
    "problem", "problems", "repair", "repaired", "repairs", "sanitized", "setting", "console",
    "stdout", "stderr", "stdin", "progress", "report", "reports", "lines", "bytes", "messages",
    "error", "errors", "warn", "fail", "fails", "skip", "yes", "true", "false", "null",
    "rename", "extract", "references", "implementation", "format", "organize", "imports",
    "import", "fix", "fill", "find", "symbol", "inline", "hover", "completion", "symbols", "logfile", "stdio",
    "serve", "rpc", "trace", "verbose", "cancelled", "context", "canceled", "deadline",
    "race", "tags", "vendor", "readonly", "trimpath", "ldflags", "gcflags", "modcacherw",
    "buildvcs", "cover", "json", "insecure",
};
/* clang-format on */

/* Path names kept as they are: they say where the Go tooling keeps things,
 * not whose machine it is. */
/* clang-format off */
static const char *const path_names[] = {
    "usr", "local", "lib", "bin", "sbin", "go", "src", "pkg", "mod", "tmp", "home", "opt", "var",
    "etc", "vendor", "internal", "cmd", "testdata", "go.mod", "go.sum", "go.work", "go.work.sum",
    "main.go", "doc.go", "gopls", "dlv", "lsptap", "cache", ".cache", "go-build", "sdk", "proc",
    "dev", "null", "share", "state", ".local", ".config", "sessions",
};
/* clang-format on */

/* ---- setup ------------------------------------------------------------------ */

static json_t *word_set(const char *const *v, size_t n, int lower)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < n; i++) {
        char w[64];
        size_t k = 0;
        for (; k < sizeof w - 1 && v[i][k]; k++)
            w[k] = lower ? (char)tolower((unsigned char)v[i][k]) : v[i][k];
        w[k] = '\0';
        if (json_object_set_new(o, w, json_true())) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

struct li_scrub *li_scrub_new(li_scrub_secret_fn is_secret_name)
{
    struct li_scrub *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->is_secret = is_secret_name;
    int ok = 1;
    for (int k = 0; k < LI_SCRUB_KINDS; k++)
        ok &= (s->map[k] = json_object()) != NULL;
    s->roots = json_array();
    s->sensitive = json_object();
    s->common = word_set(common_words, LI_SCRUB_COUNT(common_words), 1);
    s->keywords = word_set(go_words, LI_SCRUB_COUNT(go_words), 0);
    if (!ok || !s->roots || !s->sensitive || !s->common || !s->keywords) {
        li_scrub_free(s);
        return NULL;
    }
    return s;
}

void li_scrub_free(struct li_scrub *s)
{
    if (!s) return;
    for (int k = 0; k < LI_SCRUB_KINDS; k++)
        json_decref(s->map[k]);
    json_decref(s->roots);
    json_decref(s->sensitive);
    json_decref(s->common);
    json_decref(s->keywords);
    free(s);
}

int li_scrub_add_root(struct li_scrub *s, const char *path)
{
    if (!path || path[0] != '/') return -EINVAL;
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/')
        n--;
    if (n <= 1) return -EINVAL;
    size_t i;
    json_t *r;
    json_array_foreach(s->roots, i, r)
    {
        if (json_string_length(r) == n && memcmp(json_string_value(r), path, n) == 0) return 0;
    }
    return json_array_append_new(s->roots, json_stringn(path, n)) ? -ENOMEM : 0;
}

int li_scrub_add_sensitive(struct li_scrub *s, const char *word)
{
    char w[256];
    size_t k = 0;
    for (; k < sizeof w - 1 && word[k]; k++)
        w[k] = (char)tolower((unsigned char)word[k]);
    w[k] = '\0';
    if (!k) return -EINVAL;
    return json_object_set_new(s->sensitive, w, json_true()) ? -ENOMEM : 0;
}

/* ---- the maps ---------------------------------------------------------------- */

/* Writes into buf (size cap) the placeholder number n of kind k for orig. */
typedef void (*make_fn)(const char *orig, size_t len, size_t n, char *buf, size_t cap);

/* The placeholder of orig[0..len) in map k, made by mk when orig is new.
 * An original jansson cannot hold as a key (invalid UTF-8 after
 * percent-decoding) gets a fresh placeholder each time. */
static void put_mapped(struct li_scrub *s, struct li_buf *o, enum li_scrub_kind k, const char *orig,
                       size_t len, make_fn mk)
{
    assert(k < LI_SCRUB_KINDS);
    s->occ[k]++;
    json_t *v = json_object_getn(s->map[k], orig, len);
    if (v) {
        li_buf_put(o, json_string_value(v), json_string_length(v));
        return;
    }
    char buf[512];
    size_t n = ++s->made[k];
    mk(orig, len, n, buf, sizeof buf);
    /* A key jansson refuses leaves the map as it was: the next occurrence
     * gets a fresh placeholder, which hides as much. */
    json_object_setn_new(s->map[k], orig, len, json_string(buf));
    li_buf_str(o, buf);
}

/* Counts a value replaced as a whole (an environment value). */
void li_scrub_count_value(struct li_scrub *s, enum li_scrub_kind k, const char *v, size_t n)
{
    s->occ[k]++;
    if (!json_object_getn(s->map[k], v, n) &&
        json_object_setn_new(s->map[k], v, n, json_true()) == 0)
        s->made[k]++;
}

/* Length of s[0..n) in UTF-16 code units: what LSP columns count. */
static size_t u16len(const char *s, size_t n)
{
    size_t u = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c & 0xC0) == 0x80) continue;
        u += c >= 0xF0 ? 2 : 1;
    }
    return u;
}

/* Digits of n, zero-padded to width w, keeping the last w when longer. */
static void padded(size_t n, size_t w, char *buf)
{
    char d[32];
    int k = snprintf(d, sizeof d, "%zu", n);
    size_t dl = (size_t)k;
    for (size_t i = 0; i < w; i++)
        buf[i] = i + dl < w ? '0' : d[dl - (w - i)];
    buf[w] = '\0';
}

/* v000000007: same UTF-16 length as the word; a leading capital (Go's
 * exported) or '_' is kept as such. */
static void make_word(const char *orig, size_t len, size_t n, char *buf, size_t cap)
{
    assert(cap > 1); /* one letter and the NUL at least */
    size_t w = u16len(orig, len);
    if (w >= cap) w = cap - 1;
    if (w == 0) w = 1;
    char c = orig[0];
    buf[0] = (c >= 'A' && c <= 'Z') ? 'V' : (c == '_' && w > 1 ? '_' : 'v');
    padded(n, w - 1, buf + 1);
}

static void make_number(const char *orig, size_t len, size_t n, char *buf, size_t cap)
{
    size_t w = u16len(orig, len);
    if (w >= cap) w = cap - 1;
    padded(n, w, buf);
    if (buf[0] == '0' && w > 1) buf[0] = '9'; /* no leading zero: still reads as a number */
}

static void make_dir(const char *orig, size_t len, size_t n, char *buf, size_t cap)
{
    (void)orig, (void)len;
    snprintf(buf, cap, "dir%zu", n);
}

/* The extension of a file name: the part after its last '.', when that is
 * 1 to 8 letters or digits and the name does not start there. */
static size_t ext_of(const char *s, size_t n)
{
    for (size_t i = n; i-- > 1;) {
        if (s[i] != '.') {
            if (!isalnum((unsigned char)s[i])) return 0;
            continue;
        }
        size_t e = n - i - 1;
        return e >= 1 && e <= 8 ? n - i : 0;
    }
    return 0;
}

static void make_file(const char *orig, size_t len, size_t n, char *buf, size_t cap)
{
    size_t e = ext_of(orig, len);
    snprintf(buf, cap, "file%zu%.*s", n, (int)e, orig + len - e);
}

static void make_host(const char *orig, size_t len, size_t n, char *buf, size_t cap)
{
    (void)orig, (void)len;
    snprintf(buf, cap, "host%zu", n);
}

static void make_addr(const char *orig, size_t len, size_t n, char *buf, size_t cap)
{
    (void)orig, (void)len;
    snprintf(buf, cap, "192.0.2.%zu", (n - 1) % 254 + 1);
}

static void make_secret(const char *orig, size_t len, size_t n, char *buf, size_t cap)
{
    (void)orig, (void)len, (void)n;
    snprintf(buf, cap, "<secret>");
}

void li_scrub_put_secret(struct li_scrub *s, struct li_buf *o, const char *p, size_t n)
{
    put_mapped(s, o, LI_SCRUB_SECRET, p, n, make_secret);
}

/* ---- words ------------------------------------------------------------------- */

static int word_char(unsigned char c)
{
    return isalnum(c) || c == '_' || c >= 0x80;
}

static int in_set(const json_t *set, const char *w, size_t n, int lower)
{
    char buf[64];
    if (n >= sizeof buf) return 0;
    for (size_t i = 0; i < n; i++)
        buf[i] = lower ? (char)tolower((unsigned char)w[i]) : w[i];
    buf[n] = '\0';
    return json_object_get(set, buf) != NULL;
}

/* go1, go1.21's "go1", v0, v12: versions, kept in free text. */
static int version_word(const char *w, size_t n)
{
    size_t p = (n > 2 && w[0] == 'g' && w[1] == 'o') ? 2 : (n > 1 && w[0] == 'v') ? 1 : 0;
    if (!p) return 0;
    for (size_t i = p; i < n; i++)
        if (!isdigit((unsigned char)w[i])) return 0;
    return 1;
}

static void put_word(struct li_scrub *s, struct li_buf *o, const char *w, size_t n, int flags)
{
    if (isdigit((unsigned char)w[0])) {
        if (n <= 6)
            li_buf_put(o, w, n);
        else
            put_mapped(s, o, LI_SCRUB_NUMBER, w, n, make_number);
        return;
    }
    if (in_set(s->keywords, w, n, 0) && !in_set(s->sensitive, w, n, 1)) {
        li_buf_put(o, w, n);
        return;
    }
    if ((flags & LI_SCRUB_T_KEEP_WORDS) && (in_set(s->common, w, n, 1) || version_word(w, n)) &&
        !in_set(s->sensitive, w, n, 1)) {
        li_buf_put(o, w, n);
        return;
    }
    put_mapped(s, o, LI_SCRUB_WORD, w, n, make_word);
}

/* ---- paths and URIs ---------------------------------------------------------- */

static int path_char(unsigned char c)
{
    return word_char(c) || (c && strchr("._-~@+%", c));
}

static int kept_name(const char *c, size_t n)
{
    if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.') ||
        (n == 1 && c[0] == '~'))
        return 1;
    for (size_t i = 0; i < LI_SCRUB_COUNT(path_names); i++)
        if (strlen(path_names[i]) == n && memcmp(path_names[i], c, n) == 0) return 1;
    return 0;
}

void li_scrub_put_name(struct li_scrub *s, struct li_buf *o, const char *c, size_t n, int last)
{
    if (kept_name(c, n))
        li_buf_put(o, c, n);
    else if (last && ext_of(c, n))
        put_mapped(s, o, LI_SCRUB_FILE, c, n, make_file);
    else
        put_mapped(s, o, LI_SCRUB_DIR, c, n, make_dir);
}

/* A path: a root it starts with becomes <root>, then name by name. */
static void put_path(struct li_scrub *s, struct li_buf *o, const char *p, size_t n)
{
    size_t best = 0, bi = 0, i;
    json_t *r;
    json_array_foreach(s->roots, i, r)
    {
        size_t rl = json_string_length(r);
        if (rl > best && rl <= n && memcmp(p, json_string_value(r), rl) == 0 &&
            (rl == n || p[rl] == '/')) {
            best = rl;
            bi = i;
        }
    }
    size_t at = 0;
    if (best) {
        char ph[32];
        snprintf(ph, sizeof ph, bi ? "/<root%zu>" : "/<root>", bi + 1);
        li_buf_str(o, ph);
        s->occ[LI_SCRUB_ROOT]++;
        at = best;
    }
    while (at < n) {
        if (p[at] == '/') {
            li_buf_ch(o, '/');
            at++;
            continue;
        }
        size_t e = at;
        while (e < n && p[e] != '/')
            e++;
        li_scrub_put_name(s, o, p + at, e - at, e == n);
        at = e;
    }
}

/* file://[authority]/path[?query][#fragment]: the path is percent-decoded,
 * scrubbed as a path (so it matches the same path written plainly), and
 * written back; placeholders need no escaping. */
static void put_file_uri(struct li_scrub *s, struct li_buf *o, const char *p, size_t n)
{
    assert(n >= 7 && li_scrub_starts_ci(p, n, "file://")); /* the caller found the scheme */
    li_buf_put(o, p, 7);
    size_t at = 7, a = at;
    while (a < n && p[a] != '/')
        a++;
    if (a > at) {
        if (a - at == 9 && memcmp(p + at, "localhost", 9) == 0)
            li_buf_put(o, p + at, 9);
        else
            put_mapped(s, o, LI_SCRUB_HOST, p + at, a - at, make_host);
    }
    size_t e = a;
    while (e < n && p[e] != '?' && p[e] != '#')
        e++;
    struct li_buf dec = {0};
    for (size_t i = a; i < e; i++) {
        int h, l;
        if (p[i] == '%' && i + 2 < e && (h = li_hexval((unsigned char)p[i + 1])) >= 0 &&
            (l = li_hexval((unsigned char)p[i + 2])) >= 0) {
            li_buf_ch(&dec, (char)(h * 16 + l));
            i += 2;
        } else {
            li_buf_ch(&dec, p[i]);
        }
    }
    struct li_buf path = {0};
    if (dec.len) put_path(s, &path, dec.p, dec.len);
    for (size_t i = 0; i < path.len; i++) {
        unsigned char c = (unsigned char)path.p[i];
        if (isalnum(c) || strchr("/._-~<>", c)) {
            li_buf_ch(o, (char)c);
        } else {
            char esc[4];
            snprintf(esc, sizeof esc, "%%%02X", c);
            li_buf_str(o, esc);
        }
    }
    if (dec.oom || path.oom) o->oom = 1;
    free(dec.p);
    free(path.p);
    if (e < n) li_scrub_put_text(s, o, p + e, n - e, 0);
}

/* An IPv4 address at p (four dot-separated numbers up to 255, not followed
 * by more of an address or a word): its length, else 0. */
static size_t ipv4_at(const char *p, size_t n)
{
    size_t i = 0;
    for (int part = 0; part < 4; part++) {
        if (part) {
            if (i >= n || p[i] != '.') return 0;
            i++;
        }
        size_t d = 0;
        unsigned v = 0;
        while (i < n && isdigit((unsigned char)p[i]) && d < 4)
            v = v * 10 + (unsigned)(p[i++] - '0'), d++;
        if (d == 0 || d > 3 || v > 255) return 0;
    }
    if (i < n && (word_char((unsigned char)p[i]) ||
                  (p[i] == '.' && i + 1 < n && isdigit((unsigned char)p[i + 1]))))
        return 0;
    return i;
}

static int ipv4_kept(const char *p, size_t n)
{
    return (n >= 4 && memcmp(p, "127.", 4) == 0) || (n == 7 && memcmp(p, "0.0.0.0", 7) == 0);
}

/* May a path or an address start after byte c? Not inside a word, a file
 * name, a URL's "//" or another path. */
static int boundary(const char *p, size_t i)
{
    if (i == 0) return 1;
    unsigned char c = (unsigned char)p[i - 1];
    return !word_char(c) && !strchr("./\\-~%@+$", c);
}

int li_scrub_starts_ci(const char *p, size_t n, const char *lit)
{
    size_t k = strlen(lit);
    if (n < k) return 0;
    for (size_t i = 0; i < k; i++)
        if (tolower((unsigned char)p[i]) != lit[i]) return 0;
    return 1;
}

/* The end of a URI or path starting at p[0]: where a byte that cannot be
 * part of one is. */
static size_t token_end(const char *p, size_t n, size_t from)
{
    size_t e = from;
    while (e < n && (path_char((unsigned char)p[e]) || p[e] == '/' || p[e] == '?' || p[e] == '#' ||
                     p[e] == '=' || p[e] == '&'))
        e++;
    /* A sentence's full stop is not part of the name before it. */
    while (e > from && (p[e - 1] == '.' || p[e - 1] == '?' || p[e - 1] == '#'))
        e--;
    return e;
}

void li_scrub_put_text(struct li_scrub *s, struct li_buf *o, const char *p, size_t n, int flags)
{
    size_t i = 0;
    while (i < n && !o->oom) {
        unsigned char c = (unsigned char)p[i];
        if ((flags & LI_SCRUB_T_PATHS) && boundary(p, i)) {
            if (li_scrub_starts_ci(p + i, n - i, "file://")) {
                size_t e = token_end(p + i, n - i, 7);
                put_file_uri(s, o, p + i, e);
                i += e;
                continue;
            }
            if ((c == '/' && i + 1 < n && path_char((unsigned char)p[i + 1])) ||
                (c == '~' && i + 1 < n && p[i + 1] == '/')) {
                size_t e = i + 1;
                while (e < n && (path_char((unsigned char)p[e]) || p[e] == '/'))
                    e++;
                while (e > i + 1 && p[e - 1] == '.')
                    e--;
                put_path(s, o, p + i, e - i);
                i = e;
                continue;
            }
            size_t a = isdigit(c) ? ipv4_at(p + i, n - i) : 0;
            if (a && !ipv4_kept(p + i, a)) {
                put_mapped(s, o, LI_SCRUB_ADDR, p + i, a, make_addr);
                i += a;
                continue;
            }
            if (a) {
                li_buf_put(o, p + i, a);
                i += a;
                continue;
            }
        }
        if ((flags & LI_SCRUB_T_PATHS) && c == ':' && i + 2 < n && p[i + 1] == '/' &&
            p[i + 2] == '/') {
            /* scheme://user:password@host: the credentials go whole. */
            size_t e = i + 3;
            while (e < n && p[e] != '@' && p[e] != '/' && !isspace((unsigned char)p[e]) &&
                   p[e] != '"')
                e++;
            if (e < n && p[e] == '@' && e > i + 3) {
                li_buf_str(o, "://");
                put_mapped(s, o, LI_SCRUB_SECRET, p + i + 3, e - i - 3, make_secret);
                li_buf_ch(o, '@');
                i = e + 1;
                continue;
            }
        }
        if (word_char(c)) {
            size_t e = i;
            while (e < n && word_char((unsigned char)p[e]))
                e++;
            put_word(s, o, p + i, e - i, flags);
            i = e;
            continue;
        }
        li_buf_ch(o, (char)c);
        i++;
    }
}

char *li_scrub_text(struct li_scrub *s, const char *text, size_t len)
{
    struct li_buf o = {0};
    li_buf_put(&o, "", 0);
    li_scrub_put_text(s, &o, text, len, LI_SCRUB_T_KEEP_WORDS | LI_SCRUB_T_PATHS);
    if (o.oom) {
        free(o.p);
        return NULL;
    }
    return o.p;
}

json_t *li_scrub_counts(const struct li_scrub *s)
{
    json_t *o = json_object();
    for (int k = 0; o && k < LI_SCRUB_KINDS; k++) {
        size_t distinct = k == LI_SCRUB_ROOT ? json_array_size(s->roots) : s->made[k];
        if (json_object_set_new(o, kind_names[k],
                                json_pack("{s:I,s:I}", "distinct", (json_int_t)distinct,
                                          "occurrences", (json_int_t)s->occ[k]))) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}
