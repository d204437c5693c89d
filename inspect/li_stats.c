#include "inspect/li_stats.h"

#include <stdlib.h>
#include <string.h>

#include "inspect/li_reader.h"

struct row {
    char *name;
    int is_event; /* a DAP event, kept apart from a command of the same name */
    uint64_t requests, notifications, replies, errors, cancelled, bytes;
    int64_t *lat;
    size_t nlat, cap;
};

struct pend {
    int dir; /* 0 c2s, 1 s2c: the direction the request travelled */
    char *method;
    char *id; /* JSON text */
    uint64_t t_us;
    int64_t age_us;
    int cancelled;
};

struct plist {
    struct pend *v;
    size_t n, cap;
};

struct li_stats {
    char *source;
    char protocol[8];
    struct row *rows;
    size_t nrows, caprows;
    struct plist pending; /* from "pending" events */
    struct plist open;    /* requests without a reply line, for a session without summary */
    json_t *summary;
    json_t *exit;
    json_t *warnings;
    uint64_t last_t_us;
    uint64_t messages[2], bytes[2], invalid, framing_errors, lines;
};

static char *xstrdup(const char *s)
{
    char *d = strdup(s ? s : "");
    if (!d) abort(); /* a report tool with no memory left has nothing better to do */
    return d;
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n);
    if (!p) abort();
    return p;
}

struct li_stats *li_stats_new(const char *source)
{
    struct li_stats *st = calloc(1, sizeof *st);
    if (!st) abort();
    st->source = xstrdup(source);
    st->warnings = json_array();
    return st;
}

static void plist_free(struct plist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].method);
        free(l->v[i].id);
    }
    free(l->v);
}

void li_stats_free(struct li_stats *st)
{
    if (!st) return;
    for (size_t i = 0; i < st->nrows; i++) {
        free(st->rows[i].name);
        free(st->rows[i].lat);
    }
    free(st->rows);
    plist_free(&st->pending);
    plist_free(&st->open);
    json_decref(st->summary);
    json_decref(st->exit);
    json_decref(st->warnings);
    free(st->source);
    free(st);
}

void li_stats_note(struct li_stats *st, const char *warning)
{
    json_array_append_new(st->warnings, json_string(warning));
}

static struct row *row_of(struct li_stats *st, const char *name, int is_event)
{
    for (size_t i = st->nrows; i-- > 0;)
        if (st->rows[i].is_event == is_event && strcmp(st->rows[i].name, name) == 0)
            return &st->rows[i];
    if (st->nrows == st->caprows) {
        st->caprows = st->caprows ? st->caprows * 2 : 32;
        st->rows = xrealloc(st->rows, st->caprows * sizeof *st->rows);
    }
    struct row *r = &st->rows[st->nrows++];
    memset(r, 0, sizeof *r);
    r->name = xstrdup(name);
    r->is_event = is_event;
    return r;
}

static void add_latency(struct row *r, int64_t v)
{
    if (r->nlat == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 16;
        r->lat = xrealloc(r->lat, r->cap * sizeof *r->lat);
    }
    r->lat[r->nlat++] = v;
}

static struct pend *plist_push(struct plist *l)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->v = xrealloc(l->v, l->cap * sizeof *l->v);
    }
    struct pend *p = &l->v[l->n++];
    memset(p, 0, sizeof *p);
    return p;
}

static char *json_text(json_t *v)
{
    char *s = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    return s ? s : xstrdup("");
}

