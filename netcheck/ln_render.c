/*
 * Rendering of a report. See ln_render.h.
 */
#include "netcheck/ln_render.h"

#include <stdlib.h>
#include <string.h>

#include "netcheck/ln_hostport.h"

static const char *probe_name(enum ln_probe p)
{
    return p == LN_PROBE_LSP ? "lsp" : p == LN_PROBE_DAP ? "dap" : "none";
}

void ln_render_header(FILE *out, const struct ln_target *t)
{
    char hp[300];
    ln_hostport_format(hp, sizeof(hp), t->host, t->port);
    fprintf(out, "netcheck %s%s (probe %s, timeout %.1f s)\n", t->tls ? "tls://" : "", hp,
            probe_name(t->probe), t->timeout_ms / 1000.0);
    fflush(out);
}

static void print_value(FILE *out, const char *key, json_t *v)
{
    if (json_is_array(v) && json_array_size(v) && json_is_string(json_array_get(v, 0))) {
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            if (i == 0)
                fprintf(out, "      %-14s %s\n", key, json_string_value(e));
            else
                fprintf(out, "      %-14s %s\n", "", json_string_value(e));
        }
        return;
    }
    if (json_is_array(v) && json_array_size(v)) {
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            char *s = json_dumps(e, JSON_COMPACT | JSON_REAL_PRECISION(6));
            fprintf(out, "      %-14s %s\n", i == 0 ? key : "", s ? s : "?");
            free(s);
        }
        return;
    }
    if (json_is_array(v)) {
        fprintf(out, "      %-14s (none)\n", key);
        return;
    }
    if (json_is_string(v)) {
        fprintf(out, "      %-14s %s\n", key, json_string_value(v));
        return;
    }
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(6));
    fprintf(out, "      %-14s %s\n", key, s ? s : "?");
    free(s);
}

void ln_render_layer(FILE *out, const struct ln_report *rep, enum ln_layer l, int verbose)
{
    const struct ln_layer_result *r = &rep->layers[l];
    fprintf(out, "  %-12s %-8s %s", ln_layer_name(l), ln_status_name(r->status), r->summary);
    if (r->status != LN_SKIPPED) fprintf(out, "  [%.1f ms]", r->ms);
    fputc('\n', out);
    if (verbose || r->status == LN_FAIL || r->status == LN_WARN ||
        (l == LN_TRANSPORT && json_object_get(r->evidence, "packets"))) {
        const char *k;
        json_t *v;
        json_object_foreach(r->evidence, k, v)
        {
            if (!verbose && r->status == LN_OK && strcmp(k, "packets")) continue;
            print_value(out, k, v);
        }
    }
    fflush(out);
}

void ln_render_verdict(FILE *out, const struct ln_report *rep)
{
    fprintf(out, "\nverdict: %s\n", rep->verdict);
    if (rep->hint[0]) fprintf(out, "hint:    %s\n", rep->hint);
    fflush(out);
}

json_t *ln_report_json(const struct ln_report *rep)
{
    const struct ln_target *t = &rep->target;
    json_t *target =
        json_pack("{s:s,s:i,s:b,s:s,s:i}", "host", t->host, "port", (int)t->port, "tls", t->tls,
                  "probe", probe_name(t->probe), "timeout_ms", t->timeout_ms);
    if (!target) return NULL;
    if (t->sni) json_object_set_new(target, "sni", json_string(t->sni));
    if (t->ca) json_object_set_new(target, "ca", json_string(t->ca));
    if (t->cert) json_object_set_new(target, "cert", json_string(t->cert));
    if (t->pcap_path) json_object_set_new(target, "pcap", json_string(t->pcap_path));
    json_t *layers = json_array();
    for (int i = 0; i < LN_NLAYERS; i++) {
        const struct ln_layer_result *r = &rep->layers[i];
        json_t *o =
            json_pack("{s:s,s:s,s:s,s:O,s:f}", "layer", ln_layer_name((enum ln_layer)i), "status",
                      ln_status_name(r->status), "summary", r->summary, "evidence", r->evidence,
                      "ms", (double)(long long)(r->ms * 1000 + 0.5) / 1000);
        json_array_append_new(layers, o);
    }
    json_t *verdict =
        json_pack("{s:o,s:s,s:s}", "layer",
                  rep->failed < 0 ? json_null() : json_string(ln_layer_name(rep->failed)),
                  "summary", rep->verdict, "hint", rep->hint);
    return json_pack("{s:o,s:o,s:o}", "target", target, "layers", layers, "verdict", verdict);
}
