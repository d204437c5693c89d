/* The environment rules, each with a bad and a good value, judged by the
 * real go (GO, default /usr/bin/go) in a scratch workspace with a go.mod;
 * and the redaction every output goes through. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "env/lp_env.h"
#include "tests/unit/tmpdir.h"

static char dir[256], ws[300], plain[300], home[300], nogo[300], godir[300];

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup(void **state)
{
    (void)state;
    assert_int_equal(tmpdir_make(dir, sizeof dir, "env"), 0);
    snprintf(ws, sizeof ws, "%s/ws", dir);
    snprintf(plain, sizeof plain, "%s/plain", dir);
    snprintf(home, sizeof home, "%s/home", dir);
    snprintf(nogo, sizeof nogo, "%s/nogo", dir);
    mkdir(ws, 0755);
    mkdir(plain, 0755);
    mkdir(home, 0755);
    mkdir(nogo, 0755);
    char p[512];
    snprintf(p, sizeof p, "%s/go.mod", ws);
    write_file(p, "module example.com/ws\n\ngo 1.19\n");
    const char *go = getenv("GO") ? getenv("GO") : "/usr/bin/go";
    snprintf(godir, sizeof godir, "%.*s", (int)(strrchr(go, '/') - go), go);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return tmpdir_remove(dir);
}

/* ---- helpers ---- */

/* Runs the rules on a base environment (go on PATH, a scratch HOME) plus
 * up to four NAME=value overrides ("NAME" alone removes NAME). */
static struct lp_env_report *check_in(const char *wsdir, const struct lp_env_opts *o, const char *a,
                                      const char *b, const char *c, const char *d)
{
    static char e_path[400], e_home[400];
    snprintf(e_path, sizeof e_path, "PATH=%s:/bin", godir);
    snprintf(e_home, sizeof e_home, "HOME=%s", home);
    const char *base[16] = {e_path, e_home, NULL};
    size_t n = 2;
    const char *over[] = {a, b, c, d};
    for (size_t i = 0; i < 4; i++) {
        if (!over[i]) continue;
        size_t nl = strcspn(over[i], "=");
        for (size_t j = 0; j < n; j++)
            if (!strncmp(base[j], over[i], nl) && base[j][nl] == '=') {
                base[j] = base[--n];
                break;
            }
        if (over[i][nl] == '=') base[n++] = over[i];
    }
    base[n] = NULL;
    struct lp_env_opts def = {.login_shell = 0, .go_dirs = (const char *const[]){nogo, NULL}};
    struct lp_env_report *r = NULL;
    assert_int_equal(lp_env_check((char *const *)base, wsdir, o ? o : &def, &r), 0);
    return r;
}

static struct lp_env_report *check(const char *a, const char *b)
{
    return check_in(ws, NULL, a, b, NULL, NULL);
}

static const struct lp_env_problem *find(const struct lp_env_report *r, const char *id)
{
    for (size_t i = 0; i < r->n_problems; i++)
        if (!strcmp(r->problems[i].check, id)) return &r->problems[i];
    return NULL;
}

static void print_problems(const struct lp_env_report *r)
{
    for (size_t i = 0; i < r->n_problems; i++)
        print_message("  problem %s %s: %s | %s\n", r->problems[i].check, r->problems[i].variable,
                      r->problems[i].message, r->problems[i].fix);
}

/* No problem at all, and go accepts the environment. */
static void assert_clean(struct lp_env_report *r)
{
    print_problems(r);
    assert_int_equal(r->n_problems, 0);
    assert_int_equal(r->verified, 1);
    lp_env_report_free(r);
}

/* Exactly one problem, `id`, with `action`; go accepts the repaired
 * environment. Returns the report for more checks. */
static struct lp_env_report *assert_one(struct lp_env_report *r, const char *id,
                                        enum lp_env_action action)
{
    print_problems(r);
    assert_int_equal(r->n_problems, 1);
    assert_string_equal(r->problems[0].check, id);
    assert_int_equal(r->problems[0].action, action);
    assert_true(r->problems[0].message[0] && r->problems[0].fix[0]);
    assert_int_equal(r->verified, 1);
    return r;
}

