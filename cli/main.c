/*
 * lsptap's entry point. The base name of argv[0] picks the role, as busybox
 * does: `gopls` and `dlv` are the stand-ins VS Code launches; `lsptap` takes
 * a command.
 */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"

static void usage(FILE *f)
{
    fputs("usage: lsptap <command> [args]\n"
          "\n"
          "As `gopls` or `dlv` (a link named so), lsptap stands in for the real tool:\n"
          "server sessions are relayed byte for byte and recorded; every other\n"
          "invocation runs the real tool unchanged.\n"
          "\n"
          "commands:\n"
          "  gopls [ARGS...]     the gopls stand-in, as if invoked through the link\n"
          "  dlv [ARGS...]       the dlv stand-in\n"
          "  stats SESSION...    per-method latency table of a recorded session\n"
          "  relay --listen ADDR | --connect ADDR [-- CMD...]\n"
          "                      relay LSP/DAP over TCP or unix sockets, recorded\n"
          "  doctor [--json] [DIR]  what is wrong with the environment gopls gets\n"
          "  report SESSION -o FILE.html  the session as a self-contained HTML page\n"
          "  ls [DIR]            the recorded sessions: start, duration, server, ending\n"
          "  export --format inspector|jsonrpc SESSION  gopls -rpc.trace text, or a raw stream\n"
          "  tail [SESSION]      follow the newest (or given) session, a line per message\n"
          "  netcheck HOST:PORT  which network layer a connection breaks at, and why\n"
          "  replay SESSION      play a recorded session against a fresh server, compare\n"
          "  scrub SESSION [-o OUT]  a copy of a session safe to share (no code, paths, env)\n"
          "  bundle [SESSION...] [-o FILE.tar.gz]  everything a bug report needs, scrubbed\n"
          "  version             print lsptap's version\n"
          "  help                this text\n"
          "\n"
          "Environment: LSPTAP_GOPLS, LSPTAP_DLV (real binaries), LSPTAP_DIR (session\n"
          "directory), LSPTAP_RECORD (full|meta|off). See lsptap(1).\n",
          f);
}

static const char *base(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

int main(int argc, char **argv)
{
    const char *self = argc > 0 ? argv[0] : "lsptap";
    const char *name = base(self);
    if (!strcmp(name, "gopls")) return cmd_gopls(argc, argv, self);
    if (!strcmp(name, "dlv")) return cmd_dlv(argc, argv, self);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "gopls")) return cmd_gopls(argc - 1, argv + 1, self);
    if (!strcmp(cmd, "dlv")) return cmd_dlv(argc - 1, argv + 1, self);
    if (!strcmp(cmd, "stats")) return cmd_stats(argc - 1, argv + 1);
    if (!strcmp(cmd, "relay")) return cmd_relay(argc - 1, argv + 1);
    if (!strcmp(cmd, "doctor")) return cmd_doctor(argc - 1, argv + 1);
    if (!strcmp(cmd, "report")) return cmd_report(argc - 1, argv + 1);
    if (!strcmp(cmd, "ls")) return cmd_ls(argc - 1, argv + 1);
    if (!strcmp(cmd, "export")) return cmd_export(argc - 1, argv + 1);
    if (!strcmp(cmd, "tail")) return cmd_tail(argc - 1, argv + 1);
    if (!strcmp(cmd, "netcheck")) return cmd_netcheck(argc - 1, argv + 1);
    if (!strcmp(cmd, "replay")) return cmd_replay(argc - 1, argv + 1);
    if (!strcmp(cmd, "scrub")) return cmd_scrub(argc - 1, argv + 1);
    if (!strcmp(cmd, "bundle")) return cmd_bundle(argc - 1, argv + 1);
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("lsptap %s\n", LSPTAP_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "help") || !strcmp(cmd, "-h") || !strcmp(cmd, "--help")) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "lsptap: unknown command \"%s\"\n\n", cmd);
    usage(stderr);
    return 2;
}
