/* lsptap ls [DIR] [--json]: the recorded sessions, oldest first. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli_args.h"
#include "cli/commands.h"
#include "env/lp_config.h"
#include "inspect/li_ls.h"

static const char USAGE[] =
    "usage: lsptap ls [DIR] [--json]\n"
    "Lists the recorded sessions in DIR (default: LSPTAP_DIR, else the configured\n"
    "or default session directory): start time, duration, protocol, server,\n"
    "messages and how each ended (normal, editor_gone, server_exited,\n"
    "server_killed, spawn_failed, killed_after_exit, unfinished, unknown).\n";

int cmd_ls(int argc, char **argv)
{
    const char *dir = NULL;
    int as_json = 0;
    const struct cli_opt opts[] = {{"--json", NULL, &as_json, NULL, NULL}, {0}};
    const struct cli_args args = {"ls", USAGE, opts, &dir, "directory", NULL};
    int rc = cli_parse(&args, argc, argv);
    if (rc >= 0) return rc;
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