/* ---- the clean case ---- */

static void clean_environment_has_no_problem(void **state)
{
    (void)state;
    struct lp_env_report *r = check(NULL, NULL);
    assert_string_equal(r->go_from, "PATH");
    assert_clean(r);
}

/* ---- GOFLAGS ---- */

static void goflags_rejected_flag_is_dropped(void **state)
{
    (void)state;
    struct lp_env_report *r =
        assert_one(check("GOFLAGS=-mod=bogus", NULL), "goflags", LP_ENV_UNSET);
    assert_null(lp_env_get(r->envp, "GOFLAGS"));
    assert_non_null(strstr(r->problems[0].message, "-mod=bogus"));
    assert_non_null(strstr(r->problems[0].message, "not supported"));
    lp_env_report_free(r);
}

static void goflags_unknown_flag_is_dropped_and_the_rest_kept(void **state)
{
    (void)state;
    struct lp_env_report *r = assert_one(
        check("GOFLAGS=-tags=integration -bogusflag -mod=mod", NULL), "goflags", LP_ENV_SET);
    assert_string_equal(lp_env_get(r->envp, "GOFLAGS"), "-tags=integration -mod=mod");
    assert_string_equal(r->problems[0].value, "-tags=integration -mod=mod");
    assert_non_null(strstr(r->problems[0].message, "-bogusflag"));
    lp_env_report_free(r);
}

static void goflags_good_value_is_kept(void **state)
{
    (void)state;
    assert_clean(check("GOFLAGS=-mod=mod -tags=integration", NULL));
}

/* ---- GOROOT ---- */

static void goroot_missing_directory_is_unset(void **state)
{
    (void)state;
    struct lp_env_report *r =
        assert_one(check("GOROOT=/nonexistent", NULL), "goroot", LP_ENV_UNSET);
    assert_null(lp_env_get(r->envp, "GOROOT"));
    assert_non_null(strstr(r->problems[0].message, "/nonexistent is not a directory"));
    lp_env_report_free(r);
}

static void goroot_without_bin_go_is_unset(void **state)
{
    (void)state;
    char v[400];
    snprintf(v, sizeof v, "GOROOT=%s", plain);
    struct lp_env_report *r = assert_one(check(v, NULL), "goroot", LP_ENV_UNSET);
    assert_non_null(strstr(r->problems[0].message, "has no bin/go"));
    lp_env_report_free(r);
}

static void goroot_without_the_standard_library_is_unset(void **state)
{
    (void)state;
    char bin[400], go[420], real[4096], v[420];
    snprintf(bin, sizeof bin, "%s/fakeroot/bin", dir);
    snprintf(go, sizeof go, "%s/go", godir);
    assert_non_null(realpath(go, real));
    snprintf(v, sizeof v, "%s/fakeroot", dir);
    mkdir(v, 0755);
    mkdir(bin, 0755);
    snprintf(go, sizeof go, "%s/go", bin);
    assert_int_equal(symlink(real, go), 0);
    snprintf(v, sizeof v, "GOROOT=%s/fakeroot", dir);
    struct lp_env_report *r = assert_one(check(v, NULL), "goroot", LP_ENV_UNSET);
    assert_non_null(strstr(r->problems[0].message, "has no standard library"));
    lp_env_report_free(r);
}

static void goroot_of_another_go_is_unset(void **state)
{
    (void)state;
    char p[400], v[420];
    snprintf(p, sizeof p, "%s/otherroot", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/otherroot/src", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/otherroot/src/unsafe", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/otherroot/bin", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/otherroot/bin/go", dir);
    write_file(p, "#!/bin/sh\nexit 1\n");
    assert_int_equal(chmod(p, 0755), 0);
    snprintf(v, sizeof v, "GOROOT=%s/otherroot", dir);
    struct lp_env_report *r = assert_one(check(v, NULL), "goroot", LP_ENV_UNSET);
    assert_int_equal(r->problems[0].severity, LP_ENV_WARNING);
    assert_non_null(strstr(r->problems[0].message, "another Go installation"));
    lp_env_report_free(r);
}

