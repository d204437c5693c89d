/*
 * li_redact — the one place that decides what is a secret. Every text that
 * leaves lsptap (stderr, session files, messages to the editor, doctor,
 * reports) goes through li_redact (free text) or li_redact_value (the value
 * of a named variable) first; docs/doctor.md lists the rules.
 *
 * What is masked (replaced by LI_REDACTED):
 *  - the userinfo of anything go would read as a URL with one: the password
 *    of scheme://user:password@host (the user when there is no password: a
 *    token used as the user name), found up to the LAST '@' of the authority
 *    as net/url does, so a password holding '@', ',' or '/' goes whole; and
 *    user:password@host.name without a scheme, which go's proxy settings
 *    accept (it prepends http:// or https://);
 *  - the value of NAME=VALUE where NAME looks like a secret (below), anywhere
 *    in a text: GOFLAGS=-ldflags=-X=main.token=VALUE, API_TOKEN=VALUE inside
 *    a -toolexec, --api-key=VALUE;
 *  - URL query parameters that carry credentials (?token=, access_token=,
 *    key=, sig=, signature=, password=, auth=, ...);
 *  - the last pass: every value that the environment envp marks as secret
 *    (the value of a secret-named variable, the userinfo of a variable's
 *    URL, a secret NAME=VALUE inside a variable), wherever it reappears, in
 *    any spelling the rules above would miss. Values shorter than 4 bytes are
 *    left to the rules: masking "1" everywhere would garble the text, and
 *    such a value guards nothing.
 *
 * A name looks like a secret when it contains, case-insensitively, TOKEN,
 * SECRET, PASSWORD, PASSWD, KEY, CREDENTIAL, AUTH or COOKIE.
 *
 * Texts are length-delimited: a NUL inside is text like any other byte.
 * Everything here but li_redact_printed is pure computation; envp may be NULL
 * (no last pass).
 */
#ifndef LSPTAP_INSPECT_LI_REDACT_H
#define LSPTAP_INSPECT_LI_REDACT_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#define LI_REDACTED "REDACTED"

/* 1 when a variable (or flag, or NAME of NAME=VALUE) called name holds a
 * secret; name ends at its NUL or its first '='. */
int li_redact_is_secret_name(const char *name);

/* The redaction: a new NUL-terminated copy of text[0..len) with every secret
 * masked; its length in *outlen (may be NULL). NULL when out of memory. The
 * caller frees it. */
char *li_redact(const char *text, size_t len, char *const envp[], size_t *outlen);

/* li_redact on the NUL-terminated text in buf (cap bytes), in place. A result
 * longer than cap - 1 is cut there (never the original text back). */
void li_redact_buf(char *buf, size_t cap, char *const envp[]);

/* The printable form of variable name=value into out (always terminated):
 * LI_REDACTED when the name is a secret's; else value read as that variable
 * (a *PROXY* variable as one URL, as net/http reads HTTPS_PROXY, and as go's
 * ','/'|'-separated list) with li_redact applied. */
void li_redact_value(const char *name, const char *value, char *const envp[], char *out,
                     size_t outlen);

/* The secrets of envp (the last pass's list), gathered once for a caller that
 * redacts many texts against the same environment (the session writer).
 * Copies what it needs: envp may change or go afterwards. envp NULL: an
 * empty set (the rules alone). NULL when out of memory. */
struct li_secrets;
struct li_secrets *li_secrets_new(char *const envp[]);
void li_secrets_free(struct li_secrets *k);

/* li_redact_buf with a gathered set; k NULL: buf is withheld. */
void li_redact_buf_with(char *buf, size_t cap, const struct li_secrets *k);

/* li_redact_json with a gathered set; k NULL: every string is withheld. */
void li_redact_json_with(json_t *v, const struct li_secrets *k);

/* li_redact on every string inside v (object members and array items,
 * recursively; not the keys), in place. */
void li_redact_json(json_t *v, char *const envp[]);

/* For readers that print a report built from a session file: runs
 * print(ud, f) on a memory stream, then writes what it printed to out
 * redacted (li_redact with envp) and escaped for a terminal (li_escape,
 * newlines kept). Returns 0, or EOF when out of memory or on a write error. */
int li_redact_printed(void (*print)(const void *ud, FILE *f), const void *ud, char *const envp[],
                      FILE *out);

#endif
