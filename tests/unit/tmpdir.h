/*
 * tmpdir — test helper: a scratch directory per test program, made in a
 * group setup and removed, with everything under it, in the teardown.
 */
#ifndef LSPTAP_TESTS_TMPDIR_H
#define LSPTAP_TESTS_TMPDIR_H

#include <stddef.h>

/* Makes a new directory /tmp/lsptap-NAME-XXXXXX and writes its path into
 * dir (cap bytes). Returns 0, or -1 (errno set) when the path does not fit
 * or mkdtemp failed. */
int tmpdir_make(char *dir, size_t cap, const char *name);

/* Removes dir and everything below it, without following symbolic links.
 * Returns 0, or -1 when something could not be removed. */
int tmpdir_remove(const char *dir);

#endif
