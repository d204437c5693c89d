/*
 * lp_find — where the real tools are: gopls and dlv (lp_find_tool), and a
 * go that is not on PATH (the login shell's PATH, the usual install places).
 *
 * lp_find_tool's order (docs/design.md): the configured path (LSPTAP_GOPLS / LSPTAP_DLV, then the
 * config file), then every PATH entry skipping any file that is lsptap
 * itself (same device and inode as /proc/self/exe after resolving links),
 * then $(go env GOBIN), $(go env GOPATH)/bin (first GOPATH entry) and
 * ~/go/bin.
 */
#ifndef LSPTAP_ENV_LP_FIND_H
#define LSPTAP_ENV_LP_FIND_H

#include <stddef.h>

/* Finds `tool` ("gopls", "dlv"). `configured` is the configured path ("" for
 * none) and `configured_from` names where it came from ("LSPTAP_GOPLS").
 * Returns 0 and the absolute path in out, or -ENOENT (or -EACCES when the
 * configured file is not executable) and, in err, one paragraph naming every
 * place searched and what was found there. */
int lp_find_tool(const char *tool, const char *configured, const char *configured_from, char *out,
                 size_t outlen, char *err, size_t errlen);

/* 1 when path names the running executable (after following links). */
int lp_is_self(const char *path);

/* The login shell's PATH: runs `$SHELL -l -c '<fixed script>'` (SHELL from
 * envp, else the passwd entry, else /bin/sh) with HOME, USER, LOGNAME,
 * SHELL and a minimal PATH, as a fresh login would have, killing it after
 * timeout_ms. Returns a malloc'ed string, or NULL (err says why). */
char *lp_find_login_path(char *const envp[], int timeout_ms, char *err, size_t errlen);

/* The well-known places a go may be installed: /usr/local/go/bin,
 * /usr/lib/go/bin, ~/go/bin, ~/sdk/go*\/bin (newest version first),
 * ~/.local/go/bin. Fills dirs (each malloc'ed, caller frees) up to cap,
 * returns the count. home may be NULL. */
size_t lp_find_go_dirs(const char *home, char **dirs, size_t cap);

#endif
