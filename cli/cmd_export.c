/* lsptap export --format inspector|jsonrpc [--dir c2s|s2c] SESSION [-o FILE] */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "inspect/li_export.h"
#include "inspect/li_outfile.h"

static int usage(FILE *f)
{
    fputs("usage: lsptap export --format inspector SESSION.jsonl [-o FILE]\n"
          "       lsptap export --format jsonrpc --dir c2s|s2c SESSION.jsonl [-o FILE]\n"
          "inspector: the text gopls -rpc.trace writes, for the LSP Inspector and\n"
          "           existing tools (LSP sessions).\n"
          "jsonrpc:   the framed stream of one direction (c2s editor->server, s2c\n"
          "           server->editor), rebuilt from the recorded bodies.\n",
          f);
    return f == stdout ? 0 : 2;
}

int cmd_export(int argc, char **argv)
{
    const char *path = NULL, *format = NULL, *dir = NULL, *out = NULL;
    for (int i = 1; i < argc; i++) {
        const char **slot = NULL;
        if (strcmp(argv[i], "--format") == 0 || strcmp(argv[i], "-f") == 0)
            slot = &format;
        else if (strcmp(argv[i], "--dir") == 0)
            slot = &dir;
        else if (strcmp(argv[i], "-o") == 0 || strcmp(argv[i], "--output") == 0)
            slot = &out;
        else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return usage(stdout);
        else if (argv[i][0] == '-' && argv[i][1] != '\0')
            return fprintf(stderr, "lsptap export: unknown option %s\n", argv[i]), usage(stderr);
        else if (path)
            return fprintf(stderr, "lsptap export: one session file at a time\n"), usage(stderr);
        else
            path = argv[i];
        if (slot) {
            if (++i == argc)
                return fprintf(stderr, "lsptap export: %s needs a value\n", argv[i - 1]), 2;
            *slot = argv[i];
        }
    }
    if (!path || !format) return usage(stderr);
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
