/*
 * lp_doctor — see lp_doctor.h: gathers `lsptap doctor`'s report (the
 * environment rules' problems and the facts around them) as JSON.
 * lp_doctor_print.c shows it to a person.
 */
#include "env/lp_doctor.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "env/lp_config.h"
#include "env/lp_env.h"
#include "env/lp_find.h"
#include "env/lp_run.h"
#include "inspect/li_reader.h"
#include "inspect/li_redact.h"

#define TOOL_TIMEOUT_MS 10000
#define SHELL_TIMEOUT_MS 3000
#define RECENT_SESSIONS 5

/* What go env keys gopls's behaviour depends on. */
static const char *const go_env_keys[] = {
    "GOVERSION",  "GOROOT",      "GOPATH",  "GOBIN",     "GOMODCACHE", "GOCACHE",     "GOENV",
    "GOFLAGS",    "GO111MODULE", "GOPROXY", "GOPRIVATE", "GONOPROXY",  "GONOSUMDB",   "GOSUMDB",
    "GOINSECURE", "GOWORK",      "GOMOD",   "GOOS",      "GOARCH",     "CGO_ENABLED", NULL,
};

static json_t *redacted(const char *name, const char *value)
{
    char buf[8192];
    li_redact_value(name, value, NULL, buf, sizeof buf);
    return json_string(buf);
}

static json_t *path_list(const char *path)
{
    json_t *a = json_array();
    if (!path) return a;
    const char *p = path;
    while (1) {
        size_t n = strcspn(p, ":");
        char *d = strndup(p, n);
        if (d) json_array_append_new(a, redacted(NULL, d));
        free(d);
        p += n;
        if (!*p) break;
        p++;
    }
    return a;
}

static char *first_line(const char *s)
{
    while (*s == '\n')
        s++;
    return strndup(s, strcspn(s, "\n"));
}

/* ---- tools --------------------------------------------------------------- */

static json_t *tool_version(const char *path, char *const envp[], const char *tool)
{
    char *argv[] = {(char *)path, "version", NULL};
    struct lp_run_result res;
    if (lp_run(argv, envp, NULL, TOOL_TIMEOUT_MS, &res)) {
        json_t *e = redacted(NULL, res.err ? res.err : "cannot run");
        lp_run_free(&res);
        return e;
    }
    char *line = NULL;
    if (!strcmp(tool, "dlv")) {
        const char *v = strstr(res.out, "Version: ");
        if (v) line = first_line(v + strlen("Version: "));
    }
    if (!line && lp_run_ok(&res)) line = first_line(res.out);
    if (!line) {
        char buf[300];
        snprintf(buf, sizeof buf, "%s version failed: %.200s", tool,
                 res.timed_out ? "timed out" : res.err);
        line = strdup(buf);
    }
    lp_run_free(&res);
    json_t *j = redacted(NULL, line ? line : "");
    free(line);
    return j;
}

static json_t *tool(const char *name, const char *configured, const char *from, char *const envp[])
{
    char path[4096], err[8192];
    json_t *t = json_object();
    if (lp_find_tool(name, configured, from, path, sizeof path, err, sizeof err)) {
        json_object_set_new(t, "path", json_null());
        json_object_set_new(t, "error", redacted(NULL, err));
        return t;
    }
    json_object_set_new(t, "path", redacted(NULL, path));
    json_object_set_new(t, "version", tool_version(path, envp, name));
    return t;
}

/* The stand-ins: links named gopls / dlv that run this lsptap, next to it
 * (the build directory) or in ../lib/lsptap (make install). */
