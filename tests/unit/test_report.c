/* li_report: pairing, flags, escaping and the page template, on the stats
 * fixture and on small sessions written here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "inspect/li_report.h"
#include "inspect/li_session.h"

static char srcdir[1024];
static char tmpdir[] = "/tmp/lsptap-test-report-XXXXXX";

static int setup(void **state)
{
    (void)state;
    const char *f = __FILE__;
    const char *slash = strrchr(f, '/');
    snprintf(srcdir, sizeof srcdir, "%.*s/../..", slash ? (int)(slash - f) : 1, slash ? f : ".");
    assert_non_null(mkdtemp(tmpdir));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s", path);
    char *buf = NULL;
    size_t n = 0;
    FILE *mem = open_memstream(&buf, &n);
    char chunk[65536];
    size_t r;
    while ((r = fread(chunk, 1, sizeof chunk, f)) > 0)
        fwrite(chunk, 1, r, mem);
    fclose(f);
    fclose(mem);
    if (len) *len = n;
    return buf;
}

static const char *write_file(const char *name, const char *text)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

/* The data object li_report writes for `path` (new reference); the raw
 * text is left in *text when text is not NULL. */
static json_t *data_of(const char *path, char **text)
{
    struct li_report *r;
    char err[512];
    if (li_report_load(path, &r, NULL, err, sizeof err) != 0) fail_msg("load: %s", err);
    char *buf = NULL;
    size_t n = 0;
    FILE *mem = open_memstream(&buf, &n);
    assert_int_equal(li_report_write_data(r, mem), 0);
    fclose(mem);
    li_report_free(r);
    json_error_t je;
    json_t *d = json_loadb(buf, n, 0, &je);
    if (!d) fail_msg("data is not JSON: %s at %d", je.text, je.position);
    if (text)
        *text = buf;
    else
        free(buf);
    return d;
}

static json_t *msg(json_t *d, size_t i)
{
    return json_array_get(json_object_get(d, "messages"), i);
}

static json_int_t col(json_t *m, size_t c)
{
    return json_integer_value(json_array_get(m, c));
}

enum { C_T, C_DIR, C_KIND, C_NAME, C_ID, C_BYTES, C_LAT, C_FLAGS, C_PAIR };

/* The compiled-in page is the template's bytes: the generated file was
 * regenerated after the last edit. */
static void test_page_matches_template(void **state)
{
    (void)state;
    char path[1200];
    snprintf(path, sizeof path, "%s/inspect/li_report.html", srcdir);
    char *tpl = slurp(path, NULL);
    if (strcmp(tpl, li_report_page) != 0)
        fail_msg("inspect/li_report_page.c is stale: run scripts/gen-report-page.sh");
    assert_non_null(strstr(
        li_report_page,
        "<script type=\"application/json\" id=\"lsptap-data\">" LI_REPORT_DATA_MARKER "</script>"));
    free(tpl);
}

static void test_fixture_pairs_and_flags(void **state)
{
    (void)state;
    char path[1200];
    snprintf(path, sizeof path, "%s/tests/unit/data/session-lsp.jsonl", srcdir);
    json_t *d = data_of(path, NULL);
    assert_int_equal(json_array_size(json_object_get(d, "messages")), 34);
    assert_int_equal(json_array_size(json_object_get(d, "bodies")), 34);
    /* hover id 1 and its reply point at each other */
    assert_int_equal(col(msg(d, 0), C_PAIR), 1);
    assert_int_equal(col(msg(d, 1), C_PAIR), 0);
    assert_int_equal(col(msg(d, 1), C_KIND), LI_RK_RESPONSE);
    assert_int_equal(col(msg(d, 1), C_LAT), 100);
    size_t n = json_array_size(json_object_get(d, "messages"));
    int pending = 0, unmatched = 0, cancelled_err = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *m = msg(d, i);
        int f = (int)col(m, C_FLAGS);
        if (f & LI_RF_PENDING) {
            pending++;
            assert_string_equal(json_string_value(json_array_get(m, C_NAME)),
                                "textDocument/definition");
            assert_int_equal(col(m, C_ID), 14);
            assert_int_equal(col(m, C_PAIR), -1);
        }
        if (f & LI_RF_UNMATCHED) unmatched++;
        if ((f & LI_RF_ERROR) && (f & LI_RF_CANCELLED)) cancelled_err++;
        if (col(m, C_KIND) == LI_RK_REQUEST && col(m, C_PAIR) >= 0)
            assert_int_equal(col(msg(d, (size_t)col(m, C_PAIR)), C_PAIR), (json_int_t)i);
    }
    assert_int_equal(pending, 1);
    assert_int_equal(unmatched, 1);
    assert_int_equal(cancelled_err, 1);
    /* the stats travel with the data */
    json_t *st = json_object_get(d, "stats");
    assert_string_equal(json_string_value(json_object_get(st, "protocol")), "lsp");
    assert_true(json_array_size(json_object_get(st, "methods")) > 0);
    json_decref(d);
}

