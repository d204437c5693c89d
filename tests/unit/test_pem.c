/*
 * ln_pem_why: a certificate, key or CA file OpenSSL could not load is named
 * by its absolute path with the cause in words, never "system lib": a
 * missing file (relative path made absolute), a directory, an empty file,
 * text that is not PEM, and a PEM block whose base64 is broken.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "netcheck/ln_pem.h"
#include "tests/unit/tmpdir.h"

static char dir[256];

static int setup(void **state)
{
    (void)state;
    if (tmpdir_make(dir, sizeof dir, "pem")) return -1;
    return chdir(dir);
}

static int teardown(void **state)
{
    (void)state;
    if (chdir("/")) return -1;
    return tmpdir_remove(dir);
}

static void put(const char *name, const char *text)
{
    FILE *f = fopen(name, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* What the relay says for a certificate file that fails to load. */
static void cert_why(const char *path, char *out, size_t len)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    assert_non_null(ctx);
    ERR_clear_error();
    assert_int_not_equal(SSL_CTX_use_certificate_chain_file(ctx, path), 1);
    ln_pem_why(path, out, len);
    assert_int_equal(ERR_peek_error(), 0); /* the queue is left empty */
    SSL_CTX_free(ctx);
}

static void expect(const char *path, const char *cause)
{
    char got[4400], want[4400];
    cert_why(path, got, sizeof got);
    snprintf(want, sizeof want, "%s/%s: %s", dir, path, cause);
    assert_string_equal(got, want);
}

static void test_missing_relative_file(void **state)
{
    (void)state;
    expect("client.pem", "No such file or directory");
}

static void test_directory_and_empty_file(void **state)
{
    (void)state;
    assert_int_equal(mkdir("certs", 0700), 0);
    expect("certs", "it is a directory");
    put("empty.pem", "");
    expect("empty.pem", "the file is empty");
}

static void test_not_pem_and_malformed_pem(void **state)
{
    (void)state;
    put("text.pem", "hello\n");
    expect("text.pem", "not a PEM file (no -----BEGIN line)");
    put("broken.pem", "-----BEGIN CERTIFICATE-----\nAAAA!!!\n-----END CERTIFICATE-----\n");
    expect("broken.pem", "malformed PEM (bad base64 decode)");
}

static void test_unreadable_file(void **state)
{
    (void)state;
    if (geteuid() == 0) skip(); /* root reads mode 000 files */
    put("locked.pem", "-----BEGIN CERTIFICATE-----\n");
    assert_int_equal(chmod("locked.pem", 0), 0);
    expect("locked.pem", "Permission denied");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_missing_relative_file),
        cmocka_unit_test(test_directory_and_empty_file),
        cmocka_unit_test(test_not_pem_and_malformed_pem),
        cmocka_unit_test(test_unreadable_file),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
