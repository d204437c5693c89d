#include "env/lp_env.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "env/lp_find.h"
#include "env/lp_run.h"
#include "inspect/li_redact.h"

/* ---- environment arrays ------------------------------------------------ */

struct env {
    char **v; /* NULL-terminated */
    size_t n, cap;
};

const char *lp_env_get(char *const envp[], const char *name)
{
    size_t nl = strlen(name);
    for (char *const *e = envp; e && *e; e++)
        if (!strncmp(*e, name, nl) && (*e)[nl] == '=') return *e + nl + 1;
    return NULL;
}

static int env_init(struct env *e, char *const envp[])
{
    memset(e, 0, sizeof *e);
    size_t n = 0;
    while (envp && envp[n])
        n++;
    e->cap = n + 16;
    e->v = calloc(e->cap, sizeof *e->v);
    if (!e->v) return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (!strchr(envp[i], '=')) continue;
        if (!(e->v[e->n] = strdup(envp[i]))) return -ENOMEM;
        e->n++;
    }
    return 0;
}

static void env_free(struct env *e)
{
    for (size_t i = 0; i < e->n; i++)
        free(e->v[i]);
    free(e->v);
    memset(e, 0, sizeof *e);
}

static void env_unset(struct env *e, const char *name)
{
    size_t nl = strlen(name);
    assert(e->v[e->n] == NULL); /* NULL-terminated: what the loop below relies on */
    /* v[n] is NULL: walking to it is walking to n (and the analyzer can
     * follow that, where it loses n across the rules' calls). */
    for (size_t i = 0; e->v[i];) {
        if (strncmp(e->v[i], name, nl) || e->v[i][nl] != '=') {
            i++;
            continue;
        }
        free(e->v[i]);
        /* the NULL terminator moves down too */
        memmove(&e->v[i], &e->v[i + 1], (e->n - i) * sizeof *e->v);
        e->n--;
    }
}

static int env_set(struct env *e, const char *name, const char *value)
{
    env_unset(e, name);
    if (e->n + 2 > e->cap) {
        char **nv = realloc(e->v, (e->cap * 2) * sizeof *nv);
        if (!nv) return -ENOMEM;
        e->v = nv;
        e->cap *= 2;
    }
    size_t len = strlen(name) + strlen(value) + 2;
    char *s = malloc(len);
    if (!s) return -ENOMEM;
    snprintf(s, len, "%s=%s", name, value);
    e->v[e->n++] = s;
    e->v[e->n] = NULL;
    assert(e->n < e->cap);
    return 0;
}

static const char *env_get(const struct env *e, const char *name)
{
    return lp_env_get(e->v, name);
}

/* ---- the rule context -------------------------------------------------- */

struct ctx {
    struct env env; /* the candidate: the input with the fixes so far */
    struct lp_env_report *r;
    const char *ws; /* workspace directory */
    int go_ms;
    json_t *goenv; /* `go env -json` under the candidate, or NULL */
    int oom;
};

static struct lp_env_problem *problem(struct ctx *c, const char *check, const char *var,
                                      enum lp_env_severity sev)
{
    struct lp_env_report *r = c->r;
    struct lp_env_problem *p = realloc(r->problems, (r->n_problems + 1) * sizeof *p);
    if (!p) {
        c->oom = 1;
        return NULL;
    }
    r->problems = p;
    p += r->n_problems++;
    memset(p, 0, sizeof *p);
    p->check = check;
    p->variable = var;
    p->severity = sev;
    return p;
}

/* Copies with truncation, without tripping -Wformat-truncation. */
static void copy(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void say(char *dst, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst, cap, fmt, ap);
    va_end(ap);
}

/* Records the fix in the problem and applies it to the candidate. */
static void apply(struct ctx *c, struct lp_env_problem *p, enum lp_env_action a, const char *value)
{
    if (!p) return;
    assert(a != LP_ENV_SET || value); /* a set needs its value */
    assert(p->action == LP_ENV_KEEP); /* a problem is fixed once */
    p->action = a;
    if (a == LP_ENV_UNSET) env_unset(&c->env, p->variable);
    if (a != LP_ENV_SET) return;
    if (!(p->value = strdup(value)) || env_set(&c->env, p->variable, value)) c->oom = 1;
}

/* The printable form of one variable's value. */
static const char *shown(const char *var, const char *value, char *buf, size_t cap)
{
    li_redact_value(var, value, NULL, buf, cap);
    return buf;
}

/* ---- running go -------------------------------------------------------- */

static int run_go(struct ctx *c, char *const envp[], struct lp_run_result *res, const char *a1,
                  const char *a2, const char *a3, const char *a4, const char *a5)
{
    char *argv[] = {c->r->go, (char *)a1, (char *)a2, (char *)a3, (char *)a4, (char *)a5, NULL};
    return lp_run(argv, envp, c->ws, c->go_ms, res);
}

/* The oracle: a build command that parses $GOFLAGS, GOWORK, GOPATH,
 * GO111MODULE and GOROOT, and needs neither network nor a module. Returns 1
 * when go accepted envp; *why gets go's first stderr line (malloc'ed). */
