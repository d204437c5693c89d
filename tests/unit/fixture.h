/*
 * fixture — test helper: the recorded LSP session in tests/unit/data/ that
 * the reader, stats and command tests read, files made from it, and
 * children for the tests that need one to die or stay a zombie.
 */
#ifndef LSPTAP_TESTS_FIXTURE_H
#define LSPTAP_TESTS_FIXTURE_H

#include <stddef.h>

/* The path of tests/unit/data/session-lsp.jsonl (a static buffer). */
const char *fixture_session(void);

/* Writes the first `keep` lines of the fixture session to `path`, with
 * `insert_at3` (when not NULL) before its third line, then `tail` (a line
 * cut short, or ""). Returns path; a cmocka failure when it cannot. */
const char *fixture_variant(const char *path, int keep, const char *insert_at3, const char *tail);

/* In a forked child that must die of a signal (an assert() that aborts):
 * puts back the default action of the signals cmocka catches to fail a
 * test, so the child ends there instead of running the tests inside it. */
void fixture_child_default_signals(void);

/* A child that has exited and is not waited for: a zombie, polled for
 * with li_proc_stat (state 'Z'; no bound but the test's own timeout).
 * The caller reaps it with waitpid. */
int fixture_zombie(void);

struct lp_config;
struct lp_session;

/* Fills *c for a recording session in dir (full bodies, no size cap,
 * log_buffer bytes of queue) and opens s with it, as the stand-in would for
 * a server "server" (proxy/lp_serve.h; c must outlive s). Returns
 * lp_session_open's result. */
int fixture_session_open(struct lp_session *s, struct lp_config *c, const char *dir,
                         size_t log_buffer);

#endif
