/* lsptap replay SESSION [options] [-- SERVER...]: replay/lp_replay does the work. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "replay/lp_replay.h"

static int usage(FILE *f)
{
    fputs(
        "usage: lsptap replay SESSION [--rewrite-root OLD=NEW] [--compare]\n"
        "                     [--speed original|max] [--timeout SECONDS] [--json] [-- SERVER...]\n"
        "       lsptap replay --serve SESSION [--rewrite-root OLD=NEW]\n"
        "Plays the editor's side of a recorded session against a fresh server (the\n"
        "recorded one, or SERVER) and reports per method the recorded and replayed\n"
        "p50 latency and the replies that differ. --compare exits 1 when one does.\n"
        "--serve plays the server's side to an editor on stdio. See docs/replay.md.\n"
        "Exit: 0 ok, 1 a reply differs (--compare), 2 usage or unreplayable session,\n"
        "3 the server could not start or ended early.\n",
        f);
    return f == stdout ? 0 : LP_REPLAY_USAGE;
}

int cmd_replay(int argc, char **argv)
{
    struct lp_replay_opts o = {.out = stdout, .timeout_ms = 30000};
    int serve = 0, rc;
    char err[512];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--") || !strcmp(a, "--server")) { /* docs/design.md spells it both ways */
            if (i + 1 >= argc)
                return fprintf(stderr, "lsptap replay: nothing after %s\n", a), usage(stderr);
            o.server = argv + i + 1;
            break;
        } else if (!strcmp(a, "--compare")) {
            o.compare = 1;
        } else if (!strcmp(a, "--json")) {
            o.json = 1;
        } else if (!strcmp(a, "--serve")) {
            serve = 1;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            return usage(stdout);
        } else if ((!strcmp(a, "--rewrite-root") || !strcmp(a, "--speed") ||
                    !strcmp(a, "--timeout")) &&
                   i + 1 >= argc) {
            return fprintf(stderr, "lsptap replay: %s needs a value\n", a), usage(stderr);
        } else if (!strcmp(a, "--rewrite-root")) {
            li_rewrite_free(&o.rw);
            if (li_rewrite_parse(argv[++i], &o.rw, err, sizeof err))
                return fprintf(stderr, "lsptap replay: %s\n", err), LP_REPLAY_USAGE;
        } else if (!strcmp(a, "--speed")) {
            const char *v = argv[++i];
            if (strcmp(v, "original") && strcmp(v, "max"))
                return fprintf(stderr, "lsptap replay: --speed is original or max, not %s\n", v),
                       usage(stderr);
            o.speed_original = !strcmp(v, "original");
        } else if (!strcmp(a, "--timeout")) {
            char *end;
            double s = strtod(argv[++i], &end);
            if (*end || s <= 0 || s > 86400)
                return fprintf(stderr, "lsptap replay: --timeout wants seconds, not %s\n", argv[i]),
                       usage(stderr);
            o.timeout_ms = (int)(s * 1000);
        } else if (a[0] == '-' && a[1]) {
            return fprintf(stderr, "lsptap replay: unknown option %s\n", a), usage(stderr);
        } else if (o.session) {
            return fprintf(stderr, "lsptap replay: one session at a time (%s, %s)\n", o.session, a),
                   usage(stderr);
        } else {
            o.session = a;
        }
    }
    if (!o.session) return usage(stderr);
    rc = serve ? lp_replay_serve(&o) : lp_replay_run(&o);
    li_rewrite_free(&o.rw);
    if (fflush(stdout) != 0 && rc == LP_REPLAY_OK) rc = LP_REPLAY_SERVER;
    return rc;
}
