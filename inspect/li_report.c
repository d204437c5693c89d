#include "inspect/li_report.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "inspect/li_buf.h"
#include "inspect/li_hindex.h"
#include "inspect/li_redact.h"
#include "inspect/li_stats.h"

struct rmsg {
    int64_t t_us, bytes, latency_us; /* latency_us -1: none */
    int dir;                         /* 0 c2s, 1 s2c */
    int kind;                        /* enum li_rkind */
    int flags;                       /* LI_RF_* */
    long pair;                       /* index of the request/reply it pairs with, or -1 */
    char *name;                      /* method / command / DAP event; NULL when none */
    json_t *id;                      /* a reference we hold; NULL when the line has none */
    char *body;                      /* compact JSON text, or NULL */
};

/* Requests waiting for their reply, by direction and id text. */
struct slot {
    char *key;
    long index;
    struct slot *next;
};

#define NBUCKETS 65536

struct li_report {
    char *source;
    json_t *header;
    json_t *events; /* array of event lines, as read */
    struct li_stats *stats;
    struct li_secrets *secrets; /* this machine's, for the header and events */
    struct rmsg *m;
    size_t n, cap;
    struct slot *open[NBUCKETS];
};

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (!d) abort(); /* a report tool with no memory left has nothing better to do */
    return d;
}

static uint32_t hash(const char *s)
{
    return li_hash(s, strlen(s)) % NBUCKETS;
}

/* "0:7", "1:\"abc\"": the direction the request travelled and its id text. */
static char *pair_key(int dir, json_t *id)
{
    if (!id || json_is_null(id)) return NULL;
    char *text = json_dumps(id, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!text) abort();
    size_t n = strlen(text) + 3;
    char *k = malloc(n);
    if (!k) abort();
    snprintf(k, n, "%d:%s", dir, text);
    free(text);
    return k;
}

static void open_request(struct li_report *r, int dir, json_t *id, long index)
{
    char *k = pair_key(dir, id);
    if (!k) return;
    struct slot *s = malloc(sizeof *s);
    if (!s) abort();
    uint32_t h = hash(k);
    *s = (struct slot){.key = k, .index = index, .next = r->open[h]};
    r->open[h] = s; /* a reused id shadows the older request, as the proxy's pairing does */
}

static long close_request(struct li_report *r, int dir, json_t *id)
{
    char *k = pair_key(dir, id);
    if (!k) return -1;
    long index = -1;
    for (struct slot **p = &r->open[hash(k)]; *p; p = &(*p)->next) {
        if (strcmp((*p)->key, k) == 0) {
            struct slot *s = *p;
            index = s->index;
            *p = s->next;
            free(s->key);
            free(s);
            break;
        }
    }
    free(k);
    return index;
}

static int kind_of(const char *k)
{
    static const char *const names[] = {"request", "response", "notification", "event"};
    for (int i = 0; i < 4; i++)
        if (strcmp(k, names[i]) == 0) return i;
    return LI_RK_INVALID;
}

static char *body_text(json_t *body, int *flags)
{
    if (!body) return NULL;
    char *text = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!text) abort();
    size_t n = strlen(text);
    if (n > LI_REPORT_BODY_MAX) {
        n = LI_REPORT_BODY_MAX;
        while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
            n--; /* cut on a UTF-8 character boundary: the page gets valid text */
        text[n] = '\0';
        char *shrunk = realloc(text, n + 1); /* the rest is never written: give it back */
        if (shrunk) text = shrunk;
        *flags |= LI_RF_BODY_CUT;
    }
    return text;
}

static void add_message(struct li_report *r, json_t *line, const char *dirs, const char *kind)
{
    struct rmsg *nm = li_grow(r->m, &r->cap, r->n + 1, sizeof *nm);
    if (!nm) abort();
    r->m = nm;
    long i = (long)r->n++;
    struct rmsg *m = &r->m[i];
    memset(m, 0, sizeof *m);
    m->t_us = json_integer_value(json_object_get(line, "t_us"));
    m->bytes = json_integer_value(json_object_get(line, "bytes"));
    json_t *lat = json_object_get(line, "latency_us");
    m->latency_us = json_is_integer(lat) ? json_integer_value(lat) : -1;
    m->dir = strcmp(dirs, "s2c") == 0;
    m->kind = kind_of(kind);
    m->pair = -1;
    const char *name = json_string_value(json_object_get(line, "method"));
    if (!name) name = json_string_value(json_object_get(line, "command"));
    if (!name && m->kind == LI_RK_EVENT) name = json_string_value(json_object_get(line, "event"));
    m->name = name ? xstrdup(name) : NULL;
    json_t *id = json_object_get(line, "id");
    m->id = id ? json_incref(id) : NULL;
    if (json_object_get(line, "error")) m->flags |= LI_RF_ERROR;
    if (json_is_true(json_object_get(line, "cancelled"))) m->flags |= LI_RF_CANCELLED;
    if (json_is_true(json_object_get(line, "truncated"))) m->flags |= LI_RF_TRUNCATED;
    m->body = body_text(json_object_get(line, "body"), &m->flags);

    if (m->kind == LI_RK_REQUEST) {
        open_request(r, m->dir, id, i);
    } else if (m->kind == LI_RK_RESPONSE) {
        json_t *key = json_object_get(line, "request_seq");
        long q = close_request(r, !m->dir, key ? key : id);
        if (q >= 0) {
            m->pair = q;
            r->m[q].pair = i;
            if (!m->name && r->m[q].name) m->name = xstrdup(r->m[q].name);
        } else {
            m->flags |= LI_RF_UNMATCHED;
        }
    }
}

