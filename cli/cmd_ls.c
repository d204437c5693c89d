/* lsptap ls [DIR] [--json]: the recorded sessions, oldest first. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "env/lp_config.h"
#include "inspect/li_ls.h"

static int usage(FILE *f)
{
    fputs("usage: lsptap ls [DIR] [--json]\n"
          "Lists the recorded sessions in DIR (default: LSPTAP_DIR, else the configured\n"
          "or default session directory): start time, duration, protocol, server,\n"
          "messages and how each ended (normal, editor_gone, server_exited,\n"
          "server_killed, spawn_failed, killed_after_exit, unfinished, unknown).\n",
          f);
    return f == stdout ? 0 : 2;
}

int cmd_ls(int argc, char **argv)
{
    const char *dir = NULL;
    int as_json = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            as_json = 1;
        else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return usage(stdout);
        else if (argv[i][0] == '-' && argv[i][1] != '\0')
            return fprintf(stderr, "lsptap ls: unknown option %s\n", argv[i]), usage(stderr);
        else if (dir)
            return fprintf(stderr, "lsptap ls: one directory at a time\n"), usage(stderr);
        else
            dir = argv[i];
    }
    struct lp_config cfg;
    char warn[1024], err[4352];
    if (!dir) {
        lp_config_load(&cfg, warn, sizeof warn);
        if (warn[0]) fprintf(stderr, "lsptap ls: %s\n", warn);
        dir = cfg.dir;
        if (access(dir, F_OK) != 0) {
            printf("no sessions recorded yet (%s does not exist)\n", dir);
            return 0;
        }
    }
    json_t *list = li_ls(dir, stderr, err, sizeof err);
    if (!list) {
        fprintf(stderr, "lsptap ls: %s\n", err);
        return 2;
    }
    if (as_json) {
        json_dumpf(list, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
    } else {
        li_ls_print(list, stdout);
    }
    json_decref(list);
    return fflush(stdout) == 0 ? 0 : 1;
}