static int go_accepts(struct ctx *c, char *const envp[], char **why)
{
    struct lp_run_result res;
    if (why) *why = NULL;
    if (run_go(c, envp, &res, "list", "-e", "-f", "{{if .Error}}{{.Error}}{{else}}{{.Name}}{{end}}",
               "unsafe") == -ENOMEM) {
        c->oom = 1;
        return 1;
    }
    /* -e: a package go cannot find is an answer, not a failure; a GOROOT
     * without the standard library shows up only in that answer. */
    int ran = lp_run_ok(&res);
    int ok = ran && !strcmp(res.out, "unsafe\n");
    if (!ok && why) {
        const char *e = res.timed_out ? "go list timed out" : ran ? res.out : res.err;
        *why = strndup(e, strcspn(e, "\n"));
        if (!**why && !res.timed_out) {
            free(*why);
            *why = strdup("go list failed with no message");
        }
    }
    lp_run_free(&res);
    return ok;
}

/* `go env -json` under the candidate (go env does not judge GOFLAGS). */
static void load_goenv(struct ctx *c)
{
    json_decref(c->goenv);
    c->goenv = NULL;
    if (!*c->r->go) return;
    struct lp_run_result res;
    if (run_go(c, c->env.v, &res, "env", "-json", NULL, NULL, NULL)) return;
    if (lp_run_ok(&res)) c->goenv = json_loads(res.out, 0, NULL);
    lp_run_free(&res);
}

static const char *goenv_str(struct ctx *c, const char *key)
{
    const char *v = json_string_value(json_object_get(c->goenv, key));
    return v ? v : "";
}

/* The value go uses: the environment's, else the go env file's (GOENV). */
static const char *effective(struct ctx *c, const char *name, int *from_file)
{
    const char *v = env_get(&c->env, name);
    *from_file = 0;
    if (v && *v) return v;
    const char *f = goenv_str(c, name);
    *from_file = *f != '\0';
    return f;
}

/* ---- files and directories -------------------------------------------- */

static int is_exe(const char *path)
{
    struct stat st;
    return !stat(path, &st) && S_ISREG(st.st_mode) && !access(path, X_OK);
}

static int is_dir(const char *path)
{
    struct stat st;
    return !stat(path, &st) && S_ISDIR(st.st_mode);
}

static int is_file(const char *path)
{
    struct stat st;
    return !stat(path, &st) && !S_ISDIR(st.st_mode);
}

/* 1 when go could create and write files under path: the path, or its
 * nearest existing ancestor, is a directory in which a file can really be
 * made (access() says yes to root even on /proc). */
static int writable(const char *path)
{
    char p[4096];
    if (path[0] != '/') return 0;
    snprintf(p, sizeof p, "%s", path);
    for (;;) {
        struct stat st;
        if (!stat(p, &st)) {
            if (!S_ISDIR(st.st_mode)) return 0;
            break;
        }
        if (errno != ENOENT) return 0;
        char *slash = strrchr(p, '/');
        if (!slash || slash == p) {
            snprintf(p, sizeof p, "/");
            break;
        }
        *slash = '\0';
    }
    int fd = open(p, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
    if (fd >= 0) {
        close(fd);
        return 1;
    }
    if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) return 0;
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s/.lsptap-probe-XXXXXX", strcmp(p, "/") ? p : "");
    fd = mkstemp(tmp);
    if (fd < 0) return 0;
    close(fd);
    unlink(tmp);
    return 1;
}

/* Looks for file `name` upward from dir. */
static int found_upward(const char *dir, const char *name, char *out, size_t cap)
{
    char d[4096];
    if (!realpath(dir, d)) snprintf(d, sizeof d, "%s", dir);
    for (;;) {
        int n = snprintf(out, cap, "%s/%s", strcmp(d, "/") ? d : "", name);
        if (n > 0 && (size_t)n < cap && is_file(out)) return 1;
        char *slash = strrchr(d, '/');
        if (!slash || !strcmp(d, "/")) return 0;
        if (slash == d)
            d[1] = '\0';
        else
            *slash = '\0';
    }
}

static const char *home_of(char *const envp[])
{
    const char *h = lp_env_get(envp, "HOME");
    if (h && *h) return h;
    struct passwd *pw = getpwuid(getuid());
    return pw ? pw->pw_dir : NULL;
}

/* ---- finding go -------------------------------------------------------- */

/* First dir of a PATH-style list holding an executable `go`. */
static int go_on(const char *path, char *out, size_t cap)
{
    if (!path) return 0;
    const char *p = path;
    while (*p) {
        size_t n = strcspn(p, ":");
        if (n > 0 && p[0] == '/') {
            snprintf(out, cap, "%.*s/go", (int)n, p);
            if (is_exe(out)) return 1;
        }
        p += n;
        if (*p) p++;
    }
    return 0;
}