static json_t *stand_ins(void)
{
    char self[PATH_MAX];
    json_t *s = json_object();
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return s;
    self[n] = '\0';
    json_object_set_new(s, "lsptap", redacted(NULL, self));
    *strrchr(self, '/') = '\0';
    json_t *found = json_array();
    /* make install's layout, then the build directory's */
    static const char *const dirs[] = {"/../lib/lsptap", "", NULL};
    static const char *const tools[] = {"gopls", "dlv", NULL};
    for (const char *const *d = dirs; *d; d++) {
        char dir[PATH_MAX + 32], real[PATH_MAX];
        snprintf(dir, sizeof dir, "%s%s", self, *d);
        if (!realpath(dir, real)) continue;
        for (const char *const *t = tools; *t; t++) {
            char link[PATH_MAX + 16];
            struct stat st;
            snprintf(link, sizeof link, "%s/%s", real, *t);
            if (lstat(link, &st)) continue;
            json_array_append_new(found,
                                  json_pack("{s:s, s:o, s:b}", "tool", *t, "path",
                                            redacted(NULL, link), "is_lsptap", lp_is_self(link)));
        }
    }
    json_object_set_new(s, "links", found);
    return s;
}

/* ---- go ------------------------------------------------------------------- */

/* envp with only PATH changed as the rules changed it: go as the user
 * has it, once it can be found. */
static char **path_with_go(char *const envp[], const struct lp_env_report *r)
{
    const char *path = lp_env_get(r->envp, "PATH");
    size_t n = 0;
    while (envp[n])
        n++;
    char **e = calloc(n + 2, sizeof *e);
    if (!e) return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(envp[i], "PATH=", 5) && !(e[k++] = strdup(envp[i]))) break;
    if (path && asprintf(&e[k], "PATH=%s", path) < 0) e[k] = NULL;
    return e;
}

static void free_env(char **e)
{
    for (size_t i = 0; e && e[i]; i++)
        free(e[i]);
    free(e);
}

static json_t *go_facts(const struct lp_env_report *r, char *const envp[], const char *dir)
{
    json_t *g = json_object();
    if (!*r->go) {
        json_object_set_new(g, "path", json_null());
        return g;
    }
    json_object_set_new(g, "path", redacted(NULL, r->go));
    json_object_set_new(g, "found_in", json_string(r->go_from));
    /* go as the user's environment has it, with go on PATH if it was not. */
    char **with_go = NULL;
    char *const *env = envp;
    if (strcmp(r->go_from, "PATH")) {
        with_go = path_with_go(envp, r);
        if (with_go) env = with_go;
    }
    char *vargv[] = {(char *)r->go, "version", NULL};
    struct lp_run_result res;
    if (!lp_run(vargv, env, dir, TOOL_TIMEOUT_MS, &res)) {
        char *l = first_line(lp_run_ok(&res) ? res.out : res.err);
        json_object_set_new(g, "version", redacted(NULL, l ? l : ""));
        free(l);
    }
    lp_run_free(&res);
    char *eargv[] = {(char *)r->go, "env", "-json", NULL};
    if (!lp_run(eargv, env, dir, TOOL_TIMEOUT_MS, &res)) {
        json_t *all = lp_run_ok(&res) ? json_loads(res.out, 0, NULL) : NULL;
        if (all) {
            json_t *e = json_object();
            for (const char *const *k = go_env_keys; *k; k++) {
                const char *v = json_string_value(json_object_get(all, *k));
                if (v) json_object_set_new(e, *k, redacted(*k, v));
            }
            json_object_set_new(g, "env", e);
            json_decref(all);
        } else {
            char *l = first_line(res.timed_out ? "go env timed out" : res.err);
            json_object_set_new(g, "env_error", redacted(NULL, l ? l : ""));
            free(l);
        }
    }
    lp_run_free(&res);
    free_env(with_go);
    return g;
}

/* ---- workspace ------------------------------------------------------------ */

static int find_up(const char *dir, const char *name, char *out, size_t cap)
{
    char d[PATH_MAX];
    if (!realpath(dir, d)) return 0;
    for (;;) {
        struct stat st;
        int n = snprintf(out, cap, "%s/%s", strcmp(d, "/") ? d : "", name);
        if (n > 0 && (size_t)n < cap && !stat(out, &st) && S_ISREG(st.st_mode)) return 1;
        if (!strcmp(d, "/")) return 0;
        char *s = strrchr(d, '/');
        if (s == d)
            d[1] = '\0';
        else
            *s = '\0';
    }
}