static void goroot_of_the_installed_go_is_kept(void **state)
{
    (void)state;
    char go[400], real[4096], v[4200];
    snprintf(go, sizeof go, "%s/go", godir);
    assert_non_null(realpath(go, real));
    *strrchr(real, '/') = '\0'; /* .../bin */
    *strrchr(real, '/') = '\0';
    snprintf(v, sizeof v, "GOROOT=%s", real);
    assert_clean(check(v, NULL));
}

/* ---- go on PATH ---- */

static void go_not_on_path_is_found_in_a_known_place(void **state)
{
    (void)state;
    struct lp_env_opts o = {.go_dirs = (const char *const[]){nogo, godir, NULL}};
    struct lp_env_report *r = assert_one(check_in(ws, &o, "PATH=/nonexistent", NULL, NULL, NULL),
                                         "go-not-on-path", LP_ENV_SET);
    char want[400];
    snprintf(want, sizeof want, "%s:/nonexistent", godir);
    assert_string_equal(lp_env_get(r->envp, "PATH"), want);
    assert_string_equal(r->go_from, godir);
    lp_env_report_free(r);
}

static void go_not_on_path_is_found_in_the_login_shells_path(void **state)
{
    (void)state;
    char login[400];
    snprintf(login, sizeof login, "/nonexistent:%s", godir);
    struct lp_env_opts o = {.login_path = login, .go_dirs = (const char *const[]){nogo, NULL}};
    struct lp_env_report *r = assert_one(check_in(ws, &o, "PATH=/nonexistent", NULL, NULL, NULL),
                                         "go-not-on-path", LP_ENV_SET);
    assert_string_equal(r->go_from, "the login shell's PATH");
    assert_non_null(strstr(r->problems[0].message, "login shell"));
    lp_env_report_free(r);
}

static void go_nowhere_is_reported_without_a_fix(void **state)
{
    (void)state;
    struct lp_env_report *r = check_in(ws, NULL, "PATH=/nonexistent", NULL, NULL, NULL);
    const struct lp_env_problem *p = find(r, "go-not-on-path");
    assert_non_null(p);
    assert_int_equal(p ? (int)p->action : -1, LP_ENV_KEEP);
    assert_string_equal(r->go, "");
    assert_int_equal(r->verified, 0);
    lp_env_report_free(r);
}

/* ---- GOPROXY ---- */

static void goproxy_spaces_are_trimmed(void **state)
{
    (void)state;
    struct lp_env_report *r =
        assert_one(check("GOPROXY=https://proxy.golang.org, direct", NULL), "goproxy", LP_ENV_SET);
    assert_int_equal(r->problems[0].severity, LP_ENV_WARNING);
    assert_string_equal(lp_env_get(r->envp, "GOPROXY"), "https://proxy.golang.org,direct");
    lp_env_report_free(r);
}

static void goproxy_space_separated_items_are_split(void **state)
{
    (void)state;
    struct lp_env_report *r = assert_one(
        check("GOPROXY=https://a.example;https://b.example direct", NULL), "goproxy", LP_ENV_SET);
    assert_int_equal(r->problems[0].severity, LP_ENV_ERROR);
    assert_string_equal(r->problems[0].value, "https://a.example,https://b.example,direct");
    lp_env_report_free(r);
}

static void goproxy_empty_items_and_bad_schemes_are_dropped(void **state)
{
    (void)state;
    struct lp_env_report *r = assert_one(
        check("GOPROXY=,ftp://x.example,,https://p.example|direct", NULL), "goproxy", LP_ENV_SET);
    assert_string_equal(r->problems[0].value, "https://p.example|direct");
    assert_non_null(strstr(r->problems[0].message, "ftp://x.example"));
    lp_env_report_free(r);
}

