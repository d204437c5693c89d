/*
 * li_escape — text that came from a peer (a method name, an id, an event,
 * an error message, a server's stderr line) made safe for a terminal before
 * lsptap prints it. A peer is anyone who can write to lsptap: the editor,
 * the server, any client of `lsptap relay --listen`; without this a client
 * could retitle, clear or rewrite the operator's terminal.
 *
 * Escaped, and nothing else:
 *  - C0 controls and DEL as \xNN (\x1b for ESC, \x07 for BEL, \x00 for NUL);
 *    with LI_ESC_KEEP_NL, '\n', "\r\n" and '\t' stay (multi-line text; a
 *    lone '\r', which would let a line overwrite another, does not);
 *  - C1 controls (U+0080..U+009F) and the invisible Unicode controls that
 *    reorder or hide text (U+200E/F, U+202A..E, U+2066..9, U+2028/9, U+FEFF)
 *    as \uNNNN;
 *  - bytes that are not UTF-8 as \xNN (a lone 0x9b is CSI to some terminals).
 * Printable text, UTF-8 included, is unchanged; so is '\', so the escaped
 * form is for reading, not for decoding back.
 *
 * Texts are length-delimited: a NUL is escaped like any control, never the
 * end of the text.
 */
#ifndef LSPTAP_INSPECT_LI_ESCAPE_H
#define LSPTAP_INSPECT_LI_ESCAPE_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#define LI_ESC_KEEP_NL 1 /* keep '\n', "\r\n" and '\t' (text of several lines) */

/* Writes the escaped form of s[0..n) into out (cap bytes, always
 * NUL-terminated when cap > 0, cut at a whole escape); returns the length of
 * the whole escaped form, as snprintf does. */
size_t li_escape(const char *s, size_t n, int flags, char *out, size_t cap);

/* The columns the escaped form of s[0..n) takes on a terminal, to align
 * text that is printed escaped: an escape is as wide as it is long; a
 * printable character is one column, two when East Asian wide or fullwidth
 * or an emoji pictograph, none when a combining mark (the common ranges,
 * independent of the locale). With LI_ESC_KEEP_NL a kept '\n' or '\t' counts
 * one: it is for one line of text. */
size_t li_escape_width(const char *s, size_t n, int flags);

/* The escaped form of s[0..n) in a new string the caller frees; NULL when out
 * of memory. */
char *li_escape_dup(const char *s, size_t n, int flags);

/* Writes the escaped form of s[0..n) to f; returns 0, or EOF on a write error. */
int li_escape_write(const char *s, size_t n, int flags, FILE *f);

/* For readers that hand strings to C code: every string member of the object
 * line (not nested) that holds a NUL is replaced by its text with each NUL
 * written as \x00, so that nothing after the NUL is lost. */
void li_escape_nuls(json_t *line);

#endif
