/*
 * lp_redact — keeping secrets out of everything lsptap prints or records.
 *
 * Two kinds of secret: the userinfo of a URL (scheme://user:password@host,
 * anywhere in a value such as GOPROXY or an HTTPS_PROXY), and the whole value
 * of a variable whose name looks like a secret (*TOKEN*, *SECRET*,
 * *PASSWORD*, *PASSWD*, *KEY*, *CREDENTIAL*, *AUTH*; case-insensitive).
 */
#ifndef LSPTAP_PROXY_LP_REDACT_H
#define LSPTAP_PROXY_LP_REDACT_H

#include <stddef.h>

#define LP_REDACTED "REDACTED"

/* 1 when a variable (or flag) of this name holds a secret. */
int lp_redact_is_secret_name(const char *name);

/* Copies value into out with every URL's userinfo masked: the password
 * when there is one (user:REDACTED@), else the user itself (a token used
 * as the user name: REDACTED@). Always NUL-terminates out. */
void lp_redact_urls(const char *value, char *out, size_t outlen);

/* The printable form of the variable name=value: LP_REDACTED when the name
 * is a secret's, else value with URL credentials masked. */
void lp_redact_value(const char *name, const char *value, char *out, size_t outlen);

/* A command-line argument: "--api-token=x" or "-password=x" keeps its name
 * and masks the value; URLs are masked as above. */
void lp_redact_arg(const char *arg, char *out, size_t outlen);

/* Replaces, in place, every occurrence in text of the value of a
 * secret-named variable of envp (values shorter than 4 bytes are left
 * alone: masking "1" everywhere would garble the text, and such a value
 * guards nothing). A last line of defence for text built from many
 * sources. text must have room for cap bytes. */
void lp_redact_scrub(char *text, size_t cap, char *const envp[]);

#endif