static const char *str_member(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static uint64_t u64_member(json_t *o, const char *key)
{
    json_int_t v = json_integer_value(json_object_get(o, key));
    return v > 0 ? (uint64_t)v : 0;
}

static int dir_of(const char *d)
{
    return d && strcmp(d, "s2c") == 0;
}

static void add_event(struct li_stats *st, json_t *line, const char *ev)
{
    if (strcmp(ev, "pending") == 0) {
        struct pend *p = plist_push(&st->pending);
        p->dir = dir_of(str_member(line, "stream"));
        const char *m = str_member(line, "method");
        p->method = xstrdup(m ? m : str_member(line, "command"));
        p->id = json_text(json_object_get(line, "id"));
        p->age_us = (int64_t)u64_member(line, "age_us");
        p->cancelled = json_is_true(json_object_get(line, "cancelled"));
    } else if (strcmp(ev, "summary") == 0) {
        json_decref(st->summary);
        st->summary = json_incref(line);
    } else if (strcmp(ev, "exit") == 0) {
        json_decref(st->exit);
        st->exit = json_incref(line);
    } else if (strcmp(ev, "framing_error") == 0) {
        st->framing_errors++;
    }
}

/* Requests seen without a reply line: the pending list of a session that
 * has no summary (lsptap did not get to write it). */
static void open_request(struct li_stats *st, int dir, const char *method, json_t *id, uint64_t t)
{
    struct pend *p = plist_push(&st->open);
    p->dir = dir;
    p->method = xstrdup(method);
    p->id = json_text(id);
    p->t_us = t;
}

static struct pend *find_open(struct li_stats *st, int dir, json_t *id)
{
    if (!id) return NULL;
    char *key = json_text(id);
    struct pend *found = NULL;
    for (size_t i = st->open.n; i-- > 0;) {
        struct pend *p = &st->open.v[i];
        if (p->dir == dir && strcmp(p->id, key) == 0) {
            found = p;
            break;
        }
    }
    free(key);
    return found;
}

static void close_open(struct li_stats *st, struct pend *p)
{
    free(p->method);
    free(p->id);
    *p = st->open.v[--st->open.n];
}

static void note_cancel(struct li_stats *st, int dir, json_t *line)
{
    json_t *params = json_object_get(json_object_get(line, "body"),
                                     strcmp(st->protocol, "dap") == 0 ? "arguments" : "params");
    json_t *id = json_object_get(params, "id");
    if (!id) id = json_object_get(params, "requestId");
    struct pend *p = find_open(st, dir, id);
    if (p) p->cancelled = 1;
}

static void add_message(struct li_stats *st, json_t *line, const char *dirs, const char *kind)
{
    int dir = dir_of(dirs);
    uint64_t bytes = u64_member(line, "bytes");
    uint64_t t = u64_member(line, "t_us");
    int dap = strcmp(st->protocol, "dap") == 0;
    const char *name = str_member(line, dap ? "command" : "method");
    st->messages[dir]++;
    st->bytes[dir] += bytes;
    if (strcmp(kind, "invalid") == 0) {
        st->invalid++;
        return;
    }
    if (strcmp(kind, "event") == 0) {
        const char *ev = str_member(line, "event");
        struct row *r = row_of(st, ev ? ev : "(unknown)", 1);
        r->notifications++;
        r->bytes += bytes;
        return;
    }
    if (strcmp(kind, "response") == 0) {
        json_t *key = json_object_get(line, dap ? "request_seq" : "id");
        struct pend *p = find_open(st, !dir, key);
        if (p) {
            if (!name) name = p->method; /* a reader of an older line format */
        }
        struct row *r = row_of(st, name ? name : "(unmatched reply)", 0);
        if (p) close_open(st, p);
        r->replies++;
        r->bytes += bytes;
        if (json_object_get(line, "error")) r->errors++;
        if (json_is_true(json_object_get(line, "cancelled"))) r->cancelled++;
        json_t *lat = json_object_get(line, "latency_us");
        if (json_is_integer(lat)) add_latency(r, json_integer_value(lat));
        return;
    }
    struct row *r = row_of(st, name ? name : "(unknown)", 0);
    r->bytes += bytes;
    if (strcmp(kind, "request") == 0) {
        r->requests++;
        open_request(st, dir, name ? name : "", json_object_get(line, "id"), t);
        if (name && strcmp(name, dap ? "cancel" : "$/cancelRequest") == 0)
            note_cancel(st, dir, line);
    } else {
        r->notifications++;
        if (name && strcmp(name, "$/cancelRequest") == 0) note_cancel(st, dir, line);
    }
}

void li_stats_add(struct li_stats *st, json_t *line)
{
    st->lines++;
    uint64_t t = u64_member(line, "t_us");
    if (t > st->last_t_us) st->last_t_us = t;
    if (st->lines == 1) {
        const char *proto = str_member(line, "protocol");
        snprintf(st->protocol, sizeof st->protocol, "%s", proto ? proto : "lsp");
        return;
    }
    const char *dirs = str_member(line, "dir");
    const char *ev = str_member(line, "event");
    const char *kind = str_member(line, "kind");
    if (dirs && kind)
        add_message(st, line, dirs, kind);
    else if (!dirs && ev)
        add_event(st, line, ev);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int cmp_row(const void *a, const void *b)
{
    const struct row *x = a, *y = b;
    uint64_t nx = x->requests + x->notifications, ny = y->requests + y->notifications;
    if (nx != ny) return nx > ny ? -1 : 1;
    if (x->is_event != y->is_event) return x->is_event - y->is_event;
    return strcmp(x->name, y->name);
}

static int cmp_open(const void *a, const void *b)
{
    const struct pend *x = a, *y = b;
    return (x->t_us > y->t_us) - (x->t_us < y->t_us);
}

/* qsort's pointer must not be NULL even for zero elements. */
static void sort(void *v, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
    if (n > 1) qsort(v, n, size, cmp);
}

void li_stats_finish(struct li_stats *st)
{
    for (size_t i = 0; i < st->nrows; i++)
        sort(st->rows[i].lat, st->rows[i].nlat, sizeof(int64_t), cmp_i64);
    sort(st->rows, st->nrows, sizeof *st->rows, cmp_row);
    sort(st->open.v, st->open.n, sizeof *st->open.v, cmp_open);
    for (size_t i = 0; i < st->open.n; i++)
        st->open.v[i].age_us = (int64_t)(st->last_t_us - st->open.v[i].t_us);
    if (!st->summary)
        li_stats_note(st, "the session has no summary line (lsptap did not finish it); "
                          "pending requests are those without a reply line");
}

int64_t li_percentile(const int64_t *v, size_t n, unsigned p)
{
    if (!n) return -1;
    size_t rank = (p * n + 99) / 100;
    if (rank < 1) rank = 1;
    return v[rank - 1];
}

static const struct plist *final_pending(const struct li_stats *st)
{
    return st->summary ? &st->pending : &st->open;
}

int li_stats_load(const char *path, struct li_stats **out, FILE *warn, char *err, size_t errlen)
{
    char msg[512];
    size_t lineno = 0;
    json_t *line;
    *out = NULL;
    struct li_reader *r = li_reader_open(path, err, errlen);
    if (!r) return 2;
    int rc = li_reader_next(r, &line, &lineno, msg, sizeof msg);
    if (rc != LI_READ_LINE || !json_object_get(line, "lsptap")) {
        if (rc == LI_READ_LINE)
            snprintf(err, errlen, "%s:%zu: not a session file (first line has no \"lsptap\" key)",
                     path, lineno);
        else if (rc == LI_READ_EOF && li_reader_truncated(r))
            snprintf(err, errlen, "%s:1: not a session file (first line is cut short)", path);
        else if (rc == LI_READ_EOF)
            snprintf(err, errlen, "%s: not a session file (it is empty)", path);
        else if (rc == LI_READ_BAD)
            snprintf(err, errlen, "%s (not a session file)", msg);
        else
            snprintf(err, errlen, "%s", msg);
        json_decref(line);
        li_reader_close(r);
        return 2;
    }
    struct li_stats *st = li_stats_new(path);
    li_stats_add(st, line);
    json_decref(line);
    while ((rc = li_reader_next(r, &line, &lineno, msg, sizeof msg)) != LI_READ_EOF) {
        if (rc == LI_READ_ERROR) {
            snprintf(err, errlen, "%s", msg);
            li_stats_free(st);
            li_reader_close(r);
            return 2;
        }
        if (rc == LI_READ_BAD) {
            if (warn) fprintf(warn, "lsptap stats: %s; skipped\n", msg);
            li_stats_note(st, msg);
            continue;
        }
        li_stats_add(st, line);
        json_decref(line);
    }
    if (li_reader_truncated(r)) {
        snprintf(msg, sizeof msg,
                 "%s:%zu: the last line is cut short (the session did not end cleanly); "
                 "the lines before it are used",
                 path, li_reader_truncated(r));
        if (warn) fprintf(warn, "lsptap stats: %s\n", msg);
        li_stats_note(st, msg);
    }
    li_reader_close(r);
    li_stats_finish(st);
    *out = st;
    return 0;
}

/* ---- output ----------------------------------------------------------------- */

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
    if (st->exit) {
        json_t *sig = json_object_get(st->exit, "signal");
        if (json_is_integer(sig) && json_integer_value(sig) > 0)
            fprintf(out, "ended    server killed by signal %lld\n",
                    (long long)json_integer_value(sig));
        else
            fprintf(out, "ended    server exited with status %lld\n",
                    (long long)json_integer_value(json_object_get(st->exit, "status")));
    } else {
        fprintf(out, "ended    no exit event recorded\n");
    }
}

void li_stats_print(const struct li_stats *st, FILE *out)
{
    char a[32], b[32], c[32], d[32], e[32], name[300];
    int w = 6;
    for (size_t i = 0; i < st->nrows; i++) {
        row_name(name, sizeof name, &st->rows[i]);
        if ((int)strlen(name) > w) w = (int)strlen(name);
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
    print_end(st, out);
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
        fprintf(out, "%-*s %6llu %6llu %6llu %5llu %5llu %8s %8s %8s %8s %10s\n", w, name,
                (unsigned long long)r->requests, (unsigned long long)r->notifications,
                (unsigned long long)r->replies, (unsigned long long)r->errors,
                (unsigned long long)r->cancelled, a, b, c, d, e);
    }
    const struct plist *p = final_pending(st);
    fprintf(out, "\npending at end: %zu\n", p->n);
    if (p->n) {
        int mw = 6, iw = 2;
        for (size_t i = 0; i < p->n; i++) {
            if ((int)strlen(p->v[i].method) > mw) mw = (int)strlen(p->v[i].method);
            if ((int)strlen(p->v[i].id) > iw) iw = (int)strlen(p->v[i].id);
        }
        fprintf(out, "%-3s  %-*s  %-*s  %8s  %s\n", "DIR", mw, "METHOD", iw, "ID", "AGE",
                "CANCELLED");
        for (size_t i = 0; i < p->n; i++) {
            fmt_us(a, sizeof a, p->v[i].age_us);
            fprintf(out, "%-3s  %-*s  %-*s  %8s  %s\n", p->v[i].dir ? "s2c" : "c2s", mw,
                    p->v[i].method, iw, p->v[i].id, a, p->v[i].cancelled ? "yes" : "no");
        }
    }
    for (size_t i = 0; i < json_array_size(st->warnings); i++)
        fprintf(out, "%snote: %s\n", i ? "" : "\n",
                json_string_value(json_array_get(st->warnings, i)));
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
    const struct plist *p = final_pending(st);
    for (size_t i = 0; i < p->n; i++) {
        json_t *id = json_loads(p->v[i].id, JSON_DECODE_ANY, NULL);
        json_array_append_new(
            pend, json_pack("{s:s,s:s,s:o,s:I,s:b}", "dir", p->v[i].dir ? "s2c" : "c2s", "method",
                            p->v[i].method, "id", id ? id : json_null(), "age_us",
                            (json_int_t)p->v[i].age_us, "cancelled", p->v[i].cancelled));
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
    json_object_set_new(o, "complete", json_boolean(st->summary != NULL));
    json_object_set_new(o, "warnings", json_copy(st->warnings));
    return o;
}
