/* lsptap export --format inspector|jsonrpc [--dir c2s|s2c] SESSION [-o FILE] */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli_args.h"
#include "cli/commands.h"
#include "inspect/li_export.h"
#include "inspect/li_outfile.h"

static const char USAGE[] =
    "usage: lsptap export --format inspector SESSION.jsonl [-o FILE]\n"
    "       lsptap export --format jsonrpc --dir c2s|s2c SESSION.jsonl [-o FILE]\n"
    "inspector: the text gopls -rpc.trace writes, for the LSP Inspector and\n"
    "           existing tools (LSP sessions).\n"
    "jsonrpc:   the framed stream of one direction (c2s editor->server, s2c\n"
    "           server->editor), rebuilt from the recorded bodies.\n";

int cmd_export(int argc, char **argv)
{
    const char *path = NULL, *format = NULL, *dir = NULL, *out = NULL;
    const struct cli_opt opts[] = {
        {"--format", "-f", NULL, &format, "a value"},
        {"--dir", NULL, NULL, &dir, "a value"},
        {"-o", "--output", NULL, &out, "a value"},
        {0},
    };
    const struct cli_args args = {"export", USAGE, opts, &path, "session file", NULL};
    int prc = cli_parse(&args, argc, argv);
    if (prc >= 0) return prc;
    if (!path || !format) return cli_usage(&args, stderr);
    int jsonrpc = strcmp(format, "jsonrpc") == 0;
    if (!jsonrpc && strcmp(format, "inspector") != 0)
        return fprintf(stderr, "lsptap export: unknown format %s (inspector, jsonrpc)\n", format),
               2;
    if (jsonrpc && (!dir || (strcmp(dir, "c2s") != 0 && strcmp(dir, "s2c") != 0)))
        return fprintf(stderr, "lsptap export: --format jsonrpc needs --dir c2s or --dir s2c\n"), 2;

    struct li_outfile o;
    const char *inputs[] = {path, NULL};
    char err[1024];
    int orc = li_outfile_open(&o, out, inputs, err, sizeof err);
    if (orc) return fprintf(stderr, "lsptap export: %s\n", err), orc == -EINVAL ? 2 : 1;
    int rc = jsonrpc
                 ? li_export_jsonrpc(path, strcmp(dir, "s2c") == 0, o.f, stderr, err, sizeof err)
                 : li_export_inspector(path, o.f, stderr, err, sizeof err);
    if (rc == 2) fprintf(stderr, "lsptap export: %s\n", err);
    if (rc == 1) fprintf(stderr, "lsptap export: cannot write: %s\n", strerror(errno));
    /* A failed export leaves an existing output as it was. */
    if (rc) {
        li_outfile_abort(&o);
    } else if (li_outfile_commit(&o, err, sizeof err)) {
        fprintf(stderr, "lsptap export: %s\n", err);
        rc = 1;
    }
    return rc;
}
