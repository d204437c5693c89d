/*
 * wrap_session — test helper: the declarations a test needs to count the
 * session's feeds by linking with -Wl,--wrap=li_session_feed (see the
 * Makefile's per-test flags): the test defines __wrap_li_session_feed and
 * calls __real_li_session_feed from it.
 */
#ifndef LSPTAP_TESTS_WRAP_SESSION_H
#define LSPTAP_TESTS_WRAP_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "inspect/li_session.h"

void __real_li_session_feed(struct li_session *s, enum li_dir dir, const char *buf, size_t len,
                            uint64_t t_us);
void __wrap_li_session_feed(struct li_session *s, enum li_dir dir, const char *buf, size_t len,
                            uint64_t t_us);

#endif
