/*
 * li_stats_render — see li_stats.h: the report li_stats.c built, as an
 * aligned table for a person (escaped and redacted on its way out) and as
 * one JSON object with the same content.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "inspect/li_escape.h"
#include "inspect/li_redact.h"
#include "inspect/li_stats.h"
#include "inspect/li_stats_int.h"

static const char *str_member(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static void fmt_us(char *out, size_t cap, int64_t us)
{
    if (us < 0)
        snprintf(out, cap, "-");
    else if (us < 1000)
        snprintf(out, cap, "%lldus", (long long)us);
    else if (us < 1000000)
        snprintf(out, cap, "%.1fms", (double)us / 1e3);
    else
        snprintf(out, cap, "%.2fs", (double)us / 1e6);
}

static void fmt_bytes(char *out, size_t cap, uint64_t b)
{
    if (b < 1024)
        snprintf(out, cap, "%llu B", (unsigned long long)b);
    else if (b < 1024 * 1024)
        snprintf(out, cap, "%.1f KiB", (double)b / 1024);
    else
        snprintf(out, cap, "%.1f MiB", (double)b / (1024 * 1024));
}

static void row_name(char *out, size_t cap, const struct row *r)
{
    snprintf(out, cap, "%s%s", r->name, r->is_event ? " (event)" : "");
}

static void print_end(const struct li_stats *st, FILE *out)
{
    json_t *e = li_stats_ending(st);
    fprintf(out, "ended    %s\n", json_string_value(json_object_get(e, "summary")));
    size_t np = li_stats_final_pending(st)->n;
    if (np)
        fprintf(out, "pending  %zu request%s unanswered at the end (listed below)\n", np,
                np == 1 ? "" : "s");
    json_t *lines = json_object_get(e, "stderr_tail");
    size_t nl = json_array_size(lines), from = nl > 10 ? nl - 10 : 0;
    if (nl)
        fprintf(out, "stderr   the server's last %zu line%s:\n", nl - from,
                nl - from == 1 ? "" : "s");
    for (size_t i = from; i < nl; i++)
        fprintf(out, "  | %s\n", json_string_value(json_array_get(lines, i)));
    for (int d = 0; d < 2; d++) {
        json_t *last = json_object_get(json_object_get(e, "last"), d ? "s2c" : "c2s");
        size_t n = json_array_size(last), i = n > 3 ? n - 3 : 0;
        if (n) fprintf(out, "last     %s:\n", d ? "server->editor" : "editor->server");
        for (; i < n; i++) {
            json_t *m = json_array_get(last, i);
            char t[32], *id = json_dumps(json_object_get(m, "id"), JSON_ENCODE_ANY);
            fmt_us(t, sizeof t, (int64_t)json_integer_value(json_object_get(m, "t_us")));
            const char *name = json_string_value(json_object_get(m, "method"));
            fprintf(out, "  %9s  %-12s  %s%s%s%s\n", t,
                    json_string_value(json_object_get(m, "kind")), name[0] ? name : "-",
                    id && strcmp(id, "null") ? "  id " : "", id && strcmp(id, "null") ? id : "",
                    json_is_true(json_object_get(m, "error")) ? "  (error)" : "");
            free(id);
        }
    }
    json_decref(e);
}

/* A merged report: one line per session file with how it ended. */
static void print_parts(const struct li_stats *st, FILE *out)
{
    size_t i;
    json_t *b;
    json_array_foreach(st->parts, i, b)
    {
        char d[32];
        fmt_us(d, sizeof d, (int64_t)json_integer_value(json_object_get(b, "duration_us")));
        fprintf(out, "%s %s: %lld messages, %s; %s\n", i ? "        " : "ended   ",
                json_string_value(json_object_get(b, "session")),
                (long long)json_integer_value(json_object_get(b, "messages")), d,
                json_string_value(json_object_get(b, "ending")));
    }
}

/* A session file's text; li_stats_print escapes the whole table on its way
 * to the terminal. */
static void put_clean(FILE *out, const char *s)
{
    if (s) fputs(s, out);
}