/* The module path: the first `module` directive of go.mod. */
static json_t *module_path(const char *gomod)
{
    FILE *f = fopen(gomod, "r");
    if (!f) return json_null();
    char line[4096];
    json_t *m = json_null();
    while (fgets(line, sizeof line, f)) {
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (strncmp(p, "module", 6) || (p[6] != ' ' && p[6] != '\t')) continue;
        p += 7;
        while (*p == ' ' || *p == '\t')
            p++;
        size_t n = *p == '"' ? strcspn(++p, "\"") : strcspn(p, " \t\r\n");
        json_decref(m);
        char *s = strndup(p, n);
        m = redacted(NULL, s ? s : "");
        free(s);
        break;
    }
    fclose(f);
    return m;
}

static json_t *workspace(const char *dir)
{
    char real[PATH_MAX], gomod[PATH_MAX + 16], gowork[PATH_MAX + 16];
    json_t *w = json_object();
    json_object_set_new(w, "dir", redacted(NULL, realpath(dir, real) ? real : dir));
    int has_mod = find_up(dir, "go.mod", gomod, sizeof gomod);
    int has_work = find_up(dir, "go.work", gowork, sizeof gowork);
    json_object_set_new(w, "go_mod", has_mod ? redacted(NULL, gomod) : json_null());
    json_object_set_new(w, "module", has_mod ? module_path(gomod) : json_null());
    json_object_set_new(w, "go_work", has_work ? redacted(NULL, gowork) : json_null());
    return w;
}

/* ---- listening servers -------------------------------------------------- */

struct listener {
    unsigned long inode;
    char addr[128];
};

struct listeners {
    struct listener *v;
    size_t n;
};

static void add_listener(struct listeners *l, unsigned long inode, const char *addr)
{
    struct listener *nv = realloc(l->v, (l->n + 1) * sizeof *nv);
    if (!nv) return;
    l->v = nv;
    nv[l->n].inode = inode;
    snprintf(nv[l->n].addr, sizeof nv[l->n].addr, "%s", addr);
    l->n++;
}

/* A /proc/net table opened past its header line (read into line), or
 * NULL when it cannot be read. */
static FILE *proc_table(const char *file, char *line, int cap)
{
    FILE *f = fopen(file, "r");
    if (f && !fgets(line, cap, f)) {
        fclose(f);
        return NULL;
    }
    return f;
}

/* /proc/net/tcp{,6}: sockets of this user in state LISTEN (0A). */
static void read_tcp(struct listeners *l, const char *file, int v6)
{
    char line[512];
    FILE *f = proc_table(file, line, sizeof line);
    if (!f) return;
    while (fgets(line, sizeof line, f)) {
        char local[64], remote[64];
        unsigned st, uid, port;
        unsigned long inode;
        if (sscanf(line, "%*d: %63s %63s %x %*s %*s %*s %u %*d %lu", local, remote, &st, &uid,
                   &inode) != 5)
            continue;
        if (st != 0x0A || uid != (unsigned)getuid()) continue;
        char *colon = strchr(local, ':');
        if (!colon || sscanf(colon + 1, "%x", &port) != 1) continue;
        *colon = '\0';
        char host[INET6_ADDRSTRLEN] = "?", addr[128];
        if (!v6) {
            struct in_addr a;
            a.s_addr = (uint32_t)strtoul(local, NULL, 16);
            inet_ntop(AF_INET, &a, host, sizeof host);
            snprintf(addr, sizeof addr, "%s:%u", host, port);
        } else if (strlen(local) == 32) {
            struct in6_addr a;
            for (int i = 0; i < 4; i++) {
                char word[9];
                memcpy(word, local + i * 8, 8);
                word[8] = '\0';
                uint32_t w = (uint32_t)strtoul(word, NULL, 16);
                memcpy(&a.s6_addr[i * 4], &w, 4);
            }
            inet_ntop(AF_INET6, &a, host, sizeof host);
            snprintf(addr, sizeof addr, "[%s]:%u", host, port);
        }
        add_listener(l, inode, addr);
    }
    fclose(f);
}

/* /proc/net/unix: listening sockets (flag __SO_ACCEPTCON) with a path, as
 * gopls's -remote=auto daemon makes. Owner is checked through the pid. */