static void goproxy_without_items_is_unset(void **state)
{
    (void)state;
    struct lp_env_report *r = assert_one(check("GOPROXY= , ", NULL), "goproxy", LP_ENV_UNSET);
    assert_null(lp_env_get(r->envp, "GOPROXY"));
    lp_env_report_free(r);
}

static void goproxy_good_values_are_kept(void **state)
{
    (void)state;
    assert_clean(check("GOPROXY=https://proxy.golang.org|https://goproxy.io,direct", NULL));
    assert_clean(check("GOPROXY=off", NULL));
    assert_clean(check("GOPROXY=proxy.example.com,direct", NULL));
    assert_clean(check("GOPROXY=file:///srv/goproxy,direct", NULL));
    lp_env_report_free(
        assert_one(check("GOPROXY=file://host/srv,direct", NULL), "goproxy", LP_ENV_SET));
}

/* ---- GO111MODULE ---- */

static void go111module_off_in_a_module_is_unset(void **state)
{
    (void)state;
    struct lp_env_report *r =
        assert_one(check("GO111MODULE=off", NULL), "go111module", LP_ENV_UNSET);
    assert_null(lp_env_get(r->envp, "GO111MODULE"));
    assert_non_null(strstr(r->problems[0].message, "go.mod"));
    lp_env_report_free(r);
}

static void go111module_off_outside_a_module_is_kept(void **state)
{
    (void)state;
    assert_clean(check_in(plain, NULL, "GO111MODULE=off", NULL, NULL, NULL));
}

static void go111module_unknown_value_is_unset(void **state)
{
    (void)state;
    lp_env_report_free(assert_one(check("GO111MODULE=yes", NULL), "go111module", LP_ENV_UNSET));
    assert_clean(check("GO111MODULE=on", NULL));
}

/* ---- GOPATH, GOMODCACHE, GOCACHE ---- */

static void gopath_unwritable_points_at_home_go(void **state)
{
    (void)state;
    struct lp_env_report *r =
        assert_one(check("GOPATH=/proc/lsptap-nope", NULL), "gopath", LP_ENV_SET);
    char want[400];
    snprintf(want, sizeof want, "%s/go", home);
    assert_string_equal(lp_env_get(r->envp, "GOPATH"), want);
    lp_env_report_free(r);
}

static void gopath_relative_is_replaced(void **state)
{
    (void)state;
    lp_env_report_free(assert_one(check("GOPATH=relative/dir", NULL), "gopath", LP_ENV_SET));
}

static void gomodcache_unwritable_is_replaced(void **state)
{
    (void)state;
    struct lp_env_report *r =
        assert_one(check("GOMODCACHE=/etc/passwd/mod", NULL), "gomodcache", LP_ENV_SET);
    char want[400];
    snprintf(want, sizeof want, "%s/go/pkg/mod", home);
    assert_string_equal(lp_env_get(r->envp, "GOMODCACHE"), want);
    lp_env_report_free(r);
}

static void gocache_unwritable_or_off_is_replaced(void **state)
{
    (void)state;
    char want[400];
    snprintf(want, sizeof want, "%s/.cache/go-build", home);
    struct lp_env_report *r =
        assert_one(check("GOCACHE=/proc/lsptap-nope", NULL), "gocache", LP_ENV_SET);
    assert_string_equal(lp_env_get(r->envp, "GOCACHE"), want);
    lp_env_report_free(r);
    r = assert_one(check("GOCACHE=off", NULL), "gocache", LP_ENV_SET);
    assert_string_equal(lp_env_get(r->envp, "GOCACHE"), want);
    lp_env_report_free(r);
}

static void writable_directories_are_kept(void **state)
{
    (void)state;
    char a[400], b[400];
    snprintf(a, sizeof a, "GOPATH=%s/gp", dir);
    snprintf(b, sizeof b, "GOCACHE=%s/cache", dir);
    assert_clean(check(a, b));
}

/* ---- GOENV, GOWORK ---- */

