/*
 * li_stats — see li_stats.h. Reads a session line by line into per-method
 * counts, latencies, the requests left pending and what the ending looked
 * like; judges how the session ended; merges several reports.
 * li_stats_render.c shows the result.
 */
#include "inspect/li_stats.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "inspect/li_escape.h"
#include "inspect/li_reader.h"
#include "inspect/li_stats_int.h"

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
    st->editor_left_us = -1;
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
    json_decref(st->spawn_failed);
    json_decref(st->netchecks);
    json_decref(st->keepalive);
    json_decref(st->header);
    json_decref(st->parts);
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
    } else if (strcmp(ev, "spawn_failed") == 0) {
        json_decref(st->spawn_failed);
        st->spawn_failed = json_incref(line);
    } else if (strcmp(ev, "editor_eof") == 0 || strcmp(ev, "editor_gone") == 0) {
        if (st->editor_left_us < 0) {
            st->editor_left_us = (int64_t)u64_member(line, "t_us");
            st->editor_left = strcmp(ev, "editor_eof") == 0 ? "closed its end" : "stopped reading";
        }
    } else if (strcmp(ev, "netcheck") == 0) {
        if (!st->netchecks) st->netchecks = json_array();
        json_array_append(st->netchecks, line);
    } else if (!strcmp(ev, "server_lost") || !strcmp(ev, "reconnect") || !strcmp(ev, "restart") ||
               !strcmp(ev, "crash_loop") || !strcmp(ev, "keepalive_off") ||
               (!strcmp(ev, "replayed") && json_object_get(line, "documents"))) {
        /* handshake supervision's `replayed` has no documents: not keep-alive's */
        if (!st->keepalive) st->keepalive = json_array();
        json_array_append(st->keepalive, line);
    } else if (strcmp(ev, "terminate") == 0) {
        st->terminated = 1;
        const char *sig = str_member(line, "signal");
        snprintf(st->terminate_signal, sizeof st->terminate_signal, "%s", sig ? sig : "a signal");
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

static void remember_last(struct li_stats *st, int dir, json_t *line, const char *kind,
                          const char *name)
{
    struct lastmsg *l = &st->last[dir][st->nlast[dir]++ % LAST_KEPT];
    memset(l, 0, sizeof *l);
    l->t_us = u64_member(line, "t_us");
    snprintf(l->kind, sizeof l->kind, "%s", kind);
    snprintf(l->name, sizeof l->name, "%s", name ? name : "");
    json_t *id = json_object_get(line, "id");
    if (id) {
        char *text = json_text(id);
        snprintf(l->id, sizeof l->id, "%s", text);
        free(text);
    }
    l->error = json_object_get(line, "error") != NULL;
}

static void add_message(struct li_stats *st, json_t *line, const char *dirs, const char *kind)
{
    int dir = dir_of(dirs);
    uint64_t bytes = u64_member(line, "bytes");
    uint64_t t = u64_member(line, "t_us");
    int dap = strcmp(st->protocol, "dap") == 0;
    const char *name = str_member(line, dap ? "command" : "method");
    remember_last(st, dir, line, kind,
                  name                         ? name
                  : strcmp(kind, "event") == 0 ? str_member(line, "event")
                                               : NULL);
    if (dir == 0 && name) {
        if (strcmp(name, dap ? "disconnect" : "shutdown") == 0 && strcmp(kind, "request") == 0)
            st->said_shutdown = 1;
        if (dap ? strcmp(name, "disconnect") == 0 && strcmp(kind, "request") == 0
                : strcmp(name, "exit") == 0 && strcmp(kind, "notification") == 0)
            st->said_exit = 1;
    }
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
    li_escape_nuls(line); /* a peer's NUL in a name must not cut it short */
    st->lines++;
    uint64_t t = u64_member(line, "t_us");
    if (t > st->last_t_us) st->last_t_us = t;
    if (st->lines == 1) {
        st->header = json_incref(line);
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
    json_int_t dropped = json_integer_value(json_object_get(st->summary, "dropped_lines"));
    if (dropped > 0) {
        char w[256];
        snprintf(w, sizeof w,
                 "%lld session lines were dropped while recording (the disk was too slow or "
                 "failing): the counts, latencies and pending requests here miss them",
                 (long long)dropped);
        li_stats_note(st, w);
    }
}

int64_t li_percentile(const int64_t *v, size_t n, unsigned p)
{
    assert(p <= 100); /* past 100 the rank would be past the end */
    if (!n) return -1;
    assert(v[0] <= v[n - 1]); /* sorted ascending (the cheap half of the check) */
    size_t rank = (p * n + 99) / 100;
    if (rank < 1) rank = 1;
    return v[rank - 1];
}

const struct plist *li_stats_final_pending(const struct li_stats *st)
{
    return st->summary ? &st->pending : &st->open;
}

/* ---- how the session ended ------------------------------------------------ */

static const char *summary_str(const struct li_stats *st, const char *key)
{
    return st->summary ? str_member(st->summary, key) : NULL;
}

/* The last `max` lines of the server's stderr (the summary keeps its last
 * 64 KiB), as a JSON array of strings. */
static json_t *stderr_lines(const struct li_stats *st, size_t max)
{
    json_t *out = json_array();
    const char *tail = summary_str(st, "stderr_tail");
    if (!tail) return out;
    const char *end = tail + strlen(tail);
    while (end > tail && end[-1] == '\n')
        end--;
    const char *start = end;
    for (size_t n = 0; start > tail; start--)
        if (start[-1] == '\n' && ++n == max) break;
    for (const char *p = start; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        json_array_append_new(out, json_stringn(p, (size_t)(e - p)));
        p = nl ? nl + 1 : end;
    }
    return out;
}

static json_t *last_json(const struct li_stats *st, int dir)
{
    json_t *a = json_array();
    size_t n = st->nlast[dir] < LAST_KEPT ? st->nlast[dir] : LAST_KEPT;
    for (size_t k = st->nlast[dir] - n; k < st->nlast[dir]; k++) {
        const struct lastmsg *l = &st->last[dir][k % LAST_KEPT];
        json_t *id = l->id[0] ? json_loads(l->id, JSON_DECODE_ANY, NULL) : NULL;
        json_array_append_new(a, json_pack("{s:I,s:s,s:s,s:o,s:b}", "t_us", (json_int_t)l->t_us,
                                           "kind", l->kind, "method", l->name, "id",
                                           id ? id : json_null(), "error", l->error));
    }
    return a;
}

/* How the editor said goodbye, when it did (said_exit): the words the
 * ending's summary uses. */
static const char *goodbye(const struct li_stats *st)
{
    if (strcmp(st->protocol, "dap") == 0) return "disconnect";
    return st->said_shutdown ? "shutdown and exit" : "exit (without shutdown)";
}

json_t *li_stats_ending(const struct li_stats *st)
{
    char what[512];
    const char *how;
    int abnormal = 1;
    json_t *status = st->exit ? json_object_get(st->exit, "status") : NULL;
    json_t *sig = st->exit ? json_object_get(st->exit, "signal") : NULL;
    int killed = json_is_integer(sig) && json_integer_value(sig) > 0;
    const char *signame = st->exit ? str_member(st->exit, "signal_name") : NULL;
    long long code = json_integer_value(status), signo = json_integer_value(sig);
    int editor_left = st->editor_left_us >= 0 &&
                      (!st->exit || st->editor_left_us <= (int64_t)u64_member(st->exit, "t_us"));
    char died[160];
    if (killed)
        snprintf(died, sizeof died, "was killed by signal %lld%s%s%s", signo, signame ? " (" : "",
                 signame ? signame : "", signame ? ")" : "");
    else
        snprintf(died, sizeof died, "exited with status %lld", code);

    if (st->spawn_failed || (summary_str(st, "ending") &&
                             strcmp(summary_str(st, "ending"), "server unavailable") == 0)) {
        how = "spawn_failed";
        const char *why = st->spawn_failed ? str_member(st->spawn_failed, "error") : NULL;
        snprintf(what, sizeof what, "The server could not be started%s%s.", why ? ": " : "",
                 why ? why : "");
    } else if (!st->summary && st->said_exit) {
        /* Not a crash: eglot, for one, SIGKILLs the server's process group
         * about 10 ms after exit; lsptap writes each line at once after
         * shutdown (docs/session-format.md), so the traffic is all here. */
        how = "killed_after_exit";
        abnormal = 0;
        snprintf(what, sizeof what,
                 "Killed right after a clean ending: the editor sent %s%s%s, then lsptap was "
                 "killed before it could write the summary (as editors that kill the server's "
                 "process group after exit do); every message relayed is in the file.",
                 goodbye(st), st->exit ? ", the server " : "", st->exit ? died : "");
    } else if (!st->summary) {
        how = "unfinished";
        snprintf(
            what, sizeof what,
            "The session file ends without a summary: lsptap itself was killed or crashed%s%s.",
            st->exit ? "; the server " : "", st->exit ? died : "");
    } else if (!st->exit) {
        how = "unknown";
        snprintf(what, sizeof what, "No exit of the server was recorded.");
    } else if (st->said_exit && (!killed || st->terminated)) {
        /* The editor said goodbye; a server that then had to be signalled
         * still ended on the editor's request, but not cleanly. */
        how = "normal";
        abnormal = killed || code != 0;
        if (st->terminated)
            snprintf(what, sizeof what,
                     "Shutdown: the editor sent %s, but the server did not exit by itself; "
                     "lsptap sent it %s, and it %s.",
                     goodbye(st), st->terminate_signal, died);
        else
            snprintf(what, sizeof what, "Normal shutdown: the editor sent %s; the server %s.",
                     goodbye(st), died);
    } else if (editor_left) {
        char left[128];
        snprintf(left, sizeof left, "it %s %s", st->editor_left,
                 st->said_shutdown ? "after shutdown, without exit" : "without shutdown");
        how = "editor_gone";
        if (st->terminated)
            snprintf(what, sizeof what,
                     "The editor went away (%s); the server did not exit by itself, lsptap sent "
                     "it %s, and it %s.",
                     left, st->terminate_signal, died);
        else
            snprintf(what, sizeof what, "The editor went away (%s); the server then %s.", left,
                     died);
    } else {
        how = killed ? "server_killed" : "server_exited";
        snprintf(what, sizeof what, "The server %s while the editor was still connected.", died);
    }
    json_t *o = json_pack("{s:s,s:s,s:b}", "how", how, "summary", what, "abnormal", abnormal);
    json_object_set_new(o, "status", status ? json_incref(status) : json_null());
    json_object_set_new(o, "signal", sig ? json_incref(sig) : json_null());
    json_object_set_new(o, "pending", json_integer((json_int_t)li_stats_final_pending(st)->n));
    json_object_set_new(o, "stderr_tail", stderr_lines(st, 20));
    json_object_set_new(o, "last",
                        json_pack("{s:o,s:o}", "c2s", last_json(st, 0), "s2c", last_json(st, 1)));
    return o;
}

int li_stats_load_each(const char *path, const char *tool, void (*each)(void *ud, json_t *line),
                       void *ud, struct li_stats **out, FILE *warn, char *err, size_t errlen)
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
    do {
        if (rc == LI_READ_ERROR) {
            snprintf(err, errlen, "%s", msg);
            li_stats_free(st);
            li_reader_close(r);
            return 2;
        }
        if (rc == LI_READ_BAD) {
            if (warn) fprintf(warn, "lsptap %s: %s; skipped\n", tool, msg);
            li_stats_note(st, msg);
            continue;
        }
        li_stats_add(st, line);
        if (each) each(ud, line);
        json_decref(line);
    } while ((rc = li_reader_next(r, &line, &lineno, msg, sizeof msg)) != LI_READ_EOF);
    if (li_reader_truncated(r)) {
        snprintf(msg, sizeof msg,
                 "%s:%zu: the last line is cut short (the session did not end cleanly); "
                 "the lines before it are used",
                 path, li_reader_truncated(r));
        if (warn) fprintf(warn, "lsptap %s: %s\n", tool, msg);
        li_stats_note(st, msg);
    }
    li_reader_close(r);
    li_stats_finish(st);
    *out = st;
    return 0;
}

int li_stats_load(const char *path, struct li_stats **out, FILE *warn, char *err, size_t errlen)
{
    return li_stats_load_each(path, "stats", NULL, NULL, out, warn, err, errlen);
}

json_t *li_stats_brief(const struct li_stats *st)
{
    json_t *h = st->header;
    json_t *argv = json_object_get(h, "argv");
    json_t *o = json_pack("{s:s,s:s,s:I,s:I}", "session", st->source, "protocol", st->protocol,
                          "duration_us", (json_int_t)st->last_t_us, "messages",
                          (json_int_t)(st->messages[0] + st->messages[1]));
    json_t *start = json_object_get(h, "start");
    json_object_set_new(o, "start", start ? json_incref(start) : json_null());
    json_object_set_new(o, "argv", json_is_array(argv) ? json_incref(argv) : json_array());
    json_t *e = li_stats_ending(st);
    json_object_set(o, "ended", json_object_get(e, "how"));
    json_object_set(o, "ending", json_object_get(e, "summary"));
    json_object_set_new(o, "pending", json_integer((json_int_t)li_stats_final_pending(st)->n));
    json_object_set_new(o, "complete", json_boolean(st->summary != NULL));
    json_decref(e);
    return o;
}

struct li_stats *li_stats_merge(struct li_stats *const *v, size_t n)
{
    char name[64];
    snprintf(name, sizeof name, "%zu sessions", n);
    struct li_stats *m = li_stats_new(name);
    m->parts = json_array();
    m->summary = json_object(); /* complete unless a part is not (see li_stats_json) */
    for (size_t k = 0; k < n; k++) {
        const struct li_stats *s = v[k];
        if (k == 0)
            snprintf(m->protocol, sizeof m->protocol, "%s", s->protocol);
        else if (strcmp(m->protocol, s->protocol) != 0)
            snprintf(m->protocol, sizeof m->protocol, "mixed");
        json_t *brief = li_stats_brief(s);
        json_array_append_new(m->parts, brief);
        const char *src = json_string_value(json_object_get(brief, "session"));
        for (size_t i = 0; i < s->nrows; i++) {
            const struct row *r = &s->rows[i];
            struct row *d = row_of(m, r->name, r->is_event);
            d->requests += r->requests;
            d->notifications += r->notifications;
            d->replies += r->replies;
            d->errors += r->errors;
            d->cancelled += r->cancelled;
            d->bytes += r->bytes;
            for (size_t j = 0; j < r->nlat; j++)
                add_latency(d, r->lat[j]);
        }
        const struct plist *p = li_stats_final_pending(s);
        for (size_t i = 0; i < p->n; i++) {
            struct pend *q = plist_push(&m->pending);
            *q = p->v[i];
            q->method = xstrdup(p->v[i].method);
            q->id = xstrdup(p->v[i].id);
            q->session = src;
        }
        for (int d = 0; d < 2; d++) {
            m->messages[d] += s->messages[d];
            m->bytes[d] += s->bytes[d];
        }
        m->invalid += s->invalid;
        m->framing_errors += s->framing_errors;
        if (s->last_t_us > m->last_t_us) m->last_t_us = s->last_t_us;
        for (size_t i = 0; i < json_array_size(s->warnings); i++)
            json_array_append(m->warnings, json_array_get(s->warnings, i));
    }
    for (size_t i = 0; i < m->nrows; i++)
        sort(m->rows[i].lat, m->rows[i].nlat, sizeof(int64_t), cmp_i64);
    sort(m->rows, m->nrows, sizeof *m->rows, cmp_row);
    return m;
}
