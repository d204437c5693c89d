/* lsptap stats SESSION [--json]: the per-method report of a session file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_args.h"
#include "cli/commands.h"
#include "inspect/li_stats.h"

static const char USAGE[] =
    "usage: lsptap stats SESSION.jsonl... [--json]\n"
    "How the session ended; per method: requests, notifications, replies, errors,\n"
    "cancellations, p50/p90/p99/max reply latency (nearest rank) and bytes; then\n"
    "the requests left pending. Several files make one report, merged per method.\n"
    "--json prints one JSON object.\n";

int cmd_stats(int argc, char **argv)
{
    int as_json = 0, npaths = 0;
    const struct cli_opt opts[] = {{"--json", NULL, &as_json, NULL, NULL}, {0}};
    const struct cli_args args = {"stats", USAGE, opts, NULL, NULL, &npaths};
    int prc = cli_parse(&args, argc, argv);
    if (prc >= 0) return prc;
    if (!npaths) return cli_usage(&args, stderr);

    char err[1024];
    struct li_stats **parts = calloc((size_t)npaths, sizeof *parts);
    if (!parts) return fprintf(stderr, "lsptap stats: out of memory\n"), 1;
    int n = 0, rc = 0;
    for (int i = 1; i < argc && !rc; i++) {
        if (cli_is_option(argv[i])) continue;
        if (li_stats_load(argv[i], &parts[n], stderr, err, sizeof err) != 0) {
            fprintf(stderr, "lsptap stats: %s\n", err);
            rc = 2;
        } else {
            n++;
        }
    }
    if (!rc) {
        struct li_stats *st = n == 1 ? parts[0] : li_stats_merge(parts, (size_t)n);
        if (as_json) {
            json_t *o = li_stats_json(st);
            json_dumpf(o, stdout, JSON_INDENT(2));
            fputc('\n', stdout);
            json_decref(o);
        } else {
            li_stats_print(st, stdout);
        }
        if (st != parts[0]) li_stats_free(st);
        rc = fflush(stdout) == 0 ? 0 : 1;
    }
    for (int i = 0; i < n; i++)
        li_stats_free(parts[i]);
    free(parts);
    return rc;
}
