/* li_redact and li_escape: what lsptap never prints, and how it prints what
 * a peer said. Each row is an input and the text that may leave lsptap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "inspect/li_escape.h"
#include "inspect/li_redact.h"

struct row {
    const char *in, *out;
};

/* Free text (li_redact), no environment. */
static const struct row text_rows[] = {
    /* URLs with a scheme: the password, or a user name alone. */
    {"https://user:secret@proxy.example, direct", "https://user:REDACTED@proxy.example, direct"},
    {"https://ghp_abc123@github.com/x|https://a:b@c.example/p",
     "https://REDACTED@github.com/x|https://a:REDACTED@c.example/p"},
    {"https://proxy.golang.org,direct", "https://proxy.golang.org,direct"},
    {"https://h.example/mod@v1", "https://h.example/mod@v1"},
    /* The last '@' of the authority ends the userinfo (net/url). */
    {"http://u:p@ss@proxy.example:3128", "http://u:REDACTED@proxy.example:3128"},
    {"http://u:pa,ss@proxy.example:3128,direct", "http://u:REDACTED@proxy.example:3128,direct"},
    /* A raw '/' or a blank typed in the password. */
    {"http://u:pa/ss@h.example:1,direct", "http://u:REDACTED@h.example:1,direct"},
    /* host:port, then a module path holding "@v": no userinfo there. */
    {"Get \"http://127.0.0.1:3000/example.org/dep/@v/v1.0.0.mod\": dial tcp",
     "Get \"http://127.0.0.1:3000/example.org/dep/@v/v1.0.0.mod\": dial tcp"},
    {"https://proxy.example:443/golang.org/x/mod/@v/list",
     "https://proxy.example:443/golang.org/x/mod/@v/list"},
    {"HTTPS_PROXY=http://u:pa ss@h.example:1 is bad",
     "HTTPS_PROXY=http://u:REDACTED@h.example:1 is bad"},
    /* No scheme: go's proxy settings accept user:password@host. */
    {"GOPROXY=user:TOKEN123@proxy.example,direct", "GOPROXY=user:REDACTED@proxy.example,direct"},
    {"proxyconnect tcp: dial user:TOKEN123@proxy.example:8080",
     "proxyconnect tcp: dial user:REDACTED@proxy.example:8080"},
    {"user@host:path and mailto:x@y and git@github.com:o/r",
     "user@host:path and mailto:x@y and git@github.com:o/r"},
    /* NAME=VALUE with a secret's name, wherever it is. */
    {"GOFLAGS=-ldflags=-X=main.token=s3cr3tvalue -mod=mod",
     "GOFLAGS=-ldflags=-X=main.token=REDACTED -mod=mod"},
    {"-toolexec=env API_TOKEN=abc123xyz ./wrap", "-toolexec=env API_TOKEN=REDACTED ./wrap"},
    {"--api-key=abc -password=\"two words\" x", "--api-key=REDACTED -password=\"REDACTED\" x"},
    {"GOPATH=/home/u/go GO111MODULE=on", "GOPATH=/home/u/go GO111MODULE=on"},
    /* Credentials in a query string. */
    {"https://proxy.example/?token=qqq111&x=1,direct",
     "https://proxy.example/?token=REDACTED&x=1,direct"},
    {"https://b.example/o?X-Amz-Signature=ab12&sig=zz9&access_token=t1#f",
     "https://b.example/o?X-Amz-Signature=REDACTED&sig=REDACTED&access_token=REDACTED#f"},
    {"https://h.example/?page=2&q=go", "https://h.example/?page=2&q=go"},
    {"", ""},
};

static void redact_free_text(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof text_rows / sizeof *text_rows; i++) {
        size_t n = 0;
        char *r = li_redact(text_rows[i].in, strlen(text_rows[i].in), NULL, &n);
        assert_non_null(r);
        if (strcmp(r, text_rows[i].out))
            print_error("row %zu: %s\n  got  %s\n", i, text_rows[i].in, r);
        assert_string_equal(r, text_rows[i].out);
        assert_int_equal(n, strlen(r));
        free(r);
    }
}