/* A body that says "</script>" cannot end the data element early. */
static void test_data_escapes_less_than(void **state)
{
    (void)state;
    const char *path = write_file(
        "angle.jsonl", "{\"lsptap\":1,\"protocol\":\"lsp\"}\n"
                       "{\"t_us\":1,\"dir\":\"s2c\",\"bytes\":80,\"kind\":\"notification\","
                       "\"method\":\"x</script>\","
                       "\"body\":{\"method\":\"x</script>\",\"params\":\"<!-- </SCRIPT a<b\"}}\n");
    char *text;
    json_t *d = data_of(path, &text);
    assert_null(strchr(text, '<'));
    json_t *m = msg(d, 0);
    assert_string_equal(json_string_value(json_array_get(m, C_NAME)), "x</script>");
    const char *body = json_string_value(json_array_get(json_object_get(d, "bodies"), 0));
    assert_non_null(strstr(body, "<!-- </SCRIPT a<b"));
    free(text);
    json_decref(d);

    struct li_report *r;
    char err[256];
    assert_int_equal(li_report_load(path, &r, NULL, err, sizeof err), 0);
    char *page = NULL;
    size_t n = 0;
    FILE *mem = open_memstream(&page, &n);
    assert_int_equal(li_report_write_html(r, mem), 0);
    fclose(mem);
    li_report_free(r);
    assert_null(strstr(page, LI_REPORT_DATA_MARKER));
    assert_null(strstr(page, "x</script>"));
    assert_int_equal(strncmp(page, "<!DOCTYPE html>", 15), 0);
    free(page);
}

static FILE *sink_file;
static void to_file(void *ud, const char *line, size_t len)
{
    (void)ud;
    fwrite(line, 1, len, sink_file);
}

static void feed(struct li_session *s, enum li_dir dir, const char *body, uint64_t t)
{
    char buf[512];
    int n = snprintf(buf, sizeof buf, "Content-Length: %zu\r\n\r\n%s", strlen(body), body);
    li_session_feed(s, dir, buf, (size_t)n, t);
}

/* DAP: a response pairs with the request its request_seq names, not with
 * the message whose seq equals its own. */
static void test_dap_pairs_by_request_seq(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/dap.jsonl", tmpdir);
    sink_file = fopen(path, "w");
    struct li_opts o = {LI_DAP, LI_REC_FULL, 0, 0, to_file, NULL, NULL, NULL, NULL};
    struct li_session *s = li_session_new(&o);
    li_session_write_header(s, NULL);
    feed(s, LI_C2S, "{\"seq\":1,\"type\":\"request\",\"command\":\"initialize\"}", 100);
    feed(s, LI_C2S, "{\"seq\":2,\"type\":\"request\",\"command\":\"launch\"}", 120);
    feed(s, LI_S2C,
         "{\"seq\":1,\"type\":\"response\",\"request_seq\":2,\"success\":false,"
         "\"command\":\"launch\",\"message\":\"no program\"}",
         400);
    feed(s, LI_S2C, "{\"seq\":2,\"type\":\"event\",\"event\":\"terminated\"}", 450);
    li_session_write_summary(s, 500, NULL);
    li_session_free(s);
    fclose(sink_file);

    json_t *d = data_of(path, NULL);
    assert_int_equal(col(msg(d, 1), C_PAIR), 2);
    assert_int_equal(col(msg(d, 2), C_PAIR), 1);
    assert_int_equal(col(msg(d, 2), C_FLAGS), LI_RF_ERROR);
    assert_string_equal(json_string_value(json_array_get(msg(d, 2), C_NAME)), "launch");
    assert_int_equal(col(msg(d, 0), C_FLAGS), LI_RF_PENDING);
    assert_int_equal(col(msg(d, 3), C_KIND), LI_RK_EVENT);
    assert_string_equal(json_string_value(json_array_get(msg(d, 3), C_NAME)), "terminated");
    json_decref(d);
}

/* A body over the report's limit is embedded cut, on a character boundary. */
static void test_huge_body_is_cut(void **state)
{
    (void)state;
    size_t big = LI_REPORT_BODY_MAX + 100;
    char *line = malloc(big + 256);
    int n = sprintf(line, "{\"t_us\":1,\"dir\":\"s2c\",\"bytes\":9,\"kind\":\"notification\","
                          "\"method\":\"big\",\"body\":{\"p\":\"");
    for (size_t i = 0; i < big / 2; i++) {
        line[n++] = (char)0xC3; /* é: two bytes, so a cut at an odd byte must back off */
        line[n++] = (char)0xA9;
    }
    strcpy(line + n, "\"}}\n");
    char path[512];
    snprintf(path, sizeof path, "%s/big.jsonl", tmpdir);
    FILE *f = fopen(path, "w");
    fputs("{\"lsptap\":1,\"protocol\":\"lsp\"}\n", f);
    fputs(line, f);
    fclose(f);
    free(line);
    json_t *d = data_of(path, NULL);
    assert_int_equal(col(msg(d, 0), C_FLAGS), LI_RF_BODY_CUT);
    const char *b = json_string_value(json_array_get(json_object_get(d, "bodies"), 0));
    assert_non_null(b);
    assert_true(strlen(b) <= LI_REPORT_BODY_MAX);
    assert_true(strlen(b) > LI_REPORT_BODY_MAX - 4);
    json_decref(d);
}

static void test_not_a_session(void **state)
{
    (void)state;
    struct li_report *r;
    char err[512];
    const char *p = write_file("other.jsonl", "{\"name\":1}\n");
    assert_int_equal(li_report_load(p, &r, NULL, err, sizeof err), 2);
    assert_non_null(strstr(err, "other.jsonl:1: not a session file"));
    char missing[512];
    snprintf(missing, sizeof missing, "%s/nope.jsonl", tmpdir);
    assert_int_equal(li_report_load(missing, &r, NULL, err, sizeof err), 2);
    assert_non_null(strstr(err, "No such file or directory"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_page_matches_template),
        cmocka_unit_test(test_fixture_pairs_and_flags),
        cmocka_unit_test(test_data_escapes_less_than),
        cmocka_unit_test(test_dap_pairs_by_request_seq),
        cmocka_unit_test(test_huge_body_is_cut),
        cmocka_unit_test(test_not_a_session),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
