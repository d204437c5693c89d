/* The one list of session event names (inspect/li_events.h) and the events
 * table of docs/session-format.md agree: a name written but not documented,
 * or documented but never written, fails here and is named. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "inspect/li_events.h"
#include "inspect/li_session.h"

#define MAX_NAMES 256

struct names {
    char *v[MAX_NAMES];
    int n;
};

static void names_free(struct names *ns)
{
    for (int i = 0; i < ns->n; i++)
        free(ns->v[i]);
    ns->n = 0;
}

static int names_has(const struct names *ns, const char *name)
{
    for (int i = 0; i < ns->n; i++)
        if (strcmp(ns->v[i], name) == 0) return 1;
    return 0;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s (the unit tests run from the repository's root)", path);
    char *buf = NULL;
    size_t len = 0, cap = 0, n;
    char chunk[4096];
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (len + n + 1 > cap) {
            cap = (len + n + 1) * 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        memcpy(buf + len, chunk, n);
        len += n;
    }
    fclose(f);
    if (!buf) buf = calloc(1, 1);
    assert_non_null(buf);
    buf[len] = '\0';
    return buf;
}

/* The event names of a session-format document: every `name` in the first
 * cell of the rows of the first table under the "## Event lines" heading
 * (a cell may name several events: `editor_eof`, `server_eof`). Returns the
 * number of table rows read, or -1 when there is no such heading or table. */
static int doc_events(const char *doc, struct names *out)
{
    const char *sec = strstr(doc, "\n## Event lines\n");
    if (!sec) return -1;
    sec += strlen("\n## Event lines\n");
    const char *end = strstr(sec, "\n## ");
    if (!end) end = sec + strlen(sec);
    int rows = 0, in_table = 0;
    for (const char *line = sec; line < end;) {
        const char *nl = memchr(line, '\n', (size_t)(end - line));
        const char *eol = nl ? nl : end;
        if (*line == '|') {
            in_table = 1;
            const char *cell_end = memchr(line + 1, '|', (size_t)(eol - line - 1));
            if (!cell_end) cell_end = eol;
            rows++;
            for (const char *p = line + 1; p < cell_end;) {
                const char *a = memchr(p, '`', (size_t)(cell_end - p));
                if (!a) break;
                const char *b = memchr(a + 1, '`', (size_t)(cell_end - a - 1));
                if (!b) break;
                assert_true(out->n < MAX_NAMES);
                out->v[out->n] = strndup(a + 1, (size_t)(b - a - 1));
                assert_non_null(out->v[out->n]);
                out->n++;
                p = b + 1;
            }
        } else if (in_table) {
            break; /* the table ended */
        }
        line = nl ? nl + 1 : end;
    }
    return in_table ? rows : -1;
}

/* The parser reads what the document's table looks like, and only that. */
static void test_doc_parser(void **state)
{
    (void)state;
    const char *doc =
        "# x\n\n## Message lines\n\n| key | when |\n|---|---|\n| `t_us` | always |\n\n"
        "## Event lines\n\nSome `text`.\n\n| event | written by | members |\n"
        "|---|---|---|\n| `exit` | proxy | `status` (N) |\n"
        "| `editor_eof`, `server_eof` | relay | `error` |\n\nAfter: `not_an_event`.\n\n"
        "| `second_table` | x |\n\n## Record modes\n\n| `off` | y |\n";
    struct names ns = {0};
    assert_int_equal(doc_events(doc, &ns), 4); /* header, separator, two rows */
    assert_int_equal(ns.n, 3);
    assert_string_equal(ns.v[0], "exit");
    assert_string_equal(ns.v[1], "editor_eof");
    assert_string_equal(ns.v[2], "server_eof");
    names_free(&ns);
    assert_int_equal(doc_events("# x\n## Event lines\nno table\n", &ns), -1);
    assert_int_equal(doc_events("# x\n| `exit` | proxy |\n", &ns), -1);
    assert_int_equal(ns.n, 0);
}