/* A variable's value, read as go reads that variable. */
static const struct {
    const char *name, *value, *out;
} value_rows[] = {
    {"GITHUB_TOKEN", "abc", LI_REDACTED},
    {"AWS_SECRET_ACCESS_KEY", "abc", LI_REDACTED},
    {"api_key", "abc", LI_REDACTED},
    {"NPM_AUTH", "abc", LI_REDACTED},
    {"GOPATH", "/home/u/go", "/home/u/go"},
    {"HTTPS_PROXY", "user:TOKEN123@proxy.example", "user:REDACTED@proxy.example"},
    {"HTTPS_PROXY", "tok3n@proxy.example:3128", "REDACTED@proxy.example:3128"},
    {"HTTPS_PROXY", "http://u:p,w d@x@proxy.example:1", "http://u:REDACTED@proxy.example:1"},
    {"https_proxy", "u:pa ss,w@proxy.example", "u:REDACTED@proxy.example"},
    {"GOPROXY", "https://a:b@one.example,direct|https://c:dd@two.example",
     "https://a:REDACTED@one.example,direct|https://c:REDACTED@two.example"},
    {"GOPROXY", "https://u:pa,ss@proxy.example,direct", "https://u:REDACTED@proxy.example,direct"},
    {"GOPROXY", "https://proxy.golang.org,direct", "https://proxy.golang.org,direct"},
    {"NO_PROXY", "localhost,.corp.example", "localhost,.corp.example"},
    {"GOFLAGS", "-ldflags=-X=main.token=s3cr3t -toolexec=API_TOKEN=zz99",
     "-ldflags=-X=main.token=REDACTED -toolexec=API_TOKEN=REDACTED"},
    {NULL, "-remote=tcp://u:pw@h:1", "-remote=tcp://u:REDACTED@h:1"},
};

static void redact_values(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof value_rows / sizeof *value_rows; i++) {
        char out[512];
        li_redact_value(value_rows[i].name, value_rows[i].value, NULL, out, sizeof out);
        if (strcmp(out, value_rows[i].out))
            print_error("row %zu: %s=%s\n  got  %s\n", i, value_rows[i].name, value_rows[i].value,
                        out);
        assert_string_equal(out, value_rows[i].out);
    }
}

/* The last pass: what the environment holds as secret goes wherever it
 * reappears, in spellings no rule would catch. */
