/*
 * li_say — lsptap's own lines on stderr. Every such line that may quote
 * outside words (a peer's message, an environment value, a path) goes
 * through here: formatted, redacted (li_redact with this process's
 * environment) and escaped for a terminal (li_escape, keeping newlines).
 */
#ifndef LSPTAP_INSPECT_LI_SAY_H
#define LSPTAP_INSPECT_LI_SAY_H

/* Writes the formatted text to stderr. Nothing is written when memory runs
 * out (a message is never written unredacted). */
void li_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
