/* lsptap stats SESSION [--json]: the per-method report of a session file. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "inspect/li_stats.h"

static int usage(FILE *f)
{
    fputs("usage: lsptap stats SESSION.jsonl [--json]\n"
          "Per method: requests, notifications, replies, errors, cancellations,\n"
          "p50/p90/p99/max reply latency (nearest rank) and bytes; then the requests\n"
          "left pending and how the session ended. --json prints one JSON object.\n",
          f);
    return f == stdout ? 0 : 2;
}

int cmd_stats(int argc, char **argv)
{
    const char *path = NULL;
    int as_json = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            as_json = 1;
        else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return usage(stdout);
        else if (argv[i][0] == '-' && argv[i][1] != '\0')
            return fprintf(stderr, "lsptap stats: unknown option %s\n", argv[i]), usage(stderr);
        else if (path)
            return fprintf(stderr, "lsptap stats: one session file at a time\n"), usage(stderr);
        else
            path = argv[i];
    }
    if (!path) return usage(stderr);

    char err[1024];
    struct li_stats *st;
    if (li_stats_load(path, &st, stderr, err, sizeof err) != 0) {
        fprintf(stderr, "lsptap stats: %s\n", err);
        return 2;
    }
    if (as_json) {
        json_t *o = li_stats_json(st);
        json_dumpf(o, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
        json_decref(o);
    } else {
        li_stats_print(st, stdout);
    }
    li_stats_free(st);
    return fflush(stdout) == 0 ? 0 : 1;
}
