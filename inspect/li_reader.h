/*
 * li_reader — reads a session file (JSON Lines) back, one object per line.
 *
 * A session that ended in a crash may end in a line cut short: the reader
 * reports it (li_reader_truncated) and ends there, keeping every line before
 * it. A malformed line anywhere else is reported with its line number and
 * reading can go on past it. Blank lines are skipped. Lines are loaded with
 * JSON_ALLOW_NUL, since bodies may carry "\u0000".
 */
#ifndef LSPTAP_INSPECT_LI_READER_H
#define LSPTAP_INSPECT_LI_READER_H

#include <jansson.h>
#include <stddef.h>

struct li_reader;

enum {
    LI_READ_EOF = 0,   /* no more lines */
    LI_READ_LINE = 1,  /* *out holds the next line */
    LI_READ_BAD = -1,  /* a malformed line: err says where and why; next call goes on */
    LI_READ_ERROR = -2 /* the file could not be read: err says why; stop */
};

/* Opens path for reading. Returns NULL with err filled ("cannot open F:
 * No such file or directory") on failure. */
struct li_reader *li_reader_open(const char *path, char *err, size_t errlen);
void li_reader_close(struct li_reader *r);

/* Reads the next line. On LI_READ_LINE, *out is a new reference to a JSON
 * object the caller must json_decref. *lineno (may be NULL) is the 1-based
 * line number of what was returned or reported. */
int li_reader_next(struct li_reader *r, json_t **out, size_t *lineno, char *err, size_t errlen);

/* Line number of a last line cut short (found once LI_READ_EOF is
 * returned), or 0 when the file ended cleanly. */
size_t li_reader_truncated(const struct li_reader *r);

#endif
