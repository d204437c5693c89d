#include "proxy/lp_gopls.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "env/lp_config.h"
#include "env/lp_find.h"
#include "inspect/li_say.h"
#include "proxy/lp_netrelay.h"
#include "proxy/lp_serve.h"

/* gopls's global flags that take a value (Go's flag package: "-f v" or
 * "-f=v"); every other flag is taken as boolean. From `gopls help`. */
static const char *const value_flags[] = {
    "debug",
    "listen",
    "listen.timeout",
    "logfile",
    "mode",
    "ocagent",
    "port",
    "profile.cpu",
    "profile.mem",
    "profile.trace",
    "profile.alloc",
    "profile.block",
    "remote",
    "remote.debug",
    "remote.listen.timeout",
    "remote.logfile",
    NULL,
};

static int in(const char *const *set, const char *name, size_t len)
{
    for (; *set; set++)
        if (strlen(*set) == len && !memcmp(*set, name, len)) return 1;
    return 0;
}

/* Walks flags from argv[i]; returns the index of the first positional
 * argument, or -1 when a help flag was seen. */
static int skip_flags(int argc, char **argv, int i)
{
    static const char *const help[] = {"h", "help", NULL};
    while (i < argc) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) return i + 1;
        if (a[0] != '-' || !a[1]) return i;
        const char *name = a + 1 + (a[1] == '-');
        size_t len = strcspn(name, "=");
        if (in(help, name, len)) return -1;
        if (name[len] == '=' || !in(value_flags, name, len))
            i += 1;
        else
            i += 2;
    }
    return i;
}

int lp_gopls_flag(int argc, char **argv, const char *flag, int *index, int *inline_value,
                  const char **value)
{
    size_t flen = strlen(flag);
    int found = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) break;
        if (a[0] != '-' || !a[1]) continue;
        const char *name = a + 1 + (a[1] == '-');
        size_t len = strcspn(name, "=");
        int is = len == flen && !memcmp(name, flag, flen);
        const char *val = name[len] == '=' ? name + len + 1 : NULL;
        if (is) {
            found = 1;
            *index = i;
            *inline_value = val != NULL;
            *value = val ? val : (i + 1 < argc ? argv[i + 1] : "");
        }
        if (!val && in(value_flags, name, len)) i++;
    }
    return found;
}

int lp_gopls_is_server(int argc, char **argv)
{
    int i = skip_flags(argc, argv, 1);
    if (i < 0) return 0;
    if (i >= argc) return 1;
    if (strcmp(argv[i], "serve")) return 0;
    i = skip_flags(argc, argv, i + 1);
    return i >= 0 && i >= argc;
}

int lp_exec_tool(const char *tool, const char *configured, const char *from, char **argv)
{
    char path[4096], err[16384];
    if (lp_find_tool(tool, configured, from, path, sizeof path, err, sizeof err)) {
        li_say("lsptap: %s\n", err);
        return 127;
    }
    execv(path, argv);
    li_say("lsptap: cannot run %s: %s\n", path, strerror(errno));
    return errno == ENOENT ? 127 : 126;
}

int lp_gopls_main(int argc, char **argv)
{
    char warn[4096];
    struct lp_config cfg;
    lp_config_load(&cfg, warn, sizeof warn);
    if (!lp_gopls_is_server(argc, argv))
        return lp_exec_tool("gopls", cfg.gopls, "LSPTAP_GOPLS", argv);

    if (*warn) li_say("lsptap: %s\n", warn);

    /* -remote=HOST:PORT (or LSPTAP_REMOTE): lsptap is the forwarder itself,
     * so a failed connect is diagnosed; -remote=auto is gopls's business. */
    int ri, rinline;
    const char *remote = getenv("LSPTAP_REMOTE");
    if ((!remote || !*remote) && lp_gopls_flag(argc, argv, "remote", &ri, &rinline, &remote) &&
        (!strcmp(remote, "auto") || !strncmp(remote, "auto;", 5)))
        remote = NULL;
    if (remote && *remote) {
        char addr[4200];
        if (!strncmp(remote, "unix;", 5))
            snprintf(addr, sizeof addr, "unix:%s", remote + 5);
        else
            snprintf(addr, sizeof addr, "%s", remote);
        char *rargv[] = {"relay", "--connect", addr, NULL};
        return lp_netrelay_main(3, rargv);
    }
    char path[4096], err[16384];
    int r = lp_find_tool("gopls", cfg.gopls, "LSPTAP_GOPLS", path, sizeof path, err, sizeof err);
    if (r) {
        li_say("lsptap: %s\n", err);
        char why[16400];
        snprintf(why, sizeof why, "lsptap: %s", err);
        return lp_serve_unavailable(&cfg, "gopls", argv, why);
    }
    /* -listen=ADDR: lsptap listens and gives each connection its own gopls
     * (the flag itself is not passed on). */
    int li, linline;
    const char *listen;
    if (lp_gopls_flag(argc, argv, "listen", &li, &linline, &listen)) {
        char addr[4200];
        if (!strncmp(listen, "unix;", 5))
            snprintf(addr, sizeof addr, "unix:%s", listen + 5);
        else
            snprintf(addr, sizeof addr, "%s", listen);
        char **largv = calloc((size_t)argc + 6, sizeof *largv);
        if (!largv) return 70;
        int n = 0;
        largv[n++] = "relay";
        largv[n++] = "--listen";
        largv[n++] = addr;
        largv[n++] = "--";
        largv[n++] = path;
        for (int i = 1; i < argc; i++) {
            if (i == li) {
                if (!linline) i++;
                continue;
            }
            largv[n++] = argv[i];
        }
        largv[n] = NULL;
        int code = lp_netrelay_main(n, largv);
        free(largv);
        return code;
    }
    char **child = calloc((size_t)argc + 1, sizeof *child);
    if (!child) return 70;
    child[0] = path;
    for (int i = 1; i < argc; i++)
        child[i] = argv[i];
    int code = lp_serve_stdio(&cfg, "gopls", LI_LSP, child);
    free(child);
    return code;
}
