#include "env/lp_diag.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inspect/li_say.h"
#include "netcheck/ln_render.h"

/* The report as netcheck renders it, every line prefixed "lsptap:
 * netcheck: " so it reads as lsptap's in the editor's output channel. The
 * caller prints it through li_say (redacted and escaped: it quotes the
 * target and what it answered). */
static char *render_prefixed(const struct ln_report *rep)
{
    char *text = NULL, *out = NULL;
    size_t len = 0, olen = 0;
    FILE *m = open_memstream(&text, &len);
    if (!m) return NULL;
    ln_render_header(m, &rep->target);
    for (int l = 0; l < LN_NLAYERS; l++)
        ln_render_layer(m, rep, (enum ln_layer)l, 0);
    ln_render_verdict(m, rep);
    fclose(m);
    FILE *o = open_memstream(&out, &olen);
    if (!o) {
        free(text);
        return NULL;
    }
    for (char *line = text, *nl; line && *line; line = nl ? nl + 1 : NULL) {
        nl = strchr(line, '\n');
        fprintf(o, "lsptap: netcheck: %.*s\n", (int)(nl ? nl - line : (long)strlen(line)), line);
    }
    fclose(o);
    free(text);
    return out;
}

int lp_diagnose(const char *host, const char *port, enum ln_probe probe, struct lp_diag *d)
{
    return lp_diagnose_tls(host, port, probe, NULL, d);
}

int lp_diagnose_tls(const char *host, const char *port, enum ln_probe probe,
                    const struct lp_diag_tls *tls, struct lp_diag *d)
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
    if (tls && tls->on) {
        t.tls = 1;
        t.ca = tls->ca;
        t.cert = tls->cert;
        t.key = tls->key;
    }
    char *text = NULL;
    int rc = lp_diagnose_target(&t, d, &text);
    if (text) li_say("%s", text);
    free(text);
    return rc;
}

int lp_diagnose_target(const struct ln_target *t, struct lp_diag *d, char **text)
{
    memset(d, 0, sizeof *d);
    d->failed = -1;
    *text = NULL;
    struct ln_report rep;
    if (ln_run(t, &rep, NULL)) {
        ln_report_free(&rep);
        snprintf(d->verdict, sizeof d->verdict, "netcheck could not run (out of memory)");
        return -1;
    }
    *text = render_prefixed(&rep);
    d->failed = rep.failed;
    if (rep.hint[0])
        snprintf(d->verdict, sizeof d->verdict, "%s; %s", rep.verdict, rep.hint);
    else
        snprintf(d->verdict, sizeof d->verdict, "%s", rep.verdict);
    size_t n = 0;
    for (int l = 0; l < LN_NLAYERS; l++) {
        const struct ln_layer_result *r = &rep.layers[l];
        int w = snprintf(d->layers + n, sizeof d->layers - n, "%s%s: %s, %s", n ? "\n" : "",
                         ln_layer_name((enum ln_layer)l), ln_status_name(r->status), r->summary);
        if (w < 0 || (size_t)w >= sizeof d->layers - n) break;
        n += (size_t)w;
    }
    d->report = ln_report_json(&rep);
    ln_report_free(&rep);
    return 0;
}
