#include "inspect/li_export.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "inspect/li_escape.h"
#include "inspect/li_reader.h"

#define EOR "\r\n\r\n\r\n" /* gopls's end of record */

struct exporter {
    struct li_reader *r;
    json_t *header;
    int dap;
    int64_t start_ms; /* wall clock of t_us 0, ms since the epoch; -1 unknown */
    size_t skipped;
};

/* "2026-11-28T01:03:14.455Z" (UTC, fraction optional) -> ms since the epoch. */
static int64_t parse_start(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (!s) return -1;
    const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!p) return -1;
    int64_t ms = 0;
    if (*p == '.') {
        int digits = 0;
        for (p++; *p >= '0' && *p <= '9'; p++)
            if (digits < 3) ms = ms * 10 + (*p - '0'), digits++;
        for (; digits < 3; digits++)
            ms *= 10;
    }
    return (int64_t)timegm(&tm) * 1000 + ms;
}

static int open_session(struct exporter *x, const char *path, char *err, size_t errlen)
{
    char msg[512];
    size_t lineno = 0;
    memset(x, 0, sizeof *x);
    x->r = li_reader_open(path, err, errlen);
    if (!x->r) return 2;
    int rc = li_reader_next(x->r, &x->header, &lineno, msg, sizeof msg);
    if (rc != LI_READ_LINE || !json_object_get(x->header, "lsptap")) {
        if (rc == LI_READ_LINE || rc == LI_READ_EOF)
            snprintf(err, errlen, "%s:1: not a session file", path);
        else
            snprintf(err, errlen, "%s", msg);
        json_decref(x->header);
        li_reader_close(x->r);
        return 2;
    }
    const char *proto = json_string_value(json_object_get(x->header, "protocol"));
    x->dap = proto && strcmp(proto, "dap") == 0;
    x->start_ms = parse_start(json_string_value(json_object_get(x->header, "start")));
    return 0;
}

static void close_session(struct exporter *x)
{
    json_decref(x->header);
    li_reader_close(x->r);
}

/* The next message line (new reference), or NULL at the end. Malformed
 * lines are reported and skipped; a read error ends the file. */
static json_t *next_message(struct exporter *x, FILE *warn)
{
    json_t *line;
    char msg[512];
    size_t lineno;
    for (;;) {
        int rc = li_reader_next(x->r, &line, &lineno, msg, sizeof msg);
        if (rc == LI_READ_EOF || rc == LI_READ_ERROR) {
            if (rc == LI_READ_ERROR && warn) fprintf(warn, "lsptap export: %s\n", msg);
            return NULL;
        }
        if (rc == LI_READ_BAD) {
            if (warn) fprintf(warn, "lsptap export: %s; skipped\n", msg);
            continue;
        }
        if (json_object_get(line, "dir")) return line;
        json_decref(line);
    }
}

static void clock_text(const struct exporter *x, json_t *line, char *out, size_t cap)
{
    int64_t ms = x->start_ms < 0 ? 0 : x->start_ms;
    ms += json_integer_value(json_object_get(line, "t_us")) / 1000;
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    localtime_r(&secs, &tm);
    snprintf(out, cap, "%02d:%02d:%02d.%03d %s", tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000),
             tm.tm_hour < 12 ? "AM" : "PM");
}

/* A JSON value as compact text; "" for none, as gopls prints a missing
 * params. gopls also prints "" for a null params or result it *reads*
 * (c2s: Go decodes null into a nil RawMessage) but "null" for one it writes;
 * the export says what gopls would. */