static void rule_go_on_path(struct ctx *c, const struct lp_env_opts *o)
{
    struct lp_env_report *r = c->r;
    const char *path = env_get(&c->env, "PATH");
    if (go_on(path, r->go, sizeof r->go)) {
        snprintf(r->go_from, sizeof r->go_from, "PATH");
        return;
    }
    r->go[0] = '\0';
    char dir[4096] = "";
    /* A valid GOROOT is the go the user meant. */
    const char *goroot = env_get(&c->env, "GOROOT");
    char cand[4200];
    if (goroot && *goroot) {
        snprintf(cand, sizeof cand, "%s/bin/go", goroot);
        if (is_exe(cand)) {
            copy(r->go, sizeof r->go, cand);
            copy(r->go_from, sizeof r->go_from, "GOROOT/bin");
        }
    }
    if (!*r->go && (o->login_path || o->login_shell)) {
        if (!r->login_path && o->login_path) r->login_path = strdup(o->login_path);
        if (!r->login_path) {
            char err[256];
            r->login_path = lp_find_login_path(c->env.v, o->shell_timeout_ms, err, sizeof err);
        }
        if (r->login_path && go_on(r->login_path, r->go, sizeof r->go))
            snprintf(r->go_from, sizeof r->go_from, "the login shell's PATH");
        else
            r->go[0] = '\0';
    }
    if (!*r->go) {
        char *dirs[64];
        size_t n = o->go_dirs ? 0 : lp_find_go_dirs(home_of(c->env.v), dirs, 64);
        const char *const *list = o->go_dirs ? o->go_dirs : (const char *const *)dirs;
        if (o->go_dirs)
            while (list[n])
                n++;
        for (size_t i = 0; i < n && !*r->go; i++) {
            snprintf(cand, sizeof cand, "%s/go", list[i]);
            if (is_exe(cand)) {
                copy(r->go, sizeof r->go, cand);
                copy(r->go_from, sizeof r->go_from, list[i]);
            }
        }
        if (!o->go_dirs)
            for (size_t i = 0; i < n; i++)
                free(dirs[i]);
    }
    struct lp_env_problem *p = problem(c, "go-not-on-path", "PATH", LP_ENV_ERROR);
    if (!p) return;
    if (!*r->go) {
        say(p->message, sizeof p->message,
            "go is not on PATH, nor in the login shell's PATH or the usual places; gopls "
            "needs it to load any package.");
        say(p->fix, sizeof p->fix,
            "Install Go (https://go.dev/dl/) and put its bin directory on PATH, or set "
            "go.toolsEnvVars {\"PATH\": ...} in VS Code.");
        return;
    }
    snprintf(dir, sizeof dir, "%.*s", (int)(strrchr(r->go, '/') - r->go), r->go);
    char where[4400];
    if (strcmp(r->go_from, dir))
        say(where, sizeof where, "found in %s, through %s", dir, r->go_from);
    else
        say(where, sizeof where, "found in %s", dir);
    say(p->message, sizeof p->message,
        "go is not on PATH (%s); gopls runs `go` to load packages and fails without it. An "
        "editor started from the desktop does not read ~/.profile.",
        where);
    say(p->fix, sizeof p->fix,
        "Prepend %s to PATH (start VS Code from a login shell, or add it to PATH in "
        "go.toolsEnvVars).",
        dir);
    size_t len = strlen(dir) + (path ? strlen(path) : 0) + 2;
    char *np = malloc(len);
    if (!np) {
        c->oom = 1;
        return;
    }
    snprintf(np, len, "%s%s%s", dir, path && *path ? ":" : "", path ? path : "");
    apply(c, p, LP_ENV_SET, np);
    free(np);
}

/* A sound GOROOT of another installation than the go that runs: that go
 * compiles against another version's standard library ("compile: version
 * go1.21 does not match go tool version go1.19"), and gopls type-checks
 * against an API that is not the one the build uses. */
static void rule_goroot_other_go(struct ctx *c, const char *goroot, const char *bin)
{
    char a[4096], b[4096], v[1024];
    if (!*c->r->go || !realpath(bin, a) || !realpath(c->r->go, b) || !strcmp(a, b)) return;
    struct lp_env_problem *p = problem(c, "goroot", "GOROOT", LP_ENV_WARNING);
    if (!p) return;
    say(p->message, sizeof p->message,
        "GOROOT=%s is another Go installation than the go that runs (%s): builds mix two "
        "versions' standard libraries and tools.",
        shown("GOROOT", goroot, v, sizeof v), c->r->go);
    say(p->fix, sizeof p->fix, "Unset GOROOT (go finds its own), or put %s/bin first on PATH.", v);
    apply(c, p, LP_ENV_UNSET, NULL);
}