/* One line per netcheck event: the target gopls failed to reach, its role,
 * and the layer netcheck found failing (docs/netcheck.md). */
static void print_netchecks(const struct li_stats *st, FILE *out)
{
    size_t i;
    json_t *ev;
    json_array_foreach(st->netchecks, i, ev)
    {
        const char *layer = str_member(ev, "failed_layer");
        json_t *verdict = json_object_get(json_object_get(ev, "report"), "verdict");
        fputs(i ? "         " : "network  ", out);
        put_clean(out, str_member(ev, "role"));
        fputc(' ', out);
        put_clean(out, str_member(ev, "target"));
        fputs(": ", out);
        if (layer) {
            put_clean(out, layer);
            fputs(" failed: ", out);
            put_clean(out, str_member(verdict, "summary"));
        } else {
            fputs("no layer failed from lsptap's side (go: ", out);
            put_clean(out, str_member(ev, "cause"));
            fputc(')', out);
        }
        fputc('\n', out);
    }
}

static unsigned long long u(json_t *ev, const char *key)
{
    json_t *v = json_object_get(ev, key);
    return json_is_integer(v) && json_integer_value(v) > 0
               ? (unsigned long long)json_integer_value(v)
               : 0;
}

/* One line per keep-alive event: the loss, the reconnection (or restart),
 * what was replayed, and a crash loop or keep-alive turned off. */
static void print_keepalive(const struct li_stats *st, FILE *out)
{
    size_t i;
    json_t *ev;
    json_array_foreach(st->keepalive, i, ev)
    {
        const char *name = str_member(ev, "event");
        fputs(i ? "         " : "kept     ", out);
        if (!strcmp(name, "server_lost")) {
            fputs("lost: ", out);
            put_clean(out, str_member(ev, "why"));
            fprintf(out, " (%llu documents open, %llu requests in flight)\n", u(ev, "documents"),
                    u(ev, "inflight"));
        } else if (!strcmp(name, "reconnect") || !strcmp(name, "restart")) {
            fprintf(out, "%s after %llu ms", name[2] == 'c' ? "reconnected" : "restarted",
                    u(ev, "ms"));
            if (json_object_get(ev, "attempts")) fprintf(out, ", %llu attempts", u(ev, "attempts"));
            fputc('\n', out);
        } else if (!strcmp(name, "replayed")) {
            fprintf(out,
                    "replayed %llu documents; %llu requests resent, %llu answered with an error, "
                    "%llu cancelled; back after %llu ms\n",
                    u(ev, "documents"), u(ev, "resent"), u(ev, "failed"), u(ev, "cancelled"),
                    u(ev, "ms"));
        } else if (!strcmp(name, "crash_loop")) {
            fputs("gave up: ", out);
            put_clean(out, str_member(ev, "why"));
            fputc('\n', out);
        } else {
            fputs("keep-alive off: ", out);
            put_clean(out, str_member(ev, "reason"));
            fputc('\n', out);
        }
    }
}

/* A peer's text as the table shows it: redacted, then escaped as one line
 * (a '\n' in a name must not break the table), in a new string the caller
 * frees (NULL when out of memory). Redacted here, before its width is taken,
 * because li_redact_printed's pass over the whole page comes after the
 * padding: a secret it replaced by REDACTED would shift the row. What is
 * shown is printable and redacted, so that pass leaves it as it is. */
static char *shown(const char *s)
{
    size_t n;
    char *r = li_redact(s, strlen(s), environ, &n);
    if (!r) return NULL;
    char *e = li_escape_dup(r, n, 0);
    free(r);
    return e;
}

/* The columns s takes as shown: a control byte is four (\x1b), "é" one. */
static int width_of(const char *s)
{
    char *e = shown(s);
    int w = e ? (int)li_escape_width(e, strlen(e), 0) : 1;
    free(e);
    return w;
}

/* s as shown, then blanks to w columns. */
static void put_col(FILE *out, const char *s, int w)
{
    char *e = shown(s);
    const char *t = e ? e : "?";
    fputs(t, out);
    for (int k = (int)li_escape_width(t, strlen(t), 0); k < w; k++)
        fputc(' ', out);
    free(e);
}