static char *payload(json_t *v, int c2s)
{
    if (!v || (c2s && json_is_null(v))) return strdup("");
    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

static char *compact(json_t *v)
{
    return payload(v, 0);
}

static char *id_text(json_t *id)
{
    if (json_is_string(id)) return strdup(json_string_value(id));
    return compact(id);
}

static int inspector_entry(struct exporter *x, json_t *line, FILE *out)
{
    const char *kind = json_string_value(json_object_get(line, "kind"));
    const char *dir = json_string_value(json_object_get(line, "dir"));
    json_t *body = json_object_get(line, "body");
    if (!kind || !json_is_object(body) || strcmp(kind, "invalid") == 0) {
        x->skipped++;
        return 0;
    }
    int c2s = !dir || strcmp(dir, "s2c") != 0;
    const char *way = c2s ? "Sending" : "Received";
    li_escape_nuls(line); /* a NUL in a method is written, not its end */
    const char *method = json_string_value(json_object_get(line, "method"));
    char when[48];
    clock_text(x, line, when, sizeof when);
    char *id = id_text(json_object_get(body, "id"));
    int rc = 0;
    if (strcmp(kind, "request") == 0) {
        char *params = payload(json_object_get(body, "params"), c2s);
        rc = fprintf(out, "[Trace - %s] %s request '%s - (%s)'.\nParams: %s" EOR, when, way,
                     method ? method : "", id ? id : "", params ? params : "") < 0;
        free(params);
    } else if (strcmp(kind, "notification") == 0) {
        char *params = payload(json_object_get(body, "params"), c2s);
        rc = fprintf(out, "[Trace - %s] %s notification '%s'.\nParams: %s" EOR, when, way,
                     method ? method : "", params ? params : "") < 0;
        free(params);
    } else {
        long long ms = json_integer_value(json_object_get(line, "latency_us")) / 1000;
        json_t *e = json_object_get(body, "error");
        if (e) {
            const char *m = json_string_value(json_object_get(e, "message"));
            rc = fprintf(out,
                         "[Trace - %s] %s response '%s - (%s)' in %lldms. Request failed: %s "
                         "(%lld)." EOR,
                         when, way, method ? method : "", id ? id : "", ms, m ? m : "",
                         (long long)json_integer_value(json_object_get(e, "code"))) < 0;
        } else {
            char *result = payload(json_object_get(body, "result"), c2s);
            rc = fprintf(out, "[Trace - %s] %s response '%s - (%s)' in %lldms.\nResult: %s" EOR,
                         when, way, method ? method : "", id ? id : "", ms,
                         result ? result : "") < 0;
            free(result);
        }
    }
    free(id);
    return rc;
}

static void report_skipped(const struct exporter *x, FILE *warn, const char *what)
{
    if (x->skipped && warn)
        fprintf(warn, "lsptap export: %zu message%s skipped (%s)\n", x->skipped,
                x->skipped == 1 ? "" : "s", what);
}

/* The end of an export: nothing written although messages were skipped is
 * an error (2: a session recorded without bodies), else the skipped ones
 * are reported; the session is closed either way. */
static int finish(struct exporter *x, int rc, size_t written, const char *path, FILE *warn,
                  const char *skipped_why, char *err, size_t errlen)
{
    if (!rc && written == 0 && x->skipped) {
        snprintf(err, errlen,
                 "%s has no message bodies to export (recorded with "
                 "LSPTAP_RECORD=meta?)",
                 path);
        rc = 2;
    }
    if (rc != 2) report_skipped(x, warn, skipped_why);
    close_session(x);
    return rc;
}

static int inspector(const char *path, FILE *out, FILE *warn, char *err, size_t errlen)
{
    struct exporter x;
    int rc = open_session(&x, path, err, errlen);
    if (rc) return rc;
    if (x.dap) {
        snprintf(err, errlen,
                 "%s is a DAP session: the inspector format is LSP's (use --format jsonrpc)", path);
        close_session(&x);
        return 2;
    }
    size_t written = 0;
    json_t *line;
    while (!rc && (line = next_message(&x, warn)) != NULL) {
        size_t before = x.skipped;
        rc = inspector_entry(&x, line, out);
        written += x.skipped == before;
        json_decref(line);
    }
    return finish(&x, rc, written, path, warn, "no body, or not a JSON-RPC message", err, errlen);
}

static int jsonrpc(const char *path, int s2c, FILE *out, FILE *warn, char *err, size_t errlen)
{
    struct exporter x;
    int rc = open_session(&x, path, err, errlen);
    if (rc) return rc;
    const char *want = s2c ? "s2c" : "c2s";
    size_t written = 0;
    json_t *line;
    while (!rc && (line = next_message(&x, warn)) != NULL) {
        const char *dir = json_string_value(json_object_get(line, "dir"));
        json_t *body = json_object_get(line, "body");
        if (!dir || strcmp(dir, want) != 0) {
            json_decref(line);
            continue;
        }
        char *text = NULL;
        size_t len = 0;
        if (json_is_string(body)) { /* not valid JSON: the recorded bytes */
            len = json_string_length(body);
            text = malloc(len + 1);
            if (text) memcpy(text, json_string_value(body), len + 1);
        } else if (body) {
            text = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
            len = text ? strlen(text) : 0;
        }
        if (!text) {
            x.skipped++;
        } else {
            rc = fprintf(out, "Content-Length: %zu\r\n\r\n", len) < 0 ||
                 fwrite(text, 1, len, out) != len;
            written++;
        }
        free(text);
        json_decref(line);
    }
    return finish(&x, rc, written, path, warn, "recorded without a body", err, errlen);
}

/* Method names and invalid bodies are a peer's bytes. A file or a pipe gets
 * them exactly; a terminal gets them escaped (li_escape), so that they cannot
 * drive it. */
static FILE *for_terminal(FILE *out, char **text, size_t *len)
{
    *text = NULL;
    *len = 0;
    return isatty(fileno(out)) ? open_memstream(text, len) : NULL;
}

static int to_terminal(FILE *m, char **text, size_t *len, FILE *out, int rc)
{
    if (fclose(m) && !rc) rc = 1; /* *text and *len are set only now */
    if (li_escape_write(*text, *len, LI_ESC_KEEP_NL, out) && !rc) rc = 1;
    free(*text);
    return rc;
}

int li_export_inspector(const char *path, FILE *out, FILE *warn, char *err, size_t errlen)
{
    char *text;
    size_t len;
    FILE *m = for_terminal(out, &text, &len);
    if (!m) return inspector(path, out, warn, err, errlen);
    int rc = inspector(path, m, warn, err, errlen);
    return to_terminal(m, &text, &len, out, rc);
}

int li_export_jsonrpc(const char *path, int s2c, FILE *out, FILE *warn, char *err, size_t errlen)
{
    char *text;
    size_t len;
    FILE *m = for_terminal(out, &text, &len);
    if (!m) return jsonrpc(path, s2c, out, warn, err, errlen);
    int rc = jsonrpc(path, s2c, m, warn, err, errlen);
    return to_terminal(m, &text, &len, out, rc);
}
