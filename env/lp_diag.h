/*
 * lp_diag — netcheck on a target a connect just failed to reach (docs/design.md:
 * "whenever a connect attempt fails, netcheck runs on that target").
 *
 * Blocking: it runs every layer (a few seconds at most on a filtered
 * target). Callers run it where the editor is waiting for an answer anyway.
 */
#ifndef LSPTAP_ENV_LP_DIAG_H
#define LSPTAP_ENV_LP_DIAG_H

#include <jansson.h>
#include <stddef.h>

#include "netcheck/ln.h"

struct lp_diag {
    char verdict[LN_TEXT_MAX + LN_TEXT_MAX + 16]; /* "verdict; hint" in one sentence pair */
    json_t *report; /* netcheck's JSON object (a new reference), NULL when it could not run */
    int failed;     /* the first failing layer, or -1 */
    /* One line a layer, "link: ok, lo is up ...", for the editor's error. */
    char layers[LN_NLAYERS * (LN_TEXT_MAX + 24)];
};

/* TLS settings of a target (NULL fields: not given). */
struct lp_diag_tls {
    int on;
    const char *ca, *cert, *key;
};

/* Runs netcheck on host:port with the given probe and writes its report to
 * stderr, every line prefixed "lsptap: ". Returns 0, or -1 when netcheck
 * could not run (then d->verdict says why). Free d->report with json_decref. */
int lp_diagnose(const char *host, const char *port, enum ln_probe probe, struct lp_diag *d);

/* The same through TLS with the connection's own CA and client certificate:
 * netcheck's tls layer then names what the handshake tripped on. */
int lp_diagnose_tls(const char *host, const char *port, enum ln_probe probe,
                    const struct lp_diag_tls *tls, struct lp_diag *d);

/* The same on a target already set up, without printing: *text gets the
 * report rendered as lp_diagnose prints it ("lsptap: netcheck: " lines;
 * malloc'd, NULL when out of memory; the caller frees it). Safe to call off
 * the loop's thread: it touches no global state but netcheck's own. */
int lp_diagnose_target(const struct ln_target *t, struct lp_diag *d, char **text);

#endif
