#include "proxy/lp_diag.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netcheck/ln_render.h"

/* The report as netcheck renders it, each line prefixed so it reads as
 * lsptap's in the editor's output channel. */
static void render_prefixed(const struct ln_report *rep)
{
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    if (!m) return;
    ln_render_header(m, &rep->target);
    for (int l = 0; l < LN_NLAYERS; l++) ln_render_layer(m, rep, (enum ln_layer)l, 0);
    ln_render_verdict(m, rep);
    fclose(m);
    for (char *line = text, *nl; line && *line; line = nl ? nl + 1 : NULL) {
        nl = strchr(line, '\n');
        fprintf(stderr, "lsptap: netcheck: %.*s\n", (int)(nl ? nl - line : (long)strlen(line)),
                line);
    }
    free(text);
}

int lp_diagnose(const char *host, const char *port, enum ln_probe probe, struct lp_diag *d)
{
    memset(d, 0, sizeof *d);
    d->failed = -1;
    struct ln_target t;
    char hp[LN_HOST_MAX + 16], err[256];
    ln_target_init(&t);
    snprintf(hp, sizeof hp, strchr(host, ':') ? "[%s]:%s" : "%s:%s", host, port);
    if (ln_target_parse(&t, hp, err, sizeof err)) {
        snprintf(d->verdict, sizeof d->verdict, "netcheck could not run: %s", err);
        return -1;
    }
    t.probe = probe;
    struct ln_report rep;
    if (ln_run(&t, &rep, NULL)) {
        ln_report_free(&rep);
        snprintf(d->verdict, sizeof d->verdict, "netcheck could not run (out of memory)");
        return -1;
    }
    render_prefixed(&rep);
    d->failed = rep.failed;
    if (rep.hint[0])
        snprintf(d->verdict, sizeof d->verdict, "%s; %s", rep.verdict, rep.hint);
    else
        snprintf(d->verdict, sizeof d->verdict, "%s", rep.verdict);
    d->report = ln_report_json(&rep);
    ln_report_free(&rep);
    return 0;
}
