/* Settings: defaults, the config file, the environment winning over it, and
 * bad values kept at their default with a sentence saying why. */
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

#include "env/lp_config.h"
#include "inspect/li_redact.h"
#include "tests/unit/tmpdir.h"

static char dir[256];

static void write_config(const char *text)
{
    char p[512];
    snprintf(p, sizeof p, "%s/lsptap", dir);
    mkdir(p, 0700);
    snprintf(p, sizeof p, "%s/lsptap/config.json", dir);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup(void **state)
{
    (void)state;
    assert_int_equal(tmpdir_make(dir, sizeof dir, "config"), 0);
    setenv("XDG_CONFIG_HOME", dir, 1);
    setenv("XDG_STATE_HOME", "/state", 1);
    static const char *const vars[] = {
        "LSPTAP_GOPLS",  "LSPTAP_DIR", "LSPTAP_RECORD", "LSPTAP_GRACE_MS", "LSPTAP_HIGH_KB",
        "LSPTAP_LOW_KB", NULL};
    for (const char *const *v = vars; *v; v++)
        unsetenv(*v);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return tmpdir_remove(dir);
}

static void defaults_without_file_or_env(void **state)
{
    (void)state;
    struct lp_config c;
    char warn[1024];
    lp_config_load(&c, warn, sizeof warn);
    assert_string_equal(warn, "");
    assert_int_equal(c.config_found, 0);
    assert_string_equal(c.dir, "/state/lsptap/sessions");
    assert_int_equal(c.record, LI_REC_FULL);
    assert_int_equal(c.max_total, 256u << 20);
    assert_int_equal(c.grace_ms, 5000);
    assert_true(c.low_mark < c.high_mark);
}

static void file_sets_and_environment_wins(void **state)
{
    (void)state;
    write_config("{\"gopls\": \"/opt/gopls\", \"record\": \"meta\", \"grace_ms\": 100}");
    setenv("LSPTAP_RECORD", "off", 1);
    struct lp_config c;
    char warn[1024];
    lp_config_load(&c, warn, sizeof warn);
    assert_string_equal(warn, "");
    assert_int_equal(c.config_found, 1);
    assert_string_equal(c.gopls, "/opt/gopls");
    assert_int_equal(c.record, LI_REC_OFF);
    assert_int_equal(c.grace_ms, 100);
    unsetenv("LSPTAP_RECORD");
}

static void malformed_file_is_named_with_its_position(void **state)
{
    (void)state;
    write_config("{\"gopls\": \n  oops}");
    struct lp_config c;
    char warn[1024];
    lp_config_load(&c, warn, sizeof warn);
    assert_non_null(strstr(warn, "config.json:2:"));
    assert_non_null(strstr(warn, "the file is ignored"));
    assert_string_equal(c.gopls, "");
}

static void bad_values_keep_defaults_and_say_why(void **state)
{
    (void)state;
    write_config("{\"record\": \"everything\", \"colour\": 1}");
    setenv("LSPTAP_GRACE_MS", "soon", 1);
    struct lp_config c;
    char warn[2048];
    lp_config_load(&c, warn, sizeof warn);
    assert_non_null(strstr(warn, "\"record\" must be \"full\", \"meta\" or \"off\""));
    assert_non_null(strstr(warn, "unknown setting \"colour\""));
    assert_non_null(strstr(warn, "LSPTAP_GRACE_MS=soon is not a whole number"));
    assert_int_equal(c.record, LI_REC_FULL);
    assert_int_equal(c.grace_ms, 5000);
    unsetenv("LSPTAP_GRACE_MS");
}

static void low_mark_must_be_below_high_mark(void **state)
{
    (void)state;
    write_config("{}");
    setenv("LSPTAP_HIGH_KB", "64", 1);
    setenv("LSPTAP_LOW_KB", "128", 1);
    struct lp_config c;
    char warn[1024];
    lp_config_load(&c, warn, sizeof warn);
    assert_non_null(strstr(warn, "low mark"));
    assert_int_equal(c.high_mark, 1 << 20);
    assert_int_equal(c.low_mark, 256 << 10);
    unsetenv("LSPTAP_HIGH_KB");
    unsetenv("LSPTAP_LOW_KB");
}

/* Every numeric setting has a range; a value outside it is refused with a
 * warning naming the variable, the value and the range, and the default is
 * kept. Low 0 is in range: reading resumes once the queue is empty. */
static void out_of_range_values_are_refused(void **state)
{
    (void)state;
    write_config("{\"kill_ms\": 99999999999, \"low_kb\": 0}");
    setenv("LSPTAP_HIGH_KB", "0", 1);
    setenv("LSPTAP_LOG_BUFFER_KB", "1", 1);
    setenv("LSPTAP_DLV_START_MS", "0", 1);
    setenv("LSPTAP_MAX_TOTAL_MB", "0", 1);
    char longer[2001];
    memset(longer, 'x', 2000);
    longer[2000] = '\0';
    setenv("LSPTAP_FAIL_PATTERNS", longer, 1);
    struct lp_config c;
    char warn[2048];
    lp_config_load(&c, warn, sizeof warn);
    assert_non_null(strstr(warn, "LSPTAP_HIGH_KB=0 is out of range (allowed 1 to 1048576)"));
    assert_non_null(strstr(
        warn, "LSPTAP_LOG_BUFFER_KB=1 is out of range (allowed 64 to 1048576); using 4096."));
    assert_non_null(
        strstr(warn, "LSPTAP_DLV_START_MS=0 is out of range (allowed 1 to 3600000); using 20000."));
    assert_non_null(
        strstr(warn, "LSPTAP_MAX_TOTAL_MB=0 is out of range (allowed 1 to 1048576); using 256."));
    assert_non_null(
        strstr(warn, "\"kill_ms\" is 99999999999, out of range (allowed 0 to 3600000); ignored."));
    assert_non_null(
        strstr(warn, "LSPTAP_FAIL_PATTERNS is 2000 bytes long, over the 1023 allowed; ignored."));
    assert_non_null(strstr(c.fail_patterns, "failed to load view")); /* the default */
    assert_null(strstr(warn, "low mark"));
    assert_int_equal(c.high_mark, 1 << 20);
    assert_int_equal(c.low_mark, 0);
    assert_int_equal(c.log_buffer, 4u << 20);
    assert_int_equal(c.dlv_start_ms, 20000);
    assert_int_equal(c.kill_ms, 2000);
    unsetenv("LSPTAP_HIGH_KB");
    unsetenv("LSPTAP_LOG_BUFFER_KB");
    unsetenv("LSPTAP_DLV_START_MS");
    unsetenv("LSPTAP_MAX_TOTAL_MB");
    unsetenv("LSPTAP_FAIL_PATTERNS");
}

/* The file's marks are checked too (only the environment's were). */
static void file_marks_are_checked(void **state)
{
    (void)state;
    write_config("{\"high_kb\": 64, \"low_kb\": 64}");
    struct lp_config c;
    char warn[1024];
    lp_config_load(&c, warn, sizeof warn);
    assert_non_null(strstr(warn, "the low mark (LSPTAP_LOW_KB / low_kb, 64 KiB) must be below the "
                                 "high mark (LSPTAP_HIGH_KB / high_kb, 64 KiB)"));
    assert_int_equal(c.high_mark, 1 << 20);
    assert_int_equal(c.low_mark, 256 << 10);
}

static void url_passwords_are_redacted(void **state)
{
    (void)state;
    char out[256];
    li_redact_value("HTTPS_PROXY", "https://alice:s3cret@proxy.example:8080", NULL, out,
                    sizeof out);
    assert_string_equal(out, "https://alice:REDACTED@proxy.example:8080");
    li_redact_value("HTTPS_PROXY", "https://a:b@one.example,direct|https://c:dd@two.example", NULL,
                    out, sizeof out);
    assert_string_equal(out,
                        "https://a:REDACTED@one.example,direct|https://c:REDACTED@two.example");
    li_redact_value("HTTPS_PROXY", "https://proxy.golang.org,direct", NULL, out, sizeof out);
    assert_string_equal(out, "https://proxy.golang.org,direct");
    /* A user name alone may be a token (https://TOKEN@host): it goes too. */
    li_redact_value("HTTPS_PROXY", "http://user@host", NULL, out, sizeof out);
    assert_string_equal(out, "http://REDACTED@host");
}

/* lp_config_parse on a buffer says and sets what lp_config_load says and
 * sets for the same bytes in the file. */
static void buffer_parses_as_the_file_does(void **state)
{
    (void)state;
    static const char *const texts[] = {
        "{\"record\": \"meta\", \"grace_ms\": 7, \"colour\": 1, \"repair\": \"maybe\"}",
        "{\"gopls\": \"/x\",\n \"dlv\": ",
        "[1]",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        write_config(texts[i]);
        struct lp_config a, b;
        char wa[1024], wb[1024];
        lp_config_load(&a, wa, sizeof wa);
        unlink(a.config_path);
        lp_config_load(&b, wb, sizeof wb); /* defaults: no file now */
        lp_config_parse(&b, texts[i], strlen(texts[i]), wb, sizeof wb);
        assert_string_equal(wb, wa);
        assert_int_equal(b.record, a.record);
        assert_int_equal(b.grace_ms, a.grace_ms);
        assert_int_equal(b.repair, a.repair);
        assert_int_equal(b.config_found, a.config_found);
    }
}

/* The settings of gopls's own connections (docs/netcheck.md): defaults,
 * the file, the environment winning, and a bad value named. */
static void net_settings(void **state)
{
    (void)state;
    struct lp_config c;
    char warn[1024];
    unsetenv("LSPTAP_NET_WATCH");
    unsetenv("LSPTAP_NET_SHOW");
    unsetenv("LSPTAP_NET_RECHECK_S");
    lp_config_load(&c, warn, sizeof warn);
    assert_int_equal(c.net_watch, 1);
    assert_int_equal(c.net_show, 1);
    assert_int_equal(c.net_recheck_s, 600);
    write_config("{\"net_show\": \"off\", \"net_recheck_s\": 5, \"net_watch\": \"sometimes\"}");
    lp_config_load(&c, warn, sizeof warn);
    assert_int_equal(c.net_show, 0);
    assert_int_equal(c.net_recheck_s, 5);
    assert_int_equal(c.net_watch, 1);
    assert_non_null(strstr(warn, "\"net_watch\" must be \"on\" or \"off\"; using on."));
    setenv("LSPTAP_NET_SHOW", "on", 1);
    setenv("LSPTAP_NET_WATCH", "off", 1);
    setenv("LSPTAP_NET_RECHECK_S", "soon", 1);
    lp_config_load(&c, warn, sizeof warn);
    assert_int_equal(c.net_show, 1);
    assert_int_equal(c.net_watch, 0);
    assert_int_equal(c.net_recheck_s, 5);
    assert_non_null(strstr(warn, "LSPTAP_NET_RECHECK_S=soon is not a whole number; using 5."));
    unsetenv("LSPTAP_NET_WATCH");
    unsetenv("LSPTAP_NET_SHOW");
    unsetenv("LSPTAP_NET_RECHECK_S");
}

/* Keep-alive's settings (docs/keep-alive.md): defaults, the file, the
 * environment winning, a value out of range refused with its range. */
static void keepalive_settings(void **state)
{
    (void)state;
    struct lp_config c;
    char warn[1024];
    const char *vars[] = {"LSPTAP_KEEPALIVE", "LSPTAP_KEEPALIVE_MAX_MB", "LSPTAP_RESTART_MAX",
                          "LSPTAP_RESTART_WINDOW_S", "LSPTAP_RECONNECT_MS"};
    for (size_t i = 0; i < 5; i++)
        unsetenv(vars[i]);
    lp_config_load(&c, warn, sizeof warn);
    assert_int_equal(c.keepalive, 1);
    assert_int_equal(c.keepalive_max, (uint64_t)64 << 20);
    assert_int_equal(c.restart_max, 5);
    assert_int_equal(c.restart_window_s, 300);
    assert_int_equal(c.reconnect_ms, 30000);
    write_config("{\"keepalive\": \"off\", \"restart_max\": 2, \"restart_window_s\": 0, "
                 "\"reconnect_ms\": 500, \"keepalive_max_mb\": 8}");
    lp_config_load(&c, warn, sizeof warn);
    assert_int_equal(c.keepalive, 0);
    assert_int_equal(c.restart_max, 2);
    assert_int_equal(c.restart_window_s, 300);
    assert_int_equal(c.reconnect_ms, 500);
    assert_int_equal(c.keepalive_max, (uint64_t)8 << 20);
    assert_non_null(strstr(warn, "\"restart_window_s\" is 0, out of range (allowed 1 to 86400)"));
    setenv("LSPTAP_KEEPALIVE", "on", 1);
    setenv("LSPTAP_RESTART_MAX", "1001", 1);
    setenv("LSPTAP_RECONNECT_MS", "0", 1);
    lp_config_load(&c, warn, sizeof warn);
    assert_int_equal(c.keepalive, 1);
    assert_int_equal(c.restart_max, 2);
    assert_int_equal(c.reconnect_ms, 0);
    assert_non_null(
        strstr(warn, "LSPTAP_RESTART_MAX=1001 is out of range (allowed 0 to 1000); using 2."));
    for (size_t i = 0; i < 5; i++)
        unsetenv(vars[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_without_file_or_env),
        cmocka_unit_test(file_sets_and_environment_wins),
        cmocka_unit_test(malformed_file_is_named_with_its_position),
        cmocka_unit_test(bad_values_keep_defaults_and_say_why),
        cmocka_unit_test(low_mark_must_be_below_high_mark),
        cmocka_unit_test(out_of_range_values_are_refused),
        cmocka_unit_test(file_marks_are_checked),
        cmocka_unit_test(url_passwords_are_redacted),
        cmocka_unit_test(buffer_parses_as_the_file_does),
        cmocka_unit_test(net_settings),
        cmocka_unit_test(keepalive_settings),
    };
    return cmocka_run_group_tests_name("config", tests, setup, teardown);
}