static void print_table(const struct li_stats *st, FILE *out)
{
    char a[32], b[32], c[32], d[32], e[32], name[300];
    int w = 6;
    for (size_t i = 0; i < st->nrows; i++) {
        row_name(name, sizeof name, &st->rows[i]);
        int nw = width_of(name);
        if (nw > w) w = nw;
    }
    fmt_bytes(a, sizeof a, st->bytes[0] + st->bytes[1]);
    fmt_us(b, sizeof b, (int64_t)st->last_t_us);
    fprintf(out, "session  %s\n", st->source);
    fprintf(out, "traffic  %s, %llu messages (c2s %llu, s2c %llu), %s, %s\n", st->protocol,
            (unsigned long long)(st->messages[0] + st->messages[1]),
            (unsigned long long)st->messages[0], (unsigned long long)st->messages[1], a, b);
    if (st->invalid || st->framing_errors)
        fprintf(out, "problems %llu invalid messages, %llu framing errors\n",
                (unsigned long long)st->invalid, (unsigned long long)st->framing_errors);
    if (st->parts)
        print_parts(st, out);
    else
        print_end(st, out);
    print_netchecks(st, out);
    print_keepalive(st, out);
    fprintf(out, "\n%-*s %6s %6s %6s %5s %5s %8s %8s %8s %8s %10s\n", w, "METHOD", "REQ", "NOTIF",
            "REPLY", "ERR", "CANC", "P50", "P90", "P99", "MAX", "BYTES");
    for (size_t i = 0; i < st->nrows; i++) {
        const struct row *r = &st->rows[i];
        row_name(name, sizeof name, r);
        fmt_us(a, sizeof a, li_percentile(r->lat, r->nlat, 50));
        fmt_us(b, sizeof b, li_percentile(r->lat, r->nlat, 90));
        fmt_us(c, sizeof c, li_percentile(r->lat, r->nlat, 99));
        fmt_us(d, sizeof d, r->nlat ? r->lat[r->nlat - 1] : -1);
        fmt_bytes(e, sizeof e, r->bytes);
        put_col(out, name, w);
        fprintf(out, " %6llu %6llu %6llu %5llu %5llu %8s %8s %8s %8s %10s\n",
                (unsigned long long)r->requests, (unsigned long long)r->notifications,
                (unsigned long long)r->replies, (unsigned long long)r->errors,
                (unsigned long long)r->cancelled, a, b, c, d, e);
    }
    const struct plist *p = li_stats_final_pending(st);
    fprintf(out, "\npending at end: %zu\n", p->n);
    if (p->n) {
        int mw = 6, iw = 2;
        for (size_t i = 0; i < p->n; i++) {
            int m = width_of(p->v[i].method), iwd = width_of(p->v[i].id);
            if (m > mw) mw = m;
            if (iwd > iw) iw = iwd;
        }
        fprintf(out, "%-3s  %-*s  %-*s  %8s  %s%s\n", "DIR", mw, "METHOD", iw, "ID", "AGE",
                "CANCELLED", st->parts ? "  SESSION" : "");
        for (size_t i = 0; i < p->n; i++) {
            fmt_us(a, sizeof a, p->v[i].age_us);
            fprintf(out, "%-3s  ", p->v[i].dir ? "s2c" : "c2s");
            put_col(out, p->v[i].method, mw);
            fputs("  ", out);
            put_col(out, p->v[i].id, iw);
            fprintf(out, "  %8s  %-*s%s%s\n", a, p->v[i].session ? 9 : 0,
                    p->v[i].cancelled ? "yes" : "no", p->v[i].session ? "  " : "",
                    p->v[i].session ? p->v[i].session : "");
        }
    }
    for (size_t i = 0; i < json_array_size(st->warnings); i++)
        fprintf(out, "%snote: %s\n", i ? "" : "\n",
                json_string_value(json_array_get(st->warnings, i)));
}

static void print_any(const void *st, FILE *f)
{
    print_table(st, f);
}

/* Every name and reason in the table came from a peer: escaped; and it
 * goes into bug reports: redacted. */