static void rule_goroot(struct ctx *c)
{
    const char *goroot = env_get(&c->env, "GOROOT");
    if (!goroot || !*goroot) return;
    char bin[4200], v[1024];
    snprintf(bin, sizeof bin, "%s/bin/go", goroot);
    char std[4200];
    snprintf(std, sizeof std, "%s/src/unsafe", goroot);
    const char *why = NULL;
    if (!is_dir(goroot))
        why = "is not a directory";
    else if (!is_exe(bin))
        why = "has no bin/go";
    else if (!is_dir(std))
        why = "has no standard library (src/unsafe)";
    if (!why) {
        rule_goroot_other_go(c, goroot, bin);
        return;
    }
    struct lp_env_problem *p = problem(c, "goroot", "GOROOT", LP_ENV_ERROR);
    if (!p) return;
    say(p->message, sizeof p->message,
        "GOROOT=%s %s (a removed or moved Go?); go and gopls cannot find the standard "
        "library.",
        shown("GOROOT", goroot, v, sizeof v), why);
    /* go finds its own GOROOT from where its executable is; only when that
     * fails is the GOROOT of the go found written out. */
    env_unset(&c->env, "GOROOT");
    struct lp_run_result res;
    int ok = 1;
    char root[4096] = "";
    if (*c->r->go && !run_go(c, c->env.v, &res, "env", "GOROOT", NULL, NULL, NULL)) {
        ok = lp_run_ok(&res);
        lp_run_free(&res);
    }
    char real[4096];
    if (!ok && *c->r->go && realpath(c->r->go, real)) {
        char *s = strrchr(real, '/');
        if (s) *s = '\0';
        s = strrchr(real, '/');
        if (s) *s = '\0';
        snprintf(root, sizeof root, "%s", real);
    }
    if (*root) {
        say(p->fix, sizeof p->fix, "Set GOROOT=%s, the Go of %s (or unset GOROOT).", root,
            c->r->go);
        apply(c, p, LP_ENV_SET, root);
    } else {
        say(p->fix, sizeof p->fix, "Unset GOROOT: go finds its own installation from where it is.");
        apply(c, p, LP_ENV_UNSET, NULL);
    }
}

static void rule_go111module(struct ctx *c)
{
    int from_file;
    const char *v = effective(c, "GO111MODULE", &from_file);
    char buf[1024], mod[4096];
    if (!*v || !strcmp(v, "on") || !strcmp(v, "auto")) return;
    if (strcmp(v, "off")) {
        struct lp_env_problem *p = problem(c, "go111module", "GO111MODULE", LP_ENV_ERROR);
        if (!p) return;
        say(p->message, sizeof p->message,
            "GO111MODULE=%s is not on, off or auto; every go command refuses to run.",
            shown("GO111MODULE", v, buf, sizeof buf));
        say(p->fix, sizeof p->fix, "Unset GO111MODULE%s.",
            from_file ? " (go env -u GO111MODULE)" : "");
        if (from_file)
            apply(c, p, LP_ENV_SET, "on");
        else
            apply(c, p, LP_ENV_UNSET, NULL);
        return;
    }
    if (!found_upward(c->ws, "go.mod", mod, sizeof mod) &&
        !found_upward(c->ws, "go.work", mod, sizeof mod))
        return;
    struct lp_env_problem *p = problem(c, "go111module", "GO111MODULE", LP_ENV_ERROR);
    if (!p) return;
    say(p->message, sizeof p->message,
        "GO111MODULE=off%s, but the workspace is a module (%s): go ignores go.mod, so gopls "
        "cannot resolve the module's imports.",
        from_file ? " (in the go env file)" : "", mod);
    say(p->fix, sizeof p->fix, "%s GO111MODULE.",
        from_file ? "Run `go env -u GO111MODULE`; lsptap sets GO111MODULE=on for" : "Unset");
    if (from_file)
        apply(c, p, LP_ENV_SET, "on");
    else
        apply(c, p, LP_ENV_UNSET, NULL);
}

static void rule_gowork(struct ctx *c)
{
    const char *v = env_get(&c->env, "GOWORK");
    char buf[1024];
    if (!v || !*v || !strcmp(v, "off") || !strcmp(v, "auto")) return;
    const char *why = NULL;
    if (v[0] != '/')
        why = "is not an absolute path, which go requires";
    else if (!is_file(v))
        why = "names a file that does not exist";
    if (!why) return;
    struct lp_env_problem *p = problem(c, "gowork", "GOWORK", LP_ENV_ERROR);
    if (!p) return;
    say(p->message, sizeof p->message, "GOWORK=%s %s; every go command in the workspace fails.",
        shown("GOWORK", v, buf, sizeof buf), why);
    say(p->fix, sizeof p->fix, "Unset GOWORK (go then finds go.work itself), or set GOWORK=off.");
    apply(c, p, LP_ENV_UNSET, NULL);
}

static void rule_goenv(struct ctx *c)
{
    const char *v = env_get(&c->env, "GOENV");
    char buf[1024];
    if (!v || !*v || !strcmp(v, "off") || is_file(v)) return;
    struct lp_env_problem *p = problem(c, "goenv", "GOENV", LP_ENV_WARNING);
    if (!p) return;
    say(p->message, sizeof p->message,
        "GOENV=%s names a file that does not exist: the settings written with `go env -w` "
        "(GOPROXY, GOPRIVATE, GOFLAGS...) are not in effect.",
        shown("GOENV", v, buf, sizeof buf));
    say(p->fix, sizeof p->fix, "Unset GOENV (the default is ~/.config/go/env).");
    apply(c, p, LP_ENV_UNSET, NULL);
}

/* ---- URLs --------------------------------------------------------------- */

