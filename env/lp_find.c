#include "env/lp_find.h"

#include <errno.h>
#include <glob.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "env/lp_run.h"

/* Copies with truncation, without tripping -Wformat-truncation. */
static void scopy(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void add(char *err, size_t cap, const char *fmt, ...)
{
    size_t used = strlen(err);
    if (used + 1 >= cap) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + used, cap - used, fmt, ap);
    va_end(ap);
}

int lp_is_self(const char *path)
{
    struct stat a, b;
    if (stat("/proc/self/exe", &a) || stat(path, &b)) return 0;
    return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static int executable_file(const char *path)
{
    struct stat st;
    return !stat(path, &st) && S_ISREG(st.st_mode) && !access(path, X_OK);
}

/* Runs `go env GOBIN GOPATH` (no shell, 5 s limit) and splits its two
 * lines. Returns 0 on success. */
static int go_env(const char *go, char *gobin, size_t binlen, char *gopath, size_t pathlen)
{
    char *argv[] = {(char *)go, "env", "GOBIN", "GOPATH", NULL};
    struct lp_run_result r;
    if (lp_run(argv, NULL, NULL, 5000, &r)) {
        lp_run_free(&r);
        return -1;
    }
    char *nl = lp_run_ok(&r) ? strchr(r.out, '\n') : NULL;
    if (nl) {
        *nl = '\0';
        scopy(gobin, binlen, r.out);
        char *second = nl + 1;
        second[strcspn(second, "\n")] = '\0';
        second[strcspn(second, ":")] = '\0'; /* first GOPATH entry */
        scopy(gopath, pathlen, second);
    }
    lp_run_free(&r);
    return nl ? 0 : -1;
}

/* Tries dir/tool; notes what it saw in err. Returns 1 when usable. */
static int try_dir(const char *label, const char *dir, const char *tool, char *out, size_t outlen,
                   char *err, size_t errlen)
{
    char cand[4096];
    if (!dir || !*dir) {
        add(err, errlen, "\n  %s: not set", label);
        return 0;
    }
    snprintf(cand, sizeof cand, "%s/%s", dir, tool);
    if (!executable_file(cand)) {
        add(err, errlen, "\n  %s: %s (no such executable)", label, cand);
        return 0;
    }
    if (lp_is_self(cand)) {
        add(err, errlen, "\n  %s: %s (skipped: it is lsptap itself)", label, cand);
        return 0;
    }
    if (!realpath(cand, out)) scopy(out, outlen, cand);
    return 1;
}

int lp_find_tool(const char *tool, const char *configured, const char *configured_from, char *out,
                 size_t outlen, char *err, size_t errlen)
{
    char label[64];
    err[0] = '\0';
    add(err, errlen, "the real %s was not found. Searched, in order:", tool);
    if (configured && *configured) {
        if (!executable_file(configured)) {
            add(err, errlen, "\n  %s=%s: not an executable file", configured_from, configured);
            add(err, errlen, "\nFix %s or unset it.", configured_from);
            return -EACCES;
        }
        if (lp_is_self(configured)) {
            add(err, errlen, "\n  %s=%s: that is lsptap itself, not the real %s", configured_from,
                configured, tool);
            add(err, errlen, "\nPoint %s at the real %s binary.", configured_from, tool);
            return -EACCES;
        }
        scopy(out, outlen, configured);
        return 0;
    }
    add(err, errlen, "\n  LSPTAP_%s and the config file: not set",
        strcmp(tool, "gopls") ? "DLV" : "GOPLS");

    const char *path = getenv("PATH");
    char go[4096] = "";
    if (path && *path) {
        char *copy = strdup(path);
        if (!copy) return -ENOMEM;
        char *save = NULL;
        for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
            char goc[4096];
            snprintf(goc, sizeof goc, "%s/go", dir);
            if (!*go && executable_file(goc)) scopy(go, sizeof go, goc);
            if (try_dir("PATH", dir, tool, out, outlen, err, errlen)) {
                free(copy);
                return 0;
            }
        }
        free(copy);
    } else {
        add(err, errlen, "\n  PATH: empty");
    }

    char gobin[4096] = "", gopath[4096] = "";
    if (!*go) {
        add(err, errlen, "\n  $(go env GOBIN), $(go env GOPATH)/bin: skipped, no go on PATH");
    } else if (go_env(go, gobin, sizeof gobin, gopath, sizeof gopath)) {
        add(err, errlen, "\n  %s env GOBIN GOPATH: failed", go);
    } else {
        if (try_dir("$(go env GOBIN)", gobin, tool, out, outlen, err, errlen)) return 0;
        char bin[4096 + 8] = "";
        if (*gopath) snprintf(bin, sizeof bin, "%s/bin", gopath);
        if (try_dir("$(go env GOPATH)/bin", *gopath ? bin : "", tool, out, outlen, err, errlen))
            return 0;
    }
    const char *home = getenv("HOME");
    char hb[4096 + 8] = "";
    if (home && *home) snprintf(hb, sizeof hb, "%s/go/bin", home);
    snprintf(label, sizeof label, "~/go/bin");
    if (try_dir(label, hb, tool, out, outlen, err, errlen)) return 0;
    if (!strcmp(tool, "gopls"))
        add(err, errlen,
            "\nInstall it (go install golang.org/x/tools/gopls@latest) or set "
            "LSPTAP_GOPLS to its path.");
    else
        add(err, errlen,
            "\nInstall it (go install github.com/go-delve/delve/cmd/dlv@latest) "
            "or set LSPTAP_DLV to its path.");
    return -ENOENT;
}