static void goenv_missing_file_is_unset(void **state)
{
    (void)state;
    struct lp_env_report *r =
        assert_one(check("GOENV=/nonexistent/env", NULL), "goenv", LP_ENV_UNSET);
    assert_int_equal(r->problems[0].severity, LP_ENV_WARNING);
    lp_env_report_free(r);
    char p[400], v[420];
    snprintf(p, sizeof p, "%s/goenv", dir);
    write_file(p, "GOPROXY=https://proxy.golang.org,direct\n");
    snprintf(v, sizeof v, "GOENV=%s", p);
    assert_clean(check(v, NULL));
}

static void gowork_missing_or_relative_is_unset(void **state)
{
    (void)state;
    struct lp_env_report *r =
        assert_one(check("GOWORK=/nonexistent/go.work", NULL), "gowork", LP_ENV_UNSET);
    assert_null(lp_env_get(r->envp, "GOWORK"));
    lp_env_report_free(r);
    lp_env_report_free(assert_one(check("GOWORK=go.work", NULL), "gowork", LP_ENV_UNSET));
}

static void gowork_existing_file_or_off_is_kept(void **state)
{
    (void)state;
    char p[400], v[420];
    snprintf(p, sizeof p, "%s/go.work", dir);
    write_file(p, "go 1.19\n\nuse ./ws\n");
    snprintf(v, sizeof v, "GOWORK=%s", p);
    assert_clean(check(v, NULL));
    unlink(p);
    assert_clean(check("GOWORK=off", NULL));
}

/* ---- HTTP(S)_PROXY ---- */

static void http_proxy_that_is_not_a_url_is_unset(void **state)
{
    (void)state;
    static const char *const bad[] = {"HTTPS_PROXY=http://proxy example:3128",
                                      "HTTP_PROXY=http://proxy:port", "https_proxy=http://[::1",
                                      "http_proxy=://", NULL};
    for (const char *const *b = bad; *b; b++) {
        struct lp_env_report *r = assert_one(check(*b, NULL), "http-proxy", LP_ENV_UNSET);
        assert_int_equal(strncmp(r->problems[0].variable, *b, strlen(r->problems[0].variable)), 0);
        lp_env_report_free(r);
    }
}

static void http_proxy_urls_are_kept(void **state)
{
    (void)state;
    assert_clean(check("HTTPS_PROXY=http://proxy.example.com:3128", "HTTP_PROXY=proxy.example:80"));
    assert_clean(check("https_proxy=socks5://127.0.0.1:1080", "http_proxy=http://u:p@[::1]:8080/"));
}

/* ---- what no rule fixes ---- */

static void go_rejecting_for_another_reason_is_reported(void **state)
{
    (void)state;
    struct lp_env_report *r = check("GOEXPERIMENT=bogus", NULL);
    const struct lp_env_problem *p = find(r, "go-rejects");
    assert_non_null(p);
    assert_non_null(strstr(p ? p->message : "", "unknown GOEXPERIMENT bogus"));
    assert_int_equal(p ? (int)p->action : -1, LP_ENV_KEEP);
    assert_int_equal(r->verified, 0);
    lp_env_report_free(r);
}

static void goflags_are_judged_even_when_go_fails_for_another_reason(void **state)
{
    (void)state;
    /* A go.mod go cannot parse fails every run, but after $GOFLAGS is read. */
    char bad[400], p0[420];
    snprintf(bad, sizeof bad, "%s/badmod", dir);
    mkdir(bad, 0755);
    snprintf(p0, sizeof p0, "%s/go.mod", bad);
    write_file(p0, "module x\ngo 1.19\nrequire (\n");
    struct lp_env_report *r = check_in(bad, NULL, "GOFLAGS=-tags=x -mod=bogus", NULL, NULL, NULL);
    const struct lp_env_problem *p = find(r, "goflags");
    assert_non_null(p);
    assert_string_equal(p ? p->value : "", "-tags=x");
    assert_non_null(find(r, "go-rejects"));
    lp_env_report_free(r);
}