/* The host[:port] part of a URL, as Go's url.Parse would accept it. */
static int valid_authority(const char *a, size_t n)
{
    const char *at = NULL;
    for (size_t i = 0; i < n; i++)
        if (a[i] == '@') at = a + i;
    if (at) {
        n -= (size_t)(at + 1 - a);
        a = at + 1;
    }
    if (!n) return 0;
    size_t h = 0;
    if (a[0] == '[') {
        const char *close = memchr(a, ']', n);
        if (!close) return 0;
        h = (size_t)(close + 1 - a);
    } else {
        while (h < n && a[h] != ':') {
            unsigned char ch = (unsigned char)a[h];
            if (!isalnum(ch) && !strchr("-._~%!$&'()*+;=", ch)) return 0;
            h++;
        }
        if (!h) return 0;
    }
    if (h == n) return 1;
    if (a[h] != ':') return 0;
    for (size_t i = h + 1; i < n; i++)
        if (!isdigit((unsigned char)a[i])) return 0;
    return 1;
}

/* 1 when s parses as scheme://authority[/...] with one of the schemes,
 * no spaces or control characters anywhere. */
static int valid_url(const char *s, const char *const schemes[])
{
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f) return 0;
    const char *sep = strstr(s, "://");
    if (!sep) return 0;
    int ok = 0;
    for (const char *const *sc = schemes; *sc; sc++)
        ok |= strlen(*sc) == (size_t)(sep - s) && !strncasecmp(s, *sc, (size_t)(sep - s));
    if (!ok) return 0;
    const char *a = sep + 3;
    size_t alen = strcspn(a, "/?#");
    /* file:///path: a path and nothing else, as Go's proxy code requires */
    if (sep - s == 4 && !strncasecmp(s, "file", 4)) return alen == 0 && a[0] == '/';
    return valid_authority(a, alen);
}

/* As golang.org/x/net/http/httpproxy, a value without a scheme means
 * http://. Stricter than it on one point: it also retries a value that has
 * a scheme, so "http://proxy:port" becomes host "http" — accepted, and
 * useless; here that is malformed. */
static int valid_http_proxy(const char *v)
{
    static const char *const schemes[] = {"http", "https", "socks5", NULL};
    if (valid_url(v, schemes)) return 1;
    if (strstr(v, "://")) return 0;
    char buf[4200];
    snprintf(buf, sizeof buf, "http://%s", v);
    return strlen(v) < 4000 && valid_url(buf, schemes);
}

static void rule_http_proxy(struct ctx *c)
{
    static const char *const names[] = {"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy",
                                        NULL};
    char buf[1024];
    for (const char *const *n = names; *n; n++) {
        const char *v = env_get(&c->env, *n);
        if (!v || !*v || valid_http_proxy(v)) continue;
        struct lp_env_problem *p = problem(c, "http-proxy", *n, LP_ENV_ERROR);
        if (!p) return;
        say(p->message, sizeof p->message,
            "%s=%s does not parse as a proxy URL (scheme://host:port); go fails every "
            "download with \"invalid proxy address\".",
            *n, shown(*n, v, buf, sizeof buf));
        say(p->fix, sizeof p->fix,
            "Unset %s, or set it to a URL such as http://proxy.example.com:3128.", *n);
        apply(c, p, LP_ENV_UNSET, NULL);
    }
}

/* Go's proxyList(), which splits on ',' and '|' and trims spaces, plus the
 * separators people type by mistake: ';' and whitespace between items.
 * Writes the normalised list to out; returns 1 when go would reject the
 * original (an item that is not a URL, or no item at all). */
static int normalise_goproxy(const char *v, char *out, size_t cap, char *bad, size_t badcap)
{
    static const char *const schemes[] = {"http", "https", "file", NULL};
    int rejects = 0;
    out[0] = bad[0] = '\0';
    size_t used = 0;
    char sep = 0;
    const char *p = v;
    while (*p) {
        size_t n = strcspn(p, ",|; \t\n");
        char item[2048];
        snprintf(item, sizeof item, "%.*s", (int)n, p);
        p += n;
        char next = *p;
        /* What separated this item from the next: '|' if the user wrote it. */
        if (*item) {
            const char *bare = item;
            char full[2100];
            int keyword = !strcmp(bare, "direct") || !strcmp(bare, "off");
            if (!keyword && !strstr(bare, ":/") && strpbrk(bare, ".:/") && bare[0] != '/') {
                snprintf(full, sizeof full, "https://%s", bare);
                bare = full;
            }
            if (!keyword && !valid_url(bare, schemes)) {
                rejects = 1;
                char r[1024];
                li_redact_value("GOPROXY", item, NULL, r, sizeof r);
                if (!*bad) snprintf(bad, badcap, "%s", r);
            } else {
                if (used && used + 1 < cap) out[used++] = sep ? sep : ',';
                used += (size_t)snprintf(out + used, cap - used, "%s", item);
                if (used >= cap) used = cap - 1;
                sep = 0;
            }
        }
        if (next == '|')
            sep = '|';
        else if (next == ',' && sep != '|')
            sep = ',';
        if (*p) p++;
    }
    /* Items separated by spaces alone were one item to go: a URL with a
     * space in it, which it rejects. */
    const char *q = v;
    while (*q) {
        size_t n = strcspn(q, ",|");
        char item[2048];
        snprintf(item, sizeof item, "%.*s", (int)n, q);
        char *s = item;
        while (isspace((unsigned char)*s))
            s++;
        size_t l = strlen(s);
        while (l && isspace((unsigned char)s[l - 1]))
            s[--l] = '\0';
        if (strpbrk(s, " \t\n;")) rejects = 1;
        q += n;
        if (*q) q++;
    }
    if (!used) rejects = 1;
    return rejects;
}