static void read_unix(struct listeners *l)
{
    char line[4608];
    FILE *f = proc_table("/proc/net/unix", line, sizeof line);
    if (!f) return;
    while (fgets(line, sizeof line, f)) {
        unsigned long flags, inode;
        char path[4096] = "";
        if (sscanf(line, "%*s %*s %*s %lx %*s %*s %lu %4095s", &flags, &inode, path) < 2) continue;
        if (!(flags & 0x10000) || !*path) continue;
        char addr[128];
        snprintf(addr, sizeof addr, "unix:%.120s", path);
        add_listener(l, inode, addr);
    }
    fclose(f);
}

static json_t *cmdline_of(const char *pid, char *name, size_t namecap)
{
    char p[300], buf[8192];
    snprintf(p, sizeof p, "/proc/%.32s/cmdline", pid);
    json_t *a = json_array();
    name[0] = '\0';
    FILE *f = fopen(p, "r");
    if (!f) return a;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    for (size_t i = 0; i < n; i += strlen(buf + i) + 1) {
        char red[8192];
        li_redact_value(NULL, buf + i, NULL, red, sizeof red);
        json_array_append_new(a, json_string(red));
        if (i == 0) {
            const char *b = strrchr(buf, '/');
            const char *nm = b ? b + 1 : buf;
            size_t nl = strnlen(nm, namecap - 1);
            memcpy(name, nm, nl);
            name[nl] = '\0';
        }
    }
    return a;
}

static json_t *servers(void)
{
    struct listeners l = {0};
    read_tcp(&l, "/proc/net/tcp", 0);
    read_tcp(&l, "/proc/net/tcp6", 1);
    read_unix(&l);
    json_t *out = json_array();
    DIR *proc = opendir("/proc");
    if (!proc || !l.n) {
        if (proc) closedir(proc);
        free(l.v);
        return out;
    }
    char self[32];
    snprintf(self, sizeof self, "%d", (int)getpid());
    struct dirent *de;
    while ((de = readdir(proc))) {
        if (de->d_name[0] < '0' || de->d_name[0] > '9' || !strcmp(de->d_name, self)) continue;
        char p[300];
        struct stat st;
        snprintf(p, sizeof p, "/proc/%s", de->d_name);
        if (stat(p, &st) || st.st_uid != getuid()) continue;
        char name[256];
        json_t *argv = NULL;
        snprintf(p, sizeof p, "/proc/%s/fd", de->d_name);
        DIR *fds = opendir(p);
        if (!fds) continue;
        json_t *addrs = json_array();
        struct dirent *fe;
        while ((fe = readdir(fds))) {
            char link[600], target[64];
            snprintf(link, sizeof link, "/proc/%.256s/fd/%.256s", de->d_name, fe->d_name);
            ssize_t n = readlink(link, target, sizeof target - 1);
            if (n <= 0) continue;
            target[n] = '\0';
            unsigned long inode;
            if (sscanf(target, "socket:[%lu]", &inode) != 1) continue;
            for (size_t i = 0; i < l.n; i++)
                if (l.v[i].inode == inode) json_array_append_new(addrs, json_string(l.v[i].addr));
        }
        closedir(fds);
        if (json_array_size(addrs)) argv = cmdline_of(de->d_name, name, sizeof name);
        if (argv && (strstr(name, "gopls") || strstr(name, "dlv"))) {
            json_array_append_new(out, json_pack("{s:i, s:s, s:o, s:o}", "pid", atoi(de->d_name),
                                                 "name", name, "listen", addrs, "argv", argv));
        } else {
            json_decref(addrs);
            json_decref(argv);
        }
    }
    closedir(proc);
    free(l.v);
    return out;
}

/* ---- recent sessions ---------------------------------------------------- */

struct sfile {
    char path[PATH_MAX];
    time_t mtime;
};

static int newest_first(const void *a, const void *b)
{
    const struct sfile *x = a, *y = b;
    return (x->mtime < y->mtime) - (x->mtime > y->mtime);
}