void li_stats_print(const struct li_stats *st, FILE *out)
{
    li_redact_printed(print_any, st, environ, out);
}

static json_t *per_dir(const uint64_t v[2])
{
    return json_pack("{s:I,s:I}", "c2s", (json_int_t)v[0], "s2c", (json_int_t)v[1]);
}

json_t *li_stats_json(const struct li_stats *st)
{
    json_t *o = json_object();
    json_object_set_new(o, "session", json_string(st->source));
    json_object_set_new(o, "protocol", json_string(st->protocol));
    json_object_set_new(o, "duration_us", json_integer((json_int_t)st->last_t_us));
    json_object_set_new(o, "messages", per_dir(st->messages));
    json_object_set_new(o, "bytes", per_dir(st->bytes));
    json_object_set_new(o, "invalid", json_integer((json_int_t)st->invalid));
    json_object_set_new(o, "framing_errors", json_integer((json_int_t)st->framing_errors));
    json_t *rows = json_array();
    for (size_t i = 0; i < st->nrows; i++) {
        const struct row *r = &st->rows[i];
        json_t *lat = json_null();
        if (r->nlat)
            lat = json_pack("{s:I,s:I,s:I,s:I,s:I}", "count", (json_int_t)r->nlat, "p50",
                            (json_int_t)li_percentile(r->lat, r->nlat, 50), "p90",
                            (json_int_t)li_percentile(r->lat, r->nlat, 90), "p99",
                            (json_int_t)li_percentile(r->lat, r->nlat, 99), "max",
                            (json_int_t)r->lat[r->nlat - 1]);
        json_array_append_new(
            rows, json_pack("{s:s,s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:o}", "method", r->name, "event",
                            r->is_event, "requests", (json_int_t)r->requests, "notifications",
                            (json_int_t)r->notifications, "replies", (json_int_t)r->replies,
                            "errors", (json_int_t)r->errors, "cancelled", (json_int_t)r->cancelled,
                            "bytes", (json_int_t)r->bytes, "latency_us", lat));
    }
    json_object_set_new(o, "methods", rows);
    json_t *pend = json_array();
    const struct plist *p = li_stats_final_pending(st);
    for (size_t i = 0; i < p->n; i++) {
        json_t *id = json_loads(p->v[i].id, JSON_DECODE_ANY, NULL);
        json_array_append_new(
            pend, json_pack("{s:s,s:s,s:o,s:I,s:b}", "dir", p->v[i].dir ? "s2c" : "c2s", "method",
                            p->v[i].method, "id", id ? id : json_null(), "age_us",
                            (json_int_t)p->v[i].age_us, "cancelled", p->v[i].cancelled));
        if (p->v[i].session)
            json_object_set_new(json_array_get(pend, i), "session", json_string(p->v[i].session));
    }
    json_object_set_new(o, "pending", pend);
    json_t *ex = json_null();
    if (st->exit) {
        json_t *status = json_object_get(st->exit, "status");
        json_t *sig = json_object_get(st->exit, "signal");
        ex = json_pack("{s:O,s:O}", "status", status ? status : json_null(), "signal",
                       sig ? sig : json_null());
    }
    json_object_set_new(o, "exit", ex);
    if (st->parts) {
        int complete = 1;
        size_t i;
        json_t *b;
        json_array_foreach(st->parts, i, b) complete &=
            json_is_true(json_object_get(b, "complete"));
        json_object_set_new(o, "sessions", json_copy(st->parts));
        json_object_set_new(o, "ending", json_null());
        json_object_set_new(o, "complete", json_boolean(complete));
    } else {
        json_object_set_new(o, "ending", li_stats_ending(st));
        json_object_set_new(o, "complete", json_boolean(st->summary != NULL));
    }
    json_object_set_new(o, "warnings", json_copy(st->warnings));
    if (st->netchecks) json_object_set_new(o, "netchecks", json_deep_copy(st->netchecks));
    if (st->keepalive) json_object_set_new(o, "keepalive", json_deep_copy(st->keepalive));
    return o;
}