static void rule_goproxy(struct ctx *c)
{
    int from_file;
    const char *v = effective(c, "GOPROXY", &from_file);
    if (!*v) return;
    char norm[4096], bad[1024], shown_v[4096], shown_n[4096];
    int rejects = normalise_goproxy(v, norm, sizeof norm, bad, sizeof bad);
    if (!strcmp(norm, v)) return;
    struct lp_env_problem *p =
        problem(c, "goproxy", "GOPROXY", rejects ? LP_ENV_ERROR : LP_ENV_WARNING);
    if (!p) return;
    li_redact_value("GOPROXY", v, NULL, shown_v, sizeof shown_v);
    li_redact_value("GOPROXY", norm, NULL, shown_n, sizeof shown_n);
    if (*bad)
        say(p->message, sizeof p->message,
            "GOPROXY=\"%s\"%s has an item that is not a proxy URL (\"%s\"): go refuses to "
            "download any module.",
            shown_v, from_file ? " (go env file)" : "", bad);
    else if (rejects)
        say(p->message, sizeof p->message,
            "GOPROXY=\"%s\"%s uses spaces or ';' between items, or has no item: go reads it as "
            "one malformed URL and refuses to download any module.",
            shown_v, from_file ? " (go env file)" : "");
    else
        say(p->message, sizeof p->message,
            "GOPROXY=\"%s\"%s has spaces or empty items; go tolerates them today, other tools "
            "that read GOPROXY do not.",
            shown_v, from_file ? " (go env file)" : "");
    if (*norm) {
        say(p->fix, sizeof p->fix, "Set GOPROXY=%s (items separated by ',' or '|', nothing else).",
            shown_n);
        apply(c, p, LP_ENV_SET, norm);
    } else {
        say(p->fix, sizeof p->fix,
            "Unset GOPROXY (the default is https://proxy.golang.org,direct).");
        apply(c, p, from_file ? LP_ENV_SET : LP_ENV_UNSET, "https://proxy.golang.org,direct");
    }
}

/* ---- GOFLAGS ------------------------------------------------------------ */

static void rule_goflags(struct ctx *c)
{
    if (!*c->r->go) return;
    int from_file;
    const char *v = effective(c, "GOFLAGS", &from_file);
    if (!*v) return;
    char *why = NULL;
    if (go_accepts(c, c->env.v, &why)) return;
    char *flags = strdup(v);
    struct env t;
    if (!flags || env_init(&t, c->env.v)) {
        free(flags);
        free(why);
        c->oom = 1;
        return;
    }
    /* Without GOFLAGS at all: if go still fails, GOFLAGS is not (all) of it,
     * and a flag is blamed only when it changes what go says. */
    env_set(&t, "GOFLAGS", from_file ? "-mod=" : "");
    if (!from_file) env_unset(&t, "GOFLAGS");
    char *base_why = NULL;
    int base_ok = go_accepts(c, t.v, &base_why);
    char keep[4096] = "", dropped[4096] = "";
    size_t kl = 0, dl = 0;
    for (char *save, *f = strtok_r(flags, " \t\n\r\v\f", &save); f;
         f = strtok_r(NULL, " \t\n\r\v\f", &save)) {
        env_set(&t, "GOFLAGS", f);
        char *fwhy = NULL;
        int ok = go_accepts(c, t.v, &fwhy);
        if (!ok && !base_ok) ok = !fwhy || !base_why || !strcmp(fwhy, base_why);
        free(fwhy);
        char *dst = ok ? keep : dropped;
        size_t *l = ok ? &kl : &dl;
        char red[1024];
        li_redact_value("GOFLAGS", f, NULL, red, sizeof red);
        const char *w = ok ? f : red;
        if (*l + strlen(w) + 2 < sizeof keep)
            *l += (size_t)sprintf(dst + *l, "%s%s", *l ? " " : "", w);
    }
    env_free(&t);
    free(flags);
    free(base_why);
    char keep_copy[4096];
    memcpy(keep_copy, keep, sizeof keep);
    if (!*dropped) {
        free(why);
        return; /* go rejects the environment for another reason */
    }
    struct lp_env_problem *p = problem(c, "goflags", "GOFLAGS", LP_ENV_ERROR);
    if (p) {
        char rw[1024];
        li_redact_value(NULL, why ? why : "", c->env.v, rw, sizeof rw);
        say(p->message, sizeof p->message,
            "GOFLAGS%s has %s that go rejects (%s); every go command gopls runs fails: \"%s\".",
            from_file ? " (go env file)" : "", strchr(dropped, ' ') ? "flags" : "a flag", dropped,
            rw);
        char keep_shown[4096] = "";
        for (char *save, *f = strtok_r(keep_copy, " ", &save); f; f = strtok_r(NULL, " ", &save)) {
            char red[1024];
            li_redact_value("GOFLAGS", f, NULL, red, sizeof red);
            size_t kl2 = strlen(keep_shown);
            snprintf(keep_shown + kl2, sizeof keep_shown - kl2, "%s%s", kl2 ? " " : "", red);
        }
        if (*keep)
            say(p->fix, sizeof p->fix, "Drop %s: set GOFLAGS=\"%s\"%s.", dropped, keep_shown,
                from_file ? " (go env -w GOFLAGS=...)" : "");
        else
            say(p->fix, sizeof p->fix, "Drop %s: %s.", dropped,
                from_file ? "run `go env -u GOFLAGS`" : "unset GOFLAGS");
        if (*keep)
            apply(c, p, LP_ENV_SET, keep);
        else if (from_file)
            apply(c, p, LP_ENV_SET, "-mod="); /* an empty value would not hide the file's */
        else
            apply(c, p, LP_ENV_UNSET, NULL);
    }
    free(why);
}