/* Every entry has a name fit for a JSON key and a grep, and a description;
 * no name is listed twice. */
static void test_list_well_formed(void **state)
{
    (void)state;
    struct names seen = {0};
    for (int e = 0; e < LI_EV_COUNT; e++) {
        const char *name = li_event_name((enum li_event)e);
        const char *desc = li_event_desc((enum li_event)e);
        assert_non_null(name);
        assert_non_null(desc);
        assert_true(*desc != '\0');
        assert_true(*name != '\0');
        for (const char *p = name; *p; p++)
            if (!((*p >= 'a' && *p <= 'z') || *p == '_'))
                fail_msg("event name \"%s\" has '%c': names are lower case and '_'", name, *p);
        if (names_has(&seen, name)) fail_msg("event \"%s\" is listed twice", name);
        seen.v[seen.n++] = strdup(name);
    }
    assert_null(li_event_name(LI_EV_COUNT));
    assert_null(li_event_desc(LI_EV_COUNT));
    assert_null(li_event_name((enum li_event) - 1));
    names_free(&seen);
}

static void test_doc_matches_list(void **state)
{
    (void)state;
    const char *f = __FILE__;
    const char *slash = strrchr(f, '/');
    char path[1200];
    snprintf(path, sizeof path, "%.*s/../../docs/session-format.md", slash ? (int)(slash - f) : 1,
             slash ? f : ".");
    char *doc = slurp(path);
    struct names documented = {0};
    if (doc_events(doc, &documented) < 0)
        fail_msg("%s: no events table under \"## Event lines\"", path);
    int bad = 0;
    for (int e = 0; e < LI_EV_COUNT; e++) {
        const char *name = li_event_name((enum li_event)e);
        if (!names_has(&documented, name)) {
            print_error("event \"%s\" is written (inspect/li_events.h) but not in the events "
                        "table of docs/session-format.md\n",
                        name);
            bad++;
        }
    }
    for (int i = 0; i < documented.n; i++) {
        int listed = 0;
        for (int e = 0; e < LI_EV_COUNT && !listed; e++)
            listed = strcmp(documented.v[i], li_event_name((enum li_event)e)) == 0;
        if (!listed) {
            print_error("event \"%s\" is in the events table of docs/session-format.md but the "
                        "code never writes it (not in inspect/li_events.h)\n",
                        documented.v[i]);
            bad++;
        }
        for (int j = 0; j < i; j++)
            if (strcmp(documented.v[i], documented.v[j]) == 0) {
                print_error("event \"%s\" is documented twice\n", documented.v[i]);
                bad++;
            }
    }
    names_free(&documented);
    free(doc);
    if (bad) fail_msg("%d difference(s) between inspect/li_events.h and %s", bad, path);
}

/* li_session_event writes the listed name, for every entry. */
struct lines {
    char last[512];
    int n;
};

static void sink(void *ud, const char *line, size_t len)
{
    struct lines *l = ud;
    snprintf(l->last, sizeof l->last, "%.*s", (int)len, line);
    l->n++;
}

static void test_session_writes_the_name(void **state)
{
    (void)state;
    struct lines l = {0};
    struct li_opts o = {LI_LSP, LI_REC_META, 0, 0, sink, &l, NULL, NULL, NULL};
    struct li_session *s = li_session_new(&o);
    assert_non_null(s);
    for (int e = 0; e < LI_EV_COUNT; e++) {
        json_t *f = json_pack("{s:s}", "event", "not this");
        li_session_event(s, 7, (enum li_event)e, f);
        json_decref(f);
        assert_int_equal(l.n, e + 1);
        json_error_t err;
        json_t *line = json_loads(l.last, 0, &err);
        assert_non_null(line);
        assert_string_equal(json_string_value(json_object_get(line, "event")),
                            li_event_name((enum li_event)e));
        json_decref(line);
    }
    li_session_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_doc_parser),
        cmocka_unit_test(test_list_well_formed),
        cmocka_unit_test(test_doc_matches_list),
        cmocka_unit_test(test_session_writes_the_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