/* ---- where a go is ------------------------------------------------------ */

/* The value of name in envp, or NULL. */
static const char *envp_get(char *const envp[], const char *name)
{
    size_t nl = strlen(name);
    for (char *const *e = envp; e && *e; e++)
        if (!strncmp(*e, name, nl) && (*e)[nl] == '=') return *e + nl + 1;
    return NULL;
}

static int version_desc(const void *a, const void *b)
{
    return strverscmp(*(char *const *)b, *(char *const *)a);
}

size_t lp_find_go_dirs(const char *home, char **dirs, size_t cap)
{
    size_t n = 0;
    char buf[4200];
#define ADD(s)                                                                                     \
    do {                                                                                           \
        if (n < cap && (dirs[n] = strdup(s))) n++;                                                 \
    } while (0)
    ADD("/usr/local/go/bin");
    ADD("/usr/lib/go/bin");
    if (home && *home) {
        snprintf(buf, sizeof buf, "%s/go/bin", home);
        ADD(buf);
        snprintf(buf, sizeof buf, "%s/sdk/go*/bin", home);
        glob_t g;
        if (!glob(buf, 0, NULL, &g)) {
            qsort(g.gl_pathv, g.gl_pathc, sizeof *g.gl_pathv, version_desc);
            for (size_t i = 0; i < g.gl_pathc; i++)
                ADD(g.gl_pathv[i]);
            globfree(&g);
        }
        snprintf(buf, sizeof buf, "%s/.local/go/bin", home);
        ADD(buf);
    }
#undef ADD
    return n;
}

char *lp_find_login_path(char *const envp[], int timeout_ms, char *err, size_t errlen)
{
    const char *shell = envp_get(envp, "SHELL");
    struct passwd *pw = getpwuid(getuid());
    if (!shell || shell[0] != '/')
        shell = pw && pw->pw_shell && *pw->pw_shell ? pw->pw_shell : "/bin/sh";
    const char *home = envp_get(envp, "HOME");
    if (!home || !*home) home = pw ? pw->pw_dir : NULL;
    const char *user = pw ? pw->pw_name : "";
    char e_home[4200], e_user[300], e_logname[300], e_shell[4200];
    snprintf(e_home, sizeof e_home, "HOME=%s", home ? home : "/");
    snprintf(e_user, sizeof e_user, "USER=%s", user);
    snprintf(e_logname, sizeof e_logname, "LOGNAME=%s", user);
    snprintf(e_shell, sizeof e_shell, "SHELL=%s", shell);
    char *env[] = {e_home,      e_user, e_logname, e_shell, "PATH=/usr/local/bin:/usr/bin:/bin",
                   "TERM=dumb", NULL};
    /* A marker, because a profile may print (a banner, a fortune). */
    char *argv[] = {(char *)shell, "-l", "-c", "printf '\\n@LSPTAP_PATH@%s\\n' \"$PATH\"", NULL};
    struct lp_run_result res;
    int rc = lp_run(argv, env, home, timeout_ms, &res);
    if (rc) {
        snprintf(err, errlen, "%s", res.err ? res.err : strerror(-rc));
        lp_run_free(&res);
        return NULL;
    }
    char *m = strstr(res.out, "\n@LSPTAP_PATH@");
    char *path = NULL;
    if (m) {
        m += strlen("\n@LSPTAP_PATH@");
        path = strndup(m, strcspn(m, "\n"));
    } else if (res.timed_out) {
        snprintf(err, errlen, "%s -l did not finish within %d ms", shell, timeout_ms);
    } else {
        snprintf(err, errlen, "%s -l printed no PATH (exit %d)", shell, res.status);
    }
    lp_run_free(&res);
    return path;
}
