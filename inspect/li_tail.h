/*
 * li_tail — `lsptap tail`: a session file as one readable line per message,
 * following it while lsptap is still writing it.
 *
 *   +1.730s  s->c  reply         textDocument/hover              id 1       1.59s    371 B
 *   +2.250s  ----  event         exit status 0
 *
 * Columns: time since the session started, direction, kind (reply (error)
 * for an error reply), method / command / DAP event, id, latency (replies),
 * frame size. Session events (spawn, exit, restart, ...) get a line of
 * their own unless a method filter is given.
 */
#ifndef LSPTAP_INSPECT_LI_TAIL_H
#define LSPTAP_INSPECT_LI_TAIL_H

#include <jansson.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>

struct li_tail_filter {
    const char *method; /* substring the method must contain; NULL: any */
    int dir;            /* 0 c2s, 1 s2c, -1 both */
};

/* Formats one session line (header, message or event). Returns 1 with the
 * text (one line: no newline, every control byte of the recorded strings
 * replaced by '?') in out when the line passes the filter, 0 when it is
 * filtered out or is the header. */
int li_tail_format(json_t *line, const struct li_tail_filter *f, char *out, size_t cap);

/* Prints the lines of the file at path that pass the filter, from the
 * start. With `follow`, waits for more lines (polling every 200 ms) until
 * the session's summary line has been read, *stop becomes non-zero,
 * `give_up` (may be NULL) returns non-zero at the end of the file (a file
 * lsptap never finished: a newer session has started), or the lsptap that
 * writes it is gone (li_tail_writer_alive, checked at the end of the file,
 * then the file read once more). Only a regular file is read, and a line
 * longer than LI_READER_LINE_MAX is skipped with a note on stderr.
 * Every line is redacted (li_redact with environ's secrets) before it is
 * laid out, so that a padded name keeps its column, and printed redacted.
 * Returns 0; 1 with err filled when it stopped because the writer is gone;
 * 2 with err filled when the file cannot be opened/read. */
int li_tail_file(const char *path, const struct li_tail_filter *f, int follow,
                 volatile sig_atomic_t *stop, int (*give_up)(void *ud), void *ud, FILE *out,
                 char *err, size_t errlen);

/* Whether the lsptap with this pid (the session header's), whose session
 * started at session_start (Unix seconds, -1 unknown), still runs: a live
 * process that is not a zombie and started no later than the session (a
 * pid reused by a newer process is not the writer). pid <= 0: unknown,
 * taken as alive. Linux /proc; where /proc cannot see the pid (not mounted,
 * hidepid) a pid kill() finds is taken as alive, a zombie too. */
int li_tail_writer_alive(long pid, long long session_start);

/* The newest *.jsonl in dir by modification time (ties: the greater name)
 * into out. Returns 1 when there is one, 0 when none, -errno when dir
 * cannot be read. */
int li_tail_newest(const char *dir, char *out, size_t cap);

#endif
