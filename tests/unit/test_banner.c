/*
 * netcheck/ln_banner: the first bytes of a peer that is not an LSP or DAP
 * server, each to what it is.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "netcheck/ln_banner.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static void test_banners(void **state)
{
    (void)state;
    static const struct {
        const char *bytes;
        size_t len; /* 0: strlen */
        enum ln_banner want;
        const char *line;
    } cases[] = {
        {"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", 0, LN_BANNER_HTTP,
         "HTTP/1.1 404 Not Found"},
        {"HTTP/1.0 400 Bad Request\r\n", 0, LN_BANNER_HTTP, "HTTP/1.0 400 Bad Request"},
        {"\x16\x03\x03\x00\x7a\x02", 6, LN_BANNER_TLS, ""},
        {"\x15\x03\x01\x00\x02\x02\x46", 7, LN_BANNER_TLS, ""},
        {"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n", 0, LN_BANNER_SSH, "SSH-2.0-OpenSSH_9.2p1 Debian-2"},
        {"220 mail.lab.test ESMTP Postfix (Debian/GNU)\r\n", 0, LN_BANNER_SMTP,
         "220 mail.lab.test ESMTP Postfix (Debian/GNU)"},
        {"220 (vsFTPd 3.0.3)\r\n", 0, LN_BANNER_FTP, "220 (vsFTPd 3.0.3)"},
        {"220 ProFTPD Server ready.\r\n", 0, LN_BANNER_FTP, "220 ProFTPD Server ready."},
        {"220 welcome\r\n", 0, LN_BANNER_220, "220 welcome"},
        {"+OK Dovecot ready.\r\n", 0, LN_BANNER_POP3, "+OK Dovecot ready."},
        {"* OK [CAPABILITY IMAP4rev1] Dovecot ready.\r\n", 0, LN_BANNER_IMAP,
         "* OK [CAPABILITY IMAP4rev1] Dovecot ready."},
        {"-ERR unknown command 'Content-Length:'\r\n", 0, LN_BANNER_REDIS,
         "-ERR unknown command 'Content-Length:'"},
        {"\x4a\x00\x00\x00\x0a"
         "8.0.35\x00",
         12, LN_BANNER_MYSQL, ""},
        {"\x00\x00\x12\x04\x00\x00\x00\x00\x00", 9, LN_BANNER_HTTP2, ""},
        {"hello\n", 0, LN_BANNER_UNKNOWN, ""},
        {"", 0, LN_BANNER_UNKNOWN, ""},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        char line[128];
        size_t len = cases[i].len ? cases[i].len : strlen(cases[i].bytes);
        enum ln_banner got = ln_banner_identify(cases[i].bytes, len, line, sizeof line);
        if (got != cases[i].want)
            fail_msg("case %zu: got %s, want %s", i, ln_banner_what(got),
                     ln_banner_what(cases[i].want));
        if (strcmp(line, cases[i].line))
            fail_msg("case %zu: line \"%s\", want \"%s\"", i, line, cases[i].line);
    }
    assert_string_equal(ln_banner_what(LN_BANNER_SSH), "an SSH server");
    assert_string_equal(ln_banner_what(LN_BANNER_UNKNOWN), "");
}

/* A banner line with control bytes is shown escaped: it reaches a terminal. */
static void test_escaped(void **state)
{
    (void)state;
    char line[128];
    const char b[] = "SSH-2.0-evil\x1b[2J\r\n";
    assert_int_equal(ln_banner_identify(b, sizeof b - 1, line, sizeof line), LN_BANNER_SSH);
    assert_null(strchr(line, '\x1b'));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_banners),
        cmocka_unit_test(test_escaped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