/* The page is for sharing: what lsptap wrote itself (header, events) is
 * redacted again, for files written before a rule existed and for this
 * machine's secrets. The messages are the recording, kept as they are. */
static json_t *redacted(struct li_report *r, json_t *line)
{
    json_t *c = json_deep_copy(line);
    if (!c) abort();
    li_redact_json_with(c, r->secrets);
    return c;
}

/* Each line of the session after the stats took it: the header is kept
 * (redacted), then messages and events. */
static void add_line(void *ud, json_t *line)
{
    struct li_report *r = ud;
    if (!r->header) {
        r->header = redacted(r, line);
        return;
    }
    const char *dirs = json_string_value(json_object_get(line, "dir"));
    const char *kind = json_string_value(json_object_get(line, "kind"));
    if (dirs && kind)
        add_message(r, line, dirs, kind);
    else if (!dirs && json_is_string(json_object_get(line, "event")))
        json_array_append_new(r->events, redacted(r, line));
}

static struct li_report *report_new(const char *path)
{
    struct li_report *r = calloc(1, sizeof *r);
    if (!r) abort();
    r->source = xstrdup(path);
    if (!(r->secrets = li_secrets_new(environ))) abort();
    r->events = json_array();
    return r;
}

void li_report_free(struct li_report *r)
{
    if (!r) return;
    li_secrets_free(r->secrets);
    for (size_t i = 0; i < r->n; i++) {
        free(r->m[i].name);
        free(r->m[i].body);
        json_decref(r->m[i].id);
    }
    free(r->m);
    for (size_t b = 0; b < NBUCKETS; b++) {
        for (struct slot *s = r->open[b], *next; s; s = next) {
            next = s->next;
            free(s->key);
            free(s);
        }
    }
    li_stats_free(r->stats);
    json_decref(r->header);
    json_decref(r->events);
    free(r->source);
    free(r);
}

size_t li_report_messages(const struct li_report *r)
{
    return r->n;
}

int li_report_load(const char *path, struct li_report **out, FILE *warn, char *err, size_t errlen)
{
    *out = NULL;
    struct li_report *r = report_new(path);
    if (li_stats_load_each(path, "report", add_line, r, &r->stats, warn, err, errlen)) {
        li_report_free(r);
        return 2;
    }
    for (size_t i = 0; i < r->n; i++)
        if (r->m[i].kind == LI_RK_REQUEST && r->m[i].pair < 0) r->m[i].flags |= LI_RF_PENDING;
    *out = r;
    return 0;
}

/* ---- output ----------------------------------------------------------------- */

/* JSON text out, with every '<' as \u003c: '<' only ever occurs inside
 * strings, where the escape means the same character. */
static int put_escaped(const char *buf, size_t len, void *data)
{
    FILE *f = data;
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        if (buf[i] != '<') continue;
        if (fwrite(buf + start, 1, i - start, f) != i - start) return -1;
        if (fputs("\\u003c", f) == EOF) return -1;
        start = i + 1;
    }
    return fwrite(buf + start, 1, len - start, f) == len - start ? 0 : -1;
}

static int put_json(FILE *f, json_t *v)
{
    return json_dump_callback(v, put_escaped, f, JSON_COMPACT | JSON_ENCODE_ANY);
}

static int put_json_new(FILE *f, json_t *v)
{
    int rc = put_json(f, v ? v : json_null());
    json_decref(v);
    return rc;
}

static json_t *message_row(const struct rmsg *m)
{
    return json_pack("[I,i,i,o,O,I,I,i,I]", (json_int_t)m->t_us, m->dir, m->kind,
                     m->name ? json_string(m->name) : json_null(), m->id ? m->id : json_null(),
                     (json_int_t)m->bytes, (json_int_t)m->latency_us, m->flags,
                     (json_int_t)m->pair);
}

int li_report_write_data(const struct li_report *r, FILE *f)
{
    int rc = 0;
    rc |= fputs("{\"report\":1,\"source\":", f) == EOF;
    rc |= put_json_new(f, json_string(r->source));
    rc |= fputs(",\"header\":", f) == EOF;
    rc |= put_json(f, r->header);
    rc |= fputs(",\"stats\":", f) == EOF;
    rc |= put_json_new(f, li_stats_json(r->stats));
    rc |= fputs(",\"events\":", f) == EOF;
    rc |= put_json(f, r->events);
    rc |= fputs(",\"columns\":[\"t_us\",\"dir\",\"kind\",\"name\",\"id\",\"bytes\",\"latency_us\","
                "\"flags\",\"pair\"],\"messages\":[",
                f) == EOF;
    for (size_t i = 0; i < r->n && !rc; i++) {
        if (i) rc |= fputc(',', f) == EOF;
        rc |= put_json_new(f, message_row(&r->m[i]));
        if (i % 8 == 7) rc |= fputc('\n', f) == EOF; /* keeps lines short for editors */
    }
    rc |= fputs("],\"bodies\":[", f) == EOF;
    for (size_t i = 0; i < r->n && !rc; i++) {
        if (i) rc |= fputs(",\n", f) == EOF;
        const char *b = r->m[i].body;
        rc |= put_json_new(f, b ? json_string(b) : json_null());
    }
    rc |= fputs("]}", f) == EOF;
    return rc ? -1 : 0;
}

int li_report_write_html(const struct li_report *r, FILE *f)
{
    const char *mark = strstr(li_report_page, LI_REPORT_DATA_MARKER);
    if (!mark) abort(); /* the generated template always has it */
    size_t head = (size_t)(mark - li_report_page);
    if (fwrite(li_report_page, 1, head, f) != head) return -1;
    if (li_report_write_data(r, f)) return -1;
    return fputs(mark + strlen(LI_REPORT_DATA_MARKER), f) == EOF ? -1 : 0;
}
