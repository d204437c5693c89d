/* lsptap doctor [--json] [DIR]: what is wrong with the environment gopls gets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/commands.h"
#include "inspect/li_escape.h"
#include "inspect/li_redact.h"
#include "proxy/lp_doctor.h"

extern char **environ;

static int usage(FILE *f)
{
    fputs("usage: lsptap doctor [--json] [DIR]\n"
          "Checks the environment gopls and dlv get (GOFLAGS, GOROOT, PATH, GOPROXY,\n"
          "GO111MODULE, GOPATH/GOMODCACHE/GOCACHE, GOENV, GOWORK, HTTP(S)_PROXY) for the\n"
          "workspace DIR (default: the current directory), and reports the tools VS Code\n"
          "would find, go env, PATH here and in a login shell, listening gopls/dlv servers\n"
          "and how recent sessions ended. Secrets are redacted.\n"
          "Exit status: 0 no problems, 1 problems found, 2 usage.\n",
          f);
    return f == stdout ? 0 : 2;
}

int cmd_doctor(int argc, char **argv)
{
    const char *dir = NULL;
    int as_json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            as_json = 1;
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
            return usage(stdout);
        else if (argv[i][0] == '-' && argv[i][1])
            return fprintf(stderr, "lsptap doctor: unknown option %s\n", argv[i]), usage(stderr);
        else if (dir)
            return fprintf(stderr, "lsptap doctor: one directory at a time\n"), usage(stderr);
        else
            dir = argv[i];
    }
    struct stat st;
    if (dir && (stat(dir, &st) || !S_ISDIR(st.st_mode)))
        return fprintf(stderr, "lsptap doctor: %s is not a directory\n", dir), usage(stderr);
    size_t n = 0;
    json_t *rep = lp_doctor_run(environ, dir, &n);
    if (!rep) return fprintf(stderr, "lsptap doctor: out of memory\n"), 70;
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    if (!m) return json_decref(rep), 70;
    if (as_json) {
        json_dumpf(rep, m, JSON_INDENT(2));
        fputc('\n', m);
    } else {
        lp_doctor_print(rep, m);
    }
    fclose(m);
    json_decref(rep);
    /* The report's strings were redacted; this catches a secret that a
     * line's layout put back together (and JSON's escaping hid). */
    size_t rl = 0;
    char *red = li_redact(text, len, environ, &rl);
    free(text);
    if (!red) return fprintf(stderr, "lsptap doctor: out of memory\n"), 70;
    /* The text quotes other programs (go's errors, sessions' endings, server
     * command lines): nothing in it may drive the terminal. */
    if (as_json)
        fputs(red, stdout);
    else
        li_escape_write(red, rl, LI_ESC_KEEP_NL, stdout);
    free(red);
    if (fflush(stdout)) return 70;
    return n ? 1 : 0;
}
