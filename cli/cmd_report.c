/* lsptap report SESSION -o FILE.html: the session as one self-contained page. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli_args.h"
#include "cli/commands.h"
#include "inspect/li_outfile.h"
#include "inspect/li_report.h"

static const char USAGE[] =
    "usage: lsptap report SESSION.jsonl -o FILE.html\n"
    "Writes one self-contained HTML page (no network needed): how the session\n"
    "ended, a timeline of requests, latency per method and the message list.\n"
    "-o - writes the page to standard output.\n";

int cmd_report(int argc, char **argv)
{
    struct cli_session_out a;
    int prc = cli_parse_session_out(&a, "report", USAGE, 1, argc, argv);
    if (prc >= 0) return prc;
    const char *path = a.session, *out = a.out;

    char err[1024];
    struct li_report *r;
    if (li_report_load(path, &r, stderr, err, sizeof err) != 0) {
        fprintf(stderr, "lsptap report: %s\n", err);
        return 2;
    }
    int to_stdout = strcmp(out, "-") == 0;
    struct li_outfile o;
    const char *inputs[] = {path, NULL};
    int orc = li_outfile_open(&o, out, inputs, err, sizeof err);
    if (orc) {
        fprintf(stderr, "lsptap report: %s\n", err);
        li_report_free(r);
        return orc == -EINVAL ? 2 : 1;
    }
    int rc = li_report_write_html(r, o.f);
    if (rc) {
        fprintf(stderr, "lsptap report: cannot write %s: %s\n", out, strerror(errno));
        li_outfile_abort(&o);
    } else if ((rc = li_outfile_commit(&o, err, sizeof err))) {
        fprintf(stderr, "lsptap report: %s\n", err);
    } else if (!to_stdout) {
        fprintf(stderr, "lsptap report: %zu messages of %s -> %s\n", li_report_messages(r), path,
                out);
    }
    li_report_free(r);
    return rc ? 1 : 0;
}