static void several_problems_are_all_fixed_at_once(void **state)
{
    (void)state;
    struct lp_env_opts o = {.go_dirs = (const char *const[]){godir, NULL}};
    struct lp_env_report *r = check_in(ws, &o, "PATH=/nonexistent", "GOROOT=/nonexistent",
                                       "GOFLAGS=-mod=bogus", "GO111MODULE=off");
    print_problems(r);
    assert_int_equal(r->n_problems, 4);
    assert_int_equal(lp_env_changes(r), 4);
    assert_non_null(find(r, "go-not-on-path"));
    assert_non_null(find(r, "goroot"));
    assert_non_null(find(r, "goflags"));
    assert_non_null(find(r, "go111module"));
    assert_int_equal(r->verified, 1);
    lp_env_report_free(r);
}

/* ---- redaction (the rules themselves: test_redact.c) ---- */

static void problems_never_carry_secrets(void **state)
{
    (void)state;
    struct lp_env_report *r = check("GOPROXY=https://user:secret@proxy.example, direct",
                                    "HTTPS_PROXY=http://u:secret@proxy example:1");
    print_problems(r);
    assert_int_equal(r->n_problems, 2);
    for (size_t i = 0; i < r->n_problems; i++) {
        assert_null(strstr(r->problems[i].message, "secret"));
        assert_null(strstr(r->problems[i].fix, "secret"));
    }
    /* The sanitized environment keeps the real credentials. */
    assert_string_equal(lp_env_get(r->envp, "GOPROXY"), "https://user:secret@proxy.example,direct");
    lp_env_report_free(r);
}

static void changes_are_summarised_without_secrets(void **state)
{
    (void)state;
    struct lp_env_report *r =
        check("GOFLAGS=-mod=bogus", "GOPROXY=https://user:secret@proxy.example, direct");
    char sum[4096];
    lp_env_summary(r, sum, sizeof sum);
    print_message("%s\n", sum);
    assert_int_equal(
        strncmp(sum, "GOPROXY set to https://user:REDACTED@proxy.example,direct: ", 59), 0);
    assert_non_null(strstr(sum, "\nGOFLAGS unset: GOFLAGS has a flag that go rejects"));
    assert_null(strstr(sum, "secret"));
    json_t *ch = lp_env_changes_json(r);
    char *text = json_dumps(ch, JSON_COMPACT);
    assert_non_null(strstr(text, "\"variable\":\"GOFLAGS\",\"action\":\"unset\",\"value\":null"));
    assert_null(strstr(text, "secret"));
    free(text);
    json_decref(ch);
    json_t *pr = lp_env_problems_json(r);
    assert_int_equal(json_array_size(pr), 2);
    assert_int_equal(json_object_size(json_array_get(pr, 0)), 5);
    json_decref(pr);
    char tiny[16];
    lp_env_summary(r, tiny, sizeof tiny);
    assert_int_equal(strlen(tiny), 15);
    lp_env_report_free(r);
}

/* Each hostile spelling of a secret, through the rules: no problem, fix,
 * summary or change list quotes it (issue 15). */
static void assert_hidden(struct lp_env_report *r, const char *const secrets[])
{
    char sum[8192];
    lp_env_summary(r, sum, sizeof sum);
    json_t *ch = lp_env_changes_json(r), *pr = lp_env_problems_json(r);
    char *a = json_dumps(ch, JSON_COMPACT), *b = json_dumps(pr, JSON_COMPACT);
    print_problems(r);
    for (const char *const *s = secrets; *s; s++) {
        assert_null(strstr(sum, *s));
        assert_null(strstr(a, *s));
        assert_null(strstr(b, *s));
    }
    free(a);
    free(b);
    json_decref(ch);
    json_decref(pr);
    lp_env_report_free(r);
}

