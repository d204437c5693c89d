/*
 * netcheck: HOST:PORT parsing, the JSON object of docs/design.md, the verdict
 * and the exit code of a report.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netcheck/ln.h"
#include "netcheck/ln_render.h"

static void test_parse_ok(void **state)
{
    (void)state;
    static const struct {
        const char *in, *host;
        unsigned port;
    } cases[] = {
        {"127.0.0.1:4389", "127.0.0.1", 4389},
        {"localhost:1", "localhost", 1},
        {"[::1]:65535", "::1", 65535},
        {"[fe80::1%eth0]:22", "fe80::1%eth0", 22},
        {"gopls.example.org:37374", "gopls.example.org", 37374},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ln_target t;
        char err[200];
        ln_target_init(&t);
        assert_int_equal(ln_target_parse(&t, cases[i].in, err, sizeof(err)), 0);
        assert_string_equal(t.host, cases[i].host);
        assert_int_equal(t.port, cases[i].port);
        assert_int_equal(t.probe, LN_PROBE_LSP);
        assert_int_equal(t.timeout_ms, 3000);
    }
}

static void test_parse_bad(void **state)
{
    (void)state;
    static const struct {
        const char *in, *words;
    } cases[] = {
        {"localhost", "expected HOST:PORT"},
        {":80", "empty host"},
        {"host:", "port must be"},
        {"host:0", "port must be"},
        {"host:65536", "port must be"},
        {"host:-1", "port must be"},
        {"host:+1", "port must be"},
        {"host:80x", "port must be"},
        {"::1:80", "needs brackets"},
        {"[::1:80", "without ']'"},
        {"[::1]80", "expected [ADDRESS]:PORT"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ln_target t;
        char err[200] = "";
        ln_target_init(&t);
        assert_int_equal(ln_target_parse(&t, cases[i].in, err, sizeof(err)), -EINVAL);
        if (!strstr(err, cases[i].words))
            fail_msg("%s: \"%s\" lacks \"%s\"", cases[i].in, err, cases[i].words);
    }
}

static void fake_report(struct ln_report *rep, int failed)
{
    memset(rep, 0, sizeof(*rep));
    ln_target_init(&rep->target);
    strcpy(rep->target.host, "127.0.0.1");
    rep->target.port = 41234;
    rep->failed = failed;
    for (int i = 0; i < LN_NLAYERS; i++) {
        rep->layers[i].layer = (enum ln_layer)i;
        rep->layers[i].status = i < failed || failed < 0 ? LN_OK : LN_SKIPPED;
        snprintf(rep->layers[i].summary, LN_TEXT_MAX, "summary %d", i);
        rep->layers[i].evidence = json_pack("{s:i}", "n", i);
        rep->layers[i].ms = 1.5;
    }
    if (failed >= 0) {
        rep->layers[failed].status = LN_FAIL;
        strcpy(rep->verdict, "transport: connection refused");
        strcpy(rep->hint, "nothing listens on 127.0.0.1:41234");
    }
}

static void test_json_shape(void **state)
{
    (void)state;
    struct ln_report rep;
    fake_report(&rep, LN_TRANSPORT);
    json_t *j = ln_report_json(&rep);
    assert_non_null(j);
    assert_int_equal(json_object_size(j), 3);
    json_t *target = json_object_get(j, "target");
    assert_string_equal(json_string_value(json_object_get(target, "host")), "127.0.0.1");
    assert_int_equal(json_integer_value(json_object_get(target, "port")), 41234);
    json_t *layers = json_object_get(j, "layers");
    assert_int_equal(json_array_size(layers), LN_NLAYERS);
    static const char *names[] = {"link", "network", "dns", "transport", "tls", "application"};
    for (size_t i = 0; i < LN_NLAYERS; i++) {
        json_t *l = json_array_get(layers, i);
        assert_int_equal(json_object_size(l), 5);
        assert_string_equal(json_string_value(json_object_get(l, "layer")), names[i]);
        const char *st = json_string_value(json_object_get(l, "status"));
        assert_string_equal(st, i < 3 ? "ok" : i == 3 ? "fail" : "skipped");
        assert_true(json_is_string(json_object_get(l, "summary")));
        assert_true(json_is_object(json_object_get(l, "evidence")));
        assert_true(json_is_number(json_object_get(l, "ms")));
    }
    json_t *v = json_object_get(j, "verdict");
    assert_int_equal(json_object_size(v), 3);
    assert_string_equal(json_string_value(json_object_get(v, "layer")), "transport");
    assert_string_equal(json_string_value(json_object_get(v, "summary")),
                        "transport: connection refused");
    assert_string_equal(json_string_value(json_object_get(v, "hint")),
                        "nothing listens on 127.0.0.1:41234");
    assert_int_equal(ln_exit_code(&rep), LN_EXIT_TRANSPORT);
    json_decref(j);
    ln_report_free(&rep);
}

static void test_json_verdict_null_when_ok(void **state)
{
    (void)state;
    struct ln_report rep;
    fake_report(&rep, -1);
    json_t *j = ln_report_json(&rep);
    assert_true(json_is_null(json_object_get(json_object_get(j, "verdict"), "layer")));
    assert_int_equal(ln_exit_code(&rep), 0);
    json_decref(j);
    ln_report_free(&rep);
}

static void test_exit_codes(void **state)
{
    (void)state;
    static const int want[] = {3, 4, 5, 6, 7, 8};
    for (int l = 0; l < LN_NLAYERS; l++) {
        struct ln_report rep;
        fake_report(&rep, l);
        assert_int_equal(ln_exit_code(&rep), want[l]);
        ln_report_free(&rep);
    }
}

static void test_text(void **state)
{
    (void)state;
    struct ln_report rep;
    fake_report(&rep, LN_TRANSPORT);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ln_render_header(f, &rep.target);
    for (int l = 0; l < LN_NLAYERS; l++)
        ln_render_layer(f, &rep, (enum ln_layer)l, 0);
    ln_render_verdict(f, &rep);
    fclose(f);
    assert_non_null(strstr(buf, "netcheck 127.0.0.1:41234 (probe lsp, timeout 3.0 s)\n"));
    assert_non_null(strstr(buf, "  transport    fail     summary 3  [1.5 ms]\n      n"));
    assert_non_null(strstr(buf, "verdict: transport: connection refused\n"));
    assert_non_null(strstr(buf, "hint:    nothing listens on 127.0.0.1:41234\n"));
    free(buf);
    ln_report_free(&rep);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_ok),   cmocka_unit_test(test_parse_bad),
        cmocka_unit_test(test_json_shape), cmocka_unit_test(test_json_verdict_null_when_ok),
        cmocka_unit_test(test_exit_codes), cmocka_unit_test(test_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