/* ---- writable directories ---------------------------------------------- */

static int set_default_dir(struct ctx *c, struct lp_env_problem *p, const char *const cands[])
{
    for (size_t i = 0; cands[i]; i++) {
        if (!*cands[i] || !writable(cands[i])) continue;
        say(p->fix, sizeof p->fix, "Set %s=%s (writable).", p->variable, cands[i]);
        apply(c, p, LP_ENV_SET, cands[i]);
        return 1;
    }
    say(p->fix, sizeof p->fix, "Set %s to a directory you can write to.", p->variable);
    return 0;
}

static void rule_dirs(struct ctx *c)
{
    const char *home = home_of(c->env.v);
    char d_gopath[4200] = "", d_cache[4200] = "", d_xcache[4200] = "", d_mod[4200] = "";
    char d_homemod[4200] = "";
    char buf[1024];
    if (home && *home) {
        snprintf(d_gopath, sizeof d_gopath, "%s/go", home);
        snprintf(d_cache, sizeof d_cache, "%s/.cache/go-build", home);
    }
    const char *xdg = env_get(&c->env, "XDG_CACHE_HOME");
    if (xdg && xdg[0] == '/') snprintf(d_xcache, sizeof d_xcache, "%s/go-build", xdg);

    /* GOPATH: its first entry holds the module cache and installed tools. */
    const char *gp = c->goenv ? goenv_str(c, "GOPATH") : env_get(&c->env, "GOPATH");
    if (gp && *gp) {
        char first[4096];
        snprintf(first, sizeof first, "%.*s", (int)strcspn(gp, ":"), gp);
        int rel = first[0] != '/';
        if (rel || !writable(first)) {
            struct lp_env_problem *p = problem(c, "gopath", "GOPATH", LP_ENV_ERROR);
            if (!p) return;
            say(p->message, sizeof p->message,
                rel ? "GOPATH=%s is a relative path, which go rejects."
                    : "GOPATH=%s cannot be written: go cannot download modules into it.",
                shown("GOPATH", gp, buf, sizeof buf));
            const char *cands[] = {d_gopath, NULL};
            if (set_default_dir(c, p, cands)) load_goenv(c);
        }
    }
    const char *mc = c->goenv ? goenv_str(c, "GOMODCACHE") : env_get(&c->env, "GOMODCACHE");
    if (mc && *mc && (mc[0] != '/' || !writable(mc))) {
        struct lp_env_problem *p = problem(c, "gomodcache", "GOMODCACHE", LP_ENV_ERROR);
        if (!p) return;
        say(p->message, sizeof p->message,
            "GOMODCACHE=%s cannot be written: go cannot download the workspace's dependencies.",
            shown("GOMODCACHE", mc, buf, sizeof buf));
        const char *g = goenv_str(c, "GOPATH");
        if (*g) snprintf(d_mod, sizeof d_mod, "%.*s/pkg/mod", (int)strcspn(g, ":"), g);
        if (home && *home) snprintf(d_homemod, sizeof d_homemod, "%s/go/pkg/mod", home);
        const char *cands[] = {d_mod, d_homemod, NULL};
        set_default_dir(c, p, cands);
    }
    const char *gc = c->goenv ? goenv_str(c, "GOCACHE") : env_get(&c->env, "GOCACHE");
    if (gc && *gc && (!strcmp(gc, "off") || gc[0] != '/' || !writable(gc))) {
        struct lp_env_problem *p = problem(c, "gocache", "GOCACHE", LP_ENV_ERROR);
        if (!p) return;
        if (!strcmp(gc, "off"))
            say(p->message, sizeof p->message,
                "GOCACHE=off: go requires its build cache since Go 1.12; type checking fails.");
        else
            say(p->message, sizeof p->message,
                "GOCACHE=%s cannot be written: every build and type check fails.",
                shown("GOCACHE", gc, buf, sizeof buf));
        const char *cands[] = {d_xcache, d_cache, NULL};
        set_default_dir(c, p, cands);
    }
}

/* ---- the whole check ---------------------------------------------------- */