static void hostile_secret_spellings_stay_hidden(void **state)
{
    (void)state;
    /* Scheme-less userinfo, and a query token, in a GOPROXY go warns about. */
    struct lp_env_report *r =
        check("GOPROXY=user:TOK1aaa@proxy.example ; https://p.example/?token=TOK5eee", NULL);
    assert_true(r->n_problems > 0);
    assert_hidden(r, (const char *const[]){"TOK1aaa", "TOK5eee", NULL});
    /* A password holding ',', a blank and '@' in a proxy go rejects. */
    r = check("HTTPS_PROXY=http://u:pa,ss wo@rd@proxy example:1", NULL);
    assert_true(r->n_problems > 0);
    assert_hidden(r, (const char *const[]){"pa,ss", "ss wo", "wo@rd", NULL});
    /* GOFLAGS: -X main.token=, API_TOKEN= inside a -toolexec, and the
     * value of GITHUB_TOKEN inside another flag; go rejects -mod=bogus. */
    r = check_in(ws, NULL,
                 "GOFLAGS=-ldflags=-X=main.token=TOK2bbb -toolexec=API_TOKEN=TOK3ccc "
                 "-ldflags=-X=main.v=TOK4ddd -mod=bogus",
                 "GITHUB_TOKEN=TOK4ddd", NULL, NULL);
    assert_non_null(find(r, "goflags"));
    assert_hidden(r, (const char *const[]){"TOK2bbb", "TOK3ccc", "TOK4ddd", NULL});
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(clean_environment_has_no_problem),
        cmocka_unit_test(goflags_rejected_flag_is_dropped),
        cmocka_unit_test(goflags_unknown_flag_is_dropped_and_the_rest_kept),
        cmocka_unit_test(goflags_good_value_is_kept),
        cmocka_unit_test(goroot_missing_directory_is_unset),
        cmocka_unit_test(goroot_without_bin_go_is_unset),
        cmocka_unit_test(goroot_without_the_standard_library_is_unset),
        cmocka_unit_test(goroot_of_another_go_is_unset),
        cmocka_unit_test(goroot_of_the_installed_go_is_kept),
        cmocka_unit_test(go_not_on_path_is_found_in_a_known_place),
        cmocka_unit_test(go_not_on_path_is_found_in_the_login_shells_path),
        cmocka_unit_test(go_nowhere_is_reported_without_a_fix),
        cmocka_unit_test(goproxy_spaces_are_trimmed),
        cmocka_unit_test(goproxy_space_separated_items_are_split),
        cmocka_unit_test(goproxy_empty_items_and_bad_schemes_are_dropped),
        cmocka_unit_test(goproxy_without_items_is_unset),
        cmocka_unit_test(goproxy_good_values_are_kept),
        cmocka_unit_test(go111module_off_in_a_module_is_unset),
        cmocka_unit_test(go111module_off_outside_a_module_is_kept),
        cmocka_unit_test(go111module_unknown_value_is_unset),
        cmocka_unit_test(gopath_unwritable_points_at_home_go),
        cmocka_unit_test(gopath_relative_is_replaced),
        cmocka_unit_test(gomodcache_unwritable_is_replaced),
        cmocka_unit_test(gocache_unwritable_or_off_is_replaced),
        cmocka_unit_test(writable_directories_are_kept),
        cmocka_unit_test(goenv_missing_file_is_unset),
        cmocka_unit_test(gowork_missing_or_relative_is_unset),
        cmocka_unit_test(gowork_existing_file_or_off_is_kept),
        cmocka_unit_test(http_proxy_that_is_not_a_url_is_unset),
        cmocka_unit_test(http_proxy_urls_are_kept),
        cmocka_unit_test(go_rejecting_for_another_reason_is_reported),
        cmocka_unit_test(goflags_are_judged_even_when_go_fails_for_another_reason),
        cmocka_unit_test(several_problems_are_all_fixed_at_once),
        cmocka_unit_test(problems_never_carry_secrets),
        cmocka_unit_test(changes_are_summarised_without_secrets),
        cmocka_unit_test(hostile_secret_spellings_stay_hidden),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
