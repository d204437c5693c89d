/*
 * fdread — test helper: read a child's output from a blocking descriptor
 * until an expected text has arrived (for the tests that run a relay in a
 * child process: test_relay_hook, test_hs_held).
 */
#ifndef LSPTAP_TESTS_FDREAD_H
#define LSPTAP_TESTS_FDREAD_H

#include <stddef.h>

/* Reads fd into buf after its first `have` bytes until `want` is in it (or
 * until EOF or an error when want is NULL or never comes), keeping buf
 * NUL-terminated within cap. Returns the bytes now in buf. */
size_t fdread_until(int fd, char *buf, size_t cap, size_t have, const char *want);

#endif
