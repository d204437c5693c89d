/*
 * li_outfile — an output file (`-o FILE`) that never destroys anything.
 *
 * Every command that writes a file (export, report, scrub, bundle, ...)
 * opens it with li_outfile_open and ends with li_outfile_commit (success)
 * or li_outfile_abort (any failure):
 *
 *   - an output that is one of the command's inputs (same device and inode,
 *     so also through a symbolic or hard link) is refused before anything
 *     is written: `lsptap report S.jsonl -o S.jsonl` must not replace the
 *     session;
 *   - a regular file (or a new name) is written to a temporary file in the
 *     same directory (".NAME.XXXXXX"), which replaces FILE by rename(2)
 *     only on commit: a failed command leaves an existing FILE as it was,
 *     and a reader never sees it half written. An existing FILE's mode is
 *     kept; a new one gets 0666 less the umask, as fopen would give it. A
 *     symbolic link is followed: its target is replaced, not the link;
 *   - "-" (or NULL) is standard output; an existing file that is not a
 *     regular file (a FIFO, /dev/null, a terminal) is opened and written
 *     directly, since it cannot be replaced.
 *
 * Usage:
 *   struct li_outfile o;
 *   const char *inputs[] = {session, NULL};
 *   if (li_outfile_open(&o, out, inputs, err, sizeof err)) -> report err, exit
 *   ... write to o.f ...
 *   if (failed) li_outfile_abort(&o); else if (li_outfile_commit(&o, err, sizeof err)) -> err
 *
 * Not thread-safe per object; no other dependency than libc.
 */
#ifndef LSPTAP_INSPECT_LI_OUTFILE_H
#define LSPTAP_INSPECT_LI_OUTFILE_H

#include <stddef.h>
#include <stdio.h>

struct li_outfile {
    FILE *f;                 /* write here; stdout for "-" */
    char path[4096];         /* where the output ends up ("-" for stdout) */
    char tmp[2 * 4096 + 16]; /* the temporary file, "" when writing directly */
};

/* Opens the output. `inputs` is a NULL-terminated list of the files the
 * command reads (NULL: none); an input that does not exist is ignored.
 * Returns 0, or a negative errno with a sentence in err naming the path:
 * -EINVAL when the output is one of the inputs (a usage error: commands
 * exit 2), else the error of creating the file (commands exit 1). Nothing exists to clean up after
 * a failure. */
int li_outfile_open(struct li_outfile *o, const char *path, const char *const *inputs, char *err,
                    size_t errlen);

/* Flushes and closes the file and, for a temporary file, renames it over
 * the output. Returns 0, or a negative errno with err naming the path (the
 * temporary file is then removed and the output left as it was). */
int li_outfile_commit(struct li_outfile *o, char *err, size_t errlen);

/* Closes and removes the temporary file: the output is left as it was
 * (stdout and files written directly are only flushed). */
void li_outfile_abort(struct li_outfile *o);

#endif
