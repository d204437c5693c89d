/*
 * lp_find — where the real gopls / dlv is.
 *
 * Order (docs/design.md): the configured path (LSPTAP_GOPLS / LSPTAP_DLV, then the
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

#endif
