#include "netcheck/ln_pem.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void absolute(const char *path, char *out, size_t len)
{
    char buf[PATH_MAX];
    if (realpath(path, buf)) {
        snprintf(out, len, "%s", buf);
    } else if (path[0] == '/' || !getcwd(buf, sizeof buf)) {
        snprintf(out, len, "%s", path);
    } else {
        snprintf(out, len, "%s/%s", buf, path);
    }
}

/* What OpenSSL said about a file it could open: the queue holds the cause
 * first (PEM "no start line", ASN.1 "wrong tag") and the caller's wrapper
 * ("PEM lib") last, so the first error is the one that says why. */
static void openssl_cause(unsigned long e, char *out, size_t len)
{
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    if (e && ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE)
        snprintf(out, len, "not a PEM file (no -----BEGIN line)");
    else if (e && ERR_GET_LIB(e) == ERR_LIB_X509 &&
             ERR_GET_REASON(e) == X509_R_NO_CERTIFICATE_OR_CRL_FOUND)
        snprintf(out, len, "no PEM certificate in it (no -----BEGIN CERTIFICATE block)");
    else
        snprintf(out, len, "malformed PEM (%s)", r ? r : "OpenSSL gave no reason");
}

/* Whether the first 64 KiB hold a PEM block's first line: OpenSSL 3 calls
 * a key file without one "unsupported" (no decoder took it). */
static int has_begin(int fd)
{
    static const char begin[] = "-----BEGIN ";
    char buf[65536 + 1];
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, buf + n, sizeof buf - 1 - n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        n += (size_t)r;
        if (n == sizeof buf - 1) break;
    }
    buf[n] = '\0';
    return memmem(buf, n, begin, sizeof begin - 1) != NULL;
}

void ln_pem_why(const char *path, char *out, size_t len)
{
    unsigned long e = ERR_get_error();
    ERR_clear_error();
    char abs[PATH_MAX + 256];
    absolute(path, abs, sizeof abs);
    char cause[256];
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(cause, sizeof cause, "%s", strerror(errno));
    } else if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(cause, sizeof cause, "it is a directory");
    } else if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0) {
        snprintf(cause, sizeof cause, "the file is empty");
    } else if (!has_begin(fd)) {
        snprintf(cause, sizeof cause, "not a PEM file (no -----BEGIN line)");
    } else {
        openssl_cause(e, cause, sizeof cause);
    }
    if (fd >= 0) close(fd);
    snprintf(out, len, "%s: %s", abs, cause);
}
