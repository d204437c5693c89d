/*
 * li_scrub — a session file made safe to share (`lsptap scrub`, `lsptap
 * bundle`): nothing that identifies the user or their code survives, and
 * everything a maintainer needs does (docs/bundle.md says which is which).
 *
 * What goes: words of source text, hover and completion text, symbol names,
 * messages (each word by a placeholder of the same length, so positions in
 * source text still point where they pointed), file paths and URIs (each
 * name by dirN / fileN.EXT, a workspace root by <root>), environment values,
 * addresses, long numbers. What stays: the JSON structure of every line,
 * every number and boolean, methods, ids, kinds, directions, times, sizes,
 * error codes, enum-like protocol strings (the LSP and DAP fields known to
 * carry no user data), the server's and the client's name and version.
 * Unknown fields get the conservative treatment: every word that is not a Go
 * keyword or predeclared name is replaced.
 *
 * One li_scrub holds the maps from originals to placeholders: the same
 * original always gets the same placeholder in one li_scrub, so references
 * across messages (a URI in a request and in its reply, an identifier in the
 * source and in a hover) still line up. Placeholders are counters, never
 * derived from the originals. Pure: no I/O except li_scrub_file.
 */
#ifndef LSPTAP_INSPECT_LI_SCRUB_H
#define LSPTAP_INSPECT_LI_SCRUB_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

struct li_scrub;

/* The kinds of replaced values, as counted for the MANIFEST. */
enum li_scrub_kind {
    LI_SCRUB_WORD,   /* identifiers and other words of text */
    LI_SCRUB_NUMBER, /* digit runs longer than 6 inside text */
    LI_SCRUB_ROOT,   /* workspace roots -> <root>, <root2>, ... */
    LI_SCRUB_DIR,    /* directory (and extension-less) names -> dirN */
    LI_SCRUB_FILE,   /* file names -> fileN.EXT */
    LI_SCRUB_HOST,   /* URI authorities -> hostN */
    LI_SCRUB_ADDR,   /* IPv4 addresses other than loopback -> 192.0.2.N */
    LI_SCRUB_ENV,    /* environment values */
    LI_SCRUB_SECRET, /* values of secret-named variables -> <secret> */
    LI_SCRUB_KINDS
};

/* Says whether an environment variable (or setting) of this name holds a
 * secret; its value then becomes "<secret>" whatever it is. */
typedef int (*li_scrub_secret_fn)(const char *name);

/* A new scrubber, or NULL when out of memory. is_secret_name may be NULL
 * (no name is a secret's: their values are still replaced as any
 * environment value is). */
struct li_scrub *li_scrub_new(li_scrub_secret_fn is_secret_name);
void li_scrub_free(struct li_scrub *s);

/* A workspace root (an absolute path; a trailing '/' is ignored; "/" is
 * refused): the path and everything under it become <root>/... The first
 * root added is <root>, the next <root2>, ... Returns 0, -EINVAL, -ENOMEM. */
int li_scrub_add_root(struct li_scrub *s, const char *path);

/* A word that must never be kept even where common words are (the user's
 * login name, the host name): compared without regard to case. */
int li_scrub_add_sensitive(struct li_scrub *s, const char *word);

/* First pass: takes the roots a session names (the header's cwd, the
 * initialize request's rootUri, rootPath and workspaceFolders, a DAP
 * launch's cwd) from one line. Lines are not changed. */
void li_scrub_learn(struct li_scrub *s, const json_t *line);

/* Second pass: scrubs one session line (header, message or event) in place.
 * The header gains "scrubbed": {"by": "lsptap VERSION"}. Returns 0 or
 * -ENOMEM (the line is then partly scrubbed: do not write it). */
int li_scrub_line(struct li_scrub *s, json_t *line);

/* Any other JSON (the doctor's report): objects' members are scrubbed by
 * the same rules as a message body's. Returns 0 or -ENOMEM. */
int li_scrub_json(struct li_scrub *s, json_t *v);

/* Free text (a tool's version output, a log line): words outside the common
 * ones, paths, URIs and addresses replaced. A new malloc'd string, or NULL
 * when out of memory. */
char *li_scrub_text(struct li_scrub *s, const char *text, size_t len);

/* How many distinct values and how many occurrences of each kind were
 * replaced so far: {"words":{"distinct":N,"occurrences":M}, ...} (new
 * reference), in enum order, under the names li_scrub_kind_name gives. */
json_t *li_scrub_counts(const struct li_scrub *s);
const char *li_scrub_kind_name(enum li_scrub_kind k);

/* Both passes over a session file: learn from every line, then write each
 * line scrubbed to out, one per line. A line the reader cannot parse is
 * left out with a warning on `warn` (may be NULL): its text could hold
 * anything. Returns 0; 2 when the file cannot be read or is not a session
 * file (err names the file and line); 1 when out cannot be written or memory
 * ran out (err says which). */
int li_scrub_file(struct li_scrub *s, const char *in, FILE *out, FILE *warn, char *err,
                  size_t errlen);

/* The first pass alone, for several files that share one scrubber (their
 * roots must all be known before any is written). Returns as li_scrub_file. */
int li_scrub_learn_file(struct li_scrub *s, const char *in, char *err, size_t errlen);

#endif
