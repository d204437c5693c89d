/* lsptap doctor [--json] [DIR]: what is wrong with the environment gopls gets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli_args.h"
#include "cli/commands.h"
#include "env/lp_doctor.h"
#include "inspect/li_redact.h"

extern char **environ;

static const char USAGE[] =
    "usage: lsptap doctor [--net] [--json] [DIR]\n"
    "Checks the environment gopls and dlv get (GOFLAGS, GOROOT, PATH, GOPROXY,\n"
    "GO111MODULE, GOPATH/GOMODCACHE/GOCACHE, GOENV, GOWORK, HTTP(S)_PROXY) for the\n"
    "workspace DIR (default: the current directory), and reports the tools VS Code\n"
    "would find, go env, PATH here and in a login shell, listening gopls/dlv servers\n"
    "and how recent sessions ended. Secrets are redacted.\n"
    "--net also runs netcheck on every GOPROXY entry, GOSUMDB's host and the HTTP\n"
    "proxies of the environment (what go connects to when gopls loads a workspace).\n"
    "Exit status: 0 no problems, 1 problems found, 2 usage.\n";

static void print_json(const void *rep, FILE *f)
{
    json_dumpf(rep, f, JSON_INDENT(2));
    fputc('\n', f);
}

static void print_text(const void *rep, FILE *f)
{
    lp_doctor_print(rep, f);
    lp_doctor_print_net(rep, f);
}

int cmd_doctor(int argc, char **argv)
{
    const char *dir = NULL;
    int as_json = 0, net = 0;
    const struct cli_opt opts[] = {
        {"--json", NULL, &as_json, NULL, NULL},
        {"--net", NULL, &net, NULL, NULL},
        {0},
    };
    const struct cli_args args = {"doctor", USAGE, opts, &dir, "directory", NULL};
    int prc = cli_parse(&args, argc, argv);
    if (prc >= 0) return prc;
    struct stat st;
    if (dir && (stat(dir, &st) || !S_ISDIR(st.st_mode)))
        return fprintf(stderr, "lsptap doctor: %s is not a directory\n", dir),
               cli_usage(&args, stderr);
    size_t n = 0;
    json_t *rep = lp_doctor_run(environ, dir, &n);
    if (!rep) return fprintf(stderr, "lsptap doctor: out of memory\n"), 70;
    if (net) n += lp_doctor_net(rep);
    /* The report's strings were redacted; the printed text is again (a
     * secret a line's layout put back together), and escaped: it quotes other
     * programs (go's errors, sessions' endings, server command lines). In
     * JSON the escapes are JSON's own (\u009b), so it stays the same JSON. */
    int r = li_redact_printed(as_json ? print_json : print_text, rep, environ, stdout);
    json_decref(rep);
    if (r) return fprintf(stderr, "lsptap doctor: cannot write the report\n"), 70;
    if (fflush(stdout)) return 70;
    return n ? 1 : 0;
}
