/*
 * lp_serve — one recorded stdio session: open the session file, write its
 * header, relay to the server, then write the closing lines and tell the
 * user on stderr how it ended (and what was still pending if it crashed).
 */
#ifndef LSPTAP_PROXY_LP_SERVE_H
#define LSPTAP_PROXY_LP_SERVE_H

#include "inspect/li_msg.h"
#include "proxy/lp_config.h"

/* role: "gopls" or "dlv" (names the session file). argv[0] is the path of
 * the real server; the child gets argv as given. Returns the exit code. */
int lp_serve_stdio(const struct lp_config *cfg, const char *role, enum li_proto proto,
                   char **argv);

/* When the server cannot be found or started: answer the editor inside the
 * protocol. Every request gets a JSON-RPC error whose message is `why`
 * (initialize with data {"retry": false}); `shutdown` gets a null result;
 * `exit` or EOF ends it. The session is recorded like any other. Returns the
 * exit code (127). */
int lp_serve_unavailable(const struct lp_config *cfg, const char *role, char **argv,
                         const char *why);

/* Copies `value` into out with the password of any URL userinfo
 * (scheme://user:password@host) replaced by "REDACTED". */
void lp_redact_url(const char *value, char *out, size_t outlen);

#endif
