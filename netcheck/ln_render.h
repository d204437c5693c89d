/*
 * ln_render — a report as text for people and as JSON for programs.
 *
 * Text streams: ln_render_header first, ln_render_layer from ln_run's
 * callback as each layer finishes, ln_render_verdict at the end. Evidence
 * is shown for layers that failed or warned, and for all when `verbose`.
 * JSON is docs/design.md's object: {"target", "layers": [...], "verdict"}.
 */
#ifndef LSPTAP_NETCHECK_LN_RENDER_H
#define LSPTAP_NETCHECK_LN_RENDER_H

#include <jansson.h>
#include <stdio.h>

#include "netcheck/ln.h"

void ln_render_header(FILE *out, const struct ln_target *t);
void ln_render_layer(FILE *out, const struct ln_report *rep, enum ln_layer l, int verbose);
void ln_render_verdict(FILE *out, const struct ln_report *rep);

/* The report as one JSON object (a new reference; NULL when out of memory). */
json_t *ln_report_json(const struct ln_report *rep);

#endif
