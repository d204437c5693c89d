/*
 * ln_pem — why a certificate, key or CA file could not be loaded, in words.
 *
 * OpenSSL reports a missing file as "system lib" and a file that is not PEM
 * as "no start line"; a user needs the file (as an absolute path: a relative
 * one depends on a working directory they may not know) and the cause
 * ("No such file or directory", "not a PEM file"). Used by netcheck's tls
 * layer and by the relay's TLS contexts (io/lp_tls.c).
 */
#ifndef LSPTAP_NETCHECK_LN_PEM_H
#define LSPTAP_NETCHECK_LN_PEM_H

#include <stddef.h>

/* Writes "ABSPATH: CAUSE" into out (always NUL-terminated, truncated to
 * len) for `path`, which an OpenSSL load call has just failed to read:
 * ABSPATH is the path with symbolic links resolved (when it exists) or made
 * absolute against the working directory (when it does not); CAUSE is the
 * system's reason when the file cannot be opened (strerror), "it is a
 * directory", "the file is empty", "not a PEM file (no -----BEGIN line)",
 * or "malformed PEM (OPENSSL REASON)" from the first error on OpenSSL's
 * error queue. Empties the queue; opens and closes the file. */
void ln_pem_why(const char *path, char *out, size_t len);

#endif
