/*
 * li_reader — reads a session file (JSON Lines) back, one object per line.
 *
 * A session that ended in a crash may end in a line cut short: the reader
 * reports it (li_reader_truncated) and ends there, keeping every line before
 * it. A malformed line anywhere else is reported with its line number and
 * reading can go on past it. Blank lines are skipped. Lines are loaded with
 * JSON_ALLOW_NUL, since bodies may carry "\u0000".
 *
 * Hostile files: only a regular file is read (a FIFO or a device would
 * block every reader forever, or never end), and a line is at most
 * LI_READER_LINE_MAX bytes: a longer one is read to its end without being
 * kept and reported as a malformed line with its number and length, so a
 * file without newlines cannot exhaust memory. Every reader of session files
 * (stats, report, export, ls, tail, replay) goes through this file.
 */
#ifndef LSPTAP_INSPECT_LI_READER_H
#define LSPTAP_INSPECT_LI_READER_H

#include <jansson.h>
#include <stddef.h>

struct li_reader;

/* 256 MiB: four times the default inspection cap (a session line embeds at
 * most one body of max_inspect bytes, escaped). */
#define LI_READER_LINE_MAX ((size_t)256 << 20)

/* Opens path for reading when it is a regular file (after links): opened
 * non-blocking so that a FIFO cannot block, then checked with fstat.
 * Returns the stream, or NULL with err filled ("cannot open F: ...", or
 * "F is not a regular file (a FIFO)"). */
FILE *li_open_regular(const char *path, char *err, size_t errlen);

/* Reads one line of f into *buf (grown as needed; *cap its size), keeping
 * at most `max` bytes. Returns the line's full length, '\n' included when
 * there is one (0 at end of file, -1 on a read error, errno set). A line
 * longer than max is consumed to its end (or to the end of the file) and
 * *buf then holds only its first max bytes: compare the result with max.
 * When *buf cannot grow, the line is read to its end all the same, only its
 * start kept, and *nomem (may be NULL) is set. */
long long li_read_line(FILE *f, char **buf, size_t *cap, size_t max, int *nomem);

enum {
    LI_READ_EOF = 0,   /* no more lines */
    LI_READ_LINE = 1,  /* *out holds the next line */
    LI_READ_BAD = -1,  /* a malformed line: err says where and why; next call goes on */
    LI_READ_ERROR = -2 /* the file could not be read: err says why; stop */
};

/* Opens path for reading (li_open_regular). Returns NULL with err filled
 * ("cannot open F: No such file or directory") on failure. */
struct li_reader *li_reader_open(const char *path, char *err, size_t errlen);
void li_reader_close(struct li_reader *r);

/* Reads the next line. On LI_READ_LINE, *out is a new reference to a JSON
 * object the caller must json_decref. *lineno (may be NULL) is the 1-based
 * line number of what was returned or reported. */
int li_reader_next(struct li_reader *r, json_t **out, size_t *lineno, char *err, size_t errlen);

/* Lowers the line cap below LI_READER_LINE_MAX (for tests). */
void li_reader_set_line_max(struct li_reader *r, size_t max);

/* Line number of a last line cut short (found once LI_READ_EOF is
 * returned), or 0 when the file ended cleanly. */
size_t li_reader_truncated(const struct li_reader *r);

#endif
