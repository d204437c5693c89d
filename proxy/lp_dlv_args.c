/* dlv's command line, read as cobra reads it (lp_dlv_args.h). */
#include <stdlib.h>
#include <string.h>

#include "proxy/lp_dlv_args.h"

static const char *const value_flags[] = {
    "listen", "l",    "log-dest", "log-output", "api-version", "backend",     "build-flags",
    "wd",     "init", "redirect", "r",          "tty",         "client-addr", NULL,
};

static int flag_is(const char *name, size_t len, const char *want)
{
    return strlen(want) == len && !memcmp(name, want, len);
}

void lp_dlv_parse(int argc, char **argv, struct lp_dlv_args *a)
{
    memset(a, 0, sizeof *a);
    a->listen_arg = a->log_arg = a->client_arg = -1;
    a->log_fd = -1;
    a->listen = "127.0.0.1:0";
    const char *cmd = NULL;
    int help = 0;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (!strcmp(s, "--")) break;
        if (s[0] != '-' || !s[1]) {
            if (!cmd) cmd = s;
            continue;
        }
        const char *name = s + 1 + (s[1] == '-');
        size_t len = strcspn(name, "=");
        int attached = name[len] == '=';
        const char *val = attached ? name + len + 1 : NULL;
        /* pflag: a value shorthand may carry its value attached (-l127.0.0.1:0). */
        if (s[1] != '-' && (name[0] == 'l' || name[0] == 'r') && name[1] && name[1] != '=') {
            len = 1;
            attached = 1;
            val = name + 1;
        }
        int takes = 0;
        for (const char *const *f = value_flags; *f; f++)
            takes |= flag_is(name, len, *f);
        if (flag_is(name, len, "h") || flag_is(name, len, "help")) help = 1;
        if (takes && !val && i + 1 < argc) val = argv[i + 1];
        if (flag_is(name, len, "listen") || flag_is(name, len, "l")) {
            a->listen_arg = i;
            a->listen_inline = attached;
            if (val) a->listen = val;
        } else if (flag_is(name, len, "log-dest")) {
            a->log_arg = i;
            a->log_inline = attached;
            a->log_dest = val;
        } else if (flag_is(name, len, "client-addr")) {
            a->client_arg = i;
            a->client_inline = name[len] == '=';
            a->client_addr = val;
        }
        if (takes && !attached) i++;
    }
    if (a->log_dest && *a->log_dest) {
        char *end;
        long fd = strtol(a->log_dest, &end, 10);
        /* As dlv reads it: any number is a file descriptor, 1 and 2 its own
         * stdout and stderr. */
        if (!*end && fd > 0 && fd < 1024) a->log_fd = (int)fd;
    }
    a->is_dap = cmd && !strcmp(cmd, "dap") && !help;
}