static void redact_environment_secrets_anywhere(void **state)
{
    (void)state;
    char *env[] = {"MY_PASSWORD=hunter22",
                   "GITHUB_TOKEN=ghp_XYZ987",
                   "GOFLAGS=-ldflags=-X=main.v=ghp_XYZ987 -ldflags=-X=main.token=flagsecret",
                   "HTTPS_PROXY=http://u:p,w d@proxy.example",
                   "GOPROXY=user:bareTOKEN@proxy.example,direct",
                   "SHORT_TOKEN=abc",
                   "PATH=/x/hunter22",
                   NULL};
    static const struct row rows[] = {
        {"token hunter22 in /x/hunter22/y; short abc stays",
         "token REDACTED in /x/REDACTED/y; short abc stays"},
        {"go: parsing $GOFLAGS: -X=main.v=ghp_XYZ987", "go: parsing $GOFLAGS: -X=main.v=REDACTED"},
        {"[\"flagsecret\"]", "[\"REDACTED\"]"},
        {"dial: \"p,w d\" rejected", "dial: \"REDACTED\" rejected"},
        {"bareTOKEN", "REDACTED"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        char *r = li_redact(rows[i].in, strlen(rows[i].in), env, NULL);
        assert_non_null(r);
        if (strcmp(r, rows[i].out)) print_error("row %zu: %s\n  got  %s\n", i, rows[i].in, r);
        assert_string_equal(r, rows[i].out);
        free(r);
    }
    /* The same for a fixed buffer, and for a value printed by name. */
    char buf[64] = "GOFLAGS has ghp_XYZ987 in it";
    li_redact_buf(buf, sizeof buf, env);
    assert_string_equal(buf, "GOFLAGS has REDACTED in it");
    char out[256];
    li_redact_value("GOFLAGS", "-ldflags=-X=main.v=ghp_XYZ987", env, out, sizeof out);
    assert_string_equal(out, "-ldflags=-X=main.v=REDACTED");
}

/* A result too long for the buffer is cut; the secret never comes back. */
static void redact_buffer_too_small(void **state)
{
    (void)state;
    char out[24];
    li_redact_value("HTTPS_PROXY", "http://a:bcdefgh@h.example", NULL, out, sizeof out);
    assert_null(strstr(out, "bcdefgh"));
    assert_int_equal(strlen(out), sizeof out - 1);
}

/* Texts built so that every position starts a candidate: each rule looks a
 * bounded distance, so 1 MiB of them is redacted (in well under the unit
 * runner's 120 s; quadratic, it took hours). */
static void redact_adversarial_repetitions(void **state)
{
    (void)state;
    static const char *const units[] = {"a@", "://", "TOKEN=", "x:y@", "?token=&", "\"a=\""};
    size_t n = 1 << 20;
    char *t = malloc(n);
    assert_non_null(t);
    for (size_t u = 0; u < sizeof units / sizeof *units; u++) {
        size_t ul = strlen(units[u]);
        for (size_t i = 0; i < n; i++)
            t[i] = units[u][i % ul];
        size_t rl = 0;
        char *r = li_redact(t, n, NULL, &rl);
        assert_non_null(r);
        assert_int_equal(strlen(r), rl);
        free(r);
    }
    free(t);
}

/* Every string of a JSON value, NULs and all. */
static void redact_json_strings(void **state)
{
    (void)state;
    json_t *v = json_pack("{s:s, s:[s, {s:s}], s:i}", "a", "https://u:pw@h.example", "b",
                          "API_TOKEN=xyz", "c", "GOPROXY=u:tok@p.example", "n", 7);
    json_array_append_new(json_object_get(v, "b"), json_stringn("\0?token=zz", 10));
    li_redact_json(v, NULL);
    char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(s, "{\"a\":\"https://u:REDACTED@h.example\",\"b\":[\"API_TOKEN=REDACTED\","
                           "{\"c\":\"GOPROXY=u:REDACTED@p.example\"},\"\\u0000?token=REDACTED\"],"
                           "\"n\":7}");
    free(s);
    json_decref(v);
}

/* ---- terminal escapes ---- */

static void escape_controls(void **state)
{
    (void)state;
    static const char in[] = "\x1b]0;pwned\x07\x1b[2J\0after\r\n\t\x7f ok \xc2\x9b \xe2\x80\xae"
                             " caf\xc3\xa9 \xff";
    char out[256];
    size_t n = li_escape(in, sizeof in - 1, 0, out, sizeof out);
    assert_string_equal(out, "\\x1b]0;pwned\\x07\\x1b[2J\\x00after\\x0d\\x0a\\x09\\x7f ok \\u009b "
                             "\\u202e caf\xc3\xa9 \\xff");
    assert_int_equal(n, strlen(out));
    li_escape("a\nb\tc\rd\r\n", 9, LI_ESC_KEEP_NL, out, sizeof out);
    assert_string_equal(out, "a\nb\tc\\x0dd\r\n");
    /* Cut at a whole escape, and the full length still reported. */
    char small[8];
    assert_int_equal(li_escape("ab\x1b", 3, 0, small, 6), 6);
    li_escape("ab\x1b", 3, 0, small, 6);
    assert_string_equal(small, "ab");
    char *d = li_escape_dup("\x1b", 1, 0);
    assert_string_equal(d, "\\x1b");
    free(d);
}

/* What the escaped form takes on a terminal: escapes their length,
 * "é" one column, a CJK character or an emoji two, a combining mark none. */
static void escape_width(void **state)
{
    (void)state;
    assert_int_equal(li_escape_width("abc", 3, 0), 3);
    assert_int_equal(li_escape_width("a\x1b", 2, 0), 5);
    assert_int_equal(li_escape_width("caf\xc3\xa9", 5, 0), 4);
    assert_int_equal(li_escape_width("e\xcc\x81", 3, 0), 1);
    assert_int_equal(li_escape_width("\xe8\xaa\xbf\xe8\xa9\xa6", 6, 0), 4);
    assert_int_equal(li_escape_width("\xf0\x9f\x98\x80", 4, 0), 2);
    assert_int_equal(li_escape_width("\xe2\x80\xae\xff", 4, 0), 10);
    assert_int_equal(li_escape_width("a\tb", 3, 0), 6);
    assert_int_equal(li_escape_width("a\tb", 3, LI_ESC_KEEP_NL), 3);
    /* Escaping twice changes nothing: the width is the same. */
    char *d = li_escape_dup("x\x07\xe2\x80\xaey", 6, 0);
    assert_int_equal(li_escape_width(d, strlen(d), 0), strlen(d));
    assert_int_equal(li_escape_width(d, strlen(d), 0), li_escape_width("x\x07\xe2\x80\xaey", 6, 0));
    free(d);
}

static void escape_nuls_in_json(void **state)
{
    (void)state;
    json_t *v = json_object();
    json_object_set_new(v, "method", json_stringn("a\0b\x1b", 4));
    json_object_set_new(v, "t_us", json_integer(1));
    li_escape_nuls(v);
    assert_string_equal(json_string_value(json_object_get(v, "method")), "a\\x00b\x1b");
    json_decref(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(redact_free_text),
        cmocka_unit_test(redact_values),
        cmocka_unit_test(redact_environment_secrets_anywhere),
        cmocka_unit_test(redact_buffer_too_small),
        cmocka_unit_test(redact_adversarial_repetitions),
        cmocka_unit_test(redact_json_strings),
        cmocka_unit_test(escape_controls),
        cmocka_unit_test(escape_width),
        cmocka_unit_test(escape_nuls_in_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
