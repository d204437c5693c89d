/*
 * li_edit — a document's text and the edits LSP makes to it: Positions
 * (line, character) counted in UTF-8, UTF-16 or UTF-32 units turned into
 * byte offsets, and ranges of the text replaced.
 *
 * Pure text: no JSON, no I/O, no limits of its own. The keep-alive tracker
 * (li_state) keeps one struct li_edit_text per open document, charges what
 * an edit adds against its cap before it splices, and decides what a
 * malformed edit means; this module only counts and moves bytes.
 *
 * Lines. A line ends at \n, \r\n or a lone \r (as the LSP specification
 * says). A line past the last is the end of the text; a character past the
 * line's end is the line's end (before its break); a character inside a
 * multi-unit character (the second half of a surrogate pair, a byte inside
 * a UTF-8 sequence) is that character's start. A byte that does not begin a
 * valid UTF-8 sequence (overlong, surrogate, cut short by the end) counts
 * as one unit in every encoding.
 *
 * The line cache. A text remembers where one line starts, so that a run of
 * edits on the same line (typing) does not walk the text from its start
 * each time. It only remembers a line whose break before it is a '\n' (or
 * the text's start): an edit at or after that offset cannot change how many
 * breaks come before it, while a '\n' inserted after a lone '\r' would
 * merge with it into one "\r\n". An edit before the remembered offset
 * forgets it.
 *
 * Not thread-safe: a text has one owner.
 */
#ifndef LSPTAP_INSPECT_LI_EDIT_H
#define LSPTAP_INSPECT_LI_EDIT_H

#include <stddef.h>
#include <stdint.h>

/* How the `character` of a Position counts. */
enum li_edit_enc { LI_ENC_UTF16 = 0, LI_ENC_UTF8, LI_ENC_UTF32 };

/* The encoding's name as LSP writes it in positionEncodings ("utf-16",
 * "utf-8", "utf-32"): a static string. */
const char *li_edit_enc_name(enum li_edit_enc e);

/* The byte offset in text[0..len) of Position (line, character) counted in
 * `enc`, by the rules above. No state: walks from the text's start. */
size_t li_edit_offset(const char *text, size_t len, uint64_t line, uint64_t character,
                      enum li_edit_enc enc);

/* A text under edit. p is owned by the struct (li_edit_text_free) and not
 * NUL-terminated; len bytes of cap are used. The other members are the
 * cache and are li_edit's business. */
struct li_edit_text {
    char *p;
    size_t len, cap;
    size_t cache_line, cache_off; /* line cache_line starts at cache_off */
    int has_cr;                   /* a '\r' may be in p: lines cannot be found with memchr */
};

/* Takes p[0..len) (malloc'd; NULL only when len is 0) as the text. */
void li_edit_text_init(struct li_edit_text *t, char *p, size_t len);
/* Frees the text; t is then empty. */
void li_edit_text_free(struct li_edit_text *t);

/* li_edit_offset on t, starting from its line cache. keep_cache: remember
 * `line` (when the cache's rule allows), as the start of an edit range
 * does; the end of a range passes 0, so that the cache stays at or before
 * the edit. */
size_t li_edit_locate(struct li_edit_text *t, uint64_t line, uint64_t character,
                      enum li_edit_enc enc, int keep_cache);

/* Replaces bytes [a, b) (a <= b <= len) with s[0..n). Returns 0, or -ENOMEM
 * with t unchanged. */
int li_edit_splice(struct li_edit_text *t, size_t a, size_t b, const char *s, size_t n);

/* Consistency check for tests and fuzzing: the sizes, the '\r' flag and the
 * cached line start recounted from the text. Returns 0, or -1. */
int li_edit_check(const struct li_edit_text *t);

#endif