static json_t *session_ending(const char *path)
{
    char err[512];
    json_t *s = json_object();
    const char *base = strrchr(path, '/');
    json_object_set_new(s, "file", redacted(NULL, base ? base + 1 : path));
    struct li_reader *r = li_reader_open(path, err, sizeof err);
    if (!r) {
        json_object_set_new(s, "error", redacted(NULL, err));
        return s;
    }
    json_t *line, *events = json_array();
    int rc, first = 1, summary = 0;
    while ((rc = li_reader_next(r, &line, NULL, err, sizeof err)) != LI_READ_EOF) {
        if (rc == LI_READ_ERROR) break;
        if (rc == LI_READ_BAD) continue;
        if (first) {
            first = 0;
            const char *k[] = {"role", "start", NULL};
            for (const char **kk = k; *kk; kk++) {
                json_t *v = json_object_get(line, *kk);
                if (json_is_string(v)) json_object_set(s, *kk, v);
            }
        }
        const char *ev = json_string_value(json_object_get(line, "event"));
        if (ev && !json_object_get(line, "dir")) {
            if (!strcmp(ev, "summary")) {
                summary = 1;
                const char *ending = json_string_value(json_object_get(line, "ending"));
                if (ending) json_object_set_new(s, "ending", redacted(NULL, ending));
                json_t *code = json_object_get(line, "exit_code");
                if (json_is_integer(code)) json_object_set(s, "exit_code", code);
            } else if (!strcmp(ev, "exit")) {
                json_object_set(s, "exit_status", json_object_get(line, "status"));
                json_object_set(s, "exit_signal", json_object_get(line, "signal"));
            } else if (strcmp(ev, "pending") && strcmp(ev, "framing_skip")) {
                json_array_append_new(events, json_string(ev));
            }
        }
        json_decref(line);
    }
    if (!summary)
        json_object_set_new(s, "ending",
                            json_string(li_reader_truncated(r)
                                            ? "did not end cleanly: the last line is cut short "
                                              "(lsptap was killed or crashed)"
                                            : "did not end cleanly: no summary line (lsptap "
                                              "was killed or crashed, or is still running)"));
    json_object_set_new(s, "events", events);
    li_reader_close(r);
    return s;
}

static json_t *sessions(void)
{
    char warn[2048];
    struct lp_config cfg;
    lp_config_load(&cfg, warn, sizeof warn);
    json_t *s = json_object();
    json_object_set_new(s, "dir", redacted(NULL, cfg.dir));
    json_t *recent = json_array();
    json_object_set_new(s, "recent", recent);
    DIR *d = opendir(cfg.dir);
    if (!d) return s;
    struct sfile *v = NULL;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l < 7 || strcmp(de->d_name + l - 6, ".jsonl")) continue;
        struct sfile *nv = realloc(v, (n + 1) * sizeof *v);
        if (!nv) break;
        v = nv;
        int pl = snprintf(v[n].path, sizeof v[n].path, "%s/%s", cfg.dir, de->d_name);
        if (pl < 0 || (size_t)pl >= sizeof v[n].path) continue;
        struct stat st;
        if (stat(v[n].path, &st) || !S_ISREG(st.st_mode)) continue;
        v[n++].mtime = st.st_mtime;
    }
    closedir(d);
    if (n) qsort(v, n, sizeof *v, newest_first);
    for (size_t i = 0; i < n && i < RECENT_SESSIONS; i++)
        json_array_append_new(recent, session_ending(v[i].path));
    free(v);
    return s;
}

/* ---- the report ---------------------------------------------------------- */

/* What the stand-in's repair would change (lp_env_changes_json without the
 * repetition of each message, which "problems" already has). */
static json_t *repairs(const struct lp_env_report *r)
{
    json_t *a = lp_env_changes_json(r);
    size_t i;
    json_t *c;
    json_array_foreach(a, i, c)
    {
        json_object_del(c, "why");
        json_object_del(c, "check");
    }
    return a;
}

/* A tool VS Code would not find is a problem of its own: the rules above
 * are about go, but "gopls failed to start" is most often this. */