static void rule_go_accepts(struct ctx *c)
{
    if (!*c->r->go) return;
    char *why = NULL;
    c->r->verified = go_accepts(c, c->env.v, &why);
    if (c->r->verified) {
        free(why);
        return;
    }
    struct lp_env_problem *p = problem(c, "go-rejects", "", LP_ENV_ERROR);
    if (p) {
        char rw[900];
        li_redact_value(NULL, why ? why : "", c->env.v, rw, sizeof rw);
        say(p->message, sizeof p->message,
            "go still fails in this workspace after the fixes above: \"%s\".", rw);
        say(p->fix, sizeof p->fix,
            "Run `go list ./...` in the workspace and fix what it "
            "reports; lsptap has no rule for this one.");
    }
    free(why);
}

int lp_env_check(char *const envp[], const char *workspace, const struct lp_env_opts *opts,
                 struct lp_env_report **out)
{
    struct lp_env_opts o = {0};
    if (opts) o = *opts;
    if (o.go_timeout_ms <= 0) o.go_timeout_ms = 10000;
    if (o.shell_timeout_ms <= 0) o.shell_timeout_ms = 3000;
    struct lp_env_report *r = calloc(1, sizeof *r);
    if (!r) return -ENOMEM;
    char cwd[4096];
    struct ctx c = {.r = r, .ws = workspace, .go_ms = o.go_timeout_ms};
    if (!c.ws) c.ws = getcwd(cwd, sizeof cwd) ? cwd : "/";
    if (env_init(&c.env, envp)) {
        env_free(&c.env);
        free(r);
        return -ENOMEM;
    }
    /* Order matters: go must be found and GOROOT sane before go can judge
     * the rest; the directories are read from go env once the variables
     * that change them are fixed. */
    rule_go_on_path(&c, &o);
    rule_goroot(&c);
    rule_go111module(&c);
    rule_gowork(&c);
    rule_goenv(&c);
    rule_http_proxy(&c);
    load_goenv(&c);
    rule_goproxy(&c);
    rule_goflags(&c);
    rule_dirs(&c);
    rule_go_accepts(&c);
    json_decref(c.goenv);
    r->envp = c.env.v;
    /* Each value was redacted where it was written; this catches a secret
     * that reached a message some other way (go's own error text). */
    for (size_t i = 0; i < r->n_problems; i++) {
        li_redact_buf(r->problems[i].message, sizeof r->problems[i].message, envp);
        li_redact_buf(r->problems[i].fix, sizeof r->problems[i].fix, envp);
    }
    if (c.oom) {
        lp_env_report_free(r);
        return -ENOMEM;
    }
    *out = r;
    return 0;
}

void lp_env_report_free(struct lp_env_report *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->n_problems; i++)
        free(r->problems[i].value);
    free(r->problems);
    for (char **e = r->envp; e && *e; e++)
        free(*e);
    free(r->envp);
    free(r->login_path);
    free(r);
}

size_t lp_env_changes(const struct lp_env_report *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n_problems; i++)
        n += r->problems[i].action != LP_ENV_KEEP;
    return n;
}

const char *lp_env_severity_name(enum lp_env_severity s)
{
    return s == LP_ENV_ERROR ? "error" : "warning";
}

json_t *lp_env_problems_json(const struct lp_env_report *r)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < r->n_problems; i++) {
        const struct lp_env_problem *p = &r->problems[i];
        json_array_append_new(a,
                              json_pack("{s:s, s:s, s:s, s:s, s:s}", "check", p->check, "variable",
                                        p->variable, "severity", lp_env_severity_name(p->severity),
                                        "message", p->message, "fix", p->fix));
    }
    return a;
}

json_t *lp_env_changes_json(const struct lp_env_report *r)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < r->n_problems; i++) {
        const struct lp_env_problem *p = &r->problems[i];
        if (p->action == LP_ENV_KEEP) continue;
        char v[4096];
        if (p->action == LP_ENV_SET) li_redact_value(p->variable, p->value, r->envp, v, sizeof v);
        json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:o, s:s}", "check", p->check,
                                           "variable", p->variable, "action",
                                           p->action == LP_ENV_SET ? "set" : "unset", "value",
                                           p->action == LP_ENV_SET ? json_string(v) : json_null(),
                                           "why", p->message));
    }
    return a;
}

void lp_env_summary(const struct lp_env_report *r, char *out, size_t outlen)
{
    if (!outlen) return;
    out[0] = '\0';
    size_t used = 0;
    for (size_t i = 0; i < r->n_problems && used + 1 < outlen; i++) {
        const struct lp_env_problem *p = &r->problems[i];
        if (p->action == LP_ENV_KEEP) continue;
        char v[4096] = "";
        if (p->action == LP_ENV_SET) li_redact_value(p->variable, p->value, r->envp, v, sizeof v);
        int n = snprintf(out + used, outlen - used, "%s%s %s%s: %s", used ? "\n" : "", p->variable,
                         p->action == LP_ENV_SET ? "set to " : "unset", v, p->message);
        if (n < 0) break;
        used += (size_t)n < outlen - used ? (size_t)n : outlen - used - 1;
    }
}