static void tool_problem(json_t *rep, const json_t *t, const char *name, const char *configured,
                         const char *var, const char *login)
{
    if (!json_is_null(json_object_get(t, "path"))) return;
    int gopls = !strcmp(name, "gopls");
    char msg[1024], fix[9000], there[4200] = "";
    for (const char *p = login; p && *p && !*there;) {
        size_t n = strcspn(p, ":");
        struct stat st;
        snprintf(there, sizeof there, "%.*s/%s", (int)n, p, name);
        if (p[0] != '/' || stat(there, &st) || !S_ISREG(st.st_mode) || access(there, X_OK) ||
            lp_is_self(there))
            there[0] = '\0';
        p += n;
        if (*p) p++;
    }
    snprintf(msg, sizeof msg, "the real %s was not found (%s); %s", name,
             *configured ? "the configured path is not an executable"
                         : "not on PATH, "
                           "$(go env GOBIN), $(go env GOPATH)/bin or ~/go/bin",
             gopls ? "the gopls stand-in cannot start a language server."
                   : "debugging from VS Code fails.");
    if (*configured)
        snprintf(fix, sizeof fix, "Point %s (or the config file) at the real %s.", var, name);
    else if (*there)
        snprintf(fix, sizeof fix,
                 "It is at %s, on the login shell's PATH: start VS Code from a login shell, "
                 "or set %s=%s.",
                 there, var, there);
    else
        snprintf(fix, sizeof fix, "Install it (go install %s) or set %s to its path.",
                 gopls ? "golang.org/x/tools/gopls@latest"
                       : "github.com/go-delve/delve/cmd/dlv@latest",
                 var);
    json_array_append_new(json_object_get(rep, "problems"),
                          json_pack("{s:s, s:s, s:s, s:s, s:s}", "check",
                                    gopls ? "gopls-not-found" : "dlv-not-found", "variable",
                                    *configured ? var : "PATH", "severity",
                                    gopls ? "error" : "warning", "message", msg, "fix", fix));
}

json_t *lp_doctor_run(char *const envp[], const char *dir, size_t *n_problems)
{
    char cwd[PATH_MAX];
    if (!dir) dir = getcwd(cwd, sizeof cwd) ? cwd : ".";
    char err[512] = "";
    char *login = lp_find_login_path(envp, SHELL_TIMEOUT_MS, err, sizeof err);
    struct lp_env_opts o = {.login_shell = 1, .login_path = login};
    struct lp_env_report *r;
    if (lp_env_check(envp, dir, &o, &r)) {
        free(login);
        return NULL;
    }
    json_t *rep = json_object();
    json_object_set_new(rep, "problems", lp_env_problems_json(r));
    *n_problems = r->n_problems;
    json_object_set_new(rep, "workspace", workspace(dir));
    json_object_set_new(rep, "go", go_facts(r, envp, dir));
    struct lp_config cfg;
    char warn[2048];
    lp_config_load(&cfg, warn, sizeof warn);
    json_t *tools = json_object();
    json_object_set_new(tools, "gopls", tool("gopls", cfg.gopls, "LSPTAP_GOPLS", envp));
    json_object_set_new(tools, "dlv", tool("dlv", cfg.dlv, "LSPTAP_DLV", envp));
    json_object_set_new(tools, "stand_ins", stand_ins());
    json_object_set_new(rep, "tools", tools);
    tool_problem(rep, json_object_get(tools, "gopls"), "gopls", cfg.gopls, "LSPTAP_GOPLS", login);
    tool_problem(rep, json_object_get(tools, "dlv"), "dlv", cfg.dlv, "LSPTAP_DLV", login);
    *n_problems = json_array_size(json_object_get(rep, "problems"));
    json_t *path = json_object();
    json_object_set_new(path, "process", path_list(lp_env_get(envp, "PATH")));
    json_object_set_new(path, "login_shell", login ? path_list(login) : json_null());
    if (!login) json_object_set_new(path, "login_shell_error", redacted(NULL, err));
    json_object_set_new(rep, "path", path);
    json_object_set_new(rep, "servers", servers());
    json_object_set_new(rep, "sessions", sessions());
    json_object_set_new(rep, "repairs", repairs(r));
    json_object_set_new(rep, "verified", json_boolean(r->verified));
    lp_env_report_free(r);
    free(login);
    /* Each value was redacted where it was read; the last pass catches a
     * secret that reached a string some other way (go's own error text). */
    li_redact_json(rep, envp);
    return rep;
}
